// CUDA queries. Compiles against CPU-only and CUDA libtorch alike; allocator
// statistics only where libtorch_cuda is linked (TORCH_GAN_CUDA).
#include "common.h"

#include <torch/cuda.h>

#ifdef TORCH_GAN_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace tg {

void RegisterDevice(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "cudaIsAvailable", { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); });
  TG_OP(exports, "cudaDeviceCount", { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); });
  TG_OP(exports, "cudaSynchronize", {
    if (!torch::cuda::is_available()) throw std::runtime_error("CUDA is not available");
    torch::cuda::synchronize(OptIntArg(info, 0, "device").value_or(-1));
    return info.Env().Undefined();
  });
  TG_OP(exports, "cudaManualSeed", {
    torch::cuda::manual_seed_all(static_cast<uint64_t>(IntArg(info, 0, "seed")));
    return info.Env().Undefined();
  });
  TG_OP(exports, "cudaMemoryStats", {
    auto o = Napi::Object::New(info.Env());
#ifdef TORCH_GAN_CUDA
    int device = static_cast<int>(OptIntArg(info, 0, "device").value_or(0));
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    const size_t all = 0;  // StatType::AGGREGATE; the enum moved between libtorch versions
    o.Set("allocatedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.allocated_bytes[all].current)));
    o.Set("peakAllocatedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.allocated_bytes[all].peak)));
    o.Set("reservedBytes", Napi::Number::New(info.Env(), static_cast<double>(stats.reserved_bytes[all].current)));
#endif
    return o;
  });
  TG_OP(exports, "cudaEmptyCache", {
#ifdef TORCH_GAN_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
    return info.Env().Undefined();
  });
}

}  // namespace tg
