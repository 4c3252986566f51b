/**
 * @module bench/groundtruth
 * Exact ground truth and recall measures for benchmarks. Portable (no Node imports).
 *
 * - {@link computeGroundTruth}: the exact k nearest base vectors of each query, by IndexFlat, in
 *   batches (all the pool's threads work on each batch).
 * - {@link recallAtR}: |true top-R ∩ returned top-R| / R, averaged over queries: what ANCHORS.md calls
 *   recall@10 ("10-NN found among the 10 returned"), ann-benchmarks' recall.
 * - {@link oneRecallAtR}: Faiss's 1-recall@R: the fraction of queries whose true nearest neighbour is
 *   among the first R results.
 *
 * Labels are row-major, k per query, in any integer array (BigInt64Array from search and int64
 * `.npy`, Int32Array from `.ivecs`); -1 (padding) never counts as found.
 */
import { IndexFlat } from '../indexes/IndexFlat.js';
import { InvalidArgumentError } from '../errors.js';
import { MetricType } from '../MetricType.js';
import { getNumThreads, setNumThreads } from '../threads/pool.js';
import { checkPositiveInt, checkVectors } from '../validate.js';

/** Labels of nq queries, k per query, row-major. */
export type LabelArray = BigInt64Array | Int32Array | Float64Array | readonly number[] | readonly bigint[];

/** The exact k nearest neighbours of nq queries. */
export interface GroundTruth {
  nq: number;
  k: number;
  /** size nq*k, best first */
  labels: BigInt64Array;
  /** size nq*k */
  distances: Float32Array;
  /** Wall-clock seconds the search took. */
  seconds: number;
}

export interface GroundTruthOptions {
  metric?: MetricType;
  /** Threads for the search (default: the pool's current setting); restored afterwards. */
  threads?: number;
  /** Queries per batch (default 256): the granularity of progress reports. */
  batchSize?: number;
  /** Called after each batch with the queries done and nq. */
  onProgress?(done: number, total: number): void;
}

/**
 * Exact search of `queries` in `base` (both row-major, d floats per row) with IndexFlat.
 * @returns the k nearest neighbours of each query, distances and labels of size nq*k.
 */
export function computeGroundTruth(base: Float32Array, queries: Float32Array, d: number, k: number, opts: GroundTruthOptions = {}): GroundTruth {
  checkPositiveInt(d, 'd');
  checkPositiveInt(k, 'k');
  checkVectors(base, d, 'base');
  const nq = checkVectors(queries, d, 'queries');
  const batch = checkPositiveInt(opts.batchSize ?? 256, 'batchSize');
  const before = getNumThreads();
  if (opts.threads !== undefined) setNumThreads(checkPositiveInt(opts.threads, 'threads'));
  const index = new IndexFlat(d, opts.metric ?? MetricType.L2);
  try {
    index.add(base);
    const labels = new BigInt64Array(nq * k);
    const distances = new Float32Array(nq * k);
    const t0 = now();
    for (let q0 = 0; q0 < nq; q0 += batch) {
      const q1 = Math.min(nq, q0 + batch);
      const r = index.search(queries.subarray(q0 * d, q1 * d), k);
      labels.set(r.labels, q0 * k);
      distances.set(r.distances, q0 * k);
      opts.onProgress?.(q1, nq);
    }
    return { nq, k, labels, distances, seconds: (now() - t0) / 1000 };
  } finally {
    index.dispose();
    setNumThreads(before);
  }
}

/**
 * Mean over queries of |true top-R ∩ returned top-R| / R.
 * @param gt true labels, size nq*kGt (kGt >= R), best first.
 * @param labels returned labels, size nq*k (k >= R), best first.
 */
export function recallAtR(gt: LabelArray, kGt: number, labels: LabelArray, k: number, R: number): number {
  const nq = checkShapes(gt, kGt, labels, k, R);
  if (nq === 0) return 0;
  let found = 0;
  const truth = new Set<number>();
  for (let q = 0; q < nq; q++) {
    truth.clear();
    for (let j = 0; j < R; j++) {
      const id = Number(gt[q * kGt + j]!);
      if (id >= 0) truth.add(id);
    }
    for (let j = 0; j < R; j++) {
      const id = Number(labels[q * k + j]!);
      // delete: a label returned twice counts once
      if (id >= 0 && truth.delete(id)) found++;
    }
  }
  return found / (nq * R);
}

/**
 * Faiss's 1-recall@R: the fraction of queries whose true nearest neighbour is among the first R
 * returned labels.
 * @param gt true labels, size nq*kGt (kGt >= 1), best first.
 * @param labels returned labels, size nq*k (k >= R).
 */
export function oneRecallAtR(gt: LabelArray, kGt: number, labels: LabelArray, k: number, R: number): number {
  const nq = checkShapes(gt, kGt, labels, k, R, 1);
  if (nq === 0) return 0;
  let found = 0;
  for (let q = 0; q < nq; q++) {
    const nn = Number(gt[q * kGt]!);
    if (nn < 0) continue;
    for (let j = 0; j < R; j++) {
      if (Number(labels[q * k + j]!) === nn) {
        found++;
        break;
      }
    }
  }
  return found / nq;
}

/** recall@R and 1-recall@R for each R in `rs` that both label sets are long enough for. */
export function recallTable(gt: LabelArray, kGt: number, labels: LabelArray, k: number, rs: readonly number[]): { recall: Record<string, number>; r1at: Record<string, number> } {
  const recall: Record<string, number> = {};
  const r1at: Record<string, number> = {};
  for (const R of rs) {
    if (R > k) continue;
    r1at[R] = oneRecallAtR(gt, kGt, labels, k, R);
    if (R <= kGt) recall[R] = recallAtR(gt, kGt, labels, k, R);
  }
  return { recall, r1at };
}

function checkShapes(gt: LabelArray, kGt: number, labels: LabelArray, k: number, R: number, minGt = R): number {
  checkPositiveInt(kGt, 'kGt');
  checkPositiveInt(k, 'k');
  checkPositiveInt(R, 'R');
  if (R > k) throw new InvalidArgumentError('R', `is ${R}, more than the ${k} labels returned per query`);
  if (minGt > kGt) throw new InvalidArgumentError('R', `is ${R}, more than the ${kGt} true neighbours per query`);
  if (gt.length % kGt !== 0) throw new InvalidArgumentError('gt', `has length ${gt.length}, not a multiple of kGt = ${kGt}`);
  const nq = gt.length / kGt;
  if (labels.length !== nq * k) {
    throw new InvalidArgumentError('labels', `has length ${labels.length}, expected nq*k = ${nq}*${k} = ${nq * k}`);
  }
  return nq;
}

function now(): number {
  return globalThis.performance.now();
}
