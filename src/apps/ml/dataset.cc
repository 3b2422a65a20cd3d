#include "apps/ml/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace minga::ml {
namespace {

Error bad(const std::string& message) { return make_error(Errc::invalid_argument, message); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    out.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::optional<double> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

// A gzip file or a plain one: zlib's gzread reads both.
Result<std::string> read_maybe_gzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return make_error(Errc::not_found, path + ": cannot open");
  std::string out;
  char buf[1 << 16];
  while (true) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      return bad(path + ": " + why);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  // gzread stops quietly at a truncated gzip stream; gzclose_r does not.
  if (int rc = gzclose_r(f); rc != Z_OK) return bad(path + ": truncated or corrupt gzip data");
  return out;
}

namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(s[at])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(s[at + 1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(s[at + 2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(s[at + 3])};
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

Result<Dataset> parse_csv(const std::string& text, const CsvOptions& options, const std::string& name) {
  Dataset d;
  std::size_t width = 0, label_col = 0;
  bool first = true;
  std::uint32_t max_label = 0;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    auto fields = split(line);
    std::string where = name + " line " + std::to_string(line_no);
    if (first) {
      first = false;
      width = fields.size();
      if (width < 2) return bad(where + ": need at least one feature column and a label column");
      bool header = false;
      for (auto f : fields) header = header || !number(f);
      label_col = width - 1;
      if (!options.label_column.empty()) {
        if (!header)
          return bad(name + ": label column '" + options.label_column + "' named but the file has no header");
        auto it = std::find(fields.begin(), fields.end(), std::string_view(options.label_column));
        if (it == fields.end()) return bad(where + ": no column named '" + options.label_column + "'");
        label_col = static_cast<std::size_t>(it - fields.begin());
      }
      d.features = width - 1;
      if (header) continue;
    }
    if (fields.size() != width) {
      return bad(where + ": " + std::to_string(fields.size()) + " fields, expected " + std::to_string(width));
    }
    for (std::size_t c = 0; c < width; ++c) {
      auto v = number(fields[c]);
      if (!v)
        return bad(where + " column " + std::to_string(c + 1) + ": not a number: '" + std::string(fields[c]) + "'");
      if (c != label_col) {
        d.x.push_back(static_cast<float>(*v));
        continue;
      }
      bool integral = *v >= 0 && *v == std::floor(*v) && *v < 4294967296.0;
      std::uint32_t label = integral ? static_cast<std::uint32_t>(*v) : 0;
      if (!integral || (options.classes != 0 && label >= options.classes) || (options.classes == 0 && label >= 65536)) {
        std::string range = options.classes != 0 ? std::to_string(options.classes) : std::string("65536");
        return bad(where + ": label '" + std::string(fields[c]) + "' is not an integer in [0, " + range + ")");
      }
      max_label = std::max(max_label, label);
      d.y.push_back(label);
    }
    ++d.rows;
  }
  if (d.rows == 0) return bad(name + ": no data rows");
  d.classes = options.classes != 0 ? options.classes : max_label + 1;
  if (d.classes < 2) return bad(name + ": labels must span at least 2 classes (all are 0)");
  return d;
}

Result<Dataset> load_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_csv(ss.str(), options, path);
}

Result<Dataset> parse_idx(const std::string& images, const std::string& labels, std::uint32_t classes,
                          const std::string& images_name, const std::string& labels_name) {
  if (images.size() < 16) return bad(images_name + ": truncated header (" + std::to_string(images.size()) + " bytes)");
  if (be32(images, 0) != 0x00000803) {
    return bad(images_name + ": bad magic " + hex32(be32(images, 0)) + ", expected 0x00000803 (idx3-ubyte)");
  }
  if (labels.size() < 8) return bad(labels_name + ": truncated header (" + std::to_string(labels.size()) + " bytes)");
  if (be32(labels, 0) != 0x00000801) {
    return bad(labels_name + ": bad magic " + hex32(be32(labels, 0)) + ", expected 0x00000801 (idx1-ubyte)");
  }
  std::size_t n = be32(images, 4), h = be32(images, 8), w = be32(images, 12);
  std::size_t nl = be32(labels, 4);
  if (n != nl) {
    return bad(images_name + " has " + std::to_string(n) + " images but " + labels_name + " has " + std::to_string(nl) +
               " labels");
  }
  if (h == 0 || w == 0) return bad(images_name + ": image size " + std::to_string(h) + "x" + std::to_string(w));
  std::size_t want = 16 + n * h * w;
  if (images.size() != want) {
    std::size_t have_records = (images.size() - 16) / (h * w);
    return bad(images_name + ": " + std::to_string(images.size()) + " bytes, the header's " + std::to_string(n) +
               " images of " + std::to_string(h) + "x" + std::to_string(w) + " need " + std::to_string(want) +
               (images.size() < want ? " (truncated in record " + std::to_string(have_records) + ")" : ""));
  }
  if (labels.size() != 8 + n) {
    return bad(labels_name + ": " + std::to_string(labels.size()) + " bytes, the header's " + std::to_string(n) +
               " labels need " + std::to_string(8 + n));
  }
  Dataset d;
  d.rows = n;
  d.features = h * w;
  d.classes = classes;
  d.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t label = static_cast<unsigned char>(labels[8 + i]);
    if (label >= classes) {
      return bad(labels_name + " record " + std::to_string(i) + ": label " + std::to_string(label) +
                 " is out of range [0, " + std::to_string(classes) + ")");
    }
    d.y[i] = label;
  }
  d.x.resize(n * h * w);
  const auto* px = reinterpret_cast<const unsigned char*>(images.data() + 16);
  for (std::size_t i = 0; i < d.x.size(); ++i) d.x[i] = static_cast<float>(px[i]) / 255.0f;
  return d;
}

Result<Sample> idx_sample(const std::string& images, const std::string& labels, std::uint64_t index,
                          const std::string& images_name, const std::string& labels_name) {
  if (images.size() < 16) return bad(images_name + ": truncated header (" + std::to_string(images.size()) + " bytes)");
  if (be32(images, 0) != 0x00000803) {
    return bad(images_name + ": bad magic " + hex32(be32(images, 0)) + ", expected 0x00000803 (idx3-ubyte)");
  }
  const std::size_t n = be32(images, 4), h = be32(images, 8), w = be32(images, 12);
  if (h == 0 || w == 0) return bad(images_name + ": image size " + std::to_string(h) + "x" + std::to_string(w));
  const std::size_t want = 16 + n * h * w;
  if (images.size() != want) {
    return bad(
        images_name + ": " + std::to_string(images.size()) + " bytes, the header's " + std::to_string(n) +
        " images of " + std::to_string(h) + "x" + std::to_string(w) + " need " + std::to_string(want) +
        (images.size() < want ? " (truncated in record " + std::to_string((images.size() - 16) / (h * w)) + ")" : ""));
  }
  if (index >= n) {
    return bad("index " + std::to_string(index) + " is out of range: " + images_name + " has " + std::to_string(n) +
               " images");
  }
  Sample s;
  s.rows = static_cast<std::uint32_t>(h);
  s.cols = static_cast<std::uint32_t>(w);
  s.count = n;
  s.values.resize(h * w);
  const auto* px = reinterpret_cast<const unsigned char*>(images.data() + 16 + index * h * w);
  for (std::size_t i = 0; i < s.values.size(); ++i) s.values[i] = static_cast<float>(px[i]) / 255.0f;
  if (!labels.empty()) {
    if (labels.size() < 8) return bad(labels_name + ": truncated header (" + std::to_string(labels.size()) + " bytes)");
    if (be32(labels, 0) != 0x00000801) {
      return bad(labels_name + ": bad magic " + hex32(be32(labels, 0)) + ", expected 0x00000801 (idx1-ubyte)");
    }
    const std::size_t nl = be32(labels, 4);
    if (nl != n) {
      return bad(images_name + " has " + std::to_string(n) + " images but " + labels_name + " has " +
                 std::to_string(nl) + " labels");
    }
    if (labels.size() != 8 + n) {
      return bad(labels_name + ": " + std::to_string(labels.size()) + " bytes, the header's " + std::to_string(n) +
                 " labels need " + std::to_string(8 + n));
    }
    s.label = static_cast<unsigned char>(labels[8 + index]);
  }
  return s;
}

Result<Dataset> load_idx(const std::string& images_path, const std::string& labels_path, std::uint32_t classes) {
  auto images = read_maybe_gzipped(images_path);
  if (!images) return images.error();
  auto labels = read_maybe_gzipped(labels_path);
  if (!labels) return labels.error();
  return parse_idx(images.value(), labels.value(), classes, images_path, labels_path);
}

}  // namespace minga::ml
