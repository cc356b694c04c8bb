//! Chaos: the five service binaries as separate processes on loopback, a batch
//! of 50 trajectories on the simulated model, and services SIGKILLed and
//! restarted on the same port while it runs. Every trajectory must finish
//! approved, exactly once, with a valid record.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{ProcMesh, SERVICES, assert_all_approved_once, binaries, histories};
use productresearch::pipeline::{self, Reconnect};
use productresearch_llm::EndpointConfig;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const TRAJECTORIES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_survives_services_killed_and_restarted() {
    let bin = binaries();
    // Slow enough that kills land mid-trajectory, fast enough for CI.
    let sim =
        productresearch_sim_llm::spawn_local(productresearch_sim_llm::SimConfig { latency_ms: 150, ..Default::default() }).await.unwrap();
    let llm = EndpointConfig::new(sim.base_url(), "sim-model");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut mesh = ProcMesh::start(&bin, &llm, dir).await;
    let services = &mut mesh.services;

    let out = dir.join("out");
    let supervisor_url = services[4].url();
    let batch = {
        let out = out.clone();
        tokio::spawn(async move {
            pipeline::synthesize_with(
                &supervisor_url,
                histories("chaos", TRAJECTORIES),
                Default::default(),
                10,
                &out,
                Reconnect::default(),
                |_| {},
                |_| {},
            )
            .await
        })
    };

    // Every service but the distiller (idle during synthesis) dies at least
    // once, in random order, then random ones, 0.8–2 s apart.
    let mut rng = rand::rngs::StdRng::seed_from_u64(std::process::id() as u64);
    let mut victims = vec![0, 1, 2, 4];
    victims.shuffle(&mut rng);
    victims.extend((0..3).map(|_| rng.random_range(0..SERVICES.len())));
    let mut kills = Vec::new();
    let started = Instant::now();
    for v in victims {
        tokio::time::sleep(Duration::from_millis(rng.random_range(800..2000))).await;
        if batch.is_finished() {
            break;
        }
        let s = &mut services[v];
        s.kill().await;
        kills.push(s.name);
        eprintln!("chaos: {:>5.1}s SIGKILLed {}", started.elapsed().as_secs_f64(), s.name);
        s.start(&bin).await;
        eprintln!("chaos: {:>5.1}s {} serving again", started.elapsed().as_secs_f64(), s.name);
    }
    let outcome = tokio::time::timeout(Duration::from_secs(240), batch).await.expect("batch finishes").unwrap().unwrap();
    eprintln!("chaos: {:>5.1}s batch done; {} kills: {kills:?}", started.elapsed().as_secs_f64(), kills.len());
    assert!(kills.len() >= 4, "the batch ended before enough kills: {kills:?}");

    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_all_approved_once(&outcome.trajectories, TRAJECTORIES, &dir.join("records"), &out);

    // The outputs distill: whole trajectories, none dropped as a failure or a
    // fragment (the simulated intents are alike, so near duplicates may go).
    let distilled = pipeline::distill(&services[3].url(), &services[0].url(), &outcome.trajectories, 3, 2, &out).await.unwrap();
    assert!(distilled.examples > 0);
    assert_eq!(distilled.examples + distilled.drops.len(), TRAJECTORIES);
    let unexpected: Vec<_> = distilled.drops.iter().filter(|(_, filter, _)| filter != "near_duplicate").collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");

    mesh.stop().await;
    sim.shutdown().await;
}
