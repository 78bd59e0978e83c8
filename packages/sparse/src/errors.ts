/** What kind of problem a {@link FormatError} reports; stable, for programs to branch on. */
export type FormatErrorCode =
  | 'invalid-argument'
  | 'invalid-structure'
  | 'truncated'
  | 'corrupt'
  | 'limit-exceeded'
  | 'unsupported-version';

/**
 * The one error class thrown for every malformed matrix, code table or byte stream in this package.
 * The message is one sentence naming what is wrong and what to do about it.
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(
    readonly code: FormatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Throws `invalid-argument` unless `value` is an integer in [min, max]. */
export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FormatError(
      'invalid-argument',
      `${what} must be an integer in [${min}, ${max}], got ${value}.`,
    );
  }
}
