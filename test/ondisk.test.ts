/**
 * @module test/ondisk
 * On-disk inverted lists (invlists/OnDiskInvertedLists, io/faiss/ondisk, indexes/ivf/mergeOnDisk):
 * files built by Faiss 1.7.3 with contrib.ondisk.merge_ondisk and with OnDiskInvertedLists grown by
 * add_with_ids (test/golden/faiss-1.7.3/manifest-ondisk.json, `make-faiss-golden.py --only=ondisk`)
 * are read with IO_FLAG_ONDISK_SAME_DIR, searched with Faiss's labels and written back byte for byte;
 * simdex's merge of Faiss's shards writes Faiss's data file byte for byte; simdex grows lists with
 * Faiss's allocation; IO_FLAG_MMAP leaves an IVF file's lists on disk and searches as a full read;
 * a simdex merge-on-disk index searches as the same data in memory, and Faiss reads it; cache budgets
 * below the probed lists; read-only mode; truncated and corrupt files. Randomness is seeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArrayInvertedLists,
  FormatError,
  IDSelectorRange,
  IndexFlatL2,
  IndexIDMap,
  IndexIVF,
  IndexIVFFlat,
  IndexIVFPQ,
  IndexIVFScalarQuantizer,
  InvalidArgumentError,
  IO_FLAG_MMAP,
  IO_FLAG_ONDISK_SAME_DIR,
  IO_FLAG_READ_ONLY,
  IO_FLAG_SKIP_IVF_DATA,
  ListCache,
  NotSupportedError,
  OnDiskInvertedLists,
  QuantizerType,
  deserializeIndex,
  mergeOnDisk,
  readIndex,
  serializeIndex,
  setNumThreads,
  writeIndex,
  type Index,
  type SearchParametersIVF,
  type SearchResult,
} from '../src/node.js';
import { decodeNpy } from '../src/io/npy.js';
import { faissFileSize } from '../src/io/faiss/index.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface OnDiskEntry {
  name: string;
  file: string;
  ivfdata: string;
  trained: string;
  shards?: string[];
  batches?: [number, number][];
  removed_range?: [number, number];
  removed?: number;
  d: number;
  ntotal: number;
  nlist: number;
  code_size: number;
  totsize: number;
  list_sizes: number[];
  bytes: number;
  ivfdata_bytes: number;
  base: string;
  queries: string;
  search: { nprobe: number; labels: string; distances: string }[];
}
const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-ondisk.json'), 'utf8')) as { k: number; indexes: OnDiskEntry[] };
const K = manifest.k;
const entry = (name: string): OnDiskEntry => manifest.indexes.find((e) => e.name === name)!;
const golden = (file: string): string => join(GOLDEN, file);
const npy = <T>(file: string): T => decodeNpy(new Uint8Array(readFileSync(golden(file))), file).data as T;

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-ondisk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Search parameters with nprobe. */
const np = (nprobe: number): SearchParametersIVF => ({ nprobe });

function ivfOf(index: Index): IndexIVF {
  assert.ok(index instanceof IndexIVF);
  return index;
}

function onDisk(index: Index): OnDiskInvertedLists {
  const lists = ivfOf(index).invlists;
  assert.ok(lists instanceof OnDiskInvertedLists, `lists are ${lists.constructor.name}`);
  return lists;
}

