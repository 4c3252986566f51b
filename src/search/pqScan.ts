/**
 * @module search/pqScan
 * Where product-quantized codes are encoded and scanned, on any thread of the pool:
 *  - `pqEncodeRange`: codes of a range of vectors (job 'pq.encode');
 *  - `pqKnnRange`: k-NN of a range of queries over flat PQ codes kept in segments (IndexPQ, job
 *    'pq.knn'): per query one look-up table (M x ksub floats), computed in the quantizer's memory,
 *    copied to each code segment's scratch, and the codes scanned there in place;
 *  - the IVF list scanner of IndexIVFPQ (`pqIvfSetup`, `pqIvfScan`, registered in search/ivfScan
 *    as 'pq') when one table serves every list (Faiss's QueryTables): the query's own table (not by
 *    residual), or for inner product by residual the query's table plus dis0 = <q, centroid>;
 *  - `pqIvfL2ResidualRange`: L2 by residual, where each list has its table (pre[list] - 2 *
 *    sim2[query] with precomputed tables, dis0 = ||q - centroid||^2; else the residual's own),
 *    which ivfSearchRange runs instead of the scanner (batches that share lists go through
 *    search/pqScanByList).
 *
 * Kernels only see one memory at a time. Tables are built in the index's (or the quantizer's)
 * working memory, in the calling thread's scratch slot, and must meet the codes: a table that
 * serves every list (M*ksub*4 bytes: 64 KiB for PQ64) is copied once per query into the scratch
 * slot of each memory that holds codes; a list's own table is made where the precomputed tables and
 * the centroids are, and the list's codes and ids come to it.
 */
import { kernelsFor } from '../kernels/wasm.js';
import type { ListTable } from '../invlists/InvertedLists.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import { probedCount, rangeBounds, type IvfSearchTask } from './ivfScan.js';
import type { WasmKernels } from '../kernels/wasm.js';

/** What a thread needs to run PQ kernels: a memory holding the transposed centroids at cT. */
export interface PQKernelRef {
  memory: WebAssembly.Memory;
  /** Byte offset of the transposed centroids (d*ksub floats) in memory. */
  cT: number;
  M: number;
  nbits: number;
  ksub: number;
  dsub: number;
}

/** Vectors or codes kept in a segment: memory, byte offset of the first, count. */
export interface PQSegmentRef {
  memory: WebAssembly.Memory;
  dataOffset: number;
  count: number;
}

const align = (v: number, a = 16): number => Math.ceil(v / a) * a;

/** cT[(m*dsub + t)*ksub + j] = c[(m*ksub + j)*dsub + t]: the kernels' layout. */
export function writeTransposed(c: Float32Array, M: number, ksub: number, dsub: number, out: Float32Array): void {
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < ksub; j++) {
      const src = (m * ksub + j) * dsub;
      for (let t = 0; t < dsub; t++) out[(m * dsub + t) * ksub + j] = c[src + t]!;
    }
  }
}

// ---- encoding ---------------------------------------------------------------------------------

export interface PQEncodeTask {
  pq: PQKernelRef;
  /** vectors, n*d floats */
  x: Float32Array;
  /** output, n*codeSize bytes */
  codes: Uint8Array;
}

/** Encodes vectors [lo, hi) of the task in scratch slot `slot` of the quantizer's memory. */
export function pqEncodeRange(task: PQEncodeTask, lo: number, hi: number, slot: number): void {
  const { pq, x, codes } = task;
  const d = pq.M * pq.dsub;
  const codeSize = Math.ceil((pq.M * pq.nbits) / 8);
  const kern = kernelsFor(pq.memory);
  const base = Segment.slotOffset(slot);
  const block = Math.max(1, Math.min(4096, Math.floor((SLOT_BYTES - 64) / (d * 4 + codeSize))));
  const Xp = base;
  const Cp = align(Xp + block * d * 4);
  const buf = pq.memory.buffer;
  for (let i0 = lo; i0 < hi; i0 += block) {
    const nb = Math.min(block, hi - i0);
    new Float32Array(buf, Xp, nb * d).set(x.subarray(i0 * d, (i0 + nb) * d));
    kern.pq_compute_codes(Xp, nb, pq.cT, pq.M, pq.ksub, pq.dsub, pq.nbits, Cp);
    codes.set(new Uint8Array(buf, Cp, nb * codeSize), i0 * codeSize);
  }
}

