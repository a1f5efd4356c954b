// torch-gan's process groups on libtorch's c10d (TCPStore + Gloo): 2 ranks as child processes
// on 127.0.0.1 (free ports), each bounded in time. Collectives against values worked out here;
// averaged shard gradients (2 ranks x batch 4) against the one-process gradients of batch 8 with
// a WGAN-GP penalty loss; a port nobody serves, a WORLD_SIZE mismatch and a rank killed in a
// collective fail with clear errors within the timeout; bad options and variables are refused by name.
import { test } from 'uvu';
import { freePort } from '../lib/cli/launch';
import * as assert from 'uvu/assert';
import { spawn } from 'child_process';
import * as path from 'path';
import * as tg from '../lib';
import { resolveProcessGroupOptions } from '../lib/distributed';
import { critic, grads, lossBackward } from './helpers/dist-model';
import { errorMessage } from './helpers/errors';

const d = tg.distributed;
const child = path.join(__dirname, 'helpers', 'dist-child.ts');
const avail = d.distributedAvailability();
const dtest = avail.gloo ? test : test.skip;
if (!avail.gloo) console.log(`distributed tests skipped: ${avail.glooReason}`);


interface RankRun { code: number | null; signal: NodeJS.Signals | null; result: any; stderr: string; ms: number }

/** Runs one child per env (RANK etc. added to a clean environment); each is killed after hardMs. */
function runRanks(scenario: string, envs: Record<string, string>[], hardMs = 40_000): Promise<RankRun[]> {
  const base: Record<string, string | undefined> = { ...process.env, TORCH_GAN_NUM_THREADS: '1', MASTER_ADDR: '127.0.0.1' };
  for (const k of ['RANK', 'WORLD_SIZE', 'MASTER_PORT', 'LOCAL_RANK', 'GLOO_SOCKET_IFNAME']) delete base[k];
  return Promise.all(envs.map((env) => new Promise<RankRun>((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, ['--import', 'tsx', child, scenario], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    const killer = setTimeout(() => p.kill('SIGKILL'), hardMs);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, signal, result: line ? JSON.parse(line.slice(7)) : null, stderr, ms: Date.now() - t0 });
    });
  })));
}

const two = (port: number, extra: Record<string, string> = {}) => [0, 1].map((r) => ({ RANK: String(r), WORLD_SIZE: '2', MASTER_PORT: String(port), ...extra }));

dtest('2 ranks: allReduce (sum, avg, max), broadcast, allGather, barrier, sync and async', async () => {
  const runs = await runRanks('collectives', two(await freePort()));
  for (const [r, run] of runs.entries()) {
    const res = run.result;
    assert.ok(res && !res.error, `rank ${r}: ${JSON.stringify(res)} ${run.stderr.slice(-2000)}`);
    assert.is(res.rank, r);
    assert.equal(res.sum, [1 + 2, 10 + 20, 0 - 1]);
    assert.equal(res.avg, [(1 + 2) / 2, (0 + 2) / 2]);
    assert.equal(res.max, [1, 0]);
    assert.equal(res.bcast, [1, 1.5, 2, 7]);  // rank 1's values
    assert.equal(res.gathered, [[0, 1], [100, 101]]);
    assert.equal(res.asum, [0.25 + 1.25]);
    assert.equal(res.abcast, [3]);
    assert.equal(res.agathered, [[0], [1]]);
    assert.equal(res.destroyed, [true, false]);
    assert.match(res.afterDestroy, /destroyed/);
    assert.is(run.code, 0);
  }
  // rank 0 waited ~150 ms for rank 1 inside allReduceAsync: its event loop kept running
  assert.ok(runs[0].result.ticks >= 5, `rank 0's timer fired ${runs[0].result.ticks} times during allReduceAsync`);
});

