/**
 * @module test/hnswq
 * HNSW over SQ / PQ codes (IndexHNSWSQ, IndexHNSWPQ; assembly/hnswStorage.ts): the WebAssembly build
 * and search against the TypeScript reference (kernels/referenceHNSWStorage) bit for bit; the
 * reference's distances against Faiss's definitions (decoded vectors, the SDC table); files written
 * by Faiss 1.7.3 (test/golden/faiss-1.7.3/manifest-hnswq.json, `make-faiss-golden.py --only=hnswq`)
 * read, searched and written back byte for byte, and rebuilt by simdex from the same data; files
 * written by simdex read by Faiss (when installed); recall against IndexHNSWFlat and Faiss on
 * clustered data; factory rows; truncated and hostile files; bad input. Seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FactoryParseError, FormatError, IDSelectorRange, IndexFlat, IndexHNSW, IndexPQ, IndexHNSWFlat, IndexHNSWPQ, IndexHNSWSQ, IndexScalarQuantizer,
  InvalidArgumentError, MetricType, NotSupportedError, NotTrainedError, QuantizerType, getNumThreads, indexFactory, reverseIndexFactory, setNumThreads,
} from '../src/simdex.js';
import type { Index } from '../src/Index.js';
import { insertionOrder } from '../src/indexes/hnsw/HNSW.js';
import { hnswAddReference, hnswSearchReference, type HNSWGraphArrays } from '../src/kernels/referenceHNSW.js';
import { generateDataset } from '../src/bench/dataset.js';
import { decodeNpy } from '../src/io/npy.js';
import { describeIndex, deserializeIndex, faissFileSize, formatIndexDescription, fourcc, hnswBlockBytes, readIndex, serializeIndex, writeIndex } from '../src/io/faiss/index.js';
import { recallAtK, runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { randomVectors } from './helpers/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');
const noFaiss = !faissAvailable() && 'python3-faiss not installed';

function withThreads<T>(n: number, f: () => T): T {
  const saved = getNumThreads();
  setNumThreads(n);
  try {
    return f();
  } finally {
    setNumThreads(saved);
  }
}

const quiet = <T extends Index>(index: T): T => {
  if (index instanceof IndexHNSWPQ) index.pq.onWarning = () => {};
  return index;
};

function formatError(fn: () => unknown, what: string): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    assert.fail(`${what}: expected a FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  assert.fail(`${what}: expected a FormatError, the read succeeded`);
}

// ---- the reference's distances are Faiss's ------------------------------------------------------

test("reference storage distances follow Faiss's definitions: decoded SQ codes, PQ tables and the SDC table", () => {
  const d = 13;
  const x = randomVectors(60, d, 401);
  const q = randomVectors(3, d, 402);
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    for (const qtype of [QuantizerType.QT_8bit, QuantizerType.QT_4bit, QuantizerType.QT_6bit, QuantizerType.QT_fp16, QuantizerType.QT_8bit_uniform]) {
      const index = new IndexHNSWSQ(d, qtype, 4, metric);
      index.train(x);
      index.add(x);
      const codes = index.hnsw.codes(0, 60);
      const dec = index.sq.decode(codes);
      const ref = index.hnsw.storageReference(codes);
      const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number): number => {
        let s = 0;
        for (let j = 0; j < d; j++) s += metric === MetricType.L2 ? (a[ao + j]! - b[bo + j]!) ** 2 : a[ao + j]! * b[bo + j]!;
        return metric === MetricType.L2 ? s : -s;
      };
      const dq = ref.query(q, 0);
      for (const id of [0, 7, 59]) close(dq(id), dot(q, 0, dec, id * d), `SQ qtype ${qtype} metric ${metric} query to ${id}`);
      for (const [a, b] of [[0, 1], [5, 40], [59, 3]] as const) close(ref.symmetric(a, b), dot(dec, a * d, dec, b * d), `SQ qtype ${qtype} metric ${metric} symmetric ${a} ${b}`);
      index.dispose();
    }
  }
  // PQ: the table sum is the distance to the decoded code; the symmetric distance is the SDC sum
  // for L2 (Faiss's PQDistanceComputer), the negated inner product of the decoded codes for IP
  const d2 = 12;
  const y = randomVectors(300, d2, 403);
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const index = quiet(new IndexHNSWPQ(d2, 4, 4, 5, metric));
    index.train(y);
    index.add(y);
    const codes = index.hnsw.codes(0, 300);
    const dec = index.pq.decode(codes);
    const ref = index.hnsw.storageReference(codes);
    const dq = ref.query(q, 0);
    for (const id of [0, 99, 299]) {
      let s = 0;
      for (let j = 0; j < d2; j++) s += metric === MetricType.L2 ? (q[j]! - dec[id * d2 + j]!) ** 2 : q[j]! * dec[id * d2 + j]!;
      close(dq(id), metric === MetricType.L2 ? s : -s, `PQ metric ${metric} query to ${id}`);
    }
    for (const [a, b] of [[0, 1], [17, 250]] as const) {
      let s = 0;
      for (let j = 0; j < d2; j++) s += metric === MetricType.L2 ? (dec[a * d2 + j]! - dec[b * d2 + j]!) ** 2 : dec[a * d2 + j]! * dec[b * d2 + j]!;
      close(ref.symmetric(a, b), metric === MetricType.L2 ? s : -s, `PQ metric ${metric} symmetric ${a} ${b}`);
    }
    index.dispose();
  }
});

// ---- WASM against the reference -----------------------------------------------------------------

/** The reference graph over the same levels, insertion order and codes as `index`'s batches. */
function referenceGraph(index: IndexHNSW, x: Float32Array, batches: number[]): HNSWGraphArrays {
  const h = index.hnsw;
  const levels = h.levels;
  const offsets = h.offsets;
  const g: HNSWGraphArrays = {
    d: h.d,
    metric: h.metricType,
    cumNneighborPerLevel: h.cumNneighborPerLevel,
    levels,
    offsets,
    neighbors: new Int32Array(offsets[levels.length]!).fill(-1),
    entryPoint: -1,
    maxLevel: -1,
    vectors: x,
    storage: h.storageReference(h.codes(0, h.ntotal)),
  };
  let n0 = 0;
  for (const nb of batches) {
    hnswAddReference(g, insertionOrder(levels.subarray(n0, n0 + nb), n0), h.efConstruction);
    n0 += nb;
  }
  return g;
}

