/**
 * @module search/ProjectedL2Bounds
 * Exact L2 k-NN over a flat set of vectors with most of the distance computations skipped, provably.
 * What IndexFlatL2 runs when it is a coarse quantizer or holds k-means centroids: the results of
 * scanning every vector (up to float rounding, as between two BLAS orderings) for several times less
 * arithmetic on data whose variance lies mostly in a few directions (as embeddings, SIFT and the
 * bench's sets do).
 *
 * The bound. Let mu be the mean of the stored vectors and P the projection on r orthonormal
 * directions (the leading principal directions of a sample, by subspace iteration), Q = I - P. For a
 * query x and a stored vector c, with x' = x - mu, c' = c - mu:
 *   ||x - c||^2 = ||P(x' - c')||^2 + ||Q(x' - c')||^2 >= ||Px' - Pc'||^2 + (||Qx'|| - ||Qc'||)^2
 * (reverse triangle inequality on the Q part). The right-hand side is the squared L2 distance
 * between the (r+1)-dimensional projections [Px', ||Qx'||] and [Pc', ||Qc'||]: the bounds of a block
 * of queries against every stored vector are one small matrix product (the blocked kernel).
 *
 * The search (search/boundsScan, on every thread): per query, the exact distances of the k vectors
 * of smallest bound give tau >= the true k-th distance; every vector whose bound is at most tau
 * (plus a margin for float rounding) is a candidate, and the exact k best of the candidates are the
 * result: a vector left out has a distance >= its bound > tau.
 *
 * The index decides when this pays (IndexFlat): L2, d >= 64, 512 to 131,072 vectors in one segment,
 * k <= 32, enough queries searched since the last change to repay building the projections; it
 * stops using them for the current contents when the candidates exceed a quarter of the vectors.
 */
import { kernelsFor } from '../kernels/wasm.js';
import { Segment } from '../storage/Segment.js';
import { forgetDropped, getNumThreads, parallelFor } from '../threads/pool.js';
import { sharedF32, sharedI64, toSharedF32 } from '../threads/shared.js';
import { boundsQueryBlock, boundsRange, type BoundsTask } from './boundsScan.js';
import type { SegmentRef } from './exhaustive.js';

/** Fewest stored vectors for which the bounds are built. */
export const BOUNDS_MIN_VECTORS = 512;
/** Smallest dimension for which the bounds are built. */
export const BOUNDS_MIN_DIM = 64;
/** Most stored vectors for which the bounds are built. */
export const BOUNDS_MAX_VECTORS = 131072;
/** Rows of the sample the directions are computed from. */
const SAMPLE_ROWS = 1024;
/** Subspace iterations from a random start. */
const COLD_ITERATIONS = 3;
/** Bytes of queries projected at once. */
const PROJECT_BLOCK_BYTES = 4 << 20;
/**
 * Margins of the proof, for float rounding. On the exact side, relative to tau (the exact distances
 * are direct sums, relative error about sqrt(d) * 6e-8). On the bounds' side, the projections and
 * the residual norms are float sums of d products, absolute errors about sqrt(d) * 6e-8 * ||x - mu||
 * each, which reach the bound multiplied by ||x - mu|| + ||c - mu||: the margin is
 * SPREAD_SLACK * sqrt(d) * (||x - mu||^2 + max ||c - mu||^2), several times that.
 */
const REL_SLACK = 1e-4;
const SPREAD_SLACK = 1e-5;
const MIN_QUERIES_PER_THREAD = 4;
const PAGE = 65536;

/**
 * Largest k for which the bounds are used (beyond, the k smallest bounds cost more than they save).
 * At k = 32 over 1024 centroids (d = 256, nprobe 32), a batch costs about what a full scan does and a
 * single query about 0.7 of it.
 */
export const BOUNDS_MAX_K = 32;

/** SIMDEX_BOUNDS_RANK, read once: an environment lookup costs more than a one-query search's bounds. */
const RANK_OVERRIDE = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.SIMDEX_BOUNDS_RANK ?? 0);

