/**
 * @module test/io.transforms
 * IndexPreTransform ("IxPT") files and their VectorTransforms ("Pcam", "rrot", "LTra", "VNrm",
 * "VCnt", "RmDT"; src/io/faiss/vectorTransform): files written by Faiss 1.7.3 (test/golden/faiss-1.7.3,
 * manifest-transforms.json, made by scripts/make-faiss-golden.py --only=transforms) are read with
 * Faiss's chains, transform the queries as Faiss did, search with Faiss's labels (identical over
 * Flat, IVF, SQ, HNSW and IDMap sub-indexes; >= 99% overlap over PQ ones), reconstruct through the
 * reversed chain as Faiss did, and are written back byte for byte; simdex's own PCA trained on the
 * same vectors has Faiss's eigenvalues (1e-3) and subspace; Faiss (Python, when installed) reads
 * the indexes simdex trains and writes and gets simdex's results; truncated and corrupt files fail
 * with FormatError naming the offset and the fourcc. Randomness is seeded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Index } from '../src/Index.js';
import { FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import { IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexPreTransform } from '../src/indexes/IndexPreTransform.js';
import { decodeNpy } from '../src/io/npy.js';
import { deserializeIndex, describeIndex, faissFileSize, formatIndexDescription, fourcc, serializeIndex, type IndexDescription } from '../src/io/faiss/index.js';
import { vectorTransformFourcc } from '../src/io/faiss/vectorTransform.js';
import { indexFactory } from '../src/factory/indexFactory.js';
import { PCAMatrix } from '../src/transforms/PCAMatrix.js';
import { CenteringTransform } from '../src/transforms/CenteringTransform.js';
import type { VectorTransform } from '../src/transforms/VectorTransform.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32 } from './helpers/rng.js';

// From dist/test/: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'golden', 'faiss-1.7.3');

interface TransformEntry {
  name: string;
  file: string;
  description: string | null;
  d: number;
  ntotal: number;
  metric_type: number;
  is_trained: boolean;
  chain: { type: string; d_in: number; d_out: number; is_trained: boolean }[];
  sub_type: string;
  sub_d: number;
  nprobe: number | null;
  with_ids: boolean;
  bytes: number;
  xt?: string;
  labels?: string;
  distances?: string;
  reconstruct?: string | null;
}
interface Manifest {
  seed: number;
  k: number;
  nq: number;
  d: number;
  indexes: TransformEntry[];
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest-transforms.json'), 'utf8')) as Manifest;
const K = manifest.k;
const entries = manifest.indexes;
const byName = (name: string): TransformEntry => entries.find((e) => e.name === name)!;

function goldenBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(GOLDEN, file)));
}
function npy<T>(file: string): T {
  return decodeNpy(new Uint8Array(readFileSync(join(GOLDEN, file))), file).data as T;
}
const train = npy<Float32Array>('tr_train.npy');
const base = npy<Float32Array>('tr_base.npy');
const queries = npy<Float32Array>('tr_queries.npy');
const ids = npy<BigInt64Array>('tr_ids.npy');

/** The simdex class a Faiss transform is read as: Faiss writes OPQMatrix as a plain LinearTransform. */
const READ_AS: Record<string, [string, string]> = {
  PCAMatrix: ['PCAMatrix', 'Pcam'],
  OPQMatrix: ['LinearTransform', 'LTra'],
  RandomRotationMatrix: ['RandomRotationMatrix', 'rrot'],
  NormalizationTransform: ['NormalizationTransform', 'VNrm'],
  CenteringTransform: ['CenteringTransform', 'VCnt'],
  RemapDimensionsTransform: ['RemapDimensionsTransform', 'RmDT'],
};

/** Whether the search goes through product-quantizer codes (results compared by overlap). */
const isPQ = (e: TransformEntry): boolean => /PQ/.test(e.sub_type);

