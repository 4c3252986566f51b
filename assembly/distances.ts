// Distances between one vector and many: squared L2, inner products, norms.
// All pointers are byte offsets into the module's (imported, shared) memory; vectors are d floats.

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** ||a - b||^2. Walks both vectors sequentially, 16 floats a step into 4 accumulators: hardware
 * prefetchers follow one stream best, which is what a memory-bound scan needs. */
export function fvec_L2sqr(a: usize, b: usize, d: i32): f32 {
  return l2sqr(a, b, d);
}

/**
 * fvec_L2sqr's sum, inlined where a loop computes many distances: V8 saves every live register to
 * the stack around a call and reloads them after it, which cost loops such as the k-means
 * assignment's as much as the distance itself. The same operations in the same order: the same
 * floats.
 */
@inline export function l2sqr(a: usize, b: usize, d: i32): f32 {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  const n = <usize>d << 2;
  let o: usize = 0;
  for (; o + 64 <= n; o += 64) {
    const t0 = f32x4.sub(v128.load(a + o), v128.load(b + o));
    const t1 = f32x4.sub(v128.load(a + o, 16), v128.load(b + o, 16));
    const t2 = f32x4.sub(v128.load(a + o, 32), v128.load(b + o, 32));
    const t3 = f32x4.sub(v128.load(a + o, 48), v128.load(b + o, 48));
    c0 = f32x4.add(c0, f32x4.mul(t0, t0));
    c1 = f32x4.add(c1, f32x4.mul(t1, t1));
    c2 = f32x4.add(c2, f32x4.mul(t2, t2));
    c3 = f32x4.add(c3, f32x4.mul(t3, t3));
  }
  for (; o + 16 <= n; o += 16) {
    const t0 = f32x4.sub(v128.load(a + o), v128.load(b + o));
    c0 = f32x4.add(c0, f32x4.mul(t0, t0));
  }
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; o < n; o += 4) {
    const t = load<f32>(a + o) - load<f32>(b + o);
    s += t * t;
  }
  return s;
}

/** <a, b>, walked as fvec_L2sqr. */
export function fvec_inner_product(a: usize, b: usize, d: i32): f32 {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  const n = <usize>d << 2;
  let o: usize = 0;
  for (; o + 64 <= n; o += 64) {
    c0 = f32x4.add(c0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    c1 = f32x4.add(c1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    c2 = f32x4.add(c2, f32x4.mul(v128.load(a + o, 32), v128.load(b + o, 32)));
    c3 = f32x4.add(c3, f32x4.mul(v128.load(a + o, 48), v128.load(b + o, 48)));
  }
  for (; o + 16 <= n; o += 16) c0 = f32x4.add(c0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; o < n; o += 4) s += load<f32>(a + o) * load<f32>(b + o);
  return s;
}

/** out[i] = ||x_i||^2 for i < n. out: size n floats. */
export function fvec_norms_L2sqr(out: usize, x: usize, d: i32, n: i32): void {
  const stride = <usize>d << 2;
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * stride;
    store<f32>(out + (<usize>i << 2), fvec_inner_product(xi, xi, d));
  }
}

// [sum(a), sum(b), sum(c), sum(d)]
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  const s0 = f32x4.add(t0, t1);
  const s1 = f32x4.add(t2, t3);
  return f32x4.add(i32x4.shuffle(s0, s1, 0, 1, 4, 5), i32x4.shuffle(s0, s1, 2, 3, 6, 7));
}

/** out[j] = ||q - y_j||^2 for j < ny. out: size ny floats (see two_streams). */
export function fvec_L2sqr_ny(out: usize, q: usize, y: usize, d: i32, ny: i32): void {
  two_streams(true, out, q, y, d, ny);
}

/** out[j] = <q, y_j> for j < ny. out: size ny floats (see two_streams). */
export function fvec_inner_products_ny(out: usize, q: usize, y: usize, d: i32, ny: i32): void {
  two_streams(false, out, q, y, d, ny);
}

/** One 16-byte step of a sum: l2sqr's (squared difference) or fvec_inner_product's (product). */
@inline function term(isL2: bool, acc: v128, v: v128, w: v128): v128 {
  if (isL2) {
    const t = f32x4.sub(v, w);
    return f32x4.add(acc, f32x4.mul(t, t));
  }
  return f32x4.add(acc, f32x4.mul(v, w));
}

/**
 * out[j] = ||q - y_j||^2 (isL2) or <q, y_j> for j < ny, the two halves of the vectors walked side by
 * side, one vector of each per step: two sequential streams keep twice the cache misses in flight,
 * and a scan from memory (an inverted list, a flat index) runs some 1.3 times faster than one stream
 * (d = 128 or 256, vectors out of cache; within 7 % either way in cache). Each result is l2sqr's or
 * fvec_inner_product's, operation for operation.
 */
