// `npx torch-gan launch --nproc N [--master-port P] -- <command>`: N processes on this machine,
// one per rank, as torchrun --standalone does: each child gets RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free port unless given), which
// initProcessGroup() reads. The command is a torch-gan command (train ..., run the way this
// launcher was), a script (.js/.cjs/.mjs with node, .ts/.mts/.cts with node --import tsx) or any
// executable with its arguments.
//
// Output: every line of every rank, prefixed "[rank R] " (stdout to stdout, stderr to stderr);
// --output rank0 keeps only rank 0's stdout (every rank's stderr still shows). Signals: SIGINT,
// SIGTERM and SIGHUP are forwarded once to every rank (the children run in their own process
// groups, so a terminal's Ctrl-C reaches them only through the launcher); a second one kills
// them. When a rank exits non-zero (or by a signal), the launcher says which, sends SIGTERM to
// the others (SIGKILL after --kill-grace seconds) and exits with that rank's code.
import { spawn, ChildProcess } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { FlagSpecs, ParsedFlags, helpText, isUsageError, parseFlags, usageError } from './args';

export const launchFlags: FlagSpecs = {
  nproc: { type: 'int', min: 1, max: 256, required: true, aliases: ['--nproc-per-node'], help: 'processes to start on this machine, one per rank (RANK 0..N-1, WORLD_SIZE N)' },
  'master-port': { type: 'int', min: 1, max: 65535, help: "port of rank 0's rendezvous store on 127.0.0.1 (MASTER_PORT; default: a free port)" },
  output: { type: 'choice', choices: ['all', 'rank0'], default: 'all', help: "all: every rank's lines, prefixed [rank R]; rank0: only rank 0's stdout (every rank's stderr still shown)" },
  'kill-grace': { type: 'number', min: 0, default: 10, help: 'seconds the other ranks get after SIGTERM (a rank failed, or a signal) before SIGKILL' },
};

const TITLE = 'Start N processes of a command on this machine for data-parallel training, with RANK, WORLD_SIZE, LOCAL_RANK, ' +
  'MASTER_ADDR=127.0.0.1 and MASTER_PORT set as torchrun does. The command after -- is a torch-gan command (train ...), a ' +
  'script (.js, .ts) or an executable. A rank that fails stops the others; the launcher exits with its code.\n\n' +
  'Usage: npx torch-gan launch --nproc N [options] -- train [train options]';

/** `launch --help`'s text. */
export const launchHelp = (): string => helpText(TITLE, launchFlags);

export interface LaunchOptions {
  nproc: number;
  /** default: a free port on 127.0.0.1 */
  masterPort?: number;
  output?: 'all' | 'rank0';
  /** ms between SIGTERM and SIGKILL when stopping ranks (default 10000) */
  killGraceMs?: number;
  /** the command of every rank: a torch-gan command name, a script, or an executable, with its arguments */
  command: string[];
  /** the names that mean "a torch-gan command" (default train, generate, evaluate, doctor) */
  commands?: readonly string[];
  /** environment of the children (default process.env), RANK etc. added */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** where the prefixed lines go (default process.stdout / process.stderr) */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** forward SIGINT/SIGTERM/SIGHUP of this process (default true) */
  forwardSignals?: boolean;
  /** the launcher's own messages (default: to stderr, "torch-gan launch: ...") */
  log?: (message: string) => void;
}

export interface LaunchResult {
  /** the exit code the launcher should exit with */
  code: number;
  /** the rank whose failure stopped the run (undefined when none failed) */
  failedRank?: number;
  /** each rank's exit code and signal */
  ranks: { rank: number; code: number | null; signal: NodeJS.Signals | null }[];
  masterPort: number;
  /** the signal the launcher received and forwarded, if any */
  signal?: NodeJS.Signals;
}

const DEFAULT_COMMANDS = ['train', 'generate', 'evaluate', 'doctor'] as const;

/** A free TCP port on 127.0.0.1 (asked of the kernel; free when returned, like torchrun's). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** How a rank runs `command`: the executable and its arguments. */
export function childCommand(command: string[], commands: readonly string[] = DEFAULT_COMMANDS): { file: string; args: string[] } {
  const [first, ...rest] = command;
  if (first === undefined || first === '') throw usageError('launch needs a command after --, e.g. npx torch-gan launch --nproc 2 -- train --dset toy');
  if (first === 'launch') throw usageError('launch -- launch ...: a launcher does not start launchers; give the command the ranks run (e.g. train)');
  if (commands.includes(first)) {
    const root = path.join(__dirname, '..', '..');
    // compiled (dist/cli/launch.js): the package's bin; from source (tsx): lib/cli/main.ts itself
    if (path.extname(__filename) === '.ts' && first !== 'doctor') {
      const main = path.join(__dirname, 'main.ts');
      return { file: process.execPath, args: ['--import', 'tsx', '-e', `require(${JSON.stringify(main)}).main(process.argv.slice(1)) || process.exit(2)`, first, ...rest] };
    }
    return { file: process.execPath, args: [path.join(root, 'scripts', 'cli.js'), first, ...rest] };
  }
  if (/\.(js|cjs|mjs)$/.test(first)) return { file: process.execPath, args: [first, ...rest] };
  if (/\.(ts|cts|mts)$/.test(first)) return { file: process.execPath, args: ['--import', 'tsx', first, ...rest] };
  return { file: first, args: rest };
}

