/**
 * @module test/transforms.linalg
 * The linear algebra under the vector transforms (src/transforms/linalg, floatRandn, matmul):
 * - symmetricEigen (Householder + implicit QL) against a cyclic Jacobi reference written here, on
 *   random, degenerate, diagonal and indefinite matrices; against Faiss's PCA eigenvalues (live);
 * - svd (one-sided Jacobi): reconstruction, orthonormality, singular values against the eigenvalues
 *   of A^T A, rank-deficient and wide matrices;
 * - matrixQr: orthonormal Q with R = Q^T A upper triangular, LAPACK's signs (diag(R) = beta);
 * - floatRandn: Faiss's float_randn numbers, exactly (live);
 * - matmulABt / matmulAtB: the WebAssembly kernel path against the TypeScript oracles.
 * Randomness is seeded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigen } from '../src/transforms/linalg/symmetricEigen.js';
import { svd } from '../src/transforms/linalg/svd.js';
import { matrixQr } from '../src/transforms/linalg/matrixQr.js';
import { floatRandn } from '../src/transforms/floatRandn.js';
import { matmulABt, matmulABtReference, matmulAtB, matmulAtBReference } from '../src/transforms/matmul.js';
import { RandomRotationMatrix } from '../src/transforms/RandomRotationMatrix.js';
import { InvalidArgumentError } from '../src/errors.js';
import { faissAvailable, runFaiss } from './helpers/faiss.js';
import { mulberry32, randomVectors } from './helpers/rng.js';

/** The test oracle: cyclic Jacobi eigenvalue iteration on a symmetric matrix (values, decreasing). */
function jacobiEigenvalues(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!;
          const akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!;
          const aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => m[i * n + i]!).sort((x, y) => y - x);
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r() * 2 - 1;
  return a;
}

/** Checks a decomposition: sorted values, orthonormal vectors, A v = lambda v; returns the values. */
function checkEigen(a: Float64Array, n: number, tol: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const scale = Math.max(1e-300, ...Array.from(values, Math.abs));
  for (let i = 1; i < n; i++) assert.ok(values[i - 1]! >= values[i]!, 'eigenvalues sorted decreasingly');
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += vectors[i * n + t]! * vectors[j * n + t]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < tol, `V V^T [${i}][${j}] = ${s}`);
    }
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += a[r * n + t]! * vectors[i * n + t]!;
      assert.ok(Math.abs(s - values[i]! * vectors[i * n + r]!) < tol * scale, `residual of eigenpair ${i}`);
    }
  }
  return values;
}

describe('symmetricEigen (Householder tridiagonalisation + implicit QL)', () => {
  test('random matrices: eigenpairs check out and eigenvalues equal the Jacobi reference to 1e-12', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [3, 3], [5, 4], [16, 5], [33, 6], [64, 7]] as const) {
      const a = randomSymmetric(n, seed);
      const values = checkEigen(a, n, 1e-10);
      const ref = jacobiEigenvalues(a, n);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(values[i]! - ref[i]!) < 1e-12 * n, `n=${n} eigenvalue ${i}: ${values[i]} vs ${ref[i]}`);
    }
  });

  test('degenerate, diagonal, tridiagonal, rank-1, negative-definite and zero matrices', () => {
    const n = 12;
    const id = new Float64Array(n * n);
    for (let i = 0; i < n; i++) id[i * n + i] = 3;
    assert.deepEqual(Array.from(checkEigen(id, n, 1e-12)), new Array(n).fill(3));
    const diag = new Float64Array(n * n);
    for (let i = 0; i < n; i++) diag[i * n + i] = (i * 7) % 5 - 2;
    assert.deepEqual(Array.from(checkEigen(diag, n, 1e-12)), Array.from(jacobiEigenvalues(diag, n)));
    const tri = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      tri[i * n + i] = 2;
      if (i + 1 < n) tri[i * n + i + 1] = tri[(i + 1) * n + i] = -1;
    }
    const triValues = checkEigen(tri, n, 1e-12);
    // the 1-D Laplacian: 2 - 2 cos(k pi / (n + 1))
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => y - x);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(triValues[i]! - expected[i]!) < 1e-12);
    const v = randomVectors(1, n, 9);
    const rank1 = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rank1[i * n + j] = v[i]! * v[j]!;
    const r1 = checkEigen(rank1, n, 1e-10);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += v[i]! * v[i]!;
    assert.ok(Math.abs(r1[0]! - vv) < 1e-12 * vv);
    for (let i = 1; i < n; i++) assert.ok(Math.abs(r1[i]!) < 1e-12 * vv);
    const neg = randomSymmetric(n, 10).map((x, i) => (i % (n + 1) === 0 ? x - 10 : x));
    const negValues = checkEigen(neg, n, 1e-10);
    assert.ok(negValues[0]! < 0);
    assert.deepEqual(Array.from(checkEigen(new Float64Array(n * n), n, 1e-12)), new Array(n).fill(0));
  });

  test('bad input: wrong size, non-finite values', () => {
    assert.throws(() => symmetricEigen(new Float64Array(5), 2), (e: unknown) => e instanceof InvalidArgumentError && /expected n\*n = 2\*2 = 4/.test(e.message));
    assert.throws(() => symmetricEigen(new Float64Array([1, NaN, NaN, 1]), 2), (e: unknown) => e instanceof InvalidArgumentError && /NaN at row 1, column 0/.test(e.message));
  });

  test('eigenvalues of a scatter matrix equal Faiss PCAMatrix eigenvalues (live Faiss)', { skip: !faissAvailable() }, () => {
    const n = 400;
    const d = 24;
    const x = randomVectors(n, d, 21);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = x[i * d + j]! * (1 + j / 4);
    const out = runFaiss('p = faiss.PCAMatrix(24, 24)\np.train(x)\nout["ev"] = faiss.vector_to_array(p.eigenvalues)', { x: { data: x, shape: [n, d] } });
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
    const c = new Float64Array(d * d);
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) c[a * d + b]! += (x[i * d + a]! - mean[a]!) * (x[i * d + b]! - mean[b]!);
    const { values } = symmetricEigen(c, d);
    const ev = out.ev as Float32Array;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(values[i]! - ev[i]!) <= 1e-4 * ev[i]!, `eigenvalue ${i}: ${values[i]} vs Faiss ${ev[i]}`);
  });
});

