/**
 * @module storage/HNSWVectorSegments
 * The float vectors of an HNSW graph too large for one WebAssembly memory: a wasm32 memory stops at
 * 4 GiB (766 thousand vectors at d = 1280 with their graph), so the vectors move out of the graph's
 * memory (storage/HNSWSegment, storage kind SPLIT) into vector segments, shared memories of
 * `perSegment` vectors each; the graph's memory keeps the lists, the levels, the locks and the
 * threads' scratch. Node i lives in segment floor(i / perSegment) at position i % perSegment.
 *
 * Layout of every segment (byte offsets):
 *   [0, vbase)     MAX_THREADS x 3 vector areas of areaBytes (d floats, 64-byte aligned):
 *                  area 0 the thread's query, 1 the node whose list add_link re-selects,
 *                  2 the candidate the neighbour heuristic weighs (assembly/hnsw.ts)
 *   [vbase, ...)   the vectors, d floats each
 * A segment grows in place (memory.grow) up to perSegment vectors; the next one is then created.
 * Pages are backed by RAM only once written.
 *
 * How the kernels reach them: the graph's kernel instance on a thread calls, through its function
 * table, the distance kernel of that thread's instance on each segment (bindOnThread); a stored
 * vector is copied into the areas of every segment by the imported hnsw_load_vector, which this
 * thread's loader performs (loaderFor).
 */
import { kernelsFor, type WasmKernels } from '../kernels/wasm.js';
import { MAX_MEMORY_BYTES, MAX_THREADS } from './Segment.js';

const PAGE = 65536;
const align = (v: number, a = 64): number => Math.ceil(v / a) * a;
/** Function-table entry of segment 0's distance kernel in a graph's instance (the module's own entries come first). */
export const SEGMENT_TABLE_BASE = 16;
/** Vector areas per thread in every segment. */
export const VECTOR_AREAS = 3;

/** Where the vectors sit in each segment, for vectors of dimension d. */
export interface VectorSegmentLayout {
  d: number;
  /** Bytes of one vector area (d floats, 64-byte aligned). */
  areaBytes: number;
  /** Byte offset of the first vector. */
  vbase: number;
  /** Vectors per segment. */
  perSegment: number;
}

/** The layout for dimension d; perSegment defaults to as many vectors as one memory holds. */
export function vectorSegmentLayout(d: number, perSegment?: number): VectorSegmentLayout {
  const areaBytes = align(d * 4);
  const vbase = align(MAX_THREADS * VECTOR_AREAS * areaBytes, PAGE);
  const most = Math.floor((MAX_MEMORY_BYTES - vbase) / (d * 4));
  if (most < 1) throw new RangeError(`vectors of dimension ${d} do not fit in a WebAssembly memory`);
  const per = perSegment === undefined ? most : Math.min(perSegment, most);
  if (!Number.isInteger(per) || per < 1) throw new RangeError(`perSegment must be a positive integer, got ${perSegment}`);
  return { d, areaBytes, vbase, perSegment: per };
}

export class HNSWVectorSegments {
  readonly layout: VectorSegmentLayout;
  readonly memories: WebAssembly.Memory[] = [];
  /** Vectors the segments have room for (grown by ensure). */
  private capacity = 0;

  constructor(
    readonly d: number,
    perSegment?: number,
  ) {
    this.layout = vectorSegmentLayout(d, perSegment);
  }

  get perSegment(): number {
    return this.layout.perSegment;
  }

  /** Makes room for n vectors: grows the last segment in place, then adds segments. */
  ensure(n: number): void {
    const { perSegment, vbase } = this.layout;
    const bytesPer = this.d * 4;
    while (this.capacity < n) {
      const s = Math.floor(this.capacity / perSegment);
      const inSeg = Math.min(perSegment, n - s * perSegment);
      // grow ahead by half, as an array would, up to the segment's size
      const want = Math.min(perSegment, Math.max(inSeg, Math.ceil((this.capacity - s * perSegment) * 1.5), 1024));
      const pages = Math.ceil((vbase + want * bytesPer) / PAGE);
      if (s === this.memories.length) {
        const maximum = Math.ceil((vbase + perSegment * bytesPer) / PAGE);
        this.memories.push(new WebAssembly.Memory({ initial: pages, maximum, shared: true }));
      } else {
        const m = this.memories[s]!;
        const have = m.buffer.byteLength / PAGE;
        if (pages > have) m.grow(pages - have);
      }
      this.capacity = s * perSegment + Math.min(perSegment, Math.floor((this.memories[s]!.buffer.byteLength - vbase) / bytesPer));
    }
  }

