/**
 * @module factory/indexFactory
 * Faiss's `index_factory`: builds an index from a description string such as `"IDMap,Flat"`, with
 * Faiss's grammar, and `reverseIndexFactory`, which turns an index back into its string.
 *
 * The parser has one layer per part of the grammar, outermost first, each a table of patterns
 * (a row per Faiss token; a row without `build` is a token Faiss knows and simdex does not have yet):
 *
 * | layer          | examples                                  | table            |
 * |----------------|-------------------------------------------|------------------|
 * | wrappers       | `IDMap,...` `IDMap2,...` `...,RFlat`      | WRAPPERS         |
 * | pre-transforms | `PCA64,...` `OPQ16_64,...` `L2norm,...`   | TRANSFORMS       |
 * | whole indexes  | `Flat` `PQ16` `SQ8` `LSH` `HNSW32,Flat`   | INDEXES          |
 * | coarse quant.  | `IVF4096,...` `IVF65536_HNSW32,...`       | COARSE_QUANTIZERS|
 * | IVF codes      | `...,Flat` `...,PQ32` `...,SQ8`           | IVF_CODES        |
 *
 * Differences from Faiss: spaces around tokens are ignored; errors are a FactoryParseError naming the
 * failing token and the whole description, and saying whether the token is a Faiss token that simdex
 * does not implement yet or not a valid token at all. `IDMap,X,RFlat` is IndexIDMap(IndexRefineFlat(X)) (the
 * ids go around the refinement, as in `X,RFlat,IDMap`); Faiss builds IndexRefine(IndexIDMap(X)) from it,
 * an index that cannot add vectors (IDMap needs add_with_ids, IndexRefine has none).
 */
import { FactoryParseError, InvalidArgumentError, NotSupportedError } from '../errors.js';
import type { Index } from '../Index.js';
import { IndexFlat, IndexFlatIP, IndexFlatL2 } from '../indexes/IndexFlat.js';
import { IndexScalarQuantizer } from '../indexes/IndexScalarQuantizer.js';
import { IndexPQ } from '../indexes/IndexPQ.js';
import { IndexIVFPQ } from '../indexes/ivf/IndexIVFPQ.js';
import { IndexPQFastScan } from '../indexes/IndexPQFastScan.js';
import { IndexIVFPQFastScan } from '../indexes/ivf/IndexIVFPQFastScan.js';
import { IndexHNSWFlat } from '../indexes/hnsw/IndexHNSWFlat.js';
import { IndexHNSWSQ } from '../indexes/hnsw/IndexHNSWSQ.js';
import { IndexHNSWPQ } from '../indexes/hnsw/IndexHNSWPQ.js';
import { IndexIVF } from '../indexes/ivf/IndexIVF.js';
import { IndexIVFFlat } from '../indexes/ivf/IndexIVFFlat.js';
import { IndexIVFScalarQuantizer } from '../indexes/ivf/IndexIVFScalarQuantizer.js';
import { QuantizerType } from '../quantizers/ScalarQuantizer.js';
import { IndexIDMap, IndexIDMap2 } from '../indexes/IndexIDMap.js';
import { IndexRefine, IndexRefineFlat } from '../indexes/IndexRefine.js';
import { MetricType } from '../MetricType.js';
import { IndexPreTransform } from '../indexes/IndexPreTransform.js';
import type { VectorTransform } from '../transforms/VectorTransform.js';
import { PCAMatrix } from '../transforms/PCAMatrix.js';
import { OPQMatrix } from '../transforms/OPQMatrix.js';
import { NormalizationTransform } from '../transforms/NormalizationTransform.js';
import { RandomRotationMatrix } from '../transforms/RandomRotationMatrix.js';
import { RemapDimensionsTransform } from '../transforms/RemapDimensionsTransform.js';
import { checkPositiveInt } from '../validate.js';

/** What every builder gets: the dimension at this point, the metric, and the whole description. */
interface FactoryContext {
  d: number;
  metric: MetricType;
  /** The description as given (for error messages). */
  description: string;
}

/** A row of a token table. */
interface TokenRule<B> {
  /** Matches the whole token (or, for wrappers and indexes, the whole sub-description). */
  pattern: RegExp;
  /** The Faiss class this row builds (for messages and documentation). */
  faissClass: string;
  /** Absent: a Faiss token that simdex does not implement yet. */
  build?: B;
}

