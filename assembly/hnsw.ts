// HNSW (Faiss's HNSW.cpp): greedy descent, the level-0 beam search, and the insertion of one node
// with the neighbour-selection heuristic, all inside WebAssembly on one shared memory.
//
// The memory is laid out by src/storage/HNSWSegment.ts; a header at `h` holds the layout:
//   codes    ntotal stored vectors: d floats each (IndexHNSWFlat), or SQ / PQ codes (IndexHNSWSQ,
//            IndexHNSWPQ: their distance computers are in assembly/hnswStorage.ts)
//   level0   2M int32 per node (fixed stride), -1 padded
//   levels   int32 per node: Faiss's levels[i], the number of levels of node i (>= 1)
//   upoff    int32 per node: where node i's upper-level lists start in `upper` (in int32 entries)
//   upper    M int32 per level >= 1 of each node that has some, -1 padded
//   locks    int32 per node (the insertion lock of each neighbour list)
//   visited  one table of uint16 generation stamps per thread, `capacity` entries each
// and each thread has a scratch slot at slots + slot * slotBytes whose first word is the generation
// of its visited table.
//
// Vectors outside the graph's memory (KIND_SPLIT: flat floats too many for one 4 GiB memory): the
// `codes` region is empty and the vectors live in vector segments, other shared memories of
// H_VPER vectors each (src/storage/HNSWVectorSegments.ts). This module, instantiated on the graph's
// memory, cannot read them; it calls the distance kernel of segment s's own instance through the
// function table (entry H_TBASE + s: that instance's fvec_L2sqr or fvec_inner_product, a direct
// WebAssembly-to-WebAssembly call). Each thread has three vector areas in every segment: 0 the
// query, 1 the node whose list add_link re-selects, 2 the candidate the heuristic weighs; the
// imported hnsw_load_vector(node, area, slot) copies a stored vector into that area of every
// segment (the search's query is written there by the caller).
//
// Distances are "smaller is better": squared L2, or the negated inner product (Faiss's
// NegativeDistanceComputer); the caller negates inner-product results back.
// Ties break on ids (Faiss's cmp2), so that results are deterministic.
//
// Functions in pipeline order: distances and visited table -> greedy descent -> search of one level
// for insertion -> neighbour heuristic -> connect (add_link) -> add one node -> search.

import { fvec_L2sqr, fvec_inner_product } from './distances';
import { FLT_MAX, heap_replace_top, heap_reorder } from './heap';
import { KIND_FLAT, KIND_SPLIT, storageBind, storageDist, storageSetQuery, storageSym } from './hnswStorage';
import { select32 } from './lanes';

// ---- header (byte offsets of i32/u32 fields from h) -----------------------------------------------

const H_D: usize = 0;
const H_METRIC: usize = 4; // 1 = L2, 0 = inner product
const H_NB0: usize = 8; // 2M: neighbours per node on level 0
const H_NB1: usize = 12; // M: neighbours per node on each upper level
const H_CODES: usize = 16;
const H_LEVEL0: usize = 20;
const H_LEVELS: usize = 24;
const H_UPOFF: usize = 28;
const H_UPPER: usize = 32;
const H_VISITED: usize = 36;
const H_CAPACITY: usize = 40;
const H_LOCKS: usize = 44;
const H_ENTRY: usize = 48;
const H_MAXLEVEL: usize = 52;
const H_EFC: usize = 56;
const H_SLOTS: usize = 60;
const H_SLOT_BYTES: usize = 64;
const H_CODE_SIZE: usize = 72; // bytes per stored vector (d*4 for floats)
const H_QAREA: usize = 92; // bytes reserved at the end of each slot for a quantized storage's query
const H_VPER: usize = 96; // KIND_SPLIT: vectors per vector segment
const H_VBASE: usize = 100; // KIND_SPLIT: byte offset of the first vector in every segment
const H_VAREA: usize = 104; // KIND_SPLIT: bytes of one per-thread vector area (3 per thread from offset 0)
const H_TBASE: usize = 108; // KIND_SPLIT: function-table entry of segment 0's distance kernel

