/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Lua scripts, one per atomic step (DESIGN.md: Accepting, Fetching). */
#include "config.h"

#include "scripts.h"

/*
 * The time, from Redis: everything a script decides that other hosts share
 * (what is due, what expired, which worker is dead, the rate) is measured on
 * one clock, whatever the caller's host says. Redis replicates a script's
 * effects (Redis >= 5), so TIME before a write is allowed.
 */
#define LUA_NOW                                                    \
	"local function now_ms()\n"                                \
	"  local t = redis.call('TIME')\n"                         \
	"  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\n" \
	"end\n"

/*
 * A pending marker's value is the job it covers, as queued. It covers
 * only while that job still waits: in the queue (looked for from both ends,
 * PH_MARKER_SCAN entries each, so a long backlog costs a bounded scan; a job
 * further in is taken for gone and a second one queued, which is only an
 * extra fetch) or in the retry zset (a lock wait). A taken job's marker is
 * dropped by its claim, or by the dead letter of a job that died before it.
 */
#define PH_MARKER_SCAN "1000"
#define LUA_WAITING                                                                  \
	"local function waiting(queue, retry, job)\n"                                \
	"  if not job then return false end\n"                                       \
	"  if redis.call('LPOS', queue, job, 'MAXLEN', " PH_MARKER_SCAN              \
	") or\n"                                                                     \
	"      redis.call('LPOS', queue, job, 'RANK', -1, 'MAXLEN', " PH_MARKER_SCAN \
	") then\n"                                                                   \
	"    return true\n"                                                          \
	"  end\n"                                                                    \
	"  return redis.call('ZSCORE', retry, job) ~= false\n"                       \
	"end\n"

/*
 * Accept a notification in one round trip. It first checks the type of
 * every key it may write and refuses, writing nothing, when one holds
 * another type: a script that failed half way would leave the seen key set
 * with no job, and the provider's retry would be a duplicate. A pending
 * marker it sets holds the job it covers (LUA_WAITING).
 * KEYS: 1 seen, 2 queue, 3 dead, 4 notifications, 5 stats, 5+i pending of entity i.
 * ARGV: 1 now_ms, 2 dedup_ttl, 3 pending_ttl, 4 notifications maxlen,
 *       5 "1" to deduplicate on KEYS[1], 6 provider, 7 notification id,
 *       8 event, 9 raw body, 10 entity count, then per entity: job,
 *       "1" routed / "0" no route, dead-letter entry.
 * Returns {1 accepted | 0 duplicate, jobs queued}, or an error reply
 * "WRONGTYPE {key} holds a {type}, not a {type}" with nothing written.
 */
static const char script_accept[] =
    "local want = {'string', 'list', 'list', 'stream', 'hash'}\n"
    "for i = ARGV[5] == '1' and 1 or 2, 5 + tonumber(ARGV[10]) do\n"
    "  local t = redis.call('TYPE', KEYS[i])['ok']\n"
    "  local w = want[i] or 'string'\n"
    "  if t ~= 'none' and t ~= w then\n"
    "    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' ..\n"
    "      w .. ': nothing written')\n"
    "  end\n"
    "end\n"
    "if ARGV[5] == '1' then\n"
    "  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then\n"
    "    redis.call('HINCRBY', KEYS[5], 'notifications:' .. ARGV[6] .. ':duplicate', 1)\n"
    "    return {0, 0}\n"
    "  end\n"
    "end\n"
    "local queued = 0\n"
    "for i = 1, tonumber(ARGV[10]) do\n"
    "  local a = 10 + (i - 1) * 3\n"
    "  if ARGV[a + 2] == '1' then\n"
    "    if redis.call('SET', KEYS[5 + i], ARGV[a + 1], 'NX', 'EX', ARGV[3]) then\n"
    "      redis.call('LPUSH', KEYS[2], ARGV[a + 1])\n"
    "      queued = queued + 1\n"
    "    end\n"
    "  else\n"
    "    redis.call('LPUSH', KEYS[3], ARGV[a + 3])\n"
    "  end\n"
    "end\n"
    "redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'provider', ARGV[6],\n"
    "  'id', ARGV[7], 'event', ARGV[8], 'received_at', ARGV[1], 'body', ARGV[9])\n"
    "redis.call('HINCRBY', KEYS[5], 'notifications:' .. ARGV[6] .. ':accepted', 1)\n"
    "return {1, queued}\n";

/*
 * Take the per-entity lock, then drop the pending marker under it: a
 * notification arriving from now on queues a job of its own.
 * KEYS: 1 lock, 2 pending. ARGV: 1 token, 2 lock_ttl (ms).
 * Returns 1 when the lock was taken, 0 when another fetch holds it. Run
 * again with the same token (its reply was lost), it answers 1 again.
 */
static const char script_claim[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] or\n"
    "    redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/*
 * Whether stream id a comes before b: ms, then seq, compared as numbers
 * (as decimal strings of any length: a seq can pass 2^53, and "9-0" comes
 * before "10-0" although it sorts after it as text).
 */