/** Computes n look-up tables (L2 or IP) of x (n*d floats) in slot `slot` of the quantizer's memory. */
export function pqTables(pq: PQKernelRef, metric: number, x: Float32Array, n: number, slot: number, out = new Float32Array(n * pq.M * pq.ksub)): Float32Array {
  const d = pq.M * pq.dsub;
  const tab = pq.M * pq.ksub;
  const kern = kernelsFor(pq.memory);
  const base = Segment.slotOffset(slot);
  const block = Math.max(1, Math.floor((SLOT_BYTES - 64) / ((d + tab) * 4)));
  if ((d + tab) * 4 + 64 > SLOT_BYTES) throw new RangeError(`PQ look-up table of ${tab} floats does not fit a scratch slot`);
  const Xp = base;
  const Tp = align(Xp + block * d * 4);
  const buf = pq.memory.buffer;
  for (let i0 = 0; i0 < n; i0 += block) {
    const nb = Math.min(block, n - i0);
    new Float32Array(buf, Xp, nb * d).set(x.subarray(i0 * d, (i0 + nb) * d));
    kern.pq_distance_tables(metric, Xp, nb, pq.cT, pq.M, pq.ksub, pq.dsub, Tp);
    out.set(new Float32Array(buf, Tp, nb * tab), i0 * tab);
  }
  return out;
}

export interface PQAssignTask {
  /** memory holding k centroids of dimension dsub, transposed, at cT */
  memory: WebAssembly.Memory;
  cT: number;
  k: number;
  dsub: number;
  /** vectors, n*dsub floats */
  x: Float32Array;
  /** output, size n */
  labels: BigInt64Array;
  /** output, size n */
  distances: Float32Array;
}

/** Nearest centroid of vectors [lo, hi) (k-means assignment of PQ training), in scratch slot `slot`. */
export function pqAssignRange(task: PQAssignTask, lo: number, hi: number, slot: number): void {
  const { memory, cT, k, dsub, x } = task;
  const kern = kernelsFor(memory);
  const base = Segment.slotOffset(slot);
  const block = Math.max(1, Math.min(65536, Math.floor((SLOT_BYTES - 64) / (dsub * 4 + 12))));
  const Xp = base;
  const Lp = align(Xp + block * dsub * 4);
  const Dp = align(Lp + block * 8);
  const buf = memory.buffer;
  for (let i0 = lo; i0 < hi; i0 += block) {
    const nb = Math.min(block, hi - i0);
    new Float32Array(buf, Xp, nb * dsub).set(x.subarray(i0 * dsub, (i0 + nb) * dsub));
    kern.pq_assign(Xp, nb, cT, k, dsub, Lp, Dp);
    task.labels.set(new BigInt64Array(buf, Lp, nb), i0);
    task.distances.set(new Float32Array(buf, Dp, nb), i0);
  }
}

// ---- flat codes (IndexPQ) ---------------------------------------------------------------------

