// The CSR informer lists CSRs as protobuf, decoded into JSON. On the real API
// server, every CSR shape certguard meets (pending, approved with a
// certificate, denied, being deleted, from a node, from a user with a uid
// and extra, with labels, annotations, owners and finalizers) must read the
// same both ways: the decision and the approval written back come from it.
#include <catch2/catch.hpp>
#include <random>

#include "csr/cache.h"
#include "csr/protobuf.h"
#include "integration/kube_support.h"
#include "kube/informer.h"
#include "support/pki.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using kube::Json;
namespace res = kube::resources;

std::atomic<int> decoded{0};

// The production decoder, counted: a list that fell back to JSON decodes nothing.
Result<Json> CountedDecode(std::string_view bytes) {
  ++decoded;
  return csr::DecodeCsrProtobuf(bytes);
}

std::map<std::string, Json> ByName(std::vector<Json> items) {
  std::map<std::string, Json> out;
  for (Json& item : items) {
    kube::StripForCache(item);  // what every informer does first: managedFields go
    const Json& name = item["metadata"]["name"];
    INFO("an item without a name: " << item.dump());
    REQUIRE(name.is_string());
    std::string key = name.get<std::string>();
    out[key] = std::move(item);
  }
  return out;
}

// Compares each object read both ways, where both hold the same version (a
// list from the watch cache may hold an older one, and kube-controller-manager
// may update a Node between two lists). Returns how many were compared.
int CompareAtSameVersion(const std::map<std::string, Json>& from_json,
                         const std::map<std::string, Json>& from_protobuf) {
  REQUIRE(from_protobuf.size() == from_json.size());
  int compared = 0;
  for (const auto& [name, want] : from_json) {
    INFO(name << "\nJSON:     " << want.dump() << "\nprotobuf: "
              << (from_protobuf.count(name) ? from_protobuf.at(name).dump() : "missing"));
    REQUIRE(from_protobuf.count(name) == 1);
    const Json& got = from_protobuf.at(name);
    if (got["metadata"]["resourceVersion"] != want["metadata"]["resourceVersion"]) continue;
    ++compared;
    CHECK(got == want);
  }
  return compared;
}

// Creates a CSR as `as` (impersonated, with its headers) or as the admin.
Json CreateCsr(kube::RestClient& admin, const Json& csr, const kube::Headers& as = {}) {
  kube::HttpRequest req;
  req.method = "POST";
  req.path = res::kCertificateSigningRequests.CollectionPath("");
  req.headers = as;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = csr.dump();
  auto resp = admin.Call(req);
  REQUIRE(resp.ok());
  INFO(resp->body);
  REQUIRE(resp->status == 201);
  return Json::parse(resp->body);
}

}  // namespace

