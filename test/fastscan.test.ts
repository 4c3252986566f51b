/**
 * FastScan, stage by stage: the packed layout of 4-bit codes, the quantization of look-up tables
 * (against Faiss's own functions when Python Faiss is installed), and the WASM scan kernel against
 * its TypeScript reference on awkward sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pq4GetPackedElement, pq4PackCodes, pq4PackCodesRange, pq4SetPackedElement, pq4UnpackCodes, roundUp,
} from '../src/quantizers/pq4FastScan.js';
import { dequantize, fastScanQuantizeLUT, lutAndBiasScale, lutRowRanges, quantizeLUTAndBias, roundQuantized, roundUint8PerColumn } from '../src/quantizers/quantizeLut.js';
import { pq4DistanceRef, pq4HeapRef, pq4ScanRef } from '../src/kernels/pq4Reference.js';
import {
  FactoryParseError, IDSelectorRange, IndexFlatIP, IndexFlatL2, IndexIVFPQ, IndexIVFPQFastScan, IndexPQ, IndexPQFastScan, InvalidArgumentError, MetricType,
  NotTrainedError, computeGroundTruth, deserializeIndex, generateDataset, getNumThreads, indexFactory, recallAtR, reverseIndexFactory, serializeIndex, setNumThreads, type SearchParameters,
} from '../src/simdex.js';
import { Arena } from './helpers/arena.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

/** n random PQ codes of M 4-bit sub-codes (ceil(M/2) bytes, an odd M's last high nibble zero). */
function randomCodes(n: number, M: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const cs = (M + 1) >> 1;
  const out = new Uint8Array(n * cs);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < M; m++) out[i * cs + (m >> 1)]! |= Math.floor(r() * 16) << (4 * (m & 1));
  }
  return out;
}

const subCode = (codes: Uint8Array, M: number, i: number, m: number): number => (codes[i * ((M + 1) >> 1) + (m >> 1)]! >> (4 * (m & 1))) & 15;

// ---- packing --------------------------------------------------------------------------------------

test('pq4PackCodes: every sub-code where pq4GetPackedElement finds it, padding zero (M odd and even, bbs 32/64/96, n not a multiple of 32)', () => {
  for (const [M, n, bbs] of [[1, 1, 32], [3, 45, 32], [8, 64, 32], [7, 100, 64], [16, 33, 96], [5, 0, 32], [2, 200, 64]] as const) {
    const M2 = M + (M & 1);
    const codes = randomCodes(n, M, M * 1000 + n);
    const nb = roundUp(n, bbs);
    const blocks = pq4PackCodes(codes, n, M, nb, bbs, M2);
    assert.equal(blocks.length, (nb * M2) / 2);
    for (let i = 0; i < nb; i++) {
      for (let m = 0; m < M2; m++) {
        const want = i < n && m < M ? subCode(codes, M, i, m) : 0;
        assert.equal(pq4GetPackedElement(blocks, bbs, M2, i, m), want, `M=${M} n=${n} bbs=${bbs} vector ${i} sq ${m}`);
      }
    }
    assert.deepEqual(pq4UnpackCodes(blocks, bbs, M, M2, 0, n), codes, `unpack M=${M} n=${n} bbs=${bbs}`);
  }
});

test('pq4PackCodes: Faiss layout of one block (perm0 interleaving, sq pairs in 16-byte halves)', () => {
  // vector v has sub-code 0 = v % 16 and sub-code 1 = 15 - v % 16 (M = 2, one block of 32)
  const codes = new Uint8Array(32);
  for (let v = 0; v < 32; v++) codes[v] = (v % 16) | ((15 - (v % 16)) << 4);
  const b = pq4PackCodes(codes, 32, 2, 32, 32, 2);
  const perm0 = [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15];
  for (let j = 0; j < 16; j++) {
    const v = perm0[j]!;
    assert.equal(b[j], (v % 16) | (((v + 16) % 16) << 4), `byte ${j}`);
    assert.equal(b[16 + j], (15 - (v % 16)) | ((15 - ((v + 16) % 16)) << 4), `byte ${16 + j}`);
  }
});

test('pq4PackCodesRange: adding in pieces (into a partly filled block) gives the bytes of one pack; set/get element round trip', () => {
  for (const [M, bbs] of [[6, 32], [9, 64]] as const) {
    const M2 = M + (M & 1);
    const n = 150;
    const codes = randomCodes(n, M, 77 + M);
    const whole = pq4PackCodes(codes, n, M, roundUp(n, bbs), bbs, M2);
    const pieces = new Uint8Array(whole.length);
    const cs = (M + 1) >> 1;
    for (const [i0, i1] of [[0, 5], [5, 40], [40, 41], [41, 150]] as const) {
      pq4PackCodesRange(codes.subarray(i0 * cs, i1 * cs), M, i0, i1, bbs, M2, pieces);
    }
    assert.deepEqual(pieces, whole, `M=${M} bbs=${bbs}`);
    const r = mulberry32(5);
    for (let t = 0; t < 200; t++) {
      const v = Math.floor(r() * n);
      const m = Math.floor(r() * M);
      const c = Math.floor(r() * 16);
      pq4SetPackedElement(pieces, c, bbs, M2, v, m);
      assert.equal(pq4GetPackedElement(pieces, bbs, M2, v, m), c);
    }
  }
});

// ---- look-up table quantization ------------------------------------------------------------------

/** Tables with awkward values: ties, a constant row, values that round at x.5, negative values. */
function awkwardTable(rows: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const t = new Float32Array(rows * 16);
  for (let i = 0; i < t.length; i++) t[i] = Math.fround((r() - 0.3) * 40);
  for (let j = 0; j < 16; j++) t[16 + j] = 2.5; // a constant row (span 0)
  for (let j = 0; j < 16; j++) t[32 + j] = Math.fround(j * 0.5); // x.5 steps
  return t;
}

