// Colour maths shared by every backend: which YUV->RGB matrix and range a stream uses, and the
// matrix itself (for backends, like CUDA kernels, that convert without swscale). Nothing here
// hard-codes BT.601: a stream that states its matrix gets it; one that does not gets the usual
// guess from its size (HD and larger: BT.709, smaller: BT.601), reported as guessed.
#pragma once
#include <string>

extern "C" {
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>
}

namespace tvl {

enum class Matrix { BT601, BT709, BT2020 };
enum class Range { Limited, Full };

struct ColourSpec {
  Matrix matrix = Matrix::BT601;
  Range range = Range::Limited;
  bool matrixGuessed = false;
};

inline const char* matrixName(Matrix m) {
  switch (m) {
    case Matrix::BT601: return "bt601";
    case Matrix::BT709: return "bt709";
    case Matrix::BT2020: return "bt2020";
  }
  return "bt601";
}

inline const char* rangeName(Range r) { return r == Range::Full ? "full" : "limited"; }

// Full-range "JPEG" pixel formats carry their range in the format itself.
inline bool isFullRangeFormat(AVPixelFormat f) {
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P ||
         f == AV_PIX_FMT_YUVJ440P || f == AV_PIX_FMT_YUVJ411P;
}

inline ColourSpec resolveColour(AVColorSpace space, AVColorRange range, AVPixelFormat format, int width,
                                int height) {
  ColourSpec c;
  switch (space) {
    case AVCOL_SPC_BT709: c.matrix = Matrix::BT709; break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: c.matrix = Matrix::BT2020; break;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC:
    case AVCOL_SPC_SMPTE240M: c.matrix = Matrix::BT601; break;
    default:
      c.matrix = (width >= 1280 || height > 576) ? Matrix::BT709 : Matrix::BT601;
      c.matrixGuessed = true;
  }
  c.range = (range == AVCOL_RANGE_JPEG || isFullRangeFormat(format)) ? Range::Full : Range::Limited;
  return c;
}

// Luma weights (Kr, Kb) of each matrix; Kg = 1 - Kr - Kb.
inline void lumaWeights(Matrix m, double& kr, double& kb) {
  switch (m) {
    case Matrix::BT601: kr = 0.299; kb = 0.114; return;
    case Matrix::BT709: kr = 0.2126; kb = 0.0722; return;
    case Matrix::BT2020: kr = 0.2627; kb = 0.0593; return;
  }
}

// YUV->RGB for normalised code values: R,G,B in [0,1] from Y, U, V given as fractions of the
// maximum code value (code / (2^bits - 1)). rgb = m * (yuv - offset). Used by GPU kernels.
struct YuvToRgb {
  float m[3][3];
  float offset[3];
};

inline YuvToRgb yuvToRgbMatrix(const ColourSpec& c, int bitDepth = 8) {
  double kr, kb;
  lumaWeights(c.matrix, kr, kb);
  const double kg = 1.0 - kr - kb;
  const double maxCode = double((1 << bitDepth) - 1);
  const double scale = double(1 << (bitDepth - 8));
  // Limited range: Y in [16, 235], C in [16, 240] (scaled for higher bit depths).
  double yOff, yScale, cScale;
  if (c.range == Range::Limited) {
    yOff = 16.0 * scale / maxCode;
    yScale = maxCode / (219.0 * scale);
    cScale = maxCode / (224.0 * scale);
  } else {
    yOff = 0.0;
    yScale = 1.0;
    cScale = 1.0;
  }
  const double cOff = 128.0 * scale / maxCode;
  YuvToRgb r{};
  r.offset[0] = float(yOff);
  r.offset[1] = float(cOff);
  r.offset[2] = float(cOff);
  // R = Y + 2(1-Kr) V;  B = Y + 2(1-Kb) U;  G = Y - (2 Kb (1-Kb)/Kg) U - (2 Kr (1-Kr)/Kg) V
  const double m[3][3] = {
      {yScale, 0.0, cScale * 2.0 * (1.0 - kr)},
      {yScale, -cScale * 2.0 * kb * (1.0 - kb) / kg, -cScale * 2.0 * kr * (1.0 - kr) / kg},
      {yScale, cScale * 2.0 * (1.0 - kb), 0.0},
  };
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) r.m[i][j] = float(m[i][j]);
  return r;
}

inline int bitDepthOf(AVPixelFormat f) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  return d ? d->comp[0].depth : 8;
}

}  // namespace tvl
