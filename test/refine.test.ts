/**
 * @module test/refine
 * IndexRefine / IndexRefineFlat (src/indexes/IndexRefine, search/refineScan, the refine_distances
 * kernel, "IxRF" files, `...,RFlat` / `...,Refine(...)`): the kernel against its TypeScript oracle
 * (one and several storage segments, L2 and inner product, -1 labels); files written by Faiss 1.7.3
 * (test/golden/faiss-1.7.3, manifest-refine.json's "refine", made by scripts/make-faiss-golden.py
 * --only=refine) read and searched with Faiss's labels where simdex's base index proposes Faiss's
 * candidates, and written back byte for byte; Faiss (Python, when installed) reads what simdex
 * writes; recall grows with kFactor on a seeded clustered set; per-call parameters and their errors;
 * add / train / reset / removeIds / reconstruct; the factory rows and reverseIndexFactory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index, SearchResult } from '../src/Index.js';
import { FactoryParseError, FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { indexFactory, reverseIndexFactory } from '../src/factory/indexFactory.js';
import { IndexFlat, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../src/indexes/IndexIDMap.js';
import { IndexPQ } from '../src/indexes/IndexPQ.js';
import { IndexRefine, IndexRefineFlat } from '../src/indexes/IndexRefine.js';
import { IndexScalarQuantizer } from '../src/indexes/IndexScalarQuantizer.js';
import { IndexIVF, type SearchParametersIVF } from '../src/indexes/ivf/IndexIVF.js';
import { IndexIVFPQ } from '../src/indexes/ivf/IndexIVFPQ.js';
import { refineDistancesReference, reorderTwoHeapsReference } from '../src/kernels/referenceRefine.js';
import { kernelsFor } from '../src/kernels/wasm.js';
import { QuantizerType } from '../src/quantizers/ScalarQuantizer.js';
import { refineFlatRange, type RefineFlatTask } from '../src/search/refineScan.js';
import { Segment } from '../src/storage/Segment.js';
import { getNumThreads, setNumThreads } from '../src/threads/pool.js';
import { decodeNpy } from '../src/io/npy.js';
import { deserializeIndex, describeIndex, faissFileSize, formatIndexDescription, serializeIndex, writeIndex } from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { recallAtK } from './helpers/conformance.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface RefineEntry {
  name: string;
  file: string;
  description: string;
  written_type: string;
  read_type: 'IndexRefine' | 'IndexRefineFlat';
  base_type: string;
  refine_type: string;
  d: number;
  ntotal: number;
  metric_type: number;
  k_factor: number;
  base_nprobe: number | null;
  bytes: number;
  base: string;
  queries: string;
  search: Array<{ nprobe: number | null; k_factor: number; k_base: number; labels: string; distances: string; base_labels: string; base_distances: string }>;
}
interface Manifest {
  k: number;
  nq: number;
  refine: RefineEntry[];
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-refine.json'), 'utf8')) as Manifest;
const K = manifest.k;
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(GOLDEN, file)));
function npy<T>(file: string): T {
  const path = join(GOLDEN, file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

/** n points around c Gaussian centres (seeded). */
function blobs(n: number, d: number, c: number, seed: number, spread = 1): Float32Array {
  const random = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const cr = mulberry32(seed >>> 1);
  const cg = (): number => Math.sqrt(-2 * Math.log(1 - cr())) * Math.cos(2 * Math.PI * cr());
  const centres = Float32Array.from({ length: c * d }, () => 3 * cg());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const ci = Math.floor(random() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[ci * d + j]! + spread * gauss();
  }
  return x;
}

function exactKnn(xb: Float32Array, xq: Float32Array, d: number, k: number, metric = MetricType.L2): SearchResult {
  const flat = new IndexFlat(d, metric);
  flat.add(xb);
  const r = flat.search(xq, k);
  flat.dispose();
  return r;
}

function withThreads<T>(n: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(n);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

const near = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b)) + 1e-6;

// ---------------------------------------------------------------------------------------------------
// The kernel and the refinement step against their oracles
// ---------------------------------------------------------------------------------------------------

