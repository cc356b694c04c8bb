//! `research-agent` binary: everything but the name is shared start-up (see runtime::boot).

productresearch_runtime::service_main!(
    research_agent::NAME,
    "Researches shopping queries step by step under supervision (gRPC)",
    research_agent::ENV_PREFIX,
    "127.0.0.1:50053",
    research_agent::run
);
