// Tensor creation, metadata and reading values back (sync and async).
#include "creation.h"
#include "memory_format.h"

#include <cstring>

namespace tg {

// dtype at i (default float32), device at i + 1 (default cpu)
// ts: (dtype?: DType | null, device?: Device | null)
at::TensorOptions OptionsArg(const Napi::CallbackInfo& info, size_t i) {
  auto dtype = OptDtypeArg(info, i, "dtype").value_or(at::kFloat);
  auto device = OptDeviceArg(info, i + 1, "device").value_or(c10::Device(c10::kCPU));
  return at::TensorOptions().dtype(dtype).device(device);
}

// A shape: an integer or an array of them, each non-negative.
// ts: number | number[]
std::vector<int64_t> SizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  auto size = IntListArg(info, i, name);
  for (size_t k = 0; k < size.size(); ++k) {
    if (size[k] < 0) ThrowInvalid(info.Env(), std::string(name) + "[" + std::to_string(k) + "]", "a non-negative integer", std::to_string(size[k]));
  }
  return size;
}

static at::ScalarType TypedArrayDtype(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_int16_array: return at::kShort;
    case napi_int8_array: return at::kChar;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return at::kByte;
    case napi_bigint64_array: return at::kLong;
    default: return at::ScalarType::Undefined;
  }
}

// A typed array of a dtype torch-gan reads (Float32Array ... BigInt64Array).
// ts: TensorData
static Napi::TypedArray TypedArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsTypedArray() || TypedArrayDtype(v.As<Napi::TypedArray>().TypedArrayType()) == at::ScalarType::Undefined) {
    ThrowArg(info, i, name, "a Float32Array, Float64Array, Int32Array, Int16Array, Int8Array, Uint8Array or BigInt64Array");
  }
  return v.As<Napi::TypedArray>();
}

// Copies a CPU tensor's values into a fresh JS typed array. float16/bfloat16 read as
// Float32Array, bool as Uint8Array, int64 as BigInt64Array.
static Napi::Value ToTypedArray(Napi::Env env, const at::Tensor& cpu) {
  napi_typedarray_type kind;
  switch (cpu.scalar_type()) {
    case at::kFloat: kind = napi_float32_array; break;
    case at::kDouble: kind = napi_float64_array; break;
    case at::kInt: kind = napi_int32_array; break;
    case at::kShort: kind = napi_int16_array; break;
    case at::kChar: kind = napi_int8_array; break;
    case at::kByte:
    case at::kBool: kind = napi_uint8_array; break;
    case at::kLong: kind = napi_bigint64_array; break;
    default: throw std::runtime_error(std::string("cannot read dtype ") + DtypeName(cpu.scalar_type()));
  }
  size_t bytes = cpu.numel() * cpu.element_size();
  auto buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(buf.Data(), cpu.data_ptr(), bytes);
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, kind, cpu.numel(), buf, 0, &out), Napi::Value());
  return Napi::Value(env, out);
}

static at::Tensor ReadableCopy(const at::Tensor& t) {
  at::NoGradGuard noGrad;
  at::Tensor c = t.detach().to(c10::Device(c10::kCPU));
  if (c.scalar_type() == at::kHalf || c.scalar_type() == at::kBFloat16) c = c.to(at::kFloat);
  return c.contiguous();
}

// Copies a tensor to the CPU on a worker thread, then hands back a typed array. A failure is
// kept as the exception itself and turned into the JS error on the JS thread by the one
// boundary (JsErrorOf: RethrowAsJs), so it rejects with the TorchError and code a sync call throws.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, at::Tensor t) : Napi::AsyncWorker(env), source_(std::move(t)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      result_ = ReadableCopy(source_);
    } catch (...) {
      error_ = std::current_exception();
    }
    source_ = at::Tensor();
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(JsErrorOf(env, "dataAsync", error_));
      return;
    }
    try {
      deferred_.Resolve(ToTypedArray(env, result_));
    } catch (...) {
      deferred_.Reject(JsErrorOf(env, "dataAsync", std::current_exception()));
    }
    result_ = at::Tensor();
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  at::Tensor source_, result_;
  std::exception_ptr error_;
  Napi::Promise::Deferred deferred_;
};

