// @tvl/libav's N-API surface. JavaScript calls:
//   openVideo(path, { threads, index, cachedIndex, skipUnreferenced, cacheFrames }, cancelCell) -> Promise<Session>
//       (off-thread)
//   session.decode(...) / session.close(): see tvl/napi_session.h
// Every call runs on a libuv worker thread; one call executes a whole plan.
#include <napi.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "gop_parallel.h"
#include "libav_engine.h"
#include "tvl/ffmpeg_log.h"
#include "tvl/demuxed_session.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/frame_index_builder.h"
#include "tvl/napi_session.h"
#include "tvl/plan_executor.h"

namespace tvl {
namespace {

struct Session : DemuxedSession<LibavEngine> {
  std::unique_ptr<GopParallel> parallel;

  DecodeStats decode(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                     const CancelToken& cancel) {
    const int lanes = parallel->prepareLanes(runs);
    if (lanes < 2) return executeAndFinish(runs, dst, out, cancel);
    return parallel->execute(
        lanes, *executor, [this](bool ok) { engine->finishPlan(ok); }, demuxer, runs, dst, out, cancel);
  }

  void close() {
    parallel->release();
    release();
  }

  // Reported by open (see tvl/napi_session.h): the planner's cost of a seek for this decoder.
  int seekCost() const { return engine->seekCost(); }
};

using LibavSessionWrap = SessionWrap<Session>;

// Threads converting frames beside the decoder's: one for every four decoder threads (a
// conversion costs a fraction of a decode), at least one, at most four.
int conversionThreads(int threads) { return std::clamp(coresFor(threads) / 4, 1, 4); }

Napi::Value OpenVideo(const Napi::CallbackInfo& info) {
  int threads = 0;
  bool skipUnreferenced = false;
  int cacheFrames = 0;
  if (info[1].IsObject()) {
    Napi::Object options = info[1].As<Napi::Object>();
    Napi::Value t = options.Get("threads");
    if (t.IsNumber()) threads = t.As<Napi::Number>().Int32Value();
    Napi::Value skip = options.Get("skipUnreferenced");
    if (skip.IsBoolean()) skipUnreferenced = skip.As<Napi::Boolean>().Value();
    // (Core validated it: an integer from 0.)
    Napi::Value cache = options.Get("cacheFrames");
    if (cache.IsNumber()) cacheFrames = std::max(0, cache.As<Napi::Number>().Int32Value());
  }
  return openOffThread<Session>(
      info, [threads, skipUnreferenced, cacheFrames](const std::string& path, const CancelToken& cancel,
                                                     const IndexOptions& index) {
        auto s = std::make_shared<Session>();
        const CancelScope cancelScope(s->demuxer, cancel);
        s->demuxer.open(path);
        s->index = loadOrBuildFrameIndex(s->demuxer, index.mode, threads, index.cached);
        s->engine = std::make_unique<LibavEngine>(s->demuxer.stream(), threads, s->demuxer.rotation(),
                                                  conversionThreads(threads), skipUnreferenced, cacheFrames);
        s->description = describeVideo(s->demuxer, s->engine->codecName());
        s->parallel =
            std::make_unique<GopParallel>(path, s->index, s->demuxer.rotation(), coresFor(threads), skipUnreferenced);
        s->startExecutor();
        return s;
      });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installFfmpegLogging();
  LibavSessionWrap::Init(env, "LibavSession");
  exports.Set("openVideo", Napi::Function::New(env, OpenVideo));
  exports.Set("ffmpegVersion", Napi::String::New(env, av_version_info()));
  return exports;
}

}  // namespace
}  // namespace tvl

static Napi::Object InitTvlLibav(Napi::Env env, Napi::Object exports) { return tvl::Init(env, exports); }

NODE_API_MODULE(tvl_libav, InitTvlLibav)
