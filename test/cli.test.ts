/**
 * @module test/cli
 * The built `simdex` command, run as a subprocess on small generated files: build -> info -> search
 * round trips, --help on every command, exit codes and one-line messages for bad input, and a small
 * bench smoke test (with Python Faiss when it is installed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '../src/bench/dataset.js';
import { computeGroundTruth } from '../src/bench/groundtruth.js';
import { probeFaiss, defaultPython } from '../src/bench/peers/faiss.js';
import { readNpy, writeNpy, writeVectors } from '../src/io/vectorFiles.js';
import { MetricType } from '../src/MetricType.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const d = 8;
const n = 300;
const nq = 4;
let dir = '';
let ds: ReturnType<typeof generateDataset>;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function simdex(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A failed run: the exit code, and one line on stderr starting with "simdex: " that matches `message`. */
function expectFailure(r: Run, code: number, message: RegExp): void {
  assert.equal(r.status, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1]!;
  assert.match(last, /^simdex: /);
  assert.match(last, message);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'simdex-cli-'));
  ds = generateDataset({ n, nq, d, seed: 5 });
  writeNpy(join(dir, 'base.npy'), ds.base, [n, d]);
  writeVectors(join(dir, 'queries.fvecs'), ds.queries, d);
  writeVectors(join(dir, 'queries.npy'), ds.queries, d);
  writeVectors(join(dir, 'wrong-d.npy'), new Float32Array(3 * (d + 1)), d + 1);
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) ids[i] = BigInt(1000 + i);
  writeNpy(join(dir, 'ids.npy'), ids, [n]);
  writeNpy(join(dir, 'few-ids.npy'), ids.subarray(0, 10), [10]);
  writeFileSync(join(dir, 'garbage.index'), 'this is not a Faiss index');
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('simdex build -> info -> search', () => {
  test('Flat, L2: results are the exact neighbours', () => {
    const b = simdex('build', 'Flat', 'base.npy', 'flat.index');
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /flat\.index: IndexFlat "Flat" d=8 ntotal=300 metric=L2/);
    assert.ok(existsSync(join(dir, 'flat.index')));

    const i = simdex('info', 'flat.index');
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /factory: Flat\n/);
    assert.match(i.stdout, /d:\s+8\n/);
    assert.match(i.stdout, /ntotal:\s+300\n/);
    assert.match(i.stdout, /metric:\s+L2\n/);
    assert.match(i.stdout, /IndexFlatL2 "IxF2"/);
    const json = JSON.parse(simdex('info', 'flat.index', '--json').stdout) as { factory: string; ntotal: number; d: number; fileBytes: number; bytes: number };
    assert.equal(json.factory, 'Flat');
    assert.equal(json.ntotal, n);
    assert.equal(json.d, d);
    assert.equal(json.fileBytes, json.bytes);

    const s = simdex('search', 'flat.index', 'queries.fvecs', '-k', '5', '--json', '-q');
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stderr, '');
    const res = JSON.parse(s.stdout) as { nq: number; k: number; labels: number[][]; distances: number[][] };
    assert.equal(res.nq, nq);
    assert.equal(res.k, 5);
    const gt = computeGroundTruth(ds.base, ds.queries, d, 5);
    assert.deepEqual(res.labels.flat(), [...gt.labels].map(Number));
    res.distances.flat().forEach((v, j) => assert.ok(Math.abs(v - gt.distances[j]!) <= 1e-4 * Math.max(1, v)));
  });

  test('search --output writes int64 labels and float32 distances', () => {
    assert.equal(simdex('build', 'IndexFlatL2', 'base.npy', 'flat2.index', '-q').status, 0);
    const s = simdex('search', 'flat2.index', 'queries.npy', '-k', '3', '-o', 'res.npy');
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout, '');
    const labels = readNpy(join(dir, 'res.labels.npy'));
    const distances = readNpy(join(dir, 'res.distances.npy'));
    assert.equal(labels.dtype, '<i8');
    assert.deepEqual(labels.shape, [nq, 3]);
    assert.equal(distances.dtype, '<f4');
    assert.deepEqual(distances.shape, [nq, 3]);
    const gt = computeGroundTruth(ds.base, ds.queries, d, 3);
    assert.deepEqual([...(labels.data as BigInt64Array)], [...gt.labels]);
  });

  test('IDMap2,Flat with --ids and --metric IP', () => {
    const b = simdex('build', 'IDMap2,Flat', 'base.npy', 'idmap.index', '--ids', 'ids.npy', '--metric', 'IP');
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /IndexIDMap2 "IDMap2,Flat" d=8 ntotal=300 metric=INNER_PRODUCT/);
    const i = simdex('info', 'idmap.index');
    assert.match(i.stdout, /factory: IDMap2,Flat/);
    assert.match(i.stdout, /IndexIDMap2 "IxM2"[^\n]*\n\s+IndexFlatIP "IxFI"/);
    const res = JSON.parse(simdex('search', 'idmap.index', 'queries.npy', '-k', '4', '-q').stdout) as { labels: number[][] };
    const gt = computeGroundTruth(ds.base, ds.queries, d, 4, { metric: MetricType.INNER_PRODUCT });
    assert.deepEqual(res.labels.flat(), [...gt.labels].map((l) => Number(l) + 1000));
  });

  test('--ids on a plain factory string wraps it in IDMap', () => {
    const b = simdex('build', 'Flat', 'base.npy', 'wrapped.index', '--ids', 'ids.npy');
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /IndexIDMap "IDMap,Flat"/);
  });

  test('progress goes to stderr and --quiet silences it', () => {
    const loud = simdex('build', 'Flat', 'base.npy', 'p.index');
    assert.match(loud.stderr, /add: 300 vectors in/);
    const quiet = simdex('build', 'Flat', 'base.npy', 'p.index', '--quiet');
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, '');
  });

  test('search parameters that do not apply are ignored with a warning', () => {
    const s = simdex('search', 'flat.index', 'queries.npy', '--nprobe', '8');
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stderr, /warning: nprobe does not apply to IndexFlatL2/);
  });
});

