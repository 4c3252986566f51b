/**
 * @module indexes/hnsw/IndexHNSWSQ
 * Faiss's IndexHNSWSQ: an HNSW graph over scalar-quantizer codes (quantizers/ScalarQuantizer: 4, 6
 * or 8 bits or a half float per component), for L2 or inner product; factory strings
 * `HNSW32_SQ8`, `HNSW32,SQ4`, `HNSW16_SQfp16`, `HNSW32_SQ6`.
 *
 *   const index = new IndexHNSWSQ(d, QuantizerType.QT_8bit, 32);   // HNSW32_SQ8
 *   index.train(xt);                                               // the quantizer's ranges
 *   index.add(x);                                                  // encoded, then linked
 *   const { distances, labels } = index.search(q, 10, { efSearch: 64 });
 *
 * As in Faiss: training trains the quantizer only (the graph needs none; fp16 and 8bit_direct need
 * none at all); each added vector is encoded, and its insertion searches the graph with its original
 * floats against the stored codes (Faiss's asymmetric SQ distance computer); the neighbour heuristic
 * compares stored codes with each other, both decoded (Faiss's symmetric_dis); queries are floats
 * against codes. reconstruct returns the decoded codes. The kernels: assembly/hnswStorage.ts.
 *
 * Against Faiss: the distance of a float to a code is computed as sum (T_j - A_j c_j)^2 with
 * T = q - B rather than on the decoded vector, so distances can differ from Faiss's in the last
 * bits; the graph, built from the same levels in the same order, is then the same up to the
 * decisions those bits tip.
 */
import { NotTrainedError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { QuantizerType, ScalarQuantizer, quantizerTypeName } from '../../quantizers/ScalarQuantizer.js';
import { StorageKind, type HNSWStorageSpec } from '../../storage/HNSWSegment.js';
import { checkVectors } from '../../validate.js';
import { IndexHNSW } from './IndexHNSW.js';

const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/** The graph memory's storage for SQ codes of dimension d (layout in storage/HNSWSegment). */
export function sqStorageSpec(qtype: QuantizerType, d: number): HNSWStorageSpec {
  const dp = (d + 3) & ~3;
  // tables A and B; per thread the added vector and the query table T
  return { kind: StorageKind.SQ, p0: qtype, p1: 0, auxBytes: 8 * dp, aux2Offset: 0, qareaBytes: align16(4 * d) + 4 * dp + 64 };
}

export class IndexHNSWSQ extends IndexHNSW {
  /** The scalar quantizer: its type, range statistic and trained values. */
  readonly sq: ScalarQuantizer;
  /** The quantizer tables last written into the graph's memory. */
  private tables: Float32Array | undefined;

  /** Faiss's IndexHNSWSQ(d, qtype, M, metric): M neighbours per node (2M on level 0), default 32. */
  constructor(d: number, qtype: QuantizerType = QuantizerType.QT_8bit, M = 32, metric: MetricType = MetricType.L2) {
    const sq = new ScalarQuantizer(d, qtype);
    super(d, M, metric, { spec: sqStorageSpec(sq.qtype, d), codeSize: sq.codeSize });
    this.sq = sq;
    this.isTrained = sq.isTrained;
  }

  /** The class and its quantizer type, for messages: "IndexHNSWSQ (QT_8bit)". */
  protected override get label(): string {
    return `IndexHNSWSQ (${quantizerTypeName(this.sq.qtype)})`;
  }

  /** Trains the scalar quantizer (Faiss's IndexHNSW::train: the storage's train). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.sq.train(x);
    this.isTrained = true;
    this.syncTables();
  }

  /** Encodes the n vectors of x and links them into the graph (on the pool's threads). */
  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.label, 'add');
    this.syncTables();
    this.hnsw.add(this.sq.computeCodes(x), x);
    this.ntotal = this.hnsw.ntotal;
  }

  protected override prepareSearch(): void {
    this.syncTables();
  }

  /** Writes the quantizer's tables into the graph's memory when they changed (training, reading). */
  syncTables(): void {
    const t = this.sq.kernelTables();
    if (t === this.tables) return;
    this.hnsw.setStorageTables(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    this.tables = t;
  }

  protected decodeCodes(codes: Uint8Array): Float32Array {
    return this.sq.decode(codes);
  }
}
