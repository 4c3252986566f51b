/**
 * @module io/faiss/readIndex
 * Reading Faiss index files (Faiss's `read_index` / `deserialize_index`, impl/index_read.cpp).
 *
 * A Faiss file is one index, written as a fourcc naming its class followed by the class's fields;
 * an index that contains other indexes (IndexIDMap's sub-index, later IVF's quantizer, HNSW's
 * storage) writes them inline, each with its own fourcc. Almost every class starts its fields with
 * the common header ({@link readIndexHeader}):
 *
 * | field        | type    | bytes | notes                                                       |
 * |--------------|---------|-------|-------------------------------------------------------------|
 * | d            | int32   | 4     | dimension; 1 .. 2^20 accepted (Faiss >= 1.14 checks 0 .. 2^20) |
 * | ntotal       | int64   | 8     | number of vectors, >= 0                                     |
 * | dummy        | int64   | 8     | always 1 << 20 when written; ignored when read              |
 * | dummy        | int64   | 8     | same                                                        |
 * | is_trained   | bool    | 1     | 0 or 1                                                      |
 * | metric_type  | int32   | 4     | INNER_PRODUCT 0, L2 1, L1 2, Linf 3, Lp 4, Canberra 20, ... |
 * | metric_arg   | float32 | 4     | only when metric_type > 1 (Faiss >= 1.5.3, June 2019)       |
 *
 * The class's body follows; {@link INDEX_READERS} maps each fourcc to the function that reads it, so
 * a new index type adds one row there (and one in writeIndex's table). Bodies read here:
 *
 * - "IxF2" IndexFlatL2, "IxFI" IndexFlatIP, "IxFl" IndexFlat with another metric: the header, then the
 *   vectors as a std::vector: size_t count = ntotal*d (in floats: Faiss >= 1.7.2 stores uint8 codes
 *   and writes their size / 4, older versions a std::vector<float>, the same bytes), then ntotal*d
 *   float32. "IxFl" is read when its metric is L2 or inner product; other metrics are a FormatError.
 * - "IxMp" IndexIDMap, "IxM2" IndexIDMap2: the header, the sub-index (recursively), then id_map as a
 *   std::vector<int64>: size_t ntotal, then ntotal int64 ids. IndexIDMap2 rebuilds its reverse map.
 * - "IwFl" IndexIVFFlat: the IVF header (Faiss's read_ivf_header): the header, size_t nlist, size_t
 *   nprobe, the coarse quantizer (a nested index), the direct map; then the inverted lists
 *   (see io/faiss/invlists for both). code_size is not stored: it is 4*d. The quantizer must be an
 *   IndexFlat or an IndexHNSWFlat ("IHNf", Faiss's IVF{n}_HNSW{M}) and, when the IVF is trained, hold nlist centroids; nlist is 1 .. {@link MAX_NLIST};
 *   nprobe >= 1 (Faiss clamps nprobe > nlist at search time; so does simdex).
 * - "IvFl", "IvFL": IndexIVFFlat as Faiss < 1.5 wrote it, still read by Faiss 1.7.3 (read only): the
 *   index header, nlist, nprobe, the quantizer, then the nlist lists' ids (each a vector<int64>), the
 *   direct map, then the nlist lists' codes, each a vector<float> of size*d floats ("IvFl") or a
 *   vector<uint8> of size*4*d bytes ("IvFL"). IO_FLAG_SKIP_IVF_DATA does not apply (as in Faiss).
 * - "IxSQ" IndexScalarQuantizer: the header, the ScalarQuantizer block (io/faiss/scalarQuantizer:
 *   int32 qtype, int32 rangestat, float32 rangestat_arg, size_t d, size_t code_size, vector<float>
 *   trained), then the codes as a vector<uint8> of ntotal*code_size bytes, read in chunks into the
 *   index's storage (segments of ReadIndexOptions.flat.maxSegmentBytes).
 * - "IwSq" IndexIVFScalarQuantizer: the IVF header, the ScalarQuantizer block, size_t code_size (equal
 *   to the block's), uint8 by_residual (0 or 1), then the inverted lists. Read only: "IwSQ", the same
 *   without the by_residual byte (by_residual = true), and the pre-1.5 "IvSQ": the legacy IVF header
 *   (ids of each list before the direct map), the block, size_t code_size, then each list's codes as
 *   a vector<uint8> of size*code_size bytes (by_residual = true).
 * - "IxPq" IndexPQ: the header, the ProductQuantizer block (io/faiss/productQuantizer: size_t d, M,
 *   nbits, vector<float> centroids), the codes as a vector<uint8> of ntotal*code_size bytes, int32
 *   search_type, uint8 encode_signs, int32 polysemous_ht. Read only: "IxPQ" (no search fields) and
 *   "IxPo", both read as L2 (as Faiss does).
 * - "IwPQ" IndexIVFPQ: the IVF header, uint8 by_residual, size_t code_size, the ProductQuantizer block,
 *   the inverted lists; usePrecomputedTable = 0 after reading (-1 with IO_FLAG_SKIP_PRECOMPUTE_TABLE).
 *   Read only: the pre-1.5 "IvPQ" (legacy IVF header, then per-list code vectors).
 * - "IPfs" IndexPQFastScan, "IwPf" IndexIVFPQFastScan (its lists "ilbl", BlockInvertedLists): see
 *   io/faiss/fastScan.
 * - "IHNf" IndexHNSWFlat: the header, the HNSW block (assign_probas, cum_nneighbor_per_level, levels,
 *   offsets, neighbors, entry_point, max_level, efConstruction, efSearch, upper_beam), then the
 *   storage, a nested IndexFlatL2 / IndexFlatIP (see io/faiss/hnsw). "IHNs" IndexHNSWSQ and "IHNp"
 *   IndexHNSWPQ: the same, with a nested "IxSQ" / "IxPq" storage. "IHN2" (IndexHNSW2Level) is a
 *   FormatError: not supported yet.
 * - "IxRF" IndexRefine / IndexRefineFlat: the header, the base index, the refinement index (both
 *   nested), float32 k_factor; an IndexFlat refinement index makes an IndexRefineFlat (io/faiss/refine).
 * - "IxPT" IndexPreTransform: the header, int32 the chain's length, the VectorTransforms ("Pcam",
 *   "rrot", "LTra", "VNrm", "VCnt", "RmDT"; "Viqm" / "Viqt" are a FormatError), then the sub-index
 *   (io/faiss/vectorTransform).
 *
 * Big files: vectors are read in chunks (64 MiB by default) straight into the index (`add`), and ids
 * likewise, so a file's data is never held twice; every size is checked against the bytes left in
 * the file before anything is allocated.
 */
