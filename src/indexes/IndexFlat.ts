/**
 * @module IndexFlat
 * Exact search: Faiss's IndexFlat, IndexFlatL2 and IndexFlatIP. The codes are the vectors themselves
 * (IndexFlatCodes with codeSize = 4*d), kept in segments of shared WebAssembly memory: n*d*4 bytes, no
 * other per-vector memory. Search scans them all: one query (or a few) with direct distances on the
 * calling thread, batches split over the pool's threads with the blocked kernel.
 */
import type { RangeSearchResult, SearchParameters, SearchResult } from '../Index.js';
import { MetricType } from '../MetricType.js';
import { rangeRange, type KnnTask, type RangeTask } from '../search/exhaustive.js';
import { parallelSearch } from '../threads/pool.js';
import { checkFiniteNumber, checkVectors } from '../validate.js';
import { IndexFlatCodes, type IndexFlatCodesOptions } from './IndexFlatCodes.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 4;

export type IndexFlatOptions = IndexFlatCodesOptions;

export class IndexFlat extends IndexFlatCodes {
  constructor(d: number, metric: MetricType = MetricType.L2, options: IndexFlatOptions = {}) {
    super(d, metric, d * 4, options);
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
