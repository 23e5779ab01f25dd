// The JavaScript session object every addon hands back from open (openOffThread, at the end),
// written once:
//   session.decode(plan, output, buffers, cancelCell[, options])
//     -> Promise<{ framesDecoded, seeks, position, continuable, delivered: Float64Array, cached: Float64Array,
//                  seekCost? }>
//   session.close() -> Promise<void>
//   session.exportIndex() -> Buffer | null       (the frame index, for the persistent index cache)
//   session.allocate(bytes) -> ArrayBuffer        (memory for output buffers: tvl/frame_memory.h)
// Both run on a libuv worker thread, one call of a session at a time, in the order JavaScript made
// them (CallOrder). An addon supplies its Session type:
//   struct Session {
//     std::mutex mu; bool closed;
//     DecodeStats decode(const std::vector<DecodeRun>&, const std::vector<void*>& dst,
//                        const OutputSpec&, const CancelToken&);   // called with mu held
//     void close();                                                // called with mu held
//     VideoDescription description; FrameIndex index;              // what open reports
//   };
// A Session may also take per-call options, passed as decode's fifth argument (nvvl's fused
// processing): it then declares
//     using CallOptions = ...;                                     // plain data, read on the JS thread
//     static CallOptions readCallOptions(const Napi::Value&);      // throws tvl::Error when invalid
//     DecodeStats decode(runs, dst, out, cancel, const CallOptions&);
// and a Session that knows what a seek costs its decoder (in frames decoded) declares
//     int seekCost() const;                                        // reported by open as `seekCost`
#pragma once
#include <napi.h>

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "tvl/frame_index_builder.h"
#include "tvl/frame_memory.h"
#include "tvl/napi_bridge.h"

