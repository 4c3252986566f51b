/**
 * @module storage/BlockArena
 * Variable-size blocks (inverted lists) in a list of shared-memory Segments, so that lists are
 * scanned in place by the kernels, on any thread, and the total is not bounded by one wasm32 memory.
 *
 * Allocation is a bump pointer per segment; freed blocks become garbage that `compact()` reclaims
 * by moving the live blocks into fresh segments. `reserve(bytes)` lets a bulk add size the next
 * segment for everything it is about to write, so that one big add fills one segment exactly.
 * Blocks spread over several segments that would fit one are gathered into one (`shouldGather`),
 * with room for the adds that follow: a kernel then reaches every list in one memory.
 */
import { MAX_DATA_BYTES, Segment } from './Segment.js';

/** Where a block lives: segment number and byte offset in that segment's memory. */
export interface Block {
  seg: number;
  offset: number;
  bytes: number;
}

const ALIGN = 16;
const MIN_SEGMENT_BYTES = 1 << 20;
export const DEFAULT_ARENA_SEGMENT_BYTES = 2 * 1024 * 1024 * 1024;

const align = (v: number): number => Math.ceil(v / ALIGN) * ALIGN;

/**
 * Room a compaction leaves after the live blocks, as a fraction of them: the next adds fill it
 * before a new segment is needed (pages not yet written cost no memory), so gathering copies each
 * live byte again only after half as many bytes were allocated.
 */
const COMPACT_ROOM = 0.5;

export class BlockArena {
  readonly segments: Segment[] = [];
  /** Next free byte (absolute offset in the memory) of each segment. */
  private tops: number[] = [];
  /** Bytes in live blocks. */
  liveBytes = 0;

  constructor(readonly maxSegmentBytes = DEFAULT_ARENA_SEGMENT_BYTES) {}

  /** Bytes allocated in segments, live or garbage. */
  get usedBytes(): number {
    let s = 0;
    this.segments.forEach((seg, i) => (s += this.tops[i]! - seg.dataOffset));
    return s;
  }

  /** Makes sure the next `bytes` of allocations fit in the last segment (creating one if not). */
  reserve(bytes: number): void {
    const last = this.segments.length - 1;
    if (last >= 0 && this.segments[last]!.dataOffset + this.segments[last]!.dataBytes - this.tops[last]! >= bytes) return;
    const prev = last >= 0 ? this.segments[last]!.dataBytes : 0;
    const size = Math.min(this.limit(), Math.max(align(bytes), MIN_SEGMENT_BYTES, prev * 2));
    this.addSegment(size);
  }

  alloc(bytes: number): Block {
    const need = align(Math.max(bytes, ALIGN));
    if (need > this.limit()) {
      throw new RangeError(`one inverted list of ${need} bytes exceeds the ${this.limit()} bytes of a storage segment`);
    }
    let last = this.segments.length - 1;
    if (last < 0 || this.tops[last]! + need > this.segments[last]!.dataOffset + this.segments[last]!.dataBytes) {
      this.reserve(need);
      last = this.segments.length - 1;
    }
    const offset = this.tops[last]!;
    this.tops[last] = offset + need;
    this.liveBytes += need;
    return { seg: last, offset, bytes: need };
  }

  free(block: Block): void {
    this.liveBytes -= block.bytes;
  }

  /** The bytes of a block. */
  view(block: Block): Uint8Array {
    return new Uint8Array(this.segments[block.seg]!.memory.buffer, block.offset, block.bytes);
  }

  memory(seg: number): WebAssembly.Memory {
    return this.segments[seg]!.memory;
  }

  /**
   * Moves the given live blocks into fresh segments (one, when they fit, with COMPACT_ROOM to grow)
   * and drops the old ones; returns the new blocks in the same order. Worth it when garbage exceeds
   * a quarter of the live bytes (`shouldCompact`), or when the blocks are spread over segments that
   * one could hold (`shouldGather`).
   */
  compact(blocks: Block[]): Block[] {
    const old = this.segments.slice();
    const oldArena = { segments: old };
    this.segments.length = 0;
    this.tops.length = 0;
    this.liveBytes = 0;
    const total = blocks.reduce((s, b) => s + b.bytes, 0);
    if (total > 0) this.reserve(Math.min(align(total * (1 + COMPACT_ROOM)), this.limit()));
    return blocks.map((b) => {
      const nb = this.alloc(b.bytes);
      this.view(nb).set(new Uint8Array(oldArena.segments[b.seg]!.memory.buffer, b.offset, b.bytes));
      return nb;
    });
  }

  /** True when garbage exceeds a quarter of the live data (and there is enough to bother). */
  get shouldCompact(): boolean {
    const used = this.usedBytes;
    return used > 16 * MIN_SEGMENT_BYTES && used - this.liveBytes > this.liveBytes / 4;
  }

  /** True when the live blocks sit in several segments and would fit one, with its room to grow. */
  get shouldGather(): boolean {
    return this.segments.length > 1 && align(this.liveBytes * (1 + COMPACT_ROOM)) <= this.limit();
  }

  reset(): void {
    this.segments.length = 0;
    this.tops.length = 0;
    this.liveBytes = 0;
  }

  private limit(): number {
    return Math.min(this.maxSegmentBytes, MAX_DATA_BYTES);
  }

  private addSegment(bytes: number): void {
    const seg = new Segment(bytes);
    this.segments.push(seg);
    this.tops.push(seg.dataOffset);
  }
}