/** Wrappers: the inner description is the capture group `inner`. */
type WrapperBuild = (sub: Index, m: RegExpMatchArray, ctx: FactoryContext) => Index;
/** Indexes described by the whole (sub-)description. */
type IndexBuild = (m: RegExpMatchArray, ctx: FactoryContext) => Index;
/** Coarse quantizers: return the quantizer and nlist. */
type CoarseBuild = (m: RegExpMatchArray, ctx: FactoryContext) => { quantizer: Index; nlist: number };
/** IVF code layer: builds the IVF index around its quantizer. */
type IvfCodeBuild = (quantizer: Index, nlist: number, m: RegExpMatchArray, ctx: FactoryContext) => Index;
/** Pre-transforms: d_out of the transform (the index after it works in d_out dimensions). */
type TransformBuild = (m: RegExpMatchArray, ctx: FactoryContext) => VectorTransform;

const SQ = '(?:SQ4|SQ6|SQ8|SQfp16|SQbf16|SQ8_direct_signed|SQ8_direct)';
const AQ = '(?:[0-9]+x[0-9]+(?:_[0-9]+x[0-9]+)*)(?:_Nnone|_Nfloat|_Nqint8|_Nqint4|_Ncqint8|_Ncqint4|_Nlsq2x4|_Nrq2x4)?';
const NLIST = '([0-9]+[kM]?)';

/** "1024", "64k" (x 1024), "1M" (x 1024^2), as Faiss reads nlist. */
function parseNlist(s: string): number {
  const unit = s.endsWith('k') ? 1024 : s.endsWith('M') ? 1024 * 1024 : 1;
  return parseInt(s, 10) * unit;
}

/** The SQ tokens simdex implements and their quantizer types. */
const SQ_TYPES: Record<string, QuantizerType> = {
  SQ4: QuantizerType.QT_4bit,
  SQ6: QuantizerType.QT_6bit,
  SQ8: QuantizerType.QT_8bit,
  SQfp16: QuantizerType.QT_fp16,
  SQ8_direct: QuantizerType.QT_8bit_direct,
};
const SQ_NAMES = new Map<number, string>(Object.entries(SQ_TYPES).map(([name, qt]) => [qt, name]));

function sqType(token: string, ctx: FactoryContext): QuantizerType {
  const qt = SQ_TYPES[token];
  if (qt === undefined) throw new FactoryParseError(token, ctx.description, 'is a Faiss scalar quantizer that is not implemented yet in simdex');
  return qt;
}

/** nbits of "PQ{M}x{nbits}" (8 when absent). Polysemous training ("np" off) is not implemented: codes are the same up to centroid order. */
function pqBits(x: string | undefined): number {
  return x === undefined ? 8 : parseInt(x.slice(1), 10);
}

/** bbs of a FastScan token's "_{bbs}" (32 when absent, as Faiss's mres_to_int(sm, 32, 1)). */
function fsBbs(x: string | undefined): number {
  return x === undefined || x === '' ? 32 : parseInt(x.slice(1), 10);
}

/** A FastScan token with nbits other than 4: Faiss has no such index; the error names the numbers. */
function fsBits(token: string, nbits: string, ctx: FactoryContext): never {
  throw new FactoryParseError(token, ctx.description, `asks for FastScan with nbits = ${nbits}: FastScan (PQ{M}x4fs) packs 4-bit codes only, use x4fs or PQ{M}x${nbits} (IndexPQ / IndexIVFPQ)`);
}

/** Faiss's IVF FastScan row: IndexIVFPQFastScan(quantizer, d, nlist, M, 4, metric, bbs), by_residual = ("r" given). */
function ivfPQFastScan(quantizer: Index, nlist: number, m: RegExpMatchArray, ctx: FactoryContext): Index {
  const index = new IndexIVFPQFastScan(quantizer, ctx.d, nlist, parseInt(m[1]!, 10), 4, ctx.metric, fsBbs(m[3]));
  index.byResidual = m[2] === 'r';
  return index;
}

/** The exact quantizer of an IVF index, as Faiss's factory makes it. */
const flatQuantizer = (ctx: FactoryContext): Index => (ctx.metric === MetricType.INNER_PRODUCT ? new IndexFlatIP(ctx.d) : new IndexFlatL2(ctx.d));

