{
  "variables": {
    "tvl_common": "<!(node -p \"require('@tvl/native-common').root\")"
  },
  "targets": [
    {
      "target_name": "tvl_nvdec",
      "sources": ["addon.cc"],
      "actions": [
        {
          "action_name": "embed_frame_kernel_ptx",
          "inputs": ["<(tvl_common)/cuda/frame_kernel.cu", "<(tvl_common)/include/tvl/gpu/frame_kernel.h"],
          "outputs": ["<(INTERMEDIATE_DIR)/tvl_frame_kernel_ptx.h"],
          "action": ["node", "<(tvl_common)/bin/tvl-embed-ptx.cjs", "<(INTERMEDIATE_DIR)/tvl_frame_kernel_ptx.h"]
        }
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(tvl_common)/include",
        "<(INTERMEDIATE_DIR)",
        "."
      ],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "<!@(node <(tvl_common)/warning-flags.cjs)", "-fvisibility=hidden", "<!@(node <(tvl_common)/ffmpeg-flags.cjs --cflags libavformat libavcodec libavutil ffnvcodec)"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "libraries": ["<!@(node <(tvl_common)/ffmpeg-flags.cjs --libs libavformat libavcodec libavutil)", "-ldl"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
