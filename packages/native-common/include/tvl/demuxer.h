// Demuxing with libavformat, shared by every FFmpeg-based addon: opening with typed errors, the
// frame index (built from packets alone, no decoding), keyframe seeks and packet reading.
#pragma once
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
}

#include "tvl/error.h"
#include "tvl/ffmpeg_log.h"

namespace tvl {

// Cancellation: JS owns an Int32Array cell; writing 1 to it asks the native call to stop. It is
// read between packets and by libavformat's interrupt callback, so blocking reads stop too.
struct CancelToken {
  const int32_t* cell = nullptr;  // the caller's (JavaScript's) cancel cell
  const int32_t* also = nullptr;  // a second cell, e.g. a parallel plan's own stop
  bool requested() const {
    return (cell && __atomic_load_n(cell, __ATOMIC_RELAXED) != 0) ||
           (also && __atomic_load_n(also, __ATOMIC_RELAXED) != 0);
  }
  void check() const {
    if (requested()) throw Error("TVL_ABORTED", "the operation was aborted");
  }
};

// What is known of a frame of the index besides its timestamps.
enum class FrameState : uint8_t {
  Ok = 0,
  Corrupt = 1,   // its packet is flagged (e.g. cut short by truncation) or next to damage the
                 // demuxer reported (see tvl/frame_index_builder.h)
  Lost = 2,      // demuxing lost its packet (a damaged stretch of the file); the timestamps around
                 // the hole prove it was there, and which number it had
  Unproven = 3,  // after a damaged stretch whose losses the timestamps cannot count: this frame's
                 // number cannot be proven, so it is never delivered as if it could
};

struct IndexEntry {
  int64_t pts;       // presentation timestamp (stream time base)
  int64_t dts;       // decode timestamp, AV_NOPTS_VALUE when the container has none
  int64_t duration;  // packet duration, 0 when unknown
  int64_t pos = -1;  // byte position of the packet in the file, -1 when unknown
  bool keyframe;
  bool hasPts = true;            // the container gave the packet a pts (AVI and raw streams often do not)
  bool afterDemuxError = false;  // the demuxer reported an error (and resynced) just before this packet
  FrameState state = FrameState::Ok;
  bool usable() const { return state == FrameState::Ok; }
};

// Where an index's frame numbering comes from.
enum class IndexSource : uint8_t {
  Packets,  // demuxing alone (fast); proven against the decoder where the container cannot prove it
  Decoded,  // every frame decoded once: entry i is the i-th frame the decoder presented
};

// How open builds the index: from packets (proven by decoding only where needed) or by decoding
// every frame (see tvl/frame_index_builder.h).
enum class IndexMode { Packets, Decoded };

// One entry per presented frame, in presentation order: entry i is frame i.
struct FrameIndex {
  AVRational timeBase{1, 1};
  std::vector<IndexEntry> frames;
  bool truncated = false;  // reading stopped on an error before the end of the file
  std::string truncatedReason;
  int64_t minDts = AV_NOPTS_VALUE;
  IndexSource source = IndexSource::Packets;
  // Decoded frames are matched to entries by their packet's byte position rather than by pts:
  // the container gives some packets no pts (AVI, raw streams), so a decoder's timestamps for
  // them are guesses. Positions travel with each picture through reordering and threads.
  bool byPosition = false;
  int64_t demuxErrors = 0;         // errors the demuxer reported (and resynced past) while indexing
  int64_t droppedLeading = 0;      // packets before the first picture the decoder presents (not frames)
  bool startsWithKeyframe = true;  // the file's first packet (decode order) is a keyframe
  bool fromCache = false;          // read from the persistent index cache, not built

  size_t size() const { return frames.size(); }
  double seconds(int64_t ts) const { return double(ts) * av_q2d(timeBase); }

  // Frame whose pts is exactly `pts`, or -1.
  int64_t find(int64_t pts) const {
    auto it =
        std::lower_bound(frames.begin(), frames.end(), pts, [](const IndexEntry& e, int64_t p) { return e.pts < p; });
    if (it == frames.end() || it->pts != pts) return -1;
    return int64_t(it - frames.begin());
  }

