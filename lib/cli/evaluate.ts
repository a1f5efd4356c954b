// Measure a trained generator: FID, KID, the classifier score and the TVD of n generated images
// against the real test set, printed beside the real-vs-real baselines so the numbers can be read.
//   npx torch-gan evaluate --checkpoint generated/checkpoints --n 10000
//   npx torch-gan evaluate --checkpoint fashion-run/checkpoints --dset fashion
//   npx torch-gan evaluate --dset fashion          # only the real-vs-real baselines
// The features come from the small classifier of lib/metrics (models/classifier-<dset>.safetensors,
// trained by scripts/train-classifier.ts); see docs/quality.md for how each metric is computed.
// A conditional run's checkpoint (train --conditional) also gets its label consistency: how often
// the classifier puts a sample in the class it was generated for (sample i: class i mod 10).
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '..';
import { runCli, usageError } from './args';
import { buildModels, RunConfig } from './train-run';
import { latestCheckpoint } from '../gan/checkpoint';
import { checkpointArgument } from './pretrained';
import { resolveCheckpointPath } from './generate';
import { checkSavedRunConfig } from '../gan/resume';
import {
  classifierOutputs, classifierPath, classifierScore, ClassifierOutputs, compareToReference, evaluateGenerator, loadClassifier,
  loadMetricSplit, MetricDset, qualityReference, QualityReport, realBaseline,
} from '../metrics';
import { writeJsonAtomic } from '../io/atomic';
import { SummaryWriter } from '../io/tensorboard';
import { GENERATOR_WEIGHTS, GeneratorWeights, loadSamplingGenerator } from '../gan/sampling-weights';
import { truncatedNoise } from '../gan/truncation';
import { checkTruncation } from './truncation-flag';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from '../data/sources';
import type { LabelConsistency } from '../metrics';

export const evaluateFlags = {
  checkpoint: { type: 'string', help: "a run's checkpoints folder (or one ckpt-N folder); without it, --dset prints only the real-vs-real baselines" },
  pretrained: { type: 'string', help: 'instead of --checkpoint: a generator shipped in the package (fashion, mnist)' },
  n: { type: 'int', min: 10, max: 200000, default: 10000, help: 'generated samples' },
  dset: { type: 'choice', choices: ['mnist', 'fashion'], help: "real data and classifier (default: the run's --dset)" },
  classifier: { type: 'string', help: 'classifier weights (default models/classifier-<dset>.safetensors)' },
  'kid-subsets': { type: 'int', min: 1, default: 100, help: 'KID subsets' },
  'kid-subset-size': { type: 'int', min: 2, default: 1000, help: 'KID rows per subset' },
  splits: { type: 'int', min: 1, default: 10, help: 'classifier-score splits' },
  'tvd-dims': { type: 'int', min: 1, max: 8, default: 2, help: 'PCA dimensions of the TVD' },
  seed: { type: 'int', min: 0, default: 0, help: 'seed of the noise' },
  'batch-size': { type: 'int', min: 1, default: 500, help: 'generation batch' },
  device: { type: 'string', default: 'cpu', help: 'cpu, cuda or cuda:N' },
  json: { type: 'string', help: 'also write the numbers to this JSON file' },
  weights: { type: 'choice', choices: GENERATOR_WEIGHTS, help: "the generator's EMA weights or the live ones (default: ema when the checkpoint has generator_ema, else live); the JSON says which" },
  truncation: { type: 'number', help: 'sample with the truncation trick, as generate --truncation: noise from N(0, 1) truncated to [-PSI, PSI] (normal noise only); the JSON records PSI' },
  'log-dir': { type: 'string', help: "append the metrics as TensorBoard scalars (eval/fid, eval/kid, eval/classifier_score, eval/tvd) at the checkpoint's step to this folder (e.g. the run's train --log-dir)" },
} as const;

export interface CheckpointEvaluation {
  checkpoint: string;
  step: number;
  config: RunConfig;
  /** the generator weights measured: the EMA's or the live generator's */
  weights: GeneratorWeights;
  /** the truncation threshold ψ of the noise (evaluate --truncation); absent: plain noise */
  truncation?: number;
  dset: MetricDset;
  generated: QualityReport;
  /** test half A vs test half B */
  baselineHalves: QualityReport;
  /** n real training images vs the test set: the same sample sizes as the generated comparison */
  baselineTrain: QualityReport;
  realNote: string;
}