describe('svd (one-sided Jacobi)', () => {
  function check(a: Float64Array, m: number, n: number): void {
    const { U, S, V, r } = svd(a, m, n);
    assert.equal(r, Math.min(m, n));
    for (let i = 1; i < r; i++) assert.ok(S[i - 1]! >= S[i]! && S[i]! >= 0, 'singular values sorted, >= 0');
    const norm = Math.max(1, S[0]!);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += U[i * r + t]! * S[t]! * V[j * r + t]!;
        assert.ok(Math.abs(s - a[i * n + j]!) < 1e-12 * norm, `U S V^T [${i}][${j}] = ${s}, A = ${a[i * n + j]}`);
      }
    }
    for (const [Q, rows] of [[U, m], [V, n]] as const) {
      for (let p = 0; p < r; p++) {
        for (let q = 0; q < r; q++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += Q[i * r + p]! * Q[i * r + q]!;
          assert.ok(Math.abs(s - (p === q ? 1 : 0)) < 1e-12, `orthonormal columns [${p}][${q}] = ${s}`);
        }
      }
    }
    // singular values = sqrt of the eigenvalues of the smaller Gram matrix
    const small = Math.min(m, n);
    const g = new Float64Array(small * small);
    for (let p = 0; p < small; p++) {
      for (let q = 0; q < small; q++) {
        let s = 0;
        if (m >= n) for (let i = 0; i < m; i++) s += a[i * n + p]! * a[i * n + q]!;
        else for (let j = 0; j < n; j++) s += a[p * n + j]! * a[q * n + j]!;
        g[p * small + q] = s;
      }
    }
    const ev = jacobiEigenvalues(g, small);
    for (let i = 0; i < small; i++) assert.ok(Math.abs(S[i]! * S[i]! - Math.max(0, ev[i]!)) < 1e-10 * norm * norm);
  }

  test('tall, wide, square, single-row and single-column matrices', () => {
    let seed = 30;
    for (const [m, n] of [[5, 3], [3, 5], [16, 16], [8, 16], [1, 4], [4, 1], [1, 1], [40, 24]] as const) {
      const r = mulberry32(seed++);
      check(Float64Array.from({ length: m * n }, () => r() * 2 - 1), m, n);
    }
  });

  test('rank-deficient and zero matrices get orthonormal singular vectors', () => {
    const m = 6;
    const n = 4;
    const a = new Float64Array(m * n);
    const u = [1, 2, 0, -1, 0.5, 3];
    const v = [2, -1, 0.5, 1];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = u[i]! * v[j]!;
    check(a, m, n);
    check(new Float64Array(12), 3, 4);
    check(new Float64Array(12), 4, 3);
  });

  test('bad input', () => {
    assert.throws(() => svd(new Float64Array(5), 2, 3), (e: unknown) => e instanceof InvalidArgumentError && /expected m\*n = 2\*3 = 6/.test(e.message));
    assert.throws(() => svd(new Float64Array([1, Infinity]), 1, 2), (e: unknown) => e instanceof InvalidArgumentError && /must be finite/.test(e.message));
  });
});

