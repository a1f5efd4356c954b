// The torch-gan worker of the benchmarks (bench/run.ts starts it): reads commands on
// stdin and answers each with one JSON line on stdout, like bench/pytorch_bench.py and
// the C++ bench.
//
//   info                     versions and thread counts
//   run <workload> <iters>   <iters> iterations of wgan-gp | dragan | dcgan, timed
//   calls <workload> <iters> native calls per iteration, by binding function (not timed)
//   quit
//
// npx tsx bench/ts_worker.ts --threads 2 [--data DIR] [--limit 10000]
// TORCH_GAN_FAST_KERNELS=0 in the environment: exactly libtorch's own kernels.
import * as readline from 'readline';
import * as tg from '../lib';
import { diagnostics, getNumThreads, manualSeed, setNumThreads } from '../lib';
import { N } from '../lib/native';
import { Batches, Workload, WORKLOADS, WorkloadName } from './workloads';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const impl = arg('--impl') ?? 'ts';
// the engine's batched critic forward (GanTrainer batchCriticForward 'auto'), or two forwards
const batched = (arg('--batched') ?? 'on') !== 'off';
// GanTrainer precision: 'bf16' runs the forwards under CPU autocast (bfloat16)
const precision = (arg('--precision') ?? 'fp32') as 'fp32' | 'bf16';
const threads = Number(arg('--threads') ?? 0);
if (threads > 0) setNumThreads(threads);
manualSeed(3);

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
const send = (o: object): void => {
  process.stdout.write(JSON.stringify({ impl, ...o }) + '\n');
};

let data: Batches | null = null;
const workloads = new Map<WorkloadName, Workload>();

/** `<workload> [iters]` of a command line: the workload (made once, data loaded once) and the iteration count. */
function workloadOf(rest: string[]): { name: WorkloadName; iters: number; w: Workload } {
  const name = rest[0] as WorkloadName;
  const iters = Number(rest[1] ?? 1);
  if (!WORKLOADS.includes(name)) throw new Error(`unknown workload '${rest[0]}'`);
  data ??= new Batches({ dir: arg('--data'), limit: Number(arg('--limit') ?? 10000) });
  let w = workloads.get(name);
  if (!w) workloads.set(name, (w = new Workload(name, data, batched, precision)));
  return { name, iters, w };
}

function handle(line: string): boolean {
  const [cmd, ...rest] = line.trim().split(/\s+/);
  if (!cmd) return true;
  try {
    if (cmd === 'quit') return false;
    if (cmd === 'info') {
      const d = diagnostics();
      send({
        torch: d.libtorch.version, node: process.version, threads: getNumThreads(),
        openblas_num_threads: process.env.OPENBLAS_NUM_THREADS ?? '', fast_kernels: d.fastKernels,
        blas: d.blas, mkldnn: d.mkldnn, batched_critic: batched, precision,
      });
    } else if (cmd === 'calls') {
      // Counts every call into the addon (the binding's unit of overhead) by wrapping N's functions.
      const { name, iters, w } = workloadOf(rest);
      const counts: Record<string, number> = {};
      const saved = new Map<string, unknown>();
      for (const [k, f] of Object.entries(N as unknown as Record<string, unknown>)) {
        if (typeof f !== 'function') continue;
        saved.set(k, f);
        (N as unknown as Record<string, unknown>)[k] = function (this: unknown, ...args: unknown[]) {
          counts[k] = (counts[k] ?? 0) + 1;
          return (f as (...a: unknown[]) => unknown).apply(this, args);
        };
      }
      try {
        for (let i = 0; i < iters; i++) w.iteration();
      } finally {
        for (const [k, f] of saved) (N as unknown as Record<string, unknown>)[k] = f;
      }
      const perIter = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / iters]));
      const total = Object.values(counts).reduce((a, b) => a + b, 0) / iters;
      send({ workload: name, iters, calls_per_iter: total, by_function: perIter });
    } else if (cmd === 'run') {
      const { name, iters, w } = workloadOf(rest);
      if (batched && name !== 'dcgan' && !w.trainer.batchCriticForward) throw new Error(`${name}: the batched critic forward did not resolve on (nn.crossSampleModules: ${tg.nn.crossSampleModules(w.D).join('; ')})`);
      const ms: number[] = [];
      let first = { d: NaN, g: NaN };
      let last = first;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) {
        const ti = process.hrtime.bigint();
        last = w.iteration();
        ms.push(Number(process.hrtime.bigint() - ti) / 1e6);
        if (i === 0) first = last;
      }
      const total = Number(process.hrtime.bigint() - t0) / 1e6;
      send({
        workload: name, iters, total_ms: total, iter_ms: ms,
        d_loss: fin(first.d), g_loss: fin(first.g), last_d_loss: fin(last.d), last_g_loss: fin(last.g),
      });
    } else throw new Error(`unknown command '${cmd}'`);
  } catch (e) {
    send({ error: (e as Error).message });
  }
  return true;
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
send({ ready: true });
rl.on('line', (line) => {
  if (!handle(line)) {
    rl.close();
    process.exit(0);
  }
});
