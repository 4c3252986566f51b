/**
 * @module errors
 * The typed errors of simdex. Every message names the argument, the value received and what was
 * expected, so that a caller can fix the call from the message alone.
 */

/** Base class of every error simdex throws on purpose. `code` is stable and machine-readable. */
export class SimdexError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument has the right type but an invalid value (wrong dimension, k <= 0, ...). */
export class InvalidArgumentError extends SimdexError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('ERR_SIMDEX_INVALID_ARGUMENT', `\`${argument}\` ${message}`);
    this.argument = argument;
  }
}

/** An argument has the wrong type (a plain array where a Float32Array is expected, ...). */
export class InvalidTypeError extends TypeError {
  readonly code = 'ERR_SIMDEX_INVALID_TYPE';
  readonly argument: string;
  constructor(argument: string, expected: string, value: unknown) {
    super(`\`${argument}\` must be ${expected}, got ${describeValue(value)}`);
    this.name = 'InvalidTypeError';
    this.argument = argument;
  }
}

/** The index must be trained before this operation (Faiss: `is_trained` is false). */
export class NotTrainedError extends SimdexError {
  constructor(what: string, operation: string) {
    super('ERR_SIMDEX_NOT_TRAINED', `${what} is not trained: call train() before ${operation}()`);
  }
}

/** The operation exists on `Index` but this index type does not implement it. */
export class NotSupportedError extends SimdexError {
  constructor(indexType: string, operation: string, hint?: string) {
    super('ERR_SIMDEX_NOT_SUPPORTED', `${operation} is not supported by ${indexType}${hint ? `: ${hint}` : ''}`);
  }
}

/** A malformed `indexFactory` description. */
export class FactoryParseError extends SimdexError {
  readonly token: string;
  readonly description: string;
  constructor(token: string, description: string, reason = 'could not be parsed') {
    super('ERR_SIMDEX_FACTORY', `index factory: token "${token}" ${reason} in "${description}"`);
    this.token = token;
    this.description = description;
  }
}

/** A truncated, corrupt or unsupported file. `offset` is the byte offset where reading failed. */
export class FormatError extends SimdexError {
  readonly file: string;
  readonly offset: number;
  readonly fourcc: string | undefined;
  constructor(file: string, offset: number, message: string, fourcc?: string) {
    super(
      'ERR_SIMDEX_FORMAT',
      `${file}: ${message} (at byte offset ${offset}${fourcc !== undefined ? `, in ${fourcc}` : ''})`,
    );
    this.file = file;
    this.offset = offset;
    this.fourcc = fourcc;
  }
}

/** A short description of a value for error messages: its type, and its value when it is short. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `a plain Array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    return `a ${value.constructor.name} of length ${(value as unknown as { length?: number }).length ?? value.byteLength}`;
  }
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`;
    default:
      return `${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
  }
}
