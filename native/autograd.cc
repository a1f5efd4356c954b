// Autograd: requires_grad, .grad, backward, grad (with create_graph for
// gradients of gradients), grad mode. Grad mode is thread-local in libtorch; the
// JS layer sets it around its scopes on the thread that runs the ops.
#include "common.h"
#include "compat.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>

#include <unordered_set>

namespace tg {

// One gradient per output, null for the default (ones for a scalar output); null or undefined
// for the default of every output (an empty list).
// ts: (NativeHandle | null)[] | null | undefined
static std::vector<at::Tensor> OptTensorListArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t expected) {
  std::vector<at::Tensor> out;
  Napi::Value v = ArgAt(info, i);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) ThrowArg(info, i, name, "an array of Tensors (or null entries)");
  auto arr = v.As<Napi::Array>();
  if (arr.Length() != expected) {
    ThrowInvalid(info.Env(), name, "one entry per output (" + std::to_string(expected) + ")", "an array of length " + std::to_string(arr.Length()),
                 std::string("argument '") + name + "' must have one entry per output (" + std::to_string(expected) + "), received " +
                     std::to_string(arr.Length()));
  }
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value e = arr.Get(k);
    if (e.IsNull() || e.IsUndefined()) {
      out.emplace_back();
      continue;
    }
    at::Tensor* t = MaybeTensorOf(info, e, name, k);
    if (!t) ThrowInvalid(info.Env(), std::string(name) + "[" + std::to_string(k) + "]", "a Tensor or null", Describe(e));
    out.push_back(*t);
  }
  return out;
}

// Whether input's gradient edge (its grad_fn output, or a leaf's gradient accumulator) is
// reachable from the outputs through the autograd graph.
static bool GraphReaches(const std::vector<at::Tensor>& outputs, const at::Tensor& input) {
  using torch::autograd::Node;
  // Held for the walk: grad_fn() and the accumulator are shared_ptr or intrusive_ptr (compat.h).
  NodeRef fn = input.grad_fn();
  auto acc = fn ? decltype(torch::autograd::impl::try_get_grad_accumulator(input))() : torch::autograd::impl::try_get_grad_accumulator(input);
  Node* target = fn ? RawNode(fn) : RawNode(acc);
  if (!target) return false;
  const uint32_t targetNr = fn ? input.output_nr() : 0;
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  auto visit = [&](Node* node, uint32_t nr) {
    if (node == target && nr == targetNr) return true;
    if (node && seen.insert(node).second) stack.push_back(node);
    return false;
  };
  for (const auto& o : outputs) {
    if (o.grad_fn()) {
      if (visit(RawNode(o.grad_fn()), o.output_nr())) return true;
    } else if (auto oacc = torch::autograd::impl::try_get_grad_accumulator(o)) {
      if (visit(RawNode(oacc), 0)) return true;
    }
  }
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& edge : node->next_edges()) {
      if (edge.is_valid() && visit(RawNode(edge.function), edge.input_nr)) return true;
    }
  }
  return false;
}

void RegisterAutograd(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "requiresGrad", { return Napi::Boolean::New(info.Env(), TensorArg(info, 0, "self").requires_grad()); });
  TG_OP(exports, "setRequiresGrad", {
    TensorArg(info, 0, "self").set_requires_grad(BoolArg(info, 1, "requiresGrad"));
    return info.Env().Undefined();
  });
  TG_OP(exports, "isLeaf", { return Napi::Boolean::New(info.Env(), TensorArg(info, 0, "self").is_leaf()); });
  // the name of the autograd node that made the tensor, null for a leaf
  // returns: string | null
  TG_OP(exports, "gradFn", {
    auto fn = TensorArg(info, 0, "self").grad_fn();
    return fn ? Napi::Value(Napi::String::New(info.Env(), fn->name())) : info.Env().Null();
  });
  // returns: NativeHandle | null
  TG_OP(exports, "grad", { return Wrap(info.Env(), TensorArg(info, 0, "self").grad()); });
  TG_OP(exports, "setGrad", {
    auto& t = TensorArg(info, 0, "self");
    auto g = OptTensorArg(info, 1, "grad");
    if (g) {
      TORCH_CHECK(g->sizes() == t.sizes(), "assigned grad has shape ", g->sizes(), " but the tensor has shape ", t.sizes());
      TORCH_CHECK(g->scalar_type() == t.scalar_type(), "assigned grad has dtype ", DtypeName(g->scalar_type()), " but the tensor has dtype ", DtypeName(t.scalar_type()));
      TORCH_CHECK(g->device() == t.device(), "assigned grad is on ", g->device(), " but the tensor is on ", t.device());
    }
    t.mutable_grad() = g ? *g : at::Tensor();
    return info.Env().Undefined();
  });
  // Sets every listed tensor's .grad to none (as PyTorch's zero_grad(set_to_none=True)).
  TG_OP(exports, "clearGrads", {
    for (auto& t : TensorListArg(info, 0, "tensors")) t.mutable_grad() = at::Tensor();
    return info.Env().Undefined();
  });
  // backward(tensors, gradTensors?, retainGraph?, createGraph)
  TG_OP(exports, "backward", {
    auto outputs = TensorListArg(info, 0, "tensors");
    auto grads = OptTensorListArg(info, 1, "gradient", outputs.size());
    bool create = BoolArg(info, 3, "createGraph");
    torch::autograd::backward(outputs, grads, OptBoolArg(info, 2, "retainGraph"), create);
    return info.Env().Undefined();
  });
  // autogradGrad(outputs, inputs, gradOutputs?, retainGraph?, createGraph, allowUnused): one
  // gradient per input, null for an unused input when allowUnused
  // returns: (NativeHandle | null)[]
  TG_OP(exports, "autogradGrad", {
    auto outputs = TensorListArg(info, 0, "outputs");
    auto inputs = TensorListArg(info, 1, "inputs");
    auto gradOutputs = OptTensorListArg(info, 2, "gradOutputs", outputs.size());
    bool create = BoolArg(info, 4, "createGraph");
    bool allowUnused = BoolArg(info, 5, "allowUnused");
    auto res = torch::autograd::grad(outputs, inputs, gradOutputs, OptBoolArg(info, 3, "retainGraph"), create, /*allow_unused=*/true);
    // An input the graph reaches but no gradient arrived at has a zero gradient: some of
    // torch-gan's own backward functions return none where it is identically zero (a LeakyReLU
    // gradient's derivative by its input) instead of allocating zeros. libtorch's formulas
    // return zeros_like there, so the result is the same as theirs.
    for (size_t k = 0; k < res.size(); ++k) {
      if (res[k].defined()) continue;
      if (GraphReaches(outputs, inputs[k])) {
        res[k] = at::zeros_like(inputs[k]);
      } else {
        TORCH_CHECK(allowUnused, "inputs[", k, "] is not used in the graph of the outputs (pass allowUnused: true to get null for it)");
      }
    }
    return WrapList(info.Env(), res);
  });
  TG_OP(exports, "isGradEnabled", { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); });
  TG_OP(exports, "setGradEnabled", {
    at::GradMode::set_enabled(BoolArg(info, 0, "enabled"));
    return info.Env().Undefined();
  });
}

}  // namespace tg
