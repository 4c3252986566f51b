/**
 * @module invlists/OnDiskInvertedLists
 * Faiss's OnDiskInvertedLists (invlists/OnDiskInvertedLists.cpp): inverted lists kept in a data file
 * (Faiss's `.ivfdata`), for IVF indexes larger than memory. Node only (node:fs); the Node entry
 * exports it and registers its file format ("ilod", io/faiss/ondisk).
 *
 * Data file layout (Faiss's, byte for byte): list l occupies `capacity[l] * (codeSize + 8)` bytes
 * from byte `offset[l]`: `capacity` codes (the first `size` used), then `capacity` int64 ids. Free
 * byte ranges are `slots` (offset, capacity in bytes), sorted by offset. The metadata (per list
 * size, capacity, offset; the slots; the file name; `totsize`, the data file's size) is stored in
 * the index file ("ilod"), not in the data file.
 *
 * Allocation, as Faiss (so that a file stays readable and writable by Faiss): a list resized to n
 * keeps its place while capacity/2 < n <= capacity; otherwise its slot is released and n rounded
 * up to a power of two is allocated first-fit from the slots; when none fits, the file grows to 32
 * bytes, then doubles until the new tail fits. `mergeFrom([lists...])` writes the lists of several
 * indexes (shards built separately) into an empty file in compact form (capacity = size, lists in
 * order), as Faiss's merge_from, through a temporary file renamed into place.
 *
 * Searching: Node has no mmap, so a search first makes the lists it probes resident
 * (`prepareSearch`, called by IndexIVF for each run of queries): they are read with positioned
 * reads into a ListCache, shared WebAssembly memory bounded by `cacheBytes` (default 1 GiB, least
 * recently used lists evicted), whose list table the scanners and worker threads read as they read
 * ArrayInvertedLists. A batch whose probed lists exceed the budget is searched in runs of queries
 * whose lists fit; one query whose lists alone exceed it gets them in overflow memory, released at
 * the next search.
 *
 * Modes: read-write (default; the data file is opened read-only until the first change), or
 * read-only (`readOnly`, IO_FLAG_READ_ONLY, and IO_FLAG_MMAP on "ilar" lists, which are read from
 * the index file itself: `inIndexFile`): adding, updating, resizing and reset throw a
 * NotSupportedError.
 *
 * Differences from Faiss 1.7.3, on purpose (files stay readable and writable by both):
 *  - Faiss's merge_from leaves one slot covering the whole new file (its lists included), so a later
 *    add there overwrites list data; simdex writes no slot after a merge, and before its first
 *    allocation in a file whose slots overlap list data (a file merged by Faiss) it rebuilds the
 *    slots as the gaps between lists.
 *  - Faiss releases a moved list's place as `capacity` bytes (its entry count, not its byte size):
 *    slots of a few bytes, the rest of the place never reused; simdex releases the whole place, so
 *    the files it grows are smaller (the capacities are Faiss's).
 *  - A list moved to a slot at the same offset with another capacity has its ids moved too (Faiss
 *    copies only when the offset changes).
 *  - IndexIVF.add appends each list's new entries at once (Faiss adds entry by entry), so a list
 *    jumps to its final capacity: the same capacities, other offsets than Faiss's.
 */
import * as fs from 'node:fs';
import { FormatError, InvalidArgumentError, NotSupportedError } from '../errors.js';
import { FileIOWriter } from '../io/faiss/IOWriter.js';
import { forgetDropped } from '../threads/pool.js';
import { checkPositiveInt } from '../validate.js';
import { InvertedLists, type ListTable, type SearchLists } from './InvertedLists.js';
import { ListCache } from './ListCache.js';

/** A list without a slot (Faiss's INVALID_OFFSET, (size_t)-1 in files). */
export const INVALID_OFFSET = -1;
/** Longest single read or write syscall. */
const MAX_IO_CALL = 1 << 30;