const CASES: Array<{ name: string; d: number; make: (d: number, metric: MetricType) => IndexHNSW }> = [
  { name: 'SQ8 d=20', d: 20, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_8bit, 4, m) },
  { name: 'SQ8 d=13', d: 13, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_8bit, 4, m) },
  { name: 'SQ4 d=13', d: 13, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_4bit, 4, m) },
  { name: 'SQ6 d=13', d: 13, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_6bit, 4, m) },
  { name: 'SQfp16 d=13', d: 13, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_fp16, 4, m) },
  { name: 'SQ8_uniform d=20', d: 20, make: (d, m) => new IndexHNSWSQ(d, QuantizerType.QT_8bit_uniform, 4, m) },
  { name: 'PQ4x8 d=12', d: 12, make: (d, m) => quiet(new IndexHNSWPQ(d, 4, 4, 8, m)) },
  { name: 'PQ6x4 d=12', d: 12, make: (d, m) => quiet(new IndexHNSWPQ(d, 6, 4, 4, m)) },
  { name: 'PQ3x5 d=12', d: 12, make: (d, m) => quiet(new IndexHNSWPQ(d, 3, 4, 5, m)) },
];

for (const c of CASES) {
  test(`${c.name}: one-thread build and search equal the TypeScript reference exactly (L2 and IP)`, () => {
    const n = 450;
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      const x = randomVectors(n, c.d, 500 + metric + c.d);
      const q = randomVectors(25, c.d, 600 + metric);
      withThreads(1, () => {
        const index = c.make(c.d, metric);
        index.hnsw.efConstruction = 20;
        index.train(x);
        const batches = [1, 199, 250];
        let o = 0;
        for (const nb of batches) {
          index.add(x.subarray(o * c.d, (o + nb) * c.d));
          o += nb;
        }
        const h = index.hnsw;
        assert.ok(h.maxLevel >= 2, `a graph with several levels (max level ${h.maxLevel})`);
        const g = referenceGraph(index, x, batches);
        assert.equal(h.entryPoint, g.entryPoint);
        assert.deepEqual(h.neighbors, g.neighbors, `metric ${metric}: neighbour lists`);
        for (const [k, ef] of [[1, 1], [5, 16], [10, 40]] as const) {
          const r = index.search(q, k, { efSearch: ef });
          for (let i = 0; i < 25; i++) {
            const ref = hnswSearchReference(g, q, i * c.d, k, Math.max(ef, k));
            assert.deepEqual(r.labels.subarray(i * k, (i + 1) * k), ref.labels, `metric ${metric} k=${k} ef=${ef} query ${i}: labels`);
            assert.deepEqual(r.distances.subarray(i * k, (i + 1) * k), ref.distances, `metric ${metric} k=${k} ef=${ef} query ${i}: distances`);
          }
        }
        index.dispose();
      });
    }
  });
}

// ---- files written by Faiss 1.7.3 -----------------------------------------------------------------

