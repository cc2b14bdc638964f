// ops/cuda/cudnn_sdpa.cc — cuDNN's fused scaled-dot-product attention through the cuDNN 9 backend
// (graph) API: the unified SDPA_FWD / SDPA_BWD operations (cuDNN >= 9.13.1) over strided views
// of the packed qkv, one execution plan per shape (cached), every cuDNN status returned as a
// Status. libcudnn is opened with dlopen on first use, so a machine without it runs every other
// op and gets a clear error here.
#include "ops/cuda/cudnn_sdpa.h"

#include <cuda_runtime.h>
#include <cudnn_graph.h>
#include <dlfcn.h>
#include <glog/logging.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/core/cuda_context.h"

namespace tigerfg::ops::cuda {
namespace {

// The cuDNN entry points this file uses, resolved from libcudnn.so.9.
struct CudnnApi {
  size_t (*GetVersion)() = nullptr;
  const char* (*GetErrorString)(cudnnStatus_t) = nullptr;
  cudnnStatus_t (*Create)(cudnnHandle_t*) = nullptr;
  cudnnStatus_t (*SetStream)(cudnnHandle_t, cudaStream_t) = nullptr;
  cudnnStatus_t (*CreateDescriptor)(cudnnBackendDescriptorType_t,
                                    cudnnBackendDescriptor_t*) = nullptr;
  cudnnStatus_t (*DestroyDescriptor)(cudnnBackendDescriptor_t) = nullptr;
  cudnnStatus_t (*SetAttribute)(cudnnBackendDescriptor_t, cudnnBackendAttributeName_t,
                                cudnnBackendAttributeType_t, int64_t, const void*) = nullptr;
  cudnnStatus_t (*GetAttribute)(cudnnBackendDescriptor_t const, cudnnBackendAttributeName_t,
                                cudnnBackendAttributeType_t, int64_t, int64_t*, void*) = nullptr;
  cudnnStatus_t (*Finalize)(cudnnBackendDescriptor_t) = nullptr;
  cudnnStatus_t (*Execute)(cudnnHandle_t, cudnnBackendDescriptor_t,
                           cudnnBackendDescriptor_t) = nullptr;
  // Optional: why the last call failed ("statsDim[2] != s_q", an engine's reason to decline).
  void (*GetLastErrorString)(char*, size_t) = nullptr;
  Status loaded;  // why the library or a symbol is missing, or its version is too old
};

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* fn, std::string* missing) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (*fn == nullptr) *missing += std::string(missing->empty() ? "" : ", ") + name;
  return *fn != nullptr;
}

const CudnnApi& Api() {
  static const CudnnApi* api = [] {
    auto* a = new CudnnApi;
    void* lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      a->loaded =
          Status::Error(std::string("cuDNN: cannot load libcudnn.so.9 (") +
                        (why != nullptr ? why : "not found") + "); put cuDNN 9 on LD_LIBRARY_PATH");
      return a;
    }
    std::string missing;
    Resolve(lib, "cudnnGetVersion", &a->GetVersion, &missing);
    Resolve(lib, "cudnnGetErrorString", &a->GetErrorString, &missing);
    Resolve(lib, "cudnnCreate", &a->Create, &missing);
    Resolve(lib, "cudnnSetStream", &a->SetStream, &missing);
    Resolve(lib, "cudnnBackendCreateDescriptor", &a->CreateDescriptor, &missing);
    Resolve(lib, "cudnnBackendDestroyDescriptor", &a->DestroyDescriptor, &missing);
    Resolve(lib, "cudnnBackendSetAttribute", &a->SetAttribute, &missing);
    Resolve(lib, "cudnnBackendGetAttribute", &a->GetAttribute, &missing);
    Resolve(lib, "cudnnBackendFinalize", &a->Finalize, &missing);
    Resolve(lib, "cudnnBackendExecute", &a->Execute, &missing);
    a->GetLastErrorString =
        reinterpret_cast<void (*)(char*, size_t)>(dlsym(lib, "cudnnGetLastErrorString"));
    if (!missing.empty()) {
      a->loaded = Status::Error("cuDNN: libcudnn.so.9 lacks " + missing);
    } else if (a->GetVersion() < kCudnnSdpaMinVersion) {
      a->loaded = Status::Error("cuDNN: version " + std::to_string(a->GetVersion()) +
                                " has no unified SDPA operation (needs " +
                                std::to_string(kCudnnSdpaMinVersion) + " or newer)");
    }
    return a;
  }();
  return *api;
}

