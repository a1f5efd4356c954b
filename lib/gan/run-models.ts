// The networks, optimizers and noise a run configuration describes.
import { Tensor, tensor, tidy } from '../tensor';
import type { Device } from '../tensor';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { Linear } from '../nn/layers/linear';
import { spectralNorm } from '../nn/spectral-norm';
import { Adam, RMSprop, SGD } from '../optim';
import { Rng } from '../data';
import { dcganCritic, dcganGenerator, ImageSize } from './models';
import { buildToyCritic, buildToyGenerator } from './toy-run';
import type { RunConfig, RunDataset, RunOptimizer } from './run-config';

export type ModelConfig = Pick<RunConfig, 'imgDim' | 'noiseDim' | 'baseWidth' | 'channels' | 'upsampling' | 'generatorNorm' | 'criticNorm' | 'loss' | 'device'> & { dataset?: RunDataset; criticSpectralNorm?: boolean };

/** The generator a config describes (dataset 'toy': the toy MLP, ./toy-run). */
export function buildGenerator(c: Omit<ModelConfig, 'criticNorm' | 'loss'>) {
  if (c.dataset === 'toy') return buildToyGenerator(c);
  return dcganGenerator({ imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, upsampling: c.upsampling, normalization: c.generatorNorm });
}

/** The networks a config describes (generator first, then critic: the order of their random init). */
export function buildModels(c: ModelConfig) {
  const generator = buildGenerator(c);
  const sn = c.criticSpectralNorm === true;
  const critic = c.dataset === 'toy' ? buildToyCritic(c) : dcganCritic({ imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as Device, normalization: c.criticNorm, loss: c.loss, spectralNorm: sn });
  // the toy MLP's layers, after their initialisation (dcganCritic does its own)
  if (sn && c.dataset === 'toy') for (const m of critic.modules()) if (m instanceof Linear) spectralNorm(m);
  return { generator, critic };
}

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

/** Evaluates a generator (eval mode, no graph) on z; returns the images, the mode restored. */
export function generate(generator: Module, z: Tensor): Tensor {
  const was = generator.training;
  generator.eval();
  try {
    return tidy(() => noGrad(() => generator.forward(z) as Tensor));
  } finally {
    generator.train(was);
  }
}
