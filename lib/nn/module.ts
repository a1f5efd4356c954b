// Module: the base of every layer and model (torch.nn.Module).
//
// A module owns named parameters (trainable tensors), buffers (state such as
// BatchNorm's running statistics) and child modules, all registered by name, so
// that parameters(), stateDict() and loadStateDict() see the same PyTorch key
// names: `0.weight`, `network.1.running_mean`, `1.num_batches_tracked`.
//
// Memory: registered tensors are keep()-ed, so no tidy() scope ever frees them;
// module.dispose() frees them all.
//
// Tensor identity: loadStateDict() and initialisers copy values INTO the
// registered Tensor objects, so optimizers holding them stay valid. to(device,
// dtype) is the exception: a tensor that must change device or dtype is replaced
// by a new Tensor object (the old one is freed), so create optimizers after to().
// Layers read their tensors through getters (this.weight is looked up by name), so
// they always see the current tensor; custom modules should do the same
// (`this.param('w')`, or a getter) rather than keep their own references across to().
import { checkOptionKeys, invalidArgument, invalidParameterError, is, TorchError } from '../errors';
import { MemoryFormat, Tensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { checkDevice, checkDtype, Device, DType, isFloatingDtype } from '../tensor/dtype';
import { noGrad } from '../autograd';
import { addIndent } from './repr';

export { pyBool, pyFloat, pyTuple } from './repr';

/** A state dict: name -> tensor, in registration order. */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// Any module, whatever its forward signature.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any[], any>;

const NAME_RE = /^[^.]+$/;

function checkName(kind: string, name: unknown, taken: (n: string) => string | null): asserts name is string {
  if (!is.string(name) || name.length === 0 || !NAME_RE.test(name)) {
    throw invalidParameterError(`${kind} name`, 'a non-empty string without dots', name);
  }
  const other = taken(name);
  if (other !== null) {
    throw invalidArgument(`Cannot register ${kind} '${name}': the name is already used by a ${other}`, {
      parameter: `${kind} name`, expected: 'a name not used yet', received: `'${name}' (a ${other})`,
    });
  }
}

/**
 * Base class of layers and models. Subclasses register their tensors and
 * children in the constructor and implement forward(); call a module with
 * `m.call(x)` or `m.forward(x)` (the same thing).
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (the default) or evaluation mode; see train()/eval(). */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, AnyModule>();

  abstract forward(...args: In): Out;

  /** Runs forward (PyTorch's module(x)). */
  call(...args: In): Out {
    return this.forward(...args);
  }

  // ---------------------------------------------------------------- registration

  private _kindOf(name: string): string | null {
    if (this._parameters.has(name)) return 'parameter';
    if (this._buffers.has(name)) return 'buffer';
    if (this._modules.has(name)) return 'submodule';
    return null;
  }

  /**
   * Registers a trainable tensor under `name` (null: a declared but absent
   * parameter, e.g. a disabled bias). The tensor is kept (tidy never frees it)
   * and set to require gradients. Returns it.
   */
  registerParameter<T extends Tensor | null>(name: string, tensor: T): T {
    checkName('parameter', name, (n) => this._kindOf(n));
    if (tensor !== null) {
      if (!(tensor instanceof Tensor)) throw invalidParameterError(`parameter '${name}'`, 'a Tensor or null', tensor);
      if (!isFloatingDtype(tensor.dtype)) throw invalidParameterError(`parameter '${name}'`, 'a floating-point Tensor', tensor);
      if (!tensor.isLeaf) {
        throw invalidArgument(`Cannot register parameter '${name}': it is not a leaf tensor (detach() it first)`, {
          parameter: `parameter '${name}'`, expected: 'a leaf Tensor', received: 'a non-leaf Tensor',
        });
      }
      keep(tensor);
      tensor.requiresGrad_(true);
    }
    this._parameters.set(name, tensor);
    return tensor;
  }

  /**
   * Registers a state tensor that is not trained (running statistics, counters).
   * persistent=false leaves it out of stateDict(). Returns it.
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, persistent = true): T {
    checkName('buffer', name, (n) => this._kindOf(n));
    if (tensor !== null) {
      if (!(tensor instanceof Tensor)) throw invalidParameterError(`buffer '${name}'`, 'a Tensor or null', tensor);
      keep(tensor);
    }
    this._buffers.set(name, tensor);
    if (!persistent) this._nonPersistent.add(name);
    return tensor;
  }

  /** Registers a child module (its parameters are named `name.*`). Returns it. */
  registerModule<M extends AnyModule>(name: string, module: M): M {
    checkName('submodule', name, (n) => this._kindOf(n));
    if (!(module instanceof Module)) throw invalidParameterError(`submodule '${name}'`, 'a Module', module);
    if (module === (this as unknown)) {
      throw invalidArgument(`Cannot register a module as its own child ('${name}')`, { parameter: `submodule '${name}'`, expected: 'another Module', received: 'the module itself' });
    }
    this._modules.set(name, module);
    return module;
  }

  /**
   * Unregisters this module's parameter `name` and returns its tensor, which stays alive (kept):
   * for reparametrisations such as spectralNorm(), which re-register it under another name
   * (PyTorch's `del module._parameters[name]`). Throws when there is no such parameter.
   */
  removeParameter(name: string): Tensor | null {
    const t = this._parameters.get(name);
    if (t === undefined) throw this.noSuch('parameter', name);
    this._parameters.delete(name);
    return t;
  }

  /** The parameter registered here as `name` (not a child's); throws when unknown. */
  param(name: string): Tensor {
    const t = this._parameters.get(name);
    if (t === undefined) throw this.noSuch('parameter', name);
    if (t === null) throw this.notSet('parameter', name);
    return t;
  }
  /** The parameter `name`, or null when registered as absent. @internal for layers */
  protected paramOrNull(name: string): Tensor | null {
    return this._parameters.get(name) ?? null;
  }
  /** The buffer registered here as `name`; throws when unknown or null. */
  buffer(name: string): Tensor {
    const t = this._buffers.get(name);
    if (t === undefined) throw this.noSuch('buffer', name);
    if (t === null) throw this.notSet('buffer', name);
    return t;
  }
  /** The buffer `name`, or null. @internal for layers */
  protected bufferOrNull(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }
  /** The child module registered as `name`; throws when unknown. */
  child(name: string): AnyModule {
    const m = this._modules.get(name);
    if (m === undefined) throw this.noSuch('submodule', name);
    return m;
  }

  private noSuch(kind: string, name: string): TorchError {
    const own = [...(kind === 'parameter' ? this._parameters : kind === 'buffer' ? this._buffers : this._modules).keys()];
    return invalidArgument(`${this.typeName} has no ${kind} '${name}'`, {
      parameter: 'name', expected: own.length ? `one of ${own.map((n) => `'${n}'`).join(', ')}` : `a ${kind} name (${this.typeName} has none)`, received: `'${name}'`,
    });
  }

  private notSet(kind: string, name: string): TorchError {
    return invalidArgument(`${this.typeName}'s ${kind} '${name}' is not set (null)`, { parameter: 'name', expected: `a ${kind} that is set`, received: `'${name}', registered as absent (null)` });
  }

  // ---------------------------------------------------------------- traversal

  /** (name, parameter) pairs, this module's first, then each child's (`child.name`); each tensor once. */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of recurse ? this.namedModules(prefix) : [[prefix, this] as [string, AnyModule]]) {
      for (const [n, t] of m._parameters) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }
  /** All parameters (pass these to an optimizer). */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of recurse ? this.namedModules(prefix) : [[prefix, this] as [string, AnyModule]]) {
      for (const [n, t] of m._buffers) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }
  /** Direct children with their names. */
  namedChildren(): [string, AnyModule][] {
    return [...this._modules.entries()];
  }
  children(): AnyModule[] {
    return [...this._modules.values()];
  }
  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (p: string, m: AnyModule): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m._modules) visit(p ? `${p}.${n}` : n, c);
    };
    visit(prefix, this as AnyModule);
    return out;
  }
  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }
  /** Calls fn on every child (recursively) and then on this module; returns this. */
  apply(fn: (m: AnyModule) => void): this {
    for (const c of this._modules.values()) c.apply(fn);
    fn(this as AnyModule);
    return this;
  }

  // ---------------------------------------------------------------- modes

  /** Sets training mode (BatchNorm uses batch statistics, Dropout drops) here and below. */
  train(mode = true): this {
    if (!is.bool(mode)) throw invalidParameterError('mode', 'a boolean', mode);
    this.training = mode;
    for (const c of this._modules.values()) c.train(mode);
    return this;
  }
  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }
  /** Turns gradient recording for all parameters on or off (e.g. to freeze a discriminator). */
  requiresGrad_(requiresGrad = true): this {
    if (!is.bool(requiresGrad)) throw invalidParameterError('requiresGrad', 'a boolean', requiresGrad);
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }
  /** Clears the gradients of all parameters (sets them to none, as PyTorch 2's default). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  // ---------------------------------------------------------------- device / dtype

  /**
   * Moves parameters and buffers to `device` and casts floating-point ones to
   * `dtype` (integer buffers such as num_batches_tracked keep their dtype).
   * Tensors already there are left alone (same Tensor objects). Tensors that
   * move are REPLACED by new Tensor objects and the old ones freed, and their
   * gradients dropped: create optimizers after to(), and re-read references.
   */
  to(device?: Device | null, dtype?: DType): this {
    if (device !== undefined && device !== null) checkDevice('device', device);
    if (dtype !== undefined) {
      checkDtype('dtype', dtype);
      if (!isFloatingDtype(dtype)) throw invalidParameterError('dtype', 'a floating-point dtype', dtype);
    }
    const convert = (t: Tensor): Tensor | null => {
      const dt = dtype !== undefined && isFloatingDtype(t.dtype) ? dtype : undefined;
      const sameDevice = device === undefined || device === null || sameDev(t.device, device);
      if (sameDevice && (dt === undefined || dt === t.dtype)) return null;
      return noGrad(() => t.detach().to(device ?? undefined, dt));
    };
    return this.replaceTensors(convert);
  }

  /** Replaces every parameter and buffer that convert maps to a new tensor (null: kept), freeing the old. */
  private replaceTensors(convert: (t: Tensor) => Tensor | null): this {
    for (const m of this.modules()) {
      for (const [n, t] of m._parameters) {
        if (t === null) continue;
        const moved = convert(t);
        if (moved === null) continue;
        const fresh = keep(moved.isLeaf ? moved : moved.detach());
        fresh.requiresGrad_(t.requiresGrad);
        m._parameters.set(n, fresh);
        if (fresh !== moved) moved.dispose();
        t.dispose();
      }
      for (const [n, t] of m._buffers) {
        if (t === null) continue;
        const moved = convert(t);
        if (moved === null) continue;
        m._buffers.set(n, keep(moved));
        t.dispose();
      }
    }
    return this;
  }
  /**
   * Lays every 4-D parameter and buffer out in memoryFormat (PyTorch's
   * module.to(memory_format=...)): 'channelsLast' for NHWC convolutions (oneDNN then reorders
   * nothing), 'contiguous' back to NCHW. Values, shapes and stateDict() keys stay the same.
   * As with to(), a tensor that changes layout is REPLACED by a new Tensor object (the old one
   * freed, its gradient dropped): convert before creating optimizers.
   */
  toMemoryFormat(memoryFormat: MemoryFormat): this {
    if (memoryFormat !== 'contiguous' && memoryFormat !== 'channelsLast') {
      throw invalidParameterError('memoryFormat', "'contiguous' or 'channelsLast'", memoryFormat);
    }
    // Other ranks have no such layout; a tensor already laid out so is kept (same object).
    // As PyTorch's module.to(memory_format=...): by the strides (a weight with one input channel
    // is dense in both layouts; left with NCHW strides, oneDNN runs that layer NCHW)
    const laidOut = (t: Tensor) => t.isContiguous(memoryFormat) && t.suggestMemoryFormat() === memoryFormat;
    return this.replaceTensors((t) => (t.ndim !== 4 || laidOut(t) ? null : noGrad(() => t.detach().toMemoryFormat(memoryFormat))));
  }
  cpu(): this { return this.to('cpu'); }
  cuda(index = 0): this { return this.to(`cuda:${index}`); }
  float(): this { return this.to(undefined, 'float32'); }
  double(): this { return this.to(undefined, 'float64'); }

  // ---------------------------------------------------------------- state

  /**
   * Parameters and persistent buffers by PyTorch key name. The values are the
   * module's own tensors (live, not copies; do not dispose them; clone() for a snapshot).
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = {};
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._parameters) if (t !== null) out[p ? `${p}.${n}` : n] = t;
      for (const [n, t] of m._buffers) if (t !== null && !m._nonPersistent.has(n)) out[p ? `${p}.${n}` : n] = t;
    }
    return out;
  }

  /**
   * Copies values from `dict` (a record or Map of name -> Tensor) into this
   * module's tensors (same Tensor objects; values are cast to their dtype and
   * device). Everything is checked before anything is copied. strict (default):
   * missing or unexpected keys are an error; otherwise they are returned. `source` (e.g. the
   * file the dict was read from) starts the messages about the dict's keys and tensors.
   */
  loadStateDict(dict: StateDict | Map<string, Tensor>, options: { strict?: boolean } = {}, source?: string): LoadStateDictResult {
    const from = source === undefined ? '' : `${source}: `;
    checkOptionKeys('loadStateDict()', options, ['strict']);
    const strict = options.strict ?? true;
    if (!is.bool(strict)) throw invalidParameterError('options.strict', 'a boolean', strict);
    let entries: [string, Tensor][];
    if (dict instanceof Map) entries = [...dict.entries()];
    else if (typeof dict === 'object' && dict !== null && !Array.isArray(dict)) entries = Object.entries(dict);
    else throw invalidParameterError('dict', 'a record or Map of name -> Tensor', dict);
    const own = this.stateDict();
    const given = new Map<string, Tensor>();
    for (const [k, v] of entries) {
      if (!(v instanceof Tensor)) throw invalidParameterError(`dict['${k}']`, 'a Tensor', v);
      if (v.isDisposed) {
        throw new TorchError(`${from}loadStateDict(): dict['${k}'] has been disposed`, { code: 'ERR_TENSOR_DISPOSED', parameter: `dict['${k}']`, expected: 'a live Tensor', received: 'a disposed Tensor' });
      }
      given.set(k, v);
    }
    const missingKeys = Object.keys(own).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in own));
    const errors: string[] = [];
    if (strict && missingKeys.length) errors.push(`missing key(s): ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
    if (strict && unexpectedKeys.length) errors.push(`unexpected key(s): ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
    for (const [k, t] of Object.entries(own)) {
      const src = given.get(k);
      if (src === undefined) continue;
      const a = t.shape;
      const b = src.shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
        errors.push(`size mismatch for "${k}": expected shape [${a.join(', ')}] (the module's), received [${b.join(', ')}]`);
      }
    }
    if (errors.length) {
      throw invalidArgument(`${from}Error(s) in loading state dict for ${this.typeName}:\n  ${errors.join('\n  ')}`, {
        parameter: 'dict', expected: `the keys and shapes of ${this.typeName}'s stateDict()`, received: errors.join('; '),
      });
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = given.get(k);
        if (src !== undefined) t.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer of this module and its children. The module is unusable afterwards. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) t?.dispose();
      for (const t of m._buffers.values()) t?.dispose();
    }
  }

  /** Number of parameter elements (trainable only: onlyTrainable=true). */
  numParameters(onlyTrainable = false): number {
    return this.parameters().reduce((s, p) => s + (onlyTrainable && !p.requiresGrad ? 0 : p.numel()), 0);
  }

  // ---------------------------------------------------------------- printing

  /** The class name shown by toString(). */
  get typeName(): string {
    return this.constructor.name;
  }
  /** One-line description of this module's settings (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }
  /** PyTorch's print(module) layout. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines: string[] = [];
    for (const [n, m] of this._modules) childLines.push(`(${n}): ${addIndent(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.typeName}(`;
    if (lines.length) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += '\n  ' + lines.join('\n  ') + '\n';
    }
    return s + ')';
  }
}

function sameDev(a: string, b: string): boolean {
  const norm = (d: string) => (d === 'cuda' ? 'cuda:0' : d);
  return norm(a) === norm(b);
}
