// Autograd: gradients (of gradients, with createGraph) and grad-mode scopes.
// Grad mode is per thread in libtorch; these scopes set it on the calling thread
// and restore it even when fn throws.
import { N } from '../native';
import { invalidArgument, invalidParameterError } from '../errors';
import { Tensor } from '../tensor/tensor';

export interface GradOptions {
  /** d(outputs)/d(...) weights; defaults to ones for scalar outputs */
  gradOutputs?: (Tensor | null)[] | Tensor;
  /** keep the graph for another backward (defaults to createGraph) */
  retainGraph?: boolean;
  /** build a graph of the gradient itself, so it can be differentiated again */
  createGraph?: boolean;
  /** return null for inputs the outputs do not depend on, instead of throwing */
  allowUnused?: boolean;
}

const list = (name: string, v: Tensor | Tensor[]): Tensor[] => {
  const arr = Array.isArray(v) ? v : [v];
  arr.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw invalidParameterError(`${name}[${i}]`, 'a Tensor', t);
  });
  return arr;
};

/** Computes d(outputs)/d(inputs) without touching .grad (torch.autograd.grad). */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = list('outputs', outputs);
  const ins = list('inputs', inputs);
  let gos: (Tensor | null)[] | undefined;
  if (options.gradOutputs !== undefined) gos = Array.isArray(options.gradOutputs) ? options.gradOutputs : [options.gradOutputs];
  const res = N.autogradGrad(
    outs.map((t) => t._h),
    ins.map((t) => t._h),
    gos?.map((t) => (t instanceof Tensor ? t._h : t)),
    options.retainGraph,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return res.map((h) => (h === null ? null : new Tensor(h)));
}

/** Accumulates gradients into the leaves' .grad (torch.autograd.backward). */
export function backward(tensors: Tensor | Tensor[], options: { gradTensors?: (Tensor | null)[]; retainGraph?: boolean; createGraph?: boolean } = {}): void {
  const ts = list('tensors', tensors);
  N.backward(ts.map((t) => t._h), options.gradTensors?.map((t) => (t ? t._h : null)), options.retainGraph, options.createGraph ?? false);
}

export const isGradEnabled = (): boolean => N.isGradEnabled();
export const setGradEnabled = (enabled: boolean): void => N.setGradEnabled(enabled);

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = N.isGradEnabled();
  N.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw invalidArgument('noGrad/enableGrad: fn must be synchronous (grad mode is per thread and would leak across awaits)', {
        parameter: 'fn', expected: 'a synchronous function', received: 'a function returning a Promise',
      });
    }
    return r;
  } finally {
    N.setGradEnabled(prev);
  }
}

/** Runs fn with gradient recording off (torch.no_grad). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs fn with gradient recording on (torch.enable_grad). */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export { gradcheck, gradgradcheck, type GradcheckOptions } from './gradcheck';
export { autocast, isAutocastEnabled, autocastDtype, type AutocastOptions, type AutocastDtype, type AutocastDevice } from './autocast';
