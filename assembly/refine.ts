// Distances from queries to gathered stored vectors: the refinement step of IndexRefineFlat (Faiss's
// IndexFlat::compute_distance_subset, i.e. fvec_L2sqr_by_idx / fvec_inner_products_by_idx), over one
// storage segment of the flat refinement index.
import { fvec_L2sqr, fvec_inner_product } from './distances';

/**
 * For each query i < nq (d floats at Q + i*d*4) and each of its kb candidates j, with
 * id = ids[i*kb + j] (int64) - idBase: where 0 <= id < ny, dis[i*kb + j] = ||Q_i - y_id||^2 (metric 1)
 * or <Q_i, y_id> (metric 0), y_id being the d floats at y + id*d*4. Other entries of dis (label -1,
 * or a vector held by another segment) are left as they are. Returns how many ids are >= ny (beyond
 * this segment; on the last segment, labels that the storage does not hold).
 */
/** Where the touched words go, so that the loads are kept. */
let touchSink: i32 = 0;

export function refine_distances(metric: i32, Q: usize, nq: i32, d: i32, y: usize, ny: i32, idBase: i64, ids: usize, kb: i32, dis: usize): i32 {
  const stride = <usize>d << 2;
  const n = <i64>ny;
  let beyond = 0;
  for (let i = 0; i < nq; i++) {
    const q = Q + <usize>i * stride;
    const row = <usize>i * <usize>kb;
    // first one load per cache line of every candidate: their misses (the candidates lie anywhere in
    // the storage) overlap instead of stalling one vector after the other
    let touch: i32 = 0;
    for (let j = 0; j < kb; j++) {
      const id = load<i64>(ids + ((row + <usize>j) << 3)) - idBase;
      if (id < 0 || id >= n) continue;
      const v = y + <usize>id * stride;
      for (let o: usize = 0; o < stride; o += 64) touch ^= load<i32>(v + o);
    }
    touchSink ^= touch;
    for (let j = 0; j < kb; j++) {
      const e = row + <usize>j;
      const id = load<i64>(ids + (e << 3)) - idBase;
      if (id >= n) beyond++;
      if (id < 0 || id >= n) continue;
      const v = y + <usize>id * stride;
      store<f32>(dis + (e << 2), metric == 1 ? fvec_L2sqr(q, v, d) : fvec_inner_product(q, v, d));
    }
  }
  return beyond;
}
