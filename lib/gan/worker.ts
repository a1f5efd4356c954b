// Training and sampling off the main thread: a TrainingWorker runs a whole training run
// (lib/gan/run.ts) in a worker_threads worker, so the event loop of a Node service stays
// free while it trains at full speed; a GeneratorSampler serves images from a checkpoint
// in its own worker. Both talk to their worker by messages; every call returns a promise.
//
//   const w = await TrainingWorker.start({ loss: 'wgan-gp', limit: 1024 }, { out: 'runs/a' });
//   const stats = await w.stepAsync();                    // one step, its StepStats
//   const ac = new AbortController();
//   for await (const ev of w.run({ iters: 1000, signal: ac.signal })) {
//     if (ev.type === 'step') console.log(ev.step, ev.stats.criticLoss, ev.itPerSec);
//     if (ev.type === 'sample') fs.writeFileSync('grid.png', ev.png);
//     if (ev.type === 'checkpoint') console.log('saved', ev.dir);
//     if (ev.type === 'end') console.log(ev.reason);       // 'done' | 'aborted' | 'closed'
//   }
//   const png = await w.sampleAsync(16, { seed: 1 });      // PNG bytes
//   const { data, shape } = await w.sampleAsync(16, { seed: 1, format: 'tensor-data' });
//   await w.checkpointAsync();  w.status();  await w.close();
//
// Errors inside a worker reject the call with an Error carrying the worker's message, name
// and code (a TorchError); a crashed worker rejects what is pending with ERR_WORKER_EXITED.
// Each worker draws from its own generators (the addon keeps them per JS environment), so a
// worker's numbers are those of a lone run with its seed, whatever else runs in the process.
//
// The worker plumbing is in ./worker-channel.ts, RunEvents in ./worker-events.ts, GeneratorSampler
// in ./worker-sampler.ts and the public types in ./worker-types.ts; this file holds TrainingWorker.
import * as path from 'path';
import { invalidParameterError, is, unknownOptionError } from '../errors';
import type { RunConfig, RunSpec } from './run';
import type { StepStats } from './trainer';
import { Reply, StatusInfo, WireError, fromWireError } from './worker-shared';
import { Channel, coded, toBuffer } from './worker-channel';
import { RunEvents } from './worker-events';
import { checkSampleArgs, sampleVia } from './worker-sampler';
import type { RunOptions, SampleOptions, SampleTensorData, StartInfo, StartOptions, TrainingStatus } from './worker-types';

export { RunEvents } from './worker-events';
export { GeneratorSampler } from './worker-sampler';
export type { RunEnd, RunEvent, RunOptions, SampleOptions, SampleTensorData, StartInfo, StartOptions, TrainingStatus } from './worker-types';

/** A training run (lib/gan/run.ts) in its own worker thread. Create it with TrainingWorker.start(). */
export class TrainingWorker {
  /** the resolved configuration (the checkpoint's on resume) */
  readonly config: RunConfig;
  /** what start() found: data source, parameter counts, resume point, out folder */
  readonly info: StartInfo;
  private readonly ch: Channel;
  private current: { id: number; events: RunEvents; signal?: AbortSignal; onAbort?: () => void } | null = null;
  private st: TrainingStatus;
  private closing: Promise<void> | null = null;

  private constructor(ch: Channel, info: StartInfo) {
    this.ch = ch;
    this.info = info;
    this.config = info.config;
    this.st = { state: 'idle', step: info.step, iters: info.config.iters, losses: null, itPerSec: 0, lastCheckpoint: null };
    ch.onEvent = (m) => this.onEvent(m);
    ch.onExit = (e) => {
      this.st.state = 'closed';
      const cur = this.current;
      if (!cur) return;
      this.endRun();
      // close() ends a run as 'closed'; a worker that died is the run's error
      if (this.closing) cur.events.push({ type: 'end', step: this.st.step, reason: 'closed' });
      else cur.events.fail(e);
    };
  }