function overlap(a: BigInt64Array, b: BigInt64Array, nq: number, k: number): number {
  let hit = 0;
  for (let i = 0; i < nq; i++) {
    const s = new Set(Array.from(b.subarray(i * k, (i + 1) * k)));
    for (let j = 0; j < k; j++) if (s.has(a[i * k + j]!)) hit++;
  }
  return hit / (nq * k);
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

/** Every fourcc in a description tree (indexes and transforms). */
function fourccsOf(desc: IndexDescription, out = new Set<string>()): Set<string> {
  if (desc.fourcc !== null) out.add(desc.fourcc);
  for (const t of desc.chain ?? []) if (t.fourcc !== null) out.add(t.fourcc);
  for (const c of desc.children) fourccsOf(c, out);
  return out;
}

describe('golden IndexPreTransform files written by Faiss 1.7.3', () => {
  test(`the manifest lists the chains simdex reads (${entries.length} files)`, () => {
    assert.ok(entries.length >= 12);
    const types = new Set(entries.flatMap((e) => e.chain.map((t) => t.type)));
    for (const t of Object.keys(READ_AS)) assert.ok(types.has(t), `a golden file holds a ${t}`);
  });

  for (const e of entries) {
    test(`${e.name}: read, chain, byte-identical write, ${e.is_trained ? 'transformed queries, search, reconstruct' : 'untrained'}`, () => {
      const bytes = goldenBytes(e.file);
      assert.equal(bytes.length, e.bytes);
      const index = deserializeIndex(bytes) as IndexPreTransform;
      assert.ok(index instanceof IndexPreTransform);
      assert.equal(index.d, e.d);
      assert.equal(index.ntotal, e.ntotal);
      assert.equal(index.metricType, e.metric_type);
      assert.equal(index.isTrained, e.is_trained);
      assert.equal(index.chain.length, e.chain.length);
      e.chain.forEach((t, i) => {
        const vt = index.chain[i]!;
        assert.equal(vt.typeName, READ_AS[t.type]![0], `${e.name} chain[${i}]`);
        assert.equal(vectorTransformFourcc(vt), READ_AS[t.type]![1]);
        assert.equal(vt.dIn, t.d_in);
        assert.equal(vt.dOut, t.d_out);
        assert.equal(vt.isTrained, t.is_trained);
      });
      assert.equal(index.index.typeName.replace(/^IndexFlatL2$|^IndexFlatIP$/, 'IndexFlat'), e.sub_type.replace(/^IndexFlatL2$|^IndexFlatIP$/, 'IndexFlat'));
      assert.equal(index.index.d, e.sub_d);
      // written back byte for byte
      assert.equal(faissFileSize(index), e.bytes);
      assert.deepEqual(serializeIndex(index), bytes, `${e.name}: simdex writes Faiss's bytes`);
      if (e.is_trained) {
        const xt = npy<Float32Array>(e.xt!);
        const ours = index.applyChain(queries);
        for (let i = 0; i < xt.length; i++) assert.ok(Math.abs(ours[i]! - xt[i]!) <= 1e-5 * (1 + Math.abs(xt[i]!)), `${e.name}: transformed query [${i}] ${ours[i]} vs Faiss ${xt[i]}`);
        const labels = npy<BigInt64Array>(e.labels!);
        const distances = npy<Float32Array>(e.distances!);
        const r = index.search(queries, K);
        if (isPQ(e)) {
          const ov = overlap(r.labels, labels, manifest.nq, K);
          assert.ok(ov >= 0.99, `${e.name}: overlap with Faiss's labels ${ov}`);
        } else {
          assert.deepEqual(Array.from(r.labels), Array.from(labels), `${e.name}: Faiss's labels`);
        }
        for (let i = 0; i < distances.length; i++) {
          if (r.labels[i] === labels[i]) assert.ok(Math.abs(r.distances[i]! - distances[i]!) <= 1e-4 * (1 + Math.abs(distances[i]!)), `${e.name}: distance [${i}]`);
        }
        if (e.reconstruct) {
          const rec = npy<Float32Array>(e.reconstruct);
          const ours2 = index.reconstructN(0, rec.length / e.d);
          for (let i = 0; i < rec.length; i++) assert.ok(Math.abs(ours2[i]! - rec[i]!) <= 1e-4 * (1 + Math.abs(rec[i]!)), `${e.name}: reconstruct [${i}]`);
        } else {
          assert.throws(() => index.reconstruct(0), NotSupportedError);
        }
      }
      index.dispose();
    });
  }

  test('untrained files: train, add and search after reading (TR_PCA8_untrained, TR_OPQ4_8_untrained)', () => {
    for (const name of ['TR_PCA8_untrained', 'TR_OPQ4_8_untrained']) {
      const index = deserializeIndex(goldenBytes(byName(name).file)) as IndexPreTransform;
      assert.equal(index.isTrained, false);
      assert.throws(() => index.add(base), /not trained/);
      if (name === 'TR_OPQ4_8_untrained') {
        // read back as a LinearTransform: Faiss's file keeps no OPQ parameters, so it cannot be trained as OPQ
        assert.equal(index.chain[0]!.typeName, 'LinearTransform');
        index.dispose();
        continue;
      }
      index.train(train);
      index.add(base);
      const r = index.search(queries, K);
      const faissLabels = npy<BigInt64Array>(byName('TR_PCA8_Flat').labels!);
      assert.ok(overlap(r.labels, faissLabels, manifest.nq, K) >= 0.99, 'simdex trains the PCA Faiss would have trained');
      index.dispose();
    }
  });

  test('simdex\'s own PCA on Faiss\'s training vectors: eigenvalues to 1e-3, rows up to sign, subspaces (PCA, PCAW, PCAR, L2norm+PCA)', () => {
    for (const name of ['TR_PCA8_Flat', 'TR_PCAW8_Flat', 'TR_PCAR8_IVF4_Flat', 'TR_L2norm_PCA8_Flat', 'TR_PCA8_SQ8']) {
      const e = byName(name);
      const faissIndex = deserializeIndex(goldenBytes(e.file)) as IndexPreTransform;
      const fp = faissIndex.chain[faissIndex.chain.length - 1] as PCAMatrix;
      const ours = indexFactory(e.d, e.description!, e.metric_type as MetricType) as IndexPreTransform;
      ours.train(train);
      const op = ours.chain[ours.chain.length - 1] as PCAMatrix;
      for (let i = 0; i < e.d; i++) {
        assert.ok(Math.abs(op.eigenvalues[i]! - fp.eigenvalues[i]!) <= 1e-3 * fp.eigenvalues[i]!, `${name}: eigenvalue ${i}: ${op.eigenvalues[i]} vs Faiss ${fp.eigenvalues[i]}`);
      }
      for (let i = 0; i < e.d; i++) assert.ok(Math.abs(op.mean[i]! - fp.mean[i]!) < 1e-5 * (1 + Math.abs(fp.mean[i]!)));
      // eigenvectors up to sign
      const rows = fp.PCAMat.length / e.d;
      for (let r = 0; r < rows - 1; r++) {
        let dot = 0;
        for (let t = 0; t < e.d; t++) dot += op.PCAMat[r * e.d + t]! * fp.PCAMat[r * e.d + t]!;
        assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-3, `${name}: eigenvector ${r}: |cos| = ${Math.abs(dot)}`);
      }
      // projections up to sign (plain and whitened) or the same subspace (random rotation)
      const dOut = op.dOut;
      const yo = op.apply(op === ours.chain[0] ? train.subarray(0, 40 * e.d) : ours.chain[0]!.apply(train.subarray(0, 40 * e.d)));
      const yf = fp.apply(op === ours.chain[0] ? train.subarray(0, 40 * e.d) : faissIndex.chain[0]!.apply(train.subarray(0, 40 * e.d)));
      if (!op.randomRotation) {
        for (let j = 0; j < dOut; j++) {
          const sign = Math.sign(yo[j]!) === Math.sign(yf[j]!) ? 1 : -1;
          for (let i = 0; i < 40; i++) assert.ok(Math.abs(yo[i * dOut + j]! - sign * yf[i * dOut + j]!) < 1e-3 * (1 + Math.abs(yf[i * dOut + j]!)), `${name}: projection ${i}, component ${j}`);
        }
      } else {
        // |y| and distances between projections are those of Faiss's
        for (let i = 0; i < 40; i++) {
          let no = 0;
          let nf = 0;
          for (let j = 0; j < dOut; j++) {
            no += yo[i * dOut + j]! ** 2;
            nf += yf[i * dOut + j]! ** 2;
          }
          assert.ok(Math.abs(no - nf) < 1e-3 * (1 + nf), `${name}: |projection ${i}|^2 ${no} vs ${nf}`);
        }
      }
      if (e.sub_type === 'IndexFlat' || e.sub_type === 'IndexFlatL2') {
        ours.add(base);
        const r = ours.search(queries, K);
        assert.ok(overlap(r.labels, npy<BigInt64Array>(e.labels!), manifest.nq, K) >= 0.99, `${name}: simdex-trained index finds Faiss's neighbours`);
      }
      ours.dispose();
      faissIndex.dispose();
    }
  });

  test('describeIndex / simdex info show the chain', () => {
    const index = deserializeIndex(goldenBytes(byName('TR_L2norm_PCA8_Flat').file));
    const desc = describeIndex(index);
    assert.equal(desc.fourcc, 'IxPT');
    assert.equal(desc.bytes, byName('TR_L2norm_PCA8_Flat').bytes);
    assert.deepEqual(desc.chain!.map((t) => [t.type, t.fourcc, t.dIn, t.dOut]), [['NormalizationTransform', 'VNrm', 16, 16], ['PCAMatrix', 'Pcam', 16, 8]]);
    const text = formatIndexDescription(desc);
    assert.match(text, /^IndexPreTransform "IxPT" d=16 ntotal=300 metric=L2 bytes=\d+ chain=\[NormalizationTransform "VNrm" 16->16 norm=2, PCAMatrix "Pcam" 16->8 eigenPower=0 randomRotation=false haveBias=true isOrthonormal=true\]\n  IndexFlat(L2)? "IxF2" d=8 ntotal=300/);
    index.dispose();
  });
});

