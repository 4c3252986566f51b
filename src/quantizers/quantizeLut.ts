/**
 * @module quantizers/quantizeLut
 * Quantization of PQ look-up tables to uint8 (and of per-list biases to uint16) for FastScan, as
 * Faiss 1.7.3's utils/quantize_lut.cpp does it, float operation for float operation, so that the
 * quantized tables, and hence the 16-bit distances and their ties, are Faiss's.
 *
 * A table row (one sub-quantizer, ksub = 16 entries) is mapped affinely to 0..255: entry t becomes
 * floor((t - min_row) * a + 0.5), with one scale a for all rows. The sum of M quantized entries (plus
 * a quantized bias) approximates (distance - b) * a, so a FastScan distance is recovered as
 * sum / a + b (Faiss computes sum * (1/a) + b in float; {@link dequantize}).
 *
 * - {@link roundUint8PerColumn} (IndexPQFastScan): a = 255 / (largest row span), b = sum of the row
 *   minima. The 16-bit sum of M rows can then exceed 65535 for M > 257 (it wraps, as in Faiss).
 * - {@link quantizeLUTAndBias} (IndexIVFPQFastScan): a = min(255 / largest row span, 65535 / largest
 *   possible distance span), so sums never wrap; with one table per (query, probe) ("3D": L2 by
 *   residual) the tables of all probes of a query share a and b, so that distances from different
 *   lists compare.
 *
 * Float semantics reproduced: row minima and maxima ignore NaN (comparisons with NaN are false), sums
 * are float, `(t - bi) * a` is float and `+ 0.5` is done in double then rounded to float before the
 * floor (C's floorf of a double argument); the conversion to uint8 / uint16 truncates as x86 does
 * (NaN gives 0).
 */

const f = Math.fround;

/** Faiss's tab_min: the smallest of n entries from o, NaNs ignored (+Infinity when all are NaN). */
function tabMin(tab: Float32Array, o: number, n: number): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) if (tab[o + i]! < min) min = tab[o + i]!;
  return min;
}

/** Faiss's tab_max: the largest of n entries from o, NaNs ignored (-Infinity when all are NaN). */
function tabMax(tab: Float32Array, o: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (tab[o + i]! > max) max = tab[o + i]!;
  return max;
}

/** floorf((x - bi) * a + 0.5) with C's float and double steps. */
export function roundQuantized(x: number, a: number, bi: number): number {
  return Math.floor(f(f(f(x - bi) * a) + 0.5));
}

/** C's conversion of a float to an integer type of `mask` + 1 values on x86 (truncation, NaN -> 0). */
function truncate(v: number, mask: number): number {
  return (v | 0) & mask;
}

/** std::min on floats: b when b < a, else a. */
const fmin = (a: number, b: number): number => (b < a ? b : a);
/** std::max on floats: b when a < b, else a. */
const fmax = (a: number, b: number): number => (a < b ? b : a);

/** Quantization coefficients: value ~ quantized / a + b. */
export interface LutScale {
  a: number;
  b: number;
}

/** Minimum and maximum of each of `rows` rows of `ksub` entries of tab (NaNs ignored), into mins / maxs. */
export function lutRowRanges(tab: Float32Array, rows: number, ksub: number, mins: Float32Array, maxs: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    mins[i] = tabMin(tab, i * ksub, ksub);
    maxs[i] = tabMax(tab, i * ksub, ksub);
  }
}

/** round_uint8_per_column's scale from the row ranges: a = 255 / largest span, b = sum of the minima. */
export function perColumnScale(mins: Float32Array, maxs: Float32Array, n: number): LutScale {
  let maxSpan = 0;
  for (let i = 0; i < n; i++) {
    const span = f(maxs[i]! - mins[i]!);
    if (span > maxSpan) maxSpan = span;
  }
  const a = f(255 / maxSpan);
  let b = 0;
  for (let i = 0; i < n; i++) b = f(b + mins[i]!);
  return { a, b };
}

/**
 * quantize_LUT_and_bias's scale from the row ranges (mins / maxs: M rows, or nprobe*M rows when
 * lutIs3d), for its three branches with a quantized bias or none: with a bias, `biasq` receives the
 * nprobe quantized biases. The rows are then rounded with their own minimum (mins).
 */
