// One rank of a distributed test scenario (test/distributed.test.ts spawns it with RANK,
// WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT set). Prints one line "RESULT <json>".
import * as tg from '../../lib';
import { critic, FULL_BATCH, grads, lossBackward } from './dist-model';

const d = tg.distributed;
const scenario = process.argv[2];
const timeoutMs = Number(process.env.TEST_TIMEOUT_MS ?? 5000);
const out = (v: unknown) => console.log('RESULT ' + JSON.stringify(v));
const fail = (e: unknown) => out({ error: { code: (e as { code?: string }).code, name: (e as Error).name, message: (e as Error).message } });

async function main(): Promise<void> {
  const t0 = Date.now();
  let g: tg.distributed.ProcessGroup;
  try {
    g = d.initProcessGroup({ timeoutMs });
  } catch (e) {
    out({ error: { code: (e as { code?: string }).code, name: (e as Error).name, message: (e as Error).message }, ms: Date.now() - t0 });
    return;
  }
  const r = g.rank;
  if (scenario === 'collectives') {
    const sum = d.allReduce(tg.tensor([r + 1, 10 * (r + 1), -r], { dtype: 'float32' })).toArray();
    const avg = d.allReduce(tg.tensor([r + 1, 2 * r], { dtype: 'float64' }), { op: 'avg' }).toArray();
    const max = d.allReduce(tg.tensor([r, -r], { dtype: 'int64' }), { op: 'max' }).toArray();
    const bcast = d.broadcast(tg.tensor([[r, r + 0.5], [r * 2, 7]]), 1).toArray();
    const gathered = d.allGather(tg.tensor([r * 100, r * 100 + 1])).map((t) => t.toArray());
    // The async variants: the event loop runs while they wait (a timer fires meanwhile).
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    if (r === 1) await new Promise((res) => setTimeout(res, 150));  // rank 0 waits ~150 ms in allReduceAsync
    const asum = (await d.allReduceAsync(tg.tensor([r + 0.25]))).toArray();
    clearInterval(timer);
    const abcast = (await d.broadcastAsync(tg.tensor([r + 3]), 0)).toArray();
    const agathered = (await d.allGatherAsync(tg.tensor([r]))).map((t) => t.toArray());
    await d.barrierAsync();
    d.barrier();
    const destroyed = [d.destroyProcessGroup(), d.destroyProcessGroup()];
    let afterDestroy = '';
    try { g.allReduce(tg.tensor([1])); } catch (e) { afterDestroy = (e as Error).message; }
    out({ rank: r, sum, avg, max, bcast, gathered, asum, ticks, abcast, agathered, destroyed, afterDestroy });
  } else if (scenario === 'grads') {
    // Different initial weights on rank 1: broadcastParameters must make them rank 0's.
    const model = critic(r === 0 ? 7 : 99);
    d.broadcastParameters(model);
    const n = FULL_BATCH / g.worldSize;
    lossBackward(model, r * n, n);
    const buckets = d.allReduceGradients(model, { bucketMB: 1e-6 });  // one bucket per parameter
    const first = grads(model);
    const bucketsAsync = await d.allReduceGradientsAsync(model);       // averaging equal gradients changes nothing
    out({ rank: r, buckets, bucketsAsync, grads: first, gradsAsync: grads(model) });
    d.destroyProcessGroup();
  } else if (scenario === 'kill') {
    const big = tg.zeros([4 << 20]);  // 16 MiB: still in flight when rank 1 dies
    d.barrier();
    if (r === 1) {
      void d.allReduceAsync(big);
      process.kill(process.pid, 'SIGKILL');
    }
    await new Promise((res) => setTimeout(res, 100));
    const t1 = Date.now();
    try {
      d.allReduce(big);
      out({ rank: r, ok: true });
    } catch (e) {
      const ms = Date.now() - t1;
      const t2 = Date.now();
      const destroyed = d.destroyProcessGroup();
      out({ rank: r, ms, destroyMs: Date.now() - t2, destroyed, error: { code: (e as { code?: string }).code, name: (e as Error).name, message: (e as Error).message } });
    }
  } else {
    fail(new Error(`unknown scenario ${scenario}`));
  }
}

main().catch(fail);
