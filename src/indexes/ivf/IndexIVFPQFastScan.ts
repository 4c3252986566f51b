/**
 * @module IndexIVFPQFastScan
 * Faiss's IndexIVFPQFastScan (Faiss 1.7.3, IndexIVFFastScan + IndexIVFPQFastScan): IVF whose lists
 * hold 4-bit PQ codes in FastScan's packed blocks (invlists/BlockInvertedLists), scanned with SIMD
 * table look-ups on uint8-quantized tables (search/pq4Scan, assembly/pq4.ts). Factory strings
 * `IVF{nlist},PQ{M}x4fs` (by_residual = false, Faiss's default "because it's much faster"),
 * `IVF{nlist},PQ{M}x4fsr` (by_residual = true), with an optional `_{bbs}`.
 *
 * Per query, as Faiss's compute_LUT + quantize_LUT_and_bias, the tables of all its probes are
 * quantized together (one scale a, offset b), so distances from different lists compare:
 * - not by residual: the query's table (L2 or IP), the same for every list, no bias;
 * - inner product by residual: the query's IP table, the bias <q, centroid> quantized to 16 bits;
 * - L2 by residual, precomputed tables (usePrecomputedTable = 1, chosen at training when the
 *   quantizer is L2 and nlist*M*16 floats fit IndexIVFPQ.precomputedTableMaxBytes): per probe
 *   pre[list] - 2*IPtable(q), bias ||q - centroid||^2 (one table per probe, "3D");
 * - L2 by residual without them: per probe the L2 table of q - centroid, bias 0 ("3D").
 * Lists are visited in increasing list number when bbs = 32 and in probe order otherwise, as Faiss's
 * search_implem_12 / _10 do, so that ties between lists resolve as in Faiss. Results and padding are
 * IndexPQFastScan's (sum * (1/a) + b; an empty slot has the neutral 16-bit value converted).
 *
 * `nprobe` per call (SearchParametersIVF), which Faiss 1.7.3 does not accept for this class;
 * `maxCodes` is ignored (as in Faiss). Batches are split over the pool's threads by query; a single
 * query runs on the calling thread.
 */
import type { Index, SearchResult } from '../../Index.js';
import { InvalidArgumentError, NotSupportedError, NotTrainedError } from '../../errors.js';
import { toIDSelector, type IDSelectorLike } from '../../IDSelector.js';
import { MetricType } from '../../MetricType.js';
import { BlockInvertedLists } from '../../invlists/BlockInvertedLists.js';
import { DirectMapType, unpackList, unpackOffset } from '../../invlists/DirectMap.js';
import { ProductQuantizer } from '../../quantizers/ProductQuantizer.js';
import { pq4BlockBytes } from '../../quantizers/pq4FastScan.js';
import type { ScannerName } from '../../search/ivfScan.js';
import { IvfPQ4Mode, pq4IvfRange, type PQ4IvfTask } from '../../search/pq4Scan.js';
import { getNumThreads, parallelFor } from '../../threads/pool.js';
import { sharedF32, sharedI64, toSharedF32, toSharedI32 } from '../../threads/shared.js';
import { checkNonNegativeInt } from '../../validate.js';
import { checkFastScanParams } from '../IndexPQFastScan.js';
import { IndexIVF, type SearchParametersIVF } from './IndexIVF.js';
import { IndexIVFPQ } from './IndexIVFPQ.js';

const MIN_QUERIES_PER_THREAD = 2;

export class IndexIVFPQFastScan extends IndexIVF {
  /** The product quantizer (nbits = 4) of the vectors or of their residuals. */
  readonly pq: ProductQuantizer;
  readonly M: number;
  readonly nbits = 4;
  readonly ksub = 16;
  /** M rounded up to even. */
  readonly M2: number;
  /** Vectors per packed block (Faiss's bbs). */
  readonly bbs: number;
  /** Encode x - centroid (true) or x itself (false, Faiss's default for this class). Set before training. */
  byResidual = false;
  /** Faiss's use_precomputed_table (-1 never, 0 decide at training, 1 use them); see IndexIVFPQ. */
  usePrecomputedTable = 0;
  /** Faiss's implem and qbs2 (its kernel choices), kept for the file format; simdex ignores them. */
  implem = 0;
  qbs2 = 0;

  private pre: { table: Float32Array; version: number; nlist: number } | undefined;
  private coarseCache: { quantizer: Index; ntotal: number; centroids: Float32Array } | undefined;

