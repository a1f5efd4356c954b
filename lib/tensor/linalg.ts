// Linear algebra on tensors (torch.linalg): the symmetric eigendecomposition.
import { N } from '../native';
import { Tensor } from './tensor';

export interface EighResult {
  /** the eigenvalues [..., n], ascending */
  eigenvalues: Tensor;
  /** the orthonormal eigenvectors [..., n, n] as columns: column j goes with eigenvalues[..., j] */
  eigenvectors: Tensor;
}

/**
 * The eigendecomposition A = V·diag(w)·Vᵀ of symmetric float32/float64 matrices [..., n, n], as
 * torch.linalg.eigh: only the lower (uplo 'L', the default) or upper ('U') triangle is read.
 */
export function eigh(input: Tensor, uplo: 'L' | 'U' = 'L'): EighResult {
  // a wrong value (a JS caller's) passes through as it is, for the binding's error to name it
  const [w, v] = N.linalgEigh(input instanceof Tensor ? input._h : (input as never), uplo);
  return { eigenvalues: new Tensor(w), eigenvectors: new Tensor(v) };
}
