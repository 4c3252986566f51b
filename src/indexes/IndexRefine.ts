/**
 * @module IndexRefine
 * Faiss's IndexRefine and IndexRefineFlat: a fast, approximate base index proposes k * kFactor
 * candidates per query, and a refinement index holding the same vectors in the same order re-ranks
 * them with its (more exact) distances and keeps the k best. Factory: `IVF1024,PQ64,RFlat`
 * (IndexRefineFlat: the refinement index is an IndexFlat of the original vectors) and
 * `IVF64,PQ8,Refine(SQfp16)` (IndexRefine over any index).
 *
 *   const index = new IndexRefineFlat(new IndexIVFPQ(new IndexFlatL2(d), d, 1024, 64));
 *   index.train(xt);
 *   index.add(xb);                                         // to the base and to the flat index
 *   index.search(xq, 10, { kFactor: 8, baseIndexParams: { nprobe: 16 } });
 *
 * Search, as Faiss: kBase = floor(k * kFactor) (computed in float32, as Faiss does); the base index
 * returns kBase candidates; each valid candidate (label >= 0) gets the refinement index's distance
 * (a candidate with label -1 keeps the base's distance, as in Faiss); the k best of the kBase are
 * kept by Faiss's heap (reorder_2_heaps), ties broken by label, -1 labels last.
 * - IndexFlat refinement (IndexRefineFlat, or IndexRefine with an IndexFlat): the distances are read
 *   in place from the flat storage by the `refine_distances` WebAssembly kernel (search/refineScan),
 *   batches split over the pool's threads.
 * - IndexScalarQuantizer refinement (`Refine(SQfp16)`, `Refine(SQ8)`): on the calling thread, the
 *   candidates' codes are gathered from the storage and compared with the query by the SQ kernels,
 *   as Faiss's SQ distance computer does.
 * - Any other refinement index: on the calling thread, the candidates are decoded (IndexFlatCodes:
 *   their codes gathered and decoded in one saDecode call; others: reconstruct) and their distances
 *   computed by the WebAssembly kernels. Faiss uses the index's distance computer instead (for PQ
 *   the same distances up to float rounding).
 *
 * Per call (Faiss >= 1.8's IndexRefineSearchParameters, here {@link SearchParametersRefine}):
 * `kFactor` and `baseIndexParams` (passed to the base index, e.g. `{ nprobe }`). Faiss 1.7.3 itself
 * accepts no search parameters on IndexRefine; the file format has no place for them.
 *
 * Ids: the base and refinement indexes number the vectors 0..ntotal-1 in the same order; labels
 * returned by the base are positions in the refinement index. Put IndexIDMap outside
 * (`IVF1024,PQ64,RFlat,IDMap` or `IDMap,IVF1024,PQ64,RFlat`) to attach ids.
 */
