// Faiss's binary heaps for top-k selection, with its exact tie-breaking (cmp2 on (distance, id)).
// A heap of size k is k floats at `hd` and k int64 ids at `hi`.
// Max-heap (Faiss CMax): keeps the k smallest distances (L2); its top is the worst kept.
// Min-heap (Faiss CMin): keeps the k largest similarities (inner product).

export const FLT_MAX: f32 = 3.4028234663852886e38;

// cmp2 for CMax: (a1 > b1) || (a1 == b1 && ia > ib); for CMin the reverse.
@inline function cmp2(isMax: bool, a1: f32, b1: f32, ia: i64, ib: i64): bool {
  return isMax ? (a1 > b1 || (a1 == b1 && ia > ib)) : (a1 < b1 || (a1 == b1 && ia < ib));
}

@inline function dAt(hd: usize, i: usize): f32 { return load<f32>(hd + ((i - 1) << 2)); }
@inline function iAt(hi: usize, i: usize): i64 { return load<i64>(hi + ((i - 1) << 3)); }
@inline function setAt(hd: usize, hi: usize, i: usize, v: f32, id: i64): void {
  store<f32>(hd + ((i - 1) << 2), v);
  store<i64>(hi + ((i - 1) << 3), id);
}

/** Replaces the top of a heap of size k by (val, id) and restores the heap order. */
@inline export function heap_replace_top(isMax: bool, k: usize, hd: usize, hi: usize, val: f32, id: i64): void {
  let i: usize = 1;
  while (true) {
    const i1 = i << 1;
    const i2 = i1 + 1;
    if (i1 > k) break;
    let c = i1;
    if (i2 <= k && !cmp2(isMax, dAt(hd, i1), dAt(hd, i2), iAt(hi, i1), iAt(hi, i2))) c = i2;
    if (cmp2(isMax, val, dAt(hd, c), id, iAt(hi, c))) break;
    setAt(hd, hi, i, dAt(hd, c), iAt(hi, c));
    i = c;
  }
  setAt(hd, hi, i, val, id);
}

/** Removes the top of a heap of size k (the heap then has size k-1). */
function heap_pop(isMax: bool, k: usize, hd: usize, hi: usize): void {
  const val = dAt(hd, k);
  const id = iAt(hi, k);
  const m = k - 1;
  let i: usize = 1;
  while (true) {
    const i1 = i << 1;
    const i2 = i1 + 1;
    if (i1 > m) break;
    let c = i1;
    if (i2 <= m && !cmp2(isMax, dAt(hd, i1), dAt(hd, i2), iAt(hi, i1), iAt(hi, i2))) c = i2;
    if (cmp2(isMax, val, dAt(hd, c), id, iAt(hi, c))) break;
    setAt(hd, hi, i, dAt(hd, c), iAt(hi, c));
    i = c;
  }
  if (m > 0) setAt(hd, hi, i, val, id);
}

/** Fills n heaps of size k with the neutral element (FLT_MAX for max-heaps, -FLT_MAX for min-heaps) and id -1. */
export function heap_heapify(isMax: bool, n: i32, k: i32, hd: usize, hi: usize): void {
  const total = <usize>n * <usize>k;
  const v = isMax ? FLT_MAX : -FLT_MAX;
  for (let i: usize = 0; i < total; i++) {
    store<f32>(hd + (i << 2), v);
    store<i64>(hi + (i << 3), -1);
  }
}

/** Offers n distances dis[j] with ids idBase + j to one heap of size k. */
export function heap_addn(isMax: bool, k: i32, hd: usize, hi: usize, dis: usize, n: i32, idBase: i64): void {
  const kk = <usize>k;
  let top = load<f32>(hd);
  if (isMax) {
    for (let j = 0; j < n; j++) {
      const v = load<f32>(dis + (<usize>j << 2));
      if (v < top) {
        heap_replace_top(true, kk, hd, hi, v, idBase + j);
        top = load<f32>(hd);
      }
    }
  } else {
    for (let j = 0; j < n; j++) {
      const v = load<f32>(dis + (<usize>j << 2));
      if (v > top) {
        heap_replace_top(false, kk, hd, hi, v, idBase + j);
        top = load<f32>(hd);
      }
    }
  }
}

/** Offers n distances dis[j] with explicit int64 ids ids[j] to one heap of size k. */
export function heap_addn_ids(isMax: bool, k: i32, hd: usize, hi: usize, dis: usize, ids: usize, n: i32): void {
  const kk = <usize>k;
  let top = load<f32>(hd);
  for (let j = 0; j < n; j++) {
    const v = load<f32>(dis + (<usize>j << 2));
    if (isMax ? v < top : v > top) {
      heap_replace_top(isMax, kk, hd, hi, v, load<i64>(ids + (<usize>j << 3)));
      top = load<f32>(hd);
    }
  }
}

/** Sorts n heaps of size k in place, best first, empty slots last (Faiss's heap_reorder). */
export function heap_reorder(isMax: bool, n: i32, k: i32, hd0: usize, hi0: usize): void {
  const kk = <usize>k;
  for (let q = 0; q < n; q++) {
    const hd = hd0 + <usize>q * (kk << 2);
    const hi = hi0 + <usize>q * (kk << 3);
    let ii: usize = 0;
    for (let i: usize = 0; i < kk; i++) {
      const val = load<f32>(hd);
      const id = load<i64>(hi);
      heap_pop(isMax, kk - i, hd, hi);
      store<f32>(hd + ((kk - ii - 1) << 2), val);
      store<i64>(hi + ((kk - ii - 1) << 3), id);
      if (id != -1) ii++;
    }
    // valid results sit at [k-ii, k): move them to the front, pad the rest
    memory.copy(hd, hd + ((kk - ii) << 2), ii << 2);
    memory.copy(hi, hi + ((kk - ii) << 3), ii << 3);
    const v = isMax ? FLT_MAX : -FLT_MAX;
    for (let i = ii; i < kk; i++) {
      store<f32>(hd + (i << 2), v);
      store<i64>(hi + (i << 3), -1);
    }
  }
}
