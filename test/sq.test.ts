// Scalar quantizers: the SQ kernels against their TypeScript reference, ScalarQuantizer's codes and
// decoded values against Python Faiss bit for bit, IndexScalarQuantizer and IndexIVFScalarQuantizer
// through the conformance suite, recall against Faiss, storage sizes and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IndexFlatL2, IndexFlatIP, IndexScalarQuantizer, IndexIVF, IndexIVFScalarQuantizer, ScalarQuantizer, QuantizerType, RangeStat,
  MetricType, ArrayInvertedLists, DirectMapType, IDSelectorRange, setNumThreads, getNumThreads, encodeFp16, decodeFp16,
  InvalidArgumentError, NotTrainedError, InvalidTypeError,
} from '../src/simdex.js';
import { Heap, fvecNormsL2sqr as refNorms, knnExact } from '../src/kernels/reference.js';
import { sqDecodeRef, sqDistancesRef } from '../src/kernels/referenceSQ.js';
import { Arena } from './helpers/arena.js';
import { recallAtK, runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const ALL_QTYPES = [0, 1, 2, 3, 4, 5, 6] as const;
const DIMS = [1, 3, 7, 16, 17, 33, 128];
const noFaiss = !faissAvailable() && 'python3-faiss not installed';

/** Gaussian-like blobs: n points around c centres in d dimensions (the centres depend on c and d only). */
function blobs(n: number, d: number, c: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const centres = randomVectors(c, d, 7919 * c + d);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[k * d + j]! + 0.25 * (r() + r() + r() - 1.5);
  }
  return x;
}

/** Vectors with a different scale and offset per dimension (so per-dimension ranges matter). */
function skewed(n: number, d: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const scale = Array.from({ length: d }, () => 0.1 + 5 * r());
  const shift = Array.from({ length: d }, () => 4 * r() - 2);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = shift[j]! + scale[j]! * (r() + r() - 1);
  return x;
}

/** Inputs fit for each type: 8bit_direct encodes integers 0..255. */
function dataFor(qtype: number, n: number, d: number, seed: number): Float32Array {
  const x = skewed(n, d, seed);
  if (qtype === QuantizerType.QT_8bit_direct) for (let i = 0; i < x.length; i++) x[i] = Math.floor(Math.abs(x[i]!) * 40) % 256;
  return x;
}

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!);
    assert.ok(err <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

// ---- kernels -----------------------------------------------------------------------------------

test('sq_distances, sq_set_query and sq_decode match the reference for every type, d and metric, with and without a centroid', () => {
  let seed = 100;
  for (const qtype of ALL_QTYPES) {
    for (const d of DIMS) {
      const n = 37;
      const sq = new ScalarQuantizer(d, qtype);
      const x = dataFor(qtype, n, d, seed++);
      sq.train(x);
      const codes = sq.computeCodes(x);
      const tables = sq.kernelTables();
      const ar = new Arena(4 << 20);
      const tab = ar.alloc(ar.k.sq_tables_bytes(d));
      new Float32Array(ar.memory.buffer, tab, tables.length).set(tables);
      const q = randomVectors(1, d, seed++);
      const c = randomVectors(1, d, seed++);
      const qp = ar.putF32(q);
      const cp = ar.putF32(c);
      const out = ar.alloc(n * 4);
      const dec = ar.alloc(n * d * 4);
      const cs = sq.codeSize;
      assert.equal(ar.k.sq_code_size(qtype, d), cs);
      // the codes end the memory: the kernels must not read past their own bytes (a read past traps)
      const codesP = ar.memory.buffer.byteLength - n * cs;
      new Uint8Array(ar.memory.buffer, codesP, n * cs).set(codes);
      ar.k.sq_decode(qtype, tab, d, codesP, n, dec);
      assert.deepEqual(ar.f32(dec, n * d), sqDecodeRef(qtype, tables, d, codes, n), `sq_decode qtype ${qtype} d ${d}`);
      // decoded straight into the blocked kernel's layout (eight vectors per group, dimension-major,
      // zero-padded), with the norms of the decoded vectors
      const packed = ar.alloc(ar.k.packed_bytes(n, d));
      const norms = ar.alloc(n * 4);
      const buf8 = ar.alloc(8 * d * 4);
      ar.k.sq_decode_packed(qtype, tab, d, codesP, n, packed, norms, buf8);
      const decoded = sqDecodeRef(qtype, tables, d, codes, n);
      const want = new Float32Array(Math.ceil(n / 8) * 8 * d);
      for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) want[(Math.floor(j / 8) * d + t) * 8 + (j % 8)] = decoded[j * d + t]!;
      assert.deepEqual(ar.f32(packed, want.length), want, `sq_decode_packed qtype ${qtype} d ${d}`);
      // the norms sq_decode then fvec_norms_L2sqr give, bit for bit
      const wantNorms = ar.alloc(n * 4);
      ar.k.fvec_norms_L2sqr(wantNorms, dec, d, n);
      assert.deepEqual(ar.f32(norms, n), ar.f32(wantNorms, n), `sq_decode_packed norms qtype ${qtype} d ${d}`);
      assertClose(ar.f32(norms, n), refNorms(decoded, d, n), 1e-5, `sq_decode_packed norms qtype ${qtype} d ${d}`);
      // the tables' reconstruction is Faiss's decode within float rounding
      assertClose(ar.f32(dec, n * d), sq.decode(codes), 1e-5, `tables vs decode qtype ${qtype} d ${d}`);
      for (const metric of ['L2', 'IP'] as const) {
        for (const centroid of [undefined, c]) {
          const m = metric === 'L2' ? 1 : 0;
          const dis0 = ar.k.sq_set_query(m, qp, cp, centroid ? 1 : 0, tab, d);
          ar.k.sq_distances(qtype, m, tab, d, codesP, n, out, dis0);
          const want = sqDistancesRef(qtype, metric, tables, d, q, centroid, codes, n);
          assertClose(ar.f32(out, n), want, 2e-5, `sq_distances qtype ${qtype} d ${d} ${metric}${centroid ? ' centroid' : ''}`);
        }
      }
    }
  }
});

