/**
 * @module kernels/reference
 * Plain TypeScript versions of every WASM kernel: the test oracle, and the fallback for the rare
 * calls the WASM scratch cannot hold (very large k). Same semantics as Faiss, including the heaps'
 * tie-breaking on ids, so that results can be compared label for label.
 */
import { FLT_MAX } from '../Index.js';

export function fvecL2sqr(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = a[ao + j]! - b[bo + j]!;
    s += t * t;
  }
  return s;
}

export function fvecInnerProduct(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[ao + j]! * b[bo + j]!;
  return s;
}

/** out[i] = ||x_i||^2; out: size n. */
export function fvecNormsL2sqr(x: Float32Array, d: number, n: number, out = new Float32Array(n)): Float32Array {
  for (let i = 0; i < n; i++) out[i] = fvecInnerProduct(x, i * d, x, i * d, d);
  return out;
}

/** out[j] = ||q - y_j||^2; out: size ny. */
export function fvecL2sqrNy(q: Float32Array, y: Float32Array, d: number, ny: number, out = new Float32Array(ny)): Float32Array {
  for (let j = 0; j < ny; j++) out[j] = fvecL2sqr(q, 0, y, j * d, d);
  return out;
}

/** out[j] = <q, y_j>; out: size ny. */
export function fvecInnerProductsNy(q: Float32Array, y: Float32Array, d: number, ny: number, out = new Float32Array(ny)): Float32Array {
  for (let j = 0; j < ny; j++) out[j] = fvecInnerProduct(q, 0, y, j * d, d);
  return out;
}

/** out[i*ny + j] = <Q_i, Y_j>; out: size nq*ny. */
export function innerProductsBlock(Q: Float32Array, nq: number, Y: Float32Array, ny: number, d: number): Float32Array {
  const out = new Float32Array(nq * ny);
  for (let i = 0; i < nq; i++) for (let j = 0; j < ny; j++) out[i * ny + j] = fvecInnerProduct(Q, i * d, Y, j * d, d);
  return out;
}

/** Normalises each vector to unit L2 norm, in place (zero vectors unchanged). */
export function fvecRenormL2(x: Float32Array, d: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const nr = fvecInnerProduct(x, i * d, x, i * d, d);
    if (nr > 0) {
      const inv = 1 / Math.sqrt(nr);
      for (let j = 0; j < d; j++) x[i * d + j]! *= inv;
    }
  }
}

/** Reference of residuals_n: x_i -= c_{keys[i]} in place, x_i = 0 where keys[i] < 0. */
export function residualsN(x: Float32Array, n: number, d: number, c: Float32Array, keys: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    for (let j = 0; j < d; j++) x[i * d + j] = key < 0 ? 0 : x[i * d + j]! - c[key * d + j]!;
  }
}

/** Reference of fvec_first_nonfinite: the position of the first NaN or infinity, or -1. */
export function fvecFirstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

// ---- heaps (Faiss CMax / CMin) -------------------------------------------------------------

function cmp2(isMax: boolean, a1: number, b1: number, ia: bigint, ib: bigint): boolean {
  return isMax ? a1 > b1 || (a1 === b1 && ia > ib) : a1 < b1 || (a1 === b1 && ia < ib);
}

/** A top-k heap over (distance, id): max-heap for L2 (keeps smallest), min-heap for IP. */
export class Heap {
  readonly dis: Float32Array;
  readonly ids: BigInt64Array;
  constructor(
    readonly k: number,
    readonly isMax: boolean,
  ) {
    this.dis = new Float32Array(k).fill(isMax ? FLT_MAX : -FLT_MAX);
    this.ids = new BigInt64Array(k).fill(-1n);
  }

  /** Offers one candidate (replaces the top if strictly better, as Faiss does). */
  push(v: number, id: bigint): void {
    const top = this.dis[0]!;
    if (this.isMax ? v < top : v > top) this.replaceTop(v, id);
  }

  replaceTop(val: number, id: bigint): void {
    const { dis, ids, k, isMax } = this;
    let i = 1;
    for (;;) {
      const i1 = i << 1;
      const i2 = i1 + 1;
      if (i1 > k) break;
      let c = i1;
      if (i2 <= k && !cmp2(isMax, dis[i1 - 1]!, dis[i2 - 1]!, ids[i1 - 1]!, ids[i2 - 1]!)) c = i2;
      if (cmp2(isMax, val, dis[c - 1]!, id, ids[c - 1]!)) break;
      dis[i - 1] = dis[c - 1]!;
      ids[i - 1] = ids[c - 1]!;
      i = c;
    }
    dis[i - 1] = val;
    ids[i - 1] = id;
  }

  /** The results best first, empty slots (-1) last; consumes the heap. */
  reorder(): { dis: Float32Array; ids: BigInt64Array } {
    const { k, isMax } = this;
    const d = this.dis;
    const ids = this.ids;
    const n = ids.filter((x) => x !== -1n).length;
    const order = Array.from({ length: k }, (_, i) => i).filter((i) => ids[i] !== -1n);
    // best first: ascending (distance, id) for L2, descending for IP
    order.sort((a, b) => (cmp2(isMax, d[a]!, d[b]!, ids[a]!, ids[b]!) ? 1 : -1));
    const outD = new Float32Array(k).fill(isMax ? FLT_MAX : -FLT_MAX);
    const outI = new BigInt64Array(k).fill(-1n);
    for (let r = 0; r < n; r++) {
      outD[r] = d[order[r]!]!;
      outI[r] = ids[order[r]!]!;
    }
    return { dis: outD, ids: outI };
  }
}

/** Exact k-NN of nq queries against ny vectors (direct distances): the reference of knn_1q / knn_batch. */
export function knnExact(
  metric: 'L2' | 'IP',
  q: Float32Array,
  nq: number,
  y: Float32Array,
  ny: number,
  d: number,
  k: number,
): { distances: Float32Array; labels: BigInt64Array } {
  const distances = new Float32Array(nq * k);
  const labels = new BigInt64Array(nq * k);
  for (let i = 0; i < nq; i++) {
    const h = new Heap(k, metric === 'L2');
    for (let j = 0; j < ny; j++) {
      const v = metric === 'L2' ? fvecL2sqr(q, i * d, y, j * d, d) : fvecInnerProduct(q, i * d, y, j * d, d);
      h.push(v, BigInt(j));
    }
    const r = h.reorder();
    distances.set(r.dis, i * k);
    labels.set(r.ids, i * k);
  }
  return { distances, labels };
}
