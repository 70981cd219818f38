// Lua that the budget script and the hierarchy script share, pasted into each: how a call
// begins (the server's clock), how settled records are kept and forgotten, the operations
// both implement alike (abandon, renew, refill, sweep), and how a batch of calls is run.
//
// What a script must define for them: KEYS S (state), L (lease records), D (deadlines),
// G (graveyard) as locals; `graveMs`; `ep`, `xl`, `xu`, `sq` and `dirty`; `nd` and `ng` (see
// SWEEP) and `meta`, set when they change, so the script saves them without counting a change
// of the budget; `split(rec)` returning the record's state, cost and epoch, then its fourth
// field; `lapse(id, cost, epoch, fourth)`, which gives an expired lease's units back (if its
// epoch is live), keeps its record and returns the units given back; `settleHeld(id, how,
// cost, epoch, used, fourth)`; `refill(times)`; `period`, `org` and `pidx` (see EPOCHS); and
// `out`, the operation's own values.

/**
 * @internal The first lines: the operation, `A` (the ARGV index of its first own argument),
 * limits, the server's clock in milliseconds, and `fmt` — numbers written with %.0f, since
 * Lua 5.1's tostring keeps only 14 significant digits.
 */
export function prelude(first: number): string {
  return `
local op, A = ARGV[1], ${first}
local MAX = 9007199254740991
local SWEEP = 16
local FORGET = 64
-- A graveyard member that lists the records one call kept (see BURY) is scored BUNDLED plus
-- its forget time: past any forget time of a single record (the window is at most 2^40 ms),
-- so a version that forgets single records alone never reaches it; below 2^53, so exact.
local BUNDLED = 4503599627370496
local FORGET_IDS = 1024
local NEVER = math.huge
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(x) return string.format('%.0f', x) end
`;
}

/**
 * @internal Defines `splitPeriod(p)`, a period argument's configuration (milliseconds, or a
 * calendar) and, for a calendar, the boundaries the client computed around now after '@':
 * '<epoch start>,<its calendar index>,<next boundary>'; and `bracket(marks)`, those three
 * numbers, or nil when they do not bracket the server's time (a client clock too far off).
 */
export const CALENDAR = `
local function splitPeriod(p)
  local at = string.find(p, '@', 1, true)
  if not at then return p end
  return string.sub(p, 1, at - 1), string.sub(p, at + 1)
end
local function bracket(marks)
  local a, b, d = string.match(marks, '^(%-?%d+),(%-?%d+),(%-?%d+)$')
  local start, idx, nxt = tonumber(a), tonumber(b), tonumber(d)
  if not nxt or now < start or now >= nxt then return nil end
  return start, idx, nxt
end
`;

/**
 * @internal Begins, all at once, the epochs whose boundaries passed since the last call:
 * one every `period` ms of server time counted from `org`, `pidx` the last one begun.
 */
export const EPOCHS = `
if period > 0 then
  local idx = math.floor((now - org) / period)
  if idx > pidx then
    refill(idx - pidx)
    pidx = idx
  end
end
`;

/**
 * @internal Defines `bury(id, rec)`, which keeps a settled record (so a retry is recognised)
 * until the graveyard lets go, and `due(deadline)`, which every write of a lease deadline calls.
 *
 * `keep(id, rec)` does what `bury` does for a record that is final (no later call writes or
 * buries that id again; an abandon may bury it in the same call, with the same forget time),
 * and `flushKept()`, which the script calls once before it saves, gives
 * all the records kept in the call one graveyard member: their ids, separated by spaces, scored
 * BUNDLED plus their forget time. A member per record cost the server more than the rest of a
 * count reservation's work; a member per call is one sorted-set entry for a whole batch. A
 * record buried again later must stay a member of its own, since its forget time moves.
 */
export const BURY = `
local function due(deadline)
  if deadline < nd then
    nd = deadline
    meta = true
  end
end
-- Records written now are forgotten at now + graveMs: the graveyard is looked at by then.
local function forgetting()
  local forget = now + graveMs
  if forget < ng then
    ng = forget
    meta = true
  end
  return forget
end
local function bury(id, rec)
  redis.call('HSET', L, id, rec)
  redis.call('ZADD', G, forgetting(), id)
end
local keptIds = {}
local function keep(id, rec)
  redis.call('HSET', L, id, rec)
  keptIds[#keptIds + 1] = id
end
local function flushKept()
  if #keptIds == 0 then return end
  redis.call('ZADD', G, BUNDLED + forgetting(), table.concat(keptIds, ' '))
  keptIds = {}
end
`;

