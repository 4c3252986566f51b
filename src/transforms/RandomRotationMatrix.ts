/**
 * @module transforms/RandomRotationMatrix
 * Faiss's RandomRotationMatrix: a random orthonormal matrix drawn from a seed, the same as Faiss's
 * for the same seed (up to float rounding of the QR factorisation).
 *
 * init(seed): dOut <= dIn: dOut*dIn normal floats (Faiss's float_randn), read as a column-major
 * dIn x dOut matrix, orthonormalised by QR (matrix_qr): the columns of Q are the rows of A.
 * dOut > dIn ("tight frame"): a dOut x dOut orthogonal Q, of which each column keeps its first dIn
 * entries; A is then dOut x dIn with orthonormal columns (isOrthonormal is still set, as Faiss sets it).
 * train() is init(12345), whatever the vectors (Faiss's arbitrary seed): the factory's "RR{n}" is
 * trained by IndexPreTransform.train.
 */
import { LinearTransform } from './LinearTransform.js';
import { floatRandn } from './floatRandn.js';
import { matrixQr } from './linalg/matrixQr.js';
import { checkVectors } from '../validate.js';
import { InvalidArgumentError } from '../errors.js';

/** The seed RandomRotationMatrix.train uses (Faiss's). */
export const RANDOM_ROTATION_TRAIN_SEED = 12345;

export class RandomRotationMatrix extends LinearTransform {
  constructor(dIn: number, dOut: number) {
    super(dIn, dOut, false);
  }

  /** Draws the rotation from `seed` (Faiss's init); the transform is then trained. */
  init(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError('seed', `must be an integer, got ${String(seed)}`);
    const { dIn, dOut } = this;
    if (dOut <= dIn) {
      const q = floatRandn(dOut * dIn, seed);
      matrixQr(dIn, dOut, q);
      this.A = q;
    } else {
      const q = floatRandn(dOut * dOut, seed);
      matrixQr(dOut, dOut, q);
      const A = new Float32Array(dOut * dIn);
      for (let i = 0; i < dOut; i++) for (let j = 0; j < dIn; j++) A[i * dIn + j] = q[i * dOut + j]!;
      this.A = A;
    }
    this.isOrthonormal = true;
    this.isTrained = true;
  }

  /** Faiss's train: init(12345); the vectors are not used. */
  override train(x: Float32Array): void {
    checkVectors(x, this.dIn);
    this.init(RANDOM_ROTATION_TRAIN_SEED);
  }
}
