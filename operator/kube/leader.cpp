#include "kube/leader.h"


#include <algorithm>
#include <cstdio>

#include "common/json_parse.h"
#include "common/log.h"
#include "common/time.h"

namespace certguard::kube {

Status Validate(const LeaderElectionConfig& c) {
  if (c.identity.empty()) return InvalidArgument("leader election: identity is empty");
  if (c.lease_name.empty() || c.lease_namespace.empty()) {
    return InvalidArgument("leader election: lease name and namespace are required");
  }
  if (c.retry_period <= Duration(0)) return InvalidArgument("leader election: retry period <= 0");
  if (c.renew_deadline <= c.retry_period) {
    return InvalidArgument("leader election: renew deadline must exceed the retry period");
  }
  if (c.lease_duration <= c.renew_deadline) {
    return InvalidArgument("leader election: lease duration must exceed the renew deadline");
  }
  if (c.lease_duration < std::chrono::seconds(1)) {
    return InvalidArgument("leader election: lease duration below 1 s");
  }
  return Status::Ok();
}

std::string FormatMicroTime(WallClock::time_point t) {
  return common::FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(t), 6);
}

std::optional<WallClock::time_point> ParseMicroTime(const std::string& s) {
  auto t = common::ParseRfc3339Micro(s);
  // Before 1970 or beyond the clock's range is no lease time.
  if (!t.ok() || t->time_since_epoch().count() < 0 ||
      t->time_since_epoch() > std::chrono::floor<std::chrono::microseconds>(
                                  WallClock::duration::max())) {
    return std::nullopt;
  }
  return WallClock::time_point(
      std::chrono::duration_cast<WallClock::duration>(t->time_since_epoch()));
}

LeaseRecord LeaseFromJson(const Json& lease) {
  LeaseRecord r;
  if (auto m = lease.find("metadata"); m != lease.end() && m->is_object()) {
    r.resource_version = m->value("resourceVersion", "");
  }
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return r;
  auto str = [&](const char* k) -> std::string {
    auto it = spec->find(k);
    return it != spec->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  // Out of range reads as 0 (never truncated to int); transitions stay below INT_MAX
  // so that the +1 of a takeover cannot overflow.
  auto num = [&](const char* k) -> int {
    auto it = spec->find(k);
    if (it == spec->end()) return 0;
    return static_cast<int>(common::IntIn(*it, 0, INT32_MAX - 1).value_or(0));
  };
  r.holder = str("holderIdentity");
  r.lease_duration_seconds = num("leaseDurationSeconds");
  r.transitions = num("leaseTransitions");
  r.acquire_time = ParseMicroTime(str("acquireTime"));
  r.renew_time = ParseMicroTime(str("renewTime"));
  return r;
}

Json LeaseSpecJson(const LeaseRecord& r) {
  Json spec = {{"holderIdentity", r.holder},
               {"leaseDurationSeconds", r.lease_duration_seconds},
               {"leaseTransitions", r.transitions}};
  if (r.acquire_time) spec["acquireTime"] = FormatMicroTime(*r.acquire_time);
  if (r.renew_time) spec["renewTime"] = FormatMicroTime(*r.renew_time);
  return spec;
}

LeaderDecision DecideLeadership(const std::optional<LeaseRecord>& lease,
                                WallClock::time_point now, const LeaderElectionConfig& config,
                                std::optional<WallClock::time_point> observed_at) {
  // The API keeps whole seconds; round up so the lease never looks shorter than configured.
  int duration_s = static_cast<int>(
      std::chrono::ceil<std::chrono::seconds>(config.lease_duration).count());
  LeaderDecision d;
  d.desired.holder = config.identity;
  d.desired.lease_duration_seconds = duration_s;
  d.desired.renew_time = now;
  if (!lease) {
    d.action = LeaderDecision::Action::kCreate;
    d.desired.acquire_time = now;
    return d;
  }
  d.desired.resource_version = lease->resource_version;
  if (lease->holder == config.identity) {
    d.action = LeaderDecision::Action::kRenew;
    d.desired.acquire_time = lease->acquire_time.value_or(now);
    d.desired.transitions = lease->transitions;
    return d;
  }
  bool expired;
  if (lease->holder.empty()) {
    expired = true;  // released
  } else {
    std::optional<WallClock::time_point> since = observed_at ? observed_at : lease->renew_time;
    int held_s = lease->lease_duration_seconds > 0 ? lease->lease_duration_seconds : duration_s;
    expired = !since || *since + std::chrono::seconds(held_s) <= now;
  }
  if (!expired) {
    d.action = LeaderDecision::Action::kWait;
    d.desired = *lease;
    return d;
  }
  d.action = LeaderDecision::Action::kAcquire;
  d.desired.acquire_time = now;
  d.desired.transitions = lease->transitions + 1;
  return d;
}

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, Callbacks callbacks)
    : client_(client),
      config_(std::move(config)),
      clock_(config_.clock ? *config_.clock : common::SystemClock()),
      callbacks_(std::move(callbacks)) {}

WallClock::time_point LeaderElector::WallNow() const {
  return WallClock::time_point(
      std::chrono::duration_cast<WallClock::duration>(clock_.NowMicro().time_since_epoch()));
}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { Watchdog(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.exchange(true)) {
      // Already stopping: just make sure the threads are gone.
    }
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

bool LeaderElector::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_ && clock_.Steady() - last_renew_ <= config_.renew_deadline;
}

std::string LeaderElector::CurrentHolder() const {
  std::lock_guard<std::mutex> lock(mu_);
  return holder_;
}

