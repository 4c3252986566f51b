/**
 * @module indexes/hnsw/IndexHNSWPQ
 * Faiss's IndexHNSWPQ: an HNSW graph over product-quantizer codes (quantizers/ProductQuantizer: pqM
 * sub-quantizers of nbits bits); factory strings `HNSW32_PQ16`, `HNSW32,PQ16np`, `HNSW32_PQ16x6`.
 *
 *   const index = new IndexHNSWPQ(d, 16, 32);   // HNSW32_PQ16: pqM = 16 sub-quantizers, M = 32
 *   index.train(xt);                            // the sub-quantizers' k-means, then the SDC table
 *   index.add(x);
 *   const { distances, labels } = index.search(q, 10, { efSearch: 64 });
 *
 * As in Faiss (IndexPQ's PQDistanceComputer): a query, and each vector being added (its original
 * floats), gets one look-up table of pqM x 2^nbits distances to the sub-centroids, and its distance
 * to a stored code is the sum of pqM look-ups; the neighbour heuristic compares two stored codes
 * through the SDC table (squared distances between sub-centroids, computed at training and reading,
 * Faiss's compute_sdc_table). reconstruct returns the decoded codes. Kernels: assembly/hnswStorage.ts.
 *
 * Faiss 1.7.3's IndexHNSWPQ(d, pq_m, M) has 8-bit codes and the L2 metric only; later versions add
 * pq_nbits and metric, as here. Difference: with the inner product, Faiss (>= 1.8) still compares
 * stored codes through the L2 SDC table (negated), so that its heuristic weighs -||x_i - x_j||^2
 * against -<q, x_i> and keeps almost no neighbours (measured on uniform random data, d = 24: recall@10
 * 0.35 where an exhaustive PQ search gets 0.94); simdex's table then holds the inner products between sub-centroids,
 * the symmetric distance being -<x_i, x_j> over the decoded codes, as for IndexHNSWSQ and
 * IndexHNSWFlat. Searches, and files, are Faiss's either way: only the graph simdex builds for an
 * inner-product IndexHNSWPQ differs from the one Faiss would build.
 * Faiss's factory builds `HNSW{M}_PQ{m}` with polysemous training (unless `np`), which only
 * renumbers the centroids; simdex does not run it: the distances, hence the graph and the results,
 * are the same, only the centroid numbers in codes and files differ.
 */
import { NotTrainedError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { ProductQuantizer, writeTransposed } from '../../quantizers/ProductQuantizer.js';
import { StorageKind, type HNSWStorageSpec } from '../../storage/HNSWSegment.js';
import { checkVectors } from '../../validate.js';
import { IndexHNSW } from './IndexHNSW.js';

const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/** The graph memory's storage for PQ codes (layout in storage/HNSWSegment). */
export function pqStorageSpec(d: number, pqM: number, nbits: number): HNSWStorageSpec {
  const ksub = 1 << nbits;
  const centroidBytes = 4 * d * ksub;
  // transposed centroids then the SDC table; per thread the added vector and the look-up table
  return {
    kind: StorageKind.PQ,
    p0: pqM,
    p1: nbits,
    auxBytes: centroidBytes + 4 * pqM * ksub * ksub,
    aux2Offset: centroidBytes,
    qareaBytes: align16(4 * d) + 4 * pqM * ksub + 64,
  };
}

export class IndexHNSWPQ extends IndexHNSW {
  /** The product quantizer: its parameters, centroids and SDC table. */
  readonly pq: ProductQuantizer;
  /** pq.version when the tables were last written into the graph's memory. */
  private tablesVersion = -1;

  /**
   * Faiss's IndexHNSWPQ(d, pq_m, M, pq_nbits, metric).
   * @param pqM number of sub-quantizers (must divide d)
   * @param M neighbours per node on the upper levels (2M on level 0), default 32
   * @param nbits bits per sub-code, 1..8 (default 8)
   */
  constructor(d: number, pqM: number, M = 32, nbits = 8, metric: MetricType = MetricType.L2) {
    const pq = new ProductQuantizer(d, pqM, nbits);
    super(d, M, metric, { spec: pqStorageSpec(d, pq.M, pq.nbits), codeSize: pq.codeSize });
    this.pq = pq;
    this.isTrained = false;
  }

  /** Trains the product quantizer, then its SDC table (Faiss's IndexHNSWPQ::train). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.pq.verbose = this.verbose;
    this.pq.train(x);
    this.isTrained = true;
    this.syncTables();
  }

  /** Encodes the n vectors of x and links them into the graph (on the pool's threads). */
  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'add');
    this.syncTables();
    this.hnsw.add(this.pq.computeCodes(x), x);
    this.ntotal = this.hnsw.ntotal;
  }

  protected override prepareSearch(): void {
    this.syncTables();
  }

  /**
   * Writes the quantizer's tables into the graph's memory when the centroids changed (training,
   * reading, `pq.centroids = ...`): the transposed centroids and the symmetric table: Faiss's SDC
   * table (computed here) for L2, the inner products between sub-centroids for the inner product.
   */
  syncTables(): void {
    const pq = this.pq;
    if (pq.version === this.tablesVersion && pq.sdcTable.length > 0) return;
    if (!pq.isTrained) throw new NotTrainedError('ProductQuantizer', 'search');
    pq.computeSdcTable();
    const { M, ksub, dsub } = pq;
    const aux = new Float32Array(this.hnsw.storage.auxBytes / 4);
    writeTransposed(pq.centroids, M, ksub, dsub, aux.subarray(0, this.d * ksub));
    const symmetric = this.metricType === MetricType.L2 ? pq.sdcTable : innerProductTable(pq.centroids, M, ksub, dsub);
    aux.set(symmetric, this.hnsw.storage.aux2Offset / 4);
    this.hnsw.setStorageTables(new Uint8Array(aux.buffer));
    this.tablesVersion = pq.version;
  }

  protected decodeCodes(codes: Uint8Array): Float32Array {
    return this.pq.decode(codes);
  }

  override dispose(): void {
    super.dispose();
    this.pq.dispose();
  }
}

/** <c_m,i, c_m,j> for every sub-quantizer m and centroids i, j: M*ksub*ksub floats, summed in order. */
function innerProductTable(c: Float32Array, M: number, ksub: number, dsub: number): Float32Array {
  const tab = new Float32Array(M * ksub * ksub);
  const f = Math.fround;
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < ksub; i++) {
      const a = (m * ksub + i) * dsub;
      for (let j = 0; j < ksub; j++) {
        const b = (m * ksub + j) * dsub;
        let s = 0;
        for (let t = 0; t < dsub; t++) s = f(s + f(c[a + t]! * c[b + t]!));
        tab[(m * ksub + i) * ksub + j] = s;
      }
    }
  }
  return tab;
}
