//! A provider's own TLS certificate authority.
//!
//! This is *not* the participant-credential CA of RCC.16 (that one lives in
//! `crosslock-credential` and the KDS). It issues the certificates that carry
//! HTTPS: server certificates for a provider's endpoints, and the client
//! certificates one provider presents to another over mutual TLS. Peers pin
//! it as a trust root in their configuration.

use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::cert;
use crate::error::TlsError;
use crate::identity::{Identity, sha256};
use crate::key::{KeyPair, RcgenKey};
use crate::pem;

/// File name of the CA certificate inside its directory.
pub const CA_CERT_FILE: &str = "tls-ca.pem";
/// File name of the CA private key inside its directory (mode 0600).
pub const CA_KEY_FILE: &str = "tls-ca.key";

/// How long a CA certificate is valid.
const CA_LIFETIME: Duration = Duration::days(3650);
/// How long a server or client certificate is valid.
const LEAF_LIFETIME: Duration = Duration::days(365);
/// Validity starts this long before issuance, for peers whose clocks lag.
const BACKDATE: Duration = Duration::hours(1);

/// A small certificate authority for TLS (not the participant-credential
/// CA): a provider's development TLS root, issuing server certificates and
/// federation client certificates.
pub struct TlsCa {
    params: CertificateParams,
    certificate: Vec<u8>,
    key: KeyPair,
}

impl std::fmt::Debug for TlsCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsCa")
            .field(
                "certificate_sha256",
                &crate::identity::hex(&sha256(&self.certificate)),
            )
            .field("key", &self.key)
            .finish()
    }
}

impl TlsCa {
    /// A new self-signed root named `name` (its common name): P-256, valid
    /// about ten years, basicConstraints cA with pathLen 0 (it signs only
    /// end-entity certificates).
    pub fn generate(name: &str) -> Result<TlsCa, TlsError> {
        if name.trim().is_empty() {
            return Err(TlsError::Issue("the CA needs a non-empty name".into()));
        }
        let key = KeyPair::generate()?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        let mut params = ca_params(dn, &key);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_LIFETIME;
        params.serial_number = Some(random_serial()?);
        let certificate = params
            .self_signed(&RcgenKey(&key))
            .map_err(issue_error)?
            .der()
            .to_vec();
        Ok(TlsCa {
            params,
            certificate,
            key,
        })
    }

