// Total variation distance between the real and generated feature distributions, estimated
// through ONE shared low-dimensional projection and two kernel density estimates compared on
// the SAME points:
//
//   1. PCA fitted on the REAL features only (mean, unbiased covariance, top-k eigenvectors from
//      the symmetric eigendecomposition, torch.linalg.eigh; each component's sign fixed so its
//      largest |entry| is positive). Real and generated features are both projected with it.
//   2. A Gaussian KDE for each projected set, with Scott's rule as scipy.stats.gaussian_kde:
//      kernel covariance H = Cov(points) · f², f = n^(−1/(k+4)), density
//      p(x) = (1/n) Σᵢ N(x; xᵢ, H).
//   3. TVD = ½ ∫ |p − q| dx, evaluated
//      'grid' (default for k ≤ 2): a G^k grid spanning both projected sets plus `margin` (4)
//        kernel standard deviations (the larger of the two KDEs') on each side, with G chosen
//        so the spacing is at most half the narrower kernel's standard deviation (G between
//        64 and 256 in 2-D, 256 and 4096 in 1-D; or given), TVD ≈ ½ Σ_g |p(g)/P − q(g)/Q|
//        with P = Σ_g p(g), Q = Σ_g q(g): the Riemann sum of ½∫|p − q| with each density
//        normalised on the grid (so 0 ≤ TVD ≤ 1 always; for Gaussian kernels at that spacing
//        P·ΔA and Q·ΔA are 1 to many digits, and they are returned as a check).
//      'mc' (default for k > 2): Monte Carlo over the mixture m = (p + q)/2 — M points, half
//        drawn from each KDE (a random data point plus kernel noise), seeded —
//        TVD = E_m[ |p − q| / (p + q) ], an unbiased estimate of the same integral.
//
// (Seed 003's recipe fitted a separate scaler, PCA and KDE to each set and compared each
// density only at its own samples: p at p's samples against q at q's samples, which is not
// ½∫|p − q| of anything. Here both densities live in one coordinate system and are compared
// point by point.)
import { Rng } from '../data/random';
import { expectedError, invalidArgument, invalidParameterError, is } from '../errors';
import { asMatrix, checkFinite, Features, FeatureMatrix } from './matrix';
import { meanCov, symmetricEigen } from './linalg';

export interface Pca {
  mean: Float64Array;
  /** k rows of d: the principal directions, largest variance first */
  components: Float64Array;
  k: number;
  d: number;
  /** the variance along each component */
  variances: Float64Array;
  /** the fraction of the total variance each component explains */
  explained: Float64Array;
}

/** PCA of a feature set (unbiased covariance, symmetric eigendecomposition), k components. */
export function fitPca(features: Features, k: number): Pca {
  const m = asMatrix(features, 'features');
  checkFinite(m, 'features');
  if (!is.positiveInteger(k) || k > m.d) throw invalidParameterError('k', `a positive integer up to the feature width ${m.d}`, k);
  const { mean, cov } = meanCov(m.data, m.n, m.d);
  const e = symmetricEigen(cov, m.d);
  const d = m.d;
  let total = 0;
  for (const v of e.values) total += Math.max(v, 0);
  const components = new Float64Array(k * d);
  const variances = new Float64Array(k);
  const explained = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const col = d - 1 - c; // values ascend
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(e.vectors[j * d + col]) > Math.abs(big)) big = e.vectors[j * d + col];
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) components[c * d + j] = sign * e.vectors[j * d + col];
    variances[c] = e.values[col];
    explained[c] = total > 0 ? e.values[col] / total : 0;
  }
  return { mean, components, k, d, variances, explained };
}

/** Projects rows onto the PCA components: [n, k]. */
export function pcaProject(pca: Pca, features: Features): FeatureMatrix {
  const m = asMatrix(features, 'features');
  if (m.d !== pca.d) {
    throw invalidArgument(`pcaProject(): features have ${m.d} columns, the PCA was fitted on ${pca.d}`, { parameter: 'pcaProject() features', expected: `${pca.d} columns (the PCA's)`, received: `${m.d} columns` });
  }
  const { k, d } = pca;
  const out = new Float64Array(m.n * k);
  for (let i = 0; i < m.n; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (m.data[i * d + j] - pca.mean[j]) * pca.components[c * d + j];
      out[i * k + c] = s;
    }
  }
  return { data: out, n: m.n, d: k };
}

