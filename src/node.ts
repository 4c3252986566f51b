/**
 * simdex for Node.js: the portable core (./simdex.ts) plus what needs the file system (vector files,
 * index files by path). `import ... from 'simdex'` resolves here under Node and to the core in a browser.
 */
export * from './simdex.js';
export {
  readVectors, openVectors, readIvecs, readNpy, writeVectors, writeIvecs, writeNpy, type VectorReader,
} from './io/vectorFiles.js';
