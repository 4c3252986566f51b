/**
 * @module io/npy
 * Reading and writing numpy `.npy` files from bytes (portable: no Node imports, runs in browsers).
 *
 * A `.npy` file (numpy's `np.save` format, NEP 1) is:
 *
 * | bytes          | content                                                                  |
 * |----------------|--------------------------------------------------------------------------|
 * | 0..5           | magic `\x93NUMPY`                                                        |
 * | 6, 7           | format version major, minor: 1.0, 2.0 or 3.0                             |
 * | 8..9 / 8..11   | header length: uint16 LE (version 1.0) or uint32 LE (versions 2.0, 3.0)  |
 * | ...            | header: a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }` padded with spaces and `\n` so that the data starts at a multiple of 64 bytes; latin-1 (1.0, 2.0) or UTF-8 (3.0) |
 * | headerLength.. | the data: prod(shape) items of dtype `descr`, C order                    |
 *
 * For vectors (Faiss's `n × d` float32 matrix `x`, row-major) the accepted dtypes are float32 (`<f4`,
 * zero-copy when aligned), float16 (`<f2`, converted exactly) and float64 (`<f8`, rounded to float32),
 * in either byte order. Integer dtypes (`|u1`, `<i4`, `<i8`, ...) are converted only when the caller
 * asks (`convertIntegers`); {@link decodeNpy} returns any numeric dtype in its own typed array
 * (labels, ids). Fortran-order arrays and structured / complex / object dtypes are rejected with a
 * {@link FormatError} that names the file, the byte offset and what to do instead.
 */
import { FormatError, InvalidArgumentError, InvalidTypeError } from '../errors.js';

/** The 6 magic bytes every `.npy` file starts with: `\x93NUMPY`. */
export const NPY_MAGIC: Uint8Array = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Bytes needed to know a `.npy` file's total header length: magic, version and a uint32 length. */
export const NPY_PREAMBLE_BYTES = 12;

/** numpy aligns the start of the data to this many bytes (`numpy.lib.format.ARRAY_ALIGN`). */
const ARRAY_ALIGN = 64;
/** numpy >= 1.24 leaves spare header space so that axis 0 can grow in place (`GROWTH_AXIS_MAX_DIGITS`). */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** True on little-endian hosts (every platform Node and the browsers run on, in practice). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The parsed header of a `.npy` file. */
export interface NpyHeader {
  /** The format version, `'1.0'`, `'2.0'` or `'3.0'`. */
  version: string;
  /** The numpy type string (`descr`), e.g. `'<f4'`, `'|u1'`, `'>f8'`. */
  dtype: string;
  /** True when the data is in Fortran (column-major) order. */
  fortranOrder: boolean;
  /** The array's shape; `[]` for a 0-d array. */
  shape: number[];
  /** Total bytes before the data (magic + version + length field + header text): the data's byte offset. */
  headerLength: number;
}

/** A numpy dtype, decoded from its type string. */
export interface NpyDtype {
  /** The type string as in the file, e.g. `'<f4'`. */
  descr: string;
  /** `'<'` little-endian, `'>'` big-endian, `'|'` not applicable (1-byte items). */
  byteOrder: '<' | '>' | '|';
  /** numpy kind character: `f` float, `i` signed int, `u` unsigned int, `b` bool, `c` complex, `U` unicode, ... */
  kind: string;
  /** Bytes per item. */
  itemSize: number;
  /** numpy's name for it: `float32`, `uint8`, `complex64`, `<U16`, ... */
  name: string;
}

/** A whole `.npy` array decoded into a typed array of its own dtype (see {@link decodeNpy}). */
export interface NpyArray {
  /** The array's shape. */
  shape: number[];
  /** The type string in the file, e.g. `'<i8'`. */
  dtype: string;
  /**
   * The items in C order, size prod(shape): Float32Array for f4 and f2 (float16 converted),
   * Float64Array, Int8/Uint8/Int16/Uint16/Int32/Uint32Array, BigInt64Array / BigUint64Array for
   * i8 / u8, Uint8Array for bool, string[] for unicode `U` (trailing NULs stripped).
   */
  data: NpyTypedArray | string[];
}