// @ts-ignore: decorator
@external("env", "hnsw_load_vector")
declare function hnsw_load_vector(node: i32, area: i32, slot: i32): void;

// Bytes at the start of a slot reserved for the visited-table generation (and future per-thread state).
const SLOT_HEADER: usize = 64;

// Per-call state, read from the header once per exported call. Each thread has its own instance of
// this module, so these globals are per thread.
let g_d: i32 = 0;
let g_metric: i32 = 1;
let g_kind: i32 = 0; // KIND_FLAT: the codes are the float vectors
let g_stride: usize = 0;
let g_codes: usize = 0;
let g_level0: usize = 0;
let g_nb0: i32 = 0;
let g_nb1: i32 = 0;
let g_levels: usize = 0;
let g_upoff: usize = 0;
let g_upper: usize = 0;
let g_locks: usize = 0;
let g_cap: usize = 0;
let g_slot: usize = 0;
let g_vt: usize = 0;
let g_gen: u32 = 0;
/** Sum of the bytes touched ahead of the distance computations (kept so the loads are not removed). */
let g_touch: u32 = 0;
let g_slotIdx: i32 = 0;
let g_vper: u32 = 1;
let g_vbase: usize = 0;
let g_varea: usize = 0;
let g_tbase: u32 = 0;

function bind(h: usize, slot: i32): void {
  g_d = load<i32>(h + H_D);
  g_metric = load<i32>(h + H_METRIC);
  g_stride = <usize>load<u32>(h + H_CODE_SIZE);
  g_codes = load<u32>(h + H_CODES);
  g_level0 = load<u32>(h + H_LEVEL0);
  g_nb0 = load<i32>(h + H_NB0);
  g_nb1 = load<i32>(h + H_NB1);
  g_levels = load<u32>(h + H_LEVELS);
  g_upoff = load<u32>(h + H_UPOFF);
  g_upper = load<u32>(h + H_UPPER);
  g_locks = load<u32>(h + H_LOCKS);
  g_cap = load<u32>(h + H_CAPACITY);
  g_slot = <usize>load<u32>(h + H_SLOTS) + <usize>slot * <usize>load<u32>(h + H_SLOT_BYTES);
  g_vt = <usize>load<u32>(h + H_VISITED) + <usize>slot * (g_cap << 1);
  g_kind = storageBind(h, slot);
  g_slotIdx = slot;
  if (g_kind == KIND_SPLIT) {
    g_vper = load<u32>(h + H_VPER);
    g_vbase = <usize>load<u32>(h + H_VBASE);
    g_varea = <usize>load<u32>(h + H_VAREA);
    g_tbase = load<u32>(h + H_TBASE);
  }
}

// ---- distances, neighbour lists, visited table --------------------------------------------------

/**
 * Distance from the query to stored vector id (smaller is better): from the float vector at q for
 * flat storage; for codes, from the query set by storageSetQuery (q is not read).
 */
@inline function distTo(q: usize, id: i32): f32 {
  if (g_kind == KIND_SPLIT) return segDist(0, id);
  if (g_kind != KIND_FLAT) return storageDist(id);
  const y = g_codes + <usize>id * g_stride;
  return g_metric == 1 ? fvec_L2sqr(q, y, g_d) : -fvec_inner_product(q, y, g_d);
}

/**
 * KIND_SPLIT: distance from this thread's vector area `area` to stored vector id, computed by the
 * instance of id's vector segment (smaller is better).
 */
function segDist(area: i32, id: i32): f32 {
  const seg = <u32>id / g_vper;
  const local = <u32>id - seg * g_vper;
  const a = (<usize>g_slotIdx * 3 + <usize>area) * g_varea;
  const dis = call_indirect<f32>(g_tbase + seg, a, g_vbase + <usize>local * g_stride, g_d);
  return g_metric == 1 ? dis : -dis;
}

