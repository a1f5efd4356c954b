// Model builders: the DCGAN generator and critic (seed 003's textbook networks,
// generalised to 28, 32 and 64 pixels) and the MLPs of the WGAN-GP paper's toy
// experiments. Everything is a plain nn.Sequential, so state dicts read like
// PyTorch's (`0.weight`, `1.running_mean`, ...) and load into the same networks there.
//
// The critic never ends in a sigmoid: the BCE losses take logits
// (binary_cross_entropy_with_logits), and a Wasserstein critic must be unbounded.
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import type { DType, Device } from '../tensor/dtype';
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import {
  Sequential, Linear, Conv2d, ConvTranspose2d, BatchNorm2d, InstanceNorm2d, LayerNorm, LeakyReLU, ReLU, Tanh,
  Upsample, Unpool2d, Flatten,
} from '../nn/layers';
import { dcganInit } from '../nn/init';
import { spectralNorm } from '../nn/spectral-norm';

export type Normalization = 'batch' | 'instance' | 'layer' | 'none';
export const NORMALIZATIONS: readonly Normalization[] = ['batch', 'instance', 'layer', 'none'];
export type Upsampling = 'deconv' | 'nearest' | 'bilinear' | 'unpool';
export const UPSAMPLINGS: readonly Upsampling[] = ['deconv', 'nearest', 'bilinear', 'unpool'];
export type ImageSize = 28 | 32 | 64;
export const IMAGE_SIZES: readonly ImageSize[] = [28, 32, 64];

/** A generator that knows the shape of one noise vector (without the batch dim). */
export type Generator = Module & { noiseShape?: number[] };

export interface DcganOptions {
  /** 28 (seed 003's MNIST network, default), 32 or 64 */
  imageSize?: ImageSize;
  /** length of the noise vector z (default 100) */
  noiseDim?: number;
  /** filters of the widest-resolution layer, f (default 32, as seed 003) */
  baseWidth?: number;
  /** image channels (default 1) */
  channels?: number;
  /** slope of the LeakyReLUs (default 0.2) */
  negativeSlope?: number;
  /** learned biases in the convolutions (default false, as seed 003) */
  bias?: boolean;
  /** apply the DCGAN initialisation N(0, 0.02) (default true) */
  init?: boolean;
  dtype?: DType;
  device?: Device;
}

export interface DcganGeneratorOptions extends DcganOptions {
  /**
   * How the generator grows the image: 'deconv' (transposed convolutions, default),
   * 'nearest' / 'bilinear' (resize then a 3×3 convolution) or 'unpool' (zero-filling
   * 2×2 unpooling then a 3×3 convolution). The first 1×1 → 4×4 projection is always a
   * transposed convolution.
   */
  upsampling?: Upsampling;
  /** 'batch' (default, as seed 003's DCGAN), 'instance' (seed 003's WGAN), 'layer' or 'none' */
  normalization?: Normalization;
}

export interface DcganCriticOptions extends DcganOptions {
  /**
   * Default: 'batch' for loss 'gan' or 'wgan' (seed 003's DCGAN discriminator), 'layer' otherwise
   * (the gradient penalties need a per-sample critic; the WGAN-GP paper recommends layer norm).
   */
  normalization?: Normalization;
  /** the loss the critic will be trained with; only chooses the default normalization */
  loss?: 'gan' | 'wgan' | 'wgan-gp' | 'dragan' | 'hinge' | 'minimax' | 'lsgan';
  /**
   * SNGAN (Miyato et al. 2018): spectral normalisation on every convolution (see nn.spectralNorm;
   * state-dict keys `N.weight_orig`, `N.weight_u`, `N.weight_v` as PyTorch's), applied after the
   * initialisation. The normalization then defaults to 'none', as in the paper. Default false.
   */
  spectralNorm?: boolean;
}

const COMMON_KEYS = ['imageSize', 'noiseDim', 'baseWidth', 'channels', 'negativeSlope', 'bias', 'init', 'dtype', 'device'] as const;

