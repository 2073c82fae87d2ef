// gather(): asyncio's _GatheringFuture for children that finish on any worker.
//
// Protocol. The outer future (GatherOuter) is what the gathering task awaits, so Task.cancel()
// reaches it as the task's awaited future and cancels the children (cancel() below). Each child
// has a done callback, run on the child's loop, holding a reference to the outer; the outer holds
// the children until the gathering coroutine ends (detach()), which breaks the cycle child ->
// callback -> outer -> child even when a child never finishes. Counting, the first-failure rule
// and `cancel_requested_` are under mu_, because the callbacks of children on different loops run
// at once. cancel() holds mu_ while it cancels the children, so a child finishing meanwhile sees
// `cancel_requested_` as asyncio's single thread would (its callback comes after the cancel).
// Lock order: mu_, then the children's locks (Task.cancel and what it cancels); the callbacks take
// mu_ and then the outer's own lock (completion), never a child's.
#include "stealio/gather.h"

#include <mutex>

namespace stealio {
inline namespace v1 {
namespace internal {
namespace {

class GatherOuter final : public FutureCore {
 public:
  GatherOuter(Loop& loop, std::vector<CoreRef> children, bool return_exceptions)
      : FutureCore(loop, false),
        n_(children.size()),
        return_exceptions_(return_exceptions),
        children_(std::move(children)) {}

  void retain() const noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // _GatheringFuture.cancel: cancels the children; true if any of them took the request.
  bool cancel(std::string msg) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done()) return false;
    bool any = false;
    for (CoreRef& c : children_) {
      if (c->cancel(msg)) any = true;
    }
    // The gather then ends cancelled whatever return_exceptions says (bpo-32684).
    if (any) cancel_requested_ = true;
    return any;
  }

  // gather's _done_callback.
  void on_child_done(FutureCore& child) {
    std::lock_guard<std::mutex> lock(mu_);
    ++finished_;
    if (done()) {
      if (!child.cancelled()) child.exception();  // marks it retrieved
      return;
    }
    if (!return_exceptions_) {
      if (child.cancelled()) {
        // Ends cancelled rather than holding a CancelledError: each reader then gets an
        // exception object of its own (one shared between the workers that rethrow and destroy
        // it is what TSan cannot follow through libstdc++'s uninstrumented exception_ptr count).
        cancel_state(child.cancel_message());
        return;
      }
      if (std::exception_ptr e = child.exception()) {
        try_set_exception(std::move(e));
        return;
      }
    }
    if (finished_ == n_) {
      if (cancel_requested_) {
        // asyncio reads every child's exception here even when it raises CancelledError instead,
        // so none is reported as never retrieved.
        for (CoreRef& c : children_) {
          if (c->done() && !c->cancelled()) c->exception();
        }
        cancel_state(child.cancel_message());
      } else {
        try_finish([] {});
      }
    }
  }

  // The gathering coroutine is over: nobody will cancel through this future any more.
  void detach() noexcept {
    std::vector<CoreRef> children;
    {
      std::lock_guard<std::mutex> lock(mu_);
      children.swap(children_);
    }
  }

  std::string describe() const override {
    return done() ? "<_GatheringFuture done>" : "<_GatheringFuture pending>";
  }

 private:
  ~GatherOuter() = default;

  mutable std::atomic<std::uint32_t> refs_{1};
  const std::size_t n_;
  const bool return_exceptions_;
  std::mutex mu_;
  std::vector<CoreRef> children_;  // guarded by mu_
  std::size_t finished_ = 0;       // guarded by mu_
  bool cancel_requested_ = false;  // guarded by mu_
};

}  // namespace

Coro<void> gather_wait(std::vector<FutureCore*> children, bool return_exceptions) {
  std::vector<CoreRef> refs;
  refs.reserve(children.size());
  for (FutureCore* c : children) refs.emplace_back(c);
  auto* outer = new GatherOuter(get_running_loop(), std::move(refs), return_exceptions);
  CoreRef keep(outer);
  outer->release();  // `keep` holds the only reference now
  struct Detach {
    GatherOuter* outer;
    ~Detach() { outer->detach(); }
  };
  Detach detach{outer};
  CallbackId id = CallbackId::make();
  for (FutureCore* c : children) {
    c->add_done_callback(
        [keep](FutureCore& child) { static_cast<GatherOuter*>(keep.get())->on_child_done(child); },
        std::nullopt, id);
  }
  co_await await_done(*outer);
}

}  // namespace internal
}  // namespace v1
}  // namespace stealio
