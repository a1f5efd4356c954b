// RMSprop, with the update math of torch.optim.RMSprop 1.13 (single-tensor path).
import { checkOptionKeys } from '../errors';
import { Tensor } from '../tensor/tensor';
import { zerosLike } from '../tensor/creation';
import { keep } from '../tensor/scope';
import { checkBool, checkLr, checkNonNegative, Optimizer, ParamGroup, ParamsInput } from './optimizer';

export interface RMSpropOptions {
  /** learning rate (default 1e-2) */
  lr?: number;
  /** smoothing constant of the squared-gradient average (default 0.99) */
  alpha?: number;
  /** added to the denominator (default 1e-8) */
  eps?: number;
  /** L2 penalty added to the gradient (default 0) */
  weightDecay?: number;
  /** momentum factor (default 0) */
  momentum?: number;
  /** normalise by an estimate of the gradient's variance (default false) */
  centered?: boolean;
  /** maximise the objective instead (default false) */
  maximize?: boolean;
}
export type RMSpropHyper = Required<RMSpropOptions>;
const KEYS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize'];

/**
 * new RMSprop(critic.parameters(), { lr: 5e-5 }) (WGAN's choice).
 * State per parameter: step, squareAvg (and momentumBuffer with momentum > 0, gradAvg when centered).
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: ParamsInput<RMSpropHyper>, options: RMSpropOptions = {}) {
    checkOptionKeys('RMSprop()', options, KEYS);
    super(params, {
      lr: options.lr ?? 1e-2,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
      maximize: options.maximize ?? false,
    });
  }

  // momentumBuffer and gradAvg are made on demand
  protected override requiredState(): string[] {
    return ['squareAvg'];
  }

  protected validateHyper(where: string, h: Partial<RMSpropHyper>): void {
    checkLr(where, h.lr);
    checkNonNegative(where, 'alpha', h.alpha);
    checkNonNegative(where, 'eps', h.eps);
    checkNonNegative(where, 'weightDecay', h.weightDecay);
    checkNonNegative(where, 'momentum', h.momentum);
    checkBool(where, 'centered', h.centered);
    checkBool(where, 'maximize', h.maximize);
  }

  protected updateGroup(group: ParamGroup<RMSpropHyper>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const p of group.params) {
      const g0 = p.grad;
      if (g0 === null) continue;
      const s = this.stateOf(p, () => ({
        squareAvg: zerosLike(p),
        momentumBuffer: momentum > 0 ? zerosLike(p) : null,
        gradAvg: centered ? zerosLike(p) : null,
      }));
      s.step += 1;
      let grad = maximize ? g0.neg() : g0;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const squareAvg = s.squareAvg as Tensor;
      squareAvg.mul_(alpha).addcmul_(grad, grad, 1 - alpha);
      let avg: Tensor;
      if (centered) {
        let gradAvg = s.gradAvg as Tensor | null | undefined;
        if (!gradAvg) s.gradAvg = gradAvg = keep(zerosLike(p));
        gradAvg.mul_(alpha).add_(grad, 1 - alpha);
        avg = squareAvg.clone().addcmul_(gradAvg, gradAvg, -1).sqrt_();
      } else {
        avg = squareAvg.sqrt();
      }
      avg.add_(eps);
      if (momentum > 0) {
        let buf = s.momentumBuffer as Tensor | null | undefined;
        if (!buf) s.momentumBuffer = buf = keep(zerosLike(p));
        buf.mul_(momentum).addcdiv_(grad, avg);
        p.add_(buf, -lr);
      } else {
        p.addcdiv_(grad, avg, -lr);
      }
    }
  }
}
