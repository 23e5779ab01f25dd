// The CUDA driver API, loaded at run time (dlopen of libcuda.so.1), so a GPU addon builds with no
// CUDA toolkit and loads on machines with no GPU, where opening a video then fails with
// TVL_NO_CUDA_DEVICE instead of the addon failing to load. Types come from the ffnvcodec headers
// (Debian's libffmpeg-nvenc-dev); the loading is ours, because ffnvcodec's loader lacks pinned
// host memory. Also here: the primary-context guard, the embedded-kernel module, and checked calls.
//
// TVL_LIBCUDA=<path> loads another driver library (for unusual installs, and the tests' fake one).
#pragma once
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include <ffnvcodec/dynlink_cuda.h>

#include "tvl/error.h"
#include "tvl/gpu/frame_kernel.h"

namespace tvl {
namespace gpu {

// Driver result codes beyond the few ffnvcodec's header names.
constexpr int kCudaErrorOutOfMemory = 2;
constexpr int kCudaErrorUnsupportedPtxVersion = 222;

typedef CUresult CUDAAPI tcuMemHostAlloc(void** pp, size_t bytesize, unsigned int flags);
typedef CUresult CUDAAPI tcuMemFreeHost(void* p);
typedef CUresult CUDAAPI tcuDriverGetVersion(int* version);
typedef CUresult CUDAAPI tcuDeviceTotalMem(size_t* bytes, CUdevice dev);
typedef CUresult CUDAAPI tcuStreamWaitEvent(CUstream stream, CUevent event, unsigned int flags);

struct CudaApi {
  tcuInit* cuInit = nullptr;
  tcuDriverGetVersion* cuDriverGetVersion = nullptr;
  tcuGetErrorName* cuGetErrorName = nullptr;
  tcuGetErrorString* cuGetErrorString = nullptr;
  tcuDeviceGetCount* cuDeviceGetCount = nullptr;
  tcuDeviceGet* cuDeviceGet = nullptr;
  tcuDeviceGetName* cuDeviceGetName = nullptr;
  tcuDeviceTotalMem* cuDeviceTotalMem = nullptr;
  tcuDeviceComputeCapability* cuDeviceComputeCapability = nullptr;
  tcuDevicePrimaryCtxGetState* cuDevicePrimaryCtxGetState = nullptr;
  tcuDevicePrimaryCtxSetFlags* cuDevicePrimaryCtxSetFlags = nullptr;
  tcuDevicePrimaryCtxRetain* cuDevicePrimaryCtxRetain = nullptr;
  tcuDevicePrimaryCtxRelease* cuDevicePrimaryCtxRelease = nullptr;
  tcuCtxPushCurrent_v2* cuCtxPushCurrent = nullptr;
  tcuCtxPopCurrent_v2* cuCtxPopCurrent = nullptr;
  tcuMemAlloc_v2* cuMemAlloc = nullptr;
  tcuMemFree_v2* cuMemFree = nullptr;
  tcuMemHostAlloc* cuMemHostAlloc = nullptr;
  tcuMemFreeHost* cuMemFreeHost = nullptr;
  tcuMemcpyDtoHAsync_v2* cuMemcpyDtoHAsync = nullptr;
  tcuStreamCreate* cuStreamCreate = nullptr;
  tcuStreamDestroy_v2* cuStreamDestroy = nullptr;
  tcuStreamSynchronize* cuStreamSynchronize = nullptr;
  tcuStreamWaitEvent* cuStreamWaitEvent = nullptr;
  tcuEventCreate* cuEventCreate = nullptr;
  tcuEventDestroy_v2* cuEventDestroy = nullptr;
  tcuEventRecord* cuEventRecord = nullptr;
  tcuEventSynchronize* cuEventSynchronize = nullptr;
  tcuModuleLoadData* cuModuleLoadData = nullptr;
  tcuModuleUnload* cuModuleUnload = nullptr;
  tcuModuleGetFunction* cuModuleGetFunction = nullptr;
  tcuLaunchKernel* cuLaunchKernel = nullptr;
  int deviceCount = 0;
  int driverVersion = 0;
};

inline const char* kNoDriverAdvice =
    "Install the NVIDIA driver, pick another device, or open with fallback: 'cpu' to decode on the CPU";

namespace detail {

template <class F>
void loadSymbol(void* lib, F*& fn, const char* name) {
  fn = reinterpret_cast<F*>(dlsym(lib, name));
  if (!fn) {
    throw Error("TVL_NO_CUDA_DEVICE",
                std::string("the NVIDIA driver library lacks ") + name + " (driver too old?). " + kNoDriverAdvice);
  }
}

inline std::string resultName(const CudaApi& api, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api.cuGetErrorName) api.cuGetErrorName(r, &name);
  if (api.cuGetErrorString) api.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(int(r));
  if (text) s += std::string(": ") + text;
  return s;
}

// Loads the library and initialises the driver once per process; the outcome (a usable API or
// the error saying why not) is kept, so every open reports the same thing cheaply.
inline const CudaApi& loadOnce() {
  static std::once_flag once;
  static CudaApi api;
  static std::string failureCode, failure;
  std::call_once(once, [] {
    try {
      const char* path = std::getenv("TVL_LIBCUDA");
      void* lib = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        throw Error("TVL_NO_CUDA_DEVICE", std::string("no NVIDIA driver: cannot load ") +
                                              (path && *path ? path : "libcuda.so.1") + " (" + dlerror() + "). " +
                                              kNoDriverAdvice);
      }
      loadSymbol(lib, api.cuInit, "cuInit");
      api.cuGetErrorName = reinterpret_cast<tcuGetErrorName*>(dlsym(lib, "cuGetErrorName"));
      api.cuGetErrorString = reinterpret_cast<tcuGetErrorString*>(dlsym(lib, "cuGetErrorString"));
      CUresult r = api.cuInit(0);
      if (r != CUDA_SUCCESS) {
        throw Error("TVL_NO_CUDA_DEVICE",
                    "the NVIDIA driver found no usable GPU (cuInit: " + resultName(api, r) + "). " + kNoDriverAdvice);
      }
      loadSymbol(lib, api.cuDriverGetVersion, "cuDriverGetVersion");
      loadSymbol(lib, api.cuDeviceGetCount, "cuDeviceGetCount");
      loadSymbol(lib, api.cuDeviceGet, "cuDeviceGet");
      loadSymbol(lib, api.cuDeviceGetName, "cuDeviceGetName");
      loadSymbol(lib, api.cuDeviceTotalMem, "cuDeviceTotalMem_v2");
      loadSymbol(lib, api.cuDeviceComputeCapability, "cuDeviceComputeCapability");
      loadSymbol(lib, api.cuDevicePrimaryCtxGetState, "cuDevicePrimaryCtxGetState");
      loadSymbol(lib, api.cuDevicePrimaryCtxSetFlags, "cuDevicePrimaryCtxSetFlags_v2");
      loadSymbol(lib, api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
      loadSymbol(lib, api.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
      loadSymbol(lib, api.cuCtxPushCurrent, "cuCtxPushCurrent_v2");
      loadSymbol(lib, api.cuCtxPopCurrent, "cuCtxPopCurrent_v2");
      loadSymbol(lib, api.cuMemAlloc, "cuMemAlloc_v2");
      loadSymbol(lib, api.cuMemFree, "cuMemFree_v2");
      loadSymbol(lib, api.cuMemHostAlloc, "cuMemHostAlloc");
      loadSymbol(lib, api.cuMemFreeHost, "cuMemFreeHost");
      loadSymbol(lib, api.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
      loadSymbol(lib, api.cuStreamCreate, "cuStreamCreate");
      loadSymbol(lib, api.cuStreamDestroy, "cuStreamDestroy_v2");
      loadSymbol(lib, api.cuStreamSynchronize, "cuStreamSynchronize");
      loadSymbol(lib, api.cuStreamWaitEvent, "cuStreamWaitEvent");
      loadSymbol(lib, api.cuEventCreate, "cuEventCreate");
      loadSymbol(lib, api.cuEventDestroy, "cuEventDestroy_v2");
      loadSymbol(lib, api.cuEventRecord, "cuEventRecord");
      loadSymbol(lib, api.cuEventSynchronize, "cuEventSynchronize");
      loadSymbol(lib, api.cuModuleLoadData, "cuModuleLoadData");
      loadSymbol(lib, api.cuModuleUnload, "cuModuleUnload");
      loadSymbol(lib, api.cuModuleGetFunction, "cuModuleGetFunction");
      loadSymbol(lib, api.cuLaunchKernel, "cuLaunchKernel");
      api.cuDriverGetVersion(&api.driverVersion);
      r = api.cuDeviceGetCount(&api.deviceCount);
      if (r != CUDA_SUCCESS || api.deviceCount == 0) {
        throw Error("TVL_NO_CUDA_DEVICE", "the NVIDIA driver reports no CUDA device. " + std::string(kNoDriverAdvice));
      }
    } catch (const Error& e) {
      failureCode = e.code();
      failure = e.what();
    }
  });
  if (!failure.empty()) throw Error(failureCode, failure);
  return api;
}

}  // namespace detail

// The loaded driver API; throws TVL_NO_CUDA_DEVICE when there is no driver or no GPU.
inline const CudaApi& cuda() { return detail::loadOnce(); }

// Throws for a failed driver call; `what` says what was being done.
inline void check(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const CudaApi& api = cuda();
  const std::string text = detail::resultName(api, r);
  if (int(r) == kCudaErrorOutOfMemory) throw Error("TVL_INTERNAL", std::string("out of GPU memory while ") + what);
  throw Error("TVL_INTERNAL", std::string(what) + " failed: " + text);
}

// One GPU's primary context (shared by every loader in the process, as the CUDA runtime does).
class CudaDevice {
 public:
  explicit CudaDevice(int ordinal) : ordinal_(ordinal) {
    const CudaApi& api = cuda();
    if (ordinal < 0 || ordinal >= api.deviceCount) {
      throw Error("TVL_NO_CUDA_DEVICE",
                  "device cuda:" + std::to_string(ordinal) + " does not exist: this machine has " +
                      std::to_string(api.deviceCount) + " CUDA device" + (api.deviceCount == 1 ? "" : "s") +
                      " (cuda:0" + (api.deviceCount > 1 ? "..cuda:" + std::to_string(api.deviceCount - 1) : "") + ")");
    }
    check(api.cuDeviceGet(&device_, ordinal), "cuDeviceGet");
    // The first to activate the primary context sets its flags. Blocking sync (waits sleep rather
    // than spin) is what FFmpeg's CUDA code asks for too; a context someone else activated
    // already (tfjs-node-gpu, say) is used with the flags it has.
    unsigned flags = 0;
    int active = 0;
    if (api.cuDevicePrimaryCtxGetState(device_, &flags, &active) == CUDA_SUCCESS && !active &&
        flags != CU_CTX_SCHED_BLOCKING_SYNC) {
      api.cuDevicePrimaryCtxSetFlags(device_, CU_CTX_SCHED_BLOCKING_SYNC);
    }
    check(api.cuDevicePrimaryCtxRetain(&ctx_, device_), "retaining the GPU's context");
    char name[256] = {0};
    api.cuDeviceGetName(name, sizeof(name) - 1, device_);
    name_ = name;
  }
  ~CudaDevice() {
    if (ctx_) cuda().cuDevicePrimaryCtxRelease(device_);
  }
  CudaDevice(const CudaDevice&) = delete;
  CudaDevice& operator=(const CudaDevice&) = delete;

  CUcontext context() const { return ctx_; }
  const std::string& name() const { return name_; }
  int ordinal() const { return ordinal_; }

 private:
  int ordinal_;
  CUdevice device_ = 0;
  CUcontext ctx_ = nullptr;
  std::string name_;
};

// Makes a context current on this thread for a scope (decoding runs on libuv's worker threads).
class ContextScope {
 public:
  explicit ContextScope(CUcontext ctx) { check(cuda().cuCtxPushCurrent(ctx), "making the GPU context current"); }
  ~ContextScope() {
    CUcontext popped;
    cuda().cuCtxPopCurrent(&popped);
  }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;
};

// The embedded frame kernel, loaded into the current context.
class FrameKernel {
 public:
  explicit FrameKernel(const char* ptx) {
    const CudaApi& api = cuda();
    CUresult r = api.cuModuleLoadData(&module_, ptx);
    if (int(r) == kCudaErrorUnsupportedPtxVersion) {
      throw Error("TVL_NO_CUDA_DEVICE", "the NVIDIA driver (version " + std::to_string(api.driverVersion / 1000) + "." +
                                            std::to_string(api.driverVersion % 1000 / 10) +
                                            ") is too old for TVL's kernels (built with CUDA 13: driver 580 or newer)");
    }
    check(r, "loading TVL's CUDA kernels");
    check(api.cuModuleGetFunction(&function_, module_, "tvl_convert_frame"), "finding tvl_convert_frame");
  }
  ~FrameKernel() {
    if (module_) cuda().cuModuleUnload(module_);
  }
  FrameKernel(const FrameKernel&) = delete;
  FrameKernel& operator=(const FrameKernel&) = delete;

  // Converts one picture into `dst` (device memory) on `stream`.
  void launch(const YuvSurface& surface, const ConvertParams& params, CUdeviceptr dst, CUstream stream) const {
    YuvSurface s = surface;
    ConvertParams p = params;
    void* d = reinterpret_cast<void*>(dst);
    void* args[] = {&s, &p, &d};
    const unsigned bx = 32, by = 8;
    check(cuda().cuLaunchKernel(function_, (unsigned(p.outW) + bx - 1) / bx, (unsigned(p.outH) + by - 1) / by, 1, bx,
                                by, 1, 0, stream, args, nullptr),
          "launching the colour-conversion kernel");
  }

 private:
  CUmodule module_ = nullptr;
  CUfunction function_ = nullptr;
};

}  // namespace gpu
}  // namespace tvl
