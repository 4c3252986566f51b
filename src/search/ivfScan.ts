/**
 * @module search/ivfScan
 * Where IVF scans its lists: for each query, the probed inverted lists are scanned in place (in
 * the shared memory that holds them) by the encoder's kernel, into a top-k heap in the thread's
 * scratch slot. Runs on any thread. Two ways to split the work:
 *  - over queries (batches): thread t takes queries [lo, hi) with all their probes;
 *  - over probes (one query, many lists): thread t takes probes [lo, hi) of every query and writes
 *    partial top-k results that the caller merges.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';
import type { ListTable } from '../invlists/InvertedLists.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';
import { sqIvfScan, sqIvfSetup, type SqScanArgs } from './sqScan.js';
import { IvfPQMode, pqIvfL2ResidualRange, pqIvfScan, pqIvfSetup, type IvfPQScanData } from './pqScan.js';

/** How an encoder's lists are scanned: the name of a scanner in SCANNERS. */
export type ScannerName = 'flat' | 'sq' | 'pq';

export interface IvfSearchTask {
  metric: number; // 1 = L2, 0 = inner product
  d: number;
  k: number;
  nprobe: number;
  /** Stop after this many codes per query (0: no limit), Faiss's max_codes. */
  maxCodes: number;
  scanner: ScannerName;
  lists: ListTable;
  /** queries, n*d floats */
  x: Float32Array;
  /** probed list numbers, n*nprobe, -1 for none */
  coarse: Int32Array;
  /** output, size n*k (or nparts*n*k when split over probes) */
  distances: Float32Array;
  /** output, size n*k (or nparts*n*k when split over probes) */
  labels: BigInt64Array;
  /** When set, the range given to a thread is over probes, and results go to part `part`. */
  splitProbes?: { parts: number; nq: number };
  /** The 'sq' scanner's quantizer (IndexIVFScalarQuantizer). */
  sq?: SqScanArgs;
  /** The 'pq' scanner's tables and centroids (IndexIVFPQ). */
  pq?: IvfPQScanData;
}

type Scanner = (kern: WasmKernels, t: IvfSearchTask, q: number, codes: number, ids: number, n: number, hd: number, hi: number, tmp: number, listNo: number, ext: number, mem: WebAssembly.Memory) => void;
/**
 * Optional per-scanner setup, run when a query starts on a memory (its first list, or a list in
 * another segment) after the query is copied to q: puts the encoder's tables into the scratch at
 * `ext` (after the scan's tmp area; scanners get `ext`, the list number and the memory as extra
 * arguments).
 */
type ScannerSetup = (mem: WebAssembly.Memory, t: IvfSearchTask, q: number, ext: number) => void;

/** The per-list scanners of each encoder (one row per code type). */
const SCANNERS: Record<ScannerName, Scanner> = {
  flat: (kern, t, q, codes, ids, n, hd, hi, tmp) => kern.knn_1q_ids(t.metric, q, codes, t.d, n, t.k, hd, hi, ids, tmp),
  sq: sqIvfScan,
  pq: pqIvfScan,
};

const SCANNER_SETUP: Partial<Record<ScannerName, ScannerSetup>> = {
  sq: sqIvfSetup,
  pq: pqIvfSetup,
};

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * The queries [q0, q1) and probes [p0, p1) that range [lo, hi) of a task covers (a range of
 * queries, or of probes with splitProbes), and where its results start (a part of its own when split).
 */
export function rangeBounds(task: IvfSearchTask, lo: number, hi: number, slot: number): { q0: number; q1: number; p0: number; p1: number; outBase: number } {
  const split = task.splitProbes;
  if (split === undefined) return { q0: lo, q1: hi, p0: 0, p1: task.nprobe, outBase: 0 };
  return { q0: 0, q1: split.nq, p0: lo, p1: hi, outBase: slot * split.nq * task.k };
}

/**
 * Entries of probe l to scan after `scanned` of a query's (Faiss's max_codes when maxCodes > 0):
 * 0 to skip it (no list, or empty), -1 when the query's budget is spent.
 */
export function probedCount(table: Uint32Array, l: number, maxCodes: number, scanned: number): number {
  if (l < 0) return 0;
  const n = table[l * 4 + 3]!;
  if (n === 0 || maxCodes <= 0) return n;
  const left = maxCodes - scanned;
  return left <= 0 ? -1 : Math.min(n, left);
}

