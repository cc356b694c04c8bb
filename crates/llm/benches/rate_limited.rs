//! A rate-limited endpoint driven by many callers: achieved vs available
//! throughput, 429s and failed calls, with adaptive concurrency (AIMD,
//! Retry-After honoured) against a fixed concurrency at the same ceiling. The
//! concurrency limit answers 429 without `Retry-After`, the request-rate
//! limit with it.
//!
//! `cargo bench -p productresearch-llm --bench rate_limited` (figures in
//! docs/benchmarks.md). Options: `--callers N` (64), `--calls N` per caller
//! (6), `--latency-ms N` (100), `--limit-concurrent N` (8),
//! `--limit-rps N` (40).

use std::sync::Arc;
use std::time::{Duration, Instant};

use productresearch_llm::{ChatRequest, EndpointConfig, LlmClient, Message};
use productresearch_sim_llm::{RateLimit, SimConfig};

struct Args {
    callers: usize,
    calls: usize,
    latency_ms: u64,
    limit_concurrent: u64,
    limit_rps: f64,
}

fn args() -> Args {
    let mut a = Args { callers: 64, calls: 6, latency_ms: 100, limit_concurrent: 8, limit_rps: 40.0 };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = || argv.get(i + 1).and_then(|v| v.parse::<f64>().ok()).unwrap_or_else(|| panic!("{} needs a number", argv[i]));
        match argv[i].as_str() {
            "--callers" => a.callers = value() as usize,
            "--calls" => a.calls = value() as usize,
            "--latency-ms" => a.latency_ms = value() as u64,
            "--limit-concurrent" => a.limit_concurrent = value() as u64,
            "--limit-rps" => a.limit_rps = value(),
            // cargo bench passes --bench; anything else is not ours.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

struct Run {
    answered: u64,
    failed: u64,
    requests: u64,
    rate_limited: u64,
    wall: Duration,
    final_limit: usize,
}

async fn run(limit: RateLimit, latency_ms: u64, adaptive: bool, a: &Args) -> Run {
    let sim = productresearch_sim_llm::spawn_local(SimConfig { latency_ms, rate_limit: Some(limit), ..Default::default() }).await.unwrap();
    let config = EndpointConfig {
        max_concurrency: a.callers,
        adaptive_concurrency: adaptive,
        // Retries as a batch would use them: a rate limit is not a failure.
        max_retries: 8,
        backoff_base_ms: 100,
        backoff_max_ms: 5_000,
        ..EndpointConfig::new(sim.base_url(), "sim-model")
    };
    let llm = Arc::new(LlmClient::new(config).unwrap());
    let request = Arc::new(ChatRequest { messages: vec![Message::user("Say hello.")], ..ChatRequest::default() });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.callers {
        let (llm, request, calls) = (llm.clone(), request.clone(), a.calls);
        tasks.spawn(async move {
            let mut outcome = (0u64, 0u64);
            for _ in 0..calls {
                match llm.chat(&request).await {
                    Ok(_) => outcome.0 += 1,
                    Err(_) => outcome.1 += 1,
                }
            }
            outcome
        });
    }
    let (mut answered, mut failed) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (ok, err) = done.unwrap();
        answered += ok;
        failed += err;
    }
    let wall = started.elapsed();
    let run =
        Run { answered, failed, requests: sim.requests(), rate_limited: sim.rate_limited(), wall, final_limit: llm.concurrency_limit() };
    sim.shutdown().await;
    run
}

fn print(name: &str, capacity: f64, r: &Run) {
    let achieved = r.answered as f64 / r.wall.as_secs_f64();
    println!(
        "{name:<34} {achieved:>7.1} req/s of {capacity:>5.1} ({:>3.0} %)  answered {:>4}  failed {:>3}  requests {:>5}  429s {:>5}  wall {:>5.1}s  limit at end {:>3}",
        100.0 * achieved / capacity,
        r.answered,
        r.failed,
        r.requests,
        r.rate_limited,
        r.wall.as_secs_f64(),
        r.final_limit,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    println!(
        "{} callers x {} calls, model latency {} ms; limits: {} concurrent, {} req/s",
        a.callers, a.calls, a.latency_ms, a.limit_concurrent, a.limit_rps
    );
    let concurrent = RateLimit { requests_per_sec: None, max_concurrent: Some(a.limit_concurrent) };
    let concurrent_capacity = a.limit_concurrent as f64 * 1_000.0 / a.latency_ms as f64;
    let rate = RateLimit { requests_per_sec: Some(a.limit_rps), max_concurrent: None };
    for (limit, capacity, what) in [(concurrent, concurrent_capacity, "concurrent"), (rate, a.limit_rps, "req/s")] {
        for adaptive in [false, true] {
            let r = run(limit, a.latency_ms, adaptive, &a).await;
            let name = format!("{} / {what} limit", if adaptive { "adaptive (AIMD)" } else { "fixed concurrency" });
            print(&name, capacity, &r);
        }
    }
}
