/**
 * @module quantizers/ScalarQuantizer
 * Faiss's ScalarQuantizer: each component of a vector is encoded on its own, in 4, 6 or 8 bits over a
 * trained range [vmin, vmin + vdiff] (per dimension, or one range for all with the `_uniform` types),
 * or as an IEEE half float (QT_fp16), or as the byte it already is (QT_8bit_direct).
 *
 * Encoding and decoding are Faiss's, bit for bit (its portable build: the same float32 operations
 * in the same order, division and all), so that codes written here and by Faiss are interchangeable.
 *
 * | qtype            | value | code_size      | trained               |
 * |------------------|-------|----------------|-----------------------|
 * | QT_8bit          | 0     | d              | vmin[d], vdiff[d]     |
 * | QT_4bit          | 1     | (d + 1) / 2    | vmin[d], vdiff[d]     |
 * | QT_8bit_uniform  | 2     | d              | vmin, vdiff           |
 * | QT_4bit_uniform  | 3     | (d + 1) / 2    | vmin, vdiff           |
 * | QT_fp16          | 4     | 2 d            | (none)                |
 * | QT_8bit_direct   | 5     | d              | (none)                |
 * | QT_6bit          | 6     | (d * 6 + 7) / 8 | vmin[d], vdiff[d]    |
 *
 * The kernels (assembly/sq.ts) scan codes through two tables derived from `trained`
 * ({@link ScalarQuantizer.kernelTables}): component j of code c is B_j + A_j * c.
 */
import { InvalidArgumentError, NotTrainedError } from '../errors.js';
import { RandomGenerator } from '../clustering/Clustering.js';
import { checkPositiveInt, checkVectors } from '../validate.js';
import { kernelsFor } from '../kernels/wasm.js';

/** From this many vectors on, 8-bit codes are computed by the sq_encode8 kernel (a memory copy each way). */
const ENCODE_KERNEL_MIN = 16;
/** Bytes of the encoding memory: the trained values, a block of vectors and their codes. */
const ENCODE_BLOCK_BYTES = 4 << 20;
let encodeScratch: WebAssembly.Memory | undefined;

/** The calling thread's memory for sq_encode8, grown to `bytes` when needed (one per thread, reused). */
function encodeMemory(bytes: number): WebAssembly.Memory {
  if (encodeScratch === undefined || encodeScratch.buffer.byteLength < bytes) {
    const pages = Math.ceil(bytes / 65536);
    encodeScratch = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  }
  return encodeScratch;
}

/** Faiss's ScalarQuantizer::QuantizerType, with its numeric values (as in index files). */
export const QuantizerType = {
  /** 8 bits per component, a range per dimension. */
  QT_8bit: 0,
  /** 4 bits per component, a range per dimension. */
  QT_4bit: 1,
  /** 8 bits per component, one range for all dimensions. */
  QT_8bit_uniform: 2,
  /** 4 bits per component, one range for all dimensions. */
  QT_4bit_uniform: 3,
  /** IEEE half float per component; no training. */
  QT_fp16: 4,
  /** The components are bytes already (0..255): stored as they are; no training. */
  QT_8bit_direct: 5,
  /** 6 bits per component, a range per dimension. */
  QT_6bit: 6,
} as const;
export type QuantizerType = (typeof QuantizerType)[keyof typeof QuantizerType];

/** Faiss's ScalarQuantizer::RangeStat: how training picks the range of the 4/6/8-bit types. */
export const RangeStat = {
  /** [min - rs * (max - min), max + rs * (max - min)] (default, rs = 0). */
  RS_minmax: 0,
  /** [mean - std * rs, mean + std * rs]. */
  RS_meanstd: 1,
  /** [Q(rs), Q(1 - rs)]. */
  RS_quantiles: 2,
  /** Alternating optimisation of the reconstruction error. */
  RS_optim: 3,
} as const;
export type RangeStat = (typeof RangeStat)[keyof typeof RangeStat];

const QT_NAMES = ['QT_8bit', 'QT_4bit', 'QT_8bit_uniform', 'QT_4bit_uniform', 'QT_fp16', 'QT_8bit_direct', 'QT_6bit'];

/** The name of a quantizer type, as Faiss spells it. */
export function quantizerTypeName(qtype: QuantizerType): string {
  return QT_NAMES[qtype] ?? `unknown(${String(qtype)})`;
}

