// Autocast (mixed precision): the thread-local state behind lib/autograd's autocast(fn). While it
// is on for a device, libtorch's dispatcher runs the ops on its lower-precision list
// (convolutions, matrix products) in the autocast dtype and those on its fp32 list in float32,
// casting their inputs; a cast of a weight (a leaf requiring grad) is cached until the cache is
// cleared, so one region casts each weight once. The state is per thread, like grad mode: N-API
// calls run on the JS thread, so each JS thread (a worker) has its own.
//
// autocastEnter / autocastExit are what torch.autocast's __enter__ / __exit__ do: enter saves the
// previous state, sets the new one and counts the nesting; exit restores the state and, when the
// outermost region ends, clears the cast cache (a weight updated by an optimizer after the region
// must not be read back from a stale bf16 copy).
#include "common.h"
#include "compat.h"

namespace tg {

// The device type whose autocast state an op reads or sets: the CPU, or CUDA where this addon was
// built against libtorch_cuda (a CPU-only addon would set a state no op of it ever reads).
// ts: 'cpu' | 'cuda'
static c10::DeviceType AutocastDeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return c10::DeviceType::CPU;
  if (s == "cuda") {
#ifdef TORCH_GAN_CUDA
    return c10::DeviceType::CUDA;
#else
    ThrowInvalid(info.Env(), name, "'cpu' (this addon was built against a CPU-only libtorch, so it has no CUDA autocast)", "'cuda'");
#endif
  }
  ThrowArg(info, i, name, "'cpu' or 'cuda'");
}

// The lower-precision dtype of an autocast region (which of them a device accepts is checked in
// lib/autograd, in torch-gan's words).
// ts: 'bfloat16' | 'float16'
static at::ScalarType AutocastDtypeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  at::ScalarType t = DtypeArg(info, i, name);
  if (t != at::kBFloat16 && t != at::kHalf) ThrowArg(info, i, name, "'bfloat16' or 'float16'");
  return t;
}

static Napi::Value StateObject(Napi::Env env, c10::DeviceType device) {
  auto o = Napi::Object::New(env);
  o.Set("enabled", Napi::Boolean::New(env, AutocastEnabled(device)));
  o.Set("dtype", Napi::String::New(env, DtypeName(AutocastDtype(device))));
  return o;
}

void RegisterAutocast(Napi::Env env, Napi::Object exports) {
  // This thread's autocast state for the device: whether it is on, and its dtype.
  // returns: { enabled: boolean; dtype: DType }
  TG_OP(exports, "autocastState", { return StateObject(info.Env(), AutocastDeviceArg(info, 0, "device")); });
  // Opens an autocast region: sets enabled and dtype, counts one more level of nesting; returns
  // the state before, for autocastExit.
  // returns: { enabled: boolean; dtype: DType }
  TG_OP(exports, "autocastEnter", {
    c10::DeviceType device = AutocastDeviceArg(info, 0, "device");
    bool enabled = BoolArg(info, 1, "enabled");
    at::ScalarType dtype = AutocastDtypeArg(info, 2, "dtype");
    Napi::Value prev = StateObject(info.Env(), device);
    SetAutocastDtype(device, dtype);
    SetAutocastEnabled(device, enabled);
    at::autocast::increment_nesting();
    return prev;
  });
  // Closes a region: restores the state autocastEnter returned and, when this was the outermost
  // region, clears the cast cache. true when it cleared it.
  TG_OP(exports, "autocastExit", {
    c10::DeviceType device = AutocastDeviceArg(info, 0, "device");
    bool enabled = BoolArg(info, 1, "enabled");
    at::ScalarType dtype = AutocastDtypeArg(info, 2, "dtype");
    bool outermost = at::autocast::decrement_nesting() == 0;
    if (outermost) at::autocast::clear_cache();
    SetAutocastEnabled(device, enabled);
    SetAutocastDtype(device, dtype);
    return Napi::Boolean::New(info.Env(), outermost);
  });
}

}  // namespace tg
