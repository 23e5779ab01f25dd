{
  "variables": {
    "tvl_common": "<!(node -p \"require('@tvl/native-common').root\")"
  },
  "targets": [
    {
      "target_name": "tvl_libav",
      "sources": ["addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(tvl_common)/include",
        "."
      ],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "<!@(node <(tvl_common)/warning-flags.cjs)", "<!@(node <(tvl_common)/ffmpeg-flags.cjs --cflags libavformat libavcodec libswscale libavutil)"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "libraries": ["<!@(node <(tvl_common)/ffmpeg-flags.cjs --libs libavformat libavcodec libswscale libavutil)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
