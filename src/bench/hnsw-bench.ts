/**
 * @module bench/hnsw-bench
 * Short benchmark of IndexHNSWFlat against Python Faiss's IndexHNSWFlat (when a Python with faiss is
 * found) on the same seeded clustered data (bench/dataset), the same M and efConstruction and the same
 * number of threads: build time, then recall@10 and QPS at each efSearch, one query at a time and as
 * one batch. Both libraries draw the same levels and insert in the same order (mt19937 seeds 12345
 * and 789), so the graphs are comparable. Node-only (spawns Python, writes temporary .npy files).
 *
 * Run alone: `node dist/src/bench/hnsw-bench.js --n 100000 --d 128 --M 32 --efc 40 --threads 1`
 * (also `--nq`, `--ef 16,32,64,128`, `--single N`, `--repeat 3`, `--seed`, `--python PATH`, `--no-faiss`);
 * search timings are the best of `repeat` runs, for both libraries. Prints a table on
 * stderr and one JSON object on stdout.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IndexHNSWFlat } from '../indexes/hnsw/IndexHNSWFlat.js';
import { decodeNpy, encodeNpy } from '../io/npy.js';
import { getNumThreads, setNumThreads } from '../threads/pool.js';
import { checkPositiveInt } from '../validate.js';
import { generateDataset } from './dataset.js';
import { computeGroundTruth, recallAtR } from './groundtruth.js';

export interface HNSWBenchOptions {
  n: number;
  d: number;
  /** Queries; default 1000. */
  nq?: number;
  /** Faiss's M; default 32. */
  M?: number;
  /** Default 40. */
  efConstruction?: number;
  /** Default [16, 32, 64, 128]. */
  efSearch?: number[];
  /** Threads for both libraries (build and batch search); default 1. */
  threads?: number;
  /** Seed of the data; default 1234. */
  seed?: number;
  /** Single-query searches timed per efSearch at most (default: all queries). */
  single?: number;
  /** Each search timing is the best of this many runs (default 3): the machines are shared. */
  repeat?: number;
  /** Run Python Faiss too: true (default: look for a python3 with faiss), false, or a Python path. */
  faiss?: boolean | string;
  log?: (line: string) => void;
}

export interface HNSWBenchRow {
  efSearch: number;
  recall10: number;
  /** Queries per second of one batch of all queries. */
  qpsBatch: number;
  /** Queries per second, one query per call. */
  qpsSingle: number;
  /** The same two measures in CPU time of the process (robust on a loaded machine at 1 thread). */
  qpsBatchCpu: number;
  qpsSingleCpu: number;
}

export interface HNSWBenchSide {
  buildSeconds: number;
  /** CPU seconds of the build (all threads). */
  buildCpuSeconds: number;
  rows: HNSWBenchRow[];
}

export interface HNSWBenchResult {
  n: number;
  d: number;
  nq: number;
  M: number;
  efConstruction: number;
  threads: number;
  seed: number;
  simdex: HNSWBenchSide;
  faiss: (HNSWBenchSide & { version: string; python: string }) | null;
  faissError?: string;
}

const K = 10;

