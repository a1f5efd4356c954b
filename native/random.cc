// Random numbers: the generators of one JS environment (the main thread and each worker
// thread are environments of their own) and every op that draws from them.
//
// libtorch's default generators are process-global: two worker threads training at once would
// interleave their draws, so neither run would be reproducible, and saving "the" state would
// save a mix. Each environment therefore owns its generators (one CPU, one per CUDA device,
// created on first use and seeded like PyTorch's default ones), and every random op here passes
// its environment's generator explicitly. A fresh CPUGeneratorImpl seeded with s draws exactly
// what the default generator seeded with s draws, so fixtures made by PyTorch still match.
#include "creation.h"

#include <optional>
#include <unordered_map>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#ifdef TORCH_GAN_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

namespace tg {

struct RngStore {
  std::optional<at::Generator> cpu;
  std::unordered_map<int, at::Generator> cuda;
  // manualSeed() before a CUDA generator exists: it starts from this seed when created.
  std::optional<uint64_t> seed;
};

static RngStore& Store(Napi::Env env) {
  auto& s = State(env);
  if (!s.rng) s.rng = std::make_shared<RngStore>();
  return *s.rng;
}

static at::Generator& CpuGenerator(Napi::Env env) {
  auto& store = Store(env);
  if (!store.cpu) store.cpu = at::make_generator<at::CPUGeneratorImpl>(store.seed.value_or(at::default_rng_seed_val));
  return *store.cpu;
}

static at::Generator& CudaGenerator(Napi::Env env, int index) {
#ifdef TORCH_GAN_CUDA
  auto& store = Store(env);
  auto it = store.cuda.find(index);
  if (it == store.cuda.end()) {
    at::Generator gen = at::cuda::detail::createCUDAGenerator(static_cast<c10::DeviceIndex>(index));
    if (store.seed) gen.set_current_seed(*store.seed);
    it = store.cuda.emplace(index, std::move(gen)).first;
  }
  return it->second;
#else
  (void)env;
  (void)index;
  throw std::runtime_error("CUDA is not available: this addon was built against a CPU-only libtorch");
#endif
}

// The generator for tensors on `device` (a CUDA device without an index means the current one).
static at::Generator& GeneratorFor(Napi::Env env, const at::Device& device) {
  if (device.is_cpu()) return CpuGenerator(env);
  if (device.is_cuda()) {
    int index = device.has_index() ? device.index() : 0;
#ifdef TORCH_GAN_CUDA
    if (!device.has_index()) index = c10::cuda::current_device();
#endif
    return CudaGenerator(env, index);
  }
  throw std::runtime_error("no random generator for device " + device.str());
}

// The CUDA device an argument names (an index, default 0), checked against the devices present.
// ts: number | null | undefined
static int CudaIndexArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!torch::cuda::is_available()) throw std::runtime_error("CUDA is not available");
  int64_t d = OptIntArg(info, i, name).value_or(0);
  int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (d < 0 || d >= n) ThrowInvalid(info.Env(), name, "a CUDA device index in [0, " + std::to_string(n) + ")", std::to_string(d));
  return static_cast<int>(d);
}

// A seed: a non-negative integer number, or a bigint below 2^64 (libtorch's seeds are uint64).
// ts: number | bigint
static uint64_t SeedArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t seed = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowInvalid(info.Env(), name, "in [0, 2^64)", "a bigint outside it");
    return seed;
  }
  int64_t s = IntArg(info, i, name);
  if (s < 0) ThrowInvalid(info.Env(), name, "non-negative", std::to_string(s));
  return static_cast<uint64_t>(s);
}

