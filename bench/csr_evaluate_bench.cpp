// CSR decisions per second per core, next to a bare OpenSSL verify of the same
// CSR, for ECDSA P-256 and RSA 2048 kubelet serving requests. One evaluation is
// what the controller does per CSR: read the object (base64, PEM, DER, the
// self-signature check) and decide with the default policy. The bare verify is
// d2i_X509_REQ + X509_REQ_verify of the same DER: the least any verifier of a
// CSR that arrives as bytes must do, and the baseline of the ratio. Also shown:
// X509_REQ_verify alone on a request decoded once (its key already set up),
// which a per-CSR decision cannot reuse. Times are CPU time of this thread, so
// other work on a shared machine does not count.
//
//   certguard_bench_csr [--seconds S] [--max-ratio R] [--out FILE]
//
// Prints a table, writes FILE (default bench/results/csr_evaluate.json) and
// exits 1 when an evaluation costs more than R (default 2) bare verifies.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/json_parse.h"
#include "csr/evaluate.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace certguard;
using certguard::testing::CsrBuilder;
using certguard::testing::Key;

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Runs `fn` in batches until `seconds` of CPU time have passed; calls per second.
double Rate(double seconds, const std::function<bool()>& fn) {
  for (int i = 0; i < 50; ++i) {
    if (!fn()) return -1;  // warm up and check it works
  }
  long calls = 0;
  double start = ThreadCpuSeconds(), elapsed = 0;
  do {
    for (int i = 0; i < 100; ++i) {
      if (!fn()) return -1;
    }
    calls += 100;
    elapsed = ThreadCpuSeconds() - start;
  } while (elapsed < seconds);
  return calls / elapsed;
}

struct Row {
  std::string key;
  double evaluate_per_s = 0;
  double verify_per_s = 0;
  double decode_verify_per_s = 0;
  double ratio = 0;         // cost of an evaluation in bare (decode + verify) verifies
  double verify_ratio = 0;  // ... in verifies of an already decoded request
};

Row Measure(const std::string& label, const Key& key, double seconds) {
  CsrBuilder b = CsrBuilder()
                     .Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}})
                     .Dns("worker-1")
                     .Ip("10.0.0.11")
                     .Key(key);
  const std::string pem = b.Pem();
  const std::string der = b.Der();
  std::string b64 = x509::pem::EncodeBody(pem);
  std::erase(b64, '\n');
  const nlohmann::json object = {
      {"apiVersion", "certificates.k8s.io/v1"},
      {"kind", "CertificateSigningRequest"},
      {"metadata", {{"name", "csr-bench"}}},
      {"spec",
       {{"request", b64},
        {"signerName", csr::kServingSigner},
        {"usages", {"digital signature", "key encipherment", "server auth"}},
        {"username", "system:node:worker-1"},
        {"groups", {"system:nodes", "system:authenticated"}}}}};
  csr::NodeMap nodes;
  csr::NodeFacts n;
  n.name = "worker-1";
  n.addresses = {{"InternalIP", "10.0.0.11"}, {"Hostname", "worker-1"}};
  nodes[n.name] = n;
  const std::vector<csr::Policy> policies;
  const x509::Time now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());

  Row row;
  row.key = label;
  row.evaluate_per_s = Rate(seconds, [&] {
    auto req = csr::RequestFromObject(object);
    return req.ok() &&
           csr::Evaluate(*req, nodes, policies, now).verdict == csr::Verdict::kApprove;
  });

  // Bare OpenSSL: the signature check alone on an already decoded request...
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* parsed = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  EVP_PKEY* pub = X509_REQ_get0_pubkey(parsed);
  row.verify_per_s = Rate(seconds, [&] { return X509_REQ_verify(parsed, pub) == 1; });
  X509_REQ_free(parsed);
  // ...and decoding the DER plus that check.
  row.decode_verify_per_s = Rate(seconds, [&] {
    const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
    X509_REQ* r = d2i_X509_REQ(nullptr, &q, static_cast<long>(der.size()));
    bool ok = r && X509_REQ_verify(r, X509_REQ_get0_pubkey(r)) == 1;
    X509_REQ_free(r);
    return ok;
  });
  row.ratio = row.decode_verify_per_s / row.evaluate_per_s;
  row.verify_ratio = row.verify_per_s / row.evaluate_per_s;
  return row;
}

// Hostile decisions, each timed once in CPU seconds: a Node with 20,000 IPs and
// 20,000 DNS names against a request with as many SANs (each looked up, not
// rescanned), and a backtracking-prone pattern against a 60-character node name.
struct Hostile {
  double big_node_ms = 0;
  double pattern_ms = 0;
  double json_scan_share = 0;  // depth pre-scan / (pre-scan + parse) of a 1,000-CSR list
  bool ok = false;
};

