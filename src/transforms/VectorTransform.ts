/**
 * @module transforms/VectorTransform
 * Faiss's VectorTransform: a map from vectors of dIn floats to vectors of dOut floats, applied to
 * the vectors before an index sees them (IndexPreTransform). Some need training (PCAMatrix,
 * OPQMatrix, CenteringTransform), some not (NormalizationTransform); some can be reversed, exactly
 * or approximately (`reverseTransform`), the others throw NotSupportedError as Faiss throws.
 *
 * Conventions are the indexes': a batch is a row-major Float32Array of n*dIn floats; `apply` returns
 * n*dOut floats. Subclasses implement `applyNoalloc` (Faiss's apply_noalloc), the checks are here.
 */
import { NotSupportedError, NotTrainedError } from '../errors.js';
import { checkPositiveInt, checkVectors } from '../validate.js';

export abstract class VectorTransform {
  /** Input dimension. */
  readonly dIn: number;
  /** Output dimension. */
  readonly dOut: number;
  /** False until train() has run, for the transforms that need training. */
  isTrained = true;
  /** Print progress of training to stderr. */
  verbose = false;

  constructor(dIn: number, dOut: number) {
    this.dIn = checkPositiveInt(dIn, 'dIn');
    this.dOut = checkPositiveInt(dOut, 'dOut');
  }

  /** The class name, as Faiss names it. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Learns the transform from n training vectors (x: n*dIn floats). A no-op for transforms without training. */
  train(x: Float32Array): void {
    checkVectors(x, this.dIn);
  }

  /**
   * Transforms n vectors.
   * @param x n*dIn floats
   * @returns n*dOut floats
   * @throws NotTrainedError before training; InvalidArgumentError for a wrong length.
   */
  apply(x: Float32Array): Float32Array {
    const n = checkVectors(x, this.dIn);
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'apply');
    const out = new Float32Array(n * this.dOut);
    if (n > 0) this.applyNoalloc(x, n, out);
    return out;
  }

  /** Faiss's apply_noalloc: writes the n*dOut transformed floats of x (n*dIn floats, checked) into out. */
  abstract applyNoalloc(x: Float32Array, n: number, out: Float32Array): void;

  /**
   * The inverse map, where there is one (exact or approximate, as Faiss's reverse_transform).
   * @param y n*dOut floats
   * @returns n*dIn floats
   * @throws NotSupportedError for transforms that cannot be reversed.
   */
  reverseTransform(y: Float32Array): Float32Array {
    void y;
    throw new NotSupportedError(this.typeName, 'reverseTransform');
  }

  /** Checks y for reverseTransform and the training; returns n. */
  protected checkReverse(y: Float32Array): number {
    const n = checkVectors(y, this.dOut, 'y');
    if (!this.isTrained) throw new NotTrainedError(this.typeName, 'reverseTransform');
    return n;
  }

  /** Releases memory held outside the JavaScript heap (none by default). */
  dispose(): void {}
}