import type { Index } from '../../Index.js';
import { InvalidArgumentError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { IndexFlat, IndexFlatIP, IndexFlatL2, type IndexFlatOptions } from '../../indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../../indexes/IndexIDMap.js';
import type { IndexIVF } from '../../indexes/ivf/IndexIVF.js';
import { IndexIVFFlat } from '../../indexes/ivf/IndexIVFFlat.js';
import { IndexScalarQuantizer } from '../../indexes/IndexScalarQuantizer.js';
import { IndexIVFScalarQuantizer } from '../../indexes/ivf/IndexIVFScalarQuantizer.js';
import { ArrayInvertedLists } from '../../invlists/ArrayInvertedLists.js';
import type { InvertedLists } from '../../invlists/InvertedLists.js';
import { fourccToString, unknownFourccError } from './fourcc.js';
import { loadDirectMap, readDirectMap, readInvertedLists, type DirectMapRecord } from './invlists.js';
import { IOReader } from './IOReader.js';
import { loadScalarQuantizer, readScalarQuantizer } from './scalarQuantizer.js';
import { readIndexHNSWFlat, readUnsupportedHNSW } from './hnsw.js';
import { IndexPQ } from '../../indexes/IndexPQ.js';
import { IndexIVFPQ } from '../../indexes/ivf/IndexIVFPQ.js';
import { loadProductQuantizer, readPqSearchFields, readProductQuantizer, setPqSearchFields } from './productQuantizer.js';
import { readIndexIVFPQFastScan, readIndexPQFastScan } from './fastScan.js';
import { readIndexPreTransform } from './vectorTransform.js';
import { readIndexRefine } from './refine.js';
import { IndexHNSWFlat } from '../../indexes/hnsw/IndexHNSWFlat.js';

// ---------------------------------------------------------------------------------------------------
// Flags (Faiss's index_io.h values): what simdex reads, and how (see each).
// ---------------------------------------------------------------------------------------------------

/**
 * Faiss's IO_FLAG_READ_ONLY (2): open on-disk inverted lists ("ilod") read-only: adding, removing
 * and reset throw a NotSupportedError. No effect on lists read into memory ("ilar").
 */
export const IO_FLAG_READ_ONLY = 2;
/**
 * Faiss's IO_FLAG_ONDISK_SAME_DIR (4): look for the data file of on-disk inverted lists ("ilod") in
 * the index file's folder (its stored name's last component there), not at its stored path; the
 * stored name is updated (and written back so). Reading from bytes, a FormatError.
 */
export const IO_FLAG_ONDISK_SAME_DIR = 4;
/**
 * Faiss's IO_FLAG_SKIP_IVF_DATA (8): read an IVF index without its list data. The header, nlist,
 * nprobe, quantizer, direct map and list sizes are read and checked, the codes and ids skipped (they
 * must still be in the file); ntotal stays the header's, listSize() answers, and the lists are an
 * UnloadedInvertedLists: search, reconstruct and add fail with a NotSupportedError (as they fail in
 * Faiss on an IVF without lists); writeIndex writes such an index with "il00" lists.
 * Faiss 1.7.3 itself rejects this flag alone ("could not load ArrayInvertedLists as 00006c69"): it
 * hands the list data to an inverted-lists hook named by the flags' high 16 bits, and there is none
 * for 0. With IO_FLAG_MMAP's high bits, see IO_FLAG_MMAP.
 */
export const IO_FLAG_SKIP_IVF_DATA = 8;
/** Faiss's IO_FLAG_SKIP_PRECOMPUTE_TABLE (16, Faiss >= 1.7.3): do not build IVFPQ's precomputed tables. No effect on flat indexes. */
export const IO_FLAG_SKIP_PRECOMPUTE_TABLE = 16;
/** Faiss's IO_FLAG_PQ_SKIP_SDC_TABLE (32, Faiss >= 1.9): do not build PQ's SDC table. No effect on flat indexes. */
export const IO_FLAG_PQ_SKIP_SDC_TABLE = 32;
/**
 * Faiss's IO_FLAG_MMAP: IO_FLAG_SKIP_IVF_DATA | 0x646f0000 = 0x646f0008 = 1684996104 (its value since
 * Faiss 1.6.4; very old versions used 1). Faiss memory-maps the inverted lists from the file (as
 * read-only OnDiskInvertedLists). simdex with the Node entry likewise: an IVF file's "ilar" lists stay
 * in the file, read-only OnDiskInvertedLists read at search time (io/faiss/ondisk); with the core
 * alone, or from bytes, they are read into memory. Flat indexes are always read into memory.
 */
export const IO_FLAG_MMAP = 0x646f0008;

/** Default bytes per chunk when reading vectors or ids: 64 MiB. */
export const DEFAULT_READ_CHUNK_BYTES = 64 << 20;

/** Faiss (>= 1.15) refuses files nesting indexes deeper than this; simdex too. */
export const MAX_INDEX_NESTING_DEPTH = 50;

/**
 * Largest nlist read: 2^24 (Faiss's largest IVF indexes in practice have 2^22 lists). A file claiming
 * more is a FormatError before anything is allocated.
 */
export const MAX_NLIST = 1 << 24;

/** Options of {@link readIndex} beyond Faiss's flags. */
export interface ReadIndexOptions {
  /** Bytes per chunk for vectors and ids (default 64 MiB). */
  chunkBytes?: number;
  /**
   * Options of the IndexFlat storage the vectors are read into (segment size); also the largest
   * code storage segment of an IndexScalarQuantizer.
   */
  flat?: IndexFlatOptions;
  /** Options of the ArrayInvertedLists IVF lists are read into (largest storage segment); cacheBytes: the search cache of on-disk lists. */
  invlists?: { maxSegmentBytes?: number; cacheBytes?: number };
}

/** What the body readers receive besides the reader. */
export interface ReadContext {
  /** The io_flags given to readIndex. */
  readonly flags: number;
  readonly chunkBytes: number;
  readonly flat: IndexFlatOptions;
  readonly invlists: { maxSegmentBytes?: number; cacheBytes?: number };
  /** Depth of the index being read: 1 for the outermost. */
  readonly depth: number;
}

/** Reads the body of one index class, the fourcc already consumed. */
export type IndexBodyReader = (r: IOReader, fourcc: string, ctx: ReadContext) => Index;

// ---------------------------------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------------------------------

/** The fields every index writes first (Faiss's read_index_header). */
export interface IndexHeader {
  /** Dimension, 1 .. 2^20. */
  d: number;
  /** Number of vectors, >= 0 (at most 2^53 - 1). */
  ntotal: number;
  isTrained: boolean;
  /** Faiss's metric_type number (see {@link FAISS_METRIC_NAMES}). */
  metricType: number;
  /** Faiss's metric_arg (Lp's p); 0 when the file has none (metric_type <= 1). */
  metricArg: number;
  /** Byte offset of the header (of d). */
  offset: number;
  /** Byte offset of metric_type. */
  metricOffset: number;
}

/** Faiss's metric_type numbers and names (MetricType.h). simdex searches with 0 and 1. */
export const FAISS_METRIC_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'METRIC_INNER_PRODUCT'],
  [1, 'METRIC_L2'],
  [2, 'METRIC_L1'],
  [3, 'METRIC_Linf'],
  [4, 'METRIC_Lp'],
  [20, 'METRIC_Canberra'],
  [21, 'METRIC_BrayCurtis'],
  [22, 'METRIC_JensenShannon'],
  [23, 'METRIC_Jaccard'],
  [24, 'METRIC_NaNEuclidean'],
  [25, 'METRIC_GOWER'],
]);

