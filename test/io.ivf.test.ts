/**
 * @module test/io.ivf
 * IndexIVFFlat files (src/io/faiss, "IwFl" with "ilar" / "il00" inverted lists): files written by
 * Faiss 1.7.3 (test/golden/faiss-1.7.3, manifest.json's "ivf", made by scripts/make-faiss-golden.py)
 * are read with their structure, searched as Faiss searched them at nprobe 1 and nprobe = nlist, and
 * written back byte for byte; the legacy "IvFl" / "IvFL" layouts are read; Faiss (Python, when
 * installed) reads what simdex writes, including RVC's workflow on its real 256-d features; flags;
 * truncated, fuzzed and hostile files fail with FormatError only. Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index, SearchResult } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexIDMap } from '../src/indexes/IndexIDMap.js';
import { IndexIVF, type SearchParametersIVF } from '../src/indexes/ivf/IndexIVF.js';
import { IndexIVFFlat } from '../src/indexes/ivf/IndexIVFFlat.js';
import { ArrayInvertedLists } from '../src/invlists/ArrayInvertedLists.js';
import { DirectMapType } from '../src/invlists/DirectMap.js';
import { UnloadedInvertedLists } from '../src/invlists/UnloadedInvertedLists.js';
import { decodeNpy } from '../src/io/npy.js';
import { readVectors } from '../src/io/vectorFiles.js';
import {
  BytesIOWriter,
  IO_FLAG_MMAP,
  IO_FLAG_ONDISK_SAME_DIR,
  IO_FLAG_READ_ONLY,
  IO_FLAG_SKIP_IVF_DATA,
  MAX_NLIST,
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
} from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32 } from './helpers/rng.js';

// From dist/test/: the repository root is two levels up, shared/ is next to the repository.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const RVC_FEATURES = join(SHARED, 'datasets', 'rvc-mute-features', '3_feature256_mute.npy');

interface IvfEntry {
  name: string;
  file: string;
  type: string;
  fourccs: string[];
  d: number;
  ntotal: number;
  metric_type: number;
  is_trained: boolean;
  nlist: number;
  nprobe: number;
  direct_map: number;
  bytes: number;
  invlists: 'ilar' | 'il00';
  list_sizes?: number[];
  list_type?: 'full' | 'sprs';
  ids?: string;
  queries?: string;
  search?: Array<{ nprobe: number; labels: string; distances: string }>;
  reconstruct?: string;
  reconstruct_ids?: string;
}
interface Manifest {
  faiss_version: string;
  ivf: { seed: number; k: number; nq: number; indexes: IvfEntry[] };
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;
const K = manifest.ivf.k;
const entries = manifest.ivf.indexes;
const entry = (name: string): IvfEntry => entries.find((e) => e.name === name)!;
const goldenPath = (file: string): string => join(GOLDEN, file);
const goldenBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(goldenPath(file)));

function npy<T>(file: string): T {
  const path = goldenPath(file);
  return decodeNpy(new Uint8Array(readFileSync(path)), path).data as T;
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

/**
 * Same neighbours up to near-ties, for vectors with duplicates and large norms: rank by rank, the
 * distances agree within `tol` (an absolute margin per query), and where the labels differ, both
 * are within `tol` of each other from the query (computed exactly, in float64, from `base`).
 */