  /** Writes vectors n0 .. n0 + x.length/d - 1 (the caller made room). */
  write(n0: number, x: Float32Array): void {
    const { d } = this;
    this.forEachRun(n0, x.length / d, (stored, i) => stored.set(x.subarray(i * d, i * d + stored.length)));
  }

  /** Vectors i0 .. i0 + n - 1 into out (n*d floats; a new array by default). */
  read(i0: number, n: number, out = new Float32Array(n * this.d)): Float32Array {
    this.forEachRun(i0, n, (stored, i) => out.set(stored, i * this.d));
    return out;
  }

  /** Calls fn with a view of each run of vectors i0 .. i0+n-1 that one segment holds, and the run's first index i (from 0). */
  private forEachRun(i0: number, n: number, fn: (stored: Float32Array, i: number) => void): void {
    const { d, perSegment } = this;
    for (let i = 0; i < n; ) {
      const s = Math.floor((i0 + i) / perSegment);
      const local = i0 + i - s * perSegment;
      const m = Math.min(n - i, perSegment - local);
      fn(new Float32Array(this.memories[s]!.buffer, this.layout.vbase + local * d * 4, m * d), i);
      i += m;
    }
  }
}

// ---- per thread ---------------------------------------------------------------------------------

/** The distance kernels already placed in a graph instance's table (per thread, per instance). */
const placed = new WeakMap<WasmKernels, WebAssembly.Memory[]>();

/**
 * Places in the function table of `graph` (this thread's instance on the graph's memory) the distance
 * kernel of this thread's instance on each segment: entry SEGMENT_TABLE_BASE + s. metric 1: L2.
 */
export function bindOnThread(graph: WasmKernels, segments: readonly WebAssembly.Memory[], metric: number): void {
  let done = placed.get(graph);
  if (done === undefined) {
    if (graph.table.length > SEGMENT_TABLE_BASE) throw new Error(`kernel module's function table has ${graph.table.length} entries, more than SEGMENT_TABLE_BASE`);
    done = [];
    placed.set(graph, done);
  }
  const need = SEGMENT_TABLE_BASE + segments.length;
  if (graph.table.length < need) graph.table.grow(need - graph.table.length);
  for (let s = 0; s < segments.length; s++) {
    if (done[s] === segments[s]) continue;
    const k = kernelsFor(segments[s]!);
    graph.table.set(SEGMENT_TABLE_BASE + s, (metric === 1 ? k.fvec_L2sqr : k.fvec_inner_product) as unknown as WebAssembly.ExportValue);
    done[s] = segments[s]!;
  }
}

/** Copies node's vector to vector area `area` of thread `slot` in every segment (hnsw_load_vector). */
export function loaderFor(segments: readonly WebAssembly.Memory[], layout: VectorSegmentLayout): (node: number, area: number, slot: number) => void {
  const { d, perSegment, vbase, areaBytes } = layout;
  // views over each segment, renewed when a vector lies past one (its segment has grown since);
  // the areas, at the start of every segment, are always inside
  const views: Float32Array[] = segments.map((m) => new Float32Array(m.buffer));
  return (node, area, slot) => {
    const s = Math.floor(node / perSegment);
    // float indices by arithmetic, not by a shift: past 2 GiB into a segment a byte offset is no
    // int32 (`>> 2` would turn it negative, and subarray would count from the end)
    const from = vbase / 4 + (node - s * perSegment) * d;
    let src = views[s]!;
    if (from + d > src.length) {
      src = views[s] = new Float32Array(segments[s]!.buffer);
      // a short copy would leave a stale vector in the areas: fail loudly instead
      if (from + d > src.length) throw new RangeError(`hnsw_load_vector: node ${node} lies past vector segment ${s} (${src.length * 4} bytes)`);
    }
    const vec = src.subarray(from, from + d);
    const to = ((slot * VECTOR_AREAS + area) * areaBytes) / 4;
    for (let t = 0; t < segments.length; t++) views[t]!.set(vec, to);
  };
}
