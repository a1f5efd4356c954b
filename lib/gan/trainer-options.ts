// GanTrainer's options (./trainer.ts): their types, and the constructor's checks that turn a
// GanTrainerOptions into the settings the trainer keeps, defaults filled in. Kept apart from the
// trainer so that trainer.ts holds the update sequence itself: a new option changes this file (its
// type, its key in TRAINER_KEYS, its check) and the trainer only where the option acts.
import { checkOptionKeys, describe, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { AnyModule, Module } from '../nn/module';
import { assertPenaltyCompatible, findBatchNorm } from './penalties';
import { crossSampleModules } from '../nn/per-sample';
import { parseDiffAugmentPolicy } from './diffaugment';
import { noiseShapeOf } from './models';
import { CheckedConditional, ConditionalTraining, checkConditional } from './conditional-step';
import type { GanTrainer } from './trainer';

export type TrainerLoss = 'gan' | 'minimax' | 'hinge' | 'lsgan' | 'wgan' | 'wgan-gp' | 'dragan';
export const TRAINER_LOSSES: readonly TrainerLoss[] = ['gan', 'minimax', 'hinge', 'lsgan', 'wgan', 'wgan-gp', 'dragan'];

/** What the trainer needs of an optimizer (Adam, RMSprop, SGD). */
export interface OptimizerLike {
  step(): unknown;
  zeroGrad(setToNone?: boolean): void;
  readonly paramGroups?: ReadonlyArray<{ params: Tensor[] }>;
}

export interface NoiseOptions {
  /** length of z; default: the generator's noiseShape, else required */
  dim?: number;
  /** shape of one z without the batch dim; default the generator's noiseShape or [dim] */
  shape?: number[];
  /** 'normal' N(0, scale²) (default) or 'uniform' U[-scale, scale) (seed 003's mode_z='uniform') */
  kind?: 'normal' | 'uniform';
  /** default 1 */
  scale?: number;
}

export interface StepStats {
  /** generator updates done so far (1 after the first step) */
  iteration: number;
  /** critic loss (with the penalty), mean over the step's critic updates */
  criticLoss: number;
  /** generator loss of the step's generator update */
  generatorLoss: number;
  /**
   * mean D(real) − mean D(fake), mean over the critic updates: the critic's estimate of the
   * Wasserstein distance for 'wgan' / 'wgan-gp' (for the other losses, the logit gap).
   */
  wassersteinEstimate: number;
  /** the gradient penalty (0 without one; WGAN-GP/DRAGAN plus R1/R2 as applied, lazily scaled), mean over the critic updates */
  penalty: number;
  /** mean per-sample gradient norm at the penalty's points, over the updates that computed one (NaN without a penalty) */
  gradNorm: number;
}

export interface TrainerCallbacks {
  /** after every step() */
  onStep?: (stats: StepStats, trainer: GanTrainer) => void;
  /** after every critic update, with that update's numbers */
  onCriticStep?: (stats: { criticLoss: number; wassersteinEstimate: number; penalty: number; gradNorm: number }, trainer: GanTrainer) => void;
}

/**
 * What GanTrainer needs to train data-parallel (implemented by lib/distributed's DataParallel;
 * any object of this shape will do, e.g. a fake in a test).
 *
 * The shard: this rank's real batches must be its rows of the global batch in
 * DistributedSampler's interleaved order (local row i is global row i·worldSize + rank), every
 * rank with the same batch size and the same random generator state (DataParallel.synchronize).
 */
export interface TrainerDataParallel {
  readonly shard: { readonly rank: number; readonly worldSize: number };
  /** Averages the gradients of `params` over the ranks, in place; called after each backward, before the optimizer step. */
  syncGradients(params: Tensor[]): unknown;
  /** Sums `t` (a CPU tensor) over the ranks, in place: statistics of the global batch (DRAGAN's std) and step()'s numbers. */
  allReduceSum(t: Tensor): unknown;
}

export interface GanTrainerOptions {
  /** a conditional trainer's (options.conditional) takes (z, labels) */
  generator: Module | AnyModule;
  /** a conditional trainer's 'projection' critic takes (x, labels) */
  critic: Module | AnyModule;
  optG: OptimizerLike;
  optD: OptimizerLike;
  /** 'gan' (non-saturating BCE), 'minimax', 'hinge', 'lsgan' (least squares), 'wgan' (clipping), 'wgan-gp' or 'dragan' (BCE + DRAGAN penalty) */
  loss: TrainerLoss;
  /** the real batch source, called once per critic update (conditional: a labelled batch {x, y}) */
  batches: () => Tensor | { x: Tensor; y?: Tensor };
  /** critic updates per generator update; default 5 for 'wgan' and 'wgan-gp', 1 otherwise */
  nCritic?: number;
  /** penalty weight for 'wgan-gp' / 'dragan'; default 10 */
  lambda?: number;
  /** WGAN weight clipping range; default {lower: -0.01, upper: 0.01} */
  clamp?: { lower?: number; upper?: number };
  noise?: NoiseOptions;
  /** generator batch size; default the size of the last real batch */
  batchSize?: number;
  /** one-sided penalty mean(relu(‖g‖ − 1)²) for 'wgan-gp' / 'dragan'; default false */
  oneSidedPenalty?: boolean;
  /** DRAGAN's symmetric (zero-mean) perturbation; default false (the authors' U[0, 1)) */
  draganSymmetric?: boolean;
  /** accept a critic with batch norm for 'wgan-gp' / 'dragan' (refused otherwise) */
  allowBatchNormWithPenalty?: boolean;
  callbacks?: TrainerCallbacks;
  /** R1 weight γ: γ/2·E‖∇D(x)‖² at the real batch (Mescheder et al. 2018), with any loss; default 0 (off) */
  r1Gamma?: number;
  /** R2 weight γ: the same at the fake batch; default 0 (off) */
  r2Gamma?: number;
  /**
   * Lazy regularisation interval k for R1/R2 (StyleGAN2 §3.1); default 1. k = 1: the penalty is
   * added to every critic loss. k > 1: on critic updates 0, k, 2k, ... (criticIteration) a separate
   * update follows the main one (backward of k·penalty, optD.step()), StyleGAN2's 'Dreg' phase; give
   * the critic's Adam lazyAdamHyperparameters(lr, betas, k) to match (TrainingRun does).
   */
  regEvery?: number;
  /**
   * DiffAugment policy ('color,translation,cutout'): every batch the critic sees, real and fake, in
   * the critic and generator updates, goes through diffAugment (torch's generator), and the
   * penalties are taken through it at the un-augmented points. Default: none. Not with dataParallel.
   */
  diffAugment?: string;
  /**
   * Train data-parallel: batches() returns this rank's shard, batchSize is per rank, noise and
   * penalty draws are the global batch's rows of this rank, gradients are synced after each
   * backward, and step()'s numbers are averaged over the ranks. A critic with batch norm is refused.
   */
  dataParallel?: TrainerDataParallel;
  /**
   * A class-conditional GAN (./conditional-step.ts): batches() gives {x, y}; the fakes' labels are
   * drawn uniformly from [0, numClasses) (for the global batch, like z) and go to the generator
   * (generator.forward(z, y)) and the critic; critic 'projection' takes (x, y), 'acgan' gives
   * [scores, logits] and adds acganWeight × the classification loss to both updates.
   */
  conditional?: ConditionalTraining;
  /**
   * One critic forward over the real and fake batch together (2N rows) instead of two of N: the
   * same numbers (to float rounding), fewer and larger kernel calls. 'auto' (default): when the
   * critic treats samples independently (nn.crossSampleModules(critic) is empty: no batch norm,
   * spectral norm or dropout, only layers that declare perSample). true: always (a critic with
   * batch norm then normalises real and fake together: other numbers). false: never. The penalties
   * keep their own forward.
   */
  batchCriticForward?: 'auto' | boolean;
  /**
   * 'bf16': mixed precision. The critic's and generator's forward passes and the penalties'
   * forward and input-gradient computation run under autocast (bfloat16 convolutions and matrix
   * products on the CPU's matrix units, or CUDA's); the critic's scores and the generated samples
   * are cast to float32, so the losses and the penalty's gradient norm are float32; weights,
   * gradients and optimizer state stay float32. Default 'fp32'.
   */
  precision?: TrainerPrecision;
}
export type TrainerPrecision = 'fp32' | 'bf16';
export const TRAINER_PRECISIONS: readonly TrainerPrecision[] = ['fp32', 'bf16'];
const TRAINER_KEYS = [
  'generator', 'critic', 'optG', 'optD', 'loss', 'batches', 'nCritic', 'lambda', 'clamp', 'noise', 'batchSize',
  'oneSidedPenalty', 'draganSymmetric', 'allowBatchNormWithPenalty', 'callbacks', 'dataParallel',
  'r1Gamma', 'r2Gamma', 'regEvery', 'diffAugment', 'conditional', 'batchCriticForward', 'precision',
] as const;

function isOptimizer(o: unknown): o is OptimizerLike {
  return o !== null && typeof o === 'object' && typeof (o as OptimizerLike).step === 'function' && typeof (o as OptimizerLike).zeroGrad === 'function';
}

/** GanTrainerOptions checked, defaults filled in: what a GanTrainer keeps. */
export interface CheckedTrainerOptions {
  generator: Module;
  critic: Module;
  optG: OptimizerLike;
  optD: OptimizerLike;
  loss: TrainerLoss;
  batches: () => Tensor | { x: Tensor; y?: Tensor };
  conditional: CheckedConditional | null;
  nCritic: number;
  lambda: number;
  clamp: { lower: number; upper: number };
  noise: { shape: number[]; kind: 'normal' | 'uniform'; scale: number };
  batchSize: number | undefined;
  oneSidedPenalty: boolean;
  draganSymmetric: boolean;
  allowBatchNormWithPenalty: boolean;
  dataParallel: TrainerDataParallel | null;
  callbacks: TrainerCallbacks;
  r1Gamma: number;
  r2Gamma: number;
  regEvery: number;
  /** the DiffAugment operations ([] without) */
  diffAugment: readonly string[];
  /** options.batchCriticForward resolved: run the critic once over real and fake */
  batchCriticForward: boolean;
  precision: TrainerPrecision;
}

/** The GanTrainer constructor's checks, in their order (the first that fails throws). */
export function checkTrainerOptions(options: GanTrainerOptions): CheckedTrainerOptions {
  const where = 'GanTrainer()';
  if (!is.plainObject(options)) throw invalidParameterError(`${where} options`, 'an object {generator, critic, optG, optD, loss, batches, ...}', options);
  checkOptionKeys(where, options, TRAINER_KEYS);
  const o = options;
  if (!(o.generator instanceof Module)) throw invalidParameterError(`${where} options.generator`, 'a Module', o.generator);
  if (!(o.critic instanceof Module)) throw invalidParameterError(`${where} options.critic`, 'a Module', o.critic);
  if (o.generator === o.critic) throw invalidArgument(`${where}: generator and critic must be different modules`);
  if (!isOptimizer(o.optG)) throw invalidParameterError(`${where} options.optG`, 'an optimizer (with step() and zeroGrad())', o.optG);
  if (!isOptimizer(o.optD)) throw invalidParameterError(`${where} options.optD`, 'an optimizer (with step() and zeroGrad())', o.optD);
  if (o.optG === o.optD) throw invalidArgument(`${where}: optG and optD must be different optimizers (one per network)`);
  if (!is.oneOf(o.loss, TRAINER_LOSSES)) throw invalidParameterError(`${where} options.loss`, `one of ${TRAINER_LOSSES.map((s) => `'${s}'`).join(', ')}`, o.loss);
  if (typeof o.batches !== 'function') throw invalidParameterError(`${where} options.batches`, 'a function returning a real batch Tensor', o.batches);
  const conditional = o.conditional === undefined ? null : checkConditional(where, o.conditional, o.generator);
  checkOptimizerOwnership(where, o.optG, 'optG', o.generator, o.critic, 'critic');
  checkOptimizerOwnership(where, o.optD, 'optD', o.critic, o.generator, 'generator');

  const wass = o.loss === 'wgan' || o.loss === 'wgan-gp';
  const nCritic = o.nCritic ?? (wass ? 5 : 1);
  if (!is.positiveInteger(nCritic)) throw invalidParameterError(`${where} options.nCritic`, 'a positive integer', o.nCritic);
  const lambda = o.lambda ?? 10;
  if (!is.finite(lambda) || lambda < 0) throw invalidParameterError(`${where} options.lambda`, 'a non-negative number', o.lambda);
  if (o.lambda !== undefined && o.loss !== 'wgan-gp' && o.loss !== 'dragan') {
    throw invalidArgument(`${where}: options.lambda applies to 'wgan-gp' and 'dragan' only, not '${o.loss}'`);
  }
  if (o.clamp !== undefined) {
    checkOptionKeys(`${where} options.clamp`, o.clamp, ['lower', 'upper']);
    if (o.loss !== 'wgan') throw invalidArgument(`${where}: options.clamp (weight clipping) applies to loss 'wgan' only, not '${o.loss}'`);
  }
  const lower = o.clamp?.lower ?? -0.01;
  const upper = o.clamp?.upper ?? (o.clamp?.lower !== undefined ? -o.clamp.lower : 0.01);
  if (!is.finite(lower)) throw invalidParameterError(`${where} options.clamp.lower`, 'a finite number', lower);
  if (!is.finite(upper) || upper < lower) throw invalidParameterError(`${where} options.clamp.upper`, `a finite number >= lower (${lower})`, upper);

  const n = o.noise ?? {};
  checkOptionKeys(`${where} options.noise`, n, ['dim', 'shape', 'kind', 'scale']);
  const kind = n.kind ?? 'normal';
  if (kind !== 'normal' && kind !== 'uniform') throw invalidParameterError(`${where} options.noise.kind`, "'normal' or 'uniform'", kind);
  const scale = n.scale ?? 1;
  if (!is.finite(scale) || scale <= 0) throw invalidParameterError(`${where} options.noise.scale`, 'a positive number', scale);
  let shape: number[] | undefined;
  if (n.shape !== undefined) {
    if (!Array.isArray(n.shape) || n.shape.length === 0 || !n.shape.every((d) => is.positiveInteger(d))) {
      throw invalidParameterError(`${where} options.noise.shape`, 'a non-empty array of positive integers', n.shape);
    }
    shape = [...n.shape];
    if (n.dim !== undefined && n.dim !== shape[0]) throw invalidArgument(`${where}: options.noise.dim (${n.dim}) disagrees with options.noise.shape [${shape}]`);
  } else {
    const own = noiseShapeOf(o.generator);
    if (n.dim !== undefined) {
      if (!is.positiveInteger(n.dim)) throw invalidParameterError(`${where} options.noise.dim`, 'a positive integer', n.dim);
      shape = own && own[0] === n.dim ? own : [n.dim];
      if (own && own[0] !== n.dim) throw invalidArgument(`${where}: options.noise.dim (${n.dim}) disagrees with the generator's noiseShape [${own}]`);
    } else shape = own;
  }
  if (shape === undefined) throw invalidArgument(`${where}: options.noise.dim (or noise.shape) is required for a generator without a noiseShape`);

  if (o.batchSize !== undefined && !is.positiveInteger(o.batchSize)) throw invalidParameterError(`${where} options.batchSize`, 'a positive integer', o.batchSize);
  for (const k of ['oneSidedPenalty', 'draganSymmetric', 'allowBatchNormWithPenalty'] as const) {
    if (o[k] !== undefined && !is.bool(o[k])) throw invalidParameterError(`${where} options.${k}`, 'a boolean', o[k]);
  }
  if (o.draganSymmetric !== undefined && o.loss !== 'dragan') throw invalidArgument(`${where}: options.draganSymmetric applies to loss 'dragan' only`);
  const allowBatchNormWithPenalty = o.allowBatchNormWithPenalty ?? false;
  // data-parallel first: its batch-norm refusal holds for every loss, even with allowBatchNormWithPenalty
  const dataParallel = o.dataParallel === undefined ? null : checkDataParallel(where, o.dataParallel, o.critic);
  if (o.loss === 'wgan-gp' || o.loss === 'dragan') assertPenaltyCompatible(o.critic, where, allowBatchNormWithPenalty);
  if (o.callbacks !== undefined) {
    checkOptionKeys(`${where} options.callbacks`, o.callbacks, ['onStep', 'onCriticStep']);
    for (const [k, f] of Object.entries(o.callbacks)) {
      if (f !== undefined && typeof f !== 'function') throw invalidParameterError(`${where} options.callbacks.${k}`, 'a function', f);
    }
  }
  for (const k of ['r1Gamma', 'r2Gamma'] as const) {
    if (o[k] !== undefined && (!is.finite(o[k]) || o[k]! < 0)) throw invalidParameterError(`${where} options.${k}`, 'a non-negative number (0: off)', o[k]);
  }
  const r1Gamma = o.r1Gamma ?? 0;
  const r2Gamma = o.r2Gamma ?? 0;
  const regEvery = o.regEvery ?? 1;
  if (!is.positiveInteger(regEvery)) throw invalidParameterError(`${where} options.regEvery`, 'a positive integer (critic updates between R1/R2 applications)', o.regEvery);
  if (r1Gamma > 0 || r2Gamma > 0) assertPenaltyCompatible(o.critic, where, allowBatchNormWithPenalty);
  if (o.diffAugment !== undefined && !is.string(o.diffAugment)) throw invalidParameterError(`${where} options.diffAugment`, "a DiffAugment policy such as 'color,translation,cutout'", o.diffAugment);
  const diffAugment = o.diffAugment === undefined ? [] : parseDiffAugmentPolicy(o.diffAugment);
  // each rank would draw its own augmentations for its shard: not what one process draws for the global batch
  if (diffAugment.length > 0 && dataParallel) throw invalidArgument(`${where}: options.diffAugment is not supported with options.dataParallel (the augmentations are drawn per process, not for the global batch)`);
  const batched = o.batchCriticForward ?? 'auto';
  if (batched !== 'auto' && !is.bool(batched)) throw invalidParameterError(`${where} options.batchCriticForward`, "'auto', true or false", o.batchCriticForward);
  const batchCriticForward = batched === 'auto' ? crossSampleModules(o.critic).length === 0 : batched;
  const precision = o.precision ?? 'fp32';
  if (!is.oneOf(precision, TRAINER_PRECISIONS)) {
    throw invalidParameterError(`${where} options.precision`, "'fp32' or 'bf16' (float16 would need loss scaling: not offered)", o.precision);
  }
  if (precision === 'bf16') {
    // autocast casts float32 only: float64 weights would silently train in float64
    const other = [...o.generator.parameters(), ...o.critic.parameters()].find((p) => p.dtype !== 'float32');
    if (other) throw invalidParameterError(`${where} options.precision`, "'fp32' for networks that are not float32 ('bf16' keeps float32 master weights)", `'bf16' with ${other.dtype} parameters`);
  }
  return {
    generator: o.generator, critic: o.critic, optG: o.optG, optD: o.optD, loss: o.loss, batches: o.batches, conditional, batchCriticForward,
    nCritic, lambda, clamp: { lower, upper }, noise: { shape, kind, scale }, batchSize: o.batchSize,
    oneSidedPenalty: o.oneSidedPenalty ?? false, draganSymmetric: o.draganSymmetric ?? false, allowBatchNormWithPenalty,
    dataParallel, callbacks: o.callbacks ?? {}, r1Gamma, r2Gamma, regEvery, diffAugment, precision,
  };
}

function checkDataParallel(where: string, dp: unknown, critic: Module): TrainerDataParallel {
  const param = `${where} options.dataParallel`;
  const bad = (expected: string, received: unknown): TorchError => {
    const r = describe(received);
    return new TorchError(`Expected ${expected} for ${param} but received ${r}`, { code: 'ERR_INVALID_ARG', parameter: param, expected, received: r });
  };
  if (dp === null || typeof dp !== 'object') throw bad('an object {shard: {rank, worldSize}, syncGradients, allReduceSum} (a DataParallel)', dp);
  const o = dp as TrainerDataParallel;
  const shard = o.shard as { rank?: unknown; worldSize?: unknown } | undefined;
  if (shard === null || typeof shard !== 'object') throw bad('an object with shard {rank, worldSize}', shard);
  if (!is.positiveInteger(shard.worldSize)) throw bad('a shard.worldSize that is a positive integer', shard.worldSize);
  if (!is.nonNegativeInteger(shard.rank) || shard.rank >= shard.worldSize) throw bad(`a shard.rank in [0, ${shard.worldSize})`, shard.rank);
  if (typeof o.syncGradients !== 'function') throw bad('an object with a syncGradients(params) method', o.syncGradients);
  if (typeof o.allReduceSum !== 'function') throw bad('an object with an allReduceSum(tensor) method', o.allReduceSum);
  const bn = findBatchNorm(critic);
  if (bn.length > 0) {
    throw new TorchError(
      `${where}: a data-parallel critic must not contain batch normalization (${bn.join(', ')}): each rank would normalize its own ` +
        `shard with its own batch statistics, so W ranks x batch B would not compute what one process x batch W·B computes (and ` +
        `the running statistics would drift apart across ranks). Use LayerNorm, InstanceNorm2d or no normalization in the critic ` +
        `(dcganCritic's normalization: 'layer' | 'instance' | 'none'), or train on one process.`,
      { code: 'ERR_DATA_PARALLEL_BATCHNORM', parameter: 'critic', expected: 'a critic without BatchNorm layers', received: `BatchNorm at ${bn.join(', ')}` },
    );
  }
  return o;
}

function checkOptimizerOwnership(where: string, opt: OptimizerLike, name: string, own: Module, other: Module, otherName: string): void {
  if (!opt.paramGroups) return;
  const others = new Set(other.parameters());
  for (const g of opt.paramGroups) {
    for (const p of g.params) {
      if (others.has(p)) {
        throw invalidArgument(`${where}: ${name} holds parameters of the ${otherName}; give each optimizer its own network's parameters (optG: generator.parameters(), optD: critic.parameters())`);
      }
    }
  }
  void own;
}
