// Toy 2-D distributions as in the WGAN-GP paper's gan_toy.py (Gulrajani et al. 2017):
//  - '8gaussians': centres 2·(cos k·45°, sin k·45°), k = 0..7, std 0.02, all divided by 1.414
//  - '25gaussians': centres (2i, 2j) for i, j in -2..2 (grid -4..4 step 2), std 0.05, divided by 2.828
//  - 'swissroll': sklearn make_swiss_roll(noise=0.25), coordinates (x, z), divided by 7.5
// Randomness: a small seeded JS PRNG (mulberry32 + Box-Muller, see ./random), NOT the torch
// generator, so samples are identical on every device and unaffected by manualSeed() or by
// what the model draws. Differences from gan_toy.py: mode choice is uniform per sample (the
// original 25gaussians cycles over a fixed shuffled set of 100000 points with equal counts).
import { Tensor, tensor } from '../tensor';
import type { Device } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import { Rng } from './random';

export const TOY_DATASETS = ['8gaussians', '25gaussians', 'swissroll'] as const;
export type ToyName = (typeof TOY_DATASETS)[number];

const S8 = 1.414;
const S25 = 2.828;

/** The 8 mode centres in data space (after the /1.414 scaling): radius 2/1.414 ≈ 1.414. */
export const EIGHT_GAUSSIANS_CENTERS: ReadonlyArray<readonly [number, number]> = Array.from({ length: 8 }, (_, k) => {
  const a = (k * Math.PI) / 4;
  return [(2 * Math.cos(a)) / S8, (2 * Math.sin(a)) / S8] as const;
});
/** The 25 mode centres in data space (after the /2.828 scaling). */
export const TWENTY_FIVE_GAUSSIANS_CENTERS: ReadonlyArray<readonly [number, number]> = (() => {
  const c: [number, number][] = [];
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) c.push([(2 * i) / S25, (2 * j) / S25]);
  return c;
})();
/** Per-coordinate standard deviation of each mode in data space. */
export const TOY_MODE_STD: Readonly<Record<'8gaussians' | '25gaussians', number>> = { '8gaussians': 0.02 / S8, '25gaussians': 0.05 / S25 };

/** The mode centres of a Gaussian-mixture toy set (null for the swiss roll). */
export function toyCenters(name: ToyName): [number, number][] | null {
  checkName(name);
  if (name === '8gaussians') return EIGHT_GAUSSIANS_CENTERS.map((c) => [c[0], c[1]]);
  if (name === '25gaussians') return TWENTY_FIVE_GAUSSIANS_CENTERS.map((c) => [c[0], c[1]]);
  return null;
}

function checkName(name: unknown): asserts name is ToyName {
  if (!is.oneOf(name, TOY_DATASETS)) throw invalidParameterError('name', `one of ${TOY_DATASETS.join(', ')}`, name);
}

/** A stateful, seeded sampler: successive calls continue the stream; stateDict() for checkpoints. */
export class ToySampler {
  readonly name: ToyName;
  private rng: Rng;

  constructor(name: ToyName, options: { seed?: number } = {}) {
    checkName(name);
    checkOptionKeys('ToySampler', options, ['seed']);
    const seed = options.seed ?? 0;
    if (!is.nonNegativeInteger(seed)) throw invalidParameterError('ToySampler options.seed', 'a non-negative integer', seed);
    this.name = name;
    this.rng = new Rng(seed);
  }

  /** n points as interleaved float32 x, y (length 2n). */
  sample(n: number): Float32Array {
    if (!is.nonNegativeInteger(n)) throw invalidParameterError('n', 'a non-negative integer', n);
    const out = new Float32Array(2 * n);
    const r = this.rng;
    if (this.name === '8gaussians' || this.name === '25gaussians') {
      const centres = this.name === '8gaussians' ? EIGHT_GAUSSIANS_CENTERS : TWENTY_FIVE_GAUSSIANS_CENTERS;
      const std = TOY_MODE_STD[this.name];
      for (let i = 0; i < n; i++) {
        const c = centres[r.int(centres.length)];
        out[2 * i] = c[0] + r.normal() * std;
        out[2 * i + 1] = c[1] + r.normal() * std;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const t = 1.5 * Math.PI * (1 + 2 * r.uniform());
        r.uniform(); // sklearn's y = 21 * U(0, 1): drawn for fidelity of the recipe, not returned
        const x = t * Math.cos(t) + 0.25 * r.normal();
        r.normal(); // noise on y
        const z = t * Math.sin(t) + 0.25 * r.normal();
        out[2 * i] = x / 7.5;
        out[2 * i + 1] = z / 7.5;
      }
    }
    return out;
  }