test('sq_knn keeps the k best of the kernel distances, with sequential ids and with explicit ids, over several calls', () => {
  let seed = 300;
  for (const qtype of [0, 1, 4, 6]) {
    for (const d of [3, 17, 64]) {
      for (const metric of [1, 0]) {
        const n = 700; // several blocks of 256
        const k = 10;
        const sq = new ScalarQuantizer(d, qtype as QuantizerType);
        const x = dataFor(qtype, n, d, seed++);
        sq.train(x);
        const codes = sq.computeCodes(x);
        const tables = sq.kernelTables();
        const ar = new Arena(8 << 20);
        const tab = ar.alloc(ar.k.sq_tables_bytes(d));
        new Float32Array(ar.memory.buffer, tab, tables.length).set(tables);
        const qp = ar.putF32(randomVectors(1, d, seed++));
        const codesP = ar.alloc(n * sq.codeSize);
        new Uint8Array(ar.memory.buffer, codesP, codes.length).set(codes);
        const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(5000 - 3 * i));
        const idsP = ar.putI64(ids);
        const out = ar.alloc(n * 4);
        const tmp = ar.alloc(1024);
        const hd = ar.alloc(k * 4);
        const hi = ar.alloc(k * 8);
        const dis0 = ar.k.sq_set_query(metric, qp, 0, 0, tab, d);
        ar.k.sq_distances(qtype, metric, tab, d, codesP, n, out, dis0);
        const dis = ar.f32(out, n);
        for (const useIds of [0, 1]) {
          // two calls continue the same heap: codes [0, 300) then [300, n)
          ar.k.heap_heapify(metric, 1, k, hd, hi);
          ar.k.sq_knn(qtype, metric, tab, d, codesP, 300, k, hd, hi, idsP, useIds, 0n, dis0, tmp);
          ar.k.sq_knn(qtype, metric, tab, d, codesP + 300 * sq.codeSize, n - 300, k, hd, hi, idsP + 300 * 8, useIds, 300n, dis0, tmp);
          ar.k.heap_reorder(metric, 1, k, hd, hi);
          const h = new Heap(k, metric === 1);
          for (let i = 0; i < n; i++) h.push(dis[i]!, useIds ? ids[i]! : BigInt(i));
          const want = h.reorder();
          assert.deepEqual(ar.i64(hi, k), want.ids, `qtype ${qtype} d ${d} metric ${metric} useIds ${useIds}`);
          assert.deepEqual(ar.f32(hd, k), want.dis);
        }
      }
    }
  }
});

test('fp16: encodeFp16 / decodeFp16 are Faiss\'s portable conversions (rounding ties away from zero, overflow, denormals)', () => {
  assert.equal(encodeFp16(1), 0x3c00);
  assert.equal(encodeFp16(-2), 0xc000);
  assert.equal(encodeFp16(65504), 0x7bff);
  assert.equal(encodeFp16(1e6), 0x7c00);
  assert.equal(encodeFp16(-Infinity), 0xfc00);
  assert.equal(encodeFp16(NaN), 0x7e00);
  assert.equal(encodeFp16(Math.fround(1 + 2 ** -11)), 0x3c01, 'a tie rounds away from zero');
  assert.equal(encodeFp16(2 ** -24), 0x0001, 'smallest denormal');
  assert.equal(decodeFp16(0x0001), 2 ** -24);
  assert.equal(decodeFp16(0x7c00), Infinity);
  assert.ok(Number.isNaN(decodeFp16(0x7e00)));
  assert.ok(Object.is(decodeFp16(0x8000), -0));
  for (let h = 0; h < 0x10000; h++) {
    const f = decodeFp16(h);
    if (!Number.isNaN(f)) assert.equal(encodeFp16(f), h, `round trip of half 0x${h.toString(16)}`);
  }
});

