// The strict DER reader: each encoding DER forbids is refused with its reason.
#include "x509/der.h"

#include <catch2/catch.hpp>
#include <string>

using namespace certguard::x509::der;

namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

// Reads one element that must be all of `in`.
Error ReadOne(const std::string& in) {
  Reader r(in);
  Element e;
  if (r.ReadAny(&e, "x")) r.ExpectEnd("input");
  return r.error();
}

}  // namespace

TEST_CASE("der: reads minimal definite lengths", "[x509][der]") {
  const std::string in = B({0x04, 0x02, 'h', 'i', 0x05, 0x00});
  Reader r(in);
  Element a, b;
  REQUIRE(r.Read(kOctetString, &a, "a"));
  CHECK(a.contents == "hi");
  CHECK(a.encoding.size() == 4);
  REQUIRE(r.Read(kNull, &b, "b"));
  CHECK(b.offset == 4);
  CHECK(r.empty());
  CHECK(r.ExpectEnd("all"));

  std::string long_form = B({0x04, 0x81, 0x80}) + std::string(128, 'x');
  Reader l(long_form);
  REQUIRE(l.ReadAny(&a, "long"));
  CHECK(a.contents.size() == 128);
  std::string two = B({0x04, 0x82, 0x01, 0x00}) + std::string(256, 'y');
  Reader t(two);
  REQUIRE(t.ReadAny(&a, "two"));
  CHECK(a.contents.size() == 256);
}

TEST_CASE("der: refuses what DER forbids, saying what", "[x509][der]") {
  struct Case {
    const char* name;
    std::string input;
    Problem problem;
    const char* message;
  };
  std::vector<Case> cases = {
      {"indefinite length", B({0x30, 0x80, 0x00, 0x00}), Problem::kNotDer,
       "x at offset 0: indefinite length (BER only)"},
      {"long form below 128", B({0x04, 0x81, 0x01, 'a'}), Problem::kNotDer,
       "x at offset 0: long-form length 1 below 128 (not minimal DER)"},
      {"leading zero length byte", B({0x04, 0x82, 0x00, 0x01, 'a'}), Problem::kNotDer,
       "x at offset 0: length has a leading zero byte (not minimal DER)"},
      {"constructed OCTET STRING", B({0x24, 0x03, 0x04, 0x01, 'a'}), Problem::kNotDer,
       "x at offset 0: constructed encoding of a primitive type (tag 0x24): BER only, DER forbids "
       "it"},
      {"primitive SEQUENCE", B({0x10, 0x00}), Problem::kMalformed,
       "x at offset 0: primitive SEQUENCE/SET (tag 0x10)"},
      {"high tag number", B({0x1f, 0x81, 0x00, 0x00}), Problem::kMalformed,
       "x at offset 0: high-tag-number form (tag 0x1f) is not supported"},
      {"end-of-contents tag", B({0x00, 0x00}), Problem::kMalformed,
       "x at offset 0: tag 0x00 (end-of-contents)"},
      {"truncated contents", B({0x04, 0x05, 'a'}), Problem::kMalformed,
       "x at offset 0: length 5 runs past the end (1 bytes left; truncated)"},
      {"no length byte", B({0x04}), Problem::kMalformed, "x at offset 0: no length (truncated)"},
      {"truncated long length", B({0x04, 0x82, 0x01}), Problem::kMalformed,
       "x at offset 0: length truncated"},
      {"five length bytes", B({0x04, 0x85, 1, 0, 0, 0, 0}), Problem::kMalformed,
       "x at offset 0: length of 5 bytes is too large"},
      {"reserved length", B({0x04, 0xff}), Problem::kMalformed,
       "x at offset 0: reserved length byte 0xff"},
      {"trailing bytes", B({0x05, 0x00, 0x00}), Problem::kMalformed,
       "input at offset 2: 1 trailing bytes"},
      {"empty", "", Problem::kMalformed, "x at offset 0: missing (truncated)"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Error e = ReadOne(c.input);
      CHECK(e.problem == c.problem);
      CHECK(e.message == c.message);
    }
  }
}

