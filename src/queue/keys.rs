//! Every Redis key and pub/sub channel of one queue, in one place. Each name
//! is `{<prefix>}:<what>`: the braces are a Redis Cluster hash tag, so all the
//! keys of one queue hash to one slot and a Lua script may touch them all.
//! Several deployments (or test runs) share one Redis by using different
//! prefixes.
//!
//! | name               | type       | holds                                            |
//! |--------------------|------------|--------------------------------------------------|
//! | `{p}:ready`        | sorted set | ready job ids, by priority then arrival          |
//! | `{p}:delayed`      | sorted set | delayed job ids, by ready time (server ms)       |
//! | `{p}:priority`     | hash       | job id → priority, for the delayed ids only      |
//! | `{p}:wake`         | sorted set | at most one token: "a deadline changed, re-look" |
//! | `{p}:clock`        | string     | the last arrival time given to a ready id (ms)   |
//! | `{p}:events`       | channel    | job events between nodes                         |
//! | `{p}:cancel`       | channel    | cancel requests between nodes                    |

/// The names of one queue's keys and channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// `{<prefix>}`, the hash tag every name starts with.
    tag: String,
}

impl Keys {
    /// The names under `prefix`. The prefix must not be empty (nor start with
    /// `}`): Redis hashes a key with an empty tag as a whole, and the keys of
    /// one queue would then land in different Cluster slots.
    pub fn new(prefix: &str) -> Keys {
        Keys { tag: format!("{{{prefix}}}") }
    }

    /// Whether every name shares one non-empty hash tag (see [`Keys::new`]).
    pub fn has_valid_tag(&self) -> bool {
        hash_tag(&self.tag).is_some_and(|tag| !tag.is_empty())
    }

    /// `{<prefix>}`: what every name starts with, e.g. to list them all.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn ready(&self) -> String {
        self.name("ready")
    }

    pub fn delayed(&self) -> String {
        self.name("delayed")
    }

    pub fn priority(&self) -> String {
        self.name("priority")
    }

    pub fn wake(&self) -> String {
        self.name("wake")
    }

    pub fn clock(&self) -> String {
        self.name("clock")
    }

    /// The pub/sub channel of job events.
    pub fn events(&self) -> String {
        self.name("events")
    }

    /// The pub/sub channel of cancel requests.
    pub fn cancels(&self) -> String {
        self.name("cancel")
    }

    /// Every key that holds queue data (channels hold none), e.g. to delete
    /// a queue.
    pub fn data_keys(&self) -> Vec<String> {
        vec![self.ready(), self.delayed(), self.priority(), self.wake(), self.clock()]
    }

    fn name(&self, what: &str) -> String {
        format!("{}:{what}", self.tag)
    }
}

/// The part of `key` Redis Cluster hashes: between the first `{` and the
/// first `}` after it; `None` when the key has no such pair (the whole key is
/// hashed then, as it is for an empty tag).
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    Some(&key[open + 1..open + 1 + close])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_carries_the_prefix_as_its_hash_tag() {
        let keys = Keys::new("jobs-a");
        let mut names = keys.data_keys();
        names.extend([keys.events(), keys.cancels()]);
        for name in &names {
            assert_eq!(hash_tag(name), Some("jobs-a"), "{name}");
        }
        assert_eq!(keys.ready(), "{jobs-a}:ready");
        assert_eq!(keys.cancels(), "{jobs-a}:cancel");
    }

    #[test]
    fn an_empty_prefix_gives_no_usable_hash_tag() {
        assert!(Keys::new("videojobs").has_valid_tag());
        assert!(!Keys::new("").has_valid_tag());
        assert!(!Keys::new("}x").has_valid_tag());
    }
}