test('refine_distances kernel equals its TypeScript reference (L2, inner product, -1 labels, ids of other segments)', () => {
  const d = 37;
  const ny = 60;
  const nq = 7;
  const kb = 13;
  const seg = new Segment(ny * d * 4 + (1 << 16));
  const kern = kernelsFor(seg.memory);
  const y = randomVectors(ny, d, 1);
  const x = randomVectors(nq, d, 2);
  const random = mulberry32(3);
  const idBase = 100n;
  // ids in [idBase - 20, idBase + ny + 20): some below and above this segment's range, some -1
  const ids = BigInt64Array.from({ length: nq * kb }, () => (random() < 0.1 ? -1n : idBase - 20n + BigInt(Math.floor(random() * (ny + 40)))));
  const base = Float32Array.from({ length: nq * kb }, () => random());
  const buf = seg.memory.buffer;
  const o = seg.dataOffset;
  new Float32Array(buf, o, ny * d).set(y);
  const Qp = o + ny * d * 4;
  const IDp = Qp + nq * d * 4 + 16 - ((Qp + nq * d * 4) % 16);
  const DISp = IDp + nq * kb * 8;
  for (const metric of [1, 0]) {
    new Float32Array(buf, Qp, nq * d).set(x);
    new BigInt64Array(buf, IDp, nq * kb).set(ids);
    new Float32Array(buf, DISp, nq * kb).set(base);
    const beyond = kern.refine_distances(metric, Qp, nq, d, o, ny, idBase, IDp, kb, DISp);
    assert.equal(beyond, ids.filter((id) => id - idBase >= BigInt(ny)).length, 'the ids beyond the segment are counted');
    assert.ok(beyond > 0);
    const got = new Float32Array(buf, DISp, nq * kb).slice();
    const want = base.slice();
    refineDistancesReference(metric, x, nq, d, y, ny, idBase, ids, kb, want);
    let computed = 0;
    for (let e = 0; e < nq * kb; e++) {
      const local = ids[e]! - idBase;
      if (local < 0n || local >= BigInt(ny)) assert.equal(got[e], base[e], `entry ${e} (id ${ids[e]}) must be left as it was`);
      else computed++;
      assert.ok(near(got[e]!, want[e]!), `metric ${metric} entry ${e}: ${got[e]} vs reference ${want[e]}`);
    }
    assert.ok(computed > nq * kb * 0.3 && computed < nq * kb, `entries in this segment are computed, the others not (${computed} of ${nq * kb})`);
  }
});

