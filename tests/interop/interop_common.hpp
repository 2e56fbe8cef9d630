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

class Flags {
 public:
  // `known` lists every accepted flag name; booleans may appear bare.
  Flags(int argc, char** argv, const std::set<std::string>& known,
        const std::set<std::string>& booleans) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "-h" || a == "--help") throw std::invalid_argument("help");
      if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument " + a);
      a = a.substr(2);
      std::string name = a, value;
      bool has_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        has_value = true;
      }
      if (!known.count(name)) throw std::invalid_argument("unknown flag --" + name);
      if (!has_value) {
        if (booleans.count(name)) {
          value = "true";
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          throw std::invalid_argument("--" + name + " needs a value");
        }
      }
      values_[name] = value;
    }
  }

  std::string str(const std::string& name, const std::string& def = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool boolean(const std::string& name, bool def = false) const {
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    const std::string& v = it->second;
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw std::invalid_argument("--" + name + " wants true or false, got " + v);
  }
  int integer(const std::string& name, int def) const {
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    size_t used = 0;
    int v = std::stoi(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("--" + name + " wants a number");
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace interop
