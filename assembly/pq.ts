// Product quantization kernels: look-up tables of a vector against the M sub-quantizers, encoding
// (nearest sub-centroid per sub-vector, bit-packed as Faiss's PQEncoderGeneric packs), and the scan
// of n codes through a look-up table fused with a top-k heap (flat codes or an inverted list).
//
// Centroids are read transposed: cT holds, for each sub-quantizer m and sub-dimension t, the ksub
// floats c[m][0..ksub)[t] contiguously (cT + ((m*dsub + t)*ksub + j)*4). Four (or eight) centroids
// then sit in the lanes of one or two v128, and every lane sums over t in order, from 0, with a
// separate multiply and add: the very float operations of Faiss's scalar fvec_L2sqr and
// fvec_inner_product, so that tables and codes are bit-identical to theirs.
//
// Codes: sub-code m occupies bits [m*nbits, (m+1)*nbits) of the code, least significant bit first
// (nbits = 8: byte m; nbits = 4: low nibble of byte m/2 for even m, high nibble for odd m).

import { fvec_L2sqr } from './distances';
import { heap_replace_top } from './heap';
import { select32 } from './lanes';

const INF: f32 = Infinity;

// ---- look-up tables ---------------------------------------------------------------------------

/**
 * Squared distances of four sub-centroids (transposed: at p, rows rowBytes apart) to a sub-vector of
 * four dimensions at xs (broadcast from memory: V8 re-broadcasts a splat held outside a loop in
 * every iteration anyway): the terms summed t = 0..3, from the first (0 + t0 is t0: a
 * square is never -0).
 */
@inline function l2_4_d4(xs: usize, p: usize, rowBytes: usize): v128 {
  let u = f32x4.sub(v128.load32_splat(xs), v128.load(p));
  let a = f32x4.mul(u, u);
  u = f32x4.sub(v128.load32_splat(xs, 4), v128.load(p + rowBytes));
  a = f32x4.add(a, f32x4.mul(u, u));
  u = f32x4.sub(v128.load32_splat(xs, 8), v128.load(p + 2 * rowBytes));
  a = f32x4.add(a, f32x4.mul(u, u));
  u = f32x4.sub(v128.load32_splat(xs, 12), v128.load(p + 3 * rowBytes));
  return f32x4.add(a, f32x4.mul(u, u));
}

@inline function row_l2(xs: usize, ct: usize, ksub: i32, dsub: i32, out: usize): void {
  const rowBytes = <usize>ksub << 2;
  let j = 0;
  if (dsub == 4) {
    // four centroids' distances per call, the same sums
    for (; j + 8 <= ksub; j += 8) {
      const p = ct + (<usize>j << 2);
      const a0 = l2_4_d4(xs, p, rowBytes);
      const a1 = l2_4_d4(xs, p + 16, rowBytes);
      v128.store(out + (<usize>j << 2), a0);
      v128.store(out + (<usize>j << 2), a1, 16);
    }
  }
  // 16 centroids at a time: four independent sums (each centroid's terms in the same order)
  for (; j + 16 <= ksub; j += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
      const d0 = f32x4.sub(xv, v128.load(p));
      const d1 = f32x4.sub(xv, v128.load(p, 16));
      const d2 = f32x4.sub(xv, v128.load(p, 32));
      const d3 = f32x4.sub(xv, v128.load(p, 48));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      a1 = f32x4.add(a1, f32x4.mul(d1, d1));
      a2 = f32x4.add(a2, f32x4.mul(d2, d2));
      a3 = f32x4.add(a3, f32x4.mul(d3, d3));
      p += rowBytes;
    }
    const o = out + (<usize>j << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; j + 8 <= ksub; j += 8) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
      const d0 = f32x4.sub(xv, v128.load(p));
      const d1 = f32x4.sub(xv, v128.load(p, 16));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      a1 = f32x4.add(a1, f32x4.mul(d1, d1));
      p += rowBytes;
    }
    v128.store(out + (<usize>j << 2), a0);
    v128.store(out + (<usize>j << 2), a1, 16);
  }
  for (; j + 4 <= ksub; j += 4) {
    let a0 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const d0 = f32x4.sub(f32x4.splat(load<f32>(xs + (<usize>t << 2))), v128.load(p));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      p += rowBytes;
    }
    v128.store(out + (<usize>j << 2), a0);
  }
  for (; j < ksub; j++) {
    let s: f32 = 0;
    for (let t = 0; t < dsub; t++) {
      const u = load<f32>(xs + (<usize>t << 2)) - load<f32>(ct + ((<usize>t * <usize>ksub + <usize>j) << 2));
      s += u * u;
    }
    store<f32>(out + (<usize>j << 2), s);
  }
}

