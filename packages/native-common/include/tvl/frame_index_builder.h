// The frame index every FFmpeg-demuxed addon opens with: entry i is the i-th frame the decoder
// presents, from decoding the file from its start. Demuxing alone (the fast path) gives packets,
// and a packet is not always a presented frame. The container proves the mapping only where it
// can; elsewhere the decoder proves it. The rule, in full (core's README explains it for users):
//
//  1. Packets are read in decode order, with pts, position and keyframe flag (Demuxer::readPackets).
//  2. Where some packets have no pts (AVI, raw elementary streams) and the codec reorders pictures,
//     presentation order cannot be read off the container: the whole file is decoded once and the
//     index is what the decoder presented (IndexSource::Decoded). The same when asked for
//     (`index: 'decoded'`). Frames are then matched to packets by byte position, which travels
//     with each picture through reordering and frame threads; timestamps would be guesses.
//  3. Otherwise packets are sorted by pts. Pictures before the first keyframe in decode order, and
//     pictures shown before it, may never be presented (a stream cut by stream copy starts with
//     P-frames whose references are gone; an open GOP's leading B-frames): when there are any, the
//     head of the file is decoded until the first keyframe comes out, and the ones that did not
//     come out are not frames; the ones that did, if decoding them reported damage, are damaged.
//     (A cut leaves fewer leading packets than a GOP; a whole GOP or more before the first
//     keyframe means a damaged keyframe the parser did not recognise: those frames keep their
//     numbers and are damaged.)
//  4. Where the demuxer reported damage and resynced, packets may be missing. If the timestamps
//     count the missing frames (every interval a whole number of frame durations), each missing
//     frame keeps its number as a Lost entry; if they cannot, every frame from the damage on is
//     Unproven. Either is an error naming the frame when asked for, never a neighbour.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tvl/demuxer.h"
#include "tvl/libav_decoder.h"

namespace tvl {

namespace index_detail {

using PacketPtr = std::unique_ptr<AVPacket, void (*)(AVPacket*)>;
inline PacketPtr newPacket() {
  return PacketPtr(av_packet_alloc(), [](AVPacket* p) { av_packet_free(&p); });
}

// Decodes from the start of the file, calling onFrame(pts, pos, corrupt) for every presented
// picture, until onFrame returns false or the stream ends.
template <class OnFrame>
void decodeFromStart(Demuxer& demuxer, const FrameIndex& packets, int threads, OnFrame onFrame) {
  demuxer.seekToStart(packets);
  decodeFromHere(demuxer, threads, onFrame);
}

template <class OnFrame>
void decodeFromHere(Demuxer& demuxer, int threads, OnFrame onFrame) {
  LibavDecoder decoder(demuxer.stream(), threads);
  PacketPtr pkt = newPacket();
  FrameInfo info;
  bool more = true;
  int failures = 0;  // in a row: a decoder that only fails is given up on, never spun on
  for (;;) {
    demuxer.cancel().check();
    int r = decoder.receive(info);
    if (r == 0) {
      failures = 0;
      if (!onFrame(info.pts, info.pos, info.corrupt)) return;
      continue;
    }
    if (r == AVERROR_EOF) return;
    if (r != AVERROR(EAGAIN)) {  // a damaged picture: decoding goes on with the next
      if (++failures > 1000) return;
      continue;
    }
    if (!more) return;
    if (!demuxer.readPacket(pkt.get())) {
      more = false;
      decoder.send(nullptr);
      continue;
    }
    int s = decoder.send(pkt.get());
    for (int tries = 0; s == AVERROR(EAGAIN) && tries < 1000; tries++) {  // the decoder wants its output taken first
      r = decoder.receive(info);
      if (r == 0 && !onFrame(info.pts, info.pos, info.corrupt)) return;
      if (r != 0 && r != AVERROR(EAGAIN)) break;
      s = decoder.send(pkt.get());
    }
    av_packet_unref(pkt.get());
  }
}

// Looks packets up by pts or by position; each packet can be claimed once.
class PacketLookup {
 public:
  PacketLookup(const std::vector<IndexEntry>& packets, bool byPosition)
      : byPosition_(byPosition), claimed_(packets.size(), false) {
    for (size_t i = 0; i < packets.size(); i++) map_.emplace(byPosition ? packets[i].pos : packets[i].pts, i);
  }
  // The packet a decoded picture came from, or -1.
  int64_t claim(int64_t pts, int64_t pos) {
    const int64_t key = byPosition_ ? pos : pts;
    if (key == AV_NOPTS_VALUE || (byPosition_ && key < 0)) return -1;
    auto range = map_.equal_range(key);
    for (auto it = range.first; it != range.second; ++it) {
      if (claimed_[it->second]) continue;
      claimed_[it->second] = true;
      return int64_t(it->second);
    }
    return -1;
  }