/** Distance between stored vectors a and b (Faiss's symmetric_dis). */
@inline function symDist(a: i32, b: i32): f32 {
  if (g_kind != KIND_FLAT) return storageSym(a, b);
  const x = g_codes + <usize>a * g_stride;
  const y = g_codes + <usize>b * g_stride;
  return g_metric == 1 ? fvec_L2sqr(x, y, g_d) : -fvec_inner_product(x, y, g_d);
}

/** Address of the neighbour list of `node` on `level` (nbOf(level) int32, -1 padded). */
@inline function linksOf(node: i32, level: i32): usize {
  if (level == 0) return g_level0 + <usize>node * (<usize>g_nb0 << 2);
  return g_upper + ((<usize>load<u32>(g_upoff + (<usize>node << 2)) + <usize>(level - 1) * <usize>g_nb1) << 2);
}

@inline function nbOf(level: i32): i32 {
  return level == 0 ? g_nb0 : g_nb1;
}

/** Starts a new visit: bumps this thread's generation (clearing the table when it wraps). */
function vtAdvance(): void {
  let gen = load<u32>(g_slot) + 1;
  if (gen > 0xffff) {
    memory.fill(g_vt, 0, g_cap << 1);
    gen = 1;
  }
  store<u32>(g_slot, gen);
  g_gen = gen;
}

@inline function vtGet(id: i32): bool {
  return <u32>load<u16>(g_vt + (<usize>id << 1)) == g_gen;
}

@inline function vtSet(id: i32): void {
  store<u16>(g_vt + (<usize>id << 1), <u16>g_gen);
}

/**
 * Reads one byte of the stored vector of every neighbour in the list at p (nb entries, -1 ends it)
 * that the current visit has not seen, so that their cache misses overlap before the distances are
 * computed one by one (WebAssembly has no prefetch instruction). Not for KIND_SPLIT (the vectors are
 * in other memories).
 */
@inline function touchUnvisited(p: usize, nb: i32): void {
  if (g_kind == KIND_SPLIT) return;
  let touched: u32 = 0;
  for (let j = 0; j < nb; j++) {
    const v = load<i32>(p + (<usize>j << 2));
    if (v < 0) break;
    if (!vtGet(v)) touched += load<u8>(g_codes + <usize>v * g_stride);
  }
  g_touch += touched;
}

/** As touchUnvisited, for every node of the list at p, visited or not. */
@inline function touchAll(p: usize, nb: usize): void {
  if (g_kind == KIND_SPLIT) return;
  let touched: u32 = 0;
  for (let j: usize = 0; j < nb; j++) {
    const v = load<i32>(p + (j << 2));
    if (v < 0) break;
    touched += load<u8>(g_codes + <usize>v * g_stride);
  }
  g_touch += touched;
}

// ---- binary heaps of (f32 distance, i32 id), 0-based, ties on ids ---------------------------------
// isMax: the top is the largest (d, id) (Faiss's CMax); else the smallest (CMin).

@inline function above(isMax: bool, a: f32, b: f32, ia: i32, ib: i32): bool {
  return isMax ? (a > b || (a == b && ia > ib)) : (a < b || (a == b && ia < ib));
}

@inline function dAt(dis: usize, i: usize): f32 { return load<f32>(dis + (i << 2)); }
@inline function iAt(ids: usize, i: usize): i32 { return load<i32>(ids + (i << 2)); }
@inline function put(dis: usize, ids: usize, i: usize, v: f32, id: i32): void {
  store<f32>(dis + (i << 2), v);
  store<i32>(ids + (i << 2), id);
}

/** Adds (v, id) to a heap of n elements (it then has n + 1). */
function hPush(isMax: bool, n: usize, dis: usize, ids: usize, v: f32, id: i32): void {
  let i = n;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!above(isMax, v, dAt(dis, p), id, iAt(ids, p))) break;
    put(dis, ids, i, dAt(dis, p), iAt(ids, p));
    i = p;
  }
  put(dis, ids, i, v, id);
}

