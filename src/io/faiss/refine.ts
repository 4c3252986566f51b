/**
 * @module io/faiss/refine
 * IndexRefine and IndexRefineFlat in Faiss files ("IxRF"; Faiss 1.7.3's index_read.cpp /
 * index_write.cpp), byte for byte what Faiss 1.7.3 writes. After the fourcc:
 *
 * | field        | type          | notes                                                            |
 * |--------------|---------------|------------------------------------------------------------------|
 * | header       | index header  | d, ntotal, is_trained, metric (readIndex)                         |
 * | base_index   | nested index  | any index (e.g. "IwPQ")                                           |
 * | refine_index | nested index  | any index; "IxF2" / "IxFI" / "IxFl" for IndexRefineFlat           |
 * | k_factor     | float32       | candidates per result asked of the base index (Faiss's default 1) |
 *
 * Both classes write "IxRF"; on reading, Faiss makes an IndexRefineFlat when the refinement index is
 * an IndexFlat (of any subclass), an IndexRefine otherwise, and so does simdex. The two nested indexes
 * must agree with the header (d, metric) and hold ntotal vectors each; k_factor must be a finite
 * number >= 1 (Faiss 1.7.3 reads any float; a smaller one would make its search read past the
 * base results).
 */
import type { Index } from '../../Index.js';
import { IndexFlat } from '../../indexes/IndexFlat.js';
import { IndexRefine, IndexRefineFlat } from '../../indexes/IndexRefine.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';
import { disposeOnError, readIndexAt, readIndexHeader, supportedMetric, type ReadContext } from './readIndex.js';
import { headerBytes, writeIndexHeader, writeIndexTo, type WriteContext } from './writeIndex.js';

/** "IxRF": IndexRefineFlat when the refinement index is an IndexFlat, else IndexRefine. */
export function readIndexRefine(r: IOReader, _fourcc: string, ctx: ReadContext): Index {
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, 'IndexRefine');
  const check = (sub: Index, what: string, at: number): void => {
    if (sub.d !== header.d || sub.metricType !== metric || sub.ntotal !== header.ntotal) {
      throw r.error(
        `IndexRefine has d = ${header.d}, ntotal = ${header.ntotal}, metric_type ${metric} but its ${what} ${sub.typeName} ` +
          `has d = ${sub.d}, ntotal = ${sub.ntotal}, metric_type ${sub.metricType}`,
        at,
      );
    }
  };
  const baseAt = r.offset;
  const base = readIndexAt(r, ctx);
  return disposeOnError(base, () => {
    check(base, 'base_index', baseAt);
    const refineAt = r.offset;
    const refine = readIndexAt(r, ctx);
    return disposeOnError(refine, () => {
      check(refine, 'refine_index', refineAt);
      const kAt = r.offset;
      const kFactor = r.readF32('k_factor');
      if (!Number.isFinite(kFactor) || kFactor < 1) throw r.error(`invalid k_factor = ${kFactor} (expected a finite number >= 1)`, kAt);
      const index = refine instanceof IndexFlat ? new IndexRefineFlat(base, refine) : new IndexRefine(base, refine);
      index.kFactor = kFactor;
      index.isTrained = header.isTrained;
      return index;
    });
  });
}

/** Writes the fields after "IxRF": the header, the base index, the refinement index, k_factor. */
export function writeIndexRefineBody(w: IOWriter, index: IndexRefine, ctx: WriteContext): void {
  writeIndexHeader(w, index);
  writeIndexTo(w, index.baseIndex, ctx);
  writeIndexTo(w, index.refineIndex, ctx);
  w.writeF32(index.kFactor);
}

/** Bytes of writeIndexRefineBody's output, the nested indexes sized with `sizeOf`. */
export function refineBodyBytes(index: IndexRefine, sizeOf: (sub: Index) => number): number {
  return headerBytes(index.metricType) + sizeOf(index.baseIndex) + sizeOf(index.refineIndex) + 4;
}
