// @tvl/opencv's N-API surface. JavaScript calls:
//   openVideo(path, { colour: 'stream'|'opencv' }, cancelCell) -> Promise<Session>
//   session.decode(...) / session.close(): see tvl/napi_session.h
// The frame index and stream facts come from TVL's shared FFmpeg demuxer (no decoding); the
// pixels come from cv::VideoCapture, verified frame by frame against that index.
#include <napi.h>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/core/version.hpp>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

extern "C" {
#include <libavutil/log.h>
}

#include "opencv_reader.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/napi_session.h"

namespace tvl {
namespace {

int ffmpegLogLevel() {
  const char* level = std::getenv("TVL_FFMPEG_LOG");
  return level ? std::atoi(level) : AV_LOG_QUIET;
}

struct Session {
  std::mutex mu;
  bool closed = false;
  FrameIndex index;
  VideoDescription description;
  std::unique_ptr<OpencvReader> reader;

  DecodeStats decode(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                     const CancelToken& cancel) {
    return reader->execute(runs, dst, out, cancel);
  }

  void close() {
    reader.reset();
    index.frames.clear();
    index.frames.shrink_to_fit();
  }
};

using OpencvSessionWrap = SessionWrap<Session>;

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, ColourMode mode, const Napi::Value& cancel)
      : PromiseWorker(env), path_(std::move(path)), mode_(mode) {
    cancel_.pin(cancel);
  }

 protected:
  void Run() override {
    auto s = std::make_shared<Session>();
    int64_t streamStart = AV_NOPTS_VALUE;
    RgbCorrection correction{};
    {
      // The demuxer validates the file (typed errors) and indexes it, then is closed: OpenCV
      // reads the file itself.
      Demuxer demuxer;
      demuxer.setCancel(cancel_.token);
      demuxer.open(path_);
      s->index = demuxer.buildIndex();
      s->description = describeVideo(demuxer);
      streamStart = demuxer.stream()->start_time;
      const AVPixelFormat fmt = AVPixelFormat(demuxer.stream()->codecpar->format);
      const ColourSpec assumed = opencvAssumedColour(fmt);
      // 'opencv' mode returns OpenCV's colours (an identity correction) and reports them.
      if (mode_ == ColourMode::OpenCV) s->description.colour = assumed;
      correction = rgbCorrection(assumed, s->description.colour, s->description.bitDepth);
    }
    cancel_.token.check();
    s->reader = std::make_unique<OpencvReader>(path_, s->index, streamStart, s->description, correction);
    // OpenCV sets FFmpeg's (process-wide) log level when it first opens a file; restore TVL's.
    av_log_set_level(ffmpegLogLevel());
    session_ = std::move(s);
  }

  Napi::Value Result(Napi::Env env) override { return OpencvSessionWrap::Opened(env, session_); }

 private:
  std::string path_;
  ColourMode mode_;
  PinnedCancel cancel_;
  std::shared_ptr<Session> session_;
};

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return rejectWith(env, Error("TVL_INVALID_ARGUMENT", "path must be a string"));
  ColourMode mode = ColourMode::Stream;
  if (info[1].IsObject()) {
    Napi::Value c = info[1].As<Napi::Object>().Get("colour");
    if (c.IsString()) {
      const std::string s = c.As<Napi::String>().Utf8Value();
      if (s == "opencv") mode = ColourMode::OpenCV;
      else if (s != "stream")
        return rejectWith(env, Error("TVL_INVALID_ARGUMENT", "colour must be 'stream' or 'opencv', not '" + s + "'"));
    }
  }
  auto* w = new OpenWorker(env, info[0].As<Napi::String>().Utf8Value(), mode, info[2]);
  return queue(w);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  av_log_set_level(ffmpegLogLevel());
  // OpenCV's warnings go to stderr; TVL reports problems as errors. TVL_OPENCV_LOG=1 keeps them.
  if (!std::getenv("TVL_OPENCV_LOG")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  OpencvSessionWrap::Init(env, "OpencvSession");
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("opencvVersion", Napi::String::New(env, CV_VERSION));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlOpencv(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_opencv, InitTvlOpencv)
