/**
 * @module quantizers/ProductQuantizer
 * Faiss's ProductQuantizer: a vector of d floats is cut into M sub-vectors of dsub = d / M floats,
 * and each sub-vector is replaced by the number of its nearest centroid among the ksub = 2^nbits of
 * its sub-quantizer; the code packs these M numbers, nbits each, into code_size = ceil(M*nbits/8)
 * bytes. Distances to a query are then sums of M look-ups in a table of M x ksub floats (asymmetric
 * distance computation), which is what IndexPQ and IndexIVFPQ scan (search/pqScan).
 *
 * - Training is Faiss's: one k-means (clustering/Clustering, Faiss's ClusteringParameters `cp`,
 *   default niter 25, at most 256 points per centroid, seed 1234) per sub-quantizer on its
 *   sub-vectors, assigning through an IndexFlatL2(dsub).
 * - Codes are Faiss's, bit for bit: the same nearest centroid (L2, the same float operations in the
 *   same order as Faiss's scalar code, the first one on ties) and the same bit packing
 *   (PQEncoderGeneric: sub-code m at bits [m*nbits, (m+1)*nbits), least significant bit first).
 * - `centroids` is Faiss's layout: sub-quantizer m, centroid j at (m*ksub + j)*dsub, M*ksub*dsub
 *   floats. The kernels read a transposed copy kept in a shared WebAssembly memory; it is refreshed
 *   when centroids are set through `centroids = ...`, `setParams` or `train`. After editing
 *   `centroids` in place, call `syncTransposedCentroids()` (Faiss's sync_transposed_centroids).
 *
 * FastScan (4-bit codes in SIMD registers) reuses this class: same training, same sub-codes, a
 * different code layout.
 */
import { FLT_MAX, type Index, type SearchResult } from '../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotSupportedError, NotTrainedError } from '../errors.js';
import { Clustering, DEFAULT_CLUSTERING_PARAMETERS, randPerm, type ClusteringParameters } from '../clustering/Clustering.js';
import { Heap } from '../kernels/reference.js';
import { pqEncodeRange, pqTables, writeTransposed, type PQEncodeTask, type PQKernelRef } from '../search/pqScan.js';
import { Segment } from '../storage/Segment.js';
import { forgetDropped, getNumThreads, parallelFor } from '../threads/pool.js';
import { checkPositiveInt, checkVectors, firstNonFinite, nonFiniteError } from '../validate.js';
import { SubQuantizerAssignIndex } from './SubQuantizerAssignIndex.js';

export { writeTransposed };

/** Vectors per thread below which encoding is not split over threads. */
const MIN_ENCODE_PER_THREAD = 256;

export class ProductQuantizer {
  /** Dimension of the vectors. */
  readonly d: number;
  /** Number of sub-quantizers. */
  readonly M: number;
  /** Bits per sub-code, 1..8. */
  readonly nbits: number;
  /** Dimension of a sub-vector: d / M. */
  readonly dsub: number;
  /** Centroids per sub-quantizer: 2^nbits. */
  readonly ksub: number;
  /** Bytes per code: ceil(M * nbits / 8). */
  readonly codeSize: number;
  /** k-means parameters of each sub-quantizer's training (Faiss's defaults). */
  cp: ClusteringParameters = { ...DEFAULT_CLUSTERING_PARAMETERS };
  /** Print training progress to stderr. */
  verbose = false;
  /** False until train() has run or centroids were set. */
  isTrained = false;
  /**
   * Receives the warning of training with fewer than 39 points per centroid (once per train());
   * default: printed to stderr.
   */
  onWarning: ((message: string) => void) | undefined;
  /**
   * The index that assigns training sub-vectors to centroids during k-means (Faiss's assign_index);
   * default: an exact L2 assignment kernel for small dimensions (SubQuantizerAssignIndex).
   */
  assignIndex: Index | undefined;
  /** Symmetric distance tables (M * ksub * ksub floats) once computeSdcTable() has run; empty before. */
  sdcTable: Float32Array = new Float32Array(0);

  private _centroids: Float32Array;
  private segment: Segment | undefined;
  private synced = false;
  private _version = 0;

  constructor(d: number, M: number, nbits = 8) {
    checkPositiveInt(d, 'd');
    checkPositiveInt(M, 'M');
    if (typeof nbits !== 'number' || !Number.isInteger(nbits) || nbits < 1 || nbits > 8) {
      throw new InvalidArgumentError('nbits', `must be an integer from 1 to 8 (bits per sub-quantizer index), got ${String(nbits)}`);
    }
    if (d % M !== 0) {
      throw new InvalidArgumentError('M', `= ${M} does not divide d = ${d}: the dimension of the vectors (d) should be a multiple of the number of sub-quantizers (M)`);
    }
    this.d = d;
    this.M = M;
    this.nbits = nbits;
    this.dsub = d / M;
    this.ksub = 1 << nbits;
    this.codeSize = Math.ceil((M * nbits) / 8);
    this._centroids = new Float32Array(d * this.ksub);
  }

