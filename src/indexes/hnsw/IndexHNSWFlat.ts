/**
 * @module indexes/hnsw/IndexHNSWFlat
 * Faiss's IndexHNSWFlat: an HNSW graph (./HNSW.ts) over uncompressed vectors, for L2 or inner
 * product (an IndexHNSW, ./IndexHNSW.ts, whose storage is the float vectors). No training; vectors are added to the graph as they come (single-threaded up to 100
 * nodes per level, on the pool's threads beyond); one query is searched on the calling thread, a
 * batch on every thread of the pool.
 *
 *   const index = new IndexHNSWFlat(d, 32);      // HNSW32
 *   index.hnsw.efConstruction = 40;              // before add
 *   index.add(x);
 *   index.hnsw.efSearch = 64;                    // or per call: search(q, k, { efSearch: 64 })
 *   const { distances, labels } = index.search(q, 10);
 *
 * No 4 GiB limit: past one WebAssembly memory the vectors move to vector segments (HNSW's
 * storeVectorsInSegments); the graph's memory bounds the nodes (`hnsw.maxVectors`, 10 million at M = 32).
 *
 * Against Faiss: a graph built on one thread is identical to Faiss's (test/io.hnsw.test.ts). Searched on
 * the same graph, about 0.3 % of the labels differ from Faiss 1.7.3's, not on ties: simdex returns a
 * closer vector than Faiss did. Faiss 1.7.3's MinimaxHeap::push counts an evicted candidate that was
 * already expanded as a valid one gone, so its beam search can stop early (fixed in Faiss by PR #2771,
 * April 2023); simdex searches as the fixed Faiss does (kernels/referenceHNSW's `faiss173` option
 * reproduces 1.7.3's results exactly). Recall is equal or higher.
 */
import { MetricType } from '../../MetricType.js';
import { checkVectors } from '../../validate.js';
import { IndexHNSW } from './IndexHNSW.js';

export type { SearchParametersHNSW } from './IndexHNSW.js';

export class IndexHNSWFlat extends IndexHNSW {
  /** Faiss's IndexHNSWFlat(d, M, metric): M neighbours per node (2M on level 0), default 32. */
  constructor(d: number, M = 32, metric: MetricType = MetricType.L2) {
    super(d, M, metric);
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    // the floats themselves: a byte view of more than 4 GiB (1M x 1280) is no typed array in V8
    this.hnsw.add(x);
    this.ntotal = this.hnsw.ntotal;
  }

  /** The stored floats are the vectors. */
  protected decodeCodes(codes: Uint8Array, n: number): Float32Array {
    return new Float32Array(codes.buffer, codes.byteOffset, n * this.d);
  }
}