// ---- ScalarQuantizer vs Python Faiss -----------------------------------------------------------

test('ScalarQuantizer: trained values, codes and decoded vectors equal Faiss\'s bit for bit (every type and range statistic)', { skip: noFaiss }, () => {
  const cases: { d: number; qtype: number; rs: number; arg: number }[] = [];
  for (const d of [1, 3, 7, 17, 128]) {
    for (const qtype of ALL_QTYPES) {
      const stats = qtype === 4 || qtype === 5 ? [[0, 0]] : [[0, 0], [0, 0.1], [1, 2], [2, 0.05], [3, 0]];
      for (const [rs, arg] of stats) cases.push({ d, qtype, rs: rs!, arg: arg! });
    }
  }
  const inputs: Record<string, { data: Float32Array; shape: number[] }> = {};
  const n = 300;
  const xs = new Map<string, Float32Array>();
  cases.forEach((c, i) => {
    const x = dataFor(c.qtype, n, c.d, 1000 + i);
    if (c.qtype === 4) {
      x[0] = 1e6; // overflow to infinity
      x[1] = 3e-7; // denormal half
      x[2] = Math.fround(1 + 2 ** -11); // a tie
    }
    xs.set(`x${i}`, x);
    inputs[`x${i}`] = { data: x, shape: [n, c.d] };
  });
  const script = cases
    .map(
      (c, i) => `
sq = faiss.ScalarQuantizer(${c.d}, ${c.qtype})
sq.rangestat = ${c.rs}
sq.rangestat_arg = ${c.arg}
sq.train(x${i})
codes = sq.compute_codes(x${i})
out['t${i}'] = faiss.vector_to_array(sq.trained).astype('float32') if sq.trained.size() else np.zeros(0, 'float32')
out['c${i}'] = codes
out['r${i}'] = sq.decode(codes)
out['s${i}'] = np.array([sq.code_size], dtype='int32')`,
    )
    .join('\n');
  const theirs = runFaiss(script, inputs);
  cases.forEach((c, i) => {
    const what = `d ${c.d} qtype ${c.qtype} rangestat ${c.rs} arg ${c.arg}`;
    const sq = new ScalarQuantizer(c.d, c.qtype as QuantizerType);
    sq.rangestat = c.rs as RangeStat;
    sq.rangestatArg = c.arg;
    const x = xs.get(`x${i}`)!;
    sq.train(x);
    assert.equal(sq.codeSize, (theirs[`s${i}`] as Int32Array)[0], `${what}: code_size`);
    assert.deepEqual(sq.trained, theirs[`t${i}`], `${what}: trained`);
    const codes = sq.computeCodes(x);
    assert.deepEqual(codes, theirs[`c${i}`] as unknown as Uint8Array, `${what}: codes`);
    assert.deepEqual(sq.decode(codes), theirs[`r${i}`], `${what}: decode`);
  });
});

test('ScalarQuantizer: codeSize as Faiss, trained layout, Faiss-style static names, bad input', () => {
  const sizes = (d: number): number[] => ALL_QTYPES.map((qt) => new ScalarQuantizer(d, qt).codeSize);
  assert.deepEqual(sizes(1), [1, 1, 1, 1, 2, 1, 1]);
  assert.deepEqual(sizes(7), [7, 4, 7, 4, 14, 7, 6]);
  assert.deepEqual(sizes(128), [128, 64, 128, 64, 256, 128, 96]);
  assert.equal(ScalarQuantizer.QT_8bit, 0);
  assert.equal(ScalarQuantizer.QT_6bit, 6);
  assert.equal(ScalarQuantizer.RS_optim, 3);
  const x = skewed(100, 5, 1);
  const per = new ScalarQuantizer(5, QuantizerType.QT_8bit);
  per.train(x);
  assert.equal(per.trained.length, 10);
  const uni = new ScalarQuantizer(5, QuantizerType.QT_4bit_uniform);
  uni.train(x);
  assert.equal(uni.trained.length, 2);
  assert.equal(new ScalarQuantizer(5, QuantizerType.QT_fp16).isTrained, true);
  const sq = new ScalarQuantizer(5, QuantizerType.QT_8bit);
  assert.equal(sq.isTrained, false);
  assert.throws(() => sq.computeCodes(x), NotTrainedError);
  assert.throws(() => sq.decode(new Uint8Array(5)), NotTrainedError);
  assert.throws(() => new ScalarQuantizer(5, 7 as QuantizerType), (e: unknown) => e instanceof InvalidArgumentError && /`qtype` must be a ScalarQuantizer QuantizerType.*got 7/.test(e.message));
  assert.throws(() => new ScalarQuantizer(0, 0), InvalidArgumentError);
  assert.throws(() => sq.train(new Float32Array(7)), (e: unknown) => e instanceof InvalidArgumentError && /multiple of d = 5/.test(e.message));
  assert.throws(() => sq.train(new Float32Array(0)), (e: unknown) => e instanceof InvalidArgumentError && /no vectors/.test(e.message));
  per.trained = per.trained; // the setter takes 2*d floats
  assert.throws(() => { per.trained = new Float32Array(3); }, InvalidArgumentError);
  assert.throws(() => per.decode(new Uint8Array(7)), (e: unknown) => e instanceof InvalidArgumentError && /codeSize = 5/.test(e.message));
});