TEST_CASE("csr protobuf: every CSR reads the same from a protobuf list as from JSON",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  auto admin = AdminClient(cluster, true);
  const std::string run = std::to_string(std::random_device{}() % 1000000);
  const std::string label = "pb-" + run;
  const std::string signer = "example.com/protobuf-" + run;  // no controller signs it
  auto csr = [&](const std::string& name, Json spec, Json meta = Json::object()) {
    meta["name"] = label + "-" + name;
    meta["labels"]["certguard-test"] = label;
    spec["request"] = x509::pem::Base64(testing::CsrBuilder().Cn("system:node:" + name).Pem());
    spec["signerName"] = signer;
    return Json{{"apiVersion", "certificates.k8s.io/v1"},
                {"kind", "CertificateSigningRequest"},
                {"metadata", meta},
                {"spec", spec}};
  };

  // Pending, from the admin, with every metadata field a user may set.
  Json owner = CreateCsr(*admin, csr("owner", {{"usages", {"digital signature"}}}));
  CreateCsr(*admin,
            csr("full",
                {{"usages", {"digital signature", "key encipherment", "server auth"}},
                 {"expirationSeconds", 3600}},
                {{"labels", {{"empty", ""}, {"example.com/k", "v"}}},
                 {"annotations", {{"note", "\u00e9t\u00e9 \"quoted\"\n"}}},
                 {"finalizers", {"example.com/a", "example.com/b"}},
                 {"ownerReferences",
                  {{{"apiVersion", "certificates.k8s.io/v1"},
                    {"kind", "CertificateSigningRequest"},
                    {"name", owner["metadata"]["name"]},
                    {"uid", owner["metadata"]["uid"]},
                    {"controller", false},
                    {"blockOwnerDeletion", true}}}}}));
  // From a node and from a user with a uid and extra (impersonated, as the
  // server fills spec.username, uid, groups and extra from the requester; one
  // value per header: the transport joins repeated headers into one).
  CreateCsr(*admin, csr("node", {{"usages", {"digital signature", "client auth"}}}),
            {{"Impersonate-User", "system:node:worker-" + run},
             {"Impersonate-Group", "system:nodes"}});
  // jane may create CSRs through a group of this run's.
  const kube::Resource bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                "ClusterRoleBinding", false};
  REQUIRE(admin
              ->Create(bindings, "",
                       {{"metadata", {{"name", label}}},
                        {"roleRef",
                         {{"apiGroup", "rbac.authorization.k8s.io"},
                          {"kind", "ClusterRole"},
                          {"name", "system:node-bootstrapper"}}},
                        {"subjects",
                         {{{"apiGroup", "rbac.authorization.k8s.io"},
                           {"kind", "Group"},
                           {"name", label}}}}})
              .ok());
  struct Unbind {
    kube::RestClient& admin;
    const kube::Resource& bindings;
    std::string name;
    ~Unbind() { (void)admin.Delete(bindings, "", name); }
  } unbind{*admin, bindings, label};
  // RBAC reaches the authorizer's cache soon after, not at once.
  Json user_csr = csr("user", {{"usages", {"client auth"}}}, {{"generateName", "g-"}});
  const kube::Headers as_jane = {{"Impersonate-User", "jane"},
                                 {"Impersonate-Uid", "uid-" + run},
                                 {"Impersonate-Group", label},
                                 {"Impersonate-Extra-Scopes", "view"},
                                 {"Impersonate-Extra-Example.com%2fteam", "blue"}};
  REQUIRE(testing::WaitFor(
      [&] {
        kube::HttpRequest req;
        req.method = "POST";
        req.path = res::kCertificateSigningRequests.CollectionPath("") + "?dryRun=All";
        req.headers = as_jane;
        req.headers.emplace_back("Content-Type", "application/json");
        req.body = user_csr.dump();
        auto resp = admin->Call(req);
        return resp.ok() && resp->status == 201;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));
  CreateCsr(*admin, user_csr, as_jane);
  // Approved, then issued; denied; and one being deleted (held by its finalizer).
  for (const char* name : {"issued", "denied", "deleting"}) {
    Json meta = Json::object();
    if (std::string(name) == "deleting") meta["finalizers"] = {"example.com/hold"};
    Json made = CreateCsr(*admin, csr(name, {{"usages", {"client auth"}}}, meta));
    if (std::string(name) == "deleting") continue;
    const bool approve = std::string(name) == "issued";
    made["status"]["conditions"] = {{{"type", approve ? "Approved" : "Denied"},
                                     {"status", "True"},
                                     {"reason", approve ? "Checked" : "NotANode"},
                                     {"message", "by the test"}}};
    auto decided = admin->Update(res::kCertificateSigningRequests, "", made, "approval");
    INFO(decided.status().ToString());
    REQUIRE(decided.ok());
    if (approve) {
      (*decided)["status"]["certificate"] =
          x509::pem::Base64(testing::CertBuilder().Cn("system:node:issued").Pem());
      auto issued = admin->Update(res::kCertificateSigningRequests, "", *decided, "status");
      INFO(issued.status().ToString());
      REQUIRE(issued.ok());
    }
  }
  const std::string deleting = label + "-deleting";
  REQUIRE(admin->Delete(res::kCertificateSigningRequests, "", deleting).ok());

  kube::ListOptions mine;
  mine.label_selector = "certguard-test=" + label;
  auto json_list = kube::ListAll(*admin, res::kCertificateSigningRequests, "", mine, 0);
  REQUIRE(json_list.ok());
  const auto from_json = ByName(std::move(json_list->items));
  REQUIRE(from_json.size() == 7);
  CHECK(from_json.at(deleting)["metadata"].contains("deletionTimestamp"));
  CHECK(from_json.at(label + "-issued")["status"].contains("certificate"));
  bool uid_and_extra = false;
  for (const auto& [name, item] : from_json) {
    uid_and_extra |= item["spec"].contains("uid") && item["spec"]["extra"].size() == 2;
  }
  CHECK(uid_and_extra);

  // As the informer lists: whole from the watch cache, and in pages from etcd.
  for (const bool from_cache : {true, false}) {
    INFO((from_cache ? "from the watch cache" : "from etcd, 2 a page"));
    kube::ListOptions lo = mine;
    lo.protobuf_item = CountedDecode;
    if (from_cache) lo.resource_version = "0";
    decoded = 0;
    std::vector<Json> items;
    auto listed = kube::ListPages(*admin, res::kCertificateSigningRequests, "", lo,
                                  from_cache ? 0 : 2, [&](Json&& item) {
                                    items.push_back(std::move(item));
                                    return Status::Ok();
                                  });
    INFO(listed.status().ToString());
    REQUIRE(listed.ok());
    CHECK_FALSE(listed->resource_version.empty());
    CHECK(decoded == 7);  // every item came through the protobuf decoder
    if (!from_cache) CHECK(listed->pages >= 4);  // short pages are allowed with a selector
    const int compared = CompareAtSameVersion(from_json, ByName(std::move(items)));
    if (from_cache) {
      CHECK(compared > 0);
    } else {
      CHECK(compared == 7);  // read from etcd at once: every CSR at its version
    }
  }

  // Cleaned up: the finalizers released, every CSR of this run deleted.
  for (const auto& [name, item] : from_json) {
    if (item["metadata"].contains("finalizers")) {
      REQUIRE(admin->Patch(res::kCertificateSigningRequests, "", name, kube::PatchType::kMerge,
                           R"({"metadata":{"finalizers":null}})")
                  .ok());
    }
    auto gone = admin->Delete(res::kCertificateSigningRequests, "", name);
    CHECK((gone.ok() || gone.code() == Code::kNotFound));
  }
}

