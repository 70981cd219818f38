// The one Lua script of a lease pool: the parent that RedisLeasedBudget children lease slices
// of. Every call first settles the leases whose deadline passed (server time), then does its
// operation, so the sum of live leases is checked and kept ≤ capacity in one atomic step.
//
// KEYS: 1 pool hash (cfg, expired-lease counters), 2 leases hash (client id → "leased|wants"),
// 3 deadlines zset (client id → server time its lease runs out).
// ARGV: 1 op, 2 capacity, 3 algorithm, 4 … the operation's own arguments.
//
// Operations:
//   req id wants cover leaseMs → {target, leased, deadline, lost, Σ leased, clients, now}
//       Computes the caller's share (lease-share.ts) from every live lease's wants and its own,
//       and leases it min(share, free), never less than what it covers (units it may hold
//       until this reply reaches it), and never beyond capacity. `lost`: the caller covered
//       units but had no live lease (it ran out before this call).
//   ret id cover leaseMs → {leased, deadline}: give back everything but `cover`.
//   get → {Σ leased, clients, expired leases, their units, now}
//   sim id want … → the shares of those wants (no state read or written): for tests.

import { budgetKeys } from './keys.js';
import type { LeaseShareAlgorithm } from './lease-share.js';
import { luaScript } from './script-runner.js';

const SHARES = `
local function byId(a, b) return a.id < b.id end
local function shares(cap, wants)
  local total = 0
  for _, w in ipairs(wants) do total = total + w.want end
  local share = {}
  if total <= cap then
    for _, w in ipairs(wants) do share[w.id] = w.want end
    return share
  end
  if algo == 'equal' then
    local order = {}
    for i, w in ipairs(wants) do order[i] = w end
    table.sort(order, function(a, b)
      if a.want ~= b.want then return a.want < b.want end
      return a.id < b.id
    end)
    local left, n = cap, #order
    for j = 1, n do
      local k = n - j + 1
      local even = math.floor(left / k)
      local w = order[j]
      if w.want <= even then
        share[w.id] = w.want
        left = left - w.want
      else
        local rest = {}
        for i = j, n do rest[#rest + 1] = order[i] end
        table.sort(rest, byId)
        local extra = left - even * k
        for _, r in ipairs(rest) do
          share[r.id] = even + (extra > 0 and 1 or 0)
          extra = extra - 1
        end
        return share
      end
    end
    return share
  end
  local parts, given = {}, 0
  for i, w in ipairs(wants) do
    local exact = (w.want / total) * cap
    local whole = math.floor(exact)
    parts[i] = {id = w.id, want = w.want, whole = whole, frac = exact - whole}
    given = given + whole
  end
  table.sort(parts, function(a, b)
    if a.frac ~= b.frac then return a.frac > b.frac end
    return a.id < b.id
  end)
  local left = cap - given
  for _, p in ipairs(parts) do
    local delta = 0
    if left > 0 and p.whole < p.want then delta = 1 elseif left < 0 and p.whole > 0 then delta = -1 end
    share[p.id] = p.whole + delta
    left = left - delta
  end
  return share
end
`;

