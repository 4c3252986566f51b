// Scalar quantizer kernels: distances of one query to n SQ codes, scanned in place, and a top-k scan.
//
// qtype is Faiss's ScalarQuantizer::QuantizerType: 0 QT_8bit, 1 QT_4bit, 2 QT_8bit_uniform,
// 3 QT_4bit_uniform, 4 QT_fp16, 5 QT_8bit_direct, 6 QT_6bit. Codes are Faiss's byte layouts:
// 8 bits one byte per component; 4 bits two per byte, even components in the low nibble; 6 bits
// four components in three bytes (little-endian 24-bit word, component k at bit 6k); fp16 two
// bytes per component.
//
// Component j of a code c_j reconstructs as vmin_j + (c_j + 0.5) / M * vdiff_j (M = 2^bits - 1),
// written here as B_j + A_j * c_j with A_j = vdiff_j / M and B_j = vmin_j + A_j / 2, tables the
// caller computes once from the trained values (uniform ones broadcast over d; A = 1, B = 0 for
// fp16 and 8bit_direct). Per query, sq_set_query folds the query into a third table T so that
//   L2: ||q - x||^2   = sum_j (T_j - A_j c_j)^2          with T = q - c - B
//   IP: <q, x>        = dis0 + sum_j T_j c_j              with T = q * A, dis0 = <q, B> (+ <q, c>)
// where c is an optional centroid (IVF by residual: x is then the reconstruction of the residual).
//
// Tables at `tab` (16-byte aligned), dp = d rounded up to a multiple of 4 floats each:
//   A at tab, B at tab + 4 dp, T at tab + 8 dp.

import { heap_addn, heap_addn_ids } from './heap';
import { fvec_norms_L2sqr } from './distances';
import { pack_block } from './gemm';

const BLOCK: i32 = 256;

@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// c - a * b
@inline function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Bytes per code (Faiss's code_size). */
export function sq_code_size(qtype: i32, d: i32): i32 {
  if (qtype == 1 || qtype == 3) return (d + 1) >> 1;
  if (qtype == 6) return (d * 6 + 7) >> 3;
  if (qtype == 4) return d << 1;
  return d;
}

/** Bytes of the tables A, B, T for dimension d. */
export function sq_tables_bytes(d: i32): usize {
  return (<usize>((d + 3) & ~3) << 2) * 3;
}

/**
 * Folds query q (and centroid c when hasC) into table T; returns dis0, the constant added to every
 * inner product (0 for L2).
 */
export function sq_set_query(metric: i32, q: usize, c: usize, hasC: i32, tab: usize, d: i32): f32 {
  const dp = <usize>((d + 3) & ~3) << 2;
  const A = tab;
  const B = tab + dp;
  const T = tab + 2 * dp;
  if (metric == 1) {
    for (let j = 0; j < d; j++) {
      const o = <usize>j << 2;
      let r = load<f32>(q + o);
      if (hasC) r -= load<f32>(c + o);
      store<f32>(T + o, r - load<f32>(B + o));
    }
    return 0;
  }
  let sb: f32 = 0;
  let sc: f32 = 0;
  for (let j = 0; j < d; j++) {
    const o = <usize>j << 2;
    const qj = load<f32>(q + o);
    store<f32>(T + o, qj * load<f32>(A + o));
    sb += qj * load<f32>(B + o);
    if (hasC) sc += qj * load<f32>(c + o);
  }
  return sb + sc;
}

// One group of 4 components with integer values v (as floats) at table offset o.
@inline function step(isL2: bool, acc: v128, v: v128, A: usize, T: usize, o: usize): v128 {
  if (isL2) {
    const t = nmadd(v128.load(A + o), v, v128.load(T + o));
    return madd(t, t, acc);
  }
  return madd(v128.load(T + o), v, acc);
}

// Same, for components already reconstructed (fp16): A = 1.
@inline function stepDirect(isL2: bool, acc: v128, x: v128, T: usize, o: usize): v128 {
  if (isL2) {
    const t = f32x4.sub(v128.load(T + o), x);
    return madd(t, t, acc);
  }
  return madd(v128.load(T + o), x, acc);
}

@inline function scalarStep(isL2: bool, s: f32, v: f32, A: usize, T: usize, j: i32): f32 {
  const o = <usize>j << 2;
  if (isL2) {
    const t = load<f32>(T + o) - load<f32>(A + o) * v;
    return s + t * t;
  }
  return s + load<f32>(T + o) * v;
}

@inline function u8x4ToF32(v: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v)));
}

