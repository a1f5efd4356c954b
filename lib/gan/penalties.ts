// Constraints on the critic: the WGAN-GP gradient penalty (Gulrajani et al. 2017),
// DRAGAN's (Kodali et al. 2017), the zero-centred R1 and R2 penalties (Mescheder et al. 2018;
// lazily applied as in StyleGAN2) and WGAN's weight clipping (Arjovsky et al. 2017).
//
// The penalties differentiate the critic's output with respect to its input with
// createGraph, so the penalty itself can be back-propagated into the critic's
// weights (a gradient of a gradient). The gradient norm is taken PER SAMPLE, over
// every non-batch dimension: the penalty constrains the critic at each point, and a
// single norm over the whole batch (a common mistake) constrains something else.
// The norm is sqrt(sum(g²) + 1e-12): the derivative of sqrt at 0 is infinite, so the
// small constant keeps the double backward finite when a gradient vanishes.
import { checkOptionKeys, describe, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { rand, onesLike, tensor } from '../tensor/creation';
import { grad, noGrad } from '../autograd';
import { assertPenaltyCompatible, callCritic } from './critic';
import type { Critic } from './critic';

/** Added under the square root of the per-sample squared norm. */
export const NORM_EPS = 1e-12;

export { callCritic, findBatchNorm, assertPenaltyCompatible } from './critic';
export type { Critic } from './critic';

// ---------------------------------------------------------------- shared core

/** Per-sample L2 norms sqrt(sum(g²) + 1e-12) over all non-batch dimensions: shape [N]. */
export function perSampleNorm(g: Tensor): Tensor {
  const n = g.shape[0];
  const flat = g.reshape(n, -1);
  const sq = flat.square();
  const s = sq.sum(1);
  const s2 = s.add(NORM_EPS);
  const norm = s2.sqrt();
  for (const t of [flat, sq, s, s2]) t.dispose();
  return norm;
}

export interface PenaltyResult {
  /** the penalty, a scalar with a graph into the critic's parameters (add it to the critic loss) */
  penalty: Tensor;
  /** mean per-sample gradient norm (a number; 1 is what the penalty aims at), computed from
   * gradNorms when first read (no device sync unless read) */
  readonly gradNorm: number;
  /** the per-sample gradient norms, detached, shape [N] */
  gradNorms: Tensor;
}

interface CoreOptions {
  lambda: number;
  k: number;
  oneSided: boolean;
}

/** The result object; gradNorm is read lazily: item() waits for the device (a CUDA sync per
 * critic step) and most callers never look at it. */
function penaltyResult(penalty: Tensor, gradNorms: Tensor, where: string): PenaltyResult {
  let meanNorm: number | undefined;
  return {
    penalty,
    gradNorms,
    get gradNorm(): number {
      if (meanNorm === undefined) {
        if (gradNorms.isDisposed) {
          throw new TorchError(`${where}: gradNorm is computed from gradNorms when first read; read it before gradNorms is freed (by dispose() or its tidy() scope)`, { code: 'ERR_TENSOR_DISPOSED' });
        }
        meanNorm = noGrad(() => {
          const mm = gradNorms.mean();
          const v = mm.item();
          mm.dispose();
          return v;
        });
      }
      return meanNorm;
    },
  };
}

/** D(x) and ∇ₓΣD(x) (with createGraph) at the leaf x, checked to be one output per sample. */
function criticInputGradient(critic: Critic, x: Tensor, where: string, tmp: <T extends Tensor>(t: T) => T): Tensor {
  const out = tmp(callCritic(critic, x));
  if (!(out instanceof Tensor)) throw invalidArgument(`${where}: the critic must return a Tensor`, { parameter: `${where} critic`, expected: 'a critic returning a Tensor', received: `one returning ${describe(out)}` });
  const n = x.shape[0];
  if (out.numel() !== n) {
    throw invalidArgument(`${where}: the critic must give one value per sample (${n}), but gave a tensor of shape [${out.shape}]`, {
      parameter: `${where} critic`, expected: `one value per sample (${n})`, received: `a tensor of shape [${out.shape}]`,
    });
  }
  const [g] = grad(out, x, { gradOutputs: tmp(onesLike(out)), createGraph: true, retainGraph: true });
  if (g === null) throw invalidArgument(`${where}: the critic's output does not depend on its input`, { parameter: `${where} critic`, expected: 'a critic whose output depends on its input', received: 'one whose output does not' });
  return tmp(g);
}

/** λ·mean((‖∇D(x̂)‖ − k)²) (or relu(‖·‖ − k)² one-sided) at the points x̂ (a leaf requiring grad). */
function penaltyAt(critic: Critic, xHat: Tensor, o: CoreOptions, where: string): PenaltyResult {
  const made: Tensor[] = [];
  const tmp = <T extends Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  try {
    const g = criticInputGradient(critic, xHat, where, tmp);
    // under autocast a reduced-precision input would give a reduced-precision gradient: the norm,
    // whose square root and (‖g‖ − k)² are where bf16 loses the penalty, is taken in float32
    const g32 = g.dtype === 'bfloat16' || g.dtype === 'float16' ? tmp(g.float()) : g;
    const norms = tmp(perSampleNorm(g32));
    const dev = tmp(norms.sub(o.k));
    const clipped = o.oneSided ? tmp(dev.relu()) : dev;
    const sq = tmp(clipped.square());
    const m = tmp(sq.mean());
    return penaltyResult(m.mul(o.lambda), norms.detach(), where);
  } finally {
    for (const t of made) t.dispose();
  }
}

function perSampleShape(x: Tensor): number[] {
  const s = x.shape;
  return [s[0], ...s.slice(1).map(() => 1)];
}

/** A per-sample coefficient ([N] or [N, 1, ...]) as [N, 1, ...] matching x. */
function perSampleCoefficient(name: string, c: unknown, x: Tensor): Tensor {
  if (!(c instanceof Tensor)) throw invalidParameterError(name, 'a Tensor with one value per sample', c);
  const n = x.shape[0];
  if (c.numel() !== n || c.shape[0] !== n) {
    throw invalidParameterError(name, `a Tensor of shape [${n}] or [${perSampleShape(x)}] (one value per sample)`, `a tensor of shape [${c.shape}]`);
  }
  return c.reshape(perSampleShape(x)).to({ dtype: x.dtype, device: x.device });
}

function checkLambdaK(where: string, lambda: unknown, k: unknown): void {
  if (!is.finite(lambda) || lambda < 0) throw invalidParameterError(`${where} options.lambda`, 'a non-negative number', lambda);
  if (!is.finite(k) || k < 0) throw invalidParameterError(`${where} options.k`, 'a non-negative number', k);
}

function checkBatch(name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw invalidParameterError(name, 'a Tensor (a batch)', x);
  if (x.ndim < 1 || x.shape[0] < 1) throw invalidParameterError(name, 'a batch with at least one sample', `a tensor of shape [${x.shape}]`);
}

// ---------------------------------------------------------------- WGAN-GP

export interface GradientPenaltyOptions {
  /** weight λ; default 10 */
  lambda?: number;
  /** the target norm; default 1 */
  k?: number;
  /** penalise only norms above k: mean(relu(‖g‖ − k)²); default false */
  oneSided?: boolean;
  /** the interpolation weights, one per sample ([N] or [N, 1, ...]); default U[0, 1) */
  eps?: Tensor;
  /** allow a critic that contains batch norm; default false (refused, see assertPenaltyCompatible) */
  allowBatchNormWithPenalty?: boolean;
}
const GP_KEYS = ['lambda', 'k', 'oneSided', 'eps', 'allowBatchNormWithPenalty'] as const;

/**
 * The WGAN-GP gradient penalty λ·E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1−ε)x̃, one ε ~ U[0,1) per
 * sample. `real` and `fake` are detached first (fake would otherwise drag the generator in).
 */
export function gradientPenalty(critic: Critic, real: Tensor, fake: Tensor, options: GradientPenaltyOptions = {}): PenaltyResult {
  const where = 'gradientPenalty()';
  checkOptionKeys(where, options, GP_KEYS);
  checkBatch('real', real);
  checkBatch('fake', fake);
  if (real.shape.join() !== fake.shape.join()) {
    throw invalidParameterError('fake', `a batch of the same shape as real ([${real.shape}])`, `a tensor of shape [${fake.shape}]`);
  }
  const lambda = options.lambda ?? 10;
  const k = options.k ?? 1;
  checkLambdaK(where, lambda, k);
  assertPenaltyCompatible(critic, where, options.allowBatchNormWithPenalty ?? false);
  const xHat = noGrad(() => {
    const r = real.detach();
    const f = fake.detach();
    const e = options.eps !== undefined ? perSampleCoefficient('options.eps', options.eps, real) : rand(perSampleShape(real), { dtype: real.dtype, device: real.device });
    const a = e.mul(r);
    const oneMinus = e.rsub(1);
    const b = oneMinus.mul(f);
    const x = a.add(b);
    for (const t of [r, f, e, a, oneMinus, b]) t.dispose();
    return x;
  });
  xHat.requiresGrad_(true);
  try {
    return penaltyAt(critic, xHat, { lambda, k, oneSided: options.oneSided ?? false }, where);
  } finally {
    xHat.dispose();
  }
}

// ---------------------------------------------------------------- DRAGAN

export interface DraganPenaltyOptions {
  /** weight λ; default 10 */
  lambda?: number;
  /** the target norm; default 1 */
  k?: number;
  /** the perturbation scale c in X_p = X + c·std(X)·u; default 0.5 (the authors') */
  noiseScale?: number;
  /**
   * false (default): the authors' notebook, u ~ U[0, 1), a perturbation with positive mean.
   * true: zero-mean u − 0.5 ~ U[−0.5, 0.5) (the paper's δ is symmetric).
   */
  symmetric?: boolean;
  /** the raw uniform draw u in [0, 1), shape of real; default rand */
  noise?: Tensor;
  /** the interpolation weights, one per sample; default U[0, 1) */
  alpha?: Tensor;
  /**
   * std(X) of the perturbation scale (a number or a one-element Tensor); default real.std(), the
   * unbiased std of the whole batch. Data-parallel training passes the global batch's.
   */
  std?: number | Tensor;
  /** penalise only norms above k; default false */
  oneSided?: boolean;
  allowBatchNormWithPenalty?: boolean;
}
const DRAGAN_KEYS = ['lambda', 'k', 'noiseScale', 'symmetric', 'noise', 'alpha', 'std', 'oneSided', 'allowBatchNormWithPenalty'] as const;

/**
 * DRAGAN's penalty, as the authors' notebook computes it: X_p = X + 0.5·std(X)·U[0,1) (std over
 * the whole batch, unbiased), one α ~ U[0,1) per sample, x̂ = αX + (1−α)X_p, then
 * λ·E[(‖∇D(x̂)‖₂ − k)²] with λ = 10, k = 1 and the norm per sample.
 */
export function draganPenalty(critic: Critic, real: Tensor, options: DraganPenaltyOptions = {}): PenaltyResult {
  const where = 'draganPenalty()';
  checkOptionKeys(where, options, DRAGAN_KEYS);
  checkBatch('real', real);
  const lambda = options.lambda ?? 10;
  const k = options.k ?? 1;
  checkLambdaK(where, lambda, k);
  const c = options.noiseScale ?? 0.5;
  if (!is.finite(c) || c < 0) throw invalidParameterError(`${where} options.noiseScale`, 'a non-negative number', c);
  if (options.noise !== undefined) {
    if (!(options.noise instanceof Tensor)) throw invalidParameterError(`${where} options.noise`, 'a Tensor', options.noise);
    if (options.noise.shape.join() !== real.shape.join()) {
      throw invalidParameterError(`${where} options.noise`, `a Tensor of the shape of real ([${real.shape}])`, `a tensor of shape [${options.noise.shape}]`);
    }
  }
  if (options.std !== undefined) {
    const s = options.std;
    const ok = s instanceof Tensor ? s.numel() === 1 : is.finite(s) && s >= 0;
    if (!ok) throw invalidParameterError(`${where} options.std`, 'a non-negative number or a one-element Tensor', s);
  }
  assertPenaltyCompatible(critic, where, options.allowBatchNormWithPenalty ?? false);
  const xHat = noGrad(() => {
    const made: Tensor[] = [];
    const tmp = <T extends Tensor>(t: T): T => {
      made.push(t);
      return t;
    };
    const x = tmp(real.detach());
    const u0 = options.noise !== undefined ? tmp(options.noise.to({ dtype: x.dtype, device: x.device })) : tmp(rand(x.shape, { dtype: x.dtype, device: x.device }));
    const u = options.symmetric ? tmp(u0.sub(0.5)) : u0;
    const given = options.std;
    const std = given === undefined ? tmp(x.std()) : given instanceof Tensor ? tmp(tmp(given.reshape([])).to({ dtype: x.dtype, device: x.device })) : tmp(tensor(given, { dtype: x.dtype, device: x.device }));
    const scaled = tmp(tmp(std.mul(c)).mul(u));
    const xp = tmp(x.add(scaled));
    const a = options.alpha !== undefined ? tmp(perSampleCoefficient('options.alpha', options.alpha, x)) : tmp(rand(perSampleShape(x), { dtype: x.dtype, device: x.device }));
    const out = tmp(a.mul(x)).add(tmp(tmp(a.rsub(1)).mul(xp)));
    for (const t of made) t.dispose();
    return out;
  });
  xHat.requiresGrad_(true);
  try {
    return penaltyAt(critic, xHat, { lambda, k, oneSided: options.oneSided ?? false }, where);
  } finally {
    xHat.dispose();
  }
}

// ---------------------------------------------------------------- R1 / R2 (zero-centred)

export interface ZeroCentredPenaltyOptions {
  /** γ in γ/2·E‖∇D(x)‖²; default 10 (Mescheder et al. 2018's CelebA/LSUN value; StyleGAN2 tunes it per dataset) */
  gamma?: number;
  /**
   * Lazy regularisation (Karras et al. 2020, StyleGAN2 §3.1): when the penalty is applied only
   * every `interval` critic steps, it is multiplied by `interval` so that its average strength
   * is unchanged. Default 1 (every step). Use isLazyRegularizationStep() to pick the steps and
   * lazyAdamHyperparameters() for StyleGAN2's matching optimizer correction.
   */
  interval?: number;
  allowBatchNormWithPenalty?: boolean;
}
const ZC_KEYS = ['gamma', 'interval', 'allowBatchNormWithPenalty'] as const;

/**
 * γ/2 · E[‖∇ₓD(x)‖²] · interval at the given samples, with no target norm (zero-centred) and no
 * square root (so no epsilon: the square is smooth at a zero gradient). The samples are
 * detached first, so the penalty reaches only the critic's weights (by double backward).
 */
function zeroCentredPenalty(critic: Critic, samples: Tensor, options: ZeroCentredPenaltyOptions, where: string): PenaltyResult {
  checkOptionKeys(where, options, ZC_KEYS);
  const gamma = options.gamma ?? 10;
  if (!is.finite(gamma) || gamma < 0) throw invalidParameterError(`${where} options.gamma`, 'a non-negative number', gamma);
  const interval = options.interval ?? 1;
  if (!is.positiveInteger(interval)) throw invalidParameterError(`${where} options.interval`, 'a positive integer (critic steps between applications)', interval);
  assertPenaltyCompatible(critic, where, options.allowBatchNormWithPenalty ?? false);
  const x = samples.detach();
  x.requiresGrad_(true);
  const made: Tensor[] = [x];
  const tmp = <T extends Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  try {
    const g = criticInputGradient(critic, x, where, tmp);
    const sq = tmp(tmp(tmp(g.reshape(x.shape[0], -1)).square()).sum(1));
    const penalty = tmp(sq.mean()).mul((gamma / 2) * interval);
    const gradNorms = noGrad(() => {
      const d = sq.detach();
      const r = d.sqrt();
      d.dispose();
      return r;
    });
    return penaltyResult(penalty, gradNorms, where);
  } finally {
    for (const t of made) t.dispose();
  }
}

/**
 * R1 (Mescheder et al. 2018, "Which training methods for GANs do actually converge?"):
 * γ/2 · E_x~data[‖∇D(x)‖²], the critic's gradient pushed to zero at the real samples, which
 * makes the GAN game locally convergent. Times options.interval for lazy regularisation.
 * gradNorms are the per-sample ‖∇D(x)‖ (not squared), detached.
 */
export function r1Penalty(critic: Critic, real: Tensor, options: ZeroCentredPenaltyOptions = {}): PenaltyResult {
  checkBatch('real', real);
  return zeroCentredPenalty(critic, real, options, 'r1Penalty()');
}

/** R2: the same zero-centred penalty at generated samples, γ/2 · E_z[‖∇D(G(z))‖²] (fake is detached). */
export function r2Penalty(critic: Critic, fake: Tensor, options: ZeroCentredPenaltyOptions = {}): PenaltyResult {
  checkBatch('fake', fake);
  return zeroCentredPenalty(critic, fake, options, 'r2Penalty()');
}

/** Whether a lazily regularised penalty is due at critic step `step` (0-based): step % interval === 0. */
export function isLazyRegularizationStep(step: number, interval: number): boolean {
  if (!is.nonNegativeInteger(step)) throw invalidParameterError('step', 'a non-negative integer', step);
  if (!is.positiveInteger(interval)) throw invalidParameterError('interval', 'a positive integer', interval);
  return step % interval === 0;
}

/**
 * StyleGAN2's optimizer correction for lazy regularisation: with the penalty applied every k
 * steps, one of k + 1 minibatch passes is the penalty's, so the learning rate is scaled by
 * c = k / (k + 1) and each β by β^c (training/networks.py, `mb_ratio`). Returns the corrected
 * { lr, betas } for Adam; interval 1 is returned unchanged.
 */
export function lazyAdamHyperparameters(lr: number, betas: [number, number], interval: number): { lr: number; betas: [number, number] } {
  if (!is.finite(lr) || lr <= 0) throw invalidParameterError('lr', 'a positive number', lr);
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => is.finite(b) && b >= 0 && b < 1)) {
    throw invalidParameterError('betas', 'a pair of numbers in [0, 1)', betas);
  }
  if (!is.positiveInteger(interval)) throw invalidParameterError('interval', 'a positive integer', interval);
  if (interval === 1) return { lr, betas: [betas[0], betas[1]] };
  const c = interval / (interval + 1);
  return { lr: lr * c, betas: [betas[0] ** c, betas[1] ** c] };
}

// ---------------------------------------------------------------- WGAN weight clipping

type ParamSource = Tensor[] | { parameters(): Tensor[] | Iterable<Tensor> };

function paramList(params: ParamSource): Tensor[] {
  if (Array.isArray(params)) return params;
  if (params !== null && typeof params === 'object' && typeof (params as { parameters?: unknown }).parameters === 'function') {
    return [...(params as { parameters(): Iterable<Tensor> }).parameters()];
  }
  throw invalidParameterError('params', 'an array of Tensors or a module with parameters()', params);
}

/** WGAN's weight clipping: clamps every parameter into [lower, upper] in place (no grad). Default ±0.01. */
export function clipWeights_(params: ParamSource, lower = -0.01, upper = 0.01): void {
  if (!is.finite(lower)) throw invalidParameterError('lower', 'a finite number', lower);
  if (!is.finite(upper)) throw invalidParameterError('upper', 'a finite number', upper);
  if (!(lower <= upper)) throw invalidParameterError('lower', `a number no greater than upper (${upper})`, lower);
  const list = paramList(params);
  noGrad(() => {
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw invalidParameterError(`params[${i}]`, 'a Tensor', p);
      p.clamp_(lower, upper);
    });
  });
}
