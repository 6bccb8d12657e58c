#!/usr/bin/php
<?php
// SPDX-FileCopyrightText: The payhook authors
// SPDX-License-Identifier: BSD-2-Clause
/*
 * Read payhook's events stream as one consumer of a consumer group, with
 * phpredis (Debian: php-cli php-redis).
 *
 * payhook-fetcher appends an entry to the stream {prefix}events (default
 * payhook:events) each time an entity's snapshot changes, with the fields
 * provider, entity_type, entity_id, fetched_at and body. The latest snapshot
 * itself is the hash {prefix}entity:{provider}:{entity_type}:{entity_id}
 * (fields body, fetched_at, http_status, sha256, status, ...).
 *
 * This example:
 *   1. creates the group if absent (XGROUP CREATE ... MKSTREAM; BUSYGROUP is
 *      fine: another consumer made it first);
 *   2. handles again what this consumer read and did not acknowledge before
 *      it stopped (XREADGROUP ... 0);
 *   3. then, in a loop: claims the entries another consumer read and left
 *      unacknowledged for --min-idle-ms (XAUTOCLAIM: that consumer died), and
 *      reads new entries (XREADGROUP ... BLOCK ... COUNT ... >);
 *   4. handles each entry (prints it and reads the snapshot it names), then
 *      acknowledges it (XACK). An entry is delivered at least once: a crash
 *      between handling and XACK delivers it again, so the handler must be
 *      idempotent (see ../README.md).
 *
 * Options come from flags, else from the environment, else the defaults:
 *   --url        PAYHOOK_REDIS_URL       redis://127.0.0.1:6379/0
 *   --prefix     PAYHOOK_REDIS_PREFIX    payhook:
 *   --group      PAYHOOK_CONSUMER_GROUP  merchant
 *   --consumer   PAYHOOK_CONSUMER_NAME   the host name
 * --once reads until no new entry came for --idle-ms, then exits 0 (tests,
 * batch jobs). SIGINT or SIGTERM: stop after the entry in hand (or once the
 * blocking read in progress returns, --block-ms at most), exit 0.
 */

declare(strict_types=1);

final class Consumer
{
    private Redis $r;
    private string $stream;
    public bool $stopping = false;
    public int $handled = 0;
    public int $claimed = 0;

    public function __construct(private array $o)
    {
        $this->stream = $o['prefix'] . 'events';
        $this->r = self::connect($o['url'], $o['block-ms']);
    }

    /* Connect to a redis://[user:pass@]host:port/db or unix:///path?db=N URL. */
    private static function connect(string $url, int $blockMs): Redis
    {
        $u = parse_url($url);
        if ($u === false || !isset($u['scheme'])) {
            throw new InvalidArgumentException("--url $url: not a redis:// or unix:// URL");
        }
        $r = new Redis();
        $db = 0;
        if ($u['scheme'] === 'unix') {
            $r->connect($u['path'] ?? '', 0, 5.0);
            parse_str($u['query'] ?? '', $q);
            $db = (int)($q['db'] ?? 0);
        } elseif ($u['scheme'] === 'redis' || $u['scheme'] === 'rediss') {
            $host = ($u['scheme'] === 'rediss' ? 'tls://' : '') . ($u['host'] ?? '127.0.0.1');
            $r->connect($host, (int)($u['port'] ?? 6379), 5.0);
            $db = (int)ltrim($u['path'] ?? '/0', '/');
        } else {
            throw new InvalidArgumentException("--url $url: not a redis:// or unix:// URL");
        }
        if (isset($u['pass'])) {
            $pass = rawurldecode($u['pass']);
            $ok = isset($u['user']) && $u['user'] !== ''
                ? $r->auth([rawurldecode($u['user']), $pass]) : $r->auth($pass);
            if (!$ok) {
                throw new RedisException('AUTH failed: ' . $r->getLastError());
            }
        }
        if ($db !== 0 && !$r->select($db)) {
            throw new RedisException("SELECT $db failed: " . $r->getLastError());
        }
        // A blocking read may last block-ms: the socket must wait longer.
        $r->setOption(Redis::OPT_READ_TIMEOUT, (string)($blockMs / 1000 + 5));
        return $r;
    }

    /* One key=value line on stderr. */
    public function log(string $msg): void
    {
        fwrite(STDERR, "consumer={$this->o['consumer']} $msg\n");
    }

    /* Create the group (and the stream) unless it exists. */
    private function ensureGroup(): void
    {
        if ($this->r->xGroup('CREATE', $this->stream, $this->o['group'], $this->o['start-id'], true)) {
            $this->log("event=group_created group={$this->o['group']} stream={$this->stream} start={$this->o['start-id']}");
            return;
        }
        $err = (string)$this->r->getLastError();
        $this->r->clearLastError();
        if (!str_starts_with($err, 'BUSYGROUP')) {
            throw new RedisException("XGROUP CREATE: $err");
        }
    }

