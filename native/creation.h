// The arguments shared by the ops that make new tensors (native/creation.cc, native/random.cc).
#pragma once
#include "common.h"

namespace tg {
// dtype at i (default float32), device at i + 1 (default cpu)
at::TensorOptions OptionsArg(const Napi::CallbackInfo& info, size_t i);
// A shape: an integer or an array of them, each non-negative.
std::vector<int64_t> SizeArg(const Napi::CallbackInfo& info, size_t i, const char* name);
}  // namespace tg
