// Resuming a run: the checkpoint decides. The data set and every setting come from the
// checkpoint's saved RunConfig (checked field by field, errors naming state.json); a spec key
// given with the resume must agree with it, or the resume is refused naming both values.
// Only what is meaningful to change goes through: how long to train (iters, epochs,
// nBatchPerEpoch), how often to write (sampleEvery, checkpointEvery) and where the data
// lives (data: the data's fingerprint, checked by TrainingRun.create, guards what it holds).
import * as path from 'path';
import { is, TorchError } from '../errors';
import { fingerprintDifference } from '../data';
import type { DataFingerprint, ImageDataset } from '../data';
import { TOY_DATASETS } from '../data/toy';
import type { ToyData } from './toy-run';
import { NORMALIZATIONS, UPSAMPLINGS } from './models';
import { checkpointError, latestCheckpoint } from './checkpoint';
// ./run imports this module: its constants are read at call time only (commonjs cycle)
import { RUN_DSETS, RUN_LOSSES, RUN_OPTIMIZERS } from './run';
import type { OptionNamer, RunConfig, RunSpec } from './run';

/** The spec keys a resume may change. */
export const RESUME_CHANGEABLE: readonly (keyof RunSpec)[] = Object.freeze(['iters', 'epochs', 'nBatchPerEpoch', 'sampleEvery', 'checkpointEvery', 'data']);

/** Each other spec key, as the value the saved RunConfig holds for it. */
const SAVED_VALUE: Record<Exclude<keyof RunSpec, 'iters' | 'epochs' | 'nBatchPerEpoch' | 'sampleEvery' | 'checkpointEvery' | 'data'>, (c: RunConfig) => unknown> = {
  loss: (c) => c.loss,
  generator: (c) => c.generator,
  dset: (c) => c.dset,
  toy: (c) => c.toy,
  imgDim: (c) => c.imgDim,
  limit: (c) => c.limit,
  batchSize: (c) => c.batchSize,
  bnMode: (c) => c.criticNorm,
  gNorm: (c) => c.generatorNorm,
  noiseDim: (c) => c.noiseDim,
  noiseScale: (c) => c.noiseScale,
  noiseKind: (c) => c.noiseKind,
  baseWidth: (c) => c.baseWidth,
  discIterations: (c) => c.nCritic,
  clampLower: (c) => c.clamp.lower,
  clampUpper: (c) => c.clamp.upper,
  optD: (c) => c.optD,
  optG: (c) => c.optG,
  lrD: (c) => c.lrD,
  lrG: (c) => c.lrG,
  beta1: (c) => c.betas[0],
  beta2: (c) => c.betas[1],
  lambda: (c) => c.lambda,
  device: (c) => c.device,
  seed: (c) => c.seed,
};

const show = (v: unknown): string => (v === undefined ? '(not set)' : typeof v === 'string' ? `'${v}'` : String(v));

/**
 * Refuses spec keys that contradict the saved config, naming the option, both values and the file.
 * `spec` should hold only what the user gave explicitly (the CLI drops its defaults).
 */
export function checkAgainstCheckpoint(spec: RunSpec, saved: RunConfig, name: OptionNamer, file: string): void {
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined || (RESUME_CHANGEABLE as string[]).includes(key)) continue;
    const get = SAVED_VALUE[key as keyof typeof SAVED_VALUE];
    if (!get) continue; // unknown keys were refused by validateRunSpec
    const was = get(saved);
    if (was !== value) {
      throw new TorchError(
        `${name(key)} ${show(value)} contradicts the checkpoint's ${show(was)} (${file}): a resumed run keeps its checkpoint's settings ` +
          `(only ${RESUME_CHANGEABLE.map(name).join(', ')} may change); drop ${name(key)}, or start a new run in another output folder`,
        { code: 'ERR_RUN_CONFIG', parameter: key, expected: `the checkpoint's ${show(was)} (or nothing)`, received: show(value) },
      );
    }
  }
}

