#include "apps/ml/dataset.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace minga::ml {
namespace {

std::string csv_error(const std::string& text, CsvOptions options = {}) {
  auto r = parse_csv(text, options, "d.csv");
  return r.ok() ? std::string("accepted") : r.error().message;
}

TEST(MlCsv, LastColumnIsTheLabelAndAHeaderIsDetected) {
  auto d = parse_csv("a,b,label\n1,2.5,0\n-3,4e1,2\n", {}, "d.csv");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->rows, 2u);
  EXPECT_EQ(d->features, 2u);
  EXPECT_EQ(d->classes, 3u);
  EXPECT_EQ(d->x, (std::vector<float>{1, 2.5f, -3, 40}));
  EXPECT_EQ(d->y, (std::vector<std::uint32_t>{0, 2}));
  auto no_header = parse_csv("1,2,1\r\n3,4,0\r\n\n", {}, "d.csv");
  ASSERT_TRUE(no_header.ok());
  EXPECT_EQ(no_header->rows, 2u);
  EXPECT_EQ(no_header->x, (std::vector<float>{1, 2, 3, 4}));
}

TEST(MlCsv, ANamedLabelColumn) {
  auto d = parse_csv("kind,w,h\n1,0.5,0.25\n0,1,2\n", CsvOptions{"kind", 2}, "d.csv");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->x, (std::vector<float>{0.5f, 0.25f, 1, 2}));
  EXPECT_EQ(d->y, (std::vector<std::uint32_t>{1, 0}));
  EXPECT_EQ(csv_error("a,b\n1,0\n", CsvOptions{"kind", 0}), "d.csv line 1: no column named 'kind'");
  EXPECT_EQ(csv_error("1,0\n2,1\n", CsvOptions{"kind", 0}),
            "d.csv: label column 'kind' named but the file has no header");
}

TEST(MlCsv, BadDataNamesTheLine) {
  EXPECT_EQ(csv_error("a,b,y\n1,2,0\n3,1\n"), "d.csv line 3: 2 fields, expected 3");
  EXPECT_EQ(csv_error("1,2,0\n3,x4,1\n"), "d.csv line 2 column 2: not a number: 'x4'");
  EXPECT_EQ(csv_error("1,2,0\n3,4,1.5\n"), "d.csv line 2: label '1.5' is not an integer in [0, 65536)");
  EXPECT_EQ(csv_error("1,2,0\n3,4,-1\n"), "d.csv line 2: label '-1' is not an integer in [0, 65536)");
  EXPECT_EQ(csv_error("1,2,0\n3,4,3\n", CsvOptions{"", 3}), "d.csv line 2: label '3' is not an integer in [0, 3)");
  EXPECT_EQ(csv_error("1,2,0\n1,2,inf\n"), "d.csv line 2 column 3: not a number: 'inf'");
  EXPECT_EQ(csv_error("a,b,y\n"), "d.csv: no data rows");
  EXPECT_EQ(csv_error("1,0\n2,0\n"), "d.csv: labels must span at least 2 classes (all are 0)");
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::string s = be32(0x803) + be32(n) + be32(h) + be32(w);
  for (std::uint32_t i = 0; i < n * h * w; ++i) s.push_back(static_cast<char>(i * 51));
  return s;
}

std::string labels(std::vector<std::uint8_t> ys) {
  std::string s = be32(0x801) + be32(static_cast<std::uint32_t>(ys.size()));
  for (auto y : ys) s.push_back(static_cast<char>(y));
  return s;
}

std::string idx_error(const std::string& im, const std::string& lb, std::uint32_t classes = 10) {
  auto r = parse_idx(im, lb, classes, "img", "lbl");
  return r.ok() ? std::string("accepted") : r.error().message;
}

TEST(MlIdx, PixelsAreScaledToOneAndLabelsKept) {
  auto d = parse_idx(images(2, 1, 3), labels({3, 9}), 10);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->rows, 2u);
  EXPECT_EQ(d->features, 3u);
  EXPECT_EQ(d->x, (std::vector<float>{0, 51 / 255.0f, 102 / 255.0f, 153 / 255.0f, 204 / 255.0f, 1.0f}));
  EXPECT_EQ(d->y, (std::vector<std::uint32_t>{3, 9}));
}