static at::Tensor GetState(at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

static void SetState(at::Generator& gen, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void RegisterRandom(Napi::Env env, Napi::Object exports) {
  // manualSeed(seed): a non-negative integer number, or a bigint below 2^64 (libtorch's seeds are
  // uint64). Seeds this environment's CPU generator and its CUDA ones (those made later too).
  TG_OP(exports, "manualSeed", {
    uint64_t seed = SeedArg(info, 0, "seed");
    auto& store = Store(info.Env());
    store.seed = seed;
    at::Generator& cpu = CpuGenerator(info.Env());
    {
      std::lock_guard<std::mutex> lock(cpu.mutex());
      cpu.set_current_seed(seed);
    }
    for (auto& [index, gen] : store.cuda) {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return info.Env().Undefined();
  });
  TG_OP(exports, "getRngState", { return Wrap(info.Env(), GetState(CpuGenerator(info.Env()))); });
  TG_OP(exports, "setRngState", {
    SetState(CpuGenerator(info.Env()), TensorArg(info, 0, "state"));
    return info.Env().Undefined();
  });
  // cudaManualSeed(seed): this environment's CUDA generators only.
  TG_OP(exports, "cudaManualSeed", {
    uint64_t seed = SeedArg(info, 0, "seed");
    auto& store = Store(info.Env());
    store.seed = seed;
    for (auto& [index, gen] : store.cuda) {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return info.Env().Undefined();
  });
  // One CUDA device's generator state (saved in checkpoints beside the CPU one).
  TG_OP(exports, "cudaGetRngState", { return Wrap(info.Env(), GetState(CudaGenerator(info.Env(), CudaIndexArg(info, 0, "device")))); });
  TG_OP(exports, "cudaSetRngState", {
    int index = CudaIndexArg(info, 0, "device");
    SetState(CudaGenerator(info.Env(), index), TensorArg(info, 1, "state"));
    return info.Env().Undefined();
  });

  TG_OP(exports, "rand", {
    auto opts = OptionsArg(info, 1);
    return Wrap(info.Env(), at::rand(SizeArg(info, 0, "shape"), GeneratorFor(info.Env(), opts.device()), opts));
  });
  TG_OP(exports, "randn", {
    auto opts = OptionsArg(info, 1);
    return Wrap(info.Env(), at::randn(SizeArg(info, 0, "shape"), GeneratorFor(info.Env(), opts.device()), opts));
  });
  // integers in [low, high), int64 unless dtype says otherwise
  TG_OP(exports, "randint", {
    int64_t low = IntArg(info, 0, "low"), high = IntArg(info, 1, "high");
    auto shape = SizeArg(info, 2, "shape");
    auto opts = at::TensorOptions().dtype(OptDtypeArg(info, 3, "dtype").value_or(at::kLong));
    if (auto device = OptDeviceArg(info, 4, "device")) opts = opts.device(*device);
    return Wrap(info.Env(), at::randint(low, high, shape, GeneratorFor(info.Env(), opts.device()), opts));
  });
  // *_like: an optional dtype override; the device follows the source, requires_grad never does;
  // FILL draws into `out` from the environment's generator `gen`.
#define TG_RANDOM_LIKE(NAME, FILL)                                              \
  TG_OP(exports, NAME, {                                                        \
    auto& t = TensorArg(info, 0, "input");                                      \
    auto opts = t.options().requires_grad(false);                               \
    if (auto d = OptDtypeArg(info, 1, "dtype")) opts = opts.dtype(*d);          \
    at::Tensor out = at::empty_like(t, opts);                                   \
    at::Generator& gen = GeneratorFor(info.Env(), out.device());                \
    return Wrap(info.Env(), FILL);                                              \
  })
  TG_RANDOM_LIKE("randLike", out.uniform_(0, 1, gen));
  TG_RANDOM_LIKE("randnLike", out.normal_(0, 1, gen));
#undef TG_RANDOM_LIKE
  TG_OP(exports, "uniform_", {
    auto& self = TensorArg(info, 0, "self");
    self.uniform_(NumArg(info, 1, "from"), NumArg(info, 2, "to"), GeneratorFor(info.Env(), self.device()));
    return info.Env().Undefined();
  });
  TG_OP(exports, "normal_", {
    auto& self = TensorArg(info, 0, "self");
    self.normal_(NumArg(info, 1, "mean"), NumArg(info, 2, "std"), GeneratorFor(info.Env(), self.device()));
    return info.Env().Undefined();
  });
  // dropout(x, p, training): at::dropout draws from the process-global generator, so this is its
  // formula (x * bernoulli(1 - p) / (1 - p)) with the environment's generator.
  TG_OP(exports, "dropout", {
    auto& x = TensorArg(info, 0, "input");
    double p = NumArg(info, 1, "p");
    bool training = BoolArg(info, 2, "training");
    if (p < 0 || p > 1) ThrowInvalid(info.Env(), "p", "a probability in [0, 1]", FormatNumber(p));
    if (!training || p == 0) return Wrap(info.Env(), x);
    if (p == 1) return Wrap(info.Env(), x * at::zeros_like(x));
    at::Tensor keep = at::empty_like(x, x.options().requires_grad(false)).bernoulli_(1 - p, GeneratorFor(info.Env(), x.device()));
    return Wrap(info.Env(), x * keep.div_(1 - p));
  });
}

}  // namespace tg
