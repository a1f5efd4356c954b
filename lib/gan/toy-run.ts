// Toy runs (`dataset: 'toy'`) in the engine of ./run.ts: the 2-D sets of lib/data/toy.ts (8 and 25
// Gaussians, Swiss roll) with the WGAN-GP paper's MLPs (toyGenerator / toyCritic), for every loss
// of the engine. What differs from an image run lives here:
//   - the data: an endless seeded stream (ToyBatches over a ToySampler), no files, no --limit;
//     its position (the sampler's RNG state) is the checkpoint's extra.loader, so a resume is exact
//   - the config: dataset 'toy', toy = the set, imgDim 0 and channels 2 (2-D points, no image),
//     baseWidth = the MLPs' hidden width (default 128), no normalisation
//   - the samples: scatter plots of generated (fixed noise) vs real points over the critic's
//     values, instead of image grids; modes covered (modeStats) for the Gaussian mixtures
// ./run imports this module and this module imports ./run: everything of ./run is used at
// call time only (commonjs cycle), never while the modules load.
import * as crypto from 'crypto';
import { Tensor, tidy, linspace, stack } from '../tensor';
import type { Device } from '../tensor';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { ToySampler, TOY_DATASETS, toyCenters, modeStats } from '../data/toy';
import type { ToyName, ModeStats } from '../data/toy';
import type { DataFingerprint } from '../data';
import { toyCritic, toyGenerator } from './models';
import { scatterPlotSvg, svgToPng } from '../io/svg-plot';
import { RunConfigError } from './run-config';
import type { OptionNamer, RunConfig, RunSpec } from './run-config';

export { TOY_DATASETS };
export type { ToyName };

/** A toy run's "data set": an endless stream of 2-D points (what PreparedRun.dataset holds for dataset 'toy'). */
export interface ToyData {
  kind: 'toy';
  name: ToyName;
  source: string;
}

export const TOY_DEFAULT_SET: ToyName = '8gaussians';
/** The MLPs' hidden width unless baseWidth is given (gan_toy.py uses 512; 128 trains in minutes on a CPU). */
export const TOY_DEFAULT_WIDTH = 128;
/** Fixed-noise points of each scatter plot (and real points drawn next to them). */
export const TOY_PLOT_POINTS = 512;
/** Axis range of the scatter plots: [-2.2, 2.2] holds all three sets. */
export const TOY_PLOT_RANGE = 2.2;
/** Seed of the real points drawn on the plots (a stream of its own, not the training stream). */
const PLOT_REAL_SEED = 2_147_483_647;

export function toyData(name: ToyName): ToyData {
  return { kind: 'toy', name, source: `toy set ${name} (2-D points, an endless seeded stream; lib/data/toy.ts)` };
}

export function isToyData(d: unknown): d is ToyData {
  return typeof d === 'object' && d !== null && (d as ToyData).kind === 'toy';
}

/** Refuses the image-only options with dataset 'toy', naming each; returns the toy set. */
export function checkToySpec(spec: RunSpec, name: OptionNamer): ToyName {
  const imageOnly: [keyof RunSpec, string][] = [
    ['data', 'a toy set is generated, not read from a folder'],
    ['limit', 'a toy set is an endless stream'],
    ['imgDim', 'a toy run trains on 2-D points, not images'],
    ['norm', 'the toy networks are MLPs without normalisation'],
    ['criticNorm', 'the toy networks are MLPs without normalisation'],
    ['generatorNorm', 'the toy networks are MLPs without normalisation'],
  ];
  for (const [key, why] of imageOnly) {
    if (spec[key] !== undefined) throw new RunConfigError(`${name(key)} does not apply to ${name('dataset')} toy (${why}); drop it`, key);
  }
  return spec.toy ?? TOY_DEFAULT_SET;
}

/** The toy-specific fields of a RunConfig (the rest is shared with image runs). */
export function toyConfigFields(spec: RunSpec, upsampling: RunConfig['upsampling'], name: OptionNamer): Pick<RunConfig, 'dataset' | 'toy' | 'imgDim' | 'channels' | 'baseWidth' | 'upsampling' | 'criticNorm' | 'generatorNorm'> {
  const toy = checkToySpec(spec, name);
  return { dataset: 'toy', toy, imgDim: 0, channels: 2, baseWidth: spec.baseWidth ?? TOY_DEFAULT_WIDTH, upsampling, criticNorm: 'none', generatorNorm: 'none' };
}

