// A small PEM scanner and strict base64 codec, written here (rather than using
// PEM_read_bio) so that one bad block cannot derail the blocks after it and so
// that each block's type is known before anything is decoded. No OpenSSL, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace certguard::x509::pem {

struct Block {
  std::string type;       // the BEGIN label ("CERTIFICATE"), made printable, at most 64 bytes
  std::string_view body;  // text between the BEGIN and END lines (a view into the input)
  std::string error;      // why the block is unusable (no END line, mismatched END); empty if fine
  size_t begin = 0;       // offset of "-----BEGIN"
  size_t end = 0;         // offset just past the END line (or where scanning resumed)
};

// True if the input looks like PEM (contains "-----BEGIN").
bool LooksLikePem(std::string_view text);

// Every block in order. Text outside blocks is not looked at. Linear in the
// input; after 10000 blocks scanning stops with a final error block.
std::vector<Block> Scan(std::string_view text);

// Strict base64 of a block body: whitespace between characters is allowed,
// anything else outside the alphabet (PEM headers, stray bytes) is an error, as
// are bad padding and a length that is not a multiple of 4 (truncation).
Result<std::string> DecodeBody(std::string_view body);

// Base64 in lines of 64 characters, each ending in '\n'.
std::string EncodeBody(std::string_view der);

// Base64 on one line, as Kubernetes carries []byte fields in JSON
// (`spec.request`, a Secret's `data`).
std::string Base64(std::string_view bytes);

// "-----BEGIN TYPE-----\n...-----END TYPE-----\n"
std::string Encode(std::string_view type, std::string_view der);

}  // namespace certguard::x509::pem