  /** n points as a float32 Tensor (n, 2) on `device` (default cpu). */
  sampleTensor(n: number, options: { device?: Device } = {}): Tensor {
    checkOptionKeys('ToySampler.sampleTensor()', options, ['device']);
    return tensor(this.sample(n), [n, 2], options.device ? { device: options.device } : undefined);
  }

  stateDict(): { name: ToyName; rng: { s: number; spare: number | null } } {
    return { name: this.name, rng: this.rng.getState() };
  }

  loadStateDict(state: { name: ToyName; rng: { s: number; spare: number | null } }): void {
    if (!is.plainObject(state)) throw invalidParameterError('ToySampler.loadStateDict() state', 'an object from stateDict()', state);
    if (state.name !== this.name) {
      throw expectedError('ToySampler.loadStateDict() state', `the state of a '${this.name}' sampler`, `one of a '${String(state.name)}' sampler`);
    }
    this.rng.setState(state.rng);
  }
}

/** n points of a toy set as interleaved float32 x, y (a fresh sampler seeded with `seed`, default 0). */
export function sampleToy(name: ToyName, n: number, options: { seed?: number } = {}): Float32Array {
  return new ToySampler(name, options).sample(n);
}

/** n points of a toy set as a float32 Tensor (n, 2). */
export function toyTensor(name: ToyName, n: number, options: { seed?: number; device?: Device } = {}): Tensor {
  checkOptionKeys('toyTensor()', options, ['seed', 'device']);
  const { device, ...rest } = options;
  return new ToySampler(name, rest).sampleTensor(n, device ? { device } : {});
}

export interface ModeStats {
  /** Points per centre (nearest centre, within the threshold). */
  counts: number[];
  /** Centres with at least `minCount` points. */
  modesCovered: number;
  /** Fraction of points within `threshold` of some centre ("high quality" samples). */
  highQuality: number;
  /** Mean distance to the nearest centre. */
  meanDistance: number;
}

/**
 * Mode statistics of 2-D samples against centres, as in the unrolled-GAN / VEEGAN toy
 * evaluations: a sample counts for its nearest centre when within `threshold`
 * (default 3 standard deviations of the 8-Gaussian modes' std), a mode is covered with >= minCount samples.
 */
export function modeStats(
  points: ArrayLike<number>,
  centres: ReadonlyArray<readonly [number, number]>,
  options: { threshold?: number; minCount?: number } = {},
): ModeStats {
  checkOptionKeys('modeStats()', options, ['threshold', 'minCount']);
  const threshold = options.threshold ?? 3 * TOY_MODE_STD['8gaussians'];
  const minCount = options.minCount ?? 1;
  if (!is.finite(threshold) || threshold <= 0) throw invalidParameterError('modeStats() options.threshold', 'a positive number', threshold);
  if (!is.positiveInteger(minCount)) throw invalidParameterError('modeStats() options.minCount', 'a positive integer', minCount);
  if (points.length % 2 !== 0) throw invalidParameterError('points', 'interleaved x, y values (even length)', points);
  if (centres.length === 0) throw invalidParameterError('centres', 'at least one centre', centres);
  const counts = new Array(centres.length).fill(0);
  const n = points.length / 2;
  let good = 0;
  let sumD = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i], y = points[2 * i + 1];
    let best = Infinity, bk = -1;
    for (let k = 0; k < centres.length; k++) {
      const dx = x - centres[k][0], dy = y - centres[k][1];
      const d = dx * dx + dy * dy;
      if (d < best) { best = d; bk = k; }
    }
    const d = Math.sqrt(best);
    sumD += d;
    if (d <= threshold) { counts[bk]++; good++; }
  }
  return { counts, modesCovered: counts.filter((c) => c >= minCount).length, highQuality: n ? good / n : 0, meanDistance: n ? sumD / n : 0 };
}
