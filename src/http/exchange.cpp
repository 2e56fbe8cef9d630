#include "http/exchange.hpp"

#include <string>

#include "core/log.hpp"

namespace trident::http {

void Exchange::start(const Handler& handler) {
  Task<void> task;
  try {
    task = handler(request, response);
  } catch (...) {
    on_finished(std::current_exception());
    return;
  }
  task_ = Spawned(std::move(task), [this](std::exception_ptr ep) { on_finished(ep); });
}

void Exchange::on_finished(std::exception_ptr ep) {
  done_ = true;
  if (ep && !response.aborted()) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const StreamAborted&) {
      what.clear();
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    if (!what.empty()) {
      log::error("handler for " + request.method + " " + request.target + " failed: " + what);
    }
    if (!response.started()) {
      response.headers.clear();
      response.send_status(what.empty() ? 400 : 500);
    } else if (!response.finished()) {
      response.abort();
      sink_->abort_stream();
    }
  } else if (!response.finished() && !response.aborted()) {
    response.finish();
  }
  sink_->on_handler_done();
}

}  // namespace trident::http
