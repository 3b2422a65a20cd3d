#include "apps/files/catalogue.h"

#include <gtest/gtest.h>

#include "apps/files/blob_store.h"
#include "apps/files/transfer.h"

namespace minga::files {
namespace {

std::string put_command(const std::string& name, const std::string& content, std::int64_t created_ms) {
  pb::FilesCommand cmd;
  auto* e = cmd.mutable_put();
  e->set_name(name);
  e->set_sha256(sha256_hex(content));
  e->set_size(content.size());
  e->set_created_ms(created_ms);
  e->add_replicas("n1");
  e->add_replicas("n2");
  return cmd.SerializeAsString();
}

std::string remove_command(const std::string& name) {
  pb::FilesCommand cmd;
  cmd.set_remove(name);
  return cmd.SerializeAsString();
}

pb::FilesApplied applied(const std::string& bytes) {
  pb::FilesApplied a;
  EXPECT_TRUE(a.ParseFromString(bytes));
  return a;
}

TEST(Catalogue, PutReplacesRemoveErasesAndTheIndexIsTheLogIndex) {
  Catalogue c;
  EXPECT_EQ(applied(c.apply(5, put_command("a/b.txt", "one", 1000))).index(), 5u);
  auto e = c.find("a/b.txt");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->index(), 5u);
  EXPECT_EQ(e->sha256(), sha256_hex("one"));
  EXPECT_EQ(e->created_ms(), 1000);
  c.apply(6, put_command("a/b.txt", "two!", 2000));
  EXPECT_EQ(c.find("a/b.txt")->sha256(), sha256_hex("two!"));
  EXPECT_EQ(c.find("a/b.txt")->size(), 4u);
  EXPECT_EQ(c.count(), 1u);
  EXPECT_TRUE(applied(c.apply(7, remove_command("a/b.txt"))).found());
  EXPECT_FALSE(applied(c.apply(8, remove_command("a/b.txt"))).found());
  EXPECT_FALSE(c.find("a/b.txt"));
}

std::string set_replicas_command(const std::string& name, const std::string& content,
                                 const std::vector<std::string>& replicas) {
  pb::FilesCommand cmd;
  auto* set = cmd.mutable_set_replicas();
  set->set_name(name);
  set->set_sha256(sha256_hex(content));
  for (const auto& id : replicas) set->add_replicas(id);
  return cmd.SerializeAsString();
}

TEST(Catalogue, SetReplicasChangesTheSetOnlyWhileTheNameHoldsThatBlob) {
  Catalogue c;
  c.apply(1, put_command("f", "one", 1000));
  EXPECT_TRUE(applied(c.apply(2, set_replicas_command("f", "one", {"n1", "n2", "n4"}))).found());
  auto e = c.find("f");
  ASSERT_TRUE(e);
  EXPECT_EQ(std::vector<std::string>(e->replicas().begin(), e->replicas().end()),
            (std::vector<std::string>{"n1", "n2", "n4"}));
  EXPECT_EQ(e->index(), 1u) << "the put's index stays";
  EXPECT_EQ(e->sha256(), sha256_hex("one"));
  // A put in between wins: a repair of the old blob changes nothing.
  c.apply(3, put_command("f", "two", 2000));
  EXPECT_FALSE(applied(c.apply(4, set_replicas_command("f", "one", {"n3"}))).found());
  EXPECT_EQ(c.find("f")->replicas_size(), 2);
  EXPECT_FALSE(applied(c.apply(5, set_replicas_command("gone", "one", {"n3"}))).found());
  EXPECT_FALSE(c.find("gone"));
  // Part of the snapshot.
  c.apply(6, set_replicas_command("f", "two", {"n5"}));
  Catalogue restored;
  ASSERT_TRUE(restored.restore(c.snapshot()).ok());
  EXPECT_EQ(restored.find("f")->replicas(0), "n5");
  EXPECT_EQ(restored.all().size(), 1u);
}

TEST(Catalogue, ACommandWithABadNameOrHashIsRefusedAndChangesNothing) {
  Catalogue c;
  for (const std::string& name : std::vector<std::string>{"../x", "/etc/passwd", std::string("a\0b", 3), ""}) {
    auto a = applied(c.apply(1, put_command(name, "x", 1)));
    EXPECT_FALSE(a.refused().empty()) << name;
  }
  pb::FilesCommand cmd;
  cmd.mutable_put()->set_name("ok");
  cmd.mutable_put()->set_sha256("../../etc");
  EXPECT_EQ(applied(c.apply(2, cmd.SerializeAsString())).refused(), "bad sha256");
  EXPECT_EQ(applied(c.apply(3, "\xff\xff garbage")).refused(), "the command does not decode");
  EXPECT_EQ(c.count(), 0u);
}

TEST(Catalogue, ListIsInNameOrderByPrefixAndPagesWithAfter) {
  Catalogue c;
  std::uint64_t i = 1;
  for (const char* n : {"b/2", "a", "b/1", "c", "b/3"}) c.apply(i++, put_command(n, n, 1));
  auto names = [](const pb::FilesListResponse& l) {
    std::vector<std::string> out;
    for (const auto& e : l.files()) out.push_back(e.name());
    return out;
  };
  EXPECT_EQ(names(c.list("", "")), (std::vector<std::string>{"a", "b/1", "b/2", "b/3", "c"}));
  EXPECT_EQ(names(c.list("b/", "")), (std::vector<std::string>{"b/1", "b/2", "b/3"}));
  EXPECT_EQ(names(c.list("b/", "b/1")), (std::vector<std::string>{"b/2", "b/3"}));
  auto page = c.list("", "", 1);  // at least one entry per page
  EXPECT_EQ(names(page), std::vector<std::string>{"a"});
  EXPECT_TRUE(page.more());
}

TEST(Catalogue, ASnapshotRestoresTheSameCatalogue) {
  Catalogue a;
  a.apply(1, put_command("x", "1", 10));
  a.apply(2, put_command("ñandú/ü", "2", 20));
  Catalogue b;
  ASSERT_TRUE(b.restore(a.snapshot()).ok());
  EXPECT_EQ(b.snapshot(), a.snapshot());
  EXPECT_EQ(b.find("ñandú/ü")->index(), 2u);
  ASSERT_TRUE(b.restore("").ok());
  EXPECT_EQ(b.count(), 0u);
  EXPECT_FALSE(b.restore("\xff\xff\xff").ok());
}

TEST(Placement, TheProposerFirstThenADeterministicChoiceCappedAtTheCluster) {
  const std::vector<apps::Member> members = {{"n1", "h:1"}, {"n2", "h:2"}, {"n3", "h:3"}, {"n4", "h:4"}, {"n5", ""}};
  const std::string hash = sha256_hex("blob");
  auto ids = [](const std::vector<apps::Member>& v) {
    std::vector<std::string> out;
    for (const auto& m : v) out.push_back(m.id);
    return out;
  };
  auto three = choose_replicas("n2", members, hash, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].id, "n2");
  EXPECT_EQ(ids(choose_replicas("n2", members, hash, 3)), ids(three));
  for (const auto& m : three) EXPECT_NE(m.id, "n5");  // no client address known
  EXPECT_EQ(choose_replicas("n1", members, hash, 10).size(), 4u);
  EXPECT_EQ(choose_replicas("n1", {{"n1", "h:1"}}, hash, 3).size(), 1u);
}

}  // namespace
}  // namespace minga::files
