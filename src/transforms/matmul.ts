/**
 * @module transforms/matmul
 * The matrix products of the vector transforms (Faiss calls BLAS sgemm / ssyrk for them), over the
 * tiled WebAssembly inner-product kernel of exact search (assembly/gemm.ts: pack_block +
 * inner_products_packed) for large products, and plain TypeScript loops for small ones:
 *
 * - {@link matmulABt}: out = X A^T, X n x k, A m x k, out n x m (float32): LinearTransform.apply
 *   (A = the transform's matrix, one row per output dimension), OPQ's projection.
 * - {@link matmulAtB}: X^T Y in float64, X n x p, Y n x q: PCA's covariance (X = Y = centred data),
 *   OPQ's cross-covariance. The kernel sums blocks of {@link ATB_ROWS} rows in float32 and the blocks
 *   are added in float64, so that sums over millions of rows keep ~1e-6 relative accuracy.
 *
 * The kernel works in a private shared WebAssembly memory (scratch, kept between calls, grown as
 * needed); inputs are copied in by chunks of at most {@link CHUNK_BYTES}. `matmulABtReference` and
 * `matmulAtBReference` are the plain TypeScript oracles (float64 sums) the tests compare against.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';

/** Bytes of rows copied into the scratch memory per kernel call. */
export const CHUNK_BYTES = 16 << 20;
/** Rows summed in float32 by the kernel before the float64 accumulation of matmulAtB. */
export const ATB_ROWS = 1024;
/** Below this many multiply-adds, the TypeScript loops are used (copying in costs more). */
const MIN_WASM_MADDS = 1 << 16;
/** Largest packed right-hand matrix handled by the kernel (else the TypeScript loops). */
const MAX_PACKED_BYTES = 512 << 20;
const PAGE = 65536;

let scratch: { memory: WebAssembly.Memory; kernels: WasmKernels; bytes: number } | undefined;

/** The scratch memory, at least `bytes` long. */
function scratchOf(bytes: number): { memory: WebAssembly.Memory; kernels: WasmKernels } {
  if (scratch === undefined || scratch.bytes < bytes) {
    const pages = Math.ceil(bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    scratch = { memory, kernels: kernelsFor(memory), bytes: pages * PAGE };
  }
  return scratch;
}

const align16 = (v: number): number => Math.ceil(v / 16) * 16;
const packedBytes = (ny: number, d: number): number => Math.ceil(ny / 8) * d * 32;

/** Which implementation to use: by size (default), or forced (tests). */
export interface MatmulOptions {
  wasm?: boolean;
}

/**
 * out[i*m + j] = sum_t x[i*k + t] * A[j*k + t]: the n x m product X A^T.
 * @param x n*k floats; @param A m*k floats; @param out optional output, size n*m
 */
export function matmulABt(x: Float32Array, n: number, k: number, A: Float32Array, m: number, out: Float32Array = new Float32Array(n * m), options: MatmulOptions = {}): Float32Array {
  const pBytes = packedBytes(m, k);
  const wasm = options.wasm ?? (n >= 8 && n * k * m >= MIN_WASM_MADDS && pBytes <= MAX_PACKED_BYTES);
  if (!wasm || n === 0) return matmulABtReference(x, n, k, A, m, out);
  const rows = Math.max(1, Math.min(n, Math.floor(CHUNK_BYTES / ((k + m) * 4))));
  const aOff = 0;
  const pOff = align16(m * k * 4);
  const xOff = align16(pOff + pBytes);
  const oOff = align16(xOff + rows * k * 4);
  const { memory, kernels } = scratchOf(oOff + rows * m * 4 + 64);
  const buf = memory.buffer;
  new Float32Array(buf, aOff, m * k).set(A.subarray(0, m * k));
  kernels.pack_block(pOff, aOff, m, k);
  for (let i0 = 0; i0 < n; i0 += rows) {
    const nr = Math.min(rows, n - i0);
    new Float32Array(buf, xOff, nr * k).set(x.subarray(i0 * k, (i0 + nr) * k));
    kernels.inner_products_packed(oOff, m, xOff, nr, pOff, m, k);
    out.set(new Float32Array(buf, oOff, nr * m), i0 * m);
  }
  return out;
}

/** The TypeScript oracle of matmulABt (float64 sums, rounded to float32). */
export function matmulABtReference(x: Float32Array, n: number, k: number, A: Float32Array, m: number, out: Float32Array = new Float32Array(n * m)): Float32Array {
  for (let i = 0; i < n; i++) {
    const xi = i * k;
    for (let j = 0; j < m; j++) {
      const aj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += x[xi + t]! * A[aj + t]!;
      out[i * m + j] = s;
    }
  }
  return out;
}

/**
 * X^T Y in float64: out[a*q + b] = sum_i X[i*p + a] * Y[i*q + b]; size p*q.
 * @param X n*p floats; @param Y n*q floats (pass X again for X^T X)
 */
export function matmulAtB(X: Float32Array, Y: Float32Array, n: number, p: number, q: number, options: MatmulOptions = {}): Float64Array {
  const c = Math.min(n, ATB_ROWS);
  const pBytes = packedBytes(q, c);
  const wasm = options.wasm ?? (n >= 8 && n * p * q >= MIN_WASM_MADDS && pBytes <= MAX_PACKED_BYTES);
  if (!wasm || n === 0) return matmulAtBReference(X, Y, n, p, q);
  const out = new Float64Array(p * q);
  const yOff = 0; // Y^T block, q x c
  const pOff = align16(q * c * 4);
  const xOff = align16(pOff + pBytes); // X^T block, p x c
  const oOff = align16(xOff + p * c * 4);
  const { memory, kernels } = scratchOf(oOff + p * q * 4 + 64);
  const buf = memory.buffer;
  for (let i0 = 0; i0 < n; i0 += c) {
    const nr = Math.min(c, n - i0);
    const yT = new Float32Array(buf, yOff, q * nr);
    const xT = new Float32Array(buf, xOff, p * nr);
    for (let i = 0; i < nr; i++) {
      const yi = (i0 + i) * q;
      for (let b = 0; b < q; b++) yT[b * nr + i] = Y[yi + b]!;
      const xi = (i0 + i) * p;
      for (let a = 0; a < p; a++) xT[a * nr + i] = X[xi + a]!;
    }
    kernels.pack_block(pOff, yOff, q, nr);
    kernels.inner_products_packed(oOff, q, xOff, p, pOff, q, nr);
    const part = new Float32Array(buf, oOff, p * q);
    for (let t = 0; t < p * q; t++) out[t]! += part[t]!;
  }
  return out;
}

/** The TypeScript oracle of matmulAtB (float64 throughout). */
export function matmulAtBReference(X: Float32Array, Y: Float32Array, n: number, p: number, q: number): Float64Array {
  const out = new Float64Array(p * q);
  const row = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < q; b++) row[b] = Y[i * q + b]!;
    for (let a = 0; a < p; a++) {
      const xa = X[i * p + a]!;
      if (xa === 0) continue;
      const o = a * q;
      for (let b = 0; b < q; b++) out[o + b]! += xa * row[b]!;
    }
  }
  return out;
}
