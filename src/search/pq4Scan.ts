/**
 * @module search/pq4Scan
 * Where FastScan searches run, on any thread of the pool (Faiss's IndexFastScan::search_implem_12/14
 * and IndexIVFFastScan::search_implem_10/12 with a heap handler):
 *  - `pq4KnnRange`: queries [q0, q1) of IndexPQFastScan (job 'pq4.knn'): per group of up to
 *    QUERY_GROUP queries, their float look-up tables (in the quantizer's memory), quantized to uint8
 *    (quantizers/quantizeLut), copied to each code segment's scratch slot, and every packed block
 *    scanned once for the whole group (assembly/pq4.ts);
 *  - `pq4IvfRange`: queries [q0, q1) of IndexIVFPQFastScan (job 'pq4.ivfSearch'): per query its
 *    tables for all its probes, quantized jointly (quantizeLUTAndBias, one scale for the query), then
 *    each probed list scanned with its table and its 16-bit bias. From 8 queries, with the lists in
 *    one memory, list by list (`pq4IvfByList`, Faiss's search_implem_12): the kernel reads each
 *    list's blocks once for up to four of the queries that probe it.
 *
 * Results: the k best 16-bit distances (ties on ids, as Faiss), converted back with
 * v * (1/a) + b; an empty slot (label -1) has Faiss's value for it, the neutral 16-bit distance
 * converted alike (65535 for L2, 0 for inner product), not +-FLT_MAX.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';
import { Heap } from '../kernels/reference.js';
import { pq4HeapRef, pq4ScanRef } from '../kernels/pq4Reference.js';
import { dequantize, fastScanQuantizeLUT, lutAndBiasScale, perColumnScale, quantizeLUTAndBias, type LutScale } from '../quantizers/quantizeLut.js';
import type { ListTable } from '../invlists/InvertedLists.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import { pqTables, type PQKernelRef } from './pqScan.js';

/** Queries scanned together through each block (the kernel takes up to 4 at once). */
export const QUERY_GROUP = 2;

const align = (v: number, a = 16): number => Math.ceil(v / a) * a;

/** Packed blocks kept in one shared memory: `count` blocks of bbs vectors from dataOffset. */
export interface PQ4SegmentRef {
  memory: WebAssembly.Memory;
  dataOffset: number;
  /** blocks */
  count: number;
}

