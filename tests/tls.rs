//! TLS and mutual TLS on the gRPC port, black-box: the real server with
//! `ServeConfig.tls` set, and tonic clients that trust (or do not trust) its
//! CA and present (or do not present) a client certificate. Every key and
//! certificate is made with rcgen when the test runs; none is committed.
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use videojobs::config::{Secret, TlsConfig};
use videojobs::proto::v1 as pb;
use videojobs::proto::v1::job_service_client::JobServiceClient;
use videojobs::proto::v1::note_service_client::NoteServiceClient;

/// The name the server certificate is made for (with 127.0.0.1 as an IP SAN).
const SERVER_NAME: &str = "localhost";
/// A bad handshake must fail, not hang: every attempt gets this long.
const ATTEMPT: Duration = Duration::from_secs(10);

/// A certificate authority made for one test.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate chain and its private key, both PEM.
struct Leaf {
    cert_pem: String,
    key_pem: String,
}

impl Leaf {
    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    fn certificate(&self) -> Certificate {
        Certificate::from_pem(&self.pem)
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    fn server(&self) -> Leaf {
        self.leaf(SERVER_NAME, &[SERVER_NAME, "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate for `user`.
    fn client(&self, user: &str) -> Leaf {
        self.leaf(user, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

/// A client certificate that signs itself: no CA vouches for it.
fn self_signed_client(user: &str) -> Leaf {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, user);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

fn server_tls(server: &Leaf, client_ca: Option<&Ca>) -> TlsConfig {
    TlsConfig {
        cert_pem: server.cert_pem.clone(),
        key_pem: Secret::new(server.key_pem.clone()),
        client_ca_pem: client_ca.map(|ca| ca.pem.clone()),
    }
}

/// Trusts `ca` and checks the server's name against `localhost`.
fn trusting(ca: &Ca) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificate(ca.certificate()).domain_name(SERVER_NAME)
}

/// `https://127.0.0.1:PORT` (the address the server listens on) with `tls`;
/// the certificate is checked against the name set in `tls`, not the IP.
fn https(addr: SocketAddr, tls: ClientTlsConfig) -> Endpoint {
    Endpoint::from_shared(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .connect_timeout(ATTEMPT)
        .timeout(ATTEMPT)
        .tls_config(tls)
        .unwrap()
}

fn plaintext(addr: SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("http://127.0.0.1:{}", addr.port()))
        .unwrap()
        .connect_timeout(ATTEMPT)
        .timeout(ATTEMPT)
}

async fn connect(endpoint: Endpoint) -> Channel {
    tokio::time::timeout(ATTEMPT, endpoint.connect()).await.expect("connect in time").expect("connect")
}

/// Connects and asks for the server's health. A rejected handshake can
/// surface at connect or (TLS 1.3: the server judges the client's certificate
/// after the client considers the handshake done) at the first call, so both
/// count; the error says which.
async fn health(endpoint: Endpoint) -> Result<ServingStatus, String> {
    let attempt = async {
        let channel = endpoint.connect().await.map_err(|e| format!("connect: {e:?}"))?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest { service: String::new() })
            .await
            .map_err(|status| format!("call: {status:?}"))?;
        Ok(response.into_inner().status())
    };
    tokio::time::timeout(ATTEMPT, attempt).await.unwrap_or_else(|_| Err("timed out".into()))
}

async fn assert_serving(endpoint: Endpoint, who: &str) {
    assert_eq!(health(endpoint).await, Ok(ServingStatus::Serving), "{who} reaches the server");
}

/// Fails unless `who` is refused and the error mentions `because` (the
/// rustls reason, so a refusal for some other cause does not pass).
async fn assert_refused(endpoint: Endpoint, who: &str, because: &str) {
    match health(endpoint).await {
        Err(error) => assert!(error.contains(because), "{who} refused, but not for {because:?}: {error}"),
        Ok(status) => panic!("{who} must not reach the server, got {status:?}"),
    }
}

#[tokio::test]
async fn a_job_submitted_over_tls_completes_and_its_notes_are_read_over_tls() {
    let ca = Ca::new("videojobs test CA");
    let (server, _dir) = TestServer::embedded().with(|c| c.tls = Some(server_tls(&ca.server(), None))).start().await;
    assert_serving(https(server.addr, trusting(&ca)), "a client trusting the CA").await;

    let channel = connect(https(server.addr, trusting(&ca))).await;
    let mut jobs = JobServiceClient::with_interceptor(channel.clone(), Bearer::new(&server.token("alice")));
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    assert_eq!(state(&job), pb::JobState::Queued);
    let done = wait_final(&mut jobs, &job.id).await; // a server stream over TLS
    assert_eq!(state(&done), pb::JobState::Completed, "{done:?}");
    let fetched = jobs.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&fetched), pb::JobState::Completed);
    assert_eq!(fetched.progress_percent, 100);

    let mut notes = NoteServiceClient::with_interceptor(channel.clone(), Bearer::new(&server.token("alice")));
    let listed = notes
        .list_notes(pb::ListNotesRequest { job_id: job.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.notes.len(), 2, "notes and assessment");

    // TLS does not stand in for the token.
    let status = JobServiceClient::new(channel).get_job(pb::GetJobRequest { job_id: job.id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn plaintext_untrusting_and_wrong_name_clients_are_refused_and_the_server_keeps_serving() {
    let ca = Ca::new("videojobs test CA");
    let (server, _dir) = TestServer::embedded().with(|c| c.tls = Some(server_tls(&ca.server(), None))).start().await;

    assert_refused(plaintext(server.addr), "a plaintext http:// client", "").await;
    let stranger = Ca::new("some other CA");
    assert_refused(https(server.addr, trusting(&stranger)), "a client trusting another CA", "UnknownIssuer").await;
    let no_roots = ClientTlsConfig::new().domain_name(SERVER_NAME);
    assert_refused(https(server.addr, no_roots), "a client trusting no CA", "UnknownIssuer").await;
    let wrong_name = ClientTlsConfig::new().ca_certificate(ca.certificate()).domain_name("videojobs.example");
    assert_refused(https(server.addr, wrong_name), "a client expecting another server name", "NotValidForName").await;

    // Each refused handshake ended one connection, not the listener.
    assert_serving(https(server.addr, trusting(&ca)), "a client trusting the CA, after the refusals").await;
    server.stop().await;
}

#[tokio::test]
async fn with_a_client_ca_only_clients_holding_a_certificate_it_signed_get_in() {
    let ca = Ca::new("videojobs test CA");
    let clients = Ca::new("videojobs client CA");
    let (server, _dir) =
        TestServer::embedded().with(|c| c.tls = Some(server_tls(&ca.server(), Some(&clients)))).start().await;
    let with_identity = |leaf: &Leaf| https(server.addr, trusting(&ca).identity(leaf.identity()));

    assert_refused(https(server.addr, trusting(&ca)), "a client without a certificate", "CertificateRequired").await;
    let stranger = Ca::new("some other CA");
    assert_refused(with_identity(&stranger.client("mallory")), "a client certificate from another CA", "UnknownCA")
        .await;
    assert_refused(with_identity(&self_signed_client("mallory")), "a self-signed client certificate", "UnknownCA")
        .await;
    assert_refused(with_identity(&ca.client("mallory")), "a client certificate from the server's CA", "UnknownCA")
        .await;
    assert_refused(plaintext(server.addr), "a plaintext http:// client", "").await;

    let alice = clients.client("alice");
    assert_serving(with_identity(&alice), "a client certificate the client CA signed").await;
    let channel = connect(with_identity(&alice)).await;
    let mut jobs = JobServiceClient::with_interceptor(channel.clone(), Bearer::new(&server.token("alice")));
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{done:?}");

    // The certificate lets the connection in; the token still says who calls.
    let status = JobServiceClient::new(channel).get_job(pb::GetJobRequest { job_id: job.id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    server.stop().await;
}
