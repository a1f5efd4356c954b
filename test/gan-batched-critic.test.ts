// The batched critic forward (GanTrainer option batchCriticForward): one critic call over real and
// fake together must give the numbers two calls give, and be chosen only for critics that treat
// samples independently (nn.crossSampleModules).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { GanTrainer, GanTrainerOptions } from '../lib/gan/trainer';
import { dcganCritic, dcganGenerator } from '../lib/gan/models';
import { conditionalDcganGenerator, projectionDcganCritic } from '../lib/gan/conditional';
import { crossSampleModules } from '../lib/nn/per-sample';
import { BatchNorm2d, Conv2d, Flatten, InstanceNorm2d, LeakyReLU, Sequential } from '../lib/nn/layers';
import { Module } from '../lib/nn/module';
import { spectralNorm } from '../lib/nn/spectral-norm';
import { Adam } from '../lib/optim';

let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

test('crossSampleModules: per-sample layers pass; batch norm, spectral norm, running stats and unknown forwards are named', () => {
  assert.equal(crossSampleModules(dcganCritic({ normalization: 'layer', baseWidth: 4 })), []);
  assert.equal(crossSampleModules(dcganCritic({ normalization: 'instance', baseWidth: 4 })), []);
  assert.equal(crossSampleModules(projectionDcganCritic({ numClasses: 3, baseWidth: 4 })), []);
  const bn = crossSampleModules(dcganCritic({ normalization: 'batch', baseWidth: 4 }));
  assert.ok(bn.length === 2 && bn.every((r) => /BatchNorm2d\): not declared per-sample/.test(r)), bn.join('; '));
  const sn = crossSampleModules(dcganCritic({ spectralNorm: true, baseWidth: 4 }));
  assert.ok(sn.length > 0 && sn.every((r) => /spectral normalisation/.test(r)), sn.join('; '));
  const tracked = crossSampleModules(new Sequential(new Conv2d(1, 2, 3), new InstanceNorm2d(2, { trackRunningStats: true })));
  assert.equal(tracked, ['1 (InstanceNorm2d): updates running statistics in training mode']);
  // a subclass that overrides forward() may mix samples: unknown until it declares perSample itself
  class MinibatchMean extends Sequential {
    override forward(x: Tensor): Tensor { return super.forward(x.sub(x.mean())); }
  }
  assert.equal(crossSampleModules(new MinibatchMean(new LeakyReLU(0.2))), ['MinibatchMean: not declared per-sample']);
  class Declared extends MinibatchMean {
    static override readonly perSample = true;
  }
  assert.equal(crossSampleModules(new Declared(new LeakyReLU(0.2))), []);
  // a subclass that keeps its parent's forward inherits the declaration
  class Named extends Sequential {}
  assert.equal(crossSampleModules(new Named(new LeakyReLU(0.2))), []);
  class Plain extends Module {
    forward(x: Tensor): Tensor { return x; }
  }
  assert.equal(crossSampleModules(new Plain()), ['Plain: not declared per-sample']);
  assert.equal(crossSampleModules(new Sequential(new Conv2d(1, 1, 3), new BatchNorm2d(1))).length, 1);
});

/** Counts the critic's top-level forward calls (the batched path makes one where the plain one makes two). */
function counted<M extends Module>(m: M): { module: M; calls: () => number } {
  let n = 0;
  const f = m.forward.bind(m);
  (m as unknown as { forward: (...a: unknown[]) => unknown }).forward = (...a: unknown[]) => (n++, (f as (...b: unknown[]) => unknown)(...a));
  return { module: m, calls: () => n };
}

const data = (() => {
  tg.manualSeed(11);
  return tg.rand([48, 1, 28, 28], { dtype: 'float64' }).mul(2).sub(1).keep();
})();

interface Setup {
  loss: GanTrainerOptions['loss'];
  normalization?: 'layer' | 'instance';
  diffAugment?: string;
  conditional?: boolean;
  r1Gamma?: number;
}

