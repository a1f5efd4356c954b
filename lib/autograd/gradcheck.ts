// Numerical gradient checks (torch.autograd.gradcheck / gradgradcheck): autograd's
// derivatives against central finite differences, in float64.
//
// Instead of building full Jacobians, each probe draws random projections: v for
// every output and u for one differentiable input at a time, and compares
//   analytic:  <autograd.grad(f, x, gradOutputs = v), u>            (= vᵀ J u)
//   numerical: (<v, f(x + eps·u)> - <v, f(x - eps·u)>) / (2·eps)
// For random Gaussian v and u a wrong Jacobian shows up with probability 1, and
// the cost is one backward and two forwards per input per probe.
import { invalidArgument, invalidParameterError, is, TorchError, unknownOptionError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { tensor, zerosLike } from '../tensor/creation';
import { grad, isGradEnabled, setGradEnabled } from './index';

export interface GradcheckOptions {
  /** finite-difference step (default 1e-6) */
  eps?: number;
  /** absolute tolerance (default 1e-5) */
  atol?: number;
  /** relative tolerance, relative to |numerical| (default 1e-3) */
  rtol?: number;
  /** random (v, u) probes per input (default 4) */
  nProbes?: number;
  /** seed of the projection vectors (default 0); does not touch torch's generator */
  seed?: number;
  /** throw a TorchError (code ERR_GRADCHECK) on a mismatch (default true); false: return false instead */
  raiseException?: boolean;
}

const OPTION_KEYS = ['eps', 'atol', 'rtol', 'nProbes', 'seed', 'raiseException'];

type Fn = (...inputs: Tensor[]) => Tensor | Tensor[];

// mulberry32 + Box-Muller: deterministic projections, independent of torch's RNG.
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const th = 2 * Math.PI * uniform();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

function randomLike(t: Tensor, rnd: () => number): Tensor {
  const n = t.numel();
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = rnd();
  return tensor(data, t.shape, { dtype: t.dtype });
}

function asList(r: Tensor | Tensor[], where: string): Tensor[] {
  const list = Array.isArray(r) ? r : [r];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw invalidParameterError(`${where} output[${i}]`, 'a Tensor', t);
  });
  return list;
}

const isFloat = (t: Tensor): boolean => t.dtype === 'float64' || t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16';

/** <a, b> over all elements, as a JS number. */
const dot = (a: Tensor, b: Tensor): number => a.mul(b).sum().item();

function checkArgs(where: string, fn: unknown, inputs: unknown, o: GradcheckOptions): void {
  if (typeof fn !== 'function') throw invalidParameterError(`${where} fn`, 'a function', fn);
  if (!Array.isArray(inputs)) throw invalidParameterError(`${where} inputs`, 'an array of Tensors', inputs);
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw invalidParameterError(`${where} inputs[${i}]`, 'a Tensor', t);
    if (t.requiresGrad && t.dtype !== 'float64') {
      throw invalidParameterError(`${where} inputs[${i}]`, 'a float64 tensor (finite differences need double precision)', t);
    }
  });
  if (!inputs.some((t: Tensor) => t.requiresGrad)) {
    throw invalidArgument(`${where}: no input requires grad; set requiresGrad on the inputs to check`, {
      parameter: `${where} inputs`, expected: 'at least one Tensor that requires grad', received: 'none that requires grad',
    });
  }
  const { eps, atol, rtol, nProbes, seed, raiseException } = o;
  if (eps !== undefined && !(is.finite(eps) && eps > 0)) throw invalidParameterError(`${where} options.eps`, 'a positive number', eps);
  if (atol !== undefined && !(is.finite(atol) && atol >= 0)) throw invalidParameterError(`${where} options.atol`, 'a non-negative number', atol);
  if (rtol !== undefined && !(is.finite(rtol) && rtol >= 0)) throw invalidParameterError(`${where} options.rtol`, 'a non-negative number', rtol);
  if (nProbes !== undefined && !is.positiveInteger(nProbes)) throw invalidParameterError(`${where} options.nProbes`, 'a positive integer', nProbes);
  if (seed !== undefined && !is.nonNegativeInteger(seed)) throw invalidParameterError(`${where} options.seed`, 'a non-negative integer', seed);
  if (raiseException !== undefined && !is.bool(raiseException)) throw invalidParameterError(`${where} options.raiseException`, 'a boolean', raiseException);
}

/** <v, f(inputs with inputs[i] replaced by x + step·u)>, summed over the float outputs. */
function projectedValue(fn: Fn, inputs: Tensor[], i: number, u: Tensor, step: number, vs: (Tensor | null)[]): number {
  return tidy(() => {
    const shifted = inputs.map((t, k) => {
      if (k !== i) return t;
      const moved = withoutGrad(() => t.detach().add(u, step));
      // a function that differentiates internally (gradgradcheck) needs its inputs to require grad
      return moved.requiresGrad_(t.requiresGrad);
    });
    const outs = withGrad(() => asList(fn(...shifted), 'fn'));
    let s = 0;
    outs.forEach((o, j) => {
      const v = vs[j];
      if (v) s += withoutGrad(() => dot(o.detach(), v));
    });
    return s;
  });
}

