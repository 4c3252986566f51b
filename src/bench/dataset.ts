/**
 * @module bench/dataset
 * A seeded synthetic dataset for benchmarks: clustered vectors with the difficulty of real embeddings
 * (SIFT1M-like at the default difficulty), generated fast (1M x 128 in 2 to 5 s on one core) and
 * identically on every machine. Portable: no Node imports.
 *
 * The model (ANCHORS.md's generator):
 * - a latent space of L = 64 dimensions with a decaying spectrum: latent axis j has standard
 *   deviation s_j = (1 + j)^-alpha (a power law, like the PCA spectrum of SIFT or text embeddings);
 * - a Gaussian mixture of nclusters = 200 components in it: centre c_k ~ centerScale * N(0, diag(s^2)),
 *   a point of component k is c_k + spread * N(0, diag(s^2)); component weights are log-normal, so
 *   that clusters (and later inverted lists) have unequal sizes, as in real data;
 * - a fixed random linear map A (d x L, entries N(0, 1/L)) embeds the latent point in d dimensions,
 *   and isotropic noise N(0, noise^2 I_d) is added.
 * `difficulty` (default 1) scales the within-cluster spread (1.15 times the spread of the centres at
 * difficulty 1: the clusters overlap, as in real data) and the noise (0.05): higher is harder for every
 * approximate index. The default is calibrated so that IVF with nlist = 4*sqrt(n) reaches recall@10
 * near 0.85 at nprobe 16, and IVF4096 on 1M x 128 follows ANCHORS.md's curve (see DATASET_CALIBRATION).
 *
 * Streams: the base vectors, the queries and the training vectors are independent streams of the same
 * distribution (queries are never base vectors). Each stream is cut into blocks of BLOCK_ROWS rows with
 * their own seeded generator, so rows [start, start + n) can be generated alone, and the first n rows
 * of a stream do not depend on how many rows are asked for.
 *
 * Speed: the normals come from a ziggurat sampler over xoshiro128**; the embedding (n x L by L x d,
 * the bulk of the work) runs in the WebAssembly SIMD inner-product kernel, always the baseline SIMD128
 * build (no fused multiply-add), so that the output is bit-identical on every engine.
 */
import { simdBase64 } from '../kernels/wasm/modules.js';
import { kernelImports, type WasmKernels } from '../kernels/wasm.js';
import { InvalidArgumentError } from '../errors.js';
import { checkNonNegativeInt, checkPositiveInt } from '../validate.js';

/** Rows per independently seeded block of a stream. */
export const BLOCK_ROWS = 1024;

/** The three streams of a dataset. */
export type DatasetStream = 'base' | 'query' | 'train';

const STREAM_IDS: Record<DatasetStream, number> = { base: 1, query: 2, train: 3 };

/** Parameters of the generator. */
export interface DatasetParams {
  /** Dimension of the vectors. */
  d: number;
  /** Seed of everything (model and streams); default 1234. */
  seed?: number;
  /** 1 = calibrated default (SIFT-like); 0.5 easier, 2 harder. Must be > 0. */
  difficulty?: number;
  /** Components of the mixture; default 200. */
  nclusters?: number;
  /** Dimension of the latent space; default 64 (a multiple of 4). */
  latentDim?: number;
  /** Exponent alpha of the latent spectrum s_j = (1 + j)^-alpha; default 0.55. */
  spectrumDecay?: number;
  /** Within-cluster spread relative to the spread of the centres; default 1.15 * difficulty. */
  spread?: number;
  /** Standard deviation of the isotropic noise per output axis; default 0.05 * difficulty. */
  noise?: number;
}

/** What to generate: the model parameters plus the sizes of the streams. */
export interface DatasetOptions extends DatasetParams {
  /** Base vectors (what is added to the index). */
  n: number;
  /** Query vectors. */
  nq: number;
  /** Training vectors, a separate sample of the same distribution; default 0 (train on the base). */
  ntrain?: number;
  /** Called after each block with the rows generated so far and the total. */
  onProgress?(done: number, total: number): void;
}

