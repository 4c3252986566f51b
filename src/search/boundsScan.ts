/**
 * @module search/boundsScan
 * The per-thread part of exact L2 k-NN with projected lower bounds (search/ProjectedL2Bounds has
 * the method and builds the projections). For a block of queries, in the projections' memory:
 * the bounds against every stored vector and the k smallest of each query (`bounds_block`); in the
 * full vectors' memory: the exact distances of those k, whose k-th is a threshold tau >= the true
 * k-th distance; back in the projections' memory: every vector whose bound is under tau (plus a
 * rounding margin, `bounds_select`); in the full vectors' memory: the exact k best of those
 * (`bounds_refine`). No vector outside the candidates can be closer than tau, so the result is
 * that of a full scan.
 *
 * Runs on any thread: the memories are described by refs, the caller says which scratch slot
 * (thread number) to use in both.
 */
import { kernelsFor } from '../kernels/wasm.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';

export interface BoundsTask {
  /** dimension of the full vectors */
  d: number;
  /** dimension of the projections (r + 1) */
  rb: number;
  k: number;
  /** stored vectors */
  ny: number;
  /** the projections' memory: packed projections at `packed`, their squared norms at `norms` */
  low: { memory: WebAssembly.Memory; packed: number; norms: number };
  /** the full vectors' memory and where they start (one segment) */
  full: { memory: WebAssembly.Memory; dataOffset: number };
  /** projected queries, n*rb floats */
  xLow: Float32Array;
  /** queries, n*d floats */
  x: Float32Array;
  /** per query, the margin added to tau: n floats */
  slack: Float32Array;
  /** relative margin on tau */
  relSlack: number;
  /** output, n*k */
  distances: Float32Array;
  /** output, n*k */
  labels: BigInt64Array;
  /** output, per slot: candidates whose exact distance was computed */
  candidates: Float64Array;
}

const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/** Most queries in a block. */
const MAX_QUERY_BLOCK = 64;

/**
 * Candidate ids a block may hold at once: its queries' k smallest bounds (whose exact distances
 * give the thresholds), then at least one query's candidates (up to ny).
 */
export function boundsCap(ny: number, k: number): number {
  return Math.max(2 * ny, MAX_QUERY_BLOCK * k);
}

/** Queries per block that fit both memories' slots (0: none fits). */
export function boundsQueryBlock(d: number, rb: number, k: number, ny: number): number {
  const cap = boundsCap(ny, k);
  const low = Math.floor((SLOT_BYTES - cap * 8 - 256) / (rb * 4 + 12 + k * 12 + ny * 4 + 64));
  const full = Math.floor((SLOT_BYTES - cap * 8 - ny * 4 - 256) / (d * 4 + k * 12 + 64));
  return Math.max(0, Math.min(MAX_QUERY_BLOCK, low, full));
}

/** Runs queries [q0, q1) of the task on scratch slot `slot`. */
export function boundsRange(task: BoundsTask, q0: number, q1: number, slot: number): void {
  const { d, rb, k, ny, relSlack } = task;
  const qb = boundsQueryBlock(d, rb, k, ny);
  if (qb === 0) throw new Error('boundsRange: a query does not fit a scratch slot');
  const cap = boundsCap(ny, k);
  const kl = kernelsFor(task.low.memory);
  const kf = kernelsFor(task.full.memory);
  const base = Segment.slotOffset(slot);
  // the projections' memory
  const Qp = base;
  const QNp = align16(Qp + qb * rb * 4);
  const HDp = align16(QNp + qb * 4);
  const HIp = align16(HDp + qb * k * 4);
  const THRp = align16(HIp + qb * k * 8);
  const LIMp = align16(THRp + qb * 4);
  const IDp = align16(LIMp + (qb + 1) * 4);
  const Bp = align16(IDp + cap * 8);
  // the full vectors' memory
  const Xp = base;
  const FHDp = align16(Xp + qb * d * 4);
  const FHIp = align16(FHDp + qb * k * 4);
  const FLIMp = align16(FHIp + qb * k * 8);
  const FIDp = align16(FLIMp + (qb + 1) * 4);
  const DISp = align16(FIDp + cap * 8);
  let candidates = 0;
  // a shared memory's `buffer` is a new object at each access (a call into the runtime): read once
  const lbuf = task.low.memory.buffer;
  const fbuf = task.full.memory.buffer;
  for (let b0 = q0; b0 < q1; b0 += qb) {
    const nq = Math.min(qb, q1 - b0);
    // 1. bounds, and the k smallest per query
    new Float32Array(lbuf, Qp, nq * rb).set(task.xLow.subarray(b0 * rb, (b0 + nq) * rb));
    kl.bounds_block(Bp, Qp, nq, QNp, task.low.packed, task.low.norms, ny, rb, k, HDp, HIp);
    // 2. their exact distances: tau, the k-th, bounds the true k-th distance from above
    new Float32Array(fbuf, Xp, nq * d).set(task.x.subarray(b0 * d, (b0 + nq) * d));
    new BigInt64Array(fbuf, FIDp, nq * k).set(new BigInt64Array(lbuf, HIp, nq * k));
    const flims = new Int32Array(fbuf, FLIMp, nq + 1);
    for (let i = 0; i <= nq; i++) flims[i] = i * k;
    kf.bounds_refine(Xp, nq, d, task.full.dataOffset, FIDp, FLIMp, k, FHDp, FHIp, DISp);
    const tau = new Float32Array(fbuf, FHDp, nq * k);
    const thr = new Float32Array(lbuf, THRp, nq);
    for (let i = 0; i < nq; i++) {
      const t = tau[i * k + k - 1]!;
      thr[i] = t + relSlack * t + task.slack[b0 + i]!;
    }
    // 3. every vector whose bound is under the threshold, 4. their exact k best
    for (let i0 = 0; i0 < nq; ) {
      const done = kl.bounds_select(Bp, i0, nq, ny, THRp, IDp, LIMp, cap);
      const lims = new Int32Array(lbuf, LIMp, done + 1);
      const total = lims[done]!;
      candidates += total;
      new Int32Array(fbuf, FLIMp, done + 1).set(lims);
      new BigInt64Array(fbuf, FIDp, total).set(new BigInt64Array(lbuf, IDp, total));
      kf.bounds_refine(Xp + i0 * d * 4, done, d, task.full.dataOffset, FIDp, FLIMp, k, FHDp, FHIp, DISp);
      task.distances.set(new Float32Array(fbuf, FHDp, done * k), (b0 + i0) * k);
      task.labels.set(new BigInt64Array(fbuf, FHIp, done * k), (b0 + i0) * k);
      i0 += done;
    }
  }
  task.candidates[slot] = (task.candidates[slot] ?? 0) + candidates;
}
