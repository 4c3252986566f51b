/**
 * @module IndexPQFastScan
 * Faiss's IndexPQFastScan (Faiss 1.7.3, IndexFastScan + IndexPQFastScan): IndexPQ with 4-bit codes
 * stored in Faiss's packed blocks of bbs vectors (quantizers/pq4FastScan) and searched with SIMD
 * table look-ups on uint8-quantized tables (search/pq4Scan, assembly/pq4.ts). Factory strings
 * `PQ{M}x4fs` and `PQ{M}x4fs_{bbs}`.
 *
 * - Codes: M sub-codes of 4 bits; M2 = M rounded up to even; a block is bbs*M2/2 bytes; the last
 *   block is padded with zero codes and filled by later adds. Blocks live in shared WebAssembly
 *   segments (storage/CodeStore, one "code" = one block), scanned in place by every thread.
 * - Search: per query the PQ table (L2 distances or inner products, M x 16 floats), quantized per
 *   Faiss's round_uint8_per_column (a = 255 / largest row span, b = sum of row minima); distances are
 *   the 16-bit sums of M2 table bytes (wrapping past 65535 for M > 257, as in Faiss), the k best kept
 *   with Faiss's tie-break on ids, returned as sum * (1/a) + b. So results are Faiss's: labels and
 *   distances identical given identical codes, not the exact PQ distances of IndexPQ.
 * - Padding when fewer than k vectors exist: label -1 with Faiss's FastScan distance for it, the
 *   neutral 16-bit value converted (65535 * (1/a) + b for L2, b for inner product), not +-FLT_MAX.
 * - Batches are split over the pool's threads by query; each thread scans every block once for
 *   QUERY_GROUP queries at a time; a single query runs on the calling thread.
 * - `implem`, `qbs` (Faiss's kernel choices) are kept for the file format; simdex has one kernel.
 *   Faiss picks a reservoir instead of heaps for k > 20: same distances, ties possibly in another order.
 */
