/**
 * @module IndexIDMap
 * Faiss's IndexIDMap and IndexIDMap2: arbitrary int64 ids on top of any index that numbers its
 * vectors sequentially. IndexIDMap2 also keeps the reverse map, so that reconstruct(id) works.
 */
import { Index, type RangeSearchResult, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, NotSupportedError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { checkIds, checkVectors } from '../validate.js';

export class IndexIDMap extends Index {
  /** The wrapped index; it numbers its vectors 0..ntotal-1. */
  readonly index: Index;
  /** id_map[i] is the user id of the sub-index's vector i. */
  protected ids: BigInt64Array = new BigInt64Array(16);
  /** Whether dispose() also disposes the wrapped index (Faiss's own_fields). */
  ownFields = true;

  constructor(index: Index) {
    super(index.d, index.metricType);
    if (index.ntotal !== 0) {
      throw new InvalidArgumentError('index', `must be empty to be wrapped in ${new.target.name} (it holds ${index.ntotal} vectors)`);
    }
    this.index = index;
    this.isTrained = index.isTrained;
  }

  /**
   * Wraps an index that already holds its vectors, with their ids (readers of index files use it).
   * ids: size index.ntotal
   */
  static fromParts<T extends IndexIDMap>(this: new (index: Index) => T, index: Index, ids: BigInt64Array): T {
    if (ids.length !== index.ntotal) {
      throw new InvalidArgumentError('ids', `has length ${ids.length}, expected one id per stored vector (ntotal = ${index.ntotal})`);
    }
    const ntotal = index.ntotal;
    index.ntotal = 0;
    let map: T;
    try {
      map = new this(index);
    } finally {
      index.ntotal = ntotal;
    }
    map.appendIds(ids);
    return map;
  }

  /** Faiss's id_map: the user id of each stored vector, size ntotal. */
  get idMap(): BigInt64Array {
    return this.ids.subarray(0, this.ntotal);
  }

  override train(x: Float32Array): void {
    this.index.train(x);
    this.isTrained = this.index.isTrained;
  }

  add(x: Float32Array): void {
    void x;
    throw new NotSupportedError(this.typeName, 'add', 'use addWithIds(x, ids)');
  }

  override addWithIds(x: Float32Array, ids: BigInt64Array): void {
    const n = checkVectors(x, this.d);
    checkIds(ids, n);
    this.index.add(x);
    this.appendIds(ids);
  }

  /** Appends ids to id_map (used by add and by readers of index files). */
  appendIds(ids: BigInt64Array): void {
    const need = this.ntotal + ids.length;
    if (need > this.ids.length) {
      const grown = new BigInt64Array(Math.max(need, this.ids.length * 2));
      grown.set(this.idMap);
      this.ids = grown;
    }
    this.ids.set(ids, this.ntotal);
    this.ntotal = need;
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    const res = this.index.search(x, k, params);
    const labels = res.labels;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l >= 0n) labels[i] = this.ids[Number(l)]!;
    }
    return res;
  }

  override rangeSearch(x: Float32Array, radius: number, params?: SearchParameters): RangeSearchResult {
    const res = this.index.rangeSearch(x, radius, params);
    const labels = res.labels;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l >= 0n) labels[i] = this.ids[Number(l)]!;
    }
    return res;
  }

  override removeIds(selector: IDSelectorLike): number {
    const sel = toIDSelector(selector);
    // Remove from the sub-index by position, then compact id_map the same way (Faiss's order-preserving removal).
    const positions: bigint[] = [];
    for (let i = 0; i < this.ntotal; i++) if (sel.isMember(this.ids[i]!)) positions.push(BigInt(i));
    if (positions.length === 0) return 0;
    const removed = this.index.removeIds(BigInt64Array.from(positions));
    let j = 0;
    const posSet = new Set(positions);
    for (let i = 0; i < this.ntotal; i++) {
      if (!posSet.has(BigInt(i))) this.ids[j++] = this.ids[i]!;
    }
    this.ntotal = j;
    this.onIdsChanged();
    return removed;
  }

  override reset(): void {
    this.index.reset();
    this.ntotal = 0;
    this.onIdsChanged();
  }

  override dispose(): void {
    if (this.ownFields) this.index.dispose();
  }

  protected onIdsChanged(): void {}
}

/** IndexIDMap that also keeps id -> position, so that vectors can be reconstructed by id. */
export class IndexIDMap2 extends IndexIDMap {
  private rev = new Map<bigint, number>();

  override appendIds(ids: BigInt64Array): void {
    const start = this.ntotal;
    super.appendIds(ids);
    for (let i = 0; i < ids.length; i++) this.rev.set(ids[i]!, start + i);
  }

  /** Rebuilds the reverse map (Faiss's construct_rev_map). */
  constructRevMap(): void {
    this.rev.clear();
    for (let i = 0; i < this.ntotal; i++) this.rev.set(this.ids[i]!, i);
  }

  protected override onIdsChanged(): void {
    this.constructRevMap();
  }

  /** The vector stored under user id `key`. */
  override reconstruct(key: number | bigint): Float32Array {
    const pos = this.rev.get(BigInt(key));
    if (pos === undefined) throw new InvalidArgumentError('key', `id ${String(key)} is not in the index`);
    return this.index.reconstruct(pos);
  }
}
