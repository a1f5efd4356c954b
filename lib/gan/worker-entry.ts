// The worker side of TrainingWorker / GeneratorSampler (./worker.ts): a training run or a
// generator in a worker_threads worker, driven by request messages. Every request gets
// exactly one reply ({id, ok, value} or {id, ok: false, error}); a run() streams events
// between its steps, and between steps the worker reads its messages (abort, sample,
// checkpoint), so these are answered within one step. Errors never escape: each is sent
// back with its message and code.
import * as fs from 'fs';
import * as path from 'path';
import { parentPort, workerData, threadId } from 'worker_threads';
import { performance } from 'perf_hooks';
import { N } from '../native';
import { TorchError } from '../errors';
import { getRngState, setRngState, setNumThreads, tidy } from '../tensor';
import type { Tensor } from '../tensor';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic';
import { imageGrid } from '../io/png';
import { latestCheckpoint, loadCheckpoint } from './checkpoint';
import { PreparedRun, RunConfig, RunSpec, TrainingRun, buildGenerator, generate, prepareRun, seededNoise } from './run';
import { RunDirLock, lockRunDir } from './run-lock';
import type { StepStats } from './trainer';
import { Control, NativeGate, Reply, Request, RngLock, StatusInfo, WorkerBoot, toWireError } from './worker-shared';

if (!parentPort) throw new TorchError('lib/gan/worker-entry is a worker_threads entry point; use TrainingWorker or GeneratorSampler', { code: 'ERR_INVALID_STATE' });
const port = parentPort;
const boot = workerData as WorkerBoot;
const lock = new RngLock(boot.shared, boot.slot, threadId);
// Every addon call happens inside a gate section (worker-shared.ts: NativeGate); the
// worker boots inside one (loading this module loaded the addon) and leaves it at the end.
const gate = new NativeGate(boot.shared, boot.slot);

// ---------------------------------------------------------------- the RNG guard (see worker-shared.ts)
let myRng: Tensor | null = null;
function withRng<T>(fn: () => T): T {
  lock.acquire();
  try {
    if (myRng) setRngState(myRng);
    return fn();
  } finally {
    try {
      const s = getRngState();
      myRng?.dispose();
      myRng = s;
    } finally {
      lock.release();
    }
  }
}

const post = (m: Reply, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);
const ok = (id: number, value: unknown, transfer?: ArrayBuffer[]) => post({ id, ok: true, value }, transfer);
const fail = (id: number, e: unknown) => post({ id, ok: false, error: toWireError(e) });
/** A copy in a fresh ArrayBuffer, so it can be transferred (Buffers may share a pool). */
function own(bytes: Uint8Array): Uint8Array {
  const c = new Uint8Array(bytes.byteLength);
  c.set(bytes);
  return c;
}
const yieldToEvents = () => new Promise<void>((r) => setImmediate(r));

// ---------------------------------------------------------------- trainer state
let run: TrainingRun | null = null;
let out: string | undefined;
let ckptDir: string | undefined;
let lastStats: StepStats | null = null;
let target = 0;
const stepTimes: number[] = [];
let active: { runId: number; abort: boolean } | null = null;
let closing = false;
let runLock: RunDirLock | null = null;

// ---------------------------------------------------------------- sampler state
let sampler: { generator: ReturnType<typeof buildGenerator>; config: RunConfig; step: number; dir: string } | null = null;

function status(): StatusInfo {
  const k = stepTimes.length;
  const itPerSec = k >= 2 ? (k - 1) / ((stepTimes[k - 1] - stepTimes[0]) / 1000) : 0;
  const s = lastStats;
  return {
    step: run?.iteration ?? 0,
    iters: target,
    losses: s ? { critic: s.criticLoss, generator: s.generatorLoss, wasserstein: s.wassersteinEstimate, penalty: s.penalty, gradNorm: s.gradNorm } : null,
    itPerSec,
  };
}

function needRun(): TrainingRun {
  if (closing) throw new TorchError('the worker is closing', { code: 'ERR_WORKER_CLOSED' });
  if (!run) throw new TorchError('no training run (start() failed or has not finished)', { code: 'ERR_NOT_STARTED' });
  return run;
}

