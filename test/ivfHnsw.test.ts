/**
 * @module test/ivfHnsw
 * IVF indexes whose coarse quantizer is an IndexHNSWFlat (Faiss's `IVF{n}_HNSW{M},...`): files written
 * by Faiss 1.7.3 (manifest-refine.json's "ivf_hnsw", made by scripts/make-faiss-golden.py
 * --only=refine; the quantizer is an "IHNf" nested in the IVF file) read, probed through Faiss's own
 * graph with Faiss's lists and searched with Faiss's labels at equal nprobe and quantizer efSearch,
 * and written back byte for byte; built in simdex (Faiss's factory training: k-means with an exact
 * assignment index, then the centroids added to the graph) with the same centroids and within 0.02
 * of the recall of `IVF{n},Flat`; Faiss (Python, when installed) reads simdex's files and finds the
 * same results; quantizer parameters per call; the factory rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index } from '../src/Index.js';
import { InvalidArgumentError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { indexFactory, reverseIndexFactory } from '../src/factory/indexFactory.js';
import { IndexFlat, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexHNSWFlat } from '../src/indexes/hnsw/IndexHNSWFlat.js';
import { IndexIVF, type SearchParametersIVF } from '../src/indexes/ivf/IndexIVF.js';
import { IndexIVFFlat } from '../src/indexes/ivf/IndexIVFFlat.js';
import { IndexIVFPQ } from '../src/indexes/ivf/IndexIVFPQ.js';
import { IndexIVFScalarQuantizer } from '../src/indexes/ivf/IndexIVFScalarQuantizer.js';
import { decodeNpy } from '../src/io/npy.js';
import { deserializeIndex, describeIndex, serializeIndex, writeIndex } from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { recallAtK } from './helpers/conformance.js';
import { mulberry32 } from './helpers/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface IvfHnswEntry {
  name: string;
  file: string;
  description: string;
  type: string;
  quantizer_type: string;
  d: number;
  ntotal: number;
  metric_type: number;
  nlist: number;
  nprobe: number;
  hnsw_M: number;
  efSearch: number;
  efConstruction: number;
  quantizer_trains_alone: number;
  spherical: boolean;
  bytes: number;
  list_sizes: number[];
  base: string;
  queries: string;
  search: Array<{ nprobe: number; quantizer_efSearch: number | null; labels: string; distances: string; coarse: string }>;
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-refine.json'), 'utf8')) as { k: number; nq: number; ivf_hnsw: IvfHnswEntry[] };
const K = manifest.k;
function npy<T>(file: string): T {
  const path = join(GOLDEN, file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

/** n points around c Gaussian centres (the centres depend on `centreSeed` only). */
function blobs(n: number, d: number, c: number, seed: number, centreSeed: number, spread = 1): Float32Array {
  const random = mulberry32(seed);
  const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const cr = mulberry32(centreSeed);
  const centres = Float32Array.from({ length: c * d }, () => 3 * gauss(cr));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const ci = Math.floor(random() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[ci * d + j]! + spread * gauss(random);
  }
  return x;
}

function params(nprobe: number, efSearch: number | null): SearchParametersIVF {
  return efSearch === null ? { nprobe } : { nprobe, quantizerParams: { efSearch } };
}

