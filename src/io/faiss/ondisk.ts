/**
 * @module io/faiss/ondisk
 * Faiss's OnDiskInvertedListsIOHook: the "ilod" inverted lists of an IVF file (the metadata of
 * OnDiskInvertedLists; their data stay in a separate data file, Faiss's `.ivfdata`), and IVF files
 * read with IO_FLAG_MMAP, whose "ilar" lists are then left in the index file. Node only: loading this
 * module (the Node entry does) registers the hook with io/faiss/invlists.
 *
 * "ilod" as Faiss 1.7.3 writes it (unchanged through Faiss 1.13), after the fourcc:
 *
 * | field     | type                  | bytes        | notes                                                 |
 * |-----------|-----------------------|--------------|-------------------------------------------------------|
 * | nlist     | size_t                | 8            | the IVF's                                             |
 * | code_size | size_t                | 8            | the IVF's                                             |
 * | lists     | vector<OnDiskOneList> | 8 + 24*nlist | per list: size_t size, capacity (entries), offset (bytes; (size_t)-1 for none) |
 * | slots     | vector<Slot>          | 8 + 16*m     | free ranges: size_t offset, capacity (bytes), by offset |
 * | filename  | vector<char>          | 8 + len      | the data file, as given when it was created (UTF-8)   |
 * | totsize   | size_t                | 8            | bytes of the data file the lists use                  |
 *
 * Checks on reading, before anything is opened: nlist and code_size equal the IVF's, one entry per
 * list, size <= capacity, a list without offset is empty, every list and slot ends within totsize,
 * the sizes add up to ntotal; the data file holds at least totsize bytes (else a FormatError at its
 * end). Flags: IO_FLAG_READ_ONLY opens the lists read-only; IO_FLAG_ONDISK_SAME_DIR looks for the data
 * file in the index file's folder (as Faiss: the folder of the index path up to its last '/', then the
 * stored name after its last '/'); IO_FLAG_SKIP_IVF_DATA alone leaves the data file unopened (opened
 * at the first read; Faiss does not map it then either).
 *
 * IO_FLAG_MMAP on "ilar" lists (Faiss's read_ArrayInvertedLists hook): the lists are read-only
 * OnDiskInvertedLists over the index file itself (`inIndexFile`): list l at the byte where its data
 * lie, capacity = size, in list order; totsize = the file's size. writeIndex writes them back as "ilar"
 * (a self-contained copy; Faiss would write "ilod" lists naming the original file). From bytes rather
 * than a file, the lists are read into memory.
 */
import { INVALID_OFFSET, OnDiskInvertedLists } from '../../invlists/OnDiskInvertedLists.js';
import type { InvertedLists } from '../../invlists/InvertedLists.js';
import { fourcc } from './fourcc.js';
import { registerInvertedListsIOHook, type InvertedListsContext } from './invlists.js';
import { FileSource, type IOReader } from './IOReader.js';
import type { IOWriter } from './IOWriter.js';

const IO_FLAG_READ_ONLY = 2;
const IO_FLAG_ONDISK_SAME_DIR = 4;
const IO_FLAG_SKIP_IVF_DATA = 8;
const MAX_SIZE = BigInt(Number.MAX_SAFE_INTEGER);

