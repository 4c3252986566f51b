/**
 * @module bench/runner
 * `simdex bench`: for each factory string and each search-parameter set, on generated or given data,
 * measures simdex and, side by side when they are present, Python Faiss (same factory strings,
 * same threads) and hnswlib-node (HNSW rows only):
 *
 * - train / add time (a sub-second training: the median of five, on both sides, four run right after
 *   the first); memory: the index's own bytes (the size of its Faiss file), RSS and heap deltas;
 * - recall@1/10/100 (|true top-R ∩ returned top-R| / R) against exact ground truth, and Faiss's
 *   1-recall@R (`r1at` in the JSON);
 * - QPS of one batch of all queries (k = 10 by default; a sub-second batch: the median of three, on
 *   both sides, after a warm-up of 256 queries) and, for Flat rows, GFLOP/s = 2·nq·n·d / time;
 * - single queries one at a time: QPS and p50 / p99 latency (and, for Flat rows, the scan rate in
 *   GB/s, to compare with the memory bandwidth reference: a large typed-array copy on one core).
 *
 * Before its first timed training for a dimension, a process warms simdex up untrained: an IVF32,Flat
 * is trained, filled and searched on 2,048 seeded random vectors (V8 compiles JavaScript and
 * WebAssembly lazily, and a first sub-second training pays some 30 ms for it; Faiss has no such cost).
 *
 * Node only (files, timers, child processes). The report is plain data: {@link formatReport} prints it
 * as an aligned table, the CLI's `--json` as JSON.
 */
import { arch, availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { indexFactory } from '../factory/indexFactory.js';
import { faissFileSize } from '../io/faiss/index.js';
import { readIvecs, readNpy, readVectors } from '../io/vectorFiles.js';
import type { Index, SearchParameters } from '../Index.js';
import { IndexIDMap } from '../indexes/IndexIDMap.js';
import { kernelModule, kernelsFor } from '../kernels/wasm.js';
import { MetricType } from '../MetricType.js';
import { getNumThreads, setNumThreads } from '../threads/pool.js';
import { InvalidArgumentError } from '../errors.js';
import { generateDataset, type DatasetParams } from './dataset.js';
import { computeGroundTruth, recallTable, type LabelArray } from './groundtruth.js';
import { defaultPython, probeFaiss, runFaissBench, type FaissRow } from './peers/faiss.js';
import { hnswlibSpec, loadHnswlib, runHnswlib } from './peers/hnswlib.js';

/** Generated data (bench/dataset) or vector files. */
export type BenchDataSpec =
  | ({ kind: 'generated'; n: number; nq: number; ntrain?: number } & DatasetParams)
  | { kind: 'files'; base: string; query: string; gt?: string; train?: string; ntrain?: number };

/** Progress sink (the CLI passes its reporter; the default prints nothing). */
export interface BenchReporter {
  start(label: string, unit?: string): { update(done: number, total: number): void; finish(note?: string): void };
  log(message: string): void;
}

export interface BenchOptions {
  data: BenchDataSpec;
  /** Factory strings, e.g. ["Flat", "IDMap,Flat", "IVF4096,Flat"]. */
  indexes: string[];
  /** Search-parameter sets in Faiss's ParameterSpace syntax ("nprobe=16", "efSearch=64,nprobe=4"). */
  searchParams?: string[];
  metric?: 'L2' | 'IP';
  /** k of the timed searches (default 10). */
  k?: number;
  /** Rs of recall@R (default [1, 10, 100]). */
  recallAt?: number[];
  /** Threads for simdex and the peers (default: all). Ground truth always uses all. */
  threads?: number;
  /** Single queries timed one at a time (default 200), within singleSeconds (default 20) per row. */
  single?: number;
  singleSeconds?: number;
  /** Which peers to run when present (default both). */
  peers?: { faiss?: boolean; hnswlib?: boolean };
  python?: string;
  /** efConstruction of every HNSW graph built, simdex's, Faiss's and hnswlib's (default 40, Faiss's HNSW default). */
  efConstruction?: number;
  /** Measure the memory bandwidth reference (default true). */
  bandwidth?: boolean;
  reporter?: BenchReporter;
}

/** One measured (library, index, parameters) combination. */
export interface BenchRow {
  library: 'simdex' | 'faiss' | 'hnswlib';
  factory: string;
  /** The parameter set ("" when none applies). */
  params: string;
  threads: number;
  /** Why the row could not be measured (not implemented yet, out of memory, ...). */
  error?: string;
  trainSeconds?: number;
  addSeconds?: number;
  memory?: {
    /** Size of the index's Faiss file (codes, ids, structure); null where unknown. */
    indexBytes: number | null;
    rssDeltaBytes?: number;
    heapDeltaBytes?: number;
    externalDeltaBytes?: number;
  };
  /** recall@R: |true top-R ∩ returned top-R| / R. */
  recall?: Record<string, number>;
  /** Faiss's 1-recall@R. */
  r1at?: Record<string, number>;
  batch?: { nq: number; k: number; seconds: number; qps: number; gflops?: number };
  single?: { count: number; qps: number; p50Ms: number; p99Ms: number; scanGBps?: number };
}

export interface BenchReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; loadavg: number[]; node: string; arch: string; kernels: string };
  dataset: { source: string; n: number; nq: number; d: number; ntrain: number; params?: Record<string, unknown> };
  metric: 'L2' | 'IP';
  k: number;
  threads: number;
  bandwidth?: { copyGBps: number; bytes: number };
  /** WebAssembly SIMD128 multiply-add peak of one core. */
  simdPeak?: { gflops: number; variant: string };
  groundTruth: { k: number; source: 'computed' | 'file'; seconds?: number; threads?: number };
  peers: {
    faiss: { available: boolean; version?: string; blas?: string; ompWaitPolicy?: string | null; reason?: string };
    hnswlib: { available: boolean; version?: string; reason?: string };
  };
  rows: BenchRow[];
}

