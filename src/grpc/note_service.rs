//! `videojobs.v1.NoteService`.
use tonic::{Request, Response, Status};

use super::convert::note_to_proto;
use super::parse_id;
use crate::auth::caller;
use crate::domain::page::PageRequest;
use crate::jobs::Jobs;
use crate::proto::v1 as pb;
use crate::proto::v1::note_service_server::NoteService;

pub struct NoteApi {
    pub jobs: std::sync::Arc<Jobs>,
}

#[tonic::async_trait]
impl NoteService for NoteApi {
    async fn get_note(&self, request: Request<pb::GetNoteRequest>) -> Result<Response<pb::Note>, Status> {
        let scope = caller(&request)?.scope();
        let id = parse_id("note_id", &request.get_ref().note_id)?;
        let note = self.jobs.note(&scope, id).await?;
        Ok(Response::new(note_to_proto(note)))
    }

    async fn list_notes(
        &self,
        request: Request<pb::ListNotesRequest>,
    ) -> Result<Response<pb::ListNotesResponse>, Status> {
        let scope = caller(&request)?.scope();
        let body = request.into_inner();
        let page = PageRequest::parse(body.page_size, &body.page_token)?;
        let job_id = match body.job_id.as_str() {
            "" => None,
            id => Some(parse_id("job_id", id)?),
        };
        let notes = self.jobs.notes(&scope, job_id, page).await?;
        let ids: Vec<_> = notes.iter().map(|n| n.id).collect();
        Ok(Response::new(pb::ListNotesResponse {
            next_page_token: page.next_token(&ids),
            notes: notes.into_iter().map(note_to_proto).collect(),
        }))
    }
}
