/**
 * @module clustering/boundedAssign
 * Exact nearest-centroid assignment for k-means iterations that skips the points whose centroid
 * provably did not change (Hamerly's bounds, with an exact upper bound):
 *  - u_i = ||x_i - c_a(i)|| is recomputed exactly every iteration (d flops per point);
 *  - l_i is a lower bound on the distance from x_i to every other centroid: set exactly by a k=2
 *    search, then lowered each iteration by how far the other centroids moved (triangle inequality);
 *  - if u_i <= l_i, c_a(i) is still the nearest centroid; only the other points are searched, in one
 *    batched k=2 search over all centroids.
 * The assignments are those of exhaustive search (up to float rounding, as between any two BLAS
 * orderings); the work falls from n*k*d to a fraction of it once the centroids settle. Used by
 * Clustering when the assignment index is an exact L2 IndexFlat (Faiss's default).
 */
import type { Index } from '../Index.js';
import type { KmeansWorkspace } from './KmeansWorkspace.js';

/** Relative slack on the bound test, so that float rounding never skips a point that moved. */
const SLACK = 1 - 1e-5;

export class BoundedAssigner {
  /** Current assignment of each point. */
  readonly assign: Int32Array;
  /** Squared distance of each point to its centroid (what Faiss's objective sums). */
  readonly dis: Float32Array;
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private prevCentroids: Float32Array | undefined;
  /** Points searched in full at the last call (for stats and tests). */
  lastSearched = 0;
  private current: Float32Array | undefined;

  constructor(
    readonly n: number,
    readonly k: number,
    readonly d: number,
  ) {
    this.assign = new Int32Array(n);
    this.dis = new Float32Array(n);
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
  }

  /**
   * Assigns the n points of x to the nearest of the k centroids, which `index` (an exact L2 index)
   * holds, in order. centroids: k*d, the same as in the index. ws: the points in WebAssembly memory,
   * where the distances to the current centroids are computed (else here, in double).
   */
  run(x: Float32Array, centroids: Float32Array, index: Index, ws?: KmeansWorkspace): void {
    const { n, k, d } = this;
    const prev = this.prevCentroids;
    let todo: Int32Array;
    if (prev === undefined) {
      todo = Int32Array.from({ length: n }, (_, i) => i);
    } else {
      // how far each centroid moved; the largest and second largest movement
      const moved = new Float64Array(k);
      let m1 = 0;
      let m2 = 0;
      let a1 = -1;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = c * d, e = j + d; j < e; j++) {
          const t = centroids[j]! - prev[j]!;
          s += t * t;
        }
        const m = Math.sqrt(s);
        moved[c] = m;
        if (m > m1) {
          m2 = m1;
          m1 = m;
          a1 = c;
        } else if (m > m2) {
          m2 = m;
        }
      }
      const list: number[] = [];
      const { assign, upper, lower, dis } = this;
      const cur = ws !== undefined ? (this.current ??= new Float32Array(n)) : undefined;
      if (ws !== undefined) ws.assignedDistances(centroids, assign, cur!);
      for (let i = 0; i < n; i++) {
        const a = assign[i]!;
        lower[i] = lower[i]! - (a === a1 ? m2 : m1);
        // exact distance to the (moved) current centroid
        let s = 0;
        if (cur !== undefined) {
          s = cur[i]!;
        } else {
          for (let j = 0, xo = i * d, co = a * d; j < d; j++) {
            const t = x[xo + j]! - centroids[co + j]!;
            s += t * t;
          }
        }
        const u = Math.sqrt(s);
        upper[i] = u;
        if (u <= lower[i]! * SLACK) dis[i] = s;
        else list.push(i);
      }
      todo = Int32Array.from(list);
    }
    this.lastSearched = todo.length;
    this.searchPoints(x, todo, index);
    this.prevCentroids = centroids.slice();
  }

  /** Gathered points, reused across blocks and iterations (shared, so the pool reads it in place). */
  private gather: Float32Array | undefined;

  /** Full k=2 search of the listed points, in blocks. */
  private searchPoints(x: Float32Array, todo: Int32Array, index: Index): void {
    const { d } = this;
    const block = 65536;
    for (let b0 = 0; b0 < todo.length; b0 += block) {
      const m = Math.min(block, todo.length - b0);
      const all = todo.length === this.n && b0 === 0 && m === this.n;
      let xs: Float32Array;
      if (all) {
        xs = x;
      } else {
        const cap = Math.min(block, this.n) * d;
        this.gather ??= typeof SharedArrayBuffer !== 'undefined' ? new Float32Array(new SharedArrayBuffer(cap * 4)) : new Float32Array(cap);
        xs = this.gather.subarray(0, m * d);
        for (let r = 0; r < m; r++) {
          const i = todo[b0 + r]!;
          xs.set(x.subarray(i * d, (i + 1) * d), r * d);
        }
      }
      const { distances, labels } = index.search(xs, 2);
      for (let r = 0; r < m; r++) {
        const i = todo[b0 + r]!;
        const d0 = distances[2 * r]!;
        const d1 = distances[2 * r + 1]!;
        this.assign[i] = Number(labels[2 * r]!);
        this.dis[i] = d0;
        this.upper[i] = Math.sqrt(d0);
        // with a single centroid there is no second one: nothing can take the point away
        this.lower[i] = labels[2 * r + 1]! < 0n ? Infinity : Math.sqrt(d1);
      }
      if (all) break;
    }
  }
}
