// The national lottery app (requirement R5): agencies send bets in batches,
// each batch durable before its answer; when every expected agency has said
// it finished, the draw happens once; each agency then gets its winners.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "apps/api/app.h"
#include "apps/lottery/command_log.h"
#include "apps/lottery/state.h"

namespace minga::lottery {

constexpr std::uint32_t kDefaultAgencies = 5;
constexpr std::uint32_t kDefaultWinningNumber = 7574;

struct LotteryConfig {
  std::uint32_t expected_agencies = kDefaultAgencies;
  std::uint32_t winning_number = kDefaultWinningNumber;
};

// `lottery.agencies` / MINGA_LOTTERY_AGENCIES and `lottery.winning_number` /
// MINGA_LOTTERY_WINNING_NUMBER, checked.
Result<LotteryConfig> load_config(const apps::Settings& settings);

// The lottery's status as one JSON object: draw, agencies finished, bets and
// a row per agency. Served in /status and printed by `minga lottery status`.
std::string status_json(const pb::LotteryStatusResponse& status);

class LotteryApp final : public apps::App {
 public:
  LotteryApp();
  ~LotteryApp() override;
  std::string_view name() const override { return "lottery"; }
  Status start(apps::NodeServices& node) override;
  void stop() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minga::lottery
