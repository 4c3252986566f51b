/**
 * @module IndexIVFPQ
 * Faiss's IndexIVFPQ: IVF whose lists hold product-quantization codes (quantizers/ProductQuantizer)
 * of each vector's residual to its list's centroid (byResidual, Faiss's default) or of the vector
 * itself: codeSize = ceil(M*nbits/8) bytes plus the 8-byte id per vector. The face-search
 * `IVF262144,PQ64` and the compressed RVC indexes.
 *
 * Search (search/pqScan, the 'pq' list scanner) follows Faiss's QueryTables:
 * - L2 by residual, with precomputed tables (usePrecomputedTable = 1, chosen at training when the
 *   coarse quantizer is L2 and nlist*M*ksub floats fit precomputedTableMaxBytes = 2 GiB):
 *   ||x - y_C - y_R||^2 = ||x - y_C||^2 + (||y_R||^2 + 2<y_C, y_R>) - 2<x, y_R>; the middle term is
 *   precomputed per list, the last one is the query's inner-product table, so a list's table costs
 *   M*ksub additions;
 * - L2 by residual without them: the L2 table of the residual x - y_C, per list (d*ksub flops);
 * - inner product by residual: <x, y_C> + the query's inner-product table;
 * - not by residual: the query's table.
 * Reconstruction decodes the code and adds the centroid back (Faiss's reconstruct_from_offset).
 */
