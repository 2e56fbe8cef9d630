// Per-thread free lists: objects and buffers that busy connections recycle
// without touching malloc, while idle connections hold none of them. Each
// worker thread has its own lists, so no locking.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace trident {

template <typename T>
class FreeList {
 public:
  static constexpr std::size_t kMax = 256;

  static std::unique_ptr<T> take() {
    auto& items = list();
    if (items.empty()) return nullptr;
    std::unique_ptr<T> item = std::move(items.back());
    items.pop_back();
    return item;
  }
  static void give(std::unique_ptr<T> item) {
    auto& items = list();
    if (items.size() < kMax) items.push_back(std::move(item));
  }

 private:
  static std::vector<std::unique_ptr<T>>& list() {
    thread_local std::vector<std::unique_ptr<T>> items;
    return items;
  }
};

// Strings used as I/O buffers: take() an empty one (with capacity when one is
// available), give() it back once empty.
class BufferFreeList {
 public:
  static constexpr std::size_t kMax = 1024;
  static constexpr std::size_t kMaxCapacity = 64 * 1024;

  static void take(std::string& out) {
    auto& items = list();
    if (out.capacity() > 15 || !out.empty() || items.empty()) return;
    // Moves, not swaps: a swap with a short (in-object) string copies it.
    out = std::move(items.back());
    items.pop_back();
  }
  // Moves `buf`'s storage to the list if it is empty and worth keeping.
  static void give(std::string& buf) {
    if (!buf.empty() || buf.capacity() <= 15) return;
    auto& items = list();
    if (buf.capacity() > kMaxCapacity || items.size() >= kMax) {
      std::string().swap(buf);
      return;
    }
    items.push_back(std::move(buf));
    buf.clear();  // a moved-from string is only "valid": make it empty
  }

 private:
  static std::vector<std::string>& list() {
    thread_local std::vector<std::string> items;
    return items;
  }
};

// A block of buffers that its owner (a connection, a WebSocket) holds only
// while it is in use: one pointer in the owner instead of the buffers
// themselves. get() takes a block, with the capacity it had, from the
// thread's pool; give_back() returns it. `Block` provides
// `bool recycle()`: clears it for the next owner, false if it grew too big
// to keep (then it is freed).
template <class Block>
class Pooled {
 public:
  static constexpr std::size_t kMax = 1024;

  Block* held() const { return b_.get(); }  // null while not held
  Block& get() {
    if (!b_) b_ = take();
    return *b_;
  }
  void give_back() {
    if (!b_) return;
    auto& items = pool();
    if (!b_->recycle() || items.size() >= kMax) {
      b_.reset();
      return;
    }
    items.push_back(std::move(b_));
  }

 private:
  static std::unique_ptr<Block> take() {
    auto& items = pool();
    if (items.empty()) return std::make_unique<Block>();
    std::unique_ptr<Block> b = std::move(items.back());
    items.pop_back();
    return b;
  }
  static std::vector<std::unique_ptr<Block>>& pool() {
    thread_local std::vector<std::unique_ptr<Block>> items;
    return items;
  }

  std::unique_ptr<Block> b_;
};

// Pooled blocks give back strings up to this capacity for reuse.
inline constexpr std::size_t kMaxPooledCapacity = 64 * 1024;

// An output buffer and how much of it was already written.
struct OutputBlock {
  std::string s;
  std::size_t off = 0;
  bool recycle() {
    s.clear();
    off = 0;
    return s.capacity() <= kMaxPooledCapacity;
  }
};

// A std::string I/O buffer held only while it has bytes (Pooled): 8 bytes
// in the owner instead of a 32-byte std::string, and the write offset
// (offset()) costs an owner with nothing pending nothing either.
class PooledString {
 public:
  bool empty() const { return !b_.held() || b_.held()->s.empty(); }
  std::size_t size() const { return b_.held() ? b_.held()->s.size() : 0; }
  std::size_t capacity() const { return b_.held() ? b_.held()->s.capacity() : 0; }
  const char* data() const { return b_.held() ? b_.held()->s.data() : ""; }
  operator std::string_view() const {
    return b_.held() ? std::string_view(b_.held()->s) : std::string_view();
  }
  std::size_t offset() const { return b_.held() ? b_.held()->off : 0; }
  void advance(std::size_t n) { b_.get().off += n; }
  void clear() {
    if (b_.held()) b_.held()->recycle();
  }
  std::string& get() { return b_.get().s; }
  // Returns the block to the pool if its string is empty (else keeps it).
  void give_back() {
    if (empty()) b_.give_back();
  }

 private:
  Pooled<OutputBlock> b_;
};

}  // namespace trident
