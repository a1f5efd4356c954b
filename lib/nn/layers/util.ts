// Argument checks shared by the layers.
import { checkOptionKeys, invalidArgument, invalidParameterError, is } from '../../errors';
import { DType, checkDtype, Device, checkDevice, isFloatingDtype } from '../../tensor/dtype';

export type Pair = number | [number, number];

export function positiveInt(name: string, v: unknown): number {
  if (!is.positiveInteger(v)) throw invalidParameterError(name, 'a positive integer', v);
  return v;
}
export function nonNegativeInt(name: string, v: unknown): number {
  if (!is.nonNegativeInteger(v)) throw invalidParameterError(name, 'a non-negative integer', v);
  return v;
}
export function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (!is.bool(v)) throw invalidParameterError(name, 'a boolean', v);
  return v;
}
export function positiveNumber(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!is.finite(v) || v <= 0) throw invalidParameterError(name, 'a positive number', v);
  return v;
}
export function pair(name: string, v: unknown, dflt: number, positive: boolean): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const ok = (x: unknown) => (positive ? is.positiveInteger(x) : is.nonNegativeInteger(x));
  const what = positive ? 'a positive integer' : 'a non-negative integer';
  if (typeof v === 'number') {
    if (!ok(v)) throw invalidParameterError(name, `${what} or a pair of them`, v);
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw invalidParameterError(name, `${what} or a pair of them`, v);
}

/** Factory options every layer with tensors accepts. */
export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
}
export const FACTORY_KEYS = ['dtype', 'device'] as const;

export function factory(where: string, o: FactoryOptions): { dtype: DType; device?: Device } {
  const dtype = o.dtype ?? 'float32';
  checkDtype(`${where} options.dtype`, dtype);
  if (!isFloatingDtype(dtype)) throw invalidParameterError(`${where} options.dtype`, 'a floating-point dtype', dtype);
  if (o.device !== undefined) checkDevice(`${where} options.device`, o.device);
  return { dtype, device: o.device };
}

export function options<T extends object>(where: string, o: T | undefined, keys: readonly string[]): T {
  if (o === undefined) return {} as T;
  checkOptionKeys(where, o, keys);
  return o;
}

export function expectDims(layer: string, shape: number[], dims: number[]): void {
  if (!dims.includes(shape.length)) {
    const want = dims.length === 1 ? `${dims[0]}D` : `${dims.slice(0, -1).join('D, ')}D or ${dims[dims.length - 1]}D`;
    throw invalidArgument(`${layer}: expected ${want} input (got ${shape.length}D input of shape [${shape.join(', ')}])`, {
      parameter: `${layer} input`, expected: `${want} input`, received: `${shape.length}D input of shape [${shape.join(', ')}]`,
    });
  }
}
