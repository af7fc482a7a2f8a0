#include "app/manager.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "common/duration.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/quiet_trim.h"
#include "common/version.h"
#include "kube/config.h"
#include "kube/http.h"
#include "kube/leader.h"
#include "metrics/endpoints.h"
#include "metrics/operator_metrics.h"

namespace certguard::app {

void StopSignal::Notify(int exit_code) {
  // Notified under the lock: a waiter may return and destroy this StopSignal as soon as it
  // sees notified_, and the signal thread must not touch cv_ after that.
  std::lock_guard<std::mutex> lock(mu_);
  if (notified_) return;
  notified_ = true;
  code_ = exit_code;
  cv_.notify_all();
}

int StopSignal::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return notified_; });
  return code_;
}

bool StopSignal::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return notified_; });
}

bool StopSignal::notified() const {
  std::lock_guard<std::mutex> lock(mu_);
  return notified_;
}

void NotifyOnSignals(StopSignal& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &stop] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      log::Info("signal received, shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      stop.Notify(0);
    }
  }).detach();
}

namespace {

// Approvals' Events: their own client and budget (kube/events.h drops beyond it).
constexpr double kRoutineEventQps = 5;
constexpr int kRoutineEventBurst = 10;
constexpr size_t kRoutineEventMaxPending = 64;

std::optional<std::string> Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string RandomSuffix() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) s += kHex[rd() % 16];
  return s;
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

}  // namespace

namespace {

// The API clients: one for the controllers, one for leader election, and one with a small client-side
// budget for routine Events so that, with no limit on the main client, they
// never compete with decisions.
// Leader election has a client of its own, without a client-side limit (it
// makes one request per retry period): on the main client, its renewals would
// wait in the same token bucket and connection pool as the workers' writes and
// could miss the renew deadline during a burst of approvals.
struct Clients {
  kube::ClientConfig config;
  std::shared_ptr<kube::RestClient> main;
  std::shared_ptr<kube::RestClient> election;
  std::shared_ptr<kube::RestClient> routine_events;
};

Result<Clients> Connect(const RunOptions& options) {
  kube::LoadOptions load;
  load.kubeconfig_flag = options.kubeconfig;
  load.context = options.context;
  auto config = kube::LoadClientConfig(load);
  if (!config.ok()) return config.status().Annotate("cannot load the cluster configuration");
  Clients c;
  c.config = *config;
  c.config.qps = options.kube_api_qps;
  c.config.burst = options.kube_api_burst;
  auto client = kube::NewRestClient(c.config);
  if (!client.ok()) return client.status().Annotate("cannot build the API client");
  kube::ClientConfig routine_config = c.config;
  routine_config.qps = kRoutineEventQps;
  routine_config.burst = kRoutineEventBurst;
  auto routine = kube::NewRestClient(routine_config);
  if (!routine.ok()) return routine.status().Annotate("cannot build the API client");
  kube::ClientConfig election_config = c.config;
  election_config.qps = 0;
  auto election = kube::NewRestClient(election_config);
  if (!election.ok()) return election.status().Annotate("cannot build the API client");
  c.main = *client;
  c.election = *election;
  c.routine_events = *routine;
  return c;
}

// The enabled controllers of this build, into `group`.
Status AddControllers(ManagerContext& ctx, const RunOptions& options, RunnableGroup& group) {
  for (auto& entry : BuiltinControllers()) {
    if (std::find(options.controllers.begin(), options.controllers.end(), entry.name) ==
        options.controllers.end()) {
      continue;
    }
    if (!entry.factory) {
      log::Warn("controller not part of this build, skipped", {{"controller", entry.name}});
      continue;
    }
    auto r = entry.factory(ctx);
    if (!r.ok()) return r.status().Annotate("cannot build controller " + entry.name);
    group.Add(entry.name, std::move(*r));
  }
  return Status::Ok();
}

// Runs the controllers of `group` while this replica holds the lease. The
// callbacks run on the election threads: they capture nothing of Run's frame
// by reference but what outlives the elector (Run stops it before returning).
Result<std::unique_ptr<kube::LeaderElector>> StartElection(
    const RunOptions& options, const std::string& identity, kube::Client& client,
    RunnableGroup& group, metrics::OperatorMetrics& operator_metrics,
    std::atomic<bool>& shutting_down, StopSignal& stop) {
  kube::LeaderElectionConfig le;
  le.lease_name = options.leader_election_id;
  le.lease_namespace = options.leader_election_namespace;
  le.identity = identity;
  le.lease_duration = options.lease_duration;
  le.renew_deadline = options.renew_deadline;
  le.retry_period = options.retry_period;
  le.release_on_cancel = true;
  if (auto st = kube::Validate(le); !st.ok()) {
    return st.Annotate("invalid leader election settings");
  }
  const std::string lease = le.lease_namespace + "/" + le.lease_name;
  kube::LeaderElector::Callbacks cb = RunWhileLeading(
      group,
      [&operator_metrics, lease](bool leading) {
        if (leading) log::Info("leading: starting the controllers", {{"lease", lease}});
        operator_metrics.SetLeader(leading);
      },
      [&shutting_down] { return shutting_down.load(); },
      [&stop, identity] {
        // Another replica may act now: stop at once and let the pod restart.
        log::Error("leadership lost, exiting", {{"identity", identity}});
        stop.Notify(1);
      });
  cb.on_new_leader = [identity](const std::string& holder) {
    if (holder != identity) log::Info("leader is another replica", {{"holder", holder}});
  };
  auto elector = std::make_unique<kube::LeaderElector>(client, le, cb);
  log::Info("waiting for leadership", {{"lease", lease}, {"identity", identity}});
  elector->Start();
  return elector;
}

}  // namespace

