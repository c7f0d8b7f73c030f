/*
 * test_st_repair — fenced ranges mended in place with another replica's bytes (st_repair.c,
 * THE RULE FOR A REPAIR) and truncation at a fence (st_replica.c): a bit flipped in a sealed
 * segment is fenced by the scrubber, st_log_fenced_next finds it (in a dormant log too), the
 * good bytes repair it (served again, the fenced file gone, the scrubber content, across a
 * restart), and every wrong offer is refused with nothing changed: another length, a bad CRC,
 * other offsets, a valid batch whose bytes are not the sealed ones (digest), a range in the
 * active segment, a range not fenced; a compacted topic's segment without its digest sidecar
 * (-EINPROGRESS: asked again, not a lasting refusal); two ranges in one digest chunk (refused in
 * a compacted topic; otherwise the first without that chunk's digest, the second with it).
 * st_log_truncate at or inside a fence cuts at its start.
 */
#include "kp_crc32c.h"
#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static char msgs[1 << 16];

static void on_msg(void *arg, const char *msg)
{
    (void)arg;
    strncat(msgs, msg, sizeof(msgs) - strlen(msgs) - 2);
    strcat(msgs, "\n");
}

static void on_store_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)level;
    on_msg(arg, msg);
}

struct batch {
    int64_t seg, pos, size, off, last;
};
static struct batch batches[4096];
static int nbatches;

static void open_store(void)
{
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_store_msg, NULL, NULL, &store), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log_);
}

static void close_store(void)
{
    st_log_put(log_);
    log_ = NULL;
    st_store_close(store);
    store = NULL;
}

static void map_batches(void)
{
    nbatches = 0;
    struct st_segvec *v = atomic_load(&log_->segs);
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        int64_t size = atomic_load(&s->size), pos = 0;
        while (pos < size) {
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            ck_assert_int_eq(tst_seg_pread(s, b, sizeof(b), pos), (ssize_t)sizeof(b));
            ck_assert_int_eq(kp_batch_parse_hdr(b, sizeof(b), &h), 0);
            ck_assert_int_lt(nbatches, 4096);
            batches[nbatches++] =
                (struct batch){s->base, pos, (int64_t)kp_batch_size(&h), h.base_offset,
                               h.base_offset + h.last_offset_delta};
            pos += (int64_t)kp_batch_size(&h);
        }
    }
}

/* Several sealed segments (digested) and an active one, all synced. */
static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    msgs[0] = 0;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 200000;
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    uint64_t rng = 11;
    for (int i = 0; i < 120; i++)
        tst_append1(log_, 1 + (int)(tst_rand(&rng) % 4), 50 + tst_rand(&rng) % 6000, i, 1);
    tst_wait_settled(log_);
    ck_assert_int_ge(atomic_load(&log_->segs)->n, 3);
    map_batches();
}

static void teardown(void)
{
    if (store)
        close_store();
    tst_rmrf(dir);
}

static char *seg_path(const struct batch *b, char *path, size_t cap)
{
    snprintf(path, cap, "%s/t-0/%020lld.log", dir, (long long)b->seg);
    return path;
}

/* The batch's bytes as they are in its file now (malloc'd). */
static uint8_t *bytes_of(const struct batch *b)
{
    char path[512];
    int fd = open(seg_path(b, path, sizeof path), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    uint8_t *x = malloc((size_t)b->size);
    ck_assert_int_eq(pread(fd, x, (size_t)b->size, b->pos), b->size);
    close(fd);
    return x;
}

static void flip(const struct batch *b, int64_t at)
{
    char path[512];
    int fd = open(seg_path(b, path, sizeof path), O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t x;
    ck_assert_int_eq(pread(fd, &x, 1, b->pos + at), 1);
    x ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &x, 1, b->pos + at), 1);
    close(fd);
}

/* Flips a byte of batch k and lets the scrubber fence it; its good bytes (malloc'd). */
static uint8_t *fence_batch(int k)
{
    uint8_t *good = bytes_of(&batches[k]);
    flip(&batches[k], batches[k].size / 2);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 1, "fenced %lld\n%s", (long long)rep.fenced, msgs);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log_, batches[k].off, 1, &rd), -EBADMSG);
    return good;
}

