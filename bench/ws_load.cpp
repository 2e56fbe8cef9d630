// ws_load: a single-threaded epoll WebSocket load generator for bench/ws_bench.py.
//
// Our own code, C++20, libc only: a minimal HTTP/1.1 upgrade handshake (the
// Sec-WebSocket-Accept is checked with a built-in SHA-1), a masked frame writer
// (a fresh mask key per frame from xorshift64*) and an unmasked frame reader.
// Pings from the server are answered with pongs; a close frame, EOF or a reset
// is counted as an error.
//
// Modes (one JSON line of results on stdout, progress/errors on stderr):
//   echo    C connections, each keeps K messages of S bytes in flight on an echo
//           route; W seconds of warm-up, then D measured seconds. Reports msgs/s
//           and round-trip percentiles (per connection, first-in-first-out; with
//           K > 1 they include the queueing behind the other K-1 messages).
//   idle    opens N connections in batches (each sends one message and waits for
//           its echo unless --idle-echo 0), waits --settle seconds, then holds
//           them for --hold seconds or, with --hold-stdin, until stdin closes.
//           With --server-pid, reports the server's VmRSS/RssAnon growth per
//           connection (baseline taken after a warm-up with a few connections).
//   fanout  N subscribers plus one publisher on a broadcast route (every
//           connection, the publisher included, receives every message). The
//           publisher sends M messages with at most --window unacknowledged: a
//           message counts as delivered when all N+1 receivers have it. Reports
//           deliveries/s and, per message, the time until the last receiver had it.
//
// With --server-pid P the server's utime+stime (/proc/P/stat) is read at the
// start and end of the measured interval: server CPU time per message.
//
// Build: g++ -O2 -std=c++20 bench/ws_load.cpp -o ws_load   (or the ws_load CMake target)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

