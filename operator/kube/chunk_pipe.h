// Bytes handed from one thread to another in order, with a bound on what
// waits between them: a List response is parsed on one thread while another
// receives it, so parsing overlaps the transfer and the text is never held
// whole. No I/O of its own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>

namespace certguard::kube {

class ChunkPipe {
 public:
  // Push waits while more than `max_buffered` bytes wait to be read.
  explicit ChunkPipe(size_t max_buffered = 1 << 20) : max_buffered_(max_buffered) {}

  // Producer: appends a copy of `chunk`. False once the reader has gone: stop sending.
  bool Push(std::string_view chunk);
  // Producer: no more bytes. The reader sees the end once it has read the rest.
  void Close();

  // Reader: the next piece (never empty), or an empty view at the end. Waits for
  // the producer. The view stays valid until the next call.
  std::string_view Next();
  // Reader: reads no more; a waiting or later Push returns false.
  void Abandon();

  // An input iterator over the bytes the reader has not taken yet, for parsers
  // that read characters one at a time (nlohmann::json::sax_parse(begin, end)).
  // Compares equal to end() once the producer has closed and every byte is read.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    Iterator() = default;
    explicit Iterator(ChunkPipe* pipe) : pipe_(pipe) {}
    reference operator*() const { return *pipe_->at_; }
    Iterator& operator++() {
      ++pipe_->at_;
      return *this;
    }
    void operator++(int) { ++pipe_->at_; }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.AtEnd() == b.AtEnd(); }
    // For readers that copy runs of bytes: what can be read now without
    // waiting past the current piece (empty only at the end), and a step over
    // `n` of those bytes.
    std::string_view Span() const {
      if (AtEnd()) return {};
      return {pipe_->at_, static_cast<size_t>(pipe_->end_ - pipe_->at_)};
    }
    void Skip(size_t n) { pipe_->at_ += n; }
    friend bool operator!=(const Iterator& a, const Iterator& b) { return !(a == b); }

   private:
    bool AtEnd() const { return pipe_ == nullptr || (pipe_->at_ == pipe_->end_ && !pipe_->Refill()); }
    ChunkPipe* pipe_ = nullptr;
  };
  Iterator begin() { return Iterator(this); }
  static Iterator end() { return Iterator(); }

 private:
  bool Refill();

  const size_t max_buffered_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t buffered_ = 0;
  bool closed_ = false;
  bool abandoned_ = false;
  std::string current_;  // the piece being read (the reader's)
  const char* at_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace certguard::kube
