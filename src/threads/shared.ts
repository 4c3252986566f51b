/**
 * @module threads/shared
 * Typed arrays over SharedArrayBuffers: what job arguments that workers read or write are made of
 * (an array over a plain ArrayBuffer would be copied into the worker, and its writes lost).
 */

export const sharedF32 = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));
export const sharedI32 = (n: number): Int32Array => new Int32Array(new SharedArrayBuffer(n * 4));
export const sharedI64 = (n: number): BigInt64Array => new BigInt64Array(new SharedArrayBuffer(n * 8));

/** x itself when it is already shared, else a shared copy. */
export function toSharedF32(x: Float32Array): Float32Array {
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const s = sharedF32(x.length);
  s.set(x);
  return s;
}

/** x itself when it is already shared, else a shared copy. */
export function toSharedI32(x: Int32Array): Int32Array {
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const s = sharedI32(x.length);
  s.set(x);
  return s;
}