 private:
  bool byPosition_;
  std::unordered_multimap<int64_t, size_t> map_;
  std::vector<bool> claimed_;
};

// Rule 2: the index is what the decoder presented.
inline void decodeWholeIndex(Demuxer& demuxer, FrameIndex& index, int threads) {
  demuxer.seekToStart(index);
  const std::vector<IndexEntry> packets = std::move(index.frames);
  index.frames.clear();
  // Presentation times for a container without pts: the packets' timestamps in rising order
  // (for AVI, frame numbers), handed out to the frames in the order they are presented.
  std::vector<int64_t> times;
  times.reserve(packets.size());
  for (const IndexEntry& p : packets) times.push_back(p.dts != AV_NOPTS_VALUE ? p.dts : p.pts);
  std::sort(times.begin(), times.end());
  PacketLookup lookup(packets, index.byPosition);
  decodeFromHere(demuxer, threads, [&](int64_t pts, int64_t pos, bool) {
    const int64_t k = lookup.claim(pts, pos);
    IndexEntry e{};
    if (k >= 0) {
      e = packets[size_t(k)];
    } else {
      // A picture that matches no packet: it is the n-th presented frame, but it could never be
      // recognised again after a seek.
      e.pts = pts;
      e.dts = AV_NOPTS_VALUE;
      e.pos = pos;
      e.keyframe = false;
      e.state = FrameState::Unproven;
    }
    if (index.byPosition) {
      const size_t i = index.frames.size();
      e.pts = i < times.size() ? times[i] : (index.frames.empty() ? 0 : index.frames.back().pts + 1);
    }
    // Presentation times must rise; a decoder that presents a pts out of order is damaged input.
    if (!index.frames.empty() && e.pts <= index.frames.back().pts) {
      e.pts = index.frames.back().pts + 1;
      e.state = FrameState::Unproven;
    }
    index.frames.push_back(e);
    return true;
  });
  index.droppedLeading = 0;
  index.source = IndexSource::Decoded;
  if (index.frames.empty()) {
    throw Error("TVL_CORRUPT_DATA", "'" + demuxer.path() + "' has " + std::to_string(packets.size()) +
                                        " video packets but the decoder presented no frame");
  }
}

// Rule 3: leading pictures the decoder never presents are not frames. `decodeOrder` is the index
// before sorting.
inline void dropLeadingPictures(Demuxer& demuxer, FrameIndex& index, const std::vector<IndexEntry>& decodeOrder) {
  size_t firstKey = 0;
  while (firstKey < decodeOrder.size() && !decodeOrder[firstKey].keyframe) firstKey++;
  if (firstKey == decodeOrder.size()) return;  // no keyframe at all: nothing to measure against
  const int64_t keyPts = decodeOrder[firstKey].pts;
  // A cut mid-GOP leaves fewer leading packets than a GOP: the GOP's own keyframe was cut away.
  // A whole GOP or more before the first keyframe means that keyframe is there but damaged (the
  // parser cleared its flag): its pictures are frames of the file, damaged, and keep their numbers.
  int64_t longestGop = 0;
  for (size_t i = firstKey, last = firstKey; i < decodeOrder.size(); i++) {
    if (!decodeOrder[i].keyframe || i == firstKey) continue;
    longestGop = std::max<int64_t>(longestGop, int64_t(i - last));
    last = i;
  }
  if (firstKey > 0 && longestGop > 0 && int64_t(firstKey) >= longestGop) {
    for (size_t i = 0; i < firstKey; i++) {
      const int64_t k = index.find(decodeOrder[i].pts);
      if (k >= 0 && index.frames[size_t(k)].state == FrameState::Ok)
        index.frames[size_t(k)].state = FrameState::Corrupt;
    }
    return;
  }
  bool anyLeading = firstKey > 0;
  for (size_t i = firstKey + 1; i < decodeOrder.size() && !anyLeading; i++) anyLeading = decodeOrder[i].pts < keyPts;
  if (!anyLeading) return;

  // Decode the head (one thread: the fewest pictures in flight) until the keyframe comes out.
  // Pictures are presented in pts order, so any leading one not out by then never will be.
  std::vector<int64_t> presented;
  bool leadingDamaged = false;
  decodeFromStart(demuxer, index, 1, [&](int64_t pts, int64_t pos, bool corrupt) {
    const int64_t i = index.identify(pts, pos);
    if (i < 0) return true;
    const int64_t p = index.frames[size_t(i)].pts;
    if (p >= keyPts) return false;
    presented.push_back(p);
    leadingDamaged |= corrupt;
    return true;
  });
  std::sort(presented.begin(), presented.end());
  const size_t before = index.frames.size();
  index.frames.erase(std::remove_if(index.frames.begin(), index.frames.end(),
                                    [&](const IndexEntry& e) {
                                      return e.pts < keyPts &&
                                             !std::binary_search(presented.begin(), presented.end(), e.pts);
                                    }),
                     index.frames.end());
  index.droppedLeading = int64_t(before - index.frames.size());
  // Leading pictures the decoder does present (FFmpeg's HEVC decoder invents their missing
  // references) are damaged if any of them was: they reference each other, and no decoder can
  // conceal its way back to the picture the encoder made. A backend that cannot see concealment
  // (OpenCV) would otherwise deliver them as frames.
  if (leadingDamaged) {
    for (IndexEntry& e : index.frames)
      if (e.pts < keyPts && e.state == FrameState::Ok) e.state = FrameState::Corrupt;
  }
  if (index.frames.empty()) {
    throw Error("TVL_CORRUPT_DATA", "'" + demuxer.path() + "': the decoder presented none of its frames");
  }
}

// Rule 4: where demuxing lost packets, keep numbering only where timestamps prove it. Returns
// whether frames were lost.
inline bool accountForLostPackets(FrameIndex& index, int64_t firstPtsAfterError) {
  std::vector<IndexEntry>& f = index.frames;
  if (f.size() < 3) return false;
  std::vector<int64_t> deltas;
  for (size_t i = 1; i < f.size(); i++) deltas.push_back(f[i].pts - f[i - 1].pts);
  std::vector<int64_t> sorted = deltas;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const int64_t median = sorted[sorted.size() / 2];
  bool countable = median > 0;
  double step = 0;
  if (countable) {
    // The frame duration: the mean of the ordinary intervals (a 29.97 fps stream in a 1 ms time
    // base alternates 33 and 34).
    double sum = 0;
    int n = 0;
    for (int64_t d : deltas)
      if (d * 2 >= median && d * 2 <= median * 3) sum += double(d), n++;
    step = sum / n;
    for (int64_t d : deltas) {
      const double k = std::round(double(d) / step);
      if (k < 1 || std::abs(double(d) - k * step) > 0.25 * step) countable = false;
    }
  }
  if (!countable) {
    for (IndexEntry& e : f)
      if (e.pts >= firstPtsAfterError && e.state == FrameState::Ok) e.state = FrameState::Unproven;
    return true;
  }
  bool lostAny = false;
  std::vector<IndexEntry> filled;
  filled.reserve(f.size());
  for (size_t i = 0; i < f.size(); i++) {
    if (i > 0) {
      const int64_t gap = f[i].pts - f[i - 1].pts;
      const int64_t k = int64_t(std::round(double(gap) / step));
      for (int64_t j = 1; j < k; j++) {
        IndexEntry lost{};
        lost.pts = f[i - 1].pts + gap * j / k;
        lost.dts = AV_NOPTS_VALUE;
        lost.keyframe = false;
        lost.state = FrameState::Lost;
        filled.push_back(lost);
        lostAny = true;
      }
    }
    filled.push_back(f[i]);
  }
  f.swap(filled);
  return lostAny;
}

// Around a demuxer's report of damage: the packet read just before it most likely runs into the
// damaged bytes (the demuxer noticed at the next header), and when packets were lost, the ones
// read after it up to the next keyframe reference pictures that are gone. Either would decode to
// a concealed picture, which a backend that cannot see concealment (OpenCV) would deliver.
inline void markDamageNeighbours(FrameIndex& index, const std::vector<IndexEntry>& decodeOrder, bool lost) {
  auto mark = [&](const IndexEntry& p) {
    const int64_t i = index.find(p.pts);
    if (i >= 0 && index.frames[size_t(i)].state == FrameState::Ok) index.frames[size_t(i)].state = FrameState::Corrupt;
  };
  for (size_t r = 0; r < decodeOrder.size(); r++) {
    if (!decodeOrder[r].afterDemuxError) continue;
    if (r > 0) mark(decodeOrder[r - 1]);
    for (size_t k = r; lost && k < decodeOrder.size() && !decodeOrder[k].keyframe; k++) mark(decodeOrder[k]);
  }
}

}  // namespace index_detail

// Builds the frame index of the file `demuxer` has open (see the rule at the top). Leaves the
// demuxer at an unspecified position: the caller seeks before reading.
inline FrameIndex buildFrameIndex(Demuxer& demuxer, IndexMode mode, int threads = 0) {
  FrameIndex index = demuxer.readPackets();
  bool anyWithoutPts = false, allWithPosition = true;
  for (const IndexEntry& e : index.frames) {
    anyWithoutPts |= !e.hasPts;
    allWithPosition &= e.pos >= 0;
  }
  index.byPosition = anyWithoutPts && allWithPosition;
  int64_t firstPtsAfterError = INT64_MAX;
  bool afterError = false;
  for (const IndexEntry& e : index.frames) {
    afterError |= e.afterDemuxError;
    if (afterError) firstPtsAfterError = std::min(firstPtsAfterError, e.pts);
  }
  // Rules 3 and 4 need the packets in decode order; an ordinary file (keyframe first, nothing
  // shown before it, no damage) needs neither, and is spared the copy.
  bool leadingPossible = !index.frames.front().keyframe;
  const int64_t firstPts = index.frames.front().pts;
  for (size_t i = 1; i < index.frames.size() && !leadingPossible; i++) leadingPossible = index.frames[i].pts < firstPts;
  std::vector<IndexEntry> decodeOrder;
  if (leadingPossible || afterError) decodeOrder = index.frames;
  if (mode == IndexMode::Decoded || (index.byPosition && demuxer.reorderDelay() > 0)) {
    index_detail::decodeWholeIndex(demuxer, index, threads);
    // Rule 4 holds here too (where packets have pts to count with): a frame lost to a damaged
    // container keeps its number, so both indexes of a damaged file agree.
    if (afterError && !index.byPosition) {
      const bool lost = index_detail::accountForLostPackets(index, firstPtsAfterError);
      index_detail::markDamageNeighbours(index, decodeOrder, lost);
    }
    index.reindex();
    return index;
  }
  std::stable_sort(index.frames.begin(), index.frames.end(),
                   [](const IndexEntry& a, const IndexEntry& b) { return a.pts < b.pts; });
  index.reindex();
  if (leadingPossible) index_detail::dropLeadingPictures(demuxer, index, decodeOrder);
  if (afterError) {
    const bool lost = index_detail::accountForLostPackets(index, firstPtsAfterError);
    index_detail::markDamageNeighbours(index, decodeOrder, lost);
  }
  index.reindex();
  return index;
}

}  // namespace tvl

