// A short WGAN-GP training of the DCGAN models in float64, from fixed seeds and fixed batches:
// two runs that differ only in how they compute (layout, threads) must end with the same
// statistics and weights. Used by test/channels-last.test.ts and test/threads.test.ts.
import * as tg from '../../lib';
import { Tensor } from '../../lib';
import { Adam } from '../../lib/optim';
import { GanTrainer, dcganCritic, dcganGenerator } from '../../lib/gan';
import type { StepStats } from '../../lib/gan/trainer';
import type { Module } from '../../lib/nn/module';

export interface F64Run {
  stats: StepStats[];
  /** every parameter of G then D after the steps, kept (dispose them) */
  weights: Tensor[];
}

/**
 * `steps` GanTrainer WGAN-GP steps (`nCritic` critic steps each, one batch per critic step, from
 * `batches` in order), instance norm, Adam 1e-4 (0.5, 0.9), models seeded with 21 and steps with 22.
 * `channelsLast` relays both models and every batch NHWC; `check` runs on the critic after the steps.
 */
export function trainWganGpF64(o: {
  batches: Tensor[]; steps: number; nCritic: number; channels: number; channelsLast: boolean; check?: (critic: Module) => void;
}): F64Run {
  tg.manualSeed(21);
  const G = dcganGenerator({ normalization: 'instance', channels: o.channels, baseWidth: 16, dtype: 'float64' });
  const D = dcganCritic({ loss: 'wgan-gp', normalization: 'instance', channels: o.channels, baseWidth: 16, dtype: 'float64' });
  if (o.channelsLast) {
    G.toMemoryFormat('channelsLast');
    D.toMemoryFormat('channelsLast');
  }
  let bi = 0;
  const trainer = new GanTrainer({
    generator: G, critic: D, loss: 'wgan-gp', nCritic: o.nCritic,
    optG: new Adam(G.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }), optD: new Adam(D.parameters(), { lr: 1e-4, betas: [0.5, 0.9] }),
    batches: () => { const b = o.batches[bi++]; return o.channelsLast ? b.contiguous('channelsLast') : b.clone(); },
  });
  tg.manualSeed(22);
  const stats = Array.from({ length: o.steps }, () => trainer.step());
  o.check?.(D);
  const weights = [...G.parameters(), ...D.parameters()].map((p) => tg.keep(p.detach().contiguous()));
  G.dispose();
  D.dispose();
  return { stats, weights };
}
