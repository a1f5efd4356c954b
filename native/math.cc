// Elementwise arithmetic, comparisons, unary math, reductions, matrix products and the symmetric
// eigendecomposition, in-place ops.
#include "common.h"

#include <algorithm>
#include "cpu_kernels.h"

namespace tg {

// `other` may be a Tensor or a number; EXPR is written once for both.
#define TG_BINARY(NAME, EXPR)                                                     \
  TG_OP(exports, NAME, {                                                          \
    auto& a = TensorArg(info, 0, "self");                                         \
    auto other = TensorOrScalarArg(info, 1, "other");                             \
    auto run = [&](const auto& b) { return EXPR; };                               \
    return Wrap(info.Env(), other.tensor ? run(*other.tensor) : run(other.scalar)); \
  })

// In-place form: returns undefined, the JS layer returns `this`.
#define TG_BINARY_(NAME, EXPR)                                                    \
  TG_OP(exports, NAME, {                                                          \
    auto& a = TensorArg(info, 0, "self");                                         \
    auto other = TensorOrScalarArg(info, 1, "other");                             \
    auto run = [&](const auto& b) { EXPR; };                                      \
    if (other.tensor) run(*other.tensor);                                         \
    else run(other.scalar);                                                       \
    return info.Env().Undefined();                                                \
  })

#define TG_UNARY(NAME, EXPR) \
  TG_OP(exports, NAME, { auto& a = TensorArg(info, 0, "self"); return Wrap(info.Env(), EXPR); })

// Which triangle of a symmetric matrix eigh reads (the other is never looked at).
// ts: 'L' | 'U'
static std::string UploArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s != "L" && s != "U") ThrowArg(info, i, name, "'L' (the lower triangle) or 'U' (the upper)");
  return s;
}

static c10::optional<at::Scalar> AsScalar(c10::optional<double> v) { return v ? c10::optional<at::Scalar>(*v) : c10::nullopt; }