test('the refinement step over one and several storage segments equals reorder_2_heaps of the reference distances', () => {
  const d = 24;
  const n = 500;
  const nq = 40;
  const k = 10;
  const kb = 35;
  const xb = randomVectors(n, d, 10);
  const xq = randomVectors(nq, d, 11);
  const random = mulberry32(12);
  // candidates with duplicates in distance (repeated ids) and -1 padding at the end of some rows
  const labels = new BigInt64Array(nq * kb);
  const baseD = new Float32Array(nq * kb);
  for (let i = 0; i < nq; i++) {
    const valid = i % 5 === 0 ? 6 : kb;
    for (let j = 0; j < kb; j++) {
      labels[i * kb + j] = j < valid ? BigInt(Math.floor(random() * n)) : -1n;
      baseD[i * kb + j] = j < valid ? random() : 3.4028234663852886e38;
    }
  }
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const want = baseD.slice();
    refineDistancesReference(metric, xq, nq, d, xb, n, 0n, labels, kb, want);
    if (metric === MetricType.INNER_PRODUCT) for (let e = 0; e < want.length; e++) if (labels[e] === -1n) want[e] = -3.4028234663852886e38;
    const expected = reorderTwoHeapsReference(metric === MetricType.L2, nq, k, kb, want, labels);
    const inputD = baseD.slice();
    if (metric === MetricType.INNER_PRODUCT) for (let e = 0; e < inputD.length; e++) if (labels[e] === -1n) inputD[e] = -3.4028234663852886e38;
    for (const maxSegmentBytes of [undefined, 128 * d * 4]) {
      const flat = new IndexFlat(d, metric, maxSegmentBytes === undefined ? {} : { maxSegmentBytes });
      flat.add(xb);
      if (maxSegmentBytes !== undefined) assert.ok(flat.segments.length >= 4, 'several segments');
      const task: RefineFlatTask = {
        metric,
        d,
        k,
        kBase: kb,
        segments: flat.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count })),
        x: xq,
        baseLabels: labels,
        baseDistances: inputD,
        distances: new Float32Array(nq * k),
        labels: new BigInt64Array(nq * k),
        beyond: new Int32Array(1),
      };
      refineFlatRange(task, 0, nq, 0);
      assert.equal(task.beyond[0], 0);
      assert.deepEqual(task.labels, expected.labels, `metric ${metric}, ${flat.segments.length} segment(s): labels`);
      for (let e = 0; e < nq * k; e++) assert.ok(near(task.distances[e]!, expected.distances[e]!), `metric ${metric}: distance ${e}`);
      // rows with 6 valid candidates: 6 results, then -1
      assert.equal(task.labels[6], -1n);
      assert.notEqual(task.labels[5], -1n);
      flat.dispose();
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden IxRF files: read as Faiss reads them, searched with Faiss\'s results, written back byte for byte', (t) => {
  assert.ok(manifest.refine.length >= 4);
  let compared = 0;
  let differing = 0;
  for (const e of manifest.refine) {
    const bytes = goldenBytes(e.file);
    assert.equal(bytes.length, e.bytes, e.file);
    const index = deserializeIndex(bytes);
    assert.ok(index instanceof IndexRefine, e.name);
    assert.equal(index.typeName, e.read_type, e.name);
    assert.equal(index.baseIndex.typeName, e.base_type, e.name);
    assert.equal(index.refineIndex instanceof IndexFlat, e.read_type === 'IndexRefineFlat', e.name);
    assert.equal(index.kFactor, e.k_factor, e.name);
    assert.equal(index.ntotal, e.ntotal);
    assert.equal(index.metricType, e.metric_type);
    assert.ok(index.isTrained);
    if (e.base_nprobe !== null) assert.equal((index.baseIndex as IndexIVF).nprobe, e.base_nprobe);
    assert.deepEqual(serializeIndex(index), bytes, `${e.name}: written back byte for byte`);
    assert.equal(faissFileSize(index), bytes.length);
    // reconstruct comes from the refinement index: the stored vectors themselves for RFlat
    const xb = npy<Float32Array>(e.base);
    if (e.read_type === 'IndexRefineFlat') assert.deepEqual(index.reconstructN(0, 5), xb.subarray(0, 5 * e.d));
    const xq = npy<Float32Array>(e.queries);
    for (const s of e.search) {
      const what = `${e.name} nprobe ${s.nprobe} kFactor ${s.k_factor}`;
      const baseParams = s.nprobe === null ? undefined : { nprobe: s.nprobe };
      // the base proposes Faiss's candidates ...
      const base = index.baseIndex.search(xq, s.k_base, baseParams as SearchParametersIVF | undefined);
      const faissBase = npy<BigInt64Array>(s.base_labels);
      let sameBase = 0;
      for (let j = 0; j < faissBase.length; j++) if (base.labels[j] === faissBase[j]) sameBase++;
      assert.ok(sameBase >= 0.98 * faissBase.length, `${what}: ${sameBase} of ${faissBase.length} base candidates are Faiss's`);
      // ... and the refinement keeps Faiss's k best
      const got = index.search(xq, K, { kFactor: s.k_factor, baseIndexParams: baseParams });
      const labels = npy<BigInt64Array>(s.labels);
      const distances = npy<Float32Array>(s.distances);
      // and from Faiss's own candidates, exactly Faiss's labels
      const fromFaiss = index.refineCandidates(xq, manifest.nq, K, s.k_base, npy<Float32Array>(s.base_distances), faissBase);
      for (let j = 0; j < labels.length; j++) {
        compared++;
        if (got.labels[j] !== labels[j]) differing++;
        const exact = e.read_type === 'IndexRefineFlat';
        if (exact) assert.equal(fromFaiss.labels[j], labels[j], `${what}: refined from Faiss's candidates, rank ${j}`);
        if (fromFaiss.labels[j] === labels[j]) {
          const tol = exact ? 1e-5 : 1e-3; // SQfp16: decoded then L2 here, Faiss's SQ distance computer there
          assert.ok(Math.abs(fromFaiss.distances[j]! - distances[j]!) <= tol * Math.abs(distances[j]!) + 1e-5, `${what}: distance ${j}: ${fromFaiss.distances[j]} vs ${distances[j]}`);
        }
      }
      if (sameBase === faissBase.length && e.read_type === 'IndexRefineFlat') assert.deepEqual(got.labels, labels, `${what}: identical candidates, identical results`);
    }
    index.dispose();
  }
  assert.ok(differing <= 0.02 * compared, `${differing} of ${compared} labels differ from Faiss's`);
  t.diagnostic(`golden IxRF: ${differing} of ${compared} labels differ from Faiss's (base candidates are simdex's own)`);
});