function assertSameUpToTies(
  got: SearchResult,
  labels: BigInt64Array,
  distances: Float32Array,
  queries: Float32Array,
  base: Float32Array,
  d: number,
  k: number,
  what: string,
  tol: (query: number) => number,
): void {
  assert.equal(got.labels.length, labels.length, `${what}: result size`);
  const exact = (i: number, label: bigint): number => {
    let s = 0;
    for (let c = 0; c < d; c++) s += (queries[i * d + c]! - base[Number(label) * d + c]!) ** 2;
    return s;
  };
  for (let j = 0; j < labels.length; j++) {
    const i = Math.floor(j / k);
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= tol(i);
    assert.ok(near(got.distances[j]!, distances[j]!), `${what}: query ${i} rank ${j % k}: distance ${got.distances[j]} vs ${distances[j]}`);
    if (got.labels[j] === labels[j]) continue;
    const a = exact(i, got.labels[j]!);
    const b = exact(i, labels[j]!);
    assert.ok(near(a, b), `${what}: query ${i} rank ${j % k}: ${got.labels[j]} (at ${a}) vs ${labels[j]} (at ${b}) are not tied`);
  }
  for (let i = 0; i * k < labels.length; i++) {
    const row = Array.from(got.labels.subarray(i * k, (i + 1) * k), String);
    assert.equal(new Set(row).size, row.length, `${what}: query ${i}: duplicate labels`);
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

/** index.search at the given nprobe (IndexIVF's SearchParametersIVF, passed through IndexIDMap). */
function searchAt(index: Index, x: Float32Array, k: number, nprobe: number): SearchResult {
  const params: SearchParametersIVF = { nprobe };
  return index.search(x, k, params);
}

/** The IVF index of a file's index: itself, or the one inside an IndexIDMap. */
function ivfOf(index: Index): IndexIVFFlat {
  const ivf = index instanceof IndexIDMap ? index.index : index;
  assert.ok(ivf instanceof IndexIVFFlat, `${ivf.typeName} is an IndexIVFFlat`);
  return ivf;
}

/** Byte offsets of the fields of a golden IVF file (Faiss 1.7.3's layout; see io/faiss/invlists). */
function layout(e: IvfEntry) {
  const at = e.type === 'IndexIDMap' ? 37 : 0; // the IVF inside "IxMp" starts after its header
  const nlist = at + 4 + 33;
  const quantizer = nlist + 16;
  const dm = quantizer + 4 + 33 + 8 + 4 * e.d * (e.is_trained ? e.nlist : 0);
  const dmBytes = 1 + 8 + (e.direct_map === 1 ? 8 * e.ntotal : 0) + (e.direct_map === 2 ? 8 + 16 * e.ntotal : 0);
  const invlists = dm + dmBytes;
  const sizes = invlists + 4 + 8 + 8 + 4 + 8; // after fourcc, nlist, code_size, list_type, the vector's size
  return { ivf: at, ntotal: at + 8, nlist, nprobe: nlist + 8, quantizer, dm, invlists, listType: invlists + 20, sizesCount: sizes - 8, sizes };
}

const searched = entries.filter((e) => e.search !== undefined);

// ---------------------------------------------------------------------------------------------------
// (a) Files written by Faiss 1.7.3
// ---------------------------------------------------------------------------------------------------

test('golden IVF: manifest and files are present and as described', () => {
  assert.equal(manifest.faiss_version, '1.7.3');
  assert.ok(entries.length >= 10);
  for (const e of entries) assert.equal(readFileSync(goldenPath(e.file)).length, e.bytes, e.file);
  assert.ok(entries.some((e) => e.file === 'added_IVF16_Flat_nprobe_1_test_v2.index' && e.d === 256 && e.nlist === 16));
  assert.ok(entries.some((e) => e.list_type === 'full' && e.list_sizes!.includes(0)), 'a "full" file with an empty list');
  assert.ok(entries.some((e) => e.list_type === 'sprs' && e.ntotal > 0), 'a "sprs" file');
});

for (const e of entries) {
  test(`golden ${e.file}: ${e.type} with nlist=${e.nlist}, nprobe=${e.nprobe}, list sizes, direct map`, () => {
    for (const index of [readIndex(goldenPath(e.file)), deserializeIndex(goldenBytes(e.file))]) {
      assert.equal(index.typeName, e.type);
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, e.is_trained);
      const ivf = ivfOf(index);
      assert.equal(ivf.nlist, e.nlist);
      assert.equal(ivf.nprobe, e.nprobe);
      assert.equal(ivf.ntotal, e.ntotal);
      assert.equal(ivf.codeSize, 4 * e.d);
      assert.equal(ivf.directMap.type, e.direct_map);
      assert.equal(ivf.quantizer.typeName, e.metric_type === MetricType.L2 ? 'IndexFlatL2' : 'IndexFlatIP');
      assert.equal(ivf.quantizer.ntotal, e.is_trained ? e.nlist : 0);
      if (e.invlists === 'il00') {
        assert.ok(ivf.invlists instanceof UnloadedInvertedLists);
        assert.equal(ivf.invlists.sizesKnown, false);
      } else {
        assert.ok(ivf.invlists instanceof ArrayInvertedLists);
        assert.deepEqual(Array.from(ivf.listSizes()), e.list_sizes);
        // One storage segment holds all the lists (prepareAdd sized it before reading).
        if (e.ntotal > 0) assert.equal(ivf.invlists.arena.segments.length, 1);
      }
      index.dispose();
    }
  });
}

for (const e of searched) {
  test(`golden ${e.file}: Faiss's search results at nprobe ${e.search!.map((s) => s.nprobe).join(' and ')}, reconstructN`, () => {
    const index = readIndex(goldenPath(e.file));
    const queries = npy<Float32Array>(e.queries!);
    for (const s of e.search!) {
      const labels = npy<BigInt64Array>(s.labels);
      const distances = npy<Float32Array>(s.distances);
      assertSameResults(searchAt(index, queries, K, s.nprobe), labels, distances, `${e.file} nprobe ${s.nprobe}`);
      if (s.nprobe === e.nprobe) assertSameResults(index.search(queries, K), labels, distances, `${e.file} with the file's nprobe`);
      if (e.ntotal === 0) assert.ok(labels.every((l) => l === -1n));
    }
    const ivf = ivfOf(index);
    if (e.reconstruct !== undefined) {
      const expected = npy<Float32Array>(e.reconstruct);
      assert.equal(expected.length, e.ntotal * e.d);
      assert.deepEqual(ivf.reconstructN(0, ivf.ntotal), expected);
    }
    if (e.direct_map === DirectMapType.Array) {
      const expected = npy<Float32Array>(e.reconstruct!);
      for (const i of [0, 1, 150, e.ntotal - 1]) assert.deepEqual(ivf.reconstruct(i), expected.subarray(i * e.d, (i + 1) * e.d), `reconstruct(${i})`);
    }
    if (e.reconstruct_ids !== undefined) {
      const ids = npy<BigInt64Array>(e.ids!);
      const expected = npy<Float32Array>(e.reconstruct_ids);
      for (let i = 0; i < e.ntotal; i++) assert.deepEqual(ivf.reconstruct(ids[i]!), expected.subarray(i * e.d, (i + 1) * e.d), `reconstruct(${ids[i]})`);
    }
    if (index instanceof IndexIDMap) assert.deepEqual(Array.from(index.idMap), Array.from(npy<BigInt64Array>(e.ids!).subarray(0, e.ntotal)));
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
    // Read in small pieces: several storage segments, the same index and bytes.
    const largest = Math.max(0, ...(e.list_sizes ?? [])) * (4 * e.d + 8);
    const pieces = readIndex(goldenPath(e.file), 0, { invlists: { maxSegmentBytes: Math.max(4096, 2 * largest + 64) }, chunkBytes: 64 });
    if (e.bytes > 1 << 20) assert.ok(ivfOf(pieces).invlists instanceof ArrayInvertedLists && (ivfOf(pieces).invlists as ArrayInvertedLists).arena.segments.length > 1);
    assert.deepEqual(serializeIndex(pieces), golden);
    if (e.search !== undefined && e.ntotal > 0) {
      const queries = npy<Float32Array>(e.queries!);
      const s = e.search[e.search.length - 1]!;
      assertSameResults(searchAt(pieces, queries, K, s.nprobe), npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), `${e.file} in pieces`);
    }
  });
}