const silentReporter: BenchReporter = { start: () => ({ update() {}, finish() {} }), log() {} };

/** Runs the benchmark; see the module doc. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const rep = opts.reporter ?? silentReporter;
  if (opts.indexes.length === 0) throw new InvalidArgumentError('indexes', 'must name at least one factory string (e.g. "Flat")');
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('k', `must be a positive integer, got ${String(k)}`);
  const metricName = opts.metric ?? 'L2';
  const metric = metricName === 'IP' ? MetricType.INNER_PRODUCT : MetricType.L2;
  const threads = opts.threads ?? availableParallelism();
  const single = opts.single ?? 200;
  const singleSeconds = opts.singleSeconds ?? 20;
  const paramSets = opts.searchParams ?? [];
  paramSets.forEach((p) => parseSearchParams(p));
  const gc = exposeGc();

  // Which indexes need training (decides whether to generate a training set).
  const needsTraining = opts.indexes.some((f) => {
    try {
      const idx = indexFactory(8, f, metric);
      const t = !idx.isTrained;
      idx.dispose();
      return t;
    } catch {
      // Not in simdex yet: guess from Faiss's vocabulary whether a peer will train it.
      return /IVF|IMI|PQ|SQ[0-9]|PCA|OPQ|ITQ|LSH|RQ|LSQ|Residual|RaBitQ/.test(f);
    }
  });

  const data = loadData(opts.data, needsTraining, rep);
  const { d, base, queries } = data;
  const n = base.length / d;
  const nq = queries.length / d;
  if (n === 0 || nq === 0) throw new InvalidArgumentError('data', `needs base and query vectors, got n = ${n}, nq = ${nq}`);
  const kEff = Math.min(k, n);
  const recallAt = (opts.recallAt ?? [1, 10, 100]).filter((r) => r <= n);
  const kRecall = Math.max(0, ...recallAt) > kEff ? Math.max(...recallAt) : 0;

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: availableParallelism(),
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      loadavg: loadavg().map((v) => Math.round(v * 100) / 100),
      node: process.version,
      arch: arch(),
      kernels: kernelModule().variant,
    },
    dataset: { source: data.source, n, nq, d, ntrain: data.train ? data.train.length / d : 0, params: data.params },
    metric: metricName,
    k: kEff,
    threads,
    groundTruth: { k: 0, source: 'computed' },
    peers: { faiss: { available: false }, hnswlib: { available: false } },
    rows: [],
  };

  // Ground truth: exact, all threads.
  let gt: { labels: LabelArray; k: number };
  if (data.gt !== undefined) {
    gt = data.gt;
    report.groundTruth = { k: gt.k, source: 'file' };
  } else {
    const kGt = Math.min(n, Math.max(kEff, ...recallAt));
    const p = rep.start('ground truth', 'queries');
    const all = availableParallelism();
    const r = computeGroundTruth(base, queries, d, kGt, { metric, threads: all, onProgress: (a, b) => p.update(a, b) });
    p.finish(`exact, k=${kGt}, ${all} threads`);
    gt = { labels: r.labels, k: kGt };
    report.groundTruth = { k: kGt, source: 'computed', seconds: r.seconds, threads: all };
  }
  const score = (labels: LabelArray, kk: number): { recall: Record<string, number>; r1at: Record<string, number> } =>
    recallTable(gt.labels, gt.k, labels, kk, recallAt.filter((R) => R <= kk));
  const merge = (row: BenchRow, labels?: LabelArray, labelsRecall?: LabelArray): void => {
    if (labels === undefined) return;
    const a = score(labels, kEff);
    const b = labelsRecall !== undefined ? score(labelsRecall, kRecall) : { recall: {}, r1at: {} };
    row.recall = { ...b.recall, ...a.recall };
    row.r1at = { ...b.r1at, ...a.r1at };
  };

  // simdex
  const threadsBefore = getNumThreads();
  setNumThreads(threads);
  try {
    for (const factory of opts.indexes) {
      const rows = await benchSimdex(factory, { d, metric, base, queries, train: data.train, k: kEff, kRecall, paramSets, single, singleSeconds, threads, rep, gc, efConstruction: opts.efConstruction });
      for (const { row, labels, labelsRecall } of rows) {
        merge(row, labels, labelsRecall);
        report.rows.push(row);
      }
    }
  } finally {
    setNumThreads(threadsBefore);
  }

  // Python Faiss
  if (opts.peers?.faiss !== false) {
    const python = opts.python ?? defaultPython();
    const probe = probeFaiss(python);
    if (!probe.ok) {
      report.peers.faiss = { available: false, reason: probe.reason };
    } else {
      report.peers.faiss = { available: true, version: probe.version };
      const p = rep.start(`faiss ${probe.version}`, '');
      try {
        const res = await runFaissBench({
          python, base, queries, train: data.train, d, metric: metricName, threads, k: kEff, kRecall, single, singleSeconds, efConstruction: opts.efConstruction,
          runs: opts.indexes.map((factory) => ({ factory, params: paramSets })),
        });
        p.finish(`${res.rows.length} rows`);
        report.peers.faiss.blas = res.blas;
        report.peers.faiss.ompWaitPolicy = res.ompWaitPolicy;
        for (const fr of res.rows) {
          const row = faissRow(fr, threads, n, d, nq, kEff);
          merge(row, fr.labels, fr.labelsRecall);
          report.rows.push(row);
        }
      } catch (e) {
        p.finish('failed');
        report.peers.faiss = { available: false, version: probe.version, reason: (e as Error).message };
      }
    }
  }

  // hnswlib-node, for HNSW rows only
  const hnswFactories = opts.indexes.filter((f) => hnswlibSpec(f) !== undefined);
  if (opts.peers?.hnswlib !== false && hnswFactories.length > 0) {
    const lib = await loadHnswlib();
    if (!lib.ok) {
      report.peers.hnswlib = { available: false, reason: lib.reason };
    } else {
      report.peers.hnswlib = { available: true, version: lib.version };
      const efSearch = paramSets.map((s) => parseSearchParams(s)['efSearch']).filter((v): v is number => v !== undefined);
      for (const factory of hnswFactories) {
        const p = rep.start(`hnswlib ${factory}`, 'vectors');
        const rows = runHnswlib({
          module: lib.module, base, queries, d, metric: metricName, M: hnswlibSpec(factory)!.M, efConstruction: opts.efConstruction ?? 40,
          efSearch, k: kEff, kRecall, single, singleSeconds, onProgress: (_s, a, b) => p.update(a, b),
        });
        p.finish();
        for (const hr of rows) {
          const row: BenchRow = {
            library: 'hnswlib', factory, params: hr.params, threads: 1, addSeconds: hr.addSeconds,
            memory: { indexBytes: null, rssDeltaBytes: hr.rssDeltaBytes },
            batch: { nq, k: kEff, seconds: hr.batchSeconds, qps: nq / hr.batchSeconds },
            single: singleStats(hr.singleLatencies),
          };
          merge(row, hr.labels, hr.labelsRecall);
          report.rows.push(row);
        }
      }
    }
  }
  // Last, so that its 512 MiB of garbage does not disturb the memory deltas above.
  if (opts.bandwidth !== false) {
    report.bandwidth = measureCopyBandwidth();
    report.simdPeak = measureSimdPeak();
  }
  sortRows(report.rows, opts.indexes, paramSets);
  return report;
}

/** Parses a Faiss ParameterSpace string ("nprobe=16,efSearch=32") into numbers by name. */
export function parseSearchParams(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (s.trim() === '') return out;
  for (const part of s.split(',')) {
    const m = part.trim().match(/^([A-Za-z_][A-Za-z0-9_]*)=(-?[0-9.eE+-]+)$/);
    if (m === null || !Number.isFinite(Number(m[2]))) {
      throw new InvalidArgumentError('searchParams', `"${s}" is not a parameter set: expected name=value[,name=value], e.g. "nprobe=16"`);
    }
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Faiss's snake_case parameter names in simdex's camelCase (max_codes -> maxCodes). */
export function toSimdexParams(p: Record<string, number>): SearchParameters & Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(p)) out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as SearchParameters & Record<string, number>;
}