#define LUA_IDLT                                              \
	"local function idlt(a, b)\n"                         \
	"  local am, as = string.match(a, '^(%d+)-(%d+)$')\n" \
	"  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n" \
	"  if #am ~= #bm then return #am < #bm end\n"         \
	"  if am ~= bm then return am < bm end\n"             \
	"  if #as ~= #bs then return #as < #bs end\n"         \
	"  return as < bs\n"                                  \
	"end\n"

/*
 * Retention of the events stream (DESIGN.md: Retention of events). With no
 * consumer group it is trimmed as it always was, MAXLEN ~ maxlen. With
 * groups, nothing is trimmed that some group has not read (past its
 * last-delivered-id) or still holds pending (from XPENDING's smallest id),
 * up to the hard bound: past it the oldest entries go anyway, and are
 * counted.
 *
 * The bound, from XINFO GROUPS and XPENDING, costs a call per group: it is
 * kept in the key events_trim for a short time (PH_EVENTS_TRIM_MS) and asked
 * again only once that key expired, so its cost is per second, not per
 * store. Its value: "none" (no group), "ID" (every group read every entry up
 * to ID, inclusive) or "(ID" (entries before ID only: ID is pending), an
 * XRANGE end as it is. Groups only read forward, so an older bound is a safe
 * one; a group created, or set back with XGROUP SETID, is seen once the key
 * expires.
 *
 * Trimming with groups is exact and bounded: the oldest entries over maxlen
 * that every group is done with, at most PH_EVENTS_TRIM_STEP a store, then,
 * once none of those is left, whatever is over the hard bound.
 */
#define PH_EVENTS_TRIM_STEP "100"
#define LUA_TRIM                                                                         \
	LUA_IDLT                                                                         \
	"local function bound_lt(a, b)\n"                                                \
	"  local ax, bx = string.sub(a, 1, 1) == '(', string.sub(b, 1, 1) == '('\n"      \
	"  local ai = ax and string.sub(a, 2) or a\n"                                    \
	"  local bi = bx and string.sub(b, 2) or b\n"                                    \
	"  if ai == bi then return ax and not bx end\n"                                  \
	"  return idlt(ai, bi)\n"                                                        \
	"end\n"                                                                          \
	"local function trim_bound(stream)\n"                                            \
	"  if redis.call('EXISTS', stream) == 0 then return 'none' end\n"                \
	"  local bound = 'none'\n"                                                       \
	"  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do\n"               \
	"    local f = {}\n"                                                             \
	"    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"                               \
	"    local b = f['last-delivered-id']\n"                                         \
	"    if tonumber(f['pending']) > 0 then\n"                                       \
	"      local p = redis.call('XPENDING', stream, f['name'])[2]\n"                 \
	"      if p and not idlt(b, p) then b = '(' .. p end\n"                          \
	"    end\n"                                                                      \
	"    if bound == 'none' or bound_lt(b, bound) then bound = b end\n"              \
	"  end\n"                                                                        \
	"  return bound\n"                                                               \
	"end\n"                                                                          \
	"local function events_add(stream, tkey, stats, field, maxlen, hard, keep, e)\n" \
	"  local bound = redis.call('GET', tkey)\n"                                      \
	"  if not bound then\n"                                                          \
	"    bound = trim_bound(stream)\n"                                               \
	"    redis.call('SET', tkey, bound, 'PX', keep)\n"                               \
	"  end\n"                                                                        \
	"  if bound == 'none' then\n"                                                    \
	"    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(e))\n"        \
	"    return 0\n"                                                                 \
	"  end\n"                                                                        \
	"  redis.call('XADD', stream, '*', unpack(e))\n"                                 \
	"  local len = redis.call('XLEN', stream)\n"                                     \
	"  local n = math.min(len - maxlen, " PH_EVENTS_TRIM_STEP                        \
	")\n"                                                                            \
	"  if n > 0 then\n"                                                              \
	"    local done = redis.call('XRANGE', stream, '-', bound, 'COUNT', n)\n"        \
	"    if #done > 0 then\n"                                                        \
	"      local ms, seq = string.match(done[#done][1], '^(%d+)-(%d+)$')\n"          \
	"      redis.call('XTRIM', stream, 'MINID',\n"                                   \
	"        ms .. '-' .. string.format('%.0f', tonumber(seq) + 1))\n"               \
	"      len = len - #done\n"                                                      \
	"    end\n"                                                                      \
	"    if #done == n then return 0 end\n"                                          \
	"  end\n"                                                                        \
	"  if len <= hard then return 0 end\n"                                           \
	"  local lost = redis.call('XTRIM', stream, 'MAXLEN', hard)\n"                   \
	"  redis.call('HINCRBY', stats, field, lost)\n"                                  \
	"  return lost\n"                                                                \
	"end\n"

