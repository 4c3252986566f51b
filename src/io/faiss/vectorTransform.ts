/**
 * @module io/faiss/vectorTransform
 * VectorTransforms in Faiss files (Faiss's read_VectorTransform / write_VectorTransform,
 * impl/index_read.cpp, index_write.cpp) and the IndexPreTransform ("IxPT") body around them.
 *
 * A transform is a fourcc, its class's fields, then the common tail: int32 d_in, int32 d_out,
 * uint8 is_trained. Bodies (vector<T> = size_t count, then count T):
 *
 * | fourcc | class                    | fields before the tail                                          |
 * |--------|--------------------------|-----------------------------------------------------------------|
 * | "rrot" | RandomRotationMatrix     | LinearTransform fields                                          |
 * | "Pcam" | PCAMatrix                | float32 eigen_power, float32 epsilon, uint8 random_rotation, int32 balanced_bins, vector<float> mean, vector<float> eigenvalues, vector<float> PCAMat, then LinearTransform fields |
 * | "PcAm" | PCAMatrix (older, read)  | as "Pcam" without epsilon                                        |
 * | "PCAm" | PCAMatrix (oldest, read) | as "PcAm" without balanced_bins                                  |
 * | "LTra" | LinearTransform          | LinearTransform fields (Faiss writes OPQMatrix so: it reads back as a LinearTransform) |
 * | "RmDT" | RemapDimensionsTransform | vector<int32> map                                                |
 * | "VNrm" | NormalizationTransform   | float32 norm                                                     |
 * | "VCnt" | CenteringTransform       | vector<float> mean                                               |
 * | "Viqm" | ITQMatrix                | not supported (FormatError naming it)                            |
 * | "Viqt" | ITQTransform             | not supported (FormatError naming it)                            |
 *
 * LinearTransform fields: uint8 have_bias, vector<float> A (d_out*d_in, row-major), vector<float> b.
 * After reading, is_orthonormal is recomputed from A (Faiss's set_is_orthonormal).
 *
 * "IxPT" IndexPreTransform: the index header (d = the first transform's d_in), int32 the chain's
 * length, the transforms in order, then the sub-index (a nested index). simdex checks what Faiss
 * does not: consecutive dimensions agree, the sub-index has the last d_out, the header's ntotal and
 * metric; the sizes of A, b, mean, eigenvalues, PCAMat and map of trained transforms.
 */
