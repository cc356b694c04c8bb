//! The fetch policy against known SSRF tricks (no network: names resolve
//! through a fixed table), and the fetcher against a real local server for
//! redirects, size and type limits.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tool_gateway::web::fetch::{AddressClass, Blocked, FetchError, FetchPolicy, Fetcher, StaticResolver};
use url::Url;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn resolver() -> StaticResolver {
    StaticResolver::new()
        .with("localhost", [ip("127.0.0.1"), ip("::1")])
        .with("internal.test", [ip("10.1.2.3")])
        .with("mixed.test", [ip("93.184.216.34"), ip("127.0.0.1")])
        .with("example.com", [ip("93.184.216.34")])
        .with("metadata.test", [ip("169.254.169.254")])
        .with("mapped.test", [ip("::ffff:0:7f00:1")])
        .with("www.example.com", [ip("93.184.216.34")])
        .with("shop.example.org", [ip("93.184.216.34"), ip("2606:2800:220:1::1")])
}

/// The category a URL must be refused with.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Scheme,
    Userinfo,
    /// The URL names the address itself.
    Address(AddressClass),
    /// A name resolves to such an address.
    ResolvesInside(AddressClass),
}

fn matches(expect: Expect, error: &FetchError) -> bool {
    match (expect, error) {
        (Expect::Scheme, FetchError::Blocked(Blocked::Scheme(_))) => true,
        (Expect::Userinfo, FetchError::Blocked(Blocked::Userinfo)) => true,
        (Expect::Address(want), FetchError::Blocked(Blocked::Address { class, .. })) => *class == want,
        (Expect::ResolvesInside(want), FetchError::Blocked(Blocked::ResolvesInside { class, .. })) => *class == want,
        _ => false,
    }
}

