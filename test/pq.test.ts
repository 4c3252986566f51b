import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProductQuantizer, IndexPQ, IndexIVFPQ, IndexFlatL2, IndexFlatIP, MetricType, ArrayInvertedLists,
  setNumThreads, getNumThreads, InvalidArgumentError, NotTrainedError, NotSupportedError, DirectMapType,
} from '../src/simdex.js';
import { knnExact } from '../src/kernels/reference.js';
import { packCode, pqCodeDistanceRef, pqComputeCodesRef, pqDistanceTableRef, pqScanRef } from '../src/kernels/pqReference.js';
import { writeTransposed } from '../src/search/pqScan.js';
import { generateDataset } from '../src/bench/dataset.js';
import { Arena } from './helpers/arena.js';
import { recallAtK, runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const quiet = (): void => {};


/** Random codes whose unused high bits are zero (as real codes are). */
function validCodes(n: number, M: number, nbits: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const cs = Math.ceil((M * nbits) / 8);
  const out = new Uint8Array(n * cs);
  const sub = new Int32Array(M);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < M; m++) sub[m] = Math.floor(r() * (1 << nbits));
    packCode(sub, nbits, out, i * cs);
  }
  return out;
}

// ---- kernels against the reference ------------------------------------------------------------

test('pq_distance_table / pq_distance_tables: bit-identical to the reference (L2 and IP, awkward sizes)', () => {
  const a = new Arena();
  for (const [M, nbits, dsub] of [[3, 4, 5], [7, 1, 3], [5, 5, 1], [4, 8, 4], [3, 5, 4], [2, 2, 4], [2, 6, 7], [1, 3, 16], [6, 2, 2], [16, 8, 8]] as const) {
    const ksub = 1 << nbits;
    const d = M * dsub;
    const c = randomVectors(M * ksub, dsub, 100 + M);
    const cT = new Float32Array(d * ksub);
    writeTransposed(c, M, ksub, dsub, cT);
    const cTp = a.putF32(cT);
    const n = 3;
    const x = randomVectors(n, d, 200 + dsub);
    const xp = a.putF32(x);
    for (const metric of ['L2', 'IP'] as const) {
      const out = a.alloc(n * M * ksub * 4);
      a.k.pq_distance_tables(metric === 'L2' ? 1 : 0, xp, n, cTp, M, ksub, dsub, out);
      const got = a.f32(out, n * M * ksub);
      for (let i = 0; i < n; i++) {
        const ref = pqDistanceTableRef(metric, x, i * d, c, M, ksub, dsub);
        assert.deepEqual(got.subarray(i * M * ksub, (i + 1) * M * ksub), ref, `${metric} M=${M} nbits=${nbits} dsub=${dsub} vector ${i}`);
      }
    }
  }
});

test('pq_compute_codes: the reference codes (nearest sub-centroid, first on ties, packed LSB first) for nbits 1..8', () => {
  const a = new Arena();
  for (let nbits = 1; nbits <= 8; nbits++) {
    for (const [M, dsub] of [[5, 3], [7, 1], [8, 4], [3, 9]] as const) {
      const ksub = 1 << nbits;
      const d = M * dsub;
      const c = randomVectors(M * ksub, dsub, 300 + nbits * 10 + M);
      // duplicated centroids: ties go to the first
      if (ksub >= 4) for (let m = 0; m < M; m++) c.copyWithin((m * ksub + ksub - 1) * dsub, (m * ksub + 1) * dsub, (m * ksub + 2) * dsub);
      const cT = new Float32Array(d * ksub);
      writeTransposed(c, M, ksub, dsub, cT);
      const n = 41;
      const x = randomVectors(n, d, 400 + nbits);
      // exact copies of centroids, and a NaN vector (code 0 everywhere, as Faiss)
      for (let m = 0; m < M; m++) x.set(c.subarray((m * ksub + ksub - 1) * dsub, (m * ksub + ksub) * dsub), m * dsub);
      x.fill(NaN, 40 * d, 41 * d);
      const cs = Math.ceil((M * nbits) / 8);
      const out = a.alloc(n * cs);
      a.k.pq_compute_codes(a.putF32(x), n, a.putF32(cT), M, ksub, dsub, nbits, out);
      const got = new Uint8Array(a.memory.buffer, out, n * cs).slice();
      const ref = pqComputeCodesRef(x, n, c, M, ksub, dsub, nbits);
      assert.deepEqual(got, ref, `nbits=${nbits} M=${M} dsub=${dsub}`);
      assert.deepEqual(got.subarray(40 * cs, 41 * cs), new Uint8Array(cs), 'NaN vector encodes as 0');
      if (ksub >= 4) {
        const pq = new ProductQuantizer(d, M, nbits);
        pq.centroids = c;
        for (let m = 0; m < M; m++) assert.equal(pq.subCode(got, 0, m), 1, 'tie between centroids 1 and ksub-1 goes to 1');
        pq.dispose();
      }
    }
  }
});