// ---- per-code distances, one function per codec ------------------------------------------------

@inline function dis8(isL2: bool, A: usize, T: usize, d: i32, code: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= d; j += 16) {
    const v = v128.load(code + <usize>j);
    const l = i16x8.extend_low_i8x16_u(v);
    const h = i16x8.extend_high_i8x16_u(v);
    const o = <usize>j << 2;
    a0 = step(isL2, a0, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(l)), A, T, o);
    a1 = step(isL2, a1, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(l)), A, T, o + 16);
    a2 = step(isL2, a2, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(h)), A, T, o + 32);
    a3 = step(isL2, a3, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(h)), A, T, o + 48);
  }
  for (; j + 4 <= d; j += 4) {
    a0 = step(isL2, a0, u8x4ToF32(v128.load32_zero(code + <usize>j)), A, T, <usize>j << 2);
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; j < d; j++) s = scalarStep(isL2, s, <f32>load<u8>(code + <usize>j), A, T, j);
  return s;
}

@inline function dis4(isL2: bool, A: usize, T: usize, d: i32, code: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const mask = i8x16.splat(0x0f);
  let j = 0;
  for (; j + 16 <= d; j += 16) {
    const b = v128.load64_zero(code + (<usize>j >> 1));
    const v = i8x16.shuffle(v128.and(b, mask), i8x16.shr_u(b, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const l = i16x8.extend_low_i8x16_u(v);
    const h = i16x8.extend_high_i8x16_u(v);
    const o = <usize>j << 2;
    a0 = step(isL2, a0, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(l)), A, T, o);
    a1 = step(isL2, a1, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(l)), A, T, o + 16);
    a2 = step(isL2, a2, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(h)), A, T, o + 32);
    a3 = step(isL2, a3, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(h)), A, T, o + 48);
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; j < d; j++) {
    const v = (<u32>load<u8>(code + (<usize>j >> 1)) >> (<u32>(j & 1) << 2)) & 15;
    s = scalarStep(isL2, s, <f32>v, A, T, j);
  }
  return s;
}

// Component values of 4 groups of 3 bytes (12 bytes of v): lanes [3g, 3g|3g+1, 3g+1|3g+2, 3g+2]
// scaled by [64, 1, 4, 16] put each 6-bit field at bits 6..11.
@inline function six(v: v128, lanes: v128): v128 {
  const m = i32x4.mul(lanes, i32x4(64, 1, 4, 16));
  return f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(m, 6), i32x4.splat(63)));
}

// Component j of a 6-bit code, reading only the code's own bytes.
@inline function comp6(code: usize, j: i32): u32 {
  const g = code + (<usize>j >> 2) * 3;
  switch (j & 3) {
    case 0: return load<u8>(g) & 63;
    case 1: return (<u32>load<u8>(g) >> 6) | ((<u32>load<u8>(g, 1) & 15) << 2);
    case 2: return (<u32>load<u8>(g, 1) >> 4) | ((<u32>load<u8>(g, 2) & 3) << 4);
    default: return <u32>load<u8>(g, 2) >> 2;
  }
}

@inline function dis6(isL2: bool, A: usize, T: usize, d: i32, code: usize, limit: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const z = i32x4.splat(0);
  let j = 0;
  // 16 components from 12 bytes, reading 16 (the 4 extra only while inside memory)
  for (; j + 16 <= d && code + (<usize>j >> 2) * 3 + 16 <= limit; j += 16) {
    const v = v128.load(code + (<usize>j >> 2) * 3);
    const o = <usize>j << 2;
    a0 = step(isL2, a0, six(v, i8x16.shuffle(v, z, 0, 16, 16, 16, 0, 1, 16, 16, 1, 2, 16, 16, 2, 16, 16, 16)), A, T, o);
    a1 = step(isL2, a1, six(v, i8x16.shuffle(v, z, 3, 16, 16, 16, 3, 4, 16, 16, 4, 5, 16, 16, 5, 16, 16, 16)), A, T, o + 16);
    a2 = step(isL2, a2, six(v, i8x16.shuffle(v, z, 6, 16, 16, 16, 6, 7, 16, 16, 7, 8, 16, 16, 8, 16, 16, 16)), A, T, o + 32);
    a3 = step(isL2, a3, six(v, i8x16.shuffle(v, z, 9, 16, 16, 16, 9, 10, 16, 16, 10, 11, 16, 16, 11, 16, 16, 16)), A, T, o + 48);
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; j < d; j++) {
    s = scalarStep(isL2, s, <f32>comp6(code, j), A, T, j);
  }
  return s;
}