test('golden IxRF: hostile and truncated files are a FormatError', () => {
  const e = manifest.refine.find((x) => x.name === 'RF_PQ4_RFlat')!;
  const bytes = goldenBytes(e.file);
  const kAt = bytes.length - 4;
  for (const k of [0.5, 0, Number.NaN, -2, Number.POSITIVE_INFINITY]) {
    const bad = bytes.slice();
    new DataView(bad.buffer).setFloat32(kAt, k, true);
    assert.throws(() => deserializeIndex(bad), (err: unknown) => err instanceof FormatError && /k_factor/.test(err.message) && err.offset === kAt, `k_factor ${k}`);
  }
  for (const cut of [10, 40, 100, bytes.length - 2]) {
    assert.throws(() => deserializeIndex(bytes.subarray(0, cut)), FormatError, `truncated at ${cut}`);
  }
  // the outer header's ntotal must match both nested indexes
  const bad = bytes.slice();
  new DataView(bad.buffer).setBigInt64(8, BigInt(e.ntotal + 1), true);
  assert.throws(() => deserializeIndex(bad), (err: unknown) => err instanceof FormatError && /base_index/.test(err.message));
});

// ---------------------------------------------------------------------------------------------------
// Faiss reads what simdex writes
// ---------------------------------------------------------------------------------------------------

test('Faiss reads the IxRF files simdex writes and finds the same results', (t) => {
  if (!faissAvailable()) {
    t.skip('Python Faiss is not installed');
    return;
  }
  const d = 16;
  const xt = blobs(2000, d, 12, 40);
  const xb = blobs(600, d, 12, 41);
  const xq = blobs(12, d, 12, 42);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-refine-py-'));
  const cases: Array<{ desc: string; metric: MetricType; kFactor: number; nprobe: number }> = [
    { desc: 'IVF16,PQ4,RFlat', metric: MetricType.L2, kFactor: 4, nprobe: 3 },
    { desc: 'IVF16,PQ4,RFlat', metric: MetricType.INNER_PRODUCT, kFactor: 2.5, nprobe: 2 },
    { desc: 'PQ4,Refine(SQfp16)', metric: MetricType.L2, kFactor: 3, nprobe: 0 },
  ];
  try {
    const indexes = cases.map((c) => {
      const index = indexFactory(d, c.desc, c.metric) as IndexRefine;
      index.train(xt);
      index.add(xb);
      index.kFactor = c.kFactor;
      if (c.nprobe > 0) (index.baseIndex as IndexIVF).nprobe = c.nprobe;
      return index;
    });
    const paths = indexes.map((index, i) => {
      const path = join(dir, `rf${i}.faiss`);
      writeIndex(index, path);
      return path;
    });
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths)}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        "    out['type%d' % i] = np.array([1 if isinstance(index, faiss.IndexRefineFlat) else 0], dtype='int32')",
        "    out['kf%d' % i] = np.array([index.k_factor], dtype='float32')",
        "    out['same%d' % i] = np.array([faiss.serialize_index(index).tobytes() == open(p, 'rb').read()], dtype='int32')",
        `    D, I = index.search(xq, ${K})`,
        "    out['D%d' % i] = D",
        "    out['I%d' % i] = I",
      ].join('\n'),
      { xq: { data: xq, shape: [12, d] } },
    );
    let differing = 0;
    indexes.forEach((index, i) => {
      assert.equal((out[`type${i}`] as Int32Array)[0], index instanceof IndexRefineFlat ? 1 : 0, `case ${i}: Faiss's class`);
      assert.equal((out[`kf${i}`] as Float32Array)[0], Math.fround(cases[i]!.kFactor));
      assert.equal((out[`same${i}`] as Int32Array)[0], 1, `case ${i}: Faiss writes back simdex's bytes`);
      const got = index.search(xq, K);
      const I = out[`I${i}`] as BigInt64Array;
      const D = out[`D${i}`] as Float32Array;
      for (let j = 0; j < I.length; j++) {
        if (got.labels[j] !== I[j]) differing++;
        else assert.ok(Math.abs(got.distances[j]! - D[j]!) <= 1e-3 * Math.abs(D[j]!) + 1e-5, `case ${i} rank ${j}: ${got.distances[j]} vs ${D[j]}`);
      }
      index.dispose();
    });
    assert.ok(differing <= 0.02 * cases.length * 12 * K, `${differing} labels differ from Faiss's`);
    t.diagnostic(`Faiss reads simdex's IxRF files: ${differing} of ${cases.length * 12 * K} labels differ`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------------

test('recall grows with kFactor, and the refined results are the exact top-k of the base candidates', () => {
  const d = 32;
  const xt = blobs(4000, d, 40, 50);
  const xb = blobs(4000, d, 40, 51);
  const xq = blobs(100, d, 40, 52);
  const truth = exactKnn(xb, xq, d, K);
  const index = indexFactory(d, 'IVF32,PQ4,RFlat') as IndexRefineFlat;
  index.train(xt);
  index.add(xb);
  const recalls: number[] = [];
  for (const kFactor of [1, 2, 4, 8, 16]) {
    const params = { kFactor, baseIndexParams: { nprobe: 8 } };
    const r = index.search(xq, K, params);
    recalls.push(recallAtK(r.labels, truth.labels, 100, K));
    // each result row is sorted, and its distances are the exact ones
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < K; j++) {
        const label = r.labels[i * K + j]!;
        if (label < 0n) continue;
        const v = xb.subarray(Number(label) * d, (Number(label) + 1) * d);
        let s = 0;
        for (let t = 0; t < d; t++) s += (xq[i * d + t]! - v[t]!) ** 2;
        assert.ok(near(r.distances[i * K + j]!, s), 'exact distance');
        if (j > 0) assert.ok(r.distances[i * K + j]! >= r.distances[i * K + j - 1]!, 'sorted');
      }
    }
  }
  for (let i = 1; i < recalls.length; i++) assert.ok(recalls[i]! >= recalls[i - 1]!, `recall never drops as kFactor grows: ${recalls.join(', ')}`);
  assert.ok(recalls[0]! < 0.7, `kFactor 1 keeps the PQ4 ranking (recall ${recalls[0]})`);
  assert.ok(recalls[4]! >= 0.95, `kFactor 16 at nprobe 8: recall ${recalls[4]}`);
  assert.ok(recalls[4]! - recalls[0]! >= 0.3, `refinement gains: ${recalls.join(', ')}`);
  // the index's kFactor is the default, a per-call kFactor wins
  index.kFactor = 16;
  assert.deepEqual(index.search(xq, K, { baseIndexParams: { nprobe: 8 } }).labels, index.search(xq, K, { kFactor: 16, baseIndexParams: { nprobe: 8 } }).labels);
  // ParameterSpace style: the other keys go to the base index, k_factor_rf is kFactor
  const flatForm = index.search(xq, K, { nprobe: 8, kFactorRf: 4 } as never);
  assert.deepEqual(flatForm.labels, index.search(xq, K, { kFactor: 4, baseIndexParams: { nprobe: 8 } }).labels);
  assert.notDeepEqual(flatForm.labels, index.search(xq, K, { nprobe: 1, kFactor: 4 } as never).labels, 'nprobe reaches the base');
  // the batch split over threads gives the single-thread results
  const one = withThreads(1, () => index.search(xq, K, { kFactor: 8, baseIndexParams: { nprobe: 8 } }));
  const many = withThreads(4, () => index.search(xq, K, { kFactor: 8, baseIndexParams: { nprobe: 8 } }));
  assert.deepEqual(many.labels, one.labels);
  assert.deepEqual(many.distances, one.distances);
  index.dispose();
});

