// FastScan: the scan of 4-bit PQ codes in Faiss's packed layout (src/quantizers/pq4FastScan.ts)
// through 8-bit quantized look-up tables (src/quantizers/quantizeLut.ts), 32 vectors at a time,
// fused with a top-k heap. Faiss's pq4_accumulate_loop / kernel_accumulate_block (AVX2, 32-byte
// registers) on 16-byte WebAssembly SIMD registers.
//
// Per block of 32 vectors and pair of sub-quantizers (2p, 2p+1), 32 bytes of codes: bytes 0..15 for
// 2p, 16..31 for 2p+1, byte j holding vector PERM0[j] in its low nibble and PERM0[j]+16 in its high
// nibble. The low (high) nibbles index the 16-byte table row of 2p with one byte shuffle
// (i8x16.swizzle), giving its table values for vectors 0..15 (16..31); same for 2p+1.
//
// Accumulation in 16-bit lanes (Faiss's trick): a shuffle result read as eight u16 lanes holds, in
// lane i, d(i) + 256 * d(i+8) (PERM0 interleaves i and i+8). A = sum of these lanes, B = sum of the
// lanes shifted right by 8 = sum of d(i+8); then sum of d(i) = A - (B << 8). All sums wrap modulo
// 2^16 exactly as Faiss's do: a table entry is at most 255, so M2 sub-quantizers sum below 65536 when
// M2 <= 257 (IndexIVFPQFastScan's quantization guarantees it for any M; IndexPQFastScan's does not,
// and wraps as Faiss does).
//
// Top-k: distances are u16; a heap of k holds them as f32 (exact) with int64 ids, Faiss's CMax
// (L2, keeps the smallest) / CMin (inner product, keeps the largest) with its tie-break on ids
// (assembly/heap.ts). Its neutral element is Faiss's for uint16: 65535 (CMax) / 0 (CMin), id -1;
// a distance enters only when strictly better than the heap's top. Per block, one SIMD compare of
// the 32 distances against the top gives a 32-bit mask; most blocks push nothing.

import { heap_replace_top } from './heap';

/** Sum of the bytes read ahead (kept so that the reads are not dropped). */
let g_touch: u32 = 0;

@inline function lookup(tab: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(tab, idx);
  return i8x16.swizzle(tab, idx);
}

/** Fills n heaps of size k with Faiss's uint16 neutral element (65535 for CMax, 0 for CMin) and id -1. */
export function pq4_heapify(isMax: bool, n: i32, k: i32, hd: usize, hi: usize): void {
  const total = <usize>n * <usize>k;
  const v: f32 = isMax ? 65535 : 0;
  for (let i: usize = 0; i < total; i++) {
    store<f32>(hd + (i << 2), v);
    store<i64>(hi + (i << 3), -1);
  }
}

/**
 * The 32 distances of one block for one query (accumulators a, b for vectors 0..15, c, e for 16..31)
 * offered to its heap. bias: added (mod 2^16) to every distance; valid: how many of the 32 vectors
 * exist; j0: the number of the block's first vector (ids: idBase + j0 + j, or ids[j0 + j]).
 */
