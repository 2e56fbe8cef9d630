#include "core/loop.hpp"

#include <ctime>
#include <stdexcept>

namespace trident {
namespace {
constexpr int kHandlersPerBusyTurn = 64;
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

void Loop::run() {
  Loop* previous = t_current;
  t_current = this;
  if (!source_) {
    io_.run();
  } else {
    // Never blocks outside Asio: posts from other threads and timers wake
    // run_one() as usual, and a busy turn polls Asio before the next drain.
    for (;;) {
      if (source_->busy()) {
        // A bounded number of handlers per turn: a handler that posts
        // itself again and again must not keep the source waiting.
        for (int i = 0; i < kHandlersPerBusyTurn && io_.poll_one() > 0; ++i) {
        }
        // Out of Asio work is not the end while the source has events (its
        // Asio wait, the work that kept the loop alive, is not armed now).
        if (io_.stopped()) io_.restart();
        source_->drain();
      } else if (io_.run_one() == 0) {
        break;
      }
    }
  }
  t_current = previous;
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
