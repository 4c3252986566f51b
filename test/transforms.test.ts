/**
 * @module test/transforms
 * Faiss's vector transforms (src/transforms) and IndexPreTransform:
 * - PCAMatrix: orthonormal rows, eigenvalues = variances of the projections, whitening, random
 *   rotation, balanced bins, the Gram path (n < dIn), subsampling; against Faiss (live): eigenvalues
 *   to 1e-3 relative, rows up to sign, the same subspace;
 * - OPQMatrix: a rotation with orthonormal rows that lowers the PQ error; against Faiss (live): the
 *   first Procrustes rotation, and the final PQ error within 5%;
 * - NormalizationTransform ("L2norm,Flat" with inner product ranks by cosine), CenteringTransform,
 *   RemapDimensionsTransform, LinearTransform, RandomRotationMatrix;
 * - IndexPreTransform over Flat, IVFFlat, IVFPQ, PQ, SQ, HNSW, IDMap, IDMap2: the conformance suite,
 *   results equal to the sub-index searched with transformed queries, Faiss's training order,
 *   reconstruct through the reversed chain, range search, removeIds, reset, search parameters;
 * - the factory's transform tokens with Faiss 1.7.3's meaning and order, and typed errors naming
 *   the numbers (dOut > dIn, M not dividing dOut, too few training points, untrained, dimension
 *   mismatch).
 * Randomness is seeded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FactoryParseError, InvalidArgumentError, InvalidTypeError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { MetricType } from '../src/MetricType.js';
import type { Index } from '../src/Index.js';
import { IndexFlat, IndexFlatIP, IndexFlatL2 } from '../src/indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../src/indexes/IndexIDMap.js';
import { IndexIVFFlat } from '../src/indexes/ivf/IndexIVFFlat.js';
import { IndexIVFPQ } from '../src/indexes/ivf/IndexIVFPQ.js';
import { IndexPQ } from '../src/indexes/IndexPQ.js';
import { IndexScalarQuantizer } from '../src/indexes/IndexScalarQuantizer.js';
import { IndexHNSWFlat } from '../src/indexes/hnsw/IndexHNSWFlat.js';
import { IndexPreTransform } from '../src/indexes/IndexPreTransform.js';
import { QuantizerType } from '../src/quantizers/ScalarQuantizer.js';
import { ProductQuantizer } from '../src/quantizers/ProductQuantizer.js';
import { IDSelectorRange } from '../src/IDSelector.js';
import { indexFactory, reverseIndexFactory } from '../src/factory/indexFactory.js';
import { LinearTransform } from '../src/transforms/LinearTransform.js';
import { RandomRotationMatrix } from '../src/transforms/RandomRotationMatrix.js';
import { PCAMatrix } from '../src/transforms/PCAMatrix.js';
import { OPQMatrix } from '../src/transforms/OPQMatrix.js';
import { NormalizationTransform } from '../src/transforms/NormalizationTransform.js';
import { CenteringTransform } from '../src/transforms/CenteringTransform.js';
import { RemapDimensionsTransform } from '../src/transforms/RemapDimensionsTransform.js';
import { runIndexConformance } from './helpers/conformance.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

/** n*d floats: clustered, anisotropic (dimension j scaled by scale(j)), shifted from the origin. */
function anisotropic(n: number, d: number, seed: number, scale = (j: number) => 4 / (1 + j)): Float32Array {
  const r = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, (_, j) => 2 * normal() * scale(j)));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * centres.length)]!;
    for (let j = 0; j < d; j++) x[i * d + j] = c[j]! + normal() * scale(j) + 1.5;
  }
  return x;
}

function rowDots(A: Float32Array, rows: number, cols: number): number {
  let maxErr = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let t = 0; t < cols; t++) s += A[i * cols + t]! * A[j * cols + t]!;
      maxErr = Math.max(maxErr, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return maxErr;
}

/** max over rows i of 1 - |cos(a_i, b_i)| (rows compared up to sign). */
function rowsUpToSign(a: Float32Array, b: Float32Array, rows: number, cols: number): number {
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let t = 0; t < cols; t++) {
      ab += a[i * cols + t]! * b[i * cols + t]!;
      aa += a[i * cols + t]! ** 2;
      bb += b[i * cols + t]! ** 2;
    }
    worst = Math.max(worst, 1 - Math.abs(ab) / Math.sqrt(aa * bb));
  }
  return worst;
}

/** Max |P_a - P_b| of the projections A^T A (the subspace, whatever the basis). */
function projectionDiff(a: Float32Array, b: Float32Array, rows: number, cols: number): number {
  let worst = 0;
  for (let s = 0; s < cols; s++) {
    for (let t = 0; t < cols; t++) {
      let pa = 0;
      let pb = 0;
      for (let i = 0; i < rows; i++) {
        pa += a[i * cols + s]! * a[i * cols + t]!;
        pb += b[i * cols + s]! * b[i * cols + t]!;
      }
      worst = Math.max(worst, Math.abs(pa - pb));
    }
  }
  return worst;
}