/** Largest dimension accepted: 2^20 (Faiss checks the same since 1.14). */
export const MAX_DIMENSION = 1 << 20;

/** Reads and checks the common index header (see the module doc for its layout). */
export function readIndexHeader(r: IOReader): IndexHeader {
  const offset = r.offset;
  const d = r.readI32('d');
  if (d < 1 || d > MAX_DIMENSION) throw r.error(`invalid dimension d = ${d} (expected 1 .. ${MAX_DIMENSION})`, offset);
  const ntotalAt = r.offset;
  const ntotal = r.readI64('ntotal');
  if (ntotal < 0n || ntotal > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw r.error(`invalid ntotal = ${ntotal} (expected 0 .. 2^53 - 1)`, ntotalAt);
  }
  r.readI64('dummy header field');
  r.readI64('dummy header field');
  const isTrained = r.readBool('is_trained');
  const metricAt = r.offset;
  const metricType = r.readI32('metric_type');
  if (!FAISS_METRIC_NAMES.has(metricType)) throw r.error(`invalid metric_type ${metricType}`, metricAt);
  const metricArg = metricType > 1 ? r.readF32('metric_arg') : 0;
  return { d, ntotal: Number(ntotal), isTrained, metricType, metricArg, offset, metricOffset: metricAt };
}

