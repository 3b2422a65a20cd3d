#include "apps/records/records_state.h"

#include "apps/text/text_ops.h"

namespace minga::records {

Status validate(std::string_view text, std::size_t max_bytes) {
  auto bad = [](std::string m) { return Error{Errc::invalid_argument, std::move(m)}; };
  if (text.empty()) return bad("a record must not be empty");
  if (text.size() > max_bytes) {
    return bad("a record of " + std::to_string(text.size()) + " bytes is above the limit of " +
               std::to_string(max_bytes) + " (records.max_bytes)");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') return bad("a record is one line: newline at byte " + std::to_string(i));
    if (text[i] == '\0') return bad("a record must not contain NUL (byte " + std::to_string(i) + ")");
  }
  if (!text::valid_utf8(text)) return bad("a record must be valid UTF-8");
  return ok_status();
}

std::string RecordsState::apply(std::uint64_t, std::string_view command) {
  pb::RecordsAddResponse r;
  std::lock_guard lock(mu_);
  records_.emplace_back(command);
  r.set_index(records_.size());
  return r.SerializeAsString();
}

std::string RecordsState::snapshot() {
  std::lock_guard lock(mu_);
  pb::RecordsListResponse all;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    auto* rec = all.add_records();
    rec->set_index(i + 1);
    rec->set_text(records_[i]);
  }
  return all.SerializeAsString();
}

Status RecordsState::restore(std::string_view data) {
  pb::RecordsListResponse all;
  if (!all.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Error{Errc::internal, "the records snapshot does not decode"};
  }
  std::vector<std::string> next;
  next.reserve(static_cast<std::size_t>(all.records_size()));
  for (const auto& rec : all.records()) {
    if (rec.index() != next.size() + 1) return Error{Errc::internal, "the records snapshot skips an index"};
    next.push_back(rec.text());
  }
  std::lock_guard lock(mu_);
  records_ = std::move(next);
  return ok_status();
}

pb::RecordsListResponse RecordsState::list(std::uint64_t after, std::size_t max_bytes) const {
  pb::RecordsListResponse out;
  std::lock_guard lock(mu_);
  std::size_t bytes = 0;
  for (std::size_t i = after; i < records_.size(); ++i) {
    if (bytes > 0 && bytes + records_[i].size() > max_bytes) {
      out.set_more(true);
      break;
    }
    bytes += records_[i].size() + 8;
    auto* rec = out.add_records();
    rec->set_index(i + 1);
    rec->set_text(records_[i]);
  }
  return out;
}

std::uint64_t RecordsState::count() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace minga::records