/** Typed arrays {@link decodeNpy} can return. */
export type NpyTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Typed arrays {@link encodeNpy} can write, and the `descr` each is written as. */
export type NpyWritableArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** Options for decoding a `.npy` file as vectors. */
export interface NpyVectorOptions {
  /**
   * Convert integer and bool dtypes (`|u1`, `<i4`, `<i8`, ...) to float32 instead of rejecting them.
   * Exact up to 2^24 in magnitude; larger int32/int64 values are rounded to the nearest float32.
   */
  convertIntegers?: boolean;
}

const FLOAT_NAMES: Record<number, string> = { 2: 'float16', 4: 'float32', 8: 'float64', 16: 'float128' };
const COMPLEX_NAMES: Record<number, string> = { 8: 'complex64', 16: 'complex128', 32: 'complex256' };

/**
 * Total header length (the byte offset of the data) of a `.npy` file from its first bytes.
 * @param bytes the start of the file: at least 10 bytes for version 1.0, 12 for 2.0 / 3.0
 *   ({@link NPY_PREAMBLE_BYTES} is always enough unless the file is shorter).
 * @param file the file name, for error messages.
 * @throws FormatError on a bad magic, an unknown version or a file cut inside the preamble.
 */
export function npyHeaderLength(bytes: Uint8Array, file: string): number {
  const magicLen = Math.min(bytes.length, NPY_MAGIC.length);
  for (let i = 0; i < magicLen; i++) {
    if (bytes[i] !== NPY_MAGIC[i]) {
      throw new FormatError(
        file,
        0,
        `not a .npy file: expected the magic bytes \\x93NUMPY, got "${escapeBytes(bytes.subarray(0, 8))}"`,
      );
    }
  }
  if (bytes.length < 10) {
    throw new FormatError(
      file,
      bytes.length,
      `truncated .npy header: the file has only ${bytes.length} bytes, fewer than the 10-byte preamble`,
    );
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw new FormatError(file, 6, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (major === 1) return 10 + (bytes[8]! | (bytes[9]! << 8));
  if (bytes.length < 12) {
    throw new FormatError(
      file,
      bytes.length,
      `truncated .npy header: version ${major}.0 needs a 12-byte preamble, the file has only ${bytes.length} bytes`,
    );
  }
  return 12 + (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16)) + bytes[11]! * 0x1000000;
}

/**
 * Parse a `.npy` header (versions 1.0, 2.0 and 3.0).
 * @param bytes the start of the file, at least `headerLength` bytes (the whole file will do).
 * @param file the file name, for error messages.
 * @returns dtype (`descr`), fortranOrder, shape and headerLength (the data's byte offset).
 * @throws FormatError naming the file and the byte offset on a bad magic, a truncated header or a
 *   malformed header dict. The dtype itself is not checked here (see {@link parseNpyDtype}).
 */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const headerLength = npyHeaderLength(bytes, file);
  const major = bytes[6]!;
  const textStart = major === 1 ? 10 : 12;
  if (bytes.length < headerLength) {
    throw new FormatError(
      file,
      bytes.length,
      `truncated .npy header: the header declares ${headerLength} bytes but the file has only ${bytes.length}`,
    );
  }
  const raw = bytes.subarray(textStart, headerLength);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new FormatError(file, textStart, 'the version 3.0 .npy header is not valid UTF-8');
    }
  } else {
    text = latin1(raw);
  }
  const dict = new PyLiteralParser(text, file, textStart).parseHeaderDict();

  const descr = dict.get('descr');
  if (descr === undefined) throw new FormatError(file, textStart, `the .npy header has no 'descr' key: "${text.trim()}"`);
  if (typeof descr !== 'string') {
    throw new FormatError(
      file,
      textStart,
      `structured dtype ${pyRepr(descr)} is not supported: only plain numeric arrays (e.g. '<f4') can be read`,
    );
  }
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') {
    throw new FormatError(file, textStart, `the .npy header's 'fortran_order' must be True or False, got ${pyRepr(fortran)}`);
  }
  const shape = dict.get('shape');
  if (!Array.isArray(shape) || !shape.every((s) => typeof s === 'number')) {
    throw new FormatError(file, textStart, `the .npy header's 'shape' must be a tuple of integers, got ${pyRepr(shape)}`);
  }
  return { version: `${major}.0`, dtype: descr, fortranOrder: fortran, shape: shape as number[], headerLength };
}