  /** An empty index (Faiss's IndexIVFPQFastScan(quantizer, d, nlist, M, nbits, metric, bbs)). */
  constructor(quantizer: Index, d: number, nlist: number, M: number, nbits?: number, metric?: MetricType, bbs?: number);
  /** The lists of an IndexIVFPQ with nbits = 4, packed; the quantizer is shared (Faiss's IndexIVFPQFastScan(const IndexIVFPQ&, bbs)). */
  constructor(orig: IndexIVFPQ, bbs?: number);
  constructor(qOrIndex: Index | IndexIVFPQ, dOrBbs?: number, nlist?: number, M?: number, nbits = 4, metric: MetricType = MetricType.L2, bbs = 32) {
    const orig = qOrIndex instanceof IndexIVFPQ ? qOrIndex : undefined;
    if (orig !== undefined) {
      bbs = dOrBbs ?? 32;
      nbits = orig.pq.nbits;
      metric = orig.metricType;
    }
    checkFastScanParams(nbits, bbs, 'IndexIVFPQFastScan');
    const d = orig?.d ?? (dOrBbs as number);
    const pq = new ProductQuantizer(d, orig?.pq.M ?? (M as number), nbits);
    const M2 = pq.M + (pq.M & 1);
    super(orig?.quantizer ?? qOrIndex, d, orig?.nlist ?? (nlist as number), M2 / 2, metric);
    this.pq = pq;
    this.M = pq.M;
    this.M2 = M2;
    this.bbs = bbs;
    this.invlists = new BlockInvertedLists(this.nlist, bbs, pq4BlockBytes(bbs, M2));
    this.isTrained = false;
    if (orig !== undefined) {
      this.ownFields = false;
      if (orig.pq.isTrained) pq.centroids = orig.pq.centroids;
      this.byResidual = orig.byResidual;
      this.usePrecomputedTable = orig.usePrecomputedTable;
      this.nprobe = orig.nprobe;
      this.isTrained = orig.isTrained;
      const lists = this.lists;
      for (let l = 0; l < this.nlist; l++) {
        const n = orig.invlists.listSize(l);
        if (n > 0) lists.addCodes(l, orig.invlists.getIds(l), orig.invlists.getCodes(l), this.M);
      }
      this.ntotal = orig.ntotal;
    }
  }

  /** The packed inverted lists. */
  get lists(): BlockInvertedLists {
    if (!(this.invlists instanceof BlockInvertedLists)) {
      throw new NotSupportedError(`${this.typeName} with ${this.invlists.constructor.name} lists`, 'this operation', 'its lists must be BlockInvertedLists (packed FastScan blocks)');
    }
    return this.invlists;
  }

  protected get scannerName(): ScannerName {
    return 'pq';
  }

  // ---- training -----------------------------------------------------------------------------

  override train(x: Float32Array): void {
    this.coarseCache = undefined;
    super.train(x);
  }

  /** Faiss's train_residual: at most maxPointsPerCentroid * ksub vectors (seeded subsample), residuals if byResidual, PQ. */
  protected override trainEncoder(x: Float32Array): void {
    this.coarseCache = undefined;
    const xs = this.subsampleTrainingSet(x, this.pq.cp.maxPointsPerCentroid * this.pq.ksub, this.pq.cp.seed);
    const trainset = this.byResidual ? this.residuals(xs, this.assignLists(xs)) : xs;
    if (this.verbose) console.error(`training ${this.pq.M}x${this.pq.ksub} product quantizer on ${xs.length / this.d} vectors in ${this.d}D`);
    this.pq.verbose = this.verbose;
    this.pq.train(trainset);
    if (this.byResidual && this.metricType === MetricType.L2) this.precomputeTable();
  }

  /**
   * Decides usePrecomputedTable (when 0) and builds the tables (Faiss's
   * initialize_IVFPQ_precomputed_table): pre[l][m][j] = ||c_mj||^2 + 2 <centroid_l, c_mj>.
   */
  precomputeTable(): void {
    this.pre = undefined;
    const { pq } = this;
    const nlist = this.quantizer.ntotal;
    const tab = pq.M * pq.ksub;
    if (this.usePrecomputedTable === -1) return;
    if (this.usePrecomputedTable === 0) {
      if (this.quantizer.metricType === MetricType.INNER_PRODUCT) return;
      if (nlist * tab * 4 > IndexIVFPQ.precomputedTableMaxBytes) return;
      this.usePrecomputedTable = 1;
    }
    const rNorms = new Float32Array(tab);
    const c = pq.centroids;
    for (let i = 0; i < tab; i++) {
      let s = 0;
      for (let t = 0; t < pq.dsub; t++) {
        const v = c[i * pq.dsub + t]!;
        s += Math.fround(v * v);
      }
      rNorms[i] = s;
    }
    const table = sharedF32(nlist * tab);
    if (nlist > 0) table.set(pq.computeInnerProdTables(this.coarseCentroids()));
    for (let l = 0; l < nlist; l++) {
      const o = l * tab;
      for (let i = 0; i < tab; i++) table[o + i] = rNorms[i]! + 2 * table[o + i]!;
    }
    this.pre = { table, version: pq.version, nlist };
  }

