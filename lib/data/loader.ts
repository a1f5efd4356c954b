// A data loader for datasets that fit in (GPU) memory: the whole uint8 dataset
// is ONE tensor on the training device (60000x1x28x28 uint8 is 47 MB), and each
// batch is an index_select with an int64 index plus a 256-entry lookup table for
// the scaling — no per-pixel JS work, no host-device copy per batch.
//
// Order: a seeded JS PRNG (./random) permutes 0..n-1 per epoch, from (seed, epoch)
// alone, so the order is reproducible, independent of the torch RNG, and a resume
// from {epoch, position} continues exactly.
import { Tensor, tensor, tidy } from '../tensor';
import type { Device, DType } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is, TorchError } from '../errors';
import { Rng, deriveSeed, permutation } from './random';
import type { ImageDataset } from './types';

/**
 * How uint8 values x become floats:
 *  'tanh': (2x - 255) / 255 = x/127.5 - 1, in [-1, 1] (ToTensor + Normalize(0.5, 0.5); for tanh generators)
 *  'unit': x / 255, in [0, 1]
 *  'none': float(x)
 * Each is the float32 nearest to the exact value (a lookup table), identical on every device.
 */
export type LoaderScale = 'tanh' | 'unit' | 'none';

export interface TensorDataLoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling (default 0). */
  seed?: number;
  /** Drop the last incomplete batch of each epoch (default true: every batch has batchSize rows). */
  dropLast?: boolean;
  /** Where the dataset and batches live (default 'cpu'). */
  device?: Device;
  /** Scaling of uint8 data (default 'tanh'); float data is returned as is and needs 'none'. */
  scale?: LoaderScale;
  /** Floating dtype of the batches (default float32). */
  dtype?: DType;
  /** Labels (one per row) when `data` is a Tensor; an ImageDataset brings its own. */
  labels?: Uint8Array | Tensor;
  /**
   * Data-parallel: return only this rank's rows of each batch of `batchSize` (the GLOBAL batch):
   * rows rank, rank + worldSize, ... (DistributedSampler's interleaved partition of the same
   * permutation, so the ranks' batches are disjoint and together are the one-process batch).
   * The position and stateDict() are the global ones, so a checkpoint resumes on any world size
   * that divides batchSize. Needs dropLast (every batch must split evenly).
   */
  shard?: { rank: number; worldSize: number };
}
const LOADER_KEYS = ['batchSize', 'shuffle', 'seed', 'dropLast', 'device', 'scale', 'dtype', 'labels', 'shard'] as const;

function checkShard(shard: unknown, batchSize: number, dropLast: boolean): { rank: number; worldSize: number } | null {
  if (shard === undefined) return null;
  const name = 'TensorDataLoader options.shard';
  if (!is.plainObject(shard)) throw invalidParameterError(name, 'an object {rank, worldSize}', shard);
  const { rank, worldSize } = shard as { rank?: unknown; worldSize?: unknown };
  if (!is.positiveInteger(worldSize)) throw invalidParameterError(`${name}.worldSize`, 'a positive integer', worldSize);
  if (!is.nonNegativeInteger(rank) || rank >= worldSize) throw invalidParameterError(`${name}.rank`, `an integer in [0, ${worldSize})`, rank);
  if (batchSize % worldSize !== 0) {
    throw expectedError('TensorDataLoader options.batchSize', `a multiple of the world size ${worldSize} (the global batch is split evenly over the ranks)`, `${batchSize}`);
  }
  if (!dropLast && worldSize > 1) throw invalidParameterError(`${name}`, 'dropLast true with a shard (a short last batch would not split evenly)', 'dropLast false');
  return Object.freeze({ rank, worldSize });
}

/** What stateDict() returns: enough to continue the exact same sequence of batches. */
export interface LoaderState {
  epoch: number;
  /** Samples of the current epoch already returned. */
  position: number;
  seed: number;
  shuffle: boolean;
  batchSize: number;
  dropLast: boolean;
  n: number;
}

