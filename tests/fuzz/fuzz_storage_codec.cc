// Feeds arbitrary bytes to the storage decoders: log entries (the WAL's
// payloads), the hard state file and the snapshot file. The file decoders
// get the bytes both raw and sealed (magic and a valid checksum added here),
// so that the fuzzer reaches the fields behind the checksum. Whatever
// decodes must encode back to the same bytes (entries, hard state) or to a
// fixed point that decodes to the same snapshot; a sealed file with one
// byte changed must not decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/codec.h"

namespace {

using namespace minga::storage;

void check(bool cond) {
  if (!cond) std::abort();
}

void entry(std::string_view bytes) {
  auto e = decode_entry(bytes);
  if (!e) return;
  Writer w;
  encode_entry(w, *e);
  check(w.out() == bytes);
}

void hard_state(const std::string& bytes) {
  auto hs = decode_hard_state(bytes);
  if (!hs) return;
  check(encode_hard_state(*hs) == bytes);
}

void snapshot(const std::string& bytes) {
  auto s = decode_snapshot(bytes);
  if (!s) return;
  const std::string again = encode_snapshot(*s);
  auto back = decode_snapshot(again);
  check(back.has_value());
  check(back->snapshot.meta == s->snapshot.meta && back->snapshot.data == s->snapshot.data &&
        back->wal_first_segment == s->wal_first_segment);
  check(encode_snapshot(*back) == again);
}

// A sealed file that decodes stops decoding when any byte changes.
template <typename Decode>
void flip_breaks(std::string bytes, std::size_t at, Decode decode) {
  if (!decode(bytes).has_value()) return;
  bytes[at % bytes.size()] ^= 0x01;
  check(!decode(bytes).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode % 3) {
    case 0:
      entry(body);
      break;
    case 1: {
      hard_state(body);
      const std::string sealed = seal(kHardStateMagic, body);
      hard_state(sealed);
      flip_breaks(sealed, mode, [](const std::string& b) { return decode_hard_state(b); });
      break;
    }
    default: {
      snapshot(body);
      const std::string sealed = seal(kSnapshotMagic, body);
      snapshot(sealed);
      flip_breaks(sealed, mode, [](const std::string& b) { return decode_snapshot(b); });
    }
  }
  return 0;
}
