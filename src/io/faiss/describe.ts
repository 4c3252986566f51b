/**
 * @module io/faiss/describe
 * A structured summary of an index and the indexes it contains (for `simdex info`): class, fourcc,
 * d, ntotal, metric and the size of its Faiss file, without writing anything.
 */
import { Index } from '../../Index.js';
import { InvalidTypeError } from '../../errors.js';
import { metricName } from '../../MetricType.js';
import { findWriter } from './writeIndex.js';

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
  /** The indexes it contains (IndexIDMap's sub-index, ...), outermost first. */
  children: IndexDescription[];
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
  return {
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
}

/**
 * The description as indented text, one index per line, e.g.
 * `IndexIDMap2 "IxM2" d=8 ntotal=50 metric=INNER_PRODUCT bytes=2090` then its sub-index, indented.
 */
export function formatIndexDescription(desc: IndexDescription, indent = ''): string {
  const head =
    `${indent}${desc.type}${desc.fourcc !== null ? ` "${desc.fourcc}"` : ''} d=${desc.d} ntotal=${desc.ntotal} ` +
    `metric=${desc.metric}${desc.isTrained ? '' : ' (not trained)'}${desc.bytes !== null ? ` bytes=${desc.bytes}` : ''}`;
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
