/**
 * @module search/refineScan
 * The refinement step of IndexRefine over an IndexFlat refinement index (Faiss's
 * IndexRefineFlat::search after the base search): the kBase candidates of each query get their
 * exact distances from the flat storage, read in place in its segments (the `refine_distances`
 * kernel, Faiss's compute_distance_subset), then the k best are kept with Faiss's heaps (its
 * reorder_2_heaps: ties broken by id, label -1 last).
 *
 * Every function here runs on any thread: the flat storage is described by SegmentRefs and the
 * caller says which scratch slot (thread number) to use. A block of queries is laid out in the slot
 * as: queries (nq*d floats), candidate ids (nq*kBase int64), distances (nq*kBase floats), result
 * heaps (nq*k floats, nq*k int64). With several segments, the distances are carried from segment to
 * segment (each computes those of the candidates it holds).
 */
import { Heap } from '../kernels/reference.js';
import { kernelsFor } from '../kernels/wasm.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import type { SegmentRef } from './exhaustive.js';

export interface RefineFlatTask {
  /** 1 = L2, 0 = inner product */
  metric: number;
  d: number;
  /** results kept per query */
  k: number;
  /** candidates per query (Faiss's k_base = k * k_factor) */
  kBase: number;
  /** the flat refinement index's storage: vector i is in the segment whose range covers i */
  segments: SegmentRef[];
  /** queries, n*d floats */
  x: Float32Array;
  /** the base index's labels, n*kBase (-1 for none) */
  baseLabels: BigInt64Array;
  /** the base index's distances, n*kBase (kept where the label is -1, as Faiss keeps them) */
  baseDistances: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
  /** output, size 1: how many base labels are >= the storage's ntotal (counted, not refined) */
  beyond: Int32Array;
}

const MAX_QUERY_BLOCK = 256;
const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/** Queries of a block that fit one scratch slot (0: not even one, use the TypeScript path). */
export function refineQueryBlock(d: number, k: number, kBase: number): number {
  const perQuery = d * 4 + kBase * 12 + k * 12 + 64;
  return Math.min(MAX_QUERY_BLOCK, Math.max(0, Math.floor((SLOT_BYTES - 64) / perQuery)));
}

/** Runs queries [q0, q1) of the task on scratch slot `slot`. */
export function refineFlatRange(task: RefineFlatTask, q0: number, q1: number, slot: number): void {
  const { d, k, kBase: kb, metric, segments } = task;
  const qb = refineQueryBlock(d, k, kb);
  if (qb === 0 || segments.length === 0) {
    refineFlatFallback(task, q0, q1);
    return;
  }
  const isMax = metric === 1 ? 1 : 0;
  const base = Segment.slotOffset(slot);
  for (let b0 = q0; b0 < q1; b0 += qb) {
    const nq = Math.min(qb, q1 - b0);
    const Qp = base;
    const IDp = align16(Qp + nq * d * 4);
    const DISp = align16(IDp + nq * kb * 8);
    const HDp = align16(DISp + nq * kb * 4);
    const HIp = align16(HDp + nq * k * 4);
    let idBase = 0n;
    let prev: SegmentRef | undefined;
    let beyond = 0;
    for (const seg of segments) {
      const buf = seg.memory.buffer;
      new Float32Array(buf, Qp, nq * d).set(task.x.subarray(b0 * d, (b0 + nq) * d));
      new BigInt64Array(buf, IDp, nq * kb).set(task.baseLabels.subarray(b0 * kb, (b0 + nq) * kb));
      const dis = new Float32Array(buf, DISp, nq * kb);
      if (prev === undefined) dis.set(task.baseDistances.subarray(b0 * kb, (b0 + nq) * kb));
      else dis.set(new Float32Array(prev.memory.buffer, DISp, nq * kb));
      beyond = kernelsFor(seg.memory).refine_distances(metric, Qp, nq, d, seg.dataOffset, seg.count, idBase, IDp, kb, DISp);
      idBase += BigInt(seg.count);
      prev = seg;
    }
    if (beyond > 0) Atomics.add(task.beyond, 0, beyond);
    const last = prev!;
    const kern = kernelsFor(last.memory);
    kern.heap_heapify(isMax, nq, k, HDp, HIp);
    for (let i = 0; i < nq; i++) kern.heap_addn_ids(isMax, k, HDp + i * k * 4, HIp + i * k * 8, DISp + i * kb * 4, IDp + i * kb * 8, kb);
    kern.heap_reorder(isMax, nq, k, HDp, HIp);
    task.distances.set(new Float32Array(last.memory.buffer, HDp, nq * k), b0 * k);
    task.labels.set(new BigInt64Array(last.memory.buffer, HIp, nq * k), b0 * k);
  }
}

/** Candidates too many for a scratch slot, or no storage: the TypeScript path (same results). */
function refineFlatFallback(task: RefineFlatTask, q0: number, q1: number): void {
  const { d, k, kBase: kb, metric, segments, x } = task;
  const views = segments.map((s) => new Float32Array(s.memory.buffer, s.dataOffset, s.count * d));
  const starts: number[] = [];
  let total = 0;
  for (const s of segments) {
    starts.push(total);
    total += s.count;
  }
  for (let i = q0; i < q1; i++) {
    const h = new Heap(k, metric === 1);
    for (let j = 0; j < kb; j++) {
      const label = task.baseLabels[i * kb + j]!;
      let v = task.baseDistances[i * kb + j]!;
      if (label >= BigInt(total)) Atomics.add(task.beyond, 0, 1);
      if (label >= 0n && label < BigInt(total)) {
        const id = Number(label);
        let s = segments.length - 1;
        while (starts[s]! > id) s--;
        const y = views[s]!;
        const o = (id - starts[s]!) * d;
        let acc = 0;
        for (let t = 0; t < d; t++) {
          const a = x[i * d + t]!;
          const b = y[o + t]!;
          acc += metric === 1 ? (a - b) * (a - b) : a * b;
        }
        v = Math.fround(acc);
      }
      h.push(v, label);
    }
    const r = h.reorder();
    task.distances.set(r.dis, i * k);
    task.labels.set(r.ids, i * k);
  }
}