/** Sifts (v, id) down from the root of a heap of n elements. */
function hSiftDown(isMax: bool, n: usize, dis: usize, ids: usize, v: f32, id: i32): void {
  let i: usize = 0;
  while (true) {
    const c1 = (i << 1) + 1;
    if (c1 >= n) break;
    let c = c1;
    const c2 = c1 + 1;
    if (c2 < n && above(isMax, dAt(dis, c2), dAt(dis, c1), iAt(ids, c2), iAt(ids, c1))) c = c2;
    if (!above(isMax, dAt(dis, c), v, iAt(ids, c), id)) break;
    put(dis, ids, i, dAt(dis, c), iAt(ids, c));
    i = c;
  }
  put(dis, ids, i, v, id);
}

/** Removes the top of a heap of n elements (it then has n - 1). */
@inline function hPop(isMax: bool, n: usize, dis: usize, ids: usize): void {
  if (n > 1) hSiftDown(isMax, n - 1, dis, ids, dAt(dis, n - 1), iAt(ids, n - 1));
}

/** Sorts n (distance, id) pairs in place, ascending on (d, id) (heapsort with a max-heap). */
function sortAscending(dis: usize, ids: usize, n: usize): void {
  for (let i: usize = 1; i < n; i++) hPush(true, i, dis, ids, dAt(dis, i), iAt(ids, i));
  for (let m = n; m > 1; m--) {
    const v = dAt(dis, m - 1);
    const id = iAt(ids, m - 1);
    put(dis, ids, m - 1, dAt(dis, 0), iAt(ids, 0));
    hSiftDown(true, m - 1, dis, ids, v, id);
  }
}

// ---- locks (one int32 per node: 0 free, 1 held, 2 held with waiters) -------------------------------

function lockNode(node: i32): void {
  const p = g_locks + (<usize>node << 2);
  let c = atomic.cmpxchg<i32>(p, 0, 1);
  if (c == 0) return;
  for (let spin = 0; spin < 64; spin++) {
    if (atomic.load<i32>(p) == 0) {
      c = atomic.cmpxchg<i32>(p, 0, 1);
      if (c == 0) return;
    }
  }
  if (c != 2) c = atomic.xchg<i32>(p, 2);
  while (c != 0) {
    memory.atomic.wait32(p, 2, -1);
    c = atomic.xchg<i32>(p, 2);
  }
}

function unlockNode(node: i32): void {
  const p = g_locks + (<usize>node << 2);
  if (atomic.sub<i32>(p, 1) != 1) {
    atomic.store<i32>(p, 0);
    atomic.notify(p, 1);
  }
}

// ---- greedy descent on an upper level (Faiss's greedy_update_nearest) -------------------------------

let g_nearest: i32 = -1;
let g_dNearest: f32 = 0;

/** Moves (g_nearest, g_dNearest) to a local minimum of the distance to q on `level`. */
function greedyUpdateNearest(q: usize, level: i32): void {
  const nb = nbOf(level);
  while (true) {
    const prev = g_nearest;
    const p = linksOf(prev, level);
    touchAll(p, <usize>nb);
    for (let j = 0; j < nb; j++) {
      const v = load<i32>(p + (<usize>j << 2));
      if (v < 0) break;
      const dis = distTo(q, v);
      if (dis < g_dNearest) {
        g_nearest = v;
        g_dNearest = dis;
      }
    }
    if (g_nearest == prev) return;
  }
}

// ---- construction scratch (in the thread's slot) ---------------------------------------------------
// results: max-heap of efConstruction; sorted copy; selected neighbours (2M); add_link buffers
// (2M + 1 candidates, 2M selected); candidates: min-heap with the rest of the slot.

let a_efc: i32 = 0;
let a_resD: usize = 0;
let a_resI: usize = 0;
let a_selD: usize = 0;
let a_selI: usize = 0;
let a_lkD: usize = 0;
let a_lkI: usize = 0;
let a_lsD: usize = 0;
let a_lsI: usize = 0;
let a_candD: usize = 0;
let a_candI: usize = 0;
let a_candCap: usize = 0;

@inline function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

