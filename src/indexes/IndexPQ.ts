/**
 * @module IndexPQ
 * Faiss's IndexPQ: every vector stored as a product-quantization code (quantizers/ProductQuantizer:
 * M sub-codes of nbits bits, codeSize = ceil(M*nbits/8) bytes, no other per-vector memory), in
 * segments of shared WebAssembly memory (storage/CodeStore). Search is Faiss's asymmetric search
 * (search_type ST_PQ): per query one look-up table of M x ksub floats, then every code scanned with
 * M look-ups and a top-k heap in one kernel; batches are split over the pool's threads by query.
 *
 * Faiss's factory string `PQ{M}` / `PQ{M}x{nbits}` builds one (Faiss then also runs polysemous
 * training, which only renumbers the centroids; simdex does not: distances are the same).
 */
import { Index, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, NotTrainedError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import { ProductQuantizer } from '../quantizers/ProductQuantizer.js';
import type { PQKnnTask, PQSegmentRef } from '../search/pqScan.js';
import { CodeStore } from '../storage/CodeStore.js';
import { forgetDropped, parallelSearch } from '../threads/pool.js';
import { checkNonNegativeInt, checkVectors } from '../validate.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 2;

export interface IndexPQOptions {
  /** Bytes of codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

export class IndexPQ extends Index {
  /** The product quantizer: its parameters and centroids. */
  readonly pq: ProductQuantizer;
  protected store: CodeStore;

  /**
   * @param d dimension of the vectors
   * @param M number of sub-quantizers (must divide d)
   * @param nbits bits per sub-code, 1..8 (default 8)
   */
  constructor(d: number, M: number, nbits = 8, metric: MetricType = MetricType.L2, options: IndexPQOptions = {}) {
    super(d, metric);
    this.pq = new ProductQuantizer(this.d, M, nbits);
    this.store = new CodeStore(this.pq.codeSize, options.maxSegmentBytes);
    this.isTrained = false;
  }

  /** Bytes per stored vector (Faiss's code_size). */
  get codeSize(): number {
    return this.pq.codeSize;
  }

  /** The storage segments (for writers, workers and tests). */
  get segments(): readonly PQSegmentRef[] {
    return this.store.segments;
  }

  /** Trains the product quantizer (n >= 2^nbits vectors; Faiss recommends 39 * 2^nbits or more). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.pq.verbose = this.verbose;
    this.pq.train(x);
    this.isTrained = true;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'add');
    this.store.add(this.pq.computeCodes(x));
    this.ntotal = this.store.ntotal;
  }

  /** Appends codes made elsewhere (readers, Faiss's sa_decode counterpart): n*codeSize bytes. */
  addCodes(codes: Uint8Array): void {
    if (codes.length % this.codeSize !== 0) {
      throw new InvalidArgumentError('codes', `has length ${codes.length}, which is not a multiple of codeSize = ${this.codeSize}`);
    }
    this.store.add(codes);
    this.ntotal = this.store.ntotal;
  }

  /** Allocates storage for n more codes at once (readers and bulk loaders call it before adding). */
  reserve(n: number): void {
    checkNonNegativeInt(n, 'n');
    this.store.reserve(n);
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const task: PQKnnTask = {
      metric: this.metricType,
      k,
      pq: this.pq.kernelRef(),
      grouped: this.pq.M % 4 === 0,
      segments: this.store.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count })),
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    parallelSearch('pq.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

  /** The stored codes i0 .. i0+n-1 (n*codeSize bytes, a copy). */
  codes(i0 = 0, n = this.ntotal - i0): Uint8Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    return this.store.copyOut(i0, n);
  }

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    return this.pq.decode(this.store.copyOut(key, 1));
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.pq.decode(this.codes(i0, n));
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
    forgetDropped(before, []);
  }

  override dispose(): void {
    this.reset();
    this.pq.dispose();
  }
}