void RegisterCreation(Napi::Env env, Napi::Object exports) {
  // A tensor holding a copy of the typed array's values: its own dtype unless dtype says otherwise.
  TG_OP(exports, "fromTypedArray", {
    auto arr = TypedArrayArg(info, 0, "data");
    auto shape = SizeArg(info, 1, "shape");
    auto dtype = OptDtypeArg(info, 2, "dtype");
    auto device = OptDeviceArg(info, 3, "device");
    int64_t numel = 1;
    for (auto s : shape) numel *= s;
    if (numel != static_cast<int64_t>(arr.ElementLength())) {
      std::string n = std::to_string(numel), len = std::to_string(arr.ElementLength());
      ThrowInvalid(info.Env(), "shape", "a shape of " + len + " elements (as many as 'data' has)", "a shape of " + n + " elements",
                   "argument 'shape' holds " + n + " elements but 'data' has " + len);
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(TypedArrayDtype(arr.TypedArrayType())));
    if (numel) {
      auto* base = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
      std::memcpy(t.data_ptr(), base, numel * t.element_size());
    }
    if (dtype) t = t.to(*dtype);
    if (device && device->type() != c10::kCPU) t = t.to(*device);
    return Wrap(info.Env(), t);
  });
  TG_OP(exports, "zeros", { return Wrap(info.Env(), at::zeros(SizeArg(info, 0, "shape"), OptionsArg(info, 1))); });
  TG_OP(exports, "ones", { return Wrap(info.Env(), at::ones(SizeArg(info, 0, "shape"), OptionsArg(info, 1))); });
  TG_OP(exports, "empty", { return Wrap(info.Env(), at::empty(SizeArg(info, 0, "shape"), OptionsArg(info, 1))); });
  TG_OP(exports, "full", { return Wrap(info.Env(), at::full(SizeArg(info, 0, "shape"), ScalarArg(info, 1, "value"), OptionsArg(info, 2))); });
  TG_OP(exports, "arange", {
    return Wrap(info.Env(), at::arange(ScalarArg(info, 0, "start"), ScalarArg(info, 1, "end"), ScalarArg(info, 2, "step"), OptionsArg(info, 3)));
  });
  TG_OP(exports, "linspace", {
    return Wrap(info.Env(), at::linspace(ScalarArg(info, 0, "start"), ScalarArg(info, 1, "end"), IntArg(info, 2, "steps"), OptionsArg(info, 3)));
  });
  TG_OP(exports, "eye", { return Wrap(info.Env(), at::eye(IntArg(info, 0, "n"), IntArg(info, 1, "m"), OptionsArg(info, 2))); });

  // *_like: the op's own arguments after the source (fullLike's value), then an optional dtype
  // override (at DTYPE_AT); the device follows the source, requires_grad never does.
#define TG_LIKE(NAME, DTYPE_AT, ...)                                                 \
  TG_OP(exports, NAME, {                                                             \
    auto& t = TensorArg(info, 0, "input");                                           \
    auto opts = t.options().requires_grad(false);                                    \
    if (auto d = OptDtypeArg(info, DTYPE_AT, "dtype")) opts = opts.dtype(*d);        \
    return Wrap(info.Env(), __VA_ARGS__);                                            \
  })
  TG_LIKE("zerosLike", 1, at::zeros_like(t, opts));
  TG_LIKE("onesLike", 1, at::ones_like(t, opts));
  TG_LIKE("emptyLike", 1, at::empty_like(t, opts));
  TG_LIKE("fullLike", 2, at::full_like(t, ScalarArg(info, 1, "value"), opts));
#undef TG_LIKE

  // ---- metadata
  // returns: number[]
  TG_OP(exports, "shape", {
    auto& t = TensorArg(info, 0, "tensor");
    auto sizes = t.sizes();
    auto arr = Napi::Array::New(info.Env(), sizes.size());
    for (size_t k = 0; k < sizes.size(); ++k) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(sizes[k])));
    return arr;
  });
  TG_OP(exports, "dim", { return Napi::Number::New(info.Env(), static_cast<double>(TensorArg(info, 0, "tensor").dim())); });
  TG_OP(exports, "numel", { return Napi::Number::New(info.Env(), static_cast<double>(TensorArg(info, 0, "tensor").numel())); });
  // returns: DType
  TG_OP(exports, "dtype", { return Napi::String::New(info.Env(), DtypeName(TensorArg(info, 0, "tensor").scalar_type())); });
  // returns: Device
  TG_OP(exports, "device", { return Napi::String::New(info.Env(), TensorArg(info, 0, "tensor").device().str()); });
  // isContiguous(tensor, memoryFormat = 'contiguous'): whether its elements lie densely in that order.
  TG_OP(exports, "isContiguous", {
    auto& t = TensorArg(info, 0, "tensor");
    return Napi::Boolean::New(info.Env(), t.is_contiguous(MemoryFormatArg(info, 1, "memoryFormat")));
  });

  // ---- reading values
  TG_OP(exports, "item", {
    auto& t = TensorArg(info, 0, "tensor");
    if (t.numel() != 1) {
      ThrowInvalid(info.Env(), "tensor", "a Tensor of exactly one element", DescribeTensor(t),
                   "needs a tensor with exactly one element, this one has " + std::to_string(t.numel()) + " (" + DescribeTensor(t) + ")");
    }
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Number::New(info.Env(), s.toBool() ? 1 : 0);  // typed as number in JS
    return Napi::Number::New(info.Env(), s.toDouble());
  });
  // A typed-array copy: float16/bfloat16 as Float32Array, bool as Uint8Array, int64 as BigInt64Array.
  // returns: TensorData
  TG_OP(exports, "data", { return ToTypedArray(info.Env(), ReadableCopy(TensorArg(info, 0, "tensor"))); });
  // The same, copied on a worker thread.
  // returns: Promise<TensorData>
  TG_OP(exports, "dataAsync", {
    auto* w = new ReadWorker(info.Env(), TensorArg(info, 0, "tensor"));
    auto p = w->Promise();
    w->Queue();
    return p;
  });
  TG_OP(exports, "toString", {
    std::ostringstream s;
    s << TensorArg(info, 0, "tensor");
    return Napi::String::New(info.Env(), s.str());
  });
}

}  // namespace tg
