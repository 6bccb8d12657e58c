/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* The spool on disk: records, segments, group-commit flush and locks (see spool.h). */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "payhook.h"
#include "spool.h"

/* A leftover ".tmp" of a process that died while creating a segment is removed after this. */
#define SPOOL_TMP_STALE_S 60

struct ph_spool {
	char dir[PH_SPOOL_DIR_MAX + 1];
	long long max_bytes;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;               /* the current segment, -1 when none */
	char path[PATH_MAX];  /* its name */
	long long seg_size;   /* bytes in it */
	int broken;           /* a write or flush failed on it: start a new one */
	unsigned seq;         /* segments this process created */
	long long used;       /* bytes in the directory: the last scan plus our appends since */
	uint64_t written;     /* records appended (a sequence number) */
	uint64_t synced;      /* records flushed, or whose flush failed */
	uint64_t failed_upto; /* records up to this one had their flush fail */
	int failed_errno;
	int syncing;
	struct ph_spool_counts counts;
};

static uint32_t spool_crc_table[256];
static pthread_once_t spool_crc_once = PTHREAD_ONCE_INIT;

/* Build the CRC-32C table (reflected polynomial 0x82F63B78). */
static void
spool_crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		spool_crc_table[i] = c;
	}
}

/* CRC-32C, as iSCSI and ext4 use it. */
uint32_t
spool_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&spool_crc_once, spool_crc_init);
	crc = ~crc;
	while (len-- > 0)
		crc = spool_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Encode one record. */
long
spool_record(char *buf, size_t size, const char *provider, uint64_t received_at, const char *body,
    size_t len)
{
	size_t plen = strlen(provider), payload = 8 + 1 + plen + len,
	       total = PH_SPOOL_HEADER + payload;
	unsigned char *b = (unsigned char *)buf;

	if (plen == 0 || plen > 255 || payload > UINT32_MAX - 64 || total > size ||
	    total > LONG_MAX)
		return -1;
	memcpy(b, PH_SPOOL_MAGIC, 4);
	put32(b + 4, (uint32_t)payload);
	for (int i = 0; i < 8; i++)
		b[PH_SPOOL_HEADER + i] = (unsigned char)(received_at >> (8 * i));
	b[PH_SPOOL_HEADER + 8] = (unsigned char)plen;
	memcpy(b + PH_SPOOL_HEADER + 9, provider, plen);
	memcpy(b + PH_SPOOL_HEADER + 9 + plen, body, len);
	put32(b + 8, spool_crc32c(spool_crc32c(0, b + 4, 4), b + PH_SPOOL_HEADER, payload));
	return (long)total;
}

/* Set up a spool. */
struct ph_spool *
spool_open(const char *dir, long long max_bytes)
{
	struct ph_spool *s = calloc(1, sizeof *s);
	struct ph_spool_status st;

	if (s == NULL)
		return NULL;
	if (ph_strlcpy(s->dir, dir, sizeof s->dir) != 0) {
		free(s);
		return NULL;
	}
	s->max_bytes = max_bytes;
	s->fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (spool_status(dir, &st) == 0)
		s->used = st.bytes;
	return s;
}

const struct ph_spool_stat ph_spool_stats[PH_SPOOL_NSTATS] = {
	{ "replayed", offsetof(struct ph_spool_counts, replayed) },
	{ "duplicate", offsetof(struct ph_spool_counts, duplicate) },
	{ "dead", offsetof(struct ph_spool_counts, dead) },
	{ "dropped_torn", offsetof(struct ph_spool_counts, torn) },
	{ "dropped_corrupt", offsetof(struct ph_spool_counts, corrupt) },
	{ "refused", offsetof(struct ph_spool_counts, refused) },
};

/* A replay counter by its row. */
atomic_long *
spool_stat(struct ph_spool_counts *c, size_t i)
{
	return (atomic_long *)((char *)c + ph_spool_stats[i].offset);
}

/* The spool's counters. */
struct ph_spool_counts *
spool_counts(struct ph_spool *s)
{
	return &s->counts;
}

