// Minimal leveled logging to stderr. One line per call, written with a single
// write(2) so lines from different workers never interleave.
#pragma once

#include <string_view>

namespace trident::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) {
  if (level() <= Level::debug) write(Level::debug, m);
}
inline void info(std::string_view m) {
  if (level() <= Level::info) write(Level::info, m);
}
inline void warn(std::string_view m) {
  if (level() <= Level::warn) write(Level::warn, m);
}
inline void error(std::string_view m) {
  if (level() <= Level::error) write(Level::error, m);
}

}  // namespace trident::log
