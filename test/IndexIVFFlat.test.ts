import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IndexFlatL2, IndexFlatIP, IndexIVF, IndexIVFFlat, MetricType, ArrayInvertedLists, DirectMapType, IDSelectorRange,
  setNumThreads, getNumThreads, InvalidArgumentError, NotTrainedError, NotSupportedError,
} from '../src/simdex.js';
import { knnExact } from '../src/kernels/reference.js';
import { recallAtK, runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

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

const newIVF = (d: number, nlist: number, metric: MetricType = MetricType.L2): IndexIVFFlat =>
  new IndexIVFFlat(metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d), d, nlist, metric);

// nprobe = nlist: exhaustive, so recall must be 1
runIndexConformance('IndexIVFFlat (nprobe = nlist)', {
  make: (d, m) => {
    const index = newIVF(d, 8, m);
    index.nprobe = 8;
    return index;
  },
  minRecall: 1,
});

test('IndexIVFFlat: recall grows with nprobe and reaches exact search at nprobe = nlist', () => {
  const d = 32;
  const x = blobs(20000, d, 100, 1);
  const q = blobs(200, d, 100, 2);
  const index = newIVF(d, 64);
  index.train(x);
  index.add(x);
  assert.equal(index.ntotal, 20000);
  const truth = knnExact('L2', q, 200, x, 20000, d, 10);
  let prev = 0;
  for (const nprobe of [1, 4, 16, 64]) {
    const r = index.search(q, 10, { nprobe });
    const rec = recallAtK(r.labels, truth.labels, 200, 10);
    assert.ok(rec >= prev, `recall ${rec} at nprobe ${nprobe} below ${prev}`);
    prev = rec;
  }
  assert.equal(prev, 1);
  // nprobe > nlist is clamped, not an error
  assert.deepEqual(index.search(q, 10, { nprobe: 1000 }).labels, index.search(q, 10, { nprobe: 64 }).labels);
});

test('IndexIVFFlat: same labels with 1 and 2 threads, batches and single queries split over lists, several arena segments', () => {
  const d = 16;
  const x = blobs(30000, d, 50, 3);
  const q = blobs(40, d, 50, 4);
  const index = newIVF(d, 32);
  index.invlists = new ArrayInvertedLists(32, d * 4, { maxSegmentBytes: 1 << 20 });
  index.train(x);
  index.add(x.subarray(0, 10000 * d));
  index.add(x.subarray(10000 * d));
  assert.ok((index.invlists as ArrayInvertedLists).arena.segments.length > 1, 'lists spread over several segments');
  const saved = getNumThreads();
  const savedSplit = IndexIVF.splitProbesMinBytes;
  IndexIVF.splitProbesMinBytes = 0; // split every single query over its probed lists
  try {
    setNumThreads(1);
    const one = index.search(q, 7, { nprobe: 12 });
    const single1 = index.search(q.subarray(0, d), 7, { nprobe: 32 });
    setNumThreads(2);
    const two = index.search(q, 7, { nprobe: 12 });
    const single2 = index.search(q.subarray(0, d), 7, { nprobe: 32 });
    assert.deepEqual(two.labels, one.labels);
    assert.deepEqual(two.distances, one.distances);
    assert.deepEqual(single2.labels, single1.labels);
    const exact = knnExact('L2', q.subarray(0, d), 1, x, 30000, d, 7);
    assert.deepEqual(single2.labels, exact.labels);
  } finally {
    setNumThreads(saved);
    IndexIVF.splitProbesMinBytes = savedSplit;
  }
});

