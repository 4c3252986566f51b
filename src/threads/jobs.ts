/**
 * @module threads/jobs
 * The work a thread of the pool can be given, by name. A job receives plain data (shared memories
 * and typed arrays over SharedArrayBuffers survive postMessage without copying), a range [lo, hi)
 * of its items, and the thread's scratch slot. The calling thread runs its own share through the
 * same functions.
 */
import { knnRange, type KnnTask } from '../search/exhaustive.js';
import { ivfSearchRange, type IvfSearchTask } from '../search/ivfScan.js';
import { ivfSearchByListRange, type IvfByListTask } from '../search/ivfScanByList.js';
import { sqKnnRange, type SqKnnTask } from '../search/sqScan.js';
import { pqAssignRange, pqEncodeRange, pqKnnRange, type PQAssignTask, type PQEncodeTask, type PQKnnTask } from '../search/pqScan.js';
import { hnswAddRange, hnswSearchRange, type HNSWAddTask, type HNSWSearchTask } from '../search/hnswSearch.js';
import { pq4IvfRange, pq4KnnRange, type PQ4IvfTask, type PQ4KnnTask } from '../search/pq4Scan.js';
import { refineFlatRange, type RefineFlatTask } from '../search/refineScan.js';
import { boundsRange, type BoundsTask } from '../search/boundsScan.js';

export type JobFn = (args: unknown, lo: number, hi: number, slot: number) => void;

export const jobs: Record<string, JobFn> = {
  'flat.knn': (args, lo, hi, slot) => knnRange(args as KnnTask, lo, hi, slot),
  'ivf.search': (args, lo, hi, slot) => ivfSearchRange(args as IvfSearchTask, lo, hi, slot),
  'ivf.searchByList': (args, lo, hi, slot) => ivfSearchByListRange(args as IvfByListTask, lo, hi, slot),
  'sq.knn': (args, lo, hi, slot) => sqKnnRange(args as SqKnnTask, lo, hi, slot),
  'pq.knn': (args, lo, hi, slot) => pqKnnRange(args as PQKnnTask, lo, hi, slot),
  'pq.encode': (args, lo, hi, slot) => pqEncodeRange(args as PQEncodeTask, lo, hi, slot),
  'pq.assign': (args, lo, hi, slot) => pqAssignRange(args as PQAssignTask, lo, hi, slot),
  'hnsw.search': (args, lo, hi, slot) => hnswSearchRange(args as HNSWSearchTask, lo, hi, slot),
  'hnsw.add': (args, lo, hi, slot) => hnswAddRange(args as HNSWAddTask, lo, hi, slot),
  'pq4.knn': (args, lo, hi, slot) => pq4KnnRange(args as PQ4KnnTask, lo, hi, slot),
  'pq4.ivfSearch': (args, lo, hi, slot) => pq4IvfRange(args as PQ4IvfTask, lo, hi, slot),
  'refine.flat': (args, lo, hi, slot) => refineFlatRange(args as RefineFlatTask, lo, hi, slot),
  'flat.bounds': (args, lo, hi, slot) => boundsRange(args as BoundsTask, lo, hi, slot),
};

/** Registers a job (index modules add theirs at load time; workers load the same modules). */
export function registerJob(name: string, fn: JobFn): void {
  jobs[name] = fn;
}
