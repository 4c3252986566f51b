/**
 * @module transforms/OPQMatrix
 * Faiss's OPQMatrix (optimized product quantization, Ge et al. 2013): a rotation R (dOut x dIn, with
 * orthonormal rows) learnt so that a ProductQuantizer(dOut, M, 8) quantizes R x with less error.
 * The factory's "OPQ{M}_{dOut}" puts it before a PQ index of M sub-quantizers ("OPQ16_64,IVF1024,PQ16").
 *
 * Training (Faiss's OPQMatrix::train), alternating for `niter` iterations:
 * 1. project the centred training vectors (zero-padded to d = max(dIn, dOut)): P = X R^T;
 * 2. train the PQ on P (k-means of `niterPq0` iterations the first time, then `niterPq` iterations
 *    started from the previous centroids: Faiss's Train_hot_start; at most 1000 points per centroid),
 *    encode and decode P: the reconstructions Y;
 * 3. orthogonal Procrustes: R = U V^T from the SVD Y^T X = U S V^T (transforms/linalg/svd), the
 *    rotation that best maps X onto Y.
 * The initial R is Faiss's: the first dOut columns of the Q of a QR of d x d normal floats drawn with
 * seed 1234 (unless A was set before train: then it is the starting rotation, as in Faiss). At most
 * `maxTrainPoints` (65536) training vectors, a random subset drawn with rand_perm(n, 1234).
 *
 * Faiss writes an OPQMatrix as a plain LinearTransform ("LTra"): M, niter, ... are not in files, and
 * reading gives back a LinearTransform with the same A.
 */
import { InvalidArgumentError } from '../errors.js';
import { Clustering, randPerm } from '../clustering/Clustering.js';
import { ProductQuantizer } from '../quantizers/ProductQuantizer.js';
import { SubQuantizerAssignIndex } from '../quantizers/SubQuantizerAssignIndex.js';
import { checkPositiveInt, checkVectors } from '../validate.js';
import { LinearTransform } from './LinearTransform.js';
import { floatRandn } from './floatRandn.js';
import { matrixQr } from './linalg/matrixQr.js';
import { svd } from './linalg/svd.js';
import { matmulABt, matmulAtB } from './matmul.js';

/** The seed of the initial rotation and of the training subsample (Faiss's). */
export const OPQ_SEED = 1234;

/** Bits per sub-quantizer index of the PQ OPQ trains with (Faiss's: 8). */
const OPQ_NBITS = 8;

/** What one outer iteration of OPQ training reached (for progress reporting and tests). */
export interface OPQIterationStats {
  /** Mean squared PQ reconstruction error of the projected training vectors. */
  pqError: number;
}

export class OPQMatrix extends LinearTransform {
  /** Number of sub-quantizers of the PQ the rotation is learnt for. */
  readonly M: number;
  /** Outer iterations (PQ training + Procrustes); default 50. */
  niter = 50;
  /** k-means iterations of the PQ at each outer iteration after the first; default 4. */
  niterPq = 4;
  /** k-means iterations of the PQ at the first outer iteration; default 40. */
  niterPq0 = 40;
  /** Train on at most this many vectors (a random subset); default 65536. */
  maxTrainPoints = 256 * 256;
  /** When set, the ProductQuantizer(dOut, M, nbits) used for training (Faiss's `pq`), else an internal PQ(dOut, M, 8). */
  pq: ProductQuantizer | undefined;
  /** Receives the k-means warning of training with few points (once per train()); default: stderr. */
  onWarning: ((message: string) => void) | undefined;
  /** One entry per outer iteration of the last train(). */
  iterationStats: OPQIterationStats[] = [];

  /**
   * @param d input dimension
   * @param M sub-quantizers; must divide dOut
   * @param dOut output dimension (default d); Faiss's d2
   */
  constructor(d: number, M = 1, dOut?: number) {
    const d2 = dOut ?? d;
    super(d, d2, false);
    checkPositiveInt(M, 'M');
    if (d2 % M !== 0) {
      throw new InvalidArgumentError('M', `= ${M} does not divide dOut = ${d2}: OPQMatrix learns a rotation for a product quantizer of M sub-vectors of dOut / M dimensions`);
    }
    this.M = M;
  }

