/**
 * @module IndexFlat
 * Exact search: Faiss's IndexFlat, IndexFlatL2 and IndexFlatIP. The codes are the vectors themselves
 * (IndexFlatCodes with codeSize = 4*d), kept in segments of shared WebAssembly memory: n*d*4 bytes, no
 * other per-vector memory. Search scans them all: one query (or a few) with direct distances on the
 * calling thread, batches split over the pool's threads with the blocked kernel.
 *
 * An L2 index of 512 to 131,072 vectors of d >= 64 (a coarse quantizer, k-means
 * centroids) searches with projected lower bounds once it has been searched enough to repay them
 * (search/ProjectedL2Bounds): the same results, most distance computations skipped provably.
 * `useBounds = false` turns this off.
 */
import type { RangeSearchResult, SearchParameters, SearchResult } from '../Index.js';
import { MetricType } from '../MetricType.js';
import { rangeRange, type KnnTask, type RangeTask } from '../search/exhaustive.js';
import { boundsFit, boundsRank, ProjectedL2Bounds, type ProjectionBasis } from '../search/ProjectedL2Bounds.js';
import { parallelSearch } from '../threads/pool.js';
import { checkFiniteNumber, checkVectors } from '../validate.js';
import { IndexFlatCodes, type IndexFlatCodesOptions } from './IndexFlatCodes.js';
import { SLOT_BYTES, Segment } from '../storage/Segment.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 4;

export type IndexFlatOptions = IndexFlatCodesOptions;

export class IndexFlat extends IndexFlatCodes {
  /**
   * Search L2 with projected lower bounds when they pay (the results are the same); default true,
   * false where the environment variable SIMDEX_FLAT_BOUNDS is 0 (for comparisons).
   */
  useBounds = boundsByDefault();
  private bounds: ProjectedL2Bounds | undefined;
  /** Bounds of earlier contents, whose memories the next build reuses. */
  private stale: ProjectedL2Bounds | undefined;
  /** The last bounds' directions, the start of the next build's (k-means re-adds similar centroids). */
  private lastBasis: ProjectionBasis | undefined;
  /** Queries searched since the stored vectors last changed; false once the bounds pruned too little. */
  private queriesSinceChange = 0;
  private boundsUseful = true;

  constructor(d: number, metric: MetricType = MetricType.L2, options: IndexFlatOptions = {}) {
    super(d, metric, d * 4, options);
  }

  /**
   * What the last search with bounds did: its queries and the stored vectors whose exact distance it
   * computed (a full scan computes queries * ntotal); undefined when the current contents have not
   * been searched with bounds.
   */
  get boundsStats(): { queries: number; candidates: number } | undefined {
    const b = this.bounds;
    return b === undefined || b.lastQueries === 0 ? undefined : { queries: b.lastQueries, candidates: b.lastCandidates };
  }

  protected override changed(): void {
    // kept for their memories until the next build (or dispose)
    this.stale = this.bounds ?? this.stale;
    this.bounds = undefined;
    this.queriesSinceChange = 0;
    this.boundsUseful = true;
  }

  /** The bounds of the current vectors, built when n more queries make them worth it; undefined if not used. */
  private boundsFor(n: number, k: number): ProjectedL2Bounds | undefined {
    if (!this.useBounds || this.metricType !== MetricType.L2 || !this.boundsUseful) return undefined;
    if (this.segments.length !== 1 || !boundsFit(this.ntotal, this.d, k)) return undefined;
    this.queriesSinceChange += n;
    if (this.bounds === undefined) {
      // building costs about as much as scanning for r queries
      if (this.queriesSinceChange < 2 * boundsRank(this.d)) return undefined;
      this.bounds = ProjectedL2Bounds.build(this.segmentRefs(), this.d, this.lastBasis, this.stale);
      this.stale = undefined;
      this.lastBasis = this.bounds.basis;
    }
    return this.bounds;
  }

  override dispose(): void {
    super.dispose();
    this.stale?.dispose();
    this.stale = undefined;
  }

