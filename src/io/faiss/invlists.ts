/**
 * @module io/faiss/invlists
 * The parts of a Faiss IVF file after its quantizer: the direct map and the inverted lists (Faiss's
 * read_direct_map / read_InvertedLists and their writers in impl/index_read.cpp, index_write.cpp).
 * Layouts as Faiss 1.7.3 writes them (unchanged since Faiss 1.6, and still so in 1.13):
 *
 * Direct map (DirectMap), right after the quantizer:
 *
 * | field   | type           | bytes      | notes                                                  |
 * |---------|----------------|------------|--------------------------------------------------------|
 * | type    | char           | 1          | 0 NoMap, 1 Array, 2 Hashtable (was a bool before 1.6)  |
 * | array   | vector<int64>  | 8 + 8*n    | Array: n = ntotal entries, entry i = (list << 32) \| offset of id i, or -1; otherwise empty |
 * | table   | vector<pair<int64,int64>> | 8 + 16*m | Hashtable only: m (id, (list << 32) \| offset) pairs in the writer's hash order |
 *
 * Inverted lists, last in the file:
 *
 * - "il00": none (Faiss writes it for an IVF whose `invlists` is null); ntotal stays the header's.
 * - "ilar" (ArrayInvertedLists): size_t nlist, size_t code_size, then the list sizes as
 *   uint32 list_type + a vector<size_t>: "full" = the nlist sizes; "sprs" = (list number, size)
 *   pairs of the non-empty lists only. Faiss writes "full" when more than nlist/2 (integer division)
 *   lists are non-empty, else "sprs". Then, for each non-empty list in order: its codes
 *   (size * code_size bytes), then its ids (size int64).
 * - Any other code: read and written by a registered {@link InvertedListsIOHook} (Faiss's
 *   InvertedListsIOHook), e.g. "ilod" OnDiskInvertedLists, registered by the Node entry
 *   (io/faiss/ondisk); without a hook for it ("ilbl" BlockInvertedLists, ...), a FormatError.
 * - "ilar" read with IO_FLAG_MMAP (IO_FLAG_SKIP_IVF_DATA plus a hook's fourcc in the high 16 bits,
 *   "od"): that hook's readArrayInvertedLists may leave the lists in the file (on-disk, read-only).
 *   Without the hook (the core alone, or bytes rather than a file), the lists are read into memory.
 *
 * Checks made before anything is allocated: nlist and code_size equal the IVF's, list_type is known,
 * "sprs" has an even count and list numbers < nlist, every size and their sum fit in the bytes left
 * (sum * (code_size + 8) <= remaining), the sum equals ntotal; direct map entries point inside the lists.
 * Faiss 1.7.3 checks less (it reads an odd "sprs" count past its end, and trusts the sizes).
 *
 * List data go straight from the file into the lists' shared memory: prepareAdd(sizes) sizes one
 * segment for all of them, then each list's codes and ids are read in place (addEntriesWith).
 */
import { NotSupportedError } from '../../errors.js';
import { ArrayInvertedLists } from '../../invlists/ArrayInvertedLists.js';
import { DirectMap, DirectMapType, packListOffset } from '../../invlists/DirectMap.js';
import type { InvertedLists } from '../../invlists/InvertedLists.js';
import { UNLOADED_NULL, UNLOADED_SKIPPED, UnloadedInvertedLists } from '../../invlists/UnloadedInvertedLists.js';
import { describeFourcc, fourcc, fourccToString, unknownFourccError } from './fourcc.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';

/** Faiss's IO_FLAG_SKIP_IVF_DATA bit (8). */
const SKIP_IVF_DATA = 8;
/** The high 16 bits of IO_FLAG_MMAP (0x646f0008): Faiss's on-disk ("ilod") hook. */
const MMAP_HOOK_BITS = 0x646f0000;
/** Largest list size: list sizes are uint32 in simdex's list table. */
const MAX_LIST_SIZE = 0xffffffff;

/** Names of the direct map types, by Faiss's number. */
export const DIRECT_MAP_TYPE_NAMES = ['NoMap', 'Array', 'Hashtable'] as const;

/**
 * True when `flags` ask to skip the list data: IO_FLAG_SKIP_IVF_DATA without a hook in the high 16 bits.
 * IO_FLAG_MMAP (the same bit plus Faiss's on-disk hook "od") still reads the lists, into memory.
 */