/** The toy MLPs a config describes (generator first, then critic: the order of their random init). */
export function buildToyGenerator(c: Pick<RunConfig, 'noiseDim' | 'baseWidth' | 'device'>) {
  return toyGenerator({ dim: c.baseWidth, noiseDim: c.noiseDim, device: c.device as Device });
}
export function buildToyCritic(c: Pick<RunConfig, 'baseWidth' | 'device'>) {
  return toyCritic({ dim: c.baseWidth, device: c.device as Device });
}

/** Batches of a toy set: the loader of a toy run (same next / stateDict / loadStateDict / dispose). */
export class ToyBatches {
  private readonly sampler: ToySampler;
  constructor(readonly name: ToyName, readonly batchSize: number, seed: number, readonly device: Device) {
    this.sampler = new ToySampler(name, { seed });
  }
  next(): Tensor {
    return this.sampler.sampleTensor(this.batchSize, { device: this.device });
  }
  stateDict(): ReturnType<ToySampler['stateDict']> {
    return this.sampler.stateDict();
  }
  loadStateDict(state: unknown): void {
    this.sampler.loadStateDict(state as ReturnType<ToySampler['stateDict']>);
  }
  dispose(): void {
    // plain JS state only
  }
}

/** A toy set's fingerprint: its name and a hash of the first points of seed 0 (guards the sampler's algorithm). */
export function toyFingerprint(name: ToyName): DataFingerprint {
  const pts = new ToySampler(name, { seed: 0 }).sample(16);
  const h = crypto.createHash('sha256').update(`toy ${name}\n`).update(Buffer.from(pts.buffer, pts.byteOffset, pts.byteLength));
  return { name: `toy:${name}`, n: 0, shape: [2, 1, 1], sha256: h.digest('hex') };
}

/** The critic's values on a size×size grid over the plot range (row 0 at the bottom), for the plot's background. */
export function criticField(critic: Module, device: string, size = 64): Float32Array {
  const was = critic.training;
  critic.eval();
  try {
    return tidy(() => noGrad(() => {
      const lin = linspace(-TOY_PLOT_RANGE, TOY_PLOT_RANGE, size, { device: device as Device });
      const ys = lin.reshape(size, 1).expand(size, size);
      const xs = lin.reshape(1, size).expand(size, size);
      const grid = stack([xs.reshape(-1), ys.reshape(-1)], 1);
      return (critic.forward(grid) as Tensor).to('cpu', 'float32').contiguous().data() as Float32Array;
    }));
  } finally {
    critic.train(was);
  }
}

/**
 * A scatter plot of generated points (blue) against real points of the set (grey) and, for the
 * Gaussian mixtures, the mode centres (orange); over the critic's values when given. An SVG
 * rasterised to PNG: it is the run's sample frame (latest.png, the GIF).
 */
export function toyScatterPng(points: Tensor | Float32Array, name: ToyName, title: string, field?: Float32Array): Buffer {
  const centres = toyCenters(name);
  const real = new ToySampler(name, { seed: PLOT_REAL_SEED }).sample(TOY_PLOT_POINTS);
  return svgToPng(scatterPlotSvg({
    points: real, name: 'real', color: '#9a9a9a', radius: 1, range: TOY_PLOT_RANGE, width: 480, height: 480, title,
    extra: [
      { points: points instanceof Tensor ? points.detach().to('cpu') : points, name: 'generated', color: '#1f77b4', radius: 1 },
      ...(centres ? [{ points: centres, name: 'mode centres', color: '#ff7f0e', radius: 2 }] : []),
    ],
    ...(field ? { field: { values: field, size: Math.round(Math.sqrt(field.length)) } } : {}),
  }));
}

/**
 * Modes covered by 2-D samples (interleaved x, y) of a Gaussian-mixture set, as examples/toy.ts
 * counts them: a mode is covered when >= 1% of the samples lie within 0.1 of its centre.
 * null for the swiss roll (no modes).
 */
export function toyModes(name: ToyName, points: Float32Array): (ModeStats & { modes: number }) | null {
  const centres = toyCenters(name);
  if (!centres) return null;
  const n = points.length / 2;
  return { ...modeStats(points, centres, { threshold: 0.1, minCount: Math.max(1, Math.round(n / 100)) }), modes: centres.length };
}
