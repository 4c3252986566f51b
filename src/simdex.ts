/**
 * simdex: similarity search and clustering of dense vectors, with Faiss's indexes, names and file
 * format, in TypeScript over WebAssembly SIMD kernels.
 */
export { Index, FLT_MAX, type SearchParameters, type SearchResult, type RangeSearchResult } from './Index.js';
export { MetricType, metricName } from './MetricType.js';
export {
  SimdexError, InvalidArgumentError, InvalidTypeError, NotTrainedError, NotSupportedError, FactoryParseError, FormatError,
} from './errors.js';
export { IDSelectorRange, IDSelectorBatch, IDSelectorNot, type IDSelector, type IDSelectorLike } from './IDSelector.js';
export { IndexFlat, IndexFlatL2, IndexFlatIP, type IndexFlatOptions } from './indexes/IndexFlat.js';
export { IndexIDMap, IndexIDMap2 } from './indexes/IndexIDMap.js';
export { setNumThreads, getNumThreads } from './threads/pool.js';
export { kernelModule } from './kernels/wasm.js';
export {
  readIndex, writeIndex, serializeIndex, deserializeIndex, describeIndex, formatIndexDescription,
  IO_FLAG_READ_ONLY, IO_FLAG_ONDISK_SAME_DIR, IO_FLAG_SKIP_IVF_DATA, IO_FLAG_SKIP_PRECOMPUTE_TABLE, IO_FLAG_PQ_SKIP_SDC_TABLE, IO_FLAG_MMAP,
  IOReader, IOWriter, BytesIOWriter, FileIOWriter,
  type ReadIndexOptions, type WriteIndexOptions, type IndexDescription, type IVFDescription, type SQDescription, MAX_NLIST,
} from './io/faiss/index.js';
export { Clustering, kmeansClustering, DEFAULT_CLUSTERING_PARAMETERS, RandomGenerator, randPerm, type ClusteringParameters, type ClusteringOptions, type ClusteringIterationStats } from './clustering/Clustering.js';
export { Kmeans, type KmeansOptions } from './clustering/Kmeans.js';
export { IndexIVF, type SearchParametersIVF } from './indexes/ivf/IndexIVF.js';
export { IndexIVFFlat } from './indexes/ivf/IndexIVFFlat.js';
export { InvertedLists, type ListTable } from './invlists/InvertedLists.js';
export { ArrayInvertedLists } from './invlists/ArrayInvertedLists.js';
export { DirectMap, DirectMapType } from './invlists/DirectMap.js';
export {
  ScalarQuantizer, QuantizerType, RangeStat, quantizerTypeName, encodeFp16, decodeFp16,
} from './quantizers/ScalarQuantizer.js';
export { IndexScalarQuantizer, type IndexScalarQuantizerOptions } from './indexes/IndexScalarQuantizer.js';
export { IndexIVFScalarQuantizer } from './indexes/ivf/IndexIVFScalarQuantizer.js';
export { CodeStore } from './storage/CodeStore.js';
export { ProductQuantizer } from './quantizers/ProductQuantizer.js';
export { IndexPQ, type IndexPQOptions } from './indexes/IndexPQ.js';
export { IndexIVFPQ } from './indexes/ivf/IndexIVFPQ.js';
export { IndexPQFastScan, type IndexPQFastScanOptions } from './indexes/IndexPQFastScan.js';
export { IndexIVFPQFastScan } from './indexes/ivf/IndexIVFPQFastScan.js';
export { BlockInvertedLists } from './invlists/BlockInvertedLists.js';
export { HNSW } from './indexes/hnsw/HNSW.js';
export { IndexHNSWFlat, type SearchParametersHNSW } from './indexes/hnsw/IndexHNSWFlat.js';
export { IndexHNSW } from './indexes/hnsw/IndexHNSW.js';
export { IndexHNSWSQ } from './indexes/hnsw/IndexHNSWSQ.js';
export { IndexHNSWPQ } from './indexes/hnsw/IndexHNSWPQ.js';
export { IndexRefine, IndexRefineFlat, type SearchParametersRefine, type IndexRefineSearchParameters } from './indexes/IndexRefine.js';
export { IndexPreTransform, type SearchParametersPreTransform } from './indexes/IndexPreTransform.js';
export { VectorTransform } from './transforms/VectorTransform.js';
export { LinearTransform } from './transforms/LinearTransform.js';
export { RandomRotationMatrix } from './transforms/RandomRotationMatrix.js';
export { PCAMatrix } from './transforms/PCAMatrix.js';
export { OPQMatrix } from './transforms/OPQMatrix.js';
export { NormalizationTransform } from './transforms/NormalizationTransform.js';
export { CenteringTransform } from './transforms/CenteringTransform.js';
export { RemapDimensionsTransform } from './transforms/RemapDimensionsTransform.js';
export { indexFactory, reverseIndexFactory } from './factory/indexFactory.js';
export { generateDataset, ClusteredDataGenerator, DATASET_CALIBRATION, type Dataset, type DatasetOptions } from './bench/dataset.js';
export { computeGroundTruth, recallAtR, oneRecallAtR, recallTable } from './bench/groundtruth.js';
export { UnloadedInvertedLists } from './invlists/UnloadedInvertedLists.js';
