/**
 * @module io/faiss/productQuantizer
 * The ProductQuantizer block of Faiss files (Faiss's read_ProductQuantizer / write_ProductQuantizer,
 * impl/index_read.cpp, index_write.cpp) and the PQ index bodies around it. Unchanged from Faiss 1.5
 * to 1.15:
 *
 * | field     | type          | bytes      | notes                                                     |
 * |-----------|---------------|------------|-----------------------------------------------------------|
 * | d         | size_t        | 8          | must equal the index's d                                  |
 * | M         | size_t        | 8          | 1 .. d, dividing d                                        |
 * | nbits     | size_t        | 8          | 1 .. 8 in simdex (Faiss allows more; a FormatError here)  |
 * | centroids | vector<float> | 8 + 4 n    | n = d * 2^nbits (M * ksub * dsub, Faiss's layout); 0 accepted in an untrained index |
 *
 * - "IxPq" IndexPQ: the index header, the ProductQuantizer block, the codes as a vector<uint8> of
 *   ntotal*code_size bytes, then int32 search_type (ST_PQ 0 .. ST_polysemous_generalize 5), uint8
 *   encode_signs, int32 polysemous_ht. The three search fields are kept (for writing back byte for
 *   byte, {@link pqSearchFields}); simdex always searches as ST_PQ. Read only: the older "IxPQ" (no
 *   search fields) and "IxPo" (with them), whose metric Faiss forces to L2, as simdex does.
 * - "IwPQ" IndexIVFPQ: the IVF header, uint8 by_residual, size_t code_size (equal to the PQ's), the
 *   ProductQuantizer block, then the inverted lists. Read only: the pre-1.5 "IvPQ" (legacy IVF
 *   header with the lists' ids, then one vector<uint8> of codes per list). The precomputed tables are
 *   not stored: after reading, usePrecomputedTable = 0 (simdex builds them lazily at the first
 *   search, as Faiss's read_index builds them at once), or -1 with IO_FLAG_SKIP_PRECOMPUTE_TABLE
 *   (Faiss 1.7.3 leaves its field at 0 and builds nothing: searches then use per-list tables, as
 *   simdex's -1 does). "IwQR" / "IvQR" (IndexIVFPQR) are a FormatError: not supported.
 */
import type { IndexPQ } from '../../indexes/IndexPQ.js';
import type { ProductQuantizer } from '../../quantizers/ProductQuantizer.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';

/** Faiss's IndexPQ::Search_type_t names, by number. */
export const FAISS_PQ_SEARCH_TYPE_NAMES = ['ST_PQ', 'ST_HE', 'ST_generalized_HE', 'ST_SDC', 'ST_polysemous', 'ST_polysemous_generalize'] as const;

/** A ProductQuantizer block as read and checked. */
export interface ProductQuantizerRecord {
  M: number;
  nbits: number;
  /** ceil(M * nbits / 8) */
  codeSize: number;
  /** d * 2^nbits floats, or empty (an untrained index only). */
  centroids: Float32Array;
  /** Byte offset of the block (of d). */
  offset: number;
}

/** IndexPQ's search fields as stored in "IxPq" files. */
export interface PQSearchFields {
  /** Faiss's search_type (0 ST_PQ .. 5); simdex searches as ST_PQ whatever it is. */
  searchType: number;
  encodeSigns: boolean;
  polysemousHt: number;
}

const searchFields = new WeakMap<IndexPQ, PQSearchFields>();

/**
 * The search fields writeIndex writes for `index`: those read from its file, else Faiss's defaults
 * for a new IndexPQ (ST_PQ, no sign encoding, polysemous_ht = M*nbits + 1).
 */
export function pqSearchFields(index: IndexPQ): PQSearchFields {
  return searchFields.get(index) ?? { searchType: 0, encodeSigns: false, polysemousHt: index.pq.M * index.pq.nbits + 1 };
}

