/**
 * @module invlists/ListCache
 * A bounded cache of inverted lists in shared WebAssembly memory, for lists whose home is elsewhere
 * (on disk: invlists/OnDiskInvertedLists). Lists are copied in whole, codes then ids, and the cache
 * keeps a list table (invlists/InvertedLists' ListTable: segment, codes offset, ids offset, size) in
 * which every resident list is valid, so the IVF scanners and worker threads read them in place as
 * they read ArrayInvertedLists.
 *
 * Budget: `budgetBytes` of list data at most, in segments created as needed (the first one small,
 * each next one twice the previous, never beyond the budget). When a list does not fit, the least
 * recently used lists that are not pinned (the lists of the queries being searched) are evicted;
 * free space is kept per segment, sorted by offset and coalesced on release (first fit).
 *
 * Overflow: one query whose own lists exceed the budget (or a list larger than it) still gets them,
 * in overflow segments outside the budget that are dropped at the next beginBatch(). No regular
 * segment is created while overflow segments exist, so segment numbers of resident lists stay valid.
 *
 * Block of a list of n entries: codes (n * codeSize bytes, padded to 16), then the ids (n int64).
 */
import { MAX_DATA_BYTES, Segment } from '../storage/Segment.js';
import type { ListTable } from './InvertedLists.js';

const ALIGN = 16;
/** Data bytes of the first segment, unless the budget or the first list asks otherwise. */
const FIRST_SEGMENT_BYTES = 16 << 20;

const align = (v: number): number => Math.ceil(v / ALIGN) * ALIGN;

interface Resident {
  seg: number;
  offset: number;
  bytes: number;
  overflow: boolean;
}

/** Free byte ranges of one segment, sorted by offset, never adjacent (coalesced). */
class FreeSpace {
  private readonly offsets: number[] = [];
  private readonly sizes: number[] = [];

  constructor(offset: number, bytes: number) {
    this.offsets.push(offset);
    this.sizes.push(bytes);
  }

  /** First fit: the offset of `bytes` taken from the first range that holds them, or -1. */
  take(bytes: number): number {
    for (let i = 0; i < this.offsets.length; i++) {
      const size = this.sizes[i]!;
      if (size < bytes) continue;
      const o = this.offsets[i]!;
      if (size === bytes) {
        this.offsets.splice(i, 1);
        this.sizes.splice(i, 1);
      } else {
        this.offsets[i] = o + bytes;
        this.sizes[i] = size - bytes;
      }
      return o;
    }
    return -1;
  }

  /** Returns [offset, offset + bytes) to the free ranges, merged with its neighbours. */
  release(offset: number, bytes: number): void {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const prevEnd = lo > 0 ? this.offsets[lo - 1]! + this.sizes[lo - 1]! : -1;
    const joinsPrev = prevEnd === offset;
    const joinsNext = lo < this.offsets.length && offset + bytes === this.offsets[lo]!;
    if (joinsPrev && joinsNext) {
      this.sizes[lo - 1]! += bytes + this.sizes[lo]!;
      this.offsets.splice(lo, 1);
      this.sizes.splice(lo, 1);
    } else if (joinsPrev) {
      this.sizes[lo - 1]! += bytes;
    } else if (joinsNext) {
      this.offsets[lo] = offset;
      this.sizes[lo]! += bytes;
    } else {
      this.offsets.splice(lo, 0, offset);
      this.sizes.splice(lo, 0, bytes);
    }
  }
}

export class ListCache {
  /** nlist * 4 uint32 over a SharedArrayBuffer: [segment, codes offset, ids offset, size] of each resident list, zeros otherwise. */
  readonly table: Uint32Array;
  private readonly segments: Segment[] = [];
  private readonly free: FreeSpace[] = [];
  /** Regular segments first (segments[0, regular)), then this batch's overflow segments. */
  private regular = 0;
  private capacity = 0;
  /** Resident lists in least- to most-recently used order (a Map keeps insertion order). */
  private readonly resident = new Map<number, Resident>();
  private budget: number;
  /** Bytes of resident lists within the budget (overflow excluded). */
  residentBytes = 0;
  /** Bytes of resident lists in overflow segments. */
  overflowBytes = 0;
  /** Lists read into the cache, and lists evicted from it, since construction (statistics). */
  loads = 0;
  evictions = 0;

  /**
   * @param budgetBytes bytes of list data the cache may hold (overflow aside)
   * @param maxSegmentBytes largest data region of one segment (default: a wasm32 memory's)
   */
  constructor(
    readonly nlist: number,
    readonly codeSize: number,
    budgetBytes: number,
    readonly maxSegmentBytes = MAX_DATA_BYTES,
  ) {
    this.table = new Uint32Array(new SharedArrayBuffer(Math.max(1, nlist) * 16));
    this.budget = budgetBytes;
  }

  /** The budget in bytes; lowering it evicts least recently used lists down to it. */
  get budgetBytes(): number {
    return this.budget;
  }

  set budgetBytes(bytes: number) {
    this.budget = bytes;
    for (const l of this.resident.keys()) {
      if (this.residentBytes <= bytes) break;
      const r = this.resident.get(l)!;
      if (!r.overflow) this.evict(l);
    }
  }

  /** Bytes a list of n entries takes in the cache. */
  blockBytes(n: number): number {
    return align(n * this.codeSize) + align(n * 8);
  }

  has(listNo: number): boolean {
    return this.resident.has(listNo);
  }