test('pq_scan / pq_scan_ids: the reference heaps (distances and labels), 8-bit fast path, nbits 3..7, grouped sums', () => {
  const a = new Arena();
  for (const [M, nbits] of [[8, 8], [6, 8], [16, 8], [5, 4], [8, 4], [7, 3], [4, 6], [9, 5], [12, 7], [3, 8]] as const) {
    const ksub = 1 << nbits;
    const cs = Math.ceil((M * nbits) / 8);
    const n = 37;
    const codes = validCodes(n, M, nbits, M * 31 + nbits);
    const table = randomVectors(M, ksub, nbits * 7 + M);
    // ties: code 5 equals code 2
    codes.copyWithin(5 * cs, 2 * cs, 3 * cs);
    const ids = BigInt64Array.from({ length: n }, (_, j) => BigInt(1000 - 3 * j));
    const cp = a.putU8(codes);
    const tp = a.putF32(table);
    const ip = a.putI64(ids);
    for (const metric of ['L2', 'IP'] as const) {
      for (const grouped of [false, true]) {
        for (const k of [1, 5, 50]) {
          for (const dis0 of [0, 1.5]) {
            const isMax = metric === 'L2' ? 1 : 0;
            const hd = a.alloc(k * 4);
            const hi = a.alloc(k * 8);
            a.k.heap_heapify(isMax, 1, k, hd, hi);
            a.k.pq_scan(isMax, cp, n, M, nbits, tp, grouped ? 1 : 0, dis0, k, hd, hi, 7n);
            a.k.heap_reorder(isMax, 1, k, hd, hi);
            const ref = pqScanRef(metric, codes, n, M, nbits, table, grouped, dis0, k, undefined, 7n);
            const what = `${metric} M=${M} nbits=${nbits} grouped=${grouped} k=${k} dis0=${dis0}`;
            assert.deepEqual(a.i64(hi, k), ref.ids, what);
            assert.deepEqual(a.f32(hd, k), ref.dis, what);
            a.k.heap_heapify(isMax, 1, k, hd, hi);
            a.k.pq_scan_ids(isMax, cp, ip, n, M, nbits, tp, grouped ? 1 : 0, dis0, k, hd, hi);
            a.k.heap_reorder(isMax, 1, k, hd, hi);
            const refIds = pqScanRef(metric, codes, n, M, nbits, table, grouped, dis0, k, ids);
            assert.deepEqual(a.i64(hi, k), refIds.ids, `ids ${what}`);
            assert.deepEqual(a.f32(hd, k), refIds.dis, `ids ${what}`);
          }
        }
      }
      const out = a.alloc(n * 4);
      a.k.pq_code_distances(cp, n, M, nbits, tp, 1, 0.25, out);
      const dist = a.f32(out, n);
      for (let j = 0; j < n; j++) assert.equal(dist[j], pqCodeDistanceRef(codes, j * cs, M, nbits, table, true, 0.25));
    }
  }
});

test('pq_madd and pq_assign: Faiss fvec_madd and the exact nearest centroid', () => {
  const a = new Arena();
  const n = 37;
  const x = randomVectors(1, n, 1);
  const y = randomVectors(1, n, 2);
  const out = a.alloc(n * 4);
  a.k.pq_madd(n, a.putF32(x), -2, a.putF32(y), out);
  const got = a.f32(out, n);
  for (let i = 0; i < n; i++) assert.equal(got[i], Math.fround(x[i]! + Math.fround(-2 * y[i]!)));
  for (const [k, dsub] of [[256, 4], [13, 3], [2, 1], [64, 16]] as const) {
    const c = randomVectors(k, dsub, k + dsub);
    const cT = new Float32Array(k * dsub);
    writeTransposed(c, 1, k, dsub, cT);
    const m = 100;
    const v = randomVectors(m, dsub, 5);
    const lp = a.alloc(m * 8);
    const dp = a.alloc(m * 4);
    a.k.pq_assign(a.putF32(v), m, a.putF32(cT), k, dsub, lp, dp);
    const exact = knnExact('L2', v, m, c, k, dsub, 1);
    const tab = pqDistanceTableRef('L2', v, 0, c, 1, k, dsub);
    assert.deepEqual(a.i64(lp, m), exact.labels);
    assert.equal(a.f32(dp, 1)[0], tab[Number(exact.labels[0])]);
  }
});

