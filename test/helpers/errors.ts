// Shared test helpers.
import * as assert from 'uvu/assert';
import { TorchError } from '../../lib/errors';

/** Runs fn, expects it to throw, returns the message (fails the test if it does not throw). */
export function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  assert.unreachable('expected an error');
  return '';
}

/** The async form: awaits fn, expects it to reject (or throw), returns the message. */
export async function errorMessageAsync(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return (e as Error).message;
  }
  assert.unreachable('expected an error');
  return '';
}

/**
 * A predicate for assert.throws: the error is a TorchError with this code, its message matches
 * `msg` (when given) and its fields equal `fields` (when given).
 */
export function isTorchError(code: string, msg?: RegExp | string, fields?: Partial<Pick<TorchError, 'parameter' | 'expected' | 'received' | 'op'>>): (e: unknown) => boolean {
  return (e: unknown) => {
    if (!(e instanceof TorchError)) return false;
    if (e.code !== code) return false;
    if (msg !== undefined && !(typeof msg === 'string' ? e.message.includes(msg) : msg.test(e.message))) return false;
    for (const [k, v] of Object.entries(fields ?? {})) if ((e as unknown as Record<string, unknown>)[k] !== v) return false;
    return true;
  };
}

/** Runs fn, expects a TorchError, returns it (fails the test on no error or another kind of error). */
export function torchError(fn: () => unknown): TorchError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, TorchError, `expected a TorchError, got ${String(e)}`);
    return e as TorchError;
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

/** The async form of torchError. */
export async function torchErrorAsync(fn: () => unknown): Promise<TorchError> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, TorchError, `expected a TorchError, got ${String(e)}`);
    return e as TorchError;
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

/**
 * The checks of the bad-input tables: every failure is a TorchError. 'arg' (an argument at fault):
 * code ERR_INVALID_ARG with parameter, expected and received set, the message naming the parameter.
 * 'torch' (libtorch refused, or a disposed tensor): an ERR_TORCH* or ERR_TENSOR_DISPOSED code, or
 * exactly `code` when given.
 */
export function assertErrorKind(err: unknown, kind: 'arg' | 'torch', code?: string): void {
  assert.instance(err, TorchError, `expected a TorchError, got ${String(err)}`);
  const e = err as TorchError;
  if (code !== undefined) assert.is(e.code, code, String(e));
  if (kind === 'arg') {
    assert.is(e.code, 'ERR_INVALID_ARG', String(e));
    for (const f of ['parameter', 'expected', 'received'] as const) {
      assert.ok(typeof e[f] === 'string' && e[f]!.length > 0, `${String(e)}: '${f}' is not set`);
    }
    // the message names the parameter (its last word: 'options.size' of 'interpolate() options.size'), or, for an
    // unknown option, the option received
    const last = e.parameter!.split(' ').pop()!;
    assert.ok(e.message.includes(last) || e.message.includes(e.received!), `the message "${e.message}" names neither the parameter ${last} nor ${e.received}`);
  } else {
    assert.match(e.code, /^ERR_(TORCH|TENSOR_DISPOSED)/, String(e));
  }
}
