/**
 * @module clustering/elkanAssign
 * Exact nearest-centroid assignment for k-means iterations with Elkan's bounds (Elkan, "Using the
 * triangle inequality to accelerate k-means", ICML 2003), for runs with few centroids, where the
 * projected bounds of IndexFlat do not apply and Hamerly's single bound skips few points:
 *  - lower[i][c] bounds ||x_i - c|| from below for every centroid c: set when that distance is
 *    computed, lowered each iteration by how far c moved (triangle inequality);
 *  - u_i = ||x_i - c_a(i)|| is computed exactly every iteration (the objective needs it);
 *  - centroid c is skipped for x_i when u_i <= lower[i][c] or u_i <= ||c_a(i) - c|| / 2, and the
 *    whole point when u_i <= min over c of ||c_a(i) - c|| / 2; only the other distances are
 *    computed, one by one (assembly/kmeans.ts, kmeans_elkan).
 * A full step computes every distance through the GEMM and restarts the bounds from them
 * (kmeans_elkan_full): the first two iterations, and any iteration after a step that computed more than
 * FULL_STEP_FRACTION of the n*k distances one by one (the centroids moved too far for the bounds).
 *
 * The assignments are those of exhaustive search: the nearest centroid is always decided on
 * distances computed as differences (which round less than the GEMM's norm expansion), the GEMM's
 * only narrowing the candidates within its rounding margin; the bounds carry a relative slack of
 * 1e-5 so that rounding never skips a centroid that is nearer. Ties go to the lower centroid number.
 *
 * Memory: n*k floats of bounds in the run's KmeansWorkspace, hence the ELKAN_MAX_BOUNDS limit.
 * Threads: one (ELKAN_MAX_THREADS); the points are independent, so the steps could be split over
 * the pool by ranges of points, which is not done yet.
 */
import type { KmeansWorkspace } from './KmeansWorkspace.js';

/** Largest n*k for which the bounds are kept (4 bytes each: 128 MiB). */
export const ELKAN_MAX_BOUNDS = 1 << 25;
/** Elkan's bounds are used below this many centroids; from there on IndexFlat prunes with its projected bounds. */
export const ELKAN_MAX_K = 512;
/**
 * The steps run on the calling thread: on 2 threads they take 0.6-0.7x the time of the pool's batched
 * search (MNIST, 64 and 256 centroids), so from 4 threads on the batched search is used instead.
 */
export const ELKAN_MAX_THREADS = 3;
/** A step computing more than this fraction of the distances one by one is followed by a full (GEMM) step. */
export const FULL_STEP_FRACTION = 0.25;
/** The first steps are full: the centroids move most in the first iterations. */
export const FULL_STEPS_AT_START = 2;

export class ElkanAssigner {
  /** Current assignment of each point. */
  readonly assign: Int32Array;
  /** Squared distance of each point to its centroid (what Faiss's objective sums). */
  readonly dis: Float32Array;
  /** Distances computed one by one at the last step (besides the GEMM's, for a full step). */
  lastComputed = 0;
  /** Whether the last step was a full one. */
  lastFull = false;
  private steps = 0;

  constructor(
    readonly n: number,
    readonly k: number,
    private readonly ws: KmeansWorkspace,
  ) {
    this.assign = new Int32Array(n);
    this.dis = new Float32Array(n);
  }

  /** Whether a run of n points and k centroids, on `threads` threads, uses Elkan's bounds. */
  static applies(n: number, k: number, threads: number): boolean {
    return k > 1 && k < ELKAN_MAX_K && n * k <= ELKAN_MAX_BOUNDS && threads <= ELKAN_MAX_THREADS;
  }

  /** Assigns the workspace's n points to the nearest of the k centroids (k*d floats). */
  run(centroids: Float32Array): void {
    const { n, k } = this;
    const full = this.steps < FULL_STEPS_AT_START || (!this.lastFull && this.lastComputed > FULL_STEP_FRACTION * n * k);
    this.lastComputed = this.ws.elkanStep(centroids, this.assign, this.dis, full);
    this.lastFull = full;
    this.steps++;
  }
}
