/**
 * @module invlists/BlockInvertedLists
 * Faiss's BlockInvertedLists: inverted lists whose codes are FastScan's packed blocks (bbs vectors
 * per block of blockSize = bbs*M2/2 bytes, quantizers/pq4FastScan), the lists of
 * IndexIVFPQFastScan. As ArrayInvertedLists, each list is one block of shared WebAssembly memory
 * (storage/BlockArena), scanned in place by every thread: its packed codes (capacity/bbs blocks,
 * padded to 8 bytes) followed by its int64 ids; the list table (`listTable()`) gives the kernels the
 * segment, codes offset, ids offset and size of each list.
 *
 * Entries are added as ordinary PQ codes (`addCodes`), packed at the end of the list, the first ones
 * into the padding of its last block. `getCodes` returns the packed blocks (ceil(size/bbs) blocks), as
 * Faiss's get_codes does. `codeSize` is the size of an ordinary code (M2/2 bytes); Faiss's own field
 * is INVALID_CODE_SIZE ((size_t)-1), which is what Faiss files hold ("ilbl", io/faiss/fastScan).
 */
import { NotSupportedError } from '../errors.js';
import { pq4PackCodesRange, pq4UnpackCodes } from '../quantizers/pq4FastScan.js';
import { BlockArena, type Block } from '../storage/BlockArena.js';
import { InvertedLists, type ListTable } from './InvertedLists.js';

const pad8 = (v: number): number => Math.ceil(v / 8) * 8;

export class BlockInvertedLists extends InvertedLists {
  /** Vectors per block (Faiss's n_per_block = bbs). */
  readonly nPerBlock: number;
  /** Bytes per block (Faiss's block_size = bbs*M2/2). */
  readonly blockSize: number;
  /** Sub-quantizers per packed code, even. */
  readonly M2: number;
  readonly arena: BlockArena;
  private blocks: (Block | undefined)[];
  /** Capacity of each list in vectors, a multiple of nPerBlock. */
  private capacity: Float64Array;
  private table: Uint32Array;

  /**
   * @param nPerBlock vectors per block (bbs, a multiple of 32)
   * @param blockSize bytes per block: nPerBlock * M2 / 2
   */
  constructor(nlist: number, nPerBlock: number, blockSize: number, options: { maxSegmentBytes?: number } = {}) {
    const M2 = (2 * blockSize) / nPerBlock;
    super(nlist, M2 / 2);
    this.nPerBlock = nPerBlock;
    this.blockSize = blockSize;
    this.M2 = M2;
    this.arena = new BlockArena(options.maxSegmentBytes);
    this.blocks = new Array<Block | undefined>(nlist).fill(undefined);
    this.capacity = new Float64Array(nlist);
    this.table = new Uint32Array(new SharedArrayBuffer(nlist * 16));
  }

  listSize(l: number): number {
    return this.table[l * 4 + 3]!;
  }

  /** Bytes of packed codes of a list of n entries: ceil(n / bbs) blocks. */
  packedBytes(n: number): number {
    return Math.ceil(n / this.nPerBlock) * this.blockSize;
  }

  /** The packed blocks of list l (ceil(size / bbs) * blockSize bytes, a copy). */
  getCodes(l: number): Uint8Array {
    return this.codesView(l).slice();
  }

