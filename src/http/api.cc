#include "http/api.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "base/json.h"
#include "proto/minga.pb.h"

namespace minga::http {

namespace gp = google::protobuf;

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Path parameters of `pattern` in `segments`, or nullopt when it does not match.
std::optional<std::vector<std::pair<std::string, std::string>>> match(const std::vector<std::string_view>& pattern,
                                                                      const std::vector<std::string_view>& segments) {
  if (pattern.size() != segments.size()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> params;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto p = pattern[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      params.emplace_back(std::string(p.substr(1, p.size() - 2)), percent_decode(segments[i], false));
    } else if (p != segments[i]) {
      return std::nullopt;
    }
  }
  return params;
}

// The query's parameters, percent-decoded, after `params`.
void append_query(std::string_view query, Params& params) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      params.emplace_back(percent_decode(pair.substr(0, eq), true),
                          eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

template <typename T>
bool parse_integer(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Sets the scalar field `name` of `message` from the text of a path or query
// parameter.
Status set_param(gp::Message& message, const std::string& name, const std::string& value) {
  const gp::Descriptor* d = message.GetDescriptor();
  const gp::FieldDescriptor* f = d->FindFieldByName(name);
  if (f == nullptr) f = d->FindFieldByCamelcaseName(name);  // as the JSON names
  if (f == nullptr || f->is_repeated() || f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
    return Error{Errc::invalid_argument, "unknown parameter '" + name + "'"};
  }
  const gp::Reflection* r = message.GetReflection();
  auto bad = [&](std::string_view expected) {
    return Error{Errc::invalid_argument,
                 "parameter '" + name + "': expected " + std::string(expected) + ", got '" + value + "'"};
  };
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING:
      r->SetString(&message, f, value);
      return ok_status();
    case gp::FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "1") {
        r->SetBool(&message, f, true);
      } else if (value == "false" || value == "0") {
        r->SetBool(&message, f, false);
      } else {
        return bad("true or false");
      }
      return ok_status();
    case gp::FieldDescriptor::CPPTYPE_INT32: {
      std::int32_t v = 0;
      if (!parse_integer(value, v)) return bad("a 32-bit integer");
      r->SetInt32(&message, f, v);
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_INT64: {
      std::int64_t v = 0;
      if (!parse_integer(value, v)) return bad("a 64-bit integer");
      r->SetInt64(&message, f, v);
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_UINT32: {
      std::uint32_t v = 0;
      if (!parse_integer(value, v)) return bad("an unsigned 32-bit integer");
      r->SetUInt32(&message, f, v);
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_UINT64: {
      std::uint64_t v = 0;
      if (!parse_integer(value, v)) return bad("an unsigned 64-bit integer");
      r->SetUInt64(&message, f, v);
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_DOUBLE:
    case gp::FieldDescriptor::CPPTYPE_FLOAT: {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size()) return bad("a number");
      if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_DOUBLE) {
        r->SetDouble(&message, f, v);
      } else {
        r->SetFloat(&message, f, static_cast<float>(v));
      }
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_ENUM: {
      const gp::EnumValueDescriptor* e = f->enum_type()->FindValueByName(value);
      if (e == nullptr) return bad("one of the names of " + f->enum_type()->name());
      r->SetEnum(&message, f, e);
      return ok_status();
    }
    case gp::FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Error{Errc::invalid_argument, "unknown parameter '" + name + "'"};
}

// Answers one API request: the reply frame becomes JSON, once.
class HttpResponder final : public wire::Responder {
 public:
  HttpResponder(std::uint32_t response_type, const gp::Message* response, std::function<void(Response)> done)
      : response_type_(response_type), response_(response), done_(std::move(done)) {}

  ~HttpResponder() override {
    if (!answered_.exchange(true)) {
      done_(api_error(500, "INTERNAL", "the request was dropped without an answer"));
    }
  }

  void reply(std::uint32_t type, std::string body) override {
    if (answered_.exchange(true)) return;
    done_(to_http(type, body));
  }

 private:
  Response to_http(std::uint32_t type, const std::string& body) const {
    if (type == pb::ERROR) {
      pb::ErrorResponse e;
      if (!e.ParseFromString(body)) return api_error(500, "INTERNAL", "cannot decode the error answer");
      return error_answer(Error{static_cast<Errc>(e.code()), e.message()});
    }
    if (type != response_type_) {
      return api_error(500, "INTERNAL", "unexpected answer of type " + std::to_string(type));
    }
    std::unique_ptr<gp::Message> m(response_->New());
    if (!m->ParseFromString(body)) return api_error(500, "INTERNAL", "cannot decode the answer");
    return json_answer(*m);
  }

  std::uint32_t response_type_;
  const gp::Message* response_;
  std::function<void(Response)> done_;
  std::atomic<bool> answered_{false};
};

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Runs over the longer input whatever the contents, so the time tells
  // nothing about where the first difference is.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return v4[0] == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::optional<Response> write_refusal(const ApiOptions& options, std::string_view method,
                                      std::string_view authorization) {
  if (method == "GET" || method == "HEAD") return std::nullopt;
  if (!options.token.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.substr(0, kBearer.size()) == kBearer &&
        constant_time_equal(authorization.substr(kBearer.size()), options.token)) {
      return std::nullopt;
    }
    Response r = api_error(401, "UNAUTHENTICATED",
                           authorization.empty() ? "this write needs the header Authorization: Bearer <token>"
                                                 : "the API token does not match");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (options.loopback) return std::nullopt;
  return api_error(403, "FORBIDDEN",
                   "writes over HTTP need an API token (--api-token-file) when the monitor is not bound to loopback");
}

Response api_error(int status, std::string_view code, std::string_view message) {
  json::Object inner;
  inner.add("code", code);
  inner.add("message", message);
  json::Object outer;
  outer.add_raw("error", inner.str());
  return Response{status, "application/json", outer.str() + "\n", {}};
}

Response error_answer(const Error& e) {
  int status = http_status(e.code);
  // A follower that knows the leader names it ("... the leader is n2 at
  // HOST:PORT"): asking again here will not help, so no Retry-After.
  if (e.code == Errc::not_leader && e.message.find("the leader is ") != std::string::npos) status = 409;
  Response r = api_error(status, pb::ErrorCode_Name(static_cast<pb::ErrorCode>(e.code)), e.message);
  if (r.status == 503 || r.status == 429) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response json_answer(const gp::Message& message) {
  gp::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto st = gp::util::MessageToJsonString(message, &json, options); !st.ok()) {
    return api_error(500, "INTERNAL", "cannot write the answer as JSON: " + std::string(st.message()));
  }
  return Response{200, "application/json", json + "\n", {}};
}

int http_status(Errc code) {
  switch (code) {
    case Errc::bad_frame:
    case Errc::invalid_argument:
    case Errc::division_by_zero:
    case Errc::unsupported_version:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::not_yet:
      return 409;
    case Errc::frame_too_large:
      return 413;
    case Errc::busy:
      return 429;
    case Errc::unknown_type:
      return 501;
    case Errc::no_worker:
    case Errc::shutting_down:
    case Errc::unavailable:
    case Errc::not_leader:
      return 503;
    case Errc::timeout:
      return 504;
    case Errc::internal:
      return 500;
  }
  return 500;
}

Api::Api(ApiOptions options, Dispatch dispatch) : options_(std::move(options)), dispatch_(std::move(dispatch)) {}

Status Api::add(wire::ApiRoute route) {
  if (route.path.empty() || route.path.front() != '/') {
    return Error{Errc::invalid_argument, "API route path must start with '/': " + route.path};
  }
  if (route.request == nullptr || route.response == nullptr) {
    return Error{Errc::invalid_argument, "API route " + route.method + " " + route.path + " lacks a prototype"};
  }
  if (taken(route.method, route.path)) {
    return Error{Errc::invalid_argument, "API route " + route.method + " " + route.path + " is already taken"};
  }
  if (!route.fixed_json.empty()) {
    std::unique_ptr<gp::Message> m(route.request->New());
    if (auto st = gp::util::JsonStringToMessage(route.fixed_json, m.get()); !st.ok()) {
      return Error{Errc::invalid_argument,
                   "API route " + route.method + " " + route.path + ": bad fixed fields: " + std::string(st.message())};
    }
  }
  routes_.push_back(std::move(route));
  return ok_status();
}

struct Api::Match {
  const wire::ApiRoute* route = nullptr;
  const StreamRoute* stream = nullptr;
  Params params;
  std::vector<std::string> allowed;
};

bool Api::taken(std::string_view method, std::string_view path) const {
  const auto segments = split_path(path);
  for (const auto& r : routes_) {
    if (r.method == method && split_path(r.path) == segments) return true;
  }
  for (const auto& r : streams_) {
    if (r.method == method && split_path(r.path) == segments) return true;
  }
  return false;
}

Api::Match Api::find(std::string_view method_in, std::string_view full_path) const {
  std::string_view path = full_path;
  path.remove_prefix(std::min(path.size(), kApiPrefix.size()));
  const auto segments = split_path(path);
  const std::string_view method = method_in == "HEAD" ? std::string_view("GET") : method_in;
  Match out;
  std::size_t best = SIZE_MAX;
  auto consider = [&](const std::string& route_method, const std::string& route_path, auto set) {
    auto m = match(split_path(route_path), segments);
    if (!m) return;
    if (std::find(out.allowed.begin(), out.allowed.end(), route_method) == out.allowed.end()) {
      out.allowed.push_back(route_method);
    }
    if (route_method == method && m->size() < best) {
      best = m->size();
      out.route = nullptr;
      out.stream = nullptr;
      set();
      out.params = std::move(*m);
    }
  };
  for (const auto& r : routes_) consider(r.method, r.path, [&] { out.route = &r; });
  for (const auto& r : streams_) consider(r.method, r.path, [&] { out.stream = &r; });
  return out;
}

Status Api::add_stream(StreamRoute route) {
  if (route.path.empty() || route.path.front() != '/') {
    return Error{Errc::invalid_argument, "API route path must start with '/': " + route.path};
  }
  if (!route.serve)
    return Error{Errc::invalid_argument, "API route " + route.method + " " + route.path + " lacks a handler"};
  if (taken(route.method, route.path)) {
    return Error{Errc::invalid_argument, "API route " + route.method + " " + route.path + " is already taken"};
  }
  streams_.push_back(std::move(route));
  return ok_status();
}

std::function<void(ExchangePtr)> Api::stream(const Request& head) const {
  Match m = find(head.method, head.path);
  if (m.stream == nullptr) return {};
  Params params = std::move(m.params);
  append_query(head.query, params);
  return [this, route = m.stream, head, params = std::move(params)](ExchangePtr exchange) mutable {
    if (auto refused = write_refusal(options_, head.method, head.authorization)) {
      exchange->answer(std::move(*refused));
      return;
    }
    route->serve(head, std::move(params), std::move(exchange), dispatch_);
  };
}

void Api::handle(const Request& request, std::function<void(Response)> done) const {
  Match found = find(request.method, request.path);
  const wire::ApiRoute* route = found.route;
  Params params = std::move(found.params);
  if (route == nullptr && found.stream != nullptr) {
    done(api_error(500, "INTERNAL", "the route " + request.method + " " + request.path + " streams its bytes"));
    return;
  }
  if (route == nullptr) {
    if (found.allowed.empty()) {
      done(api_error(404, "NOT_FOUND", "no API route " + request.path));
      return;
    }
    std::string allow;
    for (const auto& a : found.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += a;
      if (a == "GET") allow += ", HEAD";
    }
    Response r = api_error(405, "METHOD_NOT_ALLOWED", request.method + " is not allowed on " + request.path);
    r.headers.emplace_back("Allow", allow);
    done(std::move(r));
    return;
  }
  if (auto refused = write_refusal(options_, request.method, request.authorization)) {
    done(std::move(*refused));
    return;
  }

  std::unique_ptr<gp::Message> message(route->request->New());
  if (route->has_body() && !request.body.empty()) {
    gp::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (auto st = gp::util::JsonStringToMessage(request.body, message.get(), options); !st.ok()) {
      done(api_error(
          400, "INVALID_ARGUMENT",
          "the body is not a JSON " + route->request->GetDescriptor()->name() + ": " + std::string(st.message())));
      return;
    }
  }
  append_query(request.query, params);
  for (const auto& [name, value] : params) {
    if (auto st = set_param(*message, name, value); !st.ok()) {
      done(api_error(400, "INVALID_ARGUMENT", st.error().message));
      return;
    }
  }
  // Last, so that neither body nor parameters can change what the route means.
  if (!route->fixed_json.empty()) {
    std::unique_ptr<gp::Message> fixed(route->request->New());
    (void)gp::util::JsonStringToMessage(route->fixed_json, fixed.get());  // checked by add()
    message->MergeFrom(*fixed);
  }
  auto responder = std::make_shared<HttpResponder>(route->response_type, route->response, std::move(done));
  dispatch_(route->request_type, message->SerializeAsString(), std::move(responder));
}

}  // namespace minga::http