Hostile MeasureHostile() {
  Hostile h;
  const x509::Time now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  csr::CsrRequest req;
  req.signer_name = csr::kServingSigner;
  req.usages = {"digital signature", "server auth"};
  req.username = "system:node:worker-1";
  req.groups = {"system:nodes"};
  x509::CsrInfo info;
  info.subject.attributes = {{"O", "system:nodes"}, {"CN", "system:node:worker-1"}};
  info.key = {x509::KeyAlgorithm::kEcdsa, 256, "P-256"};
  info.signature_valid = true;
  csr::NodeMap nodes;
  csr::NodeFacts& n = nodes["worker-1"];
  n.name = "worker-1";
  for (int i = 0; i < 20000; ++i) {
    std::string ip = "10." + std::to_string(1 + i / 65536) + "." +
                     std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    std::string dns = "n" + std::to_string(i) + ".example";
    n.addresses.push_back({"InternalIP", ip});
    n.addresses.push_back({"InternalDNS", dns});
    info.sans.ips.push_back(x509::IpAddress::Parse(ip).value());
    info.sans.dns.push_back(dns);
  }
  req.csr = info;
  double t0 = ThreadCpuSeconds();
  bool approved = csr::Evaluate(req, nodes, {}, now).verdict == csr::Verdict::kApprove;
  h.big_node_ms = (ThreadCpuSeconds() - t0) * 1000;

  auto pattern = csr::CompilePattern("([a-z0-9]+-?)+x");
  t0 = ThreadCpuSeconds();
  bool refused = pattern.ok() && !pattern->Matches(std::string(60, 'a'));
  h.pattern_ms = (ThreadCpuSeconds() - t0) * 1000;

  nlohmann::json list = {{"kind", "CertificateSigningRequestList"},
                         {"items", nlohmann::json::array()}};
  for (int i = 0; i < 1000; ++i) {
    list["items"].push_back({{"metadata", {{"name", "csr-" + std::to_string(i)}}},
                             {"spec", {{"request", std::string(800, 'A')},
                                       {"usages", {"digital signature", "server auth"}}}}});
  }
  const std::string text = list.dump();
  t0 = ThreadCpuSeconds();
  int depth = 0;
  for (int i = 0; i < 20; ++i) depth += common::JsonDepth(text, common::kMaxJsonDepth);
  double scan = ThreadCpuSeconds() - t0;
  t0 = ThreadCpuSeconds();
  size_t items = 0;
  for (int i = 0; i < 20; ++i) items += nlohmann::json::parse(text)["items"].size();
  double parse = ThreadCpuSeconds() - t0;
  h.json_scan_share = scan / (scan + parse);
  h.ok = approved && refused && depth == 20 * 5 && items == 20 * 1000;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0, max_ratio = 2.0;
  std::string out = "bench/results/csr_evaluate.json";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--max-ratio" && i + 1 < argc) {
      max_ratio = std::atof(argv[++i]);
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: certguard_bench_csr [--seconds S] [--max-ratio R] [--out FILE]\n");
      return 2;
    }
  }

  std::vector<Row> rows;
  try {
    rows.push_back(Measure("ECDSA P-256", Key::Ec("P-256"), seconds));
    rows.push_back(Measure("RSA 2048", Key::Rsa(2048), seconds));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certguard_bench_csr: %s\n", e.what());
    return 2;
  }

  std::printf("%-12s %12s %17s %8s %22s %14s\n", "key", "evaluate/s", "decode+verify/s",
              "ratio", "verify-decoded-once/s", "ratio-to-that");
  bool over = false;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : rows) {
    if (r.evaluate_per_s <= 0 || r.verify_per_s <= 0) {
      std::fprintf(stderr, "certguard_bench_csr: %s: the request was not approved\n",
                   r.key.c_str());
      return 2;
    }
    std::printf("%-12s %12.0f %17.0f %8.2f %22.0f %14.2f\n", r.key.c_str(), r.evaluate_per_s,
                r.decode_verify_per_s, r.ratio, r.verify_per_s, r.verify_ratio);
    over = over || r.ratio > max_ratio;
    results.push_back({{"key", r.key},
                       {"evaluations_per_second_per_core", r.evaluate_per_s},
                       {"openssl_verify_per_second", r.verify_per_s},
                       {"openssl_decode_verify_per_second", r.decode_verify_per_s},
                       {"ratio", r.ratio},
                       {"ratio_to_verify_decoded_once", r.verify_ratio}});
  }
  std::printf("ratio = bare (decode + verify) verifies per evaluation (goal <= %.1f)\n",
              max_ratio);
  const Hostile hostile = MeasureHostile();
  std::printf("hostile: 20k node addresses x 20k SANs %.1f ms, ([a-z0-9]+-?)+x on 60 chars "
              "%.3f ms, "
              "JSON depth pre-scan %.1f%% of scan+parse (goal: decisions < 50 ms)\n",
              hostile.big_node_ms, hostile.pattern_ms, hostile.json_scan_share * 100);
  if (!hostile.ok) {
    std::fprintf(stderr, "certguard_bench_csr: a hostile case decided wrongly\n");
    return 2;
  }
  if (hostile.big_node_ms > 50 || hostile.pattern_ms > 50) {
    std::fprintf(stderr, "certguard_bench_csr: a hostile decision took 50 ms or more\n");
    over = true;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
  std::ofstream(out) << nlohmann::json{{"benchmark", "csr_evaluate"},
                                       {"seconds_per_measure", seconds},
                                       {"max_ratio", max_ratio},
                                       {"results", results},
                                       {"hostile",
                                        {{"node_20k_addresses_20k_sans_ms", hostile.big_node_ms},
                                         {"backtracking_pattern_ms", hostile.pattern_ms},
                                         {"json_depth_scan_share", hostile.json_scan_share}}}}
                            .dump(2)
                     << "\n";
  if (over) {
    std::fprintf(stderr, "certguard_bench_csr: an evaluation costs more than %.1f verifies\n",
                 max_ratio);
    return 1;
  }
  return 0;
}