static bool fenced_file_exists(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t-0/fenced", dir);
    return access(path, F_OK) == 0;
}

/* Every offset of the log reads back, whole valid batches, no error. */
static void read_all(void)
{
    int64_t off = st_log_start_offset(log_), end = st_log_end_offset(log_);
    while (off < end) {
        struct st_read rd;
        ck_assert_msg(st_log_read(log_, off, 64 * 1024, &rd) == 0, "offset %lld", (long long)off);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        st_read_release(&rd);
        ck_assert_int_gt(seen.next, off);
        off = seen.next;
    }
}

START_TEST(t_repair_with_the_good_bytes)
{
    int k = 4; /* in the first, sealed segment */
    ck_assert_int_ne(batches[k].seg, batches[nbatches - 1].seg);
    uint8_t *good = fence_batch(k);
    ck_assert(fenced_file_exists());

    /* found after a clean restart (dormant or not, the range is there) */
    close_store();
    open_store();
    struct st_fenced_range fr;
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 1);
    ck_assert_int_eq(fr.seg_base, batches[k].seg);
    ck_assert_int_eq(fr.off_lo, batches[k].off);
    ck_assert_int_eq(fr.off_hi, batches[k].last + 1);
    ck_assert_int_eq(fr.pos_lo, batches[k].pos);
    ck_assert_int_eq(fr.pos_hi, batches[k].pos + batches[k].size);
    ck_assert(fr.sealed);
    ck_assert_int_eq(st_log_fenced_next(log_, fr.off_hi, &fr), 0); /* nothing above it */

    int perr = -1;
    ck_assert_int_eq(st_log_repair(log_, batches[k].off, good, (size_t)batches[k].size, &perr), 0);
    ck_assert_int_eq(perr, 0);
    ck_assert(!fenced_file_exists()); /* nothing fenced any more */
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 0);
    struct st_log_stats ls;
    st_log_stats(log_, &ls);
    ck_assert_int_eq(ls.fenced_ranges, 0);
    read_all();
    uint8_t *now = bytes_of(&batches[k]);
    ck_assert_int_eq(memcmp(now, good, (size_t)batches[k].size), 0);
    free(now);
    /* the scrubber finds the segment whole again */
    msgs[0] = 0;
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 0 && msgs[0] == 0, "%s", msgs);
    /* a second repair of it: nothing fenced there */
    ck_assert_int_eq(st_log_repair(log_, batches[k].off, good, (size_t)batches[k].size, &perr),
                     -ENOENT);
    /* a clean restart and a crash: still whole, nothing fenced */
    close_store();
    open_store();
    read_all();
    close_store();
    tst_store_unclean(dir);
    open_store();
    read_all();
    st_log_stats(log_, &ls);
    ck_assert_int_eq(ls.fenced_ranges, 0);
    free(good);
}
END_TEST

