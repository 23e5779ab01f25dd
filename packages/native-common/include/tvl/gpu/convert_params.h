// Host side of the frame kernel: fills ConvertParams from what the addons already know (the
// stream's colour from colour.h, the caller's OutputSpec, the rotation) plus the optional fused
// processing of @tvl/nvvl, and describes FFmpeg frames as YuvSurfaces for the CPU twin.
#pragma once
#include <string>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
}

#include "tvl/colour.h"
#include "tvl/error.h"
#include "tvl/gpu/frame_kernel.h"
#include "tvl/output.h"

namespace tvl {
namespace gpu {

// Augmentation folded into the conversion (nvvl's sequence API). Defaults: none.
struct Processing {
  int resizeW = 0, resizeH = 0;  // 0: the output size (no crop)
  int cropX = 0, cropY = 0;
  bool flip = false;
  bool bilinear = true;
  bool ycbcr = false;
  bool normalise = false;
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
};

inline ConvertParams makeConvertParams(const ColourSpec& colour, int bitDepth, int rotation, const OutputSpec& out,
                                       const Processing& proc = Processing()) {
  ConvertParams p{};
  const YuvToRgb m = yuvToRgbMatrix(colour, bitDepth);
  for (int i = 0; i < 3; i++) {
    p.offset[i] = m.offset[i];
    for (int j = 0; j < 3; j++) p.m[i][j] = m.m[i][j];
  }
  p.maxCode = float((1 << bitDepth) - 1);
  p.outW = out.width;
  p.outH = out.height;
  p.resizeW = proc.resizeW > 0 ? proc.resizeW : out.width;
  p.resizeH = proc.resizeH > 0 ? proc.resizeH : out.height;
  p.cropX = proc.cropX;
  p.cropY = proc.cropY;
  if (p.cropX < 0 || p.cropY < 0 || p.cropX + p.outW > p.resizeW || p.cropY + p.outH > p.resizeH) {
    // Core checked the crop (nvvl's processing.ts); this keeps the kernel inside the frame.
    throw Error("TVL_INTERNAL", "crop " + std::to_string(p.outW) + "x" + std::to_string(p.outH) + " at (" +
                                    std::to_string(p.cropX) + ", " + std::to_string(p.cropY) +
                                    ") does not fit in the resized frame " + std::to_string(p.resizeW) + "x" +
                                    std::to_string(p.resizeH));
  }
  p.flip = proc.flip ? 1 : 0;
  p.rotation = rotation;
  p.interp = proc.bilinear ? kBilinear : kNearest;
  p.dtype = out.dtype == Dtype::Float32 ? kFloat32 : out.dtype == Dtype::Int32 ? kInt32 : kUint8;
  p.layout = out.layout == Layout::CHW ? kCHW : kHWC;
  p.ycbcr = proc.ycbcr ? 1 : 0;
  p.scale = out.dtype == Dtype::Float32 ? 1.f / 255.f : 1.f;
  for (int c = 0; c < 3; c++) {
    p.mean[c] = proc.normalise ? proc.mean[c] : 0.f;
    p.invStd[c] = proc.normalise ? 1.f / proc.std[c] : 1.f;
  }
  return p;
}

// Planes of a YUV picture (planar or NV12/P0xx, 8..16 bits, little-endian) as a YuvSurface: a
// software frame's own planes, or the device planes of a CUDA frame with its sw_format.
// bitDepth receives the depth the samples are read at (the maxCode the ConvertParams need).
inline YuvSurface surfaceOf(AVPixelFormat format, const uint8_t* const data[], const int linesize[], int width,
                            int height, int& bitDepth) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BE)) ||
      d->nb_components < 3 || d->comp[0].depth > 16) {
    throw Error("TVL_UNSUPPORTED_CODEC",
                std::string("pixel format '") + (d ? d->name : "?") + "' is not a YUV format the frame kernel reads");
  }
  YuvSurface s{};
  s.width = width;
  s.height = height;
  s.chromaShiftX = d->log2_chroma_w;
  s.chromaShiftY = d->log2_chroma_h;
  s.bytesPerSample = d->comp[0].depth <= 8 ? 1 : 2;
  s.sampleShift = d->comp[0].shift;  // P010: 10-bit codes in the high bits
  s.interleaved = d->comp[1].plane == d->comp[2].plane ? 1 : 0;
  s.luma = data[0];
  s.lumaPitch = linesize[0];
  s.cb = data[d->comp[1].plane];
  s.cr = data[d->comp[2].plane];
  s.chromaPitch = linesize[d->comp[1].plane];
  bitDepth = d->comp[0].depth;
  return s;
}

}  // namespace gpu
}  // namespace tvl
