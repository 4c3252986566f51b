/**
 * @module test/io.sq
 * IndexScalarQuantizer ("IxSQ") and IndexIVFScalarQuantizer ("IwSq"; the older "IwSQ" / "IvSQ" read
 * only) files (src/io/faiss): files written by Faiss 1.7.3 (test/golden/faiss-1.7.3, manifest.json's
 * "sq", made by scripts/make-faiss-golden.py) are read with their quantizer's fields and Faiss's
 * codes, searched and reconstructed as Faiss did, and written back byte for byte; legacy layouts built
 * from them read the same (and Faiss reads them too); Faiss (Python, when installed) reads the SQ
 * indexes simdex builds and writes; truncated, fuzzed and hostile files fail with FormatError only.
 * Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index, SearchResult } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexIDMap } from '../src/indexes/IndexIDMap.js';
import { IndexScalarQuantizer } from '../src/indexes/IndexScalarQuantizer.js';
import type { SearchParametersIVF } from '../src/indexes/ivf/IndexIVF.js';
import { IndexIVFScalarQuantizer } from '../src/indexes/ivf/IndexIVFScalarQuantizer.js';
import { ArrayInvertedLists } from '../src/invlists/ArrayInvertedLists.js';
import { UnloadedInvertedLists } from '../src/invlists/UnloadedInvertedLists.js';
import { decodeNpy } from '../src/io/npy.js';
import { QuantizerType, RangeStat } from '../src/quantizers/ScalarQuantizer.js';
import {
  BytesIOWriter,
  IO_FLAG_SKIP_IVF_DATA,
  deserializeIndex,
  describeIndex,
  faissFileSize,
  formatIndexDescription,
  fourcc,
  invertedListsBytes,
  readIndex,
  serializeIndex,
  writeDirectMap,
  writeIndex,
  writeIndexHeader,
  writeIndexTo,
  writeScalarQuantizer,
} from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32 } from './helpers/rng.js';

// From dist/test/: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface SqEntry {
  name: string;
  file: string;
  type: 'IndexScalarQuantizer' | 'IndexIVFScalarQuantizer';
  fourccs: string[];
  d: number;
  ntotal: number;
  metric_type: number;
  is_trained: boolean;
  qtype: number;
  qtype_name: string;
  rangestat: number;
  rangestat_arg: number;
  code_size: number;
  trained: number[];
  bytes: number;
  codes: string;
  reconstruct?: string;
  queries?: string;
  labels?: string;
  distances?: string;
  nlist?: number;
  nprobe?: number;
  by_residual?: boolean;
  list_sizes?: number[];
  list_ids?: string;
  search?: Array<{ nprobe: number; labels: string; distances: string }>;
}
interface Manifest {
  faiss_version: string;
  sq: { seed: number; k: number; nq: number; indexes: SqEntry[] };
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;
const K = manifest.sq.k;
const entries = manifest.sq.indexes;
const entry = (name: string): SqEntry => entries.find((e) => e.name === name)!;
const goldenPath = (file: string): string => join(GOLDEN, file);
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(goldenPath(file)));
const isIvf = (e: SqEntry): boolean => e.type === 'IndexIVFScalarQuantizer';

function npy<T>(file: string): T {
  const path = goldenPath(file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
}

/** Faiss's search results of a golden entry: [nprobe (0 for flat), labels, distances] per run. */
function recordedRuns(e: SqEntry): Array<{ nprobe: number; labels: BigInt64Array; distances: Float32Array }> {
  if (e.search !== undefined) return e.search.map((s) => ({ nprobe: s.nprobe, labels: npy<BigInt64Array>(s.labels), distances: npy<Float32Array>(s.distances) }));
  if (e.labels !== undefined) return [{ nprobe: 0, labels: npy<BigInt64Array>(e.labels), distances: npy<Float32Array>(e.distances!) }];
  return [];
}

function searchAt(index: Index, x: Float32Array, k: number, nprobe: number): SearchResult {
  if (nprobe === 0) return index.search(x, k);
  const params: SearchParametersIVF = { nprobe };
  return index.search(x, k, params);
}

/**
 * Compares simdex's results with Faiss's, rank by rank: the distances agree within 1e-4 relative
 * (plus 1e-6 of the row's largest distance, for inner products near 0); where the labels differ it
 * must be a near-tie (simdex's label is in Faiss's row at a distance within that tolerance, or sits
 * at the tie of the last rank). Returns the number of differing labels, for the caller's 1% budget.
 */