export function skipsIvfData(flags: number): boolean {
  return (flags & SKIP_IVF_DATA) !== 0 && (flags & 0xffff0000) !== MMAP_HOOK_BITS;
}

// ---------------------------------------------------------------------------------------------------
// Direct map
// ---------------------------------------------------------------------------------------------------

/** A direct map as read, before it is checked against the lists (which come later in the file). */
export interface DirectMapRecord {
  type: DirectMapType;
  /** Array: ntotal packed (list << 32 | offset) entries, -1 where none. */
  array: BigInt64Array;
  /** Hashtable: 2*m int64, (id, packed) pairs in file order. */
  pairs: BigInt64Array;
  /** Byte offset of the type byte, for errors. */
  offset: number;
}

/** Reads a direct map (see the module doc); ntotal is the IVF's. */
export function readDirectMap(r: IOReader, ntotal: number): DirectMapRecord {
  const offset = r.offset;
  const type = r.readU8('direct map type');
  if (type > 2) throw r.error(`invalid direct map type ${type} (expected 0 NoMap, 1 Array or 2 Hashtable)`, offset);
  const arrayAt = r.offset;
  const count = r.readVectorHeader(8, 'direct map array');
  const expected = type === DirectMapType.Array ? ntotal : 0;
  if (count !== expected) {
    throw r.error(`direct map of type ${DIRECT_MAP_TYPE_NAMES[type]} holds ${count} array entries, expected ${expected}${type === DirectMapType.Array ? ' (ntotal)' : ''}`, arrayAt);
  }
  const array = r.readBigInt64Array(count, 'direct map array');
  let pairs: BigInt64Array = new BigInt64Array(0);
  if (type === DirectMapType.Hashtable) {
    const m = r.readVectorHeader(16, 'direct map hashtable');
    pairs = r.readBigInt64Array(2 * m, 'direct map hashtable');
  }
  return { type: type as DirectMapType, array, pairs, offset };
}

/**
 * Checks that every entry of `rec` points inside `lists` (list < nlist, offset < its size; for lists
 * of unknown sizes, the list number only) and loads it into `dm`.
 */
export function loadDirectMap(r: IOReader, rec: DirectMapRecord, lists: InvertedLists, dm: DirectMap): void {
  const sizesKnown = !(lists instanceof UnloadedInvertedLists) || lists.sizesKnown;
  const unpack = (lo: bigint, what: string): number => {
    const list = lo >> 32n;
    const offset = lo & 0xffffffffn;
    if (lo < 0n || list >= BigInt(lists.nlist) || (sizesKnown && offset >= BigInt(lists.listSize(Number(list))))) {
      throw r.error(
        `${what} = ${lo} (list ${list}, offset ${offset}) points outside the inverted lists ` +
          `(nlist = ${lists.nlist}${lo >= 0n && list < BigInt(lists.nlist) ? `, list ${list} holds ${lists.listSize(Number(list))}` : ''})`,
        rec.offset,
      );
    }
    return packListOffset(Number(list), Number(offset));
  };
  const array = new Array<number>(rec.array.length);
  for (let i = 0; i < rec.array.length; i++) {
    const lo = rec.array[i]!;
    array[i] = lo === -1n ? -1 : unpack(lo, `direct map entry ${i}`);
  }
  const hashtable = new Map<bigint, number>();
  for (let j = 0; j < rec.pairs.length; j += 2) hashtable.set(rec.pairs[j]!, unpack(rec.pairs[j + 1]!, `direct map entry of id ${rec.pairs[j]}`));
  dm.type = rec.type;
  dm.array = array;
  dm.hashtable = hashtable;
}

/** Writes `dm` as Faiss does (the hashtable in the map's iteration order: as read, for a file read). */
export function writeDirectMap(w: IOWriter, dm: DirectMap): void {
  w.writeU8(dm.type);
  const array = dm.type === DirectMapType.Array ? dm.array : [];
  w.writeBigInt64Vector(BigInt64Array.from(array, (lo) => BigInt(lo)));
  if (dm.type === DirectMapType.Hashtable) {
    const pairs = new BigInt64Array(2 * dm.hashtable.size);
    let j = 0;
    for (const [id, lo] of dm.hashtable) {
      pairs[j++] = id;
      pairs[j++] = BigInt(lo);
    }
    w.writeU64(dm.hashtable.size);
    w.writeBigInt64Array(pairs);
  }
}

