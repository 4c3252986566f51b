/**
 * @module transforms/LinearTransform
 * Faiss's LinearTransform: y = A x + b, A a dOut x dIn matrix (row-major: row j gives output j),
 * b a bias of dOut floats used when `haveBias`. The base of RandomRotationMatrix, PCAMatrix and
 * OPQMatrix; a plain LinearTransform is what Faiss files hold as "LTra" (OPQMatrix is written so).
 *
 * - apply: X A^T (+ b) for a batch, through the tiled WebAssembly kernel for large batches
 *   (transforms/matmul).
 * - reverseTransform: x = A^T (y - b), exact when A has orthonormal rows and dOut = dIn, a
 *   projection when dOut < dIn; only when `isOrthonormal` (else NotSupportedError, as Faiss throws).
 *   Note that for a PCAMatrix this gives A^T A x, the projection of x itself, not mean + A^T A
 *   (x - mean): Faiss's behaviour, kept.
 * - setIsOrthonormal: Faiss's test, |(A A^T)_ij - δ_ij| <= 4e-5 for all i, j (false when dOut > dIn).
 *
 * A plain LinearTransform is trained once A (and b) are set: assign them and set isTrained, or use
 * {@link LinearTransform.fromMatrix}.
 */
import { InvalidArgumentError, InvalidTypeError, NotSupportedError } from '../errors.js';
import { VectorTransform } from './VectorTransform.js';
import { matmulABt } from './matmul.js';

/** Faiss's tolerance of set_is_orthonormal. */
export const ORTHONORMAL_EPS = 4e-5;

export class LinearTransform extends VectorTransform {
  /** Whether the bias b is added. */
  haveBias: boolean;
  /** Whether A has orthonormal rows (enables reverseTransform). */
  isOrthonormal = false;
  /** The matrix, dOut*dIn floats, row-major; empty until trained. */
  A: Float32Array = new Float32Array(0);
  /** The bias, dOut floats (empty when there is none). */
  b: Float32Array = new Float32Array(0);

  constructor(dIn: number, dOut: number, haveBias = false) {
    super(dIn, dOut);
    this.haveBias = haveBias;
    this.isTrained = false;
  }

  /**
   * A trained LinearTransform with the given matrix and optional bias.
   * @param A dOut*dIn floats, row-major; @param b dOut floats, or undefined for no bias
   */
  static fromMatrix(dIn: number, dOut: number, A: Float32Array, b?: Float32Array): LinearTransform {
    const lt = new LinearTransform(dIn, dOut, b !== undefined);
    lt.setMatrix(A, b);
    return lt;
  }

  /** Sets A (dOut*dIn floats) and b (dOut floats, when haveBias), marks the transform trained and tests orthonormality. */
  setMatrix(A: Float32Array, b?: Float32Array): void {
    if (!(A instanceof Float32Array)) throw new InvalidTypeError('A', `a Float32Array of dOut*dIn = ${this.dOut * this.dIn} floats`, A);
    if (A.length !== this.dOut * this.dIn) {
      throw new InvalidArgumentError('A', `has length ${A.length}, expected dOut*dIn = ${this.dOut}*${this.dIn} = ${this.dOut * this.dIn}`);
    }
    if (b !== undefined) {
      if (!(b instanceof Float32Array)) throw new InvalidTypeError('b', `a Float32Array of dOut = ${this.dOut} floats`, b);
      if (b.length !== this.dOut) throw new InvalidArgumentError('b', `has length ${b.length}, expected dOut = ${this.dOut}`);
      this.b = Float32Array.from(b);
      this.haveBias = true;
    } else if (this.haveBias) {
      throw new InvalidArgumentError('b', `is required: this LinearTransform has haveBias = true (dOut = ${this.dOut} floats)`);
    }
    this.A = Float32Array.from(A);
    this.isTrained = true;
    this.setIsOrthonormal();
  }

  applyNoalloc(x: Float32Array, n: number, out: Float32Array): void {
    const { dIn, dOut } = this;
    this.checkMatrix();
    matmulABt(x, n, dIn, this.A, dOut, out);
    if (this.haveBias) {
      const b = this.b;
      for (let i = 0; i < n; i++) {
        const o = i * dOut;
        for (let j = 0; j < dOut; j++) out[o + j] = out[o + j]! + b[j]!;
      }
    }
  }

  /** Faiss's transform_transpose: x = A^T (y - b), n*dIn floats from y (n*dOut floats). */
  transformTranspose(y: Float32Array): Float32Array {
    const n = this.checkReverse(y);
    this.checkMatrix();
    const { dIn, dOut, A } = this;
    const x = new Float32Array(n * dIn);
    const row = new Float64Array(dIn);
    for (let i = 0; i < n; i++) {
      row.fill(0);
      for (let j = 0; j < dOut; j++) {
        const yj = y[i * dOut + j]! - (this.haveBias ? this.b[j]! : 0);
        if (yj === 0) continue;
        const aj = j * dIn;
        for (let t = 0; t < dIn; t++) row[t]! += yj * A[aj + t]!;
      }
      for (let t = 0; t < dIn; t++) x[i * dIn + t] = row[t]!;
    }
    return x;
  }

  /** A^T (y - b) when A has orthonormal rows; NotSupportedError otherwise (as Faiss). */
  override reverseTransform(y: Float32Array): Float32Array {
    if (!this.isOrthonormal) {
      throw new NotSupportedError(this.typeName, 'reverseTransform', 'implemented only for orthonormal matrices (isOrthonormal is false)');
    }
    return this.transformTranspose(y);
  }

  /** Faiss's set_is_orthonormal: whether A A^T is the identity within 4e-5 (false when dOut > dIn). */
  setIsOrthonormal(): void {
    const { dIn, dOut, A } = this;
    if (dOut > dIn) {
      this.isOrthonormal = false;
      return;
    }
    if (A.length < dOut * dIn) {
      this.isOrthonormal = false;
      return;
    }
    let ok = true;
    for (let i = 0; i < dOut && ok; i++) {
      for (let j = i; j < dOut; j++) {
        let s = 0;
        for (let t = 0; t < dIn; t++) s += A[i * dIn + t]! * A[j * dIn + t]!;
        if (Math.abs(Math.fround(s) - (i === j ? 1 : 0)) > ORTHONORMAL_EPS) {
          ok = false;
          break;
        }
      }
    }
    this.isOrthonormal = ok;
  }

  /** Throws unless A (and b) have their sizes (a trained transform always has). */
  protected checkMatrix(): void {
    if (this.A.length !== this.dOut * this.dIn) {
      throw new InvalidArgumentError('A', `has length ${this.A.length}, expected dOut*dIn = ${this.dOut}*${this.dIn} = ${this.dOut * this.dIn} (transformation matrix not initialized)`);
    }
    if (this.haveBias && this.b.length !== this.dOut) {
      throw new InvalidArgumentError('b', `has length ${this.b.length}, expected dOut = ${this.dOut} (bias not initialized)`);
    }
  }
}