/**
 * Directions kept for dimension d (0: none): d/4 up to 32. More directions tighten the bounds but
 * cost more per bound; on the bench's sets and k-means, 32 was fastest at d = 128, 256 and 768
 * (SIMDEX_BOUNDS_RANK overrides it, for such comparisons).
 */
export function boundsRank(d: number): number {
  if (d < BOUNDS_MIN_DIM) return 0;
  const env = RANK_OVERRIDE;
  if (Number.isInteger(env) && env > 0 && env < d) return env;
  return Math.min(32, Math.floor(d / 4 / 8) * 8);
}

/** Whether k-NN among n vectors of dimension d can use bounds. */
export function boundsFit(n: number, d: number, k: number): boolean {
  const r = boundsRank(d);
  return r > 0 && n >= BOUNDS_MIN_VECTORS && n <= BOUNDS_MAX_VECTORS && k <= BOUNDS_MAX_K && 2 * k <= n && boundsQueryBlock(d, r + 1, k, n) > 0;
}

/** A projection basis: r orthonormal rows of d floats, and the mean it is centred on. */
export interface ProjectionBasis {
  d: number;
  r: number;
  /** d floats */
  mean: Float32Array;
  /** r*d floats, orthonormal rows */
  rows: Float32Array;
}

export class ProjectedL2Bounds {
  readonly d: number;
  readonly r: number;
  /** Stored vectors bounded. */
  readonly n: number;
  readonly basis: ProjectionBasis;
  /** The projections [Pc', ||Qc'||] of the stored vectors, packed for the blocked kernel, and their squared norms. */
  private readonly low: Segment;
  private readonly packedOffset: number;
  private readonly normsOffset: number;
  /** max over the stored vectors of ||c - mu||^2 */
  private maxNorm2 = 0;
  private scratch: WebAssembly.Memory | undefined;
  /** The scratch memory's size (its `buffer`, a new object at each access, is not read per search). */
  private scratchBytes = 0;
  /** Whether scratch holds this basis (a recycled one holds the previous bounds'). */
  private scratchReady = false;
  /** Queries of the last search and the candidates whose exact distance it computed. */
  lastQueries = 0;
  lastCandidates = 0;

  private constructor(basis: ProjectionBasis, n: number, recycle: ProjectedL2Bounds | undefined) {
    this.basis = basis;
    this.d = basis.d;
    this.r = basis.r;
    this.n = n;
    const rb = basis.r + 1;
    const packed = Math.ceil(n / 8) * rb * 32;
    const bytes = align16(packed) + n * 4;
    // the memories of the bounds these replace, when they are large enough (k-means rebuilds the
    // bounds at every iteration: no new memories each time)
    const scratch = recycle?.scratch;
    this.low = recycle !== undefined && recycle.low.dataBytes >= bytes ? recycle.low : new Segment(bytes);
    if (recycle !== undefined && recycle.low !== this.low) recycle.dispose();
    this.scratch = scratch;
    this.scratchBytes = recycle?.scratchBytes ?? 0;
    this.packedOffset = this.low.dataOffset;
    this.normsOffset = this.low.dataOffset + align16(packed);
  }

