// Exact L2 search with projected lower bounds (search/ProjectedL2Bounds, assembly/bounds.ts): the
// kernels against their references, and IndexFlatL2 with bounds against the same index scanning
// every vector, on data where the bounds are tight, loose, offset, degenerate, and on two threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { Clustering } from '../src/clustering/Clustering.js';
import { generateDataset } from '../src/bench/dataset.js';
import { boundsBlockReference, boundsProjectReference, boundsRefineReference, boundsSelectReference } from '../src/kernels/referenceBounds.js';
import { getNumThreads, setNumThreads } from '../src/threads/pool.js';
import { Arena } from './helpers/arena.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

/** r orthonormal rows of d floats (Gram-Schmidt in double on random rows). */
function orthonormalRows(r: number, d: number, seed: number): Float32Array {
  const y = Float64Array.from(randomVectors(r, d, seed));
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < a; b++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += y[a * d + t]! * y[b * d + t]!;
      for (let t = 0; t < d; t++) y[a * d + t] -= dot * y[b * d + t]!;
    }
    let nn = 0;
    for (let t = 0; t < d; t++) nn += y[a * d + t]! ** 2;
    for (let t = 0; t < d; t++) y[a * d + t] /= Math.sqrt(nn);
  }
  return Float32Array.from(y);
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j]!;
  return t;
}

test('bounds_project: projections on an orthonormal basis and the residual norm, as the reference', () => {
  let seed = 11;
  for (const [d, r, n] of [[64, 8, 37], [100, 16, 5], [128, 32, 70], [257, 24, 9]] as const) {
    const ar = new Arena(32 << 20);
    const x = randomVectors(n, d, seed++);
    const mean = randomVectors(1, d, seed++).map((v) => v * 0.3);
    const basis = orthonormalRows(r, d, seed++);
    const Pb = ar.alloc(ar.k.packed_bytes(r, d));
    ar.k.pack_block(Pb, ar.putF32(basis), r, d);
    const PbT = ar.alloc(ar.k.packed_bytes(d, r));
    ar.k.pack_block(PbT, ar.putF32(transpose(basis, r, d)), d, r);
    const X = ar.putF32(x);
    const out = ar.alloc(n * (r + 1) * 4);
    const norms = ar.alloc(n * 4);
    ar.k.bounds_project(X, n, d, ar.putF32(mean), r, Pb, PbT, ar.alloc(n * r * 4), ar.alloc(n * d * 4), out, norms);
    const want = boundsProjectReference(x, n, d, mean, basis, r);
    const got = ar.f32(out, n * (r + 1));
    const gotNorms = ar.f32(norms, n);
    for (let i = 0; i < n; i++) {
      const scale = Math.sqrt(want.norms[i]!);
      assert.ok(Math.abs(gotNorms[i]! - want.norms[i]!) <= 1e-5 * want.norms[i]!, `norm d=${d} i=${i}`);
      for (let a = 0; a <= r; a++) {
        const e = Math.abs(got[i * (r + 1) + a]! - want.low[i * (r + 1) + a]!);
        assert.ok(e <= 1e-5 * scale, `d=${d} r=${r} row ${i} coordinate ${a}: ${got[i * (r + 1) + a]} vs ${want.low[i * (r + 1) + a]}`);
      }
    }
  }
});

