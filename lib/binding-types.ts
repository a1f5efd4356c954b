// The types the native binding's declaration (lib/binding.generated.ts, generated from the
// `// ts:` and `// returns:` annotations of native/*.cc by scripts/gen-binding.js) is written in.
export type { DType, Device } from './tensor/dtype';

/** An opaque native tensor handle. */
export type NativeHandle = { readonly __tensorHandle: unique symbol };

/** A tensor's values as read back: float16/bfloat16 as Float32Array, bool as Uint8Array, int64 as BigInt64Array. */
export type TensorData = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