/** Builds and searches IndexHNSWFlat (and Faiss's when available) on the same data. */
export function benchHNSW(opts: HNSWBenchOptions): HNSWBenchResult {
  const n = checkPositiveInt(opts.n, 'n');
  const d = checkPositiveInt(opts.d, 'd');
  const nq = checkPositiveInt(opts.nq ?? 1000, 'nq');
  const M = checkPositiveInt(opts.M ?? 32, 'M');
  const efConstruction = checkPositiveInt(opts.efConstruction ?? 40, 'efConstruction');
  const efs = opts.efSearch ?? [16, 32, 64, 128];
  const threads = checkPositiveInt(opts.threads ?? 1, 'threads');
  const seed = opts.seed ?? 1234;
  const single = Math.min(nq, opts.single ?? nq);
  const repeat = checkPositiveInt(opts.repeat ?? 3, 'repeat');
  /** Best wall-clock and best CPU seconds of `repeat` runs of f. */
  const best = (f: () => void): { wall: number; cpu: number } => {
    let wall = Infinity;
    let cpu = Infinity;
    for (let r = 0; r < repeat; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      f();
      wall = Math.min(wall, (performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu = Math.min(cpu, (c.user + c.system) / 1e6);
    }
    return { wall, cpu };
  };
  const log = opts.log ?? ((): void => {});

  const ds = generateDataset({ n, nq, d, seed });
  const gt = computeGroundTruth(ds.base, ds.queries, d, K);
  log(`data: ${n} x ${d}, ${nq} queries; ground truth in ${gt.seconds.toFixed(1)} s`);

  const saved = getNumThreads();
  let simdex: HNSWBenchSide;
  try {
    setNumThreads(threads);
    const index = new IndexHNSWFlat(d, M);
    index.hnsw.efConstruction = efConstruction;
    const c0 = process.cpuUsage();
    const t = performance.now();
    index.add(ds.base);
    const buildSeconds = (performance.now() - t) / 1000;
    const bc = process.cpuUsage(c0);
    const buildCpuSeconds = (bc.user + bc.system) / 1e6;
    log(`simdex: build ${buildSeconds.toFixed(1)} s`);
    const rows: HNSWBenchRow[] = [];
    for (const efSearch of efs) {
      const r = index.search(ds.queries, K, { efSearch });
      const b = best(() => index.search(ds.queries, K, { efSearch }));
      const s1 = best(() => {
        for (let i = 0; i < single; i++) index.search(ds.queries.subarray(i * d, (i + 1) * d), K, { efSearch });
      });
      rows.push({
        efSearch, recall10: recallAtR(gt.labels, K, r.labels, K, K),
        qpsBatch: nq / b.wall, qpsSingle: single / s1.wall, qpsBatchCpu: nq / b.cpu, qpsSingleCpu: single / s1.cpu,
      });
    }
    index.dispose();
    simdex = { buildSeconds, buildCpuSeconds, rows };
  } finally {
    setNumThreads(saved);
  }

  const result: HNSWBenchResult = { n, d, nq, M, efConstruction, threads, seed, simdex, faiss: null };
  if (opts.faiss !== false) {
    const python = typeof opts.faiss === 'string' ? opts.faiss : findFaissPython();
    if (python === undefined) {
      result.faissError = 'no python3 with faiss found (tried python3, /usr/bin/python3)';
    } else {
      runFaissSide(python, ds.base, ds.queries, n, nq, d, M, efConstruction, efs, threads, single, repeat, gt.labels, result);
    }
  }
  log(formatTable(result));
  return result;
}

function runFaissSide(
  python: string, base: Float32Array, queries: Float32Array, n: number, nq: number, d: number, M: number, efc: number,
  efs: number[], threads: number, single: number, repeat: number, gt: BigInt64Array, result: HNSWBenchResult,
): void {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-hnsw-bench-'));
  try {
    writeFileSync(join(dir, 'x.npy'), encodeNpy(base, [n, d]));
    writeFileSync(join(dir, 'q.npy'), encodeNpy(queries, [nq, d]));
    const args = [dir, String(M), String(efc), efs.join(','), String(threads), String(single), String(repeat)];
    const r = spawnSync(python, ['-c', FAISS_SCRIPT, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
    });
    if (r.status !== 0) {
      result.faissError = `${python} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
      return;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      build: number;
      buildCpu: number;
      rows: { efSearch: number; batch: number; single: number; batchCpu: number; singleCpu: number }[];
      version: string;
    };
    const rows = out.rows.map((row, i) => {
      const file = join(dir, `labels_${i}.npy`);
      const labels = decodeNpy(new Uint8Array(readFileSync(file)), file).data as BigInt64Array;
      return {
        efSearch: row.efSearch, recall10: recallAtR(gt, K, labels, K, K),
        qpsBatch: nq / row.batch, qpsSingle: single / row.single, qpsBatchCpu: nq / row.batchCpu, qpsSingleCpu: single / row.singleCpu,
      };
    });
    result.faiss = { buildSeconds: out.build, buildCpuSeconds: out.buildCpu, rows, version: out.version, python };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FAISS_SCRIPT = `
import json, os, sys, time
import numpy as np
import faiss
d_, M, efc, efs, threads, single = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(e) for e in sys.argv[4].split(',')], int(sys.argv[5]), int(sys.argv[6])
repeat = int(sys.argv[7])
faiss.omp_set_num_threads(threads)
x = np.load(os.path.join(d_, 'x.npy'))
q = np.load(os.path.join(d_, 'q.npy'))
index = faiss.IndexHNSWFlat(x.shape[1], M)
index.hnsw.efConstruction = efc
c0, t0 = time.process_time(), time.perf_counter()
index.add(x)
build, build_c = time.perf_counter() - t0, time.process_time() - c0
rows = []
for i, ef in enumerate(efs):
    index.hnsw.efSearch = ef
    _, I = index.search(q, 10)
    np.save(os.path.join(d_, 'labels_%d.npy' % i), I.astype('int64'))
    batch = single_t = batch_c = single_c = float('inf')
    for r in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        index.search(q, 10)
        batch, batch_c = min(batch, time.perf_counter() - t0), min(batch_c, time.process_time() - c0)
        c0, t0 = time.process_time(), time.perf_counter()
        for j in range(single):
            index.search(q[j:j + 1], 10)
        single_t, single_c = min(single_t, time.perf_counter() - t0), min(single_c, time.process_time() - c0)
    rows.append({"efSearch": ef, "batch": batch, "single": single_t, "batchCpu": batch_c, "singleCpu": single_c})
print(json.dumps({"build": build, "buildCpu": build_c, "rows": rows, "version": faiss.__version__}))
`;

/** The result as a Markdown table. */
export function formatTable(r: HNSWBenchResult): string {
  const f = (v: number): string => v.toFixed(0);
  const lines = [
    `HNSW${r.M} efConstruction ${r.efConstruction}, ${r.n} x ${r.d}, ${r.nq} queries, ${r.threads} thread(s)`,
    `build (wall / CPU): simdex ${r.simdex.buildSeconds.toFixed(1)} / ${r.simdex.buildCpuSeconds.toFixed(1)} s` +
      (r.faiss ? `, Faiss ${r.faiss.version} ${r.faiss.buildSeconds.toFixed(1)} / ${r.faiss.buildCpuSeconds.toFixed(1)} s` : ''),
    'QPS: best of the repeats, wall clock (CPU time in parentheses)',
    '| efSearch | simdex recall@10 | simdex QPS one query | simdex QPS batch |' + (r.faiss ? ' Faiss recall@10 | Faiss QPS one query | Faiss QPS batch |' : ''),
    '|---|---|---|---|' + (r.faiss ? '---|---|---|' : ''),
  ];
  r.simdex.rows.forEach((s, i) => {
    const fa = r.faiss?.rows[i];
    lines.push(
      `| ${s.efSearch} | ${s.recall10.toFixed(3)} | ${f(s.qpsSingle)} (${f(s.qpsSingleCpu)}) | ${f(s.qpsBatch)} (${f(s.qpsBatchCpu)}) |` +
        (fa ? ` ${fa.recall10.toFixed(3)} | ${f(fa.qpsSingle)} (${f(fa.qpsSingleCpu)}) | ${f(fa.qpsBatch)} (${f(fa.qpsBatchCpu)}) |` : ''),
    );
  });
  if (r.faissError) lines.push(`Faiss: ${r.faissError}`);
  return lines.join('\n');
}

function findFaissPython(): string | undefined {
  for (const p of [process.env['SIMDEX_PYTHON'], 'python3', '/usr/bin/python3']) {
    if (p === undefined || p === '') continue;
    const r = spawnSync(p, ['-c', 'import faiss'], { stdio: 'ignore' });
    if (r.status === 0) return p;
  }
  return undefined;
}

function parseArgs(argv: string[]): HNSWBenchOptions {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const ei = argv.indexOf('--ef');
  const pi = argv.indexOf('--python');
  return {
    n: get('n', 100_000),
    d: get('d', 128),
    nq: get('nq', 1000),
    M: get('M', 32),
    efConstruction: get('efc', 40),
    efSearch: ei >= 0 ? argv[ei + 1]!.split(',').map(Number) : undefined,
    threads: get('threads', 1),
    seed: get('seed', 1234),
    single: argv.includes('--single') ? get('single', 1000) : undefined,
    repeat: get('repeat', 3),
    faiss: argv.includes('--no-faiss') ? false : pi >= 0 ? argv[pi + 1]! : true,
    log: (line) => console.error(line),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(benchHNSW(parseArgs(process.argv.slice(2))), null, 2));
}
