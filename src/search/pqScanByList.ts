/**
 * @module search/pqScanByList
 * Batched IVFPQ search list by list, for L2 by residual with precomputed tables (Faiss's
 * use_precomputed_table = 1, IndexIVFPQ's default when the tables fit). A list's table is
 * pre[list] - 2 * sim2[query]: one query at a time (search/pqScan, pqIvfL2ResidualRange), every
 * probe reads its list's precomputed table (M * ksub floats, 64 KiB for PQ64) from memory, and at
 * nprobe 32 that traffic is most of the search. List by list, a chunk of queries' inner-product
 * tables is made first (in the working memory's batch room), then each probed list's codes are
 * copied once and scanned for every query of the chunk that probes it, its precomputed table read
 * once for all of them (pq_ivf_precomputed_queries). The tables, dis0 and sums are those of one
 * query at a time; only the order in which a query meets its lists changes (list order, not probe
 * order), which matters for exactly equal distances in different lists alone.
 *
 * Work split: the probed lists are dealt to threads as for flat and scalar-quantizer lists
 * (search/ivfScanByList); each thread keeps the chunk's heaps in its scratch slot of the working
 * memory, and the caller merges the threads' heaps.
 */
import { kernelsFor } from '../kernels/wasm.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import type { IvfByListTask } from './ivfScanByList.js';
import { PQ_BATCH_QUERIES, copyListPiece, listPiece, type IvfPQScanData } from './pqScan.js';

const align = (v: number, a = 16): number => Math.ceil(v / a) * a;

/**
 * Queries in a chunk: the working memory's batch room, and at most as many as leave half a scratch
 * slot to a list's table and codes after their heaps and (query, list) pairs.
 */
export function pqByListChunk(k: number, nprobe: number): number {
  return Math.max(1, Math.min(PQ_BATCH_QUERIES, Math.floor(SLOT_BYTES / 2 / (k * 12 + nprobe * 4))));
}

/** Writes a chunk's nq queries (nq*d floats) and their inner-product tables to the batch room. */
export function pqByListPrepare(sd: IvfPQScanData, x: Float32Array, nq: number, d: number): void {
  if (nq > PQ_BATCH_QUERIES) throw new RangeError(`IVFPQ list-by-list search: a chunk of ${nq} queries exceeds ${PQ_BATCH_QUERIES}`);
  const { pq } = sd;
  new Float32Array(pq.memory.buffer, sd.batch, nq * d).set(x.subarray(0, nq * d));
  kernelsFor(pq.memory).pq_distance_tables(0, sd.batch, nq, pq.cT, pq.M, pq.ksub, pq.dsub, tablesAt(sd, d));
}

/** Where the batch room's tables start. */
const tablesAt = (sd: IvfPQScanData, d: number): number => align(sd.batch + PQ_BATCH_QUERIES * d * 4);

/** Thread t's lists of a list-by-list IVFPQ chunk, on scratch slot `slot` of the working memory. */
export function pqSearchThreadLists(task: IvfByListTask, t: number, slot: number): void {
  const { d, k, nq } = task;
  const { table } = task.lists;
  const sd = task.pq!;
  const { pq } = sd;
  const tabFloats = pq.M * pq.ksub;
  const codeSize = Math.ceil((pq.M * pq.nbits) / 8);
  const base = Segment.slotOffset(slot);
  const HEAPD = base;
  const HEAPI = align(HEAPD + nq * k * 4);
  const QOF = align(HEAPI + nq * k * 8);
  const TAB = align(QOF + task.queryOf.length * 4);
  const CODES = align(TAB + tabFloats * 4);
  const piece = listPiece(base, CODES, codeSize);
  if (piece < 1) throw new RangeError(`IVFPQ list-by-list search: ${nq} queries with k = ${k} do not fit a scratch slot`);
  const kern = kernelsFor(pq.memory);
  // a shared memory's `buffer` is a new object at each access: read once per memory
  const wbuf = pq.memory.buffer;
  const w8 = new Uint8Array(wbuf);
  const views: Uint8Array[] = [];
  const SIM2 = tablesAt(sd, d);
  kern.heap_heapify(1, nq, k, HEAPD, HEAPI);
  new Int32Array(wbuf, QOF, task.queryOf.length).set(task.queryOf);
  for (let i = task.threadStart[t]!; i < task.threadStart[t + 1]!; i++) {
    const l = task.listOrder[i]!;
    const n = table[l * 4 + 3]!;
    const q0 = task.queryStart[l]!;
    const q1 = task.queryStart[l + 1]!;
    for (let j0 = 0; j0 < n; j0 += piece) {
      const m = Math.min(piece, n - j0);
      const idsAt = copyListPiece(w8, task.lists, views, l, j0, m, codeSize, CODES);
      kern.pq_ivf_precomputed_queries(sd.batch, SIM2, QOF + q0 * 4, q1 - q0, sd.centroids + l * d * 4, d, sd.pre + l * tabFloats * 4, TAB, pq.M, pq.nbits, CODES, idsAt, m, k, HEAPD, HEAPI);
    }
  }
  kern.heap_reorder(1, nq, k, HEAPD, HEAPI);
  task.distances.set(new Float32Array(wbuf, HEAPD, nq * k), t * nq * k);
  task.labels.set(new BigInt64Array(wbuf, HEAPI, nq * k), t * nq * k);
}