/** The header's metric as a simdex MetricType; a FormatError for the metrics simdex does not search with. */
export function supportedMetric(r: IOReader, header: IndexHeader, typeName: string): MetricType {
  const m = header.metricType;
  if (m === MetricType.L2 || m === MetricType.INNER_PRODUCT) return m;
  throw r.error(
    `${typeName} with ${FAISS_METRIC_NAMES.get(m)} (metric_type ${m}${m > 1 ? `, metric_arg ${header.metricArg}` : ''}) ` +
      'is not supported: simdex reads indexes with METRIC_L2 (1) and METRIC_INNER_PRODUCT (0)',
    header.metricOffset,
  );
}

// ---------------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------------

/** "IxF2", "IxFI", "IxFl": IndexFlatL2, IndexFlatIP, IndexFlat. */
function readIndexFlat(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, 'IndexFlat');
  const { d, ntotal } = header;
  const countAt = r.offset;
  const count = r.readVectorHeader(4, 'IndexFlat codes');
  if (BigInt(count) !== BigInt(ntotal) * BigInt(d)) {
    throw r.error(`IndexFlat codes hold ${count} floats, expected ntotal*d = ${ntotal}*${d} = ${BigInt(ntotal) * BigInt(d)}`, countAt);
  }
  // The header's metric wins over the fourcc (as in Faiss); the specialised class only when they agree.
  const index =
    fourcc === 'IxF2' && metric === MetricType.L2
      ? new IndexFlatL2(d, ctx.flat)
      : fourcc === 'IxFI' && metric === MetricType.INNER_PRODUCT
        ? new IndexFlatIP(d, ctx.flat)
        : new IndexFlat(d, metric, ctx.flat);
  return disposeOnError(index, () => {
    index.reserve(ntotal);
    const rowsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / (d * 4)));
    const buf = new Float32Array(Math.min(rowsPerChunk, ntotal) * d);
    for (let i0 = 0; i0 < ntotal; i0 += rowsPerChunk) {
      const x = buf.subarray(0, Math.min(rowsPerChunk, ntotal - i0) * d);
      r.readFloat32Into(x, 'IndexFlat codes');
      index.add(x);
    }
    index.isTrained = header.isTrained;
    return index;
  });
}

/** "IxMp", "IxM2": IndexIDMap, IndexIDMap2 around any index. */
function readIndexIDMap(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const typeName = fourcc === 'IxM2' ? 'IndexIDMap2' : 'IndexIDMap';
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, typeName);
  const subAt = r.offset;
  const sub = readIndexAt(r, ctx);
  return disposeOnError(sub, () => {
    if (sub.d !== header.d || sub.ntotal !== header.ntotal || sub.metricType !== metric) {
      throw r.error(
        `${typeName} has d = ${header.d}, ntotal = ${header.ntotal}, metric_type ${metric} but its sub-index ` +
          `${sub.typeName} has d = ${sub.d}, ntotal = ${sub.ntotal}, metric_type ${sub.metricType}`,
        subAt,
      );
    }
    const idsAt = r.offset;
    const count = r.readVectorHeader(8, `${typeName} id_map`);
    if (count !== header.ntotal) {
      throw r.error(`${typeName} id_map holds ${count} ids, expected ntotal = ${header.ntotal}`, idsAt);
    }
    const ids = new BigInt64Array(count);
    const idsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / 8));
    for (let i0 = 0; i0 < count; i0 += idsPerChunk) {
      r.readBigInt64Into(ids.subarray(i0, Math.min(count, i0 + idsPerChunk)), `${typeName} id_map`);
    }
    const map = fourcc === 'IxM2' ? IndexIDMap2.fromParts(sub, ids) : IndexIDMap.fromParts(sub, ids);
    map.isTrained = header.isTrained;
    return map;
  });
}

