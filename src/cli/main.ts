#!/usr/bin/env node
/**
 * @module cli/main
 * The `simdex` command: a thin adapter over the public API.
 *
 *   simdex build <factory|type> <vectors> <out.index>   indexFactory + train + add + writeIndex
 *   simdex search <index> <queries> [-k 10] ...         readIndex + search, results as .npy or JSON
 *   simdex info <index>                                 readIndex + describeIndex + reverseIndexFactory
 *   simdex bench --index Flat ...                       bench/runner
 *
 * Progress goes to stderr (cli/progress), results to stdout. Exit codes: 0 success, 1 failure
 * (missing or corrupt file, ...), 2 bad usage (unknown option, bad value); the reason is one line,
 * `simdex: <message>`, on stderr.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SimdexError, MetricType, metricName, readIndex, writeIndex, describeIndex, formatIndexDescription, IndexIDMap, type Index } from '../simdex.js';
import { indexFactory, reverseIndexFactory } from '../factory/indexFactory.js';
import { openVectors, readNpy, readVectors, writeNpy, type VectorReader } from '../io/vectorFiles.js';
import '../io/faiss/ondisk.js'; // on-disk inverted lists ("ilod", IO_FLAG_MMAP), as the Node entry registers them
import { formatReport, paramsApply, parseSearchParams, runBench, toSimdexParams, type BenchDataSpec } from '../bench/runner.js';
import { createReporter, formatCount, formatSeconds, type ProgressReporter } from './progress.js';

/** A bad command line: exit code 2. */
class UsageError extends Error {}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[], rep: ProgressReporter): Promise<void> | void;
}

const COMMON = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

// ---------------------------------------------------------------------------------------------
// build

/** Faiss class names accepted in place of a factory string. */
const TYPE_NAMES: Record<string, { factory: string; metric?: MetricType }> = {
  IndexFlat: { factory: 'Flat' },
  IndexFlatL2: { factory: 'Flat', metric: MetricType.L2 },
  IndexFlatIP: { factory: 'Flat', metric: MetricType.INNER_PRODUCT },
};

const ADD_CHUNK_ROWS = 65536;

const build: Command = {
  summary: 'build an index from a vector file and write it in Faiss format',
  usage: `Usage: simdex build <factory|type> <vectors> <out.index> [options]

Builds the index described by a Faiss factory string ("Flat", "IDMap,Flat", "IDMap2,Flat") or a
class name (IndexFlatL2, IndexFlatIP), trains it if it needs training, adds the vectors of
<vectors> (.npy, .fvecs or .bvecs) and writes it to <out.index> (readable by Faiss's read_index).

Options:
  --metric L2|IP      distance: L2 (squared Euclidean, default) or IP (inner product)
  --ids <file>        int64 or int32 ids, one per vector (.npy or .ivecs); wraps the index in
                      IDMap unless the factory string has IDMap or IDMap2
  --train <file>      training vectors (default: the vectors themselves)
  --ntrain <n>        train on at most n vectors (default: all)
  -q, --quiet         no progress or summary
  -h, --help          this help`,
  options: {
    ...COMMON,
    metric: { type: 'string' },
    ids: { type: 'string' },
    train: { type: 'string' },
    ntrain: { type: 'string' },
  },
  run(values, positionals, rep) {
    const [spec, vectorsPath, outPath] = expectPositionals(positionals, ['factory|type', 'vectors', 'out.index']);
    const typed = TYPE_NAMES[spec];
    const metric = values['metric'] !== undefined ? parseMetric(values['metric'] as string) : (typed?.metric ?? MetricType.L2);
    const ntrain = values['ntrain'] !== undefined ? parsePositiveInt(values['ntrain'] as string, '--ntrain') : undefined;
    const t0 = performance.now();
    const reader = openVectors(vectorsPath);
    let index: Index | undefined;
    try {
      const { n, d } = reader;
      if (n === 0) throw new UsageError(`"${vectorsPath}" holds no vectors`);
      let ids = values['ids'] !== undefined ? readIds(values['ids'] as string, n) : undefined;
      let factory = typed?.factory ?? spec;
      index = indexFactory(d, factory, metric);
      if (ids !== undefined && !(index instanceof IndexIDMap)) {
        index.dispose();
        factory = `IDMap,${factory}`;
        index = indexFactory(d, factory, metric);
      }
      if (index instanceof IndexIDMap && ids === undefined) {
        ids = new BigInt64Array(n);
        for (let i = 0; i < n; i++) ids[i] = BigInt(i);
      }
      if (!index.isTrained) trainIndex(index, values['train'] as string | undefined, reader, ntrain, rep);
      addFromReader(index, reader, ids, rep);
      writeIndex(index, outPath);
      if (values['quiet'] !== true) {
        const size = statSync(outPath).size;
        process.stdout.write(
          `${outPath}: ${index.typeName} "${reverseIndexFactory(index)}" d=${index.d} ntotal=${formatCount(index.ntotal)} ` +
            `metric=${metricName(index.metricType)} (${formatBytes(size)}) in ${formatSeconds((performance.now() - t0) / 1000)}\n`,
        );
      }
    } finally {
      reader.close();
      index?.dispose();
    }
  },
};

