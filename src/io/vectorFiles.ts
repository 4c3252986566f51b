/**
 * @module io/vectorFiles
 * Reading and writing vector files on disk (Node only: `node:fs`): `.npy` (numpy), `.fvecs`,
 * `.bvecs` and `.ivecs` (the ANN benchmark formats), chosen by extension.
 *
 * - {@link readVectors} loads a whole file as an `n × d` Float32Array (Faiss's `x`), reading it in
 *   64 MiB chunks straight into the one output array: the file is never held twice in memory.
 * - {@link openVectors} streams rows (`read(start, count)`, `chunks(rowsPerChunk)`) so that a file
 *   larger than memory can be added to an index block by block.
 * - {@link readIvecs} loads ground truth (int32 ids); {@link readNpy} any numeric `.npy` (labels).
 * - {@link writeVectors}, {@link writeIvecs}, {@link writeNpy} write to a temporary file in the same
 *   directory, fsync it and rename it into place: a crash never leaves a half-written file.
 *
 * Sizes: files may be larger than 2 GiB (reads are positioned, in chunks). One output array holds
 * at most {@link MAX_FLOAT32_ELEMENTS} floats, the largest typed array length of the running Node
 * (`buffer.constants.MAX_LENGTH`): 2^32 elements (16 GiB of float32) on 64-bit Node 20, 2^53 - 1 on
 * Node >= 22; {@link openVectors} has no such limit.
 *
 * Errors: a missing file is an Error with `code` `'ENOENT'` and the path in the message; a
 * truncated, corrupt or mislabelled file is a {@link FormatError} with the file name and the byte
 * offset where it goes wrong.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, InvalidTypeError, SimdexError } from '../errors.js';
import {
  HOST_LITTLE_ENDIAN,
  NPY_PREAMBLE_BYTES,
  checkNpyDataSize,
  checkNpyVectors,
  checkShapeMatches,
  convertToFloat32,
  decodeNpy,
  encodeNpyHeader,
  littleEndianBytes,
  npyDescrOf,
  npyHeaderLength,
  parseNpyHeader,
  type NpyArray,
  type NpyDtype,
  type NpyWritableArray,
} from './npy.js';
import {
  checkVecsData,
  checkVecsRows,
  packVecsRows,
  unpackVecsRows,
  vecsDimension,
  vecsRowBytes,
  vecsTruncationError,
  type VecsFormat,
} from './vecs.js';

/**
 * The largest number of elements of one typed array in this Node (`buffer.constants.MAX_LENGTH`):
 * 2^32 on 64-bit Node 20 (a 16 GiB Float32Array), 2^53 - 1 on Node >= 22. Memory is the practical limit.
 */
export const MAX_FLOAT32_ELEMENTS: number = bufferConstants.MAX_LENGTH;

/** Default chunk size for reading and writing: 64 MiB. */
export const DEFAULT_CHUNK_BYTES = 64 << 20;

/** File formats {@link openVectors} / {@link readVectors} read as float32 vectors. */
export type VectorFormat = 'npy' | 'fvecs' | 'bvecs' | 'ivecs';

/** A path: a string or a `file:` URL. */
export type VectorPath = string | URL;

/** n vectors of dimension d. */
export interface Vectors {
  /** Number of vectors. */
  n: number;
  /** Dimension (0 only for an empty vecs file, whose dimension is unknown). */
  d: number;
  /** The vectors, size n*d, row-major. */
  data: Float32Array;
}

/** n int32 rows of length d (ground truth: the ids of the d nearest neighbours of each query). */
export interface IntRows {
  n: number;
  d: number;
  /** The rows, size n*d, row-major. */
  data: Int32Array;
}

/** Options for reading vectors. */
export interface ReadVectorsOptions {
  /** Called after each chunk with the number of rows read so far and the total (n). */
  onProgress?(done: number, total: number): void;
  /**
   * Convert integer data (`.npy` `|u1`, `<i4`, ... and `.ivecs`) to float32 instead of rejecting it.
   * Exact up to 2^24 in magnitude. Default false: integer files are a FormatError naming the dtype.
   */
  convertIntegers?: boolean;
  /** Bytes per read (default 64 MiB); rounded to whole items, at least one row for vecs files. */
  chunkBytes?: number;
}

/** Options for {@link openVectors}. */
export type OpenVectorsOptions = Pick<ReadVectorsOptions, 'convertIntegers' | 'chunkBytes'>;

/** One block of rows from {@link VectorReader.chunks}. */
export interface VectorChunk {
  /** Index of the first row. */
  start: number;
  /** Number of rows in this chunk. */
  n: number;
  /** The rows, size n*d; a fresh array for every chunk. */
  data: Float32Array;
}

