// Putting the metrics together: features of real and generated images from the metrics
// classifier, and FID, KID, the classifier score and the TVD between them.
//
//   const clf = loadClassifier('fashion');
//   const ref = qualityReference(classifierOutputs(clf, testSet));      // once
//   const report = evaluateGenerator(generator, clf, ref, { n: 10000 });  // any time
//
// evaluateGenerator saves and restores the torch RNG state and the generator's train/eval
// mode, so calling it from a training callback (qualityCallback) changes nothing about the
// training run itself.
import type { Device, DType } from '../tensor/dtype';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { getRngState, manualSeed, rand, randn, setRngState, tensor } from '../tensor/creation';
import { noGrad } from '../autograd';
import type { AnyModule, Module } from '../nn/module';
import { describe, invalidArgument, invalidParameterError, is } from '../errors';
import { Classifier, classifierOutputs, ClassifierOutputs } from './classifier';
import { FeatureMatrix, sliceRows } from './matrix';
import { frechetDistanceFromStats, gaussianStats, GaussianStats } from './fid';
import { kernelInceptionDistance, KidOptions } from './kid';
import { classifierScore } from './score';
import { fitPca, Pca, totalVariationDistance, TvdOptions, TvdResult } from './tvd';
import { labelConsistency, LabelConsistency } from './consistency';

/** The real side of the comparison, computed once: features, probabilities, Gaussian stats, PCA. */
export interface QualityReference {
  features: FeatureMatrix;
  probs: FeatureMatrix;
  stats: GaussianStats;
  pca: Pca;
  n: number;
}

export interface QualityOptions {
  /** KID options (default: 100 subsets of min(1000, n) rows, seed 0) */
  kid?: KidOptions;
  /** classifier-score splits (default 10; fewer when there are fewer than 10·100 samples) */
  splits?: number;
  /** TVD options (default: 2-D PCA, grid) */
  tvd?: Omit<TvdOptions, 'pca'>;
}

export interface QualityReport {
  /** generated (or compared) samples */
  n: number;
  /** real samples */
  nReal: number;
  fid: number;
  kid: { mean: number; std: number; subsets: number; subsetSize: number };
  /** classifier score of the compared samples (mean, std over splits) */
  score: { mean: number; std: number; splits: number };
  tvd: number;
  tvdDetail: TvdResult;
  seconds: number;
  /** a conditional generator's (options.numClasses): how often a sample is classified as its requested class */
  labelConsistency?: LabelConsistency;
}

/** Precomputes the real side (Gaussian stats and the PCA of the TVD, dims from options, default 2). */
export function qualityReference(real: ClassifierOutputs, options: { tvdDims?: number } = {}): QualityReference {
  const stats = gaussianStats(real.features, 'real features');
  const pca = fitPca(real.features, options.tvdDims ?? 2);
  return { features: real.features, probs: real.probs, stats, pca, n: real.features.n };
}

function defaultSplits(n: number): number {
  return Math.max(1, Math.min(10, Math.floor(n / 100)));
}

