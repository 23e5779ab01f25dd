// The CPU decoding engine: libavcodec with frame threading (tvl/libav_decoder.h), and libswscale doing colour
// conversion (with the stream's matrix and range) and resizing in one call per frame, on threads of its own.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "tvl/colour.h"
#include "tvl/demuxer.h"
#include "tvl/error.h"
#include "tvl/libav_decoder.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"
#include "tvl/recent_frames.h"

namespace tvl {

// Converts decoded frames to the caller's RGB output: libswscale (the stream's matrix and range,
// and the resize) into RGB24, then output.h writes the dtype, layout and rotation. One per thread.
class FrameConverter {
 public:
  explicit FrameConverter(int rotation) : rotation_(rotation) {}
  ~FrameConverter() {
    sws_freeContext(sws_);
    av_freep(&scratch_);
  }
  FrameConverter(const FrameConverter&) = delete;
  FrameConverter& operator=(const FrameConverter&) = delete;

  void convert(const AVFrame* f, void* dst, const OutputSpec& out) {
    // swscale produces the pre-rotation size; output.h rotates while writing the dtype.
    const bool swap = rotationSwapsAxes(rotation_);
    const int w = swap ? out.height : out.width;
    const int h = swap ? out.width : out.height;
    prepareScaler(f, w, h);
    uint8_t* planes[4] = {nullptr};
    int strides[4] = {0};
    if (outputIsPlainRgb24(out, rotation_)) {
      planes[0] = static_cast<uint8_t*>(dst);
      strides[0] = w * 3;
      sws_scale(sws_, f->data, f->linesize, 0, f->height, planes, strides);
      return;
    }
    const int stride = FFALIGN(w * 3, 64);
    const size_t need = size_t(stride) * h;
    if (scratchSize_ < need) {
      av_freep(&scratch_);
      scratch_ = static_cast<uint8_t*>(av_malloc(need));
      if (!scratch_) throw std::bad_alloc();
      scratchSize_ = need;
    }
    planes[0] = scratch_;
    strides[0] = stride;
    sws_scale(sws_, f->data, f->linesize, 0, f->height, planes, strides);
    writeFrame(scratch_, stride, w, h, rotation_, out, dst);
  }

 private:
  void prepareScaler(const AVFrame* f, int dstW, int dstH) {
    AVPixelFormat fmt = AVPixelFormat(f->format);
    if (sws_ && srcW_ == f->width && srcH_ == f->height && srcFmt_ == fmt && dstW_ == dstW && dstH_ == dstH &&
        space_ == f->colorspace && range_ == f->color_range)
      return;
    sws_freeContext(sws_);
    sws_ = nullptr;
    ColourSpec c = resolveColour(f->colorspace, f->color_range, fmt, f->width, f->height);
    // swscale warns on the deprecated full-range "J" formats; use the plain format + full range.
    AVPixelFormat swsFmt = fmt;
    switch (fmt) {
      case AV_PIX_FMT_YUVJ420P:
        swsFmt = AV_PIX_FMT_YUV420P;
        break;
      case AV_PIX_FMT_YUVJ422P:
        swsFmt = AV_PIX_FMT_YUV422P;
        break;
      case AV_PIX_FMT_YUVJ444P:
        swsFmt = AV_PIX_FMT_YUV444P;
        break;
      case AV_PIX_FMT_YUVJ440P:
        swsFmt = AV_PIX_FMT_YUV440P;
        break;
      default:
        break;
    }
    // Bicubic, like the ffmpeg CLI's default scaler.
    sws_ = sws_getContext(f->width, f->height, swsFmt, dstW, dstH, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr,
                          nullptr);
    if (!sws_) {
      throw Error("TVL_UNSUPPORTED_CODEC",
                  std::string("cannot convert pixel format '") + (av_get_pix_fmt_name(fmt) ?: "?") + "' to RGB");
    }
    int swsSpace = c.matrix == Matrix::BT709    ? SWS_CS_ITU709
                   : c.matrix == Matrix::BT2020 ? SWS_CS_BT2020
                                                : SWS_CS_ITU601;
    sws_setColorspaceDetails(sws_, sws_getCoefficients(swsSpace), c.range == Range::Full ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    srcW_ = f->width;
    srcH_ = f->height;
    srcFmt_ = fmt;
    dstW_ = dstW;
    dstH_ = dstH;
    space_ = f->colorspace;
    range_ = f->color_range;
  }

  SwsContext* sws_ = nullptr;
  int rotation_ = 0;
  int srcW_ = 0, srcH_ = 0, dstW_ = 0, dstH_ = 0;
  AVPixelFormat srcFmt_ = AV_PIX_FMT_NONE;
  AVColorSpace space_ = AVCOL_SPC_UNSPECIFIED;
  AVColorRange range_ = AVCOL_RANGE_UNSPECIFIED;
  uint8_t* scratch_ = nullptr;
  size_t scratchSize_ = 0;
};

// Converts frames on threads of its own while the decoder goes on: the thread that feeds the
// decoder hands each wanted frame over (a reference, not a copy) and moves to the next packet,
// so the decoder's threads never wait for a conversion (float32 output writes 4 bytes a sample).
// A plan ends only when every frame it handed over is written (finish): the caller's buffers
// belong to it only until then. Bounded: at most 2 frames per thread wait.
class ConversionPool {
 public:
  ConversionPool(int threads, int rotation) : rotation_(rotation), size_(std::max(1, threads)) {}
  ~ConversionPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    for (Job& j : queue_) av_frame_free(&j.frame);
  }
  ConversionPool(const ConversionPool&) = delete;
  ConversionPool& operator=(const ConversionPool&) = delete;