interface Common {
  size: ImageSize; z: number; f: number; c: number; slope: number; bias: boolean; init: boolean;
  fo: { dtype?: DType; device?: Device };
}

function common(where: string, o: DcganOptions): Common {
  const size = o.imageSize ?? 28;
  if (!IMAGE_SIZES.includes(size)) throw invalidParameterError(`${where} options.imageSize`, 'one of 28, 32, 64', size);
  const z = o.noiseDim ?? 100;
  if (!is.positiveInteger(z)) throw invalidParameterError(`${where} options.noiseDim`, 'a positive integer', z);
  const f = o.baseWidth ?? 32;
  if (!is.positiveInteger(f)) throw invalidParameterError(`${where} options.baseWidth`, 'a positive integer', f);
  const c = o.channels ?? 1;
  if (!is.positiveInteger(c)) throw invalidParameterError(`${where} options.channels`, 'a positive integer', c);
  const slope = o.negativeSlope ?? 0.2;
  if (!is.finite(slope)) throw invalidParameterError(`${where} options.negativeSlope`, 'a finite number', slope);
  const bias = o.bias ?? false;
  if (!is.bool(bias)) throw invalidParameterError(`${where} options.bias`, 'a boolean', bias);
  const init = o.init ?? true;
  if (!is.bool(init)) throw invalidParameterError(`${where} options.init`, 'a boolean', init);
  const fo: { dtype?: DType; device?: Device } = {};
  if (o.dtype !== undefined) fo.dtype = o.dtype;
  if (o.device !== undefined) fo.device = o.device;
  return { size, z, f, c, slope, bias, init, fo };
}

function normLayer(kind: Normalization, channels: number, spatial: number, fo: Common['fo']): Module | null {
  switch (kind) {
    case 'batch': return new BatchNorm2d(channels, fo);
    case 'instance': return new InstanceNorm2d(channels, fo);
    case 'layer': return new LayerNorm([channels, spatial, spatial], fo);
    case 'none': return null;
  }
}

function checkNorm(where: string, v: unknown): Normalization {
  if (!is.oneOf(v, NORMALIZATIONS)) throw invalidParameterError(`${where} options.normalization`, `one of ${NORMALIZATIONS.map((s) => `'${s}'`).join(', ')}`, v);
  return v;
}

/**
 * One upsampling stage of the generator, as (kernel, stride, padding) of the
 * transposed convolution taking `from` pixels to `to` pixels.
 */
interface Stage { inC: number; outC: number; from: number; to: number; k: number; s: number; p: number }

/** The generator's stages after the first 1×1 → 4×4 projection, and its widths. */
function generatorPlan(size: ImageSize, f: number, c: number): { first: number; stages: Stage[] } {
  if (size === 28) {
    // seed 003: 4 -> 7 (k3 s2 p1) -> 14 (k4 s2 p1) -> 28 (k4 s2 p1)
    return {
      first: 4 * f,
      stages: [
        { inC: 4 * f, outC: 2 * f, from: 4, to: 7, k: 3, s: 2, p: 1 },
        { inC: 2 * f, outC: f, from: 7, to: 14, k: 4, s: 2, p: 1 },
        { inC: f, outC: c, from: 14, to: 28, k: 4, s: 2, p: 1 },
      ],
    };
  }
  if (size === 32) {
    return {
      first: 4 * f,
      stages: [
        { inC: 4 * f, outC: 2 * f, from: 4, to: 8, k: 4, s: 2, p: 1 },
        { inC: 2 * f, outC: f, from: 8, to: 16, k: 4, s: 2, p: 1 },
        { inC: f, outC: c, from: 16, to: 32, k: 4, s: 2, p: 1 },
      ],
    };
  }
  // 64: Radford et al.'s generator, 4 -> 8 -> 16 -> 32 -> 64 with widths 8f, 4f, 2f, f
  return {
    first: 8 * f,
    stages: [
      { inC: 8 * f, outC: 4 * f, from: 4, to: 8, k: 4, s: 2, p: 1 },
      { inC: 4 * f, outC: 2 * f, from: 8, to: 16, k: 4, s: 2, p: 1 },
      { inC: 2 * f, outC: f, from: 16, to: 32, k: 4, s: 2, p: 1 },
      { inC: f, outC: c, from: 32, to: 64, k: 4, s: 2, p: 1 },
    ],
  };
}

