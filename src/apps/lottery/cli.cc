#include "apps/lottery/cli.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "apps/lottery/agency.h"
#include "apps/lottery/bench_cli.h"
#include "apps/lottery/bets.h"
#include "apps/lottery/gen.h"
#include "apps/lottery/lottery_app.h"
#include "base/json.h"
#include "base/log.h"
#include "base/number.h"
#include "client/hints.h"
#include "client/options.h"
#include "config/sources.h"

namespace minga::lottery {
namespace {

using client::ClientOptions;
using client::kExitOk;
using client::kExitServerError;
using client::kExitUnreachable;
using client::kExitUsage;

std::atomic<bool> g_stop{false};

// Where `gen-data` writes without --out: a folder of its own, not the
// current directory.
constexpr const char* kDefaultGenDir = "lottery-data";

extern "C" void on_stop_signal(int) { g_stop.store(true); }

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  return kExitUsage;
}

int exit_code_for(const Error& e) {
  return e.code == Errc::unavailable ? kExitUnreachable : e.code == Errc::invalid_argument ? kExitServerError : 1;
}

// --server, else MINGA_SERVER (both handled by the root flags), else
// CLI_SERVER_ADDRESS, else the default.
std::string server_address(const CLI::App& root, const ClientOptions& options) {
  if (root.get_option("--server")->count() > 0 || std::getenv("MINGA_SERVER") != nullptr) return options.server;
  if (const char* env = std::getenv("CLI_SERVER_ADDRESS"); env != nullptr && *env != '\0') return env;
  return options.server;
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::not_found, "cannot read " + path.string()};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- agency

// "--agency 3" -> 3. The id is a positive number; 0, a negative number or
// text is refused naming what was given.
Result<std::uint32_t> parse_agency_id(const std::string& text) {
  auto v = parse_u64(text);
  if (!v.ok() || v.value() == 0 || v.value() > UINT32_MAX) {
    return Error{Errc::invalid_argument,
                 "the agency id (--agency or CLI_ID) must be a positive number, got '" + text + "'"};
  }
  return static_cast<std::uint32_t>(v.value());
}

struct AgencyFlags {
  std::string agency_text;  // --agency, else MINGA_AGENCY or CLI_ID (read in run_agency)
  std::uint32_t agency = 0;
  std::string bets_file;
  std::string data_dir = ".";
  std::string config_file;
  std::string log_level;       // empty: CLI_LOG_LEVEL, file log.level or info
  std::size_t max_amount = 0;  // 0: from MINGA_BATCH_MAX_AMOUNT, batch.max_amount or the default
  std::size_t window = 16;
  int batch_interval_ms = 0;
  double retry_for = 60;
  double wait_for = 600;
  double progress_every = 5;
  bool skip_invalid = false;
};

// The environment names of the lottery seed's agency stay as compatibility
// names; each has a MINGA_* equivalent, which wins when both are set
// (docs/configuration.md).
struct EnvName {
  const char* minga;
  const char* seed;
};
const EnvName kAgencyIdEnv = {"MINGA_AGENCY", "CLI_ID"};
const EnvName kAgencyLogLevelEnv = {"MINGA_AGENCY_LOG_LEVEL", "CLI_LOG_LEVEL"};
const EnvName kSingleBetEnv[] = {{"MINGA_BET_FIRST_NAME", "NOMBRE"},
                                 {"MINGA_BET_LAST_NAME", "APELLIDO"},
                                 {"MINGA_BET_DOCUMENT", "DOCUMENTO"},
                                 {"MINGA_BET_BIRTH_DATE", "NACIMIENTO"},
                                 {"MINGA_BET_NUMBER", "NUMERO"}};

// The MINGA_* name's value, else the seed name's; nullptr when neither is set.
const char* env_value(const EnvName& name) {
  if (const char* v = std::getenv(name.minga); v != nullptr) return v;
  return std::getenv(name.seed);
}

// The single-bet variables that are not set: all five set, or none, is a
// choice; some of them is a mistake worth naming.
std::vector<std::string> unset_single_bet_env() {
  std::vector<std::string> unset;
  for (const EnvName& k : kSingleBetEnv) {
    if (env_value(k) == nullptr) unset.emplace_back(k.seed);
  }
  return unset;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

Result<pb::Bet> single_bet_from_env() {
  pb::Bet bet;
  bet.set_first_name(env_value(kSingleBetEnv[0]));
  bet.set_last_name(env_value(kSingleBetEnv[1]));
  bet.set_document(env_value(kSingleBetEnv[2]));
  bet.set_birth_date(env_value(kSingleBetEnv[3]));
  const std::string number = env_value(kSingleBetEnv[4]);
  auto n = parse_u64(number);
  if (!n.ok() || n.value() > kMaxNumber)
    return Error{Errc::invalid_argument, "NUMERO must be 0-9999, got '" + number + "'"};
  bet.set_number(static_cast<std::uint32_t>(n.value()));
  if (auto st = validate_bet(bet); !st.ok()) return st.error();
  return bet;
}

// The environment over the TOML file of --config or MINGA_CONFIG.
Result<config::SourceSettings> agency_settings(const AgencyFlags& f) {
  config::ConfigSources sources;
  sources.env = config::process_env();
  std::string file = f.config_file;
  if (file.empty()) {
    if (auto env = sources.env("MINGA_CONFIG")) file = *env;
  }
  if (!file.empty()) {
    auto text = read_file(file);
    if (!text.ok()) return Error{Errc::invalid_argument, "cannot read configuration file " + file};
    sources.file_text = std::move(text).value();
    sources.file_name = file;
  }
  return config::SourceSettings::parse(sources);
}

Result<std::size_t> batch_max_amount(const AgencyFlags& f, const apps::Settings& settings) {
  if (f.max_amount > 0) return f.max_amount;
  auto v = settings.get_int("batch.max_amount", "MINGA_BATCH_MAX_AMOUNT", kDefaultBatchMaxAmount);
  if (!v.ok()) return v.error();
  if (v.value() < 1 || v.value() > 100000) {
    return Error{Errc::invalid_argument, "batch.max_amount: expected 1-100000, got " + std::to_string(v.value())};
  }
  return static_cast<std::size_t>(v.value());
}

int run_agency(const CLI::App& root, const ClientOptions& options, AgencyFlags f, bool bets_given) {
  // From the start: a signal while the bets are read still ends in an orderly stop.
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  if (f.agency_text.empty()) {
    if (const char* env = env_value(kAgencyIdEnv); env != nullptr) f.agency_text = env;
  }
  if (f.agency_text.empty()) return usage_error("the agency id is missing: pass --agency N or set CLI_ID");
  auto agency_id = parse_agency_id(f.agency_text);
  if (!agency_id.ok()) return usage_error(agency_id.error().message);
  f.agency = agency_id.value();
  auto settings = agency_settings(f);
  if (!settings.ok()) return usage_error(settings.error().message);
  const char* minga_level = std::getenv(kAgencyLogLevelEnv.minga);
  const std::string level = !f.log_level.empty() ? f.log_level
                            : minga_level != nullptr
                                ? std::string(minga_level)
                                : settings->get_string("log.level", kAgencyLogLevelEnv.seed, "info");
  std::string lower = level;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!log::init(lower, log::Format::text, "agency-" + std::to_string(f.agency))) {
    return usage_error(
        "log level (--log-level, MINGA_AGENCY_LOG_LEVEL, CLI_LOG_LEVEL or log.level): expected "
        "trace|debug|info|warn|error|off, got '" +
        level + "'");
  }
  // One node, or several (`a:1,b:2,c:3`): the agency moves to the next one
  // when it loses a connection.
  std::vector<net::Endpoint> endpoints;
  {
    const std::string list = server_address(root, options);
    std::string_view rest = list;
    while (true) {
      const auto comma = rest.find(',');
      auto endpoint = net::parse_endpoint(rest.substr(0, comma));
      if (!endpoint.ok()) return usage_error(endpoint.error().message);
      endpoints.push_back(endpoint.value());
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  auto max_amount = batch_max_amount(f, settings.value());
  if (!max_amount.ok()) return usage_error(max_amount.error().message);

  const std::vector<std::string> unset = unset_single_bet_env();
  if (!bets_given && !unset.empty() && unset.size() < std::size(kSingleBetEnv)) {
    return usage_error("single bet from the environment: " + join(unset) +
                       " not set; set all of NOMBRE, APELLIDO, DOCUMENTO, NACIMIENTO and NUMERO, or none to read "
                       "the CSV");
  }
  const bool single = !bets_given && unset.empty();
  std::vector<pb::Bet> bets;
  std::string source;
  if (single) {
    auto bet = single_bet_from_env();
    if (!bet.ok()) return usage_error("single bet from the environment: " + bet.error().message);
    bets.push_back(std::move(bet).value());
    source = "environment";
  } else {
    const std::filesystem::path path =
        bets_given ? std::filesystem::path(f.bets_file)
                   : std::filesystem::path(f.data_dir) / ("agency-" + std::to_string(f.agency) + ".csv");
    auto text = read_file(path);
    if (!text.ok()) return usage_error(text.error().message);
    CsvBets csv = parse_bets_csv(text.value());
    for (const auto& e : csv.errors) {
      log::warn("leer_apuestas", "fail",
                {{"file", path.string()}, {"line", std::to_string(e.line)}, {"reason", e.reason}});
    }
    if (!csv.errors.empty() && !f.skip_invalid) {
      std::cerr << "error: " << path.string() << ": " << csv.errors.size() << " invalid row(s), first at line "
                << csv.errors.front().line << ": " << csv.errors.front().reason
                << "; nothing was sent (--skip-invalid sends the valid rows)" << std::endl;
      return kExitUsage;
    }
    bets = std::move(csv.bets);
    source = path.string();
  }

  AgencyOptions ao;
  ao.agency = f.agency;
  ao.servers = endpoints;
  ao.max_amount = max_amount.value();
  ao.window = std::max<std::size_t>(f.window, 1);
  ao.batch_interval = std::chrono::milliseconds(f.batch_interval_ms);
  ao.answer_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_seconds * 1000));
  ao.retry_for = std::chrono::milliseconds(static_cast<std::int64_t>(f.retry_for * 1000));
  ao.wait_winners_for = std::chrono::milliseconds(static_cast<std::int64_t>(f.wait_for * 1000));
  ao.progress_every = std::chrono::milliseconds(static_cast<std::int64_t>(f.progress_every * 1000));
  log::info("agency_start", "success",
            {{"agency", std::to_string(f.agency)},
             {"server", server_address(root, options)},
             {"bets", std::to_string(bets.size())},
             {"source", source},
             {"batch_max_amount", std::to_string(ao.max_amount)}});

  Agency agency(ao, g_stop);
  Status st = single ? agency.send_single(bets.front()) : agency.send_bets(bets);
  if (st.ok()) st = agency.notify_finished();
  Result<std::vector<std::string>> winners =
      st.ok() ? agency.wait_winners() : Result<std::vector<std::string>>(st.error());
  const bool was_connected = agency.connected();
  agency.close();
  if (!winners.ok()) {
    if (winners.error().code == Errc::shutting_down) {
      log::info("shutdown", "success",
                {{"resource", "connection"},
                 {"agency", std::to_string(f.agency)},
                 {"was_open", was_connected ? "true" : "false"}});
      log::info("shutdown", "success",
                {{"resource", "agency"},
                 {"agency", std::to_string(f.agency)},
                 {"bets_acknowledged", std::to_string(agency.result().bets)},
                 {"exit_code", "0"}});
      return kExitOk;
    }
    log::warn("agency", "fail", {{"agency", std::to_string(f.agency)}, {"reason", winners.error().message}});
    std::cerr << "error: " << winners.error().message;
    if (winners.error().code == Errc::unavailable) std::cerr << "; " << client::kStartNodeHint;
    std::cerr << std::endl;
    return exit_code_for(winners.error());
  }
  log::info("consulta_ganadores", "success", {{"cant_ganadores", std::to_string(winners->size())}});
  log::info("shutdown", "success",
            {{"resource", "connection"},
             {"agency", std::to_string(f.agency)},
             {"reconnects", std::to_string(agency.result().reconnects)},
             {"duplicates", std::to_string(agency.result().duplicates)}});
  return kExitOk;
}

// ---------------------------------------------------------------- winners, status

int run_winners(const CLI::App& root, ClientOptions options, std::string agency_text) {
  if (agency_text.empty()) {
    if (const char* env = env_value(kAgencyIdEnv); env != nullptr) agency_text = env;
  }
  if (agency_text.empty()) {
    return client::report_usage(
        options, Error{Errc::invalid_argument, "the agency id is missing: pass --agency N or set CLI_ID"});
  }
  auto parsed = parse_agency_id(agency_text);
  if (!parsed.ok()) return client::report_usage(options, parsed.error());
  const std::uint32_t agency_id = parsed.value();
  options.server = server_address(root, options);
  auto client = client::connect(options);
  if (!client.ok()) return client::report(options, client.error());
  pb::WinnersRequest req;
  req.set_agency(agency_id);
  auto r = client->call<pb::LotteryResponse>(pb::WINNERS_REQUEST, req, pb::LOTTERY_RESPONSE, options.timeout());
  if (!r.ok()) return client::report(options, r.error());
  if (r->outcome() == pb::LotteryResponse::NOT_YET) {
    return client::report(options, Error{Errc::not_yet, "the draw has not happened yet; ask again later"});
  }
  if (r->outcome() != pb::LotteryResponse::OK)
    return client::report(options, Error{Errc::invalid_argument, r->reason()});
  if (options.json()) {
    std::string docs = "[";
    for (int i = 0; i < r->documents_size(); ++i) {
      if (i > 0) docs += ',';
      docs += json::quote(r->documents(i));
    }
    docs += ']';
    json::Object o;
    o.add("ok", true);
    o.add("agency", agency_id);
    o.add("count", r->documents_size());
    o.add_raw("documents", docs);
    std::cout << o.str() << std::endl;
  } else {
    for (const auto& d : r->documents()) std::cout << d << "\n";
    std::cerr << r->documents_size() << " winner(s) in agency " << agency_id << std::endl;
  }
  return kExitOk;
}

int run_status(const CLI::App& root, ClientOptions options) {
  options.server = server_address(root, options);
  auto client = client::connect(options);
  if (!client.ok()) return client::report(options, client.error());
  auto s = client->call<pb::LotteryStatusResponse>(pb::LOTTERY_STATUS_REQUEST, pb::LotteryStatusRequest(),
                                                   pb::LOTTERY_STATUS_RESPONSE, options.timeout());
  if (!s.ok()) return client::report(options, s.error());
  std::size_t finished = 0;
  for (const auto& a : s->agencies()) finished += a.finished() ? 1 : 0;
  if (options.json()) {
    const std::string body = status_json(s.value());  // "{...}"
    std::cout << "{\"ok\":true," << body.substr(1) << std::endl;
    return kExitOk;
  }
  std::cout << "round:             " << s->round() << "\n"
            << "draw:              " << (s->draw_done() ? "done" : "pending") << "\n"
            << "agencies finished: " << finished << " of " << s->expected_agencies() << "\n"
            << "winning number:    " << s->winning_number() << "\n"
            << "bets:              " << s->total_bets() << "\n";
  std::cout << "agency        bets  batches  finished  winners\n";
  for (const auto& a : s->agencies()) {
    char line[128];
    std::snprintf(line, sizeof line, "%6u  %10llu  %7llu  %8s  %7s\n", a.agency(),
                  static_cast<unsigned long long>(a.bets()), static_cast<unsigned long long>(a.batches()),
                  a.finished() ? "yes" : "no", s->draw_done() ? std::to_string(a.winners()).c_str() : "-");
    std::cout << line;
  }
  return kExitOk;
}

// ---------------------------------------------------------------- new-round

int run_new_round(const CLI::App& root, ClientOptions options, bool force) {
  options.server = server_address(root, options);
  auto client = client::connect(options);
  if (!client.ok()) return client::report(options, client.error());
  pb::NewRoundRequest req;
  req.set_force(force);
  auto r = client->call<pb::LotteryResponse>(pb::NEW_ROUND_REQUEST, req, pb::LOTTERY_RESPONSE, options.timeout());
  if (!r.ok()) return client::report(options, r.error());
  if (r->outcome() != pb::LotteryResponse::OK)
    return client::report(options, Error{Errc::invalid_argument, r->reason()});
  if (options.json()) {
    json::Object o;
    o.add("ok", true);
    o.add("round", r->round());
    o.add("expected_agencies", r->expected_agencies());
    o.add("previous_bets", r->stored());
    std::cout << o.str() << std::endl;
  } else {
    std::cout << "round " << r->round() << " started: " << r->expected_agencies()
              << " agencies expected; the previous round's " << r->stored()
              << " bets stay in the log but no longer count. Agencies can send again from the start." << std::endl;
  }
  return kExitOk;
}

// ---------------------------------------------------------------- gen-data

int run_gen(const ClientOptions& options, const GenOptions& g, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return usage_error("cannot create " + out_dir + ": " + ec.message());
  const auto agencies = generate_bets(g);
  std::string summary = "[";
  for (std::size_t i = 0; i < agencies.size(); ++i) {
    const auto path = std::filesystem::path(out_dir) / ("agency-" + std::to_string(i + 1) + ".csv");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& b : agencies[i]) out << to_csv_row(b) << '\n';
    out.close();
    if (!out) return usage_error("cannot write " + path.string());
    const auto winners = winners_of(agencies[i], g.winning_number);
    if (options.json()) {
      if (i > 0) summary += ',';
      json::Object o;
      o.add("agency", static_cast<std::uint64_t>(i + 1));
      o.add("bets", static_cast<std::uint64_t>(agencies[i].size()));
      o.add("winners", static_cast<std::uint64_t>(winners.size()));
      o.add("file", path.string());
      summary += o.str();
    } else {
      std::cout << path.string() << ": " << agencies[i].size() << " bets, " << winners.size() << " winning\n";
    }
  }
  std::error_code abs_ec;
  const std::string where = std::filesystem::absolute(out_dir, abs_ec).lexically_normal().string();
  if (!options.json()) {
    std::cout << "wrote " << agencies.size() << " file(s) to " << where << "\n"
              << "send them with: minga lottery agency --agency N --data-dir " << out_dir << std::endl;
  }
  if (options.json()) {
    json::Object o;
    o.add("ok", true);
    o.add("dir", where);
    o.add("seed", static_cast<std::uint64_t>(g.seed));
    o.add("winning_number", g.winning_number);
    o.add_raw("agencies", summary + "]");
    std::cout << o.str() << std::endl;
  }
  return kExitOk;
}

}  // namespace

