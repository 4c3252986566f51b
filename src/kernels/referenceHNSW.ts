/**
 * @module kernels/referenceHNSW
 * Plain TypeScript versions of the HNSW kernels (assembly/hnsw.ts), over Faiss's own arrays
 * (levels, offsets, neighbors, cum_nneighbor_per_level): the test oracle of the WebAssembly search
 * and insertion, and the fallback for searches whose k or efSearch do not fit a scratch slot.
 *
 * Distances are summed in the order of the WASM SIMD kernels (fvec_L2sqr / fvec_inner_product: four
 * accumulators of four lanes, 16 floats a step), rounded to float32 at each step, so that the
 * reference takes the same decisions as the kernels and results compare label for label.
 * As in the kernels, the graph works on "smaller is better" distances: squared L2 or the negated
 * inner product. A graph over SQ / PQ codes takes its distances from kernels/referenceHNSWStorage.
 */
import { Heap } from './reference.js';
import type { HNSWStorageReference } from './referenceHNSWStorage.js';

const f = Math.fround;

/** ||a - b||^2 summed as assembly/distances.ts's fvec_L2sqr. */
export function l2sqrWasmOrder(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  return sumWasmOrder(a, ao, b, bo, d, true);
}

/** <a, b> summed as assembly/distances.ts's fvec_inner_product. */
export function innerProductWasmOrder(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  return sumWasmOrder(a, ao, b, bo, d, false);
}

function sumWasmOrder(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number, l2: boolean): number {
  const term = (j: number): number => {
    if (l2) {
      const t = f(a[ao + j]! - b[bo + j]!);
      return f(t * t);
    }
    return f(a[ao + j]! * b[bo + j]!);
  };
  const c = new Float64Array(16); // 4 accumulators x 4 lanes, float32 values
  let o = 0;
  for (; o + 16 <= d; o += 16) for (let r = 0; r < 16; r++) c[r] = f(c[r]! + term(o + r));
  for (; o + 4 <= d; o += 4) for (let l = 0; l < 4; l++) c[l] = f(c[l]! + term(o + l));
  const lane = (l: number): number => f(f(c[l]! + c[4 + l]!) + f(c[8 + l]! + c[12 + l]!));
  let s = f(f(f(lane(0) + lane(1)) + lane(2)) + lane(3));
  for (; o < d; o++) s = f(s + term(o));
  return s;
}

/** An HNSW graph in Faiss's layout, with its vectors. */
export interface HNSWGraphArrays {
  d: number;
  /** 1 = L2, 0 = inner product */
  metric: number;
  /** Faiss's cum_nneighbor_per_level: [0, 2M, 3M, ...] */
  cumNneighborPerLevel: ArrayLike<number>;
  /** number of levels of each node (>= 1), size ntotal */
  levels: Int32Array;
  /** start of each node's lists in `neighbors`, size ntotal + 1 */
  offsets: ArrayLike<number>;
  /** all lists, -1 padded */
  neighbors: Int32Array;
  entryPoint: number;
  maxLevel: number;
  /**
   * ntotal * d floats: the stored vectors (flat storage), or with `storage` the vectors the codes
   * were encoded from, the queries of their insertions (hnswAddReference only; may be empty for search)
   */
  vectors: Float32Array;
  /** SQ / PQ storage: its distances (absent: flat float vectors) */
  storage?: HNSWStorageReference;
}

class Graph {
  constructor(readonly g: HNSWGraphArrays) {}

  /** [begin, end) of the list of `node` on `level` in g.neighbors (Faiss's neighbor_range). */
  range(node: number, level: number): [number, number] {
    const o = this.g.offsets[node]!;
    return [o + this.g.cumNneighborPerLevel[level]!, o + this.g.cumNneighborPerLevel[level + 1]!];
  }

  /** The distances from query q (at qo) to stored vectors (smaller is better). */
  query(q: Float32Array, qo: number): (id: number) => number {
    const { d, vectors, metric, storage } = this.g;
    if (storage !== undefined) return storage.query(q, qo);
    return (id) => (metric === 1 ? l2sqrWasmOrder(q, qo, vectors, id * d, d) : -innerProductWasmOrder(q, qo, vectors, id * d, d));
  }

  /** Distance between stored vectors a and b (Faiss's symmetric_dis). */
  symmetric(a: number, b: number): number {
    const { d, vectors, metric, storage } = this.g;
    if (storage !== undefined) return storage.symmetric(a, b);
    return metric === 1 ? l2sqrWasmOrder(vectors, a * d, vectors, b * d, d) : -innerProductWasmOrder(vectors, a * d, vectors, b * d, d);
  }

