// GanTrainer: the alternating updates of GAN training, for the standard GAN
// (non-saturating BCE on logits), WGAN (weight clipping), WGAN-GP and DRAGAN.
//
// One step() = nCritic critic updates, then one generator update:
//   critic:    real = batches(); z ~ p(z); fake = G(z) without a graph into G;
//              loss = criticLoss(D(real), D(fake)) [+ penalty]; backward; optD.step()
//              [WGAN: clamp the critic's weights into [lower, upper]]
//   generator: z ~ p(z); loss = generatorLoss(D(G(z))) with the critic's parameters
//              frozen (requiresGrad false, restored after); backward; optG.step()
// Each update runs inside tidy(), so no tensor outlives it; step() returns numbers.
//
// Data-parallel (options.dataParallel, e.g. lib/distributed's DataParallel): every rank runs
// the same step on its shard of the global batch. Random numbers (z, the penalty's ε, DRAGAN's
// perturbation) are drawn for the GLOBAL batch from the shared seed and each rank keeps its
// rows, so W ranks x batch B compute what one process x batch W·B computes; after each full
// backward (penalty included) the gradients are averaged over the ranks, then the optimizer steps.
import { checkOptionKeys, describe, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { randn, rand, randint, tensor } from '../tensor/creation';
import type { Device, DType } from '../tensor/dtype';
import { noGrad } from '../autograd';
import { AnyModule, Module } from '../nn/module';
import { Adam, RMSprop } from '../optim';
import { ganLoss, LossPair } from './losses';
import { gradientPenalty, draganPenalty, clipWeights_, assertPenaltyCompatible, findBatchNorm, isLazyRegularizationStep, r1Penalty, r2Penalty } from './penalties';
import type { PenaltyResult } from './penalties';
import { diffAugment, parseDiffAugmentPolicy, withDiffAugment } from './diffaugment';
import { noiseShapeOf } from './models';
import { Recipe, RecipeName, recipes, RECIPE_NAMES } from './recipes';
import { CheckedConditional, ConditionalTraining, checkConditional, classLoss, criticOutput, cyclicLabels, splitBatch } from './conditional-step';

export { recipes, RECIPE_NAMES } from './recipes';
export type { Recipe, RecipeName } from './recipes';

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
}
const TRAINER_KEYS = [
  'generator', 'critic', 'optG', 'optD', 'loss', 'batches', 'nCritic', 'lambda', 'clamp', 'noise', 'batchSize',
  'oneSidedPenalty', 'draganSymmetric', 'allowBatchNormWithPenalty', 'callbacks', 'dataParallel',
  'r1Gamma', 'r2Gamma', 'regEvery', 'diffAugment', 'conditional',
] as const;

function isOptimizer(o: unknown): o is OptimizerLike {
  return o !== null && typeof o === 'object' && typeof (o as OptimizerLike).step === 'function' && typeof (o as OptimizerLike).zeroGrad === 'function';
}

export class GanTrainer {
  readonly generator: Module;
  readonly critic: Module;
  readonly optG: OptimizerLike;
  readonly optD: OptimizerLike;
  readonly loss: TrainerLoss;
  readonly nCritic: number;
  readonly lambda: number;
  readonly clamp: { lower: number; upper: number };
  readonly noise: { shape: number[]; kind: 'normal' | 'uniform'; scale: number };
  readonly batchSize: number | undefined;
  readonly oneSidedPenalty: boolean;
  readonly draganSymmetric: boolean;
  readonly allowBatchNormWithPenalty: boolean;
  callbacks: TrainerCallbacks;
  /** the data-parallel hooks (options.dataParallel), or null */
  readonly dataParallel: TrainerDataParallel | null;
  /** generator updates done */
  iteration = 0;
  /** critic updates done (the lazy regularisation's clock; a resume sets it with iteration) */
  criticIteration = 0;
  readonly r1Gamma: number;
  readonly r2Gamma: number;
  readonly regEvery: number;
  /** the DiffAugment operations ([] without) */
  readonly diffAugment: readonly string[];
  /** what every critic evaluation goes through: the critic, or the critic behind DiffAugment */
  private readonly d: { forward(x: Tensor): Tensor };
  /** the real batch source */
  readonly batches: () => Tensor | { x: Tensor; y?: Tensor };
  /** options.conditional, checked (null: unconditional) */
  readonly conditional: CheckedConditional | null;
  private readonly pair: LossPair;
  private lastBatch = 0;

