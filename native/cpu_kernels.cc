// Kernel substitutions on the CPU (which apply on which libtorch version: DefaultOn below). Each computes exactly the product
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
// - The double backward of a convolution without bias (every gradient penalty runs one per
//   critic layer): libtorch 1.x takes its weight term as a dilated convolution of batch-transposed
//   copies; here it is the ordinary weight gradient (at::convolution_backward) on the tensors as
//   they are.
// - A convolution whose kernel covers its whole unpadded input (a critic's last layer,
//   to one score per sample), and a transposed convolution of a 1x1 input (a generator's
//   first layer, from z), are matrix products: at::linear / at::mm do them 3-7x faster
//   than oneDNN, backward and double backward included.
// - Instance normalisation from the batch's own statistics (an affine part by one addcmul)
//   and LeakyReLU: fused kernels with their own double backward, in cpu_norm_act.cc.
#include "cpu_kernels.h"

#include "compat.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace tg {

static bool EnvOff(const char* name) {
  const char* e = std::getenv(name);
  return e && std::string(e) == "0";
}

// "0" turns every substitution off; "all" turns on even those this libtorch's table leaves off
// (to measure them: bench/kernels.ts).
static int EnvSetting() {
  if (EnvOff("TORCH_GAN_FAST_KERNELS") || EnvOff("TORCH_GAN_FAST_CONV_TRANSPOSE")) return 0;
  const char* e = std::getenv("TORCH_GAN_FAST_KERNELS");
  return e && std::string(e) == "all" ? 2 : 1;
}

static std::atomic<bool> gFastKernels{EnvSetting() != 0};
static std::atomic<bool> gForceAll{EnvSetting() == 2};

void SetFastKernels(bool enabled, bool all) {
  gFastKernels.store(enabled);
  gForceAll.store(enabled && all);
}

// Which substitutions this libtorch gets, from bench/kernels.ts run on each version
// (docs/benchmarks.md). libtorch 1.x: all of them. 2.13 (double backward, off/on): the
// im2col input gradient 2.9-3.3x, convolutions' own double backward 1.4x, transposed
// convolutions as convolution gradients 1.44-1.49x, matrix products 3.3-12x, fused instance
// normalisation 5.1-5.4x (and its third order is right where libtorch's is not: see the tests);
// forward and first backward level or faster. LeakyReLU's own double backward lost there
// (0.93-0.98x), so 2.x keeps libtorch's.
static bool DefaultOn(Kernel k) {
  if (kLibtorch1x) return true;
  return k != Kernel::LeakyReluDoubleBackward;
}

bool KernelOn(Kernel k) { return gFastKernels.load() && (gForceAll.load() || DefaultOn(k)); }

bool FastKernelsActive() {
  for (Kernel k : {Kernel::MatrixProductConv, Kernel::ConvTransposeAsConvGradient, Kernel::OwnConvBackward, Kernel::FusedInstanceNorm,
                   Kernel::LeakyReluDoubleBackward}) {
    if (KernelOn(k)) return true;
  }
  return false;
}

static bool OnCpuFloat(Kernel k, const at::Tensor& x, const at::Tensor& w) {
  return KernelOn(k) && x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) &&
         w.scalar_type() == x.scalar_type() && x.dim() == 4 && w.dim() == 4 && !x.is_mkldnn();
}

// The same, bfloat16 included: for the substitutions whose ops (linear, mm) libtorch runs in
// bfloat16 on every version. The others (im2col, this file's own backward) were measured and
// checked in float only, so a bfloat16 convolution goes to libtorch's.
static bool OnCpuFloatOrBf16(Kernel k, const at::Tensor& x, const at::Tensor& w) {
  if (x.scalar_type() != at::kBFloat16) return OnCpuFloat(k, x, w);
  return KernelOn(k) && x.device().is_cpu() && w.scalar_type() == x.scalar_type() && x.dim() == 4 && w.dim() == 4 && !x.is_mkldnn();
}