  // Queues a conversion of `f` (referenced, so the decoder may reuse its own frame at once).
  void submit(const AVFrame* f, void* dst, const OutputSpec& out) {
    AVFrame* ref = av_frame_clone(f);
    if (!ref) throw std::bad_alloc();
    std::unique_lock<std::mutex> lock(mu_);
    if (threads_.empty()) {
      for (int i = 0; i < size_; i++) threads_.emplace_back([this] { work(); });
    }
    room_.wait(lock, [this] { return queue_.size() < size_t(2 * size_); });
    queue_.push_back({ref, dst, out});
    lock.unlock();
    wake_.notify_one();
  }

  // Waits until every queued frame is written; then throws the first conversion error, if any
  // and `rethrow`. After a decoding error the plan fails anyway: its frames are still waited for.
  void finish(bool rethrow) {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
    std::exception_ptr error = std::move(error_);
    error_ = nullptr;
    lock.unlock();
    if (error && rethrow) std::rethrow_exception(error);
  }

 private:
  struct Job {
    AVFrame* frame;
    void* dst;
    OutputSpec out;
  };

  void work() {
    FrameConverter converter(rotation_);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Job job = queue_.front();
      queue_.pop_front();
      busy_++;
      const bool skip = error_ != nullptr;  // the plan fails: no need to write more of it
      lock.unlock();
      room_.notify_one();
      std::exception_ptr error;
      if (!skip) {
        try {
          converter.convert(job.frame, job.dst, job.out);
        } catch (...) {
          error = std::current_exception();
        }
      }
      av_frame_free(&job.frame);
      lock.lock();
      if (error && !error_) error_ = error;
      busy_--;
      if (queue_.empty() && busy_ == 0) idle_.notify_all();
    }
  }

  const int rotation_;
  const int size_;
  std::mutex mu_;
  std::condition_variable wake_, room_, idle_;
  std::deque<Job> queue_;
  int busy_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;  // started by the first frame handed over
};

// The CPU decoding engine: libavcodec with frame threading (tvl/libav_decoder.h), frames
// converted by a ConversionPool.
class LibavEngine {
 public:
  // conversionThreads: threads converting frames alongside the decoder's own. skipUnreferenced:
  // see LibavDecoder. cacheFrames: decoded frames remembered for later plans (RecentFrames; 0: none),
  // within kFrameCacheBytes.
  LibavEngine(AVStream* stream, int threads, int rotation, int conversionThreads, bool skipUnreferenced,
              int cacheFrames = 0)
      : decoder_(stream, threads, nullptr, skipUnreferenced),
        pool_(conversionThreads, rotation),
        recent_(size_t(std::max(0, cacheFrames)), kFrameCacheBytes) {}

  // The most memory the decoded-frame cache of one video holds (a 1080p 4:2:0 picture is 3 MiB).
  static constexpr size_t kFrameCacheBytes = size_t(64) << 20;

  void flush() { decoder_.flush(); }
  void skipUnreferenced(bool skip) { decoder_.skipUnreferenced(skip); }
  int send(const AVPacket* pkt) { return decoder_.send(pkt); }
  int receive(FrameInfo& info) { return decoder_.receive(info); }
  void deliver(void* dst, const OutputSpec& out) { pool_.submit(decoder_.frame(), dst, out); }
  void remember(int64_t index) { recent_.remember(index, decoder_.frame()); }
  bool deliverRemembered(int64_t index, void* dst, const OutputSpec& out) {
    const AVFrame* f = recent_.find(index);
    if (f) pool_.submit(f, dst, out);
    return f != nullptr;
  }
  std::vector<int64_t> remembered() const { return recent_.indices(); }
  // After a plan (see DemuxedSession::executeAndFinish): every frame delivered is written.
  void finishPlan(bool ok) { pool_.finish(ok); }

  const std::string& codecName() const { return decoder_.codecName(); }
  int seekCost() const { return decoder_.seekCost(); }

 private:
  LibavDecoder decoder_;
  ConversionPool pool_;
  RecentFrames recent_;
};

}  // namespace tvl
