// GeneratorSampler: a checkpoint's generator in its own worker thread, serving samples; and the
// sampling call both it and TrainingWorker (./worker.ts) make over their Channel (argument checks,
// the 'sample' request). Kept apart from TrainingWorker: a sampler needs none of the training
// run's state or events, only the worker plumbing (./worker-channel.ts).
import * as path from 'path';
import { invalidParameterError, is, unknownOptionError } from '../errors';
import type { RunConfig } from './run';
import { Channel, coded, toBuffer } from './worker-channel';
import type { SampleOptions, SampleTensorData } from './worker-types';

export function checkSampleArgs(where: string, n: unknown, options: unknown): SampleOptions {
  if (!is.positiveInteger(n) || n > 4096) throw invalidParameterError(`${where} n`, 'an integer in [1, 4096]', n);
  if (options !== undefined && !is.plainObject(options)) throw invalidParameterError(`${where} options`, 'an object {seed?, format?, nrow?}', options);
  const o = (options ?? {}) as SampleOptions;
  for (const k of Object.keys(o)) if (!['seed', 'format', 'nrow'].includes(k)) throw unknownOptionError(where, k, ['seed', 'format', 'nrow']);
  if (o.seed !== undefined && !(is.nonNegativeInteger(o.seed) && o.seed <= 0xffffffff)) throw invalidParameterError(`${where} options.seed`, 'an integer in [0, 2^32)', o.seed);
  if (o.format !== undefined && o.format !== 'png' && o.format !== 'tensor-data') throw invalidParameterError(`${where} options.format`, "'png' or 'tensor-data'", o.format);
  if (o.nrow !== undefined && !is.positiveInteger(o.nrow)) throw invalidParameterError(`${where} options.nrow`, 'a positive integer', o.nrow);
  return o;
}

export async function sampleVia(ch: Channel, n: number, o: SampleOptions): Promise<Buffer | SampleTensorData> {
  const { reply } = ch.request<Uint8Array | SampleTensorData>({ op: 'sample', n, format: o.format ?? 'png', ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.nrow !== undefined ? { nrow: o.nrow } : {}) });
  const v = await reply;
  return v instanceof Uint8Array ? toBuffer(v) : v;
}

/** The generator of a checkpoint in its own worker, for serving samples. */
export class GeneratorSampler {
  private readonly ch: Channel;
  private loaded: { step: number; dir: string; config: RunConfig };
  private closing: Promise<void> | null = null;

  private constructor(ch: Channel, private readonly root: string, private readonly device: string | undefined, loaded: { step: number; dir: string; config: RunConfig }) {
    this.ch = ch;
    this.loaded = loaded;
  }

  /**
   * Loads the generator of the latest checkpoint in `checkpointDir` (a run's checkpoints
   * folder, or one ckpt-N folder) in a new worker. device: where to run it (default: the run's).
   */
  static async load(checkpointDir: string, options: { device?: string } = {}): Promise<GeneratorSampler> {
    if (!is.string(checkpointDir) || checkpointDir === '') throw invalidParameterError('GeneratorSampler.load() checkpointDir', 'a folder path', checkpointDir);
    if (!is.plainObject(options)) throw invalidParameterError('GeneratorSampler.load() options', 'an object {device?}', options);
    if (options.device !== undefined && !is.string(options.device)) throw invalidParameterError('GeneratorSampler.load() options.device', "'cpu', 'cuda' or 'cuda:N'", options.device);
    const root = path.resolve(checkpointDir);
    const ch = new Channel('sampler');
    try {
      const { reply } = ch.request<{ step: number; dir: string; config: RunConfig }>({ op: 'load', dir: root, ...(options.device !== undefined ? { device: options.device } : {}) });
      const loaded = await reply;
      return new GeneratorSampler(ch, root, options.device, loaded);
    } catch (e) {
      await ch.close();
      throw e;
    }
  }

  /** The training step of the loaded checkpoint. */
  get step(): number {
    return this.loaded.step;
  }

  /** The loaded checkpoint's folder. */
  get checkpoint(): string {
    return this.loaded.dir;
  }

  get config(): RunConfig {
    return this.loaded.config;
  }

  /** Loads the latest checkpoint again (e.g. after training wrote a newer one); resolves with its step. */
  async reload(): Promise<number> {
    this.assertOpen('reload()');
    const { reply } = this.ch.request<{ step: number; dir: string; config: RunConfig }>({ op: 'load', dir: this.root, ...(this.device !== undefined ? { device: this.device } : {}) });
    this.loaded = await reply;
    return this.loaded.step;
  }

  /** n images from seeded noise: a PNG grid (default) or {data, shape} with format 'tensor-data'. */
  sampleAsync(n: number, options?: SampleOptions & { format?: 'png' }): Promise<Buffer>;
  sampleAsync(n: number, options: SampleOptions & { format: 'tensor-data' }): Promise<SampleTensorData>;
  async sampleAsync(n: number, options?: SampleOptions): Promise<Buffer | SampleTensorData> {
    this.assertOpen('sampleAsync()');
    const o = checkSampleArgs('GeneratorSampler.sampleAsync()', n, options);
    return sampleVia(this.ch, n, o);
  }

  private assertOpen(where: string): void {
    if (this.closing || this.ch.isDead) throw coded(`GeneratorSampler.${where}: the sampler is closed`, 'ERR_WORKER_CLOSED');
  }

  /** Frees the generator and stops the worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.ch.close();
    return this.closing;
  }
}
