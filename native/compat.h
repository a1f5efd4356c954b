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
//   which version is the table in cpu_kernels.cc, decided from bench/kernels.ts on each.
#pragma once

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

}  // namespace tg