test('golden RVC file: written to a path atomically, the same bytes; describeIndex gives nlist, nprobe, list statistics', () => {
  const e = entry('rvc');
  const dir = mkdtempSync(join(tmpdir(), 'simdex-ivf-'));
  try {
    const index = readIndex(goldenPath(e.file));
    const path = join(dir, e.file);
    writeIndex(index, path);
    assert.deepEqual(readdirSync(dir), [e.file]);
    assert.deepEqual(new Uint8Array(readFileSync(path)), goldenBytes(e.file));
    const desc = describeIndex(index);
    const sizes = e.list_sizes!;
    const imbalance = (sizes.reduce((s, v) => s + v * v, 0) * e.nlist) / e.ntotal ** 2;
    assert.deepEqual(desc.ivf, {
      nlist: 16,
      nprobe: 1,
      codeSize: 1024,
      directMap: 'NoMap',
      listsLoaded: true,
      lists: { min: Math.min(...sizes), max: Math.max(...sizes), mean: 125, empty: 0, imbalance },
    });
    assert.equal(desc.children.length, 1);
    assert.equal(desc.children[0]!.type, 'IndexFlatL2');
    assert.equal(desc.children[0]!.ntotal, 16);
    assert.equal(desc.children[0]!.ivf, undefined);
    const text = formatIndexDescription(desc).split('\n');
    assert.equal(
      text[0],
      `IndexIVFFlat "IwFl" d=256 ntotal=2000 metric=L2 bytes=${e.bytes} nlist=16 nprobe=1 ` +
        `lists=${Math.min(...sizes)}..${Math.max(...sizes)} (mean 125, 0 empty, imbalance ${Math.round(imbalance * 100) / 100})`,
    );
    assert.equal(text[1], '  IndexFlatL2 "IxF2" d=256 ntotal=16 metric=L2 bytes=16429');
    const dm = formatIndexDescription(describeIndex(readIndex(goldenPath(entry('ivf_directmap').file))));
    assert.match(dm, /directmap=Array/);
    const sparse = describeIndex(readIndex(goldenPath(entry('ivf_sparse').file)));
    assert.equal(sparse.ivf!.lists!.empty, 5);
    assert.match(formatIndexDescription(describeIndex(readIndex(goldenPath(entry('ivf_nullinvlists').file)))), /lists=unknown \(lists not loaded\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('golden "il00" file: ntotal kept, no lists: search, reconstruct and add are NotSupportedError; reset() then new lists make it usable', () => {
  const e = entry('ivf_nullinvlists');
  const index = readIndex(goldenPath(e.file)) as IndexIVFFlat;
  assert.equal(index.ntotal, 300);
  const q = npy<Float32Array>('ivf_queries16.npy');
  assert.throws(() => index.search(q, 5), NotSupportedError);
  assert.throws(() => index.reconstructN(0, 1), NotSupportedError);
  assert.throws(() => index.add(q), NotSupportedError);
  assert.throws(() => index.search(q, 5), /not loaded \(the file stores none: "il00"\)/);
  index.reset();
  index.invlists = new ArrayInvertedLists(index.nlist, index.codeSize);
  const base = npy<Float32Array>('ivf_base16.npy');
  index.add(base.subarray(0, 300 * 16));
  // The same quantizer and vectors as ivf_directmap.faiss (without its direct map): the same results.
  const dm = entry('ivf_directmap');
  const s = dm.search![1]!;
  assertSameResults(index.search(q, K, { nprobe: s.nprobe }), npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), 'il00 index refilled');
});

// ---------------------------------------------------------------------------------------------------
// (b) Flags
// ---------------------------------------------------------------------------------------------------

test('IO_FLAG_SKIP_IVF_DATA: structure, ntotal and list sizes without the data; search fails clearly; written with "il00"', () => {
  const e = entry('rvc');
  const golden = goldenBytes(e.file);
  const index = readIndex(goldenPath(e.file), IO_FLAG_SKIP_IVF_DATA) as IndexIVFFlat;
  assert.equal(index.ntotal, 2000);
  assert.equal(index.nlist, 16);
  assert.equal(index.quantizer.ntotal, 16);
  assert.ok(index.invlists instanceof UnloadedInvertedLists);
  assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
  const q = npy<Float32Array>(e.queries!);
  assert.throws(() => index.search(q, 5), /searching is not supported by inverted lists that were not loaded \(read with IO_FLAG_SKIP_IVF_DATA\)/);
  assert.throws(() => index.reconstructN(0, 10), NotSupportedError);
  assert.throws(() => index.add(q), NotSupportedError);
  assert.throws(() => index.rangeSearch(q, 1), NotSupportedError);
  const desc = describeIndex(index);
  assert.equal(desc.ivf!.listsLoaded, false);
  assert.equal(desc.ivf!.lists!.max, Math.max(...e.list_sizes!));
  // Written as Faiss writes an IVF without lists: the same bytes up to the lists, then "il00".
  const bytes = serializeIndex(index);
  const at = layout(e).invlists;
  assert.equal(bytes.length, at + 4);
  assert.deepEqual(bytes.subarray(0, at), golden.subarray(0, at));
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset + at).getUint32(0, true), fourcc('il00'));
  assert.equal(faissFileSize(index), at + 4);
  // The quantizer is whole: reset() and new lists, then adding the same vectors gives Faiss's results.
  index.reset();
  assert.equal(index.ntotal, 0);
  index.invlists = new ArrayInvertedLists(index.nlist, index.codeSize);
  index.add(npy<Float32Array>(e.reconstruct!));
  assert.deepEqual(serializeIndex(index), golden);
  // Inside an IndexIDMap; on a truncated file the skipped data are still checked.
  const map = readIndex(goldenPath(entry('IDMap_ivf').file), IO_FLAG_SKIP_IVF_DATA);
  assert.equal(map.ntotal, 300);
  assert.ok(ivfOf(map).invlists instanceof UnloadedInvertedLists);
  map.dispose();
  const cut = formatError(() => deserializeIndex(golden.subarray(0, golden.length - 1), IO_FLAG_SKIP_IVF_DATA), 'skip on a truncated file');
  assert.match(cut.message, /inverted lists claim 2000 entries of 1024 \+ 8 bytes \(2064000 bytes\) but only 2063999 bytes remain/);
  const cutLater = new Uint8Array(golden.length + 10);
  cutLater.set(golden);
  assert.equal(deserializeIndex(cutLater, IO_FLAG_SKIP_IVF_DATA).ntotal, 2000); // trailing bytes are ignored, as ever
});

test('IO_FLAG_MMAP, IO_FLAG_READ_ONLY, IO_FLAG_ONDISK_SAME_DIR: accepted, the lists are read into memory', () => {
  const e = entry('ivf_IP');
  const golden = goldenBytes(e.file);
  const queries = npy<Float32Array>(e.queries!);
  const s = e.search![0]!;
  for (const flags of [IO_FLAG_MMAP, IO_FLAG_READ_ONLY, IO_FLAG_MMAP | IO_FLAG_READ_ONLY, IO_FLAG_ONDISK_SAME_DIR]) {
    for (const index of [readIndex(goldenPath(e.file), flags), deserializeIndex(golden, flags)]) {
      assert.ok(ivfOf(index).invlists instanceof ArrayInvertedLists, `flags ${flags}`);
      assertSameResults(searchAt(index, queries, K, s.nprobe), npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), `flags ${flags}`);
      assert.deepEqual(serializeIndex(index), golden);
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// (c) The legacy layouts "IvFl" and "IvFL"
// ---------------------------------------------------------------------------------------------------

/** `index` in Faiss's pre-1.5 layout: ids of every list, the direct map, then every list's codes as floats or bytes. */
function legacyBytes(index: IndexIVFFlat, code: 'IvFl' | 'IvFL'): Uint8Array {
  const w = new BytesIOWriter();
  w.writeU32(fourcc(code));
  writeIndexHeader(w, index);
  w.writeU64(index.nlist);
  w.writeU64(index.nprobe);
  writeIndexTo(w, index.quantizer, { chunkBytes: 1 << 20 });
  for (let l = 0; l < index.nlist; l++) w.writeBigInt64Vector(index.invlists.getIds(l));
  writeDirectMap(w, index.directMap);
  for (let l = 0; l < index.nlist; l++) {
    const codes = index.invlists.getCodes(l);
    w.writeU64(code === 'IvFl' ? codes.length / 4 : codes.length);
    w.writeBytes(codes);
  }
  return w.bytes().slice();
}

test('legacy "IvFl" (codes as floats) and "IvFL" (codes as bytes): read as IndexIVFFlat, written back as Faiss writes them ("IwFl")', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-ivf-legacy-'));
  try {
    const files: string[] = [];
    for (const name of ['ivf_directmap', 'ivf_sparse', 'ivf_0vectors']) {
      const e = entry(name);
      const golden = goldenBytes(e.file);
      const queries = npy<Float32Array>(e.queries!);
      for (const code of ['IvFl', 'IvFL'] as const) {
        const bytes = legacyBytes(deserializeIndex(golden) as IndexIVFFlat, code);
        const index = deserializeIndex(bytes) as IndexIVFFlat;
        assert.equal(index.typeName, 'IndexIVFFlat');
        assert.deepEqual(Array.from(index.listSizes()), e.list_sizes);
        assert.equal(index.directMap.type, e.direct_map);
        for (const s of e.search!) {
          assertSameResults(searchAt(index, queries, K, s.nprobe), npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), `${code} ${name}`);
        }
        assert.deepEqual(serializeIndex(index), golden);
        // A list whose codes do not match its ids is a FormatError: list 0's codes claim one item more.
        if (e.ntotal > 0) {
          let codesBytes = 0;
          for (let l = 0; l < index.nlist; l++) codesBytes += 8 + index.invlists.listSize(l) * 4 * e.d;
          const at = bytes.length - codesBytes;
          const items = (index.invlists.listSize(0) * 4 * e.d) / (code === 'IvFl' ? 4 : 1) + 1;
          const bad = patch(bytes, at, (v) => v.setBigUint64(0, BigInt(items), true));
          const err = formatError(() => deserializeIndex(bad), `${code} bad codes`);
          assert.match(err.message, new RegExp(`list 0 holds ${items * (code === 'IvFl' ? 4 : 1)} bytes of codes for ${index.invlists.listSize(0)} ids`));
          assert.equal(err.offset, at);
          assert.equal(err.fourcc, code);
        }
        const path = join(dir, `${code}_${name}.index`);
        writeFileSync(path, bytes);
        files.push(path);
      }
    }
    if (!faissAvailable()) {
      t.skip('/usr/bin/python3 cannot import faiss');
      return;
    }
    // Faiss 1.7.3 reads these files too, and writes them back as the golden "IwFl" files.
    const goldens = files.map((path) => goldenPath(entry(path.replace(/^.*Iv(Fl|FL)_(.*)\.index$/, '$2')).file));
    const out = runFaiss(
      [
        `paths, goldens = ${JSON.stringify(files)}, ${JSON.stringify(goldens)}`,
        'for i, (p, g) in enumerate(zip(paths, goldens)):',
        "    out['same%d' % i] = np.array([faiss.serialize_index(faiss.read_index(p)).tobytes() == open(g, 'rb').read()], dtype='int32')",
      ].join('\n'),
      {},
    );
    files.forEach((path, i) => assert.equal((out[`same${i}`] as Int32Array)[0], 1, `Faiss on ${path} writes ${goldens[i]}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (d) Faiss reads what simdex writes
// ---------------------------------------------------------------------------------------------------

/** n points around c centres (centres drawn from `seed`), uniform noise of width `spread`. */
function blobs(n: number, d: number, c: number, seed: number, spread = 0.5): Float32Array {
  const r = mulberry32(seed);
  const centres = Float32Array.from({ length: c * d }, () => r() * 4 - 2);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[k * d + j]! + spread * (r() + r() - 1);
  }
  return x;
}

test('Faiss (Python) reads IVFFlat files written by simdex (trained by simdex): the same bytes back, search and reconstruct_n', (t) => {
  if (!faissAvailable()) {
    t.skip('/usr/bin/python3 cannot import faiss');
    return;
  }
  const d = 24;
  const r = mulberry32(99);
  const x = blobs(3000, d, 40, 1);
  const q = blobs(20, d, 40, 2);
  const ids = BigInt64Array.from({ length: 3000 }, (_, i) => BigInt(i) * 1000003n - 7n * 10n ** 15n + BigInt(Math.floor(r() * 1000)));
  const make = (nlist: number, metric: MetricType = MetricType.L2): IndexIVFFlat =>
    new IndexIVFFlat(metric === MetricType.L2 ? new IndexFlatL2(d) : new IndexFlatIP(d), d, nlist, metric);
  const cases: Array<{ name: string; index: Index; reconstruct: boolean; sameBytes: boolean }> = [];
  {
    const index = make(32);
    index.train(x);
    index.add(x);
    index.nprobe = 4;
    cases.push({ name: 'L2 IVF32 nprobe 4', index, reconstruct: true, sameBytes: true });
  }
  {
    const index = make(16, MetricType.INNER_PRODUCT);
    index.train(x);
    index.add(x.subarray(0, 2000 * d));
    cases.push({ name: 'IP IVF16', index, reconstruct: true, sameBytes: true });
  }
  {
    const index = make(16);
    index.train(x);
    index.add(x.subarray(0, 1500 * d));
    index.makeDirectMap();
    cases.push({ name: 'direct map Array', index, reconstruct: true, sameBytes: true });
  }
  {
    const index = make(8);
    index.train(x);
    index.setDirectMapType(DirectMapType.Hashtable);
    index.addWithIds(x.subarray(0, 500 * d), ids.subarray(0, 500));
    // Faiss rewrites its unordered_map in its own hash order: compare the search, not the bytes.
    cases.push({ name: 'direct map Hashtable', index, reconstruct: false, sameBytes: false });
  }
  {
    const index = new IndexIDMap(make(16));
    index.train(x);
    index.addWithIds(x.subarray(0, 1000 * d), ids.subarray(0, 1000));
    cases.push({ name: 'IndexIDMap around IVF16', index, reconstruct: true, sameBytes: true });
  }
  {
    // 64 lists for 40 vectors: most lists empty, written with "sprs" sizes.
    const index = make(64);
    index.train(x);
    index.add(x.subarray(0, 40 * d));
    cases.push({ name: 'IVF64 with 40 vectors ("sprs")', index, reconstruct: true, sameBytes: true });
  }
  const dir = mkdtempSync(join(tmpdir(), 'simdex-ivf-py-'));
  try {
    const paths = cases.map((c, i) => {
      const path = join(dir, `case${i}.index`);
      writeIndex(c.index, path);
      return path;
    });
    const k = 15;
    const out = runFaiss(
      [
        `paths = ${JSON.stringify(paths)}`,
        'for i, p in enumerate(paths):',
        '    index = faiss.read_index(p)',
        '    ivf = faiss.extract_index_ivf(index)',
        "    out['same%d' % i] = np.array([faiss.serialize_index(index).tobytes() == open(p, 'rb').read()], dtype='int32')",
        "    out['meta%d' % i] = np.array([index.ntotal, ivf.nlist, ivf.nprobe, index.metric_type, ivf.direct_map.type], dtype='int32')",
        "    out['rec%d' % i] = ivf.reconstruct_n(0, ivf.ntotal)",
        '    for nprobe in (1, ivf.nlist):',
        '        ivf.nprobe = nprobe',
        `        D, I = index.search(q, ${k})`,
        "        out['D%d_%d' % (i, nprobe)] = D",
        "        out['I%d_%d' % (i, nprobe)] = I",
      ].join('\n'),
      { q: { data: q, shape: [20, d] } },
    );
    cases.forEach((c, i) => {
      const ivf = ivfOf(c.index);
      const meta = Array.from(out[`meta${i}`] as Int32Array);
      assert.deepEqual(meta, [c.index.ntotal, ivf.nlist, ivf.nprobe, c.index.metricType, ivf.directMap.type], c.name);
      if (c.sameBytes) assert.equal((out[`same${i}`] as Int32Array)[0], 1, `${c.name}: Faiss writes back simdex's bytes`);
      if (c.reconstruct) assert.deepEqual(out[`rec${i}`], ivf.reconstructN(0, ivf.ntotal), `${c.name}: reconstruct_n`);
      for (const nprobe of new Set([1, ivf.nlist])) {
        assertSameResults(
          searchAt(c.index, q, k, nprobe),
          out[`I${i}_${nprobe}`] as BigInt64Array,
          out[`D${i}_${nprobe}`] as Float32Array,
          `${c.name} nprobe ${nprobe}`,
        );
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (e) RVC's workflow on its real features
// ---------------------------------------------------------------------------------------------------

test("RVC workflow: IVF{n_ivf},Flat over 3_feature256 (149 x 256), nprobe 1, written under RVC's name; Faiss reads it, reconstruct_n and search agree", (t) => {
  if (!existsSync(RVC_FEATURES)) {
    t.skip(`${RVC_FEATURES} is not there`);
    return;
  }
  const { n, d, data } = readVectors(RVC_FEATURES);
  assert.deepEqual([n, d], [149, 256]);
  // RVC's train_index: n_ivf = min(int(16 * np.sqrt(N)), N // 39) (at least 1 in RVC's forks).
  const nIvf = Math.max(1, Math.min(Math.trunc(16 * Math.sqrt(n)), Math.floor(n / 39)));
  assert.equal(nIvf, 3);
  const index = new IndexIVFFlat(new IndexFlatL2(d), d, nIvf); // faiss.index_factory(256, "IVF3,Flat")
  index.nprobe = 1;
  index.train(data);
  for (let i = 0; i < n; i += 8192) index.add(data.subarray(i * d, Math.min(n, i + 8192) * d)); // RVC adds in batches of 8192
  const name = `added_IVF${nIvf}_Flat_nprobe_${index.nprobe}_mute_v1.index`;
  const dir = mkdtempSync(join(tmpdir(), 'simdex-rvc-'));
  try {
    const path = join(dir, name);
    writeIndex(index, path);
    assert.deepEqual(readdirSync(dir), [name]);
    const back = readIndex(path) as IndexIVFFlat;
    assert.equal(back.nlist, 3);
    assert.equal(back.nprobe, 1);
    assert.deepEqual(back.reconstructN(0, back.ntotal), data); // what RVC's inference loads as big_npy
    const k = 8; // RVC's vc pipeline: index.search(npy, k=8)
    const mine = back.search(data, k);
    if (!faissAvailable()) {
      t.skip('/usr/bin/python3 cannot import faiss: the Python half is skipped');
      return;
    }
    const out = runFaiss(
      [
        `index = faiss.read_index(${JSON.stringify(path)})`,
        "out['big_npy'] = index.reconstruct_n(0, index.ntotal)",
        "out['meta'] = np.array([index.ntotal, index.nlist, index.nprobe, index.d], dtype='int32')",
        'score, ix = index.search(npy, k=8)',
        "out['score'] = score",
        "out['ix'] = ix",
      ].join('\n'),
      { npy: { data, shape: [n, d] } },
    );
    assert.deepEqual(Array.from(out.meta as Int32Array), [149, 3, 1, 256]);
    assert.deepEqual(out.big_npy, data);
    // 149 rows of silence features hold duplicates: ties may come in another order. Their squared
    // norms (up to 245) are large next to their distances (from 0.4): simdex's batched list scans
    // (||x||^2 + ||y||^2 - 2 x.y, as Faiss's IndexFlatL2 for batches) differ from the direct sums
    // of Faiss's IVFFlat scanner by ~1e-7 of the squared norms, so the margin is 4e-6 of them.
    const norms = Float64Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d).reduce((s, v) => s + v * v, 0));
    const maxNorm = Math.max(...norms);
    assertSameUpToTies(mine, out.ix as BigInt64Array, out.score as Float32Array, data, data, d, k, 'RVC search', (i) => 1e-6 + 4e-6 * (norms[i]! + maxNorm));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// (f) Truncated, fuzzed and hostile files
// ---------------------------------------------------------------------------------------------------

/**
 * Cut offsets: every offset in the structure (headers, the quantizer's header, the direct map, the
 * list headers and sizes), every 17th (97th in the 2 MB RVC file) in the centroids and the list data,
 * 300 seeded ones more in the RVC file's data, and the last byte.
 */
function cutOffsets(e: IvfEntry, length: number, seed: number): number[] {
  const l = layout(e);
  const dense: Array<[number, number]> = [
    [0, l.quantizer + 45 + 64],
    [l.dm - 64, e.invlists === 'il00' ? length : l.sizes + 16 * e.nlist + 64],
  ];
  const step = length < 40000 ? 17 : 97;
  const cuts = new Set<number>([length - 1]);
  for (let i = 0; i < length; i++) {
    if (i % step === 0 || dense.some(([a, b]) => i >= a && i < b)) cuts.add(i);
    if (length >= 40000 && i > l.sizes + 16 * e.nlist + 64) break;
  }
  const r = mulberry32(seed);
  if (length >= 40000) for (let i = 0; i < 300; i++) cuts.add(Math.floor(r() * length));
  return [...cuts].sort((a, b) => a - b);
}

test('truncated: prefixes of every golden IVF file are a FormatError at an offset inside the prefix', () => {
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const allowed = new Set([...e.fourccs, 'ilar']);
    for (const cut of cutOffsets(e, bytes.length, 7)) {
      for (const flags of cut % 5 === 0 ? [0, IO_FLAG_SKIP_IVF_DATA] : [0]) {
        const err = formatError(() => deserializeIndex(bytes.subarray(0, cut), flags), `${e.file} cut at ${cut}`);
        assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= cut, `${e.file} cut at ${cut}: offset ${err.offset}`);
        if (cut < 4) assert.equal(err.fourcc, undefined);
        else assert.ok(allowed.has(err.fourcc!), `${e.file} cut at ${cut}: fourcc ${err.fourcc}`);
      }
    }
  }
});

test('fuzz: 200+ seeded byte flips per golden IVF file read or fail with FormatError / InvalidArgumentError only; what reads, searches', () => {
  const random = mulberry32(0x1f5eed);
  let failed = 0;
  let read = 0;
  for (const e of entries) {
    const bytes = goldenBytes(e.file);
    const l = layout(e);
    const queries = e.queries !== undefined ? npy<Float32Array>(e.queries) : new Float32Array(e.d);
    for (let m = 0; m < 220; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        // Flips where the structure is: headers, the quantizer's header, the direct map, the list sizes.
        const zone = random();
        const at =
          zone < 0.3
            ? Math.floor(random() * Math.min(l.quantizer + 45, bytes.length))
            : zone < 0.7
              ? Math.min(bytes.length - 1, l.dm + Math.floor(random() * Math.min(80 + 16 * e.nlist, bytes.length - l.dm)))
              : Math.floor(random() * bytes.length);
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
        const res = searchAt(index, queries, 5, ivfOf(index).nlist);
        assert.equal(res.labels.length, (queries.length / e.d) * 5);
      } catch (err) {
        // A flipped is_trained reads as an untrained index; skipped data cannot be searched.
        if (!(err instanceof NotTrainedError || err instanceof NotSupportedError)) {
          assert.fail(`${e.file} mutation ${m}: search: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      }
      index.dispose();
    }
  }
  assert.ok(failed > 300 && read > 300, `both outcomes occur (read ${read}, failed ${failed})`);
});

test('hostile headers: absurd nlist, list sizes, counts and codes fail fast with FormatError, nothing large allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const e15 = 10n ** 15n;
  const rvc = entry('rvc');
  const rvcBytes = goldenBytes(rvc.file);
  const L = layout(rvc);
  const sparse = entry('ivf_sparse');
  const sparseBytes = goldenBytes(sparse.file);
  const S = layout(sparse);
  const dmE = entry('ivf_directmap');
  const dmBytes = goldenBytes(dmE.file);
  const D = layout(dmE);
  const u64 = (at: number, v: bigint) => (x: Uint8Array) => patch(x, at, (w) => w.setBigUint64(0, BigInt.asUintN(64, v), true));
  const u32 = (at: number, v: number) => (x: Uint8Array) => patch(x, at, (w) => w.setUint32(0, v, true));
  const cases: Array<[string, Uint8Array, number, RegExp, string?]> = [
    ['nlist 1e15', u64(L.nlist, e15)(rvcBytes), L.nlist, /invalid nlist = 1000000000000000 \(expected 1 \.\. 16777216\)/, 'IwFl'],
    ['nlist 2^24 + 1', u64(L.nlist, BigInt(MAX_NLIST + 1))(rvcBytes), L.nlist, /invalid nlist = 16777217/],
    ['nlist 2^64 - 1', u64(L.nlist, -1n)(rvcBytes), L.nlist, /nlist = 18446744073709551615 is out of range/],
    ['nlist 0', u64(L.nlist, 0n)(rvcBytes), L.nlist, /invalid nlist = 0/],
    ['nlist 17', u64(L.nlist, 17n)(rvcBytes), L.quantizer, /quantizer of a trained IVF index holds 16 centroids, expected nlist = 17/],
    ['nlist 65552', u64(L.nlist, 65552n)(rvcBytes), L.quantizer, /holds 16 centroids, expected nlist = 65552/],
    ['nprobe 0', u64(L.nprobe, 0n)(rvcBytes), L.nprobe, /invalid nprobe = 0/],
    ['quantizer d', u32(L.quantizer + 4, 255)(rvcBytes), L.quantizer + 37, /IndexFlat codes hold 4096 floats, expected ntotal\*d = 16\*255 = 4080/, 'IxF2'],
    ['ntotal 1999', u64(L.ntotal, 1999n)(rvcBytes), L.sizes - 8 - 4, /inverted lists hold 2000 entries, but the IVF index has ntotal = 1999/, 'ilar'],
    ['ntotal 1e15', u64(L.ntotal, e15)(rvcBytes), L.sizes - 8 - 4, /hold 2000 entries, but the IVF index has ntotal = 1000000000000000/],
    ['list size 1e15', u64(L.sizes + 8 * 5, e15)(rvcBytes), L.sizes + 8 * 5, /list 5 claims 1000000000000000 entries of 1032 bytes but only \d+ bytes remain/, 'ilar'],
    ['list size 2^64 - 1', u64(L.sizes, -1n)(rvcBytes), L.sizes, /list 0 claims 18446744073709551615 entries/],
    ['list sizes sum', u64(L.sizes + 8 * 15, 2000n)(rvcBytes), L.sizes - 12, /inverted lists claim \d+ entries of 1024 \+ 8 bytes \(\d+ bytes\) but only \d+ bytes remain/],
    ['full count 1e15', u64(L.sizesCount, e15)(rvcBytes), L.sizesCount, /list sizes claims 1000000000000000 items of 8 bytes/],
    ['full count 15', u64(L.sizesCount, 15n)(rvcBytes), L.sizesCount, /"full" list sizes hold 15 sizes, expected nlist = 16/],
    ['ilar nlist 17', u64(L.invlists + 4, 17n)(rvcBytes), L.invlists + 4, /inverted lists have nlist = 17, but the IVF index has nlist = 16/],
    ['ilar code_size 1023', u64(L.invlists + 12, 1023n)(rvcBytes), L.invlists + 12, /inverted lists have code_size = 1023, but the IVF index has code_size = 1024/],
    ['list_type "part"', u32(L.listType, fourcc('part'))(rvcBytes), L.listType, /unknown list_type "part" \(0x74726170\) \(expected "full" or "sprs"\)/],
    ['sprs count 1e15', u64(S.sizesCount, e15)(sparseBytes), S.sizesCount, /sparse list sizes claims 1000000000000000 items/],
    ['sprs odd count', u64(S.sizesCount, 5n)(sparseBytes), S.sizesCount, /"sprs" list sizes hold 5 values, expected \(list, size\) pairs/],
    ['sprs list 8', u64(S.sizes, 8n)(sparseBytes), S.sizes, /"sprs" list sizes name list 8, but nlist = 8/],
    ['sprs list -1', u64(S.sizes, -1n)(sparseBytes), S.sizes, /name list 18446744073709551615/],
    ['sprs size 1e15', u64(S.sizes + 8, e15)(sparseBytes), S.sizes + 8, /list 1 claims 1000000000000000 entries of 72 bytes/],
    ['direct map type 7', patch(dmBytes, D.dm, (v) => v.setUint8(0, 7)), D.dm, /invalid direct map type 7/],
    ['direct map count 1e15', u64(D.dm + 1, e15)(dmBytes), D.dm + 1, /direct map array claims 1000000000000000 items of 8 bytes/],
    ['direct map count 299', u64(D.dm + 1, 299n)(dmBytes), D.dm + 1, /direct map of type Array holds 299 array entries, expected 300 \(ntotal\)/],
    ['direct map entry list 99', u64(D.dm + 9 + 8 * 7, 99n << 32n)(dmBytes), D.dm, /direct map entry 7 = 425201762304 \(list 99, offset 0\) points outside the inverted lists \(nlist = 8\)/],
    ['direct map entry offset', u64(D.dm + 9, 500n)(dmBytes), D.dm, /direct map entry 0 = 500 \(list 0, offset 500\) points outside .* list 0 holds 53/],
    ['NoMap with entries', patch(dmBytes, D.dm, (v) => v.setUint8(0, 0)), D.dm + 1, /direct map of type NoMap holds 300 array entries, expected 0/],
  ];
  for (const [what, bytes, offset, message, fcc] of cases) {
    const err = formatError(() => deserializeIndex(bytes), what);
    assert.equal(err.offset, offset, `${what}: ${err.message}`);
    assert.match(err.message, message, what);
    if (fcc !== undefined) assert.equal(err.fourcc, fcc, what);
  }
  assert.ok(performance.now() - start < 3000, `hostile files fail fast (${performance.now() - start} ms)`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no large allocation');
});

test('unknown inverted lists: FormatError naming the fourcc in hex and ASCII with its offset; on-disk lists named', () => {
  const e = entry('ivf_IP');
  const bytes = goldenBytes(e.file);
  const at = layout(e).invlists;
  const err = formatError(() => deserializeIndex(patch(bytes, at, (v) => v.setUint32(0, fourcc('ilXY'), true))), 'ilXY');
  assert.equal(err.offset, at);
  assert.equal(err.fourcc, 'IwFl');
  assert.match(err.message, /unknown fourcc "ilXY" \(0x59586c69\) where inverted lists \("ilar" or "il00"\) was expected/);
  const binary = formatError(() => deserializeIndex(patch(bytes, at, (v) => v.setUint32(0, 0x00ff6c69, true))), 'binary');
  assert.match(binary.message, /"il\\xff\\x00" \(0x00ff6c69\)/);
  const ondisk = formatError(() => deserializeIndex(patch(bytes, at, (v) => v.setUint32(0, fourcc('ilod'), true))), 'ilod');
  assert.match(ondisk.message, /inverted lists "ilod" \(0x646f6c69\) \(OnDiskInvertedLists\) are not supported/);
  assert.equal(ondisk.offset, at);
});

test('an IVF whose quantizer is not an IndexFlat: FormatError; nprobe above nlist is kept and clamped at search', () => {
  const d = 4;
  const odd = new IndexIVFFlat(new IndexIDMap(new IndexFlatL2(d)), d, 2);
  const err = formatError(() => deserializeIndex(serializeIndex(odd)), 'IDMap quantizer');
  assert.match(err.message, /IndexIVFFlat with a IndexIDMap quantizer is not supported/);
  assert.equal(err.offset, 53);
  const e = entry('ivf_IP');
  const index = deserializeIndex(patch(goldenBytes(e.file), 45, (v) => v.setBigUint64(0, 1000n, true))) as IndexIVFFlat;
  assert.equal(index.nprobe, 1000);
  const s = e.search![1]!;
  assertSameResults(index.search(npy<Float32Array>(e.queries!), K), npy<BigInt64Array>(s.labels), npy<Float32Array>(s.distances), 'nprobe 1000');
});

test('ArrayInvertedLists.addEntriesWith / entriesView: in-place bulk loads; a failing fill leaves the list as it was', () => {
  const lists = new ArrayInvertedLists(3, 8);
  lists.prepareAdd(new Uint32Array([2, 0, 1]));
  assert.equal(lists.arena.segments.length, 1);
  assert.equal(
    lists.addEntriesWith(0, 2, (codes, ids) => {
      codes.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
      ids.set([10n, 11n]);
    }),
    0,
  );
  assert.throws(() =>
    lists.addEntriesWith(2, 1, () => {
      throw new Error('read failed');
    }),
  );
  assert.equal(lists.listSize(2), 0);
  assert.equal(lists.addEntriesWith(0, 1, (codes, ids) => (codes.fill(9), ids.set([12n]))), 2); // grows
  const view = lists.entriesView(0);
  assert.deepEqual(Array.from(view.ids), [10n, 11n, 12n]);
  assert.deepEqual(Array.from(view.codes.subarray(8, 16)), [9, 10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual(lists.getCodes(0), view.codes.slice());
  assert.equal(lists.entriesView(1).ids.length, 0);
  assert.equal(invertedListsBytes(lists), 4 + 8 + 8 + 4 + 8 + 16 * 1 + 3 * 16); // 1 non-empty list of 3: "sprs"
});

test('IndexIVF from a file is a full IndexIVF: add, removeIds, mergeFrom, then written as Faiss would', () => {
  const e = entry('ivf_emptylist');
  const index = readIndex(goldenPath(e.file)) as IndexIVFFlat;
  assert.ok(index instanceof IndexIVF);
  const base = npy<Float32Array>('ivf_base16.npy');
  index.add(base.subarray(0, 10 * 16));
  assert.equal(index.ntotal, e.ntotal + 10);
  const removed = index.removeIds(new BigInt64Array([0n, 1n, 2n]));
  assert.equal(removed, 3);
  const again = deserializeIndex(serializeIndex(index)) as IndexIVFFlat;
  assert.deepEqual(Array.from(again.listSizes()), Array.from(index.listSizes()));
  assert.deepEqual(serializeIndex(again), serializeIndex(index));
});