// ------------------------------------------------------------ autocast
//
// The bindings call Conv2d / ConvTranspose2d directly, not through the dispatcher, so libtorch's
// autocast never sees the convolution itself: only the ops a substitution calls, and those
// inconsistently (linear and mm are on autocast's lower-precision list, convolution and
// convolution_backward on none, so a substituted float convolution would silently stay float).
// Under CPU autocast the convolution's tensors are therefore cast here as libtorch's autocast
// kernel for that op casts them (the same cached casts of weights), and the op runs with autocast
// excluded, as inside that kernel: a substitution sees exactly the dtypes libtorch's op would run
// in, or leaves a bfloat16 convolution to libtorch (OnCpuFloat). Which dtype each op gets is
// compat.h's AutocastConvTransposeDtype.
struct AutocastCast {
  bool on = AutocastEnabled(c10::DeviceType::CPU);
  at::ScalarType lower = on ? AutocastDtype(c10::DeviceType::CPU) : at::kFloat;
  at::Tensor operator()(const at::Tensor& t, at::ScalarType to) const { return at::autocast::cached_cast(to, t, c10::DeviceType::CPU); }
  c10::optional<at::Tensor> operator()(const c10::optional<at::Tensor>& t, at::ScalarType to) const {
    if (!t || !t->defined()) return t;
    return at::autocast::cached_cast(to, *t, c10::DeviceType::CPU);
  }
};

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
  return OnCpuFloatOrBf16(Kernel::MatrixProductConv, x, w) && groups == 1 && AllEqual(padding, 0) && AllOnes(dilation) && AllPositive(stride) &&
         x.size(1) == w.size(1) && x.size(2) == w.size(2) && x.size(3) == w.size(3);
}

// a 1x1 input, no padding: y[n, :, i, j] = sum_c x[n, c] w[c, :, i, j].
static bool PointInputConvTransposeApplies(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& stride,
                                           const std::vector<int64_t>& padding, const std::vector<int64_t>& outputPadding,
                                           const std::vector<int64_t>& dilation, int64_t groups) {
  return OnCpuFloatOrBf16(Kernel::MatrixProductConv, x, w) && groups == 1 && AllEqual(padding, 0) && AllEqual(outputPadding, 0) && AllOnes(dilation) &&
         AllPositive(stride) && x.size(2) == 1 && x.size(3) == 1 && x.size(1) == w.size(0);
}

// ------------------------------------------------------------ convolution with its own backward

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = conv2d(x, w) (no bias, groups 1, dilation 1) whose gradients are themselves custom
// functions, so that the double backward of a gradient penalty runs through fast kernels:
//
// - libtorch 1.x's double backward of a convolution takes the weight term as a convolution of
//   the batch-transposed tensors with stride and dilation swapped (two transposed copies and a
//   dilated oneDNN convolution with the batch as channels); here it is convolution_backward's
//   own weight gradient on the tensors as they are;
// - a convolution with 1-3 input channels (an image critic's first layer) runs by im2col
//   (_slow_conv2d_forward, and _slow_conv2d_backward for its input gradient): oneDNN's forward
//   is 2-3x and its input gradient 3-12x slower there.
//
// Every backward is built from differentiable ATen ops, so gradients of any order work.
struct ConvGeometry {
  std::vector<int64_t> stride, padding;
};

static bool FewInputChannels(const at::Tensor& w) { return w.size(1) <= 3; }

static at::Tensor ConvForward(const at::Tensor& x, const at::Tensor& w, const ConvGeometry& g) {
  // 1-3 input channels (an image critic's first layer): im2col and one matrix product per
  // sample, 2.2-3x faster than oneDNN there on 2.13 and 1.7-2x on 1.13 (bench/kernels.ts);
  // differentiable like at::convolution (its backward is _slow_conv2d_backward's).
  // (not for channels-last weights: oneDNN's NHWC forward is faster still there, and keeps the
  // output NHWC for the layers after it)
  if (FewInputChannels(w) && w.suggest_memory_format() != at::MemoryFormat::ChannelsLast)
    return at::_slow_conv2d_forward(x.contiguous(), w, {w.size(2), w.size(3)}, c10::nullopt, g.stride, g.padding);
  return at::convolution(x, w, c10::nullopt, g.stride, g.padding, {1, 1}, false, {0, 0}, 1);
}

static std::tuple<at::Tensor, at::Tensor, at::Tensor> ConvBackward(const at::Tensor& gO, const at::Tensor& x, const at::Tensor& w,
                                                                   const ConvGeometry& g, bool input, bool weight) {
  return at::convolution_backward(gO, x, w, c10::nullopt, g.stride, g.padding, {1, 1}, false, {0, 0}, 1, {input, weight, false});
}

static void SaveGeometry(AutogradContext* ctx, const ConvGeometry& g) {
  ctx->saved_data["stride"] = g.stride;
  ctx->saved_data["padding"] = g.padding;
}

