/**
 * @module IndexIVF
 * Faiss's IndexIVF: a coarse quantizer (any Index, usually IndexFlatL2 over nlist centroids found by
 * k-means) splits the space into nlist cells; each vector is stored, encoded, in the inverted list
 * of its cell; a search scans only the nprobe lists nearest to the query. Subclasses give the
 * encoding (flat floats, PQ, SQ, ...) and the name of their list scanner (search/ivfScan).
 *
 * Threads: batches of queries are split over the pool by query; one query with many probed codes is
 * split by probed list, each thread keeping its own top-k, merged at the end.
 */
import { Index, type RangeSearchResult, type SearchParameters, type SearchResult } from '../../Index.js';
import { IndexFlat } from '../IndexFlat.js';
import { InvalidArgumentError, InvalidTypeError, NotSupportedError, NotTrainedError } from '../../errors.js';
import { toIDSelector, type IDSelectorLike } from '../../IDSelector.js';
import { MetricType } from '../../MetricType.js';
import { Clustering, DEFAULT_CLUSTERING_PARAMETERS, randPerm, type ClusteringParameters } from '../../clustering/Clustering.js';
import { Heap } from '../../kernels/reference.js';
import { ArrayInvertedLists } from '../../invlists/ArrayInvertedLists.js';
import { DirectMap, DirectMapType, unpackList, unpackOffset } from '../../invlists/DirectMap.js';
import type { InvertedLists, ListTable } from '../../invlists/InvertedLists.js';
import { ivfSearchRange, type IvfSearchTask, type ScannerName } from '../../search/ivfScan.js';
import { byListChunk, ivfSearchByListRange, mergeInto, type IvfByListTask } from '../../search/ivfScanByList.js';
import { IvfPQMode } from '../../search/pqScan.js';
import { pqByListChunk, pqByListPrepare } from '../../search/pqScanByList.js';
import { forgetDropped, getNumThreads, parallelFor } from '../../threads/pool.js';
import { sharedF32, sharedI64, toSharedF32 as toShared, toSharedI32 } from '../../threads/shared.js';
import { checkIds, checkNonNegativeInt, checkPositiveInt, checkVectors } from '../../validate.js';
import type { SearchParametersHNSW } from '../hnsw/IndexHNSWFlat.js';

/** Per-call IVF knobs (Faiss's SearchParametersIVF). */
export interface SearchParametersIVF extends SearchParameters {
  /** Number of lists to scan; clamped to [1, nlist]. */
  nprobe?: number;
  /** Stop after scanning this many codes per query (0: no limit). */
  maxCodes?: number;
  /** Parameters of the coarse quantizer's search (Faiss's quantizer_params), e.g. `{ efSearch: 64 }` for an HNSW quantizer. */
  quantizerParams?: SearchParametersHNSW | SearchParameters;
  /**
   * Shorthand of `quantizerParams: { efSearch }` for an HNSW quantizer (what Faiss's ParameterSpace
   * does with "efSearch" on an IVF index); ignored when quantizerParams is given.
   */
  efSearch?: number;
}

/** Batches at least this large, whose probed lists serve this many queries on average, are searched list by list. */
const BY_LIST_MIN_QUERIES = 32;
const BY_LIST_MIN_SHARING = 4;
const MIN_QUERIES_PER_THREAD = 8;