TEST_CASE("csr protobuf: every Node reads the same from a protobuf list as from JSON",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  auto admin = AdminClient(cluster, true);
  const std::string run = std::to_string(std::random_device{}() % 1000000);
  const std::string label = "pb-node-" + run;
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    const std::string name = label + "-" + std::to_string(i);
    names.push_back(name);
    Json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata",
                  {{"name", name},
                   {"labels", {{"certguard-test", label}, {"topology.kubernetes.io/zone", "z"}}},
                   {"annotations", {{"note", "n"}}}}},
                 {"spec", {{"podCIDR", "10.244." + std::to_string(i) + ".0/24"}}}};
    auto made = admin->Create(res::kNodes, "", node);
    INFO(made.status().ToString());
    REQUIRE(made.ok());
    if (i == 0) continue;  // one Node without a status, as before its kubelet reports
    (*made)["status"] = {
        {"capacity", {{"cpu", "4"}}},
        {"conditions",
         {{{"type", "Ready"},
           {"status", i == 1 ? "True" : "False"},
           {"reason", "KubeletReady"},
           {"message", i == 1 ? "ready" : ""},
           {"lastHeartbeatTime", "2026-01-02T03:04:05Z"},
           {"lastTransitionTime", "2026-01-02T03:04:05Z"}},
          {{"type", "MemoryPressure"}, {"status", "False"}}}},
        {"addresses",
         {{{"type", "InternalIP"}, {"address", "10.0.0." + std::to_string(i)}},
          {{"type", "InternalIP"}, {"address", "fd00::" + std::to_string(i)}},
          {{"type", "Hostname"}, {"address", name}}}},
        {"nodeInfo", {{"machineID", "m"}, {"kubeletVersion", "v1.37.0"}}}};
    auto reported = admin->Update(res::kNodes, "", *made, "status");
    INFO(reported.status().ToString());
    REQUIRE(reported.ok());
  }
  struct Cleanup {
    kube::RestClient& admin;
    std::vector<std::string> names;
    ~Cleanup() {
      for (const auto& n : names) (void)admin.Delete(kube::resources::kNodes, "", n);
    }
  } cleanup{*admin, names};

  // What the Node informer keeps of either: kNodeFieldsUnread dropped, then
  // StripForCache (ByName).
  auto as_informer = [](std::vector<Json> items) {
    for (Json& item : items) kube::DropFields(item, csr::kNodeFieldsUnread);
    return ByName(std::move(items));
  };
  kube::ListOptions mine;
  mine.label_selector = "certguard-test=" + label;
  auto json_list = kube::ListAll(*admin, res::kNodes, "", mine, 0);
  REQUIRE(json_list.ok());
  const auto from_json = as_informer(std::move(json_list->items));
  REQUIRE(from_json.size() == 3);

  for (const bool from_cache : {true, false}) {
    INFO((from_cache ? "from the watch cache" : "from etcd, 2 a page"));
    kube::ListOptions lo = mine;
    lo.protobuf_item = csr::DecodeNodeProtobuf;
    lo.drop_fields = csr::kNodeFieldsUnread;
    if (from_cache) lo.resource_version = "0";
    std::vector<Json> items;
    auto listed = kube::ListPages(*admin, res::kNodes, "", lo, from_cache ? 0 : 2,
                                  [&](Json&& item) {
                                    items.push_back(std::move(item));
                                    return Status::Ok();
                                  });
    INFO(listed.status().ToString());
    REQUIRE(listed.ok());
    CHECK(CompareAtSameVersion(from_json, ByName(std::move(items))) > 0);
  }
}

}  // namespace certguard::test
