// Activation layers.
import { invalidParameterError, is } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { Module, pyFloat } from '../module';

/** max(0, x) (torch.nn.ReLU) */
export class ReLU extends Module {
  static readonly perSample = true;
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** x for x >= 0, negativeSlope * x otherwise (torch.nn.LeakyReLU; default slope 0.01). */
export class LeakyReLU extends Module {
  static readonly perSample = true;
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01) {
    super();
    if (!is.finite(negativeSlope)) throw invalidParameterError('negativeSlope', 'a finite number', negativeSlope);
    this.negativeSlope = negativeSlope;
  }
  forward(x: Tensor): Tensor { return x.leakyRelu(this.negativeSlope); }
  override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}`; }
}

/** (torch.nn.Tanh) */
export class Tanh extends Module {
  static readonly perSample = true;
  forward(x: Tensor): Tensor { return x.tanh(); }
}

/** (torch.nn.Sigmoid) */
export class Sigmoid extends Module {
  static readonly perSample = true;
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

/** The identity (torch.nn.Identity): returns its input as a new handle. */
export class Identity extends Module {
  static readonly perSample = true;
  forward(x: Tensor): Tensor { return x.index(); }
}
