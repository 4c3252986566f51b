// Distances between one vector and many: squared L2, inner products, norms.
// All pointers are byte offsets into the module's (imported, shared) memory; vectors are d floats.

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** ||a - b||^2 */
export function fvec_L2sqr(a: usize, b: usize, d: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= d; j += 8) {
    const o = <usize>j << 2;
    const t0 = f32x4.sub(v128.load(a + o), v128.load(b + o));
    const t1 = f32x4.sub(v128.load(a + o, 16), v128.load(b + o, 16));
    a0 = f32x4.add(a0, f32x4.mul(t0, t0));
    a1 = f32x4.add(a1, f32x4.mul(t1, t1));
  }
  if (j + 4 <= d) {
    const o = <usize>j << 2;
    const t0 = f32x4.sub(v128.load(a + o), v128.load(b + o));
    a0 = f32x4.add(a0, f32x4.mul(t0, t0));
    j += 4;
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; j < d; j++) {
    const t = load<f32>(a + (<usize>j << 2)) - load<f32>(b + (<usize>j << 2));
    s += t * t;
  }
  return s;
}

/** <a, b> */
export function fvec_inner_product(a: usize, b: usize, d: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= d; j += 8) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  if (j + 4 <= d) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    j += 4;
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; j < d; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
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

/** out[j] = ||q - y_j||^2 for j < ny. out: size ny floats. */
export function fvec_L2sqr_ny(out: usize, q: usize, y: usize, d: i32, ny: i32): void {
  const stride = <usize>d << 2;
  for (let j = 0; j < ny; j++) store<f32>(out + (<usize>j << 2), fvec_L2sqr(q, y + <usize>j * stride, d));
}

/** out[j] = <q, y_j> for j < ny. out: size ny floats. */
export function fvec_inner_products_ny(out: usize, q: usize, y: usize, d: i32, ny: i32): void {
  const stride = <usize>d << 2;
  for (let j = 0; j < ny; j++) store<f32>(out + (<usize>j << 2), fvec_inner_product(q, y + <usize>j * stride, d));
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
