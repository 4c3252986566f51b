/**
 * @module test/io.faiss
 * Faiss index files (src/io/faiss): files written by real Faiss 1.7.3 (test/golden/faiss-1.7.3, made by
 * scripts/make-faiss-golden.py) and by LangChain (../shared/datasets/langchain-faiss-indexes) are read
 * and searched like Faiss searched them; simdex writes the same bytes as Faiss; Faiss reads what simdex
 * writes (when /usr/bin/python3 has faiss); truncated, corrupt and hostile files fail with FormatError.
 * Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Index, type SearchResult } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotSupportedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexFlat, IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../src/indexes/IndexIDMap.js';
import { decodeNpy } from '../src/io/npy.js';
import {
  BytesIOWriter,
  IOReader,
  IO_FLAG_MMAP,
  IO_FLAG_ONDISK_SAME_DIR,
  IO_FLAG_READ_ONLY,
  IO_FLAG_SKIP_IVF_DATA,
  IO_FLAG_SKIP_PRECOMPUTE_TABLE,
  deserializeIndex,
  describeIndex,
  faissFileSize,
  formatIndexDescription,
  fourcc,
  fourccPrintable,
  fourccToString,
  readIndex,
  serializeIndex,
  writeIndex,
} from '../src/io/faiss/index.js';

// From dist/test/: the repository root is two levels up, shared/ is next to the repository.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const LANGCHAIN = join(SHARED, 'datasets', 'langchain-faiss-indexes');
const PYTHON = '/usr/bin/python3';

interface GoldenEntry {
  name: string;
  file: string;
  type: string;
  fourccs: string[];
  d: number;
  ntotal: number;
  metric_type: number;
  bytes: number;
  labels?: string;
  distances?: string;
  ids?: string;
}
interface Manifest {
  faiss_version: string;
  d: number;
  nq: number;
  k: number;
  base: string;
  queries: string;
  ids: string;
  indexes: GoldenEntry[];
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;
const goldenPath = (file: string): string => join(GOLDEN, file);
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(goldenPath(file)));

function npy<T>(path: string): { shape: number[]; data: T } {
  const a = decodeNpy(new Uint8Array(readFileSync(path)), path);
  return { shape: a.shape, data: a.data as T };
}

const base = npy<Float32Array>(goldenPath(manifest.base)).data;
const queries = npy<Float32Array>(goldenPath(manifest.queries)).data;
const ids = npy<BigInt64Array>(goldenPath(manifest.ids)).data;
const entry = (name: string): GoldenEntry => manifest.indexes.find((e) => e.name === name)!;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function closeRel(a: number, b: number, rel = 1e-5): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + 1e-6;
}

function assertSameResults(got: SearchResult, labels: BigInt64Array, distances: Float32Array, what: string): void {
  assert.equal(got.labels.length, labels.length, `${what}: result size`);
  assert.deepEqual(Array.from(got.labels), Array.from(labels), `${what}: labels`);
  for (let i = 0; i < distances.length; i++) {
    assert.ok(closeRel(got.distances[i]!, distances[i]!), `${what}: distance ${i}: ${got.distances[i]} vs ${distances[i]}`);
  }
}

/** Runs fn, which must throw a FormatError; returns it. */
function formatError(fn: () => unknown, what: string): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    assert.fail(`${what}: expected a FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  assert.fail(`${what}: expected a FormatError, the read succeeded`);
}

function patch(bytes: Uint8Array, offset: number, write: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  write(new DataView(copy.buffer, offset));
  return copy;
}

/** The indexes of the golden files, rebuilt by simdex from the same vectors and ids. */
function buildLikeGolden(name: string): Index {
  switch (name) {
    case 'flatL2': {
      const index = new IndexFlatL2(8);
      index.add(base);
      return index;
    }
    case 'flatIP': {
      const index = new IndexFlatIP(8);
      index.add(base);
      return index;
    }
    case 'IDMap_flatL2': {
      const index = new IndexIDMap(new IndexFlatL2(8));
      index.addWithIds(base, ids);
      return index;
    }
    case 'IDMap2_flatIP': {
      const index = new IndexIDMap2(new IndexFlatIP(8));
      index.addWithIds(base, ids);
      return index;
    }
    case 'flatL2_empty':
      return new IndexFlatL2(8);
    default:
      throw new Error(`no builder for ${name}`);
  }
}

const searchable = manifest.indexes.filter((e) => e.labels !== undefined);

// ---------------------------------------------------------------------------------------------------
// fourcc
// ---------------------------------------------------------------------------------------------------

test('fourcc: Faiss codes are little-endian uint32 of 4 ASCII characters', () => {
  assert.equal(fourcc('IxF2'), 0x32467849);
  assert.equal(fourccToString(0x32467849), 'IxF2');
  assert.equal(fourccPrintable(0x03020100), '\\x00\\x01\\x02\\x03');
  assert.equal(fourccToString(fourcc('null')), 'null');
  assert.throws(() => fourcc('IxF'), InvalidArgumentError);
});

// ---------------------------------------------------------------------------------------------------
// (a) Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden: manifest and files are present and as described', () => {
  assert.equal(manifest.faiss_version, '1.7.3');
  for (const e of manifest.indexes) assert.equal(readFileSync(goldenPath(e.file)).length, e.bytes, e.file);
});

for (const e of searchable) {
  test(`golden ${e.file}: ${e.type}, d, ntotal, metric, ids and Faiss's search results`, () => {
    for (const index of [readIndex(goldenPath(e.file)), deserializeIndex(goldenBytes(e.file))]) {
      assert.equal(index.typeName, e.type);
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, true);
      let flat = index;
      if (index instanceof IndexIDMap) {
        assert.deepEqual(Array.from(index.idMap), Array.from(ids));
        flat = index.index;
        assert.equal(flat.typeName, e.metric_type === MetricType.L2 ? 'IndexFlatL2' : 'IndexFlatIP');
        assert.equal(flat.ntotal, e.ntotal);
      }
      assert.deepEqual(Array.from(flat.reconstructN(0, flat.ntotal)), Array.from(base.subarray(0, e.ntotal * e.d)));
      const labels = npy<BigInt64Array>(goldenPath(e.labels!)).data;
      const distances = npy<Float32Array>(goldenPath(e.distances!)).data;
      assertSameResults(index.search(queries, manifest.k), labels, distances, e.file);
      if (index instanceof IndexIDMap2) {
        assert.deepEqual(Array.from(index.reconstruct(ids[7]!)), Array.from(base.subarray(7 * 8, 8 * 8)));
      }
    }
  });
}

