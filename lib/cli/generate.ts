// Sample from a trained generator: loads only the generator of a checkpoint.
//   npx torch-gan generate --checkpoint generated/checkpoints --n 64 --out grid.png
//   npx torch-gan generate --checkpoint generated/checkpoints --interpolate 10 --out strip.png
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '..';
import { runCli, UsageError } from './args';
import { buildModels, RunConfig } from '../gan/run';
import { latestCheckpoint, loadCheckpoint } from '../gan/checkpoint';
import { imageGrid } from '../io/png';
import { writeFileAtomic } from '../io/atomic';

const flags = {
  checkpoint: { type: 'string', required: true, help: 'a run\'s checkpoints folder (or one ckpt-N folder)' },
  n: { type: 'int', min: 1, max: 4096, default: 64, help: 'number of samples' },
  nrow: { type: 'int', min: 1, default: 8, help: 'images per grid row' },
  interpolate: { type: 'int', min: 2, max: 64, help: 'instead of samples: rows of N images walking between two noise vectors' },
  seed: { type: 'int', min: 0, default: 0, help: 'random seed of the noise' },
  out: { type: 'string', default: 'grid.png', help: 'output PNG' },
  device: { type: 'string', default: 'cpu', help: 'cpu, cuda or cuda:N' },
} as const;

/** `torch-gan generate [flags]`. */
export function generateCommand(argv: string[]): void {
runCli('Sample images from a torch-gan checkpoint\n\nUsage: npx torch-gan generate --checkpoint DIR [options]', flags, (f) => {
  const dir = path.resolve(f.checkpoint as string);
  if (!fs.existsSync(dir)) throw new UsageError(`--checkpoint ${dir}: no such folder`);
  const { state } = latestCheckpoint(dir);
  const config = state.config as unknown as RunConfig;
  const { generator, critic } = buildModels({ ...config, device: f.device as string });
  critic.dispose();
  const st = loadCheckpoint(dir, { generator }, { restoreRng: false });
  generator.eval();
  tg.manualSeed(f.seed as number);
  const png = tg.tidy(() =>
    tg.noGrad(() => {
      let z: tg.Tensor;
      let nrow = f.nrow as number;
      if (f.interpolate !== undefined) {
        const steps = f.interpolate as number;
        const rows = Math.max(1, Math.floor((f.n as number) / steps));
        const a = tg.randn([rows, 1, config.noiseDim, 1, 1]);
        const b = tg.randn([rows, 1, config.noiseDim, 1, 1]);
        const t = tg.linspace(0, 1, steps).reshape([1, steps, 1, 1, 1]);
        z = a.add(b.sub(a).mul(t)).reshape([rows * steps, config.noiseDim, 1, 1]);
        nrow = steps;
      } else {
        z = tg.randn([f.n as number, config.noiseDim, 1, 1]);
      }
      z = z.mul(config.noiseScale).to(f.device as tg.Device);
      return imageGrid(generator.forward(z) as tg.Tensor, { nrow });
    }),
  );
  writeFileAtomic(path.resolve(f.out as string), png);
  console.log(`wrote ${path.resolve(f.out as string)} from ${st.dir} (iteration ${st.step}, ${config.loss} on ${config.dset})`);
}, argv);
}
