// The worker loop blocking in the connection poller's epoll set, with Asio's
// reactor descriptor inside it: connection events, Asio's timers, handlers
// posted from this thread or another and Asio's own completions (a
// resolver's thread, a cancelled timer) must each wake it or run before it
// blocks. A test that breaks one of these would block for good; a watchdog
// wakes the loop after a few seconds instead, and the test fails.
#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/asio_wakeup.hpp"
#include "core/loop.hpp"
#include "net/poller.hpp"

namespace trident {
namespace {

using namespace std::chrono_literals;

// Socket pairs whose far ends the test writes to; the poller reads the near
// ends (edge-triggered: every byte must be read or no new edge comes).
struct Pairs : net::Poller::Handler {
  std::vector<std::array<int, 2>> fds;
  std::size_t bytes_read = 0;
  std::function<void()> on_read;
  explicit Pairs(int n) : fds(static_cast<std::size_t>(n)) {
    for (auto& p : fds)
      EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p.data()), 0);
  }
  ~Pairs() override {
    for (auto& p : fds) {
      ::close(p[0]);
      ::close(p[1]);
    }
  }
  void on_events(std::uint32_t) override {
    char buf[256];
    const std::size_t before = bytes_read;
    for (auto& p : fds) {
      ssize_t n;
      while ((n = ::read(p[0], buf, sizeof buf)) > 0) bytes_read += static_cast<std::size_t>(n);
    }
    // Registration reports the sockets writable: only reads count.
    if (bytes_read > before && on_read) on_read();
  }
  void write_all(int times) {
    for (int i = 0; i < times; ++i) {
      for (auto& p : fds) EXPECT_EQ(::write(p[1], "x", 1), 1);
    }
  }
};

