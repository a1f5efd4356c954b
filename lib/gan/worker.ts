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
import * as path from 'path';
import { releaseThreadLock } from './run-lock';
import { Worker } from 'worker_threads';
import { TorchError, invalidParameterError, is, unknownOptionError } from '../errors';
import type { ResumedFrom, RunConfig, RunSpec } from './run';
import type { StepStats } from './trainer';
import {
  Control, Reply, Request, StatusInfo, WireError, WorkerBoot, createSharedBuffer, fromWireError, releaseSlot, resetGate, stopAtSafePoint, WORKER_SLOTS,
} from './worker-shared';


// ---------------------------------------------------------------- worker plumbing

let shared: SharedArrayBuffer | null = null;
const usedSlots = new Set<number>();
const live = new Set<Channel>();

/**
 * process.exit() stops every worker; one stopped inside an addon call would abort the
 * process (see NativeGate in worker-shared.ts). At exit, wait (≤ 60 s in all) until each
 * live worker is between two addon sections and mark it stopped there.
 */
function stopWorkersAtExit(): void {
  const deadline = Date.now() + 60_000;
  for (const ch of live) ch.stopAtSafePoint(deadline);
}
let exitHookInstalled = false;

const coded = (message: string, code: string): TorchError => new TorchError(message, { code });

