// The NVDEC decoding engine for tvl::PlanExecutor (see tvl/plan_executor.h for the interface).
// Packets from the shared Demuxer go through FFmpeg's mp4/mkv-to-Annex-B bitstream filter into
// NVIDIA's parser, which calls back (synchronously, inside cuvidParseVideoData) to create the
// decoder, to decode each picture on the NVDEC engine, and to hand pictures over in display
// order with the pts they came in with. PlanExecutor identifies every picture by that pts in
// the frame index, exactly as it does for libavcodec's frames. deliver() maps the picture and
// runs the shared frame kernel (colour with the stream's matrix and range, resize, rotation,
// dtype and layout in one pass) into a device slot whose host copy overlaps the next decode.
#pragma once
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavutil/pixdesc.h>
}

#include "tvl/gpu/nvcuvid_api.h"
#include "tvl/colour.h"
#include "tvl/describe.h"
#include "tvl/error.h"
#include "tvl/gpu/convert_params.h"
#include "tvl/gpu/cuda_api.h"
#include "tvl/gpu/host_copy.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

struct NvdecCodec {
  cudaVideoCodec codec;
  const char* bsf;  // bitstream filter to Annex-B, or nullptr
};

inline bool nvdecCodecFor(AVCodecID id, NvdecCodec& out) {
  switch (id) {
    case AV_CODEC_ID_H264:
      out = {cudaVideoCodec_H264, "h264_mp4toannexb"};
      return true;
    case AV_CODEC_ID_HEVC:
      out = {cudaVideoCodec_HEVC, "hevc_mp4toannexb"};
      return true;
    case AV_CODEC_ID_VP9:
      out = {cudaVideoCodec_VP9, nullptr};
      return true;
    case AV_CODEC_ID_VP8:
      out = {cudaVideoCodec_VP8, nullptr};
      return true;
    case AV_CODEC_ID_AV1:
      out = {cudaVideoCodec_AV1, nullptr};
      return true;
    case AV_CODEC_ID_MPEG4:
      out = {cudaVideoCodec_MPEG4, nullptr};
      return true;
    case AV_CODEC_ID_MPEG2VIDEO:
      out = {cudaVideoCodec_MPEG2, nullptr};
      return true;
    case AV_CODEC_ID_MPEG1VIDEO:
      out = {cudaVideoCodec_MPEG1, nullptr};
      return true;
    case AV_CODEC_ID_VC1:
      out = {cudaVideoCodec_VC1, nullptr};
      return true;
    case AV_CODEC_ID_MJPEG:
      out = {cudaVideoCodec_JPEG, nullptr};
      return true;
    default:
      return false;
  }
}

inline const char* chromaName(cudaVideoChromaFormat c) {
  switch (c) {
    case cudaVideoChromaFormat_Monochrome:
      return "4:0:0";
    case cudaVideoChromaFormat_420:
      return "4:2:0";
    case cudaVideoChromaFormat_422:
      return "4:2:2";
    case cudaVideoChromaFormat_444:
      return "4:4:4";
  }
  return "?";
}

class NvdecEngine {
 public:
  // Parser surfaces beyond the stream's minimum: room for the pictures the parser holds back for
  // display and the ones waiting in the display queue.
  static constexpr int kExtraSurfaces = 4;
  static constexpr unsigned kDisplayDelay = 2;