/** A vector file opened for streaming (see {@link openVectors}). Close it when done. */
export interface VectorReader {
  /** The path as given (a URL is turned into a path). */
  readonly path: string;
  readonly format: VectorFormat;
  /** The items' dtype in the file: the `.npy` descr, `'<f4'` for fvecs, `'|u1'` for bvecs, `'<i4'` for ivecs. */
  readonly dtype: string;
  /** Number of vectors. */
  readonly n: number;
  /** Dimension. */
  readonly d: number;
  /**
   * Read rows [start, start + count) as float32.
   * @param out optional output, size at least count*d (a fresh array otherwise).
   * @returns the rows, size count*d (`out.subarray(0, count*d)` when `out` is given).
   */
  read(start: number, count: number, out?: Float32Array): Float32Array;
  /** Iterate over the file in blocks of `rowsPerChunk` rows (the last one may be shorter). */
  chunks(rowsPerChunk: number): Generator<VectorChunk, void, undefined>;
  /** Close the file. Further reads throw. Idempotent. */
  close(): void;
}

/**
 * Read a whole vector file as float32, choosing the format by extension: `.npy` (float32, float16,
 * float64; integers with `convertIntegers`), `.fvecs`, `.bvecs` (uint8 → float32), `.ivecs` (with
 * `convertIntegers`; see {@link readIvecs} for int32 ids).
 * The output is allocated once and filled chunk by chunk (64 MiB), straight from the file for float32.
 * @returns n, d and data: output, size n*d (at most {@link MAX_FLOAT32_ELEMENTS}).
 * @throws Error with code 'ENOENT' for a missing file, FormatError for a corrupt one,
 *   InvalidArgumentError for an unknown extension or an output too large for one array.
 */
export function readVectors(path: VectorPath, opts: ReadVectorsOptions = {}): Vectors {
  const reader = openReader(path, opts, 'readVectors');
  try {
    const { n, d } = reader;
    const data = allocateFloat32(n * d, reader.path, n, d);
    reader.readInto(0, n, data, 0, opts.onProgress);
    return { n, d, data };
  } finally {
    reader.close();
  }
}

/**
 * Open a vector file for streaming reads: checks the header (`.npy`) or the first row and the file
 * size (vecs), then reads rows on demand. Formats as {@link readVectors}.
 * @throws as {@link readVectors}. Rows with a wrong dimension in a vecs file are reported when read.
 */
export function openVectors(path: VectorPath, opts: OpenVectorsOptions = {}): VectorReader {
  return openReader(path, opts, 'openVectors');
}

