/**
 * @module test/io.pq
 * IndexPQ ("IxPq"; the older "IxPQ" / "IxPo" read only) and IndexIVFPQ ("IwPQ"; the pre-1.5 "IvPQ"
 * read only) files (src/io/faiss/productQuantizer): files written by Faiss 1.7.3
 * (test/golden/faiss-1.7.3, manifest.json's "pq", made by scripts/make-faiss-golden.py --only=pq) are
 * read with Faiss's centroids and codes, searched and reconstructed as Faiss did, and written back
 * byte for byte; Faiss (Python, when installed) reads the PQ indexes simdex trains and writes;
 * truncated, fuzzed and hostile files fail with FormatError / InvalidArgumentError only.
 * Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index, SearchResult } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexPQ } from '../src/indexes/IndexPQ.js';
import type { SearchParametersIVF } from '../src/indexes/ivf/IndexIVF.js';
import { IndexIVFPQ } from '../src/indexes/ivf/IndexIVFPQ.js';
import { decodeNpy } from '../src/io/npy.js';
import {
  BytesIOWriter,
  IO_FLAG_SKIP_IVF_DATA,
  IO_FLAG_SKIP_PRECOMPUTE_TABLE,
  deserializeIndex,
  describeIndex,
  faissFileSize,
  formatIndexDescription,
  fourcc,
  pqSearchFields,
  serializeIndex,
} from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32 } from './helpers/rng.js';

// From dist/test/: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface PqEntry {
  name: string;
  file: string;
  type: 'IndexPQ' | 'IndexIVFPQ';
  fourccs: string[];
  d: number;
  ntotal: number;
  metric_type: number;
  is_trained: boolean;
  M: number;
  nbits: number;
  code_size: number;
  bytes: number;
  queries: string;
  base: string;
  centroids: string;
  codes: string;
  reconstruct: string;
  search_type?: number;
  encode_signs?: boolean;
  polysemous_ht?: number;
  labels?: string;
  distances?: string;
  nlist?: number;
  nprobe?: number;
  by_residual?: boolean;
  use_precomputed_table?: number;
  list_sizes?: number[];
  list_ids?: string;
  search?: Array<{ nprobe: number; labels: string; distances: string }>;
}
interface Manifest {
  pq: { seed: number; k: number; nq: number; indexes: PqEntry[] };
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;
const K = manifest.pq.k;
const entries = manifest.pq.indexes;
const entry = (name: string): PqEntry => entries.find((e) => e.name === name)!;
const goldenPath = (file: string): string => join(GOLDEN, file);
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(goldenPath(file)));
const isIvf = (e: PqEntry): boolean => e.type === 'IndexIVFPQ';

function npy<T>(file: string): T {
  const path = goldenPath(file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

function recordedRuns(e: PqEntry): Array<{ nprobe: number; labels: BigInt64Array; distances: Float32Array }> {
  if (e.search !== undefined) return e.search.map((s) => ({ nprobe: s.nprobe, labels: npy<BigInt64Array>(s.labels), distances: npy<Float32Array>(s.distances) }));
  return [{ nprobe: 0, labels: npy<BigInt64Array>(e.labels!), distances: npy<Float32Array>(e.distances!) }];
}

function searchAt(index: Index, x: Float32Array, k: number, nprobe: number): SearchResult {
  if (nprobe === 0) return index.search(x, k);
  const params: SearchParametersIVF = { nprobe };
  return index.search(x, k, params);
}

/**
 * Compares simdex's results with Faiss's, rank by rank: distances within 1e-4 relative (plus 1e-6 of
 * the row's scale); a differing label must be a near-tie. Returns the number of differing labels.
 */
