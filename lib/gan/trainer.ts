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
// The options and their checks are in ./trainer-options.ts, the data-parallel helpers in
// ./trainer-parallel.ts, what a conditional GAN changes in ./conditional-step.ts.
import { invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { cat, randn, rand, randint } from '../tensor/creation';
import type { Device, DType } from '../tensor/dtype';
import { autocast, noGrad } from '../autograd';
import { AnyModule, Module } from '../nn/module';
import { Adam, RMSprop } from '../optim';
import { ganLoss, LossPair } from './losses';
import { gradientPenalty, draganPenalty, clipWeights_, isLazyRegularizationStep, r1Penalty, r2Penalty } from './penalties';
import type { PenaltyResult } from './penalties';
import { diffAugment, withDiffAugment } from './diffaugment';
import { Recipe, RecipeName, recipes } from './recipes';
import { CheckedConditional, classLoss, criticOutput, cyclicLabels, splitBatch } from './conditional-step';
import { checkTrainerOptions } from './trainer-options';
import type { GanTrainerOptions, OptimizerLike, StepStats, TrainerCallbacks, TrainerDataParallel, TrainerLoss, TrainerPrecision } from './trainer-options';
import { averageStats, drawGlobalRows, globalStd, syncGradients } from './trainer-parallel';

export { recipes, RECIPE_NAMES } from './recipes';
export type { Recipe, RecipeName } from './recipes';
export { TRAINER_LOSSES, TRAINER_PRECISIONS } from './trainer-options';
export type { GanTrainerOptions, NoiseOptions, OptimizerLike, StepStats, TrainerCallbacks, TrainerDataParallel, TrainerLoss, TrainerPrecision } from './trainer-options';
export { shardRows } from './trainer-parallel';

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
  /** 'bf16': forward passes and penalties under autocast (options.precision) */
  readonly precision: TrainerPrecision;
  private readonly pair: LossPair;
  private lastBatch = 0;
  /** one critic forward over real and fake together (options.batchCriticForward, resolved) */
  batchCriticForward: boolean;

  constructor(options: GanTrainerOptions) {
    const c = checkTrainerOptions(options);
    this.generator = c.generator;
    this.critic = c.critic;
    this.optG = c.optG;
    this.optD = c.optD;
    this.loss = c.loss;
    this.batches = c.batches;
    this.conditional = c.conditional;
    this.nCritic = c.nCritic;
    this.lambda = c.lambda;
    this.clamp = c.clamp;
    this.noise = c.noise;
    this.batchSize = c.batchSize;
    this.oneSidedPenalty = c.oneSidedPenalty;
    this.draganSymmetric = c.draganSymmetric;
    this.allowBatchNormWithPenalty = c.allowBatchNormWithPenalty;
    this.dataParallel = c.dataParallel;
    this.callbacks = c.callbacks;
    this.r1Gamma = c.r1Gamma;
    this.r2Gamma = c.r2Gamma;
    this.regEvery = c.regEvery;
    this.diffAugment = c.diffAugment;
    this.batchCriticForward = c.batchCriticForward;
    this.precision = c.precision;
    const d = this.diffAugment.length > 0 ? withDiffAugment(c.critic, this.diffAugment as never) : (c.critic as unknown as { forward(x: Tensor): Tensor });
    this.d = this.precision === 'fp32' ? d : { forward: (x: Tensor) => this.mixed(() => d.forward(x)) };
    const base = c.loss === 'wgan-gp' ? 'wgan' : c.loss === 'dragan' ? 'gan' : c.loss;
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
    return drawGlobalRows(this.dataParallel, n, (rows) => this.sampleNoise(rows));
  }

  /** A conditional trainer's labels for this rank's n fakes: uniform over the classes, drawn for the global batch like z. */
  private drawLabels(n: number): Tensor {
    const k = this.conditional!.numClasses;
    const { device } = this.generatorPlacement();
    return drawGlobalRows(this.dataParallel, n, (rows) => randint(0, k, [rows], { dtype: 'int64', device }));
  }

  /**
   * The critic's score of x (and AC-GAN's class logits): through DiffAugment when it is on; a
   * conditional critic under labels y (the augmentation applies to x alone).
   */
  private score(x: Tensor, y: Tensor | undefined): { score: Tensor; logits?: Tensor } {
    if (this.conditional === null) return { score: this.d.forward(x) as Tensor };
    const xa = this.diffAugment.length > 0 ? diffAugment(x, this.diffAugment as never) : x;
    return this.criticOutput(xa, y);
  }

  /** criticOutput() of the critic; precision 'bf16': under autocast, score and logits cast to float32. */
  private criticOutput(x: Tensor, y: Tensor | undefined): { score: Tensor; logits?: Tensor } {
    if (this.precision === 'fp32') return criticOutput(this.critic, this.conditional, x, y);
    const out = this.mixed(() => criticOutput(this.critic, this.conditional, x, y));
    return out.logits === undefined ? { score: toFloat32(out.score) } : { score: toFloat32(out.score), logits: toFloat32(out.logits) };
  }

  /**
   * score() of real and fake from one critic forward over both (rows 0..n-1 real, n..2n-1 fake);
   * each batch is augmented on its own first, so DiffAugment draws what two score() calls draw.
   * null (and batching off from then on) when the output does not have 2n rows, as when a
   * flattening layer merged the samples: the caller scores them one batch at a time.
   */
  private scoreTogether(real: Tensor, labels: Tensor | undefined, fake: Tensor, yFake: Tensor | undefined): [{ score: Tensor; logits?: Tensor }, { score: Tensor; logits?: Tensor }] | null {
    const n = real.shape[0];
    if (fake.shape[0] !== n) return null;
    const augment = (x: Tensor) => (this.diffAugment.length > 0 ? diffAugment(x, this.diffAugment as never) : x);
    const x = cat([augment(real), augment(fake)], 0);
    const y = labels !== undefined && yFake !== undefined ? cat([labels, yFake], 0) : undefined;
    const out = this.criticOutput(x, y);
    if (out.score.shape[0] !== 2 * n || (out.logits !== undefined && out.logits.shape[0] !== 2 * n)) {
      this.batchCriticForward = false;
      return null;
    }
    const half = (t: Tensor | undefined, i: number) => (t === undefined ? undefined : t.narrow(0, i * n, n));
    return [0, 1].map((i) => ({ score: half(out.score, i)!, logits: half(out.logits, i) })) as [{ score: Tensor; logits?: Tensor }, { score: Tensor; logits?: Tensor }];
  }

  /** G(z), or G(z, y) for a conditional trainer. */
  private generateFrom(z: Tensor, y: Tensor | undefined): Tensor {
    const run = () => (y === undefined ? this.generator.forward(z) : (this.generator as AnyModule).forward(z, y)) as Tensor;
    return this.precision === 'fp32' ? run() : this.mixed(run);
  }

  /**
   * precision 'bf16': fn under autocast on the networks' device type, its tensor result cast to
   * float32 (scores, samples), so what the losses and the penalties' norms see is float32; nested
   * regions (a critic call inside a penalty) share the outer region's weight casts. Inside the
   * caller's tidy().
   */
  private mixed<T>(fn: () => T): T {
    if (this.precision === 'fp32') return fn();
    const device = this.generatorPlacement().device === 'cpu' ? 'cpu' : 'cuda';
    const r = autocast(fn, { dtype: 'bfloat16', device });
    return (r instanceof Tensor ? toFloat32(r) : r) as T;
  }

  /** rand(shape of the global batch) sharded: this rank's rows of a per-sample draw (only called data-parallel). */
  private drawUniform(local: number[], like: Tensor): Tensor {
    return drawGlobalRows(this.dataParallel, local[0], (rows) => rand([rows, ...local.slice(1)], { dtype: like.dtype, device: like.device }));
  }

  /** The data-parallel gradient sync, its failure named with the step it happened in. */
  private sync(params: Tensor[], what: string): void {
    if (this.dataParallel) syncGradients(this.dataParallel, params, what, this.iteration + 1);
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
      const pair = this.batchCriticForward ? this.scoreTogether(real, labels, fake, yFake) : null;
      const outReal = pair ? pair[0] : this.score(real, labels);
      const outFake = pair ? pair[1] : this.score(fake, yFake);
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
        const res = this.mixed(() => this.loss === 'wgan-gp'
          ? gradientPenalty(scored, real, fake, {
            lambda: this.lambda, oneSided: this.oneSidedPenalty, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty,
            ...(sharded ? { eps: this.drawUniform(perSample, real) } : {}),
          })
          : draganPenalty(scored, real, {
            lambda: this.lambda, oneSided: this.oneSidedPenalty, symmetric: this.draganSymmetric, allowBatchNormWithPenalty: this.allowBatchNormWithPenalty,
            ...(sharded ? { noise: this.drawUniform(real.shape, real), std: globalStd(this.dataParallel!, real), alpha: this.drawUniform(perSample, real) } : {}),
          }));
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
    if (this.r1Gamma > 0) parts.push(this.mixed(() => r1Penalty(at(labels), real, opts(this.r1Gamma))));
    if (this.r2Gamma > 0) parts.push(this.mixed(() => r2Penalty(at(yFake), fake, opts(this.r2Gamma))));
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
    if (this.dataParallel && this.dataParallel.shard.worldSize > 1) stats = averageStats(this.dataParallel, stats, this.lastBatch);
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

/** t as float32 (a bf16 score or sample under precision 'bf16'); t itself when it is float32 already. */
function toFloat32(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : t.float();
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
