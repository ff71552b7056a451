// Binary arrays: IDX (LeCun's MNIST format: magic 0x0000TTDD, TT the element type, DD the rank,
// then DD big-endian u32 extents and the big-endian data) and NumPy .npy (magic "\x93NUMPY",
// versions 1-3, a Python-literal header dict with descr / fortran_order / shape, then the data).
#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>

#include "frontends/dataset/dataset_internal.h"

namespace nncert::dataset {

namespace {

template <class T>
T load(const char* p, bool big_endian) {
  unsigned char buf[sizeof(T)];
  std::memcpy(buf, p, sizeof(T));
  if (sizeof(T) > 1 && big_endian != (std::endian::native == std::endian::big))
    std::reverse(buf, buf + sizeof(T));
  T v;
  std::memcpy(&v, buf, sizeof(T));
  return v;
}

uint32_t load_u32_be(const std::string& b, size_t at) {
  return load<uint32_t>(b.data() + at, true);
}

std::string shape_text(const Shape& s, ElemType t) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? " x " : "") + std::to_string(s[i]);
  return r + " " + elem_type_name(t);
}

// The data must be exactly numel * size bytes after `offset`.
Status check_data_size(const RawArray& a, const std::string& path, const char* format) {
  const size_t have = a.bytes.size() - a.offset;
  const size_t es = elem_size(a.type);
  // numel * es without overflow: any extent beyond what the file can hold is "truncated".
  size_t need = es;
  bool too_big = false;
  for (int64_t d : a.shape) {
    const auto ud = static_cast<size_t>(d);
    if (ud != 0 && need > std::numeric_limits<size_t>::max() / ud) {
      too_big = true;
      break;
    }
    need *= ud;
  }
  if (too_big || need > have)
    return {ErrorCode::kParseError,
            path + ": truncated " + format + " data: the header declares " +
                shape_text(a.shape, a.type) +
                (too_big ? std::string(" (beyond any file size)")
                         : " (" + std::to_string(need) + " bytes)") +
                ", the file holds " + std::to_string(have) + " bytes of data"};
  if (need < have)
    return {ErrorCode::kParseError,
            path + ": " + std::to_string(have - need) + " bytes after the " + format +
                " data the header declares (" + shape_text(a.shape, a.type) + ")"};
  return Status::ok();
}

// A minimal reader for the header dict numpy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (10, 28, 28), }
class NpyDict {
 public:
  NpyDict(const std::string& s, const std::string& path) : s_(s), path_(path) {}

  Status parse() {
    skip_ws();
    if (!eat('{'))
      return error("expected '{'");
    bool descr = false, fortran = false, shape = false;
    while (true) {
      skip_ws();
      if (eat('}'))
        break;
      std::string key;
      NNCERT_RETURN_IF_ERROR(string(key));
      skip_ws();
      if (!eat(':'))
        return error("expected ':' after '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (peek() == '[')
          return {ErrorCode::kUnsupported, path_ + ": structured npy dtypes are not supported"};
        NNCERT_RETURN_IF_ERROR(string(descr_));
        descr = true;
      } else if (key == "fortran_order") {
        if (s_.compare(i_, 4, "True") == 0) {
          fortran_order_ = true;
          i_ += 4;
        } else if (s_.compare(i_, 5, "False") == 0) {
          i_ += 5;
        } else {
          return error("fortran_order is neither True nor False");
        }
        fortran = true;
      } else if (key == "shape") {
        NNCERT_RETURN_IF_ERROR(tuple(shape_));
        shape = true;
      } else {
        return error("unexpected key '" + key + "'");
      }
      skip_ws();
      if (eat(','))
        continue;
      skip_ws();
      if (eat('}'))
        break;
      return error("expected ',' or '}'");
    }
    if (!descr || !fortran || !shape)
      return error("the header lacks descr, fortran_order or shape");
    return Status::ok();
  }

  std::string descr_;
  bool fortran_order_ = false;
  Shape shape_;

