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
    if (out.capacity() > 15 || items.empty()) return;
    out.swap(items.back());
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
    items.emplace_back();
    items.back().swap(buf);
  }

 private:
  static std::vector<std::string>& list() {
    thread_local std::vector<std::string> items;
    return items;
  }
};

// A std::string I/O buffer that its owner holds only while it is in use:
// 8 bytes in the owner (a connection, a WebSocket) instead of a 32-byte
// std::string. get() takes a string, with the capacity it had, from the
// thread's pool; give_back() returns it once it is empty. The block also
// keeps how much of the string was already written (offset()), so an owner
// with nothing pending does not pay for that either.
class PooledString {
 public:
  static constexpr std::size_t kMax = 1024;
  static constexpr std::size_t kMaxCapacity = 64 * 1024;

  bool empty() const { return !b_ || b_->s.empty(); }
  std::size_t size() const { return b_ ? b_->s.size() : 0; }
  std::size_t capacity() const { return b_ ? b_->s.capacity() : 0; }
  const char* data() const { return b_ ? b_->s.data() : ""; }
  operator std::string_view() const { return b_ ? std::string_view(b_->s) : std::string_view(); }
  std::size_t offset() const { return b_ ? b_->off : 0; }
  void advance(std::size_t n) { get_block().off += n; }
  void clear() {
    if (b_) {
      b_->s.clear();
      b_->off = 0;
    }
  }
  std::string& get() { return get_block().s; }
  // Returns the block to the pool if its string is empty (else keeps it).
  void give_back() {
    if (!b_ || !b_->s.empty()) return;
    b_->off = 0;
    auto& items = pool();
    if (b_->s.capacity() > kMaxCapacity || items.size() >= kMax) {
      b_.reset();
      return;
    }
    items.push_back(std::move(b_));
  }

 private:
  struct Block {
    std::string s;
    std::size_t off = 0;
  };
  Block& get_block() {
    if (!b_) b_ = take();
    return *b_;
  }
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

}  // namespace trident
