// Resuming a run: the checkpoint decides. The data set and every setting come from the
// checkpoint's saved RunConfig (checked field by field, errors naming state.json); a spec key
// given with the resume must agree with it, or the resume is refused naming both values.
// Only what is meaningful to change goes through: how long to train (iters, epochs,
// nBatchPerEpoch), how often to write (sampleEvery, checkpointEvery) and where the data
// lives (data: the data's fingerprint, checked by TrainingRun.create, guards what it holds).
import * as path from 'path';
import { is } from '../errors';
import { fingerprintDifference } from '../data';
import type { DataFingerprint, ImageDataset } from '../data';
import type { ToyData } from './toy-run';
import { checkpointError, latestCheckpoint } from './checkpoint';
// ./run imports this module: its constants are read at call time only (commonjs cycle)
import { RUN_OPTIONS, RUN_SPEC_KEYS, RunConfigError, optionExpected, optionProblem } from './run-config';
import type { OptionNamer, RunConfig, RunSpec } from './run-config';

/** The spec keys a resume may change (RUN_OPTIONS' `resumable`). */
export const RESUME_CHANGEABLE: readonly (keyof RunSpec)[] = Object.freeze(RUN_SPEC_KEYS.filter((k) => RUN_OPTIONS[k].resumable));

/** A spec key's value as the saved RunConfig holds it: the same key, except the input-only `norm` (both networks'). */
function savedValue(key: keyof RunSpec, c: RunConfig): unknown {
  if (key === 'norm') return c.criticNorm === c.generatorNorm ? c.criticNorm : `${c.criticNorm} (critic) / ${c.generatorNorm} (generator)`;
  if (key === 'conditional') return c.conditional ?? 'none'; // an unconditional config leaves it out
  return (c as unknown as Record<string, unknown>)[key];
}

const show = (v: unknown): string => (v === undefined ? '(not set)' : typeof v === 'string' ? `'${v}'` : String(v));

/**
 * Refuses spec keys that contradict the saved config, naming the option, both values and the file.
 * `spec` should hold only what the user gave explicitly (the CLI drops its defaults).
 */
export function checkAgainstCheckpoint(spec: RunSpec, saved: RunConfig, name: OptionNamer, file: string): void {
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined || (RESUME_CHANGEABLE as string[]).includes(key)) continue;
    if (!(key in RUN_OPTIONS)) continue; // unknown keys were refused by validateRunSpec
    const was = savedValue(key as keyof RunSpec, saved);
    if (was !== value) {
      throw new RunConfigError(
        `${name(key)} ${show(value)} contradicts the checkpoint's ${show(was)} (${file}): a resumed run keeps its checkpoint's settings ` +
          `(only ${RESUME_CHANGEABLE.map(name).join(', ')} may change); drop ${name(key)}, or start a new run in another output folder`,
        key,
      );
    }
  }
}

/** What a saved config without the practitioner options means: each one off (DiffAugment: absent). */
const FEATURES_OFF: Readonly<Record<string, number | boolean | string>> = Object.freeze({ criticSpectralNorm: false, r1Gamma: 0, r2Gamma: 0, regEvery: 1, emaDecay: 0, emaWarmup: true, precision: 'fp32' });

/**
 * A saved config in the current names. Checkpoints before the one-config schema (torch-gan 0.1,
 * sessions up to 5) saved dset, generator (the upsampling), clamp {lower, upper} and betas [b1, b2].
 */
export function upgradeSavedConfig(config: Record<string, unknown>): Record<string, unknown> {
  const c = { ...config };
  const rename = (from: string, to: string) => {
    if (from in c && !(to in c)) c[to] = c[from];
    delete c[from];
  };
  rename('dset', 'dataset');
  if (typeof c.generator === 'string') rename('generator', 'upsampling');
  if (is.plainObject(c.clamp)) {
    c.clampLower ??= c.clamp.lower;
    c.clampUpper ??= c.clamp.upper;
    delete c.clamp;
  }
  if (Array.isArray(c.betas)) {
    c.beta1 ??= c.betas[0];
    c.beta2 ??= c.betas[1];
    delete c.betas;
  }
  // checkpoints before the practitioner options (EMA, R1/R2, spectral norm, DiffAugment, precision): they ran without them
  for (const [k, off] of Object.entries(FEATURES_OFF)) if (!(k in c)) c[k] = off;
  return c;
}

