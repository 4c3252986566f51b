// Exact k-nearest-neighbour scans: distances fused with top-k heaps, for one query (memory-bound,
// direct distances) and for a block of queries (compute-bound, through the tiled inner products and
// ||q||^2 + ||y||^2 - 2<q,y>, as Faiss does with BLAS for batches).
// Heaps must be initialised by the caller (heap_heapify) so that scans over several storage
// segments continue the same heaps; ids are idBase + j.

import { fvec_L2sqr_ny, fvec_inner_products_ny, fvec_norms_L2sqr } from './distances';
import { heap_addn, heap_addn_ids, heap_replace_top } from './heap';
import { inner_products_packed, pack_block, packed_bytes } from './gemm';

const BLOCK: i32 = 256;

/**
 * One query against ny vectors. metric: 1 = L2 (max-heap), 0 = inner product (min-heap).
 * tmp: scratch of BLOCK (256) floats.
 */
export function knn_1q(metric: i32, q: usize, y: usize, d: i32, ny: i32, k: i32, hd: usize, hi: usize, idBase: i64, tmp: usize): void {
  const stride = <usize>d << 2;
  const isL2 = metric == 1;
  for (let j0 = 0; j0 < ny; j0 += BLOCK) {
    const nb = min(BLOCK, ny - j0);
    const yb = y + <usize>j0 * stride;
    if (isL2) fvec_L2sqr_ny(tmp, q, yb, d, nb);
    else fvec_inner_products_ny(tmp, q, yb, d, nb);
    heap_addn(isL2, k, hd, hi, tmp, nb, idBase + j0);
  }
}

/**
 * One query against ny vectors whose int64 ids are at `ids` (an inverted list): the ids go into the
 * heap, so ties break on them as in Faiss. tmp: BLOCK floats.
 */
export function knn_1q_ids(metric: i32, q: usize, y: usize, d: i32, ny: i32, k: i32, hd: usize, hi: usize, ids: usize, tmp: usize): void {
  const stride = <usize>d << 2;
  const isL2 = metric == 1;
  for (let j0 = 0; j0 < ny; j0 += BLOCK) {
    const nb = min(BLOCK, ny - j0);
    const yb = y + <usize>j0 * stride;
    if (isL2) fvec_L2sqr_ny(tmp, q, yb, d, nb);
    else fvec_inner_products_ny(tmp, q, yb, d, nb);
    heap_addn_ids(isL2, k, hd, hi, tmp, ids + (<usize>j0 << 3), nb);
  }
}

/** Bytes of scratch knn_batch needs for nq queries, vectors of dimension d, blocks of yblock vectors. */
export function knn_batch_tmp_bytes(nq: i32, d: i32, yblock: i32): usize {
  return ((<usize>nq + <usize>yblock + <usize>nq * <usize>yblock) << 2) + packed_bytes(yblock, d);
}

/**
 * nq queries (row-major at Q) against ny vectors, yblock vectors at a time (a multiple of 8);
 * heap i is at hd + i*k*4 / hi + i*k*8. The id of vector j is ids[j] (int64 at `ids`, an inverted
 * list's) when ids != 0, else idBase + j. tmp: knn_batch_tmp_bytes(nq, d, yblock) bytes.
 */
export function knn_batch(metric: i32, Q: usize, nq: i32, y: usize, d: i32, ny: i32, k: i32, hd: usize, hi: usize, idBase: i64, ids: usize, tmp: usize, yblock: i32): void {
  const stride = <usize>d << 2;
  const isL2 = metric == 1;
  const qnorms = tmp;
  const ynorms = qnorms + (<usize>nq << 2);
  const tile = ynorms + (<usize>yblock << 2);
  const packed = tile + ((<usize>nq * <usize>yblock) << 2);
  if (isL2) fvec_norms_L2sqr(qnorms, Q, d, nq);
  for (let j0 = 0; j0 < ny; j0 += yblock) {
    const nb = min(yblock, ny - j0);
    const yb = y + <usize>j0 * stride;
    if (isL2) fvec_norms_L2sqr(ynorms, yb, d, nb);
    pack_block(packed, yb, nb, d);
    inner_products_packed(tile, yblock, Q, nq, packed, nb, d);
    tile_to_heaps(isL2, tile, yblock, qnorms, ynorms, nq, nb, k, hd, hi, idBase + j0, ids != 0 ? ids + (<usize>j0 << 3) : 0);
  }
}

