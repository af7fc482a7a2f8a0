#include "expiry/collector.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <sstream>

#include "support/pki.h"
#include "x509/parse.h"

using namespace std::chrono;
using namespace certguard::expiry;
using certguard::x509::Time;

namespace {

CertFacts Expiring(std::string serial, Time not_after, Time not_before = {}) {
  CertFacts f;
  f.subject_cn = "c";
  f.issuer_cn = "i";
  f.serial = std::move(serial);
  f.not_before = not_before;
  f.not_after = not_after;
  return f;
}

// serial -> value of one family.
std::map<std::string, double> Values(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "serial") out[l.value] = m.gauge.value;
      }
    }
  }
  return out;
}

std::string Render(const ExpiryCollector& c) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.Collect());
  return out.str();
}

}  // namespace

TEST_CASE("Expiry days: fractional, negative once expired, leap years counted", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  const sys_seconds now = sys_days{2028y / February / 28} + hours{12};
  SourceRef src{ObjectRef{SourceKind::kFile, "", "/pki"}, ""};
  inv->UpsertFacts(src, SourceCerts{"", {
      Expiring("expired", now - hours{36}),            // -1.5
      Expiring("now", now),                            // 0: expires this very second
      Expiring("today", now + hours{6}),               // 0.25
      Expiring("leap", sys_days{2028y / March / 1} + hours{12}),  // across Feb 29: 2 days
      Expiring("year", sys_days{2029y / February / 28} + hours{12}),  // 366 days (leap year)
      Expiring("plain-year", sys_days{2030y / February / 28} + hours{12}),  // +365
  }});
  ExpiryCollector collector(inv, [&] { return time_point_cast<system_clock::duration>(now); });
  auto days = Values(collector.Collect(), "certguard_certificate_expiry_days");
  CHECK(days.at("expired") == Approx(-1.5));
  CHECK(days.at("now") == 0.0);
  CHECK(days.at("today") == Approx(0.25));
  CHECK(days.at("leap") == Approx(2.0));
  CHECK(days.at("year") == Approx(366.0));
  CHECK(days.at("plain-year") == Approx(366.0 + 365.0));
}

TEST_CASE("Values are computed at scrape time from the clock", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  sys_seconds not_after = sys_days{2026y / December / 1};
  inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "a", "b"}, "tls.crt"},
                   SourceCerts{"", {Expiring("01", not_after, not_after - days{90})}});
  system_clock::time_point now = not_after - days{10};
  ExpiryCollector collector(inv, [&] { return now; });

  CHECK(Values(collector.Collect(), "certguard_certificate_expiry_days").at("01") == Approx(10));
  now += days{3} + hours{12};  // no event, only time
  CHECK(Values(collector.Collect(), "certguard_certificate_expiry_days").at("01") == Approx(6.5));
  now += milliseconds{999};  // sub-second parts are dropped
  CHECK(Values(collector.Collect(), "certguard_certificate_expiry_days").at("01") == Approx(6.5));
  auto families = collector.Collect();
  CHECK(Values(families, "certguard_certificate_not_after_timestamp_seconds").at("01") ==
        static_cast<double>(not_after.time_since_epoch().count()));
  CHECK(Values(families, "certguard_certificate_not_before_timestamp_seconds").at("01") ==
        static_cast<double>((not_after - days{90}).time_since_epoch().count()));
}

