// TLS server configuration on OpenSSL 3; see tls.hpp.
//
// Ownership model: TlsContext holds one reference to the default SSL_CTX. The
// per-context configuration shared by the callbacks (ALPN preference list, SNI
// table, the SSL_CTX objects of the other certificates) lives in a `Shared`
// object attached to the default SSL_CTX as ex_data and freed together with it.
// Every connection keeps its original (default) SSL_CTX referenced as its
// session context even after SNI switched it to another certificate, so the
// callbacks' argument outlives every handshake, even if somebody takes an
// extra reference on native() and outlives the TlsContext.
#include "net/tls.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

namespace trident::net {

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Small RAII helpers around OpenSSL objects.

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, FreeWith<SSL_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, FreeWith<BN_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, FreeWith<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, FreeWith<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, FreeWith<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, FreeWith<GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, FreeWith<ASN1_STRING_free>>;

// Drains the OpenSSL error queue of this thread into one readable line.
std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] void fail_openssl(const std::string& what) {
  throw TlsError("tls: " + what + ": " + openssl_errors());
}

[[noreturn]] void fail_errno(const std::string& what, int err) {
  throw TlsError("tls: " + what + ": " + std::strerror(err));
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

// ---------------------------------------------------------------------------
// Host names.

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Lower-cases and drops one trailing dot ("Example.COM." → "example.com").
std::string normalize_host(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return ascii_lower(s);
}

// `pattern` and `host` are normalized. "*.example.com" matches exactly one
// non-empty leftmost label: "a.example.com" but not "example.com" or
// "a.b.example.com". Other wildcard forms are not supported.
bool host_matches(const std::string& pattern, const std::string& host) {
  if (pattern.empty() || host.empty()) return false;
  if (pattern.size() < 3 || pattern[0] != '*' || pattern[1] != '.') return pattern == host;
  std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.com"
  if (host.size() <= suffix.size()) return false;
  std::string_view h(host);
  if (h.substr(h.size() - suffix.size()) != suffix) return false;
  std::string_view label = h.substr(0, h.size() - suffix.size());
  return !label.empty() && label.find('.') == std::string_view::npos;
}

std::string asn1_string_to_std(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// DNS names from subjectAltName; the subject CN when there are none.
std::vector<std::string> certificate_host_names(X509* cert) {
  std::vector<std::string> names;
  if (cert == nullptr) return names;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_DNS) continue;
      std::string name = asn1_string_to_std(gn->d.dNSName);
      if (name.empty() || name.find('\0') != std::string::npos) continue;
      names.push_back(normalize_host(name));
    }
  }
  if (names.empty()) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len > 0) {
        std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
        if (cn.find('\0') == std::string::npos) names.push_back(normalize_host(cn));
      }
      OPENSSL_free(utf8);
    }
  }
  ERR_clear_error();
  return names;
}

// ---------------------------------------------------------------------------
// State shared by the callbacks of all SSL_CTX objects of one TlsContext.

struct Site {
  SslCtxPtr owned;  // empty for the default context (which owns Shared)
  SSL_CTX* ctx = nullptr;
  std::vector<std::string> names;  // normalized, wildcards allowed
};

struct Shared {
  std::string alpn_wire;    // server preference order, ALPN wire format
  std::vector<Site> sites;  // sites[0] is the default context
};

void free_shared(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                 void* /*argp*/) {
  delete static_cast<Shared*>(ptr);
}

int shared_ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_shared);
  return index;
}

std::string encode_alpn(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      throw TlsError("tls: invalid ALPN protocol name " + quoted(p) + " (must be 1..255 bytes)");
    }
    wire.push_back(static_cast<char>(static_cast<unsigned char>(p.size())));
    wire += p;
  }
  return wire;
}