/** Whether every parameter names a field of the index or of an index it contains. */
export function paramsApply(index: Index, params: Record<string, number>): boolean {
  return Object.keys(params).every((key) => hasField(index, key, 0));
}

function hasField(index: unknown, key: string, depth: number): boolean {
  if (index === null || typeof index !== 'object' || depth > 8) return false;
  if (key in index) return true;
  const o = index as Record<string, unknown>;
  return ['index', 'baseIndex', 'quantizer', 'storage', 'hnsw'].some((f) => hasField(o[f], key, depth + 1));
}

// ---------------------------------------------------------------------------------------------
// simdex rows

interface SimdexContext {
  d: number;
  metric: MetricType;
  base: Float32Array;
  queries: Float32Array;
  train?: Float32Array;
  k: number;
  kRecall: number;
  paramSets: string[];
  single: number;
  singleSeconds: number;
  threads: number;
  rep: BenchReporter;
  gc: (() => void) | undefined;
  efConstruction?: number;
}

/** Sets efConstruction on the HNSW graph of an index (HNSW*, or wrapped in IDMap), before anything is added. */
function setEfConstruction(index: Index, ef: number): void {
  let cur: unknown = index;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const hnsw = (cur as { hnsw?: { efConstruction: number } }).hnsw;
    if (hnsw !== undefined) {
      hnsw.efConstruction = ef;
      return;
    }
    cur = (cur as { index?: unknown }).index;
  }
}

