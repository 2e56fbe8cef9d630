// Per-thread free lists: objects and buffers that busy connections recycle
// without touching malloc, while idle connections hold none of them. Each
// worker thread has its own lists, so no locking.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
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

}  // namespace trident
