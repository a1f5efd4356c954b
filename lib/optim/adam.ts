// Adam (Kingma & Ba), with the update math of torch.optim.Adam 1.13
// (single-tensor path): L2 weight decay added to the gradient, optional AMSGrad.
import { checkOptionKeys, invalidParameterError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { zerosLike } from '../tensor/creation';
import { keep } from '../tensor/scope';
import { checkBool, checkLr, checkNonNegative, checkUnit, Optimizer, ParamGroup, ParamsInput } from './optimizer';

export interface AdamOptions {
  /** learning rate (default 1e-3) */
  lr?: number;
  /** decay rates of the gradient's running mean and square (default [0.9, 0.999]) */
  betas?: [number, number];
  /** added to the denominator (default 1e-8) */
  eps?: number;
  /** L2 penalty added to the gradient (default 0) */
  weightDecay?: number;
  /** use the maximum of past squared-gradient averages (default false) */
  amsgrad?: boolean;
  /** maximise the objective instead (default false) */
  maximize?: boolean;
}
export type AdamHyper = Required<AdamOptions>;
const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'];

/**
 * new Adam(model.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }).
 * State per parameter: step, expAvg, expAvgSq (and maxExpAvgSq with amsgrad).
 */
export class Adam extends Optimizer<AdamHyper> {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    checkOptionKeys('Adam()', options, KEYS);
    super(params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      amsgrad: options.amsgrad ?? false,
      maximize: options.maximize ?? false,
    });
  }

  // maxExpAvgSq is made on demand
  protected override requiredState(): string[] {
    return ['expAvg', 'expAvgSq'];
  }

  protected validateHyper(where: string, h: Partial<AdamHyper>): void {
    checkLr(where, h.lr);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) throw invalidParameterError(`${where} betas`, 'a pair [beta1, beta2]', h.betas);
    checkUnit(where, 'betas[0]', h.betas[0]);
    checkUnit(where, 'betas[1]', h.betas[1]);
    checkNonNegative(where, 'eps', h.eps);
    checkNonNegative(where, 'weightDecay', h.weightDecay);
    checkBool(where, 'amsgrad', h.amsgrad);
    checkBool(where, 'maximize', h.maximize);
  }

  protected updateGroup(group: ParamGroup<AdamHyper>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      const g0 = p.grad;
      if (g0 === null) continue;
      const s = this.stateOf(p, () => ({
        expAvg: zerosLike(p),
        expAvgSq: zerosLike(p),
        maxExpAvgSq: amsgrad ? zerosLike(p) : null,
      }));
      const expAvg = s.expAvg as Tensor;
      const expAvgSq = s.expAvgSq as Tensor;
      let grad = maximize ? g0.neg() : g0;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      s.step += 1;
      expAvg.mul_(beta1).add_(grad, 1 - beta1);
      expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const biasCorrection1 = 1 - beta1 ** s.step;
      const biasCorrection2 = 1 - beta2 ** s.step;
      const stepSize = lr / biasCorrection1;
      const bc2Sqrt = Math.sqrt(biasCorrection2);
      let denom: Tensor;
      if (amsgrad) {
        let maxSq = s.maxExpAvgSq as Tensor | null | undefined;
        if (!maxSq) s.maxExpAvgSq = maxSq = keep(zerosLike(p));
        maxSq.maximum_(expAvgSq);
        denom = maxSq.sqrt().div_(bc2Sqrt).add_(eps);
      } else {
        denom = expAvgSq.sqrt().div_(bc2Sqrt).add_(eps);
      }
      p.addcdiv_(expAvg, denom, -stepSize);
    }
  }
}
