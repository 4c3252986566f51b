/**
 * @module test/io.fastscan
 * FastScan files: IndexPQFastScan ("IPfs") and IndexIVFPQFastScan ("IwPf" with "ilbl" lists,
 * src/io/faiss/fastScan). Files written by Faiss 1.7.3 (test/golden/faiss-1.7.3,
 * manifest-fastscan.json, made by scripts/make-faiss-golden.py --only=fastscan) are read, searched
 * and reconstructed as Faiss did, and written back byte for byte; Faiss (Python, when installed)
 * reads the FastScan indexes simdex trains and writes and finds the same neighbours; truncated and
 * corrupt files fail with FormatError. Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, NotSupportedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexPQFastScan } from '../src/indexes/IndexPQFastScan.js';
import { IndexIVFPQFastScan } from '../src/indexes/ivf/IndexIVFPQFastScan.js';
import { indexFactory } from '../src/factory/indexFactory.js';
import { decodeNpy } from '../src/io/npy.js';
import { IO_FLAG_SKIP_IVF_DATA, deserializeIndex, describeIndex, faissFileSize, formatIndexDescription, readIndex, serializeIndex, writeIndex } from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { randomVectors } from './helpers/rng.js';

// From dist/test/: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface FsEntry {
  name: string;
  file: string;
  factory: string;
  type: 'IndexPQFastScan' | 'IndexIVFPQFastScan';
  d: number;
  ntotal: number;
  metric_type: number;
  is_trained: boolean;
  M: number;
  M2: number;
  bbs: number;
  code_size: number;
  bytes: number;
  queries: string;
  ntotal2?: number;
  codes?: string;
  labels?: string;
  distances?: string;
  nlist?: number;
  nprobe?: number;
  by_residual?: boolean;
  list_sizes?: number[];
  search?: Array<{ nprobe: number; labels: string; distances: string }>;
  reconstruct?: string;
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-fastscan.json'), 'utf8')) as { k: number; nq: number; indexes: FsEntry[] };
const K = manifest.k;
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(GOLDEN, file)));
function npy<T>(file: string): T {
  const path = join(GOLDEN, file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

function formatError(fn: () => unknown, what: string): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    assert.fail(`${what}: expected a FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  assert.fail(`${what}: expected a FormatError, the read succeeded`);
}

/** Fraction of Faiss's labels (-1 excluded) found in simdex's row, over all rows. */
function overlap(got: BigInt64Array, want: BigInt64Array, k: number): number {
  let hit = 0;
  let total = 0;
  for (let i = 0; i * k < want.length; i++) {
    const mine = new Set(got.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < k; j++) {
      const l = want[i * k + j]!;
      if (l === -1n) continue;
      total++;
      if (mine.has(l)) hit++;
    }
  }
  return total === 0 ? 1 : hit / total;
}

