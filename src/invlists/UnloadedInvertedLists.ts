/**
 * @module invlists/UnloadedInvertedLists
 * The inverted lists of an IVF index read without its list data: read with IO_FLAG_SKIP_IVF_DATA
 * (the list sizes are known, the codes and ids were skipped), or from a file whose lists were not
 * stored (Faiss's "il00", written for an IVF whose `invlists` is null; sizes unknown, reported as 0).
 *
 * It answers listSize (and so ntotal statistics, imbalanceFactor, describeIndex) but holds no data:
 * search, reconstruct, add and remove fail with a NotSupportedError that says why, as Faiss fails on
 * an IVF without inverted lists. To use such an index for adding: `index.reset()`, then
 * `index.invlists = new ArrayInvertedLists(index.nlist, index.codeSize)`.
 * writeIndex writes these lists as "il00", as Faiss writes an IVF without lists.
 */
import { NotSupportedError } from '../errors.js';
import { InvertedLists, type ListTable } from './InvertedLists.js';

export class UnloadedInvertedLists extends InvertedLists {
  private readonly sizes: Float64Array;

  /**
   * @param sizes the size of each list as the file gives it (nlist entries), or undefined when the
   *   file does not give them ("il00": every size reads as 0).
   * @param reason why the data are missing, for error messages.
   */
  constructor(
    nlist: number,
    codeSize: number,
    sizes: ArrayLike<number> | undefined,
    readonly reason: string,
  ) {
    super(nlist, codeSize);
    this.sizes = new Float64Array(nlist);
    if (sizes !== undefined) this.sizes.set(sizes);
  }

  /** True when the sizes are known (read with IO_FLAG_SKIP_IVF_DATA), false for "il00" files. */
  get sizesKnown(): boolean {
    return this.reason !== UNLOADED_NULL;
  }

  listSize(listNo: number): number {
    return this.sizes[listNo] ?? 0;
  }

  override assertData(operation: string): void {
    throw this.unsupported(operation);
  }

  getCodes(listNo: number): Uint8Array {
    void listNo;
    throw this.unsupported('reading list codes');
  }

  getIds(listNo: number): BigInt64Array {
    void listNo;
    throw this.unsupported('reading list ids');
  }

  addEntries(listNo: number, ids: BigInt64Array, codes: Uint8Array): number {
    void listNo;
    void ids;
    void codes;
    throw this.unsupported('adding');
  }

  updateEntries(listNo: number, offset: number, ids: BigInt64Array, codes: Uint8Array): void {
    void listNo;
    void offset;
    void ids;
    void codes;
    throw this.unsupported('updating');
  }

  resize(listNo: number, newSize: number): void {
    void listNo;
    void newSize;
    throw this.unsupported('resizing a list');
  }

  override prepareAdd(sizes: Uint32Array): void {
    void sizes;
    throw this.unsupported('adding');
  }

  /** Forgets the sizes; the lists stay without data. */
  reset(): void {
    this.sizes.fill(0);
  }

  /** There are no lists to scan: searching fails here. */
  listTable(): ListTable {
    throw this.unsupported('searching');
  }

  override memories(): WebAssembly.Memory[] {
    return [];
  }

  private unsupported(operation: string): NotSupportedError {
    return new NotSupportedError(
      `inverted lists that were not loaded (${this.reason})`,
      operation,
      'read the index without IO_FLAG_SKIP_IVF_DATA; or, to add vectors to its quantizer, call index.reset() and set ' +
        'index.invlists = new ArrayInvertedLists(index.nlist, index.codeSize)',
    );
  }
}

/** The reason given for lists read with IO_FLAG_SKIP_IVF_DATA. */
export const UNLOADED_SKIPPED = 'read with IO_FLAG_SKIP_IVF_DATA';
/** The reason given for lists that the file does not hold ("il00"). */
export const UNLOADED_NULL = 'the file stores none: "il00"';