/** A Gaussian KDE with Scott's bandwidth (scipy.stats.gaussian_kde's default). */
export class GaussianKde {
  readonly n: number;
  readonly k: number;
  /** Scott's factor n^(−1/(k+4)) */
  readonly factor: number;
  /** kernel covariance: the data covariance × factor² (k×k) */
  readonly cov: Float64Array;
  /** W with Wᵀ W = cov⁻¹ (k×k): whitened coordinates are W x */
  private readonly whiten: Float64Array;
  /** L with L Lᵀ = cov, to sample kernel noise */
  private readonly root: Float64Array;
  private readonly logNorm: number;
  /** whitened points sorted along the first axis, and that axis alone */
  private readonly sorted: Float64Array;
  private readonly firstAxis: Float64Array;
  readonly points: FeatureMatrix;

  constructor(points: FeatureMatrix) {
    const { n, d: k } = points;
    if (n < 2) throw invalidArgument('GaussianKde: needs at least 2 points', { parameter: 'GaussianKde points', expected: 'at least 2 points', received: `${n}` });
    this.n = n;
    this.k = k;
    this.points = points;
    this.factor = Math.pow(n, -1 / (k + 4));
    const { cov: dataCov } = meanCov(points.data, n, k);
    this.cov = dataCov.map((v) => v * this.factor * this.factor);
    const e = symmetricEigen(this.cov, k);
    const maxEig = Math.max(...e.values);
    if (!(e.values[0] > 1e-12 * Math.max(maxEig, 1e-300))) {
      const eig = Array.from(e.values).map((v) => v.toExponential(2)).join(', ');
      throw invalidArgument(`GaussianKde: the ${n} points have a singular covariance in ${k} dimensions (eigenvalues ${eig}); ` +
        'the generated samples may have collapsed to a point or a line', { parameter: 'GaussianKde points', expected: 'points with a non-singular covariance', received: `covariance eigenvalues ${eig}` });
    }
    this.whiten = new Float64Array(k * k);
    this.root = new Float64Array(k * k);
    let logDet = 0;
    for (let c = 0; c < k; c++) {
      const l = e.values[c];
      logDet += Math.log(l);
      for (let j = 0; j < k; j++) {
        this.whiten[c * k + j] = e.vectors[j * k + c] / Math.sqrt(l);
        this.root[j * k + c] = e.vectors[j * k + c] * Math.sqrt(l);
      }
    }
    this.logNorm = -Math.log(n) - 0.5 * k * Math.log(2 * Math.PI) - 0.5 * logDet;
    const white = this.applyWhiten(points.data, n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => white[a * k] - white[b * k]);
    this.sorted = new Float64Array(n * k);
    this.firstAxis = new Float64Array(n);
    order.forEach((src, i) => {
      for (let c = 0; c < k; c++) this.sorted[i * k + c] = white[src * k + c];
      this.firstAxis[i] = white[src * k];
    });
  }

