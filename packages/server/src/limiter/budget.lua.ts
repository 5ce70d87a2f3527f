import { GCRA_LUA } from './gcra.lua.ts';

/**
 * The Lua side of `RedisRateLimiter.reserve` and `settle` (redis.ts): `RESERVE_SCRIPT` is
 * `decideReserve` (reserve-decide.ts) transcribed, `SETTLE_SCRIPT` is `decideSettle`, both on
 * top of gcra.ts in Lua (gcra.lua.ts), with the same operations in the same order;
 * redis.test.ts checks them against the TypeScript on random inputs.
 *
 * Budget states are `<spent>` (micros, a decimal integer) under a key naming the subject, the
 * budget's name, its period and the period's start; their TTL is the period's end plus a
 * margin (for late settles), or a long idle TTL refreshed on every write for `total` (such
 * a state can always be loaded again from the store).
 */

/**
 * KEYS: the distinct token-limit states, then the distinct budget states of the request.
 *
 * ARGV:
 *    1  tokens (the estimate)
 *    2  now in ms, or '' to use the server's TIME
 *    3  costMicros (the estimate)
 *    4  number of token-limit requests (n)
 *    5  margin in ms kept after a period's end (TTL of a period's state: end + margin − now)
 *    6  TTL in ms of a `total` budget state, refreshed on write
 *    7… per token limit, in request order: index of its state in KEYS, limit, window ms
 *    then per budget, in request order: index of its state in KEYS, amountMicros, period
 *       start ms, period end ms (-1: `total`), the spent to initialise a missing state with
 *       ('': none yet)
 *
 * Reply, decimal strings:
 *   { 0|1|2 (VALID, RATE_LIMITED, BUDGET_EXCEEDED), retry ms (-1: never/none), now,
 *     then per token limit: remaining, reset ms; then per budget: spent after }
 *   { 3, now } when now is outside a budget's period as the caller computed it (clock skew
 *     or a period boundary): nothing was read or written, recompute with this now;
 *   { 4, now, budget indices (0-based, request order) } when budget states are missing and
 *     have no initial value: nothing was written, load them and call again with initials.
 */
export const RESERVE_SCRIPT = `${GCRA_LUA}
local tokens = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
local nLimits = tonumber(ARGV[4])
local marginMs = tonumber(ARGV[5])
local totalTtlMs = ARGV[6]
local B = 6 + 3 * nLimits
local nBudgets = (#ARGV - B) / 5

for j = 1, nBudgets do
  local at = B + (j - 1) * 5
  local start, finish = tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4])
  if now < start or (finish >= 0 and now >= finish) then return { '3', fmt(now) } end
end

-- The budget states: held, else the caller's initial (set if absent), else missing.
local held, initialised, missing = {}, {}, {}
for j = 1, nBudgets do
  local at = B + (j - 1) * 5
  local k = tonumber(ARGV[at + 1])
  if held[k] == nil then
    local v = redis.call('GET', KEYS[k])
    if v then
      held[k] = tonumber(v)
    elseif ARGV[at + 5] ~= '' then
      held[k] = tonumber(ARGV[at + 5])
      initialised[k] = true
    else
      held[k] = false
      missing[#missing + 1] = fmt(j - 1)
    end
  end
end
if #missing > 0 then
  local reply = { '4', fmt(now) }
  for _, j in ipairs(missing) do reply[#reply + 1] = j end
  return reply
end

local function budgetTtl(finish)
  if finish < 0 then return totalTtlMs end
  return fmt(finish + marginMs - now)
end

-- Token limits: spend against a scratch copy, in request order (decideReserve).
local tats, scratch = {}, {}
for i = 1, nLimits do
  local k = tonumber(ARGV[6 + (i - 1) * 3 + 1])
  if tats[k] == nil then
    local tat = readTat(KEYS[k])
    tats[k] = tat
    scratch[k] = tat
  end
end
local spentResults = {}
local denied, retryMs, retryNever = false, 0, false
for i = 1, nLimits do
  local at = 6 + (i - 1) * 3
  local k = tonumber(ARGV[at + 1])
  local ok, nms, nfr, remaining, reset, retry =
    gcra(scratch[k], tokens, tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]))
  if ok then
    scratch[k] = { nms, nfr }
  else
    denied = true
    if retry == nil then
      retryNever = true
    elseif retry > retryMs then
      retryMs = retry
    end
  end
  spentResults[i] = { remaining, reset }
end

local code, retry, limitResults = 0, -1, spentResults
local budgetAfter = {}
if denied then
  code, limitResults = 1, levelsUnchanged(tats, 6, nLimits)
  if not retryNever then retry = retryMs end
else
  local spent = {}
  for k, v in pairs(held) do spent[k] = v end
  local waitMs, never, over = 0, false, false
  for j = 1, nBudgets do
    local at = B + (j - 1) * 5
    local k = tonumber(ARGV[at + 1])
    local amount = tonumber(ARGV[at + 2])
    local finish = tonumber(ARGV[at + 4])
    if cost > amount - spent[k] then
      over = true
      if finish < 0 or cost > amount then
        never = true
      elseif finish - now > waitMs then
        waitMs = finish - now
      end
      budgetAfter[j] = spent[k]
    else
      spent[k] = spent[k] + cost
      budgetAfter[j] = spent[k]
    end
  end
  if over then
    code, limitResults = 2, levelsUnchanged(tats, 6, nLimits)
    if not never then retry = waitMs end
  else
    if tokens > 0 then
      for k, tat in pairs(scratch) do
        if tat then
          redis.call('SET', KEYS[k], fmt(tat[1]) .. ':' .. fmt(tat[2]), 'PX', fmt(ceilMs(tat[1], tat[2]) - now))
        end
      end
    end
    for j = 1, nBudgets do
      local at = B + (j - 1) * 5
      local k = tonumber(ARGV[at + 1])
      if spent[k] ~= false then
        redis.call('SET', KEYS[k], fmt(spent[k]), 'PX', budgetTtl(tonumber(ARGV[at + 4])))
        spent[k] = false
      end
    end
  end
end

-- A state initialised from the store is kept even when denied: the next request needs no load.
if code ~= 0 then
  for j = 1, nBudgets do
    local at = B + (j - 1) * 5
    local k = tonumber(ARGV[at + 1])
    if initialised[k] then
      redis.call('SET', KEYS[k], fmt(held[k]), 'PX', budgetTtl(tonumber(ARGV[at + 4])))
      initialised[k] = false
    end
  end
end

local reply = { fmt(code), fmt(retry), fmt(now) }
for i = 1, nLimits do
  reply[#reply + 1] = fmt(limitResults[i][1])
  reply[#reply + 1] = fmt(limitResults[i][2])
end
for j = 1, nBudgets do
  local at = B + (j - 1) * 5
  if code == 0 then
    reply[#reply + 1] = fmt(budgetAfter[j])
  else
    reply[#reply + 1] = fmt(held[tonumber(ARGV[at + 1])])
  end
end
return reply
`;

