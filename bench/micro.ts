// Per-op overhead on tiny tensors: torch-gan (Node) vs PyTorch (Python) vs libtorch C++.
// On one-element tensors the kernels cost next to nothing, so ns/op is the cost of the
// call path: JS -> N-API -> the handle table -> ATen's dispatcher (torch-gan), CPython ->
// pybind/THPVariable -> the dispatcher (PyTorch), the dispatcher alone (C++).
//
//   npx tsx bench/micro.ts [--n 100000] [--repeats 7 (rounds)] [--threads 1] [--python PATH] [--no-py] [--no-cpp] [--json FILE]
//
// Every op includes freeing its result: t.dispose() here, the refcount drop when the
// name is rebound in Python, the destructor in C++. 'create' and 'dispose' split the
// two halves of zeros([1]): 100k tensors are made (kept in an array), then all freed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { dispose, ones, setNumThreads, tidy, zeros, Tensor } from '../lib';
import { N } from '../lib/native';
import { BENCH, buildCpp, checkFlags, childEnv, CPP_BIN, defaultPython, fmt, median, parseFlags, positiveIntFlag, pythonTorchProblem, table } from './common';

type Micro = Record<string, number>;

function perOp(n: number, body: (n: number) => void): number {
  const t0 = process.hrtime.bigint();
  body(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

// A full GC between measurements, and a turn of the event loop so that the
// FinalizationRegistry callbacks of collected tensors run: each measurement then starts clean.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
}

/** The Node side, in this process. */
export async function nodeMicro(n: number, repeats: number): Promise<Micro> {
  const a = ones([1]).keep();
  const b = ones([1]).keep();
  let sink = 0;
  const ops: Record<string, (n: number) => void> = {
    loop: (k) => { for (let i = 0; i < k; i++) sink += i; },
    add: (k) => { for (let i = 0; i < k; i++) a.add(b).dispose(); },
    mul: (k) => { for (let i = 0; i < k; i++) a.mul(b).dispose(); },
    add_scalar: (k) => { for (let i = 0; i < k; i++) a.add(1.5).dispose(); },
    view: (k) => { for (let i = 0; i < k; i++) a.view(1, 1).dispose(); },
    sum: (k) => { for (let i = 0; i < k; i++) a.sum().dispose(); },
    zeros: (k) => { for (let i = 0; i < k; i++) zeros([1]).dispose(); },
    item: (k) => { for (let i = 0; i < k; i++) sink += a.item(); },
    numel: (k) => { for (let i = 0; i < k; i++) sink += a.numel(); },
    // Node only: where the time goes
    shape: (k) => { for (let i = 0; i < k; i++) sink += a.shape.length; },
    'add (raw N.add + N.dispose, no Tensor object)': (k) => { for (let i = 0; i < k; i++) N.dispose(N.add(a._h, b._h, undefined)); },
    'add (inside tidy, freed at scope end)': (k) => {
      for (let i = 0; i < k; i += 1000) tidy(() => { for (let j = 0; j < 1000 && i + j < k; j++) a.add(b); });
    },
    'zeros (inside tidy)': (k) => {
      for (let i = 0; i < k; i += 1000) tidy(() => { for (let j = 0; j < 1000 && i + j < k; j++) zeros([1]); });
    },
  };
  const res: Record<string, number[]> = {};
  const push = (k: string, v: number) => (res[k] ??= []).push(v);
  for (let r = 0; r < repeats; r++) {
    for (const [k, f] of Object.entries(ops)) {
      await settle();
      push(k, perOp(n, f));
    }
    await settle();
    const made: Tensor[] = new Array(n);
    push('create', perOp(n, (k) => { for (let i = 0; i < k; i++) made[i] = zeros([1]); }));
    push('dispose', perOp(n, (k) => { for (let i = 0; i < k; i++) made[i].dispose(); }));
    await settle();
    for (let i = 0; i < n; i++) made[i] = zeros([1]);
    push('dispose_bulk', perOp(n, () => dispose(made)));
    // Results neither disposed nor in a scope: the FinalizationRegistry backstop frees them, and the
    // time to collect them (a full GC plus their finalizers) is counted here.
    await settle();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) a.add(b);
    await settle();
    push('add (no dispose: GC backstop, incl. the GC)', Number(process.hrtime.bigint() - t0) / n);
  }
  if (sink === -1) console.log(sink);
  a.dispose();
  b.dispose();
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
}