test('pq_ivf_precomputed_list / _queries: the scan of the table pre - 2 * sim2 (pq_madd then the reference scan), bit for bit, short and long lists, nbits 8 and 6', () => {
  const a = new Arena();
  const d = 24;
  for (const [M, nbits] of [[8, 8], [6, 8], [4, 6]] as const) {
    const ksub = 1 << nbits;
    const tab = M * ksub;
    const cs = Math.ceil((M * nbits) / 8);
    // 2500 codes: past the rows' room (256 + n <= M * ksub) for M = 8, 6 at 8 bits
    for (const n of [37, 2500]) {
      const codes = validCodes(n, M, nbits, M * 13 + n);
      codes.copyWithin(5 * cs, 2 * cs, 3 * cs); // a tie
      const ids = BigInt64Array.from({ length: n }, (_, j) => BigInt(5000 - 2 * j));
      const nq = 3;
      const pre = randomVectors(1, tab, n + M);
      const sim2 = randomVectors(nq, tab, n + M + 1);
      const X = randomVectors(nq, d, n + 2);
      const c = randomVectors(1, d, n + 3);
      const cp = a.putU8(codes);
      const ip = a.putI64(ids);
      const preP = a.putF32(pre);
      const simP = a.putF32(sim2);
      const Xp = a.putF32(X);
      const centP = a.putF32(c);
      const room = a.alloc(tab * 4);
      const k = 10;
      const hd = a.alloc(nq * k * 4);
      const hi = a.alloc(nq * k * 8);
      // expected: each query's table made by pq_madd, scanned by the reference
      const want: { dis: Float32Array; ids: BigInt64Array }[] = [];
      const tp = a.alloc(tab * 4);
      for (let q = 0; q < nq; q++) {
        a.k.pq_madd(tab, preP, -2, simP + q * tab * 4, tp);
        // dis0 = ||q - c||^2 as the kernels sum it
        const d0 = a.k.fvec_L2sqr(Xp + q * d * 4, centP, d);
        want.push(pqScanRef('L2', codes, n, M, nbits, a.f32(tp, tab), false, d0, k, ids));
      }
      a.k.heap_heapify(1, nq, k, hd, hi);
      for (let q = 0; q < nq; q++) {
        a.k.pq_ivf_precomputed_list(Xp + q * d * 4, centP, d, preP, simP + q * tab * 4, room, 1, M, nbits, cp, ip, n, k, hd + q * k * 4, hi + q * k * 8);
      }
      a.k.heap_reorder(1, nq, k, hd, hi);
      const what = `M=${M} nbits=${nbits} n=${n}`;
      for (let q = 0; q < nq; q++) {
        assert.deepEqual(a.f32(hd + q * k * 4, k), want[q]!.dis, `list ${what} query ${q}`);
        assert.deepEqual(a.i64(hi + q * k * 8, k), want[q]!.ids, `list ${what} query ${q}`);
      }
      // the queries of a batch that probe the list, by index (2 and 0; query 1 untouched)
      const qidx = a.alloc(8);
      new Int32Array(a.memory.buffer, qidx, 2).set([2, 0]);
      a.k.heap_heapify(1, nq, k, hd, hi);
      a.k.pq_ivf_precomputed_queries(Xp, simP, qidx, 2, centP, d, preP, room, M, nbits, cp, ip, n, k, hd, hi);
      a.k.heap_reorder(1, nq, k, hd, hi);
      for (const q of [0, 2]) {
        assert.deepEqual(a.f32(hd + q * k * 4, k), want[q]!.dis, `queries ${what} query ${q}`);
        assert.deepEqual(a.i64(hi + q * k * 8, k), want[q]!.ids, `queries ${what} query ${q}`);
      }
      assert.deepEqual(a.i64(hi + k * 8, k), new BigInt64Array(k).fill(-1n), `queries ${what}: query 1 not probed`);
    }
  }
});

test('pq_ivf_residual_list: the residual, its L2 table (pq_distance_table) and the reference scan, bit for bit, short and long lists, nbits 8 and 6, dsub 4 and 3', () => {
  const a = new Arena();
  for (const [M, nbits, dsub] of [[8, 8, 4], [6, 8, 3], [4, 6, 4]] as const) {
    const ksub = 1 << nbits;
    const d = M * dsub;
    const c = randomVectors(M * ksub, dsub, M + nbits);
    const cT = new Float32Array(d * ksub);
    writeTransposed(c, M, ksub, dsub, cT);
    const cTp = a.putF32(cT);
    for (const n of [37, 2500]) {
      const cs = Math.ceil((M * nbits) / 8);
      const codes = validCodes(n, M, nbits, M * 17 + n);
      codes.copyWithin(5 * cs, 2 * cs, 3 * cs); // a tie
      const ids = BigInt64Array.from({ length: n }, (_, j) => BigInt(9000 - 3 * j));
      const cp = a.putU8(codes);
      const ip = a.putI64(ids);
      const x = randomVectors(1, d, n + dsub);
      const cent = randomVectors(1, d, n + dsub + 1);
      const xp = a.putF32(x);
      const centP = a.putF32(cent);
      const r = Float32Array.from(x, (v, t) => v - cent[t]!);
      const tp = a.alloc(M * ksub * 4);
      a.k.pq_distance_table(1, a.putF32(r), cTp, M, ksub, dsub, tp);
      const k = 10;
      const want = pqScanRef('L2', codes, n, M, nbits, a.f32(tp, M * ksub), false, 0, k, ids);
      const hd = a.alloc(k * 4);
      const hi = a.alloc(k * 8);
      a.k.heap_heapify(1, 1, k, hd, hi);
      a.k.pq_ivf_residual_list(xp, centP, d, cTp, M, nbits, dsub, a.alloc(d * 4), a.alloc(M * ksub * 4), cp, ip, n, k, hd, hi);
      a.k.heap_reorder(1, 1, k, hd, hi);
      const what = `M=${M} nbits=${nbits} dsub=${dsub} n=${n}`;
      assert.deepEqual(a.f32(hd, k), want.dis, what);
      assert.deepEqual(a.i64(hi, k), want.ids, what);
    }
  }
});

// ---- ProductQuantizer -----------------------------------------------------------------------------

