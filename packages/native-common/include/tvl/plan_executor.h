// Executes one decode plan (made by @tvl/core's seek planner) against a demuxer and a decoding
// engine. The plan is the one decision about seeking: a run that says "continue" continues (and a
// plan that asks to continue where the decoder cannot is refused as a fault in core, never quietly
// turned into a seek), a run that names a keyframe seeks there. What was done comes back as facts
// (DecodeStats): each delivered frame's index as identified here, whether the decoder can
// continue, seeks and frames decoded; core keeps the decoder's position from them and builds its
// frame reports from them. This is also where exactness is enforced: every decoded frame is identified in the frame
// index by its pts (or, where the container gives packets no pts, by its packet's position), never
// by counting, and a requested frame that does not come out of the decoder intact is an error
// naming its index. Shared by every FFmpeg-demuxed backend; the engine is the
// part that differs (libavcodec on the CPU, NVDEC on the GPU).
//
// Engine interface:
//   void flush();                                  // forget decoder state (after a seek)
//   int  send(const AVPacket* pkt);                // nullptr drains; 0, AVERROR(EAGAIN), AVERROR_EOF or <0
//   int  receive(FrameInfo& info);                 // 0 when a frame is ready, AVERROR(EAGAIN), AVERROR_EOF or <0
//   void deliver(void* dst, const OutputSpec& out);// convert the frame last received into dst
// Optional:
//   void skipUnreferenced(bool skip);              // before a send: may the decoder drop this packet's
//                                                  // picture if nothing references it?
//   void remember(int64_t index);                  // keep the frame last received (tvl/recent_frames.h)
//   bool deliverRemembered(int64_t index, void* dst, const OutputSpec& out);  // false: not kept
//   std::vector<int64_t> remembered() const;       // what is kept, ascending: reported to core
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tvl/demuxer.h"
#include "tvl/output.h"