  constructor(options: GanTrainerOptions) {
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
    this.generator = o.generator;
    this.critic = o.critic;
    this.optG = o.optG;
    this.optD = o.optD;
    this.loss = o.loss;
    this.batches = o.batches;
    this.conditional = o.conditional === undefined ? null : checkConditional(where, o.conditional, o.generator);
    checkOptimizerOwnership(where, o.optG, 'optG', o.generator, o.critic, 'critic');
    checkOptimizerOwnership(where, o.optD, 'optD', o.critic, o.generator, 'generator');

    const wass = o.loss === 'wgan' || o.loss === 'wgan-gp';
    this.nCritic = o.nCritic ?? (wass ? 5 : 1);
    if (!is.positiveInteger(this.nCritic)) throw invalidParameterError(`${where} options.nCritic`, 'a positive integer', o.nCritic);
    this.lambda = o.lambda ?? 10;
    if (!is.finite(this.lambda) || this.lambda < 0) throw invalidParameterError(`${where} options.lambda`, 'a non-negative number', o.lambda);
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
    this.clamp = { lower, upper };

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
    this.noise = { shape, kind, scale };

    if (o.batchSize !== undefined && !is.positiveInteger(o.batchSize)) throw invalidParameterError(`${where} options.batchSize`, 'a positive integer', o.batchSize);
    this.batchSize = o.batchSize;
    for (const k of ['oneSidedPenalty', 'draganSymmetric', 'allowBatchNormWithPenalty'] as const) {
      if (o[k] !== undefined && !is.bool(o[k])) throw invalidParameterError(`${where} options.${k}`, 'a boolean', o[k]);
    }
    this.oneSidedPenalty = o.oneSidedPenalty ?? false;
    this.draganSymmetric = o.draganSymmetric ?? false;
    if (o.draganSymmetric !== undefined && o.loss !== 'dragan') throw invalidArgument(`${where}: options.draganSymmetric applies to loss 'dragan' only`);
    this.allowBatchNormWithPenalty = o.allowBatchNormWithPenalty ?? false;
    // data-parallel first: its batch-norm refusal holds for every loss, even with allowBatchNormWithPenalty
    this.dataParallel = o.dataParallel === undefined ? null : checkDataParallel(where, o.dataParallel, o.critic);
    if (o.loss === 'wgan-gp' || o.loss === 'dragan') assertPenaltyCompatible(o.critic, where, this.allowBatchNormWithPenalty);
    if (o.callbacks !== undefined) {
      checkOptionKeys(`${where} options.callbacks`, o.callbacks, ['onStep', 'onCriticStep']);
      for (const [k, f] of Object.entries(o.callbacks)) {
        if (f !== undefined && typeof f !== 'function') throw invalidParameterError(`${where} options.callbacks.${k}`, 'a function', f);
      }
    }
    this.callbacks = o.callbacks ?? {};
    for (const k of ['r1Gamma', 'r2Gamma'] as const) {
      if (o[k] !== undefined && (!is.finite(o[k]) || o[k]! < 0)) throw invalidParameterError(`${where} options.${k}`, 'a non-negative number (0: off)', o[k]);
    }
    this.r1Gamma = o.r1Gamma ?? 0;
    this.r2Gamma = o.r2Gamma ?? 0;
    this.regEvery = o.regEvery ?? 1;
    if (!is.positiveInteger(this.regEvery)) throw invalidParameterError(`${where} options.regEvery`, 'a positive integer (critic updates between R1/R2 applications)', o.regEvery);
    if (this.r1Gamma > 0 || this.r2Gamma > 0) assertPenaltyCompatible(o.critic, where, this.allowBatchNormWithPenalty);
    if (o.diffAugment !== undefined && !is.string(o.diffAugment)) throw invalidParameterError(`${where} options.diffAugment`, "a DiffAugment policy such as 'color,translation,cutout'", o.diffAugment);
    this.diffAugment = o.diffAugment === undefined ? [] : parseDiffAugmentPolicy(o.diffAugment);
    // each rank would draw its own augmentations for its shard: not what one process draws for the global batch
    if (this.diffAugment.length > 0 && this.dataParallel) throw invalidArgument(`${where}: options.diffAugment is not supported with options.dataParallel (the augmentations are drawn per process, not for the global batch)`);
    this.d = this.diffAugment.length > 0 ? withDiffAugment(o.critic, this.diffAugment as never) : (o.critic as unknown as { forward(x: Tensor): Tensor });
    const base = o.loss === 'wgan-gp' ? 'wgan' : o.loss === 'dragan' ? 'gan' : o.loss;
    this.pair = ganLoss(base);
  }