function compareSearch(got: SearchResult, labels: BigInt64Array, distances: Float32Array, k: number, what: string): number {
  assert.equal(got.labels.length, labels.length, `${what}: result size`);
  let mismatches = 0;
  for (let i = 0; i * k < labels.length; i++) {
    const row = distances.subarray(i * k, (i + 1) * k);
    // the row's scale, over real results (a -1 label comes with Faiss's +-FLT_MAX distance)
    const scale = Math.max(0, ...Array.from(row, (v, r) => (labels[i * k + r] !== -1n ? Math.abs(v) : 0)));
    const tol = (a: number, b: number): number => 1e-4 * Math.max(Math.abs(a), Math.abs(b)) + 1e-6 * scale + 1e-12;
    const near = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= tol(a, b);
    const faissRow = Array.from(labels.subarray(i * k, (i + 1) * k));
    const mine = Array.from(got.labels.subarray(i * k, (i + 1) * k));
    assert.equal(new Set(mine.filter((l) => l !== -1n)).size, mine.filter((l) => l !== -1n).length, `${what}: query ${i}: duplicate labels`);
    for (let r = 0; r < k; r++) {
      const j = i * k + r;
      assert.ok(near(got.distances[j]!, distances[j]!), `${what}: query ${i} rank ${r}: distance ${got.distances[j]} vs Faiss's ${distances[j]}`);
      if (got.labels[j] === labels[j]) continue;
      mismatches++;
      const at = faissRow.indexOf(got.labels[j]!);
      const tie = at >= 0 ? near(distances[i * k + at]!, got.distances[j]!) : near(got.distances[j]!, row[k - 1]!);
      assert.ok(tie, `${what}: query ${i} rank ${r}: label ${got.labels[j]} vs Faiss's ${labels[j]} is not a near-tie`);
    }
  }
  return mismatches;
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

/**
 * Byte offsets of a golden SQ file's fields (Faiss 1.7.3's layout): the SQ block (`sq`: qtype, then
 * rangestat +4, rangestat_arg +8, d +12, code_size +20, trained's size +28), what follows it (`after`:
 * the codes' size for "IxSQ", code_size then by_residual for "IwSq") and the inverted lists.
 */
function layout(e: SqEntry) {
  const header = 4 + 33; // fourcc, then d, ntotal, 2 dummies, is_trained, metric_type (L2 / IP: no metric_arg)
  let sq = header;
  if (isIvf(e)) {
    const quantizer = header + 16;
    const dm = quantizer + 4 + 33 + 8 + 4 * e.d * (e.is_trained ? e.nlist! : 0);
    sq = dm + 9; // NoMap: type byte + empty array
  }
  const after = sq + 36 + 4 * e.trained.length;
  const invlists = isIvf(e) ? after + 9 : -1;
  return { header, sq, trainedCount: sq + 28, after, invlists, codes: isIvf(e) ? -1 : after };
}

function sqOf(index: Index): IndexScalarQuantizer | IndexIVFScalarQuantizer {
  const inner = index instanceof IndexIDMap ? index.index : index;
  assert.ok(inner instanceof IndexScalarQuantizer || inner instanceof IndexIVFScalarQuantizer, `${inner.typeName} is an SQ index`);
  return inner;
}

/** The codes and ids of an IVF's lists, concatenated in list order. */
function listContents(ivf: IndexIVFScalarQuantizer): { codes: Uint8Array; ids: BigInt64Array } {
  const codes: number[] = [];
  const ids: bigint[] = [];
  for (let l = 0; l < ivf.nlist; l++) {
    if (ivf.invlists.listSize(l) === 0) continue;
    codes.push(...ivf.invlists.getCodes(l));
    ids.push(...ivf.invlists.getIds(l));
  }
  return { codes: Uint8Array.from(codes), ids: BigInt64Array.from(ids) };
}

// ---------------------------------------------------------------------------------------------------
// (a) Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden SQ: manifest and files are present and as described', () => {
  assert.equal(manifest.faiss_version, '1.7.3');
  for (const e of entries) {
    assert.equal(readFileSync(goldenPath(e.file)).length, e.bytes, e.file);
    assert.ok(e.bytes < 12000, `${e.file} is small`);
  }
  const has = (pred: (e: SqEntry) => boolean, what: string): void => assert.ok(entries.some(pred), what);
  for (const q of ['QT_8bit', 'QT_4bit', 'QT_6bit', 'QT_fp16']) has((e) => !isIvf(e) && e.qtype_name === q && e.metric_type === 1, `flat ${q}`);
  has((e) => !isIvf(e) && e.qtype_name === 'QT_8bit' && e.metric_type === 0, 'flat SQ8 with inner product');
  has((e) => isIvf(e) && e.qtype_name === 'QT_8bit' && e.by_residual === true && e.nlist === 16, 'IVF16,SQ8 by residual');
  has((e) => isIvf(e) && e.qtype_name === 'QT_4bit' && e.by_residual === false, 'IVF16,SQ4 without residual');
  has((e) => isIvf(e) && e.qtype_name === 'QT_fp16' && e.metric_type === 0, 'IVF16,SQfp16 inner product');
});

for (const e of entries) {
  test(`golden ${e.file}: ${e.type} ${e.qtype_name}, its quantizer's fields and Faiss's codes`, () => {
    for (const index of [readIndex(goldenPath(e.file)), deserializeIndex(goldenBytes(e.file))]) {
      assert.equal(index.typeName, e.type);
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, e.is_trained);
      const sqi = sqOf(index);
      assert.equal(sqi.sq.qtype, e.qtype);
      assert.equal(sqi.sq.rangestat, e.rangestat);
      assert.equal(sqi.sq.rangestatArg, Math.fround(e.rangestat_arg));
      assert.equal(sqi.sq.codeSize, e.code_size);
      assert.equal(sqi.codeSize, e.code_size);
      assert.deepEqual(sqi.sq.trained, Float32Array.from(e.trained));
      const faissCodes = npy<Uint8Array>(e.codes);
      assert.equal(faissCodes.length, e.ntotal * e.code_size);
      if (sqi instanceof IndexIVFScalarQuantizer) {
        assert.equal(sqi.nlist, e.nlist);
        assert.equal(sqi.nprobe, e.nprobe);
        assert.equal(sqi.byResidual, e.by_residual);
        assert.equal(sqi.quantizer.typeName, e.metric_type === MetricType.L2 ? 'IndexFlatL2' : 'IndexFlatIP');
        assert.equal(sqi.quantizer.ntotal, e.nlist);
        assert.ok(sqi.invlists instanceof ArrayInvertedLists);
        assert.deepEqual(Array.from(sqi.listSizes()), e.list_sizes);
        const { codes, ids } = listContents(sqi);
        assert.deepEqual(codes, faissCodes, 'list codes');
        assert.deepEqual(ids, npy<BigInt64Array>(e.list_ids!), 'list ids');
      } else {
        assert.deepEqual(sqi.codes(), faissCodes, 'codes');
        if (e.ntotal > 0) assert.equal(sqi.segments.length, 1, 'one storage segment, reserved before reading');
      }
      index.dispose();
    }
  });
}

