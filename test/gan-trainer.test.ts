// GanTrainer: step-by-step parity with PyTorch (test/fixtures/gan-trainer.json), determinism
// under manualSeed, no tensor leaks across steps, option validation, every loss kind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { Tensor } from '../lib/tensor/tensor';
import { Module } from '../lib/nn/module';
import { Adam, RMSprop, SGD } from '../lib/optim';
import { BatchNorm2d, Sequential, Linear } from '../lib/nn/layers';
import {
  GanTrainer, GanTrainerOptions, TrainerLoss, recipes, trainerFromRecipe, toyGenerator, toyCritic, dcganGenerator, dcganCritic,
} from '../lib/gan';
import { ToySampler } from '../lib/data';

// These tensors are tiny: a second intra-op thread only adds a barrier per op, which costs
// a scheduler slice whenever the cores are shared (measured 30-60x slower under load).
let threads = 0;
test.before(() => { threads = tg.getNumThreads(); tg.setNumThreads(1); });
test.after(() => { tg.setNumThreads(threads); });

type Entry = { shape: number[]; data: number[] };
type Case = {
  loss: TrainerLoss; nCritic: number; dim: number; batchSize: number; steps: number;
  init: { G: Record<string, Entry>; D: Record<string, Entry> };
  batches: Entry[];
  stats: { criticLoss: number; generatorLoss: number; wassersteinEstimate: number; penalty: number }[];
  final: { G: Record<string, Entry>; D: Record<string, Entry> };
  runSeed: number;
};
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gan-trainer.json'), 'utf8')) as { cases: Case[] };

function load(m: Module, d: Record<string, Entry>): void {
  const sd: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(d)) sd[k] = tg.tensor(Float32Array.from(e.data), e.shape);
  m.loadStateDict(sd);
}

function close(a: number, b: number, tol: number, what: string): void {
  if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) assert.unreachable(`${what}: ${a} vs ${b}`);
}

// PyTorch's loop scores real and fake in two critic calls, which batchCriticForward false does
// exactly: losses and final weights. The batched forward ('auto' resolves to it for these critics)
// sums the critic's weight gradients over real and fake in one product instead of two; its losses
// must match too, but its weights only to rounding carried through Adam/RMSprop (a gradient that
// is a near-cancelling difference of the real and fake sums moves its weight by ±lr whatever its
// size), so they are compared in float64 instead (test/gan-batched-critic.test.ts)
for (const batched of [false, 'auto'] as const) for (const c of fixture.cases) {
  test(`'${c.loss}' steps match PyTorch (losses, estimates${batched ? '' : ', final weights'}), batchCriticForward ${batched}`, () => {
    const G = toyGenerator({ dim: c.dim });
    const D = toyCritic({ dim: c.dim });
    load(G, c.init.G);
    load(D, c.init.D);
    const opt = (m: Module) => (c.loss === 'wgan' ? new RMSprop(m.parameters(), { lr: 5e-5 })
      : new Adam(m.parameters(), c.loss === 'gan' ? { lr: 2e-4, betas: [0.5, 0.999] } : { lr: 1e-4, betas: [0.5, 0.9] }));
    let bi = 0;
    const trainer = new GanTrainer({
      generator: G, critic: D, optG: opt(G), optD: opt(D), loss: c.loss, nCritic: c.nCritic, batchCriticForward: batched,
      batches: () => tg.tensor(Float32Array.from(c.batches[bi].data), c.batches[bi++].shape),
    });
    assert.is(trainer.batchCriticForward, batched === 'auto');
    tg.manualSeed(c.runSeed);
    for (let s = 0; s < c.steps; s++) {
      const st = trainer.step();
      const ex = c.stats[s];
      close(st.criticLoss, ex.criticLoss, 1e-4, `step ${s} criticLoss`);
      close(st.generatorLoss, ex.generatorLoss, 1e-4, `step ${s} generatorLoss`);
      close(st.wassersteinEstimate, ex.wassersteinEstimate, 1e-4, `step ${s} wassersteinEstimate`);
      close(st.penalty, ex.penalty, 1e-4, `step ${s} penalty`);
      assert.is(st.iteration, s + 1);
      if (c.loss === 'wgan-gp' || c.loss === 'dragan') assert.ok(st.gradNorm > 0, 'gradNorm reported');
      else assert.ok(Number.isNaN(st.gradNorm), 'no gradNorm without a penalty');
    }
    for (const [m, key] of batched ? [] : [[G, 'G'], [D, 'D']] as const) {
      for (const [k, t] of Object.entries(m.stateDict())) {
        const a = t.toArray();
        const b = c.final[key][k].data;
        a.forEach((v, i) => close(v, b[i], 1e-5, `${key} ${k}[${i}]`));
      }
    }
    if (c.loss === 'wgan') assert.ok(D.parameters().every((p) => p.abs().max().item() <= 0.01 + 1e-9), 'critic weights clipped');
  });
}

