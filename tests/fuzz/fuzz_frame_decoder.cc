// Feeds arbitrary bytes to the frame decoder, whole and split at every
// offset, and checks its contract: never reads past the input, consumes
// exactly header + body, and honours the size limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/frame.h"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

void decode_all(std::string_view input, std::size_t max_body) {
  while (!input.empty()) {
    auto d = minga::wire::decode(input, max_body);
    if (d.status != minga::wire::Decoded::Status::frame) {
      if (d.status == minga::wire::Decoded::Status::need_more && d.wanted != 0) check(d.wanted > input.size());
      return;
    }
    check(d.consumed == minga::wire::kHeaderBytes + d.header.body_bytes);
    check(d.consumed <= input.size());
    check(d.header.body_bytes <= max_body);
    check(d.body.size() == d.header.body_bytes);
    // Re-encoding the decoded frame gives back the same bytes.
    std::string again;
    minga::wire::encode(again, d.header.type, d.header.request_id, d.body);
    check(again == input.substr(0, d.consumed));
    input.remove_prefix(d.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t max_body = size > 0 ? data[0] * 64u : 1024u;
  decode_all(input, max_body);
  // Partial input must never yield a frame the full input does not.
  for (std::size_t cut = 0; cut < std::min<std::size_t>(size, 64); ++cut) {
    auto partial = minga::wire::decode(input.substr(0, cut), max_body);
    if (partial.status == minga::wire::Decoded::Status::frame) {
      auto full = minga::wire::decode(input, max_body);
      check(full.status == minga::wire::Decoded::Status::frame && full.consumed == partial.consumed);
    }
  }
  return 0;
}