import { Index, emptyResult, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotSupportedError, NotTrainedError, describeValue } from '../errors.js';
import type { IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import { kernelsFor } from '../kernels/wasm.js';
import { refineFlatRange, type RefineFlatTask } from '../search/refineScan.js';
import { getNumThreads, parallelFor } from '../threads/pool.js';
import { sharedF32, sharedI32, sharedI64, toSharedF32 } from '../threads/shared.js';
import { checkPositiveInt, checkVectors } from '../validate.js';
import type { SearchParametersHNSW } from './hnsw/IndexHNSWFlat.js';
import type { SearchParametersIVF } from './ivf/IndexIVF.js';
import { IndexFlat } from './IndexFlat.js';
import { IndexFlatCodes } from './IndexFlatCodes.js';
import { IndexScalarQuantizer } from './IndexScalarQuantizer.js';
import { sqTablesBytes } from '../search/sqScan.js';

/**
 * Per-call knobs of IndexRefine (Faiss >= 1.8's IndexRefineSearchParameters). Other keys beside
 * kFactor (e.g. `{ nprobe: 16, kFactor: 4 }`) go to the base index, as Faiss's ParameterSpace passes
 * them on, unless baseIndexParams is given.
 */
export interface SearchParametersRefine extends SearchParameters {
  /** Candidates asked of the base index: floor(k * kFactor); >= 1 (default: the index's kFactor). */
  kFactor?: number;
  /** Parameters of the base index's search (e.g. `{ nprobe: 16 }` for an IVF base, `{ efSearch: 64 }` for HNSW). */
  baseIndexParams?: SearchParametersIVF | SearchParametersHNSW | SearchParametersRefine | SearchParameters;
}

/** Faiss's C++ name for {@link SearchParametersRefine}. */
export type IndexRefineSearchParameters = SearchParametersRefine;

/** Queries per thread below which the refinement step stays on the calling thread. */
const MIN_QUERIES_PER_THREAD = 16;
/** Bytes of decoded candidates per block on the generic path (4 MiB). */
const GENERIC_BLOCK_BYTES = 4 << 20;
const PAGE = 65536;
const align16 = (v: number): number => Math.ceil(v / 16) * 16;

function checkKFactor(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new InvalidArgumentError(name, `must be a finite number >= 1 (the base index returns floor(k * kFactor) >= k candidates), got ${describeValue(value)}`);
  }
  return value;
}

export class IndexRefine extends Index {
  /** The fast index that proposes the candidates (Faiss's base_index). */
  readonly baseIndex: Index;
  /** The index whose distances re-rank them (Faiss's refine_index). */
  readonly refineIndex: Index;
  /** Whether dispose() also disposes the base index (Faiss's own_fields). */
  ownFields = true;
  /** Whether dispose() also disposes the refinement index (Faiss's own_refine_index). */
  ownRefineIndex = true;
  private kFactor_ = 1;
  /** Scratch memory of the generic refinement path (grown on demand). */
  private work: WebAssembly.Memory | undefined;

  /**
   * Faiss's IndexRefine(base_index, refine_index): both of the same d and metric, holding the same
   * vectors (the same ntotal; usually both empty).
   */
  constructor(baseIndex: Index, refineIndex: Index) {
    if (!(baseIndex instanceof Index)) throw new InvalidTypeError('baseIndex', 'an Index', baseIndex);
    super(baseIndex.d, baseIndex.metricType);
    if (!(refineIndex instanceof Index)) throw new InvalidTypeError('refineIndex', 'an Index', refineIndex);
    if (refineIndex === baseIndex) throw new InvalidArgumentError('refineIndex', 'must be another index than baseIndex');
    if (refineIndex.d !== baseIndex.d) {
      throw new InvalidArgumentError('refineIndex', `has d = ${refineIndex.d}, but baseIndex has d = ${baseIndex.d}`);
    }
    if (refineIndex.metricType !== baseIndex.metricType) {
      throw new InvalidArgumentError('refineIndex', `has metric ${refineIndex.metricType}, but baseIndex has metric ${baseIndex.metricType}`);
    }
    if (refineIndex.ntotal !== baseIndex.ntotal) {
      throw new InvalidArgumentError('refineIndex', `holds ${refineIndex.ntotal} vectors, but baseIndex holds ${baseIndex.ntotal}: both must hold the same vectors`);
    }
    this.baseIndex = baseIndex;
    this.refineIndex = refineIndex;
    this.isTrained = baseIndex.isTrained && refineIndex.isTrained;
    this.ntotal = baseIndex.ntotal;
  }

  /** Candidates asked of the base index per result: floor(k * kFactor), kFactor >= 1 (Faiss's k_factor, default 1). */
  get kFactor(): number {
    return this.kFactor_;
  }
  set kFactor(v: number) {
    this.kFactor_ = checkKFactor(v, 'kFactor');
  }