/**
 * Decode a numpy type string (`descr`) such as `'<f4'`, `'>f8'`, `'|u1'`, `'<U16'`.
 * @param offset byte offset of the header in the file, for error messages.
 * @throws FormatError on a type string that is not a simple dtype.
 */
export function parseNpyDtype(descr: string, file: string, offset = 0): NpyDtype {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  if (m === null) {
    throw new FormatError(file, offset, `unsupported dtype '${descr}': only simple numeric dtypes such as '<f4' can be read`);
  }
  const kind = m[2]!;
  const count = Number(m[3]);
  const itemSize = kind === 'U' ? 4 * count : count;
  let order = m[1]! as '<' | '>' | '|' | '=' | '';
  if (order === '=' || order === '') order = HOST_LITTLE_ENDIAN ? '<' : '>';
  if (itemSize === 1) order = '|';
  else if (order === '|') order = HOST_LITTLE_ENDIAN ? '<' : '>';
  let name: string;
  switch (kind) {
    case 'f':
      name = FLOAT_NAMES[itemSize] ?? `float${itemSize * 8}`;
      break;
    case 'i':
      name = `int${itemSize * 8}`;
      break;
    case 'u':
      name = `uint${itemSize * 8}`;
      break;
    case 'b':
      name = 'bool';
      break;
    case 'c':
      name = COMPLEX_NAMES[itemSize] ?? `complex${itemSize * 8}`;
      break;
    case 'U':
      name = `unicode string <U${count}`;
      break;
    case 'S':
      name = `bytes string |S${count}`;
      break;
    case 'O':
      name = 'Python object';
      break;
    default:
      name = `kind '${kind}'`;
  }
  return { descr, byteOrder: order as '<' | '>' | '|', kind, itemSize, name };
}

/** True for the dtypes {@link convertToFloat32} can convert (floats 2/4/8 bytes, ints, bool). */
export function isNumericDtype(dt: NpyDtype): boolean {
  if (dt.kind === 'f') return dt.itemSize === 2 || dt.itemSize === 4 || dt.itemSize === 8;
  if (dt.kind === 'i' || dt.kind === 'u') return dt.itemSize === 1 || dt.itemSize === 2 || dt.itemSize === 4 || dt.itemSize === 8;
  return dt.kind === 'b' && dt.itemSize === 1;
}

/**
 * Check that a `.npy` array can be read as `n × d` float32 vectors and return n and d.
 * Accepted: a non-Fortran array of ≥ 2 dimensions (trailing dimensions are flattened into d, as
 * `x.reshape(n, -1)`), d ≥ 1, dtype float32 / float16 / float64 in either byte order, and integer /
 * bool dtypes when `opts.convertIntegers` is set.
 * @throws FormatError naming the dtype, shape or order, and what is accepted.
 */
