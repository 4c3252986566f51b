/**
 * @module storage/HNSWSegment
 * The one shared WebAssembly memory of an HNSW index: its vectors, its graph and the scratch of the
 * threads that search it, so that the whole search loop runs in WebAssembly (assembly/hnsw.ts).
 *
 * Layout (byte offsets; every region 64-byte aligned; `capacity` nodes, `upperCapacity` int32 entries
 * of upper-level lists):
 *   [0, HEADER_BYTES)          header: the layout and the graph's entry point, read by the kernels
 *   slots                      MAX_THREADS scratch slots of HNSW_SLOT_BYTES (slot t for thread t):
 *                              visited-table generation, query, result heap, beam
 *   visited                    MAX_THREADS tables of `capacity` uint16 generation stamps
 *   codes                      capacity * codeSize bytes: the stored vectors (floats, or SQ / PQ codes)
 *   level0                     capacity * 2M int32: level-0 neighbour lists, fixed stride, -1 padded
 *   levels                     capacity int32: Faiss's levels (number of levels of each node)
 *   upoff                      capacity int32: start of each node's upper-level lists in `upper`
 *   locks                      capacity int32: per-node insertion locks
 *   upper                      upperCapacity int32: M entries per upper level of each node
 *   aux                        the quantizer's tables for SQ / PQ storage (spec.storage.auxBytes):
 *                              SQ: A then B (d rounded up to 4 floats each, component j of code c is
 *                              B_j + A_j c_j); PQ: the transposed centroids (d * ksub floats), then
 *                              at aux2Offset the symmetric table (M * ksub * ksub floats: the SDC
 *                              table for L2, inner products of sub-centroids for IP)
 * With SQ / PQ storage, the last storage.qareaBytes of each slot hold the thread's query table and
 * the vector it is adding (assembly/hnswStorage.ts).
 *
 * Limit: one memory is at most 4 GiB (wasm32), that is about
 * (4 GiB - 64 MiB) / (d*4 + 8M + 140) vectors at M neighbours (4.6 million at d = 128, M = 32;
 * 766 thousand at d = 1280). Beyond, the float vectors move to vector segments (storage kind
 * SPLIT, storage/HNSWVectorSegments) and this memory keeps the graph: (4 GiB - 64 MiB) / (8M + 140)
 * nodes, 10 million at M = 32.
 * Growth replaces the memory by a larger one (capacity doubled) and copies what is used; pages are
 * backed by RAM only once touched, so unused capacity, slots and visited tables cost address space.
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';
import { SEGMENT_TABLE_BASE, type VectorSegmentLayout } from './HNSWVectorSegments.js';
import { MAX_MEMORY_BYTES, MAX_THREADS } from './Segment.js';

/** Scratch bytes per thread: query, result heap (k*12 bytes) and beam (ef*8 bytes), or insertion buffers. */
export const HNSW_SLOT_BYTES = 1 << 20;
export const HEADER_BYTES = 4096;
/** Offset of the query (and then the heaps) in a slot, after the slot's own header. */
export const SLOT_HEADER_BYTES = 64;

/** Header fields (byte offsets of int32 words), as assembly/hnsw.ts reads them. */
export const H = {
  D: 0,
  METRIC: 4,
  NB0: 8,
  NB1: 12,
  CODES: 16,
  LEVEL0: 20,
  LEVELS: 24,
  UPOFF: 28,
  UPPER: 32,
  VISITED: 36,
  CAPACITY: 40,
  LOCKS: 44,
  ENTRY: 48,
  MAXLEVEL: 52,
  EFC: 56,
  SLOTS: 60,
  SLOT_BYTES: 64,
  /** Storage kind: 0 flat floats, 1 SQ codes, 2 PQ codes (StorageKind). */
  KIND: 68,
  CODE_SIZE: 72,
  /** SQ: qtype; PQ: M. */
  P0: 76,
  /** PQ: nbits. */
  P1: 80,
  AUX: 84,
  AUX2: 88,
  QAREA: 92,
  /** SPLIT: vectors per vector segment. */
  VPER: 96,
  /** SPLIT: byte offset of the first vector in every vector segment. */
  VBASE: 100,
  /** SPLIT: bytes of one per-thread vector area in a vector segment. */
  VAREA: 104,
  /** SPLIT: function-table entry of vector segment 0's distance kernel. */
  TBASE: 108,
} as const;