/** Checks a quantizer type value (Faiss's enum values 0..6). */
export function checkQuantizerType(qtype: unknown, name = 'qtype'): QuantizerType {
  if (typeof qtype !== 'number' || !Number.isInteger(qtype) || qtype < 0 || qtype > 6) {
    throw new InvalidArgumentError(
      name,
      `must be a ScalarQuantizer QuantizerType (${QT_NAMES.map((n, i) => `${n} = ${i}`).join(', ')}), got ${String(qtype)}`,
    );
  }
  return qtype as QuantizerType;
}

/** Bits per component and Faiss's code_size of a quantizer type. */
export function sqCodeSize(qtype: QuantizerType, d: number): { bits: number; codeSize: number } {
  switch (qtype) {
    case QuantizerType.QT_4bit:
    case QuantizerType.QT_4bit_uniform:
      return { bits: 4, codeSize: Math.floor((d + 1) / 2) };
    case QuantizerType.QT_6bit:
      return { bits: 6, codeSize: Math.floor((d * 6 + 7) / 8) };
    case QuantizerType.QT_fp16:
      return { bits: 16, codeSize: 2 * d };
    default:
      return { bits: 8, codeSize: d };
  }
}

const fround = Math.fround;

export class ScalarQuantizer {
  static readonly QT_8bit = QuantizerType.QT_8bit;
  static readonly QT_4bit = QuantizerType.QT_4bit;
  static readonly QT_8bit_uniform = QuantizerType.QT_8bit_uniform;
  static readonly QT_4bit_uniform = QuantizerType.QT_4bit_uniform;
  static readonly QT_fp16 = QuantizerType.QT_fp16;
  static readonly QT_8bit_direct = QuantizerType.QT_8bit_direct;
  static readonly QT_6bit = QuantizerType.QT_6bit;
  static readonly RS_minmax = RangeStat.RS_minmax;
  static readonly RS_meanstd = RangeStat.RS_meanstd;
  static readonly RS_quantiles = RangeStat.RS_quantiles;
  static readonly RS_optim = RangeStat.RS_optim;

  readonly d: number;
  readonly qtype: QuantizerType;
  /** Bytes per encoded vector. */
  readonly codeSize: number;
  /** Bits per component (16 for fp16). */
  readonly bits: number;
  /** How train() picks the range. */
  rangestat: RangeStat = RangeStat.RS_minmax;
  /** The parameter of the range statistic (a float32, as in Faiss). */
  rangestatArg = 0;
  /** Trained values: [vmin, vdiff] (uniform), [vmin[0..d), vdiff[0..d)] (per dimension), or empty. */
  private trainedValues: Float32Array = new Float32Array(0);
  private tables: Float32Array | undefined;

  constructor(d: number, qtype: QuantizerType = QuantizerType.QT_8bit) {
    this.d = checkPositiveInt(d, 'd');
    this.qtype = checkQuantizerType(qtype);
    const { bits, codeSize } = sqCodeSize(this.qtype, this.d);
    this.bits = bits;
    this.codeSize = codeSize;
  }

  /** True for the types that need no training (fp16, 8bit_direct), or once trained. */
  get isTrained(): boolean {
    return !this.needsTraining || this.trainedValues.length > 0;
  }

  /** Whether the type has a range to train. */
  get needsTraining(): boolean {
    return this.qtype !== QuantizerType.QT_fp16 && this.qtype !== QuantizerType.QT_8bit_direct;
  }

  /** Whether one range serves all dimensions. */
  get uniform(): boolean {
    return this.qtype === QuantizerType.QT_8bit_uniform || this.qtype === QuantizerType.QT_4bit_uniform;
  }

  /** Faiss's `trained` vector (a copy). */
  get trained(): Float32Array {
    return this.trainedValues.slice();
  }

  /** Sets the trained values (an index file's `trained` vector): 2 floats (uniform) or 2*d. */
  set trained(values: Float32Array) {
    const expected = !this.needsTraining ? [0] : this.uniform ? [2] : [2 * this.d];
    if (!(values instanceof Float32Array) || !expected.includes(values.length)) {
      throw new InvalidArgumentError('trained', `must be a Float32Array of ${expected.join(' or ')} floats for ${quantizerTypeName(this.qtype)} with d = ${this.d}, got ${values instanceof Float32Array ? values.length : typeof values}`);
    }
    this.trainedValues = values.slice();
    this.tables = undefined;
  }

