/**
 * simdex for Node.js: the portable core (./simdex.ts) plus what needs the file system (vector files,
 * index files by path, on-disk inverted lists: OnDiskInvertedLists, whose "ilod" file format and
 * IO_FLAG_MMAP reading this entry registers, and mergeOnDisk). `import ... from 'simdex'` resolves here
 * under Node and to the core in a browser.
 */
export * from './simdex.js';
export {
  readVectors, openVectors, readIvecs, readNpy, writeVectors, writeIvecs, writeNpy, type VectorReader,
} from './io/vectorFiles.js';
export { OnDiskInvertedLists, INVALID_OFFSET, type OnDiskInvertedListsOptions, type OnDiskSlot, type OnDiskLayout } from './invlists/OnDiskInvertedLists.js';
export { ListCache } from './invlists/ListCache.js';
export { readOnDiskInvertedLists, writeOnDiskInvertedLists, onDiskInvertedListsBytes } from './io/faiss/ondisk.js';
export { mergeOnDisk, extractIndexIVF, type MergeOnDiskOptions } from './indexes/ivf/mergeOnDisk.js';
