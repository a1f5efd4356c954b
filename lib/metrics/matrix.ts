// Feature sets as plain float64 matrices: the metrics take a Tensor [n, d], nested arrays
// or {data, n, d}, and compute in float64.
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { describe, expectedError, invalidArgument, invalidParameterError, TorchError } from '../errors';

/** A row-major n×d float64 matrix (n samples of d features). */
export interface FeatureMatrix {
  data: Float64Array;
  n: number;
  d: number;
}

export type Features = Tensor | number[][] | FeatureMatrix;

/** Any accepted feature set as a FeatureMatrix (copied to float64; a FeatureMatrix is used as is). */
export function asMatrix(x: Features, name = 'features'): FeatureMatrix {
  if (x instanceof Tensor) {
    const s = x.shape;
    if (s.length !== 2) throw expectedError(name, 'a 2-D tensor [n, d]', `shape [${s}]`);
    const data = tidy(() => x.detach().to({ device: 'cpu', dtype: 'float64' }).contiguous().data()) as Float64Array;
    return { data, n: s[0], d: s[1] };
  }
  if (Array.isArray(x)) {
    const n = x.length;
    const d = n > 0 && Array.isArray(x[0]) ? x[0].length : 0;
    if (n === 0 || d === 0) throw invalidParameterError(name, 'a non-empty array of rows', x);
    const data = new Float64Array(n * d);
    x.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== d) {
        throw invalidArgument(`Expected rows of length ${d} for ${name} (row ${i} differs)`, { parameter: `${name}[${i}]`, expected: `a row of length ${d}`, received: describe(row) });
      }
      for (let j = 0; j < d; j++) data[i * d + j] = row[j];
    });
    return { data, n, d };
  }
  if (x !== null && typeof x === 'object' && x.data instanceof Float64Array && Number.isInteger(x.n) && Number.isInteger(x.d)) {
    if (x.data.length !== x.n * x.d) throw expectedError(`${name}.data`, `${x.n * x.d} values (${x.n}×${x.d})`, `${x.data.length}`);
    return x;
  }
  throw invalidParameterError(name, 'a Tensor [n, d], an array of rows or {data: Float64Array, n, d}', x);
}

/** Two feature sets that should have the same width (columns) do not. */
export function differentWidths(where: string, a: number, b: number): TorchError {
  return invalidArgument(`${where}: the feature sets have different widths (${a} and ${b})`, { parameter: `${where} y`, expected: `${a} columns (as x)`, received: `${b} columns` });
}

/** Rows `idx` of a matrix. */
export function takeRows(m: FeatureMatrix, idx: ArrayLike<number>): FeatureMatrix {
  const out = new Float64Array(idx.length * m.d);
  for (let i = 0; i < idx.length; i++) out.set(m.data.subarray(idx[i] * m.d, (idx[i] + 1) * m.d), i * m.d);
  return { data: out, n: idx.length, d: m.d };
}

/** Rows [start, end) of a matrix (a view, no copy). */
export function sliceRows(m: FeatureMatrix, start: number, end: number): FeatureMatrix {
  return { data: m.data.subarray(start * m.d, end * m.d), n: end - start, d: m.d };
}

export function checkFinite(m: FeatureMatrix, name: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw invalidArgument(`${name} holds a non-finite value (row ${Math.floor(i / m.d)}, column ${i % m.d})`, { parameter: name, expected: 'finite values', received: `${m.data[i]} at row ${Math.floor(i / m.d)}, column ${i % m.d}` });
    }
  }
}
