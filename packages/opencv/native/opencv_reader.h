// Executes decode plans with OpenCV's cv::VideoCapture (its FFmpeg backend), exactly.
//
// VideoCapture positions by frame *number*, which it derives from time and the nominal frame
// rate; on variable frame rate, start offsets or edit lists that lands on the wrong frame. So
// positioning is only a hint here: after every grab the frame is identified by the timestamp
// OpenCV reports (CAP_PROP_POS_MSEC) against the frame index TVL built by demuxing, a landing
// past the target is retried further back (and finally from the start of the file), and a frame
// that cannot be identified is a TVL_INEXACT_FRAME error naming it, never a neighbour.
//
// Where the container gives packets no pts (AVI, raw streams: FrameIndex::byPosition), OpenCV's
// timestamps are guesses (off by the codec's reorder delay), so frames are identified by their
// place instead: counted from the start of the file, which every seek then goes back to.
//
// Colour: OpenCV converts YUV to BGR with swscale's defaults (BT.601; full range only for the
// "yuvj" pixel formats) and offers no way to change that. In 'stream' colour mode (the default)
// an affine RGB correction, computed from the stream's real matrix and range, is applied in the
// same pass that swaps BGR to RGB; in 'opencv' mode OpenCV's colours are returned as they are.
#pragma once
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "opencv_ffmpeg_log.h"
#include "tvl/colour.h"
#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/ffmpeg_log.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

enum class ColourMode { Stream, OpenCV };

// The colours OpenCV's FFmpeg backend produces for a stream: swscale's defaults.
inline ColourSpec opencvAssumedColour(AVPixelFormat format) {
  ColourSpec c;
  c.matrix = Matrix::BT601;
  c.range = isFullRangeFormat(format) ? Range::Full : Range::Limited;
  return c;
}

class OpencvReader {
 public:
  // `streamStart`: the stream's start_time, which OpenCV subtracts from every timestamp it reports.
  OpencvReader(std::string path, const FrameIndex& index, int64_t streamStart, const VideoDescription& video,
               RgbCorrection correction)
      : path_(std::move(path)), index_(index), video_(video), correction_(correction), byPlace_(index.byPosition) {
    const double tickMs = 1000.0 * av_q2d(index.timeBase);
    tolerance_ = 0.5 * tickMs;
    const int64_t start = streamStart == AV_NOPTS_VALUE ? 0 : streamStart;
    ms_.reserve(index.size());
    // The same arithmetic as OpenCV's (pts - start_time) * time_base, in milliseconds.
    for (const IndexEntry& e : index.frames) ms_.push_back(double(e.pts - start) * av_q2d(index.timeBase) * 1000.0);
    // The correction as a 3x4 matrix over OpenCV's BGR channel order, producing RGB.
    transform_ = cv::Mat(3, 4, CV_32F);
    for (int o = 0; o < 3; o++) {
      transform_.at<float>(o, 0) = correction.a[o][2];  // B
      transform_.at<float>(o, 1) = correction.a[o][1];  // G
      transform_.at<float>(o, 2) = correction.a[o][0];  // R
      transform_.at<float>(o, 3) = correction.b[o];
    }
    openCapture();
  }

