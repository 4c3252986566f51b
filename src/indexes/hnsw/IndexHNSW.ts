/**
 * @module indexes/hnsw/IndexHNSW
 * Faiss's IndexHNSW: an HNSW graph (./HNSW.ts) over a storage, the base of IndexHNSWFlat (float
 * vectors), IndexHNSWSQ (scalar-quantizer codes) and IndexHNSWPQ (product-quantizer codes), which
 * differ only in what the graph's memory stores and how it is encoded and decoded. What they share
 * is written here: search (efSearch per call, batches over the pool's threads), reconstruct (the
 * decoded storage), reset, and the refusal of removeIds.
 *
 * Faiss keeps the storage as a separate index (`storage`: an IndexFlat, IndexScalarQuantizer or
 * IndexPQ) that the graph's distance computer reads; simdex keeps the storage's codes inside the
 * graph's WebAssembly memory, beside the neighbour lists, so that the whole search runs in
 * WebAssembly. The quantizer is the index's own `sq` / `pq`.
 */
import { Index, emptyResult, type SearchParameters, type SearchResult } from '../../Index.js';
import { InvalidArgumentError, NotSupportedError, NotTrainedError } from '../../errors.js';
import type { IDSelectorLike } from '../../IDSelector.js';
import type { MetricType } from '../../MetricType.js';
import type { HNSWStorageSpec } from '../../storage/HNSWSegment.js';
import { checkNonNegativeInt } from '../../validate.js';
import { HNSW } from './HNSW.js';

/** Per-call knobs of HNSW searches (Faiss's SearchParametersHNSW). */
export interface SearchParametersHNSW extends SearchParameters {
  /** Beam width of this search (default: index.hnsw.efSearch); raised to k when smaller. */
  efSearch?: number;
}

export abstract class IndexHNSW extends Index {
  /** The graph and its parameters (M, efConstruction, efSearch, levels, neighbors, ...). */
  readonly hnsw: HNSW;

  /**
   * @param M neighbours per node on the upper levels (2M on level 0)
   * @param storage the codes of SQ / PQ storage (absent: float vectors)
   */
  protected constructor(d: number, M: number, metric: MetricType, storage?: { spec: HNSWStorageSpec; codeSize: number }) {
    super(d, metric);
    this.hnsw = new HNSW(this.d, M, this.metricType, storage);
  }

  /** Bytes per stored vector (Faiss's storage code_size). */
  get codeSize(): number {
    return this.hnsw.codeSize;
  }

  /** The class and its storage, for messages. */
  protected get label(): string {
    return this.typeName;
  }

  /** Vectors of n codes of the storage (n * codeSize bytes). */
  protected abstract decodeCodes(codes: Uint8Array, n: number): Float32Array;

  /** Before a search: the storage's tables are in place (a no-op for float vectors). */
  protected prepareSearch(): void {}

  search(x: Float32Array, k: number, params?: SearchParametersHNSW): SearchResult {
    const n = this.checkSearchArgs(x, k);
    const efSearch = params?.efSearch ?? this.hnsw.efSearch;
    if (typeof efSearch !== 'number' || !Number.isInteger(efSearch) || efSearch <= 0) {
      throw new InvalidArgumentError('efSearch', `must be a positive integer, got ${String(efSearch)}`);
    }
    if (!this.isTrained) throw new NotTrainedError(this.label, 'search');
    if (this.ntotal === 0) return emptyResult(n, k, this.metricType);
    this.prepareSearch();
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
    return this.decodeCodes(this.hnsw.codes(i0, n), n);
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