test('ProductQuantizer: parameters, code size, encode/decode round trip, tables, bad input', () => {
  const pq = new ProductQuantizer(64, 16, 6);
  assert.equal(pq.dsub, 4);
  assert.equal(pq.ksub, 64);
  assert.equal(pq.codeSize, 12);
  assert.equal(new ProductQuantizer(30, 5, 3).codeSize, 2);
  assert.throws(() => new ProductQuantizer(30, 7, 8), (e: unknown) => e instanceof InvalidArgumentError && /`M` = 7 does not divide d = 30/.test(e.message));
  for (const nbits of [0, 9, 2.5, 16]) {
    assert.throws(() => new ProductQuantizer(32, 8, nbits), (e: unknown) => e instanceof InvalidArgumentError && /`nbits` must be an integer from 1 to 8/.test(e.message), String(nbits));
  }
  assert.throws(() => pq.computeCodes(new Float32Array(64)), NotTrainedError);
  const x = randomVectors(2000, 64, 3);
  assert.throws(() => pq.train(x.subarray(0, 63 * 64)), (e: unknown) => e instanceof InvalidArgumentError && /holds 63 training vectors, fewer than the 64 centroids \(2\^nbits, nbits = 6\)/.test(e.message));
  // a non-finite training value is named by its row and column of x (not of a sub-vector slice)
  const nan = x.slice(0, 100 * 64);
  nan[57 * 64 + 45] = NaN;
  assert.throws(() => new ProductQuantizer(64, 16, 6).train(nan), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'x' && /NaN at row 57, column 45/.test(e.message));
  let warnings = 0;
  pq.onWarning = () => warnings++;
  pq.train(x);
  assert.equal(warnings, 1, 'one warning per train(), not one per sub-quantizer');
  const codes = pq.computeCodes(x.subarray(0, 10 * 64));
  assert.equal(codes.length, 120);
  const dec = pq.decode(codes);
  // the decoded vector is made of the chosen centroids, and re-encodes to the same code
  assert.deepEqual(pq.computeCodes(dec), codes);
  for (let m = 0; m < 16; m++) assert.deepEqual(dec.subarray(m * 4, m * 4 + 4), pq.getCentroids(m, pq.subCode(codes, 0, m)));
  // L2 table: the distance of a code is the sum of its look-ups = ||x - decode(code)||^2
  const tab = pq.computeDistanceTable(x.subarray(0, 64));
  const ip = pq.computeInnerProdTable(x.subarray(0, 64));
  let s = 0;
  let p = 0;
  for (let m = 0; m < 16; m++) {
    s += tab[m * 64 + pq.subCode(codes, 1, m)]!;
    p += ip[m * 64 + pq.subCode(codes, 1, m)]!;
  }
  let e = 0;
  let f = 0;
  for (let j = 0; j < 64; j++) {
    e += (x[j]! - dec[64 + j]!) ** 2;
    f += x[j]! * dec[64 + j]!;
  }
  assert.ok(Math.abs(s - e) < 1e-4 * e);
  assert.ok(Math.abs(p - f) < 1e-4 * (1 + Math.abs(f)));
  assert.deepEqual(pq.computeDistanceTables(x.subarray(0, 128)).subarray(0, 1024), tab);
  assert.throws(() => pq.computeDistanceTable(x.subarray(0, 128)), InvalidArgumentError);
  assert.throws(() => pq.decode(new Uint8Array(13)), (err: unknown) => err instanceof InvalidArgumentError && /multiple of codeSize = 12/.test(err.message));
  // centroids set from outside take effect; in-place edits after syncTransposedCentroids()
  const c2 = pq.centroids.slice();
  c2.fill(0);
  pq.centroids = c2;
  assert.deepEqual(pq.computeCodes(x.subarray(0, 64)), new Uint8Array(12));
  pq.centroids.fill(1, 0, 4 * 64);
  pq.centroids.fill(-5, 0, 4); // sub-quantizer 0, centroid 0
  pq.syncTransposedCentroids();
  assert.equal(pq.subCode(pq.computeCodes(new Float32Array(64).fill(0.9)), 0, 0), 1);
  pq.dispose();
});

test('ProductQuantizer: searchSdc (8-bit) finds a code itself, and refuses other nbits', () => {
  const pq = new ProductQuantizer(16, 4, 8);
  pq.onWarning = quiet;
  const x = randomVectors(2000, 16, 9);
  pq.train(x);
  const codes = pq.computeCodes(x);
  const r = pq.searchSdc(codes.subarray(0, 3 * 4), codes, 2);
  for (let i = 0; i < 3; i++) assert.equal(r.distances[i * 2], 0);
  assert.ok(pq.sdcTable.length === 4 * 256 * 256);
  const pq4 = new ProductQuantizer(16, 4, 4);
  assert.throws(() => pq4.searchSdc(new Uint8Array(2), new Uint8Array(2), 1), NotSupportedError);
  pq.dispose();
});

test('ProductQuantizer: codes equal to Python Faiss for the same centroids (nbits 8, 4, 6, 3; 1 and 2 threads)', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const saved = getNumThreads();
  try {
    for (const [d, M, nbits] of [[64, 16, 8], [48, 12, 4], [40, 8, 6], [30, 10, 3]] as const) {
      const pq = new ProductQuantizer(d, M, nbits);
      pq.onWarning = quiet;
      const n = 3000;
      const x = generateDataset({ d, n, nq: 0, seed: d + M + nbits }).base;
      pq.train(x);
      setNumThreads(1);
      const mine1 = pq.computeCodes(x);
      setNumThreads(2);
      const mine = pq.computeCodes(x);
      assert.deepEqual(mine, mine1);
      const theirs = runFaiss(
        `
pq = faiss.ProductQuantizer(${d}, ${M}, ${nbits})
faiss.copy_array_to_vector(centroids.ravel(), pq.centroids)
out['codes'] = pq.compute_codes(x).astype('int32')
out['decoded'] = pq.decode(pq.compute_codes(x))
tab = np.zeros((2, ${M} * ${1 << nbits}), dtype='float32')
pq.compute_distance_tables(2, faiss.swig_ptr(x[:2].copy()), faiss.swig_ptr(tab))
out['tab'] = tab`,
        { centroids: { data: pq.centroids, shape: [pq.centroids.length] }, x: { data: x, shape: [n, d] } },
      );
      assert.deepEqual(Int32Array.from(mine), theirs.codes, `codes d=${d} M=${M} nbits=${nbits}`);
      assert.deepEqual(pq.decode(mine), theirs.decoded);
      assert.deepEqual(pq.computeDistanceTables(x.subarray(0, 2 * d)), theirs.tab);
      pq.dispose();
    }
  } finally {
    setNumThreads(saved);
  }
});