/** The real side of an evaluation: the test set's classifier outputs, plus a train sample for the baseline. */
export function realSide(dset: MetricDset, classifier: ReturnType<typeof loadClassifier>, n: number): { test: ClassifierOutputs; train: ClassifierOutputs; note: string } {
  const split = loadMetricSplit(dset);
  const test = classifierOutputs(classifier, split.test);
  const m = Math.min(n, split.train.n);
  const train = classifierOutputs(classifier, split.train, { n: m });
  return { test, train, note: split.note };
}

/** A checkpoint's generator loaded for sampling, with what evaluating it needs. */
export interface CheckpointGenerator {
  generator: ReturnType<typeof buildModels>['generator'];
  config: RunConfig;
  /** the ckpt-N folder */
  dir: string;
  step: number;
  weights: GeneratorWeights;
  dset: MetricDset;
  /** the truncation threshold, checked against the run's noise */
  psi?: number;
  /** generatedOutputs()'s noise options for this run (its scale and kind, the truncation) */
  noiseOptions: { noiseScale: number; noiseKind: 'normal' | 'uniform'; noise?: (shape: number[], fo: { device: tg.Device; dtype: tg.DType }) => tg.Tensor };
}

/**
 * Resolves a checkpoint argument (any form generate accepts), checks that the metrics classifier
 * can judge its images, and loads its generator (weights: ema or live); the caller disposes it.
 */
export function loadCheckpointGenerator(dir: string, o: { dset?: MetricDset; weights?: GeneratorWeights; truncation?: number; device?: string; log?: (m: string) => void } = {}): CheckpointGenerator {
  const log = o.log ?? (() => {});
  // the same forms generate accepts: a checkpoints root, one ckpt-N folder, a run's --out folder, a file in a ckpt-N folder
  const resolved = resolveCheckpointPath(dir, '--checkpoint');
  if (resolved.note) log(`note: ${resolved.note}`);
  const { state, dir: ckDir } = latestCheckpoint(resolved.dir);
  const config = checkSavedRunConfig(state.config, path.join(ckDir, 'state.json'));
  const dset = o.dset ?? (config.dataset === 'mnist' || config.dataset === 'fashion' ? config.dataset : undefined);
  if (dset === undefined) throw usageError(`the run was trained on '${config.dataset}'; the metrics classifier is for 28×28 mnist or fashion (pass --dset to force one)`);
  if (config.imgDim !== 28 || config.channels !== 1) throw usageError(`the generator makes ${config.channels}×${config.imgDim}×${config.imgDim} images; the metrics classifier needs 1×28×28`);
  const psi = checkTruncation(o.truncation, '--truncation', config.noiseKind, ckDir);
  const { generator, critic } = buildModels({ ...config, device: (o.device ?? 'cpu') as tg.Device });
  critic.dispose();
  try {
    const st = loadSamplingGenerator(resolved.dir, generator, o.weights, '--weights');
    return {
      generator, config, dir: ckDir, step: st.step, weights: st.weights, dset, ...(psi !== undefined ? { psi } : {}),
      noiseOptions: {
        noiseScale: config.noiseScale, noiseKind: config.noiseKind,
        ...(psi !== undefined ? { noise: (shape: number[], fo: { device: tg.Device; dtype: tg.DType }) => truncatedNoise(shape, psi, fo) } : {}),
      },
    };
  } catch (e) {
    generator.dispose();
    throw e;
  }
}

