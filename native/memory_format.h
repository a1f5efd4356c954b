// Memory formats (the order a 4-D tensor's elements lie in memory): 'contiguous' is row-major
// NCHW, 'channelsLast' is NHWC, the layout oneDNN's convolutions run in without reordering.
// Defined in shape.cc; read by shape.cc and creation.cc.
#pragma once
#include "common.h"

namespace tg {
// undefined means 'contiguous'.
// ts: 'contiguous' | 'channelsLast' | undefined
at::MemoryFormat MemoryFormatArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// The name MemoryFormatArg reads for f (Contiguous or ChannelsLast).
const char* MemoryFormatName(at::MemoryFormat f);
}  // namespace tg