describe('simdex --help', () => {
  test('every command has --help, exit code 0', () => {
    for (const [cmd, flag] of [['build', '--help'], ['search', '-h'], ['info', '--help'], ['bench', '--help']] as const) {
      const r = simdex(cmd, flag);
      assert.equal(r.status, 0, `${cmd} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: simdex ${cmd}`));
    }
    const top = simdex('--help');
    assert.equal(top.status, 0);
    assert.match(top.stdout, /Commands:\n\s+build\s.*\n\s+search\s.*\n\s+info\s.*\n\s+bench\s/);
  });

  test('no command prints the usage with exit code 2; --version prints the version', () => {
    const r = simdex();
    assert.equal(r.status, 2);
    assert.match(r.stdout, /^Usage: simdex <command>/);
    assert.match(simdex('--version').stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('simdex: bad input', () => {
  test('missing files: exit code 1, the path in the message', () => {
    expectFailure(simdex('build', 'Flat', 'nope.npy', 'x.index'), 1, /cannot open "nope\.npy": no such file or directory/);
    expectFailure(simdex('info', 'missing.index'), 1, /missing\.index/);
    expectFailure(simdex('search', 'missing.index', 'queries.npy'), 1, /missing\.index/);
    expectFailure(simdex('search', 'flat.index', 'missing.fvecs'), 1, /missing\.fvecs/);
  });

  test('wrong k: exit code 2', () => {
    expectFailure(simdex('search', 'flat.index', 'queries.npy', '-k', '0'), 2, /-k must be a positive integer, got "0"/);
    expectFailure(simdex('search', 'flat.index', 'queries.npy', '-k', 'ten'), 2, /-k must be a positive integer, got "ten"/);
    expectFailure(simdex('search', 'flat.index', 'queries.npy', '-k', '-3'), 2, /-k/);
  });

  test('malformed or unsupported factory strings: exit code 2, the token named', () => {
    expectFailure(simdex('build', 'Foo', 'base.npy', 'x.index'), 2, /token "Foo" is not a valid token in "Foo"/);
    expectFailure(simdex('build', 'IVF1024_NSG32,Flat', 'base.npy', 'x.index'), 2, /token "IVF1024_NSG32" is a Faiss token .* not implemented yet/);
    expectFailure(simdex('build', 'HNSW32_2x8+PQ16', 'base.npy', 'x.index'), 2, /"HNSW32_2x8\+PQ16" .*not implemented yet/);
    // a known index with too little training data: the numbers are named
    expectFailure(simdex('build', 'IVF1024,Flat', 'base.npy', 'x.index'), 2, /holds 300 training vectors, fewer than nlist = 1024/);
    expectFailure(simdex('build', 'IDMap,', 'base.npy', 'x.index'), 2, /token "" is empty .* in "IDMap,"/);
    assert.ok(!existsSync(join(dir, 'x.index')));
  });

  test('usage errors: exit code 2, one line', () => {
    expectFailure(simdex('frobnicate'), 2, /unknown command "frobnicate"/);
    expectFailure(simdex('build', 'Flat', 'base.npy'), 2, /missing <out\.index>/);
    expectFailure(simdex('build', 'Flat', 'base.npy', 'a.index', 'extra'), 2, /unexpected argument "extra"/);
    expectFailure(simdex('build', 'Flat', 'base.npy', 'a.index', '--bogus'), 2, /Unknown option '--bogus' \(see simdex build --help\)$/);
    expectFailure(simdex('build', 'Flat', 'base.npy', 'a.index', '--metric', 'cosine'), 2, /--metric must be L2 or IP, got "cosine"/);
    expectFailure(simdex('build', 'Flat', 'base.npy', 'a.index', '--ids', 'few-ids.npy'), 2, /holds 10 ids, expected one per vector \(300\)/);
    expectFailure(simdex('search', 'flat.index', 'wrong-d.npy'), 2, /the queries have dimension 9, the index has d = 8/);
    expectFailure(simdex('bench'), 2, /at least one --index/);
    expectFailure(simdex('bench', '--index', 'Flat', '--n', '0'), 2, /--n must be a positive integer/);
    expectFailure(simdex('bench', '--index', 'Flat', '--query', 'queries.npy'), 2, /need --base/);
  });

  test('a corrupt index file: exit code 1, the file named', () => {
    expectFailure(simdex('info', 'garbage.index'), 1, /garbage\.index/);
  });
});

describe('simdex bench (smoke)', () => {
  test('Flat and IDMap,Flat on small generated data, JSON report', () => {
    const r = simdex('bench', '--index', 'Flat', '--index', 'IDMap,Flat', '--index', 'IVF16,Flat', '--n', '600', '--nq', '12', '--d', '8', '--single', '5', '--peers', 'none', '--threads', '1', '--json', '-q');
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      dataset: { n: number; nq: number; d: number };
      threads: number;
      bandwidth: { copyGBps: number };
      rows: { library: string; factory: string; error?: string; recall?: Record<string, number>; r1at?: Record<string, number>; batch?: { qps: number; gflops?: number }; single?: { count: number; p50Ms: number; p99Ms: number }; memory?: { indexBytes: number } }[];
    };
    assert.deepEqual(report.dataset, { ...report.dataset, n: 600, nq: 12, d: 8 });
    assert.equal(report.threads, 1);
    assert.ok(report.bandwidth.copyGBps > 0);
    const [flat, idmap, ivf] = report.rows;
    for (const row of [flat!, idmap!]) {
      assert.equal(row.library, 'simdex');
      assert.equal(row.error, undefined);
      assert.deepEqual(row.recall, { 1: 1, 10: 1, 100: 1 });
      assert.deepEqual(row.r1at, { 1: 1, 10: 1, 100: 1 });
      assert.ok(row.batch!.qps > 0 && row.batch!.gflops! > 0);
      assert.equal(row.single!.count, 5);
      assert.ok(row.single!.p50Ms <= row.single!.p99Ms);
    }
    assert.equal(flat!.memory!.indexBytes, 600 * 8 * 4 + 45);
    if (ivf!.error !== undefined) assert.match(ivf!.error, /not implemented yet/);
  });

  test('text table, with Python Faiss beside when it is installed', (t) => {
    const probe = probeFaiss(defaultPython());
    if (!probe.ok) {
      t.skip(`Python Faiss not available: ${probe.reason}`);
      return;
    }
    const r = simdex('bench', '--index', 'Flat', '--n', '500', '--nq', '10', '--d', '8', '--single', '3', '--threads', '1', '-q');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /memory bandwidth reference: [0-9.]+ GB\/s/);
    assert.match(r.stdout, /\nindex\s+params\s+library\s+thr/);
    assert.match(r.stdout, /\nFlat\s+-\s+simdex\s+1\s/);
    assert.match(r.stdout, /\nFlat\s+-\s+faiss\s+1\s+-\s+[0-9.]+\s+[0-9.]+\s+[-0-9.]+\s+1\.000\s+1\.000\s+1\.000/);
  });
});
