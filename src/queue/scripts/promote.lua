-- Moves due delayed ids to ready, at most ARGV[1] of them per call.
-- KEYS: ready, delayed, priority, clock
-- Returns the ms until the next delayed id is due (0: more are due now),
-- or -1 when nothing is delayed.
local ready, delayed, prio, clock = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(due) do
  local priority = tonumber(redis.call('HGET', prio, id) or '0')
  redis.call('ZREM', delayed, id)
  redis.call('HDEL', prio, id)
  redis.call('ZADD', ready, ready_score(priority, arrival(clock, now)), id)
end
local next = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return math.max(0, tonumber(next[2]) - now)
