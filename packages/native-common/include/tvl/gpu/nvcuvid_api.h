// NVIDIA's video decode API (libnvcuvid.so.1, shipped with the driver), loaded at run time like
// the CUDA driver (tvl/gpu/cuda_api.h), so the addon loads where there is no GPU.
// TVL_LIBNVCUVID=<path> loads another library (unusual installs; the tests' emulated driver).
#pragma once
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

#include "tvl/error.h"
#include "tvl/gpu/cuda_api.h"

namespace tvl {

struct NvcuvidApi {
  tcuvidGetDecoderCaps* cuvidGetDecoderCaps = nullptr;
  tcuvidCreateDecoder* cuvidCreateDecoder = nullptr;
  tcuvidDestroyDecoder* cuvidDestroyDecoder = nullptr;
  tcuvidDecodePicture* cuvidDecodePicture = nullptr;
  tcuvidGetDecodeStatus* cuvidGetDecodeStatus = nullptr;
  tcuvidMapVideoFrame64* cuvidMapVideoFrame = nullptr;
  tcuvidUnmapVideoFrame64* cuvidUnmapVideoFrame = nullptr;
  tcuvidCreateVideoParser* cuvidCreateVideoParser = nullptr;
  tcuvidParseVideoData* cuvidParseVideoData = nullptr;
  tcuvidDestroyVideoParser* cuvidDestroyVideoParser = nullptr;
};

// Loads libnvcuvid once; throws TVL_NO_CUDA_DEVICE when the driver has no video decoder library.
inline const NvcuvidApi& nvcuvid() {
  static std::once_flag once;
  static NvcuvidApi api;
  static std::string failure;
  std::call_once(once, [] {
    const char* path = std::getenv("TVL_LIBNVCUVID");
    const std::string libName = path && *path ? path : "libnvcuvid.so.1";
    void* lib = dlopen(libName.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure = "the NVIDIA driver's video decoder library is missing (" + libName + ": " + dlerror() +
                "). Install the driver's video/decode component, or open with fallback: 'cpu'";
      return;
    }
    auto load = [&](auto*& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && failure.empty()) failure = libName + " lacks " + name + " (driver too old?)";
    };
    load(api.cuvidGetDecoderCaps, "cuvidGetDecoderCaps");
    load(api.cuvidCreateDecoder, "cuvidCreateDecoder");
    load(api.cuvidDestroyDecoder, "cuvidDestroyDecoder");
    load(api.cuvidDecodePicture, "cuvidDecodePicture");
    load(api.cuvidGetDecodeStatus, "cuvidGetDecodeStatus");
    load(api.cuvidMapVideoFrame, "cuvidMapVideoFrame64");
    load(api.cuvidUnmapVideoFrame, "cuvidUnmapVideoFrame64");
    load(api.cuvidCreateVideoParser, "cuvidCreateVideoParser");
    load(api.cuvidParseVideoData, "cuvidParseVideoData");
    load(api.cuvidDestroyVideoParser, "cuvidDestroyVideoParser");
  });
  if (!failure.empty()) throw Error("TVL_NO_CUDA_DEVICE", failure);
  return api;
}

}  // namespace tvl
