// N-API glue every addon shares: reading plans, output specs, frame buffers and cancel cells from
// JavaScript, and turning tvl::Error into a JS Error with `code` (and `frameIndex`).
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "tvl/demuxer.h"
#include "tvl/describe.h"
#include "tvl/output.h"
#include "tvl/plan_executor.h"

namespace tvl {

inline Napi::Error toJsError(Napi::Env env, const std::string& code, const std::string& message, int64_t frameIndex) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  if (frameIndex >= 0) e.Set("frameIndex", Napi::Number::New(env, double(frameIndex)));
  return e;
}

// info = { width, height, codec, decoder, profile, pixelFormat, bitDepth, colourMatrix, colourRange,
//          colourMatrixGuessed, rotation, container }: @tvl/core's VideoInfo.
inline Napi::Object videoInfoToJs(Napi::Env env, const VideoDescription& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", d.width);
  o.Set("height", d.height);
  o.Set("codec", d.codec);
  o.Set("decoder", d.decoder);
  o.Set("profile", d.profile);
  o.Set("pixelFormat", d.pixelFormat);
  o.Set("bitDepth", d.bitDepth);
  o.Set("colourMatrix", matrixName(d.colour.matrix));
  o.Set("colourRange", rangeName(d.colour.range));
  o.Set("colourMatrixGuessed", d.colour.matrixGuessed);
  o.Set("rotation", d.rotation);
  o.Set("container", d.container);
  return o;
}

// index = { pts: Float64Array (seconds), keyframe: Uint8Array, state: Uint8Array (FrameState),
//           lastFrameDuration, truncated, source, identity, droppedLeading, demuxErrors }:
// @tvl/core's FrameIndexData.
inline Napi::Object frameIndexToJs(Napi::Env env, const FrameIndex& index) {
  const size_t n = index.size();
  Napi::Float64Array pts = Napi::Float64Array::New(env, n);
  Napi::Uint8Array key = Napi::Uint8Array::New(env, n);
  Napi::Uint8Array state = Napi::Uint8Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    pts[i] = index.seconds(index.frames[i].pts);
    key[i] = index.frames[i].keyframe ? 1 : 0;
    state[i] = uint8_t(index.frames[i].state);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pts", pts);
  o.Set("keyframe", key);
  o.Set("state", state);
  o.Set("lastFrameDuration", index.lastFrameDuration());
  o.Set("truncated", index.truncated);
  if (index.truncated) o.Set("truncatedReason", index.truncatedReason);
  o.Set("source", index.source == IndexSource::Decoded ? "decoded" : "packets");
  o.Set("identity", index.byPosition ? "position" : "pts");
  o.Set("droppedLeading", double(index.droppedLeading));
  o.Set("demuxErrors", double(index.demuxErrors));
  o.Set("fromCache", index.fromCache);
  return o;
}

// How every addon's open builds its frame index, from its options:
//   options.index: 'packets' (default) or 'decoded' (see tvl/frame_index_builder.h);
//   options.cachedIndex: a Buffer from session.exportIndex() (the persistent index cache), or absent.
struct IndexOptions {
  IndexMode mode = IndexMode::Packets;
  std::string cached;
};

inline IndexOptions readIndexOptions(const Napi::Value& options) {
  IndexOptions o;
  if (!options.IsObject()) return o;
  const Napi::Object obj = options.As<Napi::Object>();
  const Napi::Value index = obj.Get("index");
  if (!index.IsUndefined()) {
    // (Core validated it: 'packets' or 'decoded'.)
    if (index.IsString() && index.As<Napi::String>().Utf8Value() == "decoded") o.mode = IndexMode::Decoded;
  }
  const Napi::Value cached = obj.Get("cachedIndex");
  if (cached.IsBuffer()) {
    Napi::Buffer<char> b = cached.As<Napi::Buffer<char>>();
    o.cached.assign(b.Data(), b.Length());
  }
  return o;
}

// plan = { runs: [{ start: number, keep: number[] }] }
inline std::vector<DecodeRun> readPlan(const Napi::Object& plan) {
  std::vector<DecodeRun> runs;
  Napi::Array jsRuns = plan.Get("runs").As<Napi::Array>();
  for (uint32_t i = 0; i < jsRuns.Length(); i++) {
    Napi::Object r = jsRuns.Get(i).As<Napi::Object>();
    DecodeRun run;
    run.start = r.Get("start").As<Napi::Number>().Int64Value();
    const Napi::Value orSeek = r.Get("orSeek");
    const Napi::Value from = r.Get("from");
    if (orSeek.IsNumber() && from.IsNumber()) {
      run.orSeek = orSeek.As<Napi::Number>().Int64Value();
      run.from = from.As<Napi::Number>().Int64Value();
    }
    Napi::Array keep = r.Get("keep").As<Napi::Array>();
    for (uint32_t j = 0; j < keep.Length(); j++) run.keep.push_back(keep.Get(j).As<Napi::Number>().Int64Value());
    runs.push_back(std::move(run));
  }
  return runs;
}

// output = { width, height, dtype: 'float32'|'int32'|'uint8', layout: 'hwc'|'chw' }
inline OutputSpec readOutputSpec(const Napi::Object& o) {
  OutputSpec s;
  s.width = o.Get("width").As<Napi::Number>().Int32Value();
  s.height = o.Get("height").As<Napi::Number>().Int32Value();
  s.dtype = parseDtype(o.Get("dtype").As<Napi::String>().Utf8Value());
  s.layout = parseLayout(o.Get("layout").As<Napi::String>().Utf8Value());
  // Core validated the size; this guards the buffer arithmetic below it.
  if (s.width <= 0 || s.height <= 0)
    throw Error("TVL_INTERNAL", "output size must be positive (core validates it first)");
  return s;
}

// Frame buffers (typed arrays) stay referenced while a worker thread writes into them.
struct PinnedBuffers {
  std::vector<Napi::Reference<Napi::TypedArray>> refs;
  std::vector<void*> data;

  void pin(const Napi::Array& arr, size_t expectedBytes) {
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::TypedArray t = arr.Get(i).As<Napi::TypedArray>();
      if (t.ByteLength() != expectedBytes) {
        throw Error("TVL_INTERNAL", "frame buffer " + std::to_string(i) + " has " + std::to_string(t.ByteLength()) +
                                        " bytes, expected " + std::to_string(expectedBytes));
      }
      data.push_back(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
      refs.push_back(Napi::Persistent(t));
    }
  }
};

// An Int32Array(1) the JS side sets to 1 to cancel; pinned for the call's lifetime. Core gives
// every call made under one AbortSignal the same cell (and calls without one a cell it never
// sets), so a call only reads it: never write to it, and never keep it past the call.
struct PinnedCancel {
  Napi::Reference<Napi::Int32Array> ref;
  CancelToken token;

  void pin(const Napi::Value& v) {
    if (!v.IsTypedArray()) return;
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    if (a.ElementLength() < 1) return;
    token.cell = a.Data();
    ref = Napi::Persistent(a);
  }
};

// Base for promise-returning workers: Execute() may throw tvl::Error; the promise rejects with code.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() override {
    try {
      Run();
    } catch (const Error& e) {
      code_ = e.code();
      frameIndex_ = e.frameIndex();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "TVL_INTERNAL";
      SetError("out of memory");
    } catch (const std::exception& e) {
      code_ = "TVL_INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Result(Env())); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(toJsError(Env(), code_, e.Message(), frameIndex_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string code_ = "TVL_INTERNAL";
  int64_t frameIndex_ = -1;
};

}  // namespace tvl
