/**
 * @module clustering/Clustering
 * k-means with Faiss's semantics: Faiss's `Clustering` and `ClusteringParameters` (names in
 * camelCase), its empty-cluster splitting, its seeded sampling, and `kmeans_clustering`.
 *
 * `train(x)` runs, for each of `nredo` runs, `niter` Lloyd iterations:
 * 1. assign: each training point to its nearest centroid, through an {@link Index} holding the k
 *    centroids (by default an IndexFlatL2: the batched exact-search kernel on every thread of the pool);
 *    the objective is the sum of the n distances (similarities for an inner-product index). With an
 *    exact L2 IndexFlat, bounds skip the distances that cannot change an assignment: Elkan's below
 *    512 centroids on up to 3 threads (clustering/elkanAssign), Hamerly's otherwise
 *    (clustering/boundedAssign), and the index's own projected bounds from 512 centroids on;
 * 2. update: each centroid becomes the (weighted) mean of its points, accumulated in float64 in one
 *    pass over the points;
 * 3. split: each empty centroid takes a copy of a large cluster's centroid, chosen at random with
 *    probability (size - 1) / (n - k), and the two are pushed apart by a relative ±1/1024 on
 *    alternating coordinates; the large cluster's count is shared between the two (Faiss's
 *    `split_clusters`, with its fixed seed 1234);
 * 4. post-process: L2-normalise (`spherical`), round (`intCentroids`); load the centroids into the index.
 *
 * Randomness is Faiss's: a Mersenne Twister (std::mt19937) seeded as Faiss seeds it, so that the
 * subsample (`rand_perm(seed)`) and the initial centroids (`rand_perm(seed + 1 + redo * 15486557)`)
 * are the very points Faiss 1.7.3 picks for the same seed; results then differ from Faiss's only by
 * floating-point rounding (this module accumulates centroids and the objective in float64).
 *
 * Differences from Faiss, on purpose:
 * - non-finite input throws an InvalidArgumentError naming the first bad row and column (Faiss throws
 *   "input contains NaN's or Inf's" without saying where);
 * - `iterationStats` is cleared at the start of each `train()` (Faiss appends across calls); within a
 *   call it follows Faiss: with nredo > 1 it holds the iterations of every run up to the best one;
 * - input centroids (set `centroids` to m*d floats, m <= k, before `train()`) are restored at the
 *   start of every run (Faiss re-uses the previous run's trained values for the runs after the first);
 * - the empty-cluster split cannot loop forever when no cluster has a weight above 1 (possible with
 *   fractional weights): it then splits the heaviest cluster.
 */
import { Index } from '../Index.js';
import { InvalidArgumentError, InvalidTypeError } from '../errors.js';
import { IndexFlat, IndexFlatL2 } from '../indexes/IndexFlat.js';
import { BoundedAssigner } from './boundedAssign.js';
import { ElkanAssigner } from './elkanAssign.js';
import { KmeansWorkspace } from './KmeansWorkspace.js';
import { MetricType } from '../MetricType.js';
import { fvecRenormL2 } from '../kernels/reference.js';
import { getNumThreads } from '../threads/pool.js';
import { checkPositiveInt, checkVectors, firstNonFinite, nonFiniteError as nonFiniteErrorOf } from '../validate.js';

/** Faiss's ClusteringParameters (decode_block_size, which only matters for encoded input, is left out). */
export interface ClusteringParameters {
  /** Lloyd iterations per run; default 25. */
  niter: number;
  /** Runs of k-means from different random starts; the best objective is kept. Default 1. */
  nredo: number;
  /** Print progress to stderr; default false. */
  verbose: boolean;
  /** L2-normalise the centroids after each update; default false. */
  spherical: boolean;
  /** Round the centroid coordinates to integers; default false. */
  intCentroids: boolean;
  /** Re-train the index (index.train(centroids)) after each iteration; default false. */
  updateIndex: boolean;
  /** Keep the input centroids (set `centroids` before train) unchanged; default false. */
  frozenCentroids: boolean;
  /** Below k * minPointsPerCentroid training points, warn; default 39. */
  minPointsPerCentroid: number;
  /** Above k * maxPointsPerCentroid training points, cluster a random subsample of that size; default 256. */
  maxPointsPerCentroid: number;
  /** Seed of the subsampling and of the initial centroids; default 1234. */
  seed: number;
}