  /** Trains the base index, then the refinement index (as Faiss: both, with the same vectors). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    this.baseIndex.train(x);
    this.refineIndex.train(x);
    this.isTrained = true;
  }

  /** Adds the vectors to the base index and to the refinement index. */
  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'add');
    this.baseIndex.add(x);
    this.refineIndex.add(x);
    this.ntotal = this.refineIndex.ntotal;
  }

  override addWithIds(x: Float32Array, ids: BigInt64Array): void {
    void x;
    void ids;
    throw new NotSupportedError(this.typeName, 'addWithIds', 'wrap it in IndexIDMap (factory: "IVF1024,PQ64,RFlat,IDMap") to attach ids');
  }

  search(x: Float32Array, k: number, params?: SearchParametersRefine): SearchResult {
    const n = this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const { kFactor: kf, baseParams } = splitParams(params);
    const kFactor = kf !== undefined ? checkKFactor(kf, 'kFactor') : this.kFactor_;
    // Faiss: idx_t(k * k_factor), the product in float32
    const kBase = Math.max(k, Math.trunc(Math.fround(Math.fround(k) * Math.fround(kFactor))));
    if (n === 0) return emptyResult(0, k, this.metricType);
    const base = this.baseIndex.search(x, kBase, baseParams);
    return this.refineCandidates(x, n, k, kBase, base.distances, base.labels);
  }

  /**
   * The refinement step alone: re-ranks kBase candidates per query (baseLabels, baseDistances: n*kBase,
   * as the base index returned them) with the refinement index's distances; returns the k best.
   */
  refineCandidates(x: Float32Array, n: number, k: number, kBase: number, baseDistances: Float32Array, baseLabels: BigInt64Array): SearchResult {
    if (checkVectors(x, this.d) !== n) throw new InvalidArgumentError('x', `holds ${x.length / this.d} vectors, expected n = ${n}`);
    checkPositiveInt(k, 'k');
    checkPositiveInt(kBase, 'kBase');
    if (kBase < k) throw new InvalidArgumentError('kBase', `is ${kBase}, expected at least k = ${k}`);
    if (!(baseLabels instanceof BigInt64Array) || baseLabels.length !== n * kBase) {
      throw new InvalidArgumentError('baseLabels', `must be a BigInt64Array of n*kBase = ${n * kBase} labels`);
    }
    if (!(baseDistances instanceof Float32Array) || baseDistances.length !== n * kBase) {
      throw new InvalidArgumentError('baseDistances', `must be a Float32Array of n*kBase = ${n * kBase} distances`);
    }
    const ref = this.refineIndex;
    if (ref instanceof IndexFlat) return this.refineFlat(ref, x, n, k, kBase, baseDistances, baseLabels);
    return this.refineGeneric(x, n, k, kBase, baseDistances, baseLabels);
  }

  /** The flat refinement index: distances read in place from its storage, batches on every thread. */
  private refineFlat(ref: IndexFlat, x: Float32Array, n: number, k: number, kBase: number, baseDistances: Float32Array, baseLabels: BigInt64Array): SearchResult {
    const task: RefineFlatTask = {
      metric: this.metricType,
      d: this.d,
      k,
      kBase,
      segments: ref.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count })),
      x,
      baseLabels,
      baseDistances,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
      beyond: sharedI32(1),
    };
    if (getNumThreads() === 1 || n < 2 * MIN_QUERIES_PER_THREAD) {
      refineFlatRange(task, 0, n, 0);
      if (task.beyond[0]! > 0) throw this.badLabels(task.beyond[0]!);
      return { distances: task.distances, labels: task.labels };
    }
    const labels = sharedI64(n * kBase);
    labels.set(baseLabels);
    const shared: RefineFlatTask = {
      ...task,
      x: toSharedF32(x),
      baseLabels: labels,
      baseDistances: toSharedF32(baseDistances),
      distances: sharedF32(n * k),
      labels: sharedI64(n * k),
    };
    parallelFor('refine.flat', shared, n, MIN_QUERIES_PER_THREAD);
    if (task.beyond[0]! > 0) throw this.badLabels(task.beyond[0]!);
    task.distances.set(shared.distances);
    task.labels.set(shared.labels);
    return { distances: task.distances, labels: task.labels };
  }

  /**
   * Any other refinement index, on the calling thread: an IndexScalarQuantizer's candidate codes are
   * gathered and their distances computed by the SQ kernels (Faiss's SQ distance computer); other
   * indexes' candidates are decoded (IndexFlatCodes: saDecode of the gathered codes) or
   * reconstructed, then their distances computed by the WebAssembly kernels. Heaps in WebAssembly.
   */
  private refineGeneric(x: Float32Array, n: number, k: number, kb: number, baseDistances: Float32Array, baseLabels: BigInt64Array): SearchResult {
    const d = this.d;
    const ref = this.refineIndex;
    const isMax = this.metricType === MetricType.L2 ? 1 : 0;
    const sq = ref instanceof IndexScalarQuantizer ? ref : undefined;
    const distances = new Float32Array(n * k);
    const labels = new BigInt64Array(n * k);
    const tablesBytes = sq !== undefined ? sqTablesBytes(d) : 0;
    const perCandidate = (sq !== undefined ? sq.codeSize : d * 4) + 12;
    const perQuery = d * 4 + kb * perCandidate + k * 12 + 64;
    const qb = Math.max(1, Math.min(n, Math.floor(GENERIC_BLOCK_BYTES / perQuery)));
    const memory = this.workMemory(tablesBytes + qb * perQuery + 256);
    const kern = kernelsFor(memory);
    const TAB = 0;
    if (sq !== undefined) new Float32Array(memory.buffer, TAB, 2 * ((d + 3) & ~3)).set(sq.sq.kernelTables());
    for (let b0 = 0; b0 < n; b0 += qb) {
      const nq = Math.min(qb, n - b0);
      const Qp = align16(TAB + tablesBytes);
      const Yp = align16(Qp + nq * d * 4);
      const DISp = align16(Yp + nq * kb * (perCandidate - 12));
      const IDp = align16(DISp + nq * kb * 4);
      const HDp = align16(IDp + nq * kb * 8);
      const HIp = align16(HDp + nq * k * 4);
      const buf = memory.buffer;
      const ids = baseLabels.subarray(b0 * kb, (b0 + nq) * kb);
      new Float32Array(buf, Qp, nq * d).set(x.subarray(b0 * d, (b0 + nq) * d));
      new BigInt64Array(buf, IDp, nq * kb).set(ids);
      if (sq !== undefined) {
        const cs = sq.codeSize;
        this.gatherCodes(sq, ids, new Uint8Array(buf, Yp, nq * kb * cs));
        for (let i = 0; i < nq; i++) {
          const dis0 = kern.sq_set_query(this.metricType, Qp + i * d * 4, 0, 0, TAB, d);
          kern.sq_distances(sq.sq.qtype, this.metricType, TAB, d, Yp + i * kb * cs, kb, DISp + i * kb * 4, dis0);
        }
      } else {
        new Float32Array(buf, Yp, nq * kb * d).set(this.decodeCandidates(ids));
        for (let i = 0; i < nq; i++) {
          const q = Qp + i * d * 4;
          const y = Yp + i * kb * d * 4;
          const o = DISp + i * kb * 4;
          if (isMax) kern.fvec_L2sqr_ny(o, q, y, d, kb);
          else kern.fvec_inner_products_ny(o, q, y, d, kb);
        }
      }
      // label -1: the base's distance stays (Faiss)
      const dis = new Float32Array(buf, DISp, nq * kb);
      for (let e = 0; e < nq * kb; e++) if (ids[e]! < 0n) dis[e] = baseDistances[b0 * kb + e]!;
      kern.heap_heapify(isMax, nq, k, HDp, HIp);
      for (let i = 0; i < nq; i++) kern.heap_addn_ids(isMax, k, HDp + i * k * 4, HIp + i * k * 8, DISp + i * kb * 4, IDp + i * kb * 8, kb);
      kern.heap_reorder(isMax, nq, k, HDp, HIp);
      distances.set(new Float32Array(buf, HDp, nq * k), b0 * k);
      labels.set(new BigInt64Array(buf, HIp, nq * k), b0 * k);
    }
    return { distances, labels };
  }

  /** Copies the codes of the given labels from the storage of `ref` into out (a zero code where a label is -1). */
  private gatherCodes(ref: IndexFlatCodes, ids: BigInt64Array, out: Uint8Array): void {
    const cs = ref.codeSize;
    const segs = ref.segments;
    const views = segs.map((s) => new Uint8Array(s.memory.buffer, s.dataOffset, s.count * cs));
    const ntotal = BigInt(ref.ntotal);
    for (let e = 0; e < ids.length; e++) {
      const id = ids[e]!;
      if (id < 0n) {
        out.fill(0, e * cs, (e + 1) * cs); // its distance is not used
        continue;
      }
      if (id >= ntotal) throw this.badLabel(id);
      let local = Number(id);
      let s = 0;
      while (local >= segs[s]!.count) local -= segs[s++]!.count;
      out.set(views[s]!.subarray(local * cs, (local + 1) * cs), e * cs);
    }
  }

  /** The refinement index's vectors of the given labels (zeros where a label is -1), labels.length*d floats. */
  private decodeCandidates(ids: BigInt64Array): Float32Array {
    const ref = this.refineIndex;
    const d = this.d;
    if (ref instanceof IndexFlatCodes) {
      const codes = new Uint8Array(ids.length * ref.codeSize);
      this.gatherCodes(ref, ids, codes);
      return ref.saDecode(codes);
    }
    const out = new Float32Array(ids.length * d);
    const ntotal = BigInt(ref.ntotal);
    for (let e = 0; e < ids.length; e++) {
      const id = ids[e]!;
      if (id < 0n) continue;
      if (id >= ntotal) throw this.badLabel(id);
      out.set(ref.reconstruct(Number(id)), e * d);
    }
    return out;
  }

  private badLabel(id: bigint): InvalidArgumentError {
    return new InvalidArgumentError('baseIndex', `returned label ${id}, but the refinement index holds ${this.refineIndex.ntotal} vectors: both must number the same vectors 0..ntotal-1`);
  }

  private badLabels(count: number): InvalidArgumentError {
    return new InvalidArgumentError('baseIndex', `returned ${count} labels >= ntotal = ${this.refineIndex.ntotal} of the refinement index: both must number the same vectors 0..ntotal-1 (an IndexIDMap goes outside the refinement: "X,RFlat,IDMap")`);
  }

  private workMemory(bytes: number): WebAssembly.Memory {
    if (this.work === undefined || this.work.buffer.byteLength < bytes) {
      const pages = Math.ceil(bytes / PAGE);
      this.work = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    }
    return this.work;
  }

  /** Vector `key`, from the refinement index (Faiss: reconstruct is routed to the refine_index). */
  override reconstruct(key: number): Float32Array {
    return this.refineIndex.reconstruct(key);
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.refineIndex.reconstructN(i0, n);
  }

  /**
   * Removes the selected vectors from both indexes. Only where both renumber the remaining vectors
   * the same way: both store vectors in order (IndexFlatCodes: Flat, SQ, PQ), so that a base label
   * stays a position in the refinement index. An IVF base keeps the ids of the remaining vectors
   * while a flat refinement index moves them down: NotSupportedError.
   */
  override removeIds(selector: IDSelectorLike): number {
    if (!(this.baseIndex instanceof IndexFlatCodes) || !(this.refineIndex instanceof IndexFlatCodes)) {
      throw new NotSupportedError(
        `${this.typeName} over a ${this.baseIndex.typeName} base and a ${this.refineIndex.typeName} refinement index`,
        'removeIds',
        'both indexes must renumber the remaining vectors the same way (both IndexFlat, IndexPQ or IndexScalarQuantizer); rebuild the index without the vectors instead',
      );
    }
    const removed = this.baseIndex.removeIds(selector);
    const again = this.refineIndex.removeIds(selector);
    if (again !== removed) throw new Error(`IndexRefine.removeIds: the base index removed ${removed} vectors, the refinement index ${again}`);
    this.ntotal = this.refineIndex.ntotal;
    return removed;
  }

  /** Removes every vector from both indexes. */
  override reset(): void {
    this.baseIndex.reset();
    this.refineIndex.reset();
    this.ntotal = 0;
  }

  override dispose(): void {
    if (this.ownFields) this.baseIndex.dispose();
    if (this.ownRefineIndex) this.refineIndex.dispose();
    this.work = undefined;
    this.ntotal = 0;
  }
}

