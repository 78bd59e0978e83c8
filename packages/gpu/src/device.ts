import { GpuError } from './errors.js';
import { BufferUsage, MapMode } from './flags.js';
import { BufferPool } from './pool.js';
import { type Clock, Recorder } from './recorder.js';
import { STAGED_BYTES, Staging } from './staging.js';
import { type GpuTensor, type TensorData, tensorBytes } from './tensor.js';

export interface RequestDeviceOptions {
  /** A WebGPU entry point (`navigator.gpu`, or `create([])` of the `webgpu` package). Found automatically when absent. */
  readonly gpu?: GPU;
  readonly powerPreference?: GPUPowerPreference;
}

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/** The limits the kernels plan against: the adapter's own maxima, which the device is created with. */
export interface DeviceLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

export interface DeviceFeatures {
  readonly timestampQuery: boolean;
  readonly subgroups: boolean;
  readonly shaderF16: boolean;
}

const NO_ADAPTER =
  "No WebGPU adapter was found: install a Vulkan driver (without a GPU, Mesa's lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers), or run on the CPU executor instead.";

/**
 * The Dawn instance that Node devices share, kept for the life of the process. One instance per
 * process: a second one, created and collected while another lives, crashed Dawn now and then; and
 * an instance collected after its last device was destroyed crashed the process (or hung it) while
 * Dawn's threads were still tearing that device down. A referenced idle instance does not keep Node
 * from exiting.
 */
let dawn: GPU | undefined;

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawn) return dawn;
  try {
    // A computed specifier keeps browser bundlers from resolving the Node-only package.
    const name = 'webgpu';
    const mod = (await import(/* @vite-ignore */ name)) as { create(flags: string[]): GPU };
    // Dawn rounds timestamps to ~65 µs by default (a browser timing-attack mitigation); Node needs real ones.
    dawn ??= mod.create(['disable-dawn-features=timestamp_quantization']);
    return dawn;
  } catch {
    throw new GpuError(
      'no-adapter',
      `WebGPU is not available here: in Node install the optional 'webgpu' package; in a browser enable WebGPU. ${NO_ADAPTER}`,
    );
  }
}

/** Opens a device with the adapter's real limits and the useful optional features. */
export async function requestDevice(options: RequestDeviceOptions = {}): Promise<Gpu> {
  return openDevice(options.gpu ?? (await findGpu()), options);
}

async function openDevice(gpu: GPU, options: RequestDeviceOptions): Promise<Gpu> {
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
  );
  if (!adapter) throw new GpuError('no-adapter', NO_ADAPTER);
  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName, 'shader-f16'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'zeroskip' });
  const info = adapter.info;
  const opened = new Gpu(
    device,
    {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: device.limits.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
    },
    {
      timestampQuery: device.features.has('timestamp-query'),
      subgroups: device.features.has('subgroups'),
      shaderF16: device.features.has('shader-f16'),
    },
  );
  entries.set(opened, gpu);
  return opened;
}

/**
 * The entry point each device was opened from, kept alive with it: Dawn's instance must outlive its
 * devices, and one passed inline (`requestDevice({ gpu: create([]) })`) had no other reference, so a
 * garbage collection aborted the process at the next read-back.
 */
const entries = new WeakMap<Gpu, GPU>();

/** Bind groups kept per device before the cache starts over (a bound on memory, not a working-set size). */
const MAX_BIND_GROUPS = 8192;
/** Uniform and constant buffers kept per device before their cache starts over (likewise bounds on memory). */
const MAX_WORD_BUFFERS = 4096;
const MAX_WORD_BYTES = 64 << 20;

/**
 * A WGSL program: its source is a pure function of `spec` (no other captured state), so name + spec
 * identify the pipeline. Programs are module-level constants; sizes that vary per layer or batch
 * belong in a uniform buffer ({@link Gpu.uniforms}), not in the spec.
 */
export interface Program<S> {
  readonly name: string;
  wgsl(spec: S): string;
}

/**
 * JSON with object keys sorted, so equal specs give equal keys whatever order they were built in.
 * Built by hand for speed: it runs on every dispatch. Spec keys are identifiers, so they need no escapes.
 */
function canonicalJson(v: unknown): string {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v))
        throw new GpuError(
          'invalid-argument',
          `${v} in a program spec has no canonical key; pass finite numbers.`,
        );
      return `${v}`;
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + canonicalJson(v[i]);
        return `${s}]`;
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let s = '{';
      for (const k of keys) {
        if (o[k] === undefined) continue;
        s += `${s.length > 1 ? ',' : ''}"${k}":${canonicalJson(o[k])}`;
      }
      return `${s}}`;
    }
    default:
      return JSON.stringify(v) ?? 'null';
  }
}

