// Data-parallel GanTrainer (options.dataParallel = a DataParallel over Gloo) on 127.0.0.1:
// 2 processes x batch 32 against the truth, one process x batch 64 with a plain GanTrainer (no
// dataParallel), same data order (DistributedSampler), same seed: the weights after 20 WGAN-GP
// iterations agree to float precision (float64 and float32), and so do DRAGAN's (global std).
// Faults: a rank killed mid-run (either rank, the store's too) or stalled makes the other fail
// with a clear error within the timeout; networks that differ between ranks are refused by
// synchronize(); a critic with batch norm is refused; the dataParallel option is checked.
import { test } from 'uvu';
import { freePort } from '../lib/cli/launch';
import * as assert from 'uvu/assert';
import { spawn, ChildProcess } from 'child_process';
import * as path from 'path';
import * as tg from '../lib';
import { GanTrainer, TrainerDataParallel, draganPenalty, shardRows } from '../lib/gan';
import { Sequential, Linear, BatchNorm1d, ReLU } from '../lib/nn/layers';

const d = tg.distributed;
const child = path.join(__dirname, 'helpers', 'dist-train-child.ts');
const avail = d.distributedAvailability();
const dtest = avail.gloo ? test : test.skip;
if (!avail.gloo) console.log(`distributed trainer tests skipped: ${avail.glooReason}`);


interface Run { code: number | null; signal: NodeJS.Signals | null; result: any; stderr: string; ms: number; resultAt: number }
type OnLine = (line: string, proc: ChildProcess, index: number) => void;

/** Starts one child per env; resolves when all have exited (each is SIGKILLed after hardMs). */
function start(mode: 'ref' | 'dp', config: object, envs: Record<string, string>[], onLine?: OnLine, hardMs = 60_000): { procs: ChildProcess[]; done: Promise<Run[]> } {
  const base: Record<string, string | undefined> = { ...process.env, TORCH_GAN_NUM_THREADS: '1', MASTER_ADDR: '127.0.0.1' };
  for (const k of ['RANK', 'WORLD_SIZE', 'MASTER_PORT', 'LOCAL_RANK', 'GLOO_SOCKET_IFNAME']) delete base[k];
  const procs: ChildProcess[] = [];
  const done = Promise.all(envs.map((env, i) => new Promise<Run>((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, ['--import', 'tsx', child, mode, JSON.stringify(config)], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    let buf = '';
    let result: any = null;
    let resultAt = NaN;
    let stderr = '';
    p.stdout!.on('data', (c) => {
      buf += c;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('RESULT ')) {
          result = JSON.parse(line.slice(7));
          resultAt = Date.now();
        }
        onLine?.(line, p, i);
      }
    });
    p.stderr!.on('data', (c) => (stderr += c));
    const killer = setTimeout(() => p.kill('SIGKILL'), hardMs);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, result, stderr, ms: Date.now() - t0, resultAt });
    });
  })));
  return { procs, done };
}

const ranks = (n: number, port: number) => [...Array(n).keys()].map((r) => ({ RANK: String(r), WORLD_SIZE: String(n), MASTER_PORT: String(port) }));

function maxAbsDiff(a: number[][], b: number[][]): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  assert.is(a.length, b.length, 'same number of parameters');
  a.forEach((x, i) => {
    assert.is(x.length, b[i].length, `parameter ${i}: same size`);
    x.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    });
  });
  return { diff, scale };
}

