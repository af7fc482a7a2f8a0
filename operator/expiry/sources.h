// Helpers for the watchers that feed the inventory: from an object's fields to
// what Inventory::ReplaceObject takes. Pure, thread-safe.
#pragma once

#include <map>
#include <string>

#include "expiry/inventory.h"

namespace certguard::expiry {

// The certificates of an object's fields (a Secret's decoded data, a ConfigMap's
// data): every field holding at least one certificate, PEM or DER. Fields without
// one (keys, other data) are left out; private keys are never decoded.
std::map<std::string, SourceCerts> CertificatesOfFields(
    const std::map<std::string, std::string>& fields, const std::string& node = {});

}  // namespace certguard::expiry
