import { decodeZsk, type Graph, parameterCount, ZOO } from '@zeroskip/runtime';
import { loadPretrained, PRETRAINED } from '@zeroskip/train';

export interface ZooRow {
  readonly name: string;
  readonly description: string;
  readonly params: number;
  /** The parameters as float32. */
  readonly f32Bytes: number;
  /** The shipped file's size, for the trained models. */
  readonly zskBytes?: number;
}

const row = (name: string, description: string, g: Graph, zskBytes?: number): ZooRow => {
  const params = parameterCount(g);
  return { name, description, params, f32Bytes: 4 * params, ...(zskBytes !== undefined ? { zskBytes } : {}) };
};

/** Every zoo architecture (built with zero weights: only the structure is needed) and every shipped trained model. */
export async function zooRows(): Promise<{ zoo: ZooRow[]; pretrained: ZooRow[] }> {
  const zoo = Object.entries(ZOO).map(([name, e]) => row(name, e.description, e.build({ init: 'zeros' })));
  const pretrained: ZooRow[] = [];
  for (const [name, description] of Object.entries(PRETRAINED)) {
    const bytes = await loadPretrained(name);
    pretrained.push(row(name, description, decodeZsk(bytes).graph, bytes.length));
  }
  return { zoo, pretrained };
}

const mb = (bytes: number) =>
  bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;

/** The listing as text: name, parameters, f32 size (and .zsk size), description. */
export function zooTable({ zoo, pretrained }: { zoo: ZooRow[]; pretrained: ZooRow[] }): string {
  const all = [...zoo, ...pretrained];
  const name = Math.max(...all.map((r) => r.name.length));
  const params = Math.max('parameters'.length, ...all.map((r) => String(r.params).length));
  const f32 = Math.max('f32'.length, ...all.map((r) => mb(r.f32Bytes).length));
  const zsk = Math.max('.zsk'.length, ...pretrained.map((r) => mb(r.zskBytes ?? 0).length));
  const line = (r: ZooRow, withZsk: boolean) =>
    `  ${r.name.padEnd(name)}  ${String(r.params).padStart(params)}  ${mb(r.f32Bytes).padStart(f32)}${withZsk ? `  ${mb(r.zskBytes ?? 0).padStart(zsk)}` : ''}  ${r.description}`;
  return [
    'zoo models, seeded and untrained (zeroskip zoo <name> -o model.zsk|model.onnx):',
    `  ${'name'.padEnd(name)}  ${'parameters'.padStart(params)}  ${'f32'.padStart(f32)}  description`,
    ...zoo.map((r) => line(r, false)),
    '',
    'trained MNIST models shipped with the package (zeroskip zoo <name> --pretrained -o model.zsk):',
    `  ${'name'.padEnd(name)}  ${'parameters'.padStart(params)}  ${'f32'.padStart(f32)}  ${'.zsk'.padStart(zsk)}  description`,
    ...pretrained.map((r) => line(r, true)),
  ].join('\n');
}