/**
 * What the graph's memory stores for each node (assembly/hnswStorage.ts computes the distances);
 * SPLIT: nothing, the float vectors are in vector segments (storage/HNSWVectorSegments).
 */
export const StorageKind = { FLAT: 0, SQ: 1, PQ: 2, SPLIT: 3 } as const;
export type StorageKind = (typeof StorageKind)[keyof typeof StorageKind];

/** The storage of an HNSW memory other than its codeSize (defaults: flat floats). */
export interface HNSWStorageSpec {
  kind: StorageKind;
  /** SQ: Faiss's qtype; PQ: M. */
  p0: number;
  /** PQ: nbits. */
  p1: number;
  /** Bytes of the quantizer's tables (the aux region). */
  auxBytes: number;
  /** Byte offset of the second table (PQ's SDC table) in the aux region. */
  aux2Offset: number;
  /** Bytes at the end of each scratch slot for the query vector and its table. */
  qareaBytes: number;
}

/** Flat float storage: no tables, no query area. */
export const FLAT_STORAGE: HNSWStorageSpec = { kind: StorageKind.FLAT, p0: 0, p1: 0, auxBytes: 0, aux2Offset: 0, qareaBytes: 0 };

const PAGE = 65536;
const align = (v: number, a = 64): number => Math.ceil(v / a) * a;

/** What the layout depends on. */
export interface HNSWSpec {
  d: number;
  /** Faiss's M: 2M neighbours on level 0, M on each upper level. */
  M: number;
  /** Bytes per stored vector (d*4 for flat float vectors). */
  codeSize: number;
  /** 1 = L2, 0 = inner product. */
  metric: number;
  /** Flat floats when absent. */
  storage?: HNSWStorageSpec;
  /** Storage kind SPLIT: where the vectors sit in the vector segments. */
  vectors?: VectorSegmentLayout;
}

/** Flat float vectors kept in vector segments (storage/HNSWVectorSegments). */
export const SPLIT_STORAGE: HNSWStorageSpec = { kind: StorageKind.SPLIT, p0: 0, p1: 0, auxBytes: 0, aux2Offset: 0, qareaBytes: 0 };

interface Layout {
  slots: number;
  visited: number;
  codes: number;
  level0: number;
  levels: number;
  upoff: number;
  locks: number;
  upper: number;
  aux: number;
  end: number;
}

function layout(spec: HNSWSpec, capacity: number, upperCapacity: number): Layout {
  const slots = HEADER_BYTES;
  const visited = align(slots + MAX_THREADS * HNSW_SLOT_BYTES);
  const codes = align(visited + MAX_THREADS * capacity * 2);
  const codeBytes = spec.storage?.kind === StorageKind.SPLIT ? 0 : spec.codeSize;
  const level0 = align(codes + capacity * codeBytes);
  const levels = align(level0 + capacity * 2 * spec.M * 4);
  const upoff = align(levels + capacity * 4);
  const locks = align(upoff + capacity * 4);
  const upper = align(locks + capacity * 4);
  const auxBytes = spec.storage?.auxBytes ?? 0;
  const aux = align(upper + upperCapacity * 4);
  const end = auxBytes > 0 ? aux + auxBytes : upper + upperCapacity * 4;
  return { slots, visited, codes, level0, levels, upoff, locks, upper, aux, end };
}

export class HNSWSegment {
  readonly memory: WebAssembly.Memory;
  readonly capacity: number;
  readonly upperCapacity: number;
  readonly slots: number;
  readonly codes: number;
  readonly level0: number;
  readonly levels: number;
  readonly upoff: number;
  readonly upper: number;
  /** Byte offset of the quantizer's tables (SQ / PQ storage). */
  readonly aux: number;