for (const e of manifest.indexes) {
  test(`golden ${e.name} (${e.factory}): read, fields, search and reconstruction as Faiss, written back byte for byte`, () => {
    const bytes = goldenBytes(e.file);
    const index = deserializeIndex(bytes);
    assert.equal(index.typeName, e.type);
    assert.equal(index.d, e.d);
    assert.equal(index.ntotal, e.ntotal);
    assert.equal(index.metricType, e.metric_type);
    assert.equal(index.isTrained, e.is_trained);
    const queries = npy<Float32Array>(e.queries);
    if (index instanceof IndexPQFastScan) {
      assert.deepEqual([index.M, index.M2, index.bbs, index.codeSize, index.ntotal2], [e.M, e.M2, e.bbs, e.code_size, e.ntotal2]);
      assert.deepEqual(index.codes(), npy<Uint8Array>(e.codes!), 'unpacked codes = Faiss sa_encode');
      const r = index.search(queries, K);
      assert.deepEqual(r.labels, npy<BigInt64Array>(e.labels!), 'labels');
      const want = npy<Float32Array>(e.distances!);
      if (e.d / e.M < 16) {
        assert.deepEqual(r.distances, want, 'distances');
      } else {
        // dsub >= 16: Faiss computes the float tables with BLAS (||x||^2 + ||c||^2 - 2<x,c>), simdex directly
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(r.distances[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `distance ${i}: ${r.distances[i]} vs ${want[i]}`);
      }
    } else {
      assert.ok(index instanceof IndexIVFPQFastScan);
      assert.deepEqual([index.M, index.M2, index.bbs, index.codeSize, index.nlist, index.nprobe, index.byResidual], [e.M, e.M2, e.bbs, e.code_size, e.nlist, e.nprobe, e.by_residual]);
      assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
      for (const s of e.search!) {
        const r = index.search(queries, K, { nprobe: s.nprobe });
        assert.deepEqual(r.labels, npy<BigInt64Array>(s.labels), `labels at nprobe ${s.nprobe}`);
        const want = npy<Float32Array>(s.distances);
        if (!e.by_residual) {
          assert.deepEqual(r.distances, want, `distances at nprobe ${s.nprobe}`);
        } else {
          // by residual, the quantized biases come from the quantizer's float distances: equal within rounding
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(r.distances[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `distance ${i}: ${r.distances[i]} vs ${want[i]}`);
        }
      }
    }
    if (e.reconstruct !== undefined) {
      if (index instanceof IndexIVFPQFastScan) index.makeDirectMap();
      assert.deepEqual(index.reconstructN(0, e.ntotal), npy<Float32Array>(e.reconstruct), 'reconstructN');
      assert.deepEqual(index.reconstruct(7), npy<Float32Array>(e.reconstruct).subarray(7 * e.d, 8 * e.d), 'reconstruct(7)');
      if (index instanceof IndexIVFPQFastScan) index.makeDirectMap(false);
    }
    assert.equal(faissFileSize(index), e.bytes);
    assert.deepEqual(serializeIndex(index), bytes, 'written back byte for byte');
    const desc = formatIndexDescription(describeIndex(index));
    assert.match(desc, new RegExp(`^${e.type} "${index instanceof IndexPQFastScan ? 'IPfs' : 'IwPf'}" d=16 ntotal=${e.ntotal} .*bytes=${e.bytes} pq=${e.M}x4 code_size=${e.code_size}.* bbs=${e.bbs}`));
    index.dispose();
  });
}

test('golden: truncated FastScan files fail with FormatError at every cut tried', () => {
  for (const e of manifest.indexes) {
    const bytes = goldenBytes(e.file);
    for (let cut = 0; cut < bytes.length; cut += cut < 160 ? 1 : 41) {
      formatError(() => deserializeIndex(bytes.subarray(0, cut)), `${e.name} cut at ${cut}`);
    }
  }
});

test('golden: corrupt FastScan fields fail with FormatError naming them', () => {
  const flat = goldenBytes('fs_PQ8x4fs.faiss');
  // fourcc 4 + header 33, PQ block: d, M, nbits at +0, +8, +16, then centroids (8 + 4*16*16)
  const pqAt = 4 + 33;
  const afterPq = pqAt + 24 + 8 + 4 * 16 * 16;
  const patched = (bytes: Uint8Array, at: number, write: (v: DataView) => void): Uint8Array => {
    const c = bytes.slice();
    write(new DataView(c.buffer, c.byteOffset + at));
    return c;
  };
  const nbits = formatError(() => deserializeIndex(patched(flat, pqAt + 16, (v) => v.setBigUint64(0, 8n, true))), 'nbits 8');
  assert.ok(/nbits/.test(nbits.message), nbits.message);
  const bbs = formatError(() => deserializeIndex(patched(flat, afterPq + 4, (v) => v.setInt32(0, 48, true))), 'bbs 48');
  assert.ok(/bbs = 48/.test(bbs.message) && bbs.offset === afterPq + 4, bbs.message);
  const m2 = formatError(() => deserializeIndex(patched(flat, afterPq + 20, (v) => v.setBigUint64(0, 9n, true))), 'M2 9');
  assert.ok(/M2 = 9/.test(m2.message), m2.message);
  const codes = formatError(() => deserializeIndex(patched(flat, afterPq + 28, (v) => v.setBigUint64(0, 100n, true))), 'codes size');
  assert.ok(/codes hold 100 bytes/.test(codes.message), codes.message);
  const ivf = goldenBytes('fs_IVF8_PQ8x4fs.faiss');
  const ilbl = findFourcc(ivf, 'ilbl');
  const npb = formatError(() => deserializeIndex(patched(ivf, ilbl + 4 + 16, (v) => v.setBigUint64(0, 64n, true))), 'n_per_block');
  assert.ok(/n_per_block = 64/.test(npb.message), npb.message);
});

/** Offset of the first occurrence of a fourcc in bytes. */
function findFourcc(bytes: Uint8Array, name: string): number {
  const code = Array.from(name, (c) => c.charCodeAt(0));
  for (let i = 0; i + 4 <= bytes.length; i++) if (code.every((c, j) => bytes[i + j] === c)) return i;
  throw new Error(`${name} not found`);
}

test('golden: IO_FLAG_SKIP_IVF_DATA reads the list sizes of an "ilbl" file, search then fails with NotSupportedError', () => {
  const e = manifest.indexes.find((x) => x.name === 'fs_IVF8_PQ8x4fs')!;
  const index = readIndex(join(GOLDEN, e.file), IO_FLAG_SKIP_IVF_DATA) as IndexIVFPQFastScan;
  assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
  assert.throws(() => index.search(new Float32Array(16), 1), NotSupportedError);
});

// ---- live Faiss ---------------------------------------------------------------------------------------

const liveSkip = !faissAvailable() && 'Python Faiss not installed';

test('live: Faiss reads FastScan files simdex trains and writes, and finds the same neighbours (flat and IVF, L2 and IP, by residual)', { skip: liveSkip }, () => {
  const d = 16;
  const xb = randomVectors(3000, d, 71);
  const xq = randomVectors(40, d, 72);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-fs-'));
  try {
    const cases: [string, MetricType, number][] = [
      ['PQ8x4fs', MetricType.L2, 10],
      ['PQ4x4fs', MetricType.INNER_PRODUCT, 10],
      ['IVF16,PQ8x4fs', MetricType.L2, 10],
      ['IVF16,PQ8x4fs', MetricType.INNER_PRODUCT, 5],
      ['IVF16,PQ8x4fsr', MetricType.L2, 10],
      ['IVF16,PQ4x4fsr', MetricType.INNER_PRODUCT, 10],
    ];
    const nprobe = 4;
    const results: { desc: string; metric: MetricType; k: number; labels: BigInt64Array; distances: Float32Array }[] = [];
    cases.forEach(([desc, metric, k], c) => {
      const index = indexFactory(d, desc, metric);
      index.train(xb);
      index.add(xb);
      const r = index instanceof IndexIVFPQFastScan ? index.search(xq, k, { nprobe }) : index.search(xq, k);
      results.push({ desc, metric, k, ...r });
      writeIndex(index, join(dir, `${c}.faiss`));
      index.dispose();
    });
    const py = runFaiss(
      `
for c, k in enumerate([${cases.map((x) => x[2]).join(', ')}]):
    index = faiss.read_index(${JSON.stringify(dir)} + '/%d.faiss' % c)
    if isinstance(faiss.downcast_index(index), faiss.IndexIVF): faiss.downcast_index(index).nprobe = ${nprobe}
    D, I = index.search(xq, k)
    out['D%d' % c] = D; out['I%d' % c] = I
`,
      { xq: { data: xq, shape: [40, d] } },
    );
    results.forEach(({ desc, metric, k, labels, distances }, c) => {
      const what = `${desc} ${metric === MetricType.L2 ? 'L2' : 'IP'}`;
      if (!desc.endsWith('fsr')) {
        assert.deepEqual(labels, py[`I${c}`], `${what}: labels`);
        assert.deepEqual(distances, py[`D${c}`], `${what}: distances`);
      } else {
        assert.ok(overlap(labels, py[`I${c}`] as BigInt64Array, k) >= 0.99, `${what}: label overlap`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('live: a larger Faiss-written IVF FastScan index, read and searched, finds Faiss\'s neighbours (k 10 and 50)', { skip: liveSkip }, () => {
  const d = 32;
  const n = 8000;
  const xb = randomVectors(n, d, 81);
  const xq = randomVectors(50, d, 82);
  const dir = mkdtempSync(join(tmpdir(), 'simdex-fs-'));
  try {
    const file = join(dir, 'ivf.faiss');
    const py = runFaiss(
      `
index = faiss.index_factory(${d}, 'IVF32,PQ16x4fs')
index.train(xb); index.add(xb)
faiss.write_index(index, ${JSON.stringify(file)})
faiss.downcast_index(index).nprobe = 8
D, I = index.search(xq, 10); out['D10'] = D; out['I10'] = I
D, I = index.search(xq, 50); out['D50'] = D; out['I50'] = I
`,
      { xb: { data: xb, shape: [n, d] }, xq: { data: xq, shape: [50, d] } },
    );
    const index = readIndex(file) as IndexIVFPQFastScan;
    const r10 = index.search(xq, 10, { nprobe: 8 });
    assert.deepEqual(r10.labels, py.I10, 'k = 10: labels');
    assert.deepEqual(r10.distances, py.D10, 'k = 10: distances');
    // k > 20: Faiss keeps a reservoir, not a heap; same distances, ties may come in another order
    const r50 = index.search(xq, 50, { nprobe: 8 });
    assert.deepEqual(r50.distances, py.D50, 'k = 50: distances');
    assert.ok(overlap(r50.labels, py.I50 as BigInt64Array, 50) >= 0.99, 'k = 50: label overlap');
    index.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
