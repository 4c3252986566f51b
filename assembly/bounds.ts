// Exact L2 k-NN pruned by projected lower bounds (src/search/ProjectedL2Bounds.ts has the method):
// the bounds of a block of queries against every projected vector (the blocked kernel on the packed
// projections), the k smallest bounds of each query, the vectors whose bound is under a threshold,
// and, in the memory of the full vectors, the exact k best among those candidates.

import { fvec_L2sqr, fvec_norms_L2sqr, l2sqr } from './distances';
import { inner_products_packed } from './gemm';
import { heap_addn_ids, heap_heapify, heap_reorder, heap_replace_top } from './heap';

/**
 * Projections of n vectors (d floats each at X, centred here in place: x' = x - mean) on the r
 * orthonormal rows of a basis: out[i * (r+1) + a] = <x'_i, b_a> for a < r, and
 * out[i * (r+1) + r] = ||x'_i - sum_a <x'_i, b_a> b_a||, the norm of the residual itself (no
 * cancellation); norms[i] = ||x'_i||^2. Pb: the basis packed (pack_block of its r rows of d), PbT:
 * its transpose packed (pack_block of d rows of r). P: n*r floats, R: n*d floats of scratch.
 */
export function bounds_project(X: usize, n: i32, d: i32, mean: usize, r: i32, Pb: usize, PbT: usize, P: usize, R: usize, out: usize, norms: usize): void {
  const stride = <usize>d << 2;
  for (let i = 0; i < n; i++) {
    const x = X + <usize>i * stride;
    let t = 0;
    for (; t + 4 <= d; t += 4) {
      const o = <usize>t << 2;
      v128.store(x + o, f32x4.sub(v128.load(x + o), v128.load(mean + o)));
    }
    for (; t < d; t++) {
      const o = <usize>t << 2;
      store<f32>(x + o, load<f32>(x + o) - load<f32>(mean + o));
    }
  }
  fvec_norms_L2sqr(norms, X, d, n);
  inner_products_packed(P, r, X, n, Pb, r, d);
  inner_products_packed(R, d, P, n, PbT, d, r);
  const rb = <usize>(r + 1);
  for (let i = 0; i < n; i++) {
    const o = out + ((<usize>i * rb) << 2);
    memory.copy(o, P + ((<usize>i * <usize>r) << 2), <usize>r << 2);
    store<f32>(o + (<usize>r << 2), sqrt<f32>(fvec_L2sqr(X + <usize>i * stride, R + <usize>i * stride, d)));
  }
}

/**
 * For nq projected queries Q (d floats each) against the ny projected vectors packed at P (norms at
 * yn): B[i * ny + j] = max(0, ||q_i||^2 + ||y_j||^2 - 2 <q_i, y_j>), and the k smallest of each
 * row in max-heaps (hd: nq*k floats, hi: nq*k int64, ids j), unordered. qn: nq floats of scratch.
 */
export function bounds_block(B: usize, Q: usize, nq: i32, qn: usize, P: usize, yn: usize, ny: i32, d: i32, k: i32, hd: usize, hi: usize): void {
  fvec_norms_L2sqr(qn, Q, d, nq);
  inner_products_packed(B, ny, Q, nq, P, ny, d);
  const rowBytes = <usize>ny << 2;
  const zero = f32x4.splat(0);
  const two = f32x4.splat(2);
  heap_heapify(true, nq, k, hd, hi);
  for (let i = 0; i < nq; i++) {
    const row = B + <usize>i * rowBytes;
    const q = load<f32>(qn + (<usize>i << 2));
    const q4 = f32x4.splat(q);
    let j = 0;
    const hdi = hd + <usize>i * (<usize>k << 2);
    const hii = hi + <usize>i * (<usize>k << 3);
    let top = load<f32>(hdi);
    for (; j + 4 <= ny; j += 4) {
      const off = <usize>j << 2;
      const v4 = f32x4.pmax(f32x4.sub(f32x4.add(q4, v128.load(yn + off)), f32x4.mul(two, v128.load(row + off))), zero);
      v128.store(row + off, v4);
      // the lanes under the heap's top go in, in order
      if (!v128.any_true(f32x4.lt(v4, f32x4.splat(top)))) continue;
      for (let c = 0; c < 4; c++) {
        const v = load<f32>(row + off + (<usize>c << 2));
        if (v < top) {
          heap_replace_top(true, <usize>k, hdi, hii, v, <i64>(j + c));
          top = load<f32>(hdi);
        }
      }
    }
    for (; j < ny; j++) {
      const off = <usize>j << 2;
      let v = q + load<f32>(yn + off) - 2 * load<f32>(row + off);
      if (v < 0) v = 0;
      store<f32>(row + off, v);
      if (v < top) {
        heap_replace_top(true, <usize>k, hdi, hii, v, <i64>j);
        top = load<f32>(hdi);
      }
    }
  }
}