  /** The centroids, M * ksub * dsub floats (Faiss's layout). Edits in place need syncTransposedCentroids(). */
  get centroids(): Float32Array {
    return this._centroids;
  }

  set centroids(c: Float32Array) {
    if (!(c instanceof Float32Array)) throw new InvalidTypeError('centroids', `a Float32Array of M*ksub*dsub = ${this.d * this.ksub} floats`, c);
    if (c.length !== this.d * this.ksub) {
      throw new InvalidArgumentError('centroids', `has length ${c.length}, expected M*ksub*dsub = ${this.M}*${this.ksub}*${this.dsub} = ${this.d * this.ksub}`);
    }
    this._centroids = Float32Array.from(c);
    this.syncTransposedCentroids();
    this.isTrained = true;
  }

  /** Increases whenever the centroids change (indexes rebuild their tables on a change). */
  get version(): number {
    return this._version;
  }

  /** Centroid j of sub-quantizer m: dsub floats (a view into centroids). */
  getCentroids(m: number, j: number): Float32Array {
    const o = (m * this.ksub + j) * this.dsub;
    return this._centroids.subarray(o, o + this.dsub);
  }

  /** Sets the ksub centroids of sub-quantizer m (ksub*dsub floats). Faiss's set_params. */
  setParams(centroids: Float32Array, m: number): void {
    const n = this.ksub * this.dsub;
    if (!(centroids instanceof Float32Array) || centroids.length !== n) {
      throw new InvalidArgumentError('centroids', `must be a Float32Array of ksub*dsub = ${n} floats, got ${centroids instanceof Float32Array ? `length ${centroids.length}` : typeof centroids}`);
    }
    if (!Number.isInteger(m) || m < 0 || m >= this.M) throw new InvalidArgumentError('m', `must be an integer in [0, M = ${this.M}), got ${String(m)}`);
    this._centroids.set(centroids, m * n);
    this.syncTransposedCentroids();
  }

  /** Refreshes the kernels' copy of the centroids (after editing `centroids` in place). */
  syncTransposedCentroids(): void {
    this.synced = false;
    this._version++;
  }

  // ---- training -----------------------------------------------------------------------------

  /**
   * Trains the M sub-quantizers on n vectors (x: n*d floats, n >= ksub; Faiss recommends at least
   * 39 * ksub). Faiss's ProductQuantizer::train with train_type Train_default.
   */
  train(x: Float32Array): void {
    const n = checkVectors(x, this.d);
    const { M, ksub, dsub, d, nbits } = this;
    if (n < ksub) {
      throw new InvalidArgumentError(
        'x',
        `holds ${n} training vectors, fewer than the ${ksub} centroids (2^nbits, nbits = ${nbits}) of each of the M = ${M} sub-quantizers: provide at least ${ksub} vectors (Faiss recommends ${39 * ksub} or more)`,
      );
    }
    const bad = firstNonFinite(x);
    if (bad >= 0) throw nonFiniteError('x', x[bad]!, bad, d, 'the product quantizer trains on finite vectors');
    // Each sub-quantizer's k-means clusters the same seeded subsample of the vectors (Clustering's
    // rand_perm(seed) when n > ksub * maxPointsPerCentroid): drawn once here, and only those rows'
    // slices copied, the k-means then run on exactly the points they would have drawn.
    const nmax = ksub * this.cp.maxPointsPerCentroid;
    const rows = n > nmax ? randPerm(n, this.cp.seed).subarray(0, nmax) : undefined;
    const nt = rows !== undefined ? nmax : n;
    if (rows !== undefined && (this.verbose || this.cp.verbose)) console.error(`Sampling a subset of ${nt} / ${n} for training`);
    const shared = typeof SharedArrayBuffer !== 'undefined' && getNumThreads() > 1;
    const xs = shared ? new Float32Array(new SharedArrayBuffer(nt * dsub * 4)) : new Float32Array(nt * dsub);
    const index = this.assignIndex ?? new SubQuantizerAssignIndex(dsub);
    let warned = false;
    const onWarning = (message: string): void => {
      if (warned) return;
      warned = true;
      const m = `${message} (for each of the M = ${M} sub-quantizers)`;
      if (this.onWarning) this.onWarning(m);
      else console.error(m);
    };
    try {
      for (let m = 0; m < M; m++) {
        for (let i = 0; i < nt; i++) {
          const src = (rows !== undefined ? rows[i]! : i) * d + m * dsub;
          for (let t = 0; t < dsub; t++) xs[i * dsub + t] = x[src + t]!;
        }
        if (this.verbose) console.error(`Training PQ slice ${m}/${M}`);
        index.reset();
        const clus = new Clustering(dsub, ksub, { ...this.cp, verbose: this.verbose || this.cp.verbose, onWarning });
        clus.train(xs, index);
        this._centroids.set(clus.centroids, m * ksub * dsub);
      }
    } finally {
      if (index !== this.assignIndex) index.dispose();
    }
    this.syncTransposedCentroids();
    this.isTrained = true;
  }