  getIds(l: number): BigInt64Array {
    const b = this.blocks[l];
    if (b === undefined) return new BigInt64Array(0);
    return new BigInt64Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 2]!, this.listSize(l)).slice();
  }

  override getSingleId(l: number, offset: number): bigint {
    const b = this.blocks[l]!;
    return new BigInt64Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 2]! + offset * 8, 1)[0]!;
  }

  /** Views (no copy) of list l's packed blocks and ids, valid until the list next changes. */
  entriesView(l: number): { codes: Uint8Array; ids: BigInt64Array } {
    const b = this.blocks[l];
    if (b === undefined) return { codes: new Uint8Array(0), ids: new BigInt64Array(0) };
    return { codes: this.codesView(l), ids: new BigInt64Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 2]!, this.listSize(l)) };
  }

  /** The ordinary PQ codes (M2/2 bytes each) of entries [offset, offset + n) of list l. */
  unpackCodes(l: number, offset: number, n: number, M: number): Uint8Array {
    return pq4UnpackCodes(this.codesView(l), this.nPerBlock, M, this.M2, offset, n);
  }

  override prepareAdd(sizes: Uint32Array): void {
    let bytes = 0;
    for (let l = 0; l < this.nlist; l++) {
      const need = this.listSize(l) + sizes[l]!;
      if (sizes[l]! > 0 && need > this.capacity[l]!) bytes += this.blockBytes(this.grownCapacity(l, need));
    }
    if (bytes > 0) this.arena.reserve(bytes);
    for (let l = 0; l < this.nlist; l++) {
      const need = this.listSize(l) + sizes[l]!;
      if (sizes[l]! > 0 && need > this.capacity[l]!) this.grow(l, this.grownCapacity(l, need));
    }
  }

  /**
   * Makes room in one memory for `lists` lists of `entries` entries in all, read one list after the
   * other (a file reader knows the totals first): each list takes whole blocks and ids for them.
   */
  reserveFor(entries: number, lists: number): void {
    if (entries > 0) this.arena.reserve((Math.ceil(entries / this.nPerBlock) + lists) * (pad8(this.blockSize) + this.nPerBlock * 8 + 16));
  }

  /**
   * Appends n entries to list l from ordinary PQ codes (n * codeSize bytes, M sub-codes each): packed
   * at offsets size .. size+n-1 (Faiss's pq4_pack_codes_range). Returns the offset of the first.
   */
  addCodes(l: number, ids: BigInt64Array, codes: Uint8Array, M: number): number {
    const n = ids.length;
    const size = this.listSize(l);
    if (n === 0) return size;
    if (size + n > this.capacity[l]!) this.grow(l, this.grownCapacity(l, size + n));
    const view = this.blockRegion(l, size + n);
    pq4PackCodesRange(codes, M, size, size + n, this.nPerBlock, this.M2, view);
    const b = this.blocks[l]!;
    new BigInt64Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 2]! + size * 8, n).set(ids);
    this.table[l * 4 + 3] = size + n;
    return size;
  }

  /**
   * Faiss's add_entries: n ids and their packed blocks (ceil(n / bbs) * blockSize bytes) as list l,
   * which must be empty (Faiss: "not clear how we should handle subsequent adds").
   */
  addEntries(l: number, ids: BigInt64Array, codes: Uint8Array): number {
    return this.addBlocksWith(l, ids.length, (c, i) => {
      c.set(codes.subarray(0, c.length));
      i.set(ids);
    });
  }

  /**
   * Makes an empty list l of n entries whose packed blocks and ids are written in place by `fill`
   * (views into shared memory, valid during the call): for readers. Returns 0.
   */
  addBlocksWith(l: number, n: number, fill: (codes: Uint8Array, ids: BigInt64Array) => void): number {
    if (this.listSize(l) !== 0) {
      throw new NotSupportedError('BlockInvertedLists', 'adding packed blocks to a non-empty list', 'add ordinary codes with addCodes');
    }
    if (n === 0) return 0;
    if (n > this.capacity[l]!) this.grow(l, this.grownCapacity(l, n));
    const b = this.blocks[l]!;
    fill(this.blockRegion(l, n), new BigInt64Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 2]!, n));
    this.table[l * 4 + 3] = n;
    return 0;
  }

  updateEntries(): void {
    throw new NotSupportedError('BlockInvertedLists', 'updateEntries', 'packed FastScan lists are rewritten with resize and addCodes (as in Faiss, where it is not implemented)');
  }

  /** Shrinks (or grows with zero codes) list l to newSize entries; the codes past newSize are zeroed. */
  resize(l: number, newSize: number): void {
    const size = this.listSize(l);
    if (newSize > this.capacity[l]!) this.grow(l, newSize);
    if (newSize < size) {
      // zero the packed codes of the dropped entries: the next add ORs its nibbles into them
      const view = this.blockRegion(l, size);
      const keep = this.unpackAll(l, newSize);
      view.fill(0);
      pq4PackCodesRange(keep, this.M2, 0, newSize, this.nPerBlock, this.M2, view);
    }
    this.table[l * 4 + 3] = newSize;
    if (newSize === 0 && this.blocks[l] !== undefined) {
      this.arena.free(this.blocks[l]!);
      this.blocks[l] = undefined;
      this.capacity[l] = 0;
      this.table.fill(0, l * 4, l * 4 + 4);
    }
  }

  reset(): void {
    this.arena.reset();
    this.blocks.fill(undefined);
    this.capacity.fill(0);
    this.table.fill(0);
  }

  listTable(): ListTable {
    return { memories: this.arena.segments.map((s) => s.memory), table: this.table };
  }

  /** Appends all of other's entries (ids shifted by addId), repacked; other is emptied. */
  override mergeFrom(other: InvertedLists, addId: bigint): void {
    if (!(other instanceof BlockInvertedLists) || other.nPerBlock !== this.nPerBlock || other.blockSize !== this.blockSize) {
      throw new NotSupportedError('BlockInvertedLists', 'merging lists of another layout', `both must have bbs = ${this.nPerBlock} and block size ${this.blockSize}`);
    }
    for (let l = 0; l < this.nlist; l++) {
      const n = other.listSize(l);
      if (n === 0) continue;
      const ids = other.getIds(l);
      if (addId !== 0n) for (let i = 0; i < n; i++) ids[i]! += addId;
      this.addCodes(l, ids, other.unpackAll(l, n), this.M2);
      other.resize(l, 0);
    }
  }

  /**
   * Reclaims the space of lists that grew, when it exceeds a quarter of the live data, and gathers
   * lists spread over several memories into one when they fit (IVF FastScan batches scan lists in
   * one memory list by list).
   */
  override compactIfWorthIt(): void {
    if (!this.arena.shouldCompact && !this.arena.shouldGather) return;
    const lists: number[] = [];
    const blocks: Block[] = [];
    this.blocks.forEach((b, l) => {
      if (b !== undefined) {
        lists.push(l);
        blocks.push(b);
      }
    });
    const moved = this.arena.compact(blocks);
    lists.forEach((l, i) => this.place(l, moved[i]!, this.capacity[l]!));
  }

  /** Bytes of memory the lists occupy (live blocks). */
  get bytes(): number {
    return this.arena.liveBytes;
  }

  /** The first n entries of list l as ordinary codes of M2 sub-codes. */
  private unpackAll(l: number, n: number): Uint8Array {
    return pq4UnpackCodes(this.codesView(l), this.nPerBlock, this.M2, this.M2, 0, n);
  }

  private codesView(l: number): Uint8Array {
    const b = this.blocks[l];
    if (b === undefined) return new Uint8Array(0);
    return new Uint8Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 1]!, this.packedBytes(this.listSize(l)));
  }

  /** The packed blocks that hold entries [0, n) of list l (n <= capacity), in place. */
  private blockRegion(l: number, n: number): Uint8Array {
    const b = this.blocks[l]!;
    return new Uint8Array(this.arena.memory(b.seg).buffer, this.table[l * 4 + 1]!, this.packedBytes(n));
  }

  private blockBytes(capacity: number): number {
    return pad8(this.packedBytes(capacity)) + capacity * 8;
  }

  private grownCapacity(l: number, need: number): number {
    const cap = this.capacity[l]!;
    const want = cap === 0 ? need : Math.max(need, Math.ceil(cap * 1.5));
    return Math.ceil(want / this.nPerBlock) * this.nPerBlock;
  }

  private grow(l: number, capacity: number): void {
    capacity = Math.ceil(capacity / this.nPerBlock) * this.nPerBlock;
    const old = this.blocks[l];
    const size = this.listSize(l);
    const block = this.arena.alloc(this.blockBytes(capacity));
    const dst = this.arena.memory(block.seg).buffer;
    const codeBytes = pad8(this.packedBytes(capacity));
    new Uint8Array(dst, block.offset, codeBytes).fill(0);
    if (old !== undefined) {
      const src = this.arena.memory(old.seg).buffer;
      new Uint8Array(dst, block.offset, this.packedBytes(size)).set(new Uint8Array(src, this.table[l * 4 + 1]!, this.packedBytes(size)));
      new Uint8Array(dst, block.offset + codeBytes, size * 8).set(new Uint8Array(src, this.table[l * 4 + 2]!, size * 8));
      this.arena.free(old);
    }
    this.place(l, block, capacity);
  }

  private place(l: number, block: Block, capacity: number): void {
    this.blocks[l] = block;
    this.capacity[l] = capacity;
    this.table[l * 4] = block.seg;
    this.table[l * 4 + 1] = block.offset;
    this.table[l * 4 + 2] = block.offset + pad8(this.packedBytes(capacity));
  }
}