  /**
   * Starts a worker, loads the data and builds the run described by `config` (a RunSpec:
   * the CLI flags in camelCase, e.g. {loss: 'wgan-gp', dset: 'mnist', limit: 1024, batchSize: 64}).
   * Rejects (and stops the worker) when the config is invalid or the data cannot be loaded.
   */
  static async start(config: RunSpec, options: StartOptions = {}): Promise<TrainingWorker> {
    if (!is.plainObject(config)) throw invalidParameterError('TrainingWorker.start() config', 'a plain object (RunSpec)', config);
    if (!is.plainObject(options)) throw invalidParameterError('TrainingWorker.start() options', 'an object {out?, resume?, threads?}', options);
    for (const k of Object.keys(options)) if (!['out', 'resume', 'threads'].includes(k)) throw unknownOptionError('TrainingWorker.start()', k, ['out', 'resume', 'threads']);
    if (options.out !== undefined && (!is.string(options.out) || options.out === '')) throw invalidParameterError('TrainingWorker.start() options.out', 'a folder path', options.out);
    if (options.resume !== undefined && !is.bool(options.resume)) throw invalidParameterError('TrainingWorker.start() options.resume', 'a boolean', options.resume);
    if (options.threads !== undefined && !is.positiveInteger(options.threads)) throw invalidParameterError('TrainingWorker.start() options.threads', 'a positive integer', options.threads);
    const ch = new Channel('trainer');
    if (options.out !== undefined) ch.lockDir = path.resolve(options.out);
    try {
      const { reply } = ch.request<StartInfo>({
        op: 'start',
        spec: { ...config } as Record<string, unknown>,
        ...(options.out !== undefined ? { out: path.resolve(options.out) } : {}),
        ...(options.resume !== undefined ? { resume: options.resume } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      });
      const info = await reply;
      return new TrainingWorker(ch, info);
    } catch (e) {
      await ch.close();
      throw e;
    }
  }

  private onEvent(m: Exclude<Reply, { id: number }>): void {
    const cur = this.current;
    if (!cur || m.runId !== cur.id) return;
    switch (m.event) {
      case 'step':
        this.applyStatus(m.status);
        cur.events.push({ type: 'step', step: m.stats.iteration, stats: m.stats, itPerSec: m.status.itPerSec });
        break;
      case 'sample':
        cur.events.push({ type: 'sample', step: m.step, png: toBuffer(m.png), ...(m.file ? { file: m.file } : {}) });
        break;
      case 'checkpoint':
        this.st.lastCheckpoint = { step: m.step, dir: m.dir };
        cur.events.push({ type: 'checkpoint', step: m.step, dir: m.dir });
        break;
      case 'end':
        this.st.step = m.step;
        this.endRun();
        cur.events.push({ type: 'end', step: m.step, reason: m.reason });
        break;
      case 'error':
        this.endRun();
        cur.events.fail(fromWireError(m.error));
        break;
    }
  }

  private endRun(): void {
    const cur = this.current;
    if (!cur) return;
    if (cur.signal && cur.onAbort) cur.signal.removeEventListener('abort', cur.onAbort);
    this.current = null;
    if (this.st.state === 'running') this.st.state = 'idle';
    this.ch.setBusy(false);
  }

  private applyStatus(s: StatusInfo): void {
    this.st.step = s.step;
    this.st.iters = s.iters;
    this.st.losses = s.losses;
    this.st.itPerSec = s.itPerSec;
  }

  private assertOpen(where: string): void {
    if (this.closing || this.ch.isDead) throw coded(`TrainingWorker.${where}: the worker is closed`, 'ERR_WORKER_CLOSED');
  }

  /** One training step in the worker; resolves with its numbers (the same as GanTrainer.step() in a lone run). */
  async stepAsync(): Promise<StepStats> {
    this.assertOpen('stepAsync()');
    if (this.current) throw coded('TrainingWorker.stepAsync(): a run() is in progress', 'ERR_BUSY');
    const { reply } = this.ch.request<{ stats: StepStats; status: StatusInfo }>({ op: 'step' });
    const r = await reply;
    this.applyStatus(r.status);
    return r.stats;
  }

  /**
   * Trains in the background until `iters` more steps are done or `signal` aborts; returns
   * the run's events (an async iterator; see RunEvents). One run at a time (ERR_BUSY).
   */
  run(options: RunOptions = {}): RunEvents {
    this.assertOpen('run()');
    if (!is.plainObject(options)) throw invalidParameterError('TrainingWorker.run() options', 'an object {iters?, signal?, checkpointEvery?, sampleEvery?}', options);
    for (const k of Object.keys(options)) {
      if (!['iters', 'signal', 'checkpointEvery', 'sampleEvery'].includes(k)) throw unknownOptionError('TrainingWorker.run()', k, ['iters', 'signal', 'checkpointEvery', 'sampleEvery']);
    }
    const { iters, signal, checkpointEvery, sampleEvery } = options;
    if (iters !== undefined && !is.nonNegativeInteger(iters)) throw invalidParameterError('TrainingWorker.run() options.iters', 'a non-negative integer', iters);
    if (checkpointEvery !== undefined && !is.nonNegativeInteger(checkpointEvery)) throw invalidParameterError('TrainingWorker.run() options.checkpointEvery', 'a non-negative integer', checkpointEvery);
    if (sampleEvery !== undefined && !is.nonNegativeInteger(sampleEvery)) throw invalidParameterError('TrainingWorker.run() options.sampleEvery', 'a non-negative integer', sampleEvery);
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidParameterError('TrainingWorker.run() options.signal', 'an AbortSignal', signal);
    if (this.current) throw coded('TrainingWorker.run(): a run() is already in progress', 'ERR_BUSY');

    const { id, reply } = this.ch.request<{ step: number; iters: number }>({
      op: 'run',
      ...(iters !== undefined ? { iters } : {}),
      ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
      ...(sampleEvery !== undefined ? { sampleEvery } : {}),
    });
    const abort = () => this.ch.control({ op: 'abort', runId: id });
    const events = new RunEvents(abort);
    const cur: NonNullable<TrainingWorker['current']> = { id, events };
    this.current = cur;
    this.st.state = 'running';
    this.ch.setBusy(true);
    if (signal) {
      cur.signal = signal;
      cur.onAbort = abort;
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    }
    reply.then(
      (r) => {
        if (this.current === cur) this.st.iters = r.iters;
      },
      (e: Error) => {
        if (this.current === cur) this.endRun();
        events.fail(e);
      },
    );
    return events;
  }

  /**
   * n generated images from seeded noise (a JS PRNG: training's random numbers are untouched),
   * with the generator as it is now (between two steps during a run). 'png' (default): a PNG
   * grid; 'tensor-data': {data: Float32Array, shape: [n, c, h, w]} in [-1, 1].
   */
  sampleAsync(n: number, options?: SampleOptions & { format?: 'png' }): Promise<Buffer>;
  sampleAsync(n: number, options: SampleOptions & { format: 'tensor-data' }): Promise<SampleTensorData>;
  async sampleAsync(n: number, options?: SampleOptions): Promise<Buffer | SampleTensorData> {
    this.assertOpen('sampleAsync()');
    const o = checkSampleArgs('TrainingWorker.sampleAsync()', n, options);
    return sampleVia(this.ch, n, o);
  }

  /** Writes a checkpoint now (between two steps during a run); needs start({out}). */
  async checkpointAsync(): Promise<{ step: number; dir: string }> {
    this.assertOpen('checkpointAsync()');
    const { reply } = this.ch.request<{ step: number; dir: string }>({ op: 'checkpoint' });
    const c = await reply;
    if (!this.st.lastCheckpoint || c.step >= this.st.lastCheckpoint.step) this.st.lastCheckpoint = c;
    return c;
  }

  /** Where training stands (no round trip: updated after every step). */
  status(): TrainingStatus {
    return { ...this.st, losses: this.st.losses ? { ...this.st.losses } : null, lastCheckpoint: this.st.lastCheckpoint ? { ...this.st.lastCheckpoint } : null };
  }

  /**
   * Stops the worker: a run in progress stops between two steps (its events end with
   * reason 'closed'; no checkpoint: abort the run first for one), every tensor is freed
   * and the thread exits. Pending calls reject with ERR_WORKER_EXITED. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.ch.close();
      this.st.state = 'closed';
    })();
    return this.closing;
  }
}

export type { WireError };
