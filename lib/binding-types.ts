// The types the native binding's declaration (lib/binding.generated.ts, generated from the
// `// ts:` and `// returns:` annotations of native/*.cc by scripts/gen-binding.js) is written in.
/** The dtypes libtorch tensors have here (lib/tensor/dtype.ts builds its checks on these). */
export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

/** 'cpu', 'cuda' or 'cuda:N' */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** An opaque native tensor handle. */
export type NativeHandle = { readonly __tensorHandle: unique symbol };

/** A tensor's values as read back: float16/bfloat16 as Float32Array, bool as Uint8Array, int64 as BigInt64Array. */
export type TensorData = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