  // Executes the plan as core made it: a run that continues grabs on from the current frame, a
  // run that names a keyframe aims VideoCapture there (see seekTo). Like PlanExecutor, it
  // reports each delivered frame's index and refuses a plan that continues where it cannot.
  DecodeStats execute(const std::vector<DecodeRun>& runs, const std::vector<void*>& dst, const OutputSpec& out,
                      const CancelToken& cancel) {
    checkPlan(index_, runs);
    DecodeStats stats;
    size_t slot = 0;
    try {
      for (const DecodeRun& run : runs) {
        if (run.keep.empty()) continue;
        const int64_t first = run.keep.front();
        // A run planned from where earlier calls should leave the capture seeks where the plan
        // says if they did not (a fresh capture, before its first grab, counts as frame -1).
        const int64_t start =
            seeksInstead(run, atStart_ || current_ >= 0, atStart_ ? -1 : current_) ? run.orSeek : run.start;
        if (start == kFromStart || (start != kContinue && byPlace_)) {
          seekToStart(first, stats, cancel);
        } else if (start != kContinue) {
          seekTo(start, first, stats, cancel);
        } else if (!atStart_ && !(current_ >= 0 && current_ < first)) {
          throwCannotContinue(first, current_, current_ >= 0);
        }
        for (int64_t k : run.keep) {
          while (current_ < k) {
            cancel.check();
            if (!grabNext(k, stats)) throwMissing(k);
          }
          if (current_ > k) {
            throw Error("TVL_CORRUPT_DATA",
                        "frame " + std::to_string(k) +
                            " could not be decoded: OpenCV skipped from before it to frame " + std::to_string(current_),
                        k);
          }
          deliver(dst[slot++], out);
          stats.delivered.push_back(current_);
        }
      }
    } catch (...) {
      current_ = -1;  // position unknown: the next plan seeks
      atStart_ = false;
      throw;
    }
    stats.position = current_;
    stats.continuable = current_ >= 0;
    return stats;
  }

 private:
  void openCapture() {
    cap_.release();
    // Only the FFmpeg backend: the timestamp checks here are written against its behaviour
    // (GStreamer, also compiled into Debian's OpenCV, would be a different decoder).
    // Rotation is applied by TVL while writing the output, as for every backend.
    if (!cap_.open(path_, cv::CAP_FFMPEG) || !cap_.isOpened())
      throw Error("TVL_UNSUPPORTED_CODEC", "OpenCV's FFmpeg backend cannot open '" + path_ + "'");
    setOpencvFfmpegLogLevel();  // OpenCV resets it to 'error' on every open
    cap_.set(cv::CAP_PROP_ORIENTATION_AUTO, 0);
    current_ = -1;
    atStart_ = true;
  }

  // Frame whose expected POS_MSEC equals `ms` (to half a time-base tick), or -1.
  int64_t identify(double ms) const {
    auto it = std::lower_bound(ms_.begin(), ms_.end(), ms - tolerance_);
    if (it == ms_.end() || std::abs(*it - ms) > tolerance_) return -1;
    return int64_t(it - ms_.begin());
  }

  // Grabs the next frame and identifies it; false at the end of the stream. `target` is the frame
  // being worked towards: the one an error names.
  bool grabNext(int64_t target, DecodeStats& stats) {
    if (!cap_.grab()) return false;
    stats.framesDecoded++;
    const double ms = cap_.get(cv::CAP_PROP_POS_MSEC);
    // OpenCV reports exactly 0 ms both for the first frame and for frames it has no timestamp
    // for (those drained from the decoder at the end of the file), and it substitutes the
    // packet's dts when a frame's pts is exactly 0. Such frames are identified by their place:
    // the first frame after opening is frame 0, and an untimed frame after a verified one is
    // the next. Every other frame is identified by its own timestamp.
    int64_t id = ms == 0.0 || byPlace_ ? -1 : identify(ms);
    if (byPlace_)
      id = atStart_ ? 0 : current_ >= 0 && size_t(current_ + 1) < index_.size() ? current_ + 1 : -1;
    else if (atStart_ && (id < 0 || index_.frames.front().pts == 0))
      id = 0;
    else if (id < 0 && ms == 0.0 && current_ >= 0 && size_t(current_ + 1) < index_.size())
      id = current_ + 1;
    atStart_ = false;
    if (id < 0) {
      const int64_t after = current_;
      current_ = -1;
      throw Error("TVL_INEXACT_FRAME",
                  "frame " + std::to_string(target) + " cannot be delivered exactly: OpenCV reported a frame at " +
                      std::to_string(ms) + " ms, which is no frame of the index" +
                      (after >= 0 ? " (after frame " + std::to_string(after) + ")" : ""),
                  target);
    }
    if (current_ >= 0 && id <= current_) {
      throw Error("TVL_INEXACT_FRAME",
                  "frame " + std::to_string(target) + " cannot be delivered exactly: OpenCV went back from frame " +
                      std::to_string(current_) + " to frame " + std::to_string(id),
                  target);
    }
    current_ = id;
    return true;
  }

