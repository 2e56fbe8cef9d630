#include "net/tls.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using trident::net::CertificateFiles;
using trident::net::DevCertificates;
using trident::net::ensure_dev_certificates;
using trident::net::issue_test_certificate;
using trident::net::negotiated_alpn;
using trident::net::peer_certificate_subject;
using trident::net::TlsContext;
using trident::net::TlsError;
using trident::net::TlsOptions;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<X509Ptr> read_certificates(const fs::path& path) {
  std::vector<X509Ptr> certs;
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return certs;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  BIO_free(bio);
  ERR_clear_error();
  return certs;
}

unsigned file_mode(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string common_name_of(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "trident-tls-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// --- in-memory handshake -------------------------------------------------

struct HandshakeResult {
  bool client_ok = false;
  bool server_ok = false;
  bool ok() const { return client_ok && server_ok; }
};

struct ClientOptions {
  std::string ca_file;              // trust anchor for the server certificate
  std::string sni;                  // server name indication ("" → none)
  std::string verify_host;          // checked against the server certificate
  std::vector<std::string> alpn;    // offered protocols
  std::string cert_file, key_file;  // client certificate for mTLS
  int max_version = 0;              // e.g. TLS1_2_VERSION
};

class Connection {
 public:
  Connection(SSL_CTX* server_ctx, const ClientOptions& options) {
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX* cctx = client_ctx_.get();
    EXPECT_EQ(SSL_CTX_load_verify_file(cctx, options.ca_file.c_str()), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
    if (options.max_version != 0) SSL_CTX_set_max_proto_version(cctx, options.max_version);
    if (!options.cert_file.empty()) {
      EXPECT_EQ(SSL_CTX_use_certificate_chain_file(cctx, options.cert_file.c_str()), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(cctx, options.key_file.c_str(), SSL_FILETYPE_PEM), 1);
    }
    client_.reset(SSL_new(cctx));
    server_.reset(SSL_new(server_ctx));
    if (!options.sni.empty()) SSL_set_tlsext_host_name(client_.get(), options.sni.c_str());
    if (!options.verify_host.empty()) SSL_set1_host(client_.get(), options.verify_host.c_str());
    if (!options.alpn.empty()) {
      std::string wire;
      for (const auto& p : options.alpn) {
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
      }
      EXPECT_EQ(
          SSL_set_alpn_protos(client_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size())),
          0);
    }
    // Each side reads from its own rbio and writes to its own wbio; pump()
    // moves bytes between them.
    SSL_set_bio(client_.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_bio(server_.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(client_.get());
    SSL_set_accept_state(server_.get());
  }

  HandshakeResult handshake() {
    bool client_failed = false, server_failed = false;
    for (int round = 0; round < 50; ++round) {
      if (!client_failed && !SSL_is_init_finished(client_.get())) {
        client_failed = !step(client_.get());
      }
      pump();
      if (!server_failed && !SSL_is_init_finished(server_.get())) {
        server_failed = !step(server_.get());
      }
      pump();
      if (client_failed || server_failed) break;
      if (SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server_.get())) break;
    }
    // A TLS 1.3 client finishes before the server has checked its
    // certificate; let it read whatever the server sent afterwards (tickets,
    // or an alert) so a rejection shows up on both sides.
    if (!client_failed) {
      char byte;
      int n = SSL_read(client_.get(), &byte, 1);
      if (n <= 0) {
        int err = SSL_get_error(client_.get(), n);
        if (err != SSL_ERROR_WANT_READ) client_failed = true;
      }
    }
    ERR_clear_error();
    HandshakeResult r;
    r.client_ok = !client_failed && SSL_is_init_finished(client_.get());
    r.server_ok = !server_failed && SSL_is_init_finished(server_.get());
    return r;
  }

  SSL* client() const { return client_.get(); }
  SSL* server() const { return server_.get(); }

  X509* server_certificate() const { return SSL_get0_peer_certificate(client_.get()); }

 private:
  static bool step(SSL* ssl) {
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) return true;
    int err = SSL_get_error(ssl, rc);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }

  static void move(SSL* from, SSL* to) {
    BIO* out = SSL_get_wbio(from);
    BIO* in = SSL_get_rbio(to);
    char buf[4096];
    int n;
    while ((n = BIO_read(out, buf, sizeof buf)) > 0) ASSERT_EQ(BIO_write(in, buf, n), n);
  }

  void pump() {
    move(client_.get(), server_.get());
    move(server_.get(), client_.get());
  }

  SslCtxPtr client_ctx_;
  SslPtr client_;
  SslPtr server_;
};

// --- fixtures ------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { dev_ = ensure_dev_certificates((tmp_.path() / "state").string()); }

  fs::path state() const { return tmp_.path() / "state"; }

  TlsOptions default_options() const {
    TlsOptions options;
    options.certificates.push_back({dev_.cert_chain_pem, dev_.private_key_pem});
    return options;
  }

  ClientOptions client_options() const {
    ClientOptions c;
    c.ca_file = dev_.ca_cert_pem;
    c.sni = "localhost";
    c.verify_host = "localhost";
    return c;
  }

  TempDir tmp_;
  DevCertificates dev_;
};

// --- development certificates ---------------------------------------------

TEST(DevCertificatesTest, CreatesFilesWithModesAndReusesThem) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "nested" / "deeper" / "state";
  DevCertificates first = ensure_dev_certificates(dir.string());

  EXPECT_EQ(fs::path(first.ca_cert_pem), dir / "dev-ca.pem");
  EXPECT_EQ(fs::path(first.cert_chain_pem), dir / "localhost.pem");
  EXPECT_EQ(fs::path(first.private_key_pem), dir / "localhost-key.pem");
  EXPECT_EQ(file_mode(dir), 0700u);
  EXPECT_EQ(file_mode(dir / "dev-ca-key.pem"), 0600u);
  EXPECT_EQ(file_mode(dir / "localhost-key.pem"), 0600u);
  EXPECT_EQ(file_mode(dir / "dev-ca.pem") & 0200u, 0200u);
  EXPECT_EQ(file_mode(dir / "localhost.pem") & 0200u, 0200u);
  // No temporary files left behind.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 4u);

  const std::string ca_bytes = read_file(first.ca_cert_pem);
  const std::string ca_key_bytes = read_file(dir / "dev-ca-key.pem");
  const std::string leaf_bytes = read_file(first.cert_chain_pem);
  const std::string key_bytes = read_file(first.private_key_pem);
  ASSERT_NE(ca_bytes.find("BEGIN CERTIFICATE"), std::string::npos);
  ASSERT_NE(key_bytes.find("PRIVATE KEY"), std::string::npos);

  DevCertificates second = ensure_dev_certificates(dir.string());
  EXPECT_EQ(second.ca_cert_pem, first.ca_cert_pem);
  EXPECT_EQ(read_file(second.ca_cert_pem), ca_bytes);
  EXPECT_EQ(read_file(dir / "dev-ca-key.pem"), ca_key_bytes);
  EXPECT_EQ(read_file(second.cert_chain_pem), leaf_bytes);
  EXPECT_EQ(read_file(second.private_key_pem), key_bytes);
}