export abstract class IndexIVF extends Index {
  /**
   * Bytes of codes one query must scan before its probed lists are split over threads (4 MiB: 8192
   * codes of 128 floats, 65536 PQ64 codes); below it the thread round-trip costs more than it saves.
   */
  static splitProbesMinBytes = 4 << 20;
  /** The coarse quantizer: assigns vectors to lists. */
  readonly quantizer: Index;
  readonly nlist: number;
  /** Lists scanned per query (default 1). */
  nprobe = 1;
  /** Codes scanned per query at most (0: no limit). */
  maxCodes = 0;
  /** Bytes per stored code. */
  readonly codeSize: number;
  invlists: InvertedLists;
  readonly directMap = new DirectMap();
  /** k-means parameters of the quantizer's training (Faiss's IVF default: 10 iterations). */
  cp: ClusteringParameters = { ...DEFAULT_CLUSTERING_PARAMETERS, niter: 10 };
  /** When set, k-means assigns through this index instead of the quantizer (Faiss's clustering_index). */
  clusteringIndex: Index | undefined;
  /**
   * How train() trains the quantizer (Faiss's quantizer_trains_alone): 0 (default) k-means assigns
   * through the quantizer itself, which ends up holding the centroids (right for IndexFlat); 1 the
   * quantizer's own train() (it must then hold nlist vectors); 2 k-means with an exact IndexFlatL2
   * (or clusteringIndex), then the centroids are added to the quantizer (what Faiss's index_factory
   * sets for an IndexHNSWFlat quantizer, `IVF4096_HNSW32`).
   */
  quantizerTrainsAlone: 0 | 1 | 2 = 0;
  /** Whether dispose() also disposes the quantizer (Faiss's own_fields). */
  ownFields = true;
  /** Progress of long operations: stage ('train', 'add'), done, total. */
  onProgress: ((stage: string, done: number, total: number) => void) | undefined;

  constructor(quantizer: Index, d: number, nlist: number, codeSize: number, metric: MetricType = MetricType.L2) {
    super(d, metric);
    if (!(quantizer instanceof Index)) throw new InvalidTypeError('quantizer', 'an Index (for example new IndexFlatL2(d))', quantizer);
    if (quantizer.d !== this.d) {
      throw new InvalidArgumentError('quantizer', `has dimension ${quantizer.d}, but the index has d = ${this.d}`);
    }
    this.nlist = checkPositiveInt(nlist, 'nlist');
    this.quantizer = quantizer;
    this.codeSize = codeSize;
    this.invlists = new ArrayInvertedLists(this.nlist, codeSize);
    this.isTrained = quantizer.isTrained && quantizer.ntotal === this.nlist;
  }

  /** Name of the list scanner of this encoding (search/ivfScan). */
  protected abstract get scannerName(): ScannerName;
  /** Codes of n vectors assigned to the given lists: n*codeSize bytes. */
  protected abstract encodeVectors(x: Float32Array, listNos: Int32Array): Uint8Array;
  /** Decodes one code of list listNo into out (d floats). */
  protected abstract decodeVector(code: Uint8Array, listNo: number, out: Float32Array): void;
  /** Trains the encoder once the quantizer is trained (Faiss's train_residual). */
  protected trainEncoder(x: Float32Array): void {
    void x;
  }
  /** Encoder-specific fields of the search task (the scanner's tables, ...), merged into every IvfSearchTask. */
  protected scanArgs(): Partial<IvfSearchTask> {
    return {};
  }

  // ---- training -----------------------------------------------------------------------------

  override train(x: Float32Array): void {
    const n = checkVectors(x, this.d);
    if (this.quantizer.isTrained && this.quantizer.ntotal === this.nlist) {
      if (this.verbose) console.error('IVF quantizer does not need training');
    } else if (this.quantizerTrainsAlone === 1) {
      if (this.verbose) console.error('IVF quantizer trains alone...');
      this.quantizer.train(x);
      if (this.quantizer.ntotal !== this.nlist) {
        throw new InvalidArgumentError('quantizer', `holds ${this.quantizer.ntotal} vectors after its own training (quantizerTrainsAlone = 1), expected nlist = ${this.nlist}`);
      }
    } else if (this.quantizerTrainsAlone === 2) {
      this.trainQuantizerApart(x, n);
    } else {
      if (n < this.nlist) {
        throw new InvalidArgumentError('x', `holds ${n} training vectors, fewer than nlist = ${this.nlist}: provide at least nlist (better 39 * nlist) vectors`);
      }
      if (this.verbose) console.error(`Training level-1 quantizer on ${n} vectors in ${this.d}D`);
      const clus = new Clustering(this.d, this.nlist, {
        ...this.cp,
        verbose: this.verbose || this.cp.verbose,
        onProgress: (it, niter) => this.onProgress?.('train', it + 1, niter),
      });
      this.quantizer.reset();
      if (this.clusteringIndex !== undefined) {
        clus.train(x, this.clusteringIndex);
        this.quantizer.add(clus.centroids);
      } else {
        clus.train(x, this.quantizer);
      }
      this.quantizer.isTrained = true;
    }
    this.trainEncoder(x);
    this.isTrained = true;
  }