/** Runs the reference (1 process, whole batch) and 2 ranks concurrently; returns the differences. */
async function equivalence(config: { loss: string; dtype: string; iterations: number; globalBatch: number; nCritic?: number }) {
  const port = await freePort();
  const ref = start('ref', config, [{}]);
  const dp = start('dp', config, ranks(2, port));
  const [[r], runs] = await Promise.all([ref.done, dp.done]);
  assert.ok(r.result && !r.result.error, `reference: ${JSON.stringify(r.result?.error)} ${r.stderr.slice(-2000)}`);
  for (const [i, run] of runs.entries()) assert.ok(run.result && !run.result.error, `rank ${i}: ${JSON.stringify(run.result?.error)} ${run.stderr.slice(-2000)}`);
  const [a, b] = runs.map((x) => x.result);
  assert.is(a.batch, config.globalBatch / 2);
  assert.is(r.result.batch, config.globalBatch);
  const g = maxAbsDiff(a.G, r.result.G);
  const c = maxAbsDiff(a.D, r.result.D);
  const ranksG = maxAbsDiff(a.G, b.G).diff;
  const ranksD = maxAbsDiff(a.D, b.D).diff;
  let stats = 0;
  (a.stats as tg.StepStats[]).forEach((s, i) => {
    for (const k of ['criticLoss', 'generatorLoss', 'wassersteinEstimate', 'penalty', 'gradNorm'] as const) {
      stats = Math.max(stats, Math.abs(s[k] - r.result.stats[i][k]));
    }
  });
  // the weights moved from their initialisation: a trivially equal pair would prove nothing
  return { g, c, ranksG, ranksD, stats, first: r.result.stats[0], last: r.result.stats[config.iterations - 1] };
}

dtest('2 ranks x batch 32 = 1 process x batch 64 after 20 WGAN-GP iterations (float64 and float32)', async () => {
  for (const [dtype, tol] of [['float64', 1e-10], ['float32', 2e-5]] as const) {
    const e = await equivalence({ loss: 'wgan-gp', dtype, iterations: 20, globalBatch: 64 });
    console.log(`  wgan-gp ${dtype}: max |Δ| generator ${e.g.diff.toExponential(2)} (max |w| ${e.g.scale.toFixed(3)}), critic ${e.c.diff.toExponential(2)} (max |w| ${e.c.scale.toFixed(3)}); ` +
      `rank 0 vs rank 1 ${Math.max(e.ranksG, e.ranksD).toExponential(2)}; step stats ${e.stats.toExponential(2)}`);
    assert.ok(e.g.diff < tol && e.c.diff < tol, `${dtype}: generator ${e.g.diff}, critic ${e.c.diff} (tolerance ${tol})`);
    assert.ok(e.stats < tol * 100, `${dtype}: step() numbers differ by ${e.stats}`);
    assert.is(Math.max(e.ranksG, e.ranksD), 0, 'both ranks hold the same weights');
    assert.ok(e.first.penalty > 0 && Math.abs(e.first.criticLoss - e.last.criticLoss) > 1e-3, `the run trained: ${JSON.stringify([e.first, e.last])}`);
  }
});

dtest('DRAGAN: 2 ranks x batch 32 = 1 process x batch 64 (perturbation scale from the global batch\'s std)', async () => {
  const e = await equivalence({ loss: 'dragan', dtype: 'float64', iterations: 8, globalBatch: 64, nCritic: 1 });
  console.log(`  dragan float64: max |Δ| generator ${e.g.diff.toExponential(2)}, critic ${e.c.diff.toExponential(2)}; step stats ${e.stats.toExponential(2)}`);
  assert.ok(e.g.diff < 1e-10 && e.c.diff < 1e-10, `generator ${e.g.diff}, critic ${e.c.diff}`);
  assert.is(Math.max(e.ranksG, e.ranksD), 0);
});

/** Two ranks training for long; `victim` is killed (or stopped) once it printed ITER 3. */
async function fault(victim: number, signal: 'SIGKILL' | 'SIGSTOP', timeoutMs: number) {
  const port = await freePort();
  let hitAt = 0;
  const { done } = start('dp', { loss: 'wgan-gp', dtype: 'float32', iterations: 100_000, globalBatch: 16, nCritic: 1, timeoutMs }, ranks(2, port), (line, p, i) => {
    if (i === victim && line === 'ITER 3' && !hitAt) {
      hitAt = Date.now();
      p.kill(signal);
      if (signal === 'SIGSTOP') setTimeout(() => p.kill('SIGKILL'), timeoutMs + 8000);  // released once the survivor reported
    }
  });
  const runs = await done;
  const other = runs[1 - victim];
  const res = other.result;
  assert.ok(hitAt > 0, 'the victim reached iteration 3');
  assert.ok(res && res.error, `rank ${1 - victim}: ${JSON.stringify(res)} ${other.stderr.slice(-1500)}`);
  return { res, after: other.resultAt - hitAt, code: other.code };
}

