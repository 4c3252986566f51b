/**
 * @module indexes/hnsw/HNSW
 * Faiss's HNSW graph (faiss/impl/HNSW.cpp), with Faiss's parameters and arrays:
 *   M                      2M neighbours per node on level 0, M on each upper level
 *   levelMult              1 / ln(M)
 *   assignProbas           probability that a node's top level is 0, 1, 2, ... (Faiss's assign_probas)
 *   cumNneighborPerLevel   [0, 2M, 3M, 4M, ...] (cum_nneighbor_per_level)
 *   levels                 number of levels of each node (its top level + 1)
 *   offsets, neighbors     every node's lists, level 0 first, -1 padded (Faiss's layout, built on demand)
 *   entryPoint, maxLevel   the node the searches start from and its level
 *   efConstruction (40), efSearch (16), upperBeam (1)
 * Levels are drawn as Faiss draws them (mt19937 seeded 12345), and a batch is inserted in Faiss's
 * order (by decreasing level, each level shuffled with mt19937 seeded 789), so that a graph built
 * here has the same levels as Faiss's and the same shape.
 *
 * Where the work happens: the vectors and the graph live in one shared WebAssembly memory
 * (storage/HNSWSegment, level-0 lists at a fixed stride of 2M), and the search loop and the
 * insertion of a node run inside WebAssembly (assembly/hnsw.ts: greedy descent, beam search, the
 * neighbour heuristic, add_link). This module keeps the parameters, draws the levels, lays out and
 * grows the memory, orders the insertions and spreads batches over threads (search/hnswSearch).
 *
 * Storage: the memory holds float vectors (IndexHNSWFlat), or SQ / PQ codes with the quantizer's
 * tables (IndexHNSWSQ, IndexHNSWPQ: `storage` at construction, `setStorageTables` once trained);
 * the distance computers over codes are Faiss's (assembly/hnswStorage.ts). Over codes, `add` also
 * takes the float vectors the codes came from: the queries of the insertion searches, as in Faiss.
 *
 * No 4 GiB ceiling: one memory holds at most 4 GiB, about 4.6 million vectors and their graph at
 * d = 128, M = 32, 766 thousand at d = 1280. When an add would go past that, the float vectors move
 * out to vector segments (storage/HNSWVectorSegments: shared memories of up to 4 GiB each, as many as
 * needed) and the graph's memory keeps only the graph, 10 million nodes at M = 32 (HNSW.maxVectors);
 * the kernels then compute distances through the segments' instances. storeVectorsInSegments does
 * the move at any time (with smaller segments if asked). Graphs over SQ / PQ codes stay in one
 * memory (a code is d bytes or less: about 2.5 million 1280-d vectors in SQ8).
 *
 * Threads: batch searches use every thread of the pool, each in its own scratch slot and visited
 * table. Insertion runs on several threads like Faiss's (per-node locks, Atomics in the shared
 * memory) for levels with more than 100 new nodes; with one thread (setNumThreads(1)) a build is
 * deterministic and equal to the reference (kernels/referenceHNSW).
 */
import { RandomGenerator } from '../../clustering/Clustering.js';
import { emptyResult, type SearchResult } from '../../Index.js';
import { InvalidArgumentError, describeValue } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { hnswSearchReference, type HNSWGraphArrays } from '../../kernels/referenceHNSW.js';
import { pqStorageReference, sqStorageReference, type HNSWStorageReference } from '../../kernels/referenceHNSWStorage.js';
import { hnswAddRange, hnswSearchRange, searchScratch, type HNSWAddTask, type HNSWSearchTask } from '../../search/hnswSearch.js';
import { FLAT_STORAGE, HNSWSegment, HNSW_SLOT_BYTES, SPLIT_STORAGE, StorageKind, type HNSWSpec, type HNSWStorageSpec } from '../../storage/HNSWSegment.js';
import { HNSWVectorSegments } from '../../storage/HNSWVectorSegments.js';
import { MAX_MEMORY_BYTES } from '../../storage/Segment.js';
import { forgetDropped, getNumThreads, parallelFor } from '../../threads/pool.js';

/** Nodes the first memory of a graph holds. */
const MIN_CAPACITY = 1024;
/** Faiss inserts the nodes of one level on several threads only when there are more than 100. */
const PARALLEL_ADD_THRESHOLD = 100;
const MIN_NODES_PER_THREAD = 16;
/** Queries per thread below which a batch stays on the calling thread. */
const MIN_QUERIES_PER_THREAD = 4;

