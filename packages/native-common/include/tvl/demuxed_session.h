// What every addon session that demuxes with FFmpeg and decodes through a PlanExecutor holds,
// written once: the demuxer, the frame index, the description open reports, the engine and its
// executor. An addon derives its Session (see tvl/napi_session.h) from this and adds decode()
// and close(); engines with frames still in flight after a plan (the GPU ones: finishPlan)
// execute through executeAndFinish.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/plan_executor.h"

namespace tvl {

template <class Engine>
struct DemuxedSession {
  std::mutex mu;
  bool closed = false;
  Demuxer demuxer;
  FrameIndex index;
  VideoDescription description;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<PlanExecutor<Engine>> executor;

  // After the engine exists: back to the first packet, ready for the first plan.
  void startExecutor() {
    demuxer.seekToStart(index);
    executor = std::make_unique<PlanExecutor<Engine>>(demuxer, index, *engine);
  }

  // Executes a plan, then hands over the frames still in flight (or drops them after an error).
  DecodeStats executeAndFinish(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                               const CancelToken& cancel) {
    const CancelScope cancelScope(demuxer, cancel);
    try {
      DecodeStats stats = executor->execute(runs, dst, out, cancel);
      engine->finishPlan(true);
      return stats;
    } catch (...) {
      engine->finishPlan(false);
      throw;
    }
  }

  // Frees the decoder, the file and the index (call with any GPU context current).
  void release() {
    executor.reset();
    engine.reset();
    demuxer.close();
    index.frames.clear();
    index.frames.shrink_to_fit();
  }
};

}  // namespace tvl
