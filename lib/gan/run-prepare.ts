// What comes before TrainingRun.create (./run.ts): prepareRun turns a RunSpec (and a checkpoint
// to resume) into a resolved config and loaded data, and checkDataParallelConfig says whether a
// config can train data-parallel. Kept apart from run.ts, which holds the live run and its loop:
// these only check and load, build no model and draw no random numbers. run.ts re-exports them.
import * as fs from 'fs';
import * as path from 'path';
import type { ImageDataset } from '../data';
import { prepareResume } from './resume';
import type { ToyData } from './toy-run';
import { RUN_DEFAULTS, RunConfig, RunConfigError, RunSpec, OptionNamer, checkDevice, loadRunData, plainName, resolveRunConfig, validateRunSpec } from './run-config';

/**
 * Whether `config` can train data-parallel on `worldSize` processes; the error names the option
 * as `name` spells it (the CLI: --batch-size).
 */
export function checkDataParallelConfig(config: Pick<RunConfig, 'dataset' | 'device' | 'batchSize'>, worldSize: number, name: OptionNamer = plainName): void {
  if (config.dataset === 'toy') {
    throw new RunConfigError(`${name('dataset')} toy cannot train data-parallel (its points are drawn per process); use an image data set, or one process`, 'dataset');
  }
  if (!String(config.device).startsWith('cpu')) {
    throw new RunConfigError(`${name('device')} ${config.device} cannot train data-parallel: the process group is Gloo's, for CPU tensors (NCCL for CUDA is not bound yet); use cpu, or one process`, 'device');
  }
  if (config.batchSize % worldSize !== 0) {
    throw new RunConfigError(`${name('batchSize')} is the global batch and must be a multiple of the world size ${worldSize} (each rank trains on batchSize / ${worldSize} rows); received ${config.batchSize}`, 'batchSize');
  }
}

export interface OpenRunOptions {
  /** a checkpoint root (…/checkpoints): continue its latest checkpoint; the spec's iters may extend the run */
  resume?: string;
  /** how errors name options (the CLI: '--flag-name') */
  optionName?: OptionNamer;
}

/** What TrainingRun.create needs, prepared from a spec (the data loaded, the config resolved). */
export interface PreparedRun {
  config: RunConfig;
  /** the images, or a toy run's stream (./toy-run) */
  dataset: ImageDataset | ToyData;
  /** the checkpoint root to resume from */
  resumeFrom?: string;
}

/**
 * Loads the data and resolves the spec; with `resume`, the data set and every setting come from
 * the checkpoint's saved config (./resume.ts): spec keys that contradict it are refused, naming
 * both values; iters, epochs, sampleEvery, checkpointEvery and the data folder may change.
 * Draws no random numbers.
 */
export async function prepareRun(spec: RunSpec, options: OpenRunOptions = {}): Promise<PreparedRun> {
  const name = options.optionName ?? plainName;
  validateRunSpec(spec, name);
  if (spec.device !== undefined || options.resume === undefined) checkDevice(spec.device ?? (RUN_DEFAULTS.device as string), name); // before loading any data
  if (options.resume === undefined) {
    const dataset = await loadRunData(spec, name);
    return { config: resolveRunConfig(spec, dataset, name), dataset };
  }
  const dir = options.resume;
  if (!fs.existsSync(path.join(dir, 'latest.json'))) throw new RunConfigError(`${name('resume')}: no checkpoint in ${dir} (latest.json is missing)`, 'resume');
  const { config, dataset } = await prepareResume(spec, dir, name, loadRunData);
  return { config, dataset, resumeFrom: dir };
}