/** A generated dataset. Every matrix is row-major, d floats per row. */
export interface Dataset {
  d: number;
  n: number;
  nq: number;
  /** size n*d */
  base: Float32Array;
  /** size nq*d */
  queries: Float32Array;
  /** size ntrain*d (empty when ntrain is 0) */
  train: Float32Array;
  /** The parameters used, defaults filled in. */
  params: Required<DatasetParams>;
}

/**
 * What the default difficulty was calibrated against: Python Faiss 1.7.3 `IndexIVFFlat` (k-means with
 * 10 iterations, trained on the first min(n, 200000) base vectors), seed 1234, recall@10 =
 * |true top-10 ∩ returned top-10| / 10 over the queries. ANCHORS.md's IVF4096 on its m128 data:
 * 0.349 / 0.683 / 0.878 / 0.967 at nprobe 1 / 4 / 16 / 64.
 */
export const DATASET_CALIBRATION: {
  target: string;
  measured: readonly { n: number; d: number; nq: number; nlist: number; recall10: Readonly<Record<number, number>> }[];
} = {
  target: 'IVF with nlist = 4*sqrt(n): recall@10 near 0.85 at nprobe 16',
  measured: [
    { n: 100_000, d: 128, nq: 500, nlist: 1264, recall10: { 1: 0.358, 4: 0.63, 16: 0.838, 64: 0.966 } },
    { n: 200_000, d: 128, nq: 500, nlist: 1788, recall10: { 1: 0.369, 4: 0.655, 16: 0.858, 64: 0.965 } },
    { n: 1_000_000, d: 128, nq: 1000, nlist: 4000, recall10: { 1: 0.33, 4: 0.652, 16: 0.883, 64: 0.97 } },
    { n: 1_000_000, d: 128, nq: 1000, nlist: 4096, recall10: { 1: 0.331, 4: 0.656, 16: 0.879, 64: 0.97 } },
    // ANCHORS.md's r256 with IVF1024: 0.452 / 0.822 / 0.949 at nprobe 1 / 8 / 32
    { n: 200_000, d: 256, nq: 1000, nlist: 1024, recall10: { 1: 0.45, 8: 0.842, 16: 0.916, 32: 0.961 } },
  ],
};

/** Shape parameters at difficulty 1 (see the module doc and DATASET_CALIBRATION). */
const ALPHA = 0.55;
const CENTER_SCALE = 1.0;
const SPREAD = 1.15;
const NOISE = 0.05;

/**
 * The fixed part of the model (spectrum, centres, weights, embedding) for given parameters, and
 * the sampler of each stream.
 */
export class ClusteredDataGenerator {
  readonly params: Required<DatasetParams>;
  /** Latent standard deviation of each axis, size L. */
  readonly spectrum: Float64Array;
  /** Cluster centres in latent space, size nclusters*L. */
  readonly centers: Float64Array;
  /** Cumulative cluster weights (last = 1), size nclusters. */
  readonly cumulativeWeights: Float64Array;
  /** The embedding A, row o = output axis o, size d*L. */
  readonly embedding: Float32Array;
  private readonly spread: number;
  private readonly noise: number;
  private gemm: Gemm | undefined;