function openReader(path: VectorPath, opts: OpenVectorsOptions, fn: string): BaseReader {
  const file = toPath(path, 'path');
  const format = formatOf(file, fn);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
    throw new InvalidArgumentError('chunkBytes', `must be a positive integer, got ${String(opts.chunkBytes)}`);
  }
  if (format === 'ivecs' && opts.convertIntegers !== true) {
    throw new InvalidArgumentError(
      'path',
      `"${file}" is an .ivecs file (int32 rows, e.g. ground-truth ids): read it with readIvecs(), ` +
        'or pass { convertIntegers: true } to read it as float32 vectors',
    );
  }
  const fd = openFile(file, fn);
  try {
    return format === 'npy'
      ? new NpyReader(fd, file, chunkBytes, opts.convertIntegers === true)
      : new VecsReader(fd, file, format, chunkBytes);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Read a whole `.ivecs` file (int32 rows, e.g. ground truth: row i = ids of the k nearest base
 * vectors of query i).
 * @returns n, d (= k) and data: output, size n*d.
 * @throws as {@link readVectors}.
 */
export function readIvecs(path: VectorPath, opts: Pick<ReadVectorsOptions, 'onProgress' | 'chunkBytes'> = {}): IntRows {
  const file = toPath(path, 'path');
  if (extname(file).toLowerCase() !== '.ivecs') {
    throw new InvalidArgumentError('path', `must end in .ivecs, got "${file}"`);
  }
  const fd = openFile(file, 'readIvecs');
  const reader = (() => {
    try {
      return new VecsReader(fd, file, 'ivecs', opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  })();
  try {
    const data = new Int32Array(reader.n * reader.d);
    reader.readInto(0, reader.n, data, 0, opts.onProgress);
    return { n: reader.n, d: reader.d, data };
  } finally {
    reader.close();
  }
}

/**
 * Read a whole `.npy` file in its own dtype (labels, ids, any numeric array; unicode as string[]).
 * @returns shape, dtype (descr) and data, size prod(shape) (see {@link NpyArray}).
 * @throws Error with code 'ENOENT' for a missing file, FormatError for a corrupt or unsupported one.
 */
export function readNpy(path: VectorPath): NpyArray {
  const file = toPath(path, 'path');
  const fd = openFile(file, 'readNpy');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    readFully(fd, bytes, 0, file);
    return decodeNpy(bytes, file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write vectors by extension: `.npy` (float32, shape (n, d)) or `.fvecs`. Written to a temporary
 * file in the same directory and renamed into place.
 * @param data the vectors, size n*d, row-major.
 * @param d the dimension.
 */
export function writeVectors(path: VectorPath, data: Float32Array, d: number): void {
  const file = toPath(path, 'path');
  const ext = extname(file).toLowerCase();
  if (ext !== '.npy' && ext !== '.fvecs') {
    throw new InvalidArgumentError(
      'path',
      `has extension "${ext}": writeVectors writes .npy or .fvecs` + (ext === '.ivecs' ? ' (use writeIvecs for int32 rows)' : ''),
    );
  }
  const n = checkVecsData(data, d, 'fvecs');
  if (ext === '.npy') writeNpy(file, data, [n, d]);
  else writeVecs(file, data, d, 'fvecs');
}

/**
 * Write int32 rows (e.g. ground truth, k ids per query) as a `.ivecs` file, atomically.
 * @param data the rows, size n*d, row-major.
 */
export function writeIvecs(path: VectorPath, data: Int32Array, d: number): void {
  const file = toPath(path, 'path');
  writeVecs(file, data, d, 'ivecs');
}

/**
 * Write an array as a `.npy` file (version 1.0, C order, little-endian, byte-identical to `np.save`),
 * atomically.
 * @param data the items, size prod(shape): Float32Array → `<f4`, Float64Array → `<f8`,
 *   Int32Array → `<i4`, BigInt64Array → `<i8`, Uint8Array → `|u1`.
 * @param shape e.g. `[n, d]`.
 */
export function writeNpy(path: VectorPath, data: NpyWritableArray, shape: readonly number[]): void {
  const file = toPath(path, 'path');
  const descr = npyDescrOf(data);
  checkShapeMatches(data.length, shape);
  const header = encodeNpyHeader(descr, shape);
  writeAtomically(file, (fd) => {
    writeAll(fd, header);
    const itemSize = data.BYTES_PER_ELEMENT;
    const perChunk = Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / itemSize));
    for (let i = 0; i < data.length; i += perChunk) {
      writeAll(fd, littleEndianBytes(data.subarray(i, Math.min(data.length, i + perChunk))));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Readers

abstract class BaseReader implements VectorReader {
  abstract readonly format: VectorFormat;
  abstract readonly dtype: string;
  abstract readonly n: number;
  abstract readonly d: number;
  protected fd: number | undefined;

  constructor(
    fd: number,
    readonly path: string,
    protected readonly chunkBytes: number,
  ) {
    this.fd = fd;
  }

  /** Read rows [start, start + count) into dest at destOffset (size count*d), reporting progress. */
  abstract readInto(
    start: number,
    count: number,
    dest: Float32Array | Int32Array,
    destOffset: number,
    onProgress?: (done: number, total: number) => void,
  ): void;

  read(start: number, count: number, out?: Float32Array): Float32Array {
    this.checkRange(start, count);
    const len = count * this.d;
    let dest: Float32Array;
    if (out === undefined) {
      dest = allocateFloat32(len, this.path, count, this.d);
    } else {
      if (!(out instanceof Float32Array)) throw new InvalidTypeError('out', `a Float32Array of at least ${len} floats`, out);
      if (out.length < len) {
        throw new InvalidArgumentError('out', `has length ${out.length}, too small for ${count} rows of d = ${this.d} (${len} floats)`);
      }
      dest = out.subarray(0, len);
    }
    this.readInto(start, count, dest, 0);
    return dest;
  }

  *chunks(rowsPerChunk: number): Generator<VectorChunk, void, undefined> {
    if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) {
      throw new InvalidArgumentError('rowsPerChunk', `must be a positive integer, got ${String(rowsPerChunk)}`);
    }
    for (let start = 0; start < this.n; start += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, this.n - start);
      yield { start, n, data: this.read(start, n) };
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  protected openFd(): number {
    if (this.fd === undefined) {
      throw new SimdexError('ERR_SIMDEX_CLOSED', `${this.path}: the vector reader is closed`);
    }
    return this.fd;
  }

  private checkRange(start: number, count: number): void {
    if (!Number.isInteger(start) || start < 0 || start > this.n) {
      throw new InvalidArgumentError('start', `must be an integer in 0..${this.n}, got ${String(start)}`);
    }
    if (!Number.isInteger(count) || count < 0 || start + count > this.n) {
      throw new InvalidArgumentError(
        'count',
        `must be an integer in 0..${this.n - start} (the file has n = ${this.n} rows, start = ${start}), got ${String(count)}`,
      );
    }
  }
}

class NpyReader extends BaseReader {
  readonly format = 'npy' as const;
  readonly dtype: string;
  readonly n: number;
  readonly d: number;
  private readonly dt: NpyDtype;
  private readonly dataOffset: number;

  constructor(fd: number, path: string, chunkBytes: number, convertIntegers: boolean) {
    super(fd, path, chunkBytes);
    const size = fstatSync(fd).size;
    const pre = new Uint8Array(Math.min(size, NPY_PREAMBLE_BYTES));
    readFully(fd, pre, 0, path);
    const headerLength = Math.min(npyHeaderLength(pre, path), size);
    const headBytes = new Uint8Array(headerLength);
    readFully(fd, headBytes, 0, path);
    const header = parseNpyHeader(headBytes, path);
    const { n, d, dtype } = checkNpyVectors(header, path, { convertIntegers });
    checkNpyDataSize(header, dtype.itemSize, size, path);
    this.n = n;
    this.d = d;
    this.dt = dtype;
    this.dtype = dtype.descr;
    this.dataOffset = header.headerLength;
  }

  readInto(
    start: number,
    count: number,
    dest: Float32Array,
    destOffset: number,
    onProgress?: (done: number, total: number) => void,
  ): void {
    const fd = this.openFd();
    const { d, dt } = this;
    const total = count * d;
    const itemSize = dt.itemSize;
    const perChunk = Math.max(1, Math.floor(this.chunkBytes / itemSize));
    const direct = dt.kind === 'f' && itemSize === 4 && (dt.byteOrder === '<') === HOST_LITTLE_ENDIAN;
    const scratch = direct ? undefined : new Uint8Array(Math.min(perChunk, total) * itemSize);
    let position = this.dataOffset + start * d * itemSize;
    for (let done = 0; done < total; ) {
      const items = Math.min(perChunk, total - done);
      if (scratch === undefined) {
        // float32 in host order: read straight into the output's bytes.
        readFully(fd, new Uint8Array(dest.buffer, dest.byteOffset + (destOffset + done) * 4, items * 4), position, this.path);
      } else {
        const raw = scratch.subarray(0, items * itemSize);
        readFully(fd, raw, position, this.path);
        convertToFloat32(raw, dt, dest, destOffset + done);
      }
      position += items * itemSize;
      done += items;
      onProgress?.(Math.floor(done / d), count);
    }
    if (total === 0) onProgress?.(count, count);
  }
}

class VecsReader extends BaseReader {
  readonly dtype: string;
  readonly n: number;
  readonly d: number;
  private readonly rowBytes: number;

  constructor(
    fd: number,
    path: string,
    readonly format: VecsFormat,
    chunkBytes: number,
  ) {
    super(fd, path, chunkBytes);
    this.dtype = format === 'fvecs' ? '<f4' : format === 'ivecs' ? '<i4' : '|u1';
    const size = fstatSync(fd).size;
    if (size === 0) {
      this.n = 0;
      this.d = 0;
      this.rowBytes = 4;
      return;
    }
    const first = new Uint8Array(Math.min(size, 8));
    readFully(fd, first, 0, path);
    const d = vecsDimension(first, path, format);
    const rowBytes = vecsRowBytes(format, d);
    if (size % rowBytes !== 0) {
      // Report the first row whose dimension differs (the usual cause), else the truncation.
      this.scanRowHeaders(fd, d, rowBytes, Math.floor(size / rowBytes));
      throw vecsTruncationError(format, d, size, path);
    }
    this.d = d;
    this.rowBytes = rowBytes;
    this.n = size / rowBytes;
  }

  readInto(
    start: number,
    count: number,
    dest: Float32Array | Int32Array,
    destOffset: number,
    onProgress?: (done: number, total: number) => void,
  ): void {
    const fd = this.openFd();
    const { d, rowBytes } = this;
    const perChunk = Math.max(1, Math.floor(this.chunkBytes / rowBytes));
    const scratch = new Uint8Array(Math.min(perChunk, count) * rowBytes);
    for (let done = 0; done < count; ) {
      const rows = Math.min(perChunk, count - done);
      const raw = scratch.subarray(0, rows * rowBytes);
      const position = (start + done) * rowBytes;
      readFully(fd, raw, position, this.path);
      unpackVecsRows(raw, position, start + done, d, this.format, dest, destOffset + done * d, this.path);
      done += rows;
      onProgress?.(done, count);
    }
    if (count === 0) onProgress?.(0, 0);
  }

  /** Check the dimension field of `rows` rows, chunk by chunk (only on the error path). */
  private scanRowHeaders(fd: number, d: number, rowBytes: number, rows: number): void {
    const perChunk = Math.max(1, Math.floor(this.chunkBytes / rowBytes));
    const scratch = new Uint8Array(Math.min(perChunk, rows) * rowBytes);
    for (let row = 0; row < rows; row += perChunk) {
      const k = Math.min(perChunk, rows - row);
      const raw = scratch.subarray(0, k * rowBytes);
      readFully(fd, raw, row * rowBytes, this.path);
      checkVecsRows(raw, row * rowBytes, row, k, d, this.format, this.path);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// File helpers

function toPath(path: unknown, name: string): string {
  if (path instanceof URL) return fileURLToPath(path);
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidTypeError(name, 'a non-empty file path (string or file: URL)', path);
  }
  return path;
}

function formatOf(file: string, fn: string): VectorFormat {
  const ext = extname(file).toLowerCase();
  switch (ext) {
    case '.npy':
      return 'npy';
    case '.fvecs':
      return 'fvecs';
    case '.bvecs':
      return 'bvecs';
    case '.ivecs':
      return 'ivecs';
    default:
      throw new InvalidArgumentError(
        'path',
        `"${file}" has extension "${ext}": ${fn} reads .npy, .fvecs and .bvecs files (.ivecs with readIvecs)`,
      );
  }
}

/** Open for reading; a missing or unreadable file is an Error naming the path, with the system code. */
function openFile(file: string, fn: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    const cause = e as NodeJS.ErrnoException;
    const why = cause.code === 'ENOENT' ? 'no such file or directory' : cause.message;
    const err = new Error(`${fn}: cannot open "${file}": ${why}`, { cause }) as NodeJS.ErrnoException;
    err.code = cause.code;
    err.path = file;
    throw err;
  }
}

/** Fill `dest` from the file at `position`, looping over short reads; EOF first is a FormatError. */
function readFully(fd: number, dest: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < dest.length) {
    const len = Math.min(dest.length - off, DEFAULT_CHUNK_BYTES);
    const got = readSync(fd, dest, off, len, position + off);
    if (got === 0) {
      throw new FormatError(file, position + off, `unexpected end of file: ${dest.length - off} more bytes were expected (did the file change while being read?)`);
    }
    off += got;
  }
}

function allocateFloat32(length: number, file: string, n: number, d: number): Float32Array {
  if (length > MAX_FLOAT32_ELEMENTS) {
    throw new InvalidArgumentError(
      'path',
      `"${file}" holds ${n} × ${d} = ${length} floats, more than the largest Float32Array of this Node ` +
        `(${MAX_FLOAT32_ELEMENTS} elements): stream it with openVectors(path).chunks(rows)`,
    );
  }
  try {
    return new Float32Array(length);
  } catch (e) {
    throw new RangeError(
      `cannot allocate ${n} × ${d} float32 (${(length * 4 / 2 ** 30).toFixed(2)} GiB) for "${file}": ` +
        `${(e as Error).message}; stream it with openVectors(path).chunks(rows)`,
      { cause: e },
    );
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) {
    off += writeSync(fd, bytes, off, Math.min(bytes.length - off, DEFAULT_CHUNK_BYTES));
  }
}

/** Write through `write` into a temporary file next to `file`, fsync, then rename it into place. */
function writeAtomically(file: string, write: (fd: number) => void): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  let open = true;
  try {
    write(fd);
    fsyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(tmp, file);
  } catch (e) {
    if (open) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

function writeVecs(file: string, data: Float32Array | Int32Array, d: number, format: VecsFormat): void {
  const ext = extname(file).toLowerCase();
  if (ext !== `.${format}`) throw new InvalidArgumentError('path', `must end in .${format}, got "${file}"`);
  const n = checkVecsData(data, d, format);
  const rowBytes = vecsRowBytes(format, d);
  const perChunk = Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / rowBytes));
  writeAtomically(file, (fd) => {
    const scratch = new Uint8Array(Math.min(perChunk, n) * rowBytes);
    for (let row = 0; row < n; row += perChunk) {
      const k = Math.min(perChunk, n - row);
      const out = scratch.subarray(0, k * rowBytes);
      packVecsRows(data, d, format, row, k, out);
      writeAll(fd, out);
    }
  });
}