@inline function emit(isMax: bool, a: v128, b: v128, c: v128, e: v128, bias: i32, valid: i32, k: usize, hd: usize, hi: usize, ids: usize, idBase: i64, j0: i32, tmp: usize): void {
  let d0 = i16x8.sub(a, i16x8.shl(b, 8));
  let d1 = b;
  let d2 = i16x8.sub(c, i16x8.shl(e, 8));
  let d3 = e;
  if (bias != 0) {
    const bv = i16x8.splat(<i16>bias);
    d0 = i16x8.add(d0, bv);
    d1 = i16x8.add(d1, bv);
    d2 = i16x8.add(d2, bv);
    d3 = i16x8.add(d3, bv);
  }
  // the heap's top is an integer 0..65535 held as a float: its bits after adding 2^23 give it exactly
  const t = i16x8.splat(<i16>(reinterpret<i32>(load<f32>(hd) + 8388608.0) - 0x4b000000));
  let m01: v128;
  let m23: v128;
  if (isMax) {
    m01 = i8x16.narrow_i16x8_s(i16x8.lt_u(d0, t), i16x8.lt_u(d1, t));
    m23 = i8x16.narrow_i16x8_s(i16x8.lt_u(d2, t), i16x8.lt_u(d3, t));
  } else {
    m01 = i8x16.narrow_i16x8_s(i16x8.gt_u(d0, t), i16x8.gt_u(d1, t));
    m23 = i8x16.narrow_i16x8_s(i16x8.gt_u(d2, t), i16x8.gt_u(d3, t));
  }
  let mask = <u32>i8x16.bitmask(m01) | (<u32>i8x16.bitmask(m23) << 16);
  if (valid < 32) mask &= (<u32>1 << <u32>valid) - 1;
  if (mask == 0) return;
  v128.store(tmp, d0);
  v128.store(tmp, d1, 16);
  v128.store(tmp, d2, 32);
  v128.store(tmp, d3, 48);
  while (mask != 0) {
    const j = <i32>ctz(mask);
    mask &= mask - 1;
    const v = <f32>load<u16>(tmp + (<usize>j << 1));
    const top = load<f32>(hd);
    if (isMax ? v < top : v > top) {
      const id = ids != 0 ? load<i64>(ids + (<usize>(j0 + j) << 3)) : idBase + <i64>(j0 + j);
      heap_replace_top(isMax, k, hd, hi, v, id);
    }
  }
}

/**
 * The scan for nq = 1..4 queries (a constant after inlining), query q with its table at lut{q}, its
 * bias{q} and its heap at hd{q} / hi{q}: per block of 32 vectors, each query's four accumulators (a, b:
 * vectors 0..15; c, e: 16..31) updated pair of sub-quantizers by pair, the codes decoded once for all
 * queries; written out per query (a helper cannot return four registers). [pf, pfEnd): codes to read
 * ahead, one block of 32 vectors' worth per block scanned (pf = pfEnd = 0: none).
 */
