#include "apps/records/cli.h"

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "apps/records/records_state.h"
#include "base/json.h"
#include "client/options.h"
#include "proto/records.pb.h"

namespace minga::records {
namespace {

// Checked again by the node, against its own limit.
constexpr std::size_t kClientMaxBytes = 1u << 20;

int run_add(const client::ClientOptions& options, const std::string& text) {
  if (auto st = validate(text, kClientMaxBytes); !st.ok()) return client::report_usage(options, st.error());
  pb::RecordsAddRequest req;
  req.set_text(text);
  auto r =
      client::call_cluster<pb::RecordsAddResponse>(options, pb::RECORDS_ADD_REQUEST, req, pb::RECORDS_ADD_RESPONSE);
  if (!r.ok()) return client::report(options, r.error());
  if (options.json()) {
    std::cout << json::Object().add("ok", true).add("index", static_cast<std::uint64_t>(r->index())).str() << std::endl;
  } else {
    std::cout << r->index() << std::endl;
  }
  return client::kExitOk;
}

int run_ls(const client::ClientOptions& options, bool stale) {
  pb::RecordsListRequest req;
  req.set_stale(stale);
  std::string items = "[";
  for (;;) {
    auto r = client::call_cluster<pb::RecordsListResponse>(options, pb::RECORDS_LIST_REQUEST, req,
                                                           pb::RECORDS_LIST_RESPONSE, true);
    if (!r.ok()) return client::report(options, r.error());
    for (const auto& rec : r->records()) {
      if (options.json()) {
        if (items.size() > 1) items += ",";
        items += json::Object().add("index", static_cast<std::uint64_t>(rec.index())).add("text", rec.text()).str();
      } else {
        std::cout << rec.index() << '\t' << rec.text() << '\n';
      }
      req.set_after(rec.index());
    }
    if (!r->more() || r->records_size() == 0) break;
  }
  if (options.json()) std::cout << json::Object().add("ok", true).add_raw("records", items + "]").str() << '\n';
  std::cout << std::flush;
  return client::kExitOk;
}

}  // namespace

void add_cli(CLI::App& root, client::ClientOptions& options, std::function<int()>& action) {
  auto* records =
      root.add_subcommand("records", "a replicated list of lines of text, the same on every node, in commit order");
  records->require_subcommand(1);
  auto text = std::make_shared<std::string>();
  auto* add = records->add_subcommand("add", "append one record; prints its index once it is committed");
  add->add_option("text", *text, "one line of UTF-8 text")->required();
  add->callback([&options, &action, text] { action = [&options, text] { return run_add(options, *text); }; });
  auto stale = std::make_shared<bool>(false);
  auto* ls = records->add_subcommand("ls", "list the records: INDEX<TAB>TEXT, in commit order");
  ls->add_flag("--stale", *stale, "read the answering node's own copy (no quorum round; may lag the leader)");
  ls->callback([&options, &action, stale] { action = [&options, stale] { return run_ls(options, *stale); }; });
}

}  // namespace minga::records
