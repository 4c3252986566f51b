/**
 * @module MetricType
 * Faiss's metric types. The numeric values are Faiss's, as written in its index files.
 */
export const MetricType = {
  /** Maximum inner product: larger is closer; results sorted largest first. */
  INNER_PRODUCT: 0,
  /** Squared Euclidean distance: smaller is closer; results sorted smallest first. */
  L2: 1,
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export function metricName(metric: MetricType): string {
  return metric === MetricType.L2 ? 'L2' : 'INNER_PRODUCT';
}

/** True when larger values are better (inner product), false when smaller are (L2). */
export function isSimilarity(metric: MetricType): boolean {
  return metric === MetricType.INNER_PRODUCT;
}
