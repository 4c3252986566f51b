/**
 * @module test/io.vectors
 * Vector file reading and writing: .npy (all versions, float16/32/64, integers, big-endian), .fvecs,
 * .ivecs, .bvecs; the real datasets of ../shared/datasets; corrupt files (error class, file name and
 * byte offset); streaming; > 4 GiB offsets (sparse files); atomic writes; numpy cross-checks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, InvalidTypeError, SimdexError } from '../src/errors.js';
import {
  decodeNpy,
  decodeNpyVectors,
  encodeNpy,
  encodeNpyHeader,
  float16ToFloat32,
  parseNpyHeader,
} from '../src/io/npy.js';
import { encodeBvecs, encodeFvecs, parseBvecs, parseFvecs, parseIvecs } from '../src/io/vecs.js';
import {
  MAX_FLOAT32_ELEMENTS,
  openVectors,
  readIvecs,
  readNpy,
  readVectors,
  writeIvecs,
  writeNpy,
  writeVectors,
} from '../src/io/vectorFiles.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** Seeded PRNG (mulberry32): uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVectors(n: number, d: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  return x;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A .npy file with an arbitrary descr and raw payload. */
function rawNpy(descr: string, shape: number[], payload: Uint8Array, fortran = false): Uint8Array {
  return concat(encodeNpyHeader(descr, shape, fortran), payload);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function swapBytes(src: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += itemSize) for (let j = 0; j < itemSize; j++) out[i + j] = src[i + itemSize - 1 - j]!;
  return out;
}

/** Bitwise equality of two float32 arrays (NaN payloads and -0 included). */
function assertSameBits(actual: Float32Array, expected: Float32Array, msg?: string): void {
  assert.equal(actual.length, expected.length, msg);
  assert.deepEqual(
    new Uint32Array(actual.buffer, actual.byteOffset, actual.length),
    new Uint32Array(expected.buffer, expected.byteOffset, expected.length),
    msg,
  );
}