/**
 * KEYS: the distinct token-limit states, then the distinct budget states of the reservation.
 *
 * ARGV:
 *    1  token delta (actual − reserved; any sign)
 *    2  now in ms, or '' to use the server's TIME
 *    3  cost delta in micros (actual − reserved; any sign)
 *    4  number of token limits (n)
 *    5  margin in ms kept after a period's end
 *    6  TTL in ms of a `total` budget state
 *    7… per token limit, in reservation order: index of its state in KEYS, limit, window ms
 *    then per budget, in reservation order: index of its state in KEYS, period end ms (-1:
 *       `total`)
 *
 * A token state is moved by `adjustTat` (deleted when the bucket is full again); a budget
 * state that is held gets `spent + delta`, never below 0 nor past 2^53 − 1; one that is not
 * held is left alone (the store, which the next load reads, has the real spend). Reply: 'OK'.
 */
export const SETTLE_SCRIPT = `${GCRA_LUA}
local tokenDelta = tonumber(ARGV[1])
local costDelta = tonumber(ARGV[3])
local nLimits = tonumber(ARGV[4])
local marginMs = tonumber(ARGV[5])
local totalTtlMs = ARGV[6]
local B = 6 + 3 * nLimits
local nBudgets = (#ARGV - B) / 2

if tokenDelta ~= 0 then
  local tats, touched = {}, {}
  for i = 1, nLimits do
    local at = 6 + (i - 1) * 3
    local k = tonumber(ARGV[at + 1])
    if touched[k] == nil then
      tats[k] = readTat(KEYS[k])
      touched[k] = true
    end
    tats[k] = adjustTat(tats[k], tokenDelta, tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])) or false
  end
  for k in pairs(touched) do
    local tat = tats[k]
    if tat then
      redis.call('SET', KEYS[k], fmt(tat[1]) .. ':' .. fmt(tat[2]), 'PX', fmt(ceilMs(tat[1], tat[2]) - now))
    else
      redis.call('DEL', KEYS[k])
    end
  end
end

if costDelta ~= 0 then
  local spent, finishes = {}, {}
  for j = 1, nBudgets do
    local at = B + (j - 1) * 2
    local k = tonumber(ARGV[at + 1])
    if spent[k] == nil then
      local v = redis.call('GET', KEYS[k])
      spent[k] = v and tonumber(v) or false
      finishes[k] = tonumber(ARGV[at + 2])
    end
    if spent[k] then spent[k] = math.min(MAX_SAFE, math.max(0, spent[k] + costDelta)) end
  end
  for k, v in pairs(spent) do
    if v then
      local finish = finishes[k]
      if finish < 0 then
        redis.call('SET', KEYS[k], fmt(v), 'PX', totalTtlMs)
      elseif finish + marginMs - now > 0 then
        redis.call('SET', KEYS[k], fmt(v), 'PX', fmt(finish + marginMs - now))
      else
        redis.call('DEL', KEYS[k])
      end
    end
  end
end
return 'OK'
`;
