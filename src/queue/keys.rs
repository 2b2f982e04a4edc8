//! Every Redis key and pub/sub channel of one queue, in one place. Each name
//! is `{<prefix>}:<what>`: the braces are a Redis Cluster hash tag, so all the
//! keys of one queue hash to one slot and a Lua script may touch them all.
//! Several deployments (or test runs) share one Redis by using different
//! prefixes.
//!
//! | name               | type       | holds                                            |
//! |--------------------|------------|--------------------------------------------------|
//! | `{p}:group:<user>` | sorted set | one group's ready job ids, by priority then arrival |
//! | `{p}:groups`       | sorted set | the ring: groups with ready ids, by turn (next first) |
//! | `{p}:delayed`      | sorted set | delayed job ids, by ready time (server ms)       |
//! | `{p}:priority`     | hash       | job id → priority, for the delayed ids only      |
//! | `{p}:jobs`         | hash       | job id → group, for every id held (ready or delayed) |
//! | `{p}:wake`         | sorted set | at most one token: "something changed, re-look"  |
//! | `{p}:clock`        | string     | the last arrival time given to an id or turn (ms) |
//! | `{p}:taken`        | sorted set | ids pops took, by time taken (server ms); a take forgets those older than `TAKEN_KEPT` |
//! | `{p}:events`       | channel    | job events between nodes                         |
//! | `{p}:cancel`       | channel    | cancel requests between nodes                    |
//! | `{p}:output`       | channel    | programs' stored output lines between nodes      |
//!
//! A group's key carries the user id as it is: Cluster hashes only what is
//! between the first `{` and the first `}` after it, which the prefix holds,
//! so braces or anything else in a user id change nothing, and no two users
//! share a key. There is one such key per user with ready jobs; Redis drops
//! it when it empties.

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

    /// The ring of groups that have ready ids.
    pub fn groups(&self) -> String {
        self.name("groups")
    }

    /// The ready ids of one group (user).
    pub fn group(&self, group: &str) -> String {
        format!("{}{group}", self.group_prefix())
    }

    /// What every group's key starts with.
    pub fn group_prefix(&self) -> String {
        self.name("group:")
    }

    /// A `KEYS`/`SCAN` pattern matching every group's key (and nothing else).
    pub fn group_pattern(&self) -> String {
        let mut pattern = String::new();
        for c in self.group_prefix().chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    /// The ids pops took lately, by when (for the reconciler's restore).
    pub fn taken(&self) -> String {
        self.name("taken")
    }

    /// The index of every id held: job id → group.
    pub fn jobs(&self) -> String {
        self.name("jobs")
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

    /// The pub/sub channel of programs' output, as stored.
    pub fn output(&self) -> String {
        self.name("output")
    }

    /// Every fixed key that holds queue data (channels hold none); with the
    /// keys [`Keys::group_pattern`] matches, every key of the queue, e.g. to
    /// delete it. In this order they are the `add` and `take` scripts' keys.
    pub fn data_keys(&self) -> Vec<String> {
        vec![self.groups(), self.delayed(), self.priority(), self.jobs(), self.wake(), self.clock(), self.taken()]
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
        names.extend([keys.events(), keys.cancels(), keys.output()]);
        for name in &names {
            assert_eq!(hash_tag(name), Some("jobs-a"), "{name}");
        }
        assert_eq!(keys.groups(), "{jobs-a}:groups");
        for user in ["alice", "", "{bob}", "}x{", "a b\tc", "ü:*"] {
            let name = keys.group(user);
            assert_eq!(hash_tag(&name), Some("jobs-a"), "{name}");
            assert_eq!(name, format!("{{jobs-a}}:group:{user}"));
        }
        assert_eq!(Keys::new("a*b").group_pattern(), "{a\\*b}:group:*");
        assert_eq!(keys.cancels(), "{jobs-a}:cancel");
    }

    #[test]
    fn an_empty_prefix_gives_no_usable_hash_tag() {
        assert!(Keys::new("videojobs").has_valid_tag());
        assert!(!Keys::new("").has_valid_tag());
        assert!(!Keys::new("}x").has_valid_tag());
    }
}