/** Assert that fn throws a FormatError for `file` at byte `offset`, whose message matches `pattern`. */
function assertFormatError(fn: () => unknown, file: string, offset: number, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.equal(e.offset, offset, e.message);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(e.message.includes(`byte offset ${offset}`), `message gives the offset: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'simdex-io-'));
});
after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function tmp(name: string): string {
  return join(dir, name);
}

const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const haveDatasets = existsSync(join(DATASETS, 'INDEX.md'));
const ds = (p: string): string => join(DATASETS, p);

const PY = '/usr/bin/python3';
const haveNumpy = spawnSync(PY, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

// ---------------------------------------------------------------------------------------------
// float16

/** Hand-computed float16 bit patterns and their exact values. */
const HALF_CASES: Array<[number, number]> = [
  [0x0000, 0],
  [0x8000, -0],
  [0x3c00, 1],
  [0xc000, -2],
  [0x3800, 0.5],
  [0x3555, 0.333251953125], // (1 + 0x155/1024) × 2^(13-15)
  [0x4248, 3.140625],
  [0x5640, 100],
  [0x7bff, 65504], // largest float16
  [0xfbff, -65504],
  [0x0400, 2 ** -14], // smallest normal
  [0x03ff, 1023 * 2 ** -24], // largest subnormal
  [0x0200, 2 ** -15], // subnormal
  [0x0001, 2 ** -24], // smallest subnormal
  [0x8001, -(2 ** -24)],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
  [0x7e00, NaN],
];

describe('float16', () => {
  test('float16ToFloat32 matches hand-computed values (subnormals, ±0, ±inf, NaN)', () => {
    for (const [bits, expected] of HALF_CASES) {
      assert.ok(Object.is(float16ToFloat32(bits), expected), `0x${bits.toString(16)} → ${float16ToFloat32(bits)}, expected ${expected}`);
    }
  });

  test('<f2 and >f2 .npy files decode to the same exact float32 values, NaN payloads kept', () => {
    const halves = new Uint16Array([...HALF_CASES.map(([b]) => b), 0x7c01, 0xfe00]); // 20 values = 4 × 5
    const expected = new Float32Array([...HALF_CASES.map(([, v]) => v), NaN, NaN]);
    const le = rawNpy('<f2', [4, 5], bytesOf(halves));
    const be = rawNpy('>f2', [4, 5], swapBytes(bytesOf(halves), 2));
    for (const [name, bytes] of [['le.npy', le], ['be.npy', be]] as const) {
      writeFileSync(tmp(name), bytes);
      const v = readVectors(tmp(name));
      assert.equal(v.n, 4);
      assert.equal(v.d, 5);
      for (let i = 0; i < HALF_CASES.length; i++) assert.ok(Object.is(v.data[i], expected[i]), `${name}[${i}] = ${v.data[i]}`);
      const bits = new Uint32Array(v.data.buffer, v.data.byteOffset, v.data.length);
      assert.equal(bits[HALF_CASES.length - 1], 0x7fc00000, 'quiet NaN 0x7e00');
      assert.equal(bits[18], 0x7f802000, 'signalling NaN payload 0x7c01 kept');
      assert.equal(bits[19], 0xffc00000, 'negative NaN 0xfe00');
      assertSameBits(decodeNpyVectors(bytes, name).data, v.data);
      // readNpy converts float16 to float32 too.
      assertSameBits(readNpy(tmp(name)).data as Float32Array, v.data);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips

const SHAPES: Array<[number, number]> = [
  [0, 1],
  [0, 7],
  [1, 1],
  [1, 7],
  [5, 1],
  [37, 7],
  [3, 128],
];

describe('round trips', () => {
  for (const ext of ['npy', 'fvecs'] as const) {
    test(`writeVectors / readVectors .${ext} for awkward shapes`, () => {
      for (const [n, d] of SHAPES) {
        const x = randomVectors(n, d, 1000 * n + d);
        const p = tmp(`rt_${n}x${d}.${ext}`);
        writeVectors(p, x, d);
        const v = readVectors(p);
        assert.equal(v.n, n);
        // An empty .fvecs file has no row to tell its dimension.
        assert.equal(v.d, ext === 'fvecs' && n === 0 ? 0 : d);
        assertSameBits(v.data, x, `${n}×${d}`);
        const r = openVectors(p);
        assert.equal(r.n, n);
        assert.equal(r.format, ext);
        assert.equal(r.dtype, '<f4');
        r.close();
      }
    });
  }

  test('special float32 values survive .npy and .fvecs bit for bit', () => {
    const x = new Float32Array([0, -0, Infinity, -Infinity, NaN, 1.4e-45, -3.4028234663852886e38, 1e-40]);
    new Uint32Array(x.buffer)[4] = 0x7fa00001; // a NaN with a payload
    for (const p of [tmp('special.npy'), tmp('special.fvecs')]) {
      writeVectors(p, x, 4);
      assertSameBits(readVectors(p).data, x, p);
    }
  });

  test('float64 .npy (<f8 and >f8) is rounded to float32; readNpy keeps float64', () => {
    const rand = mulberry32(7);
    const x = new Float64Array(6 * 3);
    for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * 1e6;
    x[0] = 1e300; // overflows float32 → Infinity
    x[1] = 1e-300; // underflows → 0
    const expected = Float32Array.from(x, (v) => Math.fround(v));
    const p = tmp('f8.npy');
    writeNpy(p, x, [6, 3]);
    const v = readVectors(p);
    assert.deepEqual([v.n, v.d], [6, 3]);
    assert.equal(v.data[0], Infinity);
    assertSameBits(v.data, expected);
    const raw = readNpy(p);
    assert.equal(raw.dtype, '<f8');
    assert.deepEqual(raw.data, x);
    const be = tmp('f8be.npy');
    writeFileSync(be, rawNpy('>f8', [6, 3], swapBytes(bytesOf(x), 8)));
    assertSameBits(readVectors(be).data, expected);
    assert.deepEqual(readNpy(be).data, x);
  });

  test('big-endian float32 (>f4) is converted', () => {
    const x = randomVectors(9, 5, 3);
    const p = tmp('f4be.npy');
    writeFileSync(p, rawNpy('>f4', [9, 5], swapBytes(bytesOf(x), 4)));
    const v = readVectors(p);
    assertSameBits(v.data, x);
    const r = openVectors(p);
    assert.equal(r.dtype, '>f4');
    assertSameBits(r.read(2, 3), x.subarray(10, 25));
    r.close();
  });

  test('integer .npy (writeNpy/readNpy): int32, int64, uint8; as vectors only with convertIntegers', () => {
    const i4 = Int32Array.from({ length: 12 }, (_, i) => (i - 6) * 1000003);
    const i8 = BigInt64Array.from({ length: 6 }, (_, i) => BigInt(i) * 10n ** 12n - 3n);
    const u1 = Uint8Array.from({ length: 10 }, (_, i) => i * 28);
    writeNpy(tmp('i4.npy'), i4, [3, 4]);
    writeNpy(tmp('i8.npy'), i8, [2, 3]);
    writeNpy(tmp('u1.npy'), u1, [10]);
    const a = readNpy(tmp('i4.npy'));
    assert.deepEqual([a.shape, a.dtype], [[3, 4], '<i4']);
    assert.deepEqual(a.data, i4);
    const b = readNpy(tmp('i8.npy'));
    assert.deepEqual([b.shape, b.dtype], [[2, 3], '<i8']);
    assert.deepEqual(b.data, i8);
    const c = readNpy(tmp('u1.npy'));
    assert.deepEqual([c.shape, c.dtype], [[10], '|u1']);
    assert.deepEqual(c.data, u1);

    assertFormatError(() => readVectors(tmp('i4.npy')), tmp('i4.npy'), 10, /'<i4' \(int32\).*float32.*convertIntegers/);
    const v = readVectors(tmp('i4.npy'), { convertIntegers: true });
    assert.deepEqual([v.n, v.d], [3, 4]);
    assert.deepEqual(v.data, Float32Array.from(i4));
    const w = readVectors(tmp('i8.npy'), { convertIntegers: true });
    assert.deepEqual(w.data, Float32Array.from(i8, (x) => Number(x)));
  });

  test('.ivecs round trip (negative ids, n = 0, d = 1) and .ivecs as vectors', () => {
    for (const [n, d] of [[0, 3], [1, 1], [4, 100], [3, 7]] as const) {
      const rand = mulberry32(n * 31 + d);
      const ids = Int32Array.from({ length: n * d }, () => Math.floor(rand() * 2 ** 32) - 2 ** 31);
      const p = tmp(`gt_${n}x${d}.ivecs`);
      writeIvecs(p, ids, d);
      const g = readIvecs(p);
      assert.deepEqual([g.n, g.d], [n, n === 0 ? 0 : d]);
      assert.deepEqual(g.data, ids);
      assert.deepEqual(parseIvecs(readFileSync(p), p).data, ids);
    }
    const p = tmp('gt_3x7.ivecs');
    assert.throws(() => readVectors(p), (e: unknown) => e instanceof InvalidArgumentError && /readIvecs/.test(e.message));
    const v = readVectors(p, { convertIntegers: true });
    assert.deepEqual(v.data, Float32Array.from(readIvecs(p).data));
  });

  test('.bvecs (uint8 → float32) round trip', () => {
    for (const [n, d] of [[1, 1], [6, 7], [20, 128]] as const) {
      const rand = mulberry32(n + d);
      const u8 = Uint8Array.from({ length: n * d }, () => Math.floor(rand() * 256));
      const p = tmp(`b_${n}x${d}.bvecs`);
      writeFileSync(p, encodeBvecs(u8, d));
      const v = readVectors(p);
      assert.deepEqual([v.n, v.d], [n, d]);
      assert.deepEqual(v.data, Float32Array.from(u8));
      assert.deepEqual(parseBvecs(readFileSync(p), p).data, Float32Array.from(u8));
      const r = openVectors(p);
      assert.equal(r.dtype, '|u1');
      r.close();
    }
  });

  test('encodeNpy writes numpy-style headers: version 1.0, data 64-byte aligned', () => {
    for (const shape of [[0, 7], [1, 1], [37, 7], [123456789, 0]]) {
      const x = new Float32Array(shape[0]! * shape[1]!);
      const bytes = encodeNpy(x, shape);
      const h = parseNpyHeader(bytes, 'mem.npy');
      assert.equal(h.version, '1.0');
      assert.equal(h.headerLength % 64, 0);
      assert.equal(bytes[h.headerLength - 1], 0x0a);
      assert.deepEqual(h.shape, shape);
      assert.equal(h.dtype, '<f4');
      assert.equal(h.fortranOrder, false);
    }
    assert.throws(() => encodeNpy(new Float32Array(6), [4, 2]), InvalidArgumentError);
  });

  test('decodeNpyVectors: zero-copy when aligned, copied when not', () => {
    const x = randomVectors(10, 3, 11);
    const bytes = encodeNpy(x, [10, 3]);
    const aligned = decodeNpyVectors(bytes, 'a.npy');
    assert.equal(aligned.data.buffer, bytes.buffer, 'zero-copy view');
    assertSameBits(aligned.data, x);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = decodeNpyVectors(shifted.subarray(1), 'u.npy');
    assert.notEqual(unaligned.data.buffer, shifted.buffer);
    assertSameBits(unaligned.data, x);
    // fvecs parser agrees with the encoder.
    assertSameBits(parseFvecs(encodeFvecs(x, 3), 'x.fvecs').data, x);
  });

  test('.npy versions 2.0 and 3.0 headers are read', () => {
    const x = randomVectors(4, 7, 5);
    const text = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 7), }";
    for (const version of [2, 3]) {
      const total = Math.ceil((12 + text.length + 1) / 64) * 64;
      const head = new Uint8Array(total).fill(0x20);
      head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
      new DataView(head.buffer).setUint32(8, total - 12, true);
      head.set(new TextEncoder().encode(text), 12);
      head[total - 1] = 0x0a;
      const p = tmp(`v${version}.npy`);
      writeFileSync(p, concat(head, bytesOf(x)));
      const h = parseNpyHeader(readFileSync(p), p);
      assert.equal(h.version, `${version}.0`);
      assert.equal(h.headerLength, total);
      assertSameBits(readVectors(p).data, x);
    }
  });

  test('trailing dimensions are flattened into d; 1-D arrays are rejected', () => {
    const x = randomVectors(3, 8, 9);
    const p = tmp('3d.npy');
    writeNpy(p, x, [3, 4, 2]);
    const v = readVectors(p);
    assert.deepEqual([v.n, v.d], [3, 8]);
    assertSameBits(v.data, x);
    const q = tmp('1d.npy');
    writeNpy(q, x, [24]);
    assertFormatError(() => readVectors(q), q, 10, /2-D array.*\(24,\).*reshape/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real datasets

describe('real datasets (../shared/datasets)', { skip: haveDatasets ? false : `no datasets folder at ${DATASETS}` }, () => {
  test('mnist-t10k split_query1000.fvecs: 1000 × 784 pixels in 0..255, as parseFvecs', () => {
    const p = ds('mnist-t10k/split_query1000.fvecs');
    const v = readVectors(p);
    assert.deepEqual([v.n, v.d, v.data.length], [1000, 784, 784000]);
    let max = 0;
    for (const x of v.data) {
      assert.ok(Number.isInteger(x) && x >= 0 && x <= 255);
      max = Math.max(max, x);
    }
    assert.equal(max, 255);
    assertSameBits(v.data, parseFvecs(readFileSync(p), p).data);
  });

  test('ngt-sift5k base.fvecs: 5000 × 128 integer SIFT values 0..191; query3 ground truth is the exact 1-NN', () => {
    const base = readVectors(ds('ngt-sift5k/base.fvecs'));
    assert.deepEqual([base.n, base.d], [5000, 128]);
    let max = 0;
    for (const x of base.data) {
      assert.ok(Number.isInteger(x) && x >= 0);
      max = Math.max(max, x);
    }
    assert.ok(max <= 191, `max ${max}`);
    const q = readVectors(ds('ngt-sift5k/query3.fvecs'));
    assert.deepEqual([q.n, q.d], [3, 128]);
    const gt = readIvecs(ds('ngt-sift5k/query3_groundtruth_computed.ivecs'));
    assert.deepEqual([gt.n, gt.d], [3, 100]);
    const dist = (qi: number, bi: number): number => {
      let s = 0;
      for (let j = 0; j < 128; j++) {
        const t = q.data[qi * 128 + j]! - base.data[bi * 128 + j]!;
        s += t * t;
      }
      return s;
    };
    for (let qi = 0; qi < 3; qi++) {
      let best = Infinity;
      for (let bi = 0; bi < 5000; bi++) best = Math.min(best, dist(qi, bi));
      assert.equal(dist(qi, gt.data[qi * 100]!), best, `query ${qi}: ground truth id is a nearest neighbour`);
      for (let k = 1; k < 100; k++) assert.ok(dist(qi, gt.data[qi * 100 + k - 1]!) <= dist(qi, gt.data[qi * 100 + k]!));
    }
  });

  test('facenet-celeb522 embeddings.npy: 522 × 512, unit rows; labels.npy <U16 strings', () => {
    const v = readVectors(ds('facenet-celeb522/embeddings.npy'));
    assert.deepEqual([v.n, v.d], [522, 512]);
    for (let i = 0; i < v.n; i++) {
      let s = 0;
      for (let j = 0; j < v.d; j++) s += v.data[i * v.d + j]! ** 2;
      assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-4, `row ${i} norm ${Math.sqrt(s)}`);
    }
    const labels = readNpy(ds('facenet-celeb522/labels.npy'));
    assert.equal(labels.dtype, '<U16');
    assert.deepEqual(labels.shape, [522]);
    assert.ok(Array.isArray(labels.data));
    assert.equal(new Set(labels.data as string[]).size, 10, '10 identities');
    const knn = readIvecs(ds('facenet-celeb522/self_knn11_computed.ivecs'));
    assert.deepEqual([knn.n, knn.d], [522, 11]);
    for (let i = 0; i < 522; i++) assert.equal(knn.data[i * 11], i, 'first neighbour is the vector itself');
  });

  test('rvc-mute-features: 149 × 256 and 149 × 768 float32', () => {
    const a = readVectors(ds('rvc-mute-features/3_feature256_mute.npy'));
    assert.deepEqual([a.n, a.d], [149, 256]);
    const b = readVectors(ds('rvc-mute-features/3_feature768_mute.npy'));
    assert.deepEqual([b.n, b.d], [149, 768]);
    assert.ok(a.data.every(Number.isFinite) && b.data.every(Number.isFinite));
  });

  test('ground-truth .ivecs files: shapes and id ranges', () => {
    const cases: Array<[string, number, number, number]> = [
      ['mnist-t10k/split_groundtruth_computed.ivecs', 1000, 100, 9000],
      ['ngt-sift5k/split_groundtruth_computed.ivecs', 500, 100, 4500],
      ['jvector-siftsmall-partial/siftsmall_groundtruth.ivecs', 100, 100, 10000],
    ];
    for (const [f, n, d, nb] of cases) {
      const g = readIvecs(ds(f));
      assert.deepEqual([g.n, g.d], [n, d], f);
      assert.ok(g.data.every((id) => id >= 0 && id < nb), f);
    }
    const q = readVectors(ds('jvector-siftsmall-partial/siftsmall_query.fvecs'));
    assert.deepEqual([q.n, q.d], [100, 128]);
  });

  test('langchain *.vectors.npy: shapes match the file sizes', () => {
    const dims: Record<string, [number, number]> = {
      'AIAnytime_Your-Private-StackOverflow': [182, 768],
      '21MRR_mrr-rag': [46, 1024],
      'Aditya-Y-29_LammaGita': [186, 384],
      'AminHaghdadi_NewsResearchTool': [25, 384],
      '0011Ashwin_Gemini-LLM_Model': [4, 768],
    };
    for (const [name, [n, d]] of Object.entries(dims)) {
      const v = readVectors(ds(`langchain-faiss-indexes/${name}.vectors.npy`));
      assert.deepEqual([v.n, v.d], [n, d], name);
    }
  });

  test('mnist images_u8.npy (uint8) is rejected as vectors, converted with convertIntegers', () => {
    const p = ds('mnist-t10k/images_u8.npy');
    assertFormatError(() => readVectors(p), p, 10, /'\|u1' \(uint8\) is not supported for vectors.*'<f4'.*convertIntegers: true/);
    assertFormatError(() => openVectors(p), p, 10, /uint8/);
    const v = readVectors(p, { convertIntegers: true });
    assert.deepEqual([v.n, v.d], [10000, 784]);
    const raw = readNpy(p);
    assert.equal(raw.dtype, '|u1');
    assert.deepEqual(v.data, Float32Array.from(raw.data as Uint8Array));
    const labels = readNpy(ds('mnist-t10k/labels_u8.npy'));
    assert.deepEqual(labels.shape, [10000]);
    assert.ok((labels.data as Uint8Array).every((l) => l <= 9));
  });

  test('openVectors chunks equal readVectors on a real file', () => {
    const p = ds('mnist-t10k/split_query1000.fvecs');
    const all = readVectors(p).data;
    const r = openVectors(p);
    const got = new Float32Array(all.length);
    let next = 0;
    for (const c of r.chunks(97)) {
      assert.equal(c.start, next);
      assert.equal(c.n, Math.min(97, 1000 - next));
      got.set(c.data, c.start * 784);
      next += c.n;
    }
    assert.equal(next, 1000);
    r.close();
    assertSameBits(got, all);
  });
});

// ---------------------------------------------------------------------------------------------
// Corrupt files

describe('corrupt and mislabelled files', () => {
  const x = randomVectors(5, 7, 42);
  const good = encodeNpy(x, [5, 7]); // 128-byte header + 140 bytes
  const headerLength = parseNpyHeader(good, 'good.npy').headerLength;

  test('missing file: Error with code ENOENT naming the path', () => {
    for (const fn of [() => readVectors(tmp('nope.fvecs')), () => openVectors(tmp('nope.npy')), () => readIvecs(tmp('nope.ivecs'))]) {
      assert.throws(fn, (e: unknown) => {
        const err = e as NodeJS.ErrnoException;
        assert.equal(err.code, 'ENOENT');
        assert.ok(err.message.includes(tmp('nope')), err.message);
        return true;
      });
    }
  });

  test('.npy cut inside the preamble and inside the header', () => {
    for (const cut of [0, 5, 9, 50, headerLength - 1]) {
      const p = tmp(`cut${cut}.npy`);
      writeFileSync(p, good.subarray(0, cut));
      assertFormatError(() => readVectors(p), p, cut, /truncated \.npy header/);
    }
  });

  test('.npy cut inside the data, and extra bytes after it', () => {
    const p = tmp('datacut.npy');
    writeFileSync(p, good.subarray(0, headerLength + 100));
    assertFormatError(() => readVectors(p), p, headerLength + 100, /truncated \.npy data: shape \(5, 7\) of '<f4' needs 140 bytes.*only 100 \(3 complete rows of 5\)/);
    assertFormatError(() => decodeNpyVectors(readFileSync(p), p), p, headerLength + 100, /truncated/);
    const q = tmp('trailing.npy');
    writeFileSync(q, concat(good, new Uint8Array(4)));
    assertFormatError(() => readVectors(q), q, headerLength + 140, /4 bytes after the end of the data/);
  });

  test('bad magic, bad version, malformed header', () => {
    const p = tmp('magic.npy');
    const bad = good.slice();
    bad[1] = 0x58;
    writeFileSync(p, bad);
    assertFormatError(() => readVectors(p), p, 0, /not a \.npy file: expected the magic bytes/);
    const v = tmp('version.npy');
    const badv = good.slice();
    badv[6] = 4;
    writeFileSync(v, badv);
    assertFormatError(() => readVectors(v), v, 6, /unsupported \.npy format version 4\.0/);
    const m = tmp('malformed.npy');
    const badm = good.slice();
    badm.set(new TextEncoder().encode("{'descr' '<f4'"), 10);
    writeFileSync(m, badm);
    assert.throws(() => readVectors(m), (e: unknown) => e instanceof FormatError && /malformed \.npy header: expected ':'/.test(e.message) && e.file === m);
  });

  test('Fortran order is rejected with a hint', () => {
    const p = tmp('fortran.npy');
    writeFileSync(p, rawNpy('<f4', [5, 7], bytesOf(x), true));
    assertFormatError(() => readVectors(p), p, 10, /Fortran-order.*not supported.*np\.ascontiguousarray/);
    assertFormatError(() => readNpy(p), p, 10, /Fortran/);
  });

  test('unsupported dtype <c8 names the dtype and what is accepted', () => {
    const p = tmp('complex.npy');
    writeFileSync(p, rawNpy('<c8', [5, 7], new Uint8Array(5 * 7 * 8)));
    assertFormatError(() => readVectors(p), p, 10, /dtype '<c8' \(complex64\) is not supported for vectors: accepted dtypes are float32 \('<f4'\), float16 \('<f2'\) and float64 \('<f8'\)/);
    assertFormatError(() => readVectors(p, { convertIntegers: true }), p, 10, /<c8/);
    assertFormatError(() => readNpy(p), p, 10, /'<c8' \(complex64\) is not supported/);
  });

  test('.fvecs whose last row is truncated', () => {
    const bytes = encodeFvecs(x, 7); // rows of 32 bytes
    const p = tmp('trunc.fvecs');
    writeFileSync(p, bytes.subarray(0, bytes.length - 3));
    const re = /truncated \.fvecs file: row 4 starts at byte 128 and needs 32 bytes.*only 29 remain/;
    assertFormatError(() => readVectors(p), p, 128, re);
    assertFormatError(() => openVectors(p), p, 128, re);
    assertFormatError(() => parseFvecs(readFileSync(p), p), p, 128, re);
    const q = tmp('trunc2.fvecs');
    writeFileSync(q, bytes.subarray(0, 130)); // 2 bytes into row 4's dimension
    assertFormatError(() => readVectors(q), q, 128, /row 4.*only 2 remain/);
  });

  test('.fvecs whose second row has a different d', () => {
    const p = tmp('baddim.fvecs');
    const bytes = concat(encodeFvecs(x.subarray(0, 7), 7), encodeFvecs(x.subarray(7, 13), 6), encodeFvecs(x.subarray(14), 7));
    writeFileSync(p, bytes);
    const re = /row 1 has dimension 6, but row 0 has dimension 7/;
    assertFormatError(() => readVectors(p), p, 32, re);
    assertFormatError(() => openVectors(p), p, 32, re);
    assertFormatError(() => parseFvecs(bytes, p), p, 32, re);
  });

  test('a bad row dimension in a file of the right size is reported when the row is read', () => {
    const bytes = encodeFvecs(x, 7);
    new DataView(bytes.buffer).setInt32(3 * 32, 8, true);
    const p = tmp('row3.fvecs');
    writeFileSync(p, bytes);
    const r = openVectors(p);
    assertSameBits(r.read(0, 3), x.subarray(0, 21));
    assertFormatError(() => r.read(2, 2), p, 96, /row 3 has dimension 8, but row 0 has dimension 7/);
    r.close();
    assertFormatError(() => readVectors(p, { chunkBytes: 64 }), p, 96, /row 3/);
  });

  test('mislabelled files: .npy named .fvecs, garbage dimension, .ivecs bytes with a bad d', () => {
    const p = tmp('really_npy.fvecs');
    writeFileSync(p, good);
    assertFormatError(() => readVectors(p), p, 0, /this is a \.npy file.*rename it to \.npy/);
    const q = tmp('garbage.fvecs');
    writeFileSync(q, new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    assertFormatError(() => readVectors(q), q, 0, /row 0 declares dimension -1/);
    const r = tmp('short.ivecs');
    writeFileSync(r, new Uint8Array([1, 0]));
    assertFormatError(() => readIvecs(r), r, 0, /too short/);
  });

  test('argument errors: unknown extension, wrong types, bad d', () => {
    assert.throws(() => readVectors(tmp('x.csv')), (e: unknown) => e instanceof InvalidArgumentError && /\.npy, \.fvecs and \.bvecs/.test(e.message));
    assert.throws(() => writeVectors(tmp('x.txt'), x, 7), InvalidArgumentError);
    assert.throws(() => writeVectors(tmp('x.ivecs'), x, 7), (e: unknown) => e instanceof InvalidArgumentError && /writeIvecs/.test(e.message));
    assert.throws(() => writeVectors(tmp('x.npy'), [1, 2, 3] as unknown as Float32Array, 3), InvalidTypeError);
    assert.throws(() => writeVectors(tmp('x.npy'), x, 6), (e: unknown) => e instanceof InvalidArgumentError && /multiple of d = 6/.test(e.message));
    assert.throws(() => writeVectors(tmp('x.fvecs'), x, 0), InvalidArgumentError);
    assert.throws(() => writeIvecs(tmp('x.ivecs'), x as unknown as Int32Array, 7), InvalidTypeError);
    assert.throws(() => writeNpy(tmp('x.npy'), x, [5, 6]), InvalidArgumentError);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('x.')), 'nothing written on argument errors');
  });
});

// ---------------------------------------------------------------------------------------------
// Streaming

describe('streaming', () => {
  test('openVectors read / chunks equal readVectors for npy f4, f2, f8, fvecs, bvecs (small chunkBytes)', () => {
    const n = 53;
    const d = 7;
    const x = randomVectors(n, d, 99);
    const halves = Uint16Array.from({ length: n * d }, (_, i) => (i * 2654435761) & 0x7bff);
    const u8 = Uint8Array.from({ length: n * d }, (_, i) => (i * 31) & 0xff);
    writeVectors(tmp('s.npy'), x, d);
    writeVectors(tmp('s.fvecs'), x, d);
    writeFileSync(tmp('s16.npy'), rawNpy('<f2', [n, d], bytesOf(halves)));
    writeNpy(tmp('s64.npy'), Float64Array.from(x), [n, d]);
    writeFileSync(tmp('s.bvecs'), encodeBvecs(u8, d));
    for (const f of ['s.npy', 's.fvecs', 's16.npy', 's64.npy', 's.bvecs']) {
      const p = tmp(f);
      const all = readVectors(p).data;
      for (const chunkBytes of [1, 12, 30, 100, 1 << 20]) {
        const progress: Array<[number, number]> = [];
        const v = readVectors(p, { chunkBytes, onProgress: (done, total) => progress.push([done, total]) });
        assertSameBits(v.data, all, `${f} chunkBytes ${chunkBytes}`);
        assert.deepEqual(progress.at(-1), [n, n]);
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0]);
        const r = openVectors(p, { chunkBytes });
        for (const rows of [1, 5, 53, 100]) {
          const parts = [...r.chunks(rows)];
          assert.equal(parts.length, Math.ceil(n / rows));
          const joined = new Float32Array(n * d);
          for (const c of parts) joined.set(c.data, c.start * d);
          assertSameBits(joined, all, `${f} chunks(${rows})`);
        }
        const rand = mulberry32(chunkBytes);
        for (let t = 0; t < 10; t++) {
          const start = Math.floor(rand() * n);
          const count = Math.floor(rand() * (n - start + 1));
          assertSameBits(r.read(start, count), all.subarray(start * d, (start + count) * d));
        }
        const out = new Float32Array(10 * d + 3);
        const got = r.read(40, 10, out);
        assert.equal(got.buffer, out.buffer);
        assertSameBits(got, all.subarray(40 * d, 50 * d));
        r.close();
      }
    }
  });

  test('reader range checks and close', () => {
    const p = tmp('s.npy');
    const r = openVectors(p);
    assert.throws(() => r.read(-1, 1), InvalidArgumentError);
    assert.throws(() => r.read(50, 4), (e: unknown) => e instanceof InvalidArgumentError && /n = 53/.test(e.message));
    assert.throws(() => r.read(0, 2, new Float32Array(3)), InvalidArgumentError);
    assert.throws(() => r.chunks(0).next(), InvalidArgumentError);
    assert.equal(r.read(53, 0).length, 0);
    r.close();
    r.close();
    assert.throws(() => r.read(0, 1), (e: unknown) => e instanceof SimdexError && e.code === 'ERR_SIMDEX_CLOSED');
  });

  test('MAX_FLOAT32_ELEMENTS is the typed array limit of this Node (>= 2^32 on 64-bit)', () => {
    assert.ok(MAX_FLOAT32_ELEMENTS >= 2 ** 32, String(MAX_FLOAT32_ELEMENTS));
  });
});

// ---------------------------------------------------------------------------------------------
// Offsets beyond 4 GiB (sparse files: no disk or memory cost)

describe('files larger than 4 GiB', () => {
  const d = 256;
  const n = 4_718_592; // n*d*4 = 4.5 GiB of float32
  const tail = randomVectors(2, d, 5);
  const head = randomVectors(1, d, 6);

  /** A sparse .npy of shape (n, d) with real rows at 0 and n-2, n-1; returns its path, or undefined. */
  function sparseNpy(): string | undefined {
    const p = tmp('big.npy');
    if (existsSync(p)) return p;
    const header = encodeNpyHeader('<f4', [n, d]);
    const fd = openSync(p, 'w');
    try {
      ftruncateSync(fd, header.length + n * d * 4);
      writeSync(fd, header, 0, header.length, 0);
      writeSync(fd, bytesOf(head), 0, head.byteLength, header.length);
      writeSync(fd, bytesOf(tail), 0, tail.byteLength, header.length + (n - 2) * d * 4);
    } catch {
      rmSync(p, { force: true });
      return undefined;
    } finally {
      closeSync(fd);
    }
    return p;
  }

  test('openVectors reads rows past 4 GiB of a .npy and a .fvecs', (t) => {
    const p = sparseNpy();
    if (p === undefined) return t.skip('cannot create a 4.5 GiB sparse file here');
    const r = openVectors(p);
    assert.deepEqual([r.n, r.d], [n, d]);
    assertSameBits(r.read(n - 2, 2), tail);
    assertSameBits(r.read(0, 1), head);
    r.close();

    const q = tmp('big.fvecs');
    const rowBytes = 4 + 4 * d;
    const fd = openSync(q, 'w');
    try {
      ftruncateSync(fd, n * rowBytes);
      const rows = encodeFvecs(tail, d);
      writeSync(fd, encodeFvecs(head, d), 0, rowBytes, 0);
      writeSync(fd, rows, 0, rows.length, (n - 2) * rowBytes);
    } finally {
      closeSync(fd);
    }
    const s = openVectors(q);
    assert.deepEqual([s.n, s.d], [n, d]);
    assertSameBits(s.read(n - 2, 2), tail);
    assertSameBits(s.read(0, 1), head);
    assertFormatError(() => s.read(n - 3, 1), q, (n - 3) * rowBytes, /row 4718589 has dimension 0/);
    s.close();
    rmSync(q);
  });

  test(
    'readVectors of a 4.5 GiB .npy into one Float32Array of > 2^30 elements (SIMDEX_LARGE_TESTS=1)',
    { skip: process.env['SIMDEX_LARGE_TESTS'] === '1' ? false : 'set SIMDEX_LARGE_TESTS=1 (needs 4.5 GiB of memory)' },
    (t) => {
      const p = sparseNpy();
      if (p === undefined) return t.skip('cannot create a 4.5 GiB sparse file here');
      let calls = 0;
      const v = readVectors(p, { onProgress: () => calls++ });
      assert.ok(v.data.length > 2 ** 30);
      assert.equal(v.data.length, n * d);
      assert.equal(calls, Math.ceil((n * d * 4) / (64 << 20)));
      assertSameBits(v.data.subarray((n - 2) * d), tail);
      assertSameBits(v.data.subarray(0, d), head);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Atomic writes

describe('atomic writes', () => {
  test('writing replaces the file in one step and leaves no temporary files', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const p = join(sub, 'v.fvecs');
    writeVectors(p, randomVectors(3, 4, 1), 4);
    const x = randomVectors(10, 4, 2);
    writeVectors(p, x, 4);
    assertSameBits(readVectors(p).data, x);
    writeNpy(join(sub, 'v.npy'), x, [10, 4]);
    writeIvecs(join(sub, 'g.ivecs'), new Int32Array([1, 2, 3]), 3);
    assert.deepEqual(readdirSync(sub).sort(), ['g.ivecs', 'v.fvecs', 'v.npy']);
    // A failed write (bad argument) leaves the old file untouched.
    assert.throws(() => writeVectors(p, x, 3), InvalidArgumentError);
    assertSameBits(readVectors(p).data, x);
    // Writing into a missing directory fails without creating anything.
    assert.throws(() => writeVectors(join(sub, 'missing', 'v.npy'), x, 4), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
    assert.deepEqual(readdirSync(sub).sort(), ['g.ivecs', 'v.fvecs', 'v.npy']);
  });
});

// ---------------------------------------------------------------------------------------------
// numpy cross-checks

describe('numpy cross-checks (/usr/bin/python3)', { skip: haveNumpy ? false : 'python3 with numpy not available' }, () => {
  test('files written by numpy read correctly; our files are byte-identical to np.save and np.load reads them', () => {
    const sub = mkdtempSync(join(dir, 'numpy-'));
    const script = `
import json, sys, warnings, numpy as np
warnings.simplefilter('ignore')  # 70000 -> float16 overflows to inf on purpose
out = sys.argv[1]
h = np.array([0.0, -0.0, 1.0, -2.0, 0.5, 1/3, 65504.0, 6.103515625e-05, 6.097555160522461e-05,
              5.960464477539063e-08, -5.960464477539063e-08, 3.0517578125e-05, 1e-8, 70000.0,
              float('inf'), float('-inf'), float('nan'), 3.14159], dtype=np.float16).reshape(3, 6)
np.save(out + '/f16.npy', h)
rng = np.random.default_rng(123)
f64 = rng.standard_normal((11, 7))
np.save(out + '/f64.npy', f64)
f32 = (np.arange(5 * 7, dtype=np.float32) / 7).reshape(5, 7)
np.save(out + '/f32.npy', f32)
np.save(out + '/fortran.npy', np.asfortranarray(f32))
np.save(out + '/be.npy', f32.astype('>f4'))
np.save(out + '/i4.npy', np.arange(-6, 6, dtype=np.int32).reshape(3, 4))
np.save(out + '/i8.npy', np.arange(6, dtype=np.int64).reshape(2, 3) * 10**12)
np.save(out + '/u1.npy', np.arange(0, 250, 25, dtype=np.uint8))
np.save(out + '/big0.npy', np.zeros((123456, 1), dtype=np.float32))
print(json.dumps({'f16': [repr(float(v)) for v in h.ravel()], 'f64': [repr(float(v)) for v in f64.ravel()]}))
`;
    const ref = JSON.parse(execFileSync(PY, ['-c', script, sub], { encoding: 'utf8' })) as { f16: string[]; f64: string[] };
    const num = (s: string): number => (s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s));

    const h = readVectors(join(sub, 'f16.npy'));
    assert.deepEqual([h.n, h.d], [3, 6]);
    ref.f16.forEach((s, i) => assert.ok(Object.is(h.data[i], num(s)), `f16[${i}] = ${h.data[i]}, numpy says ${s}`));
    // numpy's own float16 rounding of the inputs matches the hand-computed values.
    assert.ok(Object.is(h.data[1], -0));
    assert.equal(h.data[5], 0.333251953125);
    assert.equal(h.data[9], 2 ** -24);
    assert.equal(h.data[12], 0, '1e-8 underflows to 0 in float16');
    assert.equal(h.data[13], Infinity, '70000 overflows to inf in float16');

    const f64 = readVectors(join(sub, 'f64.npy'));
    assert.deepEqual([f64.n, f64.d], [11, 7]);
    ref.f64.forEach((s, i) => assert.equal(f64.data[i], Math.fround(num(s))));
    assert.deepEqual(readNpy(join(sub, 'f64.npy')).data, Float64Array.from(ref.f64, num));

    const f32 = readVectors(join(sub, 'f32.npy'));
    assertSameBits(readVectors(join(sub, 'be.npy')).data, f32.data);
    assertFormatError(() => readVectors(join(sub, 'fortran.npy')), join(sub, 'fortran.npy'), 10, /Fortran-order.*np\.ascontiguousarray/);

    // Byte-identical to np.save (header layout, padding, spare growth space).
    for (const f of ['f32.npy', 'i4.npy', 'i8.npy', 'u1.npy', 'big0.npy']) {
      const a = readNpy(join(sub, f));
      const ours = encodeNpy(a.data as Float32Array, a.shape);
      assert.deepEqual(ours, new Uint8Array(readFileSync(join(sub, f))), f);
      assert.deepEqual(decodeNpy(ours, f).data, a.data);
    }

    // numpy reads what we write.
    const x = randomVectors(13, 9, 77);
    writeVectors(join(sub, 'ours.npy'), x, 9);
    writeVectors(join(sub, 'ours.fvecs'), x, 9);
    writeIvecs(join(sub, 'ours.ivecs'), Int32Array.from({ length: 12 }, (_, i) => i * 7 - 40), 4);
    const check = `
import sys, numpy as np
d = sys.argv[1]
a = np.load(d + '/ours.npy')
b = np.fromfile(d + '/ours.fvecs', dtype=np.float32).view(np.int32).reshape(13, 10)
assert (b[:, 0] == 9).all()
b = b[:, 1:].view(np.float32)
g = np.fromfile(d + '/ours.ivecs', dtype=np.int32).reshape(3, 5)
assert (g[:, 0] == 4).all()
print(a.dtype.str, a.shape, a.flags['C_CONTIGUOUS'], bool((a == b).all()), g[:, 1:].ravel().tolist())
`;
    const outp = execFileSync(PY, ['-c', check, sub], { encoding: 'utf8' }).trim();
    assert.equal(outp, `<f4 (13, 9) True True [${Array.from({ length: 12 }, (_, i) => i * 7 - 40).join(', ')}]`);
    const a = execFileSync(PY, ['-c', `import numpy as np, sys; print(np.load(sys.argv[1]).tobytes().hex())`, join(sub, 'ours.npy')], {
      encoding: 'utf8',
    }).trim();
    assert.equal(a, Buffer.from(bytesOf(x)).toString('hex'));
  });
});