TEST(DevCertificatesTest, RegeneratesBrokenLeafButKeepsCa) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "state";
  DevCertificates first = ensure_dev_certificates(dir.string());
  const std::string ca_bytes = read_file(first.ca_cert_pem);
  const std::string leaf_bytes = read_file(first.cert_chain_pem);

  // Missing leaf.
  fs::remove(first.cert_chain_pem);
  DevCertificates second = ensure_dev_certificates(dir.string());
  EXPECT_EQ(read_file(second.ca_cert_pem), ca_bytes);
  const std::string second_leaf = read_file(second.cert_chain_pem);
  EXPECT_FALSE(second_leaf.empty());
  EXPECT_NE(second_leaf, leaf_bytes);

  // Garbage leaf.
  std::ofstream(second.cert_chain_pem) << "not a certificate\n";
  DevCertificates third = ensure_dev_certificates(dir.string());
  EXPECT_EQ(read_file(third.ca_cert_pem), ca_bytes);
  EXPECT_EQ(read_certificates(third.cert_chain_pem).size(), 2u);

  // Key that does not match the leaf.
  DevCertificates other = issue_test_certificate(dir.string(), "other", {"other.test"}, false);
  fs::copy_file(other.private_key_pem, third.private_key_pem, fs::copy_options::overwrite_existing);
  const std::string third_leaf = read_file(third.cert_chain_pem);
  DevCertificates fourth = ensure_dev_certificates(dir.string());
  EXPECT_EQ(read_file(fourth.ca_cert_pem), ca_bytes);
  EXPECT_NE(read_file(fourth.cert_chain_pem), third_leaf);
  TlsOptions options;
  options.certificates.push_back({fourth.cert_chain_pem, fourth.private_key_pem});
  EXPECT_NO_THROW(TlsContext{options});
}

