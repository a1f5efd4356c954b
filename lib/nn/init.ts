// Weight initialisation (torch.nn.init). Every function fills its tensor in
// place, without recording a graph, and returns it.
import { describe, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { isFloatingDtype } from '../tensor/dtype';
import { noGrad } from '../autograd';
import type { AnyModule } from './module';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
const NONLINEARITIES: readonly Nonlinearity[] = [
  'linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu',
];

function checkTensor(where: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw invalidParameterError(`${where} tensor`, 'a Tensor', t);
  if (!isFloatingDtype(t.dtype)) throw invalidParameterError(`${where} tensor`, 'a floating-point Tensor', t);
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  if (!is.oneOf(nonlinearity, NONLINEARITIES)) throw invalidParameterError('nonlinearity', `one of ${NONLINEARITIES.join(', ')}`, nonlinearity);
  switch (nonlinearity) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (!is.number(slope)) throw invalidParameterError('param', 'a number (the negative slope)', param);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: return 1;
  }
}

/** [fanIn, fanOut] as torch computes them: size(1)*receptive, size(0)*receptive. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const s = t.shape;
  if (s.length < 2) {
    throw invalidArgument(`Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape [${s}])`, {
      parameter: 'tensor', expected: 'a tensor of at least 2 dimensions', received: describe(t),
    });
  }
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return [s[1] * receptive, s[0] * receptive];
}

function fan(t: Tensor, mode: 'fan_in' | 'fan_out'): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw invalidParameterError('mode', "'fan_in' or 'fan_out'", mode);
  const [fi, fo] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fi : fo;
}

/** U(a, b) */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  checkTensor('uniform_()', t);
  if (!is.finite(a) || !is.finite(b) || a > b) throw invalidParameterError('a, b', 'finite bounds with a <= b', `${a}, ${b}`);
  return noGrad(() => t.uniform_(a, b));
}
/** N(mean, std²) */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  checkTensor('normal_()', t);
  if (!is.finite(mean)) throw invalidParameterError('mean', 'a finite number', mean);
  if (!is.finite(std) || std < 0) throw invalidParameterError('std', 'a non-negative number', std);
  return noGrad(() => t.normal_(mean, std));
}
export function constant_(t: Tensor, value: number): Tensor {
  checkTensor('constant_()', t);
  if (!is.number(value)) throw invalidParameterError('value', 'a number', value);
  return noGrad(() => t.fill_(value));
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface KaimingOptions {
  /** negative slope of the rectifier after this layer (leaky_relu); 0 by default */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}
/** He uniform: U(-b, b), b = gain * sqrt(3 / fan). PyTorch layers use {a: sqrt(5)}. */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  checkTensor('kaimingUniform_()', t);
  const f = fan(t, o.mode ?? 'fan_in');
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  const bound = f === 0 ? 0 : Math.sqrt(3) * (gain / Math.sqrt(f));
  return noGrad(() => t.uniform_(-bound, bound));
}
/** He normal: N(0, (gain / sqrt(fan))²). */
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  checkTensor('kaimingNormal_()', t);
  const f = fan(t, o.mode ?? 'fan_in');
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return noGrad(() => t.normal_(0, f === 0 ? 0 : gain / Math.sqrt(f)));
}
/** Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  checkTensor('xavierUniform_()', t);
  const [fi, fo] = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fi + fo));
  return noGrad(() => t.uniform_(-bound, bound));
}
/** Glorot normal: N(0, (gain * sqrt(2 / (fanIn + fanOut)))²). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  checkTensor('xavierNormal_()', t);
  const [fi, fo] = calculateFanInAndFanOut(t);
  return noGrad(() => t.normal_(0, gain * Math.sqrt(2 / (fi + fo))));
}

/**
 * PyTorch's default initialisation of a weight [out, in, ...] (or a transposed
 * convolution's [in, out/groups, ...]) and its bias: kaiming_uniform(a=sqrt(5))
 * for the weight, U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for the bias, where fanIn is
 * computed from the weight as torch does (size(1) * kernel elements).
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

/**
 * Which DCGAN rule a layer class follows: 'weight' (conv, transposed conv,
 * linear: N(0, 0.02) weight, zero bias) or 'norm' (N(1, 0.02) weight, zero
 * bias). Layers declare it as a static `initRole`; subclasses inherit it.
 */
export type InitRole = 'weight' | 'norm';

/**
 * The DCGAN paper's initialisation (Radford et al. 2015, as in the PyTorch
 * DCGAN example), applied to every layer under `module`: Conv2d, ConvTranspose2d
 * and Linear weights ~ N(0, 0.02); BatchNorm/InstanceNorm/GroupNorm/LayerNorm
 * weights ~ N(1, 0.02); all their biases 0. Returns the module.
 */
export function dcganInit<M extends AnyModule>(module: M, o: { std?: number } = {}): M {
  const std = o.std ?? 0.02;
  if (!is.finite(std) || std < 0) throw invalidParameterError('std', 'a non-negative number', std);
  if (module === null || typeof module !== 'object' || typeof (module as AnyModule).modules !== 'function') {
    throw invalidParameterError('module', 'a Module', module);
  }
  for (const m of module.modules()) {
    const role = (m.constructor as { initRole?: InitRole }).initRole;
    if (role === undefined) continue;
    const params = new Map(m.namedParameters('', false));
    const w = params.get('weight');
    const b = params.get('bias');
    if (w) normal_(w, role === 'norm' ? 1 : 0, std);
    if (b) zeros_(b);
  }
  return module;
}
