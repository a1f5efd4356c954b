// The run options' ONE declarative table (RUN_OPTIONS): every option's domain name, type, range,
// default and help, and the checks made from it. From it come the RunSpec validation (here), the
// checks of a checkpoint's saved config and what a resume may change (./resume.ts), and the CLI's
// flags and --help (lib/cli/train-run.ts: flag = the key in kebab case, plus the seeds' spellings
// as aliases). What the options resolve to (a RunConfig) is ./run-config.ts.
import { is, quoteValue, TorchError } from '../errors';
import { Normalization, Upsampling, NORMALIZATIONS, UPSAMPLINGS } from './models';
import { RECIPE_NAMES } from './recipes';
import { TOY_DATASETS } from './toy-run';
import type { ToyName } from './toy-run';

export const RUN_LOSSES = RECIPE_NAMES;
export const RUN_DATASETS = ['mnist', 'fashion', 'cifar10', 'celeba', 'toy'] as const;
/** @deprecated the old name of RUN_DATASETS */
export const RUN_DSETS = RUN_DATASETS;
export const RUN_OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
/** none; projection: Miyato & Koyama 2018's projection critic; acgan: Odena et al. 2017's auxiliary classifier critic */
export const RUN_CONDITIONALS = ['none', 'projection', 'acgan'] as const;
export type RunConditional = (typeof RUN_CONDITIONALS)[number];
export type RunLoss = (typeof RUN_LOSSES)[number];
export type RunDataset = (typeof RUN_DATASETS)[number];
export type RunOptimizer = (typeof RUN_OPTIMIZERS)[number];
export type RunPrecision = 'fp32' | 'bf16';

/** One option of a run. */
export interface OptionSpec {
  type: 'int' | 'number' | 'string' | 'choice' | 'bool';
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** the fixed default; options without one take theirs from the recipe, the data or other options (`help` says which) */
  default?: number | string | boolean;
  help: string;
  /** the seeds' spellings of the flag (seed 002's --dset, --disc-iterations, nnabla's -d ...) */
  aliases?: readonly string[];
  /** other names of choice values (nnabla's linear for bilinear) */
  valueAliases?: Readonly<Record<string, string>>;
  /** values refused with a message saying what to use instead */
  refuse?: Readonly<Record<string, string>>;
  /** 'input': only in a RunSpec (how a RunConfig is made), not in the RunConfig; 'optional': a RunConfig may lack it */
  kind?: 'input' | 'optional';
  /** a resume may change it (how long, how often to write, where the data lives); all others come from the checkpoint */
  resumable?: boolean;
}

const KERAS_BN = "Keras 1's BatchNormalization mode (seed 002), not a torch-gan value; --bn-mode (also --norm) names the normalisation: instance (default), batch, layer or none (batch norm as in seed 002: --norm batch, refused with a gradient penalty)";

const FP16 = 'float16 mixed precision needs loss scaling, which torch-gan does not do; use bf16 (same exponent range as float32) or fp32';