/** row_l2 / row_ip for ksub = 16, the same sums in the same order. */
@inline function row16(l2: bool, xs: usize, ct: usize, dsub: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let p = ct;
  for (let t = 0; t < dsub; t++) {
    const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
    if (l2) {
      const d0 = f32x4.sub(xv, v128.load(p));
      const d1 = f32x4.sub(xv, v128.load(p, 16));
      const d2 = f32x4.sub(xv, v128.load(p, 32));
      const d3 = f32x4.sub(xv, v128.load(p, 48));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      a1 = f32x4.add(a1, f32x4.mul(d1, d1));
      a2 = f32x4.add(a2, f32x4.mul(d2, d2));
      a3 = f32x4.add(a3, f32x4.mul(d3, d3));
    } else {
      a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(p, 16)));
      a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(p, 32)));
      a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(p, 48)));
    }
    p += 64;
  }
  v128.store(out, a0);
  v128.store(out, a1, 16);
  v128.store(out, a2, 32);
  v128.store(out, a3, 48);
}

@inline function row_ip(xs: usize, ct: usize, ksub: i32, dsub: i32, out: usize): void {
  const rowBytes = <usize>ksub << 2;
  let j = 0;
  if (dsub == 4) {
    // the four coordinates held in registers, the same sums (from 0: a product -0 sums to +0)
    const x0 = f32x4.splat(load<f32>(xs));
    const x1 = f32x4.splat(load<f32>(xs, 4));
    const x2 = f32x4.splat(load<f32>(xs, 8));
    const x3 = f32x4.splat(load<f32>(xs, 12));
    const zero = f32x4.splat(0);
    for (; j + 8 <= ksub; j += 8) {
      const p = ct + (<usize>j << 2);
      let a0 = f32x4.add(zero, f32x4.mul(x0, v128.load(p)));
      let a1 = f32x4.add(zero, f32x4.mul(x0, v128.load(p, 16)));
      a0 = f32x4.add(a0, f32x4.mul(x1, v128.load(p + rowBytes)));
      a1 = f32x4.add(a1, f32x4.mul(x1, v128.load(p + rowBytes, 16)));
      a0 = f32x4.add(a0, f32x4.mul(x2, v128.load(p + 2 * rowBytes)));
      a1 = f32x4.add(a1, f32x4.mul(x2, v128.load(p + 2 * rowBytes, 16)));
      a0 = f32x4.add(a0, f32x4.mul(x3, v128.load(p + 3 * rowBytes)));
      a1 = f32x4.add(a1, f32x4.mul(x3, v128.load(p + 3 * rowBytes, 16)));
      v128.store(out + (<usize>j << 2), a0);
      v128.store(out + (<usize>j << 2), a1, 16);
    }
  }
  // 16 centroids at a time: four independent sums (each centroid's terms in the same order)
  for (; j + 16 <= ksub; j += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
      a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(p, 16)));
      a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(p, 32)));
      a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(p, 48)));
      p += rowBytes;
    }
    const o = out + (<usize>j << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; j + 8 <= ksub; j += 8) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
      a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(p, 16)));
      p += rowBytes;
    }
    v128.store(out + (<usize>j << 2), a0);
    v128.store(out + (<usize>j << 2), a1, 16);
  }
  for (; j + 4 <= ksub; j += 4) {
    let a0 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(xs + (<usize>t << 2))), v128.load(p)));
      p += rowBytes;
    }
    v128.store(out + (<usize>j << 2), a0);
  }
  for (; j < ksub; j++) {
    let s: f32 = 0;
    for (let t = 0; t < dsub; t++) s += load<f32>(xs + (<usize>t << 2)) * load<f32>(ct + ((<usize>t * <usize>ksub + <usize>j) << 2));
    store<f32>(out + (<usize>j << 2), s);
  }
}