test('golden: IndexFlat with METRIC_L1 and METRIC_Lp ("IxFl") are a clear FormatError', () => {
  for (const [name, metric] of [['flatL1', 'METRIC_L1'], ['flatLp', 'METRIC_Lp']] as const) {
    const err = formatError(() => readIndex(goldenPath(entry(name).file)), name);
    assert.match(err.message, new RegExp(`${metric} \\(metric_type ${entry(name).metric_type}`));
    assert.match(err.message, /METRIC_L2 \(1\) and METRIC_INNER_PRODUCT \(0\)/);
    assert.equal(err.fourcc, 'IxFl');
    assert.equal(err.offset, 33); // metric_type: after fourcc 4, d 4, ntotal 8, 2 dummies 16, is_trained 1
    assert.equal(err.file, goldenPath(entry(name).file));
  }
});

test('"IxFl" with L2 or inner product reads as IndexFlat; the header metric wins over the fourcc, as in Faiss', () => {
  const l2 = goldenBytes('flatL2.faiss');
  const generic = patch(l2, 0, (v) => v.setUint32(0, fourcc('IxFl'), true));
  const index = deserializeIndex(generic);
  assert.ok(index instanceof IndexFlat);
  assert.equal(index.typeName, 'IndexFlat');
  assert.equal(index.metricType, MetricType.L2);
  const e = entry('flatL2');
  assertSameResults(
    index.search(queries, manifest.k),
    npy<BigInt64Array>(goldenPath(e.labels!)).data,
    npy<Float32Array>(goldenPath(e.distances!)).data,
    'IxFl L2',
  );
  // Faiss writes an L2 IndexFlat as "IxF2": the bytes come back as Faiss's own.
  assert.deepEqual(serializeIndex(index), l2);
  // "IxF2" whose header says inner product: an IndexFlat with the inner product.
  const ip = deserializeIndex(patch(l2, 33, (v) => v.setInt32(0, MetricType.INNER_PRODUCT, true)));
  assert.equal(ip.typeName, 'IndexFlat');
  assert.equal(ip.metricType, MetricType.INNER_PRODUCT);
});