/** What {@link readIvfHeader} reads: Faiss's read_ivf_header, the fields every IndexIVF class starts with. */
export interface IvfHeader {
  header: IndexHeader;
  metric: MetricType;
  nlist: number;
  nprobe: number;
  /** The coarse quantizer: an IndexFlat (or IndexHNSWFlat) of d = header.d holding nlist centroids when trained. */
  quantizer: Index;
  /** The direct map as read; {@link readIvfLists} checks it against the lists and loads it. */
  directMap: DirectMapRecord;
  /** The legacy layouts' list ids (read between the quantizer and the direct map). */
  legacyIds?: BigInt64Array[];
}

/**
 * Reads the IVF header (the index header, nlist, nprobe, the quantizer, [legacy: the lists' ids,]
 * the direct map) and checks it; nothing nlist-sized is allocated before nlist has been checked.
 * The caller owns the returned quantizer (wrap what follows in disposeOnError(h.quantizer, ...)).
 * For the readers of every IndexIVF class ("IwFl" here; IVFPQ, IVFSQ, ... alike).
 * @param typeName the class being read, for messages
 * @param legacy true for the pre-1.5 layouts ("IvFl", "IvFL", "IvPQ", ...) that store ids here
 */
export function readIvfHeader(r: IOReader, ctx: ReadContext, typeName: string, legacy = false): IvfHeader {
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, typeName);
  const { d, ntotal } = header;
  const nlistAt = r.offset;
  const nlist = r.readSize('nlist');
  if (nlist < 1 || nlist > MAX_NLIST) throw r.error(`invalid nlist = ${nlist} (expected 1 .. ${MAX_NLIST})`, nlistAt);
  const nprobeAt = r.offset;
  const nprobe = r.readSize('nprobe');
  if (nprobe < 1) throw r.error('invalid nprobe = 0 (expected >= 1)', nprobeAt);
  const quantizerAt = r.offset;
  const quantizer = readIndexAt(r, ctx);
  return disposeOnError(quantizer, () => {
    if (!(quantizer instanceof IndexFlat) && !(quantizer instanceof IndexHNSWFlat)) {
      throw r.error(`${typeName} with a ${quantizer.typeName} quantizer is not supported: simdex reads IVF indexes whose coarse quantizer is an IndexFlat or an IndexHNSWFlat`, quantizerAt);
    }
    if (quantizer.d !== d) throw r.error(`the quantizer has d = ${quantizer.d}, but the IVF index has d = ${d}`, quantizerAt);
    if (header.isTrained && quantizer.ntotal !== nlist) {
      throw r.error(`the quantizer of a trained IVF index holds ${quantizer.ntotal} centroids, expected nlist = ${nlist}`, quantizerAt);
    }
    const legacyIds = legacy ? readLegacyIds(r, nlist, ntotal) : undefined;
    const directMap = readDirectMap(r, ntotal);
    return { header, metric, nlist, nprobe, quantizer, directMap, ...(legacyIds !== undefined ? { legacyIds } : {}) };
  });
}

/**
 * Completes `index`, built by the caller from `h` (and the fields its class reads after the header):
 * sets nprobe, is_trained and ntotal, reads the inverted lists with `readLists` (by default
 * {@link readInvertedLists}), and loads the direct map. On failure the index's lists are released
 * (not the quantizer: the caller's disposeOnError around the header does that).
 */
export function readIvfLists(r: IOReader, index: IndexIVF, h: IvfHeader, ctx: ReadContext, readLists?: () => InvertedLists): void {
  const ownFields = index.ownFields;
  index.ownFields = false;
  disposeOnError(index, () => {
    index.nprobe = h.nprobe;
    index.isTrained = h.header.isTrained;
    index.ntotal = h.header.ntotal;
    index.invlists =
      readLists?.() ??
      readInvertedLists(r, { nlist: h.nlist, codeSize: index.codeSize, ntotal: h.header.ntotal, flags: ctx.flags, maxSegmentBytes: ctx.invlists.maxSegmentBytes, cacheBytes: ctx.invlists.cacheBytes });
    loadDirectMap(r, h.directMap, index.invlists, index.directMap);
  });
  index.ownFields = ownFields;
}

/** "IwFl" IndexIVFFlat, and the legacy "IvFl" / "IvFL" (see the module doc). */
function readIndexIVFFlat(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const h = readIvfHeader(r, ctx, 'IndexIVFFlat', fourcc !== 'IwFl');
  return disposeOnError(h.quantizer, () => {
    const index = new IndexIVFFlat(h.quantizer, h.header.d, h.nlist, h.metric);
    const legacyIds = h.legacyIds;
    readIvfLists(r, index, h, ctx, legacyIds === undefined ? undefined : () => readLegacyCodes(r, fourcc, h.header.d, legacyIds, ctx));
    return index;
  });
}