TEST(DevCertificatesTest, BrokenCaIsReplacedAndLeafReissued) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "state";
  DevCertificates first = ensure_dev_certificates(dir.string());
  const std::string ca_bytes = read_file(first.ca_cert_pem);
  std::ofstream(dir / "dev-ca-key.pem") << "garbage\n";
  DevCertificates second = ensure_dev_certificates(dir.string());
  EXPECT_NE(read_file(second.ca_cert_pem), ca_bytes);
  auto ca = read_certificates(second.ca_cert_pem);
  auto chain = read_certificates(second.cert_chain_pem);
  ASSERT_EQ(ca.size(), 1u);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(X509_verify(chain[0].get(), X509_get0_pubkey(ca[0].get())), 1);
}

TEST(DevCertificatesTest, LeafVerifiesAgainstCa) {
  TempDir tmp;
  DevCertificates dev = ensure_dev_certificates((tmp.path() / "state").string());
  auto ca = read_certificates(dev.ca_cert_pem);
  auto chain = read_certificates(dev.cert_chain_pem);
  ASSERT_EQ(ca.size(), 1u);
  ASSERT_EQ(chain.size(), 2u);  // leaf followed by the CA
  EXPECT_EQ(X509_cmp(chain[1].get(), ca[0].get()), 0);

  X509* leaf = chain[0].get();
  EXPECT_EQ(common_name_of(ca[0].get()), "trident development CA");
  EXPECT_EQ(common_name_of(leaf), "localhost");
  EXPECT_EQ(X509_check_ca(ca[0].get()), 1);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_check_host(leaf, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_NE(X509_check_host(leaf, "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_NE(X509_get0_subject_key_id(leaf), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(leaf), nullptr);

  // Serial: 128 random bits (positive, 16 bytes).
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf);
  EXPECT_EQ(ASN1_STRING_length(serial), 16);

  // Validity: not yet expired, starts slightly in the past, at most 825 days.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)), 1);
  EXPECT_LE(days * 86400L + secs, 825L * 86400L);
  EXPECT_GE(days, 824);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notBefore(leaf)), -1);
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca[0].get()),
                           X509_get0_notAfter(ca[0].get())),
            1);
  EXPECT_GE(days, 3649);

  X509_STORE* store = X509_STORE_new();
  ASSERT_EQ(X509_STORE_add_cert(store, ca[0].get()), 1);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  ASSERT_EQ(X509_STORE_CTX_init(ctx, store, leaf, nullptr), 1);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(X509_verify_cert(ctx), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
}

