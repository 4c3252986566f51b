/**
 * @module io/faiss/IOWriter
 * Little-endian writes of a Faiss file (Faiss's IOWriter with WRITE1 / WRITEVECTOR), to bytes in
 * memory or to a file on disk.
 *
 * - {@link BytesIOWriter} grows a Uint8Array (doubling); `bytes()` returns what was written.
 * - {@link FileIOWriter} writes to a temporary file in the target's directory
 *   (`.<name>.<pid>.<random>.tmp`) through a 1 MiB buffer (large arrays bypass it); `commit()` flushes,
 *   fsyncs and renames it into place, `abort()` removes it. A failed write never leaves a partial
 *   file under the target name, and an existing file there stays intact until the rename.
 *
 * `node:fs` is looked up at run time (see IOReader's nodeFs): this module loads in a browser, where
 * BytesIOWriter works and FileIOWriter is a NotSupportedError.
 */
import { InvalidArgumentError } from '../../errors.js';
import { HOST_LITTLE_ENDIAN, nodeFs, swapItemBytes } from './IOReader.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Base class of the writers: typed, range-checked little-endian writes and a byte count. */
export abstract class IOWriter {
  /** Name used in messages: the target path, or "<bytes>". */
  abstract readonly name: string;
  private written = 0;
  private readonly scratch = new Uint8Array(8);
  private readonly view = new DataView(this.scratch.buffer);

  /** Bytes written so far (the offset of the next write). */
  get offset(): number {
    return this.written;
  }

  /** Appends the bytes; implementations copy them (the caller may reuse the array). */
  protected abstract put(bytes: Uint8Array): void;

  /** Writes raw bytes. */
  writeBytes(bytes: Uint8Array): void {
    this.put(bytes);
    this.written += bytes.length;
  }

  private scalar(n: number): void {
    this.writeBytes(this.scratch.subarray(0, n));
  }

  /** uint8. */
  writeU8(value: number): void {
    checkInt(value, 0, 0xff, 'uint8');
    this.view.setUint8(0, value);
    this.scalar(1);
  }

  /** A C++ bool: one byte, 1 or 0. */
  writeBool(value: boolean): void {
    this.writeU8(value ? 1 : 0);
  }

  /** int32. */
  writeI32(value: number): void {
    checkInt(value, -0x80000000, 0x7fffffff, 'int32');
    this.view.setInt32(0, value, true);
    this.scalar(4);
  }

  /** uint32 (e.g. a fourcc). */
  writeU32(value: number): void {
    checkInt(value, 0, 0xffffffff, 'uint32');
    this.view.setUint32(0, value, true);
    this.scalar(4);
  }

  /** float32 (rounded from the number). */
  writeF32(value: number): void {
    this.view.setFloat32(0, value, true);
    this.scalar(4);
  }

  /** int64 (Faiss's idx_t). */
  writeI64(value: bigint | number): void {
    const v = toBigInt(value, INT64_MIN, INT64_MAX, 'int64');
    this.view.setBigInt64(0, v, true);
    this.scalar(8);
  }

  /** uint64 (Faiss's size_t; the size field of a serialized std::vector). */
  writeU64(value: bigint | number): void {
    const v = toBigInt(value, 0n, UINT64_MAX, 'uint64');
    this.view.setBigUint64(0, v, true);
    this.scalar(8);
  }

  /** x.length float32, little-endian. */
  writeFloat32Array(x: Float32Array): void {
    this.writeBytes(leBytes(x, 4));
  }

  /** x.length int64, little-endian. */
  writeBigInt64Array(x: BigInt64Array): void {
    this.writeBytes(leBytes(x, 8));
  }

  /** A serialized std::vector<float>: size_t x.length, then the floats. */
  writeFloat32Vector(x: Float32Array): void {
    this.writeU64(x.length);
    this.writeFloat32Array(x);
  }

  /** A serialized std::vector<int64_t>: size_t x.length, then the ids. */
  writeBigInt64Vector(x: BigInt64Array): void {
    this.writeU64(x.length);
    this.writeBigInt64Array(x);
  }
}

/** A writer into a growable Uint8Array. */
export class BytesIOWriter extends IOWriter {
  readonly name = '<bytes>';
  private buf: Uint8Array;
  private len = 0;