Status Check(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return Status::Ok();
  std::string why;
  if (Api().GetLastErrorString != nullptr) {
    std::array<char, 512> buf{};
    Api().GetLastErrorString(buf.data(), buf.size());
    buf.back() = '\0';
    if (buf[0] != '\0') why = std::string(": ") + buf.data();
  }
  return Status::Error(std::string("cuDNN: ") + what + ": " + Api().GetErrorString(s) + " (" +
                       std::to_string(static_cast<int>(s)) + ")" + why);
}

#define TIGERFG_CUDNN_RETURN_IF_ERROR(call, what) \
  do {                                            \
    Status _s = Check((call), (what));            \
    if (!_s.ok()) return _s;                      \
  } while (0)

// One backend descriptor, destroyed with its owner.
class Desc {
 public:
  Desc() = default;
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  Desc(Desc&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Desc& operator=(Desc&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~Desc() {
    if (d_ != nullptr) Api().DestroyDescriptor(d_);
  }
  Status Create(cudnnBackendDescriptorType_t type) {
    return Check(Api().CreateDescriptor(type, &d_), "creating a descriptor");
  }
  cudnnBackendDescriptor_t get() const { return d_; }
  Status Set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
             const void* values, const char* what) const {
    return Check(Api().SetAttribute(d_, name, type, count, values), what);
  }
  Status SetDesc(cudnnBackendAttributeName_t name, const Desc& value, const char* what) const {
    cudnnBackendDescriptor_t v = value.get();
    return Set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v, what);
  }
  Status Finalize(const char* what) const { return Check(Api().Finalize(d_), what); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

// The tensors of the graphs, by unique id.
enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats, kScale, kDO, kDQ, kDK, kDV };

// A 4-d tensor descriptor [b, h, s, d] with the given strides (elements), or a by-value fp32
// scalar.
Status MakeTensor(Desc* t, Uid uid, cudnnDataType_t type, std::array<int64_t, 4> dims,
                  std::array<int64_t, 4> strides, bool by_value = false) {
  if (Status s = t->Create(CUDNN_BACKEND_TENSOR_DESCRIPTOR); !s.ok()) return s;
  const int64_t id = uid, alignment = 16;
  const char* what = "setting a tensor attribute";
  for (Status s :
       {t->Set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, what),
        t->Set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data(), what),
        t->Set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data(), what),
        t->Set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &id, what),
        t->Set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, what)}) {
    if (!s.ok()) return s;
  }
  if (by_value) {
    const bool yes = true;
    if (Status s = t->Set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes, what);
        !s.ok()) {
      return s;
    }
  }
  return t->Finalize("finalizing a tensor descriptor");
}

// What a plan depends on: the direction and the shape (pointers enter at execution).
struct PlanKey {
  int device;
  bool backward;
  int64_t B, S, H, d;
  bool operator<(const PlanKey& o) const {
    return std::tie(device, backward, B, S, H, d) <
           std::tie(o.device, o.backward, o.B, o.S, o.H, o.d);
  }
};

// A finalized execution plan (or why there is none) and the descriptors it keeps alive.
struct Plan {
  std::vector<Desc> keep;  // tensors, operation, graph, engine config
  Desc plan;
  int64_t workspace = 0;
  Status status;
};

