// The per-point loops of a k-means iteration besides the assignment (src/clustering/Clustering.ts):
// the distance of each point to its assigned centroid (Hamerly's exact upper bound), and the sums
// of the points of each centroid, accumulated in float64 in the points' order as Faiss's
// compute_centroids does (so the centroids are those of the TypeScript loop, bit for bit).

import { fvec_L2sqr, fvec_inner_product, l2sqr } from './distances';

/** out[i] = ||x_i - c_{assign[i]}||^2 for the n points x (d floats each); c: the centroids. */
export function kmeans_assigned_l2(x: usize, n: i32, d: i32, c: usize, assign: usize, out: usize): void {
  const stride = <usize>d << 2;
  for (let i = 0; i < n; i++) {
    const a = <usize>load<i32>(assign + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), fvec_L2sqr(x + <usize>i * stride, c + a * stride, d));
  }
}

/**
 * For each point i with a = assign[i] - kFrozen >= 0: sums[a*d + j] += x[i*d + j] (times w[i] when
 * weights != 0) and counts[a] += 1 (or w[i]), in float64 (sums: (k - kFrozen)*d doubles, counts:
 * k - kFrozen doubles, both accumulated into as they are).
 */
export function kmeans_accumulate(x: usize, n: i32, d: i32, assign: usize, kFrozen: i32, weights: usize, sums: usize, counts: usize): void {
  const stride = <usize>d << 2;
  const srow = <usize>d << 3;
  for (let i = 0; i < n; i++) {
    const a = load<i32>(assign + (<usize>i << 2)) - kFrozen;
    if (a < 0) continue;
    const xi = x + <usize>i * stride;
    const s = sums + <usize>a * srow;
    const cp = counts + (<usize>a << 3);
    let j = 0;
    if (weights == 0) {
      store<f64>(cp, load<f64>(cp) + 1);
      for (; j + 4 <= d; j += 4) {
        const v = v128.load(xi + (<usize>j << 2));
        const lo = f64x2.promote_low_f32x4(v);
        const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
        const sj = s + (<usize>j << 3);
        v128.store(sj, f64x2.add(v128.load(sj), lo));
        v128.store(sj, f64x2.add(v128.load(sj, 16), hi), 16);
      }
      for (; j < d; j++) {
        const sj = s + (<usize>j << 3);
        store<f64>(sj, load<f64>(sj) + <f64>load<f32>(xi + (<usize>j << 2)));
      }
    } else {
      const w = <f64>load<f32>(weights + (<usize>i << 2));
      store<f64>(cp, load<f64>(cp) + w);
      const w2 = f64x2.splat(w);
      for (; j + 4 <= d; j += 4) {
        const v = v128.load(xi + (<usize>j << 2));
        const lo = f64x2.mul(f64x2.promote_low_f32x4(v), w2);
        const hi = f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), w2);
        const sj = s + (<usize>j << 3);
        v128.store(sj, f64x2.add(v128.load(sj), lo));
        v128.store(sj, f64x2.add(v128.load(sj, 16), hi), 16);
      }
      for (; j < d; j++) {
        const sj = s + (<usize>j << 3);
        store<f64>(sj, load<f64>(sj) + <f64>load<f32>(xi + (<usize>j << 2)) * w);
      }
    }
  }
}

// ---- Elkan's bounds (src/clustering/elkanAssign.ts) -------------------------------------------
//
// The lower bounds are stored offset by how far their centroid had moved when they were set:
// lower[i*k + c] = l + moved[c], where moved[c] sums the centroid's movements since the last full
// step. The bound now is lower[i*k + c] - moved[c] (triangle inequality), read with a margin of
// MOVED_MARGIN on moved for the float rounding of the sums; so a step touches the bounds of the
// points it searches only.

/** 1 + 2^-16: the relative margin on the summed movements (their float rounding, the bounds' offsets). */
const MOVED_MARGIN: f32 = 1.0000152587890625;

/**
 * The centroid geometry of one Elkan step: half[a*k + b] = ||c_a - c_b|| / 2, sep[a] = min over
 * b != a of half[a*k + b] (Infinity when k = 1), and moved[a] += ||c_a - prev_a|| (how far each
 * centroid moved since the previous step).
 */
