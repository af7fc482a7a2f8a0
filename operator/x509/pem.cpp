#include "x509/pem.h"

#include <array>
#include <cstdint>

namespace certguard::x509::pem {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
constexpr size_t kMaxLabel = 64;       // shown in messages
constexpr size_t kMaxLabelScan = 256;  // looked for
constexpr size_t kMaxBlocks = 10000;   // a 4 MiB bundle holds fewer than 8000 certificates

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = MakeDecodeTable();

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Labels are attacker-controlled: keep them short and printable before they
// reach a message.
std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxLabel; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > kMaxLabel) out += "...";
  return out;
}

// Reads a label that starts at `from` and ends at "-----" on the same line.
// Looks at most kMaxLabelScan bytes ahead, so scanning stays linear in the input.
bool ReadLabel(std::string_view text, size_t from, std::string_view* label, size_t* after) {
  std::string_view window = text.substr(from, kMaxLabelScan);
  size_t close = window.find(kDashes);
  if (close == std::string_view::npos) return false;
  std::string_view found = window.substr(0, close);
  if (found.find('\n') != std::string_view::npos) return false;
  *label = found;
  *after = from + close + kDashes.size();
  return true;
}

// The next occurrence of `needle` at or after `from`, remembering the last
// answer: positions only move forward, so each byte is searched once overall.
class Finder {
 public:
  Finder(std::string_view text, std::string_view needle) : text_(text), needle_(needle) {}
  size_t Next(size_t from) {
    if (!searched_ || (found_ != std::string_view::npos && found_ < from)) {
      found_ = text_.find(needle_, from);
      searched_ = true;
    }
    return found_;
  }

 private:
  std::string_view text_, needle_;
  size_t found_ = std::string_view::npos;
  bool searched_ = false;
};

}  // namespace

bool LooksLikePem(std::string_view text) {
  return text.find("-----BEGIN") != std::string_view::npos;
}

std::vector<Block> Scan(std::string_view text) {
  std::vector<Block> blocks;
  Finder begins(text, kBegin), ends(text, kEnd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t begin = begins.Next(pos);
    if (begin == std::string_view::npos) break;
    Block b;
    b.begin = begin;
    if (blocks.size() == kMaxBlocks) {
      b.error = "too many PEM blocks; stopped after " + std::to_string(kMaxBlocks);
      b.end = text.size();
      blocks.push_back(std::move(b));
      break;
    }
    std::string_view label;
    size_t body_start = 0;
    if (!ReadLabel(text, begin + kBegin.size(), &label, &body_start)) {
      b.error = "malformed BEGIN line";
      b.end = begin + kBegin.size();
      pos = b.end;
      blocks.push_back(std::move(b));
      continue;
    }
    b.type = Printable(label);

    size_t end = ends.Next(body_start);
    size_t next_begin = begins.Next(body_start);
    constexpr size_t npos = std::string_view::npos;
    if (end == npos || (next_begin != npos && next_begin < end)) {
      b.error = "no END line (truncated?)";
      b.end = next_begin == std::string_view::npos ? text.size() : next_begin;
      b.body = text.substr(body_start, b.end - body_start);
      pos = b.end;
      blocks.push_back(std::move(b));
      continue;
    }
    b.body = text.substr(body_start, end - body_start);
    std::string_view end_label;
    size_t after = 0;
    if (!ReadLabel(text, end + kEnd.size(), &end_label, &after)) {
      b.error = "malformed END line";
      b.end = end + kEnd.size();
    } else {
      b.end = after;
      if (end_label != label) {
        b.error =
            "END line says \"" + Printable(end_label) + "\" but BEGIN said \"" + b.type + "\"";
      }
    }
    pos = b.end;
    blocks.push_back(std::move(b));
  }
  return blocks;
}

Result<std::string> DecodeBody(std::string_view body) {
  // "Proc-Type: 4,ENCRYPTED" and the like: ':' is never in base64.
  if (body.find(':') != std::string_view::npos) {
    return InvalidArgument("PEM headers (encrypted or legacy PEM) are not supported");
  }
  std::string clean;
  clean.reserve(body.size());
  for (char c : body) {
    if (IsSpace(c)) continue;
    if (c != '=' && kDecode[static_cast<unsigned char>(c)] < 0) {
      return InvalidArgument("broken base64: a character outside the base64 alphabet");
    }
    clean += c;
  }
  if (clean.empty()) return InvalidArgument("empty PEM block");
  if (clean.size() % 4 != 0) {
    return InvalidArgument("broken base64: length is not a multiple of 4 (truncated?)");
  }
  size_t pad = 0;
  if (clean.back() == '=') ++pad;
  if (clean.size() >= 2 && clean[clean.size() - 2] == '=') ++pad;
  for (size_t i = 0; i + pad < clean.size(); ++i) {
    if (clean[i] == '=') return InvalidArgument("broken base64: padding in the middle");
  }
  if (pad == 1 && clean[clean.size() - 2] == '=') {
    return InvalidArgument("broken base64: bad padding");
  }

  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    uint32_t v = 0;
    int chars = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = clean[i + j];
      if (c == '=') break;
      v |= static_cast<uint32_t>(kDecode[static_cast<unsigned char>(c)]) << (18 - 6 * j);
      ++chars;
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (chars > 2) out += static_cast<char>((v >> 8) & 0xff);
    if (chars > 3) out += static_cast<char>(v & 0xff);
  }
  return out;
}

namespace {

// Base64 of `der`; a '\n' after every `wrap` output characters and at the end
// when wrap > 0, one unbroken line when wrap == 0.
std::string EncodeBase64(std::string_view der, size_t wrap) {
  std::string out;
  out.reserve((der.size() + 2) / 3 * 4 + (wrap ? der.size() / 48 + 2 : 0));
  size_t line = 0;
  for (size_t i = 0; i < der.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(der[i])) << 16;
    size_t n = der.size() - i;
    if (n > 1) v |= static_cast<uint32_t>(static_cast<unsigned char>(der[i + 1])) << 8;
    if (n > 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(der[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
    line += 4;
    if (wrap != 0 && line == wrap) {
      out += '\n';
      line = 0;
    }
  }
  if (wrap != 0 && line != 0) out += '\n';
  return out;
}

}  // namespace

std::string EncodeBody(std::string_view der) { return EncodeBase64(der, 64); }

std::string Base64(std::string_view bytes) { return EncodeBase64(bytes, 0); }

std::string Encode(std::string_view type, std::string_view der) {
  std::string out = "-----BEGIN ";
  out += type;
  out += "-----\n";
  out += EncodeBody(der);
  out += "-----END ";
  out += type;
  out += "-----\n";
  return out;
}

}  // namespace certguard::x509::pem