namespace tvl {

constexpr int64_t kContinue = -1;   // keep decoding from the current position
constexpr int64_t kFromStart = -2;  // seek to the first packet of the file
constexpr int64_t kFromCache = -3;  // frames the engine remembered (DecodeStats.cached): no decoding

struct DecodeRun {
  int64_t start = kContinue;  // keyframe index to seek to, kContinue, kFromStart or kFromCache
  std::vector<int64_t> keep;  // ascending, distinct
  // For a run that continues, on a plan core made before the calls queued ahead of it had run:
  // it continues only if the decoder is at `from` (the frame those calls should leave it at),
  // and otherwise seeks to `orSeek` (a keyframe index or kFromStart). kContinue: none (the plan
  // was made from the decoder's reported state, and not being able to continue is a fault).
  int64_t orSeek = kContinue;
  int64_t from = -1;
};

// Whether a run that continues, on a decoder at `position`, seeks to its orSeek instead.
inline bool seeksInstead(const DecodeRun& run, bool continuable, int64_t position) {
  return run.start == kContinue && run.orSeek != kContinue && !(continuable && position == run.from);
}

struct FrameInfo {
  int64_t pts = AV_NOPTS_VALUE;
  int64_t pos = -1;  // byte position of the packet the picture came from, -1 when unknown
  bool keyframe = false;
  bool corrupt = false;           // the decoder reported damage in this frame
  bool referencesDamage = false;  // the decoder reported damage in a packet this picture may reference
};

struct DecodeStats {
  int64_t framesDecoded = 0;
  int64_t seeks = 0;
  int64_t position = -1;           // the last frame the decoder presented (-1: none since the last seek)
  bool continuable = true;         // the next plan may continue from `position` without seeking
  std::vector<int64_t> delivered;  // per output buffer, in plan order: the frame identified in it
  std::vector<int64_t> cached;     // the frames the engine remembers after the plan, ascending
  double seekCost = std::numeric_limits<double>::quiet_NaN();  // learned (SeekCostMeter), NaN until then
};

// Learns what a seek costs this decoder, in frames decoded (the unit of core's planner): the time
// from a seek to the first frame out of the decoder (the demuxer's seek, the decoder's flush,
// filling its frame-thread pipeline and its reorder delay, decoding the keyframe) over the time one
// frame takes while decoding straight on. Both are running means, so the figure follows the
// machine's load; it is reported once a few seeks and frames were timed.
class SeekCostMeter {
 public:
  void planStarted() { lastOut_ = Clock::time_point{}; }  // time between plans is not decoding
  void seeked() {
    seekAt_ = Clock::now();
    lastOut_ = Clock::time_point{};
  }
  void frameOut() {
    const Clock::time_point now = Clock::now();
    if (seekAt_ != Clock::time_point{}) {
      latency_ = mean(latency_, seconds(now - seekAt_), seeks_++, 0.2);
      seekAt_ = Clock::time_point{};
    } else if (lastOut_ != Clock::time_point{}) {
      perFrame_ = mean(perFrame_, seconds(now - lastOut_), intervals_++, 0.05);
    }
    lastOut_ = now;
  }
  // NaN until 3 seeks and 16 frames decoded straight on were timed; then 1 to 256.
  double cost() const {
    if (seeks_ < 3 || intervals_ < 16 || !(perFrame_ > 0)) return std::numeric_limits<double>::quiet_NaN();
    return std::clamp(latency_ / perFrame_, 1.0, 256.0);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
  // The plain mean of the first samples, then an exponential one.
  static double mean(double current, double sample, int64_t before, double weight) {
    return current + (sample - current) * std::max(weight, 1.0 / double(before + 1));
  }
  Clock::time_point seekAt_{}, lastOut_{};
  double latency_ = 0, perFrame_ = 0;
  int64_t seeks_ = 0, intervals_ = 0;
};

// A plan that continues where the decoder cannot: a fault in the planner (core), not in the file.
[[noreturn]] inline void throwCannotContinue(int64_t target, int64_t position, bool continuable) {
  throw Error("TVL_INTERNAL",
              "the decode plan continues to frame " + std::to_string(target) + " but the decoder " +
                  (continuable ? "is already at frame " + std::to_string(position)
                               : std::string("cannot continue (its stream was drained or an error left it unknown)")) +
                  ": core must plan a seek there",
              target);
}

// Why the index refuses a frame in `state` (never called for FrameState::Ok).
inline const char* unusableReason(FrameState state) {
  switch (state) {
    case FrameState::Lost:
      return " is missing from the file: demuxing met damage and lost its packet (the timestamps around the hole "
             "show it was there)";
    case FrameState::Unproven:
      return " cannot be identified exactly: the file is damaged before it and the number of frames lost there "
             "cannot be proven (run `tvl verify` on the file)";
    default:
      return " is damaged in the file (its packet is cut short or flagged corrupt, it lies next to damage the "
             "demuxer reported, or it precedes the first keyframe without its references)";
  }
}

// Before decoding anything: every place to seek to is one (core's to get right), every kept
// frame exists, and the index does not know it unusable.
inline void checkPlan(const FrameIndex& index, const std::vector<DecodeRun>& runs) {
  const auto isPlace = [&](int64_t start) { return start >= kFromCache && start < int64_t(index.size()); };
  for (const DecodeRun& run : runs) {
    if (!isPlace(run.start) || !isPlace(run.orSeek) || run.orSeek == kFromCache)
      throw Error("TVL_INTERNAL", "the decode plan names no place to decode from (" + std::to_string(run.start) +
                                      ", or " + std::to_string(run.orSeek) +
                                      " instead): core must plan a keyframe or a continuation");
    for (int64_t k : run.keep) {
      if (k < 0 || size_t(k) >= index.size())
        throw Error("TVL_INDEX_OUT_OF_RANGE", "frame " + std::to_string(k) + " is out of range", k);
      const FrameState state = index.frames[size_t(k)].state;
      if (state != FrameState::Ok)
        throw Error("TVL_CORRUPT_DATA", "frame " + std::to_string(k) + unusableReason(state), k);
    }
  }
}

namespace detail {
template <class E, class = void>
struct CanSkipUnreferenced : std::false_type {};
template <class E>
struct CanSkipUnreferenced<E, std::void_t<decltype(std::declval<E&>().skipUnreferenced(true))>> : std::true_type {};
template <class E, class = void>
struct CanRemember : std::false_type {};
template <class E>
struct CanRemember<E, std::void_t<decltype(std::declval<E&>().remember(int64_t(0)))>> : std::true_type {};
}  // namespace detail

template <class Engine>
class PlanExecutor {
 public:
  PlanExecutor(Demuxer& demuxer, const FrameIndex& index, Engine& engine)
      : demuxer_(demuxer), index_(index), engine_(engine) {
    packet_ = av_packet_alloc();
  }
  ~PlanExecutor() { av_packet_free(&packet_); }
  PlanExecutor(const PlanExecutor&) = delete;
  PlanExecutor& operator=(const PlanExecutor&) = delete;

  // Fills dst[k] with the k-th kept frame of the plan (runs in order, keep lists in order).
  DecodeStats execute(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                      const CancelToken& cancel) {
    DecodeStats stats;
    size_t slot = 0;
    checkPlan(index_, runs);
    meter_.planStarted();
    try {
      for (const DecodeRun& run : runs) {
        if (run.keep.empty()) continue;
        if (run.start == kFromCache) {
          deliverCached(run, dst, slot, out, stats);
          continue;
        }
        if (seeksInstead(run, continuable_, position_)) {
          seek(run.orSeek, stats);
        } else if (run.start != kContinue) {
          seek(run.start, stats);
        } else if (!continuable_ || position_ >= run.keep.front()) {
          throwCannotContinue(run.keep.front(), position_, continuable_);
        }
        runOne(run, dst, slot, out, cancel, stats);
      }
    } catch (...) {
      continuable_ = false;  // decoder state unknown: the next plan seeks
      throw;
    }
    stats.position = position_;
    stats.continuable = continuable_;
    if constexpr (detail::CanRemember<Engine>::value) stats.cached = engine_.remembered();
    stats.seekCost = meter_.cost();
    return stats;
  }