/*
 * Store a snapshot if this fetch still holds the lock: HSET the entity,
 * XADD an event when the body changed, LREM the job, release the lock, and
 * set the entity's next refresh (docs/REFRESH.md) or remove it. The refresh
 * due time and first_stored_at are Redis time (LUA_NOW); fetched_at is the
 * fetcher's.
 * KEYS: 1 lock, 2 entity, 3 events, 4 processing, 5 stats, 6 refresh,
 *       7 events_trim (LUA_TRIM).
 * ARGV: 1 token, 2 job as taken, 3 body, 4 fetched_at, 5 http_status,
 *       6 sha256, 7 notification_id, 8 provider, 9 entity_type,
 *       10 entity_id, 11 events maxlen, 12 latency stats field, 13 latency ms,
 *       14 refresh member, 15 class (progress, ongoing, settled, final, or
 *       off), 16 refresh_schedule (ms, comma-separated), 17 refresh_settled
 *       (ms), 18 refresh_max_age (ms), 19 jitter (0..999, tenths of a
 *       percent of the step), 20 status as text, 21 events hard maxlen,
 *       22 stats field of unread entries trimmed, 23 how long (ms) a trim
 *       bound read from the groups is kept.
 * Returns {0, 0, 0, 0} when the lock was lost (nothing written), else
 * {1, changed, status changed, unread entries trimmed}.
 *
 * The schedule: a changed body (or a new class) starts again at the first
 * step, an unchanged one moves to the next; in progress repeats its last
 * step, ongoing always waits the last step of refresh_schedule, settled
 * stops after its last step, final stops at once; nothing is due later than
 * refresh_max_age after the entity was first stored.
 */
static const char script_store[] = LUA_NOW LUA_TRIM
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"
    "  return {0, 0, 0, 0}\n"
    "end\n"
    "local now = math.floor(now_ms())\n"
    "local old = redis.call('HGET', KEYS[2], 'sha256')\n"
    "local oldstatus = redis.call('HGET', KEYS[2], 'status')\n"
    "local prevcls = redis.call('HGET', KEYS[2], 'refresh_class')\n"
    "local step = tonumber(redis.call('HGET', KEYS[2], 'refresh_step') or '-1') or -1\n"
    "local first = redis.call('HGET', KEYS[2], 'first_stored_at') or now\n"
    "redis.call('HSET', KEYS[2], 'body', ARGV[3], 'fetched_at', ARGV[4],\n"
    "  'http_status', ARGV[5], 'sha256', ARGV[6], 'notification_id', ARGV[7],\n"
    "  'status', ARGV[20], 'first_stored_at', first)\n"
    "local changed, trimmed = 0, 0\n"
    "if old ~= ARGV[6] then\n"
    "  trimmed = events_add(KEYS[3], KEYS[7], KEYS[5], ARGV[22], tonumber(ARGV[11]),\n"
    "    tonumber(ARGV[21]), ARGV[23], {'provider', ARGV[8], 'entity_type', ARGV[9],\n"
    "    'entity_id', ARGV[10], 'fetched_at', ARGV[4], 'status', ARGV[20], 'body', ARGV[3]})\n"
    "  changed = 1\n"
    "end\n"
    /* From the tail: jobs are taken to the head, so an older (finishing) one is nearer it. */
    "redis.call('LREM', KEYS[4], -1, ARGV[2])\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HINCRBY', KEYS[5], 'fetch:' .. ARGV[8] ..\n"
    "  (changed == 1 and ':stored' or ':unchanged'), 1)\n"
    "redis.call('HINCRBY', KEYS[5], ARGV[12], 1)\n"
    "redis.call('HINCRBY', KEYS[5], 'fetch_ms_sum:' .. ARGV[8], ARGV[13])\n"
    "local cls = ARGV[15]\n"
    "local due = nil\n"
    "if changed == 1 or prevcls ~= cls then step = 0 else step = step + 1 end\n"
    "if cls ~= 'final' and cls ~= 'off' then\n"
    "  local s = {}\n"
    "  for v in string.gmatch(cls == 'settled' and ARGV[17] or ARGV[16], '%d+') do\n"
    "    s[#s + 1] = tonumber(v)\n"
    "  end\n"
    "  local delay = nil\n"
    "  if cls == 'ongoing' then\n"
    "    delay = s[#s]\n"
    "  elseif cls == 'settled' then\n"
    "    delay = s[step + 1]\n"
    "  else\n"
    "    if step >= #s then step = #s - 1 end\n"
    "    delay = s[step + 1]\n"
    "  end\n"
    "  if delay then\n"
    "    local at = now + delay + math.floor(delay * tonumber(ARGV[19]) / 10000)\n"
    "    if at <= tonumber(first) + tonumber(ARGV[18]) then due = at end\n"
    "  end\n"
    "end\n"
    "if due then\n"
    "  redis.call('ZADD', KEYS[6], due, ARGV[14])\n"
    "  redis.call('HSET', KEYS[2], 'refresh_class', cls, 'refresh_step', step,\n"
    "    'refresh_due', due)\n"
    "else\n"
    "  redis.call('ZREM', KEYS[6], ARGV[14])\n"
    "  redis.call('HSET', KEYS[2], 'refresh_class', cls, 'refresh_step', step)\n"
    "  redis.call('HDEL', KEYS[2], 'refresh_due')\n"
    "end\n"
    "return {1, changed, oldstatus ~= ARGV[20] and 1 or 0, trimmed}\n";

