// The storage of an HNSW graph when it holds codes rather than floats (Faiss's IndexHNSWSQ and
// IndexHNSWPQ): Faiss's distance computers over scalar-quantizer or product-quantizer codes, used by
// assembly/hnsw.ts for the graph's searches and insertions.
//
//   asymmetric (search, and the vector being added, which Faiss passes as its original floats):
//     SQ  the float query against the decoded code, per component: L2 sum (q_j - x_j)^2, IP sum q_j x_j,
//         x_j = B_j + A_j c_j (A = vdiff / (2^bits - 1), B = vmin + A / 2; fp16: the half itself);
//     PQ  a look-up table of the query against every sub-centroid, computed once per query
//         (pq_distance_table), then M look-ups per code (Faiss's PQDistanceComputer).
//   symmetric (the neighbour-selection heuristic, Faiss's symmetric_dis):
//     SQ  both codes decoded (Faiss's compute_code_distance): L2 sum (A_j (c1_j - c2_j))^2, IP sum x1_j x2_j;
//     PQ  a table of sub-centroid pairs summed over m: Faiss's SDC table ||c_m,i - c_m,j||^2 for L2;
//         for the inner product <c_m,i, c_m,j> (Faiss uses its L2 table there too: see IndexHNSWPQ).
// Distances are "smaller is better", as the graph wants them: inner products come out negated
// (Faiss's NegativeDistanceComputer).
//
// The SQ sums run four components a step into 4 accumulators of 4 lanes, 16 components a round, then
// one 4-wide tail, then the scalar rest: fvec_L2sqr's order, with plain multiplies and adds (no fused
// multiply-add, so that every engine builds the same graph and src/kernels/referenceHNSWStorage.ts
// reproduces the sums bit for bit).
//
// Header fields (byte offsets from h, after assembly/hnsw.ts's): see storage/HNSWSegment.
// Per thread, the tail of its scratch slot (the last H_QAREA bytes) holds the vector being added
// (d floats, 16-byte aligned size) then the query's table: SQ T (d rounded up to 4 floats); PQ M*ksub floats.

import { pq_distance_table } from './pq';

const H_D: usize = 0;
const H_METRIC: usize = 4;
const H_SLOTS: usize = 60;
const H_SLOT_BYTES: usize = 64;
const H_KIND: usize = 68; // 0 flat floats, 1 SQ codes, 2 PQ codes, 3 flat floats in vector segments
const H_CODE_SIZE: usize = 72;
const H_P0: usize = 76; // SQ: qtype; PQ: M
const H_P1: usize = 80; // PQ: nbits
const H_AUX: usize = 84; // SQ: tables A then B (dp floats each); PQ: transposed centroids (cT)
const H_AUX2: usize = 88; // PQ: the symmetric table (SDC for L2), M * ksub * ksub floats
const H_QAREA: usize = 92; // bytes at the end of each slot: the added vector, then the query table
const H_CODES: usize = 16;

export const KIND_FLAT: i32 = 0;
export const KIND_SQ: i32 = 1;
export const KIND_PQ: i32 = 2;
/** Flat floats outside the graph's memory (assembly/hnsw.ts computes those distances). */
export const KIND_SPLIT: i32 = 3;

// Per-thread state (each thread has its own instance of the module).
let s_kind: i32 = 0;
let s_isL2: bool = true;
let s_d: i32 = 0;
let s_dp: usize = 0; // bytes of one SQ table: d rounded up to 4 floats
let s_codes: usize = 0;
let s_cs: usize = 0;
let s_qtype: i32 = 0;
let s_M: i32 = 0;
let s_nbits: i32 = 0;
let s_ksub: i32 = 0;
let s_dsub: i32 = 0;
let s_aux: usize = 0;
let s_aux2: usize = 0;
let s_qvec: usize = 0; // the added vector's place in the slot
let s_tab: usize = 0; // the query table in the slot
let s_dis0: f32 = 0; // SQ inner product: <q, B>

