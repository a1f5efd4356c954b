// Which generator weights a sampler of a checkpoint uses (torch-gan generate, evaluate, the
// GeneratorSampler worker): the EMA's (generator_ema.safetensors) when the checkpoint has them,
// as the averaged generator is the one worth sampling, else the live generator's.
import * as fs from 'fs';
import * as path from 'path';
import type { AnyModule } from '../nn/module';
import { loadModule } from '../io/state';
import { loadCheckpoint } from './checkpoint';
import { RunConfigError } from './run-config';

export const GENERATOR_WEIGHTS = ['ema', 'live'] as const;
export type GeneratorWeights = (typeof GENERATOR_WEIGHTS)[number];

/**
 * Loads the latest checkpoint of `root` into `generator`: its EMA weights when `weights` is 'ema'
 * or not given and the checkpoint has them, else the live ones. Asking for 'ema' of a checkpoint
 * without an EMA is refused (ERR_RUN_CONFIG naming `flag`). The RNG is not touched.
 */
export function loadSamplingGenerator(root: string, generator: AnyModule, weights?: GeneratorWeights, flag = 'weights'): { step: number; dir: string; weights: GeneratorWeights } {
  const st = loadCheckpoint(root, { generator }, { restoreRng: false });
  // a pretrained export (scripts/results/export-pretrained.ts) ships one set of weights as
  // generator.safetensors, and says in state.json whether they were the run's EMA
  if (st.extra?.weights === 'generator_ema') {
    if (weights === 'live') throw new RunConfigError(`${flag} live: ${st.dir} ships only the run's EMA weights (as generator.safetensors); use ${flag} ema or leave it out`, flag);
    return { step: st.step, dir: st.dir, weights: 'ema' };
  }
  const emaFile = path.join(st.dir, 'generator_ema.safetensors');
  const has = fs.existsSync(emaFile);
  if (weights === 'ema' && !has) {
    throw new RunConfigError(`${flag} ema: checkpoint ${st.dir} has no generator_ema.safetensors (the run was trained without --ema-decay); use ${flag} live`, flag);
  }
  const used: GeneratorWeights = weights ?? (has ? 'ema' : 'live');
  if (used === 'ema') loadModule(generator, emaFile);
  return { step: st.step, dir: st.dir, weights: used };
}
