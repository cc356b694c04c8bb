//! TLS and mutual TLS between services, from PEM files as Kubernetes mounts
//! them (a `kubernetes.io/tls` Secret: `tls.crt`, `tls.key`, `ca.crt`).
//!
//! Off by default: loopback meshes and tests stay plaintext. A server with a
//! certificate serves TLS; with a client CA too it requires every client to
//! present a certificate chaining to that CA (mutual TLS). A client with a CA
//! verifies the server; with a certificate and key it also proves itself.
//!
//! Files are read and parsed once at start-up, so a bad file is a one-line
//! error naming the file and what is wrong with it — never its contents (a key
//! must not end up in a log). Certificates are not reloaded: a rotated Secret
//! takes effect when the pod restarts (the chart rolls pods when it changes).

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// TLS of a server. Serving TLS needs `cert_file` and `key_file`; adding
/// `client_ca_file` makes it mutual TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerTls {
    /// PEM certificate chain of this server (leaf first).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// PEM CA certificate(s) client certificates must chain to; set, a client
    /// without a valid certificate is refused during the handshake.
    pub client_ca_file: Option<PathBuf>,
}

/// TLS of a client channel. Set `ca_file` to use TLS (endpoints must then be
/// `https://`); add `cert_file` and `key_file` for mutual TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTls {
    /// PEM CA certificate(s) the server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain this client presents (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Name the server's certificate must carry, when it differs from the
    /// endpoint's host (e.g. calls by pod IP to a certificate for the Service).
    pub domain_name: Option<String>,
}

/// Why TLS could not be set up. Messages name files, never their contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A setting needs another one.
    #[error("tls: {0}")]
    Incomplete(&'static str),
    /// A file cannot be read.
    #[error("tls: cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error kind (not the contents).
        reason: std::io::ErrorKind,
    },
    /// A file holds no usable PEM item of the expected kind.
    #[error("tls: {path} holds no valid PEM {kind}")]
    BadPem {
        /// The file.
        path: String,
        /// What was expected in it.
        kind: &'static str,
    },
    /// tonic rejected the configuration.
    #[error("tls: {0}")]
    Transport(String),
}

impl ServerTls {
    /// Whether the server serves TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some() || self.client_ca_file.is_some()
    }

    /// Reads the files into tonic's server TLS config, or `None` when TLS is off.
    pub fn load(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        if !self.enabled() {
            return Ok(None);
        }
        crate::install_crypto_provider();
        let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) else {
            return Err(TlsError::Incomplete("server.tls needs both cert_file and key_file"));
        };
        let mut config = ServerTlsConfig::new().identity(identity(cert, key)?);
        if let Some(ca) = &self.client_ca_file {
            config = config.client_ca_root(ca_certificate(ca)?);
        }
        Ok(Some(config))
    }
}

impl ClientTls {
    /// Whether the client uses TLS.
    pub fn enabled(&self) -> bool {
        self.ca_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }

    /// Reads the files into tonic's client TLS config, or `None` when TLS is off.
    pub fn load(&self) -> Result<Option<ClientTlsConfig>, TlsError> {
        if !self.enabled() {
            return Ok(None);
        }
        crate::install_crypto_provider();
        let Some(ca) = &self.ca_file else {
            return Err(TlsError::Incomplete("client tls needs ca_file to verify the server"));
        };
        let mut config = ClientTlsConfig::new().ca_certificate(ca_certificate(ca)?);
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => config = config.identity(identity(cert, key)?),
            (None, None) => {}
            _ => return Err(TlsError::Incomplete("client tls needs both cert_file and key_file, or neither")),
        }
        if let Some(name) = &self.domain_name {
            config = config.domain_name(name.clone());
        }
        Ok(Some(config))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read { path: path.display().to_string(), reason: e.kind() })
}

/// Certificate chain + key, each checked to parse so that a wrong file fails
/// here with its name instead of later in a handshake.
fn identity(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let cert_pem = certificates(cert, "certificate")?;
    let key_pem = read(key)?;
    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::BadPem { path: key.display().to_string(), kind: "private key" })?;
    Ok(Identity::from_pem(cert_pem, key_pem))
}

fn ca_certificate(path: &Path) -> Result<Certificate, TlsError> {
    Ok(Certificate::from_pem(certificates(path, "CA certificate")?))
}

fn certificates(path: &Path, kind: &'static str) -> Result<Vec<u8>, TlsError> {
    let pem = read(path)?;
    let bad = || TlsError::BadPem { path: path.display().to_string(), kind };
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|_| bad())?;
    if certs.is_empty() {
        return Err(bad());
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default() {
        assert!(ServerTls::default().load().unwrap().is_none());
        assert!(ClientTls::default().load().unwrap().is_none());
    }

    #[test]
    fn a_key_without_a_certificate_is_a_one_line_error() {
        let err = ServerTls { key_file: Some("/k".into()), ..Default::default() }.load().unwrap_err().to_string();
        assert!(err.contains("cert_file"), "{err}");
    }

    #[test]
    fn a_bad_key_file_is_named_without_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&cert, ca.cert.pem()).unwrap();
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nPLANTED-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n").unwrap();
        let err = ServerTls { cert_file: Some(cert), key_file: Some(key.clone()), client_ca_file: None }.load().unwrap_err().to_string();
        assert!(err.contains(&key.display().to_string()), "{err}");
        assert!(!err.contains("PLANTED"), "{err}");
    }
}
