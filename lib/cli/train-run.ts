// The command line of examples/mnist.ts, cifar10.ts and celeba.ts: flags (seed 002's
// names) -> a RunSpec for the engine in lib/gan/run.ts (data, config, models, trainer,
// checkpoints, exact resume), progress printing, and what a run writes in --out:
//   samples/step-00000200.png + latest.png   8×8 grids from fixed noise
//   losses.jsonl + losses.svg                per-iteration numbers and their plot
//   progress.gif                             the grids over training
//   checkpoints/                             crash-safe, resumable (lib/gan/checkpoint)
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '..';
import { FlagSpecs, ParsedFlags, UsageError, explicitFlags } from './args';
import { GENERATOR_VALUE_ALIASES, KERAS_BN_MODES, applySeedFlags } from './seed-flags';
import { TOY_DATASETS, toyModes } from '../gan/toy-run';
import type { ModeStats } from '../data';
import { Progress } from './progress';
import { StepStats } from '../gan';
import { ImageDataset } from '../data';
import { saveLinePlot } from '../io/svg-plot';
import { writeGif } from '../io/gif';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic';
import { is } from '../errors';
import { lockRunDir } from '../gan/run-lock';
import {
  RUN_DEFAULTS, RUN_DSETS, RUN_LOSSES, PreparedRun, RunConfig, RunConfigError, TrainingRun, pickRunSpec, prepareRun, resolveRunConfig, loadRunData as loadRunDataLib,
} from '../gan/run';

export const LOSSES = RUN_LOSSES;
export const DSETS = RUN_DSETS;

