// Tiled inner products of a block of queries against a block of vectors: the compute-bound core of
// batched exact search and k-means (Faiss calls BLAS sgemm here).
//
// The vectors are first packed 8 at a time, dimension-major: group g holds, for each dimension t,
// the 8 floats y[8g .. 8g+7][t] (zero-padded past ny). The register tile is then 4 queries x 8
// vectors: per dimension, two loads of packed vectors, four broadcast loads of query floats and
// eight multiply-adds into 8 accumulators, with no horizontal sums. Any d works.
//
// Addressing: the inner loops step one pointer per row (and one for the packed vectors) by a
// constant, so that every load is a register plus an immediate offset. Written with one index t
// (q0 + t, q0 + stride + t, ...), V8's code kept too few of the row addresses in registers: it
// reloaded them from the stack and recomputed them with multiplications in every iteration, and the
// tile ran at 10-11 GMAC/s instead of 18-19 (two 4-lane multiply-adds a cycle, this machine's peak, is
// 19.6 at 2.45 GHz).

@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Bytes pack_block writes for ny vectors of dimension d. */
export function packed_bytes(ny: i32, d: i32): usize {
  return (((<usize>ny + 7) >> 3) * <usize>d) << 5;
}

/** Packs ny vectors (row-major at Y) into dst, 8 vectors per group, dimension-major, zero-padded. */
export function pack_block(dst: usize, Y: usize, ny: i32, d: i32): void {
  const stride = <usize>d << 2;
  const ngroups = (ny + 7) >> 3;
  // full groups, 4 dimensions at a time: two 4 x 4 transposes
  const full = (d & 3) == 0 ? ny >> 3 : 0;
  for (let g = 0; g < full; g++) {
    const gd = dst + ((<usize>g * <usize>d) << 5);
    const y0 = Y + <usize>(g << 3) * stride;
    for (let t = 0; t < d; t += 4) {
      const o = <usize>t << 2;
      const p = gd + (<usize>t << 5);
      for (let h: usize = 0; h < 2; h++) {
        const yh = y0 + h * 4 * stride + o;
        const r0 = v128.load(yh);
        const r1 = v128.load(yh + stride);
        const r2 = v128.load(yh + 2 * stride);
        const r3 = v128.load(yh + 3 * stride);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        const ph = p + (h << 4);
        v128.store(ph, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(ph, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 32);
        v128.store(ph, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 64);
        v128.store(ph, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 96);
      }
    }
  }
  for (let g = full; g < ngroups; g++) {
    const gd = dst + ((<usize>g * <usize>d) << 5);
    for (let c = 0; c < 8; c++) {
      const j = (g << 3) + c;
      const col = gd + (<usize>c << 2);
      if (j < ny) {
        const yj = Y + <usize>j * stride;
        for (let t = 0; t < d; t++) store<f32>(col + (<usize>t << 5), load<f32>(yj + (<usize>t << 2)));
      } else {
        for (let t = 0; t < d; t++) store<f32>(col + (<usize>t << 5), 0);
      }
    }
  }
}

// Stores 8 results (two v128) at p, or only the first ncols when the group is partial.
@inline function store8(p: usize, lo: v128, hi: v128, ncols: i32): void {
  if (ncols >= 8) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  } else {
    for (let c = 0; c < ncols; c++) {
      let v: f32;
      switch (c) {
        case 0: v = f32x4.extract_lane(lo, 0); break;
        case 1: v = f32x4.extract_lane(lo, 1); break;
        case 2: v = f32x4.extract_lane(lo, 2); break;
        case 3: v = f32x4.extract_lane(lo, 3); break;
        case 4: v = f32x4.extract_lane(hi, 0); break;
        case 5: v = f32x4.extract_lane(hi, 1); break;
        default: v = f32x4.extract_lane(hi, 2);
      }
      store<f32>(p + (<usize>c << 2), v);
    }
  }
}