TEST(DevCertificatesTest, IssueTestCertificateUsesTheSameCa) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "certs";
  DevCertificates client = issue_test_certificate(dir.string(), "client1", {}, true);
  EXPECT_EQ(fs::path(client.cert_chain_pem), dir / "client1.pem");
  EXPECT_EQ(fs::path(client.private_key_pem), dir / "client1-key.pem");
  EXPECT_EQ(file_mode(client.private_key_pem), 0600u);
  const std::string ca_bytes = read_file(client.ca_cert_pem);

  DevCertificates dev = ensure_dev_certificates(dir.string());
  EXPECT_EQ(read_file(dev.ca_cert_pem), ca_bytes);

  auto ca = read_certificates(dev.ca_cert_pem);
  auto chain = read_certificates(client.cert_chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(common_name_of(chain[0].get()), "client1");
  EXPECT_EQ(X509_check_purpose(chain[0].get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_purpose(chain[0].get(), X509_PURPOSE_SSL_SERVER, 0), 0);
  EXPECT_EQ(X509_verify(chain[0].get(), X509_get0_pubkey(ca[0].get())), 1);

  DevCertificates server =
      issue_test_certificate(dir.string(), "multi", {"a.test", "*.b.test"}, false);
  auto multi = read_certificates(server.cert_chain_pem);
  ASSERT_FALSE(multi.empty());
  EXPECT_EQ(common_name_of(multi[0].get()), "a.test");
  EXPECT_EQ(X509_check_host(multi[0].get(), "x.b.test", 0, 0, nullptr), 1);

  EXPECT_THROW(issue_test_certificate(dir.string(), "dev-ca", {}, false), TlsError);
  EXPECT_THROW(issue_test_certificate(dir.string(), "bad", {"not a name"}, false), TlsError);
}

// --- context configuration ------------------------------------------------

TEST_F(TlsTest, ContextSettings) {
  TlsContext tls(default_options());
  SSL_CTX* ctx = tls.native();
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(ctx);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_NE(options & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
  EXPECT_EQ(options & SSL_OP_NO_TICKET, 0u);
  EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
}

TEST_F(TlsTest, BadCertificatePathThrowsNamingThePath) {
  TlsOptions options;
  options.certificates.push_back({"/nonexistent/trident/cert.pem", dev_.private_key_pem});
  try {
    TlsContext tls(options);
    FAIL() << "expected TlsError";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trident/cert.pem"), std::string::npos)
        << e.what();
  }

  options.certificates = {{dev_.cert_chain_pem, "/nonexistent/trident/key.pem"}};
  try {
    TlsContext tls(options);
    FAIL() << "expected TlsError";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trident/key.pem"), std::string::npos)
        << e.what();
  }

  // A key that does not belong to the certificate.
  DevCertificates other = issue_test_certificate(state().string(), "other", {"other.test"}, false);
  options.certificates = {{dev_.cert_chain_pem, other.private_key_pem}};
  try {
    TlsContext tls(options);
    FAIL() << "expected TlsError";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find(other.private_key_pem), std::string::npos) << e.what();
  }

  options = default_options();
  options.client_ca_pem = "/nonexistent/trident/ca.pem";
  try {
    TlsContext tls(options);
    FAIL() << "expected TlsError";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trident/ca.pem"), std::string::npos)
        << e.what();
  }

  EXPECT_THROW(TlsContext(TlsOptions{}), TlsError);
  options = default_options();
  options.require_client_cert = true;
  EXPECT_THROW(TlsContext{options}, TlsError);
}

// --- ALPN -----------------------------------------------------------------

TEST_F(TlsTest, AlpnPrefersH2) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.alpn = {"h2", "http/1.1"};
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "h2");
  EXPECT_EQ(negotiated_alpn(conn.client()), "h2");
}

TEST_F(TlsTest, AlpnUsesServerPreferenceOrder) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.alpn = {"http/1.1", "h2"};
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "h2");
}

TEST_F(TlsTest, AlpnHttp11Only) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.alpn = {"http/1.1"};
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "http/1.1");
  EXPECT_EQ(negotiated_alpn(conn.client()), "http/1.1");
}

TEST_F(TlsTest, AlpnNoOverlapProceedsWithoutAlpn) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.alpn = {"spdy/3", "imap"};
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "");
  EXPECT_EQ(negotiated_alpn(conn.client()), "");
}

TEST_F(TlsTest, AlpnNotOffered) {
  TlsContext tls(default_options());
  Connection conn(tls.native(), client_options());
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "");
  EXPECT_EQ(negotiated_alpn(nullptr), "");
}