/** Outermost layer: wrappers around a complete sub-index (Faiss accepts IDMap as prefix or suffix). */
const WRAPPERS: TokenRule<WrapperBuild>[] = [
  { pattern: /^IDMap2,(?<inner>.+)$/, faissClass: 'IndexIDMap2', build: (sub) => new IndexIDMap2(sub) },
  { pattern: /^(?<inner>.+),IDMap2$/, faissClass: 'IndexIDMap2', build: (sub) => new IndexIDMap2(sub) },
  { pattern: /^IDMap,(?<inner>.+)$/, faissClass: 'IndexIDMap', build: (sub) => new IndexIDMap(sub) },
  { pattern: /^(?<inner>.+),IDMap$/, faissClass: 'IndexIDMap', build: (sub) => new IndexIDMap(sub) },
  // Faiss builds IndexRefine(base, IndexFlat) for RFlat; IndexRefineFlat is that, and what Faiss reads back from the file
  { pattern: /^(?<inner>.+),RFlat$/, faissClass: 'IndexRefineFlat', build: (sub) => new IndexRefineFlat(sub) },
  { pattern: /^(?<inner>.+),Refine\((?<refine>.+)\)$/, faissClass: 'IndexRefine', build: (sub, m, ctx) => new IndexRefine(sub, parseSub(ctx, m.groups!.refine!)) },
  { pattern: /^MinMax,(?<inner>.+)$/, faissClass: 'IndexRowwiseMinMax' },
  { pattern: /^MinMaxFP16,(?<inner>.+)$/, faissClass: 'IndexRowwiseMinMaxFP16' },
];

/** Leading tokens that transform the vectors before the index (IndexPreTransform). */
const TRANSFORMS: TokenRule<TransformBuild>[] = [
  // Faiss 1.7.3's parse_VectorTransform: PCA{W}{R}n = PCAMatrix(d, n, W ? -0.5 : 0, R), OPQM_n = OPQMatrix(d, M, n), ...
  { pattern: /^PCA(W?)(R?)([0-9]+)$/, faissClass: 'PCAMatrix', build: (m, ctx) => new PCAMatrix(ctx.d, parseInt(m[3]!, 10), m[1] ? -0.5 : 0, m[2] !== '') },
  { pattern: /^L2[nN]orm$/, faissClass: 'NormalizationTransform', build: (_m, ctx) => new NormalizationTransform(ctx.d, 2) },
  { pattern: /^RR([0-9]+)?$/, faissClass: 'RandomRotationMatrix', build: (m, ctx) => new RandomRotationMatrix(ctx.d, m[1] ? parseInt(m[1], 10) : ctx.d) },
  { pattern: /^ITQ([0-9]+)?$/, faissClass: 'ITQTransform' },
  { pattern: /^OPQ([0-9]+)(_[0-9]+)?$/, faissClass: 'OPQMatrix', build: (m, ctx) => new OPQMatrix(ctx.d, parseInt(m[1]!, 10), m[2] ? parseInt(m[2].slice(1), 10) : ctx.d) },
  { pattern: /^Pad([0-9]+)$/, faissClass: 'RemapDimensionsTransform', build: (m, ctx) => new RemapDimensionsTransform(ctx.d, Math.max(parseInt(m[1]!, 10), ctx.d), false) },
];

