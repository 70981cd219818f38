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
// The state hash holds the configuration ('cfg') and the numbers ('st', packed doubles). Lease
// records are a state letter and cost, epoch and extra, packed (see `rec`): h held, r released,
// c committed, u recorded, U recorded after expiry, x expired (extra: units refunded at
// expiry), C a count reservation, R a count release (cost: units accepted), K a usage charge;
// "A" alone is a request abandoned before it arrived.
//
// The budget itself is the Lua function `open` (BUDGET below): it loads one budget's state,
// begins the epochs whose boundaries passed, sweeps expired leases, and returns an object whose
// methods check, charge, settle and save it. This script opens one; the all-of script
// (all-of-script.ts) opens several and charges all or none. The lines the hierarchy script
// shares are in lua-common.ts.
import * as lua from './lua-common.js';
import { luaScript } from './script-runner.js';

/**
 * @internal Lua (after `lua.prelude`) defining `cfgOf(c)`, a budget's configuration string
 * from ARGV[c …], and `open(S, L, D, G, c)`: the budget whose keys are S, L, D, G and whose
 * six configuration arguments start at ARGV[c]. `open` returns the budget object, or nil and
 * the stored configuration when Redis holds the budget with another one (nothing written).
 */
export const BUDGET = `
${lua.CALENDAR}
-- A budget's period argument (see lua.CALENDAR): only the calendar is configuration; the
-- boundaries come with every call.
local function periodOf(c) return splitPeriod(ARGV[c + 3]) end
local function cfgOf(c, period)
  period = period or periodOf(c)
  return ARGV[c] .. '|' .. ARGV[c + 1] .. '|' .. ARGV[c + 2] .. '|' .. period .. '|' .. ARGV[c + 4]
end
-- The state hash holds 'cfg' and 'st': the numbers below packed as doubles (exact for every
-- safe integer), one field to read and write instead of one each.
local PACKED = '<dddddddddddddd'
local OLD = {'net', 'rs', 'ch', 'ep', 'org', 'pidx', 'con', 'od', 'fg', 'xl', 'xu', 'sq'}
-- A lease record: its state letter, a zero byte, then cost, epoch and a fourth number packed
-- as doubles. Records without the zero byte are text, "<state>|<cost>|<epoch>|<fourth>" as
-- earlier versions wrote them (and 'A', an abandoned request, written by lua-common).
local RECORD = '<c1Bddd'
local function rec(state, cost, epoch, fourth)
  return struct.pack(RECORD, state, 0, cost, epoch or 0, fourth or 0)
end
local function split(r)
  if string.byte(r, 2) == 0 then
    local state, _, cost, epoch, fourth = struct.unpack(RECORD, r)
    return state, cost, epoch, fourth
  end
  local p = {}
  for part in string.gmatch(r, '[^|]+') do p[#p + 1] = part end
  return p[1], tonumber(p[2] or '0'), tonumber(p[3] or '0'), tonumber(p[4] or '0')
end
-- The operations run() knows.
local OPS = {acq = 1, res = 1, rel = 1, set = 1, chg = 1, abt = 1, ren = 1, ref = 1, swp = 1, get = 1}
local function open(S, L, D, G, c)
local stablePeriod, marks = periodOf(c)
local cfg = cfgOf(c, stablePeriod)
local kind = ARGV[c]
local cap = tonumber(ARGV[c + 1])
local carry = ARGV[c + 2] == 'carry'
-- A calendar budget: the epoch in force by the server's clock, and when the next one begins.
-- Boundaries that do not bracket now were computed on a clock too far off: nothing is read
-- or written, and the client computes them again around the server time it is told.
local calStart, calIdx, calNext
if marks then
  calStart, calIdx, calNext = bracket(marks)
  if not calStart then return nil, nil, now end
end
local period = marks and 0 or tonumber(ARGV[c + 3])
local maxDebt = tonumber(ARGV[c + 4])
local graveMs = tonumber(ARGV[c + 5])

local f = redis.call('HMGET', S, 'cfg', 'st')
local net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq, nd, ng
local dirty, meta, old = false, false, false
if not f[1] then
  net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq = cap, 0, 0, 0, now, 0, 0, 0, 0, 0, 0, 0
  nd, ng = NEVER, NEVER
  dirty = true
elseif f[1] ~= cfg then
  return nil, f[1]
elseif f[2] then
  net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq, nd, ng = struct.unpack(PACKED, f[2])
else
  -- Stored by a version that kept each number in a field of its own: read once, and saved
  -- packed (the old fields deleted) by this call.
  local o = redis.call('HMGET', S, unpack(OLD))
  for i = 1, #o do o[i] = tonumber(o[i]) end
  net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq = unpack(o)
  nd, ng, old, meta = -NEVER, -NEVER, true, true
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
  -- Past 2^53 - 1 an epoch could not be told from the one before: every call that would begin
  -- one is refused, before anything is written.
  if ep > MAX - times then error({err = 'BUDGETRY_EPOCHS ' .. string.format('%.0f', ep)}) end
  ep = ep + times
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
if calIdx then
  -- A new budget starts in the calendar epoch in force; a later call begins those passed.
  if not f[1] then
    pidx = calIdx
  elseif calIdx > pidx then
    refill(calIdx - pidx)
    pidx = calIdx
  end
end
-- An expired lease's units come back, fenced to its epoch like any release.
local function lapse(id, cost, lep)
  local back = 0
  if live(lep) then
    rs = rs - cost
    net = net + cost
    back = cost
  end
  bury(id, rec('x', cost, lep, back))
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
    keep(id, rec('r', cost, lep))
    return {1, ok and cost or 0, 0}
  elseif how == 'c' then
    if ok then net = net + cost - amount end
    keep(id, rec('c', cost, lep, amount))
    return {1, ok and cost - amount or 0, 0}
  end
  con = math.min(con + amount, MAX)
  local change = 0
  if ok then change = cost - amount elseif amount > cost then change = cost - amount end
  local written = addToNet(change)
  keep(id, rec('u', cost, lep, amount))
  return {1, 0, written}
end

-- Usage charged in full, for a reservation whose estimate is no longer held (expired, or
-- granted while the store was unreachable).
local function charge(id, cost, amount, kept, mark)
  con = math.min(con + amount, MAX)
  local change = math.min(0, kept - amount)
  local written = addToNet(change)
  -- A charge of its own ('K') is final; a late record ('U') may follow an expiry's record.
  if mark == 'K' then keep(id, rec(mark, cost, 0, amount)) else bury(id, rec(mark, cost, 0, amount)) end
  dirty = true
  return {1, 0, written, 1}
end

-- The answer to a request for cost under id when it must not charge: a request with this id
-- arrived before (or was abandoned), or cost does not fit; nil when it may charge.
local function check(id, cost)
  local rec = redis.call('HGET', L, id)
  if rec then
    local state, _, lep = split(rec)
    if state == 'A' then return {0, ep, 0}, 'seen' end
    return {1, lep, 0}, 'seen'
  end
  if cost > 0 and cost > net then return {0, ep, net > 0 and net or 0}, 'full' end
  return nil
end
-- Charges cost under id: a lease of leaseMs ('acq'), or a count reservation ('res').
local function take(op, id, cost, leaseMs)
  net = net - cost
  rs = rs + cost
  dirty = true
  if op == 'acq' then
    local deadline = now + tonumber(leaseMs)
    redis.call('HSET', L, id, rec('h', cost, ep))
    redis.call('ZADD', D, deadline, id)
    due(deadline)
    return {1, ep, deadline}
  end
  ch = ch + cost
  keep(id, rec('C', cost, ep))
  return {1, ep, 0}
end
-- What a count release under id accepted, if it arrived before.
local function released(id)
  local rec = redis.call('HGET', L, id)
  if not rec then return nil end
  local _, accepted = split(rec)
  return accepted
end
-- A count release refused (strict): remembered as accepting nothing.
local function refuse(id) keep(id, rec('R', 0)) end
-- A count release of cost: what the count API holds of it comes back; returns that.
local function giveBack(id, cost)
  local accepted = math.min(cost, ch)
  ch, rs, net = ch - accepted, rs - accepted, net + accepted
  od = math.min(od + cost - accepted, MAX)
  keep(id, rec('R', accepted))
  dirty = true
  return accepted
end
local function countHeld() return ch end
local function room() return net end
-- When the next epoch begins, in ms from now (-1: no refill period).
local function nextIn()
  if calNext then return calNext - now end
  if period > 0 then return org + (pidx + 1) * period - now end
  return -1
end
-- Settles the lease id: how 'r' release, 'c' commit amount, 'u' record amount (cost: the
-- lease's, for a record forgotten since).
local function settle(id, how, amount, cost)
  local rec = current(id)
  if not rec then
    -- Forgotten: settled or expired longer ago than the graveyard keeps records. Only an
    -- expired lease can still be settled, so it is treated as one whose estimate came back.
    if how == 'u' then return charge(id, cost, amount, 0, 'U') end
    if how == 'c' then return {-2, 0, 0} end
    return {0, 0, 0}
  end
  local state, rcost, lep, extra = split(rec)
  if state == 'h' then return settleHeld(id, how, rcost, lep, amount) end
  if state == 'x' then
    if how == 'u' then return charge(id, rcost, amount, rcost - extra, 'U') end
    if how == 'c' then return {-2, extra, 0} end
    return {0, 0, 0, 1}
  end
  -- The same settle again: a retry whose first answer was lost, or a copy of the command. It
  -- changes nothing, and says that an earlier attempt applied it, what that one gave back
  -- (as the epoch reads now) and what it charged.
  local back = 0
  if (state == 'r' or state == 'c') and live(lep) then back = rcost - extra end
  if state == how or (how == 'u' and state == 'U') then return {2, back, 0, 0, extra} end
  -- Another settle came first: 3 when it charged (a commit or a record; what it gave back
  -- and what it charged follow), 0 when it released.
  if state == 'c' or state == 'u' or state == 'U' then return {3, back, 0, 0, extra} end
  return {0, 0, 0}
end
-- Runs the single-budget operation op, its arguments from ARGV[A]; nil for an unknown one.
local function run(op, A)
  local out
  if op == 'acq' or op == 'res' then
    local id, cost = ARGV[A], tonumber(ARGV[A + 1])
    out = check(id, cost) or take(op, id, cost, ARGV[A + 2])
  elseif op == 'rel' then
    local id, cost, strict = ARGV[A], tonumber(ARGV[A + 1]), ARGV[A + 2] == '1'
    local accepted = released(id)
    if accepted then
      out = {1, accepted}
    elseif strict and cost > ch then
      -- Refused, and remembered as accepting nothing, so a copy arriving later is refused too.
      refuse(id)
      out = {-1, ch}
    else
      out = {1, giveBack(id, cost)}
    end
  elseif op == 'set' then
    out = settle(ARGV[A], ARGV[A + 1], tonumber(ARGV[A + 2]), tonumber(ARGV[A + 3]))
  elseif op == 'chg' then
    local id, amount = ARGV[A], tonumber(ARGV[A + 1])
    -- A charge seen before: applied by an earlier attempt whose answer was lost (what it
    -- charged follows).
    local seen = redis.call('HGET', L, id)
    if seen then
      local _, _, _, charged = split(seen)
      out = {2, 0, 0, 0, charged}
    else
      out = charge(id, 0, amount, 0, 'K')
    end
${lua.COMMON_OPS}
  elseif op == 'get' then
    local nextAt = -1
    if calNext then nextAt = calNext elseif period > 0 then nextAt = org + (pidx + 1) * period end
    out = {net, rs, ch, ep, con, od, fg, xl, xu, redis.call('ZCARD', D), now, nextAt}
  end
  return out
end
-- Writes the state back if anything changed (counting a change of the budget only when
-- dirty: meta is the sweep's bookkeeping); then the reply header.
-- The reply header of the operation just run: counts a change of the budget if it made one,
-- and hands over the leases the call swept (reported once, with the first operation).
local changed = false
local function mark()
  if dirty then
    sq = sq + 1
    dirty, changed = false, true
  end
  local head = {swept, sweptUnits, sweptBack, net, sq}
  swept, sweptUnits, sweptBack = 0, 0, 0
  return head
end
-- Ends the call: the last header, and the state written back if anything changed (meta: the
-- sweep's bookkeeping only).
local function save()
  flushKept()
  local head = mark()
  if changed or meta then
    local st = struct.pack(PACKED, net, rs, ch, ep, org, pidx, con, od, fg, xl, xu, sq, nd, ng)
    if not f[1] then
      redis.call('HSET', S, 'cfg', cfg, 'st', st)
    else
      redis.call('HSET', S, 'st', st)
    end
    if old then
      redis.call('HDEL', S, unpack(OLD))
      old = false
    end
    changed, meta = false, false
  end
  return head
end
return {kind = kind, check = check, take = take, released = released, refuse = refuse, giveBack = giveBack, countHeld = countHeld, room = room, nextIn = nextIn, settle = settle, run = run, sweep = sweep, mark = mark, save = save}
end
`;

const SCRIPT = `
${lua.prelude(8)}
${BUDGET}
local budget, stored, serverNow = open(KEYS[1], KEYS[2], KEYS[3], KEYS[4], 2)
if not budget then
  if not stored then return redis.error_reply('BUDGETRY_CALENDAR ' .. fmt(serverNow)) end
  return redis.error_reply('BUDGETRY_CONFIG stored ' .. stored .. ', given ' .. cfgOf(2))
end
if op ~= 'bat' then
  local out = budget.run(op, A)
  if not out then return redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(op)) end
  local reply = budget.save()
  for i = 1, #out do reply[#reply + 1] = out[i] end
  return reply
end
-- A batch (lua.BATCH): every name known before anything runs; the state saved once, last.
local sweep = budget.sweep
${lua.BATCH}
local reply, err = batch(OPS, function() return nil end, budget.run, function(last)
  if last then return budget.save() end
  return budget.mark()
end)
if not reply then return err end
return reply`;

/** @internal The budget script, named by its SHA-1. */
export const BUDGET_SCRIPT = luaScript(SCRIPT, 'kind|capacity|policy|period|maxDebt');