  private applyWhiten(x: ArrayLike<number>, m: number): Float64Array {
    const k = this.k;
    const out = new Float64Array(m * k);
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += this.whiten[c * k + j] * x[i * k + j];
        out[i * k + c] = s;
      }
    }
    return out;
  }

  /** Kernel standard deviation along each axis: sqrt(diag(cov)). */
  get bandwidths(): number[] {
    return Array.from({ length: this.k }, (_, j) => Math.sqrt(this.cov[j * this.k + j]));
  }

  /**
   * The density at m query points (row-major m×k). In whitened coordinates each kernel is
   * exp(−½|q − p|²); kernels farther than √(2·40) (e^−40 ≈ 4e−18 of a kernel's peak) are skipped,
   * found by a binary search on the points sorted along the first whitened axis.
   */
  evaluate(query: ArrayLike<number>, m: number): Float64Array {
    if (query.length !== m * this.k) throw expectedError('GaussianKde.evaluate() query', `${m * this.k} values (${m}×${this.k})`, `${query.length}`);
    const out = new Float64Array(m);
    const qw = this.applyWhiten(query, m);
    const { n, k } = this;
    const P = this.sorted;
    const first = this.firstAxis;
    const cut = 80;
    const r = Math.sqrt(cut);
    const norm = Math.exp(this.logNorm);
    for (let i = 0; i < m; i++) {
      const q0 = qw[i * k];
      // first point with first ≥ q0 − r
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (first[mid] < q0 - r) lo = mid + 1;
        else hi = mid;
      }
      let s = 0;
      if (k === 2) {
        const q1 = qw[i * 2 + 1];
        for (let j = lo; j < n; j++) {
          const d0 = P[j * 2] - q0;
          if (d0 > r) break;
          const d1 = P[j * 2 + 1] - q1;
          const d2 = d0 * d0 + d1 * d1;
          if (d2 < cut) s += Math.exp(-0.5 * d2);
        }
      } else {
        for (let j = lo; j < n; j++) {
          const d0 = P[j * k] - q0;
          if (d0 > r) break;
          let d2 = d0 * d0;
          for (let c = 1; c < k && d2 < cut; c++) {
            const dc = P[j * k + c] - qw[i * k + c];
            d2 += dc * dc;
          }
          if (d2 < cut) s += Math.exp(-0.5 * d2);
        }
      }
      out[i] = s * norm;
    }
    return out;
  }

  /** m points drawn from the KDE (a data point chosen uniformly plus N(0, cov) noise). */
  sample(m: number, rng: Rng): Float64Array {
    const { k, n } = this;
    const out = new Float64Array(m * k);
    const z = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      const src = rng.int(n);
      for (let j = 0; j < k; j++) z[j] = rng.normal();
      for (let j = 0; j < k; j++) {
        let s = this.points.data[src * k + j];
        for (let c = 0; c < k; c++) s += this.root[j * k + c] * z[c];
        out[i * k + j] = s;
      }
    }
    return out;
  }
}

export interface TvdOptions {
  /** PCA components to project onto (default 2) */
  dims?: number;
  /** 'grid' (default for dims ≤ 2) or 'mc' (default for dims > 2) */
  method?: 'grid' | 'mc';
  /**
   * grid points per axis; default: enough for a spacing of at most half the narrower KDE's
   * kernel standard deviation on each axis, at least 64 (256 in 1-D), at most 256 (4096 in 1-D)
   */
  gridSize?: number;
  /** grid margin beyond the data, in kernel standard deviations (default 4) */
  margin?: number;
  /** Monte Carlo points (default 20000) */
  samples?: number;
  /** Monte Carlo seed (default 0) */
  seed?: number;
  /** a PCA fitted beforehand on the real features (e.g. reused across evaluations) */
  pca?: Pca;
}

export interface TvdResult {
  tvd: number;
  dims: number;
  method: 'grid' | 'mc';
  /** Scott factors and per-axis kernel standard deviations of the two KDEs */
  bandwidth: { real: number[]; fake: number[]; factorReal: number; factorFake: number };
  /** fraction of the real features' variance the projection keeps */
  explainedVariance: number;
  /** grid: the integrals of p and q over the grid (≈ 1; far from 1 means the grid is too coarse) */
  mass?: { real: number; fake: number };
  /** grid: points per axis and the axis ranges */
  grid?: { size: number; lo: number[]; hi: number[] };
  /** mc: points used */
  samples?: number;
  /** set when the grid masses are off by more than 2% */
  warning?: string;
}