/** Indexes that the whole (remaining) description describes. */
const INDEXES: TokenRule<IndexBuild>[] = [
  { pattern: /^Flat$/, faissClass: 'IndexFlat', build: (_m, ctx) => new IndexFlat(ctx.d, ctx.metric) },
  { pattern: /^LSH([0-9]*)(r?)(t?)$/, faissClass: 'IndexLSH' },
  { pattern: /^ZnLattice([0-9]+)x([0-9]+)_([0-9]+)$/, faissClass: 'IndexLattice' },
  { pattern: new RegExp(`^${SQ}$`), faissClass: 'IndexScalarQuantizer', build: (m, ctx) => new IndexScalarQuantizer(ctx.d, sqType(m[0], ctx), ctx.metric) },
  { pattern: /^PQ([0-9]+)(x[0-9]+)?(np)?$/, faissClass: 'IndexPQ', build: (m, ctx) => new IndexPQ(ctx.d, parseInt(m[1]!, 10), pqBits(m[2]), ctx.metric) },
  // FastScan (Faiss >= 1.7.0): PQ{M}x4fs[_{bbs}] (bbs default 32); other nbits are an error naming them
  { pattern: /^PQ([0-9]+)x4fs(_[0-9]+)?$/, faissClass: 'IndexPQFastScan', build: (m, ctx) => new IndexPQFastScan(ctx.d, parseInt(m[1]!, 10), 4, ctx.metric, fsBbs(m[2])) },
  { pattern: /^PQ([0-9]+)x([0-9]+)fs(_[0-9]+)?$/, faissClass: 'IndexPQFastScan', build: (m, ctx) => fsBits(m[0], m[2]!, ctx) },
  { pattern: new RegExp(`^(?:RQ|RCQ)${AQ}$`), faissClass: 'IndexResidualQuantizer' },
  { pattern: new RegExp(`^(?:LSQ|LSCQ)${AQ}$`), faissClass: 'IndexLocalSearchQuantizer' },
  { pattern: new RegExp(`^(?:PRQ|PLSQ)[0-9]+x[0-9]+x[0-9]+${AQ.slice(AQ.lastIndexOf('(?:_N'))}$`), faissClass: 'IndexProductResidualQuantizer' },
  { pattern: /^(?:LSQ|RQ|PLSQ[0-9]+x|PRQ[0-9]+x)[0-9]+x4fs(_[0-9]+)?(_N[a-z0-9]+)?$/, faissClass: 'IndexAdditiveQuantizerFastScan' },
  { pattern: /^RaBitQ$/, faissClass: 'IndexRaBitQ' },
  { pattern: /^RaBitQfs(_[0-9]+)?$/, faissClass: 'IndexRaBitQFastScan' },
  // Graph indexes: "HNSW32" (storage Flat), "HNSW32,PQ16", "HNSW32_SQ8" (Faiss accepts , and _).
  { pattern: /^HNSW([0-9]*)(?:[,_](?:Flat)?)?$/, faissClass: 'IndexHNSWFlat', build: (m, ctx) => new IndexHNSWFlat(ctx.d, m[1] ? parseInt(m[1], 10) : 32, ctx.metric) },
  { pattern: new RegExp(`^HNSW([0-9]*)[,_](${SQ})$`), faissClass: 'IndexHNSWSQ', build: (m, ctx) => new IndexHNSWSQ(ctx.d, sqType(m[2]!, ctx), m[1] ? parseInt(m[1], 10) : 32, ctx.metric) },
  // Faiss (1.7.3 and later) builds IndexHNSWPQ with the L2 metric whatever the metric asked; so does simdex.
  // `x{nbits}` is Faiss >= 1.8's (1.7.3 has 8-bit codes only).
  { pattern: /^HNSW([0-9]*)[,_]PQ([0-9]+)(x[0-9]+)?(np)?$/, faissClass: 'IndexHNSWPQ', build: (m, ctx) => new IndexHNSWPQ(ctx.d, parseInt(m[2]!, 10), m[1] ? parseInt(m[1], 10) : 32, pqBits(m[3])) },
  { pattern: /^HNSW([0-9]*)[,_](?:2x)?([0-9]+)\+PQ([0-9]+)?$/, faissClass: 'IndexHNSW2Level' },
  { pattern: /^NSG([0-9]*)(?:[,_](?:Flat)?)?$/, faissClass: 'IndexNSGFlat' },
  { pattern: new RegExp(`^NSG([0-9]*)[,_](?:${SQ}|PQ([0-9]+)(x[0-9]+)?(np)?)$`), faissClass: 'IndexNSG' },
];

/** First token of an IVF description: the coarse quantizer and the number of lists. */
const COARSE_QUANTIZERS: TokenRule<CoarseBuild>[] = [
  { pattern: new RegExp(`^IVF${NLIST}$`), faissClass: 'IndexIVF (IndexFlat quantizer)', build: (m, ctx) => ({ quantizer: flatQuantizer(ctx), nlist: parseNlist(m[1]!) }) },
  {
    pattern: new RegExp(`^IVF${NLIST}_HNSW([0-9]*)$`),
    faissClass: 'IndexIVF (IndexHNSWFlat quantizer)',
    build: (m, ctx) => ({ quantizer: new IndexHNSWFlat(ctx.d, m[2] ? parseInt(m[2], 10) : 32, ctx.metric), nlist: parseNlist(m[1]!) }),
  },
  { pattern: new RegExp(`^IVF${NLIST}_NSG([0-9]+)$`), faissClass: 'IndexIVF (IndexNSGFlat quantizer)' },
  { pattern: new RegExp(`^IVF${NLIST}\\((?<quantizer>.+)\\)$`), faissClass: 'IndexIVF (quantizer given in parentheses)' },
  { pattern: /^IMI2x([0-9]+)$/, faissClass: 'IndexIVF (MultiIndexQuantizer)' },
  { pattern: /^Residual([0-9]+)x([0-9]+)$/, faissClass: 'Index2Layer (MultiIndexQuantizer)' },
  { pattern: /^Residual([0-9]+)$/, faissClass: 'Index2Layer' },
];

