// CUDA queries. Compiles against CPU-only and CUDA libtorch alike; allocator
// statistics only where libtorch_cuda is linked (TORCH_GAN_CUDA).
#include "common.h"

#include <torch/cuda.h>

#ifdef TORCH_GAN_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace tg {

// The CUDA device an argument names (an index, default 0), checked against the devices present.
// ts: number | null | undefined
[[maybe_unused]] static int CudaDeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!torch::cuda::is_available()) throw std::runtime_error("CUDA is not available");
  int64_t d = OptIntArg(info, i, name).value_or(0);
  int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (d < 0 || d >= n) {
    ThrowInvalid(info.Env(), name, "a CUDA device index in [0, " + std::to_string(n) + ")", std::to_string(d));
  }
  return static_cast<int>(d);
}

[[maybe_unused]] static const char* kCpuOnlyBuild = "CUDA is not available: this addon was built against a CPU-only libtorch";

void RegisterDevice(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "cudaIsAvailable", { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); });
  TG_OP(exports, "cudaDeviceCount", { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); });
  TG_OP(exports, "cudaSynchronize", {
    if (!torch::cuda::is_available()) throw std::runtime_error("CUDA is not available");
    torch::cuda::synchronize(OptIntArg(info, 0, "device").value_or(-1));
    return info.Env().Undefined();
  });
  // The caching allocator's counters (none in a CPU-only build).
  // returns: { allocatedBytes?: number; peakAllocatedBytes?: number; reservedBytes?: number }
  TG_OP(exports, "cudaMemoryStats", {
    auto o = Napi::Object::New(info.Env());
#ifdef TORCH_GAN_CUDA
    int device = CudaDeviceArg(info, 0, "device");
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    const size_t all = 0;  // StatType::AGGREGATE; the enum moved between libtorch versions
    o.Set("allocatedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.allocated_bytes[all].current)));
    o.Set("peakAllocatedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.allocated_bytes[all].peak)));
    o.Set("reservedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.reserved_bytes[all].current)));
#endif
    return o;
  });
  // Streams: the id of the device's current stream, and waiting for it alone.
  TG_OP(exports, "cudaCurrentStream", {
#ifdef TORCH_GAN_CUDA
    auto stream = c10::cuda::getCurrentCUDAStream(CudaDeviceArg(info, 0, "device"));
    return Napi::Number::New(info.Env(), static_cast<double>(stream.id()));
#else
    throw std::runtime_error(kCpuOnlyBuild);
#endif
  });
  TG_OP(exports, "cudaStreamSynchronize", {
#ifdef TORCH_GAN_CUDA
    c10::cuda::getCurrentCUDAStream(CudaDeviceArg(info, 0, "device")).synchronize();
    return info.Env().Undefined();
#else
    throw std::runtime_error(kCpuOnlyBuild);
#endif
  });
  TG_OP(exports, "cudaEmptyCache", {
#ifdef TORCH_GAN_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
    return info.Env().Undefined();
  });
}

}  // namespace tg
