/**
 * @module test/dataset
 * The benchmark data generator (deterministic for a seed, seeds differ, shapes, streams distinct,
 * rows independent of how many are asked for, clustered) and the recall measures on hand-made cases,
 * plus exact ground truth against a brute-force reference.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_ROWS, ClusteredDataGenerator, generateDataset } from '../src/bench/dataset.js';
import { computeGroundTruth, oneRecallAtR, recallAtR, recallTable } from '../src/bench/groundtruth.js';
import { InvalidArgumentError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

describe('generateDataset', () => {
  test('shapes and defaults', () => {
    const ds = generateDataset({ n: 1500, nq: 20, d: 24 });
    assert.equal(ds.base.length, 1500 * 24);
    assert.equal(ds.queries.length, 20 * 24);
    assert.equal(ds.train.length, 0);
    assert.equal(ds.d, 24);
    assert.equal(ds.params.seed, 1234);
    assert.equal(ds.params.difficulty, 1);
    assert.equal(ds.params.nclusters, 200);
    assert.equal(ds.params.latentDim, 64);
    assert.ok(ds.base.every(Number.isFinite));
    const withTrain = generateDataset({ n: 10, nq: 1, d: 5, ntrain: 30 });
    assert.equal(withTrain.train.length, 30 * 5);
  });

  test('deterministic for a seed, different for another seed', () => {
    const a = generateDataset({ n: 3000, nq: 50, d: 32, seed: 7 });
    const b = generateDataset({ n: 3000, nq: 50, d: 32, seed: 7 });
    assert.ok(sameBits(a.base, b.base));
    assert.ok(sameBits(a.queries, b.queries));
    const c = generateDataset({ n: 3000, nq: 50, d: 32, seed: 8 });
    assert.ok(!sameBits(a.base, c.base));
    assert.ok(!sameBits(a.queries, c.queries));
    let equal = 0;
    for (let i = 0; i < a.base.length; i++) if (a.base[i] === c.base[i]) equal++;
    assert.ok(equal < a.base.length / 1000, `${equal} equal floats between seeds`);
  });

  test('the first rows of a stream do not depend on how many are generated', () => {
    const small = generateDataset({ n: 100, nq: 3, d: 16 });
    const large = generateDataset({ n: BLOCK_ROWS * 2 + 17, nq: 40, d: 16 });
    assert.ok(sameBits(small.base, large.base.subarray(0, 100 * 16)));
    assert.ok(sameBits(small.queries, large.queries.subarray(0, 3 * 16)));
  });

  test('any range of rows can be generated alone', () => {
    const gen = new ClusteredDataGenerator({ d: 8, seed: 3 });
    const all = gen.generate('base', 0, 3000);
    const mid = gen.generate('base', 1000, 1500);
    assert.ok(sameBits(mid, all.subarray(1000 * 8, 2500 * 8)));
    const out = new Float32Array(10 * 8 + 5);
    const view = gen.generate('base', 2990, 10, out);
    assert.ok(sameBits(view, all.subarray(2990 * 8)));
  });

  test('queries, base and training vectors are distinct samples', () => {
    const ds = generateDataset({ n: 2000, nq: 100, d: 16, ntrain: 100 });
    const rows = new Set<string>();
    for (let i = 0; i < 2000; i++) rows.add(ds.base.subarray(i * 16, (i + 1) * 16).join(','));
    for (let i = 0; i < 100; i++) {
      assert.ok(!rows.has(ds.queries.subarray(i * 16, (i + 1) * 16).join(',')), `query ${i} is a base vector`);
      assert.ok(!rows.has(ds.train.subarray(i * 16, (i + 1) * 16).join(',')), `training vector ${i} is a base vector`);
    }
  });

  test('clustered: nearest neighbours are much closer than random pairs; difficulty spreads them', () => {
    const ratio = (difficulty: number): number => {
      const ds = generateDataset({ n: 2000, nq: 50, d: 32, difficulty });
      const gt = computeGroundTruth(ds.base, ds.queries, 32, 1);
      let nn = 0;
      let rnd = 0;
      for (let q = 0; q < 50; q++) {
        nn += gt.distances[q]!;
        const j = (q * 37) % 2000;
        let s = 0;
        for (let t = 0; t < 32; t++) s += (ds.queries[q * 32 + t]! - ds.base[j * 32 + t]!) ** 2;
        rnd += s;
      }
      return nn / rnd;
    };
    const easy = ratio(0.5);
    const normal = ratio(1);
    const hard = ratio(2);
    assert.ok(normal < 0.5, `nn / random distance ratio ${normal}`);
    assert.ok(easy < normal && normal < hard, `${easy} < ${normal} < ${hard}`);
  });

  test('invalid parameters', () => {
    assert.throws(() => generateDataset({ n: 10, nq: 1, d: 0 }), InvalidArgumentError);
    assert.throws(() => generateDataset({ n: -1, nq: 1, d: 4 }), InvalidArgumentError);
    assert.throws(() => generateDataset({ n: 10, nq: 1, d: 4, difficulty: 0 }), /`difficulty` must be a finite number > 0/);
    assert.throws(() => generateDataset({ n: 10, nq: 1, d: 4, latentDim: 6 }), /multiple of 4/);
    assert.throws(() => generateDataset({ n: 10, nq: 1, d: 4, seed: 1.5 }), /`seed` must be an integer/);
  });
});

describe('recall measures', () => {
  // 2 queries, true top-3: [1,2,3] and [4,5,6]
  const gt = new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]);

  test('recall@R: intersection of the true and returned top-R over R', () => {
    const perfect = new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]);
    assert.equal(recallAtR(gt, 3, perfect, 3, 3), 1);
    const reordered = new BigInt64Array([3n, 1n, 2n, 6n, 5n, 4n]);
    assert.equal(recallAtR(gt, 3, reordered, 3, 3), 1);
    assert.equal(recallAtR(gt, 3, reordered, 3, 1), 0); // top-1 is wrong for both
    const half = new BigInt64Array([1n, 9n, 8n, 4n, 5n, 7n]);
    assert.equal(recallAtR(gt, 3, half, 3, 3), 3 / 6);
    assert.equal(recallAtR(gt, 3, half, 3, 1), 1);
    assert.equal(recallAtR(gt, 3, half, 3, 2), 3 / 4);
  });

  test('padding (-1) and duplicates never count', () => {
    const padded = new BigInt64Array([1n, -1n, -1n, 4n, 4n, 4n]);
    assert.equal(recallAtR(gt, 3, padded, 3, 3), 2 / 6);
    const gtPadded = new BigInt64Array([1n, -1n, -1n, 4n, 5n, 6n]);
    assert.equal(recallAtR(gtPadded, 3, new BigInt64Array([-1n, -1n, 1n, 4n, 5n, 6n]), 3, 3), 4 / 6);
  });

  test("Faiss's 1-recall@R: the true nearest neighbour among the first R", () => {
    const labels = new BigInt64Array([9n, 1n, 8n, 7n, 8n, 4n]);
    assert.equal(oneRecallAtR(gt, 3, labels, 3, 1), 0);
    assert.equal(oneRecallAtR(gt, 3, labels, 3, 2), 0.5);
    assert.equal(oneRecallAtR(gt, 3, labels, 3, 3), 1);
  });

  test('label arrays of other types (Int32Array ground truth, number[])', () => {
    const gt32 = new Int32Array([1, 2, 3, 4, 5, 6]);
    assert.equal(recallAtR(gt32, 3, [1, 2, 9, 4, 9, 9], 3, 3), 3 / 6);
    assert.equal(oneRecallAtR(gt32, 3, new BigInt64Array([2n, 1n, 0n, 4n, 0n, 0n]), 3, 2), 1);
  });

  test('ground truth with more neighbours than returned, and the recall table', () => {
    const gt5 = new BigInt64Array([1n, 2n, 3n, 4n, 5n]); // one query, kGt = 5
    const labels = new BigInt64Array([1n, 3n]); // k = 2
    assert.equal(recallAtR(gt5, 5, labels, 2, 2), 0.5);
    const t = recallTable(gt5, 5, labels, 2, [1, 2, 10]);
    assert.deepEqual(t.recall, { 1: 1, 2: 0.5 });
    assert.deepEqual(t.r1at, { 1: 1, 2: 1 });
  });

  test('shape errors name the argument', () => {
    assert.throws(() => recallAtR(gt, 3, new BigInt64Array(5), 3, 3), /`labels` has length 5/);
    assert.throws(() => recallAtR(gt, 3, new BigInt64Array(6), 3, 4), /`R` is 4, more than the 3 labels/);
    assert.throws(() => recallAtR(gt, 4, new BigInt64Array(4), 2, 2), /`gt` has length 6, not a multiple of kGt = 4/);
  });
});

describe('computeGroundTruth', () => {
  test('matches a brute-force reference (L2 and inner product), in batches', () => {
    const d = 12;
    const ds = generateDataset({ n: 700, nq: 30, d, seed: 11 });
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      let calls = 0;
      const gt = computeGroundTruth(ds.base, ds.queries, d, 5, { metric, batchSize: 7, onProgress: () => calls++ });
      assert.equal(calls, Math.ceil(30 / 7));
      assert.equal(gt.labels.length, 30 * 5);
      for (let q = 0; q < 30; q++) {
        const scores: [number, number][] = [];
        for (let i = 0; i < 700; i++) {
          let s = 0;
          for (let t = 0; t < d; t++) {
            const a = ds.queries[q * d + t]!;
            const b = ds.base[i * d + t]!;
            s += metric === MetricType.L2 ? (a - b) ** 2 : a * b;
          }
          scores.push([metric === MetricType.L2 ? s : -s, i]);
        }
        scores.sort((x, y) => x[0] - y[0]);
        assert.equal(Number(gt.labels[q * 5]), scores[0]![1], `query ${q}`);
        const want = new Set(scores.slice(0, 5).map(([, i]) => i));
        const got = [...gt.labels.subarray(q * 5, q * 5 + 5)].map(Number);
        assert.ok(got.filter((i) => want.has(i)).length >= 4, `query ${q}: ${got} vs ${[...want]}`);
      }
    }
  });
});
