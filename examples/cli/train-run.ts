// The training engine behind examples/mnist.ts, cifar10.ts and celeba.ts: flags
// (seed 002's names), data, models, trainer, and what a run writes in --out:
//   samples/step-00000200.png + latest.png   8×8 grids from fixed noise
//   losses.jsonl + losses.png                per-iteration numbers and their plot
//   progress.gif                             the grids over training
//   checkpoints/                             crash-safe, resumable (lib/gan/checkpoint)
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../../lib';
import { FlagSpecs, ParsedFlags, UsageError } from './args';
import { Progress } from './progress';
import { loadCheckpoint, saveCheckpoint, latestCheckpoint } from '../../lib/gan/checkpoint';
import { Module } from '../../lib/nn/module';
import { Adam, RMSprop, SGD } from '../../lib/optim';
import { GanTrainer, StepStats, dcganCritic, dcganGenerator, Normalization, Upsampling, ImageSize } from '../../lib/gan';
import { TensorDataLoader, loadDataset, ImageDataset, DatasetName } from '../../lib/data';
import { saveImageGrid, imageGrid } from '../../lib/io/png';
import { saveLinePlot } from '../../lib/io/plot';
import { writeGif } from '../../lib/io/gif';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/io/atomic';

export const LOSSES = ['gan', 'wgan', 'wgan-gp', 'dragan'] as const;
export const DSETS = ['mnist', 'fashion', 'cifar10', 'celeba'] as const;

/** The CLI's flags; `dset` picks the default data set of the example. */
export function trainFlags(dset: (typeof DSETS)[number]): FlagSpecs {
  return {
    loss: { type: 'choice', choices: LOSSES, default: 'wgan-gp', help: 'gan (DCGAN, BCE), wgan (weight clipping), wgan-gp, dragan' },
    generator: { type: 'choice', choices: ['deconv', 'nearest', 'bilinear', 'unpool'], default: 'deconv', help: 'how the generator upsamples' },
    dset: { type: 'choice', choices: DSETS, default: dset, help: 'data set' },
    data: { type: 'string', help: 'data folder (default: ./MNIST, Debian fashion-mnist, ./cifar-10-batches-bin; required for celeba)' },
    'img-dim': { type: 'int', min: 28, max: 64, help: 'image size: 28 (MNIST), 32 (CIFAR-10), 64 (CelebA)' },
    limit: { type: 'int', min: 1, help: 'use only the first N images' },
    epochs: { type: 'int', min: 1, help: 'epochs of n-batch-per-epoch iterations (instead of --iters)' },
    iters: { type: 'int', min: 1, help: 'generator iterations (default 1000 unless --epochs)' },
    'batch-size': { type: 'int', min: 1, max: 4096, default: 64, help: 'batch size' },
    'n-batch-per-epoch': { type: 'int', min: 1, help: 'iterations per epoch (default: one pass over the data)' },
    'bn-mode': { type: 'choice', choices: ['instance', 'batch', 'layer', 'none'], help: "normalisation: the critic's (default instance; batch is refused with a penalty) and the generator's (default instance for wgan kinds, batch for gan)" },
    'g-norm': { type: 'choice', choices: ['instance', 'batch', 'layer', 'none'], help: "the generator's normalisation (overrides --bn-mode for it)" },
    'noise-dim': { type: 'int', min: 1, default: 100, help: 'noise dimension' },
    'noise-scale': { type: 'number', min: 1e-6, default: 1, help: 'noise scale (std for normal, half-width for uniform)' },
    'noise-kind': { type: 'choice', choices: ['normal', 'uniform'], default: 'normal', help: 'noise distribution' },
    'base-width': { type: 'int', min: 1, default: 32, help: 'filters of the widest layer (seed 003: 32)' },
    'disc-iterations': { type: 'int', min: 1, help: 'critic steps per generator step (default 5 for wgan kinds, 1 otherwise)' },
    'clamp-lower': { type: 'number', default: -0.01, help: 'wgan: clip critic weights below this' },
    'clamp-upper': { type: 'number', default: 0.01, help: 'wgan: clip critic weights above this' },
    'opt-d': { type: 'choice', choices: ['adam', 'rmsprop', 'sgd'], help: 'critic optimizer (default: the recipe: adam; rmsprop for wgan)' },
    'opt-g': { type: 'choice', choices: ['adam', 'rmsprop', 'sgd'], help: 'generator optimizer (default: the recipe)' },
    'lr-d': { type: 'number', min: 0, help: 'critic learning rate (default: recipe: 1e-4 wgan-gp/dragan, 5e-5 wgan, 2e-4 gan)' },
    'lr-g': { type: 'number', min: 0, help: 'generator learning rate (default: the recipe)' },
    beta1: { type: 'number', min: 0, max: 1, help: "Adam's beta1 (default: recipe: 0.5)" },
    beta2: { type: 'number', min: 0, max: 1, help: "Adam's beta2 (default: recipe: 0.9; 0.999 for gan)" },
    lambda: { type: 'number', min: 0, default: 10, help: 'gradient penalty weight (wgan-gp, dragan)' },
    device: { type: 'string', default: 'cpu', help: "cpu, cuda or cuda:N" },
    seed: { type: 'int', min: 0, default: 1, help: 'random seed' },
    out: { type: 'string', default: 'generated', help: 'output folder' },
    'sample-every': { type: 'int', min: 1, default: 100, help: 'write a sample grid every N iterations' },
    'checkpoint-every': { type: 'int', min: 1, default: 500, help: 'write a checkpoint every N iterations' },
    resume: { type: 'bool', default: false, help: 'continue from the latest checkpoint in --out' },
    threads: { type: 'int', min: 1, help: "libtorch threads (default: all cores)" },
  };
}

