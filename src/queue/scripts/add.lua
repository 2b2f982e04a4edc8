-- Adds job ids to the queue: push (one id) and restore (a batch) in one script.
-- KEYS: groups (the ring), delayed, priority, jobs, wake, clock, taken
-- ARGV[1]: 'push' (add the id, moving it if already held)
--          or 'restore' (add only ids held neither ready nor delayed, and
--          repair the index and the ring for the ids that are held)
--          or 'untaken' (restore, leaving out the ids a pop took less than
--          ARGV[4] ms ago: their workers are claiming them)
-- ARGV[2]: capacity: no new id is added while the queue holds >= capacity
-- ARGV[3]: the prefix of the group sets' names ('{p}:group:')
-- ARGV[4]: untaken's grace in ms (0 otherwise)
-- ARGV[5..]: quadruples of job id, group, priority (-100..=100), delay in ms
--            (0: ready)
-- Returns {added, waiting after, 1 if it stopped because the queue is full}.
local ring, delayed, prio, jobs, wake, clock, taken = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local untaken = ARGV[1] == 'untaken'
local restore = ARGV[1] == 'restore' or untaken
local capacity = tonumber(ARGV[2])
local prefix = ARGV[3]
local taken_since = now_ms() - tonumber(ARGV[4])
local added, woke = 0, false

local function finish(full)
  -- A popper blocked until a later deadline (or none) must look again.
  if woke then redis.call('ZADD', wake, 0, 'wake') end
  return {added, redis.call('HLEN', jobs), full}
end

for i = 5, #ARGV, 4 do
  local id, group, priority, delay = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local set = prefix .. group
  local in_ready = redis.call('ZSCORE', set, id)
  local in_delayed = redis.call('ZSCORE', delayed, id)
  local held = in_ready or in_delayed
  local just_taken = false
  if untaken and not held then
    local when = redis.call('ZSCORE', taken, id)
    just_taken = when and tonumber(when) > taken_since
  end
  if just_taken then
    -- Its worker is claiming it: the database's word that it waits is stale.
  elseif held and restore then
    -- Held: only make sure it is indexed and its group has its turn.
    redis.call('HSET', jobs, id, group)
    if in_ready and not redis.call('ZSCORE', ring, group) then
      join_ring(ring, clock, group, now_ms())
      woke = true
    end
  else
    if not held and redis.call('HLEN', jobs) >= capacity then
      return finish(1)
    end
    local now = now_ms()
    if delay > 0 then
      if in_ready then
        redis.call('ZREM', set, id)
        if redis.call('EXISTS', set) == 0 then redis.call('ZREM', ring, group) end
      end
      redis.call('ZADD', delayed, int(now + delay), id)
      redis.call('HSET', prio, id, priority)
      redis.call('HSET', jobs, id, group)
    else
      redis.call('ZREM', delayed, id)
      redis.call('HDEL', prio, id)
      make_ready(ring, jobs, clock, prefix, id, group, priority, now)
    end
    woke = true
    added = added + 1
  end
end
return finish(0)
