// Every difference between the libtorch versions torch-gan builds against (Debian 12's 1.13,
// the 2.x of pip wheels, the official zips and newer distributions) lives here, so the
// bindings read the same on all of them. What differs:
//
// - the version macros: 1.x defines TORCH_VERSION_* in torch/version.h; 2.x keeps them in
//   torch/headeronly/version.h, which torch/version.h includes;
// - Tensor::grad_fn() returns a std::shared_ptr<Node> in 1.x and a c10::intrusive_ptr<Node> in
//   recent 2.x: NodeRef names whichever it is, and RawNode() reads either;
// - libtorch 1.x's slow CPU kernels (transposed convolution without oneDNN, 1.x's double
//   backward of convolution) are the reason for most kernel substitutions: which apply on
//   which version is the table in cpu_kernels.cc, decided from bench/kernels.ts on each;
// - layer_norm of a bfloat16 input with float32 affine parameters: refused by 1.13 (LayerNorm below);
// - autocast's thread-local state (autocast.cc, cpu_kernels.cc): 1.13 has one function per
//   device (set_cpu_enabled, set_autocast_cpu_dtype, is_cpu_enabled; the CUDA ones are the
//   unprefixed set_enabled / *_gpu_dtype), 2.x one function taking the device type
//   (set_autocast_enabled(kCPU, b), ...), the per-device names kept only as deprecated wrappers;
// - c10d (torch.distributed's C++ core, used by distributed.cc only: see the section at the end).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <type_traits>

#ifndef TORCH_VERSION_MAJOR
#error "torch-gan: this libtorch defines no TORCH_VERSION_MAJOR (neither torch/version.h nor torch/headeronly/version.h)"
#endif

namespace tg {

constexpr int kLibtorchMajor = TORCH_VERSION_MAJOR;
constexpr int kLibtorchMinor = TORCH_VERSION_MINOR;
constexpr bool kLibtorch1x = TORCH_VERSION_MAJOR < 2;

// The smart pointer a tensor's grad_fn() hands out on this libtorch.
using NodeRef = std::decay_t<decltype(std::declval<const at::Tensor&>().grad_fn())>;

template <typename P>
inline torch::autograd::Node* RawNode(const P& p) {
  return p.get();
}

// Autocast state of this thread for a device type (kCPU or kCUDA: the only two torch-gan uses).
inline bool AutocastEnabled(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}
inline void SetAutocastEnabled(c10::DeviceType device, bool enabled) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(device, enabled);
#else
  device == c10::DeviceType::CPU ? at::autocast::set_cpu_enabled(enabled) : at::autocast::set_enabled(enabled);
#endif
}
inline at::ScalarType AutocastDtype(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}
// The dtype CPU autocast runs conv_transpose2d in: on the lower-precision list from 2.0 on, on
// the fp32 list in 1.13 (measured with PyTorch 1.13 and 2.13: scripts/fixtures/make_autocast_fixtures.py).
inline at::ScalarType AutocastConvTransposeDtype(at::ScalarType lower) { return kLibtorch1x ? at::kFloat : lower; }
// layer_norm of a bfloat16 input (a convolution's output under autocast) with float32 affine
// parameters: 2.x takes the mixed dtypes and computes in float; 1.13 refuses them ("expected scalar
// type BFloat16 but found Float", PyTorch 1.13's own autocast included). There it is computed in
// float and cast back, so it gives 2.x's dtype and its arithmetic.
inline at::Tensor LayerNorm(const at::Tensor& x, at::IntArrayRef shape, const c10::optional<at::Tensor>& weight,
                            const c10::optional<at::Tensor>& bias, double eps) {
  auto mixed = [&](const c10::optional<at::Tensor>& p) { return p && p->defined() && p->scalar_type() != x.scalar_type(); };
  if (kLibtorch1x && x.scalar_type() == at::kBFloat16 && (mixed(weight) || mixed(bias))) {
    return at::layer_norm(x.to(at::kFloat), shape, weight, bias, eps, true).to(x.scalar_type());
  }
  return at::layer_norm(x, shape, weight, bias, eps, true);
}
inline void SetAutocastDtype(c10::DeviceType device, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(device, dtype);
#else
  device == c10::DeviceType::CPU ? at::autocast::set_autocast_cpu_dtype(dtype) : at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

}  // namespace tg

// ---------------------------------------------------------------- c10d (distributed.cc only)
// A translation unit that wants c10d defines TG_COMPAT_C10D before including this header, so the
// other bindings do not pay for its headers. What differs between 1.13 and 2.x:
//
// - ProcessGroupGloo.hpp is compiled only with USE_C10D_GLOO defined, and it includes Gloo's own
//   headers (gloo/context.h, ...), which neither Debian's libtorch-dev nor the pip wheels ship:
//   they come from Debian's libgloo-dev. Without them distributed.cc builds a stub that says so;
// - 1.13: ProcessGroupGloo derives from ProcessGroup and its Options from ProcessGroup::Options,
//   with `threads` left uninitialised; 2.x: it derives from Backend (ProcessGroup became a
//   dispatcher over backends), Options from Backend::Options, threads{2}. Both expose the same
//   allreduce/broadcast/allgather/barrier returning c10::intrusive_ptr<c10d::Work>, so the
//   binding holds the ProcessGroupGloo itself (GlooGroup), never the base class;
// - createDeviceForHostname/createDefaultDevice take a trailing `bool lazyInit = false` in 2.x;
// - TCPStoreOptions: 2.x adds useLibUV (default true) and masterListenFd. The libuv server is
//   built on a libuv linked into libtorch_cpu.so whose uv_* symbols are exported, as Node's are:
//   inside Node those calls may bind to Node's own libuv, so the classic socket server is chosen;
// - errors: 2.x throws c10::DistError subclasses (DistStoreError, DistNetworkError,
//   DistTimeoutError, all c10::Error), 1.13 c10::Error or std::runtime_error; Gloo throws
//   gloo::IoException / gloo::EnforceNotMet (std::runtime_error) on both. distributed.cc
//   classifies them by message, the one thing that reads the same on both.
#ifdef TG_COMPAT_C10D
#if __has_include(<gloo/context.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define TG_HAVE_C10D_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <chrono>
#include <string>

namespace tg {

using GlooGroup = ::c10d::ProcessGroupGloo;

// Gloo options with one transport device: on an interface when one is named, else on the
// address peers reach this host by (loopback for a loopback rendezvous), else the default.
inline c10::intrusive_ptr<GlooGroup::Options> GlooOptions(std::chrono::milliseconds timeout, const std::string& hostname,
                                                          const std::string& iface) {
  auto o = GlooGroup::Options::create(timeout);
  if (!iface.empty()) {
    o->devices.push_back(GlooGroup::createDeviceForInterface(iface));
  } else if (!hostname.empty()) {
    o->devices.push_back(GlooGroup::createDeviceForHostname(hostname));
  } else {
    o->devices.push_back(GlooGroup::createDefaultDevice());
  }
  o->threads = 2;  // torch.distributed's default; uninitialised in 1.13
  return o;
}

inline ::c10d::TCPStoreOptions StoreOptions(uint16_t port, bool isServer, size_t worldSize, std::chrono::milliseconds timeout) {
  ::c10d::TCPStoreOptions o;
  o.port = port;
  o.isServer = isServer;
  o.numWorkers = worldSize;
  o.waitWorkers = true;
  o.timeout = timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)  // default true from 2.4 on
  o.useLibUV = false;
#endif
  return o;
}

}  // namespace tg
#else
#define TG_HAVE_C10D_GLOO 0
#endif
#endif  // TG_COMPAT_C10D