  constructor(
    readonly spec: HNSWSpec,
    capacity: number,
    upperCapacity: number,
  ) {
    const l = layout(spec, capacity, upperCapacity);
    if (l.end > MAX_MEMORY_BYTES) {
      throw new RangeError(`HNSW storage of ${capacity} vectors needs ${l.end} bytes, more than one WebAssembly memory holds (${MAX_MEMORY_BYTES})`);
    }
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(l.end / PAGE), maximum: Math.ceil(l.end / PAGE), shared: true });
    this.capacity = capacity;
    this.upperCapacity = upperCapacity;
    this.slots = l.slots;
    this.codes = l.codes;
    this.level0 = l.level0;
    this.levels = l.levels;
    this.upoff = l.upoff;
    this.upper = l.upper;
    this.aux = l.aux;
    const h = new Int32Array(this.memory.buffer, 0, HEADER_BYTES / 4);
    h[H.D / 4] = spec.d;
    h[H.METRIC / 4] = spec.metric;
    h[H.NB0 / 4] = 2 * spec.M;
    h[H.NB1 / 4] = spec.M;
    h[H.CODES / 4] = l.codes;
    h[H.LEVEL0 / 4] = l.level0;
    h[H.LEVELS / 4] = l.levels;
    h[H.UPOFF / 4] = l.upoff;
    h[H.UPPER / 4] = l.upper;
    h[H.VISITED / 4] = l.visited;
    h[H.CAPACITY / 4] = capacity;
    h[H.LOCKS / 4] = l.locks;
    h[H.ENTRY / 4] = -1;
    h[H.MAXLEVEL / 4] = -1;
    h[H.SLOTS / 4] = l.slots;
    h[H.SLOT_BYTES / 4] = HNSW_SLOT_BYTES;
    const st = spec.storage ?? FLAT_STORAGE;
    h[H.KIND / 4] = st.kind;
    h[H.CODE_SIZE / 4] = spec.codeSize;
    h[H.P0 / 4] = st.p0;
    h[H.P1 / 4] = st.p1;
    h[H.AUX / 4] = l.aux;
    h[H.AUX2 / 4] = l.aux + st.aux2Offset;
    h[H.QAREA / 4] = st.qareaBytes;
    if (st.kind === StorageKind.SPLIT) {
      const v = spec.vectors;
      if (v === undefined) throw new RangeError('HNSW storage SPLIT needs the vector segments\' layout');
      h[H.VPER / 4] = v.perSegment;
      h[H.VBASE / 4] = v.vbase;
      h[H.VAREA / 4] = v.areaBytes;
      h[H.TBASE / 4] = SEGMENT_TABLE_BASE;
    }
  }

  /** Whether the vectors are outside this memory (storage kind SPLIT). */
  get split(): boolean {
    return this.spec.storage?.kind === StorageKind.SPLIT;
  }

  /** Writes the quantizer's tables (storage.auxBytes bytes) where the kernels read them. */
  setAux(bytes: Uint8Array): void {
    const n = this.spec.storage?.auxBytes ?? 0;
    if (bytes.length !== n) throw new RangeError(`HNSW storage tables: ${bytes.length} bytes, expected ${n}`);
    new Uint8Array(this.memory.buffer, this.aux, n).set(bytes);
  }

  /** Bytes of the memory that `capacity` nodes and `upperCapacity` upper entries need. */
  static bytesFor(spec: HNSWSpec, capacity: number, upperCapacity: number): number {
    return layout(spec, capacity, upperCapacity).end;
  }

  /** The kernels bound to this memory, for the calling thread. */
  get kernels(): WasmKernels {
    return kernelsFor(this.memory);
  }

  /** Byte offset of thread t's scratch slot. */
  slotOffset(t: number): number {
    return this.slots + t * HNSW_SLOT_BYTES;
  }

  /** Sets the graph state the kernels read: entry point, max level, efConstruction. */
  setState(entryPoint: number, maxLevel: number, efConstruction: number): void {
    const h = new Int32Array(this.memory.buffer, 0, HEADER_BYTES / 4);
    h[H.ENTRY / 4] = entryPoint;
    h[H.MAXLEVEL / 4] = maxLevel;
    h[H.EFC / 4] = efConstruction;
  }

  codesView(n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.codes, n * this.spec.codeSize);
  }

  level0View(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.level0, n * 2 * this.spec.M);
  }

  levelsView(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.levels, n);
  }

  upoffView(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.upoff, n);
  }

  upperView(entries: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.upper, entries);
  }

  /** Copies the first n nodes and `upperUsed` upper entries of `from` (a smaller segment). */
  copyFrom(from: HNSWSegment, n: number, upperUsed: number): void {
    if (!this.split) this.codesView(n).set(from.codesView(n));
    this.level0View(n).set(from.level0View(n));
    this.levelsView(n).set(from.levelsView(n));
    this.upoffView(n).set(from.upoffView(n));
    this.upperView(upperUsed).set(from.upperView(upperUsed));
    const h = new Int32Array(from.memory.buffer, 0, HEADER_BYTES / 4);
    this.setState(h[H.ENTRY / 4]!, h[H.MAXLEVEL / 4]!, h[H.EFC / 4]!);
  }
}