export function lutAndBiasScale(nprobe: number, M: number, lutIs3d: boolean, mins: Float32Array, maxs: Float32Array, bias: Float32Array | null, biasq: Uint16Array | null): LutScale {
  let a: number;
  let b: number;
  if (bias === null) {
    if (lutIs3d) throw new RangeError('quantizeLUTAndBias: a 3D table needs biases');
    let maxSpanLUT = -Infinity;
    let maxSpanDis = 0;
    b = 0;
    for (let i = 0; i < M; i++) {
      const span = f(maxs[i]! - mins[i]!);
      maxSpanLUT = fmax(maxSpanLUT, span);
      maxSpanDis = f(maxSpanDis + span);
      b = f(b + mins[i]!);
    }
    a = fmin(f(255 / maxSpanLUT), f(65535 / maxSpanDis));
  } else if (!lutIs3d) {
    let maxSpanLUT = -Infinity;
    const biasMin = tabMin(bias, 0, nprobe);
    const biasMax = tabMax(bias, 0, nprobe);
    let maxSpanDis = f(biasMax - biasMin);
    b = 0;
    for (let i = 0; i < M; i++) {
      const span = f(maxs[i]! - mins[i]!);
      maxSpanLUT = fmax(maxSpanLUT, span);
      maxSpanDis = f(maxSpanDis + span);
      b = f(b + mins[i]!);
    }
    a = fmin(f(255 / maxSpanLUT), f(65535 / maxSpanDis));
    b = f(b + biasMin);
    if (biasq !== null) roundTab(bias, 0, nprobe, a, biasMin, biasq, 0, 0xffff);
  } else {
    if (biasq === null) throw new RangeError('lutAndBiasScale: a 3D table without biasq folds the biases (quantizeLUTAndBias)');
    const bias2 = new Float32Array(nprobe);
    const biasMin = tabMin(bias, 0, nprobe);
    let maxSpanLUT = -Infinity;
    let maxSpanDis = -Infinity;
    b = Infinity;
    let ij = 0;
    for (let j = 0; j < nprobe; j++) {
      let maxSpanDisJ = f(bias[j]! - biasMin);
      let b2j = bias[j]!;
      for (let i = 0; i < M; i++, ij++) {
        const span = f(maxs[ij]! - mins[ij]!);
        maxSpanLUT = fmax(maxSpanLUT, span);
        maxSpanDisJ = f(maxSpanDisJ + span);
        b2j = f(b2j + mins[ij]!);
      }
      maxSpanDis = fmax(maxSpanDis, maxSpanDisJ);
      bias2[j] = b2j;
      b = fmin(b, b2j);
    }
    a = fmin(f(255 / maxSpanLUT), f(65535 / maxSpanDis));
    roundTab(bias2, 0, nprobe, a, b, biasq, 0, 0xffff);
  }
  return { a, b };
}

/**
 * Faiss's round_uint8_per_column: quantizes n rows of d entries of `tab` in place (each entry becomes
 * a float holding an integer 0..255) with a = 255 / largest row span, b = sum of the row minima.
 */
export function roundUint8PerColumn(tab: Float32Array, n: number, d: number, o = 0): LutScale {
  const mins = new Float32Array(n);
  const maxs = new Float32Array(n);
  lutRowRanges(tab.subarray(o, o + n * d), n, d, mins, maxs);
  const scale = perColumnScale(mins, maxs, n);
  for (let i = 0; i < n; i++) {
    const bi = mins[i]!;
    for (let j = 0; j < d; j++) tab[o + i * d + j] = roundQuantized(tab[o + i * d + j]!, scale.a, bi);
  }
  return scale;
}

/**
 * IndexPQFastScan's quantized table of one query (Faiss's IndexFastScan::compute_quantized_LUT):
 * the M x ksub float table `tab` (from offset o) rounded per column, written as uint8 into `out`
 * (M2 x ksub bytes from offset oo, rows M .. M2-1 zero). `tab` is left as it was.
 */
export function fastScanQuantizeLUT(tab: Float32Array, M: number, ksub: number, M2: number, out: Uint8Array, o = 0, oo = 0): LutScale {
  const t = tab.slice(o, o + M * ksub);
  const scale = roundUint8PerColumn(t, M, ksub);
  for (let j = 0; j < M * ksub; j++) out[oo + j] = truncate(t[j]!, 0xff);
  out.fill(0, oo + M * ksub, oo + M2 * ksub);
  return scale;
}