/** Reads "ilod" lists (see the module doc), the fourcc already consumed. */
export function readOnDiskInvertedLists(r: IOReader, ctx: InvertedListsContext): OnDiskInvertedLists {
  const { nlist, codeSize } = ctx;
  const nlistAt = r.offset;
  const fileNlist = r.readSize('ilod nlist');
  if (fileNlist !== nlist) throw r.error(`on-disk inverted lists have nlist = ${fileNlist}, but the IVF index has nlist = ${nlist}`, nlistAt);
  const codeSizeAt = r.offset;
  const fileCodeSize = r.readSize('ilod code_size');
  if (fileCodeSize !== codeSize) throw r.error(`on-disk inverted lists have code_size = ${fileCodeSize}, but the IVF index has code_size = ${codeSize}`, codeSizeAt);
  const countAt = r.offset;
  const count = r.readVectorHeader(24, 'ilod lists');
  if (count !== nlist) throw r.error(`on-disk inverted lists hold ${count} list entries, expected nlist = ${nlist}`, countAt);
  const listsAt = r.offset;
  const raw = r.readBigInt64Array(3 * nlist, 'ilod lists');
  const slotCount = r.readVectorHeader(16, 'ilod slots');
  const slotsAt = r.offset;
  const rawSlots = r.readBigInt64Array(2 * slotCount, 'ilod slots');
  const nameLength = r.readVectorHeader(1, 'ilod filename');
  const nameAt = r.offset;
  const nameBytes = r.readBytes(nameLength, 'ilod filename');
  let filename: string;
  try {
    filename = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
  } catch {
    throw r.error('the data file name of the on-disk inverted lists is not valid UTF-8', nameAt);
  }
  if (filename.length === 0) throw r.error('the data file name of the on-disk inverted lists is empty', nameAt);
  const totsizeAt = r.offset;
  const totsize = r.readSize('ilod totsize');

  const entryBytes = codeSize + 8;
  const sizes = new Float64Array(nlist);
  const capacities = new Float64Array(nlist);
  const offsets = new Float64Array(nlist);
  let total = 0;
  for (let l = 0; l < nlist; l++) {
    const at = listsAt + 24 * l;
    const size = raw[3 * l]!;
    const capacity = raw[3 * l + 1]!;
    const offset = raw[3 * l + 2]!;
    if (size < 0n || capacity < 0n || size > MAX_SIZE || capacity > MAX_SIZE || size > capacity || size > 0xffffffffn) {
      throw r.error(`list ${l} has size ${BigInt.asUintN(64, size)} and capacity ${BigInt.asUintN(64, capacity)} (expected size <= capacity, size < 2^32)`, at);
    }
    if (offset === -1n) {
      if (size !== 0n) throw r.error(`list ${l} holds ${size} entries but has no place in the data file (offset (size_t)-1)`, at + 16);
      offsets[l] = INVALID_OFFSET;
    } else {
      const end = offset + capacity * BigInt(entryBytes);
      if (offset < 0n || end > BigInt(totsize)) {
        throw r.error(`list ${l} at offset ${BigInt.asUintN(64, offset)} with capacity ${capacity} (${capacity * BigInt(entryBytes)} bytes) ends past totsize = ${totsize}`, at + 16);
      }
      offsets[l] = Number(offset);
    }
    sizes[l] = Number(size);
    capacities[l] = Number(capacity);
    total += sizes[l]!;
  }
  if (total !== ctx.ntotal) throw r.error(`on-disk inverted lists hold ${total} entries, but the IVF index has ntotal = ${ctx.ntotal}`, listsAt);
  const slots = [];
  for (let j = 0; j < slotCount; j++) {
    const offset = rawSlots[2 * j]!;
    const capacity = rawSlots[2 * j + 1]!;
    if (offset < 0n || capacity < 0n || offset + capacity > BigInt(totsize)) {
      throw r.error(`slot ${j} (offset ${BigInt.asUintN(64, offset)}, ${BigInt.asUintN(64, capacity)} bytes) ends past totsize = ${totsize}`, slotsAt + 16 * j);
    }
    slots.push({ offset: Number(offset), capacity: Number(capacity) });
  }
  if ((ctx.flags & IO_FLAG_ONDISK_SAME_DIR) !== 0) {
    if (!(r.source instanceof FileSource)) throw r.error('IO_FLAG_ONDISK_SAME_DIR needs the index to be read from a file (its folder holds the data file), not from bytes', totsizeAt);
    const slash = r.name.lastIndexOf('/');
    const dir = slash >= 0 ? r.name.slice(0, slash + 1) : './';
    filename = dir + filename.slice(filename.lastIndexOf('/') + 1);
  }
  const lists = OnDiskInvertedLists.fromLayout(nlist, codeSize, filename, { sizes, capacities, offsets, slots, totsize }, {
    readOnly: (ctx.flags & IO_FLAG_READ_ONLY) !== 0,
    cacheBytes: ctx.cacheBytes,
  });
  const skipOnly = (ctx.flags & IO_FLAG_SKIP_IVF_DATA) !== 0 && (ctx.flags & 0xffff0000) === 0;
  if (!skipOnly) lists.open();
  return lists;
}

/** Writes `lists` as "ilod" (see the module doc). */
export function writeOnDiskInvertedLists(w: IOWriter, lists: OnDiskInvertedLists): void {
  const { nlist } = lists;
  w.writeU32(fourcc('ilod'));
  w.writeU64(nlist);
  w.writeU64(lists.codeSize);
  const raw = new BigInt64Array(3 * nlist);
  for (let l = 0; l < nlist; l++) {
    raw[3 * l] = BigInt(lists.sizes[l]!);
    raw[3 * l + 1] = BigInt(lists.capacities[l]!);
    raw[3 * l + 2] = lists.offsets[l] === INVALID_OFFSET ? -1n : BigInt(lists.offsets[l]!);
  }
  w.writeU64(nlist);
  w.writeBigInt64Array(raw);
  w.writeU64(lists.slots.length);
  w.writeBigInt64Array(BigInt64Array.from(lists.slots.flatMap((s) => [BigInt(s.offset), BigInt(s.capacity)])));
  const name = new TextEncoder().encode(lists.filename);
  w.writeU64(name.length);
  w.writeBytes(name);
  w.writeU64(lists.totsize);
}

/** Bytes writeOnDiskInvertedLists writes. */
export function onDiskInvertedListsBytes(lists: OnDiskInvertedLists): number {
  return 4 + 8 + 8 + 8 + 24 * lists.nlist + 8 + 16 * lists.slots.length + 8 + new TextEncoder().encode(lists.filename).length + 8;
}

/**
 * IO_FLAG_MMAP on "ilar" lists: read-only on-disk lists over the index file, the reader moved past
 * their data; undefined (read them into memory) when the reader is not over a file.
 */
export function mapArrayInvertedLists(r: IOReader, ctx: InvertedListsContext, sizes: Float64Array): OnDiskInvertedLists | undefined {
  if (!(r.source instanceof FileSource)) return undefined;
  const { nlist, codeSize } = ctx;
  const offsets = new Float64Array(nlist);
  const start = r.offset;
  let o = start;
  for (let l = 0; l < nlist; l++) {
    offsets[l] = o;
    o += sizes[l]! * (codeSize + 8);
  }
  r.skip(o - start, 'inverted list data');
  const lists = OnDiskInvertedLists.fromLayout(nlist, codeSize, r.name, { sizes, capacities: sizes, offsets, slots: [], totsize: r.size }, {
    inIndexFile: true,
    cacheBytes: ctx.cacheBytes,
  });
  lists.open();
  return lists;
}

const isOnDisk = (lists: InvertedLists): lists is OnDiskInvertedLists => lists instanceof OnDiskInvertedLists && !lists.inIndexFile;

registerInvertedListsIOHook({
  key: 'ilod',
  handles: isOnDisk,
  write: (w, lists) => writeOnDiskInvertedLists(w, lists as OnDiskInvertedLists),
  bytes: (lists) => onDiskInvertedListsBytes(lists as OnDiskInvertedLists),
  read: readOnDiskInvertedLists,
  readArrayInvertedLists: mapArrayInvertedLists,
});
