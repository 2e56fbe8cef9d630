#include "core/loop.hpp"

#include "core/asio_wakeup.hpp"

#include <asio/executor_work_guard.hpp>

#include <ctime>
#include <stdexcept>

namespace trident {
namespace {
constexpr int kHandlersPerTurn = 64;
thread_local Loop* t_current = nullptr;

struct DateCache {
  std::time_t second = 0;
  char text[40] = {};
  std::size_t size = 0;
};
thread_local DateCache t_date;
}  // namespace

Loop::Loop() = default;
Loop::~Loop() = default;

void Loop::set_source(Source* source) {
  source_ = source;
  if (!wakeup_) wakeup_ = std::make_unique<AsioWakeup>(io_);
  source_->watch(wakeup_->descriptor());
}

void Loop::run() {
  Loop* previous = t_current;
  t_current = this;
  if (source_) {
    run_with_source();
  } else {
    io_.run();
  }
  t_current = previous;
}

void Loop::run_with_source() {
  // While the source runs, Asio counts as busy: polling it then always runs
  // its reactor (which takes the events behind its readable descriptor),
  // and running out of Asio work is not the end.
  auto source_running = asio::make_work_guard(io_);
  // Asio is polled only when it may have something: its descriptor was
  // ready, handlers were queued, or the wait did not block. A turn under
  // load is then one epoll_wait plus the sockets' own reads and writes.
  bool asio_due = true;
  for (;;) {
    if (asio_due) {
      // A bounded number of handlers per turn: one that posts itself again
      // and again must not keep the source waiting.
      for (int i = 0; i < kHandlersPerTurn && io_.poll_one() > 0; ++i) {
      }
      if (io_.stopped()) break;  // out of work with the source stopped, or io().stop()
    }
    if (source_->stopped() && source_running.owns_work()) {
      source_running.reset();
      asio_due = true;  // Asio may be out of work now: poll before any wait
      continue;
    }
    const bool block = wakeup_->arm();
    source_->wait(block ? -1 : 0);
    // Disarmed before the events are handled: what they post is found in
    // Asio's queue below, at no syscall each.
    wakeup_->disarm();
    const bool asio_ready = source_->dispatch();
    asio_due = asio_ready || !block || source_->stopped() || wakeup_->handlers_queued();
  }
}

Loop* Loop::current() {
  return t_current;
}

std::string_view http_date() {
  std::time_t now = std::time(nullptr);
  if (now != t_date.second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    t_date.size = std::strftime(t_date.text, sizeof t_date.text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    t_date.second = now;
  }
  return {t_date.text, t_date.size};
}

struct SleepAwaiter::State {
  explicit State(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::coroutine_handle<> waiting;
};

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("sleep_for outside a worker loop");
  state_ = std::make_shared<State>(loop->io());
  state_->waiting = h;
  state_->timer.expires_after(duration_);
  state_->timer.async_wait([s = state_](const asio::error_code&) {
    if (auto w = std::exchange(s->waiting, {})) w.resume();
  });
}

SleepAwaiter::~SleepAwaiter() {
  if (state_ && state_->waiting) {
    state_->waiting = {};
    state_->timer.cancel();
  }
}

}  // namespace trident
