/**
 * @module indexes/IndexPreTransform
 * Faiss's IndexPreTransform: a chain of VectorTransforms (PCA, OPQ rotation, L2 normalisation, ...)
 * applied to every vector before a sub-index of any type (Flat, IVF, PQ, SQ, HNSW, IDMap, ...).
 * The factory builds it from leading transform tokens: "PCA64,IVF4096,Flat", "OPQ16_64,IVF1024,PQ16",
 * "L2norm,Flat".
 *
 * - d is the chain's input dimension; each transform's dOut is the next one's dIn, and the last
 *   dOut is the sub-index's d (prependTransform checks it).
 * - train(x): as Faiss, trains the transforms in order, each on the output of the ones before it,
 *   then the sub-index if it is not trained; stops after the last untrained component.
 * - add / addWithIds / search / rangeSearch transform the vectors and pass them on; the distances are
 *   the sub-index's, computed in the transformed space (Faiss's semantics).
 * - reconstruct / reconstructN: the sub-index's reconstruction, reversed through the chain from last to
 *   first (NotSupportedError when a transform has no reverse, e.g. a whitening PCA).
 * - removeIds, reset pass through.
 *
 * Search parameters are passed to the sub-index; a SearchParametersPreTransform's `indexParams` are
 * passed instead when given (Faiss's SearchParametersPreTransform::index_params).
 */
import { Index, type RangeSearchResult, type SearchParameters, type SearchResult } from '../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotTrainedError } from '../errors.js';
import type { IDSelectorLike } from '../IDSelector.js';
import { checkVectors } from '../validate.js';
import { VectorTransform } from '../transforms/VectorTransform.js';

/** Faiss's SearchParametersPreTransform: the parameters of the sub-index's search. */
export interface SearchParametersPreTransform extends SearchParameters {
  indexParams?: SearchParameters;
}

export class IndexPreTransform extends Index {
  /** The transforms, applied in order (chain[0] first). */
  readonly chain: VectorTransform[] = [];
  /** The index the transformed vectors go to. */
  readonly index: Index;
  /** Whether dispose() also disposes the sub-index and the transforms (Faiss's own_fields). */
  ownFields = true;

  /**
   * `new IndexPreTransform(index)`: an empty chain, d = index.d (add transforms with prependTransform);
   * `new IndexPreTransform(transform, index)`: one transform, d = transform.dIn.
   */
  constructor(first: Index | VectorTransform, index?: Index) {
    const sub = first instanceof Index ? first : index;
    if (!(sub instanceof Index)) throw new InvalidTypeError('index', 'an Index (the sub-index)', sub);
    super(sub.d, sub.metricType);
    this.index = sub;
    this.isTrained = sub.isTrained;
    this.ntotal = sub.ntotal;
    if (first instanceof VectorTransform) this.prependTransform(first);
    else if (index !== undefined) throw new InvalidTypeError('first', 'a VectorTransform when a sub-index is given second', first);
  }

  /**
   * Puts `transform` first in the chain: its dOut must be the current d; d becomes its dIn.
   * @throws InvalidArgumentError naming both dimensions when they differ.
   */
  prependTransform(transform: VectorTransform): void {
    if (!(transform instanceof VectorTransform)) throw new InvalidTypeError('transform', 'a VectorTransform', transform);
    if (transform.dOut !== this.d) {
      throw new InvalidArgumentError(
        'transform',
        `outputs dOut = ${transform.dOut} dimensions, but the ${this.chain.length > 0 ? `next transform (${this.chain[0]!.typeName}) takes dIn` : `sub-index (${this.index.typeName}) has d`} = ${this.d}`,
      );
    }
    this.chain.unshift(transform);
    this.isTrained = this.isTrained && transform.isTrained;
    // Faiss changes d as transforms are prepended; Index.d is readonly for users, not for this class.
    (this as { d: number }).d = transform.dIn;
  }