/*
 * Give a job back: LREM it from the processing list, then ZADD the new entry
 * to the retry zset or LPUSH it to the dead list, and release the lock if
 * this fetch holds it. A job no longer in the processing list was re-queued
 * by another fetcher (ours was thought dead): nothing is added then, the
 * queued copy stands for it. A dead job also drops its entity's pending
 * marker when the marker is its own (a job that died before its claim, which
 * would drop it): else the entity stays covered by a job that will never
 * run, and its next notification queues nothing for pending_ttl.
 * KEYS: 1 processing, 2 retry, 3 dead, 4 lock, 5 stats, 6 pending.
 * ARGV: 1 job as taken, 2 "retry" or "dead", 3 new entry, 4 retry delay
 *       (ms, from Redis' TIME), 5 token or "", 6 stats field, 7 latency stats field or "" when no
 *       GET was made, 8 its sum field, 9 latency ms, 10 "1" when KEYS[6] is
 *       the job's marker ("0": a job that does not decode has none).
 * Returns 1 when the entry was added, 0 when the job was gone.
 */
static const char script_reschedule[] = LUA_NOW
    "local held = redis.call('LREM', KEYS[1], -1, ARGV[1])\n"
    "if held > 0 then\n"
    "  if ARGV[2] == 'retry' then\n"
    "    redis.call('ZADD', KEYS[2], math.floor(now_ms()) + tonumber(ARGV[4]), ARGV[3])\n"
    "  else\n"
    "    redis.call('LPUSH', KEYS[3], ARGV[3])\n"
    "    if ARGV[10] == '1' and redis.call('GET', KEYS[6]) == ARGV[1] then\n"
    "      redis.call('DEL', KEYS[6])\n"
    "    end\n"
    "  end\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[6], 1)\n"
    "  if ARGV[7] ~= '' then\n"
    "    redis.call('HINCRBY', KEYS[5], ARGV[7], 1)\n"
    "    redis.call('HINCRBY', KEYS[5], ARGV[8], ARGV[9])\n"
    "  end\n"
    "end\n"
    "if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) == ARGV[5] then\n"
    "  redis.call('DEL', KEYS[4])\n"
    "end\n"
    "return held > 0 and 1 or 0\n";

/*
 * Move retries that are due (in Redis time) back to the queue, oldest
 * first, at most a limit per call.
 * KEYS: 1 retry, 2 queue. ARGV: 1 limit.
 * Returns {moved, ms until the next retry is due (0 or more), or -1 when none}.
 */
static const char script_due[] = LUA_NOW
    "local now = math.floor(now_ms())\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[1])\n"
    "for _, job in ipairs(due) do\n"
    "  redis.call('ZREM', KEYS[1], job)\n"
    "  redis.call('LPUSH', KEYS[2], job)\n"
    "end\n"
    "local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "local at = -1\n"
    "if nxt[2] then at = math.max(0, math.floor(tonumber(nxt[2])) - now) end\n"
    "return {#due, at}\n";

/*
 * A fetcher's heartbeat, in Redis time: ZADD it to the workers zset, and
 * name the workers whose heartbeat is older than worker_timeout.
 * KEYS: 1 workers. ARGV: 1 worker, 2 worker_timeout (ms), 3 limit.
 * Returns the stale workers (at most limit).
 */
static const char script_heartbeat[] = LUA_NOW
    "local now = math.floor(now_ms())\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]),\n"
    "  'LIMIT', 0, ARGV[3])\n";

/*
 * Re-queue the processing list of a worker whose heartbeat (script_heartbeat,
 * Redis time) is older than worker_timeout (or of this worker at start,
 * forced), so its jobs are taken next, the oldest first; then forget the
 * worker.
 * KEYS: 1 processing:{worker}, 2 queue, 3 workers.
 * ARGV: 1 worker, 2 worker_timeout (ms), 3 "1" to force.
 * Returns the number of jobs moved, or -1 when the worker is alive.
 */
static const char script_requeue[] = LUA_NOW
    "if ARGV[3] ~= '1' then\n"
    "  local hb = redis.call('ZSCORE', KEYS[3], ARGV[1])\n"
    "  if hb and tonumber(hb) > math.floor(now_ms()) - tonumber(ARGV[2]) then\n"
    "    return -1\n"
    "  end\n"
    "end\n"
    "local n = redis.call('LLEN', KEYS[1])\n"
    "for i = 1, n do\n"
    "  redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')\n"
    "end\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "return n\n";

