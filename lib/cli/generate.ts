// Sample from a trained generator: loads only the generator of a checkpoint.
//   npx torch-gan generate --checkpoint generated/checkpoints --n 64 --out grid.png
//   npx torch-gan generate --checkpoint generated/checkpoints --interpolate 10 --out strip.png
//   npx torch-gan generate -b 64 --up nearest --model-load-path wgan-gp-000 --monitor-path wgan-gp-000   (seed 001's spelling)
// A toy run's checkpoint gives a scatter plot of the samples against the real points.
// A conditional run's (train --conditional) gives one row per class, the same --nrow noise vectors
// in every row (so grid row r is what --class r --n NROW draws); --class C: samples of class C only.
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '..';
import { FlagSpecs, ParsedFlags, usageError, flagSpelling, givenFlags, runCli } from './args';
import { GENERATOR_VALUE_ALIASES, resolveDeviceFlags } from './seed-flags';
import { buildModels, checkDevice, RunConfigError } from '../gan/run';
import { toyScatterPng } from '../gan/toy-run';
import { latestCheckpoint } from '../gan/checkpoint';
import { checkSavedRunConfig } from '../gan/resume';
import { GENERATOR_WEIGHTS, GeneratorWeights, loadSamplingGenerator } from '../gan/sampling-weights';
import { truncatedNoise } from '../gan/truncation';
import { imageGrid } from '../io/png';
import type { AnyModule } from '../nn/module';
import { writeFileAtomic } from '../io/atomic';
import { checkpointArgument } from './pretrained';
import { checkTruncation } from './truncation-flag';

export const generateFlags: FlagSpecs = {
  checkpoint: { type: 'string', aliases: ['--model-load-path'], help: "a run's checkpoints folder, one ckpt-N folder, a run's --out folder, or a file inside a ckpt-N folder" },
  pretrained: { type: 'string', help: 'instead of --checkpoint: a generator shipped in the package, trained by us (fashion, mnist; see docs/results.md)' },
  n: { type: 'int', min: 1, max: 4096, aliases: ['-b'], help: 'number of samples (default 64; 1000 points for a toy run; a conditional run: with --class)' },
  class: { type: 'int', min: 0, help: 'a conditional run: only samples of this class (default: one grid row per class, --nrow samples each)' },
  nrow: { type: 'int', min: 1, default: 8, help: 'images per grid row' },
  interpolate: { type: 'int', min: 2, max: 64, help: 'instead of samples: rows of N images walking between two noise vectors (not for toy runs)' },
  generator: { type: 'choice', choices: ['deconv', 'nearest', 'bilinear', 'unpool'], aliases: ['--up'], valueAliases: GENERATOR_VALUE_ALIASES, help: "the checkpoint's generator: checked against it (the architecture comes from the checkpoint)" },
  seed: { type: 'int', min: 0, default: 0, help: 'random seed of the noise' },
  out: { type: 'string', default: 'grid.png', aliases: ['--monitor-path'], help: 'output PNG, or a folder (no .png ending): FOLDER/generated.png' },
  device: { type: 'string', default: 'cpu', aliases: ['-d'], help: 'cpu, cuda, cuda:N, or N (= cuda:N, as nnabla\'s -d N)' },
  context: { type: 'choice', choices: ['cpu', 'cuda', 'cudnn'], aliases: ['-c'], help: "nnabla's context: cudnn or cuda is --device cuda:N (N from -d, default 0)" },
  weights: { type: 'choice', choices: GENERATOR_WEIGHTS, help: "the generator's EMA weights or the live ones (default: ema when the checkpoint has generator_ema, else live)" },
  truncation: { type: 'number', help: 'the truncation trick (BigGAN): noise from N(0, 1) truncated to [-PSI, PSI], then times the run\'s --noise-scale; lower PSI: less variety, higher fidelity (normal noise only)' },
};

/**
 * The checkpoint root or folder a --checkpoint / --model-load-path names: a checkpoints root
 * (latest.json), a ckpt-N folder (state.json), a run's --out folder (its checkpoints/), or a
 * file inside a ckpt-N folder (that folder). Anything else is refused saying what to pass.
 */