bool LeaderElector::SleepFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void LeaderElector::StopLeading(const char* why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!leader_) return;
    leader_ = false;
  }
  log::Warn("stopped leading", {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                                {"identity", config_.identity}, {"why", why}});
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

bool LeaderElector::TryAcquireOrRenew() {
  const Resource& r = resources::kLeases;
  auto got = client_.Get(r, config_.lease_namespace, config_.lease_name);
  std::optional<LeaseRecord> current;
  if (got.ok()) {
    current = LeaseFromJson(*got);
  } else if (got.status().code() != Code::kNotFound) {
    log::Warn("reading the leader lease failed", {{"error", got.status().ToString()}});
    return false;
  }
  auto now = WallNow();
  std::optional<WallClock::time_point> observed;
  if (current) {
    std::string renew = current->renew_time ? FormatMicroTime(*current->renew_time) : "";
    std::string new_leader;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (current->holder != observed_holder_ || renew != observed_renew_ ||
          observed_at_ == WallClock::time_point{}) {
        observed_holder_ = current->holder;
        observed_renew_ = renew;
        observed_at_ = now;
      }
      observed = observed_at_;
      if (holder_ != current->holder) {
        holder_ = current->holder;
        new_leader = holder_;
      }
    }
    if (!new_leader.empty() && new_leader != config_.identity && callbacks_.on_new_leader) {
      callbacks_.on_new_leader(new_leader);
    }
  }
  LeaderDecision d = DecideLeadership(current, now, config_, observed);
  Json lease = {{"apiVersion", r.ApiVersion()},
                {"kind", r.kind},
                {"metadata", {{"name", config_.lease_name},
                              {"namespace", config_.lease_namespace}}},
                {"spec", LeaseSpecJson(d.desired)}};
  Result<Json> wrote = Status(Code::kInternal, "unset");
  switch (d.action) {
    case LeaderDecision::Action::kWait:
      return false;
    case LeaderDecision::Action::kCreate:
      wrote = client_.Create(r, config_.lease_namespace, lease);
      break;
    case LeaderDecision::Action::kAcquire:
    case LeaderDecision::Action::kRenew:
      lease["metadata"]["resourceVersion"] = d.desired.resource_version;
      wrote = client_.Update(r, config_.lease_namespace, lease);
      break;
  }
  if (!wrote.ok()) {
    if (d.action != LeaderDecision::Action::kRenew || wrote.status().code() == Code::kConflict) {
      log::Info("leader lease not taken", {{"error", wrote.status().ToString()}});
    } else {
      log::Warn("renewing the leader lease failed", {{"error", wrote.status().ToString()}});
    }
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_ = LeaseFromJson(*wrote);
  holder_ = config_.identity;
  observed_holder_ = config_.identity;
  observed_renew_ = last_->renew_time ? FormatMicroTime(*last_->renew_time) : "";
  observed_at_ = now;
  return true;
}

void LeaderElector::Run() {
  while (!stopping_) {
    auto attempt_start = clock_.Steady();
    bool held = TryAcquireOrRenew();
    if (stopping_) {
      // Stop() came while the call was in flight; the lease is released below.
      if (held) {
        std::lock_guard<std::mutex> lock(mu_);
        leader_ = true;
        last_renew_ = attempt_start;
      }
      break;
    }
    if (held) {
      bool started = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Count from when the attempt began: the server saw the renewal no earlier.
        last_renew_ = attempt_start;
        if (!leader_) {
          leader_ = true;
          started = true;
        }
        cv_.notify_all();
      }
      if (started) {
        log::Info("became leader", {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                                    {"identity", config_.identity}});
        if (callbacks_.on_started_leading) callbacks_.on_started_leading();
      }
    } else {
      bool lost = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Someone else holds it now: stop at once rather than at the deadline.
        lost = leader_ && !holder_.empty() && holder_ != config_.identity;
      }
      if (lost) StopLeading("another replica holds the lease");
    }
    if (!SleepFor(config_.retry_period)) break;
  }
  bool was_leader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_leader = leader_;
  }
  if (was_leader) {
    StopLeading("shutting down");
    if (config_.release_on_cancel) Release();
  }
}

// Stops leading when no renewal succeeded within renew_deadline, even while
// the election thread is stuck in a call.
void LeaderElector::Watchdog() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!leader_) {
      cv_.wait_for(lock, config_.retry_period, [this] { return stopping_.load(); });
      continue;
    }
    // The time left by the clock, waited for real (at most a retry period, so
    // that a clock that jumps is noticed too); the clock is read again after.
    auto left = last_renew_ + config_.renew_deadline - clock_.Steady();
    if (left > Steady::duration::zero()) {
      cv_.wait_for(lock, std::min<Steady::duration>(left, config_.retry_period),
                   [this] { return stopping_.load(); });
      continue;
    }
    lock.unlock();
    StopLeading("no renewal within the renew deadline");
    lock.lock();
  }
}

void LeaderElector::Release() {
  const Resource& r = resources::kLeases;
  auto got = client_.Get(r, config_.lease_namespace, config_.lease_name);
  if (!got.ok()) return;
  LeaseRecord rec = LeaseFromJson(*got);
  if (rec.holder != config_.identity) return;
  rec.holder.clear();
  rec.lease_duration_seconds = 1;
  rec.renew_time = WallNow();
  Json lease = *got;
  lease["spec"] = LeaseSpecJson(rec);
  auto wrote = client_.Update(r, config_.lease_namespace, lease);
  if (!wrote.ok()) {
    log::Warn("releasing the leader lease failed", {{"error", wrote.status().ToString()}});
  } else {
    log::Info("released the leader lease", {{"identity", config_.identity}});
  }
}

}  // namespace certguard::kube
