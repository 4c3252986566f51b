/**
 * @module kernels/pq4Reference
 * Plain TypeScript version of the FastScan kernel (assembly/pq4.ts): the test oracle. Each vector's
 * sub-codes are read one by one from the packed layout (quantizers/pq4FastScan), its 16-bit distance
 * is the plain sum of its table entries (plus the bias) modulo 2^16, and candidates go, in vector
 * order, through Faiss's heap rule (strictly better than the top; ties broken on ids) with Faiss's
 * uint16 neutral element (65535 for L2, 0 for inner product).
 */
import { pq4GetPackedElement } from '../quantizers/pq4FastScan.js';
import { Heap } from './reference.js';

/** 16-bit distance of packed vector v: sum over sq < M2 of lut[lo + sq*16 + code] (+ bias), mod 2^16. */
export function pq4DistanceRef(codes: Uint8Array, bbs: number, M2: number, v: number, lut: Uint8Array, lo = 0, bias = 0): number {
  let s = bias;
  for (let sq = 0; sq < M2; sq++) s += lut[lo + sq * 16 + pq4GetPackedElement(codes, bbs, M2, v, sq)]!;
  return s & 0xffff;
}

/** A heap of size k initialised with Faiss's uint16 neutral element, as pq4_heapify does. */
export function pq4HeapRef(k: number, isMax: boolean): Heap {
  const h = new Heap(k, isMax);
  h.dis.fill(isMax ? 65535 : 0);
  return h;
}

/**
 * Offers the n packed vectors to `heap` in order (as pq4_scan with one query): vector j has id
 * ids[j] when ids are given, else idBase + j.
 */
export function pq4ScanRef(codes: Uint8Array, n: number, bbs: number, M2: number, lut: Uint8Array, lo: number, bias: number, heap: Heap, ids?: BigInt64Array, idBase = 0n): void {
  for (let j = 0; j < n; j++) heap.push(pq4DistanceRef(codes, bbs, M2, j, lut, lo, bias), ids !== undefined ? ids[j]! : idBase + BigInt(j));
}
