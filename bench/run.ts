// torch-gan vs PyTorch vs libtorch C++ on the same GAN iterations (see docs/benchmarks.md).
//
//   npm run bench -- [--rounds 5] [--warmup 2] [--iters N] [--workload wgan-gp|dragan|dcgan|all|none]
//                    [--threads N] [--only ts,py,cpp] [--fast-kernels on|off|both]
//                    [--micro] [--json results.json] [--python /usr/bin/python3] [--data DIR] [--limit 10000]
//
// Each implementation is a long-lived worker process (bench/ts_worker.ts,
// bench/pytorch_bench.py, bench/.build/bench) that reads "run <workload> <iters>" on
// stdin and answers with JSON timings, so start-up is never timed. After a warm-up,
// rounds run the workers one after the other (A B C A B C ...); the table shows the
// median over rounds of each round's mean ms/iteration.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BENCH, blasInUse, buildCpp, cores, cpuModel, debianPackageVersion, defaultPython, findLibtorch, fmt, IMPL_LABEL, ImplId, median, parseFlags,
  pythonTorchProblem, pythonTorchVersion, ROOT, sleep, SpawnOptions, startWorker, table, Worker, Reply,
} from './common';

const WORKLOADS = ['wgan-gp', 'dragan', 'dcgan'] as const;
type WorkloadName = (typeof WORKLOADS)[number];
/** Iterations per round when --iters is not given (about 1-2 s per worker per round on 2 cores). */
const DEFAULT_ITERS: Record<WorkloadName, number> = { 'wgan-gp': 5, dragan: 10, dcgan: 10 };

const USAGE = `usage: npm run bench -- [options]
  --rounds N                 timed rounds per workload (default 5)
  --warmup N                 untimed iterations per worker and workload first (default 2)
  --iters N                  iterations per round (default: wgan-gp 5, dragan 10, dcgan 10)
  --workload W               wgan-gp | dragan | dcgan | all (default) | none
  --threads N                intra-op threads everywhere (default: all cores, ${cores()})
  --only LIST                implementations: ts,py,cpp,bf16 (default all; ts means torch-gan's three variants:
                             ts (the engine), ts-unbatched (two critic forwards), ts-plain (also libtorch's kernels);
                             bf16: torch-gan --precision bf16 and PyTorch under torch.autocast('cpu', bfloat16))
  --fast-kernels M           on | off | both (default both): torch-gan with its CPU
                             kernel substitutions, with exactly libtorch's kernels (TORCH_GAN_FAST_KERNELS=0), or both
  --micro                    also run the per-op micro benchmark (bench/micro.ts)
  --json FILE                write every measurement to FILE
  --python PATH              the Python with torch (default /usr/bin/python3, or $BENCH_PYTHON)
  --data DIR                 Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)
  --limit N                  images loaded (default 10000)`;

interface Options {
  rounds: number;
  warmup: number;
  iters: number | null;
  workloads: WorkloadName[];
  threads: number;
  impls: ImplId[];
  micro: boolean;
  json: string | null;
  python: string;
  dataDir?: string;
  limit: number;
}

