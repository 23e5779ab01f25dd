// The CPU decoding engine: libavcodec with frame threading (tvl/libav_decoder.h), and libswscale doing colour
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
#include "tvl/libav_decoder.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

class LibavEngine {
 public:
  LibavEngine(AVStream* stream, int threads, int rotation) : decoder_(stream, threads), rotation_(rotation) {}

  ~LibavEngine() {
    sws_freeContext(sws_);
    av_freep(&scratch_);
  }
  LibavEngine(const LibavEngine&) = delete;
  LibavEngine& operator=(const LibavEngine&) = delete;

  void flush() { decoder_.flush(); }
  int send(const AVPacket* pkt) { return decoder_.send(pkt); }
  int receive(FrameInfo& info) { return decoder_.receive(info); }

  void deliver(void* dst, const OutputSpec& out) {
    const AVFrame* f = decoder_.frame();
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

  const std::string& codecName() const { return decoder_.codecName(); }

 private:
  void prepareScaler(int dstW, int dstH) {
    const AVFrame* f = decoder_.frame();
    AVPixelFormat fmt = AVPixelFormat(f->format);
    if (sws_ && srcW_ == f->width && srcH_ == f->height && srcFmt_ == fmt && dstW_ == dstW && dstH_ == dstH &&
        space_ == f->colorspace && range_ == f->color_range)
      return;
    sws_freeContext(sws_);
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

  LibavDecoder decoder_;
  SwsContext* sws_ = nullptr;
  int rotation_ = 0;
  int srcW_ = 0, srcH_ = 0, dstW_ = 0, dstH_ = 0;
  AVPixelFormat srcFmt_ = AV_PIX_FMT_NONE;
  AVColorSpace space_ = AVCOL_SPC_UNSPECIFIED;
  AVColorRange range_ = AVCOL_RANGE_UNSPECIFIED;
  uint8_t* scratch_ = nullptr;
  size_t scratchSize_ = 0;
};

}  // namespace tvl
