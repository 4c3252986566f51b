/**
 * @module storage/Segment
 * One shared WebAssembly memory: the scratch slots the kernels work in, then a data region.
 *
 * A wasm32 memory stops at 4 GiB, so stored data (flat vectors, inverted lists) is spread over a
 * list of segments (storage/CodeStore, storage/BlockArena) and is not bounded by one memory.
 * Segments are shared memories: worker threads instantiate the kernels on the very same bytes,
 * nothing is copied to search them.
 *
 * Layout of a segment's memory:
 *   [0, SCRATCH_BYTES)                     MAX_THREADS scratch slots of SLOT_BYTES, slot t for thread t
 *   [SCRATCH_BYTES, SCRATCH_BYTES + dataBytes)   data
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
/** Largest data region of one segment. */
export const MAX_DATA_BYTES = MAX_MEMORY_BYTES - SCRATCH_BYTES;

export class Segment {
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the data region. */
  readonly dataOffset = SCRATCH_BYTES;
  /** Bytes of the data region. */
  readonly dataBytes: number;

  constructor(dataBytes: number) {
    if (dataBytes > MAX_DATA_BYTES) throw new RangeError(`segment of ${dataBytes} bytes exceeds ${MAX_DATA_BYTES}`);
    const pages = Math.ceil((SCRATCH_BYTES + dataBytes) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.dataBytes = pages * PAGE - SCRATCH_BYTES;
  }

  /** The kernels bound to this segment's memory, for the calling thread. */
  get kernels(): WasmKernels {
    return kernelsFor(this.memory);
  }

  /** Byte offset of thread t's scratch slot. */
  static slotOffset(t: number): number {
    return t * SLOT_BYTES;
  }
}