  /** Learns the range(s) from n vectors (x: n*d floats). A no-op for fp16 and 8bit_direct. */
  train(x: Float32Array): void {
    const n = checkVectors(x, this.d);
    if (!this.needsTraining) return;
    if (n === 0) throw new InvalidArgumentError('x', `holds no vectors: ${quantizerTypeName(this.qtype)} needs at least one to train its range`);
    const k = 1 << this.bits;
    const rs = this.rangestat;
    const arg = fround(this.rangestatArg);
    if (this.uniform) {
      this.trainedValues = trainUniform(rs, arg, x.length, k, x);
    } else {
      this.trainedValues = trainNonUniform(rs, arg, n, this.d, k, x);
    }
    this.tables = undefined;
  }

  /**
   * Faiss's train_residual: trains on at most 100000 of the vectors (Faiss's seeded subsample,
   * seed 1234), on their residuals to `residual(x_i, list_i)` when given.
   */
  trainResidual(x: Float32Array, residuals?: (xs: Float32Array) => Float32Array): void {
    const n = checkVectors(x, this.d);
    const xs = subsample(x, this.d, n, 100000, 1234);
    this.train(residuals ? residuals(xs) : xs);
  }

  /** Encodes n vectors: n*codeSize bytes, Faiss's codes bit for bit. */
  computeCodes(x: Float32Array, out?: Uint8Array): Uint8Array {
    const n = checkVectors(x, this.d);
    this.checkTrained('computeCodes');
    const cs = this.codeSize;
    const codes = out ?? new Uint8Array(n * cs);
    if (codes.length < n * cs) throw new InvalidArgumentError('out', `has ${codes.length} bytes, expected n * codeSize = ${n * cs}`);
    const qt = this.qtype;
    if ((qt === QuantizerType.QT_8bit || qt === QuantizerType.QT_8bit_uniform) && n >= ENCODE_KERNEL_MIN) {
      this.encode8(x, n, codes);
      return codes;
    }
    codes.fill(0, 0, n * cs);
    for (let i = 0; i < n; i++) this.encodeVector(x, i * this.d, codes, i * cs);
    return codes;
  }

  /** 8-bit codes of n vectors through the sq_encode8 kernel (the same bytes as encodeVector), in blocks. */
  private encode8(x: Float32Array, n: number, codes: Uint8Array): void {
    const d = this.d;
    const t = this.trainedValues;
    const tBytes = Math.ceil((t.length * 4) / 16) * 16;
    const block = Math.max(1, Math.floor((ENCODE_BLOCK_BYTES - tBytes) / (d * 5)));
    const mem = encodeMemory(tBytes + block * d * 5);
    const kern = kernelsFor(mem);
    const buf = mem.buffer;
    new Float32Array(buf, 0, t.length).set(t);
    const X = tBytes;
    const C = X + block * d * 4;
    for (let i0 = 0; i0 < n; i0 += block) {
      const m = Math.min(block, n - i0);
      new Float32Array(buf, X, m * d).set(x.subarray(i0 * d, (i0 + m) * d));
      kern.sq_encode8(X, m, d, 0, this.uniform ? 1 : 0, C);
      codes.set(new Uint8Array(buf, C, m * d), i0 * d);
    }
  }

  /** Decodes n codes (n*codeSize bytes) into n*d floats, Faiss's values bit for bit. */
  decode(codes: Uint8Array, out?: Float32Array): Float32Array {
    const cs = this.codeSize;
    if (!(codes instanceof Uint8Array) || codes.length % cs !== 0) {
      throw new InvalidArgumentError('codes', `must be a Uint8Array of n * codeSize bytes (codeSize = ${cs}), got ${codes instanceof Uint8Array ? `${codes.length} bytes` : typeof codes}`);
    }
    this.checkTrained('decode');
    const n = codes.length / cs;
    const x = out ?? new Float32Array(n * this.d);
    for (let i = 0; i < n; i++) this.decodeVector(codes, i * cs, x, i * this.d);
    return x;
  }

