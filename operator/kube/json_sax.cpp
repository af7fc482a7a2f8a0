#include "kube/json_sax.h"

#include "common/json_parse.h"

namespace certguard::kube {

Result<nlohmann::json> ParseJsonPruned(std::string_view text,
                                       const std::vector<std::string>& drop) {
  if (drop.empty()) return common::ParseJson(text);
  if (common::JsonDepth(text, common::kMaxJsonDepth) > common::kMaxJsonDepth) {
    // The same status as ParseJson's, so that common::IsTooDeep recognises it.
    return common::ParseJson(text);
  }
  nlohmann::json out;
  PruningSax sax(out, drop);
  bool parsed = false;
  try {
    parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const std::exception&) {
    parsed = false;
  }
  if (!parsed) return InvalidArgument("not valid JSON");
  return out;
}

bool PruningSax::key(Json::string_t& k) {
  if (skipping_ > 0) return true;
  key_ = std::move(k);
  skip_next_ = Dropped();
  return true;
}

// Where the next value goes; &item_ when it is an item (handed over on completion).
PruningSax::Json* PruningSax::Slot(Json&& v, bool& item) {
  item = false;
  if (stack_.empty()) {
    root_ = std::move(v);
    return &root_;
  }
  Json* parent = stack_.back();
  if (parent == items_) {
    item = true;
    item_ = std::move(v);
    return &item_;
  }
  if (parent->is_object()) {
    Json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }
  parent->push_back(std::move(v));
  return &parent->back();
}

// Whether the value of key_ is on drop_: its container is the path root or an
// object reached from it through object keys only (paths_.back() is then that
// container's path, "" for the root).
bool PruningSax::Dropped() const {
  if (drop_.empty() || paths_.empty() || !paths_.back().first) return false;
  const std::string& at = paths_.back().second;
  for (const auto& d : drop_) {
    if (at.empty() ? d == key_
                   : d.size() == at.size() + 1 + key_.size() && d.compare(0, at.size(), at) == 0 &&
                         d[at.size()] == '.' && d.compare(at.size() + 1, key_.size(), key_) == 0) {
      return true;
    }
  }
  return false;
}

// A skipped value: true when this event belongs to one.
bool PruningSax::Skip() {
  if (skipping_ > 0) return true;
  if (!skip_next_) return false;
  skip_next_ = false;
  return true;
}

bool PruningSax::Put(Json&& v) {
  if (Skip()) return true;
  bool item = false;
  Slot(std::move(v), item);
  return item ? Hand() : true;
}

bool PruningSax::Open(Json&& v) {
  if (stack_.size() + static_cast<size_t>(skipping_) >= static_cast<size_t>(common::kMaxJsonDepth)) {
    too_deep_ = true;
    return false;
  }
  if (Skip()) {
    ++skipping_;
    return true;
  }
  const bool items_array = on_item_ && stack_.size() == 1 && v.is_array() && key_ == "items" &&
                           stack_.back() == &root_ && root_.is_object();
  const bool is_object = v.is_object();
  const bool document_root = stack_.empty();
  bool item = false;
  Json* parent = stack_.empty() ? nullptr : stack_.back();
  Json* slot = Slot(std::move(v), item);
  if (items_array && !item) items_ = slot;
  if (item || (document_root && !on_item_)) {
    paths_.emplace_back(is_object, std::string());
  } else if (!paths_.empty()) {
    // Below the path root: a path only through objects.
    const auto& [valid, at] = paths_.back();
    // An empty key would make its path read as the root's.
    const bool through_object =
        valid && is_object && parent && parent->is_object() && !key_.empty();
    paths_.emplace_back(through_object,
                        through_object ? (at.empty() ? key_ : at + "." + key_) : std::string());
  }
  stack_.push_back(slot);
  return true;
}

bool PruningSax::Close() {
  if (skipping_ > 0) {
    --skipping_;
    return true;
  }
  if (stack_.empty()) return false;
  Json* done = stack_.back();
  stack_.pop_back();
  if (!paths_.empty()) paths_.pop_back();
  return done == &item_ && on_item_ ? Hand() : true;
}

bool PruningSax::Hand() {
  status_ = (*on_item_)(std::move(item_));
  item_ = Json();
  return status_.ok();
}

}  // namespace certguard::kube
