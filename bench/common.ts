// Shared plumbing of bench/run.ts and bench/micro.ts: the long-lived worker
// processes (torch-gan, PyTorch, C++), the C++ build, the environment report, stats.
import { spawn, spawnSync, ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { configureOpenblas } from '../lib/native-env';

export const ROOT = path.resolve(__dirname, '..');
export const BENCH = __dirname;
export const BUILD_DIR = path.join(BENCH, '.build');
export const CPP_BIN = path.join(BUILD_DIR, 'bench');

export type ImplId = 'ts' | 'ts-nchw' | 'ts-unbatched' | 'ts-plain' | 'ts-spin' | 'ts-bf16' | 'py' | 'py-bf16' | 'cpp';
export const IMPL_LABEL: Record<ImplId, string> = {
  ts: 'torch-gan',
  'ts-nchw': 'torch-gan (NCHW)',
  'ts-unbatched': 'torch-gan (two critic forwards)',
  'ts-plain': 'torch-gan (plain kernels, two forwards)',
  'ts-spin': "torch-gan (libgomp's spinning waits)",
  'ts-bf16': 'torch-gan bf16',
  py: 'PyTorch',
  'py-bf16': 'PyTorch bf16 autocast',
  cpp: 'C++ (libtorch)',
};

// ------------------------------------------------------------------ small helpers

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function cores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Parses --flag value / --flag=value / --switch. */
export function parseFlags(argv: string[]): Map<string, string | true> {
  const m = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) m.set(a.slice(2), argv[++i]);
    else m.set(a.slice(2), true);
  }
  return m;
}

/** Refuses flags outside `known`, naming them and the known ones. */
export function checkFlags(f: Map<string, string | true>, known: string[]): void {
  for (const k of f.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k} (known: ${known.map((x) => '--' + x).join(', ')})`);
}

/** The positive integer given as --k, or d when absent; anything else is refused. */
export function positiveIntFlag(f: Map<string, string | true>, k: string, d: number): number {
  const v = f.get(k);
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} expects a positive integer, got '${String(v)}'`);
  return n;
}

export function fmt(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** A plain-text table with aligned columns (first column left, others right). */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------ environment

export function childEnv(threads: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // every worker gets the OpenBLAS kernel family torch-gan would choose (lib/native-env.ts),
  // PyTorch's and C++'s included: the same BLAS on every side
  configureOpenblas();
  return {
    ...process.env,
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: String(threads),
    TORCH_GAN_NUM_THREADS: String(threads),
    ...extra,
  };
}

export function cpuModel(): string {
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function blasInUse(): string {
  for (const alt of ['/etc/alternatives/libblas.so.3-x86_64-linux-gnu', '/etc/alternatives/libblas.so.3-aarch64-linux-gnu']) {
    try {
      return fs.realpathSync(alt);
    } catch {
      // other architecture, or no Debian alternatives
    }
  }
  return 'unknown (no /etc/alternatives/libblas.so.3-*)';
}

/** The installed version of a Debian package, or null (not Debian, not installed). */
export function debianPackageVersion(pkg: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export interface LibtorchInfo {
  source: string;
  version: string;
  cmakeDir: string;
  libDir: string;
}

export function findLibtorch(): LibtorchInfo | { error: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'find-libtorch.js')], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || 'find-libtorch.js failed').trim().split('\n')[0] };
  try {
    return JSON.parse(r.stdout) as LibtorchInfo;
  } catch {
    return { error: 'find-libtorch.js printed no JSON' };
  }
}

// ------------------------------------------------------------------ implementations

/**
 * The Python whose PyTorch is the same version as the libtorch torch-gan runs on: $BENCH_PYTHON;
 * else, for a libtorch inside a virtualenv's site-packages (LIBTORCH=<venv>/lib/pythonX.Y/site-packages/torch),
 * that venv's python; else /usr/bin/python3 (Debian's python3-torch beside its libtorch-dev).
 */
