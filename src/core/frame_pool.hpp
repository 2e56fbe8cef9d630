// Recycled memory for coroutine frames. Every handler call, body read and
// RPC step is a coroutine, and its frame would otherwise be a malloc and a
// free per request. Frames are kept per thread in size classes, so a busy
// worker reuses the same few (cache-warm) blocks; each class keeps at most
// a bounded number, so an idle worker holds little. Sanitizer builds go
// straight to operator new/delete, so use-after-free stays detectable.
#pragma once

#include <cstddef>

namespace trident::frame_pool {

void* allocate(std::size_t size);
void deallocate(void* p, std::size_t size) noexcept;

// Whether frames are pooled in this build (not under AddressSanitizer).
bool enabled();
// Blocks currently kept by the calling thread.
std::size_t kept();

}  // namespace trident::frame_pool
