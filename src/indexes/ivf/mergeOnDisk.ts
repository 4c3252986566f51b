/**
 * @module indexes/ivf/mergeOnDisk
 * Faiss's contrib.ondisk.merge_ondisk: building an IVF index larger than memory in blocks. Train one
 * index and save it; for each block of the data, read the trained index back, add the block (with
 * its ids) and save it as a shard file; then merge the shards' lists into one data file:
 *
 * ```ts
 * const trained = readIndex('trained.index');
 * mergeOnDisk(trained, ['block0.index', 'block1.index'], 'merged.ivfdata');
 * writeIndex(trained, 'populated.index');   // "ilod" lists naming merged.ivfdata, as Faiss writes them
 * ```
 *
 * The shards are read with IO_FLAG_MMAP (their lists stay in their files), and their lists are
 * concatenated list by list into the data file (OnDiskInvertedLists.mergeFromMultiple), which is
 * written to a temporary name and renamed into place. Memory: one list of all shards at a time.
 * Node only. Beyond Faiss, the shards are checked against the trained index (type, d, nlist,
 * code size, metric, coarse centroids and encoder), so that shards of another training fail
 * instead of merging into wrong results.
 */
import { Index } from '../../Index.js';
import { InvalidArgumentError, InvalidTypeError, NotSupportedError, NotTrainedError } from '../../errors.js';
import { OnDiskInvertedLists } from '../../invlists/OnDiskInvertedLists.js';
import type { InvertedLists } from '../../invlists/InvertedLists.js';
import { IO_FLAG_MMAP, readIndex } from '../../io/faiss/readIndex.js';
import '../../io/faiss/ondisk.js';
import { forgetDropped } from '../../threads/pool.js';
import { IndexIDMap } from '../IndexIDMap.js';
import { IndexIVF } from './IndexIVF.js';

export interface MergeOnDiskOptions {
  /** Shift the ids of each shard by the number of vectors in the shards before it (Faiss >= 1.8's shift_ids). Default false. */
  shiftIds?: boolean;
  /** Search cache budget of the merged lists (default OnDiskInvertedLists.defaultCacheBytes). */
  cacheBytes?: number;
}

/**
 * The IndexIVF inside `index` (Faiss's extract_index_ivf): the index itself, or the IVF that
 * wrappers hold (IndexIDMap, IndexPreTransform: `index`; IndexRefine: `baseIndex`).
 * @throws InvalidArgumentError when there is none.
 */
export function extractIndexIVF(index: Index, name = 'index'): IndexIVF {
  let cur: unknown = index;
  for (let depth = 0; depth < 16; depth++) {
    if (cur instanceof IndexIVF) return cur;
    const inner = (cur as { index?: unknown; baseIndex?: unknown }).index ?? (cur as { baseIndex?: unknown }).baseIndex;
    if (!(inner instanceof Index)) break;
    cur = inner;
  }
  throw new InvalidArgumentError(name, `is a ${index.typeName} without an IndexIVF inside`);
}

/**
 * Adds the vectors of the IVF indexes stored in `shardFiles` to `trainedIndex` (empty, trained), whose
 * lists become an OnDiskInvertedLists over the new data file `ivfdataPath` (Faiss's merge_ondisk).
 * @returns the number of vectors merged (the index's new ntotal).
 */
export function mergeOnDisk(trainedIndex: Index, shardFiles: readonly string[], ivfdataPath: string, options: MergeOnDiskOptions = {}): number {
  if (!(trainedIndex instanceof Index)) throw new InvalidTypeError('trainedIndex', 'an Index holding a trained IndexIVF', trainedIndex);
  if (!Array.isArray(shardFiles) || shardFiles.some((f) => typeof f !== 'string')) {
    throw new InvalidTypeError('shardFiles', 'an array of index file paths', shardFiles);
  }
  if (trainedIndex instanceof IndexIDMap) {
    throw new NotSupportedError('mergeOnDisk', `an ${trainedIndex.typeName} (its id map is not merged)`, 'add the shards with addWithIds on the IVF index itself, as Faiss does');
  }
  const ivf = extractIndexIVF(trainedIndex, 'trainedIndex');
  if (!ivf.isTrained) throw new NotTrainedError(ivf.typeName, 'mergeOnDisk');
  if (ivf.ntotal !== 0 || trainedIndex.ntotal !== 0) {
    throw new InvalidArgumentError('trainedIndex', `holds ${trainedIndex.ntotal} vectors: mergeOnDisk works only on an empty index`);
  }
  const shards: Index[] = [];
  const lists: InvertedLists[] = [];
  let ntotal: number;
  const od = new OnDiskInvertedLists(ivf.nlist, ivf.codeSize, ivfdataPath, { cacheBytes: options.cacheBytes });
  try {
    shardFiles.forEach((file, i) => {
      const shard = readIndex(file, IO_FLAG_MMAP);
      shards.push(shard);
      const s = extractIndexIVF(shard, `shardFiles[${i}]`);
      checkShard(ivf, s, `shardFiles[${i}]`);
      lists.push(s.invlists);
    });
    ntotal = od.mergeFromMultiple(lists, options.shiftIds ?? false);
  } finally {
    for (const s of shards) s.dispose();
  }
  const before = ivf.invlists.memories();
  ivf.invlists.dispose();
  ivf.invlists = od;
  forgetDropped(before, []);
  ivf.ntotal = ntotal;
  trainedIndex.ntotal = ntotal;
  return ntotal;
}

/** A shard must be the trained index's type, with its dimensions, coarse centroids and encoder. */
function checkShard(ivf: IndexIVF, s: IndexIVF, name: string): void {
  if (s.constructor !== ivf.constructor || s.d !== ivf.d || s.nlist !== ivf.nlist || s.codeSize !== ivf.codeSize || s.metricType !== ivf.metricType) {
    throw new InvalidArgumentError(
      name,
      `is a ${s.typeName} with d = ${s.d}, nlist = ${s.nlist}, codeSize = ${s.codeSize}, metric ${s.metricType}; ` +
        `expected a ${ivf.typeName} with ${ivf.d}, ${ivf.nlist}, ${ivf.codeSize}, ${ivf.metricType} (shards of the trained index)`,
    );
  }
  const a = ivf.quantizer;
  const b = s.quantizer;
  const same = a.ntotal === b.ntotal && a.d === b.d;
  const block = 4096;
  for (let i0 = 0; same && i0 < a.ntotal; i0 += block) {
    const n = Math.min(block, a.ntotal - i0);
    const ca = a.reconstructN(i0, n);
    const cb = b.reconstructN(i0, n);
    for (let j = 0; j < ca.length; j++) {
      if (ca[j] !== cb[j]) throw new InvalidArgumentError(name, `has other coarse centroids than the trained index (centroid ${i0 + Math.floor(j / ivf.d)} differs): shards must be built from the trained index`);
    }
  }
  if (!same) throw new InvalidArgumentError(name, `has a quantizer of ${b.ntotal} centroids, the trained index ${a.ntotal}`);
  // the encoder (PQ, SQ): the check IndexIVF.mergeFrom makes
  (ivf as unknown as { checkCompatibleEncoder(o: IndexIVF): void }).checkCompatibleEncoder(s);
}
