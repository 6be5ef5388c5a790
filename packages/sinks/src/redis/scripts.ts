/**
 * Lua the Redis sink runs on the server. A script runs atomically: nothing else happens in Redis
 * between its first and its last command.
 */

/** Shared helpers: commands over long argument lists in chunks (Lua's stack is limited), and claims. */
const HELPERS = `
local function call_chunked(cmd, key, args, from, to, step)
  local a = from
  while a <= to do
    local b = math.min(a + step - 1, to)
    redis.call(cmd, key, unpack(args, a, b))
    a = b + 1
  end
end
-- The claimers of a key are scope keys separated by NUL. Adds "me" to (add) or removes it from the
-- claimers of each of keys: one HMGET, then one HSET and one HDEL for what changed.
local function claim_all(claims, keys, me, add)
  local sets, dels = {}, {}
  local a = 1
  while a <= #keys do
    local b = math.min(a + 999, #keys)
    local lists = redis.call("HMGET", claims, unpack(keys, a, b))
    for n = a, b do
      local list, kept, found = lists[n - a + 1], {}, false
      if list then
        for s in string.gmatch(list, "[^%z]+") do
          if s == me then found = true else kept[#kept + 1] = s end
        end
      end
      if add and not found then
        kept[#kept + 1] = me
        sets[#sets + 1] = keys[n]; sets[#sets + 1] = table.concat(kept, "\\0")
      elseif not add and found then
        if #kept == 0 then dels[#dels + 1] = keys[n]
        else sets[#sets + 1] = keys[n]; sets[#sets + 1] = table.concat(kept, "\\0") end
      end
    end
    a = b + 1
  end
  call_chunked("HSET", claims, sets, 1, #sets, 1000)
  call_chunked("HDEL", claims, dels, 1, #dels, 1000)
end
-- Why the stored manifest holds a later state than the new one (the write is refused), else nil: a
-- higher version ("version <stored> <new>"), or, versions equal or absent, the same or a later keysets
-- record on the same partition ("<partition> <offset>"). (refuseOlder in contract.ts, in Lua.)
local function newer_stored(manifest, meta)
  local stored = redis.call("HGET", manifest, "__meta__")
  if not stored then return nil end
  local ok, old = pcall(cjson.decode, stored)
  local new = cjson.decode(meta)
  if not ok then return nil end
  if type(old.version) == "number" and type(new.version) == "number" and old.version ~= new.version then
    if old.version > new.version then return string.format("version %.0f %.0f", old.version, new.version) end
    return nil
  end
  if type(old.position) ~= "table" or type(new.position) ~= "table" then return nil end
  if old.position.partition ~= new.position.partition then return nil end
  if old.position.offset >= new.position.offset then
    return string.format("%d %d", old.position.partition, old.position.offset)
  end
  return nil
end
`;

/**
 * Claims only (the `json` layout, inside its WATCH/MULTI): KEYS[1] the claims hash; ARGV: me, the number
 * of keys claimed, those keys, then the released keys.
 */
export const UPDATE_CLAIMS = `${HELPERS}
local me, adds = ARGV[1], tonumber(ARGV[2])
local claimed, released = {}, {}
for i = 3, #ARGV do
  if i <= 2 + adds then claimed[#claimed + 1] = ARGV[i] else released[#released + 1] = ARGV[i] end
end
claim_all(KEYS[1], claimed, me, true)
claim_all(KEYS[1], released, me, false)
return 0
`;

/**
 * A whole apply of the `hash` or `string` layout in one command: the stored manifest's record and the
 * type check first (nothing is written over a later record's apply, nor into a key of another type),
 * then data, manifest and claims.
 * KEYS: manifest hash, claims hash, destination.
 * ARGV: layout, me (scope key), ttl (0: none), n, n × (key, value), m, m × stale key, manifest meta JSON,
 * f, f × (manifest field, value hash), r, r × released key.
 */
export const APPLY = `${HELPERS}
local manifest, claims, dest = KEYS[1], KEYS[2], KEYS[3]
local layout, me, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local nset = tonumber(ARGV[4]); local set_from = 5
local i = set_from + 2 * nset
local nstale = tonumber(ARGV[i]); local stale_from = i + 1
i = stale_from + nstale
local meta = ARGV[i]
local nfields = tonumber(ARGV[i + 1]); local fields_from = i + 2
i = fields_from + 2 * nfields
local nrel = tonumber(ARGV[i]); local rel_from = i + 1
local newer = newer_stored(manifest, meta)
if newer then return redis.error_reply("STALE_WRITE " .. newer) end
if layout == "hash" then
  local t = redis.call("TYPE", dest)["ok"]
  if t ~= "hash" and t ~= "none" then
    return redis.error_reply("redis key " .. dest .. " is a " .. t .. ", not a hash; refusing to write into it")
  end
  call_chunked("HSET", dest, ARGV, set_from, set_from + 2 * nset - 1, 1000)
  call_chunked("HDEL", dest, ARGV, stale_from, stale_from + nstale - 1, 1000)
else
  for j = set_from, set_from + 2 * nset - 1, 2 do
    if ttl > 0 then redis.call("SET", dest .. ":" .. ARGV[j], ARGV[j + 1], "EX", ttl)
    else redis.call("SET", dest .. ":" .. ARGV[j], ARGV[j + 1]) end
  end
  for j = stale_from, stale_from + nstale - 1 do redis.call("DEL", dest .. ":" .. ARGV[j]) end
end
redis.call("DEL", manifest)
redis.call("HSET", manifest, "__meta__", meta)
call_chunked("HSET", manifest, ARGV, fields_from, fields_from + 2 * nfields - 1, 1000)
local claimed, released = {}, {}
for j = set_from, set_from + 2 * nset - 1, 2 do claimed[#claimed + 1] = ARGV[j] end
for j = rel_from, rel_from + nrel - 1 do released[#released + 1] = ARGV[j] end
claim_all(claims, claimed, me, true)
claim_all(claims, released, me, false)
return 0
`;
