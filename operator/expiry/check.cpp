#include "expiry/check.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/time.h"
#include "common/table.h"

namespace certguard::expiry {

Result<std::chrono::seconds> ParseWindow(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::chrono::seconds total{0};
  // A leading whole number of days, then a Go-style duration for the rest.
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits > 0 && digits < text.size() && text[digits] == 'd') {
    if (digits > 5) return InvalidArgument("duration " + quoted + ": too many days");
    total += std::chrono::days{std::stoi(std::string(text.substr(0, digits)))};
    text.remove_prefix(digits + 1);
    if (text.empty()) return total;
  }
  auto rest = common::ParseDuration(text);
  if (!rest.ok()) {
    return InvalidArgument("duration " + quoted +
                           ": want a number of days (d), hours (h), minutes (m) or seconds (s), "
                           "such as 30d or 1d12h");
  }
  return total + std::chrono::duration_cast<std::chrono::seconds>(*rest);
}

std::string ResidualTime(std::chrono::seconds left) {
  const long long s = left.count();
  if (s <= 0) return "<expired>";
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  if (s < 365 * 86400LL) return std::to_string(s / 86400) + "d";
  return std::to_string(s / (365 * 86400LL)) + "y";
}

std::string FormatExpires(x509::Time t) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %02u, %d %02lld:%02lld UTC",
                kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<unsigned>(ymd.day()),
                static_cast<int>(ymd.year()), static_cast<long long>(hms.hours().count()),
                static_cast<long long>(hms.minutes().count()));
  return buf;
}

namespace {

std::string DisplayName(const std::string& cn, const std::string& dn) {
  if (!cn.empty()) return cn;
  return dn.empty() ? "(no subject)" : dn;
}

std::string GapText(const Finding& f) {
  if (!f.trust_gap) return "";
  if (f.trust_gap->empty()) return "-";
  std::string out;
  for (const auto& s : *f.trust_gap) out += (out.empty() ? "" : " + ") + s;
  return out;
}

}  // namespace

std::string RenderTable(const std::vector<Finding>& findings, x509::Time now) {
  bool gaps = false;
  for (const auto& f : findings) gaps = gaps || f.trust_gap.has_value();
  std::vector<std::vector<std::string>> leaves, cas;
  for (const auto& f : findings) {
    if (!f.cert) continue;
    const CertFacts& c = *f.cert;
    std::string expires = FormatExpires(c.not_after);
    std::string residual = ResidualTime(c.not_after - now);
    std::vector<std::string> row;
    if (c.is_ca) {
      row = {DisplayName(c.subject_cn, c.subject), expires, residual};
    } else {
      row = {DisplayName(c.subject_cn, c.subject), expires, residual, DisplayName(c.issuer_cn, c.issuer)};
    }
    if (gaps) row.push_back(GapText(f));
    row.push_back(f.source);
    (c.is_ca ? cas : leaves).push_back(std::move(row));
  }
  std::vector<std::string> leaf_header{"CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY"};
  std::vector<std::string> ca_header{"CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME"};
  for (auto* h : {&leaf_header, &ca_header}) {
    if (gaps) h->push_back("TRUST GAP");
    h->push_back("SOURCE");
  }
  std::string out;
  if (!leaves.empty()) out += common::FormatTable(leaf_header, leaves);
  if (!cas.empty()) {
    if (!out.empty()) out += "\n";
    out += common::FormatTable(ca_header, cas);
  }
  return out;
}

std::string RenderJson(const std::vector<Finding>& findings, x509::Time now) {
  auto array = nlohmann::ordered_json::array();
  for (const auto& f : findings) {
    nlohmann::ordered_json item;
    item["source"] = f.source;
    if (!f.cert) {
      item["error"] = f.error;
    } else {
      const CertFacts& c = *f.cert;
      item["subject"] = c.subject;
      item["issuer"] = c.issuer;
      item["serial"] = c.serial;
      item["notBefore"] = common::FormatRfc3339(c.not_before);
      item["notAfter"] = common::FormatRfc3339(c.not_after);
      // Three decimals (under two minutes): enough for a threshold, stable to read.
      item["daysLeft"] = std::round(common::DaysUntil(c.not_after, now) * 1000) / 1000;
      item["isCA"] = c.is_ca;
    }
    if (f.trust_gap) {
      item["trust_gap"] = *f.trust_gap;
      if (!f.trust_gap_reasons.empty()) item["trust_gap_reasons"] = f.trust_gap_reasons;
    }
    array.push_back(std::move(item));
  }
  // Replace invalid UTF-8 from odd subjects instead of throwing.
  return array.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

bool AnyExpiresWithin(const std::vector<Finding>& findings, x509::Time now,
                      std::chrono::seconds window) {
  for (const auto& f : findings) {
    if (f.cert && f.cert->not_after < now + window) return true;
  }
  return false;
}

bool AnyTrustGap(const std::vector<Finding>& findings) {
  for (const auto& f : findings) {
    if (f.trust_gap && !f.trust_gap->empty()) return true;
  }
  return false;
}

}  // namespace certguard::expiry