// ---------------------------------------------------------------- behaviour

function toySetup(loss: TrainerLoss, extra: Partial<GanTrainerOptions> = {}, seed = 7) {
  tg.manualSeed(seed);
  const G = toyGenerator({ dim: 16 });
  const D = toyCritic({ dim: 16 });
  const sampler = new ToySampler('8gaussians', { seed: 3 });
  const trainer = new GanTrainer({
    generator: G, critic: D, loss,
    optG: new Adam(G.parameters(), { lr: 1e-3, betas: [0.5, 0.9] }),
    optD: new Adam(D.parameters(), { lr: 1e-3, betas: [0.5, 0.9] }),
    batches: () => sampler.sampleTensor(32),
    ...extra,
  });
  return { G, D, trainer };
}

test('deterministic under manualSeed', () => {
  const run = () => {
    const { trainer } = toySetup('wgan-gp');
    const stats = [trainer.step(), trainer.step(), trainer.step()];
    const s = trainer.sample(4);
    return { stats, s: s.toArray() };
  };
  const a = run();
  const b = run();
  assert.equal(a.stats, b.stats);
  assert.equal(a.s, b.s);
});

test('no tensor leaks across steps (memory().tensors constant), every loss kind', () => {
  for (const loss of ['gan', 'minimax', 'hinge', 'wgan', 'wgan-gp', 'dragan'] as const) {
    const { trainer, G, D } = toySetup(loss, { nCritic: 2 });
    trainer.step(); // optimizer state is created on the first step
    const before = tg.memory().tensors;
    for (let i = 0; i < 3; i++) {
      const st = trainer.step();
      for (const k of ['criticLoss', 'generatorLoss', 'wassersteinEstimate', 'penalty'] as const) assert.ok(Number.isFinite(st[k]), `${loss} ${k} finite`);
    }
    assert.is(tg.memory().tensors, before, `${loss}: live tensors`);
    const x = trainer.sample(5);
    assert.equal(x.shape, [5, 2]);
    x.dispose();
    assert.is(tg.memory().tensors, before, `${loss}: sample() leaks nothing but its result`);
    assert.ok(D.parameters().every((p) => p.requiresGrad), `${loss}: critic parameters unfrozen after the generator step`);
    G.dispose();
    D.dispose();
  }
});

test('each step updates both networks; the generator step leaves the critic untouched', () => {
  const { trainer, G, D } = toySetup('wgan-gp', { nCritic: 1 });
  const g0 = G.parameters()[0].toArray();
  const d0 = D.parameters()[0].toArray();
  trainer.criticStep();
  const d1 = D.parameters()[0].toArray();
  assert.equal(G.parameters()[0].toArray(), g0, 'critic step leaves G alone');
  assert.ok(d1.some((v, i) => v !== d0[i]), 'critic step moves D');
  trainer.generatorStep();
  assert.equal(D.parameters()[0].toArray(), d1, 'generator step leaves D alone');
  assert.ok(G.parameters()[0].toArray().some((v, i) => v !== g0[i]), 'generator step moves G');
  assert.ok(D.parameters().every((p) => p.grad === null || p.grad.abs().sum().item() >= 0), 'critic grads untouched by G step');
});

