// Reads Kubernetes manifests, YAML or JSON, into nlohmann::json, the way
// `kubectl get -o yaml|json` prints them. Pure, never throws.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::common {

inline constexpr size_t kMaxDocumentBytes = 64 << 20;

// Every document of the text: JSON is tried first (one value); otherwise YAML,
// one entry per `---` document, empty documents skipped. YAML scalars follow
// the YAML 1.2 core schema: quoted or explicitly tagged !!str values stay
// strings; plain null/~, true/false, integers and floats become typed values;
// everything else is a string. Anchors and aliases are resolved.
// InvalidArgument with the parser's message (and line) on a syntax error, and
// for hostile input: text over kMaxDocumentBytes, nesting deeper than
// kMaxJsonDepth, or aliases expanding past what the text could hold without them.
Result<std::vector<nlohmann::json>> ParseDocuments(std::string_view text);

// Exactly one document; InvalidArgument when there are none or several.
Result<nlohmann::json> ParseYamlOrJson(std::string_view text);

// The objects a manifest holds: a List's (or any *List kind's) items, each
// document's object otherwise. InvalidArgument for a non-object.
Result<std::vector<nlohmann::json>> FlattenObjects(const std::vector<nlohmann::json>& docs);

}  // namespace certguard::common
