// @tvl/libav's N-API surface. JavaScript calls:
//   openVideo(path, { threads }, cancelCell) -> Promise<Session>   (demux + frame index, off-thread)
//   session.decode(plan, output, buffers, cancelCell) -> Promise<{ framesDecoded, seeks, position }>
//   session.close() -> Promise<void>
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
#include "tvl/colour.h"
#include "tvl/demuxer.h"
#include "tvl/napi_bridge.h"
#include "tvl/plan_executor.h"

namespace tvl {
namespace {

struct Session {
  std::mutex mu;
  Demuxer demuxer;
  FrameIndex index;
  std::unique_ptr<LibavEngine> engine;
  std::unique_ptr<PlanExecutor<LibavEngine>> executor;
  int rotation = 0;
  bool closed = false;

  void close() {
    std::lock_guard<std::mutex> lock(mu);
    executor.reset();
    engine.reset();
    demuxer.close();
    index.frames.clear();
    index.frames.shrink_to_fit();
    closed = true;
  }
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::FunctionReference constructor;

  static void Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "LibavSession",
                                   {InstanceMethod("decode", &SessionWrap::Decode),
                                    InstanceMethod("close", &SessionWrap::Close)});
    constructor = Napi::Persistent(f);
    constructor.SuppressDestruct();
  }

  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    session_ = *info[0].As<Napi::External<std::shared_ptr<Session>>>().Data();
  }

 private:
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<Session> session_;
};

Napi::FunctionReference SessionWrap::constructor;

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
    s->rotation = s->demuxer.rotation();
    s->engine = std::make_unique<LibavEngine>(s->demuxer.stream(), threads_, s->rotation);
    s->demuxer.seekToStart(s->index);
    s->executor = std::make_unique<PlanExecutor<LibavEngine>>(s->demuxer, s->index, *s->engine);
    session_ = std::move(s);
  }

  Napi::Value Result(Napi::Env env) override {
    Session& s = *session_;
    const AVCodecParameters* par = s.demuxer.stream()->codecpar;
    const AVPixelFormat fmt = AVPixelFormat(par->format);
    const ColourSpec colour = resolveColour(par->color_space, par->color_range, fmt, par->width, par->height);
    const bool swap = rotationSwapsAxes(s.rotation);

    Napi::Object videoInfo = Napi::Object::New(env);
    videoInfo.Set("width", swap ? par->height : par->width);
    videoInfo.Set("height", swap ? par->width : par->height);
    videoInfo.Set("codec", s.engine->codecName());
    const char* profile = avcodec_profile_name(par->codec_id, par->profile);
    videoInfo.Set("profile", profile ? profile : "");
    const char* fmtName = av_get_pix_fmt_name(fmt);
    videoInfo.Set("pixelFormat", fmtName ? fmtName : "unknown");
    videoInfo.Set("bitDepth", bitDepthOf(fmt));
    videoInfo.Set("colourMatrix", matrixName(colour.matrix));
    videoInfo.Set("colourRange", rangeName(colour.range));
    videoInfo.Set("colourMatrixGuessed", colour.matrixGuessed);
    videoInfo.Set("rotation", s.rotation);
    videoInfo.Set("container", s.demuxer.format()->iformat->name);

    const size_t n = s.index.size();
    Napi::Float64Array pts = Napi::Float64Array::New(env, n);
    Napi::Uint8Array key = Napi::Uint8Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      pts[i] = s.index.seconds(s.index.frames[i].pts);
      key[i] = s.index.frames[i].keyframe ? 1 : 0;
    }
    Napi::Object index = Napi::Object::New(env);
    index.Set("pts", pts);
    index.Set("keyframe", key);
    index.Set("lastFrameDuration", s.index.lastFrameDuration());
    index.Set("truncated", s.index.truncated);

    Napi::Object obj = SessionWrap::constructor.New({Napi::External<std::shared_ptr<Session>>::New(
        env, new std::shared_ptr<Session>(session_),
        [](Napi::Env, std::shared_ptr<Session>* p) { delete p; })});
    obj.Set("info", videoInfo);
    obj.Set("index", index);
    return obj;
  }

 private:
  std::string path_;
  int threads_;
  PinnedCancel cancel_;
  std::shared_ptr<Session> session_;
};

class DecodeWorker : public PromiseWorker {
 public:
  DecodeWorker(Napi::Env env, std::shared_ptr<Session> s, std::vector<DecodeRun> runs, OutputSpec out)
      : PromiseWorker(env), session_(std::move(s)), runs_(std::move(runs)), out_(out) {}

  PinnedBuffers buffers;
  PinnedCancel cancel;

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(session_->mu);
    if (session_->closed) throw Error("TVL_CLOSED", "the video was closed");
    size_t kept = 0;
    for (const auto& r : runs_) kept += r.keep.size();
    if (kept != buffers.data.size())
      throw Error("TVL_INVALID_ARGUMENT", "the plan keeps " + std::to_string(kept) + " frames but " +
                                              std::to_string(buffers.data.size()) + " buffers were given");
    session_->demuxer.setCancel(cancel.token);
    stats_ = session_->executor->execute(runs_, buffers.data, out_, cancel.token);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("framesDecoded", double(stats_.framesDecoded));
    o.Set("seeks", double(stats_.seeks));
    o.Set("position", double(stats_.position));
    return o;
  }

 private:
  std::shared_ptr<Session> session_;
  std::vector<DecodeRun> runs_;
  OutputSpec out_;
  DecodeStats stats_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<Session> s) : PromiseWorker(env), session_(std::move(s)) {}

 protected:
  void Run() override { session_->close(); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<Session> session_;
};

Napi::Value rejectWith(Napi::Env env, const Error& e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(toJsError(env, e.code(), e.what(), e.frameIndex()).Value());
  return d.Promise();
}

Napi::Value SessionWrap::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    auto runs = readPlan(info[0].As<Napi::Object>());
    OutputSpec out = readOutputSpec(info[1].As<Napi::Object>());
    auto* w = new DecodeWorker(env, session_, std::move(runs), out);
    try {
      w->buffers.pin(info[2].As<Napi::Array>(), out.bytes());
      w->cancel.pin(info[3]);
    } catch (...) {
      delete w;
      throw;
    }
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  } catch (const Error& e) {
    return rejectWith(env, e);
  }
}

Napi::Value SessionWrap::Close(const Napi::CallbackInfo& info) {
  auto* w = new CloseWorker(info.Env(), session_);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return rejectWith(env, Error("TVL_INVALID_ARGUMENT", "path must be a string"));
  int threads = 0;
  if (info[1].IsObject()) {
    Napi::Value t = info[1].As<Napi::Object>().Get("threads");
    if (t.IsNumber()) threads = t.As<Napi::Number>().Int32Value();
  }
  auto* w = new OpenWorker(env, info[0].As<Napi::String>().Utf8Value(), threads, info[2]);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // FFmpeg's own logging goes to stderr; TVL reports problems as errors instead.
  // TVL_FFMPEG_LOG=<level> (e.g. 32 = info, 48 = debug) turns it back on for debugging.
  const char* level = std::getenv("TVL_FFMPEG_LOG");
  av_log_set_level(level ? std::atoi(level) : AV_LOG_QUIET);
  SessionWrap::Init(env);
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlLibav(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_libav, InitTvlLibav)
