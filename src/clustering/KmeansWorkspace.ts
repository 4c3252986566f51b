/**
 * @module clustering/KmeansWorkspace
 * The training points of a k-means run, copied once into a WebAssembly memory with room for each
 * iteration's centroids and assignment, so that the per-point loops besides the assignment run in the
 * kernels (assembly/kmeans.ts): the distance of each point to its centroid (BoundedAssigner's exact
 * upper bound) and the float64 sums of each centroid's points (computeCentroids, the same sums in
 * the same order as the TypeScript loop). Runs whose points pass WORKSPACE_MAX_BYTES keep the
 * TypeScript loops rather than hold a second copy that large.
 *
 * A released workspace leaves its memory (up to SPARE_MAX_BYTES) to the next one created before the
 * event loop turns.
 *
 * With `elkan`, it also holds ElkanAssigner's state (src/clustering/elkanAssign.ts): n*k lower bounds,
 * the previous centroids, the centroid geometry of each step and the packed centroids of the GEMM.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';

/** Largest training set (bytes of floats) copied into a workspace. */
export const WORKSPACE_MAX_BYTES = 1 << 30;
const PAGE = 65536;
/**
 * Largest workspace memory kept for the next run (one per thread), until control returns to the
 * event loop: back-to-back runs (a product quantizer's M sub-space k-means, nredo) reuse mapped pages.
 */
export const SPARE_MAX_BYTES = 256 << 20;
let spare: WebAssembly.Memory | undefined;
let dropScheduled = false;

/** Lets the spare memory go at the next turn of the event loop. */
function scheduleDrop(): void {
  if (dropScheduled) return;
  dropScheduled = true;
  const t: unknown = setTimeout(() => {
    spare = undefined;
    dropScheduled = false;
  }, 0);
  // a pending drop does not keep Node's process alive
  (t as { unref?: () => void }).unref?.();
}

/** The spare memory when it holds at least `bytes` (it then leaves the spare slot). */
function takeSpare(bytes: number): WebAssembly.Memory | undefined {
  const m = spare;
  if (m === undefined || m.buffer.byteLength < bytes) return undefined;
  spare = undefined;
  return m;
}
/** Relative slack of Elkan's skip tests (float rounding of the distances and bounds). */
const ELKAN_SLACK = 1 - 1e-5;
/**
 * The GEMM's squared distances ||x||^2 + ||c||^2 - 2<x, c> are trusted to within
 * GEMM_REL * sqrt(d) * (||x||^2 + max ||c||^2): some 70 times float's rounding of a d-term dot product.
 */
