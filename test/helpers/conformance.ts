/**
 * The conformance suite every Index runs (hono's runTest pattern): the Index contract, padding,
 * bad input, and search results against exact search with an explicit recall threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Index, FLT_MAX } from '../../src/Index.js';
import { MetricType } from '../../src/MetricType.js';
import { InvalidArgumentError, InvalidTypeError } from '../../src/errors.js';
import { knnExact } from '../../src/kernels/reference.js';
import { randomVectors } from './rng.js';

export interface ConformanceOptions {
  /** Builds an empty index (trained if it needs training: `train` is called with `trainData`). */
  make(d: number, metric: MetricType): Index;
  /** Minimum recall@10 against exact search (1 for exact indexes). */
  minRecall: number;
  metrics?: MetricType[];
  /** Whether labels are sequential positions (true) or the caller's ids (addWithIds). */
  useIds?: boolean;
}

export function recallAtK(labels: BigInt64Array, truth: BigInt64Array, nq: number, k: number): number {
  let hit = 0;
  for (let i = 0; i < nq; i++) {
    const t = new Set(Array.from(truth.subarray(i * k, (i + 1) * k)));
    for (let j = 0; j < k; j++) if (t.has(labels[i * k + j]!)) hit++;
  }
  return hit / (nq * k);
}

export function runIndexConformance(name: string, opts: ConformanceOptions): void {
  const metrics = opts.metrics ?? [MetricType.L2, MetricType.INNER_PRODUCT];
  for (const metric of metrics) {
    const mname = metric === MetricType.L2 ? 'L2' : 'IP';
    const d = 24;
    const n = 2000;
    const x = randomVectors(n, d, 11);
    const q = randomVectors(50, d, 12);
    const fill = (index: Index): void => {
      if (!index.isTrained) index.train(x);
      if (opts.useIds) index.addWithIds(x, BigInt64Array.from({ length: n }, (_, i) => BigInt(i)));
      else index.add(x);
    };

    test(`${name} ${mname}: contract fields`, () => {
      const index = opts.make(d, metric);
      assert.equal(index.d, d);
      assert.equal(index.metricType, metric);
      assert.equal(index.ntotal, 0);
      fill(index);
      assert.equal(index.ntotal, n);
      index.reset();
      assert.equal(index.ntotal, 0);
      index.dispose();
    });

    test(`${name} ${mname}: recall@10 against exact search >= ${opts.minRecall}, one query and batches`, () => {
      const index = opts.make(d, metric);
      fill(index);
      const k = 10;
      const truth = knnExact(mname, q, 50, x, n, d, k);
      for (const nq of [1, 7, 50]) {
        const r = index.search(q.subarray(0, nq * d), k);
        assert.equal(r.distances.length, nq * k);
        assert.equal(r.labels.length, nq * k);
        const recall = recallAtK(r.labels, truth.labels.subarray(0, nq * k), nq, k);
        assert.ok(recall >= opts.minRecall, `recall@10 ${recall} < ${opts.minRecall} (nq=${nq})`);
        // sorted best first
        for (let i = 0; i < nq; i++) {
          for (let j = 1; j < k; j++) {
            const a = r.distances[i * k + j - 1]!;
            const b = r.distances[i * k + j]!;
            assert.ok(metric === MetricType.L2 ? a <= b : a >= b, `row ${i} not sorted`);
          }
        }
      }
      index.dispose();
    });

    test(`${name} ${mname}: k > ntotal pads with -1 and ${mname === 'L2' ? '+' : '-'}FLT_MAX; empty index gives all -1`, () => {
      const index = opts.make(d, metric);
      if (!index.isTrained) index.train(x);
      const empty = index.search(q.subarray(0, 2 * d), 3);
      assert.deepEqual(Array.from(empty.labels), [-1n, -1n, -1n, -1n, -1n, -1n]);
      const few = x.subarray(0, 5 * d);
      if (opts.useIds) index.addWithIds(few, BigInt64Array.from([0n, 1n, 2n, 3n, 4n]));
      else index.add(few);
      const r = index.search(q.subarray(0, d), 8);
      const labels = Array.from(r.labels);
      assert.equal(labels.filter((l) => l >= 0n).length, 5);
      assert.deepEqual(labels.slice(5), [-1n, -1n, -1n]);
      const pad = Math.fround(FLT_MAX);
      assert.equal(r.distances[7], metric === MetricType.L2 ? pad : -pad);
      index.dispose();
    });

    test(`${name} ${mname}: bad input gets typed errors naming the argument`, () => {
      const index = opts.make(d, metric);
      if (!index.isTrained) index.train(x);
      assert.throws(() => index.search(new Float32Array(d + 1), 1), (e: unknown) => e instanceof InvalidArgumentError && /`x`.*multiple of d = 24/.test(e.message));
      assert.throws(() => index.search([1, 2, 3] as unknown as Float32Array, 1), (e: unknown) => e instanceof InvalidTypeError && e instanceof TypeError && /`x` must be a Float32Array.*plain Array/.test(e.message));
      assert.throws(() => index.search(new Float64Array(d) as unknown as Float32Array, 1), InvalidTypeError);
      assert.throws(() => index.search(q.subarray(0, d), 0), (e: unknown) => e instanceof InvalidArgumentError && /`k`/.test(e.message));
      assert.throws(() => index.search(q.subarray(0, d), 2.5), InvalidArgumentError);
      if (!opts.useIds) assert.throws(() => index.add(new Float32Array(d - 1)), InvalidArgumentError);
      index.dispose();
    });
  }
}
