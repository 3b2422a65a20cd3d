#include "http/assets.h"

#include <string>

namespace minga::http {

namespace {

// Whether the If-None-Match value lists `etag` (or is "*"); weak
// validators (W/"...") compare by their opaque part.
bool matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view item = if_none_match.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::span<const Asset> dashboard_assets() {
  static const std::vector<Asset> assets = [] {
    std::vector<Asset> out;
    for (const auto& f : dashboard_files()) out.push_back(Asset{f.path, mime_type(f.path), f.body, f.etag});
    return out;
  }();
  return assets;
}

Response asset_response(const Asset& asset, const Request& request) {
  Response r;
  r.content_type = std::string(asset.content_type);
  r.headers.emplace_back("ETag", std::string(asset.etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (!request.if_none_match.empty() && matches(request.if_none_match, asset.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.body = std::string(asset.body);
  return r;
}

std::string_view mime_type(std::string_view file_name) {
  struct Entry {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".woff2", "font/woff2"},
  };
  for (const auto& e : kTypes) {
    if (file_name.size() >= e.ext.size() && file_name.substr(file_name.size() - e.ext.size()) == e.ext) return e.type;
  }
  return "application/octet-stream";
}

}  // namespace minga::http
