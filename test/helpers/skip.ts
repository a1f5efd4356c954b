// A test that cannot run on this machine (no data set, no CUDA, no optional dependency) is a real
// skip, counted by uvu under "Skipped" (and by scripts/run-tests.js), with the reason printed:
// never a test that returns early and counts as passed.
import { test } from 'uvu';

type Handler = Parameters<typeof test>[1];

/** `test` when `reason` is null; otherwise test.skip, printing the test's name and why it is skipped. */
export function testUnless(reason: string | null): (name: string, fn: Handler) => void {
  if (reason === null) return test;
  return (name, fn) => {
    console.log(`  skipped: ${name}: ${reason}`);
    test.skip(name, fn);
  };
}
