// Shared plumbing for the bindings: the tensor handle, per-environment state,
// argument conversion (each names its parameter) and the single error boundary.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tg {

// Tensors live in a per-environment slot table; JS holds a BigInt that encodes
// (generation << 32 | slot + 1), XORed with a random per-environment key. It is
// never dereferenced, so a stale, forged or foreign handle is caught by the bounds
// and generation checks instead of crashing. A BigInt rather than an External:
// Node's napi_create_external allocates a C++ wrapper and a weak global handle per
// value (~10% of a small op's cost); a BigInt is one small heap object, and no
// scalar argument is ever a BigInt, so handles and numbers cannot be confused.
// No per-handle V8 finalizer: the JS layer frees deterministically (dispose/tidy)
// and uses a FinalizationRegistry only for tensors that live outside any scope.
struct Slot {
  at::Tensor tensor;
  int64_t bytes = 0;
  uint32_t generation = 1;
  bool cuda = false;
};

struct DistRegistry;  // the process groups of this environment (distributed.cc)

struct RngStore;

struct EnvState {
  Napi::FunctionReference torchError;  // the JS TorchError class, set from JS at load
  std::vector<Slot> slots;
  std::vector<uint32_t> freeSlots;
  int64_t liveTensors = 0, cpuBytes = 0, cudaBytes = 0, cudaTensors = 0;
  int64_t unreportedBytes = 0;  // external-memory delta not yet told to V8
  uint64_t handleKey = 0;       // XORed into every handle (set at load)
  std::shared_ptr<DistRegistry> dist;  // created on the first initProcessGroup
  std::shared_ptr<RngStore> rng;       // this environment's generators (native/random.cc)
};

// An error whose JS code the binding chose (ERR_TORCH_DISTRIBUTED_TIMEOUT, ...): RethrowAsJs
// keeps the code and the message.
struct CodedError : std::runtime_error {
  std::string code;
  CodedError(std::string c, const std::string& message) : std::runtime_error(message), code(std::move(c)) {}
};

EnvState& State(Napi::Env env);

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
// Frees the tensor behind a handle (idempotent: a second call finds it already freed).
enum class ReleaseResult { Freed, AlreadyFreed, NotAHandle };
ReleaseResult ReleaseHandle(Napi::Env env, const Napi::Value& handle);
// The same for a handle's 64 bits as stored in a BigUint64Array (disposeMany).
bool ReleaseHandleBits(Napi::Env env, uint64_t bits);
// The slot a live or disposed handle refers to, or nullptr for a non-handle.
Slot* SlotOf(Napi::Env env, const Napi::Value& v);

// --- the one error path: every error the binding throws is a JS TorchError (the class handed in
// by setErrorClass) with a code and the op being run. ---
// An argument at fault: code ERR_INVALID_ARG with parameter, expected and received; the message is
// "op(): argument 'parameter' must be expected, received received", or "op(): " + message when given.
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string& parameter, const std::string& expected, const std::string& received,
                               const std::string& message = "");
// The same for argument i, described (Describe) as received.
[[noreturn]] void ThrowArg(const Napi::CallbackInfo& info, size_t i, const char* name, const char* expected);
// An argument out of range where the message says it all: code ERR_INVALID_ARG, "op(): " + message.
[[noreturn]] void ThrowRange(const Napi::CallbackInfo& info, const std::string& message);
std::string Describe(const Napi::Value& v);
// "a float32 Tensor of shape [2, 3]" (and the device when not the CPU)
std::string DescribeTensor(const at::Tensor& t);
std::string FormatNumber(double d);

bool IsTensor(const Napi::Value& v);

// The argument at i, undefined past the end: for accessors (an op's body never reads info[i]).
inline Napi::Value ArgAt(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() ? info[i] : info.Env().Undefined(); }

// --- argument accessors: the binding's declarative source ---
// An op reads each of its JS arguments through one accessor, Acc(info, <index>, "name", ...), and
// never touches info[i] or info.Length() itself. scripts/gen-binding.js reads the TG_OP bodies of
// native/*.cc and writes lib/binding.generated.ts from these calls: the `// ts:` line right above
// an accessor is the TypeScript type of what it accepts (a type that admits undefined makes the
// parameter optional, `...T` takes the remaining arguments, `(a: T, b?: U)` reads consecutive
// arguments under fixed names), and an op that reads an argument any other way is refused.
// An array argument's element k is named name[k] in errors.

