/**
 * @module test/io.hnsw
 * IndexHNSWFlat ("IHNf") files (src/io/faiss/hnsw): files written by Faiss 1.7.3
 * (test/golden/faiss-1.7.3, manifest.json's "hnsw", made by scripts/make-faiss-golden.py) are read
 * with Faiss's graph arrays, searched as Faiss did at efSearch 16 and 64, and written back byte for
 * byte; Faiss (Python, when installed) reads the HNSW indexes simdex builds and writes; truncated,
 * fuzzed and hostile files fail with FormatError (or InvalidArgumentError) only. Seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index, SearchResult } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexHNSWFlat } from '../src/indexes/hnsw/IndexHNSWFlat.js';
import { decodeNpy } from '../src/io/npy.js';
import { getNumThreads, setNumThreads } from '../src/threads/pool.js';
import { deserializeIndex, describeIndex, faissFileSize, formatIndexDescription, fourcc, readIndex, serializeIndex, writeIndex } from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface HnswEntry {
  name: string;
  file: string;
  type: 'IndexHNSWFlat';
  fourcc: 'IHNf';
  storage_fourcc: 'IxF2' | 'IxFI';
  d: number;
  M: number;
  ntotal: number;
  metric_type: number;
  bytes: number;
  assign_probas: number[];
  cum_nneighbor_per_level: number[];
  entry_point: number;
  max_level: number;
  efConstruction: number;
  efSearch: number;
  upper_beam: number;
  level_histogram: number[];
  base: string;
  queries: string;
  levels: string;
  offsets: string;
  neighbors: string;
  search: Array<{ efSearch: number; labels: string; distances: string }>;
}
interface Manifest {
  hnsw: { seed: number; k: number; nq: number; indexes: HnswEntry[] };
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;
const K = manifest.hnsw.k;
const entries = manifest.hnsw.indexes;
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(GOLDEN, file)));
function npy<T>(file: string): T {
  const path = join(GOLDEN, file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

function formatError(fn: () => unknown, what: string): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    assert.fail(`${what}: expected a FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  assert.fail(`${what}: expected a FormatError, the read succeeded`);
}

/** The exact distance of query i (of q) to stored vector `label`, for the metric. */
function trueDistance(index: Index, q: Float32Array, i: number, label: bigint): number {
  const v = index.reconstruct(Number(label));
  let s = 0;
  for (let c = 0; c < index.d; c++) {
    const a = q[i * index.d + c]!;
    s += index.metricType === MetricType.L2 ? (a - v[c]!) ** 2 : a * v[c]!;
  }
  return s;
}

/**
 * simdex's results against Faiss's, rank by rank: where the labels agree the distances agree within
 * 1e-4 relative. A differing label is counted (the caller allows 1% of them): HNSW is approximate,
 * and simdex's beam search does not always stop where Faiss 1.7.3's does (on the golden L2 file, one
 * query of 20 at efSearch 16 finds a closer vector than Faiss did); each such result must still be
 * sorted, without duplicates, and its distance the true distance to its label.
 */
function compareSearch(got: SearchResult, labels: BigInt64Array, distances: Float32Array, k: number, what: string, index?: Index, q?: Float32Array): number {
  assert.equal(got.labels.length, labels.length, `${what}: result size`);
  let mismatches = 0;
  for (let j = 0; j < labels.length; j++) {
    if (got.labels[j] === labels[j]) {
      const a = got.distances[j]!;
      const b = distances[j]!;
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: slot ${j}: distance ${a} vs Faiss's ${b}`);
      continue;
    }
    mismatches++;
    const row = Math.floor(j / k);
    const mine = Array.from(got.labels.subarray(row * k, (row + 1) * k)).filter((l) => l !== -1n);
    assert.equal(new Set(mine).size, mine.length, `${what}: query ${row}: duplicate labels`);
    for (let r = row * k + 1; r < (row + 1) * k; r++) {
      if (got.labels[r] === -1n) continue;
      const better = index?.metricType === MetricType.INNER_PRODUCT ? got.distances[r - 1]! >= got.distances[r]! : got.distances[r - 1]! <= got.distances[r]!;
      assert.ok(better, `${what}: query ${row}: results not sorted`);
    }
    if (index !== undefined && q !== undefined && got.labels[j] !== -1n) {
      const t = trueDistance(index, q, row, got.labels[j]!);
      assert.ok(Math.abs(got.distances[j]! - t) <= 1e-4 * Math.max(1, Math.abs(t)), `${what}: slot ${j}: distance ${got.distances[j]} to label ${got.labels[j]}, true distance ${t}`);
    }
  }
  return mismatches;
}

