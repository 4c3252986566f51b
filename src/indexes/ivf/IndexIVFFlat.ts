/**
 * @module IndexIVFFlat
 * Faiss's IndexIVFFlat: IVF whose lists hold the vectors uncompressed (codeSize = 4*d). Exact
 * distances within the probed lists; RVC's `IVF{N//39},Flat` and the face-search `IVF65536,Flat`.
 */
import type { Index, RangeSearchResult } from '../../Index.js';
import { MetricType } from '../../MetricType.js';
import { ivfRangeRange } from '../../search/ivfScan.js';
import type { ScannerName } from '../../search/ivfScan.js';
import { checkFiniteNumber, checkVectors } from '../../validate.js';
import { NotTrainedError } from '../../errors.js';
import { IndexIVF, type SearchParametersIVF } from './IndexIVF.js';

export class IndexIVFFlat extends IndexIVF {
  constructor(quantizer: Index, d: number, nlist: number, metric: MetricType = MetricType.L2) {
    super(quantizer, d, nlist, d * 4, metric);
  }

  protected get scannerName(): ScannerName {
    return 'flat';
  }

  protected encodeVectors(x: Float32Array): Uint8Array {
    return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  }

  protected decodeVector(code: Uint8Array, listNo: number, out: Float32Array): void {
    void listNo;
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(code);
  }

  override rangeSearch(x: Float32Array, radius: number, params?: SearchParametersIVF): RangeSearchResult {
    const n = checkVectors(x, this.d);
    checkFiniteNumber(radius, 'radius');
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'rangeSearch');
    const nprobe = this.effectiveNprobe(params);
    const coarse = this.coarseLists(x, nprobe, params);
    const per: { ids: bigint[]; dis: number[] }[] = [];
    const d = this.d;
    this.forEachResidentRun(coarse, nprobe, n, (lists, q0, q1) => {
      const run = { metric: this.metricType, d, radius, nprobe, lists, x: x.subarray(q0 * d, q1 * d), coarse: coarse.subarray(q0 * nprobe, q1 * nprobe) };
      for (const r of ivfRangeRange(run, 0, q1 - q0, 0)) per.push(r);
    });
    const lims = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) lims[i + 1] = lims[i]! + per[i]!.ids.length;
    const distances = new Float32Array(lims[n]!);
    const labels = new BigInt64Array(lims[n]!);
    per.forEach((r, i) => {
      distances.set(r.dis, lims[i]!);
      labels.set(r.ids, lims[i]!);
    });
    return { lims, distances, labels };
  }
}
