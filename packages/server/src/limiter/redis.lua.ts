import { GCRA_LUA } from './gcra.lua.ts';

/**
 * The Lua side of `RedisRateLimiter` (redis.ts): one script decides and spends a whole
 * request atomically, one hands a changed credits state over to the write-back.
 *
 * `CONSUME_SCRIPT` is gcra.ts + credits.ts + decideLimits (decide.ts) transcribed line for
 * line, with the same operations in the same order on the same IEEE doubles, so it gives the
 * same answer bit for bit; redis.test.ts checks that against `decideLimits` on random inputs.
 * Where gcra.ts falls back to BigInt (a product ≥ 2^53), this uses an exact shift-and-add
 * multiplication modulo d instead, whose every intermediate stays below 2^53.
 *
 * KEYS: the distinct rate-limit states of the request (in first-use order), then the credits
 * state when the request has credits. All of them carry the same hash tag.
 *
 * ARGV:
 *    1  cost
 *    2  now in ms, or '' to use the server's TIME (the override exists for tests only)
 *    3  '1' when the last key is the credits state, else '0'
 *    4  credits `initial.remaining`      (used only when the credits state is absent)
 *    5  credits `initial.lastRefillAt`
 *    6  refill mode: '' (no refill), 'add' or 'reset'
 *    7  refill amount
 *    8  refill interval in ms
 *    9  TTL in ms of a clean (written back) credits state
 *   10  TTL in ms of a dirty (not yet written back) credits state
 *   11… per requested limit, in request order: index of its state in KEYS, limit, window ms
 *
 * Reply, all decimal strings: { code (0 VALID, 1 RATE_LIMITED, 2 QUOTA_EXCEEDED),
 *   retry ms (-1: null), credits remaining (-1: no credits), then per limit: remaining, reset ms }
 *
 * Stored values: a rate-limit state is `<ms>:<fraction>` (the Tat of gcra.ts) with a TTL of
 * the time until it passes, rounded up; a credits state is `<remaining>:<lastRefillAt>:<d>`,
 * d = 1 while it holds a change not yet handed to the write-back.
 */
export const CONSUME_SCRIPT = `${GCRA_LUA}
local cost = tonumber(ARGV[1])

local hasCredits = ARGV[3] == '1'
local nStates = #KEYS
if hasCredits then nStates = nStates - 1 end

-- Read every rate-limit state; spend against a scratch copy, in request order.
local held, scratch = {}, {}
for k = 1, nStates do
  local tat = readTat(KEYS[k])
  held[k] = tat
  scratch[k] = tat
end

local nLimits = (#ARGV - 10) / 3
local spent = {}
local denied, retryMs, retryNever = false, 0, false
for i = 1, nLimits do
  local at = 10 + (i - 1) * 3
  local k = tonumber(ARGV[at + 1])
  local limit = tonumber(ARGV[at + 2])
  local windowMs = tonumber(ARGV[at + 3])
  local ok, nms, nfr, remaining, reset, retry = gcra(scratch[k], cost, limit, windowMs)
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
  spent[i] = { remaining, reset }
end

-- The credits: the held state, else the caller's initial; refilled (credits.ts applyRefill).
local creditsKey = KEYS[#KEYS]
local crRemaining, crLast, crDirty, crAbsent = 0, 0, false, false
local mode, amount, intervalMs = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local beforeRemaining, beforeLast = 0, 0
if hasCredits then
  local v = redis.call('GET', creditsKey)
  if v then
    local r, l, d = string.match(v, '^(%d+):(%-?%d+):([01])$')
    crRemaining, crLast, crDirty = tonumber(r), tonumber(l), d == '1'
  else
    crRemaining, crLast, crAbsent = tonumber(ARGV[4]), tonumber(ARGV[5]), true
  end
  beforeRemaining, beforeLast = crRemaining, crLast
  if mode ~= '' then
    local elapsedMs = now - crLast
    if elapsedMs >= intervalMs then
      local intervals = (elapsedMs - fmod(elapsedMs, intervalMs)) / intervalMs
      if mode == 'reset' then
        crRemaining = amount
      else
        crRemaining = math.min(MAX_SAFE, crRemaining + amount * intervals)
      end
      crLast = crLast + intervals * intervalMs
    end
  end
end

-- credits.ts creditsRetryAfterMs for a refilled state that does not cover the cost.
local function creditsRetryMs()
  if mode == '' or amount == 0 then return -1 end
  local intervals = 1
  if mode == 'reset' then
    if amount < cost then return -1 end
  else
    local missing = cost - crRemaining
    local rest = fmod(missing, amount)
    intervals = (missing - rest) / amount
    if rest > 0 then intervals = intervals + 1 end
  end
  return math.max(0, crLast + intervals * intervalMs - now)
end

local code, retry, results = 0, -1, spent
if denied then
  code, results = 1, levelsUnchanged(held, 10, nLimits)
  if not retryNever then retry = retryMs end
elseif hasCredits and crRemaining < cost then
  code, results = 2, levelsUnchanged(held, 10, nLimits)
  retry = creditsRetryMs()
else
  if cost > 0 then
    crRemaining = crRemaining - cost
    for k = 1, nStates do
      local tat = scratch[k]
      redis.call('SET', KEYS[k], fmt(tat[1]) .. ':' .. fmt(tat[2]), 'PX', fmt(ceilMs(tat[1], tat[2]) - now))
    end
  end
end

if hasCredits then
  -- Stored even when nothing changed (the held state wins over a later initial), as the
  -- memory backend does; a change is flagged dirty for the write-back.
  if crRemaining ~= beforeRemaining or crLast ~= beforeLast then
    redis.call('SET', creditsKey, fmt(crRemaining) .. ':' .. fmt(crLast) .. ':1', 'PX', ARGV[10])
  elseif crAbsent then
    redis.call('SET', creditsKey, fmt(crRemaining) .. ':' .. fmt(crLast) .. ':0', 'PX', ARGV[9])
  elseif not crDirty then
    redis.call('PEXPIRE', creditsKey, ARGV[9])
  end
end

-- As strings: node-redis decodes integer replies near 2^53 inexactly (digit · 10 + byte − 48).
local reply = { fmt(code), fmt(retry), '-1' }
if hasCredits then reply[3] = fmt(crRemaining) end
for i = 1, nLimits do
  reply[#reply + 1] = fmt(results[i][1])
  reply[#reply + 1] = fmt(results[i][2])
end
return reply
`;

/**
 * Hands one credits state over to the write-back: if it holds a change (d = 1), marks it
 * clean, gives it the clean TTL and returns { remaining, lastRefillAt }; else returns nil.
 * Atomic with `CONSUME_SCRIPT`, so a change is handed over exactly once.
 *
 * KEYS[1]: the credits state. ARGV[1]: TTL in ms of a clean credits state.
 */
export const DRAIN_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local r, l, d = string.match(v, '^(%d+):(%-?%d+):([01])$')
if d ~= '1' then return false end
redis.call('SET', KEYS[1], r .. ':' .. l .. ':0', 'PX', ARGV[1])
return { r, l }
`;
