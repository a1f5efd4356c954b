// Process groups on libtorch's own c10d: a TCPStore rendezvous (rank 0 serves it) and
// ProcessGroupGloo for CPU tensors. Collectives run on Gloo's threads; a synchronous call waits
// on the calling thread, an asynchronous one waits on a libuv worker (Napi::AsyncWorker) and
// settles a Promise, so the event loop stays free. Every wait is bounded by the group's timeout,
// and every failure becomes a TorchError with an ERR_TORCH_DISTRIBUTED* code (CodedError through
// the one error boundary, RethrowAsJs). Groups live in the environment's DistRegistry, so each
// worker_thread has its own, and JS holds only a group id: a destroyed or foreign id is refused.
// The version differences of c10d are in compat.h (TG_COMPAT_C10D).
#define TG_COMPAT_C10D 1
#include "common.h"
#include "compat.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>

namespace tg {

static constexpr const char* kErrDist = "ERR_TORCH_DISTRIBUTED";
static constexpr const char* kErrTimeout = "ERR_TORCH_DISTRIBUTED_TIMEOUT";
static constexpr const char* kErrPeer = "ERR_TORCH_DISTRIBUTED_PEER";
static constexpr const char* kErrUnavailable = "ERR_TORCH_DISTRIBUTED_UNAVAILABLE";
static constexpr const char* kErrDestroyed = "ERR_TORCH_DISTRIBUTED_DESTROYED";

static const char* kNcclUnavailable =
#ifdef TORCH_GAN_CUDA
    "backend 'nccl' is not available: torch-gan does not bind ProcessGroupNCCL yet; use backend 'gloo' (it also reduces CUDA tensors, through the host)";
#else
    "backend 'nccl' is not available: this addon was built against a CPU-only libtorch; use backend 'gloo'";
#endif

// A libtorch/Gloo failure in torch-gan's words: the context first, the message without its
// source-location prefix, and a code from what the message says (timeouts, a peer gone).
[[maybe_unused]] static CodedError Classify(const std::string& context, std::exception_ptr e) {
  std::string msg;
  try {
    std::rethrow_exception(e);
  } catch (const CodedError& c) {
    return c;
  } catch (const c10::Error& c) {
    msg = c.what_without_backtrace();
  } catch (const std::exception& c) {
    msg = c.what();
  } catch (...) {
    msg = "unknown error";
  }
  // Gloo prefixes its messages with "[path/file.cc:line] ".
  while (!msg.empty() && msg[0] == '[') {
    size_t end = msg.find("] ");
    if (end == std::string::npos) break;
    msg = msg.substr(end + 2);
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string lower(msg);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const char* code = kErrDist;
  auto has = [&](const char* s) { return lower.find(s) != std::string::npos; };
  if (has("timed out") || has("timeout")) {
    code = kErrTimeout;
  } else if (has("connection closed") || has("connection reset") || has("broken pipe") || has("connection refused") ||
             has("socket closed") || has("end of file") || has("peer")) {
    code = kErrPeer;
  }
  return CodedError(code, context + ": " + msg);
}

// A process group id as JS holds it (a number from distInit).
// ts: number
[[maybe_unused]] static int64_t GroupIdArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = ArgAt(info, i);
  if (!v.IsNumber()) ThrowArg(info, i, name, "a process group id");
  return v.As<Napi::Number>().Int64Value();
}

#if TG_HAVE_C10D_GLOO

struct DistGroup {
  int64_t id = 0;
  int rank = 0, worldSize = 1;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<GlooGroup> pg;
};

struct DistRegistry {
  std::map<int64_t, std::shared_ptr<DistGroup>> groups;
  int64_t next = 1;
};

struct InitSpec {
  int rank = 0, worldSize = 1, port = 0;
  std::string addr, deviceHost, iface;
  std::chrono::milliseconds timeout{0};
  // torchrun: its agent serves the store (TORCHELASTIC_USE_AGENT_STORE), every rank is a client,
  // and the keys live under a prefix ("/worker/attempt_N", as torch.distributed's).
  bool agentStore = false;
  std::string prefix;
};

static DistRegistry& Registry(Napi::Env env) {
  auto& s = State(env);
  if (!s.dist) s.dist = std::make_shared<DistRegistry>();
  return *s.dist;
}

// Rendezvous and group creation (blocks up to the timeout: the store waits for every rank).
static std::shared_ptr<DistGroup> Create(const InitSpec& spec) {
  auto g = std::make_shared<DistGroup>();
  g->rank = spec.rank;
  g->worldSize = spec.worldSize;
  g->timeout = spec.timeout;
  std::string where = "rank " + std::to_string(spec.rank) + " of " + std::to_string(spec.worldSize) + " at " + spec.addr + ":" +
                      std::to_string(spec.port);
  const bool serve = spec.rank == 0 && !spec.agentStore;
  try {
    c10::intrusive_ptr<::c10d::Store> tcp = c10::make_intrusive<::c10d::TCPStore>(
        spec.addr, StoreOptions(static_cast<uint16_t>(spec.port), serve, static_cast<size_t>(spec.worldSize), spec.timeout));
    if (spec.prefix.empty()) {
      g->store = tcp;
    } else {
      g->store = c10::make_intrusive<::c10d::PrefixStore>(spec.prefix, tcp);
    }
  } catch (...) {
    throw Classify(std::string(serve ? "serving" : "joining") + (spec.agentStore ? " torchrun's agent store (TORCHELASTIC_USE_AGENT_STORE; " : " the rendezvous store (") +
                       where + ", timeout " + std::to_string(spec.timeout.count()) + " ms; check MASTER_ADDR, MASTER_PORT and WORLD_SIZE on every rank)",
                   std::current_exception());
  }
  try {
    g->pg = c10::make_intrusive<GlooGroup>(g->store, spec.rank, spec.worldSize, GlooOptions(spec.timeout, spec.deviceHost, spec.iface));
  } catch (...) {
    throw Classify("creating the Gloo process group (" + where + "; every rank must agree on WORLD_SIZE)", std::current_exception());
  }
  return g;
}

// A process group id (from distInit), not a destroyed one.
// ts: number
static std::shared_ptr<DistGroup> GroupArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  int64_t id = GroupIdArg(info, i, name);
  auto& reg = Registry(info.Env());
  auto it = reg.groups.find(id);
  if (it == reg.groups.end()) {
    throw CodedError(kErrDestroyed, "the process group was destroyed (destroyProcessGroup) or never created in this thread; call initProcessGroup() first");
  }
  return it->second;
}