/** The rest of an IVF description: how the vectors in the inverted lists are encoded. */
const IVF_CODES: TokenRule<IvfCodeBuild>[] = [
  { pattern: /^Flat$/, faissClass: 'IndexIVFFlat', build: (q, nlist, _m, ctx) => new IndexIVFFlat(q, ctx.d, nlist, ctx.metric) },
  { pattern: /^FlatDedup$/, faissClass: 'IndexIVFFlatDedup' },
  { pattern: /^FlatPanorama([0-9]+)?$/, faissClass: 'IndexIVFFlatPanorama' },
  { pattern: new RegExp(`^${SQ}$`), faissClass: 'IndexIVFScalarQuantizer', build: (q, nlist, m, ctx) => new IndexIVFScalarQuantizer(q, ctx.d, nlist, sqType(m[0], ctx), ctx.metric) },
  { pattern: /^PQ([0-9]+)(x[0-9]+)?(np)?$/, faissClass: 'IndexIVFPQ', build: (q, nlist, m, ctx) => new IndexIVFPQ(q, ctx.d, nlist, parseInt(m[1]!, 10), pqBits(m[2]), ctx.metric) },
  { pattern: /^PQ([0-9]+)\+([0-9]+)$/, faissClass: 'IndexIVFPQR' },
  // IVF FastScan: PQ{M}x4fs (by_residual = false, Faiss 1.7.3's default), PQ{M}x4fsr (by_residual = true), [_{bbs}]
  { pattern: /^PQ([0-9]+)x4fs(r?)(_[0-9]+)?$/, faissClass: 'IndexIVFPQFastScan', build: (q, nlist, m, ctx) => ivfPQFastScan(q, nlist, m, ctx) },
  { pattern: /^PQ([0-9]+)x([0-9]+)fs(r?)(_[0-9]+)?$/, faissClass: 'IndexIVFPQFastScan', build: (_q, _nlist, m, ctx) => fsBits(m[0], m[2]!, ctx) },
  { pattern: new RegExp(`^(?:RQ|LSQ)${AQ}$`), faissClass: 'IndexIVFAdditiveQuantizer' },
  { pattern: /^(?:PRQ|PLSQ)[0-9]+x[0-9]+x[0-9]+(_N[a-z0-9]+)?$/, faissClass: 'IndexIVFProductAdditiveQuantizer' },
  { pattern: /^(?:RQ|LSQ|PRQ[0-9]+x|PLSQ[0-9]+x)[0-9]+x4fs(r?)(_[0-9]+)?(_N[a-z0-9]+)?$/, faissClass: 'IndexIVFAdditiveQuantizerFastScan' },
  { pattern: /^(?:ITQ|PCA|PCAR)([0-9]+)?,SH([-0-9.e]+)?([gcm])?$/, faissClass: 'IndexIVFSpectralHash' },
  { pattern: /^RaBitQ$/, faissClass: 'IndexIVFRaBitQ' },
  { pattern: /^RaBitQfs(_[0-9]+)?$/, faissClass: 'IndexIVFRaBitQFastScan' },
];

/**
 * Builds an index from a Faiss factory description.
 * @param d dimension of the vectors.
 * @param description e.g. `"Flat"`, `"IDMap,Flat"`, `"IDMap2,Flat"`; spaces around tokens are ignored.
 * @param metric MetricType.L2 (default) or MetricType.INNER_PRODUCT.
 * @throws FactoryParseError naming the failing token: a Faiss token not implemented yet in simdex, or
 *   not a valid token; InvalidArgumentError for a bad d or metric.
 */
export function indexFactory(d: number, description: string, metric: MetricType = MetricType.L2): Index {
  checkPositiveInt(d, 'd');
  if (typeof description !== 'string') {
    throw new FactoryParseError(String(description), String(description), 'is not a string');
  }
  const normalized = splitTopLevel(description.trim()).map((t) => t.trim()).join(',');
  if (normalized === '') throw new FactoryParseError('', description, 'is empty: the description names no index');
  return parseSub({ d, metric, description }, normalized);
}

