/**
 * @module search/sqScan
 * Where scalar-quantized codes are scanned, in place, by the SQ kernels (assembly/sq.ts):
 *  - sqKnnRange: IndexScalarQuantizer's search of a range of queries over its code segments (one
 *    query at a time with fused distance + top-k, or, for blocks of BLAS_THRESHOLD queries and more,
 *    blocks of codes decoded into the scratch slot and searched with the tiled inner-product kernel);
 *  - sqIvfSetup / sqIvfScan: the 'sq' row of IVF's list scanners (search/ivfScan).
 *
 * The kernels read the quantizer's tables (A, B: see ScalarQuantizer.kernelTables) and the query's
 * table T from the same memory as the codes: each thread copies them into its scratch slot of the
 * segment it is about to scan. Runs on any thread.
 */
import { Heap } from '../kernels/reference.js';
import { sqDistancesRef } from '../kernels/referenceSQ.js';
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import { BLAS_THRESHOLD, vectorBlock, type SegmentRef } from './exhaustive.js';
import type { IvfSearchTask } from './ivfScan.js';

const TMP_BYTES = 256 * 4;
const MAX_QUERY_BLOCK = 256;
const align = (v: number, a = 16): number => Math.ceil(v / a) * a;

/** Bytes of the kernels' tables A, B, T for dimension d. */
export function sqTablesBytes(d: number): number {
  return ((d + 3) & ~3) * 4 * 3;
}

/** Copies the quantizer's tables A, B (2*dp floats) to `tab` in memory. */
function putTables(mem: WebAssembly.Memory, tab: number, tables: Float32Array): void {
  new Float32Array(mem.buffer, tab, tables.length).set(tables);
}

// ---- IndexScalarQuantizer ---------------------------------------------------------------------

export interface SqKnnTask {
  metric: number; // 1 = L2, 0 = inner product
  d: number;
  k: number;
  /** Faiss's QuantizerType */
  qtype: number;
  /** ScalarQuantizer.kernelTables(): A then B */
  tables: Float32Array;
  segments: SegmentRef[];
  /** queries, n*d floats */
  x: Float32Array;
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k */
  labels: BigInt64Array;
}

/** Queries per block that fit a scratch slot (0: not even one, use the fallback). */
function queryBlock(d: number, k: number, batch: boolean): number {
  const yb = vectorBlock(d);
  const perQuery = d * 4 + k * 12 + (batch ? 4 + yb * 4 : 0) + 32;
  const fixed = sqTablesBytes(d) + 128 + (batch ? yb * 4 + 2 * yb * d * 4 + 128 : TMP_BYTES);
  return Math.min(MAX_QUERY_BLOCK, Math.max(0, Math.floor((SLOT_BYTES - fixed) / perQuery)));
}

