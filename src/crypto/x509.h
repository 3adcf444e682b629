// Self-signed TLS certificates for the demo and for tests: an EC P-256 key
// and a certificate for 127.0.0.1 / ::1 / localhost, signed by itself. Real
// deployments bring a certificate from their PKI (`cloison serve --cert
// --key`); this exists so `cloison serve` is TLS by default out of the box.
//
// Thread-safety: the functions are independent and reentrant.
// Failure: Internal when OpenSSL fails, IOError when a file cannot be written.
#pragma once

#include <string>

#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

struct SelfSignedOptions {
  std::string common_name = "localhost";
  int valid_days = 365;
};

struct CertificateAndKey {
  std::string cert_pem;  // public
  SecretBytes key_pem;   // PKCS#8 private key, PEM
};

// A fresh key pair and a self-signed certificate (SHA-256, SAN: DNS
// localhost, IP 127.0.0.1, IP ::1; serial random; basicConstraints CA:FALSE;
// extendedKeyUsage serverAuth).
StatusOr<CertificateAndKey> GenerateSelfSigned(const SelfSignedOptions& options = {});

// Writes the pair: the certificate mode 0644, the key mode 0600 (created with
// that mode, never world-readable in between). Overwrites existing files.
Status WriteCertificateFiles(const CertificateAndKey& pair, const std::string& cert_path, const std::string& key_path);

}  // namespace cloison::crypto