/**
 * Look-up table of one vector x (M*dsub floats): out[m*ksub + j] = ||x_m - c_mj||^2 (metric 1) or
 * <x_m, c_mj> (metric 0). out: M*ksub floats. Faiss's compute_distance_table / compute_inner_prod_table.
 */
export function pq_distance_table(metric: i32, x: usize, cT: usize, M: i32, ksub: i32, dsub: i32, out: usize): void {
  const sub = (<usize>dsub * <usize>ksub) << 2;
  if (ksub == 16) {
    // 4-bit sub-quantizers: a row is four registers
    for (let m = 0; m < M; m++) row16(metric == 1, x + ((<usize>m * <usize>dsub) << 2), cT + <usize>m * sub, dsub, out + (<usize>m << 6));
    return;
  }
  for (let m = 0; m < M; m++) {
    const xs = x + ((<usize>m * <usize>dsub) << 2);
    const ct = cT + <usize>m * sub;
    const o = out + ((<usize>m * <usize>ksub) << 2);
    if (metric == 1) row_l2(xs, ct, ksub, dsub, o);
    else row_ip(xs, ct, ksub, dsub, o);
  }
}

/** n look-up tables (x: n*M*dsub floats, out: n*M*ksub floats). */
export function pq_distance_tables(metric: i32, x: usize, n: i32, cT: usize, M: i32, ksub: i32, dsub: i32, out: usize): void {
  const dBytes = (<usize>M * <usize>dsub) << 2;
  const tBytes = (<usize>M * <usize>ksub) << 2;
  for (let i = 0; i < n; i++) pq_distance_table(metric, x + <usize>i * dBytes, cT, M, ksub, dsub, out + <usize>i * tBytes);
}

/** out[i] = a[i] + bf * b[i] for i < n (Faiss's fvec_madd: a multiply, then an add). */
export function pq_madd(n: i32, a: usize, bf: f32, b: usize, out: usize): void {
  const bv = f32x4.splat(bf);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), f32x4.mul(bv, v128.load(b + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + bf * load<f32>(b + o));
  }
}

// ---- encoding ---------------------------------------------------------------------------------

/**
 * Index of the nearest of the ksub centroids of one sub-quantizer (first one on ties; 0 if none is
 * finite); its squared distance goes to disOut when disOut != 0.
 */