  // Call with the device's context current. Checks NVDEC can decode the stream (codec, profile,
  // bit depth, chroma, size) and throws TVL_UNSUPPORTED_CODEC naming what it cannot.
  NvdecEngine(AVStream* stream, const gpu::CudaDevice& device, const VideoDescription& video, const char* ptx)
      : api_(nvcuvid()), colour_(video.colour), rotation_(video.rotation), bitDepth_(video.bitDepth), converter_(ptx) {
    const AVCodecParameters* par = stream->codecpar;
    NvdecCodec codec{};
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(AVPixelFormat(par->format));
    const std::string what = video.codec + (video.profile.empty() ? "" : " " + video.profile) + " " +
                             std::to_string(video.bitDepth) + "-bit " + video.pixelFormat + " " +
                             std::to_string(par->width) + "x" + std::to_string(par->height);
    if (!nvdecCodecFor(par->codec_id, codec)) {
      throw Error("TVL_UNSUPPORTED_CODEC",
                  "NVDEC has no decoder for " + what + ". Open with fallback: 'cpu' to decode it on the CPU");
    }
    codec_ = codec.codec;
    chroma_ = !d                      ? cudaVideoChromaFormat_420
              : d->nb_components < 3  ? cudaVideoChromaFormat_Monochrome
              : d->log2_chroma_w == 0 ? cudaVideoChromaFormat_444
              : d->log2_chroma_h == 0 ? cudaVideoChromaFormat_422
                                      : cudaVideoChromaFormat_420;
    checkCaps(device, par, what);

    try {
      if (codec.bsf) {
        const AVBitStreamFilter* f = av_bsf_get_by_name(codec.bsf);
        if (!f || av_bsf_alloc(f, &bsf_) < 0) throw Error("TVL_INTERNAL", std::string("cannot set up ") + codec.bsf);
        avcodec_parameters_copy(bsf_->par_in, par);
        bsf_->time_base_in = stream->time_base;
        if (av_bsf_init(bsf_) < 0) throw Error("TVL_INTERNAL", std::string("cannot set up ") + codec.bsf);
        // The filter repeats the parameter sets (SPS/PPS, VPS) in band only before IDR pictures;
        // a fresh parser after a seek to another keyframe (open GOP, recovery point) would never
        // see them. They are fed to every new parser first (see createParser).
        const AVCodecParameters* annexB = bsf_->par_out;
        headerPacket_.assign(annexB->extradata, annexB->extradata + annexB->extradata_size);
      } else if (par->extradata_size > 0 && par->extradata_size <= 1024 &&
                 (codec_ == cudaVideoCodec_MPEG4 || codec_ == cudaVideoCodec_MPEG2 || codec_ == cudaVideoCodec_VC1)) {
        // Sequence headers the container keeps out of band.
        seqHeader_ = std::make_unique<CUVIDEOFORMATEX>();
        *seqHeader_ = {};
        seqHeader_->format.seqhdr_data_length = unsigned(par->extradata_size);
        std::memcpy(seqHeader_->raw_seqhdr_data, par->extradata, size_t(par->extradata_size));
        // MPEG-4 and MPEG-2 headers are start-code bitstream too (VC-1's from ASF/MKV are not):
        // also parsed as the first packet, as in-band repetitions of them would be.
        if (codec_ != cudaVideoCodec_VC1) headerPacket_.assign(par->extradata, par->extradata + par->extradata_size);
      }
      filtered_ = av_packet_alloc();
      toFilter_ = av_packet_alloc();
      createParser();
    } catch (...) {
      destroyParser();
      av_bsf_free(&bsf_);
      av_packet_free(&filtered_);
      av_packet_free(&toFilter_);
      throw;
    }
  }

  ~NvdecEngine() {
    destroyParser();
    if (decoder_) api_.cuvidDestroyDecoder(decoder_);
    av_bsf_free(&bsf_);
    av_packet_free(&filtered_);
    av_packet_free(&toFilter_);
  }
  NvdecEngine(const NvdecEngine&) = delete;
  NvdecEngine& operator=(const NvdecEngine&) = delete;

  // After a seek: a fresh parser (NVIDIA's has no flush); the decoder and its surfaces stay.
  void flush() {
    destroyParser();
    if (bsf_) av_bsf_flush(bsf_);
    display_.clear();
    drained_ = false;
    failed_.clear();
    fatal_ = false;
    createParser();
  }

  int send(const AVPacket* pkt) {
    if (!pkt) {
      CUVIDSOURCEDATAPACKET eos{};
      eos.flags = CUVID_PKT_ENDOFSTREAM;
      parse(eos);
      drained_ = true;
      return 0;
    }
    if (!bsf_) return parsePacket(pkt);
    // The filter takes the reference it is given: give it a new one, so the caller's packet
    // (whose flags and pts PlanExecutor reads after send) stays as it was.
    int r = av_packet_ref(toFilter_, pkt);
    if (r < 0) return r;
    r = av_bsf_send_packet(bsf_, toFilter_);
    if (r < 0) {
      av_packet_unref(toFilter_);
      return r;
    }
    int result = 0;
    while ((r = av_bsf_receive_packet(bsf_, filtered_)) == 0) {
      int p = parsePacket(filtered_);
      if (p < 0) result = p;
      av_packet_unref(filtered_);
    }
    return result;
  }

