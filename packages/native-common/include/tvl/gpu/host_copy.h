// Getting converted frames from the GPU to the caller's buffers (tfjs-node-gpu takes host
// TypedArrays), overlapped with decoding: the kernel writes a device slot, an async copy on a
// second stream moves it to a pinned host slot, and only when that slot comes round again (or
// the plan ends) is it copied into the JS buffer. So the copy of frame k runs while NVDEC decodes
// frame k+1. The device slots stay allocated and reachable (`deviceSlot`) for a zero-copy path.
// FrameConverter puts the frame kernel in front: what every GPU engine's deliver() does.
#pragma once
#include <cstring>
#include <vector>

#include "tvl/gpu/cuda_api.h"

namespace tvl {
namespace gpu {

class HostCopier {
 public:
  static constexpr int kSlots = 3;

  HostCopier() {
    const CudaApi& api = cuda();
    // The kernel stream is a blocking one: it waits for work on the legacy default stream, where
    // FFmpeg's hwaccel copies decoded pictures into its frames (nvvl) before we read them.
    check(api.cuStreamCreate(&kernelStream_, 0), "creating a CUDA stream");
    check(api.cuStreamCreate(&copyStream_, CU_STREAM_NON_BLOCKING), "creating a CUDA stream");
    for (Slot& s : slots_) {
      check(api.cuEventCreate(&s.converted, CU_EVENT_DISABLE_TIMING), "creating a CUDA event");
      check(api.cuEventCreate(&s.copied, CU_EVENT_DISABLE_TIMING | CU_EVENT_BLOCKING_SYNC), "creating a CUDA event");
    }
  }
  ~HostCopier() {
    const CudaApi& api = cuda();
    if (copyStream_) api.cuStreamSynchronize(copyStream_);
    for (Slot& s : slots_) {
      if (s.device) api.cuMemFree(s.device);
      if (s.pinned) api.cuMemFreeHost(s.pinned);
      if (s.converted) api.cuEventDestroy(s.converted);
      if (s.copied) api.cuEventDestroy(s.copied);
    }
    if (kernelStream_) api.cuStreamDestroy(kernelStream_);
    if (copyStream_) api.cuStreamDestroy(copyStream_);
  }
  HostCopier(const HostCopier&) = delete;
  HostCopier& operator=(const HostCopier&) = delete;

  CUstream kernelStream() const { return kernelStream_; }

  // The device buffer the next frame's kernel writes (bytes long); waits for that slot's
  // previous copy and hands its frame to the caller's buffer first.
  CUdeviceptr nextSlot(size_t bytes) {
    Slot& s = slots_[next_];
    finish(s);
    if (s.bytes < bytes) {
      const CudaApi& api = cuda();
      if (s.device) api.cuMemFree(s.device);
      if (s.pinned) api.cuMemFreeHost(s.pinned);
      s.device = 0;
      s.pinned = nullptr;
      s.bytes = 0;
      check(api.cuMemAlloc(&s.device, bytes), "allocating a GPU output buffer");
      check(api.cuMemHostAlloc(&s.pinned, bytes, 0), "allocating pinned host memory");
      s.bytes = bytes;
    }
    return s.device;
  }

  // After the kernel was launched into nextSlot() on kernelStream(): queue the copy to host;
  // `dst` receives the frame later (at the latest in drain()).
  void queueCopy(void* dst, size_t bytes) {
    const CudaApi& api = cuda();
    Slot& s = slots_[next_];
    check(api.cuEventRecord(s.converted, kernelStream_), "recording a CUDA event");
    check(api.cuStreamWaitEvent(copyStream_, s.converted, 0), "ordering the host copy");
    check(api.cuMemcpyDtoHAsync(s.pinned, s.device, bytes, copyStream_), "copying a frame to the host");
    check(api.cuEventRecord(s.copied, copyStream_), "recording a CUDA event");
    s.dst = dst;
    s.pending = bytes;
    next_ = (next_ + 1) % kSlots;
  }

  // Hands every frame still in flight to its buffer (end of a plan, or before an error returns).
  void drain() {
    for (int k = 0; k < kSlots; k++) finish(slots_[(next_ + k) % kSlots]);
  }

  // Forgets frames in flight without copying them (their JS buffers may be gone after an error).
  void discard() {
    cuda().cuStreamSynchronize(copyStream_);
    for (Slot& s : slots_) s.pending = 0;
  }

  CUdeviceptr deviceSlot(int k) const { return slots_[k].device; }

 private:
  struct Slot {
    CUdeviceptr device = 0;
    void* pinned = nullptr;
    size_t bytes = 0;
    CUevent converted = nullptr;
    CUevent copied = nullptr;
    void* dst = nullptr;
    size_t pending = 0;
  };

  void finish(Slot& s) {
    if (!s.pending) return;
    check(cuda().cuEventSynchronize(s.copied), "waiting for a frame copy");
    std::memcpy(s.dst, s.pinned, s.pending);
    s.pending = 0;
  }

  Slot slots_[kSlots];
  int next_ = 0;
  CUstream kernelStream_ = nullptr;
  CUstream copyStream_ = nullptr;
};

// The GPU half of delivering a frame, shared by the NVDEC and nvvl engines: the frame kernel
// converts a decoded picture into the next output slot, whose copy reaches the caller's buffer
// by finishPlan(true) at the latest. Construct and use with the device's context current.
class FrameConverter {
 public:
  explicit FrameConverter(const char* ptx) : kernel_(ptx) {}

  // The stream the kernel runs on (NVDEC maps pictures on it too).
  CUstream stream() const { return copier_.kernelStream(); }

  // Returns once the kernel has read the picture, so the caller may release it.
  void convert(const YuvSurface& surface, const ConvertParams& params, void* dst, size_t bytes) {
    const CUdeviceptr slot = copier_.nextSlot(bytes);
    kernel_.launch(surface, params, slot, copier_.kernelStream());
    copier_.queueCopy(dst, bytes);
    check(cuda().cuStreamSynchronize(copier_.kernelStream()), "converting a frame");
  }

  // End of a plan: every frame in flight reaches its buffer (or, after an error, is dropped).
  void finishPlan(bool ok) {
    if (ok)
      copier_.drain();
    else
      copier_.discard();
  }

  CUdeviceptr deviceSlot(int k) const { return copier_.deviceSlot(k); }

 private:
  FrameKernel kernel_;
  HostCopier copier_;
};

}  // namespace gpu
}  // namespace tvl
