/**
 * @module io/faiss/hnsw
 * Faiss's HNSW indexes in Faiss files (Faiss's read_HNSW / write_HNSW, impl/index_read.cpp and
 * index_write.cpp), byte for byte what Faiss 1.7.3 writes: "IHNf" IndexHNSWFlat, "IHNs" IndexHNSWSQ,
 * "IHNp" IndexHNSWPQ, which differ only in their storage. After the fourcc:
 *
 * | field                   | type                        | notes                                        |
 * |-------------------------|-----------------------------|----------------------------------------------|
 * | header                  | index header                | d, ntotal, is_trained, metric (readIndex)     |
 * | assign_probas           | size_t n, n float64         | probability of each top level                 |
 * | cum_nneighbor_per_level | size_t n+1, int32           | [0, 2M, 3M, ...]: M is not stored, it is read from here |
 * | levels                  | size_t ntotal, int32        | levels of each node (top level + 1), >= 1     |
 * | offsets                 | size_t ntotal+1, uint64     | offsets[i+1] = offsets[i] + cum[levels[i]]    |
 * | neighbors               | size_t offsets[ntotal], int32 | each node's lists, level 0 first, -1 padded |
 * | entry_point             | int32                       | -1 when empty                                 |
 * | max_level               | int32                       | levels[entry_point] - 1; -1 when empty        |
 * | efConstruction          | int32                       |                                               |
 * | efSearch                | int32                       |                                               |
 * | upper_beam              | int32                       | simdex searches with 1 only                   |
 * | storage                 | nested index                | see below                                     |
 *
 * The storage is a complete index with its own fourcc and header (same d, ntotal and metric):
 * - "IHNf": IndexFlatL2 "IxF2" / IndexFlatIP "IxFI", the vectors;
 * - "IHNs": IndexScalarQuantizer "IxSQ" (the ScalarQuantizer block, then the codes);
 * - "IHNp": IndexPQ "IxPq" (the ProductQuantizer block, the codes, search_type, encode_signs,
 *   polysemous_ht). Faiss computes the PQ's SDC table after reading; so does simdex.
 * The storage's is_trained is its quantizer's (a Faiss 1.7.3 IndexHNSWSQ over fp16 is not trained
 * until train() is called, while its storage is).
 *
 * Every size is checked against the bytes left before anything is allocated, and the graph's
 * consistency (offsets from the levels, neighbour ids in [-1, ntotal), the entry point at max_level,
 * the storage's class, d / ntotal / metric) before it is loaded: a corrupt file is a FormatError at
 * the offending field's offset. "IHN2" (IndexHNSW2Level) is a FormatError saying it is not supported.
 */
import type { Index } from '../../Index.js';
import { MetricType } from '../../MetricType.js';
import { IndexFlat } from '../../indexes/IndexFlat.js';
import { IndexPQ } from '../../indexes/IndexPQ.js';
import { IndexScalarQuantizer } from '../../indexes/IndexScalarQuantizer.js';
import type { IndexHNSW } from '../../indexes/hnsw/IndexHNSW.js';
import { IndexHNSWFlat } from '../../indexes/hnsw/IndexHNSWFlat.js';
import { IndexHNSWPQ } from '../../indexes/hnsw/IndexHNSWPQ.js';
import { IndexHNSWSQ } from '../../indexes/hnsw/IndexHNSWSQ.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';
import { disposeOnError, readIndexAt, readIndexHeader, supportedMetric, type ReadContext } from './readIndex.js';
import { fourcc } from './fourcc.js';
import { pqSearchFields, productQuantizerBytes, writePqSearchFields, writeProductQuantizer, type PQSearchFields } from './productQuantizer.js';
import { scalarQuantizerBytes, writeScalarQuantizer } from './scalarQuantizer.js';
import { headerBytes, writeIndexHeader, type WriteContext } from './writeIndex.js';

/** Most levels (assign_probas entries) read: Faiss's default at M = 2 has 30. */
export const MAX_HNSW_LEVELS = 1024;
/** Largest M read (simdex's HNSW supports 2 .. 4096). */
export const MAX_HNSW_M = 4096;