function compareSearch(got: SearchResult, labels: BigInt64Array, distances: Float32Array, k: number, what: string): number {
  assert.equal(got.labels.length, labels.length, `${what}: result size`);
  let mismatches = 0;
  for (let i = 0; i * k < labels.length; i++) {
    const row = distances.subarray(i * k, (i + 1) * k);
    const scale = Math.max(0, ...Array.from(row, (v, r) => (labels[i * k + r] !== -1n ? Math.abs(v) : 0)));
    const tol = (a: number, b: number): number => 1e-4 * Math.max(Math.abs(a), Math.abs(b)) + 1e-6 * scale + 1e-12;
    const near = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= tol(a, b);
    const faissRow = Array.from(labels.subarray(i * k, (i + 1) * k));
    for (let r = 0; r < k; r++) {
      const j = i * k + r;
      assert.ok(near(got.distances[j]!, distances[j]!), `${what}: query ${i} rank ${r}: distance ${got.distances[j]} vs Faiss's ${distances[j]}`);
      if (got.labels[j] === labels[j]) continue;
      mismatches++;
      const at = faissRow.indexOf(got.labels[j]!);
      const tie = at >= 0 ? near(distances[i * k + at]!, got.distances[j]!) : near(got.distances[j]!, row[k - 1]!);
      assert.ok(tie, `${what}: query ${i} rank ${r}: label ${got.labels[j]} vs Faiss's ${labels[j]} is not a near-tie`);
    }
  }
  return mismatches;
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

function patch(bytes: Uint8Array, offset: number, write: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  write(new DataView(copy.buffer, offset));
  return copy;
}

/**
 * Byte offsets of a golden PQ file's fields (Faiss 1.7.3's layout): `pq` the ProductQuantizer block
 * (d, M +8, nbits +16, centroids' size +24), `after` the end of the centroids; flat: the codes' size
 * at `after`, the search fields at `search`; IVF: by_residual at `byResidual`, code_size +1, the lists at `after`.
 */
function layout(e: PqEntry) {
  const header = 4 + 33; // fourcc, then d, ntotal, 2 dummies, is_trained, metric_type (L2 / IP: no metric_arg)
  const ksub = 1 << e.nbits;
  if (!isIvf(e)) {
    const pq = header;
    const after = pq + 32 + 4 * e.d * ksub;
    return { header, pq, after, byResidual: -1, search: after + 8 + e.ntotal * e.code_size };
  }
  const quantizer = header + 16;
  const dm = quantizer + 4 + 33 + 8 + 4 * e.d * e.nlist!;
  const byResidual = dm + 9; // NoMap: type byte + empty array
  const pq = byResidual + 1 + 8;
  return { header, pq, after: pq + 32 + 4 * e.d * ksub, byResidual, search: -1 };
}

/** The codes and ids of an IVF's lists, concatenated in list order. */
function listContents(ivf: IndexIVFPQ): { codes: Uint8Array; ids: BigInt64Array } {
  const codes: number[] = [];
  const ids: bigint[] = [];
  for (let l = 0; l < ivf.nlist; l++) {
    if (ivf.invlists.listSize(l) === 0) continue;
    codes.push(...ivf.invlists.getCodes(l));
    ids.push(...ivf.invlists.getIds(l));
  }
  return { codes: Uint8Array.from(codes), ids: BigInt64Array.from(ids) };
}

function blobs(n: number, d: number, c: number, seed: number, spread = 0.6): Float32Array {
  const random = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Float32Array.from({ length: c * d }, () => 3 * gauss());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const ci = Math.floor(random() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[ci * d + j]! + spread * gauss();
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------
// (a) Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden PQ: manifest and files are present and as described', () => {
  assert.ok(entries.length >= 6);
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    assert.equal(bytes.length, e.bytes, e.file);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint32(0, true), fourcc(e.fourccs[0]!), `${e.file}: fourcc`);
    const L = layout(e);
    assert.equal(view.getBigUint64(L.pq, true), BigInt(e.d), `${e.file}: PQ d at ${L.pq}`);
    assert.equal(view.getBigUint64(L.pq + 8, true), BigInt(e.M), `${e.file}: PQ M`);
    assert.equal(view.getBigUint64(L.pq + 16, true), BigInt(e.nbits), `${e.file}: PQ nbits`);
  }
  for (const name of ['PQ4', 'PQ8x4', 'IVF8_PQ4', 'IVF8_PQ4_IP']) assert.ok(entry(name), name);
});

