#include "kube/events.h"

#include <algorithm>
#include <cstdio>

#include "common/log.h"
#include "common/time.h"
#include "kube/leader.h"

namespace certguard::kube {
namespace {

std::string ObjectKey(const ObjectReference& o) {
  return o.uid.empty() ? o.kind + "/" + o.ns + "/" + o.name : o.uid;
}

}  // namespace

ObjectReference ReferenceTo(const Json& object) {
  ObjectReference r;
  if (!object.is_object()) return r;
  r.api_version = object.value("apiVersion", "");
  r.kind = object.value("kind", "");
  if (auto m = object.find("metadata"); m != object.end() && m->is_object()) {
    r.ns = m->value("namespace", "");
    r.name = m->value("name", "");
    r.uid = m->value("uid", "");
    r.resource_version = m->value("resourceVersion", "");
  }
  return r;
}

ApiEventRecorder::ApiEventRecorder(Client& client, EventRecorderOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : common::SystemClock()) {
  thread_ = std::thread([this] { Loop(); });
}

ApiEventRecorder::~ApiEventRecorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void ApiEventRecorder::Record(const ObjectReference& object, EventSeverity severity,
                              const std::string& reason, const std::string& message) {
  std::string okey = ObjectKey(object);
  std::string agg = okey + "\x1f" + (severity == EventSeverity::kWarning ? "W" : "N") + "\x1f" +
                    reason + "\x1f" + message;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  // The same event still waiting: one write will carry both.
  if (auto it = pending_by_key_.find(agg); it != pending_by_key_.end()) {
    it->second->repeats++;
    return;
  }
  auto now = clock_.Steady();
  auto b = buckets_.find(okey);
  if (b == buckets_.end()) {
    b = buckets_.emplace(okey, TokenBucket(options_.qps_per_object, options_.burst_per_object, now))
            .first;
  }
  if (!b->second.TryTake(now)) {
    // Out of tokens: drop this one, spending nothing (as client-go's spam
    // filter), so the object's next event is not held back by the dropped.
    stats_.dropped_rate_limited++;
    return;
  }
  if (pending_.size() >= options_.max_pending) {
    stats_.dropped_overflow++;
    return;
  }
  pending_.push_back(Pending{object, severity, reason, message, agg, 1});
  pending_by_key_[agg] = &pending_.back();
  cv_.notify_all();
}

void ApiEventRecorder::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  flushed_cv_.wait(lock, [this] { return pending_.empty() && !writing_; });
}

ApiEventRecorder::Stats ApiEventRecorder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ApiEventRecorder::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) {
      if (stopping_) break;
      continue;
    }
    Pending p = pending_.front();
    pending_by_key_.erase(p.agg_key);
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    Write(p);
    lock.lock();
    writing_ = false;
    if (pending_.empty()) flushed_cv_.notify_all();
  }
  flushed_cv_.notify_all();
}

void ApiEventRecorder::Write(const Pending& p) {
  const common::MicroTime now = clock_.NowMicro();
  const std::string stamp = common::FormatRfc3339(std::chrono::floor<std::chrono::seconds>(now));
  std::string ns = p.object.ns.empty() ? options_.cluster_scoped_namespace : p.object.ns;
  std::optional<Seen> seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = seen_.find(p.agg_key);
    if (it != seen_.end() && now - it->second.last <= options_.aggregation_window) {
      seen = it->second;
    }
  }
  if (seen) {
    int count = seen->count + p.repeats;
    Json patch = {{"count", count}, {"lastTimestamp", stamp}};
    auto r = client_.Patch(resources::kEvents, seen->event_ns, seen->event_name, PatchType::kMerge,
                           patch.dump());
    if (r.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto& s = seen_[p.agg_key];
      s.count = count;
      s.last = now;
      stats_.patched++;
      return;
    }
    if (r.status().code() != Code::kNotFound) {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.errors++;
      log::Warn("event not updated", {{"reason", p.reason}, {"error", r.status().ToString()}});
      return;
    }
    // The Event expired (TTL) or was deleted: start a new one.
  }
  // Nanoseconds since the epoch, like client-go; a clock that repeats itself
  // (coarse or fake) must not make two Events of one object share a name.
  int64_t name_stamp = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           now.time_since_epoch()).count();
  name_stamp = std::max(name_stamp, last_name_stamp_ + 1);
  last_name_stamp_ = name_stamp;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(name_stamp));
  std::string name = (p.object.name.empty() ? std::string("object") : p.object.name) + suffix;
  Json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"involvedObject",
       {{"apiVersion", p.object.api_version},
        {"kind", p.object.kind},
        {"name", p.object.name},
        {"uid", p.object.uid},
        {"resourceVersion", p.object.resource_version}}},
      {"reason", p.reason},
      {"message", p.message.substr(0, 1024)},
      {"type", p.severity == EventSeverity::kWarning ? "Warning" : "Normal"},
      {"source", {{"component", options_.component}, {"host", options_.host}}},
      {"reportingComponent", options_.component},
      {"reportingInstance", options_.host},
      {"firstTimestamp", stamp},
      {"lastTimestamp", stamp},
      {"count", p.repeats},
  };
  if (!p.object.ns.empty()) ev["involvedObject"]["namespace"] = p.object.ns;
  auto r = client_.Create(resources::kEvents, ns, ev);
  std::lock_guard<std::mutex> lock(mu_);
  if (!r.ok()) {
    stats_.errors++;
    log::Warn("event not recorded", {{"reason", p.reason}, {"error", r.status().ToString()}});
    return;
  }
  stats_.created++;
  seen_[p.agg_key] = Seen{name, ns, p.repeats, now, now};
  // Keep memory bounded: forget aggregation entries past their window.
  if (seen_.size() > 4096) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      it = now - it->second.last > options_.aggregation_window ? seen_.erase(it) : std::next(it);
    }
  }
}

}  // namespace certguard::kube