test('golden: describeIndex gives type, fourcc, sizes and children', () => {
  const index = readIndex(goldenPath('IDMap2_flatIP.faiss'));
  const desc = describeIndex(index);
  assert.deepEqual(
    desc,
    {
      type: 'IndexIDMap2', fourcc: 'IxM2', d: 8, ntotal: 50, metric: 'INNER_PRODUCT', metricType: 0, isTrained: true,
      bytes: entry('IDMap2_flatIP').bytes,
      children: [{ type: 'IndexFlatIP', fourcc: 'IxFI', d: 8, ntotal: 50, metric: 'INNER_PRODUCT', metricType: 0, isTrained: true, bytes: entry('flatIP').bytes, children: [] }],
    },
  );
  assert.equal(formatIndexDescription(desc), 'IndexIDMap2 "IxM2" d=8 ntotal=50 metric=INNER_PRODUCT bytes=2090\n  IndexFlatIP "IxFI" d=8 ntotal=50 metric=INNER_PRODUCT bytes=1645');
  for (const e of searchable) assert.equal(faissFileSize(readIndex(goldenPath(e.file))), e.bytes, e.file);
});

test('flags: Faiss values, accepted without changing how flat indexes read; invalid flags rejected', () => {
  assert.deepEqual(
    [IO_FLAG_READ_ONLY, IO_FLAG_ONDISK_SAME_DIR, IO_FLAG_SKIP_IVF_DATA, IO_FLAG_SKIP_PRECOMPUTE_TABLE, IO_FLAG_MMAP],
    [2, 4, 8, 16, 1684996104],
  );
  for (const flags of [IO_FLAG_MMAP, IO_FLAG_READ_ONLY | IO_FLAG_ONDISK_SAME_DIR]) {
    assert.equal(readIndex(goldenPath('IDMap_flatL2.faiss'), flags).ntotal, 50);
  }
  for (const flags of [-1, 1.5, Number.NaN, 2 ** 31]) {
    assert.throws(() => readIndex(goldenPath('flatL2.faiss'), flags), InvalidArgumentError);
  }
});

// ---------------------------------------------------------------------------------------------------
// (b) Real files saved by LangChain
// ---------------------------------------------------------------------------------------------------

const LANGCHAIN_FILES: ReadonlyArray<readonly [string, number, number]> = [
  ['AIAnytime_Your-Private-StackOverflow', 768, 182],
  ['21MRR_mrr-rag', 1024, 46],
  ['Aditya-Y-29_LammaGita', 384, 186],
  ['AminHaghdadi_NewsResearchTool', 384, 25],
  ['0011Ashwin_Gemini-LLM_Model', 768, 4],
];

test('LangChain: the sizes above are those INDEX.md gives', (t) => {
  const indexMd = join(SHARED, 'datasets', 'INDEX.md');
  if (!existsSync(indexMd)) {
    t.skip(`${indexMd} is not there`);
    return;
  }
  const listed = [...readFileSync(indexMd, 'utf8').matchAll(/([\w.-]+)\/([\w.-]+):\S*index\.faiss \((\d+)d x (\d+)\)/g)].map(
    (m) => [`${m[1]}_${m[2]}`, Number(m[3]), Number(m[4])] as const,
  );
  assert.deepEqual(listed, LANGCHAIN_FILES);
});

