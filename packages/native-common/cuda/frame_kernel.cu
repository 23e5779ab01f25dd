// The CUDA side of tvl/gpu/frame_kernel.h: one thread per output pixel of one frame. Compiled to
// PTX (compute_75, so it JIT-compiles on Turing and every later GPU) by bin/tvl-embed-ptx.cjs and
// embedded in each GPU addon; a user needs only the NVIDIA driver.
#include "tvl/gpu/frame_kernel.h"

extern "C" __global__ void tvl_convert_frame(tvl::gpu::YuvSurface surface, tvl::gpu::ConvertParams params, void* dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= params.outW || y >= params.outH) return;
  tvl::gpu::writePixel(surface, params, x, y, dst);
}
