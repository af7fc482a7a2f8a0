// The protobuf list reader and the CSR and Node decoders on arbitrary bytes:
// never crash, every decoded object is valid JSON text (its strings UTF-8),
// and a list reads the same whether its bytes come one at a time or in runs
// (ChunkPipe's), cut where the first input byte says.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "csr/protobuf.h"
#include "fuzz_check.h"
#include "kube/protobuf.h"

using namespace certguard::kube::protobuf;

namespace {

// An input iterator over `data` offering runs of at most `run` bytes, as
// ChunkPipe::Iterator offers one piece at a time.
class RunIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  RunIterator() = default;
  RunIterator(std::string_view data, size_t run) : data_(data), run_(run) {}
  reference operator*() const { return data_[at_]; }
  RunIterator& operator++() {
    ++at_;
    return *this;
  }
  void operator++(int) { ++at_; }
  friend bool operator==(const RunIterator& a, const RunIterator& b) {
    return a.AtEnd() == b.AtEnd();
  }
  std::string_view Span() const {
    const size_t piece_end = (at_ / run_ + 1) * run_;
    return data_.substr(at_, std::min(piece_end, data_.size()) - at_);
  }
  void Skip(size_t n) { at_ += n; }

 private:
  bool AtEnd() const { return run_ == 0 || at_ >= data_.size(); }
  std::string_view data_;
  size_t run_ = 0;
  size_t at_ = 0;
};

std::string Read(const certguard::Result<Json>& r) {
  return r.ok() ? r->dump() : "error: " + r.status().ToString();
}

// The items as each decoder reads them, then the list's metadata or error.
template <class It>
std::vector<std::string> ReadAll(It begin, It end) {
  std::vector<std::string> out;
  auto list = ReadList(begin, end, [&](std::string_view item) {
    out.push_back(Read(certguard::csr::DecodeCsrProtobuf(item)));  // dump(): throws unless UTF-8
    out.push_back(Read(certguard::csr::DecodeNodeProtobuf(item)));
    return certguard::Status::Ok();
  });
  out.push_back(Read(list));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t run = 1 + data[0] % 64;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string whole(body);
  const std::vector<std::string> bytewise = ReadAll(whole.cbegin(), whole.cend());
  const std::vector<std::string> in_runs = ReadAll(RunIterator(body, run), RunIterator());
  FUZZ_CHECK(bytewise == in_runs);
  // One message on its own, as each decoder meets an item.
  (void)Read(DecodeObjectMeta(body));
  (void)Read(certguard::csr::DecodeCsrProtobuf(body));
  return 0;
}