interface HnswqEntry {
  name: string;
  file: string;
  type: 'IndexHNSWSQ' | 'IndexHNSWPQ';
  fourcc: 'IHNs' | 'IHNp';
  storage_fourcc: 'IxSQ' | 'IxPq';
  d: number;
  M: number;
  ntotal: number;
  metric_type: number;
  qtype: number | null;
  pq_M: number | null;
  pq_nbits: number | null;
  code_size: number;
  bytes: number;
  entry_point: number;
  max_level: number;
  level_histogram: number[];
  base: string;
  queries: string;
  recons: string;
  search: Array<{ efSearch: number; labels: string; distances: string }>;
}
const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-hnswq.json'), 'utf8')) as { k: number; nq: number; indexes: HnswqEntry[] };
const npy = <T>(file: string): T => decodeNpy(new Uint8Array(readFileSync(join(GOLDEN, file))), file).data as T;
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(GOLDEN, file)));

/**
 * Fraction of result slots that agree with Faiss's: the same label, or a different label at the same
 * distance (1e-5 relative: a tie, or two codes whose distances differ in the last bits, as simdex sums
 * an SQ distance as sum (T_j - A_j c_j)^2 where Faiss decodes first). Where labels agree, distances
 * agree within 1e-5 relative.
 */
function agreement(labels: BigInt64Array, distances: Float32Array, fl: BigInt64Array, fd: Float32Array, what: string): number {
  assert.equal(labels.length, fl.length, `${what}: result size`);
  let same = 0;
  for (let j = 0; j < fl.length; j++) {
    const close = Math.abs(distances[j]! - fd[j]!) <= 1e-5 * Math.max(1, Math.abs(fd[j]!));
    if (labels[j] === fl[j]) assert.ok(close, `${what}: slot ${j}: distance ${distances[j]} vs Faiss's ${fd[j]}`);
    if (labels[j] === fl[j] || close) same++;
  }
  return same / fl.length;
}

for (const e of manifest.indexes) {
  test(`Faiss 1.7.3 ${e.name} ("${e.fourcc}"): read, searched at efSearch 16 and 64 as Faiss, reconstructed, written back byte for byte`, () => {
    const index = readIndex(join(GOLDEN, e.file));
    assert.ok(index instanceof (e.type === 'IndexHNSWSQ' ? IndexHNSWSQ : IndexHNSWPQ), `${index.typeName}`);
    const h = index as IndexHNSW;
    assert.equal(h.typeName, e.type);
    assert.equal(h.ntotal, e.ntotal);
    assert.equal(h.metricType, e.metric_type);
    assert.equal(h.hnsw.M, e.M);
    assert.equal(h.codeSize, e.code_size);
    assert.equal(h.hnsw.entryPoint, e.entry_point);
    assert.equal(h.hnsw.maxLevel, e.max_level);
    if (index instanceof IndexHNSWSQ) assert.equal(index.sq.qtype, e.qtype);
    if (index instanceof IndexHNSWPQ) assert.deepEqual([index.pq.M, index.pq.nbits], [e.pq_M, e.pq_nbits]);
    const q = npy<Float32Array>(e.queries);
    for (const s of e.search) {
      const r = h.search(q, manifest.k, { efSearch: s.efSearch });
      const a = agreement(r.labels, r.distances, npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), `efSearch ${s.efSearch}`);
      assert.ok(a >= 0.99, `efSearch ${s.efSearch}: ${a} of Faiss's labels`);
    }
    assert.deepEqual(h.reconstructN(0, 20), npy<Float32Array>(e.recons), "reconstruct: Faiss's decoded vectors");
    const bytes = serializeIndex(h);
    assert.equal(bytes.length, e.bytes);
    assert.equal(faissFileSize(h), e.bytes);
    assert.deepEqual(bytes, goldenBytes(e.file), 'written back byte for byte');
    const desc = describeIndex(h);
    assert.equal(desc.fourcc, e.fourcc);
    assert.equal(desc.bytes, e.bytes);
    assert.equal(desc.hnsw?.M, e.M);
    assert.match(formatIndexDescription(desc), e.type === 'IndexHNSWSQ' ? /"IHNs".*qtype=QT_\dbit code_size=\d+.* M=8 / : /"IHNp".*pq=4x8 code_size=4.* M=8 /);
    h.dispose();
  });

  test(`Faiss 1.7.3 ${e.name}: simdex rebuilds Faiss's graph from the same data on one thread`, () => {
    const faissIndex = readIndex(join(GOLDEN, e.file)) as IndexHNSW;
    const x = npy<Float32Array>(e.base);
    const index = quiet(e.type === 'IndexHNSWSQ' ? new IndexHNSWSQ(e.d, e.qtype as QuantizerType, e.M, e.metric_type as MetricType) : new IndexHNSWPQ(e.d, e.pq_M!, e.M));
    withThreads(1, () => {
      index.train(x);
      index.add(x);
    });
    assert.deepEqual(index.hnsw.levels, faissIndex.hnsw.levels);
    assert.equal(index.hnsw.entryPoint, faissIndex.hnsw.entryPoint);
    assert.deepEqual(index.hnsw.codes(0, e.ntotal), faissIndex.hnsw.codes(0, e.ntotal), "codes: Faiss's training and encoding");
    const a = index.hnsw.neighbors;
    const b = faissIndex.hnsw.neighbors;
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    assert.ok(same / a.length >= 0.99, `${same} of ${a.length} neighbour slots equal Faiss's`);
    const q = npy<Float32Array>(e.queries);
    for (const s of e.search) {
      const r = index.search(q, manifest.k, { efSearch: s.efSearch });
      const ag = agreement(r.labels, r.distances, npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), `rebuilt, efSearch ${s.efSearch}`);
      assert.ok(ag >= 0.99, `rebuilt, efSearch ${s.efSearch}: ${ag} of Faiss's labels`);
    }
    index.dispose();
    faissIndex.dispose();
  });
}