export function pythonMicro(python: string, n: number, repeats: number, threads: number): Micro | string {
  const why = pythonTorchProblem(python);
  if (why) return why;
  const r = spawnSync(python, [path.join(BENCH, 'micro.py'), '--n', String(n), '--repeats', String(repeats), '--threads', String(threads)], {
    encoding: 'utf8', env: childEnv(threads), maxBuffer: 1 << 20,
  });
  if (r.status !== 0) return `micro.py failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  return (JSON.parse(r.stdout) as { micro: Micro }).micro;
}

export function cppMicro(n: number, repeats: number, threads: number): Micro | string {
  const why = buildCpp((s) => console.log(s));
  if (why) return why;
  const r = spawnSync(CPP_BIN, ['--threads', String(threads)], { input: `micro ${n} ${repeats}\nquit\n`, encoding: 'utf8', env: childEnv(threads) });
  if (r.status !== 0) return `the C++ bench failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  const line = r.stdout.split('\n').find((l) => l.includes('"micro"'));
  if (!line) return 'the C++ bench printed no micro results';
  return (JSON.parse(line) as { micro: Micro }).micro;
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  checkFlags(f, ['n', 'repeats', 'threads', 'python', 'no-py', 'no-cpp', 'json']);
  const n = positiveIntFlag(f, 'n', 100000);
  const repeats = positiveIntFlag(f, 'repeats', 7);
  const threads = positiveIntFlag(f, 'threads', 1);
  const python = typeof f.get('python') === 'string' ? String(f.get('python')) : defaultPython();
  setNumThreads(threads);

  console.log(`Per-op overhead on one-element float32 tensors: ns/op, median of ${repeats} rounds of ${n} ops (lower is better)`);
  // Rounds interleave the implementations (Node, Python, C++, Node, ...): this VM's speed drifts
  // by 15-20% over minutes, so only measurements taken side by side compare, and each round's
  // torch-gan/PyTorch ratio is kept (the 'paired' column).
  const rounds: { node: Micro; py: Micro | string; cpp: Micro | string }[] = [];
  for (let r = 0; r < repeats; r++) {
    const node = await nodeMicro(n, 1);
    const py = f.has('no-py') ? 'skipped (--no-py)' : pythonMicro(python, n, 1, threads);
    const cpp = f.has('no-cpp') ? 'skipped (--no-cpp)' : cppMicro(n, 1, threads);
    rounds.push({ node, py, cpp });
    if (typeof py === 'string' || typeof cpp === 'string') {
      // a missing implementation stays missing: the remaining rounds measure Node only
      for (let k = r + 1; k < repeats; k++) rounds.push({ node: await nodeMicro(n, 1), py, cpp });
      break;
    }
  }
  const medianOf = (get: (m: (typeof rounds)[number]) => Micro | string): Micro | null => {
    const ms = rounds.map(get).filter((m): m is Micro => typeof m !== 'string');
    if (ms.length === 0) return null;
    return Object.fromEntries(Object.keys(ms[0]).map((k) => [k, median(ms.map((m) => m[k]))]));
  };
  const node = medianOf((m) => m.node) as Micro;
  const pyM = medianOf((m) => m.py);
  const cppM = medianOf((m) => m.cpp);
  const py = rounds[0].py;
  const cpp = rounds[0].cpp;
  const paired = (k: string): number => {
    const rs = rounds.filter((m) => typeof m.py !== 'string').map((m) => m.node[k] / (m.py as Micro)[k]);
    return rs.length ? median(rs) : NaN;
  };

  const labels: Record<string, string> = {
    loop: 'empty loop iteration',
    add: 'a.add(b) + free',
    mul: 'a.mul(b) + free',
    add_scalar: 'a.add(1.5) + free',
    view: 'a.view(1, 1) + free',
    sum: 'a.sum() + free',
    zeros: 'zeros([1]) + free',
    create: 'zeros([1]) (kept)',
    dispose: 'free one by one (t.dispose() / x[i] = None / ~Tensor)',
    dispose_bulk: 'free all at once (tg.dispose(list) / list.clear())',
    item: 'a.item()',
    numel: 'a.numel()',
  };
  const rows = Object.keys(labels).map((k) => {
    const t = node[k];
    const p = pyM?.[k];
    const c = cppM?.[k];
    return [labels[k], fmt(t, 0), fmt(p, 0), fmt(c, 0), fmt(c === undefined ? NaN : t - c, 0), fmt(p === undefined ? NaN : t / p, 2), fmt(paired(k), 2)];
  });
  console.log(table(['op', 'torch-gan', 'PyTorch', 'C++', 'torch-gan - C++', 'torch-gan/PyTorch', 'paired'], rows));
  console.log('paired: the median over the rounds of each round\'s torch-gan/PyTorch ratio');
  console.log('');
  console.log('torch-gan only (where the time goes):');
  const extra = Object.keys(node).filter((k) => !(k in labels));
  console.log(table(['op', 'ns/op'], extra.map((k) => [k, fmt(node[k], 0)])));
  if (typeof py === 'string') console.log(`PyTorch: ${py}`);
  if (typeof cpp === 'string') console.log(`C++: ${cpp}`);

  const json = f.get('json');
  if (typeof json === 'string') fs.writeFileSync(json, JSON.stringify({ n, rounds: repeats, threads, node, py: pyM, cpp: cppM, perRound: rounds }, null, 2));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

