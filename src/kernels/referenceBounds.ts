/**
 * @module kernels/referenceBounds
 * Plain TypeScript oracles of the projected-bounds kernels (assembly/bounds.ts), in double: the
 * tests compare the WebAssembly results with them, and search with bounds against a full scan.
 */
import { Heap } from './reference.js';

/**
 * Reference of bounds_project: for each of the n rows of x (d floats), x' = x - mean,
 * low[i*(r+1) + a] = <x', basis_a>, low[i*(r+1) + r] = ||x' - sum_a <x', basis_a> basis_a||,
 * norms[i] = ||x'||^2. basis: r rows of d floats.
 */
export function boundsProjectReference(x: Float32Array, n: number, d: number, mean: Float32Array, basis: Float32Array, r: number): { low: Float64Array; norms: Float64Array } {
  const low = new Float64Array(n * (r + 1));
  const norms = new Float64Array(n);
  const xc = new Float64Array(d);
  const res = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let nn = 0;
    for (let t = 0; t < d; t++) {
      xc[t] = Math.fround(x[i * d + t]! - mean[t]!);
      nn += xc[t]! * xc[t]!;
    }
    norms[i] = nn;
    res.set(xc);
    for (let a = 0; a < r; a++) {
      let p = 0;
      for (let t = 0; t < d; t++) p += xc[t]! * basis[a * d + t]!;
      low[i * (r + 1) + a] = p;
      for (let t = 0; t < d; t++) res[t] -= p * basis[a * d + t]!;
    }
    let rr = 0;
    for (let t = 0; t < d; t++) rr += res[t]! * res[t]!;
    low[i * (r + 1) + r] = Math.sqrt(rr);
  }
  return { low, norms };
}

/**
 * Reference of bounds_block: B[i*ny + j] = ||q_i - y_j||^2 for nq rows q and ny rows y of d floats,
 * and the ids of the k smallest of each row, sorted (ties by id).
 */
export function boundsBlockReference(Q: Float32Array, nq: number, Y: Float32Array, ny: number, d: number, k: number): { B: Float64Array; ids: BigInt64Array } {
  const B = new Float64Array(nq * ny);
  const ids = new BigInt64Array(nq * k);
  for (let i = 0; i < nq; i++) {
    const h = new Heap(k, true);
    for (let j = 0; j < ny; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const u = Q[i * d + t]! - Y[j * d + t]!;
        s += u * u;
      }
      B[i * ny + j] = s;
      h.push(Math.fround(s), BigInt(j));
    }
    ids.set(h.reorder().ids, i * k);
  }
  return { B, ids };
}

/** Reference of bounds_select for one row: the j with row[j] <= thr, increasing. */
export function boundsSelectReference(row: Float32Array, thr: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < row.length; j++) if (row[j]! <= thr) out.push(j);
  return out;
}

/**
 * Reference of bounds_refine for one query: the k best of the candidate rows of y by L2 distance
 * (summed in double, rounded to float), sorted, ties by id; -1 where fewer than k.
 */
export function boundsRefineReference(q: Float32Array, y: Float32Array, d: number, candidates: readonly number[], k: number): { dis: Float32Array; ids: BigInt64Array } {
  const h = new Heap(k, true);
  for (const j of candidates) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const u = q[t]! - y[j * d + t]!;
      s += u * u;
    }
    h.push(Math.fround(s), BigInt(j));
  }
  return h.reorder();
}