  // Lands at or before `target`, aiming VideoCapture's own seek at `aim` (the keyframe the plan
  // chose), then further back after each overshoot, and finally decoding from the start of the file.
  void seekTo(int64_t aim, int64_t target, DecodeStats& stats, const CancelToken& cancel) {
    int64_t n = aim;
    int64_t margin = 1;
    for (int attempt = 0; attempt < 6 && n > 0; attempt++) {
      cancel.check();
      stats.seeks++;
      cap_.set(cv::CAP_PROP_POS_FRAMES, double(n));
      current_ = -1;
      atStart_ = false;
      bool grabbed = false;
      try {
        grabbed = grabNext(target, stats);
      } catch (const Error&) {
        grabbed = false;  // an unidentifiable landing: try further back
      }
      if (grabbed && current_ <= target) return;
      n -= (grabbed ? current_ - n : 0) + margin;
      margin *= 4;
    }
    seekToStart(target, stats, cancel);
  }

  void seekToStart(int64_t target, DecodeStats& stats, const CancelToken& cancel) {
    cancel.check();
    stats.seeks++;
    // Reopening is the one way back to the start that every container honours.
    openCapture();
    if (!grabNext(target, stats)) throwMissing(target);
    if (current_ > target) {
      throw Error("TVL_INEXACT_FRAME",
                  "frame " + std::to_string(target) + " could not be reached: OpenCV's first frame is frame " +
                      std::to_string(current_),
                  target);
    }
  }

  [[noreturn]] void throwMissing(int64_t want) {
    current_ = -1;
    throw Error("TVL_CORRUPT_DATA",
                "frame " + std::to_string(want) + " could not be decoded: OpenCV's stream ended before it" +
                    (index_.truncated ? " (the file is truncated: " + index_.truncatedReason + ")" : ""),
                want);
  }

  void deliver(void* dst, const OutputSpec& out) {
    if (!cap_.retrieve(bgr_) || bgr_.empty() || bgr_.type() != CV_8UC3)
      throw Error("TVL_CORRUPT_DATA", "OpenCV returned no picture for frame " + std::to_string(current_), current_);
    const bool swap = rotationSwapsAxes(video_.rotation);
    const int w = swap ? out.height : out.width;  // pre-rotation size
    const int h = swap ? out.width : out.height;
    const cv::Mat* src = &bgr_;
    if (bgr_.cols != w || bgr_.rows != h) {
      // Area averaging to shrink (no aliasing), bicubic to enlarge.
      const int interp = (w <= bgr_.cols && h <= bgr_.rows) ? cv::INTER_AREA : cv::INTER_CUBIC;
      cv::resize(bgr_, resized_, cv::Size(w, h), 0, 0, interp);
      src = &resized_;
    }
    if (outputIsPlainRgb24(out, video_.rotation)) {
      toRgb(*src, static_cast<uint8_t*>(dst), w * 3);
      return;
    }
    rgb_.create(h, w, CV_8UC3);
    toRgb(*src, rgb_.data, int(rgb_.step));
    writeFrame(rgb_.data, int(rgb_.step), w, h, video_.rotation, out, dst);
  }

  // BGR -> RGB, with the colour correction folded into the same pass when there is one.
  // (What OpenCV clipped to 0..255, colours in gamut for the stream's matrix but not for BT.601,
  // cannot be recovered; see the README for what that costs.)
  void toRgb(const cv::Mat& bgr, uint8_t* dst, int dstStride) const {
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, dst, size_t(dstStride));
    if (correction_.identity)
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    else
      cv::transform(bgr, rgb, transform_);  // saturating, vectorised
  }

  std::string path_;
  const FrameIndex& index_;
  VideoDescription video_;
  RgbCorrection correction_;
  cv::Mat transform_;
  std::vector<double> ms_;  // expected CAP_PROP_POS_MSEC of each frame
  double tolerance_ = 0;
  cv::VideoCapture cap_;
  int64_t current_ = -1;  // frame last grabbed, -1 when unknown
  bool atStart_ = true;   // the next grab is the first since opening
  bool byPlace_;          // frames are identified by counting from the start (no pts in the file)
  cv::Mat bgr_, resized_, rgb_;
};

}  // namespace tvl
