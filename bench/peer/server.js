// SPDX-FileCopyrightText: The payhook authors
// SPDX-License-Identifier: BSD-2-Clause
// bench/ingest leg P: the receiver a user would otherwise write, fastify +
// ioredis behind nginx: validate the OneInfinite body, then in ONE Lua script
// SET NX the notification id, SET NX the entity's pending marker, LPUSH the
// job where it was set and XADD the raw body: the same work as payhook's
// accept script (without the stats counter). Keys under "peer:".
'use strict';

const fastify = require('fastify')({ logger: false, bodyLimit: 16384 });
const Redis = require('ioredis');

const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
redis.defineCommand('accept', {
  numberOfKeys: 4,
  lua: `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('LPUSH', KEYS[3], ARGV[4])
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'body', ARGV[5])
return 1`,
});

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const EVENT = /^[A-Za-z0-9_.-]{1,64}$/;

fastify.post('/webhooks/oneinfinite', async (req, reply) => {
  const b = req.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b) ||
      typeof b.id !== 'string' || !ID.test(b.id) ||
      typeof b.event_type !== 'string' || !EVENT.test(b.event_type) ||
      typeof b.entity_id !== 'string' || !ID.test(b.entity_id)) {
    reply.code(400);
    return { error: 'invalid_notification' };
  }
  const type = String(b.entity_type || b.event_type.split('.')[0]).toLowerCase();
  const now = Date.now();
  const job = JSON.stringify({
    v: 1, provider: 'oneinfinite', entity_type: type, entity_id: b.entity_id,
    notification_id: b.id, event: b.event_type, received_at: now, attempt: 0,
  });
  try {
    const r = await redis.accept(`peer:seen:oneinfinite:${b.id}`,
      `peer:pending:oneinfinite:${type}:${b.entity_id}`, 'peer:queue',
      'peer:notifications', now, 604800, 3600, job, JSON.stringify(b), 1000000);
    return r === 1 ? { status: 'accepted' } : { status: 'duplicate' };
  } catch (e) {
    reply.code(503);
    return { error: 'unavailable' };
  }
});

fastify.get('/healthz', async () => 'ok\n');

fastify.listen({ host: '127.0.0.1', port: Number(process.env.PORT) }, (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
