#include "app/group.h"

#include "common/log.h"

namespace certguard::app {

void RunnableGroup::Add(std::string name, std::unique_ptr<Runnable> r) {
  std::lock_guard<std::mutex> lock(mu_);
  items_.emplace_back(std::move(name), std::move(r));
}

void RunnableGroup::StartAll() {
  // Under the lock, so that StopAll never runs halfway through; Start never blocks.
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopped_) return;
  started_ = true;
  for (auto& [name, r] : items_) {
    log::Info("starting controller", {{"controller", name}});
    r->Start();
  }
}

void RunnableGroup::StopAll() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;
  for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
    log::Info("stopping controller", {{"controller", it->first}});
    it->second->Stop();
  }
}

bool RunnableGroup::started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

Status RunnableGroup::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) return Status::Ok();
  std::string waiting;
  for (const auto& [name, r] : items_) {
    if (r->Synced()) continue;
    std::string what = r->WaitingFor();
    if (what.empty()) what = "not synced";
    waiting += (waiting.empty() ? "" : "; ") + name + ": " + what;
  }
  if (waiting.empty()) return Status::Ok();
  return Unavailable(waiting);
}

kube::LeaderElector::Callbacks RunWhileLeading(RunnableGroup& group,
                                               std::function<void(bool)> on_leading,
                                               std::function<bool()> shutting_down,
                                               std::function<void()> on_lost) {
  kube::LeaderElector::Callbacks cb;
  cb.on_started_leading = [&group, on_leading] {
    if (on_leading) on_leading(true);
    group.StartAll();
  };
  cb.on_stopped_leading = [on_leading, shutting_down, on_lost] {
    if (on_leading) on_leading(false);
    if (shutting_down && shutting_down()) return;
    if (on_lost) on_lost();
  };
  return cb;
}

}  // namespace certguard::app
