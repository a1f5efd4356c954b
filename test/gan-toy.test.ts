// End to end: WGAN-GP on the 8 Gaussians, on the CPU, with the toy MLPs of the WGAN-GP
// paper (gan_toy.py: ReLU MLPs with 3 hidden layers, Adam 1e-4 betas (0.5, 0.9), 5 critic
// updates per generator update, λ = 0.1 — the paper's value for the toy sets). To stay well
// under a minute on 2 cores the width is 128 (the paper: 512), the batch 128 (256) and the
// run 1000 generator updates (100000); measured ~10-15 s. Deterministic: manualSeed fixes
// the initialisation, noise and ε; the data sampler has its own seed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { GanTrainer, toyGenerator, toyCritic } from '../lib/gan';
import { ToySampler, toyCenters, modeStats } from '../lib/data';

const ITERS = 1000;

test('WGAN-GP on 8 Gaussians covers the modes and lands near the centres', () => {
  const t0 = Date.now();
  // these layers are too small for intra-op parallelism to pay: a second thread only adds a
  // barrier per op, which costs a scheduler slice whenever the cores are shared
  const threads = tg.getNumThreads();
  tg.setNumThreads(1);
  try {
    train(t0);
  } finally {
    tg.setNumThreads(threads);
  }
});

function train(t0: number): void {
  tg.manualSeed(1);
  const G = toyGenerator({ dim: 128 });
  const D = toyCritic({ dim: 128 });
  const sampler = new ToySampler('8gaussians', { seed: 1 });
  const trainer = new GanTrainer({
    generator: G, critic: D, loss: 'wgan-gp', lambda: 0.1, nCritic: 5,
    optG: new tg.optim.Adam(G.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }),
    optD: new tg.optim.Adam(D.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }),
    batches: () => sampler.sampleTensor(128),
  });
  const centres = toyCenters('8gaussians')!;
  const evaluate = () => {
    const x = trainer.sample(1000);
    const pts = x.data() as Float32Array;
    x.dispose();
    // a mode is covered when >= 1% of the samples lie within 0.1 of it (the modes' radius is
    // 1.414, their std 0.014: 0.1 is a tenth of the distance between neighbouring modes)
    return modeStats(pts, centres, { threshold: 0.1, minCount: 10 });
  };
  const before = evaluate();
  trainer.step(); // creates the optimizers' state
  const memBefore = tg.memory().tensors;
  let last = trainer.run(ITERS - 1)!;
  assert.is(tg.memory().tensors, memBefore, 'no tensors leaked over the run');
  const after = evaluate();
  const secs = (Date.now() - t0) / 1000;
  console.log(`  8 Gaussians, ${ITERS} WGAN-GP steps in ${secs.toFixed(1)} s: modes ${before.modesCovered} -> ${after.modesCovered}, `
    + `mean distance ${before.meanDistance.toFixed(3)} -> ${after.meanDistance.toFixed(3)}, within 0.1: ${(after.highQuality * 100).toFixed(0)}%, `
    + `W estimate ${last.wassersteinEstimate.toFixed(3)}, grad norm ${last.gradNorm.toFixed(2)}`);
  assert.ok(before.modesCovered <= 2 && before.meanDistance > 0.4, `untrained generator is far off (${before.modesCovered} modes, distance ${before.meanDistance})`);
  assert.ok(after.modesCovered >= 7, `covers >= 7 of 8 modes (counts ${after.counts})`);
  assert.ok(after.meanDistance < 0.3, `mean distance to the nearest centre < 0.3 (got ${after.meanDistance.toFixed(3)})`);
  assert.ok(after.highQuality > 0.2, `> 20% of samples within 0.1 of a centre (got ${after.highQuality.toFixed(2)})`);
  assert.ok(Number.isFinite(last.wassersteinEstimate) && last.wassersteinEstimate > 0, 'the critic separates real from fake');
  last = trainer.step();
  assert.ok(Number.isFinite(last.criticLoss));
}

test.run();
