/**
 * @module bench/pq-bench
 * Benchmark of IndexIVFPQ (`IVF{nlist},PQ{M}`) against Python Faiss's (when a Python with faiss is
 * found), on the same seeded clustered data (bench/dataset), at the same number of threads (Faiss:
 * omp_set_num_threads, OMP_NUM_THREADS / OPENBLAS_NUM_THREADS): train and add times, recall@10
 * against exact search (both scored by the same code, bench/groundtruth), and queries per second of
 * one batch of all queries and of single queries, for each nprobe. Node-only (spawns Python).
 *
 * Faiss's factory string `IVF{nlist},PQ{M}` also runs polysemous training (a renumbering of the
 * centroids for Hamming filtering, unused by this search); `--faiss-suffix np` (default) leaves it
 * out so that both do the same work, `--faiss-suffix ''` keeps it.
 *
 * Run: `node dist/src/bench/pq-bench.js --n 200000 --d 256 --nq 1000 --nlist 1024 --M 64
 *   --nprobe 1,8,32 --threads 1 --single 300` (also `--nbits`, `--seed`, `--python PATH`,
 *   `--no-faiss`); prints one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IndexFlatL2 } from '../indexes/IndexFlat.js';
import { IndexIVFPQ } from '../indexes/ivf/IndexIVFPQ.js';
import { decodeNpy, encodeNpy } from '../io/npy.js';
import { getNumThreads, setNumThreads } from '../threads/pool.js';
import { generateDataset } from './dataset.js';
import { computeGroundTruth, recallAtR } from './groundtruth.js';

export interface PQBenchOptions {
  n: number;
  d: number;
  nq: number;
  nlist: number;
  M: number;
  nbits?: number;
  nprobes: number[];
  threads?: number;
  /** Single queries timed per nprobe (the first ones); default 300. */
  single?: number;
  seed?: number;
  faiss?: boolean | string;
  /** Appended to Faiss's `PQ{M}` token (default 'np': no polysemous training). */
  faissSuffix?: string;
  log?: (line: string) => void;
}

export interface PQBenchSide {
  trainSeconds: number;
  addSeconds: number;
  rows: { nprobe: number; recall10: number; batchQps: number; singleQps: number }[];
}

const now = (): number => performance.now() / 1000;

