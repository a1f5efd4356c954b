// Class-conditional GAN building blocks:
//   ConditionalGenerator     G(z, y) = net([z; embed(y)])  (the label embedding concatenated to the
//                            noise, as in Mirza & Osindero 2014 with a learned embedding)
//   ProjectionCritic         D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩  (Miyato & Koyama 2018, eq. 3)
//   AuxiliaryClassifierCritic D(x) = (score, class logits) for AC-GAN (Odena et al. 2017); its
//                            loss is auxiliaryClassifierLoss in losses.ts
// Each is a Module with its parts as named children, so state-dict keys read `embedding.weight`,
// `net.0.weight`, `features.0.weight`, `linear.weight`. Penalties take a one-argument critic:
// pass `(x) => critic.forward(x, y)`.
import { checkOptionKeys, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { cat } from '../tensor/creation';
import { AnyModule, Module } from '../nn/module';
import { Embedding, Flatten, Linear, Sequential } from '../nn/layers';
import type { FactoryOptions } from '../nn/layers';
import { spectralNorm } from '../nn/spectral-norm';
import { xavierUniform_ } from '../nn/init';
import { dcganCritic, dcganGenerator, DcganCriticOptions, DcganGeneratorOptions } from './models';

function checkLabels(y: unknown, n: number, numClasses: number): asserts y is Tensor {
  if (!(y instanceof Tensor) || (y.dtype !== 'int64' && y.dtype !== 'int32')) {
    throw invalidParameterError('labels', 'an int64 Tensor of class indices', y instanceof Tensor ? `a ${y.dtype} tensor` : y);
  }
  if (y.ndim !== 1 || y.shape[0] !== n) {
    throw invalidParameterError('labels', `a Tensor of shape [${n}] (one class in [0, ${numClasses}) per sample)`, `a tensor of shape [${y.shape}]`);
  }
}

/** G(z, y): the class embedding [N, E] is concatenated to z along dim 1 ([N, Z] or [N, Z, 1, 1]). */
export class ConditionalGenerator extends Module<[Tensor, Tensor], Tensor> {
  readonly numClasses: number;
  /** one noise vector's shape (without the batch dim), for samplers */
  noiseShape?: number[];

  /** `net` takes [N, Z + embeddingDim(, 1, 1)]. */
  constructor(net: AnyModule, numClasses: number, embeddingDim: number, opts: FactoryOptions = {}) {
    super();
    if (!(net instanceof Module)) throw invalidParameterError('net', 'a Module', net);
    if (!is.positiveInteger(numClasses)) throw invalidParameterError('numClasses', 'a positive integer', numClasses);
    this.numClasses = numClasses;
    this.registerModule('embedding', new Embedding(numClasses, embeddingDim, opts));
    this.registerModule('net', net);
  }
  forward(z: Tensor, labels: Tensor): Tensor {
    const n = z.shape[0];
    checkLabels(labels, n, this.numClasses);
    const e = this.child('embedding').forward(labels) as Tensor;
    const e4 = z.ndim === 4 ? e.reshape(n, -1, 1, 1) : e;
    const input = cat([z, e4], 1);
    try {
      return this.child('net').forward(input) as Tensor;
    } finally {
      for (const t of new Set([e, e4, input])) t.dispose();
    }
  }
}

export interface ConditionalDcganGeneratorOptions extends DcganGeneratorOptions {
  numClasses: number;
  /** the label embedding's length (default: numClasses) */
  embeddingDim?: number;
}

/** The DCGAN generator of dcganGenerator(), conditioned by a label embedding concatenated to z. noiseShape: [noiseDim, 1, 1]. */
export function conditionalDcganGenerator(options: ConditionalDcganGeneratorOptions): ConditionalGenerator {
  const where = 'conditionalDcganGenerator()';
  if (!is.plainObject(options)) throw invalidParameterError(`${where} options`, 'an object with numClasses', options);
  const { numClasses, embeddingDim, ...rest } = options;
  if (!is.positiveInteger(numClasses)) throw invalidParameterError(`${where} options.numClasses`, 'a positive integer', numClasses);
  const e = embeddingDim ?? numClasses;
  if (!is.positiveInteger(e)) throw invalidParameterError(`${where} options.embeddingDim`, 'a positive integer', e);
  const z = rest.noiseDim ?? 100;
  if (!is.positiveInteger(z)) throw invalidParameterError(`${where} options.noiseDim`, 'a positive integer', z);
  const net = dcganGenerator({ ...rest, noiseDim: z + e });
  const g = new ConditionalGenerator(net, numClasses, e, { dtype: rest.dtype, device: rest.device });
  g.noiseShape = [z, 1, 1];
  return g;
}

/**
 * The projection discriminator (Miyato & Koyama 2018): D(x, y) = linear(φ(x)) + ⟨embedding(y), φ(x)⟩,
 * φ = `features` (x -> [N, featureDim]); one score per sample, shape [N].
 */
export class ProjectionCritic extends Module<[Tensor, Tensor], Tensor> {
  static readonly perSample = true;
  readonly numClasses: number;
  readonly featureDim: number;

  constructor(features: AnyModule, featureDim: number, numClasses: number, opts: FactoryOptions & { spectralNorm?: boolean } = {}) {
    super();
    if (!(features instanceof Module)) throw invalidParameterError('features', 'a Module (x -> [N, featureDim])', features);
    if (!is.positiveInteger(featureDim)) throw invalidParameterError('featureDim', 'a positive integer', featureDim);
    if (!is.positiveInteger(numClasses)) throw invalidParameterError('numClasses', 'a positive integer', numClasses);
    checkOptionKeys('ProjectionCritic()', opts, ['spectralNorm', 'dtype', 'device']);
    this.numClasses = numClasses;
    this.featureDim = featureDim;
    const fo: FactoryOptions = { dtype: opts.dtype, device: opts.device };
    this.registerModule('features', features);
    const linear = this.registerModule('linear', new Linear(featureDim, 1, fo));
    const embedding = this.registerModule('embedding', new Embedding(numClasses, featureDim, fo));
    // Glorot-uniform, as the authors' code (SNGAN's SNEmbedID, initialW xavier): Embedding's N(0, 1)
    // over featureDim (2048 for a 28-pixel DCGAN of width 32) makes <embed(y), φ(x)> dwarf ψ(φ(x)):
    // the critic's input gradients start ~50x the unconditional one's and WGAN-GP's penalty ~1e5
    xavierUniform_(embedding.param('weight'));
    if (opts.spectralNorm) {
      spectralNorm(linear);
      spectralNorm(embedding);
    }
  }
  /** φ(x), [N, featureDim] */
  features(x: Tensor): Tensor {
    const h = this.child('features').forward(x) as Tensor;
    if (h.ndim !== 2 || h.shape[1] !== this.featureDim) {
      const s = h.shape;
      h.dispose();
      throw invalidArgument(`ProjectionCritic: features must give [N, ${this.featureDim}], gave [${s}]`, {
        parameter: 'ProjectionCritic features', expected: `a module giving [N, ${this.featureDim}]`, received: `one giving [${s}]`,
      });
    }
    return h;
  }
  forward(x: Tensor, labels: Tensor): Tensor {
    checkLabels(labels, x.shape[0], this.numClasses);
    const made: Tensor[] = [];
    const tmp = <T extends Tensor>(t: T): T => (made.push(t), t);
    try {
      const h = tmp(this.features(x));
      const score = tmp(tmp(this.child('linear').forward(h) as Tensor).reshape(-1));
      const e = tmp(this.child('embedding').forward(labels) as Tensor);
      const projection = tmp(tmp(e.mul(h)).sum(1));
      return score.add(projection);
    } finally {
      for (const t of made) t.dispose();
    }
  }
}

/**
 * AC-GAN's critic (Odena et al. 2017): shared features φ, a score head and a class head.
 * forward(x) -> [scores [N], class logits [N, numClasses]].
 */
export class AuxiliaryClassifierCritic extends Module<[Tensor], [Tensor, Tensor]> {
  static readonly perSample = true;
  readonly numClasses: number;
  constructor(features: AnyModule, featureDim: number, numClasses: number, opts: FactoryOptions = {}) {
    super();
    if (!(features instanceof Module)) throw invalidParameterError('features', 'a Module (x -> [N, featureDim])', features);
    if (!is.positiveInteger(featureDim)) throw invalidParameterError('featureDim', 'a positive integer', featureDim);
    if (!is.positiveInteger(numClasses)) throw invalidParameterError('numClasses', 'a positive integer', numClasses);
    this.numClasses = numClasses;
    const fo: FactoryOptions = { dtype: opts.dtype, device: opts.device };
    this.registerModule('features', features);
    this.registerModule('score', new Linear(featureDim, 1, fo));
    this.registerModule('classifier', new Linear(featureDim, numClasses, fo));
  }
  forward(x: Tensor): [Tensor, Tensor] {
    const h = this.child('features').forward(x) as Tensor;
    try {
      const s = this.child('score').forward(h) as Tensor;
      const scores = s.reshape(-1);
      s.dispose();
      return [scores, this.child('classifier').forward(h) as Tensor];
    } finally {
      h.dispose();
    }
  }
}

/**
 * The DCGAN critic's convolutions (dcganCritic() without its last 4×4 convolution) flattened to
 * features [N, 4·4·width] — 4f for 28 and 32 pixels, 8f for 64 — with featureDim beside them.
 */
export function dcganCriticFeatures(options: DcganCriticOptions = {}): { features: Sequential; featureDim: number } {
  const full = dcganCritic(options);
  const kids = full.children();
  const last = kids[kids.length - 2] as AnyModule; // Conv2d(width, 1, 4)
  const width = (last as unknown as { inChannels: number }).inChannels;
  last.dispose();
  return { features: new Sequential(...kids.slice(0, -2), new Flatten(1)), featureDim: width * 16 };
}

export interface ProjectionDcganCriticOptions extends DcganCriticOptions {
  numClasses: number;
}

/** A projection critic over DCGAN features; with spectralNorm: true, SNGAN's cGAN-pd critic layout. */
export function projectionDcganCritic(options: ProjectionDcganCriticOptions): ProjectionCritic {
  const where = 'projectionDcganCritic()';
  if (!is.plainObject(options)) throw invalidParameterError(`${where} options`, 'an object with numClasses', options);
  const { numClasses, ...rest } = options;
  if (!is.positiveInteger(numClasses)) throw invalidParameterError(`${where} options.numClasses`, 'a positive integer', numClasses);
  const { features, featureDim } = dcganCriticFeatures(rest);
  return new ProjectionCritic(features, featureDim, numClasses, { spectralNorm: rest.spectralNorm ?? false, dtype: rest.dtype, device: rest.device });
}
