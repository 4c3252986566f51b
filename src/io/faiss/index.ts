/**
 * @module io/faiss
 * Faiss's index file format: {@link readIndex} / {@link writeIndex} for paths, {@link deserializeIndex}
 * / {@link serializeIndex} for bytes, the checked {@link IOReader} and atomic {@link IOWriter} they are
 * built on, fourcc helpers, and {@link describeIndex} for summaries.
 *
 * Index types read and written so far: IndexFlatL2 ("IxF2"), IndexFlatIP ("IxFI"), IndexFlat ("IxFl",
 * read with the L2 or inner-product metric only), IndexIDMap ("IxMp"), IndexIDMap2 ("IxM2") and
 * IndexIVFFlat ("IwFl"; the legacy "IvFl" / "IvFL" read only) with "ilar" or "il00" inverted lists,
 * IndexScalarQuantizer ("IxSQ") and IndexIVFScalarQuantizer ("IwSq"; the older "IwSQ" / "IvSQ" read only),
 * IndexHNSWFlat ("IHNf"), IndexHNSWSQ ("IHNs"), IndexHNSWPQ ("IHNp"; "IHN2" is a FormatError, not supported yet).
 */
export {
  readIndex,
  deserializeIndex,
  readIndexAt,
  readIndexHeader,
  readIvfHeader,
  readIvfLists,
  readLegacyListCodes,
  disposeOnError,
  supportedMetric,
  INDEX_READERS,
  FAISS_METRIC_NAMES,
  MAX_DIMENSION,
  MAX_INDEX_NESTING_DEPTH,
  MAX_NLIST,
  DEFAULT_READ_CHUNK_BYTES,
  IO_FLAG_READ_ONLY,
  IO_FLAG_ONDISK_SAME_DIR,
  IO_FLAG_SKIP_IVF_DATA,
  IO_FLAG_SKIP_PRECOMPUTE_TABLE,
  IO_FLAG_PQ_SKIP_SDC_TABLE,
  IO_FLAG_MMAP,
  type ReadIndexOptions,
  type ReadContext,
  type IndexBodyReader,
  type IndexHeader,
  type IvfHeader,
} from './readIndex.js';
export {
  writeIndex,
  serializeIndex,
  writeIndexTo,
  writeIndexHeader,
  faissFileSize,
  headerBytes,
  writerFor,
  writeIvfHeader,
  ivfHeaderBytes,
  findWriter,
  INDEX_WRITERS,
  HEADER_DUMMY,
  DEFAULT_WRITE_CHUNK_BYTES,
  type WriteIndexOptions,
  type WriteContext,
  type IndexWriterRow,
} from './writeIndex.js';
export {
  readDirectMap,
  loadDirectMap,
  writeDirectMap,
  directMapBytes,
  readInvertedLists,
  writeInvertedLists,
  invertedListsBytes,
  skipsIvfData,
  registerInvertedListsIOHook,
  type InvertedListsIOHook,
  DIRECT_MAP_TYPE_NAMES,
  type DirectMapRecord,
  type InvertedListsContext,
} from './invlists.js';
export { IOReader, BytesSource, FileSource, type ByteSource } from './IOReader.js';
export { IOWriter, BytesIOWriter, FileIOWriter } from './IOWriter.js';
export { fourcc, fourccToString, fourccPrintable, fourccHex, describeFourcc, unknownFourccError } from './fourcc.js';
export { describeIndex, formatIndexDescription, type IndexDescription, type IVFDescription, type SQDescription, type HNSWDescription, type PQDescription } from './describe.js';
export {
  readIndexHNSWFlat,
  readIndexHNSW,
  readUnsupportedHNSW,
  writeIndexHNSWFlatBody,
  writeIndexHNSWBody,
  hnswBlockBytes,
  hnswFlatBodyBytes,
  hnswBodyBytes,
  hnswFourcc,
  UNSUPPORTED_HNSW_FOURCCS,
  MAX_HNSW_LEVELS,
  MAX_HNSW_M,
} from './hnsw.js';
export {
  readScalarQuantizer,
  loadScalarQuantizer,
  writeScalarQuantizer,
  scalarQuantizerBytes,
  trainedSize,
  FAISS_RANGE_STAT_NAMES,
  type ScalarQuantizerRecord,
} from './scalarQuantizer.js';
export {
  readProductQuantizer,
  loadProductQuantizer,
  writeProductQuantizer,
  productQuantizerBytes,
  readPqSearchFields,
  writePqSearchFields,
  pqSearchFields,
  setPqSearchFields,
  FAISS_PQ_SEARCH_TYPE_NAMES,
  type ProductQuantizerRecord,
  type PQSearchFields,
} from './productQuantizer.js';
export {
  readVectorTransform,
  writeVectorTransform,
  vectorTransformBytes,
  vectorTransformFourcc,
  readIndexPreTransform,
  writeIndexPreTransformBody,
  indexPreTransformBodyBytes,
  describeChain,
  formatChain,
  MAX_CHAIN_LENGTH,
  UNSUPPORTED_TRANSFORM_FOURCCS,
  type TransformDescription,
} from './vectorTransform.js';