  protected encode(x: Float32Array): Uint8Array {
    return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  }

  protected decode(codes: Uint8Array): Float32Array {
    const out = new Float32Array(codes.length / 4);
    new Uint8Array(out.buffer).set(codes);
    return out;
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    const bounds = n > 0 ? this.boundsFor(n, k) : undefined;
    if (bounds !== undefined) {
      const res = bounds.search(x, n, k, this.segmentRefs()[0]!);
      // bounds that leave more than a quarter of the vectors to compute do not pay for these
      // vectors; the next build starts from fresh directions
      if (n >= 64 && bounds.lastCandidates > (n * this.ntotal) / 4) {
        this.boundsUseful = false;
        this.lastBasis = undefined;
      }
      return res;
    }
    return this.scan(x, k);
  }

  /** Every stored vector against every query. */
  private scan(x: Float32Array, k: number): SearchResult {
    const n = x.length / this.d;
    const task: KnnTask = {
      metric: this.metricType,
      d: this.d,
      k,
      segments: this.segmentRefs(),
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    parallelSearch('flat.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

  /**
   * compute_residual_n with the residuals_n kernel, blocks of vectors in the calling thread's scratch
   * slot of the memory that holds the vectors (when they are in one segment; else Index's loop).
   */
  override computeResidualN(x: Float32Array, keys: Int32Array | BigInt64Array, out?: Float32Array): Float32Array {
    const segs = this.store.segments;
    if (segs.length !== 1) return super.computeResidualN(x, keys, out);
    const { d } = this;
    const n = this.checkResidualArgs(x, keys, out);
    const res = out ?? new Float32Array(n * d);
    const seg = segs[0]!;
    const base = Segment.slotOffset(0);
    const block = Math.max(1, Math.floor((SLOT_BYTES - 16) / (d * 4 + 4)));
    const kern = seg.kernels;
    for (let i0 = 0; i0 < n; i0 += block) {
      const m = Math.min(block, n - i0);
      const buf = seg.memory.buffer;
      const X = new Float32Array(buf, base, m * d);
      const K = new Int32Array(buf, base + block * d * 4, m);
      X.set(x.subarray(i0 * d, (i0 + m) * d));
      if (keys instanceof Int32Array) K.set(keys.subarray(i0, i0 + m));
      else for (let i = 0; i < m; i++) K[i] = Number(keys[i0 + i]!);
      kern.residuals_n(base, m, d, seg.dataOffset, base + block * d * 4);
      res.set(X, i0 * d);
    }
    return res;
  }

  override rangeSearch(x: Float32Array, radius: number, params?: SearchParameters): RangeSearchResult {
    void params;
    const n = checkVectors(x, this.d);
    checkFiniteNumber(radius, 'radius');
    const task: RangeTask = { metric: this.metricType, d: this.d, radius, segments: this.segmentRefs(), x };
    const per = rangeRange(task, 0, n, 0);
    const lims = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) lims[i + 1] = lims[i]! + per[i]!.ids.length;
    const total = lims[n]!;
    const distances = new Float32Array(total);
    const labels = new BigInt64Array(total);
    for (let i = 0; i < n; i++) {
      const o = lims[i]!;
      const r = per[i]!;
      for (let j = 0; j < r.ids.length; j++) {
        distances[o + j] = r.dis[j]!;
        labels[o + j] = BigInt(r.ids[j]!);
      }
    }
    return { lims, distances, labels };
  }
}

function boundsByDefault(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.SIMDEX_FLAT_BOUNDS !== '0';
}

/** IndexFlat with the L2 metric. */
export class IndexFlatL2 extends IndexFlat {
  constructor(d: number, options?: IndexFlatOptions) {
    super(d, MetricType.L2, options);
  }
}

/** IndexFlat with the inner-product metric (cosine similarity on normalised vectors). */
export class IndexFlatIP extends IndexFlat {
  constructor(d: number, options?: IndexFlatOptions) {
    super(d, MetricType.INNER_PRODUCT, options);
  }
}
