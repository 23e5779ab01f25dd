// Errors that cross into JavaScript as Errors with a `code` (see @tvl/core errors.ts).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavutil/error.h>
}

namespace tvl {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, int64_t frameIndex = -1)
      : std::runtime_error(message), code_(std::move(code)), frameIndex_(frameIndex) {}
  const std::string& code() const { return code_; }
  int64_t frameIndex() const { return frameIndex_; }

 private:
  std::string code_;
  int64_t frameIndex_;
};

inline std::string avErrorString(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

}  // namespace tvl