// The tensors of one direction: Q, K, V views of qkv[B, S, 3, H, d] ([b, h, s, d] with strides
// [3·S·D, d, 3D, 1]), O / dO [B, S, H, d] ([S·D, d, D, 1]), stats [B, H, S, 1] fp32, the scale;
// the backward adds dO and dQ, dK, dV (views of dqkv like Q, K, V).
Status MakeTensors(const PlanKey& k, std::map<Uid, Desc>* t) {
  const int64_t D = k.H * k.d;
  const std::array<int64_t, 4> dims{k.B, k.H, k.S, k.d}, packed{3 * k.S * D, k.d, 3 * D, 1},
      tokens{k.S * D, k.d, D, 1};
  std::vector<std::tuple<Uid, std::array<int64_t, 4>>> bf16 = {
      {kQ, packed}, {kK, packed}, {kV, packed}, {kO, tokens}};
  if (k.backward) {
    for (Uid u : {kDQ, kDK, kDV}) bf16.emplace_back(u, packed);
    bf16.emplace_back(kDO, tokens);
  }
  for (const auto& [uid, strides] : bf16) {
    if (Status s = MakeTensor(&(*t)[uid], uid, CUDNN_DATA_BFLOAT16, dims, strides); !s.ok())
      return s;
  }
  if (Status s = MakeTensor(&(*t)[kStats], kStats, CUDNN_DATA_FLOAT, {k.B, k.H, k.S, 1},
                            {k.H * k.S, k.S, 1, 1});
      !s.ok()) {
    return s;
  }
  return MakeTensor(&(*t)[kScale], kScale, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1},
                    /*by_value=*/true);
}

// The SDPA operation of k's direction over the tensors.
Status MakeOperation(const PlanKey& k, const std::map<Uid, Desc>& t, Desc* op) {
  const char* what = "setting an SDPA attribute";
  if (!k.backward) {
    if (Status s = op->Create(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR); !s.ok()) return s;
    for (const auto& [attr, uid] : std::vector<std::pair<cudnnBackendAttributeName_t, Uid>>{
             {CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, kQ},
             {CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, kK},
             {CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, kV},
             {CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, kO},
             {CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC, kStats},
             {CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, kScale}}) {
      if (Status s = op->SetDesc(attr, t.at(uid), what); !s.ok()) return s;
    }
  } else {
    if (Status s = op->Create(CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR); !s.ok()) return s;
    for (const auto& [attr, uid] : std::vector<std::pair<cudnnBackendAttributeName_t, Uid>>{
             {CUDNN_ATTR_OPERATION_SDPA_BWD_QDESC, kQ},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_KDESC, kK},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_VDESC, kV},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_ODESC, kO},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_STATSDESC, kStats},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_SCALEDESC, kScale},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_DODDESC, kDO},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_DQDESC, kDQ},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_DKDESC, kDK},
             {CUDNN_ATTR_OPERATION_SDPA_BWD_DVDESC, kDV}}) {
      if (Status s = op->SetDesc(attr, t.at(uid), what); !s.ok()) return s;
    }
  }
  return op->Finalize(k.backward ? "finalizing the SDPA backward operation"
                                 : "finalizing the SDPA forward operation");
}