export interface ProfileResult {
  /**
   * Per dispatch (per pass, labelled 'pass', when timed by pass), in recording order: label and GPU
   * time (ns) from timestamp queries. Empty under wall clock.
   */
  readonly dispatches: readonly { readonly label: string; readonly ns: number }[];
  /** Total time in ms: the sum of dispatch times, or submit → work done wall time. */
  readonly ms: number;
  readonly clock: Clock;
}

/**
 * What {@link Gpu.pipeline} hands out during a rehearsal for a pipeline not built yet: rehearsals never
 * bind it, so any use of it is a bug, and fails loudly rather than dispatching nothing.
 */
function unbuiltPipeline(key: string): GPUComputePipeline {
  const fail = (): never => {
    throw new GpuError(
      'invalid-argument',
      `the pipeline '${key}' was used before it was built; call buildPipelines() after rehearse().`,
    );
  };
  return { label: key, __brand: 'GPUComputePipeline', getBindGroupLayout: fail } as GPUComputePipeline;
}

/** A recorder that records nothing: a rehearsal only needs the pipelines and buffers its kernels ask for. */
class Rehearsal extends Recorder {
  constructor(gpu: Gpu, encoder: GPUCommandEncoder) {
    super(gpu, encoder, undefined);
  }

  override dispatch(label: string): void {
    this.labels.push(label);
  }

  override copy(): void {}

  override upload(): void {}

  override read(t: GpuTensor): Promise<ArrayBuffer> {
    return Promise.resolve(new ArrayBuffer(t.size * 4));
  }
}

/** Adapters that emulate a GPU on the CPU (Mesa's lavapipe, SwiftShader): kernels pick shapes for them. */
export function isSoftwareAdapter(a: AdapterSummary): boolean {
  return /software|llvmpipe|lavapipe|swiftshader/i.test(`${a.architecture} ${a.device} ${a.description}`);
}