@inline function two_streams(isL2: bool, out: usize, q: usize, y: usize, d: i32, ny: i32): void {
  const stride = <usize>d << 2;
  const h = ny >> 1;
  if ((d & 3) != 0 || h < 8) {
    for (let j = 0; j < ny; j++) {
      const yj = y + <usize>j * stride;
      store<f32>(out + (<usize>j << 2), isL2 ? l2sqr(q, yj, d) : fvec_inner_product(q, yj, d));
    }
    return;
  }
  let p0 = y;
  let p1 = y + <usize>h * stride;
  let o0 = out;
  let o1 = out + (<usize>h << 2);
  const q64 = q + (stride & ~(<usize>63));
  const qend = q + stride;
  for (let j = 0; j < h; j++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    // one pointer per stream, stepped by a constant (see gemm.ts on addressing)
    let qp = q;
    while (qp < q64) {
      let v = v128.load(qp);
      a0 = term(isL2, a0, v, v128.load(p0));
      b0 = term(isL2, b0, v, v128.load(p1));
      v = v128.load(qp, 16);
      a1 = term(isL2, a1, v, v128.load(p0, 16));
      b1 = term(isL2, b1, v, v128.load(p1, 16));
      v = v128.load(qp, 32);
      a2 = term(isL2, a2, v, v128.load(p0, 32));
      b2 = term(isL2, b2, v, v128.load(p1, 32));
      v = v128.load(qp, 48);
      a3 = term(isL2, a3, v, v128.load(p0, 48));
      b3 = term(isL2, b3, v, v128.load(p1, 48));
      qp += 64;
      p0 += 64;
      p1 += 64;
    }
    while (qp < qend) {
      const v = v128.load(qp);
      a0 = term(isL2, a0, v, v128.load(p0));
      b0 = term(isL2, b0, v, v128.load(p1));
      qp += 16;
      p0 += 16;
      p1 += 16;
    }
    store<f32>(o0, hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))));
    store<f32>(o1, hsum(f32x4.add(f32x4.add(b0, b1), f32x4.add(b2, b3))));
    o0 += 4;
    o1 += 4;
  }
  // an odd count leaves the last vector
  if ((ny & 1) != 0) {
    const yl = y + <usize>(ny - 1) * stride;
    store<f32>(out + (<usize>(ny - 1) << 2), isL2 ? l2sqr(q, yl, d) : fvec_inner_product(q, yl, d));
  }
}

/**
 * Residuals in place: x_i -= c_{keys[i]} for the n vectors of x (d floats each), or x_i = 0 where
 * keys[i] < 0 (int32 keys; c: the centroids, d floats each). Faiss's compute_residual_n.
 */
export function residuals_n(x: usize, n: i32, d: i32, c: usize, keys: usize): void {
  const stride = <usize>d << 2;
  const s4 = stride & ~(<usize>15);
  let xp = x;
  for (let i = 0; i < n; i++) {
    const key = load<i32>(keys + (<usize>i << 2));
    const end = xp + stride;
    if (key < 0) {
      memory.fill(xp, 0, stride);
    } else {
      let cp = c + <usize>key * stride;
      const e4 = xp + s4;
      let p = xp;
      while (p < e4) {
        v128.store(p, f32x4.sub(v128.load(p), v128.load(cp)));
        p += 16;
        cp += 16;
      }
      while (p < end) {
        store<f32>(p, load<f32>(p) - load<f32>(cp));
        p += 4;
        cp += 4;
      }
    }
    xp = end;
  }
}

/** Normalises each of the n vectors of x in place to unit L2 norm (zero vectors are left as they are). */
export function fvec_renorm_L2(x: usize, d: i32, n: i32): void {
  const stride = <usize>d << 2;
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * stride;
    const nr = fvec_inner_product(xi, xi, d);
    if (nr > 0) {
      const inv = <f32>1.0 / Mathf.sqrt(nr);
      const vi = f32x4.splat(inv);
      let j = 0;
      for (; j + 4 <= d; j += 4) {
        const p = xi + (<usize>j << 2);
        v128.store(p, f32x4.mul(v128.load(p), vi));
      }
      for (; j < d; j++) {
        const p = xi + (<usize>j << 2);
        store<f32>(p, load<f32>(p) * inv);
      }
    }
  }
}

/** The position of the first NaN or infinity among the n floats at x, or -1 when all are finite. */
export function fvec_first_nonfinite(x: usize, n: i32): i32 {
  const expo = i32x4.splat(0x7f800000);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    // all exponent bits set: infinity or NaN
    const a = i32x4.eq(v128.and(v128.load(p), expo), expo);
    const b = i32x4.eq(v128.and(v128.load(p, 16), expo), expo);
    const c = i32x4.eq(v128.and(v128.load(p, 32), expo), expo);
    const e = i32x4.eq(v128.and(v128.load(p, 48), expo), expo);
    if (v128.any_true(v128.or(v128.or(a, b), v128.or(c, e)))) break;
  }
  for (; i < n; i++) {
    if ((load<i32>(x + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) return i;
  }
  return -1;
}