describe('PCAMatrix', () => {
  const d = 16;
  const n = 2000;
  const x = anisotropic(n, d, 1);

  test('plain PCA: orthonormal rows, eigenvalues decreasing and equal to the scatter of the projections, b = -A mean', () => {
    const pca = new PCAMatrix(d, 6);
    assert.equal(pca.isTrained, false);
    pca.train(x);
    assert.ok(pca.isTrained && pca.isOrthonormal && pca.haveBias);
    assert.equal(pca.A.length, 6 * d);
    assert.equal(pca.PCAMat.length, d * d);
    assert.ok(rowDots(pca.A, 6, d) < 1e-5);
    for (let i = 1; i < d; i++) assert.ok(pca.eigenvalues[i - 1]! >= pca.eigenvalues[i]!);
    const y = pca.apply(x);
    for (let j = 0; j < 6; j++) {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        sum += y[i * 6 + j]!;
        sq += y[i * 6 + j]! ** 2;
      }
      assert.ok(Math.abs(sum / n) < 1e-3 * Math.sqrt(pca.eigenvalues[0]! / n), `component ${j} is centred (mean ${sum / n})`);
      assert.ok(Math.abs(sq - pca.eigenvalues[j]!) < 1e-4 * pca.eigenvalues[j]!, `component ${j}: sum of squares ${sq} = eigenvalue ${pca.eigenvalues[j]}`);
      for (let k = 0; k < j; k++) {
        let c = 0;
        for (let i = 0; i < n; i++) c += y[i * 6 + j]! * y[i * 6 + k]!;
        assert.ok(Math.abs(c) < 1e-4 * pca.eigenvalues[0]!, `components ${j} and ${k} are uncorrelated`);
      }
    }
    // reverse: A^T (y - b) = A^T A x, the projection of x (Faiss's semantics)
    const back = pca.reverseTransform(y.subarray(0, 6 * 3));
    for (let i = 0; i < 3; i++) {
      for (let t = 0; t < d; t++) {
        let p = 0;
        for (let j = 0; j < 6; j++) {
          let ax = 0;
          for (let s = 0; s < d; s++) ax += pca.A[j * d + s]! * x[i * d + s]!;
          p += pca.A[j * d + t]! * ax;
        }
        assert.ok(Math.abs(back[i * d + t]! - p) < 1e-3);
      }
    }
  });

  test('whitening (PCAW: eigenPower -0.5): unit scatter per component, not orthonormal, no reverse', () => {
    const pca = new PCAMatrix(d, 5, -0.5);
    pca.train(x);
    assert.equal(pca.isOrthonormal, false);
    const y = pca.apply(x);
    for (let j = 0; j < 5; j++) {
      let sq = 0;
      for (let i = 0; i < n; i++) sq += y[i * 5 + j]! ** 2;
      assert.ok(Math.abs(sq - 1) < 1e-3, `whitened component ${j}: sum of squares ${sq}`);
    }
    assert.throws(() => pca.reverseTransform(y.subarray(0, 5)), (e: unknown) => e instanceof NotSupportedError && /orthonormal/.test(e.message));
  });

  test('random rotation (PCAR): A = R P with R Faiss\'s RandomRotationMatrix(dOut, dOut) seeded 5, same subspace as plain PCA', () => {
    const plain = new PCAMatrix(d, 6);
    plain.train(x);
    const rot = new PCAMatrix(d, 6, 0, true);
    rot.train(x);
    assert.ok(rot.isOrthonormal && rowDots(rot.A, 6, d) < 1e-5);
    assert.ok(projectionDiff(plain.A, rot.A, 6, d) < 1e-5, 'same subspace');
    const R = new RandomRotationMatrix(6, 6);
    R.init(5);
    for (let j = 0; j < 6; j++) {
      for (let t = 0; t < d; t++) {
        let s = 0;
        for (let i = 0; i < 6; i++) s += R.A[j * 6 + i]! * rot.PCAMat[i * d + t]!;
        assert.ok(Math.abs(rot.A[j * d + t]! - s) < 1e-6);
      }
    }
  });

  test('balanced bins spread the variance; balanced bins with a random rotation is a NotSupportedError', () => {
    const pca = new PCAMatrix(d, 8);
    pca.balancedBins = 2;
    pca.train(x);
    // greedy: eigenvector 0 -> bin 0 (row 0), 1 -> bin 1 (row 4), 2 -> bin 1 (row 5), ...
    const plain = new PCAMatrix(d, 8);
    plain.train(x);
    assert.deepEqual(Array.from(pca.A.subarray(0, d)), Array.from(plain.A.subarray(0, d)));
    assert.deepEqual(Array.from(pca.A.subarray(4 * d, 5 * d)), Array.from(plain.A.subarray(d, 2 * d)));
    const bad = new PCAMatrix(d, 8, 0, true);
    bad.balancedBins = 2;
    assert.throws(() => bad.train(x), NotSupportedError);
  });

  test('fewer training vectors than dimensions: the Gram-matrix path (as Faiss); dOut <= n required', () => {
    const xs = anisotropic(10, 24, 3);
    const pca = new PCAMatrix(24, 6);
    pca.train(xs);
    assert.equal(pca.PCAMat.length, 10 * 24);
    assert.equal(pca.eigenvalues.length, 24);
    assert.ok(rowDots(pca.A, 6, 24) < 1e-5);
    // the same subspace as the scatter-matrix eigenvectors
    const y = pca.apply(xs);
    for (let j = 0; j < 6; j++) {
      let sq = 0;
      for (let i = 0; i < 10; i++) sq += y[i * 6 + j]! ** 2;
      assert.ok(Math.abs(sq - pca.eigenvalues[j]!) < 1e-3 * pca.eigenvalues[0]!);
    }
    assert.throws(() => new PCAMatrix(24, 12).train(xs), (e: unknown) => e instanceof InvalidArgumentError && /holds 10 training vectors: PCAMatrix\(24 -> 12\) needs at least dOut = 12/.test(e.message));
  });

  test('bad input: dOut > dIn, untrained apply, wrong lengths, no training vectors', () => {
    assert.throws(() => new PCAMatrix(8, 16), (e: unknown) => e instanceof InvalidArgumentError && /`dOut` = 16 must be <= dIn = 8/.test(e.message));
    assert.throws(() => new PCAMatrix(8, 0), (e: unknown) => e instanceof InvalidArgumentError && /`dOut`/.test(e.message));
    const pca = new PCAMatrix(8, 4);
    assert.throws(() => pca.apply(new Float32Array(8)), (e: unknown) => e instanceof NotTrainedError && /PCAMatrix is not trained/.test(e.message));
    assert.throws(() => pca.train(new Float32Array(0)), (e: unknown) => e instanceof InvalidArgumentError && /holds 0 training vectors/.test(e.message));
    pca.train(anisotropic(50, 8, 4));
    assert.throws(() => pca.apply(new Float32Array(9)), (e: unknown) => e instanceof InvalidArgumentError && /multiple of d = 8/.test(e.message));
    assert.throws(() => pca.apply([1, 2] as unknown as Float32Array), InvalidTypeError);
    assert.throws(() => pca.reverseTransform(new Float32Array(5)), (e: unknown) => e instanceof InvalidArgumentError && /`y`.*multiple of d = 4/.test(e.message));
  });

  test('against Faiss (live): eigenvalues to 1e-3, rows up to sign, subspaces of PCAR/PCAW, Gram path, subsampling, balanced bins', { skip: !faissAvailable() }, () => {
    const xs = anisotropic(12, 24, 5);
    const out = runFaiss(
      [
        'def pca(x, dout, power=0.0, rot=False, mppd=None, bins=0):',
        '    p = faiss.PCAMatrix(x.shape[1], dout, power, rot)',
        '    if mppd is not None: p.max_points_per_d = mppd',
        '    p.balanced_bins = bins',
        '    p.train(x)',
        '    return faiss.vector_to_array(p.A), faiss.vector_to_array(p.b), faiss.vector_to_array(p.eigenvalues)',
        'out["A"], out["b"], out["ev"] = pca(x, 6)',
        'out["Ar"], out["br"], _ = pca(x, 6, 0.0, True)',
        'out["Aw"], _, _ = pca(x, 6, -0.5)',
        'out["Ag"], _, out["evg"] = pca(xs, 6)',
        'out["As"], _, out["evs"] = pca(x, 6, mppd=10)',
        'out["Ab"], _, _ = pca(x, 8, bins=2)',
      ].join('\n'),
      { x: { data: x, shape: [n, d] }, xs: { data: xs, shape: [12, 24] } },
    );
    const ours = new PCAMatrix(d, 6);
    ours.train(x);
    const ev = out.ev as Float32Array;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(ours.eigenvalues[i]! - ev[i]!) <= 1e-3 * ev[i]!, `eigenvalue ${i}: ${ours.eigenvalues[i]} vs Faiss ${ev[i]}`);
    assert.ok(rowsUpToSign(ours.A, out.A as Float32Array, 6, d) < 1e-4, 'PCA rows equal Faiss\'s up to sign');
    // b = -A mean: equal up to the same signs
    const b = out.b as Float32Array;
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(Math.abs(ours.b[j]!) - Math.abs(b[j]!)) < 1e-3 * (1 + Math.abs(b[j]!)));
    const rot = new PCAMatrix(d, 6, 0, true);
    rot.train(x);
    assert.ok(projectionDiff(rot.A, out.Ar as Float32Array, 6, d) < 1e-4, 'PCAR: same subspace as Faiss');
    const white = new PCAMatrix(d, 6, -0.5);
    white.train(x);
    assert.ok(rowsUpToSign(white.A, out.Aw as Float32Array, 6, d) < 1e-4, 'PCAW rows equal Faiss\'s up to sign');
    let maxRel = 0;
    for (let i = 0; i < white.A.length; i++) maxRel = Math.max(maxRel, Math.abs(Math.abs(white.A[i]!) - Math.abs((out.Aw as Float32Array)[i]!)) / 0.01);
    assert.ok(maxRel < 1, 'PCAW scale equals Faiss\'s');
    const gram = new PCAMatrix(24, 6);
    gram.train(xs);
    const evg = out.evg as Float32Array;
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(gram.eigenvalues[i]! - evg[i]!) <= 1e-3 * evg[i]!, `Gram path eigenvalue ${i}`);
    assert.ok(rowsUpToSign(gram.A, out.Ag as Float32Array, 6, 24) < 1e-3, 'Gram path rows equal Faiss\'s up to sign');
    const sub = new PCAMatrix(d, 6);
    sub.maxPointsPerD = 10;
    sub.train(x);
    const evs = out.evs as Float32Array;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(sub.eigenvalues[i]! - evs[i]!) <= 1e-3 * evs[0]!, `subsampled (the same ${10 * d} vectors as Faiss) eigenvalue ${i}`);
    const bins = new PCAMatrix(d, 8);
    bins.balancedBins = 2;
    bins.train(x);
    assert.ok(rowsUpToSign(bins.A, out.Ab as Float32Array, 8, d) < 1e-4, 'balanced bins: the rows of Faiss, in Faiss\'s order');
  });
});