for (const e of entries) {
  test(`golden ${e.file}: ${e.type} M=${e.M} nbits=${e.nbits}, Faiss's centroids and codes`, () => {
    const index = deserializeIndex(goldenBytes(e.file));
    try {
      assert.equal(index.typeName, e.type);
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, e.is_trained);
      const pq = (index as IndexPQ | IndexIVFPQ).pq;
      assert.equal(pq.M, e.M);
      assert.equal(pq.nbits, e.nbits);
      assert.equal(pq.codeSize, e.code_size);
      assert.deepEqual(pq.centroids, npy<Float32Array>(e.centroids), 'centroids');
      const codes = npy<Uint8Array>(e.codes);
      if (index instanceof IndexIVFPQ) {
        assert.equal(index.nlist, e.nlist);
        assert.equal(index.nprobe, e.nprobe);
        assert.equal(index.byResidual, e.by_residual);
        assert.equal(index.usePrecomputedTable, 0, 'precomputed tables: decided at the first search');
        assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
        const got = listContents(index);
        assert.deepEqual(got.codes, codes, 'list codes');
        assert.deepEqual(got.ids, npy<BigInt64Array>(e.list_ids!), 'list ids');
      } else {
        assert.ok(index instanceof IndexPQ);
        assert.deepEqual(index.codes(), codes, 'codes');
        assert.deepEqual(pqSearchFields(index), { searchType: e.search_type, encodeSigns: e.encode_signs, polysemousHt: e.polysemous_ht });
      }
    } finally {
      index.dispose();
    }
  });

  test(`golden ${e.file}: Faiss's search results${isIvf(e) ? ` at nprobe ${e.search!.map((s) => s.nprobe).join(' and ')}` : ''}, reconstructN`, () => {
    const index = deserializeIndex(goldenBytes(e.file));
    try {
      const queries = npy<Float32Array>(e.queries);
      for (const run of recordedRuns(e)) {
        const got = searchAt(index, queries, K, run.nprobe);
        const mismatches = compareSearch(got, run.labels, run.distances, K, `${e.file} nprobe ${run.nprobe}`);
        assert.ok(mismatches <= 0.01 * run.labels.length, `${e.file} nprobe ${run.nprobe}: ${mismatches} labels differ`);
      }
      const rec = index.reconstructN(0, index.ntotal);
      const want = npy<Float32Array>(e.reconstruct);
      assert.equal(rec.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(rec[i]! - want[i]!) <= 1e-6, `${e.file}: reconstruct[${i}] ${rec[i]} vs ${want[i]}`);
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
      const desc = describeIndex(index);
      assert.equal(desc.fourcc, e.fourccs[0]);
      assert.equal(desc.bytes, bytes.length);
      assert.deepEqual(desc.pq, { M: e.M, nbits: e.nbits, codeSize: e.code_size, ...(isIvf(e) ? { byResidual: e.by_residual } : {}) });
      assert.match(formatIndexDescription(desc), new RegExp(` pq=${e.M}x${e.nbits} code_size=${e.code_size}`));
    } finally {
      index.dispose();
    }
  });
}

