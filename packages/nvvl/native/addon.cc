// @tvl/nvvl's N-API surface. JavaScript calls:
//   openVideo(path, { device, threads, emulateNvdecSurface }, cancelCell) -> Promise<Session>
//       device: a CUDA ordinal (FFmpeg's NVDEC hwaccel, frames stay on the GPU) or -1 (CPU path)
//   session.decode(plan, output, buffers, cancelCell, processing?) -> Promise<stats>
//       processing: { resizeWidth, resizeHeight, cropX, cropY, flip, interpolation, colourSpace,
//                     mean, std }: fused into the colour-conversion pass (tvl/gpu/frame_kernel.h)
//   session.close()
// Without a driver or GPU, opening a CUDA device rejects with TVL_NO_CUDA_DEVICE.
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "nvvl_engine.h"
#include "tvl/ffmpeg_log.h"
#include "tvl/demuxed_session.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/frame_index_builder.h"
#include "tvl/napi_session.h"
#include "tvl/plan_executor.h"
#include "tvl_frame_kernel_ptx.h"

namespace tvl {
namespace {

struct Session : DemuxedSession<NvvlEngine> {
  using CallOptions = gpu::Processing;

  std::unique_ptr<NvvlGpu> gpu;  // null on the CPU path

  static gpu::Processing readCallOptions(const Napi::Value& v) {
    gpu::Processing p;
    if (!v.IsObject()) return p;
    Napi::Object o = v.As<Napi::Object>();
    auto integer = [&](const char* key, int& out) {
      Napi::Value x = o.Get(key);
      if (x.IsNumber()) out = x.As<Napi::Number>().Int32Value();
    };
    integer("resizeWidth", p.resizeW);
    integer("resizeHeight", p.resizeH);
    integer("cropX", p.cropX);
    integer("cropY", p.cropY);
    p.flip = o.Get("flip").ToBoolean();
    // The values were validated once, in src/processing.ts; the crop is bounded again where it
    // is used (gpu::convertParams), since a wrong one would read outside the frame.
    Napi::Value interp = o.Get("interpolation");
    if (interp.IsString()) p.bilinear = interp.As<Napi::String>().Utf8Value() != "nearest";
    Napi::Value space = o.Get("colourSpace");
    if (space.IsString()) p.ycbcr = space.As<Napi::String>().Utf8Value() == "ycbcr";
    Napi::Value mean = o.Get("mean"), std = o.Get("std");
    if (mean.IsArray() && std.IsArray()) {
      p.normalise = true;
      for (uint32_t c = 0; c < 3; c++) {
        p.mean[c] = mean.As<Napi::Array>().Get(c).ToNumber().FloatValue();
        p.std[c] = std.As<Napi::Array>().Get(c).ToNumber().FloatValue();
      }
    }
    return p;
  }

  DecodeStats decode(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                     const CancelToken& cancel, const gpu::Processing& processing) {
    std::unique_ptr<gpu::ContextScope> scope;
    if (gpu) scope = std::make_unique<gpu::ContextScope>(gpu->context());
    engine->setProcessing(processing);
    return executeAndFinish(runs, dst, out, cancel);
  }

  void close() {
    {
      std::unique_ptr<gpu::ContextScope> scope;
      if (gpu) scope = std::make_unique<gpu::ContextScope>(gpu->context());
      release();
    }
    gpu.reset();
  }
};

using NvvlSessionWrap = SessionWrap<Session>;

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  int ordinal = 0, threads = 0;
  bool emulate = false;
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Get("device").IsNumber()) ordinal = o.Get("device").As<Napi::Number>().Int32Value();
    if (o.Get("threads").IsNumber()) threads = o.Get("threads").As<Napi::Number>().Int32Value();
    emulate = o.Get("emulateNvdecSurface").ToBoolean();
  }
  return openOffThread<Session>(
      info, [=](const std::string& path, const CancelToken& cancel, const IndexOptions& index) {
        auto s = std::make_shared<Session>();
        // The GPU first: with no driver or device, say so before reading the file.
        if (ordinal >= 0) s->gpu = std::make_unique<NvvlGpu>(ordinal, gpu::kFrameKernelPtx);
        const CancelScope cancelScope(s->demuxer, cancel);
        s->demuxer.open(path);
        s->index = loadOrBuildFrameIndex(s->demuxer, index.mode, threads, index.cached);
        s->description = describeVideo(s->demuxer, "");
        s->engine = std::make_unique<NvvlEngine>(s->demuxer.stream(), s->gpu.get(), threads, s->description.colour,
                                                 s->description.rotation, emulate);
        s->description.decoder = s->engine->codecName();
        s->startExecutor();
        return s;
      });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installFfmpegLogging();
  NvvlSessionWrap::Init(env, "NvvlSession");
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlNvvl(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_nvvl, InitTvlNvvl)
