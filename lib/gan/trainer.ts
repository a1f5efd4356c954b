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
import { checkOptionKeys, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { randn, rand } from '../tensor/creation';
import type { Device, DType } from '../tensor/dtype';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { Adam, RMSprop } from '../optim';
import { ganLoss, LossPair } from './losses';
import { gradientPenalty, draganPenalty, clipWeights_, assertPenaltyCompatible } from './penalties';
import { noiseShapeOf } from './models';
import { Recipe, RecipeName, recipes, RECIPE_NAMES } from './recipes';

export { recipes, RECIPE_NAMES } from './recipes';
export type { Recipe, RecipeName } from './recipes';

export type TrainerLoss = 'gan' | 'minimax' | 'hinge' | 'wgan' | 'wgan-gp' | 'dragan';
export const TRAINER_LOSSES: readonly TrainerLoss[] = ['gan', 'minimax', 'hinge', 'wgan', 'wgan-gp', 'dragan'];

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
  /** the gradient penalty (0 without one), mean over the critic updates */
  penalty: number;
  /** mean per-sample gradient norm at the penalty's points (NaN without a penalty) */
  gradNorm: number;
}

export interface TrainerCallbacks {
  /** after every step() */
  onStep?: (stats: StepStats, trainer: GanTrainer) => void;
  /** after every critic update, with that update's numbers */
  onCriticStep?: (stats: { criticLoss: number; wassersteinEstimate: number; penalty: number; gradNorm: number }, trainer: GanTrainer) => void;
}

export interface GanTrainerOptions {
  generator: Module;
  critic: Module;
  optG: OptimizerLike;
  optD: OptimizerLike;
  /** 'gan' (non-saturating BCE), 'minimax', 'hinge', 'wgan' (clipping), 'wgan-gp' or 'dragan' (BCE + DRAGAN penalty) */
  loss: TrainerLoss;
  /** the real batch source, called once per critic update */
  batches: () => Tensor;
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
}
const TRAINER_KEYS = [
  'generator', 'critic', 'optG', 'optD', 'loss', 'batches', 'nCritic', 'lambda', 'clamp', 'noise', 'batchSize',
  'oneSidedPenalty', 'draganSymmetric', 'allowBatchNormWithPenalty', 'callbacks',
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
  /** generator updates done */
  iteration = 0;
  /** the real batch source */
  readonly batches: () => Tensor;
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
    if (o.loss === 'wgan-gp' || o.loss === 'dragan') assertPenaltyCompatible(o.critic, where, this.allowBatchNormWithPenalty);
    if (o.callbacks !== undefined) {
      checkOptionKeys(`${where} options.callbacks`, o.callbacks, ['onStep', 'onCriticStep']);
      for (const [k, f] of Object.entries(o.callbacks)) {
        if (f !== undefined && typeof f !== 'function') throw invalidParameterError(`${where} options.callbacks.${k}`, 'a function', f);
      }
    }
    this.callbacks = o.callbacks ?? {};
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

  private generatorPlacement(): { device: Device; dtype: DType } {
    const p = this.generator.parameters()[0];
    return p ? { device: p.device, dtype: p.dtype } : { device: 'cpu', dtype: 'float32' };
  }

  /** One critic update; returns its numbers. */
  criticStep(): { criticLoss: number; wassersteinEstimate: number; penalty: number; gradNorm: number } {
    const r = tidy(() => {
      const real = this.batches();
      if (!(real instanceof Tensor)) throw invalidParameterError('the value returned by options.batches()', 'a Tensor (a batch of real samples)', real);
      const n = real.shape[0];
      if (!is.positiveInteger(n)) throw invalidArgument(`batches() returned an empty batch (shape [${real.shape}])`);
      this.lastBatch = n;
      const z = this.sampleNoise(n);
      const fake = noGrad(() => this.generator.forward(z) as Tensor);
      this.optD.zeroGrad();
      const dReal = this.critic.forward(real) as Tensor;
      const dFake = this.critic.forward(fake) as Tensor;
      let loss = this.pair.critic(dReal, dFake);
      let penalty = 0;
      let gradNorm = NaN;
      if (this.loss === 'wgan-gp' || this.loss === 'dragan') {
        const res = this.loss === 'wgan-gp'
          ? gradientPenalty(this.critic, real, fake, { lambda: this.lambda, oneSided: this.oneSidedPenalty, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty })
          : draganPenalty(this.critic, real, {
            lambda: this.lambda, oneSided: this.oneSidedPenalty, symmetric: this.draganSymmetric, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty,
          });
        loss = loss.add(res.penalty);
        penalty = res.penalty.item();
        gradNorm = res.gradNorm;
      }
      loss.backward();
      this.optD.step();
      if (this.loss === 'wgan') clipWeights_(this.critic.parameters(), this.clamp.lower, this.clamp.upper);
      const w = noGrad(() => dReal.mean().sub(dFake.mean()).item());
      return { criticLoss: loss.item(), wassersteinEstimate: w, penalty, gradNorm };
    });
    this.callbacks.onCriticStep?.(r, this);
    return r;
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
        const z = this.sampleNoise(n);
        const fake = this.generator.forward(z) as Tensor;
        const out = this.critic.forward(fake) as Tensor;
        const loss = this.pair.generator(out);
        loss.backward();
        this.optG.step();
        return loss.item();
      });
    } finally {
      for (const p of frozen) p.requiresGrad_(true);
    }
  }

  /** nCritic critic updates, then one generator update. */
  step(): StepStats {
    let criticLoss = 0, w = 0, penalty = 0, gradNorm = 0;
    for (let i = 0; i < this.nCritic; i++) {
      const r = this.criticStep();
      criticLoss += r.criticLoss;
      w += r.wassersteinEstimate;
      penalty += r.penalty;
      gradNorm += r.gradNorm;
    }
    const generatorLoss = this.generatorStep();
    this.iteration++;
    const k = this.nCritic;
    const stats: StepStats = { iteration: this.iteration, criticLoss: criticLoss / k, generatorLoss, wassersteinEstimate: w / k, penalty: penalty / k, gradNorm: gradNorm / k };
    this.callbacks.onStep?.(stats, this);
    return stats;
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
   * previous mode after). fixedNoise: use this z instead of drawing one.
   */
  sample(n?: number, fixedNoise?: Tensor): Tensor {
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
        return this.generator.forward(z) as Tensor;
      }));
    } finally {
      this.generator.train(wasTraining);
    }
  }

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