@inline function nearest(xs: usize, ct: usize, ksub: i32, dsub: i32, disOut: usize): i32 {
  const rowBytes = <usize>ksub << 2;
  let j = 0;
  let bestV = f32x4.splat(INF);
  let bestI = i32x4.splat(0);
  let jv = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  if (dsub == 4) {
    // sub-vectors of four dimensions (PQ64 at d = 256, and most PQ), the same sums
    for (; j + 8 <= ksub; j += 8) {
      const p = ct + (<usize>j << 2);
      const a0 = l2_4_d4(xs, p, rowBytes);
      const a1 = l2_4_d4(xs, p + 16, rowBytes);
      // a lane takes the new value and index only when strictly smaller (pmin: a0 < bestV ? a0 : bestV)
      let lt = f32x4.lt(a0, bestV);
      bestV = f32x4.pmin(bestV, a0);
      bestI = select32(jv, bestI, lt);
      jv = i32x4.add(jv, four);
      lt = f32x4.lt(a1, bestV);
      bestV = f32x4.pmin(bestV, a1);
      bestI = select32(jv, bestI, lt);
      jv = i32x4.add(jv, four);
    }
  }
  for (; j + 8 <= ksub; j += 8) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const xv = f32x4.splat(load<f32>(xs + (<usize>t << 2)));
      const d0 = f32x4.sub(xv, v128.load(p));
      const d1 = f32x4.sub(xv, v128.load(p, 16));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      a1 = f32x4.add(a1, f32x4.mul(d1, d1));
      p += rowBytes;
    }
    let lt = f32x4.lt(a0, bestV);
    bestV = f32x4.pmin(bestV, a0);
    bestI = select32(jv, bestI, lt);
    jv = i32x4.add(jv, four);
    lt = f32x4.lt(a1, bestV);
    bestV = f32x4.pmin(bestV, a1);
    bestI = select32(jv, bestI, lt);
    jv = i32x4.add(jv, four);
  }
  for (; j + 4 <= ksub; j += 4) {
    let a0 = f32x4.splat(0);
    let p = ct + (<usize>j << 2);
    for (let t = 0; t < dsub; t++) {
      const d0 = f32x4.sub(f32x4.splat(load<f32>(xs + (<usize>t << 2))), v128.load(p));
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      p += rowBytes;
    }
    const lt = f32x4.lt(a0, bestV);
    bestV = f32x4.pmin(bestV, a0);
    bestI = select32(jv, bestI, lt);
    jv = i32x4.add(jv, four);
  }
  // lanes hold the first minimum of their own indices; keep the smallest value, then the smallest index
  let bv = f32x4.extract_lane(bestV, 0);
  let bi = i32x4.extract_lane(bestI, 0);
  let v = f32x4.extract_lane(bestV, 1);
  let vi = i32x4.extract_lane(bestI, 1);
  if (v < bv || (v == bv && vi < bi)) { bv = v; bi = vi; }
  v = f32x4.extract_lane(bestV, 2);
  vi = i32x4.extract_lane(bestI, 2);
  if (v < bv || (v == bv && vi < bi)) { bv = v; bi = vi; }
  v = f32x4.extract_lane(bestV, 3);
  vi = i32x4.extract_lane(bestI, 3);
  if (v < bv || (v == bv && vi < bi)) { bv = v; bi = vi; }
  // the scalar tail comes after every lane's index, so strict < keeps the first minimum
  for (; j < ksub; j++) {
    let s: f32 = 0;
    for (let t = 0; t < dsub; t++) {
      const u = load<f32>(xs + (<usize>t << 2)) - load<f32>(ct + ((<usize>t * <usize>ksub + <usize>j) << 2));
      s += u * u;
    }
    if (s < bv) { bv = s; bi = j; }
  }
  if (disOut != 0) store<f32>(disOut, bv);
  return bi;
}

/**
 * Codes of n vectors (x: n*M*dsub floats): for each sub-vector the nearest sub-centroid (L2), packed
 * nbits per sub-code into codeSize = ceil(M*nbits/8) bytes per vector (unused high bits zero).
 * Faiss's ProductQuantizer::compute_codes with dsub < 16 (direct distances).
 */
export function pq_compute_codes(x: usize, n: i32, cT: usize, M: i32, ksub: i32, dsub: i32, nbits: i32, codes: usize): void {
  const codeSize = <usize>((M * nbits + 7) >> 3);
  const dBytes = (<usize>M * <usize>dsub) << 2;
  const sub = (<usize>dsub * <usize>ksub) << 2;
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * dBytes;
    let o = codes + <usize>i * codeSize;
    let buf: u32 = 0;
    let nb: i32 = 0;
    for (let m = 0; m < M; m++) {
      const c = nearest(xi + ((<usize>m * <usize>dsub) << 2), cT + <usize>m * sub, ksub, dsub, 0);
      buf |= <u32>c << nb;
      nb += nbits;
      while (nb >= 8) {
        store<u8>(o++, <u8>buf);
        buf >>= 8;
        nb -= 8;
      }
    }
    if (nb > 0) store<u8>(o, <u8>buf);
  }
}

/**
 * Nearest of k centroids (transposed: cT + (t*k + j)*4) for n vectors of dimension dsub: labels[i]
 * (i64) and its squared distance dis[i] (exact, direct). The assignment step of k-means for the
 * small dimensions of PQ sub-quantizers.
 */
export function pq_assign(x: usize, n: i32, cT: usize, k: i32, dsub: i32, labels: usize, dis: usize): void {
  const dBytes = <usize>dsub << 2;
  for (let i = 0; i < n; i++) {
    const c = nearest(x + <usize>i * dBytes, cT, k, dsub, dis + (<usize>i << 2));
    store<i64>(labels + (<usize>i << 3), <i64>c);
  }
}