 private:
  Status error(const std::string& what) const {
    return {ErrorCode::kParseError,
            path_ + ": malformed npy header (" + what + " at offset " + std::to_string(i_) +
                "): " + s_};
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++i_;
    return true;
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  Status string(std::string& out) {
    const char q = peek();
    if (q != '\'' && q != '"')
      return error("expected a quoted string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos)
      return error("unterminated string");
    out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return Status::ok();
  }
  Status tuple(Shape& out) {
    if (!eat('('))
      return error("expected '(' for shape");
    while (true) {
      skip_ws();
      if (eat(')'))
        return Status::ok();
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return error("expected a non-negative integer extent");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10)
          return error("extent too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      eat('L');  // Python 2 long literals
      out.push_back(v);
      skip_ws();
      if (eat(','))
        continue;
      skip_ws();
      if (eat(')'))
        return Status::ok();
      return error("expected ',' or ')' in shape");
    }
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

// "<f4" -> f32 little-endian, ...
Status parse_descr(const std::string& d, const std::string& path, RawArray& a) {
  auto unsupported = [&] {
    return Status(
        ErrorCode::kUnsupported,
        path + ": npy dtype '" + d + "' is not supported (bool, u1-u8, i1-i8, f4, f8 are)");
  };
  if (d.size() < 3)
    return unsupported();
  const char order = d[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return unsupported();
  a.big_endian = order == '>' || (order == '=' && std::endian::native == std::endian::big);
  const std::string ks = d.substr(1);
  static const std::pair<const char*, ElemType> kTypes[] = {
      {"b1", ElemType::kBool},
      {"u1", ElemType::kU8},
      {"i1", ElemType::kI8},
      {"u2", ElemType::kU16},
      {"i2", ElemType::kI16},
      {"u4", ElemType::kU32},
      {"i4", ElemType::kI32},
      {"u8", ElemType::kU64},
      {"i8", ElemType::kI64},
      {"f4", ElemType::kF32},
      {"f8", ElemType::kF64},
  };
  for (const auto& [name, type] : kTypes)
    if (ks == name) {
      a.type = type;
      return Status::ok();
    }
  return unsupported();
}

}  // namespace

const char* elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::kU8:
      return "u8";
    case ElemType::kI8:
      return "i8";
    case ElemType::kU16:
      return "u16";
    case ElemType::kI16:
      return "i16";
    case ElemType::kU32:
      return "u32";
    case ElemType::kI32:
      return "i32";
    case ElemType::kU64:
      return "u64";
    case ElemType::kI64:
      return "i64";
    case ElemType::kF32:
      return "f32";
    case ElemType::kF64:
      return "f64";
    case ElemType::kBool:
      return "bool";
  }
  return "?";
}

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::kU8:
    case ElemType::kI8:
    case ElemType::kBool:
      return 1;
    case ElemType::kU16:
    case ElemType::kI16:
      return 2;
    case ElemType::kU32:
    case ElemType::kI32:
    case ElemType::kF32:
      return 4;
    case ElemType::kU64:
    case ElemType::kI64:
    case ElemType::kF64:
      return 8;
  }
  return 1;
}

bool elem_is_float(ElemType t) {
  return t == ElemType::kF32 || t == ElemType::kF64;
}

double RawArray::get(int64_t i) const {
  const char* p = bytes.data() + offset + static_cast<size_t>(i) * elem_size(type);
  switch (type) {
    case ElemType::kF32:
      return load<float>(p, big_endian);
    case ElemType::kF64:
      return load<double>(p, big_endian);
    case ElemType::kU64:
      return static_cast<double>(load<uint64_t>(p, big_endian));
    default:
      return static_cast<double>(get_int(i));
  }
}

int64_t RawArray::get_int(int64_t i) const {
  const char* p = bytes.data() + offset + static_cast<size_t>(i) * elem_size(type);
  switch (type) {
    case ElemType::kU8:
      return load<uint8_t>(p, big_endian);
    case ElemType::kBool:
      return load<uint8_t>(p, big_endian) != 0;
    case ElemType::kI8:
      return load<int8_t>(p, big_endian);
    case ElemType::kU16:
      return load<uint16_t>(p, big_endian);
    case ElemType::kI16:
      return load<int16_t>(p, big_endian);
    case ElemType::kU32:
      return load<uint32_t>(p, big_endian);
    case ElemType::kI32:
      return load<int32_t>(p, big_endian);
    case ElemType::kU64: {
      const uint64_t v = load<uint64_t>(p, big_endian);
      return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? std::numeric_limits<int64_t>::max()
                 : static_cast<int64_t>(v);
    }
    case ElemType::kI64:
      return load<int64_t>(p, big_endian);
    case ElemType::kF32:
    case ElemType::kF64:
      break;
  }
  NNCERT_CHECK(false, "get_int on a float array");
  return 0;
}