// Wakes the loop through a socket of its own every `limit` until the test
// has finished; the loop then ends and fired() fails the test.
class Watchdog {
 public:
  Watchdog(net::Poller& poller, std::chrono::milliseconds limit = 5s) : pair_(1), poller_(poller) {
    pair_.on_read = [this] {
      fired_ = true;
      poller_.stop();
    };
    EXPECT_TRUE(poller.add(pair_.fds[0][0], &pair_));
    thread_ = std::thread([this, limit] {
      // Again and again: a loop that misses wake-ups may block more than once.
      std::unique_lock lock(mutex_);
      while (!done_cv_.wait_for(lock, limit, [this] { return done_; })) pair_.write_all(1);
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }
  bool fired() const { return fired_; }

 private:
  Pairs pair_;
  net::Poller& poller_;
  bool fired_ = false;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

struct Fixture : ::testing::Test {
  Loop loop;
  net::Poller poller;
  Fixture() { loop.set_source(&poller); }
};

using LoopTest = Fixture;

TEST_F(LoopTest, APostFromAnotherThreadWakesTheBlockedLoop) {
  Watchdog watchdog(poller);
  bool arrived = false;
  std::thread other([&] {
    std::this_thread::sleep_for(20ms);  // the loop is blocked by then, or soon
    asio::post(loop.io(), [&] {
      arrived = true;
      poller.stop();
    });
  });
  loop.run();
  other.join();
  EXPECT_TRUE(arrived);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, StoppingAsioFromAnotherThreadEndsTheLoop) {
  Watchdog watchdog(poller);
  Pairs pairs(1);
  ASSERT_TRUE(poller.add(pairs.fds[0][0], &pairs));
  // Once stopped while the loop is busy with an event (not blocked), once
  // while it is blocked: both must end run().
  for (bool while_busy : {true, false}) {
    std::atomic<bool> handling{false};
    std::atomic<bool> stopped{false};
    pairs.on_read = [&] {
      if (!while_busy) return;
      handling = true;
      while (!stopped) std::this_thread::yield();
    };
    std::thread other([&] {
      if (while_busy) {
        while (!handling) std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(20ms);
      }
      loop.io().stop();
      stopped = true;
    });
    if (while_busy) pairs.write_all(1);
    loop.run();
    other.join();
    EXPECT_TRUE(loop.io().stopped()) << while_busy;
    loop.io().restart();
  }
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, ATimerWakesTheBlockedLoop) {
  Watchdog watchdog(poller);
  asio::steady_timer timer(loop.io());
  bool fired = false;
  timer.expires_after(10ms);
  timer.async_wait([&](const asio::error_code& ec) {
    fired = !ec;
    poller.stop();
  });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, AHandlerPostedFromAnEventRunsBeforeTheLoopBlocks) {
  Watchdog watchdog(poller);
  Pairs pairs(1);
  ASSERT_TRUE(poller.add(pairs.fds[0][0], &pairs));
  bool ran = false;
  pairs.on_read = [&] {
    asio::post(loop.io(), [&] {
      ran = true;
      poller.stop();
    });
  };
  pairs.write_all(1);
  loop.run();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, ATimerCancelledFromAnEventCompletesWithoutAnotherEvent) {
  // Asio queues the cancelled wait's handler itself: no post of ours.
  Watchdog watchdog(poller);
  Pairs pairs(1);
  ASSERT_TRUE(poller.add(pairs.fds[0][0], &pairs));
  asio::steady_timer timer(loop.io());
  timer.expires_after(1h);
  bool aborted = false;
  timer.async_wait([&](const asio::error_code& ec) {
    aborted = ec == asio::error::operation_aborted;
    poller.stop();
  });
  pairs.on_read = [&] { timer.cancel(); };
  pairs.write_all(1);
  loop.run();
  EXPECT_TRUE(aborted);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, ACompletionFromAsiosResolverThreadWakesTheLoop) {
  Watchdog watchdog(poller);
  asio::ip::tcp::resolver resolver(loop.io());
  bool resolved = false;
  resolver.async_resolve("127.0.0.1", "80", asio::ip::tcp::resolver::numeric_host,
                         [&](const asio::error_code& ec, asio::ip::tcp::resolver::results_type r) {
                           resolved = !ec && !r.empty();
                           poller.stop();
                         });
  loop.run();
  EXPECT_TRUE(resolved);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, AStoppedSourceEndsTheLoopOnlyOnceAsioIsOutOfWork) {
  Watchdog watchdog(poller);
  asio::steady_timer timer(loop.io());
  bool fired = false;
  asio::post(loop.io(), [&] {
    poller.stop();
    timer.expires_after(10ms);
    timer.async_wait([&](const asio::error_code& ec) { fired = !ec; });
  });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, AHandlerThatKeepsRepostingItselfDoesNotStarveTheSource) {
  Watchdog watchdog(poller);
  Pairs pairs(1);
  ASSERT_TRUE(poller.add(pairs.fds[0][0], &pairs));
  constexpr int kChain = 10'000;
  int chain = 0;
  int chain_at_read = -1;
  pairs.on_read = [&] { chain_at_read = chain; };
  std::function<void()> step = [&] {
    if (++chain < kChain && !watchdog.fired()) return asio::post(loop.io(), step);
    poller.stop();
  };
  asio::post(loop.io(), step);
  pairs.write_all(1);
  loop.run();
  EXPECT_EQ(chain, kChain);
  EXPECT_GE(chain_at_read, 0);
  EXPECT_LT(chain_at_read, kChain);  // read before the chain ended
  EXPECT_FALSE(watchdog.fired());
}

TEST_F(LoopTest, EventsOfManySocketsAreNotLostAcrossTurns) {
  Watchdog watchdog(poller);
  Pairs pairs(8);
  for (auto& p : pairs.fds) ASSERT_TRUE(poller.add(p[0], &pairs));
  asio::steady_timer step(loop.io());
  int round = 0;
  // Eight sockets ready at once, then a pause in which the loop blocks, then
  // more: every byte must arrive each time.
  std::function<void()> next = [&] {
    if (round > 0) {
      EXPECT_EQ(pairs.bytes_read, 8u * 3u * static_cast<unsigned>(round)) << round;
    }
    if (round == 4) return poller.stop();
    ++round;
    pairs.write_all(3);
    step.expires_after(5ms);
    step.async_wait([&](const asio::error_code&) { next(); });
  };
  asio::post(loop.io(), next);
  loop.run();
  EXPECT_EQ(round, 4);
  EXPECT_EQ(pairs.bytes_read, 8u * 3u * 4u);
  EXPECT_FALSE(watchdog.fired());
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(AsioWakeup, ArmedPostsMakeTheDescriptorReadableAndQueuedHandlersAreReported) {
  asio::io_context io{1};
  auto work = asio::make_work_guard(io);  // so that poll() runs the reactor
  AsioWakeup wakeup(io);
  io.poll();  // the reactor's first turn takes its initial events
  EXPECT_FALSE(readable(wakeup.descriptor()));

  asio::post(io, [] {});  // not armed: queued, nothing wakes
  EXPECT_FALSE(readable(wakeup.descriptor()));
  EXPECT_TRUE(wakeup.handlers_queued());
  EXPECT_FALSE(wakeup.arm());  // a handler is waiting: do not block
  io.poll();
  EXPECT_FALSE(wakeup.handlers_queued());
  EXPECT_FALSE(readable(wakeup.descriptor()));

  ASSERT_TRUE(wakeup.arm());
  std::thread([&] { asio::post(io, [] {}); }).join();
  EXPECT_TRUE(readable(wakeup.descriptor()));
  wakeup.disarm();
  EXPECT_TRUE(wakeup.handlers_queued());
  io.poll();  // the reactor takes the interruption
  EXPECT_FALSE(readable(wakeup.descriptor()));

  ASSERT_TRUE(wakeup.arm());
  wakeup.disarm();
  asio::post(io, [] {});  // disarmed again: queued, nothing wakes
  EXPECT_FALSE(readable(wakeup.descriptor()));
  EXPECT_TRUE(wakeup.handlers_queued());
}

}  // namespace
}  // namespace trident