START_TEST(t_wrong_bytes_are_refused)
{
    int k = 6;
    uint8_t *good = fence_batch(k);
    size_t n = (size_t)batches[k].size;
    int64_t off = batches[k].off;
    int perr;
    /* another length (a compacted replica's batch, say) */
    ck_assert_int_eq(st_log_repair(log_, off, good, n - 1, &perr), -EMSGSIZE);
    uint8_t *longer = calloc(1, n + 61);
    memcpy(longer, good, n);
    ck_assert_int_eq(st_log_repair(log_, off, longer, n + 61, &perr), -EMSGSIZE);
    free(longer);
    /* a bad CRC */
    uint8_t *x = malloc(n);
    memcpy(x, good, n);
    x[n - 3] ^= 1;
    ck_assert_int_eq(st_log_repair(log_, off, x, n, &perr), -EBADMSG);
    /* other offsets: the same batch with another baseOffset (outside the CRC) */
    memcpy(x, good, n);
    kp_store_be64(x, (uint64_t)(off + 1));
    ck_assert_int_eq(st_log_repair(log_, off, x, n, &perr), -EBADMSG);
    /* a good batch with the right offsets whose bytes are not the ones sealed: the digest */
    memcpy(x, good, n);
    kp_store_be64(x + KP_BATCH_OFF_BASE_TIMESTAMP,
                  kp_load_be64(x + KP_BATCH_OFF_BASE_TIMESTAMP) + 1);
    kp_store_be32(x + 17, kp_crc32c(0, x + 21, n - 21));
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(x, n, 0, &h), 0);
    ck_assert_int_eq(st_log_repair(log_, off, x, n, &perr), -EILSEQ);
    /* a transaction's batch (attributes transactional, CRC good): not replayed into producer
     * state by a repair, so refused */
    memcpy(x, good, n);
    kp_store_be16(x + 21, (uint16_t)(kp_load_be16(x + 21) | KP_BATCH_ATTR_TRANSACTIONAL));
    kp_store_be32(x + 17, kp_crc32c(0, x + 21, n - 21));
    ck_assert_int_eq(kp_batch_validate(x, n, 0, &h), 0);
    ck_assert_int_eq(st_log_repair(log_, off, x, n, &perr), -EOPNOTSUPP);
    /* not the start of a fenced range */
    ck_assert_int_eq(
        st_log_repair(log_, off + 1 <= batches[k].last ? off + 1 : off - 1, good, n, &perr),
        -ENOENT);
    free(x);
    /* nothing changed: still fenced, in the file too */
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log_, off, 1, &rd), -EBADMSG);
    ck_assert(fenced_file_exists());
    ck_assert_int_eq(st_log_repair(log_, off, good, n, &perr), 0);
    read_all();
    free(good);
}
END_TEST

START_TEST(t_two_ranges_in_one_digest_chunk)
{
    /* two fenced ranges of one sealed segment (< 1 MiB: one chunk), not neighbours */
    int a = 2, b = 7;
    ck_assert_int_eq(batches[a].seg, batches[b].seg);
    ck_assert_int_ne(batches[b].seg, batches[nbatches - 1].seg);
    uint8_t *ga = bytes_of(&batches[a]), *gb = bytes_of(&batches[b]);
    flip(&batches[a], batches[a].size / 2);
    flip(&batches[b], batches[b].size / 2);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 2, "fenced %lld\n%s", (long long)rep.fenced, msgs);
    int perr;
    /* compacted: the chunk cannot be checked while the other range is bad, so not copied */
    __atomic_store_n(&log_->cfg.cleanup_policy, ST_CLEANUP_COMPACT, __ATOMIC_RELAXED);
    ck_assert_int_eq(st_log_repair(log_, batches[a].off, ga, (size_t)batches[a].size, &perr),
                     -EXDEV);
    __atomic_store_n(&log_->cfg.cleanup_policy, ST_CLEANUP_DELETE, __ATOMIC_RELAXED);
    /* not compacted: the first without the shared chunk's digest, the second with it */
    ck_assert_int_eq(st_log_repair(log_, batches[a].off, ga, (size_t)batches[a].size, &perr), 0);
    struct st_fenced_range fr;
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 1);
    ck_assert_int_eq(fr.off_lo, batches[b].off);
    /* (a wrong offer for the second is now caught by the digest, which includes the first) */
    uint8_t *x = malloc((size_t)batches[b].size);
    memcpy(x, gb, (size_t)batches[b].size);
    kp_store_be64(x + KP_BATCH_OFF_BASE_TIMESTAMP,
                  kp_load_be64(x + KP_BATCH_OFF_BASE_TIMESTAMP) + 1);
    kp_store_be32(x + 17, kp_crc32c(0, x + 21, (size_t)batches[b].size - 21));
    ck_assert_int_eq(st_log_repair(log_, batches[b].off, x, (size_t)batches[b].size, &perr),
                     -EILSEQ);
    free(x);
    ck_assert_int_eq(st_log_repair(log_, batches[b].off, gb, (size_t)batches[b].size, &perr), 0);
    ck_assert(!fenced_file_exists());
    read_all();
    msgs[0] = 0;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 0 && msgs[0] == 0, "%s", msgs);
    free(ga);
    free(gb);
}
END_TEST

