#include "cli/task_commands.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/api/status.h"
#include "apps/api/tasks.h"
#include "base/number.h"

namespace minga::cli {
namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

Error usage(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

// Builds the request for a kind from its command-line arguments.
Result<pb::TaskRequest> make_request(std::string kind, const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> kAliases = {
      {"1", "uppercase"}, {"2", "reverse"}, {"3", "word_count"}, {"4", "sleep"}, {"word-count", "word_count"}};
  if (auto it = kAliases.find(kind); it != kAliases.end()) kind = it->second;
  pb::TaskRequest req;
  req.set_kind(kind);
  if (kind == "sleep") {
    if (args.size() != 1) return usage("sleep takes one argument: SECONDS");
    auto s = parse_double(args[0]);
    if (!s.ok()) return s.error();
    req.set_seconds(s.value());
  } else if (kind == "add" || kind == "sub" || kind == "mul" || kind == "div") {
    if (args.size() != 2) return usage(kind + " takes two numbers: A B");
    auto a = parse_double(args[0]);
    if (!a.ok()) return a.error();
    auto b = parse_double(args[1]);
    if (!b.ok()) return b.error();
    req.set_a(a.value());
    req.set_b(b.value());
  } else {
    req.set_text(join(args));
  }
  return req;
}

int run_kind(const ClientOptions& options, const std::string& kind, const std::vector<std::string>& args) {
  auto req = make_request(kind, args);
  if (!req.ok()) return report_usage(options, req.error());
  return print_task(options, run_task(options, req.value()));
}

int run_status(const ClientOptions& options) {
  auto client = connect(options);
  if (!client.ok()) return report(options, client.error());
  auto s =
      client->call<pb::StatusResponse>(pb::STATUS_REQUEST, pb::StatusRequest{}, pb::STATUS_RESPONSE, options.timeout());
  if (!s.ok()) return report(options, s.error());
  if (options.json()) {
    std::cout << apps::status_json(s.value()) << std::endl;
    return kExitOk;
  }
  const auto& v = s.value();
  std::cout << "id:               " << v.id() << "\n"
            << "version:          " << v.version() << "\n"
            << "role:             " << v.role() << "\n"
            << "uptime:           " << format_double(v.uptime_seconds()) << " s\n"
            << "open connections: " << v.open_connections() << "\n"
            << "threads:          " << v.threads() << "\n"
            << "tasks:            queued " << v.tasks().queued() << ", waiting " << v.tasks().waiting() << ", running "
            << v.tasks().running() << ", done " << v.tasks().done() << ", failed " << v.tasks().failed()
            << ", rejected " << v.tasks().rejected() << "\n";
  const std::map<std::string, std::string> sections(v.sections().begin(), v.sections().end());
  for (const auto& [name, json] : sections) std::cout << name << ": " << json << "\n";
  std::cout << std::flush;
  return kExitOk;
}

// The interactive menu. Reads from stdin, so it also works from a pipe:
//   printf '1\nhola\n0\n' | minga shell
int run_shell(const ClientOptions& options) {
  struct Item {
    const char* label;
    const char* kind;
    std::vector<const char*> prompts;
  };
  static const std::vector<Item> kMenu = {
      {"uppercase", "uppercase", {"text"}}, {"reverse", "reverse", {"text"}}, {"word count", "word_count", {"text"}},
      {"sleep", "sleep", {"seconds"}},      {"add", "add", {"a", "b"}},       {"subtract", "sub", {"a", "b"}},
      {"multiply", "mul", {"a", "b"}},      {"divide", "div", {"a", "b"}},    {"status", "", {}},
  };
  const bool tty = isatty(0);
  std::cout << "minga shell, server " << options.server << "\n";
  for (;;) {
    for (std::size_t i = 0; i < kMenu.size(); ++i) std::cout << "  " << (i + 1) << ") " << kMenu[i].label << "\n";
    std::cout << "  0) quit\nchoice> " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) break;
    if (!tty) std::cout << line << "\n";
    auto choice = parse_u64(line);
    if (!choice.ok() || choice.value() > kMenu.size()) {
      std::cout << "error: choose a number from 0 to " << kMenu.size() << "\n";
      continue;
    }
    if (choice.value() == 0) break;
    const Item& item = kMenu[choice.value() - 1];
    if (item.prompts.empty()) {
      run_status(options);
      continue;
    }
    std::vector<std::string> args;
    for (const char* prompt : item.prompts) {
      std::cout << prompt << "> " << std::flush;
      std::string arg;
      if (!std::getline(std::cin, arg)) return kExitOk;
      if (!tty) std::cout << arg << "\n";
      args.push_back(arg);
    }
    auto req = make_request(item.kind, args);
    if (!req.ok()) {
      std::cout << "error: " << req.error().message << "\n";
      continue;
    }
    auto result = run_task(options, req.value());
    if (result.ok()) {
      std::cout << apps::task_value_text(result.value()) << "\n";
    } else {
      std::cout << "error: " << result.error().message << "\n";
      if (result.error().code == Errc::unavailable) return kExitUnreachable;
    }
  }
  std::cout << "bye" << std::endl;
  return kExitOk;
}

}  // namespace

void add_task_commands(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  auto text_args = std::make_shared<std::vector<std::string>>();
  auto* text = root.add_subcommand("text", "run a text task: uppercase, reverse, word-count");
  text->require_subcommand(1);
  for (const char* kind : {"uppercase", "reverse", "word-count"}) {
    auto* sub = text->add_subcommand(kind, std::string(kind) + " the text (words are joined with spaces)");
    sub->add_option("text", *text_args, "the text")->required();
    sub->callback([&options, &action, text_args, k = std::string(kind)] {
      action = [&options, text_args, k] { return run_kind(options, k, *text_args); };
    });
  }

  auto task_kind = std::make_shared<std::string>();
  auto task_args = std::make_shared<std::vector<std::string>>();
  auto* task = root.add_subcommand(
      "task", "run a task by key or code: 1 uppercase, 2 reverse, 3 word_count, 4 sleep, add, sub, mul, div");
  task->add_option("kind", *task_kind, "task key or numeric code")->required();
  task->add_option("args", *task_args, "the task's arguments");
  task->callback([&options, &action, task_kind, task_args] {
    action = [&options, task_kind, task_args] { return run_kind(options, *task_kind, *task_args); };
  });

  auto seconds = std::make_shared<std::string>();
  auto* sleep = root.add_subcommand("sleep", "wait SECONDS on the server (fractions allowed)");
  sleep->add_option("seconds", *seconds, "seconds")->required();
  sleep->callback([&options, &action, seconds] {
    action = [&options, seconds] { return run_kind(options, "sleep", {*seconds}); };
  });

  auto* calc = root.add_subcommand("calc", "arithmetic on the server: add, sub, mul, div");
  calc->require_subcommand(1);
  auto operands = std::make_shared<std::vector<std::string>>();
  for (const char* op : {"add", "sub", "mul", "div"}) {
    auto* sub = calc->add_subcommand(op, std::string("A ") + op + " B");
    sub->add_option("operands", *operands, "A B")->expected(2)->required()->allow_extra_args(false);
    sub->callback([&options, &action, operands, o = std::string(op)] {
      action = [&options, operands, o] { return run_kind(options, o, *operands); };
    });
  }

  root.add_subcommand("shell", "interactive numbered menu (also reads a pipe)")->callback([&options, &action] {
    action = [&options] { return run_shell(options); };
  });
  root.add_subcommand("status", "show the node's status")->callback([&options, &action] {
    action = [&options] { return run_status(options); };
  });
}

}  // namespace minga::cli
