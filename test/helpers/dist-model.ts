// The tiny critic and WGAN-GP loss of the distributed equivalence test: the same code computes
// the one-process reference on the full batch and each rank's loss on its shard.
import * as tg from '../../lib';
import { gradientPenalty } from '../../lib/gan';

export const FULL_BATCH = 8;

export function critic(seed: number): tg.nn.Module {
  tg.manualSeed(seed);
  return new tg.nn.Sequential(
    new tg.nn.Conv2d(1, 3, 3, { padding: 1 }),
    new tg.nn.LeakyReLU(0.2),
    new tg.nn.Flatten(),
    new tg.nn.Linear(3 * 6 * 6, 1),
  ).double();
}

/** The full batch, the same on every process: real, fake and the interpolation weights. */
export function batch(): { real: tg.Tensor; fake: tg.Tensor; eps: tg.Tensor } {
  tg.manualSeed(1234);
  return {
    real: tg.randn([FULL_BATCH, 1, 6, 6], { dtype: 'float64' }),
    fake: tg.randn([FULL_BATCH, 1, 6, 6], { dtype: 'float64' }),
    eps: tg.rand([FULL_BATCH], { dtype: 'float64' }),
  };
}

/** Backward of mean D(fake) - mean D(real) + GP on samples [start, start + n) of the batch. */
export function lossBackward(model: tg.nn.Module, start: number, n: number): number {
  return tg.tidy(() => {
    const { real, fake, eps } = batch();
    const r = real.narrow(0, start, n);
    const f = fake.narrow(0, start, n);
    const e = eps.narrow(0, start, n);
    const gp = gradientPenalty(model, r, f, { eps: e, lambda: 10 });
    const loss = model.call(f).mean().sub(model.call(r).mean()).add(gp.penalty);
    loss.backward();
    return loss.item();
  });
}

export const grads = (model: tg.nn.Module): number[][] => model.parameters().map((p) => tg.tidy(() => (p.grad as tg.Tensor).toArray()));
