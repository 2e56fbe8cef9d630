#include "core/frame_pool.hpp"

#include <new>

namespace trident::frame_pool {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif
#else
constexpr bool kPooled = true;
#endif

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 16;  // frames up to 1 KiB; larger ones are not pooled
constexpr std::size_t kMaxPerClass = 64;

struct Node {
  Node* next;
};

// Trivially destructible, so frames freed during thread exit, after the
// drain below ran, still find valid state (and then go to operator delete).
struct Pool {
  Node* head[kClasses];
  std::size_t count[kClasses];
  bool draining_registered;
  bool dead;
};

constinit thread_local Pool pool{};

struct Drain {
  ~Drain() {
    pool.dead = true;
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (Node* n = pool.head[c]) {
        pool.head[c] = n->next;
        ::operator delete(n);
      }
      pool.count[c] = 0;
    }
  }
};

void register_drain() {
  pool.draining_registered = true;
  thread_local Drain drain;
  (void)drain;
}

// Size class of a frame of `size` bytes; kClasses if it is not pooled.
std::size_t class_of(std::size_t size) {
  return size == 0 ? 0 : (size - 1) / kGranule;
}

}  // namespace

void* allocate(std::size_t size) {
  const std::size_t c = class_of(size);
  if (!kPooled || c >= kClasses) return ::operator new(size);
  if (Node* n = pool.head[c]) {
    pool.head[c] = n->next;
    --pool.count[c];
    return n;
  }
  // Allocated at the class's full size, so any frame of the class fits.
  return ::operator new((c + 1) * kGranule);
}

void deallocate(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (!kPooled || c >= kClasses || pool.count[c] >= kMaxPerClass || pool.dead) {
    ::operator delete(p);
    return;
  }
  if (!pool.draining_registered) register_drain();
  Node* n = static_cast<Node*>(p);
  n->next = pool.head[c];
  pool.head[c] = n;
  ++pool.count[c];
}

bool enabled() {
  return kPooled;
}

std::size_t kept() {
  std::size_t total = 0;
  for (std::size_t c = 0; c < kClasses; ++c) total += pool.count[c];
  return total;
}

}  // namespace trident::frame_pool
