// Functional NN ops: convolutions, normalisation, pooling, resampling, losses.
#include "common.h"
#include "compat.h"
#include "cpu_kernels.h"

#include <torch/version.h>

#include <atomic>
#include <cstdlib>

namespace tg {

// A loss's reduction; undefined means 'mean'.
// ts: 'mean' | 'sum' | 'none' | undefined
static int64_t ReductionArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  std::string r = v.IsUndefined() ? "mean" : (v.IsString() ? v.As<Napi::String>().Utf8Value() : "");
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  ThrowArg(info, i, name, "'mean', 'sum' or 'none'");
}

// ---- convolution arguments, checked here, before any substitution of cpu_kernels.cc: each
// substituted path must see exactly what libtorch would accept (and refuse the rest in torch-gan's words).

// stride, padding, dilation, outputPadding: an integer or 1 or 2 integers, each >= min
// ts: number | [number] | [number, number]
static std::vector<int64_t> ConvPairArg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min) {
  std::vector<int64_t> v = IntListArg(info, i, name);
  if (v.empty() || v.size() > 2) ThrowArg(info, i, name, "an integer or an array of 1 or 2 integers (height, width)");
  const bool list = ArgAt(info, i).IsArray();
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] < min) {
      // (appended piecewise: GCC 12's -Wrestrict misfires on `"[" + std::to_string(k)` under C++20)
      std::string param = name;
      if (list) param.append("[").append(std::to_string(k)).append("]");
      ThrowInvalid(info.Env(), param, min > 0 ? "a positive integer" : "a non-negative integer", std::to_string(v[k]));
    }
  }
  return v;
}

// ts: number
static int64_t GroupsArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  int64_t g = IntArg(info, i, name);
  if (g < 1) ThrowInvalid(info.Env(), name, "a positive integer", std::to_string(g));
  return g;
}

// input (N, C, H, W) or unbatched (C, H, W); weight 4-D
static void CheckConvTensors(const Napi::CallbackInfo& info, const at::Tensor& x, const at::Tensor& w, const char* weightLayout) {
  if (x.dim() != 3 && x.dim() != 4) ThrowArg(info, 0, "input", "a 4-D (N, C, H, W) or 3-D (C, H, W) Tensor");
  if (w.dim() != 4) ThrowArg(info, 1, "weight", weightLayout);
}

static std::string List(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + std::to_string(v[k]);
  return s + "]";
}

void RegisterNN(Napi::Env env, Napi::Object exports) {
  // conv2d(x, weight, bias?, stride, padding, dilation, groups)
  TG_OP(exports, "conv2d", {
    auto& x = TensorArg(info, 0, "input");
    auto& w = TensorArg(info, 1, "weight");
    auto bias = OptTensorArg(info, 2, "bias");
    auto stride = ConvPairArg(info, 3, "stride", 1);
    auto padding = ConvPairArg(info, 4, "padding", 0);
    auto dilation = ConvPairArg(info, 5, "dilation", 1);
    int64_t groups = GroupsArg(info, 6, "groups");
    CheckConvTensors(info, x, w, "a 4-D Tensor (outChannels, inChannels / groups, kernelH, kernelW)");
    return Wrap(info.Env(), Conv2d(x, w, bias, stride, padding, dilation, groups));
  });
  // convTranspose2d(x, weight, bias?, stride, padding, outputPadding, groups, dilation)
  TG_OP(exports, "convTranspose2d", {
    auto& x = TensorArg(info, 0, "input");
    auto& w = TensorArg(info, 1, "weight");
    auto bias = OptTensorArg(info, 2, "bias");
    auto stride = ConvPairArg(info, 3, "stride", 1);
    auto padding = ConvPairArg(info, 4, "padding", 0);
    auto outputPadding = ConvPairArg(info, 5, "outputPadding", 0);
    int64_t groups = GroupsArg(info, 6, "groups");
    auto dilation = ConvPairArg(info, 7, "dilation", 1);
    CheckConvTensors(info, x, w, "a 4-D Tensor (inChannels, outChannels / groups, kernelH, kernelW)");
    for (size_t d = 0; d < 2; ++d) {
      auto at2 = [d](const std::vector<int64_t>& v) { return v.size() == 1 ? v[0] : v[d]; };
      if (at2(outputPadding) >= at2(stride) && at2(outputPadding) >= at2(dilation)) {
        std::string received = List(outputPadding) + " with stride " + List(stride) + " and dilation " + List(dilation);
        ThrowInvalid(info.Env(), "outputPadding", "smaller than stride or dilation in each dimension", received,
                     "argument 'outputPadding' must be smaller than stride or dilation in each dimension, received outputPadding " + received);
      }
    }
    return Wrap(info.Env(), ConvTranspose2d(x, w, bias, stride, padding, outputPadding, groups, dilation));
  });
  // setFastKernels(enabled): the libtorch 1.x CPU kernel substitutions of cpu_kernels.cc
  TG_OP(exports, "setFastKernels", {
    SetFastKernels(BoolArg(info, 0, "enabled"), OptBoolArg(info, 1, "all").value_or(false));
    return info.Env().Undefined();
  });
  TG_OP(exports, "fastKernelsActive", {
    return Napi::Boolean::New(info.Env(), FastKernelsActive());
  });
  // The substitutions on now (this libtorch's table, the switch and TORCH_GAN_FAST_KERNELS).
  // returns: ('matrixProductConv' | 'convTransposeAsConvGradient' | 'ownConvBackward' | 'fusedInstanceNorm' | 'leakyReluDoubleBackward')[]
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
    return Wrap(info.Env(), LayerNorm(TensorArg(info, 0, "input"), IntListArg(info, 1, "normalizedShape"), OptTensorArg(info, 2, "weight"),
                                      OptTensorArg(info, 3, "bias"), NumArg(info, 4, "eps")));
  });
  TG_OP(exports, "groupNorm", {
    return Wrap(info.Env(), at::group_norm(TensorArg(info, 0, "input"), IntArg(info, 1, "numGroups"), OptTensorArg(info, 2, "weight"),
                                           OptTensorArg(info, 3, "bias"), NumArg(info, 4, "eps"), true));
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
                                                     ReductionArg(info, 3, "reduction")));
  });
  TG_OP(exports, "binaryCrossEntropyWithLogits", {
    return Wrap(info.Env(), at::binary_cross_entropy_with_logits(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"),
                                                                 OptTensorArg(info, 2, "weight"), OptTensorArg(info, 3, "posWeight"),
                                                                 ReductionArg(info, 4, "reduction")));
  });
  TG_OP(exports, "mseLoss", {
    return Wrap(info.Env(), at::mse_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), ReductionArg(info, 2, "reduction")));
  });
  TG_OP(exports, "nllLoss", {
    return Wrap(info.Env(), at::nll_loss(TensorArg(info, 0, "input"), IndexTensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                         ReductionArg(info, 3, "reduction"), IntArg(info, 4, "ignoreIndex")));
  });
  TG_OP(exports, "crossEntropy", {
    return Wrap(info.Env(), at::cross_entropy_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                                   ReductionArg(info, 3, "reduction"), IntArg(info, 4, "ignoreIndex"), NumArg(info, 5, "labelSmoothing")));
  });
}

}  // namespace tg
