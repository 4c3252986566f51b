/**
 * @module io/faiss/scalarQuantizer
 * The ScalarQuantizer block of Faiss files (Faiss's read_ScalarQuantizer / write_ScalarQuantizer,
 * impl/index_read.cpp, index_write.cpp), which "IxSQ" (IndexScalarQuantizer) and "IwSq" / "IwSQ" /
 * "IvSQ" (IndexIVFScalarQuantizer) write after their headers. Unchanged from Faiss 1.5 to 1.15:
 *
 * | field         | type           | bytes   | notes                                                       |
 * |---------------|----------------|---------|-------------------------------------------------------------|
 * | qtype         | int32 (enum)   | 4       | QT_8bit 0, QT_4bit 1, QT_8bit_uniform 2, QT_4bit_uniform 3, QT_fp16 4, QT_8bit_direct 5, QT_6bit 6 |
 * | rangestat     | int32 (enum)   | 4       | RS_minmax 0, RS_meanstd 1, RS_quantiles 2, RS_optim 3       |
 * | rangestat_arg | float32        | 4       | the range statistic's parameter (training only)             |
 * | d             | size_t         | 8       | must equal the index's d                                    |
 * | code_size     | size_t         | 8       | must equal the code size of qtype and d                     |
 * | trained       | vector<float>  | 8 + 4 n | n = 2 d (QT_8bit, QT_4bit, QT_6bit: vmin[d] then vdiff[d]), 2 (uniform: vmin, vdiff), 0 (fp16, 8bit_direct) |
 *
 * Checks (Faiss >= 1.14 makes the same, Faiss 1.7.3 none): qtype and rangestat are known values, d
 * and code_size agree with the index, and `trained` holds the number of floats its type needs, or
 * none at all in an index that is not trained. qtypes of later Faiss versions (QT_bf16 7,
 * QT_8bit_direct_signed 8, Faiss >= 1.9; the TurboQuant / EDEN types of Faiss >= 1.15) are a
 * FormatError naming them: simdex does not implement them.
 */
import {
  QuantizerType,
  RangeStat,
  type ScalarQuantizer,
  quantizerTypeName,
  sqCodeSize,
} from '../../quantizers/ScalarQuantizer.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';

/** Faiss's RangeStat names, by number. */
export const FAISS_RANGE_STAT_NAMES = ['RS_minmax', 'RS_meanstd', 'RS_quantiles', 'RS_optim'] as const;

/** qtypes of later Faiss versions that simdex does not implement, for messages. */
const LATER_QTYPES: ReadonlyMap<number, string> = new Map([
  [7, 'QT_bf16 (Faiss >= 1.9)'],
  [8, 'QT_8bit_direct_signed (Faiss >= 1.9)'],
]);

/** A ScalarQuantizer block as read and checked, before it is loaded into a ScalarQuantizer. */
export interface ScalarQuantizerRecord {
  qtype: QuantizerType;
  rangestat: RangeStat;
  /** float32, as stored. */
  rangestatArg: number;
  /** Bytes per code (checked against qtype and d). */
  codeSize: number;
  /** The trained values: empty, 2 or 2*d floats (checked). */
  trained: Float32Array;
  /** Byte offset of the block (of qtype). */
  offset: number;
}

/** Number of trained floats a quantizer of this type and dimension holds once trained. */
export function trainedSize(qtype: QuantizerType, d: number): number {
  if (qtype === QuantizerType.QT_fp16 || qtype === QuantizerType.QT_8bit_direct) return 0;
  if (qtype === QuantizerType.QT_8bit_uniform || qtype === QuantizerType.QT_4bit_uniform) return 2;
  return 2 * d;
}

/**
 * Reads and checks a ScalarQuantizer block (see the module doc).
 * @param index the d and is_trained of the index it belongs to (its header)
 * @param typeName the class being read, for messages
 */
