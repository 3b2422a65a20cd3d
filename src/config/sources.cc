#include "config/sources.h"

#include <cstdlib>

#include <toml++/toml.h>

#include "base/number.h"

namespace minga::config {
namespace {

// Flattens a TOML table into dotted keys with scalar values as text.
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string, std::less<>>& out) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* t = node.as_table()) {
      flatten(*t, key, out);
    } else if (const auto* s = node.as_string()) {
      out[key] = s->get();
    } else if (const auto* i = node.as_integer()) {
      out[key] = std::to_string(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      out[key] = format_double(f->get());
    } else if (const auto* b = node.as_boolean()) {
      out[key] = b->get() ? "true" : "false";
    } else if (const auto* a = node.as_array()) {
      std::string joined;
      for (const auto& e : *a) {
        if (const auto* es = e.as_string()) joined += (joined.empty() ? "" : ",") + es->get();
      }
      out[key] = joined;
    }
  }
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<SourceSettings> SourceSettings::parse(const ConfigSources& sources) {
  SourceSettings s;
  s.env_ = sources.env;
  s.file_name_ = sources.file_name;
  if (!sources.file_text.empty()) {
    try {
      toml::table table = toml::parse(sources.file_text, sources.file_name);
      flatten(table, "", s.file_);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return Error{Errc::invalid_argument, "configuration file " + sources.file_name + ":" +
                                               std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                                               std::string(e.description())};
    }
  }
  return s;
}

std::optional<std::string> SourceSettings::get(std::string_view file_key, std::string_view env_key) const {
  {
    std::lock_guard lock(asked_->mu);
    asked_->keys.emplace(file_key);
  }
  if (!env_key.empty() && env_) {
    if (auto v = env_(env_key)) return v;
  }
  if (auto it = file_.find(file_key); it != file_.end()) return it->second;
  return std::nullopt;
}

Status SourceSettings::check_no_unknown_keys(const std::function<bool(std::string_view)>& known) const {
  std::lock_guard lock(asked_->mu);
  for (const auto& [key, value] : file_) {
    if (asked_->keys.contains(key) || (known && known(key))) continue;
    return Error{Errc::invalid_argument, "configuration file " + file_name_ + ": unknown key '" + key + "'"};
  }
  return ok_status();
}

}  // namespace minga::config
