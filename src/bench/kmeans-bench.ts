/**
 * @module bench/kmeans-bench
 * Micro benchmark of k-means training: simdex's {@link Kmeans} against Python Faiss's `faiss.Kmeans`
 * (when a Python with faiss is found), on the same seeded clustered data (bench/dataset), the same
 * k, niter and seed, and the same number of threads (Faiss: omp_set_num_threads and
 * OMP_NUM_THREADS / OPENBLAS_NUM_THREADS). Both draw the same initial centroids (Faiss's mt19937), so
 * the objectives are directly comparable. Node-only (spawns Python, writes a temporary .npy file).
 *
 * Run alone: `node dist/src/bench/kmeans-bench.js --n 200000 --d 128 --k 1024 --niter 10 --threads 1`
 * (also `--python PATH`, `--no-faiss`); prints one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kmeans } from '../clustering/Kmeans.js';
import { encodeNpy } from '../io/npy.js';
import { getNumThreads, setNumThreads } from '../threads/pool.js';
import { checkPositiveInt } from '../validate.js';
import { generateDataset } from './dataset.js';

export interface KmeansBenchOptions {
  /** Training vectors. */
  n: number;
  /** Dimension. */
  d: number;
  /** Centroids. */
  k: number;
  /** Iterations; default 10. */
  niter?: number;
  /** Threads for both libraries; default 1. */
  threads?: number;
  /** Seed of the data and of k-means; default 1234. */
  seed?: number;
  /** Run Python Faiss too: true (default: look for a python3 with faiss), false, or a Python path. */
  faiss?: boolean | string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Timings of one library. */
export interface KmeansBenchTimes {
  /** Wall-clock seconds of train(). */
  seconds: number;
  /** Seconds of train() spent assigning points (index search), as the iteration stats report it. */
  searchSeconds: number;
  /** seconds / niter. */
  secondsPerIteration: number;
  /** Final objective (sum of squared distances to the nearest centroid). */
  obj: number;
}

export interface KmeansBenchResult {
  n: number;
  d: number;
  k: number;
  niter: number;
  threads: number;
  seed: number;
  /** Seconds to generate the data (not part of either timing). */
  dataSeconds: number;
  simdex: KmeansBenchTimes;
  /** null when Faiss was not run (see faissError). */
  faiss: (KmeansBenchTimes & { version: string; python: string }) | null;
  faissError?: string;
}

/** Trains simdex's Kmeans (and faiss.Kmeans when available) on the same data; returns the timings. */
export function benchKmeans(opts: KmeansBenchOptions): KmeansBenchResult {
  const n = checkPositiveInt(opts.n, 'n');
  const d = checkPositiveInt(opts.d, 'd');
  const k = checkPositiveInt(opts.k, 'k');
  const niter = checkPositiveInt(opts.niter ?? 10, 'niter');
  const threads = checkPositiveInt(opts.threads ?? 1, 'threads');
  const seed = opts.seed ?? 1234;
  const log = opts.log ?? ((): void => {});

  const t0 = performance.now();
  const x = generateDataset({ d, n, nq: 0, seed }).base;
  const dataSeconds = (performance.now() - t0) / 1000;
  log(`data: ${n} x ${d} in ${dataSeconds.toFixed(2)} s`);

  const saved = getNumThreads();
  let simdex: KmeansBenchTimes;
  try {
    setNumThreads(threads);
    const km = new Kmeans(d, k, { niter, seed, onWarning: log });
    const t1 = performance.now();
    km.train(x);
    const seconds = (performance.now() - t1) / 1000;
    const last = km.iterationStats[km.iterationStats.length - 1]!;
    simdex = { seconds, searchSeconds: last.timeSearch, secondsPerIteration: seconds / niter, obj: last.obj };
    km.dispose();
  } finally {
    setNumThreads(saved);
  }
  log(`simdex: ${simdex.seconds.toFixed(2)} s (search ${simdex.searchSeconds.toFixed(2)} s), obj ${simdex.obj}`);

  const result: KmeansBenchResult = { n, d, k, niter, threads, seed, dataSeconds, simdex, faiss: null };
  if (opts.faiss === false) return result;
  const python = typeof opts.faiss === 'string' ? opts.faiss : findFaissPython();
  if (python === undefined) {
    result.faissError = 'no python3 with faiss found (tried python3, /usr/bin/python3)';
    return result;
  }
  const dir = mkdtempSync(join(tmpdir(), 'simdex-kmeans-bench-'));
  try {
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x, [n, d]));
    const r = spawnSync(python, ['-c', FAISS_SCRIPT, join(dir, 'x.npy'), String(k), String(niter), String(seed), String(threads)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
    });
    if (r.status !== 0) {
      result.faissError = `${python} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
      return result;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; searchSeconds: number; obj: number; version: string };
    result.faiss = { ...out, secondsPerIteration: out.seconds / niter, python };
    log(`faiss ${out.version}: ${out.seconds.toFixed(2)} s (search ${out.searchSeconds.toFixed(2)} s), obj ${out.obj}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const FAISS_SCRIPT = `
import json, sys, time
import numpy as np
import faiss
path, k, niter, seed, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
faiss.omp_set_num_threads(threads)
x = np.load(path)
km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=seed)
t0 = time.perf_counter()
km.train(x)
seconds = time.perf_counter() - t0
last = km.iteration_stats[-1]
print(json.dumps({"seconds": seconds, "searchSeconds": last["time_search"], "obj": float(km.obj[-1]), "version": faiss.__version__}))
`;

function findFaissPython(): string | undefined {
  for (const p of [process.env['SIMDEX_PYTHON'], 'python3', '/usr/bin/python3']) {
    if (p === undefined || p === '') continue;
    const r = spawnSync(p, ['-c', 'import faiss'], { stdio: 'ignore' });
    if (r.status === 0) return p;
  }
  return undefined;
}

function parseArgs(argv: string[]): KmeansBenchOptions {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const pi = argv.indexOf('--python');
  return {
    n: get('n', 200_000),
    d: get('d', 128),
    k: get('k', 1024),
    niter: get('niter', 10),
    threads: get('threads', 1),
    seed: get('seed', 1234),
    faiss: argv.includes('--no-faiss') ? false : pi >= 0 ? argv[pi + 1]! : true,
    log: (line) => console.error(line),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(benchKmeans(parseArgs(process.argv.slice(2))), null, 2));
}
