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
import type { SearchParameters, SearchResult } from '../Index.js';
import { NotTrainedError } from '../errors.js';
import { MetricType } from '../MetricType.js';
import { ProductQuantizer } from '../quantizers/ProductQuantizer.js';
import type { PQKnnTask } from '../search/pqScan.js';
import { parallelSearch } from '../threads/pool.js';
import { checkVectors } from '../validate.js';
import { IndexFlatCodes } from './IndexFlatCodes.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 2;

export interface IndexPQOptions {
  /** Bytes of codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

export class IndexPQ extends IndexFlatCodes {
  /** The product quantizer: its parameters and centroids. */
  readonly pq: ProductQuantizer;

  /**
   * @param d dimension of the vectors
   * @param M number of sub-quantizers (must divide d)
   * @param nbits bits per sub-code, 1..8 (default 8)
   */
  constructor(d: number, M: number, nbits = 8, metric: MetricType = MetricType.L2, options: IndexPQOptions = {}) {
    const pq = new ProductQuantizer(d, M, nbits);
    super(d, metric, pq.codeSize, options);
    this.pq = pq;
    this.isTrained = false;
  }

  /** Trains the product quantizer (n >= 2^nbits vectors; Faiss recommends 39 * 2^nbits or more). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.pq.verbose = this.verbose;
    this.pq.train(x);
    this.isTrained = true;
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
      segments: this.segmentRefs(),
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    parallelSearch('pq.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

  protected encode(x: Float32Array): Uint8Array {
    return this.pq.computeCodes(x);
  }

  protected decode(codes: Uint8Array): Float32Array {
    return this.pq.decode(codes);
  }

  override dispose(): void {
    super.dispose();
    this.pq.dispose();
  }
}
