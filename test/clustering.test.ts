/**
 * k-means (Clustering, Kmeans, kmeansClustering): recovery of seeded Gaussian blobs, Faiss's
 * semantics (seeded sampling, empty-cluster splitting, subsampling, warning, spherical, nredo),
 * cross-checked against Python Faiss 1.7.3 when it is installed, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Clustering, RandomGenerator, kmeansClustering, randPerm, DEFAULT_CLUSTERING_PARAMETERS,
} from '../src/clustering/Clustering.js';
import { Kmeans, type KmeansOptions } from '../src/clustering/Kmeans.js';
import { IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { MetricType } from '../src/MetricType.js';
import { InvalidArgumentError, InvalidTypeError, NotTrainedError } from '../src/errors.js';
import { fvecL2sqr, knnExact } from '../src/kernels/reference.js';
import { encodeNpy } from '../src/io/npy.js';
import { getNumThreads, setNumThreads } from '../src/threads/pool.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const quiet = { onWarning: (): void => {} };

function gaussian(r: () => number): number {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** nb Gaussian blobs of `per` points (unit spread, centres ~ N(0, sep^2)); point i is in blob i % nb. */
function blobs(nb: number, per: number, d: number, sep: number, seed: number): { x: Float32Array; n: number } {
  const r = mulberry32(seed);
  const centers = new Float32Array(nb * d);
  for (let i = 0; i < centers.length; i++) centers[i] = gaussian(r) * sep;
  const n = nb * per;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = centers[(i % nb) * d + j]! + gaussian(r);
  return { x, n };
}

function labelsOf(km: Kmeans, x: Float32Array): number[] {
  return Array.from(km.assign(x).labels, Number);
}

function assertNonIncreasing(obj: number[], what: string): void {
  for (let i = 1; i < obj.length; i++) {
    assert.ok(obj[i]! <= obj[i - 1]! * (1 + 1e-6), `${what}: objective rose at iteration ${i}: ${obj[i - 1]} -> ${obj[i]}`);
  }
}

const NB = 20;
const D = 16;
const data = blobs(NB, 120, D, 10, 42); // 2400 points: enough for k = 60 without a warning

test('RandomGenerator and randPerm draw the numbers Faiss 1.7.3 draws (std::mt19937)', () => {
  // faiss.rand_perm(perm, 10, 1235) and faiss.RandomGenerator(1234) in Python Faiss 1.7.3
  assert.deepEqual(Array.from(randPerm(10, 1235)), [3, 2, 4, 9, 0, 7, 1, 5, 6, 8]);
  const rng = new RandomGenerator(1234);
  assert.deepEqual([rng.randFloat(), rng.randFloat(), rng.randFloat()], [0.19151945412158966, 0.497663676738739, 0.6221087574958801]);
  assert.deepEqual([rng.randInt(100), rng.randInt(100), rng.randInt(100)], [65, 16, 64]);
  // std::mt19937 with its default seed: the 10000th output is 4123659995 (C++ standard)
  const mt = new RandomGenerator(5489);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = mt.next();
  assert.equal(v, 4123659995);
});

test('Kmeans recovers 20 Gaussian blobs: every cluster inside one blob, every blob covered, objective decreasing', () => {
  // Lloyd from random points almost never puts exactly one centroid per blob (k = 20 ends in a local
  // minimum for every seed we tried, as with Faiss); with k = 3 * 20 every blob gets centroids.
  const { x, n } = data;
  const km = new Kmeans(D, 3 * NB, { niter: 20, ...quiet });
  km.train(x);
  assert.equal(km.centroids.length, 3 * NB * D);
  assert.equal(km.obj.length, 20);
  assertNonIncreasing(km.obj, 'k=60');
  const labels = labelsOf(km, x);
  const blobOfCluster = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const b = blobOfCluster.get(labels[i]!);
    if (b === undefined) blobOfCluster.set(labels[i]!, i % NB);
    else assert.equal(b, i % NB, `cluster ${labels[i]} holds points of blobs ${b} and ${i % NB}`);
  }
  assert.equal(new Set(blobOfCluster.values()).size, NB, 'every blob has a centroid');
  for (const s of km.iterationStats) {
    assert.ok(s.imbalanceFactor >= 1 && s.time >= s.timeSearch && s.timeSearch >= 0);
  }
});

