#include "crypto/x509.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/strings.h"

namespace cloison::crypto {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Status WriteFile(const std::string& path, const uint8_t* data, size_t size, mode_t mode) {
  // Created with `mode`; an existing file is first made private, then truncated.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return IOError(StrCat("cannot write ", path));
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return IOError(StrCat("cannot set the mode of ", path));
  }
  size_t off = 0;
  while (off < size) {
    const ssize_t w = ::write(fd, data + off, size - off);
    if (w < 0) {
      ::close(fd);
      return IOError(StrCat("cannot write ", path));
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return IOError(StrCat("cannot sync ", path));
  return OkStatus();
}

}  // namespace

StatusOr<CertificateAndKey> GenerateSelfSigned(const SelfSignedOptions& options) {
  if (options.valid_days <= 0 || options.valid_days > 3650) return InvalidArgument("valid_days must be in 1..3650");
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return Internal("EC P-256 key generation failed");
  Ptr<X509> cert(X509_new());
  if (!cert) return Internal("X509_new failed");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Internal("RAND_bytes failed");
  serial[0] &= 0x7F;  // positive
  Ptr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) return Internal("serial failed");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(options.valid_days) * 86400);
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return Internal("X509_set_pubkey failed");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Cloison demo"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!AddExtension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") ||
      !AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"))
    return Internal("certificate extensions failed");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return Internal("certificate signing failed");

  CertificateAndKey out;
  Ptr<BIO> cb(BIO_new(BIO_s_mem()));
  if (!cb || PEM_write_bio_X509(cb.get(), cert.get()) != 1) return Internal("PEM encoding of the certificate failed");
  out.cert_pem = BioText(cb.get());
  Ptr<BIO> kb(BIO_new(BIO_s_secmem()));
  if (!kb) kb.reset(BIO_new(BIO_s_mem()));
  if (!kb || PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Internal("PEM encoding of the key failed");
  char* data = nullptr;
  const long n = BIO_get_mem_data(kb.get(), &data);
  if (n <= 0) return Internal("PEM encoding of the key failed");
  out.key_pem = SecretBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(n)));
  return out;
}

Status WriteCertificateFiles(const CertificateAndKey& pair, const std::string& cert_path, const std::string& key_path) {
  CLOISON_RETURN_IF_ERROR(WriteFile(key_path, pair.key_pem.data(), pair.key_pem.size(), 0600));
  return WriteFile(cert_path, reinterpret_cast<const uint8_t*>(pair.cert_pem.data()), pair.cert_pem.size(), 0644);
}

}  // namespace cloison::crypto
