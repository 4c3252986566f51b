/**
 * @module validate
 * Argument checks shared by every index. Each throws InvalidTypeError or InvalidArgumentError with
 * the argument's name, the value and what was expected.
 */
import { InvalidArgumentError, InvalidTypeError, describeValue } from './errors.js';

/** `x` must be a Float32Array whose length is a multiple of `d`; returns n = x.length / d. */
export function checkVectors(x: unknown, d: number, name = 'x'): number {
  if (!(x instanceof Float32Array)) {
    throw new InvalidTypeError(name, `a Float32Array of n*d floats (d = ${d})`, x);
  }
  if (x.length % d !== 0) {
    throw new InvalidArgumentError(
      name,
      `has length ${x.length}, which is not a multiple of d = ${d} (expected n*d floats)`,
    );
  }
  return x.length / d;
}

/** A positive integer (d, k, M, nlist, ...). */
export function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, `must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** A non-negative integer (an index into the stored vectors, a count, ...). */
export function checkNonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, `must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/** A finite number (radius, ...). */
export function checkFiniteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(name, `must be a finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** Ids for addWithIds: a BigInt64Array of n ids (Faiss's int64 idx_t). */
export function checkIds(ids: unknown, n: number, name = 'ids'): BigInt64Array {
  if (!(ids instanceof BigInt64Array)) {
    throw new InvalidTypeError(name, `a BigInt64Array of ${n} int64 ids`, ids);
  }
  if (ids.length !== n) {
    throw new InvalidArgumentError(name, `has length ${ids.length}, expected one id per vector (n = ${n})`);
  }
  return ids;
}

/** The position of the first NaN or infinity in x, or -1 (the kernel's TypeScript version). */
export { fvecFirstNonFinite as firstNonFinite } from './kernels/reference.js';

/**
 * The error for a non-finite value v at position `at` of n*d floats `name`, naming its row and
 * column; `purpose` says what needs finite vectors.
 */
export function nonFiniteError(name: string, v: number, at: number, d: number, purpose: string): InvalidArgumentError {
  return new InvalidArgumentError(name, `contains ${String(v)} at row ${Math.floor(at / d)}, column ${at % d}: ${purpose}`);
}