// ---- The persistent index (`indexCache`): a FrameIndex as bytes, and back ----
// Layout: magic, version, the fields, then the entries as they are in memory. Whatever does not
// check out (magic, version, sizes, the stream's time base, the index mode asked for) is refused,
// and the caller builds the index again: a cache entry is never trusted blindly.
namespace tvl {

namespace index_cache_detail {
constexpr uint64_t kMagic = 0x31584449564c5654ull;  // "TVLVIDX1"
constexpr uint32_t kVersion = 1;
struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t entrySize;
  int32_t tbNum, tbDen;
  int64_t entries;
  int64_t minDts;
  int64_t demuxErrors;
  int64_t droppedLeading;
  uint8_t truncated, source, byPosition, startsWithKeyframe;
  uint32_t reasonBytes;
  uint64_t checksum;  // FNV-1a over everything after the header: a damaged entry is refused
};

inline uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ uint8_t(p[i])) * 0x100000001b3ull;
  return h;
}
}  // namespace index_cache_detail

inline std::string serializeFrameIndex(const FrameIndex& index) {
  using namespace index_cache_detail;
  Header h{};
  h.magic = kMagic;
  h.version = kVersion;
  h.entrySize = sizeof(IndexEntry);
  h.tbNum = index.timeBase.num;
  h.tbDen = index.timeBase.den;
  h.entries = int64_t(index.frames.size());
  h.minDts = index.minDts;
  h.demuxErrors = index.demuxErrors;
  h.droppedLeading = index.droppedLeading;
  h.truncated = index.truncated;
  h.source = uint8_t(index.source);
  h.byPosition = index.byPosition;
  h.startsWithKeyframe = index.startsWithKeyframe;
  h.reasonBytes = uint32_t(index.truncatedReason.size());
  std::string body = index.truncatedReason;
  for (const IndexEntry& e : index.frames) {
    IndexEntry clean{};  // padding zeroed: equal indexes give equal bytes
    clean.pts = e.pts;
    clean.dts = e.dts;
    clean.duration = e.duration;
    clean.pos = e.pos;
    clean.keyframe = e.keyframe;
    clean.hasPts = e.hasPts;
    clean.afterDemuxError = e.afterDemuxError;
    clean.state = e.state;
    char raw[sizeof(IndexEntry)];
    std::memset(raw, 0, sizeof raw);
    std::memcpy(raw, &clean, sizeof clean);
    body.append(raw, sizeof raw);
  }
  h.checksum = fnv1a(body.data(), body.size());
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + body;
}