// ---------------------------------------------------------------------------------------------------
// Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden IVF_HNSW files: Faiss\'s graph probes Faiss\'s lists and finds Faiss\'s labels; written back byte for byte', (t) => {
  assert.ok(manifest.ivf_hnsw.length >= 3);
  let coarseSame = 0;
  let coarseTotal = 0;
  let labelsSame = 0;
  let labelsTotal = 0;
  for (const e of manifest.ivf_hnsw) {
    const bytes = new Uint8Array(readFileSync(join(GOLDEN, e.file)));
    assert.equal(bytes.length, e.bytes);
    const index = deserializeIndex(bytes) as IndexIVF;
    assert.equal(index.typeName, e.type, e.name);
    assert.ok(index.quantizer instanceof IndexHNSWFlat, `${e.name}: the quantizer is ${index.quantizer.typeName}`);
    const q = index.quantizer;
    assert.equal(q.hnsw.M, e.hnsw_M);
    assert.equal(q.hnsw.efSearch, e.efSearch);
    assert.equal(q.ntotal, e.nlist);
    assert.equal(index.nlist, e.nlist);
    assert.equal(index.ntotal, e.ntotal);
    assert.equal(index.metricType, e.metric_type);
    assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
    // quantizer_trains_alone is not in the file: 0 after reading, as in Faiss
    assert.equal(index.quantizerTrainsAlone, 0);
    assert.deepEqual(serializeIndex(index), bytes, `${e.name}: written back byte for byte`);
    assert.deepEqual(describeIndex(index).children.map((c) => c.fourcc), ['IHNf']);
    const xq = npy<Float32Array>(e.queries);
    for (const s of e.search) {
      const what = `${e.name} nprobe ${s.nprobe} efSearch ${s.quantizer_efSearch ?? 'default'}`;
      const coarse = q.search(xq, s.nprobe, s.quantizer_efSearch === null ? undefined : { efSearch: s.quantizer_efSearch });
      const faissCoarse = npy<BigInt64Array>(s.coarse);
      for (let i = 0; i < faissCoarse.length; i++) if (coarse.labels[i] === faissCoarse[i]) coarseSame++;
      coarseTotal += faissCoarse.length;
      // where the beam is full (efSearch = nprobe) the two HNSW searches may end on different lists
      // (see IndexHNSWFlat's notes): simdex's probed lists are then never farther, query by query
      const centroids = q.reconstructN(0, q.ntotal);
      const score = (labels: BigInt64Array, i: number): number => {
        let sum = 0;
        for (let p = 0; p < s.nprobe; p++) {
          const c = Number(labels[i * s.nprobe + p]!);
          let v = 0;
          for (let j = 0; j < e.d; j++) v += e.metric_type === 1 ? (xq[i * e.d + j]! - centroids[c * e.d + j]!) ** 2 : -xq[i * e.d + j]! * centroids[c * e.d + j]!;
          sum += v;
        }
        return sum;
      };
      for (let i = 0; i < manifest.nq; i++) {
        const mine = score(coarse.labels, i);
        const theirs = score(faissCoarse, i);
        assert.ok(mine <= theirs + 1e-4 * Math.abs(theirs) + 1e-4, `${what}: query ${i}: simdex's probed lists (${mine}) are farther than Faiss's (${theirs})`);
      }
      const got = index.search(xq, K, params(s.nprobe, s.quantizer_efSearch));
      const labels = npy<BigInt64Array>(s.labels);
      const distances = npy<Float32Array>(s.distances);
      for (let i = 0; i < labels.length; i++) {
        labelsTotal++;
        if (got.labels[i] !== labels[i]) continue;
        labelsSame++;
        const tol = e.type === 'IndexIVFFlat' ? 1e-5 : 1e-3;
        assert.ok(Math.abs(got.distances[i]! - distances[i]!) <= tol * Math.abs(distances[i]!) + 1e-4, `${what}: distance ${i}: ${got.distances[i]} vs ${distances[i]}`);
      }
    }
    index.dispose();
  }
  assert.ok(coarseSame >= 0.85 * coarseTotal, `probed lists: ${coarseSame} of ${coarseTotal} are Faiss's`);
  assert.ok(labelsSame >= 0.9 * labelsTotal, `labels: ${labelsSame} of ${labelsTotal} are Faiss's`);
  t.diagnostic(`golden IVF_HNSW: probed lists ${coarseSame}/${coarseTotal}, labels ${labelsSame}/${labelsTotal} equal to Faiss's`);
});