void add_cli(CLI::App& root, CLI::App& bench, client::ClientOptions& options, std::function<int()>& action) {
  auto* lottery = root.add_subcommand("lottery", "the national lottery: agencies, bets, the draw, winners");
  lottery->require_subcommand(1);

  auto af = std::make_shared<AgencyFlags>();
  auto* agency = lottery->add_subcommand("agency", "send an agency's bets, notify, wait for its winners");
  agency->add_option("--agency,-a", af->agency_text, "agency id (a positive number) [env MINGA_AGENCY or CLI_ID]")
      ->type_name("N");
  auto* bets_opt = agency->add_option("--bets", af->bets_file, "CSV of bets: first,last,document,birthdate,number");
  agency->add_option("--data-dir", af->data_dir, "where agency-{id}.csv is when --bets is not given")
      ->capture_default_str();
  agency
      ->add_option("--batch-max-amount", af->max_amount,
                   "bets per batch [env MINGA_BATCH_MAX_AMOUNT, file batch.max_amount, default 100]")
      ->envname("MINGA_BATCH_MAX_AMOUNT")
      ->check(CLI::Range(1, 100000));
  agency->add_option("--config,-c", af->config_file, "TOML configuration file [env MINGA_CONFIG]");
  agency->add_option("--log-level", af->log_level,
                     "trace|debug|info|warn|error|off [env MINGA_AGENCY_LOG_LEVEL or CLI_LOG_LEVEL, file log.level, "
                     "default info]");
  agency->add_option("--window", af->window, "batches in flight at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  agency
      ->add_option("--batch-interval-ms", af->batch_interval_ms,
                   "at least this many ms between two batches (spreads load)")
      ->check(CLI::Range(0, 60000))
      ->capture_default_str();
  agency->add_option("--retry-for", af->retry_for, "seconds to keep reconnecting without progress")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  agency->add_option("--wait-for", af->wait_for, "seconds to wait for the draw")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  agency->add_option("--progress-every", af->progress_every, "while waiting for the draw, report every SECONDS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  agency->add_flag("--skip-invalid", af->skip_invalid, "send the valid rows even if some rows are invalid");
  agency->footer(
      "Server: --server, MINGA_SERVER or CLI_SERVER_ADDRESS. Log level: --log-level, MINGA_AGENCY_LOG_LEVEL,\n"
      "CLI_LOG_LEVEL or log.level. Without --bets, when NOMBRE, APELLIDO, DOCUMENTO, NACIMIENTO and NUMERO\n"
      "(or MINGA_BET_FIRST_NAME, _LAST_NAME, _DOCUMENT, _BIRTH_DATE, _NUMBER) are set, sends that one bet.");
  agency->callback([&action, &root, &options, af, bets_opt] {
    action = [&root, &options, af, bets_opt] { return run_agency(root, options, *af, bets_opt->count() > 0); };
  });

  auto agency_id = std::make_shared<std::string>();
  auto* winners = lottery->add_subcommand("winners", "documents of an agency's winning bets (after the draw)");
  winners->add_option("--agency,-a", *agency_id, "agency id (a positive number) [env MINGA_AGENCY or CLI_ID]")
      ->type_name("N");
  winners->callback([&action, &root, &options, agency_id] {
    action = [&root, &options, agency_id] { return run_winners(root, options, *agency_id); };
  });

  auto* status = lottery->add_subcommand("status", "bets per agency, agencies finished, whether the draw happened");
  status->callback([&action, &root, &options] { action = [&root, &options] { return run_status(root, options); }; });

  auto force = std::make_shared<bool>(false);
  auto* new_round = lottery->add_subcommand(
      "new-round", "start a new lottery round on the node: the current round's bets and draw are set aside");
  new_round->add_flag("--force", *force, "start it even while agencies are still sending (their bets are set aside)");
  new_round->footer(
      "A node keeps one lottery at a time. After a draw, this starts the next round; agencies then send\n"
      "their bets again from the start. Refused while a round is under way unless --force.");
  new_round->callback([&action, &root, &options, force] {
    action = [&root, &options, force] { return run_new_round(root, options, *force); };
  });

  auto gf = std::make_shared<GenOptions>();
  auto out_dir = std::make_shared<std::string>(kDefaultGenDir);
  auto* gen =
      lottery->add_subcommand("gen-data", "write agency-{i}.csv files of generated bets (reproducible by seed)");
  gen->add_option("--agencies", gf->agencies, "number of agencies")->check(CLI::Range(1, 1000))->capture_default_str();
  gen->add_option("--bets", gf->total_bets, "bets in all, split evenly")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  gen->add_option("--seed", gf->seed, "generator seed")->capture_default_str();
  gen->add_option("--winning-number", gf->winning_number, "number that wins")
      ->check(CLI::Range(0, 9999))
      ->capture_default_str();
  gen->add_option("--out", *out_dir, "output directory")->capture_default_str();
  gen->callback([&action, &options, gf, out_dir] {
    action = [&options, gf, out_dir] { return run_gen(options, *gf, *out_dir); };
  });

  add_bench_cli(bench, options, action);
}

}  // namespace minga::lottery
