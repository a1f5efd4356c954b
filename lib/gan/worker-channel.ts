// The main-thread side of one torch-gan worker thread (./worker-entry.ts): spawning it, its slot
// in the shared native-gate buffer (./worker-shared.ts), request/reply bookkeeping, keeping the
// process alive only while it has work, and stopping it safely at process exit. Kept apart from
// TrainingWorker (./worker.ts) and GeneratorSampler (./worker-sampler.ts), which both drive a
// Channel: this is the plumbing they share, they are the public API.
import * as path from 'path';
import { releaseThreadLock } from './run-lock';
import { Worker } from 'worker_threads';
import { TorchError } from '../errors';
import {
  Control, Reply, Request, WorkerBoot, createSharedBuffer, fromWireError, releaseSlot, resetGate, stopAtSafePoint, WORKER_SLOTS,
} from './worker-shared';

let shared: SharedArrayBuffer | null = null;
const usedSlots = new Set<number>();
const live = new Set<Channel>();

/**
 * process.exit() stops every worker; one stopped inside an addon call would abort the
 * process (see NativeGate in worker-shared.ts). At exit, wait (≤ 60 s in all) until each
 * live worker is between two addon sections and mark it stopped there.
 */
function stopWorkersAtExit(): void {
  const deadline = Date.now() + 60_000;
  for (const ch of live) ch.stopAtSafePoint(deadline);
}
let exitHookInstalled = false;

export const coded = (message: string, code: string): TorchError => new TorchError(message, { code });

/** The worker entry next to this file: worker-entry.ts under tsx, worker-entry.js when compiled. */
function spawnWorker(workerData: WorkerBoot): Worker {
  const ext = path.extname(__filename);
  if (ext === '.ts') {
    // Loader hooks are not inherited by workers: the worker registers tsx's CommonJS hook itself.
    const entry = path.join(__dirname, 'worker-entry.ts');
    const tsx = require.resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(entry)});`, { eval: true, workerData });
  }
  return new Worker(path.join(__dirname, 'worker-entry.js'), { workerData });
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One worker and its request/reply bookkeeping. */
export class Channel {
  readonly worker: Worker;
  readonly exited: Promise<number>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private busy = false;
  private readonly slot: number;
  private readonly buffer: SharedArrayBuffer;
  onEvent: (m: Exclude<Reply, { id: number }>) => void = () => {};
  onExit: (error: Error) => void = () => {};
  /** the run folder whose lock (./run-lock.ts) the worker takes: freed here if the worker dies holding it */
  lockDir: string | null = null;

  constructor(kind: WorkerBoot['kind']) {
    shared ??= createSharedBuffer();
    this.buffer = shared;
    let slot = 0;
    while (usedSlots.has(slot)) slot++;
    if (slot >= WORKER_SLOTS) throw coded(`too many torch-gan workers in this process (at most ${WORKER_SLOTS})`, 'ERR_TOO_MANY_WORKERS');
    usedSlots.add(slot);
    this.slot = slot;
    resetGate(this.buffer, slot);
    this.worker = spawnWorker({ kind, shared: this.buffer, slot });
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', stopWorkersAtExit);
    }
    const threadId = this.worker.threadId;
    this.worker.on('message', (m: Reply) => {
      if ('event' in m) this.onEvent(m);
      else {
        const p = this.pending.get(m.id);
        if (p) {
          this.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(fromWireError(m.error));
        }
      }
      this.updateRef();
    });
    // An exception that escaped the worker's handlers: the worker is gone; fail what waits.
    this.worker.on('error', (e: unknown) => this.fail(e instanceof Error ? e : fromWireError({ message: String(e), name: 'Error' })));
    this.worker.on('messageerror', (e) => this.fail(e));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        live.delete(this);
        if (this.lockDir) releaseThreadLock(this.lockDir, threadId);
        releaseSlot(this.buffer, this.slot);
        usedSlots.delete(this.slot);
        this.fail(coded(`the torch-gan worker exited (code ${code})`, 'ERR_WORKER_EXITED'));
        resolve(code);
      });
    });
  }

  get isDead(): boolean {
    return this.dead !== null;
  }

  /** At process exit: see stopWorkersAtExit. */
  stopAtSafePoint(deadline: number): void {
    if (!stopAtSafePoint(this.buffer, this.slot, deadline)) {
      process.stderr.write('torch-gan: a worker was still inside an addon call at exit\n');
    }
  }

  private fail(e: Error): void {
    if (!this.dead) {
      this.dead = e;
      this.onExit(e);
    }
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Keeps the process alive only while the worker has work (a pending call or a run). */
  private updateRef(): void {
    if (this.dead) return;
    if (this.pending.size > 0 || this.busy) this.worker.ref();
    else this.worker.unref();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.updateRef();
  }

  /** Sends a request; returns its id and the promise of its reply. */
  request<T>(body: RequestBody): { id: number; reply: Promise<T> } {
    const id = this.nextId++;
    if (this.dead) return { id, reply: Promise.reject(this.dead) };
    try {
      this.worker.postMessage({ ...body, id } as Request);
    } catch (e) {
      return { id, reply: Promise.reject(e) }; // e.g. a value that cannot be cloned
    }
    const reply = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.updateRef();
    return { id, reply };
  }

  control(m: Control): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  /**
   * Asks the worker to free everything and exit by itself (it is never stopped inside an
   * addon call: see NativeGate); a worker that is already gone is just awaited.
   */
  async close(): Promise<void> {
    if (!this.dead) {
      const { reply } = this.request<unknown>({ op: 'close' });
      await reply.catch(() => undefined);
    }
    // the worker exits right after its reply; outside a gate section, so terminating is safe too
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A Buffer over a reply's bytes (no copy). */
export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
