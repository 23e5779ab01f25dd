// The CPU decoding engine: libavcodec with frame threading, and libswscale doing colour
// conversion (with the stream's matrix and range) and resizing in one call per frame.
#pragma once
#include <algorithm>
#include <string>
#include <thread>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "tvl/colour.h"
#include "tvl/demuxer.h"
#include "tvl/error.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

class LibavEngine {
 public:
  LibavEngine(AVStream* stream, int threads, int rotation) : rotation_(rotation) {
    const AVCodecParameters* par = stream->codecpar;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
      throw Error("TVL_UNSUPPORTED_CODEC", std::string("no decoder for codec '") + avcodec_get_name(par->codec_id) +
                                               "' in this FFmpeg build");
    }
    ctx_ = avcodec_alloc_context3(codec);
    if (!ctx_ || avcodec_parameters_to_context(ctx_, par) < 0) throw Error("TVL_INTERNAL", "cannot set up the decoder");
    ctx_->pkt_timebase = stream->time_base;
    int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    ctx_->thread_count = std::min(n, 16);
    ctx_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    // Report damaged data as errors rather than concealing it: a concealed frame is a wrong frame.
    ctx_->err_recognition |= AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_EXPLODE;
    int err = avcodec_open2(ctx_, codec, nullptr);
    if (err < 0) {
      throw Error("TVL_UNSUPPORTED_CODEC", std::string("cannot open the ") + codec->name + " decoder (" +
                                               avErrorString(err) + ")");
    }
    frame_ = av_frame_alloc();
    codecName_ = codec->name;
  }

  ~LibavEngine() {
    sws_freeContext(sws_);
    av_frame_free(&frame_);
    avcodec_free_context(&ctx_);
    av_freep(&scratch_);
  }
  LibavEngine(const LibavEngine&) = delete;
  LibavEngine& operator=(const LibavEngine&) = delete;

  void flush() { avcodec_flush_buffers(ctx_); }
  int send(const AVPacket* pkt) { return avcodec_send_packet(ctx_, pkt); }

  int receive(FrameInfo& info) {
    int r = avcodec_receive_frame(ctx_, frame_);
    if (r < 0) return r;
    info.pts = frame_->pts != AV_NOPTS_VALUE ? frame_->pts : frame_->best_effort_timestamp;
    info.keyframe = frame_->key_frame != 0;
    info.corrupt = (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame_->decode_error_flags != 0;
    return 0;
  }

  void deliver(void* dst, const OutputSpec& out) {
    // swscale produces the pre-rotation size; output.h rotates while writing the dtype.
    const bool swap = rotationSwapsAxes(rotation_);
    const int w = swap ? out.height : out.width;
    const int h = swap ? out.width : out.height;
    prepareScaler(w, h);
    uint8_t* planes[4] = {nullptr};
    int strides[4] = {0};
    if (outputIsPlainRgb24(out, rotation_)) {
      planes[0] = static_cast<uint8_t*>(dst);
      strides[0] = w * 3;
      sws_scale(sws_, frame_->data, frame_->linesize, 0, frame_->height, planes, strides);
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
    sws_scale(sws_, frame_->data, frame_->linesize, 0, frame_->height, planes, strides);
    writeFrame(scratch_, stride, w, h, rotation_, out, dst);
  }

  const std::string& codecName() const { return codecName_; }

 private:
  void prepareScaler(int dstW, int dstH) {
    AVPixelFormat fmt = AVPixelFormat(frame_->format);
    if (sws_ && srcW_ == frame_->width && srcH_ == frame_->height && srcFmt_ == fmt && dstW_ == dstW &&
        dstH_ == dstH && space_ == frame_->colorspace && range_ == frame_->color_range)
      return;
    sws_freeContext(sws_);
    ColourSpec c = resolveColour(frame_->colorspace, frame_->color_range, fmt, frame_->width, frame_->height);
    // swscale warns on the deprecated full-range "J" formats; use the plain format + full range.
    AVPixelFormat swsFmt = fmt;
    switch (fmt) {
      case AV_PIX_FMT_YUVJ420P: swsFmt = AV_PIX_FMT_YUV420P; break;
      case AV_PIX_FMT_YUVJ422P: swsFmt = AV_PIX_FMT_YUV422P; break;
      case AV_PIX_FMT_YUVJ444P: swsFmt = AV_PIX_FMT_YUV444P; break;
      case AV_PIX_FMT_YUVJ440P: swsFmt = AV_PIX_FMT_YUV440P; break;
      default: break;
    }
    // Bicubic, like the ffmpeg CLI's default scaler.
    sws_ = sws_getContext(frame_->width, frame_->height, swsFmt, dstW, dstH, AV_PIX_FMT_RGB24, SWS_BICUBIC,
                          nullptr, nullptr, nullptr);
    if (!sws_) {
      throw Error("TVL_UNSUPPORTED_CODEC", std::string("cannot convert pixel format '") +
                                               (av_get_pix_fmt_name(fmt) ?: "?") + "' to RGB");
    }
    int swsSpace = c.matrix == Matrix::BT709 ? SWS_CS_ITU709 : c.matrix == Matrix::BT2020 ? SWS_CS_BT2020 : SWS_CS_ITU601;
    sws_setColorspaceDetails(sws_, sws_getCoefficients(swsSpace), c.range == Range::Full ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    srcW_ = frame_->width;
    srcH_ = frame_->height;
    srcFmt_ = fmt;
    dstW_ = dstW;
    dstH_ = dstH;
    space_ = frame_->colorspace;
    range_ = frame_->color_range;
  }

  AVCodecContext* ctx_ = nullptr;
  AVFrame* frame_ = nullptr;
  SwsContext* sws_ = nullptr;
  int rotation_ = 0;
  int srcW_ = 0, srcH_ = 0, dstW_ = 0, dstH_ = 0;
  AVPixelFormat srcFmt_ = AV_PIX_FMT_NONE;
  AVColorSpace space_ = AVCOL_SPC_UNSPECIFIED;
  AVColorRange range_ = AVCOL_RANGE_UNSPECIFIED;
  uint8_t* scratch_ = nullptr;
  size_t scratchSize_ = 0;
  std::string codecName_;
};

}  // namespace tvl