export function kmeans_elkan_geometry(c: usize, prev: usize, k: i32, d: i32, half: usize, sep: usize, moved: usize): void {
  const stride = <usize>d << 2;
  for (let a = 0; a < k; a++) {
    const mp = moved + (<usize>a << 2);
    store<f32>(mp, load<f32>(mp) + sqrt<f32>(fvec_L2sqr(c + <usize>a * stride, prev + <usize>a * stride, d)));
    store<f32>(half + ((<usize>a * <usize>k + <usize>a) << 2), 0);
    for (let b = a + 1; b < k; b++) {
      const h = sqrt<f32>(fvec_L2sqr(c + <usize>a * stride, c + <usize>b * stride, d)) * 0.5;
      store<f32>(half + ((<usize>a * <usize>k + <usize>b) << 2), h);
      store<f32>(half + ((<usize>b * <usize>k + <usize>a) << 2), h);
    }
  }
  for (let a = 0; a < k; a++) {
    let m: f32 = Infinity;
    const row = half + ((<usize>a * <usize>k) << 2);
    for (let b = 0; b < k; b++) {
      if (b == a) continue;
      m = min<f32>(m, load<f32>(row + (<usize>b << 2)));
    }
    store<f32>(sep + (<usize>a << 2), m);
  }
}

/**
 * One exact assignment step with Elkan's bounds. With u = ||x_i - c_a|| computed exactly for the
 * current centroid a = assign[i], a centroid c is skipped when u <= bound * slack or
 * u <= half[a*k + c] * slack (then ||x_i - c_c|| >= u: c cannot be nearer), and the whole point when
 * u <= sep[a] * slack. Other distances are computed and tighten the bounds; a nearer centroid (or an
 * equally near one of lower number) takes the point. slack (just below 1) absorbs float rounding.
 * Writes assign[i] and dis[i] = ||x_i - c_assign[i]||^2; returns the number of distances computed
 * besides the n exact ones to the current centroids. cand: scratch of k + 4 int32.
 *
 * A point's candidates are first listed without a branch, four centroids at a time, with the
 * point's first (a, u); then each is tested again with the current (a, u) once the point has changed
 * centroid, and computed. Branching on each group's candidates instead mispredicted a few times
 * per computed distance, which cost more than the distance. Any skip is proven by a bound, so the
 * assignment is the exhaustive search's whichever (a, u) proved it.
 */
export function kmeans_elkan(x: usize, n: i32, d: i32, c: usize, k: i32, half: usize, sep: usize, moved: usize, slack: f32, assign: usize, lower: usize, dis: usize, cand: usize): i32 {
  const stride = <usize>d << 2;
  const krow = <usize>k << 2;
  const k4 = k & ~3;
  const marginv = f32x4.splat(MOVED_MARGIN);
  const slackv = f32x4.splat(slack);
  let computed = 0;
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * stride;
    const lrow = lower + <usize>i * krow;
    const a0 = load<i32>(assign + (<usize>i << 2));
    let a = a0;
    let s = l2sqr(xi, c + <usize>a * stride, d);
    let u = sqrt<f32>(s);
    store<f32>(lrow + (<usize>a0 << 2), u + load<f32>(moved + (<usize>a0 << 2)));
    if (u > load<f32>(sep + (<usize>a << 2)) * slack) {
      // the candidates for (a0, u): a0 itself passes both tests and is dropped below
      const uv = f32x4.splat(u);
      const hrow = half + ((<usize>a0 * <usize>k) << 2);
      let nc: usize = 0;
      let j = 0;
      for (; j < k4; j += 4) {
        const o = <usize>j << 2;
        const l = f32x4.sub(v128.load(lrow + o), f32x4.mul(v128.load(moved + o), marginv));
        const h = v128.load(hrow + o);
        const bits = i32x4.bitmask(v128.and(f32x4.lt(f32x4.mul(l, slackv), uv), f32x4.lt(f32x4.mul(h, slackv), uv)));
        store<i32>(cand + (nc << 2), j);
        nc += bits & 1;
        store<i32>(cand + (nc << 2), j + 1);
        nc += (bits >> 1) & 1;
        store<i32>(cand + (nc << 2), j + 2);
        nc += (bits >> 2) & 1;
        store<i32>(cand + (nc << 2), j + 3);
        nc += bits >> 3;
      }
      for (; j < k; j++) {
        const l = load<f32>(lrow + (<usize>j << 2)) - load<f32>(moved + (<usize>j << 2)) * MOVED_MARGIN;
        store<i32>(cand + (nc << 2), j);
        nc += <usize>(u > l * slack && u > load<f32>(hrow + (<usize>j << 2)) * slack);
      }
      for (let t: usize = 0; t < nc; t++) {
        const cc = load<i32>(cand + (t << 2));
        if (cc == a0) continue;
        const lo = lrow + (<usize>cc << 2);
        const mc = load<f32>(moved + (<usize>cc << 2));
        if (a != a0) {
          // the point changed centroid: its new (a, u) may rule cc out
          if (u <= (load<f32>(lo) - mc * MOVED_MARGIN) * slack) continue;
          if (u <= load<f32>(half + ((<usize>a * <usize>k + <usize>cc) << 2)) * slack) continue;
        }
        const sc = l2sqr(xi, c + <usize>cc * stride, d);
        const dc = sqrt<f32>(sc);
        store<f32>(lo, dc + mc);
        computed++;
        if (sc < s || (sc == s && cc < a)) {
          a = cc;
          s = sc;
          u = dc;
        }
      }
      store<i32>(assign + (<usize>i << 2), a);
    }
    store<f32>(dis + (<usize>i << 2), s);
  }
  return computed;
}