test('IndexIVFFlat: identical labels to Faiss given the same centroids (L2 and IP)', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 24;
  const n = 5000;
  const nlist = 32;
  const x = blobs(n, d, 40, 5);
  const q = blobs(50, d, 40, 6);
  for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
    const index = newIVF(d, nlist, metric);
    index.train(x);
    index.add(x);
    const centroids = index.quantizer.reconstructN(0, nlist);
    for (const nprobe of [1, 5]) {
      const mine = index.search(q, 10, { nprobe });
      const theirs = runFaiss(
        `
quant = faiss.IndexFlatL2(${d}) if ${metric} == 1 else faiss.IndexFlatIP(${d})
quant.add(centroids)
index = faiss.IndexIVFFlat(quant, ${d}, ${nlist}, ${metric})
index.is_trained = True
index.add(x)
index.nprobe = ${nprobe}
D, I = index.search(q, 10)
out['D'] = D
out['I'] = I`,
        { centroids: { data: centroids, shape: [nlist, d] }, x: { data: x, shape: [n, d] }, q: { data: q, shape: [50, d] } },
      );
      let same = 0;
      for (let i = 0; i < mine.labels.length; i++) if (mine.labels[i] === (theirs.I as BigInt64Array)[i]) same++;
      assert.ok(same >= mine.labels.length - 2, `metric ${metric} nprobe ${nprobe}: ${mine.labels.length - same} labels differ from Faiss`);
      const D = theirs.D as Float32Array;
      for (let i = 0; i < D.length; i++) assert.ok(Math.abs(mine.distances[i]! - D[i]!) <= 1e-4 * (1 + Math.abs(D[i]!)));
    }
  }
});