static ConvGeometry LoadGeometry(AutogradContext* ctx) {
  return {ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector()};
}

static bool Im2colInputGrad(const at::Tensor& w) { return FewInputChannels(w); }

// t dense in the layout it already suggests: a channels-last (NHWC) tensor stays channels-last,
// so oneDNN keeps running NHWC and no NCHW<->NHWC copy is paid; anything else becomes NCHW.
// (libtorch 1.13's kernels used here all accept either layout, also the im2col one.)
static at::Tensor Dense(const at::Tensor& t) { return t.contiguous(t.suggest_memory_format()); }

// gI = the input gradient for output gradient gO (x only gives the shape; gI does not depend on it).
struct ConvInputGrad : public torch::autograd::Function<ConvInputGrad> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gO, const at::Tensor& w, const at::Tensor& x,
                            std::vector<int64_t> stride, std::vector<int64_t> padding) {
    ConvGeometry g{stride, padding};
    ctx->save_for_backward({gO, w});
    SaveGeometry(ctx, g);
    if (Im2colInputGrad(w)) {
      return std::get<0>(
          at::_slow_conv2d_backward(Dense(gO), x, w, {w.size(2), w.size(3)}, g.stride, g.padding, {true, false, false}));
    }
    return std::get<0>(ConvBackward(gO, x, w, g, true, false));
  }

  // gI is linear in gO and in w: d/dgO = conv(ggI, w), d/dw = the weight gradient of (ggI, gO).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &gO = saved[0], &w = saved[1];
    ConvGeometry g = LoadGeometry(ctx);
    at::Tensor ggI = grads[0];
    at::Tensor dgO, dw;
    if (ggI.defined()) {
      if (ctx->needs_input_grad(0)) dgO = ConvForward(ggI, w, g);
      if (ctx->needs_input_grad(1)) dw = std::get<1>(ConvBackward(gO, ggI, w, g, false, true));
    }
    return {dgO, dw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// gW = the weight gradient for output gradient gO and input x (w only gives the shape).
struct ConvWeightGrad : public torch::autograd::Function<ConvWeightGrad> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gO, const at::Tensor& x, const at::Tensor& w,
                            std::vector<int64_t> stride, std::vector<int64_t> padding) {
    ConvGeometry g{stride, padding};
    ctx->save_for_backward({gO, x});
    SaveGeometry(ctx, g);
    return std::get<1>(ConvBackward(gO, x, w, g, false, true));
  }

  // gW is linear in gO and in x: d/dgO = conv(x, ggW), d/dx = the input gradient of (gO, ggW).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &gO = saved[0], &x = saved[1];
    ConvGeometry g = LoadGeometry(ctx);
    at::Tensor ggW = grads[0];
    at::Tensor dgO, dx;
    if (ggW.defined()) {
      if (ctx->needs_input_grad(0)) dgO = ConvForward(x, ggW, g);
      if (ctx->needs_input_grad(1)) dx = std::get<0>(ConvBackward(gO, x, ggW, g, true, false));
    }
    return {dgO, dx, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct Conv2dFn : public torch::autograd::Function<Conv2dFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, std::vector<int64_t> stride,
                            std::vector<int64_t> padding) {
    ConvGeometry g{stride, padding};
    ctx->save_for_backward({x, w});
    SaveGeometry(ctx, g);
    return ConvForward(x, w, g);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    ConvGeometry g = LoadGeometry(ctx);
    at::Tensor gO = Dense(grads[0]);
    at::Tensor gx, gw;
    // Only what this backward pass asks for: a penalty's autograd.grad(…, [x]) needs no weight gradient.
    if (ctx->needs_input_grad(0)) gx = ConvInputGrad::apply(gO, w, x, g.stride, g.padding);
    if (ctx->needs_input_grad(1)) gw = ConvWeightGrad::apply(gO, x, w, g.stride, g.padding);
    return {gx, gw, at::Tensor(), at::Tensor()};
  }
};

static bool OwnBackwardConvApplies(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                                   const std::vector<int64_t>& dilation, int64_t groups) {
  // With a bias the separate add would cost more than it saves, except on the first layer of an
  // image critic, whose input gradient gains most.
  bool biased = bias && bias->defined();
  return OnCpuFloat(Kernel::OwnConvBackward, x, w) && groups == 1 && AllOnes(dilation) && x.size(1) == w.size(1) && (!biased || Im2colInputGrad(w)) &&
         at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
}

