// What the main-thread side (./worker.ts) and the worker side (./worker-entry.ts) share:
// the message protocol and the native gates.
//
// Random numbers need no guard: each worker is a JS environment of its own, and the addon keeps
// one set of generators per environment (native/random.cc), so two workers training at once
// draw from their own generators, and a worker's numbers are those of a lone run with its seed.
import { TorchError } from '../errors';
import type { ErrorFields } from '../errors';
import type { StepStats } from './trainer';

/** Layout of the shared buffer: one gate state per worker slot. */
export const WORKER_SLOTS = 256;
const GATE = (slot: number) => slot;

export function createSharedBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * WORKER_SLOTS);
}

// ---------------------------------------------------------------- the native gate
//
// Stopping a worker while it is inside an addon call aborts the whole process: the
// call's JS error cannot be thrown into a stopping environment, and node-addon-api
// (built without NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS) then throws a C++ exception
// through the N-API boundary: "terminate called after throwing an instance of
// 'Napi::Error'". This happens on worker.terminate() and on process.exit() in the
// main thread (which stops every worker). So a worker only calls the addon inside
// gate sections, and is stopped only outside one:
//   worker: enter() CAS IDLE -> BUSY (or, if STOPPED, park forever); leave() -> IDLE
//   main, at process exit: CAS IDLE -> STOPPED, waiting while BUSY (≤ a deadline)
export const GATE_IDLE = 0;
export const GATE_BUSY = 1;
export const GATE_STOPPED = 2;

/** Worker side. Starts inside a section (the worker's boot loads the addon). */
export class NativeGate {
  private readonly a: Int32Array;
  private readonly i: number;
  private depth = 1;
  constructor(buffer: SharedArrayBuffer, slot: number) {
    this.a = new Int32Array(buffer);
    this.i = GATE(slot);
  }

  enter(): void {
    if (this.depth++ > 0) return;
    if (Atomics.compareExchange(this.a, this.i, GATE_IDLE, GATE_BUSY) !== GATE_IDLE) {
      // the process is exiting: never touch the addon again; wait here to be stopped
      for (;;) Atomics.wait(this.a, this.i, GATE_STOPPED);
    }
  }

  leave(): void {
    if (--this.depth > 0) return;
    this.depth = 0;
    Atomics.store(this.a, this.i, GATE_IDLE);
    Atomics.notify(this.a, this.i);
  }

  run<T>(fn: () => T): T {
    this.enter();
    try {
      return fn();
    } finally {
      this.leave();
    }
  }

  async runAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await fn();
    } finally {
      this.leave();
    }
  }
}

/** Main thread, before spawning a worker in `slot`: it boots inside a section. */
export function resetGate(buffer: SharedArrayBuffer, slot: number): void {
  const a = new Int32Array(buffer);
  Atomics.store(a, GATE(slot), GATE_BUSY);
}

/** Main thread: marks the worker STOPPED once it is outside a section; false if the deadline passed first. */
export function stopAtSafePoint(buffer: SharedArrayBuffer, slot: number, deadline: number): boolean {
  const a = new Int32Array(buffer);
  for (;;) {
    const prev = Atomics.compareExchange(a, GATE(slot), GATE_IDLE, GATE_STOPPED);
    if (prev !== GATE_BUSY) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(a, GATE(slot), GATE_BUSY, left);
  }
}

/** Main thread: frees the slot of a worker that exited. */
export function releaseSlot(buffer: SharedArrayBuffer, slot: number): void {
  Atomics.store(new Int32Array(buffer), GATE(slot), GATE_IDLE);
}

// ---------------------------------------------------------------- protocol

export interface WorkerBoot {
  kind: 'trainer' | 'sampler';
  /** createSharedBuffer(): the native gates */
  shared: SharedArrayBuffer;
  slot: number;
}

/** main → worker */
export type Request =
  | { id: number; op: 'start'; spec: Record<string, unknown>; out?: string; resume?: boolean; threads?: number }
  | { id: number; op: 'step' }
  | { id: number; op: 'run'; iters?: number; checkpointEvery?: number; sampleEvery?: number }
  | { id: number; op: 'sample'; n: number; seed?: number; format: 'png' | 'tensor-data'; nrow?: number }
  | { id: number; op: 'checkpoint' }
  | { id: number; op: 'load'; dir: string; device?: string }
  | { id: number; op: 'close' };

/** A control message that is not a request (no reply). */
export type Control = { op: 'abort'; runId?: number };

export interface WireError {
  message: string;
  name: string;
  code?: string;
  stack?: string;
  /** a TorchError's other fields (op, parameter, expected, received) */
  fields?: ErrorFields;
}

export interface StatusInfo {
  step: number;
  /** the run's target iteration (config.iters or run({iters})) */
  iters: number;
  losses: { critic: number; generator: number; wasserstein: number; penalty: number; gradNorm: number } | null;
  /** generator iterations per second over the last steps (0 before two steps) */
  itPerSec: number;
}

/** worker → main */
export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { event: 'step'; runId: number; stats: StepStats; status: StatusInfo }
  | { event: 'sample'; runId: number; step: number; png: Uint8Array; file?: string }
  | { event: 'checkpoint'; runId: number; step: number; dir: string }
  | { event: 'end'; runId: number; step: number; reason: 'done' | 'aborted' | 'closed' }
  | { event: 'error'; runId: number; error: WireError };

export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    const fields = e instanceof TorchError ? { op: e.op, parameter: e.parameter, expected: e.expected, received: e.received } : undefined;
    return { message: e.message, name: e.name, ...(typeof code === 'string' ? { code } : {}), ...(e.stack ? { stack: e.stack } : {}), ...(fields ? { fields } : {}) };
  }
  return { message: String(e), name: 'Error' };
}

/**
 * An error from the worker, rebuilt as a TorchError with its message, code and fields (an error
 * without a code, e.g. a bug's TypeError, gets ERR_WORKER_FAILED); `workerStack` is the stack inside the worker.
 */
export function fromWireError(w: WireError): TorchError & { workerStack?: string } {
  const e: TorchError & { workerStack?: string } = new TorchError(w.message, { ...w.fields, code: w.code ?? 'ERR_WORKER_FAILED' });
  if (w.stack !== undefined) e.workerStack = w.stack;
  return e;
}
