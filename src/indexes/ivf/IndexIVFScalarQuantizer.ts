/**
 * @module IndexIVFScalarQuantizer
 * Faiss's IndexIVFScalarQuantizer: IVF whose lists hold scalar-quantized codes (codeSize bytes per
 * vector, plus its 8-byte id). As in Faiss, by default (`byResidual`, Faiss's encode_residual = true,
 * also what index_factory's `IVF1024,SQ8` builds) the quantizer encodes the residual of each vector
 * to its list's centroid, and is trained on the residuals of (at most 100000 of) the training vectors.
 * Lists are scanned in place by the SQ kernels (search/sqScan, the 'sq' scanner of search/ivfScan):
 * L2 against the query's residual to the list's centroid, inner product as <q, c> + <q, residual>.
 */
import type { Index } from '../../Index.js';
import { InvalidArgumentError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { QuantizerType, ScalarQuantizer } from '../../quantizers/ScalarQuantizer.js';
import type { IvfSearchTask, ScannerName } from '../../search/ivfScan.js';
import { IndexIVF } from './IndexIVF.js';

export class IndexIVFScalarQuantizer extends IndexIVF {
  /** The quantizer of the codes (of residuals when byResidual). */
  readonly sq: ScalarQuantizer;
  /** Whether codes are of residuals to the list's centroid (Faiss's by_residual; set before training). */
  byResidual: boolean;
  private centroidCache: { ntotal: number; centroids: Float32Array } | undefined;

  constructor(
    quantizer: Index,
    d: number,
    nlist: number,
    qtype: QuantizerType = QuantizerType.QT_8bit,
    metric: MetricType = MetricType.L2,
    encodeResidual = true,
  ) {
    const sq = new ScalarQuantizer(d, qtype);
    super(quantizer, d, nlist, sq.codeSize, metric);
    this.sq = sq;
    this.byResidual = encodeResidual;
    // as Faiss: the scalar quantizer is trained by train(), even when the coarse quantizer is
    this.isTrained = false;
  }

  protected get scannerName(): ScannerName {
    return 'sq';
  }

  protected override trainEncoder(x: Float32Array): void {
    this.centroidCache = undefined;
    this.sq.trainResidual(x, this.byResidual ? (xs) => this.residualsOf(xs, this.assignLists(xs), new Float32Array(xs.length), () => this.centroids()) : undefined);
  }

  protected encodeVectors(x: Float32Array, listNos: Int32Array): Uint8Array {
    const d = this.d;
    const n = listNos.length;
    const cs = this.codeSize;
    const codes = new Uint8Array(n * cs);
    // blocks of vectors (or of their residuals) through the quantizer's batch encoding
    const block = 4096;
    const r = this.byResidual ? new Float32Array(Math.min(n, block) * d) : undefined;
    for (let i0 = 0; i0 < n; i0 += block) {
      const m = Math.min(block, n - i0);
      const xs = x.subarray(i0 * d, (i0 + m) * d);
      const v = r === undefined ? xs : this.residualsOf(xs, listNos.subarray(i0, i0 + m), r.subarray(0, m * d), () => this.centroids());
      this.sq.computeCodes(v, codes.subarray(i0 * cs, (i0 + m) * cs));
    }
    // as Faiss, a vector without a list gets a zero code
    for (let i = 0; i < n; i++) if (listNos[i]! < 0) codes.fill(0, i * cs, (i + 1) * cs);
    return codes;
  }

  protected decodeVector(code: Uint8Array, listNo: number, out: Float32Array): void {
    this.sq.decodeVector(code, 0, out, 0);
    if (this.byResidual) {
      const c = this.centroids();
      const d = this.d;
      for (let j = 0; j < d; j++) out[j] = out[j]! + c[listNo * d + j]!;
    }
  }

  protected override scanArgs(): Partial<IvfSearchTask> {
    return {
      sq: {
        qtype: this.sq.qtype,
        tables: this.sq.kernelTables(),
        byResidual: this.byResidual,
        centroids: this.byResidual ? this.centroids() : undefined,
      },
    };
  }

  protected override checkCompatibleEncoder(other: IndexIVF): void {
    const o = other as IndexIVFScalarQuantizer;
    if (o.byResidual !== this.byResidual || !o.sq.equals(this.sq)) {
      throw new InvalidArgumentError('other', 'has a different scalar quantizer (type, trained ranges or byResidual): merge needs indexes trained together');
    }
  }

  /** The coarse centroids (nlist*d floats over a SharedArrayBuffer, for the workers), cached until the next train(). */
  private centroids(): Float32Array {
    const q = this.quantizer;
    if (this.centroidCache && this.centroidCache.ntotal === q.ntotal) return this.centroidCache.centroids;
    const c = q.reconstructN(0, q.ntotal);
    const centroids = new Float32Array(new SharedArrayBuffer(c.byteLength));
    centroids.set(c);
    this.centroidCache = { ntotal: q.ntotal, centroids };
    return centroids;
  }
}