function checkEf(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, `must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

export class HNSW {
  readonly d: number;
  readonly M: number;
  readonly metricType: MetricType;
  /** Bytes per stored vector in the graph's memory: d*4 for float vectors, else the code size. */
  readonly codeSize: number;
  /** What the memory stores besides the graph: float vectors, or SQ / PQ codes and their tables. */
  readonly storage: HNSWStorageSpec;
  /** Faiss's levelMult: 1 / ln(M). */
  readonly levelMult: number;
  /** Faiss's assign_probas: the probability that a node's top level is 0, 1, 2, ... */
  readonly assignProbas: number[] = [];
  /** Faiss's cum_nneighbor_per_level: where the list of each level starts in a node's block. */
  readonly cumNneighborPerLevel: number[] = [];
  /** The node searches start from (-1 while the graph is empty). */
  entryPoint = -1;
  /** The top level of the entry point (-1 while the graph is empty). */
  maxLevel = -1;
  /** Faiss's upper_beam; only 1 (greedy descent) is implemented. Kept for the file format. */
  upperBeam = 1;
  /** Nodes in the graph. */
  ntotal = 0;
  private efConstruction_ = 40;
  private efSearch_ = 16;
  private readonly rng = new RandomGenerator(12345);
  private seg: HNSWSegment | undefined;
  /** int32 entries of upper-level lists in use. */
  private upperUsed = 0;
  /** The quantizer's tables (storage.auxBytes bytes), written into every memory of the graph. */
  private aux: Uint8Array | undefined;
  /** Flat storage: the float vectors, when they are outside the graph's memory. */
  private vectors: HNSWVectorSegments | undefined;
  /** Vectors per segment that storeVectorsInSegments asked for (kept across reset). */
  private vectorsPerSegment: number | undefined;

  /**
   * @param storage for SQ / PQ codes: the storage's layout and its codeSize (default: flat float
   *   vectors, codeSize d*4).
   */
  constructor(d: number, M = 32, metricType: MetricType = MetricType.L2, storage?: { spec: HNSWStorageSpec; codeSize: number }) {
    if (typeof M !== 'number' || !Number.isInteger(M) || M < 2) {
      throw new InvalidArgumentError('M', `must be an integer >= 2 (neighbours per node on upper levels), got ${describeValue(M)}`);
    }
    if (M > 4096) throw new InvalidArgumentError('M', `is ${M}; at most 4096 is supported`);
    this.d = d;
    this.M = M;
    this.metricType = metricType;
    this.codeSize = storage?.codeSize ?? d * 4;
    this.storage = storage?.spec ?? FLAT_STORAGE;
    this.levelMult = 1 / Math.log(M);
    this.setDefaultProbas(M, this.levelMult);
    if (this.storage.qareaBytes > HNSW_SLOT_BYTES / 2) {
      throw new InvalidArgumentError('storage', `needs ${this.storage.qareaBytes} bytes of query tables per thread, more than the ${HNSW_SLOT_BYTES / 2} a scratch slot spares`);
    }
  }

  /** Whether the memory holds SQ / PQ codes (rather than float vectors). */
  get quantized(): boolean {
    return this.storage.kind !== StorageKind.FLAT;
  }

  /**
   * Sets the quantizer's tables (storage.auxBytes bytes; layout in storage/HNSWSegment), after
   * training or reading; a graph over codes cannot add or search before.
   */
  setStorageTables(aux: Uint8Array): void {
    if (!(aux instanceof Uint8Array) || aux.length !== this.storage.auxBytes) {
      throw new InvalidArgumentError('aux', `must be a Uint8Array of ${this.storage.auxBytes} bytes (the storage's tables)`);
    }
    this.aux = aux.slice();
    this.seg?.setAux(this.aux);
  }

  /** Beam width of the insertion searches (Faiss's efConstruction, default 40). */
  get efConstruction(): number {
    return this.efConstruction_;
  }
  set efConstruction(v: number) {
    this.efConstruction_ = checkEf(v, 'efConstruction');
  }

  /** Default beam width of searches (Faiss's efSearch, default 16); raised to k when smaller. */
  get efSearch(): number {
    return this.efSearch_;
  }
  set efSearch(v: number) {
    this.efSearch_ = checkEf(v, 'efSearch');
  }

  // ---- levels ------------------------------------------------------------------------------------

  /** Faiss's set_default_probas: level l has probability exp(-l/levelMult)(1 - exp(-1/levelMult)). */
  private setDefaultProbas(M: number, levelMult: number): void {
    const lm = Math.fround(levelMult);
    let nn = 0;
    this.cumNneighborPerLevel.push(0);
    for (let level = 0; ; level++) {
      const proba = Math.fround(Math.exp(Math.fround(-level / lm)) * (1 - Math.exp(Math.fround(-1 / lm))));
      if (proba < 1e-9) break;
      this.assignProbas.push(proba);
      nn += level === 0 ? M * 2 : M;
      this.cumNneighborPerLevel.push(nn);
    }
  }

  /** Neighbours per node on `level` (Faiss's nb_neighbors). */
  nbNeighbors(level: number): number {
    return this.cumNneighborPerLevel[level + 1]! - this.cumNneighborPerLevel[level]!;
  }

  /** Faiss's random_level: the top level of a new node. */
  randomLevel(): number {
    let f = this.rng.randFloat();
    for (let level = 0; level < this.assignProbas.length; level++) {
      if (f < this.assignProbas[level]!) return level;
      f -= this.assignProbas[level]!;
    }
    return this.assignProbas.length - 1;
  }

  // ---- memory ------------------------------------------------------------------------------------

  private get spec(): HNSWSpec {
    if (this.vectors !== undefined) {
      return { d: this.d, M: this.M, codeSize: this.codeSize, metric: this.metricType, storage: SPLIT_STORAGE, vectors: this.vectors.layout };
    }
    return { d: this.d, M: this.M, codeSize: this.codeSize, metric: this.metricType, storage: this.storage };
  }

  /** The layout of the graph's memory at its largest: without the vectors for flat storage. */
  private get limitSpec(): HNSWSpec {
    return this.quantized ? this.spec : { d: this.d, M: this.M, codeSize: this.codeSize, metric: this.metricType, storage: SPLIT_STORAGE };
  }

  /** Whether the float vectors are in vector segments, outside the graph's memory. */
  get vectorsInSegments(): boolean {
    return this.vectors !== undefined;
  }

  /** The vector segments' memories (empty while the vectors are in the graph's memory). */
  get vectorMemories(): readonly WebAssembly.Memory[] {
    return this.vectors?.memories ?? [];
  }

  /**
   * Moves the float vectors out of the graph's memory into vector segments of `perSegment` vectors
   * (default: as many as a 4 GiB memory holds), where they stay, also after reset. An add does this
   * by itself when the graph and its vectors would no longer fit in one memory; smaller segments are
   * for tests and for spreading a large index over many memories. Searches and graphs built are the
   * same either way; distances to vectors in segments cost a call between instances.
   */
  storeVectorsInSegments(perSegment?: number): void {
    if (this.quantized) throw new InvalidArgumentError('storage', 'holds SQ / PQ codes: only float vectors (IndexHNSWFlat) go to vector segments');
    if (perSegment !== undefined && (!Number.isInteger(perSegment) || perSegment < 1)) {
      throw new InvalidArgumentError('perSegment', `must be a positive integer, got ${describeValue(perSegment)}`);
    }
    const vectors = new HNSWVectorSegments(this.d, perSegment);
    const n = this.ntotal;
    vectors.ensure(Math.max(n, 1));
    // copy in chunks: a large graph's vectors need not fit in one typed array
    const chunk = Math.max(1, Math.floor((64 << 20) / (this.d * 4)));
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const m = Math.min(chunk, n - i0);
      vectors.write(i0, this.readVectors(i0, m));
    }
    const old = this.seg;
    const oldVectors = this.vectors;
    this.vectors = vectors;
    this.vectorsPerSegment = perSegment ?? vectors.perSegment;
    if (old !== undefined) {
      const seg = new HNSWSegment(this.spec, old.capacity, old.upperCapacity);
      seg.copyFrom(old, n, this.upperUsed);
      this.seg = seg;
      this.syncState();
    }
    const before = [...(old ? [old.memory] : []), ...(oldVectors?.memories ?? [])];
    forgetDropped(before, [...(this.seg ? [this.seg.memory] : []), ...vectors.memories]);
  }

  /** Float vectors i0 .. i0+n-1 of flat storage, wherever they are. */
  private readVectors(i0: number, n: number): Float32Array {
    if (this.vectors !== undefined) return this.vectors.read(i0, n);
    const bytes = this.seg!.codesView(i0 + n).slice(i0 * this.codeSize);
    return new Float32Array(bytes.buffer, 0, n * this.d);
  }

  /** Writes the codes (or, flat, the floats) of nodes n0 .. (the caller made room). */
  private writeCodes(n0: number, codes: Uint8Array | Float32Array): void {
    const n = codes.byteLength / this.codeSize;
    if (this.vectors === undefined) {
      const bytes = codes instanceof Uint8Array ? codes : new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength);
      this.seg!.codesView(n0 + n).set(bytes, n0 * this.codeSize);
      return;
    }
    const floats =
      codes instanceof Float32Array ? codes
      : codes.byteOffset % 4 === 0 ? new Float32Array(codes.buffer, codes.byteOffset, codes.length / 4)
      : new Float32Array(codes.slice().buffer);
    this.vectors.write(n0, floats);
  }

  /** Expected int32 entries of upper-level lists for n nodes (n/(M-1) upper levels of M entries). */
  private upperFor(n: number): number {
    return Math.ceil((n * this.M * 1.25) / (this.M - 1)) + 16 * this.M;
  }

  /**
   * About how many nodes the graph can have at this d, M and code size: the graph and its codes in
   * one memory (SQ / PQ); for float vectors, the graph alone (the vectors go to segments).
   */
  get maxVectors(): number {
    const spec = this.limitSpec;
    const fixed = HNSWSegment.bytesFor(spec, 0, 0);
    const per = HNSWSegment.bytesFor(spec, 1 << 20, this.upperFor(1 << 20)) - fixed;
    return Math.floor(((MAX_MEMORY_BYTES - fixed) / per) * (1 << 20));
  }

  /** Makes room for `nodes` nodes and `upper` upper-list entries, doubling the capacity when it grows. */
  private ensureCapacity(nodes: number, upper: number): void {
    const old = this.seg;
    if (old !== undefined && nodes <= old.capacity && upper <= old.upperCapacity) {
      // new vector segments need nothing more: each thread places them in its table when it binds
      this.vectors?.ensure(nodes);
      return;
    }
    const fits = (c: number, u: number): boolean => HNSWSegment.bytesFor(this.spec, c, u) <= MAX_MEMORY_BYTES;
    let cap = Math.max(nodes, old === undefined ? MIN_CAPACITY : nodes <= old.capacity ? old.capacity : old.capacity * 2);
    let ucap = Math.max(upper, this.upperFor(cap));
    if (!fits(cap, ucap)) {
      cap = nodes;
      ucap = Math.max(upper, Math.min(this.upperFor(cap), upper + 64 * this.M));
    }
    if (!fits(cap, ucap)) {
      if (this.quantized || this.vectors !== undefined) throw this.tooLarge(nodes);
      // float vectors: out of the graph's memory, into vector segments
      this.storeVectorsInSegments();
      this.ensureCapacity(nodes, upper);
      return;
    }
    this.vectors?.ensure(nodes);
    const seg = new HNSWSegment(this.spec, cap, ucap);
    if (this.aux !== undefined) seg.setAux(this.aux);
    if (old !== undefined) {
      seg.copyFrom(old, this.ntotal, this.upperUsed);
      forgetDropped([old.memory], [seg.memory]);
    }
    this.seg = seg;
    this.syncState();
  }

  private tooLarge(nodes: number): InvalidArgumentError {
    return new InvalidArgumentError(
      'x',
      this.quantized
        ? `would bring the HNSW index to ${nodes} vectors: a graph over SQ / PQ codes keeps its codes and graph in one WebAssembly memory of at most 4 GiB, ` +
            `about ${this.maxVectors} vectors at d = ${this.d}, M = ${this.M}`
        : `would bring the HNSW index to ${nodes} vectors: the graph's memory (at most 4 GiB) holds about ${this.maxVectors} nodes at M = ${this.M}`,
    );
  }

  /** Writes entry point, max level and efConstruction where the kernels read them. */
  private syncState(): void {
    this.seg?.setState(this.entryPoint, this.maxLevel, this.efConstruction_);
  }

  // ---- add ---------------------------------------------------------------------------------------

  /**
   * Adds n nodes whose codes (n * codeSize bytes: the vectors, or their SQ / PQ codes) are given,
   * and links them into the graph (Faiss's IndexHNSW::add: prepare_level_tab then hnsw_add_vertices).
   * x: over codes, the n*d floats the codes were encoded from (the insertion searches' queries).
   */
  add(codes: Uint8Array | Float32Array, x?: Float32Array): void {
    if (codes instanceof Float32Array && this.quantized) throw new InvalidArgumentError('codes', 'must be the Uint8Array codes of the SQ / PQ storage');
    const n = codes.byteLength / this.codeSize;
    if (n === 0) return;
    if (this.quantized) {
      if (x === undefined || x.length !== n * this.d) {
        throw new InvalidArgumentError('x', `must hold the n * d = ${n * this.d} floats the codes were encoded from, got ${x === undefined ? 'none' : x.length}`);
      }
      if (this.aux === undefined) throw new InvalidArgumentError('codes', 'cannot be added before the storage tables are set (setStorageTables)');
    }
    const M = this.M;
    // refuse before drawing levels, so that a refused add leaves the graph as it was
    if (HNSWSegment.bytesFor(this.limitSpec, this.ntotal + n, this.upperUsed + Math.ceil((n * M) / (M - 1))) > MAX_MEMORY_BYTES) {
      throw this.tooLarge(this.ntotal + n);
    }
    this.checkScratch();
    const n0 = this.ntotal;
    const levels = new Int32Array(n);
    let upperNeeded = 0;
    for (let i = 0; i < n; i++) {
      levels[i] = this.randomLevel() + 1;
      upperNeeded += (levels[i]! - 1) * M;
    }
    this.ensureCapacity(n0 + n, this.upperUsed + upperNeeded);
    const seg = this.seg!;
    this.writeCodes(n0, codes);
    seg.levelsView(n0 + n).set(levels, n0);
    seg.level0View(n0 + n).fill(-1, n0 * 2 * M);
    const upoff = seg.upoffView(n0 + n);
    for (let i = 0; i < n; i++) {
      upoff[n0 + i] = this.upperUsed;
      this.upperUsed += (levels[i]! - 1) * M;
    }
    seg.upperView(this.upperUsed).fill(-1, upoff[n0]!);
    this.ntotal = n0 + n;
    this.addVertices(n0, levels, this.quantized ? x : undefined);
  }

  /** efConstruction must leave room in a scratch slot for the insertion buffers. */
  private checkScratch(): void {
    const efc = this.efConstruction_;
    const need = 64 + 2 * (efc * 4 + 16) + 6 * ((2 * this.M + 1) * 4 + 16) + 8 * (2 * efc + 2 * this.M + 64) + this.storage.qareaBytes;
    if (need > HNSW_SLOT_BYTES) {
      throw new InvalidArgumentError('efConstruction', `is ${efc}: too large for the ${HNSW_SLOT_BYTES}-byte scratch of an insertion at M = ${this.M}`);
    }
  }

  /**
   * Faiss's hnsw_add_vertices: the new nodes are inserted by decreasing level (insertionOrder); the
   * nodes of a level with more than 100 of them are shared among the pool's threads.
   */
  private addVertices(n0: number, levels: Int32Array, x: Float32Array | undefined): void {
    const order = insertionOrder(levels, n0);
    // the vectors travel to the threads only if some level is inserted in parallel
    const xs = x !== undefined && getNumThreads() > 1 && levels.length > PARALLEL_ADD_THRESHOLD ? toShared(x) : x;
    for (let i0 = 0; i0 < order.length; ) {
      const level = levels[order[i0]! - n0]! - 1;
      let i1 = i0 + 1;
      while (i1 < order.length && levels[order[i1]! - n0]! - 1 === level) i1++;
      this.insertLevel(order.subarray(i0, i1), level, xs, n0);
      i0 = i1;
    }
  }

  /** Inserts nodes whose top level is `level`, in order (x: over codes, the vectors of nodes n0 ..). */
  private insertLevel(order: Int32Array, level: number, x: Float32Array | undefined, n0: number): void {
    const seg = this.seg!;
    const vectors = this.vectors?.memories;
    const task = (o: Int32Array): HNSWAddTask =>
      x === undefined ? { memory: seg.memory, vectors, order: o } : { memory: seg.memory, vectors, order: o, x, n0, d: this.d };
    this.syncState();
    let s = 0;
    // the first node of the graph, and a node above the current top, change the entry point: alone
    while (s < order.length && (this.entryPoint < 0 || level > this.maxLevel)) {
      const pt = order[s++]!;
      if (this.entryPoint >= 0) hnswAddRange(task(order.subarray(s - 1, s)), 0, 1, 0);
      this.entryPoint = pt;
      this.maxLevel = level;
      this.syncState();
    }
    const rest = order.subarray(s);
    if (rest.length > PARALLEL_ADD_THRESHOLD && getNumThreads() > 1) {
      const shared = new Int32Array(new SharedArrayBuffer(rest.length * 4));
      shared.set(rest);
      parallelFor('hnsw.add', task(shared), rest.length, MIN_NODES_PER_THREAD);
    } else {
      hnswAddRange(task(rest), 0, rest.length, 0);
    }
  }

  // ---- search ------------------------------------------------------------------------------------

  /**
   * The k nearest nodes of each of the n queries in x (n*d floats): distances (L2, or inner
   * products for MetricType.INNER_PRODUCT) and labels, best first, padded as Faiss pads.
   * efSearch: the beam width, raised to k when smaller.
   */
  search(x: Float32Array, k: number, efSearch = this.efSearch_): SearchResult {
    const d = this.d;
    const n = x.length / d;
    const seg = this.seg;
    if (seg === undefined || this.ntotal === 0) return emptyResult(n, k, this.metricType);
    const ef = Math.max(checkEf(efSearch, 'efSearch'), k);
    const task: HNSWSearchTask = {
      memory: seg.memory,
      vectors: this.vectors?.memories,
      metric: this.metricType,
      d,
      k,
      ef,
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    if (searchScratch(d, k, ef, 0, this.storage.qareaBytes) === undefined) {
      // k or ef too large for a scratch slot: the TypeScript search
      const g = this.graphArrays();
      for (let i = 0; i < n; i++) {
        const r = hnswSearchReference(g, x, i * d, k, ef);
        task.distances.set(r.distances, i * k);
        task.labels.set(r.labels, i * k);
      }
      return { distances: task.distances, labels: task.labels };
    }
    if (n < 2 * MIN_QUERIES_PER_THREAD || getNumThreads() === 1) {
      hnswSearchRange(task, 0, n, 0);
      return { distances: task.distances, labels: task.labels };
    }
    const shared: HNSWSearchTask = {
      ...task,
      x: toShared(x),
      distances: new Float32Array(new SharedArrayBuffer(n * k * 4)),
      labels: new BigInt64Array(new SharedArrayBuffer(n * k * 8)),
    };
    parallelFor('hnsw.search', shared, n, MIN_QUERIES_PER_THREAD);
    task.distances.set(shared.distances);
    task.labels.set(shared.labels);
    return { distances: task.distances, labels: task.labels };
  }

  // ---- stored vectors ------------------------------------------------------------------------------

  /** Codes of nodes i0 .. i0+n-1 (a copy). */
  codes(i0: number, n: number): Uint8Array {
    if (n === 0 || this.seg === undefined) return new Uint8Array(0);
    if (this.vectors !== undefined) return new Uint8Array(this.vectors.read(i0, n).buffer);
    return this.seg.codesView(i0 + n).slice(i0 * this.codeSize);
  }

  // ---- Faiss's arrays ------------------------------------------------------------------------------

  /** Number of levels of each node (Faiss's levels), size ntotal. */
  get levels(): Int32Array {
    return this.seg ? this.seg.levelsView(this.ntotal).slice() : new Int32Array(0);
  }

  /** Faiss's offsets: node i's lists are neighbors[offsets[i] .. offsets[i+1]), size ntotal + 1. */
  get offsets(): Float64Array {
    const levels = this.levels;
    const out = new Float64Array(this.ntotal + 1);
    for (let i = 0; i < this.ntotal; i++) out[i + 1] = out[i]! + this.cumNneighborPerLevel[levels[i]!]!;
    return out;
  }

  /** Faiss's neighbors: each node's lists, level 0 first, -1 padded. */
  get neighbors(): Int32Array {
    const seg = this.seg;
    if (seg === undefined) return new Int32Array(0);
    const n = this.ntotal;
    const nb0 = 2 * this.M;
    const offsets = this.offsets;
    const out = new Int32Array(offsets[n]!);
    const level0 = seg.level0View(n);
    const upoff = seg.upoffView(n);
    const upper = seg.upperView(this.upperUsed);
    const levels = seg.levelsView(n);
    for (let i = 0; i < n; i++) {
      const o = offsets[i]!;
      out.set(level0.subarray(i * nb0, (i + 1) * nb0), o);
      const nu = (levels[i]! - 1) * this.M;
      if (nu > 0) out.set(upper.subarray(upoff[i]!, upoff[i]! + nu), o + nb0);
    }
    return out;
  }

  /** The neighbour list of `node` on `level` (-1 padded; a copy). */
  neighborsOf(node: number, level: number): Int32Array {
    const seg = this.seg!;
    if (level === 0) return seg.level0View(this.ntotal).slice(node * 2 * this.M, (node + 1) * 2 * this.M);
    const o = seg.upoffView(this.ntotal)[node]! + (level - 1) * this.M;
    return seg.upperView(this.upperUsed).slice(o, o + this.M);
  }

  /**
   * The graph in Faiss's layout with its vectors (flat storage) or its storage's distances (SQ / PQ
   * codes; vectors then empty), for the reference search.
   */
  graphArrays(): HNSWGraphArrays {
    const codes = this.codes(0, this.ntotal);
    if (this.quantized) {
      return {
        d: this.d,
        metric: this.metricType,
        cumNneighborPerLevel: this.cumNneighborPerLevel,
        levels: this.levels,
        offsets: this.offsets,
        neighbors: this.neighbors,
        entryPoint: this.entryPoint,
        maxLevel: this.maxLevel,
        vectors: new Float32Array(0),
        storage: this.storageReference(codes),
      };
    }
    return {
      d: this.d,
      metric: this.metricType,
      cumNneighborPerLevel: this.cumNneighborPerLevel,
      levels: this.levels,
      offsets: this.offsets,
      neighbors: this.neighbors,
      entryPoint: this.entryPoint,
      maxLevel: this.maxLevel,
      vectors: new Float32Array(codes.buffer, codes.byteOffset, codes.byteLength / 4),
    };
  }

  /** The reference distances of the codes (kernels/referenceHNSWStorage), from the storage's tables. */
  storageReference(codes: Uint8Array): HNSWStorageReference {
    const st = this.storage;
    const aux = this.aux;
    if (aux === undefined) throw new InvalidArgumentError('storage', 'has no tables yet (setStorageTables)');
    const floats = new Float32Array(aux.buffer, aux.byteOffset, aux.byteLength / 4);
    if (st.kind === StorageKind.SQ) return sqStorageReference(st.p0, this.metricType, this.d, floats, codes);
    const M = st.p0;
    const nbits = st.p1;
    const ksub = 1 << nbits;
    const dsub = this.d / M;
    // the kernels' transposed centroids, back to Faiss's layout
    const centroids = new Float32Array(this.d * ksub);
    for (let m = 0; m < M; m++) for (let j = 0; j < ksub; j++) for (let t = 0; t < dsub; t++) centroids[(m * ksub + j) * dsub + t] = floats[(m * dsub + t) * ksub + j]!;
    const sdc = floats.subarray(st.aux2Offset / 4, st.aux2Offset / 4 + M * ksub * ksub);
    return pqStorageReference(this.metricType, this.d, M, nbits, centroids, sdc, codes);
  }

  /**
   * Replaces the graph by one in Faiss's layout (what read_index finds in a file) over the given
   * codes (ntotal * codeSize bytes). Checks that the lists follow this graph's M (2M on level 0,
   * M above) and that every neighbour is a node.
   */
  setGraph(g: {
    levels: Int32Array;
    neighbors: Int32Array;
    offsets?: ArrayLike<number>;
    cumNneighborPerLevel?: ArrayLike<number>;
    assignProbas?: ArrayLike<number>;
    entryPoint: number;
    maxLevel: number;
    /** The codes, or for flat storage the floats. */
    codes: Uint8Array | Float32Array;
  }): void {
    const n = g.levels.length;
    const M = this.M;
    if (g.codes.byteLength !== n * this.codeSize || (g.codes instanceof Float32Array && this.quantized)) {
      throw new InvalidArgumentError('codes', `has ${g.codes.byteLength} bytes, expected ntotal * codeSize = ${n * this.codeSize}${this.quantized ? ' in a Uint8Array' : ''}`);
    }
    if (g.cumNneighborPerLevel !== undefined) {
      const c = g.cumNneighborPerLevel;
      for (let l = 0; l < c.length; l++) {
        if (c[l] !== (l === 0 ? 0 : 2 * M + (l - 1) * M)) {
          throw new InvalidArgumentError('cumNneighborPerLevel', `is [${Array.from(c).join(', ')}]: only Faiss's default (2M on level 0, M = ${M} above) is supported`);
        }
      }
      this.cumNneighborPerLevel.length = 0;
      this.cumNneighborPerLevel.push(...Array.from(c));
    }
    if (g.assignProbas !== undefined) {
      this.assignProbas.length = 0;
      this.assignProbas.push(...Array.from(g.assignProbas));
    }
    let total = 0;
    let upper = 0;
    for (let i = 0; i < n; i++) {
      const L = g.levels[i]!;
      if (!(L >= 1 && L < this.cumNneighborPerLevel.length)) throw new InvalidArgumentError('levels', `[${i}] is ${L}, expected 1 .. ${this.cumNneighborPerLevel.length - 1}`);
      if (g.offsets !== undefined && g.offsets[i] !== total) throw new InvalidArgumentError('offsets', `[${i}] is ${g.offsets[i]}, expected ${total} from the levels`);
      total += this.cumNneighborPerLevel[L]!;
      upper += (L - 1) * M;
    }
    if (g.neighbors.length !== total) throw new InvalidArgumentError('neighbors', `has ${g.neighbors.length} entries, expected ${total} from the levels`);
    for (let j = 0; j < total; j++) {
      const v = g.neighbors[j]!;
      if (v < -1 || v >= n) throw new InvalidArgumentError('neighbors', `[${j}] is ${v}, expected -1 .. ${n - 1}`);
    }
    if (n > 0 && !(g.entryPoint >= 0 && g.entryPoint < n && g.maxLevel === g.levels[g.entryPoint]! - 1)) {
      throw new InvalidArgumentError('entryPoint', `is ${g.entryPoint} (max level ${g.maxLevel}): expected a node whose top level is the max level`);
    }
    this.reset();
    if (n === 0) return;
    this.ensureCapacity(n, upper);
    const seg = this.seg!;
    this.writeCodes(0, g.codes);
    seg.levelsView(n).set(g.levels);
    const level0 = seg.level0View(n);
    const upoff = seg.upoffView(n);
    const up = seg.upperView(upper);
    const nb0 = 2 * M;
    let o = 0;
    for (let i = 0; i < n; i++) {
      level0.set(g.neighbors.subarray(o, o + nb0), i * nb0);
      const nu = (g.levels[i]! - 1) * M;
      upoff[i] = this.upperUsed;
      up.set(g.neighbors.subarray(o + nb0, o + nb0 + nu), this.upperUsed);
      this.upperUsed += nu;
      o += nb0 + nu;
    }
    this.ntotal = n;
    this.entryPoint = g.entryPoint;
    this.maxLevel = g.maxLevel;
    this.syncState();
  }

  // ---- lifecycle -------------------------------------------------------------------------------------

  /** Removes every node (Faiss's HNSW::reset; the level generator is not reseeded, as in Faiss). */
  reset(): void {
    forgetDropped([...(this.seg ? [this.seg.memory] : []), ...(this.vectors?.memories ?? [])], []);
    this.seg = undefined;
    this.vectors = this.vectorsPerSegment === undefined ? undefined : new HNSWVectorSegments(this.d, this.vectorsPerSegment);
    this.ntotal = 0;
    this.upperUsed = 0;
    this.entryPoint = -1;
    this.maxLevel = -1;
  }

  /** The shared memory holding vectors and graph (undefined while empty); for workers and tests. */
  get memory(): WebAssembly.Memory | undefined {
    return this.seg?.memory;
  }
}

