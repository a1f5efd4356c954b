// WGAN-GP on the toy 2-D sets of the WGAN-GP paper (8 Gaussians, 25 Gaussians, Swiss roll).
//
//   npx tsx examples/toy.ts [--iters N] [--out DIR] [--sets 8gaussians,25gaussians,swissroll]
//                           [--dim 128] [--batch 256] [--lambda 0.1] [--lr 1e-4] [--seed 0] [--device cpu|cuda]
//
// The networks and settings are gan_toy.py's (Gulrajani et al. 2017): ReLU MLPs with 3
// hidden layers (DIM 512 there, 128 here by default so it runs on a laptop CPU in a few
// minutes), Adam lr 1e-4 betas (0.5, 0.9), 5 critic updates per generator update and
// λ = 0.1 ("smaller lambda seems to help for toy tasks specifically"; the image default is 10).
//
// For each set it writes DIR/toy-<set>.svg: the generator's samples (blue) over the critic's
// values on a grid (background, red = high), with the real modes' centres (orange) or real
// samples (grey); and DIR/toy-<set>-wasserstein.svg, the critic's estimate over training.
// It prints the modes covered (a mode counts when >= 1% of 2000 samples lie within 0.1 of
// its centre; for the swiss roll the mean distance to the nearest of 2000 real points).
import * as path from 'path';
import * as fs from 'fs';
import * as tg from 'torch-gan';
import { GanTrainer, toyGenerator, toyCritic, saveScatterPlot, saveLinePlot } from 'torch-gan';
import { ToySampler, toyCenters, modeStats, data } from 'torch-gan';
import type { ToyName } from 'torch-gan';
const TOY_DATASETS = data.TOY_DATASETS;

function parseArgs(argv: string[]) {
  const o = {
    iters: 2000, out: path.join('generated', 'toy'), sets: [...TOY_DATASETS] as ToyName[],
    dim: 128, batch: 256, lambda: 0.1, lr: 1e-4, seed: 0, device: (tg.cuda.isAvailable() ? 'cuda' : 'cpu') as tg.Device,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (name: string, int: boolean) => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < 0) throw new Error(`${name} needs a ${int ? 'non-negative integer' : 'number'}, got ${v}`);
      i++;
      return n;
    };
    switch (a) {
      case '--iters': o.iters = num(a, true); break;
      case '--dim': o.dim = num(a, true); break;
      case '--batch': o.batch = num(a, true); break;
      case '--seed': o.seed = num(a, true); break;
      case '--lambda': o.lambda = num(a, false); break;
      case '--lr': o.lr = num(a, false); break;
      case '--out': if (!v) throw new Error('--out needs a directory'); o.out = v; i++; break;
      case '--device': if (!v) throw new Error('--device needs cpu or cuda'); o.device = v as tg.Device; i++; break;
      case '--sets': {
        if (!v) throw new Error('--sets needs a comma-separated list');
        const sets = v.split(',');
        for (const s of sets) if (!(TOY_DATASETS as readonly string[]).includes(s)) throw new Error(`unknown set '${s}'; expected ${TOY_DATASETS.join(', ')}`);
        o.sets = sets as ToyName[];
        i++;
        break;
      }
      case '-h': case '--help':
        console.log('npx tsx examples/toy.ts [--iters N] [--out DIR] [--sets a,b] [--dim N] [--batch N] [--lambda X] [--lr X] [--seed N] [--device cpu|cuda]');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new Error(`unknown argument '${a}' (try --help)`);
    }
  }
  return o;
}