/** The CLI's flags; `dset` picks the default data set of the example. */
export function trainFlags(dset: (typeof DSETS)[number]): FlagSpecs {
  return {
    loss: { type: 'choice', choices: LOSSES, default: RUN_DEFAULTS.loss, help: 'gan (DCGAN, BCE), wgan (weight clipping), wgan-gp, dragan' },
    generator: { type: 'choice', choices: ['deconv', 'nearest', 'bilinear', 'unpool'], default: RUN_DEFAULTS.generator, aliases: ['--up'], valueAliases: GENERATOR_VALUE_ALIASES, help: 'how the generator upsamples (not used by --dset toy: an MLP)' },
    dset: { type: 'choice', choices: DSETS, default: dset, help: 'data set; toy: 2-D points (--toy)' },
    toy: { type: 'choice', choices: TOY_DATASETS, help: 'the toy set of --dset toy (default: 8gaussians)' },
    data: { type: 'string', help: 'data folder (default: ./MNIST, Debian fashion-mnist, ./cifar-10-batches-bin; required for celeba)' },
    'img-dim': { type: 'int', min: 28, max: 64, help: 'image size: 28 (MNIST), 32 (CIFAR-10), 64 (CelebA)' },
    limit: { type: 'int', min: 1, help: 'use only the first N images' },
    epochs: { type: 'int', min: 1, aliases: ['--nb-epoch'], help: 'epochs of n-batch-per-epoch iterations (instead of --iters)' },
    iters: { type: 'int', min: 1, help: 'generator iterations (default 1000 unless --epochs)' },
    'batch-size': { type: 'int', min: 1, max: 4096, default: RUN_DEFAULTS.batchSize, aliases: ['-b'], help: 'batch size' },
    'n-batch-per-epoch': { type: 'int', min: 1, help: 'generator iterations per epoch (default: one pass over the data; required with --dset toy)' },
    'bn-mode': { type: 'choice', choices: ['instance', 'batch', 'layer', 'none'], refuse: KERAS_BN_MODES, help: "normalisation: the critic's (default instance; batch is refused with a penalty) and the generator's (default instance for wgan kinds, batch for gan)" },
    'g-norm': { type: 'choice', choices: ['instance', 'batch', 'layer', 'none'], help: "the generator's normalisation (overrides --bn-mode for it)" },
    'noise-dim': { type: 'int', min: 1, default: RUN_DEFAULTS.noiseDim, help: 'noise dimension' },
    'noise-scale': { type: 'number', min: 1e-6, default: RUN_DEFAULTS.noiseScale, help: 'noise scale (std for normal, half-width for uniform)' },
    'noise-kind': { type: 'choice', choices: ['normal', 'uniform'], default: RUN_DEFAULTS.noiseKind, help: 'noise distribution' },
    'base-width': { type: 'int', min: 1, help: 'filters of the widest layer (default 32, as seed 003); --dset toy: hidden units of the MLPs (default 128)' },
    'disc-iterations': { type: 'int', min: 1, help: 'critic steps per generator step (default 5 for wgan kinds, 1 otherwise)' },
    'clamp-lower': { type: 'number', help: `--loss wgan: clip critic weights below this (default ${RUN_DEFAULTS.clampLower}; refused with other losses)` },
    'clamp-upper': { type: 'number', help: `--loss wgan: clip critic weights above this (default ${RUN_DEFAULTS.clampUpper})` },
    'opt-d': { type: 'choice', choices: ['adam', 'rmsprop', 'sgd'], help: 'critic optimizer (default: the recipe: adam; rmsprop for wgan)' },
    'opt-g': { type: 'choice', choices: ['adam', 'rmsprop', 'sgd'], help: 'generator optimizer (default: the recipe)' },
    'lr-d': { type: 'number', min: 0, help: 'critic learning rate (default: recipe: 1e-4 wgan-gp/dragan, 5e-5 wgan, 2e-4 gan)' },
    'lr-g': { type: 'number', min: 0, help: 'generator learning rate (default: the recipe)' },
    beta1: { type: 'number', min: 0, max: 1, help: "Adam's beta1 (default: recipe: 0.5)" },
    beta2: { type: 'number', min: 0, max: 1, help: "Adam's beta2 (default: recipe: 0.9; 0.999 for gan)" },
    lambda: { type: 'number', min: 0, default: RUN_DEFAULTS.lambda, help: 'gradient penalty weight (wgan-gp, dragan)' },
    device: { type: 'string', default: RUN_DEFAULTS.device, aliases: ['-d'], help: 'cpu, cuda, cuda:N, or N (= cuda:N, as nnabla\'s -d N)' },
    context: { type: 'choice', choices: ['cpu', 'cuda', 'cudnn'], aliases: ['-c'], help: "nnabla's context (seed 001): cudnn or cuda is --device cuda:N (N from -d, default 0), cpu is --device cpu" },
    backend: { type: 'choice', choices: ['tensorflow', 'theano'], help: "seed 002's Keras backend: accepted and ignored with a note (torch-gan runs on libtorch; no backend to choose)" },
    seed: { type: 'int', min: 0, default: RUN_DEFAULTS.seed, help: 'random seed' },
    out: { type: 'string', default: 'generated', aliases: ['--monitor-path'], help: 'output folder' },
    'sample-every': { type: 'int', min: 1, default: RUN_DEFAULTS.sampleEvery, help: 'write a sample grid (toy: a scatter plot) every N iterations (seed 000 wrote one every 1000)' },
    'checkpoint-every': { type: 'int', min: 1, default: RUN_DEFAULTS.checkpointEvery, help: 'write a checkpoint every N iterations' },
    resume: { type: 'bool', default: false, help: 'continue from the latest checkpoint in --out' },
    threads: { type: 'int', min: 1, help: "libtorch threads (default: all cores)" },
  };
}

export type { RunConfig } from '../gan/run';
export { buildModels } from '../gan/run';

/** Flag name for an option key in error messages: batchSize -> --batch-size. */
export const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Runs fn; a configuration error becomes a UsageError (exit code 2). */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RunConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** Flags → a complete, validated run configuration (policy: the published recipes; lib/gan/run). */
export function resolveConfig(f: ParsedFlags, dataset: { channels: number; height: number; n: number }): RunConfig {
  return asUsage(() => resolveRunConfig(pickRunSpec(f), dataset, flagName));
}

