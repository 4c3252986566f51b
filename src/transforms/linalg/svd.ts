/**
 * @module transforms/linalg/svd
 * Thin singular value decomposition A = U diag(S) V^T of a real m x n matrix, in float64, by
 * one-sided Jacobi (Hestenes): the columns of the taller orientation of A are rotated pairwise until
 * they are mutually orthogonal (|b_p . b_q| <= eps * ||b_p|| ||b_q|| for every pair), the same
 * rotations accumulating into V; the column norms are then the singular values and the normalised
 * columns the left singular vectors. Accurate for small singular values too (no A^T A is formed).
 *
 * Columns whose singular value is zero (rank-deficient A) get left singular vectors completed to an
 * orthonormal set (Gram-Schmidt against the others), so U always has orthonormal columns, as LAPACK's
 * gesvd gives them. What OPQMatrix needs it for: the orthogonal Procrustes rotation U V^T.
 */
import { InvalidArgumentError } from '../../errors.js';

/** What {@link svd} returns (r = min(m, n)). */
export interface SVD {
  /** Left singular vectors, m x r, row-major (column j for S[j]). */
  U: Float64Array;
  /** Singular values, largest first; size r. */
  S: Float64Array;
  /** Right singular vectors, n x r, row-major (column j for S[j]). */
  V: Float64Array;
  /** r = min(m, n). */
  r: number;
}

/** Sweeps over all column pairs before giving up (convergence takes ~6-12 in practice). */
const MAX_SWEEPS = 100;

/**
 * Thin SVD of a (m x n, row-major, size m*n). `a` is not modified.
 * @throws InvalidArgumentError for a wrong size or a non-finite matrix.
 */
export function svd(a: Float64Array | Float32Array, m: number, n: number): SVD {
  if (!Number.isInteger(m) || m < 1) throw new InvalidArgumentError('m', `must be a positive integer, got ${String(m)}`);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('n', `must be a positive integer, got ${String(n)}`);
  if (a.length !== m * n) throw new InvalidArgumentError('a', `has length ${a.length}, expected m*n = ${m}*${n} = ${m * n}`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) throw new InvalidArgumentError('a', `holds ${a[i]} at row ${Math.floor(i / n)}, column ${i % n}: the matrix must be finite`);
  }
  if (m >= n) {
    // columns of A (length m), stored column by column
    const cols = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) cols[j * m + i] = a[i * n + j]!;
    const { U, S, V } = jacobiColumns(cols, m, n);
    return { U, S, V, r: n };
  }
  // A^T = U' S V'^T  =>  A = V' S U'^T
  const cols = Float64Array.from(a); // row i of A is column i of A^T (length n)
  const { U, S, V } = jacobiColumns(cols, n, m);
  return { U: V, S, V: U, r: m };
}

/**
 * One-sided Jacobi on the n columns (each of length m >= n, column j at cols[j*m ..]) of B: returns
 * U (m x n), S (n), V (n x n), row-major, with B = U diag(S) V^T, S sorted decreasingly.
 */
function jacobiColumns(cols: Float64Array, m: number, n: number): { U: Float64Array; S: Float64Array; V: Float64Array } {
  const vcols = new Float64Array(n * n); // columns of V, column j at j*n
  for (let j = 0; j < n; j++) vcols[j * n + j] = 1;
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) norms[j] = dot(cols, j * m, cols, j * m, m);
  const eps = 4 * Number.EPSILON;
  let sweep = 0;
  for (;;) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p]!;
        const beta = norms[q]!;
        if (alpha === 0 || beta === 0) continue;
        const gamma = dot(cols, p * m, cols, q * m, m);
        if (Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // the rotation that makes columns p and q orthogonal
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(cols, p * m, q * m, m, c, s);
        rotate(vcols, p * n, q * n, n, c, s);
        // exact norms after the rotation, recomputed to avoid drift
        norms[p] = dot(cols, p * m, cols, p * m, m);
        norms[q] = dot(cols, q * m, cols, q * m, m);
      }
    }
    if (!rotated) break;
    if (++sweep >= MAX_SWEEPS) throw new InvalidArgumentError('a', `the SVD did not converge after ${MAX_SWEEPS} Jacobi sweeps`);
  }
  const sing = new Float64Array(n);
  for (let j = 0; j < n; j++) sing[j] = Math.sqrt(dot(cols, j * m, cols, j * m, m));
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => sing[y]! - sing[x]! || x - y);
  const smax = sing[order[0]!]!;
  const U = new Float64Array(m * n);
  const S = new Float64Array(n);
  const V = new Float64Array(n * n);
  const ucols = new Float64Array(m * n);
  const missing: number[] = [];
  for (let r = 0; r < n; r++) {
    const j = order[r]!;
    S[r] = sing[j]!;
    for (let i = 0; i < n; i++) V[i * n + r] = vcols[j * n + i]!;
    if (sing[j]! > smax * m * Number.EPSILON && sing[j]! > 0) {
      for (let i = 0; i < m; i++) ucols[r * m + i] = cols[j * m + i]! / sing[j]!;
    } else {
      missing.push(r);
    }
  }
  completeOrthonormal(ucols, m, n, missing);
  for (let r = 0; r < n; r++) for (let i = 0; i < m; i++) U[i * n + r] = ucols[r * m + i]!;
  return { U, S, V };
}

/** Fills the columns `missing` of ucols (m x n, column j at j*m) with unit vectors orthogonal to all others. */
function completeOrthonormal(ucols: Float64Array, m: number, n: number, missing: number[]): void {
  if (missing.length === 0) return;
  const done = new Set(Array.from({ length: n }, (_, i) => i).filter((i) => !missing.includes(i)));
  const v = new Float64Array(m);
  let basis = 0;
  for (const r of missing) {
    for (;;) {
      if (basis >= m) throw new Error('svd: cannot complete the left singular vectors (internal error)');
      v.fill(0);
      v[basis++] = 1;
      // two passes of Gram-Schmidt for stability
      for (let pass = 0; pass < 2; pass++) {
        for (const j of done) {
          const c = dot(v, 0, ucols, j * m, m);
          for (let i = 0; i < m; i++) v[i]! -= c * ucols[j * m + i]!;
        }
      }
      const nr = Math.sqrt(dot(v, 0, v, 0, m));
      if (nr > 1e-8) {
        for (let i = 0; i < m; i++) ucols[r * m + i] = v[i]! / nr;
        done.add(r);
        break;
      }
    }
  }
}

function dot(a: Float64Array, ia: number, b: Float64Array, ib: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[ia + i]! * b[ib + i]!;
  return s;
}

/** (x, y) <- (c x - s y, s x + c y) on two columns of length len. */
function rotate(a: Float64Array, ip: number, iq: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = a[ip + i]!;
    const y = a[iq + i]!;
    a[ip + i] = c * x - s * y;
    a[iq + i] = s * x + c * y;
  }
}