  /** Greedy descent on `level` (Faiss's greedy_update_nearest). */
  greedy(dist: (id: number) => number, level: number, nearest: number, dNearest: number): [number, number] {
    for (;;) {
      const prev = nearest;
      const [b, e] = this.range(prev, level);
      for (let j = b; j < e; j++) {
        const v = this.g.neighbors[j]!;
        if (v < 0) break;
        const dis = dist(v);
        if (dis < dNearest) {
          nearest = v;
          dNearest = dis;
        }
      }
      if (nearest === prev) return [nearest, dNearest];
    }
  }
}

// (d, id) pairs with the kernels' tie-breaking: `above` says which goes nearer the top of a heap.
function above(isMax: boolean, a: number, b: number, ia: number, ib: number): boolean {
  return isMax ? a > b || (a === b && ia > ib) : a < b || (a === b && ia < ib);
}

/** A binary heap of (distance, id) laid out as the kernels' (0-based), so that ties resolve alike. */
class PairHeap {
  dis: number[] = [];
  ids: number[] = [];
  constructor(readonly isMax: boolean) {}
  get size(): number {
    return this.dis.length;
  }
  push(v: number, id: number): void {
    let i = this.dis.length;
    this.dis.push(v);
    this.ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!above(this.isMax, v, this.dis[p]!, id, this.ids[p]!)) break;
      this.dis[i] = this.dis[p]!;
      this.ids[i] = this.ids[p]!;
      i = p;
    }
    this.dis[i] = v;
    this.ids[i] = id;
  }
  siftDown(n: number, v: number, id: number): void {
    let i = 0;
    for (;;) {
      const c1 = 2 * i + 1;
      if (c1 >= n) break;
      let c = c1;
      if (c1 + 1 < n && above(this.isMax, this.dis[c1 + 1]!, this.dis[c1]!, this.ids[c1 + 1]!, this.ids[c1]!)) c = c1 + 1;
      if (!above(this.isMax, this.dis[c]!, v, this.ids[c]!, id)) break;
      this.dis[i] = this.dis[c]!;
      this.ids[i] = this.ids[c]!;
      i = c;
    }
    this.dis[i] = v;
    this.ids[i] = id;
  }
  pop(): void {
    const n = this.dis.length;
    const v = this.dis[n - 1]!;
    const id = this.ids[n - 1]!;
    this.dis.pop();
    this.ids.pop();
    if (n > 1) this.siftDown(n - 1, v, id);
  }
  replaceTop(v: number, id: number): void {
    this.siftDown(this.dis.length, v, id);
  }
}

/**
 * The k nearest neighbours of one query (q at qo) as hnsw_search finds them: greedy descent, then
 * the level-0 beam of width ef with Faiss's MinimaxHeap and stopping rule. Distances are returned
 * as the user sees them (inner products positive), padded like Faiss.
 * faiss173: search as Faiss 1.7.3 does, whose MinimaxHeap::push also counts an evicted candidate
 * that was already expanded as a valid one gone, so that its search can stop before the candidates
 * run out (fixed in Faiss by PR #2771, April 2023); the oracle for Faiss 1.7.3's own results.
 */
export function hnswSearchReference(g: HNSWGraphArrays, q: Float32Array, qo: number, k: number, ef: number, faiss173 = false): { distances: Float32Array; labels: BigInt64Array } {
  const graph = new Graph(g);
  const res = new Heap(k, true);
  if (g.entryPoint >= 0) {
    const dist = graph.query(q, qo);
    let [nearest, dNearest] = [g.entryPoint, dist(g.entryPoint)];
    for (let level = g.maxLevel; level >= 1; level--) [nearest, dNearest] = graph.greedy(dist, level, nearest, dNearest);
    const visited = new Uint8Array(g.levels.length);
    // Faiss's MinimaxHeap: a max-heap of capacity ef; popped entries stay with id -1
    const mm = new PairHeap(true);
    let nvalid = 0;
    const mmPush = (id: number, v: number): void => {
      if (mm.size === ef) {
        if (v >= mm.dis[0]!) return;
        if (mm.ids[0] !== -1 || faiss173) nvalid--;
        mm.pop();
      }
      mm.push(v, id);
      nvalid++;
    };
    mmPush(nearest, dNearest);
    for (let i = 0; i < mm.size; i++) {
      res.push(mm.dis[i]!, BigInt(mm.ids[i]!));
      visited[mm.ids[i]!] = 1;
    }
    while (nvalid > 0) {
      let i = mm.size - 1;
      while (i >= 0 && mm.ids[i] === -1) i--;
      let imin = i;
      let vmin = mm.dis[i]!;
      for (i--; i >= 0; i--) {
        if (mm.ids[i] !== -1 && mm.dis[i]! < vmin) {
          vmin = mm.dis[i]!;
          imin = i;
        }
      }
      const v0 = mm.ids[imin]!;
      mm.ids[imin] = -1;
      nvalid--;
      let below = 0;
      for (let j = 0; j < mm.size; j++) if (mm.dis[j]! < vmin) below++;
      if (below >= ef) break;
      const [b, e] = graph.range(v0, 0);
      for (let j = b; j < e; j++) {
        const v1 = g.neighbors[j]!;
        if (v1 < 0) break;
        if (visited[v1]) continue;
        visited[v1] = 1;
        const dis = dist(v1);
        res.push(dis, BigInt(v1));
        mmPush(v1, dis);
      }
    }
  }
  const r = res.reorder();
  if (g.metric !== 1) for (let j = 0; j < k; j++) r.dis[j] = -r.dis[j]!;
  return { distances: r.dis, labels: r.ids };
}

