// Command-line flags in the style of the official gRPC interop programs
// (--name=value, --name value, bare --flag for booleans). Shared by the
// interop programs built on libgrpc++ (tests/interop) and on trident
// (tools/interop); no gRPC dependency.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace interop {

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
    std::size_t used = 0;
    int v = std::stoi(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("--" + name + " wants a number");
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace interop
