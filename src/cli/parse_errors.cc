#include "cli/parse_errors.h"

#include <algorithm>

#include <CLI/CLI.hpp>

namespace minga::cli {

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// "minga calc": the names from the root down to `app`.
std::string path_of(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* p = app.get_parent(); p != nullptr; p = p->get_parent()) path = p->get_name() + " " + path;
  return path;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
    names.push_back(sub->get_name());
  }
  return names;
}

const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([&name](const CLI::App* s) { return s->get_name() == name; })) {
    return sub;
  }
  return nullptr;
}

// The option `name` ("--output", "-o") as seen from `app`: its own, or one of
// a parent it falls through to.
const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    if (const CLI::Option* opt = a->get_option_no_throw(name); opt != nullptr) return opt;
  }
  return nullptr;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    for (const CLI::Option* opt : a->get_options()) {
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    }
  }
  return names;
}

bool looks_like_number(const std::string& word) {
  return word.size() > 1 && word[0] == '-' && ((word[1] >= '0' && word[1] <= '9') || word[1] == '.');
}

std::string unknown_subcommand(const CLI::App& app, const std::string& typed, const std::vector<std::string>& rest) {
  const std::vector<std::string> choices = subcommand_names(app);
  // The subcommand given after its arguments: `calc 1 add 2`.
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (std::find(choices.begin(), choices.end(), rest[i]) == choices.end()) continue;
    std::vector<std::string> words = {path_of(app), rest[i], typed};
    for (std::size_t j = 0; j < rest.size(); ++j) {
      if (j != i) words.push_back(rest[j]);
    }
    return "'" + rest[i] + "' comes first: " + join(words, " ");
  }
  std::string message = "unknown subcommand '" + typed + "' for '" + path_of(app) + "'";
  if (const std::string near = nearest(typed, choices); !near.empty()) message += "; did you mean '" + near + "'?";
  return message + " (choices: " + join(choices, ", ") + ")";
}

}  // namespace

std::string nearest(const std::string& typed, const std::vector<std::string>& choices) {
  std::string best;
  std::size_t best_distance = 3;  // more than two edits is not near
  for (const auto& c : choices) {
    const bool prefix = !typed.empty() && (c.rfind(typed, 0) == 0 || typed.rfind(c, 0) == 0);
    const std::size_t d = prefix ? 0 : edit_distance(typed, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::optional<std::string> explain_parse_error(const CLI::App& root, const std::vector<std::string>& args) {
  const CLI::App* app = &root;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;  // the rest is arguments
    if (word.size() > 1 && word[0] == '-' && !looks_like_number(word)) {
      const bool is_long = word.rfind("--", 0) == 0;
      const std::size_t eq = word.find('=');
      const std::string name = is_long ? word.substr(0, eq) : word.substr(0, 2);
      const CLI::Option* opt = find_option(*app, name);
      if (opt == nullptr) {
        std::string message = "unknown option '" + name + "'";
        if (app != &root) message += " for '" + path_of(*app) + "'";
        if (const std::string near = nearest(name, option_names(*app)); is_long && !near.empty()) {
          message += "; did you mean '" + near + "'?";
        }
        return message;
      }
      const bool takes_value = opt->get_items_expected_max() > 0;  // a flag expects none
      const bool value_attached = is_long ? eq != std::string::npos : word.size() > 2;
      if (takes_value && !value_attached) ++i;
      continue;
    }
    if (const CLI::App* sub = find_subcommand(*app, word); sub != nullptr) {
      app = sub;
      continue;
    }
    const bool wants_subcommand = app->get_require_subcommand_min() > 0;
    if (wants_subcommand && app->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty()) {
      return unknown_subcommand(*app, word,
                                std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end()));
    }
  }
  if (app->get_require_subcommand_min() > 0) {
    return "'" + path_of(*app) + "' needs a subcommand: " + join(subcommand_names(*app), ", ");
  }
  return std::nullopt;
}

}  // namespace minga::cli
