#include "x509/der.h"

#include <cstdio>

namespace certguard::x509::der {
namespace {

std::string Hex(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02x", b);
  return buf;
}

std::string At(const char* what, size_t offset) {
  return std::string(what) + " at offset " + std::to_string(offset) + ": ";
}

bool SetError(Error* err, Problem p, std::string message) {
  if (err != nullptr) *err = Error{p, std::move(message)};
  return false;
}

// Universal types that DER encodes only in primitive form.
bool PrimitiveOnly(uint8_t number) {
  switch (number) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 9:
    case 10:
    case 12:
    case 13:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26:
    case 27:
    case 28:
    case 30:
      return true;
    default:
      return false;
  }
}

}  // namespace

Reader Reader::Of(const Element& e) {
  return Reader(e.contents, e.offset + (e.encoding.size() - e.contents.size()));
}

bool Reader::Fail(Problem p, std::string message) {
  if (failed()) return false;
  error_ = Error{p, std::move(message)};
  return false;
}

bool Reader::ReadAny(Element* out, const char* what) {
  if (failed()) return false;
  const size_t start = offset_;
  if (rest_.empty()) return Fail(Problem::kMalformed, At(what, start) + "missing (truncated)");
  const auto* p = reinterpret_cast<const uint8_t*>(rest_.data());
  const size_t n = rest_.size();
  const uint8_t tag = p[0];
  if ((tag & 0x1f) == 0x1f) {
    return Fail(Problem::kMalformed,
                At(what, start) + "high-tag-number form (tag " + Hex(tag) + ") is not supported");
  }
  if (tag == 0) return Fail(Problem::kMalformed, At(what, start) + "tag 0x00 (end-of-contents)");
  if ((tag & 0xc0) == 0) {  // universal class: the constructed bit is fixed by the type
    const uint8_t number = tag & 0x1f;
    const bool constructed = (tag & kConstructed) != 0;
    if ((number == 0x10 || number == 0x11) && !constructed) {
      return Fail(Problem::kMalformed,
                  At(what, start) + "primitive SEQUENCE/SET (tag " + Hex(tag) + ")");
    }
    if (PrimitiveOnly(number) && constructed) {
      return Fail(Problem::kNotDer, At(what, start) +
                                        "constructed encoding of a primitive type (tag " +
                                        Hex(tag) + "): BER only, DER forbids it");
    }
  }
  if (n < 2) return Fail(Problem::kMalformed, At(what, start) + "no length (truncated)");
  size_t header = 2;
  size_t length = p[1];
  if (p[1] == 0x80) {
    return Fail(Problem::kNotDer, At(what, start) + "indefinite length (BER only)");
  }
  if (p[1] == 0xff) return Fail(Problem::kMalformed, At(what, start) + "reserved length byte 0xff");
  if (p[1] > 0x80) {
    const size_t count = p[1] & 0x7f;
    if (count > 4) {
      return Fail(Problem::kMalformed,
                  At(what, start) + "length of " + std::to_string(count) + " bytes is too large");
    }
    if (n < 2 + count) return Fail(Problem::kMalformed, At(what, start) + "length truncated");
    if (p[2] == 0) {
      return Fail(Problem::kNotDer,
                  At(what, start) + "length has a leading zero byte (not minimal DER)");
    }
    length = 0;
    for (size_t i = 0; i < count; ++i) length = (length << 8) | p[2 + i];
    if (length < 0x80) {
      return Fail(Problem::kNotDer, At(what, start) + "long-form length " + std::to_string(length) +
                                        " below 128 (not minimal DER)");
    }
    header += count;
  }
  if (length > n - header) {
    return Fail(Problem::kMalformed, At(what, start) + "length " + std::to_string(length) +
                                         " runs past the end (" + std::to_string(n - header) +
                                         " bytes left; truncated)");
  }
  out->tag = tag;
  out->encoding = rest_.substr(0, header + length);
  out->contents = rest_.substr(header, length);
  out->offset = start;
  rest_.remove_prefix(header + length);
  offset_ += header + length;
  return true;
}

bool Reader::Read(uint8_t tag, Element* out, const char* what) {
  if (failed()) return false;
  if (!rest_.empty() && static_cast<uint8_t>(rest_[0]) != tag) {
    return Fail(Problem::kMalformed, At(what, offset_) + "expected tag " + Hex(tag) + ", found " +
                                         Hex(static_cast<uint8_t>(rest_[0])));
  }
  return ReadAny(out, what);
}

bool Reader::ReadOptional(uint8_t tag, Element* out, bool* present, const char* what) {
  *present = false;
  if (failed()) return false;
  if (PeekTag() != tag) return true;
  *present = true;
  return ReadAny(out, what);
}

bool Reader::ExpectEnd(const char* what) {
  if (failed()) return false;
  if (rest_.empty()) return true;
  return Fail(Problem::kMalformed,
              At(what, offset_) + std::to_string(rest_.size()) + " trailing bytes");
}