describe('OPQMatrix', () => {
  const d = 16;
  const n = 1000;
  const x = anisotropic(n, d, 7, (j) => 1 + (j % 4));

  test('learns a rotation with orthonormal rows that lowers the PQ error (dOut = d) or the total error (dOut < d)', () => {
    const opq = new OPQMatrix(d, 4);
    opq.niter = 4;
    opq.niterPq0 = 8;
    opq.niterPq = 2;
    const warnings: string[] = [];
    opq.onWarning = (m) => warnings.push(m);
    opq.train(x);
    assert.ok(opq.isTrained && opq.isOrthonormal);
    assert.equal(opq.A.length, d * d);
    assert.ok(rowDots(opq.A, d, d) < 1e-5);
    assert.equal(opq.iterationStats.length, 4);
    const first = opq.iterationStats[0]!.pqError;
    const last = opq.iterationStats[3]!.pqError;
    for (let i = 1; i < 4; i++) assert.ok(opq.iterationStats[i]!.pqError < opq.iterationStats[i - 1]!.pqError, `PQ error decreases: ${opq.iterationStats.map((s) => s.pqError).join(", ")}`);
    assert.ok(last < 0.98 * first, `PQ error ${first} -> ${last}`);
    assert.equal(warnings.length, 1, 'the k-means warning is reported once per train()');
    assert.match(warnings[0]!, /1000 points to 256 centroids/);

    // dOut < d: the PQ error of what is kept plus the energy dropped goes down
    const red = new OPQMatrix(d, 4, 8);
    red.niter = 4;
    red.niterPq0 = 8;
    red.niterPq = 2;
    red.onWarning = () => {};
    red.train(x);
    assert.equal(red.A.length, 8 * d);
    assert.ok(rowDots(red.A, 8, d) < 1e-5);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
    let energy = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) energy += (x[i * d + j]! - mean[j]!) ** 2;
    const total = (rot: Float32Array, pqError: number): number => {
      let kept = 0;
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < 8; r++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += rot[r * d + j]! * (x[i * d + j]! - mean[j]!);
          kept += s * s;
        }
      }
      return (energy - kept) / n + pqError;
    };
    const init = new OPQMatrix(d, 4, 8);
    init.niter = 1;
    init.niterPq0 = 8;
    init.onWarning = () => {};
    init.train(x); // A after one iteration; its iteration 0 ran on Faiss's initial random rotation
    const start = total(init.A, red.iterationStats[1]!.pqError);
    const end = total(red.A, red.iterationStats[3]!.pqError);
    assert.ok(end < start, `total error ${start} -> ${end}`);
  });

  test('dOut > dIn pads with zeros; the default dOut is d', () => {
    const opq = new OPQMatrix(6, 2, 8);
    opq.niter = 2;
    opq.niterPq0 = 4;
    opq.niterPq = 2;
    opq.onWarning = () => {};
    opq.train(anisotropic(300, 6, 8));
    assert.equal(opq.A.length, 8 * 6);
    assert.equal(opq.apply(new Float32Array(6)).length, 8);
    assert.equal(new OPQMatrix(16, 4).dOut, 16);
  });

  test('bad input: M not dividing dOut, too few training vectors, wrong dimension', () => {
    assert.throws(() => new OPQMatrix(16, 5, 8), (e: unknown) => e instanceof InvalidArgumentError && /`M` = 5 does not divide dOut = 8/.test(e.message));
    assert.throws(() => new OPQMatrix(16, 0), (e: unknown) => e instanceof InvalidArgumentError && /`M`/.test(e.message));
    const opq = new OPQMatrix(16, 4, 8);
    assert.throws(() => opq.train(anisotropic(100, 16, 9)), (e: unknown) => e instanceof InvalidArgumentError && /holds 100 training vectors.*at least 256/.test(e.message));
    assert.throws(() => opq.train(new Float32Array(15)), InvalidArgumentError);
    assert.throws(() => opq.apply(new Float32Array(16)), NotTrainedError);
  });

  test('against Faiss (live): the first Procrustes rotation, and the PQ error after training within 5%', { skip: !faissAvailable() }, () => {
    const out = runFaiss(
      [
        'def opq(niter):',
        '    o = faiss.OPQMatrix(16, 4, 8)',
        '    o.niter = niter; o.niter_pq_0 = 8; o.niter_pq = 2',
        '    o.train(x)',
        '    return faiss.vector_to_array(o.A)',
        'out["A1"] = opq(1)',
        'A5 = opq(5)',
        'out["A5"] = A5',
        'xr = x @ A5.reshape(8, 16).T',
        'pq = faiss.ProductQuantizer(8, 4, 8); pq.train(xr)',
        'out["err"] = np.array([((pq.decode(pq.compute_codes(xr)) - xr) ** 2).sum() / len(xr)], dtype="float32")',
      ].join('\n'),
      { x: { data: x, shape: [n, d] } },
    );
    const one = new OPQMatrix(16, 4, 8);
    one.niter = 1;
    one.niterPq0 = 8;
    one.niterPq = 2;
    one.onWarning = () => {};
    one.train(x);
    let maxErr = 0;
    for (let i = 0; i < one.A.length; i++) maxErr = Math.max(maxErr, Math.abs(one.A[i]! - (out.A1 as Float32Array)[i]!));
    assert.ok(maxErr < 1e-3, `after one iteration, max |A - Faiss A| = ${maxErr}`);
    const five = new OPQMatrix(16, 4, 8);
    five.niter = 5;
    five.niterPq0 = 8;
    five.niterPq = 2;
    five.onWarning = () => {};
    five.train(x);
    const pq = new ProductQuantizer(8, 4);
    pq.onWarning = () => {};
    const xr = five.apply(x);
    pq.train(xr);
    const rec = pq.decode(pq.computeCodes(xr));
    let e = 0;
    for (let i = 0; i < xr.length; i++) e += (rec[i]! - xr[i]!) ** 2;
    e /= n;
    const faissErr = (out.err as Float32Array)[0]!;
    assert.ok(Math.abs(e - faissErr) <= 0.05 * faissErr, `PQ error after OPQ: simdex ${e}, Faiss ${faissErr}`);
  });
});