#[tokio::test]
async fn attack_urls_are_all_blocked_with_the_default_policy() {
    use AddressClass::*;
    use Expect::*;
    let attacks = [
        ("http://127.0.0.1/", Address(Loopback)),
        ("http://localhost/", ResolvesInside(Loopback)),
        ("http://localhost./", ResolvesInside(Loopback)),
        ("http://2130706433/", Address(Loopback)),
        ("http://0x7f000001/", Address(Loopback)),
        ("http://0x7f.1/", Address(Loopback)),
        ("http://0177.0.0.1/", Address(Loopback)),
        ("http://127.1/", Address(Loopback)),
        ("http://0/", Address(Unspecified)),
        ("http://[::1]/", Address(Loopback)),
        ("http://[::ffff:127.0.0.1]/", Address(Loopback)),
        ("http://[::ffff:7f00:1]/", Address(Loopback)),
        ("http://[0:0:0:0:0:ffff:127.0.0.1]/", Address(Loopback)),
        ("http://[::ffff:169.254.169.254]/", Address(CloudMetadata)),
        ("http://[::127.0.0.1]/", Address(Loopback)),
        ("http://169.254.169.254/latest/meta-data/", Address(CloudMetadata)),
        ("http://100.100.100.200/", Address(CloudMetadata)),
        ("http://168.63.129.16/", Address(CloudMetadata)),
        ("http://[fd00:ec2::254]/", Address(CloudMetadata)),
        ("http://169.254.1.1/", Address(LinkLocal)),
        ("http://10.0.0.1/", Address(Private)),
        ("http://172.16.5.4/", Address(Private)),
        ("http://192.168.1.1/", Address(Private)),
        ("http://100.64.0.1/", Address(SharedAddressSpace)),
        ("http://[fc00::1]/", Address(UniqueLocal)),
        ("http://[fd12:3456::1]/", Address(UniqueLocal)),
        ("http://[fe80::1]/", Address(LinkLocal)),
        ("http://224.0.0.1/", Address(Multicast)),
        ("http://[ff02::1]/", Address(Multicast)),
        ("http://0.0.0.0/", Address(Unspecified)),
        ("http://[::]/", Address(Unspecified)),
        ("http://user:pass@example.com/", Userinfo),
        ("http://example.com@127.0.0.1/", Userinfo),
        ("http://user@example.com/", Userinfo),
        ("file:///etc/passwd", Scheme),
        ("gopher://example.com/", Scheme),
        ("ftp://example.com/", Scheme),
        ("data:text/html,hi", Scheme),
        ("http://internal.test/", ResolvesInside(Private)),
        ("http://mixed.test/", ResolvesInside(Loopback)),
        ("http://metadata.test/", ResolvesInside(CloudMetadata)),
        ("http://mapped.test/", ResolvesInside(Loopback)),
        ("http://[64:ff9b::7f00:1]/", Address(Loopback)),
        ("http://[2002:7f00:1::1]/", Address(Loopback)),
        ("http://255.255.255.255/", Address(Broadcast)),
        ("http://192.0.2.10/", Address(Documentation)),
        ("http://198.18.0.1/", Address(Benchmarking)),
        ("http://192.0.0.170/", Address(ProtocolAssignment)),
        ("http://240.0.0.1/", Address(Reserved)),
        ("http://[2001:db8::1]/", Address(Documentation)),
        ("https://127.0.0.1:8443/admin", Address(Loopback)),
        // The IPv4-translated spelling of 127.0.0.1 and the reserved IETF ranges.
        ("http://[::ffff:0:7f00:1]/", Address(Loopback)),
        ("http://[::ffff:0:a9fe:a9fe]/", Address(CloudMetadata)),
        ("http://[2001:10::1]/", Address(Orchid)),
        ("http://[2001:20::1]/", Address(Orchid)),
        ("http://[2001:1::1]/", Address(ProtocolAssignment)),
        ("http://[2001:2::1]/", Address(Benchmarking)),
        ("http://[64:ff9b::a9fe:a9fe]/", Address(CloudMetadata)),
        ("http://[64:ff9b:1::a00:1]/", Address(Private)),
        ("http://[2002:a00:1::1]/", Address(Private)),
        ("http://[2001:0:4136:e378::80ff:fffe]/", Address(Loopback)),
        ("http://[2001:0:4136:e378:8000:63bf:fefe:fefe]/", Address(Teredo)),
        ("http://[fec0::1]/", Address(Reserved)),
        ("http://[3fff::1]/", Address(Documentation)),
        ("http://[100::1]/", Address(Reserved)),
        ("http://192.31.196.1/", Address(As112)),
        ("http://192.52.193.1/", Address(Amt)),
        ("http://192.88.99.1/", Address(Reserved)),
    ];
    assert!(attacks.len() >= 30);
    let fetcher = Fetcher::new(FetchPolicy::default(), resolver());
    let mut wrong = Vec::new();
    for (url, expect) in attacks {
        // vet is exactly what fetch runs before each hop's connection.
        let outcome = match Url::parse(url) {
            Ok(parsed) => fetcher.vet(&parsed).await,
            Err(e) => panic!("{url} does not parse: {e}"),
        };
        match outcome {
            Err(error) if matches(expect, &error) => {}
            other => wrong.push(format!("{url}: expected {expect:?}, got {other:?}")),
        }
        // And through fetch itself: refused before any connection.
        let error = fetcher.fetch(url).await.unwrap_err();
        assert!(matches!(error, FetchError::Blocked(_)), "{url}: {error}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn ordinary_public_urls_pass_the_checks() {
    let fetcher = Fetcher::new(FetchPolicy::default(), resolver());
    let cases = [
        ("https://www.example.com/page", vec![ip("93.184.216.34")]),
        ("http://1.1.1.1/", vec![ip("1.1.1.1")]),
        ("https://[2606:4700:4700::1111]/", vec![ip("2606:4700:4700::1111")]),
        ("https://shop.example.org/p?id=1", vec![ip("93.184.216.34"), ip("2606:2800:220:1::1")]),
    ];
    for (url, want) in cases {
        assert_eq!(fetcher.vet(&Url::parse(url).unwrap()).await.unwrap(), want, "{url}");
    }
}

#[tokio::test]
async fn unknown_names_and_bad_urls_are_reported() {
    let fetcher = Fetcher::new(FetchPolicy::default(), resolver());
    let error = fetcher.fetch("http://nowhere.test/").await.unwrap_err();
    assert!(matches!(error, FetchError::Resolve { ref host, .. } if host == "nowhere.test"), "{error}");
    let error = fetcher.fetch("not a url").await.unwrap_err();
    assert!(matches!(error, FetchError::InvalidUrl { .. }), "{error}");
}

#[test]
fn errors_read_as_one_line() {
    let blocked =
        FetchError::Blocked(Blocked::ResolvesInside { host: "internal.test".into(), ip: ip("10.1.2.3"), class: AddressClass::Private });
    assert_eq!(blocked.to_string(), "blocked: dns name internal.test resolves inside: 10.1.2.3 is private network");
    assert_eq!(FetchError::TooLarge(1024).to_string(), "response larger than 1024 bytes");
    for error in [
        FetchError::Blocked(Blocked::Userinfo),
        FetchError::ContentType("image/png".into()),
        FetchError::Timeout(10),
        FetchError::TooManyRedirects(5),
        FetchError::Http("connection refused".into()),
    ] {
        let text = error.to_string();
        assert!(!text.contains('\n') && !text.ends_with('.'), "{text}");
    }
}

// ---- a real local server ----

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/page", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<h1>hello</h1>") }))
        .route("/to-page", get(|| async { redirect("/page") }))
        .route("/to-private", get(|| async { redirect("http://10.0.0.1/") }))
        .route("/to-internal", get(|| async { redirect("http://internal.test/") }))
        .route("/to-metadata", get(|| async { redirect("http://169.254.169.254/latest/meta-data/") }))
        .route("/to-file", get(|| async { redirect("file:///etc/passwd") }))
        .route("/to-loopback", get(|| async { redirect("http://[::ffff:0:7f00:1]/") }))
        .route("/to-link-local", get(|| async { redirect("http://[fe80::1]/") }))
        .route("/loop/{n}", get(|Path(n): Path<u32>| async move { redirect(&format!("/loop/{}", n + 1)) }))
        .route("/big", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "x".repeat(4096)) }))
        .route(
            "/big-stream",
            get(|| async {
                // Chunked, no Content-Length: the cap must hold while streaming.
                let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 512])));
                ([(header::CONTENT_TYPE, "text/plain")], Body::from_stream(futures::stream::iter(chunks)))
            }),
        )
        .route("/image", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0x89u8, b'P', b'N', b'G']) }))
        .route("/untyped", get(|| async { Response::new(Body::from("no type")) }))
        .route("/slow", get(|| async { std::future::pending::<&'static str>().await }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn loopback_only() -> FetchPolicy {
    FetchPolicy { allow_loopback_for_tests: true, max_bytes: 1024, ..FetchPolicy::default() }
}

/// `shop.test` resolves to the test server, so the name is pinned to the
/// checked address (nothing is looked up for real).
fn local_resolver() -> StaticResolver {
    resolver().with("shop.test", [ip("127.0.0.1")]).with("internal.test", [ip("192.168.0.1")])
}

#[tokio::test]
async fn a_page_is_fetched_after_one_relative_redirect() {
    let addr = serve().await;
    let fetcher = Fetcher::new(loopback_only(), local_resolver());
    let page = fetcher.fetch(&format!("http://shop.test:{}/to-page", addr.port())).await.unwrap();
    assert_eq!(page.final_url.as_str(), format!("http://shop.test:{}/page", addr.port()));
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert_eq!(page.body, "<h1>hello</h1>");
    // Also by literal address.
    let page = fetcher.fetch(&format!("http://{addr}/page")).await.unwrap();
    assert_eq!(page.body, "<h1>hello</h1>");
}

#[tokio::test]
async fn the_default_policy_refuses_the_loopback_server() {
    let addr = serve().await;
    let fetcher = Fetcher::new(FetchPolicy::default(), local_resolver());
    let error = fetcher.fetch(&format!("http://{addr}/page")).await.unwrap_err();
    assert!(matches!(error, FetchError::Blocked(Blocked::Address { class: AddressClass::Loopback, .. })), "{error}");
    let error = fetcher.fetch(&format!("http://shop.test:{}/page", addr.port())).await.unwrap_err();
    assert!(matches!(error, FetchError::Blocked(Blocked::ResolvesInside { class: AddressClass::Loopback, .. })), "{error}");
}

#[tokio::test]
async fn redirects_into_the_private_network_are_blocked() {
    let addr = serve().await;
    let fetcher = Fetcher::new(loopback_only(), local_resolver());
    let cases = [
        ("/to-private", Expect::Address(AddressClass::Private)),
        ("/to-internal", Expect::ResolvesInside(AddressClass::Private)),
        ("/to-metadata", Expect::Address(AddressClass::CloudMetadata)),
        ("/to-loopback", Expect::Address(AddressClass::Loopback)),
        ("/to-link-local", Expect::Address(AddressClass::LinkLocal)),
        ("/to-file", Expect::Scheme),
    ];
    for (path, expect) in cases {
        let error = fetcher.fetch(&format!("http://{addr}{path}")).await.unwrap_err();
        assert!(matches(expect, &error), "{path}: expected {expect:?}, got {error}");
    }
}

/// `allow_private` opens a private network but never loopback, link-local or
/// metadata, neither named in the URL nor reached by a redirect.
#[tokio::test]
async fn allow_private_never_opens_the_host_or_its_metadata() {
    use AddressClass::*;
    let policy = FetchPolicy { allow_private: true, ..FetchPolicy::default() };
    let fetcher = Fetcher::new(policy.clone(), resolver());
    for url in ["http://10.0.0.1/", "http://192.168.1.1/", "http://[fd12::1]/", "http://internal.test/"] {
        assert!(fetcher.vet(&Url::parse(url).unwrap()).await.is_ok(), "{url}");
    }
    let refused = [
        ("http://127.0.0.1/", Expect::Address(Loopback)),
        ("http://[::1]/", Expect::Address(Loopback)),
        ("http://[::ffff:0:7f00:1]/", Expect::Address(Loopback)),
        ("http://localhost/", Expect::ResolvesInside(Loopback)),
        ("http://0.0.0.0/", Expect::Address(Unspecified)),
        ("http://169.254.1.1/", Expect::Address(LinkLocal)),
        ("http://[fe80::1]/", Expect::Address(LinkLocal)),
        ("http://169.254.169.254/", Expect::Address(CloudMetadata)),
        ("http://100.100.100.200/", Expect::Address(CloudMetadata)),
        ("http://[fd00:ec2::254]/", Expect::Address(CloudMetadata)),
        ("http://metadata.test/", Expect::ResolvesInside(CloudMetadata)),
    ];
    for (url, expect) in refused {
        let error = fetcher.fetch(url).await.unwrap_err();
        assert!(matches(expect, &error), "{url}: expected {expect:?}, got {error}");
    }
    // Redirects from a page on the private network (served here on
    // loopback, opened by the test switch) into the host stay refused.
    let addr = serve().await;
    let fetcher = Fetcher::new(FetchPolicy { allow_loopback_for_tests: true, ..policy }, local_resolver());
    for (path, expect) in [("/to-metadata", Expect::Address(CloudMetadata)), ("/to-link-local", Expect::Address(LinkLocal))] {
        let error = fetcher.fetch(&format!("http://{addr}{path}")).await.unwrap_err();
        assert!(matches(expect, &error), "{path}: expected {expect:?}, got {error}");
    }
}

#[tokio::test]
async fn too_many_redirects_are_refused() {
    let addr = serve().await;
    let fetcher = Fetcher::new(FetchPolicy { max_redirects: 3, ..loopback_only() }, local_resolver());
    let error = fetcher.fetch(&format!("http://{addr}/loop/0")).await.unwrap_err();
    assert!(matches!(error, FetchError::TooManyRedirects(3)), "{error}");
    assert_eq!(error.to_string(), "more than 3 redirects");
    // Exactly max_redirects hops is fine: /to-page needs one.
    let fetcher = Fetcher::new(FetchPolicy { max_redirects: 1, ..loopback_only() }, local_resolver());
    assert!(fetcher.fetch(&format!("http://{addr}/to-page")).await.is_ok());
    let fetcher = Fetcher::new(FetchPolicy { max_redirects: 0, ..loopback_only() }, local_resolver());
    assert!(matches!(fetcher.fetch(&format!("http://{addr}/to-page")).await, Err(FetchError::TooManyRedirects(0))));
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let addr = serve().await;
    let fetcher = Fetcher::new(loopback_only(), local_resolver());
    for path in ["/big", "/big-stream"] {
        let error = fetcher.fetch(&format!("http://{addr}{path}")).await.unwrap_err();
        assert!(matches!(error, FetchError::TooLarge(1024)), "{path}: {error}");
        assert_eq!(error.to_string(), "response larger than 1024 bytes");
    }
}

#[tokio::test]
async fn non_text_content_types_are_refused() {
    let addr = serve().await;
    let fetcher = Fetcher::new(loopback_only(), local_resolver());
    let error = fetcher.fetch(&format!("http://{addr}/image")).await.unwrap_err();
    assert!(matches!(error, FetchError::ContentType(ref t) if t == "image/png"), "{error}");
    let error = fetcher.fetch(&format!("http://{addr}/untyped")).await.unwrap_err();
    assert!(matches!(error, FetchError::ContentType(_)), "{error}");
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let addr = serve().await;
    let fetcher = Fetcher::new(FetchPolicy { timeout_ms: 200, ..loopback_only() }, local_resolver());
    let error = fetcher.fetch(&format!("http://{addr}/slow")).await.unwrap_err();
    assert!(matches!(error, FetchError::Timeout(200)), "{error}");
}