// Picks, in server preference order, the first protocol the client offers.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* shared = static_cast<const Shared*>(arg);
  const std::string& server = shared->alpn_wire;
  for (size_t i = 0; i < server.size();) {
    const size_t len = static_cast<unsigned char>(server[i]);
    const char* proto = server.data() + i + 1;
    for (unsigned int j = 0; j < inlen;) {
      const unsigned int client_len = in[j];
      if (client_len == 0 || j + 1 + client_len > inlen) break;  // malformed list
      if (client_len == len && std::memcmp(in + j + 1, proto, len) == 0) {
        *out = in + j + 1;
        *outlen = static_cast<unsigned char>(client_len);
        return SSL_TLSEXT_ERR_OK;
      }
      j += 1 + client_len;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;  // continue without ALPN (plain HTTP/1.1 clients)
}

const Site* find_site(const Shared& shared, const std::string& host) {
  // Exact names win over wildcards; among equals, configuration order wins.
  for (const Site& site : shared.sites) {
    for (const std::string& name : site.names) {
      if (name == host) return &site;
    }
  }
  for (const Site& site : shared.sites) {
    for (const std::string& name : site.names) {
      if (name.starts_with("*.") && host_matches(name, host)) return &site;
    }
  }
  return nullptr;
}

int select_certificate(SSL* ssl, int* alert, void* arg) {
  const char* requested = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (requested == nullptr || *requested == '\0') return SSL_TLSEXT_ERR_OK;
  const auto* shared = static_cast<const Shared*>(arg);
  const Site* site = find_site(*shared, normalize_host(requested));
  if (site == nullptr || site->ctx == SSL_get_SSL_CTX(ssl)) return SSL_TLSEXT_ERR_OK;
  if (SSL_set_SSL_CTX(ssl, site->ctx) != site->ctx) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// One SSL_CTX for one certificate, with the settings all contexts share.
SslCtxPtr make_server_context(const TlsOptions& options, const CertificateFiles& files,
                              Shared* shared) {
  if (files.cert_chain_pem.empty()) throw TlsError("tls: certificate chain path is empty");
  if (files.private_key_pem.empty()) {
    throw TlsError("tls: private key path is empty (certificate " + quoted(files.cert_chain_pem) +
                   ")");
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) fail_openssl("cannot create SSL_CTX");
  SSL_CTX* c = ctx.get();

  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
    fail_openssl("cannot set minimum protocol version");
  }
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);  // session tickets on
  // AES-128-GCM first: as strong as needed, cheaper than AES-256 (the
  // OpenSSL default order, which server preference would otherwise pick).
  SSL_CTX_set_ciphersuites(
      c, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_cipher_list(c,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Read whole socket batches rather than a 5-byte record header and then
  // its body: one read(2) per batch instead of two per record.
  SSL_CTX_set_read_ahead(c, 1);
  // Needed for session resumption when client certificates are verified; the
  // same value everywhere so SNI switching does not break resumption.
  static constexpr unsigned char kSessionIdContext[] = "trident";
  if (SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof kSessionIdContext - 1) != 1) {
    fail_openssl("cannot set session id context");
  }

  if (SSL_CTX_use_certificate_chain_file(c, files.cert_chain_pem.c_str()) != 1) {
    fail_openssl("cannot load certificate chain " + quoted(files.cert_chain_pem));
  }
  if (SSL_CTX_use_PrivateKey_file(c, files.private_key_pem.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail_openssl("cannot load private key " + quoted(files.private_key_pem));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    fail_openssl("private key " + quoted(files.private_key_pem) + " does not match certificate " +
                 quoted(files.cert_chain_pem));
  }

  if (!shared->alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(c, select_alpn, shared);

  if (!options.client_ca_pem.empty()) {
    const std::string& ca = options.client_ca_pem;
    if (SSL_CTX_load_verify_file(c, ca.c_str()) != 1) {
      fail_openssl("cannot load client CA " + quoted(ca));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr) fail_openssl("cannot read CA names from client CA " + quoted(ca));
    SSL_CTX_set_client_CA_list(c, names);  // takes ownership
    int mode = SSL_VERIFY_PEER;
    if (options.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c, mode, nullptr);
  }
  return ctx;
}

}  // namespace

// ---------------------------------------------------------------------------
// TlsContext

struct TlsContext::Impl {
  SslCtxPtr ctx;  // the default context; owns the Shared state via ex_data
};

TlsContext::TlsContext(const TlsOptions& options) : impl_(std::make_unique<Impl>()) {
  ERR_clear_error();
  if (options.certificates.empty()) throw TlsError("tls: no certificate configured");
  if (options.require_client_cert && options.client_ca_pem.empty()) {
    throw TlsError("tls: require_client_cert needs client_ca_pem");
  }
  const int ex_index = shared_ex_index();
  if (ex_index < 0) fail_openssl("cannot allocate SSL_CTX ex_data index");

  auto shared = std::make_unique<Shared>();
  shared->alpn_wire = encode_alpn(options.alpn);

  SslCtxPtr default_ctx;
  for (size_t i = 0; i < options.certificates.size(); ++i) {
    SslCtxPtr ctx = make_server_context(options, options.certificates[i], shared.get());
    Site site;
    site.ctx = ctx.get();
    site.names = certificate_host_names(SSL_CTX_get0_certificate(ctx.get()));
    if (i == 0) {
      default_ctx = std::move(ctx);
    } else {
      site.owned = std::move(ctx);
    }
    shared->sites.push_back(std::move(site));
  }

  SSL_CTX_set_tlsext_servername_callback(default_ctx.get(), select_certificate);
  SSL_CTX_set_tlsext_servername_arg(default_ctx.get(), shared.get());
  if (SSL_CTX_set_ex_data(default_ctx.get(), ex_index, shared.get()) != 1) {
    fail_openssl("cannot attach TLS configuration");
  }
  shared.release();  // now owned by default_ctx
  impl_->ctx = std::move(default_ctx);
}

TlsContext::~TlsContext() = default;

SSL_CTX* TlsContext::native() const {
  return impl_->ctx.get();
}

std::string negotiated_alpn(SSL* ssl) {
  if (ssl == nullptr) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  if (data == nullptr || len == 0) return {};
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string peer_certificate_subject(SSL* ssl) {
  if (ssl == nullptr) return {};
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  // RFC 2253 ("CN=client,O=example"), keeping UTF-8 instead of \XX escapes.
  const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, flags) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(len));
}

// ---------------------------------------------------------------------------
// Development certificates

namespace {

constexpr const char* kCaCommonName = "trident development CA";
constexpr int kCaValidityDays = 3650;    // 10 years
constexpr int kLeafValidityDays = 825;   // the most Apple platforms accept
constexpr long kBackdateSeconds = 3600;  // tolerate small clock skew
constexpr long kMinRemainingSeconds = 24 * 3600;

struct KeyAndCert {
  PkeyPtr key;
  X509Ptr cert;
};

struct LeafParams {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool server_auth = true;
  bool client_auth = false;
  int validity_days = kLeafValidityDays;
};

struct DevPaths {
  fs::path ca_cert;
  fs::path ca_key;
};

DevPaths dev_paths(const fs::path& dir) {
  return {dir / "dev-ca.pem", dir / "dev-ca-key.pem"};
}

// --- files ---

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    fail_openssl("cannot get random bytes");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

// Writes `data` to a temporary file next to `path` with exactly `mode`, syncs
// it and renames it over `path`, so readers see the old or the new file.
void write_file_atomically(const fs::path& path, std::string_view data, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + random_hex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("cannot create " + quoted(tmp.string()), errno);
  auto cleanup_fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail_errno(what, err);
  };
  if (::fchmod(fd, mode) != 0) cleanup_fail("cannot chmod " + quoted(tmp.string()));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      cleanup_fail("cannot write " + quoted(tmp.string()));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) cleanup_fail("cannot sync " + quoted(tmp.string()));
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno("cannot close " + quoted(tmp.string()), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno("cannot rename " + quoted(tmp.string()) + " to " + quoted(path.string()), err);
  }
}

