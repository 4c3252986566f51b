/**
 * @module io/faiss/writeIndex
 * Writing Faiss index files (Faiss's `write_index` / `serialize_index`, impl/index_write.cpp), byte
 * for byte what Faiss 1.7.3 writes for the same index (the layout is documented in readIndex).
 *
 * {@link INDEX_WRITERS} is an ordered table of rows, the first whose `matches` accepts the index
 * writes it (most specific classes first, like Faiss's chain of dynamic_casts); a new index type adds
 * one row here and its fourccs in readIndex's INDEX_READERS. Each row also knows the size of what it
 * writes and the indexes it contains, for {@link faissFileSize} and describeIndex.
 *
 * - IndexFlat and subclasses: "IxFI" for inner product, "IxF2" for L2 (chosen by metric, as Faiss
 *   does), the header, size_t ntotal*d, then the vectors, fetched in chunks (64 MiB) with reconstructN.
 * - IndexIDMap / IndexIDMap2: "IxMp" / "IxM2", the header, the sub-index, size_t ntotal, the int64 ids.
 * - IndexIVFFlat: "IwFl", the header, size_t nlist, size_t nprobe, the quantizer, the direct map, then
 *   the inverted lists ("ilar" with "full" or "sprs" sizes as Faiss 1.7.3 chooses, or "il00" for lists
 *   that were not loaded); see io/faiss/invlists. List data are written from views of the lists'
 *   memory, without copies.
 * - IndexScalarQuantizer: "IxSQ", the header, the ScalarQuantizer block (io/faiss/scalarQuantizer),
 *   size_t ntotal*code_size, then the codes, written from views of the storage segments.
 * - IndexIVFScalarQuantizer: "IwSq", the IVF header, the ScalarQuantizer block, size_t code_size,
 *   uint8 by_residual, then the inverted lists (as for IndexIVFFlat). Faiss 1.7.3 writes only "IwSq";
 *   the older "IwSQ" and "IvSQ" are read, not written.
 * - IndexPQ: "IxPq", the header, the ProductQuantizer block (io/faiss/productQuantizer), size_t
 *   ntotal*code_size, the codes, then search_type, encode_signs, polysemous_ht (as read, or Faiss's
 *   defaults 0, false, M*nbits + 1). Size: 4 + 33 + 32 + 4*d*2^nbits + 8 + code_size*ntotal + 9.
 * - IndexIVFPQ: "IwPQ", the IVF header, uint8 by_residual, size_t code_size, the ProductQuantizer
 *   block, the inverted lists.
 * - IndexPQFastScan: "IPfs"; IndexIVFPQFastScan: "IwPf" with "ilbl" lists (io/faiss/fastScan).
 * - IndexHNSWFlat / IndexHNSWSQ / IndexHNSWPQ: "IHNf" / "IHNs" / "IHNp", the header, the HNSW block,
 *   then its storage as an "IxF2" / "IxFI" IndexFlat, an "IxSQ" IndexScalarQuantizer or an "IxPq" IndexPQ
 *   (io/faiss/hnsw). Size: 4 + 2*(33) + 4 + 8*(3 + levels) + 4*(1 + levels) + 4*ntotal + 8*(ntotal+1)
 *   + 4*(neighbours) + 20 + 8 + 4*d*ntotal.
 * - IndexRefine / IndexRefineFlat: "IxRF", the header, the base index, the refinement index, float32
 *   k_factor (io/faiss/refine).
 * - IndexPreTransform: "IxPT", the header, int32 the chain's length, each VectorTransform as Faiss 1.7.3
 *   writes it ("Pcam", "rrot", "LTra" for LinearTransform and OPQMatrix, "VNrm", "VCnt", "RmDT"), then
 *   the sub-index (io/faiss/vectorTransform).
 *
 * File size of a flat index: 45 + 4*d*ntotal bytes; of an IndexIDMap(2) around it: 37 + that + 8 + 8*ntotal.
 * Of an IndexIVFFlat with an IndexFlat quantizer, no direct map, "ilar" lists: 4 + 33 + 16 + (45 +
 * 4*d*nlist) + 9 + 32 + (8*nlist for "full" | 16*(non-empty lists) for "sprs") + (4*d + 8)*ntotal.
 * Of an IndexScalarQuantizer: 4 + 33 + 36 + 4*(trained floats) + 8 + code_size*ntotal; an
 * IndexIVFScalarQuantizer is an IndexIVFFlat's size with code_size for 4*d, plus 36 + 4*(trained
 * floats) + 9.
 */
