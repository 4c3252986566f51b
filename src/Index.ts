/**
 * @module Index
 * The base abstraction every index extends, with Faiss's contract in camelCase.
 *
 * Data convention, stated once: a batch of n vectors is a row-major Float32Array of n*d floats.
 * Search results are n*k distances (Float32Array) and n*k int64 labels (BigInt64Array), row i holding
 * the k results of query i, best first, padded as Faiss pads them where fewer than k vectors exist:
 * label -1 and distance +FLT_MAX (L2) or -FLT_MAX (inner product), FLT_MAX = 3.4028234663852886e38.
 */
import { InvalidArgumentError, NotSupportedError } from './errors.js';
import { MetricType } from './MetricType.js';
import type { IDSelectorLike } from './IDSelector.js';
import { checkPositiveInt, checkVectors } from './validate.js';

/** Per-call search knobs (Faiss's SearchParameters). Subclasses add nprobe, efSearch, ... */
export interface SearchParameters {
  /** Reserved for id filtering during search. */
  readonly sel?: never;
}

/** The k nearest neighbours of n queries: n*k distances and labels, row-major. */
export interface SearchResult {
  /** output, size n*k */
  distances: Float32Array;
  /** output, size n*k; -1 where fewer than k results exist */
  labels: BigInt64Array;
}

/** Faiss's RangeSearchResult: the results of query i are at [lims[i], lims[i+1]). */
export interface RangeSearchResult {
  /** size n+1; integer offsets into distances and labels */
  lims: Float64Array;
  distances: Float32Array;
  labels: BigInt64Array;
}

export abstract class Index {
  /** Dimension of the vectors. */
  readonly d: number;
  /** Number of vectors stored. */
  ntotal = 0;
  /** False until train() has run, for the index types that need training. */
  isTrained = true;
  readonly metricType: MetricType;
  /** Print progress of long operations to stderr. */
  verbose = false;

  constructor(d: number, metricType: MetricType = MetricType.L2) {
    this.d = checkPositiveInt(d, 'd');
    if (metricType !== MetricType.L2 && metricType !== MetricType.INNER_PRODUCT) {
      throw new InvalidArgumentError('metricType', `must be MetricType.L2 (1) or MetricType.INNER_PRODUCT (0), got ${String(metricType)}`);
    }
    this.metricType = metricType;
  }

  /** The class name, as Faiss names it. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Learns what the index needs from representative vectors. A no-op for indexes that need no training. */
  train(x: Float32Array): void {
    checkVectors(x, this.d);
  }

  /** Adds n vectors; they get the sequential ids ntotal .. ntotal+n-1. */
  abstract add(x: Float32Array): void;

  /** Adds n vectors with explicit int64 ids. */
  addWithIds(x: Float32Array, ids: BigInt64Array): void {
    void x;
    void ids;
    throw new NotSupportedError(this.typeName, 'addWithIds', 'wrap the index in IndexIDMap to attach ids');
  }

  /** The k nearest neighbours of each of the n query vectors in x. */
  abstract search(x: Float32Array, k: number, params?: SearchParameters): SearchResult;

  /** All vectors within `radius` of each query (L2: distance < radius; IP: similarity > radius). */
  rangeSearch(x: Float32Array, radius: number, params?: SearchParameters): RangeSearchResult {
    void x;
    void radius;
    void params;
    throw new NotSupportedError(this.typeName, 'rangeSearch');
  }

  /** The stored vector with sequential number `key` (0 <= key < ntotal). */
  reconstruct(key: number): Float32Array {
    void key;
    throw new NotSupportedError(this.typeName, 'reconstruct');
  }

  /** Vectors i0 .. i0+n-1, as n*d floats. */
  reconstructN(i0: number, n: number): Float32Array {
    const out = new Float32Array(n * this.d);
    for (let i = 0; i < n; i++) out.set(this.reconstruct(i0 + i), i * this.d);
    return out;
  }

  /**
   * Faiss's compute_residual_n: out[i] = x_i - reconstruct(keys[i]), zeros where keys[i] < 0 (an
   * IVF's coarse quantizer gives the residuals that IVFPQ and by-residual SQ encode).
   * @param x n vectors, n*d floats
   * @param keys n sequential numbers of stored vectors (-1: none)
   * @param out n*d floats for the residuals (a new array when omitted)
   */
  computeResidualN(x: Float32Array, keys: Int32Array | BigInt64Array, out?: Float32Array): Float32Array {
    const { d } = this;
    const n = this.checkResidualArgs(x, keys, out);
    const res = out ?? new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const key = Number(keys[i]!);
      const o = i * d;
      if (key < 0) {
        res.fill(0, o, o + d);
        continue;
      }
      const c = this.reconstruct(key);
      for (let j = 0; j < d; j++) res[o + j] = x[o + j]! - c[j]!;
    }
    return res;
  }

  /** Validates computeResidualN's arguments; returns n. */
  protected checkResidualArgs(x: Float32Array, keys: Int32Array | BigInt64Array, out: Float32Array | undefined): number {
    const n = checkVectors(x, this.d);
    if (!(keys instanceof Int32Array) && !(keys instanceof BigInt64Array)) {
      throw new InvalidArgumentError('keys', `must be an Int32Array or a BigInt64Array of n = ${n} keys`);
    }
    if (keys.length !== n) throw new InvalidArgumentError('keys', `has length ${keys.length}, expected one key per vector (n = ${n})`);
    for (let i = 0; i < n; i++) {
      const key = Number(keys[i]!);
      if (key >= this.ntotal) throw new InvalidArgumentError('keys', `has ${key} at ${i}, expected -1 or 0 <= key < ntotal = ${this.ntotal}`);
    }
    if (out !== undefined && (!(out instanceof Float32Array) || out.length < n * this.d)) {
      throw new InvalidArgumentError('out', `must be a Float32Array of at least n*d = ${n * this.d} floats`);
    }
    return n;
  }

  /** Removes the selected ids; returns how many were removed. */
  removeIds(selector: IDSelectorLike): number {
    void selector;
    throw new NotSupportedError(this.typeName, 'removeIds');
  }

  /** Removes every vector (the training is kept). */
  abstract reset(): void;

  /** Releases memory held outside the JavaScript heap. The index is unusable afterwards. */
  dispose(): void {}

  /** Validates the common search arguments; returns n. */
  protected checkSearchArgs(x: Float32Array, k: number): number {
    const n = checkVectors(x, this.d);
    checkPositiveInt(k, 'k');
    return n;
  }
}

/** Faiss's FLT_MAX: the distance of padding slots (+ for L2, - for inner product). */
export const FLT_MAX = 3.4028234663852886e38;

/** Empty results of n queries with k slots, padded as Faiss pads (+/-FLT_MAX, label -1). */
export function emptyResult(n: number, k: number, metric: MetricType): SearchResult {
  const distances = new Float32Array(n * k).fill(metric === MetricType.L2 ? FLT_MAX : -FLT_MAX);
  const labels = new BigInt64Array(n * k).fill(-1n);
  return { distances, labels };
}