dtest('a rank killed mid-run: the other fails within the timeout, naming the peer, the operation and the timeout', async () => {
  for (const victim of [1, 0]) {
    const { res, after, code } = await fault(victim, 'SIGKILL', 3000);
    const survivor = 1 - victim;
    console.log(`  rank ${victim} killed at iteration 3: rank ${survivor} failed after ${after} ms (${res.error.code}, destroy ${res.destroyMs} ms): ${res.error.message.slice(0, 300)}`);
    assert.is(res.error.name, 'TorchError');
    assert.match(res.error.code, /^ERR_TORCH_DISTRIBUTED_(PEER|TIMEOUT)$/);
    assert.match(res.error.message, new RegExp(`on rank ${survivor} of 2`));
    assert.match(res.error.message, new RegExp(`peer \\(rank ${victim}\\)`));
    assert.match(res.error.message, /allReduce/);
    assert.match(res.error.message, /timeout 3000 ms/);
    assert.match(res.error.message, /^GanTrainer: syncing the (critic|generator)'s gradients \(iteration \d+\) failed: DataParallel\.syncGradients\(\)|allReduceSum/);
    assert.not.match(res.error.message, /Exception raised from|frame #/);
    assert.ok(after < 3000 + 3000, `failed ${after} ms after the kill`);
    assert.ok(res.destroyMs < 3000 + 3000, `destroy took ${res.destroyMs} ms`);
    assert.is(code, 0, 'the survivor reported and exited by itself');
  }
});

dtest('a rank stalled mid-run (SIGSTOP): the other fails with a timeout error within the timeout, no hang', async () => {
  const { res, after } = await fault(1, 'SIGSTOP', 2000);
  console.log(`  rank 1 stopped at iteration 3: rank 0 failed after ${after} ms (${res.error.code}): ${res.error.message.slice(0, 300)}`);
  assert.is(res.error.code, 'ERR_TORCH_DISTRIBUTED_TIMEOUT', res.error.message);
  assert.match(res.error.message, /on rank 0 of 2/);
  assert.match(res.error.message, /timeout 2000 ms/);
  assert.match(res.error.message, /peer \(rank 1\) did not take part within the group's timeout of 2000 ms/);
  assert.ok(after < 2000 + 2000 + 2500, `failed ${after} ms after the stop`);
});

dtest('synchronize(): ranks that built different networks are refused by name on every rank', async () => {
  const { done } = start('dp', { loss: 'wgan-gp', dtype: 'float32', iterations: 1, globalBatch: 16, mismatch: true, timeoutMs: 5000 }, ranks(2, await freePort()));
  const runs = await done;
  for (const [r, run] of runs.entries()) {
    const e = run.result?.error;
    assert.ok(e, `rank ${r}: ${JSON.stringify(run.result)} ${run.stderr.slice(-1000)}`);
    assert.is(e.code, 'ERR_DATA_PARALLEL_MISMATCH', e.message);
    assert.match(e.message, /DataParallel\.synchronize\(\): the ranks built different networks: rank 1 has 8 tensors of \d+ elements, rank 0 8 tensors of \d+ elements/);
  }
});

dtest('a data-parallel critic with batch norm is refused (even without a penalty)', async () => {
  const { done } = start('dp', { loss: 'gan', dtype: 'float32', iterations: 1, globalBatch: 16, batchNorm: true, timeoutMs: 5000 }, ranks(2, await freePort()));
  const runs = await done;
  for (const [r, run] of runs.entries()) {
    const e = run.result?.error;
    assert.ok(e, `rank ${r}: ${JSON.stringify(run.result)} ${run.stderr.slice(-1000)}`);
    assert.is(e.code, 'ERR_DATA_PARALLEL_BATCHNORM');
    assert.match(e.message, /GanTrainer\(\): a data-parallel critic must not contain batch normalization \(1 \(BatchNorm2d\)\)/);
  }
});

test('options.dataParallel is checked by name; shardRows takes the sampler\'s interleaved rows', () => {
  tg.manualSeed(0);
  const G = Object.assign(new Sequential(new Linear(2, 2)), { noiseShape: [2] });
  const D = new Sequential(new Linear(2, 4), new ReLU(), new Linear(4, 1));
  const base = {
    generator: G, critic: D, optG: new tg.optim.Adam(G.parameters()), optD: new tg.optim.Adam(D.parameters()), loss: 'wgan-gp' as const,
    batches: () => tg.zeros([4, 2]),
  };
  const ok: TrainerDataParallel = { shard: { rank: 0, worldSize: 2 }, syncGradients: () => 0, allReduceSum: (t) => t };
  const err = (dp: unknown, critic: tg.nn.Module = D) => {
    try {
      new GanTrainer({ ...base, critic, dataParallel: dp as TrainerDataParallel });
    } catch (e) {
      return e as tg.TorchError;
    }
    return null;
  };
  assert.is(err(ok), null);
  assert.match(err({ ...ok, shard: { rank: 2, worldSize: 2 } })!.message, /Expected a shard.rank in \[0, 2\) for GanTrainer\(\) options.dataParallel but received number 2/);
  assert.is(err({ ...ok, shard: { rank: 2, worldSize: 2 } })!.code, 'ERR_INVALID_ARG');
  assert.match(err({ ...ok, syncGradients: undefined })!.message, /syncGradients\(params\) method .* but received undefined/);
  assert.match(err({ shard: { rank: 0, worldSize: 2 }, syncGradients: () => 0 })!.message, /allReduceSum\(tensor\) method/);
  const bn = err(ok, new Sequential(new Linear(2, 4), new BatchNorm1d(4), new Linear(4, 1)));
  assert.is(bn!.code, 'ERR_DATA_PARALLEL_BATCHNORM');
  assert.is(bn!.parameter, 'critic');
  const bnAllowed = (() => {
    try {
      new GanTrainer({ ...base, critic: new Sequential(new Linear(2, 4), new BatchNorm1d(4), new Linear(4, 1)), allowBatchNormWithPenalty: true, dataParallel: ok });
    } catch (e) { return e as tg.TorchError; }
    return null;
  })();
  assert.is(bnAllowed?.code, 'ERR_DATA_PARALLEL_BATCHNORM', 'allowBatchNormWithPenalty does not lift the data-parallel refusal');
  // draganPenalty's std option: the batch's own std gives the default's penalty
  tg.tidy(() => {
    const x = tg.randn([6, 2]);
    const noise = tg.rand([6, 2]);
    const alpha = tg.rand([6]);
    const a = draganPenalty(D, x, { noise, alpha }).penalty.item();
    const b = draganPenalty(D, x, { noise, alpha, std: x.std() }).penalty.item();
    const c = draganPenalty(D, x, { noise, alpha, std: x.std().item() * 2 }).penalty.item();
    assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(a)), `${a} vs ${b}`);
    assert.ok(Math.abs(a - c) > 1e-6, 'another std changes the penalty');
    assert.throws(() => draganPenalty(D, x, { std: -1 }), /non-negative number or a one-element Tensor for draganPenalty\(\) options.std but received number -1/);
  });
  // a real DataParallel is a TrainerDataParallel (checked at compile time)
  const typed: (x: tg.distributed.DataParallel) => TrainerDataParallel = (x) => x;
  void typed;
  tg.tidy(() => {
    const t = tg.arange(0, 12).reshape([6, 2]);
    assert.equal(shardRows(t, 0, 2).toArray(), [0, 1, 4, 5, 8, 9]);
    assert.equal(shardRows(t, 1, 3).toArray(), [2, 3, 8, 9]);
    // DistributedSampler: rank r's k-th index is the global order's r + k·w; batch i of B on rank r
    // is rows i·B.. of that, i.e. global batch i's rows r, r + w, ... — what shardRows picks
    const s = [0, 1].map((r) => Array.from(new tg.DistributedSampler(8, { rank: r, worldSize: 2, shuffle: false }).indices()));
    assert.equal(s, [[0, 2, 4, 6], [1, 3, 5, 7]]);
  });
});

test.run();
