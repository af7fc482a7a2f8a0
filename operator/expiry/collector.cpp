#include "expiry/collector.h"

#include <charconv>
#include <optional>

#include "common/time.h"
#include "x509/parse.h"

namespace certguard::expiry {

namespace {

constexpr const char* kDaysName = "certguard_certificate_expiry_days";
constexpr const char* kDaysHelp =
    "Days until the certificate's notAfter: fractional, negative once expired";
constexpr const char* kNotAfterName = "certguard_certificate_not_after_timestamp_seconds";
constexpr const char* kNotAfterHelp = "The certificate's notAfter as a Unix time";
constexpr const char* kNotBeforeName = "certguard_certificate_not_before_timestamp_seconds";
constexpr const char* kNotBeforeHelp = "The certificate's notBefore as a Unix time";
constexpr const char* kDroppedName = "certguard_certificate_series_dropped_total";
constexpr const char* kDroppedHelp =
    "Certificates left out of the inventory by --expiry-max-series-per-object (reason "
    "per_object) or --expiry-max-series (reason total), counted at each write";

// Label value escaping of the text format: backslash, double quote, newline.
void AppendLabel(std::string& out, const char* name, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += name;
  out += "=\"";
  // Most values need no escaping: copy runs between special characters whole.
  size_t start = 0;
  for (size_t i = value.find_first_of("\\\"\n"); i != std::string_view::npos;
       i = value.find_first_of("\\\"\n", start)) {
    out.append(value.substr(start, i - start));
    out += value[i] == '\n' ? "\\n" : value[i] == '"' ? "\\\"" : "\\\\";
    start = i + 1;
  }
  out.append(value.substr(start));
  out += '"';
}

template <typename T>
void AppendNumber(std::string& out, T value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, ec == std::errc() ? end : buf);
}

// A family's HELP and TYPE lines; `type` is "gauge" or "counter".
void AppendHeader(std::string& out, const char* name, const char* help,
                  const char* type = "gauge") {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

ExpiryCollector::ExpiryCollector(std::shared_ptr<const Inventory> inventory, Clock clock)
    : inventory_(std::move(inventory)), clock_(std::move(clock)) {}

ExpiryCollector::ExpiryCollector(std::shared_ptr<const Inventory> inventory,
                                 std::vector<std::string> label_names, Clock clock)
    : inventory_(std::move(inventory)),
      label_names_(std::move(label_names)),
      clock_(std::move(clock)) {}

std::vector<prometheus::MetricFamily> ExpiryCollector::Collect() const {
  const x509::Time now = std::chrono::floor<std::chrono::seconds>(clock_());

  std::vector<prometheus::MetricFamily> families(3);
  auto& days = families[0];
  days.name = kDaysName;
  days.help = kDaysHelp;
  days.type = prometheus::MetricType::Gauge;
  auto& not_after = families[1];
  not_after.name = kNotAfterName;
  not_after.help = kNotAfterHelp;
  not_after.type = prometheus::MetricType::Gauge;
  auto& not_before = families[2];
  not_before.name = kNotBeforeName;
  not_before.help = kNotBeforeHelp;
  not_before.type = prometheus::MetricType::Gauge;


  inventory_->ForEachSource([&](const ObjectRef& object, const std::string& key,
                                const SourceCerts& source, const CertFacts& cert) {
    prometheus::ClientMetric m;
    m.label = {{"source_kind", std::string(SourceKindName(object.kind))},
               {"namespace", object.ns},
               {"name", object.name},
               {"key", key},
               {"node", source.node},
               {"subject_cn", cert.subject_cn},
               {"issuer_cn", cert.issuer_cn},
               {"serial", cert.serial},
               {"is_ca", cert.is_ca ? "true" : "false"}};
    for (size_t i = 0; i < label_names_.size(); ++i) {
      m.label.push_back({label_names_[i], i < source.labels.size() ? source.labels[i] : ""});
    }
    m.gauge.value = static_cast<double>(cert.not_before.time_since_epoch().count());
    not_before.metric.push_back(m);
    m.gauge.value = static_cast<double>(cert.not_after.time_since_epoch().count());
    not_after.metric.push_back(m);
    m.gauge.value = common::DaysUntil(cert.not_after, now);
    days.metric.push_back(std::move(m));
  });
  // Added last: the references above point into `families`.
  const DroppedCounts dropped = inventory_->dropped();
  prometheus::MetricFamily dropped_family{kDroppedName, kDroppedHelp,
                                          prometheus::MetricType::Counter, {}};
  for (const auto& [reason, count] : {std::pair{"per_object", dropped.per_object},
                                      std::pair{"total", dropped.total}}) {
    prometheus::ClientMetric m;
    m.label = {{"reason", reason}};
    m.counter.value = static_cast<double>(count);
    dropped_family.metric.push_back(std::move(m));
  }
  families.push_back(std::move(dropped_family));
  return families;
}

namespace {

class ExpiryTextWriter : public metrics::TextCollectable::TextWriter {
 public:
  ExpiryTextWriter(std::shared_ptr<const Inventory> inventory,
                   const std::vector<std::string>& label_names, x509::Time now)
      : inventory_(std::move(inventory)), label_names_(label_names), now_(now) {}

  bool Next(std::string& out, size_t budget) override {
    const size_t start = out.size();
    auto enough = [&] { return out.size() - start >= budget; };
    while (!enough()) {
      if (family_ == kDropped) {
        AppendDropped(out);
        return false;
      }
      if (!cursor_) AppendHeader(out, kFamilies[family_].name, kFamilies[family_].help);
      bool done = inventory_->ForEachSourceFrom(
          cursor_,
          [&](const ObjectRef& object, const std::string& key, const SourceCerts& source,
              const CertFacts& cert) { AppendLine(out, object, key, source, cert); },
          enough);
      // Otherwise ForEachFrom stopped after a key, so cursor_ is set: no second header.
      if (done) {
        ++family_;
        cursor_.reset();
      }
    }
    return true;
  }

 private:
  struct Family {
    const char* name;
    const char* help;
  };
  static constexpr Family kFamilies[] = {
      {kDaysName, kDaysHelp}, {kNotAfterName, kNotAfterHelp}, {kNotBeforeName, kNotBeforeHelp}};
  static constexpr size_t kDropped = 3;

  void AppendLine(std::string& out, const ObjectRef& object, const std::string& key,
                  const SourceCerts& source, const CertFacts& cert) const {
    out += kFamilies[family_].name;
    out += '{';
    AppendLabel(out, "source_kind", SourceKindName(object.kind), true);
    AppendLabel(out, "namespace", object.ns);
    AppendLabel(out, "name", object.name);
    AppendLabel(out, "key", key);
    AppendLabel(out, "node", source.node);
    AppendLabel(out, "subject_cn", cert.subject_cn);
    AppendLabel(out, "issuer_cn", cert.issuer_cn);
    AppendLabel(out, "serial", cert.serial);
    AppendLabel(out, "is_ca", cert.is_ca ? "true" : "false");
    for (size_t i = 0; i < label_names_.size(); ++i) {
      AppendLabel(out, label_names_[i].c_str(),
                  i < source.labels.size() ? std::string_view(source.labels[i]) : "");
    }
    out += "} ";
    switch (family_) {
      case 0:
        AppendNumber(out, common::DaysUntil(cert.not_after, now_));
        break;
      case 1:
        AppendNumber(out, static_cast<long long>(cert.not_after.time_since_epoch().count()));
        break;
      default:
        AppendNumber(out, static_cast<long long>(cert.not_before.time_since_epoch().count()));
        break;
    }
    out += '\n';
  }

  void AppendDropped(std::string& out) const {
    const DroppedCounts dropped = inventory_->dropped();
    AppendHeader(out, kDroppedName, kDroppedHelp, "counter");
    for (const auto& [reason, count] :
         {std::pair{"per_object", dropped.per_object}, std::pair{"total", dropped.total}}) {
      out += kDroppedName;
      out += "{reason=\"";
      out += reason;
      out += "\"} ";
      AppendNumber(out, static_cast<unsigned long long>(count));
      out += '\n';
    }
  }

  std::shared_ptr<const Inventory> inventory_;
  const std::vector<std::string> label_names_;
  const x509::Time now_;
  size_t family_ = 0;
  std::optional<SourceRef> cursor_;  // empty: the family's header is not written yet
};

}  // namespace

std::unique_ptr<metrics::TextCollectable::TextWriter> ExpiryCollector::NewTextWriter() const {
  return std::make_unique<ExpiryTextWriter>(inventory_, label_names_,
                                            std::chrono::floor<std::chrono::seconds>(clock_()));
}

}  // namespace certguard::expiry