/** A float64 trainer built from seed 5 (so two calls build the same networks), plus its critic's call counter. */
function trainer(s: Setup, batchCriticForward: 'auto' | boolean) {
  tg.manualSeed(5);
  const fo = { dtype: 'float64' as const, baseWidth: 4, noiseDim: 8 };
  const G = s.conditional ? conditionalDcganGenerator({ ...fo, numClasses: 3 }) : dcganGenerator({ ...fo, normalization: 'instance' });
  const critic = counted(s.conditional
    ? projectionDcganCritic({ ...fo, numClasses: 3, normalization: s.normalization ?? 'layer' }) as unknown as Module
    : dcganCritic({ ...fo, normalization: s.normalization ?? 'layer' }) as Module);
  let cursor = 0;
  const batches = () => {
    const x = data.narrow(0, cursor, 12);
    const y = tg.tensor(Float64Array.from({ length: 12 }, (_, i) => (cursor + i) % 3), [12], { dtype: 'int64' });
    cursor = (cursor + 12) % 48;
    return s.conditional ? { x, y } : x;
  };
  const t = new GanTrainer({
    generator: G as Module, critic: critic.module, loss: s.loss, batches, batchCriticForward,
    optG: new Adam(G.parameters(), { lr: 1e-3, betas: [0.5, 0.9] }), optD: new Adam(critic.module.parameters(), { lr: 1e-3, betas: [0.5, 0.9] }),
    nCritic: s.loss === 'wgan-gp' ? 3 : 1, diffAugment: s.diffAugment, r1Gamma: s.r1Gamma,
    ...(s.conditional ? { conditional: { numClasses: 3, critic: 'projection' as const } } : {}),
  });
  return { t, calls: critic.calls };
}

const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

const CASES: [string, Setup][] = [
  ['WGAN-GP, layer norm', { loss: 'wgan-gp' }],
  ['WGAN-GP, instance norm', { loss: 'wgan-gp', normalization: 'instance' }],
  ['DRAGAN', { loss: 'dragan' }],
  ['GAN with R1 and DiffAugment', { loss: 'gan', r1Gamma: 10, diffAugment: 'color,translation,cutout' }],
  ['conditional (projection) WGAN-GP', { loss: 'wgan-gp', conditional: true }],
];

for (const [name, s] of CASES) {
  test(`batched critic forward = two forwards, over 8 steps (float64): ${name}`, () => {
    const plain = trainer(s, false);
    const batched = trainer(s, 'auto');
    assert.is(plain.t.batchCriticForward, false);
    assert.is(batched.t.batchCriticForward, true, "'auto' batches a per-sample critic");
    for (let i = 0; i < 8; i++) {
      tg.manualSeed(100 + i);
      const a = plain.t.step();
      tg.manualSeed(100 + i);
      const b = batched.t.step();
      for (const k of ['criticLoss', 'generatorLoss', 'wassersteinEstimate', 'penalty', 'gradNorm'] as const) {
        if (Number.isNaN(a[k])) assert.ok(Number.isNaN(b[k]), `step ${i} ${k}`);
        else close(b[k], a[k], `step ${i} ${k}`);
      }
    }
    const pa = plain.t.critic.parameters().concat(plain.t.generator.parameters());
    const pb = batched.t.critic.parameters().concat(batched.t.generator.parameters());
    const worst = Math.max(...pa.map((p, i) => tg.noGrad(() => p.sub(pb[i]).abs().max().item())));
    assert.ok(worst < 1e-9, `max |Δweight| ${worst}`);
    // per critic update: plain scores real, fake (+ the penalties' own forwards); batched one call fewer
    const updates = 8 * (s.loss === 'wgan-gp' ? 3 : 1);
    assert.is(plain.calls() - batched.calls(), updates, `critic calls: plain ${plain.calls()}, batched ${batched.calls()}`);
  });
}