test('callbacks fire; nCritic defaults by loss', () => {
  let steps = 0;
  let critic = 0;
  const { trainer } = toySetup('wgan-gp', { callbacks: { onStep: () => steps++, onCriticStep: () => critic++ } });
  assert.is(trainer.nCritic, 5);
  trainer.run(2);
  assert.is(steps, 2);
  assert.is(critic, 10);
  assert.is(toySetup('gan').trainer.nCritic, 1);
  assert.is(toySetup('dragan').trainer.nCritic, 1);
  assert.is(toySetup('wgan').trainer.nCritic, 5);
});

test('sample(): eval mode and noGrad, back to train mode; fixed noise is reproducible', () => {
  tg.manualSeed(1);
  const G = dcganGenerator({ baseWidth: 4, noiseDim: 8 });
  const D = dcganCritic({ baseWidth: 4, loss: 'wgan-gp' });
  const trainer = new GanTrainer({
    generator: G, critic: D, loss: 'wgan-gp', optG: new Adam(G.parameters()), optD: new Adam(D.parameters()),
    batches: () => tg.rand([4, 1, 28, 28]).mul(2).sub(1),
  });
  assert.equal(trainer.noise.shape, [8, 1, 1], 'noise shape from the generator');
  const st = trainer.step();
  assert.ok(Number.isFinite(st.criticLoss) && st.gradNorm > 0);
  const z = trainer.sampleNoise(3);
  const a = trainer.sample(3, z);
  const b = trainer.sample(undefined, z);
  assert.equal(a.shape, [3, 1, 28, 28]);
  assert.equal(a.toArray(), b.toArray(), 'eval mode: batch norm uses running statistics, so the same z gives the same images');
  assert.is(a.requiresGrad, false);
  assert.is(G.training, true, 'generator back in training mode');
  G.eval();
  trainer.sample(2).dispose();
  assert.is(G.training, false, 'a generator in eval mode stays there');
});

test('uniform noise in [-scale, scale)', () => {
  const { trainer } = toySetup('gan', { noise: { kind: 'uniform', scale: 0.5 } });
  const z = trainer.sampleNoise(2000).toArray();
  assert.ok(Math.min(...z) >= -0.5 && Math.max(...z) < 0.5 && Math.max(...z) > 0.45 && Math.min(...z) < -0.45);
});

test('batch norm in the critic is refused with a gradient penalty, allowed with the option', () => {
  const G = toyGenerator({ dim: 8 });
  class BnCritic extends Module {
    net = this.registerModule('net', new Sequential(new Linear(2, 4)));
    bn = this.registerModule('bn', new BatchNorm2d(4));
    forward(x: Tensor): Tensor { return this.net.forward(x).sum(1); }
  }
  const D = new BnCritic();
  const base = { generator: G, critic: D, optG: new Adam(G.parameters()), optD: new Adam(D.parameters()), batches: () => tg.randn([4, 2]) };
  assert.throws(() => new GanTrainer({ ...base, loss: 'wgan-gp' }), /batch normalization \(bn \(BatchNorm2d\)\).*per sample|each input sample/s);
  assert.throws(() => new GanTrainer({ ...base, loss: 'dragan' }), /LayerNorm, InstanceNorm2d or no normalization/);
  new GanTrainer({ ...base, loss: 'wgan-gp', allowBatchNormWithPenalty: true });
  new GanTrainer({ ...base, loss: 'wgan' });
  // and the DCGAN critic's default for a penalty is layer norm, which is accepted
  const d2 = dcganCritic({ baseWidth: 2, loss: 'wgan-gp' });
  assert.ok(d2.toString().includes('LayerNorm') && !d2.toString().includes('BatchNorm'));
  assert.ok(dcganCritic({ baseWidth: 2, loss: 'gan' }).toString().includes('BatchNorm2d'));
  const penaltyBn = () => tg.gan.gradientPenalty(dcganCritic({ baseWidth: 2, loss: 'gan' }), tg.rand([2, 1, 28, 28]), tg.rand([2, 1, 28, 28]));
  assert.throws(penaltyBn, /gradientPenalty\(\): the critic contains batch normalization \(3 \(BatchNorm2d\), 6 \(BatchNorm2d\)\)/);
});