/** Faiss's HNSW fourccs simdex does not read yet, with their class names. */
export const UNSUPPORTED_HNSW_FOURCCS: ReadonlyMap<string, string> = new Map([['IHN2', 'IndexHNSW2Level']]);

/** The class of each HNSW fourcc simdex reads, and the storage fourccs it expects. */
const HNSW_CLASSES: ReadonlyMap<string, { type: string; storage: string }> = new Map([
  ['IHNf', { type: 'IndexHNSWFlat', storage: 'an IndexFlat ("IxF2" / "IxFI")' }],
  ['IHNs', { type: 'IndexHNSWSQ', storage: 'an IndexScalarQuantizer ("IxSQ")' }],
  ['IHNp', { type: 'IndexHNSWPQ', storage: 'an IndexPQ ("IxPq")' }],
]);

/** "IHN2": a FormatError naming the class (the fourcc is already consumed). */
export function readUnsupportedHNSW(r: IOReader, name: string): Index {
  throw r.error(
    `${UNSUPPORTED_HNSW_FOURCCS.get(name) ?? 'this HNSW index'} ("${name}") is not supported yet: simdex reads IndexHNSWFlat ("IHNf"), IndexHNSWSQ ("IHNs") and IndexHNSWPQ ("IHNp")`,
    r.offset - 4,
  );
}

