/**
 * @module quantizers/SubQuantizerAssignIndex
 * The assignment index of a PQ sub-quantizer's k-means: exact L2 nearest centroid of low-dimensional
 * vectors (dsub = d / M, typically 1 to 16) among ksub <= 256 centroids, with the direct-distance
 * kernel pq_assign (centroids in the lanes of SIMD registers, nearest tracked in registers).
 *
 * Faiss assigns through an IndexFlatL2(dsub), i.e. BLAS with an inner dimension of dsub, which is
 * slow for such small dimensions; this gives the same assignments (the exact nearest centroid, first
 * on ties; distances computed directly rather than as ||x||^2 + ||c||^2 - 2<x,c>) about ten times
 * faster. Used by ProductQuantizer.train; k-NN with k > 1 falls back to the TypeScript reference.
 */
import { Index, type SearchParameters, type SearchResult } from '../Index.js';
import { knnExact } from '../kernels/reference.js';
import { pqAssignRange, writeTransposed, type PQAssignTask } from '../search/pqScan.js';
import { Segment } from '../storage/Segment.js';
import { forgetDropped, getNumThreads, parallelFor } from '../threads/pool.js';
import { checkVectors } from '../validate.js';

const MIN_PER_THREAD = 2048;

export class SubQuantizerAssignIndex extends Index {
  private centroids = new Float32Array(0);
  private segment: Segment | undefined;
  private synced = false;

  constructor(d: number) {
    super(d);
  }

  add(x: Float32Array): void {
    checkVectors(x, this.d);
    const c = new Float32Array(this.centroids.length + x.length);
    c.set(this.centroids);
    c.set(x, this.centroids.length);
    this.centroids = c;
    this.ntotal = c.length / this.d;
    this.synced = false;
  }

  search(x: Float32Array, k: number, params?: SearchParameters): SearchResult {
    void params;
    const n = this.checkSearchArgs(x, k);
    if (k !== 1 || this.ntotal === 0) {
      return knnExact('L2', x, n, this.centroids, this.ntotal, this.d, k);
    }
    const { memory, cT } = this.kernelMemory();
    const threads = getNumThreads();
    if (threads > 1 && n >= 2 * MIN_PER_THREAD) {
      const task: PQAssignTask = {
        memory, cT, k: this.ntotal, dsub: this.d,
        x: x.buffer instanceof SharedArrayBuffer ? x : shared(x),
        labels: new BigInt64Array(new SharedArrayBuffer(n * 8)),
        distances: new Float32Array(new SharedArrayBuffer(n * 4)),
      };
      parallelFor('pq.assign', task, n, MIN_PER_THREAD);
      return { distances: task.distances.slice(), labels: task.labels.slice() };
    }
    const task: PQAssignTask = { memory, cT, k: this.ntotal, dsub: this.d, x, labels: new BigInt64Array(n), distances: new Float32Array(n) };
    pqAssignRange(task, 0, n, 0);
    return { distances: task.distances, labels: task.labels };
  }

  override reconstruct(key: number): Float32Array {
    return this.centroids.slice(key * this.d, (key + 1) * this.d);
  }

  reset(): void {
    this.centroids = new Float32Array(0);
    this.ntotal = 0;
    this.synced = false;
  }

  override dispose(): void {
    this.reset();
    if (this.segment !== undefined) {
      forgetDropped([this.segment.memory], []);
      this.segment = undefined;
    }
  }

  private kernelMemory(): { memory: WebAssembly.Memory; cT: number } {
    const bytes = this.centroids.length * 4;
    if (this.segment === undefined || this.segment.dataBytes < bytes) {
      if (this.segment !== undefined) forgetDropped([this.segment.memory], []);
      this.segment = new Segment(bytes);
      this.synced = false;
    }
    const seg = this.segment;
    if (!this.synced) {
      // one sub-quantizer of k centroids: the kernels' transposed layout, cT[t*k + j]
      writeTransposed(this.centroids, 1, this.ntotal, this.d, new Float32Array(seg.memory.buffer, seg.dataOffset, this.centroids.length));
      this.synced = true;
    }
    return { memory: seg.memory, cT: seg.dataOffset };
  }
}

function shared(x: Float32Array): Float32Array {
  const s = new Float32Array(new SharedArrayBuffer(x.byteLength));
  s.set(x);
  return s;
}
