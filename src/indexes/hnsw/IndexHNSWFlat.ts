/**
 * @module indexes/hnsw/IndexHNSWFlat
 * Faiss's IndexHNSWFlat: an HNSW graph (./HNSW.ts) over uncompressed vectors, for L2 or inner
 * product. No training; vectors are added to the graph as they come (single-threaded up to 100
 * nodes per level, on the pool's threads beyond); one query is searched on the calling thread, a
 * batch on every thread of the pool.
 *
 *   const index = new IndexHNSWFlat(d, 32);      // HNSW32
 *   index.hnsw.efConstruction = 40;              // before add
 *   index.add(x);
 *   index.hnsw.efSearch = 64;                    // or per call: search(q, k, { efSearch: 64 })
 *   const { distances, labels } = index.search(q, 10);
 *
 * Limit: vectors and graph share one WebAssembly memory of at most 4 GiB (`hnsw.maxVectors`).
 *
 * Against Faiss: a graph built on one thread is identical to Faiss's (test/io.hnsw.test.ts). Searched on
 * the same graph, about 0.3 % of the labels differ from Faiss 1.7.3's, not on ties: where checked,
 * simdex returned a closer vector than Faiss did (its candidate queue is kept differently); recall is
 * equal or higher.
 */
import { Index, emptyResult, type SearchParameters, type SearchResult } from '../../Index.js';
import { InvalidArgumentError, NotSupportedError } from '../../errors.js';
import type { IDSelectorLike } from '../../IDSelector.js';
import { MetricType } from '../../MetricType.js';
import { checkNonNegativeInt, checkVectors } from '../../validate.js';
import { HNSW } from './HNSW.js';

/** Per-call knobs of HNSW searches (Faiss's SearchParametersHNSW). */
export interface SearchParametersHNSW extends SearchParameters {
  /** Beam width of this search (default: index.hnsw.efSearch); raised to k when smaller. */
  efSearch?: number;
}

export class IndexHNSWFlat extends Index {
  /** The graph and its parameters (M, efConstruction, efSearch, levels, neighbors, ...). */
  readonly hnsw: HNSW;

  /** Faiss's IndexHNSWFlat(d, M, metric): M neighbours per node (2M on level 0), default 32. */
  constructor(d: number, M = 32, metric: MetricType = MetricType.L2) {
    super(d, metric);
    this.hnsw = new HNSW(this.d, M, this.metricType);
  }

  /** Bytes per stored vector (Faiss's code_size). */
  get codeSize(): number {
    return this.d * 4;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    this.hnsw.add(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    this.ntotal = this.hnsw.ntotal;
  }

  search(x: Float32Array, k: number, params?: SearchParametersHNSW): SearchResult {
    const n = this.checkSearchArgs(x, k);
    const efSearch = params?.efSearch ?? this.hnsw.efSearch;
    if (typeof efSearch !== 'number' || !Number.isInteger(efSearch) || efSearch <= 0) {
      throw new InvalidArgumentError('efSearch', `must be a positive integer, got ${String(efSearch)}`);
    }
    if (this.ntotal === 0) return emptyResult(n, k, this.metricType);
    return this.hnsw.search(x, k, efSearch);
  }

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    return this.reconstructN(key, 1);
  }

  override reconstructN(i0: number, n: number): Float32Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    const codes = this.hnsw.codes(i0, n);
    return new Float32Array(codes.buffer, codes.byteOffset, n * this.d);
  }

  override removeIds(selector: IDSelectorLike): number {
    void selector;
    throw new NotSupportedError(
      this.typeName,
      'removeIds',
      "Faiss's HNSW graph does not support removal (it would leave holes in the neighbour lists); wrap the index in IndexIDMap2 and filter the ids out, or rebuild the index without them",
    );
  }

  override reset(): void {
    this.hnsw.reset();
    this.ntotal = 0;
  }

  override dispose(): void {
    this.reset();
  }
}
