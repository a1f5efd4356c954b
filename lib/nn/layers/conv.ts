// 2-D convolution and transposed convolution (zero padding).
import { invalidParameterError } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { empty } from '../../tensor/creation';
import * as F from '../functional';
import { Module, pyTuple } from '../module';
import { defaultLayerInit_, InitRole } from '../init';
import { bool, factory, FACTORY_KEYS, FactoryOptions, options, pair, Pair, positiveInt } from './util';

export interface Conv2dOptions extends FactoryOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** add a learned bias (default true) */
  bias?: boolean;
}
export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** extra rows/columns added to one side of the output (< stride or < dilation) */
  outputPadding?: Pair;
}

abstract class ConvNd extends Module {
  static readonly initRole: InitRole = 'weight';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly outputPadding: [number, number];
  readonly groups: number;

  protected constructor(where: string, transposed: boolean, inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dOptions | undefined) {
    super();
    const keys = ['stride', 'padding', 'dilation', 'groups', 'bias', ...FACTORY_KEYS];
    const o = options(where, opts, transposed ? [...keys, 'outputPadding'] : keys);
    this.inChannels = positiveInt('inChannels', inChannels);
    this.outChannels = positiveInt('outChannels', outChannels);
    this.kernelSize = pair('kernelSize', kernelSize, 1, true);
    this.stride = pair('options.stride', o.stride, 1, true);
    this.padding = pair('options.padding', o.padding, 0, false);
    this.dilation = pair('options.dilation', o.dilation, 1, true);
    this.outputPadding = pair('options.outputPadding', o.outputPadding, 0, false);
    this.groups = positiveInt('options.groups', o.groups ?? 1);
    if (inChannels % this.groups !== 0) throw invalidParameterError('inChannels', `a multiple of groups (${this.groups})`, inChannels);
    if (outChannels % this.groups !== 0) throw invalidParameterError('outChannels', `a multiple of groups (${this.groups})`, outChannels);
    for (const i of [0, 1]) {
      if (this.outputPadding[i] >= Math.max(this.stride[i], this.dilation[i])) {
        throw invalidParameterError('options.outputPadding', 'values smaller than stride or dilation', o.outputPadding);
      }
    }
    const f = factory(where, o);
    const [kh, kw] = this.kernelSize;
    const shape = transposed ? [inChannels, outChannels / this.groups, kh, kw] : [outChannels, inChannels / this.groups, kh, kw];
    const w = this.registerParameter('weight', empty(shape, f));
    const b = this.registerParameter('bias', bool('options.bias', o.bias, true) ? empty([outChannels], f) : null);
    // torch computes fan_in from the weight as size(1) * kh * kw, for transposed convolutions too
    defaultLayerInit_(w, b);
  }
  get weight(): Tensor { return this.param('weight'); }
  get bias(): Tensor | null { return this.paramOrNull('bias'); }

  override extraRepr(): string {
    const t = (v: number[]) => pyTuple(v);
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${t(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${t(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

/** 2-D convolution over NCHW (or CHW) input; weight [out, in/groups, kh, kw] (torch.nn.Conv2d). */
export class Conv2d extends ConvNd {
  static readonly perSample = true;
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts?: Conv2dOptions) {
    super('Conv2d()', false, inChannels, outChannels, kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/**
 * 2-D transposed convolution ("deconvolution"); weight [in, out/groups, kh, kw]
 * (torch.nn.ConvTranspose2d). Output size: (H-1)*stride - 2*padding + dilation*(k-1) + outputPadding + 1.
 */
export class ConvTranspose2d extends ConvNd {
  static readonly perSample = true;
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts?: ConvTranspose2dOptions) {
    super('ConvTranspose2d()', true, inChannels, outChannels, kernelSize, opts);
  }
  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }
}
