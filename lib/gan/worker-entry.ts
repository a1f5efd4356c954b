// The worker side of TrainingWorker / GeneratorSampler (./worker.ts): a training run or a
// generator in a worker_threads worker, driven by request messages. Every request gets
// exactly one reply ({id, ok, value} or {id, ok: false, error}); a run() streams events
// between its steps, and between steps the worker reads its messages (abort, sample,
// checkpoint), so these are answered within one step. Errors never escape: each is sent
// back with its message and code.
import * as path from 'path';
import { parentPort, workerData } from 'worker_threads';
import { performance } from 'perf_hooks';
import { N } from '../native';
import { TorchError } from '../errors';
import { setNumThreads, tidy } from '../tensor';
import type { Device, Tensor } from '../tensor';
import { imageGrid } from '../io/png';
import { loadSamplingGenerator } from './sampling-weights';
import { latestCheckpoint } from './checkpoint';
import { PreparedRun, RunConfig, RunSpec, TrainingRun, buildGenerator, cyclicLabels, generate, prepareRun, seededNoise } from './run';
import { RunDirLock, lockRunDir } from './run-lock';
import { checkSavedRunConfig } from './resume';
import type { StepStats } from './trainer';
import { Control, NativeGate, Reply, Request, StatusInfo, WorkerBoot, toWireError } from './worker-shared';
import { runArtefacts } from './artefacts';
import type { RunObserver } from './run';

if (!parentPort) throw new TorchError('lib/gan/worker-entry is a worker_threads entry point; use TrainingWorker or GeneratorSampler', { code: 'ERR_INVALID_STATE' });
const port = parentPort;
const boot = workerData as WorkerBoot;
// Every addon call happens inside a gate section (worker-shared.ts: NativeGate); the
// worker boots inside one (loading this module loaded the addon) and leaves it at the end.
const gate = new NativeGate(boot.shared, boot.slot);

const post = (m: Reply, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);
const ok = (id: number, value: unknown, transfer?: ArrayBuffer[]) => post({ id, ok: true, value }, transfer);
const fail = (id: number, e: unknown) => post({ id, ok: false, error: toWireError(e) });
const coded = (message: string, code: string): TorchError => new TorchError(message, { code });
/** A copy in a fresh ArrayBuffer, so it can be transferred (Buffers may share a pool). */
function own(bytes: Uint8Array): Uint8Array {
  const c = new Uint8Array(bytes.byteLength);
  c.set(bytes);
  return c;
}

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
/** the run's files in out (./artefacts.ts), the same observer as the CLI's */
let artefacts: ReturnType<typeof runArtefacts> | null = null;

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
  if (closing) throw coded('the worker is closing', 'ERR_WORKER_CLOSED');
  if (!run) throw coded('no training run (start() failed or has not finished)', 'ERR_NOT_STARTED');
  return run;
}

/** One step by hand (stepAsync): the numbers go to the run's files as in a run(). */
function trainOneStep(r: TrainingRun): StepStats {
  const s = r.trainStep();
  artefacts?.onStep?.(r, s);
  lastStats = s;
  stepTimes.push(performance.now());
  if (stepTimes.length > 20) stepTimes.shift();
  return s;
}

function checkpointNow(r: TrainingRun): { step: number; dir: string } {
  if (!ckptDir) throw coded('no output folder: start the worker with {out} to write checkpoints', 'ERR_NO_OUT');
  const dir = r.saveCheckpoint(ckptDir!);
  return { step: r.iteration, dir };
}

async function start(m: Extract<Request, { op: 'start' }>): Promise<unknown> {
  if (run) throw coded('already started', 'ERR_BUSY');
  if (m.threads !== undefined) setNumThreads(m.threads);
  out = m.out !== undefined ? path.resolve(m.out) : undefined;
  ckptDir = out !== undefined ? path.join(out, 'checkpoints') : undefined;
  if (m.resume && !ckptDir) throw coded('resume needs the out folder of the run to resume', 'ERR_NO_OUT');
  // one run per out folder: a second worker on it is refused (./run-lock.ts)
  if (out !== undefined) runLock = lockRunDir(out);
  try {
    const p = await prepareRun(m.spec as RunSpec, m.resume ? { resume: ckptDir } : {});
    if (closing) throw coded('the worker is closing', 'ERR_WORKER_CLOSED');
    run = TrainingRun.create(p.config, p.dataset, p.resumeFrom !== undefined ? { resumeFrom: p.resumeFrom } : {});
    artefacts = out !== undefined ? runArtefacts(out) : null;
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
  artefacts?.onStart?.(r, { target }); // config.json, samples/, the loss log (cut back on a resume)
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
  const events: RunObserver = {
    onStep: (_run, stats) => {
      lastStats = stats;
      stepTimes.push(performance.now());
      if (stepTimes.length > 20) stepTimes.shift();
      post({ event: 'step', runId, stats, status: status() });
    },
    onSample: (_run, step, bytes) => {
      const png = own(bytes);
      const file = out ? path.join(out, 'samples', `step-${String(step).padStart(8, '0')}.png`) : undefined;
      post({ event: 'sample', runId, step, png, ...(file ? { file } : {}) }, [png.buffer as ArrayBuffer]);
    },
    onCheckpoint: (_run, step, dir) => post({ event: 'checkpoint', runId, step, dir }),
  };
  try {
    // THE loop (TrainingRun.train); abort, sample, checkpoint and status requests are read between steps
    const end = await r.train({
      iters,
      checkpointEvery,
      sampleEvery,
      ...(ckptDir !== undefined ? { checkpointRoot: ckptDir } : {}),
      observers: [...(artefacts ? [artefacts] : []), events],
      stop: () => (closing ? 'closed' : me.abort ? 'aborted' : null),
      around: (fn) => gate.run(fn),
    });
    post({ event: 'end', runId, step: end.step, reason: end.reason });
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
  const latest = latestCheckpoint(dir);
  const config = { ...checkSavedRunConfig(latest.state.config, path.join(latest.dir, 'state.json')), ...(device !== undefined ? { device } : {}) };
  const generator = buildGenerator(config);
  try {
    // the EMA's weights when the checkpoint has them (./sampling-weights.ts)
    const st = loadSamplingGenerator(dir, generator);
    generator.eval();
    const old = sampler;
    sampler = { generator, config, step: st.step, dir: st.dir };
    old?.generator.dispose();
    return { step: st.step, dir: st.dir, config, weights: st.weights };
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
      if (active) throw coded('a run() is in progress; stepAsync() waits for it to end', 'ERR_BUSY');
      const stats = trainOneStep(r);
      return ok(m.id, { stats, status: status() });
    }
    case 'run': {
      const r = needRun();
      if (active) throw coded('a run() is already in progress', 'ERR_BUSY');
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
        if (!sampler) throw coded('no generator loaded', 'ERR_NOT_STARTED');
        const s = sampler;
        const { value, transfer } = sampleFrom(m.n, seed, m.format, m.nrow, () => {
          const z = seededNoise(s.config, m.n, seed);
          try {
            // a conditional generator's sample i is of class i mod numClasses
            const y = s.config.numClasses !== undefined ? cyclicLabels(m.n, s.config.numClasses, s.config.device as Device) : undefined;
            try {
              return generate(s.generator, z, y);
            } finally {
              y?.dispose();
            }
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