/** Writes each complete line of `from` to `to` with a prefix; the last partial line at the end. */
function pipeLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream | null, prefix: string): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    from.setEncoding('utf8');
    from.on('data', (c: string) => {
      buf += c;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        to?.write(prefix + buf.slice(0, nl + 1));
        buf = buf.slice(nl + 1);
      }
    });
    from.on('end', () => {
      if (buf) to?.write(prefix + buf + '\n');
      buf = '';
      resolve();
    });
    from.on('error', () => resolve());
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Starts the ranks and resolves once every one has exited. */
export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nproc = o.nproc;
  if (!Number.isInteger(nproc) || nproc < 1) throw usageError(`--nproc must be a positive integer, received ${nproc}`);
  const { file, args } = childCommand(o.command, o.commands);
  const masterPort = o.masterPort ?? await freePort();
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  const log = o.log ?? ((m: string) => err.write(`torch-gan launch: ${m}\n`));
  const grace = o.killGraceMs ?? 10_000;
  const base = { ...(o.env ?? process.env) };
  // N processes share the cores: libtorch's threads divided among them unless the user chose
  if (base.TORCH_GAN_NUM_THREADS === undefined && base.OMP_NUM_THREADS === undefined && nproc > 1) {
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    base.TORCH_GAN_NUM_THREADS = String(Math.max(1, Math.floor(cores / nproc)));
    log(`${nproc} ranks on ${cores} cores: TORCH_GAN_NUM_THREADS=${base.TORCH_GAN_NUM_THREADS} for each (set TORCH_GAN_NUM_THREADS to choose)`);
  }
  const children: ChildProcess[] = [];
  const exits: LaunchResult['ranks'] = [];
  let failed: { rank: number; code: number | null; signal: NodeJS.Signals | null } | undefined;
  let received: NodeJS.Signals | undefined;
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const signalAll = (sig: NodeJS.Signals) => {
    for (const c of alive()) {
      try { c.kill(sig); } catch { /* already gone */ }
    }
  };
  const stopOthers = () => {
    if (stopping) return;
    stopping = true;
    signalAll('SIGTERM');
    killTimer = setTimeout(() => {
      const left = alive();
      if (left.length) log(`${left.length} rank(s) still running ${grace / 1000} s after SIGTERM: SIGKILL`);
      signalAll('SIGKILL');
    }, grace);
    killTimer.unref();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (received !== undefined) {
      log(`${sig} again: killing every rank`);
      signalAll('SIGKILL');
      return;
    }
    received = sig;
    log(`${sig}: forwarding it to the ${alive().length} running rank(s) (again to kill them)`);
    signalAll(sig);
  };
  const lastResort = () => signalAll('SIGKILL');  // the launcher exits: no rank outlives it
  if (o.forwardSignals ?? true) for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', lastResort);
  const pipes: Promise<void>[] = [];
  const exited: Promise<void>[] = [];
  try {
    for (let rank = 0; rank < nproc; rank++) {
      const env = {
        ...base, RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(nproc), GROUP_RANK: '0',
        MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(masterPort),
      };
      const c = spawn(file, args, { env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      children.push(c);
      const prefix = `[rank ${rank}] `;
      pipes.push(pipeLines(c.stdout!, o.output === 'rank0' && rank !== 0 ? null : out, prefix), pipeLines(c.stderr!, err, prefix));
      exited.push(new Promise<void>((resolve) => {
        c.on('error', (e) => {
          log(`rank ${rank}: could not start ${file}: ${e.message}`);
          exits.push({ rank, code: 127, signal: null });
          if (!failed) failed = { rank, code: 127, signal: null };
          stopOthers();
          resolve();
        });
        c.on('exit', (code, signal) => {
          exits.push({ rank, code, signal });
          if ((code !== 0 || signal !== null) && !failed && received === undefined && !stopping) {
            failed = { rank, code, signal };
            const others = alive().length;
            log(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${others ? `; stopping the other ${others} rank(s)` : ''}`);
            stopOthers();
          }
          resolve();
        });
      }));
    }
    await Promise.all(exited);
    await Promise.all(pipes);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    if (o.forwardSignals ?? true) for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.removeListener('exit', lastResort);
  }
  exits.sort((a, b) => a.rank - b.rank);
  const signo = (s: NodeJS.Signals) => os.constants.signals[s] ?? 1;
  let code = 0;
  if (failed) code = failed.code ?? 128 + signo(failed.signal!);
  else if (received !== undefined) {
    const bad = exits.find((e) => e.code !== 0 && e.code !== null);
    code = bad?.code ?? 128 + signo(received);
  }
  return { code, failedRank: failed?.rank, ranks: exits, masterPort, ...(received ? { signal: received } : {}) };
}

/** `torch-gan launch [flags] -- command ...`. */
export function launchCommand(argv: string[], commands: readonly string[] = DEFAULT_COMMANDS): void {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  let f: ParsedFlags & { help?: boolean };
  try {
    f = parseFlags(own, launchFlags);
    if (f.help) {
      console.log(launchHelp());
      return;
    }
    if (dash < 0) throw usageError('launch needs -- before the command the ranks run, e.g. npx torch-gan launch --nproc 2 -- train --dset toy');
    childCommand(command, commands);  // refuse a missing command before starting anything
  } catch (e) {
    if (isUsageError(e)) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  launch({
    nproc: f.nproc as number, masterPort: f.masterPort as number | undefined, output: f.output as 'all' | 'rank0',
    killGraceMs: (f.killGrace as number) * 1000, command, commands,
  }).then((r) => {
    if (r.failedRank !== undefined) console.error(`torch-gan launch: exiting with code ${r.code} (rank ${r.failedRank} failed; every rank: ${r.ranks.map((x) => `${x.rank} ${x.signal ?? x.code}`).join(', ')})`);
    process.exit(r.code);
  }, (e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(isUsageError(e) ? 2 : 1);
  });
}
