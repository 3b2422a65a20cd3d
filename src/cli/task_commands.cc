#include "cli/task_commands.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/api/status.h"
#include "apps/api/tasks.h"
#include "base/number.h"
#include "cli/status_text.h"
#include "client/hints.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

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
    // A text task with no text is a mistake, as `minga text uppercase` says;
    // an empty text can still be given as "".
    if (args.empty() && (kind == "uppercase" || kind == "reverse" || kind == "word_count")) {
      return usage((kind == "word_count" ? std::string("word-count") : kind) + " needs a text, e.g. \"hola mundo\"");
    }
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
    // Every JSON answer of the CLI starts with "ok".
    std::cout << "{\"ok\":true," << apps::status_json(s.value()).substr(1) << std::endl;
    return kExitOk;
  }
  std::cout << status_text(s.value()) << std::flush;
  return kExitOk;
}

// The interactive menu. Reads from stdin, so it also works from a pipe:
//   printf '1\nhola\n0\n' | minga shell
// A bad choice or a bad number is asked again; an error from the server
// (unreachable included) is shown and the menu comes back.
struct MenuItem {
  const char* label;
  const char* kind;
  std::vector<const char*> prompts;
};

const std::vector<MenuItem>& menu() {
  static const std::vector<MenuItem> kMenu = {
      {"uppercase", "uppercase", {"text"}}, {"reverse", "reverse", {"text"}}, {"word count", "word_count", {"text"}},
      {"sleep", "sleep", {"seconds"}},      {"add", "add", {"a", "b"}},       {"subtract", "sub", {"a", "b"}},
      {"multiply", "mul", {"a", "b"}},      {"divide", "div", {"a", "b"}},    {"status", "", {}},
  };
  return kMenu;
}

void print_menu() {
  for (std::size_t i = 0; i < menu().size(); ++i) std::cout << "  " << (i + 1) << ") " << menu()[i].label << "\n";
  std::cout << "  0) quit (also q, quit; help shows this menu)\n";
}

// One line from stdin, echoed when stdin is not a terminal; nullopt at EOF.
std::optional<std::string> ask(const char* prompt, bool tty) {
  std::cout << prompt << "> " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!tty) std::cout << line << "\n";
  return line;
}

void print_shell_error(const Error& e) {
  if (e.code != Errc::unavailable) {
    std::cout << "error: " << e.message << "\n";
    return;
  }
  std::cout << "error: " << e.message << "; " << kStartNodeHint << "\n";
  print_menu();
}

int run_shell(const ClientOptions& options) {
  const bool tty = isatty(0);
  std::cout << "minga shell, server " << options.server << "\n";
  print_menu();
  for (;;) {
    auto line = ask("choice", tty);
    if (!line || *line == "0" || *line == "q" || *line == "quit") break;
    if (*line == "help" || *line == "?" || line->empty()) {
      print_menu();
      continue;
    }
    auto choice = parse_u64(*line);
    if (!choice.ok() || choice.value() > menu().size()) {
      std::cout << "error: '" << *line << "' is not a choice: type a number from 0 to " << menu().size()
                << ", q to quit or help\n";
      continue;
    }
    const MenuItem& item = menu()[choice.value() - 1];
    if (item.prompts.empty()) {
      run_status(options);
      continue;
    }
    std::vector<std::string> args;
    for (const char* prompt : item.prompts) {
      const bool numeric = std::string(prompt) != "text";
      for (;;) {
        auto arg = ask(prompt, tty);
        if (!arg) {
          std::cout << "bye" << std::endl;
          return kExitOk;
        }
        if (numeric) {
          if (auto v = parse_double(*arg); !v.ok()) {
            std::cout << "error: " << v.error().message << "; try again\n";
            continue;
          }
        }
        args.push_back(*arg);
        break;
      }
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
      print_shell_error(result.error());
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
    // Not ->required(): a missing text gets the same error as `minga task`.
    sub->add_option("text", *text_args, "the text");
    sub->callback([&options, &action, text_args, k = std::string(kind)] {
      action = [&options, text_args, k] { return run_kind(options, k, *text_args); };
    });
  }

  auto task_kind = std::make_shared<std::string>();
  auto task_args = std::make_shared<std::vector<std::string>>();
  auto* task = root.add_subcommand(
      "task", "run a task by key or code: 1 uppercase, 2 reverse, 3 word-count, 4 sleep, add, sub, mul, div");
  task->footer(
      "Examples:\n"
      "  minga task 1 \"hola mundo\"       HOLA MUNDO\n"
      "  minga task word-count uno dos    2\n"
      "  minga task 4 0.5                 slept 0.5 s\n"
      "  minga task sub -2 3              -5");
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
  calc->footer(
      "The operation comes first, then two numbers (negative ones need no quotes):\n"
      "  minga calc add 2 3               5\n"
      "  minga calc sub -2.5 4            -6.5\n"
      "  minga calc mul 6 7               42\n"
      "  minga calc div 1 0               error: division by zero (exit 1)\n"
      "  minga -o json calc mul 6 7       {\"ok\":true,\"result\":42}");
  auto operands = std::make_shared<std::vector<std::string>>();
  struct Op {
    const char* name;
    const char* help;
    const char* examples;
  };
  static const Op kOps[] = {
      {"add", "A + B", "  minga calc add 2 3               5\n  minga calc add -1.5 4            2.5"},
      {"sub", "A - B", "  minga calc sub 10 4              6\n  minga calc sub -2 3              -5"},
      {"mul", "A * B", "  minga calc mul 6 7               42\n  minga calc mul -2.5 4            -10"},
      {"div", "A / B (B = 0 is an error)",
       "  minga calc div 1 4               0.25\n  minga calc div -9 3              -3\n"
       "  minga calc div 1 0               error: division by zero (exit 1)"},
  };
  for (const Op& o : kOps) {
    const char* op = o.name;
    auto* sub = calc->add_subcommand(op, o.help);
    sub->footer(std::string("Examples:\n") + o.examples);
    sub->add_option("operands", *operands, "A B: two numbers (1, -2.5, 1e3)")
        ->expected(2)
        ->required()
        ->allow_extra_args(false);
    sub->callback([&options, &action, operands, kind = std::string(op)] {
      action = [&options, operands, kind] { return run_kind(options, kind, *operands); };
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
