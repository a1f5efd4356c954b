// Handles (and tensor arguments, which decode them) and the error boundary; plain arguments are args.cc.
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
