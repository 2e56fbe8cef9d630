// An ordered multimap of header fields. Names are stored lower-case (HTTP/2
// requires it and HTTP/1.1 treats names case-insensitively), values as given.
//
// All bytes live in one arena string and fields are offsets into it, so a
// request's headers cost no allocation per field, and clear() keeps the
// capacity for the next request on the same connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trident::http {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);

class Headers {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  void add(std::string_view name, std::string_view value);
  void set(std::string_view name, std::string_view value);  // replaces all of that name
  void remove(std::string_view name);
  // First value of `name` ("" if absent); `name` must be lower-case.
  std::string_view get(std::string_view name) const;
  std::optional<std::string_view> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }

  class Iterator {
   public:
    Iterator(const Headers* h, std::size_t i) : h_(h), i_(i) {}
    Field operator*() const { return h_->field(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const Headers* h_;
    std::size_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, entries_.size()}; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() {
    arena_.clear();
    entries_.clear();
  }
  void reserve(std::size_t fields, std::size_t bytes) {
    entries_.reserve(fields);
    arena_.reserve(bytes);
  }

 private:
  struct Entry {
    std::uint32_t name_off, name_len, value_off, value_len;
  };
  Field field(std::size_t i) const {
    const Entry& e = entries_[i];
    std::string_view a = arena_;
    return {a.substr(e.name_off, e.name_len), a.substr(e.value_off, e.value_len)};
  }

  std::string arena_;
  std::vector<Entry> entries_;
};

// Reason phrase for a status code ("" for unknown codes).
std::string_view reason_phrase(int status);

}  // namespace trident::http
