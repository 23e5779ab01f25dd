/* A stand-in for libcuda.so.1 for tests on machines without a GPU: it answers like a driver that
 * finds TVL_FAKE_CUDA_DEVICES GPUs (0: cuInit fails with CUDA_ERROR_NO_DEVICE). Every other call
 * succeeds and does nothing, which is enough to reach the checks after the driver. */
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
static int devices(void) {
  const char* n = getenv("TVL_FAKE_CUDA_DEVICES");
  return n ? atoi(n) : 0;
}
CUresult cuInit(unsigned flags) { (void)flags; return devices() > 0 ? 0 : 100; }
CUresult cuGetErrorName(CUresult r, const char** s) { *s = r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
CUresult cuGetErrorString(CUresult r, const char** s) { *s = r == 100 ? "no CUDA-capable device is detected" : "unknown error"; return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = devices(); return 0; }
CUresult cuDeviceGet(int* d, int i) { *d = i; return 0; }
CUresult cuDeviceGetName(char* name, int len, int d) { (void)d; strncpy(name, "Fake GPU", (size_t)len); return 0; }
CUresult cuDeviceTotalMem_v2(size_t* b, int d) { (void)d; *b = (size_t)1 << 30; return 0; }
CUresult cuDeviceComputeCapability(int* major, int* minor, int d) { (void)d; *major = 9; *minor = 0; return 0; }
#define STUB(name) CUresult name(void) { return 0; }
STUB(cuDevicePrimaryCtxRetain) STUB(cuDevicePrimaryCtxRelease_v2) STUB(cuCtxPushCurrent_v2) STUB(cuCtxPopCurrent_v2)
STUB(cuMemAlloc_v2) STUB(cuMemFree_v2) STUB(cuMemHostAlloc) STUB(cuMemFreeHost) STUB(cuMemcpyDtoHAsync_v2)
STUB(cuStreamCreate) STUB(cuStreamDestroy_v2) STUB(cuStreamSynchronize) STUB(cuStreamWaitEvent) STUB(cuEventCreate)
STUB(cuEventDestroy_v2) STUB(cuEventRecord) STUB(cuEventSynchronize) STUB(cuModuleLoadData) STUB(cuModuleUnload)
STUB(cuModuleGetFunction) STUB(cuLaunchKernel)