/** Labels equal; distances equal within `tol` relative (exactly with tol = 0). */
function assertSame(got: SearchResult, labels: BigInt64Array, distances: Float32Array, tol: number, what: string): void {
  assert.deepEqual(got.labels, labels, `${what}: labels`);
  for (let i = 0; i < distances.length; i++) {
    const a = got.distances[i]!;
    const b = distances[i]!;
    if (tol === 0) assert.equal(a, b, `${what}: distance ${i}`);
    else assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: distance ${i}: ${a} vs ${b}`);
  }
}

/** `bytes` with the ilod filename (the vector<char> before the final totsize) replaced by `name`, and its slots by `slots` when given. */
function withOnDiskFields(bytes: Uint8Array, oldName: string, name: string, slots?: bigint[]): Uint8Array {
  const enc = new TextEncoder();
  const old = enc.encode(oldName);
  const nameAt = bytes.length - 8 - old.length - 8;
  assert.equal(new TextDecoder().decode(bytes.subarray(nameAt + 8, nameAt + 8 + old.length)), oldName);
  const fresh = enc.encode(name);
  const head: number[] = [];
  let cut = nameAt;
  if (slots !== undefined) {
    // the slots vector ends at nameAt; find its start from its count
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = -1;
    for (let m = 0; m < 64 && start < 0; m++) {
      const at = nameAt - 16 * m - 8;
      if (at >= 0 && view.getBigUint64(at, true) === BigInt(m)) start = at;
    }
    assert.ok(start >= 0, 'slots vector found');
    cut = start;
    const w = new DataView(new ArrayBuffer(8 + 8 * slots.length));
    w.setBigUint64(0, BigInt(slots.length / 2), true);
    slots.forEach((v, i) => w.setBigUint64(8 + 8 * i, v, true));
    head.push(...new Uint8Array(w.buffer));
  }
  const len = new DataView(new ArrayBuffer(8));
  len.setBigUint64(0, BigInt(fresh.length), true);
  return Uint8Array.from([...bytes.subarray(0, cut), ...head, ...new Uint8Array(len.buffer), ...fresh, ...bytes.subarray(bytes.length - 8)]);
}

/** Clustered data: n points around 24 random centres in [-3, 3)^d (the same for every seed of a given d), spread 1. */
function clustered(n: number, d: number, seed: number): Float32Array {
  const centres = 24;
  const r = mulberry32(seed);
  const c = randomVectors(centres, d, 1000 + d).map((v) => 3 * v);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const j = Math.floor(r() * centres);
    for (let t = 0; t < d; t++) x[i * d + t] = c[j * d + t]! + gauss();
  }
  return x;
}

const range = (i0: number, i1: number): BigInt64Array => BigInt64Array.from({ length: i1 - i0 }, (_, i) => BigInt(i0 + i));

// ---------------------------------------------------------------------------------------------------
// Files written by Faiss
// ---------------------------------------------------------------------------------------------------

test('Faiss merge_ondisk files: read with IO_FLAG_ONDISK_SAME_DIR, searched with Faiss labels (one thread, two threads, batches by list)', () => {
  for (const e of manifest.indexes) {
    const index = readIndex(golden(e.file), IO_FLAG_ONDISK_SAME_DIR | IO_FLAG_READ_ONLY);
    const lists = onDisk(index);
    assert.equal(lists.filename, golden(e.ivfdata), e.name);
    assert.equal(lists.readOnly, true);
    assert.equal(lists.totsize, e.totsize);
    assert.deepEqual(Array.from(ivfOf(index).listSizes()), e.list_sizes, e.name);
    assert.equal(index.ntotal, e.ntotal);
    assert.deepEqual(lists.cacheStats().residentLists, 0, 'nothing read before a search');
    const xq = npy<Float32Array>(e.queries);
    const nq = xq.length / e.d;
    const tol = e.name.includes('PQ') ? 1e-4 : 1e-5;
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      for (const s of e.search) {
        const labels = npy<BigInt64Array>(s.labels);
        const distances = npy<Float32Array>(s.distances);
        assertSame(index.search(xq, K, np(s.nprobe)), labels, distances, tol, `${e.name} nprobe ${s.nprobe} threads ${threads}`);
        // 64 queries (the batch copied 8 times): searched list by list for flat codes
        const tiled = new Float32Array(8 * xq.length);
        for (let c = 0; c < 8; c++) tiled.set(xq, c * xq.length);
        const r = index.search(tiled, K, np(s.nprobe));
        for (let c = 0; c < 8; c++) {
          assert.deepEqual(r.labels.subarray(c * nq * K, (c + 1) * nq * K), labels, `${e.name} tiled copy ${c}`);
        }
      }
    }
    setNumThreads(1);
    const stats = lists.cacheStats();
    assert.ok(stats.residentBytes > 0 && stats.residentBytes <= e.ivfdata_bytes + 32 * e.nlist, `resident ${stats.residentBytes}`);
    index.dispose();
  }
});

test('Faiss "ilod" files written back byte for byte (as read, or with the IO_FLAG_ONDISK_SAME_DIR name)', () => {
  for (const e of manifest.indexes) {
    const bytes = new Uint8Array(readFileSync(golden(e.file)));
    const skipped = readIndex(golden(e.file), IO_FLAG_SKIP_IVF_DATA);
    assert.ok(onDisk(skipped).filename === e.ivfdata, 'the stored name, unresolved');
    assert.deepEqual(serializeIndex(skipped), bytes, e.name);
    assert.equal(faissFileSize(skipped), e.bytes);
    const same = readIndex(golden(e.file), IO_FLAG_ONDISK_SAME_DIR);
    assert.deepEqual(serializeIndex(same), withOnDiskFields(bytes, e.ivfdata, golden(e.ivfdata)), e.name);
    same.dispose();
    skipped.dispose();
  }
});

test('Faiss merged file: its slot over the whole file (Faiss merge_from) is rebuilt before adding; old lists intact', (t) => {
  const dir = tmp(t);
  const e = entry('ondisk_IVF16_Flat');
  copyFileSync(golden(e.file), join(dir, e.file));
  copyFileSync(golden(e.ivfdata), join(dir, e.ivfdata));
  const index = readIndex(join(dir, e.file), IO_FLAG_ONDISK_SAME_DIR);
  const lists = onDisk(index);
  assert.deepEqual(lists.slots, [{ offset: 0, capacity: e.totsize }], 'Faiss 1.7.3 writes this slot after merge_from');
  const before = Array.from({ length: e.nlist }, (_, l) => [lists.getCodes(l), lists.getIds(l)] as const);
  const xb = npy<Float32Array>(e.base);
  ivfOf(index).addWithIds(xb.subarray(0, 40 * e.d), range(1000, 1040));
  assert.equal(index.ntotal, e.ntotal + 40);
  for (let l = 0; l < e.nlist; l++) {
    const n = before[l]![1].length;
    assert.deepEqual(lists.getIds(l).subarray(0, n), before[l]![1], `list ${l} ids kept`);
    assert.deepEqual(lists.getCodes(l).subarray(0, n * e.code_size), before[l]![0], `list ${l} codes kept`);
  }
  // the 40 copies are found at distance 0, the originals still at their Faiss ranks
  const r = index.search(xb.subarray(0, 40 * e.d), 2, np(16));
  for (let i = 0; i < 40; i++) {
    assert.deepEqual(new Set([r.labels[2 * i], r.labels[2 * i + 1]]), new Set([BigInt(i), BigInt(1000 + i)]), `query ${i}`);
  }
  index.dispose();
});

test('simdex mergeOnDisk of Faiss shards: Faiss data file byte for byte; its index file but for the merge slot; Faiss labels', (t) => {
  const dir = tmp(t);
  for (const name of ['ondisk_IVF16_Flat', 'ondisk_IVF16_PQ4']) {
    const e = entry(name);
    const trained = readIndex(golden(e.trained));
    const ivfdata = join(dir, e.ivfdata);
    const ntotal = mergeOnDisk(trained, e.shards!.map(golden), ivfdata);
    assert.equal(ntotal, e.ntotal);
    assert.equal(trained.ntotal, e.ntotal);
    assert.deepEqual(readFileSync(ivfdata), readFileSync(golden(e.ivfdata)), `${name}: .ivfdata`);
    const file = join(dir, e.file);
    writeIndex(trained, file);
    const expected = withOnDiskFields(new Uint8Array(readFileSync(golden(e.file))), e.ivfdata, ivfdata, []);
    assert.deepEqual(new Uint8Array(readFileSync(file)), expected, `${name}: index file`);
    assert.equal(faissFileSize(trained), expected.length);
    const xq = npy<Float32Array>(e.queries);
    for (const s of e.search) {
      assertSame(trained.search(xq, K, np(s.nprobe)), npy(s.labels), npy(s.distances), 1e-4, `${name} nprobe ${s.nprobe}`);
    }
    trained.dispose();
  }
});

test('lists grown entry by entry (as Faiss adds) and shrunk by removeIds: Faiss capacities and live data, a smaller file; Faiss labels', (t) => {
  const dir = tmp(t);
  const e = entry('ondisk_IVF16_Flat_added');
  const d = e.d;
  const index = ivfOf(readIndex(golden(e.trained)));
  const lists = new OnDiskInvertedLists(e.nlist, e.code_size, join(dir, 'added.ivfdata'));
  index.invlists = lists;
  const xb = npy<Float32Array>(e.base);
  // Faiss's IndexIVF::add_core: one add_entry per vector, in order (simdex's add groups them by list)
  for (const [i0, i1] of e.batches!) {
    const x = xb.subarray(i0 * d, i1 * d);
    const assign = index.assignLists(x);
    for (let i = 0; i < i1 - i0; i++) {
      lists.addEntries(assign[i]!, BigInt64Array.of(BigInt(i0 + i)), new Uint8Array(x.buffer, x.byteOffset + i * d * 4, d * 4));
    }
    index.ntotal += i1 - i0;
  }
  const [r0, r1] = e.removed_range!;
  assert.equal(index.removeIds(new IDSelectorRange(BigInt(r0), BigInt(r1))), e.removed);
  const faiss = onDisk(readIndex(golden(e.file), IO_FLAG_ONDISK_SAME_DIR | IO_FLAG_READ_ONLY));
  assert.deepEqual(lists.sizes, faiss.sizes);
  assert.deepEqual(lists.capacities, faiss.capacities, 'capacities: powers of two, kept while size > capacity / 2');
  assert.equal(faiss.totsize, e.totsize);
  // Faiss 1.7.3 frees a moved list's place as `capacity` bytes (its entry count): slots of a few bytes, the rest
  // leaks; simdex frees the whole place, so its file is smaller, and slots and lists tile it exactly.
  assert.ok(faiss.slots.some((x) => x.capacity < e.code_size + 8), 'Faiss slots smaller than one entry');
  assert.ok(lists.totsize <= faiss.totsize, `simdex file ${lists.totsize} bytes, Faiss ${faiss.totsize}`);
  const tiled = lists.slots.reduce((a, x) => a + x.capacity, 0) + Array.from(lists.capacities).reduce((a, c) => a + c * (e.code_size + 8), 0);
  assert.equal(tiled, lists.totsize);
  assert.equal(readFileSync(join(dir, 'added.ivfdata')).length, lists.totsize);
  for (let l = 0; l < e.nlist; l++) {
    assert.deepEqual(lists.getIds(l), faiss.getIds(l), `list ${l} ids`);
    assert.deepEqual(lists.getCodes(l), faiss.getCodes(l), `list ${l} codes`);
  }
  const xq = npy<Float32Array>(e.queries);
  for (const s of e.search) assertSame(index.search(xq, K, np(s.nprobe)), npy(s.labels), npy(s.distances), 1e-5, `nprobe ${s.nprobe}`);
  // and at nprobe = nlist both are exact over what remains
  const keep = new IndexIDMap(new IndexFlatL2(e.d));
  keep.addWithIds(Float32Array.from([...xb.subarray(0, r0 * e.d), ...xb.subarray(r1 * e.d, 200 * e.d)]), BigInt64Array.from([...range(0, r0), ...range(r1, 200)]));
  assert.deepEqual(index.search(xq, K, np(e.nlist)).labels, keep.search(xq, K).labels);
  faiss.dispose();
  index.dispose();
});

test('IndexIVF add (grouped by list) and removeIds on new on-disk lists: the search of the same in memory; Faiss reads the file', (t) => {
  const dir = tmp(t);
  const d = 16;
  const xb = clustered(2000, d, 41);
  const xq = clustered(50, d, 42);
  const memory = new IndexIVFFlat(new IndexFlatL2(d), d, 24);
  memory.train(xb);
  const file = join(dir, 'grown.faiss');
  writeIndex(memory, file);
  const disk = ivfOf(readIndex(file));
  const lists = new OnDiskInvertedLists(24, 4 * d, join(dir, 'grown.ivfdata'));
  disk.invlists = lists;
  for (const index of [memory, disk]) {
    index.addWithIds(xb.subarray(0, 700 * d), range(0, 700));
    index.addWithIds(xb.subarray(700 * d), range(700, 2000));
    assert.equal(index.removeIds(new IDSelectorRange(300n, 1200n)), 900);
    index.addWithIds(xb.subarray(0, 100 * d), range(5000, 5100));
  }
  for (let l = 0; l < 24; l++) {
    const cap = lists.capacities[l]!;
    assert.ok(cap === 0 || (cap & (cap - 1)) === 0, `list ${l}: capacity ${cap} is a power of two`);
  }
  const used = lists.slots.reduce((s, x) => s + x.capacity, 0) + Array.from(lists.capacities).reduce((s, c) => s + c * (4 * d + 8), 0);
  assert.equal(used, lists.totsize, 'slots and lists tile the data file');
  for (const nprobe of [1, 6, 24]) {
    const want = memory.search(xq, K, np(nprobe));
    assertSame(disk.search(xq, K, np(nprobe)), want.labels, want.distances, 0, `nprobe ${nprobe}`);
  }
  writeIndex(disk, file);
  if (faissAvailable()) {
    const out = runFaiss(`index = faiss.read_index(${JSON.stringify(file)})\nindex.nprobe = 6\nD, I = index.search(xq, ${K})\nout['I'] = I\nout['n'] = np.array([index.ntotal])`, {
      xq: { data: xq, shape: [50, d] },
    });
    assert.deepEqual(out.I, memory.search(xq, K, np(6)).labels);
    assert.equal(Number((out.n as BigInt64Array)[0]), 1200);
  }
  disk.dispose();
  memory.dispose();
});

// ---------------------------------------------------------------------------------------------------
// IO_FLAG_MMAP on "ilar" files
// ---------------------------------------------------------------------------------------------------

test('IO_FLAG_MMAP on an IVF file: lists left in the file (nothing read up front), the search of a full read, written back as "ilar"', (t) => {
  const dir = tmp(t);
  const d = 16;
  const xt = clustered(3000, d, 11);
  const xq = clustered(40, d, 12);
  const built: Index[] = [];
  const flat = new IndexIVFFlat(new IndexFlatL2(d), d, 32);
  const pq = new IndexIVFPQ(new IndexFlatL2(d), d, 32, 8, 8);
  const sq = new IndexIVFScalarQuantizer(new IndexFlatL2(d), d, 32, QuantizerType.QT_8bit);
  for (const index of [flat, pq, sq]) {
    index.train(xt);
    index.addWithIds(xt, range(7, 3007));
    built.push(index);
  }
  for (const index of built) {
    const file = join(dir, `${index.typeName}.faiss`);
    writeIndex(index, file);
    const bytes = new Uint8Array(readFileSync(file));
    const mapped = readIndex(file, IO_FLAG_MMAP);
    const lists = onDisk(mapped);
    assert.equal(lists.inIndexFile, true);
    assert.equal(lists.readOnly, true);
    assert.deepEqual(lists.cacheStats(), { residentBytes: 0, residentLists: 0, overflowBytes: 0, loads: 0, evictions: 0 }, 'no list read up front');
    const full = readIndex(file);
    assert.ok(ivfOf(full).invlists instanceof ArrayInvertedLists);
    for (const nprobe of [1, 4, 32]) {
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const want = full.search(xq, K, np(nprobe));
        assertSame(mapped.search(xq, K, np(nprobe)), want.labels, want.distances, 0, `${index.typeName} nprobe ${nprobe} threads ${threads}`);
        const one = mapped.search(xq.subarray(0, d), K, np(nprobe));
        assert.deepEqual(one.labels, want.labels.subarray(0, K));
      }
    }
    setNumThreads(1);
    assert.ok(lists.cacheStats().loads > 0);
    assert.deepEqual(serializeIndex(mapped), bytes, `${index.typeName}: written back as the file`);
    assert.deepEqual(mapped.reconstructN(100, 5), full.reconstructN(100, 5));
    assert.throws(() => mapped.add(xq), (err: Error) => err instanceof NotSupportedError && /read-only/.test(err.message) && /IO_FLAG_MMAP/.test(err.message));
    // from bytes there is nothing to map: read into memory
    assert.ok(ivfOf(deserializeIndex(bytes, IO_FLAG_MMAP)).invlists instanceof ArrayInvertedLists);
    mapped.dispose();
    full.dispose();
  }
  // Faiss's own "ilar" files (the golden shards)
  const e = entry('ondisk_IVF16_Flat');
  const shard = readIndex(golden(e.shards![0]!), IO_FLAG_MMAP);
  const shardFull = readIndex(golden(e.shards![0]!));
  const q = npy<Float32Array>(e.queries);
  const want = shardFull.search(q, K, np(4));
  assertSame(shard.search(q, K, np(4)), want.labels, want.distances, 0, 'Faiss shard');
  shard.dispose();
  shardFull.dispose();
  for (const index of built) index.dispose();
});

// ---------------------------------------------------------------------------------------------------
// Indexes built in blocks by simdex
// ---------------------------------------------------------------------------------------------------

interface Built {
  dir: string;
  d: number;
  xq: Float32Array;
  memory: IndexIVF;
  merged: Index;
  mergedFile: string;
}

/** Trains one index, writes 3 shards (blocks of the data, with their row numbers as ids), merges them on disk; the same data in memory. */
function buildInBlocks(dir: string, make: () => IndexIVF, name: string, cacheBytes?: number): Built {
  const d = 16;
  const xb = clustered(3000, d, 21);
  const xq = clustered(200, d, 22);
  const trained = make();
  trained.train(xb);
  const trainedFile = join(dir, `${name}.trained.faiss`);
  writeIndex(trained, trainedFile);
  const shards: string[] = [];
  for (const [i0, i1] of [[0, 1000], [1000, 2200], [2200, 3000]] as const) {
    const shard = readIndex(trainedFile);
    shard.addWithIds(xb.subarray(i0 * d, i1 * d), range(i0, i1));
    const file = join(dir, `${name}.block${i0}.faiss`);
    writeIndex(shard, file);
    shard.dispose();
    shards.push(file);
  }
  const merged = readIndex(trainedFile);
  assert.equal(mergeOnDisk(merged, shards, join(dir, `${name}.ivfdata`), { cacheBytes }), 3000);
  const mergedFile = join(dir, `${name}.faiss`);
  writeIndex(merged, mergedFile);
  trained.addWithIds(xb, range(0, 3000));
  return { dir, d, xq, memory: trained, merged, mergedFile };
}

const KINDS: [string, () => IndexIVF][] = [
  ['IVF32_Flat', () => new IndexIVFFlat(new IndexFlatL2(16), 16, 32)],
  ['IVF32_PQ8', () => new IndexIVFPQ(new IndexFlatL2(16), 16, 32, 8, 8)],
  ['IVF32_SQ8', () => new IndexIVFScalarQuantizer(new IndexFlatL2(16), 16, 32, QuantizerType.QT_8bit)],
];

test('mergeOnDisk of shards built in blocks: the search of the same data in memory; read back; Faiss reads it with the same labels', (t) => {
  const dir = tmp(t);
  for (const [name, make] of KINDS) {
    const b = buildInBlocks(dir, make, name);
    const lists = onDisk(b.merged);
    assert.equal(lists.filename, join(dir, `${name}.ivfdata`));
    assert.deepEqual(lists.slots, []);
    const back = readIndex(b.mergedFile, IO_FLAG_READ_ONLY);
    for (const nprobe of [1, 8, 32]) {
      const want = b.memory.search(b.xq, K, np(nprobe));
      assertSame(b.merged.search(b.xq, K, np(nprobe)), want.labels, want.distances, 0, `${name} nprobe ${nprobe}`);
      assertSame(back.search(b.xq, K, np(nprobe)), want.labels, want.distances, 0, `${name} read back, nprobe ${nprobe}`);
    }
    if (faissAvailable()) {
      const out = runFaiss(
        `index = faiss.read_index(${JSON.stringify(b.mergedFile)})\n` +
          `assert type(faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)).__name__ == 'OnDiskInvertedLists'\n` +
          `faiss.extract_index_ivf(index).nprobe = 8\nD, I = index.search(xq, ${K})\nout['I'] = I\nout['D'] = D`,
        { xq: { data: b.xq, shape: [b.xq.length / b.d, b.d] } },
      );
      const mine = b.merged.search(b.xq, K, np(8));
      let same = 0;
      for (let i = 0; i < mine.labels.length; i++) if (mine.labels[i] === (out.I as BigInt64Array)[i]) same++;
      // PQ/SQ distances of equal codes may round differently in the last bit: ties may swap
      assert.ok(same >= 0.99 * mine.labels.length, `${name}: Faiss agrees on ${same} of ${mine.labels.length} labels`);
      assertSame({ distances: out.D as Float32Array, labels: mine.labels }, mine.labels, mine.distances, 1e-4, `${name} Faiss distances`);
    } else {
      t.diagnostic('Python Faiss not installed: the Faiss cross-check was skipped');
    }
    back.dispose();
    b.merged.dispose();
    b.memory.dispose();
  }
});

test('mergeOnDisk with shiftIds (shards numbered from 0 each); mergeOnDisk errors', (t) => {
  const dir = tmp(t);
  const d = 8;
  const xb = clustered(600, d, 31);
  const trained = new IndexIVFFlat(new IndexFlatL2(d), d, 8);
  trained.train(xb);
  const trainedFile = join(dir, 'trained.faiss');
  writeIndex(trained, trainedFile);
  const shards = [0, 1, 2].map((b) => {
    const shard = readIndex(trainedFile);
    shard.add(xb.subarray(b * 200 * d, (b + 1) * 200 * d));
    const file = join(dir, `shard${b}.faiss`);
    writeIndex(shard, file);
    return file;
  });
  const merged = readIndex(trainedFile);
  mergeOnDisk(merged, shards, join(dir, 'merged.ivfdata'), { shiftIds: true });
  trained.add(xb);
  const xq = clustered(30, d, 32);
  assertSame(merged.search(xq, K, np(3)), trained.search(xq, K, np(3)).labels, trained.search(xq, K, np(3)).distances, 0, 'shiftIds');
  // a non-empty index; shards of another training; an IndexIDMap
  assert.throws(() => mergeOnDisk(trained, shards, join(dir, 'x.ivfdata')), (e: Error) => e instanceof InvalidArgumentError && /works only on an empty index/.test(e.message));
  const other = new IndexIVFFlat(new IndexFlatL2(d), d, 8);
  other.train(clustered(600, d, 33));
  const otherFile = join(dir, 'other.faiss');
  writeIndex(other, otherFile);
  assert.throws(
    () => mergeOnDisk(readIndex(trainedFile), [shards[0]!, otherFile], join(dir, 'y.ivfdata')),
    (e: Error) => e instanceof InvalidArgumentError && /`shardFiles\[1\]` has other coarse centroids/.test(e.message),
  );
  assert.throws(() => mergeOnDisk(new IndexIDMap(readIndex(trainedFile)), shards, join(dir, 'z.ivfdata')), NotSupportedError);
  merged.dispose();
});

// ---------------------------------------------------------------------------------------------------
// The search cache
// ---------------------------------------------------------------------------------------------------

test('cache budgets below the probed lists: the same results, searched in runs of queries (overflow for one query beyond the budget)', (t) => {
  const dir = tmp(t);
  const b = buildInBlocks(dir, KINDS[0]![1], 'budget');
  const lists = onDisk(b.merged);
  let total = 0;
  for (let l = 0; l < 32; l++) total += lists.listSize(l) * (64 + 8);
  const want = b.memory.search(b.xq, K, np(8));
  for (const budget of [1, 4096, Math.floor(total / 3), total * 2]) {
    lists.cacheBytes = budget;
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const loads = lists.cacheStats().loads;
      // runs of a few queries take the per-query kernel, whole batches the blocked one: distances may differ in the last bits
      assertSame(b.merged.search(b.xq, K, np(8)), want.labels, want.distances, 1e-5, `budget ${budget} threads ${threads}`);
      const s = lists.cacheStats();
      assert.ok(s.residentBytes <= budget, `budget ${budget}: ${s.residentBytes} resident`);
      if (budget < total) assert.ok(s.loads - loads > 32, `budget ${budget}: lists read again (${s.loads - loads} loads)`);
      if (budget === 1) assert.ok(s.overflowBytes > 0 && s.residentBytes === 0, 'one query at a time, in overflow memory');
    }
  }
  setNumThreads(1);
  // listTable() (every list at once) needs them all within the budget
  lists.cacheBytes = 4096;
  assert.throws(() => lists.listTable(), (e: Error) => e instanceof NotSupportedError && /more than cacheBytes = 4096/.test(e.message));
  lists.cacheBytes = total * 2;
  assert.equal(lists.listTable().table.length, 32 * 4);
  assert.equal(lists.cacheStats().residentLists, 32);
  // range search goes through the same runs
  lists.cacheBytes = 4096;
  const flat = b.merged as IndexIVFFlat;
  const r1 = flat.rangeSearch(b.xq.subarray(0, 20 * b.d), 28, np(4));
  const r2 = (b.memory as IndexIVFFlat).rangeSearch(b.xq.subarray(0, 20 * b.d), 28, np(4));
  assert.deepEqual(r1.lims, r2.lims);
  assert.deepEqual(r1.labels, r2.labels);
  assert.ok(r1.labels.length > 20);
  b.merged.dispose();
  b.memory.dispose();
});

test('ListCache: LRU eviction of unpinned lists, coalesced free space, overflow dropped at the next batch', () => {
  const cache = new ListCache(8, 16, 4 * (16 * 10 + 80));
  const pinned = new Uint8Array(8);
  const block = cache.blockBytes(10);
  assert.equal(block, 160 + 80);
  for (let l = 0; l < 4; l++) {
    const v = cache.insert(l, 10, pinned, false)!;
    v.ids.fill(BigInt(l));
    v.codes.fill(l);
  }
  assert.equal(cache.residentBytes, 4 * block);
  cache.touch(0); // LRU order now 1, 2, 3, 0
  pinned[1] = 1;
  assert.ok(cache.insert(4, 10, pinned, false));
  assert.deepEqual([0, 1, 2, 3, 4].map((l) => cache.has(l)), [true, true, false, true, true], 'list 2: least recently used, not pinned');
  // a list of twice the size needs two adjacent free blocks: 3 and 0 are evicted, 1 stays pinned
  pinned[4] = 1;
  const big = cache.insert(5, 20, pinned, false);
  assert.ok(big);
  assert.equal(cache.has(1) && cache.has(4) && cache.has(5), true);
  assert.deepEqual(Array.from(cache.view(1)!.ids), Array(10).fill(1n), 'pinned list intact');
  // all pinned: no room within the budget; overflow on demand
  pinned[5] = 1;
  assert.equal(cache.insert(6, 10, pinned, false), undefined);
  const over = cache.insert(6, 10, pinned, true)!;
  over.ids.fill(6n);
  assert.equal(cache.overflowBytes, block);
  assert.equal(cache.memories().length, 2);
  assert.deepEqual(Array.from(new BigInt64Array(cache.memories()[cache.table[6 * 4]!]!.buffer, cache.table[6 * 4 + 2]!, 10)), Array(10).fill(6n));
  cache.beginBatch();
  assert.equal(cache.has(6), false);
  assert.equal(cache.overflowBytes, 0);
  assert.equal(cache.memories().length, 1);
  assert.deepEqual(Array.from(cache.table.subarray(24, 28)), [0, 0, 0, 0]);
  cache.budgetBytes = block;
  assert.ok(cache.residentBytes <= block);
});

// ---------------------------------------------------------------------------------------------------
// Modes and bad files
// ---------------------------------------------------------------------------------------------------

test('IO_FLAG_READ_ONLY: adding, removing, reset throw a NotSupportedError and change nothing; searching works', () => {
  const e = entry('ondisk_IVF16_Flat');
  const index = readIndex(golden(e.file), IO_FLAG_ONDISK_SAME_DIR | IO_FLAG_READ_ONLY);
  const xq = npy<Float32Array>(e.queries);
  const readOnly = (err: Error): boolean => err instanceof NotSupportedError && /read-only/.test(err.message) && /IO_FLAG_READ_ONLY/.test(err.message);
  assert.throws(() => index.add(xq), readOnly);
  assert.throws(() => ivfOf(index).addWithIds(xq, range(0, xq.length / e.d)), readOnly);
  assert.throws(() => index.removeIds(new IDSelectorRange(0n, 10n)), readOnly);
  assert.throws(() => index.reset(), readOnly);
  assert.throws(() => onDisk(index).mergeFrom([new ArrayInvertedLists(e.nlist, e.code_size)]), readOnly);
  assert.equal(index.ntotal, e.ntotal);
  assert.deepEqual(Array.from(ivfOf(index).listSizes()), e.list_sizes);
  const s = e.search[1]!;
  assertSame(index.search(xq, K, np(s.nprobe)), npy(s.labels), npy(s.distances), 1e-5, 'after the refused changes');
  index.dispose();
});

test('truncated and corrupt files: FormatError with the file and offset; a missing data file names the flag', (t) => {
  const dir = tmp(t);
  const e = entry('ondisk_IVF16_Flat');
  const file = join(dir, e.file);
  const data = join(dir, e.ivfdata);
  copyFileSync(golden(e.file), file);
  copyFileSync(golden(e.ivfdata), data);
  // truncated before reading
  truncateSync(data, 20000);
  const cut = assert.throws(() => readIndex(file, IO_FLAG_ONDISK_SAME_DIR), (err: Error) => {
    assert.ok(err instanceof FormatError);
    assert.equal(err.file, data);
    assert.equal(err.offset, 20000);
    assert.match(err.message, /ends after 20000 bytes, but they use 28800 bytes \(totsize\): the file is truncated/);
    return true;
  });
  void cut;
  // truncated after the index was read: the search that reads a list past the end fails
  copyFileSync(golden(e.ivfdata), data);
  const index = readIndex(file, IO_FLAG_ONDISK_SAME_DIR | IO_FLAG_READ_ONLY);
  truncateSync(data, 20000);
  const xq = npy<Float32Array>(e.queries);
  assert.throws(() => index.search(xq, K, np(16)), (err: Error) => {
    assert.ok(err instanceof FormatError, String(err));
    assert.equal(err.file, data);
    assert.ok(err.offset >= 20000 && err.offset <= 28800, `offset ${err.offset}`);
    assert.match(err.message, /unexpected end of the data file reading list \d+ (codes|ids)/);
    return true;
  });
  index.dispose();
  // corrupt metadata: a list placed past totsize, a size above its capacity, a slot past the end
  const bytes = new Uint8Array(readFileSync(golden(e.file)));
  const view = new DataView(bytes.buffer);
  const nameAt = bytes.length - 8 - e.ivfdata.length - 8;
  const slotsAt = nameAt - 16 - 8; // the slots vector: Faiss's one slot
  const listsAt = slotsAt - 24 * e.nlist - 8 + 8; // the lists vector's entries
  assert.equal(view.getBigUint64(listsAt - 8, true), BigInt(e.nlist), 'layout');
  const corrupt = (patch: (v: DataView) => void): Uint8Array => {
    const c = bytes.slice();
    patch(new DataView(c.buffer));
    return c;
  };
  const cases: [string, (v: DataView) => void, number, RegExp][] = [
    ['offset', (v) => v.setBigUint64(listsAt + 24 * 3 + 16, 28000n, true), listsAt + 24 * 3 + 16, /list 3 at offset 28000 with capacity \d+ \(\d+ bytes\) ends past totsize = 28800/],
    ['size', (v) => v.setBigUint64(listsAt + 24 * 5, 10n ** 6n, true), listsAt + 24 * 5, /list 5 has size 1000000 and capacity/],
    ['slot', (v) => v.setBigUint64(slotsAt + 16, 28801n, true), slotsAt + 8, /slot 0 \(offset 0, 28801 bytes\) ends past totsize/],
    ['nlist', (v) => v.setBigUint64(listsAt - 8, 15n, true), listsAt - 8, /hold 15 list entries, expected nlist = 16/],
  ];
  for (const [what, patch, offset, message] of cases) {
    const p = join(dir, `corrupt-${what}.faiss`);
    writeFileSync(p, corrupt(patch));
    assert.throws(() => readIndex(p, IO_FLAG_ONDISK_SAME_DIR), (err: Error) => {
      assert.ok(err instanceof FormatError, `${what}: ${String(err)}`);
      assert.equal(err.offset, offset, what);
      assert.equal(err.fourcc, 'ilod');
      assert.match(err.message, message);
      return true;
    });
  }
  // the stored relative name, read from elsewhere without IO_FLAG_ONDISK_SAME_DIR: Node's ENOENT, with the hint
  assert.throws(() => readIndex(file), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && /IO_FLAG_ONDISK_SAME_DIR/.test(err.message));
  assert.throws(() => deserializeIndex(bytes, IO_FLAG_ONDISK_SAME_DIR), (err: Error) => err instanceof FormatError && /needs the index to be read from a file/.test(err.message));
});

test('a merge that fails midway leaves nothing half-written: no data file, no temporary file, an existing file intact', (t) => {
  const dir = tmp(t);
  const e = entry('ondisk_IVF16_Flat');
  const shards = e.shards!.map((f) => {
    copyFileSync(golden(f), join(dir, f));
    return join(dir, f);
  });
  const mapped = shards.map((f) => readIndex(f, IO_FLAG_MMAP));
  const lists = mapped.map((index) => ivfOf(index).invlists);
  truncateSync(shards[1]!, 6000); // the second shard's list data, after it was opened
  const target = join(dir, 'merged.ivfdata');
  writeFileSync(target, 'previous');
  const od = new OnDiskInvertedLists(e.nlist, e.code_size, target);
  assert.throws(() => od.mergeFromMultiple(lists), (err: Error) => err instanceof FormatError && err.file === shards[1]);
  assert.equal(readFileSync(target, 'utf8'), 'previous');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  assert.equal(od.computeNtotal(), 0);
  assert.equal(od.totsize, 0);
  for (const index of mapped) index.dispose();
});

test('timings: a small search with the lists on disk (cold and warm cache) and in memory', (t) => {
  const dir = tmp(t);
  const b = buildInBlocks(dir, KINDS[0]![1], 'timing');
  const time = (f: () => void): number => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const lists = onDisk(b.merged);
  lists.clearCache();
  const cold = time(() => b.merged.search(b.xq, K, np(8)));
  const warm = time(() => b.merged.search(b.xq, K, np(8)));
  const mem = time(() => b.memory.search(b.xq, K, np(8)));
  t.diagnostic(`200 queries, 3000 x 16-d, IVF32,Flat, nprobe 8: on disk cold ${cold.toFixed(2)} ms, warm ${warm.toFixed(2)} ms, in memory ${mem.toFixed(2)} ms`);
  assert.ok(cold < 5000 && warm < 5000);
  b.merged.dispose();
  b.memory.dispose();
});