  /** Noise for n samples on the generator's device and dtype. */
  sampleNoise(n: number): Tensor {
    if (!is.positiveInteger(n)) throw invalidParameterError('n', 'a positive integer', n);
    const { device, dtype } = this.generatorPlacement();
    const shape = [n, ...this.noise.shape];
    const { kind, scale } = this.noise;
    return tidy(() => {
      if (kind === 'normal') {
        const z = randn(shape, { device, dtype });
        return scale === 1 ? z : z.mul(scale);
      }
      return rand(shape, { device, dtype }).mul(2 * scale).sub(scale);
    });
  }

  /** z for this rank's n samples: drawn for the global batch (n × worldSize) and sharded when data-parallel. */
  private drawNoise(n: number): Tensor {
    const dp = this.dataParallel;
    if (!dp || dp.shard.worldSize === 1) return this.sampleNoise(n);
    return tidy(() => shardRows(this.sampleNoise(n * dp.shard.worldSize), dp.shard.rank, dp.shard.worldSize));
  }

  /** A conditional trainer's labels for this rank's n fakes: uniform over the classes, drawn for the global batch like z. */
  private drawLabels(n: number): Tensor {
    const k = this.conditional!.numClasses;
    const { device } = this.generatorPlacement();
    const dp = this.dataParallel;
    if (!dp || dp.shard.worldSize === 1) return randint(0, k, [n], { dtype: 'int64', device });
    return tidy(() => shardRows(randint(0, k, [n * dp.shard.worldSize], { dtype: 'int64', device }), dp.shard.rank, dp.shard.worldSize));
  }

  /**
   * The critic's score of x (and AC-GAN's class logits): through DiffAugment when it is on; a
   * conditional critic under labels y (the augmentation applies to x alone).
   */
  private score(x: Tensor, y: Tensor | undefined): { score: Tensor; logits?: Tensor } {
    if (this.conditional === null) return { score: this.d.forward(x) as Tensor };
    const xa = this.diffAugment.length > 0 ? diffAugment(x, this.diffAugment as never) : x;
    return criticOutput(this.critic, this.conditional, xa, y);
  }

  /** G(z), or G(z, y) for a conditional trainer. */
  private generateFrom(z: Tensor, y: Tensor | undefined): Tensor {
    return (y === undefined ? this.generator.forward(z) : (this.generator as AnyModule).forward(z, y)) as Tensor;
  }

  /** rand(shape of the global batch) sharded: this rank's rows of a per-sample draw. */
  private drawUniform(local: number[], like: Tensor): Tensor {
    const { rank, worldSize } = this.dataParallel!.shard;
    return tidy(() => shardRows(rand([local[0] * worldSize, ...local.slice(1)], { dtype: like.dtype, device: like.device }), rank, worldSize));
  }

  /** The unbiased std of the global batch (all of x's elements on every rank), as Tensor.std() of the whole batch. */
  private globalStd(x: Tensor): Tensor {
    const dp = this.dataParallel!;
    return tidy(() => noGrad(() => {
      const x64 = x.to({ dtype: 'float64', device: 'cpu' });
      const s = x64.sum().reshape(1).contiguous();
      dp.allReduceSum(s);
      const count = x.numel() * dp.shard.worldSize;
      const mean = s.div(count);
      const ss = x64.sub(mean).square().sum().reshape(1).contiguous();
      dp.allReduceSum(ss);
      return ss.div(count - 1).sqrt().reshape([]).to({ dtype: x.dtype, device: x.device });
    }));
  }

  /** The data-parallel gradient sync, its failure named with the step it happened in. */
  private sync(params: Tensor[], what: string): void {
    const dp = this.dataParallel;
    if (!dp) return;
    try {
      dp.syncGradients(params.filter((p) => p.requiresGrad));
    } catch (e) {
      if (e instanceof TypeError) throw e;  // a bad argument (e.g. a CUDA gradient for Gloo), as it was
      const code = (e as { code?: string })?.code;
      throw new TorchError(`GanTrainer: syncing the ${what} gradients (iteration ${this.iteration + 1}) failed: ${(e as Error)?.message ?? String(e)}`, { code: code ?? 'ERR_TORCH_DISTRIBUTED', cause: e });
    }
  }