test('quantizerParams reach the HNSW quantizer; a bad efSearch is an InvalidArgumentError', () => {
  const e = manifest.ivf_hnsw.find((x) => x.name === 'IVFH_IVF64_HNSW8_Flat')!;
  const index = deserializeIndex(new Uint8Array(readFileSync(join(GOLDEN, e.file)))) as IndexIVFFlat;
  const xq = npy<Float32Array>(e.queries);
  const q = index.quantizer as IndexHNSWFlat;
  // per call, like setting the quantizer's efSearch (which the call leaves unchanged)
  const perCall = index.search(xq, K, { nprobe: 4, quantizerParams: { efSearch: 2 } });
  q.hnsw.efSearch = 2;
  const set = index.search(xq, K, { nprobe: 4 });
  q.hnsw.efSearch = 16;
  assert.deepEqual(perCall.labels, set.labels);
  // ParameterSpace style: efSearch on the IVF goes to its HNSW quantizer
  assert.deepEqual(index.search(xq, K, { nprobe: 4, efSearch: 2 }).labels, perCall.labels);
  const seen: unknown[] = [];
  const search = q.search.bind(q);
  q.search = (x, k, p) => {
    seen.push(p);
    return search(x, k, p);
  };
  index.search(xq, K, { nprobe: 4, quantizerParams: { efSearch: 48 } });
  index.search(xq, K, { nprobe: 4, efSearch: 40 });
  index.search(xq, K, { nprobe: 4 });
  assert.deepEqual(seen, [{ efSearch: 48 }, { efSearch: 40 }, undefined]);
  q.search = search;
  // efSearch below nprobe is raised to nprobe (Faiss's max(efSearch, k)): nprobe lists are probed
  const coarse = q.search(xq, 8, { efSearch: 1 });
  assert.ok(coarse.labels.every((l) => l >= 0n), 'efSearch 1 still gives nprobe = 8 lists');
  assert.throws(() => index.search(xq, K, { nprobe: 4, quantizerParams: { efSearch: 0 } }), (err: unknown) => err instanceof InvalidArgumentError && err.argument === 'efSearch');
  index.dispose();
});

// ---------------------------------------------------------------------------------------------------
// Built by simdex
// ---------------------------------------------------------------------------------------------------

test('IVF64_HNSW16,Flat built in simdex: the same centroids as IVF64,Flat, assignments through the graph, recall within 0.02', (t) => {
  const d = 32;
  // 50 overlapping clusters: IVF64,Flat finds about 0.74 of the 10 nearest at nprobe 8, 0.97 at 32
  const xt = blobs(5000, d, 50, 1, 99, 5);
  const xb = blobs(10000, d, 50, 2, 99, 5);
  const xq = blobs(200, d, 50, 3, 99, 5);
  const truth = new IndexFlatL2(d);
  truth.add(xb);
  const gt = truth.search(xq, K);
  truth.dispose();
  const flat = indexFactory(d, 'IVF64,Flat') as IndexIVFFlat;
  const hnsw = indexFactory(d, 'IVF64_HNSW16,Flat') as IndexIVFFlat;
  assert.equal(hnsw.quantizerTrainsAlone, 2);
  assert.equal(flat.quantizerTrainsAlone, 0);
  flat.train(xt);
  hnsw.train(xt);
  assert.ok(hnsw.isTrained);
  // k-means ran alike (an exact L2 assignment index either way): the graph holds the flat quantizer's centroids
  assert.deepEqual(hnsw.quantizer.reconstructN(0, 64), flat.quantizer.reconstructN(0, 64));
  // assignment through the graph: nearly always the exact nearest centroid
  const lf = flat.assignLists(xb);
  const lh = hnsw.assignLists(xb);
  let same = 0;
  for (let i = 0; i < lf.length; i++) if (lf[i] === lh[i]) same++;
  assert.ok(same >= 0.98 * lf.length, `${same} of ${lf.length} vectors go to the exact nearest list`);
  flat.add(xb);
  hnsw.add(xb);
  assert.equal(hnsw.ntotal, 10000);
  const recalls: string[] = [];
  for (const nprobe of [8, 32]) {
    const rf = recallAtK(flat.search(xq, K, { nprobe }).labels, gt.labels, 200, K);
    const rh = recallAtK(hnsw.search(xq, K, { nprobe }).labels, gt.labels, 200, K);
    recalls.push(`nprobe ${nprobe}: IVF64,Flat ${rf.toFixed(3)}, IVF64_HNSW16,Flat ${rh.toFixed(3)}`);
    assert.ok(rh >= rf - 0.02, `nprobe ${nprobe}: recall ${rh} vs IVF64,Flat's ${rf}`);
    assert.ok(rf >= (nprobe === 8 ? 0.6 : 0.9) && rf < 1, `nprobe ${nprobe}: IVF64,Flat recall ${rf}`);
  }
  t.diagnostic(`recall@10: ${recalls.join('; ')}; assignments equal to exact: ${same}/${lf.length}`);
  // written and read back: the same results
  const back = deserializeIndex(serializeIndex(hnsw)) as IndexIVFFlat;
  assert.ok(back.quantizer instanceof IndexHNSWFlat);
  assert.deepEqual(back.search(xq, K, { nprobe: 8 }).labels, hnsw.search(xq, K, { nprobe: 8 }).labels);
  back.dispose();
  flat.dispose();
  hnsw.dispose();
});

