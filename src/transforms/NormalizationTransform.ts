/**
 * @module transforms/NormalizationTransform
 * Faiss's NormalizationTransform: scales each vector to unit L2 norm (the factory's "L2norm").
 * Vectors of norm 0 are left as they are (Faiss's fvec_renorm_L2). Needs no training.
 *
 * With an inner-product index after it ("L2norm,Flat" with METRIC_INNER_PRODUCT), search ranks by
 * cosine similarity: <x/|x|, q/|q|> = cos(x, q), and the distances returned are the cosines.
 *
 * reverseTransform is the identity, as in Faiss (the norm is lost). Only norm = 2 is implemented,
 * as in Faiss (other norms are a NotSupportedError at apply).
 */
import { NotSupportedError } from '../errors.js';
import { VectorTransform } from './VectorTransform.js';

export class NormalizationTransform extends VectorTransform {
  /** The norm: 2 (L2), the only one Faiss implements. */
  readonly norm: number;

  constructor(d: number, norm = 2) {
    super(d, d);
    this.norm = norm;
  }

  applyNoalloc(x: Float32Array, n: number, out: Float32Array): void {
    if (this.norm !== 2) throw new NotSupportedError(`NormalizationTransform with norm = ${this.norm}`, 'apply', 'only the L2 norm (norm = 2) is implemented, as in Faiss');
    const d = this.dIn;
    out.set(x.subarray(0, n * d));
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let nr = 0;
      for (let j = 0; j < d; j++) nr += out[o + j]! * out[o + j]!;
      nr = Math.fround(nr);
      if (nr > 0) {
        const inv = Math.fround(1 / Math.fround(Math.sqrt(nr)));
        for (let j = 0; j < d; j++) out[o + j] = out[o + j]! * inv;
      }
    }
  }

  /** The identity (the norm is not revertible), as in Faiss. */
  override reverseTransform(y: Float32Array): Float32Array {
    this.checkReverse(y);
    return Float32Array.from(y);
  }
}