  /** The precomputed tables (nlist * M * 16 floats), empty when there are none. */
  get precomputedTable(): Float32Array {
    return this.pre?.table ?? new Float32Array(0);
  }

  // ---- adding -------------------------------------------------------------------------------

  protected encodeVectors(x: Float32Array, listNos: Int32Array): Uint8Array {
    return this.pq.computeCodes(this.byResidual ? this.residuals(x, listNos) : x);
  }

  /** Codes of n vectors as they would be stored in the given lists (Faiss's encode_vectors), ordinary PQ codes. */
  encodeToLists(x: Float32Array, listNos: Int32Array): Uint8Array {
    return this.encodeVectors(x, listNos);
  }

  protected decodeVector(code: Uint8Array, listNo: number, out: Float32Array): void {
    this.pq.decode(code, out);
    if (this.byResidual) {
      const c = this.coarseCentroids();
      const d = this.d;
      for (let j = 0; j < d; j++) out[j] = out[j]! + c[listNo * d + j]!;
    }
  }

  /** Packs encoded entries into list l's blocks (in input order within a list, as Faiss). */
  protected override appendToList(l: number, ids: BigInt64Array, codes: Uint8Array): number {
    return this.lists.addCodes(l, ids, codes, this.M);
  }

  // ---- search -------------------------------------------------------------------------------

  override search(x: Float32Array, k: number, params?: SearchParametersIVF): SearchResult {
    this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const nprobe = this.effectiveNprobe(params);
    const { distances, labels } = this.quantizer.search(x, nprobe, params?.quantizerParams);
    const coarse = new Int32Array(labels.length);
    for (let i = 0; i < labels.length; i++) coarse[i] = Number(labels[i]!);
    return this.searchPreassignedWithDistances(x, k, coarse, distances, nprobe);
  }

