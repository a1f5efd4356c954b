// Shape and resampling layers: Upsample, Unpool2d, Flatten, Unflatten, Dropout.
import { describe, invalidArgument, invalidParameterError, is } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { arange } from '../../tensor/creation';
import * as F from '../functional';
import { Module, pyBool, pyFloat, pyTuple } from '../module';
import { expectDims, options, pair, Pair } from './util';

export interface UpsampleOptions {
  /** output (H, W); give this or scaleFactor */
  size?: Pair;
  /** multiplier of H and W */
  scaleFactor?: number | [number, number];
  /** 'nearest' (default) or 'bilinear' */
  mode?: 'nearest' | 'bilinear';
  /** bilinear only (default false) */
  alignCorners?: boolean;
}

/** Resamples NCHW input to a size or by a factor (torch.nn.Upsample). */
export class Upsample extends Module {
  static readonly perSample = true;
  readonly size: [number, number] | null;
  readonly sizeGiven: Pair | null;
  readonly scaleFactor: [number, number] | null;
  readonly mode: 'nearest' | 'bilinear';
  readonly alignCorners: boolean | null;
  private readonly scaleGiven: number | [number, number] | null;
  constructor(opts: UpsampleOptions) {
    super();
    const o = options('Upsample()', opts, ['size', 'scaleFactor', 'mode', 'alignCorners']);
    if ((o.size === undefined) === (o.scaleFactor === undefined)) {
      throw invalidParameterError('Upsample() options', 'exactly one of size and scaleFactor', o);
    }
    this.size = o.size === undefined ? null : pair('options.size', o.size, 1, true);
    this.sizeGiven = o.size ?? null;
    if (o.scaleFactor !== undefined) {
      const s = o.scaleFactor;
      const ok = (v: unknown) => is.finite(v) && v > 0;
      if (typeof s === 'number' && ok(s)) this.scaleFactor = [s, s];
      else if (Array.isArray(s) && s.length === 2 && ok(s[0]) && ok(s[1])) this.scaleFactor = [s[0], s[1]];
      else throw invalidParameterError('options.scaleFactor', 'a positive number or a pair of them', s);
    } else this.scaleFactor = null;
    this.scaleGiven = o.scaleFactor ?? null;
    const mode = o.mode ?? 'nearest';
    if (mode !== 'nearest' && mode !== 'bilinear') throw invalidParameterError('options.mode', "'nearest' or 'bilinear'", mode);
    this.mode = mode;
    if (o.alignCorners !== undefined) {
      if (!is.bool(o.alignCorners)) throw invalidParameterError('options.alignCorners', 'a boolean', o.alignCorners);
      if (mode === 'nearest') {
        throw invalidArgument("options.alignCorners only applies to mode 'bilinear'", { parameter: 'options.alignCorners', expected: "no alignCorners with mode 'nearest'", received: describe(o.alignCorners) });
      }
    }
    this.alignCorners = o.alignCorners ?? null;
  }
  forward(x: Tensor): Tensor {
    expectDims('Upsample', x.shape, [4]);
    const o: F.InterpolateOptions = { mode: this.mode };
    if (this.size) o.size = this.size;
    else o.scaleFactor = this.scaleFactor!;
    if (this.mode === 'bilinear') o.alignCorners = this.alignCorners ?? false;
    return F.interpolate(x, o);
  }
  override extraRepr(): string {
    let s: string;
    if (this.scaleGiven !== null) {
      const g = this.scaleGiven;
      s = 'scale_factor=' + (typeof g === 'number' ? pyFloat(g) : `(${g.map(pyFloat).join(', ')})`);
    } else {
      const g = this.sizeGiven!;
      s = 'size=' + (typeof g === 'number' ? String(g) : pyTuple(g));
    }
    return `${s}, mode=${this.mode}`;
  }
}

export interface Unpool2dOptions {
  /**
   * 'zeros' (default): each input value goes to the top-left corner of its
   * kernel×kernel output block, the rest is 0 (max_unpool2d with top-left
   * indices). 'replicate': the value fills its whole block (nearest upsampling).
   */
  mode?: 'zeros' | 'replicate';
}