/** "IHNf" IndexHNSWFlat, "IHNs" IndexHNSWSQ, "IHNp" IndexHNSWPQ (see the module doc). */
export function readIndexHNSW(r: IOReader, fourccName: string, ctx: ReadContext): Index {
  const cls = HNSW_CLASSES.get(fourccName) ?? HNSW_CLASSES.get('IHNf')!;
  const typeName = cls.type;
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, typeName);
  const { d, ntotal } = header;

  // assign_probas
  const probasAt = r.offset;
  const nProbas = r.readVectorHeader(8, 'assign_probas');
  if (nProbas < 1 || nProbas > MAX_HNSW_LEVELS) throw r.error(`assign_probas has ${nProbas} entries, expected 1 .. ${MAX_HNSW_LEVELS}`, probasAt);
  const assignProbas = new Array<number>(nProbas);
  const probaBytes = r.readBytes(nProbas * 8, 'assign_probas');
  const pv = new DataView(probaBytes.buffer, probaBytes.byteOffset, probaBytes.byteLength);
  for (let i = 0; i < nProbas; i++) {
    const p = pv.getFloat64(i * 8, true);
    if (!(p >= 0 && p <= 1)) throw r.error(`assign_probas[${i}] = ${p}, expected a probability in [0, 1]`, probasAt + 8 + i * 8);
    assignProbas[i] = p;
  }

  // cum_nneighbor_per_level: [0, 2M, 3M, ...], one more entry than assign_probas
  const cumAt = r.offset;
  const nCum = r.readVectorHeader(4, 'cum_nneighbor_per_level');
  if (nCum !== nProbas + 1) throw r.error(`cum_nneighbor_per_level has ${nCum} entries, expected assign_probas's ${nProbas} + 1`, cumAt);
  const cum = readInt32s(r, nCum, 'cum_nneighbor_per_level');
  const M = cum[1]! / 2;
  if (!Number.isInteger(M) || M < 2 || M > MAX_HNSW_M) {
    throw r.error(`cum_nneighbor_per_level[1] = ${cum[1]} is not 2M for an M in 2 .. ${MAX_HNSW_M}`, cumAt + 12);
  }
  for (let l = 0; l < nCum; l++) {
    const want = l === 0 ? 0 : 2 * M + (l - 1) * M;
    if (cum[l] !== want) {
      throw r.error(`cum_nneighbor_per_level[${l}] = ${cum[l]}, expected ${want}: only Faiss's layout (2M on level 0, M = ${M} above) is supported`, cumAt + 8 + 4 * l);
    }
  }

  // levels
  const levelsAt = r.offset;
  const nLevels = r.readVectorHeader(4, 'levels');
  if (nLevels !== ntotal) throw r.error(`levels has ${nLevels} entries, expected ntotal = ${ntotal}`, levelsAt);
  const levels = readInt32s(r, nLevels, 'levels');
  let total = 0;
  let top = 0;
  for (let i = 0; i < ntotal; i++) {
    const L = levels[i]!;
    if (!(L >= 1 && L < nCum)) throw r.error(`levels[${i}] = ${L}, expected 1 .. ${nCum - 1}`, levelsAt + 8 + 4 * i);
    total += cum[L]!;
    if (L > top) top = L;
  }

  // offsets
  const offsetsAt = r.offset;
  const nOffsets = r.readVectorHeader(8, 'offsets');
  if (nOffsets !== ntotal + 1) throw r.error(`offsets has ${nOffsets} entries, expected ntotal + 1 = ${ntotal + 1}`, offsetsAt);
  const offsetBytes = r.readBytes(nOffsets * 8, 'offsets');
  const ov = new DataView(offsetBytes.buffer, offsetBytes.byteOffset, offsetBytes.byteLength);
  let expected = 0n;
  for (let i = 0; i <= ntotal; i++) {
    const o = ov.getBigUint64(i * 8, true);
    if (o !== expected) {
      throw r.error(`offsets[${i}] = ${o}, expected ${expected} (offsets must follow the levels: offsets[i+1] = offsets[i] + cum_nneighbor_per_level[levels[i]])`, offsetsAt + 8 + 8 * i);
    }
    if (i < ntotal) expected += BigInt(cum[levels[i]!]!);
  }

  // neighbors
  const neighborsAt = r.offset;
  const nNeighbors = r.readVectorHeader(4, 'neighbors');
  if (nNeighbors !== total) throw r.error(`neighbors has ${nNeighbors} entries, expected offsets[ntotal] = ${total}`, neighborsAt);
  const neighbors = readInt32s(r, nNeighbors, 'neighbors');
  for (let j = 0; j < nNeighbors; j++) {
    const v = neighbors[j]!;
    if (v < -1 || v >= ntotal) throw r.error(`neighbors[${j}] = ${v}, expected -1 .. ${ntotal - 1}`, neighborsAt + 8 + 4 * j);
  }

  // scalars
  const epAt = r.offset;
  const entryPoint = r.readI32('entry_point');
  const maxLevelAt = r.offset;
  const maxLevel = r.readI32('max_level');
  if (ntotal === 0) {
    if (entryPoint !== -1) throw r.error(`entry_point = ${entryPoint} in an empty graph, expected -1`, epAt);
    if (maxLevel !== -1) throw r.error(`max_level = ${maxLevel} in an empty graph, expected -1`, maxLevelAt);
  } else {
    if (!(entryPoint >= 0 && entryPoint < ntotal)) throw r.error(`entry_point = ${entryPoint}, expected 0 .. ${ntotal - 1}`, epAt);
    if (maxLevel !== levels[entryPoint]! - 1) {
      throw r.error(`max_level = ${maxLevel}, but the entry point ${entryPoint} has top level ${levels[entryPoint]! - 1}`, maxLevelAt);
    }
    if (maxLevel !== top - 1) throw r.error(`max_level = ${maxLevel}, but a node has top level ${top - 1}`, maxLevelAt);
  }
  const efcAt = r.offset;
  const efConstruction = r.readI32('efConstruction');
  if (efConstruction < 1) throw r.error(`efConstruction = ${efConstruction}, expected >= 1`, efcAt);
  const efsAt = r.offset;
  const efSearch = r.readI32('efSearch');
  if (efSearch < 1) throw r.error(`efSearch = ${efSearch}, expected >= 1`, efsAt);
  const beamAt = r.offset;
  const upperBeam = r.readI32('upper_beam');
  if (upperBeam !== 1) throw r.error(`upper_beam = ${upperBeam} is not supported: simdex searches the upper levels greedily (upper_beam = 1)`, beamAt);

  // storage: read whole, then its quantizer and codes move into the graph's memory
  const storageAt = r.offset;
  const storage = readIndexAt(r, ctx);
  const m = metric === MetricType.L2 ? MetricType.L2 : MetricType.INNER_PRODUCT;
  let codes: Uint8Array | Float32Array;
  let index: IndexHNSW | undefined;
  try {
    const expected =
      fourccName === 'IHNs' ? storage instanceof IndexScalarQuantizer : fourccName === 'IHNp' ? storage instanceof IndexPQ : storage instanceof IndexFlat;
    if (!expected) throw r.error(`${typeName} storage is a ${storage.typeName}, expected ${cls.storage}`, storageAt);
    if (storage.d !== d || storage.ntotal !== ntotal || storage.metricType !== metric) {
      throw r.error(
        `${typeName} has d = ${d}, ntotal = ${ntotal}, metric_type ${metric} but its storage has d = ${storage.d}, ` +
          `ntotal = ${storage.ntotal}, metric_type ${storage.metricType}`,
        storageAt,
      );
    }
    if (storage instanceof IndexScalarQuantizer) {
      const sqi = new IndexHNSWSQ(d, storage.sq.qtype, M, m);
      index = sqi;
      sqi.sq.rangestat = storage.sq.rangestat;
      sqi.sq.rangestatArg = storage.sq.rangestatArg;
      if (storage.sq.needsTraining && storage.sq.isTrained) sqi.sq.trained = storage.sq.trained;
      if (sqi.sq.isTrained) sqi.syncTables();
      codes = storage.codes();
    } else if (storage instanceof IndexPQ) {
      const pqi = new IndexHNSWPQ(d, storage.pq.M, M, storage.pq.nbits, m);
      index = pqi;
      if (storage.pq.isTrained) {
        pqi.pq.centroids = storage.pq.centroids;
        pqi.syncTables();
      }
      setHNSWPQSearchFields(pqi, pqSearchFields(storage));
      codes = storage.codes();
    } else {
      index = new IndexHNSWFlat(d, M, m);
      // the floats as they are: a byte view of more than 4 GiB of them is no typed array in V8
      codes = ntotal > 0 ? storage.reconstructN(0, ntotal) : new Float32Array(0);
    }
  } catch (e) {
    index?.dispose();
    throw e;
  } finally {
    storage.dispose();
  }

  const built = index;
  return disposeOnError(built, () => {
    const hnsw = built.hnsw;
    hnsw.efConstruction = efConstruction;
    hnsw.efSearch = efSearch;
    hnsw.upperBeam = upperBeam;
    hnsw.setGraph({ levels, neighbors, cumNneighborPerLevel: cum, assignProbas, entryPoint, maxLevel, codes });
    built.ntotal = ntotal;
    built.isTrained = header.isTrained;
    return built;
  });
}