// SHA-1 (FIPS 180-4), only for checking Sec-WebSocket-Accept.
void sha1(const uint8_t* data, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  auto rol = [](uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  std::vector<uint8_t> m(data, data + len);
  m.push_back(0x80);
  while (m.size() % 64 != 56) m.push_back(0);
  uint64_t bits = uint64_t(len) * 8;
  for (int i = 7; i >= 0; --i) m.push_back(uint8_t(bits >> (i * 8)));
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const uint8_t* p = &m[off + size_t(i) * 4];
      w[i] = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[i * 4 + j] = uint8_t(h[i] >> (24 - 8 * j));
}

std::string base64(const uint8_t* p, size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(p[i]) << 16;
    if (i + 1 < n) v |= uint32_t(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    out += i + 2 < n ? tbl[v & 63] : '=';
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (uint8_t(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}

// utime+stime of a process in seconds, or -1.
double proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char buf[2048];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  // after ") ": field 3 (state) ... utime is field 14, stime 15.
  p += 2;
  unsigned long long ut = 0, st = 0;
  int field = 3;
  char* save = nullptr;
  for (char* tok = strtok_r(p, " ", &save); tok; tok = strtok_r(nullptr, " ", &save), ++field) {
    if (field == 14) ut = strtoull(tok, nullptr, 10);
    if (field == 15) {
      st = strtoull(tok, nullptr, 10);
      break;
    }
  }
  return double(ut + st) / double(sysconf(_SC_CLK_TCK));
}

// VmRSS and RssAnon of a process in bytes (-1 if unknown).
void proc_rss(int pid, long long& rss, long long& anon) {
  rss = anon = -1;
  if (pid <= 0) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = fopen(path, "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    long long kb;
    if (sscanf(line, "VmRSS: %lld", &kb) == 1) rss = kb * 1024;
    if (sscanf(line, "RssAnon: %lld", &kb) == 1) anon = kb * 1024;
  }
  fclose(f);
}

double self_cpu_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;  // default per mode
  int opcode = 2;    // 1 text, 2 binary
  int connections = 100;
  int in_flight = 16;
  size_t size = 32;
  double duration = 10;
  double warmup = 2;
  int batch = 500;
  double connect_timeout = 30;
  double settle = 2;
  double hold = 0;
  bool hold_stdin = false;
  double max_hold = 3600;
  bool idle_echo = true;
  int warm_conns = 50;
  int messages = 200;
  int warmup_msgs = 10;
  int window = 1;
  double publish_timeout = 10;
  int server_pid = 0;
  bool verify = true;
  bool nodelay = true;
  uint64_t seed = 0;
};

[[noreturn]] void usage(int rc) {
  fprintf(rc ? stderr : stdout,
          "usage: ws_load MODE --port P [options]\n"
          "modes: echo | idle | fanout\n"
          "common:  --host H (127.0.0.1)  --port P  --path PATH  --opcode text|binary (binary)\n"
          "         --size BYTES (32)  --batch N (500 handshakes at a time)\n"
          "         --connect-timeout S (30)  --server-pid PID  --no-verify  --no-nodelay\n"
          "         --seed N\n"
          "echo:    --connections C (100)  --in-flight K (16)  --duration S (10)\n"
          "         --warmup S (2)   [path /ws/echo]\n"
          "idle:    --connections N  --settle S (2)  --hold S (0)  --hold-stdin\n"
          "         --max-hold S (3600)  --idle-echo 0|1 (1)  --warm-conns N (50)\n"
          "         [path /ws/echo]\n"
          "fanout:  --connections N subscribers (+1 publisher)  --messages M (200)\n"
          "         --warmup-msgs N (10)  --window W (1)  --duration S (cap, 10)\n"
          "         --publish-timeout S (10)   [path /ws/broadcast?topic=bench]\n");
  exit(rc);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) usage(2);
  o.mode = argv[1];
  if (o.mode == "-h" || o.mode == "--help") usage(0);
  if (o.mode != "echo" && o.mode != "idle" && o.mode != "fanout") usage(2);
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i], v;
    auto eq = a.find('=');
    bool has_inline = false;
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline = true;
    }
    auto val = [&]() -> std::string {
      if (has_inline) return v;
      if (i + 1 >= argc) {
        fprintf(stderr, "ws_load: %s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    auto num = [&]() { return strtod(val().c_str(), nullptr); };
    if (a == "--host") {
      o.host = val();
    } else if (a == "--port") {
      o.port = int(num());
    } else if (a == "--path") {
      o.path = val();
    } else if (a == "--opcode") {
      std::string s = val();
      if (s == "text") {
        o.opcode = 1;
      } else if (s == "binary") {
        o.opcode = 2;
      } else {
        usage(2);
      }
    } else if (a == "--connections" || a == "-c") {
      o.connections = int(num());
    } else if (a == "--in-flight" || a == "-k") {
      o.in_flight = int(num());
    } else if (a == "--size" || a == "-s") {
      o.size = size_t(num());
    } else if (a == "--duration" || a == "-d") {
      o.duration = num();
    } else if (a == "--warmup" || a == "-w") {
      o.warmup = num();
    } else if (a == "--batch") {
      o.batch = int(num());
    } else if (a == "--connect-timeout") {
      o.connect_timeout = num();
    } else if (a == "--settle") {
      o.settle = num();
    } else if (a == "--hold") {
      o.hold = num();
    } else if (a == "--hold-stdin") {
      o.hold_stdin = true;
    } else if (a == "--max-hold") {
      o.max_hold = num();
    } else if (a == "--idle-echo") {
      o.idle_echo = num() != 0;
    } else if (a == "--warm-conns") {
      o.warm_conns = int(num());
    } else if (a == "--messages" || a == "-m") {
      o.messages = int(num());
    } else if (a == "--warmup-msgs") {
      o.warmup_msgs = int(num());
    } else if (a == "--window") {
      o.window = int(num());
    } else if (a == "--publish-timeout") {
      o.publish_timeout = num();
    } else if (a == "--server-pid") {
      o.server_pid = int(num());
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--no-nodelay") {
      o.nodelay = false;
    } else if (a == "--seed") {
      o.seed = strtoull(val().c_str(), nullptr, 10);
    } else if (a == "-h" || a == "--help") {
      usage(0);
    } else {
      fprintf(stderr, "ws_load: unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  if (o.port <= 0 || o.port > 65535) {
    fprintf(stderr, "ws_load: --port is required\n");
    exit(2);
  }
  if (o.path.empty()) o.path = o.mode == "fanout" ? "/ws/broadcast?topic=bench" : "/ws/echo";
  if (o.connections < 1 || o.in_flight < 1 || o.batch < 1 || o.window < 1 || o.messages < 1 ||
      o.warmup_msgs < 0 || o.warm_conns < 0 || o.duration <= 0 || o.warmup < 0) {
    fprintf(stderr, "ws_load: invalid option value\n");
    exit(2);
  }
  if (o.size > (size_t(1) << 30)) {
    fprintf(stderr, "ws_load: --size too large\n");
    exit(2);
  }
  return o;
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

enum class State : uint8_t { kConnecting, kHandshake, kOpen, kClosed };

struct Conn {
  int fd = -1;
  State state = State::kConnecting;
  bool want_out = false;         // EPOLLOUT registered
  bool in_message = false;       // inside a fragmented data message
  uint64_t msg_len = 0;          // bytes of the message being assembled
  uint64_t received = 0;         // complete data messages received
  uint32_t in_flight = 0;        // echo: messages sent, not yet echoed
  std::string key;               // Sec-WebSocket-Key (handshake only)
  std::vector<uint8_t> in;       // unparsed input (partial frame / handshake)
  std::vector<uint8_t> out;      // unsent output
  size_t out_off = 0;            // first unsent byte of out
  std::vector<int64_t> sent_at;  // echo: ring of send times (size K)
  uint32_t ring_head = 0;        // index of the oldest send time
};

struct Stats {
  uint64_t errors = 0;
  std::map<std::string, uint64_t> error_text;
  void error(const std::string& what) {
    ++errors;
    ++error_text[what];
  }
};

class Client {
 public:
  explicit Client(const Options& o) : o_(o) {
    rng_.s = o.seed ? o.seed : (uint64_t(now_ns()) ^ (uint64_t(getpid()) << 32)) | 1;
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      perror("epoll_create1");
      exit(1);
    }
    scratch_.resize(256 * 1024);
    payload_.resize(o.size);
    static const char alphabet[] = "trident-ws-load-0123456789abcdefghijklmnopqrstuvwxyz";
    for (size_t i = 0; i < o.size; ++i) payload_[i] = uint8_t(alphabet[i % (sizeof alphabet - 1)]);
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(o.host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res) {
      fprintf(stderr, "ws_load: cannot resolve %s: %s\n", o.host.c_str(), gai_strerror(rc));
      exit(1);
    }
    memcpy(&addr_, res->ai_addr, sizeof addr_);
    addr_.sin_port = htons(uint16_t(o.port));
    freeaddrinfo(res);
    host_header_ = o.host + ":" + std::to_string(o.port);
  }

  const Options& o_;
  Rng rng_;
  int ep_ = -1;
  sockaddr_in addr_{};
  std::string host_header_;
  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> payload_;
  std::vector<Conn> conns_;
  Stats stats_;
  int open_ = 0;            // connections in State::kOpen
  int pending_ = 0;         // connections connecting or handshaking
  int closed_ = 0;          // connections that ended after being open
  uint64_t data_msgs_ = 0;  // data messages received, all connections

  // Per-mode hooks.
  enum class Mode { kIdle, kEcho, kFanout } mode_ = Mode::kIdle;
  bool measuring_ = false;
  bool sending_ = false;  // echo: keep refilling in-flight messages
  uint64_t measured_msgs_ = 0;
  std::vector<uint32_t> rtt_ns_;  // echo round trips / fanout completion times
  // fanout
  int publisher_ = -1;
  int receivers_ = 0;
  uint64_t published_ = 0;       // messages the publisher has sent
  uint64_t completed_ = 0;       // messages every receiver has
  std::vector<uint32_t> done_;   // ring: receivers that have message j (j % window)
  std::vector<int64_t> pub_at_;  // ring: send time of message j
  uint64_t fanout_target_ = 0;   // messages to publish in total

  // ---- socket plumbing ----

  void set_events(Conn& c, int idx, bool want_out) {
    if (c.want_out == want_out) return;
    epoll_event ev{};
    ev.events = want_out ? uint32_t(EPOLLIN | EPOLLOUT) : uint32_t(EPOLLIN);
    ev.data.u64 = uint64_t(idx);
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = want_out;
  }

  bool start_connect(int idx) {
    Conn& c = conns_[size_t(idx)];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      stats_.error(std::string("socket: ") + strerror(errno));
      c.state = State::kClosed;
      return false;
    }
    if (o_.nodelay) {
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
    if (rc < 0 && errno != EINPROGRESS) {
      stats_.error(std::string("connect: ") + strerror(errno));
      ::close(c.fd);
      c.fd = -1;
      c.state = State::kClosed;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = uint64_t(idx);
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_out = true;
    c.state = State::kConnecting;
    ++pending_;
    return true;
  }

  void fail(int idx, const std::string& why) {
    Conn& c = conns_[size_t(idx)];
    if (c.state == State::kClosed) return;
    stats_.error(why);
    if (c.state == State::kOpen) {
      --open_;
      ++closed_;
    } else {
      --pending_;
    }
    c.state = State::kClosed;
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.in.clear();
    c.in.shrink_to_fit();
    c.out.clear();
    c.out.shrink_to_fit();
  }

  // Abortive close (RST): no TIME_WAIT pile-up across benchmark rounds.
  void close_all() {
    linger lg{1, 0};
    for (auto& c : conns_) {
      if (c.fd < 0) continue;
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(c.fd);
      c.fd = -1;
      c.state = State::kClosed;
    }
  }

  void flush(int idx) {
    Conn& c = conns_[size_t(idx)];
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += size_t(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_events(c, idx, true);
        return;
      }
      fail(idx, std::string("send: ") + strerror(errno));
      return;
    }
    c.out.clear();
    c.out_off = 0;
    if (c.state != State::kConnecting) set_events(c, idx, false);
  }

  // Appends one masked client frame.
  void put_frame(Conn& c, int opcode, const uint8_t* data, size_t len) {
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = uint8_t(0x80 | opcode);
    if (len < 126) {
      hdr[h++] = uint8_t(0x80 | len);
    } else if (len < 65536) {
      hdr[h++] = 0x80 | 126;
      hdr[h++] = uint8_t(len >> 8);
      hdr[h++] = uint8_t(len);
    } else {
      hdr[h++] = 0x80 | 127;
      for (int i = 7; i >= 0; --i) hdr[h++] = uint8_t(uint64_t(len) >> (8 * i));
    }
    uint32_t key = uint32_t(rng_.next() >> 32);
    memcpy(hdr + h, &key, 4);
    h += 4;
    size_t base = c.out.size();
    c.out.resize(base + h + len);
    uint8_t* dst = c.out.data() + base;
    memcpy(dst, hdr, h);
    dst += h;
    uint64_t key8 = uint64_t(key) | (uint64_t(key) << 32);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      uint64_t v;
      memcpy(&v, data + i, 8);
      v ^= key8;
      memcpy(dst + i, &v, 8);
    }
    const uint8_t* kb = reinterpret_cast<const uint8_t*>(&key);
    for (; i < len; ++i) dst[i] = data[i] ^ kb[i & 3];
  }

  void send_handshake(int idx) {
    Conn& c = conns_[size_t(idx)];
    uint8_t raw[16];
    for (int i = 0; i < 16; i += 8) {
      uint64_t r = rng_.next();
      memcpy(raw + i, &r, 8);
    }
    c.key = base64(raw, 16);
    std::string req =
        "GET " + o_.path + " HTTP/1.1\r\nHost: " + host_header_ +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + c.key +
        "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ws_load\r\n\r\n";
    c.out.assign(req.begin(), req.end());
    c.out_off = 0;
    c.state = State::kHandshake;
    flush(idx);
  }

  // Returns the number of bytes the response head used, 0 if incomplete, -1 on error.
  long parse_handshake(int idx) {
    Conn& c = conns_[size_t(idx)];
    std::string_view v(reinterpret_cast<const char*>(c.in.data()), c.in.size());
    size_t end = v.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (c.in.size() > 16384) {
        fail(idx, "handshake: response head too large");
        return -1;
      }
      return 0;
    }
    std::string_view head = v.substr(0, end);
    if (head.substr(0, 12) != "HTTP/1.1 101") {
      size_t eol = head.find("\r\n");
      fail(idx, "handshake: " + std::string(head.substr(0, std::min<size_t>(eol, 60))));
      return -1;
    }
    std::string expect;
    {
      std::string src = c.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
      uint8_t d[20];
      sha1(reinterpret_cast<const uint8_t*>(src.data()), src.size(), d);
      expect = base64(d, 20);
    }
    bool ok = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line =
          head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& ch : name) ch = char(tolower(uint8_t(ch)));
        std::string_view val = line.substr(colon + 1);
        while (!val.empty() && (val.front() == ' ' || val.front() == '\t')) val.remove_prefix(1);
        while (!val.empty() && (val.back() == ' ' || val.back() == '\t')) val.remove_suffix(1);
        if (name == "sec-websocket-accept" && val == expect) ok = true;
      }
      pos = next;
    }
    if (!ok) {
      fail(idx, "handshake: missing or wrong Sec-WebSocket-Accept");
      return -1;
    }
    c.key.clear();
    c.key.shrink_to_fit();
    c.state = State::kOpen;
    --pending_;
    ++open_;
    return long(end + 4);
  }

  // ---- frames ----

  // Parses complete frames from [p, p+n); returns bytes consumed.
  size_t parse_frames(int idx, const uint8_t* p, size_t n) {
    size_t off = 0;
    while (true) {
      Conn& c = conns_[size_t(idx)];
      if (c.state != State::kOpen) return n;
      if (n - off < 2) return off;
      uint8_t b0 = p[off], b1 = p[off + 1];
      if (b1 & 0x80) {
        fail(idx, "protocol: masked server frame");
        return n;
      }
      if (b0 & 0x70) {
        fail(idx, "protocol: RSV bits set");
        return n;
      }
      size_t h = 2;
      uint64_t len = b1 & 0x7f;
      if (len == 126) {
        if (n - off < 4) return off;
        len = uint64_t(p[off + 2]) << 8 | p[off + 3];
        h = 4;
      } else if (len == 127) {
        if (n - off < 10) return off;
        len = 0;
        for (int i = 0; i < 8; ++i) len = len << 8 | p[off + 2 + size_t(i)];
        h = 10;
      }
      if (len > (uint64_t(1) << 31)) {
        fail(idx, "protocol: frame too large");
        return n;
      }
      if (n - off < h + len) return off;
      const uint8_t* pl = p + off + h;
      off += h + size_t(len);
      int opcode = b0 & 0x0f;
      bool fin = b0 & 0x80;
      if (opcode >= 8) {
        if (opcode == 9) {  // ping -> pong
          put_frame(c, 10, pl, size_t(len));
          flush(idx);
        } else if (opcode == 8) {
          unsigned code = len >= 2 ? (unsigned(pl[0]) << 8 | pl[1]) : 1005;
          std::string reason(reinterpret_cast<const char*>(pl) + (len >= 2 ? 2 : 0),
                             len >= 2 ? size_t(len) - 2 : 0);
          fail(idx,
               "closed by server: " + std::to_string(code) + (reason.empty() ? "" : " " + reason));
          return n;
        }
        continue;  // pong: ignore
      }
      if (opcode == 0) {
        if (!c.in_message) {
          fail(idx, "protocol: continuation without message");
          return n;
        }
        c.msg_len += len;
      } else {
        if (c.in_message) {
          fail(idx, "protocol: data frame inside fragmented message");
          return n;
        }
        if (o_.verify && opcode != o_.opcode) {
          fail(idx,
               "verify: opcode " + std::to_string(opcode) + ", sent " + std::to_string(o_.opcode));
          return n;
        }
        c.in_message = true;
        c.msg_len = len;
        if (o_.verify && fin && len == o_.size && memcmp(pl, payload_.data(), size_t(len)) != 0) {
          fail(idx, "verify: payload differs");
          return n;
        }
      }
      if (fin) {
        c.in_message = false;
        if (o_.verify && c.msg_len != o_.size) {
          fail(idx, "verify: message of " + std::to_string(c.msg_len) + " bytes, sent " +
                        std::to_string(o_.size));
          return n;
        }
        ++c.received;
        ++data_msgs_;
        on_message(idx);
      }
    }
  }

  void on_readable(int idx) {
    Conn& c0 = conns_[size_t(idx)];
    if (c0.state == State::kConnecting) {
      on_writable(idx);  // connect finished (or failed)
      if (conns_[size_t(idx)].state == State::kConnecting) return;
    }
    Conn& c = conns_[size_t(idx)];
    if (c.state == State::kClosed) return;
    ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), 0);
    if (n == 0) {
      fail(idx, c.state == State::kOpen ? "closed by server (EOF)" : "handshake: EOF");
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      fail(idx, std::string("recv: ") + strerror(errno));
      return;
    }
    const uint8_t* p = scratch_.data();
    size_t len = size_t(n);
    if (c.state == State::kHandshake || !c.in.empty()) {
      c.in.insert(c.in.end(), p, p + len);
      size_t used = 0;
      if (c.state == State::kHandshake) {
        long h = parse_handshake(idx);
        if (h <= 0) return;
        used = size_t(h);
      }
      Conn& cc = conns_[size_t(idx)];
      if (cc.state != State::kOpen) return;
      used += parse_frames(idx, cc.in.data() + used, cc.in.size() - used);
      Conn& c2 = conns_[size_t(idx)];
      if (c2.state != State::kOpen) return;
      c2.in.erase(c2.in.begin(), c2.in.begin() + long(used));
    } else {
      size_t used = parse_frames(idx, p, len);
      Conn& c2 = conns_[size_t(idx)];
      if (c2.state == State::kOpen && used < len) c2.in.assign(p + used, p + len);
    }
    after_input(idx);
  }

  void on_writable(int idx) {
    Conn& c = conns_[size_t(idx)];
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t l = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &l);
      if (err) {
        fail(idx, std::string("connect: ") + strerror(err));
        return;
      }
      send_handshake(idx);
      return;
    }
    if (c.state != State::kClosed) flush(idx);
  }

  // Runs the event loop once (up to timeout_ms).
  void poll_once(int timeout_ms) {
    epoll_event evs[512];
    int n = epoll_wait(ep_, evs, 512, timeout_ms);
    for (int i = 0; i < n; ++i) {
      int idx = int(evs[i].data.u64);
      if (idx < 0) {  // stdin
        stdin_closed_ = true;
        epoll_ctl(ep_, EPOLL_CTL_DEL, 0, nullptr);
        continue;
      }
      uint32_t e = evs[i].events;
      if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(idx);
      if ((e & EPOLLOUT) && conns_[size_t(idx)].state != State::kClosed) on_writable(idx);
    }
  }
  bool stdin_closed_ = false;

  // Opens conns_[first, last) in batches of o_.batch; returns false on timeout.
  bool open_range(int first, int last) {
    int64_t deadline = now_ns() + int64_t(o_.connect_timeout * 1e9);
    int next = first;
    while (next < last || pending_ > 0) {
      while (next < last && pending_ < o_.batch) start_connect(next++);
      poll_once(10);
      if (now_ns() > deadline) {
        for (int i = first; i < last; ++i)
          if (conns_[size_t(i)].state == State::kConnecting ||
              conns_[size_t(i)].state == State::kHandshake)
            fail(i, "timeout: connect/handshake");
        return false;
      }
    }
    return true;
  }

  // ---- mode hooks ----

  void send_echo(int idx, int64_t t) {
    Conn& c = conns_[size_t(idx)];
    put_frame(c, o_.opcode, payload_.data(), payload_.size());
    if (!c.sent_at.empty()) {
      c.sent_at[(c.ring_head + c.in_flight) % c.sent_at.size()] = t;
    }
    ++c.in_flight;
  }

  void on_message(int idx) {
    Conn& c = conns_[size_t(idx)];
    if (mode_ == Mode::kEcho || mode_ == Mode::kIdle) {
      if (c.in_flight == 0) {
        stats_.error("unexpected message");
        return;
      }
      --c.in_flight;
      if (mode_ == Mode::kEcho && measuring_) {
        ++measured_msgs_;
        if (!c.sent_at.empty() && rtt_ns_.size() < 50'000'000) {
          int64_t d = now_ns() - c.sent_at[c.ring_head];
          rtt_ns_.push_back(uint32_t(std::min<int64_t>(d, UINT32_MAX)));
        }
      }
      if (!c.sent_at.empty()) c.ring_head = uint32_t((c.ring_head + 1) % c.sent_at.size());
      return;
    }
    // fanout: this receiver now has message number c.received - 1
    uint64_t j = c.received - 1;
    if (j >= published_) {
      stats_.error("fanout: message that was not published");
      return;
    }
    uint32_t& d = done_[size_t(j % uint64_t(o_.window))];
    ++d;
  }

  void after_input(int idx) {
    if (mode_ != Mode::kEcho || !sending_) {
      Conn& c = conns_[size_t(idx)];
      if (c.state == State::kOpen && !c.out.empty() && c.out_off < c.out.size()) flush(idx);
      return;
    }
    Conn& c = conns_[size_t(idx)];
    if (c.state != State::kOpen) return;
    if (c.in_flight < uint32_t(o_.in_flight)) {
      int64_t t = now_ns();
      while (c.in_flight < uint32_t(o_.in_flight)) send_echo(idx, t);
      flush(idx);
    }
  }

  // ---- output ----

  std::string errors_json() const {
    std::string s = "{";
    bool first = true;
    for (auto& [k, v] : stats_.error_text) {
      if (!first) s += ",";
      first = false;
      s += "\"" + json_escape(k) + "\":" + std::to_string(v);
    }
    return s + "}";
  }

  static std::string pct_json(std::vector<uint32_t>& v) {
    if (v.empty()) return "null";
    auto pick = [&](double q) {
      size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
      std::nth_element(v.begin(), v.begin() + long(k), v.end());
      return double(v[k]) / 1000.0;
    };
    double p50 = pick(0.50), p90 = pick(0.90), p99 = pick(0.99), p999 = pick(0.999);
    double mx = double(*std::max_element(v.begin(), v.end())) / 1000.0;
    double sum = 0;
    for (uint32_t x : v) sum += x;
    char b[320];
    snprintf(b, sizeof b,
             "{\"samples\":%zu,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
             "\"p999\":%.1f,\"max\":%.1f}",
             v.size(), sum / double(v.size()) / 1000.0, p50, p90, p99, p999, mx);
    return b;
  }
};

