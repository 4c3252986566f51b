/**
 * @module kernels/referenceHNSWStorage
 * Plain TypeScript versions of the distance computers of HNSW graphs over codes
 * (assembly/hnswStorage.ts: IndexHNSWSQ, IndexHNSWPQ), the test oracle of the kernels and the
 * storage of the reference search (kernels/referenceHNSW) when k or efSearch do not fit a scratch slot.
 *
 * Same float operations in the same order as the kernels (Math.fround after each), so that the
 * reference graph and results equal the kernels' bit for bit:
 *   SQ asymmetric  L2 sum (T_j - A_j c_j)^2 with T = q - B; IP -(dis0 + sum T_j c_j) with T = q * A,
 *                  dis0 = <q, B> summed in order; sums in fvec_L2sqr's order (4 accumulators of 4 lanes)
 *   SQ symmetric   L2 sum (A_j (c1_j - c2_j))^2; IP -sum (B_j + A_j c1_j)(B_j + A_j c2_j); same order
 *   PQ asymmetric  the query's look-up table (pqDistanceTableRef), M look-ups summed in order; IP negated
 *   PQ symmetric   sum over m of the symmetric table at [m][c_i,m + c_j,m * ksub], in order; IP negated
 *                  (the table: Faiss's SDC table for L2, inner products of sub-centroids for IP)
 * Distances are "smaller is better", as the graph uses them.
 */
import { pqDistanceTableRef, subCode } from './pqReference.js';
import { sqCodeSizeRef, sqComponent } from './referenceSQ.js';

const f = Math.fround;

/** A storage's distances for the reference graph. */
export interface HNSWStorageReference {
  /** The distance function of query q (at qo): stored id -> distance (smaller is better). */
  query(q: Float32Array, qo: number): (id: number) => number;
  /** Faiss's symmetric_dis between stored vectors a and b. */
  symmetric(a: number, b: number): number;
}

/** Sum of term(0 .. d-1) in the kernels' order: 16 a round into 4 x 4 lanes, a 4-wide tail, then the rest. */
export function sumInKernelOrder(d: number, term: (j: number) => number): number {
  const c = new Float64Array(16);
  let o = 0;
  for (; o + 16 <= d; o += 16) for (let r = 0; r < 16; r++) c[r] = f(c[r]! + term(o + r));
  for (; o + 4 <= d; o += 4) for (let l = 0; l < 4; l++) c[l] = f(c[l]! + term(o + l));
  const lane = (l: number): number => f(f(c[l]! + c[4 + l]!) + f(c[8 + l]! + c[12 + l]!));
  let s = f(f(f(lane(0) + lane(1)) + lane(2)) + lane(3));
  for (; o < d; o++) s = f(s + term(o));
  return s;
}

/**
 * SQ storage: codes of quantizer type qtype; tables = A then B, each d rounded up to 4 floats (as
 * ScalarQuantizer.kernelTables gives them; fp16 and 8bit_direct: A = 1, B = 0).
 */
export function sqStorageReference(qtype: number, metric: number, d: number, tables: Float32Array, codes: Uint8Array): HNSWStorageReference {
  const dp = (d + 3) & ~3;
  const cs = sqCodeSizeRef(qtype, d);
  const isL2 = metric === 1;
  const A = (j: number): number => tables[j]!;
  const B = (j: number): number => tables[dp + j]!;
  const level = (id: number, j: number): number => sqComponent(qtype, codes, id * cs, j);
  return {
    query(q, qo) {
      const T = new Float32Array(d);
      let dis0 = 0;
      for (let j = 0; j < d; j++) {
        if (isL2) {
          T[j] = f(q[qo + j]! - B(j));
        } else {
          T[j] = f(q[qo + j]! * A(j));
          dis0 = f(dis0 + f(q[qo + j]! * B(j)));
        }
      }
      return (id) => {
        const s = sumInKernelOrder(d, (j) => {
          const v = level(id, j);
          if (isL2) {
            const t = f(T[j]! - f(A(j) * v));
            return f(t * t);
          }
          return f(T[j]! * v);
        });
        return isL2 ? s : -f(dis0 + s);
      };
    },
    symmetric(a, b) {
      const s = sumInKernelOrder(d, (j) => {
        const v1 = level(a, j);
        const v2 = level(b, j);
        if (isL2) {
          const t = f(A(j) * f(v1 - v2));
          return f(t * t);
        }
        return f(f(B(j) + f(A(j) * v1)) * f(B(j) + f(A(j) * v2)));
      });
      return isL2 ? s : -s;
    },
  };
}

/**
 * PQ storage: M sub-quantizers of nbits bits; centroids in Faiss's layout ((m*ksub + j)*dsub); sdc:
 * the symmetric table, M*ksub*ksub floats (L2: ProductQuantizer.computeSdcTable; IP: inner products).
 */
export function pqStorageReference(metric: number, d: number, M: number, nbits: number, centroids: Float32Array, sdc: Float32Array, codes: Uint8Array): HNSWStorageReference {
  const ksub = 1 << nbits;
  const dsub = d / M;
  const cs = Math.ceil((M * nbits) / 8);
  const isL2 = metric === 1;
  return {
    query(q, qo) {
      const table = pqDistanceTableRef(isL2 ? 'L2' : 'IP', q, qo, centroids, M, ksub, dsub);
      return (id) => {
        let s = 0;
        for (let m = 0; m < M; m++) s = f(s + table[m * ksub + subCode(codes, id * cs, m, nbits)]!);
        return isL2 ? s : -s;
      };
    },
    symmetric(a, b) {
      let s = 0;
      for (let m = 0; m < M; m++) {
        const ca = subCode(codes, a * cs, m, nbits);
        const cb = subCode(codes, b * cs, m, nbits);
        s = f(s + sdc[m * ksub * ksub + ca + cb * ksub]!);
      }
      return isL2 ? s : -s;
    },
  };
}