/*
 * Move due refreshes to the queue as jobs, through the pending marker: an
 * entity with a job waiting gets no second one. Each member still due is
 * pushed back to a lease time first, so a refresh whose job fails for good
 * is tried again then, and the store of a successful one sets its real next
 * time; a lease past refresh_max_age after the entity's first store removes
 * the member instead (its store never comes: a deleted entity, revoked
 * credentials), and a member due past it is removed without a job. A
 * member whose entity hash is gone (deleted, or never stored: scheduled by
 * hand) has no first store to count from, so its lease would never end: it
 * is moved one last time, removed instead of leased; the store of its fetch
 * schedules it again, a fetch that fails for good leaves it untracked.
 * Members the caller read but another fetcher moved meanwhile are skipped.
 * Due, leases and ages are in Redis time.
 * KEYS: 1 refresh, 2 queue, 3 stats, then for member i: 2+2i its pending
 *       marker, 3+2i its entity hash.
 * ARGV: 1 lease (ms from now), 2 pending_ttl (s), 3 refresh_max_age (ms),
 *       then member i and its job at 2+2i and 3+2i.
 * Returns {queued, covered by a waiting job, removed}.
 */
static const char script_refresh_due[] = LUA_NOW
    "local now = math.floor(now_ms())\n"
    "local queued, covered, removed = 0, 0, 0\n"
    "for i = 1, (#KEYS - 3) / 2 do\n"
    "  local m = ARGV[2 + 2 * i]\n"
    "  local sc = redis.call('ZSCORE', KEYS[1], m)\n"
    "  if sc and tonumber(sc) <= now then\n"
    "    local gone = redis.call('EXISTS', KEYS[3 + 2 * i]) == 0\n"
    "    local first = tonumber(redis.call('HGET', KEYS[3 + 2 * i], 'first_stored_at') or now)\n"
    "    local last = first + tonumber(ARGV[3])\n"
    "    local lease = now + tonumber(ARGV[1])\n"
    "    if not gone and now > last then\n"
    "      redis.call('ZREM', KEYS[1], m)\n"
    "      removed = removed + 1\n"
    "    else\n"
    "      if not gone and lease <= last then\n"
    "        redis.call('ZADD', KEYS[1], 'XX', lease, m)\n"
    "      else\n"
    "        redis.call('ZREM', KEYS[1], m)\n"
    "      end\n"
    "      if redis.call('SET', KEYS[2 + 2 * i], ARGV[3 + 2 * i], 'NX', 'EX', ARGV[2]) then\n"
    "        redis.call('LPUSH', KEYS[2], ARGV[3 + 2 * i])\n"
    "        queued = queued + 1\n"
    "      else\n"
    "        covered = covered + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if queued > 0 then redis.call('HINCRBY', KEYS[3], 'refresh:queued', queued) end\n"
    "if covered > 0 then redis.call('HINCRBY', KEYS[3], 'refresh:covered', covered) end\n"
    "if removed > 0 then redis.call('HINCRBY', KEYS[3], 'refresh:expired', removed) end\n"
    "return {queued, covered, removed}\n";

/*
 * Queue a fetch of an entity by hand (payhookctl refetch, POST
 * /entities/.../refetch), unless a job for it is waiting already: a marker
 * whose job no longer waits (LUA_WAITING) is replaced.
 * KEYS: 1 queue, 2 pending, 3 retry. ARGV: 1 job, 2 pending_ttl.
 * Returns 1 queued, 2 covered by a waiting job.
 */
static const char script_refetch[] = LUA_WAITING
    "if waiting(KEYS[1], KEYS[3], redis.call('GET', KEYS[2])) then return 2 end\n"
    "redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])\n"
    "redis.call('LPUSH', KEYS[1], ARGV[1])\n"
    "return 1\n";

/*
 * A provider's GETs, shared by every fetcher on every machine: GCRA (a
 * leaky bucket kept as one "theoretical arrival time"). Grants up to n GETs
 * now; a 429 from the provider pushes the time ahead (script_rate_penalty)
 * and holds every fetcher back, with or without a rate set.
 * The time is Redis' (with a fraction of a ms), one clock for all fetchers.
 * KEYS: 1 rate:{provider}, 2 stats.
 * ARGV: 1 interval (ms per GET; 0: no rate), 2 tolerance (ms: the burst),
 *       3 n wanted, 4 provider, 5 newly held back (counted in
 *       rate:{provider}:held).
 * Returns {granted, ms until the next one may be granted}.
 */
