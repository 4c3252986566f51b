import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IndexFlat, IndexFlatL2, IndexFlatIP, IndexIDMap, IndexIDMap2, MetricType, IDSelectorRange, setNumThreads, getNumThreads,
  InvalidArgumentError, NotSupportedError, FLT_MAX,
} from '../src/simdex.js';
import { knnExact, fvecL2sqr, fvecInnerProduct } from '../src/kernels/reference.js';
import { runIndexConformance } from './helpers/conformance.js';
import { randomVectors } from './helpers/rng.js';

runIndexConformance('IndexFlat', { make: (d, m) => new IndexFlat(d, m), minRecall: 1 });
runIndexConformance('IndexFlat (many segments)', { make: (d, m) => new IndexFlat(d, m, { maxSegmentBytes: 24 * 4 * 300 }), minRecall: 1 });
runIndexConformance('IndexIDMap(IndexFlat)', { make: (d, m) => new IndexIDMap(new IndexFlat(d, m)), minRecall: 1, useIds: true });
runIndexConformance('IndexIDMap2(IndexFlat)', { make: (d, m) => new IndexIDMap2(new IndexFlat(d, m)), minRecall: 1, useIds: true });

test('IndexFlat: identical labels to exact search, with 1 and 2 threads, one and many segments', () => {
  const d = 33;
  const n = 3000;
  const x = randomVectors(n, d, 1);
  const q = randomVectors(64, d, 2);
  const saved = getNumThreads();
  try {
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      const truth = knnExact(metric === MetricType.L2 ? 'L2' : 'IP', q, 64, x, n, d, 20);
      for (const seg of [undefined, 700 * d * 4]) {
        const index = new IndexFlat(d, metric, { maxSegmentBytes: seg });
        index.add(x.subarray(0, 1000 * d));
        index.add(x.subarray(1000 * d));
        if (seg !== undefined) assert.ok(index.segments.length > 1, 'several segments');
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          for (const nq of [1, 5, 64]) {
            const r = index.search(q.subarray(0, nq * d), 20);
            let diff = 0;
            for (let i = 0; i < nq * 20; i++) if (r.labels[i] !== truth.labels[i]) diff++;
            assert.ok(diff <= 1, `metric=${metric} seg=${seg} threads=${threads} nq=${nq}: ${diff} labels differ`);
          }
        }
      }
    }
  } finally {
    setNumThreads(saved);
  }
});

test('IndexFlat: exact distances of a vector to itself and reconstruct/reconstructN', () => {
  const d = 10;
  const x = randomVectors(100, d, 3);
  const index = new IndexFlatL2(d, { maxSegmentBytes: 30 * d * 4 });
  index.add(x);
  const r = index.search(x.subarray(5 * d, 6 * d), 1);
  assert.equal(r.labels[0], 5n);
  assert.ok(r.distances[0]! < 1e-6);
  assert.deepEqual(index.reconstruct(42), x.slice(42 * d, 43 * d));
  assert.deepEqual(index.reconstructN(25, 40), x.slice(25 * d, 65 * d));
  assert.throws(() => index.reconstruct(100), InvalidArgumentError);
  assert.throws(() => index.reconstructN(90, 20), InvalidArgumentError);
  assert.throws(() => index.reconstruct(-1), InvalidArgumentError);
});

test('IndexFlat: computeResidualN (compute_residual_n) in one segment and across several, keys int32 or int64', () => {
  const d = 12;
  const c = randomVectors(50, d, 8);
  const x = randomVectors(700, d, 9);
  const keys = Int32Array.from({ length: 700 }, (_, i) => (i % 97 === 3 ? -1 : (i * 7) % 50));
  const expect = new Float32Array(700 * d);
  for (let i = 0; i < 700; i++) {
    for (let j = 0; j < d; j++) expect[i * d + j] = keys[i]! < 0 ? 0 : Math.fround(x[i * d + j]! - c[keys[i]! * d + j]!);
  }
  const one = new IndexFlatL2(d);
  one.add(c);
  const several = new IndexFlatL2(d, { maxSegmentBytes: 20 * d * 4 });
  several.add(c);
  assert.ok(several.segments.length > 1 && one.segments.length === 1);
  for (const index of [one, several]) {
    assert.deepEqual(index.computeResidualN(x, keys), expect);
    assert.deepEqual(index.computeResidualN(x, BigInt64Array.from(keys, (k) => BigInt(k))), expect);
    const out = new Float32Array(700 * d + 5);
    assert.equal(index.computeResidualN(x, keys, out), out);
    assert.deepEqual(out.subarray(0, 700 * d), expect);
    assert.throws(() => index.computeResidualN(x, keys.subarray(1)), /keys.*has length 699/);
    assert.throws(() => index.computeResidualN(x.subarray(0, d), Int32Array.of(50)), /keys.*has 50 at 0, expected -1 or 0 <= key < ntotal = 50/);
    assert.throws(() => index.computeResidualN(x, keys, new Float32Array(10)), InvalidArgumentError);
  }
});