/**
 * kFactor (or kFactorRf, Faiss ParameterSpace's k_factor_rf) and the base index's parameters: the
 * baseIndexParams, or else the other keys (as Faiss's ParameterSpace passes them on to the base index:
 * `{ nprobe: 16, kFactor: 4 }` works as well as `{ kFactor: 4, baseIndexParams: { nprobe: 16 } }`).
 */
function splitParams(params: SearchParametersRefine | undefined): { kFactor: number | undefined; baseParams: SearchParameters | undefined } {
  if (params === undefined || params === null) return { kFactor: undefined, baseParams: undefined };
  if (typeof params !== 'object') throw new InvalidTypeError('params', 'an object { kFactor?, baseIndexParams? }', params);
  const { kFactor, kFactorRf, baseIndexParams, ...rest } = params as SearchParametersRefine & { kFactorRf?: number };
  const flat = Object.keys(rest).length > 0 ? (rest as SearchParameters) : undefined;
  if (baseIndexParams !== undefined && flat !== undefined) {
    throw new InvalidArgumentError(`params.${Object.keys(rest)[0]}`, 'is given beside baseIndexParams: put the base index\'s parameters in baseIndexParams only');
  }
  return { kFactor: kFactor ?? kFactorRf, baseParams: baseIndexParams ?? flat };
}