@inline function scan_impl(
  isMax: bool, nq: i32, codes: usize, n: i32, bbs: i32, M2: i32,
  lut0: usize, lut1: usize, lut2: usize, lut3: usize, bias0: i32, bias1: i32, bias2: i32, bias3: i32, k: i32,
  hd0: usize, hd1: usize, hd2: usize, hd3: usize, hi0: usize, hi1: usize, hi2: usize, hi3: usize,
  ids: usize, idBase: i64, tmp: usize, pf: usize, pfEnd: usize,
): void {
  const pairs = M2 >> 1;
  const spb = bbs >> 5;
  const blockBytes = (<usize>bbs * <usize>M2) >> 1;
  const stride = <usize>bbs;
  const kk = <usize>k;
  const m4 = i8x16.splat(0x0f);
  const zero = i16x8.splat(0);
  let j0 = 0;
  for (let blk: usize = 0; j0 < n; blk++) {
    const cb = codes + blk * blockBytes;
    for (let s = 0; s < spb && j0 < n; s++, j0 += 32) {
      let a0 = zero, b0 = zero, c0 = zero, e0 = zero;
      let a1 = zero, b1 = zero, c1 = zero, e1 = zero;
      let a2 = zero, b2 = zero, c2 = zero, e2 = zero;
      let a3 = zero, b3 = zero, c3 = zero, e3 = zero;
      let p = cb + (<usize>s << 5);
      let o: usize = 0;
      if (pf < pfEnd) {
        // one byte of each cache line of the next list's next 32 vectors: their misses overlap this
        // block's arithmetic (WebAssembly has no prefetch instruction)
        let touched: u32 = 0;
        for (let u: usize = 0; u < (<usize>M2 << 4); u += 64) touched += load<u8>(pf + u);
        g_touch += touched;
        pf += <usize>M2 << 4;
      }
      for (let t = 0; t < pairs; t++) {
        const x0 = v128.load(p);
        const x1 = v128.load(p, 16);
        const x0l = v128.and(x0, m4);
        const x0h = v128.and(i16x8.shr_u(x0, 4), m4);
        const x1l = v128.and(x1, m4);
        const x1h = v128.and(i16x8.shr_u(x1, 4), m4);
        {
          const t0 = v128.load(lut0 + o);
          const t1 = v128.load(lut0 + o, 16);
          const r0l = lookup(t0, x0l);
          const r1l = lookup(t1, x1l);
          const r0h = lookup(t0, x0h);
          const r1h = lookup(t1, x1h);
          a0 = i16x8.add(a0, i16x8.add(r0l, r1l));
          b0 = i16x8.add(b0, i16x8.add(i16x8.shr_u(r0l, 8), i16x8.shr_u(r1l, 8)));
          c0 = i16x8.add(c0, i16x8.add(r0h, r1h));
          e0 = i16x8.add(e0, i16x8.add(i16x8.shr_u(r0h, 8), i16x8.shr_u(r1h, 8)));
        }
        if (nq > 1) {
          const t0 = v128.load(lut1 + o);
          const t1 = v128.load(lut1 + o, 16);
          const r0l = lookup(t0, x0l);
          const r1l = lookup(t1, x1l);
          const r0h = lookup(t0, x0h);
          const r1h = lookup(t1, x1h);
          a1 = i16x8.add(a1, i16x8.add(r0l, r1l));
          b1 = i16x8.add(b1, i16x8.add(i16x8.shr_u(r0l, 8), i16x8.shr_u(r1l, 8)));
          c1 = i16x8.add(c1, i16x8.add(r0h, r1h));
          e1 = i16x8.add(e1, i16x8.add(i16x8.shr_u(r0h, 8), i16x8.shr_u(r1h, 8)));
        }
        if (nq > 2) {
          const t0 = v128.load(lut2 + o);
          const t1 = v128.load(lut2 + o, 16);
          const r0l = lookup(t0, x0l);
          const r1l = lookup(t1, x1l);
          const r0h = lookup(t0, x0h);
          const r1h = lookup(t1, x1h);
          a2 = i16x8.add(a2, i16x8.add(r0l, r1l));
          b2 = i16x8.add(b2, i16x8.add(i16x8.shr_u(r0l, 8), i16x8.shr_u(r1l, 8)));
          c2 = i16x8.add(c2, i16x8.add(r0h, r1h));
          e2 = i16x8.add(e2, i16x8.add(i16x8.shr_u(r0h, 8), i16x8.shr_u(r1h, 8)));
        }
        if (nq > 3) {
          const t0 = v128.load(lut3 + o);
          const t1 = v128.load(lut3 + o, 16);
          const r0l = lookup(t0, x0l);
          const r1l = lookup(t1, x1l);
          const r0h = lookup(t0, x0h);
          const r1h = lookup(t1, x1h);
          a3 = i16x8.add(a3, i16x8.add(r0l, r1l));
          b3 = i16x8.add(b3, i16x8.add(i16x8.shr_u(r0l, 8), i16x8.shr_u(r1l, 8)));
          c3 = i16x8.add(c3, i16x8.add(r0h, r1h));
          e3 = i16x8.add(e3, i16x8.add(i16x8.shr_u(r0h, 8), i16x8.shr_u(r1h, 8)));
        }
        p += stride;
        o += 32;
      }
      const valid = n - j0;
      emit(isMax, a0, b0, c0, e0, bias0, valid, kk, hd0, hi0, ids, idBase, j0, tmp);
      if (nq > 1) emit(isMax, a1, b1, c1, e1, bias1, valid, kk, hd1, hi1, ids, idBase, j0, tmp);
      if (nq > 2) emit(isMax, a2, b2, c2, e2, bias2, valid, kk, hd2, hi2, ids, idBase, j0, tmp);
      if (nq > 3) emit(isMax, a3, b3, c3, e3, bias3, valid, kk, hd3, hi3, ids, idBase, j0, tmp);
    }
  }
}