test('bounds_block: squared distances of a block of queries to packed vectors and the k smallest of each', () => {
  let seed = 40;
  for (const [d, nq, ny, k] of [[17, 13, 517, 5], [33, 4, 64, 1], [9, 7, 1000, 16]] as const) {
    const ar = new Arena(32 << 20);
    const Q = randomVectors(nq, d, seed++);
    const Y = randomVectors(ny, d, seed++);
    const P = ar.alloc(ar.k.packed_bytes(ny, d));
    const Yp = ar.putF32(Y);
    ar.k.pack_block(P, Yp, ny, d);
    const yn = ar.alloc(ny * 4);
    ar.k.fvec_norms_L2sqr(yn, Yp, d, ny);
    const B = ar.alloc(nq * ny * 4);
    const hd = ar.alloc(nq * k * 4);
    const hi = ar.alloc(nq * k * 8);
    ar.k.bounds_block(B, ar.putF32(Q), nq, ar.alloc(nq * 4), P, yn, ny, d, k, hd, hi);
    const want = boundsBlockReference(Q, nq, Y, ny, d, k);
    const got = ar.f32(B, nq * ny);
    for (let e = 0; e < nq * ny; e++) assert.ok(Math.abs(got[e]! - want.B[e]!) <= 1e-5 * (1 + want.B[e]!), `B[${e}]`);
    const dis = ar.f32(hd, nq * k);
    const ids = ar.i64(hi, nq * k);
    for (let i = 0; i < nq; i++) {
      // the heap is unordered: sort it by (distance, id)
      const got = [...Array(k).keys()].map((j) => ({ v: dis[i * k + j]!, id: ids[i * k + j]! }));
      got.sort((a, b) => a.v - b.v || Number(a.id - b.id));
      assert.deepEqual(got.map((g) => g.id), [...want.ids.subarray(i * k, (i + 1) * k)], `query ${i}`);
    }
  }
});

test('bounds_select: the ids under each threshold, stopping before the id space runs out', () => {
  const ar = new Arena(8 << 20);
  const nq = 6;
  const ny = 203;
  const rnd = mulberry32(5);
  const rows = Float32Array.from({ length: nq * ny }, () => rnd());
  const thr = Float32Array.from([0.5, 0, 1, 0.1, 0.9, rows[4 * ny + 7]!]);
  const B = ar.putF32(rows);
  const T = ar.putF32(thr);
  const ids = ar.alloc(nq * ny * 8);
  const lims = ar.alloc((nq + 1) * 4);
  // room for every query
  assert.equal(ar.k.bounds_select(B, 0, nq, ny, T, ids, lims, nq * ny), nq);
  const l = new Int32Array(ar.memory.buffer, lims, nq + 1).slice();
  const all = ar.i64(ids, l[nq]!);
  for (let i = 0; i < nq; i++) {
    const want = boundsSelectReference(rows.subarray(i * ny, (i + 1) * ny), thr[i]!);
    assert.deepEqual([...all.subarray(l[i]!, l[i + 1]!)].map(Number), want, `query ${i}`);
  }
  // room for one row of candidates and 10 more: from query 1 (threshold 0, no candidates), query 2
  // (every id) fits, query 3 might not
  assert.equal(ar.k.bounds_select(B, 1, nq, ny, T, ids, lims, ny + 10), 2);
  const l2 = new Int32Array(ar.memory.buffer, lims, 3).slice();
  const part = ar.i64(ids, l2[2]!);
  assert.deepEqual([...part.subarray(l2[1]!, l2[2]!)].map(Number), boundsSelectReference(rows.subarray(2 * ny, 3 * ny), thr[2]!));
  assert.equal(l2[1], 0, 'threshold 0 selects nothing');
});

test('bounds_refine: the exact k best of each query\'s candidates, -1 past the candidates', () => {
  const ar = new Arena(8 << 20);
  const d = 70;
  const ny = 300;
  const k = 4;
  const q = randomVectors(3, d, 61);
  const y = randomVectors(ny, d, 62);
  const lists = [[5, 17, 200, 3, 299, 41], [], [8, 9]];
  const flat = lists.flat();
  const ids = ar.alloc(flat.length * 8 + 8);
  new BigInt64Array(ar.memory.buffer, ids, flat.length).set(flat.map(BigInt));
  const lims = ar.alloc(16);
  new Int32Array(ar.memory.buffer, lims, 4).set([0, 6, 6, 8]);
  const hd = ar.alloc(3 * k * 4);
  const hi = ar.alloc(3 * k * 8);
  ar.k.bounds_refine(ar.putF32(q), 3, d, ar.putF32(y), ids, lims, k, hd, hi, ar.alloc(ny * 4));
  const dis = ar.f32(hd, 3 * k);
  const lab = ar.i64(hi, 3 * k);
  for (let i = 0; i < 3; i++) {
    const want = boundsRefineReference(q.subarray(i * d, (i + 1) * d), y, d, lists[i]!, k);
    assert.deepEqual([...lab.subarray(i * k, (i + 1) * k)], [...want.ids], `query ${i} labels`);
    for (let j = 0; j < k; j++) {
      if (want.ids[j]! < 0n) continue;
      assert.ok(Math.abs(dis[i * k + j]! - want.dis[j]!) <= 1e-5 * want.dis[j]!, `query ${i} distance ${j}`);
    }
  }
});