/** Faiss's defaults. */
export const DEFAULT_CLUSTERING_PARAMETERS: Readonly<ClusteringParameters> = Object.freeze({
  niter: 25,
  nredo: 1,
  verbose: false,
  spherical: false,
  intCentroids: false,
  updateIndex: false,
  frozenCentroids: false,
  minPointsPerCentroid: 39,
  maxPointsPerCentroid: 256,
  seed: 1234,
});

/** Faiss's ClusteringIterationStats: one per iteration. */
export interface ClusteringIterationStats {
  /** The objective: sum of the distances of the points to their centroid (similarities for IP). */
  obj: number;
  /** Seconds since the iterations started (all runs counted), at the end of this iteration. */
  time: number;
  /** Seconds spent in assignment (index.search) since the iterations started. */
  timeSearch: number;
  /** k * sum(size_i^2) / n^2 over the cluster sizes: 1 when balanced, larger when not. */
  imbalanceFactor: number;
  /** Number of empty clusters split in this iteration. */
  nsplit: number;
}

/** Parameters plus callbacks. */
export interface ClusteringOptions extends Partial<ClusteringParameters> {
  /**
   * Receives warnings (too few training points), at most once per train(); default: printed to
   * stderr (console.error), as Faiss does.
   */
  onWarning?: (message: string) => void;
  /** Called after each iteration: iteration is 0-based (as Faiss prints it), redo the run number. */
  onProgress?: (iteration: number, niter: number, objective: number, redo: number) => void;
}

/**
 * Bounded assignment applies to exact L2 flat indexes (the default), not to approximate or IP ones;
 * an IndexFlat whose `useBounds` is false (SIMDEX_FLAT_BOUNDS=0) is searched in full every iteration.
 */
function useBounds(index: Index): boolean {
  return index instanceof IndexFlat && index.metricType === MetricType.L2 && index.useBounds;
}

/** Faiss's EPS of split_clusters: a bit above float16's machine epsilon. */
const EPS = 1 / 1024;
/** Faiss's offset between the seeds of successive runs (nredo). */
const REDO_SEED_STRIDE = 15486557;

/**
 * k-means clustering of d-dimensional vectors into k centroids (Faiss's `Clustering`).
 *
 * After `train(x)`: `centroids` holds k*d floats, `iterationStats` one entry per iteration, and the
 * index used for assignment holds the k centroids (Faiss leaves them there).
 */
export class Clustering implements ClusteringParameters {
  /** Dimension of the vectors. */
  readonly d: number;
  /** Number of centroids. */
  readonly k: number;
  niter: number;
  nredo: number;
  verbose: boolean;
  spherical: boolean;
  intCentroids: boolean;
  updateIndex: boolean;
  frozenCentroids: boolean;
  minPointsPerCentroid: number;
  maxPointsPerCentroid: number;
  seed: number;
  onWarning: ((message: string) => void) | undefined;
  onProgress: ((iteration: number, niter: number, objective: number, redo: number) => void) | undefined;
  /**
   * The centroids, size k*d after train(). Before train(), set it to m*d floats (m <= k) to start
   * from these m centroids (Faiss's input centroids); the other k - m are drawn from the data.
   */
  centroids: Float32Array = new Float32Array(0);
  /** One entry per iteration of the last train() (see the module doc for nredo > 1). */
  iterationStats: ClusteringIterationStats[] = [];
  /** Number of training points the last train() clustered, after subsampling (0 before train). */
  ntrain = 0;

