// A strict DER reader: it accepts only the one canonical encoding, so what it
// reads is what every other DER parser (Go's crypto/x509 included) reads.
// Definite minimal lengths, single-byte tags, the right constructed bit,
// DER BOOLEANs, minimal INTEGERs, well-formed OIDs, no trailing bytes.
// Pure: no OpenSSL, no allocation on success except dotted OID text.
// Thread-safe (no state beyond the caller's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace certguard::x509::der {

// Tag bytes (class | constructed | number) as they appear in the encoding.
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kBitString = 0x03;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kNull = 0x05;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kUtf8String = 0x0c;
inline constexpr uint8_t kPrintableString = 0x13;
inline constexpr uint8_t kT61String = 0x14;
inline constexpr uint8_t kIa5String = 0x16;
inline constexpr uint8_t kUniversalString = 0x1c;
inline constexpr uint8_t kBmpString = 0x1e;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
inline constexpr uint8_t kConstructed = 0x20;
inline constexpr uint8_t kContext = 0x80;

// Why the bytes were refused.
enum class Problem {
  kNone,
  kMalformed,  // not readable as ASN.1 at all (truncated, wrong tag, bad value)
  kNotDer,     // valid BER, but not the one DER encoding (length form, BOOLEAN, INTEGER, ...)
};

struct Error {
  Problem problem = Problem::kNone;
  std::string message;  // "<what> at offset N: <what was wrong>"
};

// One element: its tag byte, its contents and the whole TLV.
struct Element {
  uint8_t tag = 0;
  std::string_view contents;
  std::string_view encoding;  // tag, length and contents
  size_t offset = 0;          // of the tag byte in the outermost input
};

// Reads elements one after the other from a span of DER. The first failure is
// kept in error(); every later call fails too.
class Reader {
 public:
  explicit Reader(std::string_view input, size_t base_offset = 0)
      : rest_(input), offset_(base_offset) {}
  // A reader over an element's contents (offsets stay those of the outer input).
  static Reader Of(const Element& e);

  bool empty() const { return rest_.empty(); }
  bool failed() const { return error_.problem != Problem::kNone; }
  const Error& error() const { return error_; }
  size_t offset() const { return offset_; }

  // The next element, whatever its tag. `what` names it in an error.
  bool ReadAny(Element* out, const char* what);
  // The next element, which must carry `tag`.
  bool Read(uint8_t tag, Element* out, const char* what);
  // True, and the element read, when the next tag is `tag`; false (no error) otherwise.
  bool ReadOptional(uint8_t tag, Element* out, bool* present, const char* what);
  // Fails unless every byte has been read: `what` names the enclosing element.
  bool ExpectEnd(const char* what);
  // The tag of the next element, or -1 when empty.
  int PeekTag() const { return rest_.empty() ? -1 : static_cast<uint8_t>(rest_[0]); }

  // Records a failure found by the caller in an element this reader gave out.
  bool Fail(Problem p, std::string message);

 private:
  std::string_view rest_;
  size_t offset_ = 0;
  Error error_;
};

// Value checks. Each returns false and fills *err on failure; `what` names the element.
// BOOLEAN: one byte, 0x00 or 0xFF.
bool ParseBoolean(const Element& e, bool* value, Error* err, const char* what);
// INTEGER: minimal two's complement; the value must fit in int64.
bool ParseSmallInteger(const Element& e, int64_t* value, Error* err, const char* what);
// INTEGER: minimal two's complement and > 0 (any size). *magnitude skips a leading 0x00.
bool CheckPositiveInteger(const Element& e, std::string_view* magnitude, Error* err,
                          const char* what);
// OBJECT IDENTIFIER: non-empty, minimal base-128 arcs, each below 2^31 (as Go requires).
bool CheckOid(const Element& e, Error* err, const char* what);
// BIT STRING with no unused bits; *bytes the bits.
bool ParseOctetAlignedBitString(const Element& e, std::string_view* bytes, Error* err,
                                const char* what);
// NULL: empty contents.
bool CheckNull(const Element& e, Error* err, const char* what);

// "1.2.840.113549.1.9.14" for an OID's contents (which CheckOid accepted).
std::string OidToString(std::string_view contents);

// Character sets. PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? and '*'
// (which Go itself writes). UTF-8: common::IsValidUtf8. IA5: bytes below 0x80.
bool IsPrintableString(std::string_view s);
using common::IsValidUtf8;
bool IsIa5String(std::string_view s);

}  // namespace certguard::x509::der