TEST_CASE("Collector renders every label, one series per certificate of a bundle", "[expiry]") {
  using namespace certguard::testing;
  const sys_seconds now = sys_days{2026y / November / 24};
  Cert ca = CertBuilder().Cn("cluster-ca").Ca().Serial("CA01")
                .NotBefore(now - days{10}).NotAfter(now + days{3650}).Build();
  Cert leaf = CertBuilder().Cn("system:node:worker-1").O("system:nodes").IssuedBy(ca)
                  .Serial("BEEF").NotBefore(now - days{1}).NotAfter(now + days{30}).Build();
  auto bundle = certguard::x509::ParseBundle(JoinPem({leaf.pem, ca.pem}));
  REQUIRE(bundle.certificates.size() == 2);

  auto inv = std::make_shared<Inventory>();
  inv->Upsert({ObjectRef{SourceKind::kCsr, "", "csr-abc"}, "status.certificate"},
              bundle.certificates, "worker-1");
  ExpiryCollector collector(inv, [&] { return now; });
  std::string text = Render(collector);

  CHECK(text.find("# TYPE certguard_certificate_expiry_days gauge") != std::string::npos);
  CHECK(text.find("certguard_certificate_expiry_days{source_kind=\"csr\",namespace=\"\","
                  "name=\"csr-abc\",key=\"status.certificate\",node=\"worker-1\","
                  "subject_cn=\"system:node:worker-1\",issuer_cn=\"cluster-ca\",serial=\"BEEF\","
                  "is_ca=\"false\"} 30") != std::string::npos);
  CHECK(text.find("serial=\"CA01\",is_ca=\"true\"} 3650") != std::string::npos);
  auto families = collector.Collect();
  REQUIRE(families.size() == 4);
  for (size_t i = 0; i < 3; ++i) CHECK(families[i].metric.size() == 2);
  CHECK(families[3].name == "certguard_certificate_series_dropped_total");
  CHECK(families[3].metric.size() == 2);  // per_object and total
}

TEST_CASE("Collector follows the inventory: deleted and superseded sources drop out", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  const sys_seconds now = sys_days{2026y / November / 24};
  ExpiryCollector collector(inv, [&] { return now; });
  CHECK(Values(collector.Collect(), "certguard_certificate_expiry_days").empty());

  ObjectRef csr1{SourceKind::kCsr, "", "csr-1"}, csr2{SourceKind::kCsr, "", "csr-2"};
  inv->UpsertFacts({csr1, "status.certificate"},
                   SourceCerts{"n1", {Expiring("01", now + days{5}, now - days{360})}});
  inv->UpsertFacts({csr2, "status.certificate"},
                   SourceCerts{"n1", {Expiring("02", now + days{365}, now)}});
  auto days = Values(collector.Collect(), "certguard_certificate_expiry_days");
  CHECK(days.size() == 1);
  CHECK(days.count("02") == 1);

  inv->RemoveObject(csr2);
  inv->RemoveObject(csr1);
  CHECK(Values(collector.Collect(), "certguard_certificate_expiry_days").empty());
}

TEST_CASE("Label values are escaped in the text format", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  CertFacts f = Expiring("01", sys_days{2027y / January / 1});
  f.subject_cn = "a\"b\\c\nd";
  inv->UpsertFacts({ObjectRef{SourceKind::kConfigMap, "x", "y"}, "ca.crt"}, SourceCerts{"", {f}});
  ExpiryCollector collector(inv, [] { return sys_days{2026y / January / 1}; });
  CHECK(Render(collector).find("subject_cn=\"a\\\"b\\\\c\\nd\"") != std::string::npos);
}

namespace {

// "name{labels}" -> value, for every sample line of an exposition text.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("The text fast path writes the same series as Collect", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  const sys_seconds now = sys_days{2026y / November / 24} + hours{7} + seconds{13};
  for (int i = 0; i < 50; ++i) {
    CertFacts f = Expiring(std::to_string(i), now + hours{i * 17} - days{3}, now - days{i});
    f.subject_cn = i % 7 == 0 ? "q\"uo\\te\nd" : "cn-" + std::to_string(i);
    f.is_ca = i % 5 == 0;
    if (i % 3 == 0) {
      inv->UpsertFacts({ObjectRef{SourceKind::kCsr, "", "csr-" + std::to_string(i)}, "status.certificate"},
                       SourceCerts{"node-" + std::to_string(i % 4), {f}});
    } else {
      inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "s" + std::to_string(i)}, "tls.crt"},
                       SourceCerts{"", {f}});
    }
  }
  ExpiryCollector collector(inv, [&] { return now; });
  std::string fast;
  collector.AppendText(fast);
  auto expected = Samples(Render(collector));
  auto actual = Samples(fast);
  // 33 secrets, one shown CSR per node; and the two dropped counters
  REQUIRE(expected.size() == 3 * (33 + 4) + 2);
  REQUIRE(actual.size() == expected.size());
  for (const auto& [series, value] : expected) {
    INFO(series);
    REQUIRE(actual.count(series) == 1);
    CHECK(actual.at(series) == Approx(value).epsilon(1e-12));
  }
  CHECK(fast.find("# TYPE certguard_certificate_expiry_days gauge\n") != std::string::npos);
}

