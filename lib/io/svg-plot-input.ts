// The checks and conversions of the plot options shared by line and scatter plots: texts, sizes,
// ranges and number arrays (a Tensor read once to a Float64Array), each refusing bad input with a
// TorchError naming the option.
import { Tensor, tidy } from '../tensor';
import { invalidParameterError, is } from '../errors';

export function checkText(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidParameterError(name, 'a string', v);
  return v;
}

export function checkRange(name: string, r: unknown): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !is.finite(r[0]) || !is.finite(r[1]) || !(r[1] > r[0])) {
    throw invalidParameterError(name, '[lo, hi] with finite lo < hi', r);
  }
  return [r[0], r[1]];
}

export function toNumbers(name: string, v: unknown): ArrayLike<number> {
  if (v instanceof Tensor) {
    if (v.shape.length !== 1) throw invalidParameterError(name, 'a 1-d Tensor', v);
    return tidy(() => v.detach().to('cpu', 'float64').contiguous().data() as Float64Array);
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v;
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) return v;
  throw invalidParameterError(name, 'an array of numbers, a Float32Array/Float64Array or a 1-d Tensor', v);
}

export function checkSize(name: string, v: unknown, min: number, max: number): number {
  if (!is.integer(v) || v < min || v > max) throw invalidParameterError(name, `an integer in [${min}, ${max}]`, v);
  return v;
}