  /**
   * Faiss's train_q1 with quantizer_trains_alone = 2: k-means with an exact L2 assignment index (or
   * clusteringIndex), then the centroids are added to the quantizer (trained on them first if it
   * needs training). Inner product only with spherical k-means (cp.spherical), where L2 and inner
   * product rank alike.
   */
  private trainQuantizerApart(x: Float32Array, n: number): void {
    if (this.metricType !== MetricType.L2 && !this.cp.spherical) {
      throw new InvalidArgumentError('cp', 'must set spherical = true to train an inner-product IVF whose quantizer trains apart (quantizerTrainsAlone = 2): its k-means runs in L2');
    }
    if (n < this.nlist) {
      throw new InvalidArgumentError('x', `holds ${n} training vectors, fewer than nlist = ${this.nlist}: provide at least nlist (better 39 * nlist) vectors`);
    }
    if (this.verbose) console.error(`Training L2 quantizer on ${n} vectors in ${this.d}D${this.clusteringIndex ? ' (user provided index)' : ''}`);
    const clus = new Clustering(this.d, this.nlist, {
      ...this.cp,
      verbose: this.verbose || this.cp.verbose,
      onProgress: (it, niter) => this.onProgress?.('train', it + 1, niter),
    });
    clus.train(x, this.clusteringIndex);
    if (this.verbose) console.error('Adding centroids to quantizer');
    if (!this.quantizer.isTrained) this.quantizer.train(clus.centroids);
    this.quantizer.add(clus.centroids);
  }