// ---- IndexScalarQuantizer ----------------------------------------------------------------------

runIndexConformance('IndexScalarQuantizer QT_8bit', {
  make: (d, m) => new IndexScalarQuantizer(d, QuantizerType.QT_8bit, m),
  minRecall: 0.95, // measured 0.97 .. 1
});

runIndexConformance('IndexScalarQuantizer QT_fp16', {
  make: (d, m) => new IndexScalarQuantizer(d, QuantizerType.QT_fp16, m),
  minRecall: 0.99, // measured 1
});

runIndexConformance('IndexScalarQuantizer QT_4bit (several segments)', {
  make: (d, m) => new IndexScalarQuantizer(d, QuantizerType.QT_4bit, m, { maxSegmentBytes: 4096 }),
  minRecall: 0.8, // measured 0.89 .. 0.9
});

test('IndexScalarQuantizer: search equals a scan of Faiss-decoded vectors; one query, batches (blocked kernel), 1 and 2 threads, several segments', () => {
  const d = 40;
  const n = 5000;
  const x = blobs(n, d, 30, 21);
  const q = blobs(60, d, 30, 22);
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    for (const qtype of [QuantizerType.QT_8bit, QuantizerType.QT_6bit, QuantizerType.QT_fp16, QuantizerType.QT_4bit_uniform]) {
      const index = new IndexScalarQuantizer(d, qtype, metric, { maxSegmentBytes: 64 * 1024 });
      index.train(x);
      index.add(x.subarray(0, 3000 * d));
      index.add(x.subarray(3000 * d));
      assert.ok(index.segments.length > 1);
      assert.equal(index.ntotal, n);
      const decoded = index.reconstructN(0, n);
      const exact = knnExact(metric === MetricType.L2 ? 'L2' : 'IP', q, 60, decoded, n, d, 10);
      const saved = getNumThreads();
      try {
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const batch = index.search(q, 10);
          const single = new BigInt64Array(60 * 10);
          for (let i = 0; i < 60; i++) single.set(index.search(q.subarray(i * d, (i + 1) * d), 10).labels, i * 10);
          const what = `qtype ${qtype} metric ${metric} threads ${threads}`;
          assert.ok(recallAtK(single, exact.labels, 60, 10) >= 0.99, `${what}: one query at a time`);
          assert.ok(recallAtK(batch.labels, exact.labels, 60, 10) >= 0.99, `${what}: batch`);
          assertClose(batch.distances, exact.distances, 1e-3, `${what}: distances`);
        }
      } finally {
        setNumThreads(saved);
      }
    }
  }
});

test('IndexScalarQuantizer: bytes per vector = codeSize; reconstruct; removeIds keeps order; reset; saEncode/saDecode; addSaCodes', () => {
  const d = 20;
  const x = skewed(3000, d, 31);
  for (const qtype of ALL_QTYPES) {
    const index = new IndexScalarQuantizer(d, qtype, MetricType.L2, { maxSegmentBytes: 8192 });
    if (!index.isTrained) index.train(qtype === 5 ? dataFor(5, 3000, d, 31) : x);
    const data = qtype === 5 ? dataFor(5, 3000, d, 31) : x;
    index.add(data);
    const codes = index.codes();
    assert.equal(codes.length, 3000 * index.codeSize, 'codeSize bytes per vector');
    assert.equal(index.segments.reduce((s, seg) => s + seg.count, 0), 3000);
    assert.deepEqual(codes, index.saEncode(data));
    assert.deepEqual(index.reconstructN(0, 3000), index.sq.decode(codes));
    assert.deepEqual(index.reconstruct(1234), index.sq.decode(codes.subarray(1234 * index.codeSize, 1235 * index.codeSize)));
    assert.deepEqual(index.saDecode(codes.subarray(0, 2 * index.codeSize)), index.reconstructN(0, 2));
    assert.equal(index.removeIds(new IDSelectorRange(100n, 2100n)), 2000);
    assert.equal(index.ntotal, 1000);
    const kept = new Uint8Array(1000 * index.codeSize);
    kept.set(codes.subarray(0, 100 * index.codeSize));
    kept.set(codes.subarray(2100 * index.codeSize), 100 * index.codeSize);
    assert.deepEqual(index.codes(), kept);
    const r = index.search(index.reconstructN(500, 1), 1);
    assert.equal(r.labels[0], 500n);
    index.reset();
    assert.equal(index.ntotal, 0);
    index.addSaCodes(kept);
    assert.deepEqual(index.codes(), kept);
    assert.throws(() => index.reconstruct(1000), InvalidArgumentError);
  }
});