  /** Encodes vector x[xo .. xo+d) into code[co .. co+codeSize), which must be zeroed. */
  encodeVector(x: Float32Array, xo: number, code: Uint8Array, co: number): void {
    const d = this.d;
    const qt = this.qtype;
    if (qt === QuantizerType.QT_fp16) {
      for (let j = 0; j < d; j++) {
        const h = encodeFp16(x[xo + j]!);
        code[co + 2 * j] = h & 0xff;
        code[co + 2 * j + 1] = h >>> 8;
      }
      return;
    }
    if (qt === QuantizerType.QT_8bit_direct) {
      for (let j = 0; j < d; j++) code[co + j] = Math.trunc(x[xo + j]!);
      return;
    }
    const t = this.trainedValues;
    const uni = this.uniform;
    for (let j = 0; j < d; j++) {
      const vmin = uni ? t[0]! : t[j]!;
      const vdiff = uni ? t[1]! : t[d + j]!;
      let xi = 0;
      if (vdiff !== 0) {
        xi = fround(fround(x[xo + j]! - vmin) / vdiff);
        if (xi < 0) xi = 0;
        if (xi > 1) xi = 1;
      }
      switch (qt) {
        case QuantizerType.QT_8bit:
        case QuantizerType.QT_8bit_uniform:
          code[co + j] = Math.trunc(fround(255 * xi)); // float product, as (int)(255 * x)
          break;
        case QuantizerType.QT_4bit:
        case QuantizerType.QT_4bit_uniform:
          code[co + (j >> 1)] |= Math.trunc(xi * 15.0) << ((j & 1) << 2); // double product, as (int)(x * 15.0)
          break;
        default: {
          const bits = Math.trunc(xi * 63.0) | 0;
          const g = co + (j >> 2) * 3;
          switch (j & 3) {
            case 0: code[g] |= bits; break;
            case 1: code[g] |= bits << 6; code[g + 1] |= bits >> 2; break;
            case 2: code[g + 1] |= bits << 4; code[g + 2] |= bits >> 4; break;
            default: code[g + 2] |= bits << 2;
          }
        }
      }
    }
  }

  /** Decodes code[co .. co+codeSize) into out[oo .. oo+d). */
  decodeVector(code: Uint8Array, co: number, out: Float32Array, oo: number): void {
    const d = this.d;
    const qt = this.qtype;
    if (qt === QuantizerType.QT_fp16) {
      for (let j = 0; j < d; j++) out[oo + j] = decodeFp16(code[co + 2 * j]! | (code[co + 2 * j + 1]! << 8));
      return;
    }
    if (qt === QuantizerType.QT_8bit_direct) {
      for (let j = 0; j < d; j++) out[oo + j] = code[co + j]!;
      return;
    }
    const t = this.trainedValues;
    const uni = this.uniform;
    for (let j = 0; j < d; j++) {
      let u: number;
      switch (qt) {
        case QuantizerType.QT_8bit:
        case QuantizerType.QT_8bit_uniform:
          u = fround((code[co + j]! + 0.5) / 255);
          break;
        case QuantizerType.QT_4bit:
        case QuantizerType.QT_4bit_uniform:
          u = fround((((code[co + (j >> 1)]! >> ((j & 1) << 2)) & 0xf) + 0.5) / 15);
          break;
        default:
          u = fround((component6(code, co, j) + 0.5) / 63);
      }
      const vmin = uni ? t[0]! : t[j]!;
      const vdiff = uni ? t[1]! : t[d + j]!;
      out[oo + j] = fround(vmin + fround(u * vdiff));
    }
  }

  /**
   * The kernels' tables (assembly/sq.ts): A then B, each padded to a multiple of 4 floats, with
   * component j of code c reconstructed as B_j + A_j * c.
   */
  kernelTables(): Float32Array {
    this.checkTrained('search');
    if (this.tables) return this.tables;
    const d = this.d;
    const dp = (d + 3) & ~3;
    const tab = new Float32Array(2 * dp);
    if (!this.needsTraining) {
      tab.fill(1, 0, d);
    } else {
      const m = (1 << this.bits) - 1;
      const t = this.trainedValues;
      for (let j = 0; j < d; j++) {
        const vmin = this.uniform ? t[0]! : t[j]!;
        const vdiff = this.uniform ? t[1]! : t[d + j]!;
        tab[j] = vdiff / m;
        tab[dp + j] = vmin + (0.5 * vdiff) / m;
      }
    }
    this.tables = tab;
    return tab;
  }

