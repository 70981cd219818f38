// The one Lua script of a Redis hierarchy: every operation on any node of one tree — reserve,
// release, commit (whole or partial), the count API, refill, expiry — is one EVALSHA, so a
// reservation on a leaf charges the leaf and every ancestor in one atomic step and one round
// trip, or, when any of them lacks room, changes nothing.
//
// KEYS (one hash tag, one Cluster slot): 1 tree state (hash), 2 nodes (hash), 3 lease records
// (hash), 4 live lease deadlines (zset), 5 graveyard (zset: settled records, when to forget).
// ARGV: 1 op, 2 capacities by level ('c0,c1,…', root first), 3 refill period ms (0: none) or
// calendar with its boundaries (lua-common CALENDAR),
// 4 graveyard ms, 5 … the operation's own arguments.
//
// A node is named by its path: 'n' is the root, 'n:<k1>' its child under key k1, 'n:<k1>:<k2>'
// a grandchild, each key percent-encoded by the client (no ':' or '|' of its own), so a name's
// ancestors are its prefixes up to each ':'. A node record is "<epoch>|<held>|<own>|<count>|<cap>":
// held by the node and its subtree, by the node itself, through its count API; cap −1 means its
// level's. A record of an older epoch holds nothing (refills are `reset`: the tree's epoch moves
// on and every node is fenced off at once). A node that holds nothing at its level's capacity
// is deleted: idle tenants cost nothing.
//
// Every reply begins as the budget script's: {leases expired by this call, their units, units
// they refunded, room on the path of the node the call was about (else the root), the number of
// state changes so far}; the operation's own values follow.
//
// Records an older epoch left behind are removed by reclaimExpired() ('tdy', a batch a call).
//
// Lease records are "<state>|<cost>|<epoch>|<node>|<extra>": h held, r released, c committed
// (extra: units kept), x expired (extra: units refunded), C a count reservation; "R|<accepted>"
// a count release, "A" an abandoned request. The lines both scripts share are in lua-common.ts.
import * as lua from './lua-common.js';
import { luaScript } from './script-runner.js';

