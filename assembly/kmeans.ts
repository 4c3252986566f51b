// The per-point loops of a k-means iteration besides the assignment (src/clustering/Clustering.ts):
// the distance of each point to its assigned centroid (Hamerly's exact upper bound), and the sums
// of the points of each centroid, accumulated in float64 in the points' order as Faiss's
// compute_centroids does (so the centroids are those of the TypeScript loop, bit for bit).

import { fvec_L2sqr } from './distances';

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