test('quantizeLut: round_uint8_per_column and quantize_LUT_and_bias (2D, 2D + bias, 3D + bias, 3D folded) give Faiss 1.7.3 bytes', { skip: !faissAvailable() && 'Python Faiss not installed' }, () => {
  const M = 7;
  const nprobe = 5;
  const tab = awkwardTable(M, 1);
  const lut3 = awkwardTable(nprobe * M, 2);
  const r = mulberry32(3);
  const bias = Float32Array.from({ length: nprobe }, () => Math.fround(r() * 100 - 20));
  const M2 = M + 1;
  const py = runFaiss(
    `
sp = faiss.swig_ptr
a = np.zeros(1, dtype='float32'); b = np.zeros(1, dtype='float32')
t = tab.copy(); faiss.round_uint8_per_column(sp(t), ${M}, 16, sp(a), sp(b))
out['col'] = t; out['col_ab'] = np.concatenate([a, b])
q = np.zeros(${M2 * 16}, dtype='uint8'); faiss.quantize_LUT_and_bias(1, ${M}, 16, False, sp(tab), None, sp(q), ${M2}, None, sp(a), sp(b))
out['q2'] = q.astype('int32'); out['q2_ab'] = np.concatenate([a, b])
q = np.zeros(${M2 * 16}, dtype='uint8'); bq = np.zeros(${nprobe}, dtype='uint16')
faiss.quantize_LUT_and_bias(${nprobe}, ${M}, 16, False, sp(tab), sp(bias), sp(q), ${M2}, sp(bq), sp(a), sp(b))
out['q2b'] = q.astype('int32'); out['q2b_bias'] = bq.astype('int32'); out['q2b_ab'] = np.concatenate([a, b])
q = np.zeros(${nprobe * M2 * 16}, dtype='uint8')
faiss.quantize_LUT_and_bias(${nprobe}, ${M}, 16, True, sp(lut3), sp(bias), sp(q), ${M2}, sp(bq), sp(a), sp(b))
out['q3'] = q.astype('int32'); out['q3_bias'] = bq.astype('int32'); out['q3_ab'] = np.concatenate([a, b])
q = np.zeros(${nprobe * M2 * 16}, dtype='uint8')
faiss.quantize_LUT_and_bias(${nprobe}, ${M}, 16, True, sp(lut3), sp(bias), sp(q), ${M2}, None, sp(a), sp(b))
out['q3f'] = q.astype('int32'); out['q3f_ab'] = np.concatenate([a, b])
`,
    { tab: { data: tab, shape: [M * 16] }, lut3: { data: lut3, shape: [nprobe * M * 16] }, bias: { data: bias, shape: [nprobe] } },
  );
  const num = (key: string): number[] => Array.from(py[key] as Float32Array, Number);
  const col = tab.slice();
  const s0 = roundUint8PerColumn(col, M, 16);
  assert.deepEqual(Array.from(col), num('col'));
  assert.deepEqual([s0.a, s0.b], num('col_ab'));
  const fs = new Uint8Array(M2 * 16);
  const s1 = fastScanQuantizeLUT(tab, M, 16, M2, fs);
  assert.deepEqual(Array.from(fs), [...num('col'), ...new Array<number>(16).fill(0)]);
  assert.deepEqual([s1.a, s1.b], num('col_ab'));
  const cases: [string, () => { q: Uint8Array; bq?: Uint16Array; ab: number[] }][] = [
    ['q2', () => { const q = new Uint8Array(M2 * 16); const s = quantizeLUTAndBias(1, M, 16, false, tab, null, q, M2, null); return { q, ab: [s.a, s.b] }; }],
    ['q2b', () => { const q = new Uint8Array(M2 * 16); const bq = new Uint16Array(nprobe); const s = quantizeLUTAndBias(nprobe, M, 16, false, tab, bias, q, M2, bq); return { q, bq, ab: [s.a, s.b] }; }],
    ['q3', () => { const q = new Uint8Array(nprobe * M2 * 16); const bq = new Uint16Array(nprobe); const s = quantizeLUTAndBias(nprobe, M, 16, true, lut3, bias, q, M2, bq); return { q, bq, ab: [s.a, s.b] }; }],
    ['q3f', () => { const q = new Uint8Array(nprobe * M2 * 16); const s = quantizeLUTAndBias(nprobe, M, 16, true, lut3, bias, q, M2, null); return { q, ab: [s.a, s.b] }; }],
  ];
  for (const [name, run] of cases) {
    const got = run();
    assert.deepEqual(Array.from(got.q), num(name), `${name} tables`);
    assert.deepEqual(got.ab, num(`${name}_ab`), `${name} a, b`);
    if (got.bq) assert.deepEqual(Array.from(got.bq), num(`${name}_bias`), `${name} biases`);
  }
});

test('quantizeLut: a quantized table reproduces the float distances within M / (2a) (1 unit of rounding per row)', () => {
  const M = 16;
  const tab = awkwardTable(M, 9);
  const q = new Uint8Array(M * 16);
  const s = fastScanQuantizeLUT(tab, M, 16, M, q);
  const r = mulberry32(4);
  for (let t = 0; t < 100; t++) {
    let exact = 0;
    let sum = 0;
    for (let m = 0; m < M; m++) {
      const c = Math.floor(r() * 16);
      exact += tab[m * 16 + c]!;
      sum += q[m * 16 + c]!;
    }
    assert.ok(Math.abs(dequantize(sum, s) - exact) <= (M * 0.5) / s.a + 1e-3, `${dequantize(sum, s)} vs ${exact}`);
  }
});