const GEMM_REL = 4e-6;
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
  // Elkan's state (0 without it)
  private readonly LOWER: number;
  private readonly PREV: number;
  private readonly HALF: number;
  private readonly SEP: number;
  private readonly MOVED: number;
  private readonly CNORMS: number;
  private readonly PACK: number;
  private readonly CAND: number;

  private constructor(
    readonly n: number,
    readonly d: number,
    readonly k: number,
    x: Float32Array,
    weights: Float32Array | undefined,
    elkan: boolean,
  ) {
    this.X = 0;
    this.C = align16(this.X + n * d * 4);
    this.A = align16(this.C + k * d * 4);
    this.W = align16(this.A + n * 4);
    this.OUT = align16(this.W + (weights !== undefined ? n * 4 : 0));
    this.SUMS = align16(this.OUT + n * 4);
    this.COUNTS = align16(this.SUMS + k * d * 8);
    const end = align16(this.COUNTS + k * 8);
    this.LOWER = elkan ? end : 0;
    this.PREV = elkan ? align16(this.LOWER + n * k * 4) : 0;
    this.HALF = elkan ? align16(this.PREV + k * d * 4) : 0;
    this.SEP = elkan ? align16(this.HALF + k * k * 4) : 0;
    this.MOVED = elkan ? align16(this.SEP + k * 4) : 0;
    this.CNORMS = elkan ? align16(this.MOVED + k * 4) : 0;
    this.PACK = elkan ? align16(this.CNORMS + k * 4) : 0;
    this.CAND = elkan ? align16(this.PACK + Math.ceil(k / 8) * d * 32) : 0;
    const pages = Math.ceil((elkan ? this.CAND + (k + 4) * 4 : end) / PAGE);
    this.memory = takeSpare(pages * PAGE) ?? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.kern = kernelsFor(this.memory);
    new Float32Array(this.memory.buffer, this.X, n * d).set(x.subarray(0, n * d));
    if (weights !== undefined) new Float32Array(this.memory.buffer, this.W, n).set(weights.subarray(0, n));
    this.hasWeights = weights !== undefined;
  }

  /**
   * A workspace for n points of dimension d and k centroids, with room for Elkan's bounds when
   * `elkan`; undefined when the points are too large to copy.
   */
  static create(x: Float32Array, n: number, d: number, k: number, weights?: Float32Array, elkan = false): KmeansWorkspace | undefined {
    // the points, and the centroids with their float64 sums
    if (n * d * 4 > WORKSPACE_MAX_BYTES || k * d * 12 > WORKSPACE_MAX_BYTES) return undefined;
    return new KmeansWorkspace(n, d, k, x, weights, elkan);
  }

  /**
   * The position (row * d + column) of the first NaN or infinity among the points, or -1: the
   * points were copied here anyway, and the SIMD scan is some 20 times faster than a loop in JavaScript.
   */
  firstNonFinite(): number {
    return this.kern.fvec_first_nonfinite(this.X, this.n * this.d);
  }

  /**
   * Ends the workspace's use: its memory is kept (when at most SPARE_MAX_BYTES) for a next run's
   * workspace until the event loop turns, so that its pages are already mapped (a first touch costs
   * some 0.75 ms per MiB).
   */
  release(): void {
    const bytes = this.memory.buffer.byteLength;
    if (bytes <= SPARE_MAX_BYTES && (spare === undefined || spare.buffer.byteLength < bytes)) {
      spare = this.memory;
      scheduleDrop();
    }
  }

  /** Whether the workspace holds Elkan's state. */
  get hasElkan(): boolean {
    return this.LOWER !== 0;
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
   * One assignment step with Elkan's bounds (ElkanAssigner) against the new centroids: updates
   * assign and dis (each point's squared distance to its centroid); returns the number of
   * distances computed one by one (besides the GEMM of a full step).
   * full: compute every distance through the GEMM (inner_products_packed) and restart the bounds
   * from them (kmeans_elkan_full); otherwise lower the bounds by the centroids' movement since
   * the last step and compute only the distances they do not rule out (kmeans_elkan).
   */
  elkanStep(centroids: Float32Array, assign: Int32Array, dis: Float32Array, full: boolean): number {
    const { n, d, k } = this;
    if (!this.hasElkan) throw new Error('KmeansWorkspace: created without Elkan state');
    const buf = this.memory.buffer;
    new Float32Array(buf, this.C, k * d).set(centroids);
    let computed: number;
    if (full) {
      const cn = new Float32Array(buf, this.CNORMS, k);
      this.kern.fvec_norms_L2sqr(this.CNORMS, this.C, d, k);
      let cmax = 0;
      for (let c = 0; c < k; c++) cmax = Math.max(cmax, cn[c]!);
      this.kern.pack_block(this.PACK, this.C, k, d);
      this.kern.inner_products_packed(this.LOWER, k, this.X, n, this.PACK, k, d);
      computed = this.kern.kmeans_elkan_full(this.X, n, d, this.C, k, this.CNORMS, cmax, GEMM_REL * Math.sqrt(d), this.A, this.LOWER, this.OUT);
      new Float32Array(buf, this.MOVED, k).fill(0);
    } else {
      new Int32Array(buf, this.A, n).set(assign);
      this.kern.kmeans_elkan_geometry(this.C, this.PREV, k, d, this.HALF, this.SEP, this.MOVED);
      computed = this.kern.kmeans_elkan(this.X, n, d, this.C, k, this.HALF, this.SEP, this.MOVED, ELKAN_SLACK, this.A, this.LOWER, this.OUT, this.CAND);
    }
    assign.set(new Int32Array(buf, this.A, n));
    dis.set(new Float32Array(buf, this.OUT, n));
    new Float32Array(buf, this.PREV, k * d).set(centroids);
    return computed;
  }

  /**
   * hassign[c] = the number (or weight) of points assigned to centroid kFrozen + c, sums[c*d + j] the
   * float64 sum of their coordinates (weighted), in the points' order (the first k - kFrozen rows;
   * the rest is left as it is).
   */
  accumulate(assign: Int32Array, kFrozen: number, hassign: Float64Array, sums: Float64Array): void {
    const { n, d, k } = this;
    const buf = this.memory.buffer;
    const kk = k - kFrozen;
    new Int32Array(buf, this.A, n).set(assign);
    new Float64Array(buf, this.SUMS, kk * d).fill(0);
    new Float64Array(buf, this.COUNTS, kk).fill(0);
    this.kern.kmeans_accumulate(this.X, n, d, this.A, kFrozen, this.hasWeights ? this.W : 0, this.SUMS, this.COUNTS);
    sums.set(new Float64Array(buf, this.SUMS, kk * d));
    hassign.set(new Float64Array(buf, this.COUNTS, kk));
  }
}