/**
 * Faiss's IndexRefineFlat: IndexRefine whose refinement index is an IndexFlat of the same vectors
 * (exact distances). Factory: `...,RFlat`.
 */
export class IndexRefineFlat extends IndexRefine {
  /**
   * @param baseIndex the base index; empty, unless `xb` is given
   * @param xb the base index's ntotal vectors (at least ntotal*d floats), copied into the flat
   *   refinement index (Faiss's IndexRefineFlat(base_index, xb)); or the refinement IndexFlat itself,
   *   holding the base's vectors (what readers of index files pass)
   */
  constructor(baseIndex: Index, xb?: Float32Array | IndexFlat) {
    if (!(baseIndex instanceof Index)) throw new InvalidTypeError('baseIndex', 'an Index', baseIndex);
    super(baseIndex, IndexRefineFlat.makeRefineIndex(baseIndex, xb));
    this.isTrained = baseIndex.isTrained;
  }

  private static makeRefineIndex(baseIndex: Index, xb: Float32Array | IndexFlat | undefined): IndexFlat {
    if (xb instanceof IndexFlat) return xb;
    const { d, ntotal } = baseIndex;
    if (xb === undefined) {
      if (ntotal !== 0) {
        throw new InvalidArgumentError('baseIndex', `holds ${ntotal} vectors: it must be empty, or give its vectors as xb (IndexRefineFlat(baseIndex, xb))`);
      }
      return new IndexFlat(d, baseIndex.metricType);
    }
    if (!(xb instanceof Float32Array)) throw new InvalidTypeError('xb', `a Float32Array of the base index's ${ntotal}*${d} floats`, xb);
    if (xb.length < ntotal * d) {
      throw new InvalidArgumentError('xb', `holds ${xb.length} floats, fewer than the base index's ntotal*d = ${ntotal}*${d}`);
    }
    const flat = new IndexFlat(d, baseIndex.metricType);
    flat.add(xb.subarray(0, ntotal * d));
    return flat;
  }
}
