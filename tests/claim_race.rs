//! A worker starts a job's program while its claim commits. When the claim
//! loses (another node cancelled the job in between), the program is
//! stopped at once, nothing is recorded for the attempt, and no process is
//! left.
mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use videojobs::proto::v1 as pb;

/// Processes running in one of the job's scratch directories.
fn programs_of(data_dir: &Path, job_id: &str) -> usize {
    let scratch = data_dir.join("scratch");
    let _ = std::fs::create_dir_all(&scratch);
    let Ok(entries) = std::fs::read_dir(&scratch) else { return 0 };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(job_id))
        .map(|entry| processes_under(&entry.path()).len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_lost_to_a_cancel_stops_the_program_it_started() {
    let backend = Backend::scaled().await;
    let Backend::Scaled { database_url, .. } = &backend else { unreachable!() };
    let (server, dir) = TestServer::on(&backend).with(|c| c.worker.concurrency = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    // The only worker is busy with the first job.
    let first = jobs.submit_video(submit("hang0000001")).await.unwrap().into_inner();
    wait_until_processing(&mut jobs, &first.id).await;
    let second = jobs.submit_video(submit("hang0000002")).await.unwrap().into_inner();

    // Another writer holds the second job's row, so its claim waits.
    let db = Database::connect(database_url.as_str()).await.unwrap();
    let other_node = db.begin().await.unwrap();
    let lock = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id FROM jobs WHERE id = $1 FOR UPDATE",
        [uuid::Uuid::parse_str(&second.id).unwrap().into()],
    );
    other_node.execute_raw(lock).await.unwrap();
    // The worker comes free, reads the second job and starts its program.
    jobs.cancel_job(pb::CancelJobRequest { job_id: first.id.clone() }).await.unwrap();
    tokio::time::timeout(WAIT, async {
        while programs_of(&server.data_dir, &second.id) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the second job's program starts while its claim waits");

    // The other writer cancels the job first; the claim then finds it gone.
    let cancel = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE jobs SET state = 'cancelled', finished_at = now() WHERE id = $1",
        [uuid::Uuid::parse_str(&second.id).unwrap().into()],
    );
    other_node.execute_raw(cancel).await.unwrap();
    other_node.commit().await.unwrap();

    assert_no_processes_under(dir.path(), Duration::from_secs(10)).await;
    let job = jobs.get_job(pb::GetJobRequest { job_id: second.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&job), pb::JobState::Cancelled);
    assert_eq!(job.attempt, 0, "the lost claim counted no attempt");
    assert!(job.note_ids.is_empty());
    db.close().await.unwrap();
    server.stop().await;
}
