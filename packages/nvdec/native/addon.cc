// @tvl/nvdec's N-API surface. JavaScript calls:
//   openVideo(path, { device }, cancelCell) -> Promise<Session>   (demux + index, GPU checks, off-thread)
//   probe() -> Promise<{ driverVersion, devices: [{ ordinal, name, memoryBytes, computeCapability }] }>
//   session.decode(...) / session.close(): see tvl/napi_session.h
// With no driver, no GPU or a bad ordinal, openVideo rejects with TVL_NO_CUDA_DEVICE; the addon
// itself loads anywhere (CUDA and NVDEC are loaded at run time).
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "nvdec_engine.h"
#include "tvl/ffmpeg_log.h"
#include "tvl/demuxed_session.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/frame_index_builder.h"
#include "tvl/gpu/cuda_api.h"
#include "tvl/napi_session.h"
#include "tvl/plan_executor.h"
#include "tvl_frame_kernel_ptx.h"

namespace tvl {
namespace {

struct Session : DemuxedSession<NvdecEngine> {
  std::unique_ptr<gpu::CudaDevice> device;

  DecodeStats decode(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                     const CancelToken& cancel) {
    gpu::ContextScope scope(device->context());
    return executeAndFinish(runs, dst, out, cancel);
  }

  void close() {
    {
      std::unique_ptr<gpu::ContextScope> scope;
      if (device) scope = std::make_unique<gpu::ContextScope>(device->context());
      release();  // the decoder and GPU buffers, with their context current
    }
    device.reset();
  }

  ~Session() {
    if (device) close();
  }
};

using NvdecSessionWrap = SessionWrap<Session>;

class ProbeWorker : public PromiseWorker {
 public:
  explicit ProbeWorker(Napi::Env env) : PromiseWorker(env) {}

 protected:
  struct Device {
    std::string name;
    size_t memory = 0;
    int major = 0, minor = 0;
  };

  void Run() override {
    const gpu::CudaApi& api = gpu::cuda();
    driverVersion_ = api.driverVersion;
    for (int i = 0; i < api.deviceCount; i++) {
      CUdevice dev;
      gpu::check(api.cuDeviceGet(&dev, i), "cuDeviceGet");
      Device d;
      char name[256] = {0};
      api.cuDeviceGetName(name, sizeof(name) - 1, dev);
      d.name = name;
      api.cuDeviceTotalMem(&d.memory, dev);
      api.cuDeviceComputeCapability(&d.major, &d.minor, dev);
      devices_.push_back(d);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("driverVersion", driverVersion_);
    Napi::Array list = Napi::Array::New(env, devices_.size());
    for (size_t i = 0; i < devices_.size(); i++) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("ordinal", double(i));
      d.Set("name", devices_[i].name);
      d.Set("memoryBytes", double(devices_[i].memory));
      d.Set("computeCapability", std::to_string(devices_[i].major) + "." + std::to_string(devices_[i].minor));
      list.Set(uint32_t(i), d);
    }
    o.Set("devices", list);
    return o;
  }

 private:
  int driverVersion_ = 0;
  std::vector<Device> devices_;
};

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  int ordinal = 0;
  if (info[1].IsObject()) {
    Napi::Value d = info[1].As<Napi::Object>().Get("device");
    if (d.IsNumber()) ordinal = d.As<Napi::Number>().Int32Value();
  }
  return openOffThread<Session>(info, [ordinal](const std::string& path, const CancelToken& cancel,
                                                const IndexOptions& index) {
    // The GPU first: with no driver or device, say so before reading the file.
    auto s = std::make_shared<Session>();
    s->device = std::make_unique<gpu::CudaDevice>(ordinal);
    nvcuvid();
    const CancelScope cancelScope(s->demuxer, cancel);
    s->demuxer.open(path);
    s->index = loadOrBuildFrameIndex(s->demuxer, index.mode, 0, index.cached);
    s->description = describeVideo(s->demuxer, "nvdec");
    {
      gpu::ContextScope scope(s->device->context());
      s->engine = std::make_unique<NvdecEngine>(s->demuxer.stream(), *s->device, s->description, gpu::kFrameKernelPtx);
    }
    s->engine->identifyByPosition(s->index.byPosition);
    s->startExecutor();
    return s;
  });
}

Napi::Value Probe(const Napi::CallbackInfo& info) { return queue(new ProbeWorker(info.Env())); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installFfmpegLogging();
  NvdecSessionWrap::Init(env, "NvdecSession");
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlNvdec(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_nvdec, InitTvlNvdec)
