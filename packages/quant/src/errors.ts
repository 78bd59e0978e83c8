/** What kind of problem a {@link QuantError} reports. */
export type QuantErrorCode = 'invalid-argument' | 'non-finite' | 'shape-mismatch';

/** The one error class of this package; its message names what is wrong and what to do. */
export class QuantError extends Error {
  override readonly name = 'QuantError';
  constructor(
    readonly code: QuantErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new QuantError('invalid-argument', `${what} must be an integer in [${min}, ${max}], got ${value}.`);
  }
}

export function checkRange(what: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) {
    throw new QuantError('invalid-argument', `${what} must be in [${min}, ${max}], got ${value}.`);
  }
}

/** Throws `non-finite` naming the first NaN or ±Inf in `w`. */
export function checkFinite(what: string, w: ArrayLike<number>): void {
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i]!)) {
      throw new QuantError(
        'non-finite',
        `${what}[${i}] is ${w[i]}; quantizers need finite values, so clean or clip the tensor first.`,
      );
    }
  }
}

/** Throws `shape-mismatch` unless `w` holds exactly the product of `shape`. */
export function checkShape(what: string, w: ArrayLike<number>, shape: readonly number[]): number {
  for (const d of shape) checkInt(`${what} dimension`, d, 0, 2 ** 31 - 1);
  const size = shape.reduce((a, b) => a * b, 1);
  if (w.length !== size) {
    throw new QuantError(
      'shape-mismatch',
      `${what} has ${w.length} values but shape [${shape.join(', ')}] needs ${size}.`,
    );
  }
  return size;
}
