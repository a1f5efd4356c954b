// Intra-op threads change nothing but the time. scripts/run-tests.js runs every file at one
// thread, so this file is where the kernels' parallel paths (at::parallel_for in the fused
// instance norm and the convolution substitutions, oneDNN's and OpenBLAS's threads) run: the same
// WGAN-GP training in float64 at 1 and at 3 threads (3: more threads than this suite's 2 cores,
// so the rows split unevenly) must agree to 1e-9, with the substitutions on and off, NCHW and
// channels-last.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { trainWganGpF64 } from './helpers/train-f64';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); });
test.after(() => { tg.setNumThreads(threads); tg.setFastKernels(true); });

function maxRelDiff(a: Tensor, b: Tensor): number {
  return tg.tidy(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-12));
}

const KERNELS = [['substitutions on', 'all'], ['substitutions off', false]] as const;
const LAYOUTS = [false, true];

for (const [kname, kernels] of KERNELS) {
  for (const channelsLast of LAYOUTS) {
    test(`4 WGAN-GP steps (instance norm, float64), ${kname}${channelsLast ? ', channels-last' : ''}: 3 threads train as 1 does`, () => {
      const steps = 4, nCritic = 2, batch = 12;
      const batches = tg.tidy(() => Array.from({ length: steps * nCritic }, () => tg.keep(tg.randn([batch, 1, 28, 28], { dtype: 'float64' }).tanh())));
      const train = (n: number) => {
        tg.setNumThreads(n);
        assert.is(tg.getNumThreads(), n);
        return trainWganGpF64({ batches, steps, nCritic, channels: 1, channelsLast });
      };
      tg.setFastKernels(kernels);
      try {
        const one = train(1);
        const three = train(3);
        one.stats.forEach((s, i) => {
          for (const k of ['criticLoss', 'generatorLoss', 'penalty', 'gradNorm'] as const) {
            const x = three.stats[i][k], y = s[k];
            assert.ok(Number.isFinite(y), `step ${i} ${k} is finite`);
            assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y)), `step ${i} ${k}: 3 threads ${x}, 1 thread ${y}`);
          }
        });
        one.weights.forEach((w, i) => {
          const d = maxRelDiff(three.weights[i], w);
          assert.ok(d <= 1e-9, `weight ${i}: 3 threads and 1 differ by ${d} (relative)`);
        });
        // the run moved the weights: equal results are not two untouched initialisations
        assert.ok(one.stats[0].criticLoss !== one.stats[steps - 1].criticLoss);
        [...one.weights, ...three.weights].forEach((t) => t.dispose());
      } finally {
        tg.setFastKernels(true);
        tg.setNumThreads(threads);
        batches.forEach((t) => t.dispose());
      }
    });
  }
}

test.run();