test('IndexScalarQuantizer: labels and distances as Faiss\'s IndexScalarQuantizer (SQ8, SQfp16; L2 and IP)', { skip: noFaiss }, () => {
  const d = 24;
  const n = 4000;
  const x = blobs(n, d, 40, 41);
  const q = blobs(30, d, 40, 42);
  const configs = [QuantizerType.QT_8bit, QuantizerType.QT_fp16, QuantizerType.QT_4bit].flatMap((qtype) =>
    [MetricType.L2, MetricType.INNER_PRODUCT].map((metric) => ({ qtype, metric })));
  const theirs = runFaiss(
    `
for i, (qtype, metric) in enumerate(${JSON.stringify(configs.map((c) => [c.qtype, c.metric]))}):
    index = faiss.IndexScalarQuantizer(${d}, qtype, metric)
    index.train(x)
    index.add(x)
    out['D%d' % i], out['I%d' % i] = index.search(q, 10)`,
    { x: { data: x, shape: [n, d] }, q: { data: q, shape: [30, d] } },
  );
  configs.forEach(({ qtype, metric }, c) => {
    const index = new IndexScalarQuantizer(d, qtype, metric);
    index.train(x);
    index.add(x);
    const mine = index.search(q, 10);
    const labels = theirs[`I${c}`] as BigInt64Array;
    let same = 0;
    for (let i = 0; i < mine.labels.length; i++) if (mine.labels[i] === labels[i]) same++;
    assert.ok(same >= mine.labels.length - 6, `qtype ${qtype} metric ${metric}: ${mine.labels.length - same} labels differ from Faiss`);
    assertClose(mine.distances, theirs[`D${c}`] as Float32Array, 1e-4, `qtype ${qtype} metric ${metric}: distances`);
  });
});

test('IndexScalarQuantizer: bad input', () => {
  const d = 8;
  const x = randomVectors(50, d, 51);
  const index = new IndexScalarQuantizer(d, QuantizerType.QT_8bit);
  assert.equal(index.isTrained, false);
  assert.throws(() => index.add(x), (e: unknown) => e instanceof NotTrainedError && /IndexScalarQuantizer \(QT_8bit\) is not trained: call train\(\) before add\(\)/.test(e.message));
  assert.throws(() => index.search(x, 1), NotTrainedError);
  assert.throws(() => new IndexScalarQuantizer(d, 9 as QuantizerType), (e: unknown) => e instanceof InvalidArgumentError && /`qtype`/.test(e.message));
  assert.throws(() => new IndexScalarQuantizer(d, -1 as QuantizerType), InvalidArgumentError);
  assert.throws(() => index.train(new Float32Array(d + 1)), InvalidArgumentError);
  assert.throws(() => index.train([1, 2] as unknown as Float32Array), InvalidTypeError);
  index.train(x);
  assert.throws(() => index.add(new Float32Array(d - 1)), (e: unknown) => e instanceof InvalidArgumentError && /multiple of d = 8/.test(e.message));
  assert.throws(() => index.search(x, 0), InvalidArgumentError);
  assert.throws(() => index.addSaCodes(new Uint8Array(d + 1)), InvalidArgumentError);
  assert.equal(new IndexScalarQuantizer(d, QuantizerType.QT_fp16).isTrained, true);
});

// ---- IndexIVFScalarQuantizer -------------------------------------------------------------------

import { byListLimits } from '../src/search/ivfScanByList.js';

const newIVFSQ = (d: number, nlist: number, qtype: QuantizerType = QuantizerType.QT_8bit, metric: MetricType = MetricType.L2, byResidual = true): IndexIVFScalarQuantizer =>
  new IndexIVFScalarQuantizer(metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d), d, nlist, qtype, metric, byResidual);

runIndexConformance('IndexIVFScalarQuantizer SQ8 by residual (nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVFSQ(d, 8, QuantizerType.QT_8bit, m);
    index.nprobe = 8;
    return index;
  },
  minRecall: 0.95, // measured 0.97 .. 1
});

runIndexConformance('IndexIVFScalarQuantizer SQfp16 (nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVFSQ(d, 8, QuantizerType.QT_fp16, m);
    index.nprobe = 8;
    return index;
  },
  minRecall: 0.99, // measured 1
});