  constructor(d: number, k: number, params: ClusteringOptions = {}) {
    this.d = checkPositiveInt(d, 'd');
    this.k = checkPositiveInt(k, 'k');
    checkOptionNames(params, ['onWarning', 'onProgress']);
    const p = { ...DEFAULT_CLUSTERING_PARAMETERS, ...definedOnly(params) };
    this.niter = checkCount(p.niter, 'niter');
    this.nredo = checkPositiveInt(p.nredo, 'nredo');
    this.verbose = Boolean(p.verbose);
    this.spherical = Boolean(p.spherical);
    this.intCentroids = Boolean(p.intCentroids);
    this.updateIndex = Boolean(p.updateIndex);
    this.frozenCentroids = Boolean(p.frozenCentroids);
    this.minPointsPerCentroid = checkCount(p.minPointsPerCentroid, 'minPointsPerCentroid');
    this.maxPointsPerCentroid = checkPositiveInt(p.maxPointsPerCentroid, 'maxPointsPerCentroid');
    if (!Number.isSafeInteger(p.seed)) throw new InvalidArgumentError('seed', `must be an integer, got ${String(p.seed)}`);
    this.seed = p.seed;
    this.onWarning = params.onWarning;
    this.onProgress = params.onProgress;
  }

  /**
   * Runs k-means on n training vectors.
   * @param x training vectors, size n*d, n >= k
   * @param index the index that assigns points to centroids (reset, then loaded with the centroids at
   *   each iteration; it holds the final centroids afterwards). Default: a new IndexFlatL2(d).
   *   Pass an IndexFlatIP for maximum inner-product clustering (with `spherical` for cosine).
   * @param weights optional per-vector weights, size n
   */
  train(x: Float32Array, index?: Index, weights?: Float32Array): void {
    const { d, k } = this;
    this.checkParameters();
    const nIn = checkVectors(x, d, 'x');
    if (index !== undefined) {
      if (!(index instanceof Index)) throw new InvalidTypeError('index', 'an Index', index);
      if (index.d !== d) throw new InvalidArgumentError('index', `has dimension ${index.d}, expected the clustering's d = ${d}`);
    }
    if (weights !== undefined) checkWeights(weights, nIn);
    if (nIn < k) {
      throw new InvalidArgumentError(
        'x',
        `holds ${nIn} vectors: Number of training points (${nIn}) should be at least as large as number of clusters (${k})`,
      );
    }
    const subsample = nIn > k * this.maxPointsPerCentroid;
    // every input point is checked, as Faiss does; without subsampling, in the workspace's copy (below)
    if (subsample) checkFinite(x, d);
    const inputCentroids = this.centroids;
    if (inputCentroids.length % d !== 0 || inputCentroids.length > k * d) {
      throw new InvalidArgumentError(
        'centroids',
        `has length ${inputCentroids.length} before train(): input centroids must be m*d floats with m <= k = ${k} (d = ${d})`,
      );
    }
    const nInput = inputCentroids.length / d;
    const kFrozen = this.frozenCentroids ? nInput : 0;

    this.iterationStats = [];
    const tPre = now();
    const nx = subsample ? k * this.maxPointsPerCentroid : nIn;
    const ownIndex = index === undefined;
    const idx: Index = index ?? new IndexFlatL2(d);
    // exact L2 flat assignment prunes with bounds: Elkan's (in the workspace) with few centroids
    const bounds = useBounds(idx);
    const elkan = bounds && nx > k && ElkanAssigner.applies(nx, k, getNumThreads());
    let xs: Float32Array = x;
    let ws: Float32Array | undefined = weights;
    let work: KmeansWorkspace | undefined;
    try {
      if (subsample) {
        if (this.verbose) log(`Sampling a subset of ${nx} / ${nIn} for training`);
        const perm = randPerm(nIn, this.seed);
        xs = newFloats(nx * d);
        for (let i = 0; i < nx; i++) xs.set(x.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
        if (weights !== undefined) {
          ws = new Float32Array(nx);
          for (let i = 0; i < nx; i++) ws[i] = weights[perm[i]!]!;
        }
      } else if (!elkan && getNumThreads() > 1 && typeof SharedArrayBuffer !== 'undefined' && !(x.buffer instanceof SharedArrayBuffer)) {
        // One copy into shared memory now spares the index a copy at every iteration.
        xs = newFloats(nx * d);
        xs.set(x);
      }
      // the points in WebAssembly memory for the per-point loops (once for all runs)
      if (nx > k) work = KmeansWorkspace.create(xs, nx, d, k, ws, elkan);
      if (!subsample) {
        const bad = work !== undefined ? work.firstNonFinite() : firstNonFinite(xs);
        if (bad >= 0) throw nonFiniteError(xs[bad]!, bad, d);
        if (nIn < k * this.minPointsPerCentroid) {
          const message = `WARNING clustering ${nIn} points to ${k} centroids: please provide at least ${k * this.minPointsPerCentroid} training points`;
          if (this.onWarning) this.onWarning(message);
          else console.error(message);
        }
      }
      this.ntrain = nx;
      if (nx === k) {
        // Faiss's corner case: the training points are the centroids.
        if (this.verbose) log(`Number of training points (${nx}) same as number of clusters, just copying`);
        this.centroids = x.slice(0, k * d);
        this.iterationStats.push({ obj: 0, time: 0, timeSearch: 0, imbalanceFactor: 1, nsplit: 0 });
        idx.reset();
        idx.add(this.centroids);
        return;
      }
      if (this.verbose) {
        log(`Clustering ${nx} points in ${d}D to ${k} clusters, redo ${this.nredo} times, ${this.niter} iterations`);
        if (nInput > 0) log(`  Using ${nInput} centroids provided as input (${this.frozenCentroids ? '' : 'not '}frozen)`);
        log(`  Preprocessing in ${((now() - tPre) / 1000).toFixed(2)} s`);
      }
      this.runRedos(xs, nx, ws, idx, inputCentroids, nInput, kFrozen, bounds, work);
    } finally {
      work?.release();
      if (ownIndex) idx.dispose();
    }
  }

  /** The nredo runs of k-means; keeps the best. */
  private runRedos(
    x: Float32Array,
    nx: number,
    weights: Float32Array | undefined,
    index: Index,
    inputCentroids: Float32Array,
    nInput: number,
    kFrozen: number,
    bounds: boolean,
    ws: KmeansWorkspace | undefined,
  ): void {
    const { d, k, niter, nredo } = this;
    const lowerIsBetter = index.metricType === MetricType.L2;
    let bestObj = lowerIsBetter ? Infinity : -Infinity;
    let bestCentroids: Float32Array | undefined;
    let bestStats: ClusteringIterationStats[] = [];
    const assign = new Int32Array(nx);
    const hassign = new Float64Array(k);
    const sums = new Float64Array(k * d);
    const t0 = now();
    let tSearch = 0;

    for (let redo = 0; redo < nredo; redo++) {
      if (this.verbose && nredo > 1) log(`Outer iteration ${redo} / ${nredo}`);
      // initial centroids: the input ones, then random distinct training points
      const centroids = new Float32Array(k * d);
      centroids.set(inputCentroids);
      const perm = randPerm(nx, this.seed + 1 + redo * REDO_SEED_STRIDE);
      for (let i = nInput; i < k; i++) centroids.set(x.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
      this.centroids = centroids;
      this.postProcessCentroids();
      if (index.ntotal !== 0) index.reset();
      if (!index.isTrained) index.train(centroids);
      index.add(centroids);

      // exact L2 flat assignment: skip the distances that bounds prove useless (Elkan's with few
      // centroids, Hamerly's otherwise)
      const elkan = bounds && ws?.hasElkan === true ? new ElkanAssigner(nx, k, ws) : undefined;
      const bounded = bounds && elkan === undefined ? new BoundedAssigner(nx, k, d) : undefined;
      let obj = 0;
      for (let it = 0; it < niter; it++) {
        const ts = now();
        obj = 0;
        if (elkan !== undefined) {
          elkan.run(centroids);
          assign.set(elkan.assign);
          for (let i = 0; i < nx; i++) obj += elkan.dis[i]!;
        } else if (bounded !== undefined) {
          bounded.run(x, centroids, index, ws);
          assign.set(bounded.assign);
          for (let i = 0; i < nx; i++) obj += bounded.dis[i]!;
        } else {
          const res = index.search(x, 1);
          for (let i = 0; i < nx; i++) obj += res.distances[i]!;
          labelsToAssign(res.labels, assign, k);
        }
        tSearch += now() - ts;

        computeCentroids(d, k, nx, kFrozen, x, assign, weights, hassign, sums, centroids, ws);
        const nsplit = splitClusters(d, k, nx, kFrozen, hassign, centroids);
        const stats: ClusteringIterationStats = {
          obj,
          time: (now() - t0) / 1000,
          timeSearch: tSearch / 1000,
          imbalanceFactor: imbalanceFactor(nx, k, assign),
          nsplit,
        };
        this.iterationStats.push(stats);
        if (this.verbose) {
          log(
            `  Iteration ${it} (${stats.time.toFixed(2)} s, search ${stats.timeSearch.toFixed(2)} s): ` +
              `objective=${formatG(obj)} imbalance=${stats.imbalanceFactor.toFixed(3)} nsplit=${nsplit}`,
          );
        }
        this.onProgress?.(it, niter, obj, redo);

        this.postProcessCentroids();
        index.reset();
        if (this.updateIndex) index.train(centroids);
        index.add(centroids);
      }

      if (nredo > 1) {
        if ((lowerIsBetter && obj < bestObj) || (!lowerIsBetter && obj > bestObj)) {
          if (this.verbose) log('Objective improved: keep new clusters');
          bestCentroids = centroids.slice();
          bestStats = this.iterationStats.slice();
          bestObj = obj;
        }
        index.reset();
      }
    }
    if (nredo > 1) {
      // as Faiss: the first run is kept unless a later one is strictly better (NaN never is)
      this.centroids = bestCentroids ?? this.centroids;
      this.iterationStats = bestStats.length > 0 ? bestStats : this.iterationStats;
      index.reset();
      index.add(this.centroids);
    }
  }

  /** Faiss's post_process_centroids: spherical -> unit norm; intCentroids -> rounded. */
  private postProcessCentroids(): void {
    const c = this.centroids;
    if (this.spherical) fvecRenormL2(c, this.d, this.k);
    if (this.intCentroids) {
      // C's roundf: halves away from zero
      for (let i = 0; i < c.length; i++) c[i] = Math.sign(c[i]!) * Math.round(Math.abs(c[i]!));
    }
  }

  private checkParameters(): void {
    checkCount(this.niter, 'niter');
    checkPositiveInt(this.nredo, 'nredo');
    checkCount(this.minPointsPerCentroid, 'minPointsPerCentroid');
    checkPositiveInt(this.maxPointsPerCentroid, 'maxPointsPerCentroid');
    if (!Number.isSafeInteger(this.seed)) throw new InvalidArgumentError('seed', `must be an integer, got ${String(this.seed)}`);
  }
}

/**
 * Faiss's `kmeans_clustering`: k-means of n vectors with the default parameters and an IndexFlatL2
 * (verbose when an iteration exceeds 1 Gflop, as Faiss decides).
 * @param x training vectors, size n*d
 * @returns the centroids, size k*d
 */
export function kmeansClustering(d: number, n: number, k: number, x: Float32Array): Float32Array {
  checkPositiveInt(d, 'd');
  checkPositiveInt(n, 'n');
  const nx = checkVectors(x, d, 'x');
  if (nx !== n) throw new InvalidArgumentError('x', `holds ${nx} vectors of dimension ${d}, expected n = ${n}`);
  const clus = new Clustering(d, k, { verbose: d * n * k > 2 ** 30 });
  clus.train(x);
  return clus.centroids;
}

// ---- the steps of an iteration -------------------------------------------------------------

/**
 * Faiss's compute_centroids: centroid c = (weighted) mean of the points assigned to it, for the
 * centroids after the kFrozen first; an empty centroid becomes 0 (split_clusters redefines it).
 * @param assign nearest centroid of each point, size n
 * @param hassign output: (weighted) number of points per centroid, indexed from kFrozen, size k
 * @param sums scratch, size k*d
 * @param centroids output, size k*d
 */
export function computeCentroids(
  d: number,
  k: number,
  n: number,
  kFrozen: number,
  x: Float32Array,
  assign: Int32Array,
  weights: Float32Array | undefined,
  hassign: Float64Array,
  sums: Float64Array,
  centroids: Float32Array,
  ws?: KmeansWorkspace,
): void {
  hassign.fill(0);
  sums.fill(0);
  if (ws !== undefined) {
    ws.accumulate(assign, kFrozen, hassign, sums);
  } else if (weights === undefined) {
    for (let i = 0; i < n; i++) {
      const c = assign[i]! - kFrozen;
      if (c < 0) continue;
      hassign[c]! += 1;
      const so = c * d;
      const xo = i * d;
      for (let j = 0; j < d; j++) sums[so + j]! += x[xo + j]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = assign[i]! - kFrozen;
      if (c < 0) continue;
      const w = weights[i]!;
      hassign[c]! += w;
      const so = c * d;
      const xo = i * d;
      for (let j = 0; j < d; j++) sums[so + j]! += x[xo + j]! * w;
    }
  }
  for (let c = 0; c < k - kFrozen; c++) {
    const co = (kFrozen + c) * d;
    const h = hassign[c]!;
    if (h === 0) {
      centroids.fill(0, co, co + d);
      continue;
    }
    const inv = 1 / h;
    const so = c * d;
    for (let j = 0; j < d; j++) centroids[co + j] = sums[so + j]! * inv;
  }
}

/**
 * Faiss's split_clusters: redefines each empty centroid (after the kFrozen first) as a perturbed
 * copy of a large one; returns the number of splits.
 * @param hassign (weighted) cluster sizes, indexed from kFrozen, size k; updated
 * @param centroids size k*d; updated
 */
export function splitClusters(d: number, k: number, n: number, kFrozen: number, hassign: Float64Array, centroids: Float32Array): number {
  const kk = k - kFrozen;
  const base = kFrozen * d;
  const denom = Math.fround(n - kk);
  let nsplit = 0;
  // Faiss's generator of the call (seed 1234), made at the first empty cluster: most iterations have none
  let rng: RandomGenerator | undefined;
  for (let ci = 0; ci < kk; ci++) {
    if (hassign[ci] !== 0) continue;
    rng ??= new RandomGenerator(1234);
    let cj = -1;
    let pmax = 0;
    let heaviest = 0;
    for (let c = 0; c < kk; c++) {
      const p = hassign[c]! - 1;
      if (p > pmax) pmax = p;
      if (hassign[c]! > hassign[heaviest]!) heaviest = c;
    }
    if (pmax <= 0) {
      cj = heaviest; // no cluster can be picked at random: Faiss would loop forever here
    } else {
      for (let c = 0; ; c = (c + 1) % kk) {
        const p = Math.fround((hassign[c]! - 1) / denom);
        if (rng.randFloat() < p) {
          cj = c;
          break;
        }
      }
    }
    const io = base + ci * d;
    const jo = base + cj * d;
    centroids.copyWithin(io, jo, jo + d);
    for (let j = 0; j < d; j++) {
      if (j % 2 === 0) {
        centroids[io + j]! *= 1 + EPS;
        centroids[jo + j]! *= 1 - EPS;
      } else {
        centroids[io + j]! *= 1 - EPS;
        centroids[jo + j]! *= 1 + EPS;
      }
    }
    // assume an even split of the cluster
    hassign[ci] = hassign[cj]! / 2;
    hassign[cj]! -= hassign[ci]!;
    nsplit++;
  }
  return nsplit;
}

/** Faiss's imbalance_factor: k * sum(size^2) / n^2 over the cluster sizes. */
export function imbalanceFactor(n: number, k: number, assign: Int32Array): number {
  const hist = new Float64Array(k);
  for (let i = 0; i < n; i++) hist[assign[i]!]! += 1;
  let tot = 0;
  let uf = 0;
  for (let i = 0; i < k; i++) {
    tot += hist[i]!;
    uf += hist[i]! * hist[i]!;
  }
  return (uf * k) / (tot * tot);
}

// ---- Faiss's random numbers ------------------------------------------------------------------

/**
 * Faiss's RandomGenerator: std::mt19937 seeded with (unsigned int)seed, so that seeded draws
 * (rand_perm, rand_float, rand_int) are the numbers Faiss draws.
 */
export class RandomGenerator {
  private readonly mt = new Uint32Array(624);
  private mti = 624;

  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output of mt19937 (std::mt19937::operator()). */
  next(): number {
    const mt = this.mt;
    if (this.mti >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform integer in [0, max) as Faiss draws it (mt() % max). */
  randInt(max: number): number {
    return this.next() % max;
  }

  /** Uniform float in [0, 1] as Faiss draws it (float(mt()) / float(mt.max())). */
  randFloat(): number {
    return Math.fround(this.next()) / 4294967296;
  }
}

/** Faiss's rand_perm: a random permutation of 0..n-1 (Fisher-Yates with mt19937(seed)); size n. */
export function randPerm(n: number, seed: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new RandomGenerator(seed);
  for (let i = 0; i + 1 < n; i++) {
    const i2 = i + rng.randInt(n - i);
    const t = perm[i]!;
    perm[i] = perm[i2]!;
    perm[i2] = t;
  }
  return perm;
}

// ---- helpers -----------------------------------------------------------------------------------

/** The nearest centroid of each point from a k=1 search; an index that found none is a bug. */
function labelsToAssign(labels: BigInt64Array, assign: Int32Array, k: number): void {
  for (let i = 0; i < assign.length; i++) {
    const c = Number(labels[i]!);
    if (!(c >= 0 && c < k)) {
      throw new RangeError(`k-means: the index assigned training point ${i} to centroid ${c}, expected 0 <= c < k = ${k}`);
    }
    assign[i] = c;
  }
}

/** Throws on the first NaN or infinity, naming its row and column. */
function checkFinite(x: Float32Array, d: number): void {
  const bad = firstNonFinite(x);
  if (bad >= 0) throw nonFiniteError(x[bad]!, bad, d);
}

function nonFiniteError(v: number, at: number, d: number): InvalidArgumentError {
  return nonFiniteErrorOf('x', v, at, d, 'k-means needs finite training vectors');
}

function checkWeights(weights: unknown, n: number): void {
  if (!(weights instanceof Float32Array)) throw new InvalidTypeError('weights', `a Float32Array of n = ${n} weights`, weights);
  if (weights.length !== n) throw new InvalidArgumentError('weights', `has length ${weights.length}, expected one weight per training vector (n = ${n})`);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0 && w < Infinity)) throw new InvalidArgumentError('weights', `has ${String(w)} at ${i}, expected finite weights >= 0`);
  }
}

function checkCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, `must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Rejects unknown option names, as Python's Kmeans rejects unknown fields (a snake_case Faiss name
 * gets its camelCase spelling suggested).
 */
export function checkOptionNames(options: object, extra: readonly string[]): void {
  const known = new Set([...Object.keys(DEFAULT_CLUSTERING_PARAMETERS), ...extra]);
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = known.has(camel) ? `; did you mean ${camel}?` : `; known: ${[...known].join(', ')}`;
    throw new InvalidArgumentError('options', `has an unknown parameter ${JSON.stringify(key)}${hint}`);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A Float32Array over shared memory when threads can use it (the index's workers read it in place). */
function newFloats(length: number): Float32Array {
  if (getNumThreads() > 1 && typeof SharedArrayBuffer !== 'undefined') return new Float32Array(new SharedArrayBuffer(length * 4));
  return new Float32Array(length);
}

function now(): number {
  return performance.now();
}

function log(line: string): void {
  console.error(line);
}

/** printf's %g: 6 significant digits, trailing zeros dropped, exponent of at least 2 digits. */
function formatG(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const exp = Number(v.toExponential(5).split('e')[1]);
  const s = exp < -4 || exp >= 6 ? v.toExponential(5) : v.toPrecision(6);
  const [mant, e] = s.split('e') as [string, string | undefined];
  const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
  if (e === undefined) return m;
  const sign = e[0] === '-' ? '-' : '+';
  const digits = e.replace(/^[+-]/, '');
  return `${m}e${sign}${digits.padStart(2, '0')}`;
}
