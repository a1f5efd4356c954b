// Comparing with values PyTorch computed (the JSON fixtures of scripts/fixtures/*.py).
import * as assert from 'uvu/assert';
import * as tg from '../../lib';
import { Tensor } from '../../lib/tensor/tensor';

/** A tensor as a fixture stores it. */
export type Entry = { shape: number[]; data: number[] };

/** A float64 tensor from a fixture entry. */
export const f64 = (e: Entry, requiresGrad = false): Tensor => tg.tensor(Float64Array.from(e.data), e.shape, { dtype: 'float64', requiresGrad });

/** Element-wise |actual - expected| <= tol * max(1, |expected|), naming the first element that is not. */
export function closeArr(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i])))) assert.unreachable(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (|d| = ${d})`);
  }
}

/** The gradients of pen by the named parameters equal the fixture's (an unreached one counts as zeros). */
export function checkGrads(params: Record<string, Tensor>, pen: Tensor, expected: Record<string, Entry>, tol: number, what: string): void {
  const names = Object.keys(expected);
  const gs = tg.autograd.grad(pen, names.map((n) => params[n]), { allowUnused: true, retainGraph: true });
  names.forEach((n, i) => {
    const g = gs[i];
    const actual = g === null ? new Array(expected[n].data.length).fill(0) : g.toArray();
    closeArr(actual, expected[n].data, tol, `${what} d/d${n}`);
  });
}