/** The legacy layouts' ids: nlist vectors of int64, whose sizes must add up to ntotal. */
function readLegacyIds(r: IOReader, nlist: number, ntotal: number): BigInt64Array[] {
  if (nlist * 8 > r.remaining) throw r.error(`nlist = ${nlist} lists of ids need at least ${nlist * 8} bytes, ${r.remaining} remain`);
  const ids: BigInt64Array[] = [];
  let total = 0;
  for (let l = 0; l < nlist; l++) {
    ids.push(r.readBigInt64Vector(`list ${l} ids`));
    total += ids[l]!.length;
  }
  if (total !== ntotal) throw r.error(`the lists hold ${total} ids, but the IVF index has ntotal = ${ntotal}`);
  return ids;
}

/** The legacy layouts' codes, after the direct map: one vector per list, of floats ("IvFl") or bytes ("IvFL"). */
function readLegacyCodes(r: IOReader, fourcc: string, d: number, ids: BigInt64Array[], ctx: ReadContext): ArrayInvertedLists {
  return readLegacyListCodes(r, ids, 4 * d, fourcc === 'IvFl' ? 4 : 1, ctx);
}

/**
 * The codes of legacy ("Iv..") layouts: one vector per list, of `itemBytes`-byte items holding
 * size*codeSize bytes, loaded with the lists' ids into an ArrayInvertedLists.
 */
export function readLegacyListCodes(r: IOReader, ids: BigInt64Array[], codeSize: number, itemBytes: number, ctx: ReadContext): ArrayInvertedLists {
  const nlist = ids.length;
  const lists = new ArrayInvertedLists(nlist, codeSize, { maxSegmentBytes: ctx.invlists.maxSegmentBytes });
  try {
    lists.prepareAdd(Uint32Array.from(ids, (v) => v.length));
    for (let l = 0; l < nlist; l++) {
      const at = r.offset;
      const count = r.readVectorHeader(itemBytes, `list ${l} codes`);
      const n = ids[l]!.length;
      if (count * itemBytes !== n * codeSize) {
        throw r.error(`list ${l} holds ${count * itemBytes} bytes of codes for ${n} ids, expected ${n}*${codeSize}`, at);
      }
      lists.addEntriesWith(l, n, (codes, out) => {
        r.readInto(codes, `list ${l} codes`);
        out.set(ids[l]!);
      });
    }
  } catch (e) {
    lists.reset();
    throw e;
  }
  return lists;
}

/** "IxSQ" IndexScalarQuantizer (see the module doc). */
function readIndexScalarQuantizer(r: IOReader, _fourcc: string, ctx: ReadContext): Index {
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, 'IndexScalarQuantizer');
  const { d, ntotal } = header;
  const rec = readScalarQuantizer(r, header, 'IndexScalarQuantizer');
  const cs = rec.codeSize;
  const countAt = r.offset;
  const count = r.readVectorHeader(1, 'IndexScalarQuantizer codes');
  if (BigInt(count) !== BigInt(ntotal) * BigInt(cs)) {
    throw r.error(`IndexScalarQuantizer codes hold ${count} bytes, expected ntotal*code_size = ${ntotal}*${cs} = ${BigInt(ntotal) * BigInt(cs)}`, countAt);
  }
  const index = new IndexScalarQuantizer(d, rec.qtype, metric, { maxSegmentBytes: ctx.flat.maxSegmentBytes });
  return disposeOnError(index, () => {
    loadScalarQuantizer(index.sq, rec);
    index.reserve(ntotal);
    const rowsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / cs));
    const buf = new Uint8Array(Math.min(rowsPerChunk, ntotal) * cs);
    for (let i0 = 0; i0 < ntotal; i0 += rowsPerChunk) {
      const codes = buf.subarray(0, Math.min(rowsPerChunk, ntotal - i0) * cs);
      r.readInto(codes, 'IndexScalarQuantizer codes');
      index.addSaCodes(codes);
    }
    index.isTrained = header.isTrained;
    return index;
  });
}