  /**
   * Bounds over the stored vectors (`segments`, read in place).
   * `previous`: the directions of an earlier build over similar vectors (k-means' previous
   * centroids), kept as they are (only the mean is recomputed): any orthonormal directions give
   * valid bounds, good ones leave fewer candidates. `recycle`: bounds no longer valid whose memories
   * the new ones may take over (they must not be used afterwards).
   */
  static build(segments: readonly SegmentRef[], d: number, previous?: ProjectionBasis, recycle?: ProjectedL2Bounds): ProjectedL2Bounds {
    const n = segments.reduce((s, g) => s + g.count, 0);
    const r = boundsRank(d);
    const basis = computeBasis(segments, n, d, r, previous !== undefined && previous.d === d && previous.r === r ? previous : undefined);
    const b = new ProjectedL2Bounds(basis, n, recycle !== undefined && recycle.d === d && recycle.r === r ? recycle : undefined);
    const rb = r + 1;
    const all = new Float32Array(n * rb);
    let o = 0;
    for (const seg of segments) {
      const y = new Float32Array(seg.memory.buffer, seg.dataOffset, seg.count * d);
      const { low, norm2 } = b.project(y, seg.count);
      all.set(low, o * rb);
      for (let i = 0; i < seg.count; i++) if (norm2[i]! > b.maxNorm2) b.maxNorm2 = norm2[i]!;
      o += seg.count;
    }
    // packed in place from a copy in the slot area (free at build time), with their norms
    const mem = b.low.memory;
    const kern = kernelsFor(mem);
    for (let j0 = 0; j0 < n; j0 += 8 * 1024) {
      const m = Math.min(8 * 1024, n - j0);
      new Float32Array(mem.buffer, 0, m * rb).set(all.subarray(j0 * rb, (j0 + m) * rb));
      kern.pack_block(b.packedOffset + (j0 / 8) * rb * 32, 0, m, rb);
      kern.fvec_norms_L2sqr(b.normsOffset + j0 * 4, 0, rb, m);
    }
    return b;
  }

  /**
   * The projections of n vectors: low = [P(x - mu), ||Q(x - mu)||] ((r+1) floats each) and
   * norm2 = ||x - mu||^2 (the `bounds_project` kernel, in blocks).
   */
  project(x: Float32Array, n: number, shared = false): { low: Float32Array; norm2: Float32Array } {
    const { d, r } = this;
    const rb = r + 1;
    const low = shared ? sharedF32(n * rb) : new Float32Array(n * rb);
    const norm2 = new Float32Array(n);
    const block = Math.max(4, Math.min(n, Math.floor(PROJECT_BLOCK_BYTES / (d * 8))));
    const lay = this.layout(block);
    const mem = this.scratchMemory(lay.end);
    const kern = kernelsFor(mem);
    const buf = mem.buffer; // a new object at each access of a shared memory's buffer
    for (let b0 = 0; b0 < n; b0 += block) {
      const nb = Math.min(block, n - b0);
      new Float32Array(buf, lay.X, nb * d).set(x.subarray(b0 * d, (b0 + nb) * d));
      kern.bounds_project(lay.X, nb, d, lay.mean, r, lay.Pb, lay.PbT, lay.P, lay.R, lay.out, lay.norms);
      low.set(new Float32Array(buf, lay.out, nb * rb), b0 * rb);
      norm2.set(new Float32Array(buf, lay.norms, nb), b0);
    }
    return { low, norm2 };
  }

  /** Where project() keeps what, for blocks of `block` vectors: the packed basis and its transpose, the mean, then the block. */
  private layout(block: number): { Pb: number; PbT: number; mean: number; X: number; P: number; R: number; out: number; norms: number; end: number } {
    const { d, r } = this;
    const Pb = 0;
    const PbT = align16(Pb + Math.ceil(r / 8) * d * 32);
    const mean = align16(PbT + Math.ceil(d / 8) * r * 32);
    const X = align16(mean + d * 4);
    const P = align16(X + block * d * 4);
    const R = align16(P + block * r * 4);
    const out = align16(R + block * d * 4);
    const norms = align16(out + block * (r + 1) * 4);
    return { Pb, PbT, mean, X, P, R, out, norms, end: align16(norms + block * 4) };
  }