for (const e of entries) {
  test(`golden ${e.file}: Faiss's search results${isIvf(e) ? ` at nprobe ${e.search!.map((s) => s.nprobe).join(' and ')}` : ''}, reconstructN`, () => {
    const index = readIndex(goldenPath(e.file));
    if (e.reconstruct !== undefined) assert.deepEqual(index.reconstructN(0, index.ntotal), npy<Float32Array>(e.reconstruct));
    if (e.queries === undefined) {
      // The untrained file: nothing to search, and search says why.
      assert.equal(e.is_trained, false);
      assert.throws(() => index.search(new Float32Array(e.d), 1), NotTrainedError);
      index.dispose();
      return;
    }
    const queries = npy<Float32Array>(e.queries);
    let labels = 0;
    let mismatches = 0;
    for (const run of recordedRuns(e)) {
      mismatches += compareSearch(searchAt(index, queries, K, run.nprobe), run.labels, run.distances, K, `${e.file} nprobe ${run.nprobe}`);
      labels += run.labels.length;
      if (run.nprobe === e.nprobe) compareSearch(index.search(queries, K), run.labels, run.distances, K, `${e.file} with the file's nprobe`);
    }
    assert.ok(mismatches <= Math.floor(0.01 * labels), `${e.file}: ${mismatches} of ${labels} labels differ from Faiss's`);
    if (index instanceof IndexIVFScalarQuantizer) {
      const rec = npy<Float32Array>(e.reconstruct!);
      const ids = npy<BigInt64Array>(e.list_ids!);
      // reconstruct(key) through a direct map: the row of Faiss's reconstruct_n for that id.
      index.makeDirectMap();
      for (const id of [ids[0]!, ids[ids.length - 1]!, 0n, 199n]) {
        assert.deepEqual(index.reconstruct(id), rec.subarray(Number(id) * e.d, (Number(id) + 1) * e.d), `reconstruct(${id})`);
      }
    }
    index.dispose();
  });
}

for (const e of entries) {
  test(`golden ${e.file}: written back by simdex, byte for byte Faiss's file`, () => {
    const golden = goldenBytes(e.file);
    const index = deserializeIndex(golden);
    assert.deepEqual(serializeIndex(index), golden);
    assert.equal(faissFileSize(index), golden.length);
    assert.equal(describeIndex(index).bytes, golden.length);
    const w = new BytesIOWriter(1);
    writeIndex(index, w);
    assert.deepEqual(w.bytes(), golden);
    // Read in small pieces: codes in several storage segments and chunks, the same bytes and results.
    const pieces = readIndex(goldenPath(e.file), 0, { chunkBytes: 50, flat: { maxSegmentBytes: 4 * e.code_size }, invlists: { maxSegmentBytes: 4096 } });
    if (pieces instanceof IndexScalarQuantizer && e.ntotal > 8) assert.ok(pieces.segments.length > 1, 'several segments');
    assert.deepEqual(serializeIndex(pieces), golden);
    const run = recordedRuns(e).at(-1);
    if (run !== undefined) compareSearch(searchAt(pieces, npy<Float32Array>(e.queries!), K, run.nprobe), run.labels, run.distances, K, `${e.file} in pieces`);
    index.dispose();
    pieces.dispose();
  });
}

test('golden SQ files written to a path: atomically, the same bytes; IndexIDMap around an IndexScalarQuantizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-sq-'));
  try {
    for (const e of [entry('SQ6'), entry('IVF16_SQ4_nores')]) {
      const path = join(dir, e.file);
      writeIndex(readIndex(goldenPath(e.file)), path);
      assert.deepEqual(new Uint8Array(readFileSync(path)), goldenBytes(e.file));
    }
    const e = entry('SQ8');
    const sub = readIndex(goldenPath(e.file)) as IndexScalarQuantizer;
    const ids = BigInt64Array.from({ length: sub.ntotal }, (_, i) => BigInt(i) * 7919n - 5n);
    const map = IndexIDMap.fromParts(sub, ids);
    const bytes = serializeIndex(map);
    assert.equal(bytes.length, faissFileSize(map));
    assert.deepEqual(bytes.subarray(4 + 33, 4 + 33 + e.bytes), goldenBytes(e.file), 'the sub-index inline, as Faiss writes it');
    const back = deserializeIndex(bytes) as IndexIDMap;
    assert.ok(back.index instanceof IndexScalarQuantizer);
    assert.deepEqual(back.idMap, ids);
    assert.deepEqual(serializeIndex(back), bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fresh simdex SQ indexes are written as Faiss writes them: untrained SQ8 is the golden file; untrained IVF and fp16 read back', () => {
  assert.deepEqual(serializeIndex(new IndexScalarQuantizer(16, QuantizerType.QT_8bit)), goldenBytes('SQ8_untrained.faiss'));
  const fp16 = new IndexScalarQuantizer(16, QuantizerType.QT_fp16, MetricType.INNER_PRODUCT);
  assert.equal(fp16.isTrained, true, 'fp16 needs no training (Faiss too)');
  const fp16Back = deserializeIndex(serializeIndex(fp16)) as IndexScalarQuantizer;
  assert.deepEqual([fp16Back.isTrained, fp16Back.sq.qtype, fp16Back.ntotal, fp16Back.metricType], [true, QuantizerType.QT_fp16, 0, MetricType.INNER_PRODUCT]);
  const ivf = new IndexIVFScalarQuantizer(new IndexFlatL2(16), 16, 16, QuantizerType.QT_6bit, MetricType.L2, false);
  const bytes = serializeIndex(ivf);
  assert.equal(bytes.length, faissFileSize(ivf));
  const back = deserializeIndex(bytes) as IndexIVFScalarQuantizer;
  assert.deepEqual([back.isTrained, back.sq.isTrained, back.sq.qtype, back.codeSize, back.byResidual, back.quantizer.ntotal], [false, false, QuantizerType.QT_6bit, 12, false, 0]);
  assert.deepEqual(serializeIndex(back), bytes);
});