test('IndexIVFFlat: recall@10 within 0.02 of Faiss trained on the same data', { skip: !faissAvailable() && 'python3-faiss not installed' }, () => {
  const d = 32;
  const n = 20000;
  const x = blobs(n, d, 200, 7);
  const q = blobs(200, d, 200, 8);
  const truth = knnExact('L2', q, 200, x, n, d, 10);
  const index = newIVF(d, 128);
  index.train(x);
  index.add(x);
  const theirs = runFaiss(
    `
index = faiss.index_factory(${d}, 'IVF128,Flat')
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

test('IndexIVFFlat: reconstructN without a direct map (RVC), reconstruct with one, removeIds', () => {
  const d = 8;
  const x = blobs(3000, d, 20, 9);
  const index = newIVF(d, 16);
  index.train(x);
  index.add(x);
  assert.deepEqual(index.reconstructN(0, 3000), x);
  assert.deepEqual(index.reconstructN(100, 5), x.slice(800, 840));
  assert.throws(() => index.reconstruct(5), NotSupportedError);
  index.makeDirectMap();
  assert.deepEqual(index.reconstruct(1234), x.slice(1234 * d, 1235 * d));
  assert.throws(() => index.removeIds(new IDSelectorRange(0n, 10n)), NotSupportedError);
  index.setDirectMapType(DirectMapType.Hashtable);
  assert.equal(index.removeIds(new IDSelectorRange(0n, 1000n)), 1000);
  assert.equal(index.ntotal, 2000);
  assert.deepEqual(index.reconstruct(2500), x.slice(2500 * d, 2501 * d));
  assert.throws(() => index.reconstruct(10), InvalidArgumentError);
  const r = index.search(x.subarray(0, 5 * d), 3, { nprobe: 16 });
  for (const l of r.labels) assert.ok(l >= 1000n, 'removed ids are never returned');
});

test('IndexIVFFlat: mergeFrom appends the other index (ids shifted), refuses a different quantizer and changes nothing', () => {
  const d = 8;
  const x = blobs(4000, d, 20, 10);
  const a = newIVF(d, 16);
  a.train(x);
  const b = new IndexIVFFlat(new IndexFlatL2(d), d, 16);
  b.quantizer.add(a.quantizer.reconstructN(0, 16));
  b.isTrained = true;
  a.add(x.subarray(0, 2000 * d));
  b.add(x.subarray(2000 * d));
  const c = newIVF(d, 16);
  c.cp.seed = 99;
  c.train(blobs(4000, d, 20, 11));
  c.add(x.subarray(0, 100 * d));
  assert.throws(() => a.mergeFrom(c), (e: unknown) => e instanceof InvalidArgumentError && /different coarse quantizer/.test(e.message));
  assert.equal(a.ntotal, 2000);
  assert.equal(c.ntotal, 100);
  a.mergeFrom(b, 2000n);
  assert.equal(a.ntotal, 4000);
  assert.equal(b.ntotal, 0);
  assert.deepEqual(a.reconstructN(0, 4000), x);
  const q = x.subarray(3500 * d, 3501 * d);
  assert.equal(a.search(q, 1, { nprobe: 16 }).labels[0], 3500n);
});

test('IndexIVFFlat: rangeSearch over the probed lists equals exact range search at nprobe = nlist', () => {
  const d = 6;
  const x = blobs(2000, d, 10, 12);
  const q = x.slice(0, 3 * d); // stored points: each finds itself and its cluster neighbours
  const index = newIVF(d, 8);
  index.train(x);
  index.add(x);
  const flat = new IndexFlatL2(d);
  flat.add(x);
  const a = index.rangeSearch(q, 0.12, { nprobe: 8 });
  const b = flat.rangeSearch(q, 0.12);
  assert.deepEqual(Array.from(a.lims), Array.from(b.lims));
  for (let i = 0; i < 3; i++) {
    const sa = Array.from(a.labels.subarray(a.lims[i], a.lims[i + 1])).sort();
    const sb = Array.from(b.labels.subarray(b.lims[i], b.lims[i + 1])).sort();
    assert.deepEqual(sa, sb);
  }
  assert.ok(a.lims[3]! > 3 && a.lims[3]! < 6000, `${a.lims[3]} results: a radius that selects some`);
});

test('IndexIVFFlat: bad input', () => {
  const d = 8;
  const index = newIVF(d, 16);
  const x = randomVectors(100, d, 14);
  assert.throws(() => index.add(x), (e: unknown) => e instanceof NotTrainedError && /train\(\) before add/.test(e.message));
  assert.throws(() => index.search(x, 1), NotTrainedError);
  assert.throws(() => index.train(x.subarray(0, 10 * d)), (e: unknown) => e instanceof InvalidArgumentError && /10 training vectors, fewer than nlist = 16/.test(e.message));
  assert.throws(() => new IndexIVFFlat(new IndexFlatL2(4), d, 16), (e: unknown) => e instanceof InvalidArgumentError && /`quantizer` has dimension 4, but the index has d = 8/.test(e.message));
  assert.throws(() => new IndexIVFFlat(new IndexFlatL2(d), d, 0), InvalidArgumentError);
  index.train(x);
  assert.throws(() => index.search(x, 1, { nprobe: 0 }), InvalidArgumentError);
  assert.throws(() => index.addWithIds(x, new BigInt64Array(3)), InvalidArgumentError);
});

test('IndexIVFFlat: batches searched list by list equal the query-by-query scan (L2 and IP, 1 and 2 threads)', () => {
  const d = 20;
  const x = blobs(12000, d, 60, 20);
  const q = blobs(300, d, 60, 21);
  const saved = getNumThreads();
  try {
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      const index = newIVF(d, 32, metric);
      index.train(x);
      index.add(x);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const byList = index.search(q, 10, { nprobe: 8 }); // 300 * 8 / 32 = 75 queries per list: list by list
        const byQuery = index.search(q, 10, { nprobe: 8, maxCodes: 1e9 }); // maxCodes forces the per-query scan
        let differ = 0;
        for (let i = 0; i < byList.labels.length; i++) if (byList.labels[i] !== byQuery.labels[i]) differ++;
        assert.ok(differ <= 3, `metric ${metric}, ${threads} threads: ${differ} labels differ`);
        for (let i = 0; i < byList.distances.length; i++) {
          assert.ok(Math.abs(byList.distances[i]! - byQuery.distances[i]!) <= 1e-4 * (1 + Math.abs(byQuery.distances[i]!)));
        }
      }
    }
  } finally {
    setNumThreads(saved);
  }
});

test('IndexIVFFlat: makeDirectMap before add keeps working (ids reach the map list by list)', () => {
  const d = 8;
  const x = blobs(2000, d, 20, 30);
  const index = newIVF(d, 16);
  index.train(x);
  index.makeDirectMap();
  index.add(x.subarray(0, 1000 * d));
  index.add(x.subarray(1000 * d));
  assert.deepEqual(index.reconstruct(1500), x.slice(1500 * d, 1501 * d));
  // non-sequential ids are refused before anything changes
  assert.throws(() => index.addWithIds(x.subarray(0, 2 * d), BigInt64Array.from([7n, 8n])), NotSupportedError);
  assert.equal(index.ntotal, 2000);
  assert.equal(index.invlists.computeNtotal(), 2000);
});
