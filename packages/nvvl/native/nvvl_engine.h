// @tvl/nvvl's engine for tvl::PlanExecutor: FFmpeg decodes (its NVDEC hwaccel on a CUDA device,
// frames staying on the GPU; or software decoding for the CPU path), and the shared frame kernel
// (tvl/gpu/frame_kernel.h) does colour conversion with the stream's matrix and range plus the
// call's fused processing (resize, crop, flip, normalise, RGB or YCbCr, dtype, layout) in one
// pass over the decoded picture: as a CUDA kernel on the GPU, as its CPU twin on the CPU.
#pragma once
#include <memory>
#include <new>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libswscale/swscale.h>
}
#include <ffnvcodec/dynlink_cuda.h>
extern "C" {
#include <libavutil/hwcontext_cuda.h>
}

#include "tvl/colour.h"
#include "tvl/error.h"
#include "tvl/gpu/convert_params.h"
#include "tvl/gpu/cuda_api.h"
#include "tvl/gpu/host_copy.h"
#include "tvl/gpu/nvcuvid_api.h"
#include "tvl/libav_decoder.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

// FFmpeg's NVDEC hwaccel never asks NVDEC whether a picture decoded cleanly (FFmpeg 5.1 does not
// call cuvidGetDecodeStatus), and with the hwaccel FFmpeg's own error detection never reads the
// slice data: a damaged picture would come back as a silent wrong frame. So the engine asks
// NVDEC itself, for the decoder and surface of the picture FFmpeg mapped. FFmpeg keeps them in
// the frame's second buffer (libavcodec/nvdec.c: NVDECFrame, whose decoder_ref holds an
// NVDECDecoder); those structs are private to FFmpeg, so their mirrors here are trusted only when
// the buffers have their sizes and the buffer is the one that unmaps the frame's first plane.
namespace ffmpeg_nvdec {
struct Frame {
  unsigned idx, refIdx;
  AVBufferRef *idxRef, *refIdxRef, *decoderRef;
};
struct Decoder {
  CUvideodecoder decoder;
  AVBufferRef *hwDeviceRef, *realHwFramesRef;
  CUcontext context;
  CUstream stream;
  void *cudaFunctions, *cuvidFunctions;
};

// Whether NVDEC reports `f` (a frame FFmpeg's hwaccel returned) decoded with errors.
inline bool pictureDamaged(const AVFrame* f) {
  const AVBufferRef* mapped = f->buf[1];
  const Frame* frame = mapped ? reinterpret_cast<const Frame*>(mapped->data) : nullptr;
  if (!frame || mapped->size != sizeof(Frame) || av_buffer_get_opaque(mapped) != static_cast<void*>(f->data[0]) ||
      !frame->decoderRef || frame->decoderRef->size != sizeof(Decoder)) {
    throw Error("TVL_INTERNAL",
                "cannot ask NVDEC whether a picture decoded cleanly: this FFmpeg (" LIBAVCODEC_IDENT
                ") keeps its NVDEC pictures differently from FFmpeg 5.1, which @tvl/nvvl was written for");
  }
  const CUvideodecoder decoder = reinterpret_cast<const Decoder*>(frame->decoderRef->data)->decoder;
  CUVIDGETDECODESTATUS status{};
  // As in @tvl/nvdec: a driver that cannot tell for this codec (an error from the query) is
  // taken at its word that nothing went wrong.
  return nvcuvid().cuvidGetDecodeStatus(decoder, int(frame->idx), &status) == CUDA_SUCCESS &&
         (status.decodeStatus == cuvidDecodeStatus_Error || status.decodeStatus == cuvidDecodeStatus_Error_Concealed);
}
}  // namespace ffmpeg_nvdec

// The GPU half: one device, FFmpeg's CUDA device on its primary context, the frame converter.
class NvvlGpu {
 public:
  NvvlGpu(int ordinal, const char* ptx) : device_(ordinal) {
    nvcuvid();  // the driver's video decoder library, for FFmpeg and for the decode status: there, or
                // TVL_NO_CUDA_DEVICE
    // FFmpeg decodes in our context (the device's primary one, where the kernel runs), handed to
    // it rather than asked for with AV_CUDA_USE_PRIMARY_CONTEXT: FFmpeg 5.1 refuses a primary
    // context already active with flags other than its own, which ours (or tfjs-node-gpu's) may
    // be. A context given this way is never released by FFmpeg; device_ outlives hwDevice_.
    hwDevice_ = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_CUDA);
    if (!hwDevice_) throw std::bad_alloc();
    auto* cudaDevice = static_cast<AVCUDADeviceContext*>(reinterpret_cast<AVHWDeviceContext*>(hwDevice_->data)->hwctx);
    cudaDevice->cuda_ctx = device_.context();
    cudaDevice->stream = nullptr;  // FFmpeg's copies on the legacy default stream (see HostCopier)
    int err = av_hwdevice_ctx_init(hwDevice_);
    if (err < 0) {
      av_buffer_unref(&hwDevice_);
      throw Error("TVL_NO_CUDA_DEVICE", "FFmpeg cannot use CUDA device cuda:" + std::to_string(ordinal) + " (" +
                                            avErrorString(err) + "). " + gpu::kNoDriverAdvice);
    }
    gpu::ContextScope scope(device_.context());
    converter_ = std::make_unique<gpu::FrameConverter>(ptx);
  }
  ~NvvlGpu() {
    {
      gpu::ContextScope scope(device_.context());
      converter_.reset();
    }
    av_buffer_unref(&hwDevice_);
  }
  NvvlGpu(const NvvlGpu&) = delete;
  NvvlGpu& operator=(const NvvlGpu&) = delete;

  AVBufferRef* hwDevice() const { return hwDevice_; }
  CUcontext context() const { return device_.context(); }
  gpu::FrameConverter& converter() { return *converter_; }

 private:
  gpu::CudaDevice device_;
  AVBufferRef* hwDevice_ = nullptr;
  std::unique_ptr<gpu::FrameConverter> converter_;
};