runIndexConformance('IndexIVFScalarQuantizer SQ6 without residuals (nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVFSQ(d, 8, QuantizerType.QT_6bit, m, false);
    index.nprobe = 8;
    return index;
  },
  minRecall: 0.85, // measured 0.9 .. 1
});

test('IndexIVFScalarQuantizer: byResidual by default (as Faiss and index_factory IVFn,SQ8); training needed even with a trained quantizer', () => {
  const d = 8;
  const index = newIVFSQ(d, 4);
  assert.equal(index.byResidual, true);
  assert.equal(index.sq.qtype, QuantizerType.QT_8bit);
  assert.equal(index.codeSize, 8);
  const quantizer = new IndexFlatL2(d);
  quantizer.add(randomVectors(4, d, 1));
  const pre = new IndexIVFScalarQuantizer(quantizer, d, 4, QuantizerType.QT_fp16);
  assert.equal(pre.isTrained, false);
  assert.throws(() => pre.add(randomVectors(3, d, 2)), NotTrainedError);
  pre.train(randomVectors(10, d, 3));
  assert.equal(pre.isTrained, true);
});

test('IndexIVFScalarQuantizer: recall grows with nprobe; same results with 1 and 2 threads, split probes, several arena segments; reconstruct; removeIds', () => {
  const d = 64;
  const n = 20000;
  const x = blobs(n, d, 100, 61);
  const q = blobs(100, d, 100, 62);
  const truth = knnExact('L2', q, 100, x, n, d, 10);
  const index = newIVFSQ(d, 64);
  index.invlists = new ArrayInvertedLists(64, index.codeSize, { maxSegmentBytes: 1 << 20 });
  index.train(x);
  index.add(x.subarray(0, 8000 * d));
  index.add(x.subarray(8000 * d));
  assert.ok((index.invlists as ArrayInvertedLists).arena.segments.length > 1);
  let prev = 0;
  for (const nprobe of [1, 4, 16, 64]) {
    const rec = recallAtK(index.search(q, 10, { nprobe }).labels, truth.labels, 100, 10);
    assert.ok(rec >= prev - 0.005, `recall ${rec} at nprobe ${nprobe} below ${prev}`);
    prev = rec;
  }
  assert.ok(prev >= 0.9, `recall@10 at nprobe = nlist is ${prev}`);
  const saved = getNumThreads();
  const savedSplit = IndexIVF.splitProbesMinBytes;
  IndexIVF.splitProbesMinBytes = 0; // split every single query over its probed lists
  try {
    setNumThreads(1);
    const one = index.search(q, 7, { nprobe: 12 });
    const s1 = index.search(q.subarray(0, d), 7, { nprobe: 64 });
    setNumThreads(2);
    const two = index.search(q, 7, { nprobe: 12 });
    const s2 = index.search(q.subarray(0, d), 7, { nprobe: 64 });
    assert.deepEqual(two.labels, one.labels);
    assert.deepEqual(two.distances, one.distances);
    assert.deepEqual(s2.labels, s1.labels);
  } finally {
    setNumThreads(saved);
    IndexIVF.splitProbesMinBytes = savedSplit;
  }
  // reconstruction: decoded residual + centroid, within the quantization step of the original
  const rec = index.reconstructN(0, n);
  let maxErr = 0;
  for (let i = 0; i < rec.length; i++) maxErr = Math.max(maxErr, Math.abs(rec[i]! - x[i]!));
  assert.ok(maxErr < 0.02, `reconstruction error ${maxErr}`);
  index.makeDirectMap();
  assert.deepEqual(index.reconstruct(4321), rec.slice(4321 * d, 4322 * d));
  index.setDirectMapType(DirectMapType.Hashtable);
  assert.equal(index.removeIds(new IDSelectorRange(0n, 10000n)), 10000);
  for (const l of index.search(q, 5, { nprobe: 8 }).labels) assert.ok(l >= 10000n);
});

test('IndexIVFScalarQuantizer: bytes per vector = codeSize + 8 (id), as Faiss', () => {
  const d = 48;
  const n = 10000;
  const x = blobs(n, d, 50, 71);
  for (const qtype of [QuantizerType.QT_8bit, QuantizerType.QT_4bit, QuantizerType.QT_6bit, QuantizerType.QT_fp16]) {
    const index = newIVFSQ(d, 32, qtype);
    index.train(x);
    index.add(x);
    const cs = { 0: 48, 1: 24, 6: 36, 4: 96 }[qtype as 0 | 1 | 6 | 4];
    assert.equal(index.codeSize, cs);
    const live = (index.invlists as ArrayInvertedLists).bytes;
    assert.ok(live >= n * (cs + 8) && live <= n * (cs + 8) + 32 * 32, `qtype ${qtype}: ${live} bytes for ${n} vectors of ${cs} + 8 bytes`);
  }
});

