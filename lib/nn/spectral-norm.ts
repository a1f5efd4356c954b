// Spectral normalisation (Miyato et al. 2018), as torch.nn.utils.spectral_norm has it: the
// layer's weight W is replaced by W / σ(W), σ estimated by power iteration on W reshaped to a
// matrix [W.size(dim), -1]. Like PyTorch, it re-registers the parameter as `weight_orig` and
// adds the vectors as buffers `weight_u` [rows] and `weight_v` [cols], so a state dict saved here
// loads into a PyTorch module with spectral_norm applied, and back.
//
// Each forward in training mode first runs nPowerIterations steps
//   v ← normalize(Wᵀu),  u ← normalize(W v)      (normalize(x) = x / max(‖x‖, eps))
// without recording a graph, writes u and v back into the buffers, then uses
// σ = uᵀ W v with u and v constants, so the gradient reaches W through σ as in PyTorch. In
// evaluation mode u and v are used as they are (not updated).
//
// How it hooks in: PyTorch sets a forward pre-hook; here the module's forward is wrapped on the
// instance, and `module.weight` (an instance accessor shadowing the layer's getter) returns the
// normalised weight while forward runs. The wrapper and accessor use `this`, so a copy of the
// module made by cloneModule() normalises its own weights. Initialise weights BEFORE applying
// spectralNorm (dcganInit and friends look for `weight`, which is `weight_orig` afterwards).
import { checkOptionKeys, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { empty } from '../tensor/creation';
import { noGrad } from '../autograd';
import { AnyModule, Module } from './module';
import { ConvTranspose2d } from './layers/conv';

export interface SpectralNormOptions {
  /** the parameter to normalise (default 'weight') */
  name?: string;
  /** power-iteration steps per training-mode forward (default 1) */
  nPowerIterations?: number;
  /** floor of the norm in normalize() (default 1e-12) */
  eps?: number;
  /** the output-feature dimension, moved to the front before reshaping (default 0; 1 for ConvTranspose2d, as PyTorch) */
  dim?: number;
}

interface SnConfig {
  name: string;
  nPowerIterations: number;
  eps: number;
  dim: number;
}

/** What spectralNorm() adds to a module instance (plain data, so cloneModule copies it). */
interface SnHost {
  _spectralNorm?: SnConfig[];
  _spectralNormWeight?: Record<string, Tensor | null>;
}

/** W reshaped to [W.size(dim), -1] (a new tensor). */
function weightMatrix(w: Tensor, dim: number): Tensor {
  const s = w.shape;
  if (dim === 0) return w.reshape(s[0], -1);
  const perm = [dim, ...s.map((_, i) => i).filter((i) => i !== dim)];
  const p = w.permute(perm);
  const m = p.reshape(s[dim], -1);
  p.dispose();
  return m;
}

/** x / max(‖x‖₂, eps) for a vector (F.normalize(x, dim=0, eps)). */
function normalize(x: Tensor, eps: number): Tensor {
  const n = x.norm();
  const c = n.clamp(eps);
  const out = x.div(c);
  n.dispose();
  c.dispose();
  return out;
}

/** W / σ with σ = uᵀ W v, after the power iteration when `iterate`. */
function normalisedWeight(m: AnyModule, cfg: SnConfig, iterate: boolean): Tensor {
  const w = m.param(`${cfg.name}_orig`);
  const uBuf = m.buffer(`${cfg.name}_u`);
  const vBuf = m.buffer(`${cfg.name}_v`);
  const made: Tensor[] = [];
  const tmp = <T extends Tensor>(t: T): T => (made.push(t), t);
  try {
    const wm = tmp(weightMatrix(w, cfg.dim));
    let u: Tensor;
    let v: Tensor;
    if (iterate && cfg.nPowerIterations > 0) {
      [u, v] = noGrad(() => {
        let cu = uBuf;
        let cv = vBuf;
        const wt = tmp(wm.t());
        for (let i = 0; i < cfg.nPowerIterations; i++) {
          cv = tmp(normalize(tmp(wt.matmul(cu)), cfg.eps));
          cu = tmp(normalize(tmp(wm.matmul(cv)), cfg.eps));
        }
        uBuf.copy_(cu);
        vBuf.copy_(cv);
        return [cu, cv];
      });
    } else {
      // copies, so that a later training-mode forward updating the buffers in place cannot
      // invalidate this graph (the values are the same)
      u = tmp(uBuf.clone());
      v = tmp(vBuf.clone());
    }
    const sigma = tmp(u.matmul(tmp(wm.matmul(v))));
    return w.div(sigma);
  } finally {
    for (const t of made) t.dispose();
  }
}

/**
 * Applies spectral normalisation to `module`'s parameter (torch.nn.utils.spectral_norm): it
 * becomes `${name}_orig` (the same Tensor, so an optimizer built earlier still holds it), with
 * buffers `${name}_u` and `${name}_v` drawn from N(0, 1) with torch's generator and normalised.
 * Works for Linear, Conv2d and ConvTranspose2d (weight reshaped to [out, -1]) and any module
 * whose forward reads `this[name]`. Returns the module.
 */
export function spectralNorm<M extends AnyModule>(module: M, options: SpectralNormOptions = {}): M {
  const where = 'spectralNorm()';
  if (!(module instanceof Module)) throw invalidParameterError('module', 'a Module', module);
  checkOptionKeys(where, options, ['name', 'nPowerIterations', 'eps', 'dim']);
  const name = options.name ?? 'weight';
  if (!is.string(name) || name === '') throw invalidParameterError(`${where} options.name`, 'a parameter name', name);
  const nPowerIterations = options.nPowerIterations ?? 1;
  if (!is.positiveInteger(nPowerIterations)) throw invalidParameterError(`${where} options.nPowerIterations`, 'a positive integer', nPowerIterations);
  const eps = options.eps ?? 1e-12;
  if (!is.finite(eps) || eps <= 0) throw invalidParameterError(`${where} options.eps`, 'a positive number', eps);
  const host = module as unknown as SnHost;
  if (host._spectralNorm?.some((c) => c.name === name)) {
    throw invalidArgument(`${where}: ${module.typeName}'s '${name}' is already spectrally normalised`, {
      parameter: `${where} options.name`, expected: 'a parameter not yet spectrally normalised', received: `'${name}'`,
    });
  }
  const found = module.namedParameters('', false).find(([n]) => n === name);
  if (found === undefined) throw invalidParameterError(`${where} options.name`, `the name of one of ${module.typeName}'s own parameters`, name);
  const weight = found[1];
  const dim = options.dim ?? (module instanceof ConvTranspose2d ? 1 : 0);
  if (!is.integer(dim) || dim < 0 || dim >= weight.ndim) {
    throw invalidParameterError(`${where} options.dim`, `a dimension of the ${weight.ndim}-D '${name}'`, dim);
  }
  const [u, v] = noGrad(() => {
    const wm = weightMatrix(weight, dim);
    const [h, w] = wm.shape;
    wm.dispose();
    const fo = { dtype: weight.dtype, device: weight.device };
    const ru = empty([h], fo).normal_(0, 1);
    const rv = empty([w], fo).normal_(0, 1);
    const out = [normalize(ru, eps), normalize(rv, eps)];
    ru.dispose();
    rv.dispose();
    return out;
  });
  module.removeParameter(name);
  module.registerParameter(`${name}_orig`, weight);
  module.registerBuffer(`${name}_u`, u);
  module.registerBuffer(`${name}_v`, v);

  if (host._spectralNorm === undefined) {
    host._spectralNorm = [];
    host._spectralNormWeight = {};
    const inner = module.forward;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (module as AnyModule).forward = function spectralNormForward(this: AnyModule, ...args: any[]): unknown {
      const self = this as unknown as Required<SnHost>;
      try {
        for (const cfg of self._spectralNorm) self._spectralNormWeight[cfg.name] = normalisedWeight(this, cfg, this.training);
        return inner.apply(this, args);
      } finally {
        // the graph keeps what backward needs; the handles go now
        for (const cfg of self._spectralNorm) {
          self._spectralNormWeight[cfg.name]?.dispose();
          self._spectralNormWeight[cfg.name] = null;
        }
      }
    };
  }
  host._spectralNorm.push({ name, nPowerIterations, eps, dim });
  host._spectralNormWeight![name] = null;
  Object.defineProperty(module, name, {
    configurable: true,
    enumerable: false,
    get(this: SnHost & AnyModule): Tensor {
      const t = this._spectralNormWeight?.[name];
      if (!t) {
        throw new TorchError(`${this.typeName}.${name} is spectrally normalised: it exists only while forward() runs; the trained tensor is param('${name}_orig')`, { code: 'ERR_INVALID_STATE' });
      }
      return t;
    },
  });
  return module;
}

/** The names of `module`'s spectrally normalised parameters ([] when none). */
export function spectralNormNames(module: AnyModule): string[] {
  return ((module as unknown as SnHost)._spectralNorm ?? []).map((c) => c.name);
}