  /**
   * Faiss's subsampling of an encoder's training set (train_residual): at most nmax of the vectors of
   * x, a seeded random subset, or x itself when it is small enough.
   */
  protected subsampleTrainingSet(x: Float32Array, nmax: number, seed: number): Float32Array {
    const d = this.d;
    const n = x.length / d;
    if (n <= nmax) return x;
    if (this.verbose) console.error(`  Input training set too large, sampling ${nmax} / ${n} vectors`);
    const perm = randPerm(n, seed);
    const xs = new Float32Array(nmax * d);
    for (let i = 0; i < nmax; i++) xs.set(x.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
    return xs;
  }

  // ---- adding -------------------------------------------------------------------------------

  /**
   * The residuals that by-residual encoders code: out[i] = x_i - centroid(lists[i]), zeros where
   * lists[i] < 0 (n*d floats). A flat quantizer computes them in WebAssembly, where its centroids
   * are (computeResidualN); another from `centroids`, the subclass's cached nlist*d floats.
   */
  protected residualsOf(x: Float32Array, lists: Int32Array, out: Float32Array, centroids: () => Float32Array): Float32Array {
    if (this.quantizer instanceof IndexFlat) return this.quantizer.computeResidualN(x, lists, out);
    const d = this.d;
    const c = centroids();
    for (let i = 0; i < lists.length; i++) {
      const l = lists[i]!;
      const o = i * d;
      if (l < 0) {
        out.fill(0, o, o + d);
        continue;
      }
      for (let j = 0; j < d; j++) out[o + j] = x[o + j]! - c[l * d + j]!;
    }
    return out;
  }

  /** The list of each vector: the nearest centroid (-1 where none, e.g. a NaN vector). */
  assignLists(x: Float32Array): Int32Array {
    const n = x.length / this.d;
    const { labels } = this.quantizer.search(x, 1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Number(labels[i]!);
    return out;
  }

  add(x: Float32Array): void {
    this.addCore(x, undefined);
  }

  override addWithIds(x: Float32Array, ids: BigInt64Array): void {
    this.addCore(x, ids);
  }

  private addCore(x: Float32Array, xids: BigInt64Array | undefined): void {
    const n = checkVectors(x, this.d);
    if (xids !== undefined) checkIds(xids, n);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'add');
    this.directMap.checkAdd(this.ntotal, n, xids);
    if (n === 0) return;
    // Assign everything first, so that each list is sized once for the whole add (no regrowth).
    const block = 65536;
    const lists = new Int32Array(n);
    for (let i0 = 0; i0 < n; i0 += block) {
      const i1 = Math.min(n, i0 + block);
      lists.set(this.assignLists(x.subarray(i0 * this.d, i1 * this.d)), i0);
      this.onProgress?.('assign', i1, n);
    }
    const sizes = new Uint32Array(this.nlist);
    for (let i = 0; i < n; i++) if (lists[i]! >= 0) sizes[lists[i]!]!++;
    this.invlists.prepareAdd(sizes);
    for (let i0 = 0; i0 < n; i0 += block) {
      const i1 = Math.min(n, i0 + block);
      const lb = lists.subarray(i0, i1);
      const codes = this.encodeVectors(x.subarray(i0 * this.d, i1 * this.d), lb);
      const ids = xids ? xids.subarray(i0, i1) : BigInt64Array.from({ length: i1 - i0 }, (_, i) => BigInt(this.ntotal + i));
      this.addPreassigned(lb, ids, codes);
      this.ntotal += i1 - i0;
      this.onProgress?.('add', i1, n);
    }
    const before = this.invlists.memories();
    this.invlists.compactIfWorthIt();
    forgetDropped(before, this.invlists.memories());
  }

  /** Appends encoded vectors to their lists (grouped by list, one write per list). */
  protected addPreassigned(lists: Int32Array, ids: BigInt64Array, codes: Uint8Array): void {
    const n = lists.length;
    const cs = this.codeSize;
    const sizes = new Uint32Array(this.nlist);
    for (let i = 0; i < n; i++) if (lists[i]! >= 0) sizes[lists[i]!]!++;
    this.invlists.prepareAdd(sizes);
    // counting sort of the vectors by list
    const start = new Uint32Array(this.nlist + 1);
    for (let l = 0; l < this.nlist; l++) start[l + 1] = start[l]! + sizes[l]!;
    const order = new Uint32Array(start[this.nlist]!);
    const fill = start.slice(0, this.nlist);
    for (let i = 0; i < n; i++) if (lists[i]! >= 0) order[fill[lists[i]!]!++] = i;
    for (let l = 0; l < this.nlist; l++) {
      const m = sizes[l]!;
      if (m === 0) continue;
      const lids = new BigInt64Array(m);
      const lcodes = new Uint8Array(m * cs);
      for (let j = 0; j < m; j++) {
        const i = order[start[l]! + j]!;
        lids[j] = ids[i]!;
        lcodes.set(codes.subarray(i * cs, (i + 1) * cs), j * cs);
      }
      const offset = this.appendToList(l, lids, lcodes);
      this.directMap.added(l, offset, lids);
    }
  }

  /** Appends encoded entries to list l; returns the offset of the first (FastScan packs them instead). */
  protected appendToList(l: number, ids: BigInt64Array, codes: Uint8Array): number {
    return this.invlists.addEntries(l, ids, codes);
  }

  // ---- search -------------------------------------------------------------------------------

  search(x: Float32Array, k: number, params?: SearchParametersIVF): SearchResult {
    this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const nprobe = this.effectiveNprobe(params);
    const coarse = this.coarseLists(x, nprobe, params);
    return this.searchPreassigned(x, k, coarse, nprobe, params);
  }

  /** Search with the probed lists already known (Faiss's search_preassigned). coarse: n*nprobe list numbers. */
  searchPreassigned(x: Float32Array, k: number, coarse: Int32Array, nprobe: number, params?: SearchParametersIVF): SearchResult {
    const n = x.length / this.d;
    const maxCodes = params?.maxCodes ?? this.maxCodes;
    checkNonNegativeInt(maxCodes, 'maxCodes');
    const d = this.d;
    const distances = new Float32Array(n * k);
    const labels = new BigInt64Array(n * k);
    // One run for lists in memory; on-disk lists are made resident a run of queries at a time.
    this.forEachResidentRun(coarse, nprobe, n, (lists, q0, q1) => {
      this.searchRun({
        metric: this.metricType,
        d,
        k,
        nprobe,
        maxCodes,
        scanner: this.scannerName,
        lists,
        x: x.subarray(q0 * d, q1 * d),
        coarse: coarse.subarray(q0 * nprobe, q1 * nprobe),
        distances: distances.subarray(q0 * k, q1 * k),
        labels: labels.subarray(q0 * k, q1 * k),
        ...this.scanArgs(),
      });
    });
    return { distances, labels };
  }

  /**
   * Calls body(lists, q0, q1) for runs [q0, q1) covering the n queries, `lists` valid for the lists
   * they probe (InvertedLists.prepareSearch).
   */
  protected forEachResidentRun(coarse: Int32Array, nprobe: number, n: number, body: (lists: ListTable, q0: number, q1: number) => void): void {
    for (let q0 = 0; ; ) {
      const { lists, q1 } = this.invlists.prepareSearch(coarse, nprobe, q0);
      if (q1 <= q0 && q0 < n) throw new Error(`prepareSearch covered no query from ${q0}`);
      body(lists, q0, Math.min(q1, n));
      if (q1 >= n) return;
      q0 = q1;
    }
  }

  /** Searches the queries of `task`, whose probed lists are all valid in task.lists. */
  private searchRun(task: IvfSearchTask): void {
    const { k, nprobe, maxCodes, x, coarse } = task;
    const n = x.length / this.d;
    const threads = getNumThreads();
    if (this.scansByList(task) && maxCodes === 0 && n >= BY_LIST_MIN_QUERIES && (n * nprobe) / this.nlist >= BY_LIST_MIN_SHARING) {
      this.searchByList(task, Math.min(threads, this.nlist));
    } else if (threads > 1 && n >= 2 * MIN_QUERIES_PER_THREAD) {
      const shared = { ...task, x: toShared(x), coarse: toSharedI32(coarse), distances: sharedF32(n * k), labels: sharedI64(n * k) };
      parallelFor('ivf.search', shared, n, MIN_QUERIES_PER_THREAD);
      task.distances.set(shared.distances);
      task.labels.set(shared.labels);
    } else if (threads > 1 && n < threads && nprobe >= 2 && this.probedCodes(task.lists.table, coarse, maxCodes) * this.codeSize >= IndexIVF.splitProbesMinBytes) {
      this.searchSplitProbes(task, Math.min(threads, nprobe));
    } else {
      ivfSearchRange(task, 0, n, 0);
    }
  }

  /**
   * Whether batches can be scanned list by list: flat and scalar-quantizer codes, but fp16 residuals
   * under inner product (whose per-list term <q, c> the blocked kernel does not add).
   */
  private scansByList(task: IvfSearchTask): boolean {
    if (this.scannerName === 'flat') return true;
    if (this.scannerName === 'pq') return task.pq?.mode === IvfPQMode.Precomputed;
    const sq = task.sq;
    return this.scannerName === 'sq' && sq !== undefined && !(sq.byResidual && sq.qtype === 4 && this.metricType !== MetricType.L2);
  }

  override rangeSearch(x: Float32Array, radius: number, params?: SearchParametersIVF): RangeSearchResult {
    void x;
    void radius;
    void params;
    throw new NotSupportedError(this.typeName, 'rangeSearch');
  }

  protected effectiveNprobe(params?: SearchParametersIVF): number {
    const nprobe = params?.nprobe ?? this.nprobe;
    checkPositiveInt(nprobe, 'nprobe');
    return Math.min(nprobe, this.nlist);
  }

  /** The nprobe nearest lists of each query, n*nprobe (-1 where fewer exist), through the quantizer (with params.quantizerParams). */
  protected coarseLists(x: Float32Array, nprobe: number, params?: SearchParametersIVF): Int32Array {
    const qp = params?.quantizerParams ?? (params?.efSearch !== undefined ? { efSearch: params.efSearch } : undefined);
    const { labels } = this.quantizer.search(x, nprobe, qp);
    const out = new Int32Array(labels.length);
    for (let i = 0; i < labels.length; i++) out[i] = Number(labels[i]!);
    return out;
  }

  private probedCodes(table: Uint32Array, coarse: Int32Array, maxCodes: number): number {
    let s = 0;
    for (const l of coarse) if (l >= 0) s += table[l * 4 + 3]!;
    return maxCodes > 0 ? Math.min(s, maxCodes) : s;
  }

  /**
   * A batch whose queries share lists: scan list by list, each list against all the queries that
   * probe it (search/ivfScanByList). Chunks of queries bound the heaps kept per thread.
   */
  private searchByList(task: IvfSearchTask, threads: number): void {
    const { k, nprobe } = task;
    const d = this.d;
    const n = task.x.length / d;
    const table = task.lists.table;
    const chunk = task.pq !== undefined ? pqByListChunk(k, nprobe) : byListChunk(k, d, nprobe);
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const nq = Math.min(chunk, n - c0);
      const coarse = task.coarse.subarray(c0 * nprobe, (c0 + nq) * nprobe);
      // the queries of each list (CSR)
      const queryStart = new Int32Array(this.nlist + 1);
      for (const l of coarse) if (l >= 0) queryStart[l + 1]!++;
      for (let l = 0; l < this.nlist; l++) queryStart[l + 1]! += queryStart[l]!;
      const fill = queryStart.slice(0, this.nlist);
      const queryOf = new Int32Array(queryStart[this.nlist]!);
      for (let i = 0; i < nq; i++) {
        for (let p = 0; p < nprobe; p++) {
          const l = coarse[i * nprobe + p]!;
          if (l >= 0) queryOf[fill[l]!++] = i;
        }
      }
      // deal the probed lists to threads, largest work first, to the least loaded
      const lists: number[] = [];
      for (let l = 0; l < this.nlist; l++) if (queryStart[l + 1]! > queryStart[l]! && table[l * 4 + 3]! > 0) lists.push(l);
      const work = (l: number): number => (queryStart[l + 1]! - queryStart[l]!) * table[l * 4 + 3]!;
      lists.sort((a, b) => work(b) - work(a));
      const parts = Math.max(1, Math.min(threads, lists.length));
      const load = new Float64Array(parts);
      const buckets: number[][] = Array.from({ length: parts }, () => []);
      for (const l of lists) {
        let t = 0;
        for (let u = 1; u < parts; u++) if (load[u]! < load[t]!) t = u;
        buckets[t]!.push(l);
        load[t]! += work(l);
      }
      const threadStart = new Int32Array(parts + 1);
      buckets.forEach((b, t) => (threadStart[t + 1] = threadStart[t]! + b.length));
      const byList: IvfByListTask = {
        metric: task.metric,
        d,
        k,
        lists: task.lists,
        x: task.x.subarray(c0 * d, (c0 + nq) * d),
        nq,
        threadStart,
        listOrder: Int32Array.from(buckets.flat()),
        queryStart,
        queryOf,
        distances: parts > 1 ? sharedF32(parts * nq * k) : new Float32Array(nq * k),
        labels: parts > 1 ? sharedI64(parts * nq * k) : new BigInt64Array(nq * k),
        ...(task.sq !== undefined ? { sq: task.sq } : {}),
        ...(task.pq !== undefined ? { pq: task.pq } : {}),
      };
      if (task.pq !== undefined) pqByListPrepare(task.pq, byList.x, nq, d);
      if (parts > 1) {
        parallelFor('ivf.searchByList', { ...byList, x: toShared(byList.x), threadStart: toSharedI32(threadStart), listOrder: toSharedI32(byList.listOrder), queryStart: toSharedI32(queryStart), queryOf: toSharedI32(queryOf) }, parts, 1);
        for (let t = 1; t < parts; t++) {
          mergeInto(byList.distances, byList.labels, byList.distances.subarray(t * nq * k, (t + 1) * nq * k), byList.labels.subarray(t * nq * k, (t + 1) * nq * k), nq, k, this.metricType === MetricType.L2);
        }
      } else {
        ivfSearchByListRange(byList, 0, 1, 0);
      }
      task.distances.set(byList.distances.subarray(0, nq * k), c0 * k);
      task.labels.set(byList.labels.subarray(0, nq * k), c0 * k);
    }
  }

