// Output pixels: the last step of every CPU conversion. Takes RGB24 (already colour-converted and
// resized) and writes the caller's buffer in the requested dtype and layout, applying the stream's
// rotation in the same pass, so float32/int32 tensors never need a second pass in JavaScript.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tvl/error.h"

namespace tvl {

enum class Dtype { Float32, Int32, Uint8 };
enum class Layout { HWC, CHW };

struct OutputSpec {
  int width = 0;   // display width (after rotation)
  int height = 0;  // display height
  Dtype dtype = Dtype::Float32;
  Layout layout = Layout::HWC;

  size_t elements() const { return size_t(width) * size_t(height) * 3; }
  size_t bytes() const { return elements() * (dtype == Dtype::Uint8 ? 1 : 4); }
};

inline Dtype parseDtype(const std::string& s) {
  if (s == "float32") return Dtype::Float32;
  if (s == "int32") return Dtype::Int32;
  if (s == "uint8") return Dtype::Uint8;
  throw Error("TVL_INTERNAL", "unknown dtype '" + s + "' (core validates it first)");
}

inline Layout parseLayout(const std::string& s) {
  if (s == "hwc") return Layout::HWC;
  if (s == "chw") return Layout::CHW;
  throw Error("TVL_INTERNAL", "unknown layout '" + s + "' (core validates it first)");
}

namespace detail {

template <class T>
inline T convertSample(uint8_t v);
template <>
inline float convertSample<float>(uint8_t v) {
  return float(v) * (1.0f / 255.0f);
}
template <>
inline int32_t convertSample<int32_t>(uint8_t v) {
  return v;
}
template <>
inline uint8_t convertSample<uint8_t>(uint8_t v) {
  return v;
}

// Source pixel for output (x, y) under a clockwise rotation of the source (srcW x srcH).
inline const uint8_t* sourcePixel(const uint8_t* src, int stride, int srcW, int srcH, int rotation, int x, int y) {
  int sx, sy;
  switch (rotation) {
    case 90:
      sx = y;
      sy = srcH - 1 - x;
      break;
    case 180:
      sx = srcW - 1 - x;
      sy = srcH - 1 - y;
      break;
    case 270:
      sx = srcW - 1 - y;
      sy = x;
      break;
    default:
      sx = x;
      sy = y;
  }
  return src + size_t(sy) * stride + size_t(sx) * 3;
}

// Frames this large are written with non-temporal stores: they go to memory without first reading
// each cache line they fill (half the memory traffic), and they would not stay in the cache anyway.
constexpr size_t kStreamingBytes = size_t(1) << 20;

#if defined(__SSE2__)
// One row of samples to float32 (v / 255) or int32, streamed; the same values as convertSample.
template <class T>
inline void streamRow(const uint8_t* src, T* dst, size_t n) {
  size_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0; i++) dst[i] = convertSample<T>(src[i]);
  const __m128i zero = _mm_setzero_si128();
  const __m128 scale = _mm_set1_ps(1.0f / 255.0f);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
    const __m128i q[4] = {_mm_unpacklo_epi16(lo, zero), _mm_unpackhi_epi16(lo, zero), _mm_unpacklo_epi16(hi, zero),
                          _mm_unpackhi_epi16(hi, zero)};
    for (int k = 0; k < 4; k++) {
      if constexpr (std::is_same_v<T, float>) {
        _mm_stream_ps(dst + i + 4 * k, _mm_mul_ps(_mm_cvtepi32_ps(q[k]), scale));
      } else {
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 4 * k), q[k]);
      }
    }
  }
  for (; i < n; i++) dst[i] = convertSample<T>(src[i]);
}
#endif

template <class T>
void writeFrame(const uint8_t* src, int stride, int srcW, int srcH, int rotation, const OutputSpec& out, T* dst) {
  const int W = out.width, H = out.height;
  const size_t plane = size_t(W) * H;
#if defined(__SSE2__)
  if constexpr (!std::is_same_v<T, uint8_t>) {
    if (rotation == 0 && out.layout == Layout::HWC && out.bytes() >= kStreamingBytes) {
      for (int y = 0; y < H; y++) streamRow(src + size_t(y) * stride, dst + size_t(y) * W * 3, size_t(W) * 3);
      _mm_sfence();  // streamed stores are weakly ordered: done before the frame is reported written
      return;
    }
  }
#endif
  if (rotation == 0) {
    for (int y = 0; y < H; y++) {
      const uint8_t* row = src + size_t(y) * stride;
      if (out.layout == Layout::HWC) {
        T* d = dst + size_t(y) * W * 3;
        for (int i = 0; i < W * 3; i++) d[i] = convertSample<T>(row[i]);
      } else {
        T* r = dst + size_t(y) * W;
        T* g = r + plane;
        T* b = g + plane;
        for (int x = 0; x < W; x++) {
          r[x] = convertSample<T>(row[3 * x]);
          g[x] = convertSample<T>(row[3 * x + 1]);
          b[x] = convertSample<T>(row[3 * x + 2]);
        }
      }
    }
    return;
  }
  for (int y = 0; y < H; y++) {
    for (int x = 0; x < W; x++) {
      const uint8_t* p = sourcePixel(src, stride, srcW, srcH, rotation, x, y);
      if (out.layout == Layout::HWC) {
        T* d = dst + (size_t(y) * W + x) * 3;
        d[0] = convertSample<T>(p[0]);
        d[1] = convertSample<T>(p[1]);
        d[2] = convertSample<T>(p[2]);
      } else {
        size_t o = size_t(y) * W + x;
        dst[o] = convertSample<T>(p[0]);
        dst[o + plane] = convertSample<T>(p[1]);
        dst[o + 2 * plane] = convertSample<T>(p[2]);
      }
    }
  }
}

}  // namespace detail

// A quarter turn swaps width and height: the decoded (pre-rotation) size of a display-size output.
inline bool rotationSwapsAxes(int rotation) { return rotation == 90 || rotation == 270; }

// True when an RGB24 image of the output size can be written straight into the caller's buffer.
inline bool outputIsPlainRgb24(const OutputSpec& out, int rotation) {
  return out.dtype == Dtype::Uint8 && out.layout == Layout::HWC && rotation == 0;
}

// src: RGB24 of the pre-rotation size (srcW x srcH) with row stride `stride` bytes.
inline void writeFrame(const uint8_t* src, int stride, int srcW, int srcH, int rotation, const OutputSpec& out,
                       void* dst) {
  switch (out.dtype) {
    case Dtype::Float32:
      detail::writeFrame(src, stride, srcW, srcH, rotation, out, static_cast<float*>(dst));
      break;
    case Dtype::Int32:
      detail::writeFrame(src, stride, srcW, srcH, rotation, out, static_cast<int32_t*>(dst));
      break;
    case Dtype::Uint8:
      detail::writeFrame(src, stride, srcW, srcH, rotation, out, static_cast<uint8_t*>(dst));
      break;
  }
}

}  // namespace tvl