import { Index } from '../../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotSupportedError } from '../../errors.js';
import { MetricType } from '../../MetricType.js';
import { IndexFlat } from '../../indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../../indexes/IndexIDMap.js';
import { IndexIVF } from '../../indexes/ivf/IndexIVF.js';
import { IndexIVFFlat } from '../../indexes/ivf/IndexIVFFlat.js';
import { IndexScalarQuantizer } from '../../indexes/IndexScalarQuantizer.js';
import { IndexIVFScalarQuantizer } from '../../indexes/ivf/IndexIVFScalarQuantizer.js';
import { fourcc } from './fourcc.js';
import { directMapBytes, invertedListsBytes, writeDirectMap, writeInvertedLists } from './invlists.js';
import { BytesIOWriter, FileIOWriter, IOWriter } from './IOWriter.js';
import { scalarQuantizerBytes, writeScalarQuantizer } from './scalarQuantizer.js';
import { IndexHNSW } from '../../indexes/hnsw/IndexHNSW.js';
import { hnswBodyBytes, hnswFourcc, writeIndexHNSWBody } from './hnsw.js';
import type { IndexFlatCodes } from '../../indexes/IndexFlatCodes.js';
import { IndexPQ } from '../../indexes/IndexPQ.js';
import { IndexIVFPQ } from '../../indexes/ivf/IndexIVFPQ.js';
import { pqSearchFields, productQuantizerBytes, writePqSearchFields, writeProductQuantizer } from './productQuantizer.js';
import { IndexPQFastScan } from '../../indexes/IndexPQFastScan.js';
import { IndexIVFPQFastScan } from '../../indexes/ivf/IndexIVFPQFastScan.js';
import { indexIVFPQFastScanBodyBytes, indexPQFastScanBodyBytes, writeIndexIVFPQFastScanBody, writeIndexPQFastScanBody } from './fastScan.js';
import { IndexRefine } from '../../indexes/IndexRefine.js';
import { refineBodyBytes, writeIndexRefineBody } from './refine.js';
import { IndexPreTransform } from '../../indexes/IndexPreTransform.js';
import { indexPreTransformBodyBytes, writeIndexPreTransformBody } from './vectorTransform.js';

/** Default bytes per chunk when writing vectors: 64 MiB. */
export const DEFAULT_WRITE_CHUNK_BYTES = 64 << 20;

/** The value Faiss writes in the two unused int64 fields of the header: 1 << 20. */
export const HEADER_DUMMY = 1 << 20;

/** Bytes of the common header: d, ntotal, 2 dummies, is_trained, metric_type (+ metric_arg if metric_type > 1). */
export function headerBytes(metricType: number): number {
  return 4 + 8 + 8 + 8 + 1 + 4 + (metricType > 1 ? 4 : 0);
}

/** Options of {@link writeIndex}. */
export interface WriteIndexOptions {
  /** Bytes of vectors fetched per reconstructN call (default 64 MiB). */
  chunkBytes?: number;
}

/** What the body writers receive besides the writer. */
export interface WriteContext {
  readonly chunkBytes: number;
}

/** One row of {@link INDEX_WRITERS}: how one index class is written. */
export interface IndexWriterRow {
  /** Faiss's class name, for messages. */
  readonly type: string;
  /** True when this row writes `index`. */
  matches(index: Index): boolean;
  /** The fourcc it writes for `index`. */
  fourcc(index: Index): string;
  /** Writes the fields after the fourcc (header and body). */
  write(w: IOWriter, index: Index, ctx: WriteContext): void;
  /** Bytes the fields after the fourcc take (sub-indexes included, sized with `sizeOf`). */
  bodyBytes(index: Index, sizeOf: (sub: Index) => number): number;
  /** The indexes it contains, written inline. */
  children(index: Index): Index[];
}

/** Writes the common header of `index` (Faiss's write_index_header). */
export function writeIndexHeader(w: IOWriter, index: Index, metricArg = 0): void {
  w.writeI32(index.d);
  w.writeI64(index.ntotal);
  w.writeI64(HEADER_DUMMY);
  w.writeI64(HEADER_DUMMY);
  w.writeBool(index.isTrained);
  w.writeI32(index.metricType);
  if (index.metricType > 1) w.writeF32(metricArg);
}

