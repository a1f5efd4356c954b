import { invalidParameterError, is } from '../errors';

import { DTYPES } from '../binding-types';
import type { DType, Device } from '../binding-types';

// the binding's own types (lib/binding-types.ts, the native layer); the checks on them live here
export { DTYPES };
export type { DType, Device };

export function checkDtype(name: string, v: unknown): asserts v is DType {
  if (!is.oneOf(v, DTYPES)) throw invalidParameterError(name, `one of ${DTYPES.join(', ')}`, v);
}

export function checkDevice(name: string, v: unknown): asserts v is Device {
  if (!(v === 'cpu' || v === 'cuda' || (typeof v === 'string' && /^cuda:\d+$/.test(v)))) {
    throw invalidParameterError(name, "a device: 'cpu', 'cuda' or 'cuda:N'", v);
  }
}

export const isFloatingDtype = (d: DType): boolean => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
