// Opt-in heavy tests (SIMDEX_HEAVY=1): more than 4 GiB of vectors in one index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexFlatL2, setNumThreads, getNumThreads } from '../src/simdex.js';
import { Heap, fvecL2sqr } from '../src/kernels/reference.js';
import { randomVectors } from './helpers/rng.js';

const heavy = process.env.SIMDEX_HEAVY === '1';

test('IndexFlatL2 holds 1.1M x 1024 floats (4.5 GB, past one wasm32 memory) and searches them exactly', { skip: !heavy && 'set SIMDEX_HEAVY=1 (needs ~6 GB of RAM, a few minutes)' }, () => {
  const d = 1024;
  const n = 1_100_000;
  const block = 50_000;
  const index = new IndexFlatL2(d);
  for (let i0 = 0; i0 < n; i0 += block) index.add(randomVectors(block, d, 1000 + i0 / block));
  assert.equal(index.ntotal, n);
  assert.ok(index.segments.length >= 3, `${index.segments.length} segments`);
  const bytes = index.segments.reduce((s, g) => s + g.count * d * 4, 0);
  assert.ok(bytes > 4 * 2 ** 30, 'more than 4 GiB of vectors');

  // Queries: stored vectors on both sides of the 4 GiB mark, slightly perturbed, plus random ones.
  const picks = [3, 524_287, 1_048_577, 1_099_999];
  const nq = picks.length + 4;
  const q = new Float32Array(nq * d);
  picks.forEach((p, i) => {
    const v = index.reconstruct(p);
    for (let j = 0; j < d; j++) v[j]! += 1e-3;
    q.set(v, i * d);
  });
  q.set(randomVectors(4, d, 7), picks.length * d);

  // Reference: stream the stored vectors once, in blocks, through the TypeScript oracle.
  const k = 5;
  const heaps = Array.from({ length: nq }, () => new Heap(k, true));
  for (let i0 = 0; i0 < n; i0 += block) {
    const y = index.reconstructN(i0, Math.min(block, n - i0));
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < y.length / d; j++) heaps[i]!.push(Math.fround(fvecL2sqr(q, i * d, y, j * d, d)), BigInt(i0 + j));
    }
  }
  const expect = heaps.map((h) => h.reorder());
  const saved = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const one = index.search(q.subarray(0, d), k);
      assert.equal(one.labels[0], 3n);
      const r = index.search(q, k);
      picks.forEach((p, i) => assert.equal(r.labels[i * k], BigInt(p), `query ${i} finds vector ${p}`));
      for (let i = 0; i < nq; i++) {
        for (let j = 0; j < k; j++) {
          const e = expect[i]!;
          assert.equal(r.labels[i * k + j], e.ids[j], `threads ${threads}: query ${i} rank ${j}`);
          assert.ok(Math.abs(r.distances[i * k + j]! - e.dis[j]!) <= 1e-3 * (1 + e.dis[j]!));
        }
      }
    }
  } finally {
    setNumThreads(saved);
  }
  index.dispose();
});
