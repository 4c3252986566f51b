// Every WASM kernel against its TypeScript reference, on random inputs of awkward sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ref from '../src/kernels/reference.js';
import * as refKmeans from '../src/kernels/referenceKmeans.js';
import { FLT_MAX } from '../src/Index.js';
import { Arena } from './helpers/arena.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const DIMS = [1, 3, 4, 7, 8, 13, 16, 17, 31, 64, 100, 128, 257];
const COUNTS = [0, 1, 2, 3, 5, 255, 256, 257, 1000];

/** |a - b| <= tol * (1 + |b|) elementwise: float32 sums in another order. */
function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!);
    assert.ok(err <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: wasm ${a[i]} vs reference ${b[i]}`);
  }
}

test('fvec_L2sqr_ny, fvec_inner_products_ny and norms match the reference', () => {
  let seed = 1;
  for (const d of DIMS) {
    for (const ny of COUNTS) {
      const ar = new Arena(16 << 20);
      const q = randomVectors(1, d, seed++);
      const y = randomVectors(ny, d, seed++);
      const qp = ar.putF32(q);
      const yp = ar.putF32(y);
      const out = ar.alloc(Math.max(4, ny * 4));
      ar.k.fvec_L2sqr_ny(out, qp, yp, d, ny);
      assertClose(ar.f32(out, ny), ref.fvecL2sqrNy(q, y, d, ny), 1e-5, `L2sqr_ny d=${d} ny=${ny}`);
      ar.k.fvec_inner_products_ny(out, qp, yp, d, ny);
      assertClose(ar.f32(out, ny), ref.fvecInnerProductsNy(q, y, d, ny), 1e-5, `IP_ny d=${d} ny=${ny}`);
      ar.k.fvec_norms_L2sqr(out, yp, d, ny);
      assertClose(ar.f32(out, ny), ref.fvecNormsL2sqr(y, d, ny), 1e-5, `norms d=${d} ny=${ny}`);
      if (ny > 0) {
        assert.ok(Math.abs(ar.k.fvec_L2sqr(qp, yp, d) - ref.fvecL2sqr(q, 0, y, 0, d)) < 1e-4);
        assert.ok(Math.abs(ar.k.fvec_inner_product(qp, yp, d) - ref.fvecInnerProduct(q, 0, y, 0, d)) < 1e-4);
      }
    }
  }
});

test('inner_products_block matches the reference (tiles and their edges, any d)', () => {
  let seed = 100;
  for (const d of [1, 3, 4, 8, 12, 17, 64, 128, 260]) {
    for (const [nq, ny] of [[1, 1], [2, 4], [3, 5], [7, 9], [20, 33], [64, 256]] as const) {
      const ar = new Arena(16 << 20);
      const Q = randomVectors(nq, d, seed++);
      const Y = randomVectors(ny, d, seed++);
      const out = ar.alloc(nq * ny * 4 + 64);
      const guard = new Float32Array(ar.memory.buffer, out + nq * ny * 4, 16);
      guard.fill(7);
      ar.k.inner_products_block(out, ny, ar.putF32(Q), nq, ar.putF32(Y), ny, d, ar.alloc(ar.k.packed_bytes(ny, d)));
      assert.ok(guard.every((v) => v === 7), 'nothing written past the output');
      assertClose(ar.f32(out, nq * ny), ref.innerProductsBlock(Q, nq, Y, ny, d), 1e-5, `block d=${d} ${nq}x${ny}`);
      // one query five times: rows 0-3 in the 4-row tile, row 4 alone; the same sums, bit for bit
      const Q5 = new Float32Array(5 * d);
      for (let r = 0; r < 5; r++) Q5.set(Q.subarray(0, d), r * d);
      const out5 = ar.alloc(5 * ny * 4);
      ar.k.inner_products_block(out5, ny, ar.putF32(Q5), 5, ar.putF32(Y), ny, d, ar.alloc(ar.k.packed_bytes(ny, d)));
      const rows = ar.f32(out5, 5 * ny);
      for (let r = 1; r < 5; r++) assert.deepEqual(rows.subarray(r * ny, (r + 1) * ny), rows.subarray(0, ny), `d=${d} ny=${ny}: row ${r} as row 0`);
    }
  }
});

test('fvec_renorm_L2 normalises like the reference and leaves zero vectors alone', () => {
  for (const d of [1, 5, 16, 33]) {
    const ar = new Arena(1 << 20);
    const x = randomVectors(6, d, d);
    x.fill(0, 2 * d, 3 * d);
    const p = ar.putF32(x);
    ar.k.fvec_renorm_L2(p, d, 6);
    const expect = x.slice();
    ref.fvecRenormL2(expect, d, 6);
    assertClose(ar.f32(p, 6 * d), expect, 1e-6, `renorm d=${d}`);
  }
});

test('residuals_n subtracts each key\'s centroid as the reference does, zeros for key -1', () => {
  const rnd = mulberry32(31);
  for (const d of [1, 3, 4, 16, 35, 128]) {
    const ar = new Arena(1 << 20);
    const n = 9;
    const nc = 5;
    const x = randomVectors(n, d, d + 1);
    const c = randomVectors(nc, d, d + 2);
    const keys = Int32Array.from({ length: n }, (_, i) => (i === 4 ? -1 : Math.floor(rnd() * nc)));
    const xp = ar.putF32(x);
    const cp = ar.putF32(c);
    const kp = ar.alloc(n * 4);
    new Int32Array(ar.memory.buffer, kp, n).set(keys);
    ar.k.residuals_n(xp, n, d, cp, kp);
    const expect = x.slice();
    ref.residualsN(expect, n, d, c, keys);
    assert.deepEqual(ar.f32(xp, n * d), expect, `d=${d}`);
    assert.ok(expect.subarray(4 * d, 5 * d).every((v) => v === 0), 'key -1 gives zeros');
  }
});

test('heaps: top-k selection equals the reference, ties broken by id as Faiss does', () => {
  const rnd = mulberry32(7);
  for (const isMax of [1, 0]) {
    for (const k of [1, 2, 5, 10, 64]) {
      for (const n of [0, 1, 3, 10, 100, 1000]) {
        const ar = new Arena(4 << 20);
        // few distinct values: many ties
        const dis = new Float32Array(n).map(() => Math.floor(rnd() * 8));
        const hd = ar.alloc(k * 4);
        const hi = ar.alloc(k * 8);
        ar.k.heap_heapify(isMax, 1, k, hd, hi);
        ar.k.heap_addn(isMax, k, hd, hi, ar.putF32(dis), n, 1000n);
        ar.k.heap_reorder(isMax, 1, k, hd, hi);
        const h = new ref.Heap(k, isMax === 1);
        for (let j = 0; j < n; j++) h.push(dis[j]!, BigInt(1000 + j));
        const r = h.reorder();
        assert.deepEqual(ar.i64(hi, k), r.ids, `ids isMax=${isMax} k=${k} n=${n}`);
        assert.deepEqual(ar.f32(hd, k), r.dis, `dis isMax=${isMax} k=${k} n=${n}`);
        // padding where fewer than k: -1 and +/-FLT_MAX
        if (n < k) {
          assert.equal(ar.i64(hi, k)[k - 1], -1n);
          assert.equal(ar.f32(hd, k)[k - 1], isMax ? Math.fround(FLT_MAX) : -Math.fround(FLT_MAX));
        }
      }
    }
  }
});

test('knn_1q and knn_batch give the exact k-NN of the reference', () => {
  let seed = 500;
  for (const metric of [1, 0]) {
    for (const d of [3, 16, 17, 128]) {
      for (const [nq, ny, k] of [[1, 0, 5], [1, 1, 1], [3, 300, 10], [25, 513, 7], [40, 1000, 100]] as const) {
        const ar = new Arena(32 << 20);
        const Q = randomVectors(nq, d, seed++);
        const Y = randomVectors(ny, d, seed++);
        const Qp = ar.putF32(Q);
        const Yp = ar.putF32(Y);
        const hd = ar.alloc(nq * k * 4);
        const hi = ar.alloc(nq * k * 8);
        const tmp = ar.alloc(ar.k.knn_batch_tmp_bytes(nq, d, 64));
        const expect = ref.knnExact(metric === 1 ? 'L2' : 'IP', Q, nq, Y, ny, d, k);
        // the vectors packed beforehand, with their norms, for knn_batch_packed
        const P = ar.alloc(ar.k.packed_bytes(ny, d));
        const yn = ar.alloc(ny * 4 + 4);
        ar.k.pack_block(P, Yp, ny, d);
        ar.k.fvec_norms_L2sqr(yn, Yp, d, ny);
        const ptmp = ar.alloc(ar.k.knn_batch_packed_tmp_bytes(nq, 64));
        let batch: { dist: Float32Array; labels: BigInt64Array } | undefined;
        for (const mode of ['1q', 'batch', 'packed']) {
          ar.k.heap_heapify(metric, nq, k, hd, hi);
          if (mode === 'batch') ar.k.knn_batch(metric, Qp, nq, Yp, d, ny, k, hd, hi, 0n, 0, tmp, 64);
          else if (mode === 'packed') ar.k.knn_batch_packed(metric, Qp, nq, P, yn, d, ny, k, hd, hi, 0n, 0, ptmp, 64);
          else for (let i = 0; i < nq; i++) ar.k.knn_1q(metric, Qp + i * d * 4, Yp, d, ny, k, hd + i * k * 4, hi + i * k * 8, 0n, tmp);
          ar.k.heap_reorder(metric, nq, k, hd, hi);
          const labels = ar.i64(hi, nq * k);
          const dist = ar.f32(hd, nq * k);
          if (mode === 'batch') batch = { dist, labels };
          if (mode === 'packed') {
            // the same sums as knn_batch's, which packs block by block
            assert.deepEqual(dist, batch!.dist, `packed metric=${metric} d=${d} nq=${nq} ny=${ny}`);
            assert.deepEqual(labels, batch!.labels, `packed metric=${metric} d=${d} nq=${nq} ny=${ny}`);
          }
          // distances agree to float rounding; labels agree except where two distances are within rounding
          assertClose(dist, expect.distances, 1e-4, `${mode} metric=${metric} d=${d}`);
          let mismatched = 0;
          for (let i = 0; i < labels.length; i++) if (labels[i] !== expect.labels[i]) mismatched++;
          assert.ok(mismatched <= Math.ceil(labels.length * 0.002), `${mode} metric=${metric} d=${d} nq=${nq}: ${mismatched} labels differ`);
        }
      }
    }
  }
});

test('knn_list_batch: the queries of one list gathered by index, heaps continued in place, residual queries, in blocks', () => {
  const d = 20;
  const nAll = 30;
  const ny = 150;
  const k = 7;
  let seed = 900;
  for (const metric of [1, 0]) {
    for (const residual of [false, true]) {
      for (const packed of [0, 1]) {
        const ar = new Arena(16 << 20);
        const X = randomVectors(nAll, d, seed++);
        const Y = randomVectors(ny, d, seed++);
        const c = randomVectors(1, d, seed++);
        const Xp = ar.putF32(X);
        const Yp = ar.putF32(Y);
        const cp = ar.putF32(c);
        const ids = ar.alloc(ny * 8);
        const idv = new BigInt64Array(ar.memory.buffer, ids, ny);
        for (let j = 0; j < ny; j++) idv[j] = BigInt(1000 + 3 * j);
        const P = ar.alloc(ar.k.packed_bytes(ny, d));
        const yn = ar.alloc(ny * 4 + 4);
        ar.k.pack_block(P, Yp, ny, d);
        ar.k.fvec_norms_L2sqr(yn, Yp, d, ny);
        // every heap starts from a scan of other vectors, so that the list's scan continues it
        const hd = ar.alloc(nAll * k * 4);
        const hi = ar.alloc(nAll * k * 8);
        const Z = randomVectors(40, d, seed++);
        const Zp = ar.putF32(Z);
        const tmp = ar.alloc(ar.k.knn_batch_tmp_bytes(nAll, d, 64));
        ar.k.heap_heapify(metric, nAll, k, hd, hi);
        ar.k.knn_batch(metric, Xp, nAll, Zp, d, 40, k, hd, hi, 0n, 0, tmp, 64);
        const before = { d: ar.f32(hd, nAll * k), i: ar.i64(hi, nAll * k) };
        // 11 of the 30 queries, out of order
        const chosen = [17, 3, 29, 0, 8, 22, 5, 14, 26, 11, 1];
        const qidx = ar.alloc(chosen.length * 4);
        new Int32Array(ar.memory.buffer, qidx, chosen.length).set(chosen);
        const qb = 4;
        const Qp = ar.alloc(qb * d * 4);
        const HDp = ar.alloc(qb * k * 4);
        const HIp = ar.alloc(qb * k * 8);
        const ltmp = ar.alloc(ar.k.knn_batch_tmp_bytes(qb, d, 64));
        ar.k.knn_list_batch(metric, Xp, qidx, chosen.length, packed ? P : Yp, yn, packed, d, ny, k, hd, hi, ids, Qp, HDp, HIp, qb, residual ? cp : 0, ltmp, 64);
        const got = { d: ar.f32(hd, nAll * k), i: ar.i64(hi, nAll * k) };
        // expected: each chosen query alone, its heap continued by knn_batch over the list
        const q1 = ar.alloc(d * 4);
        const h1d = ar.alloc(k * 4);
        const h1i = ar.alloc(k * 8);
        for (let q = 0; q < nAll; q++) {
          const what = `metric ${metric} residual ${residual} packed ${packed} query ${q}`;
          const row = (a: Float32Array | BigInt64Array) => a.slice(q * k, (q + 1) * k);
          if (!chosen.includes(q)) {
            assert.deepEqual(row(got.d), row(before.d), `${what}: untouched`);
            assert.deepEqual(row(got.i), row(before.i), `${what}: untouched`);
            continue;
          }
          const xq = X.slice(q * d, (q + 1) * d);
          if (residual) for (let t = 0; t < d; t++) xq[t] = Math.fround(xq[t]! - c[t]!);
          new Float32Array(ar.memory.buffer, q1, d).set(xq);
          new Float32Array(ar.memory.buffer, h1d, k).set(row(before.d) as Float32Array);
          new BigInt64Array(ar.memory.buffer, h1i, k).set(row(before.i) as BigInt64Array);
          ar.k.knn_batch(metric, q1, 1, Yp, d, ny, k, h1d, h1i, 0n, ids, tmp, 64);
          assert.deepEqual(row(got.d), ar.f32(h1d, k), what);
          assert.deepEqual(row(got.i), ar.i64(h1i, k), what);
        }
      }
    }
  }
});

test('range_1q returns exactly the vectors within the radius', () => {
  const d = 9;
  const ny = 700;
  const ar = new Arena(8 << 20);
  const q = randomVectors(1, d, 1);
  const y = randomVectors(ny, d, 2);
  const qp = ar.putF32(q);
  const yp = ar.putF32(y);
  const idx = ar.alloc(ny * 4);
  const dis = ar.alloc(ny * 4);
  const tmp = ar.alloc(1024);
  for (const [metric, radius] of [[1, 4.0], [0, 0.5]] as const) {
    const m = ar.k.range_1q(metric, qp, yp, d, ny, radius, idx, dis, tmp);
    const got = new Int32Array(ar.memory.buffer, idx, m).slice();
    const expect: number[] = [];
    for (let j = 0; j < ny; j++) {
      const v = metric === 1 ? ref.fvecL2sqr(q, 0, y, j * d, d) : ref.fvecInnerProduct(q, 0, y, j * d, d);
      if (metric === 1 ? v < radius : v > radius) expect.push(j);
    }
    assert.ok(expect.length > 0 && expect.length < ny, 'the radius selects some but not all');
    assert.deepEqual(Array.from(got), expect);
  }
});

test('kernel build: relaxed SIMD (fused multiply-add) on Node 20 and later, the baseline with SIMDEX_KERNELS=simd', async () => {
  const { kernelModule } = await import('../src/kernels/wasm.js');
  const { execFileSync } = await import('node:child_process');
  const forced = process.env.SIMDEX_KERNELS;
  // Node 20 has it behind a V8 flag that simdex switches on; Node 22 and later by default
  assert.equal(kernelModule().variant, forced === 'simd' ? 'simd' : 'relaxed');
  const url = new URL('../src/kernels/wasm.js', import.meta.url).href;
  const script = `import(${JSON.stringify(url)}).then((m) => console.log(m.kernelModule().variant))`;
  const run = (env: Record<string, string | undefined>): string =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
  assert.equal(run({ SIMDEX_KERNELS: 'simd' }), 'simd');
  assert.equal(run({ SIMDEX_KERNELS: '' }), 'relaxed');
});

test('kmeans_assigned_l2 and kmeans_accumulate match the reference (the sums bit for bit)', () => {
  let seed = 900;
  for (const d of [1, 3, 4, 7, 64, 130]) {
    for (const [n, k, kFrozen] of [[1, 1, 0], [50, 7, 0], [333, 16, 3]] as const) {
      for (const weighted of [false, true]) {
        const ar = new Arena(16 << 20);
        const x = randomVectors(n, d, seed++);
        const c = randomVectors(k, d, seed++);
        const rnd = mulberry32(seed++);
        const assign = Int32Array.from({ length: n }, () => Math.floor(rnd() * k));
        const weights = weighted ? Float32Array.from({ length: n }, () => rnd() * 3) : undefined;
        const xp = ar.putF32(x);
        const ap = ar.alloc(n * 4);
        new Int32Array(ar.memory.buffer, ap, n).set(assign);
        const out = ar.alloc(n * 4);
        ar.k.kmeans_assigned_l2(xp, n, d, ar.putF32(c), ap, out);
        const want = refKmeans.kmeansAssignedL2Reference(x, n, d, c, assign);
        const got = ar.f32(out, n);
        for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + want[i]!), `assigned d=${d} i=${i}`);
        const kk = k - kFrozen;
        const sums = ar.alloc(kk * d * 8);
        const counts = ar.alloc(kk * 8);
        const wp = weights !== undefined ? ar.putF32(weights) : 0;
        ar.k.kmeans_accumulate(xp, n, d, ap, kFrozen, wp, sums, counts);
        const r = refKmeans.kmeansAccumulateReference(x, n, d, assign, kFrozen, weights, k);
        assert.deepEqual(new Float64Array(ar.memory.buffer, sums, kk * d).slice(), r.sums, `sums d=${d} n=${n} weighted=${weighted}`);
        assert.deepEqual(new Float64Array(ar.memory.buffer, counts, kk).slice(), r.counts, `counts d=${d} n=${n}`);
      }
    }
  }
});

test('kmeans_elkan_full, kmeans_elkan_geometry and kmeans_elkan assign as exhaustive search, and their bounds hold', () => {
  let seed = 1300;
  const slack = 1 - 1e-5;
  for (const d of [3, 16, 130]) {
    for (const [n, k, offset] of [[200, 2, 0], [300, 37, 0], [257, 64, 0], [300, 16, 1000]] as const) {
      const ar = new Arena(32 << 20);
      const rnd = mulberry32(seed++);
      // points around k/2 centres (offset: far from the origin, where the GEMM's distances round badly)
      const centres = randomVectors(Math.max(1, k >> 1), d, seed++);
      const x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const g = Math.floor(rnd() * (k >> 1 || 1));
        for (let t = 0; t < d; t++) x[i * d + t] = offset + 4 * centres[g * d + t]! + (rnd() - 0.5);
      }
      x.copyWithin(d * (n - 3), 0, 3 * d); // duplicated points
      let c = new Float32Array(k * d);
      for (let j = 0; j < k; j++) c.set(x.subarray(((j * 7) % n) * d, ((j * 7) % n + 1) * d), j * d);
      const xp = ar.putF32(x);
      const cp = ar.alloc(k * d * 4);
      const prevp = ar.alloc(k * d * 4);
      const cn = ar.alloc(k * 4);
      const pack = ar.alloc(ar.k.packed_bytes(k, d));
      const lowerp = ar.alloc(n * k * 4);
      const ap = ar.alloc(n * 4);
      const disp = ar.alloc(n * 4);
      const half = ar.alloc(k * k * 4);
      const sep = ar.alloc(k * 4);
      const moved = ar.alloc(k * 4);
      const cand = ar.alloc((k + 4) * 4);
      /** The kernel's bounds: stored offset by the centroids' summed movements, read with its margin. */
      const bounds = (): Float64Array => {
        const stored = ar.f32(lowerp, n * k);
        const m = ar.f32(moved, k);
        return Float64Array.from(stored, (v, i) => v - m[i % k]! * (1 + 2 ** -16));
      };
      const check = (what: string): Int32Array => {
        const want = refKmeans.kmeansNearestReference(x, n, d, c, k);
        const assign = new Int32Array(ar.memory.buffer, ap, n).slice();
        const dis = ar.f32(disp, n);
        const lower = bounds();
        for (let i = 0; i < n; i++) {
          const got = want.all[i * k + assign[i]!]!;
          assert.ok(got <= want.dis[i]! * (1 + 1e-6) + 1e-9, `${what} d=${d} k=${k}: point ${i} assigned at ${got}, nearest at ${want.dis[i]}`);
          assert.ok(Math.abs(dis[i]! - got) <= 1e-5 * (got + 1e-3), `${what}: dis of point ${i}`);
          for (let j = 0; j < k; j++) {
            const exact = Math.sqrt(want.all[i * k + j]!);
            assert.ok(lower[i * k + j]! <= exact * (1 + 2e-6) + 1e-6, `${what} d=${d} k=${k} offset=${offset}: bound (${i}, ${j}) ${lower[i * k + j]} above the distance ${exact}`);
          }
        }
        return assign;
      };
      // full step: the GEMM's inner products, then the kernel
      new Float32Array(ar.memory.buffer, cp, k * d).set(c);
      ar.k.fvec_norms_L2sqr(cn, cp, d, k);
      const cmax = Math.max(...ar.f32(cn, k));
      ar.k.pack_block(pack, cp, k, d);
      ar.k.inner_products_packed(lowerp, k, xp, n, pack, k, d);
      const full = ar.k.kmeans_elkan_full(xp, n, d, cp, k, cn, cmax, 4e-6 * Math.sqrt(d), ap, lowerp, disp);
      assert.ok(full >= n && full <= n * k, `full step computed ${full}`);
      new Float32Array(ar.memory.buffer, moved, k).fill(0);
      check('full');
      const movedRef = new Float64Array(k);
      // bounded steps: the centroids move towards their points' mean, plus a shrinking jolt
      let computed = 0;
      for (let step = 0; step < 5; step++) {
        const prev = c;
        c = prev.slice();
        const assign = new Int32Array(ar.memory.buffer, ap, n).slice();
        const sums = refKmeans.kmeansAccumulateReference(x, n, d, assign, 0, undefined, k);
        for (let j = 0; j < k; j++) {
          for (let t = 0; t < d; t++) {
            const mean = sums.counts[j]! > 0 ? sums.sums[j * d + t]! / sums.counts[j]! : prev[j * d + t]!;
            c[j * d + t] = mean + (rnd() - 0.5) * 0.5 ** step;
          }
        }
        new Float32Array(ar.memory.buffer, prevp, k * d).set(prev);
        new Float32Array(ar.memory.buffer, cp, k * d).set(c);
        // the reference starts from the kernel's bounds as they stand before the step
        const rLower = bounds();
        ar.k.kmeans_elkan_geometry(cp, prevp, k, d, half, sep, moved);
        const g = refKmeans.kmeansElkanGeometryReference(c, prev, k, d);
        const close = (got: Float32Array, want: Float64Array, what: string): void => {
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)) || got[i] === want[i], `${what} ${i}: ${got[i]} vs ${want[i]}`);
        };
        close(ar.f32(half, k * k), g.half, 'half');
        close(ar.f32(sep, k), g.sep, 'sep');
        for (let j = 0; j < k; j++) movedRef[j] += g.drift[j]!;
        close(ar.f32(moved, k), movedRef, 'moved');
        const rAssign = assign.slice();
        const rDis = new Float64Array(n);
        refKmeans.kmeansElkanReference(x, n, d, c, k, g, slack, rAssign, rLower, rDis);
        computed += ar.k.kmeans_elkan(xp, n, d, cp, k, half, sep, moved, slack, ap, lowerp, disp, cand);
        const got = check(`step ${step}`);
        const want = refKmeans.kmeansNearestReference(x, n, d, c, k);
        for (let i = 0; i < n; i++) {
          if (got[i] === rAssign[i]) continue;
          // they may differ only on a tie
          assert.ok(Math.abs(want.all[i * k + got[i]!]! - want.all[i * k + rAssign[i]!]!) <= 1e-6 * want.dis[i]! + 1e-9, `step ${step}: point ${i}, kernel ${got[i]}, reference ${rAssign[i]}`);
        }
      }
      if (k > 2 && offset === 0) assert.ok(computed < 5 * n * k * 0.6, `d=${d} k=${k}: the bounds ruled out distances (${computed} of ${5 * n * k} computed)`);
    }
  }
});

test('fvec_first_nonfinite finds the first NaN or infinity as the reference does', () => {
  const ar = new Arena(1 << 20);
  const rnd = mulberry32(77);
  for (const n of [0, 1, 15, 16, 17, 64, 1000]) {
    const x = Float32Array.from({ length: n }, () => rnd() * 2 - 1);
    const xp = ar.putF32(x);
    assert.equal(ar.k.fvec_first_nonfinite(xp, n), -1, `n=${n}, all finite`);
    assert.equal(ar.k.fvec_first_nonfinite(xp, n), ref.fvecFirstNonFinite(x));
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, n >> 1, n - 1].filter((i) => i >= 0 && i < n)) {
        const y = x.slice();
        y[at] = bad;
        if (at + 3 < n) y[at + 3] = NaN; // a later one does not hide the first
        const yp = ar.putF32(y);
        assert.equal(ar.k.fvec_first_nonfinite(yp, n), at, `n=${n}, ${bad} at ${at}`);
        assert.equal(ref.fvecFirstNonFinite(y), at);
      }
    }
    // the largest finite floats and subnormals are finite
    const z = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 3.4028234663852886e38 : 1e-45));
    assert.equal(ar.k.fvec_first_nonfinite(ar.putF32(z), n), -1);
  }
});