function trainIndex(index: Index, trainPath: string | undefined, reader: VectorReader, ntrain: number | undefined, rep: ProgressReporter): void {
  let x: Float32Array;
  if (trainPath !== undefined) {
    const p = rep.start('read training vectors', 'vectors');
    const t = readVectors(trainPath, { onProgress: (a, b) => p.update(a, b) });
    p.finish();
    if (t.d !== index.d) throw new UsageError(`--train "${trainPath}" has dimension ${t.d}, the vectors have d = ${index.d}`);
    x = ntrain !== undefined ? t.data.subarray(0, Math.min(t.n, ntrain) * t.d) : t.data;
  } else {
    x = reader.read(0, Math.min(reader.n, ntrain ?? reader.n));
  }
  const p = rep.start('train', 'vectors');
  const hooked = index as Index & { onProgress?: (stage: string, done: number, total: number) => void };
  if ('onProgress' in hooked) hooked.onProgress = (_stage, done, total) => p.update(done, total);
  index.train(x);
  if ('onProgress' in hooked) hooked.onProgress = undefined;
  p.finish(`${formatCount(x.length / index.d)} training vectors`);
}

function addFromReader(index: Index, reader: VectorReader, ids: BigInt64Array | undefined, rep: ProgressReporter): void {
  const p = rep.start('add', 'vectors');
  for (const chunk of reader.chunks(ADD_CHUNK_ROWS)) {
    if (ids !== undefined) index.addWithIds(chunk.data, ids.subarray(chunk.start, chunk.start + chunk.n));
    else index.add(chunk.data);
    p.update(chunk.start + chunk.n, reader.n);
  }
  p.finish();
}

/** Ids from an int64 / int32 `.npy` or an `.ivecs` file: exactly n of them. */
function readIds(path: string, n: number): BigInt64Array {
  let data: unknown;
  if (path.toLowerCase().endsWith('.ivecs')) {
    const r = openVectors(path, { convertIntegers: true });
    try {
      data = r.read(0, r.n);
    } finally {
      r.close();
    }
  } else {
    data = readNpy(path).data;
  }
  let ids: BigInt64Array;
  if (data instanceof BigInt64Array) ids = data;
  else if (data instanceof Int32Array || data instanceof Uint32Array || data instanceof Float32Array) {
    ids = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) ids[i] = BigInt(Math.round(data[i]!));
  } else {
    throw new UsageError(`--ids "${path}" must hold int64 or int32 ids`);
  }
  if (ids.length !== n) throw new UsageError(`--ids "${path}" holds ${ids.length} ids, expected one per vector (${n})`);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// search