/** "IwSq" IndexIVFScalarQuantizer, and the older "IwSQ" and "IvSQ" (see the module doc). */
function readIndexIVFScalarQuantizer(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexIVFScalarQuantizer';
  const h = readIvfHeader(r, ctx, typeName, fourcc === 'IvSQ');
  return disposeOnError(h.quantizer, () => {
    const { d } = h.header;
    const rec = readScalarQuantizer(r, h.header, typeName);
    const codeSizeAt = r.offset;
    const codeSize = r.readU64(`${typeName} code_size`);
    if (codeSize !== BigInt(rec.codeSize)) {
      throw r.error(`${typeName} has code_size = ${codeSize}, but its ScalarQuantizer has code_size ${rec.codeSize}`, codeSizeAt);
    }
    const byResidual = fourcc === 'IwSq' ? r.readBool('by_residual') : true;
    const index = new IndexIVFScalarQuantizer(h.quantizer, d, h.nlist, rec.qtype, h.metric, byResidual);
    loadScalarQuantizer(index.sq, rec);
    const legacyIds = h.legacyIds;
    readIvfLists(r, index, h, ctx, legacyIds === undefined ? undefined : () => readLegacyListCodes(r, legacyIds, rec.codeSize, 1, ctx));
    return index;
  });
}

/** "IxPq" IndexPQ, and the older "IxPQ" / "IxPo" (see io/faiss/productQuantizer). */
function readIndexPQ(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexPQ';
  const header = readIndexHeader(r);
  // Faiss: old versions of PQ all had metric_type INNER_PRODUCT while using L2; "IxPQ" / "IxPo" read as L2.
  const metric = fourcc === 'IxPq' ? supportedMetric(r, header, typeName) : MetricType.L2;
  const { d, ntotal } = header;
  const rec = readProductQuantizer(r, header, typeName);
  const cs = rec.codeSize;
  const countAt = r.offset;
  const count = r.readVectorHeader(1, `${typeName} codes`);
  if (BigInt(count) !== BigInt(ntotal) * BigInt(cs)) {
    throw r.error(`${typeName} codes hold ${count} bytes, expected ntotal*code_size = ${ntotal}*${cs} = ${BigInt(ntotal) * BigInt(cs)}`, countAt);
  }
  const index = new IndexPQ(d, rec.M, rec.nbits, metric, { maxSegmentBytes: ctx.flat.maxSegmentBytes });
  return disposeOnError(index, () => {
    loadProductQuantizer(index.pq, rec);
    index.reserve(ntotal);
    const rowsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / cs));
    const buf = new Uint8Array(Math.min(rowsPerChunk, ntotal) * cs);
    for (let i0 = 0; i0 < ntotal; i0 += rowsPerChunk) {
      const codes = buf.subarray(0, Math.min(rowsPerChunk, ntotal - i0) * cs);
      r.readInto(codes, `${typeName} codes`);
      index.addCodes(codes);
    }
    if (fourcc !== 'IxPQ') setPqSearchFields(index, readPqSearchFields(r));
    index.isTrained = header.isTrained;
    return index;
  });
}

/** "IwPQ" IndexIVFPQ, and the pre-1.5 "IvPQ" (see io/faiss/productQuantizer). */
function readIndexIVFPQ(r: IOReader, fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexIVFPQ';
  const h = readIvfHeader(r, ctx, typeName, fourcc === 'IvPQ');
  return disposeOnError(h.quantizer, () => {
    const { d } = h.header;
    const byResidual = r.readBool('by_residual');
    const codeSizeAt = r.offset;
    const codeSize = r.readU64(`${typeName} code_size`);
    const rec = readProductQuantizer(r, h.header, typeName);
    if (codeSize !== BigInt(rec.codeSize)) {
      throw r.error(`${typeName} has code_size = ${codeSize}, but its ProductQuantizer (M = ${rec.M}, nbits = ${rec.nbits}) has code_size ${rec.codeSize}`, codeSizeAt);
    }
    const index = new IndexIVFPQ(h.quantizer, d, h.nlist, rec.M, rec.nbits, h.metric);
    index.byResidual = byResidual;
    loadProductQuantizer(index.pq, rec);
    // The precomputed tables are not stored: built at the first search (or never, with the flag).
    index.usePrecomputedTable = (ctx.flags & IO_FLAG_SKIP_PRECOMPUTE_TABLE) !== 0 ? -1 : 0;
    const legacyIds = h.legacyIds;
    readIvfLists(r, index, h, ctx, legacyIds === undefined ? undefined : () => readLegacyListCodes(r, legacyIds, rec.codeSize, 1, ctx));
    return index;
  });
}

/** Runs `body`; if it throws, releases `index` (the memory of a half-read index) and rethrows. */
export function disposeOnError<T>(index: Index, body: () => T): T {
  try {
    return body();
  } catch (e) {
    index.dispose();
    throw e;
  }
}

/**
 * The body reader of each fourcc. A new index type adds its fourccs here (and a row in
 * writeIndex's INDEX_WRITERS).
 */
