/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The spool on disk: notifications Redis could not take, kept on the
 * handler's own disk until lib/replay.c replays them through the accept
 * path. This file knows records, segments, their flush and their locks; it
 * never speaks to Redis.
 *
 * A spool directory holds segments named "{ms}-{pid}-{seq}.seg" (ms: the
 * creation time, 13 digits, so names sort by age). Each process appends to a
 * segment of its own and holds flock(LOCK_EX) on it while it is open; a
 * closed segment is complete, and any process on the same directory may
 * replay it: lock it, check it is still the file at its name, replay its
 * records, marking each one done in place once Redis holds it, and unlink it
 * when every record is done and durable. A record is
 *   "PHS1" | payload length (u32 LE) | CRC-32C of length and payload (u32 LE) | payload
 * ("PHSD" instead of "PHS1" once replayed: the CRC does not cover the magic)
 * and its payload
 *   received_at in ms (u64 LE) | provider name length (u8) | name | raw body.
 * The body is decoded again at replay (decoding is pure), so a record is
 * replayed exactly as the notification would have been accepted then.
 */
#ifndef PH_SPOOL_H
#define PH_SPOOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SPOOL_MAGIC "PHS1"
#define PH_SPOOL_DONE "PHSD"
#define PH_SPOOL_HEADER 12
/* A process starts a new segment past this size. */
#define PH_SPOOL_SEGMENT_MAX (64L * 1024 * 1024)
/*
 * Fewer bytes than any valid notification's record takes (the shortest
 * OneInfinite body is about 45 bytes, its record 77): a spool with less room
 * than this left is full.
 */
#define PH_SPOOL_RECORD_MIN 64
/* The longest spool_dir (segment names are appended). */
#define PH_SPOOL_DIR_MAX 200

struct ph_spool;

enum ph_spool_put {
	PH_SPOOL_OK,     /* the record is on disk and flushed: answer 200 */
	PH_SPOOL_FULL,   /* spool_max_bytes reached: answer 503 */
	PH_SPOOL_FAILED, /* directory missing or unwritable, ENOSPC, failed flush: 503 */
};

enum ph_spool_replay {
	PH_REPLAY_DONE,       /* every segment this process could take was replayed */
	PH_REPLAY_REDIS_DOWN, /* Redis failed mid-way; the segment stays, try later */
	PH_REPLAY_FAILED,     /* the directory could not be read (reason in err) */
};

/* Counters of one spool (a process's); read and reset by the caller. */
struct ph_spool_counts {
	atomic_long spooled;
	atomic_long flushes;   /* fdatasync calls: spooled / flushes is the group commit's gain */
	atomic_long replayed;  /* accepted at replay (new) */
	atomic_long duplicate; /* found duplicate at replay */
	atomic_long dead;      /* undecodable: to the dead list */
	atomic_long refused;   /* refused by Redis at replay: kept for a later turn */
	atomic_long torn;      /* torn records at a segment's end, dropped */
	atomic_long corrupt;   /* records failing their checksum, skipped */
};

/* The replay counters as {p}stats fields spool:{name}: one table for every flusher. */
#define PH_SPOOL_NSTATS 6
struct ph_spool_stat {
	const char *name;
	size_t offset; /* of its counter in struct ph_spool_counts */
};
extern const struct ph_spool_stat ph_spool_stats[PH_SPOOL_NSTATS];

/* The counter of row i of ph_spool_stats in c. */
atomic_long *spool_stat(struct ph_spool_counts *c, size_t i);

/* What a spool directory holds now (a scan of its segments). */
struct ph_spool_status {
	long segments;
	long long bytes;
	int64_t oldest_ms; /* age of the oldest segment, -1 when none */
	int writable;      /* the directory exists and this process may write there */
};

/*
 * Set up a spool on dir (no file is created yet). NULL when out of memory.
 * The directory need not exist: until it does, spool_put fails.
 */
struct ph_spool *spool_open(const char *dir, long long max_bytes);

/* Close the current segment (it becomes replayable) and free the spool. */
void spool_close(struct ph_spool *s);

/* The spool's counters. */
struct ph_spool_counts *spool_counts(struct ph_spool *s);

/*
 * Append one notification and flush it to disk; threads appending at once
 * share one flush (group commit). On failure the reason is in err.
 */
enum ph_spool_put spool_put(struct ph_spool *s, const char *provider, uint64_t received_at,
    const char *body, size_t len, char *err, size_t errlen);
/*
 * spool_put with the record built in scratch (cap bytes) when it fits, as
 * payhook-fcgi does in its thread's buffer: no allocation per record.
 */
enum ph_spool_put spool_put_buf(struct ph_spool *s, const char *provider, uint64_t received_at,
    const char *body, size_t len, char *scratch, size_t cap, char *err, size_t errlen);

/* Close this process's current segment so it can be replayed (waits for its flush). */
void spool_seal(struct ph_spool *s);

/* Whether this process has a current segment with records in it. */
int spool_has_open(struct ph_spool *s);

/* A segment taken for replay: locked by this process and mapped. */
struct ph_segment;

enum ph_segment_verdict {
	PH_SEGMENT_KEEP,   /* records are left, or the done ones are not durable yet */
	PH_SEGMENT_REMOVE, /* every record is done and durable: unlink it */
	PH_SEGMENT_STOP,   /* Redis is gone: keep it and take no other segment now */
};

/*
 * Take every segment of dir that no live process holds, oldest first, and
 * hand each to fn, which says what becomes of it. Stale temporary files are
 * removed after. PH_REPLAY_REDIS_DOWN when fn said stop.
 */
enum ph_spool_replay spool_each_segment(const char *dir,
    enum ph_segment_verdict (*fn)(struct ph_segment *, void *), void *arg, char *err,
    size_t errlen);

/* The path of a segment. */
const char *spool_segment_path(const struct ph_segment *g);

/* One record read from a segment. */
struct ph_spool_rec {
	size_t off; /* where it starts in the segment */
	uint64_t received_at;
	char provider[256];
	const char *body; /* in the segment's mapping */
	size_t len;       /* of the body; of the skipped bytes when torn or corrupt */
	int done;         /* marked replayed */
};

enum ph_spool_next {
	PH_SPOOL_RECORD,  /* a record (done or not) */
	PH_SPOOL_CORRUPT, /* bytes failing their checksum, skipped up to the next valid record */
	PH_SPOOL_TORN,    /* bytes at the end with no valid record after them (a cut write) */
	PH_SPOOL_END,
};

/* Read the next record of a segment. */
enum ph_spool_next spool_segment_next(struct ph_segment *g, struct ph_spool_rec *rec);

/* Mark the record at off replayed (in place). 0, or -1 with errno. */
int spool_segment_mark(struct ph_segment *g, size_t off);

/* Milliseconds since the segment was last written or marked. */
int64_t spool_segment_idle_ms(const struct ph_segment *g);

/* Scan dir's segments. 0, or -1 when it cannot be read (st->writable is then 0). */
int spool_status(const char *dir, struct ph_spool_status *st);

/* Refresh the byte count spool_put checks against max_bytes (from a scan). */
void spool_set_used(struct ph_spool *s, long long bytes);

/* Encode one record into buf (for tests and tools); its length, or -1 if it does not fit. */
long spool_record(char *buf, size_t size, const char *provider, uint64_t received_at,
    const char *body, size_t len);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t spool_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