/**
 * The full assignment step that starts (or restarts) Elkan's bounds, from the inner products
 * lower[i*k + c] = <x_i, c_c> (the GEMM's, computed by the caller into the bounds' place):
 * with the squared norms cnorms of the centroids (cmax their largest), each distance
 * ||x_i||^2 + ||c||^2 - 2 <x_i, c> is known up to margin = rel * (||x_i||^2 + cmax). The centroids
 * within 2 margins of the smallest are computed exactly (as differences) and the nearest of them
 * (the lower number on ties) takes the point; lower[i*k + c] becomes the exact distance for those,
 * sqrt(max(0, distance - margin)) for the others. Writes assign and dis (the exact squared
 * distance); returns the number of exact distances computed. The bounds so set are not offset: the
 * caller sets every centroid's moved to 0.
 */
export function kmeans_elkan_full(x: usize, n: i32, d: i32, c: usize, k: i32, cnorms: usize, cmax: f32, rel: f32, assign: usize, lower: usize, dis: usize): i32 {
  const stride = <usize>d << 2;
  const krow = <usize>k << 2;
  const k4 = k & ~3;
  let computed = 0;
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * stride;
    const lrow = lower + <usize>i * krow;
    const xn = fvec_inner_product(xi, xi, d);
    const margin = rel * (xn + cmax);
    // distances from the inner products, and the smallest
    const xnv = f32x4.splat(xn);
    const two = f32x4.splat(2);
    let bestv = f32x4.splat(Infinity);
    let j = 0;
    for (; j < k4; j += 4) {
      const o = <usize>j << 2;
      const v = f32x4.sub(f32x4.add(xnv, v128.load(cnorms + o)), f32x4.mul(two, v128.load(lrow + o)));
      v128.store(lrow + o, v);
      bestv = f32x4.pmin(bestv, v);
    }
    let best = min<f32>(min<f32>(f32x4.extract_lane(bestv, 0), f32x4.extract_lane(bestv, 1)), min<f32>(f32x4.extract_lane(bestv, 2), f32x4.extract_lane(bestv, 3)));
    for (; j < k; j++) {
      const o = <usize>j << 2;
      const v = xn + load<f32>(cnorms + o) - 2 * load<f32>(lrow + o);
      store<f32>(lrow + o, v);
      best = min<f32>(best, v);
    }
    // the candidates get exact distances, the others a bound
    const cut = best + 2 * margin;
    const cutv = f32x4.splat(cut);
    const mv = f32x4.splat(margin);
    const zero = f32x4.splat(0);
    let a = -1;
    let s: f32 = Infinity;
    for (j = 0; j < k4; j += 4) {
      const o = <usize>j << 2;
      const v = v128.load(lrow + o);
      let bits = i32x4.bitmask(f32x4.le(v, cutv));
      v128.store(lrow + o, f32x4.sqrt(f32x4.pmax(f32x4.sub(v, mv), zero)));
      while (bits != 0) {
        const jj = j + ctz(bits);
        bits &= bits - 1;
        const sc = l2sqr(xi, c + <usize>jj * stride, d);
        computed++;
        store<f32>(lrow + (<usize>jj << 2), sqrt<f32>(sc));
        if (sc < s) {
          a = jj;
          s = sc;
        }
      }
    }
    for (; j < k; j++) {
      const o = <usize>j << 2;
      const v = load<f32>(lrow + o);
      if (v <= cut) {
        const sc = l2sqr(xi, c + <usize>j * stride, d);
        computed++;
        store<f32>(lrow + o, sqrt<f32>(sc));
        if (sc < s) {
          a = j;
          s = sc;
        }
      } else {
        store<f32>(lrow + o, sqrt<f32>(max<f32>(0, v - margin)));
      }
    }
    store<i32>(assign + (<usize>i << 2), a);
    store<f32>(dis + (<usize>i << 2), s);
  }
  return computed;
}