/**
 * simdex's search against Faiss's on the same graph: the fraction of equal labels, with, rank by
 * rank, a distance never worse than Faiss's; equal labels have equal distances (1e-5 relative).
 * Faiss 1.7.3's beam search can stop early: its MinimaxHeap::push decrements the count of valid
 * candidates when it evicts one already expanded (fixed in Faiss by PR #2771, April 2023), so at a
 * small efSearch it misses a closer vector that simdex finds (IndexHNSWFlat does the same); the
 * reference search with that stop reproduced (hnswSearchReference's faiss173) gives Faiss's results.
 */
function notWorse(labels: BigInt64Array, distances: Float32Array, fl: BigInt64Array, fd: Float32Array, metric: MetricType, what: string): number {
  const same = agreement(labels, distances, fl, fd, what);
  for (let j = 0; j < fl.length; j++) {
    const slack = 1e-5 * Math.max(1, Math.abs(fd[j]!));
    const ok = metric === MetricType.L2 ? distances[j]! <= fd[j]! + slack : distances[j]! >= fd[j]! - slack;
    assert.ok(ok, `${what}: rank ${j % 10} of query ${Math.floor(j / 10)}: distance ${distances[j]} (label ${labels[j]}), Faiss's ${fd[j]} (label ${fl[j]})`);
  }
  return same;
}

test('truncated and hostile IHNs / IHNp files are a FormatError', () => {
  const d = 8;
  const x = randomVectors(60, d, 41);
  const sq = new IndexHNSWSQ(d, QuantizerType.QT_8bit, 4);
  sq.train(x);
  sq.add(x);
  const pq = quiet(new IndexHNSWPQ(d, 2, 4, 4));
  pq.train(x);
  pq.add(x);
  for (const [index, name] of [[sq, 'IHNs'], [pq, 'IHNp']] as const) {
    const bytes = serializeIndex(index);
    assert.equal(new DataView(bytes.buffer).getUint32(0, true), fourcc(name));
    for (let cut = 0; cut < bytes.length; cut++) formatError(() => deserializeIndex(bytes.subarray(0, cut)), `${name} cut at ${cut}`);
    // the storage of the other kind
    const storageAt = 4 + 33 + hnswBlockBytes(index);
    const other = bytes.slice();
    const v = new DataView(other.buffer);
    assert.equal(v.getUint32(storageAt, true), fourcc(index === sq ? 'IxSQ' : 'IxPq'), 'storage offset');
    v.setUint32(storageAt, fourcc(index === sq ? 'IxPq' : 'IxSQ'), true);
    formatError(() => deserializeIndex(other), `${name} with the other storage`);
    const flat = bytes.slice();
    new DataView(flat.buffer).setUint32(storageAt, fourcc('IxF2'), true);
    formatError(() => deserializeIndex(flat), `${name} with a flat storage`);
    // an IHNf whose storage is codes
    const asFlat = bytes.slice();
    new DataView(asFlat.buffer).setUint32(0, fourcc('IHNf'), true);
    const err = formatError(() => deserializeIndex(asFlat), `IHNf over ${name}'s storage`);
    assert.match(err.message, /IndexHNSWFlat storage is a Index(ScalarQuantizer|PQ), expected an IndexFlat/);
    // round trip
    const back = deserializeIndex(bytes) as IndexHNSW;
    assert.deepEqual(back.search(x.subarray(0, 5 * d), 3, { efSearch: 8 }), index.search(x.subarray(0, 5 * d), 3, { efSearch: 8 }));
    back.dispose();
  }
  sq.dispose();
  pq.dispose();
});

