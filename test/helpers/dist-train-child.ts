// One process of a data-parallel GanTrainer scenario (test/distributed-trainer.test.ts):
//   dist-train-child.ts ref  '<config json>'   one process, the whole global batch, NO dataParallel (the truth)
//   dist-train-child.ts dp   '<config json>'   one rank (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from the env)
// Both build the same data, networks and DistributedSampler order; the ranks start from
// different weights and random states on purpose (DataParallel.synchronize must fix that).
// Prints "ITER k" after each step and one line "RESULT <json>" at the end.
import * as tg from '../../lib';
import { GanTrainer, TrainerLoss } from '../../lib/gan';
import { Sequential, Linear, ReLU, Tanh, Unflatten, Conv2d, LeakyReLU, Flatten, BatchNorm2d } from '../../lib/nn/layers';

interface Config {
  loss: TrainerLoss;
  dtype: 'float32' | 'float64';
  iterations: number;
  /** the global batch: each of W ranks draws globalBatch / W */
  globalBatch: number;
  nCritic?: number;
  size?: number;
  timeoutMs?: number;
  batchNorm?: boolean;
  /** rank 1 builds a wider generator (DataParallel.synchronize must refuse) */
  mismatch?: boolean;
}

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3]) as Config;
const out = (v: unknown) => console.log('RESULT ' + JSON.stringify(v));
const errInfo = (e: unknown) => ({ code: (e as { code?: string }).code, name: (e as Error).name, message: (e as Error).message });

function models(seed: number, dtype: 'float32' | 'float64', hidden = 32): { G: tg.nn.Module & { noiseShape: number[] }; D: tg.nn.Module } {
  tg.manualSeed(seed);
  const G = new Sequential(new Linear(8, hidden), new ReLU(), new Linear(hidden, 64), new Tanh(), new Unflatten(1, [1, 8, 8])) as unknown as tg.nn.Module & { noiseShape: number[] };
  G.noiseShape = [8];
  const D = cfg.batchNorm
    ? new Sequential(new Conv2d(1, 4, 3, { stride: 2, padding: 1 }), new BatchNorm2d(4), new LeakyReLU(0.2), new Flatten(), new Linear(64, 1))
    : new Sequential(new Conv2d(1, 4, 3, { stride: 2, padding: 1 }), new LeakyReLU(0.2), new Flatten(), new Linear(64, 1));
  if (dtype === 'float64') {
    G.double();
    D.double();
  }
  return { G, D };
}

function main(): void {
  const size = cfg.size ?? 640;
  let rank = 0;
  let worldSize = 1;
  let dp: tg.distributed.DataParallel | undefined;
  const t0 = Date.now();
  if (mode === 'dp') {
    try {
      tg.distributed.initProcessGroup({ timeoutMs: cfg.timeoutMs ?? 20_000 });
    } catch (e) {
      out({ error: errInfo(e), ms: Date.now() - t0 });
      return;
    }
    dp = new tg.distributed.DataParallel();
    rank = dp.rank;
    worldSize = dp.worldSize;
  }
  const batch = cfg.globalBatch / worldSize;
  // the same data everywhere
  tg.manualSeed(42);
  const data = tg.keep(tg.tidy(() => tg.randn([size, 1, 8, 8], { dtype: cfg.dtype }).tanh()));
  // rank 1.. start from other weights and another random state: synchronize() must make them rank 0's
  const { G, D } = models(1 + 1000 * rank, cfg.dtype, cfg.mismatch && rank === 1 ? 33 : 32);
  const sampler = new tg.DistributedSampler(size, { rank, worldSize, seed: 3 });
  let epoch = 0;
  let idx = sampler.indices();
  let pos = 0;
  const batches = (): tg.Tensor => {
    if (pos + batch > idx.length) {
      sampler.setEpoch(++epoch);
      idx = sampler.indices();
      pos = 0;
    }
    const rows = Array.from(idx.subarray(pos, pos + batch));
    pos += batch;
    return tg.tidy(() => data.indexSelect(0, tg.tensor(rows, { dtype: 'int64' })));
  };
  const optG = new tg.optim.Adam(G.parameters(), { lr: 1e-3, betas: [0.5, 0.9] });
  const optD = new tg.optim.Adam(D.parameters(), { lr: 1e-3, betas: [0.5, 0.9] });
  const stats: tg.StepStats[] = [];
  let iter = 0;
  try {
    if (dp) dp.synchronize([G, D]);
    const trainer = new GanTrainer({
      generator: G, critic: D, optG, optD, loss: cfg.loss, batches, nCritic: cfg.nCritic ?? 5,
      ...(dp ? { dataParallel: dp } : {}),
    });
    for (; iter < cfg.iterations; iter++) {
      stats.push(trainer.step());
      console.log(`ITER ${iter + 1}`);
    }
  } catch (e) {
    const t1 = Date.now();
    const destroyed = tg.distributed.destroyProcessGroup();
    out({ rank, iter, error: errInfo(e), destroyed, destroyMs: Date.now() - t1, ms: Date.now() - t0 });
    return;
  }
  const weights = (m: tg.nn.Module) => m.parameters().map((p) => tg.tidy(() => p.toArray()));
  out({ rank, worldSize, batch, stats, G: weights(G), D: weights(D) });
  tg.distributed.destroyProcessGroup();
}

main();
