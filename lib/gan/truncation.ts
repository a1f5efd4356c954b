// The truncation trick at sampling time (Brock et al. 2018, BigGAN §3.1): noise drawn from a
// normal truncated to [-ψ, ψ] trades variety for fidelity. The generator was trained on
// N(0, 1), so truncation is for sampling and evaluation only, never for training.
//
// Entries with |z| > ψ are redrawn (rejection sampling, as BigGAN's truncated_z_sample and
// scipy's truncnorm do in effect): what is left is exactly N(0, 1) conditioned on |z| ≤ ψ.
// Each round redraws the whole tensor and keeps only what it needs, so a round costs one
// randn of the full size; the expected number of rounds grows like
// log(numel) / -log(1 - P(|z| ≤ ψ)), a handful for ψ ≥ 0.5 and a few hundred for ψ = 0.05.
import { checkOptionKeys, describe, invalidArgument, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { randn, where } from '../tensor/creation';
import { noGrad } from '../autograd';
import type { Device, DType } from '../tensor/dtype';

export interface TruncatedNoiseOptions {
  dtype?: DType;
  device?: Device;
  /** give up after this many redraw rounds (default 10,000); a clear error rather than a hang */
  maxRounds?: number;
}

/**
 * Standard-normal noise of `shape` truncated to [-psi, psi] (every |z| ≤ psi), by redrawing
 * the entries outside. psi = Infinity gives plain randn. Uses torch's global generator (so
 * manualSeed() makes it reproducible). Returns a tensor that does not require grad.
 */
export function truncatedNoise(shape: number[], psi: number, options: TruncatedNoiseOptions = {}): Tensor {
  const at = 'truncatedNoise()';
  checkOptionKeys(at, options, ['dtype', 'device', 'maxRounds']);
  if (!Array.isArray(shape) || !shape.every((d) => is.nonNegativeInteger(d))) {
    throw invalidParameterError('shape', 'an array of non-negative integers', shape);
  }
  if (!is.number(psi) || !(psi > 0)) throw invalidParameterError('psi', 'a positive number (the truncation threshold)', psi);
  const maxRounds = options.maxRounds ?? 10_000;
  if (!is.positiveInteger(maxRounds)) throw invalidParameterError(`${at} options.maxRounds`, 'a positive integer', maxRounds);
  const fo = { dtype: options.dtype, device: options.device };
  return noGrad(() => {
    let z = randn(shape, fo);
    if (!Number.isFinite(psi)) return z;
    for (let round = 0; ; round++) {
      const a = z.abs();
      const outside = a.gt(psi);
      const anyLeft = outside.any();
      const left = anyLeft.item() !== 0;
      anyLeft.dispose();
      a.dispose();
      if (!left) {
        outside.dispose();
        return z;
      }
      if (round >= maxRounds) {
        outside.dispose();
        z.dispose();
        throw invalidArgument(`${at}: entries outside [-${psi}, ${psi}] remained after ${maxRounds} redraw rounds; psi is too small for rejection sampling (raise options.maxRounds)`, {
          parameter: `${at} psi`, expected: `a psi that ${maxRounds} redraw rounds reach`, received: describe(psi),
        });
      }
      const fresh = randn(shape, fo);
      const next = where(outside, fresh, z);
      for (const t of [outside, fresh, z]) t.dispose();
      z = next;
    }
  });
}

/** The variance of N(0, 1) truncated to [-psi, psi]: 1 − 2ψφ(ψ) / (2Φ(ψ) − 1). */
export function truncatedNormalVariance(psi: number): number {
  if (!is.number(psi) || !(psi > 0)) throw invalidParameterError('psi', 'a positive number', psi);
  if (!Number.isFinite(psi)) return 1;
  const phi = Math.exp(-0.5 * psi * psi) / Math.sqrt(2 * Math.PI);
  const mass = erf(psi / Math.SQRT2); // 2Φ(ψ) − 1
  return 1 - (2 * psi * phi) / mass;
}

// erf by its Maclaurin series (|x| < 3) or continued fraction of erfc (beyond): ~1e-15 relative.
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
