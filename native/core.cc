// Handles, argument conversion and the error boundary.
#include "common.h"

#include <torch/cuda.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace tg {

const char*& CurrentOp() {
  thread_local const char* op = "";
  return op;
}

EnvState& State(Napi::Env env) { return *env.GetInstanceData<EnvState>(); }

static int64_t ViewBytes(const at::Tensor& t) {
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

// V8 is told about native memory in steps of 1 MiB, not per op.
static void ReportBytes(Napi::Env env, EnvState& s, int64_t delta) {
  s.unreportedBytes += delta;
  if (s.unreportedBytes > (1 << 20) || s.unreportedBytes < -(1 << 20)) {
    Napi::MemoryManagement::AdjustExternalMemory(env, s.unreportedBytes);
    s.unreportedBytes = 0;
  }
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto& s = State(env);
  uint32_t index;
  if (!s.freeSlots.empty()) {
    index = s.freeSlots.back();
    s.freeSlots.pop_back();
  } else {
    index = static_cast<uint32_t>(s.slots.size());
    s.slots.emplace_back();
  }
  Slot& slot = s.slots[index];
  slot.bytes = ViewBytes(t);
  slot.cuda = t.is_cuda();
  slot.tensor = std::move(t);
  s.liveTensors++;
  if (slot.cuda) {
    s.cudaBytes += slot.bytes;
    s.cudaTensors++;
  } else {
    s.cpuBytes += slot.bytes;
    ReportBytes(env, s, slot.bytes);
  }
  uint64_t code = (static_cast<uint64_t>(slot.generation) << 32) | (static_cast<uint64_t>(index) + 1);
  return Napi::BigInt::New(env, code ^ s.handleKey);
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

static Slot* DecodeBits(EnvState& s, uint64_t bits, bool* stale) {
  *stale = false;
  uint64_t code = bits ^ s.handleKey;
  uint64_t index = (code & 0xffffffffu);
  uint32_t generation = static_cast<uint32_t>(static_cast<uint64_t>(code) >> 32);
  if (index == 0 || index > s.slots.size()) return nullptr;
  Slot& slot = s.slots[index - 1];
  if (slot.generation != generation || !slot.tensor.defined()) *stale = true;
  return &slot;
}

static Slot* Decode(EnvState& s, const Napi::Value& v, bool* stale) {
  *stale = false;
  if (!v.IsBigInt()) return nullptr;
  bool lossless = false;
  uint64_t bits = v.As<Napi::BigInt>().Uint64Value(&lossless);
  return lossless ? DecodeBits(s, bits, stale) : nullptr;
}

Slot* SlotOf(Napi::Env env, const Napi::Value& v) {
  bool stale;
  Slot* slot = Decode(State(env), v, &stale);
  return slot && !stale ? slot : nullptr;
}

static bool Release(Napi::Env env, EnvState& s, Slot* slot, bool stale) {
  if (!slot || stale) return false;
  slot->tensor = at::Tensor();
  slot->generation++;  // every outstanding handle to this slot is now stale
  s.liveTensors--;
  if (slot->cuda) {
    s.cudaBytes -= slot->bytes;
    s.cudaTensors--;
  } else {
    s.cpuBytes -= slot->bytes;
    ReportBytes(env, s, -slot->bytes);
  }
  s.freeSlots.push_back(static_cast<uint32_t>(slot - s.slots.data()));
  return true;
}

ReleaseResult ReleaseHandle(Napi::Env env, const Napi::Value& v) {
  auto& s = State(env);
  bool stale;
  Slot* slot = Decode(s, v, &stale);
  if (!slot) return ReleaseResult::NotAHandle;
  return Release(env, s, slot, stale) ? ReleaseResult::Freed : ReleaseResult::AlreadyFreed;
}

bool ReleaseHandleBits(Napi::Env env, uint64_t bits) {
  auto& s = State(env);
  bool stale;
  Slot* slot = DecodeBits(s, bits, &stale);
  return Release(env, s, slot, stale);
}

// ---------------------------------------------------------------- arguments

// A number as JS would print it: integers in full (2**64 is 18446744073709551616, not 1.84467e+19),
// others with the digits that tell them apart.
std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  if (std::floor(d) == d && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  for (int prec = 15; prec <= 17; ++prec) {  // the shortest that reads back as d
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

std::string DescribeTensor(const at::Tensor& t) {
  std::string dtype = DtypeName(t.scalar_type());
  std::string s = std::string(dtype[0] == 'i' || dtype[0] == 'u' ? "an " : "a ") + dtype + " Tensor of shape [";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  s += "]";
  if (!t.device().is_cpu()) s += " on " + t.device().str();
  return s;
}

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return "number " + FormatNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > 40) s = s.substr(0, 40) + "...";
    return "string '" + s + "'";
  }
  if (v.IsBigInt()) {
    bool stale;
    Slot* slot = Decode(State(v.Env()), v, &stale);
    if (!slot) return "a bigint";
    return stale ? "a disposed Tensor" : DescribeTensor(slot->tensor);
  }
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

// ---------------------------------------------------------------- errors

namespace {
struct Field {
  const char* key;
  std::string value;
};
}  // namespace

// Builds the TorchError (message, {code, op, ...fields}) and throws it. Before setErrorClass ran
// (only setErrorClass itself can fail then) it is a plain Error carrying the same fields.
[[noreturn]] static void ThrowFields(Napi::Env env, const std::string& message, std::initializer_list<Field> fields) {
  auto& state = State(env);
  Napi::Object f = Napi::Object::New(env);
  for (const auto& kv : fields) f.Set(kv.key, Napi::String::New(env, kv.value));
  Napi::Object err;
  if (!state.torchError.IsEmpty()) {
    err = state.torchError.New({Napi::String::New(env, message), f});
  } else {
    err = Napi::Error::New(env, message).Value();
    for (const auto& kv : fields) err.Set(kv.key, Napi::String::New(env, kv.value));
  }
  throw Napi::Error(env, err);
}

void ThrowInvalid(Napi::Env env, const std::string& parameter, const std::string& expected, const std::string& received, const std::string& message) {
  std::string op = CurrentOp();
  std::string body = message.empty() ? "argument '" + parameter + "' must be " + expected + ", received " + received : message;
  ThrowFields(env, op + "(): " + body,
              {{"code", "ERR_INVALID_ARG"}, {"op", op}, {"parameter", parameter}, {"expected", expected}, {"received", received}});
}

void ThrowArg(const Napi::CallbackInfo& info, size_t i, const char* name, const char* expected) {
  Napi::Value v = i < info.Length() ? info[i] : info.Env().Undefined();
  ThrowInvalid(info.Env(), name, expected, Describe(v));
}

void ThrowRange(const Napi::CallbackInfo& info, const std::string& message) {
  std::string op = CurrentOp();
  ThrowFields(info.Env(), op + "(): " + message, {{"code", "ERR_INVALID_ARG"}, {"op", op}});
}

// True for a tensor handle of this environment, live or disposed.
bool IsTensor(const Napi::Value& v) {
  bool stale;
  return Decode(State(v.Env()), v, &stale) != nullptr;
}

[[noreturn]] static void ThrowDisposed(Napi::Env env, const std::string& name) {
  std::string op = CurrentOp();
  std::string msg = op + "(): argument '" + name +
                    "' is a disposed Tensor: it was freed by dispose() or by the tidy() scope that made it; keep() it or clone() it to use it later";
  ThrowFields(env, msg, {{"code", "ERR_TENSOR_DISPOSED"}, {"op", op}, {"parameter", name}, {"expected", "a live Tensor"}, {"received", "a disposed Tensor"}});
}

at::Tensor& TensorOf(const Napi::CallbackInfo& info, const Napi::Value& v, size_t i, const char* name) {
  bool stale;
  Slot* slot = Decode(State(info.Env()), v, &stale);
  if (!slot) ThrowArg(info, i, name, "a Tensor");
  if (stale) ThrowDisposed(info.Env(), name);
  return slot->tensor;
}

at::Tensor* MaybeTensorOf(const Napi::CallbackInfo& info, const Napi::Value& v, const char* name, int64_t element) {
  bool stale;
  Slot* slot = Decode(State(info.Env()), v, &stale);
  if (!slot) return nullptr;
  if (stale) ThrowDisposed(info.Env(), element < 0 ? std::string(name) : std::string(name) + "[" + std::to_string(element) + "]");
  return &slot->tensor;
}

at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TensorOf(info, ArgAt(info, i), i, name);
}

Napi::Value HandleValueArg(const Napi::CallbackInfo& info, size_t i, const char* name) { return ArgAt(info, i); }

TensorOrScalar TensorOrScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  TensorOrScalar out;
  out.tensor = MaybeTensorOf(info, v, name);
  if (out.tensor) return out;
  if (!v.IsNumber() && !v.IsBoolean()) ThrowArg(info, i, name, "a Tensor or a number");
  out.scalar = ScalarArg(info, i, name);
  return out;
}