describe('hostile IndexPreTransform files', () => {
  test('truncated: prefixes of golden files are a FormatError at an offset inside the prefix, in one of the file\'s fourccs', () => {
    let cuts = 0;
    for (const name of ['TR_PCA8_Flat', 'TR_OPQ4_IVF4_PQ4_IP', 'TR_Pad20_Flat', 'TR_Center_Flat', 'TR_L2norm_PCA8_Flat', 'TR_PCA8_untrained', 'TR_PCAR8_IDMap_Flat', 'TR_RR16_Flat']) {
      const e = byName(name);
      const bytes = goldenBytes(e.file);
      const index = deserializeIndex(bytes);
      const allowed = fourccsOf(describeIndex(index));
      allowed.add('ilar');
      index.dispose();
      for (let cut = 0; cut < bytes.length; cut++) {
        if (!(cut < 2500 || cut % 37 === 0 || cut === bytes.length - 1)) continue;
        cuts++;
        const err = formatError(() => deserializeIndex(bytes.subarray(0, cut)), `${name} cut at ${cut}`);
        assert.ok(err.offset >= 0 && err.offset <= cut, `${name} cut at ${cut}: offset ${err.offset}`);
        if (cut < 4) assert.equal(err.fourcc, undefined);
        else assert.ok(allowed.has(err.fourcc!), `${name} cut at ${cut}: fourcc ${err.fourcc} not in ${[...allowed].join(', ')}`);
      }
    }
    assert.ok(cuts > 5000, `${cuts} cuts`);
  });

  /** The golden TR_PCA8_Flat bytes with `patch` applied at `at`. */
  function patched(at: number, patch: Uint8Array): Uint8Array {
    const b = goldenBytes(byName('TR_PCA8_Flat').file).slice();
    b.set(patch, at);
    return b;
  }
  const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
  const i32 = (v: number): Uint8Array => new Uint8Array(new Int32Array([v]).buffer);
  // layout: "IxPT" (4), header (33), int32 chain length at 37, the transform's fourcc at 41
  const CHAIN_AT = 37;
  const VT_AT = 41;

  test('unknown, ITQ and corrupt transforms: FormatError naming the fourcc and the offset', () => {
    assert.deepEqual(Array.from(goldenBytes(byName('TR_PCA8_Flat').file).subarray(VT_AT, VT_AT + 4)), Array.from(u32(fourcc('Pcam'))));
    const unknown = formatError(() => deserializeIndex(patched(VT_AT, u32(fourcc('Zzzz')))), 'unknown transform');
    assert.equal(unknown.offset, VT_AT);
    assert.match(unknown.message, /unknown fourcc "Zzzz" \(0x7a7a7a5a\) where a VectorTransform was expected/);
    assert.equal(unknown.fourcc, 'IxPT');
    for (const [name, cls] of [['Viqm', 'ITQMatrix'], ['Viqt', 'ITQTransform']] as const) {
      const err = formatError(() => deserializeIndex(patched(VT_AT, u32(fourcc(name)))), name);
      assert.equal(err.offset, VT_AT);
      assert.match(err.message, new RegExp(`${cls} \\("${name}"\\) is not supported yet`));
    }
    const negative = formatError(() => deserializeIndex(patched(CHAIN_AT, i32(-1))), 'negative chain length');
    assert.match(negative.message, /invalid chain length -1/);
    assert.equal(negative.offset, CHAIN_AT);
    const two = formatError(() => deserializeIndex(patched(CHAIN_AT, i32(2))), 'chain length 2');
    assert.match(two.message, /unknown fourcc "IxF2".*VectorTransform/, 'the sub-index is read as a second transform');
    // the PCA's d_in (in the tail, after A and b) made 15: the chain no longer starts at the index's d
    const bytes = goldenBytes(byName('TR_PCA8_Flat').file);
    const pca = deserializeIndex(bytes) as IndexPreTransform;
    const tailAt = VT_AT + 4 + 4 + 4 + 1 + 4 + 3 * 8 + 4 * (16 + 16 + 256) + 1 + 8 + 4 * 128 + 8 + 4 * 8;
    pca.dispose();
    assert.deepEqual(Array.from(bytes.subarray(tailAt, tailAt + 8)), [...i32(16), ...i32(8)]);
    const dIn = formatError(() => deserializeIndex(patched(tailAt, i32(15))), 'd_in 15');
    assert.match(dIn.message, /A of a trained Pcam holds 128 floats, expected d_out\*d_in = 8\*15 = 120/);
    const dOut = formatError(() => deserializeIndex(patched(tailAt + 4, i32(0))), 'd_out 0');
    assert.match(dOut.message, /invalid d_out = 0/);
    assert.equal(dOut.fourcc, 'Pcam');
  });

  test('sub-index that does not fit the chain, and mismatched headers', () => {
    // a hand-made file: an IxPT of d = 16 whose chain outputs 8, around an IndexFlatL2 of d = 6
    const flat = new IndexFlatL2(6);
    const pt = new IndexPreTransform(flat);
    const good = serializeIndex(pt);
    const pca = new PCAMatrix(16, 8);
    const ptBad = new IndexPreTransform(new IndexFlatL2(8));
    ptBad.prependTransform(pca);
    const bytes = serializeIndex(ptBad);
    // swap the sub-index for the d = 6 one
    const subAt = bytes.length - (45);
    const spliced = new Uint8Array(subAt + good.length - 41);
    spliced.set(bytes.subarray(0, subAt));
    spliced.set(good.subarray(41), subAt);
    const err = formatError(() => deserializeIndex(spliced), 'sub-index d');
    assert.match(err.message, /expects a sub-index with d = 8 \(the chain's output\).*IndexFlatL2 has d = 6/);
    assert.equal(err.offset, subAt);
    pt.dispose();
    ptBad.dispose();
  });

  test('fuzz: 300 seeded byte flips in the chain of golden files read or fail with typed errors only; what reads, searches', () => {
    const random = mulberry32(0x7a4e5);
    let failed = 0;
    let read = 0;
    for (const name of ['TR_PCA8_Flat', 'TR_Center_Flat', 'TR_Pad20_Flat']) {
      const bytes = goldenBytes(byName(name).file);
      for (let t = 0; t < 100; t++) {
        const b = bytes.slice();
        const at = 4 + Math.floor(random() * 1900);
        b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
        let index: Index;
        try {
          index = deserializeIndex(b);
        } catch (e) {
          assert.ok(e instanceof FormatError || e instanceof InvalidArgumentError, `${name} flip at ${at}: ${(e as Error).name}: ${(e as Error).message}`);
          failed++;
          continue;
        }
        read++;
        try {
          if (index.isTrained) index.search(queries, 3);
        } catch (e) {
          assert.ok(e instanceof InvalidArgumentError || e instanceof NotSupportedError || e instanceof NotTrainedError, `${name} flip at ${at}: search: ${(e as Error).name}: ${(e as Error).message}`);
        }
        index.dispose();
      }
    }
    assert.ok(failed >= 5 && read > 100, `failed ${failed}, read ${read}`);
  });
});

describe('Faiss reads what simdex trains and writes (live Faiss)', () => {
  test('PCA, PCAR+IVF, PCAW, OPQ+PQ, L2norm (IP), RR, Pad, Centering, PCA+IDMap2, PCA+HNSW: Faiss reads the bytes and returns simdex\'s results', { skip: !faissAvailable() }, () => {
    const cases: [string, () => Index, MetricType][] = [
      ['PCA8,Flat', () => indexFactory(16, 'PCA8,Flat'), MetricType.L2],
      ['PCAR8,IVF4,Flat', () => indexFactory(16, 'PCAR8,IVF4,Flat'), MetricType.L2],
      ['PCAW8,Flat', () => indexFactory(16, 'PCAW8,Flat'), MetricType.L2],
      ['OPQ4_8,PQ4', () => {
        const index = indexFactory(16, 'OPQ4_8,PQ4') as IndexPreTransform;
        const opq = index.chain[0] as import('../src/transforms/OPQMatrix.js').OPQMatrix;
        opq.niter = 6;
        opq.onWarning = () => {};
        const pq = (index.index as import('../src/indexes/IndexPQ.js').IndexPQ).pq;
        pq.onWarning = () => {};
        return index;
      }, MetricType.L2],
      ['L2norm,Flat', () => indexFactory(16, 'L2norm,Flat', MetricType.INNER_PRODUCT), MetricType.INNER_PRODUCT],
      ['RR16,Flat', () => indexFactory(16, 'RR16,Flat'), MetricType.L2],
      ['Pad20,Flat', () => indexFactory(16, 'Pad20,Flat'), MetricType.L2],
      ['Center,Flat', () => new IndexPreTransform(new CenteringTransform(16), new IndexFlatL2(16)), MetricType.L2],
      ['PCA8,IDMap2,Flat', () => indexFactory(16, 'PCA8,IDMap2,Flat'), MetricType.L2],
      ['L2norm,PCA8,HNSW8', () => indexFactory(16, 'L2norm,PCA8,HNSW8'), MetricType.L2],
    ];
    const inputs: Record<string, { data: Float32Array | BigInt64Array; shape: number[] }> = { q: { data: queries, shape: [manifest.nq, 16] } };
    const ours: Record<string, { labels: BigInt64Array; distances: Float32Array; chain: VectorTransform[] }> = {};
    const script: string[] = [];
    cases.forEach(([name, make], i) => {
      const index = make();
      index.train(train);
      if (name.includes('IDMap')) index.addWithIds(base, ids);
      else index.add(base);
      const bytes = serializeIndex(index);
      inputs[`b${i}`] = { data: new BigInt64Array(new Uint8Array([...bytes, ...new Uint8Array((8 - (bytes.length % 8)) % 8)]).buffer), shape: [Math.ceil(bytes.length / 8)] };
      script.push(
        `raw = b${i}.view(np.uint8)[:${bytes.length}]`,
        `ix = faiss.deserialize_index(raw)`,
        ...(name.includes('IVF') ? [`faiss.extract_index_ivf(ix).nprobe = 1`] : []),
        `D, I = ix.search(q, ${K})`,
        `out["l${i}"] = I; out["d${i}"] = D`,
        `out["t${i}"] = np.array([ix.chain.size()], dtype="int64")`,
      );
      const r = index.search(queries, K);
      ours[name] = { labels: r.labels, distances: r.distances, chain: (index as IndexPreTransform).chain };
      index.dispose();
    });
    const out = runFaiss(script.join('\n'), inputs);
    cases.forEach(([name], i) => {
      const labels = out[`l${i}`] as BigInt64Array;
      const distances = out[`d${i}`] as Float32Array;
      assert.equal(Number((out[`t${i}`] as BigInt64Array)[0]), ours[name]!.chain.length, `${name}: Faiss reads the chain`);
      if (name.includes('PQ')) {
        assert.ok(overlap(ours[name]!.labels, labels, manifest.nq, K) >= 0.99, `${name}: Faiss's results on simdex's file`);
      } else {
        assert.deepEqual(Array.from(ours[name]!.labels), Array.from(labels), `${name}: Faiss's labels on simdex's file`);
      }
      for (let j = 0; j < distances.length; j++) {
        if (ours[name]!.labels[j] === labels[j]) assert.ok(Math.abs(ours[name]!.distances[j]! - distances[j]!) <= 1e-4 * (1 + Math.abs(distances[j]!)), `${name}: distance ${j}`);
      }
    });
  });
});