export interface RunConfig {
  loss: (typeof LOSSES)[number];
  generator: Upsampling;
  dset: (typeof DSETS)[number];
  data?: string;
  imgDim: number;
  limit?: number;
  iters: number;
  batchSize: number;
  criticNorm: Normalization;
  generatorNorm: Normalization;
  noiseDim: number;
  noiseScale: number;
  noiseKind: 'normal' | 'uniform';
  baseWidth: number;
  nCritic: number;
  clamp: { lower: number; upper: number };
  optD: 'adam' | 'rmsprop' | 'sgd';
  optG: 'adam' | 'rmsprop' | 'sgd';
  lrD: number;
  lrG: number;
  betas: [number, number];
  lambda: number;
  device: string;
  seed: number;
  sampleEvery: number;
  checkpointEvery: number;
  channels: number;
}

const RECIPE = {
  gan: { opt: 'adam', lr: 2e-4, betas: [0.5, 0.999], nCritic: 1 },
  wgan: { opt: 'rmsprop', lr: 5e-5, betas: [0.5, 0.9], nCritic: 5 },
  'wgan-gp': { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 5 },
  dragan: { opt: 'adam', lr: 1e-4, betas: [0.5, 0.9], nCritic: 1 },
} as const;

/** Flags → a complete, validated run configuration (policy: the published recipes). */
export function resolveConfig(f: ParsedFlags, dataset: { channels: number; height: number; n: number }): RunConfig {
  const loss = f.loss as RunConfig['loss'];
  const recipe = RECIPE[loss];
  const penalty = loss === 'wgan-gp' || loss === 'dragan';
  const criticNorm = (f.bnMode as Normalization | undefined) ?? 'instance';
  if (penalty && criticNorm === 'batch') {
    throw new UsageError(`--bn-mode batch is refused with --loss ${loss}: the gradient penalty is per sample and batch norm couples the samples of a batch; use instance, layer or none`);
  }
  const generatorNorm = (f.gNorm as Normalization | undefined) ?? (f.bnMode as Normalization | undefined) ?? (loss === 'gan' ? 'batch' : 'instance');
  const imgDim = (f.imgDim as number | undefined) ?? dataset.height;
  if (![28, 32, 64].includes(imgDim)) throw new UsageError(`--img-dim must be 28, 32 or 64, received ${imgDim}`);
  if (imgDim !== dataset.height) throw new UsageError(`--img-dim ${imgDim} does not match the data's ${dataset.height}×${dataset.height} images`);
  const nCritic = (f.discIterations as number | undefined) ?? recipe.nCritic;
  const batchSize = f.batchSize as number;
  if (batchSize > dataset.n) throw new UsageError(`--batch-size ${batchSize} is larger than the data set (${dataset.n} images)`);
  let iters = f.iters as number | undefined;
  if (f.epochs !== undefined) {
    if (iters !== undefined) throw new UsageError('give --iters or --epochs, not both');
    const perEpoch = (f.nBatchPerEpoch as number | undefined) ?? Math.max(1, Math.floor(Math.floor(dataset.n / batchSize) / nCritic));
    iters = (f.epochs as number) * perEpoch;
  }
  const lower = f.clampLower as number;
  const upper = f.clampUpper as number;
  if (upper < lower) throw new UsageError(`--clamp-upper (${upper}) must be >= --clamp-lower (${lower})`);
  const device = f.device as string;
  if (!/^(cpu|cuda|cuda:\d+)$/.test(device)) throw new UsageError(`--device expects cpu, cuda or cuda:N, received '${device}'`);
  if (device !== 'cpu' && !tg.cuda.isAvailable()) throw new UsageError(`--device ${device}: CUDA is not available (libtorch ${tg.diagnostics().libtorch.version}, CUDA build: ${tg.diagnostics().libtorch.cudaCompiled})`);
  return {
    loss,
    generator: f.generator as Upsampling,
    dset: f.dset as RunConfig['dset'],
    data: f.data as string | undefined,
    imgDim,
    limit: f.limit as number | undefined,
    iters: iters ?? 1000,
    batchSize,
    criticNorm,
    generatorNorm,
    noiseDim: f.noiseDim as number,
    noiseScale: f.noiseScale as number,
    noiseKind: f.noiseKind as 'normal' | 'uniform',
    baseWidth: f.baseWidth as number,
    nCritic,
    clamp: { lower, upper },
    optD: ((f.optD as string | undefined) ?? recipe.opt) as RunConfig['optD'],
    optG: ((f.optG as string | undefined) ?? recipe.opt) as RunConfig['optG'],
    lrD: (f.lrD as number | undefined) ?? recipe.lr,
    lrG: (f.lrG as number | undefined) ?? recipe.lr,
    betas: [(f.beta1 as number | undefined) ?? recipe.betas[0], (f.beta2 as number | undefined) ?? recipe.betas[1]],
    lambda: f.lambda as number,
    device,
    seed: f.seed as number,
    sampleEvery: f.sampleEvery as number,
    checkpointEvery: f.checkpointEvery as number,
    channels: dataset.channels,
  };
}

