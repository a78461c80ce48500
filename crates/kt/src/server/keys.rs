//! The directory's two secrets: the VRF key (which hides numbers behind
//! labels, and must never change for the life of the directory) and the log
//! key (which signs epoch roots).

use std::path::Path;

use akd_core::ecvrf::{VRFKeyStorage, VRFPublicKey, VrfError};

use crate::keys::SigningKey;
use crate::server::error::KtServerError;

/// The VRF secret key (32 bytes).
#[derive(Clone)]
pub struct VrfSecret([u8; 32]);

impl std::fmt::Debug for VrfSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VrfSecret(..)")
    }
}

impl VrfSecret {
    /// A fresh key from AWS-LC's generator, like the log's signing key:
    /// key material comes from the crypto library, not the service's
    /// environment (whose entropy may be seeded in tests).
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        // Without randomness no key is safe to make.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(&mut key).expect("AWS-LC random source failed");
        VrfSecret(key)
    }

    /// From its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        VrfSecret(bytes)
    }

    /// The 32 secret bytes (to store).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The VRF public key clients verify labels with.
    pub fn public_key(&self) -> [u8; 32] {
        let secret = akd_core::ecvrf::VRFPrivateKey::try_from(&self.0[..]);
        #[allow(clippy::expect_used)]
        let secret = secret.expect("32 bytes are always a VRF secret key");
        let public: VRFPublicKey = (&secret).into();
        public.to_bytes()
    }
}

#[async_trait::async_trait]
impl VRFKeyStorage for VrfSecret {
    async fn retrieve(&self) -> Result<Vec<u8>, VrfError> {
        Ok(self.0.to_vec())
    }
}

/// A log's keys.
#[derive(Debug)]
pub struct LogKeys {
    /// Signs epoch roots.
    pub log_key: SigningKey,
    /// Hides numbers behind labels.
    pub vrf: VrfSecret,
}

impl LogKeys {
    /// Fresh keys.
    pub fn generate() -> Result<Self, KtServerError> {
        Ok(LogKeys {
            log_key: SigningKey::generate()?,
            vrf: VrfSecret::generate(),
        })
    }

    /// Loads `log-key.pk8` and `vrf.key` from `dir`, creating both (mode
    /// 0600) when neither exists. One without the other is refused: a VRF
    /// key must never be replaced under an existing directory.
    pub fn load_or_create(dir: &Path) -> Result<Self, KtServerError> {
        let log_path = dir.join("log-key.pk8");
        let vrf_path = dir.join("vrf.key");
        let file_err = |path: &Path, why: String| KtServerError::KeyFile {
            path: path.display().to_string(),
            why,
        };
        match (log_path.exists(), vrf_path.exists()) {
            (false, false) => {
                std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e.to_string()))?;
                let keys = Self::generate()?;
                write_secret(&log_path, keys.log_key.pkcs8()).map_err(|e| file_err(&log_path, e.to_string()))?;
                write_secret(&vrf_path, &keys.vrf.to_bytes()).map_err(|e| file_err(&vrf_path, e.to_string()))?;
                Ok(keys)
            }
            (true, true) => {
                let pkcs8 = std::fs::read(&log_path).map_err(|e| file_err(&log_path, e.to_string()))?;
                let log_key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| file_err(&log_path, e.to_string()))?;
                let vrf = std::fs::read(&vrf_path).map_err(|e| file_err(&vrf_path, e.to_string()))?;
                let vrf: [u8; 32] = vrf
                    .try_into()
                    .map_err(|_| file_err(&vrf_path, "must hold exactly 32 bytes".into()))?;
                Ok(LogKeys {
                    log_key,
                    vrf: VrfSecret(vrf),
                })
            }
            (true, false) => Err(file_err(&vrf_path, "missing while the log key exists; restore it from backup (a new VRF key would invalidate the directory)".into())),
            (false, true) => Err(file_err(&log_path, "missing while the VRF key exists; restore it from backup".into())),
        }
    }
}

fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