/** Every option of a run, in --help order. */
export const RUN_OPTIONS = Object.freeze({
  loss: { type: 'choice', choices: RUN_LOSSES, default: 'wgan-gp', help: 'gan (DCGAN, BCE), wgan (weight clipping), wgan-gp, dragan, lsgan (least squares, Mao et al. 2017), hinge (SNGAN, Miyato et al. 2018)' },
  upsampling: {
    type: 'choice', choices: UPSAMPLINGS, default: 'deconv', aliases: ['--generator', '--up'],
    valueAliases: { linear: 'bilinear', unpooling: 'unpool', upsampling: 'nearest' },
    help: 'how the generator upsamples (not used by --dataset toy: an MLP)',
  },
  dataset: { type: 'choice', choices: RUN_DATASETS, default: 'mnist', aliases: ['--dset'], help: 'data set; toy: 2-D points (--toy)' },
  toy: { type: 'choice', choices: TOY_DATASETS, kind: 'optional', help: 'the toy set of --dataset toy (default: 8gaussians)' },
  data: { type: 'string', kind: 'optional', resumable: true, help: 'data folder (default: ./MNIST, Debian fashion-mnist, ./cifar-10-batches-bin; required for celeba)' },
  imgDim: { type: 'int', min: 28, max: 64, help: 'image size: 28 (MNIST), 32 (CIFAR-10), 64 (CelebA) (default: the data\'s)' },
  limit: { type: 'int', min: 1, kind: 'optional', help: 'use only the first N images' },
  epochs: { type: 'int', min: 1, kind: 'input', resumable: true, aliases: ['--nb-epoch'], help: 'epochs of n-batch-per-epoch iterations (instead of --iters)' },
  iters: { type: 'int', min: 1, resumable: true, help: 'generator iterations (default 1000 unless --epochs)' },
  batchSize: { type: 'int', min: 1, max: 4096, default: 64, aliases: ['-b'], help: 'batch size' },
  nBatchPerEpoch: { type: 'int', min: 1, kind: 'input', resumable: true, help: 'generator iterations per epoch (default: one pass over the data; required with --dataset toy)' },
  norm: {
    type: 'choice', choices: NORMALIZATIONS, kind: 'input', aliases: ['--bn-mode'], refuse: { 0: KERAS_BN, 1: KERAS_BN, 2: KERAS_BN },
    help: "both networks' normalisation, unless --critic-norm / --generator-norm",
  },
  criticNorm: { type: 'choice', choices: NORMALIZATIONS, help: "the critic's normalisation (default instance; batch is refused with a penalty)" },
  criticSpectralNorm: {
    type: 'bool', default: false,
    help: "SNGAN (Miyato et al. 2018): spectral normalisation of every convolution / linear layer of the critic (checkpoint keys weight_orig, weight_u, weight_v as PyTorch's); the critic's normalisation is then none unless --critic-norm / --norm is given",
  },
  generatorNorm: { type: 'choice', choices: NORMALIZATIONS, aliases: ['--g-norm'], help: "the generator's normalisation (default instance for wgan kinds and dragan, batch for gan, lsgan and hinge)" },
  noiseDim: { type: 'int', min: 1, default: 100, help: 'noise dimension' },
  noiseScale: { type: 'number', min: 1e-6, default: 1, help: 'noise scale (std for normal, half-width for uniform)' },
  noiseKind: { type: 'choice', choices: ['normal', 'uniform'], default: 'normal', help: 'noise distribution' },
  baseWidth: { type: 'int', min: 1, help: 'filters of the widest layer (default 32, as seed 003); --dataset toy: hidden units of the MLPs (default 128)' },
  nCritic: { type: 'int', min: 1, aliases: ['--disc-iterations'], help: 'critic steps per generator step (default: the recipe: 5 for wgan kinds and hinge, 1 otherwise)' },
  clampLower: { type: 'number', default: -0.01, help: '--loss wgan: clip critic weights below this (refused with other losses)' },
  clampUpper: { type: 'number', default: 0.01, help: '--loss wgan: clip critic weights above this' },
  optD: { type: 'choice', choices: RUN_OPTIMIZERS, help: 'critic optimizer (default: the recipe: adam; rmsprop for wgan)' },
  optG: { type: 'choice', choices: RUN_OPTIMIZERS, help: 'generator optimizer (default: the recipe)' },
  lrD: { type: 'number', min: 0, help: 'critic learning rate (default: the recipe: 1e-4 wgan-gp/dragan, 5e-5 wgan, 2e-4 gan/lsgan/hinge)' },
  lrG: { type: 'number', min: 0, help: 'generator learning rate (default: the recipe)' },
  beta1: { type: 'number', min: 0, max: 1, help: "Adam's beta1 (default: the recipe: 0.5; 0 for hinge)" },
  beta2: { type: 'number', min: 0, max: 1, help: "Adam's beta2 (default: the recipe: 0.9; 0.999 for gan and lsgan)" },
  lambda: { type: 'number', min: 0, default: 10, help: 'gradient penalty weight (wgan-gp, dragan)' },
  r1Gamma: {
    type: 'number', min: 0, default: 0,
    help: "R1 (Mescheder et al. 2018): add gamma/2 * E||grad D(x)||^2 at the real images to the critic's loss; 0: off; with any loss (typically gan)",
  },
  r2Gamma: { type: 'number', min: 0, default: 0, help: 'R2: the same zero-centred penalty at the generated images; 0: off' },
  regEvery: {
    type: 'int', min: 1, default: 1,
    help: "lazy regularisation (StyleGAN2): R1/R2 every N critic steps, as a separate critic update scaled by N (gamma*N/2 * E||grad D||^2), the critic's learning rate times N/(N+1) and Adam's betas to the power N/(N+1); 1: in the critic's loss at every step",
  },
  emaDecay: {
    type: 'number', min: 0, max: 1, default: 0,
    help: "keep an exponential moving average of the generator's weights with this decay (e.g. 0.999; 0: off), BatchNorm running statistics averaged likewise; sample grids, generate and evaluate use it; saved as generator_ema",
  },
  emaWarmup: { type: 'bool', default: true, help: 'ramp the EMA decay as min(decay, (1 + step) / (10 + step)) so the average does not start from the random initial weights' },
  diffAugment: {
    type: 'string', kind: 'optional',
    help: "DiffAugment (Zhao et al. 2020) policy, e.g. color,translation,cutout: every image the critic sees (real and fake, critic and generator steps) is augmented; penalties take the gradient through the augmentation at the un-augmented images (default: off)",
  },
  device: { type: 'string', default: 'cpu', aliases: ['-d'], help: "cpu, cuda, cuda:N, or N (= cuda:N, as nnabla's -d N)" },
  // not resumable: it changes the numbers of every step, so a resumed run would not be the run it continues
  precision: {
    type: 'choice', choices: ['fp32', 'bf16'], default: 'fp32', refuse: { fp16: FP16, float16: FP16, half: FP16 },
    help: 'bf16: mixed precision (convolutions and matrix products in bfloat16 under autocast; weights, optimizer state, losses and the penalty\'s gradient norm in float32); a resume keeps the checkpoint\'s',
  },
  seed: { type: 'int', min: 0, default: 1, help: 'random seed' },
  sampleEvery: { type: 'int', min: 1, default: 100, resumable: true, help: 'write a sample grid (toy: a scatter plot) every N iterations (seed 000 wrote one every 1000)' },
  checkpointEvery: { type: 'int', min: 1, default: 500, resumable: true, help: 'write a checkpoint every N iterations' },
  // 'optional': checkpoints from before conditional runs lack it (and an unconditional config leaves it out)
  conditional: {
    type: 'choice', choices: RUN_CONDITIONALS, default: 'none', kind: 'optional',
    help: 'class-conditional GAN on labelled data (mnist, fashion, cifar10): projection (projection critic, Miyato & Koyama 2018) or acgan (auxiliary classifier critic, Odena et al. 2017)',
  },
  acganWeight: { type: 'number', min: 0, default: 1, kind: 'optional', help: '--conditional acgan: weight of the auxiliary classification loss in both updates' },
} satisfies Record<string, OptionSpec>) as Readonly<Record<keyof RunSpec, OptionSpec>>;