// In float32 two training runs that differ only in summation order drift apart after a few
// iterations: a gradient component that is a near-cancelling difference (of the real and the fake
// sums, say) changes sign under rounding, Adam turns it into a ±lr step, and GAN training amplifies
// it (measured: 1e-7 relative for 3 iterations, then 1e-4 and growing; two thread counts do the same).
// So float32 is checked update by update from the same weights: 20 critic updates along a plain run.
test('float32 DCGAN WGAN-GP: from the same weights the batched update gives the plain loss and gradients, over 20 updates', () => {
  const real = data.float().keep();
  const make = (batchCriticForward: boolean, lr: number) => {
    tg.manualSeed(5);
    const G = dcganGenerator({ baseWidth: 8, normalization: 'instance' });
    const D = dcganCritic({ baseWidth: 8, normalization: 'instance' });
    let c = 0;
    return new GanTrainer({
      generator: G, critic: D, loss: 'wgan-gp', batchCriticForward,
      batches: () => { const x = real.narrow(0, c, 16); c = (c + 16) % 48; return x; },
      optG: new Adam(G.parameters(), { lr, betas: [0.5, 0.9] }), optD: new Adam(D.parameters(), { lr, betas: [0.5, 0.9] }),
    });
  };
  const plain = make(false, 1e-3);
  const batched = make(true, 0); // lr 0: its weights are whatever plain's were
  let worstLoss = 0, worstGrad = 0;
  for (let i = 0; i < 20; i++) {
    batched.critic.loadStateDict(plain.critic.stateDict());
    batched.generator.loadStateDict(plain.generator.stateDict());
    tg.manualSeed(100 + i);
    const a = plain.criticStep();
    tg.manualSeed(100 + i);
    const b = batched.criticStep();
    worstLoss = Math.max(worstLoss, Math.abs(a.criticLoss - b.criticLoss) / Math.abs(a.criticLoss));
    const ga = plain.critic.parameters().map((p) => p.grad!);
    const gb = batched.critic.parameters().map((p) => p.grad!);
    ga.forEach((g, k) => {
      const scale = g.abs().max().item();
      worstGrad = Math.max(worstGrad, gb[k].sub(g).abs().max().item() / scale);
    });
    if (i % 5 === 4) plain.generatorStep();
  }
  // measured: the losses equal, the gradients 3.6e-7 relative to each tensor's largest entry
  assert.ok(worstLoss < 1e-6, `critic loss: worst relative difference ${worstLoss}`);
  assert.ok(worstGrad < 1e-5, `critic gradients: worst difference relative to the largest entry ${worstGrad}`);
  real.dispose();
});

test("batchCriticForward: 'auto' leaves a batch-norm or spectral-norm critic alone; true forces it; bad values named", () => {
  tg.manualSeed(5);
  const G = dcganGenerator({ baseWidth: 4, noiseDim: 8 });
  const make = (critic: Module, batchCriticForward?: unknown) => new GanTrainer({
    generator: G, critic, loss: 'gan', batches: () => data.narrow(0, 0, 4).float(), batchCriticForward: batchCriticForward as never,
    optG: new Adam(G.parameters()), optD: new Adam(critic.parameters()),
  });
  assert.is(make(dcganCritic({ baseWidth: 4, normalization: 'batch' })).batchCriticForward, false);
  const sn = dcganCritic({ baseWidth: 4 });
  spectralNorm(sn.children()[0] as Module);
  assert.is(make(sn).batchCriticForward, false);
  assert.is(make(dcganCritic({ baseWidth: 4, normalization: 'batch' }), true).batchCriticForward, true);
  assert.throws(() => make(dcganCritic({ baseWidth: 4 }), 'yes'), (e: Error) => /'auto', true or false for GanTrainer\(\) options\.batchCriticForward but received string 'yes'/.test(e.message));
});

test('a critic whose output merges the samples falls back to two forwards (and stays there)', () => {
  tg.manualSeed(5);
  const G = dcganGenerator({ baseWidth: 4, noiseDim: 8 });
  // Flatten(0) over [N, 2, 1, 1] gives [2N]: per-sample layers, but 2N rows come out of N samples
  const critic = new Sequential(new Conv2d(1, 2, 28), new Flatten(0));
  const t = new GanTrainer({
    generator: G, critic, loss: 'wgan', batches: () => data.narrow(0, 0, 4).float(), batchSize: 4,
    optG: new Adam(G.parameters()), optD: new Adam(critic.parameters()),
  });
  assert.is(t.batchCriticForward, true);
  const calls = counted(critic);
  t.criticStep();
  assert.is(t.batchCriticForward, false);
  assert.is(calls.calls(), 3, 'one batched call, then real and fake alone');
  t.criticStep();
  assert.is(calls.calls(), 5, 'two calls per update from then on');
});

test.run();