export function resolveCheckpointPath(given: string, flag: string): { dir: string; note?: string } {
  const p = path.resolve(given);
  const has = (d: string, f: string) => fs.existsSync(path.join(d, f));
  if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
    if (has(p, 'latest.json') || has(p, 'state.json')) return { dir: p };
    if (has(path.join(p, 'checkpoints'), 'latest.json')) return { dir: path.join(p, 'checkpoints'), note: `using ${path.join(p, 'checkpoints')} (the checkpoints of the run in ${p})` };
    throw usageError(`${flag} ${given}: ${p} holds no torch-gan checkpoint (no latest.json, state.json or checkpoints/latest.json); pass a run's checkpoints folder, e.g. generated/checkpoints`);
  }
  const parent = path.dirname(p);
  if (fs.existsSync(p)) {
    if (has(parent, 'state.json')) return { dir: parent, note: `using the checkpoint folder ${parent} (a torch-gan checkpoint is a folder; ${path.basename(p)} is one of its files)` };
    throw usageError(`${flag} ${given}: a file outside any checkpoint folder; torch-gan checkpoints are folders (ckpt-N with generator.safetensors and state.json): pass the run's checkpoints folder`);
  }
  let found = '';
  for (const root of [path.join(parent, 'checkpoints'), parent]) {
    if (has(root, 'latest.json')) {
      try {
        const { dir, state } = latestCheckpoint(root);
        found = ` (found: ${root}, latest ${path.basename(dir)} at iteration ${state.step}: pass ${flag} ${path.relative(process.cwd(), root) || '.'})`;
      } catch { /* unreadable: say nothing about it */ }
      break;
    }
  }
  const h5 = /\.h5$/i.test(p) ? ' torch-gan checkpoints are folders of .safetensors files, not .h5 files (nnabla\'s params_N.h5);' : '';
  throw usageError(`${flag} ${given}: no such file or folder;${h5} pass a run's checkpoints folder or one ckpt-N folder${found}`);
}

