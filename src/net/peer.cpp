#include "net/peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace trident::net {

std::string PeerInfo::address() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == 4) {
    ::inet_ntop(AF_INET, ip.data(), text, sizeof text);
  } else if (family == 6) {
    ::inet_ntop(AF_INET6, ip.data(), text, sizeof text);
  }
  return text;
}

void PeerInfo::set_address(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(ip.data(), &a->sin_addr, 4);
    family = 4;
    port = ntohs(a->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    std::memcpy(ip.data(), &a->sin6_addr, 16);
    family = 6;
    port = ntohs(a->sin6_port);
  }
}

}  // namespace trident::net
