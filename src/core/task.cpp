#include "core/task.hpp"

namespace trident {

Spawned::Spawned(Task<void> task, std::function<void(std::exception_ptr)> on_done) {
  auto handle = task.release();
  if (!handle) {
    if (on_done) on_done(nullptr);
    return;
  }
  handle.promise().on_done = std::move(on_done);
  frame_ = handle;
  handle.resume();
}

Spawned::Spawned(Spawned&& o) noexcept : frame_(std::exchange(o.frame_, {})) {}

Spawned& Spawned::operator=(Spawned&& o) noexcept {
  if (this != &o) {
    if (frame_) frame_.destroy();
    frame_ = std::exchange(o.frame_, {});
  }
  return *this;
}

Spawned::~Spawned() {
  if (frame_) frame_.destroy();
}

}  // namespace trident
