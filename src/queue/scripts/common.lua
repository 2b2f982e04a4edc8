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

-- The arrival time of a ready id: the server's ms, but strictly increasing,
-- so ids that arrive in the same ms still leave in arrival order.
local function arrival(clock_key, now)
  local t = math.max(now, tonumber(redis.call('GET', clock_key) or '0') + 1)
  redis.call('SET', clock_key, int(t))
  return t
end

-- Lowest score leaves first: higher priority first, FIFO within a priority.
-- With priority in -100..=100 and t < 1e13 the score stays below 2^53.
local function ready_score(priority, t)
  return int((100 - priority) * 1e13 + t)
end