test('pq4_lut_minmax / pq4_lut_round: the reference row ranges and rounding, bit for bit (NaN rows, constant rows, halves, huge values)', () => {
  const a = new Arena(4 << 20);
  const rows = 40;
  const tab = awkwardTable(rows, 12);
  tab.fill(NaN, 3 * 16, 4 * 16); // a row of NaNs (an absent probe)
  tab[5 * 16 + 3] = NaN; // one NaN in a row
  tab[6 * 16 + 1] = 3e38; // a huge value
  const r = mulberry32(13);
  const tp = a.alloc(rows * 64);
  const mins = a.alloc(rows * 4);
  const maxs = a.alloc(rows * 4);
  const out = a.alloc(rows * 16);
  for (let t = 0; t < 2000; t++) {
    new Float32Array(a.memory.buffer, tp, rows * 16).set(tab);
    a.k.pq4_lut_minmax(tp, rows, mins, maxs);
    const wantMin = new Float32Array(rows);
    const wantMax = new Float32Array(rows);
    lutRowRanges(tab, rows, 16, wantMin, wantMax);
    assert.deepEqual(a.f32(mins, rows), wantMin);
    assert.deepEqual(a.f32(maxs, rows), wantMax);
    const scale = Math.fround(t === 0 ? Infinity : 255 / (r() * 50 + 1e-3));
    a.k.pq4_lut_round(tp, rows, scale, mins, out);
    const got = new Uint8Array(a.memory.buffer, out, rows * 16);
    for (let i = 0; i < rows * 16; i++) {
      const v = roundQuantized(tab[i]!, scale, wantMin[Math.floor(i / 16)]!);
      const want = (v | 0) & 0xff;
      if (got[i] !== want) assert.fail(`scale ${scale}, entry ${i} (${tab[i]} - ${wantMin[Math.floor(i / 16)]}): ${got[i]} vs ${want}`);
    }
    for (let i = 0; i < tab.length; i++) tab[i] = Math.fround(tab[i]! + (r() - 0.5) * 0.01);
  }
});

test('pq4_lut_2d: the reference scale (quantize_LUT_and_bias, 2D, no bias) and bytes, bit for bit (NaN rows, constant rows, padding rows)', () => {
  const a = new Arena(4 << 20);
  const r = mulberry32(17);
  for (const [M, M2] of [[40, 40], [7, 8], [1, 2], [128, 128]] as const) {
    const tp = a.alloc(M * 64);
    const mins = a.alloc(M * 4);
    const maxs = a.alloc(M * 4);
    const sc = a.alloc(16);
    const out = a.alloc(M2 * 16);
    for (let t = 0; t < 200; t++) {
      const tab = awkwardTable(M, 20 + t);
      if (t % 3 === 1) tab.fill(2.5, 0, 16); // a constant row
      if (t % 5 === 2 && M > 3) tab.fill(NaN, 2 * 16, 3 * 16); // a row of NaNs
      for (let i = 0; i < tab.length; i++) tab[i] = Math.fround(tab[i]! * (1 + r()));
      new Float32Array(a.memory.buffer, tp, M * 16).set(tab);
      new Uint8Array(a.memory.buffer, out, M2 * 16).fill(7);
      a.k.pq4_lut_2d(tp, M, M2, mins, maxs, sc, out);
      const wantMin = new Float32Array(M);
      const wantMax = new Float32Array(M);
      lutRowRanges(tab, M, 16, wantMin, wantMax);
      const want = lutAndBiasScale(1, M, false, wantMin, wantMax, null, null);
      assert.deepEqual(Array.from(a.f32(sc, 2)), [want.a, want.b], `M=${M} t=${t}: scale`);
      const got = new Uint8Array(a.memory.buffer, out, M2 * 16);
      for (let i = 0; i < M2 * 16; i++) {
        const w = i < M * 16 ? (roundQuantized(tab[i]!, want.a, wantMin[Math.floor(i / 16)]!) | 0) & 0xff : 0;
        if (got[i] !== w) assert.fail(`M=${M} t=${t} entry ${i}: ${got[i]} vs ${w}`);
      }
    }
  }
});

// ---- the scan kernel --------------------------------------------------------------------------------

test('pq4_scan: heaps identical to the reference (L2 / IP, nq 1..6, M2 2..300 with 16-bit wrap, bias, ids, k > n, n = 0, padding skipped, many ties)', () => {
  const a = new Arena(32 << 20);
  const r = mulberry32(42);
  const cases: [number, number, number, number, number, number][] = [
    // n, M2, bbs, k, nq, lutMax
    [0, 4, 32, 5, 1, 255],
    [1, 2, 32, 3, 1, 255],
    [31, 6, 32, 10, 2, 3],
    [32, 8, 32, 1, 1, 255],
    [33, 8, 64, 40, 3, 2],
    [100, 16, 32, 7, 4, 255],
    [257, 32, 96, 20, 5, 255],
    [300, 300, 32, 9, 6, 255],
    [1000, 128, 32, 64, 2, 255],
    [77, 10, 64, 100, 1, 1],
  ];
  for (const [n, M2, bbs, k, nq, lutMax] of cases) {
    const nb = roundUp(n, bbs);
    const bytes = (nb * M2) / 2;
    const codes = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) codes[i] = Math.floor(r() * 256); // padding codes random: they must be skipped
    const lut = new Uint8Array(nq * M2 * 16);
    for (let i = 0; i < lut.length; i++) lut[i] = Math.floor(r() * (lutMax + 1));
    const ids = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 2 ** 40)) - 2n ** 39n);
    for (const isMax of [true, false]) {
      for (const withIds of [false, true]) {
        for (const withBias of [false, true]) {
          const bias = Uint16Array.from({ length: nq }, () => (withBias ? Math.floor(r() * 65536) : 0));
          const cp = a.alloc(Math.max(16, bytes));
          new Uint8Array(a.memory.buffer, cp, bytes).set(codes);
          const lp = a.putU8(lut);
          const bp = a.alloc(nq * 2);
          new Uint16Array(a.memory.buffer, bp, nq).set(bias);
          const ip = a.alloc(Math.max(8, n * 8));
          new BigInt64Array(a.memory.buffer, ip, n).set(ids);
          const hd = a.alloc(nq * k * 4);
          const hi = a.alloc(nq * k * 8);
          const tmp = a.alloc(64);
          a.k.pq4_heapify(isMax ? 1 : 0, nq, k, hd, hi);
          a.k.pq4_scan(isMax ? 1 : 0, nq, cp, n, bbs, M2, lp, withBias ? bp : 0, k, hd, hi, withIds ? ip : 0, 1000n, tmp);
          a.k.heap_reorder(isMax ? 1 : 0, nq, k, hd, hi);
          const gotD = a.f32(hd, nq * k);
          const gotI = a.i64(hi, nq * k);
          for (let q = 0; q < nq; q++) {
            const h = pq4HeapRef(k, isMax);
            pq4ScanRef(codes, n, bbs, M2, lut, q * M2 * 16, bias[q]!, h, withIds ? ids : undefined, 1000n);
            const ref = h.reorder();
            const what = `n=${n} M2=${M2} bbs=${bbs} k=${k} nq=${nq} q=${q} ${isMax ? 'L2' : 'IP'} ids=${withIds} bias=${withBias}`;
            assert.deepEqual(gotI.subarray(q * k, (q + 1) * k), ref.ids, what);
            assert.deepEqual(gotD.subarray(q * k, (q + 1) * k), ref.dis, what);
          }
        }
      }
    }
  }
});