import { Index, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotTrainedError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import { ProductQuantizer } from '../quantizers/ProductQuantizer.js';
import { pq4BlockBytes, pq4GetPackedElement, pq4PackCodes, pq4PackCodesRange, pq4UnpackCodes, roundUp } from '../quantizers/pq4FastScan.js';
import type { PQ4KnnTask, PQ4SegmentRef } from '../search/pq4Scan.js';
import { CodeStore } from '../storage/CodeStore.js';
import { forgetDropped, parallelSearch } from '../threads/pool.js';
import { checkNonNegativeInt, checkVectors } from '../validate.js';
import { IndexPQ } from './IndexPQ.js';

/** Queries per thread below which a batch is not split over threads. */
const MIN_QUERIES_PER_THREAD = 2;
/** Vectors encoded and packed per step of add (Faiss's IndexFastScan::add block size). */
const ADD_BLOCK = 65536;

export interface IndexPQFastScanOptions {
  /** Bytes of packed codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

/** Checks FastScan's nbits (4) and bbs (a positive multiple of 32). */
export function checkFastScanParams(nbits: unknown, bbs: unknown, typeName: string): void {
  if (nbits !== 4) {
    throw new InvalidArgumentError('nbits', `must be 4 for ${typeName}: FastScan packs 4-bit PQ codes (16-entry tables in SIMD registers), got ${String(nbits)}`);
  }
  if (typeof bbs !== 'number' || !Number.isInteger(bbs) || bbs <= 0 || bbs % 32 !== 0) {
    throw new InvalidArgumentError('bbs', `must be a positive multiple of 32 (vectors per packed block), got ${String(bbs)}`);
  }
}

export class IndexPQFastScan extends Index {
  /** The product quantizer (nbits = 4): its parameters and centroids. */
  readonly pq: ProductQuantizer;
  /** Sub-quantizers. */
  readonly M: number;
  /** Bits per sub-code: 4. */
  readonly nbits = 4;
  /** Centroids per sub-quantizer: 16. */
  readonly ksub = 16;
  /** Bytes of an ordinary (unpacked) code: ceil(M / 2). */
  readonly codeSize: number;
  /** M rounded up to even. */
  readonly M2: number;
  /** Vectors per packed block (Faiss's bbs). */
  readonly bbs: number;
  /** Faiss's implem and qbs (its kernel choices), kept for the file format; simdex ignores them. */
  implem = 0;
  qbs = 0;
  /**
   * Faiss's ntotal2: ntotal rounded up to bbs when the codes were last sized. Faiss's reset() leaves
   * it as it was, and so does simdex's, so that files are written back byte for byte.
   */
  ntotal2 = 0;

  private readonly store: CodeStore;

  /** An empty index (Faiss's IndexPQFastScan(d, M, nbits, metric, bbs)). */
  constructor(d: number, M: number, nbits?: number, metric?: MetricType, bbs?: number, options?: IndexPQFastScanOptions);
  /** The codes of an IndexPQ with nbits = 4, packed (Faiss's IndexPQFastScan(const IndexPQ&, bbs)). */
  constructor(orig: IndexPQ, bbs?: number);
  constructor(dOrIndex: number | IndexPQ, Mor?: number, nbits = 4, metric: MetricType = MetricType.L2, bbs = 32, options: IndexPQFastScanOptions = {}) {
    const orig = dOrIndex instanceof IndexPQ ? dOrIndex : undefined;
    if (orig !== undefined) {
      bbs = Mor ?? 32;
      nbits = orig.pq.nbits;
      metric = orig.metricType;
    }
    super(orig?.d ?? (dOrIndex as number), metric);
    checkFastScanParams(nbits, bbs, 'IndexPQFastScan');
    const pq = new ProductQuantizer(this.d, orig?.pq.M ?? (Mor as number), nbits);
    this.pq = pq;
    this.M = pq.M;
    this.codeSize = pq.codeSize;
    this.M2 = pq.M + (pq.M & 1);
    this.bbs = bbs;
    this.store = new CodeStore(pq4BlockBytes(bbs, this.M2), options.maxSegmentBytes);
    this.isTrained = false;
    if (orig !== undefined) {
      if (orig.pq.isTrained) pq.centroids = orig.pq.centroids;
      this.isTrained = orig.isTrained;
      this.addCodes(orig.codes());
    }
  }

  /** Bytes of one packed block: bbs * M2 / 2. */
  get blockBytes(): number {
    return this.store.codeSize;
  }

  /** The storage segments of packed blocks (for writers, workers and tests). */
  get segments(): readonly PQ4SegmentRef[] {
    return this.store.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count }));
  }

  /** Trains the product quantizer (Faiss: a no-op once trained). */
  override train(x: Float32Array): void {
    checkVectors(x, this.d);
    if (this.isTrained) return;
    this.pq.verbose = this.verbose;
    this.pq.train(x);
    this.isTrained = true;
  }

  add(x: Float32Array): void {
    const n = checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'add');
    for (let i0 = 0; i0 < n; i0 += ADD_BLOCK) {
      const i1 = Math.min(n, i0 + ADD_BLOCK);
      this.addCodes(this.pq.computeCodes(x.subarray(i0 * this.d, i1 * this.d)));
    }
  }

  /**
   * Appends ordinary PQ codes (n * codeSize bytes, sub-code 2p in the low nibble of byte p), packed
   * into the blocks: the first ones fill the last block's padding.
   */
  addCodes(codes: Uint8Array): void {
    if (!(codes instanceof Uint8Array)) throw new InvalidTypeError('codes', `a Uint8Array of n * codeSize bytes (codeSize = ${this.codeSize})`, codes);
    if (codes.length % this.codeSize !== 0) {
      throw new InvalidArgumentError('codes', `has length ${codes.length}, which is not a multiple of codeSize = ${this.codeSize}`);
    }
    const n = codes.length / this.codeSize;
    if (n === 0) return;
    const { bbs, M, M2, codeSize } = this;
    let done = 0;
    const used = this.ntotal % bbs;
    if (used > 0) {
      // the last block's padding: pack in place, in the segment that holds it
      const m = Math.min(n, bbs - used);
      pq4PackCodesRange(codes.subarray(0, m * codeSize), M, used, used + m, bbs, M2, this.blockView(this.store.ntotal - 1));
      done = m;
    }
    if (done < n) {
      const rest = n - done;
      const nb = roundUp(rest, bbs);
      this.store.add(pq4PackCodes(codes.subarray(done * codeSize), rest, M, nb, bbs, M2));
    }
    this.ntotal += n;
    this.ntotal2 = roundUp(this.ntotal, bbs);
  }

  /**
   * Appends packed blocks as read from a Faiss file: n vectors in ceil(n / bbs) blocks; the index
   * must hold a multiple of bbs vectors (readers call it on an empty index).
   */
  addPackedBlocks(blocks: Uint8Array, n: number): void {
    checkNonNegativeInt(n, 'n');
    if (this.ntotal % this.bbs !== 0) throw new InvalidArgumentError('n', `cannot be appended as blocks to an index of ${this.ntotal} vectors (not a multiple of bbs = ${this.bbs})`);
    const want = Math.ceil(n / this.bbs) * this.blockBytes;
    if (!(blocks instanceof Uint8Array) || blocks.length !== want) {
      throw new InvalidArgumentError('blocks', `must be a Uint8Array of ceil(n / bbs) * bbs * M2 / 2 = ${want} bytes for n = ${n}`);
    }
    this.store.add(blocks);
    this.ntotal += n;
  }

  /** Allocates storage for n more vectors at once (readers call it before adding). */
  reserve(n: number): void {
    checkNonNegativeInt(n, 'n');
    this.store.reserve(Math.ceil(n / this.bbs));
  }

  /** The packed blocks, a copy of ceil(ntotal / bbs) * bbs * M2 / 2 bytes (what Faiss's `codes` holds). */
  packedCodes(): Uint8Array {
    return this.store.copyOut(0, this.store.ntotal);
  }

  /** The ordinary PQ codes of vectors i0 .. i0+n-1 (n * codeSize bytes; all by default). */
  codes(i0 = 0, n = this.ntotal - i0): Uint8Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    const out = new Uint8Array(n * this.codeSize);
    const { bbs } = this;
    for (let b = Math.floor(i0 / bbs); b * bbs < i0 + n; b++) {
      const block = this.blockView(b);
      const lo = Math.max(i0, b * bbs);
      const hi = Math.min(i0 + n, (b + 1) * bbs);
      pq4UnpackCodes(block, bbs, this.M, this.M2, lo - b * bbs, hi - lo, out.subarray((lo - i0) * this.codeSize, (hi - i0) * this.codeSize));
    }
    return out;
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'search');
    const task: PQ4KnnTask = {
      metric: this.metricType,
      k,
      pq: this.pq.kernelRef(),
      M2: this.M2,
      bbs: this.bbs,
      ntotal: this.ntotal,
      segments: [...this.segments],
      x,
      distances: new Float32Array(n * k),
      labels: new BigInt64Array(n * k),
    };
    if (n > 0) parallelSearch('pq4.knn', task, n, MIN_QUERIES_PER_THREAD);
    return { distances: task.distances, labels: task.labels };
  }

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    const b = Math.floor(key / this.bbs);
    const block = this.blockView(b);
    const code = new Uint8Array(this.codeSize);
    for (let m = 0; m < this.M; m++) code[m >> 1]! |= pq4GetPackedElement(block, this.bbs, this.M2, key - b * this.bbs, m) << (4 * (m & 1));
    return this.pq.decode(code);
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.pq.decode(this.codes(i0, n));
  }

  /** Faiss's sa_encode: the ordinary PQ codes of n vectors (n * codeSize bytes). */
  saEncode(x: Float32Array): Uint8Array {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'saEncode');
    return this.pq.computeCodes(x);
  }

  /** Faiss's sa_decode: n*d floats from n ordinary PQ codes. */
  saDecode(codes: Uint8Array): Float32Array {
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'saDecode');
    return this.pq.decode(codes);
  }

  /** Removes the vectors whose sequential ids are selected; later vectors move down (Faiss's order). */
  override removeIds(selector: IDSelectorLike): number {
    const sel = toIDSelector(selector);
    const codes = this.codes();
    const cs = this.codeSize;
    const kept = new Uint8Array(codes.length);
    let j = 0;
    for (let i = 0; i < this.ntotal; i++) {
      if (sel.isMember(BigInt(i))) continue;
      kept.set(codes.subarray(i * cs, (i + 1) * cs), j * cs);
      j++;
    }
    const removed = this.ntotal - j;
    if (removed > 0) {
      this.clearStore();
      this.addCodes(kept.subarray(0, j * cs));
      this.ntotal2 = roundUp(this.ntotal, this.bbs);
    }
    return removed;
  }

  /** Appends all of other's vectors (same M, bbs, d; Faiss's merge_from); other is left empty. */
  mergeFrom(other: IndexPQFastScan): void {
    if (!(other instanceof IndexPQFastScan) || other.M !== this.M || other.bbs !== this.bbs || other.d !== this.d) {
      throw new InvalidArgumentError('other', `must be an IndexPQFastScan with d = ${this.d}, M = ${this.M}, bbs = ${this.bbs}`);
    }
    this.addCodes(other.codes());
    other.reset();
  }

  /** Removes every vector (the training is kept; ntotal2 too, as in Faiss). */
  override reset(): void {
    this.clearStore();
  }

  override dispose(): void {
    const before = this.memories();
    this.store.release();
    this.ntotal = 0;
    forgetDropped(before, []);
    this.pq.dispose();
  }

  /** Block b in place (a view into the segment that holds it). */
  private blockView(b: number): Uint8Array {
    let base = 0;
    for (const seg of this.store.segments) {
      if (b < base + seg.count) return new Uint8Array(seg.memory.buffer, seg.codeOffset(b - base), this.blockBytes);
      base += seg.count;
    }
    throw new RangeError(`IndexPQFastScan: block ${b} is not stored (${base} blocks)`);
  }

  private clearStore(): void {
    const before = this.memories();
    this.store.reset();
    this.ntotal = 0;
    forgetDropped(before, this.memories());
  }

  private memories(): WebAssembly.Memory[] {
    return this.store.segments.map((s) => s.memory);
  }
}