/** Runs the benchmark; returns both sides' figures. */
export function benchPQ(opts: PQBenchOptions): Record<string, unknown> {
  const { n, d, nq, nlist, M } = opts;
  const nbits = opts.nbits ?? 8;
  const threads = opts.threads ?? 1;
  const single = Math.min(nq, opts.single ?? 300);
  const seed = opts.seed ?? 1234;
  const log = opts.log ?? ((): void => {});
  let t = now();
  const data = generateDataset({ d, n, nq, seed });
  log(`data: ${n} x ${d}, ${nq} queries in ${(now() - t).toFixed(1)} s`);
  t = now();
  const gt = computeGroundTruth(data.base, data.queries, d, 10);
  log(`ground truth in ${(now() - t).toFixed(1)} s`);

  const saved = getNumThreads();
  let simdex: PQBenchSide;
  try {
    setNumThreads(threads);
    const index = new IndexIVFPQ(new IndexFlatL2(d), d, nlist, M, nbits);
    t = now();
    index.train(data.base);
    const trainSeconds = now() - t;
    log(`simdex train ${trainSeconds.toFixed(1)} s (precomputed tables: ${index.usePrecomputedTable})`);
    t = now();
    index.add(data.base);
    const addSeconds = now() - t;
    log(`simdex add ${addSeconds.toFixed(1)} s`);
    const rows: PQBenchSide['rows'] = [];
    for (const nprobe of opts.nprobes) {
      // warm-up (untimed, both sides): V8 tiers hot WebAssembly functions up to its optimizing compiler lazily
      index.search(data.queries, 10, { nprobe });
      for (let i = 0; i < 50; i++) index.search(data.queries.subarray(i * d, (i + 1) * d), 10, { nprobe });
      t = now();
      const r = index.search(data.queries, 10, { nprobe });
      const batch = now() - t;
      t = now();
      for (let i = 0; i < single; i++) index.search(data.queries.subarray(i * d, (i + 1) * d), 10, { nprobe });
      const one = now() - t;
      const row = { nprobe, recall10: recallAtR(gt.labels, 10, r.labels, 10, 10), batchQps: nq / batch, singleQps: single / one };
      log(`simdex nprobe ${nprobe}: recall@10 ${row.recall10.toFixed(3)}, batch ${row.batchQps.toFixed(0)} QPS, single ${row.singleQps.toFixed(0)} QPS`);
      rows.push(row);
    }
    simdex = { trainSeconds, addSeconds, rows };
    index.dispose();
  } finally {
    setNumThreads(saved);
  }
  const result: Record<string, unknown> = { n, d, nq, nlist, M, nbits, threads, single, seed, simdex };
  if (opts.faiss === false) return result;
  const python = typeof opts.faiss === 'string' ? opts.faiss : '/usr/bin/python3';
  const suffix = opts.faissSuffix ?? 'np';
  const factory = `IVF${nlist},PQ${M}${nbits === 8 ? '' : `x${nbits}`}${suffix}`;
  const dir = mkdtempSync(join(tmpdir(), 'simdex-pq-bench-'));
  try {
    writeFileSync(join(dir, 'base.npy'), encodeNpy(data.base, [n, d]));
    writeFileSync(join(dir, 'queries.npy'), encodeNpy(data.queries, [nq, d]));
    const r = spawnSync(python, ['-c', FAISS_SCRIPT, dir, factory, opts.nprobes.join(','), String(single), String(threads)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
    });
    if (r.status !== 0) {
      result.faissError = `${python} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
      return result;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { train: number; add: number; version: string; rows: { nprobe: number; batch: number; single: number }[] };
    const rows = out.rows.map((row) => {
      const file = join(dir, `I${row.nprobe}.npy`);
      const labels = decodeNpy(new Uint8Array(readFileSync(file)), file).data as BigInt64Array;
      return { nprobe: row.nprobe, recall10: recallAtR(gt.labels, 10, labels, 10, 10), batchQps: nq / row.batch, singleQps: single / row.single };
    });
    result.faiss = { version: out.version, factory, trainSeconds: out.train, addSeconds: out.add, rows };
    log(`faiss ${out.version} ${factory}: train ${out.train.toFixed(1)} s, add ${out.add.toFixed(1)} s`);
    for (const row of rows) log(`faiss nprobe ${row.nprobe}: recall@10 ${row.recall10.toFixed(3)}, batch ${row.batchQps.toFixed(0)} QPS, single ${row.singleQps.toFixed(0)} QPS`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const FAISS_SCRIPT = `
import json, os, sys, time
import numpy as np
import faiss
d_, factory, nprobes, single, threads = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(',')], int(sys.argv[4]), int(sys.argv[5])
faiss.omp_set_num_threads(threads)
xb = np.load(os.path.join(d_, 'base.npy'))
xq = np.load(os.path.join(d_, 'queries.npy'))
index = faiss.index_factory(xb.shape[1], factory)
t = time.perf_counter(); index.train(xb); train = time.perf_counter() - t
t = time.perf_counter(); index.add(xb); add = time.perf_counter() - t
rows = []
for nprobe in nprobes:
    index.nprobe = nprobe
    index.search(xq, 10)
    for i in range(50):
        index.search(xq[i:i + 1], 10)
    t = time.perf_counter(); D, I = index.search(xq, 10); batch = time.perf_counter() - t
    np.save(os.path.join(d_, 'I%d.npy' % nprobe), I)
    t = time.perf_counter()
    for i in range(single):
        index.search(xq[i:i + 1], 10)
    one = time.perf_counter() - t
    rows.append({"nprobe": nprobe, "batch": batch, "single": one})
print(json.dumps({"train": train, "add": add, "version": faiss.__version__, "rows": rows}))
`;

function parseArgs(argv: string[]): PQBenchOptions {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const str = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const pi = str('python');
  return {
    n: get('n', 200_000),
    d: get('d', 256),
    nq: get('nq', 1000),
    nlist: get('nlist', 1024),
    M: get('M', 64),
    nbits: get('nbits', 8),
    nprobes: (str('nprobe') ?? '1,8,32').split(',').map(Number),
    threads: get('threads', 1),
    single: get('single', 300),
    seed: get('seed', 1234),
    faiss: argv.includes('--no-faiss') ? false : (pi ?? true),
    faissSuffix: str('faiss-suffix') ?? 'np',
    log: (line) => console.error(line),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(benchPQ(parseArgs(process.argv.slice(2))), null, 2));
}
