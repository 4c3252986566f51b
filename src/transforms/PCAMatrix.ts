/**
 * @module transforms/PCAMatrix
 * Faiss's PCAMatrix: projects vectors on the dOut principal directions of the training vectors
 * (y = A (x - mean), A's rows the eigenvectors of the covariance with the largest eigenvalues),
 * optionally whitened (eigenPower) and followed by a random rotation.
 *
 * Training (Faiss's PCAMatrix::train):
 * 1. at most maxPointsPerD * dIn training vectors (a random subset, Faiss's fvecs_maybe_subsample
 *    with rand_perm(n, 1234));
 * 2. the mean (zero when haveBias is false);
 * 3. n >= dIn: the scatter matrix C = sum_i (x_i - mean)(x_i - mean)^T (not divided by n: the
 *    eigenvalues are Faiss's, n - 1 times the sample variances), decomposed by transforms/linalg/
 *    symmetricEigen; PCAMat (dIn x dIn) holds the eigenvectors, one per row, largest eigenvalue first;
 *    n < dIn: the Gram matrix G = X_c X_c^T (n x n) is decomposed instead and PCAMat (n x dIn) holds
 *    the rows X_c^T v_i, L2-normalised; eigenvalues beyond the n-th are 0. dOut must then be <= n.
 * 4. prepareAb: A = the first dOut rows of PCAMat, each scaled by (eigenvalue + epsilon)^eigenPower
 *    when eigenPower != 0 (-0.5 whitens: "PCAW"), or, with randomRotation ("PCAR"), A = R diag(
 *    eigenvalue^eigenPower) PCAMat[:dOut] with R Faiss's RandomRotationMatrix(dOut, dOut) seeded 5;
 *    balancedBins > 0 (Faiss's greedy assignment of eigenvectors to bins of equal total variance)
 *    permutes the rows; b = -A mean; isOrthonormal = (eigenPower == 0).
 *
 * Eigenvector signs are arbitrary (LAPACK's too), so A matches Faiss's up to the sign of each row.
 * Arithmetic: the scatter matrix is summed in float64 (by blocks of float32 products), more accurate
 * than Faiss's single-precision ssyrk with the mean correction afterwards.
 */
import { InvalidArgumentError, NotSupportedError, NotTrainedError } from '../errors.js';
import { randPerm } from '../clustering/Clustering.js';
import { checkVectors } from '../validate.js';
import { LinearTransform } from './LinearTransform.js';
import { RandomRotationMatrix } from './RandomRotationMatrix.js';
import { matmulABt, matmulAtB } from './matmul.js';
import { symmetricEigen } from './linalg/symmetricEigen.js';

/** The seed of PCAMatrix's random rotation (Faiss's). */
export const PCA_ROTATION_SEED = 5;
/** The seed of the training subsample (Faiss's fvecs_maybe_subsample default). */
export const PCA_SUBSAMPLE_SEED = 1234;

export class PCAMatrix extends LinearTransform {
  /** Each output component is multiplied by eigenvalue^eigenPower: 0 none, -0.5 whitening. */
  eigenPower: number;
  /** Added to the eigenvalues before the power (avoids dividing by 0 when whitening); default 0. */
  epsilon = 0;
  /** Apply a random rotation (RandomRotationMatrix(dOut, dOut).init(5)) after the projection. */
  randomRotation: boolean;
  /** Train on at most maxPointsPerD * dIn vectors (a random subset); default 1000. */
  maxPointsPerD = 1000;
  /** Distribute the output eigenvectors over this many bins of equal total variance (0: no). */
  balancedBins = 0;
  /** The mean of the training vectors, dIn floats. */
  mean: Float32Array = new Float32Array(0);
  /** Eigenvalues of the scatter matrix, largest first, dIn floats. */
  eigenvalues: Float32Array = new Float32Array(0);
  /** The eigenvectors, one per row (dIn x dIn floats; n x dIn when trained on n < dIn vectors). */
  PCAMat: Float32Array = new Float32Array(0);