dtest('allReduceGradients: 2 ranks x batch 4 average to the 1-process batch-8 gradients (WGAN-GP loss)', async () => {
  const model = critic(7);
  lossBackward(model, 0, 8);
  const ref = grads(model);
  model.dispose();
  const runs = await runRanks('grads', two(await freePort()));
  let maxErr = 0;
  let maxRef = 0;
  for (const [r, run] of runs.entries()) {
    const res = run.result;
    assert.ok(res && !res.error, `rank ${r}: ${JSON.stringify(res)} ${run.stderr.slice(-2000)}`);
    assert.is(res.buckets, ref.length, 'bucketMB 1e-6: one bucket per parameter');
    assert.is(res.bucketsAsync, 1, 'default 25 MiB: one bucket');
    for (const key of ['grads', 'gradsAsync']) {
      (res[key] as number[][]).forEach((gs, i) => gs.forEach((g, j) => {
        maxErr = Math.max(maxErr, Math.abs(g - ref[i][j]));
        maxRef = Math.max(maxRef, Math.abs(ref[i][j]));
      }));
    }
  }
  console.log(`  allReduceGradients vs full batch: max |error| ${maxErr.toExponential(2)} (max |gradient| ${maxRef.toFixed(3)}, float64)`);
  assert.ok(maxRef > 1e-3, 'the reference gradients are not trivially zero');
  assert.ok(maxErr < 1e-10, `max error ${maxErr}`);
});

