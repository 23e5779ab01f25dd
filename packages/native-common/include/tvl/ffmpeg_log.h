// TVL's handling of FFmpeg's log: what it prints (nothing, unless TVL_FFMPEG_LOG asks), and which
// packets' decoding met errors, as FFmpeg's decoders log them (DecodeErrorLog).
//
// Why the errors are taken from the log: with frame threading, a decoder can hand out a picture before the thread
// decoding it has finished concealing its errors (FFmpeg 5.1's H.264 decoder outputs from the thread of a later
// packet). The frame we receive then lacks decode_error_flags, and a concealed picture, often a
// clean copy of its neighbour, would pass as exact. The decoder does log each error it meets, from
// the thread that meets it, on that thread's copy of the codec context, which carries our
// context's `opaque` and `reordered_opaque` as they were when the packet was sent. So every packet
// is sent with a serial in reordered_opaque, the log callback records the serials whose decoding
// logged an error, and a frame whose serial (frame->reordered_opaque) is among them is damaged,
// whatever its flags say. The frame is received only after its thread finished, so its errors
// are recorded by then.
//
// The log callback is process-wide: every TVL addon installs ffmpegLogCallback at load, and any
// installed copy serves every addon's decoders (the record layout is checked by a magic number).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
}

namespace tvl {

// FFmpeg's own log level for TVL's addons: quiet, since TVL reports problems as errors;
// TVL_FFMPEG_LOG=<level> (e.g. 32 = info, 48 = debug) turns it back on for debugging.
inline int ffmpegLogLevel() {
  const char* level = std::getenv("TVL_FFMPEG_LOG");
  return level ? std::atoi(level) : AV_LOG_QUIET;
}

class DecodeErrorLog {
 public:
  explicit DecodeErrorLog(void* owner) : owner_(owner) {}
  DecodeErrorLog(const DecodeErrorLog&) = delete;
  DecodeErrorLog& operator=(const DecodeErrorLog&) = delete;

  // Whoever holds this log (the context's opaque points here).
  void* owner() const { return owner_; }

  // Before sending a packet: tags the decoder's context with the packet's serial. `keyframe`:
  // the packet is a keyframe (where the pictures after it start referencing).
  void stamp(AVCodecContext* ctx, bool keyframe) {
    std::lock_guard<std::mutex> lock(mutex_);
    serial_ = (serial_ + 1) & kSerialMask;
    if (keyframe) {
      keySerials_.push_back(serial_);
      if (keySerials_.size() > 64) keySerials_.erase(keySerials_.begin());
    }
    ctx->reordered_opaque = int64_t(kTag | serial_);
    // Frames come out within a few dozen packets of their own (reorder delay + threads): older
    // records can no longer match, and dropping them keeps the log bounded.
    damaged_.erase(std::remove_if(damaged_.begin(), damaged_.end(),
                                  [&](uint64_t s) { return ((serial_ - s) & kSerialMask) > kHorizon; }),
                   damaged_.end());
  }

  // Whether decoding the packet that `frame` came from logged an error.
  bool damaged(const AVFrame* frame) {
    const uint64_t tagged = uint64_t(frame->reordered_opaque);
    if ((tagged & ~kSerialMask) != kTag) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    return std::find(damaged_.begin(), damaged_.end(), tagged & kSerialMask) != damaged_.end();
  }

  // Whether a packet `frame` may reference reported damage: one sent from the last keyframe
  // before the frame's own packet up to that packet. (A picture shown before a damaged one can
  // still reference it: a B-frame before the P-frame it is predicted from.) Packets before the
  // first keyframe since clear() (the start of a stream cut mid-GOP, which fail for want of their
  // references) taint nothing: their own pictures are judged by damaged().
  bool referencesDamage(const AVFrame* frame) {
    const uint64_t tagged = uint64_t(frame->reordered_opaque);
    if ((tagged & ~kSerialMask) != kTag) return false;
    const uint64_t own = tagged & kSerialMask;
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t key = 0;
    bool haveKey = false;
    for (uint64_t k : keySerials_)
      if (k <= own) key = k, haveKey = true;
    if (!haveKey) return false;
    return std::any_of(damaged_.begin(), damaged_.end(), [&](uint64_t s) { return s >= key && s <= own; });
  }

  // After a flush (seek) no frame of the old packets comes out.
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    damaged_.clear();
    keySerials_.clear();
  }