/** Mean distance from each sample to its nearest real point (for the swiss roll). */
function meanNearestDistance(samples: Float32Array, real: Float32Array): number {
  let sum = 0;
  const n = samples.length / 2;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < real.length; j += 2) {
      const dx = samples[2 * i] - real[j], dy = samples[2 * i + 1] - real[j + 1];
      const d = dx * dx + dy * dy;
      if (d < best) best = d;
    }
    sum += Math.sqrt(best);
  }
  return sum / n;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  fs.mkdirSync(o.out, { recursive: true });
  // tiny layers: a second intra-op thread costs more than it gives on the CPU
  if (o.device === 'cpu' && process.env.TORCH_GAN_NUM_THREADS === undefined) tg.setNumThreads(1);
  console.log(`WGAN-GP toy runs: ${o.iters} generator steps, DIM ${o.dim}, batch ${o.batch}, λ ${o.lambda}, Adam ${o.lr} (0.5, 0.9), nCritic 5, ${o.device}`);
  for (const name of o.sets) {
    const t0 = Date.now();
    tg.manualSeed(o.seed);
    const G = toyGenerator({ dim: o.dim, device: o.device });
    const D = toyCritic({ dim: o.dim, device: o.device });
    const sampler = new ToySampler(name, { seed: o.seed + 1 });
    const west: number[] = [];
    const trainer = new GanTrainer({
      generator: G, critic: D, loss: 'wgan-gp', lambda: o.lambda, nCritic: 5,
      optG: new tg.optim.Adam(G.parameters(), { lr: o.lr, betas: [0.5, 0.9] }),
      optD: new tg.optim.Adam(D.parameters(), { lr: o.lr, betas: [0.5, 0.9] }),
      batches: () => sampler.sampleTensor(o.batch, { device: o.device }),
      callbacks: {
        onStep: (s) => {
          west.push(s.wassersteinEstimate);
          if (s.iteration % 500 === 0) {
            console.log(`  ${name} ${String(s.iteration).padStart(6)}: W ≈ ${s.wassersteinEstimate.toFixed(4)}, critic ${s.criticLoss.toFixed(4)}, `
              + `generator ${s.generatorLoss.toFixed(4)}, grad norm ${s.gradNorm.toFixed(3)}`);
          }
        },
      },
    });
    trainer.run(o.iters);

    const x = trainer.sample(2000);
    const pts = x.to('cpu').data() as Float32Array;
    x.dispose();
    const centres = toyCenters(name);
    const real = new ToySampler(name, { seed: 12345 }).sample(2000);
    let summary: string;
    if (centres) {
      const ms = modeStats(pts, centres, { threshold: 0.1, minCount: 20 });
      summary = `modes covered ${ms.modesCovered}/${centres.length}, mean distance to the nearest centre ${ms.meanDistance.toFixed(4)}, `
        + `${(ms.highQuality * 100).toFixed(1)}% within 0.1`;
    } else {
      summary = `mean distance to the nearest real point ${meanNearestDistance(pts, real).toFixed(4)}`;
    }

    // the critic's values on a grid, as the paper's plots
    const R = 2.2;
    const size = 96;
    const field = tg.tidy(() => tg.noGrad(() => {
      const lin = tg.linspace(-R, R, size, { device: o.device });
      const ys = lin.reshape(size, 1).expand(size, size);
      const xs = lin.reshape(1, size).expand(size, size);
      const grid = tg.stack([xs.reshape(-1), ys.reshape(-1)], 1);
      return D.forward(grid).to('cpu').data() as Float32Array;
    }));
    const file = path.join(o.out, `toy-${name}.svg`);
    saveScatterPlot(file, {
      points: pts, name: 'generated', radius: 1, range: R, width: 480, height: 480,
      title: `WGAN-GP ${name}, ${o.iters} steps`,
      field: { values: field, size },
      extra: centres
        ? [{ points: centres, name: 'mode centres', color: '#ff7f0e', radius: 3 }]
        : [{ points: real.subarray(0, 1000), name: 'real', color: '#7f7f7f', radius: 1 }],
    });
    const lossFile = path.join(o.out, `toy-${name}-wasserstein.svg`);
    saveLinePlot(lossFile, {
      series: [{ name: 'critic estimate of W', values: west }], title: `${name}: mean D(real) - mean D(fake)`,
      xLabel: 'generator step', smooth: 0.9, width: 480, height: 300,
    });
    const secs = (Date.now() - t0) / 1000;
    console.log(`${name}: ${summary} (${secs.toFixed(1)} s) -> ${file}`);
    G.dispose();
    D.dispose();
  }
}

main();