  // ---- encoding and decoding ----------------------------------------------------------------

  /** Codes of n vectors (x: n*d floats): n*codeSize bytes. Faiss's compute_codes. */
  computeCodes(x: Float32Array): Uint8Array {
    const n = checkVectors(x, this.d);
    this.checkTrained('computeCodes');
    const codes = new Uint8Array(n * this.codeSize);
    if (n === 0) return codes;
    const pq = this.kernelRef();
    const threads = getNumThreads();
    if (threads > 1 && n >= 2 * MIN_ENCODE_PER_THREAD) {
      const task: PQEncodeTask = { pq, x: toShared(x), codes: new Uint8Array(new SharedArrayBuffer(codes.length)) };
      parallelFor('pq.encode', task, n, MIN_ENCODE_PER_THREAD);
      codes.set(task.codes);
    } else {
      pqEncodeRange({ pq, x, codes }, 0, n, 0);
    }
    return codes;
  }

  /** Code of one vector (d floats): codeSize bytes. Faiss's compute_code. */
  computeCode(x: Float32Array): Uint8Array {
    if (x instanceof Float32Array && x.length !== this.d) throw new InvalidArgumentError('x', `has length ${x.length}, expected one vector of d = ${this.d} floats`);
    return this.computeCodes(x);
  }

  /** Vectors of n codes (codes: n*codeSize bytes): n*d floats. Faiss's decode. */
  decode(codes: Uint8Array, out?: Float32Array): Float32Array {
    if (!(codes instanceof Uint8Array)) throw new InvalidTypeError('codes', `a Uint8Array of n*codeSize bytes (codeSize = ${this.codeSize})`, codes);
    if (codes.length % this.codeSize !== 0) {
      throw new InvalidArgumentError('codes', `has length ${codes.length}, which is not a multiple of codeSize = ${this.codeSize}`);
    }
    const n = codes.length / this.codeSize;
    const { M, nbits, dsub, d, ksub, codeSize } = this;
    const res = out ?? new Float32Array(n * d);
    if (res.length < n * d) throw new InvalidArgumentError('out', `has length ${res.length}, expected at least n*d = ${n * d}`);
    const c = this._centroids;
    const mask = (1 << nbits) - 1;
    for (let i = 0; i < n; i++) {
      const o = i * codeSize;
      for (let m = 0; m < M; m++) {
        let j: number;
        if (nbits === 8) {
          j = codes[o + m]!;
        } else {
          const bit = m * nbits;
          const p = o + (bit >> 3);
          const shift = bit & 7;
          let v = codes[p]!;
          if (shift + nbits > 8) v |= codes[p + 1]! << 8;
          j = (v >> shift) & mask;
        }
        const src = (m * ksub + j) * dsub;
        res.set(c.subarray(src, src + dsub), i * d + m * dsub);
      }
    }
    return res;
  }

  /** Sub-code m (the centroid number) of code i in codes. */
  subCode(codes: Uint8Array, i: number, m: number): number {
    const bit = m * this.nbits;
    const p = i * this.codeSize + (bit >> 3);
    const shift = bit & 7;
    let v = codes[p]!;
    if (shift + this.nbits > 8) v |= codes[p + 1]! << 8;
    return (v >> shift) & ((1 << this.nbits) - 1);
  }

  // ---- look-up tables -----------------------------------------------------------------------

  /** ||x_m - c_mj||^2 for one vector x: M*ksub floats, row m = sub-quantizer m. Faiss's compute_distance_table. */
  computeDistanceTable(x: Float32Array): Float32Array {
    return this.tables(x, 1, true);
  }

  /** <x_m, c_mj> for one vector x: M*ksub floats. Faiss's compute_inner_prod_table. */
  computeInnerProdTable(x: Float32Array): Float32Array {
    return this.tables(x, 0, true);
  }

  /** Distance tables of n vectors: n*M*ksub floats. Faiss's compute_distance_tables. */
  computeDistanceTables(x: Float32Array): Float32Array {
    return this.tables(x, 1, false);
  }

  /** Inner-product tables of n vectors: n*M*ksub floats. Faiss's compute_inner_prod_tables. */
  computeInnerProdTables(x: Float32Array): Float32Array {
    return this.tables(x, 0, false);
  }