test('Clustering from one point per blob (input centroids) converges to the blob means', () => {
  const { x, n } = data;
  const clus = new Clustering(D, NB, { niter: 10, ...quiet });
  clus.centroids = x.slice(0, NB * D); // points 0..19 are in blobs 0..19
  clus.train(x);
  const means = new Float64Array(NB * D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) means[(i % NB) * D + j]! += x[i * D + j]! / (n / NB);
  let truth = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) truth += (x[i * D + j]! - means[(i % NB) * D + j]!) ** 2;
  for (let c = 0; c < NB; c++) {
    for (let j = 0; j < D; j++) assert.ok(Math.abs(clus.centroids[c * D + j]! - means[c * D + j]!) < 1e-4, `centroid ${c}`);
  }
  const last = clus.iterationStats[clus.iterationStats.length - 1]!;
  assert.ok(Math.abs(last.obj - truth) / truth < 1e-5, `objective ${last.obj} vs the true partition's ${truth}`);
});

const hasFaiss = spawnSync('/usr/bin/python3', ['-c', 'import faiss'], { stdio: 'ignore' }).status === 0;

/** 30 points with only 3 distinct values: k = 5 leaves at least 2 clusters empty at every iteration. */
function duplicatedPoints(): Float32Array {
  const distinct = [[1, 2, 3, 4], [-5, 6, -7, 8], [9, 9, 9, 9]];
  const x = new Float32Array(30 * 4);
  for (let i = 0; i < 30; i++) x.set(distinct[i % 3]!, i * 4);
  return x;
}

test('Kmeans matches Python Faiss 1.7.3 on the same data: same first objective, final objective within 1%, same splits', { skip: hasFaiss ? false : 'python faiss not installed' }, () => {
  const { x, n } = data;
  const niter = 15;
  const km = new Kmeans(D, NB, { niter, ...quiet });
  km.train(x);
  const dup = duplicatedPoints();
  const kmDup = new Kmeans(4, 5, { niter: 5, ...quiet });
  kmDup.train(dup);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-kmeans-'));
  try {
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x, [n, D]));
    writeFileSync(join(dir, 'dup.npy'), encodeNpy(dup, [30, 4]));
    const script = [
      'import faiss, numpy as np, json, sys',
      'x = np.load(sys.argv[1] + "/x.npy")',
      `km = faiss.Kmeans(${D}, ${NB}, niter=${niter}, seed=1234)`,
      'km.train(x)',
      'dup = faiss.Kmeans(4, 5, niter=5)',
      'dup.train(np.load(sys.argv[1] + "/dup.npy"))',
      'json.dump({"obj": km.obj.tolist(), "dupCentroids": dup.centroids.ravel().tolist(),',
      '           "dupSplits": [s["nsplit"] for s in dup.iteration_stats]}, open(sys.argv[1] + "/out.json", "w"))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { obj: number[]; dupCentroids: number[]; dupSplits: number[] };
    assert.equal(py.obj.length, niter);
    // same mt19937 draws: the first assignment is against the same centroids
    assert.ok(Math.abs(km.obj[0]! - py.obj[0]!) / py.obj[0]! < 1e-5, `first objective ${km.obj[0]} vs Faiss ${py.obj[0]}`);
    const ours = km.obj[niter - 1]!;
    const theirs = py.obj[niter - 1]!;
    assert.ok(Math.abs(ours - theirs) / theirs < 0.01, `final objective ${ours} vs Faiss ${theirs}`);
    // split_clusters: same random choices, same perturbations
    assert.deepEqual(kmDup.iterationStats.map((s) => s.nsplit), py.dupSplits);
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(kmDup.centroids[i]! - py.dupCentroids[i]!) < 1e-5, `split centroid coordinate ${i}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('empty clusters are split: centroids far from the data are re-seeded and every cluster ends up with points', () => {
  const d = 8;
  const { x, n } = blobs(2, 200, d, 5, 7);
  const init = new Float32Array(4 * d);
  init.set(x.subarray(0, d), 0); // in blob 0
  init.set(x.subarray(d, 2 * d), d); // in blob 1
  init.fill(1000, 2 * d); // two centroids that no point is near
  const km = new Kmeans(d, 4, { niter: 10, ...quiet });
  km.train(x, undefined, init);
  assert.equal(km.iterationStats[0]!.nsplit, 2);
  for (const s of km.iterationStats.slice(1)) assert.equal(s.nsplit, 0);
  const sizes = new Array<number>(4).fill(0);
  for (const l of labelsOf(km, x)) sizes[l]!++;
  assert.ok(sizes.every((s) => s > 0), `cluster sizes ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b), n);
});

