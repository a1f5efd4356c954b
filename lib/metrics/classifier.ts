// A small convolutional classifier for 28×28 grayscale images (MNIST, Fashion-MNIST),
// the feature extractor of the quality metrics (lib/metrics): FID/KID/TVD use its
// penultimate features, the classifier score its softmax.
//
//   conv1  Conv2d(1, c1, 3, padding 1) -> ReLU -> MaxPool 2      28 -> 14
//   conv2  Conv2d(c1, c2, 3, padding 1) -> ReLU -> MaxPool 2     14 -> 7
//   (with convsPerStage 2, conv1b Conv2d(c1, c1, 3) -> ReLU and conv2b Conv2d(c2, c2, 3) -> ReLU
//   before each pooling)
//   Flatten -> fc1 Linear(c2·7·7, hidden) -> ReLU                 features(x): [N, hidden]
//   (Dropout in training) -> fc2 Linear(hidden, 10)               logits(x):   [N, 10]
//
// Inputs are [N, 1, 28, 28] (or [N, 784]) in the GAN convention [-1, 1] (the data
// loader's 'tanh' scaling and a tanh generator's output): real and generated images
// go through exactly the same network.
//
// Weights trained by scripts/train-classifier.ts live in models/classifier-<dset>.safetensors,
// with the architecture in the file's metadata ('torch-gan.classifier').
import * as fs from 'fs';
import * as path from 'path';
import { describe, expectedError, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { tensor } from '../tensor/creation';
import type { ImageDataset } from '../data/types';
import type { FeatureMatrix } from './matrix';
import type { Device } from '../tensor/dtype';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { Conv2d, Linear, Dropout } from '../nn/layers';
import * as F from '../nn/functional';
import { readSafetensorsHeader, safetensorsError } from '../io/safetensors';
import { loadModule, saveModule } from '../io/state';

export interface ClassifierOptions {
  /** filters of the first convolution (default 32) */
  c1?: number;
  /** filters of the second convolution (default 64) */
  c2?: number;
  /** width of the penultimate (feature) layer (default 128) */
  hidden?: number;
  /** classes (default 10) */
  classes?: number;
  /** 3×3 convolutions per stage before each pooling: 1 (default) or 2 (conv1, conv1b, …) */
  convsPerStage?: number;
  /** dropout before the last layer, training only (default 0.3) */
  dropout?: number;
  device?: Device;
}

export type ClassifierArch = Required<Omit<ClassifierOptions, 'device'>>;

export const CLASSIFIER_META_KEY = 'torch-gan.classifier';

export class Classifier extends Module {
  readonly arch: ClassifierArch;

  constructor(options: ClassifierOptions = {}) {
    super();
    const pos = (k: 'c1' | 'c2' | 'hidden' | 'classes', d: number): number => {
      const v = options[k] ?? d;
      if (!is.positiveInteger(v)) throw invalidParameterError(`Classifier() options.${k}`, 'a positive integer', v);
      return v;
    };
    const dropout = options.dropout ?? 0.3;
    if (!is.inRange(dropout, 0, 1)) throw invalidParameterError('Classifier() options.dropout', 'a probability in [0, 1]', dropout);
    const convsPerStage = options.convsPerStage ?? 1;
    if (convsPerStage !== 1 && convsPerStage !== 2) throw invalidParameterError('Classifier() options.convsPerStage', '1 or 2', convsPerStage);
    this.arch = { c1: pos('c1', 32), c2: pos('c2', 64), hidden: pos('hidden', 128), classes: pos('classes', 10), convsPerStage, dropout };
    const f = options.device !== undefined ? { device: options.device } : {};
    const a = this.arch;
    this.registerModule('conv1', new Conv2d(1, a.c1, 3, { padding: 1, ...f }));
    if (a.convsPerStage === 2) this.registerModule('conv1b', new Conv2d(a.c1, a.c1, 3, { padding: 1, ...f }));
    this.registerModule('conv2', new Conv2d(a.c1, a.c2, 3, { padding: 1, ...f }));
    if (a.convsPerStage === 2) this.registerModule('conv2b', new Conv2d(a.c2, a.c2, 3, { padding: 1, ...f }));
    this.registerModule('fc1', new Linear(a.c2 * 7 * 7, a.hidden, f));
    this.registerModule('drop', new Dropout(dropout));
    this.registerModule('fc2', new Linear(a.hidden, a.classes, f));
  }

  /** The penultimate features [N, hidden] (after the ReLU) of images [N, 1, 28, 28] or [N, 784] in [-1, 1]. */
  features(x: Tensor): Tensor {
    return tidy(() => {
      let h = x.ndim === 2 ? x.reshape([-1, 1, 28, 28]) : x;
      if (h.ndim !== 4 || h.shape[1] !== 1 || h.shape[2] !== 28 || h.shape[3] !== 28) {
        throw expectedError('Classifier images', 'images of shape [N, 1, 28, 28] (or [N, 784])', `[${x.shape}]`);
      }
      h = F.maxPool2d(this.stage('conv1', h), 2);
      h = F.maxPool2d(this.stage('conv2', h), 2);
      return this.child('fc1').forward(h.flatten(1)).relu();
    });
  }

  /** conv -> ReLU (-> conv -> ReLU with two convolutions per stage). */
  private stage(name: string, x: Tensor): Tensor {
    const h = this.child(name).forward(x).relu();
    return this.arch.convsPerStage === 2 ? this.child(`${name}b`).forward(h).relu() : h;
  }

  /** Logits [N, classes] from features() (so one pass gives both). */
  head(features: Tensor): Tensor {
    return tidy(() => this.child('fc2').forward(this.child('drop').forward(features)));
  }

  /** Logits [N, classes]. */
  logits(x: Tensor): Tensor {
    return tidy(() => this.head(this.features(x)));
  }

  forward(x: Tensor): Tensor {
    return this.logits(x);
  }

  /** Saves the weights with the architecture in the metadata (plus any extra metadata). */
  save(file: string, metadata: Record<string, string> = {}): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    saveModule(this, file, { format: 'pt', ...metadata, [CLASSIFIER_META_KEY]: JSON.stringify(this.arch) });
  }
}

