// A complete DCGAN-family training run: the one engine that the CLI (lib/cli/train-run.ts), the
// worker-thread trainer (./worker.ts), the HTTP service and user code all drive.
//
//   prepareRun(spec, {resume})       ->  the config (./run-config.ts) and the data, or a checkpoint's
//   TrainingRun.create(config, data) ->  models, optimizers, loader, trainer, fixed noise
//   run.train({observers, signal})   ->  THE training loop: steps, sample grids, checkpoints; the
//                                        files a run writes come from observers (./artefacts.ts)
//   run.trainStep()                  ->  one step by hand (StepStats)
//   run.saveCheckpoint(root)         ->  crash-safe checkpoint with the loader position and RNG
//
// Order of random draws (and so the numbers) of a run: manualSeed(seed); 64 fixed-noise
// vectors; generator init; critic init; then the trainer's draws. A resume restores the
// RNG state, the loader position, the weights and the optimizer state.
// What a run needs before create (prepareRun, checkDataParallelConfig) is in ./run-prepare.ts.
import { invalidParameterError, is, TorchError } from '../errors';
import { Tensor, tidy, randn, manualSeed } from '../tensor';
import type { Device } from '../tensor';
import { Module } from '../nn/module';
import { Adam, RMSprop, SGD } from '../optim';
import { TensorDataLoader, datasetFingerprint } from '../data';
import type { ImageDataset, LoaderState, DataFingerprint } from '../data';
import { imageGrid } from '../io/png';
import { GanTrainer, StepStats } from './trainer';
import { CheckpointState, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { checkResumeData } from './resume';
import { ToyBatches, ToyData, criticField, isToyData, toyFingerprint, toyScatterPng, TOY_PLOT_POINTS } from './toy-run';
import { RunConfig, RunConfigError, RunSpec } from './run-config';
import { buildGenerator, buildModels, generate, makeOptimizer, seededNoise } from './run-models';
import type { DataParallel } from '../distributed/data-parallel';
import { GeneratorEma } from './ema';
import { lazyAdamHyperparameters } from './penalties';
import { cyclicLabels, rowLabels } from './conditional-step';
import { checkDataParallelConfig, prepareRun } from './run-prepare';
import type { OpenRunOptions } from './run-prepare';

export * from './run-config';
export * from './run-models';
export * from './run-prepare';

/** What a training loop's observer may watch (every method optional; they run in the loop, so keep them short). */
export interface RunObserver {
  /** before the first step; `target` is the iteration the loop aims at */
  onStart?(run: TrainingRun, info: { target: number }): void;
  /** after every step */
  onStep?(run: TrainingRun, stats: StepStats): void;
  /** the fixed-noise grid (PNG bytes; a toy run's scatter plot) every sampleEvery steps and at the last */
  onSample?(run: TrainingRun, step: number, png: Buffer): void;
  /** a complete checkpoint was written in `dir` */
  onCheckpoint?(run: TrainingRun, step: number, dir: string): void;
  /** the loop ended (not called when it throws) */
  onEnd?(run: TrainingRun, end: TrainEnd): void;
}

export interface TrainOptions {
  /** steps to run in this call; default: up to the config's iters */
  iters?: number;
  observers?: RunObserver[];
  /** aborting stops the loop between two steps, after a checkpoint of where it stopped (reason 'aborted') */
  signal?: { readonly aborted: boolean };
  /** polled between steps: 'aborted' stops as the signal does; 'closed' stops without the final checkpoint */
  stop?: () => 'aborted' | 'closed' | null;
  /** the checkpoint root (…/checkpoints); none: no checkpoints */
  checkpointRoot?: string;
  /** default the config's; 0: only at the last step */
  checkpointEvery?: number;
  /** default the config's; 0: no grids */
  sampleEvery?: number;
  /** runs each step's work (the worker's native gate); default: directly */
  around?: <T>(fn: () => T) => T;
}

/** How train() ended. */
export interface TrainEnd {
  step: number;
  reason: 'done' | 'aborted' | 'closed';
  /** the last step's numbers (null when no step ran) */
  last: StepStats | null;
  seconds: number;
}

/** What a resumed run came from. */
export interface ResumedFrom {
  dir: string;
  step: number;
}

interface RunParts {
  config: RunConfig;
  generator: ReturnType<typeof buildGenerator>;
  critic: ReturnType<typeof buildModels>['critic'];
  optG: Adam | RMSprop | SGD;
  optD: Adam | RMSprop | SGD;
  loader: TensorDataLoader | ToyBatches;
  trainer: GanTrainer;
  fixedNoise: Tensor;
  resumedFrom: ResumedFrom | null;
  data: DataFingerprint;
  ema: GeneratorEma | null;
  dataParallel: DataParallel | null;
}

/** TrainingRun.create's options. */
export interface CreateRunOptions {
  /** a checkpoint root: continue its latest checkpoint exactly */
  resumeFrom?: string;
  /**
   * Train data-parallel over this DataParallel's process group (every rank calls create with the
   * same config): config.batchSize is the GLOBAL batch, each rank trains on its rows of it (the
   * loader's shard: DistributedSampler's partition), gradients are averaged after every backward,
   * and rank 0's weights and random state are copied to every rank at the start. Only rank 0
   * writes grids and checkpoints in train(). A checkpoint holds the global loader position, so it
   * resumes on any world size that divides batchSize (one process included).
   */
  dataParallel?: DataParallel;
}

/** A live training run: its networks, optimizers, loader, trainer and fixed noise. */
export class TrainingRun {
  readonly config: RunConfig;
  readonly generator: ReturnType<typeof buildGenerator>;
  readonly critic: ReturnType<typeof buildModels>['critic'];
  readonly optG: Adam | RMSprop | SGD;
  readonly optD: Adam | RMSprop | SGD;
  /** the real batches: an image loader, or a toy run's stream */
  readonly loader: TensorDataLoader | ToyBatches;
  readonly trainer: GanTrainer;
  /** 64 noise vectors drawn right after seeding, for comparable sample grids over training. */
  readonly fixedNoise: Tensor;
  /** Where the run was resumed from, if it was. */
  readonly resumedFrom: ResumedFrom | null;
  /** The training data's fingerprint (saved with every checkpoint; a resume on other data is refused). */
  readonly data: DataFingerprint;
  /** the process group's data-parallel policy when training data-parallel, else null */
  readonly dataParallel: DataParallel | null;
  /** the generator's exponential moving average (config.emaDecay > 0), or null; grids and sample() use it */
  readonly ema: GeneratorEma | null;
  private disposed = false;

  private constructor(parts: RunParts) {
    this.config = parts.config;
    this.generator = parts.generator;
    this.critic = parts.critic;
    this.optG = parts.optG;
    this.optD = parts.optD;
    this.loader = parts.loader;
    this.trainer = parts.trainer;
    this.fixedNoise = parts.fixedNoise;
    this.resumedFrom = parts.resumedFrom;
    this.data = parts.data;
    this.ema = parts.ema;
    this.dataParallel = parts.dataParallel;
  }

  /** This process's rank (0 unless data-parallel); only rank 0 writes grids and checkpoints. */
  get rank(): number {
    return this.dataParallel?.rank ?? 0;
  }

  /** Processes training together (1 unless data-parallel). */
  get worldSize(): number {
    return this.dataParallel?.worldSize ?? 1;
  }

  /**
   * Seeds the RNG, draws the fixed noise, builds and initialises the networks, optimizers,
   * loader and trainer; with resumeFrom (a checkpoint root), continues that checkpoint exactly.
   */
  static create(config: RunConfig, dataset: ImageDataset | ToyData, options: CreateRunOptions = {}): TrainingRun {
    const device = config.device as Device;
    const toy = config.dataset === 'toy' ? config.toy : undefined;
    const dp = options.dataParallel ?? null;
    if (dp !== null) checkDataParallelConfig(config, dp.worldSize);
    const worldSize = dp?.worldSize ?? 1;
    if ((toy !== undefined) !== isToyData(dataset) || (isToyData(dataset) && dataset.name !== toy)) {
      throw new RunConfigError(`TrainingRun.create(): the config (dataset ${config.dataset}${toy ? ` ${toy}` : ''}) and the data (${dataset.source}) disagree`);
    }
    const data = isToyData(dataset) ? toyFingerprint(dataset.name) : datasetFingerprint(dataset, config.dataset);
    if (options.resumeFrom !== undefined) checkResumeData(options.resumeFrom, data);
    const owned: { dispose(): void }[] = [];
    try {
      manualSeed(config.seed);
      // Fixed noise for the sample grids, drawn first so a resume draws the same.
      const fixedNoise = tidy(() => randn(toy ? [TOY_PLOT_POINTS, config.noiseDim] : [64, config.noiseDim, 1, 1], { device }).mul(config.noiseScale)).keep();
      owned.push(fixedNoise);
      const { generator, critic } = buildModels(config);
      owned.push(generator, critic);
      const optG = makeOptimizer(config.optG, generator.parameters(), config.lrG, [config.beta1, config.beta2]);
      owned.push(optG);
      // lazy R1/R2 (StyleGAN2): the critic's optimizer corrected for the extra update every regEvery
      const lazy = config.regEvery > 1 && ((config.r1Gamma ?? 0) > 0 || (config.r2Gamma ?? 0) > 0);
      const dHyper = lazy ? lazyAdamHyperparameters(config.lrD, [config.beta1, config.beta2], config.regEvery) : { lr: config.lrD, betas: [config.beta1, config.beta2] as [number, number] };
      const optD = makeOptimizer(config.optD, critic.parameters(), dHyper.lr, dHyper.betas);
      owned.push(optD);
      // the shadow copies the initialised generator: no random draw, so runs without EMA draw as before
      const ema = (config.emaDecay ?? 0) > 0 ? new GeneratorEma(generator as Module, { decay: config.emaDecay, warmup: config.emaWarmup ?? true }) : null;
      if (ema) owned.push(ema);
      const loader = isToyData(dataset)
        ? new ToyBatches(dataset.name, config.batchSize, config.seed, device)
        : new TensorDataLoader(dataset, { batchSize: config.batchSize, seed: config.seed, device, dropLast: true, ...(dp ? { shard: dp.shard } : {}) });
      owned.push(loader);
      const trainer = new GanTrainer({
        generator: generator as Module,
        critic: critic as Module,
        optG,
        optD,
        loss: config.loss,
        // a conditional run's batches carry their labels (the loader has the data's)
        batches: config.conditional !== undefined ? () => (loader as TensorDataLoader).nextBatch() : () => loader.next(),
        nCritic: config.nCritic,
        noise: { dim: config.noiseDim, kind: config.noiseKind, scale: config.noiseScale },
        batchSize: config.batchSize / worldSize,
        ...(dp ? { dataParallel: dp } : {}),
        ...(config.loss === 'wgan-gp' || config.loss === 'dragan' ? { lambda: config.lambda } : {}),
        ...(config.loss === 'wgan' ? { clamp: { lower: config.clampLower, upper: config.clampUpper } } : {}),
        ...((config.r1Gamma ?? 0) > 0 ? { r1Gamma: config.r1Gamma } : {}),
        ...((config.r2Gamma ?? 0) > 0 ? { r2Gamma: config.r2Gamma } : {}),
        ...(config.regEvery !== undefined ? { regEvery: config.regEvery } : {}),
        ...(config.diffAugment !== undefined ? { diffAugment: config.diffAugment } : {}),
        ...(config.conditional !== undefined ? { conditional: conditionalOf(config) } : {}),
        // a saved config from before precision existed ran in fp32 (resume.ts upgrades it; a hand-made one may lack it)
        precision: config.precision ?? 'fp32',
      });
      let resumedFrom: ResumedFrom | null = null;
      if (options.resumeFrom !== undefined) {
        const st = loadCheckpoint(options.resumeFrom, { generator, critic, optG, optD, ...(ema ? { generatorEma: ema.module } : {}) });
        trainer.iteration = st.step;
        trainer.criticIteration = st.step * config.nCritic;
        const loaderState = (st.extra as { loader?: LoaderState } | undefined)?.loader;
        if (loaderState === undefined) throw new RunConfigError(`checkpoint ${st.dir}: state.json has no loader position (extra.loader); it cannot be resumed exactly`);
        loader.loadStateDict(loaderState as LoaderState);
        resumedFrom = { dir: st.dir, step: st.step };
      }
      // every rank built (or loaded) the same networks; rank 0's weights, buffers and RNG state win (the EMA's too)
      dp?.synchronize([generator as Module, critic as Module, ...(ema ? [ema.module as Module] : [])]);
      return new TrainingRun({ config, generator, critic, optG, optD, loader, trainer, fixedNoise, resumedFrom, data, dataParallel: dp, ema });
    } catch (e) {
      for (const o of owned.reverse()) o.dispose();
      throw e;
    }
  }

  /** Generator updates done (the checkpoint step). */
  get iteration(): number {
    return this.trainer.iteration;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** One training step (nCritic critic updates + one generator update); throws if the losses are not finite. */
  trainStep(): StepStats {
    if (this.disposed) throw new TorchError('TrainingRun: used after dispose()', { code: 'ERR_INVALID_STATE' });
    const s = this.trainer.step();
    // after each generator update, with its 0-based index (the warm-up's clock)
    this.ema?.update(s.iteration - 1);
    if (!Number.isFinite(s.criticLoss) || !Number.isFinite(s.generatorLoss)) {
      throw new TorchError(`training diverged at iteration ${s.iteration}: critic loss ${s.criticLoss}, generator loss ${s.generatorLoss} (try a lower learning rate: lrD, lrG)`, { code: 'ERR_DIVERGED' });
    }
    return s;
  }

  /**
   * THE training loop: steps up to `iters` more iterations (default: up to config.iters), writing
   * a sample grid every sampleEvery steps and a checkpoint every checkpointEvery steps (and at the
   * last step) into checkpointRoot; between two steps it yields to the event loop and checks
   * `signal`/`stop`. Stopped early, it checkpoints where it stopped (reason 'aborted'; 'closed'
   * skips it). Observers (./artefacts.ts: loss log, grids, plot, GIF; the CLI's progress bar; the
   * worker's events) see every step, grid, checkpoint and the end. An error in a step or an
   * observer ends the loop and is thrown; the last checkpoint stays intact.
   */
  async train(options: TrainOptions = {}): Promise<TrainEnd> {
    if (this.disposed) throw new TorchError('TrainingRun: used after dispose()', { code: 'ERR_INVALID_STATE' });
    const o = options;
    const observers = o.observers ?? [];
    const period = (v: number | undefined, fallback: number, key: string): number => {
      if (v === undefined) return fallback;
      if (!is.nonNegativeInteger(v)) throw new TorchError(`train(): ${key} must be a non-negative integer (0: never), received ${String(v)}`, { code: 'ERR_INVALID_ARG', parameter: key, expected: 'a non-negative integer', received: String(v) });
      return v;
    };
    // data-parallel: the ranks hold the same weights, so rank 0 alone writes grids and checkpoints
    const writes = this.rank === 0;
    const sampleEvery = writes ? period(o.sampleEvery, this.config.sampleEvery, 'sampleEvery') : 0;
    const checkpointEvery = period(o.checkpointEvery, this.config.checkpointEvery, 'checkpointEvery');
    const steps = o.iters === undefined ? Math.max(0, this.config.iters - this.iteration) : period(o.iters, 0, 'iters');
    const target = this.iteration + steps;
    const around = o.around ?? (<T>(fn: () => T): T => fn());
    const root = writes ? o.checkpointRoot : undefined;
    const t0 = Date.now();
    let last: StepStats | null = null;
    let lastCheckpoint = -1;
    let reason: TrainEnd['reason'] = 'done';
    const checkpoint = (): void => {
      const dir = this.saveCheckpoint(root!);
      lastCheckpoint = this.iteration;
      for (const ob of observers) ob.onCheckpoint?.(this, this.iteration, dir);
    };
    for (const ob of observers) ob.onStart?.(this, { target });
    for (;;) {
      const stop = o.signal?.aborted ? 'aborted' : o.stop?.() ?? null;
      if (stop) {
        reason = stop;
        break;
      }
      if (this.iteration >= target) break;
      around(() => {
        const stats = this.trainStep();
        last = stats;
        for (const ob of observers) ob.onStep?.(this, stats);
        const step = this.iteration;
        if (sampleEvery > 0 && (step % sampleEvery === 0 || step === target)) {
          const png = this.fixedNoiseGrid();
          for (const ob of observers) ob.onSample?.(this, step, png);
        }
        if (root !== undefined && ((checkpointEvery > 0 && step % checkpointEvery === 0) || step === target)) checkpoint();
      });
      await new Promise<void>((r) => setImmediate(r)); // abort, sample and status requests are read here
    }
    // stopped between two steps (or no step to run): a complete checkpoint of where it stands
    if (reason !== 'closed' && root !== undefined && lastCheckpoint !== this.iteration) around(checkpoint);
    const end: TrainEnd = { step: this.iteration, reason, last, seconds: (Date.now() - t0) / 1000 };
    for (const ob of observers) ob.onEnd?.(this, end);
    return end;
  }

  /** The generator that grids and sample() use: the EMA's shadow when the run keeps one, else the live generator. */
  get samplingGenerator(): Module {
    return (this.ema?.module ?? this.generator) as Module;
  }

  /**
   * The 8×8 grid (padding 2) of the fixed noise's samples as PNG bytes; a toy run's scatter plot of
   * them; a conditional run's: one row per class (row r: class r), 8 columns of the first 8 fixed
   * noise vectors (the same z in every row, so a column shows one z across the classes).
   */
  fixedNoiseGrid(): Buffer {
    if (this.config.conditional !== undefined) return this.classGrid(this.fixedNoise.narrow(0, 0, CLASS_GRID_COLUMNS));
    const images = generate(this.samplingGenerator, this.fixedNoise);
    try {
      if (this.config.toy !== undefined) {
        const title = `${this.config.toy} ${this.config.loss}, step ${this.iteration}`;
        return toyScatterPng(images, this.config.toy, title, criticField(this.critic as Module, this.config.device));
      }
      return imageGrid(images, { nrow: 8, padding: 2 });
    } finally {
      images.dispose();
    }
  }

  /** A conditional run's per-class grid of z [cols, ...]: row r holds G(z_j, r) for every column j. */
  classGrid(z: Tensor): Buffer {
    const k = this.config.numClasses!;
    const cols = z.shape[0];
    const images = tidy(() => {
      const zz = z.unsqueeze(0).expand([k, ...z.shape]).reshape([k * cols, ...z.shape.slice(1)]);
      return generate(this.samplingGenerator, zz, rowLabels(k, cols, this.config.device as Device));
    });
    try {
      return imageGrid(images, { nrow: cols, padding: 2 });
    } finally {
      images.dispose();
    }
  }

  /**
   * n samples from seeded noise (seededNoise: the training RNG is untouched). Free the tensor.
   * A conditional run's: of class `label` if given, else sample i of class i mod numClasses.
   */
  sample(n: number, seed: number, label?: number): Tensor {
    if (!is.positiveInteger(n)) throw invalidParameterError('sample() n', 'a positive integer', n);
    const k = this.config.numClasses;
    if (label !== undefined && (k === undefined || !is.nonNegativeInteger(label) || label >= k)) {
      throw invalidParameterError('sample() label', k === undefined ? 'nothing (the run is not conditional)' : `a class in [0, ${k})`, label);
    }
    const z = seededNoise(this.config, n, seed);
    const device = this.config.device as Device;
    const y = k === undefined ? undefined : label === undefined ? cyclicLabels(n, k, device) : tidy(() => cyclicLabels(n, 1, device).add(label));
    try {
      return generate(this.samplingGenerator, z, y);
    } finally {
      z.dispose();
      y?.dispose();
    }
  }

  /** sample() as a PNG grid. */
  samplePng(n: number, seed: number, nrow = Math.ceil(Math.sqrt(n))): Buffer {
    const images = this.sample(n, seed);
    try {
      if (this.config.toy !== undefined) return toyScatterPng(images, this.config.toy, `${this.config.toy} ${this.config.loss}, step ${this.iteration}`);
      return imageGrid(images, { nrow, padding: 2 });
    } finally {
      images.dispose();
    }
  }

  /** What a checkpoint of this run stores besides the tensors. */
  checkpointState(): CheckpointState {
    return { step: this.iteration, config: this.config as unknown as Record<string, unknown>, extra: { loader: this.loader.stateDict(), data: this.data } };
  }

  /** A crash-safe checkpoint of the current step in `root` (lib/gan/checkpoint); returns its folder. */
  saveCheckpoint(root: string, options: { keep?: number } = {}): string {
    if (this.disposed) throw new TorchError('TrainingRun: used after dispose()', { code: 'ERR_INVALID_STATE' });
    return saveCheckpoint(root, { generator: this.generator, critic: this.critic, optG: this.optG, optD: this.optD, ...(this.ema ? { generatorEma: this.ema.module } : {}) }, this.checkpointState(), options);
  }

  /** Frees every tensor of the run (networks, optimizer state, data, fixed noise). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.loader.dispose();
    this.optD.dispose();
    this.optG.dispose();
    this.critic.dispose();
    this.ema?.dispose();
    this.generator.dispose();
    this.fixedNoise.dispose();
  }
}

/** Columns of a conditional run's per-class sample grid (its rows are the classes). */
export const CLASS_GRID_COLUMNS = 8;

/** The trainer's conditional options of a conditional config. */
function conditionalOf(c: RunConfig): NonNullable<ConstructorParameters<typeof GanTrainer>[0]['conditional']> {
  return { numClasses: c.numClasses!, critic: c.conditional!, ...(c.conditional === 'acgan' ? { acganWeight: c.acganWeight ?? 1 } : {}) };
}

/** prepareRun, then TrainingRun.create: a ready run (resumed when options.resume is given). */
export async function openRun(spec: RunSpec, options: OpenRunOptions = {}): Promise<TrainingRun> {
  const p = await prepareRun(spec, options);
  return TrainingRun.create(p.config, p.dataset, p.resumeFrom !== undefined ? { resumeFrom: p.resumeFrom } : {});
}
