// Kernel substitutions for libtorch 1.x on the CPU. Each computes exactly the product
// libtorch would, stays differentiable to any order, and applies only where it was
// measured faster (bench/kernels.py prints the comparison):
//
// - Transposed convolution: libtorch 1.x has no oneDNN kernel for it on the CPU
//   (aten::slow_conv_transpose2d); the same product computed as the input gradient of a
//   plain convolution (at::convolution_backward) takes oneDNN and is 2.6-80x faster on
//   DCGAN shapes. Kept off for a single output channel, where the slow kernel wins.
// - Input gradient of a convolution with 1-3 input channels (an image critic's first
//   layer): oneDNN's is 3-12x slower there than libtorch's own im2col kernel
//   (at::_slow_conv2d_backward). GANs pay for it twice per step: the generator's
//   gradient and every gradient penalty pass through that layer's input gradient.
//   The forward and the weight gradient stay on oneDNN, which is fast for them.
// - A convolution whose kernel covers its whole unpadded input (a critic's last layer,
//   to one score per sample), and a transposed convolution of a 1x1 input (a generator's
//   first layer, from z), are matrix products: at::linear / at::mm do them 3-7x faster
//   than oneDNN, backward and double backward included.
// - Instance normalisation from the batch's own statistics: libtorch runs it as a batch norm
//   over a [1, N·C, H, W] view, whose double backward (the penalties) is a long chain of small
//   reductions over dims (0, 2, 3). The same numbers come from layer_norm over rows of a
//   [N·C, H·W] view (its fused kernel, contiguous reductions): about 2x faster double
//   backward, and 1.3-2.7x faster forward and backward from 7x7 maps on. Only without an
//   affine part (the default InstanceNorm2d).
#include "cpu_kernels.h"

#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace tg {

static bool EnvOff(const char* name) {
  const char* e = std::getenv(name);
  return e && std::string(e) == "0";
}

static std::atomic<bool> gFastKernels{!EnvOff("TORCH_GAN_FAST_KERNELS") && !EnvOff("TORCH_GAN_FAST_CONV_TRANSPOSE")};

void SetFastKernels(bool enabled) { gFastKernels.store(enabled); }

bool FastKernelsActive() { return TORCH_VERSION_MAJOR < 2 && gFastKernels.load(); }

static bool OnCpuFloat(const at::Tensor& x, const at::Tensor& w) {
  return FastKernelsActive() && x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) &&
         w.scalar_type() == x.scalar_type() && x.dim() == 4 && w.dim() == 4 && !x.is_mkldnn();
}

static int64_t Pick(const std::vector<int64_t>& v, size_t i) { return v.size() == 1 ? v[0] : v.at(i); }
static std::vector<int64_t> Expand2(const std::vector<int64_t>& v) { return v.size() == 1 ? std::vector<int64_t>{v[0], v[0]} : v; }
static bool AllEqual(const std::vector<int64_t>& v, int64_t value) {
  for (auto d : v)
    if (d != value) return false;
  return true;
}
static bool AllOnes(const std::vector<int64_t>& v) { return AllEqual(v, 1); }
static bool AllPositive(const std::vector<int64_t>& v) {
  for (auto d : v)
    if (d <= 0) return false;
  return !v.empty() && v.size() <= 2;
}

// ------------------------------------------------------------ convolutions that are matrix products

// kernel == input size, no padding: one output position per sample, y[n, o] = <x[n], w[o]>.
static bool WholeInputConvApplies(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& stride,
                                  const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return OnCpuFloat(x, w) && groups == 1 && AllEqual(padding, 0) && AllOnes(dilation) && AllPositive(stride) &&
         x.size(1) == w.size(1) && x.size(2) == w.size(2) && x.size(3) == w.size(3);
}

// a 1x1 input, no padding: y[n, :, i, j] = sum_c x[n, c] w[c, :, i, j].
static bool PointInputConvTransposeApplies(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& stride,
                                           const std::vector<int64_t>& padding, const std::vector<int64_t>& outputPadding,
                                           const std::vector<int64_t>& dilation, int64_t groups) {
  return OnCpuFloat(x, w) && groups == 1 && AllEqual(padding, 0) && AllEqual(outputPadding, 0) && AllOnes(dilation) &&
         AllPositive(stride) && x.size(2) == 1 && x.size(3) == 1 && x.size(1) == w.size(0);
}

// ------------------------------------------------------------ small-input convolution

#if TORCH_VERSION_MAJOR < 2  // only 1.x needs it; 2.x keeps libtorch's own choice
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = conv2d(x, w) (no bias, groups 1, dilation 1) with the input gradient taken by the
// im2col kernel. Its backward is built from differentiable ATen ops, so gradients of
// gradients (the penalties' double backward) work through it.
struct SmallInputConv2d : public torch::autograd::Function<SmallInputConv2d> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, std::vector<int64_t> stride,
                            std::vector<int64_t> padding) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return at::convolution(x, w, c10::nullopt, stride, padding, {1, 1}, false, {0, 0}, 1);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    auto stride = ctx->saved_data["stride"].toIntVector();
    auto padding = ctx->saved_data["padding"].toIntVector();
    at::Tensor g = grads[0].contiguous();
    at::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) {
      gx = std::get<0>(at::_slow_conv2d_backward(g, x, w, {w.size(2), w.size(3)}, stride, padding, {true, false, false}));
    }
    if (ctx->needs_input_grad(1)) {
      gw = std::get<1>(at::convolution_backward(g, x, w, c10::nullopt, stride, padding, {1, 1}, false, {0, 0}, 1, {false, true, false}));
    }
    return {gx, gw, at::Tensor(), at::Tensor()};
  }
};

