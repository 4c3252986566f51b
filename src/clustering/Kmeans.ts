/**
 * @module clustering/Kmeans
 * Faiss's Python `faiss.Kmeans`: k-means that manages its centroids and an index over them.
 *
 * ```ts
 * const km = new Kmeans(d, 256, { niter: 20, seed: 1234 });
 * km.train(x);                       // x: n*d floats
 * const { labels } = km.assign(q);   // nearest centroid of each row of q
 * ```
 *
 * As in Python, each `train()` builds a fresh {@link Clustering} with the parameters, clusters with an
 * IndexFlatIP when `spherical` is set and an IndexFlatL2 otherwise, and keeps that index (holding
 * the centroids) in `index`.
 */
import { NotTrainedError, InvalidArgumentError } from '../errors.js';
import { IndexFlat, IndexFlatIP, IndexFlatL2 } from '../indexes/IndexFlat.js';
import type { SearchResult } from '../Index.js';
import { checkPositiveInt, checkVectors } from '../validate.js';
import {
  Clustering,
  DEFAULT_CLUSTERING_PARAMETERS,
  type ClusteringIterationStats,
  type ClusteringOptions,
  type ClusteringParameters,
  checkOptionNames,
} from './Clustering.js';

/** Kmeans options: the ClusteringParameters, the callbacks, and `gpu` (accepted and ignored). */
export interface KmeansOptions extends ClusteringOptions {
  /** Python's gpu flag: accepted for compatibility, ignored (simdex runs on the CPU). */
  gpu?: boolean | number;
}

export class Kmeans {
  /** Dimension of the vectors. */
  readonly d: number;
  /** Number of centroids. */
  readonly k: number;
  /** The clustering parameters (Python's `cp`), defaults filled in. */
  readonly cp: ClusteringParameters;
  /** The centroids, size k*d; empty (length 0) before train(). */
  centroids: Float32Array = new Float32Array(0);
  /** The objective after each iteration (Python's `obj`). */
  obj: number[] = [];
  /** Detailed statistics of each iteration. */
  iterationStats: ClusteringIterationStats[] = [];
  /** An IndexFlatL2 (IndexFlatIP when spherical) over the centroids after train(). */
  index: IndexFlat;
  private readonly callbacks: Pick<ClusteringOptions, 'onWarning' | 'onProgress'>;

  /**
   * @param d dimension of the vectors
   * @param k number of centroids
   * @param options niter (25), nredo (1), verbose, spherical, intCentroids, seed (1234),
   *   minPointsPerCentroid (39), maxPointsPerCentroid (256), ..., onWarning, onProgress; gpu is ignored
   */
  constructor(d: number, k: number, options: KmeansOptions = {}) {
    this.d = checkPositiveInt(d, 'd');
    this.k = checkPositiveInt(k, 'k');
    checkOptionNames(options, ['onWarning', 'onProgress', 'gpu']);
    const { gpu, onWarning, onProgress, ...params } = options;
    void gpu;
    const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    this.cp = { ...DEFAULT_CLUSTERING_PARAMETERS, ...defined };
    this.callbacks = { onWarning, onProgress };
    // validates the parameters now rather than at train()
    void new Clustering(d, k, this.cp);
    this.index = this.cp.spherical ? new IndexFlatIP(d) : new IndexFlatL2(d);
  }

  /** True once train() has run. */
  get isTrained(): boolean {
    return this.centroids.length > 0;
  }

  /**
   * Runs k-means on x.
   * @param x training vectors, size n*d, n >= k
   * @param weights optional per-vector weights, size n
   * @param initCentroids optional starting centroids, size m*d with m <= k
   * @returns the final objective (0 when niter is 0)
   */
  train(x: Float32Array, weights?: Float32Array, initCentroids?: Float32Array): number {
    checkVectors(x, this.d, 'x');
    const clus = new Clustering(this.d, this.k, { ...this.cp, ...this.callbacks });
    if (initCentroids !== undefined) {
      checkVectors(initCentroids, this.d, 'initCentroids');
      if (initCentroids.length > this.k * this.d) {
        throw new InvalidArgumentError('initCentroids', `holds ${initCentroids.length / this.d} centroids, expected at most k = ${this.k}`);
      }
      clus.centroids = initCentroids.slice();
    }
    this.index.dispose();
    this.index = this.cp.spherical ? new IndexFlatIP(this.d) : new IndexFlatL2(this.d);
    clus.train(x, this.index, weights);
    this.centroids = clus.centroids;
    this.iterationStats = clus.iterationStats;
    this.obj = clus.iterationStats.map((s) => s.obj);
    return this.obj.length > 0 ? this.obj[this.obj.length - 1]! : 0;
  }

  /**
   * The nearest centroid of each vector (a k=1 search of the centroid index).
   * @param x vectors, size n*d
   * @returns distances (squared L2, or inner products when spherical), size n; labels (centroid numbers), size n
   */
  assign(x: Float32Array): SearchResult {
    if (!this.isTrained) throw new NotTrainedError('Kmeans', 'assign');
    checkVectors(x, this.d, 'x');
    // as Python: reload the centroids (the caller may have changed them)
    this.index.reset();
    this.index.add(this.centroids);
    return this.index.search(x, 1);
  }

  /** Releases the centroid index's memory. */
  dispose(): void {
    this.index.dispose();
  }
}
