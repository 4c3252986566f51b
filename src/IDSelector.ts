/**
 * @module IDSelector
 * Faiss's id selectors: which ids removeIds() removes (and, later, which ids a search may return).
 */

/** Decides whether an id is a member of a set. */
export interface IDSelector {
  isMember(id: bigint): boolean;
}

/** Ids in [imin, imax). */
export class IDSelectorRange implements IDSelector {
  constructor(
    readonly imin: bigint,
    readonly imax: bigint,
  ) {}
  isMember(id: bigint): boolean {
    return id >= this.imin && id < this.imax;
  }
}

/** An explicit set of ids (Faiss's IDSelectorBatch). */
export class IDSelectorBatch implements IDSelector {
  private readonly set: Set<bigint>;
  constructor(ids: BigInt64Array | readonly bigint[]) {
    this.set = new Set(ids);
  }
  isMember(id: bigint): boolean {
    return this.set.has(id);
  }
}

/** Everything except what `inner` selects. */
export class IDSelectorNot implements IDSelector {
  constructor(readonly inner: IDSelector) {}
  isMember(id: bigint): boolean {
    return !this.inner.isMember(id);
  }
}

/** An IDSelector, or the ids themselves (as Faiss's Python wrapper accepts an array). */
export type IDSelectorLike = IDSelector | BigInt64Array | readonly bigint[];

export function toIDSelector(sel: IDSelectorLike): IDSelector {
  if (sel instanceof BigInt64Array || Array.isArray(sel)) return new IDSelectorBatch(sel as BigInt64Array);
  return sel as IDSelector;
}