TEST_CASE("The inventory keeps at most the series its limits allow and counts the rest",
          "[expiry]") {
  const sys_seconds now = sys_days{2026y / November / 24};
  auto inv = std::make_shared<Inventory>(InventoryLimits{3, 5});
  auto certs = [&](const std::string& prefix, int n) {
    std::vector<CertFacts> out;
    for (int i = 0; i < n; ++i) {
      // Listed latest-expiring first: the cap must keep the earliest ones.
      out.push_back(Expiring(prefix + std::to_string(i), now + days{100 - i}, now - days{1}));
    }
    return out;
  };
  // Per object: 4 in one key, then 2 more in another key of the same object.
  const ObjectRef big{SourceKind::kSecret, "ns", "big"};
  inv->UpsertFacts({big, "ca.crt"}, SourceCerts{"", certs("a", 4)});
  CHECK(inv->certificate_count() == 3);
  CHECK(inv->dropped().per_object == 1);
  inv->UpsertFacts({big, "tls.crt"}, SourceCerts{"", certs("b", 2)});
  CHECK(inv->certificate_count() == 3);
  CHECK(inv->dropped().per_object == 3);
  std::vector<std::string> kept;
  inv->ForEach([&](const ObjectRef&, const std::string&, const std::string&, const CertFacts& c) {
    kept.push_back(c.serial);
  });
  // The three of "ca.crt" that expire first: a3, a2, a1 (the order of expiry).
  CHECK(kept == std::vector<std::string>{"a3", "a2", "a1"});

  // In total: 5 at most across objects.
  inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "other"}, "ca.crt"},
                   SourceCerts{"", certs("c", 3)});
  CHECK(inv->certificate_count() == 5);
  CHECK(inv->dropped().total == 1);

  // Removing an object makes room again.
  inv->RemoveObject(big);
  inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "other"}, "ca.crt"},
                   SourceCerts{"", certs("c", 3)});
  CHECK(inv->certificate_count() == 3);

  ExpiryCollector collector(inv, [&] { return now; });
  std::string text;
  collector.AppendText(text);
  CHECK(text.find("certguard_certificate_series_dropped_total{reason=\"per_object\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("certguard_certificate_series_dropped_total{reason=\"total\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("The inventory's default limits bound one object and the total", "[expiry]") {
  InventoryLimits limits;
  CHECK(limits.max_certs_per_object == 500);
  CHECK(limits.max_certs == 50000);
  // 0 lifts a bound.
  const sys_seconds now = sys_days{2026y / November / 24};
  Inventory unlimited(InventoryLimits{0, 0});
  std::vector<CertFacts> many;
  for (int i = 0; i < 600; ++i) many.push_back(Expiring(std::to_string(i), now + days{i}, now));
  unlimited.UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "s"}, "ca.crt"}, SourceCerts{"", many});
  CHECK(unlimited.certificate_count() == 600);
  Inventory bounded;
  bounded.UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "s"}, "ca.crt"}, SourceCerts{"", many});
  CHECK(bounded.certificate_count() == 500);
  CHECK(bounded.dropped().per_object == 100);
}

TEST_CASE("The expiry text written in small pieces is the whole text", "[expiry]") {
  auto inv = std::make_shared<Inventory>();
  const sys_seconds now = sys_days{2026y / December / 6};
  for (int i = 0; i < 40; ++i) {
    std::vector<CertFacts> certs;
    for (int c = 0; c < i % 4 + 1; ++c) {
      certs.push_back(Expiring(std::to_string(i) + "-" + std::to_string(c), now + days{i + c}));
    }
    inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", "s" + std::to_string(i)}, "tls.crt"},
                     SourceCerts{"", certs});
  }
  ExpiryCollector collector(inv, [&] { return now; });
  std::string whole;
  collector.AppendText(whole);
  for (size_t budget : {size_t{1}, size_t{300}, size_t{4096}}) {
    INFO(budget);
    auto writer = collector.NewTextWriter();
    std::string joined, piece;
    size_t pieces = 0, largest = 0;
    for (bool more = true; more; ++pieces) {
      piece.clear();
      more = writer->Next(piece, budget);
      largest = std::max(largest, piece.size());
      joined += piece;
      REQUIRE(pieces < 10000);
    }
    CHECK(joined == whole);
    CHECK(pieces > whole.size() / (budget + 2000));
    // At most one key (4 lines of about 250 bytes) and a family header past the budget.
    CHECK(largest <= budget + 4 * 300 + 400);
  }
}