TEST_F(TlsTest, CustomAlpnList) {
  TlsOptions options = default_options();
  options.alpn = {"http/1.1"};
  TlsContext tls(options);
  ClientOptions c = client_options();
  c.alpn = {"h2", "http/1.1"};
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(negotiated_alpn(conn.server()), "http/1.1");

  options.alpn = {""};
  EXPECT_THROW(TlsContext{options}, TlsError);
}

TEST_F(TlsTest, Tls12WorksAndTls11IsRefused) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.alpn = {"h2", "http/1.1"};
  c.max_version = TLS1_2_VERSION;
  Connection tls12(tls.native(), c);
  ASSERT_TRUE(tls12.handshake().ok());
  EXPECT_EQ(SSL_version(tls12.server()), TLS1_2_VERSION);
  EXPECT_EQ(negotiated_alpn(tls12.server()), "h2");

  c.max_version = TLS1_1_VERSION;
  Connection tls11(tls.native(), c);
  HandshakeResult r = tls11.handshake();
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);
}

// --- SNI ------------------------------------------------------------------

class SniTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    other_ =
        issue_test_certificate(state().string(), "other", {"other.test", "*.wild.test"}, false);
    options_ = default_options();
    options_.certificates.push_back({other_.cert_chain_pem, other_.private_key_pem});
  }

  // Handshakes with `sni` and returns the CN of the certificate the server sent.
  std::string served_common_name(const TlsContext& tls, const std::string& sni,
                                 const std::string& verify_host) {
    ClientOptions c = client_options();
    c.sni = sni;
    c.verify_host = verify_host;
    c.alpn = {"h2", "http/1.1"};
    Connection conn(tls.native(), c);
    HandshakeResult r = conn.handshake();
    EXPECT_TRUE(r.ok()) << "sni=" << sni;
    if (!r.ok()) return {};
    EXPECT_EQ(negotiated_alpn(conn.server()), "h2") << "sni=" << sni;
    X509* cert = conn.server_certificate();
    EXPECT_NE(cert, nullptr);
    if (cert == nullptr) return {};
    if (!verify_host.empty()) {
      EXPECT_EQ(X509_check_host(cert, verify_host.c_str(), 0, 0, nullptr), 1);
    }
    return common_name_of(cert);
  }

  DevCertificates other_;
  TlsOptions options_;
};

TEST_F(SniTest, SelectsCertificateByName) {
  TlsContext tls(options_);
  EXPECT_EQ(served_common_name(tls, "other.test", "other.test"), "other.test");
  EXPECT_EQ(served_common_name(tls, "OTHER.Test", "other.test"), "other.test");
  EXPECT_EQ(served_common_name(tls, "localhost", "localhost"), "localhost");
}

TEST_F(SniTest, WildcardMatchesExactlyOneLabel) {
  TlsContext tls(options_);
  EXPECT_EQ(served_common_name(tls, "a.wild.test", "a.wild.test"), "other.test");
  EXPECT_EQ(served_common_name(tls, "B.Wild.Test", "b.wild.test"), "other.test");
  EXPECT_EQ(served_common_name(tls, "a.b.wild.test", ""), "localhost");
  EXPECT_EQ(served_common_name(tls, "wild.test", ""), "localhost");
}

TEST_F(SniTest, UnknownNameOrNoSniGetsDefault) {
  TlsContext tls(options_);
  EXPECT_EQ(served_common_name(tls, "unknown.example", ""), "localhost");
  EXPECT_EQ(served_common_name(tls, "", "localhost"), "localhost");
}

TEST_F(SniTest, OtherCertificateFirstBecomesDefault) {
  TlsOptions options;
  options.certificates = {options_.certificates[1], options_.certificates[0]};
  TlsContext tls(options);
  EXPECT_EQ(served_common_name(tls, "unknown.example", ""), "other.test");
  EXPECT_EQ(served_common_name(tls, "localhost", "localhost"), "localhost");
}

