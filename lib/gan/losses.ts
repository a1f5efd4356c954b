// GAN losses, all taking the critic's raw outputs (logits / scores, never
// probabilities): a sigmoid followed by log is what overflows, so the BCE losses go
// through binary_cross_entropy_with_logits (log-sum-exp stable for any logit).
//
//   kind        critic / discriminator loss                      generator loss
//   'gan'       BCE(D(x),1) + BCE(D(G(z)),0)                      BCE(D(G(z)),1)          (non-saturating, Goodfellow et al. §3)
//   'minimax'   same                                              -BCE(D(G(z)),0) = E[log(1 - σ(D(G(z))))]
//   'wgan'      E[D(G(z))] - E[D(x)]                              -E[D(G(z))]
//   'hinge'     E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]          -E[D(G(z))]
//   'lsgan'     ½E[(D(x) - 1)²] + ½E[D(G(z))²]                    ½E[(D(G(z)) - 1)²]      (Mao et al. 2017, eq. 9: a=0, b=c=1)
//
// Each function returns one scalar tensor and frees its intermediates itself, so it
// does not depend on being called inside tidy().
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { onesLike, zerosLike, fullLike } from '../tensor/creation';
import { binaryCrossEntropyWithLogits, crossEntropy } from '../nn/functional';

function checkTensor(name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw invalidParameterError(name, 'a Tensor', t);
}

/** Runs fn with a scratch list; every tensor pushed to it is disposed afterwards. */
function scratch<T>(fn: (tmp: <U extends Tensor>(t: U) => U) => T): T {
  const made: Tensor[] = [];
  try {
    return fn((t) => {
      made.push(t);
      return t;
    });
  } finally {
    for (const t of made) t.dispose();
  }
}

/** mean BCE of logits against a constant target, stable for any logit. */
export function bceWithLogitsConst(logits: Tensor, target: number): Tensor {
  checkTensor('logits', logits);
  return scratch((tmp) => {
    const y = tmp(target === 1 ? onesLike(logits) : target === 0 ? zerosLike(logits) : fullLike(logits, target));
    return binaryCrossEntropyWithLogits(logits, y);
  });
}

export interface BceLossOptions {
  /** target for real samples (one-sided label smoothing: 0.9); default 1 */
  realLabel?: number;
}

/** Discriminator loss of the standard GAN: BCE(D(x), 1) + BCE(D(G(z)), 0), from logits. */
export function bceDiscriminatorLoss(realLogits: Tensor, fakeLogits: Tensor, options: BceLossOptions = {}): Tensor {
  checkTensor('realLogits', realLogits);
  checkTensor('fakeLogits', fakeLogits);
  const realLabel = options.realLabel ?? 1;
  if (!is.inRange(realLabel, 0, 1)) throw invalidParameterError('realLabel', 'a number in [0, 1]', realLabel);
  return scratch((tmp) => tmp(bceWithLogitsConst(realLogits, realLabel)).add(tmp(bceWithLogitsConst(fakeLogits, 0))));
}

/** Non-saturating generator loss: BCE(D(G(z)), 1) = E[softplus(-D(G(z)))]. */
export function nonSaturatingGeneratorLoss(fakeLogits: Tensor): Tensor {
  checkTensor('fakeLogits', fakeLogits);
  return bceWithLogitsConst(fakeLogits, 1);
}

/**
 * The original minimax generator loss: minimise E[log(1 - σ(D(G(z))))] = -BCE(D(G(z)), 0).
 * Its gradient vanishes when D rejects the fakes confidently; prefer the non-saturating form.
 */
export function minimaxGeneratorLoss(fakeLogits: Tensor): Tensor {
  checkTensor('fakeLogits', fakeLogits);
  return scratch((tmp) => tmp(bceWithLogitsConst(fakeLogits, 0)).neg());
}

/** Wasserstein critic loss: E[D(G(z))] - E[D(x)] (the critic minimises it; -loss estimates W). */
export function wassersteinCriticLoss(realScores: Tensor, fakeScores: Tensor): Tensor {
  checkTensor('realScores', realScores);
  checkTensor('fakeScores', fakeScores);
  return scratch((tmp) => tmp(fakeScores.mean()).sub(tmp(realScores.mean())));
}

/** Wasserstein generator loss: -E[D(G(z))]. */
export function wassersteinGeneratorLoss(fakeScores: Tensor): Tensor {
  checkTensor('fakeScores', fakeScores);
  return scratch((tmp) => tmp(fakeScores.mean()).neg());
}

/** Hinge discriminator loss: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]. */
export function hingeDiscriminatorLoss(realScores: Tensor, fakeScores: Tensor): Tensor {
  checkTensor('realScores', realScores);
  checkTensor('fakeScores', fakeScores);
  return scratch((tmp) => {
    const r = tmp(tmp(tmp(realScores.rsub(1)).relu()).mean());
    const f = tmp(tmp(tmp(fakeScores.add(1)).relu()).mean());
    return r.add(f);
  });
}

/** Hinge generator loss: -E[D(G(z))]. */
export const hingeGeneratorLoss = wassersteinGeneratorLoss;