/** A WebGPU device with the buffers, pipelines and timing that the kernels use. */
export class Gpu {
  readonly pool: BufferPool;
  /** Host-visible buffers reused across uploads and read-backs. */
  readonly staging: Staging;
  /** Whether the adapter emulates a GPU on the CPU ({@link isSoftwareAdapter}); read by kernels as they record. */
  readonly software: boolean;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Which program owns each name, so two programs can never share cache keys. */
  private readonly programs = new Map<string, object>();
  /** Immutable buffers of {@link uniforms} and {@link constants}, by usage and contents. */
  private readonly wordBuffers = new Map<string, GPUBuffer>();
  private wordBytes = 0;
  private flushes = 0;
  /** Buffers dropped from that cache, or released {@link tensorFilled} ones, while a recording may still bind them. */
  private readonly retired: GPUBuffer[] = [];
  /** Live buffers of {@link tensorFilled}, which are not the pool's. */
  private readonly filled = new Set<GPUBuffer>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private lostReason: string | undefined;
  private readonly lost: Promise<never>;
  private destroyed = false;
  /** True while a submission's commands are being recorded. */
  private recording = false;
  /** True during a {@link rehearse}: pipelines not built yet are noted in {@link unbuilt}, not built. */
  private rehearsing = false;
  /**
   * Pipelines asked for by rehearsals, compiling since they were first asked for: Dawn compiles them
   * on its worker threads while the rehearsal goes on preparing weights. {@link buildPipelines} waits.
   */
  private readonly unbuilt = new Map<
    string,
    { building: Promise<GPUComputePipeline>; stand: GPUComputePipeline }
  >();

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    readonly limits: DeviceLimits,
    readonly features: DeviceFeatures,
  ) {
    this.software = isSoftwareAdapter(adapter);
    this.pool = new BufferPool(device, limits);
    this.staging = new Staging(device);
    this.lost = device.lost.then((info) => {
      this.lostReason = info.message || info.reason;
      throw this.lostError();
    });
    this.lost.catch(() => {});
  }

  private lostError(): GpuError {
    return new GpuError(
      'device-lost',
      `the WebGPU device was lost (${this.lostReason ?? 'destroyed'}); request a new device.`,
    );
  }

  private checkAlive(): void {
    if (this.lostReason !== undefined || this.destroyed) throw this.lostError();
  }

  /** Waits for `p`, or fails fast if the device is lost meanwhile (never hangs on a dead device). */
  private guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lost]);
  }

  /**
   * `length` floats in memory the GPU copies from: a tensor made from them ({@link tensor}, or a
   * session's input) is uploaded without the host copy other arrays take, the copy that bounds an
   * upload's rate. Good for one upload: the array is empty after it.
   */
  uploadArray(length: number): Float32Array {
    this.checkAlive();
    return this.staging.uploadArray(length);
  }

  /**
   * A tensor holding `data`, or zeros. Inside a recording a large one is a fresh buffer written at
   * creation: a recycled one could still be read by dispatches recorded but not yet submitted, and
   * queue.writeBuffer would overwrite it before they run.
   */
  tensor(
    shape: readonly number[],
    data?: TensorData,
    dtype: GpuTensor['dtype'] = data instanceof Uint32Array
      ? 'u32'
      : data instanceof Int32Array
        ? 'i32'
        : 'f32',
  ): GpuTensor {
    this.checkAlive();
    const size = shape.reduce((a, b) => a * b, 1);
    if (data && data.length !== size)
      throw new GpuError(
        'invalid-argument',
        `shape [${shape.join(', ')}] needs ${size} values, got ${data.length}.`,
      );
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    const bytes = tensorBytes(size);
    if (data && data.byteLength > 0 && (!this.recording || data.byteLength < STAGED_BYTES)) {
      // Outside a recording no unsubmitted command can read a recycled buffer, and the queue orders
      // this write after all submitted work: a pooled buffer is safe, and saves an allocation per
      // upload. Inside one only a fresh buffer is, and a small write to it still goes through the
      // queue's ring: a buffer mapped at creation costs Dawn a staging allocation of its own on a
      // discrete GPU, and building a network's layers makes hundreds (biases, row pointers, offsets).
      const buffer = this.recording ? this.pool.create(bytes, usage) : this.pool.acquire(bytes, usage);
      this.staging.write(buffer, data);
      return { buffer, shape: [...shape], size, dtype };
    }
    return { buffer: this.pool.create(bytes, usage, data), shape: [...shape], size, dtype };
  }

  /**
   * An f32 tensor whose values `fill` writes in place, into the new buffer's memory mapped at creation:
   * a large array computed on the CPU (a weight transform) is written once, not allocated, written and
   * copied. The buffer is of the exact size, outside the pool (weights live as long as their layer, and
   * the pool's power-of-two classes would nearly double a large one), and destroyed when released.
   */
  tensorFilled(shape: readonly number[], fill: (view: Float32Array) => void): GpuTensor {
    this.checkAlive();
    const size = shape.reduce((a, b) => a * b, 1);
    const bytes = tensorBytes(size);
    const limit = this.limits.maxStorageBufferBindingSize;
    if (bytes > limit)
      throw new GpuError(
        'limit-exceeded',
        `a tensor of ${bytes} bytes exceeds this adapter's maxStorageBufferBindingSize of ${limit} bytes; use a smaller batch or split the layer.`,
      );
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    try {
      fill(new Float32Array(buffer.getMappedRange(), 0, size));
      buffer.unmap();
    } catch (e) {
      buffer.destroy();
      throw e;
    }
    this.filled.add(buffer);
    return { buffer, shape: [...shape], size, dtype: 'f32' };
  }

  /** A tensor whose contents are undefined until a kernel writes it (no upload). */
  empty(shape: readonly number[], dtype: GpuTensor['dtype'] = 'f32'): GpuTensor {
    this.checkAlive();
    const size = shape.reduce((a, b) => a * b, 1);
    const buffer = this.pool.acquire(
      tensorBytes(size),
      BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    );
    return { buffer, shape: [...shape], size, dtype };
  }

  /** Returns a tensor's buffer to the pool (destroys a {@link tensorFilled} one); the tensor must not be used afterwards. */
  release(t: GpuTensor): void {
    if (this.filled.delete(t.buffer)) {
      // commands recorded but not yet submitted may still bind it: destroyed once they are
      this.retired.push(t.buffer);
      if (!this.recording) this.destroyRetired();
    } else this.pool.release(t.buffer);
  }

  async read(t: GpuTensor): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(t));
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    return new Uint32Array(await this.readBytes(t));
  }

  private async readBytes(t: GpuTensor): Promise<ArrayBuffer> {
    let data: Promise<ArrayBuffer> | undefined;
    await this.run((r) => {
      data = r.read(t);
    }, undefined);
    return data!;
  }

  /**
   * The compute pipeline of `program` specialised to `spec`, compiled once per device: it is cached
   * under the program's name and a canonical JSON of the spec, so the key is derived from exactly
   * what the WGSL is a function of.
   */
  pipeline<S>(program: Program<S>, spec: S): GPUComputePipeline {
    const owner = this.programs.get(program.name);
    if (owner !== undefined && owner !== program)
      throw new GpuError(
        'invalid-argument',
        `two different programs are named '${program.name}'; give each WGSL program a unique name.`,
      );
    this.programs.set(program.name, program);
    const key = `${program.name}${canonicalJson(spec)}`;
    const p = this.pipelines.get(key);
    if (p) return p;
    const describe = (): GPUComputePipelineDescriptor => ({
      layout: 'auto',
      compute: {
        module: this.device.createShaderModule({ code: program.wgsl(spec), label: key }),
        entryPoint: 'main',
      },
      label: key,
    });
    if (this.rehearsing) {
      let wanted = this.unbuilt.get(key);
      if (!wanted) {
        const building = this.device.createComputePipelineAsync(describe());
        // handled when built; until then a failure (or a device destroyed first) must not go unhandled
        building.catch(() => {});
        wanted = { building, stand: unbuiltPipeline(key) };
        this.unbuilt.set(key, wanted);
      }
      return wanted.stand;
    }
    const built = this.device.createComputePipeline(describe());
    this.pipelines.set(key, built);
    return built;
  }

  /**
   * Runs `record` on a recorder that drops its dispatches (nothing is submitted), noting each pipeline
   * it asks for that is not built yet; {@link buildPipelines} then builds them all at once. Buffers,
   * uniforms and weights that `record` creates are real.
   */
  rehearse(record: (r: Recorder) => void): void {
    this.checkAlive();
    try {
      this.recording = true;
      this.rehearsing = true;
      record(new Rehearsal(this, this.device.createCommandEncoder()));
    } finally {
      this.recording = false;
      this.rehearsing = false;
      this.destroyRetired();
    }
  }

  /**
   * Waits for the pipelines that {@link rehearse} started compiling (concurrently, with
   * createComputePipelineAsync, off the main thread), calling `onProgress` as each is ready. Returns
   * how many it built.
   */
  async buildPipelines(onProgress?: (done: number, total: number, label: string) => void): Promise<number> {
    // a run between rehearsal and build may have built some already
    const wanted = [...this.unbuilt].filter(([key]) => !this.pipelines.has(key));
    this.unbuilt.clear();
    let done = 0;
    await Promise.all(
      wanted.map(async ([key, { building }]) => {
        let p: GPUComputePipeline;
        try {
          p = await this.guard(building);
        } catch (e) {
          if (e instanceof GpuError) throw e;
          throw new GpuError(
            'validation',
            `the pipeline '${key}' did not compile: ${(e as Error).message} Fix its WGSL.`,
          );
        }
        this.pipelines.set(key, p);
        done++;
        onProgress?.(done, wanted.length, key);
      }),
    );
    return done;
  }

  /**
   * An immutable uniform buffer holding `words` (f32 parameters as their bit patterns), cached by
   * its contents: the same sizes on a later run give the same buffer, so bind groups keep hitting.
   */
  uniforms(words: Uint32Array): GPUBuffer {
    return this.cached(words, BufferUsage.UNIFORM);
  }

  /**
   * Changes whenever buffers of {@link uniforms} and {@link constants} are dropped from their cache and
   * destroyed: recorded {@link Recorder.commands} made before then may bind them and must not be replayed.
   */
  get generation(): number {
    return this.flushes;
  }

  /** Like {@link uniforms}, as a read-only storage buffer: for constant tables too large for a uniform. */
  constants(words: Uint32Array): GPUBuffer {
    return this.cached(words, BufferUsage.STORAGE);
  }

  private cached(words: Uint32Array, usage: number): GPUBuffer {
    this.checkAlive();
    const key = `${usage}:${words.join(',')}`;
    let buffer = this.wordBuffers.get(key);
    if (!buffer) {
      // Uniform bindings are read in 16-byte rows.
      const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
      if (this.wordBuffers.size >= MAX_WORD_BUFFERS || this.wordBytes + size > MAX_WORD_BYTES) {
        // Dispatches recorded but not yet submitted may still bind these: destroy them after the submit.
        for (const b of this.wordBuffers.values()) this.retired.push(b);
        this.wordBuffers.clear();
        this.wordBytes = 0;
        this.flushes++;
      }
      buffer = this.device.createBuffer({ size, usage, mappedAtCreation: true });
      new Uint32Array(buffer.getMappedRange()).set(words);
      buffer.unmap();
      this.wordBuffers.set(key, buffer);
      this.wordBytes += size;
      if (!this.recording) this.destroyRetired();
    }
    return buffer;
  }

  private destroyRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired.length = 0;
  }

  /**
   * The bind group of `buffers` at bindings 0, 1, 2, … of `pipeline`'s group 0. Runs of a session
   * bind the same pooled buffers to the same pipelines, so groups are kept and reused: creating one
   * costs tens of microseconds in Dawn, more than recording its dispatch.
   */
  bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = [pipeline, ...buffers].map((o) => this.idOf(o)).join(',');
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /** Number of pipelines built so far (each a distinct specialisation). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /**
   * Records work with `record`, submitting as it goes, and waits until the GPU is done (or, when it
   * asks for {@link Recorder.read}s, until they have arrived).
   * Validation and out-of-memory errors of the recording surface as {@link GpuError}.
   */
  async submit(record: (r: Recorder) => void): Promise<void> {
    await this.run(record, undefined);
  }

  /**
   * Like {@link submit}, timing each dispatch with timestamp queries where the adapter has them; each
   * then runs in its own compute pass. With `each: 'pass'` the recording keeps its passes as an untimed
   * run does (many dispatches to a pass) and each pass is timed: `ms` is then the GPU time of the work
   * as it runs, without the cost of a pass per dispatch, and `dispatches` lists the passes.
   */
  async profile(
    record: (r: Recorder) => void,
    options: { each?: 'dispatch' | 'pass' } = {},
  ): Promise<ProfileResult> {
    if (!this.features.timestampQuery) {
      const t0 = performance.now();
      await this.run(record, undefined);
      return { dispatches: [], ms: performance.now() - t0, clock: 'gpu-submit-wall' };
    }
    const capacity = 4096;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: capacity });
    const resolve = this.device.createBuffer({
      size: capacity * 8,
      usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
    });
    const staging = this.device.createBuffer({
      size: capacity * 8,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    try {
      const labels = await this.run(record, {
        querySet,
        capacity,
        resolve,
        staging,
        each: options.each ?? 'dispatch',
      });
      await this.guard(staging.mapAsync(MapMode.READ));
      const ticks = new BigInt64Array(staging.getMappedRange().slice(0, labels.length * 16));
      const dispatches = labels.map((label, i) => ({ label, ns: Number(ticks[2 * i + 1]! - ticks[2 * i]!) }));
      return { dispatches, ms: dispatches.reduce((s, d) => s + d.ns, 0) / 1e6, clock: 'gpu-timestamp' };
    } finally {
      querySet.destroy();
      resolve.destroy();
      staging.destroy();
    }
  }

  private async run(record: (r: Recorder) => void, timing: Recorder['timing']): Promise<string[]> {
    this.checkAlive();
    const { device } = this;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const recorder = new Recorder(this, device.createCommandEncoder(), timing);
    const { reads } = recorder;
    let thrown: unknown;
    try {
      this.recording = true;
      record(recorder);
      recorder.finish();
    } catch (e) {
      thrown = e;
    } finally {
      this.recording = false;
      this.destroyRetired();
    }
    // the copies follow all recorded work in the queue: their mapping is the completion signal
    const mapped = thrown ? [] : reads.map((r) => r.staging.mapAsync(MapMode.READ));
    try {
      const validation = device.popErrorScope();
      const oom = device.popErrorScope();
      const [v, o] = await this.guard(Promise.all([validation, oom]));
      if (thrown) throw thrown;
      if (v) throw new GpuError('validation', `WebGPU rejected the work: ${v.message}`);
      if (o)
        throw new GpuError(
          'out-of-memory',
          `the GPU ran out of memory: ${o.message} Use a smaller batch or model.`,
        );
      if (reads.length === 0) await this.guard(device.queue.onSubmittedWorkDone());
      await this.guard(Promise.all(mapped));
      for (const r of reads) {
        r.resolve(r.staging.getMappedRange().slice(0, r.bytes));
        r.staging.unmap();
        this.staging.reuse(r.staging);
      }
    } catch (e) {
      for (const r of reads) {
        r.reject(e);
        this.staging.discard(r.staging);
      }
      throw e;
    } finally {
      // requests left unmapped settle as aborted once their buffer is destroyed
      for (const m of mapped) m.catch(() => {});
    }
    return recorder.timed;
  }

  /** Frees every buffer and pipeline and destroys the device, so that a Node process can exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.pool.destroy();
    for (const b of this.filled) b.destroy();
    this.filled.clear();
    this.staging.destroy();
    for (const b of this.wordBuffers.values()) b.destroy();
    this.wordBuffers.clear();
    this.destroyRetired();
    this.pipelines.clear();
    this.unbuilt.clear();
    this.programs.clear();
    this.bindGroups.clear();
    this.device.destroy();
    this.destroyed = true;
  }
}