export const INDEX_READERS: ReadonlyMap<string, IndexBodyReader> = new Map<string, IndexBodyReader>([
  ['IxF2', readIndexFlat],
  ['IxFI', readIndexFlat],
  ['IxFl', readIndexFlat],
  ['IxMp', readIndexIDMap],
  ['IxM2', readIndexIDMap],
  ['IwFl', readIndexIVFFlat],
  ['IvFl', readIndexIVFFlat],
  ['IvFL', readIndexIVFFlat],
  ['IxSQ', readIndexScalarQuantizer],
  ['IwSq', readIndexIVFScalarQuantizer],
  ['IwSQ', readIndexIVFScalarQuantizer],
  ['IvSQ', readIndexIVFScalarQuantizer],
  ['IxPq', readIndexPQ],
  ['IxPQ', readIndexPQ],
  ['IxPo', readIndexPQ],
  ['IwPQ', readIndexIVFPQ],
  ['IvPQ', readIndexIVFPQ],
  ['IPfs', readIndexPQFastScan],
  ['IwPf', readIndexIVFPQFastScan],
  ['IHNf', readIndexHNSWFlat],
  ['IxRF', readIndexRefine],
  ['IHNs', readIndexHNSWFlat],
  ['IHNp', readIndexHNSWFlat],
  ['IHN2', (r, name) => readUnsupportedHNSW(r, name)],
  ['IxPT', readIndexPreTransform],
]);

// ---------------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------------

/**
 * Reads one index at the reader's offset: its fourcc, then its body (Faiss's read_index(IOReader*)).
 * Used by the body readers for the indexes they contain.
 */
export function readIndexAt(r: IOReader, ctx: ReadContext): Index {
  if (ctx.depth > MAX_INDEX_NESTING_DEPTH) {
    throw r.error(`indexes nested deeper than ${MAX_INDEX_NESTING_DEPTH} levels: the file is corrupt`);
  }
  const at = r.offset;
  const h = r.readU32('fourcc');
  const name = fourccToString(h);
  const body = INDEX_READERS.get(name);
  if (body === undefined) {
    if (name === 'null') throw r.error('a null index ("null") where an index is required', at);
    throw unknownFourccError(h, r.name, at, 'an index', r.fourcc);
  }
  return r.within(name, () => body(r, name, { ...ctx, depth: ctx.depth + 1 }));
}

/**
 * Reads an index written by Faiss's `write_index` (or by {@link writeIndex}).
 * @param source a file path, the file's bytes (a Uint8Array, not copied), or an IOReader positioned
 *   at the index (left open, after the index).
 * @param flags Faiss's io_flags: IO_FLAG_SKIP_IVF_DATA reads IVF indexes without their list data
 *   (see it); IO_FLAG_MMAP leaves IVF lists on disk (Node entry), IO_FLAG_READ_ONLY and
 *   IO_FLAG_ONDISK_SAME_DIR apply to on-disk lists (see each).
 * @returns the index: IndexFlatL2, IndexFlatIP, IndexFlat, IndexIDMap, IndexIDMap2, IndexIVFFlat,
 *   IndexScalarQuantizer, IndexIVFScalarQuantizer, IndexPQ, IndexIVFPQ, IndexHNSWFlat, IndexHNSWSQ, IndexHNSWPQ, IndexRefine or
 *   IndexRefineFlat.
 * @throws FormatError (file name, byte offset, fourcc) for a truncated, corrupt or unsupported file;
 *   Node's error (code 'ENOENT', ...) when the file cannot be opened; InvalidArgumentError for bad arguments.
 */
export function readIndex(source: string | Uint8Array | IOReader, flags = 0, options: ReadIndexOptions = {}): Index {
  const ctx = makeContext(flags, options);
  if (source instanceof IOReader) return readIndexAt(source, ctx);
  let r: IOReader;
  if (typeof source === 'string') {
    if (source.length === 0) throw new InvalidArgumentError('source', 'must be a non-empty path');
    r = IOReader.openFile(source);
  } else if (source instanceof Uint8Array) {
    r = IOReader.fromBytes(source);
  } else {
    throw new InvalidArgumentError('source', `must be a path, a Uint8Array or an IOReader, got ${typeof source}`);
  }
  try {
    return readIndexAt(r, ctx);
  } finally {
    r.close();
  }
}

/** Reads an index from the bytes of a Faiss file (Faiss Python's `faiss.deserialize_index`). */
export function deserializeIndex(bytes: Uint8Array, flags = 0, options: ReadIndexOptions = {}): Index {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError('bytes', `must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  }
  return readIndex(bytes, flags, options);
}

function makeContext(flags: number, options: ReadIndexOptions): ReadContext {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0x7fffffff) {
    throw new InvalidArgumentError('flags', `must be a non-negative int32 of IO_FLAG_* bits, got ${String(flags)}`);
  }
  const chunkBytes = options.chunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
    throw new InvalidArgumentError('chunkBytes', `must be a positive integer, got ${String(options.chunkBytes)}`);
  }
  return { flags, chunkBytes, flat: options.flat ?? {}, invlists: options.invlists ?? {}, depth: 1 };
}

