// One writer per run folder. A run (the CLI's trainRun, a TrainingWorker with {out}) takes
// out/.torch-gan.lock, a file holding its PID, created exclusively; a second run on the same
// folder is refused, naming the holder. A lock whose PID is no longer alive (a run killed with
// SIGKILL) is taken over. Whoever holds the lock then removes what dead writers left behind:
// the temporary checkpoint folders (.ckpt-N.tmp-PID) and atomic-write temporaries
// (.NAME.PID.HEX.tmp) of PIDs that are gone, in out and out/checkpoints.
// Two runs in one process (two TrainingWorkers) share a PID: the holder's PID being our own
// and alive, the second is refused all the same.
import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';
import { TorchError } from '../errors';

export const LOCK_FILE = '.torch-gan.lock';

/** The run folder `dir` is held by the live process `holder` (ERR_RUN_LOCKED). */
function runLockedError(dir: string, holder: number): TorchError {
  const by = `process ${holder}${holder === process.pid ? ', this process' : ''}`;
  return new TorchError(`${dir} is in use by another run (${by}; lock file ${path.join(dir, LOCK_FILE)}): give each run its own output folder`, {
    code: 'ERR_RUN_LOCKED', parameter: 'dir', expected: 'a run folder no live run holds', received: `${dir}, held by ${by}`,
  });
}

/** True when a process with this PID exists (EPERM: it exists but is another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RunDirLock {
  readonly dir: string;
  /** Removes the lock file (idempotent). */
  release(): void;
}

function readHolder(file: string): number | null {
  try {
    const pid = Number(JSON.parse(fs.readFileSync(file, 'utf8')).pid);
    return Number.isSafeInteger(pid) ? pid : null;
  } catch {
    return null; // vanished, or torn (written by a process killed mid-write)
  }
}

/** Takes the lock of run folder `dir` (created if missing), then cleans what dead writers left. */
export function lockRunDir(dir: string): RunDirLock {
  const root = path.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, LOCK_FILE);
  const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({ pid: process.pid, thread: threadId, token, startedAt: new Date().toISOString() }) + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, body, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
    }
    const holder = readHolder(file);
    if (holder !== null && pidAlive(holder)) throw runLockedError(root, holder);
    // stale: its process is gone (or the file is torn); remove it and try again (exclusively)
    fs.rmSync(file, { force: true });
  }
  let held = true;
  cleanStaleTemps(root);
  cleanStaleTemps(path.join(root, 'checkpoints'));
  const onExit = () => release();
  process.once('exit', onExit);
  function release(): void {
    if (!held) return;
    held = false;
    process.removeListener('exit', onExit);
    try {
      if (JSON.parse(fs.readFileSync(file, 'utf8')).token === token) fs.rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  }
  return { dir: root, release };
}

/** Removes the lock of `dir` if this process's worker thread `thread` holds it (the worker died holding it). */
export function releaseThreadLock(dir: string, thread: number): void {
  const file = path.join(dir, LOCK_FILE);
  try {
    const held = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (held.pid === process.pid && held.thread === thread) fs.rmSync(file, { force: true });
  } catch {
    /* no lock, or not readable: nothing of ours */
  }
}

/** Removes temporaries of dead PIDs in `dir`: .ckpt-N.tmp-PID folders and .NAME.PID.HEX.tmp files. Returns their names. */
export function cleanStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = /^\.ckpt-\d{8}\.tmp-(\d+)$/.exec(n) ?? /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
