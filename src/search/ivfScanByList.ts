/**
 * @module search/ivfScanByList
 * Batched IVF search list by list (flat codes, and scalar-quantizer codes): when many queries of a
 * batch probe the same list, the list is read once and scanned against all of them with the blocked
 * kernel (queries x list vectors, as a matrix product), instead of once per query with one-to-many
 * distances. At nprobe 16 over 1000 queries and 1024 lists, each list serves ~16 queries: the scan
 * turns from memory-bound to compute-bound.
 *
 * Scalar-quantizer lists are decoded once per list (sq_decode, blocks of a quarter slot) and the
 * decoded block is searched as flat vectors. Codes of residuals decode to c + r, the list's centroid
 * added to the quantizer's offsets (B + c): the queries are searched as they are, against the
 * vectors Faiss's distances ||(q - c) - r||^2 and <q, c> + <q, r> refer to. fp16 codes, which
 * decode without offsets, are searched with the queries' residuals q - c instead (L2 only).
 *
 * Work split: the probed lists are dealt to threads (largest work first, to the least loaded); each
 * thread keeps a top-k heap per query of the chunk in its scratch slot, and the caller merges the
 * threads' heaps.
 */
import { kernelsFor } from '../kernels/wasm.js';
import type { ListTable } from '../invlists/InvertedLists.js';
import { Heap } from '../kernels/reference.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import { vectorBlock } from './exhaustive.js';
import { codeSizeOf, sqTablesBytes, type SqScanArgs } from './sqScan.js';

export interface IvfByListTask {
  metric: number;
  d: number;
  k: number;
  lists: ListTable;
  /** queries, nq*d floats */
  x: Float32Array;
  nq: number;
  /** Lists of thread t: listOrder[threadStart[t] .. threadStart[t+1]) */
  threadStart: Int32Array;
  listOrder: Int32Array;
  /** Queries probing list l: queryOf[queryStart[l] .. queryStart[l+1]) */
  queryStart: Int32Array;
  queryOf: Int32Array;
  /** output of thread t: rows [t*nq, (t+1)*nq) of k results */
  distances: Float32Array;
  labels: BigInt64Array;
  /** Scalar-quantizer codes (else flat vectors). */
  sq?: SqScanArgs;
}

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Faiss's QT_fp16. */
const FP16 = 4;

/** Vectors decoded per block of an sq list: 0, as many as the slot's last quarter holds (tests set fewer, on this thread). */
export const byListLimits = { decodeBlock: 0 };

/** Queries whose heaps fit a quarter of a slot (the batch is cut into chunks of this many). */
export function byListChunk(k: number): number {
  return Math.max(1, Math.floor(SLOT_BYTES / 4 / (k * 12)));
}

/** Block of gathered queries per kernel call for dimension d and k (the slot's second and third quarters). */
function gatherBlock(d: number, k: number, yb: number): number {
  const budget = SLOT_BYTES / 2 - yb * (4 + d * 4) - 256;
  return Math.max(1, Math.min(256, Math.floor(budget / (d * 4 + k * 12 + 4 + yb * 4 + 32))));
}

/** Runs thread `t`'s lists (the range [t, t+1) handed out by parallelFor), on scratch slot `slot`. */
export function ivfSearchByListRange(task: IvfByListTask, t0: number, t1: number, slot: number): void {
  for (let t = t0; t < t1; t++) searchThreadLists(task, t, slot);
}