  // The frame a decoded picture is, from its pts or (byPosition) its packet's position; -1 when
  // it is none of the index's frames (a leading picture, a packet the index never saw).
  int64_t identify(int64_t pts, int64_t pos) const {
    if (!byPosition) return pts == AV_NOPTS_VALUE ? -1 : find(pts);
    if (pos < 0) return -1;
    auto it = std::lower_bound(byPos_.begin(), byPos_.end(), std::make_pair(pos, int64_t(-1)));
    if (it == byPos_.end() || it->first != pos) return -1;
    return it->second;
  }

  // After `frames` changed: rebuilds the position lookup.
  void reindex() {
    byPos_.clear();
    if (!byPosition) return;
    byPos_.reserve(frames.size());
    for (size_t i = 0; i < frames.size(); i++)
      if (frames[i].pos >= 0) byPos_.emplace_back(frames[i].pos, int64_t(i));
    std::sort(byPos_.begin(), byPos_.end());
  }

  double lastFrameDuration() const {
    if (frames.empty()) return 0;
    const IndexEntry& last = frames.back();
    if (last.duration > 0) return seconds(last.duration);
    if (frames.size() >= 2) return seconds(last.pts - frames[frames.size() - 2].pts);
    return 0;
  }

 private:
  std::vector<std::pair<int64_t, int64_t>> byPos_;  // (packet position, frame), sorted
};

inline int avioInterrupt(void* opaque) { return static_cast<const CancelToken*>(opaque)->requested() ? 1 : 0; }

class Demuxer {
 public:
  Demuxer() = default;
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;
  ~Demuxer() { close(); }

  // Opens `path` and selects its best video stream; throws tvl::Error with a precise code.
  void open(const std::string& path) {
    path_ = path;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      throw Error("TVL_FILE_NOT_FOUND", "No such file: '" + path + "'");
    }
    if (S_ISDIR(st.st_mode)) throw Error("TVL_NOT_A_VIDEO", "'" + path + "' is a directory, not a video file");
    if (st.st_size == 0) throw Error("TVL_NOT_A_VIDEO", "'" + path + "' is empty (0 bytes), not a video file");

    fmt_ = avformat_alloc_context();
    fmt_->interrupt_callback.callback = avioInterrupt;
    fmt_->interrupt_callback.opaque = &cancel_;
    int err = avformat_open_input(&fmt_, path.c_str(), nullptr, nullptr);
    if (err < 0) {
      fmt_ = nullptr;  // freed by avformat_open_input on failure
      if (err == AVERROR(ENOENT)) throw Error("TVL_FILE_NOT_FOUND", "No such file: '" + path + "'");
      if (err == AVERROR(EACCES)) throw Error("TVL_IO_ERROR", "Permission denied reading '" + path + "'");
      if (err == AVERROR_EXIT) throw Error("TVL_ABORTED", "opening '" + path + "' was aborted");
      throw Error("TVL_NOT_A_VIDEO", "'" + path + "' is not a video file FFmpeg can read (" + avErrorString(err) + ")");
    }
    // FFmpeg renders text files (.txt, .nfo, ...) as ANSI-art "video"; nobody means that.
    if (std::string(fmt_->iformat->name) == "tty") {
      throw Error("TVL_NOT_A_VIDEO", "'" + path + "' is a text file, not a video file");
    }
    err = avformat_find_stream_info(fmt_, nullptr);
    if (err < 0) {
      if (err == AVERROR_EXIT) throw Error("TVL_ABORTED", "opening '" + path + "' was aborted");
      throw Error("TVL_NOT_A_VIDEO", "'" + path + "' has no readable streams (" + avErrorString(err) + ")");
    }
    streamIndex_ = av_find_best_stream(fmt_, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (streamIndex_ < 0) {
      // Cover art is a "video" stream holding one still picture; it is not a video either.
      throw Error("TVL_NO_VIDEO_STREAM", "'" + path + "' has no video stream (streams: " + describeStreams() + ")");
    }
    stream_ = fmt_->streams[streamIndex_];
    if (stream_->disposition & AV_DISPOSITION_ATTACHED_PIC) {
      throw Error("TVL_NO_VIDEO_STREAM", "'" + path + "' has only a still picture (cover art), no video stream");
    }
    for (unsigned i = 0; i < fmt_->nb_streams; i++)
      if (int(i) != streamIndex_) fmt_->streams[i]->discard = AVDISCARD_ALL;
  }

