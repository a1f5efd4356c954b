// Shared test helpers.
import * as assert from 'uvu/assert';

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
