// HNSW: the WebAssembly search and insertion against the TypeScript reference, Faiss's levels and
// insertion order, IndexHNSWFlat through the conformance suite, recall on clustered data, threads,
// bad input, and recall beside Python Faiss 1.7.3 on the same data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HNSW, IndexHNSWFlat, IndexHNSWSQ, IndexFlat, MetricType, QuantizerType, InvalidArgumentError, NotSupportedError, IDSelectorRange, setNumThreads, getNumThreads, FLT_MAX,
} from '../src/simdex.js';
import { insertionOrder } from '../src/indexes/hnsw/HNSW.js';
import { HNSWVectorSegments, VECTOR_AREAS, loaderFor } from '../src/storage/HNSWVectorSegments.js';
import { deserializeIndex, serializeIndex } from '../src/io/faiss/index.js';
import { hnswAddReference, hnswSearchReference, l2sqrWasmOrder, innerProductWasmOrder, type HNSWGraphArrays } from '../src/kernels/referenceHNSW.js';
import { generateDataset } from '../src/bench/dataset.js';
import { Arena } from './helpers/arena.js';
import { recallAtK, runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { randomVectors } from './helpers/rng.js';

const METRICS = [MetricType.L2, MetricType.INNER_PRODUCT] as const;
const mname = (m: MetricType): string => (m === MetricType.L2 ? 'L2' : 'IP');

function withThreads<T>(n: number, f: () => T): T {
  const saved = getNumThreads();
  setNumThreads(n);
  try {
    return f();
  } finally {
    setNumThreads(saved);
  }
}

test('reference distances follow the WASM kernels bit for bit', () => {
  const ar = new Arena(1 << 20);
  for (const d of [1, 3, 4, 13, 16, 17, 31, 32, 100]) {
    const a = randomVectors(1, d, d);
    const b = randomVectors(1, d, d + 1000);
    const pa = ar.putF32(a);
    const pb = ar.putF32(b);
    assert.equal(ar.k.fvec_L2sqr(pa, pb, d), l2sqrWasmOrder(a, 0, b, 0, d), `L2 d=${d}`);
    assert.equal(ar.k.fvec_inner_product(pa, pb, d), innerProductWasmOrder(a, 0, b, 0, d), `IP d=${d}`);
  }
});

test('HNSW levels: Faiss assign_probas and cum_nneighbor_per_level; level counts follow n * assign_probas', () => {
  const h = new HNSW(8, 32);
  assert.deepEqual(h.cumNneighborPerLevel, [0, 64, 96, 128, 160, 192, 224]);
  // Python Faiss 1.7.3 IndexHNSWFlat(d, 32).hnsw.assign_probas
  assert.deepEqual(h.assignProbas, [0.96875, 0.030273444950580597, 0.0009460453293286264, 2.9563916541519575e-5, 9.238728466698376e-7, 2.88710388929303e-8]);
  const h4 = new HNSW(8, 4);
  const n = 50000;
  const counts = new Array<number>(h4.assignProbas.length).fill(0);
  for (let i = 0; i < n; i++) counts[h4.randomLevel()]!++;
  for (let l = 0; l < counts.length; l++) {
    const expected = n * h4.assignProbas[l]!;
    assert.ok(Math.abs(counts[l]! - expected) <= 5 * Math.sqrt(expected) + 2, `level ${l}: ${counts[l]} nodes, expected about ${expected.toFixed(1)}`);
  }
});

test('insertion order: by decreasing level, each level a permutation of its nodes', () => {
  const levels = Int32Array.from({ length: 300 }, (_, i) => (i % 37 === 0 ? 3 : i % 7 === 0 ? 2 : 1));
  const order = insertionOrder(levels, 1000);
  assert.deepEqual(Array.from(order).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => 1000 + i));
  for (let i = 1; i < order.length; i++) assert.ok(levels[order[i - 1]! - 1000]! >= levels[order[i]! - 1000]!);
  assert.notDeepEqual(Array.from(order.subarray(order.length - 10)), Array.from(order.subarray(order.length - 10)).sort((a, b) => a - b));
});