test('describeIndex: qtype name, code size, range statistic and byResidual', () => {
  const sq8 = describeIndex(readIndex(goldenPath('SQ8.faiss')));
  assert.equal(sq8.fourcc, 'IxSQ');
  assert.deepEqual(sq8.sq, { qtype: 0, qtypeName: 'QT_8bit', codeSize: 16, rangestat: 'RS_minmax', rangestatArg: 0 });
  assert.equal(formatIndexDescription(sq8), 'IndexScalarQuantizer "IxSQ" d=16 ntotal=120 metric=L2 bytes=2129 qtype=QT_8bit code_size=16');
  const ms = describeIndex(readIndex(goldenPath('SQ4_uniform_meanstd.faiss')));
  assert.match(formatIndexDescription(ms), / qtype=QT_4bit_uniform code_size=8 rangestat=RS_meanstd\(2\.5\)$/);
  for (const e of entries.filter(isIvf)) {
    const desc = describeIndex(readIndex(goldenPath(e.file)));
    assert.equal(desc.fourcc, 'IwSq');
    assert.equal(desc.sq!.qtypeName, e.qtype_name);
    assert.equal(desc.sq!.codeSize, e.code_size);
    assert.equal(desc.sq!.byResidual, e.by_residual);
    assert.equal(desc.ivf!.codeSize, e.code_size);
    const text = formatIndexDescription(desc);
    assert.ok(text.startsWith(`IndexIVFScalarQuantizer "IwSq" d=16 ntotal=200 metric=${e.metric_type === 0 ? 'INNER_PRODUCT' : 'L2'} bytes=${e.bytes} qtype=${e.qtype_name} code_size=${e.code_size} by_residual=${e.by_residual} nlist=16 nprobe=${e.nprobe} `), text);
    assert.equal(desc.children[0]!.type, e.metric_type === 0 ? 'IndexFlatIP' : 'IndexFlatL2');
  }
});

test('IO_FLAG_SKIP_IVF_DATA on an IVFSQ file: structure and list sizes without data, written with "il00"', () => {
  const e = entry('IVF16_SQ8');
  const index = readIndex(goldenPath(e.file), IO_FLAG_SKIP_IVF_DATA) as IndexIVFScalarQuantizer;
  assert.ok(index.invlists instanceof UnloadedInvertedLists);
  assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
  assert.equal(index.ntotal, e.ntotal);
  assert.deepEqual(index.sq.trained, Float32Array.from(e.trained));
  assert.throws(() => index.search(new Float32Array(e.d), 1), NotSupportedError);
  const bytes = serializeIndex(index);
  const L = layout(e);
  assert.deepEqual(bytes.subarray(0, L.invlists), goldenBytes(e.file).subarray(0, L.invlists));
  assert.deepEqual(bytes.subarray(L.invlists), new TextEncoder().encode('il00'));
});

// ---------------------------------------------------------------------------------------------------
// (b) The older layouts: "IwSQ" (no by_residual byte) and "IvSQ" (pre-1.5, ids in the header)
// ---------------------------------------------------------------------------------------------------

/** "IwSQ": an "IwSq" file with the fourcc renamed and its by_residual byte taken out. */
function toIwSQ(golden: Uint8Array): Uint8Array {
  const index = deserializeIndex(golden) as IndexIVFScalarQuantizer;
  const at = golden.length - invertedListsBytes(index.invlists) - 1; // by_residual: the byte before the lists
  assert.ok(golden[at] === 0 || golden[at] === 1);
  const out = new Uint8Array(golden.length - 1);
  out.set(golden.subarray(0, at));
  out.set(golden.subarray(at + 1), at);
  new DataView(out.buffer).setUint32(0, fourcc('IwSQ'), true);
  return out;
}

/**
 * "IvSQ" as Faiss < 1.5 wrote it (and Faiss 1.7.3 still reads it): the header, nlist, nprobe, the
 * quantizer, each list's ids as a vector<int64>, the direct map, the SQ block, size_t code_size, then
 * each list's codes as a vector<uint8>.
 */
