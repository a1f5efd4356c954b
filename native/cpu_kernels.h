// CPU kernel substitutions: the same products through faster
// kernels that libtorch itself picks badly (see cpu_kernels.cc). Pure ATen, no N-API.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace tg {

// On unless TORCH_GAN_FAST_KERNELS=0 (or the older TORCH_GAN_FAST_CONV_TRANSPOSE=0) or
// SetFastKernels(false): then torch-gan runs exactly the kernels PyTorch runs. all: every
// substitution, also those this libtorch's table leaves off (to measure and test them).
void SetFastKernels(bool enabled, bool all = false);

// The substitutions, each applied where this libtorch's table in cpu_kernels.cc says.
enum class Kernel {
  MatrixProductConv,            // convolutions that are matrix products, through linear/mm
  ConvTransposeAsConvGradient,  // transposed convolution as a convolution's input gradient (oneDNN)
  OwnConvBackward,              // convolutions with their own backward and double backward (im2col input gradient)
  FusedInstanceNorm,            // cpu_norm_act.cc
  LeakyReluDoubleBackward,      // cpu_norm_act.cc
};
bool KernelOn(Kernel k);
// Whether any substitution can apply with this libtorch.
bool FastKernelsActive();

at::Tensor Conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias, const std::vector<int64_t>& stride,
                  const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups);
at::Tensor ConvTranspose2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                           const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                           const std::vector<int64_t>& outputPadding, int64_t groups, const std::vector<int64_t>& dilation);

at::Tensor InstanceNorm(const at::Tensor& x, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                        const c10::optional<at::Tensor>& runningMean, const c10::optional<at::Tensor>& runningVar, bool useInputStats,
                        double momentum, double eps);

// cpu_norm_act.cc: instance normalisation from the batch statistics, no affine part (when FusedInstanceNormApplies),
// and LeakyReLU, with their own backward and double backward.
bool FusedInstanceNormApplies(const at::Tensor& x);
at::Tensor FusedInstanceNorm(const at::Tensor& x, double eps);
at::Tensor LeakyRelu(const at::Tensor& x, double slope);

}  // namespace tg