  /**
   * k-NN of the n queries x among the stored vectors: `full`, the one segment the bounds were built
   * from. The same results as a full scan.
   */
  search(x: Float32Array, n: number, k: number, full: SegmentRef): { distances: Float32Array; labels: BigInt64Array } {
    const parallel = getNumThreads() > 1 && n >= 2 * MIN_QUERIES_PER_THREAD;
    const { low, norm2 } = this.project(x, n, parallel);
    const slack = parallel ? sharedF32(n) : new Float32Array(n);
    const spread = SPREAD_SLACK * Math.sqrt(this.d);
    for (let i = 0; i < n; i++) slack[i] = spread * (norm2[i]! + this.maxNorm2);
    const task: BoundsTask = {
      d: this.d,
      rb: this.r + 1,
      k,
      ny: this.n,
      low: { memory: this.low.memory, packed: this.packedOffset, norms: this.normsOffset },
      full: { memory: full.memory, dataOffset: full.dataOffset },
      xLow: low,
      x: parallel ? toSharedF32(x) : x,
      slack,
      relSlack: REL_SLACK,
      distances: parallel ? sharedF32(n * k) : new Float32Array(n * k),
      labels: parallel ? sharedI64(n * k) : new BigInt64Array(n * k),
      candidates: new Float64Array(parallel ? new SharedArrayBuffer(64 * 8) : new ArrayBuffer(64 * 8)),
    };
    if (parallel) parallelFor('flat.bounds', task, n, MIN_QUERIES_PER_THREAD);
    else boundsRange(task, 0, n, 0);
    this.lastQueries = n;
    this.lastCandidates = task.candidates.reduce((a, b) => a + b, 0);
    return { distances: task.distances, labels: task.labels };
  }

  /** Frees the projections (the workers forget their memory). */
  dispose(): void {
    forgetDropped([this.low.memory], []);
    this.scratch = undefined;
  }

  /** A memory of at least `bytes` for projecting, with the packed basis, its packed transpose and the mean (layout()). */
  private scratchMemory(bytes: number): WebAssembly.Memory {
    const { d, r } = this;
    const lay = this.layout(0);
    // the rows and their transpose are staged after the mean, then packed in place
    const stage = lay.X;
    const need = Math.max(bytes, stage + 2 * r * d * 4);
    if (this.scratch === undefined || this.scratchBytes < need || !this.scratchReady) {
      const pages = Math.ceil(need / PAGE);
      const mem = this.scratch !== undefined && this.scratchBytes >= need ? this.scratch : new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      this.scratchBytes = mem.buffer.byteLength;
      const kern = kernelsFor(mem);
      const rows = this.basis.rows;
      new Float32Array(mem.buffer, stage, r * d).set(rows);
      kern.pack_block(lay.Pb, stage, r, d);
      const t = new Float32Array(mem.buffer, stage + r * d * 4, r * d);
      for (let a = 0; a < r; a++) for (let j = 0; j < d; j++) t[j * r + a] = rows[a * d + j]!;
      kern.pack_block(lay.PbT, stage + r * d * 4, d, r);
      new Float32Array(mem.buffer, lay.mean, d).set(this.basis.mean);
      this.scratch = mem;
      this.scratchReady = true;
    }
    return this.scratch;
  }
}

/**
 * r orthonormal directions of largest variance of (a sample of) the stored vectors: subspace
 * iteration Y <- orth(S^T S Y) on the centred sample S (the products by the blocked kernel, the
 * orthonormalization in double). Deterministic (seeded start).
 */