TEST_CASE("der: a nested reader reports outer offsets and the first failure sticks",
          "[x509][der]") {
  std::string in = B({0x30, 0x05, 0x05, 0x00, 0x04, 0x81, 0x00});
  Reader top(in);
  Element seq, null, bad;
  REQUIRE(top.Read(kSequence, &seq, "seq"));
  Reader inner = Reader::Of(seq);
  REQUIRE(inner.Read(kNull, &null, "null"));
  CHECK(null.offset == 2);
  CHECK_FALSE(inner.Read(kOctetString, &bad, "octets"));
  CHECK(inner.error().message ==
        "octets at offset 4: length has a leading zero byte (not minimal DER)");
  CHECK_FALSE(inner.ExpectEnd("seq"));  // still the first failure
  CHECK(inner.error().problem == Problem::kNotDer);

  const std::string set = B({0x31, 0x00});
  Reader wrong(set);
  CHECK_FALSE(wrong.Read(kSequence, &seq, "thing"));
  CHECK(wrong.error().message == "thing at offset 0: expected tag 0x30, found 0x31");
  bool present = true;
  const std::string octets = B({0x04, 0x00});
  Reader opt(octets);
  CHECK(opt.ReadOptional(kBoolean, &bad, &present, "flag"));
  CHECK_FALSE(present);
}

TEST_CASE("der: BOOLEAN is 0x00 or 0xff", "[x509][der]") {
  auto parse = [](std::string in, bool* v, Error* err) {
    Reader r(in);
    Element e;
    REQUIRE(r.ReadAny(&e, "b"));
    return ParseBoolean(e, v, err, "b");
  };
  bool v = false;
  Error err;
  CHECK(parse(B({0x01, 0x01, 0xff}), &v, &err));
  CHECK(v);
  CHECK(parse(B({0x01, 0x01, 0x00}), &v, &err));
  CHECK_FALSE(v);
  CHECK_FALSE(parse(B({0x01, 0x01, 0x01}), &v, &err));
  CHECK(err.problem == Problem::kNotDer);
  CHECK(err.message == "b at offset 0: BOOLEAN 0x01 (DER allows only 0x00 and 0xff)");
  CHECK_FALSE(parse(B({0x01, 0x02, 0xff, 0xff}), &v, &err));
  CHECK(err.problem == Problem::kMalformed);
}

TEST_CASE("der: INTEGER must be minimal", "[x509][der]") {
  auto small = [](std::string in, int64_t* v, Error* err) {
    Reader r(in);
    Element e;
    REQUIRE(r.ReadAny(&e, "i"));
    return ParseSmallInteger(e, v, err, "i");
  };
  int64_t v = 7;
  Error err;
  CHECK(small(B({0x02, 0x01, 0x00}), &v, &err));
  CHECK(v == 0);
  CHECK(small(B({0x02, 0x02, 0x00, 0x80}), &v, &err));
  CHECK(v == 128);
  CHECK(small(B({0x02, 0x01, 0xff}), &v, &err));
  CHECK(v == -1);
  CHECK_FALSE(small(B({0x02, 0x02, 0x00, 0x01}), &v, &err));
  CHECK(err.problem == Problem::kNotDer);
  CHECK(err.message == "i at offset 0: INTEGER not minimally encoded (leading 0x00)");
  CHECK_FALSE(small(B({0x02, 0x02, 0xff, 0x80}), &v, &err));
  CHECK(err.problem == Problem::kNotDer);
  CHECK_FALSE(small(B({0x02, 0x00}), &v, &err));
  CHECK(err.problem == Problem::kMalformed);
  CHECK_FALSE(small(B({0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}), &v, &err));
  CHECK(err.message == "i at offset 0: INTEGER too large");

  std::string_view magnitude;
  Element pos{0x02, std::string_view("\x00\x80", 2), {}, 0};
  CHECK(CheckPositiveInteger(pos, &magnitude, &err, "n"));
  CHECK(magnitude == std::string_view("\x80", 1));
  Element neg{0x02, std::string_view("\x80", 1), {}, 0};
  CHECK_FALSE(CheckPositiveInteger(neg, &magnitude, &err, "n"));
  CHECK(err.message == "n at offset 0: INTEGER is not positive");
  Element zero{0x02, std::string_view("\x00", 1), {}, 0};
  CHECK_FALSE(CheckPositiveInteger(zero, &magnitude, &err, "n"));
}