void RegisterMath(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "add", {
    auto& a = TensorArg(info, 0, "self");
    auto other = TensorOrScalarArg(info, 1, "other");
    at::Scalar alpha = OptScalarArg(info, 2, "alpha").value_or(at::Scalar(1));
    return Wrap(info.Env(), other.tensor ? at::add(a, *other.tensor, alpha) : at::add(a, other.scalar, alpha));
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
  // A number operand goes to libtorch as a Scalar: it then promotes as a Python number does
  // (where(c, 2.5, 1) is float32), never taking the bool condition's dtype.
  TG_OP(exports, "where", {
    auto& cond = TensorArg(info, 0, "condition");
    auto x = TensorOrScalarArg(info, 1, "input");
    auto y = TensorOrScalarArg(info, 2, "other");
    if (x.tensor && y.tensor) return Wrap(info.Env(), at::where(cond, *x.tensor, *y.tensor));
    if (x.tensor) return Wrap(info.Env(), at::where(cond, *x.tensor, y.scalar));
    if (y.tensor) return Wrap(info.Env(), at::where(cond, x.scalar, *y.tensor));
    return Wrap(info.Env(), at::where(cond, x.scalar, y.scalar));
  });
  // min, max: null or undefined for no bound
  TG_OP(exports, "clamp", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::clamp(a, AsScalar(OptNumArg(info, 1, "min")), AsScalar(OptNumArg(info, 2, "max"))));
  });
  TG_OP(exports, "clamp_", {
    TensorArg(info, 0, "self").clamp_(AsScalar(OptNumArg(info, 1, "min")), AsScalar(OptNumArg(info, 2, "max")));
    return info.Env().Undefined();
  });
  TG_OP(exports, "lerp", {
    auto& a = TensorArg(info, 0, "self");
    auto& end = TensorArg(info, 1, "end");
    auto weight = TensorOrScalarArg(info, 2, "weight");
    return Wrap(info.Env(), weight.tensor ? at::lerp(a, end, *weight.tensor) : at::lerp(a, end, weight.scalar));
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
    auto dim = OptIntListArg(info, 1, "dim");
    bool keepdim = BoolArg(info, 2, "keepdim");
    auto dtype = OptDtypeArg(info, 3, "dtype");
    return Wrap(info.Env(), dim ? at::sum(a, *dim, keepdim, dtype) : at::sum(a, dtype));
  });
  TG_OP(exports, "mean", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntListArg(info, 1, "dim");
    bool keepdim = BoolArg(info, 2, "keepdim");
    return Wrap(info.Env(), dim ? at::mean(a, *dim, keepdim) : at::mean(a));
  });
  TG_OP(exports, "prod", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntArg(info, 1, "dim");
    bool keepdim = BoolArg(info, 2, "keepdim");
    return Wrap(info.Env(), dim ? at::prod(a, *dim, keepdim) : at::prod(a));
  });
  // max/min: with a dim, [values, indices]; without, the overall value
  TG_OP(exports, "max", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntArg(info, 1, "dim");
    bool keepdim = BoolArg(info, 2, "keepdim");
    if (!dim) return Wrap(info.Env(), at::max(a));
    auto r = at::max(a, *dim, keepdim);
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "min", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntArg(info, 1, "dim");
    bool keepdim = BoolArg(info, 2, "keepdim");
    if (!dim) return Wrap(info.Env(), at::min(a));
    auto r = at::min(a, *dim, keepdim);
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
  TG_OP(exports, "argmax", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::argmax(a, OptIntArg(info, 1, "dim"), OptBoolArg(info, 2, "keepdim").value_or(false)));
  });
  TG_OP(exports, "argmin", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), at::argmin(a, OptIntArg(info, 1, "dim"), OptBoolArg(info, 2, "keepdim").value_or(false)));
  });
  TG_OP(exports, "var", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntListArg(info, 1, "dim");
    bool unbiased = BoolArg(info, 2, "unbiased");
    bool keepdim = BoolArg(info, 3, "keepdim");
    return Wrap(info.Env(), dim ? at::var(a, at::IntArrayRef(*dim), unbiased, keepdim) : at::var(a, unbiased));
  });
  TG_OP(exports, "std", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntListArg(info, 1, "dim");
    bool unbiased = BoolArg(info, 2, "unbiased");
    bool keepdim = BoolArg(info, 3, "keepdim");
    return Wrap(info.Env(), dim ? at::std(a, at::IntArrayRef(*dim), unbiased, keepdim) : at::std(a, unbiased));
  });
  TG_OP(exports, "norm", {
    auto& a = TensorArg(info, 0, "self");
    at::Scalar p = ScalarArg(info, 1, "p");
    auto dim = OptIntListArg(info, 2, "dim");
    bool keepdim = BoolArg(info, 3, "keepdim");
    return Wrap(info.Env(), dim ? at::norm(a, p, *dim, keepdim) : at::norm(a, p));
  });
  TG_OP(exports, "all", { return Wrap(info.Env(), at::all(TensorArg(info, 0, "self"))); });
  TG_OP(exports, "any", { return Wrap(info.Env(), at::any(TensorArg(info, 0, "self"))); });
  TG_OP(exports, "matmul", { return Wrap(info.Env(), at::matmul(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "mm", { return Wrap(info.Env(), at::mm(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  TG_OP(exports, "outer", { return Wrap(info.Env(), at::outer(TensorArg(info, 0, "self"), TensorArg(info, 1, "other"))); });
  // linalgEigh(self, uplo) -> [eigenvalues, eigenvectors] of symmetric matrices [..., n, n] as
  // torch.linalg.eigh: eigenvalues ascending, eigenvectors the orthonormal columns. Checked here so
  // a wrong input is refused in torch-gan's words on every libtorch version.
  TG_OP(exports, "linalgEigh", {
    auto& a = TensorArg(info, 0, "self");
    std::string uplo = UploArg(info, 1, "uplo");
    if (a.dim() < 2 || a.size(-1) != a.size(-2)) ThrowArg(info, 0, "self", "a Tensor of square matrices [..., n, n]");
    if (a.scalar_type() != at::kFloat && a.scalar_type() != at::kDouble) ThrowArg(info, 0, "self", "a float32 or float64 Tensor");
    auto r = at::linalg_eigh(a, uplo);
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
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
  TG_OP(exports, "maximum_", {  // self = max(self, other), for amsgrad
    auto& a = TensorArg(info, 0, "self");
    at::maximum_out(a, a, TensorArg(info, 1, "other"));
    return info.Env().Undefined();
  });
}

}  // namespace tg