/** Bytes writeDirectMap writes for `dm`. */
export function directMapBytes(dm: DirectMap): number {
  return 1 + 8 + (dm.type === DirectMapType.Array ? 8 * dm.array.length : 0) + (dm.type === DirectMapType.Hashtable ? 8 + 16 * dm.hashtable.size : 0);
}

// ---------------------------------------------------------------------------------------------------
// Inverted lists
// ---------------------------------------------------------------------------------------------------

/** What readInvertedLists needs to know of the IVF index around the lists. */
export interface InvertedListsContext {
  /** The IVF's nlist, code_size and ntotal, which the lists must match. */
  nlist: number;
  codeSize: number;
  ntotal: number;
  /** Faiss's io_flags. */
  flags: number;
  /** Largest storage segment of the ArrayInvertedLists (default: the arena's). */
  maxSegmentBytes?: number;
  /** Search cache budget of on-disk lists (default: OnDiskInvertedLists.defaultCacheBytes). */
  cacheBytes?: number;
}

/**
 * Reads the inverted lists (fourcc and body, see the module doc): an ArrayInvertedLists holding the
 * data, or an UnloadedInvertedLists for "il00" and for reads with IO_FLAG_SKIP_IVF_DATA (sizes only;
 * the data are skipped, but must be in the file).
 */
export function readInvertedLists(r: IOReader, ctx: InvertedListsContext): InvertedLists {
  const at = r.offset;
  const h = r.readU32('inverted lists fourcc');
  const name = fourccToString(h);
  if (name === 'il00') return new UnloadedInvertedLists(ctx.nlist, ctx.codeSize, undefined, UNLOADED_NULL);
  if (name !== 'ilar') {
    const hook = IO_HOOKS.find((k) => k.key === name);
    if (hook !== undefined) return r.within(name, () => hook.read(r, ctx));
    if (name === 'ilod' || name === 'ilbl') {
      throw r.error(
        `inverted lists ${describeFourcc(h)} (${name === 'ilod' ? 'OnDiskInvertedLists' : 'BlockInvertedLists'}) are not supported: ` +
          'simdex reads inverted lists stored in the index file ("ilar")' +
          (name === 'ilod' ? ', and on-disk lists with the Node entry (`simdex` under Node, which registers them)' : '; convert the index with Faiss first'),
        at,
      );
    }
    throw unknownFourccError(h, r.name, at, 'inverted lists ("ilar" or "il00")', r.fourcc);
  }
  return r.within('ilar', () => readArrayInvertedLists(r, ctx));
}

function readArrayInvertedLists(r: IOReader, ctx: InvertedListsContext): InvertedLists {
  const { nlist, codeSize } = ctx;
  const nlistAt = r.offset;
  const fileNlist = r.readSize('ilar nlist');
  if (fileNlist !== nlist) throw r.error(`inverted lists have nlist = ${fileNlist}, but the IVF index has nlist = ${nlist}`, nlistAt);
  const codeSizeAt = r.offset;
  const fileCodeSize = r.readSize('ilar code_size');
  if (fileCodeSize !== codeSize) throw r.error(`inverted lists have code_size = ${fileCodeSize}, but the IVF index has code_size = ${codeSize}`, codeSizeAt);
  const sizesAt = r.offset;
  const sizes = readListSizes(r, nlist, codeSize + 8);
  let total = 0;
  for (let l = 0; l < nlist; l++) total += sizes[l]!;
  const bytes = total * (codeSize + 8);
  if (bytes > r.remaining) {
    throw r.error(`inverted lists claim ${total} entries of ${codeSize} + 8 bytes (${bytes} bytes) but only ${r.remaining} bytes remain in the file (file size ${r.size})`, sizesAt);
  }
  if (total !== ctx.ntotal) throw r.error(`inverted lists hold ${total} entries, but the IVF index has ntotal = ${ctx.ntotal}`, sizesAt);
  const mapped = mmapHook(ctx.flags)?.readArrayInvertedLists?.(r, ctx, sizes);
  if (mapped !== undefined) return mapped;
  if (skipsIvfData(ctx.flags)) {
    r.skip(bytes, 'inverted list data');
    return new UnloadedInvertedLists(nlist, codeSize, sizes, UNLOADED_SKIPPED);
  }
  const lists = new ArrayInvertedLists(nlist, codeSize, { maxSegmentBytes: ctx.maxSegmentBytes });
  try {
    try {
      lists.prepareAdd(Uint32Array.from(sizes));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new NotSupportedError('ArrayInvertedLists', `reading a list this large (${e.message})`, 'each inverted list must fit in one storage segment');
    }
    for (let l = 0; l < nlist; l++) {
      const n = sizes[l]!;
      if (n === 0) continue;
      lists.addEntriesWith(l, n, (codes, ids) => {
        r.readInto(codes, `list ${l} codes`);
        r.readBigInt64Into(ids, `list ${l} ids`);
      });
    }
  } catch (e) {
    lists.reset();
    throw e;
  }
  return lists;
}