test('IndexIVFScalarQuantizer: trained ranges, reconstructions and search as Faiss given the same centroids (L2 and IP, by residual or not)', { skip: noFaiss }, () => {
  const d = 24;
  const n = 6000;
  const nlist = 32;
  const x = blobs(n, d, 40, 81);
  const q = blobs(40, d, 40, 82);
  const configs = [MetricType.L2, MetricType.INNER_PRODUCT].flatMap((metric) =>
    [true, false].flatMap((byResidual) => [QuantizerType.QT_8bit, QuantizerType.QT_4bit].map((qtype) => ({ metric, byResidual, qtype }))));
  const indexes = configs.map(({ metric, byResidual, qtype }) => {
    const index = newIVFSQ(d, nlist, qtype, metric, byResidual);
    index.train(x);
    index.add(x);
    return index;
  });
  const inputs: Record<string, { data: Float32Array; shape: number[] }> = { x: { data: x, shape: [n, d] }, q: { data: q, shape: [40, d] } };
  indexes.forEach((index, c) => (inputs[`centroids${c}`] = { data: index.quantizer.reconstructN(0, nlist), shape: [nlist, d] }));
  const theirs = runFaiss(
    `
for c, (metric, by_residual, qtype) in enumerate(${JSON.stringify(configs.map((c) => [c.metric, c.byResidual ? 1 : 0, c.qtype]))}):
    quant = faiss.IndexFlatL2(${d}) if metric == 1 else faiss.IndexFlatIP(${d})
    quant.add(globals()['centroids%d' % c])
    index = faiss.IndexIVFScalarQuantizer(quant, ${d}, ${nlist}, qtype, metric, bool(by_residual))
    index.train(x)
    index.add(x)
    index.nprobe = 4
    out['D%d' % c], out['I%d' % c] = index.search(q, 10)
    out['T%d' % c] = faiss.vector_to_array(index.sq.trained)
    index.make_direct_map()
    out['R%d' % c] = index.reconstruct_n(0, ${n})`,
    inputs,
  );
  configs.forEach(({ metric, byResidual, qtype }, c) => {
    const index = indexes[c]!;
    const what = `metric ${metric} byResidual ${byResidual} qtype ${qtype}`;
    const mine = index.search(q, 10, { nprobe: 4 });
    assert.deepEqual(index.sq.trained, theirs[`T${c}`], `${what}: trained`);
    assert.deepEqual(index.reconstructN(0, n), theirs[`R${c}`], `${what}: reconstructions (codes) bit for bit`);
    const labels = theirs[`I${c}`] as BigInt64Array;
    let same = 0;
    for (let i = 0; i < mine.labels.length; i++) if (mine.labels[i] === labels[i]) same++;
    assert.ok(same >= mine.labels.length - 8, `${what}: ${mine.labels.length - same} labels differ from Faiss`);
    assertClose(mine.distances, theirs[`D${c}`] as Float32Array, 2e-4, `${what}: distances`);
  });
});

test('IVF64,SQ8: recall@10 within 0.02 of Faiss trained on the same clustered data', { skip: noFaiss }, () => {
  const d = 32;
  const n = 20000;
  const x = blobs(n, d, 200, 91);
  const q = blobs(200, d, 200, 92);
  const truth = knnExact('L2', q, 200, x, n, d, 10);
  const index = newIVFSQ(d, 64);
  index.train(x);
  index.add(x);
  const theirs = runFaiss(
    `
index = faiss.index_factory(${d}, 'IVF64,SQ8')
assert index.by_residual
index.train(x)
index.add(x)
for nprobe in (1, 4, 16):
    index.nprobe = nprobe
    out['I%d' % nprobe] = index.search(q, 10)[1]`,
    { x: { data: x, shape: [n, d] }, q: { data: q, shape: [200, d] } },
  );
  for (const nprobe of [1, 4, 16]) {
    const mine = recallAtK(index.search(q, 10, { nprobe }).labels, truth.labels, 200, 10);
    const faiss = recallAtK(theirs[`I${nprobe}`] as BigInt64Array, truth.labels, 200, 10);
    assert.ok(Math.abs(mine - faiss) <= 0.02, `nprobe ${nprobe}: simdex ${mine} vs Faiss ${faiss}`);
  }
});

