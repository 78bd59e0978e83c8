/** A conformance check failed: what was compared, and where it differed. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

/** |got − want| ≤ atol + rtol·max|want| everywhere (the max over finite values); NaN and ±∞ must match exactly. */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  atol: number,
  what = 'result',
): void {
  if (got.length !== want.length)
    throw new ConformanceError(`${what}: ${got.length} values, expected ${want.length}.`);
  let scale = 0;
  for (let i = 0; i < want.length; i++)
    if (Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]!));
  const tol = atol + rtol * scale;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (!Number.isFinite(w) && (g === w || (Number.isNaN(g) && Number.isNaN(w)))) continue;
    const d = Math.abs(g - w);
    if (!(d <= tol))
      throw new ConformanceError(
        `${what}: differs by ${d} at ${i} (got ${got[i]}, want ${want[i]}), tolerance ${tol}.`,
      );
  }
}

/** Exact equality, element by element (bit-exact integer parts). */
export function assertEqual(got: ArrayLike<number>, want: ArrayLike<number>, what = 'result'): void {
  assertClose(got, want, 0, 0, what);
}

/** `fn` must throw (or reject) with an error of class `type` whose message matches `pattern`. */
export async function assertThrows(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof type && (!pattern || pattern.test(e.message))) return;
    throw new ConformanceError(
      `expected ${type.name}${pattern ? ` matching ${pattern}` : ''}, got ${(e as Error).name}: ${(e as Error).message}`,
    );
  }
  throw new ConformanceError(
    `expected ${type.name}${pattern ? ` matching ${pattern}` : ''}, but nothing was thrown.`,
  );
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}