    /*
     * Handle one event: here, print it and the snapshot it points to. The
     * event's body is the entity as fetched at fetched_at; the snapshot is
     * the latest one, maybe newer (a later fetch). A real handler applies
     * either idempotently, keyed by entity and sha256.
     */
    private function handle(string $id, array $f, bool $claimed): void
    {
        $key = "{$this->o['prefix']}entity:{$f['provider']}:{$f['entity_type']}:{$f['entity_id']}";
        $snap = $this->r->hGetAll($key);
        $line = sprintf('event id=%s provider=%s entity_type=%s entity_id=%s fetched_at=%s claimed=%s',
            $id, $f['provider'], $f['entity_type'], $f['entity_id'], $f['fetched_at'] ?? '',
            $claimed ? 'yes' : 'no');
        if (is_array($snap) && $snap) {
            $newer = (int)($snap['fetched_at'] ?? 0) > (int)($f['fetched_at'] ?? 0);
            $line .= sprintf(' snapshot=%s status=%s sha256=%s snapshot_fetched_at=%s newer=%s body_bytes=%d',
                $key, $snap['status'] ?? '', $snap['sha256'] ?? '', $snap['fetched_at'] ?? '',
                $newer ? 'yes' : 'no', strlen($snap['body'] ?? ''));
        } else {
            $line .= " snapshot=$key missing=yes";
        }
        fwrite(STDOUT, $line . "\n");
    }

    /* Handle and acknowledge each entry (id => fields), in order, unless stopping. */
    private function process(array $entries, bool $claimed = false): void
    {
        foreach ($entries as $id => $f) {
            if ($this->stopping) {
                return;
            }
            $id = (string)$id;
            if (!is_array($f) || !isset($f['provider'], $f['entity_type'], $f['entity_id'])) {
                // Trimmed from the stream (MAXLEN) while pending, or not an
                // event: nothing to handle, but it must leave the pending list.
                $this->log("event=skipped id=$id");
            } else {
                try {
                    $this->handle($id, $f, $claimed);
                } catch (RedisException $e) {
                    throw $e;
                } catch (Throwable $e) {
                    // Left unacknowledged: claimed again (by this consumer
                    // or another) once idle for min-idle-ms.
                    $this->log("event=handler_error id=$id error=\"" . $e->getMessage() . '"');
                    continue;
                }
                $this->handled++;
                $this->claimed += $claimed ? 1 : 0;
            }
            if ($this->r->xAck($this->stream, $this->o['group'], [$id]) === false) {
                throw new RedisException('XACK: ' . $this->r->getLastError());
            }
        }
    }

    /* XREADGROUP from ID ('>' new, else this consumer's pending after ID); id => fields. */
    private function read(string $from, ?int $blockMs): array
    {
        $rep = $blockMs === null
            ? $this->r->xReadGroup($this->o['group'], $this->o['consumer'], [$this->stream => $from],
                $this->o['count'])
            : $this->r->xReadGroup($this->o['group'], $this->o['consumer'], [$this->stream => $from],
                $this->o['count'], $blockMs);
        if ($rep === false && $this->r->getLastError() !== null) {
            throw new RedisException('XREADGROUP: ' . $this->r->getLastError());
        }
        return is_array($rep) ? ($rep[$this->stream] ?? []) : [];
    }

    /* Handle what this consumer read before and never acknowledged. */
    private function ownPending(): void
    {
        $last = '0';
        while (!$this->stopping) {
            $entries = $this->read($last, null);
            if (!$entries) {
                return;
            }
            $this->process($entries);
            $last = (string)array_key_last($entries);
        }
    }

    /* Claim and handle entries left pending by a consumer idle for min-idle-ms. */
    private function claimDead(): void
    {
        $cursor = '0-0';
        while (!$this->stopping) {
            // phpredis 5 has no xAutoClaim(): the raw command, reply
            // [cursor, [[id, [field, value, ...]], ...], [deleted ids]].
            $rep = $this->r->rawCommand('XAUTOCLAIM', $this->stream, $this->o['group'],
                $this->o['consumer'], (string)$this->o['min-idle-ms'], $cursor,
                'COUNT', (string)$this->o['count']);
            if (!is_array($rep)) {
                throw new RedisException('XAUTOCLAIM: ' . $this->r->getLastError());
            }
            $cursor = (string)$rep[0];
            $entries = [];
            foreach ($rep[1] as [$id, $flat]) {
                $f = null;
                if (is_array($flat)) {
                    $f = [];
                    for ($i = 0; $i + 1 < count($flat); $i += 2) {
                        $f[$flat[$i]] = $flat[$i + 1];
                    }
                }
                $entries[(string)$id] = $f;
            }
            if ($entries) {
                $this->log('event=claimed count=' . count($entries));
                $this->process($entries, true);
            }
            if ($cursor === '0-0') {
                return;
            }
        }
    }