test('ProductQuantizer: trained on the same data, reconstruction error within 2% of Faiss', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 32;
  const n = 8000;
  const x = generateDataset({ d, n, nq: 0, seed: 5 }).base;
  const pq = new ProductQuantizer(d, 8, 6);
  pq.onWarning = quiet;
  pq.train(x);
  const rec = pq.decode(pq.computeCodes(x));
  let mine = 0;
  for (let i = 0; i < x.length; i++) mine += (x[i]! - rec[i]!) ** 2;
  const theirs = runFaiss(
    `
pq = faiss.ProductQuantizer(${d}, 8, 6)
pq.train(x)
r = pq.decode(pq.compute_codes(x))
out['mse'] = np.array([((x - r) ** 2).sum()], dtype='float64')`,
    { x: { data: x, shape: [n, d] } },
  );
  const faiss = (theirs.mse as Float64Array)[0]!;
  assert.ok(Math.abs(mine - faiss) <= 0.02 * faiss, `simdex ${mine} vs Faiss ${faiss}`);
  pq.dispose();
});

// ---- IndexPQ ----------------------------------------------------------------------------------

runIndexConformance('IndexPQ (PQ12, d = 24)', {
  make: (d, m) => {
    const index = new IndexPQ(d, 12, 8, m);
    index.pq.onWarning = quiet;
    return index;
  },
  minRecall: 0.8,
});

runIndexConformance('IndexPQ (PQ8x4)', {
  make: (d, m) => {
    const index = new IndexPQ(d, 8, 4, m);
    index.pq.onWarning = quiet;
    return index;
  },
  minRecall: 0.25,
});

test('IndexPQ: search equals the reference scan, 1 and 2 threads, several code segments; bytes per vector = code size', () => {
  const d = 32;
  const n = 6000;
  const x = generateDataset({ d, n, nq: 40, seed: 8 });
  const saved = getNumThreads();
  try {
    for (const [M, nbits] of [[8, 8], [16, 8], [4, 5]] as const) {
      for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
        const index = new IndexPQ(d, M, nbits, metric, { maxSegmentBytes: 4096 * Math.ceil((M * nbits) / 8) });
        index.pq.onWarning = quiet;
        index.train(x.base);
        index.add(x.base.subarray(0, 2500 * d));
        index.add(x.base.subarray(2500 * d));
        assert.ok(index.segments.length > 1, 'codes over several segments');
        assert.equal(index.codeSize, Math.ceil((M * nbits) / 8));
        let stored = 0;
        for (const s of index.segments) stored += s.count * index.codeSize;
        assert.equal(stored, n * index.codeSize, 'bytes per vector = code size');
        const codes = index.codes();
        const k = 7;
        setNumThreads(1);
        const one = index.search(x.queries, k);
        setNumThreads(2);
        const two = index.search(x.queries, k);
        assert.deepEqual(two.labels, one.labels);
        assert.deepEqual(two.distances, one.distances);
        const tables = metric === MetricType.L2 ? index.pq.computeDistanceTables(x.queries) : index.pq.computeInnerProdTables(x.queries);
        const tf = M * (1 << nbits);
        for (let i = 0; i < 40; i++) {
          const ref = pqScanRef(metric === MetricType.L2 ? 'L2' : 'IP', codes, n, M, nbits, tables.subarray(i * tf, (i + 1) * tf), M % 4 === 0, 0, k);
          assert.deepEqual(one.labels.subarray(i * k, (i + 1) * k), ref.ids);
          assert.deepEqual(one.distances.subarray(i * k, (i + 1) * k), ref.dis);
        }
        // reconstruct = decode(code)
        assert.deepEqual(index.reconstruct(4321), index.pq.decode(codes.subarray(4321 * index.codeSize, 4322 * index.codeSize)));
        assert.deepEqual(index.reconstructN(10, 3), index.pq.decode(codes.subarray(10 * index.codeSize, 13 * index.codeSize)));
        index.dispose();
      }
    }
  } finally {
    setNumThreads(saved);
  }
});

test('IndexPQ: labels and distances identical to Faiss given the same centroids (L2 and IP)', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 32;
  const n = 5000;
  const data = generateDataset({ d, n, nq: 30, seed: 9 });
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const index = new IndexPQ(d, 8, 8, metric);
    index.pq.onWarning = quiet;
    index.train(data.base);
    index.add(data.base);
    const mine = index.search(data.queries, 10);
    const theirs = runFaiss(
      `
index = faiss.IndexPQ(${d}, 8, 8, ${metric})
faiss.copy_array_to_vector(centroids.ravel(), index.pq.centroids)
index.is_trained = True
index.add(x)
D, I = index.search(q, 10)
out['D'] = D
out['I'] = I`,
      { centroids: { data: index.pq.centroids, shape: [index.pq.centroids.length] }, x: { data: data.base, shape: [n, d] }, q: { data: data.queries, shape: [30, d] } },
    );
    assert.deepEqual(mine.labels, theirs.I);
    assert.deepEqual(mine.distances, theirs.D);
    index.dispose();
  }
});

test('IndexPQ: bad input and the untrained index', () => {
  assert.throws(() => new IndexPQ(30, 7), (e: unknown) => e instanceof InvalidArgumentError && /`M` = 7 does not divide d = 30/.test(e.message));
  assert.throws(() => new IndexPQ(32, 8, 9), (e: unknown) => e instanceof InvalidArgumentError && /nbits/.test(e.message));
  const index = new IndexPQ(16, 4, 8);
  const x = randomVectors(300, 16, 1);
  assert.throws(() => index.search(x.subarray(0, 16), 1), (e: unknown) => e instanceof NotTrainedError && /IndexPQ is not trained: call train\(\) before search\(\)/.test(e.message));
  assert.throws(() => index.add(x), NotTrainedError);
  assert.throws(() => index.train(x.subarray(0, 200 * 16)), (e: unknown) => e instanceof InvalidArgumentError && /`x` holds 200 training vectors, fewer than the 256 centroids/.test(e.message));
  assert.throws(() => index.addWithIds(x, new BigInt64Array(300)), NotSupportedError);
  index.dispose();
});