  /** Whether other encodes as this one does (same type, dimension and trained values). */
  equals(other: ScalarQuantizer): boolean {
    if (other.d !== this.d || other.qtype !== this.qtype) return false;
    const a = this.trainedValues;
    const b = other.trainedValues;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }

  private checkTrained(operation: string): void {
    if (!this.isTrained) throw new NotTrainedError(`ScalarQuantizer (${quantizerTypeName(this.qtype)})`, operation);
  }
}

function component6(code: Uint8Array, co: number, j: number): number {
  const g = co + (j >> 2) * 3;
  switch (j & 3) {
    case 0: return code[g]! & 0x3f;
    case 1: return (code[g]! >> 6) | ((code[g + 1]! & 0xf) << 2);
    case 2: return (code[g + 1]! >> 4) | ((code[g + 2]! & 3) << 4);
    default: return code[g + 2]! >> 2;
  }
}

// ---- training (Faiss's train_Uniform / train_NonUniform, in float32) ---------------------------

/** One range over the n values x[off], x[off + stride], ...: [vmin, vdiff]. */
function trainUniform(rs: RangeStat, arg: number, n: number, k: number, x: Float32Array, off = 0, stride = 1): Float32Array {
  let vmin: number;
  let vmax: number;
  const at = (i: number): number => x[off + i * stride]!;
  if (rs === RangeStat.RS_minmax) {
    vmin = Infinity;
    vmax = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = at(i);
      if (v < vmin) vmin = v;
      if (v > vmax) vmax = v;
    }
    const vexp = fround(fround(vmax - vmin) * arg);
    vmin = fround(vmin - vexp);
    vmax = fround(vmax + vexp);
  } else if (rs === RangeStat.RS_meanstd) {
    let sum = 0;
    let sum2 = 0;
    for (let i = 0; i < n; i++) {
      const v = at(i);
      sum += v;
      sum2 += fround(v * v);
    }
    const mean = fround(sum / n);
    const variance = fround(sum2 / n - fround(mean * mean));
    const std = variance <= 0 ? 1 : fround(Math.sqrt(variance));
    vmin = fround(mean - fround(std * arg));
    vmax = fround(mean + fround(std * arg));
  } else if (rs === RangeStat.RS_quantiles) {
    const copy = new Float32Array(n);
    for (let i = 0; i < n; i++) copy[i] = at(i);
    copy.sort();
    let o = Math.trunc(fround(arg * fround(n)));
    if (o < 0) o = 0;
    if (o > n - o) o = Math.floor(n / 2);
    vmin = copy[o]!;
    vmax = copy[n - 1 - o]!;
  } else if (rs === RangeStat.RS_optim) {
    ({ vmin, vmax } = optimRange(n, k, at));
  } else {
    throw new InvalidArgumentError('rangestat', `must be a RangeStat (RS_minmax = 0, RS_meanstd = 1, RS_quantiles = 2, RS_optim = 3), got ${String(rs)}`);
  }
  return Float32Array.of(vmin, fround(vmax - vmin));
}

/** Faiss's RS_optim: alternating least squares of a uniform k-level quantizer, in float32. */
function optimRange(n: number, k: number, at: (i: number) => number): { vmin: number; vmax: number } {
  let vmin = Infinity;
  let vmax = -Infinity;
  let sx = 0;
  for (let i = 0; i < n; i++) {
    const v = at(i);
    if (v < vmin) vmin = v;
    if (v > vmax) vmax = v;
    sx = fround(sx + v);
  }
  let b = vmin;
  let a = fround(fround(vmax - vmin) / (k - 1));
  const nf = fround(n);
  let lastErr = -1;
  let iterLastErr = 0;
  for (let it = 0; it < 2000; it++) {
    let sn = 0;
    let sn2 = 0;
    let sxn = 0;
    let err1 = 0;
    for (let i = 0; i < n; i++) {
      const xi = at(i);
      let ni = fround(Math.floor(fround(fround(xi - b) / a) + 0.5));
      if (ni < 0) ni = 0;
      if (ni >= k) ni = k - 1;
      const e = fround(xi - fround(fround(ni * a) + b));
      err1 = fround(err1 + fround(e * e));
      sn = fround(sn + ni);
      sn2 = fround(sn2 + fround(ni * ni));
      sxn = fround(sxn + fround(ni * xi));
    }
    if (err1 === lastErr) {
      iterLastErr++;
      if (iterLastErr === 16) break;
    } else {
      lastErr = err1;
      iterLastErr = 0;
    }
    const det = fround(fround(sn * sn) - fround(sn2 * nf));
    b = fround(fround(fround(sn * sxn) - fround(sn2 * sx)) / det);
    a = fround(fround(fround(sn * sx) - fround(nf * sxn)) / det);
  }
  return { vmin: b, vmax: fround(b + fround(a * (k - 1))) };
}