/**
 * Reads the list sizes: uint32 list_type, then "full" (nlist sizes) or "sprs" ((list, size) pairs).
 * @param entryBytes bytes each entry takes in the file (code_size + 8), to reject sizes the file cannot hold.
 */
function readListSizes(r: IOReader, nlist: number, entryBytes: number): Float64Array {
  const typeAt = r.offset;
  const listType = r.readU32('list_type');
  const name = fourccToString(listType);
  const sizes = new Float64Array(nlist);
  const maxEntries = Math.floor(r.remaining / entryBytes);
  const checkSize = (l: number, v: bigint, at: number): number => {
    if (v < 0n || v > BigInt(Math.min(maxEntries, MAX_LIST_SIZE))) {
      const size = BigInt.asUintN(64, v);
      throw r.error(
        `list ${l} claims ${size} entries of ${entryBytes} bytes but only ${r.remaining} bytes remain in the file (file size ${r.size})` +
          (size > BigInt(MAX_LIST_SIZE) ? `; a list holds at most ${MAX_LIST_SIZE} entries` : ''),
        at,
      );
    }
    return Number(v);
  };
  if (name === 'full') {
    const countAt = r.offset;
    const count = r.readVectorHeader(8, 'list sizes');
    if (count !== nlist) throw r.error(`"full" list sizes hold ${count} sizes, expected nlist = ${nlist}`, countAt);
    const start = r.offset;
    const raw = r.readBigInt64Array(count, 'list sizes');
    for (let l = 0; l < nlist; l++) sizes[l] = checkSize(l, raw[l]!, start + 8 * l);
  } else if (name === 'sprs') {
    const countAt = r.offset;
    const count = r.readVectorHeader(8, 'sparse list sizes');
    if (count % 2 !== 0) throw r.error(`"sprs" list sizes hold ${count} values, expected (list, size) pairs (an even count)`, countAt);
    const start = r.offset;
    const raw = r.readBigInt64Array(count, 'sparse list sizes');
    for (let j = 0; j < count; j += 2) {
      const list = raw[j]!;
      if (list < 0n || list >= BigInt(nlist)) {
        throw r.error(`"sprs" list sizes name list ${BigInt.asUintN(64, list)}, but nlist = ${nlist}`, start + 8 * j);
      }
      sizes[Number(list)] = checkSize(Number(list), raw[j + 1]!, start + 8 * (j + 1)); // a repeated list: the last wins, as in Faiss
    }
  } else {
    throw r.error(`unknown list_type ${describeFourcc(listType)} (expected "full" or "sprs")`, typeAt);
  }
  return sizes;
}