export function checkNpyVectors(
  header: NpyHeader,
  file: string,
  opts: NpyVectorOptions = {},
): { n: number; d: number; dtype: NpyDtype } {
  const at = header.version === '1.0' ? 10 : 12;
  if (header.fortranOrder) {
    throw new FormatError(
      file,
      at,
      'Fortran-order (column-major) arrays are not supported: save a C-order array, e.g. ' +
        'np.save(path, np.ascontiguousarray(x))',
    );
  }
  const dt = parseNpyDtype(header.dtype, file, at);
  const isFloat = dt.kind === 'f' && (dt.itemSize === 2 || dt.itemSize === 4 || dt.itemSize === 8);
  if (!isFloat) {
    const integer = isNumericDtype(dt);
    if (!(integer && opts.convertIntegers === true)) {
      throw new FormatError(
        file,
        at,
        `dtype '${dt.descr}' (${dt.name}) is not supported for vectors: accepted dtypes are float32 ('<f4'), ` +
          `float16 ('<f2') and float64 ('<f8'), in either byte order` +
          (integer
            ? `; pass { convertIntegers: true } to convert ${dt.name} to float32, or save x.astype(np.float32)`
            : '; save x.astype(np.float32)'),
      );
    }
  }
  const shape = header.shape;
  if (shape.length < 2) {
    throw new FormatError(
      file,
      at,
      `vectors must be a 2-D array of shape (n, d), got shape ${shapeRepr(shape)}` +
        (shape.length === 1 ? ': save x.reshape(1, -1) for one vector or x.reshape(-1, 1) for d = 1' : ''),
    );
  }
  const n = shape[0]!;
  let d = 1;
  for (let i = 1; i < shape.length; i++) d *= shape[i]!;
  if (d === 0) {
    throw new FormatError(file, at, `vectors must have dimension d >= 1, got shape ${shapeRepr(shape)}`);
  }
  if (!Number.isSafeInteger(n * d * dt.itemSize)) {
    throw new FormatError(file, at, `shape ${shapeRepr(shape)} is too large`);
  }
  return { n, d, dtype: dt };
}

/**
 * Check that a `.npy` file holds exactly the data its header describes.
 * @param fileSize the file's size in bytes.
 * @throws FormatError when the data is cut short (offset = end of file) or followed by extra bytes
 *   (offset = end of the data), naming the shape and dtype.
 */
export function checkNpyDataSize(header: NpyHeader, itemSize: number, fileSize: number, file: string): void {
  const items = header.shape.reduce((a, b) => a * b, 1);
  const need = items * itemSize;
  const have = fileSize - header.headerLength;
  if (have < need) {
    const shape = header.shape;
    const rowBytes = shape.length >= 2 ? (need / Math.max(1, shape[0]!)) : itemSize;
    const rows = rowBytes > 0 ? Math.floor(have / rowBytes) : 0;
    throw new FormatError(
      file,
      fileSize,
      `truncated .npy data: shape ${shapeRepr(shape)} of '${header.dtype}' needs ${need} bytes after the ` +
        `${header.headerLength}-byte header, but the file has only ${have}` +
        (shape.length >= 2 ? ` (${rows} complete rows of ${shape[0]})` : ''),
    );
  }
  if (have > need) {
    throw new FormatError(
      file,
      header.headerLength + need,
      `the file has ${have - need} bytes after the end of the data: shape ${shapeRepr(header.shape)} of ` +
        `'${header.dtype}' needs ${need} bytes; the header does not describe this file`,
    );
  }
}

/**
 * Decode a whole `.npy` file as `n × d` float32 vectors.
 * @param bytes the whole file.
 * @returns n, d and data (size n*d, row-major). For `<f4` whose data is 4-byte aligned in `bytes`
 *   (always for numpy's 64-byte aligned headers and a fresh buffer) `data` is a zero-copy view that
 *   shares memory with `bytes`; otherwise it is a new array.
 * @throws FormatError as {@link parseNpyHeader}, {@link checkNpyVectors}, {@link checkNpyDataSize}.
 */
export function decodeNpyVectors(
  bytes: Uint8Array,
  file: string,
  opts: NpyVectorOptions = {},
): { n: number; d: number; data: Float32Array } {
  const header = parseNpyHeader(bytes, file);
  const { n, d, dtype } = checkNpyVectors(header, file, opts);
  checkNpyDataSize(header, dtype.itemSize, bytes.length, file);
  const src = bytes.subarray(header.headerLength, header.headerLength + n * d * dtype.itemSize);
  if (dtype.kind === 'f' && dtype.itemSize === 4 && nativeOrder(dtype) && src.byteOffset % 4 === 0) {
    return { n, d, data: new Float32Array(src.buffer, src.byteOffset, n * d) };
  }
  const data = new Float32Array(n * d);
  convertToFloat32(src, dtype, data, 0);
  return { n, d, data };
}

/**
 * Decode a whole `.npy` file into a typed array of its own dtype (labels, ids, any numeric array).
 * Zero-copy when the data is aligned and in host byte order, except float16, which is converted to
 * float32, and unicode, which becomes string[].
 * @throws FormatError on Fortran order, an unsupported dtype (complex, object, structured, ...) or a
 *   data size that does not match the header.
 */