test('pq4DistanceRef: the sum of the table entries of the sub-codes, wrapped to 16 bits', () => {
  const M = 3;
  const codes = new Uint8Array([0x21, 0x03]); // sub-codes 1, 2, 3
  const blocks = pq4PackCodes(codes, 1, M, 32, 32, 4);
  const lut = new Uint8Array(4 * 16);
  lut[0 * 16 + 1] = 200;
  lut[1 * 16 + 2] = 100;
  lut[2 * 16 + 3] = 7;
  lut[3 * 16 + 0] = 1;
  assert.equal(pq4DistanceRef(blocks, 32, 4, 0, lut), 308);
  assert.equal(pq4DistanceRef(blocks, 32, 4, 0, lut, 0, 65535), 307);
});

// ---- IndexPQFastScan --------------------------------------------------------------------------------

const liveSkip = !faissAvailable() && 'Python Faiss not installed';

test('IndexPQFastScan: Faiss\'s labels and distances with Faiss\'s centroids (L2 / IP, odd M, bbs 64, k <= 20 exact, k = 30 same distances, k > ntotal padding)', { skip: liveSkip }, () => {
  const xt = randomVectors(2000, 15, 1);
  const xb = randomVectors(700, 15, 2);
  const xq = randomVectors(20, 15, 3);
  const cases: [number, number, number][] = [[5, 1, 32], [3, 0, 32], [5, 1, 64], [15, 0, 64]]; // M, metric, bbs
  const py = runFaiss(
    `
for c, (M, metric, bbs) in enumerate([${cases.map((c) => `(${c.join(', ')})`).join(', ')}]):
    index = faiss.index_factory(15, 'PQ%dx4fs%s' % (M, '' if bbs == 32 else '_%d' % bbs), metric)
    index.train(xt); index.add(xb)
    fi = faiss.downcast_index(index)
    out['cent%d' % c] = faiss.vector_to_array(fi.pq.centroids)
    for k in [1, 10, 30]:
        res = [index.search(xq[i:i + 1], k) for i in range(len(xq))]
        out['D%d_%d' % (c, k)] = np.concatenate([r[0] for r in res]); out['I%d_%d' % (c, k)] = np.concatenate([r[1] for r in res])
    index.reset(); index.add(xb[:5])
    D, I = index.search(xq[:2], 8)
    out['Dpad%d' % c] = D; out['Ipad%d' % c] = I
`,
    { xt: { data: xt, shape: [2000, 15] }, xb: { data: xb, shape: [700, 15] }, xq: { data: xq, shape: [20, 15] } },
  );
  cases.forEach(([M, metric, bbs], c) => {
    const index = new IndexPQFastScan(15, M, 4, metric as MetricType, bbs);
    index.pq.centroids = py[`cent${c}`] as Float32Array;
    index.isTrained = true;
    index.add(xb);
    for (const k of [1, 10, 30]) {
      const r = index.search(xq, k);
      const what = `M=${M} metric=${metric} bbs=${bbs} k=${k}`;
      assert.deepEqual(r.distances, py[`D${c}_${k}`], `${what}: distances`);
      if (k <= 20) assert.deepEqual(r.labels, py[`I${c}_${k}`], `${what}: labels`);
      else assert.ok(overlapFrac(r.labels, py[`I${c}_${k}`] as BigInt64Array, k) >= 0.95, `${what}: labels (ties in another order)`);
    }
    index.reset();
    index.add(xb.subarray(0, 5 * 15));
    const pad = index.search(xq.subarray(0, 2 * 15), 8);
    assert.deepEqual(pad.labels, py[`Ipad${c}`], 'padding labels');
    assert.deepEqual(pad.distances, py[`Dpad${c}`], 'padding distances (Faiss\'s neutral 16-bit value converted)');
    assert.equal(pad.labels[7], -1n);
    index.dispose();
  });
});

function overlapFrac(got: BigInt64Array, want: BigInt64Array, k: number): number {
  let hit = 0;
  for (let i = 0; i * k < want.length; i++) {
    const s = new Set(got.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < k; j++) if (s.has(want[i * k + j]!)) hit++;
  }
  return hit / want.length;
}

/** A trained IndexPQFastScan of d = 16 on seeded data. */
function trainedPQFS(M: number, bbs = 32, metric: MetricType = MetricType.L2, options: { maxSegmentBytes?: number } = {}): IndexPQFastScan {
  const index = new IndexPQFastScan(16, M, 4, metric, bbs, options);
  index.pq.onWarning = () => {};
  index.train(randomVectors(1000, 16, 7));
  return index;
}