// Creates `dir` (parents with default permissions, `dir` itself 0700).
fs::path prepare_directory(const std::string& dir_name) {
  if (dir_name.empty()) throw TlsError("tls: certificate directory is empty");
  fs::path dir(dir_name);
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;
  fs::path parent = dir.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) {
      throw TlsError("tls: cannot create directory " + quoted(parent.string()) + ": " +
                     ec.message());
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int err = errno;
    if (err != EEXIST || !fs::is_directory(dir, ec)) {
      fail_errno("cannot create directory " + quoted(dir.string()), err);
    }
    return dir;  // somebody else created it meanwhile
  }
  if (::chmod(dir.c_str(), 0700) != 0) fail_errno("cannot chmod " + quoted(dir.string()), errno);
  return dir;
}

// Serializes certificate generation between threads and processes.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) fail_errno("cannot open directory " + quoted(dir.string()), errno);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd_);
      fail_errno("cannot lock directory " + quoted(dir.string()), err);
    }
  }
  ~DirectoryLock() { ::close(fd_); }  // also releases the lock
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

void restrict_permissions(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    ::chmod(path.c_str(), 0600);  // best effort
  }
}

// --- PEM ---

X509Ptr read_certificate(const fs::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  X509Ptr cert;
  if (bio) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

PkeyPtr read_private_key(const fs::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  PkeyPtr key;
  if (bio) key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 && data != nullptr ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail_openssl("cannot encode certificate");
  return bio_contents(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail_openssl("cannot encode private key");
  }
  return bio_contents(bio.get());
}

// --- validity checks ---

// notBefore has passed and notAfter is more than `seconds` away.
bool valid_for(X509* cert, long seconds) {
  time_t now = std::time(nullptr);
  time_t later = now + seconds;
  bool ok = X509_cmp_time(X509_get0_notBefore(cert), &now) == -1 &&
            X509_cmp_time(X509_get0_notAfter(cert), &later) == 1;
  ERR_clear_error();
  return ok;
}

bool usable_ca(const KeyAndCert& ca) {
  if (!ca.cert || !ca.key) return false;
  bool ok = X509_check_private_key(ca.cert.get(), ca.key.get()) == 1 &&
            X509_check_ca(ca.cert.get()) >= 1 &&
            X509_check_issued(ca.cert.get(), ca.cert.get()) == X509_V_OK &&
            valid_for(ca.cert.get(), kMinRemainingSeconds);
  ERR_clear_error();
  return ok;
}

bool usable_leaf(const fs::path& cert_path, const fs::path& key_path, const KeyAndCert& ca) {
  X509Ptr cert = read_certificate(cert_path);
  PkeyPtr key = read_private_key(key_path);
  if (!cert || !key) return false;
  EVP_PKEY* ca_public = X509_get0_pubkey(ca.cert.get());
  bool ok = X509_check_private_key(cert.get(), key.get()) == 1 &&
            valid_for(cert.get(), kMinRemainingSeconds) &&
            X509_check_issued(ca.cert.get(), cert.get()) == X509_V_OK && ca_public != nullptr &&
            X509_verify(cert.get(), ca_public) == 1;
  ERR_clear_error();
  return ok;
}

// --- building certificates ---

PkeyPtr generate_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail_openssl("cannot generate P-256 key");
  return key;
}