/** scan_impl for m = 1..4 queries (one instance per metric and m). */
function scan_group(
  isMax: bool, m: i32, codes: usize, n: i32, bbs: i32, M2: i32,
  lut0: usize, lut1: usize, lut2: usize, lut3: usize, bias0: i32, bias1: i32, bias2: i32, bias3: i32, k: i32,
  hd0: usize, hd1: usize, hd2: usize, hd3: usize, hi0: usize, hi1: usize, hi2: usize, hi3: usize,
  ids: usize, idBase: i64, tmp: usize, pf: usize, pfEnd: usize,
): void {
  if (isMax) {
    if (m == 1) scan_impl(true, 1, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else if (m == 2) scan_impl(true, 2, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else if (m == 3) scan_impl(true, 3, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else scan_impl(true, 4, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
  } else {
    if (m == 1) scan_impl(false, 1, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else if (m == 2) scan_impl(false, 2, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else if (m == 3) scan_impl(false, 3, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
    else scan_impl(false, 4, codes, n, bbs, M2, lut0, lut1, lut2, lut3, bias0, bias1, bias2, bias3, k, hd0, hd1, hd2, hd3, hi0, hi1, hi2, hi3, ids, idBase, tmp, pf, pfEnd);
  }
}

/**
 * Scans n packed 4-bit PQ codes for nq queries at once (1..4; more are scanned 4 at a time), offering
 * each vector's 16-bit distance to each query's heap.
 * @param isMax  true for L2 (keep the smallest), false for inner product (keep the largest)
 * @param codes  packed codes: ceil(n / bbs) blocks of bbs*M2/2 bytes (quantizers/pq4FastScan)
 * @param n      vectors to scan (the padding of the last block is skipped)
 * @param bbs    vectors per block, a multiple of 32
 * @param M2     sub-quantizers, even (M rounded up)
 * @param lut    nq quantized tables of M2 rows of 16 bytes, one after the other
 * @param bias   0, or nq uint16 added (mod 2^16) to every distance of each query (IVF's per-list bias)
 * @param k      heap size
 * @param hd     nq heaps of k f32 values, one after the other (pq4_heapify first)
 * @param hi     nq heaps of k int64 ids
 * @param ids    0: vector j has id idBase + j; else the address of n int64 ids (an inverted list)
 * @param tmp    64 bytes of scratch, 16-byte aligned
 */
export function pq4_scan(isMax: bool, nq: i32, codes: usize, n: i32, bbs: i32, M2: i32, lut: usize, bias: usize, k: i32, hd: usize, hi: usize, ids: usize, idBase: i64, tmp: usize): void {
  const lutBytes = <usize>M2 << 4;
  const hdBytes = <usize>k << 2;
  const hiBytes = <usize>k << 3;
  for (let q0 = 0; q0 < nq; q0 += 4) {
    const m = min(4, nq - q0);
    const l = lut + <usize>q0 * lutBytes;
    const d = hd + <usize>q0 * hdBytes;
    const h = hi + <usize>q0 * hiBytes;
    const b = bias + (<usize>q0 << 1);
    scan_group(
      isMax, m, codes, n, bbs, M2,
      l, l + lutBytes, l + 2 * lutBytes, l + 3 * lutBytes,
      bias != 0 ? <i32>load<u16>(b) : 0,
      bias != 0 && m > 1 ? <i32>load<u16>(b, 2) : 0,
      bias != 0 && m > 2 ? <i32>load<u16>(b, 4) : 0,
      bias != 0 && m > 3 ? <i32>load<u16>(b, 6) : 0,
      k, d, d + hdBytes, d + 2 * hdBytes, d + 3 * hdBytes, h, h + hiBytes, h + 2 * hiBytes, h + 3 * hiBytes,
      ids, idBase, tmp, 0, 0,
    );
  }
}

/** The table of (query, probe) pair pr in a list-by-list chunk: per query `queryBytes` of tables, one per probe when is3d. */
@inline function pair_lut(pr: i32, nprobe: i32, luts: usize, queryBytes: usize, is3d: bool, lutBytes: usize): usize {
  const q = pr / nprobe;
  return luts + <usize>q * queryBytes + (is3d ? <usize>(pr - q * nprobe) * lutBytes : 0);
}

/**
 * The list-by-list scan of a chunk of queries (src/search/pq4Scan.ts, pq4IvfByList): run r < nruns is
 * 5 int32 at runs + 20 r: the list's codes, its ids, its size n and the range [p0, p1) of its
 * (query, probe) pairs in `pairs` (int32 pr = query * nprobe + probe, in increasing query order).
 * Each run's pairs are scanned four at a time (each block of codes read once for four tables).
 * Pair pr reads its table at luts + query * queryBytes (+ probe * M2 * 16 when is3d), its bias at
 * biases + 2 pr (uint16; none when biases is 0), and its query's heap at hd + query * k * 4 /
 * hi + query * k * 8 (pq4_heapify first). A query probes a list once: the four heaps of a group differ.
 */
export function pq4_scan_lists(isMax: bool, runs: usize, nruns: i32, pairs: usize, nprobe: i32, bbs: i32, M2: i32, luts: usize, queryBytes: usize, is3d: bool, biases: usize, k: i32, hd: usize, hi: usize, tmp: usize): void {
  const lutBytes = <usize>M2 << 4;
  const hdBytes = <usize>k << 2;
  const hiBytes = <usize>k << 3;
  for (let r = 0; r < nruns; r++) {
    const e = runs + <usize>r * 20;
    const codes = <usize>load<u32>(e);
    const ids = <usize>load<u32>(e, 4);
    const n = load<i32>(e, 8);
    const p1 = load<i32>(e, 16);
    // the next list's codes, touched ahead while this list's last group is scanned
    const next = r + 1 < nruns ? <usize>load<u32>(e, 20) : 0;
    const nextEnd = r + 1 < nruns ? next + (<usize>((load<i32>(e, 28) + bbs - 1) / bbs) * <usize>bbs * <usize>M2 >> 1) : 0;
    for (let g0 = load<i32>(e, 12); g0 < p1; g0 += 4) {
      const m = min(4, p1 - g0);
      const pp = pairs + (<usize>g0 << 2);
      const pr0 = load<i32>(pp);
      const pr1 = m > 1 ? load<i32>(pp, 4) : pr0;
      const pr2 = m > 2 ? load<i32>(pp, 8) : pr0;
      const pr3 = m > 3 ? load<i32>(pp, 12) : pr0;
      const q0 = <usize>(pr0 / nprobe);
      const q1 = <usize>(pr1 / nprobe);
      const q2 = <usize>(pr2 / nprobe);
      const q3 = <usize>(pr3 / nprobe);
      scan_group(
        isMax, m, codes, n, bbs, M2,
        pair_lut(pr0, nprobe, luts, queryBytes, is3d, lutBytes),
        pair_lut(pr1, nprobe, luts, queryBytes, is3d, lutBytes),
        pair_lut(pr2, nprobe, luts, queryBytes, is3d, lutBytes),
        pair_lut(pr3, nprobe, luts, queryBytes, is3d, lutBytes),
        biases != 0 ? <i32>load<u16>(biases + (<usize>pr0 << 1)) : 0,
        biases != 0 ? <i32>load<u16>(biases + (<usize>pr1 << 1)) : 0,
        biases != 0 ? <i32>load<u16>(biases + (<usize>pr2 << 1)) : 0,
        biases != 0 ? <i32>load<u16>(biases + (<usize>pr3 << 1)) : 0,
        k, hd + q0 * hdBytes, hd + q1 * hdBytes, hd + q2 * hdBytes, hd + q3 * hdBytes,
        hi + q0 * hiBytes, hi + q1 * hiBytes, hi + q2 * hiBytes, hi + q3 * hiBytes,
        ids, 0, tmp, g0 + 4 >= p1 ? next : 0, g0 + 4 >= p1 ? nextEnd : 0,
      );
    }
  }
}

// ---- quantization of look-up tables (src/quantizers/quantizeLut.ts is the reference) ----------

/**
 * Minimum and maximum of each of nrows rows of 16 floats, NaNs ignored (Faiss's tab_min / tab_max:
 * a NaN never compares below or above; +inf / -inf for a row of NaNs). mins, maxs: nrows floats.
 */
export function pq4_lut_minmax(tab: usize, nrows: i32, mins: usize, maxs: usize): void {
  for (let i = 0; i < nrows; i++) {
    const p = tab + (<usize>i << 6);
    // pmin(m, x) = x < m ? x : m, as Faiss's `if (x < min) min = x`
    let lo = f32x4.splat(Infinity);
    let hi = f32x4.splat(-Infinity);
    for (let j: usize = 0; j < 64; j += 16) {
      const v = v128.load(p + j);
      lo = f32x4.pmin(lo, v);
      hi = f32x4.pmax(hi, v);
    }
    // the horizontal min / max by lane swaps: no data-dependent branch (those mispredicted on
    // every other row); pmin / pmax keep the first of equal values, as the scalar loop does
    lo = f32x4.pmin(lo, i32x4.shuffle(lo, lo, 2, 3, 0, 1));
    lo = f32x4.pmin(lo, i32x4.shuffle(lo, lo, 1, 0, 3, 2));
    hi = f32x4.pmax(hi, i32x4.shuffle(hi, hi, 2, 3, 0, 1));
    hi = f32x4.pmax(hi, i32x4.shuffle(hi, hi, 1, 0, 3, 2));
    const mn = f32x4.extract_lane(lo, 0);
    const mx = f32x4.extract_lane(hi, 0);
    store<f32>(mins + (<usize>i << 2), mn);
    store<f32>(maxs + (<usize>i << 2), mx);
  }
}

/**
 * floorf((x - bi) * a + 0.5) for four floats. C adds the 0.5 in double, then rounds to float; a float
 * addition gives the same float: below 2^52 the sum is exact in double, so the double result rounds
 * to float as the exact sum would (above, both give the other operand unchanged).
 */
@inline function round4(x: v128, bi: v128, a: v128): v128 {
  return f32x4.floor(f32x4.add(f32x4.mul(f32x4.sub(x, bi), a), f32x4.splat(0.5)));
}

/** C's float -> int32 conversion on x86 (cvttss2si): truncation, INT_MIN for NaN and out of range. */
@inline function to_int(x: v128): v128 {
  const inRange = f32x4.lt(x, f32x4.splat(2147483648.0)); // false for NaN and >= 2^31
  return v128.bitselect(i32x4.trunc_sat_f32x4_s(x), i32x4.splat(i32.MIN_VALUE), inRange);
}

/**
 * Rounds nrows rows of 16 floats to bytes: out[i*16 + j] = (uint8) floorf((tab[i*16+j] - mins[i]) * a
 * + 0.5), Faiss's round_tab<uint8_t> (the conversion truncates as on x86: NaN gives 0).
 */
export function pq4_lut_round(tab: usize, nrows: i32, a: f32, mins: usize, out: usize): void {
  const av = f32x4.splat(a);
  for (let i = 0; i < nrows; i++) {
    const p = tab + (<usize>i << 6);
    const bi = f32x4.splat(load<f32>(mins + (<usize>i << 2)));
    const r0 = to_int(round4(v128.load(p), bi, av));
    const r1 = to_int(round4(v128.load(p, 16), bi, av));
    const r2 = to_int(round4(v128.load(p, 32), bi, av));
    const r3 = to_int(round4(v128.load(p, 48), bi, av));
    // keep the low byte of each int32 (C's truncating conversion), no saturation
    const m = i32x4.splat(0xff);
    const w0 = i16x8.narrow_i32x4_u(v128.and(r0, m), v128.and(r1, m));
    const w1 = i16x8.narrow_i32x4_u(v128.and(r2, m), v128.and(r3, m));
    v128.store(out + (<usize>i << 4), i8x16.narrow_i16x8_u(w0, w1));
  }
}

/**
 * The quantized table of one query for IndexIVFPQFastScan without a bias (Faiss's
 * quantize_LUT_and_bias, 2D, no bias; src/quantizers/quantizeLut.ts lutAndBiasScale is the
 * reference): the row ranges of the M rows of 16 floats at tab (into mins / maxs), the scale
 * a = min(255 / largest row span, 65535 / sum of the spans) and b = sum of the row minima (two
 * floats at scale), and the rows rounded with their own minimum into out (M2 rows of 16 bytes, the
 * rows past M zero). std::max / std::min keep the first of two values unless the second compares
 * beyond it.
 */
export function pq4_lut_2d(tab: usize, M: i32, M2: i32, mins: usize, maxs: usize, scale: usize, out: usize): void {
  pq4_lut_minmax(tab, M, mins, maxs);
  let maxSpanLUT: f32 = -Infinity;
  let maxSpanDis: f32 = 0;
  let b: f32 = 0;
  for (let i = 0; i < M; i++) {
    const o = <usize>i << 2;
    const span = load<f32>(maxs + o) - load<f32>(mins + o);
    if (maxSpanLUT < span) maxSpanLUT = span;
    maxSpanDis = maxSpanDis + span;
    b = b + load<f32>(mins + o);
  }
  const a255 = <f32>255 / maxSpanLUT;
  const a65535 = <f32>65535 / maxSpanDis;
  const a = a65535 < a255 ? a65535 : a255;
  store<f32>(scale, a);
  store<f32>(scale, b, 4);
  pq4_lut_round(tab, M, a, mins, out);
  memory.fill(out + (<usize>M << 4), 0, <usize>(M2 - M) << 4);
}
