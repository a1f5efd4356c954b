// RunEvents: the events of one TrainingWorker.run() (./worker.ts) as an async iterator, with
// its bounded queue, early exit (break aborts the run) and the `finished` promise. Kept apart
// from TrainingWorker: it is a self-contained queue that knows nothing of the worker it serves
// (the run's abort is handed in), and TrainingWorker only pushes into it.
import { TorchError } from '../errors';
import type { RunEnd, RunEvent } from './worker-types';

const MAX_QUEUED_STEPS = 1024;

/**
 * The events of one run(), as an async iterator (for await ... of). Events are queued until
 * read (at most 1024 'step' events: the oldest are dropped first; never the others). Leaving
 * the loop early (break) aborts the run and waits for it to stop. `finished` resolves with the
 * 'end' event (or rejects with the run's error) whether or not the events are read.
 */
export class RunEvents implements AsyncIterableIterator<RunEvent> {
  /** resolves with the 'end' event; rejects if training failed */
  readonly finished: Promise<RunEnd>;
  private readonly queue: RunEvent[] = [];
  private waiter: { resolve: (r: IteratorResult<RunEvent>) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;
  private ended = false;
  private delivered = false;
  private resolveFinished!: (e: RunEnd) => void;
  private rejectFinished!: (e: Error) => void;

  /** @internal */
  constructor(private readonly abortRun: () => void) {
    this.finished = new Promise<RunEnd>((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    this.finished.catch(() => {}); // a failure is reported to whoever awaits it, never unhandled
  }

  /** @internal */
  push(ev: RunEvent): void {
    if (this.ended) return;
    if (ev.type === 'end') {
      this.ended = true;
      this.resolveFinished(ev);
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: ev, done: false });
      return;
    }
    this.queue.push(ev);
    if (ev.type === 'step' && this.queue.length > MAX_QUEUED_STEPS) {
      const i = this.queue.findIndex((e) => e.type === 'step');
      if (i >= 0) this.queue.splice(i, 1);
    }
  }

  /** @internal */
  fail(e: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = e;
    this.rejectFinished(e);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.delivered = true;
      w.reject(e);
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<RunEvent>> {
    const ev = this.queue.shift();
    if (ev) return Promise.resolve({ value: ev, done: false });
    if (this.ended) {
      if (this.error && !this.delivered) {
        this.delivered = true;
        return Promise.reject(this.error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new TorchError('RunEvents: next() called again before the previous call settled', { code: 'ERR_INVALID_STATE' }));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Leaving a for-await loop early: aborts the run and waits until it has stopped (checkpoint written). */
  async return(): Promise<IteratorResult<RunEvent>> {
    if (!this.ended) {
      this.abortRun();
      await this.finished.catch(() => undefined);
    }
    this.queue.length = 0;
    this.delivered = true;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