/** One level of the grammar: wrappers, then pre-transforms, then an index, then an IVF. */
function parseSub(ctx: FactoryContext, desc: string): Index {
  // As Faiss: refinement first, then the leading pre-transforms (they change d), then the other wrappers.
  const refined = WRAPPERS.some((r) => r.faissClass.startsWith('IndexRefine') && r.pattern.test(desc));
  if (!refined) {
    const pre = parsePreTransforms(ctx, desc);
    if (pre !== undefined) return pre;
  }
  for (const rule of WRAPPERS) {
    const m = desc.match(rule.pattern);
    if (m === null) continue;
    const inner = m.groups!.inner!;
    if (rule.build === undefined) {
      // Report the wrapper token itself (what is left once the inner description is removed).
      throw notImplemented(wrapperToken(desc, inner), rule, ctx);
    }
    const sub = parseSub(ctx, inner);
    return rule.build(sub, m, ctx);
  }

  const tokens = splitTopLevel(desc);
  const whole = firstMatch(INDEXES, desc);
  if (whole !== undefined) {
    if (whole.rule.build === undefined) throw notImplemented(desc, whole.rule, ctx);
    return whole.rule.build(whole.m, ctx);
  }

  if (tokens.length > 1) {
    const coarse = firstMatch(COARSE_QUANTIZERS, tokens[0]!);
    if (coarse !== undefined) {
      const codeString = tokens.slice(1).join(',');
      const code = firstMatch(IVF_CODES, codeString);
      if (coarse.rule.build === undefined) {
        if (code === undefined) throw unknownToken(codeString, ctx, 'is not a valid IVF code (Flat, PQ32, SQ8, ...)');
        throw notImplemented(tokens[0]!, coarse.rule, ctx);
      }
      if (code === undefined) throw unknownToken(codeString, ctx, 'is not a valid IVF code (Flat, PQ32, SQ8, ...)');
      if (code.rule.build === undefined) throw notImplemented(codeString, code.rule, ctx);
      const { quantizer, nlist } = coarse.rule.build(coarse.m, ctx);
      return fixIvfFields(code.rule.build(quantizer, nlist, code.m, ctx));
    }
  }
  throw explainFailure(ctx, desc, tokens);
}

/**
 * Faiss's fix_ivf_fields: k-means is spherical for every inner-product IVF the factory builds (as
 * Faiss 1.7.3's factory sets cp.spherical); for quantizers other than IndexFlat, the quantizer is not
 * the k-means assignment index: k-means runs with an exact L2 index and the centroids are then added
 * to the quantizer (quantizer_trains_alone = 2).
 */
function fixIvfFields(index: Index): Index {
  if (index instanceof IndexIVF) {
    if (index.metricType === MetricType.INNER_PRODUCT) index.cp.spherical = true;
    if (!(index.quantizer instanceof IndexFlat)) index.quantizerTrainsAlone = 2;
  }
  return index;
}

/**
 * Faiss's loop over the leading transform tokens: all of them go into one IndexPreTransform around
 * the index the rest describes (in their dimensions); undefined when the first token is no transform.
 */
function parsePreTransforms(ctx: FactoryContext, desc: string): Index | undefined {
  let tokens = splitTopLevel(desc);
  const chain: VectorTransform[] = [];
  let d = ctx.d;
  while (tokens.length > 1) {
    const t = firstMatch(TRANSFORMS, tokens[0]!);
    if (t === undefined) break;
    if (t.rule.build === undefined) throw notImplemented(tokens[0]!, t.rule, ctx);
    try {
      chain.push(t.rule.build(t.m, { ...ctx, d }));
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new FactoryParseError(tokens[0]!, ctx.description, `cannot be built in d = ${d}: ${e.message}`);
      throw e;
    }
    d = chain[chain.length - 1]!.dOut;
    tokens = tokens.slice(1);
  }
  if (chain.length === 0) return undefined;
  const index = new IndexPreTransform(parseSub({ ...ctx, d }, tokens.join(',')));
  for (let i = chain.length - 1; i >= 0; i--) index.prependTransform(chain[i]!);
  return index;
}

/** Why `desc` parses as nothing: the first token no table knows, else a misplaced token. */
function explainFailure(ctx: FactoryContext, desc: string, tokens: string[]): FactoryParseError {
  for (const token of tokens) {
    if (token === '') return unknownToken(token, ctx, 'is empty (a comma at an end, or two in a row)');
    if (!isKnownToken(token)) {
      const hint = suggestion(token);
      return unknownToken(token, ctx, `is not a valid token${hint}`);
    }
  }
  const first = tokens[0]!;
  if (tokens.length === 1) {
    if (/^(IDMap2?|RFlat|MinMax|MinMaxFP16|Refine\(.+\))$/.test(first)) {
      return new FactoryParseError(first, ctx.description, `is a wrapper and needs an index to wrap (e.g. "IDMap,Flat")`);
    }
    if (firstMatch(TRANSFORMS, first) !== undefined) {
      return new FactoryParseError(first, ctx.description, `is a pre-transform and must be followed by an index (e.g. "${first},Flat")`);
    }
    if (firstMatch(COARSE_QUANTIZERS, first) !== undefined) {
      return new FactoryParseError(first, ctx.description, `is a coarse quantizer and must be followed by a code (e.g. "${first},Flat")`);
    }
  }
  if (firstMatch(INDEXES, first) !== undefined && tokens.length > 1) {
    return new FactoryParseError(tokens[1]!, ctx.description, `cannot follow "${first}", which is a complete index`);
  }
  return new FactoryParseError(first, ctx.description, `cannot start the description "${desc}"`);
}