function trainNonUniform(rs: RangeStat, arg: number, n: number, d: number, k: number, x: Float32Array): Float32Array {
  const trained = new Float32Array(2 * d);
  if (rs === RangeStat.RS_minmax) {
    const vmin = x.slice(0, d);
    const vmax = x.slice(0, d);
    for (let i = 1; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = x[i * d + j]!;
        if (v < vmin[j]!) vmin[j] = v;
        if (v > vmax[j]!) vmax[j] = v;
      }
    }
    for (let j = 0; j < d; j++) {
      const vexp = fround(fround(vmax[j]! - vmin[j]!) * arg);
      vmin[j] = vmin[j]! - vexp;
      vmax[j] = vmax[j]! + vexp;
      trained[j] = vmin[j]!;
      trained[d + j] = vmax[j]! - vmin[j]!;
    }
    return trained;
  }
  // Faiss transposes the training set starting from its second vector: the first vector's slots stay 0.
  const xt = new Float32Array(n * d);
  for (let i = 1; i < n; i++) for (let j = 0; j < d; j++) xt[j * n + i] = x[i * d + j]!;
  for (let j = 0; j < d; j++) {
    const r = trainUniform(rs, arg, n, k, xt, j * n, 1);
    trained[j] = r[0]!;
    trained[d + j] = r[1]!;
  }
  return trained;
}

/** Faiss's fvecs_maybe_subsample: nmax of the n vectors, picked by rand_perm(n, seed), or x itself. */
export function subsample(x: Float32Array, d: number, n: number, nmax: number, seed: number): Float32Array {
  if (n <= nmax) return x;
  // rand_perm, drawn lazily: only the first nmax positions are needed
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new RandomGenerator(seed);
  for (let i = 0; i + 1 < n && i < nmax; i++) {
    const i2 = i + rng.randInt(n - i);
    const t = perm[i]!;
    perm[i] = perm[i2]!;
    perm[i2] = t;
  }
  const out = new Float32Array(nmax * d);
  for (let i = 0; i < nmax; i++) out.set(x.subarray(perm[i]! * d, (perm[i]! + 1) * d), i * d);
  return out;
}

// ---- IEEE half floats (Faiss's portable encode_fp16 / decode_fp16) ----------------------------

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
const floatBits = (u: number): number => {
  u32buf[0] = u;
  return f32buf[0]!;
};
const intBits = (f: number): number => {
  f32buf[0] = f;
  return u32buf[0]!;
};

/**
 * A float32 to IEEE half, as Faiss's portable encode_fp16 (ryg's float_to_half_fast3): rounds to
 * nearest with ties away from zero, overflow to infinity, NaN to 0x7e00.
 */
export function encodeFp16(f: number): number {
  let fint = intBits(f);
  const sign = (fint & 0x80000000) >>> 0;
  fint = (fint ^ sign) >>> 0;
  const f32infty = 255 << 23;
  let o = fint > f32infty ? 0x7e00 : 0x7c00;
  const roundMask = 0xfffff000;
  let fscale = fround(floatBits((fint & roundMask) >>> 0) * floatBits(15 << 23));
  fscale = Math.min(fscale, floatBits((31 << 23) - 0x1000));
  const fint2 = (intBits(fscale) - roundMask) | 0;
  if (fint < f32infty) o = fint2 >> 13;
  return (o | (sign >>> 16)) & 0xffff;
}

/** An IEEE half (as a 16-bit integer) to float, exactly. */
export function decodeFp16(h: number): number {
  const shiftedExp = 0x7c00 << 13;
  let o = (h & 0x7fff) << 13;
  const exp = shiftedExp & o;
  o += (127 - 15) << 23;
  let r: number;
  if (exp === shiftedExp) r = o + ((128 - 16) << 23);
  else if (exp === 0) r = intBits(fround(floatBits(o + (1 << 23)) - floatBits(113 << 23)));
  else r = o;
  return floatBits((r | ((h & 0x8000) << 16)) >>> 0);
}
