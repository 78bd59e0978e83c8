/** What kind of problem a {@link RuntimeError} reports. */
export type RuntimeErrorCode =
  | 'invalid-model'
  | 'unsupported-op'
  | 'invalid-input'
  | 'corrupt-file'
  | 'invalid-argument';

/** The one error class of this package; its message names what is wrong and what to do. */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