// The first engine configuration of heuristic mode A that finalizes into a plan for `graph`.
Status MakeExecutionPlan(cudnnHandle_t handle, const Desc& graph, Plan* p) {
  Desc heur;
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  for (Status s :
       {heur.Create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR),
        heur.SetDesc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph, "setting the heuristic's graph"),
        heur.Set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode,
                 "setting the heuristic's mode"),
        heur.Finalize("finalizing the engine heuristic")}) {
    if (!s.ok()) return s;
  }
  int64_t count = 0;
  TIGERFG_CUDNN_RETURN_IF_ERROR(
      Api().GetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                         0, &count, nullptr),
      "counting the heuristic's engine configurations");
  if (count <= 0) return Status::Error("cuDNN: no engine for this SDPA graph");
  std::vector<Desc> configs(static_cast<size_t>(count));
  std::vector<cudnnBackendDescriptor_t> raw;
  for (Desc& c : configs) {
    if (Status s = c.Create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR); !s.ok()) return s;
    raw.push_back(c.get());
  }
  int64_t got = 0;
  TIGERFG_CUDNN_RETURN_IF_ERROR(
      Api().GetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                         count, &got, raw.data()),
      "reading the heuristic's engine configurations");
  Status last = Status::Error("cuDNN: no engine configuration finalized for this SDPA graph");
  for (int64_t i = 0; i < got; ++i) {
    Desc plan;
    last = plan.Create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    if (last.ok()) {
      last = plan.Set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle,
                      "setting the plan's handle");
    }
    if (last.ok()) {
      last = plan.SetDesc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[i],
                          "setting the plan's engine configuration");
    }
    if (last.ok()) last = plan.Finalize("finalizing an execution plan");
    if (!last.ok()) continue;
    int64_t n = 0;
    last = Check(Api().GetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                    CUDNN_TYPE_INT64, 1, &n, &p->workspace),
                 "reading the plan's workspace size");
    if (!last.ok()) continue;
    p->plan = std::move(plan);
    p->keep.push_back(std::move(configs[i]));
    return Status::Ok();
  }
  return last;
}

// The one-operation graph of op, on handle's device (no handle: cuDNN still checks the graph).
Status MakeGraph(cudnnHandle_t handle, const Desc& op, Desc* graph) {
  TIGERFG_RETURN_IF_ERROR(graph->Create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
  cudnnBackendDescriptor_t ops[1] = {op.get()};
  TIGERFG_RETURN_IF_ERROR(graph->Set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                     1, ops, "setting the graph's operation"));
  if (handle != nullptr) {
    TIGERFG_RETURN_IF_ERROR(graph->Set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                       &handle, "setting the graph's handle"));
  }
  return graph->Finalize("finalizing the SDPA operation graph");
}

Status BuildPlan(cudnnHandle_t handle, const PlanKey& k, Plan* p) {
  std::map<Uid, Desc> tensors;
  if (Status s = MakeTensors(k, &tensors); !s.ok()) return s;
  Desc op, graph;
  if (Status s = MakeOperation(k, tensors, &op); !s.ok()) return s;
  if (Status s = MakeGraph(handle, op, &graph); !s.ok()) return s;
  if (Status s = MakeExecutionPlan(handle, graph, p); !s.ok()) return s;
  for (auto& [uid, desc] : tensors) p->keep.push_back(std::move(desc));
  p->keep.push_back(std::move(op));
  p->keep.push_back(std::move(graph));
  return Status::Ok();
}

// One cuDNN handle per device, and the plans; guarded by one mutex (plans are built once).
std::mutex cache_mutex;
std::map<int, cudnnHandle_t>& Handles() {
  static auto* handles = new std::map<int, cudnnHandle_t>;
  return *handles;
}
std::map<PlanKey, std::unique_ptr<Plan>>& Plans() {
  static auto* plans = new std::map<PlanKey, std::unique_ptr<Plan>>;
  return *plans;
}

// The handle of ctx's device, on ctx's stream; caller holds cache_mutex.
StatusOr<cudnnHandle_t> HandleFor(const Context& ctx) {
  if (!Api().loaded.ok()) return Api().loaded;
  CudaHandles* h = ctx.cuda();
  auto it = Handles().find(h->device);
  if (it == Handles().end()) {
    cudnnHandle_t handle = nullptr;
    TIGERFG_CUDNN_RETURN_IF_ERROR(Api().Create(&handle), "creating a handle");
    it = Handles().emplace(h->device, handle).first;
  }
  TIGERFG_CUDNN_RETURN_IF_ERROR(Api().SetStream(it->second, h->stream), "setting the stream");
  return it->second;
}

