#include "http/body.hpp"

namespace trident::http {

void Body::push(std::string_view data) {
  if (data.empty() || aborted_) return;
  data_.append(data);
}

std::optional<std::string> Body::take() {
  if (aborted_) throw StreamAborted{};
  if (data_.empty()) return std::nullopt;
  std::string chunk = std::move(data_);
  data_.clear();
  if (on_consumed) on_consumed(chunk.size());
  return chunk;
}

void Body::reset() {
  data_.clear();
  ended_ = false;
  aborted_ = false;
  on_consumed = nullptr;
  waiter_.forget();
}

Task<std::string> Body::read_all(std::size_t limit) {
  std::string all;
  while (auto chunk = co_await read()) {
    if (all.size() + chunk->size() > limit) throw BodyTooLarge{};
    if (all.empty()) {
      all = std::move(*chunk);
    } else {
      all.append(*chunk);
    }
  }
  co_return all;
}

}  // namespace trident::http
