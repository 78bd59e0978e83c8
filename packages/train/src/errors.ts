/** What kind of problem a {@link TrainError} reports. */
export type TrainErrorCode =
  | 'invalid-argument'
  | 'corrupt-file'
  | 'missing-file'
  | 'backend-unavailable'
  | 'shape-mismatch'
  | 'unsupported-export';

/** The one error class of this package; its message names what is wrong and what to do. */
export class TrainError extends Error {
  override readonly name = 'TrainError';
  constructor(
    readonly code: TrainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new TrainError('invalid-argument', `${what} must be an integer in [${min}, ${max}], got ${value}.`);
}
