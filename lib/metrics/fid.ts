// Fréchet distance between two feature sets (FID when the features are Inception's; here the
// metrics classifier's penultimate layer):
//
//   d² = ‖μ₁ − μ₂‖² + tr(C₁) + tr(C₂) − 2·tr(sqrtm(C₁·C₂))
//
// with sample means μ and unbiased (n − 1) covariances C, all in float64. The square root of
// the non-symmetric product C₁·C₂ is never formed: C₁·C₂ is similar to the symmetric PSD
// M = C₁^½·C₂·C₁^½, so tr(sqrtm(C₁C₂)) = Σ √λᵢ(M), with C₁^½ and λ(M) from libtorch's
// symmetric eigendecomposition (torch.linalg.eigh, in ./linalg). This is exact for PSD inputs (no
// complex parts to discard), unlike the general sqrtm route (scipy.linalg.sqrtm's Schur method).
import { asMatrix, checkFinite, differentWidths, Features } from './matrix';
import { meanCov, traceSqrtProduct } from './linalg';

export interface GaussianStats {
  mean: Float64Array;
  cov: Float64Array;
  n: number;
  d: number;
}

/** Mean and unbiased covariance of a feature set (reusable: e.g. the real data's, once). */
export function gaussianStats(features: Features, name = 'features'): GaussianStats {
  const m = asMatrix(features, name);
  checkFinite(m, name);
  const { mean, cov } = meanCov(m.data, m.n, m.d);
  return { mean, cov, n: m.n, d: m.d };
}

/** The Fréchet distance between two Gaussians (mean, covariance). */
export function frechetDistanceFromStats(a: GaussianStats, b: GaussianStats): number {
  if (a.d !== b.d) throw differentWidths('frechetDistance()', a.d, b.d);
  const d = a.d;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  let tr = 0;
  for (let i = 0; i < d; i++) tr += a.cov[i * d + i] + b.cov[i * d + i];
  const cross = traceSqrtProduct(a.cov, b.cov, d);
  // rounding can take an exact 0 (identical sets) a hair below zero
  return Math.max(0, meanTerm + tr - 2 * cross);
}

/**
 * Fréchet distance between two feature sets [n₁, d] and [n₂, d] (Tensors, arrays of rows
 * or {data, n, d}); each needs at least 2 rows. 0 for identical sets.
 */
export function frechetDistance(x: Features | GaussianStats, y: Features | GaussianStats): number {
  const sx = isStats(x) ? x : gaussianStats(x, 'x');
  const sy = isStats(y) ? y : gaussianStats(y, 'y');
  return frechetDistanceFromStats(sx, sy);
}

function isStats(v: unknown): v is GaussianStats {
  return v !== null && typeof v === 'object' && (v as GaussianStats).cov instanceof Float64Array && (v as GaussianStats).mean instanceof Float64Array;
}