const flatRow: IndexWriterRow = {
  type: 'IndexFlat',
  matches: (index) => index instanceof IndexFlat,
  fourcc: (index) => (index.metricType === MetricType.INNER_PRODUCT ? 'IxFI' : index.metricType === MetricType.L2 ? 'IxF2' : 'IxFl'),
  write(w, index, ctx) {
    writeIndexHeader(w, index);
    const { d, ntotal } = index;
    w.writeU64(BigInt(ntotal) * BigInt(d));
    const rowsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / (d * 4)));
    for (let i0 = 0; i0 < ntotal; i0 += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, ntotal - i0);
      w.writeFloat32Array(index.reconstructN(i0, n));
    }
  },
  bodyBytes: (index) => headerBytes(index.metricType) + 8 + index.ntotal * index.d * 4,
  children: () => [],
};

const idMapRow: IndexWriterRow = {
  type: 'IndexIDMap',
  matches: (index) => index instanceof IndexIDMap,
  fourcc: (index) => (index instanceof IndexIDMap2 ? 'IxM2' : 'IxMp'),
  write(w, index, ctx) {
    const map = index as IndexIDMap;
    writeIndexHeader(w, map);
    writeIndexTo(w, map.index, ctx);
    w.writeBigInt64Vector(map.idMap);
  },
  bodyBytes: (index, sizeOf) => headerBytes(index.metricType) + sizeOf((index as IndexIDMap).index) + 8 + index.ntotal * 8,
  children: (index) => [(index as IndexIDMap).index],
};

/**
 * Writes the IVF header (Faiss's write_ivf_header): the index header, nlist, nprobe, the quantizer,
 * the direct map. For every IndexIVF subclass; the subclass's fields and the lists follow.
 */
export function writeIvfHeader(w: IOWriter, index: IndexIVF, ctx: WriteContext): void {
  writeIndexHeader(w, index);
  w.writeU64(index.nlist);
  w.writeU64(index.nprobe);
  writeIndexTo(w, index.quantizer, ctx);
  writeDirectMap(w, index.directMap);
}

/** Bytes of writeIvfHeader's output. */
export function ivfHeaderBytes(index: IndexIVF, sizeOf: (sub: Index) => number): number {
  return headerBytes(index.metricType) + 16 + sizeOf(index.quantizer) + directMapBytes(index.directMap);
}

const ivfFlatRow: IndexWriterRow = {
  type: 'IndexIVFFlat',
  matches: (index) => index instanceof IndexIVFFlat,
  fourcc: () => 'IwFl',
  write(w, index, ctx) {
    const ivf = index as IndexIVFFlat;
    writeIvfHeader(w, ivf, ctx);
    writeInvertedLists(w, ivf.invlists);
  },
  bodyBytes: (index, sizeOf) => ivfHeaderBytes(index as IndexIVF, sizeOf) + invertedListsBytes((index as IndexIVF).invlists),
  children: (index) => [(index as IndexIVF).quantizer],
};

/** The codes of an IndexFlatCodes as Faiss writes them: size_t ntotal*code_size, then the bytes, from views of the storage segments. */
function writeFlatCodes(w: IOWriter, index: IndexFlatCodes): void {
  const cs = index.codeSize;
  w.writeU64(BigInt(index.ntotal) * BigInt(cs));
  let left = index.ntotal;
  for (const seg of index.segments) {
    const n = Math.min(seg.count, left);
    if (n > 0) w.writeBytes(new Uint8Array(seg.memory.buffer, seg.dataOffset, n * cs));
    left -= n;
  }
}

const sqRow: IndexWriterRow = {
  type: 'IndexScalarQuantizer',
  matches: (index) => index instanceof IndexScalarQuantizer,
  fourcc: () => 'IxSQ',
  write(w, index) {
    const sqi = index as IndexScalarQuantizer;
    writeIndexHeader(w, sqi);
    writeScalarQuantizer(w, sqi.sq);
    writeFlatCodes(w, sqi);
  },
  bodyBytes: (index) => {
    const sqi = index as IndexScalarQuantizer;
    return headerBytes(sqi.metricType) + scalarQuantizerBytes(sqi.sq) + 8 + sqi.ntotal * sqi.codeSize;
  },
  children: () => [],
};