  /** Marks list l as most recently used. */
  touch(listNo: number): void {
    const r = this.resident.get(listNo);
    if (r === undefined) return;
    this.resident.delete(listNo);
    this.resident.set(listNo, r);
  }

  /** Starts a batch: drops the previous batch's overflow segments and their lists. */
  beginBatch(): void {
    if (this.segments.length === this.regular) return;
    for (const [l, r] of this.resident) if (r.overflow) this.dropEntry(l, r);
    this.segments.length = this.regular;
    this.free.length = this.regular;
  }

  /**
   * Room for list l of n entries, evicting least recently used lists whose `pinned[l]` is 0; the
   * caller fills the returned views (codes: n*codeSize bytes, ids: n int64). When no room is found
   * within the budget: an overflow segment if `overflow`, else undefined. The list's table entry
   * is set at once (size n).
   */
  insert(listNo: number, n: number, pinned: Uint8Array, overflow: boolean): { codes: Uint8Array; ids: BigInt64Array } | undefined {
    if (this.resident.has(listNo)) this.evict(listNo);
    const bytes = this.blockBytes(n);
    let place = this.allocate(bytes);
    if (place === undefined) {
      for (const [l, r] of this.resident) {
        if (pinned[l] !== 0 || r.overflow) continue;
        this.evict(l);
        place = this.allocate(bytes);
        if (place !== undefined) break;
      }
    }
    if (place === undefined) {
      if (!overflow) return undefined;
      if (bytes > MAX_DATA_BYTES) throw new RangeError(`one inverted list of ${bytes} bytes exceeds the ${MAX_DATA_BYTES} bytes of a storage segment`);
      const seg = new Segment(bytes);
      this.segments.push(seg);
      this.free.push(new FreeSpace(seg.dataOffset + bytes, seg.dataBytes - bytes));
      place = { seg: this.segments.length - 1, offset: seg.dataOffset, bytes, overflow: true };
    }
    this.resident.set(listNo, place);
    if (place.overflow) this.overflowBytes += bytes;
    else this.residentBytes += bytes;
    this.loads++;
    const idsOffset = place.offset + align(n * this.codeSize);
    this.table[listNo * 4] = place.seg;
    this.table[listNo * 4 + 1] = place.offset;
    this.table[listNo * 4 + 2] = idsOffset;
    this.table[listNo * 4 + 3] = n;
    const buf = this.segments[place.seg]!.memory.buffer;
    return { codes: new Uint8Array(buf, place.offset, n * this.codeSize), ids: new BigInt64Array(buf, idsOffset, n) };
  }

  /** Removes list l from the cache (after its data changed). */
  evict(listNo: number): void {
    const r = this.resident.get(listNo);
    if (r === undefined) return;
    this.dropEntry(listNo, r);
    if (!r.overflow) this.free[r.seg]!.release(r.offset, r.bytes);
    this.evictions++;
  }

  /** Views of a resident list's codes and ids (valid until it is evicted), or undefined. */
  view(listNo: number): { codes: Uint8Array; ids: BigInt64Array } | undefined {
    const r = this.resident.get(listNo);
    if (r === undefined) return undefined;
    const buf = this.segments[r.seg]!.memory.buffer;
    const n = this.table[listNo * 4 + 3]!;
    return { codes: new Uint8Array(buf, r.offset, n * this.codeSize), ids: new BigInt64Array(buf, this.table[listNo * 4 + 2]!, n) };
  }

  /** Drops every list and every segment. */
  clear(): void {
    this.resident.clear();
    this.segments.length = 0;
    this.free.length = 0;
    this.regular = 0;
    this.capacity = 0;
    this.residentBytes = 0;
    this.overflowBytes = 0;
    this.table.fill(0);
  }

  /** The memories of the segments, by segment number. */
  memories(): WebAssembly.Memory[] {
    return this.segments.map((s) => s.memory);
  }

  /** The kernels' view: valid for the resident lists. */
  listTable(): ListTable {
    return { memories: this.memories(), table: this.table };
  }

  /** Number of resident lists. */
  get residentLists(): number {
    return this.resident.size;
  }

  private dropEntry(listNo: number, r: Resident): void {
    this.resident.delete(listNo);
    if (r.overflow) this.overflowBytes -= r.bytes;
    else this.residentBytes -= r.bytes;
    this.table.fill(0, listNo * 4, listNo * 4 + 4);
  }

  /** A place within the budget: in a regular segment's free space, or in a new regular segment. */
  private allocate(bytes: number): Resident | undefined {
    if (this.residentBytes + bytes > this.budget) return undefined;
    for (let s = 0; s < this.regular; s++) {
      const o = this.free[s]!.take(bytes);
      if (o >= 0) return { seg: s, offset: o, bytes, overflow: false };
    }
    const room = Math.min(this.budget, Number.MAX_SAFE_INTEGER) - this.capacity;
    const limit = Math.min(this.maxSegmentBytes, MAX_DATA_BYTES);
    if (this.segments.length !== this.regular || bytes > room || bytes > limit) return undefined;
    const last = this.regular > 0 ? this.segments[this.regular - 1]!.dataBytes : FIRST_SEGMENT_BYTES / 2;
    const size = Math.min(room, limit, Math.max(bytes, last * 2));
    const seg = new Segment(size);
    this.segments.push(seg);
    this.free.push(new FreeSpace(seg.dataOffset + bytes, seg.dataBytes - bytes));
    this.regular++;
    this.capacity += seg.dataBytes;
    return { seg: this.regular - 1, offset: seg.dataOffset, bytes, overflow: false };
  }
}