/** What `torch-gan generate` does with parsed flags (exported for tests). */
export function generateMain(f: ParsedFlags): void {
  resolveDeviceFlags(f, (m) => console.log(m));
  const device = f.device as string;
  try {
    checkDevice(device, (k) => `--${k}`);
  } catch (e) {
    if (e instanceof RunConfigError) throw usageError(e.message);
    throw e;
  }
  const { dir, note } = resolveCheckpointPath(checkpointArgument(f)!, flagSpelling(f, 'checkpoint'));
  if (note) console.log(`note: ${note}`);
  const latest = latestCheckpoint(dir);
  const config = checkSavedRunConfig(latest.state.config, path.join(latest.dir, 'state.json'));
  const toy = config.dataset === 'toy' ? config.toy : undefined;
  const given = givenFlags(f);
  if (given.has('generator') && !toy && f.generator !== config.upsampling) {
    throw usageError(`${flagSpelling(f, 'generator')} ${f.generator as string} contradicts the checkpoint's generator ${config.upsampling} (${dir}): the architecture comes from the checkpoint; drop the flag or pass ${config.upsampling}`);
  }
  if (toy && f.interpolate !== undefined) throw usageError(`--interpolate is for image runs; ${dir} is a toy run (${toy}): it gets a scatter plot`);
  const numClasses = config.numClasses;
  const cls = f.class as number | undefined;
  if (cls !== undefined && numClasses === undefined) {
    throw usageError(`--class ${cls}: ${dir} is not a conditional run (trained without --conditional): its generator takes no class; drop --class`, { parameter: '--class', expected: 'no --class for an unconditional checkpoint', received: String(cls) });
  }
  if (cls !== undefined && cls >= numClasses!) {
    throw usageError(`--class expects a class in [0, ${numClasses}) (the run's ${numClasses} classes), received ${cls}`, { parameter: '--class', expected: `an integer in [0, ${numClasses})`, received: String(cls) });
  }
  const perClassGrid = numClasses !== undefined && cls === undefined && f.interpolate === undefined;
  if (perClassGrid && given.has('n')) {
    throw usageError(`${flagSpelling(f, 'n')} with a conditional run needs --class C: without it the grid has one row per class of --nrow samples each (pass --nrow to change how many)`, { parameter: flagSpelling(f, 'n'), expected: '--class C with it, or --nrow', received: String(f.n) });
  }
  let outFile = path.resolve(f.out as string);
  if (!/\.png$/i.test(outFile)) {
    fs.mkdirSync(outFile, { recursive: true });
    outFile = path.join(outFile, 'generated.png');
  }
  const psi = checkTruncation(f.truncation as number | undefined, flagSpelling(f, 'truncation'), config.noiseKind, dir);
  // the run's noise kind at scale 1 (N(0, 1), or its truncation to [-psi, psi]; U[-1, 1)), the run's scale applied after
  const normal = (shape: number[]): tg.Tensor => (config.noiseKind === 'uniform' ? tg.tidy(() => tg.rand(shape).mul(2).sub(1)) : psi !== undefined ? truncatedNoise(shape, psi) : tg.randn(shape));
  const n = (f.n as number | undefined) ?? (toy ? 1000 : 64);
  const built = buildModels({ ...config, device });
  built.critic.dispose();
  const generator = built.generator as AnyModule; // a conditional one also takes the labels
  let st: { step: number; dir: string; weights: GeneratorWeights };
  try {
    st = loadSamplingGenerator(dir, generator, f.weights as GeneratorWeights | undefined, flagSpelling(f, 'weights'));
  } catch (e) {
    generator.dispose();
    throw e;
  }
  generator.eval();
  tg.manualSeed(f.seed as number);
  // a conditional generator's labels for the z's rows: `of(i)` is the class of row i
  const forward = (z: tg.Tensor, of: (i: number) => number): tg.Tensor => {
    if (numClasses === undefined) return generator.forward(z) as tg.Tensor;
    const y = new BigInt64Array(z.shape[0]).map((_, i) => BigInt(cls ?? of(i)));
    return generator.forward(z, tg.tensor(y, [y.length], { device: device as tg.Device })) as tg.Tensor;
  };
  const png = tg.tidy(() =>
    tg.noGrad(() => {
      let z: tg.Tensor;
      let nrow = f.nrow as number;
      if (perClassGrid) {
        // the same nrow noise vectors in each class's row, drawn as --class r --n nrow draws them
        const k = numClasses!;
        const zc = normal([nrow, config.noiseDim, 1, 1]).mul(config.noiseScale).to(device as tg.Device);
        z = zc.unsqueeze(0).expand([k, nrow, config.noiseDim, 1, 1]).reshape([k * nrow, config.noiseDim, 1, 1]);
        return imageGrid(forward(z, (i) => Math.floor(i / nrow)), { nrow });
      }
      if (toy) {
        z = normal([n, config.noiseDim]).mul(config.noiseScale).to(device as tg.Device);
        return toyScatterPng(generator.forward(z) as tg.Tensor, toy, `${toy} ${config.loss}, step ${st.step}`);
      }
      if (f.interpolate !== undefined) {
        const steps = f.interpolate as number;
        const rows = Math.max(1, Math.floor(n / steps));
        const a = normal([rows, 1, config.noiseDim, 1, 1]);
        const b = normal([rows, 1, config.noiseDim, 1, 1]);
        const t = tg.linspace(0, 1, steps).reshape([1, steps, 1, 1, 1]);
        z = a.add(b.sub(a).mul(t)).reshape([rows * steps, config.noiseDim, 1, 1]);
        nrow = steps;
      } else {
        z = normal([n, config.noiseDim, 1, 1]);
      }
      z = z.mul(config.noiseScale).to(device as tg.Device);
      // a conditional run's interpolation row r walks within class r mod numClasses (or --class)
      return imageGrid(forward(z, (i) => Math.floor(i / nrow) % (numClasses ?? 1)), { nrow });
    }),
  );
  generator.dispose();
  writeFileAtomic(outFile, png);
  const what = numClasses === undefined ? '' : cls !== undefined ? `, class ${cls}` : perClassGrid ? `, one row per class 0..${numClasses - 1}` : `, row r of class r mod ${numClasses}`;
  console.log(`wrote ${outFile} from ${st.dir} (iteration ${st.step}, ${config.loss} on ${toy ?? config.dataset}${what}, ${st.weights} weights${psi !== undefined ? `, truncation ${psi}` : ''})`);
}

/** `torch-gan generate [flags]`. */
export function generateCommand(argv: string[]): void {
  runCli('Sample images from a torch-gan checkpoint (a scatter plot for a toy run)\n\nUsage: npx torch-gan generate --checkpoint DIR | --pretrained fashion|mnist [options]', generateFlags, generateMain, argv);
}
