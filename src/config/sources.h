// Where configuration comes from, for the node and for clients alike: flags
// (the caller's), environment variables and a TOML file. Precedence is flag
// > environment > file > default; the file is flattened into dotted keys.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "apps/api/app.h"
#include "base/result.h"

namespace minga::config {

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

// Where values come from. `flags` maps a key's flag ("--port") to its value;
// `file_text` is TOML (empty when there is no file).
struct ConfigSources {
  std::map<std::string, std::string> flags;
  EnvLookup env;
  std::string file_text;
  std::string file_name;  // for error messages
};

// Settings for apps backed by the same sources (environment over file).
class SourceSettings final : public apps::Settings {
 public:
  static Result<SourceSettings> parse(const ConfigSources& sources);
  std::optional<std::string> get(std::string_view file_key, std::string_view env_key) const override;
  // An error naming the first key of the file that is neither asked for with
  // get() nor `known` (a typo such as `prot = 7401`). Call once every part
  // has read its settings.
  Status check_no_unknown_keys(const std::function<bool(std::string_view key)>& known) const;

 private:
  struct Asked {
    std::mutex mu;
    std::set<std::string, std::less<>> keys;
  };
  EnvLookup env_;
  std::string file_name_;
  std::map<std::string, std::string, std::less<>> file_;  // flattened dotted keys
  std::shared_ptr<Asked> asked_ = std::make_shared<Asked>();
};

}  // namespace minga::config