/** A free byte range of the data file. */
export interface OnDiskSlot {
  /** Byte offset. */
  offset: number;
  /** Bytes. */
  capacity: number;
}

export interface OnDiskInvertedListsOptions {
  /** Open read-only: changes throw a NotSupportedError (Faiss's read_only). */
  readOnly?: boolean;
  /** Bytes of list data kept in memory for searches (default OnDiskInvertedLists.defaultCacheBytes, 1 GiB). */
  cacheBytes?: number;
  /** Largest memory segment of the cache (default: a wasm32 memory's). */
  maxSegmentBytes?: number;
}

/** The metadata of on-disk lists as a Faiss file stores it (io/faiss/ondisk). */
export interface OnDiskLayout {
  /** Entries of each list (nlist). */
  sizes: Float64Array;
  /** Allocated entries of each list (nlist). */
  capacities: Float64Array;
  /** Byte offset of each list in the data file, INVALID_OFFSET where none (nlist). */
  offsets: Float64Array;
  slots: OnDiskSlot[];
  /** Bytes of the data file that the lists use. */
  totsize: number;
}

export class OnDiskInvertedLists extends InvertedLists {
  /** Default budget of the search cache: 1 GiB. */
  static defaultCacheBytes = 1 << 30;
  /** The data file (as stored in the index file; relative paths are relative to the working directory). */
  filename: string;
  readonly readOnly: boolean;
  /**
   * True for the lists of an "ilar" index file read with IO_FLAG_MMAP: they are read from the
   * index file itself, read-only, and writeIndex writes them back as "ilar".
   */
  readonly inIndexFile: boolean;
  /** Bytes of the data file that the lists use (Faiss's totsize). */
  totsize = 0;
  /** Per list: entries, allocated entries, byte offset (INVALID_OFFSET where none). */
  readonly sizes: Float64Array;
  readonly capacities: Float64Array;
  readonly offsets: Float64Array;
  /** Free byte ranges of the data file, sorted by offset. */
  slots: OnDiskSlot[] = [];
  private fd: number | null = null;
  private writable = false;
  private slotsChecked = false;
  private readonly cache: ListCache;
  private readonly pinned: Uint8Array;
  private pinnedLists: number[] = [];

  /**
   * Empty lists over the data file `filename` (created at the first add, as Faiss does; an
   * existing file of that name is then truncated). Fill them with addEntries (IndexIVF.add) or
   * with mergeFrom([...]) from other indexes' lists.
   */
  constructor(nlist: number, codeSize: number, filename: string, options: OnDiskInvertedListsOptions = {}) {
    super(checkPositiveInt(nlist, 'nlist'), checkPositiveInt(codeSize, 'codeSize'));
    if (typeof filename !== 'string' || filename.length === 0) {
      throw new InvalidArgumentError('filename', `must be a non-empty path of the data file, got ${JSON.stringify(filename)}`);
    }
    this.filename = filename;
    this.readOnly = options.readOnly ?? false;
    this.inIndexFile = false;
    this.sizes = new Float64Array(nlist);
    this.capacities = new Float64Array(nlist);
    this.offsets = new Float64Array(nlist).fill(INVALID_OFFSET);
    const cacheBytes = options.cacheBytes ?? OnDiskInvertedLists.defaultCacheBytes;
    checkPositiveInt(cacheBytes, 'cacheBytes');
    this.cache = new ListCache(nlist, codeSize, cacheBytes, options.maxSegmentBytes);
    this.pinned = new Uint8Array(nlist);
  }

  /**
   * Lists with a known layout (read from an index file): nothing is checked or opened here; the
   * reader checks the layout, then calls open().
   */
  static fromLayout(nlist: number, codeSize: number, filename: string, layout: OnDiskLayout, options: OnDiskInvertedListsOptions & { inIndexFile?: boolean } = {}): OnDiskInvertedLists {
    const lists = new OnDiskInvertedLists(nlist, codeSize, filename, { ...options, readOnly: options.readOnly || options.inIndexFile });
    lists.sizes.set(layout.sizes);
    lists.capacities.set(layout.capacities);
    lists.offsets.set(layout.offsets);
    lists.slots = layout.slots.map((s) => ({ ...s }));
    lists.totsize = layout.totsize;
    (lists as { inIndexFile: boolean }).inIndexFile = options.inIndexFile ?? false;
    return lists;
  }