test('simdex-written IHNs / IHNp files (built on 2 threads) are read by Python Faiss 1.7.3 with the same graph and results', { skip: noFaiss }, () => {
  const d = 32;
  const ds = generateDataset({ n: 3000, nq: 50, d, seed: 91, difficulty: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'simdex-hnswq-'));
  try {
    const made: Array<[string, IndexHNSW]> = [
      ['sq8_l2', new IndexHNSWSQ(d, QuantizerType.QT_8bit, 16)],
      ['sq4_ip', new IndexHNSWSQ(d, QuantizerType.QT_4bit, 16, MetricType.INNER_PRODUCT)],
      ['fp16_l2', new IndexHNSWSQ(d, QuantizerType.QT_fp16, 16)],
      ['pq8_l2', quiet(new IndexHNSWPQ(d, 8, 16))],
      ['pq8x6_ip', quiet(new IndexHNSWPQ(d, 8, 16, 6, MetricType.INNER_PRODUCT))],
    ];
    for (const [name, index] of made) {
      withThreads(2, () => {
        index.train(ds.base);
        index.add(ds.base);
      });
      const file = join(dir, `${name}.index`);
      writeIndex(index, file);
      const out = runFaiss(
        [
          `index = faiss.read_index(${JSON.stringify(file)})`,
          "out['meta'] = np.array([index.ntotal, index.hnsw.entry_point, index.hnsw.max_level, index.metric_type], dtype='int32')",
          "out['neighbors'] = faiss.vector_to_array(index.hnsw.neighbors).astype('int32')",
          "out['recons'] = index.reconstruct_n(0, 10).astype('float32')",
          'res = []',
          'dis = []',
          'for ef in (16, 64):',
          '    index.hnsw.efSearch = ef',
          '    D, I = index.search(q, 10)',
          '    res.append(I)',
          '    dis.append(D)',
          "out['labels'] = np.stack(res).astype('int64')",
          "out['distances'] = np.stack(dis).astype('float32')",
        ].join('\n'),
        { q: { data: ds.queries, shape: [50, d] } },
      );
      assert.deepEqual(Array.from(out.meta as Int32Array), [3000, index.hnsw.entryPoint, index.hnsw.maxLevel, index.metricType], `${name}: header`);
      assert.deepEqual(out.neighbors, index.hnsw.neighbors, `${name}: Faiss reads the same graph`);
      assert.deepEqual(out.recons, index.reconstructN(0, 10), `${name}: Faiss decodes the same vectors`);
      const g = index.hnsw.graphArrays();
      [16, 64].forEach((efSearch, i) => {
        const r = index.search(ds.queries, 10, { efSearch });
        const fl = (out.labels as BigInt64Array).subarray(i * 500, (i + 1) * 500);
        const fd = (out.distances as Float32Array).subarray(i * 500, (i + 1) * 500);
        const a = notWorse(r.labels, r.distances, fl, fd, index.metricType, `${name} efSearch ${efSearch}`);
        assert.ok(a >= (efSearch === 16 ? 0.85 : 0.95), `${name} efSearch ${efSearch}: ${a} of Faiss's labels`);
        // with Faiss 1.7.3's early stop reproduced, the same results
        const as173 = { labels: new BigInt64Array(500), distances: new Float32Array(500) };
        for (let j = 0; j < 50; j++) {
          const ref = hnswSearchReference(g, ds.queries, j * d, 10, efSearch, true);
          as173.labels.set(ref.labels, j * 10);
          as173.distances.set(ref.distances, j * 10);
        }
        const b = agreement(as173.labels, as173.distances, fl, fd, `${name} efSearch ${efSearch}, Faiss 1.7.3's stop`);
        assert.ok(b >= 0.99, `${name} efSearch ${efSearch}: with Faiss 1.7.3's stop, ${b} of Faiss's labels`);
      });
      index.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- recall -----------------------------------------------------------------------------------

test('HNSW32_SQ8 recall@10 at efSearch 64: IndexHNSWFlat minus the quantization loss, and within 0.02 of Faiss 1.7.3 built on the same data', () => {
  const d = 32;
  const n = 8000;
  const nq = 200;
  const ds = generateDataset({ n, nq, d, seed: 77, difficulty: 2 });
  const exact = new IndexFlat(d);
  exact.add(ds.base);
  const truth = exact.search(ds.queries, 10).labels;
  const flat = new IndexHNSWFlat(d, 32);
  const sq = indexFactory(d, 'HNSW32_SQ8') as IndexHNSWSQ;
  const sqExact = new IndexScalarQuantizer(d, QuantizerType.QT_8bit);
  withThreads(2, () => {
    flat.add(ds.base);
    sq.train(ds.base);
    sq.add(ds.base);
  });
  sqExact.train(ds.base);
  sqExact.add(ds.base);
  const rFlat = recallAtK(flat.search(ds.queries, 10, { efSearch: 64 }).labels, truth, nq, 10);
  const rSq = recallAtK(sq.search(ds.queries, 10, { efSearch: 64 }).labels, truth, nq, 10);
  const loss = 1 - recallAtK(sqExact.search(ds.queries, 10).labels, truth, nq, 10);
  assert.ok(rSq >= rFlat - loss - 0.02, `HNSW32_SQ8 recall ${rSq}, IndexHNSWFlat ${rFlat}, quantization loss ${loss}`);
  assert.ok(rSq >= 0.85, `HNSW32_SQ8 recall ${rSq}`);
  if (faissAvailable()) {
    const out = runFaiss(
      [
        "index = faiss.index_factory(x.shape[1], 'HNSW32_SQ8')",
        'index.train(x)',
        'index.add(x)',
        'index.hnsw.efSearch = 64',
        "out['labels'] = index.search(q, 10)[1].astype('int64')",
      ].join('\n'),
      { x: { data: ds.base, shape: [n, d] }, q: { data: ds.queries, shape: [nq, d] } },
    );
    const rFaiss = recallAtK(out.labels as BigInt64Array, truth, nq, 10);
    assert.ok(Math.abs(rSq - rFaiss) <= 0.02, `HNSW32_SQ8 recall ${rSq} vs Faiss ${rFaiss}`);
  }
  for (const i of [flat, sq, sqExact, exact]) i.dispose();
});

test('HNSW16_PQ8 recall@10: the exhaustive PQ recall minus 0.03, and within 0.02 of Faiss 1.7.3 on the same data', () => {
  const d = 32;
  const n = 5000;
  const nq = 100;
  const ds = generateDataset({ n, nq, d, seed: 78, difficulty: 2 });
  const exact = new IndexFlat(d);
  exact.add(ds.base);
  const truth = exact.search(ds.queries, 10).labels;
  const index = quiet(new IndexHNSWPQ(d, 8, 16));
  withThreads(2, () => {
    index.train(ds.base);
    index.add(ds.base);
  });
  const r = recallAtK(index.search(ds.queries, 10, { efSearch: 64 }).labels, truth, nq, 10);
  // the exhaustive search over the same codes (asymmetric distances): what the graph can reach
  const all = new IndexPQ(d, 8);
  all.pq.centroids = index.pq.centroids;
  all.isTrained = true;
  all.add(ds.base);
  const rPq = recallAtK(all.search(ds.queries, 10).labels, truth, nq, 10);
  all.dispose();
  assert.ok(r >= rPq - 0.03, `HNSW16_PQ8 recall ${r}, exhaustive PQ ${rPq}`);
  if (faissAvailable()) {
    const out = runFaiss(
      ['index = faiss.IndexHNSWPQ(x.shape[1], 8, 16)', 'index.train(x)', 'index.add(x)', 'index.hnsw.efSearch = 64', "out['labels'] = index.search(q, 10)[1].astype('int64')"].join('\n'),
      { x: { data: ds.base, shape: [n, d] }, q: { data: ds.queries, shape: [nq, d] } },
    );
    const rFaiss = recallAtK(out.labels as BigInt64Array, truth, nq, 10);
    assert.ok(Math.abs(r - rFaiss) <= 0.02, `HNSW16_PQ8 recall ${r} vs Faiss ${rFaiss}`);
  }
  index.dispose();
  exact.dispose();
});

test('a build on 2 threads gives a graph of the quality of the one-thread build; batches equal one query at a time', () => {
  const d = 24;
  const ds = generateDataset({ n: 4000, nq: 100, d, seed: 79, difficulty: 2 });
  const exact = new IndexFlat(d);
  exact.add(ds.base);
  const truth = exact.search(ds.queries, 10).labels;
  for (const make of [() => new IndexHNSWSQ(d, QuantizerType.QT_6bit, 16), () => quiet(new IndexHNSWPQ(d, 6, 16))]) {
    const one = make();
    const two = make();
    withThreads(1, () => {
      one.train(ds.base);
      one.add(ds.base);
    });
    withThreads(2, () => {
      two.train(ds.base);
      two.add(ds.base);
    });
    assert.deepEqual(two.hnsw.levels, one.hnsw.levels);
    const r1 = recallAtK(one.search(ds.queries, 10, { efSearch: 48 }).labels, truth, 100, 10);
    const r2 = recallAtK(two.search(ds.queries, 10, { efSearch: 48 }).labels, truth, 100, 10);
    assert.ok(r2 >= r1 - 0.02, `${one.typeName}: recall ${r2} (2 threads) vs ${r1} (1 thread)`);
    const batch = withThreads(2, () => two.search(ds.queries, 10, { efSearch: 48 }));
    for (const i of [0, 42, 99]) {
      const s = two.search(ds.queries.subarray(i * d, (i + 1) * d), 10, { efSearch: 48 });
      assert.deepEqual(s.labels, batch.labels.subarray(i * 10, (i + 1) * 10));
      assert.deepEqual(s.distances, batch.distances.subarray(i * 10, (i + 1) * 10));
    }
    one.dispose();
    two.dispose();
  }
  exact.dispose();
});

// ---- the index classes --------------------------------------------------------------------------

test('IndexHNSWSQ / IndexHNSWPQ: training, reconstruct, reset, incremental add, huge k, removeIds and bad input', () => {
  const d = 16;
  const x = randomVectors(1500, d, 61);
  const sq = new IndexHNSWSQ(d, QuantizerType.QT_8bit, 8);
  assert.equal(sq.isTrained, false);
  assert.throws(() => sq.add(x), (e: unknown) => e instanceof NotTrainedError && /IndexHNSWSQ \(QT_8bit\)/.test(e.message));
  assert.throws(() => sq.search(x.subarray(0, d), 1), NotTrainedError);
  assert.equal(new IndexHNSWSQ(d, QuantizerType.QT_fp16).isTrained, true, 'fp16 needs no training');
  sq.train(x);
  sq.add(x.subarray(0, 1000 * d));
  sq.add(x.subarray(1000 * d)); // grows the memory
  assert.equal(sq.ntotal, 1500);
  assert.equal(sq.codeSize, 16);
  assert.deepEqual(sq.reconstruct(1234), sq.sq.decode(sq.sq.computeCodes(x.subarray(1234 * d, 1235 * d))));
  assert.deepEqual(sq.reconstructN(10, 3), sq.sq.decode(sq.sq.computeCodes(x.subarray(10 * d, 13 * d))));
  assert.throws(() => sq.reconstruct(1500), InvalidArgumentError);
  assert.equal(sq.search(x.subarray(5 * d, 6 * d), 1, { efSearch: 32 }).labels[0], 5n);
  // k beyond a scratch slot: the TypeScript search, over the same codes
  const big = sq.search(x.subarray(0, d), 150000);
  // every node the graph reaches (a parallel build may leave one or two unreachable, in Faiss too),
  // each once, then -1 padding
  const found = big.labels.filter((l) => l >= 0n);
  assert.ok(found.length >= 1490 && found.length <= 1500, `found ${found.length} of 1500`);
  assert.equal(new Set(found).size, found.length);
  assert.ok(big.labels.subarray(found.length).every((l) => l === -1n));
  const wasm = sq.search(x.subarray(0, d), 1500, { efSearch: 3000 });
  assert.deepEqual(big.labels.subarray(0, 1500), wasm.labels);
  assert.deepEqual(big.distances.subarray(0, 1500), wasm.distances);
  assert.throws(() => sq.removeIds(new IDSelectorRange(0n, 2n)), (e: unknown) => e instanceof NotSupportedError && /does not support removal.*IndexIDMap2.*rebuild/.test(e.message));
  assert.throws(() => sq.add(new Float32Array(d + 1)), InvalidArgumentError);
  assert.throws(() => sq.search(x.subarray(0, d), 1, { efSearch: 0 }), (e: unknown) => e instanceof InvalidArgumentError && /`efSearch`/.test(e.message));
  sq.reset();
  assert.equal(sq.ntotal, 0);
  assert.equal(sq.isTrained, true, 'reset keeps the training');
  assert.deepEqual(Array.from(sq.search(x.subarray(0, d), 2).labels), [-1n, -1n]);
  sq.add(x.subarray(0, 100 * d));
  assert.equal(sq.search(x.subarray(7 * d, 8 * d), 1).labels[0], 7n);
  sq.dispose();

  const pq = quiet(new IndexHNSWPQ(d, 4, 8));
  assert.throws(() => pq.add(x), NotTrainedError);
  assert.throws(() => new IndexHNSWPQ(d, 5), InvalidArgumentError, 'pqM must divide d');
  pq.train(x);
  pq.add(x);
  assert.equal(pq.codeSize, 4);
  assert.deepEqual(pq.reconstructN(3, 2), pq.pq.decode(pq.pq.computeCodes(x.subarray(3 * d, 5 * d))));
  // new centroids are picked up at the next search (tables and SDC table refreshed)
  const before = pq.search(x.subarray(0, 4 * d), 5, { efSearch: 16 });
  const c = pq.pq.centroids.slice();
  for (let i = 0; i < c.length; i++) c[i] = c[i]! * 2;
  pq.pq.centroids = c;
  const after = pq.search(x.subarray(0, 4 * d), 5, { efSearch: 16 });
  assert.notDeepEqual(after.distances, before.distances);
  pq.dispose();
});

test('index_factory: HNSW{M}_SQ{4,6,8,fp16}, HNSW{M}_PQ{m}[x{nbits}][np], and reverse_index_factory', () => {
  const sq = indexFactory(32, 'HNSW32_SQ8');
  assert.ok(sq instanceof IndexHNSWSQ);
  assert.deepEqual([sq.hnsw.M, sq.sq.qtype, sq.metricType], [32, QuantizerType.QT_8bit, MetricType.L2]);
  const sq4 = indexFactory(32, 'HNSW16,SQ4', MetricType.INNER_PRODUCT) as IndexHNSWSQ;
  assert.deepEqual([sq4.hnsw.M, sq4.sq.qtype, sq4.metricType], [16, QuantizerType.QT_4bit, MetricType.INNER_PRODUCT]);
  const fp16 = indexFactory(32, 'HNSW_SQfp16') as IndexHNSWSQ;
  assert.deepEqual([fp16.hnsw.M, fp16.sq.qtype], [32, QuantizerType.QT_fp16]);
  assert.equal((indexFactory(32, 'HNSW8_SQ6') as IndexHNSWSQ).sq.qtype, QuantizerType.QT_6bit);
  const pq = indexFactory(32, 'HNSW32_PQ16');
  assert.ok(pq instanceof IndexHNSWPQ);
  assert.deepEqual([pq.hnsw.M, pq.pq.M, pq.pq.nbits, pq.metricType], [32, 16, 8, MetricType.L2]);
  // as in Faiss, the PQ variant is L2 whatever the metric asked
  assert.equal(indexFactory(32, 'HNSW32_PQ16', MetricType.INNER_PRODUCT).metricType, MetricType.L2);
  const pq6 = indexFactory(32, 'HNSW12,PQ8x6np') as IndexHNSWPQ;
  assert.deepEqual([pq6.hnsw.M, pq6.pq.M, pq6.pq.nbits], [12, 8, 6]);
  assert.throws(() => indexFactory(32, 'HNSW32_SQbf16'), (e: unknown) => e instanceof FactoryParseError && /not implemented yet/.test(e.message));
  assert.throws(() => indexFactory(32, 'HNSW32_PQ5'), InvalidArgumentError, 'pqM must divide d');
  for (const desc of ['HNSW32_SQ8', 'HNSW16_SQ4', 'HNSW32_SQfp16', 'HNSW8_SQ6', 'HNSW32_PQ16', 'HNSW12_PQ8x6', 'IDMap2,HNSW32_SQ8']) {
    const index = indexFactory(32, desc);
    assert.equal(reverseIndexFactory(index), desc);
    index.dispose();
  }
  for (const i of [sq, sq4, fp16, pq, pq6]) i.dispose();
});

test('IndexHNSW is the base of the three HNSW indexes; describeIndex and file sizes', () => {
  const d = 8;
  const x = randomVectors(100, d, 71);
  const flat = new IndexHNSWFlat(d, 4);
  const sq = new IndexHNSWSQ(d, QuantizerType.QT_4bit, 4);
  const pq = quiet(new IndexHNSWPQ(d, 2, 4, 4));
  for (const index of [flat, sq, pq]) {
    assert.ok(index instanceof IndexHNSW);
    if (!index.isTrained) index.train(x);
    index.add(x);
    assert.equal(serializeIndex(index).length, faissFileSize(index));
    const desc = describeIndex(index);
    assert.equal(desc.bytes, faissFileSize(index));
    assert.equal(desc.hnsw?.M, 4);
  }
  assert.match(formatIndexDescription(describeIndex(sq)), /IndexHNSWSQ "IHNs" d=8 ntotal=100 metric=L2 bytes=\d+ qtype=QT_4bit code_size=4 M=4 /);
  assert.match(formatIndexDescription(describeIndex(pq)), /IndexHNSWPQ "IHNp" d=8 ntotal=100 metric=L2 bytes=\d+ pq=2x4 code_size=1 M=4 /);
  for (const index of [flat, sq, pq]) index.dispose();
});

runIndexConformance('IndexHNSWSQ (SQ8, M 16, efSearch 64)', {
  make: (d, metric) => {
    const index = new IndexHNSWSQ(d, QuantizerType.QT_8bit, 16, metric);
    index.hnsw.efSearch = 64;
    return index;
  },
  minRecall: 0.85,
});

// PQ12 on d = 24 loses about 0.1 of recall@10 to quantization (an exhaustive IndexPQ search gets
// 0.90 / 0.94); with the inner product this holds because the heuristic compares codes by their inner
// products (Faiss's L2 SDC table there gives 0.35: see IndexHNSWPQ)
runIndexConformance('IndexHNSWPQ (PQ12, M 16, efSearch 64)', {
  make: (d, metric) => {
    const index = quiet(new IndexHNSWPQ(d, 12, 16, 8, metric));
    index.hnsw.efSearch = 64;
    return index;
  },
  minRecall: 0.85,
});