/**
 * @internal Defines `expire(limit)`, which settles up to `limit` leases whose deadline passed,
 * each once, through the script's `lapse`, counting them in `swept`, `sweptUnits`,
 * `sweptBack`; runs it for a few; then forgets a batch of the settled records whose time ran
 * out.
 *
 * Neither look costs a command while nothing can be due. `nd` is a lower bound on the
 * deadlines in D (NEVER when it is empty): `due` lowers it as deadlines are written, and a
 * sweep that leaves no expired lease behind reads the earliest deadline left. `ng` is when the
 * graveyard is next looked at: `bury` and `flushKept` lower it to the earliest forget time
 * they write, and a look that forgets every record due puts it off by `graceMs` (a quarter of
 * the window, at most a second), so records are forgotten in batches, between the window and
 * 1.25 windows after they settled. A look forgets up to FORGET single records, and up to
 * FORGET members of a call's records until FORGET_IDS records are gone; one that stops short
 * leaves `ng` due, so the next call looks again.
 */
export const SWEEP = `
local swept, sweptUnits, sweptBack = 0, 0, 0
-- Expires the held lease id: its units come back (lapse), and the sweep's counts take it.
local function lapsed(id, cost, lep, fourth)
  local back = lapse(id, cost, lep, fourth)
  xl = math.min(xl + 1, MAX)
  xu = math.min(xu + cost, MAX)
  swept = swept + 1
  sweptUnits = sweptUnits + cost
  sweptBack = sweptBack + back
end
local function expire(limit)
  local ids = redis.call('ZRANGEBYSCORE', D, '-inf', now, 'LIMIT', 0, limit)
  if #ids < limit then
    local first = redis.call('ZRANGE', D, 0, 0, 'WITHSCORES')
    nd = first[2] and tonumber(first[2]) or NEVER
    meta = true
  end
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local rec = redis.call('HGET', L, id)
    if rec then
      local state, cost, lep, fourth = split(rec)
      if state == 'h' then lapsed(id, cost, lep, fourth) end
    end
  end
  redis.call('ZREM', D, unpack(ids))
  dirty = true
end
local function sweep()
  if now >= nd then expire(SWEEP) end
end
-- The record of id, after expiring the lease first if it is past its deadline: a call sweeps
-- at most SWEEP leases, and one that more due leases left behind must not be settled or
-- renewed as live. Costs a command only while such a backlog is left (nd still due).
local function current(id)
  local rec = redis.call('HGET', L, id)
  if not rec or now < nd then return rec end
  local state, cost, lep, fourth = split(rec)
  if state ~= 'h' then return rec end
  local deadline = redis.call('ZSCORE', D, id)
  if not deadline or tonumber(deadline) > now then return rec end
  lapsed(id, cost, lep, fourth)
  redis.call('ZREM', D, id)
  dirty = true
  return redis.call('HGET', L, id)
end
sweep()

if now >= ng then
  local dead = redis.call('ZRANGEBYSCORE', G, '-inf', now, 'LIMIT', 0, FORGET)
  if #dead > 0 then
    redis.call('HDEL', L, unpack(dead))
    redis.call('ZREM', G, unpack(dead))
  end
  -- Members of a call's records, up to FORGET of them and about FORGET_IDS records a look.
  local bundles = redis.call('ZRANGEBYSCORE', G, BUNDLED, BUNDLED + now, 'LIMIT', 0, FORGET)
  local done, gone = {}, 0
  for _, b in ipairs(bundles) do
    if gone >= FORGET_IDS then break end
    -- In slices: unpack puts every element on Lua's stack, which holds a few thousand.
    local ids = {}
    for id in string.gmatch(b, '[^ ]+') do
      ids[#ids + 1] = id
      if #ids == 512 then
        redis.call('HDEL', L, unpack(ids))
        gone, ids = gone + #ids, {}
      end
    end
    if #ids > 0 then redis.call('HDEL', L, unpack(ids)) end
    gone = gone + #ids
    done[#done + 1] = b
  end
  if #done > 0 then redis.call('ZREM', G, unpack(done)) end
  if #dead < FORGET and #bundles < FORGET and #done == #bundles then
    ng = now + math.min(1000, math.floor(graveMs / 4))
    meta = true
  end
end
`;

