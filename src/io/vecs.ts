/**
 * @module io/vecs
 * Reading and writing the `.fvecs` / `.ivecs` / `.bvecs` files of the ANN benchmarks (TEXMEX SIFT1M,
 * GIST1M, BIGANN; Faiss's `fvecs_read` / `ivecs_read`) from bytes. Portable: no Node imports.
 *
 * Each row (one vector) is a little-endian int32 dimension `d` followed by `d` items:
 *
 * | format   | item            | row size    | typical content                      |
 * |----------|-----------------|-------------|--------------------------------------|
 * | `.fvecs` | float32         | 4 + 4·d     | base / query vectors                 |
 * | `.ivecs` | int32           | 4 + 4·d     | ground truth: ids of the k nearest   |
 * | `.bvecs` | uint8           | 4 + d       | BIGANN base vectors (read as float32)|
 *
 * Every row must have the same `d`, and the file size must be a multiple of the row size: anything
 * else is a {@link FormatError} naming the file and the byte offset of the first bad row. An empty
 * file holds n = 0 vectors of unknown dimension (d = 0).
 *
 * Hosts are assumed little-endian for speed (every Node / browser platform); big-endian hosts fall
 * back to DataView.
 */
import { FormatError, InvalidArgumentError, InvalidTypeError } from '../errors.js';
import { HOST_LITTLE_ENDIAN, NPY_MAGIC } from './npy.js';

/** The three vecs formats. */
export type VecsFormat = 'fvecs' | 'ivecs' | 'bvecs';

/** Bytes per item of each vecs format. */
export const VECS_ITEM_BYTES: Readonly<Record<VecsFormat, number>> = { fvecs: 4, ivecs: 4, bvecs: 1 };

/** Largest dimension accepted in a row header (2^24); larger values mean a corrupt or mislabelled file. */
export const VECS_MAX_DIMENSION = 1 << 24;

/** Bytes per row of a vecs file of dimension d: the 4-byte dimension plus d items. */
export function vecsRowBytes(format: VecsFormat, d: number): number {
  return 4 + d * VECS_ITEM_BYTES[format];
}

/**
 * The dimension d declared by the first row of a vecs file.
 * @param bytes the start of the file (at least 4 bytes).
 * @throws FormatError when the file is shorter than 4 bytes, is a `.npy` file, or declares a
 *   dimension outside 1..2^24.
 */
export function vecsDimension(bytes: Uint8Array, file: string, format: VecsFormat): number {
  if (bytes.length < 4) {
    throw new FormatError(
      file,
      0,
      `truncated .${format} file: ${bytes.length} bytes, too short for the 4-byte dimension of row 0`,
    );
  }
  if (bytes.length >= NPY_MAGIC.length && NPY_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new FormatError(file, 0, `this is a .npy file (it starts with \\x93NUMPY), not a .${format} file: rename it to .npy`);
  }
  const d = new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, true);
  if (d < 1 || d > VECS_MAX_DIMENSION) {
    throw new FormatError(
      file,
      0,
      `row 0 declares dimension ${d}, outside 1..${VECS_MAX_DIMENSION}: not a .${format} file, or corrupt`,
    );
  }
  return d;
}

/**
 * Check the dimension field of `rows` whole rows.
 * @param bytes the rows' bytes (at least rows * rowBytes), read from byte `fileOffset` of the file.
 * @param firstRow the index of the first row in `bytes`, for messages.
 * @throws FormatError at the first row whose dimension differs from d.
 */
export function checkVecsRows(
  bytes: Uint8Array,
  fileOffset: number,
  firstRow: number,
  rows: number,
  d: number,
  format: VecsFormat,
  file: string,
): void {
  const rowBytes = vecsRowBytes(format, d);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let r = 0; r < rows; r++) {
    const di = view.getInt32(r * rowBytes, true);
    if (di !== d) throw dimensionError(file, format, fileOffset + r * rowBytes, firstRow + r, di, d);
  }
}

/**
 * The FormatError for a vecs file whose size is not a whole number of rows: names the truncated
 * (last, incomplete) row, its byte offset, and what is missing.
 */
export function vecsTruncationError(format: VecsFormat, d: number, fileSize: number, file: string): FormatError {
  const rowBytes = vecsRowBytes(format, d);
  const row = Math.floor(fileSize / rowBytes);
  const offset = row * rowBytes;
  const remain = fileSize - offset;
  return new FormatError(
    file,
    offset,
    `truncated .${format} file: row ${row} starts at byte ${offset} and needs ${rowBytes} bytes ` +
      `(4-byte dimension + ${d} × ${VECS_ITEM_BYTES[format]}), but only ${remain} remain ` +
      `(file size ${fileSize} is not a multiple of the row size ${rowBytes})`,
  );
}