/** Bytes of scratch knn_batch_packed needs for nq queries and blocks of yblock vectors. */
export function knn_batch_packed_tmp_bytes(nq: i32, yblock: i32): usize {
  return (<usize>nq + <usize>nq * <usize>yblock) << 2;
}

/**
 * knn_batch against ny vectors already packed (pack_block's layout, at P) with their squared norms
 * at yn (L2; unused for inner product): the same results, without packing them again for every
 * block of queries. tmp: knn_batch_packed_tmp_bytes(nq, yblock) bytes.
 */
export function knn_batch_packed(metric: i32, Q: usize, nq: i32, P: usize, yn: usize, d: i32, ny: i32, k: i32, hd: usize, hi: usize, idBase: i64, ids: usize, tmp: usize, yblock: i32): void {
  const isL2 = metric == 1;
  const qnorms = tmp;
  const tile = qnorms + (<usize>nq << 2);
  if (isL2) fvec_norms_L2sqr(qnorms, Q, d, nq);
  for (let j0 = 0; j0 < ny; j0 += yblock) {
    const nb = min(yblock, ny - j0);
    inner_products_packed(tile, yblock, Q, nq, P + ((<usize>(j0 >> 3) * <usize>d) << 5), nb, d);
    tile_to_heaps(isL2, tile, yblock, qnorms, yn + (<usize>j0 << 2), nq, nb, k, hd, hi, idBase + j0, ids != 0 ? ids + (<usize>j0 << 3) : 0);
  }
}

/**
 * One inverted list against the m queries of a batch that probe it (IVF's list-by-list search):
 * query qidx[r] (m int32 at `qidx`) is row qidx[r] of X (d floats each), its heap at
 * hd + qidx[r]*k*4 / hi + qidx[r]*k*8. qb queries at a time are gathered into Qp (qb*d floats; minus
 * the d floats at csub when csub != 0, the list's centroid for residual queries) with their heaps
 * into HDp / HIp (qb*k), searched with knn_batch (the list row-major at y) or knn_batch_packed (the
 * list packed at y with its squared norms at yn, when packed != 0), and the heaps put back. The list
 * entries' ids are ids[j] (int64). tmp: knn_batch_tmp_bytes(qb, d, yblock) bytes.
 */
export function knn_list_batch(metric: i32, X: usize, qidx: usize, m: i32, y: usize, yn: usize, packed: i32, d: i32, ny: i32, k: i32, hd: usize, hi: usize, ids: usize, Qp: usize, HDp: usize, HIp: usize, qb: i32, csub: usize, tmp: usize, yblock: i32): void {
  const row = <usize>d << 2;
  const kd = <usize>k << 2;
  const ki = <usize>k << 3;
  for (let c0 = 0; c0 < m; c0 += qb) {
    const mm = min(qb, m - c0);
    for (let r = 0; r < mm; r++) {
      const q = <usize>load<i32>(qidx + (<usize>(c0 + r) << 2));
      const dst = Qp + <usize>r * row;
      memory.copy(dst, X + q * row, row);
      if (csub != 0) {
        let t: usize = 0;
        for (; t + 16 <= row; t += 16) v128.store(dst + t, f32x4.sub(v128.load(dst + t), v128.load(csub + t)));
        for (; t < row; t += 4) store<f32>(dst + t, load<f32>(dst + t) - load<f32>(csub + t));
      }
      memory.copy(HDp + <usize>r * kd, hd + q * kd, kd);
      memory.copy(HIp + <usize>r * ki, hi + q * ki, ki);
    }
    if (packed != 0) knn_batch_packed(metric, Qp, mm, y, yn, d, ny, k, HDp, HIp, 0, ids, tmp, yblock);
    else knn_batch(metric, Qp, mm, y, d, ny, k, HDp, HIp, 0, ids, tmp, yblock);
    for (let r = 0; r < mm; r++) {
      const q = <usize>load<i32>(qidx + (<usize>(c0 + r) << 2));
      memory.copy(hd + q * kd, HDp + <usize>r * kd, kd);
      memory.copy(hi + q * ki, HIp + <usize>r * ki, ki);
    }
  }
}

/**
 * Offers a tile of inner products (nq rows of nb, row stride ldt floats) to the nq heaps: as L2
 * distances max(0, ||q||^2 + ||y||^2 - 2<q,y>) (qnorms, ynorms) or as similarities. The id of
 * column j is ids[j] when ids != 0, else idBase + j.
 */