/** Reads the storage fields for thread `slot`; returns the storage kind. */
export function storageBind(h: usize, slot: i32): i32 {
  s_kind = load<i32>(h + H_KIND);
  if (s_kind == KIND_FLAT || s_kind == KIND_SPLIT) return s_kind;
  s_isL2 = load<i32>(h + H_METRIC) == 1;
  s_d = load<i32>(h + H_D);
  s_dp = <usize>((s_d + 3) & ~3) << 2;
  s_codes = load<u32>(h + H_CODES);
  s_cs = load<u32>(h + H_CODE_SIZE);
  s_aux = load<u32>(h + H_AUX);
  s_aux2 = load<u32>(h + H_AUX2);
  if (s_kind == KIND_SQ) {
    s_qtype = load<i32>(h + H_P0);
  } else {
    s_M = load<i32>(h + H_P0);
    s_nbits = load<i32>(h + H_P1);
    s_ksub = 1 << s_nbits;
    s_dsub = s_d / s_M;
  }
  const slotBytes = <usize>load<u32>(h + H_SLOT_BYTES);
  const end = <usize>load<u32>(h + H_SLOTS) + <usize>slot * slotBytes + slotBytes;
  s_qvec = end - <usize>load<u32>(h + H_QAREA);
  s_tab = s_qvec + (((<usize>s_d << 2) + 15) & ~(<usize>15));
  return s_kind;
}

// ---- scalar quantizer codes ------------------------------------------------------------------
// Codec groups: 8 bits (QT_8bit, _uniform, _direct), 4 bits (QT_4bit, _uniform), 6 bits, fp16.

const G8: i32 = 0;
const G4: i32 = 1;
const G6: i32 = 2;
const G16: i32 = 3;

@inline function sqGroup(qtype: i32): i32 {
  if (qtype == 1 || qtype == 3) return G4;
  if (qtype == 6) return G6;
  if (qtype == 4) return G16;
  return G8;
}

// IEEE half (low 16 bits of each lane) to float, exactly.
@inline function halfToFloat4(u: v128): v128 {
  const em = v128.and(u, i32x4.splat(0x7fff));
  const sh = i32x4.shl(em, 13);
  const f = f32x4.mul(sh, f32x4.splat(5.192296858534828e33)); // 2^112
  const special = i32x4.ge_u(em, i32x4.splat(0x7c00));
  const r = v128.bitselect(v128.or(sh, i32x4.splat(0x7f800000)), f, special);
  return v128.or(r, i32x4.shl(v128.and(u, i32x4.splat(0x8000)), 16));
}

@inline function halfToFloat1(h: u32): f32 {
  const em = h & 0x7fff;
  const sh = em << 13;
  let f = reinterpret<f32>(sh) * <f32>5.192296858534828e33;
  if (em >= 0x7c00) f = reinterpret<f32>(sh | 0x7f800000);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** Components j .. j+3 of a code (j a multiple of 4) as floats: integer levels, or the halves. */
@inline function comps4(g: i32, code: usize, j: i32): v128 {
  if (g == G8) {
    return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(code + <usize>j))));
  }
  if (g == G4) {
    const b = v128.load16_splat(code + (<usize>j >> 1)); // bytes 0 and 1 are the 4 components
    const v = i8x16.shuffle(v128.and(b, i8x16.splat(0x0f)), i8x16.shr_u(b, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v)));
  }
  if (g == G6) {
    const p = code + (<usize>j >> 2) * 3;
    const w = <i32>load<u16>(p) | (<i32>load<u8>(p, 2) << 16);
    let v = i32x4.splat(w & 63);
    v = i32x4.replace_lane(v, 1, (w >> 6) & 63);
    v = i32x4.replace_lane(v, 2, (w >> 12) & 63);
    v = i32x4.replace_lane(v, 3, (w >> 18) & 63);
    return f32x4.convert_i32x4_s(v);
  }
  return halfToFloat4(i32x4.extend_low_i16x8_u(v128.load64_zero(code + (<usize>j << 1))));
}

/** Components j .. j+15 of an 8-bit or 4-bit code (j a multiple of 16) as 16 unsigned bytes. */
@inline function bytes16(g: i32, code: usize, j: i32): v128 {
  if (g == G8) return v128.load(code + <usize>j);
  const b = v128.load64_zero(code + (<usize>j >> 1));
  return i8x16.shuffle(v128.and(b, i8x16.splat(0x0f)), i8x16.shr_u(b, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}

// Lanes 0-3 / 4-7 of 8 16-bit integers as floats (unsigned, or signed for differences); the
// unsigned ones widened to int32 convert as signed (assembly/lanes.ts: one instruction, not eight).
@inline function lo4u(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(v)); }
@inline function hi4u(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(v)); }
@inline function lo4s(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)); }
@inline function hi4s(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)); }

