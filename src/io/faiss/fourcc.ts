/**
 * @module io/faiss/fourcc
 * Faiss's "fourcc" codes: every object in a Faiss file starts with four ASCII characters naming its
 * class ("IxF2" = IndexFlatL2, "IxMp" = IndexIDMap, ...), stored as one little-endian uint32 whose
 * lowest byte is the first character. So "IxF2" is the bytes 49 78 46 32, the uint32 0x32467849.
 */
import { FormatError, InvalidArgumentError } from '../../errors.js';

/**
 * The uint32 code of a 4-character name (Faiss's `fourcc("IxF2")`): `c0 | c1 << 8 | c2 << 16 | c3 << 24`.
 * @param name exactly 4 characters, each a code point 0..255.
 */
export function fourcc(name: string): number {
  if (typeof name !== 'string' || name.length !== 4) {
    throw new InvalidArgumentError('name', `must be a string of 4 characters, got ${JSON.stringify(name)}`);
  }
  let h = 0;
  for (let i = 0; i < 4; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) throw new InvalidArgumentError('name', `must be 4 one-byte characters, got ${JSON.stringify(name)}`);
    h |= c << (8 * i);
  }
  return h >>> 0;
}

/** The 4 characters of a code, byte for byte (Faiss's `fourcc_inv`); may hold unprintable characters. */
export function fourccToString(h: number): string {
  return String.fromCharCode(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, (h >>> 24) & 0xff);
}

/** The 4 characters of a code with each unprintable byte as `\xNN` (Faiss's `fourcc_inv_printable`). */
export function fourccPrintable(h: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (h >>> (8 * i)) & 0xff;
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** A code as 8 hex digits, e.g. `0x32467849` for "IxF2". */
export function fourccHex(h: number): string {
  return `0x${(h >>> 0).toString(16).padStart(8, '0')}`;
}

/** A code for messages: `"IxF2" (0x32467849)`. */
export function describeFourcc(h: number): string {
  return `"${fourccPrintable(h)}" (${fourccHex(h)})`;
}

/**
 * The error for a code no reader knows: names it in hex and ASCII, with its offset and what was
 * expected there.
 * @param file the file name, or "<bytes>"
 * @param offset byte offset of the code
 * @param expected what may stand there, e.g. "an index" or a list of known codes
 * @param parent the fourcc of the object being read around it, if any
 */
export function unknownFourccError(h: number, file: string, offset: number, expected: string, parent?: string): FormatError {
  return new FormatError(
    file,
    offset,
    `unknown fourcc ${describeFourcc(h)} where ${expected} was expected; ` +
      'the file is corrupt, not a Faiss index, or holds an index type simdex cannot read yet',
    parent,
  );
}