  private generatorPlacement(): { device: Device; dtype: DType } {
    const p = this.generator.parameters()[0];
    return p ? { device: p.device, dtype: p.dtype } : { device: 'cpu', dtype: 'float32' };
  }

  /** One critic update; returns its numbers. */
  criticStep(): { criticLoss: number; wassersteinEstimate: number; penalty: number; gradNorm: number } {
    const r = tidy(() => {
      const { real, labels } = splitBatch(this.batches(), this.conditional);
      const n = real.shape[0];
      if (!is.positiveInteger(n)) throw invalidArgument(`batches() returned an empty batch (shape [${real.shape}])`);
      this.lastBatch = n;
      const z = this.drawNoise(n);
      const yFake = this.conditional ? this.drawLabels(n) : undefined;
      const fake = noGrad(() => this.generateFrom(z, yFake));
      this.optD.zeroGrad();
      const outReal = this.score(real, labels);
      const outFake = this.score(fake, yFake);
      const dReal = outReal.score;
      const dFake = outFake.score;
      let loss = this.pair.critic(dReal, dFake);
      // AC-GAN: the critic also learns to classify real and fake samples
      const cls = classLoss(this.conditional, outReal.logits, labels);
      if (cls) loss = loss.add(cls).add(classLoss(this.conditional, outFake.logits, yFake)!);
      // the penalties' one-argument critic: the real batch's labels bound (WGAN-GP's interpolates, DRAGAN's perturbed reals)
      const scored = this.conditional === null ? this.d : (x: Tensor) => this.score(x, labels).score;
      let penalty = 0;
      let gradNorm = NaN;
      if (this.loss === 'wgan-gp' || this.loss === 'dragan') {
        // data-parallel: the per-sample draws of the global batch, in the order the penalties draw them
        const sharded = this.dataParallel !== null && this.dataParallel.shard.worldSize > 1;
        const perSample = [n, ...real.shape.slice(1).map(() => 1)];
        const res = this.loss === 'wgan-gp'
          ? gradientPenalty(scored, real, fake, {
            lambda: this.lambda, oneSided: this.oneSidedPenalty, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty,
            ...(sharded ? { eps: this.drawUniform(perSample, real) } : {}),
          })
          : draganPenalty(scored, real, {
            lambda: this.lambda, oneSided: this.oneSidedPenalty, symmetric: this.draganSymmetric, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty,
            ...(sharded ? { noise: this.drawUniform(real.shape, real), std: this.globalStd(real), alpha: this.drawUniform(perSample, real) } : {}),
          });
        loss = loss.add(res.penalty);
        penalty = res.penalty.item();
        gradNorm = res.gradNorm;
      }
      const regDue = (this.r1Gamma > 0 || this.r2Gamma > 0) && isLazyRegularizationStep(this.criticIteration, this.regEvery);
      if (regDue && this.regEvery === 1) {
        const reg = this.zeroCentredPenalty(real, fake, 1, labels, yFake);
        loss = loss.add(reg.penalty);
        penalty += reg.value;
        if (Number.isNaN(gradNorm)) gradNorm = reg.gradNorm;
      }
      loss.backward();
      this.sync(this.critic.parameters(), "critic's");
      this.optD.step();
      if (this.loss === 'wgan') clipWeights_(this.critic.parameters(), this.clamp.lower, this.clamp.upper);
      const w = noGrad(() => dReal.mean().sub(dFake.mean()).item());
      let criticLoss = loss.item();
      if (regDue && this.regEvery > 1) {
        // StyleGAN2's lazy 'Dreg' phase: its own update, the penalty scaled by the interval
        this.optD.zeroGrad();
        const reg = this.zeroCentredPenalty(real, fake, this.regEvery, labels, yFake);
        reg.penalty.backward();
        this.sync(this.critic.parameters(), "critic's");
        this.optD.step();
        penalty += reg.value;
        criticLoss += reg.value;
        if (Number.isNaN(gradNorm)) gradNorm = reg.gradNorm;
      }
      return { criticLoss, wassersteinEstimate: w, penalty, gradNorm };
    });
    this.criticIteration++;
    this.callbacks.onCriticStep?.(r, this);
    return r;
  }

