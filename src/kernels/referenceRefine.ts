/**
 * @module kernels/referenceRefine
 * Plain TypeScript oracles of the refinement step (the tests compare the WebAssembly path with them):
 * the `refine_distances` kernel (Faiss's fvec_L2sqr_by_idx / fvec_inner_products_by_idx) and Faiss's
 * reorder_2_heaps (IndexRefine.cpp), which keeps the k best of the kBase refined candidates.
 */
import { Heap } from './reference.js';

/**
 * Reference of refine_distances: for query i < nq and candidate j < kb, id = ids[i*kb + j] - idBase;
 * where 0 <= id < ny, dis[i*kb + j] = ||x_i - y_id||^2 (metric 1) or <x_i, y_id> (metric 0), summed
 * in float64 then rounded to float32; other entries are left as they are.
 * x: nq*d floats; y: ny*d floats; ids: nq*kb; dis: nq*kb (in and out).
 */
export function refineDistancesReference(
  metric: number,
  x: Float32Array,
  nq: number,
  d: number,
  y: Float32Array,
  ny: number,
  idBase: bigint,
  ids: BigInt64Array,
  kb: number,
  dis: Float32Array,
): void {
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < kb; j++) {
      const e = i * kb + j;
      const id = ids[e]! - idBase;
      if (id < 0n || id >= BigInt(ny)) continue;
      const o = Number(id) * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const a = x[i * d + t]!;
        const b = y[o + t]!;
        s += metric === 1 ? (a - b) * (a - b) : a * b;
      }
      dis[e] = Math.fround(s);
    }
  }
}

/**
 * Faiss's reorder_2_heaps: the k best of each query's kb (distance, label) pairs, best first (L2:
 * smallest; inner product: largest), ties by label, -1 labels and padding last.
 * dis, ids: n*kb; returns n*k distances and labels.
 */
export function reorderTwoHeapsReference(isMax: boolean, n: number, k: number, kb: number, dis: Float32Array, ids: BigInt64Array): { distances: Float32Array; labels: BigInt64Array } {
  const distances = new Float32Array(n * k);
  const labels = new BigInt64Array(n * k);
  for (let i = 0; i < n; i++) {
    const h = new Heap(k, isMax);
    for (let j = 0; j < kb; j++) h.push(dis[i * kb + j]!, ids[i * kb + j]!);
    const r = h.reorder();
    distances.set(r.dis, i * k);
    labels.set(r.ids, i * k);
  }
  return { distances, labels };
}