/**
 * The DCGAN generator: z [N, noiseDim, 1, 1] (or [N, noiseDim]: see noiseShape) -> image
 * [N, channels, size, size] in [-1, 1]. With the defaults it is seed 003's
 * make_generator_network(100, 32):
 *
 *   ConvTranspose2d(z, 4f, 4, 1, 0) -> BatchNorm2d -> LeakyReLU(0.2)
 *   -> ConvTranspose2d(4f, 2f, 3, 2, 1) -> BatchNorm2d -> LeakyReLU(0.2)
 *   -> ConvTranspose2d(2f, f, 4, 2, 1) -> BatchNorm2d -> LeakyReLU(0.2)
 *   -> ConvTranspose2d(f, 1, 4, 2, 1) -> Tanh          (bias=False throughout)
 *
 * The returned Sequential has `noiseShape` = [noiseDim, 1, 1], which GanTrainer uses.
 */
export function dcganGenerator(options: DcganGeneratorOptions = {}): Sequential & { noiseShape: number[] } {
  const where = 'dcganGenerator()';
  checkOptionKeys(where, options, [...COMMON_KEYS, 'upsampling', 'normalization']);
  const o = common(where, options);
  const norm = checkNorm(where, options.normalization ?? 'batch');
  const up = options.upsampling ?? 'deconv';
  if (!is.oneOf(up, UPSAMPLINGS)) throw invalidParameterError(`${where} options.upsampling`, `one of ${UPSAMPLINGS.map((s) => `'${s}'`).join(', ')}`, up);
  const { first, stages } = generatorPlan(o.size, o.f, o.c);
  const conv = { bias: o.bias, ...o.fo };
  const layers: Module[] = [new ConvTranspose2d(o.z, first, 4, { stride: 1, padding: 0, ...conv })];
  const addNormAct = (channels: number, spatial: number) => {
    const n = normLayer(norm, channels, spatial, o.fo);
    if (n) layers.push(n);
    layers.push(new LeakyReLU(o.slope));
  };
  addNormAct(first, 4);
  stages.forEach((s, i) => {
    if (up === 'deconv') {
      layers.push(new ConvTranspose2d(s.inC, s.outC, s.k, { stride: s.s, padding: s.p, ...conv }));
    } else {
      if (up === 'unpool') {
        // 2x2 zero-filling unpooling doubles the size; where the target is odd (28 px: 4 -> 7)
        // a 2x2 valid convolution takes 8 back to 7, else a padded 3x3 keeps the size
        layers.push(new Unpool2d(2));
        const odd = s.to === 2 * s.from - 1;
        layers.push(new Conv2d(s.inC, s.outC, odd ? 2 : 3, { stride: 1, padding: odd ? 0 : 1, ...conv }));
      } else {
        layers.push(s.to === 2 * s.from ? new Upsample({ scaleFactor: 2, mode: up }) : new Upsample({ size: s.to, mode: up }));
        layers.push(new Conv2d(s.inC, s.outC, 3, { stride: 1, padding: 1, ...conv }));
      }
    }
    if (i < stages.length - 1) addNormAct(s.outC, s.to);
  });
  layers.push(new Tanh());
  const g = new Sequential(...layers) as Sequential & { noiseShape: number[] };
  g.noiseShape = [o.z, 1, 1];
  if (o.init) dcganInit(g);
  return g;
}