function options(): Options {
  const f = parseFlags(process.argv.slice(2));
  const known = ['rounds', 'warmup', 'iters', 'workload', 'threads', 'only', 'fast-kernels', 'micro', 'json', 'python', 'data', 'limit', 'help'];
  for (const k of f.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  if (f.has('help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (k: string, dflt: number, min = 1): number => {
    const v = f.get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} expects an integer >= ${min}, got '${v}'`);
    return n;
  };
  const w = String(f.get('workload') ?? 'all');
  let workloads: WorkloadName[];
  if (w === 'all') workloads = [...WORKLOADS];
  else if (w === 'none') workloads = [];
  else {
    workloads = w.split(',') as WorkloadName[];
    for (const x of workloads) if (!WORKLOADS.includes(x)) throw new Error(`--workload: unknown '${x}' (wgan-gp, dragan, dcgan, all, none)`);
  }
  const fct = String(f.get('fast-kernels') ?? 'both');
  if (!['on', 'off', 'both'].includes(fct)) throw new Error(`--fast-kernels expects on, off or both, got '${fct}'`);
  const only = String(f.get('only') ?? 'ts,py,cpp,bf16').split(',').map((s) => s.trim());
  for (const o of only) if (!['ts', 'ts-nchw', 'ts-unbatched', 'ts-plain', 'ts-spin', 'py', 'cpp', 'bf16'].includes(o)) throw new Error(`--only: unknown '${o}' (ts, ts-nchw, ts-unbatched, ts-plain, ts-spin, py, cpp, bf16)`);
  const impls: ImplId[] = [];
  // 'ts' names torch-gan's four variants: the engine as it trains (kernel substitutions, batched
  // critic forward, channels-last where lib/gan/memory-format.ts says), the same with NCHW networks
  // and with two critic forwards (what those levers give), and the plain one
  if (only.includes('ts') && fct !== 'off') impls.push('ts', 'ts-nchw', 'ts-unbatched');
  else {
    if (only.includes('ts-nchw')) impls.push('ts-nchw');
    if (only.includes('ts-unbatched')) impls.push('ts-unbatched');
  }
  if ((only.includes('ts') && fct !== 'on') || only.includes('ts-plain')) impls.push('ts-plain');
  // what torch-gan's OMP_WAIT_POLICY=PASSIVE costs on a quiet machine: the engine with libgomp's spinning
  if (only.includes('ts-spin')) impls.push('ts-spin');
  if (only.includes('py')) impls.push('py');
  if (only.includes('cpp')) impls.push('cpp');
  // bf16 mixed precision: torch-gan's --precision bf16 and PyTorch's own torch.autocast
  if (only.includes('bf16')) impls.push('ts-bf16', 'py-bf16');
  const json = f.get('json');
  const data = f.get('data');
  return {
    rounds: int('rounds', 5),
    warmup: int('warmup', 2, 0),
    iters: f.has('iters') ? int('iters', 1) : null,
    workloads,
    threads: int('threads', cores()),
    impls,
    micro: f.has('micro'),
    json: typeof json === 'string' ? json : null,
    python: typeof f.get('python') === 'string' ? String(f.get('python')) : defaultPython(libDirFound()),
    dataDir: typeof data === 'string' ? data : undefined,
    limit: int('limit', 10000, 64),
  };
}

interface RoundResult {
  round: number;
  msPerIter: number;
  iterMs: number[];
}

function libDirFound(): string | undefined {
  const lt = findLibtorch();
  return 'error' in lt ? undefined : lt.libDir;
}

async function main(): Promise<void> {
  const o = options();
  const log = (s = '') => console.log(s);

  // ---- environment
  const lt = findLibtorch();
  const load = os.loadavg();
  log('torch-gan benchmarks: torch-gan (Node) vs PyTorch (Python) vs libtorch C++ frontend');
  log('');
  log('Environment');
  log(`  CPU           ${cpuModel()}, ${cores()} cores (os.availableParallelism), load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
  const deb = !('error' in lt) && lt.source === 'system' ? debianPackageVersion('libtorch-dev') : null;
  const pyDeb = debianPackageVersion('python3-torch');
  log(`  libtorch      ${'error' in lt ? `not found (${lt.error})` : `${lt.version} per its headers (${lt.source}: ${lt.libDir})${deb ? `; Debian libtorch-dev ${deb}` : ''}`}`);
  if (pyDeb) log(`  python3-torch Debian package ${pyDeb}`);
  log(`  BLAS          ${blasInUse()}`);
  log(`  threads       intra-op ${o.threads} in every worker; OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=${o.threads}`);
  log(`  node          ${process.version}`);
  if (load[0] > 0.5 * cores()) {
    log(`  WARNING       the machine is busy (1-min load ${load[0].toFixed(2)} on ${cores()} cores): timings will be noisy`);
  }

  // ---- which implementations can run
  const skipped: string[] = [];
  let impls = [...o.impls];
  if (impls.includes('py') || impls.includes('py-bf16')) {
    const why = pythonTorchProblem(o.python);
    if (why) {
      skipped.push(`PyTorch: skipped, ${why} (pass --python PATH)`);
      impls = impls.filter((i) => i !== 'py' && i !== 'py-bf16');
    } else {
      const pyVersion = pythonTorchVersion(o.python) ?? '?';
      const same = pyVersion.split('.').slice(0, 2).join('.') === (('error' in lt) ? '' : lt.version).split('.').slice(0, 2).join('.');
      log(`  PyTorch       ${pyVersion} (${o.python})${same ? ', the same version as torch-gan\'s libtorch' : ''}`);
      if (!same) log(`  WARNING       PyTorch ${pyVersion} is not the libtorch torch-gan runs (${'error' in lt ? '?' : lt.version}): pass --python with a matching one`);
    }
  }
  if (impls.includes('cpp') && o.workloads.length + (o.micro ? 1 : 0) > 0) {
    const why = buildCpp((s) => log(`  ${s}`));
    if (why) {
      skipped.push(`C++: skipped, ${why}`);
      impls = impls.filter((i) => i !== 'cpp');
    }
  }
  for (const s of skipped) log(`  ${s}`);

  const spawnOpts: SpawnOptions = { threads: o.threads, python: o.python, dataDir: o.dataDir, limit: o.limit };
  const workers = new Map<ImplId, Worker>();
  const results: Record<string, Record<string, { rounds: RoundResult[]; firstLoss: Reply | null }>> = {};
  const infos: Record<string, Reply> = {};

  if (o.workloads.length > 0 && impls.length > 0) {
    for (const impl of impls) {
      try {
        const w = await startWorker(impl, spawnOpts);
        workers.set(impl, w);
        infos[impl] = await w.request('info');
      } catch (e) {
        skipped.push(`${IMPL_LABEL[impl]}: skipped, ${(e as Error).message}`);
        log(`  ${IMPL_LABEL[impl]}: skipped, ${(e as Error).message}`);
      }
    }
    const active = impls.filter((i) => workers.has(i));
    log('');
    log(
      table(
        ['worker', 'torch', 'threads', 'OPENBLAS_NUM_THREADS', 'fast kernels'],
        active.map((i) => [IMPL_LABEL[i], String(infos[i].torch), String(infos[i].threads), String(infos[i].openblas_num_threads), String(infos[i].fast_kernels)]),
      ),
    );
    if (infos.py?.python) log(`(PyTorch worker: Python ${infos.py.python}, ${o.python})`);

    // ---- warm-up, then interleaved rounds
    for (const wl of o.workloads) {
      const iters = o.iters ?? DEFAULT_ITERS[wl];
      results[wl] = {};
      log('');
      log(`[${wl}] warm-up ${o.warmup} iteration(s) per worker, then ${o.rounds} round(s) x ${iters} iteration(s)`);
      for (const impl of active) {
        results[wl][impl] = { rounds: [], firstLoss: null };
        // The first iteration of each worker (fresh models, seed 3) doubles as the sanity check.
        const r = await workers.get(impl)!.request(`run ${wl} ${Math.max(1, o.warmup)}`);
        results[wl][impl].firstLoss = r;
        await sleep(100);
      }
      for (let round = 0; round < o.rounds; round++) {
        const line: string[] = [];
        for (const impl of active) {
          const r = await workers.get(impl)!.request(`run ${wl} ${iters}`);
          const msPerIter = r.total_ms / r.iters;
          results[wl][impl].rounds.push({ round, msPerIter, iterMs: r.iter_ms });
          line.push(`${impl} ${msPerIter.toFixed(1)}`);
          await sleep(100);
        }
        log(`  round ${round + 1}/${o.rounds}: ${line.join(', ')} ms/iter`);
      }
      printSanity(wl, active, results[wl]);
    }
    // the machine's matrix-product peak and each workload's FLOPs, in the same run (before the workers go)
    const peak = await measurePeak(o.workloads, workers, log);
    for (const w of workers.values()) await w.close();

    // ---- the table
    log('');
    log(`Results: median over ${o.rounds} rounds of ms/iteration (lower is better; [min-max] of the round means)`);
    const cols = active;
    const header = ['workload', ...cols.map((c) => IMPL_LABEL[c])];
    const has = (i: ImplId) => cols.includes(i);
    const ratioCols: [ImplId, ImplId, string][] = [];
    if (has('ts') && has('py')) ratioCols.push(['ts', 'py', 'torch-gan/PyTorch']);
    if (has('ts') && has('cpp')) ratioCols.push(['ts', 'cpp', 'torch-gan/C++']);
    if (has('ts-nchw') && has('py')) ratioCols.push(['ts-nchw', 'py', 'NCHW/PyTorch']);
    if (has('ts-unbatched') && has('py')) ratioCols.push(['ts-unbatched', 'py', 'two forwards/PyTorch']);
    if (has('ts-bf16') && has('py')) ratioCols.push(['ts-bf16', 'py', 'bf16/PyTorch fp32']);
    if (has('py-bf16') && has('py')) ratioCols.push(['py-bf16', 'py', 'PyTorch bf16/fp32']);
    if (has('ts-bf16') && has('py-bf16')) ratioCols.push(['ts-bf16', 'py-bf16', 'bf16/PyTorch bf16']);
    if (has('ts-plain') && has('py')) ratioCols.push(['ts-plain', 'py', 'plain/PyTorch']);
    if (has('ts-spin') && has('py')) ratioCols.push(['ts-spin', 'py', 'spinning/PyTorch']);
    if (has('ts-spin') && has('ts')) ratioCols.push(['ts', 'ts-spin', 'torch-gan/spinning']);
    if (has('ts-plain') && has('cpp')) ratioCols.push(['ts-plain', 'cpp', 'plain/C++']);
    header.push(...ratioCols.map((r) => r[2]));
    const rows: string[][] = [];
    for (const wl of o.workloads) {
      const med = (i: ImplId) => median(results[wl][i].rounds.map((r) => r.msPerIter));
      const cell = (i: ImplId) => {
        const xs = results[wl][i].rounds.map((r) => r.msPerIter);
        return `${fmt(med(i))} [${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}]`;
      };
      rows.push([wl, ...cols.map(cell), ...ratioCols.map(([a, b]) => fmt(med(a) / med(b), 2))]);
    }
    log(table(header, rows));
    if (ratioCols.length > 0) {
      // Rounds run back to back, so a round's ratio compares the implementations under the same
      // machine conditions: on a machine whose speed drifts, these are the steadier figures.
      log('');
      log('Paired ratios: median over the rounds of each round\'s ratio [min-max]');
      const paired = o.workloads.map((wl) => [
        wl,
        ...ratioCols.map(([a, b]) => {
          const rs = results[wl][a].rounds.map((r, k) => r.msPerIter / results[wl][b].rounds[k].msPerIter);
          return `${fmt(median(rs), 2)} [${fmt(Math.min(...rs), 2)}-${fmt(Math.max(...rs), 2)}]`;
        }),
      ]);
      log(table(['workload', ...ratioCols.map((r) => r[2])], paired));
    }
    if (peak) printPeakFractions(peak, o.workloads, cols, results, log);
    log('');
    log("torch-gan = the TypeScript API (bench/workloads.ts) with its CPU kernel substitutions (this libtorch's defaults: diagnostics().fastKernelList);");
    log('torch-gan (plain kernels) = the same with TORCH_GAN_FAST_KERNELS=0, i.e. the kernels PyTorch and C++ run:');
    log('its ratios to PyTorch / C++ are the binding\'s own overhead. PyTorch = bench/pytorch_bench.py; C++ = bench/cpp/bench.cpp.');
  } else if (o.workloads.length > 0) {
    log('no implementation could run');
  }
  for (const s of skipped) log(`note: ${s}`);

  // ---- micro benchmark (its own process, so it measures a fresh Node)
  let micro: Reply | null = null;
  if (o.micro) {
    log('');
    const args = ['--require', require.resolve('tsx/cjs'), path.join(BENCH, 'micro.ts'), '--threads', String(o.threads), '--python', o.python];
    if (!impls.includes('py')) args.push('--no-py');
    if (!impls.includes('cpp')) args.push('--no-cpp');
    const jsonFile = o.json ? `${o.json}.micro.json` : null;
    if (jsonFile) args.push('--json', jsonFile);
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
    if (r.status !== 0) log(`micro benchmark failed (exit ${r.status})`);
    if (jsonFile && fs.existsSync(jsonFile)) {
      micro = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Reply;
      fs.unlinkSync(jsonFile);
    }
  }

  if (o.json) {
    const out = {
      date: new Date().toISOString(),
      env: { cpu: cpuModel(), cores: cores(), loadavg: load, libtorch: lt, debian: { 'libtorch-dev': deb, 'python3-torch': pyDeb }, blas: blasInUse(), node: process.version, threads: o.threads },
      options: { ...o },
      workers: infos,
      results,
      micro,
      skipped,
    };
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2));
    log(`\nwrote ${o.json}`);
  }
}