export interface PQKnnTask {
  metric: number; // 1 = L2, 0 = inner product
  k: number;
  pq: PQKernelRef;
  /** Sum the look-ups by groups of 4 (Faiss's IndexPQ when M % 4 == 0). */
  grouped: boolean;
  /** the code segments, in id order */
  segments: PQSegmentRef[];
  /** queries, n*d floats */
  x: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

/** Scratch bytes of a flat PQ scan in a code segment's slot: table, heap. */
function flatLayout(pq: PQKernelRef, k: number): { table: number; hd: number; hi: number; end: number } {
  const table = 0;
  const hd = align(table + pq.M * pq.ksub * 4);
  const hi = align(hd + k * 4);
  return { table, hd, hi, end: hi + k * 8 };
}

/** k-NN of queries [q0, q1) over flat PQ codes, on scratch slot `slot`. */
export function pqKnnRange(task: PQKnnTask, q0: number, q1: number, slot: number): void {
  const { pq, k, metric, segments } = task;
  const d = pq.M * pq.dsub;
  const tabFloats = pq.M * pq.ksub;
  const isMax = metric === 1 ? 1 : 0;
  const base = Segment.slotOffset(slot);
  const lay = flatLayout(pq, k);
  if (lay.end > SLOT_BYTES || align(d * 4) + tabFloats * 4 > SLOT_BYTES) {
    throw new RangeError(`IndexPQ search: k = ${k} with a table of ${tabFloats} floats does not fit a scratch slot`);
  }
  const pqKern = kernelsFor(pq.memory);
  const pqBuf = pq.memory.buffer;
  const Xp = base;
  const Tp = base + align(d * 4);
  const grouped = task.grouped ? 1 : 0;
  for (let i = q0; i < q1; i++) {
    new Float32Array(pqBuf, Xp, d).set(task.x.subarray(i * d, (i + 1) * d));
    pqKern.pq_distance_table(metric, Xp, pq.cT, pq.M, pq.ksub, pq.dsub, Tp);
    const table = new Float32Array(pqBuf, Tp, tabFloats);
    let idBase = 0n;
    let prev: PQSegmentRef | undefined;
    const o = i * k;
    for (const seg of segments) {
      if (seg.count === 0) continue;
      const kern = kernelsFor(seg.memory);
      const buf = seg.memory.buffer;
      new Float32Array(buf, base + lay.table, tabFloats).set(table);
      if (prev === undefined) {
        kern.heap_heapify(isMax, 1, k, base + lay.hd, base + lay.hi);
      } else {
        new Uint8Array(buf, base + lay.hd, lay.end - lay.hd).set(new Uint8Array(prev.memory.buffer, base + lay.hd, lay.end - lay.hd));
      }
      kern.pq_scan(isMax, seg.dataOffset, seg.count, pq.M, pq.nbits, base + lay.table, grouped, 0, k, base + lay.hd, base + lay.hi, idBase);
      idBase += BigInt(seg.count);
      prev = seg;
    }
    if (prev === undefined) {
      task.distances.fill(isMax ? 3.4028234663852886e38 : -3.4028234663852886e38, o, o + k);
      task.labels.fill(-1n, o, o + k);
      continue;
    }
    kernelsFor(prev.memory).heap_reorder(isMax, 1, k, base + lay.hd, base + lay.hi);
    task.distances.set(new Float32Array(prev.memory.buffer, base + lay.hd, k), o);
    task.labels.set(new BigInt64Array(prev.memory.buffer, base + lay.hi, k), o);
  }
}

// ---- inverted lists (IndexIVFPQ) ------------------------------------------------------------------

/** How a list's table is made (Faiss's QueryTables). */
export const IvfPQMode = {
  /** The query's own table (L2 or IP) for every list, dis0 = 0: not by residual. */
  QueryTable: 0,
  /** Inner product by residual: the query's IP table, dis0 = <q, centroid>. */
  InnerProductResidual: 1,
  /** L2 by residual with precomputed tables: table = pre[list] - 2 * IPtable(q), dis0 = ||q - centroid||^2. */
  Precomputed: 2,
  /** L2 by residual without them: the L2 table of the residual q - centroid, dis0 = 0. */
  ResidualTable: 3,
} as const;

/** What the 'pq' list scanner reads (IvfSearchTask.pq, from IndexIVFPQ's scanArgs()). */
export interface IvfPQScanData {
  /** The index's working memory: transposed centroids at pq.cT, precomputed tables at `pre`. */
  pq: PQKernelRef;
  mode: number;
  /** Byte offset of the precomputed tables (nlist * M * ksub floats) in pq.memory (mode Precomputed). */
  pre: number;
  /** Byte offset of a copy of the coarse centroids (nlist * d floats) in pq.memory (mode Precomputed). */
  centroids: number;
  /**
   * Byte offset in pq.memory of room for PQ_BATCH_QUERIES queries (d floats each) then their
   * inner-product tables (M * ksub floats each), for list-by-list batches (mode Precomputed).
   */
  batch: number;
  /** Where the coarse centroids are (nlist vectors of d floats, in order over the segments). */
  coarse: PQSegmentRef[];
}

/** The scratch slot a pointer is in (ivfSearchRange gives the scanner the query's address in its slot). */
const slotBase = (p: number): number => Math.floor(p / SLOT_BYTES) * SLOT_BYTES;

/** The working memory's scratch slot while pqIvfSetup makes a query's table: the query, then the table. */
function ivfLayout(pq: PQKernelRef): { q: number; table: number; end: number } {
  const d = pq.M * pq.dsub;
  const q = 0;
  const table = align(q + d * 4);
  return { q, table, end: table + pq.M * pq.ksub * 4 };
}

/** List entries (codes, then their ids) that fit the slot at `base` from `at` on. */
export function listPiece(base: number, at: number, codeSize: number): number {
  return Math.floor((base + SLOT_BYTES - at - 64) / (align(codeSize, 8) + 8));
}

/**
 * Copies entries [j0, j0 + m) of list l, their codes to `at` and their ids after them (8-aligned),
 * from the list's memory to the working memory (w8); returns where the ids went. views: one byte
 * view per list memory, made the first time that memory is read (a search touches few of many
 * segments; a shared memory's `buffer` is a call into the runtime).
 */
export function copyListPiece(w8: Uint8Array, lists: ListTable, views: Uint8Array[], l: number, j0: number, m: number, codeSize: number, at: number): number {
  const { memories, table } = lists;
  const seg = table[l * 4]!;
  const src = (views[seg] ??= new Uint8Array(memories[seg]!.buffer));
  const codes = table[l * 4 + 1]! + j0 * codeSize;
  const ids = table[l * 4 + 2]! + j0 * 8;
  const idsAt = at + align(m * codeSize, 8);
  w8.set(src.subarray(codes, codes + m * codeSize), at);
  w8.set(src.subarray(ids, ids + m * 8), idsAt);
  return idsAt;
}

/** Queries of a list-by-list IVFPQ batch chunk (search/pqScanByList), whose tables the working memory holds. */
export const PQ_BATCH_QUERIES = 256;

/** Queries whose inner-product tables pqIvfL2ResidualRange makes at once (precomputed tables). */
const PRECOMPUTED_QUERY_BLOCK = 16;

/** The coarse centroid of list l (a view, no copy). */
function centroid(coarse: PQSegmentRef[], l: number, d: number): Float32Array {
  let base = 0;
  for (const seg of coarse) {
    if (l < base + seg.count) return new Float32Array(seg.memory.buffer, seg.dataOffset + (l - base) * d * 4, d);
    base += seg.count;
  }
  throw new RangeError(`IVFPQ: list ${l} has no coarse centroid (${base} centroids)`);
}

/**
 * The 'pq' scanner's setup (search/ivfScan), when a query starts on a list memory: the query's
 * tables in the working memory (same slot as the query's); the query table itself goes to `ext` in
 * the list memory when every list uses it.
 */
export function pqIvfSetup(mem: WebAssembly.Memory, t: IvfSearchTask, q: number, ext: number): void {
  const sd = t.pq!;
  const { pq } = sd;
  const d = t.d;
  const tabFloats = pq.M * pq.ksub;
  const base = slotBase(q);
  const lay = ivfLayout(pq);
  if (lay.end > SLOT_BYTES || ext + tabFloats * 4 > base + SLOT_BYTES) {
    throw new RangeError(`IVFPQ search: look-up tables of ${pq.M} x ${pq.ksub} floats with k = ${t.k} do not fit a scratch slot`);
  }
  const kern = kernelsFor(pq.memory);
  const buf = pq.memory.buffer;
  new Float32Array(buf, base + lay.q, d).set(new Float32Array(mem.buffer, q, d));
  switch (sd.mode) {
    case IvfPQMode.QueryTable:
    case IvfPQMode.InnerProductResidual:
      kern.pq_distance_table(sd.mode === IvfPQMode.QueryTable ? t.metric : 0, base + lay.q, pq.cT, pq.M, pq.ksub, pq.dsub, base + lay.table);
      new Float32Array(mem.buffer, ext, tabFloats).set(new Float32Array(buf, base + lay.table, tabFloats));
      break;
    default:
      break;
  }
}

/**
 * The 'pq' list scanner, for the query's own table (not by residual) and for inner product by
 * residual (dis0 = <q, centroid>): the list scanned in place with the table pqIvfSetup put at `ext`.
 * L2 by residual runs pqIvfL2ResidualRange instead.
 */
export function pqIvfScan(kern: WasmKernels, t: IvfSearchTask, q: number, codes: number, ids: number, n: number, hd: number, hi: number, tmp: number, listNo: number, ext: number, mem: WebAssembly.Memory): void {
  void tmp;
  const sd = t.pq!;
  const { pq } = sd;
  const d = t.d;
  let dis0 = 0;
  if (sd.mode === IvfPQMode.InnerProductResidual) {
    const qv = new Float32Array(mem.buffer, q, d);
    const c = centroid(sd.coarse, listNo, d);
    for (let j = 0; j < d; j++) dis0 += qv[j]! * c[j]!;
  }
  kern.pq_scan_ids(t.metric === 1 ? 1 : 0, codes, ids, n, pq.M, pq.nbits, ext, 0, dis0, t.k, hd, hi);
}

/**
 * IVF search of queries [lo, hi) (or probes [lo, hi) with splitProbes, as ivfSearchRange) for L2 by
 * residual, on scratch slot `slot` of the working memory: each probed list's codes and ids are
 * copied there (in pieces if long) and one kernel call makes the list's table and scans it, the heap
 * staying there for the whole query.
 *  - With precomputed tables (pq_ivf_precomputed_list): table = pre[list] - 2 * sim2[query], dis0 =
 *    ||q - c|| from the copy of the centroids beside the tables. The queries' inner-product tables
 *    are made a block of queries at a time (the sub-quantizers' centroids read once for the block,
 *    not evicted between its queries by the precomputed tables streaming through).
 *  - Without (pq_ivf_residual_list): the list's centroid is copied in, and the table is the
 *    residual's own.
 */
export function pqIvfL2ResidualRange(task: IvfSearchTask, lo: number, hi: number, slot: number): void {
  const { d, k, nprobe, coarse, maxCodes } = task;
  const { table } = task.lists;
  const sd = task.pq!;
  const { pq } = sd;
  const precomputed = sd.mode === IvfPQMode.Precomputed;
  const tabFloats = pq.M * pq.ksub;
  const codeSize = Math.ceil((pq.M * pq.nbits) / 8);
  const base = Segment.slotOffset(slot);
  // the slot: a block of queries (and their inner-product tables), the residual and the centroid,
  // the list's table, the heap, then the list's codes and ids
  const block = precomputed ? Math.max(1, Math.min(PRECOMPUTED_QUERY_BLOCK, Math.floor(SLOT_BYTES / 2 / (tabFloats * 4 + d * 4)))) : 1;
  const Q = base;
  const SIM2 = align(Q + block * d * 4);
  const R = align(SIM2 + (precomputed ? block * tabFloats * 4 : 0));
  const CENT = align(R + d * 4);
  const TAB = align(CENT + d * 4);
  const HD = align(TAB + tabFloats * 4);
  const HI = align(HD + k * 4);
  const CODES = align(HI + k * 8);
  const piece = listPiece(base, CODES, codeSize);
  if (piece < 1) throw new RangeError(`IVFPQ search: look-up tables of ${pq.M} x ${pq.ksub} floats with k = ${k} do not fit a scratch slot`);
  const kern = kernelsFor(pq.memory);
  // a shared memory's `buffer` is a new object at each access: read once per memory
  const wbuf = pq.memory.buffer;
  const w8 = new Uint8Array(wbuf);
  const wf = new Float32Array(wbuf);
  const views: Uint8Array[] = [];
  const { q0, q1, p0, p1, outBase } = rangeBounds(task, lo, hi, slot);
  for (let b0 = q0; b0 < q1; b0 += block) {
    const nb = Math.min(block, q1 - b0);
    wf.set(task.x.subarray(b0 * d, (b0 + nb) * d), Q >> 2);
    if (precomputed) kern.pq_distance_tables(0, Q, nb, pq.cT, pq.M, pq.ksub, pq.dsub, SIM2);
    for (let i = b0; i < b0 + nb; i++) {
      const q = Q + (i - b0) * d * 4;
      const sim2 = SIM2 + (i - b0) * tabFloats * 4;
      kern.heap_heapify(1, 1, k, HD, HI);
      let scanned = 0;
      for (let p = p0; p < p1; p++) {
        const l = coarse[i * nprobe + p]!;
        const n = probedCount(table, l, maxCodes, scanned);
        if (n < 0) break;
        if (n === 0) continue;
        if (!precomputed) wf.set(centroid(sd.coarse, l, d), CENT >> 2);
        for (let j0 = 0; j0 < n; j0 += piece) {
          const m = Math.min(piece, n - j0);
          const idsAt = copyListPiece(w8, task.lists, views, l, j0, m, codeSize, CODES);
          if (precomputed) kern.pq_ivf_precomputed_list(q, sd.centroids + l * d * 4, d, sd.pre + l * tabFloats * 4, sim2, TAB, j0 === 0 ? 1 : 0, pq.M, pq.nbits, CODES, idsAt, m, k, HD, HI);
          else kern.pq_ivf_residual_list(q, CENT, d, pq.cT, pq.M, pq.nbits, pq.dsub, R, TAB, CODES, idsAt, m, k, HD, HI);
        }
        scanned += n;
      }
      kern.heap_reorder(1, 1, k, HD, HI);
      const o = outBase + i * k;
      task.distances.set(new Float32Array(wbuf, HD, k), o);
      task.labels.set(new BigInt64Array(wbuf, HI, k), o);
    }
  }
}
