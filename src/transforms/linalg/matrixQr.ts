/**
 * @module transforms/linalg/matrixQr
 * Faiss's matrix_qr (utils/utils.cpp): replaces the m x n matrix `a` (m >= n, column-major, as
 * LAPACK stores it) by the n orthonormal columns Q of its QR factorisation, as LAPACK's sgeqrf
 * followed by sorgqr compute them, so that the signs of the columns are LAPACK's.
 *
 * Householder QR with LAPACK's conventions (xLARFG): column j is reflected onto beta e_j with
 * beta = -sign(alpha) * ||(alpha, x)||, H_j = I - tau v v^T, v = (1, x / (alpha - beta)),
 * tau = (beta - alpha) / beta (tau = 0 and H_j = I when x is already 0). Q = H_0 H_1 ... H_{n-1}
 * applied to the first n columns of the identity (xORG2R). Arithmetic is in float64, the result
 * rounded to float32: it differs from Faiss's single-precision LAPACK by rounding only (~1e-7).
 *
 * Used for random rotations: the columns of Q are the rows of a transform's matrix A.
 */
import { InvalidArgumentError } from '../../errors.js';

/**
 * In place: a (m x n, column-major, size m*n) becomes Q (m x n, orthonormal columns).
 * @throws InvalidArgumentError when m < n or the size is not m*n.
 */
export function matrixQr(m: number, n: number, a: Float32Array): void {
  if (!(m >= n)) throw new InvalidArgumentError('m', `= ${m} must be >= n = ${n} (matrix_qr orthonormalises n columns of length m)`);
  if (a.length !== m * n) throw new InvalidArgumentError('a', `has length ${a.length}, expected m*n = ${m}*${n} = ${m * n}`);
  const q = Float64Array.from(a);
  const tau = householderQr(m, n, q);
  formQ(m, n, q, tau);
  for (let i = 0; i < m * n; i++) a[i] = q[i]!;
}

/**
 * xGEQR2: in place, R on and above the diagonal, the Householder vectors (without their leading 1)
 * below it. a: column-major m x n. Returns tau, size n.
 */
export function householderQr(m: number, n: number, a: Float64Array): Float64Array {
  const tau = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    const alpha = a[cj + j]!;
    let xnorm2 = 0;
    for (let i = j + 1; i < m; i++) xnorm2 += a[cj + i]! * a[cj + i]!;
    if (xnorm2 === 0) {
      tau[j] = 0;
      continue;
    }
    const norm = Math.hypot(alpha, Math.sqrt(xnorm2));
    const beta = alpha >= 0 ? -norm : norm;
    tau[j] = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) a[cj + i]! *= scale;
    a[cj + j] = beta;
    // apply H_j = I - tau v v^T to the trailing columns, v = (1, a[j+1..m-1, j])
    for (let k = j + 1; k < n; k++) {
      const ck = k * m;
      let w = a[ck + j]!;
      for (let i = j + 1; i < m; i++) w += a[cj + i]! * a[ck + i]!;
      w *= tau[j]!;
      a[ck + j]! -= w;
      for (let i = j + 1; i < m; i++) a[ck + i]! -= w * a[cj + i]!;
    }
  }
  return tau;
}

/** xORG2R: in place, the output of householderQr becomes Q (m x n, column-major). */
export function formQ(m: number, n: number, a: Float64Array, tau: Float64Array): void {
  for (let j = n - 1; j >= 0; j--) {
    const cj = j * m;
    // apply H_j to columns j+1 .. n-1 (already columns of Q), v = (1, a[j+1..m-1, j])
    if (j < n - 1) {
      for (let k = j + 1; k < n; k++) {
        const ck = k * m;
        let w = a[ck + j]!;
        for (let i = j + 1; i < m; i++) w += a[cj + i]! * a[ck + i]!;
        w *= tau[j]!;
        a[ck + j]! -= w;
        for (let i = j + 1; i < m; i++) a[ck + i]! -= w * a[cj + i]!;
      }
    }
    // column j of Q: H_j e_j
    for (let i = j + 1; i < m; i++) a[cj + i] = -tau[j]! * a[cj + i]!;
    a[cj + j] = 1 - tau[j]!;
    for (let i = 0; i < j; i++) a[cj + i] = 0;
  }
}