void set_random_serial(X509* cert) {
  unsigned char bytes[16];  // 128 bits
  if (RAND_bytes(bytes, sizeof bytes) != 1) fail_openssl("cannot get random bytes");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // non-zero, fixed length
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    fail_openssl("cannot set serial number");
  }
}

void set_validity(X509* cert, int days, X509* issuer) {
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), days, -kBackdateSeconds, nullptr) == nullptr) {
    fail_openssl("cannot set validity");
  }
  // A certificate should not outlive its issuer.
  if (issuer != nullptr &&
      ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(issuer)) > 0 &&
      X509_set1_notAfter(cert, X509_get0_notAfter(issuer)) != 1) {
    fail_openssl("cannot set validity");
  }
}

X509NamePtr common_name(const std::string& cn) {
  X509NamePtr name(X509_NAME_new());
  if (!name || X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(cn.data()),
                                          static_cast<int>(cn.size()), -1, 0) != 1) {
    fail_openssl("cannot build subject name CN=" + cn);
  }
  return name;
}

// `issuer` is the issuing certificate (the certificate itself when self-signed).
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &v3, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    fail_openssl(std::string("cannot add extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
}

bool valid_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void add_subject_alt_names(X509* cert, const std::vector<std::string>& dns_names,
                           const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty() && ip_addresses.empty()) return;
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) fail_openssl("cannot allocate subjectAltName");
  auto push = [&](int type, ASN1_STRING* value) {
    Asn1StringPtr owned_value(value);
    GeneralNamePtr gn(GENERAL_NAME_new());
    if (!gn) fail_openssl("cannot allocate subjectAltName entry");
    GENERAL_NAME_set0_value(gn.get(), type, owned_value.release());
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      fail_openssl("cannot build subjectAltName");
    }
    gn.release();
  };
  for (const std::string& dns : dns_names) {
    if (!valid_dns_name(dns)) throw TlsError("tls: invalid DNS name " + quoted(dns));
    Asn1StringPtr s(ASN1_IA5STRING_new());
    if (!s || ASN1_STRING_set(s.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
      fail_openssl("cannot encode DNS name " + quoted(dns));
    }
    push(GEN_DNS, s.release());
  }
  for (const std::string& ip : ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) fail_openssl("invalid IP address " + quoted(ip));
    push(GEN_IPADD, octets);
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    fail_openssl("cannot add subjectAltName");
  }
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) fail_openssl("cannot sign certificate");
}

KeyAndCert build_ca() {
  KeyAndCert ca{generate_key(), X509Ptr(X509_new())};
  X509* cert = ca.cert.get();
  if (!cert) fail_openssl("cannot allocate certificate");
  X509NamePtr subject = common_name(kCaCommonName);
  if (X509_set_version(cert, X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert, subject.get()) != 1 ||
      X509_set_issuer_name(cert, subject.get()) != 1 || X509_set_pubkey(cert, ca.key.get()) != 1) {
    fail_openssl("cannot build CA certificate");
  }
  set_random_serial(cert);
  set_validity(cert, kCaValidityDays, nullptr);
  add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, cert, NID_subject_key_identifier, "hash");
  sign(cert, ca.key.get());
  return ca;
}