function withMode<T>(enabled: boolean, f: () => T): T {
  const prev = isGradEnabled();
  setGradEnabled(enabled);
  try {
    return f();
  } finally {
    setGradEnabled(prev);
  }
}
const withGrad = <T>(f: () => T): T => withMode(true, f);
const withoutGrad = <T>(f: () => T): T => withMode(false, f);

/**
 * Checks fn's gradients with respect to every input that requires grad against
 * central finite differences. Inputs that require grad must be float64.
 * Returns true; on a mismatch throws a TorchError (code ERR_GRADCHECK) naming the input (or
 * returns false with raiseException: false).
 */
export function gradcheck(fn: Fn, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  return check('gradcheck()', fn, inputs, options);
}

function check(where: string, fn: Fn, inputs: Tensor[], options: GradcheckOptions): boolean {
  if (!is.plainObject(options as unknown)) throw invalidParameterError(`${where} options`, 'a plain object', options);
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) throw unknownOptionError(where, k, OPTION_KEYS);
  }
  checkArgs(where, fn, inputs, options);
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const nProbes = options.nProbes ?? 4;
  const rnd = gaussian((options.seed ?? 0) + 0x9e3779b9);
  const diff = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);

  const failure = tidy(() => {
    for (let p = 0; p < nProbes; p++) {
      const msg = tidy(() => {
        const outs = withGrad(() => asList(fn(...inputs), 'fn'));
        // one projection per floating output; integer outputs have no gradient
        const vs = outs.map((o) => (isFloat(o) ? randomLike(o, rnd) : null));
        const active = outs.map((o, j) => (vs[j] && o.requiresGrad ? j : -1)).filter((j) => j >= 0);
        const grads: (Tensor | null)[] = active.length
          ? grad(active.map((j) => outs[j]), diff.map((i) => inputs[i]), { gradOutputs: active.map((j) => vs[j]), allowUnused: true })
          : diff.map(() => null);
        for (const [k, i] of diff.entries()) {
          const u = randomLike(inputs[i], rnd);
          const g = grads[k];
          const analytic = g ? withoutGrad(() => dot(g, u)) : 0;
          const plus = projectedValue(fn, inputs, i, u, eps, vs);
          const minus = projectedValue(fn, inputs, i, u, -eps, vs);
          const numerical = (plus - minus) / (2 * eps);
          const err = Math.abs(analytic - numerical);
          const tol = atol + rtol * Math.abs(numerical);
          if (!(err <= tol)) {
            return (
              `${where}: the gradient with respect to inputs[${i}] (shape [${inputs[i].shape}]) disagrees with finite differences ` +
              `(probe ${p}): analytic vᵀJu = ${analytic}, numerical = ${numerical}, |difference| = ${err} > atol + rtol·|numerical| = ${tol}` +
              (g ? '' : ' (autograd found no path from the outputs to this input)')
            );
          }
        }
        return null;
      });
      if (msg) return msg;
    }
    return null;
  });
  if (failure === null) return true;
  if (options.raiseException === false) return false;
  throw new TorchError(failure, { code: 'ERR_GRADCHECK' });
}

/**
 * Checks second derivatives: gradcheck of (inputs, gradOutputs) ↦ autograd.grad(fn(inputs),
 * inputs, gradOutputs, {createGraph: true}), with random float64 gradOutputs that
 * themselves require grad (as torch.autograd.gradgradcheck).
 */
export function gradgradcheck(fn: Fn, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const where = 'gradgradcheck()';
  checkArgs(where, fn, inputs, {});
  const diff = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  const rnd = gaussian((options.seed ?? 0) + 0x7f4a7c15);
  // which outputs are differentiable, and random gradOutputs for them (kept outside any scope of fn)
  const probe = withGrad(() => tidy(() => asList(fn(...inputs), 'fn').map((o) => ({ diff: isFloat(o) && o.requiresGrad, shape: o.shape, dtype: o.dtype }))));
  const active = probe.map((o, j) => (o.diff ? j : -1)).filter((j) => j >= 0);
  if (active.length === 0) throw invalidArgument(`${where}: no output of fn requires grad`, { parameter: `${where} fn`, expected: 'a function with an output that requires grad', received: 'none that does' });
  const gradOutputs = active.map((j) => {
    const n = probe[j].shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let k = 0; k < n; k++) data[k] = rnd();
    return tensor(data, probe[j].shape, { dtype: 'float64', requiresGrad: true });
  });
  const n = inputs.length;
  const first = (...all: Tensor[]): Tensor[] => {
    const xs = all.slice(0, n);
    const vs = all.slice(n);
    const outs = asList(fn(...xs), 'fn');
    const gs = grad(active.map((j) => outs[j]), diff.map((i) => xs[i]), { gradOutputs: vs, createGraph: true, allowUnused: true });
    return gs.map((g, k) => g ?? zerosLike(xs[diff[k]]));
  };
  try {
    return check(where, first, [...inputs, ...gradOutputs], options);
  } finally {
    for (const v of gradOutputs) v.dispose();
  }
}
