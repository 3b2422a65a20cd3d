#include "http/files_api.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include <openssl/evp.h>

#include "proto/files.pb.h"
#include "proto/minga.pb.h"

namespace minga::http {
namespace {

// Hands a frame's answer to a callback, once; a request dropped without an
// answer is an internal error.
class CallResponder final : public wire::Responder {
 public:
  explicit CallResponder(std::function<void(std::uint32_t, std::string)> then) : then_(std::move(then)) {}
  ~CallResponder() override {
    if (answered_.exchange(true)) return;
    pb::ErrorResponse e;
    e.set_code(static_cast<pb::ErrorCode>(Errc::internal));
    e.set_message("the request was dropped without an answer");
    then_(pb::ERROR, e.SerializeAsString());
  }
  void reply(std::uint32_t type, std::string body) override {
    if (answered_.exchange(true)) return;
    then_(type, std::move(body));
  }

 private:
  std::function<void(std::uint32_t, std::string)> then_;
  std::atomic<bool> answered_{false};
};

// Sends `request` through the router as a `type` frame; `then` gets the
// answer (of `answer_type`) or the error it carries.
template <class Answer>
void call(const Dispatch& dispatch, std::uint32_t type, const google::protobuf::MessageLite& request,
          std::uint32_t answer_type, std::function<void(Result<Answer>)> then) {
  dispatch(type, request.SerializeAsString(),
           std::make_shared<CallResponder>([answer_type, then = std::move(then)](std::uint32_t t, std::string body) {
             if (t == pb::ERROR) {
               pb::ErrorResponse e;
               if (!e.ParseFromString(body)) {
                 then(Error{Errc::internal, "cannot decode the error answer"});
               } else {
                 then(Error{static_cast<Errc>(e.code()), e.message()});
               }
               return;
             }
             Answer a;
             if (t != answer_type || !a.ParseFromString(body)) {
               then(Error{Errc::internal, "unexpected answer of type " + std::to_string(t)});
               return;
             }
             then(std::move(a));
           }));
}

class Sha256 {
 public:
  Sha256() : md_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(md_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(md_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data) { EVP_DigestUpdate(md_, data.data(), data.size()); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_, out, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (unsigned int i = 0; i < len; ++i) {
      s += kHex[out[i] >> 4];
      s += kHex[out[i] & 15];
    }
    return s;
  }

 private:
  EVP_MD_CTX* md_;
};

Response too_large(const Error& e) { return api_error(413, "PAYLOAD_TOO_LARGE", e.message); }

// The route's parameters: the path's `name` and the query names in `allowed`.
Result<std::pair<std::string, bool>> name_and_stale(const Params& params, bool allow_stale) {
  std::string name;
  bool stale = false;
  for (const auto& [key, value] : params) {
    if (key == "name") {
      name = value;
    } else if (allow_stale && key == "stale") {
      if (value == "true" || value == "1") {
        stale = true;
      } else if (value != "false" && value != "0") {
        return Error{Errc::invalid_argument, "parameter 'stale': expected true or false, got '" + value + "'"};
      }
    } else {
      return Error{Errc::invalid_argument, "unknown parameter '" + key + "'"};
    }
  }
  return std::make_pair(std::move(name), stale);
}

// `Content-Disposition: attachment` with the name's last segment, in the
// RFC 5987 form that carries UTF-8.
std::string disposition(const std::string& name) {
  const auto slash = name.rfind('/');
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "attachment; filename*=UTF-8''";
  for (unsigned char c : base) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Response file_head(const pb::FileEntry& e) {
  Response head{200, "application/octet-stream", {}, {}};
  head.headers.emplace_back("ETag", "\"" + e.sha256() + "\"");
  head.headers.emplace_back("X-Checksum-Sha256", e.sha256());
  head.headers.emplace_back("Content-Disposition", disposition(e.name()));
  head.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return head;
}

// PUT: the name checked first (a stale stat runs the files app's own name
// rules without waiting for the log), the upload opened with the declared
// size (so that a body above files.max_size is refused before it is read),
// then one upload frame per piece of the body, then the put.
class Put : public std::enable_shared_from_this<Put> {
 public:
  Put(ExchangePtr exchange, Dispatch dispatch, std::string name)
      : exchange_(std::move(exchange)), dispatch_(std::move(dispatch)), name_(std::move(name)) {}

  void start() {
    pb::FilesStatRequest stat;
    stat.set_name(name_);
    stat.set_stale(true);
    call<pb::FilesStatResponse>(dispatch_, pb::FILES_STAT_REQUEST, stat, pb::FILES_STAT_RESPONSE,
                                [self = shared_from_this()](Result<pb::FilesStatResponse> r) {
                                  if (!r.ok() && r.error().code != Errc::not_found) {
                                    self->exchange_->answer(error_answer(r.error()));
                                    return;
                                  }
                                  self->open();
                                });
  }

 private:
  // An upload frame fails with invalid_argument only for a file above
  // files.max_size: the HTTP layer sends pieces in order and of a fit size.
  void upload_failed(const Error& e) {
    exchange_->answer(e.code == Errc::invalid_argument ? too_large(e) : error_answer(e));
  }

  void open() {
    pb::FilesUploadRequest up;
    up.set_size(exchange_->body_size().value_or(0));
    call<pb::FilesUploadResponse>(dispatch_, pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE,
                                  [self = shared_from_this()](Result<pb::FilesUploadResponse> r) {
                                    if (!r.ok()) {
                                      self->upload_failed(r.error());
                                      return;
                                    }
                                    self->upload_id_ = r->upload_id();
                                    self->next();
                                  });
  }

  void next() {
    exchange_->read(kFileChunkBytes, [self = shared_from_this()](Result<std::string> data) {
      if (!data.ok()) return;  // the client is gone; the app drops the idle upload
      if (data->empty()) {
        self->finish();
      } else {
        self->send(std::move(data.value()));
      }
    });
  }

  void send(std::string data) {
    sha_.update(data);
    pb::FilesUploadRequest up;
    up.set_upload_id(upload_id_);
    up.set_offset(size_);
    size_ += data.size();
    up.set_data(std::move(data));
    call<pb::FilesUploadResponse>(dispatch_, pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE,
                                  [self = shared_from_this()](Result<pb::FilesUploadResponse> r) {
                                    if (!r.ok()) {
                                      self->upload_failed(r.error());
                                      return;
                                    }
                                    self->next();
                                  });
  }

  void finish() {
    pb::FilesPutRequest put;
    put.set_upload_id(upload_id_);
    put.set_name(name_);
    put.set_sha256(sha_.hex());
    put.set_size(size_);
    call<pb::FilesPutResponse>(dispatch_, pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE,
                               [self = shared_from_this()](Result<pb::FilesPutResponse> r) {
                                 self->exchange_->answer(r.ok() ? json_answer(r.value()) : error_answer(r.error()));
                               });
  }

  ExchangePtr exchange_;
  Dispatch dispatch_;
  std::string name_;
  std::uint64_t upload_id_ = 0;
  std::uint64_t size_ = 0;
  Sha256 sha_;
};

// GET: the first piece and the entry from a get (which checks the node's
// copy, fetching it from a replica if need be), then the rest by hash, so
// a concurrent replacement of the name never mixes two contents. HEAD: the
// entry from a stat, no bytes.
class Get : public std::enable_shared_from_this<Get> {
 public:
  Get(ExchangePtr exchange, Dispatch dispatch, std::string name, bool stale, bool head_only, std::string if_none_match)
      : exchange_(std::move(exchange)),
        dispatch_(std::move(dispatch)),
        name_(std::move(name)),
        stale_(stale),
        head_only_(head_only),
        if_none_match_(std::move(if_none_match)) {}

  void start() {
    if (!if_none_match_.empty() && !head_only_) {
      // A client that holds some content asks whether it is still the
      // file's: the entry answers without reading the blob.
      pb::FilesStatRequest stat;
      stat.set_name(name_);
      stat.set_stale(stale_);
      call<pb::FilesStatResponse>(dispatch_, pb::FILES_STAT_REQUEST, stat, pb::FILES_STAT_RESPONSE,
                                  [self = shared_from_this()](Result<pb::FilesStatResponse> r) {
                                    if (r.ok() && self->if_none_match_ == "\"" + r->file().sha256() + "\"") {
                                      Response same{304, "application/octet-stream", {}, {}};
                                      same.headers.emplace_back("ETag", self->if_none_match_);
                                      self->exchange_->answer(std::move(same));
                                      return;
                                    }
                                    self->if_none_match_.clear();
                                    self->start();
                                  });
      return;
    }
    if (head_only_) {
      pb::FilesStatRequest stat;
      stat.set_name(name_);
      stat.set_stale(stale_);
      call<pb::FilesStatResponse>(dispatch_, pb::FILES_STAT_REQUEST, stat, pb::FILES_STAT_RESPONSE,
                                  [self = shared_from_this()](Result<pb::FilesStatResponse> r) {
                                    if (!r.ok()) {
                                      self->exchange_->answer(error_answer(r.error()));
                                      return;
                                    }
                                    auto& ex = self->exchange_;
                                    ex->begin(file_head(r->file()), r->file().size(), [ex](Status) { ex->end(); });
                                  });
      return;
    }
    pb::FilesGetRequest get;
    get.set_name(name_);
    get.set_stale(stale_);
    get.set_length(kFileChunkBytes);
    call<pb::FilesGetResponse>(dispatch_, pb::FILES_GET_REQUEST, get, pb::FILES_GET_RESPONSE,
                               [self = shared_from_this()](Result<pb::FilesGetResponse> r) {
                                 if (!r.ok()) {
                                   self->exchange_->answer(error_answer(r.error()));
                                   return;
                                 }
                                 self->entry_ = r->file();
                                 std::string data = std::move(*r->mutable_data());
                                 self->exchange_->begin(file_head(self->entry_), self->entry_.size(),
                                                        [self, data = std::move(data)](Status st) mutable {
                                                          if (!st.ok()) return;
                                                          self->write(std::move(data));
                                                        });
                               });
  }

 private:
  void write(std::string data) {
    if (data.empty() && offset_ < entry_.size()) {
      exchange_->end();  // the blob is shorter than its entry: cut the answer
      return;
    }
    offset_ += data.size();
    exchange_->write(std::move(data), [self = shared_from_this()](Status st) {
      if (st.ok()) self->more();
    });
  }

  void more() {
    if (offset_ >= entry_.size()) {
      exchange_->end();
      return;
    }
    pb::FilesBlobReadRequest read;
    read.set_sha256(entry_.sha256());
    read.set_offset(offset_);
    read.set_length(kFileChunkBytes);
    call<pb::FilesBlobReadResponse>(dispatch_, pb::FILES_BLOB_READ_REQUEST, read, pb::FILES_BLOB_READ_RESPONSE,
                                    [self = shared_from_this()](Result<pb::FilesBlobReadResponse> r) {
                                      if (!r.ok()) {
                                        self->exchange_->end();  // cut: the client sees a short body
                                        return;
                                      }
                                      self->write(std::move(*r->mutable_data()));
                                    });
  }

  ExchangePtr exchange_;
  Dispatch dispatch_;
  std::string name_;
  bool stale_;
  bool head_only_;
  std::string if_none_match_;
  pb::FileEntry entry_;
  std::uint64_t offset_ = 0;
};

}  // namespace

Status add_file_routes(Api& api) {
  // `{name}` is one path segment, percent-decoded: a name's '/' goes as
  // %2F. `/files/stat` is the stat route; a file named `stat` is
  // `/files/%73tat`.
  if (auto st = api.add_stream(
          StreamRoute{"PUT", "/files/{name}",
                      [](const Request&, Params params, ExchangePtr exchange, const Dispatch& dispatch) {
                        auto p = name_and_stale(params, false);
                        if (!p.ok()) {
                          exchange->answer(error_answer(p.error()));
                          return;
                        }
                        std::make_shared<Put>(std::move(exchange), dispatch, std::move(p->first))->start();
                      }});
      !st.ok()) {
    return st;
  }
  return api.add_stream(StreamRoute{
      "GET", "/files/{name}", [](const Request& head, Params params, ExchangePtr exchange, const Dispatch& dispatch) {
        auto p = name_and_stale(params, true);
        if (!p.ok()) {
          exchange->answer(error_answer(p.error()));
          return;
        }
        std::make_shared<Get>(std::move(exchange), dispatch, std::move(p->first), p->second, head.method == "HEAD",
                              head.if_none_match)
            ->start();
      }});
}

}  // namespace minga::http