type Check = (v: unknown) => boolean;
const int = (min: number, max = Infinity): Check => (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const num = (min = -Infinity, max = Infinity): Check => (v) => is.finite(v) && v >= min && v <= max;
const oneOf = (values: readonly string[]): Check => (v) => is.oneOf(v, values);
const optional = (c: Check): Check => (v) => v === undefined || c(v);

/** What a saved RunConfig must hold, field by field (lib/gan/run.ts RunConfig). */
function savedFields(): Record<keyof RunConfig, [Check, string]> {
  return {
    loss: [oneOf(RUN_LOSSES), `one of ${RUN_LOSSES.join(', ')}`],
    generator: [oneOf(UPSAMPLINGS), `one of ${UPSAMPLINGS.join(', ')}`],
    dset: [oneOf(RUN_DSETS), `one of ${RUN_DSETS.join(', ')}`],
    toy: [optional(oneOf(TOY_DATASETS)), `one of ${TOY_DATASETS.join(', ')} or nothing`],
    data: [optional(is.string), 'a folder path or nothing'],
    imgDim: [(v) => v === 0 || v === 28 || v === 32 || v === 64, '28, 32 or 64 (0 for a toy run)'],
    limit: [optional(int(1)), 'a positive integer or nothing'],
    iters: [int(1), 'a positive integer'],
    batchSize: [int(1, 4096), 'an integer in [1, 4096]'],
    criticNorm: [oneOf(NORMALIZATIONS), `one of ${NORMALIZATIONS.join(', ')}`],
    generatorNorm: [oneOf(NORMALIZATIONS), `one of ${NORMALIZATIONS.join(', ')}`],
    noiseDim: [int(1), 'a positive integer'],
    noiseScale: [(v) => is.finite(v) && v > 0, 'a positive number'],
    noiseKind: [oneOf(['normal', 'uniform']), 'normal or uniform'],
    baseWidth: [int(1), 'a positive integer'],
    nCritic: [int(1), 'a positive integer'],
    clamp: [(v) => is.plainObject(v) && is.finite(v.lower) && is.finite(v.upper) && v.lower <= v.upper, '{lower, upper} with lower <= upper'],
    optD: [oneOf(RUN_OPTIMIZERS), `one of ${RUN_OPTIMIZERS.join(', ')}`],
    optG: [oneOf(RUN_OPTIMIZERS), `one of ${RUN_OPTIMIZERS.join(', ')}`],
    lrD: [num(0), 'a non-negative number'],
    lrG: [num(0), 'a non-negative number'],
    betas: [(v) => Array.isArray(v) && v.length === 2 && v.every((b) => is.finite(b) && b >= 0 && b < 1), 'a pair of numbers in [0, 1)'],
    lambda: [num(0), 'a non-negative number'],
    device: [(v) => is.string(v) && /^(cpu|cuda|cuda:\d+)$/.test(v), 'cpu, cuda or cuda:N'],
    seed: [int(0), 'a non-negative integer'],
    sampleEvery: [int(1), 'a positive integer'],
    checkpointEvery: [int(1), 'a positive integer'],
    channels: [int(1), 'a positive integer'],
  };
}

/** The saved config of a checkpoint, checked field by field; errors name the file and the field. */
export function checkSavedRunConfig(config: unknown, file: string): RunConfig {
  if (!is.plainObject(config)) throw checkpointError(file, 'config: expected the run configuration object');
  for (const [key, [ok, expected]] of Object.entries(savedFields())) {
    const v = config[key];
    if (!ok(v)) throw checkpointError(file, `config.${key}: expected ${expected}, received ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  }
  const toy = config.dset === 'toy';
  if (toy !== (config.toy !== undefined) || toy !== (config.imgDim === 0)) {
    throw checkpointError(file, `config: dset ${JSON.stringify(config.dset)}, toy ${JSON.stringify(config.toy)} and imgDim ${JSON.stringify(config.imgDim)} disagree (a toy run has dset 'toy', a toy set and imgDim 0; an image run neither)`);
  }
  return config as unknown as RunConfig;
}

/** A resume's config and data: the checkpoint's, with the changeable keys of `spec` applied. */
export async function prepareResume(
  spec: RunSpec,
  root: string,
  name: OptionNamer,
  loadRunData: (s: Pick<RunSpec, 'dset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name: OptionNamer) => Promise<ImageDataset | ToyData>,
): Promise<{ config: RunConfig; dataset: ImageDataset | ToyData }> {
  const { dir, state } = latestCheckpoint(root);
  const file = path.join(dir, 'state.json');
  const saved = checkSavedRunConfig(state.config, file);
  checkAgainstCheckpoint(spec, saved, name, file);
  const data = spec.data ?? saved.data;
  const dataset = await loadRunData({ dset: saved.dset, data, limit: saved.limit, imgDim: saved.imgDim, ...(saved.toy !== undefined ? { toy: saved.toy } : {}) }, name);
  let iters = spec.iters ?? saved.iters;
  if (spec.epochs !== undefined) {
    if (spec.iters !== undefined) throw new TorchError(`give ${name('iters')} or ${name('epochs')}, not both`, { code: 'ERR_RUN_CONFIG', parameter: 'epochs' });
    if ('kind' in dataset && spec.nBatchPerEpoch === undefined) {
      throw new TorchError(`${name('epochs')} with a toy run needs ${name('nBatchPerEpoch')} (a toy set is an endless stream)`, { code: 'ERR_RUN_CONFIG', parameter: 'nBatchPerEpoch' });
    }
    const perEpoch = spec.nBatchPerEpoch ?? Math.max(1, Math.floor(Math.floor((dataset as ImageDataset).n / saved.batchSize) / saved.nCritic));
    iters = spec.epochs * perEpoch;
  }
  const config: RunConfig = {
    ...saved,
    data,
    iters,
    sampleEvery: spec.sampleEvery ?? saved.sampleEvery,
    checkpointEvery: spec.checkpointEvery ?? saved.checkpointEvery,
  };
  if (config.data === undefined) delete config.data;
  return { config, dataset };
}

/** Refuses to resume a checkpoint on data other than its own (checkpoints before fingerprints: a warning). */
export function checkResumeData(root: string, now: DataFingerprint): void {
  const { dir, state } = latestCheckpoint(root);
  const saved = (state.extra as { data?: DataFingerprint } | undefined)?.data;
  const file = path.join(dir, 'state.json');
  if (saved === undefined) {
    process.emitWarning(`${file} has no data fingerprint (written before torch-gan saved one): the data cannot be checked to be the checkpoint's`, { code: 'TORCH_GAN_NO_DATA_FINGERPRINT' });
    return;
  }
  if (!is.plainObject(saved) || !is.string(saved.sha256) || !Array.isArray(saved.shape)) throw checkpointError(file, `extra.data: expected a data fingerprint {name, n, shape, sha256}, received ${JSON.stringify(saved)}`);
  const diff = fingerprintDifference(saved, now);
  if (diff) throw checkpointError(file, `the data differs from the data this checkpoint was trained on: ${diff}`);
}