/** FID, KID, classifier score and TVD of `other` against the reference. */
export function compareToReference(ref: QualityReference, other: ClassifierOutputs, options: QualityOptions = {}): QualityReport {
  const t0 = Date.now();
  const n = other.features.n;
  const fid = frechetDistanceFromStats(ref.stats, gaussianStats(other.features, 'generated features'));
  const kidOpts: KidOptions = { subsets: 100, subsetSize: 1000, seed: 0, ...(options.kid ?? {}) };
  const kid = kernelInceptionDistance(ref.features, other.features, kidOpts);
  const splits = options.splits ?? defaultSplits(n);
  const score = classifierScore(other.probs, { splits });
  const tvdOpts = options.tvd ?? {};
  const tvdDetail = ref.pca.k === (tvdOpts.dims ?? ref.pca.k)
    ? totalVariationDistance(ref.features, other.features, { ...tvdOpts, pca: ref.pca })
    : totalVariationDistance(ref.features, other.features, tvdOpts);
  return {
    n,
    nReal: ref.n,
    fid,
    kid: { mean: kid.mean, std: kid.std, subsets: kid.values.length, subsetSize: kid.subsetSize },
    score: { mean: score.mean, std: score.std, splits },
    tvd: tvdDetail.tvd,
    tvdDetail,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * The real-vs-real baseline: the first half of the real samples as the reference, the second
 * half compared against it. What a perfect generator would score at that sample size.
 */
export function realBaseline(real: ClassifierOutputs, options: QualityOptions & { tvdDims?: number } = {}): QualityReport {
  const n = real.features.n;
  const h = Math.floor(n / 2);
  if (h < 2) throw invalidArgument('realBaseline(): needs at least 4 real samples', { parameter: 'real', expected: 'at least 4 samples', received: `${n}` });
  const half = (a: number, b: number): ClassifierOutputs => ({ features: sliceRows(real.features, a, b), probs: sliceRows(real.probs, a, b) });
  const ref = qualityReference(half(0, h), { tvdDims: options.tvdDims ?? options.tvd?.dims });
  return compareToReference(ref, half(h, 2 * h), options);
}

export interface GenerateOptions {
  /** samples (default 10000) */
  n?: number;
  /** generator batch (default 500) */
  batchSize?: number;
  /** shape of one noise vector; default the generator's noiseShape */
  noiseShape?: number[];
  /** 'normal' N(0, scale²) (default) or 'uniform' U[-scale, scale) */
  noiseKind?: 'normal' | 'uniform';
  /** default 1 */
  noiseScale?: number;
  /** seed of the noise (default 0); the global RNG state is restored afterwards */
  seed?: number;
  /**
   * Draws the noise of one batch, of the given shape, at scale 1 (noiseScale is applied after):
   * instead of noiseKind's randn / rand, e.g. a truncated normal (the CLI's evaluate --truncation).
   */
  noise?: (shape: number[], placement: { device: Device; dtype: DType }) => Tensor;
  /**
   * A class-conditional generator, forward(z, labels): sample i is asked for class i mod
   * numClasses (every class alike); the report adds the label consistency.
   */
  numClasses?: number;
}

/** The class generatedOutputs asks for at sample i of a conditional generator. */
export const requestedClass = (i: number, numClasses: number): number => i % numClasses;

/**
 * Features and probabilities of n generated images: the generator runs in eval mode, under
 * noGrad, in batches inside tidy; only the classifier outputs are kept. The torch RNG state
 * and the generator's mode are restored afterwards.
 */
export function generatedOutputs(generator: AnyModule, classifier: Classifier, options: GenerateOptions = {}): ClassifierOutputs {
  const n = options.n ?? 10000;
  if (!is.positiveInteger(n)) throw invalidParameterError('options.n', 'a positive integer', n);
  const k = options.numClasses;
  if (k !== undefined && !is.positiveInteger(k)) throw invalidParameterError('options.numClasses', 'a positive integer (the conditional generator\'s classes)', k);
  const shape = options.noiseShape ?? (generator as Module & { noiseShape?: number[] }).noiseShape;
  if (!Array.isArray(shape) || !shape.every((d) => is.positiveInteger(d))) {
    throw invalidParameterError('options.noiseShape', "the shape of one noise vector (the generator has no noiseShape)", shape);
  }
  const kind = options.noiseKind ?? 'normal';
  const scale = options.noiseScale ?? 1;
  const p0 = generator.parameters()[0];
  const device = p0?.device ?? 'cpu';
  const dtype = p0?.dtype ?? 'float32';
  const state = getRngState();
  const wasTraining = generator.training;
  generator.eval();
  try {
    manualSeed(options.seed ?? 0);
    return classifierOutputs(
      classifier,
      (start, size) => tidy(() => noGrad(() => {
        const z = options.noise !== undefined ? options.noise([size, ...shape], { device, dtype }).mul(scale)
          : kind === 'normal' ? randn([size, ...shape], { device, dtype }).mul(scale) : rand([size, ...shape], { device, dtype }).mul(2 * scale).sub(scale);
        const labels = k === undefined ? undefined : tensor(BigInt64Array.from({ length: size }, (_, j) => BigInt(requestedClass(start + j, k))), [size], { device });
        const x = (labels === undefined ? generator.forward(z) : generator.forward(z, labels)) as Tensor;
        if (!(x instanceof Tensor) || x.shape.length !== 4 || x.shape[1] !== 1 || x.shape[2] !== 28 || x.shape[3] !== 28) {
          throw invalidArgument(`evaluateGenerator(): the generator must make [N, 1, 28, 28] images for the 28×28 classifier; it made [${x instanceof Tensor ? x.shape : '?'}]`, {
            parameter: 'generator', expected: 'a generator of [N, 1, 28, 28] images', received: `one making ${describe(x)}`,
          });
        }
        return x;
      })),
      { n, batchSize: options.batchSize ?? 500 },
    );
  } finally {
    generator.train(wasTraining);
    setRngState(state);
    state.dispose();
  }
}

/** Generates n samples and computes FID, KID, the classifier score and the TVD against the reference. */
export function evaluateGenerator(generator: AnyModule, classifier: Classifier, reference: QualityReference, options: GenerateOptions & QualityOptions = {}): QualityReport {
  const t0 = Date.now();
  const fake = generatedOutputs(generator, classifier, options);
  const report = compareToReference(reference, fake, options);
  const k = options.numClasses;
  const consistency = k === undefined ? {} : { labelConsistency: labelConsistency(fake.probs, Array.from({ length: fake.probs.n }, (_, i) => requestedClass(i, k)), k) };
  return { ...report, ...consistency, seconds: (Date.now() - t0) / 1000 };
}

/**
 * A GanTrainer onStep callback that evaluates the generator every `every` iterations and
 * hands the report to onReport:
 *   trainer.callbacks.onStep = qualityCallback({ classifier, reference, every: 500, n: 2000, onReport: (r, it) => log(it, r.fid) });
 */
export function qualityCallback(o: {
  classifier: Classifier;
  reference: QualityReference;
  every: number;
  onReport: (report: QualityReport, iteration: number) => void;
} & GenerateOptions & QualityOptions): (stats: { iteration: number }, trainer: { generator: Module }) => void {
  if (!is.positiveInteger(o.every)) throw invalidParameterError('every', 'a positive integer', o.every);
  const { classifier, reference, every, onReport, ...opts } = o;
  return (stats, trainer) => {
    if (stats.iteration % every !== 0) return;
    onReport(evaluateGenerator(trainer.generator, classifier, reference, opts), stats.iteration);
  };
}

/** One line per metric, for logs. */
export function formatReport(r: QualityReport): string {
  return `FID ${r.fid.toFixed(3)}  KID ${(r.kid.mean * 1e3).toFixed(3)}e-3 ± ${(r.kid.std * 1e3).toFixed(3)}e-3  score ${r.score.mean.toFixed(3)} ± ${r.score.std.toFixed(3)}  TVD ${r.tvd.toFixed(4)}`;
}