/**
 * The DCGAN critic / discriminator: image [N, channels, size, size] -> one raw score per
 * sample, shape [N] (no sigmoid). With the defaults (28 px) it is seed 003's
 * Discriminator(32) without its final Sigmoid, plus a Flatten(0):
 *
 *   Conv2d(1, f, 4, 2, 1) -> LeakyReLU(0.2)
 *   -> Conv2d(f, 2f, 4, 2, 1) -> norm -> LeakyReLU(0.2)
 *   -> Conv2d(2f, 4f, 3, 2, 1) -> norm -> LeakyReLU(0.2)
 *   -> Conv2d(4f, 1, 4, 1, 0) -> Flatten(0)
 */
/** The critic's layers, with its input checked against the image size it was built for. */
class DcganCritic extends Sequential {
  static override readonly perSample = true;
  constructor(readonly imageSize: ImageSize, readonly channels: number, layers: Module[]) {
    super(...layers);
  }
  override get typeName(): string {
    return 'Sequential';
  }
  override forward(x: Tensor): Tensor {
    const s = x instanceof Tensor ? x.shape : null;
    if (s === null || s.length !== 4 || s[1] !== this.channels || s[2] !== this.imageSize || s[3] !== this.imageSize) {
      throw invalidParameterError(
        'dcganCritic() input',
        `a (N, ${this.channels}, ${this.imageSize}, ${this.imageSize}) Tensor (the critic was built for ${this.channels}-channel ${this.imageSize}x${this.imageSize} images: options.imageSize, options.channels)`,
        x,
      );
    }
    return super.forward(x);
  }
}

export function dcganCritic(options: DcganCriticOptions = {}): Sequential {
  const where = 'dcganCritic()';
  checkOptionKeys(where, options, [...COMMON_KEYS, 'normalization', 'loss', 'spectralNorm']);
  const o = common(where, options);
  const loss = options.loss;
  if (loss !== undefined && !is.oneOf(loss, ['gan', 'wgan', 'wgan-gp', 'dragan', 'hinge', 'minimax', 'lsgan'] as const)) {
    throw invalidParameterError(`${where} options.loss`, "one of 'gan', 'minimax', 'hinge', 'lsgan', 'wgan', 'wgan-gp', 'dragan'", loss);
  }
  const sn = options.spectralNorm ?? false;
  if (!is.bool(sn)) throw invalidParameterError(`${where} options.spectralNorm`, 'a boolean', sn);
  const batchLoss = loss === 'gan' || loss === 'wgan' || loss === 'minimax' || loss === 'hinge' || loss === 'lsgan';
  const dflt: Normalization = sn ? 'none' : batchLoss ? 'batch' : 'layer';
  const norm = checkNorm(where, options.normalization ?? dflt);
  const conv = { bias: o.bias, ...o.fo };
  // (inC, outC, kernel, stride, padding, output size)
  type L = [number, number, number, number, number, number];
  const f = o.f;
  const plan: L[] =
    o.size === 28 ? [[o.c, f, 4, 2, 1, 14], [f, 2 * f, 4, 2, 1, 7], [2 * f, 4 * f, 3, 2, 1, 4]]
      : o.size === 32 ? [[o.c, f, 4, 2, 1, 16], [f, 2 * f, 4, 2, 1, 8], [2 * f, 4 * f, 4, 2, 1, 4]]
        : [[o.c, f, 4, 2, 1, 32], [f, 2 * f, 4, 2, 1, 16], [2 * f, 4 * f, 4, 2, 1, 8], [4 * f, 8 * f, 4, 2, 1, 4]];
  const layers: Module[] = [];
  plan.forEach(([i, out, k, s, p, size], idx) => {
    layers.push(new Conv2d(i, out, k, { stride: s, padding: p, ...conv }));
    if (idx > 0) {
      const n = normLayer(norm, out, size, o.fo);
      if (n) layers.push(n);
    }
    layers.push(new LeakyReLU(o.slope));
  });
  const last = plan[plan.length - 1][1];
  layers.push(new Conv2d(last, 1, 4, { stride: 1, padding: 0, ...conv }));
  layers.push(new Flatten(0));
  const d = new DcganCritic(o.size, o.c, layers);
  if (o.init) dcganInit(d);
  if (sn) for (const m of d.modules()) if (m instanceof Conv2d || m instanceof Linear) spectralNorm(m);
  return d;
}