test('PQ and SQ codes over an HNSW quantizer; inner product trains spherical k-means (as Faiss\'s factory sets it)', () => {
  const d = 16;
  const xt = blobs(3000, d, 40, 11, 98);
  const xb = blobs(2000, d, 40, 12, 98);
  const xq = blobs(50, d, 40, 13, 98);
  for (const [desc, metric, cls, minRecall] of [
    ['IVF32_HNSW8,PQ8', MetricType.L2, IndexIVFPQ, 0.5],
    ['IVF32_HNSW8,SQ8', MetricType.INNER_PRODUCT, IndexIVFScalarQuantizer, 0.8],
  ] as const) {
    const index = indexFactory(d, desc, metric) as IndexIVF;
    assert.ok(index instanceof cls, desc);
    assert.equal(index.cp.spherical, metric === MetricType.INNER_PRODUCT, desc);
    index.train(xt);
    index.add(xb);
    const exact = new IndexFlat(d, metric);
    exact.add(xb);
    const r = recallAtK(index.search(xq, K, { nprobe: 8 }).labels, exact.search(xq, K).labels, 50, K);
    assert.ok(r >= minRecall, `${desc}: recall ${r}`);
    if (metric === MetricType.INNER_PRODUCT) {
      // spherical: unit-norm centroids
      const c = index.quantizer.reconstructN(0, 32);
      for (let l = 0; l < 32; l++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += c[l * d + j]! ** 2;
        assert.ok(Math.abs(s - 1) < 1e-4, `centroid ${l} has norm^2 ${s}`);
      }
    }
    exact.dispose();
    index.dispose();
  }
  // inner product with the quantizer trained apart needs spherical k-means (Faiss's check)
  const ip = new IndexIVFFlat(new IndexHNSWFlat(d, 8, MetricType.INNER_PRODUCT), d, 16, MetricType.INNER_PRODUCT);
  ip.quantizerTrainsAlone = 2;
  assert.throws(() => ip.train(xt), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'cp');
  ip.dispose();
});

test('an HNSW quantizer given directly (quantizerTrainsAlone 0, Faiss\'s default): k-means assigns through the graph', () => {
  const d = 16;
  const xt = blobs(2000, d, 30, 21, 97);
  const xb = blobs(2000, d, 30, 22, 97);
  const xq = blobs(50, d, 30, 23, 97);
  const index = new IndexIVFFlat(new IndexHNSWFlat(d, 8), d, 32);
  assert.equal(index.quantizerTrainsAlone, 0);
  assert.ok(!index.isTrained);
  index.train(xt);
  assert.ok(index.isTrained);
  assert.equal(index.quantizer.ntotal, 32);
  index.add(xb);
  const exact = new IndexFlatL2(d);
  exact.add(xb);
  const r = recallAtK(index.search(xq, K, { nprobe: 8 }).labels, exact.search(xq, K).labels, 50, K);
  assert.ok(r >= 0.9, `recall ${r}`);
  // quantizerTrainsAlone 1: the quantizer trains itself and must then hold nlist vectors
  const alone = new IndexIVFFlat(new IndexHNSWFlat(d, 8), d, 32);
  alone.quantizerTrainsAlone = 1;
  assert.throws(() => alone.train(xt), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'quantizer');
  alone.dispose();
  exact.dispose();
  index.dispose();
});