    /// Opens the CA saved in `dir` ([`CA_CERT_FILE`] and [`CA_KEY_FILE`]).
    /// The certificate must be a CA whose key is the one in the key file.
    pub fn load(dir: &Path) -> Result<TlsCa, TlsError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let cert_origin = cert_path.display().to_string();
        let certificate = pem::decode_certificates(&pem::read(&cert_path)?, &cert_origin)?
            .into_iter()
            .next()
            .ok_or_else(|| TlsError::certificate(&cert_origin, "no certificate"))?;
        let key_path = dir.join(CA_KEY_FILE);
        let key = KeyPair::from_pem_file(&key_path)?;
        let facts = cert::inspect(&certificate, &cert_origin)?;
        if !facts.is_ca {
            return Err(TlsError::certificate(&cert_origin, "not a CA certificate"));
        }
        if facts.public_key != key.public_key_sec1() {
            return Err(TlsError::certificate(
                &cert_origin,
                format!("does not match the private key in {}", key_path.display()),
            ));
        }
        let dn = facts
            .subject
            .map_err(|reason| TlsError::certificate(&cert_origin, reason))?;
        Ok(TlsCa {
            params: ca_params(dn, &key),
            certificate,
            key,
        })
    }

    /// Writes the CA to `dir` (created if missing): the certificate as PEM
    /// and the key as PKCS#8 PEM with mode 0600.
    pub fn save(&self, dir: &Path) -> Result<(), TlsError> {
        std::fs::create_dir_all(dir).map_err(|e| TlsError::io(dir, e))?;
        pem::write(
            &dir.join(CA_KEY_FILE),
            self.key.to_pem_zeroizing().as_bytes(),
            true,
        )?;
        pem::write(
            &dir.join(CA_CERT_FILE),
            self.certificate_pem().as_bytes(),
            false,
        )
    }

    /// Loads the CA in `dir` if there is one; otherwise generates one named
    /// `name` and saves it there. Half a CA (only one of the two files) is
    /// an error rather than something to overwrite.
    pub fn load_or_generate(dir: &Path, name: &str) -> Result<TlsCa, TlsError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        match (exists(&cert_path)?, exists(&key_path)?) {
            (true, true) => Self::load(dir),
            (false, false) => {
                let ca = Self::generate(name)?;
                ca.save(dir)?;
                Ok(ca)
            }
            (true, false) => Err(TlsError::io(
                key_path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "CA certificate exists without its key",
                ),
            )),
            (false, true) => Err(TlsError::io(
                cert_path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "CA key exists without its certificate",
                ),
            )),
        }
    }

    /// The CA certificate, DER (what peers put in their trust roots).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        pem::encode_chain(std::slice::from_ref(&self.certificate))
    }

    /// Server certificate for DNS names and IP addresses (SANs), serverAuth
    /// EKU, valid about a year, with a fresh key. The first name is also the
    /// subject's common name.
    pub fn issue_server(&self, dns_names: &[&str], ips: &[IpAddr]) -> Result<Identity, TlsError> {
        let mut sans = Vec::with_capacity(dns_names.len() + ips.len());
        for name in dns_names {
            let ia5 = rcgen::string::Ia5String::try_from(*name)
                .map_err(|e| TlsError::Issue(format!("DNS name {name:?}: {e}")))?;
            sans.push(SanType::DnsName(ia5));
        }
        sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        let common_name = match (dns_names.first(), ips.first()) {
            (Some(name), _) => (*name).to_owned(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => {
                return Err(TlsError::Issue(
                    "a server certificate needs at least one DNS name or IP address".into(),
                ));
            }
        };
        self.issue_leaf(&common_name, sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// Client certificate (clientAuth EKU) naming `name` (CN and a DNS SAN),
    /// valid about a year, with a fresh key: what a provider presents when it
    /// calls a peer provider.
    pub fn issue_client(&self, name: &str) -> Result<Identity, TlsError> {
        if name.is_empty() {
            return Err(TlsError::Issue("a client certificate needs a name".into()));
        }
        let ia5 = rcgen::string::Ia5String::try_from(name)
            .map_err(|e| TlsError::Issue(format!("client name {name:?}: {e}")))?;
        self.issue_leaf(
            name,
            vec![SanType::DnsName(ia5)],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn issue_leaf(
        &self,
        common_name: &str,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Identity, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = key_id(&key);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + LEAF_LIFETIME;
        params.serial_number = Some(random_serial()?);
        let issuer = Issuer::from_params(&self.params, RcgenKey(&self.key));
        let leaf = params
            .signed_by(&RcgenKey(&key), &issuer)
            .map_err(issue_error)?;
        Ok(Identity {
            chain: vec![leaf.der().to_vec()],
            key,
        })
    }
}

/// The parameters that describe the CA as an issuer. Rebuilt identically on
/// load, so certificates issued after a restart name the same issuer and
/// authority key identifier.
fn ca_params(dn: DistinguishedName, key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = key_id(key);
    params
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the
/// subjectPublicKey bits.
fn key_id(key: &KeyPair) -> KeyIdMethod {
    KeyIdMethod::PreSpecified(sha256(key.public_key_sec1())[..20].to_vec())
}

/// 16 random bytes, positive and without a leading zero byte (RFC 5280
/// §4.1.2.2: a positive integer of at most 20 octets).
fn random_serial() -> Result<SerialNumber, TlsError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| TlsError::Random)?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&serial))
}

fn issue_error(e: rcgen::Error) -> TlsError {
    match e {
        rcgen::Error::RemoteKeyError => TlsError::Signing,
        other => TlsError::Issue(other.to_string()),
    }
}

fn exists(path: &Path) -> Result<bool, TlsError> {
    path.try_exists().map_err(|e| TlsError::io(path, e))
}