const SCRIPT = `
local P, R, D = KEYS[1], KEYS[2], KEYS[3]
local op, cap, algo = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local function fmt(x) return string.format('%.0f', x) end
${SHARES}
if op == 'sim' then
  local wants = {}
  for i = 4, #ARGV, 2 do wants[#wants + 1] = {id = ARGV[i], want = tonumber(ARGV[i + 1])} end
  local share = shares(cap, wants)
  local out = {}
  for i, w in ipairs(wants) do out[i] = share[w.id] end
  return out
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cfg = ARGV[2] .. '|' .. algo
local stored = redis.call('HGET', P, 'cfg')
if not stored then
  redis.call('HSET', P, 'cfg', cfg, 'xl', 0, 'xu', 0)
elseif stored ~= cfg then
  return redis.error_reply('BUDGETRY_CONFIG stored ' .. stored .. ', given ' .. cfg)
end

-- Leases whose deadline passed come back, each once: its record and deadline go together.
local dead = redis.call('ZRANGEBYSCORE', D, '-inf', now, 'LIMIT', 0, 1000)
if #dead > 0 then
  local units = 0
  for _, id in ipairs(dead) do
    local rec = redis.call('HGET', R, id)
    if rec then units = units + tonumber(string.match(rec, '^[^|]+')) end
  end
  redis.call('HDEL', R, unpack(dead))
  redis.call('ZREM', D, unpack(dead))
  redis.call('HINCRBY', P, 'xl', #dead)
  redis.call('HINCRBY', P, 'xu', units)
end

-- Every live lease: what it holds and wants; the caller's own apart.
local me = ARGV[4]
local all = redis.call('HGETALL', R)
local wants, others, mine, clients = {}, 0, nil, #all / 2
for i = 1, #all, 2 do
  local leased, want = string.match(all[i + 1], '^([^|]+)|([^|]+)$')
  if all[i] == me then
    mine = tonumber(leased)
  else
    others = others + tonumber(leased)
    wants[#wants + 1] = {id = all[i], want = tonumber(want)}
  end
end

local function keep(leased, want, leaseMs)
  if leased == 0 and want == 0 then
    redis.call('HDEL', R, me)
    redis.call('ZREM', D, me)
    return 0
  end
  if others + leased > cap then
    return redis.error_reply('BUDGETRY_INVARIANT leases would exceed capacity')
  end
  local deadline = now + leaseMs
  redis.call('HSET', R, me, fmt(leased) .. '|' .. fmt(want))
  redis.call('ZADD', D, deadline, me)
  return deadline
end

if op == 'req' then
  local want, cover, leaseMs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  wants[#wants + 1] = {id = me, want = want}
  local free = cap - others
  local target = math.max(0, math.min(shares(cap, wants)[me], free))
  local leased = math.max(target, math.min(cover, free))
  local deadline = keep(leased, want, leaseMs)
  if type(deadline) == 'table' then return deadline end
  local lost = (mine == nil and cover > 0) and 1 or 0
  if deadline == 0 then clients = clients - (mine and 1 or 0) elseif not mine then clients = clients + 1 end
  return {target, leased, deadline, lost, others + leased, clients, now}
elseif op == 'ret' then
  local cover, leaseMs = tonumber(ARGV[5]), tonumber(ARGV[6])
  local leased = math.min(cover, cap - others)
  local deadline = keep(leased, 0, leaseMs)
  if type(deadline) == 'table' then return deadline end
  return {leased, deadline}
elseif op == 'get' then
  local f = redis.call('HMGET', P, 'xl', 'xu')
  return {others, clients, tonumber(f[1]), tonumber(f[2]), now}
end
return redis.error_reply('BUDGETRY_OP unknown operation ' .. tostring(op))
`;

/** @internal The lease pool's script, named by its SHA-1. */
export const LEASE_SCRIPT = luaScript(
  SCRIPT,
  'capacity|algorithm',
  'delete it first with RedisLeasedBudget.destroy(), once no process has it open',
);

/**
 * @internal The keys of the lease pool named `name`: under the same hash tag as a budget of
 * that name (one Cluster slot), with names of their own, so a pool and a `RedisBudget` of one
 * name are two separate budgets.
 */
export function leasePoolKeys(prefix: string, name: string): readonly string[] {
  const tag = budgetKeys(prefix, name).state.replace(/:state$/, '');
  return [`${tag}:lease-pool`, `${tag}:lease-grants`, `${tag}:lease-deadlines`];
}

/** @internal The configuration arguments every call passes after the operation. */
export function leaseConfig(capacity: number, algorithm: LeaseShareAlgorithm): string[] {
  return [String(capacity), algorithm];
}
