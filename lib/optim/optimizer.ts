// Optimizer base (torch.optim.Optimizer): parameter groups with their own
// hyperparameters, per-parameter state, zeroGrad, stateDict/loadStateDict.
// Updates run in place under noGrad (no graph is recorded) inside tidy (every
// temporary is freed); state tensors are keep()-ed and freed by dispose().
import { describe, invalidArgument, invalidParameterError, is, TorchError, unknownOptionError } from '../errors';
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
    if (list.length === 0) throw invalidArgument('optimizer got an empty parameter list', { parameter: 'params', expected: 'at least one Tensor', received: 'an empty list' });
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
      if (k !== 'params' && !this.hyperKeys.includes(k)) throw unknownOptionError('a parameter group', k, ['params', ...this.hyperKeys]);
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
      if (p.isDisposed) throw disposedParam(`params[${i}] has been disposed`, i);
      if (!isFloatingDtype(p.dtype)) throw invalidParameterError(`params[${i}]`, 'a floating-point Tensor', p);
      if (!p.isLeaf) throw invalidArgument(`can't optimize a non-leaf Tensor (params[${i}])`, { parameter: `params[${i}]`, expected: 'a leaf Tensor', received: 'a non-leaf Tensor' });
      if (seen.has(p)) throw invalidArgument(`params[${i}] appears twice in the parameter list`, { parameter: `params[${i}]`, expected: 'each Tensor once', received: 'a Tensor listed before' });
      if (existing.has(p)) {
        throw invalidArgument('some parameters appear in more than one parameter group', { parameter: `params[${i}]`, expected: 'a Tensor of no other group', received: 'a Tensor of another group' });
      }
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
    // Checked first, or libtorch would name grad()'s 'self' instead of the parameter (one native call per parameter).
    let i = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.isDisposed) throw disposedParam(`${this.constructor.name}.step(): params[${i}] is a disposed Tensor (was the module it belongs to disposed?); an optimizer needs its parameters alive`, i);
        i++;
      }
    }
    noGrad(() => tidy(() => {
      for (const g of this.paramGroups) this.updateGroup(g);
    }));
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
   * `source` (e.g. the file it was read from) starts every message about the state dict.
   */
  loadStateDict(sd: OptimizerStateDict<H>, source?: string): void {
    const from = source === undefined ? '' : `${source}: `;
    if (!is.plainObject(sd) || !Array.isArray(sd.paramGroups) || !is.plainObject(sd.state)) {
      throw invalidParameterError('state dict', 'an object {state, paramGroups} from stateDict()', sd);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw badStateDict(`${from}loaded state dict has ${sd.paramGroups.length} parameter group(s), this optimizer has ${this.paramGroups.length}`, 'state dict paramGroups',
        `${this.paramGroups.length} parameter group(s)`, `${sd.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    const groupOf = new Map<number, H>();
    sd.paramGroups.forEach((g, gi) => {
      const own = this.paramGroups[gi].params;
      if (!Array.isArray(g.params) || g.params.length !== own.length) {
        const n = Array.isArray(g.params) ? g.params.length : '?';
        throw badStateDict(`${from}loaded state dict's parameter group ${gi} has ${n} parameters, this optimizer's has ${own.length}`, `state dict paramGroups[${gi}].params`, `${own.length} parameters`, `${n}`);
      }
      g.params.forEach((id, k) => {
        byIndex.set(id, own[k]);
        groupOf.set(id, g as unknown as H);
      });
      const hyper: Record<string, unknown> = {};
      for (const k of this.hyperKeys) {
        if (!(k in g)) throw badStateDict(`${from}loaded state dict's parameter group ${gi} lacks '${k}'`, `state dict paramGroups[${gi}].${k}`, `a value for '${k}'`, 'none');
        hyper[k] = (g as Record<string, unknown>)[k];
      }
      this.validateHyper(`${from}loaded parameter group ${gi}`, hyper as Partial<H>);
    });
    // check shapes first, then replace
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw badStateDict(`${from}loaded state dict has state for parameter ${key}, which no group lists`, `state dict state.${key}`, 'state of a listed parameter', `state of parameter ${key}`);
      if (!is.plainObject(s) || !is.nonNegativeInteger((s as ParamState).step)) {
        throw badStateDict(`${from}loaded state for parameter ${key} lacks a step count`, `state dict state.${key}.step`, 'a non-negative integer', describe(is.plainObject(s) ? s.step : s));
      }
      for (const name of this.requiredState(groupOf.get(Number(key))!)) {
        if (!((s as ParamState)[name] instanceof Tensor)) {
          throw badStateDict(`${from}loaded state of parameter ${key} lacks its '${name}' tensor (state.${key}.${name}), which ${this.constructor.name} needs for every parameter with state`,
            `state dict state.${key}.${name}`, 'a Tensor', describe((s as ParamState)[name]));
        }
      }
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          const a = p.shape;
          const b = v.shape;
          if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
            throw badStateDict(`${from}loaded state '${name}' of parameter ${key} has shape [${b.join(', ')}], the parameter has [${a.join(', ')}]`,
              `state dict state.${key}.${name}`, `a Tensor of shape [${a.join(', ')}]`, describe(v));
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

// A disposed parameter: the optimizer cannot update it.
function disposedParam(message: string, i: number): TorchError {
  return new TorchError(message, { code: 'ERR_TENSOR_DISPOSED', parameter: `params[${i}]`, expected: 'a live Tensor', received: 'a disposed Tensor' });
}

// A state dict that does not fit this optimizer (loadStateDict's argument at fault).
function badStateDict(message: string, parameter: string, expected: string, received: string): TorchError {
  return invalidArgument(message, { parameter, expected, received });
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