// ---- IndexIVFPQ ---------------------------------------------------------------------------------

const newIVFPQ = (d: number, nlist: number, M: number, nbits = 8, metric: MetricType = MetricType.L2): IndexIVFPQ => {
  const index = new IndexIVFPQ(metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d), d, nlist, M, nbits, metric);
  index.pq.onWarning = quiet;
  return index;
};

runIndexConformance('IndexIVFPQ (IVF8,PQ12, nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVFPQ(d, 8, 12, 8, m);
    index.nprobe = 8;
    return index;
  },
  minRecall: 0.8,
});

runIndexConformance('IndexIVFPQ (IVF4,PQ6x4, not by residual, nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVFPQ(d, 4, 6, 4, m);
    index.byResidual = false;
    index.nprobe = 4;
    return index;
  },
  minRecall: 0.25,
});

test('IndexIVFPQ: the four ways of making list tables give the same results; 1 and 2 threads; lists over several segments', () => {
  const d = 32;
  const data = generateDataset({ d, n: 12000, nq: 60, seed: 11 });
  const saved = getNumThreads();
  try {
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      const index = newIVFPQ(d, 32, 8, 8, metric);
      index.invlists = new ArrayInvertedLists(32, index.codeSize, { maxSegmentBytes: 1 << 17 });
      index.train(data.base);
      index.add(data.base.subarray(0, 5000 * d));
      index.add(data.base.subarray(5000 * d));
      assert.ok((index.invlists as ArrayInvertedLists).arena.segments.length > 1, 'lists spread over several segments');
      assert.equal(index.usePrecomputedTable, metric === MetricType.L2 ? 1 : 0);
      assert.equal(index.precomputedTable.length, metric === MetricType.L2 ? 32 * 8 * 256 : 0);
      setNumThreads(1);
      const ref = index.search(data.queries, 10, { nprobe: 6 });
      const refOne = index.search(data.queries.subarray(0, d), 10, { nprobe: 32 });
      setNumThreads(2);
      const two = index.search(data.queries, 10, { nprobe: 6 });
      const twoOne = index.search(data.queries.subarray(0, d), 10, { nprobe: 32 });
      assert.deepEqual(two.labels, ref.labels);
      assert.deepEqual(two.distances, ref.distances);
      assert.deepEqual(twoOne.labels, refOne.labels);
      if (metric === MetricType.L2) {
        // residual tables instead of precomputed ones: same distances up to rounding
        index.usePrecomputedTable = -1;
        index.precomputeTable();
        assert.equal(index.precomputedTable.length, 0);
        const res = index.search(data.queries, 10, { nprobe: 6 });
        let same = 0;
        for (let i = 0; i < res.labels.length; i++) {
          if (res.labels[i] === ref.labels[i]) same++;
          assert.ok(Math.abs(res.distances[i]! - ref.distances[i]!) <= 1e-4 * (1 + ref.distances[i]!), `distance ${i}: ${res.distances[i]} vs ${ref.distances[i]}`);
        }
        assert.ok(same >= ref.labels.length - 6, `${ref.labels.length - same} labels differ`);
      }
      // every result's distance is what the reconstruction gives (IP: <q, reconstruct(id)>)
      index.makeDirectMap();
      for (let i = 0; i < 5; i++) {
        const id = Number(ref.labels[i * 10]!);
        const rec = index.reconstruct(id);
        let s = 0;
        for (let j = 0; j < d; j++) s += metric === MetricType.L2 ? (data.queries[i * d + j]! - rec[j]!) ** 2 : data.queries[i * d + j]! * rec[j]!;
        assert.ok(Math.abs(s - ref.distances[i * 10]!) <= 1e-3 * (1 + Math.abs(s)), `query ${i}: ${s} vs ${ref.distances[i * 10]}`);
      }
      index.dispose();
    }
  } finally {
    setNumThreads(saved);
  }
});

test('IndexIVFPQ with precomputed tables: a batch scanned list by list (two chunks, 1 and 2 threads, 8- and 6-bit codes) gives the one-query results, bit for bit', () => {
  const d = 32;
  const data = generateDataset({ d, n: 12000, nq: 300, seed: 13 });
  const saved = getNumThreads();
  try {
    // 8-bit codes (the row-by-row scan) and 6-bit ones (the whole table)
    for (const nbits of [8, 6]) {
      const index = newIVFPQ(d, 16, 8, nbits);
      index.train(data.base);
      index.add(data.base);
      assert.equal(index.usePrecomputedTable, 1);
      const k = 10;
      const one: { d: Float32Array; l: BigInt64Array }[] = [];
      setNumThreads(1);
      for (let i = 0; i < 300; i++) {
        const r = index.search(data.queries.subarray(i * d, (i + 1) * d), k, { nprobe: 8 });
        one.push({ d: r.distances, l: r.labels });
      }
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        // 300 queries x 8 probes over 16 lists: list by list, in chunks of at most 256 queries
        const batch = index.search(data.queries, k, { nprobe: 8 });
        for (let i = 0; i < 300; i++) {
          const what = `nbits ${nbits} threads ${threads} query ${i}`;
          assert.deepEqual(batch.distances.subarray(i * k, (i + 1) * k), one[i]!.d, what);
          assert.deepEqual(batch.labels.subarray(i * k, (i + 1) * k), one[i]!.l, what);
        }
      }
      index.dispose();
    }
  } finally {
    setNumThreads(saved);
  }
});

