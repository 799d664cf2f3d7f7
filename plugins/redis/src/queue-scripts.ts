/**
 * The queue's Lua scripts. Each runs atomically on the server, so a reclaim, an ack and a
 * renewal of the same message can never interleave.
 *
 * Layout per topic (all keys share the `{topic}` hash tag, so a cluster keeps them on one slot):
 * - `s`: the live stream, read by consumer group `tf`. Entries hold `e` (the message envelope as
 *   JSON), `a` (attempts before this entry) and `n` (max attempts). Entries are deleted one by one
 *   when they are settled, never trimmed by length: MAXLEN would drop messages not yet acked.
 * - `d`: a sorted set of delayed messages and retries waiting out their backoff, scored by due
 *   time on Redis's clock (TIME), members `a:n:envelope`.
 * - `x`: the dead-letter stream: `e`, `a` (the last attempt), `n` and `r` (the last error).
 * - `lost`: how many messages were deleted from the stream while a consumer held them.
 *
 * A message that moves (a retry, a reclaim, a release) is added again as a new entry, so each
 * delivery is one stream entry id and a consumer whose entry is gone holds nothing.
 */
import type { Script } from "./connection.ts";

/** Redis TIME in ms, and a helper that adds a member `a:n:envelope` back to a stream. */
const prelude = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function add_member(stream, member)
  local c1 = string.find(member, ':', 1, true)
  local c2 = string.find(member, ':', c1 + 1, true)
  redis.call('XADD', stream, '*', 'e', string.sub(member, c2 + 1), 'a', string.sub(member, 1, c1 - 1),
    'n', string.sub(member, c1 + 1, c2 - 1))
end
local function owned(stream, group, consumer, id)
  return #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 1
end
`;

/** KEYS: delayed. ARGV: delay ms, member. Schedules on Redis's clock. */
export const scheduleScript: Script = {
  name: "queue schedule",
  source: `${prelude}
redis.call('ZADD', KEYS[1], string.format('%.0f', now_ms() + tonumber(ARGV[1])), ARGV[2])
return 1
`,
};

/**
 * Settles one delivery, only if the entry is still pending for this consumer (XACK alone takes
 * no consumer name, so a late ack from a consumer whose message was reclaimed would otherwise
 * settle it for its new owner).
 * KEYS: stream, delayed, dead. ARGV: group, consumer, entry id, mode (`ack`, `retry`, `dead`),
 * and for retry and dead: attempts to record, delay ms, max attempts, envelope, error.
 * Returns 1 when settled, 0 when the entry was no longer this consumer's.
 */
export const settleScript: Script = {
  name: "queue settle",
  source: `${prelude}
if not owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local mode = ARGV[4]
if mode == 'ack' then return 1 end
if mode == 'dead' then
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[8], 'a', ARGV[5], 'n', ARGV[7], 'r', ARGV[9])
  return 1
end
local member = ARGV[5] .. ':' .. ARGV[7] .. ':' .. ARGV[8]
local delay = tonumber(ARGV[6])
if delay > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms() + delay), member)
else
  add_member(KEYS[1], member)
end
return 1
`,
};

/**
 * Renews the leases a consumer holds: XCLAIM to itself with JUSTID resets the idle time without
 * counting a delivery. KEYS: stream, lost counter. ARGV: group, consumer, entry ids...
 * Returns the ids that are no longer this consumer's (reclaimed, or deleted while pending).
 */
export const renewScript: Script = {
  name: "queue renew",
  source: `${prelude}
local gone = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if not owned(KEYS[1], ARGV[1], ARGV[2], id) then
    gone[#gone + 1] = id
  elseif #redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID') == 0 then
    -- Pending but deleted from the stream: XCLAIM dropped it from the pending list.
    redis.call('INCR', KEYS[2])
    gone[#gone + 1] = id
  end
end
return gone
`,
};

/**
 * The consumers' housekeeping, run every few hundred ms by each consumer:
 * 1. moves due delayed messages and retries to the stream;
 * 2. reclaims (XAUTOCLAIM) entries idle for longer than the visibility timeout (their consumer
 *    died or was abandoned): past max attempts they go to the dead-letter stream with the
 *    timeout as their error, otherwise back to the stream, the lapsed delivery counted;
 * 3. counts entries deleted while pending, which only XAUTOCLAIM's third field reports.
 * KEYS: stream, delayed, dead, lost counter. ARGV: group, sweeping consumer, visibility ms, batch.
 * Returns { ms until the next delayed message (-1: none), reclaimed, dead-lettered, lost }.
 */
export const maintainScript: Script = {
  name: "queue maintain",
  source: `${prelude}
local now = now_ms()
local batch = tonumber(ARGV[4])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, batch)) do
  add_member(KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', batch)
local reclaimed, dead = 0, 0
for _, entry in ipairs(claimed[2]) do
  local fields = {}
  for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
  local attempts = tonumber(fields['a']) + 1
  redis.call('XACK', KEYS[1], ARGV[1], entry[1])
  redis.call('XDEL', KEYS[1], entry[1])
  if attempts >= tonumber(fields['n']) then
    redis.call('XADD', KEYS[3], '*', 'e', fields['e'], 'a', attempts, 'n', fields['n'],
      'r', 'visibility timeout of ' .. ARGV[3] .. ' ms passed without an ack')
    dead = dead + 1
  else
    redis.call('XADD', KEYS[1], '*', 'e', fields['e'], 'a', attempts, 'n', fields['n'])
    reclaimed = reclaimed + 1
  end
end
local lost = #claimed[3]
if lost > 0 then redis.call('INCRBY', KEYS[4], lost) end
local next_due = -1
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 2 then next_due = math.max(0, tonumber(first[2]) - now) end
return {next_due, reclaimed, dead, lost}
`,
};

/**
 * The topic's counts in one round trip. KEYS: stream, delayed, dead. ARGV: group.
 * Returns { entries, pending, delayed, dead, age in ms of the first undelivered entry (-1: none) }.
 */
export const statsScript: Script = {
  name: "queue stats",
  source: `${prelude}
local entries = redis.call('XLEN', KEYS[1])
local pending, last = 0, nil
if entries > 0 or redis.call('EXISTS', KEYS[1]) == 1 then
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for i = 1, #group, 2 do fields[group[i]] = group[i + 1] end
    if fields['name'] == ARGV[1] then
      pending = fields['pending']
      last = fields['last-delivered-id']
    end
  end
end
local age = -1
local first
if last then first = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
else first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1) end
if #first == 1 then
  local ms = tonumber(string.sub(first[1][1], 1, string.find(first[1][1], '-', 1, true) - 1))
  age = math.max(0, now_ms() - ms)
end
return {entries, pending, redis.call('ZCARD', KEYS[2]), redis.call('XLEN', KEYS[3]), age}
`,
};
