/**
 * @module kernels/pqReference
 * Plain TypeScript versions of the product-quantization kernels (assembly/pq.ts): the test oracle.
 * Same float operations in the same order (Math.fround after each one), so results are bit-identical
 * to the kernels', and to Faiss's scalar code.
 *
 * Centroids here are in Faiss's layout: sub-quantizer m, centroid j at (m*ksub + j)*dsub.
 */
import { Heap } from './reference.js';

const f = Math.fround;

/** out[m*ksub + j] = ||x_m - c_mj||^2 (L2) or <x_m, c_mj> (IP), summed over t in order. */
export function pqDistanceTableRef(metric: 'L2' | 'IP', x: Float32Array, xo: number, centroids: Float32Array, M: number, ksub: number, dsub: number, out = new Float32Array(M * ksub)): Float32Array {
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < ksub; j++) {
      const c = (m * ksub + j) * dsub;
      let s = 0;
      for (let t = 0; t < dsub; t++) {
        const xv = x[xo + m * dsub + t]!;
        const cv = centroids[c + t]!;
        if (metric === 'L2') {
          const u = f(xv - cv);
          s = f(s + f(u * u));
        } else {
          s = f(s + f(xv * cv));
        }
      }
      out[m * ksub + j] = s;
    }
  }
  return out;
}

/** Faiss's PQEncoderGeneric: sub-codes of nbits bits, least significant bit first. */
export function packCode(subCodes: ArrayLike<number>, nbits: number, out: Uint8Array, offset = 0): void {
  let buf = 0;
  let nb = 0;
  let o = offset;
  for (let m = 0; m < subCodes.length; m++) {
    buf |= subCodes[m]! << nb;
    nb += nbits;
    while (nb >= 8) {
      out[o++] = buf & 255;
      buf >>>= 8;
      nb -= 8;
    }
  }
  if (nb > 0) out[o] = buf & 255;
}

/** Sub-code m of the code at codes[offset..] (Faiss's PQDecoderGeneric). */
export function subCode(codes: Uint8Array, offset: number, m: number, nbits: number): number {
  const bit = m * nbits;
  const p = offset + (bit >> 3);
  const shift = bit & 7;
  let v = codes[p]!;
  if (shift + nbits > 8) v |= codes[p + 1]! << 8;
  return (v >> shift) & ((1 << nbits) - 1);
}

/** Codes of n vectors: nearest sub-centroid (L2, first on ties, 0 when none is finite), packed. */
export function pqComputeCodesRef(x: Float32Array, n: number, centroids: Float32Array, M: number, ksub: number, dsub: number, nbits: number): Uint8Array {
  const codeSize = Math.ceil((M * nbits) / 8);
  const out = new Uint8Array(n * codeSize);
  const tab = new Float32Array(M * ksub);
  const sub = new Int32Array(M);
  for (let i = 0; i < n; i++) {
    pqDistanceTableRef('L2', x, i * M * dsub, centroids, M, ksub, dsub, tab);
    for (let m = 0; m < M; m++) {
      let best = Infinity;
      let bi = 0;
      for (let j = 0; j < ksub; j++) {
        const v = tab[m * ksub + j]!;
        if (v < best) {
          best = v;
          bi = j;
        }
      }
      sub[m] = bi;
    }
    packCode(sub, nbits, out, i * codeSize);
  }
  return out;
}

/** dis0 + sum_m table[m][code_m], in order, or by groups of 4 when grouped and M % 4 == 0 (Faiss's IndexPQ). */
export function pqCodeDistanceRef(codes: Uint8Array, offset: number, M: number, nbits: number, table: Float32Array, grouped: boolean, dis0: number): number {
  const ksub = 1 << nbits;
  let s = 0;
  if (grouped && M % 4 === 0) {
    for (let m = 0; m < M; m += 4) {
      let g = table[m * ksub + subCode(codes, offset, m, nbits)]!;
      for (let u = 1; u < 4; u++) g = f(g + table[(m + u) * ksub + subCode(codes, offset, m + u, nbits)]!);
      s = f(s + g);
    }
  } else {
    for (let m = 0; m < M; m++) s = f(s + table[m * ksub + subCode(codes, offset, m, nbits)]!);
  }
  return f(f(dis0) + s);
}

/** The k best of n codes through a table (ids: idBase + j, or ids[j]); best first, padded. */
export function pqScanRef(
  metric: 'L2' | 'IP',
  codes: Uint8Array,
  n: number,
  M: number,
  nbits: number,
  table: Float32Array,
  grouped: boolean,
  dis0: number,
  k: number,
  ids?: BigInt64Array,
  idBase = 0n,
): { dis: Float32Array; ids: BigInt64Array } {
  const codeSize = Math.ceil((M * nbits) / 8);
  const h = new Heap(k, metric === 'L2');
  for (let j = 0; j < n; j++) {
    h.push(pqCodeDistanceRef(codes, j * codeSize, M, nbits, table, grouped, dis0), ids ? ids[j]! : idBase + BigInt(j));
  }
  return h.reorder();
}