START_TEST(t_compacted_without_a_sidecar_waits)
{
    /* a sealed segment whose .digest is not there (the flusher writes it after the roll's
     * sync): refused for now in a compacted topic, not as a lasting refusal */
    int k = 2;
    ck_assert_int_ne(batches[k].seg, batches[nbatches - 1].seg);
    uint8_t *good = fence_batch(k);
    char path[512];
    snprintf(path, sizeof path, "%s/t-0/%020lld.digest", dir, (long long)batches[k].seg);
    ck_assert_int_eq(unlink(path), 0);
    int perr;
    __atomic_store_n(&log_->cfg.cleanup_policy, ST_CLEANUP_COMPACT, __ATOMIC_RELAXED);
    ck_assert_int_eq(st_log_repair(log_, batches[k].off, good, (size_t)batches[k].size, &perr),
                     -EINPROGRESS);
    __atomic_store_n(&log_->cfg.cleanup_policy, ST_CLEANUP_DELETE, __ATOMIC_RELAXED);
    /* not compacted: the batch checks suffice (replicas are byte-identical) */
    ck_assert_int_eq(st_log_repair(log_, batches[k].off, good, (size_t)batches[k].size, &perr), 0);
    read_all();
    free(good);
}
END_TEST

START_TEST(t_active_segment_waits_for_its_roll)
{
    int k = nbatches - 2; /* the active segment, synced: the scrubber checks it to its mark */
    ck_assert_int_eq(batches[k].seg, batches[nbatches - 1].seg);
    uint8_t *good = fence_batch(k);
    int perr;
    ck_assert_int_eq(st_log_repair(log_, batches[k].off, good, (size_t)batches[k].size, &perr),
                     -EAGAIN);
    /* (told without a repair: a follower does not fetch it until the roll) */
    struct st_fenced_range fr;
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 1);
    ck_assert_int_eq(fr.off_lo, batches[k].off);
    ck_assert(!fr.sealed);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log_, batches[k].off, 1, &rd), -EBADMSG);
    free(good);
}
END_TEST

START_TEST(t_truncate_at_a_fence_cuts_at_its_start)
{
    /* a batch of several records in a sealed segment below the last one */
    int k = -1;
    for (int i = 1; i < nbatches && k < 0; i++)
        if (batches[i].last > batches[i].off && batches[i].seg == batches[0].seg)
            k = i;
    ck_assert_int_ge(k, 0);
    free(fence_batch(k));
    /* inside the range: the cut is at its first offset */
    ck_assert_int_eq(st_log_truncate(log_, batches[k].off + 1), 0);
    ck_assert_int_eq(st_log_end_offset(log_), batches[k].off);
    ck_assert(!fenced_file_exists());
    struct st_fenced_range fr;
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 0);
    read_all();
    /* appends go on from there, and a crash brings nothing back */
    ck_assert_int_eq(tst_append1(log_, 2, 100, 1000, 1), batches[k].off);
    tst_wait_settled(log_);
    close_store();
    tst_store_unclean(dir);
    open_store();
    ck_assert_int_eq(st_log_end_offset(log_), batches[k].off + 2);
    read_all();
}
END_TEST

START_TEST(t_truncate_at_a_fence_first_offset)
{
    int k = 9;
    free(fence_batch(k));
    ck_assert_int_eq(st_log_truncate(log_, batches[k].off), 0);
    ck_assert_int_eq(st_log_end_offset(log_), batches[k].off);
    ck_assert(!fenced_file_exists());
    read_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_repair");
    TCase *tc = tcase_create("repair");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_repair_with_the_good_bytes);
    tcase_add_test(tc, t_wrong_bytes_are_refused);
    tcase_add_test(tc, t_two_ranges_in_one_digest_chunk);
    tcase_add_test(tc, t_compacted_without_a_sidecar_waits);
    tcase_add_test(tc, t_active_segment_waits_for_its_roll);
    tcase_add_test(tc, t_truncate_at_a_fence_cuts_at_its_start);
    tcase_add_test(tc, t_truncate_at_a_fence_first_offset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