static const char script_rate[] = LUA_NOW
    "local now, t, tau, n = now_ms(), tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if tat < now then tat = now end\n"
    "local k = 0\n"
    "if t <= 0 then\n"
    "  if tat - now <= tau then k = n end\n"
    "else\n"
    "  local room = math.floor((now + tau - tat) / t) + 1\n"
    "  if room > 0 then k = math.min(n, room) end\n"
    "  if k > 0 then\n"
    "    tat = tat + k * t\n"
    "    redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX',\n"
    "      math.ceil(tat - now + tau) + 1000)\n"
    "  end\n"
    "end\n"
    "if tonumber(ARGV[5]) > 0 then\n"
    "  redis.call('HINCRBY', KEYS[2], 'rate:' .. ARGV[4] .. ':held', ARGV[5])\n"
    "end\n"
    "local wait = 0\n"
    "if k < n then\n"
    "  wait = math.ceil(tat - tau - now)\n"
    "  if wait < 1 then wait = 1 end\n"
    "end\n"
    "return {k, wait}\n";

/*
 * A provider answered 429: no fetcher sends it a GET for the next hold ms
 * (from Redis' TIME, the rate script's clock).
 * KEYS: 1 rate:{provider}, 2 stats. ARGV: 1 hold (ms), 2 provider.
 * Returns 1.
 */
static const char script_rate_penalty[] = LUA_NOW
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "local u = now_ms() + tonumber(ARGV[1])\n"
    "if tat < u then\n"
    "  redis.call('SET', KEYS[1], string.format('%.3f', u), 'PX',\n"
    "    math.ceil(tonumber(ARGV[1])) + 1000)\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[2], 'rate:' .. ARGV[2] .. ':throttled', 1)\n"
    "return 1\n";

/*
 * Put a job back in the queue from the dead list (payhookctl dead replay):
 * remove the entry, then queue the job unless a job for the entity is
 * already waiting (its pending marker names a job that still waits,
 * LUA_WAITING; a marker whose job is gone is replaced); ARGV[4] "0" skips
 * the marker (an entity type with no route: the fetcher never clears one).
 * KEYS: 1 dead, 2 queue, 3 pending, 4 retry. ARGV: 1 entry, 2 job,
 * 3 pending_ttl, 4 "1" to use the marker.
 * Returns 0 entry gone, 1 queued, 2 covered by a waiting job.
 */
static const char script_dead_replay[] = LUA_WAITING
    "if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end\n"
    "if ARGV[4] == '1' then\n"
    "  if waiting(KEYS[2], KEYS[4], redis.call('GET', KEYS[3])) then return 2 end\n"
    "  redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])\n"
    "end\n"
    "redis.call('LPUSH', KEYS[2], ARGV[2])\n"
    "return 1\n";

/* Empty the dead list (payhookctl dead purge). KEYS: 1 dead. Returns how many entries it held. */
static const char script_dead_purge[] =
    "local n = redis.call('LLEN', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "return n\n";

/*
 * Delivery (DESIGN.md: Delivery). Each endpoint keeps its deliveries in its
 * own keys: due (stream id by when it may be tried), held (stream id ->
 * delivery record), dead, and per entity an order hash: newest (the newest
 * stream id the intake saw), waiting (its one id in due), inflight and
 * until (the id being POSTed and the end of its lease). Never an older
 * snapshot after a newer one: a newer event drops an older one that waits,
 * a claim skips an entity with another id in flight, and a failed older
 * one is superseded instead of retried.
 */

/*
 * Move entries an endpoint's group read from events into its keys, and XACK
 * them, in one step: an entry is either still pending in the group (a dead
 * deliverer's, taken with XAUTOCLAIM) or in due and held, never lost
 * between. An entry older than the entity's newest is superseded; an older
 * one waiting (not in flight) is dropped for the new one.
 * KEYS: 1 events, 2 due, 3 held, 4 stats, then 4+i: the order hash of entry
 *       i (any key of the slot for a filtered entry).
 * ARGV: 1 group, 2 superseded stats field, 3 filtered stats field, 4 order
 *       hash TTL (ms), then per entry i: 3+2i its stream id, 4+2i its
 *       record ("": filtered out, only XACKed).
 * Returns {moved, superseded, filtered}.
 */
static const char script_deliver_intake[] = LUA_NOW LUA_IDLT
    "local now = math.floor(now_ms())\n"
    "local moved, sup, filt = 0, 0, 0\n"
    "for i = 1, #KEYS - 4 do\n"
    "  local id, rec, ek = ARGV[3 + 2 * i], ARGV[4 + 2 * i], KEYS[4 + i]\n"
    "  if redis.call('XACK', KEYS[1], ARGV[1], id) == 0 then\n"
    "    -- another deliverer moved it (its claim of the entry came first)\n"
    "  elseif rec == '' then\n"
    "    filt = filt + 1\n"
    "  else\n"
    "    local e = redis.call('HMGET', ek, 'newest', 'waiting', 'inflight', 'until')\n"
    "    if e[1] and not idlt(e[1], id) then\n"
    "      if e[1] ~= id then sup = sup + 1 end\n"
    "    else\n"
    "      local w = e[2]\n"
    "      if w and not (e[3] == w and tonumber(e[4] or '0') > now) then\n"
    "        if redis.call('ZREM', KEYS[2], w) == 1 then sup = sup + 1 end\n"
    "        redis.call('HDEL', KEYS[3], w)\n"
    "      end\n"
    "      redis.call('HSET', KEYS[3], id, rec)\n"
    "      redis.call('ZADD', KEYS[2], now, id)\n"
    "      redis.call('HSET', ek, 'newest', id, 'waiting', id)\n"
    "      redis.call('PEXPIRE', ek, ARGV[4])\n"
    "      moved = moved + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if sup > 0 then redis.call('HINCRBY', KEYS[4], ARGV[2], sup) end\n"
    "if filt > 0 then redis.call('HINCRBY', KEYS[4], ARGV[3], filt) end\n"
    "return {moved, sup, filt}\n";

