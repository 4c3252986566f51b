/**
 * @module io/faiss/describe
 * A structured summary of an index and the indexes it contains (for `simdex info`): class, fourcc,
 * d, ntotal, metric and the size of its Faiss file, without writing anything; for IVF indexes also
 * nlist, nprobe, the direct map and statistics of the list sizes; for scalar-quantizer indexes the
 * quantizer type, code size and (IVF) whether residuals are encoded.
 */
import { Index } from '../../Index.js';
import { InvalidTypeError } from '../../errors.js';
import { metricName } from '../../MetricType.js';
import { IndexIVF } from '../../indexes/ivf/IndexIVF.js';
import { IndexScalarQuantizer } from '../../indexes/IndexScalarQuantizer.js';
import { IndexIVFScalarQuantizer } from '../../indexes/ivf/IndexIVFScalarQuantizer.js';
import { quantizerTypeName, type ScalarQuantizer } from '../../quantizers/ScalarQuantizer.js';
import { UnloadedInvertedLists } from '../../invlists/UnloadedInvertedLists.js';
import { DIRECT_MAP_TYPE_NAMES } from './invlists.js';
import { FAISS_RANGE_STAT_NAMES } from './scalarQuantizer.js';
import { findWriter } from './writeIndex.js';
import { IndexHNSW } from '../../indexes/hnsw/IndexHNSW.js';
import { IndexHNSWSQ } from '../../indexes/hnsw/IndexHNSWSQ.js';
import { IndexHNSWPQ } from '../../indexes/hnsw/IndexHNSWPQ.js';
import { IndexPQ } from '../../indexes/IndexPQ.js';
import { IndexIVFPQ } from '../../indexes/ivf/IndexIVFPQ.js';
import { IndexPQFastScan } from '../../indexes/IndexPQFastScan.js';
import { IndexIVFPQFastScan } from '../../indexes/ivf/IndexIVFPQFastScan.js';
import { IndexRefine } from '../../indexes/IndexRefine.js';
import { IndexPreTransform } from '../../indexes/IndexPreTransform.js';
import { describeChain, formatChain, type TransformDescription } from './vectorTransform.js';

/** What describeIndex adds for an IVF index. */
export interface IVFDescription {
  nlist: number;
  nprobe: number;
  /** Bytes per stored code. */
  codeSize: number;
  /** "NoMap", "Array" or "Hashtable". */
  directMap: string;
  /** False when the list data were not loaded (IO_FLAG_SKIP_IVF_DATA, or "il00" lists). */
  listsLoaded: boolean;
  /** Statistics of the list sizes; null when they are unknown (a file with "il00" lists). */
  lists: {
    /** Smallest and largest list. */
    min: number;
    max: number;
    /** Average list size: ntotal / nlist. */
    mean: number;
    /** Number of empty lists. */
    empty: number;
    /** Faiss's imbalance factor: nlist * sum(size^2) / ntotal^2; 1 when every list has the same size. */
    imbalance: number;
  } | null;
}

/** What describeIndex adds for IndexScalarQuantizer and IndexIVFScalarQuantizer. */
export interface SQDescription {
  /** Faiss's qtype number (0 .. 6). */
  qtype: number;
  /** Its name: "QT_8bit", "QT_4bit", "QT_8bit_uniform", "QT_4bit_uniform", "QT_fp16", "QT_8bit_direct", "QT_6bit". */
  qtypeName: string;
  /** Bytes per code. */
  codeSize: number;
  /** The range statistic's name ("RS_minmax", ...) and parameter (used by training only). */
  rangestat: string;
  rangestatArg: number;
  /** IndexIVFScalarQuantizer only: whether codes encode residuals to the list centroids (Faiss's by_residual). */
  byResidual?: boolean;
}

/** What describeIndex adds for IndexPQ and IndexIVFPQ. */
export interface PQDescription {
  /** Sub-quantizers. */
  M: number;
  /** Bits per sub-code. */
  nbits: number;
  /** Bytes per code: ceil(M * nbits / 8). */
  codeSize: number;
  /** IndexIVFPQ only: whether codes encode residuals to the list centroids (Faiss's by_residual). */
  byResidual?: boolean;
  /** FastScan (IndexPQFastScan, IndexIVFPQFastScan) only: vectors per packed block. */
  bbs?: number;
}

/** What describeIndex adds for IndexHNSWFlat, IndexHNSWSQ and IndexHNSWPQ. */
export interface HNSWDescription {
  /** Neighbours per node on upper levels (2M on level 0). */
  M: number;
  /** Top level of the entry point (-1 while empty). */
  maxLevel: number;
  entryPoint: number;
  /** levels[l]: number of nodes whose top level is l (length maxLevel + 1). */
  levels: number[];
  efSearch: number;
  efConstruction: number;
}