/** Runs f on one thread: a one-thread HNSW build is deterministic (and Faiss's, see below). */
function oneThread<T>(f: () => T): T {
  const saved = getNumThreads();
  setNumThreads(1);
  try {
    return f();
  } finally {
    setNumThreads(saved);
  }
}

/** Byte offsets of the fields of a golden file (the header is 33 bytes for L2 / IP). */
function layout(e: HnswEntry) {
  const probas = 4 + 33;
  const cum = probas + 8 + 8 * e.assign_probas.length;
  const levels = cum + 8 + 4 * e.cum_nneighbor_per_level.length;
  const offsets = levels + 8 + 4 * e.ntotal;
  const neighbors = offsets + 8 + 8 * (e.ntotal + 1);
  const nNeighbors = e.level_histogram.reduce((s, c, l) => s + c * e.cum_nneighbor_per_level[l + 1]!, 0);
  const scalars = neighbors + 8 + 4 * nNeighbors;
  const storage = scalars + 20;
  return { probas, cum, levels, offsets, neighbors, scalars, storage };
}

// ---------------------------------------------------------------------------------------------------
// (a) Golden files
// ---------------------------------------------------------------------------------------------------

test('golden HNSW: manifest and files are present and as described', () => {
  assert.equal(entries.length, 2);
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    assert.equal(bytes.length, e.bytes, e.file);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true), fourcc('IHNf'));
    assert.equal(layout(e).storage + 4 + 33 + 8 + 4 * e.d * e.ntotal, e.bytes, `${e.file}: layout`);
  }
});

for (const e of entries) {
  test(`golden ${e.file}: Faiss's HNSW fields and graph arrays, the stored vectors`, () => {
    const index = readIndex(join(GOLDEN, e.file));
    try {
      assert.ok(index instanceof IndexHNSWFlat);
      const h = index.hnsw;
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, true);
      assert.equal(h.M, e.M);
      assert.deepEqual(h.assignProbas, e.assign_probas);
      assert.deepEqual(h.cumNneighborPerLevel, e.cum_nneighbor_per_level);
      assert.equal(h.entryPoint, e.entry_point);
      assert.equal(h.maxLevel, e.max_level);
      assert.equal(h.efConstruction, e.efConstruction);
      assert.equal(h.efSearch, e.efSearch);
      assert.equal(h.upperBeam, e.upper_beam);
      assert.deepEqual(h.levels, npy<Int32Array>(e.levels));
      assert.deepEqual(Array.from(h.offsets), Array.from(npy<BigInt64Array>(e.offsets), Number));
      assert.deepEqual(h.neighbors, npy<Int32Array>(e.neighbors));
      assert.deepEqual(index.reconstructN(0, index.ntotal), npy<Float32Array>(e.base));
    } finally {
      index.dispose();
    }
  });

  test(`golden ${e.file}: Faiss's search results at efSearch ${e.search.map((s) => s.efSearch).join(' and ')}`, () => {
    const index = readIndex(join(GOLDEN, e.file)) as IndexHNSWFlat;
    try {
      const q = npy<Float32Array>(e.queries);
      let mismatches = 0;
      let total = 0;
      for (const s of e.search) {
        const labels = npy<BigInt64Array>(s.labels);
        mismatches += compareSearch(index.search(q, K, { efSearch: s.efSearch }), labels, npy<Float32Array>(s.distances), K, `${e.name} ef ${s.efSearch}`, index, q);
        total += labels.length;
        if (s.efSearch === index.hnsw.efSearch) {
          mismatches += compareSearch(index.search(q, K), labels, npy<Float32Array>(s.distances), K, `${e.name} default efSearch`, index, q);
          total += labels.length;
        }
      }
      assert.ok(mismatches <= Math.floor(0.01 * total), `${mismatches} of ${total} labels differ from Faiss's`);
    } finally {
      index.dispose();
    }
  });

  test(`golden ${e.file}: written back by simdex, byte for byte Faiss's file`, () => {
    const bytes = goldenBytes(e.file);
    const index = deserializeIndex(bytes);
    try {
      assert.equal(faissFileSize(index), bytes.length);
      assert.deepEqual(serializeIndex(index), bytes);
      assert.deepEqual(serializeIndex(index, { chunkBytes: 100 }), bytes, 'small chunks');
      const dir = mkdtempSync(join(tmpdir(), 'simdex-hnsw-'));
      try {
        writeIndex(index, join(dir, 'x.faiss'));
        assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'x.faiss'))), bytes);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      index.dispose();
    }
  });
}