class NvvlEngine {
 public:
  // gpu: null for the CPU path. emulateNvdecSurface (CPU path only): hand the kernel's CPU twin
  // the picture as NVDEC lays it out (NV12, or P016 above 8 bits) rather than FFmpeg's planar one,
  // so the GPU's sampling code is what tests check here.
  NvvlEngine(AVStream* stream, NvvlGpu* gpu, int threads, const ColourSpec& colour, int rotation,
             bool emulateNvdecSurface)
      : gpu_(gpu),
        decoder_(stream, threads, gpu ? gpu->hwDevice() : nullptr),
        colour_(colour),
        rotation_(rotation),
        emulate_(emulateNvdecSurface && !gpu) {}
  ~NvvlEngine() {
    sws_freeContext(sws_);
    av_frame_free(&emulated_);
  }
  NvvlEngine(const NvvlEngine&) = delete;
  NvvlEngine& operator=(const NvvlEngine&) = delete;

  void flush() { decoder_.flush(); }
  int send(const AVPacket* pkt) { return decoder_.send(pkt); }
  int receive(FrameInfo& info) {
    const int r = decoder_.receive(info);
    if (r == 0 && decoder_.frame()->format == AV_PIX_FMT_CUDA)
      info.corrupt = info.corrupt || ffmpeg_nvdec::pictureDamaged(decoder_.frame());
    return r;
  }
  const std::string& codecName() const { return decoder_.codecName(); }

  // Processing for the frames of the current call.
  void setProcessing(const gpu::Processing& p) { processing_ = p; }

  void deliver(void* dst, const OutputSpec& out) {
    const AVFrame* f = decoder_.frame();
    int bitDepth = 8;
    if (f->format == AV_PIX_FMT_CUDA) {
      const auto* frames = reinterpret_cast<const AVHWFramesContext*>(f->hw_frames_ctx->data);
      const gpu::YuvSurface s = gpu::surfaceOf(frames->sw_format, f->data, f->linesize, f->width, f->height, bitDepth);
      // FFmpeg may reuse the frame's surface once we let go of it: convert returns when read.
      gpu_->converter().convert(s, gpu::makeConvertParams(colour_, bitDepth, rotation_, out, processing_), dst,
                                out.bytes());
      return;
    }
    if (gpu_) {
      // Never a silent CPU conversion on a GPU loader.
      throw Error("TVL_UNSUPPORTED_CODEC", std::string("the ") + decoder_.codecName() +
                                               " decoder returned a frame in system memory instead of on the GPU");
    }
    const AVFrame* src = emulate_ ? asNvdecSurface(f) : f;
    const gpu::YuvSurface s =
        gpu::surfaceOf(AVPixelFormat(src->format), src->data, src->linesize, src->width, src->height, bitDepth);
    gpu::convertFrameOnCpu(s, gpu::makeConvertParams(colour_, bitDepth, rotation_, out, processing_), dst);
  }

  void finishPlan(bool ok) {
    if (gpu_) gpu_->converter().finishPlan(ok);
  }

 private:
  // The frame as NV12 (8-bit) or P016 (deeper), the layouts NVDEC writes: an exact repacking.
  const AVFrame* asNvdecSurface(const AVFrame* f) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(AVPixelFormat(f->format));
    if (!d || d->log2_chroma_w != 1 || d->log2_chroma_h != 1) return f;  // NVDEC's 4:4:4 surfaces are planar too
    const AVPixelFormat target = d->comp[0].depth > 8 ? AV_PIX_FMT_P016LE : AV_PIX_FMT_NV12;
    if (!emulated_ || emulated_->width != f->width || emulated_->height != f->height || emulated_->format != target) {
      av_frame_free(&emulated_);
      emulated_ = av_frame_alloc();
      emulated_->width = f->width;
      emulated_->height = f->height;
      emulated_->format = target;
      if (av_frame_get_buffer(emulated_, 0) < 0) throw std::bad_alloc();
      sws_freeContext(sws_);
      // The plain format for the full-range "J" ones, so swscale repacks without converting range.
      const AVPixelFormat from =
          AVPixelFormat(f->format) == AV_PIX_FMT_YUVJ420P ? AV_PIX_FMT_YUV420P : AVPixelFormat(f->format);
      sws_ =
          sws_getContext(f->width, f->height, from, f->width, f->height, target, SWS_POINT, nullptr, nullptr, nullptr);
      if (!sws_) throw Error("TVL_INTERNAL", "cannot repack the frame as an NVDEC surface");
    }
    sws_scale(sws_, f->data, f->linesize, 0, f->height, emulated_->data, emulated_->linesize);
    return emulated_;
  }

  NvvlGpu* gpu_;
  LibavDecoder decoder_;
  ColourSpec colour_;
  int rotation_;
  bool emulate_;
  gpu::Processing processing_;
  SwsContext* sws_ = nullptr;
  AVFrame* emulated_ = nullptr;
};

}  // namespace tvl