export interface LeastSquaresLossOptions {
  /** the target a critic gives fakes (a in Mao et al.'s a-b-c coding); default 0 */
  fakeTarget?: number;
  /** the target a critic gives reals (b); default 1 */
  realTarget?: number;
}

export interface LeastSquaresGeneratorLossOptions {
  /** the value the generator wants the critic to believe for fakes (c); default 1 */
  target?: number;
}

function finiteTarget(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!is.finite(v)) throw invalidParameterError(name, 'a finite number', v);
  return v;
}

/** ½·mean((s - t)²); the scores are raw critic outputs (no sigmoid: the loss is on the scores themselves). */
function halfMeanSquaredDistance(scores: Tensor, target: number): Tensor {
  return scratch((tmp) => {
    const d = target === 0 ? scores : tmp(scores.sub(target));
    return tmp(tmp(d.square()).mean()).mul(0.5);
  });
}

/**
 * Least-squares critic loss (LSGAN, Mao et al. 2017, eq. 2): ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²],
 * with the paper's 0-1 coding a = 0, b = 1 by default (eq. 9). The critic's outputs are used
 * as they are, without a sigmoid: the squared distance from the target is what penalises
 * fakes that lie far on the right side of the decision boundary, the paper's reason for it.
 */
export function leastSquaresCriticLoss(realScores: Tensor, fakeScores: Tensor, options: LeastSquaresLossOptions = {}): Tensor {
  checkTensor('realScores', realScores);
  checkTensor('fakeScores', fakeScores);
  checkOptionKeys('leastSquaresCriticLoss()', options, ['fakeTarget', 'realTarget']);
  const a = finiteTarget('options.fakeTarget', options.fakeTarget, 0);
  const b = finiteTarget('options.realTarget', options.realTarget, 1);
  return scratch((tmp) => tmp(halfMeanSquaredDistance(realScores, b)).add(tmp(halfMeanSquaredDistance(fakeScores, a))));
}

/** Least-squares generator loss (LSGAN): ½E[(D(G(z)) − c)²], c = 1 by default. */
export function leastSquaresGeneratorLoss(fakeScores: Tensor, options: LeastSquaresGeneratorLossOptions = {}): Tensor {
  checkTensor('fakeScores', fakeScores);
  checkOptionKeys('leastSquaresGeneratorLoss()', options, ['target']);
  return halfMeanSquaredDistance(fakeScores, finiteTarget('options.target', options.target, 1));
}

/**
 * AC-GAN's auxiliary classification loss (Odena et al. 2017): the mean cross-entropy of the
 * critic's class logits [N, K] against the labels [N] (int64). Both players want the class to be
 * recognisable: the critic minimises its adversarial loss + this on reals (true labels) and on
 * fakes (the labels they were generated for); the generator its adversarial loss + this on fakes.
 */
export function auxiliaryClassifierLoss(classLogits: Tensor, labels: Tensor): Tensor {
  checkTensor('classLogits', classLogits);
  checkTensor('labels', labels);
  if (classLogits.ndim !== 2) throw invalidParameterError('classLogits', 'a Tensor [N, numClasses]', `a tensor of shape [${classLogits.shape}]`);
  if (labels.dtype !== 'int64') throw invalidParameterError('labels', 'an int64 Tensor of class indices', `a ${labels.dtype} tensor`);
  if (labels.ndim !== 1 || labels.shape[0] !== classLogits.shape[0]) {
    throw invalidParameterError('labels', `a Tensor of shape [${classLogits.shape[0]}]`, `a tensor of shape [${labels.shape}]`);
  }
  return crossEntropy(classLogits, labels);
}

export type LossKind = 'gan' | 'minimax' | 'wgan' | 'hinge' | 'lsgan';
export const LOSS_KINDS: readonly LossKind[] = ['gan', 'minimax', 'wgan', 'hinge', 'lsgan'];

export interface LossPair {
  /** the loss the critic/discriminator minimises, from its outputs on real and fake batches */
  critic(real: Tensor, fake: Tensor): Tensor;
  /** the loss the generator minimises, from the critic's outputs on fakes */
  generator(fake: Tensor): Tensor;
}

/** The (critic, generator) loss pair of a kind. */
export function ganLoss(kind: LossKind): LossPair {
  switch (kind) {
    case 'gan':
      return { critic: (r, f) => bceDiscriminatorLoss(r, f), generator: nonSaturatingGeneratorLoss };
    case 'minimax':
      return { critic: (r, f) => bceDiscriminatorLoss(r, f), generator: minimaxGeneratorLoss };
    case 'wgan':
      return { critic: wassersteinCriticLoss, generator: wassersteinGeneratorLoss };
    case 'hinge':
      return { critic: hingeDiscriminatorLoss, generator: hingeGeneratorLoss };
    case 'lsgan':
      return { critic: (r, f) => leastSquaresCriticLoss(r, f), generator: (f) => leastSquaresGeneratorLoss(f) };
    default:
      throw invalidParameterError('kind', `one of ${LOSS_KINDS.map((k) => `'${k}'`).join(', ')}`, kind);
  }
}
