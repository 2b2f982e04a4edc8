-- Shared by the queue scripts: prepended to each one at compile time.
-- Times are the Redis server's, so nodes with skewed clocks still agree.

-- Reading TIME and then writing needs effects replication before Redis 5
-- (later versions always replicate effects; the call is then a no-op).
if redis.replicate_commands then redis.replicate_commands() end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Lua formats numbers with 14 significant digits; scores need up to 16.
local function int(n)
  return string.format('%.0f', n)
end

-- The arrival time of a ready id (or of a group's turn): the server's ms, but
-- strictly increasing, so what arrives in the same ms still keeps its order.
local function arrival(clock_key, now)
  local t = math.max(now, tonumber(redis.call('GET', clock_key) or '0') + 1)
  redis.call('SET', clock_key, int(t))
  return t
end

-- Lowest score leaves its group first: higher priority first, FIFO within a
-- priority. With priority in -100..=100 and t < 1e13 it stays below 2^53.
local function ready_score(priority, t)
  return int((100 - priority) * 1e13 + t)
end

-- Puts a group with ready ids at the back of the ring, unless it is in it.
-- The group sets' names are built here (prefix .. group), not passed in
-- KEYS: a pop cannot know them in advance. They share the hash tag of every
-- declared key, so on Cluster they live in the same slot.
local function join_ring(ring, clock, group, now)
  if not redis.call('ZSCORE', ring, group) then
    redis.call('ZADD', ring, int(arrival(clock, now)), group)
  end
end

-- Makes an id ready in its group (moving it to the back of its priority if
-- it was ready already) and indexes it.
local function make_ready(ring, jobs, clock, prefix, id, group, priority, now)
  redis.call('HSET', jobs, id, group)
  redis.call('ZADD', prefix .. group, ready_score(priority, arrival(clock, now)), id)
  join_ring(ring, clock, group, now)
end