test('IndexFlat: removeIds keeps the order of the others (Faiss) across segments', () => {
  const d = 4;
  const x = randomVectors(50, d, 4);
  const index = new IndexFlatL2(d, { maxSegmentBytes: 8 * d * 4 });
  index.add(x);
  assert.equal(index.removeIds(new IDSelectorRange(10n, 20n)), 10);
  assert.equal(index.removeIds(BigInt64Array.from([0n, 39n])), 2);
  assert.equal(index.ntotal, 38);
  // after the first removal positions hold [0..9, 20..49]; positions 0 and 39 are then vectors 0 and 49
  const kept = [...Array(50).keys()].filter((i) => i !== 0 && i !== 49 && !(i >= 10 && i < 20));
  assert.equal(kept.length, 38);
  const expect = new Float32Array(38 * d);
  kept.forEach((i, j) => expect.set(x.subarray(i * d, i * d + d), j * d));
  assert.deepEqual(index.reconstructN(0, 38), expect);
  // search still exact after compaction
  const q = randomVectors(3, d, 5);
  const r = index.search(q, 5);
  const truth = knnExact('L2', q, 3, expect, 38, d, 5);
  assert.deepEqual(r.labels, truth.labels);
  index.add(x.subarray(0, 3 * d));
  assert.equal(index.ntotal, 41);
  assert.deepEqual(index.reconstruct(40), x.slice(2 * d, 3 * d));
});

test('IndexFlat: rangeSearch returns all vectors within the radius, L2 and IP', () => {
  const d = 6;
  const n = 500;
  const x = randomVectors(n, d, 6);
  const q = randomVectors(4, d, 7);
  for (const [metric, radius] of [[MetricType.L2, 1.5], [MetricType.INNER_PRODUCT, 0.8]] as const) {
    const index = new IndexFlat(d, metric, { maxSegmentBytes: 200 * d * 4 });
    index.add(x);
    const r = index.rangeSearch(q, radius);
    assert.equal(r.lims.length, 5);
    for (let i = 0; i < 4; i++) {
      const got = Array.from(r.labels.subarray(r.lims[i], r.lims[i + 1]!)).map(Number).sort((a, b) => a - b);
      const expect: number[] = [];
      for (let j = 0; j < n; j++) {
        const v = metric === MetricType.L2 ? fvecL2sqr(q, i * d, x, j * d, d) : fvecInnerProduct(q, i * d, x, j * d, d);
        if (metric === MetricType.L2 ? v < radius : v > radius) expect.push(j);
      }
      assert.ok(expect.length > 0, 'non-trivial radius');
      assert.deepEqual(got, expect);
    }
  }
});

test('IndexFlat: NaN is documented behaviour, never a crash: NaN distances never rank', () => {
  const d = 4;
  const x = randomVectors(10, d, 8);
  x[3 * d + 1] = NaN; // vector 3 holds a NaN
  const index = new IndexFlatL2(d);
  index.add(x);
  const r = index.search(x.subarray(0, d), 10);
  const labels = Array.from(r.labels);
  assert.ok(!labels.includes(3n), 'a vector with NaN is never returned');
  assert.equal(labels[9], -1n);
  const nanQuery = new Float32Array(d).fill(NaN);
  const rq = index.search(nanQuery, 3);
  assert.deepEqual(Array.from(rq.labels), [-1n, -1n, -1n]);
  assert.equal(rq.distances[0], Math.fround(FLT_MAX));
});

test('IndexFlat: constructor and type errors', () => {
  assert.throws(() => new IndexFlatL2(0), (e: unknown) => e instanceof InvalidArgumentError && /`d` must be a positive integer, got number 0/.test(e.message));
  assert.throws(() => new IndexFlatL2(-3), InvalidArgumentError);
  assert.throws(() => new IndexFlat(8, 7 as MetricType), InvalidArgumentError);
  assert.throws(() => new IndexFlatIP(4).addWithIds(new Float32Array(4), new BigInt64Array(1)), NotSupportedError);
});

test('IndexIDMap: user ids in results, removal by user id; IndexIDMap2 reconstructs by id', () => {
  const d = 8;
  const x = randomVectors(20, d, 9);
  const ids = BigInt64Array.from({ length: 20 }, (_, i) => BigInt(1000 + 7 * i));
  for (const Cls of [IndexIDMap, IndexIDMap2]) {
    const index = new Cls(new IndexFlatL2(d));
    assert.throws(() => index.add(x), NotSupportedError);
    assert.throws(() => index.addWithIds(x, ids.subarray(0, 3)), InvalidArgumentError);
    index.addWithIds(x, ids);
    const r = index.search(x.subarray(4 * d, 5 * d), 1);
    assert.equal(r.labels[0], 1028n);
    assert.equal(index.removeIds(BigInt64Array.from([1028n, 5n])), 1);
    assert.equal(index.ntotal, 19);
    const r2 = index.search(x.subarray(4 * d, 5 * d), 2);
    assert.notEqual(r2.labels[0], 1028n);
    assert.equal(index.idMap.length, 19);
    if (index instanceof IndexIDMap2) {
      assert.deepEqual(index.reconstruct(1000n + 7n * 10n), x.slice(10 * d, 11 * d));
      assert.throws(() => index.reconstruct(1028n), InvalidArgumentError);
    }
  }
});