/**
 * Copy the items of whole rows into `dest`, dropping the 4-byte row headers and checking each row's
 * dimension. fvecs → Float32Array and ivecs → Int32Array are byte copies; bvecs (uint8) and ivecs
 * (int32) → Float32Array are converted.
 * @param src the rows' bytes, a whole number k of rows (size k * rowBytes), read from byte
 *   `srcFileOffset` of the file.
 * @param firstRow index of the first row of `src`, for messages.
 * @param dest output, receives k*d items at `destOffset`.
 * @returns k, the number of rows unpacked.
 * @throws FormatError at the first row whose dimension is not d.
 */
export function unpackVecsRows(
  src: Uint8Array,
  srcFileOffset: number,
  firstRow: number,
  d: number,
  format: VecsFormat,
  dest: Float32Array | Int32Array,
  destOffset: number,
  file: string,
): number {
  const rowBytes = vecsRowBytes(format, d);
  if (src.byteLength % rowBytes !== 0) {
    throw new InvalidArgumentError('src', `has ${src.byteLength} bytes, not a whole number of ${rowBytes}-byte rows`);
  }
  const rows = src.byteLength / rowBytes;
  if (destOffset + rows * d > dest.length) {
    throw new InvalidArgumentError('dest', `has length ${dest.length}, too small for ${rows} rows of d = ${d} at offset ${destOffset}`);
  }
  if (format === 'fvecs' && !(dest instanceof Float32Array)) {
    throw new InvalidTypeError('dest', 'a Float32Array for .fvecs', dest);
  }
  checkVecsRows(src, srcFileOffset, firstRow, rows, d, format, file);
  const payload = d * VECS_ITEM_BYTES[format];
  const sameType = format === 'fvecs' || (format === 'ivecs' && dest instanceof Int32Array);
  if (sameType && HOST_LITTLE_ENDIAN) {
    const destBytes = new Uint8Array(dest.buffer, dest.byteOffset + destOffset * 4, rows * payload);
    for (let r = 0; r < rows; r++) {
      const off = r * rowBytes + 4;
      destBytes.set(src.subarray(off, off + payload), r * payload);
    }
  } else if (format === 'bvecs') {
    for (let r = 0; r < rows; r++) {
      const off = r * rowBytes + 4;
      dest.set(src.subarray(off, off + d), destOffset + r * d);
    }
  } else {
    // ivecs → Float32Array (converted), or any 4-byte format on a big-endian host.
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const float = format === 'fvecs';
    for (let r = 0; r < rows; r++) {
      const off = r * rowBytes + 4;
      const o = destOffset + r * d;
      for (let j = 0; j < d; j++) {
        dest[o + j] = float ? view.getFloat32(off + 4 * j, true) : view.getInt32(off + 4 * j, true);
      }
    }
  }
  return rows;
}

/**
 * Parse a whole vecs file.
 * @param bytes the whole file.
 * @returns n, d and data (size n*d, row-major): Float32Array for fvecs and bvecs, Int32Array for ivecs.
 *   An empty file gives n = 0, d = 0.
 * @throws FormatError (file name and byte offset) on a bad first dimension, a row with a different
 *   dimension, or a truncated last row.
 */
export function parseVecs(bytes: Uint8Array, file: string, format: 'ivecs'): { n: number; d: number; data: Int32Array };
export function parseVecs(bytes: Uint8Array, file: string, format: 'fvecs' | 'bvecs'): { n: number; d: number; data: Float32Array };
export function parseVecs(
  bytes: Uint8Array,
  file: string,
  format: VecsFormat,
): { n: number; d: number; data: Float32Array | Int32Array };
export function parseVecs(
  bytes: Uint8Array,
  file: string,
  format: VecsFormat,
): { n: number; d: number; data: Float32Array | Int32Array } {
  if (!(bytes instanceof Uint8Array)) throw new InvalidTypeError('bytes', 'a Uint8Array', bytes);
  const empty = format === 'ivecs' ? new Int32Array(0) : new Float32Array(0);
  if (bytes.length === 0) return { n: 0, d: 0, data: empty };
  const d = vecsDimension(bytes, file, format);
  const rowBytes = vecsRowBytes(format, d);
  const n = Math.floor(bytes.length / rowBytes);
  checkVecsRows(bytes, 0, 0, n, d, format, file);
  if (bytes.length % rowBytes !== 0) throw vecsTruncationError(format, d, bytes.length, file);
  const data = format === 'ivecs' ? new Int32Array(n * d) : new Float32Array(n * d);
  unpackVecsRows(bytes, 0, 0, d, format, data, 0, file);
  return { n, d, data };
}

/**
 * Parse a whole `.fvecs` file: n rows of (int32 d, d × float32).
 * @returns n, d, data: output, size n*d.
 */