// ---- scanning codes -----------------------------------------------------------------------------

/** Sub-code m of the code at c (nbits <= 8: at most two bytes). */
@inline function sub_code(c: usize, m: i32, nbits: i32, mask: u32): u32 {
  const bit = <usize>m * <usize>nbits;
  const p = c + (bit >> 3);
  const shift = <u32>(bit & 7);
  let v = <u32>load<u8>(p);
  if (shift + <u32>nbits > 8) v |= <u32>load<u8>(p + 1) << 8;
  return (v >> shift) & mask;
}

/** Sum over m of table[m][sub-code m] for one code: in order, or by groups of 4 (Faiss's IndexPQ for M % 4 == 0). */
@inline function code_dis(c: usize, M: i32, nbits: i32, ksub: i32, table: usize, grouped: bool): f32 {
  const rowBytes = <usize>ksub << 2;
  let s: f32 = 0;
  if (nbits == 8) {
    if (grouped) {
      let t = table;
      for (let m = 0; m < M; m += 4) {
        let g = load<f32>(t + (<usize>load<u8>(c + m) << 2));
        g += load<f32>(t + rowBytes + (<usize>load<u8>(c + m + 1) << 2));
        g += load<f32>(t + 2 * rowBytes + (<usize>load<u8>(c + m + 2) << 2));
        g += load<f32>(t + 3 * rowBytes + (<usize>load<u8>(c + m + 3) << 2));
        s += g;
        t += 4 * rowBytes;
      }
    } else {
      let t = table;
      for (let m = 0; m < M; m++) {
        s += load<f32>(t + (<usize>load<u8>(c + m) << 2));
        t += rowBytes;
      }
    }
  } else {
    const mask: u32 = (1 << nbits) - 1;
    let t = table;
    if (grouped) {
      for (let m = 0; m < M; m += 4) {
        let g = load<f32>(t + (<usize>sub_code(c, m, nbits, mask) << 2));
        g += load<f32>(t + rowBytes + (<usize>sub_code(c, m + 1, nbits, mask) << 2));
        g += load<f32>(t + 2 * rowBytes + (<usize>sub_code(c, m + 2, nbits, mask) << 2));
        g += load<f32>(t + 3 * rowBytes + (<usize>sub_code(c, m + 3, nbits, mask) << 2));
        s += g;
        t += 4 * rowBytes;
      }
    } else {
      for (let m = 0; m < M; m++) {
        s += load<f32>(t + (<usize>sub_code(c, m, nbits, mask) << 2));
        t += rowBytes;
      }
    }
  }
  return s;
}

