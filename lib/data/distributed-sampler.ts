// PyTorch's DistributedSampler: rank r of w draws the indices r, r + w, r + 2w, ... of one
// seeded permutation of the dataset (the same on every rank: same seed, same epoch), so the
// ranks' shards are disjoint. Without dropLast the permutation is padded with its own first
// indices to a multiple of w (every rank gets the same count; a few samples appear twice);
// with dropLast the tail is cut instead.
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { Rng, deriveSeed, permutation } from './random';

export interface DistributedSamplerOptions {
  rank: number;
  worldSize: number;
  /** Permute each epoch (default true); false keeps dataset order. */
  shuffle?: boolean;
  /** Must be the same on every rank (default 0). */
  seed?: number;
  /** Cut the tail instead of padding (default false). */
  dropLast?: boolean;
}

export class DistributedSampler {
  readonly size: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices per rank per epoch. */
  readonly numSamples: number;
  /** numSamples * worldSize. */
  readonly totalSize: number;
  private epoch = 0;

  constructor(size: number, options: DistributedSamplerOptions) {
    const where = 'DistributedSampler';
    if (!is.nonNegativeInteger(size)) throw invalidParameterError(`${where} size`, 'a non-negative integer (the dataset length)', size);
    checkOptionKeys(where, options, ['rank', 'worldSize', 'shuffle', 'seed', 'dropLast']);
    if (!is.plainObject(options)) throw invalidParameterError(`${where} options`, 'a plain object with rank and worldSize', options);
    const { rank, worldSize, shuffle = true, seed = 0, dropLast = false } = options;
    if (!is.positiveInteger(worldSize)) throw invalidParameterError(`${where} option 'worldSize'`, 'a positive integer', worldSize);
    if (!is.nonNegativeInteger(rank) || rank >= worldSize) throw invalidParameterError(`${where} option 'rank'`, `an integer in [0, ${worldSize})`, rank);
    if (!is.bool(shuffle)) throw invalidParameterError(`${where} option 'shuffle'`, 'a boolean', shuffle);
    if (!is.nonNegativeInteger(seed)) throw invalidParameterError(`${where} option 'seed'`, 'a non-negative integer', seed);
    if (!is.bool(dropLast)) throw invalidParameterError(`${where} option 'dropLast'`, 'a boolean', dropLast);
    this.size = size;
    this.rank = rank;
    this.worldSize = worldSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.numSamples = dropLast && size % worldSize !== 0 ? Math.floor(size / worldSize) : Math.ceil(size / worldSize);
    this.totalSize = this.numSamples * worldSize;
  }

  /** Selects the epoch's permutation (call it at the start of each epoch, with the same value on every rank). */
  setEpoch(epoch: number): void {
    if (!is.nonNegativeInteger(epoch)) throw invalidParameterError('DistributedSampler.setEpoch() epoch', 'a non-negative integer', epoch);
    this.epoch = epoch;
  }

  /** This rank's indices for the current epoch. */
  indices(): Uint32Array {
    let all: Uint32Array;
    if (this.shuffle) all = permutation(this.size, new Rng(deriveSeed(this.seed, this.epoch)));
    else all = Uint32Array.from({ length: this.size }, (_, i) => i);
    const padded = new Uint32Array(this.totalSize);
    for (let i = 0; i < this.totalSize; i++) padded[i] = all[i % Math.max(1, this.size)];
    const out = new Uint32Array(this.numSamples);
    for (let k = 0; k < this.numSamples; k++) out[k] = padded[this.rank + k * this.worldSize];
    return out;
  }
}
