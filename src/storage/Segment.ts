/**
 * @module storage/Segment
 * One shared WebAssembly memory holding a block of vectors and the scratch slots the kernels work in.
 *
 * A wasm32 memory stops at 4 GiB, so an index is a list of segments (storage/VectorStore) and is not
 * bounded by one memory. Segments are shared memories: worker threads instantiate the kernels on
 * the very same bytes, nothing is copied to search them.
 *
 * Layout of a segment's memory:
 *   [0, SCRATCH_BYTES)                 MAX_THREADS scratch slots of SLOT_BYTES, slot t for thread t
 *   [SCRATCH_BYTES, + capacity*d*4)    the vectors, row-major
 * Pages are only backed by physical memory once written, so unused capacity and unused slots cost
 * address space, not RAM.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';

/** Threads that can work on one segment at once (slot 0 is the calling thread). */
export const MAX_THREADS = 64;
/** Scratch bytes per thread in each segment: query block, heaps and distance tiles. */
export const SLOT_BYTES = 4 << 20;
export const SCRATCH_BYTES = MAX_THREADS * SLOT_BYTES;
const PAGE = 65536;
/** Largest memory a segment may have (wasm32: 65536 pages of 64 KiB = 4 GiB; stay below). */
export const MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024 - PAGE;

let nextId = 1;

export class Segment {
  /** Unique id of this segment (how worker threads find its memory). */
  readonly id = nextId++;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the first vector. */
  readonly dataOffset = SCRATCH_BYTES;
  /** Vectors that fit. */
  readonly capacity: number;
  /** Vectors stored. */
  count = 0;

  constructor(
    readonly d: number,
    capacity: number,
  ) {
    const bytes = SCRATCH_BYTES + capacity * d * 4;
    const pages = Math.ceil(bytes / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.capacity = capacity;
  }

  /** Largest capacity (in vectors of dimension d) a segment may have under maxDataBytes. */
  static maxCapacity(d: number, maxDataBytes: number): number {
    const limit = Math.min(maxDataBytes, MAX_MEMORY_BYTES - SCRATCH_BYTES);
    return Math.max(1, Math.floor(limit / (d * 4)));
  }

  /** The kernels bound to this segment's memory, for the calling thread. */
  get kernels(): WasmKernels {
    return kernelsFor(this.memory);
  }

  /** Float32 view of the stored vectors (row-major, count*d floats). */
  vectors(): Float32Array {
    return new Float32Array(this.memory.buffer, this.dataOffset, this.count * this.d);
  }

  /** Byte offset of vector i. */
  vectorOffset(i: number): number {
    return this.dataOffset + i * this.d * 4;
  }

  /** Byte offset of thread t's scratch slot. */
  static slotOffset(t: number): number {
    return t * SLOT_BYTES;
  }
}