  /**
   * Search with the probed lists already known (Faiss's search_preassigned); coarse: n*nprobe list
   * numbers. The distances to the centroids (the by-residual biases) are computed here.
   */
  override searchPreassigned(x: Float32Array, k: number, coarse: Int32Array, nprobe: number, params?: SearchParametersIVF): SearchResult {
    void params;
    this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const n = x.length / this.d;
    if (coarse.length !== n * nprobe) throw new InvalidArgumentError('coarse', `has length ${coarse.length}, expected n * nprobe = ${n * nprobe}`);
    const dis = new Float32Array(n * nprobe);
    if (this.byResidual) {
      const c = this.coarseCentroids();
      const d = this.d;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < nprobe; j++) {
          const l = coarse[i * nprobe + j]!;
          let s = 0;
          if (l >= 0) {
            for (let t = 0; t < d; t++) {
              const u = x[i * d + t]! - c[l * d + t]!;
              s += this.metricType === MetricType.L2 ? u * u : x[i * d + t]! * c[l * d + t]!;
            }
          }
          dis[i * nprobe + j] = s;
        }
      }
    }
    return this.searchPreassignedWithDistances(x, k, coarse, dis, nprobe);
  }

  private searchPreassignedWithDistances(x: Float32Array, k: number, coarse: Int32Array, coarseDis: Float32Array, nprobe: number): SearchResult {
    const n = x.length / this.d;
    this.invlists.assertData('searching');
    const mode = this.mode();
    // every field set here, in one shape (the scan reads it once per query)
    const task: PQ4IvfTask = {
      metric: this.metricType,
      k,
      nprobe,
      pq: this.pq.kernelRef(),
      M2: this.M2,
      bbs: this.bbs,
      mode,
      lists: this.lists.listTable(),
      x,
      coarse,
      coarseDis,
      pre: mode === IvfPQ4Mode.Precomputed ? this.pre!.table : undefined,
      centroids: mode === IvfPQ4Mode.ResidualTable ? this.coarseCentroids() : undefined,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    if (n === 0) return { distances: task.distances, labels: task.labels };
    if (getNumThreads() > 1 && n >= 2 * MIN_QUERIES_PER_THREAD) {
      const shared = { ...task, x: toSharedF32(x), coarse: toSharedI32(coarse), coarseDis: toSharedF32(coarseDis), distances: sharedF32(n * k), labels: sharedI64(n * k) };
      parallelFor('pq4.ivfSearch', shared, n, MIN_QUERIES_PER_THREAD);
      task.distances.set(shared.distances);
      task.labels.set(shared.labels);
    } else {
      pq4IvfRange(task, 0, n, 0);
    }
    return { distances: task.distances, labels: task.labels };
  }

  /** Which tables the search makes (and builds the precomputed tables when they are due). */
  private mode(): number {
    if (!this.byResidual) return IvfPQ4Mode.QueryTable;
    if (this.metricType === MetricType.INNER_PRODUCT) return IvfPQ4Mode.InnerProductResidual;
    const p = this.pre;
    if (this.usePrecomputedTable !== -1 && (p === undefined || p.version !== this.pq.version || p.nlist !== this.quantizer.ntotal)) this.precomputeTable();
    return this.pre !== undefined ? IvfPQ4Mode.Precomputed : IvfPQ4Mode.ResidualTable;
  }

  // ---- reconstruction, removal, merging -----------------------------------------------------

  override reconstructFromOffset(listNo: number, offset: number): Float32Array {
    const out = new Float32Array(this.d);
    this.decodeVector(this.lists.unpackCodes(listNo, offset, 1, this.M), listNo, out);
    return out;
  }

  override reconstruct(key: number | bigint): Float32Array {
    const lo = this.directMap.get(BigInt(key));
    return this.reconstructFromOffset(unpackList(lo), unpackOffset(lo));
  }

  override reconstructN(i0: number, n: number): Float32Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    const out = new Float32Array(n * this.d);
    const lo = BigInt(i0);
    const hi = BigInt(i0 + n);
    const cs = this.codeSize;
    const il = this.lists;
    for (let l = 0; l < this.nlist; l++) {
      const size = il.listSize(l);
      if (size === 0) continue;
      const ids = il.getIds(l);
      const codes = il.unpackCodes(l, 0, size, this.M);
      for (let o = 0; o < size; o++) {
        const id = ids[o]!;
        if (id < lo || id >= hi) continue;
        this.decodeVector(codes.subarray(o * cs, (o + 1) * cs), l, out.subarray(Number(id - lo) * this.d, Number(id - lo + 1n) * this.d));
      }
    }
    return out;
  }

  /** Removes the selected ids; each list is repacked (Faiss's order: a removed entry takes the list's last one). */
  override removeIds(selector: IDSelectorLike): number {
    if (this.directMap.type === DirectMapType.Array) {
      throw new NotSupportedError(`${this.typeName} with a direct map of type Array`, 'removeIds', 'use setDirectMapType(DirectMapType.Hashtable)');
    }
    const sel = toIDSelector(selector);
    const cs = this.codeSize;
    const il = this.lists;
    let removed = 0;
    for (let l = 0; l < this.nlist; l++) {
      let size = il.listSize(l);
      if (size === 0) continue;
      const ids = il.getIds(l);
      const codes = il.unpackCodes(l, 0, size, this.M);
      let changed = false;
      for (let j = 0; j < size; ) {
        if (sel.isMember(ids[j]!)) {
          size--;
          ids[j] = ids[size]!;
          codes.copyWithin(j * cs, size * cs, (size + 1) * cs);
          changed = true;
          removed++;
        } else {
          j++;
        }
      }
      if (changed) {
        il.resize(l, 0);
        if (size > 0) il.addCodes(l, ids.subarray(0, size), codes.subarray(0, size * cs), this.M);
      }
    }
    this.ntotal -= removed;
    if (removed > 0 && this.directMap.type === DirectMapType.Hashtable) this.setDirectMapType(DirectMapType.Hashtable);
    return removed;
  }

  protected override checkCompatibleEncoder(other: IndexIVF): void {
    const o = other as IndexIVFPQFastScan;
    if (o.byResidual !== this.byResidual || o.bbs !== this.bbs || !o.pq.equals(this.pq)) {
      throw new InvalidArgumentError('other', 'has a different product quantizer (M, centroids, bbs or byResidual): merge needs indexes trained together');
    }
  }

  override dispose(): void {
    super.dispose();
    this.pre = undefined;
    this.pq.dispose();
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** x_i - centroid(list_i), zeros where the list is -1 (Faiss's compute_residuals), n*d floats. */
  private residuals(x: Float32Array, lists: Int32Array): Float32Array {
    const n = lists.length;
    const out = getNumThreads() > 1 ? sharedF32(n * this.d) : new Float32Array(n * this.d);
    return this.residualsOf(x, lists, out, () => this.coarseCentroids());
  }

  /** The coarse centroids, nlist*d floats (cached until the quantizer changes size or is retrained here). */
  private coarseCentroids(): Float32Array {
    const q = this.quantizer;
    const cache = this.coarseCache;
    if (cache && cache.quantizer === q && cache.ntotal === q.ntotal) return cache.centroids;
    this.coarseCache = { quantizer: q, ntotal: q.ntotal, centroids: toSharedF32(q.reconstructN(0, q.ntotal)) };
    return this.coarseCache.centroids;
  }
}
