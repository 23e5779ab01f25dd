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

#include "opencv_reader.h"
#include "tvl/ffmpeg_log.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/frame_index_builder.h"
#include "tvl/napi_session.h"

namespace tvl {
namespace {

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

// Videos a known OpenCV defect decodes wrongly: refused with a typed error, never wrong frames.
// OpenCV 4.10 (Debian 13) returns some 10-bit 4:2:0 videos with their bottom rows black (seen at
// 160x120 and 320x180 HEVC; FFmpeg 7.1's own conversion of the same frames is right).
void refuseKnownDefects(const VideoDescription& video) {
  if (video.bitDepth > 8 && (CV_VERSION_MAJOR > 4 || (CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR >= 10)))
    throw Error("TVL_UNSUPPORTED_CODEC",
                "OpenCV " CV_VERSION " decodes some " + std::to_string(video.bitDepth) +
                    "-bit videos with wrong pixels (bottom rows black), so @tvl/opencv refuses them: use @tvl/libav");
}

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  ColourMode mode = ColourMode::Stream;
  if (info[1].IsObject()) {
    Napi::Value c = info[1].As<Napi::Object>().Get("colour");
    if (c.IsString()) {
      // (Validated by the package's TypeScript: 'stream' or 'opencv'.)
      if (c.As<Napi::String>().Utf8Value() == "opencv") mode = ColourMode::OpenCV;
    }
  }
  return openOffThread<Session>(
      info, [mode](const std::string& path, const CancelToken& cancel, const IndexOptions& index) {
        auto s = std::make_shared<Session>();
        int64_t streamStart = AV_NOPTS_VALUE;
        RgbCorrection correction{};
        {
          // The demuxer validates the file (typed errors) and indexes it, then is closed: OpenCV
          // reads the file itself.
          Demuxer demuxer;
          const CancelScope cancelScope(demuxer, cancel);
          demuxer.open(path);
          s->index = loadOrBuildFrameIndex(demuxer, index.mode, 0, index.cached);
          s->description = describeVideo(demuxer, "opencv");
          refuseKnownDefects(s->description);
          streamStart = demuxer.stream()->start_time;
          const AVPixelFormat fmt = AVPixelFormat(demuxer.stream()->codecpar->format);
          const ColourSpec assumed = opencvAssumedColour(fmt);
          // 'opencv' mode returns OpenCV's colours (an identity correction) and reports them.
          if (mode == ColourMode::OpenCV) s->description.colour = assumed;
          correction = rgbCorrection(assumed, s->description.colour, s->description.bitDepth);
        }
        cancel.check();
        s->reader = std::make_unique<OpencvReader>(path, s->index, streamStart, s->description, correction);
        return s;
      });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // OpenCV sets FFmpeg's log level to 'error' inside every open, before it probes the file; TVL's
  // callback prints at TVL's level whatever the level says (OPENCV_FFMPEG_DEBUG replaces it).
  installFfmpegLogging();
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