/** Sets the search fields writeIndex writes for `index` (kept beside it; simdex's search ignores them). */
export function setPqSearchFields(index: IndexPQ, fields: PQSearchFields): void {
  searchFields.set(index, { ...fields });
}

/**
 * Reads and checks a ProductQuantizer block (see the module doc).
 * @param index the d and is_trained of the index it belongs to (its header)
 */
export function readProductQuantizer(r: IOReader, index: { d: number; isTrained: boolean }, typeName: string): ProductQuantizerRecord {
  const offset = r.offset;
  const d = r.readU64('ProductQuantizer d');
  if (d !== BigInt(index.d)) throw r.error(`the ProductQuantizer has d = ${d}, but ${typeName} has d = ${index.d}`, offset);
  const mAt = r.offset;
  const m = r.readU64('ProductQuantizer M');
  if (m < 1n || m > d || d % m !== 0n) throw r.error(`invalid ProductQuantizer M = ${m} (expected 1 .. d = ${d}, dividing d)`, mAt);
  const nbitsAt = r.offset;
  const nbits = r.readU64('ProductQuantizer nbits');
  if (nbits < 1n || nbits > 8n) {
    throw r.error(
      nbits > 8n && nbits <= 24n
        ? `${typeName} with ProductQuantizer nbits = ${nbits} is not supported: simdex implements nbits 1 .. 8`
        : `invalid ProductQuantizer nbits = ${nbits} (expected 1 .. 8)`,
      nbitsAt,
    );
  }
  const M = Number(m);
  const nb = Number(nbits);
  const expected = index.d * (1 << nb);
  const centroidsAt = r.offset;
  const n = r.readVectorHeader(4, 'ProductQuantizer centroids');
  if (n !== expected && !(n === 0 && !index.isTrained)) {
    throw r.error(
      `the ProductQuantizer's centroids hold ${n} floats, expected d*2^nbits = ${index.d}*${1 << nb} = ${expected}` + ' (or 0 in an index that is not trained)',
      centroidsAt,
    );
  }
  const centroids = r.readFloat32Array(n, 'ProductQuantizer centroids');
  return { M, nbits: nb, codeSize: Math.ceil((M * nb) / 8), centroids, offset };
}

/** Loads a record's centroids into `pq` (a ProductQuantizer of the record's d, M, nbits). */
export function loadProductQuantizer(pq: ProductQuantizer, rec: ProductQuantizerRecord): void {
  if (rec.centroids.length > 0) pq.centroids = rec.centroids;
}

/** Writes `pq` as Faiss's write_ProductQuantizer does. */
export function writeProductQuantizer(w: IOWriter, pq: ProductQuantizer): void {
  w.writeU64(pq.d);
  w.writeU64(pq.M);
  w.writeU64(pq.nbits);
  w.writeFloat32Vector(pq.centroids);
}

/** Bytes writeProductQuantizer writes for `pq`: 32 + 4 * d * 2^nbits. */
export function productQuantizerBytes(pq: ProductQuantizer): number {
  return 8 * 4 + 4 * pq.centroids.length;
}

/** Reads IndexPQ's search fields ("IxPq", "IxPo"), checking search_type. */
export function readPqSearchFields(r: IOReader): PQSearchFields {
  const at = r.offset;
  const searchType = r.readI32('IndexPQ search_type');
  if (searchType < 0 || searchType > 5) {
    throw r.error(`invalid IndexPQ search_type ${searchType} (expected 0 ST_PQ .. 5 ST_polysemous_generalize)`, at);
  }
  const encodeSigns = r.readBool('IndexPQ encode_signs');
  const polysemousHt = r.readI32('IndexPQ polysemous_ht');
  return { searchType, encodeSigns, polysemousHt };
}

/** Writes IndexPQ's search fields. */
export function writePqSearchFields(w: IOWriter, f: PQSearchFields): void {
  w.writeI32(f.searchType);
  w.writeBool(f.encodeSigns);
  w.writeI32(f.polysemousHt);
}