/** Real/fake TVD through one PCA (fitted on real) and two Scott-bandwidth KDEs on shared points. */
export function totalVariationDistance(real: Features, fake: Features, options: TvdOptions = {}): TvdResult {
  const dims = options.pca?.k ?? options.dims ?? 2;
  if (!is.positiveInteger(dims)) throw invalidParameterError('options.dims', 'a positive integer', options.dims);
  const method = options.method ?? (dims <= 2 ? 'grid' : 'mc');
  if (method !== 'grid' && method !== 'mc') throw invalidParameterError('options.method', "'grid' or 'mc'", method);
  const R = asMatrix(real, 'real');
  const G = asMatrix(fake, 'fake');
  checkFinite(R, 'real');
  checkFinite(G, 'fake');
  const pca = options.pca ?? fitPca(R, dims);
  const pr = pcaProject(pca, R);
  const pg = pcaProject(pca, G);
  const kr = new GaussianKde(pr);
  const kg = new GaussianKde(pg);
  const base = {
    dims,
    method,
    bandwidth: { real: kr.bandwidths, fake: kg.bandwidths, factorReal: kr.factor, factorFake: kg.factor },
    explainedVariance: pca.explained.reduce((s, v) => s + v, 0),
  };
  if (method === 'grid') {
    const margin = options.margin ?? 4;
    if (!is.finite(margin) || margin < 0) throw invalidParameterError('options.margin', 'a non-negative number', margin);
    if (options.gridSize !== undefined && (!is.positiveInteger(options.gridSize) || options.gridSize < 2)) {
      throw invalidParameterError('options.gridSize', 'an integer of at least 2', options.gridSize);
    }
    const lo: number[] = [];
    const hi: number[] = [];
    let auto = 2;
    for (let j = 0; j < dims; j++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (const P of [pr, pg]) {
        for (let i = 0; i < P.n; i++) {
          const v = P.data[i * dims + j];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
      }
      const h = Math.max(kr.bandwidths[j], kg.bandwidths[j]);
      lo.push(mn - margin * h);
      hi.push(mx + margin * h);
      // spacing at most half the narrower kernel's standard deviation on this axis
      auto = Math.max(auto, Math.ceil((hi[j] - lo[j]) / (0.5 * Math.min(kr.bandwidths[j], kg.bandwidths[j]))) + 1);
    }
    const cap = dims === 1 ? 4096 : dims === 2 ? 256 : Math.max(2, Math.floor(Math.pow(1e6, 1 / dims)));
    const size = options.gridSize ?? Math.min(cap, Math.max(dims === 1 ? 256 : 64, auto));
    const total = Math.pow(size, dims);
    if (total > 4e6) {
      throw invalidArgument(`totalVariationDistance(): a ${size}^${dims} grid is too large (${total} points); use method 'mc' or fewer dims`, {
        parameter: 'totalVariationDistance() options', expected: 'a grid of at most 4e6 points', received: `${size}^${dims} = ${total} points`,
      });
    }
    const step = lo.map((l, j) => (hi[j] - l) / (size - 1));
    // grid points, axis 0 slowest (as numpy's meshgrid(..., indexing='ij') flattened)
    const pts = new Float64Array(total * dims);
    for (let g = 0; g < total; g++) {
      let r = g;
      for (let j = dims - 1; j >= 0; j--) {
        const ij = r % size;
        r = Math.floor(r / size);
        pts[g * dims + j] = lo[j] + ij * step[j];
      }
    }
    const p = kr.evaluate(pts, total);
    const q = kg.evaluate(pts, total);
    const cell = step.reduce((a, b) => a * b, 1);
    let mp = 0;
    let mq = 0;
    for (let g = 0; g < total; g++) {
      mp += p[g];
      mq += q[g];
    }
    // each density normalised by its grid mass: the TVD of the two discretised distributions,
    // so 0 ≤ TVD ≤ 1 even when a very narrow KDE is coarsely sampled
    let tv = 0;
    for (let g = 0; g < total; g++) tv += Math.abs(p[g] / mp - q[g] / mq);
    const mass = { real: mp * cell, fake: mq * cell };
    const res: TvdResult = { ...base, tvd: 0.5 * tv, mass, grid: { size, lo, hi } };
    if (Math.abs(mass.real - 1) > 0.02 || Math.abs(mass.fake - 1) > 0.02) {
      res.warning = `the grid holds ${mass.real.toFixed(3)} of the real density and ${mass.fake.toFixed(3)} of the generated one: raise gridSize or margin, or use method 'mc'`;
    }
    return res;
  }
  const samples = options.samples ?? 20000;
  if (!is.positiveInteger(samples) || samples < 2) throw invalidParameterError('options.samples', 'an integer of at least 2', samples);
  const rng = new Rng(options.seed ?? 0);
  const half = Math.floor(samples / 2);
  const pts = new Float64Array(samples * dims);
  pts.set(kr.sample(half, rng), 0);
  pts.set(kg.sample(samples - half, rng), half * dims);
  const p = kr.evaluate(pts, samples);
  const q = kg.evaluate(pts, samples);
  // stratified: E_m[f] = ½ E_p[f] + ½ E_q[f], each half averaged on its own
  const avg = (a: number, b: number) => {
    let s = 0;
    for (let i = a; i < b; i++) {
      const t = p[i] + q[i];
      if (t > 0) s += Math.abs(p[i] - q[i]) / t;
    }
    return s / (b - a);
  };
  return { ...base, tvd: 0.5 * avg(0, half) + 0.5 * avg(half, samples), samples };
}