function bindAdd(h: usize): void {
  a_efc = load<i32>(h + H_EFC);
  const efc = <usize>a_efc;
  const nb = <usize>g_nb0 + 1;
  let p = g_slot + SLOT_HEADER;
  a_resD = p; p = align16(p + (efc << 2));
  a_resI = p; p = align16(p + (efc << 2));
  a_selD = p; p = align16(p + (nb << 2));
  a_selI = p; p = align16(p + (nb << 2));
  a_lkD = p; p = align16(p + (nb << 2));
  a_lkI = p; p = align16(p + (nb << 2));
  a_lsD = p; p = align16(p + (nb << 2));
  a_lsI = p; p = align16(p + (nb << 2));
  const end = g_slot + <usize>load<u32>(h + H_SLOT_BYTES) - <usize>load<u32>(h + H_QAREA);
  a_candCap = (end - p) >> 3;
  a_candD = p;
  a_candI = p + (a_candCap << 2);
}

/** Bytes of slot scratch an insertion needs besides its candidate heap (for the caller's checks). */
export function hnsw_add_scratch_bytes(efConstruction: i32, M: i32): usize {
  return SLOT_HEADER + 2 * align16(<usize>efConstruction << 2) + 6 * align16((<usize>(2 * M) + 1) << 2);
}

// ---- search of one level for the neighbours of a new node (Faiss's search_neighbors_to_add) --------

/**
 * Beam search of width efConstruction on `level` from (entry, dEntry) towards q; the results are
 * left in the max-heap at a_resD/a_resI; returns how many.
 */
function searchNeighborsToAdd(q: usize, pt: i32, entry: i32, dEntry: f32, level: i32): usize {
  const efc = <usize>a_efc;
  vtAdvance();
  vtSet(pt);
  let nres: usize = 0;
  let ncand: usize = 0;
  hPush(false, ncand++, a_candD, a_candI, dEntry, entry);
  hPush(true, nres++, a_resD, a_resI, dEntry, entry);
  vtSet(entry);
  const nb = nbOf(level);
  while (ncand > 0) {
    const d0 = load<f32>(a_candD);
    if (d0 > load<f32>(a_resD)) break;
    const c = load<i32>(a_candI);
    hPop(false, ncand--, a_candD, a_candI);
    const p = linksOf(c, level);
    touchUnvisited(p, nb);
    for (let j = 0; j < nb; j++) {
      const v = load<i32>(p + (<usize>j << 2));
      if (v < 0) break;
      if (vtGet(v)) continue;
      vtSet(v);
      const dis = distTo(q, v);
      if (nres < efc || load<f32>(a_resD) > dis) {
        if (nres < efc) hPush(true, nres++, a_resD, a_resI, dis, v);
        else hSiftDown(true, nres, a_resD, a_resI, dis, v);
        if (ncand == a_candCap) ncand = compactCandidates(ncand, load<f32>(a_resD));
        if (ncand < a_candCap) hPush(false, ncand++, a_candD, a_candI, dis, v);
      }
    }
  }
  return nres;
}

/**
 * The candidate heap is full: drops the candidates farther than the worst result (they can never be
 * expanded: the search stops before them) and rebuilds the heap; returns the new count.
 */
function compactCandidates(n: usize, worst: f32): usize {
  let m: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const dv = dAt(a_candD, i);
    if (dv <= worst) put(a_candD, a_candI, m++, dv, iAt(a_candI, i));
  }
  for (let i: usize = 1; i < m; i++) hPush(false, i, a_candD, a_candI, dAt(a_candD, i), iAt(a_candI, i));
  return m;
}

// ---- the neighbour-selection heuristic (Faiss's shrink_neighbor_list) ------------------------------

/**
 * From n candidates sorted by increasing distance to the new node, keeps those closer to it than to
 * every neighbour kept before them, up to maxSize; fewer than maxSize candidates are all kept.
 * Writes the kept ones (increasing distance) to outD/outI; returns how many.
 */
