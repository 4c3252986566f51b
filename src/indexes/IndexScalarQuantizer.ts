/**
 * @module IndexScalarQuantizer
 * Faiss's IndexScalarQuantizer: every vector stored as a scalar-quantized code (quantizers/
 * ScalarQuantizer: 4, 6 or 8 bits or a half float per component), codeSize bytes per vector and no
 * other per-vector memory, in segments of shared WebAssembly memory (storage/CodeStore). Search
 * scans every code: one query at a time with the fused SQ distance + top-k kernel, or, for batches,
 * blocks of codes decoded in the scratch slot and the tiled inner-product kernel; batches are split
 * over the pool's threads.
 */
import type { SearchParameters, SearchResult } from '../Index.js';
import { NotTrainedError } from '../errors.js';
import { MetricType } from '../MetricType.js';
import { QuantizerType, ScalarQuantizer, quantizerTypeName } from '../quantizers/ScalarQuantizer.js';
import type { SqKnnTask } from '../search/sqScan.js';
import { parallelSearch } from '../threads/pool.js';
import { checkVectors } from '../validate.js';
import { IndexFlatCodes } from './IndexFlatCodes.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 4;

export interface IndexScalarQuantizerOptions {
  /** Bytes of codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

export class IndexScalarQuantizer extends IndexFlatCodes {
  /** The quantizer: its type, range statistic and trained values. */
  readonly sq: ScalarQuantizer;

  constructor(d: number, qtype: QuantizerType = QuantizerType.QT_8bit, metric: MetricType = MetricType.L2, options: IndexScalarQuantizerOptions = {}) {
    const sq = new ScalarQuantizer(d, qtype);
    super(d, metric, sq.codeSize, options);
    this.sq = sq;
    this.isTrained = this.sq.isTrained;
  }

  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.sq.train(x);
    this.isTrained = true;
  }

  /** Appends already encoded vectors (n*codeSize bytes), e.g. read from an index file (Faiss's add_sa_codes). */
  addSaCodes(codes: Uint8Array): void {
    this.addCodes(codes);
  }

  /** The class and its quantizer type, for messages: "IndexScalarQuantizer (QT_8bit)". */
  protected override get label(): string {
    return `IndexScalarQuantizer (${quantizerTypeName(this.sq.qtype)})`;
  }

  protected encode(x: Float32Array): Uint8Array {
    return this.sq.computeCodes(x);
  }

  protected decode(codes: Uint8Array): Float32Array {
    return this.sq.decode(codes);
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.label, 'search');
    const task: SqKnnTask = {
      metric: this.metricType,
      d: this.d,
      k,
      qtype: this.sq.qtype,
      tables: this.sq.kernelTables(),
      segments: this.segmentRefs(),
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    parallelSearch('sq.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

}