// IEEE half (in the low 16 bits of each lane) to float, exactly (denormals, inf and NaN included).
@inline function halfToFloat(u: v128): v128 {
  const em = v128.and(u, i32x4.splat(0x7fff));
  const sh = i32x4.shl(em, 13);
  const f = f32x4.mul(sh, f32x4.splat(5.192296858534828e33)); // 2^112
  const special = i32x4.ge_u(em, i32x4.splat(0x7c00));
  const r = v128.bitselect(v128.or(sh, i32x4.splat(0x7f800000)), f, special);
  return v128.or(r, i32x4.shl(v128.and(u, i32x4.splat(0x8000)), 16));
}

/** One IEEE half to float, exactly. */
@inline export function half_to_float(h: u32): f32 {
  const em = h & 0x7fff;
  const sh = em << 13;
  let f = reinterpret<f32>(sh) * <f32>5.192296858534828e33;
  if (em >= 0x7c00) f = reinterpret<f32>(sh | 0x7f800000);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

@inline function dis16(isL2: bool, T: usize, d: i32, code: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= d; j += 8) {
    const h = v128.load(code + (<usize>j << 1));
    const o = <usize>j << 2;
    a0 = stepDirect(isL2, a0, halfToFloat(i32x4.extend_low_i16x8_u(h)), T, o);
    a1 = stepDirect(isL2, a1, halfToFloat(i32x4.extend_high_i16x8_u(h)), T, o + 16);
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; j < d; j++) {
    const x = half_to_float(load<u16>(code + (<usize>j << 1)));
    const t = load<f32>(T + (<usize>j << 2));
    if (isL2) {
      const u = t - x;
      s += u * u;
    } else {
      s += t * x;
    }
  }
  return s;
}

// ---- scans -------------------------------------------------------------------------------------

/**
 * out[i] = distance of the query (tables at tab, sq_set_query done) to code i, for i < n; codes at
 * `codes`, sq_code_size(qtype, d) bytes each. L2: squared distance; IP: dis0 + inner product.
 * out: size n floats.
 */
export function sq_distances(qtype: i32, metric: i32, tab: usize, d: i32, codes: usize, n: i32, out: usize, dis0: f32): void {
  const dp = <usize>((d + 3) & ~3) << 2;
  const A = tab;
  const T = tab + 2 * dp;
  const cs = <usize>sq_code_size(qtype, d);
  const limit = <usize>memory.size() << 16;
  const isL2 = metric == 1;
  if (qtype == 1 || qtype == 3) {
    if (isL2) for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis4(true, A, T, d, codes + <usize>i * cs));
    else for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis0 + dis4(false, A, T, d, codes + <usize>i * cs));
  } else if (qtype == 6) {
    if (isL2) for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis6(true, A, T, d, codes + <usize>i * cs, limit));
    else for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis0 + dis6(false, A, T, d, codes + <usize>i * cs, limit));
  } else if (qtype == 4) {
    if (isL2) for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis16(true, T, d, codes + <usize>i * cs));
    else for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis0 + dis16(false, T, d, codes + <usize>i * cs));
  } else {
    if (isL2) for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis8(true, A, T, d, codes + <usize>i * cs));
    else for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), dis0 + dis8(false, A, T, d, codes + <usize>i * cs));
  }
}

/**
 * Top-k scan of n codes into one heap (hd: k floats, hi: k int64; initialised by the caller, so
 * that scans of several lists or segments continue it). Ids are the int64 at ids[i] when useIds,
 * idBase + i otherwise. metric 1 = L2 (max-heap), 0 = inner product (min-heap). tmp: 256 floats.
 */
