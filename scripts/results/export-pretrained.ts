// Packs a trained run's generator as a pretrained model shipped in the package:
//   models/pretrained/NAME/generator.safetensors   the generator's weights (generator_ema's when the run kept an EMA)
//   models/pretrained/NAME/state.json              step and run config (a checkpoint folder `generate` and `evaluate` read)
//   models/pretrained/NAME/metrics.json            the evaluation of that checkpoint (torch-gan evaluate --json), and provenance
// so `npx torch-gan generate --pretrained NAME` works offline right after npm install.
//   npx tsx scripts/results/export-pretrained.ts --name fashion --checkpoint RUN/checkpoints/ckpt-00020000 \
//     --metrics RUN/metrics/iter-20000.json --command "npx torch-gan train --dset fashion --iters 20000"
import * as fs from 'fs';
import * as path from 'path';
import { latestCheckpoint } from '../../lib/gan/checkpoint';
import { checkSavedRunConfig, upgradeSavedConfig } from '../../lib/gan/resume';
import { writeJsonAtomic, writeFileAtomic } from '../../lib/io/atomic';

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
};
const name = arg('name');
if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`--name: lower-case letters, digits and dashes, received '${name}'`);
const { dir, state } = latestCheckpoint(path.resolve(arg('checkpoint')));
const config = upgradeSavedConfig(state.config as Record<string, unknown>);
checkSavedRunConfig(config, path.join(dir, 'state.json')); // refuses what generate could not load
const metrics = JSON.parse(fs.readFileSync(path.resolve(arg('metrics')), 'utf8'));
if (metrics.step !== state.step) throw new Error(`--metrics evaluates step ${metrics.step}, the checkpoint is step ${state.step}`);
const ema = fs.existsSync(path.join(dir, 'generator_ema.safetensors'));
const out = path.join(__dirname, '..', '..', 'models', 'pretrained', name);
fs.mkdirSync(out, { recursive: true });
writeFileAtomic(path.join(out, 'generator.safetensors'), fs.readFileSync(path.join(dir, ema ? 'generator_ema.safetensors' : 'generator.safetensors')));
writeJsonAtomic(path.join(out, 'state.json'), { step: state.step, config, extra: { pretrained: name, weights: ema ? 'generator_ema' : 'generator' }, savedAt: (state as { savedAt?: string }).savedAt, format: 1 });
const { checkpoint: _, config: __, ...evaluation } = metrics;
writeJsonAtomic(path.join(out, 'metrics.json'), { name, step: state.step, weights: ema ? 'generator_ema' : 'generator', command: arg('command'), evaluation });
console.log(`wrote ${out} (step ${state.step}, ${config.loss} on ${config.dataset}, FID ${metrics.generated?.fid?.toFixed?.(2)})`);