function shrinkNeighborList(dis: usize, ids: usize, n: usize, maxSize: usize, outD: usize, outI: usize): usize {
  if (n < maxSize) {
    memory.copy(outD, dis, n << 2);
    memory.copy(outI, ids, n << 2);
    return n;
  }
  let nout: usize = 0;
  const split = g_kind == KIND_SPLIT;
  for (let i: usize = 0; i < n; i++) {
    const v1 = iAt(ids, i);
    const d1 = dAt(dis, i);
    let good = true;
    if (split && nout > 0) hnsw_load_vector(v1, 2, g_slotIdx);
    for (let j: usize = 0; j < nout; j++) {
      const o = iAt(outI, j);
      // the same sum either way round: (x - y)^2 and x*y are symmetric component by component
      if ((split ? segDist(2, o) : symDist(o, v1)) < d1) {
        good = false;
        break;
      }
    }
    if (good) {
      put(outD, outI, nout++, d1, v1);
      if (nout >= maxSize) break;
    }
  }
  return nout;
}

// ---- connect (Faiss's add_link) -------------------------------------------------------------------

/** Adds dest to the list of src on `level`; a full list is re-selected with the heuristic. */
function addLink(src: i32, dest: i32, level: i32): void {
  if (src == dest) return;
  const p = linksOf(src, level);
  const nb = <usize>nbOf(level);
  if (load<i32>(p + ((nb - 1) << 2)) == -1) {
    // room left: append after the last neighbour
    let i = nb;
    while (i > 0 && load<i32>(p + ((i - 1) << 2)) == -1) i--;
    store<i32>(p + (i << 2), dest);
    return;
  }
  // full: the old neighbours and dest compete for the nb places
  const split = g_kind == KIND_SPLIT;
  if (split) hnsw_load_vector(src, 1, g_slotIdx);
  touchAll(p, nb);
  put(a_lkD, a_lkI, 0, split ? segDist(1, dest) : symDist(src, dest), dest);
  for (let i: usize = 0; i < nb; i++) {
    const v = load<i32>(p + (i << 2));
    put(a_lkD, a_lkI, i + 1, split ? segDist(1, v) : symDist(src, v), v);
  }
  sortAscending(a_lkD, a_lkI, nb + 1);
  const nout = shrinkNeighborList(a_lkD, a_lkI, nb + 1, nb, a_lsD, a_lsI);
  // written farthest first, as Faiss pops its max-heap
  for (let i: usize = 0; i < nout; i++) store<i32>(p + (i << 2), iAt(a_lsI, nout - 1 - i));
  for (let i = nout; i < nb; i++) store<i32>(p + (i << 2), -1);
}

/**
 * Links pt on `level`: searches efConstruction candidates from (nearest, dNearest), keeps at most
 * nbOf(level) with the heuristic, links pt to them, then each of them back to pt under its lock
 * (Faiss's add_links_starting_from). pt's own lock is held on entry and on return.
 */
function addLinksStartingFrom(q: usize, pt: i32, nearest: i32, dNearest: f32, level: i32): void {
  const nres = searchNeighborsToAdd(q, pt, nearest, dNearest, level);
  sortAscending(a_resD, a_resI, nres);
  const nsel = shrinkNeighborList(a_resD, a_resI, nres, <usize>nbOf(level), a_selD, a_selI);
  for (let i = nsel; i > 0; i--) addLink(pt, iAt(a_selI, i - 1), level);
  unlockNode(pt);
  for (let i = nsel; i > 0; i--) {
    const other = iAt(a_selI, i - 1);
    lockNode(other);
    addLink(other, pt, level);
    unlockNode(other);
  }
  lockNode(pt);
}

// ---- add one node (Faiss's add_with_locks) --------------------------------------------------------

/**
 * Inserts node pt, whose vector, level (levels[pt]) and empty (-1) lists are in place, into a graph
 * that has an entry point (the caller handles the first node and updates entry point and max level
 * after the call). Safe to run on several threads at once on distinct nodes.
 * q: the vector pt was encoded from (d floats), as Faiss's hnsw_add_vertices passes it: the query of
 * the insertion searches over SQ / PQ codes; 0 for flat storage (the stored floats are read).
 */