export interface PQ4KnnTask {
  metric: number; // 1 = L2, 0 = inner product
  k: number;
  pq: PQKernelRef;
  M2: number;
  bbs: number;
  ntotal: number;
  /** the segments of blocks, in order */
  segments: PQ4SegmentRef[];
  /** queries, n*d floats */
  x: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

// ---- quantized tables, made in the quantizer's memory ----------------------------------------------

/**
 * Where tables are made in scratch slot `slot` of the quantizer's memory: `vectors` vectors (queries
 * or residuals), `tables` float tables of M x 16 (and one more for a query's inner-product table),
 * their row minima and maxima, and the quantized tables (M2 x 16 bytes each). Undefined when it does
 * not fit a slot (the TypeScript path then does the same work).
 */
function lutLayout(pq: PQKernelRef, vectors: number, tables: number, M2: number): { x: number; ip: number; t: number; mins: number; maxs: number; u: number } | undefined {
  const d = pq.M * pq.dsub;
  const tab = pq.M * pq.ksub * 4;
  const x = 0;
  const ip = align(x + vectors * d * 4);
  const t = align(ip + tab);
  const mins = align(t + tables * tab);
  const maxs = align(mins + tables * pq.M * 4);
  const u = align(maxs + tables * pq.M * 4);
  return u + tables * M2 * 16 + 64 <= SLOT_BYTES ? { x, ip, t, mins, maxs, u } : undefined;
}

/** Rounds `tables` float tables at lay.t (row ranges at lay.mins / lay.maxs) to bytes at lay.u, M2 rows each (padding rows zero). */
function roundTables(kern: ReturnType<typeof kernelsFor>, buf: ArrayBufferLike, base: number, lay: NonNullable<ReturnType<typeof lutLayout>>, M: number, M2: number, tables: number, a: number): void {
  for (let j = 0; j < tables; j++) {
    kern.pq4_lut_round(base + lay.t + j * M * 64, M, a, base + lay.mins + j * M * 4, base + lay.u + j * M2 * 16);
    if (M2 > M) new Uint8Array(buf, base + lay.u + (j * M2 + M) * 16, (M2 - M) * 16).fill(0);
  }
}

/**
 * The quantized tables of nq queries for IndexPQFastScan (round_uint8_per_column per query) into
 * `out` (nq x M2 x 16 bytes) and `scales`; false when they do not fit a scratch slot.
 */
function flatLuts(pq: PQKernelRef, metric: number, x: Float32Array, nq: number, M2: number, slot: number, out: Uint8Array, scales: LutScale[]): boolean {
  const lay = lutLayout(pq, nq, nq, M2);
  if (lay === undefined) return false;
  const d = pq.M * pq.dsub;
  const kern = kernelsFor(pq.memory);
  const buf = pq.memory.buffer;
  const base = Segment.slotOffset(slot);
  new Float32Array(buf, base + lay.x, nq * d).set(x.subarray(0, nq * d));
  kern.pq_distance_tables(metric, base + lay.x, nq, pq.cT, pq.M, pq.ksub, pq.dsub, base + lay.t);
  kern.pq4_lut_minmax(base + lay.t, nq * pq.M, base + lay.mins, base + lay.maxs);
  const mins = new Float32Array(buf, base + lay.mins, nq * pq.M);
  const maxs = new Float32Array(buf, base + lay.maxs, nq * pq.M);
  for (let q = 0; q < nq; q++) {
    const s = perColumnScale(mins.subarray(q * pq.M), maxs.subarray(q * pq.M), pq.M);
    scales[q] = s;
    kern.pq4_lut_round(base + lay.t + q * pq.M * 64, pq.M, s.a, base + lay.mins + q * pq.M * 4, base + lay.u + q * M2 * 16);
    if (M2 > pq.M) new Uint8Array(buf, base + lay.u + (q * M2 + pq.M) * 16, (M2 - pq.M) * 16).fill(0);
  }
  out.set(new Uint8Array(buf, base + lay.u, nq * M2 * 16));
  return true;
}

/** Scratch layout of a scan of nq queries in a slot: tables, heaps, 64 bytes of tmp. */
function layout(nq: number, M2: number, k: number): { lut: number; hd: number; hi: number; tmp: number; end: number } {
  const lut = 0;
  const hd = align(lut + nq * M2 * 16);
  const hi = align(hd + nq * k * 4);
  const tmp = align(hi + nq * k * 8);
  return { lut, hd, hi, tmp, end: tmp + 64 };
}

/** Queries per kernel call that fit a scratch slot (0 when not even one: the TypeScript path). */
function groupSize(M2: number, k: number): number {
  let g = QUERY_GROUP;
  while (g > 0 && layout(g, M2, k).end > SLOT_BYTES) g--;
  return g;
}

/** Writes heaps (16-bit distances as floats, ids) back as results: dequantized, empty slots as Faiss's neutral value. */
export function writeResults(isMax: boolean, k: number, dis: Float32Array, ids: BigInt64Array, scale: LutScale, outD: Float32Array, outI: BigInt64Array, o: number): void {
  const neutral = dequantize(isMax ? 65535 : 0, scale);
  for (let j = 0; j < k; j++) {
    const id = ids[j]!;
    outI[o + j] = id;
    outD[o + j] = id === -1n ? neutral : dequantize(dis[j]!, scale);
  }
}

/** k-NN of queries [q0, q1) of an IndexPQFastScan, on scratch slot `slot`. */
export function pq4KnnRange(task: PQ4KnnTask, q0: number, q1: number, slot: number): void {
  const { pq, k, M2, bbs, ntotal, segments } = task;
  const isMax = task.metric === 1;
  const d = pq.M * pq.dsub;
  const tabFloats = pq.M * pq.ksub;
  const g = groupSize(M2, k);
  if (g === 0) {
    pq4KnnFallback(task, q0, q1, slot);
    return;
  }
  const base = Segment.slotOffset(slot);
  const luts = new Uint8Array(g * M2 * 16);
  const scales: LutScale[] = [];
  for (let i0 = q0; i0 < q1; i0 += g) {
    const nq = Math.min(g, q1 - i0);
    const lay = layout(nq, M2, k);
    const xs = task.x.subarray(i0 * d, (i0 + nq) * d);
    if (!flatLuts(pq, task.metric, xs, nq, M2, slot, luts, scales)) {
      const tabs = pqTables(pq, task.metric, xs, nq, slot);
      for (let q = 0; q < nq; q++) scales[q] = fastScanQuantizeLUT(tabs, pq.M, pq.ksub, M2, luts, q * tabFloats, q * M2 * 16);
    }
    let done = 0;
    let prev: PQ4SegmentRef | undefined;
    for (const seg of segments) {
      const n = Math.min(seg.count * bbs, ntotal - done);
      if (n <= 0) break;
      const kern = kernelsFor(seg.memory);
      const buf = seg.memory.buffer;
      new Uint8Array(buf, base + lay.lut, nq * M2 * 16).set(luts.subarray(0, nq * M2 * 16));
      if (prev === undefined) kern.pq4_heapify(isMax ? 1 : 0, nq, k, base + lay.hd, base + lay.hi);
      else new Uint8Array(buf, base + lay.hd, lay.tmp - lay.hd).set(new Uint8Array(prev.memory.buffer, base + lay.hd, lay.tmp - lay.hd));
      kern.pq4_scan(isMax ? 1 : 0, nq, seg.dataOffset, n, bbs, M2, base + lay.lut, 0, k, base + lay.hd, base + lay.hi, 0, BigInt(done), base + lay.tmp);
      done += seg.count * bbs;
      prev = seg;
    }
    let dis: Float32Array;
    let ids: BigInt64Array;
    if (prev === undefined) {
      dis = new Float32Array(nq * k);
      ids = new BigInt64Array(nq * k).fill(-1n);
    } else {
      kernelsFor(prev.memory).heap_reorder(isMax ? 1 : 0, nq, k, base + lay.hd, base + lay.hi);
      dis = new Float32Array(prev.memory.buffer, base + lay.hd, nq * k);
      ids = new BigInt64Array(prev.memory.buffer, base + lay.hi, nq * k);
    }
    for (let q = 0; q < nq; q++) {
      writeResults(isMax, k, dis.subarray(q * k, (q + 1) * k), ids.subarray(q * k, (q + 1) * k), scales[q]!, task.distances, task.labels, (i0 + q) * k);
    }
  }
}

/** k so large that a heap does not fit a scratch slot: the TypeScript reference kernel. */
function pq4KnnFallback(task: PQ4KnnTask, q0: number, q1: number, slot: number): void {
  const { pq, k, M2, bbs, ntotal, segments } = task;
  const isMax = task.metric === 1;
  const d = pq.M * pq.dsub;
  const lut = new Uint8Array(M2 * 16);
  for (let i = q0; i < q1; i++) {
    const tab = pqTables(pq, task.metric, task.x.subarray(i * d, (i + 1) * d), 1, slot);
    const scale = fastScanQuantizeLUT(tab, pq.M, pq.ksub, M2, lut);
    const h: Heap = pq4HeapRef(k, isMax);
    let done = 0;
    for (const seg of segments) {
      const n = Math.min(seg.count * bbs, ntotal - done);
      if (n <= 0) break;
      const codes = new Uint8Array(seg.memory.buffer, seg.dataOffset, seg.count * ((bbs * M2) / 2));
      pq4ScanRef(codes, n, bbs, M2, lut, 0, 0, h, undefined, BigInt(done));
      done += seg.count * bbs;
    }
    const r = h.reorder();
    writeResults(isMax, k, r.dis, r.ids, scale, task.distances, task.labels, i * k);
  }
}

// ---- inverted lists (IndexIVFPQFastScan) -------------------------------------------------------

/** How a probe's float table and bias are made (Faiss's IndexIVFPQFastScan::compute_LUT). */
export const IvfPQ4Mode = {
  /** Not by residual: the query's table (L2 or IP) for every probe, no bias (2D). */
  QueryTable: 0,
  /** Inner product by residual: the query's IP table, bias <q, centroid> (2D + bias). */
  InnerProductResidual: 1,
  /** L2 by residual with precomputed tables: pre[list] - 2 * IPtable(q), bias ||q - centroid||^2 (3D). */
  Precomputed: 2,
  /** L2 by residual without them: the L2 table of q - centroid, bias 0 (3D). */
  ResidualTable: 3,
} as const;

export interface PQ4IvfTask {
  metric: number; // 1 = L2, 0 = inner product
  k: number;
  nprobe: number;
  pq: PQKernelRef;
  M2: number;
  bbs: number;
  mode: number;
  lists: ListTable;
  /** queries, n*d floats */
  x: Float32Array;
  /** probed lists, n*nprobe (-1: none) */
  coarse: Int32Array;
  /** the quantizer's distances to them, n*nprobe (the biases of the by-residual modes) */
  coarseDis: Float32Array;
  /** Precomputed: nlist * M * 16 floats (shared) */
  pre: Float32Array | undefined;
  /** ResidualTable: the nlist centroids, nlist * d floats (shared) */
  centroids: Float32Array | undefined;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

/** Whether a mode makes one table per probe (3D), not one per query. */
function tablePerProbe(mode: number): boolean {
  return mode === IvfPQ4Mode.Precomputed || mode === IvfPQ4Mode.ResidualTable;
}

/** The float tables of query i (2D: M*16 floats; 3D: nprobe of them) and its biases (or null). */
function ivfTables(task: PQ4IvfTask, i: number, slot: number): { lut: Float32Array; bias: Float32Array | null; is3d: boolean } {
  const { pq, nprobe, mode } = task;
  const d = pq.M * pq.dsub;
  const tab = pq.M * pq.ksub;
  const q = task.x.subarray(i * d, (i + 1) * d);
  const probes = task.coarse.subarray(i * nprobe, (i + 1) * nprobe);
  const dis = task.coarseDis.subarray(i * nprobe, (i + 1) * nprobe);
  if (mode === IvfPQ4Mode.QueryTable) return { lut: pqTables(pq, task.metric, q, 1, slot), bias: null, is3d: false };
  if (mode === IvfPQ4Mode.InnerProductResidual) return { lut: pqTables(pq, 0, q, 1, slot), bias: Float32Array.from(dis), is3d: false };
  const lut = new Float32Array(nprobe * tab);
  if (mode === IvfPQ4Mode.Precomputed) {
    const ip = pqTables(pq, 0, q, 1, slot);
    const pre = task.pre!;
    for (let j = 0; j < nprobe; j++) {
      const l = probes[j]!;
      const o = j * tab;
      if (l < 0) {
        lut.fill(NaN, o, o + tab); // Faiss fills them with NaN, which the quantization ignores
        continue;
      }
      const po = l * tab;
      for (let t = 0; t < tab; t++) lut[o + t] = pre[po + t]! - 2 * ip[t]!;
    }
    return { lut, bias: Float32Array.from(dis), is3d: true };
  }
  // residual tables: one L2 table per probe
  const c = task.centroids!;
  const res = new Float32Array(nprobe * d).fill(NaN);
  for (let j = 0; j < nprobe; j++) {
    const l = probes[j]!;
    if (l < 0) continue;
    for (let t = 0; t < d; t++) res[j * d + t] = q[t]! - c[l * d + t]!;
  }
  pqTables(pq, 1, res, nprobe, slot, lut);
  return { lut, bias: new Float32Array(nprobe), is3d: true };
}

/** The quantized tables of query i of an IVF task, made in the quantizer's memory; undefined when they do not fit a slot. */
/** A memory's kernels and whole-memory views (a shared memory's `buffer` is a new object at each access: made once per call). */
interface MemoryViews {
  kern: WasmKernels;
  u8: Uint8Array;
  u16: Uint16Array;
  f32: Float32Array;
}

function memoryViews(memory: WebAssembly.Memory): MemoryViews {
  const buf = memory.buffer;
  return { kern: kernelsFor(memory), u8: new Uint8Array(buf), u16: new Uint16Array(buf), f32: new Float32Array(buf) };
}

function ivfLuts(task: PQ4IvfTask, i: number, slot: number, LUTq: Uint8Array, biasq: Uint16Array, pv: MemoryViews): { scale: LutScale; is3d: boolean; withBias: boolean } | undefined {
  const { pq, nprobe, mode, M2 } = task;
  const M = pq.M;
  const d = M * pq.dsub;
  const tab = M * pq.ksub;
  const is3d = tablePerProbe(mode);
  const tables = is3d ? nprobe : 1;
  const lay = lutLayout(pq, tables, tables, M2);
  if (lay === undefined) return undefined;
  const { kern, f32 } = pv;
  const buf = f32.buffer;
  const base = Segment.slotOffset(slot);
  const q = task.x.subarray(i * d, (i + 1) * d);
  const probes = task.coarse.subarray(i * nprobe, (i + 1) * nprobe);
  f32.set(q, (base + lay.x) >> 2);
  let bias: Float32Array | null = null;
  if (mode === IvfPQ4Mode.QueryTable || mode === IvfPQ4Mode.InnerProductResidual) {
    kern.pq_distance_table(mode === IvfPQ4Mode.QueryTable ? task.metric : 0, base + lay.x, pq.cT, M, pq.ksub, pq.dsub, base + lay.t);
    if (mode === IvfPQ4Mode.InnerProductResidual) bias = task.coarseDis.subarray(i * nprobe, (i + 1) * nprobe);
  } else if (mode === IvfPQ4Mode.Precomputed) {
    kern.pq_distance_table(0, base + lay.x, pq.cT, M, pq.ksub, pq.dsub, base + lay.ip);
    const t = new Float32Array(buf, base + lay.t, nprobe * tab);
    const pre = task.pre!;
    for (let j = 0; j < nprobe; j++) {
      const l = probes[j]!;
      if (l < 0) t.fill(NaN, j * tab, (j + 1) * tab); // Faiss fills them with NaN, which the quantization ignores
      else t.set(pre.subarray(l * tab, (l + 1) * tab), j * tab);
    }
    for (let j = 0; j < nprobe; j++) if (probes[j]! >= 0) kern.pq_madd(tab, base + lay.t + j * tab * 4, -2, base + lay.ip, base + lay.t + j * tab * 4);
    bias = task.coarseDis.subarray(i * nprobe, (i + 1) * nprobe);
  } else {
    const c = task.centroids!;
    const res = new Float32Array(buf, base + lay.x, nprobe * d);
    for (let j = 0; j < nprobe; j++) {
      const l = probes[j]!;
      if (l < 0) {
        res.fill(NaN, j * d, (j + 1) * d);
        continue;
      }
      for (let t = 0; t < d; t++) res[j * d + t] = q[t]! - c[l * d + t]!;
    }
    kern.pq_distance_tables(1, base + lay.x, nprobe, pq.cT, M, pq.ksub, pq.dsub, base + lay.t);
    bias = new Float32Array(nprobe);
  }
  if (bias === null) {
    // one table, no bias: its ranges, scale and rounding in one kernel call (the scale after the bytes)
    const sc = base + lay.u + M2 * 16;
    kern.pq4_lut_2d(base + lay.t, M, M2, base + lay.mins, base + lay.maxs, sc, base + lay.u);
    LUTq.set(pv.u8.subarray(base + lay.u, base + lay.u + M2 * 16));
    return { scale: { a: f32[sc >> 2]!, b: f32[(sc >> 2) + 1]! }, is3d, withBias: false };
  }
  kern.pq4_lut_minmax(base + lay.t, tables * M, base + lay.mins, base + lay.maxs);
  const mins = f32.subarray((base + lay.mins) >> 2, ((base + lay.mins) >> 2) + tables * M);
  const maxs = f32.subarray((base + lay.maxs) >> 2, ((base + lay.maxs) >> 2) + tables * M);
  const scale = lutAndBiasScale(nprobe, M, is3d, mins, maxs, bias, bias !== null ? biasq : null);
  roundTables(kern, buf, base, lay, M, M2, tables, scale.a);
  LUTq.set(pv.u8.subarray(base + lay.u, base + lay.u + tables * M2 * 16));
  return { scale, is3d, withBias: bias !== null };
}

/** Scratch layout of an IVF query in a list memory's slot: its table(s), bias, heap, tmp. */
function ivfLayout(tables: number, M2: number, k: number): { lut: number; bias: number; hd: number; hi: number; tmp: number; end: number } {
  const lut = 0;
  const bias = align(lut + tables * M2 * 16);
  const hd = align(bias + 2);
  const hi = align(hd + k * 4);
  const tmp = align(hi + k * 8);
  return { lut, bias, hd, hi, tmp, end: tmp + 64 };
}

/** Queries of a range from which the lists are scanned list by list (a list's codes serve up to 4 queries per pass). */
const BY_LIST_MIN_QUERIES = 8;

/**
 * Queries [q0, q1) list by list, in chunks of queries whose tables, heaps and pairs fit the slot of
 * the lists' memory: the quantized tables of every query of a chunk first, then each probed list
 * once per group of up to four of the (query, probe) pairs that probe it (`pq4_scan_lists`: each
 * block of codes read once for all their tables), the queries' heaps staying in the slot. Each
 * query still visits its lists in increasing list number, as the query-by-query scan (and Faiss's
 * search_implem_12) does, so the results are the same. Lists in one memory only (the inverted
 * lists gather theirs into one when they fit); returns false (nothing done) where this does not apply.
 */
function pq4IvfByList(task: PQ4IvfTask, q0: number, q1: number, slot: number): boolean {
  const { pq, k, nprobe, M2, bbs } = task;
  const { memories, table } = task.lists;
  if (bbs !== 32 || q1 - q0 < BY_LIST_MIN_QUERIES || memories.length !== 1) return false;
  const is3d = tablePerProbe(task.mode);
  const tables = is3d ? nprobe : 1;
  // the tables are made in the quantizer's slot (ivfLuts)
  if (lutLayout(pq, tables, tables, M2) === undefined) return false;
  const nlist = table.length / 4;
  let chunk = Math.min(q1 - q0, Math.floor(SLOT_BYTES / byListLayout(1, tables, M2, k, nprobe, nlist).end));
  while (chunk >= BY_LIST_MIN_QUERIES && byListLayout(chunk, tables, M2, k, nprobe, nlist).end > SLOT_BYTES) chunk--;
  if (chunk < BY_LIST_MIN_QUERIES) return false;
  for (let c0 = q0; c0 < q1; c0 += chunk) byListChunk(task, c0, Math.min(q1, c0 + chunk), slot);
  return true;
}

/** Where a list-by-list chunk of nq queries keeps what in the slot of the lists' memory. */
function byListLayout(nq: number, tables: number, M2: number, k: number, nprobe: number, nlist: number): { LUTS: number; HD: number; HI: number; BIAS: number; PAIRS: number; RUNS: number; TMP: number; end: number } {
  const LUTS = 0;
  const HD = align(LUTS + nq * tables * M2 * 16);
  const HI = align(HD + nq * k * 4);
  const BIAS = align(HI + nq * k * 8);
  const PAIRS = align(BIAS + nq * nprobe * 2);
  const RUNS = align(PAIRS + nq * nprobe * 4);
  const TMP = align(RUNS + Math.min(nlist, nq * nprobe) * 20);
  return { LUTS, HD, HI, BIAS, PAIRS, RUNS, TMP, end: TMP + 64 };
}

/**
 * The (query, probe) pairs pr = i * nprobe + j of queries [q0, q1) (i from 0) sorted by list, and by
 * pr within a list, into pairs (their lists into listOf); probes of -1 are left out. Returns how
 * many. A counting sort over the lists for many pairs, a sort of the pairs for few (one query
 * among 65536 lists).
 */
function groupPairs(coarse: Int32Array, q0: number, q1: number, nprobe: number, nlist: number, pairs: Int32Array, listOf: Int32Array): number {
  const span = (q1 - q0) * nprobe;
  const c = coarse.subarray(q0 * nprobe, q1 * nprobe);
  if (span * 8 < nlist) {
    // list * span + pr, exact in a double while nlist^2 / 8 < 2^53 (nlist below 2^28)
    const keys = new Float64Array(span);
    let m = 0;
    for (let pr = 0; pr < span; pr++) if (c[pr]! >= 0) keys[m++] = c[pr]! * span + pr;
    const sorted = keys.subarray(0, m).sort();
    for (let p = 0; p < m; p++) {
      const l = Math.floor(sorted[p]! / span);
      listOf[p] = l;
      pairs[p] = sorted[p]! - l * span;
    }
    return m;
  }
  const start = new Int32Array(nlist + 1);
  for (let pr = 0; pr < span; pr++) if (c[pr]! >= 0) start[c[pr]! + 1]++;
  for (let l = 0; l < nlist; l++) start[l + 1] += start[l]!;
  const m = start[nlist]!;
  for (let pr = 0; pr < span; pr++) {
    const l = c[pr]!;
    if (l < 0) continue;
    const at = start[l]!++;
    pairs[at] = pr;
    listOf[at] = l;
  }
  return m;
}

/** One chunk of pq4IvfByList: queries [q0, q1). */
function byListChunk(task: PQ4IvfTask, q0: number, q1: number, slot: number): void {
  const { k, nprobe, M2, bbs } = task;
  const { memories, table } = task.lists;
  const nq = q1 - q0;
  const nlist = table.length / 4;
  const tab2 = M2 * 16;
  const is3d = tablePerProbe(task.mode);
  const tables = is3d ? nprobe : 1;
  const lay = byListLayout(nq, tables, M2, k, nprobe, nlist);
  const base = Segment.slotOffset(slot);
  const pv = memoryViews(task.pq.memory);
  const v = memoryViews(memories[0]!);
  const buf = v.u8.buffer;
  // 1. every query's tables, biases and scale, made into the slot
  const biases = new Uint16Array(buf, base + lay.BIAS, nq * nprobe);
  const scales: LutScale[] = new Array(nq);
  let withBias = false;
  for (let i = 0; i < nq; i++) {
    // lutLayout fits (checked by the caller): ivfLuts makes them
    const lut = v.u8.subarray(base + lay.LUTS + i * tables * tab2, base + lay.LUTS + (i + 1) * tables * tab2);
    const made = ivfLuts(task, q0 + i, slot, lut, biases.subarray(i * nprobe, (i + 1) * nprobe), pv)!;
    scales[i] = made.scale;
    withBias = made.withBias;
  }
  // 2. who probes each list: (query, probe) pairs grouped by list, queries in order; one run per list
  const pairs = new Int32Array(buf, base + lay.PAIRS, nq * nprobe);
  const listOf = new Int32Array(nq * nprobe);
  const npairs = groupPairs(task.coarse, q0, q1, nprobe, nlist, pairs, listOf);
  const runs = new Int32Array(buf, base + lay.RUNS, (lay.TMP - lay.RUNS) >> 2);
  let nruns = 0;
  for (let p = 0; p < npairs; ) {
    const l = listOf[p]!;
    let p1 = p + 1;
    while (p1 < npairs && listOf[p1] === l) p1++;
    const n = table[l * 4 + 3]!;
    if (n > 0) {
      const o = 5 * nruns++;
      runs[o] = table[l * 4 + 1]!;
      runs[o + 1] = table[l * 4 + 2]!;
      runs[o + 2] = n;
      runs[o + 3] = p;
      runs[o + 4] = p1;
    }
    p = p1;
  }
  // 3. the scan, the heaps in the slot throughout
  const isMax = task.metric === 1;
  const im = isMax ? 1 : 0;
  v.kern.pq4_heapify(im, nq, k, base + lay.HD, base + lay.HI);
  v.kern.pq4_scan_lists(im, base + lay.RUNS, nruns, base + lay.PAIRS, nprobe, bbs, M2, base + lay.LUTS, tables * tab2, is3d ? 1 : 0, withBias ? base + lay.BIAS : 0, k, base + lay.HD, base + lay.HI, base + lay.TMP);
  // 4. each query's heap sorted, distances back to floats
  v.kern.heap_reorder(im, nq, k, base + lay.HD, base + lay.HI);
  const dis = new Float32Array(buf, base + lay.HD, nq * k);
  const ids = new BigInt64Array(buf, base + lay.HI, nq * k);
  for (let i = 0; i < nq; i++) {
    writeResults(isMax, k, dis.subarray(i * k, (i + 1) * k), ids.subarray(i * k, (i + 1) * k), scales[i]!, task.distances, task.labels, (q0 + i) * k);
  }
}

/** k-NN of queries [q0, q1) of an IndexIVFPQFastScan over their probed lists, on scratch slot `slot`. */
export function pq4IvfRange(task: PQ4IvfTask, q0: number, q1: number, slot: number): void {
  if (pq4IvfByList(task, q0, q1, slot)) return;
  const { pq, k, nprobe, M2, bbs } = task;
  const { memories, table } = task.lists;
  const isMax = task.metric === 1;
  const im = isMax ? 1 : 0;
  const base = Segment.slotOffset(slot);
  const tab2 = M2 * 16;
  const LUTbuf = new Uint8Array(nprobe * tab2);
  const biasBuf = new Uint16Array(nprobe);
  const lay = ivfLayout(1, M2, k);
  const fits = lay.end <= SLOT_BYTES;
  // the list memories' kernels and byte views, made once per call (a shared memory's `buffer` is a new object at each access)
  const views: (MemoryViews | undefined)[] = new Array(memories.length);
  const viewOf = (seg: number): MemoryViews => (views[seg] ??= memoryViews(memories[seg]!));
  const pv = memoryViews(pq.memory);
  const order = new Int32Array(nprobe);
  for (let i = q0; i < q1; i++) {
    let made = ivfLuts(task, i, slot, LUTbuf, biasBuf, pv);
    if (made === undefined) {
      // tables too large for a scratch slot: the same computation in TypeScript
      const { lut, bias, is3d } = ivfTables(task, i, slot);
      made = { scale: quantizeLUTAndBias(nprobe, pq.M, pq.ksub, is3d, lut, bias, LUTbuf, M2, bias !== null ? biasBuf : null), is3d, withBias: bias !== null };
    }
    const { scale, is3d, withBias } = made;
    // Faiss's visiting order: by list number for bbs = 32 (search_implem_12), else by rank (implem_10)
    const c0 = i * nprobe;
    let np = 0;
    for (let j = 0; j < nprobe; j++) {
      const l = task.coarse[c0 + j]!;
      if (l < 0) continue;
      let at = np++;
      if (bbs === 32) {
        while (at > 0 && task.coarse[c0 + order[at - 1]!]! > l) {
          order[at] = order[at - 1]!;
          at--;
        }
      }
      order[at] = j;
    }
    let cur = -1;
    const ref = fits ? undefined : pq4HeapRef(k, isMax);
    for (let r = 0; r < np; r++) {
      const j = order[r]!;
      const l = task.coarse[c0 + j]!;
      const n = table[l * 4 + 3]!;
      if (n === 0) continue;
      const seg = table[l * 4]!;
      const lo = is3d ? j * tab2 : 0;
      const b = withBias ? biasBuf[j]! : 0;
      if (ref !== undefined) {
        const mem = memories[seg]!;
        const codes = new Uint8Array(mem.buffer, table[l * 4 + 1]!, Math.ceil(n / bbs) * ((bbs * M2) / 2));
        pq4ScanRef(codes, n, bbs, M2, LUTbuf, lo, b, ref, new BigInt64Array(mem.buffer, table[l * 4 + 2]!, n));
        continue;
      }
      const v = viewOf(seg);
      if (seg !== cur) {
        if (cur < 0) v.kern.pq4_heapify(im, 1, k, base + lay.hd, base + lay.hi);
        else v.u8.set(views[cur]!.u8.subarray(base + lay.hd, base + lay.tmp), base + lay.hd);
        if (!is3d) v.u8.set(LUTbuf.subarray(0, tab2), base + lay.lut);
        cur = seg;
      }
      if (is3d) v.u8.set(LUTbuf.subarray(lo, lo + tab2), base + lay.lut);
      v.u16[(base + lay.bias) >> 1] = b;
      v.kern.pq4_scan(im, 1, table[l * 4 + 1]!, n, bbs, M2, base + lay.lut, base + lay.bias, k, base + lay.hd, base + lay.hi, table[l * 4 + 2]!, 0n, base + lay.tmp);
    }
    const o = i * k;
    if (ref !== undefined) {
      const res = ref.reorder();
      writeResults(isMax, k, res.dis, res.ids, scale, task.distances, task.labels, o);
    } else if (cur < 0) {
      writeResults(isMax, k, new Float32Array(k), new BigInt64Array(k).fill(-1n), scale, task.distances, task.labels, o);
    } else {
      const v = views[cur]!;
      v.kern.heap_reorder(im, 1, k, base + lay.hd, base + lay.hi);
      const buf = v.u8.buffer;
      writeResults(isMax, k, new Float32Array(buf, base + lay.hd, k), new BigInt64Array(buf, base + lay.hi, k), scale, task.distances, task.labels, o);
    }
  }
}
