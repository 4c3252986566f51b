/**
 * @module IndexScalarQuantizer
 * Faiss's IndexScalarQuantizer: every vector stored as a scalar-quantized code (quantizers/
 * ScalarQuantizer: 4, 6 or 8 bits or a half float per component), codeSize bytes per vector and no
 * other per-vector memory, in segments of shared WebAssembly memory (storage/CodeStore). Search
 * scans every code: one query at a time with the fused SQ distance + top-k kernel, or, for batches,
 * blocks of codes decoded in the scratch slot and the tiled inner-product kernel; batches are split
 * over the pool's threads.
 */
import { Index, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, NotTrainedError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import { QuantizerType, ScalarQuantizer, quantizerTypeName } from '../quantizers/ScalarQuantizer.js';
import type { SegmentRef } from '../search/exhaustive.js';
import type { SqKnnTask } from '../search/sqScan.js';
import { CodeStore } from '../storage/CodeStore.js';
import { forgetDropped, parallelSearch } from '../threads/pool.js';
import { checkNonNegativeInt, checkVectors } from '../validate.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 4;

export interface IndexScalarQuantizerOptions {
  /** Bytes of codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

export class IndexScalarQuantizer extends Index {
  /** The quantizer: its type, range statistic and trained values. */
  readonly sq: ScalarQuantizer;
  protected store: CodeStore;

  constructor(d: number, qtype: QuantizerType = QuantizerType.QT_8bit, metric: MetricType = MetricType.L2, options: IndexScalarQuantizerOptions = {}) {
    super(d, metric);
    this.sq = new ScalarQuantizer(this.d, qtype);
    this.store = new CodeStore(this.sq.codeSize, options.maxSegmentBytes);
    this.isTrained = this.sq.isTrained;
  }

  /** Bytes per stored vector (Faiss's code_size). */
  get codeSize(): number {
    return this.sq.codeSize;
  }

  /** The storage segments (for writers, workers and tests). */
  get segments(): readonly SegmentRef[] {
    return this.store.segments;
  }

  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.sq.train(x);
    this.isTrained = true;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.describe(), 'add');
    this.store.add(this.sq.computeCodes(x));
    this.ntotal = this.store.ntotal;
  }

  /** Appends already encoded vectors (n*codeSize bytes), e.g. read from an index file. */
  addSaCodes(codes: Uint8Array): void {
    if (!(codes instanceof Uint8Array) || codes.length % this.codeSize !== 0) {
      throw new InvalidArgumentError('codes', `must be a Uint8Array of n * codeSize bytes (codeSize = ${this.codeSize})`);
    }
    this.store.add(codes);
    this.ntotal = this.store.ntotal;
  }

  /** Allocates storage for n more vectors at once (readers and bulk loaders call it before adding). */
  reserve(n: number): void {
    checkNonNegativeInt(n, 'n');
    this.store.reserve(n);
  }

  /** Faiss's sa_encode: the codes of n vectors, n*codeSize bytes. */
  saEncode(x: Float32Array): Uint8Array {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.describe(), 'saEncode');
    return this.sq.computeCodes(x);
  }

  /** Faiss's sa_decode: n*d floats from n codes. */
  saDecode(codes: Uint8Array): Float32Array {
    if (!this.isTrained) throw new NotTrainedError(this.describe(), 'saDecode');
    return this.sq.decode(codes);
  }

  /** Codes i0 .. i0+n-1 as stored (n*codeSize bytes, a copy; all of them by default). */
  codes(i0 = 0, n = this.ntotal - i0): Uint8Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    return this.store.copyOut(i0, n);
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.describe(), 'search');
    const task: SqKnnTask = {
      metric: this.metricType,
      d: this.d,
      k,
      qtype: this.sq.qtype,
      tables: this.sq.kernelTables(),
      segments: this.store.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count })),
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    parallelSearch('sq.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    return this.sq.decode(this.store.copyOut(key, 1));
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.sq.decode(this.codes(i0, n));
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
  }

  private describe(): string {
    return `IndexScalarQuantizer (${quantizerTypeName(this.sq.qtype)})`;
  }
}