export function readScalarQuantizer(r: IOReader, index: { d: number; isTrained: boolean }, typeName: string): ScalarQuantizerRecord {
  const offset = r.offset;
  const qtypeRaw = r.readI32('ScalarQuantizer qtype');
  if (qtypeRaw < 0 || qtypeRaw > 6) {
    const later = LATER_QTYPES.get(qtypeRaw);
    throw r.error(
      later !== undefined
        ? `${typeName} with ScalarQuantizer qtype ${qtypeRaw} = ${later} is not supported: simdex implements qtypes 0 .. 6 (QT_8bit .. QT_6bit)`
        : `invalid ScalarQuantizer qtype ${qtypeRaw} (expected 0 QT_8bit, 1 QT_4bit, 2 QT_8bit_uniform, 3 QT_4bit_uniform, 4 QT_fp16, 5 QT_8bit_direct or 6 QT_6bit)`,
      offset,
    );
  }
  const qtype = qtypeRaw as QuantizerType;
  const rangestatAt = r.offset;
  const rangestat = r.readI32('ScalarQuantizer rangestat');
  if (rangestat < 0 || rangestat > 3) {
    throw r.error(`invalid ScalarQuantizer rangestat ${rangestat} (expected 0 RS_minmax, 1 RS_meanstd, 2 RS_quantiles or 3 RS_optim)`, rangestatAt);
  }
  const rangestatArg = r.readF32('ScalarQuantizer rangestat_arg');
  const dAt = r.offset;
  const d = r.readU64('ScalarQuantizer d');
  if (d !== BigInt(index.d)) throw r.error(`the ScalarQuantizer has d = ${d}, but ${typeName} has d = ${index.d}`, dAt);
  const codeSizeAt = r.offset;
  const codeSize = r.readU64('ScalarQuantizer code_size');
  const expectedCodeSize = sqCodeSize(qtype, index.d).codeSize;
  if (codeSize !== BigInt(expectedCodeSize)) {
    throw r.error(`the ScalarQuantizer has code_size = ${codeSize}, but ${quantizerTypeName(qtype)} with d = ${index.d} has code_size ${expectedCodeSize}`, codeSizeAt);
  }
  const trainedAt = r.offset;
  const n = r.readVectorHeader(4, 'ScalarQuantizer trained');
  const expected = trainedSize(qtype, index.d);
  if (n !== expected && !(n === 0 && !index.isTrained)) {
    throw r.error(
      `the ScalarQuantizer's trained vector holds ${n} floats, expected ${expected} for ${quantizerTypeName(qtype)} with d = ${index.d}` +
        (expected > 0 ? ' (or 0 in an index that is not trained)' : ''),
      trainedAt,
    );
  }
  const trained = r.readFloat32Array(n, 'ScalarQuantizer trained');
  return { qtype, rangestat: rangestat as RangeStat, rangestatArg, codeSize: expectedCodeSize, trained, offset };
}

/** Loads a record into `sq` (a ScalarQuantizer of the record's qtype and d): range statistic and trained values. */
export function loadScalarQuantizer(sq: ScalarQuantizer, rec: ScalarQuantizerRecord): void {
  sq.rangestat = rec.rangestat;
  sq.rangestatArg = rec.rangestatArg;
  if (rec.trained.length > 0) sq.trained = rec.trained;
}

/** Writes `sq` as Faiss's write_ScalarQuantizer does. */
export function writeScalarQuantizer(w: IOWriter, sq: ScalarQuantizer): void {
  w.writeI32(sq.qtype);
  w.writeI32(sq.rangestat);
  w.writeF32(sq.rangestatArg);
  w.writeU64(sq.d);
  w.writeU64(sq.codeSize);
  w.writeFloat32Vector(sq.trained);
}

/** Bytes writeScalarQuantizer writes for `sq`: 36 + 4 * (trained floats). */
export function scalarQuantizerBytes(sq: ScalarQuantizer): number {
  return 4 + 4 + 4 + 8 + 8 + 8 + 4 * (sq.isTrained ? trainedSize(sq.qtype, sq.d) : 0);
}