void raise_nofile() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

long nofile_limit() {
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : long(rl.rlim_cur);
}

std::string fmtd(double v, const char* spec = "%.3f") {
  if (v < 0) return "null";
  char b[64];
  snprintf(b, sizeof b, spec, v);
  return b;
}

std::string common_json(const Options& o, const Client& cl) {
  char b[512];
  snprintf(b, sizeof b,
           "\"mode\":\"%s\",\"host\":\"%s\",\"port\":%d,\"path\":\"%s\",\"opcode\":\"%s\","
           "\"size\":%zu",
           o.mode.c_str(), json_escape(o.host).c_str(), o.port, json_escape(o.path).c_str(),
           o.opcode == 1 ? "text" : "binary", o.size);
  return std::string(b) + ",\"errors\":" + std::to_string(cl.stats_.errors) +
         ",\"error_text\":" + cl.errors_json();
}

// ---------------------------------------------------------------------------
// echo
// ---------------------------------------------------------------------------

int run_echo(const Options& o) {
  Client cl(o);
  cl.mode_ = Client::Mode::kEcho;
  cl.conns_.resize(size_t(o.connections));
  for (auto& c : cl.conns_) c.sent_at.assign(size_t(o.in_flight), 0);
  int64_t t_conn = now_ns();
  cl.open_range(0, o.connections);
  double connect_s = double(now_ns() - t_conn) / 1e9;
  int opened = cl.open_;
  // Start: every open connection gets K messages in flight.
  cl.sending_ = true;
  int64_t t0 = now_ns();
  for (int i = 0; i < o.connections; ++i) {
    if (cl.conns_[size_t(i)].state != State::kOpen) continue;
    for (int k = 0; k < o.in_flight; ++k) cl.send_echo(i, t0);
    cl.flush(i);
  }
  int64_t t_measure = t0 + int64_t(o.warmup * 1e9);
  int64_t t_end = t_measure + int64_t(o.duration * 1e9);
  double srv0 = -1, self0 = 0;
  int64_t m0 = 0;
  while (cl.open_ > 0) {
    int64_t now = now_ns();
    if (!cl.measuring_ && now >= t_measure) {
      cl.measuring_ = true;
      cl.measured_msgs_ = 0;
      cl.rtt_ns_.clear();
      srv0 = proc_cpu_s(o.server_pid);
      self0 = self_cpu_s();
      m0 = now;
    }
    if (cl.measuring_ && now >= t_end) break;
    cl.poll_once(10);
  }
  int64_t m1 = now_ns();
  double srv1 = proc_cpu_s(o.server_pid);
  double self1 = self_cpu_s();
  bool server_alive = o.server_pid <= 0 || srv1 >= 0;
  int still_open = cl.open_;
  cl.close_all();
  if (!cl.measuring_) {
    cl.stats_.error("no connection survived until the measurement");
    m0 = m1;
  }
  if (opened < o.connections)
    cl.stats_.error("only " + std::to_string(opened) + " of " + std::to_string(o.connections) +
                    " connections opened");
  if (!server_alive) cl.stats_.error("server process gone");
  double secs = double(m1 - m0) / 1e9;
  uint64_t msgs = cl.measured_msgs_;
  double rate = secs > 0 ? double(msgs) / secs : 0;
  double srv = (srv0 >= 0 && srv1 >= 0) ? srv1 - srv0 : -1;
  std::string rtt = Client::pct_json(cl.rtt_ns_);
  printf(
      "{%s,\"connections\":%d,\"open_at_end\":%d,\"in_flight\":%d,\"connect_s\":%.3f,"
      "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"messages\":%" PRIu64
      ",\"msgs_per_s\":%.1f,\"payload_mbit_per_s\":%.2f,\"rtt_us\":%s,"
      "\"server_cpu_s\":%s,\"server_cpu_us_per_msg\":%s,\"client_cpu_s\":%.3f,"
      "\"client_cpu_us_per_msg\":%s}\n",
      common_json(o, cl).c_str(), o.connections, still_open, o.in_flight, connect_s, o.warmup, secs,
      msgs, rate, rate * double(o.size) * 8 / 1e6, rtt.c_str(), fmtd(srv).c_str(),
      srv >= 0 && msgs ? fmtd(srv * 1e6 / double(msgs)).c_str() : "null", self1 - self0,
      msgs ? fmtd((self1 - self0) * 1e6 / double(msgs)).c_str() : "null");
  fflush(stdout);
  return cl.stats_.errors ? 1 : 0;
}

