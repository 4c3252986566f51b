/**
 * @module storage/VectorStore
 * Float vectors of one dimension kept in a list of Segments (shared WebAssembly memories), so that a
 * store is bounded by the machine's memory, not by one wasm32 memory's 4 GiB. Vector i lives in the
 * segment whose range covers i; segments fill in order.
 *
 * Growth: a new segment is sized for what is being added and at least twice the previous one (so
 * that many small adds make few segments), and at most `maxSegmentBytes` of vectors.
 */
import { VectorSegment } from './Segment.js';

/** Default bytes of vectors per segment: 2 GiB. */
export const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024 * 1024;
const MIN_CAPACITY = 1024;

export class VectorStore {
  readonly segments: VectorSegment[] = [];
  ntotal = 0;

  constructor(
    readonly d: number,
    /** Bytes of vectors per segment at most (tests lower it to exercise several segments). */
    readonly maxSegmentBytes = DEFAULT_SEGMENT_BYTES,
  ) {}

  /** Appends n vectors (x: n*d floats). */
  add(x: Float32Array, onProgress?: (done: number) => void): void {
    const d = this.d;
    const n = x.length / d;
    let done = 0;
    while (done < n) {
      let seg = this.segments[this.segments.length - 1];
      if (seg === undefined || seg.count === seg.capacity) {
        const maxCap = VectorSegment.maxCapacity(d, this.maxSegmentBytes);
        const want = Math.max(n - done, seg ? seg.capacity * 2 : MIN_CAPACITY);
        seg = new VectorSegment(d, Math.min(maxCap, want));
        this.segments.push(seg);
      }
      const m = Math.min(n - done, seg.capacity - seg.count);
      new Float32Array(seg.memory.buffer, seg.vectorOffset(seg.count), m * d).set(x.subarray(done * d, (done + m) * d));
      seg.count += m;
      done += m;
      this.ntotal += m;
      onProgress?.(done);
    }
  }

  /** Makes room for n more vectors, so that adding them creates at most ceil(n / max capacity) segments. */
  reserve(n: number): void {
    const last = this.segments[this.segments.length - 1];
    const free = last ? last.capacity - last.count : 0;
    if (n <= free) return;
    const cap = Math.min(VectorSegment.maxCapacity(this.d, this.maxSegmentBytes), n - free);
    if (last && last.count === 0) this.segments.pop();
    this.segments.push(new VectorSegment(this.d, Math.max(cap, last && last.count === 0 ? 0 : 1)));
  }

  /** The segment holding vector i and i's position in it. */
  locate(i: number): { segment: VectorSegment; local: number; base: number } {
    let base = 0;
    for (const segment of this.segments) {
      if (i < base + segment.count) return { segment, local: i - base, base };
      base += segment.count;
    }
    throw new RangeError(`vector ${i} out of range (ntotal = ${this.ntotal})`);
  }

  /** Copies vectors i0 .. i0+n-1 into out (n*d floats). */
  copyOut(i0: number, n: number, out = new Float32Array(n * this.d)): Float32Array {
    const d = this.d;
    let base = 0;
    let written = 0;
    for (const seg of this.segments) {
      const lo = Math.max(i0, base);
      const hi = Math.min(i0 + n, base + seg.count);
      if (lo < hi) {
        out.set(new Float32Array(seg.memory.buffer, seg.vectorOffset(lo - base), (hi - lo) * d), written * d);
        written += hi - lo;
      }
      base += seg.count;
      if (base >= i0 + n) break;
    }
    return out;
  }

  /** Keeps the vectors where keep[i] is true, in order (Faiss's order-preserving remove_ids). */
  compact(keep: (i: number) => boolean): number {
    const d = this.d;
    let dst = 0;
    let src = 0;
    const segs = this.segments;
    let ds = 0;
    let dl = 0;
    for (const seg of segs) {
      const view = new Float32Array(seg.memory.buffer, seg.dataOffset, seg.count * d);
      for (let l = 0; l < seg.count; l++, src++) {
        if (!keep(src)) continue;
        if (dst !== src) {
          const target = segs[ds]!;
          new Float32Array(target.memory.buffer, target.vectorOffset(dl), d).set(view.subarray(l * d, l * d + d));
        }
        dst++;
        dl++;
        if (dl === segs[ds]!.count) {
          ds++;
          dl = 0;
        }
      }
    }
    const removed = this.ntotal - dst;
    // recount: segments fill in order
    let left = dst;
    for (const seg of segs) {
      seg.count = Math.min(seg.count, left);
      left -= seg.count;
    }
    while (segs.length > 0 && segs[segs.length - 1]!.count === 0) segs.pop();
    this.ntotal = dst;
    return removed;
  }

  /** Removes every vector; the first segment is kept for reuse (as a cleared std::vector keeps its capacity). */
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
