#pragma once

#include <memory>
#include <vector>

#include "apps/api/app.h"

namespace minga::cluster {

std::vector<std::unique_ptr<apps::App>> make_apps();

}  // namespace minga::cluster