export function decodeNpy(bytes: Uint8Array, file: string): NpyArray {
  const header = parseNpyHeader(bytes, file);
  const at = header.version === '1.0' ? 10 : 12;
  if (header.fortranOrder) {
    throw new FormatError(
      file,
      at,
      'Fortran-order (column-major) arrays are not supported: save a C-order array, e.g. np.save(path, np.ascontiguousarray(x))',
    );
  }
  const dt = parseNpyDtype(header.dtype, file, at);
  if (!isNumericDtype(dt) && dt.kind !== 'U') {
    throw new FormatError(
      file,
      at,
      `dtype '${dt.descr}' (${dt.name}) is not supported: accepted are float16/32/64, int8..int64, uint8..uint64, bool and unicode strings`,
    );
  }
  checkNpyDataSize(header, dt.itemSize, bytes.length, file);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const src = bytes.subarray(header.headerLength, header.headerLength + count * dt.itemSize);
  if (dt.kind === 'U') {
    const chars = dt.itemSize / 4;
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const little = dt.byteOrder !== '>';
    const out: string[] = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const cps: number[] = [];
      for (let j = 0; j < chars; j++) {
        const cp = view.getUint32((i * chars + j) * 4, little);
        if (cp === 0) break;
        cps.push(cp);
      }
      out[i] = String.fromCodePoint(...cps);
    }
    return { shape: header.shape, dtype: header.dtype, data: out };
  }
  if (dt.kind === 'f' && dt.itemSize === 2) {
    const data = new Float32Array(count);
    convertToFloat32(src, dt, data, 0);
    return { shape: header.shape, dtype: header.dtype, data };
  }
  return { shape: header.shape, dtype: header.dtype, data: nativeArray(src, dt) };
}

/**
 * Convert raw items of a numeric dtype to float32.
 * @param src the raw bytes, a whole number of items (size count*itemSize).
 * @param dest output, receives count floats at `destOffset`.
 * float16 is converted exactly (subnormals, ±inf, NaN payloads kept), float64 rounded to nearest,
 * integers converted (exact up to 2^24).
 */
export function convertToFloat32(src: Uint8Array, dtype: NpyDtype, dest: Float32Array, destOffset: number): void {
  if (src.byteLength % dtype.itemSize !== 0) {
    throw new InvalidArgumentError('src', `has ${src.byteLength} bytes, not a whole number of ${dtype.itemSize}-byte items`);
  }
  const count = src.byteLength / dtype.itemSize;
  if (destOffset + count > dest.length) {
    throw new InvalidArgumentError('dest', `has length ${dest.length}, too small for ${count} items at offset ${destOffset}`);
  }
  if (!isNumericDtype(dtype)) {
    throw new InvalidArgumentError('dtype', `'${dtype.descr}' (${dtype.name}) cannot be converted to float32`);
  }
  if (dtype.kind === 'f' && dtype.itemSize === 4 && nativeOrder(dtype)) {
    // Plain byte copy: no rounding, NaN payloads kept.
    new Uint8Array(dest.buffer, dest.byteOffset + destOffset * 4, count * 4).set(src);
    return;
  }
  if (dtype.kind === 'f' && dtype.itemSize === 2) {
    const halves = nativeArray(src, dtype) as Uint16Array;
    const table = halfTable();
    const out = new Uint32Array(dest.buffer, dest.byteOffset + destOffset * 4, count);
    for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
    return;
  }
  const values = nativeArray(src, dtype);
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) dest[destOffset + i] = Number(values[i]!);
    return;
  }
  dest.set(values, destOffset);
}

/**
 * The float32 value of an IEEE 754 binary16 (float16) bit pattern, exactly: subnormals
 * (0x0001 = 2^-24), ±0, ±inf and NaN included.
 * @param bits a uint16 bit pattern.
 */
export function float16ToFloat32(bits: number): number {
  HALF_FLOATS ??= new Float32Array(halfTable().buffer);
  return HALF_FLOATS[bits & 0xffff]!;
}

