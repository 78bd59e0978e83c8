import { execFileSync } from 'node:child_process';
import { cpus, platform, release } from 'node:os';
import gpuPkg from '@zeroskip/gpu/package.json' with { type: 'json' };
import quantPkg from '@zeroskip/quant/package.json' with { type: 'json' };
import runtimePkg from '@zeroskip/runtime/package.json' with { type: 'json' };
import sparsePkg from '@zeroskip/sparse/package.json' with { type: 'json' };

/** Where and with what a run was measured; recorded beside every result. */
export interface Environment {
  readonly date: string;
  readonly commit: string;
  readonly node: string;
  readonly os: string;
  readonly cpu: string;
  readonly cores: number;
  readonly packages: Readonly<Record<string, string>>;
  /** The WebGPU adapter, where a table used one. */
  readonly adapter?: string;
}

/** The commit measured: ZEROSKIP_COMMIT where set (a bundle run away from its checkout), else git's HEAD. */
function commit(): string {
  if (process.env.ZEROSKIP_COMMIT) return process.env.ZEROSKIP_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export function environment(): Environment {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    commit: commit(),
    node: process.version,
    os: `${platform()} ${release()}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    packages: Object.fromEntries([sparsePkg, quantPkg, gpuPkg, runtimePkg].map((p) => [p.name, p.version])),
  };
}