/** Loads the run's data set; the MNIST fallback and every source say what they used. */
export async function loadRunData(f: ParsedFlags): Promise<ImageDataset | import('../gan/toy-run').ToyData> {
  try {
    return await loadRunDataLib(pickRunSpec(f), flagName);
  } catch (e) {
    if (e instanceof RunConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** What a training run returns; `modes`: a toy run's modes covered by 2000 samples (Gaussian mixtures only). */
export interface TrainResult { out: string; config: RunConfig; last?: StepStats; modes?: ModeStats & { modes: number } }

export interface LossRow { iter: number; criticLoss: number; generatorLoss: number; wasserstein: number; penalty: number; gradNorm: number; seconds: number }

/** Runs (or resumes) a training run, writing everything into `out`. */
export async function trainRun(f: ParsedFlags, log: (m: string) => void = (m) => console.log(m)): Promise<TrainResult> {
  applySeedFlags(f, log);
  const out = path.resolve(f.out as string);
  if (f.threads !== undefined) tg.setNumThreads(f.threads as number);
  const ckptDir = path.join(out, 'checkpoints');
  // data, config (the published recipe; on --resume the checkpoint's: only the flags given on this
  // command line are compared with it, the defaults are not; --iters may extend the run)
  const lock = lockRunDir(out);
  let prepared: PreparedRun;
  try {
    prepared = await prepareRun(pickRunSpec(f.resume ? explicitFlags(f) : f), { optionName: flagName, ...(f.resume ? { resume: ckptDir } : {}) });
  } catch (e) {
    lock.release();
    if (e instanceof RunConfigError) throw new UsageError(e.message);
    throw e;
  }
  try {
    return await trainPrepared(f, out, ckptDir, prepared, log);
  } finally {
    lock.release();
  }
}

async function trainPrepared(f: ParsedFlags, out: string, ckptDir: string, prepared: PreparedRun, log: (m: string) => void): Promise<TrainResult> {
  const { config, dataset } = prepared;
  log(`data: ${dataset.source}`);
  fs.mkdirSync(path.join(out, 'samples'), { recursive: true });
  const run = TrainingRun.create(config, dataset, prepared.resumeFrom !== undefined ? { resumeFrom: prepared.resumeFrom } : {});
  if (run.resumedFrom) log(`resuming from ${run.resumedFrom.dir} (iteration ${run.resumedFrom.step})`);
  const { generator, critic } = run;
  const device = config.device;

  const start = run.iteration;
  const lossFile = path.join(out, 'losses.jsonl');
  let rows: LossRow[] = [];
  if (run.resumedFrom) {
    rows = readRows(lossFile).filter((r) => r.iter <= start);
  } else {
    for (const stale of ['losses.jsonl', 'losses.svg', 'losses.png', 'progress.gif']) fs.rmSync(path.join(out, stale), { force: true });
  }
  writeFileAtomic(lossFile, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  writeJsonAtomic(path.join(out, 'config.json'), config);
  log(`model: generator ${generator.numParameters()} parameters, critic ${critic.numParameters()}; ${config.loss}, n_critic ${config.nCritic}, ${config.optD} lr ${config.lrD}; ${config.iters} iterations of batch ${config.batchSize} on ${device}`);

  const progress = new Progress(config.iters, start);
  const t0 = Date.now();
  let last: StepStats | undefined;
  let modes: TrainResult['modes'];
  const writeSamples = (iter: number) => writeRunArtefacts(out, iter, run.fixedNoiseGrid(), config, rows);

  try {
    for (let iter = start + 1; iter <= config.iters; iter++) {
      last = run.trainer.step();
      const row: LossRow = { iter, criticLoss: last.criticLoss, generatorLoss: last.generatorLoss, wasserstein: last.wassersteinEstimate, penalty: last.penalty, gradNorm: last.gradNorm, seconds: (Date.now() - t0) / 1000 };
      rows.push(row);
      fs.appendFileSync(lossFile, JSON.stringify(row) + '\n');
      if (!Number.isFinite(last.criticLoss) || !Number.isFinite(last.generatorLoss)) {
        throw new Error(`training diverged at iteration ${iter}: critic loss ${last.criticLoss}, generator loss ${last.generatorLoss} (try a lower --lr-d/--lr-g)`);
      }
      progress.update(iter, { D: last.criticLoss, G: last.generatorLoss, ...(config.loss === 'wgan-gp' || config.loss === 'wgan' ? { W: last.wassersteinEstimate } : {}) });
      if (iter % config.sampleEvery === 0 || iter === config.iters) writeSamples(iter);
      if (iter % config.checkpointEvery === 0 || iter === config.iters) run.saveCheckpoint(ckptDir);
    }
    if (config.toy !== undefined) {
      const x = run.sample(2000, 0);
      const pts = x.to('cpu').data() as Float32Array;
      x.dispose();
      modes = toyModes(config.toy, pts) ?? undefined;
    }
  } finally {
    run.dispose();
  }
  const secs = (Date.now() - t0) / 1000;
  if (modes) log(`modes covered: ${modes.modesCovered}/${modes.modes} (a mode counts with >= 1% of 2000 samples within 0.1 of its centre; ${(modes.highQuality * 100).toFixed(1)}% of samples within 0.1 of some centre)`);
  log(`done: ${config.iters - start} iterations in ${secs.toFixed(1)} s (${((config.iters - start) / Math.max(secs, 1e-9)).toFixed(2)} it/s); samples in ${path.join(out, 'latest.png')}, checkpoint in ${ckptDir}`);
  return { out, config, last, ...(modes ? { modes } : {}) };
}

/**
 * The progress GIF shows at most GIF_MAX_FRAMES grids, evenly spaced over the run (the first and
 * the last among them): each rewrite reads and encodes them all, so without a cap the memory and
 * time of every write grew with the run's length.
 */
export const GIF_MAX_FRAMES = 48;
export function gifFrames<T>(all: T[]): T[] {
  if (all.length <= GIF_MAX_FRAMES) return all;
  return Array.from({ length: GIF_MAX_FRAMES }, (_, j) => all[Math.round((j * (all.length - 1)) / (GIF_MAX_FRAMES - 1))]);
}

/** Writes a run's sample grid (samples/step-N.png, latest.png), the loss plot and the progress GIF. */
export function writeRunArtefacts(out: string, iter: number, png: Buffer, config: RunConfig, rows: LossRow[]): void {
  writeFileAtomic(path.join(out, 'samples', `step-${String(iter).padStart(8, '0')}.png`), png);
  writeFileAtomic(path.join(out, 'latest.png'), png);
  saveLinePlot(path.join(out, 'losses.svg'), {
    title: `${config.loss} on ${config.toy ?? config.dset}`,
    xLabel: 'iteration',
    series: [
      { name: config.loss.startsWith('wgan') ? 'negative critic loss' : 'critic loss', values: rows.map((r) => (config.loss.startsWith('wgan') ? -r.criticLoss : r.criticLoss)), x: rows.map((r) => r.iter) },
      { name: 'generator loss', values: rows.map((r) => r.generatorLoss), x: rows.map((r) => r.iter) },
    ],
    smooth: 0.9,
  });
  const frames = gifFrames(fs.readdirSync(path.join(out, 'samples')).filter((n) => /^step-\d{8}\.png$/.test(n)).sort());
  writeGif(path.join(out, 'progress.gif'), frames.map((n) => fs.readFileSync(path.join(out, 'samples', n))), { delayMs: 300 });
}

/**
 * The rows of losses.jsonl. A garbled last line is a write torn by a kill (the checkpoint is what
 * counts): dropped with a warning. A garbled line before it is an error naming file and line.
 */
export function readRows(file: string, warn: (m: string) => void = (m) => process.emitWarning(m, { code: 'TORCH_GAN_TORN_LOSSES' })): LossRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const rows: LossRow[] = [];
  let last = lines.length - 1;
  while (last >= 0 && !lines[last].trim()) last--;
  for (let i = 0; i <= last; i++) {
    if (!lines[i].trim()) continue;
    let row: LossRow;
    try {
      row = JSON.parse(lines[i]) as LossRow;
      if (!is.plainObject(row) || !Number.isSafeInteger(row.iter)) throw new Error('expected a row {iter, criticLoss, ...}');
    } catch (e) {
      if (i === last) {
        warn(`${file}: dropped its last line, garbled (a write cut short, e.g. by a kill): ${(e as Error).message}`);
        break;
      }
      throw new Error(`${file} line ${i + 1}: not a loss row (${(e as Error).message}); the lines after it are intact, so this is not a torn write: fix or remove the line`);
    }
    rows.push(row);
  }
  return rows;
}