/** Whether a single token belongs to any layer's vocabulary. */
function isKnownToken(token: string): boolean {
  if (/^(IDMap2?|RFlat|MinMax|MinMaxFP16|Refine\(.+\))$/.test(token)) return true;
  return [TRANSFORMS, INDEXES, COARSE_QUANTIZERS, IVF_CODES].some((table) => firstMatch(table as TokenRule<unknown>[], token) !== undefined);
}

/** Token stems, for the hint on a token that differs from one only by case ("flat", "hnsw32"). */
const STEMS = ['Flat', 'IDMap', 'RFlat', 'Refine', 'HNSW', 'NSG', 'IVF', 'IMI', 'PQ', 'SQ', 'LSH', 'PCA', 'PCAW', 'PCAR', 'OPQ', 'ITQ', 'RR', 'L2norm', 'Pad', 'RQ', 'LSQ', 'RaBitQ'];

function suggestion(token: string): string {
  const letters = token.match(/^[A-Za-z]+/)?.[0];
  if (letters === undefined) return '';
  const stem = STEMS.find((s) => s.toLowerCase() === letters.toLowerCase() && s !== letters);
  return stem !== undefined ? ` (tokens are case-sensitive: did you mean "${stem}${token.slice(letters.length)}"?)` : '';
}

function firstMatch<B>(table: TokenRule<B>[], s: string): { rule: TokenRule<B>; m: RegExpMatchArray } | undefined {
  for (const rule of table) {
    const m = s.match(rule.pattern);
    if (m !== null) return { rule, m };
  }
  return undefined;
}

function notImplemented(token: string, rule: TokenRule<unknown>, ctx: FactoryContext): FactoryParseError {
  return new FactoryParseError(token, ctx.description, `is a Faiss token (${rule.faissClass}) that is not implemented yet in simdex`);
}

function unknownToken(token: string, ctx: FactoryContext, reason: string): FactoryParseError {
  return new FactoryParseError(token, ctx.description, reason);
}

/** The wrapper's own token: `desc` without its inner description and the comma. */
function wrapperToken(desc: string, inner: string): string {
  if (desc.startsWith(inner + ',')) return desc.slice(inner.length + 1);
  if (desc.endsWith(',' + inner)) return desc.slice(0, desc.length - inner.length - 1);
  return desc;
}

/** Splits on commas outside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

// ---------------------------------------------------------------------------------------------
// reverseIndexFactory

/** A row of the reverse table: the first row whose `matches` is true describes the index. */
interface ReverseRule {
  matches(index: Index): boolean;
  describe(index: Index, sub: (inner: Index) => string): string;
}

/** Subclasses before their parents (IDMap2 before IDMap). */
const REVERSE: ReverseRule[] = [
  // around a refine index, the suffix form: Faiss reads "IDMap,X,RFlat" as IndexRefine(IDMap(X))
  { matches: (i) => i instanceof IndexIDMap2, describe: (i, sub) => idMapName('IDMap2', (i as IndexIDMap2).index, sub) },
  { matches: (i) => i instanceof IndexIDMap, describe: (i, sub) => idMapName('IDMap', (i as IndexIDMap).index, sub) },
  { matches: (i) => i instanceof IndexRefine, describe: (i, sub) => refineName(i as IndexRefine, sub) },
  { matches: (i) => i instanceof IndexPreTransform, describe: (i, sub) => [...(i as IndexPreTransform).chain.map(transformName), sub((i as IndexPreTransform).index)].join(',') },
  { matches: (i) => i instanceof IndexFlat, describe: () => 'Flat' },
  { matches: (i) => i instanceof IndexScalarQuantizer, describe: (i) => sqName((i as IndexScalarQuantizer).sq.qtype) },
  { matches: (i) => i instanceof IndexHNSWFlat, describe: (i) => `HNSW${(i as IndexHNSWFlat).hnsw.M}` },
  { matches: (i) => i instanceof IndexHNSWSQ, describe: (i) => `HNSW${(i as IndexHNSWSQ).hnsw.M}_${sqName((i as IndexHNSWSQ).sq.qtype)}` },
  { matches: (i) => i instanceof IndexHNSWPQ, describe: (i) => `HNSW${(i as IndexHNSWPQ).hnsw.M}_${pqName((i as IndexHNSWPQ).pq)}` },
  { matches: (i) => i instanceof IndexIVFFlat, describe: (i) => `${ivfPrefix(i as IndexIVF)},Flat` },
  { matches: (i) => i instanceof IndexPQ, describe: (i) => pqName((i as IndexPQ).pq) },
  { matches: (i) => i instanceof IndexIVFPQ, describe: (i) => `${ivfPrefix(i as IndexIVF)},${pqName((i as IndexIVFPQ).pq)}` },
  { matches: (i) => i instanceof IndexPQFastScan, describe: (i) => `PQ${(i as IndexPQFastScan).M}x4fs${bbsSuffix((i as IndexPQFastScan).bbs)}` },
  {
    matches: (i) => i instanceof IndexIVFPQFastScan,
    describe: (i) => {
      const f = i as IndexIVFPQFastScan;
      return `${ivfPrefix(f)},PQ${f.M}x4fs${f.byResidual ? 'r' : ''}${bbsSuffix(f.bbs)}`;
    },
  },
  { matches: (i) => i instanceof IndexIVFScalarQuantizer, describe: (i) => `${ivfPrefix(i as IndexIVF)},${sqName((i as IndexIVFScalarQuantizer).sq.qtype)}` },
];

