// Requests the parser tests and the Go-oracle tests both read: one builder
// each, so both suites look at the same bytes.
#pragma once

#include <string>

#include "support/pki.h"

namespace certguard::testing::csr_cases {

// O=system:nodes, CN=system:node:NODE; DNS NODE, IP 10.0.0.11 and fd00::11; P-256.
std::string KubeletServing(const std::string& node);
// C, ST, L, O=b, O=a, OU, CN=x and OID 1.2.3.4.5, in that order: the subject of
// EverySubjectAttribute().
Attributes EverySubjectAttributeList();
std::string EverySubjectAttribute();
// CN=x; DNS a.example, email, URI, DNS b.example, IPs 192.168.1.1 and 2001:DB8::1.
std::string EverySanType();
// CN=x; a subjectAltName of an otherName (msUPN) and a registeredID.
std::string OtherNameAndRid();
// CN=x; DNS x; keyUsage (critical), extendedKeyUsage and basicConstraints (critical, CA).
std::string OtherExtensions();

}  // namespace certguard::testing::csr_cases