export function sq_knn(
  qtype: i32, metric: i32, tab: usize, d: i32, codes: usize, n: i32, k: i32, hd: usize, hi: usize,
  ids: usize, useIds: i32, idBase: i64, dis0: f32, tmp: usize,
): void {
  const cs = <usize>sq_code_size(qtype, d);
  const isL2 = metric == 1;
  for (let j0 = 0; j0 < n; j0 += BLOCK) {
    const nb = min(BLOCK, n - j0);
    sq_distances(qtype, metric, tab, d, codes + <usize>j0 * cs, nb, tmp, dis0);
    if (useIds) heap_addn_ids(isL2, k, hd, hi, tmp, ids + (<usize>j0 << 3), nb);
    else heap_addn(isL2, k, hd, hi, tmp, nb, idBase + j0);
  }
}

/**
 * Two components of eight 8-bit codes, 8 bytes each in the low and high halves of v, to the packed
 * group: B_t + A_t * c (sq_decode's floats) for vectors 0-3 and 4-7, from A_t, B_t at pa, pb to po,
 * and the same for t + 1; the squares added to the running sums of their classes (two v128 each)
 * at ps.
 */
@inline function components8(v: v128, pa: usize, pb: usize, po: usize, ps: usize): void {
  component8(i16x8.extend_low_i8x16_u(v), pa, pb, po, ps);
  component8(i16x8.extend_high_i8x16_u(v), pa + 4, pb + 4, po + 32, ps + 32);
}

@inline function component8(w: v128, pa: usize, pb: usize, po: usize, ps: usize): void {
  const a = v128.load32_splat(pa);
  const b = v128.load32_splat(pb);
  const y0 = f32x4.add(b, f32x4.mul(a, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(w))));
  const y1 = f32x4.add(b, f32x4.mul(a, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(w))));
  v128.store(po, y0);
  v128.store(po, y1, 16);
  v128.store(ps, f32x4.add(v128.load(ps), f32x4.mul(y0, y0)));
  v128.store(ps, f32x4.add(v128.load(ps, 16), f32x4.mul(y1, y1)), 16);
}

/**
 * Eight 8-bit codes (rows of d bytes at codes, stride cs; d a multiple of 16) decoded straight into
 * one packed group at dst, with their squared norms at yn: 16 components at a time, the 8 x 16
 * bytes transposed by three rounds of interleaving. The norms are fvec_inner_product's sums: the
 * square of component t goes to the running sum of class t mod 16 (kept at acc, 512 bytes), and
 * the classes combine as its four accumulators and their lanes do.
 */