  // Called once at open with FrameIndex::byPosition.
  void identifyByPosition(bool on) { byPosition_ = on; }

  int receive(FrameInfo& info) {
    if (display_.empty()) return drained_ ? AVERROR_EOF : AVERROR(EAGAIN);
    current_ = display_.front();
    display_.pop_front();
    info.pts = byPosition_ ? AV_NOPTS_VALUE : current_.timestamp;
    info.pos = byPosition_ ? current_.timestamp : -1;
    info.keyframe = false;
    CUVIDGETDECODESTATUS status{};
    info.corrupt =
        api_.cuvidGetDecodeStatus(decoder_, current_.picture_index, &status) == CUDA_SUCCESS &&
        (status.decodeStatus == cuvidDecodeStatus_Error || status.decodeStatus == cuvidDecodeStatus_Error_Concealed);
    return 0;
  }

  void deliver(void* dst, const OutputSpec& out) {
    CUVIDPROCPARAMS proc{};
    proc.progressive_frame = current_.progressive_frame;
    proc.top_field_first = current_.top_field_first;
    proc.output_stream = converter_.stream();
    unsigned long long frame = 0;
    unsigned pitch = 0;
    gpu::check(api_.cuvidMapVideoFrame(decoder_, current_.picture_index, &frame, &pitch, &proc),
               "mapping a decoded picture");
    try {
      gpu::YuvSurface s{};
      s.width = surfaceW_;
      s.height = surfaceH_;
      s.luma = reinterpret_cast<const uint8_t*>(frame);
      s.lumaPitch = int(pitch);
      const size_t planeBytes = size_t(pitch) * size_t((surfaceH_ + 1) & ~1);
      const bool planar444 = chroma_ == cudaVideoChromaFormat_444;
      s.cb = s.luma + planeBytes;
      s.cr = planar444 ? s.luma + 2 * planeBytes : s.cb;
      s.chromaPitch = int(pitch);
      s.chromaShiftX = planar444 ? 0 : 1;
      s.chromaShiftY = planar444 ? 0 : 1;
      s.interleaved = planar444 ? 0 : 1;
      s.bytesPerSample = bitDepth_ > 8 ? 2 : 1;
      s.sampleShift = bitDepth_ > 8 ? 16 - bitDepth_ : 0;  // P016 / YUV444_16Bit keep samples in the high bits
      // The picture stays mapped until the kernel has read it (convert returns then).
      converter_.convert(s, gpu::makeConvertParams(colour_, bitDepth_, rotation_, out), dst, out.bytes());
    } catch (...) {
      api_.cuvidUnmapVideoFrame(decoder_, frame);
      throw;
    }
    gpu::check(api_.cuvidUnmapVideoFrame(decoder_, frame), "unmapping a decoded picture");
  }

  // End of a plan: every frame in flight reaches its buffer (or, after an error, is dropped).
  void finishPlan(bool ok) { converter_.finishPlan(ok); }

