/**
 * @module storage/CodeStore
 * Fixed-size byte codes (codeSize bytes per vector: scalar-quantized, PQ, ...) kept in a list of
 * Segments (shared WebAssembly memories): code i lives in the segment
 * whose range covers i, segments fill in order, so that the kernels scan codes in place on any
 * thread and a store is not bounded by one wasm32 memory's 4 GiB. Faiss's IndexFlatCodes storage.
 *
 * Growth: a new segment is sized for what is being added and at least twice the previous one, and
 * at most `maxSegmentBytes` of codes.
 */
import { MAX_DATA_BYTES, Segment } from './Segment.js';

/** Default bytes of codes per segment: 2 GiB. */
export const DEFAULT_CODE_SEGMENT_BYTES = 2 * 1024 * 1024 * 1024;
const MIN_CAPACITY = 1024;

/** A segment holding codes of codeSize bytes, filled in order. */
export class CodeSegment extends Segment {
  /** Codes that fit. */
  readonly capacity: number;
  /** Codes stored. */
  count = 0;

  constructor(
    readonly codeSize: number,
    capacity: number,
  ) {
    super(capacity * codeSize);
    this.capacity = capacity;
  }

  /** Largest capacity (in codes) a segment may have under maxDataBytes. */
  static maxCapacity(codeSize: number, maxDataBytes: number): number {
    return Math.max(1, Math.floor(Math.min(maxDataBytes, MAX_DATA_BYTES) / codeSize));
  }

  /** Byte offset of code i. */
  codeOffset(i: number): number {
    return this.dataOffset + i * this.codeSize;
  }
}

export class CodeStore {
  readonly segments: CodeSegment[] = [];
  ntotal = 0;

  constructor(
    readonly codeSize: number,
    /** Bytes of codes per segment at most (tests lower it to exercise several segments). */
    readonly maxSegmentBytes = DEFAULT_CODE_SEGMENT_BYTES,
  ) {
    if (!Number.isInteger(codeSize) || codeSize <= 0) throw new RangeError(`CodeStore: codeSize must be a positive integer, got ${codeSize}`);
  }

  /** Appends n codes (n*codeSize bytes). */
  add(codes: Uint8Array): void {
    const cs = this.codeSize;
    const n = Math.floor(codes.length / cs);
    let done = 0;
    while (done < n) {
      let seg = this.segments[this.segments.length - 1];
      if (seg === undefined || seg.count === seg.capacity) {
        const maxCap = CodeSegment.maxCapacity(cs, this.maxSegmentBytes);
        const want = Math.max(n - done, seg ? seg.capacity * 2 : MIN_CAPACITY);
        seg = new CodeSegment(cs, Math.min(maxCap, want));
        this.segments.push(seg);
      }
      const m = Math.min(n - done, seg.capacity - seg.count);
      new Uint8Array(seg.memory.buffer, seg.codeOffset(seg.count), m * cs).set(codes.subarray(done * cs, (done + m) * cs));
      seg.count += m;
      done += m;
      this.ntotal += m;
    }
  }

  /** Makes room for n more codes: the next adds of up to n codes fill one new segment (when they fit one). */
  reserve(n: number): void {
    const last = this.segments[this.segments.length - 1];
    const free = last ? last.capacity - last.count : 0;
    if (n <= free) return;
    if (last && last.count === 0) this.segments.pop();
    // adds fill the last segment only: the new one takes all n
    this.segments.push(new CodeSegment(this.codeSize, Math.max(1, Math.min(CodeSegment.maxCapacity(this.codeSize, this.maxSegmentBytes), n))));
  }

  /** Copies codes i0 .. i0+n-1 into out (n*codeSize bytes). */
  copyOut(i0: number, n: number, out = new Uint8Array(n * this.codeSize)): Uint8Array {
    const cs = this.codeSize;
    let base = 0;
    let written = 0;
    for (const seg of this.segments) {
      const lo = Math.max(i0, base);
      const hi = Math.min(i0 + n, base + seg.count);
      if (lo < hi) {
        out.set(new Uint8Array(seg.memory.buffer, seg.codeOffset(lo - base), (hi - lo) * cs), written * cs);
        written += hi - lo;
      }
      base += seg.count;
      if (base >= i0 + n) break;
    }
    return out;
  }

  /** Keeps the codes where keep(i) is true, in order (Faiss's order-preserving remove_ids); returns how many were removed. */
  compact(keep: (i: number) => boolean): number {
    const cs = this.codeSize;
    const segs = this.segments;
    let kept = 0;
    let ds = 0; // destination segment and position
    let dl = 0;
    let src = 0;
    for (const seg of segs) {
      const count = seg.count;
      for (let l = 0; l < count; l++, src++) {
        if (!keep(src)) continue;
        while (dl === segs[ds]!.capacity) {
          ds++;
          dl = 0;
        }
        const target = segs[ds]!;
        if (target !== seg || dl !== l) {
          new Uint8Array(target.memory.buffer, target.codeOffset(dl), cs).set(new Uint8Array(seg.memory.buffer, seg.codeOffset(l), cs));
        }
        dl++;
        kept++;
      }
    }
    const removed = this.ntotal - kept;
    // segments fill in order: recount up to their capacities
    let left = kept;
    for (const seg of segs) {
      seg.count = Math.min(seg.capacity, left);
      left -= seg.count;
    }
    while (segs.length > 0 && segs[segs.length - 1]!.count === 0) segs.pop();
    this.ntotal = kept;
    return removed;
  }

  /** Removes every code; the first segment is kept for reuse (as a cleared std::vector keeps its capacity). */
  reset(): void {
    this.segments.length = Math.min(this.segments.length, 1);
    if (this.segments.length === 1) this.segments[0]!.count = 0;
    this.ntotal = 0;
  }

  /** Releases every segment. */
  release(): void {
    this.segments.length = 0;
    this.ntotal = 0;
  }
}