static at::Tensor Conv2dAsGiven(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias, const std::vector<int64_t>& stride,
                                const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  if (WholeInputConvApplies(x, w, stride, padding, dilation, groups)) {
    int64_t n = x.size(0), out = w.size(0);
    if (x.suggest_memory_format() == at::MemoryFormat::ChannelsLast) {
      // a channels-last x is [n, h, w, c] in memory: flatten both in that order (views, no copy),
      // so its gradient comes back channels-last too
      return at::linear(x.permute({0, 2, 3, 1}).reshape({n, -1}), w.permute({0, 2, 3, 1}).reshape({out, -1}), bias).view({n, out, 1, 1});
    }
    return at::linear(x.reshape({n, -1}), w.reshape({out, -1}), bias).view({n, out, 1, 1});
  }
  // Odd argument lists go to libtorch, for its own checks and messages.
  bool plainLists = !stride.empty() && stride.size() <= 2 && !padding.empty() && padding.size() <= 2;
  if (plainLists && OwnBackwardConvApplies(x, w, bias, dilation, groups)) {
    at::Tensor y = Conv2dFn::apply(Dense(x), Dense(w), Expand2(stride), Expand2(padding));
    if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
    return y;
  }
  return at::conv2d(x, w, bias, stride, padding, dilation, groups);
}

at::Tensor Conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias, const std::vector<int64_t>& stride,
                  const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  AutocastCast cast;
  if (!cast.on || !x.device().is_cpu()) return Conv2dAsGiven(x, w, bias, stride, padding, dilation, groups);
  // conv2d is on autocast's lower-precision list in every libtorch version
  at::ScalarType to = cast.lower;
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  return Conv2dAsGiven(cast(x, to), cast(w, to), cast(bias, to), stride, padding, dilation, groups);
}

// ------------------------------------------------------------ transposed convolution

// An uninitialised tensor of a transposed convolution's output shape (after libtorch's own
// checks): only its shape is read, as the "input" whose gradient the transposed convolution is.
static at::Tensor TransposedOutputLike(const at::Tensor& x, const at::Tensor& w, const std::vector<int64_t>& stride,
                                       const std::vector<int64_t>& padding, const std::vector<int64_t>& outputPadding, int64_t groups,
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
  // in x's layout: the kernels that fill the product in its place give it the layout of the "input" (or weight) they get
  return at::empty({x.size(0), w.size(1) * groups, outH, outW}, x.options().requires_grad(false).memory_format(x.suggest_memory_format()));
}

static at::Tensor ConvTranspose2dViaConvBackward(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                                                 const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                                 const std::vector<int64_t>& outputPadding, int64_t groups,
                                                 const std::vector<int64_t>& dilation) {
  at::Tensor like = TransposedOutputLike(x, w, stride, padding, outputPadding, groups, dilation);
  auto grads = at::convolution_backward(x, like, w, c10::nullopt, Expand2(stride), Expand2(padding), Expand2(dilation), false, {0, 0},
                                        groups, {true, false, false});
  at::Tensor y = std::get<0>(grads);
  if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
  return y;
}

static at::Tensor ConvTranspose2dAsGiven(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                                         const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                         const std::vector<int64_t>& outputPadding, int64_t groups, const std::vector<int64_t>& dilation) {
  if (PointInputConvTransposeApplies(x, w, stride, padding, outputPadding, dilation, groups)) {
    int64_t n = x.size(0), out = w.size(1);
    at::Tensor y;
    if (w.dim() == 4 && w.suggest_memory_format() == at::MemoryFormat::ChannelsLast) {
      // channels-last weights [in, out, kh, kw] lie as [in, kh, kw, out]: the product comes out NHWC
      at::Tensor wRows = w.permute({0, 2, 3, 1}).reshape({w.size(0), -1});
      y = at::mm(x.reshape({n, -1}), wRows).view({n, w.size(2), w.size(3), out}).permute({0, 3, 1, 2});
    } else {
      y = at::mm(x.reshape({n, -1}), w.reshape({w.size(0), -1})).view({n, out, w.size(2), w.size(3)});
    }
    if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
    return y;
  }
  // When a gradient is recorded: the transposed convolution is the input gradient of a
  // convolution, so it goes through ConvInputGrad, whose backward takes the weight gradient
  // with convolution_backward (libtorch's formula for convolution_backward's own backward
  // would take it as a dilated convolution of batch-transposed copies).
  bool plainLists = !stride.empty() && stride.size() <= 2 && !padding.empty() && padding.size() <= 2;
  if (plainLists && OnCpuFloat(Kernel::OwnConvBackward, x, w) && groups == 1 && AllOnes(dilation) && at::GradMode::is_enabled() &&
      (x.requires_grad() || w.requires_grad())) {
    at::Tensor like = TransposedOutputLike(x, w, stride, padding, outputPadding, groups, dilation);
    at::Tensor y = ConvInputGrad::apply(Dense(x), Dense(w), like, Expand2(stride), Expand2(padding));
    if (bias && bias->defined()) y = y + bias->view({1, -1, 1, 1});
    return y;
  }
  if (OnCpuFloat(Kernel::ConvTransposeAsConvGradient, x, w) && w.size(1) > 1) {
    return ConvTranspose2dViaConvBackward(x, w, bias, stride, padding, outputPadding, groups, dilation);
  }
  return at::conv_transpose2d(x, w, bias, stride, padding, outputPadding, groups, dilation);
}

