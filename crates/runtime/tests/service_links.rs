//! A kubelet's injected variables never reach a config.
//!
//! Sets, in this test's own process, every variable a kubelet injects for the
//! Services of the chart's namespace (k8s/productresearch: the five services,
//! the optional model-server, the API server's `kubernetes`) and for Services
//! of other charts whose names share a config prefix (`pr`,
//! `supervisor-metrics`), exactly as Kubernetes builds them
//! (pkg/kubelet/envvars), and loads a strict config under every prefix the
//! binaries use. scripts/test-containers.sh does the same for the rendered
//! chart, in containers.

use productresearch_runtime::config::{ConfigError, is_service_link, load};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Sample {
    limit: u32,
    server: Server,
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Server {
    health_listen: String,
}

#[derive(Serialize)]
struct NoOverrides {}

/// A Service with a cluster IP: name, IP, (port name, port, protocol).
struct Service {
    name: &'static str,
    ip: &'static str,
    ports: &'static [(&'static str, u16, &'static str)],
}

/// The variables a kubelet injects for `svc` (Kubernetes' envvars.FromServices).
fn kubelet_vars(svc: &Service) -> Vec<(String, String)> {
    let name = svc.name.to_ascii_uppercase().replace('-', "_");
    let mut vars = vec![(format!("{name}_SERVICE_HOST"), svc.ip.to_string())];
    for (i, (port_name, port, proto)) in svc.ports.iter().enumerate() {
        if i == 0 {
            vars.push((format!("{name}_SERVICE_PORT"), port.to_string()));
        }
        if !port_name.is_empty() {
            vars.push((format!("{name}_SERVICE_PORT_{}", port_name.to_ascii_uppercase().replace('-', "_")), port.to_string()));
        }
        let url = format!("{}://{}:{port}", proto.to_ascii_lowercase(), svc.ip);
        if i == 0 {
            vars.push((format!("{name}_PORT"), url.clone()));
        }
        let base = format!("{name}_PORT_{port}_{}", proto.to_ascii_uppercase());
        vars.push((base.clone(), url));
        vars.push((format!("{base}_PROTO"), proto.to_ascii_lowercase()));
        vars.push((format!("{base}_PORT"), port.to_string()));
        vars.push((format!("{base}_ADDR"), svc.ip.to_string()));
    }
    vars
}

// research-agent and tool-gateway are headless (no cluster IP): a kubelet
// injects nothing for them; their names are here for Services of other
// releases that are not.
const SERVICES: &[Service] = &[
    Service { name: "user-agent", ip: "10.96.0.11", ports: &[("grpc", 50051, "TCP")] },
    Service { name: "supervisor", ip: "10.96.0.12", ports: &[("grpc", 50052, "TCP")] },
    Service { name: "research-agent", ip: "10.96.0.13", ports: &[("grpc", 50053, "TCP")] },
    Service { name: "tool-gateway", ip: "10.96.0.14", ports: &[("grpc", 50054, "TCP")] },
    Service { name: "distiller", ip: "10.96.0.15", ports: &[("grpc", 50055, "TCP")] },
    Service { name: "model-server", ip: "10.96.0.16", ports: &[("http", 8080, "TCP")] },
    Service { name: "kubernetes", ip: "10.96.0.1", ports: &[("https", 443, "TCP")] },
    Service { name: "pr", ip: "10.96.0.20", ports: &[("", 80, "TCP"), ("dns", 53, "UDP")] },
    Service { name: "supervisor-metrics", ip: "10.96.0.21", ports: &[("metrics", 9090, "TCP"), ("sctp-x", 9091, "SCTP")] },
    Service { name: "distiller-cache", ip: "10.96.0.22", ports: &[("redis", 6379, "TCP")] },
];

/// The env prefixes of the five services and of `productresearch run`.
const PREFIXES: &[&str] = &["USER_AGENT", "SUPERVISOR", "RESEARCH_AGENT", "TOOL_GATEWAY", "DISTILLER", "PR"];

#[test]
fn kubelet_service_links_are_not_config() {
    let vars: Vec<(String, String)> = SERVICES.iter().flat_map(kubelet_vars).collect();
    for (name, value) in &vars {
        assert!(is_service_link(name, value), "{name}={value} is not recognised as a service link");
    }
    // The only test of this binary: nothing else reads the environment meanwhile.
    for (name, value) in &vars {
        unsafe { std::env::set_var(name, value) };
    }
    for prefix in PREFIXES {
        let c: Sample = load(None, prefix, NoOverrides {}).unwrap_or_else(|e| panic!("{prefix}: {e}"));
        assert_eq!(c, Sample::default(), "{prefix}");
    }

    // The service's own variables still apply, nested ones too...
    unsafe {
        std::env::set_var("SUPERVISOR_LIMIT", "7");
        std::env::set_var("SUPERVISOR_SERVER__HEALTH_LISTEN", "0.0.0.0:8081");
    }
    let c: Sample = load(None, "SUPERVISOR", NoOverrides {}).unwrap();
    assert_eq!(c, Sample { limit: 7, server: Server { health_listen: "0.0.0.0:8081".into() } });

    // ...and a misspelt one is still an error, while a variable named like a
    // link but without a link's value is config (and unknown here).
    unsafe { std::env::set_var("SUPERVISOR_LIMTI", "7") };
    let err = load::<Sample>(None, "SUPERVISOR", NoOverrides {}).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid(m) if m.contains("limti")), "{err}");
    unsafe {
        std::env::remove_var("SUPERVISOR_LIMTI");
        std::env::set_var("DISTILLER_PORT", "8080");
    }
    let err = load::<Sample>(None, "DISTILLER", NoOverrides {}).unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}
