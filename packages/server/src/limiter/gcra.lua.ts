/**
 * gcra.ts in Lua: the shared head of every limiter script (redis.lua.ts, budget.lua.ts).
 * It defines the number helpers (`fmod`, `MAX_SAFE`, `fmt`), `now` — ARGV[2] in ms, or the
 * server's TIME when ARGV[2] is '' — and `mulDivMod`, `floorDiv`, `ceilMs`, `level`, `gcra`
 * and `adjustTat`, each the function of the same name in gcra.ts (`level` is `remainingAt`
 * and the reset ms) with the same operations in the same order on the same IEEE doubles, so
 * that they give the same answers bit for bit; and `levelsUnchanged` (decide.ts), the levels
 * a denial reports, shared by the consume and reserve scripts.
 * A change to gcra.ts must be made here too (redis.test.ts compares them on random inputs).
 */
export const GCRA_LUA = `
if redis.replicate_commands then redis.replicate_commands() end

local fmod = math.fmod
local TWO53 = 9007199254740992
local MAX_SAFE = 9007199254740991

-- A stored tat ("<ms>:<fraction>"), or false when the key holds none.
local function readTat(key)
  local v = redis.call('GET', key)
  if not v then return false end
  local ms, fraction = string.match(v, '^(%-?%d+):(%d+)$')
  return { tonumber(ms), tonumber(fraction) }
end

local function fmt(x)
  return string.format('%.0f', x)
end

local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  local us = tonumber(t[2])
  now = tonumber(t[1]) * 1000 + (us - fmod(us, 1000)) / 1000
end

-- Exact { floor(a*b/d), a*b mod d } for integers a, b >= 0, d > 0, all < 2^53, when the
-- quotient is < 2^53 (always so in gcra: it is at most the window or the limit; adjustTat
-- may get a larger, inexact one, but then only compares it with a bound far below it).
local function mulDivMod(a, b, d)
  local product = a * b
  if product < TWO53 then
    local r = fmod(product, d)
    return (product - r) / d, r
  end
  -- Shift and add over the bits of b, keeping q*d + r = a * (the bits of b seen so far)
  -- with 0 <= r < d: every sum below is < 2^53, so exact.
  local ra = fmod(a, d)
  local qa = (a - ra) / d
  local bits = {}
  local x = b
  while x > 0 do
    local bit = fmod(x, 2)
    bits[#bits + 1] = bit
    x = (x - bit) / 2
  end
  local q, r = 0, 0
  for i = #bits, 1, -1 do
    q = q * 2
    if r >= d - r then
      r = r - (d - r)
      q = q + 1
    else
      r = r + r
    end
    if bits[i] == 1 then
      q = q + qa
      if r >= d - ra then
        r = r - (d - ra)
        q = q + 1
      else
        r = r + ra
      end
    end
  end
  return q, r
end

-- Exact floor(n / d) for an integer n of any sign and d > 0.
local function floorDiv(n, d)
  local r = fmod(n, d)
  if r < 0 then r = r + d end
  return (n - r) / d
end

local function ceilMs(ms, fraction)
  if fraction > 0 then return ms + 1 end
  return ms
end

-- remaining and reset ms of a bucket whose tat (ms, fraction) is >= now (gcra.ts remainingAt()).
local function level(ms, fraction, limit, windowMs)
  local aheadMs = ms - now
  local remaining = 0
  if aheadMs <= windowMs then
    local q, r = mulDivMod(windowMs - aheadMs, limit, windowMs)
    remaining = math.max(0, q + floorDiv(r - fraction, windowMs))
  end
  return remaining, math.max(0, ceilMs(ms, fraction) - now)
end

-- gcra.ts gcra(): allowed, new tat (ms, fraction), remaining, reset ms, retry ms (nil: never).
local function gcra(tat, c, limit, windowMs)
  local bms, bfr = now, 0
  if tat and (tat[1] > now or (tat[1] == now and tat[2] > 0)) then
    bms, bfr = tat[1], tat[2]
  end
  if c > limit then
    local remaining, reset = level(bms, bfr, limit, windowMs)
    return false, bms, bfr, remaining, reset, nil
  end
  local q, r = mulDivMod(c, windowMs, limit)
  local carried = bfr + r
  local nms, nfr
  if carried >= limit then
    nms, nfr = bms + q + 1, carried - limit
  else
    nms, nfr = bms + q, carried
  end
  local nextCeil = ceilMs(nms, nfr)
  if nextCeil - now <= windowMs then
    local remaining, reset = level(nms, nfr, limit, windowMs)
    return true, nms, nfr, remaining, reset, 0
  end
  local remaining, reset = level(bms, bfr, limit, windowMs)
  return false, bms, bfr, remaining, reset, nextCeil - windowMs - now
end

-- gcra.ts adjustTat(): the tat moved by delta units without a limit check; nil: a full bucket.
local MAX_TAT_AHEAD_MS = 3155760000000
local function adjustTat(tat, delta, limit, windowMs)
  local held = nil
  if tat and (tat[1] > now or (tat[1] == now and tat[2] > 0)) then held = tat end
  if delta == 0 then return held end
  local q, r = mulDivMod(math.abs(delta), windowMs, limit)
  if delta > 0 then
    local bms, bfr = now, 0
    if held then bms, bfr = held[1], held[2] end
    if q >= MAX_TAT_AHEAD_MS - (bms - now) then return { now + MAX_TAT_AHEAD_MS, 0 } end
    local carried = bfr + r
    if carried >= limit then return { bms + q + 1, carried - limit } end
    return { bms + q, carried }
  end
  if not held then return nil end
  local borrowed = held[2] - r
  local nms, nfr
  if borrowed < 0 then
    nms, nfr = held[1] - q - 1, borrowed + limit
  else
    nms, nfr = held[1] - q, borrowed
  end
  if nms > now or (nms == now and nfr > 0) then return { nms, nfr } end
  return nil
end

-- The unspent level of each of n limits (a cost-0 check of its state, for a denial: decide.ts
-- levelsUnchanged). Their (state index, limit, window) triples start at ARGV[first + 1].
local function levelsUnchanged(states, first, n)
  local out = {}
  for i = 1, n do
    local at = first + (i - 1) * 3
    local k = tonumber(ARGV[at + 1])
    local _, _, _, remaining, reset = gcra(states[k], 0, tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]))
    out[i] = { remaining, reset }
  end
  return out
end
`;