test('Faiss reads the IVF_HNSW files simdex writes and finds the same results', (t) => {
  if (!faissAvailable()) {
    t.skip('Python Faiss is not installed');
    return;
  }
  const d = 16;
  const xt = blobs(3000, d, 40, 31, 96);
  const xb = blobs(1500, d, 40, 32, 96);
  const xq = blobs(20, d, 40, 33, 96);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-ivfhnsw-py-'));
  const descs = ['IVF32_HNSW8,Flat', 'IVF32_HNSW8,PQ4'];
  try {
    const indexes = descs.map((desc) => {
      const index = indexFactory(d, desc) as IndexIVF;
      index.train(xt);
      index.add(xb);
      index.nprobe = 4;
      return index;
    });
    const paths = indexes.map((index, i) => {
      const path = join(dir, `ivfh${i}.faiss`);
      writeIndex(index, path);
      return path;
    });
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths)}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        '    q = faiss.downcast_index(index.quantizer)',
        "    out['meta%d' % i] = np.array([isinstance(q, faiss.IndexHNSWFlat), index.nlist, index.nprobe, index.ntotal, q.hnsw.efSearch], dtype='int32')",
        "    out['same%d' % i] = np.array([faiss.serialize_index(index).tobytes() == open(p, 'rb').read()], dtype='int32')",
        `    D, I = index.search(xq, ${K})`,
        "    out['I%d' % i] = I",
        '    q.hnsw.efSearch = 64',
        '    index.nprobe = 16',
        `    D, I = index.search(xq, ${K})`,
        "    out['J%d' % i] = I",
      ].join('\n'),
      { xq: { data: xq, shape: [20, d] } },
    );
    let differing = 0;
    let total = 0;
    indexes.forEach((index, i) => {
      assert.deepEqual(Array.from(out[`meta${i}`] as Int32Array), [1, 32, 4, 1500, 16], descs[i]);
      assert.equal((out[`same${i}`] as Int32Array)[0], 1, `${descs[i]}: Faiss writes back simdex's bytes`);
      for (const [key, p] of [['I', { nprobe: 4 }], ['J', { nprobe: 16, quantizerParams: { efSearch: 64 } }]] as const) {
        const I = out[`${key}${i}`] as BigInt64Array;
        const got = index.search(xq, K, p);
        for (let j = 0; j < I.length; j++) if (got.labels[j] !== I[j]) differing++;
        total += I.length;
      }
      index.dispose();
    });
    assert.ok(differing <= 0.03 * total, `${differing} of ${total} labels differ from Faiss's`);
    t.diagnostic(`Faiss reads simdex's IVF_HNSW files: ${differing} of ${total} labels differ`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('factory: IVF{n}_HNSW{M} builds an IndexHNSWFlat quantizer trained apart; reverseIndexFactory gives it back', () => {
  const rows: Array<[string, string, (i: Index) => void]> = [
    ['IVF1024_HNSW32,Flat', 'IVF1024_HNSW32,Flat', (i) => assert.ok(i instanceof IndexIVFFlat && i.nlist === 1024)],
    ['IVF256_HNSW,PQ8', 'IVF256_HNSW32,PQ8', (i) => assert.ok(i instanceof IndexIVFPQ && i.pq.M === 8)],
    ['IVF256_HNSW16,SQ8', 'IVF256_HNSW16,SQ8', (i) => assert.ok(i instanceof IndexIVFScalarQuantizer)],
    ['IVF64k_HNSW32,Flat', 'IVF65536_HNSW32,Flat', (i) => assert.ok(i instanceof IndexIVFFlat && i.nlist === 65536)],
    ['IDMap,IVF64_HNSW8,Flat', 'IDMap,IVF64_HNSW8,Flat', (i) => assert.ok((i as unknown as { index: Index }).index instanceof IndexIVFFlat)],
  ];
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    for (const [desc, reverse, check] of rows) {
      const index = indexFactory(64, desc, metric);
      check(index);
      const ivf = (index instanceof IndexIVF ? index : (index as unknown as { index: IndexIVF }).index);
      assert.ok(ivf.quantizer instanceof IndexHNSWFlat, desc);
      assert.equal(ivf.quantizer.metricType, metric);
      assert.equal(ivf.quantizer.hnsw.M, Number(/HNSW(\d+)/.exec(reverse)![1]));
      assert.equal(ivf.quantizerTrainsAlone, 2);
      assert.equal(ivf.cp.spherical, metric === MetricType.INNER_PRODUCT);
      assert.ok(!ivf.isTrained);
      assert.equal(reverseIndexFactory(index), reverse, desc);
      index.dispose();
    }
  }
  // the seeds' descriptions
  const seed = indexFactory(128, 'IVF262144_HNSW32,PQ64') as IndexIVFPQ;
  assert.ok(seed.quantizer instanceof IndexHNSWFlat && seed.nlist === 262144 && seed.pq.M === 64);
  seed.dispose();
  // a flat quantizer keeps Faiss's default training (k-means through the quantizer)
  const plain = indexFactory(16, 'IVF64,Flat') as IndexIVF;
  assert.ok(plain.quantizer instanceof IndexFlat && plain.quantizerTrainsAlone === 0);
  plain.dispose();
});