/** Four 8-bit codes at once (independent sums, same order as code_dis). */
@inline function scan4_8(isMax: bool, c0: usize, cs: usize, M: i32, ksub: i32, table: usize, grouped: bool, dis0: f32, k: usize, hd: usize, hi: usize, useIds: bool, ids: usize, id0: i64): void {
  const rowBytes = <usize>ksub << 2;
  const c1 = c0 + cs, c2 = c1 + cs, c3 = c2 + cs;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  let t = table;
  if (grouped) {
    for (let m = 0; m < M; m += 4) {
      const t1 = t + rowBytes, t2 = t1 + rowBytes, t3 = t2 + rowBytes;
      let g0 = load<f32>(t + (<usize>load<u8>(c0 + m) << 2));
      let g1 = load<f32>(t + (<usize>load<u8>(c1 + m) << 2));
      let g2 = load<f32>(t + (<usize>load<u8>(c2 + m) << 2));
      let g3 = load<f32>(t + (<usize>load<u8>(c3 + m) << 2));
      g0 += load<f32>(t1 + (<usize>load<u8>(c0 + m + 1) << 2));
      g1 += load<f32>(t1 + (<usize>load<u8>(c1 + m + 1) << 2));
      g2 += load<f32>(t1 + (<usize>load<u8>(c2 + m + 1) << 2));
      g3 += load<f32>(t1 + (<usize>load<u8>(c3 + m + 1) << 2));
      g0 += load<f32>(t2 + (<usize>load<u8>(c0 + m + 2) << 2));
      g1 += load<f32>(t2 + (<usize>load<u8>(c1 + m + 2) << 2));
      g2 += load<f32>(t2 + (<usize>load<u8>(c2 + m + 2) << 2));
      g3 += load<f32>(t2 + (<usize>load<u8>(c3 + m + 2) << 2));
      g0 += load<f32>(t3 + (<usize>load<u8>(c0 + m + 3) << 2));
      g1 += load<f32>(t3 + (<usize>load<u8>(c1 + m + 3) << 2));
      g2 += load<f32>(t3 + (<usize>load<u8>(c2 + m + 3) << 2));
      g3 += load<f32>(t3 + (<usize>load<u8>(c3 + m + 3) << 2));
      s0 += g0;
      s1 += g1;
      s2 += g2;
      s3 += g3;
      t = t3 + rowBytes;
    }
  } else {
    for (let m = 0; m < M; m++) {
      s0 += load<f32>(t + (<usize>load<u8>(c0 + m) << 2));
      s1 += load<f32>(t + (<usize>load<u8>(c1 + m) << 2));
      s2 += load<f32>(t + (<usize>load<u8>(c2 + m) << 2));
      s3 += load<f32>(t + (<usize>load<u8>(c3 + m) << 2));
      t += rowBytes;
    }
  }
  offer(isMax, dis0 + s0, k, hd, hi, useIds, ids, id0);
  offer(isMax, dis0 + s1, k, hd, hi, useIds, ids + 8, id0 + 1);
  offer(isMax, dis0 + s2, k, hd, hi, useIds, ids + 16, id0 + 2);
  offer(isMax, dis0 + s3, k, hd, hi, useIds, ids + 24, id0 + 3);
}

@inline function offer(isMax: bool, v: f32, k: usize, hd: usize, hi: usize, useIds: bool, idp: usize, id: i64): void {
  const top = load<f32>(hd);
  if (isMax ? v < top : v > top) heap_replace_top(isMax, k, hd, hi, v, useIds ? load<i64>(idp) : id);
}

@inline function scan_codes(isMax: bool, codes: usize, n: i32, M: i32, nbits: i32, table: usize, grouped: bool, dis0: f32, k: i32, hd: usize, hi: usize, useIds: bool, ids: usize, idBase: i64): void {
  const ksub = 1 << nbits;
  const cs = <usize>((M * nbits + 7) >> 3);
  const kk = <usize>k;
  grouped = grouped && (M & 3) == 0;
  let j = 0;
  if (nbits == 8) {
    for (; j + 4 <= n; j += 4) {
      scan4_8(isMax, codes + <usize>j * cs, cs, M, ksub, table, grouped, dis0, kk, hd, hi, useIds, ids + (<usize>j << 3), idBase + j);
    }
  }
  for (; j < n; j++) {
    const v = dis0 + code_dis(codes + <usize>j * cs, M, nbits, ksub, table, grouped);
    offer(isMax, v, kk, hd, hi, useIds, ids + (<usize>j << 3), idBase + j);
  }
}

/**
 * Scans n flat codes (codeSize = ceil(M*nbits/8) bytes each) with a look-up table (M rows of
 * 2^nbits floats): distance dis0 + sum_m table[m][code_m], offered to one heap of size k (isMax: L2
 * max-heap; else inner-product min-heap) with id idBase + j. grouped: sum by groups of 4 (M % 4 == 0).
 */
export function pq_scan(isMax: bool, codes: usize, n: i32, M: i32, nbits: i32, table: usize, grouped: bool, dis0: f32, k: i32, hd: usize, hi: usize, idBase: i64): void {
  if (isMax) scan_codes(true, codes, n, M, nbits, table, grouped, dis0, k, hd, hi, false, 0, idBase);
  else scan_codes(false, codes, n, M, nbits, table, grouped, dis0, k, hd, hi, false, 0, idBase);
}

