// Module entry: per-environment state, lifetime, memory report, library info.
#include "common.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <random>
#include <thread>

#include "compat.h"
#include "cpu_kernels.h"

namespace tg {

static const int64_t kMaxThreadsPerCore = 4;
static const int64_t kMinThreadBound = 64;
static int64_t HardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}
// The most intra-op threads setNumThreads accepts.
static int64_t MaxNumThreads() { return std::max(kMinThreadBound, kMaxThreadsPerCore * HardwareThreads()); }

// Many handles: a BigUint64Array of their bits (read as plain memory) or an array of handles.
// ts: BigUint64Array | NativeHandle[]
static Napi::Value HandleBatchArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  bool bits = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_biguint64_array;
  if (!bits && !v.IsArray()) ThrowArg(info, i, name, "an array of Tensors or a BigUint64Array of handles");
  return v;
}

void RegisterTensorCore(Napi::Env env, Napi::Object exports) {
  // The JS error class is handed in once, so native errors are real TorchErrors.
  TG_OP(exports, "setErrorClass", {
    State(info.Env()).torchError = Napi::Persistent(FunctionArg(info, 0, "cls"));
    return info.Env().Undefined();
  });
  // true when this call freed the tensor, false when it was already freed
  TG_OP(exports, "dispose", {
    ReleaseResult r = ReleaseHandle(info.Env(), HandleValueArg(info, 0, "tensor"));
    if (r == ReleaseResult::NotAHandle) ThrowArg(info, 0, "tensor", "a Tensor");
    return Napi::Boolean::New(info.Env(), r == ReleaseResult::Freed);
  });
  // Frees many handles in one call (what tidy() does at the end of a scope): a BigUint64Array of
  // handles is read as plain memory, an array element by element.
  TG_OP(exports, "disposeMany", {
    Napi::Value batch = HandleBatchArg(info, 0, "tensors");
    if (batch.IsTypedArray()) {
      auto bits = batch.As<Napi::TypedArrayOf<uint64_t>>();
      for (size_t k = 0; k < bits.ElementLength(); ++k) ReleaseHandleBits(info.Env(), bits[k]);
      return info.Env().Undefined();
    }
    auto arr = batch.As<Napi::Array>();
    uint32_t n = arr.Length();
    for (uint32_t k = 0; k < n; ++k) ReleaseHandle(info.Env(), arr.Get(k));
    return info.Env().Undefined();
  });
  TG_OP(exports, "isDisposed", {
    Napi::Value h = HandleValueArg(info, 0, "tensor");
    if (!IsTensor(h)) ThrowArg(info, 0, "tensor", "a Tensor");
    return Napi::Boolean::New(info.Env(), SlotOf(info.Env(), h) == nullptr);
  });
  // returns: { tensors: number; cpuBytes: number; cudaTensors: number; cudaBytes: number }
  TG_OP(exports, "memoryCounters", {
    auto& c = State(info.Env());
    auto o = Napi::Object::New(info.Env());
    o.Set("tensors", Napi::Number::New(info.Env(), static_cast<double>(c.liveTensors)));
    o.Set("cpuBytes", Napi::Number::New(info.Env(), static_cast<double>(c.cpuBytes)));
    o.Set("cudaTensors", Napi::Number::New(info.Env(), static_cast<double>(c.cudaTensors)));
    o.Set("cudaBytes", Napi::Number::New(info.Env(), static_cast<double>(c.cudaBytes)));
    return o;
  });
  // returns: { torchVersion: string; libtorchFile?: string; cudaCompiled: boolean; parallelInfo: string;
  //   blas: 'mkl' | 'external'; mkldnn: boolean }
  TG_OP(exports, "libraryInfo", {
    auto env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
    // The libtorch library this process actually runs (whatever discovery said): the file
    // that holds one of its functions.
    Dl_info where{};
    if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &where) && where.dli_fname) {
      o.Set("libtorchFile", Napi::String::New(env, where.dli_fname));
    }
    o.Set("cudaCompiled", Napi::Boolean::New(env,
#ifdef TORCH_GAN_CUDA
                                              true
#else
                                              false
#endif
                                              ));
    o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
    o.Set("blas", Napi::String::New(env, at::globalContext().hasMKL() ? "mkl" : "external"));
    o.Set("mkldnn", Napi::Boolean::New(env, at::globalContext().userEnabledMkldnn() && at::hasMKLDNN()));
    return o;
  });
  TG_OP(exports, "getNumThreads", { return Napi::Number::New(info.Env(), at::get_num_threads()); });
  TG_OP(exports, "setNumThreads", {
    int64_t n = IntArg(info, 0, "n");
    if (n < 1) ThrowInvalid(info.Env(), "n", "a positive integer", std::to_string(n));
    // OpenMP starts every thread asked for: 1e9 aborts the process (libgomp out of memory) and
    // thousands spin for minutes. More threads than cores never speeds an op up; the bound leaves
    // room for oversubscription (kMaxThreadsPerCore per core, at least kMinThreadBound).
    const int64_t bound = MaxNumThreads();
    if (n > bound) {
      ThrowInvalid(info.Env(), "n",
                   "at most " + std::to_string(bound) + " (" + std::to_string(kMaxThreadsPerCore) + " per core on " + std::to_string(HardwareThreads()) +
                       " cores, at least " + std::to_string(kMinThreadBound) + ")",
                   std::to_string(n));
    }
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
  TG_OP(exports, "maxNumThreads", { return Napi::Number::New(info.Env(), static_cast<double>(MaxNumThreads())); });
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new EnvState();
  std::random_device entropy;  // handles of one environment mean nothing in another
  state->handleKey = static_cast<uint64_t>(entropy()) << 32 | entropy();
  env.SetInstanceData<EnvState>(state);
  RegisterTensorCore(env, exports);
  RegisterCreation(env, exports);
  RegisterMath(env, exports);
  RegisterShape(env, exports);
  RegisterNN(env, exports);
  RegisterAutograd(env, exports);
  RegisterDevice(env, exports);
  RegisterDistributed(env, exports);
  RegisterRandom(env, exports);
  RegisterAutocast(env, exports);
  RegisterProfiler(env, exports);
  return exports;
}

}  // namespace tg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tg::Init(env, exports); }
NODE_API_MODULE(torch_gan, InitModule)