  /** Learns the rotation from n training vectors (x: n*dIn floats, n >= 256). */
  override train(x: Float32Array): void {
    const { dIn, dOut, M } = this;
    let n = checkVectors(x, dIn);
    const ksub = 1 << (this.pq?.nbits ?? OPQ_NBITS);
    if (n < ksub) {
      throw new InvalidArgumentError('x', `holds ${n} training vectors: OPQMatrix(${dIn} -> ${dOut}, M = ${M}) trains a product quantizer of ${ksub} centroids per sub-quantizer and needs at least ${ksub} vectors`);
    }
    for (const [name, v] of [['niter', this.niter], ['niterPq', this.niterPq], ['niterPq0', this.niterPq0], ['maxTrainPoints', this.maxTrainPoints]] as const) {
      if (!Number.isInteger(v) || v < (name === 'maxTrainPoints' ? 1 : 0)) throw new InvalidArgumentError(name, `must be a non-negative integer, got ${String(v)}`);
    }
    if (this.pq !== undefined && (this.pq.d !== dOut || this.pq.M !== M)) {
      throw new InvalidArgumentError('pq', `is a ProductQuantizer(d = ${this.pq.d}, M = ${this.pq.M}), expected d = dOut = ${dOut} and M = ${M}`);
    }
    if (n > this.maxTrainPoints) {
      const nmax = this.maxTrainPoints;
      if (this.verbose) console.error(`  Input training set too big (max size is ${nmax}), sampling ${nmax} / ${n} vectors`);
      const perm = randPerm(n, OPQ_SEED);
      const sub = new Float32Array(nmax * dIn);
      for (let i = 0; i < nmax; i++) sub.set(x.subarray(perm[i]! * dIn, (perm[i]! + 1) * dIn), i * dIn);
      x = sub;
      n = nmax;
    }
    // To support dOut > dIn, the input vectors are padded with zeros to d = dOut.
    const d = Math.max(dIn, dOut);
    const d2 = dOut;
    if (this.verbose) console.error(`OPQMatrix::train: training an OPQ rotation matrix for M=${M} from ${n} vectors in ${dIn}D -> ${dOut}D`);

    // centred training vectors, n x d
    const mean = new Float64Array(dIn);
    for (let i = 0; i < n; i++) for (let j = 0; j < dIn; j++) mean[j]! += x[i * dIn + j]!;
    for (let j = 0; j < dIn; j++) mean[j] = Math.fround(mean[j]! / n);
    const xtrain = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < dIn; j++) xtrain[i * d + j] = x[i * dIn + j]! - mean[j]!;

    // the rotation, d2 x d (rows orthonormal)
    let rotation: Float32Array;
    if (this.A.length === 0) {
      const q = floatRandn(d * d, OPQ_SEED);
      matrixQr(d, d, q);
      rotation = q.slice(0, d * d2); // the first d2 columns of Q are the rows of R
    } else {
      if (this.A.length !== d * d2) {
        throw new InvalidArgumentError('A', `has length ${this.A.length}, expected d*dOut = ${d}*${d2} = ${d * d2} to start the training from it`);
      }
      rotation = this.A;
    }

    const pq = this.pq ?? new ProductQuantizer(d2, M, OPQ_NBITS);
    const assign = new SubQuantizerAssignIndex(pq.dsub);
    let warned = false;
    const onWarning = (message: string): void => {
      if (warned) return;
      warned = true;
      const m = `${message} (OPQMatrix: for each of the M = ${M} sub-quantizers)`;
      if (this.onWarning) this.onWarning(m);
      else console.error(m);
    };
    this.iterationStats = [];
    const xproj = new Float32Array(n * d2);
    const t0 = Date.now();
    try {
      for (let iter = 0; iter < this.niter; iter++) {
        matmulABt(xtrain, n, d, rotation, d2, xproj);
        const niterPq = iter === 0 ? this.niterPq0 : this.niterPq;
        trainProductQuantizer(pq, xproj, n, niterPq, iter > 0, assign, this.verbose, onWarning);
        const recons = pq.decode(pq.computeCodes(xproj));
        let err = 0;
        for (let i = 0; i < n * d2; i++) {
          const e = recons[i]! - xproj[i]!;
          err += e * e;
        }
        this.iterationStats.push({ pqError: err / n });
        if (this.verbose) console.error(`Iter ${iter}: PQ training (${niterPq} iterations) done at ${((Date.now() - t0) / 1000).toFixed(3)} s, obj=${err / n}`);
        // Procrustes: R = U V^T from the SVD of Y^T X (d2 x d)
        const cross = matmulAtB(recons, xtrain, n, d2, d);
        const { U, V } = svd(cross, d2, d);
        rotation = new Float32Array(d2 * d);
        for (let a = 0; a < d2; a++) {
          for (let b = 0; b < d; b++) {
            let s = 0;
            for (let r = 0; r < d2; r++) s += U[a * d2 + r]! * V[b * d2 + r]!;
            rotation[a * d + b] = s;
          }
        }
      }
    } finally {
      assign.dispose();
    }
    // back to dIn columns
    if (d > dIn) {
      const A = new Float32Array(d2 * dIn);
      for (let i = 0; i < d2; i++) A.set(rotation.subarray(i * d, i * d + dIn), i * dIn);
      rotation = A;
    }
    this.A = rotation;
    this.isTrained = true;
    this.isOrthonormal = true;
  }
}

/**
 * Trains pq on the n vectors x (n*pq.d floats) as Faiss's ProductQuantizer::train does, with
 * `niter` k-means iterations and at most 1000 points per centroid (OPQ's settings); with `hotStart`,
 * each sub-quantizer's k-means starts from its current centroids (Faiss's Train_hot_start).
 */
function trainProductQuantizer(
  pq: ProductQuantizer,
  x: Float32Array,
  n: number,
  niter: number,
  hotStart: boolean,
  assign: SubQuantizerAssignIndex,
  verbose: boolean,
  onWarning: (message: string) => void,
): void {
  const { M, ksub, dsub, d } = pq;
  const cp = { ...pq.cp, niter, maxPointsPerCentroid: 1000, verbose: verbose && pq.cp.verbose };
  const centroids = Float32Array.from(pq.centroids);
  const xs = new Float32Array(n * dsub);
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < n; i++) xs.set(x.subarray(i * d + m * dsub, i * d + (m + 1) * dsub), i * dsub);
    const clus = new Clustering(dsub, ksub, { ...cp, onWarning });
    if (hotStart) clus.centroids = centroids.slice(m * ksub * dsub, (m + 1) * ksub * dsub);
    assign.reset();
    clus.train(xs, assign);
    centroids.set(clus.centroids, m * ksub * dsub);
  }
  pq.centroids = centroids;
}