test('IndexPQFastScan: adding in pieces packs as one add; several segments and threads give the same results; reconstruct decodes the codes', () => {
  const xb = randomVectors(1000, 16, 8);
  const xq = randomVectors(30, 16, 9);
  const one = trainedPQFS(8);
  one.add(xb);
  const pieces = new IndexPQFastScan(16, 8, 4, MetricType.L2, 32, { maxSegmentBytes: 4 * 128 }); // 4 blocks of 128 bytes per segment
  pieces.pq.centroids = one.pq.centroids;
  pieces.isTrained = true;
  for (const [a, b] of [[0, 5], [5, 37], [37, 38], [38, 600], [600, 1000]] as const) pieces.add(xb.subarray(a * 16, b * 16));
  assert.ok(pieces.segments.length > 3, `several segments (${pieces.segments.length})`);
  assert.equal(pieces.ntotal, 1000);
  assert.equal(pieces.ntotal2, 1024);
  assert.deepEqual(pieces.packedCodes(), one.packedCodes());
  assert.deepEqual(pieces.codes(), one.pq.computeCodes(xb));
  const want = one.search(xq, 10);
  assert.deepEqual(pieces.search(xq, 10), want);
  const threads = getNumThreads();
  try {
    setNumThreads(3);
    assert.deepEqual(one.search(xq, 10), want, 'over threads');
    assert.deepEqual(pieces.search(xq, 10), want, 'over threads and segments');
  } finally {
    setNumThreads(threads);
  }
  assert.deepEqual(one.search(xq.subarray(0, 16), 10).labels, want.labels.subarray(0, 10), 'one query = first row of the batch');
  assert.deepEqual(pieces.reconstruct(777), one.pq.decode(one.pq.computeCodes(xb.subarray(777 * 16, 778 * 16))));
  assert.deepEqual(pieces.reconstructN(30, 40), one.pq.decode(one.pq.computeCodes(xb.subarray(30 * 16, 70 * 16))));
  one.dispose();
  pieces.dispose();
});

test('IndexPQFastScan: from an IndexPQ (nbits 4), removeIds, reset, mergeFrom', () => {
  const xb = randomVectors(300, 16, 10);
  const xq = randomVectors(10, 16, 11);
  const ipq = new IndexPQ(16, 8, 4);
  ipq.pq.onWarning = () => {};
  ipq.train(randomVectors(1000, 16, 7));
  ipq.add(xb);
  const fs = new IndexPQFastScan(ipq);
  assert.equal(fs.isTrained, true);
  assert.equal(fs.ntotal, 300);
  assert.deepEqual(fs.codes(), ipq.codes());
  const fresh = new IndexPQFastScan(16, 8);
  fresh.pq.centroids = ipq.pq.centroids;
  fresh.isTrained = true;
  fresh.add(xb);
  assert.deepEqual(fs.search(xq, 5), fresh.search(xq, 5));
  assert.throws(() => new IndexPQFastScan(new IndexPQ(16, 4, 8)), (e: unknown) => e instanceof InvalidArgumentError && /nbits.*must be 4.*got 8/.test(e.message));
  // removeIds keeps the order of the rest (Faiss's IndexFastScan::remove_ids)
  const removed = fs.removeIds(new IDSelectorRange(10n, 290n));
  assert.equal(removed, 280);
  assert.equal(fs.ntotal, 20);
  assert.equal(fs.ntotal2, 32);
  const keep = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 290 + i)];
  const cs = fs.codeSize;
  const all = ipq.codes();
  assert.deepEqual(fs.codes(), Uint8Array.from(keep.flatMap((i) => Array.from(all.subarray(i * cs, (i + 1) * cs)))));
  // mergeFrom appends the other's vectors, which it empties
  fs.mergeFrom(fresh);
  assert.equal(fs.ntotal, 320);
  assert.equal(fresh.ntotal, 0);
  assert.deepEqual(fs.codes(20, 300), all);
  // reset keeps the training and (as Faiss) ntotal2
  fs.reset();
  assert.equal(fs.ntotal, 0);
  assert.equal(fs.ntotal2, 320);
  assert.equal(fs.isTrained, true);
  const empty = fs.search(xq, 3);
  assert.deepEqual(Array.from(empty.labels.subarray(0, 3)), [-1n, -1n, -1n]);
  fs.add(xb);
  const again = new IndexPQFastScan(ipq);
  assert.deepEqual(fs.search(xq, 5), again.search(xq, 5), 'reset, then add: as new');
  again.dispose();
  for (const i of [fs, fresh, ipq]) i.dispose();
});

test('IndexPQFastScan: bad arguments get typed errors naming them', () => {
  assert.throws(() => new IndexPQFastScan(16, 8, 8), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'nbits' && /must be 4.*got 8/.test(e.message));
  assert.throws(() => new IndexPQFastScan(16, 8, 4, MetricType.L2, 48), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'bbs' && /multiple of 32.*got 48/.test(e.message));
  assert.throws(() => new IndexPQFastScan(16, 3), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'M' && /3 does not divide d = 16/.test(e.message));
  const index = new IndexPQFastScan(16, 8);
  assert.throws(() => index.search(new Float32Array(16), 1), NotTrainedError);
  assert.throws(() => index.add(new Float32Array(16)), NotTrainedError);
  index.pq.onWarning = () => {};
  index.train(randomVectors(500, 16, 1));
  assert.throws(() => index.search(new Float32Array(15), 1), InvalidArgumentError);
  assert.throws(() => index.search(new Float32Array(16), 0), InvalidArgumentError);
  assert.throws(() => index.addCodes(new Uint8Array(5)), (e: unknown) => e instanceof InvalidArgumentError && /multiple of codeSize = 4/.test(e.message));
  assert.throws(() => index.reconstruct(0), (e: unknown) => e instanceof InvalidArgumentError && /ntotal = 0/.test(e.message));
  index.dispose();
});

// ---- IndexIVFPQFastScan -----------------------------------------------------------------------------

