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
import type { IvfPQScanData } from './pqScan.js';
import { pqSearchThreadLists } from './pqScanByList.js';

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
  /** Product-quantizer codes with precomputed tables (search/pqScanByList). */
  pq?: IvfPQScanData;
}

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Faiss's QT_fp16. */
const FP16 = 4;

/** Vectors decoded per block of an sq list: 0, as many as the slot's last quarter holds (tests set fewer, on this thread). */
export const byListLimits = { decodeBlock: 0 };

/** Fewest queries a kernel call gathers, when the chunk's queries leave the least room. */
const MIN_GATHER = 32;

/** Bytes the gathered block of q queries takes with the kernel's scratch (knn_batch_tmp_bytes). */
function gatherBytes(d: number, k: number, yb: number, q: number): number {
  return yb * (4 + d * 4) + 256 + q * (d * 4 + k * 12 + 4 + yb * 4 + 32);
}

/**
 * Queries per chunk of a batch: each thread keeps the chunk's heaps, queries and (query, list)
 * pairs in its scratch slot (k*12 + d*4 + nprobe*4 bytes a query), before a block of gathered
 * queries and the sq decoding room (the slot's last quarter).
 */
export function byListChunk(k: number, d: number, nprobe: number): number {
  const room = (SLOT_BYTES * 3) / 4 - gatherBytes(d, k, vectorBlock(d), MIN_GATHER) - d * 4 - 256;
  return Math.max(1, Math.floor(room / (k * 12 + d * 4 + nprobe * 4)));
}

/** Queries gathered per kernel call for dimension d and k, in `room` bytes (Q block, heaps, the kernel's tmp). */
function gatherBlock(d: number, k: number, yb: number, room: number): number {
  let q = 256;
  while (q > 1 && gatherBytes(d, k, yb, q) > room) q--;
  return q;
}

/** Runs thread `t`'s lists (the range [t, t+1) handed out by parallelFor), on scratch slot `slot`. */
export function ivfSearchByListRange(task: IvfByListTask, t0: number, t1: number, slot: number): void {
  for (let t = t0; t < t1; t++) {
    if (task.pq !== undefined) pqSearchThreadLists(task, t, slot);
    else searchThreadLists(task, t, slot);
  }
}

function searchThreadLists(task: IvfByListTask, t: number, slot: number): void {
  const { d, k, metric, nq, x } = task;
  const { memories, table } = task.lists;
  const isMax = metric === 1 ? 1 : 0;
  const yb = vectorBlock(d);
  const sq = task.sq;
  const base = Segment.slotOffset(slot);
  // the slot's first half: the chunk's heaps, queries and (query, list) pairs
  const HEAPD = base;
  const HEAPI = align(HEAPD + nq * k * 4, 16);
  const XALL = align(HEAPI + nq * k * 8, 16);
  const QOF = align(XALL + nq * d * 4, 16);
  const CSUBp = align(QOF + task.queryOf.length * 4, 16);
  // then a block of gathered queries and their heaps, and the kernel's scratch
  const Qp = align(CSUBp + d * 4, 16);
  // sq: the quantizer's tables, eight vectors' decoding room, and a block of decoded vectors packed
  // for the blocked kernel with their squared norms, in the slot's last quarter
  const TABp = base + (SLOT_BYTES * 3) / 4;
  const qb = gatherBlock(d, k, yb, TABp - Qp);
  const HDp = align(Qp + qb * d * 4, 16);
  const HIp = align(HDp + qb * k * 4, 16);
  const TMPp = align(HIp + qb * k * 8, 16);
  if (Qp + gatherBytes(d, k, yb, qb) > TABp) throw new RangeError(`IVF list-by-list search: d = ${d}, k = ${k} and ${nq} queries do not fit a scratch slot`);
  const BUFp = align(TABp + (sq !== undefined ? sqTablesBytes(d) : 0), 16);
  const DECp = align(BUFp + 8 * d * 4, 16);
  const roomBlock = Math.floor((base + SLOT_BYTES - DECp - 64) / (d * 4 + 4) / 8) * 8;
  const decBlock = byListLimits.decodeBlock > 0 ? byListLimits.decodeBlock : Math.max(8, roomBlock);
  const NORMSp = align(DECp + Math.ceil(decBlock / 8) * 8 * d * 4, 16);
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
    const f32 = new Float32Array(buf);
    kern.heap_heapify(isMax, nq, k, HEAPD, HEAPI);
    f32.set(x.subarray(0, nq * d), XALL >> 2);
    new Int32Array(buf, QOF, task.queryOf.length).set(task.queryOf);
    if (sq !== undefined) f32.set(sq.tables, TABp >> 2);
    for (const l of lists) {
      const n = table[l * 4 + 3]!;
      const q0 = task.queryStart[l]!;
      const q1 = task.queryStart[l + 1]!;
      if (queryResidual !== undefined) f32.set(queryResidual.subarray(l * d, (l + 1) * d), CSUBp >> 2);
      if (offsetResidual !== undefined) {
        // this list's offsets: B + c
        const Bo = (TABp >> 2) + dp;
        for (let j = 0; j < d; j++) f32[Bo + j] = sq!.tables[dp + j]! + offsetResidual[l * d + j]!;
      }
      // flat lists are searched in place; sq lists block by block, decoded and packed
      const block = sq !== undefined ? decBlock : n;
      for (let v0 = 0; v0 < n; v0 += block) {
        const nb = Math.min(block, n - v0);
        const ids = table[l * 4 + 2]! + v0 * 8;
        const csub = queryResidual !== undefined ? CSUBp : 0;
        if (sq !== undefined) {
          kern.sq_decode_packed(sq.qtype, TABp, d, table[l * 4 + 1]! + v0 * cs, nb, DECp, NORMSp, BUFp);
          kern.knn_list_batch(metric, XALL, QOF + q0 * 4, q1 - q0, DECp, NORMSp, 1, d, nb, k, HEAPD, HEAPI, ids, Qp, HDp, HIp, qb, csub, TMPp, yb);
        } else {
          kern.knn_list_batch(metric, XALL, QOF + q0 * 4, q1 - q0, table[l * 4 + 1]!, 0, 0, d, nb, k, HEAPD, HEAPI, ids, Qp, HDp, HIp, qb, csub, TMPp, yb);
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
