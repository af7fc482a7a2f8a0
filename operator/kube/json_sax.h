// Building JSON from the parser's events while leaving out what nobody reads:
// the values at given key paths (metadata.managedFields above all) are skipped,
// never built, and a List's items can be handed over one by one instead of
// being kept in the response. Pure: no I/O.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace certguard::kube {

// Parses `text` as common::ParseJson does (InvalidArgument when it is not
// JSON or nests deeper than common::kMaxJsonDepth, checked before anything is
// built), except that the value of each path on `drop` (object keys from the
// root, dot-separated: "object.metadata.managedFields") is left out. A path
// through an array, or whose key holds a dot, matches nothing. A key given
// twice keeps its last value, as the parser does.
Result<nlohmann::json> ParseJsonPruned(std::string_view text, const std::vector<std::string>& drop);

// The parser's event handler behind ParseJsonPruned and RestClient::ListEach.
// With `on_item`, each element of the root object's "items" array is built
// on its own and handed to `on_item` once complete, never appended (only the
// envelope is kept), and the paths on `drop` are then taken from each item's
// root. Containers being built are held by pointer on a stack; a parent is
// not touched while a child is open, so the pointers stay valid.
class PruningSax {
 public:
  using Json = nlohmann::json;
  using ItemFn = std::function<Status(Json&& item)>;

  PruningSax(Json& root, const std::vector<std::string>& drop, const ItemFn* on_item = nullptr)
      : root_(root), drop_(drop), on_item_(on_item) {}

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool v) { return Put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(Json(v)); }
  // Copied, not moved: the parser reuses its buffer, grown once, for every string.
  bool string(Json::string_t& v) { return Put(Json(v)); }
  bool binary(Json::binary_t&) { return false; }  // not in JSON text
  bool key(Json::string_t& k);
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  // What on_item last returned when it was not OK (the parse stopped there).
  const Status& status() const { return status_; }
  // Whether the parse stopped at a value nested deeper than
  // common::kMaxJsonDepth (text read as it arrives cannot be checked first).
  bool too_deep() const { return too_deep_; }

 private:
  Json* Slot(Json&& v, bool& item);
  bool Dropped() const;
  bool Skip();
  bool Put(Json&& v);
  bool Open(Json&& v);
  bool Close();
  bool Hand();

  Json& root_;
  const std::vector<std::string>& drop_;
  const ItemFn* on_item_;
  std::vector<Json*> stack_;
  // Per open container from the path root (the document, or the current item):
  // whether it is reached through object keys only, and its dotted path.
  std::vector<std::pair<bool, std::string>> paths_;
  Json* items_ = nullptr;
  Json item_;
  std::string key_;
  bool skip_next_ = false;
  int skipping_ = 0;  // nesting depth inside a skipped value
  bool too_deep_ = false;
  Status status_;
};

}  // namespace certguard::kube
