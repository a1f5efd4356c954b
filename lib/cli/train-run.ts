// The command line of examples/mnist.ts, cifar10.ts and celeba.ts: flags (seed 002's
// names) -> a RunSpec for the engine in lib/gan/run.ts (data, config, models, trainer,
// checkpoints, exact resume), progress printing, and what a run writes in --out:
//   samples/step-00000200.png + latest.png   8×8 grids from fixed noise
//   losses.jsonl + losses.svg                per-iteration numbers and their plot
//   progress.gif                             the grids over training
//   checkpoints/                             crash-safe, resumable (lib/gan/checkpoint)
import * as path from 'path';
import * as tg from '..';
import { FlagSpec, FlagSpecs, ParsedFlags, explicitFlags, flagSpelling } from './args';
import { applySeedFlags } from './seed-flags';
import { toyModes } from '../gan/toy-run';
import type { ModeStats } from '../data';
import { Progress } from './progress';
import { StepStats } from '../gan';
import { ImageDataset } from '../data';
import { runArtefacts, tensorBoardLog } from '../gan/artefacts';
import { lockRunDir } from '../gan/run-lock';
import { DataParallel, destroyProcessGroup, initProcessGroup } from '../distributed';
import {
  checkDataParallelConfig, RUN_DSETS, RUN_LOSSES, RUN_OPTIONS, RUN_SPEC_KEYS, PreparedRun, RunConfig, RunObserver, TrainEnd, TrainingRun, pickRunSpec, prepareRun, resolveRunConfig, loadRunData as loadRunDataLib,
} from '../gan/run';

export const LOSSES = RUN_LOSSES;
export const DSETS = RUN_DSETS;

/** Flag name of an option key: batchSize -> --batch-size. */
export const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Errors name an option as this command line spelled it (--dset if so typed), else --kebab-case. */
const spellingOf = (f: ParsedFlags) => (key: string): string => flagSpelling(f, key);

/**
 * The CLI's flags: every run option of RUN_OPTIONS (lib/gan/run-config.ts) as --kebab-case with
 * its seed spellings as aliases, then the flags of the command itself; `dataset` is the example's
 * default data set.
 */
export function trainFlags(dataset: (typeof DSETS)[number]): FlagSpecs {
  const flags: FlagSpecs = {};
  for (const key of RUN_SPEC_KEYS) {
    const o = RUN_OPTIONS[key];
    const spec: FlagSpec = { type: o.type, help: o.help };
    if (o.choices) spec.choices = o.choices;
    if (o.min !== undefined) spec.min = o.min;
    if (o.max !== undefined) spec.max = o.max;
    const def = key === 'dataset' ? dataset : o.default;
    // options that only apply with some others (clamping with --loss wgan, --acgan-weight with --conditional acgan) must not look given
    if (def !== undefined && (key === 'clampLower' || key === 'clampUpper' || key === 'acganWeight')) spec.shownDefault = def as number;
    else if (def !== undefined) spec.default = def;
    if (o.aliases) spec.aliases = o.aliases;
    if (o.valueAliases) spec.valueAliases = o.valueAliases;
    if (o.refuse) spec.refuse = o.refuse;
    flags[flagName(key).slice(2)] = spec;
  }
  return {
    ...flags,
    context: { type: 'choice', choices: ['cpu', 'cuda', 'cudnn'], aliases: ['-c'], help: "nnabla's context (seed 001): cudnn or cuda is --device cuda:N (N from -d, default 0), cpu is --device cpu" },
    backend: { type: 'choice', choices: ['tensorflow', 'theano'], help: "seed 002's Keras backend: accepted and ignored with a note (torch-gan runs on libtorch; no backend to choose)" },
    out: { type: 'string', default: 'generated', aliases: ['--monitor-path'], help: 'output folder' },
    resume: { type: 'bool', default: false, help: 'continue from the latest checkpoint in --out' },
    threads: { type: 'int', min: 1, help: 'libtorch threads (default: all cores)' },
    'dist-timeout': { type: 'number', min: 1, default: 300, help: 'data-parallel (WORLD_SIZE > 1, as torch-gan launch and torchrun set): seconds a rank waits for the others (rendezvous, every all-reduce) before failing' },
    'log-dir': { type: 'string', help: 'also write TensorBoard event files here (losses, W estimate, penalty, grad norm, it/s, sample grids): tensorboard --logdir DIR' },
  };
}

export type { RunConfig } from '../gan/run';
export { buildModels } from '../gan/run';


/** Flags → a complete, validated run configuration (policy: the published recipes; lib/gan/run). */
export function resolveConfig(f: ParsedFlags, dataset: { channels: number; height: number; n: number }): RunConfig {
  return resolveRunConfig(pickRunSpec(f), dataset, spellingOf(f));
}

/** Loads the run's data set; the MNIST fallback and every source say what they used. (Configuration errors are ERR_RUN_CONFIG: the CLI exits 2 for them.) */
export async function loadRunData(f: ParsedFlags): Promise<ImageDataset | import('../gan/toy-run').ToyData> {
  return loadRunDataLib(pickRunSpec(f), spellingOf(f));
}

/** What a training run returns; `modes`: a toy run's modes covered by 2000 samples (Gaussian mixtures only). */
export interface TrainResult { out: string; config: RunConfig; last?: StepStats; modes?: ModeStats & { modes: number } }


/**
 * One rank of a data-parallel run when the environment says so (WORLD_SIZE > 1, with RANK,
 * MASTER_ADDR, MASTER_PORT: torch-gan launch and torchrun set them): joins the process group
 * (Gloo, over rank 0's TCPStore) and returns the data-parallel policy; else null.
 */