/** Where the committed weights of a data set's classifier are: models/classifier-<dset>.safetensors. */
export function classifierPath(dset: 'mnist' | 'fashion'): string {
  return path.resolve(__dirname, '..', '..', 'models', `classifier-${dset}.safetensors`);
}

/**
 * Loads a trained classifier (eval mode) from a safetensors file written by Classifier.save(),
 * or from the committed weights of 'mnist' / 'fashion'.
 */
export function loadClassifier(fileOrDset: string, options: { device?: Device } = {}): Classifier {
  const file = fileOrDset === 'mnist' || fileOrDset === 'fashion' ? classifierPath(fileOrDset) : path.resolve(fileOrDset);
  if (!fs.existsSync(file)) {
    throw invalidArgument(
      `loadClassifier(): no classifier weights at ${file}. Train them with: npx tsx scripts/train-classifier.ts --dset ${fileOrDset === 'fashion' ? 'fashion' : 'mnist'}` +
        ' (writes models/classifier-<dset>.safetensors)',
      { parameter: 'fileOrDset', expected: "a classifier weights file, 'mnist' or 'fashion'", received: `${file}, which does not exist` },
    );
  }
  const meta = readSafetensorsHeader(file).metadata ?? {};
  const raw = meta[CLASSIFIER_META_KEY];
  let arch: Partial<ClassifierArch> = {};
  if (raw !== undefined) {
    try {
      arch = JSON.parse(raw) as ClassifierArch;
    } catch (e) {
      throw safetensorsError(file, `loadClassifier(): the '${CLASSIFIER_META_KEY}' metadata is not valid JSON (${(e as Error).message})`);
    }
  }
  const model = new Classifier({ ...arch, ...(options.device !== undefined ? { device: options.device } : {}) });
  loadModule(model, file);
  return model.eval();
}

export interface ClassifierOutputs {
  /** penultimate features [N, hidden], float64 */
  features: FeatureMatrix;
  /** softmax probabilities [N, classes], float64 */
  probs: FeatureMatrix;
}

/**
 * Features and class probabilities of many images, in batches, under noGrad, in eval mode
 * (the classifier goes back to its previous mode after). `images` is a tensor [N, 1, 28, 28]
 * in [-1, 1], an ImageDataset (uint8, scaled to [-1, 1] here), or a function giving `size`
 * images starting at `start` (for generated images: only the outputs are kept).
 */
export function classifierOutputs(
  classifier: Classifier,
  images: Tensor | ImageDataset | ((start: number, size: number) => Tensor),
  options: { n?: number; batchSize?: number } = {},
): ClassifierOutputs {
  const batchSize = options.batchSize ?? 500;
  if (!is.positiveInteger(batchSize)) throw invalidParameterError('options.batchSize', 'a positive integer', batchSize);
  let source: (start: number, size: number) => Tensor;
  let n: number | undefined;
  if (images instanceof Tensor) {
    n = images.shape[0];
    source = (s, b) => images.narrow(0, s, b);
  } else if (typeof images === 'function') {
    n = options.n;
    source = images;
  } else if (images !== null && typeof images === 'object' && images.images instanceof Uint8Array) {
    const d = images;
    if (d.channels !== 1 || d.height !== 28 || d.width !== 28) {
      throw invalidArgument(`classifierOutputs(): expected 1×28×28 images, the dataset has ${d.channels}×${d.height}×${d.width}`, {
        parameter: 'images', expected: '1×28×28 images', received: `${d.channels}×${d.height}×${d.width} images`,
      });
    }
    n = d.n;
    source = (s, b) => tensor(d.images.subarray(s * 784, (s + b) * 784), [b, 1, 28, 28]).to(undefined, 'float32').div(127.5).sub(1);
  } else {
    throw invalidParameterError('images', 'a Tensor [N, 1, 28, 28], an ImageDataset or a function (start, size) => Tensor', images);
  }
  if (options.n !== undefined) n = Math.min(n ?? options.n, options.n);
  if (!is.positiveInteger(n)) throw invalidParameterError('options.n', 'the number of images (a positive integer)', n);
  const total = n;
  const device = classifier.parameters()[0]?.device ?? 'cpu';
  const { hidden, classes } = classifier.arch;
  const features = new Float64Array(total * hidden);
  const probs = new Float64Array(total * classes);
  const wasTraining = classifier.training;
  classifier.eval();
  try {
    for (let s = 0; s < total; s += batchSize) {
      const b = Math.min(batchSize, total - s);
      tidy(() => noGrad(() => {
        const x = source(s, b);
        if (!(x instanceof Tensor) || x.shape[0] !== b) {
          throw invalidArgument(`classifierOutputs(): the batch at ${s} should hold ${b} images`, { parameter: `images(${s}, ${b})`, expected: `a Tensor of ${b} images`, received: describe(x) });
        }
        const f = classifier.features(x.to({ device, dtype: 'float32' }));
        const p = F.softmax(classifier.head(f).to(undefined, 'float64'), 1);
        features.set(f.to({ device: 'cpu', dtype: 'float64' }).contiguous().data() as Float64Array, s * hidden);
        probs.set(p.cpu().contiguous().data() as Float64Array, s * classes);
      }));
    }
  } finally {
    classifier.train(wasTraining);
  }
  return { features: { data: features, n: total, d: hidden }, probs: { data: probs, n: total, d: classes } };
}