/**
 * Encode the header of a `.npy` file exactly as numpy >= 1.24 writes it: version 1.0 (2.0 when the
 * header exceeds 65535 bytes), keys sorted, spare room to grow axis 0, padded with spaces and `\n`
 * so that the data starts at a multiple of 64 bytes.
 * @param descr the numpy type string, e.g. `'<f4'`.
 * @returns the header bytes; the data follows immediately.
 */
export function encodeNpyHeader(descr: string, shape: readonly number[], fortranOrder = false): Uint8Array {
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new InvalidArgumentError('shape', `must be a list of non-negative integers, got [${shape.join(', ')}]`);
    }
  }
  let text = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) {
    const growth = String(shape[fortranOrder ? shape.length - 1 : 0]).length;
    text += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - growth));
  }
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) throw new InvalidArgumentError('descr', `must be ASCII, got '${descr}'`);
  }
  let version = 1;
  let prefix = 10;
  let hlen = text.length + 1;
  let padlen = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
  if (hlen + padlen > 0xffff) {
    version = 2;
    prefix = 12;
    padlen = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
  }
  hlen += padlen;
  const out = new Uint8Array(prefix + hlen);
  out.set(NPY_MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, hlen, true);
  else view.setUint32(8, hlen, true);
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  out.fill(0x20, prefix + text.length, out.length - 1);
  out[out.length - 1] = 0x0a;
  return out;
}

/** The numpy type string {@link encodeNpy} writes for a typed array. */
export function npyDescrOf(data: NpyWritableArray): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint8Array) return '|u1';
  throw new InvalidTypeError('data', 'a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array', data);
}

/**
 * Encode an array as a `.npy` file (version 1.0, C order, little-endian), byte-identical to numpy's
 * `np.save`.
 * @param data the items, size prod(shape): Float32Array → `<f4`, Float64Array → `<f8`,
 *   Int32Array → `<i4`, BigInt64Array → `<i8`, Uint8Array → `|u1`.
 * @param shape the array's shape, e.g. `[n, d]` for vectors.
 */
export function encodeNpy(data: NpyWritableArray, shape: readonly number[]): Uint8Array {
  const descr = npyDescrOf(data);
  checkShapeMatches(data.length, shape);
  const header = encodeNpyHeader(descr, shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(littleEndianBytes(data), header.length);
  return out;
}

/** @throws InvalidArgumentError unless prod(shape) === length. */
export function checkShapeMatches(length: number, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new InvalidTypeError('shape', 'an array of non-negative integers', shape);
  let prod = 1;
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new InvalidArgumentError('shape', `must be a list of non-negative integers, got [${shape.join(', ')}]`);
    }
    prod *= s;
  }
  if (prod !== length) {
    throw new InvalidArgumentError('shape', `[${shape.join(', ')}] holds ${prod} items but data has length ${length}`);
  }
}

/**
 * The bytes of a typed array in little-endian order: a view on little-endian hosts, a byte-swapped
 * copy on big-endian ones.
 */
export function littleEndianBytes(data: ArrayBufferView): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const itemSize = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  return HOST_LITTLE_ENDIAN || itemSize === 1 ? bytes : byteSwapped(bytes, itemSize);
}

/** Python repr of a shape tuple: `()`, `(5,)`, `(2, 3)`. */
export function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Internals

function nativeOrder(dt: NpyDtype): boolean {
  return dt.byteOrder === '|' || (dt.byteOrder === '<') === HOST_LITTLE_ENDIAN;
}

/**
 * The items of `src` as a typed array of their dtype in host order: a zero-copy view when aligned
 * and in host order, else an aligned (and, if needed, byte-swapped) copy. float16 → Uint16Array bits.
 */
