/**
 * @module IndexFlat
 * Exact search: Faiss's IndexFlat, IndexFlatL2 and IndexFlatIP. Vectors are kept uncompressed in
 * segments of shared WebAssembly memory (storage/VectorStore): n*d*4 bytes, no other per-vector
 * memory. Search scans them all: one query (or a few) with direct distances on the calling thread,
 * batches split over the pool's threads with the blocked kernel.
 */
import { Index, type RangeSearchResult, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import { rangeRange, type KnnTask, type RangeTask, type SegmentRef } from '../search/exhaustive.js';
import { VectorStore } from '../storage/VectorStore.js';
import { forgetDropped, parallelSearch } from '../threads/pool.js';
import { checkFiniteNumber, checkNonNegativeInt, checkVectors } from '../validate.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 4;

export interface IndexFlatOptions {
  /** Bytes of vectors per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

export class IndexFlat extends Index {
  protected store: VectorStore;

  constructor(d: number, metric: MetricType = MetricType.L2, options: IndexFlatOptions = {}) {
    super(d, metric);
    this.store = new VectorStore(this.d, options.maxSegmentBytes);
  }

  /** Bytes per stored vector (Faiss's code_size). */
  get codeSize(): number {
    return this.d * 4;
  }

  /** The storage segments (for writers, workers and tests). */
  get segments(): readonly SegmentRef[] {
    return this.store.segments;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    this.store.add(x);
    this.ntotal = this.store.ntotal;
  }

  /** Allocates storage for n more vectors at once (readers and bulk loaders call it before adding). */
  reserve(n: number): void {
    checkNonNegativeInt(n, 'n');
    this.store.reserve(n);
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

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    return this.store.copyOut(key, 1);
  }

  override reconstructN(i0: number, n: number): Float32Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) {
      throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    }
    return this.store.copyOut(i0, n);
  }

  /** Removes the vectors whose sequential ids are selected; later vectors move down (Faiss's order). */
  override removeIds(selector: IDSelectorLike): number {
    const sel = toIDSelector(selector);
    const before = this.store.segments.map((s) => s.memory);
    const removed = this.store.compact((i) => !sel.isMember(BigInt(i)));
    this.ntotal = this.store.ntotal;
    forgetDropped(before, this.store.segments.map((s) => s.memory));
    return removed;
  }

  override reset(): void {
    const before = this.store.segments.map((s) => s.memory);
    this.store.reset();
    this.ntotal = 0;
    forgetDropped(before, this.store.segments.map((s) => s.memory));
  }

  override dispose(): void {
    const before = this.store.segments.map((s) => s.memory);
    this.store.release();
    this.ntotal = 0;
    forgetDropped(before, []);
  }

  private segmentRefs(): SegmentRef[] {
    return this.store.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count }));
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