/** GFLOP per iteration by torch.utils.flop_counter's formulas on PyTorch 2.13 (the work does not depend on the version) */
const GFLOP_COUNTED_ON_2_13: Record<string, number> = { 'wgan-gp': 26.29, dragan: 7.07, dcgan: 4.86 };

interface Peak { fp32: number; bf16: number; gflop: Record<string, number> }

/**
 * The machine's matrix-product peak, measured now by the PyTorch worker (2048² torch.mm at the
 * same threads, fp32 and bf16), and each workload's FLOPs (torch's own formulas, on PyTorch 2.x;
 * the same work in every implementation).
 */
async function measurePeak(workloads: string[], workers: Map<ImplId, Worker>, log: (s?: string) => void): Promise<Peak | null> {
  const py = workers.get('py') ?? workers.get('py-bf16');
  if (!py) return null;
  const fp32 = (await py.request('peak 2048 float32')).gflops as number;
  const bf16 = (await py.request('peak 2048 bfloat16')).gflops as number;
  const gflop: Record<string, number> = {};
  for (const wl of workloads) {
    const counted = (await py.request(`flops ${wl}`)).gflop as number | null;
    // PyTorch 1.x has no FLOP formulas: the counts of PyTorch 2.13 for the same work
    gflop[wl] = counted ?? GFLOP_COUNTED_ON_2_13[wl];
    if (counted === null) log(`  ${wl}: ${gflop[wl]} GFLOP/iteration as counted on PyTorch 2.13 (this PyTorch has no torch.utils.flop_counter)`);
  }
  return { fp32, bf16, gflop };
}