const SCRIPT = `
local S, N, L, D, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
${lua.prelude(5)}
${lua.CALENDAR}
-- A calendar tree (see lua.CALENDAR): the epoch in force by the server's clock, and when the
-- next begins; boundaries that do not bracket TIME are refused before anything is read.
local stablePeriod, marks = splitPeriod(ARGV[3])
local calStart, calIdx, calNext
if marks then
  calStart, calIdx, calNext = bracket(marks)
  if not calStart then return redis.error_reply('BUDGETRY_CALENDAR ' .. fmt(now)) end
end
local cfg = 'tree|' .. ARGV[2] .. '|' .. stablePeriod
local caps = {}
for c in string.gmatch(ARGV[2], '[^,]+') do caps[#caps + 1] = tonumber(c) end
local period = marks and 0 or tonumber(ARGV[3])
local graveMs = tonumber(ARGV[4])

-- The state hash holds 'cfg' and 'st', the tree's numbers packed as doubles (exact for every
-- safe integer): one field to read and write.
local PACKED = '<ddddddddd'
local OLD = {'ep', 'org', 'pidx', 'od', 'xl', 'xu', 'sq'}
local f = redis.call('HMGET', S, 'cfg', 'st')
local ep, org, pidx, od, xl, xu, sq, nd, ng
local dirty, meta, old = false, false, false
if not f[1] then
  ep, org, pidx, od, xl, xu, sq, nd, ng = 0, now, 0, 0, 0, 0, 0, NEVER, NEVER
  dirty = true
elseif f[1] ~= cfg then
  return redis.error_reply('BUDGETRY_CONFIG stored ' .. f[1] .. ', given ' .. cfg)
elseif f[2] then
  ep, org, pidx, od, xl, xu, sq, nd, ng = struct.unpack(PACKED, f[2])
else
  -- Stored by a version that kept each number in a field of its own: read once, and saved
  -- packed (the old fields deleted) by this call.
  local o = redis.call('HMGET', S, unpack(OLD))
  for i = 1, #o do o[i] = tonumber(o[i]) end
  ep, org, pidx, od, xl, xu, sq = unpack(o)
  nd, ng, old, meta = -NEVER, -NEVER, true, true
end
local nodes, touched = {}, {}
-- A new epoch: every node starts empty (those already loaded too, by the sweep).
local function refill(times)
  -- Past 2^53 - 1 an epoch could not be told from the one before: every call that would begin
  -- one is refused, before anything is written.
  if ep > MAX - times then error({err = 'BUDGETRY_EPOCHS ' .. string.format('%.0f', ep)}) end
  ep = ep + times
  for _, node in pairs(nodes) do node.h, node.o, node.c = 0, 0, 0 end
  dirty = true
end
${lua.EPOCHS}
if calIdx then
  -- A new tree starts in the calendar epoch in force; a later call begins those passed.
  if not f[1] then
    pidx = calIdx
  elseif calIdx > pidx then
    refill(calIdx - pidx)
    pidx = calIdx
  end
end
-- The names on the path from name up to the root, each node loaded (one HMGET for all).
local function path(name)
  local names, missing = {}, {}
  local n = name
  while n do
    names[#names + 1] = n
    if not nodes[n] then missing[#missing + 1] = n end
    n = string.match(n, '^(.*):[^:]*$')
  end
  if #names > #caps then return nil end
  if #missing > 0 then
    local recs = redis.call('HMGET', N, unpack(missing))
    for i, m in ipairs(missing) do
      local depth = 0
      for _ in string.gmatch(m, ':') do depth = depth + 1 end
      local node = {h = 0, o = 0, c = 0, cap = -1, d = depth}
      local rec = recs[i]
      if rec then
        local p = {}
        for part in string.gmatch(rec, '[^|]+') do p[#p + 1] = part end
        node.cap = tonumber(p[5])
        if tonumber(p[1]) == ep then
          node.h, node.o, node.c = tonumber(p[2]), tonumber(p[3]), tonumber(p[4])
        end
      end
      nodes[m] = node
    end
  end
  return names
end
local function capOf(node) if node.cap >= 0 then return node.cap end return caps[node.d + 1] end
local function room(node) return capOf(node) - node.h end
-- Adds amount to what every node on the path holds, and to what the first holds itself.
local function charge(names, amount)
  for _, n in ipairs(names) do
    nodes[n].h = nodes[n].h + amount
    touched[n] = true
  end
  nodes[names[1]].o = nodes[names[1]].o + amount
  dirty = true
end
local function badPath(name)
  return redis.error_reply('BUDGETRY_PATH node ' .. name .. ' is deeper than the tree has levels')
end

local function split(rec)
  local p = {}
  for part in string.gmatch(rec, '[^|]+') do p[#p + 1] = part end
  return p[1], tonumber(p[2] or '0'), tonumber(p[3] or '0'), p[4], tonumber(p[5] or '0')
end
${lua.BURY}
local function lease(state, cost, lep, name, extra)
  return state .. '|' .. fmt(cost) .. '|' .. fmt(lep) .. '|' .. name .. '|' .. fmt(extra)
end

local focus = 'n'
-- An expired lease's units come back to its whole path, in its epoch only.
local function lapse(id, cost, lep, name)
  local back = 0
  if lep == ep then
    charge(path(name), -cost)
    back = cost
  end
  bury(id, lease('x', cost, lep, name, back))
  return back
end
${lua.SWEEP}
-- Settles a held lease: what it gives back goes to every node on its path, in its epoch only.
local function settleHeld(id, how, cost, lep, used, name)
  redis.call('ZREM', D, id)
  local back = 0
  if lep == ep then
    if how == 'r' then back = cost else back = cost - used end
    charge(path(name), -back)
  end
  keep(id, lease(how, cost, lep, name, used))
  focus = name
  dirty = true
  return {1, back, 0}
end

-- Runs operation op, its arguments from ARGV[A]: its values, or nil and an error reply. The
-- reply header is about the node focus names (the root unless the operation names one).
local function runOp(op, A)
  focus = 'n'
  local out
  if op == 'acq' or op == 'res' then
    local id, cost = ARGV[A], tonumber(ARGV[A + 1])
    local name = ARGV[A + 2]
    if op == 'acq' then name = ARGV[A + 3] end
    local names = path(name)
    if not names then return nil, badPath(name) end
    focus = name
    local rec = redis.call('HGET', L, id)
    if rec then
      local state, _, lep = split(rec)
      if state == 'A' then out = {0, ep, 0, -1} else out = {1, lep, 0, -1} end
    else
      local denied = -1
      if cost > 0 then
        for i, n in ipairs(names) do
          if cost > room(nodes[n]) then
            denied = i - 1
            break
          end
        end
      end
      if denied >= 0 then
        -- With the path's smallest capacity: a cost above it can never be granted.
        local most = MAX
        for _, n in ipairs(names) do most = math.min(most, capOf(nodes[n])) end
        out = {0, ep, 0, denied, most}
      else
        charge(names, cost)
        if op == 'acq' then
          local deadline = now + tonumber(ARGV[A + 2])
          redis.call('HSET', L, id, lease('h', cost, ep, name, 0))
          redis.call('ZADD', D, deadline, id)
          due(deadline)
          out = {1, ep, deadline, -1}
        else
          nodes[name].c = nodes[name].c + cost
          keep(id, lease('C', cost, ep, name, 0))
          out = {1, ep, 0, -1}
        end
      end
    end
  elseif op == 'rel' then
    local id, cost, strict, name = ARGV[A], tonumber(ARGV[A + 1]), ARGV[A + 2] == '1', ARGV[A + 3]
    local names = path(name)
    if not names then return nil, badPath(name) end
    focus = name
    local node = nodes[name]
    local rec = redis.call('HGET', L, id)
    if rec then
      local _, accepted = split(rec)
      out = {1, accepted}
    elseif strict and cost > node.c then
      keep(id, 'R|0')
      out = {-1, node.c}
    else
      local accepted = math.min(cost, node.c)
      charge(names, -accepted)
      node.c = node.c - accepted
      od = math.min(od + cost - accepted, MAX)
      keep(id, 'R|' .. fmt(accepted))
      out = {1, accepted}
    end
  elseif op == 'set' then
    local id, how, used = ARGV[A], ARGV[A + 1], tonumber(ARGV[A + 2])
    local rec = current(id)
    if not rec then
      -- Forgotten: settled or expired longer ago than the graveyard keeps records.
      if how == 'c' then out = {-2, 0, 0} else out = {0, 0, 0} end
    else
      local state, cost, lep, name, extra = split(rec)
      if state == 'h' then
        out = settleHeld(id, how, cost, lep, used, name)
      elseif state == 'x' then
        if how == 'c' then out = {-2, extra, 0} else out = {0, 0, 0, 1} end
      else
        -- Settled before: by this settle (2: a retry, or a copy of the command) or by a
        -- commit (3); what it gave back, as the epoch reads now, and what it charged.
        local back = 0
        if lep == ep and (state == 'r' or state == 'c') then back = cost - extra end
        if state == how then
          out = {2, back, 0, 0, extra}
        elseif state == 'c' then
          out = {3, back, 0, 0, extra}
        else
          out = {0, 0, 0}
        end
      end
    end
  ${lua.COMMON_OPS}
  elseif op == 'tdy' then
    -- Removes, a batch at a time, the records of nodes an older epoch left behind: they hold
    -- nothing now, and a node at its level's capacity needs no record.
    local scan = redis.call('HSCAN', N, ARGV[A], 'COUNT', tonumber(ARGV[A + 1]))
    local fields, stale = scan[2], {}
    for i = 1, #fields, 2 do
      local e, cap = string.match(fields[i + 1], '^([^|]*)|.*|([^|]*)$')
      if tonumber(e) ~= ep and tonumber(cap) < 0 then stale[#stale + 1] = fields[i] end
    end
    if #stale > 0 then redis.call('HDEL', N, unpack(stale)) end
    out = {scan[1], #stale}
  elseif op == 'cap' then
    local name, capacity = ARGV[A], tonumber(ARGV[A + 1])
    if not path(name) then return nil, badPath(name) end
    focus = name
    local node = nodes[name]
    if capacity < node.h then
      out = {-1, node.h}
    else
      node.cap = capacity
      touched[name] = true
      dirty = true
      out = {1, 0}
    end
  elseif op == 'get' then
    local name = ARGV[A]
    local names = path(name)
    if not names then return nil, badPath(name) end
    focus = name
    local nextAt = -1
    if calNext then
      nextAt = calNext
    elseif period > 0 then
      nextAt = org + (pidx + 1) * period
    end
    out = {ep, od, xl, xu, redis.call('ZCARD', D), now, nextAt}
    for _, n in ipairs(names) do
      local node = nodes[n]
      out[#out + 1] = node.cap
      out[#out + 1] = node.h
      out[#out + 1] = node.o
      out[#out + 1] = node.c
    end
  else
    return nil, redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(op))
  end
  return out
end

-- An operation's reply header: counts a change if it made one; the room on the path of the
-- node it was about; the leases this call swept, reported once, with the first operation.
local changed = false
local function header()
  if dirty then
    sq = sq + 1
    dirty, changed = false, true
  end
  local roomAt = MAX
  for _, n in ipairs(path(focus)) do roomAt = math.min(roomAt, room(nodes[n])) end
  local head = {swept, sweptUnits, sweptBack, roomAt, sq}
  swept, sweptUnits, sweptBack = 0, 0, 0
  return head
end

local reply, err
if op ~= 'bat' then
  local out
  out, err = runOp(op, A)
  if not out then return err end
  reply = header()
  for i = 1, #out do reply[#reply + 1] = out[i] end
else
  -- A batch (lua.BATCH): every name known, and every node on the tree's levels, before
  -- anything runs; the nodes and the tree's state saved once, last.
  local OPS = {acq = 1, res = 1, rel = 1, set = 1, abt = 1, ren = 1, ref = 1, swp = 1, tdy = 1, cap = 1, get = 1}
  -- Where each operation that names a node has the name, among its arguments.
  local NAMED = {acq = 3, res = 2, rel = 3, cap = 0, get = 0}
  local function deep(name, a)
    local at = NAMED[name]
    if not at then return nil end
    local node = ARGV[a + at]
    local depth = 0
    for _ in string.gmatch(node, ':') do depth = depth + 1 end
    if depth >= #caps then return badPath(node) end
    return nil
  end
${lua.BATCH}
  reply, err = batch(OPS, deep, runOp, header)
  if not reply then return err end
end

-- The records this call kept, as one graveyard member (lua.BURY), before the state that says
-- when the graveyard is next looked at is saved.
flushKept()
local idle = {}
for n in pairs(touched) do
  local node = nodes[n]
  if node.h == 0 and node.o == 0 and node.c == 0 and node.cap < 0 then
    idle[#idle + 1] = n
  else
    redis.call('HSET', N, n, fmt(ep) .. '|' .. fmt(node.h) .. '|' .. fmt(node.o) .. '|' .. fmt(node.c) .. '|' .. fmt(node.cap))
  end
end
if #idle > 0 then redis.call('HDEL', N, unpack(idle)) end
if changed or meta then
  redis.call('HSET', S, 'cfg', cfg, 'st', struct.pack(PACKED, ep, org, pidx, od, xl, xu, sq, nd, ng))
  if old then redis.call('HDEL', S, unpack(OLD)) end
end
return reply`;

/** @internal The hierarchy script, named by its SHA-1. */
export const HIERARCHY_SCRIPT = luaScript(SCRIPT, 'tree|capacities by level|period');