at::Tensor& IndexTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  at::Tensor& t = TensorArg(info, i, name);
  if (t.scalar_type() != at::kLong) ThrowInvalid(info.Env(), name, "an int64 Tensor (indices)", DescribeTensor(t));
  return t;
}

c10::optional<at::Tensor> OptTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  at::Tensor* t = MaybeTensorOf(info, v, name);
  if (!t) ThrowArg(info, i, name, "a Tensor, null or undefined");
  return *t;
}

std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsArray()) ThrowArg(info, i, name, "an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value e = arr.Get(k);
    at::Tensor* t = MaybeTensorOf(info, e, name, k);
    if (!t) ThrowInvalid(info.Env(), std::string(name) + "[" + std::to_string(k) + "]", "a Tensor", Describe(e));
    out.push_back(*t);
  }
  return out;
}

static bool IsInteger(double d) { return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0; }

// An integer-valued number beyond 2^53 is an integer, just not one a JS number holds exactly.
[[noreturn]] static void ThrowNotInteger(const Napi::CallbackInfo& info, const std::string& name, const Napi::Value& v) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && std::floor(d) == d) ThrowInvalid(info.Env(), name, "an integer of magnitude below 2^53 (Number.MAX_SAFE_INTEGER + 1)", FormatNumber(d));
  }
  ThrowInvalid(info.Env(), name, "an integer", Describe(v));
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsNumber() || !IsInteger(v.As<Napi::Number>().DoubleValue())) ThrowNotInteger(info, name, v);
  return v.As<Napi::Number>().Int64Value();
}