/**
 * out[i * ldo + j] = <Q_i, Y_j> for i < nq, j < ny, with Y packed by pack_block at P. Rows four at a
 * time (a 4 x 8 register tile); the rows left over one at a time, two groups of 8 columns at once
 * (four independent sums: one row's two would wait on each other's multiply-add). Each result is
 * the same sum in the same order either way.
 */
export function inner_products_packed(out: usize, ldo: i32, Q: usize, nq: i32, P: usize, ny: i32, d: i32): void {
  const stride = <usize>d << 2;
  const ldob = <usize>ldo << 2;
  const ngroups = (ny + 7) >> 3;
  const nq4 = nq & ~3;
  for (let g = 0; g < ngroups; g++) {
    const yp = P + ((<usize>g * <usize>d) << 5);
    const ncols = min(8, ny - (g << 3));
    const o = out + (<usize>(g << 3) << 2);
    for (let i = 0; i < nq4; i += 4) {
      // one pointer per row, each stepped by a constant (see the note on addressing above)
      let q0 = Q + <usize>i * stride;
      let q1 = q0 + stride;
      let q2 = q1 + stride;
      let q3 = q2 + stride;
      const end = q1;
      let bp = yp;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      while (q0 < end) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let a = v128.load32_splat(q0);
        c00 = madd(c00, a, b0);
        c01 = madd(c01, a, b1);
        a = v128.load32_splat(q1);
        c10 = madd(c10, a, b0);
        c11 = madd(c11, a, b1);
        a = v128.load32_splat(q2);
        c20 = madd(c20, a, b0);
        c21 = madd(c21, a, b1);
        a = v128.load32_splat(q3);
        c30 = madd(c30, a, b0);
        c31 = madd(c31, a, b1);
        q0 += 4;
        q1 += 4;
        q2 += 4;
        q3 += 4;
        bp += 32;
      }
      const p = o + <usize>i * ldob;
      store8(p, c00, c01, ncols);
      store8(p + ldob, c10, c11, ncols);
      store8(p + 2 * ldob, c20, c21, ncols);
      store8(p + 3 * ldob, c30, c31, ncols);
    }
  }
  for (let i = nq4; i < nq; i++) {
    const row = out + <usize>i * ldob;
    let g = 0;
    for (; g + 2 <= ngroups; g += 2) {
      let q0 = Q + <usize>i * stride;
      const end = q0 + stride;
      let bp = P + ((<usize>g * <usize>d) << 5);
      let bq = bp + (<usize>d << 5);
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      while (q0 < end) {
        const a = v128.load32_splat(q0);
        c00 = madd(c00, a, v128.load(bp));
        c01 = madd(c01, a, v128.load(bp, 16));
        c10 = madd(c10, a, v128.load(bq));
        c11 = madd(c11, a, v128.load(bq, 16));
        q0 += 4;
        bp += 32;
        bq += 32;
      }
      store8(row + (<usize>(g << 3) << 2), c00, c01, 8);
      store8(row + (<usize>((g + 1) << 3) << 2), c10, c11, min(8, ny - ((g + 1) << 3)));
    }
    if (g < ngroups) {
      let q0 = Q + <usize>i * stride;
      const end = q0 + stride;
      let bp = P + ((<usize>g * <usize>d) << 5);
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      while (q0 < end) {
        const a = v128.load32_splat(q0);
        c00 = madd(c00, a, v128.load(bp));
        c01 = madd(c01, a, v128.load(bp, 16));
        q0 += 4;
        bp += 32;
      }
      store8(row + (<usize>(g << 3) << 2), c00, c01, min(8, ny - (g << 3)));
    }
  }
}

/**
 * out[i * ldo + j] = <Q_i, Y_j> for i < nq, j < ny (Y row-major). tmp: packed_bytes(ny, d) bytes.
 */
export function inner_products_block(out: usize, ldo: i32, Q: usize, nq: i32, Y: usize, ny: i32, d: i32, tmp: usize): void {
  pack_block(tmp, Y, ny, d);
  inner_products_packed(out, ldo, Q, nq, tmp, ny, d);
}