/** round_tab<T>: n entries of `tab` from o, quantized with (a, bi), into `out` from oo. */
function roundTab(tab: Float32Array, o: number, n: number, a: number, bi: number, out: Uint8Array | Uint16Array, oo: number, mask: number): void {
  for (let i = 0; i < n; i++) out[oo + i] = truncate(roundQuantized(tab[o + i]!, a, bi), mask);
}

/**
 * Faiss's quantize_LUT_and_bias: quantizes a query's look-up table(s) to uint8 and its per-probe
 * biases to uint16 with one (a, b).
 * @param nprobe probes of the query (the length of `bias`)
 * @param lutIs3d false: one M x ksub table for every probe; true: nprobe tables (probe j at j*M*ksub)
 * @param bias nprobe floats added to the distances of each probe's list, or null (no bias)
 * @param LUTq output: M2 x ksub bytes (2D) or nprobe x M2 x ksub (3D), padding rows zero
 * @param biasq output: nprobe uint16, or null (3D only: the biases are then folded into the tables)
 */
export function quantizeLUTAndBias(
  nprobe: number,
  M: number,
  ksub: number,
  lutIs3d: boolean,
  LUT: Float32Array,
  bias: Float32Array | null,
  LUTq: Uint8Array,
  M2: number,
  biasq: Uint16Array | null,
): LutScale {
  if (lutIs3d && bias !== null && biasq === null) return quantizeFolded(nprobe, M, ksub, LUT, bias, LUTq, M2);
  const tables = lutIs3d ? nprobe : 1;
  const mins = new Float32Array(tables * M);
  const maxs = new Float32Array(tables * M);
  lutRowRanges(LUT, tables * M, ksub, mins, maxs);
  const scale = lutAndBiasScale(nprobe, M, lutIs3d, mins, maxs, bias, biasq);
  for (let j = 0; j < tables; j++) {
    for (let i = 0; i < M; i++) roundTab(LUT, (j * M + i) * ksub, ksub, scale.a, mins[j * M + i]!, LUTq, (j * M2 + i) * ksub, 0xff);
    LUTq.fill(0, (j * M2 + M) * ksub, (j + 1) * M2 * ksub);
  }
  return scale;
}

/** quantize_LUT_and_bias's last branch (3D, no biasq): the biases spread over the tables, row minima shared over probes. */
function quantizeFolded(nprobe: number, M: number, ksub: number, LUT: Float32Array, bias: Float32Array, LUTq: Uint8Array, M2: number): LutScale {
  const LUT2 = new Float32Array(nprobe * M * ksub);
  let ijc = 0;
  for (let j = 0; j < nprobe; j++) {
    const biasJ = f(bias[j]! / M);
    for (let i = 0; i < M * ksub; i++, ijc++) LUT2[ijc] = f(LUT[ijc]! + biasJ);
  }
  const mins = new Float32Array(M).fill(Infinity);
  const maxs = new Float32Array(M).fill(-Infinity);
  let ij = 0;
  for (let j = 0; j < nprobe; j++) {
    for (let i = 0; i < M; i++, ij++) {
      mins[i] = fmin(mins[i]!, tabMin(LUT2, ij * ksub, ksub));
      maxs[i] = fmax(maxs[i]!, tabMax(LUT2, ij * ksub, ksub));
    }
  }
  let maxSpan = -Infinity;
  let b = 0;
  for (let i = 0; i < M; i++) {
    maxSpan = fmax(maxSpan, f(maxs[i]! - mins[i]!));
    b = f(b + mins[i]!);
  }
  const a = f(255 / maxSpan);
  ij = 0;
  for (let j = 0; j < nprobe; j++) {
    for (let i = 0; i < M; i++, ij++) roundTab(LUT2, ij * ksub, ksub, a, mins[i]!, LUTq, (j * M2 + i) * ksub, 0xff);
    LUTq.fill(0, (j * M2 + M) * ksub, (j + 1) * M2 * ksub);
  }
  return { a, b };
}

/**
 * A 16-bit FastScan distance back to a float distance, as Faiss's result handlers do:
 * v * (1/a) + b in float.
 */
export function dequantize(v: number, scale: LutScale): number {
  return f(f(v * f(1 / scale.a)) + scale.b);
}