/** A full scan and a search with bounds of the same vectors agree: same labels, distances to rounding. */
function assertBoundsExact(base: Float32Array, queries: Float32Array, d: number, ks: readonly number[], what: string, expectUsed = true): void {
  const plain = new IndexFlatL2(d);
  plain.useBounds = false;
  plain.add(base);
  const idx = new IndexFlatL2(d);
  idx.add(base);
  const n = queries.length / d;
  for (const k of ks) {
    const want = plain.search(queries, k);
    // twice: the first search may only count the queries towards building the bounds
    idx.search(queries, k);
    const got = idx.search(queries, k);
    if (expectUsed) {
      const st = idx.boundsStats;
      assert.ok(st !== undefined && st.queries === n, `${what} k=${k}: the bounds were used`);
    }
    for (let i = 0; i < n * k; i++) {
      assert.equal(got.labels[i], want.labels[i], `${what} k=${k}: label ${i} (${got.distances[i]} vs ${want.distances[i]})`);
      assert.ok(Math.abs(got.distances[i]! - want.distances[i]!) <= 1e-4 * (1 + want.distances[i]!), `${what} k=${k}: distance ${i}`);
    }
  }
  idx.dispose();
  plain.dispose();
}

test('IndexFlatL2 with bounds: the results of a full scan on clustered data, few distances computed', () => {
  const ds = generateDataset({ d: 128, n: 3000, nq: 300, seed: 7 });
  assertBoundsExact(ds.base, ds.queries, 128, [1, 2, 10, 16, 32], 'clustered');
  // few vectors for k = 32: a block's 64 x 32 smallest bounds outnumber twice the vectors
  assertBoundsExact(ds.base.subarray(0, 600 * 128), ds.queries, 128, [16, 32], 'few vectors');
  const idx = new IndexFlatL2(128);
  idx.add(ds.base);
  idx.search(ds.queries, 1);
  idx.search(ds.queries, 1);
  const st = idx.boundsStats!;
  assert.ok(st.candidates < 0.05 * st.queries * idx.ntotal, `candidates ${st.candidates} of ${st.queries * idx.ntotal}: the bounds prune`);
});

test('IndexFlatL2 with bounds: exact on offset, low-rank, duplicated and structureless data', () => {
  const d = 64;
  const ds = generateDataset({ d, n: 1500, nq: 120, seed: 3 });
  // far from the origin, where the full scan's ||x||^2 + ||y||^2 - 2<x, y> loses the distances to
  // rounding (as Faiss's does): against double precision, the centred bounds and direct distances hold
  const shift = (x: Float32Array): Float32Array => x.map((v, i) => v + 1000 + (i % d));
  const base = shift(ds.base);
  const queries = shift(ds.queries);
  const idx = new IndexFlatL2(d);
  idx.add(base);
  for (const k of [1, 5]) {
    idx.search(queries, k);
    const got = idx.search(queries, k);
    assert.ok(idx.boundsStats !== undefined);
    for (let i = 0; i < 120; i++) {
      const exact = Array.from({ length: 1500 }, (_, j) => {
        let s = 0;
        for (let t = 0; t < d; t++) s += (queries[i * d + t]! - base[j * d + t]!) ** 2;
        return s;
      });
      const best = [...exact].sort((a, b) => a - b);
      for (let j = 0; j < k; j++) {
        const e = exact[Number(got.labels[i * k + j])]!;
        assert.ok(Math.abs(e - best[j]!) <= 1e-5 * best[j]!, `offset k=${k} query ${i} rank ${j}: ${e} vs ${best[j]}`);
        assert.ok(Math.abs(got.distances[i * k + j]! - e) <= 1e-4 * e, `offset k=${k} query ${i} rank ${j}: distance`);
      }
    }
  }
  idx.dispose();
  // stored vectors in a 6-dimensional subspace (their residuals are 0), queries off it
  const basis = orthonormalRows(6, d, 9);
  const coef = randomVectors(800, 6, 10);
  const low = new Float32Array(800 * d);
  for (let i = 0; i < 800; i++) for (let a = 0; a < 6; a++) for (let t = 0; t < d; t++) low[i * d + t] += coef[i * 6 + a]! * basis[a * d + t]!;
  assertBoundsExact(low, randomVectors(100, d, 11), d, [1, 3], 'low rank');
  // every vector four times: ties resolve by id as in the scan
  const dup = new Float32Array(4 * 200 * d);
  for (let c = 0; c < 4; c++) dup.set(ds.base.subarray(0, 200 * d), c * 200 * d);
  assertBoundsExact(dup, ds.queries, d, [1, 4, 9], 'duplicates');
  // uniform noise: loose bounds, still exact (and then turned off for these vectors)
  assertBoundsExact(randomVectors(1024, d, 12), randomVectors(100, d, 13), d, [2], 'uniform', false);
});