TEST_CASE("der: OIDs are well-formed and printed dotted", "[x509][der]") {
  Error err;
  std::string ext_req = B({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e});
  Element good{kOid, ext_req, {}, 0};
  CHECK(CheckOid(good, &err, "oid"));
  CHECK(OidToString(ext_req) == "1.2.840.113549.1.9.14");
  CHECK(OidToString(B({0x55, 0x1d, 0x11})) == "2.5.29.17");
  CHECK(OidToString(B({0x88, 0x37, 0x03})) == "2.999.3");  // first arc 2 with a large second

  std::string leading = B({0x2a, 0x80, 0x01});
  Element not_minimal{kOid, leading, {}, 0};
  CHECK_FALSE(CheckOid(not_minimal, &err, "oid"));
  CHECK(err.problem == Problem::kNotDer);
  CHECK(err.message == "oid at offset 0: OID arc with a leading 0x80 (not minimal)");
  std::string cut = B({0x2a, 0x86});
  Element unfinished{kOid, cut, {}, 0};
  CHECK_FALSE(CheckOid(unfinished, &err, "oid"));
  CHECK(err.message == "oid at offset 0: OID ends inside an arc");
  std::string huge = B({0x2a, 0x88, 0x80, 0x80, 0x80, 0x00});
  Element too_big{kOid, huge, {}, 0};
  CHECK_FALSE(CheckOid(too_big, &err, "oid"));
  CHECK(err.message == "oid at offset 0: OID arc above 2^31-1");
  Element empty{kOid, "", {}, 0};
  CHECK_FALSE(CheckOid(empty, &err, "oid"));
}

TEST_CASE("der: BIT STRING must be whole bytes, NULL empty", "[x509][der]") {
  Error err;
  std::string_view bits;
  std::string ok = B({0x00, 0xab});
  CHECK(ParseOctetAlignedBitString(Element{kBitString, ok, {}, 0}, &bits, &err, "bits"));
  CHECK(bits == "\xab");
  std::string unused = B({0x04, 0xa0});
  CHECK_FALSE(ParseOctetAlignedBitString(Element{kBitString, unused, {}, 0}, &bits, &err, "bits"));
  CHECK(err.message == "bits at offset 0: BIT STRING has 4 unused bits; whole bytes are required");
  std::string bad = B({0x08, 0x00});
  CHECK_FALSE(ParseOctetAlignedBitString(Element{kBitString, bad, {}, 0}, &bits, &err, "bits"));
  CHECK(err.message == "bits at offset 0: BIT STRING with 8 unused bits is invalid");
  CHECK(CheckNull(Element{kNull, "", {}, 0}, &err, "n"));
  CHECK_FALSE(CheckNull(Element{kNull, "x", {}, 0}, &err, "n"));
}

TEST_CASE("der: character sets", "[x509][der]") {
  CHECK(IsPrintableString("system:node:worker-1"));
  CHECK(IsPrintableString("A-Z a-z 0-9 '()+,-./:=?*"));
  CHECK_FALSE(IsPrintableString("a@b"));
  CHECK_FALSE(IsPrintableString("a_b"));
  CHECK_FALSE(IsPrintableString("a&b"));
  CHECK_FALSE(IsPrintableString(std::string("a\0b", 3)));

  CHECK(IsValidUtf8("Jürgen"));
  CHECK(IsValidUtf8("\xf0\x9f\x94\x92"));            // U+1F512
  CHECK(IsValidUtf8(std::string("a\0b", 3)));        // NUL is a character
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));              // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));          // a surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xe2\x82"));              // truncated
  CHECK_FALSE(IsValidUtf8("\x80"));                  // stray continuation
  CHECK_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // 5-byte form

  CHECK(IsIa5String("worker-1.example"));
  CHECK_FALSE(IsIa5String("w\xc3\xb6rker"));
}