test('IVFPQ precomputed tables: built at the first L2-by-residual search; IO_FLAG_SKIP_PRECOMPUTE_TABLE reads usePrecomputedTable = -1, same results', () => {
  const e = entry('IVF8_PQ4');
  const bytes = goldenBytes(e.file);
  const queries = npy<Float32Array>(e.queries);
  const a = deserializeIndex(bytes) as IndexIVFPQ;
  const b = deserializeIndex(bytes, IO_FLAG_SKIP_PRECOMPUTE_TABLE) as IndexIVFPQ;
  try {
    assert.equal(a.usePrecomputedTable, 0);
    assert.equal(b.usePrecomputedTable, -1);
    const ra = a.search(queries, K, { nprobe: 8 } as SearchParametersIVF);
    const rb = b.search(queries, K, { nprobe: 8 } as SearchParametersIVF);
    assert.equal(a.usePrecomputedTable, 1, `Faiss's use_precomputed_table after read_index: ${e.use_precomputed_table}`);
    assert.equal(a.precomputedTable.length, e.nlist! * e.M * (1 << e.nbits));
    assert.equal(b.usePrecomputedTable, -1);
    assert.equal(b.precomputedTable.length, 0);
    assert.deepEqual(rb.labels, ra.labels);
    for (let i = 0; i < ra.distances.length; i++) assert.ok(Math.abs(ra.distances[i]! - rb.distances[i]!) <= 1e-4 * Math.abs(ra.distances[i]!) + 1e-5);
    assert.deepEqual(serializeIndex(b), bytes);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('IO_FLAG_SKIP_IVF_DATA on an IVFPQ file: structure and list sizes without data', () => {
  const e = entry('IVF8_PQ4');
  const index = deserializeIndex(goldenBytes(e.file), IO_FLAG_SKIP_IVF_DATA) as IndexIVFPQ;
  try {
    assert.equal(index.ntotal, e.ntotal);
    assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
    assert.throws(() => index.search(npy<Float32Array>(e.queries), K), NotSupportedError);
    const again = deserializeIndex(serializeIndex(index));
    assert.equal(again.ntotal, e.ntotal);
    again.dispose();
  } finally {
    index.dispose();
  }
});

/** "IvPQ" (pre-1.5) bytes built from a golden "IwPQ": the lists' ids before the direct map, one code vector per list after the PQ. */
function legacyIvPQ(e: PqEntry): Uint8Array {
  const bytes = goldenBytes(e.file);
  const L = layout(e);
  const index = deserializeIndex(bytes) as IndexIVFPQ;
  try {
    const w = new BytesIOWriter(bytes.length + 16 * e.nlist! + 64);
    w.writeU32(fourcc('IvPQ'));
    w.writeBytes(bytes.subarray(4, L.byResidual - 9));
    for (let l = 0; l < index.nlist; l++) w.writeBigInt64Vector(index.invlists.getIds(l));
    w.writeBytes(bytes.subarray(L.byResidual - 9, L.after));
    for (let l = 0; l < index.nlist; l++) {
      const codes = index.invlists.getCodes(l);
      w.writeU64(codes.length);
      w.writeBytes(codes);
    }
    return w.bytes().slice();
  } finally {
    index.dispose();
  }
}

test('"IxPQ", "IxPo" and "IvPQ": read as Faiss reads them (old IndexPQ metric forced to L2); written back as "IxPq" / "IwPQ"', (t) => {
  const e = entry('PQ4_IP');
  const bytes = goldenBytes(e.file);
  const queries = npy<Float32Array>(e.queries);
  const ixPo = bytes.slice();
  new DataView(ixPo.buffer).setUint32(0, fourcc('IxPo'), true);
  const ixPQ = bytes.slice(0, bytes.length - 9);
  new DataView(ixPQ.buffer).setUint32(0, fourcc('IxPQ'), true);
  const pqL2 = deserializeIndex(goldenBytes(entry('PQ4').file)) as IndexPQ;
  for (const [name, b] of [['IxPo', ixPo], ['IxPQ', ixPQ]] as const) {
    const index = deserializeIndex(b) as IndexPQ;
    assert.equal(index.metricType, MetricType.L2, `${name}: metric forced to L2`);
    assert.deepEqual(index.codes(), npy<Uint8Array>(e.codes));
    assert.equal(serializeIndex(index).length, bytes.length);
    assert.equal(new DataView(serializeIndex(index).buffer).getUint32(0, true), fourcc('IxPq'));
    index.dispose();
  }
  pqL2.dispose();
  const ivf = entry('IVF8_PQ4');
  const legacy = legacyIvPQ(ivf);
  const index = deserializeIndex(legacy) as IndexIVFPQ;
  try {
    assert.deepEqual(serializeIndex(index), goldenBytes(ivf.file));
    for (const run of recordedRuns(ivf)) compareSearch(searchAt(index, npy<Float32Array>(ivf.queries), K, run.nprobe), run.labels, run.distances, K, `IvPQ nprobe ${run.nprobe}`);
  } finally {
    index.dispose();
  }
  void queries;
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss (legacy files not checked against it)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'simdex-pq-legacy-'));
  try {
    writeFileSync(join(dir, 'ivpq.faiss'), legacy);
    writeFileSync(join(dir, 'ixpo.faiss'), ixPo);
    const out = runFaiss(
      [
        `a = faiss.read_index(${JSON.stringify(join(dir, 'ivpq.faiss'))})`,
        `b = faiss.read_index(${JSON.stringify(join(dir, 'ixpo.faiss'))})`,
        `out['a'] = np.frombuffer(faiss.serialize_index(a).tobytes(), dtype='uint8').astype('int32')`,
        `out['bm'] = np.array([b.metric_type], dtype='int32')`,
      ].join('\n'),
      {},
    );
    assert.deepEqual(Uint8Array.from(out.a as Int32Array), goldenBytes(ivf.file), 'Faiss reads the IvPQ file to the same index');
    assert.deepEqual(Array.from(out.bm as Int32Array), [1], 'Faiss reads IxPo as L2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (b) Written by simdex, read by Faiss
// ---------------------------------------------------------------------------------------------------

test('Faiss (Python) reads PQ files written by simdex (trained by simdex): the same bytes back, reconstruct_n and search', (t) => {
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss');
    return;
  }
  const d = 16;
  const train = blobs(1200, d, 12, 71);
  const base = blobs(400, d, 12, 72);
  const queries = blobs(12, d, 12, 73);
  const cases: Array<{ name: string; index: IndexPQ | IndexIVFPQ }> = [];
  const flat = (name: string, M: number, nbits: number, metric: MetricType): void => {
    const index = new IndexPQ(d, M, nbits, metric);
    index.train(train);
    index.add(base);
    cases.push({ name, index });
  };
  flat('PQ4 L2', 4, 8, MetricType.L2);
  flat('PQ8x4 IP', 8, 4, MetricType.INNER_PRODUCT);
  const ivf = (name: string, M: number, nbits: number, metric: MetricType, byResidual: boolean, nprobe: number): void => {
    const quantizer = metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d);
    const index = new IndexIVFPQ(quantizer, d, 8, M, nbits, metric);
    index.byResidual = byResidual;
    index.train(train);
    index.add(base);
    index.nprobe = nprobe;
    cases.push({ name, index });
  };
  ivf('IVF8,PQ4 L2', 4, 8, MetricType.L2, true, 2);
  ivf('IVF8,PQ4 IP', 4, 8, MetricType.INNER_PRODUCT, true, 3);
  ivf('IVF8,PQ8x4 L2 not by residual', 8, 4, MetricType.L2, false, 8);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-pq-'));
  try {
    const files = cases.map((c, i) => {
      const path = join(dir, `${i}.faiss`);
      writeFileSync(path, serializeIndex(c.index));
      return path;
    });
    const out = runFaiss(
      `for i, path in enumerate(${JSON.stringify(files)}):\n` +
        `    index = faiss.read_index(path)\n` +
        `    D, I = index.search(q, ${K})\n` +
        `    out['D%d' % i] = D\n` +
        `    out['I%d' % i] = I\n` +
        `    out['R%d' % i] = index.reconstruct_n(0, index.ntotal)\n` +
        `    out['B%d' % i] = np.frombuffer(faiss.serialize_index(index).tobytes(), dtype='uint8').astype('int32')\n`,
      { q: { data: queries, shape: [12, d] } },
    );
    cases.forEach((c, i) => {
      const bytes = serializeIndex(c.index);
      assert.deepEqual(Uint8Array.from(out[`B${i}`] as Int32Array), bytes, `${c.name}: Faiss writes back the same bytes`);
      const rec = c.index.reconstructN(0, c.index.ntotal);
      const frec = out[`R${i}`] as Float32Array;
      for (let j = 0; j < rec.length; j++) assert.ok(Math.abs(rec[j]! - frec[j]!) <= 1e-5, `${c.name}: reconstruct[${j}]`);
      const got = c.index.search(queries, K);
      const mismatches = compareSearch(got, out[`I${i}`] as BigInt64Array, out[`D${i}`] as Float32Array, K, c.name);
      assert.ok(mismatches <= 0.01 * got.labels.length, `${c.name}: ${mismatches} labels differ`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const c of cases) c.index.dispose();
  }
});

test('fresh untrained simdex PQ indexes are written as Faiss writes them (polysemous_ht = M*nbits + 1) and read back', () => {
  const pq = new IndexPQ(16, 4, 8);
  const bytes = serializeIndex(pq);
  assert.equal(bytes.length, faissFileSize(pq));
  const back = deserializeIndex(bytes) as IndexPQ;
  assert.equal(back.isTrained, false);
  assert.deepEqual(pqSearchFields(back), { searchType: 0, encodeSigns: false, polysemousHt: 33 });
  assert.deepEqual(serializeIndex(back), bytes);
  const ivf = new IndexIVFPQ(new IndexFlatL2(16), 16, 8, 4, 8);
  const ivfBytes = serializeIndex(ivf);
  const ivfBack = deserializeIndex(ivfBytes);
  assert.equal(ivfBack.isTrained, false);
  assert.deepEqual(serializeIndex(ivfBack), ivfBytes);
  for (const i of [pq, back, ivf, ivfBack]) i.dispose();
});

// ---------------------------------------------------------------------------------------------------
// (c) Truncated, fuzzed and hostile files
// ---------------------------------------------------------------------------------------------------

/** Where the structure is: headers, the PQ block's fields, what follows the centroids. */
function structure(e: PqEntry): Array<[number, number]> {
  const L = layout(e);
  if (!isIvf(e)) return [[0, L.pq + 32], [L.after, L.after + 8], [L.search - 8, L.search + 9]];
  return [
    [0, L.header + 16 + 45 + 16],
    [L.byResidual - 9, L.pq + 32],
    [L.after, L.after + 4 + 16 + 4 + 8 + 8 * e.nlist! + 16],
  ];
}

test('truncated: prefixes of every golden PQ file are a FormatError at an offset inside the prefix', () => {
  let cuts = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const dense = structure(e);
    const allowed = new Set([...e.fourccs, 'ilar']);
    for (let cut = 0; cut < bytes.length; cut++) {
      if (!(cut % 11 === 0 || cut === bytes.length - 1 || dense.some(([a, b]) => cut >= a && cut < b))) continue;
      cuts++;
      const err = formatError(() => deserializeIndex(bytes.subarray(0, cut), cut % 5 === 0 ? IO_FLAG_SKIP_IVF_DATA : 0), `${e.file} cut at ${cut}`);
      assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= cut, `${e.file} cut at ${cut}: offset ${err.offset}`);
      if (cut < 4) assert.equal(err.fourcc, undefined);
      else assert.ok(allowed.has(err.fourcc!), `${e.file} cut at ${cut}: fourcc ${err.fourcc}`);
    }
  }
  assert.ok(cuts > 3000, `${cuts} cuts`);
});

test('fuzz: 220 seeded byte flips per golden PQ file read or fail with FormatError / InvalidArgumentError only; what reads, searches and writes', () => {
  const random = mulberry32(0x5eed9a);
  let failed = 0;
  let read = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const zones = structure(e);
    const queries = npy<Float32Array>(e.queries);
    for (let m = 0; m < 220; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        const zone = random();
        const [a, b] = zones[Math.floor(random() * zones.length)]!;
        const at = zone < 0.7 ? Math.min(bytes.length - 1, a + Math.floor(random() * (b - a))) : Math.floor(random() * bytes.length);
        mutated[at] = mutated[at]! ^ (1 + Math.floor(random() * 255));
      }
      let index: Index;
      try {
        index = deserializeIndex(mutated, m % 4 === 3 ? IO_FLAG_SKIP_IVF_DATA : m % 4 === 2 ? IO_FLAG_SKIP_PRECOMPUTE_TABLE : 0);
      } catch (err) {
        if (!(err instanceof FormatError || err instanceof InvalidArgumentError)) {
          assert.fail(`${e.file} mutation ${m}: ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`);
        }
        failed++;
        continue;
      }
      read++;
      assert.ok(index.ntotal >= 0 && index.d >= 1);
      const nq = Math.floor(queries.length / index.d);
      try {
        const res = searchAt(index, queries.subarray(0, nq * index.d), 5, index instanceof IndexIVFPQ ? index.nlist : 0);
        assert.equal(res.labels.length, nq * 5);
      } catch (err) {
        if (!(err instanceof NotTrainedError || err instanceof NotSupportedError)) {
          assert.fail(`${e.file} mutation ${m}: search: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      }
      const again = serializeIndex(index);
      assert.deepEqual(serializeIndex(deserializeIndex(again)), again, `${e.file} mutation ${m}: round trip`);
      index.dispose();
    }
  }
  assert.ok(failed > 300 && read > 300, `both outcomes occur (read ${read}, failed ${failed})`);
});

test('hostile PQ blocks: wrong d, M, nbits, centroid count, code_size, code count and search_type fail with FormatError at their offset', () => {
  const check = (bytes: Uint8Array, offset: number, message: RegExp, what: string): void => {
    const err = formatError(() => deserializeIndex(bytes), what);
    assert.equal(err.offset, offset, `${what}: offset (${err.message})`);
    assert.match(err.message, message, what);
  };
  for (const e of [entry('PQ4'), entry('IVF8_PQ4')]) {
    const bytes = goldenBytes(e.file);
    const L = layout(e);
    const u64 = (at: number, v: bigint) => patch(bytes, at, (dv) => dv.setBigUint64(0, v, true));
    const name = e.type;
    check(u64(L.pq, 17n), L.pq, new RegExp(`the ProductQuantizer has d = 17, but ${name} has d = 16`), `${e.file}: PQ d`);
    for (const m of [0n, 3n, 17n, 2n ** 63n]) check(u64(L.pq + 8, m), L.pq + 8, /invalid ProductQuantizer M/, `${e.file}: M ${m}`);
    check(u64(L.pq + 16, 0n), L.pq + 16, /invalid ProductQuantizer nbits = 0/, `${e.file}: nbits 0`);
    check(u64(L.pq + 16, 12n), L.pq + 16, /nbits = 12 is not supported/, `${e.file}: nbits 12`);
    check(u64(L.pq + 16, 2n ** 40n), L.pq + 16, /invalid ProductQuantizer nbits/, `${e.file}: nbits 2^40`);
    check(u64(L.pq + 24, 5n), L.pq + 24, /centroids hold 5 floats, expected d\*2\^nbits = 16\*256 = 4096/, `${e.file}: centroid count`);
    check(u64(L.pq + 24, 10n ** 15n), L.pq + 24, /centroids size|remain/, `${e.file}: huge centroid count`);
    if (isIvf(e)) {
      check(u64(L.byResidual + 1, 8n), L.byResidual + 1, /IndexIVFPQ has code_size = 8, but its ProductQuantizer \(M = 4, nbits = 8\) has code_size 4/, 'IVF code_size');
      check(patch(bytes, L.byResidual, (dv) => dv.setUint8(0, 2)), L.byResidual, /by_residual|bool/, 'by_residual 2');
    } else {
      check(u64(L.after, 7n), L.after, /IndexPQ codes hold 7 bytes, expected ntotal\*code_size = 300\*4 = 1200/, 'code count');
      for (const st of [-1, 6]) check(patch(bytes, L.search, (dv) => dv.setInt32(0, st, true)), L.search, new RegExp(`invalid IndexPQ search_type ${st}`), `search_type ${st}`);
      check(patch(bytes, L.search + 4, (dv) => dv.setUint8(0, 7)), L.search + 4, /encode_signs|bool/, 'encode_signs 7');
    }
  }
});
