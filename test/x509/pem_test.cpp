// The PEM scanner and base64 codec under ParseCsr/ParseBundle.
#include "x509/pem.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>

namespace pem = certguard::x509::pem;

TEST_CASE("pem base64 round-trips every length and agrees with OpenSSL", "[x509][pem]") {
  for (size_t len = 0; len < 200; ++len) {
    std::string bytes;
    for (size_t i = 0; i < len; ++i) bytes += static_cast<char>((i * 131 + len * 7) & 0xff);
    std::string body = pem::EncodeBody(bytes);
    CAPTURE(len);
    // Same text as EVP_EncodeBlock (ours adds a newline every 64 characters).
    std::string ossl(4 * ((len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(ossl.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(len));
    ossl.resize(static_cast<size_t>(n));
    std::string joined;
    for (char c : body) {
      if (c != '\n') joined += c;
    }
    CHECK(joined == ossl);
    if (len == 0) {
      CHECK_FALSE(pem::DecodeBody(body).ok());  // an empty block is an error
    } else {
      auto back = pem::DecodeBody(body);
      REQUIRE(back.ok());
      CHECK(*back == bytes);
    }
  }
}

TEST_CASE("pem base64 decoding is strict", "[x509][pem]") {
  CHECK(*pem::DecodeBody("QUJD") == "ABC");
  CHECK(*pem::DecodeBody("QUI=") == "AB");
  CHECK(*pem::DecodeBody("QQ==") == "A");
  CHECK(*pem::DecodeBody(" Q U\r\n\tJ D \n") == "ABC");
  for (const char* bad : {"QUJ", "Q", "QUJD=", "Q===", "QQ=A", "=QUJ", "QU=D", "QUJD QQ", "QUJD!",
                          "QUJ\xc3\xa9", "Qk@D", "Q-_D"}) {
    CAPTURE(bad);
    CHECK_FALSE(pem::DecodeBody(bad).ok());
  }
}

TEST_CASE("pem Scan finds blocks and reports broken framing", "[x509][pem]") {
  std::string text =
      "intro\n-----BEGIN A-----\nQUJD\n-----END A-----\nmiddle\n"
      "-----BEGIN B-----\nQQ==\n"  // no END
      "-----BEGIN C-----\nQUI=\n-----END D-----\n"
      "-----BEGIN E-----\nQUJD\n-----END E-----";
  auto blocks = pem::Scan(text);
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[0].type == "A");
  CHECK(blocks[0].error.empty());
  CHECK(blocks[0].body == "\nQUJD\n");
  CHECK(text.substr(blocks[0].begin, 5) == "-----");
  CHECK(text.substr(blocks[0].end - 15, 15) == "-----END A-----");
  CHECK(blocks[1].type == "B");
  CHECK(blocks[1].error == "no END line (truncated?)");
  CHECK(blocks[2].type == "C");
  CHECK(blocks[2].error == "END line says \"D\" but BEGIN said \"C\"");
  CHECK(blocks[3].type == "E");
  CHECK(blocks[3].error.empty());
  CHECK(blocks[3].end == text.size());
  CHECK(pem::Scan("no blocks here").empty());
  CHECK(pem::LooksLikePem("x-----BEGIN"));
  CHECK_FALSE(pem::LooksLikePem("-----END CERTIFICATE-----"));
}

TEST_CASE("pem Encode writes OpenSSL's layout", "[x509][pem]") {
  CHECK(pem::Encode("CERTIFICATE", "ABC") ==
        "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n");
  std::string long_text(48, 'x');  // exactly one 64-character line
  std::string line;
  for (int i = 0; i < 16; ++i) line += "eHh4";  // base64("xxx")
  CHECK(pem::EncodeBody(long_text) == line + "\n");
  CHECK(pem::EncodeBody(long_text + "y").size() == 64 + 1 + 4 + 1);
}

TEST_CASE("pem Base64 is one unbroken line with padding", "[x509][pem]") {
  CHECK(pem::Base64("") == "");
  CHECK(pem::Base64("A") == "QQ==");
  CHECK(pem::Base64("AB") == "QUI=");
  CHECK(pem::Base64("ABC") == "QUJD");
  const std::string long_text(100, 'x');
  const std::string encoded = pem::Base64(long_text);
  CHECK(encoded.find('\n') == std::string::npos);
  CHECK(encoded.size() == 136);
  auto back = pem::DecodeBody(encoded);
  REQUIRE(back.ok());
  CHECK(*back == long_text);
}
