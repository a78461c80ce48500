//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::Arc;

use crosslock_tls::rustls::pki_types::ServerName;
use crosslock_tls::rustls::{self, ClientConfig, ClientConnection, ServerConfig, ServerConnection};

/// Runs a TLS handshake between the two configurations entirely in memory.
/// Returns the first error either side raised.
pub(crate) fn handshake(
    client: ClientConfig,
    server: Arc<ServerConfig>,
    name: &str,
) -> Result<(), rustls::Error> {
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    let mut client = ClientConnection::new(Arc::new(client), name)?;
    let mut server = ServerConnection::new(server)?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).expect("client write");
        }
        let mut slice = buf.as_slice();
        while !slice.is_empty() {
            server.read_tls(&mut slice).expect("server read");
        }
        let server_result = server.process_new_packets();

        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).expect("server write");
        }
        let mut slice = buf.as_slice();
        while !slice.is_empty() {
            client.read_tls(&mut slice).expect("client read");
        }
        let client_result = client.process_new_packets();
        server_result?;
        client_result?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