for (const [name, d, ntotal] of LANGCHAIN_FILES) {
  test(`LangChain ${name}: IndexFlatL2 d=${d} ntotal=${ntotal}, vectors as in the .npy, each finds itself`, (t) => {
    const file = join(LANGCHAIN, `${name}.index.faiss`);
    if (!existsSync(file)) {
      t.skip(`${file} is not there`);
      return;
    }
    const index = readIndex(file);
    assert.ok(index instanceof IndexFlatL2);
    assert.equal(index.d, d);
    assert.equal(index.ntotal, ntotal);
    assert.equal(index.metricType, MetricType.L2);
    const vectors = npy<Float32Array>(join(LANGCHAIN, `${name}.vectors.npy`));
    assert.deepEqual(vectors.shape, [ntotal, d]);
    const stored = index.reconstructN(0, ntotal);
    assert.deepEqual(new Uint8Array(stored.buffer), new Uint8Array(vectors.data.buffer, vectors.data.byteOffset, vectors.data.byteLength));
    // Each vector finds itself at rank 0, or an identical copy of itself (these sets hold duplicate chunks).
    const res = index.search(vectors.data, 1);
    for (let i = 0; i < ntotal; i++) {
      const j = Number(res.labels[i]);
      const same = j === i || vectors.data.subarray(j * d, (j + 1) * d).every((v, c) => v === vectors.data[i * d + c]);
      assert.ok(same, `${name}: vector ${i} found ${j} at rank 0`);
    }
    // Written back, byte for byte the file LangChain's Faiss wrote; chunked reads give the same index.
    assert.deepEqual(serializeIndex(index), new Uint8Array(readFileSync(file)));
    const chunked = readIndex(file, 0, { chunkBytes: 3 * d * 4 + 1, flat: { maxSegmentBytes: 64 * d * 4 } });
    assert.deepEqual(chunked.reconstructN(0, ntotal), stored);
  });
}

// ---------------------------------------------------------------------------------------------------
// (c) simdex writes what Faiss writes
// ---------------------------------------------------------------------------------------------------

for (const e of searchable) {
  test(`write ${e.file}: simdex's bytes equal Faiss's, and read back`, () => {
    const index = buildLikeGolden(e.name);
    const golden = goldenBytes(e.file);
    assert.deepEqual(serializeIndex(index), golden);
    assert.deepEqual(serializeIndex(index, { chunkBytes: 1 }), golden); // one vector per reconstructN call
    assert.equal(faissFileSize(index), golden.length);
    const w = new BytesIOWriter(1);
    writeIndex(index, w);
    assert.deepEqual(w.bytes(), golden);
    const back = deserializeIndex(serializeIndex(index));
    assert.equal(back.typeName, index.typeName);
    assert.deepEqual(serializeIndex(back), golden);
  });
}