const ivfSqRow: IndexWriterRow = {
  type: 'IndexIVFScalarQuantizer',
  matches: (index) => index instanceof IndexIVFScalarQuantizer,
  fourcc: () => 'IwSq',
  write(w, index, ctx) {
    const ivf = index as IndexIVFScalarQuantizer;
    writeIvfHeader(w, ivf, ctx);
    writeScalarQuantizer(w, ivf.sq);
    w.writeU64(ivf.codeSize);
    w.writeBool(ivf.byResidual);
    writeInvertedLists(w, ivf.invlists);
  },
  bodyBytes: (index, sizeOf) => {
    const ivf = index as IndexIVFScalarQuantizer;
    return ivfHeaderBytes(ivf, sizeOf) + scalarQuantizerBytes(ivf.sq) + 8 + 1 + invertedListsBytes(ivf.invlists);
  },
  children: (index) => [(index as IndexIVF).quantizer],
};

const hnswFlatRow: IndexWriterRow = {
  type: 'IndexHNSW (Flat, SQ, PQ)',
  matches: (index) => index instanceof IndexHNSW,
  fourcc: (index) => hnswFourcc(index as IndexHNSW),
  write: (w, index, ctx) => writeIndexHNSWBody(w, index as IndexHNSW, ctx),
  bodyBytes: (index) => hnswBodyBytes(index as IndexHNSW),
  children: () => [],
};

const pqRow: IndexWriterRow = {
  type: 'IndexPQ',
  matches: (index) => index instanceof IndexPQ,
  fourcc: () => 'IxPq',
  write(w, index) {
    const pqi = index as IndexPQ;
    writeIndexHeader(w, pqi);
    writeProductQuantizer(w, pqi.pq);
    writeFlatCodes(w, pqi);
    writePqSearchFields(w, pqSearchFields(pqi));
  },
  bodyBytes: (index) => {
    const pqi = index as IndexPQ;
    return headerBytes(pqi.metricType) + productQuantizerBytes(pqi.pq) + 8 + pqi.ntotal * pqi.codeSize + 4 + 1 + 4;
  },
  children: () => [],
};

const ivfPqRow: IndexWriterRow = {
  type: 'IndexIVFPQ',
  matches: (index) => index instanceof IndexIVFPQ,
  fourcc: () => 'IwPQ',
  write(w, index, ctx) {
    const ivf = index as IndexIVFPQ;
    writeIvfHeader(w, ivf, ctx);
    w.writeBool(ivf.byResidual);
    w.writeU64(ivf.codeSize);
    writeProductQuantizer(w, ivf.pq);
    writeInvertedLists(w, ivf.invlists);
  },
  bodyBytes: (index, sizeOf) => {
    const ivf = index as IndexIVFPQ;
    return ivfHeaderBytes(ivf, sizeOf) + 1 + 8 + productQuantizerBytes(ivf.pq) + invertedListsBytes(ivf.invlists);
  },
  children: (index) => [(index as IndexIVF).quantizer],
};

/** IndexPQFastScan: "IPfs" (io/faiss/fastScan). */
const pqFastScanRow: IndexWriterRow = {
  type: 'IndexPQFastScan',
  matches: (index) => index instanceof IndexPQFastScan,
  fourcc: () => 'IPfs',
  write: (w, index) => writeIndexPQFastScanBody(w, index as IndexPQFastScan),
  bodyBytes: (index) => indexPQFastScanBodyBytes(index as IndexPQFastScan),
  children: () => [],
};

/** IndexIVFPQFastScan: "IwPf" with "ilbl" lists (io/faiss/fastScan). */
const ivfPqFastScanRow: IndexWriterRow = {
  type: 'IndexIVFPQFastScan',
  matches: (index) => index instanceof IndexIVFPQFastScan,
  fourcc: () => 'IwPf',
  write: (w, index, ctx) => writeIndexIVFPQFastScanBody(w, index as IndexIVFPQFastScan, ctx),
  bodyBytes: (index, sizeOf) => indexIVFPQFastScanBodyBytes(index as IndexIVFPQFastScan, sizeOf),
  children: (index) => [(index as IndexIVF).quantizer],
};