  // From the log callback, on any decoding thread.
  static void recordIfOurs(void* avcl, int level, const char* format) {
    if (!avcl || *static_cast<const AVClass* const*>(avcl) != avcodec_get_class()) return;
    if (!isDamageReport(level, format)) return;
    const AVCodecContext* ctx = static_cast<const AVCodecContext*>(avcl);
    const uint64_t tagged = uint64_t(ctx->reordered_opaque);
    // Only contexts TVL tagged: anything else's opaque is not ours to read.
    if ((tagged & ~kSerialMask) != kTag || !ctx->opaque) return;
    auto* log = static_cast<DecodeErrorLog*>(ctx->opaque);
    if (log->magic_ != kMagic) return;
    std::lock_guard<std::mutex> lock(log->mutex_);
    if (std::find(log->damaged_.begin(), log->damaged_.end(), tagged & kSerialMask) == log->damaged_.end())
      log->damaged_.push_back(tagged & kSerialMask);
  }

 private:
  // Errors; error concealment (logged at info level, and the only report when a slice vanished
  // whole); and a "missing feature" (a warning), after which the picture is left undecoded: in
  // damaged data that is garbage read as an unsupported mode (an MJPEG picture kept its buffer's
  // previous contents, another frame's).
  static bool isDamageReport(int level, const char* format) {
    if (level <= AV_LOG_ERROR) return true;
    if (!format) return false;
    if (level <= AV_LOG_INFO && std::strncmp(format, "concealing", 10) == 0) return true;
    return level <= AV_LOG_WARNING && std::strstr(format, "not implemented") != nullptr;
  }

  static constexpr uint64_t kMagic = 0x544c56444552524cull;  // layout version 1
  static constexpr uint64_t kTag = uint64_t(0x5456) << 48;
  static constexpr uint64_t kSerialMask = (uint64_t(1) << 48) - 1;
  static constexpr uint64_t kHorizon = 4096;

  const uint64_t magic_ = kMagic;  // first member: checked before anything else is read
  void* const owner_;
  std::mutex mutex_;
  uint64_t serial_ = 0;
  std::vector<uint64_t> keySerials_;  // recent keyframe packets (serials never wrap: 2^48 packets)
  std::vector<uint64_t> damaged_;
};

// Counts the errors a demuxer reports while it reads packets. A demuxer that meets damage logs
// it, resyncs and carries on, and the packets it skipped are simply missing: this is how the frame
// index learns where numbering became uncertain. Demuxers log on their AVFormatContext, whose
// `opaque` points here while the watch lives. (Not a thread_local: the log callback is
// process-wide, and the one installed last, maybe another addon's copy of this code, serves
// every addon; the record's layout is checked by a magic number, as DecodeErrorLog's is.)
class DemuxErrorWatch {
 public:
  explicit DemuxErrorWatch(AVFormatContext* fmt) : fmt_(fmt), previous_(fmt->opaque) { fmt_->opaque = this; }
  ~DemuxErrorWatch() { fmt_->opaque = previous_; }
  DemuxErrorWatch(const DemuxErrorWatch&) = delete;
  DemuxErrorWatch& operator=(const DemuxErrorWatch&) = delete;

  int64_t errors() const { return errors_.load(); }

  static void recordIfWatched(void* avcl, int level) {
    if (level > AV_LOG_ERROR || !avcl || *static_cast<const AVClass* const*>(avcl) != avformat_get_class()) return;
    auto* w = static_cast<DemuxErrorWatch*>(static_cast<AVFormatContext*>(avcl)->opaque);
    if (w && w->magic_ == kMagic) w->errors_++;
  }

 private:
  static constexpr uint64_t kMagic = 0x544c56444d555852ull;  // layout version 1
  const uint64_t magic_ = kMagic;                            // first member: checked before anything else is read
  AVFormatContext* fmt_;
  void* previous_;
  std::atomic<int64_t> errors_{0};
};

// FFmpeg's log callback for TVL's addons: records decoding and demuxing errors (above), then
// prints at TVL's level (quiet unless TVL_FFMPEG_LOG is set), whatever level another library
// (OpenCV) set. Panic and fatal messages always reach stderr: FFmpeg logs them just before it
// aborts the process (a failed assertion), and that line is the one clue anyone will have.
inline void ffmpegLogCallback(void* avcl, int level, const char* format, va_list args) {
  DecodeErrorLog::recordIfOurs(avcl, level, format);
  DemuxErrorWatch::recordIfWatched(avcl, level);
  static const int tvlLevel = ffmpegLogLevel();
  if (level <= tvlLevel) {
    av_log_default_callback(avcl, level, format, args);
  } else if (level <= AV_LOG_FATAL) {
    // Below FFmpeg's own level (TVL keeps it quiet), so printed here rather than by its callback.
    char line[1024];
    int printPrefix = 1;
    av_log_format_line(avcl, level, format, args, line, sizeof line, &printPrefix);
    std::fprintf(stderr, "FFmpeg (via TVL): %s", line);
    std::fflush(stderr);
  }
}

// Called by each addon when it loads.
inline void installFfmpegLogging() {
  av_log_set_level(ffmpegLogLevel());
  av_log_set_callback(ffmpegLogCallback);
}

}  // namespace tvl