function idMapName(token: string, inner: Index, sub: (inner: Index) => string): string {
  return inner instanceof IndexRefine ? `${sub(inner)},${token}` : `${token},${sub(inner)}`;
}

/** "X,RFlat" for an exact flat refinement index, else "X,Refine(Y)". */
function refineName(index: IndexRefine, sub: (inner: Index) => string): string {
  const r = index.refineIndex;
  const flat = r instanceof IndexFlat && r.metricType === index.metricType;
  return flat ? `${sub(index.baseIndex)},RFlat` : `${sub(index.baseIndex)},Refine(${sub(r)})`;
}

/** The factory token of a transform (Faiss's parse_VectorTransform backwards); NotSupportedError for those without one. */
function transformName(t: VectorTransform): string {
  if (t instanceof PCAMatrix && (t.eigenPower === 0 || t.eigenPower === -0.5)) return `PCA${t.eigenPower === 0 ? '' : 'W'}${t.randomRotation ? 'R' : ''}${t.dOut}`;
  if (t instanceof OPQMatrix) return `OPQ${t.M}_${t.dOut}`;
  if (t instanceof RandomRotationMatrix) return `RR${t.dOut}`;
  if (t instanceof NormalizationTransform && t.norm === 2) return 'L2norm';
  if (t instanceof RemapDimensionsTransform && t.dOut >= t.dIn && t.map.every((v, j) => v === (j < t.dIn ? j : -1))) return `Pad${t.dOut}`;
  const what = t instanceof PCAMatrix ? `PCAMatrix with eigenPower = ${t.eigenPower}` : t.typeName;
  throw new NotSupportedError(what, 'reverseIndexFactory', 'this transform has no factory token');
}

/** "_64" for bbs = 64; nothing for Faiss's default 32. */
function bbsSuffix(bbs: number): string {
  return bbs === 32 ? '' : `_${bbs}`;
}

function pqName(pq: { M: number; nbits: number }): string {
  return pq.nbits === 8 ? `PQ${pq.M}` : `PQ${pq.M}x${pq.nbits}`;
}

function sqName(qtype: number): string {
  const name = SQ_NAMES.get(qtype);
  if (name === undefined) throw new NotSupportedError(`a scalar quantizer of type ${qtype}`, 'reverseIndexFactory', 'no factory token for it');
  return name;
}

/** "IVF{nlist}" for an IVF index over an exact flat quantizer, "IVF{nlist}_HNSW{M}" over an IndexHNSWFlat. */
function ivfPrefix(index: IndexIVF): string {
  if (index.quantizer instanceof IndexHNSWFlat) return `IVF${index.nlist}_HNSW${index.quantizer.hnsw.M}`;
  if (!(index.quantizer instanceof IndexFlat)) {
    throw new NotSupportedError(`${index.typeName} with a ${index.quantizer.typeName} quantizer`, 'reverseIndexFactory');
  }
  return `IVF${index.nlist}`;
}

/**
 * The factory description of an index: `indexFactory(index.d, reverseIndexFactory(index),
 * index.metricType)` builds an empty index of the same structure.
 * @throws NotSupportedError for index types the factory cannot describe.
 */
export function reverseIndexFactory(index: Index): string {
  const rule = REVERSE.find((r) => r.matches(index));
  if (rule === undefined) {
    throw new NotSupportedError(index.typeName, 'reverseIndexFactory', 'this index type has no factory description');
  }
  return rule.describe(index, reverseIndexFactory);
}