/** Runs the task on queries [lo, hi), or probes [lo, hi) with splitProbes, on scratch slot `slot`. */
export function ivfSearchRange(task: IvfSearchTask, lo: number, hi: number, slot: number): void {
  if (task.scanner === 'pq' && (task.pq!.mode === IvfPQMode.Precomputed || task.pq!.mode === IvfPQMode.ResidualTable)) {
    pqIvfL2ResidualRange(task, lo, hi, slot);
    return;
  }
  const { d, k, nprobe, metric, coarse, maxCodes } = task;
  const { memories, table } = task.lists;
  const scan = SCANNERS[task.scanner];
  const setup = SCANNER_SETUP[task.scanner];
  const isMax = metric === 1 ? 1 : 0;
  const base = Segment.slotOffset(slot);
  const Qp = base;
  const HDp = align(Qp + d * 4, 16);
  const HIp = align(HDp + k * 4, 16);
  const TMPp = align(HIp + k * 8, 16);
  if (TMPp + 1024 > base + SLOT_BYTES) throw new RangeError(`IVF search: k = ${k} and d = ${d} do not fit a scratch slot`);
  const EXTp = TMPp + 1024;
  const { q0, q1, p0, p1, outBase } = rangeBounds(task, lo, hi, slot);
  for (let i = q0; i < q1; i++) {
    let cur = -1;
    let scanned = 0;
    for (let p = p0; p < p1; p++) {
      const l = coarse[i * nprobe + p]!;
      const n = probedCount(table, l, maxCodes, scanned);
      if (n < 0) break;
      if (n === 0) continue;
      const seg = table[l * 4]!;
      const mem = memories[seg]!;
      if (seg !== cur) {
        const buf = mem.buffer;
        new Float32Array(buf, Qp, d).set(task.x.subarray(i * d, (i + 1) * d));
        if (cur < 0) kernelsFor(mem).heap_heapify(isMax, 1, k, HDp, HIp);
        else new Uint8Array(buf, HDp, TMPp - HDp).set(new Uint8Array(memories[cur]!.buffer, HDp, TMPp - HDp));
        cur = seg;
        setup?.(mem, task, Qp, EXTp);
      }
      scan(kernelsFor(mem), task, Qp, table[l * 4 + 1]!, table[l * 4 + 2]!, n, HDp, HIp, TMPp, l, EXTp, mem);
      scanned += n;
    }
    const o = outBase + i * k;
    if (cur < 0) {
      task.distances.fill(isMax ? 3.4028234663852886e38 : -3.4028234663852886e38, o, o + k);
      task.labels.fill(-1n, o, o + k);
      continue;
    }
    const mem = memories[cur]!;
    kernelsFor(mem).heap_reorder(isMax, 1, k, HDp, HIp);
    task.distances.set(new Float32Array(mem.buffer, HDp, k), o);
    task.labels.set(new BigInt64Array(mem.buffer, HIp, k), o);
  }
}

export interface IvfRangeTask {
  metric: number;
  d: number;
  radius: number;
  nprobe: number;
  lists: ListTable;
  x: Float32Array;
  coarse: Int32Array;
}

/** Range search of queries [lo, hi) over their probed lists (flat codes): ids and distances per query. */
export function ivfRangeRange(task: IvfRangeTask, lo: number, hi: number, slot: number): { ids: bigint[]; dis: number[] }[] {
  const { d, nprobe, metric, coarse, radius } = task;
  const { memories, table } = task.lists;
  const base = Segment.slotOffset(slot);
  const Qp = base;
  const TMPp = align(Qp + d * 4, 16);
  const IDXp = TMPp + 1024;
  const chunk = Math.floor((SLOT_BYTES - (IDXp - base)) / 8);
  const DISp = IDXp + chunk * 4;
  const out: { ids: bigint[]; dis: number[] }[] = [];
  for (let i = lo; i < hi; i++) {
    const ids: bigint[] = [];
    const dis: number[] = [];
    for (let p = 0; p < nprobe; p++) {
      const l = coarse[i * nprobe + p]!;
      if (l < 0) continue;
      const n = table[l * 4 + 3]!;
      if (n === 0) continue;
      const mem = memories[table[l * 4]!]!;
      const kern = kernelsFor(mem);
      new Float32Array(mem.buffer, Qp, d).set(task.x.subarray(i * d, (i + 1) * d));
      const listIds = new BigInt64Array(mem.buffer, table[l * 4 + 2]!, n);
      for (let j0 = 0; j0 < n; j0 += chunk) {
        const nb = Math.min(chunk, n - j0);
        const m = kern.range_1q(metric, Qp, table[l * 4 + 1]! + j0 * d * 4, d, nb, radius, IDXp, DISp, TMPp);
        const idx = new Int32Array(mem.buffer, IDXp, m);
        const dv = new Float32Array(mem.buffer, DISp, m);
        for (let r = 0; r < m; r++) {
          ids.push(listIds[j0 + idx[r]!]!);
          dis.push(dv[r]!);
        }
      }
    }
    out.push({ ids, dis });
  }
  return out;
}