function trainOneStep(r: TrainingRun): StepStats {
  const s = withRng(() => r.trainStep());
  lastStats = s;
  stepTimes.push(performance.now());
  if (stepTimes.length > 20) stepTimes.shift();
  return s;
}

function checkpointNow(r: TrainingRun): { step: number; dir: string } {
  if (!ckptDir) throw new TorchError('no output folder: start the worker with {out} to write checkpoints', { code: 'ERR_NO_OUT' });
  const dir = withRng(() => r.saveCheckpoint(ckptDir!));
  return { step: r.iteration, dir };
}

function writeGrid(step: number, png: Uint8Array): string | undefined {
  if (!out) return undefined;
  const file = path.join(out, 'samples', `step-${String(step).padStart(8, '0')}.png`);
  writeFileAtomic(file, png);
  writeFileAtomic(path.join(out, 'latest.png'), png);
  return file;
}

async function start(m: Extract<Request, { op: 'start' }>): Promise<unknown> {
  if (run) throw new TorchError('already started', { code: 'ERR_BUSY' });
  if (m.threads !== undefined) setNumThreads(m.threads);
  out = m.out !== undefined ? path.resolve(m.out) : undefined;
  ckptDir = out !== undefined ? path.join(out, 'checkpoints') : undefined;
  if (m.resume && !ckptDir) throw new TorchError('resume needs the out folder of the run to resume', { code: 'ERR_NO_OUT' });
  // one run per out folder: a second worker on it is refused (./run-lock.ts)
  if (out !== undefined) runLock = lockRunDir(out);
  try {
    const p = await prepareRun(m.spec as RunSpec, m.resume ? { resume: ckptDir } : {});
    if (closing) throw new TorchError('the worker is closing', { code: 'ERR_WORKER_CLOSED' });
    run = withRng(() => TrainingRun.create(p.config, p.dataset, p.resumeFrom !== undefined ? { resumeFrom: p.resumeFrom } : {}));
    return started(p);
  } catch (e) {
    runLock?.release();
    runLock = null;
    throw e;
  }
}

function started(p: PreparedRun): unknown {
  const r = run!;
  target = p.config.iters;
  if (out) {
    fs.mkdirSync(path.join(out, 'samples'), { recursive: true });
    writeJsonAtomic(path.join(out, 'config.json'), p.config);
  }
  return {
    config: p.config,
    step: r.iteration,
    resumedFrom: r.resumedFrom,
    dataSource: p.dataset.source,
    parameters: { generator: r.generator.numParameters(), critic: r.critic.numParameters() },
    out: out ?? null,
  };
}

async function trainLoop(runId: number, r: TrainingRun, iters: number, checkpointEvery: number, sampleEvery: number): Promise<void> {
  const me = active!;
  let lastCkpt = -1;
  let reason: 'done' | 'aborted' | 'closed' = 'done';
  try {
    for (let done = 0; ; done++) {
      if (closing) {
        reason = 'closed';
        break;
      }
      if (me.abort) {
        reason = 'aborted';
        break;
      }
      if (done >= iters) break;
      gate.run(() => {
        const stats = trainOneStep(r);
        post({ event: 'step', runId, stats, status: status() });
        const step = r.iteration;
        if (ckptDir && checkpointEvery > 0 && step % checkpointEvery === 0) {
          const c = checkpointNow(r);
          lastCkpt = c.step;
          post({ event: 'checkpoint', runId, ...c });
        }
        if (sampleEvery > 0 && step % sampleEvery === 0) {
          const png = own(r.fixedNoiseGrid());
          const file = writeGrid(step, png);
          post({ event: 'sample', runId, step, png, ...(file ? { file } : {}) }, [png.buffer as ArrayBuffer]);
        }
      });
      await yieldToEvents(); // abort, sample, checkpoint and status requests are read here
    }
    // stopped between two steps: a complete checkpoint of where it stopped (not on close)
    if (reason !== 'closed' && ckptDir && lastCkpt !== r.iteration) {
      const c = gate.run(() => checkpointNow(r));
      post({ event: 'checkpoint', runId, ...c });
    }
    post({ event: 'end', runId, step: r.iteration, reason });
  } catch (e) {
    post({ event: 'error', runId, error: toWireError(e) });
  } finally {
    active = null;
  }
}