/** The summary of one index (see {@link describeIndex}). */
export interface IndexDescription {
  /** Class name, as Faiss names it: "IndexFlatL2", "IndexIDMap2", ... */
  type: string;
  /** The fourcc Faiss files use for it ("IxF2", ...); null for types without a Faiss writer yet. */
  fourcc: string | null;
  /** Dimension. */
  d: number;
  /** Number of vectors. */
  ntotal: number;
  /** "L2" or "INNER_PRODUCT". */
  metric: string;
  /** Faiss's metric_type number: 1 for L2, 0 for inner product. */
  metricType: number;
  isTrained: boolean;
  /** Size in bytes of its Faiss file, contained indexes included; null without a Faiss writer. */
  bytes: number | null;
  /** The indexes it contains (IndexIDMap's sub-index, an IVF's quantizer, ...), outermost first. */
  children: IndexDescription[];
  /** IVF indexes only: nlist, nprobe, list statistics. */
  ivf?: IVFDescription;
  /** Scalar-quantizer indexes only: qtype, code size, byResidual. */
  sq?: SQDescription;
  /** Product-quantizer indexes only: M, nbits, code size, byResidual. */
  pq?: PQDescription;
  /** HNSW indexes only: M, the level histogram, efSearch, efConstruction (their storage's quantizer: sq / pq). */
  hnsw?: HNSWDescription;
  /** IndexRefine / IndexRefineFlat only: Faiss's k_factor (children: the base index, then the refinement index). */
  refine?: { kFactor: number };
  /** IndexPreTransform only: its transforms, in order (the sub-index is the child). */
  chain?: TransformDescription[];
}

/** Properties under which composite indexes keep the indexes they contain (for types without a writer row). */
const CHILD_FIELDS = ['index', 'quantizer', 'storage', 'baseIndex', 'refineIndex'] as const;

/** Describes `index` and, recursively, the indexes it contains. */
export function describeIndex(index: Index): IndexDescription {
  if (!(index instanceof Index)) throw new InvalidTypeError('index', 'an Index', index);
  const row = findWriter(index);
  const children = row !== undefined ? row.children(index) : childrenOf(index);
  const described = children.map(describeIndex);
  let bytes: number | null = null;
  if (row !== undefined) {
    const sizes = new Map(children.map((c, i) => [c, described[i]!.bytes] as const));
    let known = true;
    const body = row.bodyBytes(index, (sub) => {
      const b = sizes.get(sub) ?? null;
      if (b === null) known = false;
      return b ?? 0;
    });
    bytes = known ? 4 + body : null;
  }
  const desc: IndexDescription = {
    type: index.typeName,
    fourcc: row !== undefined ? row.fourcc(index) : null,
    d: index.d,
    ntotal: index.ntotal,
    metric: metricName(index.metricType),
    metricType: index.metricType,
    isTrained: index.isTrained,
    bytes,
    children: described,
  };
  if (index instanceof IndexIVF) desc.ivf = describeIVF(index);
  if (index instanceof IndexScalarQuantizer) desc.sq = describeSQ(index.sq);
  if (index instanceof IndexIVFScalarQuantizer) desc.sq = { ...describeSQ(index.sq), byResidual: index.byResidual };
  if (index instanceof IndexHNSW) desc.hnsw = describeHNSW(index);
  if (index instanceof IndexHNSWSQ) desc.sq = describeSQ(index.sq);
  if (index instanceof IndexHNSWPQ) desc.pq = { M: index.pq.M, nbits: index.pq.nbits, codeSize: index.pq.codeSize };
  if (index instanceof IndexPQ) desc.pq = { M: index.pq.M, nbits: index.pq.nbits, codeSize: index.pq.codeSize };
  if (index instanceof IndexIVFPQ) desc.pq = { M: index.pq.M, nbits: index.pq.nbits, codeSize: index.pq.codeSize, byResidual: index.byResidual };
  if (index instanceof IndexPQFastScan) desc.pq = { M: index.M, nbits: 4, codeSize: index.codeSize, bbs: index.bbs };
  if (index instanceof IndexIVFPQFastScan) desc.pq = { M: index.M, nbits: 4, codeSize: index.codeSize, byResidual: index.byResidual, bbs: index.bbs };
  if (index instanceof IndexRefine) desc.refine = { kFactor: index.kFactor };
  if (index instanceof IndexPreTransform) desc.chain = describeChain(index);
  return desc;
}

function describeHNSW(index: IndexHNSW): HNSWDescription {
  const h = index.hnsw;
  const levels: number[] = [];
  for (const L of h.levels) {
    while (levels.length < L) levels.push(0);
    levels[L - 1]!++;
  }
  return { M: h.M, maxLevel: h.maxLevel, entryPoint: h.entryPoint, levels, efSearch: h.efSearch, efConstruction: h.efConstruction };
}

function describeSQ(sq: ScalarQuantizer): SQDescription {
  return {
    qtype: sq.qtype,
    qtypeName: quantizerTypeName(sq.qtype),
    codeSize: sq.codeSize,
    rangestat: FAISS_RANGE_STAT_NAMES[sq.rangestat] ?? String(sq.rangestat),
    rangestatArg: sq.rangestatArg,
  };
}