test('write to a path: atomic, via a temporary file that is renamed, or removed on failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-faiss-'));
  try {
    const path = join(dir, 'flat.index');
    const index = buildLikeGolden('IDMap_flatL2');
    writeIndex(index, path);
    assert.deepEqual(new Uint8Array(readFileSync(path)), goldenBytes('IDMap_flatL2.faiss'));
    assert.deepEqual(readdirSync(dir), ['flat.index']);
    // Multi-segment storage, read and written in small chunks.
    const small = readIndex(path, 0, { chunkBytes: 7 * 32, flat: { maxSegmentBytes: 16 * 32 } });
    assert.deepEqual(serializeIndex(small, { chunkBytes: 5 * 32 }), goldenBytes('IDMap_flatL2.faiss'));

    // A failure in the middle of writing leaves the previous file intact and no temporary file.
    class Failing extends IndexFlatL2 {
      override reconstructN(i0: number, n: number): Float32Array {
        if (i0 >= 20) throw new Error('disk on fire');
        return super.reconstructN(i0, n);
      }
    }
    const failing = new Failing(8);
    failing.add(base);
    assert.throws(() => writeIndex(failing, path, { chunkBytes: 10 * 32 }), /disk on fire/);
    assert.deepEqual(readdirSync(dir), ['flat.index']);
    assert.deepEqual(new Uint8Array(readFileSync(path)), goldenBytes('IDMap_flatL2.faiss'));

    // An index type without a Faiss writer: NotSupportedError before any file is created.
    class Custom extends Index {
      add(): void {}
      search(): SearchResult {
        throw new Error('unused');
      }
      reset(): void {}
    }
    assert.throws(() => writeIndex(new Custom(4), join(dir, 'custom.index')), NotSupportedError);
    assert.throws(() => serializeIndex(new Custom(4)), NotSupportedError);
    assert.deepEqual(readdirSync(dir), ['flat.index']);
    assert.equal(describeIndex(new Custom(4)).bytes, null);
    // A missing file is Node's ENOENT, not a FormatError.
    assert.throws(() => readIndex(join(dir, 'missing.index')), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (d) Faiss reads what simdex writes
// ---------------------------------------------------------------------------------------------------

const hasFaiss = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import faiss'], { stdio: 'ignore' }).status === 0;

const PY_READER = `
import json, sys
import faiss, numpy as np
d, k, qfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
q = np.fromfile(qfile, dtype='<f4').reshape(-1, d)
out = {}
for path in sys.argv[4:]:
    index = faiss.read_index(path)
    D, I = index.search(q, k)
    out[path] = {'type': type(index).__name__, 'd': index.d, 'ntotal': int(index.ntotal),
                 'metric_type': int(index.metric_type),
                 'labels': [str(int(v)) for v in I.ravel()], 'distances': [float(v) for v in D.ravel()]}
flags = {n: int(getattr(faiss, n)) for n in dir(faiss) if n.startswith('IO_FLAG_')}
print(json.dumps({'indexes': out, 'flags': flags}))
`;

test('Faiss (Python) reads the files simdex writes and finds the same neighbours', (t) => {
  if (!hasFaiss) {
    t.skip(`${PYTHON} cannot import faiss`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'simdex-faiss-py-'));
  try {
    // The golden layouts plus a larger IndexIDMap2 over inner product, built by simdex from seeded data.
    const random = rng(42);
    const n = 3000;
    const x = Float32Array.from({ length: n * 8 }, () => random() * 2 - 1);
    const bigIds = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 1000003n - 5000000000000n);
    const big = new IndexIDMap2(new IndexFlatIP(8));
    big.addWithIds(x, bigIds);
    const indexes: Record<string, Index> = { big };
    for (const e of searchable) indexes[e.name] = buildLikeGolden(e.name);
    const paths: Record<string, string> = {};
    for (const [name, index] of Object.entries(indexes)) {
      paths[name] = join(dir, `${name}.index`);
      writeIndex(index, paths[name]!);
    }
    const qfile = join(dir, 'queries.f32');
    writeFileSync(qfile, queries);
    const k = 12;
    const run = spawnSync(PYTHON, ['-c', PY_READER, '8', String(k), qfile, ...Object.values(paths)], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {
      indexes: Record<string, { type: string; d: number; ntotal: number; metric_type: number; labels: string[]; distances: number[] }>;
      flags: Record<string, number>;
    };
    for (const [name, index] of Object.entries(indexes)) {
      const faiss = result.indexes[paths[name]!]!;
      // Faiss 1.7.3's Python downcast reports IndexFlatL2 / IndexFlatIP objects as "IndexFlat".
      assert.ok([index.typeName, index.typeName.replace(/^IndexFlat(L2|IP)$/, 'IndexFlat')].includes(faiss.type), `${name}: ${faiss.type}`);
      assert.equal(faiss.d, index.d, name);
      assert.equal(faiss.ntotal, index.ntotal, name);
      assert.equal(faiss.metric_type, index.metricType, name);
      assertSameResults(
        index.search(queries, k),
        BigInt64Array.from(faiss.labels, (s) => BigInt(s)),
        Float32Array.from(faiss.distances),
        `Faiss on ${name}`,
      );
    }
    assert.equal(result.flags.IO_FLAG_MMAP, IO_FLAG_MMAP);
    assert.equal(result.flags.IO_FLAG_READ_ONLY, IO_FLAG_READ_ONLY);
    assert.equal(result.flags.IO_FLAG_ONDISK_SAME_DIR, IO_FLAG_ONDISK_SAME_DIR);
    assert.equal(result.flags.IO_FLAG_SKIP_IVF_DATA, IO_FLAG_SKIP_IVF_DATA);
    assert.equal(result.flags.IO_FLAG_SKIP_PRECOMPUTE_TABLE, IO_FLAG_SKIP_PRECOMPUTE_TABLE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (e) Truncated, corrupt and hostile files
// ---------------------------------------------------------------------------------------------------

test('truncated: every prefix of every golden file is a FormatError at an offset inside the prefix', () => {
  for (const e of manifest.indexes) {
    const bytes = goldenBytes(e.file);
    for (let cut = 0; cut < bytes.length; cut++) {
      const err = formatError(() => deserializeIndex(bytes.subarray(0, cut)), `${e.file} cut at ${cut}`);
      assert.equal(err.file, '<bytes>');
      assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= cut, `${e.file} cut at ${cut}: offset ${err.offset}`);
      assert.match(err.message, new RegExp(`at byte offset ${err.offset}`));
      if (cut < 4) assert.equal(err.fourcc, undefined, `${e.file} cut at ${cut}`);
      else assert.ok(e.fourccs.includes(err.fourcc!), `${e.file} cut at ${cut}: fourcc ${err.fourcc}`);
    }
  }
});

test('truncated files on disk: FormatError with the path, the offset and the fourcc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-faiss-cut-'));
  try {
    const bytes = goldenBytes('IDMap2_flatIP.faiss');
    const cases: Array<[number, number, string | undefined, RegExp]> = [
      [0, 0, undefined, /unexpected end of file reading fourcc: 4 bytes needed, 0 left/],
      [12, 8, 'IxM2', /reading ntotal: 8 bytes needed, 4 left/],
      [37 + 45 + 100, 37 + 4 + 33, 'IxFI', /IndexFlat codes claims 400 items of 4 bytes \(1600 bytes\) but only 100 bytes remain/],
      [bytes.length - 1, 37 + 1645, 'IxM2', /IndexIDMap2 id_map claims 50 items of 8 bytes/],
    ];
    for (const [cut, offset, fcc, message] of cases) {
      const path = join(dir, `cut${cut}.index`);
      writeFileSync(path, bytes.subarray(0, cut));
      const err = formatError(() => readIndex(path), `cut at ${cut}`);
      assert.equal(err.file, path);
      assert.equal(err.offset, offset, `cut at ${cut}: ${err.message}`);
      assert.equal(err.fourcc, fcc);
      assert.match(err.message, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown fourcc: FormatError naming it in hex and ASCII, with its offset', () => {
  const bytes = goldenBytes('flatL2.faiss');
  const err = formatError(() => deserializeIndex(patch(bytes, 0, (v) => v.setUint32(0, fourcc('IxZZ'), true))), 'IxZZ');
  assert.equal(err.offset, 0);
  assert.match(err.message, /"IxZZ"/);
  assert.match(err.message, /0x5a5a7849/);
  const binary = formatError(() => deserializeIndex(patch(bytes, 0, (v) => v.setUint32(0, 0x03020100, true))), 'binary');
  assert.match(binary.message, /"\\x00\\x01\\x02\\x03" \(0x03020100\)/);
  // Inside an IndexIDMap: the sub-index's fourcc at offset 37, while reading "IxMp".
  const map = goldenBytes('IDMap_flatL2.faiss');
  const inner = formatError(() => deserializeIndex(patch(map, 37, (v) => v.setUint32(0, fourcc('IwF2'), true))), 'inner');
  assert.equal(inner.offset, 37);
  assert.equal(inner.fourcc, 'IxMp');
  assert.match(inner.message, /"IwF2" \(0x32467749\)/);
  // "null" (Faiss's missing index) where an index is required.
  assert.match(formatError(() => deserializeIndex(patch(bytes, 0, (v) => v.setUint32(0, fourcc('null'), true))), 'null').message, /null index/);
});

test('hostile sizes: ntotal = 10^15, a vector claiming 10^15 items, huge d: FormatError at once, nothing allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const flat = goldenBytes('flatL2.faiss');
  const map = goldenBytes('IDMap_flatL2.faiss');
  const e15 = 10n ** 15n;
  const cases: Array<[string, Uint8Array, number, RegExp]> = [
    ['ntotal 1e15', patch(flat, 8, (v) => v.setBigInt64(0, e15, true)), 37, /IndexFlat codes hold 400 floats, expected ntotal\*d = 1000000000000000\*8/],
    [
      'ntotal 1e15 and codes 8e15',
      patch(patch(flat, 8, (v) => v.setBigInt64(0, e15, true)), 37, (v) => v.setBigUint64(0, e15 * 8n, true)),
      37,
      /claims 8000000000000000 items of 4 bytes .* but only 1600 bytes remain/,
    ],
    ['codes 2^64-1', patch(flat, 37, (v) => v.setBigUint64(0, (1n << 64n) - 1n, true)), 37, /out of range/],
    ['ntotal -1', patch(flat, 8, (v) => v.setBigInt64(0, -1n, true)), 8, /invalid ntotal = -1/],
    ['ntotal 2^62', patch(flat, 8, (v) => v.setBigInt64(0, 1n << 62n, true)), 8, /invalid ntotal/],
    ['d 2^30', patch(flat, 4, (v) => v.setInt32(0, 1 << 30, true)), 4, /invalid dimension d = 1073741824/],
    ['d 0', patch(flat, 4, (v) => v.setInt32(0, 0, true)), 4, /invalid dimension d = 0/],
    ['is_trained 7', patch(flat, 32, (v) => v.setUint8(0, 7)), 32, /invalid bool 7 for is_trained/],
    ['metric_type 9', patch(flat, 33, (v) => v.setInt32(0, 9, true)), 33, /invalid metric_type 9/],
    ['IDMap ntotal 1e15', patch(map, 8, (v) => v.setBigInt64(0, e15, true)), 37, /sub-index IndexFlatL2 has d = 8, ntotal = 50/],
    ['id_map 1e15', patch(map, 37 + 1645, (v) => v.setBigUint64(0, e15, true)), 37 + 1645, /id_map claims 1000000000000000 items of 8 bytes/],
    ['id_map 49', patch(map, 37 + 1645, (v) => v.setBigUint64(0, 49n, true)), 37 + 1645, /id_map holds 49 ids, expected ntotal = 50/],
  ];
  for (const [what, bytes, offset, message] of cases) {
    const err = formatError(() => deserializeIndex(bytes), what);
    assert.equal(err.offset, offset, `${what}: ${err.message}`);
    assert.match(err.message, message, what);
  }
  assert.ok(performance.now() - start < 1000, 'hostile files fail fast');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no large allocation');
});

test('nesting: 60 IndexIDMap headers inside each other fail at depth 50, without a stack overflow', () => {
  const head = goldenBytes('IDMap_flatL2.faiss').subarray(0, 37);
  const bytes = new Uint8Array(head.length * 60);
  for (let i = 0; i < 60; i++) bytes.set(head, i * head.length);
  const err = formatError(() => deserializeIndex(bytes), 'nesting');
  assert.match(err.message, /nested deeper than 50/);
  assert.equal(err.offset, 50 * 37);
});

test('trailing bytes after the index are ignored, as Faiss ignores them', () => {
  const bytes = goldenBytes('flatL2.faiss');
  const longer = new Uint8Array(bytes.length + 3);
  longer.set(bytes);
  assert.equal(deserializeIndex(longer).ntotal, 50);
  // An IOReader positioned on an index leaves its offset after it: two indexes in one buffer.
  const two = new Uint8Array(bytes.length * 2);
  two.set(bytes);
  two.set(goldenBytes('flatIP.faiss').subarray(0, bytes.length), bytes.length);
  const r = IOReader.fromBytes(two);
  assert.equal(readIndex(r).typeName, 'IndexFlatL2');
  assert.equal(r.offset, bytes.length);
  assert.equal(readIndex(r).typeName, 'IndexFlatIP');
  assert.equal(r.remaining, 0);
});

test('fuzz: 200 seeded random byte flips per golden file read or fail with FormatError / InvalidArgumentError only', () => {
  const random = rng(0x5eed);
  let failed = 0;
  let read = 0;
  for (const e of manifest.indexes) {
    const bytes = goldenBytes(e.file);
    for (let m = 0; m < 200; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        // Half of the flips in the first 96 bytes, where the headers and sizes are.
        const span = random() < 0.5 ? Math.min(96, bytes.length) : bytes.length;
        const at = Math.floor(random() * span);
        mutated[at] = mutated[at]! ^ (1 + Math.floor(random() * 255));
      }
      try {
        const index = deserializeIndex(mutated);
        read++;
        assert.ok(index.ntotal >= 0 && index.d >= 1);
        index.dispose();
      } catch (err) {
        if (!(err instanceof FormatError || err instanceof InvalidArgumentError)) {
          assert.fail(`${e.file} mutation ${m}: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
        failed++;
      }
    }
  }
  assert.ok(failed > 100 && read > 100, `both outcomes occur (read ${read}, failed ${failed})`);
});