/** IndexRefine and IndexRefineFlat: "IxRF" (io/faiss/refine). */
const refineRow: IndexWriterRow = {
  type: 'IndexRefine',
  matches: (index) => index instanceof IndexRefine,
  fourcc: () => 'IxRF',
  write: (w, index, ctx) => writeIndexRefineBody(w, index as IndexRefine, ctx),
  bodyBytes: (index, sizeOf) => refineBodyBytes(index as IndexRefine, sizeOf),
  children: (index) => [(index as IndexRefine).baseIndex, (index as IndexRefine).refineIndex],
};

/** IndexPreTransform: "IxPT", its chain of VectorTransforms, the sub-index (io/faiss/vectorTransform). */
const preTransformRow: IndexWriterRow = {
  type: 'IndexPreTransform',
  matches: (index) => index instanceof IndexPreTransform,
  fourcc: () => 'IxPT',
  write: (w, index, ctx) => writeIndexPreTransformBody(w, index as IndexPreTransform, ctx),
  bodyBytes: (index, sizeOf) => indexPreTransformBodyBytes(index as IndexPreTransform, sizeOf),
  children: (index) => [(index as IndexPreTransform).index],
};

/** How each index class is written, most specific first. */
export const INDEX_WRITERS: readonly IndexWriterRow[] = [preTransformRow, refineRow, idMapRow, ivfFlatRow, ivfSqRow, ivfPqRow, ivfPqFastScanRow, sqRow, pqRow, pqFastScanRow, flatRow, hnswFlatRow];

/** The row that writes `index`; a NotSupportedError naming the writable types when there is none. */
export function writerFor(index: Index): IndexWriterRow {
  const row = findWriter(index);
  if (row === undefined) {
    throw new NotSupportedError(
      index.typeName,
      'writeIndex',
      `the Faiss file format is written for ${INDEX_WRITERS.map((r) => r.type).join(', ')} (and their subclasses)`,
    );
  }
  return row;
}

/** The row that writes `index`, or undefined. */
export function findWriter(index: Index): IndexWriterRow | undefined {
  return INDEX_WRITERS.find((r) => r.matches(index));
}

/** Writes `index` (fourcc, header, body) at the writer's offset (Faiss's write_index(Index*, IOWriter*)). */
export function writeIndexTo(w: IOWriter, index: Index, ctx: WriteContext): void {
  const row = writerFor(index);
  w.writeU32(fourcc(row.fourcc(index)));
  row.write(w, index, ctx);
}

/** Size in bytes of the Faiss file {@link writeIndex} writes for `index`, computed without writing it. */
export function faissFileSize(index: Index): number {
  return 4 + writerFor(index).bodyBytes(index, faissFileSize);
}

/**
 * Writes `index` in Faiss's format, readable by Faiss's `read_index` (and {@link readIndex}).
 * @param target a path (written atomically: a temporary file in the same directory, renamed on
 *   success, removed on failure), or an IOWriter (written at its offset; the caller commits or closes it).
 * @throws NotSupportedError for index types without a Faiss writer; Node's errors for I/O failures.
 */
export function writeIndex(index: Index, target: string | IOWriter, options: WriteIndexOptions = {}): void {
  if (!(index instanceof Index)) throw new InvalidTypeError('index', 'an Index', index);
  const ctx = makeContext(options);
  if (target instanceof IOWriter) {
    writeIndexTo(target, index, ctx);
    return;
  }
  if (typeof target !== 'string' || target.length === 0) {
    throw new InvalidArgumentError('target', `must be a non-empty path or an IOWriter, got ${JSON.stringify(target)}`);
  }
  writerFor(index); // fail before creating a file
  const w = FileIOWriter.open(target);
  try {
    writeIndexTo(w, index, ctx);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** The bytes of the Faiss file of `index` (Faiss Python's `faiss.serialize_index`), size {@link faissFileSize}. */
export function serializeIndex(index: Index, options: WriteIndexOptions = {}): Uint8Array {
  if (!(index instanceof Index)) throw new InvalidTypeError('index', 'an Index', index);
  const w = new BytesIOWriter(faissFileSize(index));
  writeIndexTo(w, index, makeContext(options));
  return w.bytes();
}

function makeContext(options: WriteIndexOptions): WriteContext {
  const chunkBytes = options.chunkBytes ?? DEFAULT_WRITE_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
    throw new InvalidArgumentError('chunkBytes', `must be a positive integer, got ${String(options.chunkBytes)}`);
  }
  return { chunkBytes };
}
