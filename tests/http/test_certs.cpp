// test_certs: self-signed P-256 certificates with subjectAltName, made with the OpenSSL API.
#include "test_certs.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>

#include <unistd.h>

namespace http_test {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string("openssl: ") + what);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

tls_identity make_self_signed(const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses) {
  pkey_ptr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  std::random_device rd;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(rd() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("txoutbox test server"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);

  std::string san;
  for (const auto& d : dns_names)
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ip_addresses)
    san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (!san.empty())
    add_ext(NID_subject_alt_name, san);
  add_ext(NID_basic_constraints, "critical,CA:TRUE");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

  tls_identity out;
  bio_ptr cert_bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
  out.cert_pem = bio_text(cert_bio.get());
  bio_ptr key_bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
            1,
        "PEM_write_bio_PrivateKey");
  out.key_pem = bio_text(key_bio.get());
  return out;
}

std::string write_temp_file(const std::string& stem, const std::string& text) {
  static std::atomic<int> counter{0};
  const auto path =
      std::filesystem::temp_directory_path() / ("txoutbox-http-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(counter++) + "-" + stem);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
  return path.string();
}

}  // namespace http_test
