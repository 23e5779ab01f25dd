// @tvl/libav's N-API surface. JavaScript calls:
//   openVideo(path, { threads }, cancelCell) -> Promise<Session>   (demux + frame index, off-thread)
//   session.decode(...) / session.close(): see tvl/napi_session.h
// Every call runs on a libuv worker thread; one call executes a whole plan.
#include <napi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

extern "C" {
#include <libavutil/log.h>
}

#include "libav_engine.h"
#include "tvl/demuxed_session.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/napi_session.h"
#include "tvl/plan_executor.h"

namespace tvl {
namespace {

struct Session : DemuxedSession<LibavEngine> {
  DecodeStats decode(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                     const CancelToken& cancel) {
    demuxer.setCancel(cancel);
    return executor->execute(runs, dst, out, cancel);
  }

  void close() { release(); }
};

using LibavSessionWrap = SessionWrap<Session>;

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, int threads, const Napi::Value& cancel)
      : PromiseWorker(env), path_(std::move(path)), threads_(threads) {
    cancel_.pin(cancel);
  }

 protected:
  void Run() override {
    auto s = std::make_shared<Session>();
    s->demuxer.setCancel(cancel_.token);
    s->demuxer.open(path_);
    s->index = s->demuxer.buildIndex();
    s->engine = std::make_unique<LibavEngine>(s->demuxer.stream(), threads_, s->demuxer.rotation());
    s->description = describeVideo(s->demuxer, s->engine->codecName());
    s->startExecutor();
    session_ = std::move(s);
  }

  Napi::Value Result(Napi::Env env) override { return LibavSessionWrap::Opened(env, session_); }

 private:
  std::string path_;
  int threads_;
  PinnedCancel cancel_;
  std::shared_ptr<Session> session_;
};

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return rejectWith(env, Error("TVL_INVALID_ARGUMENT", "path must be a string"));
  int threads = 0;
  if (info[1].IsObject()) {
    Napi::Value t = info[1].As<Napi::Object>().Get("threads");
    if (t.IsNumber()) threads = t.As<Napi::Number>().Int32Value();
  }
  auto* w = new OpenWorker(env, info[0].As<Napi::String>().Utf8Value(), threads, info[2]);
  return queue(w);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // FFmpeg's own logging goes to stderr; TVL reports problems as errors instead.
  // TVL_FFMPEG_LOG=<level> (e.g. 32 = info, 48 = debug) turns it back on for debugging.
  const char* level = std::getenv("TVL_FFMPEG_LOG");
  av_log_set_level(level ? std::atoi(level) : AV_LOG_QUIET);
  LibavSessionWrap::Init(env, "LibavSession");
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlLibav(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_libav, InitTvlLibav)
