// SGD with momentum, dampening, Nesterov and weight decay, with the update math
// of torch.optim.SGD 1.13 (single-tensor path).
import { checkOptionKeys, invalidArgument, invalidParameterError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { checkBool, checkLr, checkNonNegative, Optimizer, ParamGroup, ParamsInput } from './optimizer';

export interface SGDOptions {
  /** learning rate (required) */
  lr: number;
  /** momentum factor (default 0) */
  momentum?: number;
  /** dampening of the momentum (default 0) */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0) */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0) */
  nesterov?: boolean;
  /** maximise the objective instead (default false) */
  maximize?: boolean;
}
export type SGDHyper = Required<SGDOptions>;
const KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'];

/** new SGD(params, { lr: 0.1, momentum: 0.9 }). State per parameter: step, momentumBuffer (after the first step with momentum). */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput<SGDHyper>, options: SGDOptions) {
    checkOptionKeys('SGD()', options, KEYS);
    if (options === undefined || options.lr === undefined) throw invalidParameterError('SGD() options.lr', 'a learning rate (required)', undefined);
    super(params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected validateHyper(where: string, h: Partial<SGDHyper>): void {
    checkLr(where, h.lr);
    checkNonNegative(where, 'momentum', h.momentum);
    checkNonNegative(where, 'dampening', h.dampening);
    checkNonNegative(where, 'weightDecay', h.weightDecay);
    checkBool(where, 'nesterov', h.nesterov);
    checkBool(where, 'maximize', h.maximize);
    if (h.nesterov && (h.momentum! <= 0 || h.dampening !== 0)) {
      throw invalidArgument(`${where}: Nesterov momentum requires a momentum and zero dampening`, {
        parameter: `${where} nesterov`, expected: 'momentum > 0 and dampening 0 with nesterov', received: `momentum ${h.momentum}, dampening ${h.dampening}`,
      });
    }
  }

  protected updateGroup(group: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      const g0 = p.grad;
      if (g0 === null) continue;
      const s = this.stateOf(p, () => ({ momentumBuffer: null }));
      s.step += 1;
      let d = maximize ? g0.neg() : g0;
      if (weightDecay !== 0) d = d.add(p, weightDecay);
      if (momentum !== 0) {
        let buf = s.momentumBuffer as Tensor | null | undefined;
        if (!buf) s.momentumBuffer = buf = keep(d.clone());
        else buf.mul_(momentum).add_(d, 1 - dampening);
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
  }
}