c10::optional<int64_t> OptIntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return IntArg(info, i, name);
}

double NumArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsNumber()) ThrowArg(info, i, name, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::optional<double> OptNumArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return NumArg(info, i, name);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsBoolean()) ThrowArg(info, i, name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

c10::optional<bool> OptBoolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  if (!v.IsBoolean()) ThrowArg(info, i, name, "a boolean, null or undefined");
  return v.As<Napi::Boolean>().Value();
}

std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsNumber()) return {IntArg(info, i, name)};
  if (!v.IsArray()) ThrowArg(info, i, name, "an integer or an array of integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value e = arr.Get(k);
    if (!e.IsNumber() || !IsInteger(e.As<Napi::Number>().DoubleValue())) ThrowNotInteger(info, std::string(name) + "[" + std::to_string(k) + "]", e);
    out[k] = e.As<Napi::Number>().Int64Value();
  }
  return out;
}

c10::optional<std::vector<int64_t>> OptIntListArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return IntListArg(info, i, name);
}

c10::SmallVector<int64_t, 8> IntRestArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  c10::SmallVector<int64_t, 8> out;
  if (ArgAt(info, i).IsArray()) {
    for (int64_t d : IntListArg(info, i, name)) out.push_back(d);
    return out;
  }
  // the numbers themselves, read straight from the arguments (no array to walk element by element)
  for (size_t k = i; k < info.Length(); ++k) {
    Napi::Value e = info[k];
    if (!e.IsNumber() || !IsInteger(e.As<Napi::Number>().DoubleValue())) ThrowNotInteger(info, std::string(name) + "[" + std::to_string(k - i) + "]", e);
    out.push_back(e.As<Napi::Number>().Int64Value());
  }
  return out;
}

// JS numbers that are whole become integer scalars (like Python's `1`), so an
// int tensor plus 1 stays an int tensor; others are doubles.
at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) ThrowArg(info, i, name, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (IsInteger(d)) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

c10::optional<at::Scalar> OptScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return ScalarArg(info, i, name);
}

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
static const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
    {"uint8", at::kByte},    {"bool", at::kBool},
};

