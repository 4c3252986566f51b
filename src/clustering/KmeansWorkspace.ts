/**
 * @module clustering/KmeansWorkspace
 * The training points of a k-means run, copied once into a WebAssembly memory with room for each
 * iteration's centroids and assignment, so that the per-point loops besides the assignment run in the
 * kernels (assembly/kmeans.ts): the distance of each point to its centroid (BoundedAssigner's exact
 * upper bound) and the float64 sums of each centroid's points (computeCentroids, the same sums in
 * the same order as the TypeScript loop). Runs whose points pass WORKSPACE_MAX_BYTES keep the
 * TypeScript loops rather than hold a second copy that large.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';

/** Largest training set (bytes of floats) copied into a workspace. */
export const WORKSPACE_MAX_BYTES = 1 << 30;
const PAGE = 65536;
const align16 = (v: number): number => Math.ceil(v / 16) * 16;

export class KmeansWorkspace {
  private readonly memory: WebAssembly.Memory;
  private readonly kern: WasmKernels;
  private readonly X: number;
  private readonly C: number;
  private readonly A: number;
  private readonly W: number;
  private readonly OUT: number;
  private readonly SUMS: number;
  private readonly COUNTS: number;
  private readonly hasWeights: boolean;

  private constructor(
    readonly n: number,
    readonly d: number,
    readonly k: number,
    x: Float32Array,
    weights: Float32Array | undefined,
  ) {
    this.X = 0;
    this.C = align16(this.X + n * d * 4);
    this.A = align16(this.C + k * d * 4);
    this.W = align16(this.A + n * 4);
    this.OUT = align16(this.W + (weights !== undefined ? n * 4 : 0));
    this.SUMS = align16(this.OUT + n * 4);
    this.COUNTS = align16(this.SUMS + k * d * 8);
    const pages = Math.ceil(align16(this.COUNTS + k * 8) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.kern = kernelsFor(this.memory);
    new Float32Array(this.memory.buffer, this.X, n * d).set(x.subarray(0, n * d));
    if (weights !== undefined) new Float32Array(this.memory.buffer, this.W, n).set(weights.subarray(0, n));
    this.hasWeights = weights !== undefined;
  }

  /** A workspace for n points of dimension d and k centroids; undefined when the points are too large to copy. */
  static create(x: Float32Array, n: number, d: number, k: number, weights?: Float32Array): KmeansWorkspace | undefined {
    // the points, and the centroids with their float64 sums
    if (n * d * 4 > WORKSPACE_MAX_BYTES || k * d * 12 > WORKSPACE_MAX_BYTES) return undefined;
    return new KmeansWorkspace(n, d, k, x, weights);
  }

  /** out[i] = ||x_i - centroid_{assign[i]}||^2 (float sums, the kernels' fvec_L2sqr). */
  assignedDistances(centroids: Float32Array, assign: Int32Array, out: Float32Array): void {
    const { n, d, k } = this;
    const buf = this.memory.buffer;
    new Float32Array(buf, this.C, k * d).set(centroids);
    new Int32Array(buf, this.A, n).set(assign);
    this.kern.kmeans_assigned_l2(this.X, n, d, this.C, this.A, this.OUT);
    out.set(new Float32Array(buf, this.OUT, n));
  }

  /**
   * hassign[c] = the number (or weight) of points assigned to centroid kFrozen + c, sums[c*d + j] the
   * float64 sum of their coordinates (weighted), in the points' order.
   */
  accumulate(assign: Int32Array, kFrozen: number, hassign: Float64Array, sums: Float64Array): void {
    const { n, d, k } = this;
    const buf = this.memory.buffer;
    const kk = k - kFrozen;
    new Int32Array(buf, this.A, n).set(assign);
    new Float64Array(buf, this.SUMS, kk * d).fill(0);
    new Float64Array(buf, this.COUNTS, kk).fill(0);
    this.kern.kmeans_accumulate(this.X, n, d, this.A, kFrozen, this.hasWeights ? this.W : 0, this.SUMS, this.COUNTS);
    sums.fill(0);
    hassign.fill(0);
    sums.set(new Float64Array(buf, this.SUMS, kk * d));
    hassign.set(new Float64Array(buf, this.COUNTS, kk));
  }
}