  /** Trains the chain in order, then the sub-index (Faiss's IndexPreTransform::train). */
  override train(x: Float32Array): void {
    const n = checkVectors(x, this.d);
    const chain = this.chain;
    let lastUntrained = 0;
    if (!this.index.isTrained) {
      lastUntrained = chain.length;
    } else {
      for (let i = chain.length - 1; i >= 0; i--) {
        if (!chain[i]!.isTrained) {
          lastUntrained = i;
          break;
        }
      }
    }
    let xt = x;
    for (let i = 0; i <= lastUntrained; i++) {
      if (i < chain.length) {
        const t = chain[i]!;
        if (!t.isTrained) {
          if (this.verbose) console.error(`   Training chain component ${i}/${chain.length} (${t.typeName} ${t.dIn} -> ${t.dOut}) on ${n} vectors`);
          t.train(xt);
        }
      } else {
        if (this.verbose) console.error('   Training sub-index');
        this.index.train(xt);
      }
      if (i === lastUntrained) break;
      xt = chain[i]!.apply(xt);
    }
    this.isTrained = true;
  }

  /** Faiss's apply_chain: x (n*d floats) through every transform; x itself when the chain is empty. */
  applyChain(x: Float32Array): Float32Array {
    checkVectors(x, this.d);
    let xt = x;
    for (const t of this.chain) xt = t.apply(xt);
    return xt;
  }

  /** Faiss's reverse_chain: y (n*index.d floats) back through the chain, last transform first; n*d floats. */
  reverseChain(y: Float32Array): Float32Array {
    let x = y;
    for (let i = this.chain.length - 1; i >= 0; i--) x = this.chain[i]!.reverseTransform(x);
    return x;
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    this.checkTrained('add');
    this.index.add(this.applyChain(x));
    this.ntotal = this.index.ntotal;
  }

  override addWithIds(x: Float32Array, ids: BigInt64Array): void {
    checkVectors(x, this.d);
    this.checkTrained('addWithIds');
    this.index.addWithIds(this.applyChain(x), ids);
    this.ntotal = this.index.ntotal;
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    this.checkSearchArgs(x, k);
    this.checkTrained('search');
    return this.index.search(this.applyChain(x), k, subParams(params));
  }

  override rangeSearch(x: Float32Array, radius: number, params?: SearchParameters): RangeSearchResult {
    checkVectors(x, this.d);
    this.checkTrained('rangeSearch');
    return this.index.rangeSearch(this.applyChain(x), radius, subParams(params));
  }

  /** The stored vector `key` (a sequential number, or an id for an IndexIDMap2 sub-index), reversed through the chain. */
  override reconstruct(key: number | bigint): Float32Array {
    return this.reverseChain((this.index.reconstruct as (k: number | bigint) => Float32Array).call(this.index, key));
  }

  override reconstructN(i0: number, n: number): Float32Array {
    return this.reverseChain(this.index.reconstructN(i0, n));
  }

  override removeIds(selector: IDSelectorLike): number {
    const removed = this.index.removeIds(selector);
    this.ntotal = this.index.ntotal;
    return removed;
  }

  override reset(): void {
    this.index.reset();
    this.ntotal = 0;
  }

  override dispose(): void {
    if (!this.ownFields) return;
    for (const t of this.chain) t.dispose();
    this.index.dispose();
  }

  private checkTrained(operation: string): void {
    if (!this.isTrained) {
      const untrained = this.chain.find((t) => !t.isTrained);
      throw new NotTrainedError(untrained !== undefined ? `IndexPreTransform (its ${untrained.typeName})` : `IndexPreTransform (its sub-index ${this.index.typeName})`, operation);
    }
  }
}

/** The parameters for the sub-index: indexParams of a SearchParametersPreTransform, else params as given. */
function subParams(params: SearchParameters | undefined): SearchParameters | undefined {
  if (params !== undefined && typeof params === 'object' && 'indexParams' in params) {
    return (params as SearchParametersPreTransform).indexParams;
  }
  return params;
}