const char* DtypeName(at::ScalarType t) {
  for (const auto& e : kDtypes)
    if (e.type == t) return e.name;
  return "unsupported";
}

at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    for (const auto& e : kDtypes)
      if (s == e.name) return e.type;
  }
  ThrowArg(info, i, name, "a dtype: 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8' or 'bool'");
}

c10::optional<at::ScalarType> OptDtypeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return DtypeArg(info, i, name);
}

c10::Device DeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "cpu") return c10::Device(c10::kCPU);
    if (s == "cuda" || (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9 && s.find_first_not_of("0123456789", 5) == std::string::npos)) {
      int index = s == "cuda" ? 0 : std::stoi(s.substr(5));
      // torch-gan's words, not the dispatcher's ("Could not run 'aten::empty.memory_format' with arguments from the 'CUDA' backend...")
      if (!torch::cuda::is_available()) {
        throw std::runtime_error("argument '" + std::string(name) + "' is '" + s + "' but CUDA is not available (" +
#ifdef TORCH_GAN_CUDA
                                 "no usable GPU or driver found"
#else
                                 "this torch-gan was built against a CPU-only libtorch"
#endif
                                 "); use 'cpu'");
      }
      int64_t count = static_cast<int64_t>(torch::cuda::device_count());
      if (index >= count) {
        throw std::runtime_error("argument '" + std::string(name) + "' is '" + s + "' but there " + (count == 1 ? "is 1 GPU (cuda:0)" : "are " + std::to_string(count) + " GPUs (cuda:0 to cuda:" + std::to_string(count - 1) + ")"));
      }
      return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  ThrowArg(info, i, name, "a device: 'cpu', 'cuda' or 'cuda:N'");
}

c10::optional<c10::Device> OptDeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return DeviceArg(info, i, name);
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsString()) ThrowArg(info, i, name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsFunction()) ThrowArg(info, i, name, "a function (a class)");
  return v.As<Napi::Function>();
}

// ---------------------------------------------------------------- the boundary

[[noreturn]] static void ThrowTorchError(Napi::Env env, const char* op, const std::string& message, const char* code) {
  // libtorch messages can span lines (e.g. shape reports); keep them whole but trimmed.
  // libtorch sometimes names the op itself ("permute(sparse_coo): ..."): say it once, in torch-gan's form
  std::string body = message;
  if (body.rfind(std::string(op) + "(", 0) == 0) {
    size_t end = body.find("): ");
    if (end != std::string::npos && end < 64) body = body.substr(end + 3);
  }
  std::string msg = std::string(op) + "(): " + body;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  ThrowFields(env, msg, {{"code", code}, {"op", op}});
}

void RethrowAsJs(Napi::Env env, const char* op) {
  try {
    throw;
  } catch (const CodedError& e) {
    ThrowTorchError(env, op, e.what(), e.code.c_str());
  } catch (const c10::OutOfMemoryError& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH_OUT_OF_MEMORY");
  } catch (const c10::IndexError& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH_INDEX");
  } catch (const c10::TypeError& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH_TYPE");
  } catch (const c10::ValueError& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH_VALUE");
  } catch (const c10::NotImplementedError& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH_NOT_IMPLEMENTED");
  } catch (const c10::Error& e) {
    ThrowTorchError(env, op, e.what_without_backtrace(), "ERR_TORCH");
  } catch (const std::bad_alloc&) {
    ThrowTorchError(env, op, "out of memory", "ERR_TORCH_OUT_OF_MEMORY");
  } catch (const std::exception& e) {
    ThrowTorchError(env, op, e.what(), "ERR_TORCH");
  } catch (...) {
    ThrowTorchError(env, op, "unknown native error", "ERR_TORCH");
  }
}

Napi::Value JsErrorOf(Napi::Env env, const char* op, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Napi::Error& e) {
    return e.Value();
  } catch (...) {
    try {
      RethrowAsJs(env, op);
    } catch (const Napi::Error& e) {
      return e.Value();
    }
  }
  return env.Undefined();  // not reached: RethrowAsJs always throws
}

}  // namespace tg
