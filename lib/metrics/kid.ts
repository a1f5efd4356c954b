// Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased
// estimate of the squared MMD with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³,
// averaged over random subsets:
//
//   for each subset s: m rows of X and m rows of Y, drawn without replacement
//     MMD²ᵤ = Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(m(m−1)) − 2·Σ_{i,j} k(xᵢ,yⱼ)/m²
//   KID = mean over subsets, std = their standard deviation (population, ddof 0, as the
//   reference implementation and torch-fidelity report it).
// The subsets come from a seeded PRNG (or are passed in, e.g. by a fixture). The kernel sums
// run in libtorch (float64 matrix products).
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Rng } from '../data/random';
import { invalidArgument, invalidParameterError, is } from '../errors';
import { asMatrix, checkFinite, differentWidths, Features, FeatureMatrix, takeRows } from './matrix';

export interface KidOptions {
  /** number of subsets (default 100) */
  subsets?: number;
  /** rows per subset (default 1000, capped at the smaller set's size) */
  subsetSize?: number;
  /** seed of the subset draws (default 0) */
  seed?: number;
  /** explicit subsets instead of random ones: rows of x and of y for each subset (equal sizes m ≥ 2) */
  indices?: { x: number[][]; y: number[][] };
}

export interface KidResult {
  mean: number;
  std: number;
  /** MMD²ᵤ of each subset */
  values: number[];
  subsetSize: number;
}

/** Unbiased MMD² with k(x,y) = (x·y/d + 1)³ between two sets of rows (each at least 2). */
export function mmdPolyUnbiased(x: FeatureMatrix, y: FeatureMatrix): number {
  if (x.d !== y.d) throw differentWidths('KID', x.d, y.d);
  const m = x.n;
  const n = y.n;
  if (m < 2 || n < 2) throw invalidArgument('KID: each subset needs at least 2 rows', { parameter: 'KID subset', expected: 'at least 2 rows', received: `${m} and ${n} rows` });
  const d = x.d;
  return tidy(() => {
    const X = tensor(x.data, [m, d]);
    const Y = tensor(y.data, [n, d]);
    const k = (a: typeof X, b: typeof X) => a.mm(b.t()).div(d).add(1).pow(3);
    const kxx = k(X, X);
    const kyy = k(Y, Y);
    const kxy = k(X, Y);
    const offDiag = (kk: typeof X, size: number) => {
      const diag = kk.reshape([-1]).slice(0, 0, null, size + 1).sum().item();
      return (kk.sum().item() - diag) / (size * (size - 1));
    };
    return offDiag(kxx, m) + offDiag(kyy, n) - (2 * kxy.sum().item()) / (m * n);
  });
}

/** m distinct indices in [0, n) (a partial Fisher-Yates shuffle). */
function choose(n: number, m: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p.slice(0, m);
}

/** KID between feature sets x [n₁, d] and y [n₂, d]: {mean, std} over subsets. */
export function kernelInceptionDistance(x: Features, y: Features, options: KidOptions = {}): KidResult {
  const X = asMatrix(x, 'x');
  const Y = asMatrix(y, 'y');
  checkFinite(X, 'x');
  checkFinite(Y, 'y');
  if (X.d !== Y.d) throw differentWidths('kernelInceptionDistance()', X.d, Y.d);
  let pairs: [number[], number[]][];
  if (options.indices !== undefined) {
    const { x: ix, y: iy } = options.indices;
    if (!Array.isArray(ix) || !Array.isArray(iy) || ix.length !== iy.length || ix.length === 0) {
      throw invalidParameterError('options.indices', '{x, y}: equally many non-empty lists of row indices', options.indices);
    }
    pairs = ix.map((r, s) => [r, iy[s]]);
    for (const [a, b] of pairs) {
      if (a.some((i) => !is.nonNegativeInteger(i) || i >= X.n) || b.some((i) => !is.nonNegativeInteger(i) || i >= Y.n)) {
        throw invalidArgument('kernelInceptionDistance(): options.indices holds a row index out of range', {
          parameter: 'options.indices', expected: `row indices in [0, ${X.n}) for x and [0, ${Y.n}) for y`, received: 'an index out of range',
        });
      }
    }
  } else {
    const subsets = options.subsets ?? 100;
    if (!is.positiveInteger(subsets)) throw invalidParameterError('options.subsets', 'a positive integer', subsets);
    const size = Math.min(options.subsetSize ?? 1000, X.n, Y.n);
    if (!is.positiveInteger(size) || size < 2) throw invalidParameterError('options.subsetSize', 'an integer of at least 2 (and each set needs 2 rows)', options.subsetSize ?? size);
    const rng = new Rng(options.seed ?? 0);
    pairs = [];
    for (let s = 0; s < subsets; s++) pairs.push([choose(X.n, size, rng), choose(Y.n, size, rng)]);
  }
  const values = pairs.map(([a, b]) => mmdPolyUnbiased(takeRows(X, a), takeRows(Y, b)));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, std, values, subsetSize: pairs[0][0].length };
}
