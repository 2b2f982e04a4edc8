-- Adds job ids to the queue: push (one id) and restore (a batch) in one script.
-- KEYS: ready, delayed, priority, wake, clock
-- ARGV[1]: 'push' (add the id, moving it if already held)
--          or 'restore' (add only ids held neither ready nor delayed)
-- ARGV[2]: capacity: no new id is added while ready + delayed >= capacity
-- ARGV[3..]: triples of job id, priority (-100..=100), delay in ms (0: ready)
-- Returns {added, waiting after, 1 if it stopped because the queue is full}.
local ready, delayed, prio, wake, clock = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local restore = ARGV[1] == 'restore'
local capacity = tonumber(ARGV[2])
local waiting = redis.call('ZCARD', ready) + redis.call('ZCARD', delayed)
local added, woke = 0, false

local function finish(full)
  -- A popper blocked until a later deadline (or none) must look again.
  if woke then redis.call('ZADD', wake, 0, 'wake') end
  return {added, waiting, full}
end

for i = 3, #ARGV, 3 do
  local id, priority, delay = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local held = redis.call('ZSCORE', ready, id) or redis.call('ZSCORE', delayed, id)
  if not (held and restore) then
    if not held and waiting >= capacity then
      return finish(1)
    end
    local now = now_ms()
    if delay > 0 then
      redis.call('ZREM', ready, id)
      redis.call('ZADD', delayed, int(now + delay), id)
      redis.call('HSET', prio, id, priority)
      woke = true
    else
      redis.call('ZREM', delayed, id)
      redis.call('HDEL', prio, id)
      redis.call('ZADD', ready, ready_score(priority, arrival(clock, now)), id)
    end
    if not held then waiting = waiting + 1 end
    added = added + 1
  end
end
return finish(0)
