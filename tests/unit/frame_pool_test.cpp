#include "core/frame_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/task.hpp"

namespace fp = trident::frame_pool;

namespace {

trident::Task<int> add(int a, int b) {
  co_return a + b;
}

trident::Task<int> sum_to(int n) {
  int total = 0;
  for (int i = 1; i <= n; ++i) total = co_await add(total, i);
  co_return total;
}

trident::Task<void> store(trident::Task<int> t, int* out) {
  *out = co_await std::move(t);
}

// Runs a task that never suspends to completion and returns its result.
int run(trident::Task<int> t) {
  int out = -1;
  trident::Spawned s(store(std::move(t), &out), nullptr);
  return out;
}

}  // namespace

TEST(FramePool, AFreedBlockIsReusedForAFrameOfTheSameClass) {
  if (!fp::enabled()) GTEST_SKIP() << "not pooled under AddressSanitizer";
  void* a = fp::allocate(100);
  fp::deallocate(a, 100);
  // 100 and 128 bytes share the 65..128 class: the same block comes back.
  void* b = fp::allocate(128);
  EXPECT_EQ(a, b);
  // A different class does not take it.
  fp::deallocate(b, 128);
  void* c = fp::allocate(200);
  EXPECT_NE(c, b);
  fp::deallocate(c, 200);
}

TEST(FramePool, KeepsABoundedNumberOfBlocksAndNoLargeOnes) {
  if (!fp::enabled()) GTEST_SKIP() << "not pooled under AddressSanitizer";
  const std::size_t before = fp::kept();
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(fp::allocate(300));
  for (void* p : blocks) fp::deallocate(p, 300);
  const std::size_t grown = fp::kept() - before;
  EXPECT_GT(grown, 0u);
  EXPECT_LE(grown, 64u);  // the rest went back to the allocator
  void* big = fp::allocate(64 * 1024);
  fp::deallocate(big, 64 * 1024);
  EXPECT_EQ(fp::kept() - before, grown);
}

TEST(FramePool, CoroutinesRunOnRecycledFramesAndGiveThemBack) {
  // Nested coroutines allocate and free a frame per co_await; results stay right.
  EXPECT_EQ(run(sum_to(100)), 5050);
  const std::size_t after_first = fp::kept();
  EXPECT_EQ(run(sum_to(1000)), 500500);
  // Steady state: running more coroutines keeps no more blocks than before.
  EXPECT_EQ(fp::kept(), after_first);
}

TEST(FramePool, EachThreadKeepsItsOwnBlocks) {
  if (!fp::enabled()) GTEST_SKIP() << "not pooled under AddressSanitizer";
  const std::size_t here = fp::kept();
  std::size_t kept_in_thread = 0;
  std::thread t([&] {
    EXPECT_EQ(run(sum_to(10)), 55);
    kept_in_thread = fp::kept();
  });
  t.join();  // its pool is drained as the thread exits
  EXPECT_GT(kept_in_thread, 0u);
  EXPECT_EQ(fp::kept(), here);
}
