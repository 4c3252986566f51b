/**
 * @module io/faiss/fastScan
 * The FastScan classes in Faiss files, as Faiss 1.7.3's index_read.cpp / index_write.cpp and
 * BlockInvertedListsIOHook write them:
 *
 * "IPfs" IndexPQFastScan:
 *
 * | field   | type          | notes                                                              |
 * |---------|---------------|--------------------------------------------------------------------|
 * | header  |               | the index header (readIndex)                                       |
 * | pq      | ProductQuantizer block | nbits must be 4 (io/faiss/productQuantizer)               |
 * | implem  | int32         | Faiss's kernel choice, kept                                        |
 * | bbs     | int32         | vectors per block, a positive multiple of 32                       |
 * | qbs     | int32         | Faiss's query blocking, kept                                       |
 * | ntotal2 | size_t        | ntotal rounded up to bbs when last sized (Faiss's reset leaves it) |
 * | M2      | size_t        | M rounded up to even                                               |
 * | codes   | vector<uint8> | ceil(ntotal / bbs) blocks of bbs*M2/2 bytes (quantizers/pq4FastScan) |
 *
 * "IwPf" IndexIVFPQFastScan: the IVF header (quantizer, direct map), uint8 by_residual, size_t
 * code_size (= ceil(M/2)), int32 bbs, size_t M2, int32 implem, size_t qbs2, the ProductQuantizer
 * block (nbits 4), then the inverted lists: "ilbl" (BlockInvertedLists) as Faiss writes them, or
 * "il00" for lists without data:
 *
 * | field       | type | notes                                                                   |
 * |-------------|------|-------------------------------------------------------------------------|
 * | nlist       | size_t | the IVF's                                                             |
 * | code_size   | size_t | Faiss's InvertedLists::INVALID_CODE_SIZE, (size_t)-1; not checked     |
 * | n_per_block | size_t | = bbs                                                                 |
 * | block_size  | size_t | = bbs*M2/2                                                            |
 * | per list    |        | ids: vector<int64> (size n), codes: vector<uint8> of ceil(n/bbs)*block_size bytes |
 *
 * After reading an IwPf, Faiss builds the precomputed tables (precompute_table); simdex builds them
 * at the first search that needs them (L2 by residual). IO_FLAG_SKIP_IVF_DATA reads the list sizes
 * and skips their data (UnloadedInvertedLists).
 */
import type { Index } from '../../Index.js';
import { IndexPQFastScan } from '../../indexes/IndexPQFastScan.js';
import { IndexIVFPQFastScan } from '../../indexes/ivf/IndexIVFPQFastScan.js';
import { BlockInvertedLists } from '../../invlists/BlockInvertedLists.js';
import type { InvertedLists } from '../../invlists/InvertedLists.js';
import { UNLOADED_NULL, UNLOADED_SKIPPED, UnloadedInvertedLists } from '../../invlists/UnloadedInvertedLists.js';
import { describeFourcc, fourcc, fourccToString, unknownFourccError } from './fourcc.js';
import { skipsIvfData } from './invlists.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';
import { loadProductQuantizer, productQuantizerBytes, readProductQuantizer, writeProductQuantizer, type ProductQuantizerRecord } from './productQuantizer.js';
import { disposeOnError, readIndexHeader, readIvfHeader, readIvfLists, supportedMetric, type ReadContext } from './readIndex.js';
import { headerBytes, ivfHeaderBytes, writeIndexHeader, writeIvfHeader, type WriteContext } from './writeIndex.js';

/** Faiss's InvertedLists::INVALID_CODE_SIZE, the code_size of BlockInvertedLists in files. */
const INVALID_CODE_SIZE = 0xffffffffffffffffn;

/** Checks a FastScan PQ block: nbits 4, M2 = M rounded up to even, bbs a positive multiple of 32. */
function checkFastScanFields(r: IOReader, rec: ProductQuantizerRecord, bbs: number, bbsAt: number, M2: number, M2At: number, typeName: string): void {
  if (rec.nbits !== 4) throw r.error(`${typeName} with ProductQuantizer nbits = ${rec.nbits}: FastScan needs nbits = 4`, rec.offset);
  if (bbs <= 0 || bbs % 32 !== 0) throw r.error(`invalid ${typeName} bbs = ${bbs} (expected a positive multiple of 32)`, bbsAt);
  const want = rec.M + (rec.M & 1);
  if (M2 !== want) throw r.error(`${typeName} has M2 = ${M2}, expected M = ${rec.M} rounded up to even = ${want}`, M2At);
}

// ---- IndexPQFastScan -------------------------------------------------------------------------------