// What distInit and distInitAsync take: the rendezvous (rank 0 serves the store at
// masterAddr:masterPort), the backend, the address peers reach this host by (deviceHost, '' for
// the default), a network interface for Gloo ('' for none), whether to join torchrun's agent
// store as a client (agentStore) and the key prefix under it ('' for none).
// ts: (rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number,
//   backend: 'gloo' | 'nccl', deviceHost: string, glooInterface: string, agentStore: boolean, storePrefix: string)
static InitSpec SpecArgs(const Napi::CallbackInfo& info, size_t i) {
  InitSpec s;
  int64_t rank = IntArg(info, i, "rank"), world = IntArg(info, i + 1, "worldSize");
  s.addr = StringArg(info, i + 2, "masterAddr");
  int64_t port = IntArg(info, i + 3, "masterPort"), timeout = IntArg(info, i + 4, "timeoutMs");
  std::string backend = StringArg(info, i + 5, "backend");
  s.deviceHost = StringArg(info, i + 6, "deviceHost");
  s.iface = StringArg(info, i + 7, "glooInterface");
  s.agentStore = BoolArg(info, i + 8, "agentStore");
  s.prefix = StringArg(info, i + 9, "storePrefix");
  auto range = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) ThrowInvalid(info.Env(), name, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", std::to_string(v));
  };
  range("worldSize", world, 1, 1 << 20);
  range("rank", rank, 0, world - 1);
  range("masterPort", port, 1, 65535);
  range("timeoutMs", timeout, 1, 24LL * 3600 * 1000);
  if (s.addr.empty()) ThrowArg(info, i + 2, "masterAddr", "a host name or address");
  if (backend == "nccl") throw CodedError(kErrUnavailable, kNcclUnavailable);
  if (backend != "gloo") ThrowArg(info, i + 5, "backend", "'gloo' or 'nccl'");
  s.rank = static_cast<int>(rank);
  s.worldSize = static_cast<int>(world);
  s.port = static_cast<int>(port);
  s.timeout = std::chrono::milliseconds(timeout);
  return s;
}

