// The log level of the FFmpeg OpenCV decodes with. That is the system's FFmpeg, not the copy
// linked into this addon (TVL's, whose symbols are hidden), so TVL's log callback does not reach
// it and its level is set through that library's own entry point, found among what is loaded.
#pragma once

#include <dlfcn.h>

extern "C" {
#include <libavutil/log.h>
}

#include "tvl/ffmpeg_log.h"

namespace tvl {

// OpenCV sets its FFmpeg's level to 'error' inside every open: call this after each. Quiet unless
// TVL_FFMPEG_LOG says otherwise; panic and fatal lines (printed just before an abort) still show.
inline void setOpencvFfmpegLogLevel() {
  using SetLevel = void (*)(int);
  static const SetLevel setLevel = []() -> SetLevel {
    for (const char* soname : {"libavutil.so.59", "libavutil.so.58", "libavutil.so.57", "libavutil.so.56"}) {
      if (void* lib = dlopen(soname, RTLD_NOW | RTLD_NOLOAD))
        return reinterpret_cast<SetLevel>(dlsym(lib, "av_log_set_level"));
    }
    return nullptr;  // an OpenCV built without FFmpeg, or linked statically: nothing to quieten
  }();
  if (setLevel) setLevel(std::getenv("TVL_FFMPEG_LOG") ? ffmpegLogLevel() : AV_LOG_FATAL);
}

}  // namespace tvl
