// Normalisation layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, GroupNorm.
import { describe, invalidArgument, invalidParameterError, is } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { ones, zeros } from '../../tensor/creation';
import { noGrad } from '../../autograd';
import * as F from '../functional';
import { Module, pyBool, pyFloat, pyTuple } from '../module';
import { InitRole } from '../init';
import { bool, factory, FACTORY_KEYS, FactoryOptions, options, positiveInt, positiveNumber, expectDims } from './util';

export interface NormOptions extends FactoryOptions {
  /** added to the variance (default 1e-5) */
  eps?: number;
  /** running-statistics update factor (default 0.1); null for a cumulative average (BatchNorm only) */
  momentum?: number | null;
  /** learned per-channel weight and bias */
  affine?: boolean;
  /** keep running mean/variance (used in eval mode) */
  trackRunningStats?: boolean;
}
const NORM_KEYS = ['eps', 'momentum', 'affine', 'trackRunningStats', ...FACTORY_KEYS];

/** Shared by BatchNorm and InstanceNorm (PyTorch's _NormBase). */
abstract class NormBase extends Module {
  static readonly initRole: InitRole = 'norm';
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  protected constructor(where: string, numFeatures: number, opts: NormOptions | undefined, dflt: { affine: boolean; track: boolean }) {
    super();
    const o = options(where, opts, NORM_KEYS);
    this.numFeatures = positiveInt('numFeatures', numFeatures);
    this.eps = positiveNumber('options.eps', o.eps, 1e-5);
    const m = o.momentum === undefined ? 0.1 : o.momentum;
    if (m !== null && !is.inRange(m, 0, 1)) throw invalidParameterError('options.momentum', 'a number in [0, 1] or null', m);
    this.momentum = m;
    this.affine = bool('options.affine', o.affine, dflt.affine);
    this.trackRunningStats = bool('options.trackRunningStats', o.trackRunningStats, dflt.track);
    const f = factory(where, o);
    this.registerParameter('weight', this.affine ? ones([numFeatures], f) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures], f) : null);
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], f) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], f) : null);
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? zeros([], { dtype: 'int64', device: f.device }) : null);
  }
  get weight(): Tensor | null { return this.paramOrNull('weight'); }
  get bias(): Tensor | null { return this.paramOrNull('bias'); }
  get runningMean(): Tensor | null { return this.bufferOrNull('running_mean'); }
  get runningVar(): Tensor | null { return this.bufferOrNull('running_var'); }
  get numBatchesTracked(): Tensor | null { return this.bufferOrNull('num_batches_tracked'); }

  /** Running mean 0, variance 1, count 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

abstract class BatchNormBase extends NormBase {
  protected abstract readonly dims: number[];
  constructor(where: string, numFeatures: number, opts?: NormOptions) {
    super(where, numFeatures, opts, { affine: true, track: true });
  }
  forward(x: Tensor): Tensor {
    expectDims(this.typeName, x.shape, this.dims);
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt !== null) {
      noGrad(() => nbt.add_(1));
      if (this.momentum === null) factor = 1 / nbt.item();
    }
    const rm = this.runningMean;
    const rv = this.runningVar;
    const useBatchStats = this.training || (rm === null && rv === null);
    const passStats = !this.training || this.trackRunningStats;
    return F.batchNorm(x, passStats ? rm : null, passStats ? rv : null, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps,
    });
  }
}

/**
 * Batch normalisation over (N, C) or (N, C, L) input (torch.nn.BatchNorm1d).
 * In training mode it normalises with batch statistics and updates the running
 * mean/variance in place (unbiased variance) and num_batches_tracked.
 */
export class BatchNorm1d extends BatchNormBase {
  protected readonly dims = [2, 3];
  constructor(numFeatures: number, opts?: NormOptions) {
    super('BatchNorm1d()', numFeatures, opts);
  }
}

/** Batch normalisation over (N, C, H, W) input (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected readonly dims = [4];
  constructor(numFeatures: number, opts?: NormOptions) {
    super('BatchNorm2d()', numFeatures, opts);
  }
}

/**
 * Instance normalisation over (N, C, H, W) or (C, H, W) input
 * (torch.nn.InstanceNorm2d). Defaults as PyTorch: affine=false,
 * trackRunningStats=false.
 */