 private:
  void checkCaps(const gpu::CudaDevice& device, const AVCodecParameters* par, const std::string& what) {
    CUVIDDECODECAPS caps{};
    caps.eCodecType = codec_;
    caps.eChromaFormat = chroma_;
    caps.nBitDepthMinus8 = unsigned(bitDepth_ - 8);
    gpu::check(api_.cuvidGetDecoderCaps(&caps), "querying NVDEC's capabilities");
    const std::string where = "NVDEC on " + device.name() + " (cuda:" + std::to_string(device.ordinal()) + ")";
    if (!caps.bIsSupported) {
      throw Error("TVL_UNSUPPORTED_CODEC", where + " cannot decode " + what + " (" + chromaName(chroma_) + ", " +
                                               std::to_string(bitDepth_) +
                                               "-bit). Open with fallback: 'cpu' to decode it on the CPU");
    }
    const unsigned w = unsigned(par->width), h = unsigned(par->height);
    if (w > caps.nMaxWidth || h > caps.nMaxHeight || w < caps.nMinWidth || h < caps.nMinHeight ||
        (caps.nMaxMBCount && ((w + 15) / 16) * ((h + 15) / 16) > caps.nMaxMBCount)) {
      throw Error("TVL_UNSUPPORTED_CODEC",
                  where + " cannot decode " + what + ": the size must be between " + std::to_string(caps.nMinWidth) +
                      "x" + std::to_string(caps.nMinHeight) + " and " + std::to_string(caps.nMaxWidth) + "x" +
                      std::to_string(caps.nMaxHeight) + ". Open with fallback: 'cpu' to decode it on the CPU");
    }
    const int wanted = chroma_ == cudaVideoChromaFormat_444
                           ? (bitDepth_ > 8 ? cudaVideoSurfaceFormat_YUV444_16Bit : cudaVideoSurfaceFormat_YUV444)
                           : (bitDepth_ > 8 ? cudaVideoSurfaceFormat_P016 : cudaVideoSurfaceFormat_NV12);
    if (caps.nOutputFormatMask && !(caps.nOutputFormatMask & (1u << wanted))) {
      throw Error("TVL_UNSUPPORTED_CODEC",
                  where + " cannot output " + what + " in a format TVL reads. Open with fallback: 'cpu'");
    }
    outputFormat_ = cudaVideoSurfaceFormat(wanted);
  }

  void createParser() {
    CUVIDPARSERPARAMS p{};
    p.CodecType = codec_;
    p.ulMaxNumDecodeSurfaces = decoder_ ? unsigned(numSurfaces_) : 1;
    p.ulMaxDisplayDelay = kDisplayDelay;
    p.pUserData = this;
    p.pfnSequenceCallback = &NvdecEngine::onSequence;
    p.pfnDecodePicture = &NvdecEngine::onDecode;
    p.pfnDisplayPicture = &NvdecEngine::onDisplay;
    p.pExtVideoInfo = seqHeader_.get();
    gpu::check(api_.cuvidCreateVideoParser(&parser_, &p), "creating the NVDEC parser");
    if (!headerPacket_.empty()) {
      CUVIDSOURCEDATAPACKET header{};
      header.payload = headerPacket_.data();
      header.payload_size = tcu_ulong(headerPacket_.size());
      parse(header);
    }
  }

  void destroyParser() {
    if (parser_) api_.cuvidDestroyVideoParser(parser_);
    parser_ = nullptr;
  }

  int parsePacket(const AVPacket* pkt) {
    CUVIDSOURCEDATAPACKET p{};
    p.payload = pkt->data;
    p.payload_size = tcu_ulong(pkt->size);
    // The parser hands each picture back with its packet's timestamp: the pts, or the packet's
    // position when the index identifies frames by position (a container without pts).
    const bool known = byPosition_ ? pkt->pos >= 0 : pkt->pts != AV_NOPTS_VALUE;
    if (known) {
      p.flags = CUVID_PKT_TIMESTAMP;
      p.timestamp = byPosition_ ? pkt->pos : pkt->pts;
    }
    return parse(p);
  }

  int parse(CUVIDSOURCEDATAPACKET& p) {
    failed_.clear();
    CUresult r = api_.cuvidParseVideoData(parser_, &p);
    if (!failed_.empty()) {
      if (fatal_) throw Error(fatalCode_, failed_);
      return AVERROR_INVALIDDATA;
    }
    return r == CUDA_SUCCESS ? 0 : AVERROR_INVALIDDATA;
  }

  static int CUDAAPI onSequence(void* self, CUVIDEOFORMAT* f) { return static_cast<NvdecEngine*>(self)->sequence(f); }
  static int CUDAAPI onDecode(void* self, CUVIDPICPARAMS* p) {
    return static_cast<NvdecEngine*>(self)->decodePicture(p);
  }
  static int CUDAAPI onDisplay(void* self, CUVIDPARSERDISPINFO* d) {
    if (d) static_cast<NvdecEngine*>(self)->display_.push_back(*d);
    return 1;
  }

