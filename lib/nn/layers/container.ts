// Sequential: children called in order, named '0', '1', ...
import { describe, invalidArgument, invalidParameterError } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { AnyModule, Module } from '../module';

/**
 * Calls its children in order, each on the previous one's output
 * (torch.nn.Sequential). Intermediate results' handles are disposed as soon as
 * the next layer has run (the autograd graph keeps what it needs on its own).
 */
export class Sequential extends Module {
  static readonly perSample = true;
  constructor(...modules: AnyModule[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw invalidParameterError(`modules[${i}]`, 'a Module', m);
      this.registerModule(String(i), m);
    });
  }
  /** Adds a module at the end; returns this. */
  append(module: AnyModule): this {
    if (!(module instanceof Module)) throw invalidParameterError('module', 'a Module', module);
    this.registerModule(String(this.length), module);
    return this;
  }
  get length(): number {
    return this.children().length;
  }
  /** The i-th child (negative counts from the end). */
  at(i: number): AnyModule {
    const c = this.children();
    const k = i < 0 ? c.length + i : i;
    if (!Number.isInteger(k) || k < 0 || k >= c.length) {
      throw invalidArgument(`Sequential index ${i} is out of range (length ${c.length})`, { parameter: 'i', expected: `an integer in [-${c.length}, ${c.length})`, received: describe(i) });
    }
    return c[k];
  }
  [Symbol.iterator](): Iterator<AnyModule> {
    return this.children()[Symbol.iterator]();
  }
  forward(x: Tensor): Tensor {
    let out: Tensor = x;
    for (const m of this.children()) {
      const next = m.forward(out) as Tensor;
      if (out !== x && next !== out) out.dispose();
      out = next;
    }
    return out;
  }
}