import type { Index } from '../../Index.js';
import { InvalidArgumentError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { IndexFlat } from '../IndexFlat.js';
import { kernelsFor } from '../../kernels/wasm.js';
import { ProductQuantizer, writeTransposed } from '../../quantizers/ProductQuantizer.js';
import type { IvfSearchTask, ScannerName } from '../../search/ivfScan.js';
import { IvfPQMode, PQ_BATCH_QUERIES, type PQKernelRef, type PQSegmentRef } from '../../search/pqScan.js';
import { Segment } from '../../storage/Segment.js';
import { forgetDropped, getNumThreads } from '../../threads/pool.js';
import { IndexIVF } from './IndexIVF.js';

/** The index's working memory for the kernels: transposed centroids, centroid norms, precomputed tables. */
/** Vectors whose residuals are encoded at once when adding. */
const RESIDUAL_BLOCK = 16384;

interface WorkMemory {
  seg: Segment;
  /** pq.version it was built for */
  version: number;
  cT: number;
  rNorms: number;
  /** byte offset of the precomputed tables, -1 when there are none */
  pre: number;
  /** byte offset of a copy of the coarse centroids (nlist*d floats) beside the tables, -1 without tables */
  centroids: number;
  /** byte offset of the room for a batch's queries and their inner-product tables (list-by-list search), -1 without tables */
  batch: number;
  /** the coarse quantizer's ntotal when the tables were built */
  nlist: number;
}

export class IndexIVFPQ extends IndexIVF {
  /** Faiss's precomputed_table_max_bytes: larger precomputed tables are not built (2 GiB). */
  static precomputedTableMaxBytes = 2 ** 31;

  /** The product quantizer of the (residual) vectors. */
  readonly pq: ProductQuantizer;
  /** Encode x - centroid (true, Faiss's default) or x itself. Set before training. */
  byResidual = true;
  /**
   * Faiss's use_precomputed_table: -1 never; 0 decide at training (1 when the coarse quantizer is L2
   * and the tables fit precomputedTableMaxBytes); 1 use them (L2 by residual).
   */
  usePrecomputedTable = 0;

  private work: WorkMemory | undefined;
  private coarseCache: { quantizer: Index; ntotal: number; centroids: Float32Array; memory?: WebAssembly.Memory } | undefined;

  /**
   * @param quantizer the coarse quantizer (e.g. new IndexFlatL2(d)), trained or not
   * @param M number of sub-quantizers (must divide d)
   * @param nbits bits per sub-code, 1..8 (default 8)
   */
  constructor(quantizer: Index, d: number, nlist: number, M: number, nbits = 8, metric: MetricType = MetricType.L2) {
    const pq = new ProductQuantizer(d, M, nbits);
    super(quantizer, d, nlist, pq.codeSize, metric);
    this.pq = pq;
    this.isTrained = false;
  }

  protected get scannerName(): ScannerName {
    return 'pq';
  }

  // ---- training -----------------------------------------------------------------------------

  override train(x: Float32Array): void {
    this.coarseCache = undefined;
    super.train(x);
  }

  /** Faiss's train_residual: at most maxPointsPerCentroid * ksub vectors (seeded subsample), residuals, PQ. */
  protected override trainEncoder(x: Float32Array): void {
    this.coarseCache = undefined;
    const xs = this.subsampleTrainingSet(x, this.pq.cp.maxPointsPerCentroid * this.pq.ksub, this.pq.cp.seed);
    const trainset = this.byResidual ? this.residuals(xs, this.assignLists(xs)) : xs;
    if (this.verbose) console.error(`training ${this.pq.M}x${this.pq.ksub} product quantizer on ${xs.length / this.d} vectors in ${this.d}D`);
    this.pq.verbose = this.verbose;
    this.pq.train(trainset);
    if (this.byResidual) this.precomputeTable();
  }

  /**
   * (Re)builds the kernels' copy of the PQ centroids and, for L2 by residual, the precomputed tables
   * (Faiss's precompute_table). Call it after changing pq.centroids or the coarse quantizer yourself.
   */
  precomputeTable(): void {
    const { pq } = this;
    const nlist = this.quantizer.ntotal;
    const tab = pq.M * pq.ksub;
    if (this.usePrecomputedTable === 0 && this.byResidual) {
      const bytes = nlist * tab * 4;
      if (this.quantizer.metricType === MetricType.INNER_PRODUCT) {
        if (this.verbose) console.error('IndexIVFPQ::precompute_table: precomputed tables not needed for inner product quantizers');
      } else if (bytes > IndexIVFPQ.precomputedTableMaxBytes) {
        if (this.verbose) console.error(`IndexIVFPQ::precompute_table: not precomputing table, it would be too big: ${bytes} bytes (max ${IndexIVFPQ.precomputedTableMaxBytes})`);
      } else {
        this.usePrecomputedTable = 1;
      }
    }
    const withTables = this.usePrecomputedTable === 1 && this.byResidual;
    const cTBytes = pq.d * pq.ksub * 4;
    const pre = withTables ? cTBytes + tab * 4 : -1;
    const centroidsAt = withTables ? pre + nlist * tab * 4 : -1;
    const batchAt = withTables ? centroidsAt + nlist * this.d * 4 : -1;
    // (the batch room's pages are not touched until a batch is searched list by list; its tables
    // start 16-aligned, hence the 16 bytes)
    const bytes = cTBytes + tab * 4 + (withTables ? nlist * (tab + this.d) * 4 + PQ_BATCH_QUERIES * (tab + this.d) * 4 + 16 : 0);
    this.dropWork();
    const seg = new Segment(bytes);
    const buf = seg.memory.buffer;
    const o = seg.dataOffset;
    writeTransposed(pq.centroids, pq.M, pq.ksub, pq.dsub, new Float32Array(buf, o, pq.d * pq.ksub));
    // ||y_R||^2 of every sub-centroid, float products summed in double (Faiss's fvec_norm_L2sqr)
    const rNorms = new Float32Array(buf, o + cTBytes, tab);
    const c = pq.centroids;
    for (let i = 0; i < tab; i++) {
      let s = 0;
      for (let t = 0; t < pq.dsub; t++) {
        const v = c[i * pq.dsub + t]!;
        s += Math.fround(v * v);
      }
      rNorms[i] = s;
    }
    const work: WorkMemory = { seg, version: pq.version, cT: o, rNorms: o + cTBytes, pre: withTables ? o + pre : -1, centroids: withTables ? o + centroidsAt : -1, batch: withTables ? o + batchAt : -1, nlist };
    if (withTables) {
      if (this.verbose) console.error('precomputing IVFPQ tables type 1');
      const kern = kernelsFor(seg.memory);
      const cent = this.coarseCentroids();
      // the centroids beside the tables: a list's dis0 = ||q - c||^2 in the same kernel call
      new Float32Array(buf, work.centroids, nlist * this.d).set(cent.subarray(0, nlist * this.d));
      const Cp = Segment.slotOffset(0);
      const qc = new Float32Array(buf, Cp, this.d);
      for (let l = 0; l < nlist; l++) {
        qc.set(cent.subarray(l * this.d, (l + 1) * this.d));
        const t = work.pre + l * tab * 4;
        kern.pq_distance_table(0, Cp, work.cT, pq.M, pq.ksub, pq.dsub, t);
        kern.pq_madd(tab, work.rNorms, 2, t, t);
      }
    }
    this.work = work;
  }

  /** The precomputed tables (nlist * M * ksub floats, a view), empty when there are none. */
  get precomputedTable(): Float32Array {
    const w = this.work;
    if (w === undefined || w.pre < 0) return new Float32Array(0);
    return new Float32Array(w.seg.memory.buffer, w.pre, w.nlist * this.pq.M * this.pq.ksub);
  }

  // ---- encoding -----------------------------------------------------------------------------

  protected encodeVectors(x: Float32Array, listNos: Int32Array): Uint8Array {
    if (!this.byResidual) return this.pq.computeCodes(x);
    // the residuals a block at a time, into one buffer: not n*d fresh floats (64 MiB for 65,536
    // vectors of 256 dimensions, most of the time spent making them being the first touch of pages)
    const n = listNos.length;
    const d = this.d;
    const cs = this.codeSize;
    const codes = new Uint8Array(n * cs);
    const block = Math.min(n, RESIDUAL_BLOCK);
    const buf = getNumThreads() > 1 ? new Float32Array(new SharedArrayBuffer(block * d * 4)) : new Float32Array(block * d);
    for (let i0 = 0; i0 < n; i0 += block) {
      const m = Math.min(block, n - i0);
      this.residualsInto(x, listNos, i0, m, buf);
      codes.set(this.pq.computeCodes(buf.subarray(0, m * d)), i0 * cs);
    }
    return codes;
  }

  protected decodeVector(code: Uint8Array, listNo: number, out: Float32Array): void {
    this.pq.decode(code, out);
    if (this.byResidual) {
      const c = this.coarseCentroids();
      const d = this.d;
      for (let j = 0; j < d; j++) out[j] = out[j]! + c[listNo * d + j]!;
    }
  }

  /** Codes of n vectors as they would be stored in the given lists (Faiss's encode_vectors), n*codeSize bytes. */
  encodeToLists(x: Float32Array, listNos: Int32Array): Uint8Array {
    return this.encodeVectors(x, listNos);
  }

  // ---- search -------------------------------------------------------------------------------

  protected override scanArgs(): Partial<IvfSearchTask> {
    const w = this.ensureWork();
    const { pq } = this;
    let mode: number;
    if (!this.byResidual) mode = IvfPQMode.QueryTable;
    else if (this.metricType === MetricType.INNER_PRODUCT) mode = IvfPQMode.InnerProductResidual;
    else if (w.pre >= 0) mode = IvfPQMode.Precomputed;
    else mode = IvfPQMode.ResidualTable;
    const ref: PQKernelRef = { memory: w.seg.memory, cT: w.cT, M: pq.M, nbits: pq.nbits, ksub: pq.ksub, dsub: pq.dsub };
    return { pq: { pq: ref, mode, pre: w.pre, centroids: w.centroids, batch: w.batch, coarse: mode === IvfPQMode.QueryTable ? [] : this.coarseRefs() } };
  }

  protected override checkCompatibleEncoder(other: IndexIVF): void {
    const o = other as IndexIVFPQ;
    if (o.byResidual !== this.byResidual || !o.pq.equals(this.pq)) {
      throw new InvalidArgumentError('other', 'has a different product quantizer (M, nbits, centroids or byResidual): merge needs indexes trained together');
    }
  }

  override dispose(): void {
    super.dispose();
    this.dropWork();
    this.pq.dispose();
  }

  // ---- helpers ------------------------------------------------------------------------------

  private ensureWork(): WorkMemory {
    const w = this.work;
    if (w === undefined || w.version !== this.pq.version || w.nlist !== this.quantizer.ntotal) this.precomputeTable();
    return this.work!;
  }

  private dropWork(): void {
    if (this.work !== undefined) {
      forgetDropped([this.work.seg.memory], []);
      this.work = undefined;
    }
  }

  /** x_i - centroid(list_i), zeros where the list is -1 (Faiss's compute_residuals), n*d floats. */
  private residuals(x: Float32Array, lists: Int32Array): Float32Array {
    const n = lists.length;
    const out = getNumThreads() > 1 ? new Float32Array(new SharedArrayBuffer(n * this.d * 4)) : new Float32Array(n * this.d);
    this.residualsInto(x, lists, 0, n, out);
    return out;
  }

  /** The residuals of vectors [i0, i0 + m) into out (m*d floats). */
  private residualsInto(x: Float32Array, lists: Int32Array, i0: number, m: number, out: Float32Array): void {
    const d = this.d;
    this.residualsOf(x.subarray(i0 * d, (i0 + m) * d), lists.subarray(i0, i0 + m), out, () => this.coarseCentroids());
  }

  /** The coarse centroids, nlist*d floats (cached until the quantizer changes size or is retrained here). */
  private coarseCentroids(): Float32Array {
    const q = this.quantizer;
    const cache = this.coarseCache;
    if (cache && cache.quantizer === q && cache.ntotal === q.ntotal) return cache.centroids;
    this.coarseCache = { quantizer: q, ntotal: q.ntotal, centroids: q.reconstructN(0, q.ntotal) };
    return this.coarseCache.centroids;
  }

  /** Where the kernels' threads read the coarse centroids: the flat quantizer's own segments, or a shared copy. */
  private coarseRefs(): PQSegmentRef[] {
    const q = this.quantizer;
    if (q instanceof IndexFlat) return q.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count }));
    const c = this.coarseCentroids();
    const cache = this.coarseCache!;
    if (cache.memory === undefined) {
      const pages = Math.max(1, Math.ceil(c.byteLength / 65536));
      cache.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      new Float32Array(cache.memory.buffer, 0, c.length).set(c);
    }
    return [{ memory: cache.memory, dataOffset: 0, count: q.ntotal }];
  }
}