test('IndexIVFScalarQuantizer: mergeFrom needs the same scalar quantizer; bad input', () => {
  const d = 8;
  const x = blobs(2000, d, 10, 95);
  const a = newIVFSQ(d, 8);
  a.train(x);
  const b = newIVFSQ(d, 8);
  b.quantizer.add(a.quantizer.reconstructN(0, 8));
  b.train(blobs(2000, d, 10, 96)); // same centroids, other ranges
  a.add(x.subarray(0, 1000 * d));
  b.add(x.subarray(1000 * d));
  assert.throws(() => a.mergeFrom(b, 1000n), (e: unknown) => e instanceof InvalidArgumentError && /different scalar quantizer/.test(e.message));
  const c = newIVFSQ(d, 8);
  c.quantizer.add(a.quantizer.reconstructN(0, 8));
  c.sq.trained = a.sq.trained;
  c.isTrained = true;
  c.add(x.subarray(1000 * d));
  a.mergeFrom(c, 1000n);
  assert.equal(a.ntotal, 2000);
  assert.equal(a.search(a.reconstructN(1500, 1), 1, { nprobe: 8 }).labels[0], 1500n);

  const index = newIVFSQ(d, 16);
  assert.throws(() => index.add(x), NotTrainedError);
  assert.throws(() => index.search(x, 1), (e: unknown) => e instanceof NotTrainedError && /before search\(\)/.test(e.message));
  assert.throws(() => newIVFSQ(d, 16, 11 as QuantizerType), (e: unknown) => e instanceof InvalidArgumentError && /`qtype`.*got 11/.test(e.message));
  assert.throws(() => new IndexIVFScalarQuantizer(new IndexFlatL2(4), d, 16), InvalidArgumentError);
  index.train(x);
  assert.throws(() => index.search(new Float32Array(d + 1), 1), InvalidArgumentError);
  assert.throws(() => index.add(new Float32Array(3)), InvalidArgumentError);
});

test('IndexIVFScalarQuantizer: batches scanned list by list (decoded codes, blocked kernel) give the one-query results, every type, L2 and IP, 1 and 2 threads', () => {
  const d = 24;
  const n = 6000;
  const x = blobs(n, d, 40, 71);
  const q = blobs(200, d, 40, 72);
  const saved = getNumThreads();
  try {
    for (const qtype of [QuantizerType.QT_8bit, QuantizerType.QT_4bit, QuantizerType.QT_6bit, QuantizerType.QT_fp16, QuantizerType.QT_8bit_uniform]) {
      for (const [metric, byResidual] of [[MetricType.L2, true], [MetricType.L2, false], [MetricType.INNER_PRODUCT, false], [MetricType.INNER_PRODUCT, true]] as const) {
        const index = newIVFSQ(d, 16, qtype, metric, byResidual);
        index.train(x);
        index.add(x);
        const k = 10;
        for (const [threads, decodeBlock] of [[1, 0], [2, 0], [1, 37]] as const) {
          setNumThreads(threads);
          byListLimits.decodeBlock = decodeBlock; // 37: lists of ~375 codes decoded in 11 blocks
          const batch = index.search(q, k, { nprobe: 8 });
          byListLimits.decodeBlock = 0;
          for (let i = 0; i < 200; i++) {
            const one = index.search(q.subarray(i * d, (i + 1) * d), k, { nprobe: 8 });
            for (let j = 0; j < k; j++) {
              const o = i * k + j;
              const a = batch.distances[o]!;
              const b = one.distances[j]!;
              const what = `qtype ${qtype} metric ${metric} residual ${byResidual} threads ${threads}: query ${i} rank ${j}`;
              assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
              // the same labels, but for near ties
              if (batch.labels[o] !== one.labels[j]) assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)) && (j + 1 < k ? Math.abs(one.distances[j + 1]! - b) <= 1e-4 * Math.max(1, Math.abs(b)) || Math.abs(one.distances[Math.max(0, j - 1)]! - b) <= 1e-4 * Math.max(1, Math.abs(b)) : true), `${what}: labels ${batch.labels[o]} vs ${one.labels[j]}`);
            }
          }
        }
      }
    }
  } finally {
    setNumThreads(saved);
  }
});

test('8-bit codes of a batch (the sq_encode8 kernel) are those of encodeVector, byte for byte: clamping, constant dimensions, uniform', () => {
  const d = 37;
  const x = randomVectors(300, d, 41);
  for (let i = 0; i < 300; i++) x[i * d + 5] = 0.25; // a constant dimension: vdiff = 0
  for (const qtype of [QuantizerType.QT_8bit, QuantizerType.QT_8bit_uniform]) {
    const sq = new ScalarQuantizer(d, qtype);
    sq.train(x.subarray(0, 200 * d));
    // the last 100 vectors, stretched: many components fall outside the trained range
    const y = x.slice(200 * d).map((v, i) => (i % 3 === 0 ? v * 3 - 1 : v));
    const batch = sq.computeCodes(y);
    const one = new Uint8Array(100 * d);
    for (let i = 0; i < 100; i++) sq.encodeVector(y, i * d, one, i * d);
    assert.deepEqual(batch, one, `qtype ${qtype}`);
    assert.ok(batch.includes(0) && batch.includes(255), 'clamped at both ends');
  }
});
