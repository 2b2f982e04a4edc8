-- Puts back an id a cancelled pop took, at the score it had, with its group
-- first in the ring (it had the turn), unless the id was pushed again
-- meanwhile.
-- KEYS: groups (the ring), jobs, wake, clock
-- ARGV: the prefix of the group sets' names, job id, group, score
local ring, jobs, wake, clock = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id, group, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', jobs, id) == 1 then return 0 end
redis.call('HSET', jobs, id, group)
redis.call('ZADD', prefix .. group, score, id)
if not redis.call('ZSCORE', ring, group) then
  local first = redis.call('ZRANGE', ring, 0, 0, 'WITHSCORES')
  if #first > 0 then
    redis.call('ZADD', ring, int(tonumber(first[2]) - 1), group)
  else
    redis.call('ZADD', ring, int(arrival(clock, now_ms())), group)
  end
end
redis.call('ZADD', wake, 0, 'wake')
return 1
