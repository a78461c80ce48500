//! The key material a provider keeps in its data dir, made on first start
//! and reused after:
//!
//! ```text
//! tls/tls-ca.pem, tls/tls-ca.key     development TLS CA (devices trust its certificate)
//! tls/server.pem, tls/server.key     device-facing certificate (re-issued each start)
//! tls/federation.pem, .key           client certificate presented to peers (stable: peers pin it)
//! ca/credential-ca.der               participant-credential CA certificate
//! ca/credential-ca.key               its key (only without a PKCS#11 token)
//! carrier/carrier.key                the built-in carrier's proof key
//! kt/keys/                           transparency log key and VRF key
//! ```
//!
//! Private keys are written with mode 0600 and never logged.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crosslock_credential::{CertSigner, CertificateAuthority, PublicKey};
use crosslock_profile::Environment;
use crosslock_tls::{Identity, KeyPair, TlsCa};

use crate::config::ProviderConfig;
use crate::error::ProviderError;

/// The credential CA: its certificate and the signer holding its key.
pub(crate) struct CredentialCa {
    pub(crate) ca: CertificateAuthority,
    pub(crate) signer: Arc<dyn CertSigner + Send + Sync>,
}

/// Everything key-shaped a provider needs to start.
pub(crate) struct ProviderKeys {
    pub(crate) tls_ca: TlsCa,
    pub(crate) server: Identity,
    pub(crate) federation_client: Identity,
    pub(crate) credential: CredentialCa,
    pub(crate) carrier: Option<Arc<KeyPair>>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ProviderError + '_ {
    move |e| ProviderError::DataDir {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

fn key_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> ProviderError + '_ {
    move |e| ProviderError::Keys(format!("{what}: {e}"))
}

/// Creates `dir` (and parents), owner-only.
pub(crate) fn private_dir(dir: &Path) -> Result<(), ProviderError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(dir))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename; mode
/// 0600 when `secret`.
pub(crate) fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), ProviderError> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if secret { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
        std::io::Write::write_all(&mut file, bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// A P-256 key kept in a PEM file: loaded, or generated and saved.
fn key_file(path: &Path) -> Result<KeyPair, ProviderError> {
    if path.exists() {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io_err(path))?);
        return KeyPair::from_pem(&text)
            .map_err(|e| key_err(&format!("key file {}", path.display()))(&e));
    }
    let key = KeyPair::generate().map_err(|e| key_err("generate key")(&e))?;
    write_file(path, zeroize::Zeroizing::new(key.to_pem()).as_bytes(), true)?;
    Ok(key)
}

/// An identity issued once by `ca` and kept in `dir/name.{pem,key}`.
fn stable_identity(
    dir: &Path,
    name: &str,
    issue: impl FnOnce() -> Result<Identity, crosslock_tls::TlsError>,
) -> Result<Identity, ProviderError> {
    let (cert, key) = identity_paths(dir, name);
    if cert.exists() && key.exists() {
        return Identity::load(&cert, &key).map_err(|e| key_err(name)(&e));
    }
    let identity = issue().map_err(|e| key_err(name)(&e))?;
    identity.save(&cert, &key).map_err(|e| key_err(name)(&e))?;
    Ok(identity)
}

/// The host part of an `https://host[:port][/path]` URL (IPv6 literals
/// without their brackets).
fn public_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

fn identity_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
}