static bool SmallInputConvApplies(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& dilation, int64_t groups) {
  return OnCpuFloat(x, w) && groups == 1 && AllOnes(dilation) && w.size(1) <= 3 && x.size(1) == w.size(1) &&
         at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
}

#endif

at::Tensor Conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias, const std::vector<int64_t>& stride,
                  const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  if (WholeInputConvApplies(x, w, stride, padding, dilation, groups)) {
    int64_t n = x.size(0), out = w.size(0);
    return at::linear(x.reshape({n, -1}), w.reshape({out, -1}), bias).view({n, out, 1, 1});
  }
#if TORCH_VERSION_MAJOR < 2
  // Odd argument lists go to libtorch, for its own checks and messages.
  bool plainLists = !stride.empty() && stride.size() <= 2 && !padding.empty() && padding.size() <= 2;
  if (plainLists && SmallInputConvApplies(x, w, dilation, groups)) {
    at::Tensor y = SmallInputConv2d::apply(x.contiguous(), w.contiguous(), Expand2(stride), Expand2(padding));
    if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
    return y;
  }
#endif
  return at::conv2d(x, w, bias, stride, padding, dilation, groups);
}

// ------------------------------------------------------------ transposed convolution

static at::Tensor ConvTranspose2dViaConvBackward(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                                                 const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                                 const std::vector<int64_t>& outputPadding, int64_t groups,
                                                 const std::vector<int64_t>& dilation) {
  TORCH_CHECK(x.size(1) == w.size(0), "input has ", x.size(1), " channels but weight expects ", w.size(0));
  for (size_t d = 0; d < 2; ++d) {
    TORCH_CHECK(Pick(outputPadding, d) < Pick(stride, d) || Pick(outputPadding, d) < Pick(dilation, d),
                "output padding must be smaller than either stride or dilation, got output_padding=", Pick(outputPadding, d),
                " stride=", Pick(stride, d), " dilation=", Pick(dilation, d));
  }
  int64_t outH = (x.size(2) - 1) * Pick(stride, 0) - 2 * Pick(padding, 0) + Pick(dilation, 0) * (w.size(2) - 1) + Pick(outputPadding, 0) + 1;
  int64_t outW = (x.size(3) - 1) * Pick(stride, 1) - 2 * Pick(padding, 1) + Pick(dilation, 1) * (w.size(3) - 1) + Pick(outputPadding, 1) + 1;
  TORCH_CHECK(outH > 0 && outW > 0, "transposed convolution output would be empty (", outH, "x", outW, ")");
  // Only the shape of `like` matters: its gradient is not requested.
  at::Tensor like = at::empty({x.size(0), w.size(1) * groups, outH, outW}, x.options().requires_grad(false));
  auto grads = at::convolution_backward(x, like, w, c10::nullopt, Expand2(stride), Expand2(padding), Expand2(dilation), false, {0, 0},
                                        groups, {true, false, false});
  at::Tensor y = std::get<0>(grads);
  if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
  return y;
}

at::Tensor ConvTranspose2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                           const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                           const std::vector<int64_t>& outputPadding, int64_t groups, const std::vector<int64_t>& dilation) {
  if (PointInputConvTransposeApplies(x, w, stride, padding, outputPadding, dilation, groups)) {
    int64_t n = x.size(0), out = w.size(1);
    at::Tensor y = at::mm(x.reshape({n, -1}), w.reshape({w.size(0), -1})).view({n, out, w.size(2), w.size(3)});
    if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
    return y;
  }
  if (OnCpuFloat(x, w) && w.size(1) > 1) {
    return ConvTranspose2dViaConvBackward(x, w, bias, stride, padding, outputPadding, groups, dilation);
  }
  return at::conv_transpose2d(x, w, bias, stride, padding, outputPadding, groups, dilation);
}

// ------------------------------------------------------------ instance normalisation

static bool Absent(const c10::optional<at::Tensor>& t) { return !t || !t->defined(); }

at::Tensor InstanceNorm(const at::Tensor& x, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                        const c10::optional<at::Tensor>& runningMean, const c10::optional<at::Tensor>& runningVar, bool useInputStats,
                        double momentum, double eps) {
  // Without an affine part only: with one, the extra multiply makes the first-order backward
  // slower than libtorch's fused one (measured 0.75x), though the double backward still wins.
  if (FastKernelsActive() && useInputStats && Absent(runningMean) && Absent(runningVar) && Absent(weight) && Absent(bias) &&
      x.device().is_cpu() && !x.is_mkldnn() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) && x.dim() >= 3 &&
      x.numel() > 0) {
    int64_t n = x.size(0), c = x.size(1), rest = x.numel() / (n * c);
    // On 4x4 maps (rows of 16) layer_norm's per-row overhead makes the forward and backward a
    // little slower (0.7-0.9x, ~0.1 ms on a DCGAN layer) while the double backward is still 1.9x
    // faster (~1 ms). It is taken there too: InstanceNorm is what GAN critics use precisely
    // because of gradient penalties (batch norm breaks them), so the double backward is the
    // common case. From 7x7 maps on it is faster in every direction.
    return at::layer_norm(x.reshape({n * c, rest}), {rest}, c10::nullopt, c10::nullopt, eps, true).view(x.sizes());
  }
  return at::instance_norm(x, weight, bias, runningMean, runningVar, useInputStats, momentum, eps, true);
}

}  // namespace tg