export function hnsw_add(h: usize, slot: i32, pt: i32, q: usize): void {
  bind(h, slot);
  bindAdd(h);
  const ptLevel = load<i32>(g_levels + (<usize>pt << 2)) - 1;
  if (g_kind == KIND_FLAT) q = g_codes + <usize>pt * g_stride;
  else if (g_kind == KIND_SPLIT) hnsw_load_vector(pt, 0, slot);
  else storageSetQuery(q);
  lockNode(pt);
  g_nearest = load<i32>(h + H_ENTRY);
  g_dNearest = distTo(q, g_nearest);
  let level = load<i32>(h + H_MAXLEVEL);
  for (; level > ptLevel; level--) greedyUpdateNearest(q, level);
  // every level of pt is searched from the same entry point, as Faiss does
  const nearest = g_nearest;
  const dNearest = g_dNearest;
  for (; level >= 0; level--) addLinksStartingFrom(q, pt, nearest, dNearest, level);
  unlockNode(pt);
}

// ---- search (Faiss's HNSW::search with upper_beam 1 and search_from_candidates) --------------------
// The candidates of the level-0 search are Faiss's MinimaxHeap: a max-heap of capacity ef whose
// popped entries stay in place with id -1 (they still count in count_below).

let mm_n: usize = 0;
let mm_k: usize = 0;
let mm_nvalid: i32 = 0;
let mm_dis: usize = 0;
let mm_ids: usize = 0;
let mm_popD: f32 = 0;

function mmPush(id: i32, v: f32): void {
  if (mm_k == mm_n) {
    if (v >= load<f32>(mm_dis)) return;
    if (load<i32>(mm_ids) != -1) mm_nvalid--;
    hPop(true, mm_k--, mm_dis, mm_ids);
  }
  hPush(true, mm_k++, mm_dis, mm_ids, v, id);
  mm_nvalid++;
}

/**
 * Removes and returns the valid entry of smallest distance (its distance in mm_popD); among equal
 * distances the one at the highest position, as Faiss's scan from the end picks it.
 */
