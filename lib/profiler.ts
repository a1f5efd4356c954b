// What libtorch spent its time on: every op and autograd node torch-gan ran inside fn (or between
// start() and stop()), with its calls, total and self time, from the native RecordFunction hook
// (native/profiler.cc). Self time is the op's own: its total minus the ops it called.
// One session at a time per process (libtorch's callbacks are global).
import { N } from './native';
import { TorchError, checkOptionKeys, invalidParameterError } from './errors';

export interface OpProfileRow {
  name: string;
  calls: number;
  totalMs: number;
  selfMs: number;
}

/** The ops, by self time (largest first). */
export interface OpProfile {
  ops: OpProfileRow[];
  /** the sum of every op's self time, ms: the time libtorch spent in ops on the profiled threads */
  selfMsTotal: number;
}

function profilerError(message: string): TorchError {
  return new TorchError(message, { code: 'ERR_INVALID_STATE' });
}

export interface ProfilerOptions {
  /** key each op by its caller and the caller's caller too ('aten::copy_ in aten::_to_copy in aten::to'; 'aten::mm (top level)' when called directly): where an op's calls come from */
  byCaller?: boolean;
}

/** Starts recording (refused while a session runs). */
export function startProfiler(options: ProfilerOptions = {}): void {
  checkOptionKeys('startProfiler()', options, ['byCaller']);
  if (options.byCaller !== undefined && typeof options.byCaller !== 'boolean') throw invalidParameterError('options.byCaller', 'a boolean', options.byCaller);
  if (N.profilerRunning()) throw profilerError('the op profiler is already running (one session per process): stopProfiler() first');
  N.profilerStart(options.byCaller ?? false);
}

/** Stops recording and returns what ran since startProfiler(). */
export function stopProfiler(): OpProfile {
  if (!N.profilerRunning()) throw profilerError('the op profiler is not running: startProfiler() first');
  const ops = N.profilerStop()
    .map((r) => ({ name: r.name, calls: r.calls, totalMs: r.totalNs / 1e6, selfMs: r.selfNs / 1e6 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { ops, selfMsTotal: ops.reduce((s, r) => s + r.selfMs, 0) };
}

/** Profiles fn (sync or async): its result and the ops it ran. */
export function profileOps<T>(fn: () => T, options?: ProfilerOptions): T extends Promise<infer R> ? Promise<{ result: R; profile: OpProfile }> : { result: T; profile: OpProfile };
export function profileOps<T>(fn: () => T, options: ProfilerOptions = {}): unknown {
  if (typeof fn !== 'function') throw invalidParameterError('fn', 'a function', fn);
  startProfiler(options);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stopProfiler();
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => ({ result: r, profile: stopProfiler() }),
      (e) => {
        stopProfiler();
        throw e;
      },
    );
  }
  return { result, profile: stopProfiler() };
}

/** The profile as a text table: the top `limit` ops by self time, with their share of the total. */
export function formatOpProfile(profile: OpProfile, limit = 25): string {
  const rows = profile.ops.slice(0, limit);
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const pct = (ms: number) => (profile.selfMsTotal > 0 ? ((100 * ms) / profile.selfMsTotal).toFixed(1) : '0.0');
  const lines = [`${'op'.padEnd(width)}  ${'calls'.padStart(7)}  ${'self ms'.padStart(10)}  ${'self %'.padStart(6)}  ${'total ms'.padStart(10)}`];
  for (const r of rows) lines.push(`${r.name.padEnd(width)}  ${String(r.calls).padStart(7)}  ${r.selfMs.toFixed(2).padStart(10)}  ${pct(r.selfMs).padStart(6)}  ${r.totalMs.toFixed(2).padStart(10)}`);
  lines.push(`(${profile.ops.length} ops; self time of all: ${profile.selfMsTotal.toFixed(2)} ms)`);
  return lines.join('\n');
}
