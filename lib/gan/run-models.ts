// The networks, optimizers and noise a run configuration describes.
import { invalidParameterError } from '../errors';
import { Tensor, tensor, tidy } from '../tensor';
import type { Device } from '../tensor';
import { noGrad } from '../autograd';
import type { AnyModule } from '../nn/module';
import { Linear } from '../nn/layers/linear';
import { spectralNorm } from '../nn/spectral-norm';
import { Adam, RMSprop, SGD } from '../optim';
import { Rng } from '../data';
import { dcganCritic, dcganGenerator, ImageSize } from './models';
import { AuxiliaryClassifierCritic, conditionalDcganGenerator, dcganCriticFeatures, projectionDcganCritic } from './conditional';
import { buildToyCritic, buildToyGenerator } from './toy-run';
import type { RunConfig, RunDataset, RunOptimizer } from './run-config';
import { withRunMemoryFormat } from './memory-format';

export type ModelConfig = Pick<RunConfig, 'imgDim' | 'noiseDim' | 'baseWidth' | 'channels' | 'upsampling' | 'generatorNorm' | 'criticNorm' | 'loss' | 'device'>
  & Partial<Pick<RunConfig, 'conditional' | 'numClasses'>> & { dataset?: RunDataset; criticSpectralNorm?: boolean };

/**
 * A run's generator: forward(z) for an unconditional run, forward(z, labels) for a conditional one
 * (hence any-argument); noiseShape is one z's shape.
 */
export type RunGenerator = AnyModule & { noiseShape?: number[] };
/** A run's critic: forward(x); a conditional run's projection critic forward(x, labels), its AC-GAN critic forward(x) -> [scores, logits]. */
export type RunCritic = AnyModule;

/** A conditional config's class count, checked (the networks' label embeddings are this long). */
function classesOf(c: Partial<Pick<RunConfig, 'conditional' | 'numClasses'>>): number {
  if (!Number.isSafeInteger(c.numClasses) || (c.numClasses as number) < 1) throw invalidParameterError('config.numClasses', `a positive integer with conditional '${c.conditional}'`, c.numClasses);
  return c.numClasses as number;
}

/**
 * The generator a config describes (dataset 'toy': the toy MLP, ./toy-run; a conditional run:
 * the DCGAN generator with a label embedding concatenated to z, ./conditional).
 */
export function buildGenerator(c: Omit<ModelConfig, 'criticNorm' | 'loss'>): RunGenerator {
  if (c.dataset === 'toy') return buildToyGenerator(c);
  const o = { imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, upsampling: c.upsampling, normalization: c.generatorNorm };
  const g = c.conditional !== undefined ? conditionalDcganGenerator({ ...o, numClasses: classesOf(c) }) : dcganGenerator(o);
  return withRunMemoryFormat(g, c.device);
}

/**
 * The networks a config describes (generator first, then critic: the order of their random init).
 * A conditional run's critic: conditional 'projection' a ProjectionCritic over the DCGAN critic's
 * features, 'acgan' an AuxiliaryClassifierCritic (score and class heads) over the same features.
 */
export function buildModels(c: ModelConfig): { generator: RunGenerator; critic: RunCritic } {
  const generator = buildGenerator(c);
  const sn = c.criticSpectralNorm === true;
  const o = { imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, normalization: c.criticNorm, loss: c.loss, spectralNorm: sn };
  let critic: RunCritic;
  if (c.dataset === 'toy') critic = buildToyCritic(c);
  else if (c.conditional === 'projection') critic = projectionDcganCritic({ ...o, numClasses: classesOf(c) }); // SN on its linear and embedding too
  else if (c.conditional === 'acgan') {
    const { features, featureDim } = dcganCriticFeatures(o);
    critic = new AuxiliaryClassifierCritic(features, featureDim, classesOf(c), { device: o.device });
    if (sn) for (const head of ['score', 'classifier']) spectralNorm(critic.child(head) as Linear);
  } else critic = dcganCritic(o);
  // the toy MLP's layers, after their initialisation (dcganCritic does its own)
  if (sn && c.dataset === 'toy') for (const m of critic.modules()) if (m instanceof Linear) spectralNorm(m);
  return { generator, critic: c.dataset === 'toy' ? critic : withRunMemoryFormat(critic, c.device) };
}

export { cyclicLabels, rowLabels } from './conditional-step';

export function makeOptimizer(kind: RunOptimizer, params: Tensor[], lr: number, betas: [number, number]): Adam | RMSprop | SGD {
  if (kind === 'adam') return new Adam(params, { lr, betas });
  if (kind === 'rmsprop') return new RMSprop(params, { lr });
  return new SGD(params, { lr });
}

/**
 * n noise vectors for `config`'s generator from a JS PRNG seeded with `seed`: the torch RNG
 * (and so the training run's random numbers) is not touched. Shape [n, noiseDim, 1, 1] on the device
 * ([n, noiseDim] for a toy run's MLP).
 */
export function seededNoise(config: Pick<RunConfig, 'noiseDim' | 'noiseScale' | 'noiseKind' | 'device'> & { dataset?: RunDataset }, n: number, seed: number): Tensor {
  const rng = new Rng(seed);
  const z = new Float32Array(n * config.noiseDim);
  const s = config.noiseScale;
  if (config.noiseKind === 'uniform') for (let i = 0; i < z.length; i++) z[i] = (2 * rng.uniform() - 1) * s;
  else for (let i = 0; i < z.length; i++) z[i] = rng.normal() * s;
  return tensor(z, config.dataset === 'toy' ? [n, config.noiseDim] : [n, config.noiseDim, 1, 1], { device: config.device as Device });
}

/** Evaluates a generator (eval mode, no graph) on z (and a conditional generator's labels); returns the images, the mode restored. */
export function generate(generator: AnyModule, z: Tensor, labels?: Tensor): Tensor {
  const was = generator.training;
  generator.eval();
  try {
    return tidy(() => noGrad(() => (labels === undefined ? generator.forward(z) : generator.forward(z, labels)) as Tensor));
  } finally {
    generator.train(was);
  }
}