export function defaultPython(libDir?: string): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  const m = libDir?.match(/^(.*)\/lib\/python[0-9.]+\/site-packages\/torch\/lib\/?$/);
  if (m && fs.existsSync(path.join(m[1], 'bin', 'python'))) return path.join(m[1], 'bin', 'python');
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** PyTorch's version in that Python (e.g. '2.13.0+cpu'), or null. */
export function pythonTorchVersion(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** null when `python` can import torch, else why not. */
export function pythonTorchProblem(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8', timeout: 120000 });
  if (r.error) return `${python}: ${r.error.message}`;
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() ?? '';
    return `${python} cannot import torch/numpy (${last})`;
  }
  return null;
}

const newer = (a: string, b: string): boolean => fs.statSync(a).mtimeMs > fs.statSync(b).mtimeMs;

/**
 * Configures (once) and builds bench/cpp into bench/.build with cmake and find_package(Torch),
 * the prefix from `node scripts/find-libtorch.js --cmake`. Returns null on success, else why not.
 */
export function buildCpp(log: (s: string) => void = () => {}): string | null {
  const cm = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (cm.error || cm.status !== 0) return 'cmake not found (apt-get install cmake g++)';
  const src = path.join(BENCH, 'cpp', 'bench.cpp');
  const lists = path.join(BENCH, 'cpp', 'CMakeLists.txt');
  const found = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'find-libtorch.js'), '--cmake'], { encoding: 'utf8' });
  if (found.status !== 0) return `libtorch not found: ${(found.stderr || '').trim().split('\n')[0]}`;
  const [cmakeDir, libDir] = found.stdout.trim().split(';');
  const cache = path.join(BUILD_DIR, 'CMakeCache.txt');
  const cached = fs.existsSync(cache) ? fs.readFileSync(cache, 'utf8') : '';
  const sameLibtorch = cached.includes(`TORCH_CMAKE_DIR:UNINITIALIZED=${cmakeDir}\n`) || cached.includes(`TORCH_CMAKE_DIR:PATH=${cmakeDir}\n`);
  const upToDate = sameLibtorch && fs.existsSync(CPP_BIN) && !newer(src, CPP_BIN) && !newer(lists, CPP_BIN);
  if (upToDate) return null;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const logFile = path.join(BUILD_DIR, 'build.log');
  const out: string[] = [];
  const run = (args: string[]): boolean => {
    const r = spawnSync('cmake', args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
    out.push(`$ cmake ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    return r.status === 0;
  };
  log(`building the C++ bench in ${path.relative(ROOT, BUILD_DIR)} (the first build takes a minute or two)...`);
  let ok = true;
  if (!sameLibtorch) {
    fs.rmSync(BUILD_DIR, { recursive: true, force: true }); // configured for another libtorch
    fs.mkdirSync(BUILD_DIR, { recursive: true });
    ok = run(['-S', path.join(BENCH, 'cpp'), '-B', BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release', `-DTORCH_CMAKE_DIR=${cmakeDir}`, `-DTORCH_LIB_DIR=${libDir}`]);
  }
  if (ok) ok = run(['--build', BUILD_DIR, '--config', 'Release', '-j', String(cores())]);
  fs.writeFileSync(logFile, out.join('\n'));
  if (!ok) {
    const tail = out.join('\n').trim().split('\n').slice(-8).join('\n    ');
    return `the C++ build failed (log: ${path.relative(ROOT, logFile)}):\n    ${tail}`;
  }
  return null;
}

export interface SpawnOptions {
  threads: number;
  python?: string;
  dataDir?: string;
  limit?: number;
}

/** The command line and environment of each implementation's worker. */
export function workerCommand(impl: ImplId, o: SpawnOptions): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const common = ['--threads', String(o.threads)];
  if (o.limit !== undefined) common.push('--limit', String(o.limit));
  switch (impl) {
    case 'ts':
    case 'ts-nchw':
    case 'ts-unbatched':
    case 'ts-plain':
    case 'ts-spin':
    case 'ts-bf16': {
      // ts-plain is the textbook loop on exactly libtorch's kernels: PyTorch's work, through torch-gan;
      // ts-nchw the engine with NCHW networks (the layout of lib/gan/memory-format.ts off)
      const args = ['--require', require.resolve('tsx/cjs'), path.join(BENCH, 'ts_worker.ts'), '--impl', impl, ...common,
        '--batched', impl === 'ts-unbatched' || impl === 'ts-plain' ? 'off' : 'on', '--precision', impl === 'ts-bf16' ? 'bf16' : 'fp32'];
      if (o.dataDir) args.push('--data', o.dataDir);
      const nchw = impl === 'ts-plain' || impl === 'ts-nchw';
      // ts-spin: the engine with libgomp's own default, 300,000 spin rounds before a waiting thread
      // sleeps, instead of the OMP_WAIT_POLICY=PASSIVE torch-gan sets (lib/native-env.ts)
      const spin: Record<string, string> = impl === 'ts-spin' ? { GOMP_SPINCOUNT: '300000' } : {};
      return { cmd: process.execPath, args, env: childEnv(o.threads, { TORCH_GAN_FAST_KERNELS: impl === 'ts-plain' ? '0' : '1', ...(nchw ? { TORCH_GAN_CHANNELS_LAST: '0' } : {}), ...spin }) };
    }
    case 'py':
    case 'py-bf16': {
      const args = [path.join(BENCH, 'pytorch_bench.py'), ...common, '--impl', impl, ...(impl === 'py-bf16' ? ['--autocast'] : [])];
      if (o.dataDir) args.push('--data', path.join(o.dataDir, 'train-images-idx3-ubyte.gz'));
      return { cmd: o.python ?? defaultPython(), args, env: childEnv(o.threads) };
    }
    case 'cpp': {
      const args = [...common];
      if (o.dataDir) args.push('--data', path.join(o.dataDir, 'train-images-idx3-ubyte.gz'));
      return { cmd: CPP_BIN, args, env: childEnv(o.threads) };
    }
  }
}

// ------------------------------------------------------------------ the worker process

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Reply = Record<string, any>;

const live = new Set<ChildProcessWithoutNullStreams>();
let handlersInstalled = false;
/** Kills the workers still running when the harness is interrupted. */
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of live) p.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/** A long-lived worker: one command line in, one JSON line out. */
export class Worker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private readonly stderr: string[] = [];
  private exited: string | null = null;
  readonly ready: Promise<Reply>;

  constructor(readonly impl: ImplId, cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    installSignalHandlers();
    live.add(this.proc);
    this.proc.on('exit', () => live.delete(this.proc));
    this.ready = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    const rl = readline.createInterface({ input: this.proc.stdout });
    rl.on('line', (line) => {
      let msg: Reply;
      try {
        msg = JSON.parse(line) as Reply;
      } catch {
        // Workers print nothing but JSON lines on stdout: fail the pending request rather than hang.
        const w = this.waiting.shift();
        if (w) w.reject(new Error(`${IMPL_LABEL[impl]} worker printed a line that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      const w = this.waiting.shift();
      if (w) w.resolve(msg);
    });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr.push(d.toString());
      if (this.stderr.length > 200) this.stderr.splice(0, this.stderr.length - 200);
    });
    const fail = (why: string) => {
      this.exited = why;
      for (const w of this.waiting.splice(0)) w.reject(new Error(`${IMPL_LABEL[impl]} worker ${why}${this.stderrTail()}`));
    };
    this.proc.on('error', (e) => fail(`could not start: ${e.message}`));
    this.proc.on('exit', (code, sig) => fail(`exited (${sig ?? `code ${code}`})`));
  }

  stderrTail(lines = 12): string {
    const t = this.stderr.join('').trim();
    return t ? `\n    ${t.split('\n').slice(-lines).join('\n    ')}` : '';
  }

  request(line: string): Promise<Reply> {
    if (this.exited) return Promise.reject(new Error(`${IMPL_LABEL[this.impl]} worker ${this.exited}${this.stderrTail()}`));
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push({
        resolve: (r) => (r.error ? reject(new Error(`${IMPL_LABEL[this.impl]}: ${r.error}`)) : resolve(r)),
        reject,
      });
      this.proc.stdin.write(line + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin.write('quit\n');
    const t = setTimeout(() => this.proc.kill(), 5000);
    await gone;
    clearTimeout(t);
  }
}

export async function startWorker(impl: ImplId, o: SpawnOptions, timeoutMs = 180000): Promise<Worker> {
  const { cmd, args, env } = workerCommand(impl, o);
  const w = new Worker(impl, cmd, args, env);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${IMPL_LABEL[impl]} worker did not start within ${timeoutMs / 1000}s${w.stderrTail()}`)), timeoutMs);
  });
  try {
    await Promise.race([w.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return w;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
