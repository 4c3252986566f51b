/**
 * @module bench/peers/faiss
 * Python Faiss beside simdex in `simdex bench`: writes the data as `.npy` files in a temporary
 * directory, runs scripts/faiss_bench.py with the same factory strings, parameter sets and thread
 * count (faiss.omp_set_num_threads, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), and reads back its
 * timings (JSON on stdout) and labels (`.npy`), so that recall is scored by the same code for both.
 * Node only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from '../../io/vectorFiles.js';

/** One factory string and the parameter sets to try on it (Faiss ParameterSpace syntax). */
export interface FaissRun {
  factory: string;
  params: string[];
}

export interface FaissBenchRequest {
  python: string;
  base: Float32Array;
  queries: Float32Array;
  /** Training vectors; absent: indexes train on the base. */
  train?: Float32Array;
  d: number;
  metric: 'L2' | 'IP';
  threads: number;
  k: number;
  /** k of the untimed recall search (0: none). */
  kRecall: number;
  single: number;
  singleSeconds: number;
  runs: FaissRun[];
  /** efConstruction of HNSW graphs (default: Faiss's, 40). */
  efConstruction?: number;
  /** Seconds before the Python process is killed (default: none). */
  timeoutSeconds?: number;
  /** Called with each line Python prints on stderr (its progress and warnings). */
  onStderr?(line: string): void;
}

/** One row of Faiss results (labels already read back). */
export interface FaissRow {
  factory: string;
  params: string;
  error?: string;
  trainSeconds?: number;
  addSeconds?: number;
  buildSeconds?: number;
  rssDeltaBytes?: number;
  indexBytes?: number | null;
  batchSeconds?: number;
  /** size nq*k */
  labels?: BigInt64Array;
  /** size nq*kRecall */
  labelsRecall?: BigInt64Array;
  singleLatencies?: number[];
}

export interface FaissBenchResult {
  version: string;
  blas: string;
  /** OMP_WAIT_POLICY as Python saw it (unset: OpenMP's default, active spinning). */
  ompWaitPolicy: string | null;
  threads: number;
  rows: FaissRow[];
}

/** The Python interpreter to use: SIMDEX_PYTHON, else /usr/bin/python3 when present, else python3. */
export function defaultPython(): string {
  return process.env['SIMDEX_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Where scripts/faiss_bench.py is, from dist/src/bench/peers or src/bench/peers. */
export function faissScriptPath(): string {
  for (const rel of ['../../../../scripts/faiss_bench.py', '../../../scripts/faiss_bench.py']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('scripts/faiss_bench.py not found next to the simdex package');
}

/** Whether `python` imports faiss: its version, or why not. */
export function probeFaiss(python: string): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync(python, ['-c', 'import faiss, numpy; print(faiss.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) return { ok: false, reason: `${python}: ${r.error.message}` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() ?? '';
    return { ok: false, reason: `${python} cannot import faiss: ${last}` };
  }
  return { ok: true, version: r.stdout.trim() };
}

/** Runs the Faiss side of a benchmark. The temporary directory is removed afterwards. */
export async function runFaissBench(req: FaissBenchRequest): Promise<FaissBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-bench-'));
  try {
    const nb = req.base.length / req.d;
    const nq = req.queries.length / req.d;
    writeNpy(join(dir, 'base.npy'), req.base, [nb, req.d]);
    writeNpy(join(dir, 'query.npy'), req.queries, [nq, req.d]);
    if (req.train !== undefined) writeNpy(join(dir, 'train.npy'), req.train, [req.train.length / req.d, req.d]);
    const config = {
      base: join(dir, 'base.npy'),
      query: join(dir, 'query.npy'),
      train: req.train !== undefined ? join(dir, 'train.npy') : null,
      out_dir: dir,
      metric: req.metric,
      threads: req.threads,
      k: req.k,
      k_recall: req.kRecall,
      single: req.single,
      single_seconds: req.singleSeconds,
      runs: req.runs,
      ef_construction: req.efConstruction ?? null,
    };
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config));
    const threads = String(req.threads);
    const stdout = await runProcess(req.python, [faissScriptPath(), configPath], {
      ...process.env,
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
    }, req.timeoutSeconds, req.onStderr);
    const lastLine = stdout.trim().split('\n').pop() ?? '';
    let parsed: { version: string; blas: string; ompWaitPolicy: string | null; threads: number; rows: (Omit<FaissRow, 'labels' | 'labelsRecall'> & { labelsFile?: string; labelsRecallFile?: string })[] };
    try {
      parsed = JSON.parse(lastLine);
    } catch {
      throw new Error(`faiss_bench.py printed no JSON result: ${lastLine.slice(0, 200)}`);
    }
    const rows: FaissRow[] = parsed.rows.map(({ labelsFile, labelsRecallFile, ...row }) => ({
      ...row,
      labels: labelsFile !== undefined ? toBigInt64(readNpy(labelsFile).data) : undefined,
      labelsRecall: labelsRecallFile !== undefined ? toBigInt64(readNpy(labelsRecallFile).data) : undefined,
    }));
    return { version: parsed.version, blas: parsed.blas, ompWaitPolicy: parsed.ompWaitPolicy ?? null, threads: parsed.threads, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function toBigInt64(data: unknown): BigInt64Array {
  if (data instanceof BigInt64Array) return data;
  if (ArrayBuffer.isView(data) || Array.isArray(data)) {
    const a = data as ArrayLike<number | bigint>;
    const out = new BigInt64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]!);
    return out;
  }
  throw new Error('faiss_bench.py wrote labels of an unexpected type');
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutSeconds: number | undefined, onStderr?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errTail = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      errTail = (errTail + s).slice(-4000);
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onStderr?.(line);
    });
    const timer = timeoutSeconds !== undefined ? setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000) : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const why = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
        reject(new Error(`faiss_bench.py failed (${why}): ${errTail.trim().split('\n').slice(-3).join(' | ')}`));
      }
    });
  });
}