/** Each implementation's share of the peak of its precision: the workload's FLOPs over its median ms/iteration. */
function printPeakFractions(peak: Peak, workloads: string[], cols: ImplId[], results: Record<string, Record<string, { rounds: RoundResult[] }>>, log: (s?: string) => void): void {
  log('');
  log(`Matrix-product peak in this run (the PyTorch worker's torch.mm, 2048x2048, best of 5, same threads; its BLAS): fp32 ${fmt(peak.fp32, 0)} GFLOP/s, bf16 ${fmt(peak.bf16, 0)} GFLOP/s`);
  // Debian's PyTorch 1.13 multiplies fp32 matrices with OpenBLAS, here at OPENBLAS_NUM_THREADS=1: one core's
  // BLAS, not the machine's peak (its convolutions run on oneDNN); the 2.x wheel's MKL reaches the peak
  if (peak.fp32 < 100) log('  (this fp32 peak is one core of OpenBLAS, OPENBLAS_NUM_THREADS=1, not the machine\'s: compare with a PyTorch 2.x run\'s peak)');
  log('Share of the peak: the FLOPs of one iteration / its median time, against the fp32 peak (the bf16 one for the bf16 workers)');
  log(table(['workload', 'GFLOP/iter', ...cols.map((c) => IMPL_LABEL[c])], workloads.map((wl) => [wl, fmt(peak.gflop[wl], 2), ...cols.map((i) => {
    const ms = median(results[wl][i].rounds.map((r) => r.msPerIter));
    return `${fmt((100 * peak.gflop[wl]) / ((ms / 1000) * (i.endsWith('bf16') ? peak.bf16 : peak.fp32)), 0)}%`;
  })])));
}

