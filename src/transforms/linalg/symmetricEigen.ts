/**
 * @module transforms/linalg/symmetricEigen
 * Eigenvalues and eigenvectors of a real symmetric matrix (what Faiss's PCAMatrix gets from LAPACK's
 * dsyev), in float64:
 *
 * 1. Householder tridiagonalisation: for k = 0 .. n-3, a reflection H_k = I - beta v v^T zeroes
 *    column k below the sub-diagonal; the trailing block is updated as H A H with the rank-2 form
 *    A - v w^T - w v^T (w = p - (beta p.v / 2) v, p = beta A v); the reflections are accumulated
 *    in Q, so that A = Q T Q^T with T tridiagonal.
 * 2. Implicit QL iterations with Wilkinson shifts on T (diagonal d, off-diagonal e): each sweep
 *    chases a bulge from the bottom of the unreduced block up to its top with Givens rotations,
 *    applied to Q's columns as well; an off-diagonal element is zero once |e_m| <= eps (|d_m| + |d_m+1|).
 *    Converges cubically; at most 60 sweeps per eigenvalue (a non-finite matrix fails there).
 *
 * Output order is Faiss's: eigenvalues by decreasing value, eigenvector i in row i. Signs of the
 * eigenvectors are arbitrary (LAPACK's are too): compare subspaces or |cosines|, not raw vectors.
 */
import { InvalidArgumentError } from '../../errors.js';

/** What {@link symmetricEigen} returns. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first; size n. */
  values: Float64Array;
  /** Eigenvectors, row i for values[i] (unit norm, mutually orthogonal); size n*n, row-major. */
  vectors: Float64Array;
}

/** Most QL sweeps spent on one eigenvalue before giving up. */
const MAX_SWEEPS = 60;

/**
 * Eigen-decomposition of the symmetric n x n matrix `a` (row-major, size n*n; only its lower triangle
 * is read, as the two halves of a symmetric matrix are equal). `a` is not modified.
 * @throws InvalidArgumentError for a wrong size or a matrix holding NaN or infinity.
 */
export function symmetricEigen(a: Float64Array | Float32Array, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('n', `must be a positive integer, got ${String(n)}`);
  if (a.length !== n * n) throw new InvalidArgumentError('a', `has length ${a.length}, expected n*n = ${n}*${n} = ${n * n}`);
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j]!;
      if (!Number.isFinite(v)) throw new InvalidArgumentError('a', `holds ${v} at row ${i}, column ${j}: the matrix must be finite`);
      t[i * n + j] = v;
      t[j * n + i] = v;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const q = tridiagonalize(t, n, d, e);
  tridiagonalQL(d, e, q, n);
  // sort by decreasing eigenvalue; eigenvectors are q's columns
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]! || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const c = order[r]!;
    values[r] = d[c]!;
    for (let i = 0; i < n; i++) vectors[r * n + i] = q[i * n + c]!;
  }
  return { values, vectors };
}

/**
 * Householder reduction of the symmetric matrix t (row-major, overwritten) to tridiagonal form.
 * Fills d (diagonal) and e (e[i] = T[i][i+1], e[n-1] = 0); returns Q (row-major) with t = Q T Q^T.
 */
export function tridiagonalize(t: Float64Array, n: number, d: Float64Array, e: Float64Array): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // x = t[k+1 .. n-1][k]; reflect it onto alpha e_{k+1}
    let sigma = 0;
    for (let i = k + 2; i < n; i++) sigma += t[i * n + k]! * t[i * n + k]!;
    const x0 = t[(k + 1) * n + k]!;
    if (sigma === 0) continue; // already tridiagonal in this column
    const norm = Math.sqrt(x0 * x0 + sigma);
    const alpha = x0 >= 0 ? -norm : norm;
    // v = x - alpha e_1 (over indices k+1 .. n-1); H = I - beta v v^T with beta = 2 / v.v
    v.fill(0);
    v[k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) v[i] = t[i * n + k]!;
    const vv = v[k + 1]! * v[k + 1]! + sigma;
    const beta = 2 / vv;
    // column and row k become (alpha at k+1, zeros below)
    t[(k + 1) * n + k] = alpha;
    t[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) {
      t[i * n + k] = 0;
      t[k * n + i] = 0;
    }
    // trailing block B = t[k+1.., k+1..]: B <- B - v w^T - w v^T
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += t[i * n + j]! * v[j]!;
      p[i] = beta * s;
      pv += p[i]! * v[i]!;
    }
    const kk = (beta * pv) / 2;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - kk * v[i]!; // w
    for (let i = k + 1; i < n; i++) {
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = k + 1; j < n; j++) t[i * n + j] = t[i * n + j]! - vi * p[j]! - wi * v[j]!;
    }
    // Q <- Q H
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += q[r * n + j]! * v[j]!;
      s *= beta;
      if (s !== 0) for (let j = k + 1; j < n; j++) q[r * n + j] = q[r * n + j]! - s * v[j]!;
    }
  }
  for (let i = 0; i < n; i++) {
    d[i] = t[i * n + i]!;
    e[i] = i + 1 < n ? (t[(i + 1) * n + i]! + t[i * n + i + 1]!) / 2 : 0;
  }
  return q;
}

/**
 * Implicit QL with Wilkinson shifts: diagonalises the tridiagonal (d, e) in place (d becomes the
 * eigenvalues, unsorted) and applies the rotations to the columns of q (row-major n x n).
 */
export function tridiagonalQL(d: Float64Array, e: Float64Array, q: Float64Array, n: number): void {
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (;;) {
      // find the end m of the unreduced block starting at l
      let m = l;
      while (m < n - 1) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= eps * dd) break;
        m++;
      }
      if (m === l) break;
      if (++sweeps > MAX_SWEEPS) {
        throw new InvalidArgumentError('a', `eigenvalue ${l} did not converge after ${MAX_SWEEPS} QL sweeps (is the matrix finite?)`);
      }
      // Wilkinson shift from the leading 2x2 block
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // underflow: the block splits at i+1
          d[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (let k = 0; k < n; k++) {
          const row = k * n;
          const fk = q[row + i + 1]!;
          q[row + i + 1] = s * q[row + i]! + c * fk;
          q[row + i] = c * q[row + i]! - s * fk;
        }
      }
      if (deflated) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}