/** Collects garbage and lets freed memory go back to the system before a memory reading. */
async function settle(gc: (() => void) | undefined): Promise<void> {
  if (gc === undefined) return;
  // V8 frees the backing stores of collected (WebAssembly) memories after the collection: give it time
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface MeasuredRow {
  row: BenchRow;
  labels?: BigInt64Array;
  labelsRecall?: BigInt64Array;
}

const ADD_CHUNK_ROWS = 65536;

/** The dimensions (with metric) this process has warmed up for. */
const warmedUp = new Set<string>();

/**
 * Runs the k-means, IVF and flat-search code once, untimed, on 2,048 seeded random vectors, so that
 * V8 has compiled it (JavaScript and the WebAssembly kernels' optimised tier) before a timed training.
 */
function warmUp(d: number, metric: MetricType): void {
  const key = `${d}:${metric}`;
  if (warmedUp.has(key)) return;
  warmedUp.add(key);
  const n = 2048;
  const x = new Float32Array(n * d);
  let a = 12345;
  for (let i = 0; i < x.length; i++) {
    a = (a * 16807) % 2147483647;
    x[i] = a / 2147483647;
  }
  const index = indexFactory(d, 'IVF32,Flat', metric);
  index.train(x);
  index.add(x);
  index.search(x.subarray(0, 64 * d), 10);
  index.dispose();
}

async function benchSimdex(factory: string, c: SimdexContext): Promise<MeasuredRow[]> {
  const { d, base, queries, k } = c;
  const n = base.length / d;
  const nq = queries.length / d;
  const head = { library: 'simdex' as const, factory, threads: c.threads };
  let index: Index;
  try {
    index = indexFactory(d, factory, c.metric);
    if (c.efConstruction !== undefined) setEfConstruction(index, c.efConstruction);
  } catch (e) {
    return [{ row: { ...head, params: '', error: (e as Error).message } }];
  }
  try {
    if (!index.isTrained) warmUp(d, c.metric);
    await settle(c.gc);
    const m0 = process.memoryUsage();
    let trainSeconds = 0;
    if (!index.isTrained) {
      const train = c.train ?? base;
      const p = c.rep.start(`simdex ${factory}: train`, 'k-means iterations');
      withProgress(index, p, () => {
        const t = performance.now();
        index.train(train);
        trainSeconds = (performance.now() - t) / 1000;
      });
      p.finish();
      if (trainSeconds < 1) {
        // a sub-second training: the median of five, the other four right after the first, as the
        // Faiss peer does (not after the settling below: an idle pause slows the next run down)
        trainSeconds = medianOfFive(trainSeconds, () => {
          const again = indexFactory(d, factory, c.metric);
          const t = performance.now();
          again.train(train);
          const seconds = (performance.now() - t) / 1000;
          again.dispose();
          return seconds;
        });
      }
    }
    const p = c.rep.start(`simdex ${factory}: add`, 'vectors');
    const withIds = index instanceof IndexIDMap;
    const t0 = performance.now();
    for (let i = 0; i < n; i += ADD_CHUNK_ROWS) {
      const j = Math.min(n, i + ADD_CHUNK_ROWS);
      const x = base.subarray(i * d, j * d);
      if (withIds) {
        const ids = new BigInt64Array(j - i);
        for (let t = 0; t < ids.length; t++) ids[t] = BigInt(i + t);
        index.addWithIds(x, ids);
      } else {
        index.add(x);
      }
      p.update(j, n);
    }
    const addSeconds = (performance.now() - t0) / 1000;
    p.finish();
    await settle(c.gc);
    const m1 = process.memoryUsage();
    let indexBytes: number | null = null;
    try {
      indexBytes = faissFileSize(index);
    } catch {
      indexBytes = null;
    }
    const memory = {
      indexBytes,
      rssDeltaBytes: m1.rss - m0.rss,
      heapDeltaBytes: m1.heapUsed - m0.heapUsed,
      externalDeltaBytes: m1.external - m0.external,
    };

    const sets = c.paramSets.map((s) => ({ s, p: parseSearchParams(s) })).filter(({ p }) => paramsApply(index, p));
    const runs = sets.length > 0 ? sets : [{ s: '', p: {} }];
    const out: MeasuredRow[] = [];
    for (const { s, p: params } of runs) {
      const sp = toSimdexParams(params);
      const row: BenchRow = { ...head, params: s, trainSeconds, addSeconds, memory };
      try {
        // warm-up: JIT, worker start, and what an index builds on its first batches (a flat coarse
        // quantizer's projected bounds come after 64 queries): the batch below is the steady state
        index.search(queries.subarray(0, Math.min(nq, 256) * d), k, sp);
        const t = performance.now();
        const r = index.search(queries, k, sp);
        let seconds = (performance.now() - t) / 1000;
        if (seconds < 1) {
          // a sub-second batch: the median of three (the machine is shared and noisy), as the Faiss peer does
          seconds = medianOfThree(seconds, () => {
            const t2 = performance.now();
            index.search(queries, k, sp);
            return (performance.now() - t2) / 1000;
          });
        }
        row.batch = { nq, k, seconds, qps: nq / seconds };
        if (isFlat(factory)) row.batch.gflops = (2 * nq * n * d) / seconds / 1e9;
        const labelsRecall = c.kRecall > 0 ? index.search(queries, c.kRecall, sp).labels : undefined;
        for (let i = 0; i < Math.min(10, nq); i++) index.search(queries.subarray(i * d, (i + 1) * d), k, sp); // warm-up of the one-query path
        const lat: number[] = [];
        const start = performance.now();
        for (let i = 0; i < Math.min(c.single, nq); i++) {
          const q = queries.subarray(i * d, (i + 1) * d);
          const ts = performance.now();
          index.search(q, k, sp);
          lat.push((performance.now() - ts) / 1000);
          if ((performance.now() - start) / 1000 > c.singleSeconds && lat.length >= 5) break;
        }
        row.single = singleStats(lat, isFlat(factory) ? n * d * 4 : undefined);
        out.push({ row, labels: r.labels, labelsRecall });
      } catch (e) {
        out.push({ row: { ...row, error: (e as Error).message } });
      }
    }
    return out;
  } catch (e) {
    return [{ row: { ...head, params: '', error: (e as Error).message } }];
  } finally {
    index.dispose();
  }
}

/** The median of a first measurement and two more taken by `again`. */
function medianOfThree(first: number, again: () => number): number {
  const times = [first, again(), again()];
  return times.sort((a, b) => a - b)[1]!;
}

function medianOfFive(first: number, again: () => number): number {
  const times = [first, again(), again(), again(), again()];
  return times.sort((a, b) => a - b)[2]!;
}

/** Routes an index's own progress hook (IndexIVF's onProgress) to a progress bar while `fn` runs. */
function withProgress(index: Index, p: { update(done: number, total: number): void }, fn: () => void): void {
  const hooked = index as Index & { onProgress?: (stage: string, done: number, total: number) => void };
  const had = 'onProgress' in hooked;
  const before = hooked.onProgress;
  if (had) hooked.onProgress = (_stage, done, total) => p.update(done, total);
  try {
    fn();
  } finally {
    if (had) hooked.onProgress = before;
  }
}

/** A Flat row: "Flat" possibly wrapped in IDMap / IDMap2. */
function isFlat(factory: string): boolean {
  return factory.replace(/\s+/g, '').split(',').filter((t) => !/^IDMap2?$/.test(t)).join(',') === 'Flat';
}

function singleStats(latencies: number[], scanBytes?: number): BenchRow['single'] {
  if (latencies.length === 0) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  const total = latencies.reduce((a, b) => a + b, 0);
  const p50 = pct(0.5);
  return {
    count: latencies.length,
    qps: latencies.length / total,
    p50Ms: p50 * 1000,
    p99Ms: pct(0.99) * 1000,
    ...(scanBytes !== undefined ? { scanGBps: scanBytes / p50 / 1e9 } : {}),
  };
}

function faissRow(fr: FaissRow, threads: number, n: number, d: number, nq: number, k: number): BenchRow {
  const row: BenchRow = { library: 'faiss', factory: fr.factory, params: fr.params, threads };
  if (fr.error !== undefined) row.error = fr.error;
  if (fr.addSeconds !== undefined) {
    row.trainSeconds = fr.trainSeconds;
    row.addSeconds = fr.addSeconds;
    row.memory = { indexBytes: fr.indexBytes ?? null, rssDeltaBytes: fr.rssDeltaBytes };
  }
  if (fr.batchSeconds !== undefined) {
    row.batch = { nq, k, seconds: fr.batchSeconds, qps: nq / fr.batchSeconds };
    if (isFlat(fr.factory)) row.batch.gflops = (2 * nq * n * d) / fr.batchSeconds / 1e9;
  }
  if (fr.singleLatencies !== undefined) row.single = singleStats(fr.singleLatencies, isFlat(fr.factory) ? n * d * 4 : undefined);
  return row;
}

/** Orders rows by factory string, then parameter set (as given), then library (simdex, faiss, hnswlib). */
function sortRows(rows: BenchRow[], indexes: string[], paramSets: string[]): void {
  const libs = ['simdex', 'faiss', 'hnswlib'];
  const key = (r: BenchRow): number[] => [indexes.indexOf(r.factory), r.params === '' ? -1 : paramSets.indexOf(r.params), libs.indexOf(r.library)];
  rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Data

interface LoadedData {
  d: number;
  base: Float32Array;
  queries: Float32Array;
  train?: Float32Array;
  gt?: { labels: LabelArray; k: number };
  source: string;
  params?: Record<string, unknown>;
}

function loadData(spec: BenchDataSpec, needsTraining: boolean, rep: BenchReporter): LoadedData {
  if (spec.kind === 'generated') {
    const ntrain = needsTraining ? (spec.ntrain ?? Math.min(spec.n, 200_000)) : 0;
    const p = rep.start('generate data', 'vectors');
    const ds = generateDataset({ ...spec, ntrain, onProgress: (a, b) => p.update(a, b) });
    p.finish();
    return {
      d: ds.d,
      base: ds.base,
      queries: ds.queries,
      train: ntrain > 0 ? ds.train : undefined,
      source: `generated (seed ${ds.params.seed}, difficulty ${ds.params.difficulty})`,
      params: { ...ds.params },
    };
  }
  const read = (path: string, label: string): { n: number; d: number; data: Float32Array } => {
    const p = rep.start(`read ${label}`, 'vectors');
    const v = readVectors(path, { onProgress: (a, b) => p.update(a, b) });
    p.finish(path);
    return v;
  };
  const b = read(spec.base, 'base');
  const q = read(spec.query, 'queries');
  if (q.d !== b.d) throw new InvalidArgumentError('query', `has dimension ${q.d}, but the base vectors have d = ${b.d}`);
  let train: Float32Array | undefined;
  if (spec.train !== undefined) {
    const t = read(spec.train, 'train');
    if (t.d !== b.d) throw new InvalidArgumentError('train', `has dimension ${t.d}, but the base vectors have d = ${b.d}`);
    train = t.data;
  } else if (needsTraining) {
    const ntrain = Math.min(b.n, spec.ntrain ?? 200_000);
    train = b.data.subarray(0, ntrain * b.d);
  }
  let gt: LoadedData['gt'];
  if (spec.gt !== undefined) {
    if (spec.gt.toLowerCase().endsWith('.ivecs')) {
      const g = readIvecs(spec.gt);
      gt = { labels: g.data, k: g.d };
      if (g.n !== q.n) throw new InvalidArgumentError('gt', `has ${g.n} rows, but there are ${q.n} queries`);
    } else {
      const g = readNpy(spec.gt);
      if (g.shape.length !== 2 || g.shape[0] !== q.n) {
        throw new InvalidArgumentError('gt', `has shape (${g.shape.join(', ')}), expected (${q.n}, k): one row of ids per query`);
      }
      const data = g.data as unknown;
      if (!(data instanceof BigInt64Array || data instanceof Int32Array || data instanceof Float64Array)) {
        throw new InvalidArgumentError('gt', `has dtype ${g.dtype}: expected integer ids (int32 or int64)`);
      }
      gt = { labels: data, k: g.shape[1]! };
    }
  }
  return { d: b.d, base: b.data, queries: q.data, train, gt, source: `files ${spec.base}, ${spec.query}` };
}

// ---------------------------------------------------------------------------------------------
// Machine references

/** Copy rate of a large typed array on one core: 2 * bytes / time (bytes read + bytes written). */
export function measureCopyBandwidth(bytes = 256 * 2 ** 20): { copyGBps: number; bytes: number } {
  const src = new Float32Array(bytes / 4).fill(1);
  const dst = new Float32Array(bytes / 4);
  dst.set(src); // first touch
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    dst.set(src);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { copyGBps: (2 * bytes) / best / 1e9, bytes };
}

/**
 * The WebAssembly SIMD128 multiply-add peak of one core (GFLOP/s): 8 independent accumulators, no
 * memory traffic. What the blocked kernels (batched Flat search, k-means) are measured against.
 */
export function measureSimdPeak(): { gflops: number; variant: string } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const k = kernelsFor(memory);
  const iters = 2e7;
  k.simd_peak_madd(1e5); // tier up
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    k.simd_peak_madd(iters);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { gflops: (iters * 64) / best / 1e9, variant: kernelModule().variant };
}

/** The global gc() of V8, exposed at run time so that memory deltas exclude garbage. */
function exposeGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as (() => void) | undefined;
    return typeof fn === 'function' ? fn : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Text output

/** The report as text: a header of the conditions, then one aligned table row per measurement. */
export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`simdex bench, ${r.date}`);
  lines.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, load ${m.loadavg.join(' ')}; Node ${m.node} ${m.arch}, kernels ${m.kernels}`);
  const ds = r.dataset;
  lines.push(`data: ${ds.source}: n=${fmtInt(ds.n)} d=${ds.d} nq=${fmtInt(ds.nq)}${ds.ntrain ? ` ntrain=${fmtInt(ds.ntrain)}` : ''}; metric ${r.metric}; k=${r.k}; threads ${r.threads}`);
  const g = r.groundTruth;
  lines.push(`ground truth: ${g.source === 'file' ? 'from file' : `exact (IndexFlat, ${g.threads} threads) in ${g.seconds?.toFixed(1)} s`}, k=${g.k}`);
  if (r.bandwidth) {
    lines.push(`memory bandwidth reference: ${r.bandwidth.copyGBps.toFixed(1)} GB/s (copy of a ${r.bandwidth.bytes / 2 ** 20} MiB typed array, one core, bytes read + written)`);
    if (r.simdPeak) lines.push(`WebAssembly SIMD128 peak: ${r.simdPeak.gflops.toFixed(1)} GFLOP/s (multiply-add, one core, ${r.simdPeak.variant} kernels)`);
  }
  const f = r.peers.faiss;
  const omp = f.ompWaitPolicy ? `, OMP_WAIT_POLICY=${f.ompWaitPolicy}` : '';
  lines.push(`peers: Faiss ${f.available ? `${f.version} (BLAS: ${shortBlas(f.blas)}${omp})` : `not run: ${f.reason ?? 'disabled'}`}; hnswlib-node ${r.peers.hnswlib.available ? r.peers.hnswlib.version : `not run${r.peers.hnswlib.reason ? `: ${r.peers.hnswlib.reason}` : ' (no HNSW rows)'}`}`);
  lines.push('');

  const header = ['index', 'params', 'library', 'thr', 'train s', 'add s', 'index MB', 'RSS+ MB', 'R@1', 'R@10', 'R@100', 'batch QPS', 'GFLOP/s', '1q QPS', 'p50 ms', 'p99 ms', 'scan GB/s'];
  const right = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  const table: string[][] = [header];
  const notes: string[] = [];
  for (const row of r.rows) {
    if (row.error !== undefined && row.batch === undefined) {
      notes.push(`${row.library} ${row.factory}${row.params ? ` ${row.params}` : ''}: ${row.error}`);
      table.push([row.factory, row.params || '-', row.library, String(row.threads), ...Array(13).fill('-').map((v, i) => (i === 0 ? `[${notes.length}]` : v))]);
      continue;
    }
    const rc = (R: string): string => (row.recall?.[R] !== undefined ? row.recall[R]!.toFixed(3) : '-');
    table.push([
      row.factory,
      row.params || '-',
      row.library,
      String(row.threads),
      row.trainSeconds ? fmtSeconds(row.trainSeconds) : '-',
      row.addSeconds !== undefined ? fmtSeconds(row.addSeconds) : '-',
      row.memory?.indexBytes != null ? (row.memory.indexBytes / 1e6).toFixed(1) : '-',
      row.memory?.rssDeltaBytes !== undefined ? (row.memory.rssDeltaBytes / 1e6).toFixed(1) : '-',
      rc('1'),
      rc('10'),
      rc('100'),
      row.batch ? fmtQps(row.batch.qps) : '-',
      row.batch?.gflops !== undefined ? row.batch.gflops.toFixed(1) : '-',
      row.single ? fmtQps(row.single.qps) : '-',
      row.single ? fmtMs(row.single.p50Ms) : '-',
      row.single ? fmtMs(row.single.p99Ms) : '-',
      row.single?.scanGBps !== undefined ? row.single.scanGBps.toFixed(1) : '-',
    ]);
  }
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table) {
    lines.push(row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
  }
  if (notes.length > 0) {
    lines.push('');
    notes.forEach((note, i) => lines.push(`[${i + 1}] ${note}`));
  }
  const singles = r.rows.find((row) => row.single !== undefined)?.single;
  if (singles) lines.push('', `1q: ${singles.count} queries searched one at a time (k=${r.k}); batch: all ${fmtInt(r.dataset.nq)} queries in one call; R@R = |true top-R ∩ returned top-R| / R.`);
  return lines.join('\n');
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtQps(q: number): string {
  return q >= 100 ? fmtInt(Math.round(q)) : q.toFixed(q >= 10 ? 1 : 2);
}

/** Seconds to two decimals, three below 1 s (sub-second trainings compare to the millisecond). */
function fmtSeconds(s: number): string {
  return s.toFixed(s < 1 ? 3 : 2);
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function shortBlas(blas: string | undefined): string {
  if (blas === undefined || blas === 'unknown') return 'unknown';
  return blas
    .split(', ')
    .map((p) => p.split('/').slice(-2).join('/'))
    .join(', ');
}
