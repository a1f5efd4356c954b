// Elementwise arithmetic, comparisons, unary math, reductions, matmul, in-place ops.
#include "common.h"

#include <algorithm>
#include "cpu_kernels.h"

namespace tg {

// `other` may be a Tensor or a number; EXPR is written once for both.
#define TG_BINARY(NAME, EXPR)                                                     \
  TG_OP(exports, NAME, {                                                          \
    auto& a = TensorArg(info, 0, "self");                                         \
    auto run = [&](const auto& b) { return EXPR; };                               \
    if (at::Tensor* t = MaybeTensorArg(info, 1, "other")) return Wrap(info.Env(), run(*t)); \
    if (!info[1].IsNumber() && !info[1].IsBoolean()) ThrowArg(info, 1, "other", "a Tensor or a number"); \
    return Wrap(info.Env(), run(ScalarArg(info, 1, "other")));                    \
  })

// In-place form: returns undefined, the JS layer returns `this`.
#define TG_BINARY_(NAME, EXPR)                                                    \
  TG_OP(exports, NAME, {                                                          \
    auto& a = TensorArg(info, 0, "self");                                         \
    auto run = [&](const auto& b) { EXPR; };                                      \
    if (at::Tensor* t = MaybeTensorArg(info, 1, "other")) run(*t);                \
    else if (info[1].IsNumber() || info[1].IsBoolean()) run(ScalarArg(info, 1, "other")); \
    else ThrowArg(info, 1, "other", "a Tensor or a number");                      \
    return info.Env().Undefined();                                                \
  })

#define TG_UNARY(NAME, EXPR) \
  TG_OP(exports, NAME, { auto& a = TensorArg(info, 0, "self"); return Wrap(info.Env(), EXPR); })

static at::Tensor TensorOrScalarTensor(const Napi::CallbackInfo& info, size_t i, const char* name, const at::Tensor& like) {
  if (at::Tensor* t = MaybeTensorArg(info, i, name)) return *t;
  if (!info[i].IsNumber()) ThrowArg(info, i, name, "a Tensor or a number");
  return at::scalar_tensor(ScalarArg(info, i, name), like.options().requires_grad(false));
}

static c10::optional<at::IntArrayRef> NoDims() { return c10::nullopt; }

void RegisterMath(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "add", {
    auto& a = TensorArg(info, 0, "self");
    at::Scalar alpha = info.Length() > 2 && !info[2].IsUndefined() ? ScalarArg(info, 2, "alpha") : at::Scalar(1);
    if (at::Tensor* t = MaybeTensorArg(info, 1, "other")) return Wrap(info.Env(), at::add(a, *t, alpha));
    if (!info[1].IsNumber()) ThrowArg(info, 1, "other", "a Tensor or a number");
    return Wrap(info.Env(), at::add(a, ScalarArg(info, 1, "other"), alpha));
  });
  TG_BINARY("sub", at::sub(a, b));
  TG_BINARY("mul", at::mul(a, b));
  TG_BINARY("div", at::div(a, b));
  TG_BINARY("pow", at::pow(a, b));
  TG_BINARY("remainder", at::remainder(a, b));
  TG_BINARY("eq", at::eq(a, b));
  TG_BINARY("ne", at::ne(a, b));
  TG_BINARY("lt", at::lt(a, b));
  TG_BINARY("le", at::le(a, b));
  TG_BINARY("gt", at::gt(a, b));
  TG_BINARY("ge", at::ge(a, b));
  TG_OP(exports, "rsub", {  // other - self, for scalars on the left
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::rsub(a, ScalarArg(info, 1, "other")));
  });
  TG_OP(exports, "maximum", { return Wrap(info.Env(), at::maximum(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "minimum", { return Wrap(info.Env(), at::minimum(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "where", {
    auto& cond = TensorArg(info, 0, "condition");
    at::Tensor x = TensorOrScalarTensor(info, 1, "input", cond);
    at::Tensor y = TensorOrScalarTensor(info, 2, "other", x);
    return Wrap(info.Env(), at::where(cond, x, y));
  });
  TG_OP(exports, "clamp", {
    auto& a = TensorArg(info, 0, "self");
    auto lo = OptNumArg(info, 1, "min");
    auto hi = OptNumArg(info, 2, "max");
    return Wrap(info.Env(), at::clamp(a, lo ? c10::optional<at::Scalar>(*lo) : c10::nullopt, hi ? c10::optional<at::Scalar>(*hi) : c10::nullopt));
  });
  TG_OP(exports, "clamp_", {
    auto& a = TensorArg(info, 0, "self");
    auto lo = OptNumArg(info, 1, "min");
    auto hi = OptNumArg(info, 2, "max");
    a.clamp_(lo ? c10::optional<at::Scalar>(*lo) : c10::nullopt, hi ? c10::optional<at::Scalar>(*hi) : c10::nullopt);
    return info.Env().Undefined();
  });
  TG_OP(exports, "lerp", {
    auto& a = TensorArg(info, 0, "self");
    auto& end = TensorArg(info, 1, "end");
    if (at::Tensor* t = MaybeTensorArg(info, 2, "weight")) return Wrap(info.Env(), at::lerp(a, end, *t));
    return Wrap(info.Env(), at::lerp(a, end, ScalarArg(info, 2, "weight")));
  });

  TG_UNARY("neg", at::neg(a));
  TG_UNARY("abs", at::abs(a));
  TG_UNARY("exp", at::exp(a));
  TG_UNARY("log", at::log(a));
  TG_UNARY("log1p", at::log1p(a));
  TG_UNARY("expm1", at::expm1(a));
  TG_UNARY("sqrt", at::sqrt(a));
  TG_UNARY("rsqrt", at::rsqrt(a));
  TG_UNARY("square", at::square(a));
  TG_UNARY("reciprocal", at::reciprocal(a));
  TG_UNARY("sin", at::sin(a));
  TG_UNARY("cos", at::cos(a));
  TG_UNARY("tanh", at::tanh(a));
  TG_UNARY("sigmoid", at::sigmoid(a));
  TG_UNARY("relu", at::relu(a));
  TG_UNARY("sign", at::sign(a));
  TG_UNARY("floor", at::floor(a));
  TG_UNARY("ceil", at::ceil(a));
  TG_UNARY("round", at::round(a));
  TG_UNARY("logicalNot", at::logical_not(a));
  TG_UNARY("isnan", at::isnan(a));
  TG_UNARY("isfinite", at::isfinite(a));
  TG_OP(exports, "leakyRelu", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), LeakyRelu(a, NumArg(info, 1, "negativeSlope")));
  });
  TG_OP(exports, "softplus", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::softplus(a, NumArg(info, 1, "beta"), NumArg(info, 2, "threshold")));
  });

  // ---- reductions: dims undefined means all dims
  TG_OP(exports, "sum", {
    auto& a = TensorArg(info, 0, "self");
    auto dtype = OptDtypeArg(info, 3, "dtype");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::sum(a, dtype));
    return Wrap(info.Env(), at::sum(a, IntListArg(info, 1, "dim"), BoolArg(info, 2, "keepdim"), dtype));
  });
  TG_OP(exports, "mean", {
    auto& a = TensorArg(info, 0, "self");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::mean(a));
    return Wrap(info.Env(), at::mean(a, IntListArg(info, 1, "dim"), BoolArg(info, 2, "keepdim")));
  });
  TG_OP(exports, "prod", {
    auto& a = TensorArg(info, 0, "self");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::prod(a));
    return Wrap(info.Env(), at::prod(a, IntArg(info, 1, "dim"), BoolArg(info, 2, "keepdim")));
  });
  // max/min: with a dim, [values, indices]; without, the overall value
  TG_OP(exports, "max", {
    auto& a = TensorArg(info, 0, "self");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::max(a));
    auto r = at::max(a, IntArg(info, 1, "dim"), BoolArg(info, 2, "keepdim"));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "min", {
    auto& a = TensorArg(info, 0, "self");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::min(a));
    auto r = at::min(a, IntArg(info, 1, "dim"), BoolArg(info, 2, "keepdim"));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "argmax", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::argmax(a, OptIntArg(info, 1, "dim"), info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value()));
  });
  TG_OP(exports, "argmin", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::argmin(a, OptIntArg(info, 1, "dim"), info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value()));
  });
  TG_OP(exports, "var", {
    auto& a = TensorArg(info, 0, "self");
    bool unbiased = BoolArg(info, 2, "unbiased");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::var(a, unbiased));
    return Wrap(info.Env(), at::var(a, at::IntArrayRef(IntListArg(info, 1, "dim")), unbiased, BoolArg(info, 3, "keepdim")));
  });
  TG_OP(exports, "std", {
    auto& a = TensorArg(info, 0, "self");
    bool unbiased = BoolArg(info, 2, "unbiased");
    if (info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::std(a, unbiased));
    return Wrap(info.Env(), at::std(a, at::IntArrayRef(IntListArg(info, 1, "dim")), unbiased, BoolArg(info, 3, "keepdim")));
  });
  TG_OP(exports, "norm", {
    auto& a = TensorArg(info, 0, "self");
    at::Scalar p = ScalarArg(info, 1, "p");
    if (info[2].IsUndefined() || info[2].IsNull()) return Wrap(info.Env(), at::norm(a, p));
    return Wrap(info.Env(), at::norm(a, p, IntListArg(info, 2, "dim"), BoolArg(info, 3, "keepdim")));
  });
  TG_OP(exports, "all", { return Wrap(info.Env(), at::all(TensorArg(info, 0, "self"))); });
  TG_OP(exports, "any", { return Wrap(info.Env(), at::any(TensorArg(info, 0, "self"))); });
  TG_OP(exports, "matmul", { return Wrap(info.Env(), at::matmul(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "mm", { return Wrap(info.Env(), at::mm(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "outer", { return Wrap(info.Env(), at::outer(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "cumsum", { return Wrap(info.Env(), at::cumsum(TensorArg(info, 0, "self"), IntArg(info, 1, "dim"))); });
  TG_OP(exports, "sort", {
    auto r = at::sort(TensorArg(info, 0, "self"), IntArg(info, 1, "dim"), BoolArg(info, 2, "descending"));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "topk", {
    auto& a = TensorArg(info, 0, "self");
    int64_t k = IntArg(info, 1, "k");
    int64_t dim = IntArg(info, 2, "dim");
    int64_t nd = std::max<int64_t>(a.dim(), 1);
    if (dim >= -nd && dim < nd) {
      int64_t size = a.dim() == 0 ? 1 : a.size(dim < 0 ? dim + nd : dim);
      if (k < 0 || k > size) {
        ThrowInvalid(info.Env(), "k", "in [0, " + std::to_string(size) + "] (the size of dimension " + std::to_string(dim) + ")", std::to_string(k));
      }
    }
    auto r = at::topk(a, k, dim);
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });

  // ---- in-place (optimizers, initialisers); each returns undefined
  TG_BINARY_("add_", a.add_(b));
  TG_BINARY_("sub_", a.sub_(b));
  TG_BINARY_("mul_", a.mul_(b));
  TG_BINARY_("div_", a.div_(b));
  TG_OP(exports, "copy_", {
    TensorArg(info, 0, "self").copy_(TensorArg(info, 1, "src"));
    return info.Env().Undefined();
  });
  TG_BINARY_("fill_", a.fill_(b));
  TG_OP(exports, "addScaled_", {  // self += alpha * other
    TensorArg(info, 0, "self").add_(TensorArg(info, 1, "other"), ScalarArg(info, 2, "alpha"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "addcmul_", {
    TensorArg(info, 0, "self").addcmul_(TensorArg(info, 1, "tensor1"), TensorArg(info, 2, "tensor2"), ScalarArg(info, 3, "value"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "addcdiv_", {
    TensorArg(info, 0, "self").addcdiv_(TensorArg(info, 1, "tensor1"), TensorArg(info, 2, "tensor2"), ScalarArg(info, 3, "value"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "lerp_", {
    TensorArg(info, 0, "self").lerp_(TensorArg(info, 1, "end"), ScalarArg(info, 2, "weight"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "sqrt_", { TensorArg(info, 0, "self").sqrt_(); return info.Env().Undefined(); });
  TG_OP(exports, "zero_", { TensorArg(info, 0, "self").zero_(); return info.Env().Undefined(); });
  TG_OP(exports, "uniform_", {
    TensorArg(info, 0, "self").uniform_(NumArg(info, 1, "from"), NumArg(info, 2, "to"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "normal_", {
    TensorArg(info, 0, "self").normal_(NumArg(info, 1, "mean"), NumArg(info, 2, "std"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "maximum_", {  // self = max(self, other), for amsgrad
    auto& a = TensorArg(info, 0, "self");
    at::maximum_out(a, a, TensorArg(info, 1, "other"));
    return info.Env().Undefined();
  });
  (void)NoDims;
}

}  // namespace tg
