// Functional NN ops (torch.nn.functional): the modules are thin over these.
import { N, NativeHandle } from '../native';
import { checkOptionKeys, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';

type Pair = number | [number, number];
type Reduction = 'mean' | 'sum' | 'none';
// A tensor argument as its handle; a wrong value (a JS caller's) passes through as it is, for the
// binding's error to name it.
function h(t: Tensor): NativeHandle;
function h(t: Tensor | null | undefined): NativeHandle | null | undefined;
function h(t: Tensor | null | undefined): NativeHandle | null | undefined {
  return t instanceof Tensor ? t._h : (t as never);
}
const wrap = (x: NativeHandle): Tensor => new Tensor(x);

export interface Conv2dOptions { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number }
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  checkOptionKeys('conv2d()', o, ['stride', 'padding', 'dilation', 'groups']);
  return wrap(N.conv2d(h(input), h(weight), h(bias), o.stride ?? 1, o.padding ?? 0, o.dilation ?? 1, o.groups ?? 1));
}

export interface ConvTranspose2dOptions extends Conv2dOptions { outputPadding?: Pair }
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvTranspose2dOptions = {}): Tensor {
  checkOptionKeys('convTranspose2d()', o, ['stride', 'padding', 'outputPadding', 'dilation', 'groups']);
  return wrap(N.convTranspose2d(h(input), h(weight), h(bias), o.stride ?? 1, o.padding ?? 0, o.outputPadding ?? 0, o.groups ?? 1, o.dilation ?? 1));
}

export const linear = (input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor => wrap(N.linear(h(input), h(weight), h(bias)));

export interface BatchNormOptions { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number }
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, o: BatchNormOptions = {}): Tensor {
  checkOptionKeys('batchNorm()', o, ['weight', 'bias', 'training', 'momentum', 'eps']);
  return wrap(N.batchNorm(h(input), h(o.weight), h(o.bias), h(runningMean), h(runningVar), o.training ?? false, o.momentum ?? 0.1, o.eps ?? 1e-5));
}

export interface InstanceNormOptions { weight?: Tensor | null; bias?: Tensor | null; runningMean?: Tensor | null; runningVar?: Tensor | null; useInputStats?: boolean; momentum?: number; eps?: number }
export function instanceNorm(input: Tensor, o: InstanceNormOptions = {}): Tensor {
  checkOptionKeys('instanceNorm()', o, ['weight', 'bias', 'runningMean', 'runningVar', 'useInputStats', 'momentum', 'eps']);
  return wrap(N.instanceNorm(h(input), h(o.weight), h(o.bias), h(o.runningMean), h(o.runningVar), o.useInputStats ?? true, o.momentum ?? 0.1, o.eps ?? 1e-5));
}