static int64_t Register(Napi::Env env, std::shared_ptr<DistGroup> g) {
  auto& reg = Registry(env);
  g->id = reg.next++;
  reg.groups[g->id] = std::move(g);
  return reg.next - 1;
}

// Waits for one collective, bounded: Gloo's own timeout fires first (its message says which
// operation), this one, a little later, is the backstop that makes a hang impossible.
static void WaitWork(const DistGroup& g, const c10::intrusive_ptr<::c10d::Work>& work, const char* op) {
  try {
    work->wait(g.timeout + std::chrono::milliseconds(2000));
  } catch (...) {
    throw Classify(std::string(op) + " on rank " + std::to_string(g.rank) + " of " + std::to_string(g.worldSize) + " (timeout " +
                       std::to_string(g.timeout.count()) + " ms)",
                   std::current_exception());
  }
}

// Rejects or resolves a Promise with the outcome of work done on a libuv worker thread.
class DistWorker : public Napi::AsyncWorker {
 public:
  using Body = std::function<void()>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  DistWorker(Napi::Env env, const char* op, Body body, Result result)
      : Napi::AsyncWorker(env, op), op_(op), body_(std::move(body)), result_(std::move(result)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      body_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      if (error_) std::rethrow_exception(error_);
      deferred_.Resolve(result_(env));
    } catch (...) {
      deferred_.Reject(JsErrorOf(env, op_, std::current_exception()));
    }
    body_ = nullptr;  // drop the group and the tensors on this thread
    result_ = nullptr;
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  const char* op_;
  Body body_;
  Result result_;
  std::exception_ptr error_;
  Napi::Promise::Deferred deferred_;
};

static Napi::Value Undefined(Napi::Env env) { return env.Undefined(); }

// Runs `wait` now (sync) or on a worker (async: returns a Promise), then `result` on this thread.
static Napi::Value Finish(const Napi::CallbackInfo& info, bool async, const char* op, DistWorker::Body wait, DistWorker::Result result) {
  if (!async) {
    wait();
    return result(info.Env());
  }
  auto* w = new DistWorker(info.Env(), op, std::move(wait), std::move(result));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// A tensor Gloo can send and receive in place: dense, contiguous, on the CPU.
// ts: NativeHandle
static at::Tensor& CommTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  at::Tensor& t = TensorArg(info, i, name);
  if (t.layout() != at::kStrided || !t.is_contiguous()) ThrowArg(info, i, name, "a dense contiguous Tensor (call .contiguous() first)");
  if (!t.device().is_cpu()) ThrowArg(info, i, name, "a CPU Tensor (the Gloo backend)");
  return t;
}

enum class Op { Sum, Avg, Product, Min, Max };

// ts: 'sum' | 'avg' | 'product' | 'min' | 'max'
static Op OpArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  std::string s = StringArg(info, i, name);
  if (s == "sum") return Op::Sum;
  if (s == "avg") return Op::Avg;
  if (s == "product") return Op::Product;
  if (s == "min") return Op::Min;
  if (s == "max") return Op::Max;
  ThrowArg(info, i, name, "'sum', 'avg', 'product', 'min' or 'max'");
}