at::Tensor ConvTranspose2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias,
                           const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                           const std::vector<int64_t>& outputPadding, int64_t groups, const std::vector<int64_t>& dilation) {
  AutocastCast cast;
  if (!cast.on || !x.device().is_cpu()) return ConvTranspose2dAsGiven(x, w, bias, stride, padding, outputPadding, groups, dilation);
  at::ScalarType to = AutocastConvTransposeDtype(cast.lower);
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  return ConvTranspose2dAsGiven(cast(x, to), cast(w, to), cast(bias, to), stride, padding, outputPadding, groups, dilation);
}

// ------------------------------------------------------------ instance normalisation

static bool Absent(const c10::optional<at::Tensor>& t) { return !t || !t->defined(); }

// An absent affine tensor, or one value per channel of x, of x's dtype and device (anything
// else goes to libtorch, for its own checks and messages).
static bool AffineFits(const c10::optional<at::Tensor>& t, const at::Tensor& x) {
  return Absent(t) || (t->dim() == 1 && t->size(0) == x.size(1) && t->scalar_type() == x.scalar_type() && t->device() == x.device());
}

static bool FloatOrAbsent(const c10::optional<at::Tensor>& t) { return Absent(t) || t->scalar_type() == at::kFloat; }

at::Tensor InstanceNorm(const at::Tensor& x, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                        const c10::optional<at::Tensor>& runningMean, const c10::optional<at::Tensor>& runningVar, bool useInputStats,
                        double momentum, double eps) {
  // From the batch's own statistics (no running averages): cpu_norm_act.cc, and an affine
  // part as one addcmul (per-channel weight and bias, broadcast over the maps).
  if (useInputStats && Absent(runningMean) && Absent(runningVar) && FusedInstanceNormApplies(x) &&
      AffineFits(weight, x) && AffineFits(bias, x)) {
    at::Tensor y = FusedInstanceNorm(x, eps);
    std::vector<int64_t> perChannel(x.dim(), 1);
    perChannel[1] = x.size(1);
    if (!Absent(weight) && !Absent(bias)) return at::addcmul(bias->view(perChannel), y, weight->view(perChannel));
    if (!Absent(weight)) return y * weight->view(perChannel);
    if (!Absent(bias)) return y + bias->view(perChannel);
    return y;
  }
  // A bfloat16 activation (a convolution's output under autocast): normalised in float by the
  // fused kernels and rounded back, as libtorch's bfloat16 norms accumulate in float anyway.
  // libtorch's own (a batch norm over [1, N·C, H, W]) made the penalty's double backward of a
  // DCGAN critic 1.3x slower in bf16 than in fp32 on 1.13; the casts are two elementwise passes.
  if (x.scalar_type() == at::kBFloat16 && KernelOn(Kernel::FusedInstanceNorm) && x.device().is_cpu() && useInputStats && Absent(runningMean) &&
      Absent(runningVar) && FloatOrAbsent(weight) && FloatOrAbsent(bias)) {
    at::Tensor xf = x.to(at::kFloat);
    if (FusedInstanceNormApplies(xf)) return InstanceNorm(xf, weight, bias, runningMean, runningVar, useInputStats, momentum, eps).to(at::kBFloat16);
  }
  return at::instance_norm(x, weight, bias, runningMean, runningVar, useInputStats, momentum, eps, true);
}

}  // namespace tg
