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

}  // namespace

void add_cli(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  struct Args {
    std::string local, name, out, prefix;
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
}

}  // namespace minga::files