/** Loads a checkpoint's generator and evaluates it (with both baselines). */
export function evaluateCheckpoint(dir: string, o: {
  n?: number; dset?: MetricDset; classifier?: string; kidSubsets?: number; kidSubsetSize?: number; splits?: number;
  tvdDims?: number; seed?: number; batchSize?: number; device?: string; log?: (m: string) => void; weights?: GeneratorWeights;
  truncation?: number;
  real?: { test: ClassifierOutputs; train: ClassifierOutputs; note: string };
} = {}): CheckpointEvaluation {
  const log = o.log ?? (() => {});
  const g = loadCheckpointGenerator(dir, o);
  const { config, dset, psi, generator } = g;
  let classifier: ReturnType<typeof loadClassifier> | undefined;
  try {
    const clfFile = o.classifier ?? classifierPath(dset);
    if (!fs.existsSync(clfFile)) {
      throw usageError(`no classifier weights at ${clfFile}; train them with (from a checkout of torch-gan): npx tsx scripts/train-classifier.ts --dset ${dset}`);
    }
    classifier = loadClassifier(clfFile, { device: (o.device ?? 'cpu') as tg.Device });
    const n = o.n ?? 10000;
    const quality = {
      kid: { subsets: o.kidSubsets ?? 100, subsetSize: o.kidSubsetSize ?? 1000, seed: 0 },
      splits: o.splits ?? 10,
      tvd: { dims: o.tvdDims ?? 2 },
    };
    log(`checkpoint ${g.dir} (iteration ${g.step}, ${config.loss} on ${config.dataset}, ${g.weights} weights${psi !== undefined ? `, truncation ${psi}` : ''}); classifier ${clfFile}`);
    const real = o.real ?? realSide(dset, classifier, n);
    log(`real: ${real.note}`);
    const ref = qualityReference(real.test, { tvdDims: quality.tvd.dims });
    if (config.numClasses !== undefined && config.numClasses !== classifier.arch.classes) {
      throw usageError(`the conditional run has ${config.numClasses} classes, the classifier ${clfFile} ${classifier.arch.classes}: its label consistency cannot be measured`);
    }
    const generated = evaluateGenerator(generator, classifier, ref, {
      n, batchSize: o.batchSize ?? 500, seed: o.seed ?? 0, ...g.noiseOptions, ...quality,
      ...(config.numClasses !== undefined ? { numClasses: config.numClasses } : {}),
    });
    const baselineHalves = realBaseline(real.test, { ...quality, tvdDims: quality.tvd.dims });
    const baselineTrain = compareToReference(ref, real.train, quality);
    return { checkpoint: g.dir, step: g.step, config, weights: g.weights, ...(psi !== undefined ? { truncation: psi } : {}), dset, generated, baselineHalves, baselineTrain, realNote: real.note };
  } finally {
    generator.dispose();
    classifier?.dispose();
  }
}

/** Appends an evaluation's numbers of the generated images to TensorBoard event files in logDir, at the checkpoint's step. */
export function logEvaluation(logDir: string, e: CheckpointEvaluation): string {
  const w = new SummaryWriter(logDir);
  try {
    // a new event file beside the run's: TensorBoard merges the files of a folder by step
    w.addScalar('eval/fid', e.generated.fid, e.step);
    w.addScalar('eval/kid', e.generated.kid.mean, e.step);
    w.addScalar('eval/classifier_score', e.generated.score.mean, e.step);
    w.addScalar('eval/tvd', e.generated.tvd, e.step);
  } finally {
    w.close();
  }
  return w.file;
}

const sig = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(3)) : 'n/a');
/** Only the real-vs-real baselines of a data set (no generator). */
export function baselines(dset: MetricDset, o: { n?: number; classifier?: string; kidSubsets?: number; kidSubsetSize?: number; splits?: number; tvdDims?: number; device?: string } = {}) {
  const clfFile = o.classifier ?? classifierPath(dset);
  if (!fs.existsSync(clfFile)) throw usageError(`no classifier weights at ${clfFile}; train them with (from a checkout of torch-gan): npx tsx scripts/train-classifier.ts --dset ${dset}`);
  const classifier = loadClassifier(clfFile, { device: (o.device ?? 'cpu') as tg.Device });
  try {
    const quality = { kid: { subsets: o.kidSubsets ?? 100, subsetSize: o.kidSubsetSize ?? 1000, seed: 0 }, splits: o.splits ?? 10, tvd: { dims: o.tvdDims ?? 2 } };
    const real = realSide(dset, classifier, o.n ?? 10000);
    const ref = qualityReference(real.test, { tvdDims: quality.tvd.dims });
    const testScore = classifierScore(real.test.probs, { splits: quality.splits });
    return {
      dset, realNote: real.note, testScore,
      baselineTrain: compareToReference(ref, real.train, quality),
      baselineHalves: realBaseline(real.test, { ...quality, tvdDims: quality.tvd.dims }),
    };
  } finally {
    classifier.dispose();
  }
}

export function baselineTable(b: ReturnType<typeof baselines>): string {
  const row = (name: string, r: QualityReport) =>
    `| ${name} | ${r.n} vs ${r.nReal} | ${fmt(r.fid)} | ${sig(r.kid.mean)} ± ${sig(r.kid.std)} | ${fmt(r.score.mean)} ± ${fmt(r.score.std)} | ${fmt(r.tvd, 4)} |`;
  return [
    '| real vs real | n vs n | FID | KID | classifier score | TVD (2-D PCA) |',
    '| --- | --- | --- | --- | --- | --- |',
    row(`${b.dset}: train vs test`, b.baselineTrain),
    row(`${b.dset}: test half vs half`, b.baselineHalves),
    `| ${b.dset}: test set's own score | ${b.baselineHalves.nReal * 2} | — | — | ${fmt(b.testScore.mean)} ± ${fmt(b.testScore.std)} | — |`,
  ].join('\n');
}

