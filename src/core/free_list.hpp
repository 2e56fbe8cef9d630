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
// thread's pool; give_back() returns it once it is empty.
class PooledString {
 public:
  static constexpr std::size_t kMax = 1024;
  static constexpr std::size_t kMaxCapacity = 64 * 1024;

  bool empty() const { return !s_ || s_->empty(); }
  std::size_t size() const { return s_ ? s_->size() : 0; }
  std::size_t capacity() const { return s_ ? s_->capacity() : 0; }
  const char* data() const { return s_ ? s_->data() : ""; }
  operator std::string_view() const { return s_ ? std::string_view(*s_) : std::string_view(); }
  void clear() {
    if (s_) s_->clear();
  }
  std::string& get() {
    if (!s_) s_ = take();
    return *s_;
  }
  // Returns the string to the pool if it is empty (else keeps it).
  void give_back() {
    if (!s_ || !s_->empty()) return;
    auto& items = pool();
    if (s_->capacity() > kMaxCapacity || items.size() >= kMax) {
      s_.reset();
      return;
    }
    items.push_back(std::move(s_));
  }

 private:
  static std::unique_ptr<std::string> take() {
    auto& items = pool();
    if (items.empty()) return std::make_unique<std::string>();
    std::unique_ptr<std::string> s = std::move(items.back());
    items.pop_back();
    return s;
  }
  static std::vector<std::unique_ptr<std::string>>& pool() {
    thread_local std::vector<std::unique_ptr<std::string>> items;
    return items;
  }

  std::unique_ptr<std::string> s_;
};

}  // namespace trident