/** Runs queries [q0, q1) of the task on scratch slot `slot`. */
export function sqKnnRange(task: SqKnnTask, q0: number, q1: number, slot: number): void {
  const { d, k, metric, segments, qtype, tables } = task;
  const isMax = metric === 1 ? 1 : 0;
  const batch = q1 - q0 >= BLAS_THRESHOLD;
  const qb = queryBlock(d, k, batch);
  if (qb === 0 || segments.length === 0) {
    sqKnnFallback(task, q0, q1);
    return;
  }
  const yb = vectorBlock(d);
  const base = Segment.slotOffset(slot);
  const TAB = base;
  const cs = codeSizeOf(qtype, d);
  for (let b0 = q0; b0 < q1; b0 += qb) {
    const nq = Math.min(qb, q1 - b0);
    const Qp = align(TAB + sqTablesBytes(d));
    const HDp = align(Qp + nq * d * 4);
    const HIp = align(HDp + nq * k * 4);
    const DECp = align(HIp + nq * k * 8);
    const TMPp = batch ? align(DECp + yb * d * 4) : DECp;
    let idBase = 0n;
    let prev: SegmentRef | undefined;
    for (const seg of segments) {
      const kern = kernelsFor(seg.memory);
      const buf = seg.memory.buffer;
      putTables(seg.memory, TAB, tables);
      new Float32Array(buf, Qp, nq * d).set(task.x.subarray(b0 * d, (b0 + nq) * d));
      if (prev === undefined) kern.heap_heapify(isMax, nq, k, HDp, HIp);
      else new Uint8Array(buf, HDp, DECp - HDp).set(new Uint8Array(prev.memory.buffer, HDp, DECp - HDp));
      if (batch) {
        for (let j0 = 0; j0 < seg.count; j0 += yb) {
          const nb = Math.min(yb, seg.count - j0);
          kern.sq_decode(qtype, TAB, d, seg.dataOffset + j0 * cs, nb, DECp);
          kern.knn_batch(metric, Qp, nq, DECp, d, nb, k, HDp, HIp, idBase + BigInt(j0), 0, TMPp, yb);
        }
      } else {
        for (let i = 0; i < nq; i++) {
          const dis0 = kern.sq_set_query(metric, Qp + i * d * 4, 0, 0, TAB, d);
          kern.sq_knn(qtype, metric, TAB, d, seg.dataOffset, seg.count, k, HDp + i * k * 4, HIp + i * k * 8, 0, 0, idBase, dis0, TMPp);
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

/** Bytes per code of the quantizer type qtype (Faiss's QuantizerType) in dimension d. */
export function codeSizeOf(qtype: number, d: number): number {
  if (qtype === 1 || qtype === 3) return (d + 1) >> 1;
  if (qtype === 6) return (d * 6 + 7) >> 3;
  if (qtype === 4) return 2 * d;
  return d;
}

/** Very large k (heaps beyond a scratch slot), or no codes: the TypeScript path. */
function sqKnnFallback(task: SqKnnTask, q0: number, q1: number): void {
  const { d, k, metric, segments, x, qtype, tables } = task;
  const cs = codeSizeOf(qtype, d);
  for (let i = q0; i < q1; i++) {
    const h = new Heap(k, metric === 1);
    let idBase = 0;
    for (const seg of segments) {
      const codes = new Uint8Array(seg.memory.buffer, seg.dataOffset, seg.count * cs);
      const dis = sqDistancesRef(qtype, metric === 1 ? 'L2' : 'IP', tables, d, x.subarray(i * d, (i + 1) * d), undefined, codes, seg.count);
      for (let j = 0; j < seg.count; j++) h.push(Math.fround(dis[j]!), BigInt(idBase + j));
      idBase += seg.count;
    }
    const r = h.reorder();
    task.distances.set(r.dis, i * k);
    task.labels.set(r.ids, i * k);
  }
}

// ---- IndexIVFScalarQuantizer: the 'sq' list scanner -----------------------------------------

/** What the 'sq' IVF scanner needs, carried by IvfSearchTask.sq. */
export interface SqScanArgs {
  /** Faiss's QuantizerType */
  qtype: number;
  /** ScalarQuantizer.kernelTables(): A then B */
  tables: Float32Array;
  /** Codes are of residuals to the list's centroid (Faiss's by_residual). */
  byResidual: boolean;
  /** The nlist centroids, nlist*d floats (by residual only; over a SharedArrayBuffer for workers). */
  centroids?: Float32Array;
}

/** Bytes of scratch the 'sq' scanner uses after the scan's tmp area. */
export function sqIvfScratchBytes(d: number): number {
  return sqTablesBytes(d) + align(d * 4);
}

/** A query starts on memory `mem`: copies the quantizer's tables to `ext`. */
export function sqIvfSetup(mem: WebAssembly.Memory, t: IvfSearchTask, q: number, ext: number): void {
  void q;
  const sq = t.sq!;
  if (ext + sqIvfScratchBytes(t.d) > Math.floor(ext / SLOT_BYTES) * SLOT_BYTES + SLOT_BYTES) {
    throw new RangeError(`IVF SQ search: d = ${t.d} and k = ${t.k} do not fit a scratch slot`);
  }
  putTables(mem, ext, sq.tables);
}

/** Scans one list of SQ codes: folds the query (minus the list's centroid, by residual) into T, then the top-k scan. */
export function sqIvfScan(
  kern: WasmKernels, t: IvfSearchTask, q: number, codes: number, ids: number, n: number, hd: number, hi: number,
  tmp: number, listNo: number, ext: number, mem: WebAssembly.Memory,
): void {
  const sq = t.sq!;
  const d = t.d;
  let dis0: number;
  if (sq.byResidual) {
    const c = ext + sqTablesBytes(d);
    new Float32Array(mem.buffer, c, d).set(sq.centroids!.subarray(listNo * d, (listNo + 1) * d));
    dis0 = kern.sq_set_query(t.metric, q, c, 1, ext, d);
  } else {
    dis0 = kern.sq_set_query(t.metric, q, 0, 0, ext, d);
  }
  kern.sq_knn(sq.qtype, t.metric, ext, d, codes, n, t.k, hd, hi, ids, 1, 0n, dis0, tmp);
}