function decode8_packed_bytes(tab: usize, d: i32, codes: usize, cs: usize, dst: usize, yn: usize, acc: usize): void {
  const dp = <usize>((d + 3) & ~3) << 2;
  const A = tab;
  const B = tab + dp;
  memory.fill(acc, 0, 512);
  for (let t0: usize = 0; t0 < <usize>d; t0 += 16) {
    const c = codes + t0;
    const r0 = v128.load(c);
    const r1 = v128.load(c + cs);
    const r2 = v128.load(c + 2 * cs);
    const r3 = v128.load(c + 3 * cs);
    const r4 = v128.load(c + 4 * cs);
    const r5 = v128.load(c + 5 * cs);
    const r6 = v128.load(c + 6 * cs);
    const r7 = v128.load(c + 7 * cs);
    // bytes of two rows interleaved, then pairs of rows, then fours: v_k holds components
    // t0 + 2k (low half) and t0 + 2k + 1 (high half), vectors 0..7 in order
    const s0 = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const s1 = i8x16.shuffle(r0, r1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const s2 = i8x16.shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const s3 = i8x16.shuffle(r2, r3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const s4 = i8x16.shuffle(r4, r5, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const s5 = i8x16.shuffle(r4, r5, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const s6 = i8x16.shuffle(r6, r7, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const s7 = i8x16.shuffle(r6, r7, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const u0 = v128.shuffle<i16>(s0, s2, 0, 8, 1, 9, 2, 10, 3, 11);
    const u1 = v128.shuffle<i16>(s0, s2, 4, 12, 5, 13, 6, 14, 7, 15);
    const u2 = v128.shuffle<i16>(s1, s3, 0, 8, 1, 9, 2, 10, 3, 11);
    const u3 = v128.shuffle<i16>(s1, s3, 4, 12, 5, 13, 6, 14, 7, 15);
    const w0 = v128.shuffle<i16>(s4, s6, 0, 8, 1, 9, 2, 10, 3, 11);
    const w1 = v128.shuffle<i16>(s4, s6, 4, 12, 5, 13, 6, 14, 7, 15);
    const w2 = v128.shuffle<i16>(s5, s7, 0, 8, 1, 9, 2, 10, 3, 11);
    const w3 = v128.shuffle<i16>(s5, s7, 4, 12, 5, 13, 6, 14, 7, 15);
    const v0 = v128.shuffle<i32>(u0, w0, 0, 4, 1, 5);
    const v1 = v128.shuffle<i32>(u0, w0, 2, 6, 3, 7);
    const v2 = v128.shuffle<i32>(u1, w1, 0, 4, 1, 5);
    const v3 = v128.shuffle<i32>(u1, w1, 2, 6, 3, 7);
    const v4 = v128.shuffle<i32>(u2, w2, 0, 4, 1, 5);
    const v5 = v128.shuffle<i32>(u2, w2, 2, 6, 3, 7);
    const v6 = v128.shuffle<i32>(u3, w3, 0, 4, 1, 5);
    const v7 = v128.shuffle<i32>(u3, w3, 2, 6, 3, 7);
    const pa = A + (t0 << 2);
    const pb = B + (t0 << 2);
    const po = dst + (t0 << 5);
    components8(v0, pa, pb, po, acc);
    components8(v1, pa + 8, pb + 8, po + 64, acc + 64);
    components8(v2, pa + 16, pb + 16, po + 128, acc + 128);
    components8(v3, pa + 24, pb + 24, po + 192, acc + 192);
    components8(v4, pa + 32, pb + 32, po + 256, acc + 256);
    components8(v5, pa + 40, pb + 40, po + 320, acc + 320);
    components8(v6, pa + 48, pb + 48, po + 384, acc + 384);
    components8(v7, pa + 56, pb + 56, po + 448, acc + 448);
  }
  // fvec_inner_product: lane l of its accumulator k holds class 4k + l; ((c0 + c1) + (c2 + c3)),
  // then its lanes summed in order
  for (let h: usize = 0; h < 32; h += 16) {
    let s = f32x4.splat(0);
    for (let l: usize = 0; l < 4; l++) {
      const e = f32x4.add(
        f32x4.add(v128.load(acc + (l << 5) + h), v128.load(acc + ((4 + l) << 5) + h)),
        f32x4.add(v128.load(acc + ((8 + l) << 5) + h), v128.load(acc + ((12 + l) << 5) + h)),
      );
      s = l == 0 ? e : f32x4.add(s, e);
    }
    v128.store(yn + h, s);
  }
}

/**
 * sq_decode of n codes straight into pack_block's layout at P (packed_bytes(n, d) bytes), with the
 * decoded vectors' squared norms at yn (n floats): the same floats as sq_decode, fvec_norms_L2sqr and
 * pack_block one after the other over the whole block. Eight 8-bit codes at a time are transposed
 * and decoded in registers (d a multiple of 16); other codes go through `buf` (8*d floats, which
 * stays in the first-level cache).
 */
export function sq_decode_packed(qtype: i32, tab: usize, d: i32, codes: usize, n: i32, P: usize, yn: usize, buf: usize): void {
  const cs = <usize>sq_code_size(qtype, d);
  const bytes = (qtype == 0 || qtype == 2 || qtype == 5) && (d & 15) == 0;
  for (let j0 = 0; j0 < n; j0 += 8) {
    const m = min(8, n - j0);
    const dst = P + ((<usize>(j0 >> 3) * <usize>d) << 5);
    if (bytes && m == 8) {
      decode8_packed_bytes(tab, d, codes + <usize>j0 * cs, cs, dst, yn + (<usize>j0 << 2), buf);
      continue;
    }
    sq_decode(qtype, tab, d, codes + <usize>j0 * cs, m, buf);
    fvec_norms_L2sqr(yn + (<usize>j0 << 2), buf, d, m);
    pack_block(dst, buf, m, d);
  }
}

/**
 * Reconstructs n codes as B + A * c (fp16: the halves), the tables' approximation of Faiss's decode,
 * for the blocked (GEMM) search of query batches. out: n*d floats.
 */
export function sq_decode(qtype: i32, tab: usize, d: i32, codes: usize, n: i32, out: usize): void {
  const dp = <usize>((d + 3) & ~3) << 2;
  const A = tab;
  const B = tab + dp;
  const cs = <usize>sq_code_size(qtype, d);
  const bytes = qtype == 0 || qtype == 2 || qtype == 5;
  for (let i = 0; i < n; i++) {
    const code = codes + <usize>i * cs;
    const x = out + <usize>i * (<usize>d << 2);
    let j0 = 0;
    if (bytes) {
      // one byte per component: 16 at a time, widened to floats
      for (; j0 + 16 <= d; j0 += 16) {
        const c8 = v128.load(code + <usize>j0);
        const lo = i16x8.extend_low_i8x16_u(c8);
        const hi = i16x8.extend_high_i8x16_u(c8);
        const o = <usize>j0 << 2;
        v128.store(x + o, f32x4.add(v128.load(B + o), f32x4.mul(v128.load(A + o), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)))));
        v128.store(x + o, f32x4.add(v128.load(B + o, 16), f32x4.mul(v128.load(A + o, 16), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)))), 16);
        v128.store(x + o, f32x4.add(v128.load(B + o, 32), f32x4.mul(v128.load(A + o, 32), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)))), 32);
        v128.store(x + o, f32x4.add(v128.load(B + o, 48), f32x4.mul(v128.load(A + o, 48), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)))), 48);
      }
    }
    for (let j = j0; j < d; j++) {
      const o = <usize>j << 2;
      let v: f32;
      if (qtype == 4) {
        store<f32>(x + o, half_to_float(load<u16>(code + (<usize>j << 1))));
        continue;
      } else if (qtype == 1 || qtype == 3) {
        v = <f32>((<u32>load<u8>(code + (<usize>j >> 1)) >> (<u32>(j & 1) << 2)) & 15);
      } else if (qtype == 6) {
        v = <f32>comp6(code, j);
      } else {
        v = <f32>load<u8>(code + <usize>j);
      }
      store<f32>(x + o, load<f32>(B + o) + load<f32>(A + o) * v);
    }
  }
}

