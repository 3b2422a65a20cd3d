#include "apps/text/text_ops.h"

#include <memory>
#include <vector>

#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace minga::text {
namespace {

Error invalid_utf8() { return Error{Errc::invalid_argument, "invalid UTF-8 in text"}; }

bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const auto n = static_cast<std::int32_t>(s.size());
  std::int32_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

Result<std::string> uppercase(std::string_view s) {
  if (is_ascii(s)) {  // fast path: most requests are plain ASCII
    std::string out(s);
    for (char& c : out) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
  }
  if (!valid_utf8(s)) return invalid_utf8();
  std::string out;
  out.reserve(s.size() + 8);
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  icu::CaseMap::utf8ToUpper("", 0, icu::StringPiece(s.data(), static_cast<std::int32_t>(s.size())), sink, nullptr,
                            status);
  if (U_FAILURE(status)) return Error{Errc::internal, std::string("uppercase failed: ") + u_errorName(status)};
  return out;
}

Result<std::string> reverse(std::string_view s) {
  if (is_ascii(s)) {
    // ASCII has one exception to "one byte, one grapheme": CR LF is a single
    // cluster and must stay in order.
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = s.size(); i > 0; --i) {
      if (s[i - 1] == '\n' && i >= 2 && s[i - 2] == '\r') {
        out += "\r\n";
        --i;
      } else {
        out.push_back(s[i - 1]);
      }
    }
    return out;
  }
  if (!valid_utf8(s)) return invalid_utf8();
  // Break iterators are costly to create: one per thread, reused.
  thread_local std::unique_ptr<icu::BreakIterator> it = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> bi(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    return U_FAILURE(status) ? nullptr : std::move(bi);
  }();
  if (!it) return Error{Errc::internal, "grapheme break iterator unavailable"};
  UErrorCode status = U_ZERO_ERROR;
  UText ut = UTEXT_INITIALIZER;
  utext_openUTF8(&ut, s.data(), static_cast<std::int64_t>(s.size()), &status);
  if (U_FAILURE(status)) return invalid_utf8();
  it->setText(&ut, status);
  std::vector<std::int32_t> bounds;
  for (std::int32_t b = it->first(); b != icu::BreakIterator::DONE; b = it->next()) bounds.push_back(b);
  utext_close(&ut);
  std::string out;
  out.reserve(s.size());
  for (std::size_t k = bounds.size(); k > 1; --k) {
    out.append(
        s.substr(static_cast<std::size_t>(bounds[k - 2]), static_cast<std::size_t>(bounds[k - 1] - bounds[k - 2])));
  }
  return out;
}

Result<std::uint64_t> word_count(std::string_view s) {
  if (!valid_utf8(s)) return invalid_utf8();
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const auto n = static_cast<std::int32_t>(s.size());
  std::uint64_t words = 0;
  bool in_word = false;
  for (std::int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    const bool space = u_isUWhiteSpace(c);
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace minga::text