const search: Command = {
  summary: 'search an index with query vectors',
  usage: `Usage: simdex search <index> <queries> [options]

Searches the k nearest neighbours of each query of <queries> (.npy, .fvecs or .bvecs) in <index>
(a Faiss index file). Results: labels (int64, -1 where fewer than k exist) and distances (float32),
nq x k, best first.

Options:
  -k <k>              neighbours per query (default 10)
  -o, --output <p>    write <p>.labels.npy and <p>.distances.npy
  --json              print {"labels": [[...]], "distances": [[...]]} on stdout (the default
                      when no --output is given)
  --nprobe <n>        IVF: inverted lists probed per query
  --efSearch <n>      HNSW: size of the search queue
  --params <set>      other search parameters, Faiss ParameterSpace syntax ("nprobe=16,max_codes=0")
  -q, --quiet         no progress
  -h, --help          this help`,
  options: {
    ...COMMON,
    k: { type: 'string', short: 'k' },
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    nprobe: { type: 'string' },
    efSearch: { type: 'string' },
    params: { type: 'string' },
  },
  run(values, positionals, rep) {
    const [indexPath, queriesPath] = expectPositionals(positionals, ['index', 'queries']);
    const k = values['k'] !== undefined ? parsePositiveInt(values['k'] as string, '-k') : 10;
    const params: Record<string, number> = values['params'] !== undefined ? parseSearchParams(values['params'] as string) : {};
    if (values['nprobe'] !== undefined) params['nprobe'] = parsePositiveInt(values['nprobe'] as string, '--nprobe');
    if (values['efSearch'] !== undefined) params['efSearch'] = parsePositiveInt(values['efSearch'] as string, '--efSearch');
    const index = loadIndex(indexPath, rep);
    try {
      const p = rep.start('read queries', 'vectors');
      const q = readVectors(queriesPath, { onProgress: (a, b) => p.update(a, b) });
      p.finish();
      if (q.d !== index.d) throw new UsageError(`the queries have dimension ${q.d}, the index has d = ${index.d}`);
      const ignored = Object.keys(params).filter((key) => !paramsApply(index, { [key]: params[key]! }));
      if (ignored.length > 0) rep.log(`simdex: warning: ${ignored.join(', ')} does not apply to ${index.typeName} (ignored)`);
      const s = rep.start('search', 'queries');
      const res = index.search(q.data, k, toSimdexParams(params));
      s.update(q.n, q.n);
      s.finish(`k=${k}`);
      if (values['output'] !== undefined) {
        const prefix = (values['output'] as string).replace(/\.npy$/i, '');
        writeNpy(`${prefix}.labels.npy`, res.labels, [q.n, k]);
        writeNpy(`${prefix}.distances.npy`, res.distances, [q.n, k]);
        rep.log(`wrote ${prefix}.labels.npy (int64) and ${prefix}.distances.npy (float32), ${q.n} x ${k}`);
      }
      if (values['json'] === true || values['output'] === undefined) {
        const labels: number[][] = [];
        const distances: number[][] = [];
        for (let i = 0; i < q.n; i++) {
          labels.push(Array.from(res.labels.subarray(i * k, (i + 1) * k), Number));
          distances.push(Array.from(res.distances.subarray(i * k, (i + 1) * k)));
        }
        process.stdout.write(JSON.stringify({ nq: q.n, k, labels, distances }) + '\n');
      }
    } finally {
      index.dispose();
    }
  },
};

function loadIndex(path: string, rep: ProgressReporter): Index {
  const p = rep.start(`read ${path}`, '');
  const index = readIndex(path);
  p.finish(`${index.typeName}, ntotal=${formatCount(index.ntotal)}`);
  return index;
}

// ---------------------------------------------------------------------------------------------
// info