/** A graph built by the reference over the same levels and insertion order as `h`'s batches. */
function referenceGraph(h: HNSW, x: Float32Array, batches: number[]): HNSWGraphArrays {
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
  };
  let n0 = 0;
  for (const nb of batches) {
    hnswAddReference(g, insertionOrder(levels.subarray(n0, n0 + nb), n0), h.efConstruction);
    n0 += nb;
  }
  return g;
}

/** Vectors on the integer grid {-2..2}^d: many exactly equal distances, so ties decide the order. */
function gridVectors(n: number, d: number, seed: number): Float32Array {
  const x = randomVectors(n, d, seed);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 2);
  return x;
}

for (const [metric, data] of [
  [MetricType.L2, 'random'], [MetricType.INNER_PRODUCT, 'random'], [MetricType.L2, 'grid'], [MetricType.INNER_PRODUCT, 'grid'],
] as const) {
  test(`HNSW ${mname(metric)}, ${data} data: one-thread build and search equal the TypeScript reference exactly`, () => {
    const d = data === 'grid' ? 4 : 13;
    const n = 700;
    const gen = data === 'grid' ? gridVectors : randomVectors;
    const x = gen(n, d, 31 + metric);
    const q = gen(40, d, 32 + metric);
    withThreads(1, () => {
      const h = new HNSW(d, 4, metric);
      h.efConstruction = 20;
      const batches = [1, 299, 400]; // the first node alone, then two batches
      let o = 0;
      for (const nb of batches) {
        const part = x.subarray(o * d, (o + nb) * d);
        h.add(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
        o += nb;
      }
      assert.ok(h.maxLevel >= 2, `a graph with several levels (max level ${h.maxLevel})`);
      const g = referenceGraph(h, x, batches);
      assert.equal(h.entryPoint, g.entryPoint);
      assert.equal(h.maxLevel, g.maxLevel);
      assert.deepEqual(h.neighbors, g.neighbors);
      for (const [k, ef] of [[1, 1], [5, 16], [10, 10], [10, 40], [30, 8]] as const) {
        const r = h.search(q, k, ef);
        for (let i = 0; i < 40; i++) {
          const ref = hnswSearchReference(g, q, i * d, k, Math.max(ef, k));
          assert.deepEqual(r.labels.subarray(i * k, (i + 1) * k), ref.labels, `k=${k} ef=${ef} query ${i}: labels`);
          assert.deepEqual(r.distances.subarray(i * k, (i + 1) * k), ref.distances, `k=${k} ef=${ef} query ${i}: distances`);
        }
      }
    });
  });
}

runIndexConformance('IndexHNSWFlat (M 16, efSearch 64)', {
  make: (d, metric) => {
    const index = new IndexHNSWFlat(d, 16, metric);
    index.hnsw.efSearch = 64;
    return index;
  },
  minRecall: 0.95,
});

// one clustered dataset shared by the recall, thread and Faiss tests
const D = 32;
const N = 10000;
const NQ = 200;
let shared: { ds: ReturnType<typeof generateDataset>; index: IndexHNSWFlat; truth: BigInt64Array } | undefined;
function clustered(): NonNullable<typeof shared> {
  if (shared) return shared;
  const ds = generateDataset({ n: N, nq: NQ, d: D, seed: 77, difficulty: 2 });
  const flat = new IndexFlat(D);
  flat.add(ds.base);
  const truth = flat.search(ds.queries, 10).labels;
  const index = new IndexHNSWFlat(D, 32);
  withThreads(1, () => index.add(ds.base));
  shared = { ds, index, truth };
  return shared;
}

test('IndexHNSWFlat: recall@10 on clustered data >= 0.9 at efSearch 64 and growing with efSearch', () => {
  const { ds, index, truth } = clustered();
  const recalls = [8, 16, 32, 64, 128].map((efSearch) => recallAtK(index.search(ds.queries, 10, { efSearch }).labels, truth, NQ, 10));
  for (let i = 1; i < recalls.length; i++) assert.ok(recalls[i]! >= recalls[i - 1]! - 0.002, `recall ${recalls.join(', ')} not increasing`);
  assert.ok(recalls[3]! >= 0.9, `recall@10 at efSearch 64: ${recalls[3]}`);
  assert.ok(recalls[0]! < recalls[4]!, `recall ${recalls.join(', ')}`);
  // the default efSearch (16) is what a search without parameters uses
  assert.deepEqual(index.search(ds.queries, 10).labels, index.search(ds.queries, 10, { efSearch: 16 }).labels);
});

test('IndexHNSWFlat: batches give the same results on 1 and 2 threads as one query at a time', () => {
  const { ds, index } = clustered();
  const one = withThreads(1, () => index.search(ds.queries, 10, { efSearch: 32 }));
  const two = withThreads(2, () => index.search(ds.queries, 10, { efSearch: 32 }));
  assert.deepEqual(two.labels, one.labels);
  assert.deepEqual(two.distances, one.distances);
  for (const i of [0, 17, 199]) {
    const r = index.search(ds.queries.subarray(i * D, (i + 1) * D), 10, { efSearch: 32 });
    assert.deepEqual(r.labels, one.labels.subarray(i * 10, (i + 1) * 10));
  }
});

test('IndexHNSWFlat: a build on 2 threads (per-node locks) gives a sound graph of the same quality', () => {
  const { ds, index, truth } = clustered();
  const par = new IndexHNSWFlat(D, 32);
  withThreads(2, () => par.add(ds.base));
  const h = par.hnsw;
  assert.deepEqual(h.levels, index.hnsw.levels, 'levels do not depend on threads');
  const levels = h.levels;
  const offsets = h.offsets;
  const neighbors = h.neighbors;
  let edges = 0;
  for (let i = 0; i < N; i++) {
    for (let l = 0; l < levels[i]!; l++) {
      const b = offsets[i]! + h.cumNneighborPerLevel[l]!;
      const e = offsets[i]! + h.cumNneighborPerLevel[l + 1]!;
      let ended = false;
      for (let j = b; j < e; j++) {
        const v = neighbors[j]!;
        if (v === -1) {
          ended = true;
          continue;
        }
        assert.ok(!ended, `node ${i} level ${l}: a neighbour after the padding`);
        assert.ok(v >= 0 && v < N && v !== i, `node ${i} level ${l}: neighbour ${v}`);
        assert.ok(levels[v]! > l, `node ${i} level ${l}: neighbour ${v} does not live on that level`);
        edges++;
      }
    }
  }
  assert.ok(edges > N * 10, `${edges} edges`);
  const rp = recallAtK(par.search(ds.queries, 10, { efSearch: 64 }).labels, truth, NQ, 10);
  const rs = recallAtK(index.search(ds.queries, 10, { efSearch: 64 }).labels, truth, NQ, 10);
  assert.ok(rp >= rs - 0.02, `recall ${rp} (2 threads) vs ${rs} (1 thread)`);
  par.dispose();
});

test('IndexHNSWFlat: efSearch < k is raised to k; huge k takes the TypeScript path', () => {
  const d = 8;
  const x = randomVectors(300, d, 5);
  const index = new IndexHNSWFlat(d, 8);
  index.add(x);
  const r = index.search(x.subarray(0, d), 50, { efSearch: 1 });
  assert.equal(r.labels.filter((l) => l >= 0n).length, 50);
  assert.equal(r.labels[0], 0n);
  const big = index.search(x.subarray(0, d), 100000);
  assert.equal(big.labels.filter((l) => l >= 0n).length, 300);
  assert.equal(big.labels[300], -1n);
  assert.equal(big.distances[99999], Math.fround(FLT_MAX));
  assert.equal(new Set(Array.from(big.labels.subarray(0, 300))).size, 300);
});

test('IndexHNSWFlat: reconstruct, reconstructN, reset, incremental add, Faiss arrays round trip', () => {
  const d = 12;
  const x = randomVectors(2500, d, 8);
  const q = randomVectors(20, d, 9);
  const index = new IndexHNSWFlat(d, 8, MetricType.INNER_PRODUCT);
  index.add(x.subarray(0, 1000 * d));
  index.add(x.subarray(1000 * d)); // grows the memory
  assert.equal(index.ntotal, 2500);
  assert.deepEqual(index.reconstruct(1234), x.slice(1234 * d, 1235 * d));
  assert.deepEqual(index.reconstructN(998, 5), x.slice(998 * d, 1003 * d));
  assert.throws(() => index.reconstruct(2500), InvalidArgumentError);
  const before = index.search(q, 5, { efSearch: 32 });
  // the graph in Faiss's layout, loaded into another graph, searches the same
  const h = index.hnsw;
  const copy = new IndexHNSWFlat(d, 8, MetricType.INNER_PRODUCT);
  const codes = new Uint8Array(x.buffer.slice(0));
  copy.hnsw.setGraph({
    levels: h.levels, offsets: h.offsets, neighbors: h.neighbors, cumNneighborPerLevel: h.cumNneighborPerLevel,
    assignProbas: h.assignProbas, entryPoint: h.entryPoint, maxLevel: h.maxLevel, codes,
  });
  copy.ntotal = copy.hnsw.ntotal;
  assert.deepEqual(copy.search(q, 5, { efSearch: 32 }), before);
  assert.throws(() => copy.hnsw.setGraph({ levels: h.levels, neighbors: h.neighbors.subarray(1), entryPoint: h.entryPoint, maxLevel: h.maxLevel, codes }), InvalidArgumentError);
  index.reset();
  assert.equal(index.ntotal, 0);
  assert.deepEqual(Array.from(index.search(q.subarray(0, d), 3).labels), [-1n, -1n, -1n]);
  index.add(x.subarray(0, 100 * d));
  assert.equal(index.search(x.subarray(5 * d, 6 * d), 1).labels[0], 5n);
  index.dispose();
  copy.dispose();
});

// Vectors in several memories: what lets an IndexHNSWFlat pass one 4 GiB WebAssembly memory
// (766k vectors at d = 1280). Small segments exercise the same path on small data.
for (const metric of METRICS) {
  test(`IndexHNSWFlat ${mname(metric)}: vectors in segments of 700 (several memories) give the same graph, searches and file as one memory`, () => {
    const d = 12;
    const x = randomVectors(2500, d, 40 + metric);
    const q = randomVectors(30, d, 41 + metric);
    withThreads(1, () => {
      const one = new IndexHNSWFlat(d, 8, metric);
      const split = new IndexHNSWFlat(d, 8, metric);
      split.hnsw.storeVectorsInSegments(700);
      for (const index of [one, split]) {
        index.add(x.subarray(0, 1000 * d));
        index.add(x.subarray(1000 * d)); // grows the graph's memory and the vector segments
      }
      assert.equal(one.hnsw.vectorsInSegments, false);
      assert.equal(split.hnsw.vectorsInSegments, true);
      assert.equal(split.hnsw.vectorMemories.length, 4, 'ceil(2500 / 700) vector segments');
      assert.deepEqual(split.hnsw.neighbors, one.hnsw.neighbors);
      for (const ef of [8, 40]) {
        const a = one.search(q, 10, { efSearch: ef });
        assert.deepEqual(split.search(q, 10, { efSearch: ef }), a, `efSearch ${ef}`);
        assert.deepEqual(withThreads(2, () => split.search(q, 10, { efSearch: ef })), a, `efSearch ${ef}, 2 threads`);
      }
      // across a segment boundary (699 | 700)
      assert.deepEqual(split.reconstructN(695, 10), x.slice(695 * d, 705 * d));
      assert.deepEqual(serializeIndex(split), serializeIndex(one));
      // a populated index moves its vectors out and searches the same
      const moved = deserializeIndex(serializeIndex(one)) as IndexHNSWFlat;
      moved.hnsw.storeVectorsInSegments(1000);
      assert.equal(moved.hnsw.vectorMemories.length, 3);
      assert.deepEqual(moved.search(q, 10, { efSearch: 16 }), one.search(q, 10, { efSearch: 16 }));
      moved.add(x.subarray(0, 10 * d));
      assert.deepEqual(moved.reconstruct(2505), x.slice(5 * d, 6 * d));
      // reset keeps the segments' size
      split.reset();
      assert.equal(split.hnsw.vectorsInSegments, true);
      split.add(x.subarray(0, 1500 * d));
      assert.equal(split.hnsw.vectorMemories.length, 3);
      const exact = new IndexFlat(d, metric);
      exact.add(x.subarray(0, 1500 * d));
      assert.ok(recallAtK(split.search(q, 1, { efSearch: 64 }).labels, exact.search(q, 1).labels, 30, 1) >= 0.9);
      for (const index of [one, split, moved]) index.dispose();
    });
  });
}

test('IndexHNSWFlat: a 2-thread build over vector segments is as good as one in one memory', () => {
  const { ds, truth } = clustered();
  const split = new IndexHNSWFlat(D, 32);
  split.hnsw.storeVectorsInSegments(3000);
  withThreads(2, () => split.add(ds.base));
  assert.equal(split.hnsw.vectorMemories.length, 4);
  const one = clustered().index;
  const rs = recallAtK(split.search(ds.queries, 10, { efSearch: 64 }).labels, truth, NQ, 10);
  const r1 = recallAtK(one.search(ds.queries, 10, { efSearch: 64 }).labels, truth, NQ, 10);
  assert.ok(rs >= r1 - 0.02 && rs >= 0.9, `recall ${rs} (segments, 2 threads) vs ${r1} (one memory, 1 thread)`);
  split.dispose();
});

test('HNSW vector segments: a stored vector past 2 GiB into its segment is the one hnsw_load_vector copies', () => {
  // 16 floats a vector: node 33,600,000 sits 2.15 GB into segment 0 (pages are only reserved, not
  // touched, except the one written); its byte offset is no int32
  const d = 16;
  const vs = new HNSWVectorSegments(d);
  const { vbase, areaBytes, perSegment } = vs.layout;
  const node = 33_600_000;
  assert.ok(node < perSegment && vbase + node * d * 4 > 2 ** 31);
  vs.ensure(node + 1);
  const v = Float32Array.from({ length: d }, (_, i) => 1 + i / 4);
  vs.write(node, v);
  vs.write(0, new Float32Array(d).fill(-5)); // what a wrong offset counted from the start would read
  assert.deepEqual(vs.read(node, 1), v);
  const load = loaderFor(vs.memories, vs.layout);
  for (const [slot, area] of [[0, 0], [3, 2]] as const) {
    load(node, area, slot);
    const at = (slot * VECTOR_AREAS + area) * areaBytes;
    assert.deepEqual(new Float32Array(vs.memories[0]!.buffer, at, d), v, `slot ${slot} area ${area}`);
  }
});

test('HNSW vector segments: bad sizes and SQ / PQ storage are refused', () => {
  const index = new IndexHNSWFlat(8, 4);
  assert.throws(() => index.hnsw.storeVectorsInSegments(0), InvalidArgumentError);
  assert.throws(() => index.hnsw.storeVectorsInSegments(2.5), InvalidArgumentError);
  const sq = new IndexHNSWSQ(8, QuantizerType.QT_8bit, 4);
  assert.throws(() => sq.hnsw.storeVectorsInSegments(100), /only float vectors/);
});

test('IndexHNSWFlat: bad parameters and removeIds get typed errors', () => {
  assert.throws(() => new IndexHNSWFlat(8, 1), (e: unknown) => e instanceof InvalidArgumentError && /`M`/.test(e.message));
  assert.throws(() => new IndexHNSWFlat(8, 2.5), InvalidArgumentError);
  const index = new IndexHNSWFlat(8, 4);
  assert.throws(() => (index.hnsw.efSearch = 0), (e: unknown) => e instanceof InvalidArgumentError && /`efSearch`/.test(e.message));
  assert.throws(() => (index.hnsw.efConstruction = -3), (e: unknown) => e instanceof InvalidArgumentError && /`efConstruction`/.test(e.message));
  assert.throws(() => (index.hnsw.efSearch = 1.5), InvalidArgumentError);
  index.add(randomVectors(10, 8, 1));
  assert.throws(() => index.search(new Float32Array(8), 1, { efSearch: 0 }), (e: unknown) => e instanceof InvalidArgumentError && /`efSearch`/.test(e.message));
  assert.throws(() => index.removeIds(new IDSelectorRange(0n, 2n)), (e: unknown) => e instanceof NotSupportedError && /does not support removal.*IndexIDMap2.*rebuild/.test(e.message));
  index.hnsw.efConstruction = 1e6;
  assert.throws(() => index.add(randomVectors(1, 8, 2)), (e: unknown) => e instanceof InvalidArgumentError && /`efConstruction`/.test(e.message));
  // float vectors go to segments past one memory: the graph's memory bounds the nodes (~10M at M = 32);
  // a graph over SQ codes keeps them in its memory (d = 128 bytes a node: a few million)
  const mv = new HNSW(128, 32).maxVectors;
  assert.ok(mv > 1e7 && mv < 1.1e7, `maxVectors ${mv}`);
  const mq = new IndexHNSWSQ(128, QuantizerType.QT_8bit, 32).hnsw.maxVectors;
  assert.ok(mq > 7e6 && mq < 8e6, `maxVectors over SQ8 codes ${mq}`);
});

test('HNSW levels equal Python Faiss 1.7.3, and recall is within 0.03 of IndexHNSWFlat(d, 32)', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const { ds, index, truth } = clustered();
  const efs = [16, 64];
  const out = runFaiss(
    [
      'index = faiss.IndexHNSWFlat(x.shape[1], 32)',
      'index.add(x)',
      "out['levels'] = faiss.vector_to_array(index.hnsw.levels).astype('int32')",
      `out['ep'] = np.array([index.hnsw.entry_point, index.hnsw.max_level], dtype='int32')`,
      'res = []',
      `for ef in ${JSON.stringify(efs)}:`,
      '    index.hnsw.efSearch = ef',
      '    res.append(index.search(q, 10)[1])',
      "out['labels'] = np.stack(res).astype('int64')",
    ].join('\n'),
    { x: { data: ds.base, shape: [N, D] }, q: { data: ds.queries, shape: [NQ, D] } },
  );
  assert.deepEqual(index.hnsw.levels, out.levels);
  assert.deepEqual([index.hnsw.entryPoint, index.hnsw.maxLevel], Array.from(out.ep as Int32Array));
  const faissLabels = out.labels as BigInt64Array;
  efs.forEach((efSearch, i) => {
    const ours = recallAtK(index.search(ds.queries, 10, { efSearch }).labels, truth, NQ, 10);
    const theirs = recallAtK(faissLabels.subarray(i * NQ * 10, (i + 1) * NQ * 10), truth, NQ, 10);
    assert.ok(Math.abs(ours - theirs) <= 0.03, `efSearch ${efSearch}: recall ${ours} vs Faiss ${theirs}`);
  });
});
