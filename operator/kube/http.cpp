#include "kube/http.h"

#include <strings.h>

namespace certguard::kube {

std::string HeaderValue(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

// Callbacks run under the lock, so once ClearCallback() returns none is running.
void CancelToken::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_.exchange(true)) return;
  if (fn_) fn_();
}

void CancelToken::SetCallback(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fn_ = std::move(fn);
  if (cancelled_.load() && fn_) fn_();
}

void CancelToken::ClearCallback() {
  std::lock_guard<std::mutex> lock(mu_);
  fn_ = nullptr;
}

}  // namespace certguard::kube