// The plan of k (built on first use; a failure is remembered and returned again).
StatusOr<Plan*> PlanFor(const Context& ctx, const PlanKey& k) {
  TIGERFG_ASSIGN_OR_RETURN(cudnnHandle_t handle, HandleFor(ctx));
  auto& slot = Plans()[k];
  if (slot == nullptr) {
    slot = std::make_unique<Plan>();
    slot->status = BuildPlan(handle, k, slot.get());
    if (!slot->status.ok()) {
      LOG_FIRST_N(WARNING, 4) << "cuDNN SDPA " << (k.backward ? "backward" : "forward") << " for B "
                              << k.B << " S " << k.S << " heads " << k.H << " head dim " << k.d
                              << ": " << slot->status.message();
    }
  }
  if (!slot->status.ok()) return slot->status;
  return slot.get();
}

Status Execute(const Context& ctx, const Plan& plan, const std::vector<int64_t>& uids,
               const std::vector<void*>& pointers) {
  TIGERFG_ASSIGN_OR_RETURN(cudnnHandle_t handle, HandleFor(ctx));
  void* workspace = nullptr;
  cudaStream_t stream = ctx.cuda()->stream;
  if (plan.workspace > 0) {
    TIGERFG_ASSIGN_OR_RETURN(workspace, CudnnSdpaWorkspace(ctx, plan.workspace));
  }
  Desc pack;
  Status s = pack.Create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  if (s.ok()) {
    s = pack.Set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                 static_cast<int64_t>(uids.size()), uids.data(), "setting the variant pack's ids");
  }
  if (s.ok()) {
    s = pack.Set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
                 static_cast<int64_t>(pointers.size()), pointers.data(),
                 "setting the variant pack's pointers");
  }
  if (s.ok()) {
    s = pack.Set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace,
                 "setting the variant pack's workspace");
  }
  if (s.ok()) s = pack.Finalize("finalizing the variant pack");
  if (s.ok()) s = Check(Api().Execute(handle, plan.plan.get(), pack.get()), "executing SDPA");
  if (workspace != nullptr) cudaFreeAsync(workspace, stream);
  return s;
}

PlanKey KeyOf(const Context& ctx, bool backward, const Tensor& qkv, int heads) {
  const int64_t D = qkv.dim(2) / 3;
  return {ctx.cuda()->device, backward, qkv.dim(0), qkv.dim(1), heads, D / heads};
}

// Our shapes cuDNN could take at all (its heuristic has the last word).
Status CheckShape(const PlanKey& k) {
  if (k.d % 8 != 0 || k.d > 128 || k.d < 8) {
    return Status::Error("cuDNN SDPA: head dimension " + std::to_string(k.d) +
                         " is not a multiple of 8 in [8, 128]");
  }
  return Status::Ok();
}

