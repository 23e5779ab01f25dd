// What an addon reports about a video at open: the stream facts (display size, codec, colour,
// rotation, container) gathered from the demuxer in one place, so every addon reports them alike.
#pragma once
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
}

#include "tvl/colour.h"
#include "tvl/demuxer.h"
#include "tvl/output.h"

namespace tvl {

struct VideoDescription {
  int width = 0;  // display size: rotation applied
  int height = 0;
  std::string codec;    // the codec, by FFmpeg's codec name ("h264", "hevc", "av1"): the same for every backend
  std::string decoder;  // what decodes it: FFmpeg's decoder ("h264", "libdav1d"), "nvdec" or "opencv"
  std::string profile;
  std::string pixelFormat;
  int bitDepth = 8;
  ColourSpec colour;
  int rotation = 0;
  std::string container;
};

// `decoder`: the name of what decodes the stream (see VideoDescription::decoder).
inline VideoDescription describeVideo(const Demuxer& demuxer, const std::string& decoder) {
  const AVCodecParameters* par = demuxer.stream()->codecpar;
  const AVPixelFormat fmt = AVPixelFormat(par->format);
  VideoDescription d;
  d.rotation = demuxer.rotation();
  const bool swap = rotationSwapsAxes(d.rotation);
  d.width = swap ? par->height : par->width;
  d.height = swap ? par->width : par->height;
  d.codec = avcodec_get_name(par->codec_id);
  d.decoder = decoder;
  const char* profile = avcodec_profile_name(par->codec_id, par->profile);
  d.profile = profile ? profile : "";
  const char* fmtName = av_get_pix_fmt_name(fmt);
  d.pixelFormat = fmtName ? fmtName : "unknown";
  d.bitDepth = bitDepthOf(fmt);
  d.colour = resolveColour(par->color_space, par->color_range, fmt, par->width, par->height);
  d.container = demuxer.format()->iformat->name;
  return d;
}

}  // namespace tvl
