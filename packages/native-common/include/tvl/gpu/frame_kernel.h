// The one per-pixel conversion every GPU backend runs: sample a decoded YUV picture (NV12, P016,
// planar 4:2:0/4:2:2/4:4:4, 8 to 16 bits) at the output pixel's place, convert with the stream's
// matrix and range, and write the output dtype and layout, with resize, rotation, crop, flip and
// normalisation folded into the same pass. One function, compiled twice: by nvcc into the CUDA
// kernel (cuda/frame_kernel.cu, embedded as PTX), and by the host compiler for the CPU paths
// and the tests that check the GPU maths without a GPU.
//
// Plain C++ only (no FFmpeg, no STL): nvcc compiles this file on its own.
#pragma once
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define TVL_HD __host__ __device__ __forceinline__
#else
#define TVL_HD inline
#endif

namespace tvl {
namespace gpu {

// A decoded picture. Chroma is either interleaved (NV12/P016: one plane of UV pairs) or planar.
struct YuvSurface {
  const uint8_t* luma;
  const uint8_t* cb;  // interleaved: the UV plane
  const uint8_t* cr;  // interleaved: unused
  int lumaPitch;      // bytes per row
  int chromaPitch;
  int width;  // picture size, before rotation
  int height;
  int chromaShiftX;    // log2 of horizontal chroma subsampling (4:2:0 and 4:2:2: 1)
  int chromaShiftY;    // 4:2:0: 1
  int bytesPerSample;  // 1 or 2 (little-endian)
  int sampleShift;     // right shift to the code value: P016 holding 10-bit: 6; LSB-aligned: 0
  int interleaved;     // 1: NV12/P016
};

enum FrameDtype { kFloat32 = 0, kInt32 = 1, kUint8 = 2 };
enum FrameLayout { kHWC = 0, kCHW = 1 };
enum Interp { kNearest = 0, kBilinear = 1 };

// Everything the conversion needs besides the picture; plain data, passed to the kernel by value.
//
// Geometry, from an output pixel back to the picture: output (x, y) -> if flip, x = outW-1-x ->
// resized frame (x + cropX, y + cropY) -> display frame (the resized frame is the display frame,
// dispW x dispH after rotation, scaled to resizeW x resizeH, pixel centres aligned) -> picture
// (undo the clockwise rotation).
struct ConvertParams {
  float m[3][3];  // RGB (0..1) = m * (yuv - offset), yuv as code / maxCode
  float offset[3];
  float maxCode;   // 2^bitDepth - 1
  int outW, outH;  // output frame size
  int resizeW, resizeH;
  int cropX, cropY;  // crop offset in the resized frame (output size = crop size)
  int flip;          // 1: mirror left-right (after crop)
  int rotation;      // clockwise display rotation of the picture: 0, 90, 180, 270
  int interp;        // Interp
  int dtype;         // FrameDtype
  int layout;        // FrameLayout
  int ycbcr;         // 1: write Y, Cb, Cr (no matrix) instead of R, G, B
  float scale;       // applied to 0..255 values: 1/255 for float32 in [0, 1], 1 for 0..255
  float mean[3];     // float32 only: (v * scale - mean) / std
  float invStd[3];
};

// The kernel receives both structs by value, so the host and device layouts must agree: the
// PTX declares its parameters as 64 and 128 bytes (checked by runGpuAddonBuildChecks).
static_assert(sizeof(YuvSurface) == 64, "YuvSurface is the frame kernel's first parameter (64 bytes)");
static_assert(sizeof(ConvertParams) == 128, "ConvertParams is the frame kernel's second parameter (128 bytes)");

TVL_HD float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
TVL_HD int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

TVL_HD float readSample(const uint8_t* row, int i, const YuvSurface& s) {
  if (s.bytesPerSample == 1) return float(row[i]);
  const uint16_t v = uint16_t(row[2 * i]) | uint16_t(uint16_t(row[2 * i + 1]) << 8);
  return float(v >> s.sampleShift);
}

// Sample of plane `plane` (0: Y, 1: Cb, 2: Cr) at integer position (x, y) of that plane, clamped.
TVL_HD float planeSample(const YuvSurface& s, int plane, int x, int y) {
  if (plane == 0) {
    x = clampi(x, 0, s.width - 1);
    y = clampi(y, 0, s.height - 1);
    return readSample(s.luma + (long long)y * s.lumaPitch, x, s);
  }
  const int cw = (s.width + (1 << s.chromaShiftX) - 1) >> s.chromaShiftX;
  const int ch = (s.height + (1 << s.chromaShiftY) - 1) >> s.chromaShiftY;
  x = clampi(x, 0, cw - 1);
  y = clampi(y, 0, ch - 1);
  if (s.interleaved) return readSample(s.cb + (long long)y * s.chromaPitch, 2 * x + (plane - 1), s);
  return readSample((plane == 1 ? s.cb : s.cr) + (long long)y * s.chromaPitch, x, s);
}

// Plane value at a continuous position in that plane's pixel grid (pixel centres at integers).
TVL_HD float planeAt(const YuvSurface& s, int plane, float x, float y, int interp) {
  if (interp == kNearest) return planeSample(s, plane, int(floorf(x + 0.5f)), int(floorf(y + 0.5f)));
  const float fx = floorf(x), fy = floorf(y);
  const int x0 = int(fx), y0 = int(fy);
  const float ax = x - fx, ay = y - fy;
  const float top = planeSample(s, plane, x0, y0) * (1.f - ax) + planeSample(s, plane, x0 + 1, y0) * ax;
  const float bottom = planeSample(s, plane, x0, y0 + 1) * (1.f - ax) + planeSample(s, plane, x0 + 1, y0 + 1) * ax;
  return top * (1.f - ay) + bottom * ay;
}

// Picture coordinates of the output pixel (x, y): the geometry described at ConvertParams.
TVL_HD void sourcePosition(const YuvSurface& s, const ConvertParams& p, int x, int y, float& px, float& py) {
  if (p.flip) x = p.outW - 1 - x;
  const int rx = x + p.cropX, ry = y + p.cropY;
  const bool swap = p.rotation == 90 || p.rotation == 270;
  const int dispW = swap ? s.height : s.width;
  const int dispH = swap ? s.width : s.height;
  const float dx = (float(rx) + 0.5f) * float(dispW) / float(p.resizeW) - 0.5f;
  const float dy = (float(ry) + 0.5f) * float(dispH) / float(p.resizeH) - 0.5f;
  switch (p.rotation) {
    case 90:
      px = dy;
      py = float(s.height - 1) - dx;
      break;
    case 180:
      px = float(s.width - 1) - dx;
      py = float(s.height - 1) - dy;
      break;
    case 270:
      px = float(s.width - 1) - dy;
      py = dx;
      break;
    default:
      px = dx;
      py = dy;
  }
}

// The three output values of output pixel (x, y), in 0..255 units before scale/normalisation.
TVL_HD void convertPixel(const YuvSurface& s, const ConvertParams& p, int x, int y, float out[3]) {
  float px, py;
  sourcePosition(s, p, x, y, px, py);
  // Chroma: the sample whose block holds the nearest luma sample (replicated, as swscale's and
  // the ffmpeg CLI's default conversion does), so GPU and CPU backends agree (see the parity tests).
  const int lx = int(floorf(px + 0.5f)), ly = int(floorf(py + 0.5f));
  const float inv = 1.f / p.maxCode;
  const float yv = planeAt(s, 0, px, py, p.interp) * inv;
  const float u = planeSample(s, 1, lx >> s.chromaShiftX, ly >> s.chromaShiftY) * inv;
  const float v = planeSample(s, 2, lx >> s.chromaShiftX, ly >> s.chromaShiftY) * inv;
  if (p.ycbcr) {
    out[0] = yv * 255.f;
    out[1] = u * 255.f;
    out[2] = v * 255.f;
    return;
  }
  const float a = yv - p.offset[0], b = u - p.offset[1], c = v - p.offset[2];
  for (int i = 0; i < 3; i++) {
    out[i] = clampf(p.m[i][0] * a + p.m[i][1] * b + p.m[i][2] * c, 0.f, 1.f) * 255.f;
  }
}

// Converts and stores output pixel (x, y) of one frame at `dst`.
TVL_HD void writePixel(const YuvSurface& s, const ConvertParams& p, int x, int y, void* dst) {
  float v[3];
  convertPixel(s, p, x, y, v);
  const long long plane = (long long)p.outW * p.outH;
  const long long pixel = (long long)y * p.outW + x;
  for (int c = 0; c < 3; c++) {
    const long long i = p.layout == kHWC ? pixel * 3 + c : c * plane + pixel;
    if (p.dtype == kFloat32) {
      static_cast<float*>(dst)[i] = (v[c] * p.scale - p.mean[c]) * p.invStd[c];
    } else {
      const int q = clampi(int(floorf(v[c] + 0.5f)), 0, 255);
      if (p.dtype == kInt32)
        static_cast<int32_t*>(dst)[i] = q;
      else
        static_cast<uint8_t*>(dst)[i] = uint8_t(q);
    }
  }
}

#ifndef __CUDACC__
// The CPU twin of the kernel: the same function over every output pixel.
inline void convertFrameOnCpu(const YuvSurface& s, const ConvertParams& p, void* dst) {
  for (int y = 0; y < p.outH; y++)
    for (int x = 0; x < p.outW; x++) writePixel(s, p, x, y, dst);
}
#endif

}  // namespace gpu
}  // namespace tvl
