#include "rsm/resp/reply_reader.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

namespace rsm::resp {

reply from_hiredis(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return reply::make_string(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return reply::make_status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return reply::make_error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return reply::make_integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<reply> elements;
      elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) elements.push_back(from_hiredis(r->element[i]));
      return reply::make_array(std::move(elements));
    }
    default:
      return reply::make_nil();
  }
}

void reply_reader::deleter::operator()(redisReader* r) const {
  redisReaderFree(r);
}

reply_reader::reply_reader(std::size_t max_buffered)
    : reader_(redisReaderCreate()), max_buffered_(max_buffered) {
  if (!reader_) throw std::bad_alloc();
}

reply_reader::~reply_reader() = default;
reply_reader::reply_reader(reply_reader&&) noexcept = default;
reply_reader& reply_reader::operator=(reply_reader&&) noexcept = default;

std::size_t reply_reader::buffered() const {
  return reader_->len - reader_->pos;
}

result<void> reply_reader::feed(const char* data, std::size_t size) {
  if (buffered() + size > max_buffered_) {
    return error(errc::buffer_full,
                 "reply larger than " + std::to_string(max_buffered_) + " bytes");
  }
  if (redisReaderFeed(reader_.get(), data, size) != REDIS_OK) {
    return error(errc::protocol_error, reader_->errstr);
  }
  return {};
}

result<std::optional<reply>> reply_reader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    return error(errc::protocol_error, reader_->errstr);
  }
  if (raw == nullptr) return std::optional<reply>{};
  auto* r = static_cast<redisReply*>(raw);
  std::optional<reply> out = from_hiredis(r);
  freeReplyObject(r);
  return out;
}

}  // namespace rsm::resp