test('IndexFlatL2 with bounds: adds and resets rebuild them; two threads give the same results; k > 16 scans', () => {
  const d = 96;
  const ds = generateDataset({ d, n: 2000, nq: 200, seed: 21 });
  const idx = new IndexFlatL2(d);
  idx.add(ds.base.subarray(0, 1000 * d));
  idx.search(ds.queries, 3);
  idx.search(ds.queries, 3);
  assert.ok(idx.boundsStats !== undefined);
  // the queries themselves join the index: each is then its own nearest neighbour
  idx.add(ds.queries);
  assert.equal(idx.boundsStats, undefined, 'an add drops the bounds');
  for (let rep = 0; rep < 2; rep++) {
    const r = idx.search(ds.queries, 3);
    for (let i = 0; i < 200; i++) assert.equal(r.labels[i * 3], BigInt(1000 + i), `query ${i} finds itself`);
  }
  const plain = new IndexFlatL2(d);
  plain.useBounds = false;
  plain.add(ds.base.subarray(0, 1000 * d));
  plain.add(ds.queries);
  const want = plain.search(ds.base.subarray(1000 * d), 5);
  const before = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const got = idx.search(ds.base.subarray(1000 * d), 5);
      assert.deepEqual(got.labels, want.labels, `${threads} threads`);
    }
  } finally {
    setNumThreads(before);
  }
  const stats = idx.boundsStats;
  idx.search(ds.queries, 20);
  assert.deepEqual(idx.boundsStats, stats, 'k = 20 scans in full');
  idx.reset();
  assert.equal(idx.boundsStats, undefined);
  idx.dispose();
  plain.dispose();
});

test('k-means assigns with the bounds as with a full scan', () => {
  const d = 128;
  const ds = generateDataset({ d, n: 20000, nq: 0, seed: 5 });
  /** Counts the searches that used the bounds. */
  class Watched extends IndexFlatL2 {
    withBounds = 0;
    override search(x: Float32Array, k: number): ReturnType<IndexFlatL2['search']> {
      const r = super.search(x, k);
      if (this.boundsStats?.queries === x.length / d) this.withBounds++;
      return r;
    }
  }
  const run = (useBounds: boolean): { centroids: Float32Array; obj: number[]; index: Watched } => {
    const index = new Watched(d);
    index.useBounds = useBounds;
    const c = new Clustering(d, 512, { niter: 6, seed: 3 });
    c.train(ds.base, index);
    return { centroids: c.centroids, obj: c.iterationStats.map((s) => s.obj), index };
  };
  const a = run(false);
  const b = run(true);
  assert.equal(a.index.withBounds, 0);
  assert.ok(b.index.withBounds >= 5, `k-means searched with the bounds (${b.index.withBounds} times)`);
  // the same assignments: the same centroids (sums in the same order), objectives to rounding
  assert.deepEqual(b.centroids, a.centroids);
  for (let i = 0; i < a.obj.length; i++) assert.ok(Math.abs(a.obj[i]! - b.obj[i]!) <= 1e-5 * a.obj[i]!, `iteration ${i}`);
});
