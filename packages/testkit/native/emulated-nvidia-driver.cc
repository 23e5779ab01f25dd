// An emulated NVIDIA driver for testing TVL's GPU backends on machines without a GPU: one shared
// library that stands in for both libcuda.so.1 and libnvcuvid.so.1. @tvl/nvdec opens it through
// TVL_LIBCUDA and TVL_LIBNVCUVID; FFmpeg (the NVDEC hwaccel behind @tvl/nvvl) opens the driver by
// its sonames, so the test environment also puts this library under those names on
// LD_LIBRARY_PATH (the loader sees one file and maps it once: one driver, shared contexts).
//
// It plays the parts of the driver that TVL's engines rely on, with the rules a real driver
// enforces, so that the engines' own logic runs for real:
//   - "Device memory" is host memory; every driver call that needs a CUDA context fails with
//     CUDA_ERROR_INVALID_CONTEXT unless one is current on the calling thread (decoding runs on
//     libuv's worker threads, closing on others).
//   - The parser decodes with libavcodec, given only what a real parser gets: the packets and the
//     sequence header in pExtVideoInfo. Like NVIDIA's, it cannot decode an H.264 stream whose SPS
//     and PPS it has not seen (a fresh parser after a seek to a non-IDR keyframe, say). It calls
//     back sequence -> decode -> display, each picture's timestamp being its packet's, holding
//     ulMaxDisplayDelay pictures back from display until the end of the stream.
//   - Pictures that FFmpeg parsed itself (the hwaccel route: cuvidDecodePicture with no parser)
//     are decoded from their bitstream: whole pictures for VP8, VP9 and JPEG; for H.264, the
//     slices after an SPS and PPS rebuilt from CUVIDH264PICPARAMS. HEVC, AV1 and MPEG pictures
//     (slice data whose headers this emulator does not rebuild): CUDA_ERROR_NOT_SUPPORTED.
//   - The emulated NVDEC decodes 4:2:0 only (8-bit; 10-bit for HEVC, VP9, AV1), so a 4:4:4
//     stream is one it cannot decode.
//   - The decoder writes NV12 (8-bit) or P016 (10-bit, in the high bits) surfaces with a pitch
//     wider than the picture and the chroma plane after an even number of luma rows; mapping
//     more pictures at once than ulNumOutputSurfaces fails, as on a GPU.
//   - Host copies on a stream run only when the stream, or an event recorded after them, is
//     waited for.
//   - cuLaunchKernel runs tvl_convert_frame (frame_kernel.h's writePixel) for every thread of
//     the grid it is given, so a grid that misses pixels leaves them unwritten.
//   - The driver entry points FFmpeg loads but TVL's paths never need (OpenGL, arrays, linking,
//     textures, ...) fail with CUDA_ERROR_NOT_SUPPORTED, and each such call is counted.
// What it cannot prove: anything about NVIDIA's hardware or parser themselves. The GPU check
// (bench/gpu-check.mjs) does that on a real GPU.
//
// Settings: TVL_FAKE_CUDA_DEVICES=N (GPUs found; 0 or unset: cuInit fails with no device),
// TVL_FAKE_NVIDIA_REPORT=path (at exit, writes what was still allocated, as JSON, to path.<pid>).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
}

#include "tvl/gpu/frame_kernel.h"