function toIvSQ(ivf: IndexIVFScalarQuantizer): Uint8Array {
  const w = new BytesIOWriter();
  w.writeU32(fourcc('IvSQ'));
  writeIndexHeader(w, ivf);
  w.writeU64(ivf.nlist);
  w.writeU64(ivf.nprobe);
  writeIndexTo(w, ivf.quantizer, { chunkBytes: 1 << 20 });
  for (let l = 0; l < ivf.nlist; l++) w.writeBigInt64Vector(ivf.invlists.getIds(l));
  writeDirectMap(w, ivf.directMap);
  writeScalarQuantizer(w, ivf.sq);
  w.writeU64(ivf.codeSize);
  for (let l = 0; l < ivf.nlist; l++) {
    const codes = ivf.invlists.getCodes(l);
    w.writeU64(codes.length);
    w.writeBytes(codes);
  }
  return w.bytes();
}

test('"IwSQ" and "IvSQ": read as IndexIVFScalarQuantizer with by_residual = true, the same lists and results; written back as "IwSq"', (t) => {
  const e = entry('IVF16_SQ8');
  const golden = goldenBytes(e.file);
  const ref = deserializeIndex(golden) as IndexIVFScalarQuantizer;
  const queries = npy<Float32Array>(e.queries!);
  const legacy = { IwSQ: toIwSQ(golden), IvSQ: toIvSQ(ref) };
  assert.equal(legacy.IwSQ.length, golden.length - 1);
  for (const [name, bytes] of Object.entries(legacy)) {
    const index = deserializeIndex(bytes) as IndexIVFScalarQuantizer;
    assert.ok(index instanceof IndexIVFScalarQuantizer, name);
    assert.equal(index.byResidual, true, name);
    assert.equal(index.nprobe, e.nprobe);
    assert.deepEqual(index.sq.trained, ref.sq.trained);
    assert.deepEqual(listContents(index), listContents(ref), `${name}: lists`);
    assert.deepEqual(serializeIndex(index), golden, `${name}: written as Faiss 1.7.3 writes it`);
    for (const run of recordedRuns(e)) assert.equal(compareSearch(searchAt(index, queries, K, run.nprobe), run.labels, run.distances, K, `${name} nprobe ${run.nprobe}`), 0);
    assert.deepEqual(index.reconstructN(0, index.ntotal), npy<Float32Array>(e.reconstruct!));
  }
  // An "IwSQ" file is by residual whatever it was written from (Faiss reads it so).
  const nores = deserializeIndex(toIwSQ(goldenBytes('IVF16_SQ4_nores.faiss'))) as IndexIVFScalarQuantizer;
  assert.equal(nores.byResidual, true);
  // Legacy data checks: a list whose codes disagree with its ids is a FormatError.
  const ivsq = legacy.IvSQ;
  const firstCodes = ivsq.length - (e.ntotal * e.code_size + 8 * e.nlist!); // the first list's codes size
  const err = formatError(() => deserializeIndex(patch(ivsq, firstCodes, (v) => v.setBigUint64(0, 1n, true))), 'IvSQ list codes');
  assert.equal(err.offset, firstCodes);
  assert.match(err.message, new RegExp(`list 0 holds 1 bytes of codes for ${e.list_sizes![0]} ids`));
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss: Faiss reading the legacy layouts is skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'simdex-sq-legacy-'));
  try {
    const paths = Object.entries(legacy).map(([name, bytes]) => {
      const path = join(dir, `${name}.index`);
      writeFileSync(path, bytes);
      return { path, bytes };
    });
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths.map((p) => p.path))}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        "    out['meta%d' % i] = np.array([index.ntotal, index.nlist, index.nprobe, index.by_residual, index.code_size, index.sq.qtype], dtype='int32')",
        "    out['rec%d' % i] = index.reconstruct_n(0, index.ntotal)",
        "    out['bytes%d' % i] = faiss.serialize_index(index)",
        `    index.nprobe = ${e.nlist}`,
        `    D, I = index.search(q, ${K})`,
        "    out['D%d' % i] = D",
        "    out['I%d' % i] = I",
      ].join('\n'),
      { q: { data: queries, shape: [queries.length / e.d, e.d] } },
    );
    const run = recordedRuns(e).find((r) => r.nprobe === e.nlist)!;
    paths.forEach((_, i) => {
      assert.deepEqual(Array.from(out[`meta${i}`] as Int32Array), [e.ntotal, e.nlist, e.nprobe, 1, e.code_size, e.qtype]);
      assert.deepEqual(out[`rec${i}`], npy<Float32Array>(e.reconstruct!));
      assert.deepEqual(out[`bytes${i}`] as unknown as Uint8Array, golden, 'Faiss writes the legacy file back as the "IwSq" golden file');
      assert.deepEqual(out[`I${i}`], run.labels);
      assert.deepEqual(out[`D${i}`], run.distances);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (c) Faiss reads what simdex writes
// ---------------------------------------------------------------------------------------------------

/** n points around c centres (centres drawn from `seed`), with a different scale per dimension. */
function blobs(n: number, d: number, c: number, seed: number, spread = 0.6): Float32Array {
  const r = mulberry32(seed);
  const scale = Array.from({ length: d }, () => 0.3 + 2 * r());
  const centres = Float32Array.from({ length: c * d }, (_, i) => (r() * 4 - 2) * scale[i % d]!);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[k * d + j]! + spread * scale[j]! * (r() + r() - 1);
  }
  return x;
}

test('Faiss (Python) reads SQ files written by simdex (trained by simdex): the same bytes back, fields, reconstruct_n and search', (t) => {
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss');
    return;
  }
  interface Case { name: string; index: Index; queries: Float32Array }
  const cases: Case[] = [];
  const flat = (name: string, d: number, qtype: QuantizerType, metric: MetricType, n: number, seed: number, setup?: (i: IndexScalarQuantizer) => void): void => {
    const index = new IndexScalarQuantizer(d, qtype, metric);
    setup?.(index);
    let x = blobs(n, d, 20, seed);
    let q = blobs(12, d, 20, seed + 1);
    if (qtype === QuantizerType.QT_8bit_direct) {
      x = x.map((v) => Math.floor(Math.abs(v) * 60) % 256);
      q = q.map((v) => Math.floor(Math.abs(v) * 60) % 256);
    }
    index.train(x);
    index.add(x);
    cases.push({ name, index, queries: q });
  };
  flat('SQ8 L2 d=24', 24, QuantizerType.QT_8bit, MetricType.L2, 1500, 1);
  flat('SQ4 IP d=13', 13, QuantizerType.QT_4bit, MetricType.INNER_PRODUCT, 1000, 2);
  flat('SQ6 L2 d=20', 20, QuantizerType.QT_6bit, MetricType.L2, 1000, 3);
  flat('SQfp16 IP d=16', 16, QuantizerType.QT_fp16, MetricType.INNER_PRODUCT, 800, 4);
  flat('SQ8_uniform L2 d=24', 24, QuantizerType.QT_8bit_uniform, MetricType.L2, 800, 5);
  flat('SQ4_uniform RS_meanstd(2) L2 d=24', 24, QuantizerType.QT_4bit_uniform, MetricType.L2, 800, 6, (i) => {
    i.sq.rangestat = RangeStat.RS_meanstd;
    i.sq.rangestatArg = 2;
  });
  flat('SQ8_direct L2 d=12', 12, QuantizerType.QT_8bit_direct, MetricType.L2, 500, 7);
  const ivf = (name: string, nlist: number, qtype: QuantizerType, metric: MetricType, byResidual: boolean, n: number, nprobe: number, seed: number): void => {
    const d = 16;
    const quantizer = metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d);
    const index = new IndexIVFScalarQuantizer(quantizer, d, nlist, qtype, metric, byResidual);
    const x = blobs(2000, d, 30, seed);
    index.train(x);
    index.add(x.subarray(0, n * d));
    index.nprobe = nprobe;
    cases.push({ name, index, queries: blobs(12, d, 30, seed + 1) });
  };
  ivf('IVF16,SQ8 L2 by residual, nprobe 4', 16, QuantizerType.QT_8bit, MetricType.L2, true, 2000, 4, 11);
  ivf('IVF8,SQ4 IP without residual', 8, QuantizerType.QT_4bit, MetricType.INNER_PRODUCT, false, 1500, 1, 12);
  ivf('IVF16,SQfp16 IP by residual, nprobe 2', 16, QuantizerType.QT_fp16, MetricType.INNER_PRODUCT, true, 1000, 2, 13);
  ivf('IVF32,SQ6 L2, 40 vectors ("sprs")', 32, QuantizerType.QT_6bit, MetricType.L2, true, 40, 3, 14);
  {
    const d = 16;
    const x = blobs(1000, d, 30, 15);
    const index = new IndexIDMap(new IndexIVFScalarQuantizer(new IndexFlatL2(d), d, 8, QuantizerType.QT_8bit));
    index.train(x);
    index.addWithIds(x, BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 1000003n - 10n ** 15n));
    cases.push({ name: 'IndexIDMap around IVF8,SQ8', index, queries: blobs(12, d, 30, 16) });
  }
  const k = 10;
  const dir = mkdtempSync(join(tmpdir(), 'simdex-sq-py-'));
  try {
    const paths = cases.map((c, i) => {
      const path = join(dir, `case${i}.index`);
      writeIndex(c.index, path);
      return path;
    });
    const inputs: Record<string, { data: Float32Array; shape: number[] }> = {};
    cases.forEach((c, i) => (inputs[`q${i}`] = { data: c.queries, shape: [c.queries.length / c.index.d, c.index.d] }));
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths)}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        '    q = eval("q%d" % i)',
        "    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index",
        '    is_ivf = isinstance(inner, faiss.IndexIVF)',
        "    out['same%d' % i] = np.array([faiss.serialize_index(index).tobytes() == open(p, 'rb').read()], dtype='int32')",
        "    out['meta%d' % i] = np.array([index.ntotal, inner.sq.qtype, inner.sq.rangestat, inner.sq.code_size, int(inner.by_residual) if is_ivf else -1, inner.nprobe if is_ivf else -1, index.metric_type, int(index.is_trained)], dtype='int32')",
        "    out['arg%d' % i] = np.array([inner.sq.rangestat_arg], dtype='float32')",
        "    out['rec%d' % i] = inner.reconstruct_n(0, inner.ntotal)",
        '    for nprobe in ((1, inner.nlist) if is_ivf else (0,)):',
        '        if is_ivf: inner.nprobe = nprobe',
        `        D, I = index.search(q, ${k})`,
        "        out['D%d_%d' % (i, nprobe)] = D",
        "        out['I%d_%d' % (i, nprobe)] = I",
      ].join('\n'),
      inputs,
    );
    let labels = 0;
    let mismatches = 0;
    cases.forEach((c, i) => {
      const sqi = sqOf(c.index);
      const ivfIndex = sqi instanceof IndexIVFScalarQuantizer ? sqi : undefined;
      assert.equal((out[`same${i}`] as Int32Array)[0], 1, `${c.name}: Faiss writes back simdex's bytes`);
      const meta = [c.index.ntotal, sqi.sq.qtype, sqi.sq.rangestat, sqi.codeSize, ivfIndex ? Number(ivfIndex.byResidual) : -1, ivfIndex ? ivfIndex.nprobe : -1, c.index.metricType, 1];
      assert.deepEqual(Array.from(out[`meta${i}`] as Int32Array), meta, c.name);
      assert.equal((out[`arg${i}`] as Float32Array)[0], sqi.sq.rangestatArg, `${c.name}: rangestat_arg`);
      assert.deepEqual(out[`rec${i}`], sqi.reconstructN(0, sqi.ntotal), `${c.name}: reconstruct_n`);
      for (const nprobe of ivfIndex ? [1, ivfIndex.nlist] : [0]) {
        const I = out[`I${i}_${nprobe}`] as BigInt64Array;
        mismatches += compareSearch(searchAt(c.index, c.queries, k, nprobe), I, out[`D${i}_${nprobe}`] as Float32Array, k, `${c.name} nprobe ${nprobe}`);
        labels += I.length;
      }
    });
    assert.ok(mismatches <= Math.floor(0.01 * labels), `${mismatches} of ${labels} labels differ from Faiss's`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (d) Truncated, fuzzed and hostile files
// ---------------------------------------------------------------------------------------------------

/** Where the structure is: the header, the quantizer's header, the SQ block and what follows it, the list sizes. */
function structure(e: SqEntry): Array<[number, number]> {
  const L = layout(e);
  if (!isIvf(e)) return [[0, L.codes + 8 + 16]];
  return [
    [0, L.header + 16 + 45 + 16],
    [L.sq - 16, L.invlists + 4 + 16 + 4 + 8 + 8 * e.nlist! + 16],
  ];
}

test('truncated: prefixes of every golden SQ file are a FormatError at an offset inside the prefix', () => {
  let cuts = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const dense = structure(e);
    const allowed = new Set([...e.fourccs, 'ilar']);
    for (let cut = 0; cut < bytes.length; cut++) {
      if (!(cut % 7 === 0 || cut === bytes.length - 1 || dense.some(([a, b]) => cut >= a && cut < b))) continue;
      cuts++;
      const err = formatError(() => deserializeIndex(bytes.subarray(0, cut), cut % 5 === 0 ? IO_FLAG_SKIP_IVF_DATA : 0), `${e.file} cut at ${cut}`);
      assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= cut, `${e.file} cut at ${cut}: offset ${err.offset}`);
      if (cut < 4) assert.equal(err.fourcc, undefined);
      else assert.ok(allowed.has(err.fourcc!), `${e.file} cut at ${cut}: fourcc ${err.fourcc}`);
    }
  }
  assert.ok(cuts > 3000, `${cuts} cuts`);
});

