// Where one iteration's time goes, op by op: torch-gan's op profiler (lib/profiler.ts) over
// iterations of a workload of bench/workloads.ts, beside torch.profiler over the same workload
// of bench/pytorch_bench.py (bench/pytorch_profile.py, a child process: --python, the PyTorch of the same
// libtorch). Self time per iteration (an op's own, without the ops it called), top ops first.
//
//   npx tsx bench/profile.ts [--workload wgan-gp] [--iters 5] [--threads N] [--precision fp32|bf16] [--top 25] [--by-caller] [--python PATH | --no-python]
//   (--by-caller: torch-gan's ops keyed by the op that called each: where the copies come from)
import { spawnSync } from 'child_process';
import * as path from 'path';
import { manualSeed, setNumThreads, profileOps } from '../lib';
import type { OpProfileRow } from '../lib';
import { Batches, Workload, WORKLOADS, WorkloadName } from './workloads';
import { BENCH, checkFlags, childEnv, cores, defaultPython, parseFlags, positiveIntFlag, pythonTorchProblem, table } from './common';

interface Row {
  name: string;
  calls: number;
  selfMs: number;
  totalMs: number;
}

function perIteration(rows: OpProfileRow[], iters: number): Row[] {
  return rows.map((r) => ({ name: r.name, calls: r.calls / iters, selfMs: r.selfMs / iters, totalMs: r.totalMs / iters }));
}

function print(title: string, rows: Row[], top: number): void {
  const total = rows.reduce((s, r) => s + r.selfMs, 0);
  rows.sort((a, b) => b.selfMs - a.selfMs);
  console.log(`\n${title}: self time of all ops ${total.toFixed(1)} ms/iteration`);
  console.log(table(['op', 'calls/it', 'self ms/it', 'self %', 'total ms/it'],
    rows.slice(0, top).map((r) => [r.name.slice(0, 70), r.calls.toFixed(1), r.selfMs.toFixed(2), ((100 * r.selfMs) / total).toFixed(1), r.totalMs.toFixed(2)])));
}

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  checkFlags(f, ['workload', 'iters', 'threads', 'precision', 'top', 'python', 'no-python', 'by-caller', 'channels-last', 'help']);
  if (f.has('help')) {
    console.log('Usage: npx tsx bench/profile.ts [--workload wgan-gp|dragan|dcgan] [--iters 5] [--threads N] [--precision fp32|bf16] [--top 25] [--by-caller] [--python PATH | --no-python]');
    return;
  }
  const workload = String(f.get('workload') ?? 'wgan-gp') as WorkloadName;
  if (!WORKLOADS.includes(workload)) throw new Error(`--workload expects one of ${WORKLOADS.join(', ')}, received '${workload}'`);
  const precision = String(f.get('precision') ?? 'fp32');
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`--precision expects fp32 or bf16, received '${precision}'`);
  const iters = positiveIntFlag(f, 'iters', 5);
  const top = positiveIntFlag(f, 'top', 25);
  const threads = positiveIntFlag(f, 'threads', cores());
  setNumThreads(threads);
  manualSeed(3);
  const w = new Workload(workload, new Batches(), true, precision, f.has('channels-last') ? 'channelsLast' : 'contiguous');
  for (let i = 0; i < 3; i++) w.iteration(); // warm-up
  const t0 = performance.now();
  const { profile } = profileOps(() => {
    for (let i = 0; i < iters; i++) w.iteration();
  }, { byCaller: f.has('by-caller') });
  const wall = (performance.now() - t0) / iters;
  print(`torch-gan ${workload} ${precision} (${threads} threads, ${iters} iterations, ${wall.toFixed(1)} ms/iteration with the profiler on)`, perIteration(profile.ops, iters), top);
  if (f.has('no-python')) return;
  const python = typeof f.get('python') === 'string' ? String(f.get('python')) : defaultPython();
  const problem = pythonTorchProblem(python);
  if (problem) {
    console.log(`\nPyTorch side skipped: ${problem}`);
    return;
  }
  const args = [path.join(BENCH, 'pytorch_profile.py'), '--workload', workload, '--iters', String(iters), '--threads', String(threads), ...(precision === 'bf16' ? ['--autocast'] : [])];
  const out = spawnSync(python, args, { encoding: 'utf8', env: childEnv(threads), cwd: BENCH, maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`bench/pytorch_profile.py failed: ${(out.stderr || '').trim().split('\n').pop()}`);
  print(`PyTorch (${python}) ${workload}${precision === 'bf16' ? ' under torch.autocast bf16' : ''}`, JSON.parse(out.stdout) as Row[], top);
}

main();