TEST_F(SniTest, ContextOutlivesTlsContextWhileReferenced) {
  SSL_CTX* ctx = nullptr;
  {
    TlsContext tls(options_);
    ctx = tls.native();
    SSL_CTX_up_ref(ctx);
  }
  ClientOptions c = client_options();
  c.sni = "other.test";
  c.verify_host = "other.test";
  c.alpn = {"h2"};
  {
    Connection conn(ctx, c);
    ASSERT_TRUE(conn.handshake().ok());
    EXPECT_EQ(negotiated_alpn(conn.server()), "h2");
  }
  SSL_CTX_free(ctx);
}

// --- mTLS -----------------------------------------------------------------

class MtlsTest : public SniTest {
 protected:
  void SetUp() override {
    SniTest::SetUp();
    client_ = issue_test_certificate(state().string(), "client1", {}, true);
    options_.client_ca_pem = dev_.ca_cert_pem;
    options_.require_client_cert = true;
  }

  DevCertificates client_;
};

TEST_F(MtlsTest, RequiredClientCertificateMissingFails) {
  TlsContext tls(options_);
  EXPECT_EQ(SSL_CTX_get_verify_mode(tls.native()),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  Connection conn(tls.native(), client_options());
  HandshakeResult r = conn.handshake();
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);
  EXPECT_EQ(peer_certificate_subject(conn.server()), "");
}

TEST_F(MtlsTest, RequiredClientCertificateMissingFailsAfterSniSwitch) {
  TlsContext tls(options_);
  ClientOptions c = client_options();
  c.sni = "other.test";
  c.verify_host = "other.test";
  Connection conn(tls.native(), c);
  HandshakeResult r = conn.handshake();
  EXPECT_FALSE(r.server_ok);
}

TEST_F(MtlsTest, ClientCertificateAccepted) {
  TlsContext tls(options_);
  for (const char* sni : {"localhost", "other.test"}) {
    ClientOptions c = client_options();
    c.sni = sni;
    c.verify_host = sni;
    c.cert_file = client_.cert_chain_pem;
    c.key_file = client_.private_key_pem;
    c.alpn = {"h2", "http/1.1"};
    Connection conn(tls.native(), c);
    ASSERT_TRUE(conn.handshake().ok()) << sni;
    EXPECT_EQ(peer_certificate_subject(conn.server()), "CN=client1");
    EXPECT_EQ(negotiated_alpn(conn.server()), "h2");
  }
}

TEST_F(MtlsTest, ClientCertificateFromAnotherCaRejected) {
  TempDir elsewhere;
  DevCertificates mallory = issue_test_certificate(elsewhere.path().string(), "mallory", {}, true);
  TlsContext tls(options_);
  ClientOptions c = client_options();
  c.cert_file = mallory.cert_chain_pem;
  c.key_file = mallory.private_key_pem;
  Connection conn(tls.native(), c);
  HandshakeResult r = conn.handshake();
  EXPECT_FALSE(r.server_ok);
  EXPECT_EQ(peer_certificate_subject(conn.server()), "");
}

TEST_F(MtlsTest, OptionalClientCertificate) {
  options_.require_client_cert = false;
  TlsContext tls(options_);
  EXPECT_EQ(SSL_CTX_get_verify_mode(tls.native()), SSL_VERIFY_PEER);
  {
    Connection conn(tls.native(), client_options());
    ASSERT_TRUE(conn.handshake().ok());
    EXPECT_EQ(peer_certificate_subject(conn.server()), "");
  }
  {
    ClientOptions c = client_options();
    c.cert_file = client_.cert_chain_pem;
    c.key_file = client_.private_key_pem;
    Connection conn(tls.native(), c);
    ASSERT_TRUE(conn.handshake().ok());
    EXPECT_EQ(peer_certificate_subject(conn.server()), "CN=client1");
  }
}

TEST_F(MtlsTest, NoClientCaMeansNoClientCertificateRequest) {
  TlsContext tls(default_options());
  ClientOptions c = client_options();
  c.cert_file = client_.cert_chain_pem;
  c.key_file = client_.private_key_pem;
  Connection conn(tls.native(), c);
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_EQ(peer_certificate_subject(conn.server()), "");
  EXPECT_EQ(peer_certificate_subject(nullptr), "");
}

}  // namespace