test('describeIndex: M, maxLevel, level histogram, efSearch, efConstruction', () => {
  for (const e of entries) {
    const index = readIndex(join(GOLDEN, e.file));
    const desc = describeIndex(index);
    assert.equal(desc.type, 'IndexHNSWFlat');
    assert.equal(desc.fourcc, 'IHNf');
    assert.equal(desc.bytes, e.bytes);
    assert.deepEqual(desc.hnsw, {
      M: e.M,
      maxLevel: e.max_level,
      entryPoint: e.entry_point,
      levels: e.level_histogram,
      efSearch: e.efSearch,
      efConstruction: e.efConstruction,
    });
    assert.match(
      formatIndexDescription(desc),
      new RegExp(`^IndexHNSWFlat "IHNf" d=16 ntotal=${e.ntotal} .* M=8 maxLevel=${e.max_level} levels=\\[${e.level_histogram.join(',')}\\] efSearch=16 efConstruction=${e.efConstruction}$`),
    );
    index.dispose();
  }
});

test('empty and fresh simdex HNSW indexes round trip; simdex builds the golden graph from the golden data', () => {
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const empty = new IndexHNSWFlat(8, 4, metric);
    const bytes = serializeIndex(empty);
    assert.equal(bytes.length, faissFileSize(empty));
    const back = deserializeIndex(bytes) as IndexHNSWFlat;
    assert.equal(back.ntotal, 0);
    assert.equal(back.hnsw.M, 4);
    assert.equal(back.metricType, metric);
    assert.deepEqual(serializeIndex(back), bytes);
    assert.equal(back.search(new Float32Array(8), 3).labels[0], -1n);
    // adding to a read index continues as Faiss would
    back.add(randomVectors(50, 8, 3));
    assert.equal(back.ntotal, 50);
    assert.deepEqual(serializeIndex(deserializeIndex(serializeIndex(back))), serializeIndex(back));
  }
  // built on one thread from Faiss's data with Faiss's parameters, simdex's graph is Faiss's: the same file
  for (const e of entries) {
    const index = new IndexHNSWFlat(e.d, e.M, e.metric_type === 1 ? MetricType.L2 : MetricType.INNER_PRODUCT);
    index.hnsw.efConstruction = e.efConstruction;
    oneThread(() => index.add(npy<Float32Array>(e.base)));
    index.hnsw.efSearch = e.efSearch;
    assert.deepEqual(serializeIndex(index), goldenBytes(e.file), `${e.name}: simdex's build`);
    index.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------
// (b) Python Faiss reads simdex's files
// ---------------------------------------------------------------------------------------------------

test('Faiss (Python) reads HNSW files written by simdex: the same bytes back, the same graph and search results', (t) => {
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss');
    return;
  }
  const cases: Array<{ index: IndexHNSWFlat; q: Float32Array }> = [];
  const specs: Array<[number, number, MetricType, number, number]> = [
    [16, 8, MetricType.L2, 600, 40],
    [12, 6, MetricType.INNER_PRODUCT, 400, 24],
    [32, 16, MetricType.L2, 300, 40],
  ];
  specs.forEach(([d, M, metric, n, efc], i) => {
    const index = new IndexHNSWFlat(d, M, metric);
    index.hnsw.efConstruction = efc;
    oneThread(() => index.add(randomVectors(n, d, 100 + i)));
    index.hnsw.efSearch = 24;
    cases.push({ index, q: randomVectors(15, d, 200 + i) });
  });
  const dir = mkdtempSync(join(tmpdir(), 'simdex-hnsw-py-'));
  try {
    const paths = cases.map((c, i) => {
      const path = join(dir, `case${i}.faiss`);
      writeIndex(c.index, path);
      return path;
    });
    const inputs: Record<string, { data: Float32Array; shape: number[] }> = {};
    cases.forEach((c, i) => (inputs[`q${i}`] = { data: c.q, shape: [c.q.length / c.index.d, c.index.d] }));
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths)}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        "    out['same%d' % i] = np.array([faiss.serialize_index(index).tobytes() == open(p, 'rb').read()], dtype='int32')",
        '    h = index.hnsw',
        "    out['meta%d' % i] = np.array([index.ntotal, h.entry_point, h.max_level, h.efConstruction, h.efSearch, index.metric_type], dtype='int32')",
        "    out['nb%d' % i] = faiss.vector_to_array(h.neighbors).astype('int32')",
        '    for ef in (16, 64):',
        '        h.efSearch = ef',
        `        D, I = index.search(eval('q%d' % i), ${K})`,
        "        out['D%d_%d' % (i, ef)] = D",
        "        out['I%d_%d' % (i, ef)] = I",
      ].join('\n'),
      inputs,
    );
    let mismatches = 0;
    let total = 0;
    cases.forEach((c, i) => {
      const h = c.index.hnsw;
      assert.equal((out[`same${i}`] as Int32Array)[0], 1, `case ${i}: Faiss writes back simdex's bytes`);
      assert.deepEqual(Array.from(out[`meta${i}`] as Int32Array), [c.index.ntotal, h.entryPoint, h.maxLevel, h.efConstruction, h.efSearch, c.index.metricType]);
      assert.deepEqual(out[`nb${i}`], h.neighbors);
      for (const ef of [16, 64]) {
        const I = out[`I${i}_${ef}`] as BigInt64Array;
        mismatches += compareSearch(c.index.search(c.q, K, { efSearch: ef }), I, out[`D${i}_${ef}`] as Float32Array, K, `case ${i} ef ${ef}`, c.index, c.q);
        total += I.length;
      }
    });
    assert.ok(mismatches <= Math.floor(0.01 * total), `${mismatches} of ${total} labels differ from Faiss's`);
    t.diagnostic(`Faiss reads simdex's HNSW files: ${mismatches} of ${total} labels differ from Faiss's search on the same graph`);
  } finally {
    for (const c of cases) c.index.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (c) Truncated, fuzzed and hostile files
// ---------------------------------------------------------------------------------------------------

test('truncated: prefixes of the golden HNSW files are a FormatError at an offset inside the prefix', () => {
  let cuts = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const L = layout(e);
    const dense: Array<[number, number]> = [
      [0, L.levels + 64],
      [L.offsets - 16, L.offsets + 64],
      [L.neighbors - 16, L.neighbors + 64],
      [L.scalars - 16, L.storage + 4 + 33 + 16],
    ];
    for (let cut = 0; cut < bytes.length; cut++) {
      if (!(cut % 97 === 0 || cut === bytes.length - 1 || dense.some(([a, b]) => cut >= a && cut < b))) continue;
      cuts++;
      const err = formatError(() => deserializeIndex(bytes.subarray(0, cut)), `${e.file} cut at ${cut}`);
      assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= cut, `${e.file} cut at ${cut}: offset ${err.offset}`);
      if (cut >= 4) assert.ok(['IHNf', e.storage_fourcc].includes(err.fourcc!), `${e.file} cut at ${cut}: fourcc ${err.fourcc}`);
    }
  }
  assert.ok(cuts > 1000, `${cuts} cuts`);
});

