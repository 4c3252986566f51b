/**
 * @module invlists/ArrayInvertedLists
 * Inverted lists in memory, as Faiss's ArrayInvertedLists, but kept in shared WebAssembly memory
 * (storage/BlockArena) so that every thread's kernels scan them in place. Each list is one block:
 * its codes (capacity * codeSize bytes, padded to 8) followed by its int64 ids (capacity * 8).
 */
import { BlockArena, type Block } from '../storage/BlockArena.js';
import { InvertedLists, type ListTable } from './InvertedLists.js';

const pad8 = (v: number): number => Math.ceil(v / 8) * 8;

export class ArrayInvertedLists extends InvertedLists {
  readonly arena: BlockArena;
  private blocks: (Block | undefined)[];
  private capacity: Uint32Array;
  private table: Uint32Array;

  constructor(nlist: number, codeSize: number, options: { maxSegmentBytes?: number } = {}) {
    super(nlist, codeSize);
    this.arena = new BlockArena(options.maxSegmentBytes);
    this.blocks = new Array<Block | undefined>(nlist).fill(undefined);
    this.capacity = new Uint32Array(nlist);
    this.table = new Uint32Array(new SharedArrayBuffer(nlist * 16));
  }

  listSize(l: number): number {
    return this.table[l * 4 + 3]!;
  }

  getCodes(l: number): Uint8Array {
    const b = this.blocks[l];
    if (b === undefined) return new Uint8Array(0);
    return new Uint8Array(this.arena.memory(b.seg).buffer, b.offset, this.listSize(l) * this.codeSize).slice();
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

  addEntries(l: number, ids: BigInt64Array, codes: Uint8Array): number {
    const n = ids.length;
    const size = this.listSize(l);
    if (n === 0) return size;
    if (size + n > this.capacity[l]!) this.grow(l, this.grownCapacity(l, size + n));
    this.write(l, size, ids, codes);
    this.table[l * 4 + 3] = size + n;
    return size;
  }

  /**
   * Appends n entries to list l, written in place by `fill`: it receives views of the n new codes
   * (n * codeSize bytes) and ids (n int64) inside the list's shared memory, so bulk loaders (file
   * readers) copy each byte once. The list's size grows only once `fill` returns; the views are valid
   * during the call only. Call prepareAdd with every list's size first to allocate them in one segment.
   * @returns the offset of the first new entry.
   */
  addEntriesWith(l: number, n: number, fill: (codes: Uint8Array, ids: BigInt64Array) => void): number {
    const size = this.listSize(l);
    if (n === 0) return size;
    if (size + n > this.capacity[l]!) this.grow(l, this.grownCapacity(l, size + n));
    const buf = this.arena.memory(this.blocks[l]!.seg).buffer;
    fill(
      new Uint8Array(buf, this.table[l * 4 + 1]! + size * this.codeSize, n * this.codeSize),
      new BigInt64Array(buf, this.table[l * 4 + 2]! + size * 8, n),
    );
    this.table[l * 4 + 3] = size + n;
    return size;
  }

  /**
   * Views (no copy) of list l's codes (listSize * codeSize bytes) and ids (listSize int64) in shared
   * memory, valid until the list is next changed; for writers of big lists. getCodes/getIds copy.
   */
  entriesView(l: number): { codes: Uint8Array; ids: BigInt64Array } {
    const b = this.blocks[l];
    if (b === undefined) return { codes: new Uint8Array(0), ids: new BigInt64Array(0) };
    const buf = this.arena.memory(b.seg).buffer;
    const n = this.listSize(l);
    return { codes: new Uint8Array(buf, this.table[l * 4 + 1]!, n * this.codeSize), ids: new BigInt64Array(buf, this.table[l * 4 + 2]!, n) };
  }

  updateEntries(l: number, offset: number, ids: BigInt64Array, codes: Uint8Array): void {
    if (offset + ids.length > this.listSize(l)) throw new RangeError(`updateEntries past the end of list ${l}`);
    this.write(l, offset, ids, codes);
  }

  resize(l: number, newSize: number): void {
    if (newSize > this.listSize(l)) {
      if (newSize > this.capacity[l]!) this.grow(l, newSize);
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

  /** Reclaims the space of lists that grew, when it exceeds the live data. */
  override compactIfWorthIt(): void {
    if (!this.arena.shouldCompact) return;
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

  private blockBytes(capacity: number): number {
    return pad8(capacity * this.codeSize) + capacity * 8;
  }

  private grownCapacity(l: number, need: number): number {
    const cap = this.capacity[l]!;
    return cap === 0 ? need : Math.max(need, Math.ceil(cap * 1.5));
  }

  private grow(l: number, capacity: number): void {
    const old = this.blocks[l];
    const size = this.listSize(l);
    const block = this.arena.alloc(this.blockBytes(capacity));
    if (old !== undefined) {
      const src = this.arena.memory(old.seg).buffer;
      const dst = this.arena.memory(block.seg).buffer;
      new Uint8Array(dst, block.offset, size * this.codeSize).set(new Uint8Array(src, old.offset, size * this.codeSize));
      new Uint8Array(dst, block.offset + pad8(capacity * this.codeSize), size * 8).set(
        new Uint8Array(src, this.table[l * 4 + 2]!, size * 8),
      );
      this.arena.free(old);
    }
    this.place(l, block, capacity);
  }

  private place(l: number, block: Block, capacity: number): void {
    this.blocks[l] = block;
    this.capacity[l] = capacity;
    this.table[l * 4] = block.seg;
    this.table[l * 4 + 1] = block.offset;
    this.table[l * 4 + 2] = block.offset + pad8(capacity * this.codeSize);
  }

  private write(l: number, offset: number, ids: BigInt64Array, codes: Uint8Array): void {
    const b = this.blocks[l]!;
    const buf = this.arena.memory(b.seg).buffer;
    const n = ids.length;
    new Uint8Array(buf, this.table[l * 4 + 1]! + offset * this.codeSize, n * this.codeSize).set(codes.subarray(0, n * this.codeSize));
    new BigInt64Array(buf, this.table[l * 4 + 2]! + offset * 8, n).set(ids);
  }
}
