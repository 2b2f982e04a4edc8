-- The pop: moves due delayed ids (at most ARGV[2]) to their groups, then
-- takes the best id of the group whose turn it is and sends that group to
-- the back of the ring if it has more.
-- It keeps the id taken, with when, in taken (for the reconciler's restore),
-- and forgets the takes older than ARGV[3] ms.
-- KEYS: groups (the ring), delayed, priority, jobs, wake, clock, taken
-- ARGV[1]: the prefix of the group sets' names ('{p}:group:')
-- ARGV[2]: how many delayed ids to move at most
-- ARGV[3]: how long taken keeps a take, in ms
-- Returns {id, group, its score, ms until the next delayed id is due}: id
-- is '' when nothing is ready; the ms are 0 when more are due now, -1 when
-- nothing is delayed.
local ring, delayed, prio, jobs, wake, clock, taken = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local prefix, kept = ARGV[1], tonumber(ARGV[3])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  local priority = tonumber(redis.call('HGET', prio, id) or '0')
  local group = redis.call('HGET', jobs, id) or ''
  redis.call('ZREM', delayed, id)
  redis.call('HDEL', prio, id)
  make_ready(ring, jobs, clock, prefix, id, group, priority, now)
end

local until_next = -1
local next = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
if #next > 0 then until_next = math.max(0, tonumber(next[2]) - now) end

while true do
  local turn = redis.call('ZPOPMIN', ring)
  if #turn == 0 then break end
  local group = turn[1]
  local set = prefix .. group
  local best = redis.call('ZPOPMIN', set)
  -- A group without ids (not left by these scripts) just loses its turn.
  if #best > 0 then
    redis.call('HDEL', jobs, best[1])
    redis.call('ZADD', taken, int(now), best[1])
    redis.call('ZREMRANGEBYSCORE', taken, '-inf', '(' .. int(now - kept))
    if redis.call('EXISTS', set) == 1 then join_ring(ring, clock, group, now) end
    -- More is ready: another blocked popper may take it.
    if redis.call('EXISTS', ring) == 1 then redis.call('ZADD', wake, 0, 'wake') end
    return {best[1], group, best[2], until_next}
  end
end
return {'', '', '0', until_next}