namespace {

// The emulator decodes with the system's FFmpeg, a second copy beside the one TVL's addons carry
// (whose log callback does not reach this one). A real driver prints nothing; nor does this.
__attribute__((constructor)) void quietEmulatorFfmpeg() { av_log_set_level(AV_LOG_QUIET); }

constexpr CUresult kInvalidValue = CUresult(1);
constexpr CUresult kNoDevice = CUresult(100);
constexpr CUresult kInvalidPtx = CUresult(218);
constexpr CUresult kInvalidContext = CUresult(201);
constexpr CUresult kNotFound = CUresult(500);
constexpr CUresult kNotSupported = CUresult(801);
constexpr CUresult kUnknown = CUresult(999);

// What is still allocated; written at exit when TVL_FAKE_NVIDIA_REPORT is set.
struct Live {
  std::atomic<long> deviceAllocations{0}, hostAllocations{0}, streams{0}, events{0}, modules{0};
  std::atomic<long> primaryContexts{0}, parsers{0}, decoders{0}, mappedFrames{0};
  std::atomic<long> callsWithoutContext{0}, kernelLaunches{0}, picturesDecoded{0}, hwaccelPictures{0};
  std::atomic<long> unsupportedCalls{0};
} live;

int deviceCount() {
  const char* n = std::getenv("TVL_FAKE_CUDA_DEVICES");
  return n ? std::atoi(n) : 0;
}

// One fake context per device, made current by push/pop per thread.
struct FakeContext {
  int device;
  unsigned flags;
  int retains;  // active while retained
};
FakeContext contexts[16];
thread_local std::vector<CUcontext> contextStack;

// A driver entry point the emulator does not play: said once on stderr, counted for the report.
CUresult unsupported(const char* what) {
  if (live.unsupportedCalls++ == 0) std::fprintf(stderr, "emulated NVIDIA driver: %s is not supported\n", what);
  return kNotSupported;
}

CUresult needContext() {
  if (!contextStack.empty()) return CUDA_SUCCESS;
  live.callsWithoutContext++;
  return kInvalidContext;
}

// A stream's queued host copies, run in order when waited for.
struct FakeStream {
  struct Copy {
    void* dst;
    const void* src;
    size_t bytes;
  };
  std::mutex mu;
  std::vector<Copy> copies;  // every copy ever queued; the first `done` have run
  size_t done = 0;
  void runUpTo(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    for (; done < copies.size() && done < n; done++)
      std::memcpy(copies[done].dst, copies[done].src, copies[done].bytes);
  }
};
struct FakeEvent {
  FakeStream* stream = nullptr;
  size_t upTo = 0;
};

template <class T>
CUdeviceptr asDevice(T* p) {
  return CUdeviceptr(reinterpret_cast<uintptr_t>(p));
}

__attribute__((destructor)) void writeReport() {
  const char* path = std::getenv("TVL_FAKE_NVIDIA_REPORT");
  if (!path || !*path) return;
  const std::string file = std::string(path) + "." + std::to_string(getpid());
  FILE* f = std::fopen(file.c_str(), "w");
  if (!f) return;
  std::fprintf(f,
               "{\"deviceAllocations\":%ld,\"hostAllocations\":%ld,\"streams\":%ld,\"events\":%ld,\"modules\":%ld,"
               "\"primaryContexts\":%ld,\"parsers\":%ld,\"decoders\":%ld,\"mappedFrames\":%ld,"
               "\"callsWithoutContext\":%ld,\"kernelLaunches\":%ld,\"picturesDecoded\":%ld,\"hwaccelPictures\":%ld,"
               "\"unsupportedCalls\":%ld,\"primaryContextFlags\":%u}\n",
               live.deviceAllocations.load(), live.hostAllocations.load(), live.streams.load(), live.events.load(),
               live.modules.load(), live.primaryContexts.load(), live.parsers.load(), live.decoders.load(),
               live.mappedFrames.load(), live.callsWithoutContext.load(), live.kernelLaunches.load(),
               live.picturesDecoded.load(), live.hwaccelPictures.load(), live.unsupportedCalls.load(),
               contexts[0].flags);
  std::fclose(f);
}

// ---- NVDEC ----

AVCodecID codecId(cudaVideoCodec c) {
  switch (c) {
    case cudaVideoCodec_H264:
      return AV_CODEC_ID_H264;
    case cudaVideoCodec_HEVC:
      return AV_CODEC_ID_HEVC;
    case cudaVideoCodec_VP9:
      return AV_CODEC_ID_VP9;
    case cudaVideoCodec_VP8:
      return AV_CODEC_ID_VP8;
    case cudaVideoCodec_AV1:
      return AV_CODEC_ID_AV1;
    case cudaVideoCodec_MPEG4:
      return AV_CODEC_ID_MPEG4;
    case cudaVideoCodec_MPEG2:
      return AV_CODEC_ID_MPEG2VIDEO;
    case cudaVideoCodec_JPEG:
      return AV_CODEC_ID_MJPEG;
    default:
      return AV_CODEC_ID_NONE;
  }
}

// The picture the parser is handing to the application's decode callback (same thread).
thread_local const AVFrame* pictureBeingDecoded = nullptr;

struct FakeDecoder {
  CUVIDDECODECREATEINFO info;
  int width, height, pitch, bytesPerSample, bitDepth;
  std::vector<std::vector<uint8_t>> surfaces;
  std::vector<cuvidDecodeStatus> status;
  int mapped = 0;
  std::mutex mu;
  // The hwaccel route (pictures parsed by FFmpeg): libavcodec decodes each picture's bitstream,
  // in decode order. The picture is taken from the buffer the decoder last allocated, since a
  // decoder outputs in display order (and never outputs a hidden VP9/VP8 reference frame).
  AVCodecContext* inner = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* output = nullptr;
  AVFrame* lastAllocated = nullptr;
  // The decoder's own frame for that picture, not a reference to it: damage found after the
  // picture's buffer was allocated (H.264's error concealment at the end of the picture) is
  // flagged on this one only. Read right after the picture's packet was decoded.
  const AVFrame* decodersPicture = nullptr;
  ~FakeDecoder() {
    avcodec_free_context(&inner);
    av_packet_free(&packet);
    av_frame_free(&output);
    av_frame_free(&lastAllocated);
  }
};

// Whether `f` is a picture the emulated NVDEC could have decoded into decoder `d`'s surfaces.
bool fitsDecoder(const FakeDecoder& d, const AVFrame* f) {
  if (f->width != d.width || f->height != d.height) return false;
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(AVPixelFormat(f->format));
  return desc && (desc->flags & AV_PIX_FMT_FLAG_PLANAR) != 0 && desc->nb_components == 3 && desc->log2_chroma_w == 1 &&
         desc->log2_chroma_h == 1 && desc->comp[0].depth == d.bitDepth;
}

int keepLastAllocated(AVCodecContext* ctx, AVFrame* frame, int flags) {
  const int r = avcodec_default_get_buffer2(ctx, frame, flags);
  if (r == 0) {
    auto* d = static_cast<FakeDecoder*>(ctx->opaque);
    av_frame_unref(d->lastAllocated);
    if (av_frame_ref(d->lastAllocated, frame) < 0) return AVERROR(ENOMEM);
    d->decodersPicture = frame;
  }
  return r;
}

// ---- H.264 pictures parsed by FFmpeg ----
// FFmpeg's hwaccel sends NVDEC an H.264 picture's slices with the SPS and PPS already parsed into
// CUVIDH264PICPARAMS. To decode the slices with libavcodec, the emulator writes those fields back
// into an SPS and a PPS (High profile, which decodes every 8-bit 4:2:0 stream): all a slice
// header needs. What picparams cannot say (picture order count type 1, field pictures, scaling
// matrices) is not emulated.

// Writes an RBSP bit by bit, then frames it as an Annex-B NAL unit.
class BitWriter {
 public:
  void bits(uint32_t value, int n) {
    for (int i = n - 1; i >= 0; i--) bit((value >> i) & 1);
  }
  void ue(uint32_t v) {  // Exp-Golomb
    const uint64_t x = uint64_t(v) + 1;
    int n = 0;
    while ((x >> (n + 1)) != 0) n++;
    bits(0, n);
    bits(uint32_t(x), n + 1);
  }
  void se(int v) { ue(v > 0 ? uint32_t(2 * v - 1) : uint32_t(-2 * v)); }
  // rbsp_trailing_bits, then the start code, the NAL header and the payload with emulation
  // prevention bytes, appended to `out`.
  void finishNal(uint8_t header, std::vector<uint8_t>& out) {
    bit(1);
    while (used_ != 0) bit(0);
    out.insert(out.end(), {0, 0, 0, 1, header});
    int zeros = 0;
    for (uint8_t b : bytes_) {
      if (zeros >= 2 && b <= 3) {
        out.push_back(3);
        zeros = 0;
      }
      out.push_back(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
  }

 private:
  void bit(uint32_t b) {
    if (used_ == 0) bytes_.push_back(0);
    if (b) bytes_.back() |= uint8_t(0x80 >> used_);
    used_ = (used_ + 1) % 8;
  }
  std::vector<uint8_t> bytes_;
  int used_ = 0;
};

// pic_parameter_set_id of the first slice (its slice header's third field), or -1.
int slicePpsId(const uint8_t* data, size_t size) {
  size_t i = 0;
  while (i + 3 <= size && !(data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)) i++;
  i += 4;            // start code and NAL header
  uint64_t pos = 0;  // bit position in the unescaped payload
  std::vector<uint8_t> rbsp;
  for (int zeros = 0; i < size && rbsp.size() < 16; i++) {
    if (zeros >= 2 && data[i] == 3) {
      zeros = 0;
      continue;
    }
    rbsp.push_back(data[i]);
    zeros = data[i] == 0 ? zeros + 1 : 0;
  }
  auto ue = [&]() -> int {
    int leading = 0;
    while (pos < rbsp.size() * 8 && !((rbsp[pos / 8] >> (7 - pos % 8)) & 1)) leading++, pos++;
    pos++;
    uint32_t v = 0;
    for (int k = 0; k < leading; k++, pos++) {
      if (pos >= rbsp.size() * 8) return -1;
      v = (v << 1) | ((rbsp[pos / 8] >> (7 - pos % 8)) & 1);
    }
    return int((1u << leading) - 1 + v);
  };
  ue();  // first_mb_in_slice
  ue();  // slice_type
  return ue();
}

// The SPS (id 0) and PPS that FFmpeg parsed, rebuilt from the picture's parameters; false when
// the picture uses what they cannot say.
bool rebuildH264Headers(const CUVIDPICPARAMS& pic, std::vector<uint8_t>& out) {
  const CUVIDH264PICPARAMS& h = pic.CodecSpecific.h264;
  bool flat = true;
  for (const auto& list : h.WeightScale4x4)
    for (uint8_t v : list) flat = flat && v == 16;
  for (const auto& list : h.WeightScale8x8)
    for (uint8_t v : list) flat = flat && v == 16;
  const int ppsId = slicePpsId(pic.pBitstreamData, pic.nBitstreamDataLen);
  if (h.pic_order_cnt_type == 1 || pic.field_pic_flag || !flat || ppsId < 0) return false;

  BitWriter sps;
  sps.bits(100, 8);  // profile_idc: High
  sps.bits(0, 8);    // constraint flags
  sps.bits(51, 8);   // level_idc 5.1
  sps.ue(0);         // seq_parameter_set_id
  sps.ue(1);         // chroma_format_idc: 4:2:0
  sps.ue(h.bit_depth_luma_minus8);
  sps.ue(h.bit_depth_chroma_minus8);
  sps.bits(h.qpprime_y_zero_transform_bypass_flag, 1);
  sps.bits(0, 1);  // seq_scaling_matrix_present_flag
  sps.ue(uint32_t(h.log2_max_frame_num_minus4));
  sps.ue(uint32_t(h.pic_order_cnt_type));
  if (h.pic_order_cnt_type == 0) sps.ue(uint32_t(h.log2_max_pic_order_cnt_lsb_minus4));
  sps.ue(uint32_t(h.num_ref_frames));
  sps.bits(0, 1);  // gaps_in_frame_num_value_allowed_flag
  sps.ue(uint32_t(pic.PicWidthInMbs - 1));
  sps.ue(uint32_t(pic.FrameHeightInMbs / (2 - h.frame_mbs_only_flag) - 1));
  sps.bits(uint32_t(h.frame_mbs_only_flag), 1);
  if (!h.frame_mbs_only_flag) sps.bits(uint32_t(h.MbaffFrameFlag), 1);
  sps.bits(uint32_t(h.direct_8x8_inference_flag), 1);
  sps.bits(0, 1);  // frame_cropping_flag: NVDEC writes the whole coded picture
  sps.bits(0, 1);  // vui_parameters_present_flag
  sps.finishNal(0x67, out);

  BitWriter pps;
  pps.ue(uint32_t(ppsId));
  pps.ue(0);  // seq_parameter_set_id
  pps.bits(uint32_t(h.entropy_coding_mode_flag), 1);
  pps.bits(uint32_t(h.pic_order_present_flag), 1);
  pps.ue(0);  // num_slice_groups_minus1
  pps.ue(uint32_t(h.num_ref_idx_l0_active_minus1));
  pps.ue(uint32_t(h.num_ref_idx_l1_active_minus1));
  pps.bits(uint32_t(h.weighted_pred_flag), 1);
  pps.bits(uint32_t(h.weighted_bipred_idc), 2);
  pps.se(h.pic_init_qp_minus26);
  pps.se(0);  // pic_init_qs_minus26 (SP/SI slices only)
  pps.se(h.chroma_qp_index_offset);
  pps.bits(uint32_t(h.deblocking_filter_control_present_flag), 1);
  pps.bits(uint32_t(h.constrained_intra_pred_flag), 1);
  pps.bits(uint32_t(h.redundant_pic_cnt_present_flag), 1);
  pps.bits(uint32_t(h.transform_8x8_mode_flag), 1);
  pps.bits(0, 1);  // pic_scaling_matrix_present_flag
  pps.se(h.second_chroma_qp_index_offset);
  pps.finishNal(0x68, out);
  return true;
}

// Decodes one picture FFmpeg parsed: `bitstream` is all of it (VP8, VP9, JPEG; H.264 with its
// rebuilt headers). Returns it, or null when it did not decode (its status then says so, as on
// NVDEC).
const AVFrame* decodePictureBitstream(FakeDecoder& d, const std::vector<uint8_t>& bitstream) {
  if (!d.inner) {
    const AVCodec* codec = avcodec_find_decoder(codecId(d.info.CodecType));
    d.inner = avcodec_alloc_context3(codec);
    d.inner->thread_count = 1;                  // decoded during send_packet, in decode order
    d.inner->err_recognition |= AV_EF_EXPLODE;  // damage fails the picture: its status says Error
    d.inner->opaque = &d;
    d.inner->get_buffer2 = keepLastAllocated;
    d.packet = av_packet_alloc();
    d.output = av_frame_alloc();
    d.lastAllocated = av_frame_alloc();
    if (avcodec_open2(d.inner, codec, nullptr) < 0) return nullptr;
  }
  av_frame_unref(d.lastAllocated);
  d.decodersPicture = nullptr;
  if (av_new_packet(d.packet, int(bitstream.size())) < 0) return nullptr;
  std::memcpy(d.packet->data, bitstream.data(), bitstream.size());
  const int r = avcodec_send_packet(d.inner, d.packet);
  av_packet_unref(d.packet);
  if (d.decodersPicture && d.lastAllocated->buf[0]) {
    d.lastAllocated->decode_error_flags |= d.decodersPicture->decode_error_flags;
    d.lastAllocated->flags |= d.decodersPicture->flags & AV_FRAME_FLAG_CORRUPT;
  }
  while (avcodec_receive_frame(d.inner, d.output) == 0) av_frame_unref(d.output);
  return r < 0 || !d.lastAllocated->buf[0] ? nullptr : d.lastAllocated;
}

// Packs a planar 4:2:0 picture as NVDEC lays out its output: NV12, or P016 with the samples in
// the high bits; luma rows `pitch` bytes apart, then the interleaved chroma plane.
void writeSurface(const FakeDecoder& d, const AVFrame* f, uint8_t* surface) {
  const int shift = d.bytesPerSample == 2 ? 16 - d.bitDepth : 0;
  auto put = [&](uint8_t* row, int i, const uint8_t* src, int j) {
    if (d.bytesPerSample == 1) {
      row[i] = src[j];
      return;
    }
    const uint16_t v = uint16_t((src[2 * j] | (src[2 * j + 1] << 8)) << shift);
    row[2 * i] = uint8_t(v & 0xff);
    row[2 * i + 1] = uint8_t(v >> 8);
  };
  for (int y = 0; y < d.height; y++)
    for (int x = 0; x < d.width; x++) put(surface + size_t(y) * d.pitch, x, f->data[0] + size_t(y) * f->linesize[0], x);
  uint8_t* chroma = surface + size_t(d.pitch) * size_t((d.height + 1) & ~1);
  for (int y = 0; y < (d.height + 1) / 2; y++) {
    for (int x = 0; x < (d.width + 1) / 2; x++) {
      put(chroma + size_t(y) * d.pitch, 2 * x, f->data[1] + size_t(y) * f->linesize[1], x);
      put(chroma + size_t(y) * d.pitch, 2 * x + 1, f->data[2] + size_t(y) * f->linesize[2], x);
    }
  }
}

struct FakeParser {
  CUVIDPARSERPARAMS params;
  AVCodecContext* ctx = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  bool haveSequence = false;
  CUVIDEOFORMAT format{};
  unsigned surfaces = 0;
  unsigned nextPicture = 0;
  std::deque<CUVIDPARSERDISPINFO> held;  // decoded, not yet displayed (ulMaxDisplayDelay)
};

bool fillFormat(FakeParser& p, const AVFrame* f, CUVIDEOFORMAT& out) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(AVPixelFormat(f->format));
  if (!d) return false;
  out = {};
  out.codec = p.params.CodecType;
  out.progressive_sequence = 1;
  out.bit_depth_luma_minus8 = (unsigned char)(d->comp[0].depth - 8);
  out.bit_depth_chroma_minus8 = out.bit_depth_luma_minus8;
  out.min_num_decode_surfaces = 8;
  out.coded_width = unsigned((f->width + 15) & ~15);
  out.coded_height = unsigned((f->height + 15) & ~15);
  out.display_area.right = f->width;
  out.display_area.bottom = f->height;
  out.chroma_format = d->nb_components < 3    ? cudaVideoChromaFormat_Monochrome
                      : d->log2_chroma_w == 0 ? cudaVideoChromaFormat_444
                      : d->log2_chroma_h == 0 ? cudaVideoChromaFormat_422
                                              : cudaVideoChromaFormat_420;
  return true;
}

CUresult displayHeld(FakeParser& p, size_t keep);

// Hands one decoded picture to the application: sequence (when new), decode, and display once
// more than ulMaxDisplayDelay pictures are waiting.
CUresult deliverPicture(FakeParser& p, const AVFrame* f) {
  CUVIDEOFORMAT fmt;
  if (!fillFormat(p, f, fmt)) return kUnknown;
  if (!p.haveSequence || std::memcmp(&fmt, &p.format, sizeof(fmt)) != 0) {
    const int r = p.params.pfnSequenceCallback(p.params.pUserData, &fmt);
    if (r == 0) return kUnknown;
    p.surfaces = r > 1 ? unsigned(r) : p.params.ulMaxNumDecodeSurfaces;
    p.format = fmt;
    p.haveSequence = true;
  }
  CUVIDPICPARAMS pic{};
  pic.PicWidthInMbs = int(fmt.coded_width / 16);
  pic.FrameHeightInMbs = int(fmt.coded_height / 16);
  pic.CurrPicIdx = int(p.nextPicture++ % (p.surfaces ? p.surfaces : 1));
  pic.intra_pic_flag = f->key_frame ? 1 : 0;
  pictureBeingDecoded = f;
  const int decoded = p.params.pfnDecodePicture(p.params.pUserData, &pic);
  pictureBeingDecoded = nullptr;
  if (!decoded) return kUnknown;
  CUVIDPARSERDISPINFO disp{};
  disp.picture_index = pic.CurrPicIdx;
  disp.progressive_frame = 1;
  disp.timestamp = f->pts;
  p.held.push_back(disp);
  return displayHeld(p, p.params.ulMaxDisplayDelay);
}

// Displays pictures until at most `keep` are held back, as NVIDIA's parser does with
// ulMaxDisplayDelay (and with none at the end of the stream).
CUresult displayHeld(FakeParser& p, size_t keep) {
  while (p.held.size() > keep) {
    CUVIDPARSERDISPINFO disp = p.held.front();
    p.held.pop_front();
    if (!p.params.pfnDisplayPicture(p.params.pUserData, &disp)) return kUnknown;
  }
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

// ---- CUDA driver ----

CUresult cuInit(unsigned int) { return deviceCount() > 0 ? CUDA_SUCCESS : kNoDevice; }
CUresult cuGetErrorName(CUresult r, const char** s) {
  *s = r == kNoDevice         ? "CUDA_ERROR_NO_DEVICE"
       : r == kInvalidContext ? "CUDA_ERROR_INVALID_CONTEXT"
                              : "CUDA_ERROR_UNKNOWN";
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult r, const char** s) {
  *s = r == kNoDevice         ? "no CUDA-capable device is detected"
       : r == kInvalidContext ? "invalid device context"
                              : "unknown error";
  return CUDA_SUCCESS;
}
CUresult cuDriverGetVersion(int* v) {
  *v = 13000;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int* n) {
  *n = deviceCount();
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice* d, int i) {
  if (i < 0 || i >= deviceCount() || i >= 16) return kInvalidValue;
  *d = i;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char* name, int len, CUdevice) {
  std::snprintf(name, size_t(len), "Emulated GPU");
  return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t* b, CUdevice) {
  *b = size_t(1) << 30;
  return CUDA_SUCCESS;
}
CUresult cuDeviceComputeCapability(int* major, int* minor, CUdevice) {
  *major = 9;
  *minor = 0;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice d) {
  contexts[d].device = d;
  contexts[d].retains++;
  *ctx = reinterpret_cast<CUcontext>(&contexts[d]);
  live.primaryContexts++;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
  contexts[d].retains--;
  live.primaryContexts--;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxGetState(CUdevice d, unsigned int* flags, int* active) {
  if (d < 0 || d >= 16) return kInvalidValue;
  *flags = contexts[d].flags;
  *active = contexts[d].retains > 0;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice d, unsigned int flags) {
  if (d < 0 || d >= 16) return kInvalidValue;
  contexts[d].flags = flags;
  return CUDA_SUCCESS;
}
// The unversioned names are the ones FFmpeg loads.
CUresult cuDevicePrimaryCtxRelease(CUdevice d) { return cuDevicePrimaryCtxRelease_v2(d); }
CUresult cuDevicePrimaryCtxSetFlags(CUdevice d, unsigned int flags) { return cuDevicePrimaryCtxSetFlags_v2(d, flags); }
CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice d) {
  if (d < 0 || d >= deviceCount()) return kInvalidValue;
  switch (int(attribute)) {
    case 14:
      *value = 512;
      return CUDA_SUCCESS;  // CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT, asked by FFmpeg's frames
    default:
      return unsupported("cuDeviceGetAttribute of this attribute");
  }
}
CUresult cuCtxGetDevice(CUdevice* d) {
  if (CUresult r = needContext()) return r;
  *d = reinterpret_cast<FakeContext*>(contextStack.back())->device;
  return CUDA_SUCCESS;
}
CUresult cuCtxPushCurrent_v2(CUcontext ctx) {
  if (!ctx) return kInvalidContext;
  contextStack.push_back(ctx);
  return CUDA_SUCCESS;
}
CUresult cuCtxPopCurrent_v2(CUcontext* ctx) {
  if (contextStack.empty()) return kInvalidContext;
  if (ctx) *ctx = contextStack.back();
  contextStack.pop_back();
  return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  if (CUresult r = needContext()) return r;
  *p = asDevice(std::malloc(bytes));
  live.deviceAllocations++;
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  if (CUresult r = needContext()) return r;
  std::free(reinterpret_cast<void*>(uintptr_t(p)));
  live.deviceAllocations--;
  return CUDA_SUCCESS;
}
CUresult cuMemHostAlloc(void** p, size_t bytes, unsigned int) {
  if (CUresult r = needContext()) return r;
  *p = std::malloc(bytes);
  live.hostAllocations++;
  return CUDA_SUCCESS;
}
CUresult cuMemFreeHost(void* p) {
  if (CUresult r = needContext()) return r;
  std::free(p);
  live.hostAllocations--;
  return CUDA_SUCCESS;
}
// Copies on a stream happen only when the stream (or an event recorded after them) is waited
// for, so code that reads a host buffer before waiting for its copy reads stale bytes.
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  if (CUresult r = needContext()) return r;
  const void* from = reinterpret_cast<const void*>(uintptr_t(src));
  if (!stream) {
    std::memcpy(dst, from, bytes);
    return CUDA_SUCCESS;
  }
  auto* s = reinterpret_cast<FakeStream*>(stream);
  std::lock_guard<std::mutex> lock(s->mu);
  s->copies.push_back({dst, from, bytes});
  return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream* s, unsigned int) {
  if (CUresult r = needContext()) return r;
  *s = reinterpret_cast<CUstream>(new FakeStream());
  live.streams++;
  return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_v2(CUstream stream) {
  if (CUresult r = needContext()) return r;
  auto* s = reinterpret_cast<FakeStream*>(stream);
  s->runUpTo(SIZE_MAX);  // the driver finishes a destroyed stream's work
  delete s;
  live.streams--;
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream stream) {
  if (CUresult r = needContext()) return r;
  if (stream) reinterpret_cast<FakeStream*>(stream)->runUpTo(SIZE_MAX);
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned int) { return needContext(); }
CUresult cuEventCreate(CUevent* e, unsigned int) {
  if (CUresult r = needContext()) return r;
  *e = reinterpret_cast<CUevent>(new FakeEvent());
  live.events++;
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent e) {
  if (CUresult r = needContext()) return r;
  delete reinterpret_cast<FakeEvent*>(e);
  live.events--;
  return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent event, CUstream stream) {
  if (CUresult r = needContext()) return r;
  auto* e = reinterpret_cast<FakeEvent*>(event);
  e->stream = reinterpret_cast<FakeStream*>(stream);
  if (e->stream) {
    std::lock_guard<std::mutex> lock(e->stream->mu);
    e->upTo = e->stream->copies.size();
  }
  return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent event) {
  if (CUresult r = needContext()) return r;
  auto* e = reinterpret_cast<FakeEvent*>(event);
  if (e->stream) e->stream->runUpTo(e->upTo);
  return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(CUmodule* m, const void* image) {
  if (CUresult r = needContext()) return r;
  if (!std::strstr(static_cast<const char*>(image), ".entry tvl_convert_frame")) return kInvalidPtx;
  *m = reinterpret_cast<CUmodule>(new int(0));
  live.modules++;
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) {
  if (CUresult r = needContext()) return r;
  delete reinterpret_cast<int*>(m);
  live.modules--;
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction* f, CUmodule, const char* name) {
  if (std::strcmp(name, "tvl_convert_frame") != 0) return kNotFound;
  static int function;
  *f = reinterpret_cast<CUfunction>(&function);
  return CUDA_SUCCESS;
}

// Runs the kernel as the GPU would: one call per thread of the grid, each thread finding its
// pixel from its block and thread index (see cuda/frame_kernel.cu).
CUresult cuLaunchKernel(CUfunction, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned, CUstream, void** args, void** extra) {
  if (CUresult r = needContext()) return r;
  if (!args || extra || gz != 1 || bz != 1 || bx * by > 1024) return kInvalidValue;
  const auto& surface = *static_cast<const tvl::gpu::YuvSurface*>(args[0]);
  const auto& params = *static_cast<const tvl::gpu::ConvertParams*>(args[1]);
  void* dst = *static_cast<void**>(args[2]);
  for (unsigned y = 0; y < gy * by; y++)
    for (unsigned x = 0; x < gx * bx; x++)
      if (int(x) < params.outW && int(y) < params.outH) tvl::gpu::writePixel(surface, params, int(x), int(y), dst);
  live.kernelLaunches++;
  return CUDA_SUCCESS;
}

// ---- NVDEC (libnvcuvid) ----

CUresult cuvidGetDecoderCaps(CUVIDDECODECAPS* caps) {
  if (CUresult r = needContext()) return r;
  const bool deepCodec = caps->eCodecType == cudaVideoCodec_HEVC || caps->eCodecType == cudaVideoCodec_VP9 ||
                         caps->eCodecType == cudaVideoCodec_AV1;
  caps->bIsSupported = codecId(caps->eCodecType) != AV_CODEC_ID_NONE &&
                       caps->eChromaFormat == cudaVideoChromaFormat_420 &&
                       (caps->nBitDepthMinus8 == 0 || (deepCodec && caps->nBitDepthMinus8 == 2));
  caps->nMaxWidth = caps->nMaxHeight = 8192;
  caps->nMinWidth = caps->nMinHeight = 48;
  caps->nMaxMBCount = (8192 / 16) * (8192 / 16);
  caps->nOutputFormatMask = (1u << cudaVideoSurfaceFormat_NV12) | (1u << cudaVideoSurfaceFormat_P016);
  return CUDA_SUCCESS;
}

CUresult cuvidCreateDecoder(CUvideodecoder* out, CUVIDDECODECREATEINFO* ci) {
  if (CUresult r = needContext()) return r;
  const bool deep = ci->bitDepthMinus8 > 0;
  if (ci->ChromaFormat != cudaVideoChromaFormat_420 || ci->ulNumDecodeSurfaces < 1 || ci->ulNumDecodeSurfaces > 32 ||
      ci->ulNumOutputSurfaces < 1 ||
      ci->OutputFormat != (deep ? cudaVideoSurfaceFormat_P016 : cudaVideoSurfaceFormat_NV12) ||
      ci->ulTargetWidth == 0 || ci->ulTargetHeight == 0 ||
      ci->ulTargetWidth > (ci->ulMaxWidth ? ci->ulMaxWidth : ci->ulWidth))  // 0: no reconfiguring
    return kInvalidValue;
  auto* d = new FakeDecoder();
  d->info = *ci;
  d->width = int(ci->ulTargetWidth);
  d->height = int(ci->ulTargetHeight);
  d->bitDepth = int(ci->bitDepthMinus8) + 8;
  d->bytesPerSample = deep ? 2 : 1;
  d->pitch = (d->width * d->bytesPerSample + 511) & ~511;  // wider than the picture, as NVDEC's are
  const size_t bytes = size_t(d->pitch) * size_t((d->height + 1) & ~1) * 3 / 2;
  d->surfaces.assign(ci->ulNumDecodeSurfaces, std::vector<uint8_t>(bytes, 0x5a));
  d->status.assign(ci->ulNumDecodeSurfaces, cuvidDecodeStatus_Invalid);
  *out = reinterpret_cast<CUvideodecoder>(d);
  live.decoders++;
  return CUDA_SUCCESS;
}

CUresult cuvidDestroyDecoder(CUvideodecoder h) {
  if (CUresult r = needContext()) return r;
  auto* d = reinterpret_cast<FakeDecoder*>(h);
  delete d;
  live.decoders--;
  return CUDA_SUCCESS;
}

CUresult cuvidDecodePicture(CUvideodecoder h, CUVIDPICPARAMS* pic) {
  if (CUresult r = needContext()) return r;
  auto* d = reinterpret_cast<FakeDecoder*>(h);
  if (pic->CurrPicIdx < 0 || size_t(pic->CurrPicIdx) >= d->surfaces.size()) return kInvalidValue;
  std::lock_guard<std::mutex> lock(d->mu);
  const AVFrame* f = pictureBeingDecoded;  // set while our parser calls back
  bool decoded = true;
  if (!f) {
    // FFmpeg's hwaccel: the picture's bitstream, which the emulated NVDEC must decode itself.
    if (!pic->pBitstreamData || pic->nBitstreamDataLen == 0) return kInvalidValue;
    std::vector<uint8_t> bitstream;
    const cudaVideoCodec c = d->info.CodecType;
    if (c == cudaVideoCodec_H264) {
      if (!rebuildH264Headers(*pic, bitstream))
        return unsupported("cuvidDecodePicture of an H.264 picture with POC type 1, fields or scaling matrices");
    } else if (c != cudaVideoCodec_VP8 && c != cudaVideoCodec_VP9 && c != cudaVideoCodec_JPEG) {
      return unsupported("cuvidDecodePicture of HEVC, AV1 or MPEG pictures parsed by the application");
    }
    bitstream.insert(bitstream.end(), pic->pBitstreamData, pic->pBitstreamData + pic->nBitstreamDataLen);
    f = decodePictureBitstream(*d, bitstream);
    decoded = f != nullptr;
    live.hwaccelPictures++;
  }
  if (f && !fitsDecoder(*d, f)) return kInvalidValue;
  if (f) writeSurface(*d, f, d->surfaces[size_t(pic->CurrPicIdx)].data());
  d->status[size_t(pic->CurrPicIdx)] = !decoded || f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)
                                           ? cuvidDecodeStatus_Error
                                           : cuvidDecodeStatus_Success;
  live.picturesDecoded++;
  return CUDA_SUCCESS;
}

CUresult cuvidGetDecodeStatus(CUvideodecoder h, int index, CUVIDGETDECODESTATUS* status) {
  if (CUresult r = needContext()) return r;
  auto* d = reinterpret_cast<FakeDecoder*>(h);
  if (index < 0 || size_t(index) >= d->status.size()) return kInvalidValue;
  *status = {};
  status->decodeStatus = d->status[size_t(index)];
  return CUDA_SUCCESS;
}

CUresult cuvidMapVideoFrame64(CUvideodecoder h, int index, unsigned long long* ptr, unsigned int* pitch,
                              CUVIDPROCPARAMS*) {
  if (CUresult r = needContext()) return r;
  auto* d = reinterpret_cast<FakeDecoder*>(h);
  std::lock_guard<std::mutex> lock(d->mu);
  if (index < 0 || size_t(index) >= d->surfaces.size() || d->status[size_t(index)] == cuvidDecodeStatus_Invalid)
    return kInvalidValue;
  if (d->mapped >= int(d->info.ulNumOutputSurfaces)) return kInvalidValue;
  d->mapped++;
  live.mappedFrames++;
  *ptr = asDevice(d->surfaces[size_t(index)].data());
  *pitch = unsigned(d->pitch);
  return CUDA_SUCCESS;
}

CUresult cuvidUnmapVideoFrame64(CUvideodecoder h, unsigned long long) {
  if (CUresult r = needContext()) return r;
  auto* d = reinterpret_cast<FakeDecoder*>(h);
  std::lock_guard<std::mutex> lock(d->mu);
  if (d->mapped == 0) return kInvalidValue;
  d->mapped--;
  live.mappedFrames--;
  return CUDA_SUCCESS;
}

CUresult cuvidCreateVideoParser(CUvideoparser* out, CUVIDPARSERPARAMS* params) {
  const AVCodec* codec = avcodec_find_decoder(codecId(params->CodecType));
  if (!codec || !params->pfnSequenceCallback || !params->pfnDecodePicture || !params->pfnDisplayPicture)
    return kInvalidValue;
  auto* p = new FakeParser();
  p->params = *params;
  p->ctx = avcodec_alloc_context3(codec);
  p->ctx->thread_count = 1;
  const CUVIDEOFORMATEX* ext = params->pExtVideoInfo;
  if (ext && ext->format.seqhdr_data_length > 0 && ext->format.seqhdr_data_length <= sizeof(ext->raw_seqhdr_data)) {
    p->ctx->extradata =
        static_cast<uint8_t*>(av_mallocz(ext->format.seqhdr_data_length + AV_INPUT_BUFFER_PADDING_SIZE));
    std::memcpy(p->ctx->extradata, ext->raw_seqhdr_data, ext->format.seqhdr_data_length);
    p->ctx->extradata_size = int(ext->format.seqhdr_data_length);
  }
  if (avcodec_open2(p->ctx, codec, nullptr) < 0) {
    avcodec_free_context(&p->ctx);
    delete p;
    return kInvalidValue;
  }
  p->packet = av_packet_alloc();
  p->frame = av_frame_alloc();
  *out = reinterpret_cast<CUvideoparser>(p);
  live.parsers++;
  return CUDA_SUCCESS;
}

CUresult cuvidParseVideoData(CUvideoparser h, CUVIDSOURCEDATAPACKET* data) {
  auto* p = reinterpret_cast<FakeParser*>(h);
  CUresult result = CUDA_SUCCESS;
  if (data->payload_size > 0) {
    if (av_new_packet(p->packet, int(data->payload_size)) < 0) return kUnknown;
    std::memcpy(p->packet->data, data->payload, data->payload_size);
    p->packet->pts = (data->flags & CUVID_PKT_TIMESTAMP) ? data->timestamp : AV_NOPTS_VALUE;
    const int r = avcodec_send_packet(p->ctx, p->packet);
    av_packet_unref(p->packet);
    if (r < 0 && r != AVERROR(EAGAIN)) result = kInvalidValue;
  }
  if (data->flags & CUVID_PKT_ENDOFSTREAM) avcodec_send_packet(p->ctx, nullptr);
  while (avcodec_receive_frame(p->ctx, p->frame) == 0) {
    const CUresult r = deliverPicture(*p, p->frame);
    av_frame_unref(p->frame);
    if (r != CUDA_SUCCESS) return r;
  }
  // A parser lives on after the end of the stream only to be destroyed; NVIDIA's can take a new
  // stream after ENDOFSTREAM, and so does this one.
  if (data->flags & CUVID_PKT_ENDOFSTREAM) {
    if (CUresult r = displayHeld(*p, 0)) return r;
    avcodec_flush_buffers(p->ctx);
  }
  return result;
}

CUresult cuvidDestroyVideoParser(CUvideoparser h) {
  auto* p = reinterpret_cast<FakeParser*>(h);
  avcodec_free_context(&p->ctx);
  av_packet_free(&p->packet);
  av_frame_free(&p->frame);
  delete p;
  live.parsers--;
  return CUDA_SUCCESS;
}

// Entry points FFmpeg's loader requires (it refuses a driver without them) that no TVL path
// uses. Declared without parameters: the caller's arguments are ignored, which the C calling
// convention allows.
#define TVL_NOT_EMULATED(name) \
  CUresult name() { return unsupported(#name); }
TVL_NOT_EMULATED(cuCtxCreate_v2)
TVL_NOT_EMULATED(cuCtxDestroy_v2)
TVL_NOT_EMULATED(cuCtxSetLimit)
TVL_NOT_EMULATED(cuDevicePrimaryCtxReset)
TVL_NOT_EMULATED(cuMemAllocPitch_v2)
TVL_NOT_EMULATED(cuMemAllocManaged)
TVL_NOT_EMULATED(cuMemsetD8Async)
TVL_NOT_EMULATED(cuMemcpy)
TVL_NOT_EMULATED(cuMemcpyAsync)
TVL_NOT_EMULATED(cuMemcpy2D_v2)
TVL_NOT_EMULATED(cuMemcpy2DAsync_v2)
TVL_NOT_EMULATED(cuMemcpyHtoD_v2)
TVL_NOT_EMULATED(cuMemcpyHtoDAsync_v2)
TVL_NOT_EMULATED(cuMemcpyDtoH_v2)
TVL_NOT_EMULATED(cuMemcpyDtoD_v2)
TVL_NOT_EMULATED(cuMemcpyDtoDAsync_v2)
TVL_NOT_EMULATED(cuStreamQuery)
TVL_NOT_EMULATED(cuStreamAddCallback)
TVL_NOT_EMULATED(cuEventQuery)
TVL_NOT_EMULATED(cuLinkCreate)
TVL_NOT_EMULATED(cuLinkAddData)
TVL_NOT_EMULATED(cuLinkComplete)
TVL_NOT_EMULATED(cuLinkDestroy)
TVL_NOT_EMULATED(cuModuleGetGlobal)
TVL_NOT_EMULATED(cuTexObjectCreate)
TVL_NOT_EMULATED(cuTexObjectDestroy)
TVL_NOT_EMULATED(cuArray3DCreate_v2)
TVL_NOT_EMULATED(cuArrayDestroy)
TVL_NOT_EMULATED(cuGLGetDevices_v2)
TVL_NOT_EMULATED(cuGraphicsGLRegisterImage)
TVL_NOT_EMULATED(cuGraphicsUnregisterResource)
TVL_NOT_EMULATED(cuGraphicsMapResources)
TVL_NOT_EMULATED(cuGraphicsUnmapResources)
TVL_NOT_EMULATED(cuGraphicsSubResourceGetMappedArray)
TVL_NOT_EMULATED(cuGraphicsResourceGetMappedPointer_v2)
TVL_NOT_EMULATED(cuvidReconfigureDecoder)
TVL_NOT_EMULATED(cuvidCtxLockCreate)
TVL_NOT_EMULATED(cuvidCtxLockDestroy)
TVL_NOT_EMULATED(cuvidCtxLock)
TVL_NOT_EMULATED(cuvidCtxUnlock)
TVL_NOT_EMULATED(cuvidCreateVideoSource)
TVL_NOT_EMULATED(cuvidCreateVideoSourceW)
TVL_NOT_EMULATED(cuvidDestroyVideoSource)
TVL_NOT_EMULATED(cuvidSetVideoSourceState)
TVL_NOT_EMULATED(cuvidGetVideoSourceState)
TVL_NOT_EMULATED(cuvidGetSourceVideoFormat)
TVL_NOT_EMULATED(cuvidGetSourceAudioFormat)
#undef TVL_NOT_EMULATED

}  // extern "C"
