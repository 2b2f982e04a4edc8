//! `ListFailureGroups` and `RetryFailedJobs`: the filter from the request,
//! validated, and the core's answer converted back.

use super::convert::{failure_kind_to_pb, job_to_proto, time_from_proto};
use crate::domain::failure::REASON_GROUP_MAX;
use crate::domain::limits::parse_id;
use crate::domain::{FailureFilter, FailureKind};
use crate::error::{Error, Result};
use crate::jobs::{BulkRetry, FailureGroups};
use crate::proto::v1 as pb;

pub fn filter_from_proto(filter: Option<pb::FailureFilter>) -> Result<FailureFilter> {
    let Some(filter) = filter else { return Ok(FailureFilter::default()) };
    let kind = match pb::FailureKind::try_from(filter.kind) {
        Ok(pb::FailureKind::Unspecified) => None,
        Ok(kind) => FailureKind::ALL.into_iter().find(|k| failure_kind_to_pb(*k) == kind),
        Err(_) => return Err(Error::invalid("filter.kind", format!("{} is not a failure kind", filter.kind))),
    };
    if filter.reason_group.len() > REASON_GROUP_MAX * 4 {
        return Err(Error::invalid("filter.reason_group", format!("is longer than {} bytes", REASON_GROUP_MAX * 4)));
    }
    let reason_group = (!filter.reason_group.is_empty()).then_some(filter.reason_group);
    let failed_after = filter.failed_after.map(|at| time_from_proto("filter.failed_after", at)).transpose()?;
    let failed_before = filter.failed_before.map(|at| time_from_proto("filter.failed_before", at)).transpose()?;
    if let (Some(after), Some(before)) = (failed_after, failed_before) {
        if after >= before {
            return Err(Error::invalid("filter.failed_before", "must be later than failed_after"));
        }
    }
    let batch_id = (!filter.batch_id.is_empty()).then(|| parse_id("filter.batch_id", &filter.batch_id)).transpose()?;
    Ok(FailureFilter { kind, reason_group, failed_after, failed_before, batch_id })
}

pub fn groups_to_proto(found: FailureGroups) -> pb::ListFailureGroupsResponse {
    let groups = found
        .groups
        .into_iter()
        .map(|group| pb::FailureGroup {
            kind: group.kind.map_or(pb::FailureKind::Unspecified, failure_kind_to_pb) as i32,
            reason_group: group.reason_group,
            count: group.count,
            newest: Some(job_to_proto(&group.newest)),
        })
        .collect();
    pb::ListFailureGroupsResponse { groups, truncated: found.truncated }
}

pub fn retry_to_proto(done: BulkRetry) -> pb::RetryFailedJobsResponse {
    pb::RetryFailedJobsResponse { retried: done.retried, skipped: done.skipped, more: done.more }
}