describe('NormalizationTransform, CenteringTransform, RemapDimensionsTransform, LinearTransform, RandomRotationMatrix', () => {
  test('L2 normalisation: unit norms, zero vectors kept, reverse is the identity', () => {
    const t = new NormalizationTransform(5);
    assert.ok(t.isTrained);
    const x = new Float32Array([3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const y = t.apply(x);
    assert.deepEqual(Array.from(y.subarray(0, 5)), [0.6000000238418579, 0.800000011920929, 0, 0, 0]);
    assert.deepEqual(Array.from(y.subarray(5, 10)), [0, 0, 0, 0, 0]);
    assert.ok(Math.abs(y[10]! - 1 / Math.sqrt(5)) < 1e-7);
    assert.deepEqual(Array.from(t.reverseTransform(y)), Array.from(y));
    assert.throws(() => new NormalizationTransform(5, 1).apply(x), NotSupportedError);
  });

  test('"L2norm,Flat" with METRIC_INNER_PRODUCT ranks by cosine similarity, distances are the cosines', () => {
    const d = 12;
    const n = 500;
    const x = randomVectors(n, d, 31);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = x[i * d + j]! * (1 + (i % 7)); // varied norms
    const q = randomVectors(20, d, 32);
    const index = indexFactory(d, 'L2norm,Flat', MetricType.INNER_PRODUCT);
    assert.ok(index instanceof IndexPreTransform && index.chain[0] instanceof NormalizationTransform && index.index instanceof IndexFlat);
    index.add(x);
    const k = 10;
    const r = index.search(q, k);
    const ipOnly = new IndexFlatIP(d);
    ipOnly.add(x);
    const rip = ipOnly.search(q, k);
    let differ = 0;
    for (let i = 0; i < 20; i++) {
      const cos = Array.from({ length: n }, (_, j) => {
        let s = 0;
        let qq = 0;
        let xx = 0;
        for (let t = 0; t < d; t++) {
          s += q[i * d + t]! * x[j * d + t]!;
          qq += q[i * d + t]! ** 2;
          xx += x[j * d + t]! ** 2;
        }
        return { j, c: s / Math.sqrt(qq * xx) };
      }).sort((a, b) => b.c - a.c || a.j - b.j);
      for (let t = 0; t < k; t++) {
        assert.equal(r.labels[i * k + t], BigInt(cos[t]!.j), `query ${i} rank ${t}`);
        assert.ok(Math.abs(r.distances[i * k + t]! - cos[t]!.c) < 1e-5);
      }
      if (rip.labels[i * k] !== r.labels[i * k]) differ++;
    }
    assert.ok(differ > 0, 'plain inner product ranks differently (the normalisation matters)');
    index.dispose();
    ipOnly.dispose();
  });

  test('CenteringTransform: subtracts the mean, reverse adds it back; needs training', () => {
    const t = new CenteringTransform(3);
    assert.throws(() => t.apply(new Float32Array(3)), NotTrainedError);
    assert.throws(() => t.train(new Float32Array(0)), (e: unknown) => e instanceof InvalidArgumentError && /0 training vectors/.test(e.message));
    t.train(new Float32Array([1, 2, 3, 3, 4, 5]));
    assert.deepEqual(Array.from(t.mean), [2, 3, 4]);
    const y = t.apply(new Float32Array([2, 3, 4, 0, 0, 0]));
    assert.deepEqual(Array.from(y), [0, 0, 0, -2, -3, -4]);
    assert.deepEqual(Array.from(t.reverseTransform(y)), [2, 3, 4, 0, 0, 0]);
  });

  test('RemapDimensionsTransform: Faiss\'s uniform and in-place maps, padding ("Pad"), reverse', () => {
    assert.deepEqual(Array.from(new RemapDimensionsTransform(4, 8, true).map), [0, -1, 1, -1, 2, -1, 3, -1]);
    assert.deepEqual(Array.from(new RemapDimensionsTransform(8, 3, true).map), [0, 2, 5]);
    const pad = new RemapDimensionsTransform(3, 5, false);
    assert.deepEqual(Array.from(pad.map), [0, 1, 2, -1, -1]);
    const y = pad.apply(new Float32Array([1, 2, 3]));
    assert.deepEqual(Array.from(y), [1, 2, 3, 0, 0]);
    assert.deepEqual(Array.from(pad.reverseTransform(y)), [1, 2, 3]);
    const perm = new RemapDimensionsTransform(3, 3, new Int32Array([2, 0, 1]));
    assert.deepEqual(Array.from(perm.apply(new Float32Array([1, 2, 3]))), [3, 1, 2]);
    assert.throws(() => new RemapDimensionsTransform(3, 2, new Int32Array([0, 3])), (e: unknown) => e instanceof InvalidArgumentError && /map.*\[1\] = 3 must be -1 or an input dimension in \[0, dIn = 3\)/.test(e.message));
  });

  test('LinearTransform: y = A x + b for small and large batches (kernel path), reverse only when orthonormal', () => {
    const dIn = 20;
    const dOut = 7;
    const A = randomVectors(dOut, dIn, 41);
    const b = randomVectors(1, dOut, 42);
    const lt = LinearTransform.fromMatrix(dIn, dOut, A, b);
    assert.ok(lt.isTrained && lt.haveBias && !lt.isOrthonormal);
    const x = randomVectors(300, dIn, 43);
    const y = lt.apply(x);
    const y1 = lt.apply(x.subarray(0, dIn));
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < dOut; j++) {
        let s = b[j]!;
        for (let t = 0; t < dIn; t++) s += A[j * dIn + t]! * x[i * dIn + t]!;
        assert.ok(Math.abs(y[i * dOut + j]! - s) < 1e-5, `batch path [${i}][${j}]`);
        if (i === 0) assert.ok(Math.abs(y1[j]! - s) < 1e-5, 'single-vector path');
      }
    }
    assert.throws(() => lt.reverseTransform(y.subarray(0, dOut)), NotSupportedError);
    assert.throws(() => LinearTransform.fromMatrix(3, 2, new Float32Array(5)), (e: unknown) => e instanceof InvalidArgumentError && /expected dOut\*dIn = 2\*3 = 6/.test(e.message));
    assert.throws(() => new LinearTransform(3, 2).apply(new Float32Array(3)), NotTrainedError);
    const rr = new RandomRotationMatrix(dIn, dIn);
    rr.init(3);
    const rot = LinearTransform.fromMatrix(dIn, dIn, rr.A);
    assert.ok(rot.isOrthonormal);
    const back = rot.reverseTransform(rot.apply(x));
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i]! - x[i]!) < 1e-5);
  });

  test('RandomRotationMatrix: train() is init(12345); rotations preserve distances; tight frames for dOut > dIn', () => {
    const a = new RandomRotationMatrix(10, 10);
    a.train(new Float32Array(10));
    const b = new RandomRotationMatrix(10, 10);
    b.init(12345);
    assert.deepEqual(Array.from(a.A), Array.from(b.A));
    assert.ok(rowDots(a.A, 10, 10) < 1e-5);
    const wide = new RandomRotationMatrix(4, 9);
    wide.init(1);
    const v = new Float32Array([1, -2, 3, 0.5]);
    const w = wide.apply(v);
    const norm = (u: Float32Array): number => Math.sqrt(u.reduce((s, t) => s + t * t, 0));
    assert.ok(Math.abs(norm(w) - norm(v)) < 1e-5, 'a tight frame preserves norms');
    const back = wide.reverseTransform(w);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(back[i]! - v[i]!) < 1e-5);
  });
});