TEST_CASE("Inventory pages see each key once, whatever changes between pages", "[expiry]") {
  Inventory inv;
  const sys_seconds now = sys_days{2026y / December / 6};
  auto put = [&](const std::string& name) {
    inv.UpsertFacts({ObjectRef{SourceKind::kSecret, "ns", name}, "tls.crt"},
                    SourceCerts{"", {Expiring(name, now + days{1})}});
  };
  for (const char* name : {"b", "d", "f", "h"}) put(name);
  std::vector<std::string> seen;
  auto visit = [&](const ObjectRef& o, const std::string&, const std::string&, const CertFacts&) {
    seen.push_back(o.name);
  };
  std::optional<SourceRef> cursor;
  size_t in_page = 0;
  auto two = [&] { return ++in_page % 2 == 0; };
  CHECK_FALSE(inv.ForEachFrom(cursor, visit, two));
  CHECK(seen == std::vector<std::string>{"b", "d"});
  REQUIRE(cursor);
  CHECK(cursor->object.name == "d");
  // Between pages: one key before the cursor, one after; one not yet seen goes away;
  // the last one seen is replaced (it is not seen again).
  put("a");
  put("g");
  put("d");
  inv.RemoveObject(ObjectRef{SourceKind::kSecret, "ns", "f"});
  in_page = 0;
  CHECK_FALSE(inv.ForEachFrom(cursor, visit, two));
  CHECK(inv.ForEachFrom(cursor, visit, two));
  CHECK(seen == std::vector<std::string>{"b", "d", "g", "h"});
  // Removing the key at the cursor: the next page starts after where it was.
  std::optional<SourceRef> at_d{SourceRef{ObjectRef{SourceKind::kSecret, "ns", "d"}, "tls.crt"}};
  inv.RemoveObject(ObjectRef{SourceKind::kSecret, "ns", "d"});
  seen.clear();
  CHECK(inv.ForEachFrom(at_d, visit, [] { return false; }));
  CHECK(seen == std::vector<std::string>{"g", "h"});
}

TEST_CASE("Secret labels passed through become series labels on both paths", "[expiry][filter]") {
  auto inv = std::make_shared<Inventory>();
  const sys_seconds now = sys_days{2026y / December / 6};
  SourceCerts labelled{"", {Expiring("s1", now + days{3})}};
  labelled.labels = {"shop", "a\"b"};
  inv->UpsertFacts({ObjectRef{SourceKind::kSecret, "apps", "web"}, "tls.crt"}, labelled);
  inv->UpsertFacts({ObjectRef{SourceKind::kFile, "", "/pki/ca.crt"}, ""},
                   SourceCerts{"", {Expiring("f1", now + days{5})}});
  ExpiryCollector collector(inv, {"secret_label_app", "secret_label_team"}, [&] { return now; });
  std::string text;
  collector.AppendText(text);
  CHECK(text.find(R"(serial="s1",is_ca="false",secret_label_app="shop",secret_label_team="a\"b"} )") !=
        std::string::npos);
  CHECK(text.find(R"(serial="f1",is_ca="false",secret_label_app="",secret_label_team=""} )") !=
        std::string::npos);
  const std::string rendered = Render(collector);
  CHECK(rendered.find(R"(secret_label_app="shop")") != std::string::npos);
  CHECK(rendered.find(R"(secret_label_team="a\"b")") != std::string::npos);
  // Without label names the series keep their usual labels only.
  std::string plain;
  ExpiryCollector(inv, [&] { return now; }).AppendText(plain);
  CHECK(plain.find("secret_label_") == std::string::npos);
}
