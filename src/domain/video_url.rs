//! YouTube video URLs: every form people paste (watch, youtu.be, shorts,
//! embed, live, mobile, music, no-cookie), reduced to the 11-character video
//! id and one canonical URL. Anything else is refused.
use url::Url;

use crate::error::{Error, Result};

/// The longest URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;
const FIELD: &str = "url";

/// A YouTube video, identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoUrl {
    pub video_id: String,
}

impl VideoUrl {
    /// `https://www.youtube.com/watch?v=<id>`, the form passed to the program.
    pub fn canonical(&self) -> String {
        format!("https://www.youtube.com/watch?v={}", self.video_id)
    }

    pub fn parse(input: &str) -> Result<VideoUrl> {
        let input = input.trim();
        if input.is_empty() {
            return Err(Error::invalid(FIELD, "is required"));
        }
        if input.len() > MAX_URL_LEN {
            return Err(Error::invalid(FIELD, format!("is longer than {MAX_URL_LEN} characters")));
        }
        let with_scheme = if input.contains("://") { input.to_string() } else { format!("https://{input}") };
        let url = Url::parse(&with_scheme).map_err(|e| Error::invalid(FIELD, format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(FIELD, "must be an http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() || url.port().is_some() {
            return Err(Error::invalid(FIELD, "must not carry credentials or a port"));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> =
            url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        let candidate = match host.as_str() {
            "youtu.be" | "www.youtu.be" => segments.first().map(|id| id.to_string()),
            "youtube.com"
            | "www.youtube.com"
            | "m.youtube.com"
            | "music.youtube.com"
            | "youtube-nocookie.com"
            | "www.youtube-nocookie.com" => match segments.as_slice() {
                ["watch"] => url.query_pairs().find(|(key, _)| key == "v").map(|(_, id)| id.into_owned()),
                ["shorts" | "embed" | "live" | "v" | "e", id, ..] => Some(id.to_string()),
                _ => None,
            },
            _ => return Err(Error::invalid(FIELD, "is not a YouTube URL")),
        };
        let video_id = candidate.ok_or_else(|| Error::invalid(FIELD, "is a YouTube URL but not of a single video"))?;
        if !is_video_id(&video_id) {
            return Err(Error::invalid(FIELD, "does not hold a valid 11-character video id"));
        }
        Ok(VideoUrl { video_id })
    }
}

fn is_video_id(id: &str) -> bool {
    id.len() == 11 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_form_gives_the_same_video() {
        let forms = [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL123",
            "http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
            "youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "https://www.youtube.com/shorts/dQw4w9WgXcQ",
            "https://www.youtube.com/embed/dQw4w9WgXcQ?start=10",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
            "  https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ  ",
        ];
        for form in forms {
            let video = VideoUrl::parse(form).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(video.video_id, "dQw4w9WgXcQ", "{form}");
            assert_eq!(video.canonical(), "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
        }
    }

    #[test]
    fn anything_that_is_not_one_youtube_video_is_refused_naming_the_field() {
        let bad = [
            "",
            "not a url",
            "https://vimeo.com/123456",
            "https://www.youtube.com/playlist?list=PL123",
            "https://www.youtube.com/@channel",
            "https://www.youtube.com/watch?v=short",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ%2F..",
            "ftp://youtube.com/watch?v=dQw4w9WgXcQ",
            "https://user:pw@youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
            "file:///etc/passwd",
        ];
        for input in bad {
            match VideoUrl::parse(input) {
                Err(Error::InvalidArgument { field: "url", .. }) => {}
                other => panic!("{input:?} gave {other:?}"),
            }
        }
        assert!(VideoUrl::parse(&format!("https://youtu.be/{}", "a".repeat(3000))).is_err());
    }
}
