#include "http/body.hpp"

namespace trident::http {

void Body::push(std::string_view data) {
  if (data.empty() || aborted_) return;
  chunks_.emplace_back(data);
  buffered_ += data.size();
}

std::optional<std::string> Body::take() {
  if (aborted_) throw StreamAborted{};
  if (chunks_.empty()) return std::nullopt;
  std::string chunk = std::move(chunks_.front());
  chunks_.pop_front();
  buffered_ -= chunk.size();
  if (on_consumed) on_consumed(chunk.size());
  return chunk;
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