test('bad options are refused with clear errors', () => {
  const G = toyGenerator({ dim: 8 });
  const D = toyCritic({ dim: 8 });
  const optG = new Adam(G.parameters());
  const optD = new Adam(D.parameters());
  const ok: GanTrainerOptions = { generator: G, critic: D, optG, optD, loss: 'wgan-gp', batches: () => tg.randn([4, 2]) };
  const bad = (patch: Record<string, unknown>, re: RegExp) => assert.throws(() => new GanTrainer({ ...ok, ...patch } as GanTrainerOptions), re);
  bad({ los: 'gan' }, /Unknown option 'los'/);
  bad({ loss: 'bogus' }, /one of 'gan', 'minimax', 'hinge', 'lsgan', 'wgan', 'wgan-gp', 'dragan' for GanTrainer\(\) options\.loss but received string 'bogus'/);
  bad({ nCritic: 0 }, /positive integer for GanTrainer\(\) options\.nCritic/);
  bad({ nCritic: 2.5 }, /positive integer/);
  bad({ lambda: -1 }, /non-negative number for GanTrainer\(\) options\.lambda/);
  bad({ loss: 'gan', lambda: 10 }, /lambda applies to 'wgan-gp' and 'dragan' only/);
  bad({ clamp: { lower: -0.1 } }, /clamp \(weight clipping\) applies to loss 'wgan' only/);
  bad({ loss: 'wgan', clamp: { lower: 0.1, upper: -0.1 } }, /clamp\.upper/);
  bad({ loss: 'wgan', clamp: { low: 0.1 } }, /Unknown option 'low'/);
  bad({ generator: 'G' }, /a Module for GanTrainer\(\) options\.generator but received string 'G'/);
  bad({ critic: G }, /different modules/);
  bad({ optD: optG }, /different optimizers/);
  bad({ optG: {} }, /an optimizer .* for GanTrainer\(\) options\.optG/);
  bad({ optG: optD, optD: optG }, /optG holds parameters of the critic/);
  bad({ batches: tg.randn([4, 2]) }, /a function returning a real batch Tensor for GanTrainer\(\) options\.batches/);
  bad({ noise: { kind: 'cauchy' } }, /'normal' or 'uniform' for GanTrainer\(\) options\.noise\.kind/);
  bad({ noise: { dim: 3 } }, /noise\.dim \(3\) disagrees with the generator's noiseShape \[2\]/);
  bad({ noise: { scale: 0 } }, /a positive number for GanTrainer\(\) options\.noise\.scale/);
  bad({ noise: { std: 1 } }, /Unknown option 'std'/);
  bad({ draganSymmetric: true }, /applies to loss 'dragan' only/);
  bad({ oneSidedPenalty: 'yes' }, /a boolean for GanTrainer\(\) options\.oneSidedPenalty/);
  bad({ callbacks: { onstep: () => 0 } }, /Unknown option 'onstep'/);
  assert.throws(() => new GanTrainer(undefined as never), /an object \{generator, critic.* for GanTrainer\(\) options/);
  // a generator without noiseShape needs noise.dim
  class Plain extends Module { lin = this.registerModule('lin', new Linear(3, 2)); forward(x: Tensor) { return this.lin.forward(x); } }
  const P = new Plain();
  assert.throws(() => new GanTrainer({ ...ok, generator: P, optG: new Adam(P.parameters()) }), /noise\.dim \(or noise\.shape\) is required/);
  const t = new GanTrainer({ ...ok, generator: P, optG: new Adam(P.parameters()), noise: { dim: 3 } });
  assert.equal(t.noise.shape, [3]);
  // a batch source that returns junk
  const t2 = new GanTrainer({ ...ok, batches: () => 42 as never });
  assert.throws(() => t2.step(), /a Tensor \(a batch of real samples\) for the value returned by options\.batches\(\) but received number 42/);
  assert.throws(() => t2.sample(0), /positive integer/);
  assert.throws(() => t2.run(-1), /non-negative integer/);
});

test('recipes hold the published defaults; trainerFromRecipe builds the optimizers', () => {
  assert.equal(recipes['wgan-gp'].betas, [0.5, 0.9]);
  assert.is(recipes['wgan-gp'].lr, 1e-4);
  assert.is(recipes['wgan-gp'].nCritic, 5);
  assert.is(recipes['wgan-gp'].lambda, 10);
  assert.is(recipes.wgan.optimizer, 'rmsprop');
  assert.is(recipes.wgan.lr, 5e-5);
  assert.equal(recipes.wgan.clamp, { lower: -0.01, upper: 0.01 });
  assert.is(recipes.gan.lr, 2e-4);
  assert.equal(recipes.gan.betas, [0.5, 0.999]);
  assert.is(recipes.dragan.lambda, 10);
  assert.equal(recipes.dragan.betas, [0.5, 0.9]);
  assert.ok(Object.isFrozen(recipes) && Object.isFrozen(recipes.gan));
  for (const name of ['wgan-gp', 'wgan', 'gan', 'dragan'] as const) {
    const G = toyGenerator({ dim: 8 });
    const D = toyCritic({ dim: 8 });
    const t = trainerFromRecipe(name, { generator: G, critic: D, batches: () => tg.randn([8, 2]) });
    assert.is(t.loss, recipes[name].loss);
    assert.is(t.nCritic, recipes[name].nCritic);
    const expected = recipes[name].optimizer === 'adam' ? Adam : RMSprop;
    assert.ok(t.optD instanceof expected && t.optG instanceof expected, `${name} optimizer`);
    assert.is((t.optD as Adam).paramGroups[0].lr, recipes[name].lr);
    const st = t.step();
    assert.ok(Number.isFinite(st.criticLoss), `${name} runs`);
  }
  const G = toyGenerator({ dim: 8 });
  const D = toyCritic({ dim: 8 });
  const sgd = new SGD(D.parameters(), { lr: 0.01 });
  const t = trainerFromRecipe('wgan', { generator: G, critic: D, batches: () => tg.randn([8, 2]), optD: sgd, clamp: { lower: -0.05, upper: 0.05 } });
  assert.is(t.optD, sgd);
  assert.equal(t.clamp, { lower: -0.05, upper: 0.05 });
});

test('the DCGAN builders train with every loss (one step each, no leaks)', () => {
  for (const loss of ['gan', 'wgan', 'wgan-gp', 'dragan', 'hinge'] as const) {
    tg.manualSeed(2);
    const G = dcganGenerator({ baseWidth: 2, noiseDim: 4, upsampling: loss === 'hinge' ? 'nearest' : 'deconv' });
    const D = dcganCritic({ baseWidth: 2, loss });
    const name = loss === 'gan' ? 'gan' : loss === 'hinge' ? 'gan' : loss;
    const t = loss === 'hinge'
      ? new GanTrainer({ generator: G, critic: D, loss, optG: new Adam(G.parameters()), optD: new Adam(D.parameters()), batches: () => tg.rand([4, 1, 28, 28]) })
      : trainerFromRecipe(name as 'gan', { generator: G, critic: D, batches: () => tg.rand([4, 1, 28, 28]).mul(2).sub(1), nCritic: 1 });
    t.step();
    const before = tg.memory().tensors;
    const st = t.step();
    assert.is(tg.memory().tensors, before, `${loss}: no leak`);
    assert.ok(Number.isFinite(st.criticLoss) && Number.isFinite(st.generatorLoss), `${loss}: finite`);
    G.dispose();
    D.dispose();
  }
});

test.run();
