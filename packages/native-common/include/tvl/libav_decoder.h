// libavcodec as the decoding half of a PlanExecutor engine, shared by @tvl/libav (software
// frames, converted by swscale) and @tvl/nvvl (frames decoded by FFmpeg's NVDEC hwaccel and kept
// on the GPU, or software frames for its CPU path). Damage is reported, never concealed: a
// concealed frame is a wrong frame.
#pragma once
#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
}

#include "tvl/ffmpeg_log.h"
#include "tvl/error.h"
#include "tvl/plan_executor.h"

namespace tvl {

// The cores a `threads` option stands for: itself when positive, else the machine's.
inline int coresFor(int threads) {
  return threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
}

class LibavDecoder {
 public:
  // threads: 0 = one per core (capped at 16). hwDevice: an AV_HWDEVICE_TYPE_CUDA device to decode
  // on (frames come back as AV_PIX_FMT_CUDA), or nullptr for software decoding. allowSkipping: see
  // skipUnreferenced.
  LibavDecoder(AVStream* stream, int threads, AVBufferRef* hwDevice = nullptr, bool allowSkipping = false) {
    const AVCodecParameters* par = stream->codecpar;
    const AVCodec* codec = hwDevice ? findCudaDecoder(par->codec_id) : avcodec_find_decoder(par->codec_id);
    if (!codec && hwDevice) {
      throw Error("TVL_UNSUPPORTED_CODEC", std::string("FFmpeg has no NVDEC-accelerated decoder for '") +
                                               avcodec_get_name(par->codec_id) +
                                               "'. Open with fallback: 'cpu' to decode it on the CPU");
    }
    if (!codec) {
      throw Error("TVL_UNSUPPORTED_CODEC",
                  std::string("no decoder for codec '") + avcodec_get_name(par->codec_id) + "' in this FFmpeg build");
    }
    ctx_ = avcodec_alloc_context3(codec);
    try {
      if (!ctx_ || avcodec_parameters_to_context(ctx_, par) < 0)
        throw Error("TVL_INTERNAL", "cannot set up the decoder");
      ctx_->pkt_timebase = stream->time_base;
      ctx_->err_recognition |= AV_EF_CRCCHECK | AV_EF_BITSTREAM;
      ctx_->opaque = &errorLog_;
      if (hwDevice) {
        // The hwaccel decodes whole frames on the GPU: one thread feeds it. No silent software
        // fallback: a stream the hwaccel refuses is an error (see pickHardwareFormat).
        ctx_->hw_device_ctx = av_buffer_ref(hwDevice);
        ctx_->get_format = &LibavDecoder::pickHardwareFormat;
        ctx_->thread_count = 1;
      } else {
        ctx_->thread_count = std::min(coresFor(threads), 16);
        ctx_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
        // An intra-only picture must be written whole by its own packet. Damage can make the
        // decoder skip the writing without a word (an MJPEG scan cut short by a stray marker), and
        // the picture then shows what its recycled buffer held: another frame. Cleared buffers
        // make such a picture blank instead, never a clean copy of another frame. (Cheap: these
        // codecs decode far slower than a memset.)
        const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
        if (desc && (desc->props & AV_CODEC_PROP_INTRA_ONLY)) ctx_->get_buffer2 = &LibavDecoder::clearedBuffer;
      }
      // Never AV_EF_EXPLODE (give up on a packet at its first error). With frame threading it
      // reaches an assertion in FFmpeg 5.1 (`frame->buf[0]` in decode.c: SIGABRT, the whole
      // process dies) on damaged MPEG-4 part 2, and nothing rules it out for other codecs. And a
      // picture it throws away is a picture the decoder no longer presents: every later frame
      // would be numbered differently from the ffmpeg CLI's, and from the frame index (which is
      // proven by decoding without it). Damage is known from the decoder's error log
      // (DecodeErrorLog) and the frames' error flags instead; and since a damaged picture is no
      // longer refused when its packet is sent, damage reported for a packet a picture may
      // reference marks it too (FrameInfo::referencesDamage): B-frames shown before a damaged
      // P-frame reference it but come out first.
      int err = avcodec_open2(ctx_, codec, nullptr);
      if (err < 0) {
        throw Error("TVL_UNSUPPORTED_CODEC",
                    std::string("cannot open the ") + codec->name + " decoder (" + avErrorString(err) + ")");
      }
    } catch (...) {
      avcodec_free_context(&ctx_);  // the destructor does not run when the constructor throws
      throw;
    }
    frame_ = av_frame_alloc();
    codecName_ = codec->name;
    // H.264 and HEVC mark the pictures nothing references (nal_ref_idc 0, sub-layer non-reference
    // NAL types), so the decoder can drop them without touching any other picture. Other codecs'
    // "non-reference" skipping is judged from the picture type (MPEG-4 part 2's packed B-frames
    // share packets with P-frames), so they are decoded whole. Only when asked: a damaged reference
    // picture that claims to be unreferenced is then dropped unseen, and the decoder conceals its
    // absence in later frames without a word (the fuzzer found two such files in 2,000).
    canSkip_ = allowSkipping && !hwDevice && (par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC);
  }