/*
 * Claim due deliveries the caller read (ZRANGE of due, HMGET of held) for a
 * lease: each is re-scored to now + lease, so a deliverer that dies loses
 * nothing (it is due again when the lease ends, with the same webhook-id).
 * A member whose entity has another id in flight waits 250 ms more; one
 * older than its entity's newest is superseded. Members not due (any more:
 * another deliverer took them) are skipped.
 * Nothing is claimed while the endpoint is disabled (a 410 another
 * deliverer got, that this one has not seen yet).
 * KEYS: 1 due, 2 held, 3 stats, 4 endpoint, then 4+i: the order hash of
 *       member i.
 * ARGV: 1 lease (ms), 2 superseded stats field, 3 order hash TTL (ms), then
 *       3+i: member i.
 * Returns {-2} when the endpoint is disabled, else {ms until the next member
 * is due or -1, then per claimed member: its id, its record, its lease's end
 * (ms, the token of its done)}.
 */
static const char script_deliver_claim[] = LUA_NOW LUA_IDLT
    "if redis.call('HEXISTS', KEYS[4], 'disabled_at') == 1 then return {-2} end\n"
    "local now = math.floor(now_ms())\n"
    "local out, sup = {0}, 0\n"
    "for i = 1, #KEYS - 4 do\n"
    "  local id, ek = ARGV[3 + i], KEYS[4 + i]\n"
    "  local sc = redis.call('ZSCORE', KEYS[1], id)\n"
    "  if sc and tonumber(sc) <= now then\n"
    "    local rec = redis.call('HGET', KEYS[2], id)\n"
    "    local e = redis.call('HMGET', ek, 'newest', 'inflight', 'until', 'waiting')\n"
    "    if not rec then\n"
    "      redis.call('ZREM', KEYS[1], id)\n"
    "    elseif e[2] and e[2] ~= id and tonumber(e[3] or '0') > now then\n"
    "      redis.call('ZADD', KEYS[1], now + 250, id)\n"
    "    elseif e[1] and idlt(id, e[1]) then\n"
    "      redis.call('ZREM', KEYS[1], id)\n"
    "      redis.call('HDEL', KEYS[2], id)\n"
    "      if e[4] == id then redis.call('HDEL', ek, 'waiting') end\n"
    "      if e[2] == id then redis.call('HDEL', ek, 'inflight', 'until') end\n"
    "      sup = sup + 1\n"
    "    else\n"
    "      local u = now + tonumber(ARGV[1])\n"
    "      redis.call('HSET', ek, 'inflight', id, 'until', u)\n"
    "      redis.call('HSETNX', ek, 'newest', id)\n"
    "      redis.call('PEXPIRE', ek, ARGV[3])\n"
    "      redis.call('ZADD', KEYS[1], u, id)\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = rec\n"
    "      out[#out + 1] = tostring(u)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if sup > 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], sup) end\n"
    "local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "out[1] = -1\n"
    "if nxt[2] then out[1] = math.max(0, math.floor(tonumber(nxt[2])) - now) end\n"
    "return out\n";

/*
 * The outcome of a POST, if the delivery is still ours (its entity's
 * inflight and until are the claim's): delivered (gone from due and held),
 * retry (the record with its attempt counted, due after delay), dead (to
 * the dead list) or disabled (a 410: the endpoint is marked disabled and
 * the delivery waits, due now, until it is enabled). A retry or a dead one
 * whose entity has a newer event is superseded instead.
 * KEYS: 1 due, 2 held, 3 order hash, 4 dead, 5 stats, 6 endpoint.
 * ARGV: 1 id, 2 until (the claim's), 3 outcome (delivered, retry, dead,
 *       disabled), 4 retry delay (ms), 5 retry record or dead entry,
 *       6 outcome stats field, 7 superseded stats field, 8 latency bucket
 *       field ("": no POST answered), 9 latency sum field, 10 latency count
 *       field, 11 latency (ms), 12 order hash TTL (ms), 13 disabled_reason.
 * Returns 0 when the delivery was no longer ours (nothing written), 1 done,
 * 2 superseded.
 */