TEST(MlIdx, BadDataNamesTheFileAndRecord) {
  EXPECT_EQ(idx_error(be32(0x801) + images(1, 1, 1).substr(4), labels({1})),
            "img: bad magic 0x00000801, expected 0x00000803 (idx3-ubyte)");
  EXPECT_EQ(idx_error(images(1, 1, 1), be32(0x803) + labels({1}).substr(4)),
            "lbl: bad magic 0x00000803, expected 0x00000801 (idx1-ubyte)");
  EXPECT_EQ(idx_error(images(3, 2, 2), labels({1, 2})), "img has 3 images but lbl has 2 labels");
  std::string cut = images(3, 2, 2);
  cut.resize(cut.size() - 5);
  EXPECT_EQ(idx_error(cut, labels({1, 2, 3})),
            "img: 23 bytes, the header's 3 images of 2x2 need 28 (truncated in record 1)");
  EXPECT_EQ(idx_error(images(1, 1, 1).substr(0, 10), labels({1})), "img: truncated header (10 bytes)");
  std::string short_labels = labels({1, 2});
  short_labels.pop_back();
  EXPECT_EQ(idx_error(images(2, 1, 1), short_labels), "lbl: 9 bytes, the header's 2 labels need 10");
  EXPECT_EQ(idx_error(images(3, 1, 1), labels({1, 10, 2})), "lbl record 1: label 10 is out of range [0, 10)");
  EXPECT_EQ(idx_error(images(1, 0, 4), labels({1})), "img: image size 0x4");
}

std::string sample_error(const std::string& im, const std::string& lb, std::uint64_t index) {
  auto r = idx_sample(im, lb, index, "img", "lbl");
  return r.ok() ? std::string("accepted") : r.error().message;
}

TEST(MlIdxSample, OneImageScaledAsTrainingReadsItWithItsLabel) {
  auto s = idx_sample(images(3, 1, 2), labels({4, 0, 7}), 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->values, (std::vector<float>{204 / 255.0f, 1.0f}));
  EXPECT_EQ(s->label, 7);
  EXPECT_EQ(s->rows, 1u);
  EXPECT_EQ(s->cols, 2u);
  EXPECT_EQ(s->count, 3u);
  // The same values parse_idx gives that row.
  auto d = parse_idx(images(3, 1, 2), labels({4, 0, 7}), 10);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(s->values, (std::vector<float>(d->row(2), d->row(2) + 2)));
  auto unlabelled = idx_sample(images(3, 1, 2), "", 0);
  ASSERT_TRUE(unlabelled.ok());
  EXPECT_EQ(unlabelled->label, -1);
}

TEST(MlIdxSample, BadDataAndAnIndexPastTheEndAreNamed) {
  EXPECT_EQ(sample_error(images(3, 2, 2), "", 3), "index 3 is out of range: img has 3 images");
  EXPECT_EQ(sample_error(be32(0x801) + images(1, 1, 1).substr(4), "", 0),
            "img: bad magic 0x00000801, expected 0x00000803 (idx3-ubyte)");
  EXPECT_EQ(sample_error(images(1, 1, 1), be32(0x803) + labels({1}).substr(4), 0),
            "lbl: bad magic 0x00000803, expected 0x00000801 (idx1-ubyte)");
  EXPECT_EQ(sample_error(images(3, 2, 2), labels({1, 2}), 0), "img has 3 images but lbl has 2 labels");
  std::string cut = images(3, 2, 2);
  cut.resize(cut.size() - 5);
  EXPECT_EQ(sample_error(cut, "", 0), "img: 23 bytes, the header's 3 images of 2x2 need 28 (truncated in record 1)");
  std::string short_labels = labels({1, 2});
  short_labels.pop_back();
  EXPECT_EQ(sample_error(images(2, 1, 1), short_labels, 0), "lbl: 9 bytes, the header's 2 labels need 10");
  EXPECT_EQ(sample_error(images(1, 1, 1).substr(0, 10), "", 0), "img: truncated header (10 bytes)");
  EXPECT_EQ(sample_error(images(1, 0, 4), "", 0), "img: image size 0x4");
}

class MlIdxFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("minga-ml-idx-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes, bool gzip) {
    std::string path = (dir_ / name).string();
    if (gzip) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(MlIdxFiles, GzippedAndPlainFilesReadTheSame) {
  auto gz = load_idx(write("i.gz", images(4, 2, 3), true), write("l.gz", labels({0, 1, 2, 3}), true));
  auto plain = load_idx(write("i", images(4, 2, 3), false), write("l", labels({0, 1, 2, 3}), false));
  ASSERT_TRUE(gz.ok()) << gz.error().message;
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(gz->x, plain->x);
  EXPECT_EQ(gz->y, plain->y);
  EXPECT_EQ(gz->rows, 4u);
}

TEST_F(MlIdxFiles, ATruncatedGzipFileIsAnError) {
  std::string path = write("i.gz", images(50, 10, 10), true);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto r = load_idx(path, write("l", labels(std::vector<std::uint8_t>(50, 1)), false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ": truncated or corrupt gzip data");
  auto missing = load_idx((dir_ / "nope").string(), path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, (dir_ / "nope").string() + ": cannot open");
}

}  // namespace
}  // namespace minga::ml