function computeBasis(segments: readonly SegmentRef[], n: number, d: number, r: number, previous: ProjectionBasis | undefined): ProjectionBasis {
  // the mean of all vectors, in double
  const mean64 = new Float64Array(d);
  for (const seg of segments) {
    const y = new Float32Array(seg.memory.buffer, seg.dataOffset, seg.count * d);
    for (let i = 0; i < seg.count; i++) for (let t = 0, o = i * d; t < d; t++) mean64[t] += y[o + t]!;
  }
  const mean = new Float32Array(d);
  for (let t = 0; t < d; t++) mean[t] = mean64[t]! / Math.max(1, n);
  if (previous !== undefined) return { d, r, mean, rows: previous.rows };
  // an evenly spaced sample, centred, and its transpose, in a scratch memory
  const m = Math.min(n, SAMPLE_ROWS);
  const Sp = 0;
  const STp = align16(Sp + m * d * 4);
  const Yp = align16(STp + m * d * 4);
  const Zp = align16(Yp + r * d * 4);
  const ZTp = align16(Zp + m * r * 4);
  const TMPp = align16(ZTp + m * r * 4);
  const end = TMPp + Math.max(Math.ceil(r / 8) * d, Math.ceil(d / 8) * m) * 32;
  const pages = Math.ceil(end / PAGE);
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const kern = kernelsFor(mem);
  const S = new Float32Array(mem.buffer, Sp, m * d);
  let si = 0;
  let base = 0;
  for (const seg of segments) {
    const y = new Float32Array(seg.memory.buffer, seg.dataOffset, seg.count * d);
    for (; si < m; si++) {
      const i = Math.floor((si * n) / m);
      if (i >= base + seg.count) break;
      const o = (i - base) * d;
      for (let t = 0; t < d; t++) S[si * d + t] = y[o + t]! - mean[t]!;
    }
    base += seg.count;
  }
  const ST = new Float32Array(mem.buffer, STp, m * d);
  for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) ST[t * m + i] = S[i * d + t]!;
  const Y = new Float64Array(r * d);
  let seed = 0x2545f491;
  for (let i = 0; i < r * d; i++) {
    // xorshift32: a fixed start, so that builds are reproducible
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    Y[i] = (seed >>> 0) / 4294967296 - 0.5;
  }
  orthonormalize(Y, r, d);
  const Yf = new Float32Array(mem.buffer, Yp, r * d);
  const Z = new Float32Array(mem.buffer, Zp, m * r);
  const ZT = new Float32Array(mem.buffer, ZTp, m * r);
  for (let it = 0; it < COLD_ITERATIONS; it++) {
    // Z = S Y^T (m x r), then Y = Z^T S (r x d): the rows of Z^T against the rows of S^T
    Yf.set(Y);
    kern.inner_products_block(Zp, r, Sp, m, Yp, r, d, TMPp);
    for (let i = 0; i < m; i++) for (let a = 0; a < r; a++) ZT[a * m + i] = Z[i * r + a]!;
    kern.inner_products_block(Yp, d, ZTp, r, STp, d, m, TMPp);
    Y.set(Yf);
    orthonormalize(Y, r, d);
  }
  return { d, r, mean, rows: Float32Array.from(Y) };
}

/**
 * Modified Gram-Schmidt on the r rows of Y (r < d), twice for orthogonality to rounding. A row in the
 * span of the previous ones (a sample of fewer than r independent directions) is replaced by the
 * first unit axis that is not.
 */
function orthonormalize(Y: Float64Array, r: number, d: number): void {
  const reduce = (ao: number, a: number): number => {
    for (let b = 0; b < a; b++) {
      const bo = b * d;
      let dot = 0;
      for (let t = 0; t < d; t++) dot += Y[ao + t]! * Y[bo + t]!;
      for (let t = 0; t < d; t++) Y[ao + t] -= dot * Y[bo + t]!;
    }
    let nn = 0;
    for (let t = 0; t < d; t++) nn += Y[ao + t]! * Y[ao + t]!;
    return nn;
  };
  for (let pass = 0; pass < 2; pass++) {
    for (let a = 0; a < r; a++) {
      const ao = a * d;
      let nn = reduce(ao, a);
      for (let axis = 0; nn < 1e-20 && axis < d; axis++) {
        Y.fill(0, ao, ao + d);
        Y[ao + axis] = 1;
        nn = reduce(ao, a);
        if (nn < 0.25) nn = 0;
      }
      const inv = 1 / Math.sqrt(nn);
      for (let t = 0; t < d; t++) Y[ao + t] *= inv;
    }
  }
}

const align16 = (v: number): number => Math.ceil(v / 16) * 16;
