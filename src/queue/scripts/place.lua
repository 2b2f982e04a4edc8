-- Places in line (see place.rs): for each job asked about, how many ready
-- ids leave the queue before it in the fair order, or when a delayed id
-- becomes ready. Reads only.
-- KEYS: groups (the ring), delayed, jobs
-- ARGV[1]: the prefix of the group sets' names ('{p}:group:')
-- ARGV[2]: 'ids' (ARGV[4..] are job ids) or 'groups' (ARGV[4..] are groups)
-- ARGV[3]: in 'groups' mode, how many of each group's first ids to place
-- Returns a flat array of strings. 'ids': per id its kind and a number:
-- 'r', ahead (ready) / 'd', the server ms it is due (delayed) / 'n', '0'
-- (not held). 'groups': per placed id its group, the id and ahead.
local ring, delayed, jobs = KEYS[1], KEYS[2], KEYS[3]
local prefix, mode, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])

local turns = redis.call('ZRANGE', ring, 0, -1)
local index, sizes = {}, {}
for i, group in ipairs(turns) do
  index[group] = i
  sizes[i] = redis.call('ZCARD', prefix .. group)
end

local function ahead(at, rank)
  local n = rank
  for i, size in ipairs(sizes) do
    if i < at then
      n = n + math.min(size, rank + 1)
    elseif i > at then
      n = n + math.min(size, rank)
    end
  end
  return n
end

local out = {}
if mode == 'ids' then
  for i = 4, #ARGV do
    local id = ARGV[i]
    local due = redis.call('ZSCORE', delayed, id)
    local group = redis.call('HGET', jobs, id)
    local rank = group and redis.call('ZRANK', prefix .. group, id)
    if due then
      table.insert(out, 'd'); table.insert(out, due)
    elseif rank and index[group] then
      table.insert(out, 'r'); table.insert(out, int(ahead(index[group], rank)))
    else
      table.insert(out, 'n'); table.insert(out, '0')
    end
  end
  return out
end

-- 'groups': from one id to the next in a group, one more of its own leaves
-- first, plus each other group that still has an id for that turn. With
-- the groups' sizes counted once (capped), each step costs nothing more.
for i = 4, #ARGV do
  local group = ARGV[i]
  local at = index[group]
  if at then
    local ids = redis.call('ZRANGE', prefix .. group, 0, limit - 1)
    local cap = #ids + 1
    local before, after = {}, {}
    for t = 0, cap + 1 do before[t], after[t] = 0, 0 end
    for j, size in ipairs(sizes) do
      local s = math.min(size, cap)
      if j < at then before[s] = before[s] + 1 elseif j > at then after[s] = after[s] + 1 end
    end
    -- Now before[t]: the groups ahead of this one in the ring with at least t.
    for t = cap - 1, 0, -1 do
      before[t] = before[t] + before[t + 1]
      after[t] = after[t] + after[t + 1]
    end
    local n = before[1]
    for r, id in ipairs(ids) do
      table.insert(out, group); table.insert(out, id); table.insert(out, int(n))
      n = n + 1 + before[r + 1] + after[r]
    end
  end
end
return out
