// Optimizer base (torch.optim.Optimizer): parameter groups with their own
// hyperparameters, per-parameter state, zeroGrad, stateDict/loadStateDict.
// Updates run in place under noGrad (no graph is recorded) inside tidy (every
// temporary is freed); state tensors are keep()-ed and freed by dispose().
import { invalidParameterError, is, TorchError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { keep, tidy } from '../tensor/scope';
import { isFloatingDtype } from '../tensor/dtype';
import { enableGrad, noGrad } from '../autograd';

/** A parameter's optimizer state: a step count and named tensors (null: not yet created). */
export type ParamState = { step: number } & { [key: string]: Tensor | number | null };

/** A parameter group as given to a constructor: params plus optional hyperparameter overrides. */
export type ParamGroupInput<H> = { params: Iterable<Tensor> } & Partial<H>;
/** A parameter group as held: params plus every hyperparameter. */
export type ParamGroup<H> = { params: Tensor[] } & H;
export type ParamsInput<H> = Iterable<Tensor> | ParamGroupInput<H>[];

export interface OptimizerStateDict<H> {
  /** by parameter index (parameters numbered across groups, in order) */
  state: Record<number, ParamState>;
  /** hyperparameters of each group, params as indices */
  paramGroups: ({ params: number[] } & H)[];
}

export abstract class Optimizer<H extends object> {
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on the first step that sees a gradient. */
  readonly state = new Map<Tensor, ParamState>();
  protected readonly defaults: H;
  private readonly hyperKeys: string[];

  protected constructor(params: ParamsInput<H>, defaults: H) {
    this.defaults = defaults;
    this.hyperKeys = Object.keys(defaults);
    this.validateHyper('options', defaults);
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw invalidParameterError('params', 'an iterable of Tensors or an array of parameter groups', params);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error('optimizer got an empty parameter list');
    if (list.every((p) => p instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<H>);
    else list.forEach((g, i) => {
      if (!is.plainObject(g)) throw invalidParameterError(`params[${i}]`, 'a Tensor or a parameter group {params, ...}', g);
      this.addParamGroup(g as ParamGroupInput<H>);
    });
  }

  /** The state tensors every parameter's state must hold under these hyperparameters (checked by loadStateDict). */
  protected requiredState(_hyper: H): string[] {
    return [];
  }

  /** Checks hyperparameters (subclasses throw with a clear message). */
  protected abstract validateHyper(where: string, h: Partial<H>): void;
  /** Updates one group's parameters; runs under noGrad inside tidy. */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** Adds a group of parameters, with hyperparameters defaulting to the constructor's. */
  addParamGroup(group: ParamGroupInput<H>): void {
    if (!is.plainObject(group)) throw invalidParameterError('param group', 'an object {params, ...}', group);
    for (const k of Object.keys(group)) {
      if (k !== 'params' && !this.hyperKeys.includes(k)) {
        throw new TypeError(`Unknown option '${k}' in a parameter group; expected params or one of: ${this.hyperKeys.join(', ')}`);
      }
    }
    const src = group.params;
    if (src instanceof Tensor) throw invalidParameterError('param group params', 'an iterable of Tensors (wrap a single tensor in an array)', src);
    if (src === null || typeof src !== 'object' || typeof (src as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw invalidParameterError('param group params', 'an iterable of Tensors', src);
    }
    const params = [...src];
    const seen = new Set<Tensor>();
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw invalidParameterError(`params[${i}]`, 'a Tensor', p);
      if (p.isDisposed) throw new Error(`params[${i}] has been disposed`);
      if (!isFloatingDtype(p.dtype)) throw invalidParameterError(`params[${i}]`, 'a floating-point Tensor', p);
      if (!p.isLeaf) throw new Error(`can't optimize a non-leaf Tensor (params[${i}])`);
      if (seen.has(p)) throw new Error(`params[${i}] appears twice in the parameter list`);
      if (existing.has(p)) throw new Error('some parameters appear in more than one parameter group');
      seen.add(p);
    });
    const hyper: Partial<H> = {};
    for (const k of this.hyperKeys) {
      const v = (group as Record<string, unknown>)[k];
      (hyper as Record<string, unknown>)[k] = v === undefined ? (this.defaults as Record<string, unknown>)[k] : v;
    }
    this.validateHyper('param group', hyper);
    this.paramGroups.push({ ...(hyper as H), params });
  }

  /**
   * One update of every parameter that has a gradient. With a closure, it is
   * run first (with grad enabled) to recompute the loss, which is returned.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    let loss: Tensor | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw invalidParameterError('closure', 'a function', closure);
      loss = enableGrad(closure);
    }
    try {
      noGrad(() => tidy(() => {
        for (const g of this.paramGroups) this.updateGroup(g);
      }));
    } catch (e) {
      // libtorch would name grad()'s 'self': name the parameter instead
      if ((e as { code?: string }).code === 'ERR_TENSOR_DISPOSED') {
        const i = this.paramGroups.flatMap((g) => g.params).findIndex((p) => p.isDisposed);
        if (i >= 0) {
          const err = new TorchError(`${this.constructor.name}.step(): params[${i}] is a disposed Tensor (was the module it belongs to disposed?); an optimizer needs its parameters alive`);
          err.code = 'ERR_TENSOR_DISPOSED';
          throw err;
        }
      }
      throw e;
    }
    return loss;
  }

  /** Clears the gradients of all parameters: drops them (setToNone, the default) or fills them with 0. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (setToNone) p.grad = null;
        else {
          const gr = p.grad;
          if (gr !== null) {
            noGrad(() => gr.zero_());
            gr.dispose();
          }
        }
      }
    }
  }

  /** The state of `p`, created (step 0, tensors from init) on first use. */
  protected stateOf(p: Tensor, init: () => Record<string, Tensor | null>): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      const tensors = init();
      for (const t of Object.values(tensors)) if (t !== null) keep(t);
      s = { step: 0, ...tensors } as ParamState;
      this.state.set(p, s);
    }
    return s;
  }

  /** Hyperparameters and state; parameters are numbered across groups. State tensors are live, not copies. */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map<Tensor, number>();
    let n = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const ids = params.map((p) => {
        if (!index.has(p)) index.set(p, n++);
        return index.get(p)!;
      });
      return { ...cloneHyper(hyper), params: ids } as { params: number[] } & H;
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state saved by stateDict() of an optimizer
   * over parameters of the same shapes, in the same order. State tensors are
   * copied (and moved to each parameter's device; floating ones cast to its dtype).
   */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    if (!is.plainObject(sd) || !Array.isArray(sd.paramGroups) || !is.plainObject(sd.state)) {
      throw invalidParameterError('state dict', 'an object {state, paramGroups} from stateDict()', sd);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`loaded state dict has ${sd.paramGroups.length} parameter group(s), this optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    const groupOf = new Map<number, H>();
    sd.paramGroups.forEach((g, gi) => {
      const own = this.paramGroups[gi].params;
      if (!Array.isArray(g.params) || g.params.length !== own.length) {
        throw new Error(`loaded state dict's parameter group ${gi} has ${Array.isArray(g.params) ? g.params.length : '?'} parameters, this optimizer's has ${own.length}`);
      }
      g.params.forEach((id, k) => {
        byIndex.set(id, own[k]);
        groupOf.set(id, g as unknown as H);
      });
      const hyper: Record<string, unknown> = {};
      for (const k of this.hyperKeys) {
        if (!(k in g)) throw new Error(`loaded state dict's parameter group ${gi} lacks '${k}'`);
        hyper[k] = (g as Record<string, unknown>)[k];
      }
      this.validateHyper(`loaded parameter group ${gi}`, hyper as Partial<H>);
    });
    // check shapes first, then replace
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new Error(`loaded state dict has state for parameter ${key}, which no group lists`);
      if (!is.plainObject(s) || !is.nonNegativeInteger((s as ParamState).step)) throw new Error(`loaded state for parameter ${key} lacks a step count`);
      for (const name of this.requiredState(groupOf.get(Number(key))!)) {
        if (!((s as ParamState)[name] instanceof Tensor)) {
          throw new Error(`loaded state of parameter ${key} lacks its '${name}' tensor (state.${key}.${name}), which ${this.constructor.name} needs for every parameter with state`);
        }
      }
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          const a = p.shape;
          const b = v.shape;
          if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
            throw new Error(`loaded state '${name}' of parameter ${key} has shape [${b.join(', ')}], the parameter has [${a.join(', ')}]`);
          }
        }
      }
    }
    sd.paramGroups.forEach((g, gi) => {
      for (const k of this.hyperKeys) (this.paramGroups[gi] as Record<string, unknown>)[k] = cloneValue((g as Record<string, unknown>)[k]);
    });
    this.disposeState();
    noGrad(() => {
      for (const [key, s] of Object.entries(sd.state)) {
        const p = byIndex.get(Number(key))!;
        const out: Record<string, Tensor | number | null> = {};
        for (const [name, v] of Object.entries(s)) {
          if (v instanceof Tensor) {
            const dt = isFloatingDtype(v.dtype) ? p.dtype : undefined;
            const moved = v.to({ device: p.device, dtype: dt, copy: true });
            out[name] = keep(moved.detach());
            moved.dispose();
          } else out[name] = v as number | null;
        }
        this.state.set(p, out as ParamState);
      }
    });
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** Frees all state tensors (the parameters are not the optimizer's to free). */
  dispose(): void {
    this.disposeState();
  }
}

function cloneValue(v: unknown): unknown {
  return Array.isArray(v) ? [...v] : v;
}
function cloneHyper(h: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) out[k] = cloneValue(v);
  return out;
}

// ---- shared checks
export function checkLr(where: string, v: unknown): void {
  if (!is.finite(v) || v < 0) throw invalidParameterError(`${where} lr`, 'a non-negative number', v);
}
export function checkNonNegative(where: string, name: string, v: unknown): void {
  if (!is.finite(v) || v < 0) throw invalidParameterError(`${where} ${name}`, 'a non-negative number', v);
}
export function checkUnit(where: string, name: string, v: unknown): void {
  if (!is.finite(v) || v < 0 || v >= 1) throw invalidParameterError(`${where} ${name}`, 'a number in [0, 1)', v);
}
export function checkBool(where: string, name: string, v: unknown): void {
  if (!is.bool(v)) throw invalidParameterError(`${where} ${name}`, 'a boolean', v);
}