function describeIVF(index: IndexIVF): IVFDescription {
  const sizes = index.listSizes();
  let min = Infinity;
  let max = 0;
  let empty = 0;
  let total = 0;
  for (const s of sizes) {
    min = Math.min(min, s);
    max = Math.max(max, s);
    total += s;
    if (s === 0) empty++;
  }
  const lists = index.invlists;
  const unloaded = lists instanceof UnloadedInvertedLists;
  return {
    nlist: index.nlist,
    nprobe: index.nprobe,
    codeSize: index.codeSize,
    directMap: DIRECT_MAP_TYPE_NAMES[index.directMap.type],
    listsLoaded: !unloaded,
    lists: unloaded && !lists.sizesKnown ? null : { min, max, mean: total / index.nlist, empty, imbalance: lists.imbalanceFactor() },
  };
}

/**
 * The description as indented text, one index per line, e.g.
 * `IndexIDMap2 "IxM2" d=8 ntotal=50 metric=INNER_PRODUCT bytes=2090` then its sub-index, indented.
 * IVF indexes add e.g. ` nlist=16 nprobe=1 lists=1..305 (mean 125, 0 empty, imbalance 1.5)`, and
 * ` directmap=Array` / ` (lists not loaded)` where that applies (` lists=unknown` for "il00" files).
 * Scalar-quantizer indexes add ` qtype=QT_8bit code_size=16`, a range statistic other than RS_minmax
 * (` rangestat=RS_meanstd(2.5)`), and for IVF ` by_residual=true` or ` by_residual=false`.
 * Product-quantizer indexes add ` pq=4x8 code_size=4` (M x nbits), and for IVF ` by_residual=...`;
 * FastScan indexes also ` bbs=32`.
 * HNSW indexes add ` M=8 maxLevel=2 levels=[433,62,5] efSearch=16 efConstruction=40` (IndexHNSWSQ / IndexHNSWPQ
 * also their quantizer, as above); IndexRefine ` k_factor=4`.
 */
export function formatIndexDescription(desc: IndexDescription, indent = ''): string {
  const ivf = desc.ivf;
  const round = (v: number): string => String(Math.round(v * 100) / 100);
  const ivfText =
    ivf === undefined
      ? ''
      : ` nlist=${ivf.nlist} nprobe=${ivf.nprobe} lists=` +
        (ivf.lists === null
          ? 'unknown'
          : `${ivf.lists.min}..${ivf.lists.max} (mean ${round(ivf.lists.mean)}, ${ivf.lists.empty} empty, imbalance ${round(ivf.lists.imbalance)})`) +
        `${ivf.directMap !== 'NoMap' ? ` directmap=${ivf.directMap}` : ''}${ivf.listsLoaded ? '' : ' (lists not loaded)'}`;
  const sq = desc.sq;
  const sqText =
    sq === undefined
      ? ''
      : ` qtype=${sq.qtypeName} code_size=${sq.codeSize}` +
        (sq.rangestat !== 'RS_minmax' ? ` rangestat=${sq.rangestat}(${sq.rangestatArg})` : '') +
        (sq.byResidual !== undefined ? ` by_residual=${sq.byResidual}` : '');
  const pq = desc.pq;
  const pqText =
    pq === undefined
      ? ''
      : ` pq=${pq.M}x${pq.nbits} code_size=${pq.codeSize}` + (pq.byResidual !== undefined ? ` by_residual=${pq.byResidual}` : '') + (pq.bbs !== undefined ? ` bbs=${pq.bbs}` : '');
  const hn = desc.hnsw;
  const hnswText =
    hn === undefined ? '' : ` M=${hn.M} maxLevel=${hn.maxLevel} levels=[${hn.levels.join(',')}] efSearch=${hn.efSearch} efConstruction=${hn.efConstruction}`;
  const head =
    `${indent}${desc.type}${desc.fourcc !== null ? ` "${desc.fourcc}"` : ''} d=${desc.d} ntotal=${desc.ntotal} ` +
    `metric=${desc.metric}${desc.isTrained ? '' : ' (not trained)'}${desc.bytes !== null ? ` bytes=${desc.bytes}` : ''}${sqText}${pqText}${ivfText}${hnswText}` +
    (desc.refine !== undefined ? ` k_factor=${desc.refine.kFactor}` : '') +
    (desc.chain !== undefined ? formatChain(desc.chain) : '');
  return [head, ...desc.children.map((c) => formatIndexDescription(c, indent + '  '))].join('\n');
}

function childrenOf(index: Index): Index[] {
  const out: Index[] = [];
  const fields = index as unknown as Record<string, unknown>;
  for (const key of CHILD_FIELDS) {
    const v = fields[key];
    if (v instanceof Index && v !== index) out.push(v);
  }
  return out;
}