test('fuzz: 220 seeded byte flips per golden HNSW file read or fail with FormatError / InvalidArgumentError only; what reads searches and writes', () => {
  const random = mulberry32(0x4e5f);
  let failed = 0;
  let read = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const L = layout(e);
    // the graph's structure, most flips land here; the rest anywhere
    const zones: Array<[number, number]> = [
      [0, L.levels],
      [L.levels, L.offsets],
      [L.offsets, L.neighbors],
      [L.neighbors, L.scalars],
      [L.scalars, L.storage + 4 + 33 + 8],
    ];
    const q = npy<Float32Array>(e.queries).subarray(0, 4 * e.d);
    for (let m = 0; m < 220; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        const [a, b] = zones[Math.floor(random() * zones.length)]!;
        const at = random() < 0.8 ? a + Math.floor(random() * (b - a)) : Math.floor(random() * bytes.length);
        mutated[at] = mutated[at]! ^ (1 + Math.floor(random() * 255));
      }
      let index: Index;
      try {
        index = deserializeIndex(mutated);
      } catch (err) {
        if (!(err instanceof FormatError || err instanceof InvalidArgumentError)) {
          assert.fail(`${e.file} mutation ${m}: ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`);
        }
        failed++;
        continue;
      }
      read++;
      try {
        assert.ok(index instanceof IndexHNSWFlat);
        if (index.d === e.d) {
          try {
            const res = index.search(q, 5, { efSearch: 16 });
            assert.equal(res.labels.length, 20);
            for (const l of res.labels) assert.ok(l >= -1n && l < BigInt(index.ntotal));
          } catch (err) {
            if (!(err instanceof NotTrainedError)) throw err;
          }
        }
        const again = serializeIndex(index);
        assert.deepEqual(serializeIndex(deserializeIndex(again)), again, `${e.file} mutation ${m}: round trip`);
      } finally {
        index.dispose();
      }
    }
  }
  assert.ok(failed > 200 && read > 20, `both outcomes occur (read ${read}, failed ${failed})`);
});