/** Component j of a code as a float. */
@inline function comp1(g: i32, code: usize, j: i32): f32 {
  if (g == G8) return <f32>load<u8>(code + <usize>j);
  if (g == G4) return <f32>((<u32>load<u8>(code + (<usize>j >> 1)) >> (<u32>(j & 1) << 2)) & 15);
  if (g == G6) {
    const p = code + (<usize>j >> 2) * 3;
    const w = <u32>load<u16>(p) | (<u32>load<u8>(p, 2) << 16);
    return <f32>((w >> (<u32>(j & 3) * 6)) & 63);
  }
  return halfToFloat1(<u32>load<u16>(code + (<usize>j << 1)));
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// One step of the asymmetric sum at component offset o (bytes) with levels v:
// L2: t = T - A*v, acc + t*t; IP: acc + T*v.
@inline function asymStep(isL2: bool, acc: v128, v: v128, o: usize): v128 {
  const T = v128.load(s_tab + o);
  if (isL2) {
    const t = f32x4.sub(T, f32x4.mul(v128.load(s_aux + o), v));
    return f32x4.add(acc, f32x4.mul(t, t));
  }
  return f32x4.add(acc, f32x4.mul(T, v));
}

@inline function asymStep1(isL2: bool, s: f32, v: f32, o: usize): f32 {
  const T = load<f32>(s_tab + o);
  if (isL2) {
    const t = T - load<f32>(s_aux + o) * v;
    return s + t * t;
  }
  return s + T * v;
}

/** The sum of the asymmetric distance of the current query to one code (before dis0 and negation). */
@inline function sqAsym(g: i32, isL2: bool, code: usize): f32 {
  const d = s_d;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= d; j += 16) {
    const o = <usize>j << 2;
    if (g == G8 || g == G4) {
      // 16 levels from one load: the same values as comps4's
      const v = bytes16(g, code, j);
      const l = i16x8.extend_low_i8x16_u(v);
      const h = i16x8.extend_high_i8x16_u(v);
      c0 = asymStep(isL2, c0, lo4u(l), o);
      c1 = asymStep(isL2, c1, hi4u(l), o + 16);
      c2 = asymStep(isL2, c2, lo4u(h), o + 32);
      c3 = asymStep(isL2, c3, hi4u(h), o + 48);
    } else {
      c0 = asymStep(isL2, c0, comps4(g, code, j), o);
      c1 = asymStep(isL2, c1, comps4(g, code, j + 4), o + 16);
      c2 = asymStep(isL2, c2, comps4(g, code, j + 8), o + 32);
      c3 = asymStep(isL2, c3, comps4(g, code, j + 12), o + 48);
    }
  }
  for (; j + 4 <= d; j += 4) c0 = asymStep(isL2, c0, comps4(g, code, j), <usize>j << 2);
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; j < d; j++) s = asymStep1(isL2, s, comp1(g, code, j), <usize>j << 2);
  return s;
}

// L2 step from the level differences dv = v1 - v2 (exact integers): t = A*dv, acc + t*t.
@inline function symStepL2(acc: v128, dv: v128, o: usize): v128 {
  const t = f32x4.mul(v128.load(s_aux + o), dv);
  return f32x4.add(acc, f32x4.mul(t, t));
}

// One step of the symmetric sum: L2: t = A*(v1 - v2), acc + t*t; IP: acc + (B + A*v1)*(B + A*v2).
@inline function symStep(isL2: bool, acc: v128, v1: v128, v2: v128, o: usize): v128 {
  const A = v128.load(s_aux + o);
  if (isL2) {
    const t = f32x4.mul(A, f32x4.sub(v1, v2));
    return f32x4.add(acc, f32x4.mul(t, t));
  }
  const B = v128.load(s_aux + s_dp + o);
  return f32x4.add(acc, f32x4.mul(f32x4.add(B, f32x4.mul(A, v1)), f32x4.add(B, f32x4.mul(A, v2))));
}

@inline function symStep1(isL2: bool, s: f32, v1: f32, v2: f32, o: usize): f32 {
  const A = load<f32>(s_aux + o);
  if (isL2) {
    const t = A * (v1 - v2);
    return s + t * t;
  }
  const B = load<f32>(s_aux + s_dp + o);
  return s + (B + A * v1) * (B + A * v2);
}