test('IndexIVFPQFastScan: Faiss\'s labels with Faiss\'s quantizer and centroids (by residual or not, L2 / IP, bbs 32 / 64, nprobe 1..nlist, batch and one query)', { skip: liveSkip }, () => {
  const d = 16;
  const xt = randomVectors(3000, d, 21);
  const xb = randomVectors(1500, d, 22);
  const xq = randomVectors(30, d, 23);
  const cases: [string, number, number, number][] = [
    ['IVF8,PQ8x4fs', 1, 8, 32],
    ['IVF8,PQ8x4fsr', 1, 8, 32],
    ['IVF8,PQ8x4fs', 0, 8, 32],
    ['IVF8,PQ4x4fsr', 0, 8, 32],
    ['IVF4,PQ16x4fsr_64', 1, 4, 64],
    ['IVF8,PQ8x4fs_64', 1, 8, 64],
  ];
  const py = runFaiss(
    `
for c, (desc, metric, nlist, bbs) in enumerate([${cases.map((c) => `('${c[0]}', ${c[1]}, ${c[2]}, ${c[3]})`).join(', ')}]):
    index = faiss.index_factory(${d}, desc, metric)
    index.train(xt); index.add(xb)
    fi = faiss.downcast_index(index)
    out['cent%d' % c] = faiss.vector_to_array(fi.pq.centroids)
    out['qc%d' % c] = fi.quantizer.reconstruct_n(0, nlist)
    for p in [1, 3, nlist]:
        fi.nprobe = p
        if bbs == 32:
            D, I = index.search(xq, 10)
        else:
            res = [index.search(xq[i:i + 1], 10) for i in range(len(xq))]
            D = np.concatenate([r[0] for r in res]); I = np.concatenate([r[1] for r in res])
        out['D%d_%d' % (c, p)] = D; out['I%d_%d' % (c, p)] = I
`,
    { xt: { data: xt, shape: [3000, d] }, xb: { data: xb, shape: [1500, d] }, xq: { data: xq, shape: [30, d] } },
  );
  cases.forEach(([desc, metric, nlist, bbs], c) => {
    const quantizer = metric === 1 ? new IndexFlatL2(d) : new IndexFlatIP(d);
    quantizer.add(py[`qc${c}`] as Float32Array);
    const M = parseInt(desc.split('PQ')[1]!, 10);
    const index = new IndexIVFPQFastScan(quantizer, d, nlist, M, 4, metric as MetricType, bbs);
    index.byResidual = desc.includes('fsr');
    index.pq.centroids = py[`cent${c}`] as Float32Array;
    index.isTrained = true;
    index.add(xb);
    for (const p of [1, 3, nlist]) {
      const what = `${desc} metric=${metric} nprobe=${p}`;
      const r = index.search(xq, 10, { nprobe: p });
      assert.deepEqual(r.labels, py[`I${c}_${p}`], `${what}: labels`);
      const want = py[`D${c}_${p}`] as Float32Array;
      if (!index.byResidual) assert.deepEqual(r.distances, want, `${what}: distances`);
      else for (let i = 0; i < want.length; i++) assert.ok(Math.abs(r.distances[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${what}: distance ${i}`);
      const one = index.search(xq.subarray(0, d), 10, { nprobe: p });
      assert.deepEqual(one.labels, r.labels.subarray(0, 10), `${what}: one query`);
    }
    index.dispose();
  });
});

/** A trained IndexIVFPQFastScan of d = 16 with nlist = 8 on seeded data. */
function trainedIVF(M: number, byResidual: boolean, metric: MetricType = MetricType.L2, bbs = 32): IndexIVFPQFastScan {
  const index = new IndexIVFPQFastScan(metric === MetricType.L2 ? new IndexFlatL2(16) : new IndexFlatIP(16), 16, 8, M, 4, metric, bbs);
  index.byResidual = byResidual;
  index.pq.onWarning = () => {};
  index.train(randomVectors(2000, 16, 31));
  return index;
}

test('IndexIVFPQFastScan: nprobe per call, threads and adding in pieces give the same results; precomputed tables or not give the same neighbours', () => {
  const xb = randomVectors(1200, 16, 32);
  const xq = randomVectors(25, 16, 33);
  for (const byResidual of [false, true]) {
    const a = trainedIVF(8, byResidual);
    a.add(xb);
    const b = trainedIVF(8, byResidual);
    for (const [lo, hi] of [[0, 7], [7, 100], [100, 1200]] as const) b.add(xb.subarray(lo * 16, hi * 16));
    for (let l = 0; l < 8; l++) assert.deepEqual(b.lists.getCodes(l), a.lists.getCodes(l), `list ${l} packed codes`);
    a.nprobe = 3;
    const want = a.search(xq, 10);
    assert.deepEqual(b.search(xq, 10, { nprobe: 3 }), want, 'nprobe per call = nprobe field');
    const threads = getNumThreads();
    try {
      setNumThreads(3);
      assert.deepEqual(a.search(xq, 10), want, 'over threads');
    } finally {
      setNumThreads(threads);
    }
    if (byResidual) {
      assert.equal(a.usePrecomputedTable, 1);
      assert.equal(a.precomputedTable.length, 8 * 8 * 16);
      b.usePrecomputedTable = -1; // per-list residual tables: other roundings, the same neighbours here
      const r = b.search(xq, 10, { nprobe: 3 });
      assert.ok(overlapFrac(r.labels, want.labels, 10) >= 0.95, 'residual tables vs precomputed');
    }
    a.dispose();
    b.dispose();
  }
});

test('IndexIVFPQFastScan: reconstruct (direct map), removeIds, mergeFrom, searchPreassigned, from an IndexIVFPQ', () => {
  const xb = randomVectors(600, 16, 41);
  const xq = randomVectors(10, 16, 42);
  const a = trainedIVF(8, true);
  a.add(xb);
  a.makeDirectMap();
  const lists = a.assignLists(xb.subarray(100 * 16, 101 * 16));
  const code = a.encodeToLists(xb.subarray(100 * 16, 101 * 16), lists);
  const want = a.pq.decode(code);
  const c = a.quantizer.reconstruct(lists[0]!);
  for (let j = 0; j < 16; j++) want[j] = want[j]! + c[j]!;
  assert.deepEqual(a.reconstruct(100), want);
  assert.deepEqual(a.reconstructN(100, 1), want);
  a.makeDirectMap(false);
  // searchPreassigned with the quantizer's lists finds what search finds
  const nprobe = 3;
  const coarse = Int32Array.from(a.quantizer.search(xq, nprobe).labels, Number);
  assert.deepEqual(a.searchPreassigned(xq, 5, coarse, nprobe).labels, a.search(xq, 5, { nprobe }).labels);
  // removeIds: ids 0..299 leave; the rest are still found
  const before = a.search(xq, 5, { nprobe: 8 });
  assert.equal(a.removeIds(new IDSelectorRange(0n, 300n)), 300);
  assert.equal(a.ntotal, 300);
  const after = a.search(xq, 5, { nprobe: 8 });
  for (const l of after.labels) assert.ok(l >= 300n, `removed id ${l} returned`);
  for (let i = 0; i < before.labels.length; i++) if (before.labels[i]! >= 300n) assert.ok(after.labels.includes(before.labels[i]!));
  // mergeFrom: the removed half comes back from another index trained together
  const b = trainedIVF(8, true);
  b.add(xb.subarray(0, 300 * 16));
  a.mergeFrom(b);
  assert.equal(a.ntotal, 600);
  assert.equal(b.ntotal, 0);
  const merged = a.search(xq, 5, { nprobe: 8 });
  assert.deepEqual(new Set(merged.labels), new Set(before.labels));
  // from an IndexIVFPQ with 4-bit codes: same lists, packed
  const ivfpq = new IndexIVFPQ(new IndexFlatL2(16), 16, 8, 8, 4);
  ivfpq.pq.onWarning = () => {};
  ivfpq.train(randomVectors(2000, 16, 31));
  ivfpq.add(xb);
  const fs = new IndexIVFPQFastScan(ivfpq);
  assert.equal(fs.byResidual, true);
  assert.equal(fs.ntotal, 600);
  for (let l = 0; l < 8; l++) assert.deepEqual(fs.lists.unpackCodes(l, 0, fs.lists.listSize(l), 8), ivfpq.invlists.getCodes(l));
  assert.throws(() => new IndexIVFPQFastScan(new IndexIVFPQ(new IndexFlatL2(16), 16, 8, 8, 8)), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'nbits');
  assert.throws(() => new IndexIVFPQFastScan(new IndexFlatL2(16), 16, 8, 8, 8), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'nbits' && /got 8/.test(e.message));
  assert.throws(() => new IndexIVFPQFastScan(new IndexFlatL2(16), 16, 8, 8, 4, MetricType.L2, 40), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'bbs' && /got 40/.test(e.message));
  assert.throws(() => new IndexIVFPQFastScan(new IndexFlatL2(16), 16, 8, 5), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'M' && /5 does not divide d = 16/.test(e.message));
  const untrained = new IndexIVFPQFastScan(new IndexFlatL2(16), 16, 8, 8);
  assert.throws(() => untrained.search(xq, 1), NotTrainedError);
  for (const i of [a, b, fs, untrained]) i.dispose();
  ivfpq.dispose();
});

// ---- factory ------------------------------------------------------------------------------------------

test('indexFactory: PQ{M}x4fs[_bbs], IVF{n},PQ{M}x4fs[r][_bbs] as Faiss 1.7.3 builds them, reverse and bad input', () => {
  const rows: [string, string, boolean | undefined, number][] = [
    ['PQ8x4fs', 'IndexPQFastScan', undefined, 32],
    ['PQ8x4fs_64', 'IndexPQFastScan', undefined, 64],
    ['IVF16,PQ8x4fs', 'IndexIVFPQFastScan', false, 32],
    ['IVF16,PQ8x4fsr', 'IndexIVFPQFastScan', true, 32],
    ['IVF16,PQ4x4fsr_96', 'IndexIVFPQFastScan', true, 96],
  ];
  for (const [desc, type, byResidual, bbs] of rows) {
    const index = indexFactory(16, desc, MetricType.INNER_PRODUCT);
    assert.equal(index.typeName, type, desc);
    assert.equal(index.metricType, MetricType.INNER_PRODUCT);
    const f = index as IndexPQFastScan | IndexIVFPQFastScan;
    assert.equal(f.bbs, bbs, `${desc} bbs`);
    if (byResidual !== undefined) assert.equal((index as IndexIVFPQFastScan).byResidual, byResidual, `${desc} by_residual`);
    assert.equal(reverseIndexFactory(index), desc);
    index.dispose();
  }
  assert.equal(reverseIndexFactory(indexFactory(16, 'IVF16,PQ8x4fs,RFlat')), 'IVF16,PQ8x4fs,RFlat');
  const bad = (desc: string, check: (e: unknown) => boolean): void => assert.throws(() => indexFactory(16, desc), check, desc);
  bad('PQ8x8fs', (e) => e instanceof FactoryParseError && e.token === 'PQ8x8fs' && /nbits = 8.*4-bit/.test(e.message));
  bad('IVF16,PQ8x5fsr', (e) => e instanceof FactoryParseError && e.token === 'PQ8x5fsr' && /nbits = 5/.test(e.message));
  bad('PQ3x4fs', (e) => e instanceof InvalidArgumentError && /M` = 3 does not divide d = 16/.test(e.message));
  bad('IVF16,PQ6x4fs', (e) => e instanceof InvalidArgumentError && /6 does not divide d = 16/.test(e.message));
  bad('PQ8x4fs_48', (e) => e instanceof InvalidArgumentError && e.argument === 'bbs' && /got 48/.test(e.message));
  bad('PQ8x4fsr', (e) => e instanceof FactoryParseError);
});

// ---- recall ---------------------------------------------------------------------------------------------

test('recall@10 of PQ16x4fs and IVF32,PQ16x4fs on a seeded clustered set: within 0.02 of Faiss\'s (each trained on its own)', { skip: liveSkip }, () => {
  const ds = generateDataset({ n: 6000, nq: 100, d: 32, ntrain: 4000, seed: 5 });
  const gt = computeGroundTruth(ds.base, ds.queries, 32, 10);
  const py = runFaiss(
    `
for c, (desc, nprobe) in enumerate([('PQ16x4fs', 0), ('IVF32,PQ16x4fs', 8)]):
    index = faiss.index_factory(32, desc)
    index.train(xt); index.add(xb)
    if nprobe: faiss.downcast_index(index).nprobe = nprobe
    D, I = index.search(xq, 10)
    out['I%d' % c] = I
`,
    { xt: { data: ds.train, shape: [4000, 32] }, xb: { data: ds.base, shape: [6000, 32] }, xq: { data: ds.queries, shape: [100, 32] } },
  );
  const recalls: string[] = [];
  [['PQ16x4fs', 0], ['IVF32,PQ16x4fs', 8]].forEach(([desc, nprobe], c) => {
    const index = indexFactory(32, desc as string);
    index.train(ds.train);
    index.add(ds.base);
    const r = nprobe ? index.search(ds.queries, 10, { nprobe: nprobe as number } as SearchParameters) : index.search(ds.queries, 10);
    const mine = recallAtR(gt.labels, gt.k, r.labels, 10, 10);
    const faiss = recallAtR(gt.labels, gt.k, py[`I${c}`] as BigInt64Array, 10, 10);
    recalls.push(`${desc}: ${mine.toFixed(3)} vs Faiss ${faiss.toFixed(3)}`);
    assert.ok(Math.abs(mine - faiss) <= 0.02, recalls.at(-1));
    assert.ok(mine > 0.3, `${desc}: recall ${mine} is implausibly low`);
    index.dispose();
  });
});

test('IVF16,PQ8x4fs,RFlat: the FastScan index as the base of IndexRefineFlat (k-factor re-ranking improves recall)', () => {
  const ds = generateDataset({ n: 4000, nq: 50, d: 16, ntrain: 3000, seed: 6 });
  const gt = computeGroundTruth(ds.base, ds.queries, 16, 10);
  const base = indexFactory(16, 'IVF16,PQ8x4fs') as IndexIVFPQFastScan;
  const refined = indexFactory(16, 'IVF16,PQ8x4fs,RFlat');
  for (const index of [base, refined]) {
    index.train(ds.train);
    index.add(ds.base);
  }
  const params = { kFactor: 4, baseIndexParams: { nprobe: 8 } } as SearchParameters;
  const rBase = recallAtR(gt.labels, gt.k, base.search(ds.queries, 10, { nprobe: 8 }).labels, 10, 10);
  const rRef = recallAtR(gt.labels, gt.k, refined.search(ds.queries, 10, params).labels, 10, 10);
  assert.ok(rRef > rBase + 0.1 && rRef > 0.8, `recall@10 refined ${rRef} vs base ${rBase}`);
  base.dispose();
  refined.dispose();
});

test('IndexIVFPQFastScan: a batch scanned list by list gives what its queries give one at a time (by residual or not, L2 / IP, 3D tables in several chunks); lists added in pieces are gathered into one memory', () => {
  const d = 16;
  const xb = randomVectors(100000, d, 51);
  const xq = randomVectors(700, d, 52);
  for (const [byResidual, metric] of [[true, MetricType.L2], [false, MetricType.L2], [true, MetricType.INNER_PRODUCT]] as const) {
    const index = trainedIVF(8, byResidual, metric);
    // 100000 x (4 bytes of codes + 8 of id) in three adds: more than the arena's first 1 MiB segment
    for (const [lo, hi] of [[0, 30000], [30000, 60000], [60000, 100000]] as const) index.add(xb.subarray(lo * d, hi * d));
    assert.equal(index.lists.listTable().memories.length, 1, 'lists gathered into one memory');
    const what = `byResidual=${byResidual} metric=${metric}`;
    const read = deserializeIndex(serializeIndex(index)) as IndexIVFPQFastScan;
    assert.equal(read.lists.listTable().memories.length, 1, 'lists read from a file in one memory');
    assert.deepEqual(read.search(xq, 10, { nprobe: 3 }), index.search(xq, 10, { nprobe: 3 }), `${what}: read back`);
    read.dispose();
    // nprobe = nlist: 3D tables of 8 x 8 x 16 bytes per query
    for (const nprobe of [3, 8]) {
      const batch = index.search(xq, 10, { nprobe });
      for (let i = 0; i < 700; i += 7) {
        const one = index.search(xq.subarray(i * d, (i + 1) * d), 10, { nprobe });
        assert.deepEqual(one.labels, batch.labels.subarray(i * 10, (i + 1) * 10), `${what} nprobe=${nprobe} query ${i}: labels`);
        // by residual, the biases are the coarse quantizer's distances, whose batch and single-query
        // kernels round differently
        const want = batch.distances.subarray(i * 10, (i + 1) * 10);
        if (!byResidual) assert.deepEqual(one.distances, want, `${what} nprobe=${nprobe} query ${i}: distances`);
        else for (let j = 0; j < 10; j++) assert.ok(Math.abs(one.distances[j]! - want[j]!) <= 1e-5 * Math.max(1, Math.abs(want[j]!)), `${what} nprobe=${nprobe} query ${i}: distance ${j}`);
      }
    }
    index.dispose();
  }
});

test('IndexIVFPQFastScan: a small batch among many lists (pairs sorted, not counted over the lists) gives what its queries give one at a time, ties included', () => {
  const d = 16;
  // two sub-quantizers: 256 distinct codes for 6000 vectors, so that equal distances in different
  // lists are common and the order the lists are visited in decides which ids are kept
  const index = new IndexIVFPQFastScan(new IndexFlatL2(d), d, 1024, 2, 4);
  index.pq.onWarning = () => {};
  index.cp.minPointsPerCentroid = 1; // 20 points per list, quietly
  index.train(randomVectors(20000, d, 61));
  index.add(randomVectors(20000, d, 62));
  const xq = randomVectors(15, d, 63);
  // 15 queries x 8 probes: fewer pairs than an eighth of the lists (sorted); x 16, counted
  for (const nprobe of [2, 8, 16]) {
    const batch = index.search(xq, 10, { nprobe });
    for (let i = 0; i < 15; i++) {
      const one = index.search(xq.subarray(i * d, (i + 1) * d), 10, { nprobe });
      assert.deepEqual(one.labels, batch.labels.subarray(i * 10, (i + 1) * 10), `nprobe=${nprobe} query ${i}: labels`);
      assert.deepEqual(one.distances, batch.distances.subarray(i * 10, (i + 1) * 10), `nprobe=${nprobe} query ${i}: distances`);
    }
  }
  index.dispose();
});
