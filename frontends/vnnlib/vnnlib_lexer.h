// The tokenizer of the VNNLIB reader (vnnlib_parser.cpp): '(', ')' and symbols, with whitespace
// and ';' comments skipped, by a byte-class table in one pass; and the lexical reading of
// symbols as variables (X_i, Y_i) and numbers. Inline: it runs once per byte of the file.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace nncert::vnnlib_detail {

// Byte classes for the tokenizer, by table: 1 = whitespace, 2 = ends a symbol ( ) ;
inline constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'})
    t[c] = 1;
  for (unsigned char c : {'(', ')', ';'})
    t[c] = 2;
  return t;
}();
inline bool is_space(char c) {
  return kClass[static_cast<unsigned char>(c)] == 1;
}
inline bool is_delimiter(char c) {
  return kClass[static_cast<unsigned char>(c)] != 0;
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A token as it may appear in a message: control bytes escaped, long tokens cut.
inline std::string quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax)
    out += "...";
  return out + "'";
}

enum class Tok { kOpen, kClose, kSymbol, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  size_t offset = 0;
};

inline std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kOpen:
      return "'('";
    case Tok::kClose:
      return "')'";
    case Tok::kEnd:
      return "the end of the file";
    case Tok::kSymbol:
      break;
  }
  return quote(t.text);
}

// X_<i> / Y_<i> with i in decimal without leading zeros (X_01 would alias X_1).
inline bool parse_variable(std::string_view s, bool* output, int64_t* index) {
  if (s.size() < 3 || (s[0] != 'X' && s[0] != 'Y') || s[1] != '_')
    return false;
  const std::string_view digits = s.substr(2);
  if (digits.size() > 9 || (digits.size() > 1 && digits[0] == '0'))
    return false;
  int64_t v = 0;
  for (char c : digits) {
    if (!is_digit(c))
      return false;
    v = v * 10 + (c - '0');
  }
  *output = s[0] == 'Y';
  *index = v;
  return true;
}

inline bool looks_numeric(std::string_view s) {
  if (is_digit(s[0]) || s[0] == '.')
    return true;
  return (s[0] == '-' || s[0] == '+') && s.size() > 1 && (is_digit(s[1]) || s[1] == '.');
}

enum class NumberRead { kOk, kMalformed, kOverflow };

// A symbol that looks_numeric as the nearest double (std::from_chars; a leading '+' is allowed).
// Underflow reads as 0 or a subnormal; overflow is kOverflow.
inline NumberRead read_number(std::string_view s, double* v) {
  if (s[0] == '+')
    s.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  if (ptr != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    return NumberRead::kMalformed;
  if (ec == std::errc::result_out_of_range) {
    *v = std::strtod(std::string(s).c_str(), nullptr);
    if (!std::isfinite(*v))
      return NumberRead::kOverflow;
  }
  return NumberRead::kOk;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    if (has_peeked_) {
      has_peeked_ = false;
      return peeked_;
    }
    return lex();
  }
  const Token& peek() {
    if (!has_peeked_) {
      peeked_ = lex();
      has_peeked_ = true;
    }
    return peeked_;
  }

 private:
  Token lex() {
    const size_t n = text_.size();
    while (pos_ < n) {
      const char c = text_[pos_];
      if (is_space(c)) {
        ++pos_;
      } else if (c == ';') {
        const void* nl = std::memchr(text_.data() + pos_, '\n', n - pos_);
        pos_ = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) : n;
      } else {
        break;
      }
    }
    if (pos_ >= n)
      return {Tok::kEnd, {}, n};
    const size_t start = pos_;
    if (text_[pos_] == '(' || text_[pos_] == ')') {
      ++pos_;
      return {text_[start] == '(' ? Tok::kOpen : Tok::kClose, text_.substr(start, 1), start};
    }
    while (pos_ < n && !is_delimiter(text_[pos_]))
      ++pos_;
    return {Tok::kSymbol, text_.substr(start, pos_ - start), start};
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool has_peeked_ = false;
  Token peeked_;
};

}  // namespace nncert::vnnlib_detail