static const char script_deliver_done[] = LUA_NOW LUA_IDLT
    "local now = math.floor(now_ms())\n"
    "local id, ek = ARGV[1], KEYS[3]\n"
    "local e = redis.call('HMGET', ek, 'inflight', 'until', 'newest', 'waiting')\n"
    "if e[1] ~= id or e[2] ~= ARGV[2] then return 0 end\n"
    "if ARGV[8] ~= '' then\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[8], 1)\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[9], ARGV[11])\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[10], 1)\n"
    "end\n"
    "redis.call('HDEL', ek, 'inflight', 'until')\n"
    "redis.call('PEXPIRE', ek, ARGV[12])\n"
    "local out = ARGV[3]\n"
    "if out == 'disabled' then\n"
    "  redis.call('HSET', KEYS[6], 'disabled_at', now, 'disabled_reason', ARGV[13])\n"
    "  redis.call('ZADD', KEYS[1], now, id)\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[6], 1)\n"
    "  return 1\n"
    "end\n"
    "local rc = 1\n"
    "if out ~= 'delivered' and e[3] and idlt(id, e[3]) then\n"
    "  out = 'superseded'\n"
    "  rc = 2\n"
    "end\n"
    "if out == 'retry' then\n"
    "  redis.call('HSET', KEYS[2], id, ARGV[5])\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)\n"
    "  redis.call('HINCRBY', KEYS[5], ARGV[6], 1)\n"
    "  return 1\n"
    "end\n"
    "if out == 'dead' then redis.call('LPUSH', KEYS[4], ARGV[5]) end\n"
    "redis.call('ZREM', KEYS[1], id)\n"
    "redis.call('HDEL', KEYS[2], id)\n"
    "if e[4] == id then redis.call('HDEL', ek, 'waiting') end\n"
    "redis.call('HINCRBY', KEYS[5], rc == 2 and ARGV[7] or ARGV[6], 1)\n"
    "return rc\n";

/*
 * A dead delivery back to its endpoint (payhookctl endpoints dead NAME
 * replay): remove the entry, then put the record back in held and due
 * (attempt 0), unless its entity has a newer event (the order hash's
 * newest, or when that hash expired, a stored snapshot fetched later):
 * then it is superseded.
 * KEYS: 1 dead, 2 due, 3 held, 4 order hash, 5 entity (the snapshot),
 *       6 stats.
 * ARGV: 1 the dead entry as listed, 2 its stream id, 3 the record to
 *       deliver (attempt 0), 4 its fetched_at (ms), 5 superseded stats
 *       field, 6 order hash TTL (ms).
 * Returns 0 entry gone, 1 due again, 2 superseded.
 */
static const char script_deliver_replay[] = LUA_NOW LUA_IDLT
    "if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end\n"
    "local id = ARGV[2]\n"
    "local newest = redis.call('HGET', KEYS[4], 'newest')\n"
    "if newest then\n"
    "  if idlt(id, newest) then\n"
    "    redis.call('HINCRBY', KEYS[6], ARGV[5], 1)\n"
    "    return 2\n"
    "  end\n"
    "else\n"
    "  local fa = redis.call('HGET', KEYS[5], 'fetched_at')\n"
    "  if fa and tonumber(fa) > tonumber(ARGV[4]) then\n"
    "    redis.call('HINCRBY', KEYS[6], ARGV[5], 1)\n"
    "    return 2\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[3], id, ARGV[3])\n"
    "redis.call('ZADD', KEYS[2], math.floor(now_ms()), id)\n"
    "redis.call('HSET', KEYS[4], 'newest', id, 'waiting', id)\n"
    "redis.call('PEXPIRE', KEYS[4], ARGV[6])\n"
    "return 1\n";

const char *const ph_script_text[PH_NSCRIPTS] = {
	[PH_SCRIPT_ACCEPT] = script_accept,
	[PH_SCRIPT_CLAIM] = script_claim,
	[PH_SCRIPT_STORE] = script_store,
	[PH_SCRIPT_RESCHEDULE] = script_reschedule,
	[PH_SCRIPT_DUE] = script_due,
	[PH_SCRIPT_REQUEUE] = script_requeue,
	[PH_SCRIPT_REFRESH_DUE] = script_refresh_due,
	[PH_SCRIPT_REFETCH] = script_refetch,
	[PH_SCRIPT_RATE] = script_rate,
	[PH_SCRIPT_RATE_PENALTY] = script_rate_penalty,
	[PH_SCRIPT_DEAD_REPLAY] = script_dead_replay,
	[PH_SCRIPT_DEAD_PURGE] = script_dead_purge,
	[PH_SCRIPT_HEARTBEAT] = script_heartbeat,
	[PH_SCRIPT_DELIVER_INTAKE] = script_deliver_intake,
	[PH_SCRIPT_DELIVER_CLAIM] = script_deliver_claim,
	[PH_SCRIPT_DELIVER_DONE] = script_deliver_done,
	[PH_SCRIPT_DELIVER_REPLAY] = script_deliver_replay,
};