  /** One query (or a few) over many lists: each thread scans a share of the probes, then merge. */
  private searchSplitProbes(task: IvfSearchTask, parts: number): void {
    const n = task.x.length / this.d;
    const k = task.k;
    const shared: IvfSearchTask = {
      ...task,
      maxCodes: 0,
      x: toShared(task.x),
      coarse: toSharedI32(task.coarse),
      distances: sharedF32(parts * n * k),
      labels: sharedI64(parts * n * k),
      splitProbes: { parts, nq: n },
    };
    parallelFor('ivf.search', shared, task.nprobe, 1);
    const isMax = this.metricType === MetricType.L2;
    for (let i = 0; i < n; i++) {
      const h = new Heap(k, isMax);
      for (let p = 0; p < parts; p++) {
        for (let j = 0; j < k; j++) {
          const o = (p * n + i) * k + j;
          if (shared.labels[o]! >= 0n) h.push(shared.distances[o]!, shared.labels[o]!);
        }
      }
      const r = h.reorder();
      task.distances.set(r.dis, i * k);
      task.labels.set(r.ids, i * k);
    }
  }

  // ---- reconstruction, removal, merging -----------------------------------------------------

  /** Builds (or drops) the id -> (list, offset) map that reconstruct(id) needs. */
  makeDirectMap(enable = true): void {
    this.setDirectMapType(enable ? DirectMapType.Array : DirectMapType.NoMap);
  }

