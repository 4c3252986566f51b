/**
 * @module transforms/CenteringTransform
 * Faiss's CenteringTransform: subtracts the mean of the training vectors (dIn = dOut);
 * reverseTransform adds it back (exact).
 */
import { InvalidArgumentError } from '../errors.js';
import { checkVectors } from '../validate.js';
import { VectorTransform } from './VectorTransform.js';

export class CenteringTransform extends VectorTransform {
  /** The mean of the training vectors, d floats; empty before training. */
  mean: Float32Array = new Float32Array(0);

  constructor(d: number) {
    super(d, d);
    this.isTrained = false;
  }

  /** The mean of n >= 1 training vectors (x: n*d floats). */
  override train(x: Float32Array): void {
    const d = this.dIn;
    const n = checkVectors(x, d);
    if (n < 1) throw new InvalidArgumentError('x', `holds 0 training vectors: CenteringTransform needs at least one`);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= n;
    this.mean = Float32Array.from(mean);
    this.isTrained = true;
  }

  applyNoalloc(x: Float32Array, n: number, out: Float32Array): void {
    const d = this.dIn;
    const mean = this.checkMean();
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! - mean[j]!;
  }

  /** Adds the mean back. */
  override reverseTransform(y: Float32Array): Float32Array {
    const n = this.checkReverse(y);
    const d = this.dIn;
    const mean = this.checkMean();
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = y[i * d + j]! + mean[j]!;
    return x;
  }

  private checkMean(): Float32Array {
    if (this.mean.length !== this.dIn) throw new InvalidArgumentError('mean', `has length ${this.mean.length}, expected d = ${this.dIn}`);
    return this.mean;
  }
}