/** "IHNf" IndexHNSWFlat: readIndexHNSW under its former name. */
export const readIndexHNSWFlat = readIndexHNSW;

/** IndexPQ's search fields of an IndexHNSWPQ's storage, as read (writeIndex writes them back). */
const hnswPqSearchFields = new WeakMap<IndexHNSWPQ, PQSearchFields>();

function setHNSWPQSearchFields(index: IndexHNSWPQ, fields: PQSearchFields): void {
  hnswPqSearchFields.set(index, { ...fields });
}

/** The search fields of an IndexHNSWPQ's storage: as read, else Faiss's defaults for a new IndexPQ. */
function hnswPqFields(index: IndexHNSWPQ): PQSearchFields {
  return hnswPqSearchFields.get(index) ?? { searchType: 0, encodeSigns: false, polysemousHt: index.pq.M * index.pq.nbits + 1 };
}

function readInt32s(r: IOReader, n: number, what: string): Int32Array {
  const bytes = r.readBytes(n * 4, what);
  if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Int32Array(n);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------

/** Bytes of the HNSW block (assign_probas .. upper_beam) of `index`. */
export function hnswBlockBytes(index: IndexHNSW): number {
  const h = index.hnsw;
  const n = index.ntotal;
  const neighbors = n === 0 ? 0 : h.offsets[n]!;
  return 8 + 8 * h.assignProbas.length + 8 + 4 * h.cumNneighborPerLevel.length + 8 + 4 * n + 8 + 8 * (n + 1) + 8 + 4 * neighbors + 5 * 4;
}

/** The fourcc of an HNSW index: "IHNf", "IHNs" or "IHNp". */
export function hnswFourcc(index: IndexHNSW): string {
  return index instanceof IndexHNSWSQ ? 'IHNs' : index instanceof IndexHNSWPQ ? 'IHNp' : 'IHNf';
}

/** Bytes after the fourcc of an HNSW file: header, HNSW block, storage (fourcc, header, its body). */
export function hnswBodyBytes(index: IndexHNSW): number {
  const h = headerBytes(index.metricType);
  const codes = 8 + index.codeSize * index.ntotal;
  let storage: number;
  if (index instanceof IndexHNSWSQ) storage = scalarQuantizerBytes(index.sq) + codes;
  else if (index instanceof IndexHNSWPQ) storage = productQuantizerBytes(index.pq) + codes + 4 + 1 + 4;
  else storage = codes;
  return h + hnswBlockBytes(index) + 4 + h + storage;
}

/** hnswBodyBytes under its former name. */
export const hnswFlatBodyBytes = hnswBodyBytes;

/** Writes the fields of an HNSW index after its fourcc, as Faiss 1.7.3 does (see the module doc). */
export function writeIndexHNSWBody(w: IOWriter, index: IndexHNSW, ctx: WriteContext): void {
  const h = index.hnsw;
  const n = index.ntotal;
  writeIndexHeader(w, index);
  w.writeU64(h.assignProbas.length);
  const probas = new Uint8Array(8 * h.assignProbas.length);
  const pv = new DataView(probas.buffer);
  h.assignProbas.forEach((p, i) => pv.setFloat64(8 * i, p, true));
  w.writeBytes(probas);
  writeInt32Vector(w, Int32Array.from(h.cumNneighborPerLevel));
  writeInt32Vector(w, h.levels);
  const offsets = h.offsets;
  w.writeU64(n + 1);
  const ob = new Uint8Array(8 * (n + 1));
  const ov = new DataView(ob.buffer);
  for (let i = 0; i <= n; i++) ov.setBigUint64(8 * i, BigInt(offsets[i]!), true);
  w.writeBytes(ob);
  writeInt32Vector(w, n === 0 ? new Int32Array(0) : h.neighbors);
  w.writeI32(n === 0 ? -1 : h.entryPoint);
  w.writeI32(n === 0 ? -1 : h.maxLevel);
  w.writeI32(h.efConstruction);
  w.writeI32(h.efSearch);
  w.writeI32(h.upperBeam);
  // storage: Faiss's IndexFlat(d, metric) (written as IndexFlatL2 / IndexFlatIP), IndexScalarQuantizer or IndexPQ
  const cs = index.codeSize;
  const storageHeader = (name: string, isTrained: boolean): void => {
    w.writeU32(fourcc(name));
    w.writeI32(index.d);
    w.writeI64(n);
    w.writeI64(1 << 20);
    w.writeI64(1 << 20);
    w.writeBool(isTrained);
    w.writeI32(index.metricType);
  };
  if (index instanceof IndexHNSWSQ) {
    storageHeader('IxSQ', index.sq.isTrained);
    writeScalarQuantizer(w, index.sq);
  } else if (index instanceof IndexHNSWPQ) {
    storageHeader('IxPq', index.pq.isTrained);
    writeProductQuantizer(w, index.pq);
  } else {
    storageHeader(index.metricType === MetricType.INNER_PRODUCT ? 'IxFI' : 'IxF2', true);
  }
  // the vectors / codes: Faiss writes flat vectors as ntotal*d floats, codes as ntotal*code_size bytes
  w.writeU64(index instanceof IndexHNSWFlat ? BigInt(n) * BigInt(index.d) : BigInt(n) * BigInt(cs));
  const rowsPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / cs));
  for (let i0 = 0; i0 < n; i0 += rowsPerChunk) {
    w.writeBytes(h.codes(i0, Math.min(rowsPerChunk, n - i0)));
  }
  if (index instanceof IndexHNSWPQ) writePqSearchFields(w, hnswPqFields(index));
}

/** writeIndexHNSWBody under its former name. */
export const writeIndexHNSWFlatBody = writeIndexHNSWBody;

function writeInt32Vector(w: IOWriter, a: Int32Array): void {
  w.writeU64(a.length);
  w.writeBytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}
