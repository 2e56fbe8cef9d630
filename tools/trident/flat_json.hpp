// Just enough JSON for the chat demo: objects whose values are strings,
// numbers, booleans or null (nested values are rejected), and escaping of
// strings on the way out.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace trident::demo {

// Parses `{"k":"v",...}`; string values are unescaped (\uXXXX to UTF-8),
// other scalars are kept as their literal text. nullopt on anything else.
std::optional<std::map<std::string, std::string, std::less<>>> parse_flat_object(
    std::string_view text);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

}  // namespace trident::demo