    /* Until stopped (or, with --once, until idle): claim, read, handle, ack. */
    public function run(): void
    {
        $this->ensureGroup();
        $this->ownPending();
        while (!$this->stopping) {
            $this->claimDead();
            if ($this->stopping) {
                return;
            }
            $entries = $this->read('>', $this->o['once'] ? $this->o['idle-ms'] : $this->o['block-ms']);
            if (!$entries) {
                if ($this->o['once']) {
                    return;
                }
                continue;
            }
            $this->process($entries);
        }
    }

    public function close(): void
    {
        try {
            $this->r->close();
        } catch (RedisException) {
        }
    }
}

/* Flags over environment over defaults; exits 2 on a bad one. */
function options(array $argv): array
{
    $env = fn(string $k, string $d): string => (getenv($k) !== false && getenv($k) !== '') ? getenv($k) : $d;
    $o = [
        'url' => $env('PAYHOOK_REDIS_URL', 'redis://127.0.0.1:6379/0'),
        'prefix' => $env('PAYHOOK_REDIS_PREFIX', 'payhook:'),
        'group' => $env('PAYHOOK_CONSUMER_GROUP', 'merchant'),
        'consumer' => $env('PAYHOOK_CONSUMER_NAME', (string)gethostname()),
        'start-id' => '0',
        'count' => 100,
        // Short: a signal is seen only when the blocking read returns.
        'block-ms' => 1000,
        'min-idle-ms' => 60000,
        'once' => false,
        'idle-ms' => 1000,
    ];
    $ints = ['count' => 1, 'block-ms' => 1, 'min-idle-ms' => 0, 'idle-ms' => 1];
    $usage = "usage: payhook_consumer.php [--url URL] [--prefix P] [--group G] [--consumer NAME]\n"
        . "  [--start-id 0|\$] [--count N] [--block-ms MS] [--min-idle-ms MS] [--once [--idle-ms MS]]\n";
    for ($i = 1; $i < count($argv); $i++) {
        $a = $argv[$i];
        if ($a === '--help' || $a === '-h') {
            fwrite(STDOUT, $usage);
            exit(0);
        }
        if ($a === '--once') {
            $o['once'] = true;
            continue;
        }
        $v = null;
        if (str_starts_with($a, '--') && str_contains($a, '=')) {
            [$a, $v] = explode('=', $a, 2);
        }
        $k = substr($a, 2);
        if (!str_starts_with($a, '--') || !array_key_exists($k, $o) || $k === 'once') {
            fwrite(STDERR, "payhook_consumer.php: unknown argument $a\n$usage");
            exit(2);
        }
        if ($v === null) {
            if (!isset($argv[$i + 1])) {
                fwrite(STDERR, "payhook_consumer.php: $a needs a value\n$usage");
                exit(2);
            }
            $v = $argv[++$i];
        }
        if (isset($ints[$k])) {
            if (!preg_match('/^[0-9]{1,9}$/', $v) || (int)$v < $ints[$k]) {
                fwrite(STDERR, "payhook_consumer.php: $a $v: must be a whole number from {$ints[$k]}\n");
                exit(2);
            }
            $v = (int)$v;
        }
        $o[$k] = $v;
    }
    return $o;
}

$o = options($argv);
$rc = 0;
$c = null;
try {
    $c = new Consumer($o);
    // Async signals: the handler runs between two PHP statements, so the
    // entry in hand is finished and acknowledged; a blocking read is not
    // interrupted (phpredis retries it), so stopping waits out its BLOCK
    // (--block-ms, 1000 by default) first.
    pcntl_async_signals(true);
    $stop = function () use ($c): void {
        $c->stopping = true;
    };
    pcntl_signal(SIGINT, $stop);
    pcntl_signal(SIGTERM, $stop);
    while (true) {
        try {
            $c->run();
            break;
        } catch (RedisException $e) {
            // Redis restarting or failing over: try again, unless a test or
            // batch run (--once) wants to know. phpredis reconnects by itself.
            $c->log('event=redis_error error="' . $e->getMessage() . '"');
            if ($o['once'] || $c->stopping) {
                $rc = 1;
                break;
            }
            sleep(1);
        }
    }
} catch (Throwable $e) {
    fwrite(STDERR, "consumer={$o['consumer']} event=error error=\"" . $e->getMessage() . "\"\n");
    $rc = 1;
}
if ($c !== null) {
    $c->close();
    $c->log("event=exit handled={$c->handled} claimed={$c->claimed} signal=" . ($c->stopping ? 'yes' : 'no'));
}
exit($rc);