/**
 * @internal `elseif` branches for the operations both scripts implement alike: `abt` (abandon
 * a request whose answer was lost), `ren` (renew a lease), `ref` (refill, once per epoch when
 * `ifEpoch` is given), `swp` (sweep expired leases).
 */
export const COMMON_OPS = `
elseif op == 'abt' then
  local id = ARGV[A]
  local rec = redis.call('HGET', L, id)
  if not rec then
    bury(id, 'A')
    out = {0, 0}
  else
    local state, cost, lep, fourth = split(rec)
    if state == 'h' then
      out = settleHeld(id, 'r', cost, lep, 0, fourth)
      bury(id, 'A')
    elseif state == 'C' then
      -- A count reservation that arrived stays: its units are the pool's now, and a release
      -- of the pool may already have returned them, so taking them back could return twice.
      out = {-1, 0}
    else
      out = {0, 0}
    end
  end
elseif op == 'ren' then
  local id = ARGV[A]
  local rec = current(id)
  if rec and string.sub(rec, 1, 1) == 'h' then
    local deadline = now + tonumber(ARGV[A + 1])
    redis.call('ZADD', D, deadline, id)
    due(deadline)
    out = {1, deadline}
  else
    out = {0, 0}
  end
elseif op == 'ref' then
  local times, ifEpoch, rid = tonumber(ARGV[A]), tonumber(ARGV[A + 1]), ARGV[A + 2]
  -- A copy of a refill (re-sent after a reconnect) answers what the first one did, as text
  -- 'F|<answer>|<epoch>' kept under its id (a call without one, from raw use, keeps none).
  local first = rid and redis.call('HGET', L, rid)
  if first then
    local _, answer, atEpoch = split(first)
    out = {answer, atEpoch}
  elseif ifEpoch >= 0 and ifEpoch ~= ep then
    out = {0, ep}
  elseif ep > MAX - times then
    -- Past 2^53 - 1 an epoch could not be told from the one before: refused, nothing changed.
    out = {2, ep}
  else
    refill(times)
    out = {1, ep}
  end
  if rid and not first then keep(rid, 'F|' .. out[1] .. '|' .. fmt(out[2])) end
elseif op == 'swp' then
  expire(tonumber(ARGV[A]))
  out = {redis.call('ZCARD', D)}
`;

/**
 * @internal Defines `batch(known, check, run, head)`, which runs a batch: ARGV[A] operations,
 * each its name, the number of its arguments, then those, in order, exactly as if each were a
 * call of its own — so before each but the first, the leases due are swept again, as that
 * call's own sweep would have. Every name must be in `known`, and pass `check(name, first
 * argument index)` (nil, or an error reply), before anything runs. `run(op, a, count)` (its
 * arguments: ARGV[a] and the `count` after it) returns the operation's values (or nil and an
 * error reply); `head(last)` its reply header. Returns the
 * reply — each operation's header and values after their length — or nil and an error reply.
 * Needs `sweep()`, which sweeps as a call's start does.
 */
export const BATCH = `
local function batch(known, check, run, head)
  local k, p, at = tonumber(ARGV[A]), A + 1, {}
  for j = 1, k do
    local name = ARGV[p]
    if not known[name] then return nil, redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(name)) end
    local bad = check(name, p + 2)
    if bad then return nil, bad end
    at[j] = p
    p = p + 2 + tonumber(ARGV[p + 1])
  end
  local reply = {}
  for j = 1, k do
    if j > 1 then sweep() end
    local out, err = run(ARGV[at[j]], at[j] + 2, tonumber(ARGV[at[j] + 1]))
    if not out then return nil, err end
    local h = head(j == k)
    reply[#reply + 1] = #h + #out
    for i = 1, #h do reply[#reply + 1] = h[i] end
    for i = 1, #out do reply[#reply + 1] = out[i] end
  end
  return reply
end
`;