test('fuzz: 220 seeded byte flips per golden SQ file read or fail with FormatError / InvalidArgumentError only; what reads, searches and writes', () => {
  const random = mulberry32(0x5eed5c);
  let failed = 0;
  let read = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const zones = structure(e);
    const queries = e.queries !== undefined ? npy<Float32Array>(e.queries) : new Float32Array(e.d);
    for (let m = 0; m < 220; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        const zone = random();
        const [a, b] = zones[Math.floor(random() * zones.length)]!;
        const at = zone < 0.7 ? Math.min(bytes.length - 1, a + Math.floor(random() * (b - a))) : Math.floor(random() * bytes.length);
        mutated[at] = mutated[at]! ^ (1 + Math.floor(random() * 255));
      }
      let index: Index;
      try {
        index = deserializeIndex(mutated, m % 4 === 3 ? IO_FLAG_SKIP_IVF_DATA : 0);
      } catch (err) {
        if (!(err instanceof FormatError || err instanceof InvalidArgumentError)) {
          assert.fail(`${e.file} mutation ${m}: ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`);
        }
        failed++;
        continue;
      }
      read++;
      assert.ok(index.ntotal >= 0 && index.d >= 1);
      try {
        const res = searchAt(index, queries.subarray(0, Math.floor(queries.length / index.d) * index.d), 5, index instanceof IndexIVFScalarQuantizer ? index.nlist : 0);
        assert.equal(res.labels.length, Math.floor(queries.length / index.d) * 5);
      } catch (err) {
        // A flipped is_trained reads as an untrained index; skipped data cannot be searched.
        if (!(err instanceof NotTrainedError || err instanceof NotSupportedError)) {
          assert.fail(`${e.file} mutation ${m}: search: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      }
      // What reads writes back, and that reads again to the same bytes.
      const again = serializeIndex(index);
      assert.deepEqual(serializeIndex(deserializeIndex(again)), again, `${e.file} mutation ${m}: round trip`);
      index.dispose();
    }
  }
  assert.ok(failed > 600 && read > 300, `both outcomes occur (read ${read}, failed ${failed})`);
});

test('hostile SQ blocks: unknown qtype / rangestat, wrong d, code_size, trained and code counts fail fast with FormatError at their offset', () => {
  const start = performance.now();
  const e15 = 10n ** 15n;
  const sq8 = entry('SQ8');
  const S = layout(sq8);
  const sqBytes = goldenBytes(sq8.file);
  const check = (bytes: Uint8Array, offset: number, message: RegExp, what: string): void => {
    const err = formatError(() => deserializeIndex(bytes), what);
    assert.equal(err.offset, offset, `${what}: offset (${err.message})`);
    assert.match(err.message, message, what);
  };
  const i32 = (at: number, v: number) => patch(sqBytes, at, (dv) => dv.setInt32(0, v, true));
  const u64 = (at: number, v: bigint) => patch(sqBytes, at, (dv) => dv.setBigUint64(0, v, true));
  check(i32(S.sq, 7), S.sq, /qtype 7 = QT_bf16 \(Faiss >= 1\.9\) is not supported/, 'qtype 7');
  check(i32(S.sq, 8), S.sq, /QT_8bit_direct_signed/, 'qtype 8');
  for (const q of [-1, 9, 1 << 30]) check(i32(S.sq, q), S.sq, new RegExp(`invalid ScalarQuantizer qtype ${q} \\(expected 0 QT_8bit`), `qtype ${q}`);
  for (const rs of [-1, 4]) check(i32(S.sq + 4, rs), S.sq + 4, new RegExp(`invalid ScalarQuantizer rangestat ${rs}`), `rangestat ${rs}`);
  check(u64(S.sq + 12, 17n), S.sq + 12, /the ScalarQuantizer has d = 17, but IndexScalarQuantizer has d = 16/, 'SQ d');
  check(u64(S.sq + 20, 15n), S.sq + 20, /code_size = 15, but QT_8bit with d = 16 has code_size 16/, 'SQ code_size');
  // Another qtype of the same code size: its trained vector has another length.
  check(i32(S.sq, QuantizerType.QT_8bit_uniform), S.trainedCount, /holds 32 floats, expected 2 for QT_8bit_uniform with d = 16/, 'qtype 8bit_uniform');
  check(u64(S.trainedCount, e15), S.trainedCount, /ScalarQuantizer trained claims 1000000000000000 items/, 'trained count 10^15');
  check(u64(S.trainedCount, 31n), S.trainedCount, /trained vector holds 31 floats, expected 32 for QT_8bit with d = 16/, 'trained count 31');
  check(u64(S.codes, e15), S.codes, /IndexScalarQuantizer codes claims 1000000000000000 items/, 'codes count 10^15');
  check(u64(S.codes, 1919n), S.codes, /codes hold 1919 bytes, expected ntotal\*code_size = 120\*16 = 1920/, 'codes count - 1');
  check(patch(sqBytes, 8, (dv) => dv.setBigInt64(0, e15, true)), S.codes, /expected ntotal\*code_size = 1000000000000000\*16/, 'ntotal 10^15');
  // A file marked untrained keeps its trained values (search says it is not trained); a file marked
  // trained without them is corrupt.
  const untrained = deserializeIndex(patch(sqBytes, 4 + 28, (dv) => dv.setUint8(0, 0))) as IndexScalarQuantizer;
  assert.equal(untrained.isTrained, false);
  assert.throws(() => untrained.search(new Float32Array(16), 1), NotTrainedError);
  const emptyBytes = goldenBytes('SQ8_untrained.faiss');
  check(patch(emptyBytes, 4 + 28, (dv) => dv.setUint8(0, 1)), layout(entry('SQ8_untrained')).trainedCount, /holds 0 floats, expected 32 .*\(or 0 in an index that is not trained\)/, 'trained flag without trained values');
  const fp16 = entry('SQfp16');
  check(patch(goldenBytes(fp16.file), layout(fp16).trainedCount, (dv) => dv.setBigUint64(0, 2n, true)), layout(fp16).trainedCount, /holds 2 floats, expected 0 for QT_fp16/, 'fp16 with trained values');
  // IVF: code_size after the block, by_residual.
  const ivfE = entry('IVF16_SQ8');
  const V = layout(ivfE);
  const ivfBytes = goldenBytes(ivfE.file);
  check(patch(ivfBytes, V.after, (dv) => dv.setBigUint64(0, 17n, true)), V.after, /IndexIVFScalarQuantizer has code_size = 17, but its ScalarQuantizer has code_size 16/, 'IVF code_size');
  check(patch(ivfBytes, V.after + 8, (dv) => dv.setUint8(0, 2)), V.after + 8, /invalid bool 2 for by_residual/, 'by_residual 2');
  check(patch(ivfBytes, V.sq + 12, (dv) => dv.setBigUint64(0, e15, true)), V.sq + 12, /the ScalarQuantizer has d = 1000000000000000, but IndexIVFScalarQuantizer has d = 16/, 'IVF SQ d');
  check(patch(ivfBytes, V.invlists + 12, (dv) => dv.setBigUint64(0, 8n, true)), V.invlists + 12, /inverted lists have code_size = 8, but the IVF index has code_size = 16/, 'lists code_size');
  const err = formatError(() => deserializeIndex(patch(ivfBytes, V.sq, (dv) => dv.setInt32(0, 42, true))), 'IVF qtype 42');
  assert.equal(err.fourcc, 'IwSq');
  assert.match(err.message, /^<bytes>: invalid ScalarQuantizer qtype 42 .*\(at byte offset \d+, in IwSq\)$/);
  assert.ok(performance.now() - start < 5000, 'fast');
});