/* Wait until no flush runs and every appended record was flushed. Called locked. */
static void
spool_quiesce(struct ph_spool *s)
{
	while (s->syncing || s->synced < s->written)
		pthread_cond_wait(&s->cv, &s->mu);
}

/* Close the current segment. Called locked, quiesced. */
static void
spool_close_segment(struct ph_spool *s)
{
	if (s->fd < 0)
		return;
	close(s->fd); /* releases the lock: the segment is now anyone's to replay */
	s->fd = -1;
	s->broken = 0;
	log_debug("spool_sealed", "segment=%s bytes=%lld", s->path, s->seg_size);
}

/* Close the current segment so it can be replayed. */
void
spool_seal(struct ph_spool *s)
{
	pthread_mutex_lock(&s->mu);
	spool_quiesce(s);
	spool_close_segment(s);
	pthread_mutex_unlock(&s->mu);
}

/* Whether a segment with records is open. */
int
spool_has_open(struct ph_spool *s)
{
	int open;

	pthread_mutex_lock(&s->mu);
	open = s->fd >= 0 && s->seg_size > 0;
	pthread_mutex_unlock(&s->mu);
	return open;
}

/* Close and free. */
void
spool_close(struct ph_spool *s)
{
	if (s == NULL)
		return;
	spool_seal(s);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* Refresh the byte count from a scan. */
void
spool_set_used(struct ph_spool *s, long long bytes)
{
	pthread_mutex_lock(&s->mu);
	s->used = bytes;
	pthread_mutex_unlock(&s->mu);
}

/* Flush a directory, so a new name in it survives a crash of the host. */
static int
spool_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Put tmp in place at path unless path exists: two processes of the same pid
 * (containers sharing a spool volume) may pick one name in the same
 * millisecond, and a plain rename() would replace the other's segment.
 * 0, or -1 with errno (EEXIST: the name is taken).
 */
static int
spool_rename_new(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() refuses an existing name too. */
	if (link(tmp, path) != 0)
		return -1;
	return unlink(tmp);
}

/* Tries at a free segment name before giving up. */
#define SPOOL_NAME_TRIES 16

/*
 * Start a new segment. It is created under a temporary name and locked
 * before it gets its ".seg" name, so no replayer ever sees it unlocked.
 * Called locked.
 */
static int
spool_new_segment(struct ph_spool *s, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	uint64_t ms = ph_now_ms();
	int fd = -1, e = 0, tries;

	for (tries = 0; tries < SPOOL_NAME_TRIES; tries++) {
		s->seq++;
		snprintf(s->path, sizeof s->path, "%s/%013" PRIu64 "-%ld-%u.seg", s->dir, ms,
		    (long)getpid(), s->seq);
		snprintf(tmp, sizeof tmp, "%s/.%013" PRIu64 "-%ld-%u.tmp", s->dir, ms,
		    (long)getpid(), s->seq);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue; /* another process's name: take the next */
		if (fd < 0) {
			snprintf(err, errlen, "spool_dir %s: cannot create a segment: %s", s->dir,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			e = errno;
			goto fail;
		}
		if (spool_rename_new(tmp, s->path) != 0) {
			e = errno;
			unlink(tmp);
			close(fd);
			fd = -1;
			if (e == EEXIST)
				continue;
			snprintf(err, errlen, "spool_dir %s: cannot start segment %s: %s", s->dir,
			    s->path, strerror(e));
			return -1;
		}
		if (spool_sync_dir(s->dir) != 0) {
			e = errno;
			unlink(s->path); /* ours: the rename made it */
			close(fd);
			snprintf(err, errlen, "spool_dir %s: cannot start segment %s: %s", s->dir,
			    s->path, strerror(e));
			return -1;
		}
		s->fd = fd;
		s->seg_size = 0;
		s->broken = 0;
		log_info("spool_segment", "segment=%s", s->path);
		return 0;
	}
	snprintf(err, errlen, "spool_dir %s: no free segment name after %d tries", s->dir,
	    SPOOL_NAME_TRIES);
	return -1;
fail:
	snprintf(err, errlen, "spool_dir %s: cannot start segment %s: %s", s->dir, s->path,
	    strerror(e));
	unlink(tmp);
	close(fd);
	return -1;
}

/* Write all of buf. 0, or -1 with errno. */
static int
spool_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Append one record and wait for its flush, sharing it with every thread waiting. */
enum ph_spool_put
spool_put(struct ph_spool *s, const char *provider, uint64_t received_at, const char *body,
    size_t len, char *err, size_t errlen)
{
	return spool_put_buf(s, provider, received_at, body, len, NULL, 0, err, errlen);
}

/* spool_put, building the record in the caller's scratch buffer when it fits. */
enum ph_spool_put
spool_put_buf(struct ph_spool *s, const char *provider, uint64_t received_at, const char *body,
    size_t len, char *scratch, size_t cap, char *err, size_t errlen)
{
	size_t size = PH_SPOOL_HEADER + 9 + strlen(provider) + len;
	enum ph_spool_put rc = PH_SPOOL_FAILED;
	char *rec = scratch != NULL && cap >= size ? scratch : malloc(size);
	long reclen;
	uint64_t mine, target;
	long long off;
	int fd, e, frc;

	if (rec == NULL) {
		snprintf(err, errlen, "spool: out of memory");
		return PH_SPOOL_FAILED;
	}
	reclen = spool_record(rec, size, provider, received_at, body, len);
	if (reclen < 0) {
		snprintf(err, errlen, "spool: record too large");
		if (rec != scratch)
			free(rec);
		return PH_SPOOL_FAILED;
	}

	pthread_mutex_lock(&s->mu);
	if (s->fd >= 0 && (s->broken || s->seg_size >= PH_SPOOL_SEGMENT_MAX)) {
		spool_quiesce(s);
		if (s->fd >= 0 && (s->broken || s->seg_size >= PH_SPOOL_SEGMENT_MAX))
			spool_close_segment(s);
	}
	if (s->used + reclen > s->max_bytes) {
		snprintf(err, errlen, "spool full: %lld of spool_max_bytes %lld used", s->used,
		    s->max_bytes);
		rc = PH_SPOOL_FULL;
		goto out;
	}
	if (s->fd < 0 && spool_new_segment(s, err, errlen) != 0)
		goto out;
	off = s->seg_size;
	if (spool_write_all(s->fd, rec, (size_t)reclen) != 0) {
		e = errno;
		/* Take back a part-written record, or give the segment up. */
		if (ftruncate(s->fd, off) != 0)
			s->broken = 1;
		snprintf(err, errlen, "spool: write to %s: %s", s->path, strerror(e));
		goto out;
	}
	s->seg_size += reclen;
	s->used += reclen;
	mine = ++s->written;
	while (s->synced < mine) {
		if (s->syncing) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		/* Flush every record appended so far, for every thread waiting. */
		s->syncing = 1;
		target = s->written;
		fd = s->fd;
		pthread_mutex_unlock(&s->mu);
		frc = fdatasync(fd);
		e = errno;
		atomic_fetch_add(&s->counts.flushes, 1);
		pthread_mutex_lock(&s->mu);
		s->syncing = 0;
		if (frc != 0) {
			/* After a failed flush the page cache cannot be trusted: new segment. */
			s->failed_upto = target;
			s->failed_errno = e;
			s->broken = 1;
		}
		s->synced = target;
		pthread_cond_broadcast(&s->cv);
	}
	if (s->failed_upto >= mine) {
		snprintf(err, errlen, "spool: fdatasync %s: %s", s->path,
		    strerror(s->failed_errno));
		goto out;
	}
	atomic_fetch_add(&s->counts.spooled, 1);
	rc = PH_SPOOL_OK;
out:
	pthread_mutex_unlock(&s->mu);
	if (rec != scratch)
		free(rec);
	return rc;
}

/* Whether a valid record starts at off; its payload length in *plen. */
static int
spool_valid_at(const unsigned char *m, size_t size, size_t off, uint32_t *plen)
{
	uint32_t len;

	if (size - off < PH_SPOOL_HEADER ||
	    (memcmp(m + off, PH_SPOOL_MAGIC, 4) != 0 && memcmp(m + off, PH_SPOOL_DONE, 4) != 0))
		return 0;
	len = get32(m + off + 4);
	if (len < 10 || len > size - off - PH_SPOOL_HEADER)
		return 0;
	if (spool_crc32c(spool_crc32c(0, m + off + 4, 4), m + off + PH_SPOOL_HEADER, len) !=
	    get32(m + off + 8))
		return 0;
	/* received_at, name length, a name of at least 1 byte */
	if (m[off + PH_SPOOL_HEADER + 8] == 0 || 9u + m[off + PH_SPOOL_HEADER + 8] > len)
		return 0;
	*plen = len;
	return 1;
}

/* The offset of the next valid record after off, or size when there is none. */
static size_t
spool_resync(const unsigned char *m, size_t size, size_t off)
{
	const unsigned char *hit;
	uint32_t len;

	for (off++; off < size; off = (size_t)(hit - m) + 1) {
		/* "PHS" then '1' or 'D' (a record replayed and marked). */
		hit = memmem(m + off, size - off, PH_SPOOL_MAGIC, 3);
		if (hit == NULL)
			break;
		if (spool_valid_at(m, size, (size_t)(hit - m), &len))
			return (size_t)(hit - m);
	}
	return size;
}

struct ph_segment {
	int fd;
	const unsigned char *m;
	size_t size;
	size_t off; /* the next record to read */
	char path[PATH_MAX];
};

/* The path of a segment. */
const char *
spool_segment_path(const struct ph_segment *g)
{
	return g->path;
}

/* Read the next record. */
enum ph_spool_next
spool_segment_next(struct ph_segment *g, struct ph_spool_rec *rec)
{
	const unsigned char *payload;
	uint32_t plen;
	size_t next, nlen;
	int i;

	memset(rec, 0, sizeof *rec);
	if (g->off >= g->size)
		return PH_SPOOL_END;
	rec->off = g->off;
	if (!spool_valid_at(g->m, g->size, g->off, &plen)) {
		next = spool_resync(g->m, g->size, g->off);
		rec->len = next - g->off;
		g->off = next;
		/* Nothing valid after it: a write a crash cut short, never answered 200. */
		return next == g->size ? PH_SPOOL_TORN : PH_SPOOL_CORRUPT;
	}
	payload = g->m + g->off + PH_SPOOL_HEADER;
	rec->done = memcmp(g->m + g->off, PH_SPOOL_DONE, 4) == 0;
	for (i = 0; i < 8; i++)
		rec->received_at |= (uint64_t)payload[i] << (8 * i);
	nlen = payload[8];
	memcpy(rec->provider, payload + 9, nlen);
	rec->provider[nlen] = '\0';
	rec->body = (const char *)payload + 9 + nlen;
	rec->len = plen - 9 - nlen;
	g->off += PH_SPOOL_HEADER + plen;
	return PH_SPOOL_RECORD;
}

/* Mark a record replayed: its magic becomes PH_SPOOL_DONE. */
int
spool_segment_mark(struct ph_segment *g, size_t off)
{
	ssize_t n;

	do
		n = pwrite(g->fd, PH_SPOOL_DONE, 4, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n == 4 ? 0 : -1;
}

/* How long ago the segment was last written or marked. */
int64_t
spool_segment_idle_ms(const struct ph_segment *g)
{
	struct stat st;
	int64_t mtime, now = (int64_t)ph_now_ms();

	if (fstat(g->fd, &st) != 0)
		return 0;
	mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return now > mtime ? now - mtime : 0;
}

/* Select segment names. */
static int
spool_is_segment(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 4 && strcmp(d->d_name + len - 4, ".seg") == 0;
}

/* Select temporary names. */
static int
spool_is_tmp(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] == '.' && len > 4 && strcmp(d->d_name + len - 4, ".tmp") == 0;
}

/* Remove what a process left while it created a segment (empty, unlocked, old). */
static void
spool_clean_tmp(const char *dir)
{
	struct dirent **names;
	char path[PATH_MAX];
	struct stat st;
	int n, i, fd;

	n = scandir(dir, &names, spool_is_tmp, alphasort);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    st.st_size == 0 && st.st_mtime + SPOOL_TMP_STALE_S < time(NULL))
			unlink(path);
		if (fd >= 0)
			close(fd);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* Take each segment no live process holds, oldest first, and hand it to fn. */
enum ph_spool_replay
spool_each_segment(const char *dir, enum ph_segment_verdict (*fn)(struct ph_segment *, void *),
    void *arg, char *err, size_t errlen)
{
	struct dirent **names;
	struct ph_segment g;
	struct stat a, b;
	enum ph_spool_replay rc = PH_REPLAY_DONE;
	enum ph_segment_verdict v;
	int n, i;

	n = scandir(dir, &names, spool_is_segment, alphasort);
	if (n < 0) {
		snprintf(err, errlen, "spool_dir %s: %s", dir, strerror(errno));
		return PH_REPLAY_FAILED;
	}
	for (i = 0; i < n; i++) {
		if (rc != PH_REPLAY_DONE)
			goto next;
		memset(&g, 0, sizeof g);
		snprintf(g.path, sizeof g.path, "%s/%s", dir, names[i]->d_name);
		/* Read-write: replayed records are marked in place. */
		g.fd = open(g.path, O_RDWR | O_CLOEXEC);
		if (g.fd < 0 && errno == ENOENT)
			goto next; /* replayed and removed by another process meanwhile */
		if (g.fd < 0) {
			/* Not ours to replay (EACCES: payhookctl run as another user). */
			snprintf(err, errlen, "spool: %s: %s", g.path, strerror(errno));
			rc = PH_REPLAY_FAILED;
			goto next;
		}
		/* Held: a live process writes it, or another replays it. */
		if (flock(g.fd, LOCK_EX | LOCK_NB) != 0) {
			close(g.fd);
			goto next;
		}
		/* Removed (and maybe made anew) between our open and our lock: not ours. */
		if (fstat(g.fd, &a) != 0 || stat(g.path, &b) != 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			close(g.fd);
			goto next;
		}
		g.size = (size_t)a.st_size;
		g.m = NULL;
		if (g.size > 0) {
			g.m = mmap(NULL, g.size, PROT_READ, MAP_SHARED, g.fd, 0);
			if (g.m == MAP_FAILED) {
				snprintf(err, errlen, "spool: mmap %s: %s", g.path,
				    strerror(errno));
				close(g.fd);
				rc = PH_REPLAY_FAILED;
				goto next;
			}
		}
		v = fn(&g, arg);
		if (g.m != NULL)
			munmap((void *)g.m, g.size);
		/* Deleted, not truncated: a drained spool holds no files. */
		if (v == PH_SEGMENT_REMOVE && unlink(g.path) != 0)
			log_warn("spool_unlink", "segment=%s reason=\"%s\"", g.path,
			    strerror(errno));
		if (v == PH_SEGMENT_STOP)
			rc = PH_REPLAY_REDIS_DOWN;
		close(g.fd);
next:
		free(names[i]);
	}
	free(names);
	spool_clean_tmp(dir);
	return rc;
}

/* Scan a directory's segments. */
int
spool_status(const char *dir, struct ph_spool_status *st)
{
	struct dirent **names;
	char path[PATH_MAX];
	struct stat sb;
	uint64_t now = ph_now_ms(), ms;
	int n, i;

	memset(st, 0, sizeof *st);
	st->oldest_ms = -1;
	n = scandir(dir, &names, spool_is_segment, alphasort);
	if (n < 0)
		return -1;
	st->writable = access(dir, W_OK | X_OK) == 0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (stat(path, &sb) == 0) {
			st->segments++;
			st->bytes += sb.st_size;
			/* Names sort by creation time: the first one is the oldest. */
			ms = strtoull(names[i]->d_name, NULL, 10);
			if (st->oldest_ms < 0 && sb.st_size > 0)
				st->oldest_ms = ms <= now ? (int64_t)(now - ms) : 0;
		}
		free(names[i]);
	}
	free(names);
	return 0;
}
