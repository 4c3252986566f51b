/**
 * @module kernels/referenceSQ
 * Plain TypeScript versions of the scalar quantizer kernels (assembly/sq.ts): the test oracle.
 * Same tables and formulas (component j of code c is B_j + A_j * c, in float32 as sq_decode
 * computes it); distances are then summed in double precision.
 */
import { Heap } from './reference.js';

/** Bytes per code of Faiss's quantizer type qtype (0..6). */
export function sqCodeSizeRef(qtype: number, d: number): number {
  if (qtype === 1 || qtype === 3) return (d + 1) >> 1;
  if (qtype === 6) return (d * 6 + 7) >> 3;
  if (qtype === 4) return 2 * d;
  return d;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half to float. */
export function halfToFloat(h: number): number {
  const em = h & 0x7fff;
  let bits: number;
  if (em >= 0x7c00) bits = (em << 13) | 0x7f800000;
  else {
    u32[0] = em << 13;
    f32[0] = f32[0]! * 2 ** 112;
    bits = u32[0]!;
  }
  u32[0] = (bits | ((h & 0x8000) << 16)) >>> 0;
  return f32[0]!;
}

/** Component j of the code at codes[co..]: its integer value (4/6/8 bits) or its float (fp16). */
export function sqComponent(qtype: number, codes: Uint8Array, co: number, j: number): number {
  switch (qtype) {
    case 1:
    case 3:
      return (codes[co + (j >> 1)]! >> ((j & 1) << 2)) & 15;
    case 4:
      return halfToFloat(codes[co + 2 * j]! | (codes[co + 2 * j + 1]! << 8));
    case 6: {
      const g = co + (j >> 2) * 3;
      const w = codes[g]! | ((codes[g + 1] ?? 0) << 8) | ((codes[g + 2] ?? 0) << 16);
      return (w >> (6 * (j & 3))) & 63;
    }
    default:
      return codes[co + j]!;
  }
}

/** The reconstruction B + A*c of n codes (tables: A then B, each padded to a multiple of 4). */
export function sqDecodeRef(qtype: number, tables: Float32Array, d: number, codes: Uint8Array, n: number): Float32Array {
  const dp = (d + 3) & ~3;
  const cs = sqCodeSizeRef(qtype, d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = sqComponent(qtype, codes, i * cs, j);
      out[i * d + j] = qtype === 4 ? v : Math.fround(tables[dp + j]! + Math.fround(tables[j]! * v));
    }
  }
  return out;
}

/**
 * Distances of query q (minus centroid c for L2, plus <q, c> for IP, when c is given) to n codes:
 * L2 squared distances or inner products with the reconstructions B + A*c.
 */
export function sqDistancesRef(
  qtype: number, metric: 'L2' | 'IP', tables: Float32Array, d: number, q: Float32Array, c: Float32Array | undefined,
  codes: Uint8Array, n: number,
): Float32Array {
  const x = sqDecodeRef(qtype, tables, d, codes, n);
  const out = new Float32Array(n);
  let qc = 0;
  if (c && metric === 'IP') for (let j = 0; j < d; j++) qc += q[j]! * c[j]!;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const xj = x[i * d + j]!;
      if (metric === 'L2') {
        const t = q[j]! - (c ? c[j]! : 0) - xj;
        s += t * t;
      } else {
        s += q[j]! * xj;
      }
    }
    out[i] = s + qc;
  }
  return out;
}

/** The k best codes for query q (heap semantics of the kernels; ids idBase + i or ids[i]). */
export function sqKnnRef(
  qtype: number, metric: 'L2' | 'IP', tables: Float32Array, d: number, q: Float32Array, c: Float32Array | undefined,
  codes: Uint8Array, n: number, k: number, ids?: BigInt64Array, idBase = 0n,
): { dis: Float32Array; ids: BigInt64Array } {
  const dis = sqDistancesRef(qtype, metric, tables, d, q, c, codes, n);
  const h = new Heap(k, metric === 'L2');
  for (let i = 0; i < n; i++) h.push(dis[i]!, ids ? ids[i]! : idBase + BigInt(i));
  return h.reorder();
}