function sampleFrom(n: number, seed: number, format: 'png' | 'tensor-data', nrow: number | undefined, images: () => Tensor): { value: unknown; transfer: ArrayBuffer[] } {
  const t = images();
  try {
    if (format === 'png') {
      const png = own(imageGrid(t, { nrow: nrow ?? Math.ceil(Math.sqrt(n)), padding: 2 }));
      return { value: png, transfer: [png.buffer as ArrayBuffer] };
    }
    const data = new Float32Array(tidy(() => t.cpu().contiguous().data() as Float32Array));
    return { value: { data, shape: t.shape, seed }, transfer: [data.buffer as ArrayBuffer] };
  } finally {
    t.dispose();
  }
}

function loadSampler(dir: string, device: string | undefined): unknown {
  const { state } = latestCheckpoint(dir);
  const config = { ...(state.config as unknown as RunConfig), ...(device !== undefined ? { device } : {}) };
  const generator = withRng(() => buildGenerator(config));
  try {
    const st = loadCheckpoint(dir, { generator }, { restoreRng: false });
    generator.eval();
    const old = sampler;
    sampler = { generator, config, step: st.step, dir: st.dir };
    old?.generator.dispose();
    return { step: st.step, dir: st.dir, config };
  } catch (e) {
    generator.dispose();
    throw e;
  }
}

function shutdown(): unknown {
  closing = true;
  if (active) active.abort = true;
  run?.dispose();
  run = null;
  sampler?.generator.dispose();
  sampler = null;
  myRng?.dispose();
  myRng = null;
  runLock?.release();
  runLock = null;
  return N.memoryCounters();
}

async function handle(m: Request): Promise<void> {
  try {
    await gate.runAsync(() => dispatch(m));
  } catch (e) {
    fail(m.id, e);
  }
  if (m.op === 'close') process.exit(0); // after the reply: nothing of the addon is in use
}

async function dispatch(m: Request): Promise<void> {
  switch (m.op) {
    case 'start':
      return ok(m.id, await start(m));
    case 'step': {
      const r = needRun();
      if (active) throw new TorchError('a run() is in progress; stepAsync() waits for it to end', { code: 'ERR_BUSY' });
      const stats = trainOneStep(r);
      return ok(m.id, { stats, status: status() });
    }
    case 'run': {
      const r = needRun();
      if (active) throw new TorchError('a run() is already in progress', { code: 'ERR_BUSY' });
      const iters = m.iters ?? Math.max(0, target - r.iteration);
      target = r.iteration + iters;
      active = { runId: m.id, abort: false };
      ok(m.id, { step: r.iteration, iters: target });
      void trainLoop(m.id, r, iters, m.checkpointEvery ?? r.config.checkpointEvery, m.sampleEvery ?? r.config.sampleEvery);
      return;
    }
    case 'sample': {
      const seed = m.seed ?? Math.floor(Math.random() * 2 ** 31);
      if (boot.kind === 'sampler') {
        if (!sampler) throw new TorchError('no generator loaded', { code: 'ERR_NOT_STARTED' });
        const s = sampler;
        const { value, transfer } = sampleFrom(m.n, seed, m.format, m.nrow, () => {
          const z = seededNoise(s.config, m.n, seed);
          try {
            return generate(s.generator, z);
          } finally {
            z.dispose();
          }
        });
        return ok(m.id, value, transfer);
      }
      const r = needRun();
      const { value, transfer } = sampleFrom(m.n, seed, m.format, m.nrow, () => r.sample(m.n, seed));
      return ok(m.id, value, transfer);
    }
    case 'checkpoint':
      return ok(m.id, checkpointNow(needRun()));
    case 'load':
      return ok(m.id, loadSampler(m.dir, m.device));
    case 'close':
      return ok(m.id, shutdown());
  }
}

port.on('message', (m: Request | Control) => {
  if (m.op === 'abort') {
    if (active && (m.runId === undefined || m.runId === active.runId)) active.abort = true;
    return;
  }
  void handle(m as Request);
});

gate.leave(); // booted: the addon is loaded and idle