describe('IndexPreTransform', () => {
  runIndexConformance('IndexPreTransform(RandomRotationMatrix, IndexFlat)', {
    make: (d, metric) => {
      const rr = new RandomRotationMatrix(d, d);
      rr.init(77);
      return new IndexPreTransform(rr, new IndexFlat(d, metric));
    },
    minRecall: 0.99,
  });
  runIndexConformance('IndexPreTransform(PCAMatrix(d, d), IndexFlatL2)', {
    make: (d) => new IndexPreTransform(new PCAMatrix(d, d), new IndexFlatL2(d)),
    minRecall: 0.99,
    metrics: [MetricType.L2],
  });

  const d = 16;
  const x = anisotropic(1200, d, 51);
  const q = anisotropic(15, d, 52);

  /** Results of index equal those of its sub-index searched with the transformed queries. */
  function sameAsSub(index: IndexPreTransform, k: number, params?: object): void {
    const r = index.search(q, k, params);
    const rs = index.index.search(index.applyChain(q), k, params);
    assert.deepEqual(Array.from(r.labels), Array.from(rs.labels));
    assert.deepEqual(Array.from(r.distances), Array.from(rs.distances));
  }

  test('over every sub-index type: trains the chain then the sub-index, searches like the sub-index on transformed queries', () => {
    const subs: [string, (dd: number) => Index][] = [
      ['IndexFlatL2', (dd) => new IndexFlatL2(dd)],
      ['IndexIVFFlat', (dd) => new IndexIVFFlat(new IndexFlatL2(dd), dd, 8)],
      ['IndexIVFPQ', (dd) => new IndexIVFPQ(new IndexFlatL2(dd), dd, 4, 4, 6)],
      ['IndexPQ', (dd) => new IndexPQ(dd, 4, 6)],
      ['IndexScalarQuantizer', (dd) => new IndexScalarQuantizer(dd, QuantizerType.QT_8bit)],
      ['IndexHNSWFlat', (dd) => new IndexHNSWFlat(dd, 8)],
    ];
    for (const [name, make] of subs) {
      const index = new IndexPreTransform(new PCAMatrix(d, 8), make(8));
      assert.equal(index.d, d);
      assert.equal(index.isTrained, false, name);
      assert.throws(() => index.add(x), (e: unknown) => e instanceof NotTrainedError && /IndexPreTransform \(its PCAMatrix\) is not trained/.test(e.message));
      index.train(x);
      assert.ok(index.isTrained && index.chain[0]!.isTrained && index.index.isTrained, name);
      index.add(x);
      assert.equal(index.ntotal, 1200);
      assert.equal(index.index.ntotal, 1200);
      sameAsSub(index, 5);
      index.dispose();
    }
  });

  test('the sub-index is trained on the transformed vectors (Faiss\'s order): the same IVF as one trained on pca.apply(x)', () => {
    const index = new IndexPreTransform(new PCAMatrix(d, 8), new IndexIVFFlat(new IndexFlatL2(8), 8, 8));
    index.train(x);
    const pca = new PCAMatrix(d, 8);
    pca.train(x);
    const ivf = new IndexIVFFlat(new IndexFlatL2(8), 8, 8);
    ivf.train(pca.apply(x));
    const sub = index.index as IndexIVFFlat;
    assert.deepEqual(Array.from(sub.quantizer.reconstructN(0, 8)), Array.from(ivf.quantizer.reconstructN(0, 8)));
    index.dispose();
    ivf.dispose();
  });

  test('Faiss\'s training stops at the last untrained component: a trained sub-index is not retrained', () => {
    const flat = new IndexFlatL2(8);
    flat.add(anisotropic(3, 8, 53));
    const index = new IndexPreTransform(new PCAMatrix(d, 8), flat);
    assert.equal(index.ntotal, 3);
    index.train(x);
    assert.equal(flat.ntotal, 3, 'IndexFlat.train is not called (it would be a no-op anyway; the vectors stay)');
    assert.ok(index.isTrained);
    // and a second train() with everything trained changes nothing
    const A = Float32Array.from((index.chain[0] as PCAMatrix).A);
    index.train(anisotropic(500, d, 54));
    assert.deepEqual(Array.from((index.chain[0] as PCAMatrix).A), Array.from(A));
    index.dispose();
  });

  test('chains of transforms, prependTransform and dimension mismatches', () => {
    const index = new IndexPreTransform(new IndexFlatL2(6));
    assert.equal(index.d, 6);
    assert.equal(index.chain.length, 0);
    index.prependTransform(new PCAMatrix(10, 6));
    index.prependTransform(new NormalizationTransform(10));
    assert.equal(index.d, 10);
    assert.deepEqual(index.chain.map((t) => t.typeName), ['NormalizationTransform', 'PCAMatrix']);
    assert.throws(
      () => index.prependTransform(new PCAMatrix(16, 8)),
      (e: unknown) => e instanceof InvalidArgumentError && /outputs dOut = 8 dimensions, but the next transform \(NormalizationTransform\) takes dIn = 10/.test(e.message),
    );
    assert.throws(
      () => new IndexPreTransform(new PCAMatrix(16, 8), new IndexFlatL2(6)),
      (e: unknown) => e instanceof InvalidArgumentError && /outputs dOut = 8 dimensions, but the sub-index \(IndexFlatL2\) has d = 6/.test(e.message),
    );
    assert.throws(() => new IndexPreTransform(null as unknown as Index), InvalidTypeError);
    const xs = anisotropic(300, 10, 55);
    index.train(xs);
    index.add(xs);
    // the chain is applied in order: normalise, then project
    const manual = (index.chain[1] as PCAMatrix).apply((index.chain[0] as NormalizationTransform).apply(xs.subarray(0, 20)));
    assert.deepEqual(Array.from(index.applyChain(xs.subarray(0, 20))), Array.from(manual));
    assert.throws(() => index.search(new Float32Array(6), 1), (e: unknown) => e instanceof InvalidArgumentError && /multiple of d = 10/.test(e.message));
    index.dispose();
  });

  test('reconstruct through the reversed chain; IndexIDMap2 ids; removeIds, reset, range search, search parameters', () => {
    const rr = new RandomRotationMatrix(d, d);
    rr.init(9);
    const index = new IndexPreTransform(rr, new IndexIDMap2(new IndexFlatL2(d)));
    const ids = BigInt64Array.from({ length: 100 }, (_, i) => BigInt(1000 + 3 * i));
    index.addWithIds(x.subarray(0, 100 * d), ids);
    const v = index.reconstruct(1000n + 3n * 7n);
    for (let t = 0; t < d; t++) assert.ok(Math.abs(v[t]! - x[7 * d + t]!) < 1e-4, 'exact rotation reversed');
    const r = index.search(x.subarray(5 * d, 6 * d), 1);
    assert.equal(r.labels[0], 1015n);
    const rs = index.rangeSearch(x.subarray(5 * d, 6 * d), 1e-3);
    assert.deepEqual(Array.from(rs.labels), [1015n]);
    assert.equal(index.removeIds(new IDSelectorRange(1000n, 1030n)), 10);
    assert.equal(index.ntotal, 90);
    assert.equal(index.search(x.subarray(5 * d, 6 * d), 1).labels[0] === 1015n, false);
    index.reset();
    assert.equal(index.ntotal, 0);
    index.dispose();

    const pca = new IndexPreTransform(new PCAMatrix(d, 8), new IndexFlatL2(8));
    pca.train(x);
    pca.add(x.subarray(0, 50 * d));
    const rec = pca.reconstructN(0, 2);
    const proj = (pca.chain[0] as PCAMatrix).reverseTransform((pca.chain[0] as PCAMatrix).apply(x.subarray(0, 2 * d)));
    for (let i = 0; i < 2 * d; i++) assert.ok(Math.abs(rec[i]! - proj[i]!) < 1e-4);
    pca.dispose();
    const white = new IndexPreTransform(new PCAMatrix(d, 8, -0.5), new IndexFlatL2(8));
    white.train(x);
    white.add(x.subarray(0, 10 * d));
    assert.throws(() => white.reconstruct(0), NotSupportedError);
    white.dispose();

    const ivf = new IndexPreTransform(new PCAMatrix(d, 8), new IndexIVFFlat(new IndexFlatL2(8), 8, 16));
    ivf.train(x);
    ivf.add(x);
    const all = ivf.search(q, 10, { nprobe: 16 } as object);
    const viaIndexParams = ivf.search(q, 10, { indexParams: { nprobe: 16 } } as object);
    const one = ivf.search(q, 10);
    assert.deepEqual(Array.from(all.labels), Array.from(viaIndexParams.labels));
    assert.notDeepEqual(Array.from(all.labels), Array.from(one.labels), 'nprobe reaches the IVF sub-index');
    sameAsSub(ivf, 10, { nprobe: 16 });
    ivf.dispose();
  });
});