/** "IPfs" IndexPQFastScan (see the module doc). */
export function readIndexPQFastScan(r: IOReader, _fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexPQFastScan';
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, typeName);
  const { d, ntotal } = header;
  const rec = readProductQuantizer(r, header, typeName);
  const implem = r.readI32(`${typeName} implem`);
  const bbsAt = r.offset;
  const bbs = r.readI32(`${typeName} bbs`);
  const qbs = r.readI32(`${typeName} qbs`);
  const ntotal2At = r.offset;
  const ntotal2 = r.readSize(`${typeName} ntotal2`);
  const M2At = r.offset;
  const M2 = r.readSize(`${typeName} M2`);
  checkFastScanFields(r, rec, bbs, bbsAt, M2, M2At, typeName);
  const blocks = Math.ceil(ntotal / bbs);
  if (ntotal2 % bbs !== 0 || ntotal2 < blocks * bbs) {
    throw r.error(`${typeName} has ntotal2 = ${ntotal2}, expected a multiple of bbs = ${bbs} and at least ntotal = ${ntotal} rounded up to it`, ntotal2At);
  }
  const blockBytes = (bbs * M2) / 2;
  const countAt = r.offset;
  const count = r.readVectorHeader(1, `${typeName} codes`);
  if (count !== blocks * blockBytes) {
    throw r.error(`${typeName} codes hold ${count} bytes, expected ceil(ntotal / bbs) * bbs * M2 / 2 = ${blocks} * ${blockBytes} = ${blocks * blockBytes}`, countAt);
  }
  const index = new IndexPQFastScan(d, rec.M, 4, metric, bbs, { maxSegmentBytes: ctx.flat.maxSegmentBytes });
  return disposeOnError(index, () => {
    loadProductQuantizer(index.pq, rec);
    index.implem = implem;
    index.qbs = qbs;
    index.reserve(ntotal);
    const blocksPerChunk = Math.max(1, Math.floor(ctx.chunkBytes / blockBytes));
    for (let b0 = 0; b0 < blocks; b0 += blocksPerChunk) {
      const nb = Math.min(blocksPerChunk, blocks - b0);
      const codes = r.readBytes(nb * blockBytes, `${typeName} codes`);
      index.addPackedBlocks(codes, Math.min(nb * bbs, ntotal - b0 * bbs));
    }
    index.ntotal2 = ntotal2;
    index.isTrained = header.isTrained;
    return index;
  });
}

/** Writes an IndexPQFastScan's fields after "IPfs". */
export function writeIndexPQFastScanBody(w: IOWriter, index: IndexPQFastScan): void {
  writeIndexHeader(w, index);
  writeProductQuantizer(w, index.pq);
  w.writeI32(index.implem);
  w.writeI32(index.bbs);
  w.writeI32(index.qbs);
  w.writeU64(index.ntotal2);
  w.writeU64(index.M2);
  const blocks = Math.ceil(index.ntotal / index.bbs);
  w.writeU64(blocks * index.blockBytes);
  let left = blocks;
  for (const seg of index.segments) {
    const n = Math.min(seg.count, left);
    if (n > 0) w.writeBytes(new Uint8Array(seg.memory.buffer, seg.dataOffset, n * index.blockBytes));
    left -= n;
  }
}

/** Bytes of writeIndexPQFastScanBody's output. */
export function indexPQFastScanBodyBytes(index: IndexPQFastScan): number {
  return headerBytes(index.metricType) + productQuantizerBytes(index.pq) + 4 * 3 + 8 * 2 + 8 + Math.ceil(index.ntotal / index.bbs) * index.blockBytes;
}

// ---- IndexIVFPQFastScan --------------------------------------------------------------------------

/** "IwPf" IndexIVFPQFastScan (see the module doc). */
export function readIndexIVFPQFastScan(r: IOReader, _fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexIVFPQFastScan';
  const h = readIvfHeader(r, ctx, typeName);
  return disposeOnError(h.quantizer, () => {
    const { d } = h.header;
    const byResidual = r.readBool('by_residual');
    const codeSizeAt = r.offset;
    const codeSize = r.readSize(`${typeName} code_size`);
    const bbsAt = r.offset;
    const bbs = r.readI32(`${typeName} bbs`);
    const M2At = r.offset;
    const M2 = r.readSize(`${typeName} M2`);
    const implem = r.readI32(`${typeName} implem`);
    const qbs2 = r.readSize(`${typeName} qbs2`);
    const rec = readProductQuantizer(r, h.header, typeName);
    checkFastScanFields(r, rec, bbs, bbsAt, M2, M2At, typeName);
    if (codeSize !== rec.codeSize) {
      throw r.error(`${typeName} has code_size = ${codeSize}, but its ProductQuantizer (M = ${rec.M}, nbits = 4) has code_size ${rec.codeSize}`, codeSizeAt);
    }
    const index = new IndexIVFPQFastScan(h.quantizer, d, h.nlist, rec.M, 4, h.metric, bbs);
    index.byResidual = byResidual;
    index.implem = implem;
    index.qbs2 = qbs2;
    loadProductQuantizer(index.pq, rec);
    readIvfLists(r, index, h, ctx, () => readBlockInvertedLists(r, index, h.header.ntotal, ctx));
    return index;
  });
}