 private:
  static int64_t orderKey(int64_t dts, int64_t pts) { return dts != AV_NOPTS_VALUE ? dts : pts; }

  void seek(int64_t from, DecodeStats& stats) {
    meter_.seeked();
    engine_.flush();
    stats.seeks++;
    drained_ = false;
    havePending_ = false;
    damaged_.clear();
    recoveryFrame_ = -1;
    position_ = -1;
    checkLanding_ = false;
    if (from == kFromStart) {
      demuxer_.seekToStart(index_);
      return;
    }
    // Aimed at the keyframe's pts first: containers whose seek index is kept in another time
    // than the packets' dts (MP4 with an edit list) land a whole GOP early when aimed at its dts.
    // If that lands past the keyframe, nextPacket aims again at its earliest timestamp.
    const IndexEntry& k = index_.frames[size_t(from)];
    landingKey_ = orderKey(k.dts, k.pts);
    aim_ = Aim::Pts;
    if (!demuxer_.seekToKeyframe(k, Demuxer::SeekAim::Pts)) {
      aim_ = Aim::Earliest;
      if (!demuxer_.seekToKeyframe(k, Demuxer::SeekAim::Earliest)) {
        demuxer_.seekToStart(index_);
        return;
      }
    }
    seekTarget_ = from;
    checkLanding_ = true;
  }

  // Reads the next packet; after a seek, checks the demuxer did not land past the keyframe
  // (some containers seek inexactly): then aims again at its earliest timestamp, and if that
  // lands past it too, starts again from the top of the file.
  bool nextPacket() {
    bool read = demuxer_.readPacket(packet_);
    while (checkLanding_) {
      // Landing at the end of the file happens too (MP4 with an edit list, seeking to its first
      // keyframe after reading to the end).
      if (read && !landedPast()) break;
      av_packet_unref(packet_);
      engine_.flush();
      if (aim_ == Aim::Pts && demuxer_.seekToKeyframe(index_.frames[size_t(seekTarget_)], Demuxer::SeekAim::Earliest)) {
        aim_ = Aim::Earliest;
      } else {
        demuxer_.seekToStart(index_);
        checkLanding_ = false;
      }
      read = demuxer_.readPacket(packet_);
    }
    checkLanding_ = false;
    return read;
  }

  // Frames the engine remembered when they were decoded clean: converted again, no decoding, and
  // the decoder's state untouched. Core plans them only from what the last plan reported.
  void deliverCached(const DecodeRun& run, const std::vector<void*>& dst, size_t& slot, const OutputSpec& out,
                     DecodeStats& stats) {
    for (int64_t idx : run.keep) {
      bool delivered = false;
      if constexpr (detail::CanRemember<Engine>::value) delivered = engine_.deliverRemembered(idx, dst[slot], out);
      if (!delivered) {
        throw Error("TVL_INTERNAL",
                    "the decode plan takes frame " + std::to_string(idx) +
                        " from the decoded-frame cache, which does not hold it: core must plan from what the last plan "
                        "reported",
                    idx);
      }
      slot++;
      stats.delivered.push_back(idx);
    }
  }