  /** R1 at the reals plus R2 at the fakes (those with γ > 0), times `interval`; inside the caller's tidy(). */
  private zeroCentredPenalty(real: Tensor, fake: Tensor, interval: number, labels?: Tensor, yFake?: Tensor): { penalty: Tensor; value: number; gradNorm: number } {
    const parts: PenaltyResult[] = [];
    const opts = (gamma: number) => ({ gamma, interval, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty });
    // a conditional critic: R1 under the reals' labels, R2 under the fakes'
    const at = (y: Tensor | undefined) => (this.conditional === null ? this.d : (x: Tensor) => this.score(x, y).score);
    if (this.r1Gamma > 0) parts.push(r1Penalty(at(labels), real, opts(this.r1Gamma)));
    if (this.r2Gamma > 0) parts.push(r2Penalty(at(yFake), fake, opts(this.r2Gamma)));
    const penalty = parts.length === 1 ? parts[0].penalty : parts[0].penalty.add(parts[1].penalty);
    // the gradient norm at the reals when R1 is on (the one usually watched), else at the fakes
    return { penalty, value: penalty.item(), gradNorm: parts[0].gradNorm };
  }

  /** One generator update (the critic frozen); returns the generator loss. */
  generatorStep(): number {
    const n = this.batchSize ?? this.lastBatch;
    if (!is.positiveInteger(n)) throw new TorchError('generatorStep(): no batch size yet; run a critic step first or pass options.batchSize', { code: 'ERR_INVALID_STATE' });
    const frozen = this.critic.parameters().filter((p) => p.requiresGrad);
    for (const p of frozen) p.requiresGrad_(false);
    try {
      return tidy(() => {
        this.optG.zeroGrad();
        const z = this.drawNoise(n);
        const y = this.conditional ? this.drawLabels(n) : undefined;
        const fake = this.generateFrom(z, y);
        const out = this.score(fake, y);
        let loss = this.pair.generator(out.score);
        const cls = classLoss(this.conditional, out.logits, y);
        if (cls) loss = loss.add(cls);
        loss.backward();
        this.sync(this.generator.parameters(), "generator's");
        this.optG.step();
        return loss.item();
      });
    } finally {
      for (const p of frozen) p.requiresGrad_(true);
    }
  }

  /** nCritic critic updates, then one generator update. */
  step(): StepStats {
    let criticLoss = 0, w = 0, penalty = 0, gradNorm = 0, normed = 0;
    for (let i = 0; i < this.nCritic; i++) {
      const r = this.criticStep();
      criticLoss += r.criticLoss;
      w += r.wassersteinEstimate;
      penalty += r.penalty;
      // lazily regularised updates compute a gradient norm only every regEvery updates
      if (!Number.isNaN(r.gradNorm)) {
        gradNorm += r.gradNorm;
        normed++;
      }
    }
    const generatorLoss = this.generatorStep();
    this.iteration++;
    const k = this.nCritic;
    let stats: StepStats = { iteration: this.iteration, criticLoss: criticLoss / k, generatorLoss, wassersteinEstimate: w / k, penalty: penalty / k, gradNorm: normed > 0 ? gradNorm / normed : NaN };
    if (this.dataParallel && this.dataParallel.shard.worldSize > 1) stats = this.averageStats(stats);
    this.callbacks.onStep?.(stats, this);
    return stats;
  }

  /**
   * step()'s numbers averaged over the ranks (the means of the global batch: every loss is a
   * mean over its batch), in one all-reduce that also checks that every rank used the same batch size.
   */
  private averageStats(s: StepStats): StepStats {
    const dp = this.dataParallel!;
    const w = dp.shard.worldSize;
    const n = this.lastBatch;
    const v = tidy(() => {
      const t = tensor([s.criticLoss, s.generatorLoss, s.wassersteinEstimate, s.penalty, s.gradNorm, n, n * n], { dtype: 'float64' });
      dp.allReduceSum(t);
      return t.toArray();
    });
    // every rank's n equal <=> w·Σn² = (Σn)²
    if (w * v[6] !== v[5] * v[5]) {
      throw new TorchError(`GanTrainer.step(): the ranks' real batches differ in size (this rank ${dp.shard.rank}: ${n}, mean over the ${w} ranks: ${v[5] / w}); every rank must draw the same batch size (a DistributedSampler and a loader with dropLast)`, {
        code: 'ERR_DATA_PARALLEL_MISMATCH', parameter: 'batches', expected: `${v[5] / w} rows on every rank`, received: `${n} rows on rank ${dp.shard.rank}`,
      });
    }
    return { iteration: s.iteration, criticLoss: v[0] / w, generatorLoss: v[1] / w, wassersteinEstimate: v[2] / w, penalty: v[3] / w, gradNorm: v[4] / w };
  }

