#include "kube/chunk_pipe.h"

namespace certguard::kube {

bool ChunkPipe::Push(std::string_view chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  // A piece larger than the bound still goes through, alone.
  cv_.wait(lock, [&] {
    return abandoned_ || buffered_ == 0 || buffered_ + chunk.size() <= max_buffered_;
  });
  if (abandoned_) return false;
  if (chunk.empty()) return true;
  queue_.emplace_back(chunk);
  buffered_ += chunk.size();
  cv_.notify_all();
  return true;
}

void ChunkPipe::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

std::string_view ChunkPipe::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || closed_ || abandoned_; });
  if (queue_.empty()) {
    current_.clear();
  } else {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    buffered_ -= current_.size();
    cv_.notify_all();
  }
  at_ = current_.data();
  end_ = at_ + current_.size();
  return current_;
}

void ChunkPipe::Abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
  queue_.clear();
  buffered_ = 0;
  cv_.notify_all();
}

bool ChunkPipe::Refill() { return !Next().empty(); }

}  // namespace certguard::kube