/** Loads the run's data set; the MNIST fallback and every source say what they used. */
export async function loadRunData(f: ParsedFlags): Promise<ImageDataset> {
  const dset = f.dset as RunConfig['dset'];
  const dir = f.data as string | undefined;
  const limit = f.limit as number | undefined;
  const opts = { ...(dir ? { dir } : {}), ...(limit ? { limit } : {}) };
  const name: DatasetName = dset === 'fashion' ? 'fashion-mnist' : dset === 'celeba' ? 'folder' : dset;
  if (name === 'folder' && !dir) throw new UsageError('--dset celeba needs --data DIR (a folder of CelebA images, e.g. img_align_celeba)');
  return loadDataset(name, name === 'folder' ? { ...opts, imgDim: (f.imgDim as number | undefined) ?? 64 } : opts);
}

/** Builds the networks a config describes (also used by generate.ts and the tests). */
export function buildModels(c: Pick<RunConfig, 'imgDim' | 'noiseDim' | 'baseWidth' | 'channels' | 'generator' | 'generatorNorm' | 'criticNorm' | 'loss' | 'device'>) {
  const common = { imageSize: c.imgDim as ImageSize, noiseDim: c.noiseDim, baseWidth: c.baseWidth, channels: c.channels, device: c.device as tg.Device };
  const generator = dcganGenerator({ ...common, upsampling: c.generator, normalization: c.generatorNorm });
  const critic = dcganCritic({ ...common, normalization: c.criticNorm, loss: c.loss });
  return { generator, critic };
}