impl ProviderKeys {
    /// Loads what `data_dir` holds and makes what is missing.
    pub(crate) fn load_or_create(
        config: &ProviderConfig,
        data_dir: &Path,
        env: &Environment,
    ) -> Result<ProviderKeys, ProviderError> {
        let name = &config.provider.name;
        let tls_dir = data_dir.join("tls");
        private_dir(&tls_dir)?;
        let tls_ca = TlsCa::load_or_generate(&tls_dir, &format!("{name} development TLS CA"))
            .map_err(|e| key_err("TLS CA")(&e))?;
        let server = match (&config.tls.cert, &config.tls.key) {
            (Some(cert), Some(key)) => {
                Identity::load(cert, key).map_err(|e| key_err("tls.cert")(&e))?
            }
            _ => {
                let mut names: Vec<&str> = vec!["localhost"];
                names.extend(config.tls.server_names.iter().map(String::as_str));
                let mut ips: Vec<IpAddr> = vec![config.provider.listen.ip()];
                if config.provider.listen.ip().is_unspecified() {
                    ips = vec![IpAddr::from([127, 0, 0, 1])];
                }
                // The host devices reach, when public_url names one.
                let public_host = public_host(&config.provider.public_url);
                match public_host.as_deref().map(|h| (h, h.parse::<IpAddr>())) {
                    Some((_, Ok(ip))) if !ips.contains(&ip) => ips.push(ip),
                    Some((host, Err(_))) if !names.contains(&host) => names.push(host),
                    _ => {}
                }
                if config.provider.federation_listen.ip() != ips[0]
                    && !config.provider.federation_listen.ip().is_unspecified()
                {
                    ips.push(config.provider.federation_listen.ip());
                }
                let identity = tls_ca
                    .issue_server(&names, &ips)
                    .map_err(|e| key_err("server certificate")(&e))?;
                let (cert, key) = identity_paths(&tls_dir, "server");
                identity
                    .save(&cert, &key)
                    .map_err(|e| key_err("server certificate")(&e))?;
                identity
            }
        };
        let federation_client =
            stable_identity(&tls_dir, "federation", || tls_ca.issue_client(name))?;

        let credential = credential_ca(config, data_dir, env)?;

        let carrier = if config.carrier.enabled {
            let dir = data_dir.join("carrier");
            private_dir(&dir)?;
            Some(Arc::new(key_file(&dir.join("carrier.key"))?))
        } else {
            None
        };
        Ok(ProviderKeys {
            tls_ca,
            server,
            federation_client,
            credential,
            carrier,
        })
    }
}

/// The credential CA: key in a PKCS#11 token when one is configured,
/// otherwise in `ca/credential-ca.key`; certificate in
/// `ca/credential-ca.der`, made on first start.
fn credential_ca(
    config: &ProviderConfig,
    data_dir: &Path,
    env: &Environment,
) -> Result<CredentialCa, ProviderError> {
    let dir = data_dir.join("ca");
    private_dir(&dir)?;
    let section = &config.credential_ca;
    let signer: Arc<dyn CertSigner + Send + Sync> = match &section.pkcs11_module {
        Some(module) => {
            let pin = std::env::var(&section.pin_env).map_err(|_| {
                ProviderError::Keys(format!(
                    "credential_ca: set {} to the user PIN of token {:?}",
                    section.pin_env, section.token_label
                ))
            })?;
            let token = crosslock_hsm::Pkcs11Token::open(module, &section.token_label, &pin)
                .map_err(|e| key_err("credential_ca token")(&e))?;
            Arc::new(
                token
                    .find_or_generate_p256(&section.key_label)
                    .map_err(|e| key_err("credential_ca key")(&e))?,
            )
        }
        None => Arc::new(key_file(&dir.join("credential-ca.key"))?),
    };
    let cert_path = dir.join("credential-ca.der");
    let ca_name = format!("{} credential root", config.provider.name);
    let ca = if cert_path.exists() {
        let der = std::fs::read(&cert_path).map_err(io_err(&cert_path))?;
        let ca = CertificateAuthority::load(&ca_name, der)
            .map_err(|e| key_err("credential CA certificate")(&e))?;
        let public: PublicKey = ca
            .public_key()
            .map_err(|e| key_err("credential CA certificate")(&e))?;
        if &public != signer.public_key() {
            return Err(ProviderError::Keys(format!(
                "{} was made for another key than the credential CA key configured now; \
                 restore the key, or move the data dir aside to start a new provider",
                cert_path.display()
            )));
        }
        ca
    } else {
        let now = env.now();
        let serial: [u8; 16] = env.random();
        let ca = CertificateAuthority::new_root(
            &ca_name,
            now.saturating_sub(3600),
            now + 3650 * 86_400,
            serial,
            signer.as_ref(),
        )
        .map_err(|e| key_err("credential CA certificate")(&e))?;
        write_file(&cert_path, ca.certificate(), false)?;
        ca
    };
    Ok(CredentialCa { ca, signer })
}

#[cfg(test)]
mod tests {
    use super::public_host;

    #[test]
    fn public_hosts() {
        assert_eq!(
            public_host("https://a.example:8443/x").as_deref(),
            Some("a.example")
        );
        assert_eq!(public_host("https://10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(public_host("https://[::1]:8443").as_deref(), Some("::1"));
        assert_eq!(public_host(""), None);
        assert_eq!(public_host("https://"), None);
    }
}