/** As pq_scan, for an inverted list: the int64 ids of the n codes are at `ids`. */
export function pq_scan_ids(isMax: bool, codes: usize, ids: usize, n: i32, M: i32, nbits: i32, table: usize, grouped: bool, dis0: f32, k: i32, hd: usize, hi: usize): void {
  if (isMax) scan_codes(true, codes, n, M, nbits, table, grouped, dis0, k, hd, hi, true, ids, 0);
  else scan_codes(false, codes, n, M, nbits, table, grouped, dis0, k, hd, hi, true, ids, 0);
}

/**
 * Distances of n codes through a table into out (n floats), no heap: for range search and for
 * callers that filter. Same sums as pq_scan.
 */
export function pq_code_distances(codes: usize, n: i32, M: i32, nbits: i32, table: usize, grouped: bool, dis0: f32, out: usize): void {
  const ksub = 1 << nbits;
  grouped = grouped && (M & 3) == 0;
  const cs = <usize>((M * nbits + 7) >> 3);
  for (let j = 0; j < n; j++) store<f32>(out + (<usize>j << 2), dis0 + code_dis(codes + <usize>j * cs, M, nbits, ksub, table, grouped));
}

/**
 * One probed list of an L2-by-residual IVFPQ search with precomputed tables (Faiss's
 * use_precomputed_table = 1) in one call: when makeTable, the list's table pre - 2 * sim2 at
 * `table` (pq_madd; a list scanned in several pieces makes it once); dis0 = ||q - c||^2 (c: the
 * list's centroid, d floats); then n codes (int64 ids at `ids`) scanned into the max-heap (hd, hi,
 * size k): code j is at dis0 + sum_m table[m][code_m], as pq_scan_ids.
 */
export function pq_ivf_precomputed_list(q: usize, c: usize, d: i32, pre: usize, sim2: usize, table: usize, makeTable: i32, M: i32, nbits: i32, codes: usize, ids: usize, n: i32, k: i32, hd: usize, hi: usize): void {
  const dis0 = fvec_L2sqr(q, c, d);
  if (rows_fit(M, nbits, n)) {
    scan_rows(false, pre, sim2, 0, M, codes, n, table, dis0, k, hd, hi, ids);
    return;
  }
  if (makeTable != 0) pq_madd(M << nbits, pre, -2, sim2, table);
  scan_codes(true, codes, n, M, nbits, table, false, dis0, k, hd, hi, true, ids, 0);
}

/** Whether scan_rows applies: 8-bit codes, and n sums beside a row in a table's room. */
@inline function rows_fit(M: i32, nbits: i32, n: i32): bool {
  return nbits == 8 && n + 256 <= (M << 8);
}

/**
 * The scan of an IVFPQ list's table for 8-bit codes, sub-quantizer by sub-quantizer: the table's row
 * m (256 floats) is made in `room` and every code's sum takes its term from it, the n sums kept
 * after the row. The same sums in the same order as scan_codes over the whole table (each code's
 * terms added m = 0, 1, ...), but each row is read from the first-level cache and the table is
 * never written whole. The rows: with precomputed tables, a = pre and b = sim2, row m = pre[m] -
 * 2 * sim2[m] (pq_madd); for a residual (`residual`), a = the residual r (M*dsub floats) and b = the
 * transposed centroids cT, row m = ||r_m - c_mj||^2 (pq_distance_table's). room: (256 + n) floats.
 */