/**
 * The order in which Faiss's hnsw_add_vertices inserts nodes n0 .. n0+n-1 whose level counts are
 * `levels` (size n): by decreasing level, the nodes of each level shuffled by mt19937 seeded 789
 * (a fresh generator for every add), as Faiss does to remove the bias of the data's order.
 */
export function insertionOrder(levels: Int32Array, n0: number): Int32Array {
  const n = levels.length;
  const hist: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = levels[i]! - 1;
    while (l >= hist.length) hist.push(0);
    hist[l]!++;
  }
  // bucket sort by level (level 0 first), as Faiss does
  const start = new Array<number>(hist.length + 1).fill(0);
  for (let l = 0; l < hist.length - 1; l++) start[l + 1] = start[l]! + hist[l]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[start[levels[i]! - 1]!++] = n0 + i;
  // Faiss walks the buckets from the top level down, shuffling each one
  const rng2 = new RandomGenerator(789);
  const out = new Int32Array(n);
  let o = 0;
  let i1 = n;
  for (let level = hist.length - 1; level >= 0; level--) {
    const i0 = i1 - hist[level]!;
    for (let j = i0; j < i1; j++) {
      const r = j + rng2.randInt(i1 - j);
      const t = order[j]!;
      order[j] = order[r]!;
      order[r] = t;
    }
    out.set(order.subarray(i0, i1), o);
    o += i1 - i0;
    i1 = i0;
  }
  return out;
}

function toShared(x: Float32Array): Float32Array {
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const s = new Float32Array(new SharedArrayBuffer(x.byteLength));
  s.set(x);
  return s;
}
