// The worker loop with a busy event source (the connection poller under
// load): the source is drained between Asio polls, and Asio's own work
// (posts, posts from other threads, timers) still runs meanwhile.
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.hpp"
#include "net/poller.hpp"

namespace trident {
namespace {

// Busy while `keep_busy` says so, at most `limit` drains (so a broken loop
// fails the test instead of spinning forever).
struct FakeSource : Loop::BusySource {
  std::function<bool()> keep_busy;
  std::function<void()> on_drain;
  long drains = 0;
  long limit = 50'000'000;
  bool busy() const override { return drains < limit && keep_busy(); }
  void drain() override {
    ++drains;
    if (on_drain) on_drain();
  }
};

TEST(Loop, ABusySourceIsDrainedUntilIdleAndTheLoopThenEnds) {
  Loop loop;
  FakeSource source;
  source.keep_busy = [&] { return source.drains < 5; };
  loop.set_busy_source(&source);
  std::vector<std::string> order;
  asio::post(loop.io(), [&] { order.push_back("post"); });
  loop.run();  // returns: no Asio work left and the source is idle
  EXPECT_EQ(source.drains, 5);
  EXPECT_EQ(order, std::vector<std::string>{"post"});
}

TEST(Loop, HandlersPostedDuringADrainRunBeforeTheNextDrain) {
  Loop loop;
  FakeSource source;
  source.keep_busy = [&] { return source.drains < 4; };
  std::vector<std::string> order;
  source.on_drain = [&] {
    order.push_back("drain " + std::to_string(source.drains));
    asio::post(loop.io(), [&, n = source.drains] { order.push_back("post " + std::to_string(n)); });
  };
  loop.set_busy_source(&source);
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"drain 1", "post 1", "drain 2", "post 2", "drain 3",
                                             "post 3", "drain 4", "post 4"}));
}

TEST(Loop, AHandlerThatKeepsRepostingItselfDoesNotStarveABusySource) {
  Loop loop;
  FakeSource source;
  constexpr int kChain = 10'000;
  int chain = 0;
  int chain_at_first_drain = -1;
  source.keep_busy = [&] { return source.drains < 3; };
  source.on_drain = [&] {
    if (chain_at_first_drain < 0) chain_at_first_drain = chain;
  };
  loop.set_busy_source(&source);
  std::function<void()> step = [&] {
    if (++chain < kChain) asio::post(loop.io(), step);
  };
  asio::post(loop.io(), step);
  loop.run();
  EXPECT_EQ(chain, kChain);
  EXPECT_EQ(source.drains, 3);
  EXPECT_GE(chain_at_first_drain, 0);
  EXPECT_LT(chain_at_first_drain, kChain);  // drained before the chain ended
}

TEST(Loop, TimersFireWhileTheSourceStaysBusy) {
  Loop loop;
  FakeSource source;
  bool fired = false;
  source.keep_busy = [&] { return !fired; };
  loop.set_busy_source(&source);
  asio::steady_timer timer(loop.io());
  timer.expires_after(std::chrono::milliseconds(2));
  timer.async_wait([&](const asio::error_code& ec) { fired = !ec; });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_LT(source.drains, source.limit);  // it was the timer that ended it
}

TEST(Loop, PostsFromAnotherThreadRunWhileTheSourceStaysBusy) {
  Loop loop;
  FakeSource source;
  std::atomic<bool> started{false};
  bool arrived = false;
  source.keep_busy = [&] { return !arrived; };
  source.on_drain = [&] { started = true; };
  loop.set_busy_source(&source);
  std::thread other([&] {
    while (!started) std::this_thread::yield();
    asio::post(loop.io(), [&] { arrived = true; });
  });
  loop.run();
  other.join();
  EXPECT_TRUE(arrived);
  EXPECT_LT(source.drains, source.limit);
}

// Socket pairs whose far ends the test writes to; the poller reads the near
// ends (edge-triggered: every byte must be read or no new edge comes).
struct Pairs : net::Poller::Handler {
  std::vector<std::array<int, 2>> fds;
  std::size_t bytes_read = 0;
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
    for (auto& p : fds) {
      ssize_t n;
      while ((n = ::read(p[0], buf, sizeof buf)) > 0) bytes_read += static_cast<std::size_t>(n);
    }
  }
  void write_all(int times) {
    for (int i = 0; i < times; ++i) {
      for (auto& p : fds) EXPECT_EQ(::write(p[1], "x", 1), 1);
    }
  }
};

TEST(Poller, EventsAfterABusySpellAreNotLost) {
  Loop loop;
  net::Poller poller(loop.io());
  loop.set_busy_source(&poller);
  Pairs pairs(8);
  for (auto& p : pairs.fds) ASSERT_TRUE(poller.add(p[0], &pairs));
  bool saw_busy = false;
  asio::steady_timer step(loop.io());
  int round = 0;
  // Eight sockets ready at once (busy), then a pause until the poller is
  // back on Asio's wait, then more: every byte must arrive each time.
  std::function<void()> next = [&] {
    if (round > 0) {
      EXPECT_EQ(pairs.bytes_read, 8u * 3u * static_cast<unsigned>(round)) << round;
    }
    if (round == 4) return poller.stop();
    ++round;
    pairs.write_all(3);
    step.expires_after(std::chrono::milliseconds(5));
    step.async_wait([&](const asio::error_code&) { next(); });
  };
  // Watches for the busy state between drains; stops once seen or once the
  // last batch is written, so lost events fail the checks instead of hanging.
  std::function<void()> look = [&] {
    saw_busy |= poller.busy();
    if (saw_busy || round == 4) return;
    asio::post(loop.io(), look);
  };
  asio::post(loop.io(), next);
  asio::post(loop.io(), look);
  loop.run();
  EXPECT_EQ(round, 4);
  EXPECT_EQ(pairs.bytes_read, 8u * 3u * 4u);
  EXPECT_TRUE(saw_busy);
}

}  // namespace
}  // namespace trident