@inline function scan_rows(residual: bool, a: usize, b: usize, dsub: i32, M: i32, codes: usize, n: i32, room: usize, dis0: f32, k: i32, hd: usize, hi: usize, ids: usize): void {
  const cs = <usize>M;
  const cs2 = cs << 1;
  const cs3 = cs2 + cs;
  const cs4 = cs << 2;
  const row = room;
  const acc = room + 1024;
  memory.fill(acc, 0, <usize>n << 2);
  for (let m = 0; m < M; m++) {
    if (residual) row_l2(a + ((<usize>m * <usize>dsub) << 2), b + ((<usize>m * <usize>dsub) << 10), 256, dsub, row);
    else pq_madd(256, a + (<usize>m << 10), -2, b + (<usize>m << 10), row);
    // pointers stepped by constants (a multiplication per step otherwise: see gemm.ts on addressing)
    let cp = codes + <usize>m;
    let ac = acc;
    const end4 = acc + ((<usize>n & ~3) << 2);
    const end = acc + (<usize>n << 2);
    while (ac < end4) {
      const t0 = load<f32>(row + (<usize>load<u8>(cp) << 2));
      const t1 = load<f32>(row + (<usize>load<u8>(cp + cs) << 2));
      const t2 = load<f32>(row + (<usize>load<u8>(cp + cs2) << 2));
      const t3 = load<f32>(row + (<usize>load<u8>(cp + cs3) << 2));
      v128.store(ac, f32x4.add(v128.load(ac), f32x4(t0, t1, t2, t3)));
      cp += cs4;
      ac += 16;
    }
    while (ac < end) {
      store<f32>(ac, load<f32>(ac) + load<f32>(row + (<usize>load<u8>(cp) << 2)));
      cp += cs;
      ac += 4;
    }
  }
  const kk = <usize>k;
  for (let j = 0; j < n; j++) offer(true, dis0 + load<f32>(acc + (<usize>j << 2)), kk, hd, hi, true, ids + (<usize>j << 3), 0);
}

/**
 * One probed list of an L2-by-residual IVFPQ search without precomputed tables (Faiss's
 * use_precomputed_table 0 or -1: IVF262144,PQ64's would take 17 GB) in one call: the residual
 * r = q - c at `r` (c: the list's centroid, d floats), its L2 table (pq_distance_table; for 8-bit
 * codes row by row, as scan_rows), then the n codes (int64 ids at `ids`) scanned into the max-heap
 * (hd, hi, size k) with dis0 = 0, as pq_scan_ids. table: M * 2^nbits floats of room.
 */
export function pq_ivf_residual_list(q: usize, c: usize, d: i32, cT: usize, M: i32, nbits: i32, dsub: i32, r: usize, table: usize, codes: usize, ids: usize, n: i32, k: i32, hd: usize, hi: usize): void {
  for (let t = 0; t < d; t++) {
    const o = <usize>t << 2;
    store<f32>(r + o, load<f32>(q + o) - load<f32>(c + o));
  }
  if (rows_fit(M, nbits, n)) {
    scan_rows(true, r, cT, dsub, M, codes, n, table, 0, k, hd, hi, ids);
    return;
  }
  pq_distance_table(1, r, cT, M, 1 << nbits, dsub, table);
  scan_codes(true, codes, n, M, nbits, table, false, 0, k, hd, hi, true, ids, 0);
}

/**
 * pq_ivf_precomputed_list for the m queries of a batch that probe one list (IVFPQ's list-by-list
 * batches): query qidx[r] (m int32) is row qidx[r] of X (d floats each), its inner-product table
 * row qidx[r] of SIM2 (M*2^nbits floats each), its heap at hd + qidx[r]*k*4 / hi + qidx[r]*k*8. The
 * list's precomputed table `pre` is read once for all of them. The same tables, dis0 and sums as
 * one query at a time.
 */
export function pq_ivf_precomputed_queries(X: usize, SIM2: usize, qidx: usize, m: i32, c: usize, d: i32, pre: usize, table: usize, M: i32, nbits: i32, codes: usize, ids: usize, n: i32, k: i32, hd: usize, hi: usize): void {
  const tab = M << nbits;
  const tabBytes = <usize>tab << 2;
  const row = <usize>d << 2;
  for (let r = 0; r < m; r++) {
    const q = <usize>load<i32>(qidx + (<usize>r << 2));
    const dis0 = fvec_L2sqr(X + q * row, c, d);
    const hdq = hd + q * (<usize>k << 2);
    const hiq = hi + q * (<usize>k << 3);
    if (rows_fit(M, nbits, n)) {
      scan_rows(false, pre, SIM2 + q * tabBytes, 0, M, codes, n, table, dis0, k, hdq, hiq, ids);
      continue;
    }
    pq_madd(tab, pre, -2, SIM2 + q * tabBytes, table);
    scan_codes(true, codes, n, M, nbits, table, false, dis0, k, hdq, hiq, true, ids, 0);
  }
}