/**
 * Unpooling: upsamples (N, C, H, W) by an integer kernel to (N, C, H*kh, W*kw).
 * mode 'zeros' places each value at the top-left of its block via max_unpool2d;
 * 'replicate' repeats it over the block (as chainer/nnabla's unpooling do).
 */
export class Unpool2d extends Module {
  readonly kernelSize: [number, number];
  readonly mode: 'zeros' | 'replicate';
  constructor(kernelSize: Pair, opts?: Unpool2dOptions) {
    super();
    const o = options('Unpool2d()', opts, ['mode']);
    this.kernelSize = pair('kernelSize', kernelSize, 2, true);
    const mode = o.mode ?? 'zeros';
    if (mode !== 'zeros' && mode !== 'replicate') throw invalidParameterError('options.mode', "'zeros' or 'replicate'", mode);
    this.mode = mode;
  }
  forward(x: Tensor): Tensor {
    const shape = x.shape;
    expectDims('Unpool2d', shape, [3, 4]);
    const [kh, kw] = this.kernelSize;
    const [H, W] = shape.slice(-2);
    if (this.mode === 'replicate') {
      if (shape.length === 3) {
        const b = x.unsqueeze(0);
        const y = F.interpolate(b, { size: [H * kh, W * kw], mode: 'nearest' });
        const out = y.squeeze(0);
        b.dispose();
        y.dispose();
        return out;
      }
      return F.interpolate(x, { size: [H * kh, W * kw], mode: 'nearest' });
    }
    const made: Tensor[] = [];
    const m = <T extends Tensor>(t: T): T => (made.push(t), t);
    try {
      const rows = m(m(m(arange(0, H, 1, { device: x.device })).mul(kh * W * kw)).unsqueeze(1));
      const cols = m(m(arange(0, W, 1, { device: x.device })).mul(kw));
      const idx = m(m(m(rows.add(cols)).expand(shape)).contiguous());
      return F.maxUnpool2d(x, idx, [H * kh, W * kw]);
    } finally {
      for (const t of made) t.dispose();
    }
  }
  override extraRepr(): string {
    return `kernel_size=${pyTuple(this.kernelSize)}, mode=${this.mode}`;
  }
}

/** Flattens dims startDim..endDim into one (torch.nn.Flatten; default 1..-1). */
export class Flatten extends Module {
  static readonly perSample = true;
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim = 1, endDim = -1) {
    super();
    if (!is.integer(startDim)) throw invalidParameterError('startDim', 'an integer', startDim);
    if (!is.integer(endDim)) throw invalidParameterError('endDim', 'an integer', endDim);
    this.startDim = startDim;
    this.endDim = endDim;
  }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

/** Splits dim into unflattenedSize (torch.nn.Unflatten); one size may be -1. */
export class Unflatten extends Module {
  static readonly perSample = true;
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: number[]) {
    super();
    if (!is.integer(dim)) throw invalidParameterError('dim', 'an integer', dim);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || !unflattenedSize.every((d) => is.positiveInteger(d) || d === -1)
      || unflattenedSize.filter((d) => d === -1).length > 1) {
      throw invalidParameterError('unflattenedSize', 'a non-empty array of positive integers (at most one -1)', unflattenedSize);
    }
    this.dim = dim;
    this.unflattenedSize = [...unflattenedSize];
  }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    const d = this.dim < 0 ? s.length + this.dim : this.dim;
    if (d < 0 || d >= s.length) {
      throw invalidArgument(`Unflatten: dim ${this.dim} is out of range for input of shape [${s.join(', ')}]`, {
        parameter: 'input', expected: `a tensor with a dimension ${this.dim}`, received: describe(x),
      });
    }
    return x.reshape([...s.slice(0, d), ...this.unflattenedSize, ...s.slice(d + 1)]);
  }
  override extraRepr(): string { return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`; }
}

/** Zeroes elements with probability p in training mode, scaling the rest by 1/(1-p) (torch.nn.Dropout). */
export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    if (!is.inRange(p, 0, 1)) throw invalidParameterError('p', 'a probability in [0, 1]', p);
    this.p = p;
  }
  forward(x: Tensor): Tensor { return F.dropout(x, this.p, this.training); }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=${pyBool(false)}`; }
}
