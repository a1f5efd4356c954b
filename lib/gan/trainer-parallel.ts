// What GanTrainer (./trainer.ts) does to train data-parallel (options.dataParallel): the shard
// of a global batch, the random draws made for the global batch so each rank keeps its rows, the
// global batch's std (DRAGAN), the gradient sync and step()'s numbers averaged over the ranks.
// Kept apart so that the trainer's steps read the same with and without data parallelism: each
// of these is one call there, and the identity "W ranks x batch B compute what one process x
// batch W·B computes" is kept here.
import { TorchError, invalidParameterError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { tensor } from '../tensor/creation';
import { noGrad } from '../autograd';
import type { StepStats, TrainerDataParallel } from './trainer-options';

/** This rank's rows of a global batch t (worldSize·n rows): rows rank, rank + worldSize, ... (DistributedSampler's order). */
export function shardRows(t: Tensor, rank: number, worldSize: number): Tensor {
  if (worldSize === 1) return t.clone();
  const [total, ...rest] = t.shape;
  if (total % worldSize !== 0) throw invalidParameterError('shardRows() t', `a batch whose size is a multiple of ${worldSize}`, t);
  return tidy(() => t.reshape([total / worldSize, worldSize, ...rest]).select(1, rank).contiguous());
}

/**
 * This rank's n rows of a per-sample draw: `draw(rows)` for the global batch (n × worldSize rows)
 * sharded when data-parallel, `draw(n)` itself on one process.
 */
export function drawGlobalRows(dp: TrainerDataParallel | null, n: number, draw: (rows: number) => Tensor): Tensor {
  if (!dp || dp.shard.worldSize === 1) return draw(n);
  const { rank, worldSize } = dp.shard;
  return tidy(() => shardRows(draw(n * worldSize), rank, worldSize));
}

/** The unbiased std of the global batch (all of x's elements on every rank), as Tensor.std() of the whole batch. */
export function globalStd(dp: TrainerDataParallel, x: Tensor): Tensor {
  return tidy(() => noGrad(() => {
    const x64 = x.to({ dtype: 'float64', device: 'cpu' });
    const s = x64.sum().reshape(1).contiguous();
    dp.allReduceSum(s);
    const count = x.numel() * dp.shard.worldSize;
    const mean = s.div(count);
    const ss = x64.sub(mean).square().sum().reshape(1).contiguous();
    dp.allReduceSum(ss);
    return ss.div(count - 1).sqrt().reshape([]).to({ dtype: x.dtype, device: x.device });
  }));
}

/** The gradient sync of `params` (those that require grad), its failure named with the step (`iteration`) it happened in. */
export function syncGradients(dp: TrainerDataParallel, params: Tensor[], what: string, iteration: number): void {
  try {
    dp.syncGradients(params.filter((p) => p.requiresGrad));
  } catch (e) {
    if (e instanceof TypeError) throw e;  // a bad argument (e.g. a CUDA gradient for Gloo), as it was
    const code = (e as { code?: string })?.code;
    throw new TorchError(`GanTrainer: syncing the ${what} gradients (iteration ${iteration}) failed: ${(e as Error)?.message ?? String(e)}`, { code: code ?? 'ERR_TORCH_DISTRIBUTED', cause: e });
  }
}

/**
 * step()'s numbers averaged over the ranks (the means of the global batch: every loss is a
 * mean over its batch), in one all-reduce that also checks that every rank used the same batch
 * size (`n`, this rank's last real batch).
 */
export function averageStats(dp: TrainerDataParallel, s: StepStats, n: number): StepStats {
  const w = dp.shard.worldSize;
  const v = tidy(() => {
    const t = tensor([s.criticLoss, s.generatorLoss, s.wassersteinEstimate, s.penalty, s.gradNorm, n, n * n], { dtype: 'float64' });
    dp.allReduceSum(t);
    return t.toArray();
  });
  // every rank's n equal <=> w·Σn² = (Σn)²
  if (w * v[6] !== v[5] * v[5]) {
    throw new TorchError(`GanTrainer.step(): the ranks' real batches differ in size (this rank ${dp.shard.rank}: ${n}, mean over the ${w} ranks: ${v[5] / w}); every rank must draw the same batch size (a DistributedSampler and a loader with dropLast)`, {
      code: 'ERR_DATA_PARALLEL_MISMATCH', parameter: 'batches', expected: `${v[5] / w} rows on every rank`, received: `${n} rows on rank ${dp.shard.rank}`,
    });
  }
  return { iteration: s.iteration, criticLoss: v[0] / w, generatorLoss: v[1] / w, wassersteinEstimate: v[2] / w, penalty: v[3] / w, gradNorm: v[4] / w };
}