// ---------------------------------------------------------------------------
// idle
// ---------------------------------------------------------------------------

// One message per open connection in [first, last), waits for the echoes.
void echo_once(Client& cl, int first, int last, double timeout_s) {
  for (int i = first; i < last; ++i) {
    if (cl.conns_[size_t(i)].state != State::kOpen) continue;
    cl.send_echo(i, 0);
    cl.flush(i);
  }
  int64_t deadline = now_ns() + int64_t(timeout_s * 1e9);
  while (now_ns() < deadline) {
    bool waiting = false;
    for (int i = first; i < last && !waiting; ++i) {
      const Conn& c = cl.conns_[size_t(i)];
      waiting = c.state == State::kOpen && c.in_flight > 0;
    }
    if (!waiting) return;
    cl.poll_once(10);
  }
  cl.stats_.error("timeout: idle echo");
}

int run_idle(const Options& o) {
  Client cl(o);
  cl.mode_ = Client::Mode::kIdle;
  long limit = nofile_limit();
  if (long(o.connections) + long(o.warm_conns) + 16 > limit) {
    fprintf(stderr, "ws_load: open-files limit %ld is too low for %d connections\n", limit,
            o.connections);
    return 2;
  }
  cl.conns_.resize(size_t(o.connections + o.warm_conns));
  // Warm-up: a few connections that exchange a message and go away, so lazy
  // initialisation in the server is not counted per connection.
  if (o.warm_conns > 0) {
    cl.open_range(o.connections, o.connections + o.warm_conns);
    if (o.idle_echo) echo_once(cl, o.connections, o.connections + o.warm_conns, 10);
    for (int i = o.connections; i < o.connections + o.warm_conns; ++i) {
      Conn& c = cl.conns_[size_t(i)];
      if (c.fd >= 0) {
        epoll_ctl(cl.ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);  // orderly FIN: the server sees EOF
        c.fd = -1;
        if (c.state == State::kOpen) --cl.open_;
        c.state = State::kClosed;
      }
    }
    usleep(500 * 1000);
  }
  long long rss0, anon0;
  proc_rss(o.server_pid, rss0, anon0);
  double srv0 = proc_cpu_s(o.server_pid);
  int64_t t_conn = now_ns();
  cl.open_range(0, o.connections);
  if (o.idle_echo) echo_once(cl, 0, o.connections, 30);
  double connect_s = double(now_ns() - t_conn) / 1e9;
  int opened = 0;
  for (int i = 0; i < o.connections; ++i) opened += cl.conns_[size_t(i)].state == State::kOpen;
  // Settle: keep servicing the sockets (pings, closes) while the server goes quiet.
  int64_t settle_end = now_ns() + int64_t(o.settle * 1e9);
  while (now_ns() < settle_end) cl.poll_once(50);
  long long rss1, anon1;
  proc_rss(o.server_pid, rss1, anon1);
  double srv1 = proc_cpu_s(o.server_pid);
  int open_after_settle = cl.open_;
  auto per_conn = [&](long long a, long long b) -> std::string {
    if (a < 0 || b < 0 || open_after_settle <= 0) return "null";
    return fmtd(double(b - a) / open_after_settle, "%.1f");
  };
  if (o.hold_stdin || o.hold > 0) {
    if (o.hold_stdin) {
      printf("{\"phase\":\"ready\",\"open\":%d}\n", cl.open_);
      fflush(stdout);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = uint64_t(int64_t(-1));
      if (epoll_ctl(cl.ep_, EPOLL_CTL_ADD, 0, &ev) < 0) cl.stdin_closed_ = true;
    }
    int64_t hold_end = now_ns() + int64_t((o.hold_stdin ? o.max_hold : o.hold) * 1e9);
    while (now_ns() < hold_end && !(o.hold_stdin && cl.stdin_closed_)) cl.poll_once(100);
  }
  int open_at_end = cl.open_;
  int closed_by_server = cl.closed_;
  cl.close_all();
  if (opened < o.connections)
    cl.stats_.error("only " + std::to_string(opened) + " of " + std::to_string(o.connections) +
                    " connections opened");
  std::string rss_part;
  {
    char b[512];
    snprintf(b, sizeof b,
             "\"server_rss_before\":%lld,\"server_rss_after\":%lld,\"server_anon_before\":%lld,"
             "\"server_anon_after\":%lld,\"rss_bytes_per_conn\":%s,\"anon_bytes_per_conn\":%s,"
             "\"server_cpu_s_connect\":%s",
             rss0, rss1, anon0, anon1, per_conn(rss0, rss1).c_str(), per_conn(anon0, anon1).c_str(),
             fmtd(srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1).c_str());
    rss_part = b;
  }
  printf(
      "{%s,\"connections\":%d,\"opened\":%d,\"open_after_settle\":%d,\"open_at_end\":%d,"
      "\"closed_by_server\":%d,\"connect_s\":%.3f,\"settle_s\":%.3f,%s}\n",
      common_json(o, cl).c_str(), o.connections, opened, open_after_settle, open_at_end,
      closed_by_server, connect_s, o.settle, rss_part.c_str());
  fflush(stdout);
  return cl.stats_.errors ? 1 : 0;
}