/** The saved config of a checkpoint (old names upgraded), checked field by field against RUN_OPTIONS; errors name the file and the field. */
export function checkSavedRunConfig(raw: unknown, file: string): RunConfig {
  if (!is.plainObject(raw)) throw checkpointError(file, 'config: expected the run configuration object');
  const config = upgradeSavedConfig(raw);
  const problem = (key: string, why: string) => checkpointError(file, `config.${key}: ${why}`);
  for (const key of RUN_SPEC_KEYS) {
    const o = RUN_OPTIONS[key];
    if (o.kind === 'input') continue;
    const v = config[key];
    if (v === undefined) {
      if (o.kind === 'optional') continue;
      throw problem(key, `expected ${optionExpected(o)}, received nothing`);
    }
    // a toy run's imgDim is 0 (2-D points), below the option's range
    if (key === 'imgDim' && v === 0) continue;
    if (optionProblem(o, v)) throw problem(key, `expected ${optionExpected(o)}, received ${JSON.stringify(v)}`);
  }
  if (!Number.isSafeInteger(config.channels) || (config.channels as number) < 1) throw problem('channels', `expected a positive integer, received ${JSON.stringify(config.channels) ?? 'nothing'}`);
  if ((config.clampUpper as number) < (config.clampLower as number)) throw problem('clampUpper', `must be >= clampLower (${String(config.clampLower)}), received ${String(config.clampUpper)}`);
  if (config.imgDim !== 0 && ![28, 32, 64].includes(config.imgDim as number)) throw problem('imgDim', `expected 28, 32 or 64 (0 for a toy run), received ${String(config.imgDim)}`);
  if (config.conditional !== undefined) {
    if (config.conditional === 'none') throw problem('conditional', "expected projection or acgan (an unconditional config leaves it out), received 'none'");
    if (!Number.isSafeInteger(config.numClasses) || (config.numClasses as number) < 1) throw problem('numClasses', `expected a positive integer (a conditional run's classes), received ${JSON.stringify(config.numClasses) ?? 'nothing'}`);
    if (config.conditional === 'acgan' && config.acganWeight === undefined) throw problem('acganWeight', 'expected a number >= 0 (a conditional acgan run), received nothing');
  } else if (config.numClasses !== undefined) {
    throw problem('numClasses', `given without config.conditional (${JSON.stringify(config.numClasses)}): a conditional run saves both`);
  }
  const toy = config.dataset === 'toy';
  if (toy !== (config.toy !== undefined) || toy !== (config.imgDim === 0)) {
    throw checkpointError(file, `config: dataset ${JSON.stringify(config.dataset)}, toy ${JSON.stringify(config.toy)} and imgDim ${JSON.stringify(config.imgDim)} disagree (a toy run has dataset 'toy', a toy set and imgDim 0; an image run neither)`);
  }
  return config as unknown as RunConfig;
}

/** A resume's config and data: the checkpoint's, with the changeable keys of `spec` applied. */
export async function prepareResume(
  spec: RunSpec,
  root: string,
  name: OptionNamer,
  loadRunData: (s: Pick<RunSpec, 'dataset' | 'data' | 'limit' | 'imgDim' | 'toy'>, name: OptionNamer) => Promise<ImageDataset | ToyData>,
): Promise<{ config: RunConfig; dataset: ImageDataset | ToyData }> {
  const { dir, state } = latestCheckpoint(root);
  const file = path.join(dir, 'state.json');
  const saved = checkSavedRunConfig(state.config, file);
  checkAgainstCheckpoint(spec, saved, name, file);
  const data = spec.data ?? saved.data;
  const dataset = await loadRunData({ dataset: saved.dataset, data, limit: saved.limit, imgDim: saved.imgDim, ...(saved.toy !== undefined ? { toy: saved.toy } : {}) }, name);
  let iters = spec.iters ?? saved.iters;
  if (spec.epochs !== undefined) {
    if (spec.iters !== undefined) throw new RunConfigError(`give ${name('iters')} or ${name('epochs')}, not both`, 'epochs');
    if ('kind' in dataset && spec.nBatchPerEpoch === undefined) throw new RunConfigError(`${name('epochs')} with a toy run needs ${name('nBatchPerEpoch')} (a toy set is an endless stream)`, 'nBatchPerEpoch');
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

