// GOP-parallel plans: the runs of a plan that seek to a keyframe do not depend on one another, so
// they can be decoded at once, each by a decoder of its own (a "lane": its own demuxer, decoder
// and conversion), instead of one frame-threaded decoder flushed at every seek. The session's own
// executor is lane 0: it takes the runs that need its state (frames from its decoded-frame cache,
// a run that continues from where it stands) first, and always the plan's last run, so the
// position and the cache it reports are the plan's. The other lanes are made on the first plan
// that can use them (a demuxer each, so the file is opened again) and kept while the video is
// open; they only ever start with a seek. A plan uses as many lanes as it has runs that seek, up
// to one per core, and the cores are shared out: with fewer lanes than cores each lane's decoder
// gets several threads (remade when a plan needs another count). Still one native call per plan:
// the lanes run on threads of this call and it returns when all are done. Exactness is each
// executor's as before.
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libav_engine.h"
#include "tvl/demuxer.h"
#include "tvl/plan_executor.h"

namespace tvl {

struct DecodeLane {
  Demuxer demuxer;
  std::unique_ptr<LibavEngine> engine;  // made by GopParallel::fitLane
  std::unique_ptr<PlanExecutor<LibavEngine>> executor;
  int threads = 0;  // the engine's decoder threads

  explicit DecodeLane(const std::string& path) { demuxer.open(path); }
};

class GopParallel {
 public:
  // Lanes at most, lane 0 included: one per core, up to this many.
  static constexpr int kMaxLanes = 16;

  // The video's (the session's index outlives this); cores: what the lanes share out, one lane
  // each at most (1 = never in parallel); skipUnreferenced: for the lanes' decoders, as the
  // session's.
  GopParallel(std::string path, const FrameIndex& index, int rotation, int cores, bool skipUnreferenced)
      : path_(std::move(path)),
        index_(index),
        rotation_(rotation),
        cores_(std::max(1, cores)),
        maxLanes_(std::min(cores_, kMaxLanes)),
        skipUnreferenced_(skipUnreferenced) {}

  // How many lanes `runs` can keep busy (its runs that seek, up to the lanes there are), making
  // those not made yet and giving each the threads its share of the cores buys; fewer when the
  // file cannot be opened again (gone, or no file handles left). Below 2, the session executes
  // the plan alone.
  int prepareLanes(const std::vector<DecodeRun>& runs) {
    int seeking = 0;
    for (const DecodeRun& r : runs)
      if (!r.keep.empty() && r.start != kContinue && r.start != kFromCache) seeking++;
    int lanes = std::min(maxLanes_, seeking);
    if (lanes < 2) return lanes;
    const int threads = std::max(1, cores_ / lanes);
    try {
      while (int(others_.size()) < lanes - 1) {
        auto lane = std::make_unique<DecodeLane>(path_);
        fitLane(*lane, threads);
        others_.push_back(std::move(lane));
      }
    } catch (...) {
      lanes = int(others_.size()) + 1;
    }
    for (int l = 0; l < lanes - 1; l++) fitLane(*others_[size_t(l)], threads);
    return lanes;
  }