// ---------------------------------------------------------------------------
// fanout
// ---------------------------------------------------------------------------

int run_fanout(const Options& o) {
  Client cl(o);
  cl.mode_ = Client::Mode::kFanout;
  long limit = nofile_limit();
  if (long(o.connections) + 17 > limit) {
    fprintf(stderr, "ws_load: open-files limit %ld is too low for %d connections\n", limit,
            o.connections + 1);
    return 2;
  }
  int n = o.connections + 1;
  cl.conns_.resize(size_t(n));
  cl.publisher_ = o.connections;
  cl.receivers_ = n;
  cl.done_.assign(size_t(o.window), 0);
  cl.pub_at_.assign(size_t(o.window), 0);
  int64_t t_conn = now_ns();
  cl.open_range(0, n);
  double connect_s = double(now_ns() - t_conn) / 1e9;
  int opened = cl.open_;
  uint64_t total = uint64_t(o.warmup_msgs) + uint64_t(o.messages);
  int64_t hard_end = now_ns() + int64_t((o.duration + o.publish_timeout) * 1e9);
  int64_t cap_end = 0;  // measured-phase duration cap
  double srv0 = -1, self0 = 0;
  int64_t m0 = 0, m1 = 0;
  uint64_t measured_done = 0;
  bool stalled = false;
  std::string stall_text;
  if (opened == n) {
    int64_t last_progress = now_ns();
    while (cl.completed_ < total) {
      Conn& pub = cl.conns_[size_t(cl.publisher_)];
      if (pub.state != State::kOpen) break;
      // complete messages in order
      while (cl.completed_ < cl.published_ &&
             cl.done_[size_t(cl.completed_ % uint64_t(o.window))] == uint32_t(cl.open_)) {
        size_t slot = size_t(cl.completed_ % uint64_t(o.window));
        int64_t t = now_ns();
        if (cl.completed_ >= uint64_t(o.warmup_msgs)) {
          cl.rtt_ns_.push_back(uint32_t(std::min<int64_t>(t - cl.pub_at_[slot], UINT32_MAX)));
          ++measured_done;
        }
        cl.done_[slot] = 0;
        ++cl.completed_;
        last_progress = t;
      }
      if (cl.completed_ >= total) break;
      int64_t now = now_ns();
      if (cl.measuring_ && now >= cap_end) total = cl.published_;  // drain what is in flight
      if (cl.completed_ >= total) break;
      if (now >= hard_end || now - last_progress > int64_t(o.publish_timeout * 1e9)) {
        stalled = true;
        uint64_t j = cl.completed_;
        stall_text = "timeout: message " + std::to_string(j) + " reached " +
                     std::to_string(cl.done_[size_t(j % uint64_t(o.window))]) + " of " +
                     std::to_string(cl.open_) + " receivers";
        break;
      }
      // publish while the window has room; warm-up messages are published
      // one at a time and must all complete before the measured phase starts.
      bool warm = cl.published_ < uint64_t(o.warmup_msgs);
      uint64_t limit_pub = warm ? cl.completed_ + 1 : cl.completed_ + uint64_t(o.window);
      if (!warm && !cl.measuring_ && cl.completed_ < uint64_t(o.warmup_msgs)) limit_pub = 0;
      bool sent = false;
      while (cl.published_ < total && cl.published_ < limit_pub) {
        if (!cl.measuring_ && cl.published_ == uint64_t(o.warmup_msgs)) {
          cl.measuring_ = true;
          m0 = now_ns();
          cap_end = m0 + int64_t(o.duration * 1e9);
          srv0 = proc_cpu_s(o.server_pid);
          self0 = self_cpu_s();
        }
        size_t slot = size_t(cl.published_ % uint64_t(o.window));
        cl.pub_at_[slot] = now_ns();
        cl.done_[slot] = 0;
        ++cl.published_;
        cl.put_frame(pub, o.opcode, cl.payload_.data(), cl.payload_.size());
        sent = true;
      }
      if (sent) cl.flush(cl.publisher_);
      cl.poll_once(10);
    }
    m1 = now_ns();
  }
  double srv1 = proc_cpu_s(o.server_pid);
  double self1 = self_cpu_s();
  int open_at_end = cl.open_;
  cl.close_all();
  if (stalled) cl.stats_.error(stall_text);
  if (opened < n)
    cl.stats_.error("only " + std::to_string(opened) + " of " + std::to_string(n) +
                    " connections opened");
  if (!cl.measuring_) m0 = m1;
  double secs = double(m1 - m0) / 1e9;
  uint64_t deliveries = measured_done * uint64_t(n);
  double srv = (srv0 >= 0 && srv1 >= 0 && cl.measuring_) ? srv1 - srv0 : -1;
  std::string lat = Client::pct_json(cl.rtt_ns_);
  printf(
      "{%s,\"subscribers\":%d,\"receivers\":%d,\"opened\":%d,\"open_at_end\":%d,"
      "\"window\":%d,\"connect_s\":%.3f,\"warmup_msgs\":%d,\"messages\":%" PRIu64
      ",\"deliveries\":%" PRIu64
      ",\"duration_s\":%.3f,\"msgs_per_s\":%.1f,\"deliveries_per_s\":%.1f,"
      "\"complete_us\":%s,\"server_cpu_s\":%s,\"server_cpu_us_per_delivery\":%s,"
      "\"client_cpu_s\":%.3f}\n",
      common_json(o, cl).c_str(), o.connections, n, opened, open_at_end, o.window, connect_s,
      o.warmup_msgs, measured_done, deliveries, secs, secs > 0 ? double(measured_done) / secs : 0.0,
      secs > 0 ? double(deliveries) / secs : 0.0, lat.c_str(), fmtd(srv).c_str(),
      srv >= 0 && deliveries ? fmtd(srv * 1e6 / double(deliveries), "%.4f").c_str() : "null",
      self1 - self0);
  fflush(stdout);
  return cl.stats_.errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  if (o.mode == "echo") return run_echo(o);
  if (o.mode == "idle") return run_idle(o);
  return run_fanout(o);
}
