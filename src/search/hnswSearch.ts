/**
 * @module search/hnswSearch
 * What a thread runs for an HNSW index: a range of queries through the `hnsw_search` kernel, or a
 * range of node insertions through `hnsw_add`. Every function here runs on any thread: the index is
 * named by its shared memory (storage/HNSWSegment) and the caller says which scratch slot to use.
 */
import { kernelsFor } from '../kernels/wasm.js';
import { HNSW_SLOT_BYTES, HEADER_BYTES, SLOT_HEADER_BYTES } from '../storage/HNSWSegment.js';

export interface HNSWSearchTask {
  memory: WebAssembly.Memory;
  /** 1 = L2, 0 = inner product */
  metric: number;
  d: number;
  k: number;
  /** beam width (efSearch, at least k) */
  ef: number;
  /** queries, n*d floats */
  x: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/** Where a search puts the query, the result heap and the beam in a slot; undefined when they do not fit. */
export function searchScratch(d: number, k: number, ef: number, slot: number): { q: number; hd: number; hi: number; tmp: number } | undefined {
  const base = HEADER_BYTES + slot * HNSW_SLOT_BYTES;
  const q = base + SLOT_HEADER_BYTES;
  const hd = align16(q + d * 4);
  const hi = align16(hd + k * 4);
  const tmp = align16(hi + k * 8);
  if (tmp + ef * 8 > base + HNSW_SLOT_BYTES) return undefined;
  return { q, hd, hi, tmp };
}

/** Runs queries [q0, q1) of the task on scratch slot `slot` (the caller checked searchScratch). */
export function hnswSearchRange(task: HNSWSearchTask, q0: number, q1: number, slot: number): void {
  const { d, k, ef, memory } = task;
  const s = searchScratch(d, k, ef, slot)!;
  const kern = kernelsFor(memory);
  const buf = memory.buffer;
  const qv = new Float32Array(buf, s.q, d);
  const dv = new Float32Array(buf, s.hd, k);
  const iv = new BigInt64Array(buf, s.hi, k);
  const negate = task.metric !== 1;
  for (let i = q0; i < q1; i++) {
    qv.set(task.x.subarray(i * d, (i + 1) * d));
    kern.hnsw_search(0, slot, s.q, k, ef, s.hd, s.hi, s.tmp);
    const o = i * k;
    if (negate) {
      // the kernel ranks by negated inner products (Faiss's NegativeDistanceComputer)
      for (let j = 0; j < k; j++) task.distances[o + j] = -dv[j]!;
    } else {
      task.distances.set(dv, o);
    }
    task.labels.set(iv, o);
  }
}

export interface HNSWAddTask {
  memory: WebAssembly.Memory;
  /** node numbers to insert, in order */
  order: Int32Array;
}

/** Inserts nodes order[lo .. hi) on scratch slot `slot` (several threads may run at once). */
export function hnswAddRange(task: HNSWAddTask, lo: number, hi: number, slot: number): void {
  const kern = kernelsFor(task.memory);
  for (let i = lo; i < hi; i++) kern.hnsw_add(0, slot, task.order[i]!);
}