  void runOne(const DecodeRun& run, const std::vector<void*>& dst, size_t& slot, const OutputSpec& out,
              const CancelToken& cancel, DecodeStats& stats) {
    size_t next = 0;
    FrameInfo info;
    while (next < run.keep.size()) {
      cancel.check();
      int r = engine_.receive(info);
      if (r == 0) {
        meter_.frameOut();
        stats.framesDecoded++;
        const int64_t idx = index_.identify(info.pts, info.pos);
        if (info.corrupt) markDamaged("the decoder reported damage in a frame");
        // (Judged from the keyframe before the picture's own packet, so it needs no recovery point
        // of its own: pictures shown before the recovery keyframe but decoded before it may
        // reference damage, and must not postpone the recovery.)
        else if (info.referencesDamage)
          markDamaged("the decoder reported damage in a picture it references", false);
        else if (!damaged_.empty() && idx >= 0 && idx == recoveryFrame_)
          damaged_.clear();
        if (idx < 0) continue;  // not a presented frame of the index (e.g. a leading picture)
        position_ = idx;
        // Kept for later plans on the terms it would be delivered on now: decoded clean.
        if constexpr (detail::CanRemember<Engine>::value)
          if (damaged_.empty()) engine_.remember(idx);
        const int64_t want = run.keep[next];
        if (idx < want) continue;
        if (idx > want) {
          throw Error("TVL_CORRUPT_DATA",
                      "frame " + std::to_string(want) +
                          " could not be decoded: the decoder skipped from before it to frame " + std::to_string(idx) +
                          (damaged_.empty() ? "" : " (" + damaged_ + ")"),
                      want);
        }
        if (!damaged_.empty()) {
          throw Error("TVL_CORRUPT_DATA",
                      "frame " + std::to_string(want) + " cannot be decoded exactly: " + damaged_ +
                          " between its keyframe and it",
                      want);
        }
        engine_.deliver(dst[slot++], out);
        stats.delivered.push_back(idx);
        next++;
        continue;
      }
      if (r == AVERROR_EOF || (r == AVERROR(EAGAIN) && drained_)) {
        continuable_ = false;
        throwMissing(run.keep[next]);
      }
      if (r != AVERROR(EAGAIN)) {
        markDamaged("decoding failed (" + avErrorString(r) + ")");
        continue;
      }
      // The decoder wants input.
      if (!havePending_) {
        if (!nextPacket()) {
          engine_.send(nullptr);
          drained_ = true;
          continue;
        }
        havePending_ = true;
        if constexpr (detail::CanSkipUnreferenced<Engine>::value) engine_.skipUnreferenced(unwanted(run));
      }
      int s = engine_.send(packet_);
      if (s == AVERROR(EAGAIN)) continue;  // output first, packet stays pending
      if (s < 0 && s != AVERROR_EOF) {
        markDamaged("a packet failed to decode (" + avErrorString(s) + ")");
      } else if (!damaged_.empty() && recoveryFrame_ < 0 && (packet_->flags & AV_PKT_FLAG_KEY)) {
        // The first keyframe accepted after the damage: once it comes out clean, decoding is sound again.
        recoveryFrame_ = index_.identify(packet_->pts, packet_->pos);
      }
      av_packet_unref(packet_);
      havePending_ = false;
    }
    continuable_ = !drained_;
  }

  // Whether the first packet after a seek lies past the keyframe aimed at. Judged by the frame its
  // pts identifies where it has one (a picture decoded before a keyframe is also shown before it),
  // else by decode order: after a seek some demuxers (Matroska) give the first packet its pts as
  // dts, which would look past the keyframe's dts.
  bool landedPast() const {
    const int64_t idx = index_.identify(packet_->pts, packet_->pos);
    if (idx >= 0) return idx > seekTarget_;
    return orderKey(packet_->dts, packet_->pts) > landingKey_;
  }

  // Whether the pending packet's picture is one the run does not keep and comes before the run's
  // last kept frame: if nothing references it either, the decoder need not decode it at all (the
  // pictures the run keeps are still identified by their own pts, so skipping changes no number).
  // Unknown pictures (leading ones, no pts) are decoded.
  bool unwanted(const DecodeRun& run) const {
    const int64_t idx = index_.identify(packet_->pts, packet_->pos);
    return idx >= 0 && idx < run.keep.back() && !std::binary_search(run.keep.begin(), run.keep.end(), idx);
  }

  // Every frame from here on may depend on damaged data, until a keyframe decoded after this point
  // comes out clean. (With frame threading an error surfaces late, so this errs on the safe side.)
  void markDamaged(std::string reason, bool restartRecovery = true) {
    damaged_ = std::move(reason);
    if (restartRecovery) recoveryFrame_ = -1;
  }

  [[noreturn]] void throwMissing(int64_t want) const {
    throw Error("TVL_CORRUPT_DATA",
                "frame " + std::to_string(want) +
                    " could not be decoded: the stream ended before the decoder produced it" +
                    (index_.truncated ? " (the file is truncated: " + index_.truncatedReason + ")" : "") +
                    (damaged_.empty() ? "" : " (" + damaged_ + ")"),
                want);
  }

  Demuxer& demuxer_;
  const FrameIndex& index_;
  Engine& engine_;
  AVPacket* packet_ = nullptr;
  SeekCostMeter meter_;
  bool havePending_ = false;
  bool drained_ = false;
  bool continuable_ = true;  // right after open the decoder is at the start of the stream
  bool checkLanding_ = false;
  enum class Aim { Pts, Earliest } aim_ = Aim::Pts;
  int64_t seekTarget_ = 0;  // the keyframe the last seek aimed at
  int64_t landingKey_ = 0;
  int64_t position_ = -1;
  std::string damaged_;         // non-empty while decoded frames may be wrong
  int64_t recoveryFrame_ = -1;  // keyframe whose clean output ends the damage
};

}  // namespace tvl