describe('matrixQr and floatRandn (Faiss random rotations)', () => {
  test('matrixQr: Q has orthonormal columns and Q^T A is upper triangular with LAPACK signs', () => {
    for (const [m, n] of [[7, 7], [12, 5], [3, 1]] as const) {
      const a = floatRandn(m * n, 77 + m);
      const q = Float32Array.from(a);
      matrixQr(m, n, q);
      for (let p = 0; p < n; p++) {
        for (let r = 0; r < n; r++) {
          let s = 0;
          let rr = 0;
          for (let i = 0; i < m; i++) {
            s += q[p * m + i]! * q[r * m + i]!;
            rr += q[p * m + i]! * a[r * m + i]!; // R[p][r] = Q_p . A_r
          }
          assert.ok(Math.abs(s - (p === r ? 1 : 0)) < 1e-6, `Q^T Q [${p}][${r}] = ${s}`);
          if (p > r) assert.ok(Math.abs(rr) < 1e-5, `R[${p}][${r}] = ${rr} below the diagonal`);
          // LAPACK's first reflector maps column 0 onto beta e_0 with beta = -sign(a00) ||a_0||
          if (p === 0 && r === 0 && m > 1) assert.equal(Math.sign(rr), -Math.sign(a[0]!), 'sign of R[0][0]');
        }
      }
    }
    assert.throws(() => matrixQr(2, 3, new Float32Array(6)), (e: unknown) => e instanceof InvalidArgumentError && /`m` = 2 must be >= n = 3/.test(e.message));
  });

  test('floatRandn and RandomRotationMatrix equal Faiss float_randn and RandomRotationMatrix (live Faiss)', { skip: !faissAvailable() }, () => {
    const out = runFaiss(
      [
        'a = np.empty(6, dtype="float32"); faiss.float_randn(faiss.swig_ptr(a), 6, 5); out["small"] = a',
        'b = np.empty(5000, dtype="float32"); faiss.float_randn(faiss.swig_ptr(b), 5000, 1234); out["big"] = b',
        'r1 = faiss.RandomRotationMatrix(24, 10); r1.init(7); out["r1"] = faiss.vector_to_array(r1.A)',
        'r2 = faiss.RandomRotationMatrix(10, 24); r2.init(12345); out["r2"] = faiss.vector_to_array(r2.A)',
        'r3 = faiss.RandomRotationMatrix(32, 32); r3.train(np.zeros((1, 32), dtype="float32")); out["r3"] = faiss.vector_to_array(r3.A)',
      ].join('\n'),
      {},
    );
    assert.deepEqual(Array.from(floatRandn(6, 5)), Array.from(out.small as Float32Array));
    assert.deepEqual(Array.from(floatRandn(5000, 1234)), Array.from(out.big as Float32Array), 'blocked float_randn (n >= 1024) is bit-exact');
    const rotations: [RandomRotationMatrix, Float32Array][] = [];
    const r1 = new RandomRotationMatrix(24, 10);
    r1.init(7);
    rotations.push([r1, out.r1 as Float32Array]);
    const r2 = new RandomRotationMatrix(10, 24);
    r2.init(12345);
    rotations.push([r2, out.r2 as Float32Array]);
    const r3 = new RandomRotationMatrix(32, 32);
    r3.train(new Float32Array(32));
    rotations.push([r3, out.r3 as Float32Array]);
    for (const [rr, ref] of rotations) {
      assert.equal(rr.A.length, ref.length);
      let maxErr = 0;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(rr.A[i]! - ref[i]!));
      assert.ok(maxErr < 2e-5, `RandomRotationMatrix(${rr.dIn}, ${rr.dOut}): max |A - Faiss A| = ${maxErr}`);
      assert.ok(rr.isOrthonormal && rr.isTrained);
    }
  });
});

describe('matmul: the WebAssembly kernel path against the TypeScript oracles', () => {
  test('matmulABt (X A^T) for several shapes, forced through the kernel', () => {
    for (const [n, k, m] of [[1, 1, 1], [9, 3, 5], [40, 16, 8], [33, 17, 13], [300, 64, 24]] as const) {
      const x = randomVectors(n, k, 100 + n);
      const A = randomVectors(m, k, 200 + m);
      const ref = matmulABtReference(x, n, k, A, m);
      const got = matmulABt(x, n, k, A, m, undefined, { wasm: true });
      for (let i = 0; i < n * m; i++) assert.ok(Math.abs(got[i]! - ref[i]!) <= 1e-5 * Math.sqrt(k), `(${n}x${k})(${m}x${k})^T [${i}]: ${got[i]} vs ${ref[i]}`);
      const auto = matmulABt(x, n, k, A, m);
      for (let i = 0; i < n * m; i++) assert.ok(Math.abs(auto[i]! - ref[i]!) <= 1e-5 * Math.sqrt(k));
    }
  });

  test('matmulAtB (X^T Y in float64) over several row blocks, forced through the kernel', () => {
    for (const [n, p, q] of [[5, 3, 2], [1030, 7, 9], [2500, 16, 16]] as const) {
      const X = randomVectors(n, p, 300 + n);
      const Y = randomVectors(n, q, 400 + n);
      const ref = matmulAtBReference(X, Y, n, p, q);
      const got = matmulAtB(X, Y, n, p, q, { wasm: true });
      for (let i = 0; i < p * q; i++) assert.ok(Math.abs(got[i]! - ref[i]!) <= 1e-5 * Math.sqrt(n), `X^T Y [${i}]: ${got[i]} vs ${ref[i]}`);
    }
  });
});
