// CUDA: the same code on the GPU. Skips (saying why) where CUDA is absent, as in CI.
// On the GPU machine: scripts/gpu/on-device.sh runs the suite with these enabled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { dcganCritic, dcganGenerator, GanTrainer } from '../lib/gan';
import { Adam } from '../lib/optim';

const available = tg.cuda.isAvailable();
if (!available) {
  const d = tg.diagnostics();
  console.log(`cuda.test.ts: skipped — CUDA is not available (libtorch ${d.libtorch.version}, CUDA build: ${d.libtorch.cudaCompiled}, devices: ${d.cuda.deviceCount})`);
  if (process.env.TORCH_GAN_TEST_CUDA === '1') throw new Error('TORCH_GAN_TEST_CUDA=1 but CUDA is not available');
}
const gpu = available ? test : test.skip;

gpu('tensors move to cuda and back; memory() reports CUDA tensors and allocator bytes', () => {
  const before = tg.memory().cuda.tensors;
  const x = tg.tensor([1, 2, 3]).to('cuda');
  assert.is(x.device, 'cuda:0');
  const m = tg.memory();
  assert.is(m.cuda.tensors, before + 1);
  assert.ok((m.cuda.allocatedBytes ?? 0) > 0);
  assert.equal(x.mul(2).cpu().toArray(), [2, 4, 6]);
  tg.cuda.synchronize();
  x.dispose();
  assert.is(tg.memory().cuda.tensors, before);
});

gpu('the WGAN-GP double backward on CUDA equals the CPU one', () => {
  tg.manualSeed(0);
  const critic = dcganCritic({ imageSize: 28, baseWidth: 8, normalization: 'instance', dtype: 'float64' });
  const xCpu = tg.randn([4, 1, 28, 28], { dtype: 'float64' });
  const run = (device: tg.Device) =>
    tg.tidy(() => {
      critic.to(device);
      critic.zeroGrad();
      const x = xCpu.to(device).requiresGrad_(true);
      const [g] = tg.autograd.grad(critic.forward(x).sum(), x, { createGraph: true });
      const pen = g!.flatten(1).square().sum(1).add(1e-12).sqrt().sub(1).square().mean();
      pen.backward();
      return [pen.cpu(), ...critic.parameters().map((p) => p.grad!.cpu())];
    });
  const a = run('cpu');
  const b = run('cuda');
  for (let i = 0; i < a.length; i++) {
    const diff = a[i].sub(b[i]).abs().max().item();
    assert.ok(diff < 1e-8, `tensor ${i} differs by ${diff}`);
  }
});

gpu('a WGAN-GP training step runs on CUDA with no tensor left behind', () => {
  tg.manualSeed(1);
  const generator = dcganGenerator({ imageSize: 28, baseWidth: 8, noiseDim: 16, normalization: 'instance', device: 'cuda' });
  const critic = dcganCritic({ imageSize: 28, baseWidth: 8, normalization: 'instance', device: 'cuda' });
  const real = tg.rand([16, 1, 28, 28], { device: 'cuda' }).mul(2).sub(1).keep();
  const trainer = new GanTrainer({
    generator, critic, loss: 'wgan-gp', batches: () => real.clone(),
    optG: new Adam(generator.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }),
    optD: new Adam(critic.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }),
  });
  trainer.step();
  const live = tg.memory().cuda.tensors;
  const s = trainer.step();
  assert.ok(Number.isFinite(s.criticLoss) && s.penalty > 0);
  assert.is(tg.memory().cuda.tensors, live);
});

test.run();