export interface LoaderBatch {
  /** (b, ...sample shape) floats. */
  x: Tensor;
  /** (b,) int64 labels, when the loader has labels. */
  y?: Tensor;
  /** The epoch this batch belongs to. */
  epoch: number;
  /** True for the last batch of its epoch. */
  lastInEpoch: boolean;
}

const FLOAT_DTYPES = ['float32', 'float64', 'float16', 'bfloat16'];

function isImageDataset(d: unknown): d is ImageDataset {
  return is.plainObject(d) && d.images instanceof Uint8Array;
}

export class TensorDataLoader {
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly device: Device;
  readonly scale: LoaderScale;
  readonly dtype: DType;
  /** The shape of one sample, e.g. [1, 28, 28]. */
  readonly sampleShape: number[];

  private seed: number;
  private _epoch = 0;
  private _position = 0;
  private data: Tensor | null;
  private labels: Tensor | null = null;
  private lut: Tensor | null = null;
  private perm: Tensor | null = null;
  private permEpoch = -1;
  /** this rank's part of each batch (options.shard), or null for whole batches */
  readonly shard: { readonly rank: number; readonly worldSize: number } | null;

  /**
   * @param data an ImageDataset ({images: Uint8Array NCHW, n, channels, height, width, labels?}, as the
   *   loaders in this module return) or a Tensor whose first dimension indexes samples (uint8 for the
   *   scalings, or float with scale 'none'). A Tensor is not copied when already on `device`; the
   *   loader holds its own reference, so the caller may dispose theirs.
   */
  constructor(data: ImageDataset | Tensor, options: TensorDataLoaderOptions) {
    checkOptionKeys('TensorDataLoader', options, LOADER_KEYS);
    if (!is.plainObject(options)) throw invalidParameterError('TensorDataLoader options', '{batchSize, ...}', options);
    const { batchSize } = options;
    if (!is.positiveInteger(batchSize)) throw invalidParameterError('TensorDataLoader options.batchSize', 'a positive integer', batchSize);
    const shuffle = options.shuffle ?? true;
    const dropLast = options.dropLast ?? true;
    const seed = options.seed ?? 0;
    if (!is.bool(shuffle)) throw invalidParameterError('TensorDataLoader options.shuffle', 'a boolean', shuffle);
    if (!is.bool(dropLast)) throw invalidParameterError('TensorDataLoader options.dropLast', 'a boolean', dropLast);
    if (!is.nonNegativeInteger(seed)) throw invalidParameterError('TensorDataLoader options.seed', 'a non-negative integer', seed);
    const dtype = options.dtype ?? 'float32';
    if (!FLOAT_DTYPES.includes(dtype)) throw invalidParameterError('TensorDataLoader options.dtype', `one of ${FLOAT_DTYPES.join(', ')}`, dtype);
    const device: Device = options.device ?? 'cpu';
    this.shard = checkShard(options.shard, batchSize, dropLast);

    let t: Tensor;
    let labels: Uint8Array | Tensor | undefined = options.labels;
    if (isImageDataset(data)) {
      const { images, n, channels, height, width } = data;
      for (const [k, v] of Object.entries({ n, channels, height, width })) {
        if (!is.positiveInteger(v)) throw invalidParameterError(`TensorDataLoader data.${k}`, 'a positive integer', v);
      }
      if (images.length !== n * channels * height * width) {
        throw expectedError('TensorDataLoader data.images', `${n * channels * height * width} bytes (n x channels x height x width = ${n}x${channels}x${height}x${width})`, `${images.length}`);
      }
      if (labels === undefined) labels = data.labels;
      t = tensor(images, [n, channels, height, width], { device });
    } else if (data instanceof Tensor) {
      if (data.ndim < 1 || data.shape[0] === 0) throw invalidParameterError('TensorDataLoader data', 'a tensor with samples along dimension 0', data);
      t = data.detach().to(device);
    } else {
      throw invalidParameterError('TensorDataLoader data', 'an ImageDataset ({images, n, channels, height, width}) or a Tensor', data);
    }
    this.data = t.keep();
    const srcDtype = t.dtype;
    const scale = options.scale ?? (srcDtype === 'uint8' ? 'tanh' : 'none');
    if (!is.oneOf(scale, ['tanh', 'unit', 'none'] as const)) {
      this.dispose();
      throw invalidParameterError('TensorDataLoader options.scale', "'tanh', 'unit' or 'none'", scale);
    }
    if (scale !== 'none' && srcDtype !== 'uint8') {
      this.dispose();
      throw invalidParameterError('TensorDataLoader options.scale', `'none' for ${srcDtype} data (the scalings map uint8 0..255)`, scale);
    }
    this.n = t.shape[0];
    this.sampleShape = t.shape.slice(1);
    if (dropLast && batchSize > this.n) {
      this.dispose();
      throw expectedError('TensorDataLoader options.batchSize', `a batchSize of at most the dataset size ${this.n} with dropLast (no full batch otherwise)`, `${batchSize}`);
    }
    if (labels !== undefined) {
      try {
        const lt = labels instanceof Tensor ? labels.detach().to(device, 'int64') : labels instanceof Uint8Array ? tensor(labels, [labels.length], { device, dtype: 'int64' }) : null;
        if (lt === null) throw invalidParameterError('TensorDataLoader options.labels', 'a Uint8Array or a Tensor', labels);
        if (lt.ndim !== 1 || lt.shape[0] !== this.n) {
          lt.dispose();
          throw expectedError('TensorDataLoader labels', `${this.n} labels (one per sample)`, `shape [${lt.shape}]`);
        }
        this.labels = lt.keep();
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
    if (scale !== 'none') {
      const table = new Float32Array(256);
      for (let v = 0; v < 256; v++) table[v] = scale === 'tanh' ? (2 * v - 255) / 255 : v / 255;
      const lut = tensor(table, [256], { device });
      this.lut = (dtype === 'float32' ? lut : tidy(() => lut.to(undefined, dtype))).keep();
      if (dtype !== 'float32') lut.dispose();
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.device = device;
    this.scale = scale;
    this.dtype = dtype;
    this.seed = seed;
  }

  /** The epoch of the next batch (0-based). */
  get epoch(): number { return this._epoch; }
  /** Samples of the current epoch already returned. */
  get position(): number { return this._position; }
  /** Batches per epoch. */
  get batchesPerEpoch(): number { return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize); }
  /** Alias of batchesPerEpoch (as len(DataLoader)). */
  get length(): number { return this.batchesPerEpoch; }
  get hasLabels(): boolean { return this.labels !== null; }
  get isDisposed(): boolean { return this.data === null; }

  /** The sample order of an epoch (a permutation of 0..n-1; identity without shuffle). */
  order(epoch: number = this._epoch): Uint32Array {
    if (!is.nonNegativeInteger(epoch)) throw invalidParameterError('epoch', 'a non-negative integer', epoch);
    if (!this.shuffle) return Uint32Array.from({ length: this.n }, (_, i) => i);
    return permutation(this.n, new Rng(deriveSeed(this.seed, epoch)));
  }

  private permFor(epoch: number): Tensor {
    if (this.perm && this.permEpoch === epoch) return this.perm;
    this.perm?.dispose();
    const p = this.order(epoch);
    const big = new BigInt64Array(p.length);
    for (let i = 0; i < p.length; i++) big[i] = BigInt(p[i]);
    this.perm = tensor(big, [p.length], { device: this.device }).keep();
    this.permEpoch = epoch;
    return this.perm;
  }

  private take(withLabels: boolean): LoaderBatch {
    if (this.data === null) throw new TorchError('TensorDataLoader: used after dispose()', { code: 'ERR_INVALID_STATE' });
    // A fresh epoch if what is left cannot make a batch (only after a loadStateDict or a batchSize change).
    const remaining = this.n - this._position;
    if (remaining <= 0 || (this.dropLast && remaining < this.batchSize)) {
      this._epoch++;
      this._position = 0;
    }
    const epoch = this._epoch;
    const b = Math.min(this.batchSize, this.n - this._position);
    const perm = this.permFor(epoch);
    const data = this.data;
    const lut = this.lut;
    const labels = this.labels;
    const pos = this._position;
    const out = tidy(() => {
      const all = perm.narrow(0, pos, b);
      const shard = this.shard;
      const idx = shard && shard.worldSize > 1 ? all.reshape([b / shard.worldSize, shard.worldSize]).select(1, shard.rank) : all;
      const raw = data.indexSelect(0, idx);
      const x = lut ? lut.indexSelect(0, raw.reshape([-1]).to(undefined, 'int64')).reshape(raw.shape) : raw.to(undefined, this.dtype);
      const y = withLabels && labels ? labels.indexSelect(0, idx) : undefined;
      return { x, y };
    });
    this._position += b;
    const left = this.n - this._position;
    const lastInEpoch = left === 0 || (this.dropLast && left < this.batchSize);
    if (lastInEpoch) {
      this._epoch++;
      this._position = 0;
    }
    return { x: out.x, y: out.y, epoch, lastInEpoch };
  }

  /** The next batch of inputs (b, ...sampleShape); moves on to the next epoch by itself. Free it (dispose/tidy). */
  next(): Tensor {
    return this.take(false).x;
  }

  /** The next batch with its labels (if any) and epoch bookkeeping. Free the tensors (dispose/tidy). */
  nextBatch(): LoaderBatch {
    return this.take(true);
  }

  /** The batches left in the current epoch (all of them at an epoch start). */
  *epochBatches(): Generator<Tensor, void, undefined> {
    const start = this._epoch;
    while (this._epoch === start && this.data !== null) yield this.take(false).x;
  }

  [Symbol.iterator](): Generator<Tensor, void, undefined> {
    return this.epochBatches();
  }

  /** {epoch, position, seed, ...}: JSON-serialisable, for checkpoints. */
  stateDict(): LoaderState {
    return { epoch: this._epoch, position: this._position, seed: this.seed, shuffle: this.shuffle, batchSize: this.batchSize, dropLast: this.dropLast, n: this.n };
  }

  /**
   * Continues from a stateDict(): the next batch is the one that would have followed. The dataset size
   * and shuffle flag must match; the seed is taken from the state.
   */
  loadStateDict(state: LoaderState): void {
    if (!is.plainObject(state)) throw invalidParameterError('TensorDataLoader.loadStateDict() state', 'an object from stateDict()', state);
    const s = state as unknown as Record<string, unknown>;
    for (const k of ['epoch', 'position', 'seed', 'n']) {
      if (!is.nonNegativeInteger(s[k])) throw invalidParameterError(`TensorDataLoader.loadStateDict() state.${k}`, 'a non-negative integer', s[k]);
    }
    if (state.n !== this.n) throw expectedError('TensorDataLoader.loadStateDict() state', `a state for a dataset of ${this.n} samples`, `one for ${state.n} samples`);
    if (state.shuffle !== undefined && state.shuffle !== this.shuffle) {
      throw expectedError('TensorDataLoader.loadStateDict() state', `a state with shuffle=${this.shuffle}`, `shuffle=${state.shuffle}`);
    }
    if (state.position > this.n) throw invalidParameterError('TensorDataLoader.loadStateDict() state.position', `an integer in [0, ${this.n}]`, state.position);
    this.seed = state.seed;
    this._epoch = state.epoch;
    this._position = state.position;
    this.permEpoch = -1;
  }

  /** Frees the dataset tensors. */
  dispose(): void {
    this.data?.dispose();
    this.labels?.dispose();
    this.lut?.dispose();
    this.perm?.dispose();
    this.data = this.labels = this.lut = this.perm = null;
  }
}