  private tables(x: Float32Array, metric: number, one: boolean): Float32Array {
    const n = checkVectors(x, this.d);
    if (one && n !== 1) throw new InvalidArgumentError('x', `has length ${x.length}, expected one vector of d = ${this.d} floats`);
    return pqTables(this.kernelRef(), metric, x, n, 0);
  }

  // ---- symmetric distances ------------------------------------------------------------------

  /** Fills sdcTable: squared distances between the centroids of each sub-quantizer. Faiss's compute_sdc_table. */
  computeSdcTable(): void {
    const { M, ksub, dsub } = this;
    const c = this._centroids;
    const tab = new Float32Array(M * ksub * ksub);
    const f = Math.fround;
    for (let m = 0; m < M; m++) {
      for (let i = 0; i < ksub; i++) {
        for (let j = 0; j < ksub; j++) {
          const a = (m * ksub + i) * dsub;
          const b = (m * ksub + j) * dsub;
          let s = 0;
          for (let t = 0; t < dsub; t++) {
            const u = f(c[a + t]! - c[b + t]!);
            s = f(s + f(u * u));
          }
          tab[(m * ksub + i) * ksub + j] = s;
        }
      }
    }
    this.sdcTable = tab;
  }

  /**
   * k nearest base codes of each query code by symmetric distance (sums of centroid-to-centroid
   * distances), 8-bit codes only, as Faiss's search_sdc. Labels are positions in bcodes.
   */
  searchSdc(qcodes: Uint8Array, bcodes: Uint8Array, k: number): SearchResult {
    if (this.nbits !== 8) throw new NotSupportedError(`ProductQuantizer with nbits = ${this.nbits}`, 'searchSdc', 'symmetric search needs 8-bit codes');
    checkPositiveInt(k, 'k');
    const { M, ksub, codeSize } = this;
    if (this.sdcTable.length !== M * ksub * ksub) this.computeSdcTable();
    for (const [name, c] of [['qcodes', qcodes], ['bcodes', bcodes]] as const) {
      if (!(c instanceof Uint8Array)) throw new InvalidTypeError(name, `a Uint8Array of n*codeSize bytes (codeSize = ${codeSize})`, c);
      if (c.length % codeSize !== 0) throw new InvalidArgumentError(name, `has length ${c.length}, which is not a multiple of codeSize = ${codeSize}`);
    }
    const nq = qcodes.length / codeSize;
    const nb = bcodes.length / codeSize;
    const tab = this.sdcTable;
    const f = Math.fround;
    const distances = new Float32Array(nq * k).fill(FLT_MAX);
    const labels = new BigInt64Array(nq * k).fill(-1n);
    for (let i = 0; i < nq; i++) {
      const h = new Heap(k, true);
      for (let j = 0; j < nb; j++) {
        let s = 0;
        for (let m = 0; m < M; m++) s = f(s + tab[(m * ksub + qcodes[i * codeSize + m]!) * ksub + bcodes[j * codeSize + m]!]!);
        h.push(s, BigInt(j));
      }
      const r = h.reorder();
      distances.set(r.dis, i * k);
      labels.set(r.ids, i * k);
    }
    return { distances, labels };
  }

  // ---- kernels ------------------------------------------------------------------------------

  /** The shared memory holding the transposed centroids, for the kernels (refreshed if stale). */
  kernelRef(): PQKernelRef {
    if (this.segment === undefined) this.segment = new Segment(this.d * this.ksub * 4);
    const seg = this.segment;
    if (!this.synced) {
      writeTransposed(this._centroids, this.M, this.ksub, this.dsub, new Float32Array(seg.memory.buffer, seg.dataOffset, this.d * this.ksub));
      this.synced = true;
    }
    return { memory: seg.memory, cT: seg.dataOffset, M: this.M, nbits: this.nbits, ksub: this.ksub, dsub: this.dsub };
  }

  /** True when other has the same parameters and centroids. */
  equals(other: ProductQuantizer): boolean {
    if (other.d !== this.d || other.M !== this.M || other.nbits !== this.nbits) return false;
    const a = this._centroids;
    const b = other._centroids;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return false;
    return true;
  }

  /** Releases the kernels' shared memory (it is recreated when needed). */
  dispose(): void {
    if (this.segment !== undefined) {
      forgetDropped([this.segment.memory], []);
      this.segment = undefined;
      this.synced = false;
    }
  }

  private checkTrained(operation: string): void {
    if (!this.isTrained) throw new NotTrainedError('ProductQuantizer', operation);
  }
}

function toShared(x: Float32Array): Float32Array {
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const s = new Float32Array(new SharedArrayBuffer(x.byteLength));
  s.set(x);
  return s;
}