/**
 * Inserts the nodes of `order` into the graph g (in place) as hnsw_add does on one thread: g's
 * levels, offsets and vectors are set for every node, its neighbors are -1 for the new ones.
 * efConstruction: the beam width of the insertion searches.
 */
export function hnswAddReference(g: HNSWGraphArrays, order: ArrayLike<number>, efConstruction: number): void {
  const graph = new Graph(g);
  const { d, vectors, neighbors } = g;
  const symDist = (a: number, b: number): number => graph.symmetric(a, b);
  const nbOf = (level: number): number => g.cumNneighborPerLevel[level + 1]! - g.cumNneighborPerLevel[level]!;
  let visited = new Uint8Array(g.levels.length);

  /** Sorted ascending on (d, id), the kept ones first (Faiss's shrink_neighbor_list). */
  const shrink = (cands: [number, number][], maxSize: number): [number, number][] => {
    cands.sort((x, y) => (above(true, x[0], y[0], x[1], y[1]) ? 1 : -1));
    if (cands.length < maxSize) return cands;
    const out: [number, number][] = [];
    for (const [d1, v1] of cands) {
      if (out.every(([, v2]) => !(symDist(v2, v1) < d1))) {
        out.push([d1, v1]);
        if (out.length >= maxSize) break;
      }
    }
    return out;
  };

  const addLink = (src: number, dest: number, level: number): void => {
    if (src === dest) return;
    const [b, e] = graph.range(src, level);
    if (neighbors[e - 1] === -1) {
      let i = e;
      while (i > b && neighbors[i - 1] === -1) i--;
      neighbors[i] = dest;
      return;
    }
    const cands: [number, number][] = [[symDist(src, dest), dest]];
    for (let i = b; i < e; i++) cands.push([symDist(src, neighbors[i]!), neighbors[i]!]);
    const kept = shrink(cands, e - b);
    let i = b;
    for (let j = kept.length - 1; j >= 0; j--) neighbors[i++] = kept[j]![1];
    while (i < e) neighbors[i++] = -1;
  };

  const searchNeighborsToAdd = (dist: (id: number) => number, pt: number, entry: number, dEntry: number, level: number): [number, number][] => {
    visited = new Uint8Array(g.levels.length);
    visited[pt] = 1;
    const cand = new PairHeap(false);
    const res = new PairHeap(true);
    cand.push(dEntry, entry);
    res.push(dEntry, entry);
    visited[entry] = 1;
    while (cand.size > 0) {
      if (cand.dis[0]! > res.dis[0]!) break;
      const c = cand.ids[0]!;
      cand.pop();
      const [b, e] = graph.range(c, level);
      for (let j = b; j < e; j++) {
        const v = neighbors[j]!;
        if (v < 0) break;
        if (visited[v]) continue;
        visited[v] = 1;
        const dis = dist(v);
        if (res.size < efConstruction || res.dis[0]! > dis) {
          if (res.size < efConstruction) res.push(dis, v);
          else res.replaceTop(dis, v);
          cand.push(dis, v);
        }
      }
    }
    return res.dis.map((x, i) => [x, res.ids[i]!]);
  };

  for (let t = 0; t < order.length; t++) {
    const pt = order[t]!;
    const ptLevel = g.levels[pt]! - 1;
    if (g.entryPoint < 0) {
      g.entryPoint = pt;
      g.maxLevel = ptLevel;
      continue;
    }
    const dist = graph.query(vectors, pt * d);
    let [nearest, dNearest] = [g.entryPoint, dist(g.entryPoint)];
    let level = g.maxLevel;
    for (; level > ptLevel; level--) [nearest, dNearest] = graph.greedy(dist, level, nearest, dNearest);
    for (; level >= 0; level--) {
      const sel = shrink(searchNeighborsToAdd(dist, pt, nearest, dNearest, level), nbOf(level));
      for (let j = sel.length - 1; j >= 0; j--) addLink(pt, sel[j]![1], level);
      for (let j = sel.length - 1; j >= 0; j--) addLink(sel[j]![1], pt, level);
    }
    if (ptLevel > g.maxLevel) {
      g.maxLevel = ptLevel;
      g.entryPoint = pt;
    }
  }
}
