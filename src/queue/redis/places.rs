//! The Redis queue's places in line: one read-only `place.lua` call per
//! question, answering for every job (or group) asked about at once.
use chrono::{DateTime, Utc};
use fred::types::Value;
use uuid::Uuid;

use super::{Inner, unavailable};
use crate::queue::{Place, QueueError};

/// Ids or groups per script call: bounds how long one call blocks Redis.
const PER_CALL: usize = 200;

impl Inner {
    pub(super) async fn places(&self, jobs: &[(Uuid, String)]) -> Result<Vec<Place>, QueueError> {
        let mut places = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(PER_CALL) {
            let ids = chunk.iter().map(|(id, _)| id.to_string());
            let answer = self.run_place("ids", 0, ids).await?;
            places.extend(answer.chunks_exact(2).map(|pair| parse_place(&pair[0], &pair[1])));
        }
        Ok(places)
    }

    pub(super) async fn lines(&self, groups: &[String], limit: usize) -> Result<Vec<(String, Uuid, u64)>, QueueError> {
        let mut lines = Vec::new();
        for chunk in groups.chunks(PER_CALL) {
            let answer = self.run_place("groups", limit, chunk.iter().cloned()).await?;
            for triple in answer.chunks_exact(3) {
                if let (Ok(id), Ok(ahead)) = (Uuid::parse_str(&triple[1]), triple[2].parse()) {
                    lines.push((triple[0].clone(), id, ahead));
                }
            }
        }
        Ok(lines)
    }

    async fn run_place(
        &self,
        mode: &str,
        limit: usize,
        subjects: impl Iterator<Item = String>,
    ) -> Result<Vec<String>, QueueError> {
        let keys = vec![self.keys.groups(), self.keys.delayed(), self.keys.jobs()];
        let mut args: Vec<Value> = vec![self.keys.group_prefix().into(), mode.into(), (limit as i64).into()];
        args.extend(subjects.map(Value::from));
        self.place.run(&self.client, keys, args).await.map_err(unavailable)
    }
}

fn parse_place(kind: &str, value: &str) -> Place {
    match kind {
        "r" => value.parse().map_or(Place::Absent, |ahead| Place::Ready { ahead }),
        "d" => value
            .parse::<f64>()
            .ok()
            .and_then(|ms| DateTime::<Utc>::from_timestamp_millis(ms as i64))
            .map_or(Place::Absent, |until| Place::Delayed { until }),
        _ => Place::Absent,
    }
}