  // Creates the decoder on the first sequence header; later ones (after each seek's new parser)
  // reuse it while the format is unchanged.
  int sequence(CUVIDEOFORMAT* f) {
    const int surfaces = f->min_num_decode_surfaces + kExtraSurfaces;
    const int w = f->display_area.right - f->display_area.left;
    const int h = f->display_area.bottom - f->display_area.top;
    if (decoder_ && f->coded_width == codedW_ && f->coded_height == codedH_ && surfaces <= numSurfaces_ &&
        w == surfaceW_ && h == surfaceH_ && f->chroma_format == chroma_ && f->bit_depth_luma_minus8 + 8 == bitDepth_)
      return numSurfaces_;
    if (decoder_) api_.cuvidDestroyDecoder(decoder_);
    decoder_ = nullptr;
    if (f->bit_depth_luma_minus8 + 8 != bitDepth_ || f->chroma_format != chroma_) {
      fail("TVL_UNSUPPORTED_CODEC",
           "the stream changes its bit depth or chroma format mid-stream, which TVL does not support on NVDEC");
      return 0;
    }
    CUVIDDECODECREATEINFO ci{};
    ci.CodecType = f->codec;
    ci.ChromaFormat = f->chroma_format;
    ci.OutputFormat = outputFormat_;
    ci.bitDepthMinus8 = f->bit_depth_luma_minus8;
    ci.DeinterlaceMode = cudaVideoDeinterlaceMode_Weave;  // a frame is both fields, never a made-up one
    ci.ulCreationFlags = cudaVideoCreate_PreferCUVID;
    ci.ulNumDecodeSurfaces = tcu_ulong(surfaces);
    ci.ulNumOutputSurfaces = 2;
    ci.ulWidth = ci.ulMaxWidth = f->coded_width;
    ci.ulHeight = ci.ulMaxHeight = f->coded_height;
    ci.display_area.left = short(f->display_area.left);
    ci.display_area.top = short(f->display_area.top);
    ci.display_area.right = short(f->display_area.right);
    ci.display_area.bottom = short(f->display_area.bottom);
    ci.ulTargetWidth = tcu_ulong(w);
    ci.ulTargetHeight = tcu_ulong(h);
    CUresult r = api_.cuvidCreateDecoder(&decoder_, &ci);
    if (r != CUDA_SUCCESS) {
      decoder_ = nullptr;
      fail("TVL_INTERNAL", "creating the NVDEC decoder failed (" + std::to_string(int(r)) + ")");
      return 0;
    }
    codedW_ = f->coded_width;
    codedH_ = f->coded_height;
    surfaceW_ = w;
    surfaceH_ = h;
    numSurfaces_ = surfaces;
    return surfaces;
  }

  int decodePicture(CUVIDPICPARAMS* p) {
    if (!decoder_) return 0;
    if (api_.cuvidDecodePicture(decoder_, p) != CUDA_SUCCESS) {
      failed_ = "NVDEC failed to decode a picture";
      return 0;
    }
    return 1;
  }

  void fail(const char* code, std::string message) {
    fatal_ = true;
    fatalCode_ = code;
    failed_ = std::move(message);
  }

  const NvcuvidApi& api_;
  ColourSpec colour_;
  int rotation_;
  int bitDepth_;
  gpu::FrameConverter converter_;
  cudaVideoCodec codec_ = cudaVideoCodec_H264;
  cudaVideoChromaFormat chroma_ = cudaVideoChromaFormat_420;
  cudaVideoSurfaceFormat outputFormat_ = cudaVideoSurfaceFormat_NV12;
  AVBSFContext* bsf_ = nullptr;
  AVPacket* filtered_ = nullptr;
  AVPacket* toFilter_ = nullptr;
  std::unique_ptr<CUVIDEOFORMATEX> seqHeader_;  // out-of-band sequence header (MPEG-4/2, VC-1)
  std::vector<uint8_t> headerPacket_;           // stream headers every new parser is given first
  CUvideoparser parser_ = nullptr;
  CUvideodecoder decoder_ = nullptr;
  unsigned codedW_ = 0, codedH_ = 0;
  int surfaceW_ = 0, surfaceH_ = 0, numSurfaces_ = 0;
  std::deque<CUVIDPARSERDISPINFO> display_;
  CUVIDPARSERDISPINFO current_{};
  bool byPosition_ = false;
  bool drained_ = false;
  std::string failed_;  // set by a callback during the current cuvidParseVideoData
  bool fatal_ = false;
  std::string fatalCode_;
};

}  // namespace tvl