function searchThreadLists(task: IvfByListTask, t: number, slot: number): void {
  const { d, k, metric, nq, x } = task;
  const { memories, table } = task.lists;
  const isMax = metric === 1 ? 1 : 0;
  const yb = vectorBlock(d);
  const sq = task.sq;
  const qb = gatherBlock(d, k, yb);
  const base = Segment.slotOffset(slot);
  const HEAPD = base;
  const HEAPI = align(HEAPD + nq * k * 4, 16);
  const Qp = align(HEAPI + nq * k * 8, 16);
  const HDp = align(Qp + qb * d * 4, 16);
  const HIp = align(HDp + qb * k * 4, 16);
  const TMPp = align(HIp + qb * k * 8, 16);
  // sq: the quantizer's tables and a block of decoded vectors in the slot's last quarter
  const TABp = base + (SLOT_BYTES * 3) / 4;
  const DECp = align(TABp + (sq !== undefined ? sqTablesBytes(d) : 0), 16);
  const decBlock = byListLimits.decodeBlock > 0 ? byListLimits.decodeBlock : Math.max(1, Math.floor((base + SLOT_BYTES - DECp) / (d * 4)));
  const cs = sq !== undefined ? codeSizeOf(sq.qtype, d) : d * 4;
  const residual = sq?.byResidual === true ? sq.centroids! : undefined;
  const dp = (d + 3) & ~3;
  // fp16 codes decode without offsets: their residuals are met with the queries' (L2 only)
  const queryResidual = residual !== undefined && sq!.qtype === FP16 ? residual : undefined;
  const offsetResidual = queryResidual === undefined ? residual : undefined;
  const outD = task.distances.subarray(t * nq * k, (t + 1) * nq * k);
  const outI = task.labels.subarray(t * nq * k, (t + 1) * nq * k);
  const start = task.threadStart[t]!;
  const end = task.threadStart[t + 1]!;
  // lists grouped by the segment that holds them; one set of heaps per segment, merged at the end
  const bySeg = new Map<number, number[]>();
  for (let i = start; i < end; i++) {
    const l = task.listOrder[i]!;
    const seg = table[l * 4]!;
    let g = bySeg.get(seg);
    if (g === undefined) bySeg.set(seg, (g = []));
    g.push(l);
  }
  let first = true;
  for (const [seg, lists] of bySeg) {
    const mem = memories[seg]!;
    const kern = kernelsFor(mem);
    const buf = mem.buffer;
    const u8 = new Uint8Array(buf);
    const f32 = new Float32Array(buf);
    kern.heap_heapify(isMax, nq, k, HEAPD, HEAPI);
    if (sq !== undefined) f32.set(sq.tables, TABp >> 2);
    for (const l of lists) {
      const n = table[l * 4 + 3]!;
      const q0 = task.queryStart[l]!;
      const q1 = task.queryStart[l + 1]!;
      // flat lists are searched in place; sq lists block by block, decoded
      const block = sq !== undefined ? decBlock : n;
      for (let v0 = 0; v0 < n; v0 += block) {
        const nb = Math.min(block, n - v0);
        let Y = table[l * 4 + 1]!;
        if (offsetResidual !== undefined && v0 === 0) {
          // this list's offsets: B + c
          const Bo = (TABp >> 2) + dp;
          for (let j = 0; j < d; j++) f32[Bo + j] = sq!.tables[dp + j]! + offsetResidual[l * d + j]!;
        }
        if (sq !== undefined) {
          kern.sq_decode(sq.qtype, TABp, d, Y + v0 * cs, nb, DECp);
          Y = DECp;
        }
        const ids = table[l * 4 + 2]! + v0 * 8;
        for (let c0 = q0; c0 < q1; c0 += qb) {
          const m = Math.min(qb, q1 - c0);
          for (let r = 0; r < m; r++) {
            const q = task.queryOf[c0 + r]!;
            const qo = (Qp >> 2) + r * d;
            if (queryResidual !== undefined) {
              for (let j = 0; j < d; j++) f32[qo + j] = x[q * d + j]! - queryResidual[l * d + j]!;
            } else {
              f32.set(x.subarray(q * d, (q + 1) * d), qo);
            }
            u8.copyWithin(HDp + r * k * 4, HEAPD + q * k * 4, HEAPD + (q + 1) * k * 4);
            u8.copyWithin(HIp + r * k * 8, HEAPI + q * k * 8, HEAPI + (q + 1) * k * 8);
          }
          kern.knn_batch(metric, Qp, m, Y, d, nb, k, HDp, HIp, 0n, ids, TMPp, yb);
          for (let r = 0; r < m; r++) {
            const q = task.queryOf[c0 + r]!;
            u8.copyWithin(HEAPD + q * k * 4, HDp + r * k * 4, HDp + (r + 1) * k * 4);
            u8.copyWithin(HEAPI + q * k * 8, HIp + r * k * 8, HIp + (r + 1) * k * 8);
          }
        }
      }
    }
    kern.heap_reorder(isMax, nq, k, HEAPD, HEAPI);
    const segD = new Float32Array(buf, HEAPD, nq * k);
    const segI = new BigInt64Array(buf, HEAPI, nq * k);
    if (first) {
      outD.set(segD);
      outI.set(segI);
      first = false;
    } else {
      mergeInto(outD, outI, segD, segI, nq, k, isMax === 1);
    }
  }
  if (first) {
    outD.fill(isMax ? 3.4028234663852886e38 : -3.4028234663852886e38);
    outI.fill(-1n);
  }
}

/** Merges sorted results b into sorted results a (n rows of k), keeping the k best of each row. */
export function mergeInto(aD: Float32Array, aI: BigInt64Array, bD: Float32Array, bI: BigInt64Array, n: number, k: number, isMax: boolean): void {
  for (let i = 0; i < n; i++) {
    const h = new Heap(k, isMax);
    for (let j = 0; j < k; j++) {
      const o = i * k + j;
      if (aI[o]! >= 0n) h.push(aD[o]!, aI[o]!);
      if (bI[o]! >= 0n) h.push(bD[o]!, bI[o]!);
    }
    const r = h.reorder();
    aD.set(r.dis, i * k);
    aI.set(r.ids, i * k);
  }
}
