/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replaying the spool (lib/spool.h keeps it on disk) through the accept
 * path (lib/accept.h), as payhook-fcgi's replayer thread and payhookctl
 * spool replay do. A record Redis holds (new or duplicate) is marked done in
 * its segment and never sent again; a record Redis refuses stays for a later
 * turn; one that does not decode goes to the dead list. A segment is deleted
 * once every record is done and durable: acknowledged by WAIT with [redis]
 * min_replicas, or else settle_ms after its last record was marked.
 */
#ifndef PH_REPLAY_H
#define PH_REPLAY_H

#include <stdint.h>

#include "accept.h"
#include "conf.h"
#include "redis.h"
#include "spool.h"

/* How long a replayed segment is kept when Redis may lose its last second (appendfsync everysec). */
#define PH_REPLAY_SETTLE_MS 2000

/*
 * Replay every segment of dir no live process holds, oldest first. Counts
 * go to c. settle_ms: how long a fully replayed segment is kept before it is
 * deleted when min_replicas is 0 (0 when Redis fsyncs every write).
 * PH_REPLAY_REDIS_DOWN when the connection was lost (err says why).
 */
enum ph_spool_replay replay_dir(const char *dir, const struct ph_accept_ctx *ctx,
    struct ph_redis *r, struct ph_spool_counts *c, long settle_ms, char *err, size_t errlen);

/* The settle time for Redis' persistence as ph_redis_durable says it (1, 0, -1). */
long replay_settle_ms(int durable);

/*
 * Start the replayer thread of payhook-fcgi: every 250 ms while the spool
 * holds segments and Redis answers, seal this process's segment and replay
 * the directory. -1 when the thread cannot start.
 */
int replay_start(const struct ph_config *cfg, struct ph_spool *spool,
    const struct ph_accept_ctx *ctx, char *err, size_t errlen);

#endif