namespace tvl {

// Queues a PromiseWorker and returns its promise.
inline Napi::Value queue(PromiseWorker* worker) {
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

inline Napi::Value rejectWith(Napi::Env env, const Error& e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(toJsError(env, e.code(), e.what(), e.frameIndex()).Value());
  return d.Promise();
}

// The calls of one session run in the order JavaScript made them: core plans each call from the
// state the calls before it leave (a run that continues, frames in the decoded-frame cache), and
// libuv's threads could otherwise take two queued calls in either order. A call takes its ticket on
// the JS thread as it is queued; libuv starts queued work first in, first out, so the call whose
// turn it is has always been started before any later one waits: waiting cannot deadlock.
class CallOrder {
 public:
  uint64_t ticket() { return next_++; }  // JS thread only

  // Waits for `ticket`'s turn for its lifetime, and passes the turn on when it ends.
  class Turn {
   public:
    Turn(CallOrder& order, uint64_t ticket) : order_(order), ticket_(ticket) {
      std::unique_lock<std::mutex> lock(order_.mu_);
      order_.turn_.wait(lock, [this] { return order_.serving_ == ticket_; });
    }
    ~Turn() {
      {
        std::lock_guard<std::mutex> lock(order_.mu_);
        order_.serving_ = ticket_ + 1;
      }
      order_.turn_.notify_all();
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    CallOrder& order_;
    const uint64_t ticket_;
  };

 private:
  uint64_t next_ = 0;
  std::mutex mu_;
  std::condition_variable turn_;
  uint64_t serving_ = 0;
};

namespace detail {
template <class S, class = void>
struct HasCallOptions : std::false_type {};
template <class S>
struct HasCallOptions<S, std::void_t<typename S::CallOptions>> : std::true_type {};
template <class S, class = void>
struct HasSeekCost : std::false_type {};
template <class S>
struct HasSeekCost<S, std::void_t<decltype(std::declval<const S&>().seekCost())>> : std::true_type {};
template <class S, bool = HasCallOptions<S>::value>
struct CallOptionsOf {
  using type = char;  // none
};
template <class S>
struct CallOptionsOf<S, true> {
  using type = typename S::CallOptions;
};
}  // namespace detail

template <class Session>
class SessionWrap : public Napi::ObjectWrap<SessionWrap<Session>> {
 public:
  static void Init(Napi::Env env, const char* className) {
    Napi::Function f = SessionWrap::DefineClass(env, className,
                                                {SessionWrap::InstanceMethod("decode", &SessionWrap::Decode),
                                                 SessionWrap::InstanceMethod("close", &SessionWrap::Close),
                                                 SessionWrap::InstanceMethod("exportIndex", &SessionWrap::ExportIndex),
                                                 SessionWrap::InstanceMethod("allocate", &SessionWrap::Allocate)});
    constructor() = Napi::Persistent(f);
    constructor().SuppressDestruct();
  }

  // A new JS session object owning (a share of) `session`.
  static Napi::Object New(Napi::Env env, std::shared_ptr<Session> session) {
    return constructor().New(
        {Napi::External<std::shared_ptr<Session>>::New(env, new std::shared_ptr<Session>(std::move(session)),
                                                       [](Napi::Env, std::shared_ptr<Session>* p) { delete p; })});
  }

  // What an addon's open resolves to: the session object with `info` and `index`.
  static Napi::Object Opened(Napi::Env env, std::shared_ptr<Session> session) {
    Napi::Object obj = New(env, session);
    obj.Set("info", videoInfoToJs(env, session->description));
    obj.Set("index", frameIndexToJs(env, session->index));
    if constexpr (detail::HasSeekCost<Session>::value) obj.Set("seekCost", double(session->seekCost()));
    return obj;
  }

  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    session_ = *info[0].As<Napi::External<std::shared_ptr<Session>>>().Data();
  }

  // Queues a call that runs in its turn (CallOrder).
  template <class Worker>
  Napi::Value queueInOrder(Worker* w) {
    w->order = order_;
    w->ticket = order_->ticket();
    return queue(w);
  }

 private:
  static Napi::FunctionReference& constructor() {
    static Napi::FunctionReference ref;
    return ref;
  }

  class DecodeWorker : public PromiseWorker {
   public:
    DecodeWorker(Napi::Env env, std::shared_ptr<Session> s, std::vector<DecodeRun> runs, OutputSpec out)
        : PromiseWorker(env), session_(std::move(s)), runs_(std::move(runs)), out_(out) {}
    PinnedBuffers buffers;
    PinnedCancel cancel;
    typename detail::CallOptionsOf<Session>::type options{};
    std::shared_ptr<CallOrder> order;
    uint64_t ticket = 0;

   protected:
    void Run() override {
      CallOrder::Turn turn(*order, ticket);
      std::lock_guard<std::mutex> lock(session_->mu);
      if (session_->closed) throw Error("TVL_CLOSED", "the video was closed");
      size_t kept = 0;
      for (const auto& r : runs_) kept += r.keep.size();
      if (kept != buffers.data.size())
        throw Error("TVL_INTERNAL", "the plan keeps " + std::to_string(kept) + " frames but " +
                                        std::to_string(buffers.data.size()) + " buffers were given");
      if constexpr (detail::HasCallOptions<Session>::value) {
        stats_ = session_->decode(runs_, buffers.data, out_, cancel.token, options);
      } else {
        stats_ = session_->decode(runs_, buffers.data, out_, cancel.token);
      }
    }
    Napi::Value Result(Napi::Env env) override {
      Napi::Object o = Napi::Object::New(env);
      o.Set("framesDecoded", double(stats_.framesDecoded));
      o.Set("seeks", double(stats_.seeks));
      o.Set("position", double(stats_.position));
      o.Set("continuable", stats_.continuable);
      Napi::Float64Array delivered = Napi::Float64Array::New(env, stats_.delivered.size());
      for (size_t k = 0; k < stats_.delivered.size(); k++) delivered[k] = double(stats_.delivered[k]);
      o.Set("delivered", delivered);
      Napi::Float64Array cached = Napi::Float64Array::New(env, stats_.cached.size());
      for (size_t k = 0; k < stats_.cached.size(); k++) cached[k] = double(stats_.cached[k]);
      o.Set("cached", cached);
      if (std::isfinite(stats_.seekCost)) o.Set("seekCost", stats_.seekCost);
      return o;
    }

   private:
    std::shared_ptr<Session> session_;
    std::vector<DecodeRun> runs_;
    OutputSpec out_;
    DecodeStats stats_;
  };

  class CloseWorker : public PromiseWorker {
   public:
    CloseWorker(Napi::Env env, std::shared_ptr<Session> s) : PromiseWorker(env), session_(std::move(s)) {}
    std::shared_ptr<CallOrder> order;
    uint64_t ticket = 0;

   protected:
    void Run() override {
      CallOrder::Turn turn(*order, ticket);
      std::lock_guard<std::mutex> lock(session_->mu);
      session_->close();
      session_->closed = true;
    }
    Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

   private:
    std::shared_ptr<Session> session_;
  };

  Napi::Value Decode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
      auto runs = readPlan(info[0].As<Napi::Object>());
      OutputSpec out = readOutputSpec(info[1].As<Napi::Object>());
      typename detail::CallOptionsOf<Session>::type options{};
      if constexpr (detail::HasCallOptions<Session>::value) options = Session::readCallOptions(info[4]);
      auto* w = new DecodeWorker(env, session_, std::move(runs), out);
      w->options = options;
      try {
        w->buffers.pin(info[2].As<Napi::Array>(), out.bytes());
        w->cancel.pin(info[3]);
      } catch (...) {
        delete w;
        throw;
      }
      return queueInOrder(w);
    } catch (const Error& e) {
      return rejectWith(env, e);
    }
  }

