// An ordered multimap of header fields. Names are stored lower-case (HTTP/2
// requires it and HTTP/1.1 treats names case-insensitively), values as given.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::http {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string_view name, std::string_view value);
  void set(std::string_view name, std::string_view value);  // replaces all of that name
  void remove(std::string_view name);
  // First value of `name` ("" if absent); `name` must be lower-case.
  std::string_view get(std::string_view name) const;
  const std::string* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  void reserve(std::size_t n) { fields_.reserve(n); }

 private:
  std::vector<Field> fields_;
};

// Reason phrase for a status code ("" for unknown codes).
std::string_view reason_phrase(int status);

}  // namespace trident::http
