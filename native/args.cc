// Argument conversion for plain values: integers, numbers, booleans, scalars, dtypes, devices,
// strings and functions, each refused with the parameter's name, what was expected and what was
// received (tensor handles are converted in core.cc, beside the handle table).
#include "common.h"

#include <cmath>

namespace tg {

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

}  // namespace tg
