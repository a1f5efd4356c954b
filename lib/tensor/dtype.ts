import { invalidParameterError, is } from '../errors';

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

/** 'cpu', 'cuda' or 'cuda:N' */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function checkDtype(name: string, v: unknown): asserts v is DType {
  if (!is.oneOf(v, DTYPES)) throw invalidParameterError(name, `one of ${DTYPES.join(', ')}`, v);
}

export function checkDevice(name: string, v: unknown): asserts v is Device {
  if (!(v === 'cpu' || v === 'cuda' || (typeof v === 'string' && /^cuda:\d+$/.test(v)))) {
    throw invalidParameterError(name, "a device: 'cpu', 'cuda' or 'cuda:N'", v);
  }
}

export const isFloatingDtype = (d: DType): boolean => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
