{
  "variables": {
    "tvl_common": "<!(node -p \"require('@tvl/native-common').root\")"
  },
  "targets": [
    {
      "target_name": "tvl_opencv",
      "sources": ["addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(tvl_common)/include",
        "."
      ],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden",
        "<!@(node <(tvl_common)/warning-flags.cjs)",
        "<!@(node ../scripts/opencv-cflags.cjs)",
        "<!@(node <(tvl_common)/ffmpeg-flags.cjs --cflags libavformat libavcodec libavutil)"
      ],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "libraries": [
        "-lopencv_videoio", "-lopencv_imgproc", "-lopencv_core",
        "<!@(node <(tvl_common)/ffmpeg-flags.cjs --libs libavformat libavcodec libavutil)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
