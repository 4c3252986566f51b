/**
 * @module kernels/wasm
 * Loads the WebAssembly kernels and declares their surface once. The module imports its memory:
 * every storage segment is a shared WebAssembly.Memory, and every thread instantiates the module
 * once per segment it touches (instances are cached per memory, per thread).
 *
 * The relaxed-SIMD build (fused multiply-add) is chosen where the engine validates it; otherwise
 * the baseline SIMD128 build. `SIMDEX_KERNELS=simd` forces the baseline.
 *
 * Node 20's V8 (11.3) implements relaxed SIMD behind `--experimental-wasm-relaxed-simd` (on by
 * default from Node 22, Chrome 114, Firefox 120): on Node 20 the flag is switched on through
 * `v8.setFlagsFromString` before validating (it only widens what the validator accepts; every
 * thread shares it). `SIMDEX_KERNELS=simd` also leaves the flag alone.
 */
import { simdBase64, relaxedBase64 } from './wasm/modules.js';

/** The raw WASM exports: pointers are byte offsets into the segment's memory. */
export interface WasmKernels {
  fvec_L2sqr(a: number, b: number, d: number): number;
  fvec_inner_product(a: number, b: number, d: number): number;
  fvec_norms_L2sqr(out: number, x: number, d: number, n: number): void;
  fvec_L2sqr_ny(out: number, q: number, y: number, d: number, ny: number): void;
  fvec_inner_products_ny(out: number, q: number, y: number, d: number, ny: number): void;
  fvec_renorm_L2(x: number, d: number, n: number): void;
  residuals_n(x: number, n: number, d: number, c: number, keys: number): void;
  fvec_first_nonfinite(x: number, n: number): number;
  heap_heapify(isMax: number, n: number, k: number, hd: number, hi: number): void;
  heap_addn(isMax: number, k: number, hd: number, hi: number, dis: number, n: number, idBase: bigint): void;
  heap_addn_ids(isMax: number, k: number, hd: number, hi: number, dis: number, ids: number, n: number): void;
  heap_reorder(isMax: number, n: number, k: number, hd: number, hi: number): void;
  packed_bytes(ny: number, d: number): number;
  pack_block(dst: number, Y: number, ny: number, d: number): void;
  inner_products_packed(out: number, ldo: number, Q: number, nq: number, P: number, ny: number, d: number): void;
  inner_products_block(out: number, ldo: number, Q: number, nq: number, Y: number, ny: number, d: number, tmp: number): void;
  knn_1q(metric: number, q: number, y: number, d: number, ny: number, k: number, hd: number, hi: number, idBase: bigint, tmp: number): void;
  knn_1q_ids(metric: number, q: number, y: number, d: number, ny: number, k: number, hd: number, hi: number, ids: number, tmp: number): void;
  knn_batch(metric: number, Q: number, nq: number, y: number, d: number, ny: number, k: number, hd: number, hi: number, idBase: bigint, ids: number, tmp: number, yblock: number): void;
  knn_batch_tmp_bytes(nq: number, d: number, yblock: number): number;
  knn_batch_packed(metric: number, Q: number, nq: number, P: number, yn: number, d: number, ny: number, k: number, hd: number, hi: number, idBase: bigint, ids: number, tmp: number, yblock: number): void;
  knn_batch_packed_tmp_bytes(nq: number, yblock: number): number;
  knn_list_batch(metric: number, X: number, qidx: number, m: number, y: number, yn: number, packed: number, d: number, ny: number, k: number, hd: number, hi: number, ids: number, Qp: number, HDp: number, HIp: number, qb: number, csub: number, tmp: number, yblock: number): void;
  // k-means' per-point loops (assembly/kmeans.ts)
  kmeans_assigned_l2(x: number, n: number, d: number, c: number, assign: number, out: number): void;
  kmeans_accumulate(x: number, n: number, d: number, assign: number, kFrozen: number, weights: number, sums: number, counts: number): void;
  kmeans_elkan_geometry(c: number, prev: number, k: number, d: number, half: number, sep: number, moved: number): void;
  kmeans_elkan_full(x: number, n: number, d: number, c: number, k: number, cnorms: number, cmax: number, rel: number, assign: number, lower: number, dis: number): number;
  kmeans_elkan(x: number, n: number, d: number, c: number, k: number, half: number, sep: number, moved: number, slack: number, assign: number, lower: number, dis: number, cand: number): number;
  // projected lower bounds (assembly/bounds.ts)
  bounds_project(X: number, n: number, d: number, mean: number, r: number, Pb: number, PbT: number, P: number, R: number, out: number, norms: number): void;
  bounds_block(B: number, Q: number, nq: number, qn: number, P: number, yn: number, ny: number, d: number, k: number, hd: number, hi: number): void;
  bounds_select(B: number, i0: number, nq: number, ny: number, thr: number, ids: number, lims: number, cap: number): number;
  bounds_refine(Q: number, nq: number, d: number, y: number, ids: number, lims: number, k: number, hd: number, hi: number, dis: number): void;
  /** The SIMD multiply-add peak reference (assembly/peak.ts): iters steps of 64 flops. */
  simd_peak_madd(iters: number): number;
  range_1q(metric: number, q: number, y: number, d: number, ny: number, radius: number, outIdx: number, outDis: number, tmp: number): number;
  // scalar quantizer (assembly/sq.ts)
  sq_code_size(qtype: number, d: number): number;
  sq_tables_bytes(d: number): number;
  sq_set_query(metric: number, q: number, c: number, hasC: number, tab: number, d: number): number;
  sq_distances(qtype: number, metric: number, tab: number, d: number, codes: number, n: number, out: number, dis0: number): void;
  sq_knn(qtype: number, metric: number, tab: number, d: number, codes: number, n: number, k: number, hd: number, hi: number, ids: number, useIds: number, idBase: bigint, dis0: number, tmp: number): void;
  sq_decode(qtype: number, tab: number, d: number, codes: number, n: number, out: number): void;
  sq_encode8(x: number, n: number, d: number, t: number, uniform: number, codes: number): void;
  sq_decode_packed(qtype: number, tab: number, d: number, codes: number, n: number, P: number, yn: number, buf: number): void;
  // product quantizer (assembly/pq.ts); cT: centroids transposed, see ProductQuantizer
  pq_distance_table(metric: number, x: number, cT: number, M: number, ksub: number, dsub: number, out: number): void;
  pq_distance_tables(metric: number, x: number, n: number, cT: number, M: number, ksub: number, dsub: number, out: number): void;
  pq_madd(n: number, a: number, bf: number, b: number, out: number): void;
  pq_ivf_precomputed_list(q: number, c: number, d: number, pre: number, sim2: number, table: number, makeTable: number, M: number, nbits: number, codes: number, ids: number, n: number, k: number, hd: number, hi: number): void;
  pq_ivf_precomputed_queries(X: number, SIM2: number, qidx: number, m: number, c: number, d: number, pre: number, table: number, M: number, nbits: number, codes: number, ids: number, n: number, k: number, hd: number, hi: number): void;
  pq_ivf_residual_list(q: number, c: number, d: number, cT: number, M: number, nbits: number, dsub: number, r: number, table: number, codes: number, ids: number, n: number, k: number, hd: number, hi: number): void;
  pq_compute_codes(x: number, n: number, cT: number, M: number, ksub: number, dsub: number, nbits: number, codes: number): void;
  pq_assign(x: number, n: number, cT: number, k: number, dsub: number, labels: number, dis: number): void;
  pq_scan(isMax: number, codes: number, n: number, M: number, nbits: number, table: number, grouped: number, dis0: number, k: number, hd: number, hi: number, idBase: bigint): void;
  pq_scan_ids(isMax: number, codes: number, ids: number, n: number, M: number, nbits: number, table: number, grouped: number, dis0: number, k: number, hd: number, hi: number): void;
  pq_code_distances(codes: number, n: number, M: number, nbits: number, table: number, grouped: number, dis0: number, out: number): void;
  // 4-bit PQ FastScan (assembly/pq4.ts): packed codes, uint8 tables, heaps of 16-bit distances
  pq4_heapify(isMax: number, n: number, k: number, hd: number, hi: number): void;
  pq4_scan(isMax: number, nq: number, codes: number, n: number, bbs: number, M2: number, lut: number, bias: number, k: number, hd: number, hi: number, ids: number, idBase: bigint, tmp: number): void;
  pq4_scan_lists(isMax: number, runs: number, nruns: number, pairs: number, nprobe: number, bbs: number, M2: number, luts: number, queryBytes: number, is3d: number, biases: number, k: number, hd: number, hi: number, tmp: number): void;
  pq4_lut_minmax(tab: number, nrows: number, mins: number, maxs: number): void;
  pq4_lut_round(tab: number, nrows: number, a: number, mins: number, out: number): void;
  pq4_lut_2d(tab: number, M: number, M2: number, mins: number, maxs: number, scale: number, out: number): void;
  // HNSW graph (assembly/hnsw.ts); h: the header of an HNSW memory (storage/HNSWSegment)
  hnsw_search(h: number, slot: number, q: number, k: number, ef: number, hd: number, hi: number, tmp: number): number;
  hnsw_search_tmp_bytes(ef: number): number;
  /** q: the vector pt was encoded from, for SQ / PQ storage (0 for flat storage). */
  hnsw_add(h: number, slot: number, pt: number, q?: number): void;
  hnsw_add_scratch_bytes(efConstruction: number, M: number): number;
  // refinement (assembly/refine.ts): distances to candidates given by int64 ids, over one segment
  refine_distances(metric: number, Q: number, nq: number, d: number, y: number, ny: number, idBase: bigint, ids: number, kb: number, dis: number): number;
  /** The instance's function table: an HNSW graph's instance calls its vector segments' distance kernels through it. */
  table: WebAssembly.Table;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let compiled: { module: WebAssembly.Module; variant: 'simd' | 'relaxed' } | undefined;

declare const process:
  | { env: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown }
  | undefined;

/** On Node 20, turns on V8's relaxed-SIMD support (a no-op elsewhere); true if it may have changed. */
function enableRelaxedSimdFlag(): boolean {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return false;
  try {
    const v8 = process.getBuiltinModule('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
    if (typeof v8?.setFlagsFromString !== 'function') return false;
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}

/** The compiled kernel module (compiled once per thread) and which build it is. */
export function kernelModule(): { module: WebAssembly.Module; variant: 'simd' | 'relaxed' } {
  if (compiled) return compiled;
  const forced = typeof process !== 'undefined' ? process.env.SIMDEX_KERNELS : undefined;
  const relaxed = decodeBase64(relaxedBase64);
  if (forced !== 'simd' && (WebAssembly.validate(relaxed) || (enableRelaxedSimdFlag() && WebAssembly.validate(relaxed)))) {
    compiled = { module: new WebAssembly.Module(relaxed), variant: 'relaxed' };
  } else {
    const simd = decodeBase64(simdBase64);
    if (!WebAssembly.validate(simd)) {
      throw new Error('simdex needs WebAssembly SIMD128 (Node 20+, Chrome 91+, Firefox 89+, Safari 16.4+)');
    }
    compiled = { module: new WebAssembly.Module(simd), variant: 'simd' };
  }
  return compiled;
}

/** Adopts a module compiled by another thread (workers receive it from the main thread). */
export function setKernelModule(module: WebAssembly.Module, variant: 'simd' | 'relaxed'): void {
  compiled = { module, variant };
}

const instances = new WeakMap<WebAssembly.Memory, WasmKernels>();

/**
 * What the module's import `env.hnsw_load_vector(node, area, slot)` does on this thread: an HNSW graph
 * whose vectors live in vector segments (storage/HNSWVectorSegments) has node's vector copied into
 * the thread's vector area `area` of every segment. Set by search/hnswSearch before it calls the
 * graph's kernels; no other kernel calls it.
 */
let loadVectorHook: (node: number, area: number, slot: number) => void = () => {
  throw new Error('hnsw_load_vector: no HNSW vector segments are bound on this thread');
};

/** Sets this thread's hnsw_load_vector (see loadVectorHook). */
export function setHnswLoadVector(fn: (node: number, area: number, slot: number) => void): void {
  loadVectorHook = fn;
}

/** The imports of the kernel module for an instance on `memory`. */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory, hnsw_load_vector: (node: number, area: number, slot: number) => loadVectorHook(node, area, slot) } };
}

/** The kernels bound to `memory`, for this thread. */
export function kernelsFor(memory: WebAssembly.Memory): WasmKernels {
  let k = instances.get(memory);
  if (k === undefined) {
    const instance = new WebAssembly.Instance(kernelModule().module, kernelImports(memory));
    k = instance.exports as unknown as WasmKernels;
    instances.set(memory, k);
  }
  return k;
}