/**
 * Faiss's 8-bit encoding (QT_8bit, QT_8bit_uniform) of n vectors (d floats each at x) into n*d bytes
 * at codes: with vmin, vdiff the trained values of component j (t: vmin[0..d) then vdiff[0..d), or
 * the pair vmin, vdiff when uniform), xi = (x_j - vmin) / vdiff in float, clamped to [0, 1] (0 when
 * vdiff is 0), and code_j = (int)(255 * xi): the ScalarQuantizer's codes, bit for bit.
 */
export function sq_encode8(x: usize, n: i32, d: i32, t: usize, uniform: i32, codes: usize): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const k255 = f32x4.splat(255);
  const d4 = d & ~3;
  let xp = x;
  let cp = codes;
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (; j < d4; j += 4) {
      const o = <usize>j << 2;
      const vmin = uniform != 0 ? v128.load32_splat(t) : v128.load(t + o);
      const vdiff = uniform != 0 ? v128.load32_splat(t, 4) : v128.load(t + (<usize>d << 2) + o);
      let xi = f32x4.div(f32x4.sub(v128.load(xp + o), vmin), vdiff);
      // pmax / pmin: xi < 0 ? 0 : xi, then 1 < xi ? 1 : xi, as the scalar code's two tests
      xi = f32x4.pmin(f32x4.pmax(xi, zero), one);
      xi = v128.andnot(xi, f32x4.eq(vdiff, zero));
      const q = i32x4.trunc_sat_f32x4_s(f32x4.mul(k255, xi));
      const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q, q), zero);
      store<u32>(cp + <usize>j, i32x4.extract_lane(b, 0));
    }
    for (; j < d; j++) {
      const vmin = uniform != 0 ? load<f32>(t) : load<f32>(t + (<usize>j << 2));
      const vdiff = uniform != 0 ? load<f32>(t, 4) : load<f32>(t + (<usize>(d + j) << 2));
      let xi: f32 = 0;
      if (vdiff != 0) {
        xi = (load<f32>(xp + (<usize>j << 2)) - vmin) / vdiff;
        if (xi < 0) xi = 0;
        if (xi > 1) xi = 1;
      }
      store<u8>(cp + <usize>j, <u8><i32>(<f32>255 * xi)); // 0 <= 255 * xi <= 255
    }
    xp += <usize>d << 2;
    cp += <usize>d;
  }
}