// ts: NativeHandle
at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// The tensor a value is if it is a tensor handle (a disposed one throws), else nullptr; an array
// element when element >= 0 (errors then name name[element]). For accessors, not ops.
at::Tensor* MaybeTensorOf(const Napi::CallbackInfo& info, const Napi::Value& v, const char* name, int64_t element = -1);
at::Tensor& TensorOf(const Napi::CallbackInfo& info, const Napi::Value& v, size_t i, const char* name);
// ts: NativeHandle | null | undefined
c10::optional<at::Tensor> OptTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// A tensor of int64 indices (gather, index_select, class targets): another dtype is refused by name,
// in torch-gan's words on every libtorch version.
// ts: NativeHandle
at::Tensor& IndexTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: NativeHandle[]
std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// The raw value at i, for ops that decode it as a tensor handle (live or disposed) themselves and
// refuse a non-handle with ThrowArg: dispose and isDisposed, one decode per call.
// ts: NativeHandle
Napi::Value HandleValueArg(const Napi::CallbackInfo& info, size_t i, const char* name);

// A Tensor or a number (or boolean) argument, decoded once: `tensor` is set for a tensor handle,
// else `scalar` holds the number (an integer scalar for a whole number, as ScalarArg).
struct TensorOrScalar {
  at::Tensor* tensor = nullptr;
  at::Scalar scalar;
};
// ts: NativeHandle | number | boolean
TensorOrScalar TensorOrScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name);

// ts: number
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number | null | undefined
c10::optional<int64_t> OptIntArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number
double NumArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number | null | undefined
c10::optional<double> OptNumArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: boolean
bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: boolean | null | undefined
c10::optional<bool> OptBoolArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// An integer or an array of integers.
// ts: number | number[]
std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number | number[] | null | undefined
c10::optional<std::vector<int64_t>> OptIntListArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// An array of integers at i, or the integers passed as the arguments from i on (view(h, 2, 3)).
// ts: ...number[] | [number[]]
c10::SmallVector<int64_t, 8> IntRestArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number | boolean
at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: number | boolean | null | undefined
c10::optional<at::Scalar> OptScalarArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: DType
at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: DType | null | undefined
c10::optional<at::ScalarType> OptDtypeArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: Device
c10::Device DeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: Device | null | undefined
c10::optional<c10::Device> OptDeviceArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: string
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// ts: Function
Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i, const char* name);

const char* DtypeName(at::ScalarType t);

// The one error boundary: c10::Error and std::exception become a JS TorchError
// (message without the C++ backtrace, a code for OOM/index/type/value errors).
[[noreturn]] void RethrowAsJs(Napi::Env env, const char* op);
// The same for an exception caught on a worker thread (an AsyncWorker's Execute): the JS error
// value to reject a promise with, built on the JS thread.
Napi::Value JsErrorOf(Napi::Env env, const char* op, std::exception_ptr error);

// The op being run on this thread, so argument errors can name it.
const char*& CurrentOp();

template <typename F>
inline Napi::Value Guard(const Napi::CallbackInfo& info, const char* op, F&& body) {
  CurrentOp() = op;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    RethrowAsJs(info.Env(), op);
  }
}

// Registers one guarded binding: TG_OP(exports, "name", { ...body using info... }). A comment
// line `// returns: <TypeScript type>` directly above it declares what the op returns where
// scripts/gen-binding.js cannot tell from its return statements (Wrap, WrapList, Napi::Boolean,
// Number or String, Undefined); the other comment lines above it become the op's documentation.
#define TG_OP(exports, NAME, ...)                                                          \
  (exports).Set(NAME, Napi::Function::New((exports).Env(),                                 \
                                          [](const Napi::CallbackInfo& info) -> Napi::Value { \
                                            return ::tg::Guard(info, NAME, [&]() -> Napi::Value __VA_ARGS__); \
                                          }, NAME))

void RegisterTensorCore(Napi::Env env, Napi::Object exports);
void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterMath(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterDevice(Napi::Env env, Napi::Object exports);
void RegisterDistributed(Napi::Env env, Napi::Object exports);
void RegisterRandom(Napi::Env env, Napi::Object exports);
void RegisterProfiler(Napi::Env env, Napi::Object exports);
void RegisterAutocast(Napi::Env env, Napi::Object exports);

}  // namespace tg