  // The frame index as bytes, for the persistent index cache (tvl/frame_index_builder.h). Small
  // (40 bytes a frame) and synchronous; null once closed.
  Napi::Value ExportIndex(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(session_->mu);
    if (session_->closed) return info.Env().Null();
    const std::string bytes = serializeFrameIndex(session_->index);
    return Napi::Buffer<char>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // Uninitialised memory for output buffers, reused once V8 collects them (tvl/frame_memory.h);
  // null when the kernel refuses it.
  Napi::Value Allocate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double bytes = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(bytes >= 0 && bytes <= double(size_t(1) << 46))) {
      toJsError(env, "TVL_INTERNAL", "allocate: a byte count is required (core computes it)", -1)
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    try {
      return FrameMemory::instance().arrayBuffer(env, size_t(bytes));
    } catch (const std::bad_alloc&) {
      return env.Null();  // core then allocates as Node does, and reports Node's error if that fails too
    }
  }

  Napi::Value Close(const Napi::CallbackInfo& info) { return queueInOrder(new CloseWorker(info.Env(), session_)); }

  std::shared_ptr<Session> session_;
  std::shared_ptr<CallOrder> order_ = std::make_shared<CallOrder>();
};

// Opening, written once for every addon: `open(path, cancel, indexOptions)` builds the session on
// a libuv worker thread (demuxing, indexing, setting up the decoder); the promise resolves to the
// JS session object. The index options (index, cachedIndex) are read here for every addon. An
// addon's openVideo(path, options, cancelCell) reads its own options, then:
//   return openOffThread<Session>(info, [threads](const std::string& path, const CancelToken& cancel,
//                                                 const IndexOptions& index) { ... });
template <class Session>
class OpenWorker : public PromiseWorker {
 public:
  using OpenFn = std::function<std::shared_ptr<Session>(const std::string&, const CancelToken&, const IndexOptions&)>;
  OpenWorker(Napi::Env env, std::string path, OpenFn open, IndexOptions index, const Napi::Value& cancel)
      : PromiseWorker(env), path_(std::move(path)), open_(std::move(open)), index_(std::move(index)) {
    cancel_.pin(cancel);
  }

 protected:
  void Run() override { session_ = open_(path_, cancel_.token, index_); }
  Napi::Value Result(Napi::Env env) override { return SessionWrap<Session>::Opened(env, session_); }

 private:
  std::string path_;
  OpenFn open_;
  IndexOptions index_;
  PinnedCancel cancel_;
  std::shared_ptr<Session> session_;
};

template <class Session>
Napi::Value openOffThread(const Napi::CallbackInfo& info, typename OpenWorker<Session>::OpenFn open) {
  Napi::Env env = info.Env();
  if (!info[0].IsString())
    return rejectWith(env, Error("TVL_INTERNAL", "path must be a string (core validates it first)"));
  IndexOptions index;
  try {
    index = readIndexOptions(info[1]);
  } catch (const Error& e) {
    return rejectWith(env, e);
  }
  return queue(
      new OpenWorker<Session>(env, info[0].As<Napi::String>().Utf8Value(), std::move(open), std::move(index), info[2]));
}

}  // namespace tvl