bool ParseBoolean(const Element& e, bool* value, Error* err, const char* what) {
  if (e.tag != kBoolean || e.contents.size() != 1) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "not a one-byte BOOLEAN");
  }
  const auto b = static_cast<uint8_t>(e.contents[0]);
  if (b != 0x00 && b != 0xff) {
    return SetError(err, Problem::kNotDer,
                    At(what, e.offset) + "BOOLEAN " + Hex(b) + " (DER allows only 0x00 and 0xff)");
  }
  *value = b == 0xff;
  return true;
}

namespace {
bool CheckMinimalInteger(const Element& e, Error* err, const char* what) {
  if (e.tag != kInteger || e.contents.empty()) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "empty or not an INTEGER");
  }
  if (e.contents.size() > 1) {
    const auto b0 = static_cast<uint8_t>(e.contents[0]);
    const auto b1 = static_cast<uint8_t>(e.contents[1]);
    if ((b0 == 0x00 && b1 < 0x80) || (b0 == 0xff && b1 >= 0x80)) {
      return SetError(
          err, Problem::kNotDer,
          At(what, e.offset) + "INTEGER not minimally encoded (leading " + Hex(b0) + ")");
    }
  }
  return true;
}
}  // namespace

bool ParseSmallInteger(const Element& e, int64_t* value, Error* err, const char* what) {
  if (!CheckMinimalInteger(e, err, what)) return false;
  if (e.contents.size() > 8) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "INTEGER too large");
  }
  uint64_t v = (static_cast<uint8_t>(e.contents[0]) & 0x80) ? ~uint64_t{0} : 0;
  for (char c : e.contents) v = (v << 8) | static_cast<uint8_t>(c);
  *value = static_cast<int64_t>(v);
  return true;
}

bool CheckPositiveInteger(const Element& e, std::string_view* magnitude, Error* err,
                          const char* what) {
  if (!CheckMinimalInteger(e, err, what)) return false;
  const auto b0 = static_cast<uint8_t>(e.contents[0]);
  if ((b0 & 0x80) != 0 || (e.contents.size() == 1 && b0 == 0)) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "INTEGER is not positive");
  }
  *magnitude = b0 == 0 ? e.contents.substr(1) : e.contents;
  return true;
}

bool CheckOid(const Element& e, Error* err, const char* what) {
  if (e.tag != kOid || e.contents.empty()) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "empty or not an OID");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(e.contents.data());
  const size_t n = e.contents.size();
  if ((p[n - 1] & 0x80) != 0) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "OID ends inside an arc");
  }
  uint64_t arc = 0;
  bool arc_start = true;
  for (size_t i = 0; i < n; ++i) {
    if (arc_start && p[i] == 0x80) {
      return SetError(err, Problem::kNotDer,
                      At(what, e.offset) + "OID arc with a leading 0x80 (not minimal)");
    }
    arc = (arc << 7) | (p[i] & 0x7f);
    if (arc > 0x7fffffff) {
      return SetError(err, Problem::kMalformed, At(what, e.offset) + "OID arc above 2^31-1");
    }
    arc_start = (p[i] & 0x80) == 0;
    if (arc_start) arc = 0;
  }
  return true;
}

bool ParseOctetAlignedBitString(const Element& e, std::string_view* bytes, Error* err,
                                const char* what) {
  if (e.tag != kBitString || e.contents.empty()) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "empty or not a BIT STRING");
  }
  const auto unused = static_cast<uint8_t>(e.contents[0]);
  if (unused > 7 || (unused != 0 && e.contents.size() == 1)) {
    return SetError(err, Problem::kMalformed,
                    At(what, e.offset) + "BIT STRING with " + std::to_string(unused) +
                        " unused bits is invalid");
  }
  if (unused != 0) {
    return SetError(err, Problem::kMalformed,
                    At(what, e.offset) + "BIT STRING has " + std::to_string(unused) +
                        " unused bits; whole bytes are required");
  }
  *bytes = e.contents.substr(1);
  return true;
}

bool CheckNull(const Element& e, Error* err, const char* what) {
  if (e.tag != kNull || !e.contents.empty()) {
    return SetError(err, Problem::kMalformed, At(what, e.offset) + "not an empty NULL");
  }
  return true;
}

std::string OidToString(std::string_view contents) {
  std::string out;
  uint64_t arc = 0;
  bool first = true;
  for (char c : contents) {
    const auto b = static_cast<uint8_t>(c);
    arc = (arc << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    if (first) {
      const uint64_t top = arc < 80 ? arc / 40 : 2;
      out = std::to_string(top) + "." + std::to_string(arc - top * 40);
      first = false;
    } else {
      out += "." + std::to_string(arc);
    }
    arc = 0;
  }
  return out;
}

bool IsPrintableString(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' ||
                    c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '?' ||
                    c == '*';
    if (!ok) return false;
  }
  return true;
}

bool IsIa5String(std::string_view s) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace certguard::x509::der