static ::c10d::ReduceOp ToReduceOp(Op op) {
  switch (op) {
    case Op::Product: return ::c10d::ReduceOp::PRODUCT;
    case Op::Min: return ::c10d::ReduceOp::MIN;
    case Op::Max: return ::c10d::ReduceOp::MAX;
    default: return ::c10d::ReduceOp::SUM;  // Gloo has no AVG: a sum divided by the world size
  }
}

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  // Which backends this build has, and why not where it has not.
  // returns: { gloo: boolean; glooReason?: string; nccl: boolean; ncclReason?: string }
  TG_OP(exports, "distAvailable", {
    auto o = Napi::Object::New(info.Env());
    o.Set("gloo", Napi::Boolean::New(info.Env(), true));
    o.Set("nccl", Napi::Boolean::New(info.Env(), false));
    o.Set("ncclReason", Napi::String::New(info.Env(), kNcclUnavailable));
    return o;
  });
  // Joins (rank 0: serves) the rendezvous and creates the group: its id.
  TG_OP(exports, "distInit", {
    at::NoGradGuard ng;
    return Napi::Number::New(info.Env(), static_cast<double>(Register(info.Env(), Create(SpecArgs(info, 0)))));
  });
  // The same on a worker thread.
  // returns: Promise<number>
  TG_OP(exports, "distInitAsync", {
    InitSpec spec = SpecArgs(info, 0);
    auto made = std::make_shared<std::shared_ptr<DistGroup>>();
    auto* w = new DistWorker(
        info.Env(), "initProcessGroupAsync", [spec, made]() { *made = Create(spec); },
        [made](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(Register(env, std::move(*made)))); });
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  });
  // returns: { rank: number; worldSize: number; timeoutMs: number; backend: 'gloo' }
  TG_OP(exports, "distInfo", {
    auto g = GroupArg(info, 0, "group");
    auto o = Napi::Object::New(info.Env());
    o.Set("rank", Napi::Number::New(info.Env(), g->rank));
    o.Set("worldSize", Napi::Number::New(info.Env(), g->worldSize));
    o.Set("timeoutMs", Napi::Number::New(info.Env(), static_cast<double>(g->timeout.count())));
    o.Set("backend", Napi::String::New(info.Env(), "gloo"));
    return o;
  });
  // Releases the group and its store (joins Gloo's threads; bounded by the timeout when a peer
  // is gone). Idempotent: false when the id is no longer registered.
  TG_OP(exports, "distDestroy", {
    int64_t id = GroupIdArg(info, 0, "group");
    auto& reg = Registry(info.Env());
    auto it = reg.groups.find(id);
    if (it == reg.groups.end()) return Napi::Boolean::New(info.Env(), false);
    std::shared_ptr<DistGroup> g = std::move(it->second);
    reg.groups.erase(it);
    if (g.use_count() == 1) {  // no asynchronous collective still holds it: release now
      g->pg.reset();
      g->store.reset();
    }
    return Napi::Boolean::New(info.Env(), true);
  });
  // (group, tensor, op, async): in place; async returns a Promise.
  // returns: void | Promise<void>
  TG_OP(exports, "distAllReduce", {
    auto g = GroupArg(info, 0, "group");
    at::Tensor t = CommTensorArg(info, 1, "tensor");
    Op op = OpArg(info, 2, "op");
    bool async = BoolArg(info, 3, "async");
    at::NoGradGuard ng;
    std::vector<at::Tensor> ts{t};
    ::c10d::AllreduceOptions opts;
    opts.reduceOp = ToReduceOp(op);
    c10::intrusive_ptr<::c10d::Work> work;
    try {
      work = g->pg->allreduce(ts, opts);
    } catch (...) {
      throw Classify("allReduce", std::current_exception());
    }
    return Finish(info, async, "allReduceAsync", [g, work, t, op]() mutable {
      WaitWork(*g, work, "allReduce");
      if (op == Op::Avg) {
        at::NoGradGuard inner;
        if (at::isFloatingType(t.scalar_type())) {
          t.div_(g->worldSize);
        } else {
          t.div_(g->worldSize, "floor");
        }
      }
    }, Undefined);
  });
  // (group, tensor, root, async): in place; the root's values everywhere.
  // returns: void | Promise<void>
  TG_OP(exports, "distBroadcast", {
    auto g = GroupArg(info, 0, "group");
    at::Tensor t = CommTensorArg(info, 1, "tensor");
    int64_t root = IntArg(info, 2, "root");
    bool async = BoolArg(info, 3, "async");
    if (root < 0 || root >= g->worldSize) {
      ThrowInvalid(info.Env(), "root", "a rank in [0, " + std::to_string(g->worldSize) + ")", std::to_string(root));
    }
    std::vector<at::Tensor> ts{t};
    ::c10d::BroadcastOptions opts;
    opts.rootRank = root;
    c10::intrusive_ptr<::c10d::Work> work;
    try {
      work = g->pg->broadcast(ts, opts);
    } catch (...) {
      throw Classify("broadcast", std::current_exception());
    }
    return Finish(info, async, "broadcastAsync", [g, work, t]() { WaitWork(*g, work, "broadcast"); }, Undefined);
  });
  // (group, tensor, async) -> one tensor per rank, in rank order.
  // returns: NativeHandle[] | Promise<NativeHandle[]>
  TG_OP(exports, "distAllGather", {
    auto g = GroupArg(info, 0, "group");
    at::Tensor t = CommTensorArg(info, 1, "tensor");
    bool async = BoolArg(info, 2, "async");
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int r = 0; r < g->worldSize; ++r) outs[0].push_back(at::empty_like(t, at::MemoryFormat::Contiguous));
    std::vector<at::Tensor> ins{t};
    c10::intrusive_ptr<::c10d::Work> work;
    try {
      work = g->pg->allgather(outs, ins);
    } catch (...) {
      throw Classify("allGather", std::current_exception());
    }
    std::vector<at::Tensor> results = outs[0];
    return Finish(info, async, "allGatherAsync", [g, work, t]() { WaitWork(*g, work, "allGather"); },
                  [results](Napi::Env env) -> Napi::Value { return WrapList(env, results); });
  });
  // returns: void | Promise<void>
  TG_OP(exports, "distBarrier", {
    auto g = GroupArg(info, 0, "group");
    bool async = BoolArg(info, 1, "async");
    c10::intrusive_ptr<::c10d::Work> work;
    try {
      work = g->pg->barrier(::c10d::BarrierOptions());
    } catch (...) {
      throw Classify("barrier", std::current_exception());
    }
    return Finish(info, async, "barrierAsync", [g, work]() { WaitWork(*g, work, "barrier"); }, Undefined);
  });
}

