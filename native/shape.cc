// Shape and indexing ops, conversions (to/clone/detach).
#include "common.h"
#include "memory_format.h"

#include <algorithm>

namespace tg {

// split's sizes: one size (an integer) or the size of each piece (an array), told apart once.
struct SplitSizes {
  std::vector<int64_t> sizes;
  bool list = false;
};
// ts: number | number[]
static SplitSizes SplitSizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  SplitSizes s;
  s.list = ArgAt(info, i).IsArray();
  s.sizes = s.list ? IntListArg(info, i, name) : std::vector<int64_t>{IntArg(info, i, name)};
  return s;
}

at::MemoryFormat MemoryFormatArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  std::string f = v.IsUndefined() ? "contiguous" : (v.IsString() ? v.As<Napi::String>().Utf8Value() : "");
  if (f == "contiguous") return at::MemoryFormat::Contiguous;
  if (f == "channelsLast") return at::MemoryFormat::ChannelsLast;
  ThrowArg(info, i, name, "'contiguous' or 'channelsLast'");
}

const char* MemoryFormatName(at::MemoryFormat f) { return f == at::MemoryFormat::ChannelsLast ? "channelsLast" : "contiguous"; }

void RegisterShape(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "reshape", { return Wrap(info.Env(), TensorArg(info, 0, "self").reshape(IntRestArg(info, 1, "shape"))); });
  TG_OP(exports, "view", { return Wrap(info.Env(), TensorArg(info, 0, "self").view(IntRestArg(info, 1, "shape"))); });
  TG_OP(exports, "flatten", {
    return Wrap(info.Env(), TensorArg(info, 0, "self").flatten(IntArg(info, 1, "startDim"), IntArg(info, 2, "endDim")));
  });
  TG_OP(exports, "squeeze", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntArg(info, 1, "dim");
    return Wrap(info.Env(), dim ? a.squeeze(*dim) : a.squeeze());
  });
  TG_OP(exports, "unsqueeze", { return Wrap(info.Env(), TensorArg(info, 0, "self").unsqueeze(IntArg(info, 1, "dim"))); });
  TG_OP(exports, "permute", { return Wrap(info.Env(), TensorArg(info, 0, "self").permute(IntListArg(info, 1, "dims"))); });
  TG_OP(exports, "transpose", {
    return Wrap(info.Env(), TensorArg(info, 0, "self").transpose(IntArg(info, 1, "dim0"), IntArg(info, 2, "dim1")));
  });
  // contiguous(self, memoryFormat = 'contiguous'): self when already laid out so, else a copy that is.
  TG_OP(exports, "contiguous", {
    auto& a = TensorArg(info, 0, "self");
    at::MemoryFormat f = MemoryFormatArg(info, 1, "memoryFormat");
    // libtorch's own message ("required rank 4 tensor to use channels_last format") names no argument
    if (f == at::MemoryFormat::ChannelsLast && a.dim() != 4) {
      ThrowInvalid(info.Env(), "memoryFormat", "'contiguous' for a tensor that is not 4-D ('channelsLast' needs [N, C, H, W])",
                   "'channelsLast' for " + DescribeTensor(a));
    }
    return Wrap(info.Env(), a.contiguous(f));
  });
  // toMemoryFormat(self, memoryFormat): self when its strides already are memoryFormat's, else a copy
  // with memoryFormat's strides (PyTorch's tensor.to(memory_format=...)): unlike contiguous(), a
  // tensor that is dense in both layouts (one channel) is restrided, so kernels read it as meant.
  TG_OP(exports, "toMemoryFormat", {
    auto& a = TensorArg(info, 0, "self");
    at::MemoryFormat f = MemoryFormatArg(info, 1, "memoryFormat");
    if (f == at::MemoryFormat::ChannelsLast && a.dim() != 4) {
      ThrowInvalid(info.Env(), "memoryFormat", "'contiguous' for a tensor that is not 4-D ('channelsLast' needs [N, C, H, W])",
                   "'channelsLast' for " + DescribeTensor(a));
    }
    if (a.is_contiguous(f) && a.suggest_memory_format() == f) return Wrap(info.Env(), a);
    return Wrap(info.Env(), a.clone(f));
  });
  // The layout libtorch's kernels pick for self's outputs: 'channelsLast' when its strides are NHWC's.
  // returns: 'contiguous' | 'channelsLast'
  TG_OP(exports, "suggestMemoryFormat", {
    return Napi::String::New(info.Env(), MemoryFormatName(TensorArg(info, 0, "self").suggest_memory_format()));
  });
  TG_OP(exports, "expand", { return Wrap(info.Env(), TensorArg(info, 0, "self").expand(IntListArg(info, 1, "shape"))); });
  TG_OP(exports, "repeat", { return Wrap(info.Env(), TensorArg(info, 0, "self").repeat(IntListArg(info, 1, "repeats"))); });
  TG_OP(exports, "flip", { return Wrap(info.Env(), TensorArg(info, 0, "self").flip(IntListArg(info, 1, "dims"))); });
  TG_OP(exports, "cat", { return Wrap(info.Env(), at::cat(TensorListArg(info, 0, "tensors"), IntArg(info, 1, "dim"))); });
  TG_OP(exports, "stack", { return Wrap(info.Env(), at::stack(TensorListArg(info, 0, "tensors"), IntArg(info, 1, "dim"))); });
  // split(self, splitSize, dim): pieces of splitSize along dim, or of each size an array lists
  TG_OP(exports, "split", {
    auto& a = TensorArg(info, 0, "self");
    auto sizes = SplitSizeArg(info, 1, "splitSize");
    int64_t dim = IntArg(info, 2, "dim");
    return WrapList(info.Env(), sizes.list ? a.split_with_sizes(sizes.sizes, dim) : a.split(sizes.sizes[0], dim));
  });
  TG_OP(exports, "chunk", { return WrapList(info.Env(), TensorArg(info, 0, "self").chunk(IntArg(info, 1, "chunks"), IntArg(info, 2, "dim"))); });
  TG_OP(exports, "narrow", {
    return Wrap(info.Env(), TensorArg(info, 0, "self").narrow(IntArg(info, 1, "dim"), IntArg(info, 2, "start"), IntArg(info, 3, "length")));
  });
  TG_OP(exports, "select", { return Wrap(info.Env(), TensorArg(info, 0, "self").select(IntArg(info, 1, "dim"), IntArg(info, 2, "index"))); });
  TG_OP(exports, "slice", {
    auto& a = TensorArg(info, 0, "self");
    return Wrap(info.Env(), a.slice(IntArg(info, 1, "dim"), OptIntArg(info, 2, "start"), OptIntArg(info, 3, "end"), IntArg(info, 4, "step")));
  });
  TG_OP(exports, "indexSelect", {
    auto& a = TensorArg(info, 0, "self");
    int64_t dim = IntArg(info, 1, "dim");
    auto& index = TensorArg(info, 2, "index");
    try {
      return Wrap(info.Env(), a.index_select(dim, index));
    } catch (const c10::Error&) {
      // libtorch says "index out of range in self": name the index, the dimension and its size
      if (index.numel() > 0 && at::isIntegralType(index.scalar_type(), false) && dim >= -std::max<int64_t>(a.dim(), 1) &&
          dim < std::max<int64_t>(a.dim(), 1)) {
        int64_t d = a.dim() == 0 ? 0 : (dim < 0 ? dim + a.dim() : dim);
        int64_t size = a.dim() == 0 ? 1 : a.size(d);
        at::Tensor flat = index.reshape({-1}).to(at::kLong);
        at::Tensor bad = flat.masked_select((flat < 0).logical_or(flat >= size));
        if (bad.numel() > 0) {
          int64_t first = bad[0].item<int64_t>();
          TORCH_CHECK_INDEX(false, "argument 'index' holds ", first, ", out of range for dimension ", dim, " of size ", size, " (valid: 0 to ",
                            size - 1, ")");
        }
      }
      throw;
    }
  });
  TG_OP(exports, "gather", { return Wrap(info.Env(), TensorArg(info, 0, "self").gather(IntArg(info, 1, "dim"), IndexTensorArg(info, 2, "index"))); });
  TG_OP(exports, "maskedFill", {
    auto& a = TensorArg(info, 0, "self");
    auto& mask = TensorArg(info, 1, "mask");
    // libtorch 1.x fills nothing for a float mask; PyTorch refuses anything but bool
    if (mask.scalar_type() != at::kBool) ThrowArg(info, 1, "mask", "a bool Tensor (e.g. x.gt(0))");
    return Wrap(info.Env(), a.masked_fill(mask, ScalarArg(info, 2, "value")));
  });
  // to(self, device?, dtype?, copy?): the same tensor when nothing changes, unless copy
  TG_OP(exports, "to", {
    auto& a = TensorArg(info, 0, "self");
    c10::Device device = OptDeviceArg(info, 1, "device").value_or(a.device());
    at::ScalarType dtype = OptDtypeArg(info, 2, "dtype").value_or(a.scalar_type());
    bool copy = OptBoolArg(info, 3, "copy").value_or(false);
    return Wrap(info.Env(), a.to(device, dtype, /*non_blocking=*/false, copy));
  });
  TG_OP(exports, "clone", { return Wrap(info.Env(), TensorArg(info, 0, "self").clone()); });
  TG_OP(exports, "detach", { return Wrap(info.Env(), TensorArg(info, 0, "self").detach()); });
  // A new handle to the same tensor (same storage, same autograd identity): lets
  // tidy() return or keep a tensor that another handle also refers to.
  TG_OP(exports, "alias", { return Wrap(info.Env(), TensorArg(info, 0, "self")); });
}

}  // namespace tg