  /**
   * @param dIn input dimension; @param dOut output dimension, 1 .. dIn
   * @param eigenPower 0 (plain PCA) or e.g. -0.5 (whitening); @param randomRotation rotate the output
   */
  constructor(dIn: number, dOut: number, eigenPower = 0, randomRotation = false) {
    super(dIn, dOut, true);
    if (dOut > dIn) {
      throw new InvalidArgumentError('dOut', `= ${dOut} must be <= dIn = ${dIn}: a PCA matrix cannot output ${dOut} dimensions from ${dIn}`);
    }
    if (typeof eigenPower !== 'number' || !Number.isFinite(eigenPower)) {
      throw new InvalidArgumentError('eigenPower', `must be a finite number (0, or -0.5 to whiten), got ${String(eigenPower)}`);
    }
    this.eigenPower = eigenPower;
    this.randomRotation = Boolean(randomRotation);
  }

  /** Learns mean, eigenvalues and PCAMat from n training vectors (x: n*dIn floats, n >= dOut), then A and b. */
  override train(x: Float32Array): void {
    const { dIn, dOut } = this;
    let n = checkVectors(x, dIn);
    if (n < 1 || n < dOut) {
      throw new InvalidArgumentError('x', `holds ${n} training vectors: PCAMatrix(${dIn} -> ${dOut}) needs at least dOut = ${dOut} of them`);
    }
    if (this.balancedBins !== 0 && this.randomRotation) {
      throw new NotSupportedError('PCAMatrix', 'balancedBins with randomRotation', 'both balancing bins and applying a random rotation does not make sense');
    }
    const nmax = this.maxPointsPerD * dIn;
    if (n > nmax) {
      if (this.verbose) console.error(`  Input training set too big (max size is ${nmax}), sampling ${nmax} / ${n} vectors`);
      const perm = randPerm(n, PCA_SUBSAMPLE_SEED);
      const sub = new Float32Array(nmax * dIn);
      for (let i = 0; i < nmax; i++) sub.set(x.subarray(perm[i]! * dIn, (perm[i]! + 1) * dIn), i * dIn);
      x = sub;
      n = nmax;
    }
    // mean
    const mean = new Float64Array(dIn);
    if (this.haveBias) {
      for (let i = 0; i < n; i++) for (let j = 0; j < dIn; j++) mean[j]! += x[i * dIn + j]!;
      for (let j = 0; j < dIn; j++) mean[j]! /= n;
    }
    this.mean = Float32Array.from(mean);
    const xc = new Float32Array(n * dIn);
    for (let i = 0; i < n; i++) for (let j = 0; j < dIn; j++) xc[i * dIn + j] = x[i * dIn + j]! - this.mean[j]!;

    if (n >= dIn) {
      const cov = matmulAtB(xc, xc, n, dIn, dIn);
      const eig = symmetricEigen(cov, dIn);
      this.PCAMat = Float32Array.from(eig.vectors);
      this.eigenvalues = Float32Array.from(eig.values);
    } else {
      // Gram matrix of the centred vectors; its eigenvectors v_i give the principal directions X_c^T v_i
      const gram32 = matmulABt(xc, n, dIn, xc, n);
      const gram = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) gram[i * n + j] = gram[j * n + i] = (gram32[i * n + j]! + gram32[j * n + i]!) / 2;
      const eig = symmetricEigen(gram, n);
      const pcaMat = new Float32Array(n * dIn);
      const row = new Float64Array(dIn);
      for (let r = 0; r < n; r++) {
        row.fill(0);
        for (let j = 0; j < n; j++) {
          const v = eig.vectors[r * n + j]!;
          for (let t = 0; t < dIn; t++) row[t]! += v * xc[j * dIn + t]!;
        }
        let nr = 0;
        for (let t = 0; t < dIn; t++) nr += row[t]! * row[t]!;
        const inv = nr > 0 ? 1 / Math.sqrt(nr) : 0;
        for (let t = 0; t < dIn; t++) pcaMat[r * dIn + t] = nr > 0 ? row[t]! * inv : row[t]!;
      }
      this.PCAMat = pcaMat;
      const ev = new Float32Array(dIn);
      ev.set(eig.values);
      this.eigenvalues = ev;
    }
    this.prepareAb();
    this.isTrained = true;
  }

  /** Faiss's copy_from: takes the mean, eigenvalues and PCAMat of a trained PCAMatrix, then computes A and b. */
  copyFrom(other: PCAMatrix): void {
    if (!other.isTrained) throw new NotTrainedError(other.typeName, 'copyFrom');
    if (other.dIn !== this.dIn) throw new InvalidArgumentError('other', `has dIn = ${other.dIn}, expected ${this.dIn}`);
    this.mean = Float32Array.from(other.mean);
    this.eigenvalues = Float32Array.from(other.eigenvalues);
    this.PCAMat = Float32Array.from(other.PCAMat);
    this.prepareAb();
    this.isTrained = true;
  }

  /** Faiss's prepare_Ab: A and b from mean, eigenvalues and PCAMat (see the module doc). */
  prepareAb(): void {
    const { dIn, dOut, eigenPower } = this;
    if (dOut * dIn > this.PCAMat.length) {
      throw new InvalidArgumentError('dOut', `= ${dOut}: the PCA matrix cannot output ${dOut} dimensions from ${dIn} (PCAMat holds ${this.PCAMat.length / dIn} eigenvectors)`);
    }
    let A: Float32Array;
    if (!this.randomRotation) {
      A = this.PCAMat.slice(0, dOut * dIn);
      if (eigenPower !== 0) {
        for (let i = 0; i < dOut; i++) {
          const factor = Math.fround(Math.pow(Math.fround(this.eigenvalues[i]! + this.epsilon), eigenPower));
          for (let j = 0; j < dIn; j++) A[i * dIn + j] = A[i * dIn + j]! * factor;
        }
      }
      if (this.balancedBins !== 0) A = this.balance(A);
    } else {
      if (this.balancedBins !== 0) {
        throw new NotSupportedError('PCAMatrix', 'balancedBins with randomRotation', 'both balancing bins and applying a random rotation does not make sense');
      }
      const rr = new RandomRotationMatrix(dOut, dOut);
      rr.init(PCA_ROTATION_SEED);
      const R = rr.A;
      if (eigenPower !== 0) {
        for (let i = 0; i < dOut; i++) {
          const factor = Math.fround(Math.pow(this.eigenvalues[i]!, eigenPower));
          for (let j = 0; j < dOut; j++) R[j * dOut + i] = R[j * dOut + i]! * factor;
        }
      }
      // A = R PCAMat[:dOut]
      A = new Float32Array(dOut * dIn);
      const row = new Float64Array(dIn);
      for (let j = 0; j < dOut; j++) {
        row.fill(0);
        for (let i = 0; i < dOut; i++) {
          const r = R[j * dOut + i]!;
          for (let t = 0; t < dIn; t++) row[t]! += r * this.PCAMat[i * dIn + t]!;
        }
        A.set(row, j * dIn);
      }
    }
    const b = new Float32Array(dOut);
    for (let i = 0; i < dOut; i++) {
      let accu = 0;
      for (let j = 0; j < dIn; j++) accu -= this.mean[j]! * A[i * dIn + j]!;
      b[i] = accu;
    }
    this.A = A;
    this.b = b;
    this.isOrthonormal = eigenPower === 0;
  }

  /** Faiss's balanced_bins: greedily assigns each eigenvector to the bin of least total variance that has room. */
  private balance(Ain: Float32Array): Float32Array {
    const { dIn, dOut, balancedBins } = this;
    if (!Number.isInteger(balancedBins) || balancedBins < 0 || dOut % balancedBins !== 0) {
      throw new InvalidArgumentError('balancedBins', `= ${balancedBins} must be a positive divisor of dOut = ${dOut}`);
    }
    const dsub = dOut / balancedBins;
    const A = new Float32Array(dOut * dIn);
    const accu = new Float32Array(balancedBins);
    const counter = new Int32Array(balancedBins);
    for (let i = 0; i < dOut; i++) {
      let best = -1;
      let minW = 1e30;
      for (let j = 0; j < balancedBins; j++) {
        if (counter[j]! < dsub && accu[j]! < minW) {
          minW = accu[j]!;
          best = j;
        }
      }
      const rowDst = best * dsub + counter[best]!;
      accu[best] = accu[best]! + this.eigenvalues[i]!;
      counter[best]!++;
      A.set(Ain.subarray(i * dIn, (i + 1) * dIn), rowDst * dIn);
    }
    return A;
  }
}