/** The lists of an IwPf: "ilbl" (or "il00"), checked against the index (see the module doc). */
function readBlockInvertedLists(r: IOReader, index: IndexIVFPQFastScan, ntotal: number, ctx: ReadContext): InvertedLists {
  const at = r.offset;
  const h = r.readU32('inverted lists fourcc');
  const name = fourccToString(h);
  const { nlist, bbs } = index;
  if (name === 'il00') return new UnloadedInvertedLists(nlist, index.codeSize, undefined, UNLOADED_NULL);
  if (name !== 'ilbl') {
    if (name === 'ilar' || name === 'ilod') {
      throw r.error(`IndexIVFPQFastScan with inverted lists ${describeFourcc(h)}: its lists must be packed blocks ("ilbl", BlockInvertedLists)`, at);
    }
    throw unknownFourccError(h, r.name, at, 'inverted lists ("ilbl" or "il00")', r.fourcc);
  }
  return r.within('ilbl', () => {
    const nlistAt = r.offset;
    const fileNlist = r.readSize('ilbl nlist');
    if (fileNlist !== nlist) throw r.error(`inverted lists have nlist = ${fileNlist}, but the IVF index has nlist = ${nlist}`, nlistAt);
    r.readU64('ilbl code_size');
    const nAt = r.offset;
    const nPerBlock = r.readSize('ilbl n_per_block');
    if (nPerBlock !== bbs) throw r.error(`inverted lists have n_per_block = ${nPerBlock}, but the index has bbs = ${bbs}`, nAt);
    const bsAt = r.offset;
    const blockSize = r.readSize('ilbl block_size');
    const want = (bbs * index.M2) / 2;
    if (blockSize !== want) throw r.error(`inverted lists have block_size = ${blockSize}, expected bbs * M2 / 2 = ${want}`, bsAt);
    const skip = skipsIvfData(ctx.flags);
    const sizes = new Float64Array(nlist);
    const lists = skip ? undefined : new BlockInvertedLists(nlist, bbs, blockSize, { maxSegmentBytes: ctx.invlists.maxSegmentBytes });
    lists?.reserveFor(ntotal, nlist);
    let total = 0;
    try {
      for (let l = 0; l < nlist; l++) {
        const idsAt = r.offset;
        const n = r.readVectorHeader(8, `list ${l} ids`);
        const ids = skip ? undefined : r.readBigInt64Array(n, `list ${l} ids`);
        if (skip) r.skip(n * 8, `list ${l} ids`);
        const codesAt = r.offset;
        const bytes = r.readVectorHeader(1, `list ${l} codes`);
        if (bytes !== Math.ceil(n / bbs) * blockSize) {
          throw r.error(`list ${l} holds ${bytes} bytes of codes for ${n} ids, expected ceil(${n} / ${bbs}) * ${blockSize}`, codesAt);
        }
        if (lists === undefined) r.skip(bytes, `list ${l} codes`);
        else lists.addBlocksWith(l, n, (codes, out) => {
          r.readInto(codes, `list ${l} codes`);
          out.set(ids!);
        });
        sizes[l] = n;
        total += n;
        if (total > ntotal) throw r.error(`the lists hold more than the IVF index's ntotal = ${ntotal} entries`, idsAt);
      }
      if (total !== ntotal) throw r.error(`inverted lists hold ${total} entries, but the IVF index has ntotal = ${ntotal}`, at);
    } catch (e) {
      lists?.reset();
      throw e;
    }
    return lists ?? new UnloadedInvertedLists(nlist, index.codeSize, sizes, UNLOADED_SKIPPED);
  });
}

/** Writes an IndexIVFPQFastScan's fields after "IwPf". */
export function writeIndexIVFPQFastScanBody(w: IOWriter, index: IndexIVFPQFastScan, ctx: WriteContext): void {
  writeIvfHeader(w, index, ctx);
  w.writeBool(index.byResidual);
  w.writeU64(index.codeSize);
  w.writeI32(index.bbs);
  w.writeU64(index.M2);
  w.writeI32(index.implem);
  w.writeU64(index.qbs2);
  writeProductQuantizer(w, index.pq);
  const lists = index.invlists;
  if (!(lists instanceof BlockInvertedLists)) {
    w.writeU32(fourcc('il00'));
    return;
  }
  w.writeU32(fourcc('ilbl'));
  w.writeU64(lists.nlist);
  w.writeU64(INVALID_CODE_SIZE);
  w.writeU64(lists.nPerBlock);
  w.writeU64(lists.blockSize);
  for (let l = 0; l < lists.nlist; l++) {
    const { codes, ids } = lists.entriesView(l);
    w.writeU64(ids.length);
    w.writeBigInt64Array(ids);
    w.writeU64(codes.length);
    w.writeBytes(codes);
  }
}

/** Bytes of writeIndexIVFPQFastScanBody's output (the quantizer sized with `sizeOf`). */
export function indexIVFPQFastScanBodyBytes(index: IndexIVFPQFastScan, sizeOf: (sub: Index) => number): number {
  const lists = index.invlists;
  let listBytes = 4;
  if (lists instanceof BlockInvertedLists) {
    listBytes += 4 * 8;
    for (let l = 0; l < lists.nlist; l++) {
      const n = lists.listSize(l);
      listBytes += 8 + 8 * n + 8 + lists.packedBytes(n);
    }
  }
  return ivfHeaderBytes(index, sizeOf) + 1 + 8 + 4 + 8 + 4 + 8 + productQuantizerBytes(index.pq) + listBytes;
}