import type { Index } from '../../Index.js';
import { NotSupportedError } from '../../errors.js';
import { IndexPreTransform } from '../../indexes/IndexPreTransform.js';
import { VectorTransform } from '../../transforms/VectorTransform.js';
import { LinearTransform } from '../../transforms/LinearTransform.js';
import { RandomRotationMatrix } from '../../transforms/RandomRotationMatrix.js';
import { PCAMatrix } from '../../transforms/PCAMatrix.js';
import { OPQMatrix } from '../../transforms/OPQMatrix.js';
import { NormalizationTransform } from '../../transforms/NormalizationTransform.js';
import { CenteringTransform } from '../../transforms/CenteringTransform.js';
import { RemapDimensionsTransform } from '../../transforms/RemapDimensionsTransform.js';
import { fourcc, fourccToString, unknownFourccError } from './fourcc.js';
import type { IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';
import { MAX_DIMENSION, disposeOnError, readIndexAt, readIndexHeader, supportedMetric, type ReadContext } from './readIndex.js';
import { headerBytes, writeIndexHeader, writeIndexTo, type WriteContext } from './writeIndex.js';

/** Longest chain of transforms read in an IndexPreTransform (Faiss has no limit; real files hold 1 to 3). */
export const MAX_CHAIN_LENGTH = 1024;

/** The transform fourccs Faiss knows and simdex does not read, with their classes. */
export const UNSUPPORTED_TRANSFORM_FOURCCS: ReadonlyMap<string, string> = new Map([
  ['Viqm', 'ITQMatrix'],
  ['Viqt', 'ITQTransform'],
]);

/** The transform fourccs simdex reads. */
const KNOWN_TRANSFORM_FOURCCS: ReadonlySet<string> = new Set(['rrot', 'LTra', 'Pcam', 'PcAm', 'PCAm', 'RmDT', 'VNrm', 'VCnt']);

// ---------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------

/** A serialized std::vector<int32>. */
function readInt32Vector(r: IOReader, what: string): Int32Array {
  const count = r.readVectorHeader(4, what);
  const bytes = r.readBytes(count * 4, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

/** Reads one VectorTransform (fourcc, body, tail) at the reader's offset (Faiss's read_VectorTransform). */
export function readVectorTransform(r: IOReader): VectorTransform {
  const at = r.offset;
  const h = r.readU32('VectorTransform fourcc');
  const name = fourccToString(h);
  const unsupported = UNSUPPORTED_TRANSFORM_FOURCCS.get(name);
  if (unsupported !== undefined) {
    throw r.error(`${unsupported} ("${name}") is not supported yet: simdex reads the transforms rrot, Pcam, PcAm, PCAm, LTra, RmDT, VNrm, VCnt`, at);
  }
  if (!KNOWN_TRANSFORM_FOURCCS.has(name)) throw unknownFourccError(h, r.name, at, 'a VectorTransform', r.fourcc);
  return r.within(name, () => {
    switch (name) {
      case 'rrot':
      case 'LTra':
      case 'Pcam':
      case 'PcAm':
      case 'PCAm':
        return readLinearTransform(r, name);
      case 'RmDT': {
        const mapAt = r.offset;
        const map = readInt32Vector(r, 'RemapDimensionsTransform map');
        const tail = readTail(r);
        if (map.length !== tail.dOut) throw r.error(`RemapDimensionsTransform map has ${map.length} entries, expected d_out = ${tail.dOut}`, mapAt);
        for (let j = 0; j < map.length; j++) {
          if (map[j] !== -1 && !(map[j]! >= 0 && map[j]! < tail.dIn)) {
            throw r.error(`RemapDimensionsTransform map[${j}] = ${map[j]} must be -1 or in [0, d_in = ${tail.dIn})`, mapAt);
          }
        }
        const t = new RemapDimensionsTransform(tail.dIn, tail.dOut, map);
        t.isTrained = tail.isTrained;
        return t;
      }
      case 'VNrm': {
        const norm = r.readF32('NormalizationTransform norm');
        const tail = readTail(r);
        if (tail.dIn !== tail.dOut) throw r.error(`NormalizationTransform has d_in = ${tail.dIn} != d_out = ${tail.dOut}`, tail.offset);
        const t = new NormalizationTransform(tail.dIn, norm);
        t.isTrained = tail.isTrained;
        return t;
      }
      case 'VCnt': {
        const meanAt = r.offset;
        const mean = r.readFloat32Vector('CenteringTransform mean');
        const tail = readTail(r);
        if (tail.dIn !== tail.dOut) throw r.error(`CenteringTransform has d_in = ${tail.dIn} != d_out = ${tail.dOut}`, tail.offset);
        if (tail.isTrained && mean.length !== tail.dIn) throw r.error(`CenteringTransform mean has ${mean.length} floats, expected d = ${tail.dIn}`, meanAt);
        const t = new CenteringTransform(tail.dIn);
        t.mean = mean;
        t.isTrained = tail.isTrained;
        return t;
      }
      default:
        throw r.error(`VectorTransform "${name}" has no reader (internal error)`, at);
    }
  });
}

/** The tail every transform ends with: d_in, d_out, is_trained. */
function readTail(r: IOReader): { dIn: number; dOut: number; isTrained: boolean; offset: number } {
  const offset = r.offset;
  const dIn = r.readI32('d_in');
  const dOut = r.readI32('d_out');
  for (const [what, v] of [['d_in', dIn], ['d_out', dOut]] as const) {
    if (v < 1 || v > MAX_DIMENSION) throw r.error(`invalid ${what} = ${v} (expected 1 .. ${MAX_DIMENSION})`, offset);
  }
  const isTrained = r.readBool('is_trained');
  return { dIn, dOut, isTrained, offset };
}

/** "rrot", "LTra", "Pcam", "PcAm", "PCAm". */
function readLinearTransform(r: IOReader, name: string): LinearTransform {
  let pca: { eigenPower: number; epsilon: number; randomRotation: boolean; balancedBins: number; mean: Float32Array; eigenvalues: Float32Array; PCAMat: Float32Array; at: number } | undefined;
  if (name === 'Pcam' || name === 'PcAm' || name === 'PCAm') {
    const at = r.offset;
    const eigenPower = r.readF32('PCAMatrix eigen_power');
    const epsilon = name === 'Pcam' ? r.readF32('PCAMatrix epsilon') : 0;
    const randomRotation = r.readBool('PCAMatrix random_rotation');
    const balancedBins = name !== 'PCAm' ? r.readI32('PCAMatrix balanced_bins') : 0;
    const mean = r.readFloat32Vector('PCAMatrix mean');
    const eigenvalues = r.readFloat32Vector('PCAMatrix eigenvalues');
    const PCAMat = r.readFloat32Vector('PCAMatrix PCAMat');
    pca = { eigenPower, epsilon, randomRotation, balancedBins, mean, eigenvalues, PCAMat, at };
  }
  const haveBias = r.readBool('have_bias');
  const aAt = r.offset;
  const A = r.readFloat32Vector('LinearTransform A');
  const bAt = r.offset;
  const b = r.readFloat32Vector('LinearTransform b');
  const tail = readTail(r);
  const { dIn, dOut, isTrained } = tail;
  if (isTrained && A.length !== dIn * dOut) {
    throw r.error(`the matrix A of a trained ${name} holds ${A.length} floats, expected d_out*d_in = ${dOut}*${dIn} = ${dIn * dOut}`, aAt);
  }
  if (isTrained && haveBias && b.length !== dOut) {
    throw r.error(`the bias b of a trained ${name} holds ${b.length} floats, expected d_out = ${dOut}`, bAt);
  }
  let lt: LinearTransform;
  if (pca !== undefined) {
    if (dOut > dIn) throw r.error(`PCAMatrix has d_out = ${dOut} > d_in = ${dIn}`, tail.offset);
    if (!Number.isFinite(pca.eigenPower)) throw r.error(`PCAMatrix eigen_power = ${pca.eigenPower} is not finite`, pca.at);
    if (isTrained) {
      if (pca.mean.length !== dIn) throw r.error(`PCAMatrix mean holds ${pca.mean.length} floats, expected d_in = ${dIn}`, pca.at);
      if (pca.eigenvalues.length !== dIn) throw r.error(`PCAMatrix eigenvalues holds ${pca.eigenvalues.length} floats, expected d_in = ${dIn}`, pca.at);
      if (pca.PCAMat.length % dIn !== 0 || pca.PCAMat.length < dOut * dIn) {
        throw r.error(`PCAMatrix PCAMat holds ${pca.PCAMat.length} floats, expected a multiple of d_in = ${dIn}, at least d_out*d_in = ${dOut * dIn}`, pca.at);
      }
    }
    const p = new PCAMatrix(dIn, dOut, pca.eigenPower, pca.randomRotation);
    p.epsilon = pca.epsilon;
    p.balancedBins = pca.balancedBins;
    p.mean = pca.mean;
    p.eigenvalues = pca.eigenvalues;
    p.PCAMat = pca.PCAMat;
    lt = p;
  } else if (name === 'rrot') {
    lt = new RandomRotationMatrix(dIn, dOut);
  } else {
    lt = new LinearTransform(dIn, dOut, haveBias);
  }
  lt.haveBias = haveBias;
  lt.A = A;
  lt.b = b;
  lt.isTrained = isTrained;
  lt.setIsOrthonormal();
  return lt;
}

/** "IxPT" IndexPreTransform (see the module doc). */
export function readIndexPreTransform(r: IOReader, _fourcc: string, ctx: ReadContext): Index {
  const typeName = 'IndexPreTransform';
  const header = readIndexHeader(r);
  const metric = supportedMetric(r, header, typeName);
  const ntAt = r.offset;
  const nt = r.readI32('IndexPreTransform chain length');
  if (nt < 0 || nt > MAX_CHAIN_LENGTH) throw r.error(`invalid chain length ${nt} (expected 0 .. ${MAX_CHAIN_LENGTH})`, ntAt);
  const chain: VectorTransform[] = [];
  let d = header.d;
  for (let i = 0; i < nt; i++) {
    const at = r.offset;
    const t = readVectorTransform(r);
    if (t.dIn !== d) {
      throw r.error(
        `transform ${i} of the chain (${t.typeName}) has d_in = ${t.dIn}, expected ${i === 0 ? `the index's d = ${d}` : `the d_out of transform ${i - 1} = ${d}`}`,
        at,
      );
    }
    chain.push(t);
    d = t.dOut;
  }
  const subAt = r.offset;
  const sub = readIndexAt(r, ctx);
  return disposeOnError(sub, () => {
    if (sub.d !== d || sub.ntotal !== header.ntotal || sub.metricType !== metric) {
      throw r.error(
        `${typeName} expects a sub-index with d = ${d} (the chain's output), ntotal = ${header.ntotal}, metric_type ${metric}, ` +
          `but its sub-index ${sub.typeName} has d = ${sub.d}, ntotal = ${sub.ntotal}, metric_type ${sub.metricType}`,
        subAt,
      );
    }
    const index = new IndexPreTransform(sub);
    for (let i = chain.length - 1; i >= 0; i--) index.prependTransform(chain[i]!);
    index.isTrained = header.isTrained;
    return index;
  });
}

// ---------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------

/** The fourcc Faiss 1.7.3 writes for `vt`; a NotSupportedError for transforms without one. */
export function vectorTransformFourcc(vt: VectorTransform): string {
  if (vt instanceof LinearTransform) {
    if (vt instanceof RandomRotationMatrix) return 'rrot';
    if (vt instanceof PCAMatrix) return 'Pcam';
    return 'LTra'; // OPQMatrix included, as in Faiss
  }
  if (vt instanceof RemapDimensionsTransform) return 'RmDT';
  if (vt instanceof NormalizationTransform) return 'VNrm';
  if (vt instanceof CenteringTransform) return 'VCnt';
  throw new NotSupportedError(vt.typeName, 'writeIndex', 'Faiss files hold LinearTransform, RandomRotationMatrix, PCAMatrix, OPQMatrix, RemapDimensionsTransform, NormalizationTransform and CenteringTransform');
}

/** Writes `vt` as Faiss's write_VectorTransform: fourcc, body, d_in, d_out, is_trained. */
export function writeVectorTransform(w: IOWriter, vt: VectorTransform): void {
  const name = vectorTransformFourcc(vt);
  w.writeU32(fourcc(name));
  if (vt instanceof LinearTransform) {
    if (vt instanceof PCAMatrix) {
      w.writeF32(vt.eigenPower);
      w.writeF32(vt.epsilon);
      w.writeBool(vt.randomRotation);
      w.writeI32(vt.balancedBins);
      w.writeFloat32Vector(vt.mean);
      w.writeFloat32Vector(vt.eigenvalues);
      w.writeFloat32Vector(vt.PCAMat);
    }
    w.writeBool(vt.haveBias);
    w.writeFloat32Vector(vt.A);
    w.writeFloat32Vector(vt.b);
  } else if (vt instanceof RemapDimensionsTransform) {
    w.writeU64(vt.map.length);
    for (const v of vt.map) w.writeI32(v);
  } else if (vt instanceof NormalizationTransform) {
    w.writeF32(vt.norm);
  } else if (vt instanceof CenteringTransform) {
    w.writeFloat32Vector(vt.mean);
  }
  w.writeI32(vt.dIn);
  w.writeI32(vt.dOut);
  w.writeBool(vt.isTrained);
}

/** Bytes writeVectorTransform writes for `vt`. */
export function vectorTransformBytes(vt: VectorTransform): number {
  vectorTransformFourcc(vt);
  let body = 0;
  if (vt instanceof LinearTransform) {
    if (vt instanceof PCAMatrix) body += 4 + 4 + 1 + 4 + (8 + 4 * vt.mean.length) + (8 + 4 * vt.eigenvalues.length) + (8 + 4 * vt.PCAMat.length);
    body += 1 + (8 + 4 * vt.A.length) + (8 + 4 * vt.b.length);
  } else if (vt instanceof RemapDimensionsTransform) {
    body += 8 + 4 * vt.map.length;
  } else if (vt instanceof NormalizationTransform) {
    body += 4;
  } else if (vt instanceof CenteringTransform) {
    body += 8 + 4 * vt.mean.length;
  }
  return 4 + body + 4 + 4 + 1;
}

/** The "IxPT" body: the header, int32 chain length, the transforms, the sub-index. */
export function writeIndexPreTransformBody(w: IOWriter, index: IndexPreTransform, ctx: WriteContext): void {
  for (const t of index.chain) vectorTransformFourcc(t); // fail before writing anything
  writeIndexHeader(w, index);
  w.writeI32(index.chain.length);
  for (const t of index.chain) writeVectorTransform(w, t);
  writeIndexTo(w, index.index, ctx);
}

/** Bytes of writeIndexPreTransformBody's output (the sub-index sized with `sizeOf`). */
export function indexPreTransformBodyBytes(index: IndexPreTransform, sizeOf: (sub: Index) => number): number {
  let bytes = headerBytes(index.metricType) + 4;
  for (const t of index.chain) bytes += vectorTransformBytes(t);
  return bytes + sizeOf(index.index);
}

// ---------------------------------------------------------------------------------------------------
// Descriptions (simdex info)
// ---------------------------------------------------------------------------------------------------

/** What describeIndex reports for one transform of an IndexPreTransform's chain. */
export interface TransformDescription {
  /** Class name: "PCAMatrix", "LinearTransform", ... */
  type: string;
  /** The fourcc Faiss files use for it; null for transforms without one. */
  fourcc: string | null;
  dIn: number;
  dOut: number;
  isTrained: boolean;
  /** Class-specific parameters (eigenPower, randomRotation, M, norm, ...). */
  params: Record<string, number | boolean>;
}

/** Describes each transform of the chain. */
export function describeChain(index: IndexPreTransform): TransformDescription[] {
  return index.chain.map((t) => {
    let fcc: string | null = null;
    try {
      fcc = vectorTransformFourcc(t);
    } catch {
      fcc = null;
    }
    const params: Record<string, number | boolean> = {};
    if (t instanceof PCAMatrix) {
      params.eigenPower = t.eigenPower;
      params.randomRotation = t.randomRotation;
      if (t.epsilon !== 0) params.epsilon = t.epsilon;
      if (t.balancedBins !== 0) params.balancedBins = t.balancedBins;
    }
    if (t instanceof OPQMatrix) params.M = t.M;
    if (t instanceof LinearTransform) {
      params.haveBias = t.haveBias;
      params.isOrthonormal = t.isOrthonormal;
    }
    if (t instanceof NormalizationTransform) params.norm = t.norm;
    return { type: t.typeName, fourcc: fcc, dIn: t.dIn, dOut: t.dOut, isTrained: t.isTrained, params };
  });
}

/** One line fragment: ` chain=[PCAMatrix "Pcam" 16->8 eigenPower=0 ..., NormalizationTransform "VNrm" 8->8 norm=2]`. */
export function formatChain(chain: TransformDescription[]): string {
  const items = chain.map(
    (t) =>
      `${t.type}${t.fourcc !== null ? ` "${t.fourcc}"` : ''} ${t.dIn}->${t.dOut}${t.isTrained ? '' : ' (not trained)'}` +
      Object.entries(t.params)
        .map(([k, v]) => ` ${k}=${String(v)}`)
        .join(''),
  );
  return ` chain=[${items.join(', ')}]`;
}