dtest('a MASTER_PORT nobody serves: a clear timeout error within the timeout, no hang', async () => {
  const [run] = await runRanks('collectives', [{ RANK: '1', WORLD_SIZE: '2', MASTER_PORT: String(await freePort()), TEST_TIMEOUT_MS: '2000' }]);
  const e = run.result?.error;
  assert.ok(e, `no error: ${JSON.stringify(run.result)} ${run.stderr.slice(-1000)}`);
  assert.is(e.name, 'TorchError');
  assert.is(e.code, 'ERR_TORCH_DISTRIBUTED_TIMEOUT', e.message);
  assert.match(e.message, /joining the rendezvous store \(rank 1 of 2 at 127\.0\.0\.1:\d+, timeout 2000 ms; check MASTER_ADDR, MASTER_PORT/);
  assert.not.match(e.message, /Exception raised from|frame #/);
  console.log(`  port nobody serves: ${e.code} after ${run.result.ms} ms`);
  assert.ok(run.result.ms < 2000 + 4000, `failed after ${run.result.ms} ms`);
});

dtest('a WORLD_SIZE mismatch: both ranks fail clearly within the timeout', async () => {
  const port = String(await freePort());
  const runs = await runRanks('collectives', [
    { RANK: '0', WORLD_SIZE: '3', MASTER_PORT: port, TEST_TIMEOUT_MS: '2000' },
    { RANK: '1', WORLD_SIZE: '2', MASTER_PORT: port, TEST_TIMEOUT_MS: '2000' },
  ]);
  for (const [r, run] of runs.entries()) {
    const e = run.result?.error;
    assert.ok(e, `rank ${r}: no error: ${JSON.stringify(run.result)} ${run.stderr.slice(-1000)}`);
    assert.match(e.code, /^ERR_TORCH_DISTRIBUTED/);
    assert.match(e.message, /WORLD_SIZE/);
    assert.ok(run.ms < 2 * 2000 + 8000, `rank ${r} ended after ${run.ms} ms`);
  }
  // rank 0's store waits for 3 workers; 1.13's TCPStore stops waiting at the timeout without an
  // error, so Gloo's connect then fails either by its timeout or on the peers' address list
  // ("sizeof(impl_) == bytes.size(). 136 vs 68", seen once in a full-suite run): both name WORLD_SIZE
  assert.match(runs[0].result.error.code, /^ERR_TORCH_DISTRIBUTED(_TIMEOUT)?$/, runs[0].result.error.message);
  console.log(`  WORLD_SIZE mismatch: rank 0 ${runs[0].result.error.code} after ${runs[0].ms} ms, rank 1 ${runs[1].result.error.code} after ${runs[1].ms} ms (process lifetimes)`);
});

dtest('a rank killed in a collective: the other fails with a clear error within the timeout', async () => {
  const runs = await runRanks('kill', two(await freePort(), { TEST_TIMEOUT_MS: '3000' }));
  assert.is(runs[1].signal, 'SIGKILL');
  const res = runs[0].result;
  assert.ok(res && res.error, `rank 0: ${JSON.stringify(res)} ${runs[0].stderr.slice(-1000)}`);
  assert.is(res.error.name, 'TorchError');
  assert.match(res.error.code, /^ERR_TORCH_DISTRIBUTED_(PEER|TIMEOUT)$/);
  assert.match(res.error.message, /allReduce on rank 0 of 2/);
  console.log(`  killed peer: ${res.error.code} after ${res.ms} ms: ${res.error.message.slice(0, 160)}`);
  assert.ok(res.ms < 3000 + 3000, `failed after ${res.ms} ms`);
  assert.ok(res.destroyMs < 3000 + 3000, `destroy took ${res.destroyMs} ms`);
  assert.is(runs[0].code, 0);
});

test('options and environment variables are refused by name', () => {
  const env = { RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500' };
  assert.equal(resolveProcessGroupOptions({}, env), {
    rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500, localRank: 0, timeoutMs: 300000, backend: 'gloo', glooInterface: '', deviceHost: '127.0.0.1',
    agentStore: false, storePrefix: '',
  });
  // under torchrun: its agent serves the store; keys per restart attempt, as torch.distributed's
  const agent = resolveProcessGroupOptions({}, { ...env, TORCHELASTIC_USE_AGENT_STORE: 'True', TORCHELASTIC_RESTART_COUNT: '2' });
  assert.equal([agent.agentStore, agent.storePrefix], [true, '/worker/attempt_2']);
  assert.is(resolveProcessGroupOptions({ agentStore: false }, { ...env, TORCHELASTIC_USE_AGENT_STORE: 'True' }).agentStore, false);
  const msg = (o: object, e: Record<string, string | undefined>) => errorMessage(() => resolveProcessGroupOptions(o, e));
  assert.match(msg({}, { ...env, RANK: 'abc' }), /environment variable RANK but received string 'abc'/);
  assert.match(msg({}, { ...env, RANK: '2' }), /Expected an integer in \[0, 2\) \(worldSize 2\) for .*RANK but received string '2'/);
  assert.match(msg({}, { ...env, WORLD_SIZE: undefined }), /option 'worldSize' or environment variable WORLD_SIZE but received undefined/);
  assert.match(msg({}, { ...env, WORLD_SIZE: '0' }), /positive integer .*WORLD_SIZE but received string '0'/);
  assert.match(msg({}, { ...env, MASTER_PORT: '70000' }), /TCP port in \[1, 65535\] for .*MASTER_PORT but received string '70000'/);
  assert.match(msg({}, { ...env, MASTER_ADDR: '' }), /host name or IP address for .*MASTER_ADDR but received string ''/);
  assert.match(msg({}, { ...env, LOCAL_RANK: '-1' }), /LOCAL_RANK but received string '-1'/);
  assert.match(msg({ rank: 1.5 }, env), /option 'rank' but received number 1.5/);
  assert.match(msg({ masterPort: '29500' }, env), /option 'masterPort' but received string '29500'/);
  assert.match(msg({ timeoutMs: 0 }, env), /option 'timeoutMs' but received number 0/);
  assert.match(msg({ backend: 'mpi' }, env), /'gloo' or 'nccl' for .*option 'backend' but received string 'mpi'/);
  assert.match(msg({ rnak: 0 } as object, env), /Unknown option 'rnak'/);
  assert.match(msg({ agentStore: 'yes' }, env), /Expected a boolean for initProcessGroup\(\) option 'agentStore' but received string 'yes'/);
  // options win over the environment
  assert.is(resolveProcessGroupOptions({ rank: 1, masterPort: 1234 }, env).rank, 1);
  assert.is(resolveProcessGroupOptions({ masterAddr: 'node7' }, env).deviceHost, '');
});

dtest('one process: world size 1, bad collective arguments, nccl unavailable, destroy idempotent', async () => {
  const port = await freePort();
  const nccl = (() => { try { d.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, backend: 'nccl' }); } catch (e) { return e as tg.TorchError; } })();
  assert.is(nccl?.code, 'ERR_TORCH_DISTRIBUTED_UNAVAILABLE');
  assert.match(nccl!.message, /backend 'nccl' is not available: .*use backend 'gloo'/);
  assert.is(d.isInitialized(), false);
  assert.match(errorMessage(() => d.allReduce(tg.tensor([1]))), /no process group: call initProcessGroup\(\) first/);
  const g = await d.initProcessGroupAsync({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 5000 });
  try {
    assert.match(errorMessage(() => d.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port })), /already initialized/);
    tg.tidy(() => {
      assert.equal(d.allReduce(tg.tensor([1, 2]), { op: 'avg' }).toArray(), [1, 2]);
      assert.equal(d.allGather(tg.tensor([5])).map((t) => t.toArray()), [[5]]);
      assert.match(errorMessage(() => d.allReduce([1, 2] as never)), /Expected a Tensor for allReduce\(\) tensor but received an array of length 2/);
      assert.match(errorMessage(() => d.allReduce(tg.tensor([1]), { op: 'mean' as never })), /one of 'sum', 'avg', 'product', 'min', 'max' for allReduce\(\) option 'op' but received string 'mean'/);
      assert.match(errorMessage(() => d.broadcast(tg.tensor([1]), 1)), /argument 'root' must be a rank in \[0, 1\), received 1/);
      assert.match(errorMessage(() => d.allReduce(tg.tensor([[1, 2], [3, 4]]).t())), /argument 'tensor' must be a dense contiguous Tensor/);
      const w = tg.tensor([1, 2]).requiresGrad_(true);
      assert.match(errorMessage(() => d.allReduceGradients([w], { bucketMB: -1 })), /positive number of MiB for allReduceGradients\(\) option 'bucketMB' but received number -1/);
      assert.match(errorMessage(() => d.allReduceGradients([w, 3] as never)), /a Tensor for allReduceGradients\(\) params\[1\] but received number 3/);
      assert.is(d.allReduceGradients([w]), 1);  // no grad yet: a zero one, reduced
      assert.equal(w.grad!.toArray(), [0, 0]);
    });
  } finally {
    assert.is(d.destroyProcessGroup(), true);
  }
  assert.is(d.destroyProcessGroup(), false);
  assert.is(g.destroy(), false);
  assert.is(g.destroyed, true);
});

