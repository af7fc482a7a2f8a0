// A kube::Client that forwards every call to another and counts them by verb,
// for tests that assert how many requests a controller made (a no-op reconcile
// must write nothing). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "kube/client.h"

namespace certguard::kube::testing {

class CountingClient : public Client {
 public:
  explicit CountingClient(Client& inner) : inner_(inner) {}

  struct Counts {
    uint64_t get = 0, list = 0, create = 0, update = 0, patch = 0, del = 0, watch = 0;
    uint64_t writes() const { return create + update + patch + del; }
    uint64_t total() const { return get + list + writes() + watch; }
  };
  Counts counts() const {
    return {get_.load(), list_.load(), create_.load(), update_.load(),
            patch_.load(), del_.load(), watch_.load()};
  }

  Result<Json> Get(const Resource& r, const std::string& ns, const std::string& name,
                   const std::string& subresource = {}) override {
    ++get_;
    return inner_.Get(r, ns, name, subresource);
  }
  Result<Json> List(const Resource& r, const std::string& ns, const ListOptions& o) override {
    ++list_;
    return inner_.List(r, ns, o);
  }
  Result<Json> Create(const Resource& r, const std::string& ns, const Json& object,
                      const WriteOptions& o = {}) override {
    ++create_;
    return inner_.Create(r, ns, object, o);
  }
  Result<Json> Update(const Resource& r, const std::string& ns, const Json& object,
                      const std::string& subresource = {}, const WriteOptions& o = {}) override {
    ++update_;
    return inner_.Update(r, ns, object, subresource, o);
  }
  Result<Json> Patch(const Resource& r, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const WriteOptions& o = {},
                     const std::string& subresource = {}) override {
    ++patch_;
    return inner_.Patch(r, ns, name, type, body, o, subresource);
  }
  Status Delete(const Resource& r, const std::string& ns, const std::string& name,
                const DeleteOptions& o = {}) override {
    ++del_;
    return inner_.Delete(r, ns, name, o);
  }
  Status Watch(const Resource& r, const std::string& ns, const WatchOptions& o,
               const WatchEventFn& on_event, CancelToken& cancel) override {
    ++watch_;
    return inner_.Watch(r, ns, o, on_event, cancel);
  }

 private:
  Client& inner_;
  std::atomic<uint64_t> get_{0}, list_{0}, create_{0}, update_{0}, patch_{0}, del_{0}, watch_{0};
};

}  // namespace certguard::kube::testing
