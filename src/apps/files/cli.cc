#include "apps/files/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "apps/files/blob_store.h"
#include "apps/files/file_client.h"
#include "apps/files/names.h"
#include "base/json.h"
#include "client/options.h"
#include "proto/files.pb.h"

namespace minga::files {
namespace {

using client::ClientOptions;

Error sys_error(const std::string& what) { return Error{Errc::invalid_argument, what + ": " + std::strerror(errno)}; }

std::string created_text(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string replicas_json(const pb::FileEntry& e) {
  std::string out = "[";
  for (const auto& id : e.replicas()) out += (out.size() > 1 ? "," : "") + json::quote(id);
  return out + "]";
}

json::Object entry_object(const pb::FileEntry& e) {
  json::Object o;
  o.add("ok", true)
      .add("name", e.name())
      .add("size", static_cast<std::uint64_t>(e.size()))
      .add("sha256", e.sha256())
      .add("created", created_text(e.created_ms()))
      .add("index", static_cast<std::uint64_t>(e.index()))
      .add_raw("replicas", replicas_json(e));
  return o;
}

std::string entry_json_item(const pb::FileEntry& e) {
  return json::Object()
      .add("name", e.name())
      .add("size", static_cast<std::uint64_t>(e.size()))
      .add("sha256", e.sha256())
      .add("created", created_text(e.created_ms()))
      .add("index", static_cast<std::uint64_t>(e.index()))
      .add_raw("replicas", replicas_json(e))
      .str();
}

// Reads up to `want` bytes (fewer only at the end of the input).
Result<std::string> read_chunk(int fd, std::size_t want) {
  std::string buf(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::read(fd, buf.data() + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  buf.resize(got);
  return buf;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{Errc::internal, std::string("write: ") + std::strerror(errno)};
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

// `name_given`: --name was on the command line (an empty one is refused,
// not replaced by the base name).
int run_put(const ClientOptions& options, const std::string& local, std::string name, bool name_given) {
  if (!name_given) {
    if (local == "-") return client::report_usage(options, Error{Errc::invalid_argument, "put - needs --name NAME"});
    name = local.substr(local.find_last_of('/') == std::string::npos ? 0 : local.find_last_of('/') + 1);
  }
  if (auto st = validate_name(name); !st.ok()) return client::report_usage(options, st.error());
  int fd = 0;
  std::uint64_t declared = 0;
  if (local != "-") {
    fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return client::report_usage(options, sys_error("cannot open " + local));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) declared = static_cast<std::uint64_t>(st.st_size);
  }
  auto e = put(
      options, [fd](std::size_t max) { return read_chunk(fd, max); }, declared, name);
  if (fd != 0) ::close(fd);
  if (!e.ok()) return client::report(options, e.error());
  if (options.json()) {
    std::cout << entry_object(e.value()).str() << std::endl;
  } else {
    std::cout << e->name() << ' ' << e->size() << ' ' << e->sha256() << std::endl;
  }
  return client::kExitOk;
}

int run_get(const ClientOptions& options, const std::string& name, const std::string& out) {
  if (auto st = validate_name(name); !st.ok()) return client::report_usage(options, st.error());
  pb::FileEntry entry;
  if (out.empty() || out == "-") {
    auto st = get(
        options, name, [](std::string_view d) { return write_all(1, d); }, entry);
    if (!st.ok()) return client::report(options, st.error());
    return client::kExitOk;
  }
  // Next to OUT, so that the rename stays on one file system.
  const std::string tmp = out + ".minga-part-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return client::report_usage(options, sys_error("cannot create " + tmp));
  auto st = get(
      options, name, [fd](std::string_view d) { return write_all(fd, d); }, entry);
  if (st.ok() && ::fsync(fd) != 0) st = sys_error("fsync " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), out.c_str()) != 0) st = sys_error("rename to " + out);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return client::report(options, st.error());
  }
  if (options.json()) std::cout << entry_object(entry).str() << std::endl;
  return client::kExitOk;
}

int run_ls(const ClientOptions& options, const std::string& prefix, bool long_form, bool stale) {
  pb::FilesListRequest req;
  req.set_prefix(prefix);
  req.set_stale(stale);
  std::string items = "[";
  std::vector<std::vector<std::string>> rows = {{"NAME", "SIZE", "CREATED", "REPLICAS"}};
  for (;;) {
    auto r = client::call_cluster<pb::FilesListResponse>(options, pb::FILES_LIST_REQUEST, req, pb::FILES_LIST_RESPONSE,
                                                         true);
    if (!r.ok()) return client::report(options, r.error());
    for (const auto& e : r->files()) {
      if (options.json()) {
        items += (items.size() > 1 ? "," : "") + entry_json_item(e);
      } else if (long_form) {
        rows.push_back(
            {e.name(), std::to_string(e.size()), created_text(e.created_ms()), std::to_string(e.replicas_size())});
      } else {
        std::cout << e.name() << '\n';
      }
      req.set_after(e.name());
    }
    if (!r->more() || r->files_size() == 0) break;
  }
  if (options.json()) {
    std::cout << json::Object().add("ok", true).add_raw("files", items + "]").str() << '\n';
  } else if (long_form) {
    client::print_table(rows);
  }
  std::cout << std::flush;
  return client::kExitOk;
}

int run_stat(const ClientOptions& options, const std::string& name, bool stale) {
  if (auto st = validate_name(name); !st.ok()) return client::report_usage(options, st.error());
  pb::FilesStatRequest req;
  req.set_name(name);
  req.set_stale(stale);
  auto r =
      client::call_cluster<pb::FilesStatResponse>(options, pb::FILES_STAT_REQUEST, req, pb::FILES_STAT_RESPONSE, true);
  if (!r.ok()) return client::report(options, r.error());
  const pb::FileEntry& e = r->file();
  if (options.json()) {
    std::cout << entry_object(e).str() << std::endl;
    return client::kExitOk;
  }
  std::string nodes;
  for (const auto& id : e.replicas()) nodes += (nodes.empty() ? "" : ",") + id;
  std::cout << "name: " << e.name() << "\nsize: " << e.size() << "\nsha256: " << e.sha256()
            << "\ncreated: " << created_text(e.created_ms()) << "\nindex: " << e.index() << "\nnodes: " << nodes
            << std::endl;
  return client::kExitOk;
}

int run_rm(const ClientOptions& options, const std::string& name) {
  if (auto st = validate_name(name); !st.ok()) return client::report_usage(options, st.error());
  pb::FilesRemoveRequest req;
  req.set_name(name);
  auto r =
      client::call_cluster<pb::FilesRemoveResponse>(options, pb::FILES_REMOVE_REQUEST, req, pb::FILES_REMOVE_RESPONSE);
  if (!r.ok()) return client::report(options, r.error());
  if (options.json()) {
    std::cout << json::Object().add("ok", true).add("index", static_cast<std::uint64_t>(r->index())).str() << std::endl;
  }
  return client::kExitOk;
}

std::string names_json(const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::string out = "[";
  for (const auto& n : names) out += (out.size() > 1 ? "," : "") + json::quote(n);
  return out + "]";
}

// `minga files check|repair`: exit 0 when every node answered and none
// reports a missing, corrupt or under-replicated blob; 1 otherwise.
int run_check(const ClientOptions& options, bool repair, const std::string& node) {
  pb::FilesCheckRequest req;
  req.set_repair(repair);
  req.set_node(node);
  auto r = client::call_cluster<pb::FilesCheckResponse>(options, pb::FILES_CHECK_REQUEST, req, pb::FILES_CHECK_RESPONSE,
                                                        true);
  if (!r.ok()) return client::report(options, r.error());
  bool clean = true;
  std::vector<std::vector<std::string>> rows;
  if (repair) {
    rows.push_back({"NODE", "FILES", "BLOBS", "MISSING", "CORRUPT", "UNDER_REPLICATED", "FETCHED", "REPAIRED",
                    "REPLICATED", "COLLECTED", "MS", "ERROR"});
  } else {
    rows.push_back({"NODE", "FILES", "BLOBS", "MISSING", "CORRUPT", "UNDER_REPLICATED", "MS", "ERROR"});
  }
  std::string items = "[";
  std::string details;
  for (const auto& n : r->nodes()) {
    if (!n.error().empty() || n.missing_size() > 0 || n.corrupt_size() > 0 || n.under_replicated_size() > 0)
      clean = false;
    std::vector<std::string> row = {n.node(),
                                    std::to_string(n.files()),
                                    std::to_string(n.blobs()),
                                    std::to_string(n.missing_size()),
                                    std::to_string(n.corrupt_size()),
                                    std::to_string(n.under_replicated_size())};
    if (repair) {
      for (auto v : {n.fetched(), n.repaired(), n.replicated(), n.collected()}) row.push_back(std::to_string(v));
    }
    row.push_back(std::to_string(n.millis()));
    row.push_back(n.error().empty() ? "-" : n.error());
    rows.push_back(std::move(row));
    for (const auto& name : n.missing()) details += n.node() + " missing " + name + "\n";
    for (const auto& name : n.corrupt()) details += n.node() + " corrupt " + name + "\n";
    for (const auto& name : n.under_replicated()) details += n.node() + " under-replicated " + name + "\n";
    json::Object o;
    o.add("node", n.node())
        .add("files", static_cast<std::uint64_t>(n.files()))
        .add("blobs", static_cast<std::uint64_t>(n.blobs()))
        .add_raw("missing", names_json(n.missing()))
        .add_raw("corrupt", names_json(n.corrupt()))
        .add_raw("under_replicated", names_json(n.under_replicated()));
    if (repair) {
      o.add("fetched", static_cast<std::uint64_t>(n.fetched()))
          .add("repaired", static_cast<std::uint64_t>(n.repaired()))
          .add("replicated", static_cast<std::uint64_t>(n.replicated()))
          .add("collected", static_cast<std::uint64_t>(n.collected()));
    }
    o.add("millis", static_cast<std::uint64_t>(n.millis())).add("error", n.error());
    items += (items.size() > 1 ? "," : "") + o.str();
  }
  if (options.json()) {
    std::cout << json::Object().add("ok", clean).add_raw("nodes", items + "]").str() << std::endl;
  } else {
    client::print_table(rows);
    std::cout << details << std::flush;
  }
  return clean ? client::kExitOk : client::kExitServerError;
}

}  // namespace

void add_cli(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  struct Args {
    std::string local, name, out, prefix, node;
    bool long_form = false, stale = false;
  };
  auto a = std::make_shared<Args>();
  auto* put = root.add_subcommand("put", "store a file in the cluster; prints NAME SIZE SHA256 once committed");
  put->add_option("local", a->local, "the local file, or - for standard input")->required();
  auto* name = put->add_option("--name", a->name, "the name in the cluster (default: the local file's base name)");
  put->callback([&options, &action, a, name] {
    action = [&options, a, given = name->count() > 0] { return run_put(options, a->local, a->name, given); };
  });

  auto* get = root.add_subcommand("get", "read a file from any node; its SHA-256 is checked");
  get->add_option("name", a->name, "the file's name")->required();
  get->add_option("-o,--out", a->out,
                  "write to OUT (put in place only once complete and checked) instead of standard output; "
                  "for JSON output put --output json before get");
  get->callback([&options, &action, a] { action = [&options, a] { return run_get(options, a->name, a->out); }; });

  auto* ls = root.add_subcommand("ls", "list the files, in name order");
  ls->add_option("prefix", a->prefix, "only names that start with PREFIX");
  ls->add_flag("-l", a->long_form, "NAME SIZE CREATED REPLICAS");
  ls->add_flag("--stale", a->stale, "read the answering node's own copy (no quorum round; may lag)");
  ls->callback([&options, &action, a] {
    action = [&options, a] { return run_ls(options, a->prefix, a->long_form, a->stale); };
  });

  auto* stat = root.add_subcommand("stat", "a file's size, sha256, creation time, log index and replicas");
  stat->add_option("name", a->name, "the file's name")->required();
  stat->add_flag("--stale", a->stale, "read the answering node's own copy (no quorum round; may lag)");
  stat->callback([&options, &action, a] { action = [&options, a] { return run_stat(options, a->name, a->stale); }; });

  auto* rm = root.add_subcommand("rm", "remove a file's name from the cluster");
  rm->add_option("name", a->name, "the file's name")->required();
  rm->callback([&options, &action, a] { action = [&options, a] { return run_rm(options, a->name); }; });

  auto* files = root.add_subcommand("files", "check and repair the blobs of the files on every node");
  files->require_subcommand(1);
  auto* check = files->add_subcommand(
      "check", "per node: missing, corrupt and under-replicated blobs (exit 1 if any, or if a node does not answer)");
  check->add_option("--node", a->node, "only this member");
  check->callback([&options, &action, a] { action = [&options, a] { return run_check(options, false, a->node); }; });
  auto* repair = files->add_subcommand(
      "repair", "run a repair pass on every node now and report what it did and what is still wrong (exit 1 if any)");
  repair->add_option("--node", a->node, "only this member");
  repair->callback([&options, &action, a] { action = [&options, a] { return run_check(options, true, a->node); }; });
}

}  // namespace minga::files