test('IndexIVFPQ: codes of residuals made a block at a time (20,000 vectors, two blocks) equal the codes of the residuals made at once, -1 lists as zeros', () => {
  const d = 16;
  const data = generateDataset({ d, n: 20000, nq: 1, seed: 14 });
  const index = newIVFPQ(d, 8, 4, 8);
  index.train(data.base.subarray(0, 4000 * d));
  const c = index.quantizer.reconstructN(0, 8);
  const lists = Int32Array.from({ length: 20000 }, (_, i) => (i % 97 === 0 ? -1 : (i * 7) % 8));
  const residuals = new Float32Array(20000 * d);
  for (let i = 0; i < 20000; i++) {
    const l = lists[i]!;
    if (l >= 0) for (let j = 0; j < d; j++) residuals[i * d + j] = data.base[i * d + j]! - c[l * d + j]!;
  }
  assert.deepEqual(index.encodeToLists(data.base, lists), index.pq.computeCodes(residuals));
  index.dispose();
});

test('IndexIVFPQ: codes, labels and distances match Faiss given the same coarse and PQ centroids (L2 and IP)', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 32;
  const n = 6000;
  const nlist = 16;
  const data = generateDataset({ d, n, nq: 40, seed: 12 });
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const index = newIVFPQ(d, nlist, 8, 8, metric);
    index.train(data.base);
    index.add(data.base);
    const mine = index.search(data.queries, 10, { nprobe: 4 });
    const lists = new Int32Array(n);
    const codes = new Uint8Array(n * 8);
    for (let l = 0; l < nlist; l++) {
      const ids = index.invlists.getIds(l);
      const c = index.invlists.getCodes(l);
      ids.forEach((id, j) => {
        lists[Number(id)] = l;
        codes.set(c.subarray(j * 8, j * 8 + 8), Number(id) * 8);
      });
    }
    const theirs = runFaiss(
      `
quant = faiss.IndexFlatL2(${d}) if ${metric} == 1 else faiss.IndexFlatIP(${d})
quant.add(coarse)
index = faiss.IndexIVFPQ(quant, ${d}, ${nlist}, 8, 8, ${metric})
faiss.copy_array_to_vector(centroids.ravel(), index.pq.centroids)
index.is_trained = True
index.precompute_table()
index.add(x)
index.nprobe = 4
D, I = index.search(q, 10)
out['D'] = D
out['I'] = I
out['codes'] = index.sa_encode(x)[:, 1:].astype('int32') if ${nlist} <= 256 else np.zeros(1)
out['lists'] = index.quantizer.search(x, 1)[1].ravel().astype('int32')
out['ptab'] = np.array([index.use_precomputed_table], dtype='int32')`,
      {
        coarse: { data: index.quantizer.reconstructN(0, nlist), shape: [nlist, d] },
        centroids: { data: index.pq.centroids, shape: [index.pq.centroids.length] },
        x: { data: data.base, shape: [n, d] },
        q: { data: data.queries, shape: [40, d] },
      },
    );
    assert.equal((theirs.ptab as Int32Array)[0], index.usePrecomputedTable);
    assert.deepEqual(lists, theirs.lists);
    assert.deepEqual(Int32Array.from(codes), theirs.codes, 'residual codes equal');
    let same = 0;
    const D = theirs.D as Float32Array;
    for (let i = 0; i < mine.labels.length; i++) {
      if (mine.labels[i] === (theirs.I as BigInt64Array)[i]) same++;
      assert.ok(Math.abs(mine.distances[i]! - D[i]!) <= 1e-4 * (1 + Math.abs(D[i]!)), `distance ${i}: ${mine.distances[i]} vs ${D[i]}`);
    }
    assert.ok(same >= mine.labels.length - 4, `metric ${metric}: ${mine.labels.length - same} labels differ from Faiss`);
    index.dispose();
  }
});

test('IndexIVFPQ and IndexPQ: recall@10 within 0.02 of Python Faiss on the same seeded clustered data', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 64;
  const n = 10000;
  const nq = 200;
  const data = generateDataset({ d, n, nq, seed: 13 });
  const truth = knnExact('L2', data.queries, nq, data.base, n, d, 10);
  const ivf = newIVFPQ(d, 64, 16);
  ivf.train(data.base);
  ivf.add(data.base);
  const flat = new IndexPQ(d, 16);
  flat.pq.onWarning = quiet;
  flat.train(data.base);
  flat.add(data.base);
  // 'np': Faiss's factory otherwise adds polysemous training, a renumbering of the centroids that
  // leaves every distance unchanged
  const theirs = runFaiss(
    `
index = faiss.index_factory(${d}, 'IVF64,PQ16np')
index.train(x)
index.add(x)
for nprobe in (1, 4, 16):
    index.nprobe = nprobe
    out['I%d' % nprobe] = index.search(q, 10)[1]
pq = faiss.index_factory(${d}, 'PQ16np')
pq.train(x)
pq.add(x)
out['PQ'] = pq.search(q, 10)[1]`,
    { x: { data: data.base, shape: [n, d] }, q: { data: data.queries, shape: [nq, d] } },
  );
  for (const nprobe of [1, 4, 16]) {
    const mine = recallAtK(ivf.search(data.queries, 10, { nprobe }).labels, truth.labels, nq, 10);
    const faiss = recallAtK(theirs[`I${nprobe}`] as BigInt64Array, truth.labels, nq, 10);
    assert.ok(Math.abs(mine - faiss) <= 0.02, `IVF64,PQ16 nprobe ${nprobe}: simdex ${mine} vs Faiss ${faiss}`);
  }
  const mine = recallAtK(flat.search(data.queries, 10).labels, truth.labels, nq, 10);
  const faiss = recallAtK(theirs.PQ as BigInt64Array, truth.labels, nq, 10);
  assert.ok(Math.abs(mine - faiss) <= 0.02, `PQ16: simdex ${mine} vs Faiss ${faiss}`);
  ivf.dispose();
  flat.dispose();
});