/** A run as a plain object, every key optional (RUN_OPTIONS says each one's type, default and meaning). */
export interface RunSpec {
  loss?: RunLoss;
  upsampling?: Upsampling;
  dataset?: RunDataset;
  toy?: ToyName;
  data?: string;
  imgDim?: number;
  limit?: number;
  epochs?: number;
  iters?: number;
  batchSize?: number;
  nBatchPerEpoch?: number;
  norm?: Normalization;
  criticNorm?: Normalization;
  generatorNorm?: Normalization;
  criticSpectralNorm?: boolean;
  noiseDim?: number;
  noiseScale?: number;
  noiseKind?: 'normal' | 'uniform';
  baseWidth?: number;
  nCritic?: number;
  clampLower?: number;
  clampUpper?: number;
  optD?: RunOptimizer;
  optG?: RunOptimizer;
  lrD?: number;
  lrG?: number;
  beta1?: number;
  beta2?: number;
  lambda?: number;
  r1Gamma?: number;
  r2Gamma?: number;
  regEvery?: number;
  emaDecay?: number;
  emaWarmup?: boolean;
  diffAugment?: string;
  device?: string;
  precision?: RunPrecision;
  seed?: number;
  sampleEvery?: number;
  checkpointEvery?: number;
  conditional?: RunConditional;
  acganWeight?: number;
}