  // ---- the data file ------------------------------------------------------------------------

  /**
   * Opens the data file for reading (done by readIndex unless IO_FLAG_SKIP_IVF_DATA; otherwise at
   * the first read). A data file shorter than totsize is a FormatError at its end.
   * @throws Node's error (code 'ENOENT', ...) when it cannot be opened.
   */
  open(): void {
    if (this.fd !== null) return;
    if (this.totsize === 0 && !fs.existsSync(this.filename)) return; // nothing stored yet: created at the first add
    let fd: number;
    try {
      fd = fs.openSync(this.filename, 'r');
    } catch (e) {
      if (e instanceof Error) e.message += ` (the data file of OnDiskInvertedLists; IO_FLAG_ONDISK_SAME_DIR looks for it next to the index file)`;
      throw e;
    }
    const size = fs.fstatSync(fd).size;
    if (size < this.totsize) {
      fs.closeSync(fd);
      throw new FormatError(this.filename, size, `the data file of the inverted lists ends after ${size} bytes, but they use ${this.totsize} bytes (totsize): the file is truncated`);
    }
    this.fd = fd;
    this.writable = false;
  }

  /** Closes the data file and empties the search cache. Reads reopen the file. */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
      this.writable = false;
    }
    const before = this.cache.memories();
    this.cache.clear();
    forgetDropped(before, []);
  }

  /** Closes the data file and frees the cache; the file and the metadata stay as they are. */
  override dispose(): void {
    this.close();
  }

  private readAt(position: number, dest: Uint8Array, what: string): void {
    if (dest.length === 0) return;
    this.open();
    if (this.fd === null) throw new FormatError(this.filename, 0, `the data file does not exist, reading ${what}`);
    let done = 0;
    while (done < dest.length) {
      const got = fs.readSync(this.fd, dest, done, Math.min(dest.length - done, MAX_IO_CALL), position + done);
      if (got === 0) {
        throw new FormatError(
          this.filename,
          position + done,
          `unexpected end of the data file reading ${what}: ${dest.length} bytes at offset ${position}, the file holds ${fs.fstatSync(this.fd).size} bytes`,
        );
      }
      done += got;
    }
  }

  private writeAt(position: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) done += fs.writeSync(this.fd!, src, done, Math.min(src.length - done, MAX_IO_CALL), position + done);
  }

  /** Opens the data file for writing (creating it while totsize is 0, as Faiss does). */
  private openWritable(): void {
    this.checkWritable('writing the data file');
    if (this.writable) return;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.fd = fs.openSync(this.filename, this.totsize === 0 ? 'w+' : 'r+');
    this.writable = true;
  }

  private checkWritable(operation: string): void {
    if (this.readOnly) {
      throw new NotSupportedError(
        `OnDiskInvertedLists opened read-only (${this.inIndexFile ? 'lists of an "ilar" index file read with IO_FLAG_MMAP' : 'readOnly / IO_FLAG_READ_ONLY'}: ${this.filename})`,
        operation,
        this.inIndexFile ? 'read the index without IO_FLAG_MMAP to change its lists' : 'read the index without IO_FLAG_READ_ONLY to change its lists',
      );
    }
  }

  // ---- InvertedLists ------------------------------------------------------------------------

  listSize(listNo: number): number {
    return this.sizes[listNo]!;
  }

  getCodes(listNo: number): Uint8Array {
    const n = this.sizes[listNo]!;
    const out = new Uint8Array(n * this.codeSize);
    const cached = this.cache.view(listNo);
    if (cached !== undefined) out.set(cached.codes);
    else this.readAt(this.offsets[listNo]!, out, `list ${listNo} codes`);
    return out;
  }

  getIds(listNo: number): BigInt64Array {
    const n = this.sizes[listNo]!;
    const out = new BigInt64Array(n);
    const cached = this.cache.view(listNo);
    if (cached !== undefined) out.set(cached.ids);
    else this.readAt(this.idsOffset(listNo), new Uint8Array(out.buffer), `list ${listNo} ids`);
    return out;
  }

  override getSingleId(listNo: number, offset: number): bigint {
    const out = new BigInt64Array(1);
    this.readAt(this.idsOffset(listNo) + offset * 8, new Uint8Array(out.buffer), `list ${listNo} id ${offset}`);
    return out[0]!;
  }

  /** Adding: only checks that the lists are writable (each list is then allocated as Faiss does). */
  override prepareAdd(sizes: Uint32Array): void {
    void sizes;
    this.checkWritable('adding');
  }

  addEntries(listNo: number, ids: BigInt64Array, codes: Uint8Array): number {
    this.checkWritable('adding');
    const o = this.sizes[listNo]!;
    if (ids.length === 0) return o;
    this.resizeLocked(listNo, o + ids.length);
    this.updateEntries(listNo, o, ids, codes);
    return o;
  }

  updateEntries(listNo: number, offset: number, ids: BigInt64Array, codes: Uint8Array): void {
    this.checkWritable('updating entries');
    const n = ids.length;
    if (n === 0) return;
    if (offset + n > this.sizes[listNo]!) {
      throw new InvalidArgumentError('offset', `+ ${n} entries = ${offset + n} exceeds the size ${this.sizes[listNo]} of list ${listNo}`);
    }
    this.openWritable();
    const cs = this.codeSize;
    this.writeAt(this.offsets[listNo]! + offset * cs, codes.subarray(0, n * cs));
    this.writeAt(this.idsOffset(listNo) + offset * 8, new Uint8Array(ids.buffer, ids.byteOffset, n * 8));
    this.cache.evict(listNo);
  }

  resize(listNo: number, newSize: number): void {
    this.checkWritable('resizing a list');
    this.resizeLocked(listNo, newSize);
  }

  /** Empties every list (Faiss: resize to 0), freeing their slots; the data file keeps its size. */
  reset(): void {
    this.checkWritable('reset');
    for (let l = 0; l < this.nlist; l++) this.resizeLocked(l, 0);
    this.cache.clear();
  }

  /** The cache's view of every list: all lists are made resident (they must fit in cacheBytes). */
  listTable(): ListTable {
    let bytes = 0;
    for (let l = 0; l < this.nlist; l++) if (this.sizes[l]! > 0) bytes += this.cache.blockBytes(this.sizes[l]!);
    if (bytes > this.cache.budgetBytes) {
      throw new NotSupportedError(
        'OnDiskInvertedLists',
        `a view of every list at once (${bytes} bytes, more than cacheBytes = ${this.cache.budgetBytes})`,
        'IndexIVF.search reads only the lists it probes (prepareSearch); raise cacheBytes to scan all lists at once',
      );
    }
    const all = Int32Array.from({ length: this.nlist }, (_, l) => l);
    return this.prepareSearch(all, this.nlist, 0).lists;
  }

  override memories(): WebAssembly.Memory[] {
    return this.cache.memories();
  }

  /**
   * Makes the lists probed by queries q0, q0+1, ... resident in the cache, as many queries as fit
   * in cacheBytes (at least one: a query whose lists exceed the budget gets overflow memory).
   */
  override prepareSearch(coarse: Int32Array, nprobe: number, q0: number): SearchLists {
    const n = nprobe > 0 ? Math.floor(coarse.length / nprobe) : 0;
    const before = this.cache.memories();
    this.cache.beginBatch();
    for (const l of this.pinnedLists) this.pinned[l] = 0;
    this.pinnedLists = [];
    let q = q0;
    for (; q < n; q++) {
      let fits = true;
      for (let p = 0; p < nprobe && fits; p++) {
        const l = coarse[q * nprobe + p]!;
        if (l < 0 || l >= this.nlist || this.pinned[l] !== 0 || this.sizes[l] === 0) continue;
        if (this.cache.has(l)) this.cache.touch(l);
        else fits = this.load(l, q === q0);
        if (fits) {
          this.pinned[l] = 1;
          this.pinnedLists.push(l);
        }
      }
      if (!fits) break;
    }
    forgetDropped(before, this.cache.memories());
    return { lists: this.cache.listTable(), q1: Math.max(q, Math.min(n, q0 + 1)) };
  }

  /**
   * Reads the given lists into the cache ahead of searches (Faiss's prefetch_lists), as many as fit;
   * returns how many of them are resident.
   */
  prefetchLists(listNos: ArrayLike<number>): number {
    const coarse = Int32Array.from(listNos);
    let resident = 0;
    const { q1 } = this.prepareSearch(coarse, 1, 0);
    for (let i = 0; i < q1; i++) if (coarse[i]! >= 0 && this.cache.has(coarse[i]!)) resident++;
    return resident;
  }

  /** Bytes of the search cache (the budget); lowering it evicts lists. */
  get cacheBytes(): number {
    return this.cache.budgetBytes;
  }

  set cacheBytes(bytes: number) {
    this.cache.budgetBytes = checkPositiveInt(bytes, 'cacheBytes');
  }

  /** The search cache's state: bytes and lists resident, bytes in overflow memory, lists read and evicted so far. */
  cacheStats(): { residentBytes: number; residentLists: number; overflowBytes: number; loads: number; evictions: number } {
    const c = this.cache;
    return { residentBytes: c.residentBytes, residentLists: c.residentLists, overflowBytes: c.overflowBytes, loads: c.loads, evictions: c.evictions };
  }

  /** Empties the search cache and frees its memory. */
  clearCache(): void {
    const before = this.cache.memories();
    this.cache.clear();
    forgetDropped(before, []);
  }

  /**
   * mergeFrom(other, addId): appends other's entries (the base class's, list by list with Faiss's
   * allocation). mergeFrom([lists...]): Faiss's merge_from: these lists must be empty (totsize 0);
   * writes all of the given lists, concatenated list by list, into a new data file in compact form.
   */
  override mergeFrom(other: InvertedLists | readonly InvertedLists[], addId: bigint = 0n): void {
    if (Array.isArray(other)) this.mergeFromMultiple(other as readonly InvertedLists[]);
    else super.mergeFrom(other as InvertedLists, addId);
  }

  /**
   * Faiss's merge_from / merge_from_multiple: lays out list l with capacity = the sum of the sizes
   * of list l in `lists`, lists in order, and writes each list's entries from lists[0], lists[1],
   * ... (ids shifted, with shiftIds, by the number of entries of the lists before). The data file
   * is written to a temporary name, then renamed into place. The sources are left as they are.
   * @returns the number of entries (ntotal).
   */
  mergeFromMultiple(lists: readonly InvertedLists[], shiftIds = false): number {
    this.checkWritable('merging');
    if (this.totsize !== 0) throw new NotSupportedError('OnDiskInvertedLists that are not empty', 'mergeFrom([...])', 'merge into new, empty on-disk lists');
    lists.forEach((il, i) => {
      if (!(il instanceof InvertedLists)) throw new InvalidArgumentError(`lists[${i}]`, 'must be an InvertedLists');
      if (il.nlist !== this.nlist || il.codeSize !== this.codeSize) {
        throw new InvalidArgumentError(`lists[${i}]`, `has nlist = ${il.nlist}, codeSize = ${il.codeSize}; expected ${this.nlist}, ${this.codeSize}`);
      }
      il.assertData('merging');
    });
    const shifts: bigint[] = [];
    let shift = 0n;
    for (const il of lists) {
      shifts.push(shiftIds ? shift : 0n);
      shift += BigInt(il.computeNtotal());
    }
    const cs = this.codeSize;
    let cums = 0;
    for (let l = 0; l < this.nlist; l++) {
      let s = 0;
      for (const il of lists) s += il.listSize(l);
      this.sizes[l] = s;
      this.capacities[l] = s;
      this.offsets[l] = cums;
      cums += s * (cs + 8);
    }
    // the whole file is written in list order: a buffered writer to a temporary name, renamed into place
    const w = FileIOWriter.open(this.filename);
    try {
      for (let l = 0; l < this.nlist; l++) {
        if (this.sizes[l] === 0) continue;
        const ids: BigInt64Array[] = [];
        lists.forEach((il, i) => {
          if (il.listSize(l) === 0) return;
          w.writeBytes(il.getCodes(l));
          const lids = il.getIds(l);
          if (shifts[i] !== 0n) for (let j = 0; j < lids.length; j++) lids[j]! += shifts[i]!;
          ids.push(lids);
        });
        for (const lids of ids) w.writeBigInt64Array(lids);
      }
      if (w.offset !== cums) throw new Error(`mergeFrom: wrote ${w.offset} bytes, expected ${cums}`);
      w.commit();
    } catch (e) {
      w.abort();
      this.sizes.fill(0);
      this.capacities.fill(0);
      this.offsets.fill(INVALID_OFFSET);
      throw e;
    }
    this.close();
    this.totsize = cums;
    this.slots = [];
    this.slotsChecked = true;
    if (cums > 0) this.open();
    return this.computeNtotal();
  }

  // ---- allocation (Faiss's resize_locked, allocate_slot, free_slot, update_totsize) ---------

  private idsOffset(listNo: number): number {
    return this.offsets[listNo]! + this.capacities[listNo]! * this.codeSize;
  }

  private resizeLocked(listNo: number, newSize: number): void {
    const cap = this.capacities[listNo]!;
    if (newSize <= cap && newSize > Math.floor(cap / 2)) {
      this.sizes[listNo] = newSize;
      this.cache.evict(listNo);
      return;
    }
    // the entries kept, read before the slot is released (the new slot may overlap it)
    const keep = Math.min(newSize, this.sizes[listNo]!);
    const codes = keep > 0 ? this.getCodes(listNo).subarray(0, keep * this.codeSize) : undefined;
    const ids = keep > 0 ? this.getIds(listNo).subarray(0, keep) : undefined;
    const oldOffset = this.offsets[listNo]!;
    const oldIds = this.idsOffset(listNo);
    this.checkWritable('resizing a list');
    this.checkSlots();
    this.freeSlot(oldOffset, cap * (8 + this.codeSize)); // Faiss: free_slot(offset, capacity), the entry count
    if (newSize === 0) {
      this.sizes[listNo] = 0;
      this.capacities[listNo] = 0;
      this.offsets[listNo] = INVALID_OFFSET;
    } else {
      let capacity = 1;
      while (capacity < newSize) capacity *= 2;
      const offset = this.allocateSlot(capacity * (8 + this.codeSize));
      this.sizes[listNo] = newSize;
      this.capacities[listNo] = capacity;
      this.offsets[listNo] = offset;
      if (codes !== undefined) this.openWritable();
      if (codes !== undefined && offset !== oldOffset) this.writeAt(offset, codes);
      if (ids !== undefined && this.idsOffset(listNo) !== oldIds) this.writeAt(this.idsOffset(listNo), new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
    }
    this.cache.evict(listNo);
  }

  private allocateSlot(capacity: number): number {
    let i = this.slots.findIndex((s) => s.capacity >= capacity);
    if (i < 0) {
      let newSize = this.totsize === 0 ? 32 : this.totsize * 2;
      while (newSize - this.totsize < capacity) newSize *= 2;
      this.updateTotsize(newSize);
      i = this.slots.findIndex((s) => s.capacity >= capacity);
    }
    const slot = this.slots[i]!;
    const o = slot.offset;
    if (slot.capacity === capacity) {
      this.slots.splice(i, 1);
    } else {
      slot.capacity -= capacity;
      slot.offset += capacity;
    }
    return o;
  }

  private freeSlot(offset: number, capacity: number): void {
    if (capacity === 0) return;
    let i = 0;
    while (i < this.slots.length && this.slots[i]!.offset <= offset) i++;
    const prev = i > 0 ? this.slots[i - 1] : undefined;
    const next = this.slots[i];
    const joinsPrev = prev !== undefined && prev.offset + prev.capacity === offset;
    const joinsNext = next !== undefined && offset + capacity === next.offset;
    if (joinsPrev && joinsNext) {
      prev.capacity += capacity + next.capacity;
      this.slots.splice(i, 1);
    } else if (joinsPrev) {
      prev.capacity += capacity;
    } else if (joinsNext) {
      next.offset -= capacity;
      next.capacity += capacity;
    } else {
      this.slots.splice(i, 0, { offset, capacity });
    }
  }

  private updateTotsize(newSize: number): void {
    this.openWritable();
    const last = this.slots[this.slots.length - 1];
    if (last !== undefined && last.offset + last.capacity === this.totsize) last.capacity += newSize - this.totsize;
    else this.slots.push({ offset: this.totsize, capacity: newSize - this.totsize });
    this.totsize = newSize;
    fs.ftruncateSync(this.fd!, newSize);
  }

  /**
   * Before the first allocation: slots that overlap list data (Faiss's merge_from leaves one slot
   * over the whole file) are replaced by the gaps between the lists.
   */
  private checkSlots(): void {
    if (this.slotsChecked) return;
    this.slotsChecked = true;
    const used: [number, number][] = [];
    for (let l = 0; l < this.nlist; l++) {
      const bytes = this.capacities[l]! * (8 + this.codeSize);
      if (this.offsets[l] !== INVALID_OFFSET && bytes > 0) used.push([this.offsets[l]!, this.offsets[l]! + bytes]);
    }
    used.sort((a, b) => a[0] - b[0]);
    const overlaps = this.slots.some((s) => {
      let lo = 0;
      let hi = used.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (used[mid]![1] <= s.offset) lo = mid + 1;
        else hi = mid;
      }
      return lo < used.length && used[lo]![0] < s.offset + s.capacity;
    });
    if (!overlaps) return;
    const gaps: OnDiskSlot[] = [];
    let at = 0;
    for (const [b, e] of used) {
      if (b > at) gaps.push({ offset: at, capacity: b - at });
      at = Math.max(at, e);
    }
    if (this.totsize > at) gaps.push({ offset: at, capacity: this.totsize - at });
    this.slots = gaps;
  }

  // ---- search cache -------------------------------------------------------------------------

  /** Reads list l into the cache; false when it does not fit (and overflow is not allowed). */
  private load(listNo: number, overflow: boolean): boolean {
    const n = this.sizes[listNo]!;
    let views: { codes: Uint8Array; ids: BigInt64Array } | undefined;
    try {
      views = this.cache.insert(listNo, n, this.pinned, overflow);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new NotSupportedError('OnDiskInvertedLists', `searching a list this large (${e.message})`, 'each inverted list must fit in one memory segment');
    }
    if (views === undefined) return false;
    try {
      this.readAt(this.offsets[listNo]!, views.codes, `list ${listNo} codes`);
      this.readAt(this.idsOffset(listNo), new Uint8Array(views.ids.buffer, views.ids.byteOffset, views.ids.byteLength), `list ${listNo} ids`);
    } catch (e) {
      this.cache.evict(listNo);
      throw e;
    }
    return true;
  }
}