const info: Command = {
  summary: 'describe what an index file holds',
  usage: `Usage: simdex info <index> [options]

Prints the structure of a Faiss index file: the index types (outermost first), its factory string,
d, ntotal, metric and sizes.

Options:
  --json              print the description as JSON
  -q, --quiet         no progress
  -h, --help          this help`,
  options: { ...COMMON, json: { type: 'boolean' } },
  run(values, positionals, rep) {
    const [indexPath] = expectPositionals(positionals, ['index']);
    const fileBytes = statSync(indexPath).size;
    const index = loadIndex(indexPath, rep);
    try {
      let factory: string | null;
      try {
        factory = reverseIndexFactory(index);
      } catch {
        factory = null;
      }
      const desc = describeIndex(index);
      if (values['json'] === true) {
        process.stdout.write(JSON.stringify({ file: indexPath, fileBytes, factory, ...desc }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `file:    ${indexPath} (${formatBytes(fileBytes)})`,
          `factory: ${factory ?? '(none)'}`,
          `d:       ${index.d}`,
          `ntotal:  ${formatCount(index.ntotal)}`,
          `metric:  ${metricName(index.metricType)}`,
          `trained: ${index.isTrained}`,
          'structure:',
          formatIndexDescription(desc, '  '),
        ].join('\n') + '\n',
      );
    } finally {
      index.dispose();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// bench

const bench: Command = {
  summary: 'measure indexes beside Python Faiss and hnswlib-node',
  usage: `Usage: simdex bench --index <factory> [--index <factory> ...] [options]

For each factory string and search-parameter set: train/add time, memory, recall@1/10/100 against
exact ground truth, batch QPS (GFLOP/s for Flat), single-query QPS and p50/p99 latency; the same
with Python Faiss (same factory strings and threads) and hnswlib-node (HNSW rows) when present.

Data (generated unless --base is given):
  --n <n>             base vectors (default 100000)
  --d <d>             dimension (default 128)
  --nq <n>            queries (default 1000)
  --ntrain <n>        training vectors, for indexes that train (default min(n, 200000))
  --seed <s>          generator seed (default 1234)
  --difficulty <x>    1 = SIFT-like (default); higher is harder
  --base <file>       base vectors (.npy, .fvecs, .bvecs) instead of generated data
  --query <file>      query vectors (with --base)
  --gt <file>         ground truth ids (.ivecs or int .npy), else computed exactly
  --train <file>      training vectors (default: the first ntrain base vectors)
Search:
  --index <factory>   factory string to measure (repeatable), e.g. "Flat", "IDMap,Flat", "IVF4096,Flat"
  --search <set>      search parameter set, ParameterSpace syntax (repeatable): "nprobe=16"
  --nprobe <list>     shorthand: one set per value, e.g. 1,4,16,64
  --efSearch <list>   shorthand: one set per value
  --metric L2|IP      default L2
  -k <k>              k of the timed searches (default 10)
  --threads <n>       threads for simdex and Faiss (default: all cores)
  --single <n>        single queries timed one at a time (default 200)
  --single-seconds <s> time budget for them, per row (default 20)
Peers:
  --peers <list>      faiss,hnswlib (default) or none
  --python <path>     Python with faiss (default $SIMDEX_PYTHON or /usr/bin/python3)
  --ef-construction <n> efConstruction of the HNSW graphs of all libraries (default 40)
                      (hnswlib-node is looked up in $SIMDEX_PEERS_DIR/node_modules when set)
                      Faiss gets OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads; on a shared or
                      busy machine, run with OMP_WAIT_POLICY=PASSIVE: OpenMP's spinning threads
                      otherwise slow Faiss's multi-thread rows several times
Output:
  --json              print the report as JSON
  -q, --quiet         no progress
  -h, --help          this help`,
  options: {
    ...COMMON,
    index: { type: 'string', multiple: true },
    search: { type: 'string', multiple: true },
    nprobe: { type: 'string' },
    efSearch: { type: 'string' },
    n: { type: 'string' },
    d: { type: 'string' },
    nq: { type: 'string' },
    ntrain: { type: 'string' },
    seed: { type: 'string' },
    difficulty: { type: 'string' },
    base: { type: 'string' },
    query: { type: 'string' },
    gt: { type: 'string' },
    train: { type: 'string' },
    metric: { type: 'string' },
    k: { type: 'string', short: 'k' },
    threads: { type: 'string' },
    single: { type: 'string' },
    'single-seconds': { type: 'string' },
    peers: { type: 'string' },
    python: { type: 'string' },
    'ef-construction': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, rep) {
    if (positionals.length > 0) throw new UsageError(`bench takes no positional arguments, got "${positionals[0]}" (use --index <factory>)`);
    const indexes = (values['index'] as string[] | undefined) ?? [];
    if (indexes.length === 0) throw new UsageError('bench needs at least one --index <factory> (e.g. --index Flat)');
    const int = (key: string, def?: number): number | undefined => (values[key] !== undefined ? parsePositiveInt(values[key] as string, `--${key}`) : def);
    const searchSets = [...((values['search'] as string[] | undefined) ?? [])];
    for (const key of ['nprobe', 'efSearch']) {
      if (values[key] === undefined) continue;
      for (const v of (values[key] as string).split(',')) searchSets.push(`${key}=${parsePositiveInt(v.trim(), `--${key}`)}`);
    }
    searchSets.forEach((s) => parseSearchParams(s));
    let data: BenchDataSpec;
    if (values['base'] !== undefined) {
      if (values['query'] === undefined) throw new UsageError('--base needs --query <file>');
      for (const key of ['n', 'd', 'nq', 'seed', 'difficulty']) {
        if (values[key] !== undefined) throw new UsageError(`--${key} is for generated data and cannot be used with --base`);
      }
      data = { kind: 'files', base: values['base'] as string, query: values['query'] as string, gt: values['gt'] as string | undefined, train: values['train'] as string | undefined, ntrain: int('ntrain') };
    } else {
      if (values['query'] !== undefined || values['gt'] !== undefined || values['train'] !== undefined) {
        throw new UsageError('--query, --gt and --train need --base <file> (without --base the data is generated)');
      }
      const seed = values['seed'] !== undefined ? parseInteger(values['seed'] as string, '--seed') : 1234;
      const difficulty = values['difficulty'] !== undefined ? parsePositiveNumber(values['difficulty'] as string, '--difficulty') : 1;
      data = { kind: 'generated', n: int('n', 100_000)!, d: int('d', 128)!, nq: int('nq', 1000)!, ntrain: int('ntrain'), seed, difficulty };
    }
    const peersArg = ((values['peers'] as string | undefined) ?? 'faiss,hnswlib').split(',').map((s) => s.trim());
    for (const p of peersArg) if (!['faiss', 'hnswlib', 'none', ''].includes(p)) throw new UsageError(`--peers: unknown peer "${p}" (faiss, hnswlib or none)`);
    const report = await runBench({
      data,
      indexes,
      searchParams: searchSets,
      metric: values['metric'] !== undefined ? (parseMetric(values['metric'] as string) === MetricType.L2 ? 'L2' : 'IP') : 'L2',
      k: int('k', 10),
      threads: int('threads'),
      single: values['single'] !== undefined ? parseInteger(values['single'] as string, '--single') : undefined,
      singleSeconds: values['single-seconds'] !== undefined ? parsePositiveNumber(values['single-seconds'] as string, '--single-seconds') : undefined,
      peers: { faiss: peersArg.includes('faiss'), hnswlib: peersArg.includes('hnswlib') },
      python: values['python'] as string | undefined,
      efConstruction: int('ef-construction'),
      reporter: rep,
    });
    process.stdout.write((values['json'] === true ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
  },
};

// ---------------------------------------------------------------------------------------------
// Driver

const COMMANDS: Record<string, Command> = { build, search, info, bench };

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `Usage: simdex <command> [options]

Faiss's indexes and file format in TypeScript with WebAssembly SIMD kernels.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "simdex <command> --help" for a command's options.
Options:
  -h, --help     this help
  --version      the version of simdex`;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI on argv (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`simdex: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see simdex --help)\n`);
    return 2;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (e) {
      // Node's first sentence ("Unknown option '--bogus'"), without its advice on dashes.
      const first = (e as Error).message.split('\n')[0]!.split(/\. (?=[A-Z])/)[0]!.replace(/\.$/, '');
      throw new UsageError(`${first} (see simdex ${name} --help)`);
    }
    if (parsed.values['help'] === true) {
      process.stdout.write(command.usage + '\n');
      return 0;
    }
    const rep = createReporter({ quiet: parsed.values['quiet'] === true });
    await command.run(parsed.values as Record<string, unknown>, parsed.positionals, rep);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

/** One line on stderr; the exit code: 2 for usage errors and invalid values, 1 otherwise. */
function reportError(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`simdex: ${e.message}\n`);
    return 2;
  }
  if (e instanceof SimdexError || e instanceof TypeError || e instanceof RangeError || isSystemError(e)) {
    process.stderr.write(`simdex: ${oneLine((e as Error).message)}\n`);
    const code = (e as SimdexError).code;
    return code === 'ERR_SIMDEX_INVALID_ARGUMENT' || code === 'ERR_SIMDEX_FACTORY' || code === 'ERR_SIMDEX_INVALID_TYPE' ? 2 : 1;
  }
  process.stderr.write(`simdex: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
  if (process.env['SIMDEX_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return 1;
}

function isSystemError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

function expectPositionals(positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing <${names[positionals.length]}> (usage: ${names.map((n) => `<${n}>`).join(' ')}; see --help)`);
  }
  if (positionals.length > names.length) throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  return positionals;
}

function parsePositiveInt(s: string, flag: string): number {
  if (!/^[0-9]+$/.test(s.trim()) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`${flag} must be a positive integer, got "${s}"`);
  }
  return Number(s);
}

function parseInteger(s: string, flag: string): number {
  if (!/^-?[0-9]+$/.test(s.trim()) || !Number.isSafeInteger(Number(s))) throw new UsageError(`${flag} must be an integer, got "${s}"`);
  return Number(s);
}

function parsePositiveNumber(s: string, flag: string): number {
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} must be a number > 0, got "${s}"`);
  return v;
}

function parseMetric(s: string): MetricType {
  const u = s.toUpperCase();
  if (u === 'L2') return MetricType.L2;
  if (u === 'IP' || u === 'INNER_PRODUCT') return MetricType.INNER_PRODUCT;
  throw new UsageError(`--metric must be L2 or IP, got "${s}"`);
}

function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

// Run when executed (not when imported by tests).
function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`simdex: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
