/**
 * @module search/exhaustive
 * Exact k-NN and range search of a range of queries against vectors kept in segments: what
 * IndexFlat runs on each thread. Like Faiss, fewer than BLAS_THRESHOLD queries are scanned with
 * direct distances, one query at a time (memory-bound); larger blocks go through the tiled inner
 * product kernel with ||q||^2 + ||y||^2 - 2<q,y> (compute-bound).
 *
 * Every function here runs on any thread: segments are described by SegmentRef (a shared memory and
 * where its vectors are), and the caller says which scratch slot (thread number) to use.
 */
import { Heap } from '../kernels/reference.js';
import { kernelsFor } from '../kernels/wasm.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';

/** Faiss's distance_compute_blas_threshold: from this many queries on, use the blocked kernel. */
export const BLAS_THRESHOLD = 20;
const TMP_1Q = 256 * 4;
const MAX_QUERY_BLOCK = 256;

/** What a thread needs to know of a segment. */
export interface SegmentRef {
  memory: WebAssembly.Memory;
  dataOffset: number;
  count: number;
}

export interface KnnTask {
  metric: number; // 1 = L2, 0 = inner product
  d: number;
  k: number;
  segments: SegmentRef[];
  /** queries, n*d floats */
  x: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Vectors per block of the batched kernel: a multiple of 8, its packed copy within a quarter slot. */
export function vectorBlock(d: number): number {
  return Math.max(8, Math.min(256, Math.floor(SLOT_BYTES / 4 / (d * 4) / 8) * 8));
}

/** Queries per block that fit one scratch slot (0 when not even one fits: use the fallback). */
function queryBlock(d: number, k: number, batch: boolean): number {
  const yb = vectorBlock(d);
  const perQuery = d * 4 + k * 12 + (batch ? 4 + yb * 4 : 0) + 32;
  const fixed = batch ? yb * 4 + yb * d * 4 + 128 : TMP_1Q + 64;
  return Math.min(MAX_QUERY_BLOCK, Math.max(0, Math.floor((SLOT_BYTES - fixed) / perQuery)));
}

/** Runs queries [q0, q1) of the task on scratch slot `slot`. */
export function knnRange(task: KnnTask, q0: number, q1: number, slot: number): void {
  const { d, k, metric, segments } = task;
  const isMax = metric === 1 ? 1 : 0;
  const batch = q1 - q0 >= BLAS_THRESHOLD;
  const qb = queryBlock(d, k, batch);
  if (qb === 0 || segments.length === 0) {
    knnFallback(task, q0, q1);
    return;
  }
  const yb = vectorBlock(d);
  const base = Segment.slotOffset(slot);
  for (let b0 = q0; b0 < q1; b0 += qb) {
    const nq = Math.min(qb, q1 - b0);
    const Qp = base;
    const HDp = align(Qp + nq * d * 4, 16);
    const HIp = align(HDp + nq * k * 4, 16);
    const TMPp = align(HIp + nq * k * 8, 16);
    let idBase = 0n;
    let prev: SegmentRef | undefined;
    for (const seg of segments) {
      const kern = kernelsFor(seg.memory);
      const buf = seg.memory.buffer;
      new Float32Array(buf, Qp, nq * d).set(task.x.subarray(b0 * d, (b0 + nq) * d));
      if (prev === undefined) {
        kern.heap_heapify(isMax, nq, k, HDp, HIp);
      } else {
        // continue the heaps of the previous segment
        new Uint8Array(buf, HDp, TMPp - HDp).set(new Uint8Array(prev.memory.buffer, HDp, TMPp - HDp));
      }
      if (batch) {
        kern.knn_batch(metric, Qp, nq, seg.dataOffset, d, seg.count, k, HDp, HIp, idBase, 0, TMPp, yb);
      } else {
        for (let i = 0; i < nq; i++) {
          kern.knn_1q(metric, Qp + i * d * 4, seg.dataOffset, d, seg.count, k, HDp + i * k * 4, HIp + i * k * 8, idBase, TMPp);
        }
      }
      idBase += BigInt(seg.count);
      prev = seg;
    }
    const last = prev!;
    kernelsFor(last.memory).heap_reorder(isMax, nq, k, HDp, HIp);
    task.distances.set(new Float32Array(last.memory.buffer, HDp, nq * k), b0 * k);
    task.labels.set(new BigInt64Array(last.memory.buffer, HIp, nq * k), b0 * k);
  }
}

/** Very large k (the heaps do not fit a scratch slot), or no vectors: the TypeScript path. */
function knnFallback(task: KnnTask, q0: number, q1: number): void {
  const { d, k, metric, segments, x } = task;
  for (let i = q0; i < q1; i++) {
    const h = new Heap(k, metric === 1);
    let idBase = 0;
    for (const seg of segments) {
      const y = new Float32Array(seg.memory.buffer, seg.dataOffset, seg.count * d);
      for (let j = 0; j < seg.count; j++) {
        let s = 0;
        if (metric === 1) {
          for (let t = 0; t < d; t++) {
            const u = x[i * d + t]! - y[j * d + t]!;
            s += u * u;
          }
        } else {
          for (let t = 0; t < d; t++) s += x[i * d + t]! * y[j * d + t]!;
        }
        h.push(Math.fround(s), BigInt(idBase + j));
      }
      idBase += seg.count;
    }
    const r = h.reorder();
    task.distances.set(r.dis, i * k);
    task.labels.set(r.ids, i * k);
  }
}

export interface RangeTask {
  metric: number;
  d: number;
  radius: number;
  segments: SegmentRef[];
  x: Float32Array;
}

const RANGE_CHUNK = 65536;

/** Range search of queries [q0, q1): per query, positions and distances within the radius. */
export function rangeRange(task: RangeTask, q0: number, q1: number, slot: number): { ids: number[]; dis: number[] }[] {
  const { d, metric, segments, radius } = task;
  const base = Segment.slotOffset(slot);
  const Qp = base;
  const IDXp = align(Qp + d * 4, 16);
  const DISp = IDXp + RANGE_CHUNK * 4;
  const TMPp = DISp + RANGE_CHUNK * 4;
  if (TMPp + TMP_1Q > base + SLOT_BYTES) throw new RangeError(`rangeSearch: d = ${d} is too large for a scratch slot`);
  const out: { ids: number[]; dis: number[] }[] = [];
  for (let i = q0; i < q1; i++) {
    const ids: number[] = [];
    const dis: number[] = [];
    let idBase = 0;
    for (const seg of segments) {
      const kern = kernelsFor(seg.memory);
      const buf = seg.memory.buffer;
      new Float32Array(buf, Qp, d).set(task.x.subarray(i * d, (i + 1) * d));
      for (let j0 = 0; j0 < seg.count; j0 += RANGE_CHUNK) {
        const nb = Math.min(RANGE_CHUNK, seg.count - j0);
        const m = kern.range_1q(metric, Qp, seg.dataOffset + j0 * d * 4, d, nb, radius, IDXp, DISp, TMPp);
        const idx = new Int32Array(buf, IDXp, m);
        const dv = new Float32Array(buf, DISp, m);
        for (let r = 0; r < m; r++) {
          ids.push(idBase + j0 + idx[r]!);
          dis.push(dv[r]!);
        }
      }
      idBase += seg.count;
    }
    out.push({ ids, dis });
  }
  return out;
}
