// The inventory as Prometheus metrics, computed at scrape time (time passes
// without any event, so values are never cached):
//   certguard_certificate_expiry_days                fractional, negative once expired
//   certguard_certificate_not_after_timestamp_seconds
//   certguard_certificate_not_before_timestamp_seconds
// each with source_kind, namespace, name, key, node, subject_cn, issuer_cn,
// serial and is_ca, then one label per --expiry-secret-label-keys key
// ("secret_label_<key>", the Secret's value, empty for other kinds). Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "expiry/inventory.h"
#include "metrics/endpoints.h"

namespace certguard::expiry {

using Clock = std::function<std::chrono::system_clock::time_point()>;

class ExpiryCollector : public metrics::TextCollectable {
 public:
  explicit ExpiryCollector(std::shared_ptr<const Inventory> inventory,
                           Clock clock = [] { return std::chrono::system_clock::now(); });
  // `label_names`: ExpiryFilter::label_names(), matched by position with each
  // source's SourceCerts::labels.
  ExpiryCollector(std::shared_ptr<const Inventory> inventory,
                  std::vector<std::string> label_names,
                  Clock clock = [] { return std::chrono::system_clock::now(); });

  std::vector<prometheus::MetricFamily> Collect() const override;
  // The same series as Collect, written straight as exposition text (the fast
  // path), a page of the inventory at a time: one family after the other, each
  // a pass over the inventory that holds its lock only while a piece is written.
  // The clock is read once, when the writer is made.
  std::unique_ptr<TextWriter> NewTextWriter() const override;

 private:
  std::shared_ptr<const Inventory> inventory_;
  std::vector<std::string> label_names_;
  Clock clock_;
};

}  // namespace certguard::expiry
