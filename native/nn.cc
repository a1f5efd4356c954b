// Functional NN ops: convolutions, normalisation, pooling, resampling, losses.
#include "common.h"
#include "cpu_kernels.h"

#include <torch/version.h>

#include <atomic>
#include <cstdlib>

namespace tg {

static int64_t ReductionArg(const Napi::CallbackInfo& info, size_t i) {
  std::string r = info[i].IsUndefined() ? "mean" : (info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : "");
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  ThrowArg(info, i, "reduction", "'mean', 'sum' or 'none'");
}

void RegisterNN(Napi::Env env, Napi::Object exports) {
  // conv2d(x, weight, bias?, stride, padding, dilation, groups)
  TG_OP(exports, "conv2d", {
    return Wrap(info.Env(), Conv2d(TensorArg(info, 0, "input"), TensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                       IntListArg(info, 3, "stride"), IntListArg(info, 4, "padding"), IntListArg(info, 5, "dilation"),
                                       IntArg(info, 6, "groups")));
  });
  // convTranspose2d(x, weight, bias?, stride, padding, outputPadding, groups, dilation)
  TG_OP(exports, "convTranspose2d", {
    return Wrap(info.Env(), ConvTranspose2d(TensorArg(info, 0, "input"), TensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                            IntListArg(info, 3, "stride"), IntListArg(info, 4, "padding"),
                                            IntListArg(info, 5, "outputPadding"), IntArg(info, 6, "groups"), IntListArg(info, 7, "dilation")));
  });
  // setFastKernels(enabled): the libtorch 1.x CPU kernel substitutions of cpu_kernels.cc
  TG_OP(exports, "setFastKernels", {
    SetFastKernels(BoolArg(info, 0, "enabled"), info.Length() > 1 && BoolArg(info, 1, "all"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "fastKernelsActive", {
    return Napi::Boolean::New(info.Env(), FastKernelsActive());
  });
  // The substitutions on now (this libtorch's table, the switch and TORCH_GAN_FAST_KERNELS).
  TG_OP(exports, "fastKernelsList", {
    auto out = Napi::Array::New(info.Env());
    const std::pair<Kernel, const char*> names[] = {{Kernel::MatrixProductConv, "matrixProductConv"},
                                                    {Kernel::ConvTransposeAsConvGradient, "convTransposeAsConvGradient"},
                                                    {Kernel::OwnConvBackward, "ownConvBackward"},
                                                    {Kernel::FusedInstanceNorm, "fusedInstanceNorm"},
                                                    {Kernel::LeakyReluDoubleBackward, "leakyReluDoubleBackward"}};
    uint32_t k = 0;
    for (const auto& [kernel, name] : names)
      if (KernelOn(kernel)) out.Set(k++, Napi::String::New(info.Env(), name));
    return out;
  });
  TG_OP(exports, "linear", {
    return Wrap(info.Env(), at::linear(TensorArg(info, 0, "input"), TensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias")));
  });
  // batchNorm(x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps)
  TG_OP(exports, "batchNorm", {
    return Wrap(info.Env(), at::batch_norm(TensorArg(info, 0, "input"), OptTensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                           OptTensorArg(info, 3, "runningMean"), OptTensorArg(info, 4, "runningVar"),
                                           BoolArg(info, 5, "training"), NumArg(info, 6, "momentum"), NumArg(info, 7, "eps"), true));
  });
  // instanceNorm(x, weight?, bias?, runningMean?, runningVar?, useInputStats, momentum, eps)
  TG_OP(exports, "instanceNorm", {
    return Wrap(info.Env(), InstanceNorm(TensorArg(info, 0, "input"), OptTensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                         OptTensorArg(info, 3, "runningMean"), OptTensorArg(info, 4, "runningVar"),
                                         BoolArg(info, 5, "useInputStats"), NumArg(info, 6, "momentum"), NumArg(info, 7, "eps")));
  });
  TG_OP(exports, "layerNorm", {
    return Wrap(info.Env(), at::layer_norm(TensorArg(info, 0, "input"), IntListArg(info, 1, "normalizedShape"), OptTensorArg(info, 2, "weight"),
                                           OptTensorArg(info, 3, "bias"), NumArg(info, 4, "eps"), true));
  });
  TG_OP(exports, "groupNorm", {
    return Wrap(info.Env(), at::group_norm(TensorArg(info, 0, "input"), IntArg(info, 1, "numGroups"), OptTensorArg(info, 2, "weight"),
                                           OptTensorArg(info, 3, "bias"), NumArg(info, 4, "eps"), true));
  });
  TG_OP(exports, "dropout", {
    return Wrap(info.Env(), at::dropout(TensorArg(info, 0, "input"), NumArg(info, 1, "p"), BoolArg(info, 2, "training")));
  });
  // upsampleNearest2d(x, outputSize[2], scaleH?, scaleW?)
  TG_OP(exports, "upsampleNearest2d", {
    return Wrap(info.Env(), at::upsample_nearest2d(TensorArg(info, 0, "input"), IntListArg(info, 1, "outputSize"), OptNumArg(info, 2, "scaleH"),
                                                   OptNumArg(info, 3, "scaleW")));
  });
  // upsampleBilinear2d(x, outputSize[2], alignCorners, scaleH?, scaleW?)
  TG_OP(exports, "upsampleBilinear2d", {
    return Wrap(info.Env(), at::upsample_bilinear2d(TensorArg(info, 0, "input"), IntListArg(info, 1, "outputSize"),
                                                    BoolArg(info, 2, "alignCorners"), OptNumArg(info, 3, "scaleH"), OptNumArg(info, 4, "scaleW")));
  });
  // maxPool2dWithIndices(x, kernel, stride, padding, dilation, ceilMode) -> [values, indices]
  TG_OP(exports, "maxPool2dWithIndices", {
    auto r = at::max_pool2d_with_indices(TensorArg(info, 0, "input"), IntListArg(info, 1, "kernelSize"), IntListArg(info, 2, "stride"),
                                         IntListArg(info, 3, "padding"), IntListArg(info, 4, "dilation"), BoolArg(info, 5, "ceilMode"));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "maxUnpool2d", {
    return Wrap(info.Env(), at::max_unpool2d(TensorArg(info, 0, "input"), TensorArg(info, 1, "indices"), IntListArg(info, 2, "outputSize")));
  });
  // avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
  TG_OP(exports, "avgPool2d", {
    return Wrap(info.Env(), at::avg_pool2d(TensorArg(info, 0, "input"), IntListArg(info, 1, "kernelSize"), IntListArg(info, 2, "stride"),
                                           IntListArg(info, 3, "padding"), BoolArg(info, 4, "ceilMode"), BoolArg(info, 5, "countIncludePad")));
  });
  TG_OP(exports, "logSoftmax", { return Wrap(info.Env(), at::log_softmax(TensorArg(info, 0, "input"), IntArg(info, 1, "dim"))); });
  TG_OP(exports, "softmax", { return Wrap(info.Env(), at::softmax(TensorArg(info, 0, "input"), IntArg(info, 1, "dim"))); });
  // Losses; reduction 'mean' | 'sum' | 'none'
  TG_OP(exports, "binaryCrossEntropy", {
    return Wrap(info.Env(), at::binary_cross_entropy(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                                     ReductionArg(info, 3)));
  });
  TG_OP(exports, "binaryCrossEntropyWithLogits", {
    return Wrap(info.Env(), at::binary_cross_entropy_with_logits(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"),
                                                                 OptTensorArg(info, 2, "weight"), OptTensorArg(info, 3, "posWeight"),
                                                                 ReductionArg(info, 4)));
  });
  TG_OP(exports, "mseLoss", {
    return Wrap(info.Env(), at::mse_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), ReductionArg(info, 2)));
  });
  TG_OP(exports, "nllLoss", {
    return Wrap(info.Env(), at::nll_loss(TensorArg(info, 0, "input"), IndexTensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                         ReductionArg(info, 3), IntArg(info, 4, "ignoreIndex")));
  });
  TG_OP(exports, "crossEntropy", {
    return Wrap(info.Env(), at::cross_entropy_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                                   ReductionArg(info, 3), IntArg(info, 4, "ignoreIndex"), NumArg(info, 5, "labelSmoothing")));
  });
}

}  // namespace tg