// ---------------------------------------------------------------- toy MLPs

export interface ToyMlpOptions {
  /** hidden width DIM (default 512, as gan_toy.py) */
  dim?: number;
  /** hidden layers (default 3) */
  hiddenLayers?: number;
  /** input noise length of the generator (default 2, as gan_toy.py) */
  noiseDim?: number;
  /** data dimension (default 2) */
  dataDim?: number;
  dtype?: DType;
  device?: Device;
}
const MLP_KEYS = ['dim', 'hiddenLayers', 'noiseDim', 'dataDim', 'dtype', 'device'] as const;

function mlpCommon(where: string, o: ToyMlpOptions) {
  checkOptionKeys(where, o, MLP_KEYS);
  const dim = o.dim ?? 512;
  if (!is.positiveInteger(dim)) throw invalidParameterError(`${where} options.dim`, 'a positive integer', dim);
  const hidden = o.hiddenLayers ?? 3;
  if (!is.positiveInteger(hidden)) throw invalidParameterError(`${where} options.hiddenLayers`, 'a positive integer', hidden);
  const z = o.noiseDim ?? 2;
  if (!is.positiveInteger(z)) throw invalidParameterError(`${where} options.noiseDim`, 'a positive integer', z);
  const d = o.dataDim ?? 2;
  if (!is.positiveInteger(d)) throw invalidParameterError(`${where} options.dataDim`, 'a positive integer', d);
  const fo: { dtype?: DType; device?: Device } = {};
  if (o.dtype !== undefined) fo.dtype = o.dtype;
  if (o.device !== undefined) fo.device = o.device;
  return { dim, hidden, z, d, fo };
}

/**
 * The toy generator of the WGAN-GP paper (gan_toy.py): Linear(noiseDim, DIM) -> ReLU
 * -> (Linear(DIM, DIM) -> ReLU) × 2 -> Linear(DIM, dataDim). `noiseShape` = [noiseDim].
 */
export function toyGenerator(options: ToyMlpOptions = {}): Sequential & { noiseShape: number[] } {
  const { dim, hidden, z, d, fo } = mlpCommon('toyGenerator()', options);
  const layers: Module[] = [new Linear(z, dim, fo), new ReLU()];
  for (let i = 1; i < hidden; i++) layers.push(new Linear(dim, dim, fo), new ReLU());
  layers.push(new Linear(dim, d, fo));
  const g = new Sequential(...layers) as Sequential & { noiseShape: number[] };
  g.noiseShape = [z];
  return g;
}

/**
 * The toy critic of the WGAN-GP paper: Linear(dataDim, DIM) -> ReLU -> (Linear(DIM, DIM)
 * -> ReLU) × 2 -> Linear(DIM, 1) -> Flatten(0), one score per sample, shape [N].
 */
export function toyCritic(options: Omit<ToyMlpOptions, 'noiseDim'> = {}): Sequential {
  const { dim, hidden, d, fo } = mlpCommon('toyCritic()', options);
  const layers: Module[] = [new Linear(d, dim, fo), new ReLU()];
  for (let i = 1; i < hidden; i++) layers.push(new Linear(dim, dim, fo), new ReLU());
  layers.push(new Linear(dim, 1, fo), new Flatten(0));
  return new Sequential(...layers);
}

/** The noise shape of a generator built here ([noiseDim, 1, 1] or [noiseDim]); undefined otherwise. */
export function noiseShapeOf(g: unknown): number[] | undefined {
  const s = (g as { noiseShape?: unknown } | null)?.noiseShape;
  return Array.isArray(s) && s.every((d) => is.positiveInteger(d)) ? [...s] : undefined;
}

