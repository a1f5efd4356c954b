// Functional NN ops: convolutions, normalisation, pooling, resampling, losses.
#include "common.h"

#include <torch/version.h>

#include <atomic>
#include <cstdlib>

namespace tg {

// libtorch 1.x has no oneDNN kernel for transposed convolution on the CPU
// (aten::slow_conv_transpose2d), while the same product computed as the input
// gradient of a plain convolution takes the oneDNN path and is 20-80x faster on
// DCGAN shapes. It stays differentiable (convolution_backward has a derivative).
// On by default where it helps; TORCH_GAN_FAST_CONV_TRANSPOSE=0 or
// setFastConvTranspose(false) turns it off (e.g. to compare with plain libtorch).
static std::atomic<bool> gFastConvTranspose{[] {
  const char* e = std::getenv("TORCH_GAN_FAST_CONV_TRANSPOSE");
  return !(e && std::string(e) == "0");
}()};

// Measured on DCGAN shapes (bench/): a single output channel per group is the
// one case where the slow kernel wins (its im2col is tiny), so it keeps it.
static bool FastConvTransposeApplies(const at::Tensor& x, const at::Tensor& w) {
  return TORCH_VERSION_MAJOR < 2 && gFastConvTranspose.load(std::memory_order_relaxed) && x.device().is_cpu() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) && x.dim() == 4 && w.dim() == 4 && w.size(1) > 1;
}

static int64_t Pick(const std::vector<int64_t>& v, size_t i) { return v.size() == 1 ? v[0] : v.at(i); }

static at::Tensor ConvTranspose2dViaConvBackward(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                                                 const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                                 const std::vector<int64_t>& outputPadding, int64_t groups,
                                                 const std::vector<int64_t>& dilation) {
  TORCH_CHECK(w.dim() == 4, "expected a 4-D weight [in, out/groups, kH, kW], got ", w.dim(), "-D");
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
  auto expand2 = [](const std::vector<int64_t>& v) { return v.size() == 1 ? std::vector<int64_t>{v[0], v[0]} : v; };
  auto grads = at::convolution_backward(x, like, w, c10::nullopt, expand2(stride), expand2(padding), expand2(dilation), false, {0, 0},
                                        groups, {true, false, false});
  at::Tensor y = std::get<0>(grads);
  if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
  return y;
}

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
    return Wrap(info.Env(), at::conv2d(TensorArg(info, 0, "input"), TensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                       IntListArg(info, 3, "stride"), IntListArg(info, 4, "padding"), IntListArg(info, 5, "dilation"),
                                       IntArg(info, 6, "groups")));
  });
  // convTranspose2d(x, weight, bias?, stride, padding, outputPadding, groups, dilation)
  TG_OP(exports, "convTranspose2d", {
    auto& x = TensorArg(info, 0, "input");
    auto& w = TensorArg(info, 1, "weight");
    if (FastConvTransposeApplies(x, w)) {
      return Wrap(info.Env(), ConvTranspose2dViaConvBackward(x, w, OptTensorArg(info, 2, "bias"),
                                                             IntListArg(info, 3, "stride"), IntListArg(info, 4, "padding"),
                                                             IntListArg(info, 5, "outputPadding"), IntArg(info, 6, "groups"),
                                                             IntListArg(info, 7, "dilation")));
    }
    return Wrap(info.Env(), at::conv_transpose2d(TensorArg(info, 0, "input"), TensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                                 IntListArg(info, 3, "stride"), IntListArg(info, 4, "padding"),
                                                 IntListArg(info, 5, "outputPadding"), IntArg(info, 6, "groups"),
                                                 IntListArg(info, 7, "dilation")));
  });
  TG_OP(exports, "setFastConvTranspose", {
    gFastConvTranspose.store(BoolArg(info, 0, "enabled"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "fastConvTransposeActive", {
    return Napi::Boolean::New(info.Env(), TORCH_VERSION_MAJOR < 2 && gFastConvTranspose.load());
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
    return Wrap(info.Env(), at::instance_norm(TensorArg(info, 0, "input"), OptTensorArg(info, 1, "weight"), OptTensorArg(info, 2, "bias"),
                                              OptTensorArg(info, 3, "runningMean"), OptTensorArg(info, 4, "runningVar"),
                                              BoolArg(info, 5, "useInputStats"), NumArg(info, 6, "momentum"), NumArg(info, 7, "eps"), true));
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
    return Wrap(info.Env(), at::nll_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                         ReductionArg(info, 3), IntArg(info, 4, "ignoreIndex")));
  });
  TG_OP(exports, "crossEntropy", {
    return Wrap(info.Env(), at::cross_entropy_loss(TensorArg(info, 0, "input"), TensorArg(info, 1, "target"), OptTensorArg(info, 2, "weight"),
                                                   ReductionArg(info, 3), IntArg(info, 4, "ignoreIndex"), NumArg(info, 5, "labelSmoothing")));
  });
}

}  // namespace tg
