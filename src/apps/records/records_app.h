// Records: the cluster's first replicated app. A record is one line of
// UTF-8 text; `minga records add` appends one through the replicated log and
// every node's monitor shows the same list, in commit order, at /records.
#pragma once

#include "apps/api/app.h"
#include "apps/records/records_state.h"

namespace minga::records {

class RecordsApp final : public apps::App {
 public:
  std::string_view name() const override { return "records"; }
  Status start(apps::NodeServices& node) override;

 private:
  RecordsState state_;
  std::size_t max_bytes_ = 4096;
};

}  // namespace minga::records