  /** Runs `iterations` steps; returns the last step's numbers. */
  run(iterations: number): StepStats | undefined {
    if (!is.nonNegativeInteger(iterations)) throw invalidParameterError('iterations', 'a non-negative integer', iterations);
    let last: StepStats | undefined;
    for (let i = 0; i < iterations; i++) last = this.step();
    return last;
  }

  /**
   * n generated samples, in eval mode under noGrad (the generator goes back to its
   * previous mode after). fixedNoise: use this z instead of drawing one. labels: a conditional
   * trainer's classes of the samples (default: sample i of class i mod numClasses).
   */
  sample(n?: number, fixedNoise?: Tensor, labels?: Tensor): Tensor {
    if (fixedNoise !== undefined && !(fixedNoise instanceof Tensor)) throw invalidParameterError('fixedNoise', 'a Tensor', fixedNoise);
    if (fixedNoise === undefined && !is.positiveInteger(n)) throw invalidParameterError('n', 'a positive integer', n);
    if (fixedNoise !== undefined && n !== undefined && fixedNoise.shape[0] !== n) {
      throw invalidParameterError('n', `the batch size of fixedNoise (${fixedNoise.shape[0]})`, n);
    }
    const wasTraining = this.generator.training;
    this.generator.eval();
    try {
      return tidy(() => noGrad(() => {
        const z = fixedNoise ?? this.sampleNoise(n!);
        if (this.conditional === null) return this.generator.forward(z) as Tensor;
        return this.generateFrom(z, labels ?? cyclicLabels(z.shape[0], this.conditional.numClasses, this.generatorPlacement().device));
      }));
    } finally {
      this.generator.train(wasTraining);
    }
  }

}

/** This rank's rows of a global batch t (worldSize·n rows): rows rank, rank + worldSize, ... (DistributedSampler's order). */
export function shardRows(t: Tensor, rank: number, worldSize: number): Tensor {
  if (worldSize === 1) return t.clone();
  const [total, ...rest] = t.shape;
  if (total % worldSize !== 0) throw invalidParameterError('shardRows() t', `a batch whose size is a multiple of ${worldSize}`, t);
  return tidy(() => t.reshape([total / worldSize, worldSize, ...rest]).select(1, rank).contiguous());
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

// ---------------------------------------------------------------- recipes (./recipes.ts)

/** The optimizer a recipe prescribes, over `params`. */
export function recipeOptimizer(recipe: RecipeName | Recipe, params: Tensor[]): Adam | RMSprop {
  const r = typeof recipe === 'string' ? recipes[recipe] : recipe;
  if (r === undefined || !is.plainObject(r)) throw invalidParameterError('recipe', `one of ${Object.keys(recipes).join(', ')} or a Recipe`, recipe);
  if (r.optimizer === 'adam') return new Adam(params, { lr: r.lr, betas: r.betas ? [r.betas[0], r.betas[1]] : [0.9, 0.999] });
  return new RMSprop(params, { lr: r.lr });
}

export interface FromRecipeOptions extends Omit<GanTrainerOptions, 'optG' | 'optD' | 'loss'> {
  optG?: OptimizerLike;
  optD?: OptimizerLike;
}

/** A trainer with a recipe's loss, optimizers, nCritic, λ and clipping; options override. */
export function trainerFromRecipe(name: RecipeName, options: FromRecipeOptions): GanTrainer {
  const r = recipes[name];
  if (r === undefined) throw invalidParameterError('name', `one of ${Object.keys(recipes).join(', ')}`, name);
  if (!is.plainObject(options)) throw invalidParameterError('options', 'an object {generator, critic, batches, ...}', options);
  const { optG, optD, ...rest } = options;
  if (!(rest.generator instanceof Module)) throw invalidParameterError('options.generator', 'a Module', rest.generator);
  if (!(rest.critic instanceof Module)) throw invalidParameterError('options.critic', 'a Module', rest.critic);
  const o: GanTrainerOptions = {
    ...rest,
    loss: r.loss,
    optG: optG ?? recipeOptimizer(r, rest.generator.parameters()),
    optD: optD ?? recipeOptimizer(r, rest.critic.parameters()),
    nCritic: rest.nCritic ?? r.nCritic,
  };
  if (r.lambda !== undefined) o.lambda = rest.lambda ?? r.lambda;
  if (r.clamp !== undefined) o.clamp = rest.clamp ?? { ...r.clamp };
  return new GanTrainer(o);
}
