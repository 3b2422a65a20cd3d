// The HTTP API layer (src/http/api.cc) on what a client sends: method, path,
// query, Authorization and JSON body, split from the input at NUL bytes;
// the fake router answers with the input's last part as the reply body.
// Every request must get exactly one answer with a JSON body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/api.h"
#include "proto/lottery.pb.h"
#include "proto/minga.pb.h"
#include "proto/raft.pb.h"
#include "proto/records.pb.h"

namespace {

using namespace minga;

http::Api& api() {
  static http::Api* a = [] {
    auto* x = new http::Api(http::ApiOptions{true, "0123456789abcdef"},
                            [](std::uint32_t, std::string body, wire::ResponderPtr r) {
                              // Answer with the request's own bytes under a few types.
                              const std::uint32_t type = body.empty()         ? minga::pb::ERROR
                                                         : (body[0] & 1) != 0 ? minga::pb::LOTTERY_RESPONSE
                                                                              : minga::pb::RECORDS_LIST_RESPONSE;
                              r->reply(type, std::move(body));
                            });
    auto add = [x](wire::ApiRoute r) {
      if (!x->add(std::move(r)).ok()) std::abort();
    };
    add({"GET", "/lottery/agencies/{agency}/winners", pb::WINNERS_REQUEST, &pb::WinnersRequest::default_instance(),
         pb::LOTTERY_RESPONSE, &pb::LotteryResponse::default_instance(), ""});
    add({"POST", "/lottery/agencies/{agency}/bets", pb::BET_BATCH_REQUEST, &pb::BetBatchRequest::default_instance(),
         pb::LOTTERY_RESPONSE, &pb::LotteryResponse::default_instance(), ""});
    add({"GET", "/records", pb::RECORDS_LIST_REQUEST, &pb::RecordsListRequest::default_instance(),
         pb::RECORDS_LIST_RESPONSE, &pb::RecordsListResponse::default_instance(), ""});
    add({"DELETE", "/cluster/members/{id}", pb::CLUSTER_CHANGE_REQUEST, &pb::ClusterChangeRequest::default_instance(),
         pb::CLUSTER_CHANGE_RESPONSE, &pb::ClusterChangeResponse::default_instance(), R"({"op":"REMOVE"})"});
    add({"POST", "/tasks", pb::TASK_REQUEST, &pb::TaskRequest::default_instance(), pb::TASK_RESPONSE,
         &pb::TaskResponse::default_instance(), ""});
    return x;
  }();
  return *a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  while (parts.size() < 4) {
    const auto nul = in.find('\0');
    parts.emplace_back(in.substr(0, nul));
    if (nul == std::string_view::npos) {
      in = {};
      break;
    }
    in.remove_prefix(nul + 1);
  }
  parts.resize(4);
  http::Request r;
  static const char* const kMethods[] = {"GET", "POST", "DELETE", "HEAD", "PUT"};
  r.method = kMethods[parts[0].empty() ? 0 : static_cast<unsigned char>(parts[0][0]) % 5];
  r.target = parts[1];
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.authorization = parts[2];
  r.body = parts[3] + std::string(in);
  int answers = 0;
  api().handle(r, [&answers](http::Response a) {
    ++answers;
    if (a.body.empty() || a.body.front() != '{' || a.status < 200 || a.status > 599) std::abort();
  });
  if (answers != 1) std::abort();
  return 0;
}
