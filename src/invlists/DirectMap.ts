/**
 * @module invlists/DirectMap
 * Faiss's DirectMap: from a vector's id to where it is stored (list number, offset), so that an IVF
 * index can reconstruct or update a vector by id. NoMap (default), Array (ids must be sequential,
 * 0..ntotal-1) or Hashtable (any ids).
 */
import { InvalidArgumentError, NotSupportedError } from '../errors.js';

export const DirectMapType = { NoMap: 0, Array: 1, Hashtable: 2 } as const;
export type DirectMapType = (typeof DirectMapType)[keyof typeof DirectMapType];

/** (list, offset) packed as list * 2^32 + offset in a float64 (exact below 2^53). */
const pack = (list: number, offset: number): number => list * 4294967296 + offset;
export const unpackList = (lo: number): number => Math.floor(lo / 4294967296);
export const unpackOffset = (lo: number): number => lo % 4294967296;

export class DirectMap {
  type: DirectMapType = DirectMapType.NoMap;
  /** Array map: entry i is where id i is (-1 if removed). */
  array: number[] = [];
  hashtable = new Map<bigint, number>();

  /** Builds the map of the given type from the lists' current content. */
  set(type: DirectMapType, lists: { nlist: number; listSize(l: number): number; getIds(l: number): BigInt64Array }, ntotal: number): void {
    this.type = type;
    this.array = [];
    this.hashtable.clear();
    if (type === DirectMapType.NoMap) return;
    if (type === DirectMapType.Array) this.array = new Array<number>(ntotal).fill(-1);
    for (let l = 0; l < lists.nlist; l++) {
      const ids = lists.getIds(l);
      for (let o = 0; o < ids.length; o++) {
        const id = ids[o]!;
        if (type === DirectMapType.Array) {
          if (id < 0n || id >= BigInt(ntotal)) {
            this.type = DirectMapType.NoMap;
            this.array = [];
            throw new InvalidArgumentError('directMap', `of type Array needs sequential ids 0..ntotal-1 (found id ${id}); use DirectMapType.Hashtable`);
          }
          this.array[Number(id)] = pack(l, o);
        } else {
          this.hashtable.set(id, pack(l, o));
        }
      }
    }
  }

  /**
   * Checks, before anything is written, that n vectors with these ids (undefined: sequential from
   * ntotal) can be recorded: an Array map needs the ids ntotal .. ntotal+n-1.
   */
  checkAdd(ntotal: number, n: number, ids: BigInt64Array | undefined): void {
    if (this.type !== DirectMapType.Array || ids === undefined) return;
    for (let i = 0; i < n; i++) {
      if (ids[i] !== BigInt(ntotal + i)) {
        throw new NotSupportedError('DirectMap of type Array', `adding id ${ids[i]} at position ${ntotal + i} (the ids must be sequential)`, 'use DirectMapType.Hashtable');
      }
    }
  }

  /** Records entries just added to list l at offsets offset.. (ids as given, in any order). */
  added(list: number, offset: number, ids: BigInt64Array): void {
    if (this.type === DirectMapType.Array) {
      for (let i = 0; i < ids.length; i++) {
        const id = Number(ids[i]!);
        while (this.array.length <= id) this.array.push(-1);
        this.array[id] = pack(list, offset + i);
      }
    } else if (this.type === DirectMapType.Hashtable) {
      for (let i = 0; i < ids.length; i++) this.hashtable.set(ids[i]!, pack(list, offset + i));
    }
  }

  /** Where id is stored, as a packed (list, offset); throws when unknown or when there is no map. */
  get(id: bigint): number {
    if (this.type === DirectMapType.NoMap) {
      throw new NotSupportedError('an IVF index without a direct map', 'reconstruct', 'call makeDirectMap() first');
    }
    const lo = this.type === DirectMapType.Array ? (id >= 0n && id < BigInt(this.array.length) ? this.array[Number(id)]! : -1) : (this.hashtable.get(id) ?? -1);
    if (lo < 0) throw new InvalidArgumentError('key', `id ${id} is not in the index`);
    return lo;
  }

  clear(): void {
    this.array = [];
    this.hashtable.clear();
  }
}

export { pack as packListOffset };