const fmt = (v: number, digits = 3) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(2));

/** A Markdown table of an evaluation. */
export function evaluationTable(e: CheckpointEvaluation): string {
  const row = (name: string, r: QualityReport) =>
    `| ${name} | ${r.n} vs ${r.nReal} | ${fmt(r.fid)} | ${sig(r.kid.mean)} ± ${sig(r.kid.std)} | ${fmt(r.score.mean)} ± ${fmt(r.score.std)} | ${fmt(r.tvd, 4)} |`;
  return [
    '| samples | n vs test | FID | KID | classifier score | TVD (2-D PCA) |',
    '| --- | --- | --- | --- | --- | --- |',
    row(`generated (iteration ${e.step})`, e.generated),
    row('real: train vs test (baseline)', e.baselineTrain),
    row('real: test half vs half (baseline)', e.baselineHalves),
  ].join('\n');
}

/** A conditional run's label consistency as text: overall, then per class (the data set's class names). */
export function labelConsistencyText(lc: LabelConsistency, dset: MetricDset): string {
  const names = dset === 'fashion' ? FASHION_MNIST_CLASSES : MNIST_CLASSES;
  const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
  return [
    `Label consistency (the classifier puts a sample in its requested class): ${pct(lc.overall)} of ${lc.n} (${lc.correct}); chance is ${pct(1 / lc.counts.length)}`,
    '| class | requested | classified as requested |',
    '| --- | --- | --- |',
    ...lc.perClass.map((v, c) => `| ${c} ${names[c] ?? ''} | ${lc.counts[c]} | ${pct(v)} |`),
  ].join('\n');
}

/** `torch-gan evaluate [flags]`. */
export function evaluateCommand(argv: string[]): void {
  runCli('Evaluate a trained generator (FID, KID, classifier score, TVD) against the test set\n\nUsage: npx torch-gan evaluate --checkpoint DIR | --pretrained NAME [--n 10000] [--dset mnist|fashion]', evaluateFlags, (f) => {
    const checkpoint = checkpointArgument(f, f.dset !== undefined, ' (or --dset mnist|fashion alone for the real-vs-real baselines)');
    if (checkpoint === undefined) {
      const b = baselines(f.dset as MetricDset, {
        n: f.n as number, classifier: f.classifier as string | undefined, kidSubsets: f.kidSubsets as number, kidSubsetSize: f.kidSubsetSize as number,
        splits: f.splits as number, tvdDims: f.tvdDims as number, device: f.device as string,
      });
      console.log(`real: ${b.realNote}\n`);
      console.log(baselineTable(b));
      if (f.json) writeJsonAtomic(path.resolve(f.json as string), b);
      return;
    }
    const e = evaluateCheckpoint(checkpoint, {
      n: f.n as number, dset: f.dset as MetricDset | undefined, classifier: f.classifier as string | undefined,
      kidSubsets: f.kidSubsets as number, kidSubsetSize: f.kidSubsetSize as number, splits: f.splits as number,
      tvdDims: f.tvdDims as number, seed: f.seed as number, batchSize: f.batchSize as number, device: f.device as string,
      log: (m) => console.log(m), ...(f.weights !== undefined ? { weights: f.weights as GeneratorWeights } : {}),
      ...(f.truncation !== undefined ? { truncation: f.truncation as number } : {}),
    });
    console.log('');
    console.log(evaluationTable(e));
    console.log('');
    console.log('Lower is better for FID, KID and TVD; higher is better for the classifier score (at most 10).');
    console.log('The baselines are what real images score at these sample sizes: a generator matching the data would come close to them.');
    if (e.generated.tvdDetail.warning) console.log(`TVD: ${e.generated.tvdDetail.warning}`);
    if (f.logDir !== undefined) console.log(`TensorBoard: ${logEvaluation(path.resolve(f.logDir as string), e)}`);
    if (e.generated.labelConsistency) console.log(`\n${labelConsistencyText(e.generated.labelConsistency, e.dset)}`);
    if (f.json) {
      writeJsonAtomic(path.resolve(f.json as string), e);
      console.log(`wrote ${path.resolve(f.json as string)}`);
    }
  }, argv);
}