test('DistributedSampler: disjoint shards of one seeded permutation, padded like PyTorch', () => {
  const shards = (size: number, w: number, o: object = {}) => [...Array(w).keys()].map((r) => Array.from(new tg.DistributedSampler(size, { rank: r, worldSize: w, ...o }).indices()));
  // PyTorch: indices += indices[:padding]; rank r takes indices[r::w]
  assert.equal(shards(10, 3, { shuffle: false }), [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
  assert.equal(shards(10, 3, { shuffle: false, dropLast: true }), [[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
  assert.equal(shards(2, 4, { shuffle: false }), [[0], [1], [0], [1]]);
  const s = shards(100, 4, { seed: 5 });
  assert.equal(s.flat().sort((a, b) => a - b), [...Array(100).keys()]);
  assert.not.equal(s[0], [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96]);
  const a = new tg.DistributedSampler(100, { rank: 0, worldSize: 4, seed: 5 });
  const e0 = Array.from(a.indices());
  a.setEpoch(1);
  assert.not.equal(Array.from(a.indices()), e0);
  a.setEpoch(0);
  assert.equal(Array.from(a.indices()), e0);
  assert.match(errorMessage(() => new tg.DistributedSampler(10, { rank: 3, worldSize: 3 })), /Expected an integer in \[0, 3\) for DistributedSampler option 'rank' but received number 3/);
  assert.match(errorMessage(() => new tg.DistributedSampler(-1, { rank: 0, worldSize: 1 })), /DistributedSampler size but received number -1/);
});

test.run();