  constructor(params: DatasetParams) {
    const d = checkPositiveInt(params.d, 'd');
    const seed = params.seed ?? 1234;
    if (!Number.isInteger(seed)) throw new InvalidArgumentError('seed', `must be an integer, got ${String(seed)}`);
    const difficulty = params.difficulty ?? 1;
    if (typeof difficulty !== 'number' || !(difficulty > 0) || !Number.isFinite(difficulty)) {
      throw new InvalidArgumentError('difficulty', `must be a finite number > 0, got ${String(difficulty)}`);
    }
    const nclusters = checkPositiveInt(params.nclusters ?? 200, 'nclusters');
    const L = checkPositiveInt(params.latentDim ?? 64, 'latentDim');
    if (L % 4 !== 0) throw new InvalidArgumentError('latentDim', `must be a multiple of 4, got ${L}`);
    // Harder: wider clusters (more overlap between them) and more noise.
    const alpha = checkNonNegative(params.spectrumDecay ?? ALPHA, 'spectrumDecay');
    this.spread = checkNonNegative(params.spread ?? SPREAD * difficulty, 'spread');
    this.noise = checkNonNegative(params.noise ?? NOISE * difficulty, 'noise');
    this.params = { d, seed, difficulty, nclusters, latentDim: L, spectrumDecay: alpha, spread: this.spread, noise: this.noise };
    this.spectrum = new Float64Array(L);
    for (let j = 0; j < L; j++) this.spectrum[j] = Math.pow(1 + j, -alpha);

    const rng = new Xoshiro128(seedState(seed, 0, 0));
    this.centers = new Float64Array(nclusters * L);
    for (let c = 0; c < nclusters; c++) {
      for (let j = 0; j < L; j++) this.centers[c * L + j] = CENTER_SCALE * this.spectrum[j]! * rng.normal();
    }
    this.cumulativeWeights = new Float64Array(nclusters);
    let total = 0;
    for (let c = 0; c < nclusters; c++) {
      total += Math.exp(0.5 * rng.normal());
      this.cumulativeWeights[c] = total;
    }
    for (let c = 0; c < nclusters; c++) this.cumulativeWeights[c]! /= total;
    this.cumulativeWeights[nclusters - 1] = 1;
    this.embedding = new Float32Array(d * L);
    const scale = 1 / Math.sqrt(L);
    for (let i = 0; i < d * L; i++) this.embedding[i] = rng.normal() * scale;
  }

  /**
   * Rows [start, start + n) of a stream.
   * @param out optional output, size at least n*d (written from its start).
   * @returns output, size n*d.
   */
  generate(stream: DatasetStream, start: number, n: number, out?: Float32Array, onProgress?: (done: number, total: number) => void): Float32Array {
    checkNonNegativeInt(start, 'start');
    checkNonNegativeInt(n, 'n');
    const { d, latentDim: L, seed } = this.params;
    const streamId = STREAM_IDS[stream];
    if (streamId === undefined) throw new InvalidArgumentError('stream', `must be "base", "query" or "train", got ${String(stream)}`);
    if (out === undefined) out = new Float32Array(n * d);
    else if (out.length < n * d) throw new InvalidArgumentError('out', `has length ${out.length}, expected at least n*d = ${n * d}`);
    const gemm = (this.gemm ??= new Gemm(this.embedding, d, L, BLOCK_ROWS));
    const latent = gemm.latent();
    const noise = new Float32Array(BLOCK_ROWS * d);
    const g = new Float32Array(L);
    const { spectrum, centers, spread } = this;
    const sigma = this.noise;
    const end = start + n;
    for (let b = Math.floor(start / BLOCK_ROWS); b * BLOCK_ROWS < end; b++) {
      const b0 = b * BLOCK_ROWS;
      const rows = Math.min(BLOCK_ROWS, end - b0);
      const rng = new Xoshiro128(seedState(seed, streamId, b + 1));
      // One row at a time, in a fixed order, so that a block's first rows do not depend on its length.
      for (let i = 0; i < rows; i++) {
        const c = this.pickCluster(rng.uniform());
        const z = i * L;
        rng.fillNormal(g, 0, L, spread);
        for (let j = 0; j < L; j++) latent[z + j] = centers[c * L + j]! + spectrum[j]! * g[j]!;
        rng.fillNormal(noise, i * d, d, sigma);
      }
      const y = gemm.run(rows);
      const skip = Math.max(0, start - b0);
      const o = (b0 + skip - start) * d;
      for (let t = skip * d; t < rows * d; t++) out[o + t - skip * d] = y[t]! + noise[t]!;
      onProgress?.(Math.min(n, b0 + rows - start), n);
    }
    if (n === 0) onProgress?.(0, 0);
    return out.length === n * d ? out : out.subarray(0, n * d);
  }