describe('indexFactory and reverseIndexFactory: transform tokens (Faiss 1.7.3)', () => {
  test('PCA64,IVF4096,Flat / OPQ16_64,IVF1024,PQ16 / L2norm,Flat / PCAR32,IDMap,Flat / PCAW / RR / Pad build Faiss\'s structures', () => {
    const a = indexFactory(128, 'PCA64,IVF4096,Flat');
    assert.ok(a instanceof IndexPreTransform && a.d === 128);
    const pca = a.chain[0] as PCAMatrix;
    assert.ok(pca instanceof PCAMatrix && pca.dIn === 128 && pca.dOut === 64 && pca.eigenPower === 0 && !pca.randomRotation);
    assert.ok(a.index instanceof IndexIVFFlat && a.index.d === 64 && a.index.nlist === 4096);
    const b = indexFactory(128, 'OPQ16_64,IVF1024,PQ16');
    const opq = (b as IndexPreTransform).chain[0] as OPQMatrix;
    assert.ok(opq instanceof OPQMatrix && opq.M === 16 && opq.dIn === 128 && opq.dOut === 64);
    const ivfpq = (b as IndexPreTransform).index as IndexIVFPQ;
    assert.ok(ivfpq instanceof IndexIVFPQ && ivfpq.d === 64 && ivfpq.pq.M === 16);
    const c = indexFactory(128, 'OPQ16,PQ16') as IndexPreTransform;
    assert.equal((c.chain[0] as OPQMatrix).dOut, 128);
    assert.equal(reverseIndexFactory(c), 'OPQ16_128,PQ16');
    const e = indexFactory(64, 'PCAR32,IDMap,Flat') as IndexPreTransform;
    assert.ok((e.chain[0] as PCAMatrix).randomRotation && e.index instanceof IndexIDMap && e.index.d === 32);
    const f = indexFactory(64, 'IDMap,PCAR32,Flat') as unknown as IndexIDMap;
    assert.ok(f instanceof IndexIDMap && f.index instanceof IndexPreTransform && f.d === 64);
    // Faiss parses the leading transforms before the IDMap wrappers: PCA32,Flat,IDMap = PreTransform(IDMap(Flat))
    const g = indexFactory(64, 'PCA32,Flat,IDMap') as IndexPreTransform;
    assert.ok(g instanceof IndexPreTransform && g.index instanceof IndexIDMap);
    const w = indexFactory(64, 'PCAWR16,Flat') as IndexPreTransform;
    assert.ok((w.chain[0] as PCAMatrix).eigenPower === -0.5 && (w.chain[0] as PCAMatrix).randomRotation);
    const two = indexFactory(64, 'L2norm,PCA16,RR8,Flat') as IndexPreTransform;
    assert.deepEqual(two.chain.map((t) => `${t.typeName}:${t.dIn}->${t.dOut}`), ['NormalizationTransform:64->64', 'PCAMatrix:64->16', 'RandomRotationMatrix:16->8']);
    assert.ok(two.index instanceof IndexFlat && two.index.d === 8, 'consecutive transforms go into one IndexPreTransform, as in Faiss');
    const pad = indexFactory(10, 'Pad16,Flat') as IndexPreTransform;
    assert.equal(pad.index.d, 16);
    assert.equal(reverseIndexFactory(pad), 'Pad16,Flat');
    assert.equal((indexFactory(10, 'Pad4,Flat') as IndexPreTransform).index.d, 10, 'Faiss pads to max(n, d)');
    for (const i of [a, b, c, e, f, g, w, two, pad]) i.dispose();
  });

  test('errors name the token and the numbers; ITQ is a Faiss token not implemented yet', () => {
    assert.throws(
      () => indexFactory(32, 'PCA64,Flat'),
      (e: unknown) => e instanceof FactoryParseError && e.token === 'PCA64' && /cannot be built in d = 32: `dOut` = 64 must be <= dIn = 32/.test(e.message),
    );
    assert.throws(
      () => indexFactory(32, 'OPQ5_16,PQ4'),
      (e: unknown) => e instanceof FactoryParseError && e.token === 'OPQ5_16' && /`M` = 5 does not divide dOut = 16/.test(e.message),
    );
    assert.throws(() => indexFactory(32, 'ITQ16,Flat'), (e: unknown) => e instanceof FactoryParseError && /ITQTransform.*not implemented yet/.test(e.message));
    assert.throws(() => indexFactory(32, 'PCA16'), (e: unknown) => e instanceof FactoryParseError && /pre-transform and must be followed by an index/.test(e.message));
    assert.throws(() => indexFactory(32, 'PCA16,PQ5'), (e: unknown) => e instanceof InvalidArgumentError && /`M` = 5 does not divide d = 16/.test(e.message));
  });

  test('reverseIndexFactory gives the strings back; transforms without a token are a NotSupportedError', () => {
    for (const desc of ['PCA8,Flat', 'PCAR8,IVF16,Flat', 'PCAW8,Flat', 'PCAWR8,Flat', 'OPQ4_8,PQ4', 'L2norm,Flat', 'RR16,Flat', 'L2norm,PCA8,IDMap,Flat', 'IDMap2,PCA8,HNSW8', 'PCA8,SQ8']) {
      const index = indexFactory(16, desc);
      assert.equal(reverseIndexFactory(index), desc);
      index.dispose();
    }
    const centred = new IndexPreTransform(new CenteringTransform(4), new IndexFlatL2(4));
    assert.throws(() => reverseIndexFactory(centred), (e: unknown) => e instanceof NotSupportedError && /CenteringTransform/.test(e.message));
    const lt = new IndexPreTransform(LinearTransform.fromMatrix(4, 4, new Float32Array(16)), new IndexFlatL2(4));
    assert.throws(() => reverseIndexFactory(lt), NotSupportedError);
  });
});