function makeOptimizer(kind: RunConfig['optD'], params: tg.Tensor[], lr: number, betas: [number, number]) {
  if (kind === 'adam') return new Adam(params, { lr, betas });
  if (kind === 'rmsprop') return new RMSprop(params, { lr });
  return new SGD(params, { lr });
}

interface LossRow { iter: number; criticLoss: number; generatorLoss: number; wasserstein: number; penalty: number; gradNorm: number; seconds: number }

/** Runs (or resumes) a training run, writing everything into `out`. */
export async function trainRun(f: ParsedFlags, log: (m: string) => void = (m) => console.log(m)): Promise<{ out: string; config: RunConfig; last?: StepStats }> {
  const out = path.resolve(f.out as string);
  if (f.threads !== undefined) tg.setNumThreads(f.threads as number);
  const dataset = await loadRunData(f);
  log(`data: ${dataset.source}`);
  let config = resolveConfig(f, dataset);
  const ckptDir = path.join(out, 'checkpoints');
  let resumeFrom: ReturnType<typeof latestCheckpoint> | null = null;
  if (f.resume) {
    if (!fs.existsSync(path.join(ckptDir, 'latest.json'))) throw new UsageError(`--resume: no checkpoint in ${ckptDir} (latest.json is missing)`);
    resumeFrom = latestCheckpoint(ckptDir);
    const saved = resumeFrom.state.config as unknown as RunConfig;
    // The architecture and recipe come from the checkpoint; --iters may extend the run.
    config = { ...saved, iters: (f.iters as number | undefined) ?? saved.iters };
    log(`resuming from ${resumeFrom.dir} (iteration ${resumeFrom.state.step})`);
  }
  fs.mkdirSync(path.join(out, 'samples'), { recursive: true });

  tg.manualSeed(config.seed);
  const device = config.device as tg.Device;
  // Fixed noise for the sample grids, drawn first so a resume draws the same.
  const fixedNoise = tg.tidy(() => tg.randn([64, config.noiseDim, 1, 1], { device }).mul(config.noiseScale)).keep();
  const { generator, critic } = buildModels(config);
  const optG = makeOptimizer(config.optG, generator.parameters(), config.lrG, config.betas);
  const optD = makeOptimizer(config.optD, critic.parameters(), config.lrD, config.betas);
  const loader = new TensorDataLoader(dataset, { batchSize: config.batchSize, seed: config.seed, device, dropLast: true });
  const trainer = new GanTrainer({
    generator: generator as Module,
    critic: critic as Module,
    optG,
    optD,
    loss: config.loss,
    batches: () => loader.next(),
    nCritic: config.nCritic,
    noise: { dim: config.noiseDim, kind: config.noiseKind, scale: config.noiseScale },
    batchSize: config.batchSize,
    ...(config.loss === 'wgan-gp' || config.loss === 'dragan' ? { lambda: config.lambda } : {}),
    ...(config.loss === 'wgan' ? { clamp: config.clamp } : {}),
  });

  let start = 0;
  const lossFile = path.join(out, 'losses.jsonl');
  let rows: LossRow[] = [];
  if (resumeFrom) {
    const st = loadCheckpoint(ckptDir, { generator, critic, optG, optD });
    start = st.step;
    trainer.iteration = start;
    loader.loadStateDict((st.extra as { loader: ReturnType<TensorDataLoader['stateDict']> }).loader);
    rows = readRows(lossFile).filter((r) => r.iter <= start);
  } else {
    for (const stale of ['losses.jsonl', 'losses.png', 'progress.gif']) fs.rmSync(path.join(out, stale), { force: true });
  }
  writeFileAtomic(lossFile, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  writeJsonAtomic(path.join(out, 'config.json'), config);
  log(`model: generator ${generator.numParameters()} parameters, critic ${critic.numParameters()}; ${config.loss}, n_critic ${config.nCritic}, ${config.optD} lr ${config.lrD}; ${config.iters} iterations of batch ${config.batchSize} on ${device}`);

  const progress = new Progress(config.iters, start);
  const t0 = Date.now();
  let last: StepStats | undefined;
  const writeSamples = (iter: number) => {
    const images = trainer.sample(64, fixedNoise);
    try {
      const png = imageGrid(images, { nrow: 8, padding: 2 });
      writeFileAtomic(path.join(out, 'samples', `step-${String(iter).padStart(8, '0')}.png`), png);
      writeFileAtomic(path.join(out, 'latest.png'), png);
    } finally {
      images.dispose();
    }
    saveLinePlot(path.join(out, 'losses.png'), {
      title: `${config.loss} on ${config.dset}`,
      xLabel: 'iteration',
      series: [
        { name: config.loss.startsWith('wgan') ? 'negative critic loss' : 'critic loss', values: rows.map((r) => (config.loss.startsWith('wgan') ? -r.criticLoss : r.criticLoss)), x: rows.map((r) => r.iter) },
        { name: 'generator loss', values: rows.map((r) => r.generatorLoss), x: rows.map((r) => r.iter) },
      ],
      smooth: 0.9,
    });
    const frames = fs.readdirSync(path.join(out, 'samples')).filter((n) => /^step-\d{8}\.png$/.test(n)).sort();
    writeGif(path.join(out, 'progress.gif'), frames.map((n) => fs.readFileSync(path.join(out, 'samples', n))), { delayMs: 300 });
  };
  const checkpoint = (iter: number) =>
    saveCheckpoint(ckptDir, { generator, critic, optG, optD }, { step: iter, config: config as unknown as Record<string, unknown>, extra: { loader: loader.stateDict() } });

  try {
    for (let iter = start + 1; iter <= config.iters; iter++) {
      last = trainer.step();
      const row: LossRow = { iter, criticLoss: last.criticLoss, generatorLoss: last.generatorLoss, wasserstein: last.wassersteinEstimate, penalty: last.penalty, gradNorm: last.gradNorm, seconds: (Date.now() - t0) / 1000 };
      rows.push(row);
      fs.appendFileSync(lossFile, JSON.stringify(row) + '\n');
      if (!Number.isFinite(last.criticLoss) || !Number.isFinite(last.generatorLoss)) {
        throw new Error(`training diverged at iteration ${iter}: critic loss ${last.criticLoss}, generator loss ${last.generatorLoss} (try a lower --lr-d/--lr-g)`);
      }
      progress.update(iter, { D: last.criticLoss, G: last.generatorLoss, ...(config.loss === 'wgan-gp' || config.loss === 'wgan' ? { W: last.wassersteinEstimate } : {}) });
      if (iter % config.sampleEvery === 0 || iter === config.iters) writeSamples(iter);
      if (iter % config.checkpointEvery === 0 || iter === config.iters) checkpoint(iter);
    }
  } finally {
    loader.dispose();
  }
  const secs = (Date.now() - t0) / 1000;
  log(`done: ${config.iters - start} iterations in ${secs.toFixed(1)} s (${((config.iters - start) / Math.max(secs, 1e-9)).toFixed(2)} it/s); samples in ${path.join(out, 'latest.png')}, checkpoint in ${ckptDir}`);
  return { out, config, last };
}

function readRows(file: string): LossRow[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LossRow);
}