test('hostile HNSW blocks: each inconsistency is a FormatError at its field; other HNSW fourccs are not supported yet', () => {
  const e = entries[0]!;
  const bytes = goldenBytes(e.file);
  const L = layout(e);
  const patch = (at: number, f: (v: DataView) => void): Uint8Array => {
    const b = bytes.slice();
    f(new DataView(b.buffer, at));
    return b;
  };
  const check = (b: Uint8Array, offset: number, message: RegExp, what: string): void => {
    const err = formatError(() => deserializeIndex(b), what);
    assert.equal(err.offset, offset, `${what}: offset (${err.message})`);
    assert.match(err.message, message, what);
    assert.equal(err.fourcc, 'IHNf', what);
  };
  const nCum = e.cum_nneighbor_per_level.length;
  const big = 1n << 50n;
  check(patch(L.probas, (v) => v.setBigUint64(0, big, true)), L.probas, /assign_probas/, 'huge assign_probas');
  check(patch(L.probas + 8, (v) => v.setFloat64(0, 2, true)), L.probas + 8, /assign_probas\[0\] = 2/, 'proba > 1');
  check(patch(L.cum, (v) => v.setBigUint64(0, BigInt(nCum + 1), true)), L.cum, /cum_nneighbor_per_level has/, 'cum size');
  check(patch(L.cum + 8 + 4, (v) => v.setInt32(0, 17, true)), L.cum + 12, /is not 2M/, 'odd 2M');
  check(patch(L.cum + 8 + 8, (v) => v.setInt32(0, 25, true)), L.cum + 16, /cum_nneighbor_per_level\[2\] = 25, expected 24/, 'cum[2]');
  check(patch(L.levels, (v) => v.setBigUint64(0, BigInt(e.ntotal - 1), true)), L.levels, /levels has 499 entries, expected ntotal = 500/, 'levels size');
  check(patch(L.levels + 8 + 4 * 7, (v) => v.setInt32(0, 0, true)), L.levels + 8 + 28, /levels\[7\] = 0, expected 1 \.\. 10/, 'level 0');
  check(patch(L.levels + 8 + 4 * 7, (v) => v.setInt32(0, nCum, true)), L.levels + 8 + 28, /levels\[7\] = 11/, 'level too high');
  check(patch(L.offsets, (v) => v.setBigUint64(0, big, true)), L.offsets, /offsets claims 1125899906842624 items/, 'huge offsets');
  check(patch(L.offsets + 8 + 8 * 3, (v) => v.setBigUint64(0, 1n, true)), L.offsets + 8 + 24, new RegExp(`offsets\\[3\\] = 1, expected ${npy<BigInt64Array>(e.offsets)[3]}`), 'offset not monotone');
  check(patch(L.offsets + 8, (v) => v.setBigUint64(0, 5n, true)), L.offsets + 8, /offsets\[0\] = 5, expected 0/, 'offset[0]');
  check(patch(L.neighbors, (v) => v.setBigUint64(0, big, true)), L.neighbors, /neighbors claims 1125899906842624 items/, 'huge neighbors');
  check(patch(L.neighbors + 8 + 4 * 5, (v) => v.setInt32(0, e.ntotal, true)), L.neighbors + 8 + 20, /neighbors\[5\] = 500, expected -1 \.\. 499/, 'neighbor id = ntotal');
  check(patch(L.neighbors + 8 + 4 * 5, (v) => v.setInt32(0, -2, true)), L.neighbors + 8 + 20, /neighbors\[5\] = -2/, 'neighbor id -2');
  check(patch(L.scalars, (v) => v.setInt32(0, e.ntotal, true)), L.scalars, /entry_point = 500/, 'entry point out of range');
  check(patch(L.scalars, (v) => v.setInt32(0, -1, true)), L.scalars, /entry_point = -1/, 'entry point -1');
  const low = Array.from(npy<Int32Array>(e.levels)).indexOf(1);
  check(patch(L.scalars, (v) => v.setInt32(0, low, true)), L.scalars + 4, /max_level = 2, but the entry point/, 'entry point below max level');
  check(patch(L.scalars + 4, (v) => v.setInt32(0, 1, true)), L.scalars + 4, /max_level = 1/, 'max level');
  check(patch(L.scalars + 8, (v) => v.setInt32(0, 0, true)), L.scalars + 8, /efConstruction = 0/, 'efConstruction');
  check(patch(L.scalars + 12, (v) => v.setInt32(0, -3, true)), L.scalars + 12, /efSearch = -3/, 'efSearch');
  check(patch(L.scalars + 16, (v) => v.setInt32(0, 2, true)), L.scalars + 16, /upper_beam = 2 is not supported/, 'upper beam');
  // the storage must agree with the header
  const storage = L.storage;
  // (the storage's fourcc does not matter, its header's metric does, as in Faiss)
  const ixfi = deserializeIndex(patch(storage, (v) => v.setUint32(0, fourcc('IxFI'), true)));
  assert.equal(ixfi.metricType, MetricType.L2);
  ixfi.dispose();
  check(patch(storage + 4 + 4 + 8 + 16 + 1, (v) => v.setInt32(0, 0, true)), storage, /storage has d = 16, ntotal = 500, metric_type 0/, 'storage metric');
  const short = formatError(() => deserializeIndex(patch(storage + 4 + 4, (v) => v.setBigInt64(0, 499n, true))), 'storage ntotal');
  assert.equal(short.fourcc, 'IxF2');
  assert.equal(short.offset, storage + 4 + 33);
  const nested = formatError(() => deserializeIndex(patch(storage, (v) => v.setUint32(0, fourcc('IHNf'), true))), 'HNSW as storage');
  assert.ok(nested.offset > storage);
  // other HNSW classes
  for (const [name, cls] of [['IHN2', 'IndexHNSW2Level']] as const) {
    const err = formatError(() => deserializeIndex(patch(0, (v) => v.setUint32(0, fourcc(name), true))), name);
    assert.equal(err.offset, 0);
    assert.match(err.message, new RegExp(`${cls} \\("${name}"\\) is not supported yet`));
  }
});