// The tensor descriptors promise 16-byte aligned data.
Status CheckAligned(const std::vector<void*>& pointers, size_t by_value_index) {
  for (size_t i = 0; i < pointers.size(); ++i) {
    if (i != by_value_index && reinterpret_cast<uintptr_t>(pointers[i]) % 16 != 0) {
      return Status::Error("cuDNN SDPA: a tensor is not 16-byte aligned");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CudnnSdpaLibrary() { return Api().loaded; }

StatusOr<void*> CudnnSdpaWorkspace(const Context& ctx, int64_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, static_cast<size_t>(bytes), ctx.cuda()->stream);
  if (e == cudaSuccess) return p;
  // The failed call is also the runtime's last error: left there, the fallback kernel's
  // CUDA_CHECK_LAUNCH (cudaGetLastError) would read it and abort the run.
  (void)cudaGetLastError();
  return Status::Error("cuDNN SDPA: workspace of " + std::to_string(bytes) +
                       " bytes: " + cudaGetErrorString(e));
}

Status CudnnSdpaCheck(const Context& ctx, int64_t seq, int64_t width, int heads) {
  if (!ctx.is_cuda()) return Status::Error("cuDNN SDPA runs on CUDA devices only");
  if (heads <= 0 || width % heads != 0) {
    return Status::Error("cuDNN SDPA: width " + std::to_string(width) + " is not a multiple of " +
                         std::to_string(heads) + " heads");
  }
  // The forward must plan; a backward cuDNN declines runs the fused kernel's (PlanFor logs it).
  const PlanKey forward{ctx.cuda()->device, false, 1, seq, heads, width / heads};
  if (Status s = CheckShape(forward); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (StatusOr<Plan*> p = PlanFor(ctx, forward); !p.ok()) return p.status();
  PlanKey backward = forward;
  backward.backward = true;
  (void)PlanFor(ctx, backward);
  return Status::Ok();
}

Status CudnnSdpaBackwardCheck(const Context& ctx, int64_t batch, int64_t seq, int64_t width,
                              int heads) {
  if (!ctx.is_cuda()) return Status::Error("cuDNN SDPA runs on CUDA devices only");
  if (heads <= 0 || width % heads != 0) {
    return Status::Error("cuDNN SDPA: width " + std::to_string(width) + " is not a multiple of " +
                         std::to_string(heads) + " heads");
  }
  const PlanKey k{ctx.cuda()->device, true, batch, seq, heads, width / heads};
  if (Status s = CheckShape(k); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(cache_mutex);
  return PlanFor(ctx, k).status();
}

Status CudnnSdpaDescribe(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                         bool backward) {
  if (!Api().loaded.ok()) return Api().loaded;
  const PlanKey k{-1, backward, batch, seq, heads, head_dim};
  std::map<Uid, Desc> tensors;
  TIGERFG_RETURN_IF_ERROR(MakeTensors(k, &tensors));
  Desc op, graph;
  TIGERFG_RETURN_IF_ERROR(MakeOperation(k, tensors, &op));
  return MakeGraph(/*handle=*/nullptr, op, &graph);
}

Status CudnnSdpaForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv, int heads) {
  const PlanKey k = KeyOf(ctx, /*backward=*/false, qkv, heads);
  if (Status s = CheckShape(k); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(cache_mutex);
  TIGERFG_ASSIGN_OR_RETURN(Plan * plan, PlanFor(ctx, k));
  auto* base = static_cast<char*>(qkv.data());
  const size_t third = static_cast<size_t>(qkv.dim(2) / 3) * 2;  // bytes of one D-wide bf16 slice
  float scale = 1.0f / std::sqrt(static_cast<float>(k.d));
  const std::vector<void*> pointers = {base,       base + third, base + 2 * third,
                                       out.data(), lse.data(),   &scale};
  TIGERFG_RETURN_IF_ERROR(CheckAligned(pointers, /*by_value_index=*/5));
  return Execute(ctx, *plan, {kQ, kK, kV, kO, kStats, kScale}, pointers);
}

Status CudnnSdpaBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                         const Tensor& out, const Tensor& lse, int heads) {
  const PlanKey k = KeyOf(ctx, /*backward=*/true, qkv, heads);
  if (Status s = CheckShape(k); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(cache_mutex);
  TIGERFG_ASSIGN_OR_RETURN(Plan * plan, PlanFor(ctx, k));
  auto* base = static_cast<char*>(qkv.data());
  auto* dbase = static_cast<char*>(dqkv.data());
  const size_t third = static_cast<size_t>(qkv.dim(2) / 3) * 2;
  float scale = 1.0f / std::sqrt(static_cast<float>(k.d));
  const std::vector<void*> pointers = {
      base,        base + third, base + 2 * third, out.data(),       lse.data(), &scale,
      dout.data(), dbase,        dbase + third,    dbase + 2 * third};
  TIGERFG_RETURN_IF_ERROR(CheckAligned(pointers, /*by_value_index=*/5));
  return Execute(ctx, *plan, {kQ, kK, kV, kO, kStats, kScale, kDO, kDQ, kDK, kDV}, pointers);
}

}  // namespace tigerfg::ops::cuda