  // Executes `runs` over `lanes` (from prepareLanes, at least 2): lane 0 is `primary`, the session's
  // executor, finished by `finishPrimary`. Fails with the error of the earliest failed run.
  template <class FinishPrimary>
  DecodeStats execute(int lanes, PlanExecutor<LibavEngine>& primary, FinishPrimary finishPrimary,
                      Demuxer& primaryDemuxer, const std::vector<DecodeRun>& runs, const std::vector<void*>& dst,
                      const OutputSpec& out, const CancelToken& cancel) {
    const CancelScope primaryCancelScope(primaryDemuxer, cancel);
    // Each run's first output slot; the runs lane 0 must take: the leading runs from its cache or
    // continuing from its position, the last run (with at least two runs that seek, it is not one
    // of those).
    std::vector<size_t> firstSlot(runs.size());
    size_t slots = 0;
    for (size_t i = 0; i < runs.size(); i++) {
      firstSlot[i] = slots;
      slots += runs[i].keep.size();
    }
    size_t last = runs.size() - 1;
    while (runs[last].keep.empty()) last--;
    size_t lead = 0;
    while (lead < last && (runs[lead].start == kContinue || runs[lead].start == kFromCache)) lead++;

    std::atomic<size_t> next{lead};
    std::vector<DecodeStats> done(runs.size());
    std::vector<std::exception_ptr> failed(runs.size());
    std::vector<char> induced(runs.size(), 0);  // failed only because another run had failed
    // Set when a run fails: the other lanes' executors see it as a cancel and stop.
    int32_t stopCell = 0;
    auto stop = [&] { __atomic_store_n(&stopCell, 1, __ATOMIC_RELAXED); };
    auto stopped = [&] { return __atomic_load_n(&stopCell, __ATOMIC_RELAXED) != 0; };
    auto aborted = [&] { return cancel.requested() || stopped(); };

    auto runOne = [&](PlanExecutor<LibavEngine>& executor, Demuxer& demuxer, size_t i) {
      if (aborted()) return;
      try {
        std::vector<void*> slice(dst.begin() + firstSlot[i], dst.begin() + firstSlot[i] + runs[i].keep.size());
        const CancelToken laneCancel{cancel.cell, &stopCell};  // the caller's, or this plan's stop
        const CancelScope cancelScope(demuxer, laneCancel);
        done[i] = executor.execute({runs[i]}, slice, out, laneCancel);
      } catch (const Error& e) {
        induced[i] = e.code() == std::string("TVL_ABORTED") && stopped() && !cancel.requested();
        failed[i] = std::current_exception();
      } catch (...) {
        failed[i] = std::current_exception();
      }
      if (failed[i]) stop();
    };
    // Lanes take the runs between the leading ones and the last, in order, as they free up.
    auto takeRuns = [&](PlanExecutor<LibavEngine>& executor, Demuxer& demuxer) {
      for (size_t i; (i = next.fetch_add(1)) < last;) runOne(executor, demuxer, i);
    };
    // Lane 0 takes one only while more are waiting than there are other lanes: it gets there while
    // their threads are still starting, and a run it took from an idle lane would wait for its
    // own last run. (Which runs go where no longer depends on how fast a thread starts.)
    auto primaryTakesRuns = [&] {
      const size_t others = size_t(lanes - 1);
      for (size_t i = next.load(); i < last && last - i > others;) {
        if (next.compare_exchange_weak(i, i + 1)) {
          runOne(primary, primaryDemuxer, i);
          i = next.load();
        }
      }
    };

    std::vector<std::thread> threads;
    // Errors outside the runs: a lane's conversions, or a thread that could not start.
    std::vector<std::exception_ptr> laneErrors(static_cast<size_t>(lanes));
    try {
      for (int l = 1; l < lanes; l++) {
        DecodeLane* lane = others_[size_t(l - 1)].get();
        threads.emplace_back([&, lane, l] {
          takeRuns(*lane->executor, lane->demuxer);
          try {
            lane->engine->finishPlan(true);
          } catch (...) {
            laneErrors[size_t(l)] = std::current_exception();
          }
        });
      }
    } catch (...) {
      stop();  // finish what started, then fail
      laneErrors[0] = std::current_exception();
    }
    // Its leading runs before any run of its own that decodes: nothing evicts what they take from its cache.
    for (size_t i = 0; i < lead; i++) runOne(primary, primaryDemuxer, i);
    primaryTakesRuns();
    runOne(primary, primaryDemuxer, last);
    for (std::thread& t : threads) t.join();
    finishPrimary(!aborted());

    for (size_t i = 0; i < runs.size(); i++)
      if (failed[i] && !induced[i]) std::rethrow_exception(failed[i]);
    for (const std::exception_ptr& e : laneErrors)
      if (e) std::rethrow_exception(e);
    for (const std::exception_ptr& e : failed)
      if (e) std::rethrow_exception(e);
    cancel.check();

    DecodeStats stats;
    for (size_t i = 0; i < runs.size(); i++) {
      stats.framesDecoded += done[i].framesDecoded;
      stats.seeks += done[i].seeks;
      stats.delivered.insert(stats.delivered.end(), done[i].delivered.begin(), done[i].delivered.end());
    }
    stats.position = done[last].position;
    stats.continuable = done[last].continuable;
    stats.cached = done[last].cached;
    stats.seekCost = done[last].seekCost;  // the session's decoder's, which core plans for
    return stats;
  }

  void release() { others_.clear(); }

 private:
  // Gives `lane` a decoder with `threads` threads (no decoded-frame cache: core plans only from the
  // session's), made again only when the count changes. If that fails, a lane that has a decoder
  // keeps it (right, only not as fast); a new lane throws.
  void fitLane(DecodeLane& lane, int threads) {
    if (lane.threads == threads) return;
    try {
      auto engine = std::make_unique<LibavEngine>(lane.demuxer.stream(), threads, rotation_, 1, skipUnreferenced_);
      lane.executor = std::make_unique<PlanExecutor<LibavEngine>>(lane.demuxer, index_, *engine);
      lane.engine = std::move(engine);  // after the executor that pointed at the old one is gone
      lane.threads = threads;
    } catch (...) {
      if (!lane.engine) throw;
    }
  }

  const std::string path_;
  const FrameIndex& index_;
  const int rotation_;
  const int cores_;
  const int maxLanes_;
  const bool skipUnreferenced_;
  std::vector<std::unique_ptr<DecodeLane>> others_;
};

}  // namespace tvl