  setDirectMapType(type: DirectMapType): void {
    this.directMap.set(type, this.invlists, this.ntotal);
  }

  override reconstruct(key: number | bigint): Float32Array {
    const lo = this.directMap.get(BigInt(key));
    return this.reconstructFromOffset(unpackList(lo), unpackOffset(lo));
  }

  /** Vectors with ids i0 .. i0+n-1, found by scanning the lists (no direct map needed, as Faiss). */
  override reconstructN(i0: number, n: number): Float32Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    const out = new Float32Array(n * this.d);
    const lo = BigInt(i0);
    const hi = BigInt(i0 + n);
    const cs = this.codeSize;
    for (let l = 0; l < this.nlist; l++) {
      const ids = this.invlists.getIds(l); // throws for lists that were not loaded (UnloadedInvertedLists)
      if (ids.length === 0) continue;
      const codes = this.invlists.getCodes(l);
      for (let o = 0; o < ids.length; o++) {
        const id = ids[o]!;
        if (id < lo || id >= hi) continue;
        this.decodeVector(codes.subarray(o * cs, (o + 1) * cs), l, out.subarray(Number(id - lo) * this.d, Number(id - lo + 1n) * this.d));
      }
    }
    return out;
  }

  /** The vector at (list, offset). */
  reconstructFromOffset(listNo: number, offset: number): Float32Array {
    const cs = this.codeSize;
    const out = new Float32Array(this.d);
    this.decodeVector(this.invlists.getCodes(listNo).subarray(offset * cs, (offset + 1) * cs), listNo, out);
    return out;
  }

  override removeIds(selector: IDSelectorLike): number {
    if (this.directMap.type === DirectMapType.Array) {
      throw new NotSupportedError(`${this.typeName} with a direct map of type Array`, 'removeIds', 'use setDirectMapType(DirectMapType.Hashtable)');
    }
    this.invlists.assertData('removing');
    const sel = toIDSelector(selector);
    const cs = this.codeSize;
    let removed = 0;
    for (let l = 0; l < this.nlist; l++) {
      let size = this.invlists.listSize(l);
      if (size === 0) continue;
      const ids = this.invlists.getIds(l);
      const codes = this.invlists.getCodes(l);
      let changed = false;
      // Faiss's order: a removed entry is replaced by the list's last entry
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
        this.invlists.resize(l, size);
        if (size > 0) this.invlists.updateEntries(l, 0, ids.subarray(0, size), codes.subarray(0, size * cs));
      }
    }
    this.ntotal -= removed;
    if (removed > 0 && this.directMap.type === DirectMapType.Hashtable) this.setDirectMapType(DirectMapType.Hashtable);
    return removed;
  }

  /**
   * Moves all of other's vectors into this index (ids shifted by addId); other is left empty.
   * Both must be the same type with the same quantizer (compared centroid by centroid).
   */
  mergeFrom(other: IndexIVF, addId: bigint = 0n): void {
    if (other.constructor !== this.constructor) {
      throw new InvalidArgumentError('other', `is a ${other.typeName}, expected a ${this.typeName} to merge`);
    }
    if (other.d !== this.d || other.nlist !== this.nlist || other.codeSize !== this.codeSize || other.metricType !== this.metricType) {
      throw new InvalidArgumentError('other', `has d = ${other.d}, nlist = ${other.nlist}, codeSize = ${other.codeSize}, metric ${other.metricType}; expected ${this.d}, ${this.nlist}, ${this.codeSize}, ${this.metricType}`);
    }
    if (this.directMap.type !== DirectMapType.NoMap || other.directMap.type !== DirectMapType.NoMap) {
      throw new NotSupportedError(this.typeName, 'mergeFrom with a direct map', 'drop it with makeDirectMap(false) first');
    }
    if (!sameQuantizer(this.quantizer, other.quantizer)) {
      throw new InvalidArgumentError('other', 'has a different coarse quantizer (its centroids differ): merge needs indexes trained together (or from the same trained index)');
    }
    this.checkCompatibleEncoder(other);
    this.invlists.mergeFrom(other.invlists, addId);
    this.ntotal += other.ntotal;
    other.ntotal = 0;
  }

  /** Subclasses with trained encoders check that other's encoder is the same. */
  protected checkCompatibleEncoder(other: IndexIVF): void {
    void other;
  }

  override reset(): void {
    const before = this.invlists.memories();
    this.invlists.reset();
    this.directMap.clear();
    this.ntotal = 0;
    forgetDropped(before, []);
  }

  override dispose(): void {
    const before = this.invlists.memories();
    this.invlists.dispose(); // not reset(): on-disk lists keep their data
    this.directMap.clear();
    this.ntotal = 0;
    forgetDropped(before, []);
    if (this.ownFields) this.quantizer.dispose();
  }

  /** Sizes of the lists (for stats and balance checks). */
  listSizes(): Uint32Array {
    const s = new Uint32Array(this.nlist);
    for (let l = 0; l < this.nlist; l++) s[l] = this.invlists.listSize(l);
    return s;
  }

  /** Faiss's imbalance factor of the lists: 1 when balanced. */
  imbalanceFactor(): number {
    return this.invlists.imbalanceFactor();
  }
}

function sameQuantizer(a: Index, b: Index): boolean {
  if (a === b) return true;
  if (a.ntotal !== b.ntotal || a.d !== b.d || a.metricType !== b.metricType) return false;
  const ca = a.reconstructN(0, a.ntotal);
  const cb = b.reconstructN(0, b.ntotal);
  for (let i = 0; i < ca.length; i++) if (ca[i] !== cb[i]) return false;
  return true;
}