export const layerNorm = (input: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor =>
  wrap(N.layerNorm(h(input), normalizedShape, h(weight), h(bias), eps));

export const groupNorm = (input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor =>
  wrap(N.groupNorm(h(input), numGroups, h(weight), h(bias), eps));

export const dropout = (input: Tensor, p = 0.5, training = true): Tensor => {
  if (!is.inRange(p, 0, 1)) throw invalidParameterError('p', 'a probability in [0, 1]', p);
  return wrap(N.dropout(h(input), p, training));
};

export const relu = (x: Tensor): Tensor => x.relu();
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => x.leakyRelu(negativeSlope);
export const tanh = (x: Tensor): Tensor => x.tanh();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => x.softplus(beta, threshold);
export const logSoftmax = (x: Tensor, dim: number): Tensor => wrap(N.logSoftmax(h(x), dim));
export const softmax = (x: Tensor, dim: number): Tensor => wrap(N.softmax(h(x), dim));

export interface InterpolateOptions { size?: Pair; scaleFactor?: number | [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean }
/** 2-D resampling of NCHW input, as F.interpolate (nearest or bilinear). */
export function interpolate(input: Tensor, o: InterpolateOptions): Tensor {
  checkOptionKeys('interpolate()', o, ['size', 'scaleFactor', 'mode', 'alignCorners']);
  const mode = o.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw invalidParameterError('mode', "'nearest' or 'bilinear'", mode);
  const shape = input.shape;
  if (shape.length !== 4) throw invalidParameterError('interpolate() input', 'a 4-D (N, C, H, W) tensor', input);
  let size: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (o.size !== undefined && o.scaleFactor !== undefined) throw invalidParameterError('interpolate() options', 'size or scaleFactor, not both', o);
  if (o.size !== undefined) size = pairOf('interpolate() options.size', o.size, is.positiveInteger, 'a positive integer');
  else if (o.scaleFactor !== undefined) {
    const s = pairOf('interpolate() options.scaleFactor', o.scaleFactor, (v) => is.finite(v) && v > 0, 'a positive finite number');
    size = [Math.floor(shape[2] * s[0]), Math.floor(shape[3] * s[1])];
    if (size[0] < 1 || size[1] < 1) {
      throw invalidArgument(`interpolate(): options.scaleFactor [${s}] turns the ${shape[2]}x${shape[3]} input into an empty ${size[0]}x${size[1]} output`, {
        parameter: 'interpolate() options.scaleFactor', expected: `a factor that leaves the ${shape[2]}x${shape[3]} input at least 1x1`, received: `[${s}]`,
      });
    }
    scales = [s[0], s[1]];
  } else throw invalidParameterError('interpolate() options', 'size or scaleFactor', o);
  if (mode === 'nearest') return wrap(N.upsampleNearest2d(h(input), size, scales[0], scales[1]));
  return wrap(N.upsampleBilinear2d(h(input), size, o.alignCorners ?? false, scales[0], scales[1]));
}

/** A number or a pair of numbers, each passing `ok`. */
function pairOf(name: string, v: unknown, ok: (x: unknown) => boolean, each: string): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2) throw invalidParameterError(name, `${each} or a pair of them`, v);
  pair.forEach((x, k) => {
    if (!ok(x)) throw invalidParameterError(typeof v === 'number' ? name : `${name}[${k}]`, each, x);
  });
  return pair as [number, number];
}

export interface Pool2dOptions { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }
/** Returns [output, indices] (indices feed maxUnpool2d). */
export function maxPool2dWithIndices(input: Tensor, kernelSize: Pair, o: Pool2dOptions = {}): [Tensor, Tensor] {
  checkOptionKeys('maxPool2d()', o, ['stride', 'padding', 'dilation', 'ceilMode']);
  const [v, i] = N.maxPool2dWithIndices(h(input), kernelSize, o.stride ?? kernelSize, o.padding ?? 0, o.dilation ?? 1, o.ceilMode ?? false);
  return [wrap(v), wrap(i)];
}
export function maxPool2d(input: Tensor, kernelSize: Pair, o: Pool2dOptions = {}): Tensor {
  const [v, i] = maxPool2dWithIndices(input, kernelSize, o);
  i.dispose();
  return v;
}
export const maxUnpool2d = (input: Tensor, indices: Tensor, outputSize: [number, number]): Tensor =>
  wrap(N.maxUnpool2d(h(input), h(indices), outputSize));
export function avgPool2d(input: Tensor, kernelSize: Pair, o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  checkOptionKeys('avgPool2d()', o, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
  return wrap(N.avgPool2d(h(input), kernelSize, o.stride ?? kernelSize, o.padding ?? 0, o.ceilMode ?? false, o.countIncludePad ?? true));
}

// ---- losses
export function binaryCrossEntropy(input: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction } = {}): Tensor {
  checkOptionKeys('binaryCrossEntropy()', o, ['weight', 'reduction']);
  return wrap(N.binaryCrossEntropy(h(input), h(target), h(o.weight), o.reduction));
}
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  checkOptionKeys('binaryCrossEntropyWithLogits()', o, ['weight', 'posWeight', 'reduction']);
  return wrap(N.binaryCrossEntropyWithLogits(h(input), h(target), h(o.weight), h(o.posWeight), o.reduction));
}
export const mseLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor => wrap(N.mseLoss(h(input), h(target), reduction));
export function nllLoss(input: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  checkOptionKeys('nllLoss()', o, ['weight', 'reduction', 'ignoreIndex']);
  return wrap(N.nllLoss(h(input), h(target), h(o.weight), o.reduction, o.ignoreIndex ?? -100));
}
export function crossEntropy(input: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {}): Tensor {
  checkOptionKeys('crossEntropy()', o, ['weight', 'reduction', 'ignoreIndex', 'labelSmoothing']);
  return wrap(N.crossEntropy(h(input), h(target), h(o.weight), o.reduction, o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
}
