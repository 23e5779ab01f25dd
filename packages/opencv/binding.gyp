{
  "targets": [
    {
      "target_name": "tvl_opencv",
      "sources": ["native/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('@tvl/native-common').include\")",
        "native"
      ],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden",
        "<!@(node scripts/opencv-cflags.cjs)",
        "<!@(pkg-config --cflags libavformat libavcodec libavutil)"
      ],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "libraries": [
        "-lopencv_videoio", "-lopencv_imgproc", "-lopencv_core",
        "<!@(pkg-config --libs libavformat libavcodec libavutil)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
