// The Lua script of a Redis all-of: one reservation on several budgets (guards and token
// budgets) that is taken on every one of them or on none, and settled on every one of them,
// each call one EVALSHA — atomic on the server, one round trip, whatever the number of members.
//
// Each member is the budget script's own budget object (`open` in script.ts): its state,
// epochs from the server's clock, the sweep of its expired leases, its lease records and
// settles are exactly a single budget's. A reservation puts a lease record of the same id in
// every member, so expiry, retries, fencing and debt work per member as they do alone.
//
// KEYS: each member's four keys (state, leases, deadlines, graveyard), member after member.
// ARGV: 1 op, 2 n (members), 3 … 2 + 6n each member's six configuration arguments (as the
// budget script's ARGV 2 … 7), then the operation's own arguments.
//
// Every reply begins with n headers of five — each member's {leases expired by this call, their
// units, units they refunded, available - debt after the call, its number of state changes} —
// and the operation's own values follow:
// - acq / res (id, cost, lease ms[, each member's charge]): {1, deadline (0 for res), each
//   member's epoch}; a denial
//   {0, the first member without room, its room, ms to its next epoch or -1}; a request seen
//   before {2, 1 if it was granted}.
// - set (id, how 'r'|'c', cost, each member's amount): per member {code, refunded, written
//   off, expired} as the budget script's settle (a token member's commit is a record).
// - rel (id, cost, each member's strict flag as one string of 0/1[, each member's charge]):
//   {1, accepted by each},
//   or {-1, the strict member that holds less, what it holds}.
// - abt (id): each member's code (-1: a count reservation arrived and stays).
// - ren, swp, get: the budget script's answer for each member, one after another.
import * as lua from './lua-common.js';
import { BUDGET } from './script.js';
import { luaScript } from './script-runner.js';

const SCRIPT = `
${lua.prelude(0)}
${BUDGET}
local n = tonumber(ARGV[2])
A = 3 + 6 * n
local function at(i) return 3 + 6 * (i - 1) end
-- Every member's configuration first: a mismatch is refused before anything is written.
for i = 1, n do
  local stored = redis.call('HGET', KEYS[4 * i - 3], 'cfg')
  if stored and stored ~= cfgOf(at(i)) then
    return redis.error_reply('BUDGETRY_CONFIG member ' .. i .. ' stored ' .. stored .. ', given ' .. cfgOf(at(i)))
  end
end
-- Then every calendar member's boundaries: a member opened sweeps (and writes) at once, so
-- boundaries computed on a clock too far off are refused before any member is opened.
for i = 1, n do
  local _, marks = periodOf(at(i))
  if marks and not bracket(marks) then return redis.error_reply('BUDGETRY_CALENDAR ' .. fmt(now)) end
end
local m = {}
for i = 1, n do m[i] = open(KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i], at(i)) end

-- Each member's charge for a request or a count release of cost (its count arguments from
-- ARGV[a]): after the first three, one per member when some members have a fixed charge;
-- else the cost.
local function chargesOf(cost, a, count)
  local c = {}
  for i = 1, n do c[i] = count >= 3 + n and tonumber(ARGV[a + 2 + i]) or cost end
  return c
end

-- Runs operation op, its count arguments from ARGV[A]: its values, or nil and an error reply.
local function runOp(op, A, count)
  local out = {}
  if op == 'acq' or op == 'res' then
    local id, cost = ARGV[A], tonumber(ARGV[A + 1])
    local charges = chargesOf(cost, A, count)
    -- A request seen before (a retry, a copy re-sent, or one abandoned) charges nothing again.
    for i = 1, n do
      local seen = m[i].check(id, 0)
      if seen then
        out = {2, seen[1]}
        break
      end
    end
    if #out == 0 then
      for i = 1, n do
        if m[i].check(id, charges[i]) then
          local room = m[i].room()
          out = {0, i, room > 0 and room or 0, m[i].nextIn()}
          break
        end
      end
    end
    if #out == 0 then
      out = {1, 0}
      for i = 1, n do
        local taken = m[i].take(op, id, charges[i], ARGV[A + 2])
        out[2] = taken[3]
        out[i + 2] = taken[2]
      end
    end
  elseif op == 'set' then
    local id, how, cost = ARGV[A], ARGV[A + 1], tonumber(ARGV[A + 2])
    for i = 1, n do
      local h = how
      if how == 'c' and m[i].kind == 'token' then h = 'u' end
      local r = m[i].settle(id, h, tonumber(ARGV[A + 2 + i]), cost)
      for j = 1, 4 do out[#out + 1] = r[j] or 0 end
    end
  elseif op == 'rel' then
    local id, cost, strict = ARGV[A], tonumber(ARGV[A + 1]), ARGV[A + 2]
    local charges = chargesOf(cost, A, count)
    local seen = false
    for i = 1, n do
      if m[i].released(id) then seen = true end
    end
    if seen then
      out = {1}
      for i = 1, n do out[i + 1] = m[i].released(id) or 0 end
    else
      for i = 1, n do
        if string.sub(strict, i, i) == '1' and charges[i] > m[i].countHeld() then
          out = {-1, i, m[i].countHeld()}
          break
        end
      end
      if #out > 0 then
        for i = 1, n do m[i].refuse(id) end
      else
        out = {1}
        for i = 1, n do out[i + 1] = m[i].giveBack(id, charges[i]) end
      end
    end
  elseif op == 'abt' then
    -- Each member's answer code only: -1 where a count reservation arrived and stays.
    for i = 1, n do out[i] = m[i].run(op, A)[1] end
  elseif op == 'ren' or op == 'swp' or op == 'get' then
    for i = 1, n do
      local r = m[i].run(op, A)
      for j = 1, #r do out[#out + 1] = r[j] end
    end
  else
    return nil, redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(op))
  end
  return out
end

-- Every member's reply header, after the operation just run; the last saves every member.
local function heads(last)
  local h = {}
  for i = 1, n do
    local head = last and m[i].save() or m[i].mark()
    for j = 1, 5 do h[#h + 1] = head[j] end
  end
  return h
end

local reply, err
if op ~= 'bat' then
  local out
  out, err = runOp(op, A, #ARGV - A + 1)
  if not out then return err end
  reply = heads(true)
  for i = 1, #out do reply[#reply + 1] = out[i] end
else
  -- A batch (lua.BATCH): every name known before anything runs; every member saved once, last.
  local OPS = {acq = 1, res = 1, rel = 1, set = 1, abt = 1, ren = 1, swp = 1, get = 1}
  local function sweep()
    for i = 1, n do m[i].sweep() end
  end
${lua.BATCH}
  reply, err = batch(OPS, function() return nil end, runOp, heads)
  if not reply then return err end
end
return reply`;

/** @internal The all-of script, named by its SHA-1. */
export const ALL_OF_SCRIPT = luaScript(SCRIPT, 'members|kind|capacity|policy|period|maxDebt');