/** Writes `lists` as Faiss 1.7.3 does: "il00" for lists without data, otherwise "ilar" (see the module doc). */
export function writeInvertedLists(w: IOWriter, lists: InvertedLists): void {
  const hook = IO_HOOKS.find((k) => k.handles(lists));
  if (hook !== undefined) return hook.write(w, lists);
  if (lists instanceof UnloadedInvertedLists) {
    w.writeU32(fourcc('il00'));
    return;
  }
  const { nlist, codeSize } = lists;
  w.writeU32(fourcc('ilar'));
  w.writeU64(nlist);
  w.writeU64(codeSize);
  const sizes = new Float64Array(nlist);
  let nonEmpty = 0;
  for (let l = 0; l < nlist; l++) {
    sizes[l] = lists.listSize(l);
    if (sizes[l]! > 0) nonEmpty++;
  }
  if (nonEmpty > Math.floor(nlist / 2)) {
    w.writeU32(fourcc('full'));
    w.writeU64(nlist);
    w.writeBigInt64Array(BigInt64Array.from(sizes, (s) => BigInt(s)));
  } else {
    w.writeU32(fourcc('sprs'));
    w.writeU64(2 * nonEmpty);
    const pairs = new BigInt64Array(2 * nonEmpty);
    let j = 0;
    for (let l = 0; l < nlist; l++) {
      if (sizes[l]! === 0) continue;
      pairs[j++] = BigInt(l);
      pairs[j++] = BigInt(sizes[l]!);
    }
    w.writeBigInt64Array(pairs);
  }
  for (let l = 0; l < nlist; l++) {
    if (sizes[l]! === 0) continue;
    const { codes, ids } = lists instanceof ArrayInvertedLists ? lists.entriesView(l) : { codes: lists.getCodes(l), ids: lists.getIds(l) };
    w.writeBytes(codes);
    w.writeBigInt64Array(ids);
  }
}

/** Bytes writeInvertedLists writes for `lists`. */
export function invertedListsBytes(lists: InvertedLists): number {
  const hook = IO_HOOKS.find((k) => k.handles(lists));
  if (hook !== undefined) return hook.bytes(lists);
  if (lists instanceof UnloadedInvertedLists) return 4;
  let nonEmpty = 0;
  let total = 0;
  for (let l = 0; l < lists.nlist; l++) {
    const s = lists.listSize(l);
    if (s > 0) nonEmpty++;
    total += s;
  }
  const sizes = nonEmpty > Math.floor(lists.nlist / 2) ? 8 * lists.nlist : 16 * nonEmpty;
  return 4 + 8 + 8 + 4 + 8 + sizes + total * (lists.codeSize + 8);
}

// ---------------------------------------------------------------------------------------------------
// Hooks for other inverted-list types (Faiss's InvertedListsIOHook)
// ---------------------------------------------------------------------------------------------------

/**
 * Reads and writes one inverted-list type besides "ilar" / "il00" (Faiss's InvertedListsIOHook).
 * The module that defines the type registers it, so the core holds no code it cannot run: the Node
 * entry registers OnDiskInvertedLists ("ilod", io/faiss/ondisk).
 */
export interface InvertedListsIOHook {
  /** The fourcc it reads and writes ("ilod"); also the hook that io_flags' high 16 bits name ("od"). */
  readonly key: string;
  /** Whether writeInvertedLists hands `lists` to this hook. */
  handles(lists: InvertedLists): boolean;
  /** Writes `lists`, fourcc included. */
  write(w: IOWriter, lists: InvertedLists): void;
  /** Bytes write() writes. */
  bytes(lists: InvertedLists): number;
  /** Reads the lists, the fourcc already consumed. */
  read(r: IOReader, ctx: InvertedListsContext): InvertedLists;
  /**
   * "ilar" lists read with this hook's flags (IO_FLAG_MMAP), positioned at their data (sizes
   * checked against the file): lists left in the file, the reader moved past them; or undefined
   * to read them into memory.
   */
  readArrayInvertedLists?(r: IOReader, ctx: InvertedListsContext, sizes: Float64Array): InvertedLists | undefined;
}

const IO_HOOKS: InvertedListsIOHook[] = [];

/** Registers `hook` (replacing one with the same key). */
export function registerInvertedListsIOHook(hook: InvertedListsIOHook): void {
  const i = IO_HOOKS.findIndex((k) => k.key === hook.key);
  if (i >= 0) IO_HOOKS[i] = hook;
  else IO_HOOKS.push(hook);
}

/** The hook named by the high 16 bits of flags with IO_FLAG_SKIP_IVF_DATA ("il" + 2 characters), if registered. */
function mmapHook(flags: number): InvertedListsIOHook | undefined {
  if ((flags & SKIP_IVF_DATA) === 0 || (flags & 0xffff0000) === 0) return undefined;
  const key = fourccToString(((flags & 0xffff0000) | (fourcc('il__') & 0xffff)) >>> 0);
  return IO_HOOKS.find((k) => k.key === key);
}
