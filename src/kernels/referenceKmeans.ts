/**
 * @module kernels/referenceKmeans
 * Plain TypeScript oracles of k-means' per-point kernels (assembly/kmeans.ts): the tests compare
 * the WebAssembly results with them.
 */

/** Reference of kmeans_assigned_l2: ||x_i - c_{assign[i]}||^2, summed in double. */
export function kmeansAssignedL2Reference(x: Float32Array, n: number, d: number, c: Float32Array, assign: Int32Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const u = x[i * d + t]! - c[assign[i]! * d + t]!;
      s += u * u;
    }
    out[i] = s;
  }
  return out;
}

/**
 * Reference of kmeans_accumulate: for each point in order with a = assign[i] - kFrozen >= 0,
 * sums[a*d + j] += x[i*d + j] * w[i] and counts[a] += w[i] (w = 1 without weights), in double.
 */
export function kmeansAccumulateReference(x: Float32Array, n: number, d: number, assign: Int32Array, kFrozen: number, weights: Float32Array | undefined, k: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array((k - kFrozen) * d);
  const counts = new Float64Array(k - kFrozen);
  for (let i = 0; i < n; i++) {
    const a = assign[i]! - kFrozen;
    if (a < 0) continue;
    const w = weights === undefined ? 1 : weights[i]!;
    counts[a] += w;
    for (let j = 0; j < d; j++) sums[a * d + j] += weights === undefined ? x[i * d + j]! : x[i * d + j]! * w;
  }
  return { sums, counts };
}

/**
 * Reference of kmeans_elkan_geometry, in double: half distances between centroids, their row
 * minimum, and how far each centroid moved (which the kernel adds to its running sum).
 */
export function kmeansElkanGeometryReference(c: Float32Array, prev: Float32Array, k: number, d: number): { half: Float64Array; sep: Float64Array; drift: Float64Array } {
  const dist = (p: Float32Array, a: number, q: Float32Array, b: number): number => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (p[a * d + t]! - q[b * d + t]!) ** 2;
    return Math.sqrt(s);
  };
  const half = new Float64Array(k * k);
  const sep = new Float64Array(k).fill(Infinity);
  const drift = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    drift[a] = dist(c, a, prev, a);
    for (let b = 0; b < k; b++) {
      half[a * k + b] = dist(c, a, c, b) / 2;
      if (b !== a) sep[a] = Math.min(sep[a]!, half[a * k + b]!);
    }
  }
  return { half, sep, drift };
}

/**
 * The exact nearest centroid of each point (the lower number on ties) and its squared distance,
 * in double: what kmeans_elkan and kmeans_elkan_full must assign.
 */
export function kmeansNearestReference(x: Float32Array, n: number, d: number, c: Float32Array, k: number): { assign: Int32Array; dis: Float64Array; all: Float64Array } {
  const assign = new Int32Array(n);
  const dis = new Float64Array(n);
  const all = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t]! - c[j * d + t]!) ** 2;
      all[i * k + j] = s;
      if (s < best) {
        best = s;
        assign[i] = j;
      }
    }
    dis[i] = best;
  }
  return { assign, dis, all };
}

/**
 * Reference of kmeans_elkan in double, step for step, with plain lower bounds (the kernel stores them
 * offset by the centroids' summed movements): lowers them by the drift, computes the distances the
 * bounds do not rule out (updating assign, lower and dis); returns how many.
 */
export function kmeansElkanReference(
  x: Float32Array,
  n: number,
  d: number,
  c: Float32Array,
  k: number,
  geometry: { half: Float64Array; sep: Float64Array; drift: Float64Array },
  slack: number,
  assign: Int32Array,
  lower: Float64Array,
  dis: Float64Array,
): number {
  const { half, sep, drift } = geometry;
  const dist2 = (i: number, j: number): number => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (x[i * d + t]! - c[j * d + t]!) ** 2;
    return s;
  };
  let computed = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) lower[i * k + j] = lower[i * k + j]! - drift[j]!;
    const a0 = assign[i]!;
    let a = a0;
    let s = dist2(i, a);
    let u = Math.sqrt(s);
    lower[i * k + a0] = u;
    if (u > sep[a]! * slack) {
      for (let j = 0; j < k; j++) {
        if (j === a || u <= lower[i * k + j]! * slack || u <= half[a * k + j]! * slack) continue;
        const sj = dist2(i, j);
        lower[i * k + j] = Math.sqrt(sj);
        computed++;
        if (sj < s || (sj === s && j < a)) {
          a = j;
          s = sj;
          u = Math.sqrt(sj);
        }
      }
    }
    assign[i] = a;
    dis[i] = s;
  }
  return computed;
}
