// cloneModule: a deep copy of a module (copy.deepcopy of an nn.Module), for an EMA shadow or a
// frozen snapshot, without knowing how the module was constructed.
//
// The copy has the same class (prototype), the same settings, and its own copies of every
// registered parameter and buffer (same values, dtype, device and requiresGrad; kept, so tidy()
// never frees them). Child modules are copied recursively; a module or tensor reachable twice
// (tied weights) is copied once and stays shared in the copy. Plain objects, arrays, Maps and
// Sets are copied; functions are shared (they must use `this`, not close over the original, as
// spectralNorm's forward does); other class instances are shared as they are. A Tensor held
// outside the registered parameters and buffers is refused: sharing it would tie the copy to
// the original, and copying it silently could hide a leak.
import { Tensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { noGrad } from '../autograd';
import { invalidArgument, invalidParameterError } from '../errors';
import { AnyModule, Module } from './module';

const REGISTERED = new Set(['_parameters', '_buffers']);

/** A deep copy of `module` with its own parameter and buffer tensors. */
export function cloneModule<M extends AnyModule>(module: M): M {
  if (!(module instanceof Module)) throw invalidParameterError('module', 'a Module', module);
  const memo = new Map<object, unknown>();
  return noGrad(() => copyValue(module, memo, module.typeName, false)) as M;
}

function copyTensor(t: Tensor, memo: Map<object, unknown>): Tensor {
  const seen = memo.get(t);
  if (seen !== undefined) return seen as Tensor;
  const d = t.detach();
  const c = d.clone();
  d.dispose();
  keep(c);
  if (t.requiresGrad) c.requiresGrad_(true);
  memo.set(t, c);
  return c;
}

function copyValue(v: unknown, memo: Map<object, unknown>, where: string, registered: boolean): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Tensor) {
    if (registered) return copyTensor(v, memo);
    throw invalidArgument(`cloneModule(): ${where} is a Tensor that is not a registered parameter or buffer; register it (registerBuffer) so that the copy gets its own`, {
      parameter: `module ${where}`, expected: 'tensors registered as parameters or buffers', received: 'an unregistered Tensor',
    });
  }
  const seen = memo.get(v);
  if (seen !== undefined) return seen;
  if (v instanceof Module) {
    const out = Object.create(Object.getPrototypeOf(v)) as object;
    memo.set(v, out);
    for (const [k, desc] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
      if ('value' in desc) desc.value = copyValue(desc.value, memo, `${where}.${k}`, REGISTERED.has(k));
      Object.defineProperty(out, k, desc);
    }
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, x] of v) out.set(k, copyValue(x, memo, `${where}.get('${String(k)}')`, registered));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set();
    memo.set(v, out);
    for (const x of v) out.add(copyValue(x, memo, `${where} (a Set)`, false));
    return out;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    v.forEach((x, i) => out.push(copyValue(x, memo, `${where}[${i}]`, false)));
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const out = Object.create(proto) as Record<string, unknown>;
    memo.set(v, out);
    for (const [k, x] of Object.entries(v)) out[k] = copyValue(x, memo, `${where}.${k}`, false);
    return out;
  }
  return v;
}