Expected<RawArray> parse_idx(std::string bytes, const std::string& path) {
  if (bytes.size() < 4)
    return Status(ErrorCode::kParseError,
                  path + ": truncated IDX header (" + std::to_string(bytes.size()) + " bytes)");
  const auto b = [&](size_t i) {
    return static_cast<unsigned char>(bytes[i]);
  };
  if (b(0) != 0 || b(1) != 0) {
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%08x", load_u32_be(bytes, 0));
    return Status(ErrorCode::kParseError,
                  path + ": bad IDX magic " + magic + " (expected 0x0000TTDD: TT the type, DD " +
                      "the rank, e.g. 0x00000803 for MNIST images)");
  }
  RawArray a;
  a.big_endian = true;
  switch (b(2)) {
    case 0x08:
      a.type = ElemType::kU8;
      break;
    case 0x09:
      a.type = ElemType::kI8;
      break;
    case 0x0B:
      a.type = ElemType::kI16;
      break;
    case 0x0C:
      a.type = ElemType::kI32;
      break;
    case 0x0D:
      a.type = ElemType::kF32;
      break;
    case 0x0E:
      a.type = ElemType::kF64;
      break;
    default: {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", b(2));
      return Status(ErrorCode::kParseError,
                    path + ": unknown IDX element type " + code +
                        " (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)");
    }
  }
  const size_t rank = b(3);
  if (rank == 0)
    return Status(ErrorCode::kParseError, path + ": IDX array of rank 0 (no sample dimension)");
  if (bytes.size() < 4 + 4 * rank)
    return Status(ErrorCode::kParseError,
                  path + ": truncated IDX header (rank " + std::to_string(rank) + " needs " +
                      std::to_string(4 + 4 * rank) + " bytes, the file has " +
                      std::to_string(bytes.size()) + ")");
  for (size_t d = 0; d < rank; ++d)
    a.shape.push_back(load_u32_be(bytes, 4 + 4 * d));
  a.offset = 4 + 4 * rank;
  a.bytes = std::move(bytes);
  NNCERT_RETURN_IF_ERROR(check_data_size(a, path, "IDX"));
  return a;
}

Expected<RawArray> parse_npy(std::string bytes, const std::string& path) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return Status(ErrorCode::kParseError, path + ": not an npy file (bad magic or truncated)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = load<uint16_t>(bytes.data() + 8, false);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return Status(ErrorCode::kParseError, path + ": truncated npy header");
    header_len = load<uint32_t>(bytes.data() + 8, false);
    header_at = 12;
  } else {
    return Status(ErrorCode::kUnsupported,
                  path + ": npy format version " + std::to_string(major) + "." +
                      std::to_string(static_cast<unsigned char>(bytes[7])) +
                      " (versions 1, 2 and 3 are supported)");
  }
  if (bytes.size() - header_at < header_len)
    return Status(ErrorCode::kParseError,
                  path + ": truncated npy header (" + std::to_string(header_len) +
                      " bytes declared, " + std::to_string(bytes.size() - header_at) + " present)");
  const std::string header = bytes.substr(header_at, header_len);
  NpyDict dict(header, path);
  NNCERT_RETURN_IF_ERROR(dict.parse());
  RawArray a;
  NNCERT_RETURN_IF_ERROR(parse_descr(dict.descr_, path, a));
  a.shape = dict.shape_;
  // Fortran order only changes the layout when two or more extents exceed 1.
  const auto wide = std::count_if(a.shape.begin(), a.shape.end(), [](int64_t d) { return d > 1; });
  if (dict.fortran_order_ && wide > 1)
    return Status(ErrorCode::kUnsupported,
                  path + ": Fortran-order npy arrays are not supported; save a C-order array " +
                      "(numpy.ascontiguousarray) instead");
  a.offset = header_at + header_len;
  a.bytes = std::move(bytes);
  NNCERT_RETURN_IF_ERROR(check_data_size(a, path, "npy"));
  return a;
}

Expected<RawArray> parse_array(std::string bytes, const std::string& path) {
  switch (sniff_format(bytes)) {
    case DatasetFormat::kNpy:
      return parse_npy(std::move(bytes), path);
    case DatasetFormat::kIdx:
      return parse_idx(std::move(bytes), path);
    default:
      return Status(ErrorCode::kParseError,
                    path + ": neither an IDX nor an npy file (no IDX or npy magic bytes)");
  }
}

}  // namespace nncert::dataset
