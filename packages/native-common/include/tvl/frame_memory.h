// Memory for output frames that stays mapped between uses. A frame or batch buffer is written once
// by the decoder (a 720p float32 frame is 11 MB), and memory fresh from the kernel costs a page
// fault and a zeroed page for every 4 KiB written: a third of the CPU time of decoding to float32
// went there. Buffers handed to JavaScript come from here, as external ArrayBuffers; when V8
// collects one (nothing can see its bytes any more, not even an array dataSync() returned) its
// block goes back to a free list, already faulted in, for the next buffer of that size. Blocks
// of 2 MiB and more ask for transparent huge pages, so even first use faults 512 times less.
// Bounded: at most kMaxFreeBytes wait on the free lists (blocks of the size given back last are
// kept first); the rest is unmapped at once. Each addon library has a pool of its own.
#pragma once
#include <napi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace tvl {

class FrameMemory {
 public:
  static constexpr size_t kMaxFreeBytes = size_t(256) << 20;

  static FrameMemory& instance() {
    static FrameMemory* pool = new FrameMemory();  // never destroyed: finalizers may run at exit
    return *pool;
  }

  // A block of at least `bytes` (its size rounded up to whole pages); throws std::bad_alloc.
  void* take(size_t bytes) {
    const size_t size = roundUp(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        freeBytes_ -= size;
        return p;
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);  // a hint: ignored where THP is off
    return p;
  }

  // Returns a block from take(); any thread.
  void give(void* p, size_t bytes) {
    const size_t size = roundUp(bytes);
    std::vector<std::pair<size_t, void*>> unmap;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (freeBytes_ + size > kMaxFreeBytes) {
        // Full: blocks of other sizes go first (the work changed: raw frames, then float32 ones).
        for (auto it = free_.begin(); it != free_.end() && freeBytes_ + size > kMaxFreeBytes;) {
          if (it->first == size) {
            ++it;
            continue;
          }
          unmap.push_back(*it);
          freeBytes_ -= it->first;
          it = free_.erase(it);
        }
      }
      if (freeBytes_ + size <= kMaxFreeBytes) {
        free_.emplace(size, p);
        freeBytes_ += size;
        p = nullptr;
      }
    }
    for (auto& [n, block] : unmap) munmap(block, n);
    if (p) munmap(p, size);
  }

  // An ArrayBuffer of exactly `bytes` over a block, given back when V8 collects it.
  Napi::ArrayBuffer arrayBuffer(Napi::Env env, size_t bytes) {
    void* p = take(bytes);
    try {
      return Napi::ArrayBuffer::New(
          env, p, bytes,
          [](Napi::Env, void* data, size_t* size) {
            FrameMemory::instance().give(data, *size);
            delete size;
          },
          new size_t(bytes));
    } catch (...) {
      give(p, bytes);
      throw;
    }
  }

 private:
  static constexpr size_t kHugePage = size_t(2) << 20;
  static size_t roundUp(size_t bytes) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    return (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  }

  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t freeBytes_ = 0;
};

}  // namespace tvl
