/**
 * @module io/faiss/IOReader
 * Checked little-endian reads of a Faiss file (Faiss's IOReader with its READ1 / READVECTOR checks),
 * over bytes in memory or over a file on disk.
 *
 * - {@link IOReader.fromBytes} reads a Uint8Array in place (it is never copied as a whole).
 * - {@link IOReader.openFile} reads a file with positioned reads (`fs.readSync` at an offset), so a
 *   file is never loaded into memory by the reader: bulk data goes straight into the caller's arrays
 *   (e.g. 64 MiB chunks of an IndexFlat's vectors). Files may exceed 4 GiB (offsets up to 2^53).
 *
 * Every read is checked. A read past the end, a size that does not fit in a JavaScript number, or a
 * vector whose claimed size exceeds what remains of the file is a {@link FormatError} carrying the file
 * name (`"<bytes>"` for bytes), the byte offset of the failing read and the fourcc of the object being
 * read. Sizes are checked against the bytes that remain *before* anything is allocated: a header
 * claiming 10^15 vectors fails at once, it never triggers an allocation.
 *
 * Faiss files are little-endian (Faiss writes host order and runs on little-endian hosts only); on a
 * big-endian host the reads swap bytes.
 *
 * Portability: `node:fs` is looked up at run time (process.getBuiltinModule, as threads/pool does), so
 * this module loads in a browser too; there only bytes can be read, a path is a NotSupportedError.
 */
import { FormatError, NotSupportedError } from '../../errors.js';

type FS = typeof import('node:fs');

/**
 * Node's `fs` module, found at run time; a NotSupportedError where there is none (browsers).
 * @param operation what needs it, for the message
 */
export function nodeFs(operation: string): FS {
  const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as FS | undefined;
  if (fs === undefined) throw new NotSupportedError('this JavaScript runtime', operation, 'file paths need Node.js >= 20.16; pass the bytes instead');
  return fs;
}

/** True on little-endian hosts (all that Node and browsers run on in practice). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reverses the byte order of each `itemSize`-byte item of `bytes`, in place (big-endian hosts only). */
export function swapItemBytes(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Largest size_t that a reader accepts: 2^53 - 1 (it must be exact as a JavaScript number). */
const MAX_SIZE = BigInt(Number.MAX_SAFE_INTEGER);
/** Longest single read syscall (Linux reads at most 0x7ffff000 bytes at a time). */
const MAX_READ_CALL = 1 << 30;

/** Where an IOReader's bytes come from. */
export interface ByteSource {
  /** Name used in error messages: the path, or "<bytes>". */
  readonly name: string;
  /** Total bytes. */
  readonly size: number;
  /**
   * Copies bytes [position, position + dest.length) into dest.
   * @returns the number of bytes copied: dest.length, or fewer only at the end of the source.
   */
  readAt(position: number, dest: Uint8Array): number;
  /** Releases the source (closes the file). Idempotent. */
  close(): void;
}

/** A Uint8Array as a ByteSource (no copy is made of it). */
export class BytesSource implements ByteSource {
  readonly size: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly name = '<bytes>',
  ) {
    this.size = bytes.length;
  }

  readAt(position: number, dest: Uint8Array): number {
    const n = Math.max(0, Math.min(dest.length, this.size - position));
    dest.set(this.bytes.subarray(position, position + n));
    return n;
  }

  close(): void {}
}