/** The keys a RunSpec may have. */
export const RUN_SPEC_KEYS = Object.freeze(Object.keys(RUN_OPTIONS)) as readonly (keyof RunSpec)[];

/** The fixed defaults of RUN_OPTIONS. */
export const RUN_DEFAULTS: Readonly<Partial<Record<keyof RunSpec, number | string | boolean>>> = Object.freeze(
  Object.fromEntries(Object.entries(RUN_OPTIONS).filter(([, o]) => o.default !== undefined).map(([k, o]) => [k, o.default!])),
);

/** A configuration that cannot run: a TorchError with code ERR_RUN_CONFIG naming the option at fault. */
export class RunConfigError extends TorchError {
  constructor(message: string, readonly option?: string) {
    super(message, { code: 'ERR_RUN_CONFIG', ...(option !== undefined ? { parameter: option } : {}) });
    this.name = 'RunConfigError';
  }
}

/** How errors name an option: the key itself by default; the CLI passes key -> '--flag-name'. */
export type OptionNamer = (key: string) => string;
export const plainName: OptionNamer = (k) => k;

const received = quoteValue;

/** What an option accepts, in words ('one of a, b', 'an integer in [1, 4096]'). */
export function optionExpected(o: OptionSpec): string {
  if (o.type === 'choice') return `one of ${o.choices!.join(', ')}`;
  if (o.type === 'string') return 'a string';
  if (o.type === 'bool') return 'true or false';
  const what = o.type === 'int' ? 'an integer' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${what} in [${o.min}, ${o.max}]`;
  if (o.min !== undefined) return `${what} >= ${o.min}`;
  return what;
}

/** Checks one value against its option; returns the reason it fails, or null. */
export function optionProblem(o: OptionSpec, value: unknown): string | null {
  switch (o.type) {
    case 'int':
    case 'number':
      if (o.type === 'int' ? !Number.isSafeInteger(value) : !is.finite(value)) return `expects ${o.type === 'int' ? 'an integer' : 'a number'}, received ${received(value)}`;
      if (o.min !== undefined && (value as number) < o.min) return `must be at least ${o.min}, received ${value}`;
      if (o.max !== undefined && (value as number) > o.max) return `must be at most ${o.max}, received ${value}`;
      return null;
    case 'string':
      return is.string(value) ? null : `expects a string, received ${received(value)}`;
    case 'bool':
      return is.bool(value) ? null : `expects true or false, received ${received(value)}`;
    case 'choice':
      return is.oneOf(value, o.choices!) ? null : `expects one of ${o.choices!.join(', ')}, received ${received(value)}`;
  }
}

/** Checks a RunSpec's keys and value types/ranges (each key once, against RUN_OPTIONS). */
export function validateRunSpec(spec: RunSpec, name: OptionNamer = plainName): RunSpec {
  if (!is.plainObject(spec)) throw new RunConfigError(`a run configuration must be a plain object, received ${spec === null ? 'null' : typeof spec}`);
  for (const [key, value] of Object.entries(spec)) {
    const o = RUN_OPTIONS[key as keyof RunSpec];
    if (!o) throw new RunConfigError(`unknown option ${name(key)}; expected one of: ${RUN_SPEC_KEYS.map(name).join(', ')}`, key);
    if (value === undefined) continue;
    const problem = optionProblem(o, value);
    if (problem) throw new RunConfigError(`${name(key)} ${problem}`, key);
  }
  return spec;
}

/** A RunSpec's keys picked out of a larger object (parsed CLI flags, a request body). */
export function pickRunSpec(o: Record<string, unknown>): RunSpec {
  const spec: Record<string, unknown> = {};
  for (const k of RUN_SPEC_KEYS) if (o[k] !== undefined) spec[k] = o[k];
  return spec as RunSpec;
}