  /** @param initialCapacity bytes reserved up front (default 4 KiB); the buffer doubles as needed. */
  constructor(initialCapacity = 4096) {
    super();
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  protected put(bytes: Uint8Array): void {
    const need = this.len + bytes.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len = need;
  }

  /** What was written: a view of the first `offset` bytes of the buffer (no copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Size of FileIOWriter's buffer: 1 MiB. */
const FILE_BUFFER_BYTES = 1 << 20;
/** Longest single write syscall. */
const MAX_WRITE_CALL = 1 << 30;

/**
 * A writer to a file, atomically: bytes go to a temporary file in the same directory, which commit()
 * renames to `path` and abort() removes. Use it as
 * `const w = FileIOWriter.open(path); try { ...; w.commit(); } catch (e) { w.abort(); throw e; }`.
 */
export class FileIOWriter extends IOWriter {
  /** The temporary file being written. */
  readonly tmpPath: string;
  private fd: number | null;
  private readonly fs: ReturnType<typeof nodeFs>;
  private readonly buffer = new Uint8Array(FILE_BUFFER_BYTES);
  private buffered = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(readonly name: string) {
    super();
    this.fs = nodeFs('writing a file');
    this.tmpPath = temporaryPathFor(name);
    this.fd = this.fs.openSync(this.tmpPath, 'wx');
  }

  /** Starts writing `path` (through a temporary file in its directory). @throws Node's error if it cannot be created. */
  static open(path: string): FileIOWriter {
    if (typeof path !== 'string' || path.length === 0) {
      throw new InvalidArgumentError('path', `must be a non-empty string, got ${JSON.stringify(path)}`);
    }
    return new FileIOWriter(path);
  }

  protected put(bytes: Uint8Array): void {
    if (this.state !== 'open') throw new Error(`${this.name}: write after ${this.state === 'committed' ? 'commit' : 'abort'}`);
    if (this.buffered + bytes.length <= this.buffer.length) {
      this.buffer.set(bytes, this.buffered);
      this.buffered += bytes.length;
      return;
    }
    this.flush();
    if (bytes.length >= this.buffer.length) {
      this.writeAll(bytes);
    } else {
      this.buffer.set(bytes);
      this.buffered = bytes.length;
    }
  }

  private flush(): void {
    if (this.buffered > 0) {
      this.writeAll(this.buffer.subarray(0, this.buffered));
      this.buffered = 0;
    }
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      done += this.fs.writeSync(this.fd!, bytes, done, Math.min(bytes.length - done, MAX_WRITE_CALL));
    }
  }

  /** Flushes, fsyncs and closes the temporary file, then renames it to `path`. */
  commit(): void {
    if (this.state !== 'open') throw new Error(`${this.name}: commit after ${this.state === 'committed' ? 'commit' : 'abort'}`);
    this.flush();
    this.fs.fsyncSync(this.fd!);
    this.fs.closeSync(this.fd!);
    this.fd = null;
    this.fs.renameSync(this.tmpPath, this.name);
    this.state = 'committed';
  }

  /** Closes and removes the temporary file; `path` is left as it was. Idempotent; a no-op after commit. */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    if (this.fd !== null) {
      try {
        this.fs.closeSync(this.fd);
      } catch {
        // already failing: the removal below matters more
      }
      this.fd = null;
    }
    try {
      this.fs.unlinkSync(this.tmpPath);
    } catch {
      // nothing to remove
    }
  }
}

/** `<dir>/.<name>.<pid>.<12 random hex digits>.tmp`: a sibling of `path`, so that the rename stays on one file system. */
function temporaryPathFor(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = path.slice(0, cut + 1);
  const base = path.slice(cut + 1);
  const random = new Uint8Array(6);
  globalThis.crypto.getRandomValues(random);
  const hex = Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('');
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  return `${dir}.${base}.${pid}.${hex}.tmp`;
}

function checkInt(value: number, min: number, max: number, type: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError('value', `must be an ${type} (${min} .. ${max}), got ${String(value)}`);
  }
}

function toBigInt(value: bigint | number, min: bigint, max: bigint, type: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('value', `must be a safe integer for ${type}, got ${value}`);
    value = BigInt(value);
  }
  if (typeof value !== 'bigint' || value < min || value > max) {
    throw new InvalidArgumentError('value', `must be an ${type} (${min} .. ${max}), got ${String(value)}`);
  }
  return value;
}

/** The bytes of a typed array in little-endian order (a view when the host is little-endian). */
function leBytes(x: Float32Array | BigInt64Array, itemSize: number): Uint8Array {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const copy = bytes.slice();
  swapItemBytes(copy, itemSize);
  return copy;
}