/** The worker entry next to this file: worker-entry.ts under tsx, worker-entry.js when compiled. */
function spawnWorker(workerData: WorkerBoot): Worker {
  const ext = path.extname(__filename);
  if (ext === '.ts') {
    // Loader hooks are not inherited by workers: the worker registers tsx's CommonJS hook itself.
    const entry = path.join(__dirname, 'worker-entry.ts');
    const tsx = require.resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(entry)});`, { eval: true, workerData });
  }
  return new Worker(path.join(__dirname, 'worker-entry.js'), { workerData });
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One worker and its request/reply bookkeeping. */
class Channel {
  readonly worker: Worker;
  readonly exited: Promise<number>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private busy = false;
  private readonly slot: number;
  private readonly buffer: SharedArrayBuffer;
  onEvent: (m: Exclude<Reply, { id: number }>) => void = () => {};
  onExit: (error: Error) => void = () => {};
  /** the run folder whose lock (./run-lock.ts) the worker takes: freed here if the worker dies holding it */
  lockDir: string | null = null;

  constructor(kind: WorkerBoot['kind']) {
    shared ??= createSharedBuffer();
    this.buffer = shared;
    let slot = 0;
    while (usedSlots.has(slot)) slot++;
    if (slot >= WORKER_SLOTS) throw coded(`too many torch-gan workers in this process (at most ${WORKER_SLOTS})`, 'ERR_TOO_MANY_WORKERS');
    usedSlots.add(slot);
    this.slot = slot;
    resetGate(this.buffer, slot);
    this.worker = spawnWorker({ kind, shared: this.buffer, slot });
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', stopWorkersAtExit);
    }
    const threadId = this.worker.threadId;
    this.worker.on('message', (m: Reply) => {
      if ('event' in m) this.onEvent(m);
      else {
        const p = this.pending.get(m.id);
        if (p) {
          this.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(fromWireError(m.error));
        }
      }
      this.updateRef();
    });
    // An exception that escaped the worker's handlers: the worker is gone; fail what waits.
    this.worker.on('error', (e: unknown) => this.fail(e instanceof Error ? e : fromWireError({ message: String(e), name: 'Error' })));
    this.worker.on('messageerror', (e) => this.fail(e));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        live.delete(this);
        if (this.lockDir) releaseThreadLock(this.lockDir, threadId);
        releaseSlot(this.buffer, this.slot);
        usedSlots.delete(this.slot);
        this.fail(coded(`the torch-gan worker exited (code ${code})`, 'ERR_WORKER_EXITED'));
        resolve(code);
      });
    });
  }

  get isDead(): boolean {
    return this.dead !== null;
  }

  /** At process exit: see stopWorkersAtExit. */
  stopAtSafePoint(deadline: number): void {
    if (!stopAtSafePoint(this.buffer, this.slot, deadline)) {
      process.stderr.write('torch-gan: a worker was still inside an addon call at exit\n');
    }
  }

  private fail(e: Error): void {
    if (!this.dead) {
      this.dead = e;
      this.onExit(e);
    }
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Keeps the process alive only while the worker has work (a pending call or a run). */
  private updateRef(): void {
    if (this.dead) return;
    if (this.pending.size > 0 || this.busy) this.worker.ref();
    else this.worker.unref();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.updateRef();
  }

  /** Sends a request; returns its id and the promise of its reply. */
  request<T>(body: RequestBody): { id: number; reply: Promise<T> } {
    const id = this.nextId++;
    if (this.dead) return { id, reply: Promise.reject(this.dead) };
    try {
      this.worker.postMessage({ ...body, id } as Request);
    } catch (e) {
      return { id, reply: Promise.reject(e) }; // e.g. a value that cannot be cloned
    }
    const reply = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.updateRef();
    return { id, reply };
  }

  control(m: Control): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  /**
   * Asks the worker to free everything and exit by itself (it is never stopped inside an
   * addon call: see NativeGate); a worker that is already gone is just awaited.
   */
  async close(): Promise<void> {
    if (!this.dead) {
      const { reply } = this.request<unknown>({ op: 'close' });
      await reply.catch(() => undefined);
    }
    // the worker exits right after its reply; outside a gate section, so terminating is safe too
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function checkSampleArgs(where: string, n: unknown, options: unknown): SampleOptions {
  if (!is.positiveInteger(n) || n > 4096) throw invalidParameterError(`${where} n`, 'an integer in [1, 4096]', n);
  if (options !== undefined && !is.plainObject(options)) throw invalidParameterError(`${where} options`, 'an object {seed?, format?, nrow?}', options);
  const o = (options ?? {}) as SampleOptions;
  for (const k of Object.keys(o)) if (!['seed', 'format', 'nrow'].includes(k)) throw unknownOptionError(where, k, ['seed', 'format', 'nrow']);
  if (o.seed !== undefined && !(is.nonNegativeInteger(o.seed) && o.seed <= 0xffffffff)) throw invalidParameterError(`${where} options.seed`, 'an integer in [0, 2^32)', o.seed);
  if (o.format !== undefined && o.format !== 'png' && o.format !== 'tensor-data') throw invalidParameterError(`${where} options.format`, "'png' or 'tensor-data'", o.format);
  if (o.nrow !== undefined && !is.positiveInteger(o.nrow)) throw invalidParameterError(`${where} options.nrow`, 'a positive integer', o.nrow);
  return o;
}

async function sampleVia(ch: Channel, n: number, o: SampleOptions): Promise<Buffer | SampleTensorData> {
  const { reply } = ch.request<Uint8Array | SampleTensorData>({ op: 'sample', n, format: o.format ?? 'png', ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.nrow !== undefined ? { nrow: o.nrow } : {}) });
  const v = await reply;
  return v instanceof Uint8Array ? toBuffer(v) : v;
}

// ---------------------------------------------------------------- public types

export interface SampleOptions {
  /** seed of the noise (a JS PRNG: the training run's random numbers are not touched); default random */
  seed?: number;
  /** 'png' (default): a PNG grid; 'tensor-data': the raw images */
  format?: 'png' | 'tensor-data';
  /** images per grid row (png); default ceil(sqrt(n)) */
  nrow?: number;
}

/** Generated images as data: (n, channels, height, width) float32 in [-1, 1], row-major. */
export interface SampleTensorData {
  data: Float32Array;
  shape: number[];
  seed: number;
}

export interface StartOptions {
  /**
   * Output folder: checkpoints in out/checkpoints (the CLI's layout, so `examples/mnist.ts
   * --resume --out DIR` and GeneratorSampler.load(out + '/checkpoints') work), sample grids
   * in out/samples and out/latest.png, the resolved config in out/config.json.
   */
  out?: string;
  /** continue from the latest checkpoint in out/checkpoints (exactly: weights, optimizers, RNG, data order) */
  resume?: boolean;
  /** libtorch intra-op threads; note: a process-wide setting, shared with the main thread and other workers */
  threads?: number;
}

export interface RunOptions {
  /** steps to run in this call; default: up to the config's iters */
  iters?: number;
  /** aborting stops the run between two steps, then writes a checkpoint (with out) and ends with reason 'aborted' */
  signal?: AbortSignal;
  /** checkpoint period in steps (with out); default the config's checkpointEvery; 0: only at the end */
  checkpointEvery?: number;
  /** period of 'sample' events (the fixed-noise 8×8 grid); default the config's sampleEvery; 0: none */
  sampleEvery?: number;
}

export type RunEvent =
  /** after every step */
  | { type: 'step'; step: number; stats: StepStats; itPerSec: number }
  /** the fixed-noise grid as PNG bytes (also written to out/samples/ and out/latest.png with out) */
  | { type: 'sample'; step: number; png: Buffer; file?: string }
  /** a complete checkpoint was written */
  | { type: 'checkpoint'; step: number; dir: string }
  /** the last event: 'done' (iters reached), 'aborted' (signal; a checkpoint was written first with out), 'closed' (close()) */
  | { type: 'end'; step: number; reason: 'done' | 'aborted' | 'closed' };

export type RunEnd = Extract<RunEvent, { type: 'end' }>;

export interface TrainingStatus {
  /** 'idle' (started, not in run()), 'running' (in run()), 'closed' */
  state: 'idle' | 'running' | 'closed';
  /** generator iterations done */
  step: number;
  /** the iteration the current/last run aims at (the config's iters before any run()) */
  iters: number;
  /** the last step's losses (null before the first step) */
  losses: StatusInfo['losses'];
  /** iterations per second over the last ≤ 20 steps */
  itPerSec: number;
  lastCheckpoint: { step: number; dir: string } | null;
}

/** What start() learned in the worker. */
export interface StartInfo {
  config: RunConfig;
  step: number;
  resumedFrom: ResumedFrom | null;
  dataSource: string;
  parameters: { generator: number; critic: number };
  out: string | null;
}

// ---------------------------------------------------------------- run events

const MAX_QUEUED_STEPS = 1024;

/**
 * The events of one run(), as an async iterator (for await ... of). Events are queued until
 * read (at most 1024 'step' events: the oldest are dropped first; never the others). Leaving
 * the loop early (break) aborts the run and waits for it to stop. `finished` resolves with the
 * 'end' event (or rejects with the run's error) whether or not the events are read.
 */
export class RunEvents implements AsyncIterableIterator<RunEvent> {
  /** resolves with the 'end' event; rejects if training failed */
  readonly finished: Promise<RunEnd>;
  private readonly queue: RunEvent[] = [];
  private waiter: { resolve: (r: IteratorResult<RunEvent>) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;
  private ended = false;
  private delivered = false;
  private resolveFinished!: (e: RunEnd) => void;
  private rejectFinished!: (e: Error) => void;

  /** @internal */
  constructor(private readonly abortRun: () => void) {
    this.finished = new Promise<RunEnd>((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    this.finished.catch(() => {}); // a failure is reported to whoever awaits it, never unhandled
  }

  /** @internal */
  push(ev: RunEvent): void {
    if (this.ended) return;
    if (ev.type === 'end') {
      this.ended = true;
      this.resolveFinished(ev);
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: ev, done: false });
      return;
    }
    this.queue.push(ev);
    if (ev.type === 'step' && this.queue.length > MAX_QUEUED_STEPS) {
      const i = this.queue.findIndex((e) => e.type === 'step');
      if (i >= 0) this.queue.splice(i, 1);
    }
  }

  /** @internal */
  fail(e: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = e;
    this.rejectFinished(e);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.delivered = true;
      w.reject(e);
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<RunEvent>> {
    const ev = this.queue.shift();
    if (ev) return Promise.resolve({ value: ev, done: false });
    if (this.ended) {
      if (this.error && !this.delivered) {
        this.delivered = true;
        return Promise.reject(this.error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new TorchError('RunEvents: next() called again before the previous call settled', { code: 'ERR_INVALID_STATE' }));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Leaving a for-await loop early: aborts the run and waits until it has stopped (checkpoint written). */
  async return(): Promise<IteratorResult<RunEvent>> {
    if (!this.ended) {
      this.abortRun();
      await this.finished.catch(() => undefined);
    }
    this.queue.length = 0;
    this.delivered = true;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

// ---------------------------------------------------------------- TrainingWorker

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

// ---------------------------------------------------------------- GeneratorSampler

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

export type { WireError };
