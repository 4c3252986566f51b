/**
 * @module invlists/InvertedLists
 * Faiss's InvertedLists: nlist lists, each a sequence of (int64 id, code of codeSize bytes).
 * IndexIVF only talks to this interface; the array (in-memory) implementation keeps lists in shared
 * WebAssembly memory so the kernels scan them in place; on-disk lists implement the same interface.
 */

/** Where list l is, for the kernels: `table[4l..4l+3]` = segment, codes offset, ids offset, size. */
export interface ListTable {
  memories: WebAssembly.Memory[];
  /** nlist * 4 uint32 over a SharedArrayBuffer */
  table: Uint32Array;
}

/** What prepareSearch returns: the kernels' view, valid for the lists probed by queries [q0, q1). */
export interface SearchLists {
  lists: ListTable;
  /** End of the run of queries covered (> q0). */
  q1: number;
}

export abstract class InvertedLists {
  constructor(
    readonly nlist: number,
    readonly codeSize: number,
  ) {}

  abstract listSize(listNo: number): number;
  /** Codes of list l: listSize(l) * codeSize bytes (a copy). */
  abstract getCodes(listNo: number): Uint8Array;
  /** Ids of list l: listSize(l) int64 (a copy). */
  abstract getIds(listNo: number): BigInt64Array;
  /** Appends n entries to list l; returns the offset of the first. */
  abstract addEntries(listNo: number, ids: BigInt64Array, codes: Uint8Array): number;
  /** Overwrites entries [offset, offset + ids.length) of list l. */
  abstract updateEntries(listNo: number, offset: number, ids: BigInt64Array, codes: Uint8Array): void;
  /** Shrinks list l to newSize entries. */
  abstract resize(listNo: number, newSize: number): void;
  abstract reset(): void;
  /** The kernels' view of every list. */
  abstract listTable(): ListTable;

  /**
   * The WebAssembly memories that hold list data (the thread pool's bookkeeping of dropped memories);
   * by default those of listTable(). Lists without data in memory return [].
   */
  memories(): WebAssembly.Memory[] {
    return this.listTable().memories;
  }

  /** Makes room for bulk adds of sizes[l] more entries to each list l (optional hint). */
  prepareAdd(sizes: Uint32Array): void {
    void sizes;
  }

  /**
   * Makes the lists probed by queries q0, q0+1, ... of a batch scannable, and returns the kernels'
   * view of them with the end q1 of the run of queries covered; IndexIVF searches run by run
   * (Faiss's prefetch_lists, made binding). coarse: n*nprobe list numbers (-1 for none). By default
   * every list is in memory: listTable() for the whole batch. On-disk lists read the probed lists
   * into their cache, as many queries as fit.
   */
  prepareSearch(coarse: Int32Array, nprobe: number, q0: number): SearchLists {
    void q0;
    return { lists: this.listTable(), q1: nprobe > 0 ? Math.floor(coarse.length / nprobe) : 0 };
  }

  /** Releases what the lists hold (memory; on-disk lists close their file and keep it). By default reset(). */
  dispose(): void {
    this.reset();
  }

  /** Reclaims space left by lists that grew, when worth it (lists in shared memory; a no-op by default). */
  compactIfWorthIt(): void {}

  /** Throws when the lists hold no data (read without them) and `operation` needs it. */
  assertData(operation: string): void {
    void operation;
  }

  getSingleId(listNo: number, offset: number): bigint {
    return this.getIds(listNo)[offset]!;
  }

  computeNtotal(): number {
    let n = 0;
    for (let l = 0; l < this.nlist; l++) n += this.listSize(l);
    return n;
  }

  /** Faiss's imbalance factor: 1 when lists are equal, larger when they are not. */
  imbalanceFactor(): number {
    let tot = 0;
    let uf = 0;
    for (let l = 0; l < this.nlist; l++) {
      const s = this.listSize(l);
      tot += s;
      uf += s * s;
    }
    return tot === 0 ? 1 : (uf * this.nlist) / (tot * tot);
  }

  /** Appends all of other's entries to this one's (ids shifted by addId) and empties other. */
  mergeFrom(other: InvertedLists, addId: bigint): void {
    for (let l = 0; l < this.nlist; l++) {
      const n = other.listSize(l);
      if (n === 0) continue;
      const ids = other.getIds(l);
      if (addId !== 0n) for (let i = 0; i < n; i++) ids[i]! += addId;
      this.addEntries(l, ids, other.getCodes(l));
      other.resize(l, 0);
    }
  }
}
