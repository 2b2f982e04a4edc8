-- Takes job ids out of the queue wherever they wait, ready or delayed: a
-- paused job is parked outside the queue until its pause ends (the resume
-- puts it back). A group left without ready ids leaves the ring.
-- KEYS: groups (the ring), delayed, priority, jobs
-- ARGV[1]: the prefix of the group sets' names ('{p}:group:')
-- ARGV[2..]: job ids
-- Returns how many of them the queue held.
local ring, delayed, prio, jobs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix = ARGV[1]
local removed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local group = redis.call('HGET', jobs, id)
  if group then
    local set = prefix .. group
    redis.call('ZREM', set, id)
    if redis.call('EXISTS', set) == 0 then redis.call('ZREM', ring, group) end
    redis.call('ZREM', delayed, id)
    redis.call('HDEL', prio, id)
    redis.call('HDEL', jobs, id)
    removed = removed + 1
  end
end
return removed