function nativeArray(src: Uint8Array, dt: NpyDtype): NpyTypedArray {
  let bytes = src;
  if (!nativeOrder(dt)) bytes = byteSwapped(src, dt.itemSize);
  else if (src.byteOffset % dt.itemSize !== 0) bytes = src.slice();
  const count = bytes.byteLength / dt.itemSize;
  const { buffer, byteOffset } = bytes;
  switch (`${dt.kind}${dt.itemSize}`) {
    case 'f2':
    case 'u2':
      return new Uint16Array(buffer, byteOffset, count);
    case 'f4':
      return new Float32Array(buffer, byteOffset, count);
    case 'f8':
      return new Float64Array(buffer, byteOffset, count);
    case 'i1':
      return new Int8Array(buffer, byteOffset, count);
    case 'u1':
    case 'b1':
      return new Uint8Array(buffer, byteOffset, count);
    case 'i2':
      return new Int16Array(buffer, byteOffset, count);
    case 'i4':
      return new Int32Array(buffer, byteOffset, count);
    case 'u4':
      return new Uint32Array(buffer, byteOffset, count);
    case 'i8':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'u8':
      return new BigUint64Array(buffer, byteOffset, count);
    default:
      throw new InvalidArgumentError('dtype', `'${dt.descr}' (${dt.name}) has no typed array`);
  }
}

function byteSwapped(src: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(src.byteLength);
  for (let i = 0; i < src.byteLength; i += itemSize) {
    for (let j = 0; j < itemSize; j++) out[i + j] = src[i + itemSize - 1 - j]!;
  }
  return out;
}

let HALF_TABLE: Uint32Array | undefined;
let HALF_FLOATS: Float32Array | undefined;

/** float32 bit patterns of all 65536 float16 values (256 KiB, built on first use). */
function halfTable(): Uint32Array {
  if (HALF_TABLE !== undefined) return HALF_TABLE;
  const bits = new Uint32Array(65536);
  const asFloat = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      // ±0 and subnormals: frac × 2^-24, exactly representable in float32.
      asFloat[h] = frac * 2 ** -24;
      bits[h] = bits[h]! | sign;
    } else if (exp === 31) {
      bits[h] = (sign | 0x7f800000 | (frac << 13)) >>> 0; // ±inf, NaN (payload kept)
    } else {
      bits[h] = (sign | ((exp - 15 + 127) << 23) | (frac << 13)) >>> 0;
    }
  }
  HALF_TABLE = bits;
  return bits;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}

function escapeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return s;
}

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function pyRepr(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
}

/** A parser for the Python literals numpy writes in `.npy` headers: dict, tuple, list, str, int, bool, None. */
class PyLiteralParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly base: number,
  ) {}

  parseHeaderDict(): Map<string, PyValue> {
    this.skipSpace();
    const value = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail(`unexpected text after the header dict`);
    if (!(value instanceof Map)) this.fail('the .npy header is not a dict literal', 0);
    return value as Map<string, PyValue>;
  }

  private fail(message: string, at = this.pos): never {
    const shown = this.text.trim();
    throw new FormatError(
      this.file,
      this.base + at,
      `malformed .npy header: ${message}: "${shown.length > 120 ? shown.slice(0, 120) + '...' : shown}"`,
    );
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  private value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.dict();
    if (c === '(') return this.sequence(')');
    if (c === '[') return this.sequence(']');
    if (c === "'" || c === '"') return this.string();
    const m = /^(?:[-+]?\d+[lL]?|True|False|None)/.exec(this.text.slice(this.pos));
    if (m === null) this.fail('expected a value');
    this.pos += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    const n = Number(m[0].replace(/[lL]$/, ''));
    if (!Number.isSafeInteger(n)) this.fail(`integer ${m[0]} is too large`);
    return n;
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    const start = ++this.pos;
    while (this.pos < this.text.length && this.text[this.pos] !== quote) {
      if (this.text[this.pos] === '\\') this.pos++;
      this.pos++;
    }
    if (this.pos >= this.text.length) this.fail('unterminated string', start - 1);
    return this.text.slice(start, this.pos++);
  }

  private sequence(close: string): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dict(): Map<string, PyValue> {
    this.pos++;
    const map = new Map<string, PyValue>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return map;
      }
      const c = this.text[this.pos];
      if (c !== "'" && c !== '"') this.fail('expected a string key');
      const key = this.string();
      this.expect(':');
      map.set(key, this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') this.fail("expected ',' or '}'");
    }
  }
}
