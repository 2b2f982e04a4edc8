//! The queue's Lua scripts, each prefixed with the shared helpers of
//! `common.lua`, and how they are called.
use fred::clients::Client;
use fred::error::Error as RedisError;
use fred::interfaces::LuaInterface;
use fred::types::{FromValue, Value};

pub const ADD: &str = concat!(include_str!("scripts/common.lua"), include_str!("scripts/add.lua"));
pub const TAKE: &str = concat!(include_str!("scripts/common.lua"), include_str!("scripts/take.lua"));
pub const REQUEUE: &str = concat!(include_str!("scripts/common.lua"), include_str!("scripts/requeue.lua"));
pub const PLACE: &str = concat!(include_str!("scripts/common.lua"), include_str!("scripts/place.lua"));
pub const WITHDRAW: &str = concat!(include_str!("scripts/common.lua"), include_str!("scripts/withdraw.lua"));

/// A Lua script sent by `EVALSHA`, falling back to `EVAL` (which also caches
/// it) when the server does not know it: after a restart or a failover, or on
/// another Cluster node than the one that loaded it.
pub struct Script {
    source: &'static str,
    sha: String,
}

impl Script {
    pub async fn load(client: &Client, source: &'static str) -> Result<Script, RedisError> {
        Ok(Script { source, sha: client.script_load(source).await? })
    }

    pub async fn run<R: FromValue>(
        &self,
        client: &Client,
        keys: Vec<String>,
        args: Vec<Value>,
    ) -> Result<R, RedisError> {
        match client.evalsha(self.sha.as_str(), keys.clone(), args.clone()).await {
            Err(error) if error.details().starts_with("NOSCRIPT") => client.eval(self.source, keys, args).await,
            result => result,
        }
    }
}
