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
