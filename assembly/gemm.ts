// Tiled inner products of a block of queries against a block of vectors: the compute-bound core of
// batched exact search (Faiss calls BLAS sgemm here). Register tile: 2 queries x 4 vectors, with
// the 4-dimension partial sums reduced by a transposition so that 4 results are stored at once.
import { hsum4 } from './distances';

@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * out[i * ldo + j] = <Q_i, Y_j> for i < nq, j < ny. Q and Y are row-major with d floats per row.
 * d must be a multiple of 4 (the caller pads or uses the generic kernel otherwise).
 */
export function inner_products_block(out: usize, ldo: i32, Q: usize, nq: i32, Y: usize, ny: i32, d: i32): void {
  const stride = <usize>d << 2;
  const ldob = <usize>ldo << 2;
  let j = 0;
  for (; j + 4 <= ny; j += 4) {
    const y0 = Y + <usize>j * stride;
    const y1 = y0 + stride;
    const y2 = y1 + stride;
    const y3 = y2 + stride;
    let i = 0;
    for (; i + 2 <= nq; i += 2) {
      const q0 = Q + <usize>i * stride;
      const q1 = q0 + stride;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      let o: usize = 0;
      // two 4-float steps per iteration: halves the loop's bookkeeping
      for (; o + 32 <= stride; o += 32) {
        let a0 = v128.load(q0 + o);
        let a1 = v128.load(q1 + o);
        let b = v128.load(y0 + o);
        c00 = madd(c00, a0, b);
        c10 = madd(c10, a1, b);
        b = v128.load(y1 + o);
        c01 = madd(c01, a0, b);
        c11 = madd(c11, a1, b);
        b = v128.load(y2 + o);
        c02 = madd(c02, a0, b);
        c12 = madd(c12, a1, b);
        b = v128.load(y3 + o);
        c03 = madd(c03, a0, b);
        c13 = madd(c13, a1, b);
        a0 = v128.load(q0 + o, 16);
        a1 = v128.load(q1 + o, 16);
        b = v128.load(y0 + o, 16);
        c00 = madd(c00, a0, b);
        c10 = madd(c10, a1, b);
        b = v128.load(y1 + o, 16);
        c01 = madd(c01, a0, b);
        c11 = madd(c11, a1, b);
        b = v128.load(y2 + o, 16);
        c02 = madd(c02, a0, b);
        c12 = madd(c12, a1, b);
        b = v128.load(y3 + o, 16);
        c03 = madd(c03, a0, b);
        c13 = madd(c13, a1, b);
      }
      if (o < stride) {
        const a0 = v128.load(q0 + o);
        const a1 = v128.load(q1 + o);
        let b = v128.load(y0 + o);
        c00 = madd(c00, a0, b);
        c10 = madd(c10, a1, b);
        b = v128.load(y1 + o);
        c01 = madd(c01, a0, b);
        c11 = madd(c11, a1, b);
        b = v128.load(y2 + o);
        c02 = madd(c02, a0, b);
        c12 = madd(c12, a1, b);
        b = v128.load(y3 + o);
        c03 = madd(c03, a0, b);
        c13 = madd(c13, a1, b);
      }
      const p = out + <usize>i * ldob + (<usize>j << 2);
      v128.store(p, hsum4(c00, c01, c02, c03));
      v128.store(p + ldob, hsum4(c10, c11, c12, c13));
    }
    if (i < nq) {
      const q0 = Q + <usize>i * stride;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      for (let o: usize = 0; o < stride; o += 16) {
        const a0 = v128.load(q0 + o);
        c00 = madd(c00, a0, v128.load(y0 + o));
        c01 = madd(c01, a0, v128.load(y1 + o));
        c02 = madd(c02, a0, v128.load(y2 + o));
        c03 = madd(c03, a0, v128.load(y3 + o));
      }
      v128.store(out + <usize>i * ldob + (<usize>j << 2), hsum4(c00, c01, c02, c03));
    }
  }
  for (; j < ny; j++) {
    const yj = Y + <usize>j * stride;
    for (let i = 0; i < nq; i++) {
      const qi = Q + <usize>i * stride;
      let c = f32x4.splat(0);
      for (let o: usize = 0; o < stride; o += 16) c = madd(c, v128.load(qi + o), v128.load(yj + o));
      store<f32>(out + <usize>i * ldob + (<usize>j << 2),
        f32x4.extract_lane(c, 0) + f32x4.extract_lane(c, 1) + f32x4.extract_lane(c, 2) + f32x4.extract_lane(c, 3));
    }
  }
}
