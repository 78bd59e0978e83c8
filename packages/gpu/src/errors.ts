/** What kind of problem a {@link GpuError} reports. */
export type GpuErrorCode =
  | 'no-adapter'
  | 'device-lost'
  | 'validation'
  | 'out-of-memory'
  | 'limit-exceeded'
  | 'invalid-argument';

/** The one error class of this package; its message says what is wrong and what to do. */
export class GpuError extends Error {
  override readonly name = 'GpuError';
  constructor(
    readonly code: GpuErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GpuError('invalid-argument', `${what} must be an integer in [${min}, ${max}], got ${value}.`);
  }
}
