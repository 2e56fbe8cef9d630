#include "test_service.hpp"

#include <chrono>

#include "core/loop.hpp"

namespace trident::interop {
namespace {

using namespace ::grpc::testing;

// The interop client's metadata echo: initial and trailing.
void echo_metadata(rpc::Context& ctx) {
  if (auto v = ctx.client_metadata("x-grpc-test-echo-initial")) {
    ctx.add_initial_metadata("x-grpc-test-echo-initial", std::string(*v));
  }
  if (auto v = ctx.client_metadata("x-grpc-test-echo-trailing-bin")) {
    ctx.add_trailing_metadata("x-grpc-test-echo-trailing-bin", std::string(*v));
  }
}

void check_status(const EchoStatus& s) {
  if (s.code() != 0) {
    throw rpc::Error(static_cast<rpc::StatusCode>(s.code()), s.message());
  }
}

Payload make_payload(int size) {
  Payload p;
  p.set_type(COMPRESSABLE);
  p.set_body(std::string(static_cast<std::size_t>(size < 0 ? 0 : size), '\0'));
  return p;
}

Task<void> respond(rpc::Context& ctx, const StreamingOutputCallRequest& req,
                   rpc::Writer<StreamingOutputCallResponse>& out) {
  check_status(req.response_status());
  for (const auto& p : req.response_parameters()) {
    if (p.interval_us() > 0) co_await sleep_for(std::chrono::microseconds(p.interval_us()));
    ctx.set_compress_responses(p.compressed().value());
    StreamingOutputCallResponse r;
    *r.mutable_payload() = make_payload(p.size());
    co_await out.write(r);
  }
}

// The client_compressed_* cases: a request that asks to be checked must have
// arrived the way it says.
void check_compressed(const rpc::Context& ctx, const BoolValue& expect) {
  if (expect.value() && !ctx.request_compressed()) {
    throw rpc::Error(rpc::StatusCode::invalid_argument, "expected a compressed request");
  }
}

}  // namespace

Task<Empty> TestService::EmptyCall(rpc::Context& ctx, const Empty&) {
  echo_metadata(ctx);
  co_return Empty{};
}

Task<SimpleResponse> TestService::UnaryCall(rpc::Context& ctx, const SimpleRequest& req) {
  echo_metadata(ctx);
  check_compressed(ctx, req.expect_compressed());
  check_status(req.response_status());
  ctx.set_compress_responses(req.response_compressed().value());
  SimpleResponse r;
  *r.mutable_payload() = make_payload(req.response_size());
  if (req.fill_username() && !ctx.peer().client_subject().empty()) {
    r.set_username(std::string(ctx.peer().client_subject()));
  }
  co_return r;
}

Task<SimpleResponse> TestService::CacheableUnaryCall(rpc::Context& ctx, const SimpleRequest& req) {
  return UnaryCall(ctx, req);
}

Task<void> TestService::StreamingOutputCall(rpc::Context& ctx,
                                            const StreamingOutputCallRequest& req,
                                            rpc::Writer<StreamingOutputCallResponse>& out) {
  echo_metadata(ctx);
  co_await respond(ctx, req, out);
}

Task<StreamingInputCallResponse> TestService::StreamingInputCall(
    rpc::Context& ctx, rpc::Reader<StreamingInputCallRequest>& in) {
  echo_metadata(ctx);
  std::int64_t total = 0;
  while (auto m = co_await in.read()) {
    check_compressed(ctx, m->expect_compressed());
    total += static_cast<std::int64_t>(m->payload().body().size());
  }
  StreamingInputCallResponse r;
  r.set_aggregated_payload_size(static_cast<std::int32_t>(total));
  co_return r;
}

Task<void> TestService::FullDuplexCall(rpc::Context& ctx,
                                       rpc::Reader<StreamingOutputCallRequest>& in,
                                       rpc::Writer<StreamingOutputCallResponse>& out) {
  echo_metadata(ctx);
  while (auto m = co_await in.read()) co_await respond(ctx, *m, out);
}

Task<void> TestService::HalfDuplexCall(rpc::Context& ctx,
                                       rpc::Reader<StreamingOutputCallRequest>& in,
                                       rpc::Writer<StreamingOutputCallResponse>& out) {
  echo_metadata(ctx);
  std::vector<StreamingOutputCallRequest> all;
  while (auto m = co_await in.read()) all.push_back(std::move(*m));
  for (const auto& m : all) co_await respond(ctx, m, out);
}

}  // namespace trident::interop
