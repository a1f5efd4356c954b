// An op-level profiler over libtorch's RecordFunction: for every op name (ATen ops, autograd
// nodes such as "autograd::engine::evaluate_function: ConvInputGradBackward"), the number of
// calls, the total time and the self time (total minus the ops it called on the same thread).
// RecordFunction's callbacks are process-wide, so one profiling session runs at a time in the
// process; what the caller does with the numbers (tables, thresholds) lives in lib/profiler.ts.
#include "common.h"

#include <ATen/record_function.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tg {

namespace {

using Clock = std::chrono::steady_clock;

struct Frame {
  Clock::time_point start;
  int64_t childNs;
  uint64_t session;
  // the op's name, read by the ops it calls while it runs (so the pointer is alive)
  const char* name;
};

struct OpStat {
  int64_t calls = 0;
  int64_t totalNs = 0;
  int64_t selfNs = 0;
};

std::mutex gStatsMutex;
std::unordered_map<std::string, OpStat> gStats;
std::mutex gSessionMutex;
bool gRunning = false;
at::CallbackHandle gHandle = 0;
// Frames of ops that started in an earlier session and never saw their end (the callback was
// removed while they ran) are skipped by their session number.
std::atomic<uint64_t> gSession{0};
// Key each op by its caller and the caller's caller too ("aten::copy_ in aten::_to_copy in aten::to"):
// where an op's calls come from.
std::atomic<bool> gByCaller{false};
thread_local std::vector<Frame> tStack;

std::unique_ptr<at::ObserverContext> OnOpStart(const at::RecordFunction& fn) {
  tStack.push_back({Clock::now(), 0, gSession.load(std::memory_order_relaxed), fn.name()});
  return nullptr;
}

void OnOpEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  uint64_t session = gSession.load(std::memory_order_relaxed);
  while (!tStack.empty() && tStack.back().session != session) tStack.pop_back();
  if (tStack.empty()) return;  // the op started before this session
  Frame frame = tStack.back();
  tStack.pop_back();
  int64_t total = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - frame.start).count();
  if (!tStack.empty()) tStack.back().childNs += total;
  std::string key = fn.name();
  if (gByCaller.load(std::memory_order_relaxed)) {
    // the caller and its caller: "aten::copy_ in aten::clone in aten::contiguous"
    size_t depth = tStack.size();
    if (depth == 0) key += " (top level)";
    for (size_t up = 1; up <= 2 && up <= depth; ++up) key += std::string(" in ") + tStack[depth - up].name;
  }
  std::lock_guard<std::mutex> lock(gStatsMutex);
  OpStat& s = gStats[key];
  s.calls += 1;
  s.totalNs += total;
  s.selfNs += total - frame.childNs;
}

}  // namespace

void RegisterProfiler(Napi::Env env, Napi::Object exports) {
  // Starts recording every op's calls and time (one session per process at a time); byCaller:
  // each op keyed by its caller and the caller's caller too.
  TG_OP(exports, "profilerStart", {
    bool byCaller = OptBoolArg(info, 0, "byCaller").value_or(false);
    std::lock_guard<std::mutex> lock(gSessionMutex);
    if (gRunning) throw std::runtime_error("the op profiler is already running (one session per process); stop it first");
    {
      std::lock_guard<std::mutex> statsLock(gStatsMutex);
      gStats.clear();
    }
    gSession.fetch_add(1);
    gByCaller.store(byCaller);
    gHandle = at::addGlobalCallback(
        at::RecordFunctionCallback(OnOpStart, OnOpEnd).scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
    gRunning = true;
    return info.Env().Undefined();
  });
  // Stops recording; per op name: calls, total and self nanoseconds.
  // returns: { name: string; calls: number; totalNs: number; selfNs: number }[]
  TG_OP(exports, "profilerStop", {
    std::lock_guard<std::mutex> lock(gSessionMutex);
    if (!gRunning) throw std::runtime_error("the op profiler is not running; start it first");
    at::removeCallback(gHandle);
    gRunning = false;
    gSession.fetch_add(1);
    std::lock_guard<std::mutex> statsLock(gStatsMutex);
    auto out = Napi::Array::New(info.Env());
    uint32_t k = 0;
    for (const auto& [name, s] : gStats) {
      auto row = Napi::Object::New(info.Env());
      row.Set("name", Napi::String::New(info.Env(), name));
      row.Set("calls", Napi::Number::New(info.Env(), static_cast<double>(s.calls)));
      row.Set("totalNs", Napi::Number::New(info.Env(), static_cast<double>(s.totalNs)));
      row.Set("selfNs", Napi::Number::New(info.Env(), static_cast<double>(s.selfNs)));
      out.Set(k++, row);
    }
    gStats.clear();
    return out;
  });
  TG_OP(exports, "profilerRunning", {
    std::lock_guard<std::mutex> lock(gSessionMutex);
    return Napi::Boolean::New(info.Env(), gRunning);
  });
}

}  // namespace tg