// Fills `index` from `bytes` if they are a valid index of this stream built in `mode`.
inline bool deserializeFrameIndex(const std::string& bytes, const AVStream* stream, IndexMode mode, FrameIndex& index) {
  using namespace index_cache_detail;
  Header h{};
  if (bytes.size() < sizeof h) return false;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.magic != kMagic || h.version != kVersion || h.entrySize != sizeof(IndexEntry) || h.entries <= 0) return false;
  if (h.tbNum != stream->time_base.num || h.tbDen != stream->time_base.den) return false;
  if (h.source > uint8_t(IndexSource::Decoded) ||
      (mode == IndexMode::Decoded && h.source != uint8_t(IndexSource::Decoded)))
    return false;
  if (uint64_t(h.entries) > (bytes.size() / sizeof(IndexEntry)) ||
      bytes.size() != sizeof h + h.reasonBytes + size_t(h.entries) * sizeof(IndexEntry))
    return false;
  if (fnv1a(bytes.data() + sizeof h, bytes.size() - sizeof h) != h.checksum) return false;
  FrameIndex f;
  f.timeBase = stream->time_base;
  f.minDts = h.minDts;
  f.demuxErrors = h.demuxErrors;
  f.droppedLeading = h.droppedLeading;
  f.truncated = h.truncated != 0;
  f.source = IndexSource(h.source);
  f.byPosition = h.byPosition != 0;
  f.startsWithKeyframe = h.startsWithKeyframe != 0;
  f.truncatedReason.assign(bytes.data() + sizeof h, h.reasonBytes);
  f.frames.resize(size_t(h.entries));
  std::memcpy(f.frames.data(), bytes.data() + sizeof h + h.reasonBytes, size_t(h.entries) * sizeof(IndexEntry));
  for (size_t i = 0; i < f.frames.size(); i++) {
    const IndexEntry& e = f.frames[i];
    if (uint8_t(e.state) > uint8_t(FrameState::Unproven)) return false;
    if (i > 0 && e.pts <= f.frames[i - 1].pts) return false;  // presentation order, or not an index
  }
  f.reindex();
  index = std::move(f);
  return true;
}

// The index open uses: the cached one when `cached` is a valid index of this stream built in
// `mode`, else built (FrameIndex::fromCache says which).
inline FrameIndex loadOrBuildFrameIndex(Demuxer& demuxer, IndexMode mode, int threads, const std::string& cached) {
  FrameIndex index;
  if (!cached.empty() && deserializeFrameIndex(cached, demuxer.stream(), mode, index)) {
    index.fromCache = true;
    return index;
  }
  return buildFrameIndex(demuxer, mode, threads);
}

}  // namespace tvl
