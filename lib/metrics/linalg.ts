// Dense symmetric linear algebra for the metrics, in float64 on libtorch: means and covariances,
// the symmetric eigendecomposition (torch.linalg.eigh: LAPACK's syevd, backward stable and
// accurate for small eigenvalues too) and what FID, PCA and the KDE need from it. Matrices come
// and go as row-major Float64Arrays, the metrics' FeatureMatrix world; the work is in tensors.
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { eigh } from '../tensor/linalg';
import { describe, invalidArgument } from '../errors';

export interface Eigh {
  /** eigenvalues, ascending (as numpy.linalg.eigh) */
  values: Float64Array;
  /** eigenvectors as COLUMNS of a row-major n×n matrix: column j goes with values[j] */
  vectors: Float64Array;
}

function checkSquare(where: string, a: ArrayLike<number>, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalidArgument(`${where}: expected a positive matrix size but received ${n}`, { parameter: `${where} n`, expected: 'a positive matrix size', received: describe(n) });
  if (a.length !== n * n) {
    throw invalidArgument(`${where}: expected ${n * n} values (an ${n}×${n} matrix) but received ${a.length}`, { parameter: `${where} a`, expected: `${n * n} values (an ${n}×${n} matrix)`, received: `${a.length}` });
  }
}

/** A row-major rows×cols float64 tensor holding a copy of `a`. */
const matrix = (a: ArrayLike<number>, rows: number, cols: number): Tensor =>
  tensor(a instanceof Float64Array ? a : Float64Array.from(a), [rows, cols], { dtype: 'float64' });

/** (S + Sᵀ)/2: the symmetric part, exactly symmetric (eigh reads one triangle). */
const symmetricPart = (s: Tensor): Tensor => s.add(s.t()).mul(0.5);

/** V·diag(√max(λ, 0))·Vᵀ of a symmetric tensor: its PSD square root (negative eigenvalues, rounding noise, count as 0). */
function psdSqrt(s: Tensor): Tensor {
  const { eigenvalues, eigenvectors: v } = eigh(s);
  return v.mul(eigenvalues.clamp(0).sqrt().unsqueeze(0)).matmul(v.t());
}

/**
 * Eigendecomposition of a real symmetric matrix (only the symmetric part (A + Aᵀ)/2 is used).
 * Returns ascending eigenvalues and orthonormal eigenvectors (columns).
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): Eigh {
  checkSquare('symmetricEigen()', a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (!Number.isFinite(a[i * n + j] + a[j * n + i])) throw invalidArgument(`symmetricEigen(): the matrix has a non-finite entry at (${i}, ${j})`, { parameter: 'symmetricEigen() a', expected: 'finite entries', received: `${a[i * n + j]} at (${i}, ${j})` });
    }
  }
  return tidy(() => {
    const { eigenvalues, eigenvectors } = eigh(symmetricPart(matrix(a, n, n)));
    return { values: eigenvalues.data() as Float64Array, vectors: eigenvectors.contiguous().data() as Float64Array };
  });
}

/** The symmetric PSD square root of a symmetric matrix (negative eigenvalues, rounding noise, clamp to 0). */
export function sqrtmPsd(a: ArrayLike<number>, n: number): Float64Array {
  checkSquare('sqrtmPsd()', a, n);
  return tidy(() => symmetricPart(psdSqrt(symmetricPart(matrix(a, n, n)))).contiguous().data() as Float64Array);
}

/**
 * tr(sqrtm(A·B)) for symmetric PSD A and B, computed stably: A·B is similar to the symmetric
 * PSD matrix M = A^½·B·A^½ (A^½ from a symmetric eigendecomposition), so the eigenvalues of
 * sqrtm(A·B) are the square roots of M's; the trace is their sum (tiny negative eigenvalues,
 * rounding noise of a singular product, count as 0).
 */
export function traceSqrtProduct(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  checkSquare('traceSqrtProduct()', a, n);
  checkSquare('traceSqrtProduct()', b, n);
  return tidy(() => {
    const s = psdSqrt(symmetricPart(matrix(a, n, n)));
    const m = symmetricPart(s.matmul(matrix(b, n, n)).matmul(s));
    return eigh(m).eigenvalues.clamp(0).sqrt().sum().item();
  });
}

/** Column means and the unbiased (n − 1) covariance of a row-major n×d matrix. */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  if (x.length !== n * d) throw invalidArgument(`meanCov(): expected ${n * d} values (${n}×${d}) but received ${x.length}`, { parameter: 'meanCov() x', expected: `${n * d} values`, received: `${x.length}` });
  if (n < 2) throw invalidArgument(`meanCov(): a covariance needs at least 2 samples, received ${n}`, { parameter: 'meanCov() n', expected: 'at least 2', received: `${n}` });
  return tidy(() => {
    const m = matrix(x, n, d);
    const mean = m.mean(0);
    const c = m.sub(mean);
    // Cᵀ·C is symmetric only to rounding: the symmetric part makes it exact, as a covariance is
    const cov = symmetricPart(c.t().matmul(c)).div(n - 1);
    return { mean: mean.data() as Float64Array, cov: cov.contiguous().data() as Float64Array };
  });
}