test('bad kFactor and misplaced parameters are an InvalidArgumentError naming them', () => {
  const d = 8;
  const index = new IndexRefineFlat(new IndexFlatL2(d));
  index.add(randomVectors(50, d, 60));
  const q = randomVectors(2, d, 61);
  for (const kFactor of [0.5, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number]) {
    assert.throws(() => index.search(q, 5, { kFactor }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'kFactor' && /finite number >= 1/.test(e.message), String(kFactor));
    assert.throws(() => (index.kFactor = kFactor), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'kFactor');
  }
  assert.equal(index.kFactor, 1, "Faiss's default k_factor is 1");
  assert.throws(
    () => index.search(q, 5, { nprobe: 4, baseIndexParams: {} } as unknown as { kFactor: number }),
    (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'params.nprobe' && /beside baseIndexParams/.test(e.message),
  );
  assert.throws(() => index.search(q, 5, { kFactorRf: 0 } as never), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'kFactor');
  // the refinement step alone checks its arguments
  const cand = index.baseIndex.search(q, 8);
  assert.throws(() => index.refineCandidates(q, 2, 10, 8, cand.distances, cand.labels), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'kBase');
  assert.throws(() => index.refineCandidates(q, 2, 5, 8, cand.distances, cand.labels.subarray(1)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'baseLabels');
  assert.throws(() => index.refineCandidates(q, 3, 5, 8, cand.distances, cand.labels), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'x');
  // kFactor 1.5 at k = 5: floor(7.5) = 7 candidates, all 50 vectors reachable
  const r = index.search(q, 5, { kFactor: 1.5 });
  assert.deepEqual(r.labels, exactKnn(index.reconstructN(0, 50), q, d, 5).labels);
  index.dispose();
});

test('-1 labels of the base stay -1, last; a NaN query finds nothing', () => {
  const d = 8;
  const xb = blobs(300, d, 6, 70);
  const index = indexFactory(d, 'IVF16,PQ2,RFlat') as IndexRefineFlat;
  index.train(blobs(1000, d, 6, 71));
  index.add(xb);
  const xq = blobs(20, d, 6, 72);
  const k = 40;
  const base = index.baseIndex.search(xq, k * 2, { nprobe: 1 } as never);
  const r = index.search(xq, k, { kFactor: 2, baseIndexParams: { nprobe: 1 } });
  let padded = 0;
  for (let i = 0; i < 20; i++) {
    const valid = base.labels.subarray(i * k * 2, (i + 1) * k * 2).filter((l) => l >= 0n).length;
    const row = r.labels.subarray(i * k, (i + 1) * k);
    const got = row.filter((l) => l >= 0n).length;
    assert.equal(got, Math.min(k, valid), `query ${i}: as many results as valid candidates`);
    for (let j = got; j < k; j++) {
      assert.equal(row[j], -1n);
      assert.equal(r.distances[i * k + j], 3.4028234663852886e38);
      padded++;
    }
  }
  assert.ok(padded > 0, 'some lists hold fewer than k vectors at nprobe 1');
  const nanQuery = new Float32Array(d).fill(Number.NaN);
  assert.ok(index.search(nanQuery, 5, { kFactor: 4, baseIndexParams: { nprobe: 16 } }).labels.every((l) => l === -1n));
  index.dispose();
});

test('train, add, reconstruct, removeIds, reset, addWithIds, dispose', () => {
  const d = 16;
  const xt = blobs(3000, d, 10, 80);
  const xb = blobs(500, d, 10, 81);
  const pq = indexFactory(d, 'PQ4,RFlat') as IndexRefineFlat;
  assert.ok(!pq.isTrained);
  assert.throws(() => pq.add(xb), NotTrainedError);
  assert.throws(() => pq.search(xb.subarray(0, d), 1), NotTrainedError);
  pq.train(xt);
  assert.ok(pq.isTrained && pq.baseIndex.isTrained);
  pq.add(xb);
  assert.equal(pq.ntotal, 500);
  assert.equal(pq.baseIndex.ntotal, 500);
  assert.equal(pq.refineIndex.ntotal, 500);
  assert.deepEqual(pq.reconstruct(7), xb.subarray(7 * d, 8 * d));
  // both store vectors in order: removal renumbers both alike
  const removed = pq.removeIds({ isMember: (id: bigint) => id % 2n === 0n });
  assert.equal(removed, 250);
  assert.equal(pq.ntotal, 250);
  assert.equal(pq.baseIndex.ntotal, 250);
  assert.deepEqual(pq.reconstruct(3), xb.subarray(7 * d, 8 * d), 'vector 7 is now vector 3');
  const r = pq.search(xb.subarray(7 * d, 8 * d), 1, { kFactor: 8 });
  assert.equal(r.labels[0], 3n);
  assert.equal(r.distances[0], 0);
  assert.throws(() => pq.addWithIds(xb, BigInt64Array.from({ length: 500 }, (_, i) => BigInt(i))), (e: unknown) => e instanceof NotSupportedError && /IDMap/.test(e.message));
  pq.reset();
  assert.equal(pq.ntotal, 0);
  assert.equal(pq.baseIndex.ntotal, 0);
  assert.equal(pq.refineIndex.ntotal, 0);
  assert.ok(pq.isTrained, 'reset keeps the training');
  pq.dispose();

  // an IVF base keeps its ids on removal, a flat refinement index would not: refused
  const ivf = indexFactory(d, 'IVF8,Flat,RFlat') as IndexRefineFlat;
  ivf.train(xt);
  ivf.add(xb);
  assert.throws(() => ivf.removeIds({ isMember: () => true }), (e: unknown) => e instanceof NotSupportedError && /renumber/.test(e.message));
  assert.equal(ivf.ntotal, 500);
  ivf.dispose();

  // ids: IDMap around the refinement, prefix or suffix
  for (const desc of ['IDMap,IVF8,PQ4,RFlat', 'IVF8,PQ4,RFlat,IDMap']) {
    const idmap = indexFactory(d, desc) as IndexIDMap;
    assert.ok(idmap.index instanceof IndexRefineFlat, desc);
    idmap.train(xt);
    const ids = BigInt64Array.from({ length: 500 }, (_, i) => BigInt(1000 + 3 * i));
    idmap.addWithIds(xb, ids);
    const res = idmap.search(xb.subarray(42 * d, 43 * d), 1, { kFactor: 10, baseIndexParams: { nprobe: 8 } } as never);
    assert.equal(res.labels[0], ids[42], desc);
    idmap.dispose();
  }

  // IndexRefineFlat(base, xb): a base that already holds vectors
  const flatBase = new IndexPQ(d, 4, 8);
  flatBase.train(xt);
  flatBase.add(xb);
  assert.throws(() => new IndexRefineFlat(flatBase), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'baseIndex');
  assert.throws(() => new IndexRefineFlat(flatBase, xb.subarray(0, 10)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'xb');
  const withXb = new IndexRefineFlat(flatBase, xb);
  assert.equal(withXb.ntotal, 500);
  assert.ok(withXb.isTrained);
  assert.deepEqual(withXb.search(xb.subarray(5 * d, 6 * d), 1, { kFactor: 20 }).labels, BigInt64Array.of(5n));
  withXb.dispose();
  // a base that returns labels the refinement index does not hold (its own ids): an error, not wrong results
  const idmap = new IndexIDMap(new IndexFlatL2(d));
  idmap.addWithIds(xb, BigInt64Array.from({ length: 500 }, (_, i) => BigInt(400 + i)));
  const wrong = new IndexRefineFlat(idmap, xb);
  for (const threads of [1, 4]) {
    for (const nq of [1, 64]) {
      assert.throws(
        () => withThreads(threads, () => wrong.search(xb.subarray(0, nq * d), 5, { kFactor: 2 })),
        (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'baseIndex' && /labels >= ntotal = 500/.test(e.message),
        `${threads} threads, ${nq} queries`,
      );
    }
  }
  wrong.dispose();
  // mismatched indexes
  assert.throws(() => new IndexRefine(new IndexFlatL2(4), new IndexFlatL2(5)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'refineIndex');
  assert.throws(() => new IndexRefine(new IndexFlatL2(4), new IndexFlat(4, MetricType.INNER_PRODUCT)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'refineIndex');
});

test('a non-flat refinement index (SQ8, PQ, HNSW) re-ranks with its decoded vectors', () => {
  const d = 16;
  const xt = blobs(3000, d, 10, 90);
  const xb = blobs(1500, d, 10, 91);
  const xq = blobs(50, d, 10, 92);
  const truth = exactKnn(xb, xq, d, K);
  for (const desc of ['PQ2,Refine(SQ8)', 'PQ2,Refine(PQ8)', 'PQ2,Refine(HNSW8)', 'PQ2,Refine(IVF4,Flat)']) {
    const index = indexFactory(d, desc) as IndexRefine;
    assert.ok(!(index instanceof IndexRefineFlat), desc);
    index.train(xt);
    index.add(xb);
    if (desc.includes('IVF')) {
      // reconstruct needs the direct map (as in Faiss)
      assert.throws(() => index.search(xq, K, { kFactor: 4 }));
      continue;
    }
    const r1 = recallAtK(index.search(xq, K).labels, truth.labels, 50, K);
    const r8 = recallAtK(index.search(xq, K, { kFactor: 8 }).labels, truth.labels, 50, K);
    assert.ok(r8 >= r1 + 0.2, `${desc}: recall ${r1} -> ${r8}`);
    // the refined distances are the refinement index's own: its reconstruction's distances
    const r = index.search(xq.subarray(0, d), 3, { kFactor: 4 });
    for (let j = 0; j < 3; j++) {
      const v = index.reconstruct(Number(r.labels[j]!));
      let s = 0;
      for (let t = 0; t < d; t++) s += (xq[t]! - v[t]!) ** 2;
      assert.ok(Math.abs(r.distances[j]! - s) <= 1e-4 * s + 1e-5, `${desc}: distance ${r.distances[j]} vs ${s}`);
    }
    if (desc === 'PQ2,Refine(SQ8)') assert.ok(index.refineIndex instanceof IndexScalarQuantizer && index.refineIndex.sq.qtype === QuantizerType.QT_8bit);
    index.dispose();
  }
});

// ---------------------------------------------------------------------------------------------------
// Factory and description
// ---------------------------------------------------------------------------------------------------

test('factory: RFlat and Refine(...) build Faiss\'s structure, reverseIndexFactory gives it back', () => {
  const rows: Array<[string, string, (i: Index) => void]> = [
    ['IVF1024,PQ64,RFlat', 'IVF1024,PQ64,RFlat', (i) => assert.ok(i instanceof IndexRefineFlat && i.baseIndex instanceof IndexIVFPQ && i.refineIndex instanceof IndexFlat)],
    ['PQ16,RFlat', 'PQ16,RFlat', (i) => assert.ok(i instanceof IndexRefineFlat && i.baseIndex instanceof IndexPQ)],
    ['IVF64,PQ8,Refine(SQfp16)', 'IVF64,PQ8,Refine(SQfp16)', (i) => assert.ok(i instanceof IndexRefine && !(i instanceof IndexRefineFlat) && i.refineIndex instanceof IndexScalarQuantizer)],
    ['PQ8,Refine(Flat)', 'PQ8,RFlat', (i) => assert.ok(i instanceof IndexRefine && i.refineIndex instanceof IndexFlat)],
    ['IVF16,Flat,RFlat', 'IVF16,Flat,RFlat', (i) => assert.ok(i instanceof IndexRefineFlat)],
    ['IVF16,PQ4,RFlat,IDMap', 'IVF16,PQ4,RFlat,IDMap', (i) => assert.ok(i instanceof IndexIDMap && i.index instanceof IndexRefineFlat)],
    ['IDMap,IVF16,PQ4,RFlat', 'IVF16,PQ4,RFlat,IDMap', (i) => assert.ok(i instanceof IndexIDMap && i.index instanceof IndexRefineFlat)],
    ['IDMap2,PQ8,Refine(SQ8)', 'PQ8,Refine(SQ8),IDMap2', (i) => assert.ok(i instanceof IndexIDMap2 && i.index instanceof IndexRefine)],
    ['IVF16,PQ4,IDMap,RFlat', 'IDMap,IVF16,PQ4,RFlat', (i) => assert.ok(i instanceof IndexRefineFlat && i.baseIndex instanceof IndexIDMap)],
    ['HNSW16,RFlat', 'HNSW16,RFlat', (i) => assert.ok(i instanceof IndexRefineFlat)],
  ];
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    for (const [desc, reverse, check] of rows) {
      const index = indexFactory(64, desc, metric);
      check(index);
      assert.equal(index.metricType, metric, desc);
      assert.equal(reverseIndexFactory(index), reverse, desc);
      if (index instanceof IndexRefine) {
        assert.equal(index.kFactor, 1);
        assert.equal(index.refineIndex.metricType, metric);
      }
      index.dispose();
    }
  }
  assert.throws(() => indexFactory(16, 'RFlat'), (e: unknown) => e instanceof FactoryParseError && /wrapper/.test(e.message));
  assert.throws(() => indexFactory(16, 'PQ4,Refine(Foo)'), (e: unknown) => e instanceof FactoryParseError && e.token === 'Foo');
});

test('describeIndex: the refine index, its k_factor, its two children and the file size', () => {
  const d = 8;
  const index = indexFactory(d, 'PQ2,RFlat') as IndexRefineFlat;
  index.train(randomVectors(300, d, 100));
  index.add(randomVectors(100, d, 101));
  index.kFactor = 3;
  const desc = describeIndex(index);
  assert.equal(desc.type, 'IndexRefineFlat');
  assert.equal(desc.fourcc, 'IxRF');
  assert.deepEqual(desc.refine, { kFactor: 3 });
  assert.deepEqual(desc.children.map((c) => c.fourcc), ['IxPq', 'IxF2']);
  assert.equal(desc.bytes, serializeIndex(index).length);
  assert.match(formatIndexDescription(desc), /^IndexRefineFlat "IxRF" d=8 ntotal=100 metric=L2 bytes=\d+ k_factor=3\n {2}IndexPQ/);
  // written and read back: the same results
  const back = deserializeIndex(serializeIndex(index)) as IndexRefineFlat;
  assert.equal(back.kFactor, 3);
  const q = randomVectors(5, d, 102);
  assert.deepEqual(back.search(q, 4).labels, index.search(q, 4).labels);
  back.dispose();
  index.dispose();
});
