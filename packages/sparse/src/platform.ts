// What the host offers, found without importing node: modules, so that browser bundles never see one.

interface NodeProcess {
  getBuiltinModule?(id: string): unknown;
}

/** A Node built-in module (Node ≥ 20.16), or undefined outside Node. */
export function nodeBuiltin<T>(id: string): T | undefined {
  const process = (globalThis as { process?: NodeProcess }).process;
  return process?.getBuiltinModule?.(id) as T | undefined;
}

/** Hardware threads this program may use: Node's available parallelism, or the browser's count. */
export function hardwareThreads(): number {
  const os = nodeBuiltin<{ availableParallelism(): number }>('node:os');
  if (os) return os.availableParallelism();
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}