export class InstanceNorm2d extends NormBase {
  static readonly perSample = true;
  constructor(numFeatures: number, opts?: NormOptions) {
    super('InstanceNorm2d()', numFeatures, opts, { affine: false, track: false });
    if (this.momentum === null) throw invalidParameterError('options.momentum', 'a number in [0, 1] (InstanceNorm has no cumulative average)', null);
  }
  forward(x: Tensor): Tensor {
    const shape = x.shape;
    expectDims('InstanceNorm2d', shape, [3, 4]);
    const c = shape[shape.length - 3];
    if (this.affine && c !== this.numFeatures) {
      throw invalidArgument(`InstanceNorm2d: expected input with ${this.numFeatures} channels (dim ${shape.length - 3}), got shape [${shape.join(', ')}]`, {
        parameter: 'input', expected: `${this.numFeatures} channels`, received: describe(x),
      });
    }
    const apply = (t: Tensor) =>
      F.instanceNorm(t, {
        weight: this.weight, bias: this.bias, runningMean: this.runningMean, runningVar: this.runningVar,
        useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum ?? 0.1, eps: this.eps,
      });
    if (shape.length === 3) {
      const b = x.unsqueeze(0);
      const y = apply(b);
      const out = y.squeeze(0);
      b.dispose();
      y.dispose();
      return out;
    }
    return apply(x);
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** learned weight and bias of normalizedShape (default true) */
  elementwiseAffine?: boolean;
}

/** Normalises over the last dims given by normalizedShape (torch.nn.LayerNorm). */
export class LayerNorm extends Module {
  static readonly perSample = true;
  static readonly initRole: InitRole = 'norm';
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | number[], opts?: LayerNormOptions) {
    super();
    const o = options('LayerNorm()', opts, ['eps', 'elementwiseAffine', ...FACTORY_KEYS]);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => is.positiveInteger(d))) {
      throw invalidParameterError('normalizedShape', 'a positive integer or a non-empty array of them', normalizedShape);
    }
    this.normalizedShape = [...shape];
    this.eps = positiveNumber('options.eps', o.eps, 1e-5);
    this.elementwiseAffine = bool('options.elementwiseAffine', o.elementwiseAffine, true);
    const f = factory('LayerNorm()', o);
    this.registerParameter('weight', this.elementwiseAffine ? ones(shape, f) : null);
    this.registerParameter('bias', this.elementwiseAffine ? zeros(shape, f) : null);
  }
  get weight(): Tensor | null { return this.paramOrNull('weight'); }
  get bias(): Tensor | null { return this.paramOrNull('bias'); }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    const n = this.normalizedShape.length;
    if (s.length < n || this.normalizedShape.some((d, i) => s[s.length - n + i] !== d)) {
      throw invalidArgument(`LayerNorm: input of shape [${s.join(', ')}] does not end in normalizedShape [${this.normalizedShape.join(', ')}]`, {
        parameter: 'input', expected: `a shape ending in [${this.normalizedShape.join(', ')}]`, received: describe(x),
      });
    }
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  /** learned per-channel weight and bias (default true) */
  affine?: boolean;
}

/** Normalises over groups of channels (torch.nn.GroupNorm); input (N, C, *). */
export class GroupNorm extends Module {
  static readonly perSample = true;
  static readonly initRole: InitRole = 'norm';
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  constructor(numGroups: number, numChannels: number, opts?: GroupNormOptions) {
    super();
    const o = options('GroupNorm()', opts, ['eps', 'affine', ...FACTORY_KEYS]);
    this.numGroups = positiveInt('numGroups', numGroups);
    this.numChannels = positiveInt('numChannels', numChannels);
    if (numChannels % numGroups !== 0) throw invalidParameterError('numChannels', `a multiple of numGroups (${numGroups})`, numChannels);
    this.eps = positiveNumber('options.eps', o.eps, 1e-5);
    this.affine = bool('options.affine', o.affine, true);
    const f = factory('GroupNorm()', o);
    this.registerParameter('weight', this.affine ? ones([numChannels], f) : null);
    this.registerParameter('bias', this.affine ? zeros([numChannels], f) : null);
  }
  get weight(): Tensor | null { return this.paramOrNull('weight'); }
  get bias(): Tensor | null { return this.paramOrNull('bias'); }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length < 2 || s[1] !== this.numChannels) {
      throw invalidArgument(`GroupNorm: expected input of shape (N, ${this.numChannels}, *), got [${s.join(', ')}]`, {
        parameter: 'input', expected: `a shape (N, ${this.numChannels}, *)`, received: describe(x),
      });
    }
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}