@inline function sqSym(g: i32, isL2: bool, a: usize, b: usize): f32 {
  const d = s_d;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= d; j += 16) {
    const o = <usize>j << 2;
    if (g == G8 || g == G4) {
      const va = bytes16(g, a, j);
      const vb = bytes16(g, b, j);
      const la = i16x8.extend_low_i8x16_u(va);
      const ha = i16x8.extend_high_i8x16_u(va);
      const lb = i16x8.extend_low_i8x16_u(vb);
      const hb = i16x8.extend_high_i8x16_u(vb);
      if (isL2) {
        // the level differences in 16 bits, exact, then as floats: the same as v1 - v2 in floats
        const dl = i16x8.sub(la, lb);
        const dh = i16x8.sub(ha, hb);
        c0 = symStepL2(c0, lo4s(dl), o);
        c1 = symStepL2(c1, hi4s(dl), o + 16);
        c2 = symStepL2(c2, lo4s(dh), o + 32);
        c3 = symStepL2(c3, hi4s(dh), o + 48);
      } else {
        c0 = symStep(false, c0, lo4u(la), lo4u(lb), o);
        c1 = symStep(false, c1, hi4u(la), hi4u(lb), o + 16);
        c2 = symStep(false, c2, lo4u(ha), lo4u(hb), o + 32);
        c3 = symStep(false, c3, hi4u(ha), hi4u(hb), o + 48);
      }
      continue;
    }
    c0 = symStep(isL2, c0, comps4(g, a, j), comps4(g, b, j), o);
    c1 = symStep(isL2, c1, comps4(g, a, j + 4), comps4(g, b, j + 4), o + 16);
    c2 = symStep(isL2, c2, comps4(g, a, j + 8), comps4(g, b, j + 8), o + 32);
    c3 = symStep(isL2, c3, comps4(g, a, j + 12), comps4(g, b, j + 12), o + 48);
  }
  for (; j + 4 <= d; j += 4) c0 = symStep(isL2, c0, comps4(g, a, j), comps4(g, b, j), <usize>j << 2);
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; j < d; j++) s = symStep1(isL2, s, comp1(g, a, j), comp1(g, b, j), <usize>j << 2);
  return s;
}

// One non-inlined function per codec and metric, so that each loop is specialised.
function asym8L2(c: usize): f32 { return sqAsym(G8, true, c); }
function asym8IP(c: usize): f32 { return sqAsym(G8, false, c); }
function asym4L2(c: usize): f32 { return sqAsym(G4, true, c); }
function asym4IP(c: usize): f32 { return sqAsym(G4, false, c); }
function asym6L2(c: usize): f32 { return sqAsym(G6, true, c); }
function asym6IP(c: usize): f32 { return sqAsym(G6, false, c); }
function asym16L2(c: usize): f32 { return sqAsym(G16, true, c); }
function asym16IP(c: usize): f32 { return sqAsym(G16, false, c); }
function sym8L2(a: usize, b: usize): f32 { return sqSym(G8, true, a, b); }
function sym8IP(a: usize, b: usize): f32 { return sqSym(G8, false, a, b); }
function sym4L2(a: usize, b: usize): f32 { return sqSym(G4, true, a, b); }
function sym4IP(a: usize, b: usize): f32 { return sqSym(G4, false, a, b); }
function sym6L2(a: usize, b: usize): f32 { return sqSym(G6, true, a, b); }
function sym6IP(a: usize, b: usize): f32 { return sqSym(G6, false, a, b); }
function sym16L2(a: usize, b: usize): f32 { return sqSym(G16, true, a, b); }
function sym16IP(a: usize, b: usize): f32 { return sqSym(G16, false, a, b); }

function sqDist(code: usize): f32 {
  const g = sqGroup(s_qtype);
  if (s_isL2) {
    if (g == G8) return asym8L2(code);
    if (g == G4) return asym4L2(code);
    if (g == G6) return asym6L2(code);
    return asym16L2(code);
  }
  let s: f32;
  if (g == G8) s = asym8IP(code);
  else if (g == G4) s = asym4IP(code);
  else if (g == G6) s = asym6IP(code);
  else s = asym16IP(code);
  return -(s_dis0 + s);
}