  private pickCluster(u: number): number {
    const w = this.cumulativeWeights;
    let lo = 0;
    let hi = w.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < w[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Generates a dataset: n base vectors, nq queries and ntrain training vectors.
 * Deterministic for given parameters; the first rows of each stream do not depend on its length.
 */
export function generateDataset(opts: DatasetOptions): Dataset {
  const n = checkNonNegativeInt(opts.n, 'n');
  const nq = checkNonNegativeInt(opts.nq, 'nq');
  const ntrain = checkNonNegativeInt(opts.ntrain ?? 0, 'ntrain');
  const gen = new ClusteredDataGenerator(opts);
  const total = n + nq + ntrain;
  const report = opts.onProgress;
  const base = gen.generate('base', 0, n, undefined, report && ((done) => report(done, total)));
  const queries = gen.generate('query', 0, nq, undefined, report && ((done) => report(n + done, total)));
  const train = gen.generate('train', 0, ntrain, undefined, report && ((done) => report(n + nq + done, total)));
  return { d: gen.params.d, n, nq, base, queries, train, params: gen.params };
}

// ---------------------------------------------------------------------------------------------
// Randomness

/** murmur3's 32-bit finaliser: a bijective mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A xoshiro128 state for (seed, stream, block), never all zero. */
function seedState(seed: number, stream: number, block: number): Uint32Array {
  const s = new Uint32Array(4);
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9) ^ fmix32(Math.floor(seed / 2 ** 32) + 0x7f4a7c15);
  h = fmix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
  h = fmix32(h ^ (block >>> 0)) ^ fmix32(Math.floor(block / 2 ** 32) + 0x165667b1);
  for (let i = 0; i < 4; i++) {
    h = fmix32(h + 0x9e3779b9);
    s[i] = h;
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return s;
}

/** Ziggurat tables (Marsaglia & Tsang 2000, 128 layers) for the standard normal. */
const ZIG = (() => {
  const kn = new Int32Array(128);
  const wn = new Float64Array(128);
  const fn = new Float64Array(128);
  const m1 = 2147483648;
  let dn = 3.442619855899;
  let tn = dn;
  const vn = 9.91256303526217e-3;
  let q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * m1);
  kn[1] = 0;
  wn[0] = q / m1;
  wn[127] = dn / m1;
  fn[0] = 1;
  fn[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / m1;
  }
  return { kn, wn, fn, r: 3.442619855899 };
})();

/**
 * xoshiro128** (Blackman & Vigna): a fast 32-bit generator, with uniform and normal samplers. The
 * state lives in an Int32Array (V8 would box int32 object fields), and the bulk sampler keeps it in
 * locals.
 */
class Xoshiro128 {
  private readonly s: Int32Array;

  constructor(state: Uint32Array) {
    this.s = new Int32Array(state.buffer.slice(0));
  }

  /** The next 32 random bits, as a signed int32. */
  nextInt32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    const s2 = s[2]! ^ s[0]!;
    const s3 = s[3]! ^ s1;
    s[1] = s1 ^ s2;
    s[0] = s[0]! ^ s3;
    s[2] = s2 ^ t;
    s[3] = rotl(s3, 11);
    return r;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  uniform(): number {
    return (this.nextInt32() >>> 0) * 2.3283064365386963e-10;
  }

  /** A standard normal sample (ziggurat). */
  normal(): number {
    const hz = this.nextInt32();
    const iz = hz & 127;
    if (Math.abs(hz) < ZIG.kn[iz]!) return hz * ZIG.wn[iz]!;
    return this.normalSlow(hz, iz);
  }

  /** out[o .. o+count) = scale * N(0, 1): the same samples as `count` calls of normal(). */
  fillNormal(out: Float32Array, o: number, count: number, scale: number): void {
    const { kn, wn } = ZIG;
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    for (let i = 0; i < count; i++) {
      const m = Math.imul(s1, 5);
      const hz = Math.imul((m << 7) | (m >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const iz = hz & 127;
      if (Math.abs(hz) < kn[iz]!) {
        out[o + i] = scale * (hz * wn[iz]!);
      } else {
        s[0] = s0;
        s[1] = s1;
        s[2] = s2;
        s[3] = s3;
        out[o + i] = scale * this.normalSlow(hz, iz);
        s0 = s[0]!;
        s1 = s[1]!;
        s2 = s[2]!;
        s3 = s[3]!;
      }
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
  }

  private normalSlow(hz: number, iz: number): number {
    const { kn, wn, fn, r } = ZIG;
    for (;;) {
      const x = hz * wn[iz]!;
      if (iz === 0) {
        // the tail beyond r
        let xt: number;
        let yt: number;
        do {
          xt = -Math.log(1 - this.uniform()) / r;
          yt = -Math.log(1 - this.uniform());
        } while (yt + yt < xt * xt);
        return hz > 0 ? r + xt : -r - xt;
      }
      if (fn[iz]! + this.uniform() * (fn[iz - 1]! - fn[iz]!) < Math.exp(-0.5 * x * x)) return x;
      hz = this.nextInt32();
      iz = hz & 127;
      if (Math.abs(hz) < kn[iz]!) return hz * wn[iz]!;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------------------------
// The embedding product, in the baseline SIMD kernel

let simdModule: WebAssembly.Module | undefined;

function baselineModule(): WebAssembly.Module {
  if (simdModule === undefined) {
    const bin = atob(simdBase64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    simdModule = new WebAssembly.Module(bytes);
  }
  return simdModule;
}

/** Y (rows x d) = Z (rows x L) A^T, with A (d x L) and Z in a private WebAssembly memory. */
class Gemm {
  private readonly kernels: WasmKernels;
  private readonly memory: WebAssembly.Memory;
  private readonly aOff = 0;
  private readonly zOff: number;
  private readonly yOff: number;
  /** A packed for the blocked kernel (packed once, used by every run). */
  private readonly pOff: number;

  constructor(
    embedding: Float32Array,
    private readonly d: number,
    private readonly L: number,
    private readonly maxRows: number,
  ) {
    this.zOff = align16(d * L * 4);
    this.yOff = align16(this.zOff + maxRows * L * 4);
    this.pOff = align16(this.yOff + maxRows * d * 4);
    const bytes = this.pOff + (Math.ceil(d / 8) * L * 32) + 64;
    const pages = Math.ceil(bytes / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new WebAssembly.Instance(baselineModule(), kernelImports(this.memory));
    this.kernels = instance.exports as unknown as WasmKernels;
    new Float32Array(this.memory.buffer, this.aOff, d * L).set(embedding);
    this.kernels.pack_block(this.pOff, this.aOff, d, L);
  }

  /** The latent rows to fill, size maxRows*L. */
  latent(): Float32Array {
    return new Float32Array(this.memory.buffer, this.zOff, this.maxRows * this.L);
  }

  /** Runs the product for the first `rows` latent rows; returns Y, size rows*d (a view, reused). */
  run(rows: number): Float32Array {
    this.kernels.inner_products_packed(this.yOff, this.d, this.zOff, rows, this.pOff, this.d, this.L);
    return new Float32Array(this.memory.buffer, this.yOff, rows * this.d);
  }
}

function checkNonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(name, `must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

function align16(v: number): number {
  return Math.ceil(v / 16) * 16;
}