function mmPopMin(): i32 {
  // smallest distance among valid entries (popped ones count as +inf), four at a time
  const inf = f32x4.splat(Infinity);
  const none = i32x4.splat(-1);
  let vm = inf;
  let i: usize = 0;
  for (; i + 4 <= mm_k; i += 4) {
    const popped = i32x4.eq(v128.load(mm_ids + (i << 2)), none);
    vm = f32x4.pmin(vm, select32(inf, v128.load(mm_dis + (i << 2)), popped));
  }
  let vmin = min(min(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), min(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  for (; i < mm_k; i++) {
    if (load<i32>(mm_ids + (i << 2)) != -1) vmin = min(vmin, load<f32>(mm_dis + (i << 2)));
  }
  // the last valid entry with that distance: the tail one by one, then four at a time backwards
  const full = mm_k & ~(<usize>3);
  let j = <isize>mm_k - 1;
  while (j >= <isize>full && (load<i32>(mm_ids + (<usize>j << 2)) == -1 || load<f32>(mm_dis + (<usize>j << 2)) != vmin)) j--;
  if (j < <isize>full) {
    const vv = f32x4.splat(vmin);
    j = -1;
    for (let b = <isize>full - 4; b >= 0; b -= 4) {
      const o = <usize>b << 2;
      const hit = v128.andnot(f32x4.eq(v128.load(mm_dis + o), vv), i32x4.eq(v128.load(mm_ids + o), none));
      const mask = i32x4.bitmask(hit);
      if (mask != 0) {
        j = b + <isize>(31 - clz<i32>(mask));
        break;
      }
    }
  }
  if (j < 0) return -1;
  mm_popD = vmin;
  const ret = load<i32>(mm_ids + (<usize>j << 2));
  store<i32>(mm_ids + (<usize>j << 2), -1);
  mm_nvalid--;
  return ret;
}

/** How many entries, popped ones included, have a distance below thresh (Faiss's count_below). */
function mmCountBelow(thresh: f32): i32 {
  const t = f32x4.splat(thresh);
  let acc = i32x4.splat(0);
  let i: usize = 0;
  for (; i + 4 <= mm_k; i += 4) acc = i32x4.sub(acc, f32x4.lt(v128.load(mm_dis + (i << 2)), t));
  let n = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < mm_k; i++) if (load<f32>(mm_dis + (i << 2)) < thresh) n++;
  return n;
}

/** Bytes of `tmp` hnsw_search needs for a beam of width ef. */
export function hnsw_search_tmp_bytes(ef: i32): usize {
  return <usize>ef << 3;
}

/**
 * The k nearest stored vectors to the query at q: greedy descent from the entry point through the
 * upper levels, then a beam search of width ef on level 0 (stopping, as Faiss, once ef processed
 * candidates are closer than the next one). Results, sorted best first and padded with
 * (FLT_MAX, -1), go to hd (k floats, distances: L2 or negated inner products) and hi (k int64).
 * tmp: hnsw_search_tmp_bytes(ef) bytes. Returns the number of distances computed on level 0.
 */
export function hnsw_search(h: usize, slot: i32, q: usize, k: i32, ef: i32, hd: usize, hi: usize, tmp: usize): i32 {
  bind(h, slot);
  const kk = <usize>k;
  for (let i: usize = 0; i < kk; i++) {
    store<f32>(hd + (i << 2), FLT_MAX);
    store<i64>(hi + (i << 3), -1);
  }
  const entry = load<i32>(h + H_ENTRY);
  let ndis = 0;
  if (entry >= 0) {
    if (g_kind != KIND_FLAT && g_kind != KIND_SPLIT) storageSetQuery(q);
    g_nearest = entry;
    g_dNearest = distTo(q, entry);
    for (let level = load<i32>(h + H_MAXLEVEL); level >= 1; level--) greedyUpdateNearest(q, level);
    vtAdvance();
    mm_n = <usize>ef;
    mm_k = 0;
    mm_nvalid = 0;
    mm_dis = tmp;
    mm_ids = tmp + (<usize>ef << 2);
    mmPush(g_nearest, g_dNearest);
    ndis = searchFromCandidates(q, kk, ef, hd, hi);
  }
  heap_reorder(true, 1, k, hd, hi);
  return ndis;
}

/** Faiss's search_from_candidates on level 0, results into the max-heap (hd, hi) of size k. */
function searchFromCandidates(q: usize, k: usize, ef: i32, hd: usize, hi: usize): i32 {
  let top = load<f32>(hd);
  for (let i: usize = 0; i < mm_k; i++) {
    const v1 = load<i32>(mm_ids + (i << 2));
    const d = load<f32>(mm_dis + (i << 2));
    if (d < top) {
      heap_replace_top(true, k, hd, hi, d, <i64>v1);
      top = load<f32>(hd);
    }
    vtSet(v1);
  }
  let ndis = 0;
  const nb = g_nb0;
  while (mm_nvalid > 0) {
    const v0 = mmPopMin();
    // Faiss's stop: ef candidates already processed are closer than the next one. With a candidate
    // heap of exactly ef entries it is never met (the popped entry, still counted, is not below
    // its own distance, so at most ef - 1 are), and Faiss's search pays the count for nothing;
    // here it is counted only for a heap larger than ef.
    if (mm_n > <usize>ef && mmCountBelow(mm_popD) >= ef) break;
    const p = linksOf(v0, 0);
    // First touch every unvisited neighbour's stored vector, so that their cache misses overlap
    // (WebAssembly has no prefetch instruction); then the distances, in the same order as Faiss.
    touchUnvisited(p, nb);
    for (let j = 0; j < nb; j++) {
      const v1 = load<i32>(p + (<usize>j << 2));
      if (v1 < 0) break;
      if (vtGet(v1)) continue;
      vtSet(v1);
      ndis++;
      const d = distTo(q, v1);
      if (d < top) {
        heap_replace_top(true, k, hd, hi, d, <i64>v1);
        top = load<f32>(hd);
      }
      mmPush(v1, d);
    }
  }
  return ndis;
}