function printSanity(wl: string, impls: ImplId[], res: Record<string, { firstLoss: Reply | null }>): void {
  const rows = impls.map((i) => {
    const r = res[i].firstLoss;
    return [IMPL_LABEL[i], fmt(r?.d_loss, 6), fmt(r?.g_loss, 6)];
  });
  console.log(`  first iteration (fresh models, seed 3): critic / generator loss`);
  console.log(table(['worker', 'critic loss', 'generator loss'], rows).replace(/^/gm, '  '));
  const bad = impls.filter((i) => !Number.isFinite(res[i].firstLoss?.d_loss) || !Number.isFinite(res[i].firstLoss?.g_loss));
  if (bad.length) console.log(`  WARNING: non-finite loss from ${bad.map((i) => IMPL_LABEL[i]).join(', ')}`);
  // Same seed, same initialisation and the same order of random draws: the losses agree closely.
  // (bf16 workers round differently: they are shown, not compared)
  const ds = impls.filter((i) => !i.endsWith('bf16')).map((i) => res[i].firstLoss?.d_loss as number).filter(Number.isFinite);
  if (ds.length > 1) {
    const spread = Math.max(...ds) - Math.min(...ds);
    const scale = Math.max(1e-3, ...ds.map(Math.abs));
    console.log(spread / scale < 1e-3 ? '  the implementations agree (same seed, same initialisation)' : `  note: the first losses differ (relative spread ${(spread / scale).toExponential(1)}); the work per iteration is the same`);
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
