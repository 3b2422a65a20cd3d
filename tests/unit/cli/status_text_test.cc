#include "cli/status_text.h"

#include <gtest/gtest.h>

namespace minga::cli {
namespace {

TEST(StatusText, DurationsInWholeUnitsRoundedDown) {
  EXPECT_EQ(duration_text(-1), "0 s");
  EXPECT_EQ(duration_text(0.123456789), "0 s");
  EXPECT_EQ(duration_text(59.99), "59 s");
  EXPECT_EQ(duration_text(60), "1 min 00 s");
  EXPECT_EQ(duration_text(3599), "59 min 59 s");
  EXPECT_EQ(duration_text(3600), "1 h 00 min");
  EXPECT_EQ(duration_text(86399), "23 h 59 min");
  EXPECT_EQ(duration_text(90061), "1 d 1 h");
}

TEST(StatusText, JsonBecomesAlignedLinesAndListsOneLinePerElement) {
  EXPECT_EQ(json_as_text(R"({"joined":true,"coordinator":"127.0.0.1:7500","n":[],)"
                         R"("workers":[{"id":"w1","state":"live"},{"id":"w\"2","state":"dead"}],"deep":{"x":1}})",
                         2),
            "  joined:      true\n"
            "  coordinator: 127.0.0.1:7500\n"
            "  n:\n"
            "    (none)\n"
            "  workers:\n"
            "    - id: w1, state: live\n"
            "    - id: w\"2, state: dead\n"
            "  deep:\n"
            "    x: 1\n");
  EXPECT_EQ(json_as_text(R"({"empty":""})", 0), "empty: -\n");
}

TEST(StatusText, TextThatIsNotJsonGivesNothing) {
  for (const char* bad : {"", "{", R"({"a":})", R"({"a":1}x)", R"(["a")", "nope"}) {
    EXPECT_EQ(json_as_text(bad, 0), "") << bad;
  }
}

TEST(StatusText, ASectionThatIsNotJsonIsShownAsItCame) {
  pb::StatusResponse s;
  s.set_id("n1");
  s.set_version("1.2.3");
  s.set_role("worker");
  s.set_uptime_seconds(75.5);
  s.set_open_connections(2);
  s.set_threads(4);
  s.mutable_tasks()->set_done(7);
  (*s.mutable_sections())["zeta"] = "not json";
  (*s.mutable_sections())["coordinator"] = R"({"coordinator":"c:1","joined":false})";
  EXPECT_EQ(status_text(s),
            "node\n"
            "  id:               n1\n"
            "  version:          1.2.3\n"
            "  role:             worker\n"
            "  uptime:           1 min 15 s\n"
            "  open connections: 2\n"
            "  threads:          4\n"
            "tasks\n"
            "  queued 0, waiting 0, running 0, done 7, failed 0, rejected 0\n"
            "coordinator\n"
            "  coordinator: c:1\n"
            "  joined:      false\n"
            "zeta\n"
            "  not json\n");
}

}  // namespace
}  // namespace minga::cli
