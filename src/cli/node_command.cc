#include "cli/node_command.h"

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "client/options.h"
#include "cluster/config.h"
#include "cluster/node.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

namespace {

struct NodeFlags {
  std::map<std::string, std::string> values;  // flag -> value, for flags given
  std::string config_file;
};

int run_node(const NodeFlags& flags, const std::map<std::string, CLI::Option*>& options) {
  cluster::ConfigSources sources;
  for (const auto& [flag, opt] : options) {
    if (opt->count() > 0) sources.flags[flag] = flags.values.at(flag);
  }
  sources.env = cluster::process_env();
  std::string file = flags.config_file;
  if (file.empty()) {
    if (auto env = sources.env("MINGA_CONFIG")) file = *env;
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "error: cannot read configuration file " << file << std::endl;
      return kExitUsage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    sources.file_text = ss.str();
    sources.file_name = file;
  }
  auto config = cluster::load_node_config(sources);
  if (!config.ok()) {
    std::cerr << "error: " << config.error().message << std::endl;
    return kExitUsage;
  }
  auto settings = cluster::SourceSettings::parse(sources);
  if (!settings.ok()) {
    std::cerr << "error: " << settings.error().message << std::endl;
    return kExitUsage;
  }
  config->config_file = file;
  log::init(config->log_level, config->log_format == "json" ? log::Format::json : log::Format::text, config->id);
  cluster::Node node(std::move(config).value(), std::move(settings).value());
  return node.run();
}

}  // namespace

void add_node_command(CLI::App& root, std::function<int()>& action) {
  auto* node = root.add_subcommand("node", "run a node (server and worker) in the foreground");
  node->footer(
      "Every flag also reads an environment variable and a key of the --config file;\n"
      "flags win over the environment, which wins over the file. See docs/configuration.md.");
  auto flags = std::make_shared<NodeFlags>();
  auto options = std::make_shared<std::map<std::string, CLI::Option*>>();
  for (const auto& key : cluster::node_keys()) {
    if (key.flag.empty()) continue;
    std::string& slot = flags->values[key.flag];
    (*options)[key.flag] =
        node->add_option(key.flag, slot, key.help + " [env " + key.env + ", file " + key.file_key + "]")
            ->type_name(key.value_type)
            ->default_str(key.show(cluster::NodeConfig{}));
  }
  node->add_option("--config,-c", flags->config_file, "TOML configuration file [env MINGA_CONFIG]")->type_name("FILE");
  node->callback([&action, flags, options] { action = [flags, options] { return run_node(*flags, *options); }; });
}

}  // namespace minga::cli
