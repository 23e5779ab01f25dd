// The decoded-frame cache: the last frames a decoder presented, kept as references to its decoded
// pictures (no copy), so that a later plan can take a frame it decoded a moment ago (asked for
// again, or passed on the way to another) without seeking back and decoding its GOP again. Core
// plans from what it holds (DecodeStats.cached, reported after every plan): a run that starts
// kFromCache. Bounded twice: at most `maxFrames` pictures and `maxBytes` of their memory, the
// oldest remembered dropped first. Software frames only: holding a hardware surface would starve
// the decoder's own pool.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <new>
#include <utility>
#include <vector>

extern "C" {
#include <libavutil/frame.h>
}

namespace tvl {

class RecentFrames {
 public:
  RecentFrames(size_t maxFrames, size_t maxBytes) : maxFrames_(maxFrames), maxBytes_(maxBytes) {}
  ~RecentFrames() { clear(); }
  RecentFrames(const RecentFrames&) = delete;
  RecentFrames& operator=(const RecentFrames&) = delete;

  // Keeps a reference to `f` as frame `index`, unless one is kept already: a damaged file can
  // present two pictures as one frame, and the frame is the first the decoder presented.
  void remember(int64_t index, const AVFrame* f) {
    if (maxFrames_ == 0 || f->hw_frames_ctx || find(index)) return;
    const size_t bytes = sizeOf(f);
    if (bytes > maxBytes_) return;
    AVFrame* ref = av_frame_clone(f);
    if (!ref) throw std::bad_alloc();
    frames_.push_back({index, ref, bytes});
    bytes_ += bytes;
    while (frames_.size() > maxFrames_ || bytes_ > maxBytes_) dropOldest();
  }

  // The frame kept as `index`, or null.
  const AVFrame* find(int64_t index) const {
    for (const Entry& e : frames_)
      if (e.index == index) return e.frame;
    return nullptr;
  }

  // The indices kept, ascending.
  std::vector<int64_t> indices() const {
    std::vector<int64_t> out;
    out.reserve(frames_.size());
    for (const Entry& e : frames_) out.push_back(e.index);
    std::sort(out.begin(), out.end());
    return out;
  }

  void clear() {
    while (!frames_.empty()) dropOldest();
  }

 private:
  struct Entry {
    int64_t index;
    AVFrame* frame;
    size_t bytes;
  };

  static size_t sizeOf(const AVFrame* f) {
    size_t bytes = 0;
    for (int i = 0; i < AV_NUM_DATA_POINTERS && f->buf[i]; i++) bytes += f->buf[i]->size;
    return bytes;
  }

  void dropOldest() {
    bytes_ -= frames_.front().bytes;
    av_frame_free(&frames_.front().frame);
    frames_.pop_front();
  }

  const size_t maxFrames_;
  const size_t maxBytes_;
  std::deque<Entry> frames_;  // oldest remembered first
  size_t bytes_ = 0;
};

}  // namespace tvl