// The one place leaf certificates (server or client) are made.
KeyAndCert build_leaf(const KeyAndCert& ca, const LeafParams& params) {
  if (!params.server_auth && !params.client_auth) {
    throw TlsError("tls: a leaf certificate needs serverAuth or clientAuth");
  }
  KeyAndCert leaf{generate_key(), X509Ptr(X509_new())};
  X509* cert = leaf.cert.get();
  if (!cert) fail_openssl("cannot allocate certificate");
  X509NamePtr subject = common_name(params.common_name);
  if (X509_set_version(cert, X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert, subject.get()) != 1 ||
      X509_set_issuer_name(cert, X509_get_subject_name(ca.cert.get())) != 1 ||
      X509_set_pubkey(cert, leaf.key.get()) != 1) {
    fail_openssl("cannot build certificate for " + params.common_name);
  }
  set_random_serial(cert);
  set_validity(cert, params.validity_days, ca.cert.get());
  add_extension(cert, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  std::string eku;
  if (params.server_auth) eku = "serverAuth";
  if (params.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  add_extension(cert, ca.cert.get(), NID_ext_key_usage, eku.c_str());
  add_extension(cert, ca.cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert, ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  add_subject_alt_names(cert, params.dns_names, params.ip_addresses);
  sign(cert, ca.key.get());
  return leaf;
}

// Loads the CA in `dir` if it is usable, otherwise creates and stores a new one.
// `created` tells whether certificates signed by an old CA must be reissued.
KeyAndCert load_or_create_ca(const fs::path& dir, bool* created) {
  const DevPaths paths = dev_paths(dir);
  KeyAndCert ca{read_private_key(paths.ca_key), read_certificate(paths.ca_cert)};
  if (usable_ca(ca)) {
    restrict_permissions(paths.ca_key);
    *created = false;
    return ca;
  }
  ca = build_ca();
  write_file_atomically(paths.ca_key, private_key_pem(ca.key.get()), 0600);
  write_file_atomically(paths.ca_cert, certificate_pem(ca.cert.get()), 0644);
  *created = true;
  return ca;
}

// Writes `<dir>/<name>-key.pem` and `<dir>/<name>.pem` (leaf, then the CA).
DevCertificates store_leaf(const fs::path& dir, const std::string& name, const KeyAndCert& ca,
                           const KeyAndCert& leaf) {
  const fs::path cert_path = dir / (name + ".pem");
  const fs::path key_path = dir / (name + "-key.pem");
  write_file_atomically(key_path, private_key_pem(leaf.key.get()), 0600);
  write_file_atomically(cert_path,
                        certificate_pem(leaf.cert.get()) + certificate_pem(ca.cert.get()), 0644);
  return {dev_paths(dir).ca_cert.string(), cert_path.string(), key_path.string()};
}

}  // namespace

DevCertificates ensure_dev_certificates(const std::string& state_dir) {
  ERR_clear_error();
  const fs::path dir = prepare_directory(state_dir);
  DirectoryLock lock(dir);
  bool ca_created = false;
  KeyAndCert ca = load_or_create_ca(dir, &ca_created);

  const fs::path cert_path = dir / "localhost.pem";
  const fs::path key_path = dir / "localhost-key.pem";
  if (!ca_created && usable_leaf(cert_path, key_path, ca)) {
    restrict_permissions(key_path);
    return {dev_paths(dir).ca_cert.string(), cert_path.string(), key_path.string()};
  }
  LeafParams params;
  params.common_name = "localhost";
  params.dns_names = {"localhost"};
  params.ip_addresses = {"127.0.0.1", "::1"};
  return store_leaf(dir, "localhost", ca, build_leaf(ca, params));
}

DevCertificates issue_test_certificate(const std::string& dir, const std::string& name,
                                       const std::vector<std::string>& dns_names,
                                       bool client_auth) {
  ERR_clear_error();
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
      name.starts_with("dev-ca")) {
    throw TlsError("tls: invalid certificate name " + quoted(name));
  }
  const fs::path path = prepare_directory(dir);
  DirectoryLock lock(path);
  bool ca_created = false;
  KeyAndCert ca = load_or_create_ca(path, &ca_created);
  LeafParams params;
  params.common_name = dns_names.empty() ? name : dns_names.front();
  params.dns_names = dns_names;
  params.server_auth = !client_auth;
  params.client_auth = client_auth;
  return store_leaf(path, name, ca, build_leaf(ca, params));
}

}  // namespace trident::net
