// Dense symmetric linear algebra in TypeScript, for the metrics (the native binding has no
// eigh/svd): a cyclic Jacobi eigendecomposition on Float64Array, and what FID, PCA and the
// KDE need from it. Matrices are row-major n×n Float64Arrays.
//
// Jacobi: each rotation zeroes one off-diagonal pair (p, q) of A ← JᵀAJ and accumulates
// V ← VJ; sweeps over all pairs repeat until the off-diagonal mass is below
// 1e-30 × ‖A‖²_F (relative), or a pair is negligible next to its diagonal. Jacobi is
// backward stable and accurate for small eigenvalues too; 128×128 converges in ~8-10 sweeps
// (tens of milliseconds).
import { describe, invalidArgument } from '../errors';

export interface Eigh {
  /** eigenvalues, ascending (as numpy.linalg.eigh) */
  values: Float64Array;
  /** eigenvectors as COLUMNS of a row-major n×n matrix: column j goes with values[j] */
  vectors: Float64Array;
  /** sweeps used */
  sweeps: number;
}

function checkSquare(where: string, a: ArrayLike<number>, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalidArgument(`${where}: expected a positive matrix size but received ${n}`, { parameter: `${where} n`, expected: 'a positive matrix size', received: describe(n) });
  if (a.length !== n * n) {
    throw invalidArgument(`${where}: expected ${n * n} values (an ${n}×${n} matrix) but received ${a.length}`, { parameter: `${where} a`, expected: `${n * n} values (an ${n}×${n} matrix)`, received: `${a.length}` });
  }
}

/**
 * Eigendecomposition of a real symmetric matrix (only the symmetric part (A + Aᵀ)/2 is used).
 * Returns ascending eigenvalues and orthonormal eigenvectors (columns).
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, options: { maxSweeps?: number } = {}): Eigh {
  checkSquare('symmetricEigen()', a, n);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = 0.5 * (a[i * n + j] + a[j * n + i]);
      if (!Number.isFinite(v)) {
        throw invalidArgument(`symmetricEigen(): the matrix has a non-finite entry at (${i}, ${j})`, { parameter: 'symmetricEigen() a', expected: 'finite entries', received: `${v} at (${i}, ${j})` });
      }
      A[i * n + j] = v;
    }
  }
  // Vt holds the eigenvectors as ROWS while iterating (contiguous updates)
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Vt[i * n + i] = 1;
  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += A[i] * A[i];
  const maxSweeps = options.maxSweeps ?? 100;
  let sweeps = 0;
  if (frob > 0) {
    for (; sweeps < maxSweeps; sweeps++) {
      let off = 0;
      for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
      if (off <= 1e-30 * frob) break;
      for (let p = 0; p < n - 1; p++) {
        const rp = p * n;
        for (let q = p + 1; q < n; q++) {
          const rq = q * n;
          const apq = A[rp + q];
          if (apq === 0) continue;
          const app = A[rp + p];
          const aqq = A[rq + q];
          // negligible next to both diagonal entries (in floating point): zero it
          if (sweeps > 3 && Math.abs(app) + 1e3 * Math.abs(apq) === Math.abs(app) && Math.abs(aqq) + 1e3 * Math.abs(apq) === Math.abs(aqq)) {
            A[rp + q] = A[rq + p] = 0;
            continue;
          }
          // the rotation J (J_pp = J_qq = c, J_pq = s, J_qp = −s) with (JᵀAJ)_pq = 0
          const tau = (aqq - app) / (2 * apq);
          const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
          const c = 1 / Math.sqrt(1 + t * t);
          const s = t * c;
          // A ← JᵀAJ, keeping A symmetric: rows/columns p and q change
          for (let k = 0; k < n; k++) {
            if (k === p || k === q) continue;
            const akp = A[rp + k];
            const akq = A[rq + k];
            const np = c * akp - s * akq;
            const nq = s * akp + c * akq;
            A[rp + k] = A[k * n + p] = np;
            A[rq + k] = A[k * n + q] = nq;
          }
          A[rp + p] = app - t * apq;
          A[rq + q] = aqq + t * apq;
          A[rp + q] = A[rq + p] = 0;
          // V ← VJ (rows p, q of Vᵀ)
          for (let k = 0; k < n; k++) {
            const vp = Vt[rp + k];
            const vq = Vt[rq + k];
            Vt[rp + k] = c * vp - s * vq;
            Vt[rq + k] = s * vp + c * vq;
          }
        }
      }
    }
    if (sweeps === maxSweeps) {
      throw invalidArgument(`symmetricEigen(): no convergence in ${maxSweeps} sweeps`, { parameter: 'symmetricEigen() options.maxSweeps', expected: 'enough sweeps to converge', received: `${maxSweeps}` });
    }
  }
  // sort ascending
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[i * n + i] - A[j * n + j]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, j) => {
    values[j] = A[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + j] = Vt[src * n + k];
  });
  return { values, vectors, sweeps };
}

/** C = A·B for row-major n×m and m×p matrices. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, p: number): Float64Array {
  const c = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const ci = i * p;
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const bk = k * p;
      for (let j = 0; j < p; j++) c[ci + j] += aik * b[bk + j];
    }
  }
  return c;
}

/** V·diag(f(λ))·Vᵀ from an eigendecomposition: a function of a symmetric matrix. */
export function fromEigen(e: Eigh, f: (lambda: number) => number): Float64Array {
  const n = e.values.length;
  const fl = e.values.map(f);
  const out = new Float64Array(n * n);
  const V = e.vectors;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k] * fl[k] * V[j * n + k];
      out[i * n + j] = out[j * n + i] = s;
    }
  }
  return out;
}

/** The symmetric PSD square root of a symmetric matrix (negative eigenvalues, rounding noise, clamp to 0). */
export function sqrtmPsd(a: ArrayLike<number>, n: number): Float64Array {
  return fromEigen(symmetricEigen(a, n), (l) => Math.sqrt(Math.max(l, 0)));
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
  const s = sqrtmPsd(a, n);
  const m = matmul(matmul(s, b, n, n, n), s, n, n, n);
  const e = symmetricEigen(m, n);
  let t = 0;
  for (const l of e.values) t += Math.sqrt(Math.max(l, 0));
  return t;
}

/** Column means and the unbiased (n − 1) covariance of a row-major n×d matrix. */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  if (x.length !== n * d) throw invalidArgument(`meanCov(): expected ${n * d} values (${n}×${d}) but received ${x.length}`, { parameter: 'meanCov() x', expected: `${n * d} values (${n}×${d})`, received: `${x.length}` });
  if (n < 2) throw invalidArgument(`meanCov(): a covariance needs at least 2 samples, received ${n}`, { parameter: 'meanCov() n', expected: 'at least 2 samples', received: `${n}` });
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const o = a * d;
      for (let b = a; b < d; b++) cov[o + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b] / (n - 1);
      cov[a * d + b] = cov[b * d + a] = v;
    }
  }
  return { mean, cov };
}
