/**
 * @module IndexFlatCodes
 * Faiss's IndexFlatCodes: the base of the indexes that store one fixed-size code per vector, in
 * order, and search them all (IndexFlat: the floats themselves; IndexPQ; IndexScalarQuantizer).
 * Codes live in a CodeStore (shared WebAssembly segments); subclasses give the encoding and the search.
 */
import { Index } from '../Index.js';
import { InvalidArgumentError, NotTrainedError } from '../errors.js';
import { toIDSelector, type IDSelectorLike } from '../IDSelector.js';
import { MetricType } from '../MetricType.js';
import type { SegmentRef } from '../search/exhaustive.js';
import { CodeStore } from '../storage/CodeStore.js';
import { forgetDropped } from '../threads/pool.js';
import { checkNonNegativeInt, checkVectors } from '../validate.js';

export interface IndexFlatCodesOptions {
  /** Bytes of codes per storage segment (default 2 GiB; lower it to test multi-segment storage). */
  maxSegmentBytes?: number;
}

/** Floats an add encodes at once. */
const ADD_CHUNK_BYTES = 1 << 30;

export abstract class IndexFlatCodes extends Index {
  protected readonly store: CodeStore;

  constructor(d: number, metric: MetricType, codeSize: number, options: IndexFlatCodesOptions = {}) {
    super(d, metric);
    this.store = new CodeStore(codeSize, options.maxSegmentBytes);
  }

  /** Codes of n vectors (n*codeSize bytes); the index is trained. */
  protected abstract encode(x: Float32Array): Uint8Array;
  /** n*d floats from n codes. */
  protected abstract decode(codes: Uint8Array): Float32Array;

  /** How error messages name this index (the class name; subclasses may add their parameters). */
  protected get label(): string {
    return this.typeName;
  }

  /** Bytes per stored vector (Faiss's code_size). */
  get codeSize(): number {
    return this.store.codeSize;
  }

  /** The storage segments (for writers, workers and tests). */
  get segments(): readonly SegmentRef[] {
    return this.store.segments;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.label, 'add');
    // in chunks of at most 1 GiB of floats: codes of more than 4 GiB are no Uint8Array in V8
    // (1M x 1280 floats are 5.1 GB), and a chunk's codes are a temporary copy
    const n = x.length / this.d;
    const chunk = Math.max(1, Math.floor(ADD_CHUNK_BYTES / (this.d * 4)));
    if (n > chunk) this.store.reserve(n);
    for (let i0 = 0; i0 < n; i0 += chunk) {
      this.store.add(this.encode(n <= chunk ? x : x.subarray(i0 * this.d, Math.min(n, i0 + chunk) * this.d)));
    }
    this.ntotal = this.store.ntotal;
    this.changed();
  }

  /** Called after every change of the stored codes (subclasses drop what they derived from them). */
  protected changed(): void {}

  /** Appends codes made elsewhere (readers of index files, saEncode): n*codeSize bytes. */
  addCodes(codes: Uint8Array): void {
    if (!(codes instanceof Uint8Array) || codes.length % this.codeSize !== 0) {
      throw new InvalidArgumentError('codes', `must be a Uint8Array of n * codeSize bytes (codeSize = ${this.codeSize})`);
    }
    this.store.add(codes);
    this.ntotal = this.store.ntotal;
    this.changed();
  }

  /** Allocates storage for n more vectors at once (readers and bulk loaders call it before adding). */
  reserve(n: number): void {
    checkNonNegativeInt(n, 'n');
    this.store.reserve(n);
  }

  /** Faiss's sa_encode: the codes of n vectors, n*codeSize bytes. */
  saEncode(x: Float32Array): Uint8Array {
    checkVectors(x, this.d);
    if (!this.isTrained) throw new NotTrainedError(this.label, 'saEncode');
    return this.encode(x);
  }

  /** Faiss's sa_decode: n*d floats from n codes. */
  saDecode(codes: Uint8Array): Float32Array {
    if (!this.isTrained) throw new NotTrainedError(this.label, 'saDecode');
    return this.decode(codes);
  }

  /** The stored codes i0 .. i0+n-1 (n*codeSize bytes, a copy; all of them by default). */
  codes(i0 = 0, n = this.ntotal - i0): Uint8Array {
    checkNonNegativeInt(i0, 'i0');
    checkNonNegativeInt(n, 'n');
    if (i0 + n > this.ntotal) throw new InvalidArgumentError('n', `i0 + n = ${i0 + n} exceeds ntotal = ${this.ntotal}`);
    return this.store.copyOut(i0, n);
  }

  override reconstruct(key: number): Float32Array {
    checkNonNegativeInt(key, 'key');
    if (key >= this.ntotal) throw new InvalidArgumentError('key', `is ${key}, expected 0 <= key < ntotal = ${this.ntotal}`);
    return this.decode(this.store.copyOut(key, 1));
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.decode(this.codes(i0, n));
  }

  /** Removes the vectors whose sequential ids are selected; later vectors move down (Faiss's order). */
  override removeIds(selector: IDSelectorLike): number {
    const sel = toIDSelector(selector);
    const before = this.memories();
    const removed = this.store.compact((i) => !sel.isMember(BigInt(i)));
    this.ntotal = this.store.ntotal;
    forgetDropped(before, this.memories());
    if (removed > 0) this.changed();
    return removed;
  }

  /** Removes every vector (the training and the first storage segment are kept). */
  override reset(): void {
    const before = this.memories();
    this.store.reset();
    this.ntotal = 0;
    forgetDropped(before, this.memories());
    this.changed();
  }

  override dispose(): void {
    const before = this.memories();
    this.store.release();
    this.ntotal = 0;
    forgetDropped(before, []);
    this.changed();
  }

  /** What a thread needs of each segment. */
  protected segmentRefs(): SegmentRef[] {
    return this.store.segments.map((s) => ({ memory: s.memory, dataOffset: s.dataOffset, count: s.count }));
  }

  private memories(): WebAssembly.Memory[] {
    return this.store.segments.map((s) => s.memory);
  }
}