test('empty clusters are split on duplicated points (k larger than the number of distinct points)', () => {
  const d = 4;
  const x = duplicatedPoints();
  const clus = new Clustering(d, 5, { niter: 5, ...quiet });
  clus.train(x);
  for (const s of clus.iterationStats) assert.ok(s.nsplit >= 2, `nsplit ${s.nsplit}`);
  const rows = new Set<string>();
  for (let c = 0; c < 5; c++) {
    const row = Array.from(clus.centroids.subarray(c * d, (c + 1) * d));
    assert.ok(row.every((v) => Number.isFinite(v) && v !== 0), `centroid ${c} = ${row}`);
    rows.add(row.join(','));
  }
  assert.equal(rows.size, 5, 'split centroids are distinct');
});

test('more than k * maxPointsPerCentroid points: a seeded subsample of that size is clustered', () => {
  const d = 6;
  const x = randomVectors(1000, d, 3);
  const clus = new Clustering(d, 4, { niter: 5, maxPointsPerCentroid: 100, seed: 99, ...quiet });
  clus.train(x);
  assert.equal(clus.ntrain, 400);
  // the same as clustering the first 400 rows of Faiss's rand_perm(n, seed) directly
  const perm = randPerm(1000, 99);
  const sub = new Float32Array(400 * d);
  for (let i = 0; i < 400; i++) sub.set(x.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
  const direct = new Clustering(d, 4, { niter: 5, maxPointsPerCentroid: 100, seed: 99, ...quiet });
  direct.train(sub);
  assert.equal(direct.ntrain, 400);
  assert.deepEqual(clus.centroids, direct.centroids);
  const full = new Clustering(d, 4, { niter: 5, maxPointsPerCentroid: 250, seed: 99, ...quiet });
  full.train(x);
  assert.equal(full.ntrain, 1000);
});

test('fewer than k * minPointsPerCentroid points: Faiss\'s warning, once; n == k copies the points', () => {
  const d = 5;
  const warnings: string[] = [];
  const x = randomVectors(10 * 39 - 1, d, 4);
  new Clustering(d, 10, { niter: 3, onWarning: (m) => warnings.push(m) }).train(x);
  assert.deepEqual(warnings, ['WARNING clustering 389 points to 10 centroids: please provide at least 390 training points']);
  warnings.length = 0;
  new Clustering(d, 10, { niter: 3, onWarning: (m) => warnings.push(m) }).train(randomVectors(390, d, 4));
  assert.deepEqual(warnings, []);
  const clus = new Clustering(d, 10, { niter: 3, ...quiet });
  const ten = x.slice(0, 10 * d);
  clus.train(ten);
  assert.deepEqual(clus.centroids, ten);
  assert.deepEqual(clus.iterationStats, [{ obj: 0, time: 0, timeSearch: 0, imbalanceFactor: 1, nsplit: 0 }]);
});

test('spherical: unit-norm centroids, clustered with an inner-product index, objective increasing', () => {
  const d = 12;
  const x = randomVectors(2000, d, 5);
  const km = new Kmeans(d, 16, { niter: 10, spherical: true, ...quiet });
  km.train(x);
  assert.equal(km.index.metricType, MetricType.INNER_PRODUCT);
  for (let c = 0; c < 16; c++) {
    const norm = Math.sqrt(km.centroids.subarray(c * d, (c + 1) * d).reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `centroid ${c} norm ${norm}`);
  }
  for (let i = 1; i < km.obj.length; i++) assert.ok(km.obj[i]! >= km.obj[i - 1]! * (1 - 1e-6), 'IP objective does not decrease');
});

test('nredo keeps the run with the best objective (run r starts from rand_perm(seed + 1 + r * 15486557))', () => {
  const d = 8;
  const x = randomVectors(800, d, 6);
  const niter = 4;
  const finals: number[] = [];
  const runs: Clustering[] = [];
  for (let r = 0; r < 3; r++) {
    const c = new Clustering(d, 12, { niter, seed: 1234 + r * 15486557, ...quiet });
    c.train(x);
    runs.push(c);
    finals.push(c.iterationStats[niter - 1]!.obj);
  }
  const best = finals.indexOf(Math.min(...finals));
  const clus = new Clustering(d, 12, { niter, nredo: 3, ...quiet });
  clus.train(x);
  assert.deepEqual(clus.centroids, runs[best]!.centroids);
  assert.equal(clus.iterationStats.length, niter * (best + 1), 'as Faiss: the stats of the runs up to the best');
  assert.equal(clus.iterationStats[clus.iterationStats.length - 1]!.obj, finals[best]);
});

test('deterministic for a fixed seed, on 1 and 2 threads; different seeds differ', () => {
  const d = 10;
  const x = randomVectors(3000, d, 8);
  const saved = getNumThreads();
  try {
    const results: Float32Array[] = [];
    for (const threads of [1, 2, 2]) {
      setNumThreads(threads);
      const km = new Kmeans(d, 32, { niter: 5, seed: 77, ...quiet });
      km.train(x);
      results.push(km.centroids);
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
    const other = new Kmeans(d, 32, { niter: 5, seed: 78, ...quiet });
    other.train(x);
    assert.notDeepEqual(other.centroids, results[0]);
  } finally {
    setNumThreads(saved);
  }
});

test('Kmeans.assign agrees with exact nearest-centroid search', () => {
  const d = 20;
  const x = randomVectors(1500, d, 9);
  const q = randomVectors(300, d, 10);
  const km = new Kmeans(d, 24, { niter: 6, ...quiet });
  assert.throws(() => km.assign(q), NotTrainedError);
  km.train(x);
  const { distances, labels } = km.assign(q);
  assert.equal(labels.length, 300);
  const truth = knnExact('L2', q, 300, km.centroids, 24, d, 1);
  for (let i = 0; i < 300; i++) {
    assert.equal(labels[i], truth.labels[i], `query ${i}`);
    assert.ok(Math.abs(distances[i]! - truth.distances[i]!) <= 1e-4 * Math.max(1, truth.distances[i]!));
    assert.ok(Math.abs(distances[i]! - fvecL2sqr(q, i * d, km.centroids, Number(labels[i]) * d, d)) < 1e-3);
  }
  km.dispose();
});

test('weights, frozen input centroids, intCentroids, onProgress, verbose lines, kmeansClustering', () => {
  const d = 3;
  const x = randomVectors(100, d, 11);
  const w = new Float32Array(100);
  for (let i = 0; i < 100; i++) w[i] = (i % 4) + 0.5;
  // k = 1: the centroid is the weighted mean
  const one = new Clustering(d, 1, { niter: 2, ...quiet });
  one.train(x, undefined, w);
  for (let j = 0; j < d; j++) {
    let s = 0;
    let t = 0;
    for (let i = 0; i < 100; i++) {
      s += x[i * d + j]! * w[i]!;
      t += w[i]!;
    }
    assert.ok(Math.abs(one.centroids[j]! - s / t) < 1e-6);
  }
  // frozen input centroids stay as given
  const frozen = new Clustering(d, 4, { niter: 5, frozenCentroids: true, ...quiet });
  const given = new Float32Array([0.5, 0.5, 0.5, -0.5, -0.5, -0.5]);
  frozen.centroids = given.slice();
  frozen.train(x);
  assert.deepEqual(frozen.centroids.subarray(0, 6), given);
  // integer centroids
  const big = randomVectors(500, d, 12).map((v) => v * 100);
  const ints = new Clustering(d, 5, { niter: 3, intCentroids: true, ...quiet });
  ints.train(big);
  assert.ok(ints.centroids.every((v) => Number.isInteger(v)));
  // progress callback and Faiss's verbose line
  const progress: number[] = [];
  const lines: string[] = [];
  const saved = console.error;
  console.error = (s: string): void => void lines.push(s);
  try {
    new Clustering(d, 2, { niter: 3, verbose: true, onProgress: (i, niter) => progress.push(i, niter), ...quiet }).train(x);
  } finally {
    console.error = saved;
  }
  assert.deepEqual(progress, [0, 3, 1, 3, 2, 3]);
  assert.ok(lines.some((l) => /^Clustering 100 points in 3D to 2 clusters, redo 1 times, 3 iterations$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^ {2}Iteration 2 \(\d+\.\d\d s, search \d+\.\d\d s\): objective=[\d.e+]+ imbalance=\d\.\d{3} nsplit=0$/.test(l)), lines.join('\n'));
  // kmeans_clustering: the default parameters with an IndexFlatL2
  const y = randomVectors(2000, 4, 13);
  const c = kmeansClustering(4, 2000, 8, y);
  const ref = new Clustering(4, 8);
  ref.train(y, new IndexFlatL2(4));
  assert.deepEqual(c, ref.centroids);
  assert.equal(DEFAULT_CLUSTERING_PARAMETERS.niter, 25);
});

test('an inner-product index passed in: nredo keeps the run with the highest objective; the index holds the centroids', () => {
  const d = 6;
  const x = randomVectors(600, d, 14);
  const niter = 4;
  const finals: number[] = [];
  const runs: Clustering[] = [];
  for (let r = 0; r < 2; r++) {
    const c = new Clustering(d, 8, { niter, spherical: true, seed: 1234 + r * 15486557, ...quiet });
    c.train(x, new IndexFlatIP(d));
    runs.push(c);
    finals.push(c.iterationStats[niter - 1]!.obj);
  }
  const best = finals.indexOf(Math.max(...finals));
  const index = new IndexFlatIP(d);
  const clus = new Clustering(d, 8, { niter, nredo: 2, spherical: true, ...quiet });
  clus.train(x, index);
  assert.deepEqual(clus.centroids, runs[best]!.centroids);
  assert.equal(index.ntotal, 8, 'the index holds the centroids afterwards, as in Faiss');
  assert.deepEqual(index.reconstructN(0, 8), clus.centroids);
});

test('bad input: typed errors naming the argument and the values', () => {
  const d = 4;
  const x = randomVectors(50, d, 15);
  for (const k of [0, -3, 2.5]) {
    assert.throws(() => new Clustering(d, k), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'k');
    assert.throws(() => new Kmeans(d, k), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'k');
  }
  assert.throws(() => new Clustering(0, 3), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'd');
  assert.throws(() => new Clustering(d, 3, { niter: -1 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'niter');
  assert.throws(() => new Kmeans(d, 3, { min_points_per_centroid: 5 } as KmeansOptions), (e: unknown) => e instanceof InvalidArgumentError && /"min_points_per_centroid".*did you mean minPointsPerCentroid/.test(e.message));
  assert.doesNotThrow(() => new Kmeans(d, 3, { gpu: true, seed: 5 }));
  assert.throws(() => new Clustering(d, 3, { nredo: 0 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'nredo');
  const clus = new Clustering(d, 3, { niter: 2, ...quiet });
  assert.throws(() => clus.train(new Float32Array(4 * d + 1)), (e: unknown) => e instanceof InvalidArgumentError && /`x`.*multiple of d = 4/.test(e.message));
  assert.throws(() => clus.train(Array.from(x) as unknown as Float32Array), (e: unknown) => e instanceof InvalidTypeError && e instanceof TypeError && /`x`.*plain Array/.test(e.message));
  assert.throws(() => clus.train(new Float64Array(x) as unknown as Float32Array), InvalidTypeError);
  assert.throws(() => clus.train(x, new IndexFlatL2(d + 1)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'index' && /5.*d = 4/.test(e.message));
  assert.throws(() => clus.train(x, undefined, new Float32Array(49)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'weights');
  assert.throws(() => clus.train(x, undefined, [1] as unknown as Float32Array), InvalidTypeError);
  assert.throws(() => new Clustering(d, 60, quiet).train(x), (e: unknown) => e instanceof InvalidArgumentError && /Number of training points \(50\) should be at least as large as number of clusters \(60\)/.test(e.message));
  // Faiss throws "input contains NaN's or Inf's"; simdex names the first bad row and column
  const bad = x.slice();
  bad[7 * d + 3] = NaN;
  bad[9 * d] = Infinity;
  assert.throws(() => clus.train(bad), (e: unknown) => e instanceof InvalidArgumentError && /NaN at row 7, column 3/.test(e.message));
  // checked before subsampling (every input point), and when the points are the centroids (n == k)
  assert.throws(() => new Clustering(d, 3, { niter: 2, maxPointsPerCentroid: 5, ...quiet }).train(bad), (e: unknown) => e instanceof InvalidArgumentError && /NaN at row 7, column 3/.test(e.message));
  assert.throws(() => new Clustering(d, 10, { niter: 2, ...quiet }).train(bad.subarray(0, 10 * d)), (e: unknown) => e instanceof InvalidArgumentError && /NaN at row 7, column 3/.test(e.message));
  bad[7 * d + 3] = 0;
  assert.throws(() => new Kmeans(d, 3, quiet).train(bad), (e: unknown) => e instanceof InvalidArgumentError && /Infinity at row 9, column 0/.test(e.message));
  const km = new Kmeans(d, 3, quiet);
  assert.throws(() => km.train(x, undefined, new Float32Array(4 * d)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'initCentroids');
  km.train(x);
  assert.throws(() => km.assign(new Float32Array(d + 1)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'x');
});

test('BoundedAssigner: same assignments and objective as exhaustive search, iteration after iteration', async () => {
  const { BoundedAssigner } = await import('../src/clustering/boundedAssign.js');
  const { computeCentroids, splitClusters } = await import('../src/clustering/Clustering.js');
  const { IndexFlatL2 } = await import('../src/simdex.js');
  const { knnExact } = await import('../src/kernels/reference.js');
  const d = 16;
  const n = 3000;
  const k = 20;
  const x = new Float32Array(n * d);
  const r = mulberryForBounds(5);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = (i % 7) + 0.3 * r();
  const c = x.slice(0, k * d);
  const index = new IndexFlatL2(d);
  index.add(c);
  const b = new BoundedAssigner(n, k, d);
  const hassign = new Float64Array(k);
  const sums = new Float64Array(k * d);
  let skipped = 0;
  for (let it = 0; it < 8; it++) {
    b.run(x, c, index);
    skipped += n - b.lastSearched;
    // each point's centroid is a nearest one, up to the rounding of ||x||^2 + ||c||^2 - 2<x,c> (as with BLAS)
    const exact = knnExact('L2', x, n, c, k, d, 1);
    for (let i = 0; i < n; i++) {
      let s = 0;
      let norm = 0;
      for (let j = 0; j < d; j++) {
        s += (x[i * d + j]! - c[b.assign[i]! * d + j]!) ** 2;
        norm += x[i * d + j]! ** 2;
      }
      assert.ok(s <= exact.distances[i]! + 1e-5 * norm + 1e-6, `iteration ${it}, point ${i}: ${s} vs nearest ${exact.distances[i]}`);
    }
    computeCentroids(d, k, n, 0, x, b.assign, undefined, hassign, sums, c);
    splitClusters(d, k, n, 0, hassign, c);
    index.reset();
    index.add(c);
  }
  assert.ok(skipped > n, `the bounds skipped ${skipped} point searches over 8 iterations`);
});

function mulberryForBounds(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('Elkan bounds (k < 512): the same centroids as a full search every iteration, without searching the index', async () => {
  const { generateDataset } = await import('../src/bench/dataset.js');
  for (const [d, k, n] of [[128, 64, 8000], [20, 50, 3000]] as const) {
    const ds = generateDataset({ d, n, nq: 0, seed: 11 });
    /** Counts the searches of the assignment index. */
    class Watched extends IndexFlatL2 {
      searches = 0;
      override search(x: Float32Array, kk: number): ReturnType<IndexFlatL2['search']> {
        this.searches++;
        return super.search(x, kk);
      }
    }
    const run = (useBounds: boolean): { centroids: Float32Array; obj: number[]; searches: number } => {
      const index = new Watched(d);
      index.useBounds = useBounds;
      const c = new Clustering(d, k, { niter: 12, seed: 5 });
      c.train(ds.base, index);
      return { centroids: c.centroids, obj: c.iterationStats.map((s) => s.obj), searches: index.searches };
    };
    const saved = getNumThreads();
    let full: ReturnType<typeof run>;
    let elkan: ReturnType<typeof run>;
    try {
      setNumThreads(2);
      full = run(false);
      elkan = run(true);
      // from 4 threads on, the pool's batched search assigns (Elkan's steps run on one thread)
      setNumThreads(4);
      assert.equal(run(true).searches, 12);
    } finally {
      setNumThreads(saved);
    }
    assert.equal(full.searches, 12);
    assert.equal(elkan.searches, 0, 'the Elkan steps assign in the k-means workspace');
    assert.deepEqual(elkan.centroids, full.centroids, `d=${d} k=${k}: the same assignments, hence the same centroids`);
    for (let i = 0; i < full.obj.length; i++) assert.ok(Math.abs(full.obj[i]! - elkan.obj[i]!) <= 1e-5 * full.obj[i]!, `d=${d} iteration ${i}: ${elkan.obj[i]} vs ${full.obj[i]}`);
  }
});