  // Opens the same file again: the next packet is the file's first.
  void reopen() {
    const std::string path = path_;
    close();
    open(path);
  }

  void close() {
    if (fmt_) avformat_close_input(&fmt_);
    fmt_ = nullptr;
    stream_ = nullptr;
  }

  void setCancel(CancelToken token) { cancel_ = token; }
  const CancelToken& cancel() const { return cancel_; }

  AVFormatContext* format() const { return fmt_; }
  AVStream* stream() const { return stream_; }
  int streamIndex() const { return streamIndex_; }
  const std::string& path() const { return path_; }

  // Clockwise rotation in degrees (0/90/180/270) from the stream's display matrix.
  int rotation() const {
    const uint8_t* m = av_stream_get_side_data(stream_, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
    if (!m) return 0;
    double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
    if (std::isnan(ccw)) return 0;
    int cw = int(std::lround(-ccw)) % 360;
    if (cw < 0) cw += 360;
    return (cw + 45) / 90 * 90 % 360;
  }

  // Reads every packet of the video stream (no decoding), in decode order: the raw material of
  // the frame index (see tvl/frame_index_builder.h, which proves it and puts it in presentation
  // order). Records what the container says of each packet and where the demuxer reported damage.
  FrameIndex readPackets() {
    FrameIndex index;
    index.timeBase = stream_->time_base;
    // Owned so that every exit (end, error, abort) frees it.
    std::unique_ptr<AVPacket, void (*)(AVPacket*)> owned(av_packet_alloc(), [](AVPacket* p) { av_packet_free(&p); });
    AVPacket* pkt = owned.get();
    DemuxErrorWatch watch(fmt_);
    int64_t errorsSeen = 0;
    int64_t synthetic = 0;
    int64_t streamPackets = 0;  // including those an edit list discards, as the header counts them
    int64_t dataEnd = 0;        // where the last packet read (of any stream) ends in the file
    for (;;) {
      cancel_.check();
      int err = av_read_frame(fmt_, pkt);
      if (err == AVERROR_EOF) break;
      if (err == AVERROR_EXIT) throw Error("TVL_ABORTED", "indexing '" + path_ + "' was aborted");
      if (err < 0) {
        index.truncated = true;
        index.truncatedReason = avErrorString(err);
        break;
      }
      if (pkt->stream_index == streamIndex_) streamPackets++;
      if (pkt->pos >= 0) dataEnd = std::max(dataEnd, pkt->pos + int64_t(pkt->size));
      if (pkt->stream_index == streamIndex_ && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
        IndexEntry e{};
        e.dts = pkt->dts;
        e.hasPts = pkt->pts != AV_NOPTS_VALUE;
        e.pts = e.hasPts ? pkt->pts : (pkt->dts != AV_NOPTS_VALUE ? pkt->dts : synthetic);
        e.duration = pkt->duration;
        e.pos = pkt->pos;
        e.keyframe = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        if (pkt->flags & AV_PKT_FLAG_CORRUPT) e.state = FrameState::Corrupt;
        e.afterDemuxError = watch.errors() > errorsSeen;
        errorsSeen = watch.errors();
        synthetic = e.pts + std::max<int64_t>(1, pkt->duration);
        if (pkt->dts != AV_NOPTS_VALUE && (index.minDts == AV_NOPTS_VALUE || pkt->dts < index.minDts))
          index.minDts = pkt->dts;
        index.frames.push_back(e);
      }
      av_packet_unref(pkt);
    }
    index.demuxErrors = watch.errors();
    index.startsWithKeyframe = index.frames.empty() || index.frames.front().keyframe;
    // A clean EOF can still be a cut-off file: the container promised more frames, or the last
    // packet came back short (flagged corrupt).
    if (!index.truncated && stream_->nb_frames > streamPackets) {
      index.truncated = true;
      index.truncatedReason = "the header lists " + std::to_string(stream_->nb_frames) + " frames, the file holds " +
                              std::to_string(streamPackets);
    } else if (!index.truncated && !index.frames.empty() && index.frames.back().state == FrameState::Corrupt) {
      index.truncated = true;
      index.truncatedReason = "the last packet is cut short";
    } else if (const int64_t size = fmt_->pb ? avio_size(fmt_->pb) : -1;
               !index.truncated && dataEnd > 0 && size - dataEnd > std::max<int64_t>(4096, size / 4)) {
      // The demuxer reported a clean end well before the end of the file: a damaged container it
      // could not resync past (a fragmented MP4 with a damaged moof stops there). What a container
      // keeps after its last packet (an index, cues, a moov) is small beside the file, hence the margin.
      index.truncated = true;
      index.truncatedReason = "demuxing stopped at byte " + std::to_string(dataEnd) + " of " + std::to_string(size) +
                              ": the rest of the file could not be read";
    }
    if (index.frames.empty()) {
      throw Error(index.truncated ? "TVL_CORRUPT_DATA" : "TVL_NOT_A_VIDEO",
                  "'" + path_ + "' has a video stream but no frames could be read" +
                      (index.truncated ? " (" + index.truncatedReason + ")" : ""));
    }
    return index;
  }

  // How many frames the decoder holds back to reorder them (0: decode order is presentation order).
  int reorderDelay() const { return stream_->codecpar->video_delay; }

  // Positions the demuxer near the keyframe `e`, aimed at its pts or at its earliest timestamp
  // (min of dts and pts: never past it, but a GOP early in containers whose seek index is not in
  // dts). Returns false when the container refused. Where it lands is for the caller to check.
  enum class SeekAim { Pts, Earliest };
  bool seekToKeyframe(const IndexEntry& e, SeekAim aim = SeekAim::Earliest) {
    int64_t ts = aim == SeekAim::Earliest && e.dts != AV_NOPTS_VALUE ? std::min(e.dts, e.pts) : e.pts;
    return av_seek_frame(fmt_, streamIndex_, ts, AVSEEK_FLAG_BACKWARD) >= 0;
  }

  // Back to the first packet of the file.
  void seekToStart(const FrameIndex& index) {
    if (!index.startsWithKeyframe) {
      // Containers seek to keyframes (Matroska's cues list nothing else): the packets before the
      // first keyframe are reached only by reading the file again from its start.
      reopen();
      return;
    }
    int64_t first = index.minDts != AV_NOPTS_VALUE ? index.minDts : index.frames.front().pts;
    if (avformat_seek_file(fmt_, streamIndex_, INT64_MIN, first, first, 0) >= 0) return;
    if (av_seek_frame(fmt_, streamIndex_, first, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY) >= 0) return;
    if (av_seek_frame(fmt_, -1, 0, AVSEEK_FLAG_BYTE) >= 0) return;
    throw Error("TVL_IO_ERROR", "cannot seek back to the start of '" + path_ + "'");
  }

  // Next packet of the video stream; false at end of file. Read errors end the stream (the frames
  // they cut off are then reported missing by whoever wanted them).
  bool readPacket(AVPacket* pkt) {
    for (;;) {
      int err = av_read_frame(fmt_, pkt);
      if (err == AVERROR_EXIT) throw Error("TVL_ABORTED", "the operation was aborted");
      if (err < 0) return false;
      if (pkt->stream_index == streamIndex_) return true;
      av_packet_unref(pkt);
    }
  }

 private:
  std::string describeStreams() const {
    std::string s;
    for (unsigned i = 0; i < fmt_->nb_streams; i++) {
      if (!s.empty()) s += ", ";
      s += av_get_media_type_string(fmt_->streams[i]->codecpar->codec_type) ?: "unknown";
    }
    return s.empty() ? "none" : s;
  }

  std::string path_;
  AVFormatContext* fmt_ = nullptr;
  AVStream* stream_ = nullptr;
  int streamIndex_ = -1;
  CancelToken cancel_;
};

// Points a demuxer's interrupt callback at a call's cancel cells while the call runs. The cells
// are the caller's (JavaScript's is pinned only for its call, a parallel plan's stop lives on its
// stack), so the demuxer must not keep pointing at them once the call is over: it points back at
// what it pointed at before (nothing, or the cells of the call around a nested scope).
class CancelScope {
 public:
  CancelScope(Demuxer& demuxer, CancelToken token) : demuxer_(demuxer), previous_(demuxer.cancel()) {
    demuxer_.setCancel(token);
  }
  ~CancelScope() { demuxer_.setCancel(previous_); }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  Demuxer& demuxer_;
  const CancelToken previous_;
};

}  // namespace tvl
