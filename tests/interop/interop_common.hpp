// Small helpers shared by the libgrpc++ interop peers: flag parsing in the style of
// the official interop programs (--name=value, --name value, bare --flag for true),
// PEM loading, and access to the compression state of the last message received.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "interop_flags.hpp"

#include <grpc/grpc.h>

// libgrpc exports these (C++ linkage) for its own interop tests; there is no public way
// to learn whether a received message carried the compressed flag, which the
// CompressedRequest / CompressedResponse interop features need.
grpc_compression_algorithm grpc_call_test_only_get_compression_algorithm(grpc_call* call);
uint32_t grpc_call_test_only_get_message_flags(grpc_call* call);

namespace interop {

// Message flags set by libgrpc on a received message that was compressed on the wire
// (GRPC_WRITE_INTERNAL_COMPRESS and GRPC_WRITE_INTERNAL_TEST_ONLY_WAS_COMPRESSED in
// grpc's src/core, not installed as headers).
inline constexpr uint32_t kWasCompressedFlags = 0x80000000u | 0x40000000u;

inline bool last_message_was_compressed(grpc_call* call) {
  return call != nullptr &&
         (grpc_call_test_only_get_message_flags(call) & kWasCompressedFlags) != 0;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace interop
