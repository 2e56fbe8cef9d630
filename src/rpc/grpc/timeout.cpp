#include "rpc/grpc/timeout.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace trident::rpc::grpc {
namespace {

constexpr std::int64_t kMaxValue = 99'999'999;  // 8 digits
constexpr std::size_t kMaxDigits = 8;

struct Unit {
  char letter;
  std::int64_t nanos;
};

// Largest first.
constexpr std::array<Unit, 6> kUnits = {{
    {'H', 3'600'000'000'000},
    {'M', 60'000'000'000},
    {'S', 1'000'000'000},
    {'m', 1'000'000},
    {'u', 1'000},
    {'n', 1},
}};

std::string render(std::int64_t value, char unit) {
  std::string s = std::to_string(value);
  s += unit;
  return s;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > kMaxDigits + 1) return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < value.size(); ++i) {
    const char c = value[i];
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  const char letter = value.back();
  for (const auto& u : kUnits) {
    if (u.letter != letter) continue;
    if (n > std::numeric_limits<std::int64_t>::max() / u.nanos) {
      return std::chrono::nanoseconds::max();
    }
    return std::chrono::nanoseconds(n * u.nanos);
  }
  return std::nullopt;
}

std::string format_timeout(std::chrono::nanoseconds timeout) {
  const std::int64_t ns = timeout.count();
  if (ns <= 0) return "1n";
  // Exact, fewest digits: the largest unit that divides the value and fits.
  for (const auto& u : kUnits) {
    if (ns % u.nanos == 0 && ns / u.nanos <= kMaxValue) return render(ns / u.nanos, u.letter);
  }
  // Otherwise round up in the finest unit that fits. Hours always fit:
  // int64 nanoseconds are at most ~2.6 million hours.
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    const std::int64_t v = ns / it->nanos + (ns % it->nanos != 0 ? 1 : 0);
    if (v <= kMaxValue) return render(v, it->letter);
  }
  return render(kMaxValue, 'H');  // unreachable
}

}  // namespace trident::rpc::grpc
