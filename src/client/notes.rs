//! `notes get|list`: a note's markdown printed or written to a file, and the
//! caller's notes (all, or one job's) as a table or JSON lines.
use std::path::Path;

use super::args::{NotesArgs, NotesCommand};
use super::connect::{NoteClient, connect};
use super::failure::{Failure, Outcome};
use super::output::{emit, note_json, notes_table, warn};
use crate::proto::v1 as pb;

/// The server's largest page.
const MAX_PAGE_SIZE: u32 = 1000;

pub async fn notes(args: &NotesArgs) -> Outcome {
    let json = args.options.json;
    let mut client = connect(&args.options).await?.notes;
    match &args.command {
        NotesCommand::Get { note_id, output } => {
            let note = client.get_note(pb::GetNoteRequest { note_id: note_id.clone() }).await?.into_inner();
            match output {
                Some(path) => {
                    write(path, &note.markdown)?;
                    if json {
                        let mut value = note_json(&note, false);
                        value["output"] = serde_json::Value::String(path.display().to_string());
                        emit(&value.to_string());
                    }
                }
                None if json => emit(&note_json(&note, true).to_string()),
                None => emit(&note.markdown),
            }
        }
        NotesCommand::List { job_id, limit } => {
            let notes = list(&mut client, job_id.clone().unwrap_or_default(), *limit).await?;
            if json {
                notes.iter().for_each(|note| emit(&note_json(note, false).to_string()));
            } else if notes.is_empty() {
                warn("no notes");
            } else {
                emit(&notes_table(&notes));
            }
        }
    }
    Ok(())
}

fn write(path: &Path, markdown: &str) -> Outcome {
    std::fs::write(path, markdown).map_err(|error| Failure::other(format!("cannot write {}: {error}", path.display())))
}

/// Up to `limit` notes, oldest first, over as many pages as that takes.
async fn list(client: &mut NoteClient, job_id: String, limit: u32) -> Outcome<Vec<pb::Note>> {
    let limit = limit as usize;
    let mut notes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page_size = (limit - notes.len()).min(MAX_PAGE_SIZE as usize) as i32;
        let request = pb::ListNotesRequest { job_id: job_id.clone(), page_size, page_token };
        let page = client.list_notes(request).await?.into_inner();
        notes.extend(page.notes);
        if page.next_page_token.is_empty() || notes.len() >= limit {
            break;
        }
        page_token = page.next_page_token;
    }
    notes.truncate(limit);
    Ok(notes)
}
