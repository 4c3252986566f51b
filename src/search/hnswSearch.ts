/**
 * @module search/hnswSearch
 * What a thread runs for an HNSW index: a range of queries through the `hnsw_search` kernel, or a
 * range of node insertions through `hnsw_add`. Every function here runs on any thread: the index is
 * named by its shared memory (storage/HNSWSegment) and the caller says which scratch slot to use.
 */
import { kernelsFor, setHnswLoadVector } from '../kernels/wasm.js';
import { H, HNSW_SLOT_BYTES, HEADER_BYTES, SLOT_HEADER_BYTES } from '../storage/HNSWSegment.js';
import { VECTOR_AREAS, bindOnThread, loaderFor, type VectorSegmentLayout } from '../storage/HNSWVectorSegments.js';

export interface HNSWSearchTask {
  memory: WebAssembly.Memory;
  /** The vector segments, when the vectors are outside the graph's memory (storage kind SPLIT). */
  vectors?: WebAssembly.Memory[];
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

/**
 * Where a search puts the query, the result heap and the beam in a slot; undefined when they do not
 * fit. reserve: bytes at the end of the slot kept for a quantized storage's query table (H.QAREA).
 */
export function searchScratch(d: number, k: number, ef: number, slot: number, reserve = 0): { q: number; hd: number; hi: number; tmp: number } | undefined {
  const base = HEADER_BYTES + slot * HNSW_SLOT_BYTES;
  const q = base + SLOT_HEADER_BYTES;
  const hd = align16(q + d * 4);
  const hi = align16(hd + k * 4);
  const tmp = align16(hi + k * 8);
  if (tmp + ef * 8 > base + HNSW_SLOT_BYTES - reserve) return undefined;
  return { q, hd, hi, tmp };
}

/** The bytes at the end of each slot that the storage of the HNSW memory keeps (its H.QAREA). */
export function slotReserve(memory: WebAssembly.Memory): number {
  return new Int32Array(memory.buffer, 0, H.QAREA / 4 + 1)[H.QAREA / 4]!;
}

/**
 * Vectors in vector segments: readies this thread's kernels for the graph on `memory` (its table
 * entries, its hnsw_load_vector) and returns the segments' layout (read from the graph's header).
 */
function bindVectors(memory: WebAssembly.Memory, vectors: WebAssembly.Memory[]): VectorSegmentLayout {
  const h = new Int32Array(memory.buffer, 0, HEADER_BYTES / 4);
  const layout: VectorSegmentLayout = { d: h[H.D / 4]!, perSegment: h[H.VPER / 4]!, vbase: h[H.VBASE / 4]!, areaBytes: h[H.VAREA / 4]! };
  bindOnThread(kernelsFor(memory), vectors, h[H.METRIC / 4]!);
  setHnswLoadVector(loaderFor(vectors, layout));
  return layout;
}

/** Runs queries [q0, q1) of the task on scratch slot `slot` (the caller checked searchScratch). */
export function hnswSearchRange(task: HNSWSearchTask, q0: number, q1: number, slot: number): void {
  const { d, k, ef, memory, vectors } = task;
  const s = searchScratch(d, k, ef, slot, slotReserve(memory))!;
  const kern = kernelsFor(memory);
  const buf = memory.buffer;
  // vectors in segments: the query goes to this thread's area 0 in each of them
  let areas: Float32Array[] = [];
  if (vectors !== undefined) {
    const layout = bindVectors(memory, vectors);
    areas = vectors.map((m) => new Float32Array(m.buffer, slot * VECTOR_AREAS * layout.areaBytes, d));
  }
  const qv = new Float32Array(buf, s.q, d);
  const dv = new Float32Array(buf, s.hd, k);
  const iv = new BigInt64Array(buf, s.hi, k);
  const negate = task.metric !== 1;
  for (let i = q0; i < q1; i++) {
    const query = task.x.subarray(i * d, (i + 1) * d);
    qv.set(query);
    for (const a of areas) a.set(query);
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
  /** The vector segments, when the vectors are outside the graph's memory (storage kind SPLIT). */
  vectors?: WebAssembly.Memory[];
  /** node numbers to insert, in order */
  order: Int32Array;
  /**
   * SQ / PQ storage: the vectors the new nodes were encoded from (node n0 + i at x[i*d ..]): the
   * queries of their insertion searches, as Faiss passes them. Absent for flat storage.
   */
  x?: Float32Array;
  n0?: number;
  d?: number;
}

/** Inserts nodes order[lo .. hi) on scratch slot `slot` (several threads may run at once). */
export function hnswAddRange(task: HNSWAddTask, lo: number, hi: number, slot: number): void {
  const kern = kernelsFor(task.memory);
  const { x, n0 = 0, d = 0 } = task;
  if (task.vectors !== undefined) bindVectors(task.memory, task.vectors);
  if (x === undefined) {
    for (let i = lo; i < hi; i++) kern.hnsw_add(0, slot, task.order[i]!, 0);
    return;
  }
  // the vector goes to the start of the slot's query area (its last H.QAREA bytes)
  const q = HEADER_BYTES + (slot + 1) * HNSW_SLOT_BYTES - slotReserve(task.memory);
  const qv = new Float32Array(task.memory.buffer, q, d);
  for (let i = lo; i < hi; i++) {
    const pt = task.order[i]!;
    qv.set(x.subarray((pt - n0) * d, (pt - n0 + 1) * d));
    kern.hnsw_add(0, slot, pt, q);
  }
}