test('IndexIVFPQ: bytes per vector = code size + 8 (id); reconstruct = decode + centroid; reconstructN; removeIds; mergeFrom', () => {
  const d = 16;
  const n = 4000;
  const x = generateDataset({ d, n, nq: 0, seed: 14 }).base;
  const index = newIVFPQ(d, 8, 4);
  index.train(x);
  index.add(x);
  const lists = index.invlists as ArrayInvertedLists;
  assert.equal(index.codeSize, 4);
  assert.ok(lists.bytes >= n * (4 + 8) && lists.bytes <= n * (4 + 8) + 8 * 32, `${lists.bytes} bytes for ${n} vectors`);
  const all = index.reconstructN(0, n);
  const c = index.quantizer.reconstructN(0, 8);
  for (const id of [0, 17, 3999]) {
    const l = index.assignLists(x.subarray(id * d, (id + 1) * d))[0]!;
    const ids = index.invlists.getIds(l);
    const o = ids.indexOf(BigInt(id));
    const code = index.invlists.getCodes(l).subarray(o * 4, o * 4 + 4);
    const dec = index.pq.decode(code);
    for (let j = 0; j < d; j++) dec[j] = dec[j]! + c[l * d + j]!;
    assert.deepEqual(all.subarray(id * d, (id + 1) * d), dec);
  }
  index.setDirectMapType(DirectMapType.Hashtable);
  assert.deepEqual(index.reconstruct(17), all.subarray(17 * d, 18 * d));
  const b = newIVFPQ(d, 8, 4);
  b.quantizer.add(c);
  b.pq.centroids = index.pq.centroids;
  b.isTrained = true;
  b.add(x.subarray(0, 100 * d));
  index.setDirectMapType(DirectMapType.NoMap);
  index.mergeFrom(b, BigInt(n));
  assert.equal(index.ntotal, n + 100);
  const other = newIVFPQ(d, 8, 4);
  other.quantizer.add(c);
  other.isTrained = true;
  assert.throws(() => index.mergeFrom(other), (e: unknown) => e instanceof InvalidArgumentError && /different product quantizer/.test(e.message));
  index.dispose();
  b.dispose();
  other.dispose();
});

test('IndexIVFPQ: bad input and the untrained index', () => {
  assert.throws(() => new IndexIVFPQ(new IndexFlatL2(30), 30, 4, 7), (e: unknown) => e instanceof InvalidArgumentError && /`M` = 7 does not divide d = 30/.test(e.message));
  assert.throws(() => new IndexIVFPQ(new IndexFlatL2(32), 32, 4, 8, 0), InvalidArgumentError);
  const index = newIVFPQ(16, 4, 4);
  const x = randomVectors(300, 16, 2);
  assert.equal(index.isTrained, false);
  assert.throws(() => index.search(x.subarray(0, 16), 1), (e: unknown) => e instanceof NotTrainedError && /IndexIVFPQ is not trained/.test(e.message));
  assert.throws(() => index.add(x), NotTrainedError);
  assert.throws(() => index.train(x.subarray(0, 100 * 16)), (e: unknown) => e instanceof InvalidArgumentError && /holds 100 training vectors, fewer than the 256 centroids/.test(e.message));
  // a trained quantizer alone does not make the index trained
  const q = new IndexFlatL2(16);
  q.add(x.subarray(0, 4 * 16));
  const index2 = new IndexIVFPQ(q, 16, 4, 4);
  assert.equal(index2.isTrained, false);
  index.dispose();
  index2.dispose();
});

test('IndexIVFPQ: at nprobe = nlist the results are exact search over the reconstructions (nbits 2, 4, 6, 8; precomputed and residual tables; IP)', () => {
  const d = 16;
  const n = 4000;
  const data = generateDataset({ d, n, nq: 50, seed: 15 });
  for (const [M, nbits, pre, metric] of [[8, 4, 0, 1], [8, 4, -1, 1], [4, 8, 0, 1], [8, 6, -1, 1], [16, 2, 0, 1], [8, 4, 0, 0], [8, 8, 0, 0]] as const) {
    const index = newIVFPQ(d, 16, M, nbits, metric);
    index.usePrecomputedTable = pre;
    index.train(data.base);
    index.add(data.base);
    const rec = index.reconstructN(0, n);
    const exact = knnExact(metric === 1 ? 'L2' : 'IP', data.queries, 50, rec, n, d, 10);
    const r = index.search(data.queries, 10, { nprobe: 16 });
    let same = 0;
    for (let i = 0; i < r.labels.length; i++) if (r.labels[i] === exact.labels[i]) same++;
    assert.ok(same >= r.labels.length - 2, `M=${M} nbits=${nbits} pre=${pre} metric=${metric}: ${r.labels.length - same} labels differ`);
    for (let i = 0; i < r.distances.length; i++) assert.ok(Math.abs(r.distances[i]! - exact.distances[i]!) <= 1e-4 * (1 + Math.abs(exact.distances[i]!)));
    index.dispose();
  }
});