  ~LibavDecoder() {
    av_frame_free(&frame_);
    avcodec_free_context(&ctx_);
  }
  LibavDecoder(const LibavDecoder&) = delete;
  LibavDecoder& operator=(const LibavDecoder&) = delete;

  void flush() {
    avcodec_flush_buffers(ctx_);
    errorLog_.clear();
  }

  // Before send: let the decoder drop the next packet's picture if it is unreferenced. (Frame
  // threads copy skip_frame from this context when the packet is submitted, so it holds per packet.)
  void skipUnreferenced(bool skip) { ctx_->skip_frame = skip && canSkip_ ? AVDISCARD_NONREF : AVDISCARD_DEFAULT; }

  int send(const AVPacket* pkt) {
    // (If the decoder still holds the previous packet, that one is decoded with this serial too:
    // two packets then share a serial, and an error in either marks both. Cautious, never lax.)
    errorLog_.stamp(ctx_, pkt && (pkt->flags & AV_PKT_FLAG_KEY));
    int r = avcodec_send_packet(ctx_, pkt);
    throwIfHardwareRefused();
    return r;
  }

  int receive(FrameInfo& info) {
    int r = avcodec_receive_frame(ctx_, frame_);
    throwIfHardwareRefused();
    if (r < 0) return r;
    info.pts = frame_->pts != AV_NOPTS_VALUE ? frame_->pts : frame_->best_effort_timestamp;
    info.pos = frame_->pkt_pos;
    info.referencesDamage = errorLog_.referencesDamage(frame_);
    info.keyframe = frame_->key_frame != 0;
    info.corrupt =
        (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame_->decode_error_flags != 0 || errorLog_.damaged(frame_);
    return 0;
  }

  // What a seek costs, in frames decoded, for core's planner: after a flush the decoder holds back
  // `has_b_frames` pictures to reorder them and refills its frame-thread pipeline, work that
  // decoding on from where it stands has already done; plus about one frame for the demuxer's
  // seek and the keyframe (which costs more than the pictures that follow it).
  int seekCost() const {
    const int frameThreads = (ctx_->active_thread_type & FF_THREAD_FRAME) ? ctx_->thread_count : 1;
    return 1 + ctx_->has_b_frames + (frameThreads - 1);
  }

  // The frame last received.
  const AVFrame* frame() const { return frame_; }
  const std::string& codecName() const { return codecName_; }

 private:
  // The decoder that can use a CUDA device for this codec (for AV1 that is FFmpeg's own, not
  // libdav1d, which builds usually prefer and which never decodes on the GPU).
  static const AVCodec* findCudaDecoder(AVCodecID id) {
    void* it = nullptr;
    while (const AVCodec* c = av_codec_iterate(&it)) {
      // Not the *_cuvid wrappers (AV_CODEC_CAP_HARDWARE): the hwaccel route, FFmpeg parsing.
      if (c->id != id || !av_codec_is_decoder(c) || (c->capabilities & AV_CODEC_CAP_HARDWARE)) continue;
      for (int i = 0;; i++) {
        const AVCodecHWConfig* hw = avcodec_get_hw_config(c, i);
        if (!hw) break;
        if (hw->device_type == AV_HWDEVICE_TYPE_CUDA && (hw->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX))
          return c;
      }
    }
    return nullptr;
  }

  static int clearedBuffer(AVCodecContext* ctx, AVFrame* frame, int flags) {
    const int r = avcodec_default_get_buffer2(ctx, frame, flags);
    if (r < 0) return r;
    for (int p = 0; p < AV_NUM_DATA_POINTERS && frame->buf[p]; p++)
      std::memset(frame->buf[p]->data, 0, frame->buf[p]->size);
    return 0;
  }

  static AVPixelFormat pickHardwareFormat(AVCodecContext* ctx, const AVPixelFormat* offered) {
    for (const AVPixelFormat* f = offered; *f != AV_PIX_FMT_NONE; f++)
      if (*f == AV_PIX_FMT_CUDA) return *f;
    static_cast<LibavDecoder*>(static_cast<DecodeErrorLog*>(ctx->opaque)->owner())->hardwareRefused_ = true;
    return AV_PIX_FMT_NONE;
  }

  void throwIfHardwareRefused() const {
    if (!hardwareRefused_) return;
    throw Error("TVL_UNSUPPORTED_CODEC", std::string("FFmpeg's NVDEC hwaccel cannot decode this ") + codecName_ +
                                             " stream (" +
                                             (avcodec_profile_name(ctx_->codec_id, ctx_->profile) ?: "profile ?") +
                                             ", " + std::to_string(ctx_->width) + "x" + std::to_string(ctx_->height) +
                                             "). Open with fallback: 'cpu' to decode it on the CPU");
  }

  DecodeErrorLog errorLog_{this};  // before ctx_: the context points to it while it lives
  AVCodecContext* ctx_ = nullptr;
  AVFrame* frame_ = nullptr;
  std::string codecName_;
  bool hardwareRefused_ = false;
  bool canSkip_ = false;
};

}  // namespace tvl
