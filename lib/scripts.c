/* Lua scripts, one per atomic step (DESIGN.md: Accepting, Fetching). */
#include "config.h"

#include "scripts.h"

/*
 * Accept a notification in one round trip.
 * KEYS: 1 seen, 2 queue, 3 dead, 4 notifications, 5 stats, 5+i pending of entity i.
 * ARGV: 1 now_ms, 2 dedup_ttl, 3 pending_ttl, 4 notifications maxlen,
 *       5 "1" to deduplicate on KEYS[1], 6 provider, 7 notification id,
 *       8 event, 9 raw body, 10 entity count, then per entity: job,
 *       "1" routed / "0" no route, dead-letter entry.
 * Returns {1 accepted | 0 duplicate, jobs queued}.
 */
static const char script_accept[] =
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
    "    if redis.call('SET', KEYS[5 + i], ARGV[1], 'NX', 'EX', ARGV[3]) then\n"
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

/* Placeholder until the fetcher's scripts land: returns an error if run. */
static const char script_todo[] = "return redis.error_reply('not implemented')\n";

const char *const ph_script_text[PH_NSCRIPTS] = {
	[PH_SCRIPT_ACCEPT] = script_accept,
	[PH_SCRIPT_CLAIM] = script_todo,
	[PH_SCRIPT_STORE] = script_todo,
	[PH_SCRIPT_RESCHEDULE] = script_todo,
	[PH_SCRIPT_DUE] = script_todo,
	[PH_SCRIPT_REQUEUE] = script_todo,
};
