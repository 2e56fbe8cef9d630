#include "http/session_factory.hpp"

#include "http/h1/session.hpp"
#include "http/h2/native_session.hpp"
#include "http/h2/session.hpp"

namespace trident::http {

net::SessionFactory make_session_factory(ServiceContext& service) {
  return [&service](net::SessionIo& io, const PeerInfo& peer,
                    net::Protocol p) -> std::unique_ptr<net::Session> {
    if (p == net::Protocol::http2) {
      if (service.h2.engine == H2Options::Engine::native) {
        return std::make_unique<h2::NativeSession>(service, io, peer);
      }
      return std::make_unique<h2::Session>(service, io, peer);
    }
    return std::make_unique<h1::Session>(service, io, peer);
  };
}

}  // namespace trident::http