@inline function tile_to_heaps(isL2: bool, tile: usize, ldt: i32, qnorms: usize, ynorms: usize, nq: i32, nb: i32, k: i32, hd: usize, hi: usize, idBase: i64, ids: usize): void {
  const kk = <usize>k;
  for (let i = 0; i < nq; i++) {
    const hdi = hd + <usize>i * (kk << 2);
    const hii = hi + <usize>i * (kk << 3);
    const row = tile + ((<usize>i * <usize>ldt) << 2);
    let top = load<f32>(hdi);
    // four candidates at a time against the heap's top; the lanes that beat it go in, in order
    let j = 0;
    if (isL2) {
      const qn = load<f32>(qnorms + (<usize>i << 2));
      const qn4 = f32x4.splat(qn);
      const zero = f32x4.splat(0);
      const two = f32x4.splat(2);
      for (; j + 4 <= nb; j += 4) {
        const off = <usize>j << 2;
        const dis4 = f32x4.pmax(f32x4.sub(f32x4.add(qn4, v128.load(ynorms + off)), f32x4.mul(two, v128.load(row + off))), zero);
        if (!v128.any_true(f32x4.lt(dis4, f32x4.splat(top)))) continue;
        for (let c = 0; c < 4; c++) {
          // the same expression as the vector lanes (and as the scalar tail), so the same float
          const dis = qn + load<f32>(ynorms + off + (<usize>c << 2)) - 2 * load<f32>(row + off + (<usize>c << 2));
          const dc = dis < 0 ? <f32>0 : dis;
          if (dc < top) {
            heap_replace_top(true, kk, hdi, hii, dc, ids != 0 ? load<i64>(ids + (<usize>(j + c) << 3)) : idBase + j + c);
            top = load<f32>(hdi);
          }
        }
      }
      for (; j < nb; j++) {
        let dis = qn + load<f32>(ynorms + (<usize>j << 2)) - 2 * load<f32>(row + (<usize>j << 2));
        if (dis < 0) dis = 0;
        if (dis < top) {
          heap_replace_top(true, kk, hdi, hii, dis, ids != 0 ? load<i64>(ids + (<usize>j << 3)) : idBase + j);
          top = load<f32>(hdi);
        }
      }
    } else {
      for (; j + 4 <= nb; j += 4) {
        const off = <usize>j << 2;
        if (!v128.any_true(f32x4.gt(v128.load(row + off), f32x4.splat(top)))) continue;
        for (let c = 0; c < 4; c++) {
          const dis = load<f32>(row + off + (<usize>c << 2));
          if (dis > top) {
            heap_replace_top(false, kk, hdi, hii, dis, ids != 0 ? load<i64>(ids + (<usize>(j + c) << 3)) : idBase + j + c);
            top = load<f32>(hdi);
          }
        }
      }
      for (; j < nb; j++) {
        const dis = load<f32>(row + (<usize>j << 2));
        if (dis > top) {
          heap_replace_top(false, kk, hdi, hii, dis, ids != 0 ? load<i64>(ids + (<usize>j << 3)) : idBase + j);
          top = load<f32>(hdi);
        }
      }
    }
  }
}

/**
 * Range search of one query: writes the positions j (< ny) and distances of the vectors within
 * radius (L2: dis < radius; IP: dis > radius) to outIdx (i32) / outDis, returns how many.
 * The caller gives room for ny results. tmp: BLOCK floats.
 */
export function range_1q(metric: i32, q: usize, y: usize, d: i32, ny: i32, radius: f32, outIdx: usize, outDis: usize, tmp: usize): i32 {
  const stride = <usize>d << 2;
  const isL2 = metric == 1;
  let nres = 0;
  for (let j0 = 0; j0 < ny; j0 += BLOCK) {
    const nb = min(BLOCK, ny - j0);
    const yb = y + <usize>j0 * stride;
    if (isL2) fvec_L2sqr_ny(tmp, q, yb, d, nb);
    else fvec_inner_products_ny(tmp, q, yb, d, nb);
    for (let j = 0; j < nb; j++) {
      const v = load<f32>(tmp + (<usize>j << 2));
      if (isL2 ? v < radius : v > radius) {
        store<i32>(outIdx + (<usize>nres << 2), j0 + j);
        store<f32>(outDis + (<usize>nres << 2), v);
        nres++;
      }
    }
  }
  return nres;
}
