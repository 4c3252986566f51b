/**
 * @module quantizers/pq4FastScan
 * The packed layout of 4-bit PQ codes that FastScan scans with SIMD table look-ups (Faiss's
 * impl/pq4_fast_scan.cpp: pq4_pack_codes, pq4_pack_codes_range, pq4_get_packed_element,
 * pq4_set_packed_element), byte for byte as Faiss 1.7.3 lays it out in memory and in its files.
 *
 * Input: ordinary PQ codes of M sub-codes of 4 bits (ProductQuantizer with nbits = 4), ceil(M/2)
 * bytes each, sub-code 2p in the low nibble of byte p and 2p+1 in its high nibble. M is rounded up to
 * M2 (even); an odd M's last high nibble is zero.
 *
 * Output: vectors in blocks of bbs (a multiple of 32), each block bbs*M2/2 bytes, the last one padded
 * with zero codes. Inside a block, for each pair of sub-quantizers (2p, 2p+1), for each group of 32
 * vectors, 32 bytes: bytes 0..15 hold sub-quantizer 2p, bytes 16..31 sub-quantizer 2p+1; byte j of a
 * half holds vector PERM0[j] in its low nibble and vector PERM0[j]+16 in its high nibble, with
 * PERM0 = 0 8 1 9 2 10 3 11 4 12 5 13 6 14 7 15. So one 16-byte load gives the sub-codes of 32
 * vectors, and a byte shuffle of the 16-entry table by the low (high) nibbles gives the table values
 * of vectors 0..15 (16..31), ordered so that, read as eight 16-bit lanes, lane i holds vectors i and
 * i+8 (the kernel's accumulation trick, assembly/pq4.ts).
 *
 * Address of vector v, sub-quantizer sq: block b = v / bbs, w = v % bbs, byte
 * b*bbs*M2/2 + (sq>>1)*bbs + (w>>5)*32 + (sq&1)*16 + pos(w & 15), high nibble when (w & 31) >= 16,
 * pos(u) = 2u for u < 8, 2(u-8)+1 otherwise. (Faiss's pq4_get_packed_element leaves out the
 * (w>>5)*32 term, so with bbs > 32 it reads vectors 32..63 of a block at the places of 16..31: Faiss's
 * reconstruct of those vectors is wrong; simdex follows pq4_pack_codes, which defines the layout.)
 */

/** Faiss's perm0: the vector whose sub-code sits in (the low nibble of) byte j of a 16-byte half. */
export const PQ4_PERM0: readonly number[] = [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15];

/** Bytes of one packed block of bbs vectors with M2 sub-quantizers: bbs * M2 / 2. */
export function pq4BlockBytes(bbs: number, M2: number): number {
  return (bbs * M2) / 2;
}

/** n rounded up to a multiple of bbs (Faiss's ntotal2). */
export function roundUp(n: number, bbs: number): number {
  return Math.ceil(n / bbs) * bbs;
}

/**
 * Packs the codes of vectors [i0, i1) into `blocks` (Faiss's pq4_pack_codes_range): the nibbles are
 * OR-ed into place, so the bytes they land on must be zero (fresh blocks, or the unused tail of the
 * last block). `codes` holds the i1 - i0 codes of ceil(M/2) bytes, from its start.
 * @param blocks at least ceil(i1 / bbs) blocks of bbs*M2/2 bytes
 */
export function pq4PackCodesRange(codes: Uint8Array, M: number, i0: number, i1: number, bbs: number, M2: number, blocks: Uint8Array): void {
  const cs = (M + 1) >> 1;
  const blockBytes = pq4BlockBytes(bbs, M2);
  const c = new Uint8Array(32);
  for (let v0 = i0 - (i0 % 32); v0 < i1; v0 += 32) {
    const b = Math.floor(v0 / bbs);
    const g = (v0 % bbs) >> 5;
    for (let p = 0; p < cs; p++) {
      for (let j = 0; j < 32; j++) {
        const v = v0 + j;
        c[j] = v >= i0 && v < i1 ? codes[(v - i0) * cs + p]! : 0;
      }
      const o = b * blockBytes + p * bbs + g * 32;
      for (let j = 0; j < 16; j++) {
        const lo = c[PQ4_PERM0[j]!]!;
        const hi = c[PQ4_PERM0[j]! + 16]!;
        blocks[o + j]! |= (lo & 15) | ((hi & 15) << 4);
        blocks[o + j + 16]! |= (lo >> 4) | (hi & 0xf0);
      }
    }
  }
}

/**
 * Packs ntotal codes into nb (ntotal rounded up to bbs) vectors of blocks (Faiss's pq4_pack_codes).
 * @returns the blocks, nb*M2/2 bytes, padding codes zero
 */
export function pq4PackCodes(codes: Uint8Array, ntotal: number, M: number, nb: number, bbs: number, M2: number, blocks = new Uint8Array((nb * M2) / 2)): Uint8Array {
  blocks.fill(0, 0, (nb * M2) / 2);
  pq4PackCodesRange(codes, M, 0, ntotal, bbs, M2, blocks);
  return blocks;
}

/** Byte offset of vector v's sub-quantizer sq in packed data (its nibble: see pq4IsHighNibble). */
export function pq4PackedOffset(bbs: number, M2: number, v: number, sq: number): number {
  const b = Math.floor(v / bbs);
  const w = v % bbs;
  const u = w & 15;
  const pos = u < 8 ? u << 1 : ((u - 8) << 1) + 1;
  return b * ((bbs * M2) / 2) + (sq >> 1) * bbs + (w >> 5) * 32 + (sq & 1) * 16 + pos;
}

/** True when vector v's sub-codes are the high nibbles of their bytes (v % 32 >= 16). */
export function pq4IsHighNibble(bbs: number, v: number): boolean {
  return ((v % bbs) & 31) >= 16;
}

/** Sub-code sq of vector v in packed data (Faiss's pq4_get_packed_element, correct for every bbs). */
export function pq4GetPackedElement(data: Uint8Array, bbs: number, M2: number, v: number, sq: number): number {
  const byte = data[pq4PackedOffset(bbs, M2, v, sq)]!;
  return pq4IsHighNibble(bbs, v) ? byte >> 4 : byte & 15;
}

/** Sets sub-code sq of vector v in packed data to code (0..15) (Faiss's pq4_set_packed_element). */
export function pq4SetPackedElement(data: Uint8Array, code: number, bbs: number, M2: number, v: number, sq: number): void {
  const o = pq4PackedOffset(bbs, M2, v, sq);
  data[o] = pq4IsHighNibble(bbs, v) ? ((code & 15) << 4) | (data[o]! & 15) : (code & 15) | (data[o]! & 0xf0);
}

/**
 * The ordinary PQ codes (ceil(M/2) bytes each) of packed vectors [i0, i0 + n): the inverse of
 * pq4PackCodesRange, for reconstruction, removal and merging.
 */
export function pq4UnpackCodes(data: Uint8Array, bbs: number, M: number, M2: number, i0: number, n: number, out = new Uint8Array(n * ((M + 1) >> 1))): Uint8Array {
  const cs = (M + 1) >> 1;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < cs; p++) {
      const lo = pq4GetPackedElement(data, bbs, M2, i0 + i, 2 * p);
      const hi = 2 * p + 1 < M ? pq4GetPackedElement(data, bbs, M2, i0 + i, 2 * p + 1) : 0;
      out[i * cs + p] = lo | (hi << 4);
    }
  }
  return out;
}
