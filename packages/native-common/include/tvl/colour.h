// Colour maths shared by every backend: which YUV->RGB matrix and range a stream uses, and the
// matrix itself (for backends, like CUDA kernels, that convert without swscale). Nothing here
// hard-codes BT.601: a stream that states its matrix gets it; one that does not gets the usual
// guess from its size (HD and larger: BT.709, smaller: BT.601), reported as guessed.
#pragma once
#include <cmath>
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
    case Matrix::BT601:
      return "bt601";
    case Matrix::BT709:
      return "bt709";
    case Matrix::BT2020:
      return "bt2020";
  }
  return "bt601";
}

inline const char* rangeName(Range r) { return r == Range::Full ? "full" : "limited"; }

// Full-range "JPEG" pixel formats carry their range in the format itself.
inline bool isFullRangeFormat(AVPixelFormat f) {
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P || f == AV_PIX_FMT_YUVJ440P ||
         f == AV_PIX_FMT_YUVJ411P;
}

inline ColourSpec resolveColour(AVColorSpace space, AVColorRange range, AVPixelFormat format, int width, int height) {
  ColourSpec c;
  switch (space) {
    case AVCOL_SPC_BT709:
      c.matrix = Matrix::BT709;
      break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      c.matrix = Matrix::BT2020;
      break;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC:
    case AVCOL_SPC_SMPTE240M:
      c.matrix = Matrix::BT601;
      break;
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
    case Matrix::BT601:
      kr = 0.299;
      kb = 0.114;
      return;
    case Matrix::BT709:
      kr = 0.2126;
      kb = 0.0722;
      return;
    case Matrix::BT2020:
      kr = 0.2627;
      kb = 0.0593;
      return;
  }
}

// YUV->RGB for normalised code values: R,G,B in [0,1] from Y, U, V given as fractions of the
// maximum code value (code / (2^bits - 1)). rgb = m * (yuv - offset). Used by GPU kernels.
struct YuvToRgb {
  float m[3][3];
  float offset[3];
};

inline YuvToRgb yuvToRgbMatrix(const ColourSpec& c, int bitDepth = 8) {
  double kr = 0.299, kb = 0.114;
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

// An RGB->RGB affine map (rgb' = a * rgb + b, 0..255 units) that turns RGB converted with the
// wrong YUV matrix/range (`assumed`) into RGB with the right one (`actual`): undo the assumed
// conversion back to YUV, then apply the actual one. For decoders that convert with fixed
// defaults (OpenCV: BT.601, range from the pixel format) and give no way to change them.
struct RgbCorrection {
  float a[3][3];
  float b[3];
  bool identity;
};

inline RgbCorrection rgbCorrection(const ColourSpec& assumed, const ColourSpec& actual, int bitDepth = 8) {
  const YuvToRgb from = yuvToRgbMatrix(assumed, bitDepth);
  const YuvToRgb to = yuvToRgbMatrix(actual, bitDepth);
  // Inverse of from.m (3x3, by cofactors).
  const auto& m = from.m;
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  double inv[3][3];
  inv[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
  inv[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
  inv[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
  inv[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
  inv[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
  inv[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
  inv[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
  inv[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
  inv[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
  // yuv = inv * rgb_assumed + off_from;  rgb_actual = to.m * (yuv - off_to)
  RgbCorrection c{};
  c.identity = true;
  for (int i = 0; i < 3; i++) {
    double bi = 0;
    for (int j = 0; j < 3; j++) {
      double aij = 0;
      for (int k = 0; k < 3; k++) aij += double(to.m[i][k]) * inv[k][j];
      c.a[i][j] = float(aij);
      bi += double(to.m[i][j]) * (double(from.offset[j]) - double(to.offset[j]));
      if (std::abs(aij - (i == j ? 1.0 : 0.0)) > 1e-6) c.identity = false;
    }
    c.b[i] = float(bi * 255.0);
    if (std::abs(c.b[i]) > 1e-4) c.identity = false;
  }
  return c;
}

inline int bitDepthOf(AVPixelFormat f) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  return d ? d->comp[0].depth : 8;
}

}  // namespace tvl
