// Training data in memory, and the two formats it is read from.
//
// Scaling: IDX pixels are bytes and become byte/255 (0..1). CSV features are
// taken as written (scale them beforehand if they are large).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace minga::ml {

struct Dataset {
  std::size_t rows = 0;
  std::size_t features = 0;
  std::uint32_t classes = 0;     // labels are in [0, classes)
  std::vector<float> x;          // rows * features, row-major
  std::vector<std::uint32_t> y;  // rows

  const float* row(std::size_t r) const { return x.data() + r * features; }
};

struct CsvOptions {
  // The label column's header name; empty means the last column.
  std::string label_column;
  // 0: classes = largest label + 1. Otherwise every label must be below it.
  std::uint32_t classes = 0;
};

// Numeric feature columns and an integer label column. A first line with a
// field that is not a number is a header. Errors name the line (1-based).
Result<Dataset> parse_csv(const std::string& text, const CsvOptions& options, const std::string& name = "csv");
Result<Dataset> load_csv(const std::string& path, const CsvOptions& options);

// An idx3-ubyte image file and its idx1-ubyte label file, gzipped or not
// (as Fashion-MNIST ships). Labels must be below `classes`.
Result<Dataset> load_idx(const std::string& images_path, const std::string& labels_path, std::uint32_t classes = 10);
// The same from bytes already in memory (uncompressed).
Result<Dataset> parse_idx(const std::string& images, const std::string& labels, std::uint32_t classes,
                          const std::string& images_name = "images", const std::string& labels_name = "labels");

// One sample of an idx3-ubyte image file (uncompressed bytes), scaled as
// parse_idx scales it: what a page draws and sends to predict.
struct Sample {
  std::vector<float> values;  // rows * cols, byte / 255
  std::int32_t label = -1;    // from `labels`; -1 without them
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint64_t count = 0;  // images in the file
};
// `labels` is an idx1-ubyte file's bytes or "" for none. An index past the
// last image is invalid_argument `index K is out of range: NAME has N images`.
Result<Sample> idx_sample(const std::string& images, const std::string& labels, std::uint64_t index,
                          const std::string& images_name = "images", const std::string& labels_name = "labels");

// A file's bytes, gunzipped if it is gzipped (zlib reads both).
Result<std::string> read_maybe_gzipped(const std::string& path);

}  // namespace minga::ml
