// Linear (fully connected) layer.
import { Tensor } from '../../tensor/tensor';
import { empty } from '../../tensor/creation';
import * as F from '../functional';
import { Module, pyBool } from '../module';
import { defaultLayerInit_, InitRole } from '../init';
import { bool, factory, FACTORY_KEYS, FactoryOptions, options, positiveInt } from './util';

export interface LinearOptions extends FactoryOptions {
  /** add a learned bias (default true) */
  bias?: boolean;
}

/** y = x Wᵀ + b, W: [outFeatures, inFeatures] (torch.nn.Linear). */
export class Linear extends Module {
  static readonly perSample = true;
  static readonly initRole: InitRole = 'weight';
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts?: LinearOptions) {
    super();
    const o = options('Linear()', opts, ['bias', ...FACTORY_KEYS]);
    this.inFeatures = positiveInt('inFeatures', inFeatures);
    this.outFeatures = positiveInt('outFeatures', outFeatures);
    const f = factory('Linear()', o);
    const w = this.registerParameter('weight', empty([outFeatures, inFeatures], f));
    const b = this.registerParameter('bias', bool('options.bias', o.bias, true) ? empty([outFeatures], f) : null);
    defaultLayerInit_(w, b);
  }
  get weight(): Tensor { return this.param('weight'); }
  get bias(): Tensor | null { return this.paramOrNull('bias'); }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}
