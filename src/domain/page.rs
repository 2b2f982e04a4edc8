//! Page size and page token validation shared by the list calls.
use uuid::Uuid;

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;
/// The longest page token accepted; the ones this server issues are ids.
pub const MAX_PAGE_TOKEN_LEN: usize = 64;

/// A validated page request: how many, and the id the previous page ended at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(page_size: i32, page_token: &str) -> Result<PageRequest> {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 || n as u64 > MAX_PAGE_SIZE => {
                return Err(Error::invalid("page_size", format!("must be between 1 and {MAX_PAGE_SIZE}, got {n}")));
            }
            n => n as u64,
        };
        let after = match page_token {
            "" => None,
            token if token.len() > MAX_PAGE_TOKEN_LEN => {
                return Err(Error::invalid("page_token", format!("is longer than {MAX_PAGE_TOKEN_LEN} characters")));
            }
            token => Some(
                Uuid::parse_str(token)
                    .map_err(|_| Error::invalid("page_token", "is not a token this server issued"))?,
            ),
        };
        Ok(PageRequest { size, after })
    }

    /// The token for the next page: the last id of a full page, or none.
    pub fn next_token(&self, last_ids: &[Uuid]) -> String {
        match last_ids.last() {
            Some(id) if last_ids.len() as u64 == self.size => id.to_string(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_outside_the_range_are_refused_and_zero_means_the_default() {
        assert_eq!(PageRequest::parse(0, "").unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::parse(1000, "").unwrap().size, 1000);
        assert!(matches!(PageRequest::parse(-1, ""), Err(Error::InvalidArgument { field: "page_size", .. })));
        assert!(matches!(PageRequest::parse(1001, ""), Err(Error::InvalidArgument { field: "page_size", .. })));
        assert!(matches!(PageRequest::parse(10, "../etc"), Err(Error::InvalidArgument { field: "page_token", .. })));
        let long = "a".repeat(MAX_PAGE_TOKEN_LEN + 1);
        assert!(matches!(PageRequest::parse(10, &long), Err(Error::InvalidArgument { field: "page_token", .. })));
    }

    #[test]
    fn next_token_is_empty_on_a_short_page() {
        let page = PageRequest::parse(2, "").unwrap();
        let ids = [Uuid::now_v7(), Uuid::now_v7()];
        assert_eq!(page.next_token(&ids), ids[1].to_string());
        assert_eq!(page.next_token(&ids[..1]), "");
    }
}