function sqSymDist(a: usize, b: usize): f32 {
  const g = sqGroup(s_qtype);
  if (s_isL2) {
    if (g == G8) return sym8L2(a, b);
    if (g == G4) return sym4L2(a, b);
    if (g == G6) return sym6L2(a, b);
    return sym16L2(a, b);
  }
  if (g == G8) return -sym8IP(a, b);
  if (g == G4) return -sym4IP(a, b);
  if (g == G6) return -sym6IP(a, b);
  return -sym16IP(a, b);
}

/** SQ query tables: L2 T = q - B; IP T = q * A and dis0 = <q, B> summed in order. */
function sqSetQuery(q: usize): void {
  const d = s_d;
  const A = s_aux;
  const B = s_aux + s_dp;
  if (s_isL2) {
    for (let j = 0; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(s_tab + o, load<f32>(q + o) - load<f32>(B + o));
    }
    s_dis0 = 0;
    return;
  }
  let sb: f32 = 0;
  for (let j = 0; j < d; j++) {
    const o = <usize>j << 2;
    const qj = load<f32>(q + o);
    store<f32>(s_tab + o, qj * load<f32>(A + o));
    sb += qj * load<f32>(B + o);
  }
  s_dis0 = sb;
}

// ---- product quantizer codes -----------------------------------------------------------------

/** Sub-code m of the code at c (Faiss's PQDecoderGeneric; nbits <= 8). */
@inline function subCode(c: usize, m: i32, nbits: i32): u32 {
  const bit = <usize>m * <usize>nbits;
  const p = c + (bit >> 3);
  const shift = <u32>(bit & 7);
  let v = <u32>load<u8>(p);
  if (shift + <u32>nbits > 8) v |= <u32>load<u8>(p + 1) << 8;
  return (v >> shift) & ((1 << <u32>nbits) - 1);
}

/** Sum over m of table[m][sub-code m], in order (Faiss's distance_to_code). */
function pqDist(code: usize): f32 {
  const M = s_M;
  const rowBytes = <usize>s_ksub << 2;
  let t = s_tab;
  let s: f32 = 0;
  if (s_nbits == 8) {
    for (let m = 0; m < M; m++) {
      s += load<f32>(t + (<usize>load<u8>(code + <usize>m) << 2));
      t += rowBytes;
    }
  } else {
    for (let m = 0; m < M; m++) {
      s += load<f32>(t + (<usize>subCode(code, m, s_nbits) << 2));
      t += rowBytes;
    }
  }
  return s_isL2 ? s : -s;
}

/** Sum over m of sdc[m][c_i,m + c_j,m * ksub], in order (Faiss's PQDistanceComputer::symmetric_dis); IP negated. */
function pqSymDist(a: usize, b: usize): f32 {
  const M = s_M;
  const nbits = s_nbits;
  const tabBytes = (<usize>s_ksub * <usize>s_ksub) << 2;
  let t = s_aux2;
  let s: f32 = 0;
  if (nbits == 8) {
    for (let m = 0; m < M; m++) {
      s += load<f32>(t + ((<usize>load<u8>(a + <usize>m) + (<usize>load<u8>(b + <usize>m) << 8)) << 2));
      t += tabBytes;
    }
  } else {
    for (let m = 0; m < M; m++) {
      s += load<f32>(t + ((<usize>subCode(a, m, nbits) + (<usize>subCode(b, m, nbits) << <usize>nbits)) << 2));
      t += tabBytes;
    }
  }
  return s_isL2 ? s : -s;
}

// ---- what assembly/hnsw.ts calls ---------------------------------------------------------------

/** Prepares the distance computer for query q (d floats): the query's table in the slot. */
export function storageSetQuery(q: usize): void {
  if (s_kind == KIND_SQ) sqSetQuery(q);
  else pq_distance_table(s_isL2 ? 1 : 0, q, s_aux, s_M, s_ksub, s_dsub, s_tab);
}

/** Distance from the current query to stored vector id (smaller is better). */
export function storageDist(id: i32): f32 {
  const code = s_codes + <usize>id * s_cs;
  return s_kind == KIND_SQ ? sqDist(code) : pqDist(code);
}

/** Faiss's symmetric_dis between stored vectors a and b (smaller is better). */
export function storageSym(a: i32, b: i32): f32 {
  const ca = s_codes + <usize>a * s_cs;
  const cb = s_codes + <usize>b * s_cs;
  return s_kind == KIND_SQ ? sqSymDist(ca, cb) : pqSymDist(ca, cb);
}