int Run(const RunOptions& options_in, StopSignal& stop) {
  common::LimitAllocatorArenas();
  // Bursts of watch events (a bundle written into every namespace) leave freed
  // heap between cache entries: hand it back once they have gone quiet.
  common::QuietTrimmer trimmer({});
  RunOptions options = options_in;
  if (options.leader_election_namespace.empty()) {
    options.leader_election_namespace =
        DefaultLeaderElectionNamespace(Env, "/var/run/secrets/kubernetes.io/serviceaccount");
  }
  if (auto st = Validate(options); !st.ok()) {
    log::Error("invalid options", {{"error", st.message()}});
    return 1;
  }
  auto clients = Connect(options);
  if (!clients.ok()) {
    log::Error("cannot connect", {{"error", clients.status().ToString()}});
    return 1;
  }
  log::Info("connected",
            {{"server", clients->config.server}, {"context", clients->config.context_name}});

  metrics::Endpoints endpoints;
  metrics::OperatorMetrics operator_metrics(endpoints.registry(), kVersion, kGitCommit);
  const std::string identity = LeaderIdentity(Env, Hostname(), RandomSuffix());
  kube::EventRecorderOptions event_options;
  event_options.host = identity;
  kube::ApiEventRecorder events(*clients->main, event_options);
  kube::EventRecorderOptions routine_options = event_options;
  routine_options.max_pending = kRoutineEventMaxPending;
  kube::ApiEventRecorder routine_events(*clients->routine_events, routine_options);

  ManagerContext ctx{options, *clients->main, events, routine_events, endpoints.registry(),
                     endpoints};
  RunnableGroup group;
  if (auto st = AddControllers(ctx, options, group); !st.ok()) {
    log::Error("cannot build the controllers", {{"error", st.ToString()}});
    return 1;
  }

  endpoints.AddReadinessCheck("controllers", [&group] { return group.Ready(); });
  metrics::EndpointsOptions endpoint_options;
  endpoint_options.metrics_bind_address = options.metrics_bind_address;
  endpoint_options.health_bind_address = options.health_bind_address;
  if (auto st = endpoints.Start(endpoint_options); !st.ok()) {
    log::Error("cannot serve metrics and health endpoints", {{"error", st.ToString()}});
    return 1;
  }
  log::Info("serving endpoints", {{"metrics_port", std::to_string(endpoints.metrics_port())},
                                  {"health_port", std::to_string(endpoints.health_port())}});

  std::atomic<bool> shutting_down{false};
  std::unique_ptr<kube::LeaderElector> elector;
  if (options.leader_elect) {
    auto started = StartElection(options, identity, *clients->election, group, operator_metrics,
                                 shutting_down, stop);
    if (!started.ok()) {
      log::Error("cannot elect a leader", {{"error", started.status().ToString()}});
      return 1;
    }
    elector = std::move(*started);
  } else {
    operator_metrics.SetLeader(true);
    group.StartAll();
  }

  int code = stop.Wait();
  shutting_down.store(true);
  log::Info("stopping");
  group.StopAll();
  if (elector) elector->Stop();  // releases the lease for the next replica
  events.Flush();
  endpoints.Stop();
  log::Info("stopped", {{"exit_code", std::to_string(code)}});
  return code;
}

}  // namespace certguard::app