#else  // no Gloo headers at build time: every entry says so

static const char* kNoGloo =
    "distributed training is not available: this addon was built without Gloo's headers (gloo/context.h, which libtorch's "
    "c10d/ProcessGroupGloo.hpp includes and neither libtorch-dev nor the pip wheels ship). Install them (Debian: apt-get install "
    "libgloo-dev) and rebuild (node scripts/build-native.js)";

struct DistRegistry {};

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  TG_OP(exports, "distAvailable", {
    auto o = Napi::Object::New(info.Env());
    o.Set("gloo", Napi::Boolean::New(info.Env(), false));
    o.Set("glooReason", Napi::String::New(info.Env(), kNoGloo));
    o.Set("nccl", Napi::Boolean::New(info.Env(), false));
    o.Set("ncclReason", Napi::String::New(info.Env(), kNcclUnavailable));
    return o;
  });
  for (const char* name : {"distInit", "distInitAsync", "distInfo", "distAllReduce", "distBroadcast", "distAllGather", "distBarrier"}) {
    exports.Set(name, Napi::Function::New(
                          env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                            return Guard(info, "initProcessGroup", [&]() -> Napi::Value { throw CodedError(kErrUnavailable, kNoGloo); });
                          },
                          name));
  }
  TG_OP(exports, "distDestroy", { return Napi::Boolean::New(info.Env(), false); });
}

#endif

}  // namespace tg