/** A file on disk as a ByteSource, read with positioned reads (Node only). */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | null;
  private readonly fs: FS;

  /** Opens `path` for reading. @throws Node's error (code 'ENOENT', ...) when it cannot be opened. */
  constructor(readonly name: string) {
    const fs = (this.fs = nodeFs('reading a file'));
    const fd = fs.openSync(name, 'r');
    try {
      this.size = fs.fstatSync(fd).size;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.fd = fd;
  }

  readAt(position: number, dest: Uint8Array): number {
    if (this.fd === null) throw new Error(`${this.name}: read after close`);
    let done = 0;
    while (done < dest.length) {
      const want = Math.min(dest.length - done, MAX_READ_CALL);
      const got = this.fs.readSync(this.fd, dest, done, want, position + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  close(): void {
    if (this.fd !== null) {
      this.fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * A cursor over a ByteSource with checked reads. `what` arguments name the field being read, for
 * error messages ("IndexFlat codes", "IndexIDMap id_map", ...).
 */
export class IOReader {
  private pos = 0;
  private readonly scratch = new Uint8Array(8);
  private readonly view = new DataView(this.scratch.buffer);
  private readonly fourccs: string[] = [];

  constructor(readonly source: ByteSource) {}

  /** A reader over `bytes`, named `name` in errors (default "<bytes>"). The bytes are not copied. */
  static fromBytes(bytes: Uint8Array, name = '<bytes>'): IOReader {
    return new IOReader(new BytesSource(bytes, name));
  }

  /** A reader over the file at `path` (positioned reads; close() it when done). */
  static openFile(path: string): IOReader {
    return new IOReader(new FileSource(path));
  }

  /** The file name, or "<bytes>". */
  get name(): string {
    return this.source.name;
  }

  /** Total bytes of the source. */
  get size(): number {
    return this.source.size;
  }

  /** Byte offset of the next read. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left after the offset. */
  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** The fourcc of the innermost object being read (undefined at the top level). */
  get fourcc(): string | undefined {
    return this.fourccs[this.fourccs.length - 1];
  }

  /** Runs `body` with `fourcc` as the object being read (it is named in errors), then restores the previous one. */
  within<T>(fourcc: string, body: () => T): T {
    this.fourccs.push(fourcc);
    try {
      return body();
    } finally {
      this.fourccs.pop();
    }
  }

  /** A FormatError at `offset` (default: the current offset) in the current fourcc. */
  error(message: string, offset = this.pos): FormatError {
    return new FormatError(this.name, offset, message, this.fourcc);
  }

  /** Throws a FormatError unless `bytes` remain after the offset. */
  need(bytes: number, what: string): void {
    if (bytes > this.remaining) {
      throw this.error(
        `unexpected end of file reading ${what}: ${bytes} bytes needed, ${this.remaining} left (file size ${this.size})`,
      );
    }
  }

  /** Copies the next dest.length bytes into dest. */
  readInto(dest: Uint8Array, what: string): void {
    this.need(dest.length, what);
    const got = this.source.readAt(this.pos, dest);
    if (got !== dest.length) {
      throw this.error(`short read of ${what}: ${got} of ${dest.length} bytes (did the file change while being read?)`);
    }
    this.pos += got;
  }

  /** Skips n bytes. */
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  /** The next n bytes, copied into a new array. */
  readBytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = new Uint8Array(n);
    this.readInto(out, what);
    return out;
  }

  private scalar(n: number, what: string): DataView {
    this.readInto(this.scratch.subarray(0, n), what);
    return this.view;
  }

  /** uint8. */
  readU8(what: string): number {
    return this.scalar(1, what).getUint8(0);
  }

  /** A C++ bool: one byte that must be 0 or 1 (any other value is a FormatError, as in Faiss). */
  readBool(what: string): boolean {
    const at = this.pos;
    const b = this.readU8(what);
    if (b > 1) throw this.error(`invalid bool ${b} for ${what} (expected 0 or 1)`, at);
    return b === 1;
  }

  /** int32. */
  readI32(what: string): number {
    return this.scalar(4, what).getInt32(0, true);
  }

  /** uint32 (e.g. a fourcc). */
  readU32(what: string): number {
    return this.scalar(4, what).getUint32(0, true);
  }

  /** float32. */
  readF32(what: string): number {
    return this.scalar(4, what).getFloat32(0, true);
  }

  /** int64 (Faiss's idx_t), exact. */
  readI64(what: string): bigint {
    return this.scalar(8, what).getBigInt64(0, true);
  }

  /** uint64 (Faiss's size_t), exact. */
  readU64(what: string): bigint {
    return this.scalar(8, what).getBigUint64(0, true);
  }

  /** int64 as a number; a FormatError unless it is a safe integer (|v| <= 2^53 - 1). */
  readI64Number(what: string): number {
    const at = this.pos;
    const v = this.readI64(what);
    if (v > MAX_SIZE || v < -MAX_SIZE) throw this.error(`${what} = ${v} is out of range (|${what}| must be <= 2^53 - 1)`, at);
    return Number(v);
  }

  /** uint64 (size_t) as a number; a FormatError unless it is <= 2^53 - 1. */
  readSize(what: string): number {
    const at = this.pos;
    const v = this.readU64(what);
    if (v > MAX_SIZE) throw this.error(`${what} = ${v} is out of range (must be <= 2^53 - 1)`, at);
    return Number(v);
  }

  /**
   * The size field of a serialized std::vector (Faiss's READVECTOR: a size_t count, then the items),
   * checked against what remains: count * itemBytes must fit in the rest of the file.
   * @param itemBytes bytes per item (4 for float, 8 for int64, ...)
   * @returns count, the number of items that follow
   */
  readVectorHeader(itemBytes: number, what: string): number {
    const at = this.pos;
    const count = this.readSize(`${what} size`);
    if (count > Math.floor(this.remaining / itemBytes)) {
      throw this.error(
        `${what} claims ${count} items of ${itemBytes} bytes (${count * itemBytes} bytes) ` +
          `but only ${this.remaining} bytes remain in the file (file size ${this.size})`,
        at,
      );
    }
    return count;
  }

  /** Fills `out` with the next out.length float32. */
  readFloat32Into(out: Float32Array, what: string): void {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.readInto(bytes, what);
    if (!HOST_LITTLE_ENDIAN) swapItemBytes(bytes, 4);
  }

  /** The next n float32, size n. The size is checked before allocating. */
  readFloat32Array(n: number, what: string): Float32Array {
    this.need(n * 4, what);
    const out = new Float32Array(n);
    this.readFloat32Into(out, what);
    return out;
  }

  /** Fills `out` with the next out.length int64. */
  readBigInt64Into(out: BigInt64Array, what: string): void {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.readInto(bytes, what);
    if (!HOST_LITTLE_ENDIAN) swapItemBytes(bytes, 8);
  }

  /** The next n int64, size n. The size is checked before allocating. */
  readBigInt64Array(n: number, what: string): BigInt64Array {
    this.need(n * 8, what);
    const out = new BigInt64Array(n);
    this.readBigInt64Into(out, what);
    return out;
  }

  /** A serialized std::vector<float>: its size, then that many float32. */
  readFloat32Vector(what: string): Float32Array {
    return this.readFloat32Array(this.readVectorHeader(4, what), what);
  }

  /** A serialized std::vector<int64_t>: its size, then that many int64. */
  readBigInt64Vector(what: string): BigInt64Array {
    return this.readBigInt64Array(this.readVectorHeader(8, what), what);
  }

  /** Closes the source (the file). Idempotent. */
  close(): void {
    this.source.close();
  }
}