export function parseFvecs(bytes: Uint8Array, file: string): { n: number; d: number; data: Float32Array } {
  return parseVecs(bytes, file, 'fvecs');
}

/**
 * Parse a whole `.ivecs` file: n rows of (int32 d, d × int32), e.g. ground-truth ids.
 * @returns n, d, data: output, size n*d.
 */
export function parseIvecs(bytes: Uint8Array, file: string): { n: number; d: number; data: Int32Array } {
  return parseVecs(bytes, file, 'ivecs');
}

/**
 * Parse a whole `.bvecs` file: n rows of (int32 d, d × uint8), converted to float32.
 * @returns n, d, data: output, size n*d.
 */
export function parseBvecs(bytes: Uint8Array, file: string): { n: number; d: number; data: Float32Array } {
  return parseVecs(bytes, file, 'bvecs');
}

/**
 * Write `rows` rows of `data` (from row `firstRow`) in vecs layout into `out`.
 * @param data the vectors, size n*d: Float32Array (fvecs), Int32Array (ivecs), Uint8Array (bvecs).
 * @param out output, size at least rows * vecsRowBytes(format, d).
 */
export function packVecsRows(
  data: Float32Array | Int32Array | Uint8Array,
  d: number,
  format: VecsFormat,
  firstRow: number,
  rows: number,
  out: Uint8Array,
): void {
  const rowBytes = vecsRowBytes(format, d);
  const payload = d * VECS_ITEM_BYTES[format];
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const src = new Uint8Array(data.buffer, data.byteOffset + firstRow * payload, rows * payload);
  for (let r = 0; r < rows; r++) {
    view.setInt32(r * rowBytes, d, true);
    if (HOST_LITTLE_ENDIAN || format === 'bvecs') {
      out.set(src.subarray(r * payload, (r + 1) * payload), r * rowBytes + 4);
    } else {
      for (let j = 0; j < d; j++) {
        const v = data[(firstRow + r) * d + j]!;
        if (format === 'fvecs') view.setFloat32(r * rowBytes + 4 + 4 * j, v, true);
        else view.setInt32(r * rowBytes + 4 + 4 * j, v, true);
      }
    }
  }
}

/**
 * Check the arguments of a vecs encoder / writer; returns n = data.length / d.
 * @throws InvalidTypeError / InvalidArgumentError.
 */
export function checkVecsData(data: unknown, d: unknown, format: VecsFormat): number {
  const Expected = format === 'fvecs' ? Float32Array : format === 'ivecs' ? Int32Array : Uint8Array;
  if (!(data instanceof Expected)) {
    throw new InvalidTypeError('data', `a ${Expected.name} of n*d items for .${format}`, data);
  }
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > VECS_MAX_DIMENSION) {
    throw new InvalidArgumentError('d', `must be an integer in 1..${VECS_MAX_DIMENSION}, got ${String(d)}`);
  }
  if (data.length % d !== 0) {
    throw new InvalidArgumentError('data', `has length ${data.length}, which is not a multiple of d = ${d} (expected n*d items)`);
  }
  return data.length / d;
}

/**
 * Encode vectors as a `.fvecs` file.
 * @param data the vectors, size n*d, row-major.
 * @returns the file's bytes, size n * (4 + 4d).
 */
export function encodeFvecs(data: Float32Array, d: number): Uint8Array {
  return encodeVecs(data, d, 'fvecs');
}

/**
 * Encode int32 rows (e.g. ground-truth ids, k per query) as a `.ivecs` file.
 * @param data the rows, size n*d, row-major.
 * @returns the file's bytes, size n * (4 + 4d).
 */
export function encodeIvecs(data: Int32Array, d: number): Uint8Array {
  return encodeVecs(data, d, 'ivecs');
}

/**
 * Encode uint8 vectors as a `.bvecs` file.
 * @param data the vectors, size n*d, row-major.
 * @returns the file's bytes, size n * (4 + d).
 */
export function encodeBvecs(data: Uint8Array, d: number): Uint8Array {
  return encodeVecs(data, d, 'bvecs');
}

function encodeVecs(data: Float32Array | Int32Array | Uint8Array, d: number, format: VecsFormat): Uint8Array {
  const n = checkVecsData(data, d, format);
  const out = new Uint8Array(n * vecsRowBytes(format, d));
  packVecsRows(data, d, format, 0, n, out);
  return out;
}

function dimensionError(file: string, format: VecsFormat, offset: number, row: number, di: number, d: number): FormatError {
  return new FormatError(
    file,
    offset,
    `row ${row} has dimension ${di}, but row 0 has dimension ${d}: every row of a .${format} file must have the same d ` +
      `(corrupt file, or not a .${format} file)`,
  );
}