/**
 * Candidates of queries i0.. of a block: for each query i, the j < ny with B[i * ny + j] <= thr[i],
 * in increasing j, appended to ids (int64); lims[i + 1 - i0] is where query i's end. Stops before
 * a query whose candidates would pass cap ids; returns the number of queries done (at least one
 * when cap >= ny).
 */
export function bounds_select(B: usize, i0: i32, nq: i32, ny: i32, thr: usize, ids: usize, lims: usize, cap: i32): i32 {
  const rowBytes = <usize>ny << 2;
  let c = 0;
  store<i32>(lims, 0);
  let i = i0;
  for (; i < nq; i++) {
    if (c + ny > cap) break;
    const row = B + <usize>i * rowBytes;
    const t = load<f32>(thr + (<usize>i << 2));
    const t4 = f32x4.splat(t);
    let j = 0;
    for (; j + 4 <= ny; j += 4) {
      const m = i32x4.bitmask(f32x4.le(v128.load(row + (<usize>j << 2)), t4));
      if (m == 0) continue;
      for (let b = 0; b < 4; b++) {
        if ((m >> b) & 1) {
          store<i64>(ids + (<usize>c << 3), <i64>(j + b));
          c++;
        }
      }
    }
    for (; j < ny; j++) {
      if (load<f32>(row + (<usize>j << 2)) <= t) {
        store<i64>(ids + (<usize>c << 3), <i64>j);
        c++;
      }
    }
    store<i32>(lims + (<usize>(i + 1 - i0) << 2), c);
  }
  return i - i0;
}

/**
 * The exact k best of each query's candidates: query i (of nq, d floats at Q) against the vectors
 * y[ids[lims[i]] .. ids[lims[i+1]-1]] (row-major at y), by L2 distance; results sorted (ties by
 * id, -1 / FLT_MAX where fewer than k) into hd (nq*k floats) and hi (nq*k int64). dis: scratch of
 * as many floats as the largest candidate list.
 */
export function bounds_refine(Q: usize, nq: i32, d: i32, y: usize, ids: usize, lims: usize, k: i32, hd: usize, hi: usize, dis: usize): void {
  const stride = <usize>d << 2;
  heap_heapify(true, nq, k, hd, hi);
  for (let i = 0; i < nq; i++) {
    const q = Q + <usize>i * stride;
    const a = load<i32>(lims + (<usize>i << 2));
    const b = load<i32>(lims + (<usize>(i + 1) << 2));
    const list = ids + (<usize>a << 3);
    for (let j = 0; j < b - a; j++) {
      const id = load<i64>(list + (<usize>j << 3));
      store<f32>(dis + (<usize>j << 2), l2sqr(q, y + <usize>id * stride, d));
    }
    heap_addn_ids(true, k, hd + <usize>i * (<usize>k << 2), hi + <usize>i * (<usize>k << 3), dis, list, b - a);
  }
  heap_reorder(true, nq, k, hd, hi);
}
