{
  "targets": [
    {
      "target_name": "tvl_libav",
      "sources": ["native/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('@tvl/native-common').include\")",
        "native"
      ],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "<!@(pkg-config --cflags libavformat libavcodec libswscale libavutil)"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "libraries": ["<!@(pkg-config --libs libavformat libavcodec libswscale libavutil)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
