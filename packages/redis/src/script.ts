// The one Lua script every operation of a Redis budget runs: EVALSHA with an operation name,
// so each call is one atomic step and one round trip. Guards and token budgets share it; they
// differ only in which operations they send.
//
// KEYS: 1 state hash, 2 lease records (hash), 3 live lease deadlines (zset), 4 graveyard (zset:
// settled records and when to forget them).
// ARGV: 1 op, 2 kind, 3 capacity, 4 policy, 5 refill period ms (0: none), 6 max debt (-1: none),
// 7 graveyard ms, 8 … the operation's own arguments.
//
// Every reply begins with {leases expired by this call, their units, units they refunded,
// available - debt after the call, the number of state changes so far (this call's place in
// the budget's one order of changes)}; the operation's own values follow.
//
// Lease records are strings "<state>|<cost>|<epoch>|<extra>": h held, r released, c committed,
// u recorded, U recorded after expiry, x expired (extra: units refunded at expiry), C a count
// reservation, R a count release (cost: units accepted), A abandoned before it arrived, K a
// usage charge.
// The lines both scripts share are in lua-common.ts.
import * as lua from './lua-common.js';
import { luaScript } from './script-runner.js';

const SCRIPT = `
local S, L, D, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
${lua.prelude(8)}
local cfg = ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[5] .. '|' .. ARGV[6]
local cap = tonumber(ARGV[3])
local carry = ARGV[4] == 'carry'
local period = tonumber(ARGV[5])
local maxDebt = tonumber(ARGV[6])
local graveMs = tonumber(ARGV[7])

local f = redis.call('HMGET', S, 'cfg', 'net', 'rs', 'ch', 'ep', 'org', 'pidx', 'con', 'od', 'fg', 'xl', 'xu', 'sq')
local net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq
local dirty = false
if not f[1] then
  net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq = cap, 0, 0, 0, now, 0, 0, 0, 0, 0, 0, 0
  dirty = true
elseif f[1] ~= cfg then
  return redis.error_reply('BUDGETRY_CONFIG stored ' .. f[1] .. ', given ' .. cfg)
else
  net, rs, ch, ep = tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), tonumber(f[5])
  org, pidx, con, od = tonumber(f[6]), tonumber(f[7]), tonumber(f[8]), tonumber(f[9])
  fg, xl, xu, sq = tonumber(f[10]), tonumber(f[11]), tonumber(f[12]), tonumber(f[13])
end

local function split(rec)
  local p = {}
  for part in string.gmatch(rec, '[^|]+') do p[#p + 1] = part end
  return p[1], tonumber(p[2] or '0'), tonumber(p[3] or '0'), tonumber(p[4] or '0')
end
local function live(epoch) return carry or epoch == ep end
${lua.BURY}
-- Each refill after the first pays up to another capacity of what is still owed.
local function debtAfter(debt, k)
  if debt == 0 or k == 0 or cap == 0 then return debt end
  if k >= math.ceil(debt / cap) then return 0 end
  return debt - k * cap
end
local function refill(times)
  ep = math.min(ep + times, MAX)
  local debt
  if carry then
    local closing = net + rs
    debt = closing < 0 and -closing or 0
  else
    debt = net < 0 and -net or 0
    rs, ch = 0, 0
  end
  net = cap - rs - debtAfter(debt, times - 1)
  dirty = true
end

-- Adds change to available - debt, never below -maxDebt; returns what was written off.
local function addToNet(change)
  local floor = -(maxDebt < 0 and MAX or math.min(maxDebt, MAX))
  local room = net - floor
  if change >= 0 or -change <= room then
    net = net + change
    return 0
  end
  local written = -change - room
  net = floor
  fg = math.min(fg + written, MAX)
  return written
end

${lua.EPOCHS}
-- An expired lease's units come back, fenced to its epoch like any release.
local function lapse(id, cost, lep)
  local back = 0
  if live(lep) then
    rs = rs - cost
    net = net + cost
    back = cost
  end
  bury(id, 'x|' .. fmt(cost) .. '|' .. fmt(lep) .. '|' .. fmt(back))
  return back
end
${lua.SWEEP}
local function settleHeld(id, how, cost, lep, amount)
  local ok = live(lep)
  if ok then rs = rs - cost end
  redis.call('ZREM', D, id)
  dirty = true
  if how == 'r' then
    if ok then net = net + cost end
    bury(id, 'r|' .. fmt(cost) .. '|' .. fmt(lep))
    return {1, ok and cost or 0, 0}
  elseif how == 'c' then
    if ok then net = net + cost - amount end
    bury(id, 'c|' .. fmt(cost) .. '|' .. fmt(lep) .. '|' .. fmt(amount))
    return {1, ok and cost - amount or 0, 0}
  end
  con = math.min(con + amount, MAX)
  local change = 0
  if ok then change = cost - amount elseif amount > cost then change = cost - amount end
  local written = addToNet(change)
  bury(id, 'u|' .. fmt(cost) .. '|' .. fmt(lep) .. '|' .. fmt(amount))
  return {1, 0, written}
end

-- Usage charged in full, for a reservation whose estimate is no longer held (expired, or
-- granted while the store was unreachable).
local function charge(id, cost, amount, kept, mark)
  con = math.min(con + amount, MAX)
  local change = math.min(0, kept - amount)
  local written = addToNet(change)
  bury(id, mark .. '|' .. fmt(cost) .. '|0|' .. fmt(amount))
  dirty = true
  return {1, 0, written, 1}
end

local out
if op == 'acq' or op == 'res' then
  local id, cost = ARGV[8], tonumber(ARGV[9])
  local rec = redis.call('HGET', L, id)
  if rec then
    local state, _, lep = split(rec)
    if state == 'A' then out = {0, ep, 0} else out = {1, lep, 0} end
  elseif cost > 0 and cost > net then
    out = {0, ep, net > 0 and net or 0}
  else
    net = net - cost
    rs = rs + cost
    dirty = true
    if op == 'acq' then
      local deadline = now + tonumber(ARGV[10])
      redis.call('HSET', L, id, 'h|' .. fmt(cost) .. '|' .. fmt(ep))
      redis.call('ZADD', D, deadline, id)
      out = {1, ep, deadline}
    else
      ch = ch + cost
      bury(id, 'C|' .. fmt(cost) .. '|' .. fmt(ep))
      out = {1, ep, 0}
    end
  end
elseif op == 'rel' then
  local id, cost, strict = ARGV[8], tonumber(ARGV[9]), ARGV[10] == '1'
  local rec = redis.call('HGET', L, id)
  if rec then
    local _, accepted = split(rec)
    out = {1, accepted}
  elseif strict and cost > ch then
    -- Refused, and remembered as accepting nothing, so a copy arriving later is refused too.
    bury(id, 'R|0')
    out = {-1, ch}
  else
    local accepted = math.min(cost, ch)
    ch, rs, net = ch - accepted, rs - accepted, net + accepted
    od = math.min(od + cost - accepted, MAX)
    bury(id, 'R|' .. fmt(accepted))
    dirty = true
    out = {1, accepted}
  end
elseif op == 'set' then
  local id, how, amount = ARGV[8], ARGV[9], tonumber(ARGV[10])
  local cost = tonumber(ARGV[11])
  local rec = redis.call('HGET', L, id)
  if not rec then
    -- Forgotten: settled or expired longer ago than the graveyard keeps records. Only an
    -- expired lease can still be settled, so it is treated as one whose estimate came back.
    if how == 'u' then out = charge(id, cost, amount, 0, 'U')
    elseif how == 'c' then out = {-2, 0, 0}
    else out = {0, 0, 0} end
  else
    local state, rcost, lep, extra = split(rec)
    if state == 'h' then
      out = settleHeld(id, how, rcost, lep, amount)
    elseif state == 'x' then
      if how == 'u' then out = charge(id, rcost, amount, rcost - extra, 'U')
      elseif how == 'c' then out = {-2, extra, 0}
      else out = {0, 0, 0, 1} end
    elseif state == how or (how == 'u' and state == 'U') then
      -- The same settle again: a retry whose first answer was lost. It changes nothing,
      -- and says that an earlier attempt applied it.
      out = {2, 0, 0}
    else
      out = {0, 0, 0}
    end
  end
elseif op == 'chg' then
  local id, amount = ARGV[8], tonumber(ARGV[9])
  if redis.call('HGET', L, id) then out = {1, 0, 0, 0} else out = charge(id, 0, amount, 0, 'K') end
${lua.COMMON_OPS}
elseif op == 'get' then
  local nextAt = -1
  if period > 0 then nextAt = org + (pidx + 1) * period end
  out = {net, rs, ch, ep, con, od, fg, xl, xu, redis.call('ZCARD', D), now, nextAt}
else
  return redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(op))
end

if dirty then
  sq = sq + 1
  redis.call('HSET', S, 'sq', fmt(sq), 'cfg', cfg, 'net', fmt(net), 'rs', fmt(rs), 'ch', fmt(ch), 'ep', fmt(ep),
    'org', fmt(org), 'pidx', fmt(pidx), 'con', fmt(con), 'od', fmt(od), 'fg', fmt(fg),
    'xl', fmt(xl), 'xu', fmt(xu))
end
${lua.reply('net')}`;

/** @internal The budget script, named by its SHA-1. */
export const BUDGET_SCRIPT = luaScript(SCRIPT, 'kind|capacity|policy|period|maxDebt');