function joinFromEnv(timeoutSeconds: number): DataParallel | null {
  const ws = process.env.WORLD_SIZE;
  if (ws === undefined || ws.trim() === '1') return null;
  initProcessGroup({ timeoutMs: Math.round(timeoutSeconds * 1000) }); // validates RANK, WORLD_SIZE, MASTER_*: errors name the variable
  return new DataParallel();
}

/** Runs (or resumes) a training run, writing everything into `out`. */
export async function trainRun(f: ParsedFlags, log: (m: string) => void = (m) => console.log(m)): Promise<TrainResult> {
  applySeedFlags(f, log);
  const out = path.resolve(f.out as string);
  if (f.threads !== undefined) tg.setNumThreads(f.threads as number);
  const ckptDir = path.join(out, 'checkpoints');
  const dp = joinFromEnv(f.distTimeout as number);
  try {
    const rank = dp?.rank ?? 0;
    if (dp) log(`data-parallel: rank ${rank} of ${dp.worldSize}${rank === 0 ? '' : ' (rank 0 writes the grids, logs and checkpoints)'}`);
    const say = rank === 0 ? log : () => undefined;
    // data, config (the published recipe; on --resume the checkpoint's: only the flags given on this
    // command line are compared with it, the defaults are not; --iters may extend the run)
    const lock = rank === 0 ? lockRunDir(out) : null;
    try {
      const prepared = await prepareRun(pickRunSpec(f.resume ? explicitFlags(f) : f), { optionName: spellingOf(f), ...(f.resume ? { resume: ckptDir } : {}) });
      if (dp) checkDataParallelConfig(prepared.config, dp.worldSize, spellingOf(f));
      return await trainPrepared(out, ckptDir, prepared, say, rank === 0 ? (f.logDir as string | undefined) : undefined, dp);
    } finally {
      lock?.release();
    }
  } finally {
    if (dp) destroyProcessGroup();
  }
}

async function trainPrepared(out: string, ckptDir: string, prepared: PreparedRun, log: (m: string) => void, logDir: string | undefined, dp: DataParallel | null): Promise<TrainResult> {
  const { config, dataset } = prepared;
  log(`data: ${dataset.source}`);
  const run = TrainingRun.create(config, dataset, { ...(prepared.resumeFrom !== undefined ? { resumeFrom: prepared.resumeFrom } : {}), ...(dp ? { dataParallel: dp } : {}) });
  let modes: TrainResult['modes'];
  let end: TrainEnd;
  let board: ReturnType<typeof tensorBoardLog> | null = null;
  try {
    if (run.resumedFrom) log(`resuming from ${run.resumedFrom.dir} (iteration ${run.resumedFrom.step})`);
    const batch = dp ? `${config.batchSize} (${config.batchSize / dp.worldSize} on each of ${dp.worldSize} ranks)` : `${config.batchSize}`;
    log(`model: generator ${run.generator.numParameters()} parameters, critic ${run.critic.numParameters()}; ${config.loss}, n_critic ${config.nCritic}, ${config.optD} lr ${config.lrD}; ${config.iters} iterations of batch ${batch} on ${config.device}, precision ${config.precision ?? 'fp32'}`);
    const progress = new Progress(config.iters, run.iteration);
    const showWasserstein = config.loss === 'wgan-gp' || config.loss === 'wgan';
    const printer: RunObserver = {
      onStep: (_r, s) => progress.update(s.iteration, { D: s.criticLoss, G: s.generatorLoss, ...(showWasserstein ? { W: s.wassersteinEstimate } : {}) }),
    };
    board = logDir !== undefined ? tensorBoardLog(path.resolve(logDir)) : null;
    // data-parallel: rank 0 alone writes (the ranks hold the same weights); the others just train
    const observers = run.rank === 0 ? [runArtefacts(out), printer, ...(board ? [board] : [])] : [];
    end = await run.train({ observers, checkpointRoot: ckptDir });
    if (config.toy !== undefined) {
      const x = run.sample(2000, 0);
      const pts = x.to('cpu').data() as Float32Array;
      x.dispose();
      modes = toyModes(config.toy, pts) ?? undefined;
    }
  } finally {
    board?.close();
    run.dispose();
  }
  const done = end.step - (run.resumedFrom?.step ?? 0);
  if (modes) log(`modes covered: ${modes.modesCovered}/${modes.modes} (a mode counts with >= 1% of 2000 samples within 0.1 of its centre; ${(modes.highQuality * 100).toFixed(1)}% of samples within 0.1 of some centre)`);
  log(`done: ${done} iterations in ${end.seconds.toFixed(1)} s (${(done / Math.max(end.seconds, 1e-9)).toFixed(2)} it/s); samples in ${path.join(out, 'latest.png')}, checkpoint in ${ckptDir}`);
  if (dp && done > 0) {
    const t = dp.traffic;
    log(`communication (rank ${dp.rank}): ${(t.ms / done).toFixed(1)} ms per iteration (${((t.ms / 1000 / Math.max(end.seconds, 1e-9)) * 100).toFixed(0)}% of the time, waiting for the other ranks included), ${(t.collectives / done).toFixed(0)} all-reduces of ${((t.elements * 4) / done / 2 ** 20).toFixed(2)} MiB per iteration`);
  }
  return { out, config, ...(end.last ? { last: end.last } : {}), ...(modes ? { modes } : {}) };
}
