// The apps a node serves. Adding an app means adding it here (and linking
// its library in src/cluster/CMakeLists.txt).
#include "cluster/apps_list.h"

#include "apps/calc/calc_app.h"
#include "apps/files/files_app.h"
#include "apps/lottery/lottery_app.h"
#include "apps/ml/ml_app.h"
#include "apps/records/records_app.h"
#include "apps/text/text_app.h"

namespace minga::cluster {

std::vector<std::unique_ptr<apps::App>> make_apps() {
  std::vector<std::unique_ptr<apps::App>> list;
  list.push_back(std::make_unique<text::TextApp>());
  list.push_back(std::make_unique<calc::CalcApp>());
  list.push_back(std::make_unique<lottery::LotteryApp>());
  list.push_back(std::make_unique<records::RecordsApp>());
  list.push_back(std::make_unique<files::FilesApp>());
  list.push_back(std::make_unique<ml::MlApp>());
  return list;
}

}  // namespace minga::cluster
