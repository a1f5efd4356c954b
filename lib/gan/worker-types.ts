// The public types of TrainingWorker (./worker.ts) and GeneratorSampler (./worker-sampler.ts):
// their options, a run's events and a worker's status, as user code sees them. The messages
// between the threads (Request, Reply, WireError) are ./worker-shared.ts's; these are kept apart
// so that the two classes and RunEvents (./worker-events.ts) share them without importing each other.
import type { ResumedFrom, RunConfig } from './run';
import type { StepStats } from './trainer';
import type { StatusInfo } from './worker-shared';

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
