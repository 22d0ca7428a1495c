/*
 * load: load jobs (E9 submit, E10 progress, E11 stop; ../shared/ALLUXIO-PROTOCOL.md 3.4), a
 * small warm-up engine: every page of every object under a path is read through core/route
 * (local_only: from the page stores, else the UFS, and then cached), so later reads of them
 * are served from this worker.
 *
 * A job is a record in one table shared by every loop (a mutex; jobs keyed by their path, the
 * finished ones kept for progress queries, WORKER_API_LOAD_JOBS_MAX at most, the oldest finished
 * one dropped first), and a run: the engine, owned by the loop that took the submit, which drives
 * it from route and UFS callbacks alone (nothing blocks). The run asks for P's metadata first:
 * an object is loaded alone; otherwise everything under P + "/" (the whole bucket for a bucket
 * root) is listed without a delimiter, one page of at most 1000 keys at a time, and each
 * object's metadata and then pages are asked for with at most WORKER_API_LOAD_PAGES_IN_FLIGHT pages
 * in flight per job. Memory per job: one list page and the files with pages in flight.
 *
 * States: RUNNING until the run ends; then SUCCEEDED (every file loaded), FAILED (a file or the
 * listing failed, or P does not exist), or STOPPED (stop was asked: the job shows STOPPED at
 * once, its run finishes the pages in flight and asks for no more). A submit for a path whose
 * job is RUNNING is refused (success false); after it ended, a submit starts a new job.
 */
#include "internal.h"

#include "../../core/log.h"
#include "../../core/loop.h"
#include "../../core/pages.h"
#include "../../core/ufs/s3_list.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WORKER_API_LOAD_JOBS_MAX        256     /* jobs remembered, running or finished */
#define WORKER_API_LOAD_PAGES_IN_FLIGHT 8       /* page reads in flight per job */
#define WORKER_API_LOAD_LIST_PAGES_MAX  1000000 /* list pages followed by one job (10^9 keys) */
#define WORKER_API_LOAD_MESSAGE_MAX     256
#define WORKER_API_LOAD_STEPS_PER_TURN                                                             \
    256 /* pages found cached in one go before the run yields                                      \
         */

enum worker_api_load_state {
    WORKER_API_LOAD_RUNNING,   /* its run is going */
    WORKER_API_LOAD_SUCCEEDED, /* every file under the path was loaded */
    WORKER_API_LOAD_FAILED,    /* something could not be loaded (see message) */
    WORKER_API_LOAD_STOPPED,   /* stopped on request */
};

static const char *const worker_api_load_state_names[] = {"RUNNING", "SUCCEEDED", "FAILED",
                                                          "STOPPED"};

/* A job as the table knows it. Every field but stop is read and written under the table lock. */
struct worker_api_load_job {
    unsigned refs; /* the table's and the run's */
    char *path;
    size_t path_len;
    char id[37];
    enum worker_api_load_state state;
    atomic_bool stop;
    uint64_t seq; /* submit order */
    uint64_t files_done, files_failed, pages_failed, bytes_loaded;
    char message[WORKER_API_LOAD_MESSAGE_MAX]; /* why it failed; "" otherwise */
};

struct worker_api_load_run;

struct worker_api_loads {
    pthread_mutex_t lock;
    struct worker_api_load_job *jobs[WORKER_API_LOAD_JOBS_MAX];
    size_t count;
    uint64_t seq;
    struct worker_api_load_run *runs; /* every run not finished, on any loop */
};

/* One object being loaded. */
struct worker_api_load_file {
    struct worker_api_load_file *prev, *next; /* the run's live files */
    struct worker_api_load_run *run;
    char *path; /* full UFS path */
    size_t path_len;
    const char *key; /* into path */
    size_t key_len;
    struct meta *meta; /* NULL until its metadata came */
    uint64_t next_page, pages;
    unsigned refs; /* pages in flight, plus one while it is the run's current file */
    bool failed;
};

/* The engine of one job; loop-owned. */
struct worker_api_load_run {
    struct worker_api_load_run *prev, *next; /* in worker_api_loads.runs */
    struct worker_api *w;
    struct loop *loop;
    struct worker_api_load_job *job;
    char *bucket;
    char *prefix; /* listed prefix: "" for a bucket root, else ending in '/' */
    size_t prefix_len;
    bool root;   /* the path is a bucket root */
    char *token; /* continuation token of the next list page */
    unsigned long list_pages;
    bool listing;   /* a list call in flight */
    bool list_done; /* no more list pages to ask for */
    bool saw_any;   /* anything found under the path */
    struct s3_list_result page;
    size_t next_entry;
    struct worker_api_load_file *cur; /* the file whose pages are asked for next */
    struct worker_api_load_file *files;
    unsigned in_flight;       /* route calls (metadata, pages) and the yield timer to come back */
    unsigned pages_in_flight; /* of which page reads */
    struct loop_timer yield;  /* resumes a run that found many pages cached in one turn */
    char error[WORKER_API_LOAD_MESSAGE_MAX];
};

/* --- the table ---------------------------------------------------------------------------- */

struct worker_api_loads *worker_api_loads_create(void)
{
    struct worker_api_loads *l = calloc(1, sizeof(*l));
    if (l)
        pthread_mutex_init(&l->lock, NULL);
    return l;
}

static void worker_api_load_job_unref_locked(struct worker_api_load_job *j)
{
    if (--j->refs == 0) {
        free(j->path);
        free(j);
    }
}

static void worker_api_load_run_free(struct worker_api_load_run *run);

void worker_api_loads_destroy(struct worker_api_loads *l)
{
    if (!l)
        return;
    /* Loops are gone: runs still listed will never hear back; free what they hold. */
    while (l->runs) {
        struct worker_api_load_run *run = l->runs;
        l->runs = run->next;
        worker_api_load_job_unref_locked(run->job);
        worker_api_load_run_free(run);
    }
    for (size_t i = 0; i < l->count; i++)
        worker_api_load_job_unref_locked(l->jobs[i]);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void worker_api_loads_stop_all(struct worker_api_loads *l)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->count; i++) {
        struct worker_api_load_job *j = l->jobs[i];
        if (j->state != WORKER_API_LOAD_RUNNING)
            continue;
        atomic_store(&j->stop, true);
        j->state = WORKER_API_LOAD_STOPPED;
        snprintf(j->message, sizeof(j->message), "the worker is shutting down");
    }
    pthread_mutex_unlock(&l->lock);
}

static struct worker_api_load_job *
worker_api_load_find_locked(struct worker_api_loads *l, const char *path, size_t len, size_t *index)
{
    for (size_t i = 0; i < l->count; i++) {
        struct worker_api_load_job *j = l->jobs[i];
        if (j->path_len == len && memcmp(j->path, path, len) == 0) {
            if (index)
                *index = i;
            return j;
        }
    }
    return NULL;
}

static void worker_api_load_remove_locked(struct worker_api_loads *l, size_t i)
{
    worker_api_load_job_unref_locked(l->jobs[i]);
    l->jobs[i] = l->jobs[--l->count];
}

/* Room for one more job: drop the oldest finished one when full. false when all run. */
static bool worker_api_load_make_room_locked(struct worker_api_loads *l)
{
    if (l->count < WORKER_API_LOAD_JOBS_MAX)
        return true;
    size_t oldest = SIZE_MAX;
    for (size_t i = 0; i < l->count; i++) {
        if (l->jobs[i]->state != WORKER_API_LOAD_RUNNING &&
            (oldest == SIZE_MAX || l->jobs[i]->seq < l->jobs[oldest]->seq))
            oldest = i;
    }
    if (oldest == SIZE_MAX)
        return false;
    worker_api_load_remove_locked(l, oldest);
    return true;
}

static void worker_api_load_new_id(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != sizeof(b)) {
        static atomic_uint_fast64_t fallback;
        uint64_t n = atomic_fetch_add(&fallback, 1) + 1;
        memset(b, 0, sizeof(b));
        memcpy(b, &n, sizeof(n));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* UUID version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* --- the run ------------------------------------------------------------------------------ */

static void worker_api_load_run_free(struct worker_api_load_run *run)
{
    while (run->files) {
        struct worker_api_load_file *f = run->files;
        run->files = f->next;
        meta_unref(f->meta);
        free(f->path);
        free(f);
    }
    s3_list_result_free(&run->page);
    free(run->bucket);
    free(run->prefix);
    free(run->token);
    free(run);
}

static void worker_api_load_count(struct worker_api_load_run *run, uint64_t bytes, bool page_failed)
{
    struct worker_api_loads *l = run->w->loads;
    pthread_mutex_lock(&l->lock);
    run->job->bytes_loaded += bytes;
    run->job->pages_failed += page_failed;
    pthread_mutex_unlock(&l->lock);
}

static void worker_api_load_fail(struct worker_api_load_run *run, const char *fmt, const char *what)
{
    if (!run->error[0])
        snprintf(run->error, sizeof(run->error), fmt, what);
}

/* The run is over: settle the job's state and free the run. */
static void worker_api_load_finish(struct worker_api_load_run *run)
{
    struct worker_api_loads *l = run->w->loads;
    bool root = run->root;
    pthread_mutex_lock(&l->lock);
    struct worker_api_load_job *j = run->job;
    if (j->state == WORKER_API_LOAD_RUNNING) {
        if (atomic_load(&j->stop)) {
            j->state = WORKER_API_LOAD_STOPPED;
        } else if (run->error[0] || j->files_failed) {
            j->state = WORKER_API_LOAD_FAILED;
            snprintf(j->message, sizeof(j->message), "%s",
                     run->error[0] ? run->error : "some files could not be loaded");
        } else if (!run->saw_any && !root) {
            j->state = WORKER_API_LOAD_FAILED;
            snprintf(j->message, sizeof(j->message), "the path does not exist");
        } else {
            j->state = WORKER_API_LOAD_SUCCEEDED;
        }
    }
    if (run->prev)
        run->prev->next = run->next;
    else
        l->runs = run->next;
    if (run->next)
        run->next->prev = run->prev;
    worker_api_load_job_unref_locked(j);
    pthread_mutex_unlock(&l->lock);
    worker_api_load_run_free(run);
}

/* One reference of f less; at zero the file is done (loaded, or failed). */
static void worker_api_load_file_release(struct worker_api_load_file *f)
{
    if (--f->refs)
        return;
    struct worker_api_load_run *run = f->run;
    struct worker_api_loads *l = run->w->loads;
    pthread_mutex_lock(&l->lock);
    if (f->failed)
        run->job->files_failed++;
    else
        run->job->files_done++;
    pthread_mutex_unlock(&l->lock);
    if (f->prev)
        f->prev->next = f->next;
    else
        run->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    meta_unref(f->meta);
    free(f->path);
    free(f);
}

static void worker_api_load_page_done(struct worker_api_load_file *f, enum ufs_status st,
                                      struct page *page)
{
    struct worker_api_load_run *run = f->run;
    if (st == UFS_OK && page) {
        worker_api_load_count(run, page->len, false);
    } else {
        if (st == UFS_CHANGED || st == UFS_NO_SUCH_KEY)
            worker_api_forget_object(run->w, f->path, f->path_len);
        f->failed = true;
        worker_api_load_count(run, 0, true);
    }
    page_unref(page);
    worker_api_load_file_release(f);
}

static void worker_api_load_pump(struct worker_api_load_run *run);

static void worker_api_load_page_cb(void *arg, uint64_t index, enum ufs_status st,
                                    struct page *page)
{
    (void)index;
    struct worker_api_load_file *f = arg;
    struct worker_api_load_run *run = f->run;
    run->in_flight--;
    run->pages_in_flight--;
    worker_api_load_page_done(f, st, page);
    worker_api_load_pump(run);
}

static void worker_api_load_file_meta(struct worker_api_load_file *f, enum ufs_status st,
                                      struct meta *m)
{
    struct worker_api_load_run *run = f->run;
    if (st == UFS_OK && m) {
        f->meta = m;
        f->pages = pages_count(m->size, run->w->page_size);
        worker_api_remember_path(run->w, f->path, f->path_len);
        return;
    }
    meta_unref(m);
    f->failed = true;
    if (run->cur == f)
        run->cur = NULL;
    worker_api_load_file_release(f);
}

static void worker_api_load_meta_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct worker_api_load_file *f = arg;
    struct worker_api_load_run *run = f->run;
    run->in_flight--;
    worker_api_load_file_meta(f, st, m);
    worker_api_load_pump(run);
}

/* A file for key (len bytes) of the run's bucket, as the current file. */
static struct worker_api_load_file *worker_api_load_file_new(struct worker_api_load_run *run,
                                                             const char *key, size_t len)
{
    struct worker_api_load_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->path = ufs_object_path(run->w->ufs, run->bucket, key, len, &f->path_len);
    if (!f->path) {
        free(f);
        return NULL;
    }
    f->key = f->path + f->path_len - len; /* the key is the path's tail */
    f->key_len = len;
    f->run = run;
    f->refs = 1;
    f->next = run->files;
    if (run->files)
        run->files->prev = f;
    run->files = f;
    run->cur = f;
    return f;
}

/* Ask for f's metadata (f is the current file). */
static void worker_api_load_file_start(struct worker_api_load_run *run,
                                       struct worker_api_load_file *f)
{
    run->in_flight++;
    struct meta *m = route_read_meta(run->w->route, run->loop, run->bucket, f->key, f->key_len,
                                     f->path, f->path_len, worker_api_load_meta_cb, f);
    if (m) {
        run->in_flight--;
        worker_api_load_file_meta(f, UFS_OK, m);
    }
}

static void worker_api_load_list_cb(void *arg, struct ufs_reply *reply);

static void worker_api_load_list(struct worker_api_load_run *run)
{
    struct ufs_list_params p = {
        .version = 2,
        .prefix = run->prefix_len ? run->prefix : NULL,
        .continuation_token = run->token,
        .max_keys = LIST_MAX_KEYS_DEFAULT,
        .encoding_url = true,
    };
    run->listing = true;
    struct ufs *u = run->w->ufs;
    u->ops->list_objects(u, run->loop, run->bucket, "", &p, worker_api_load_list_cb, run);
}

static void worker_api_load_list_cb(void *arg, struct ufs_reply *reply)
{
    struct worker_api_load_run *run = arg;
    run->listing = false;
    enum ufs_status st = reply ? reply->status : UFS_ERROR;
    struct s3_list_result res;
    memset(&res, 0, sizeof(res));
    if (st == UFS_OK &&
        s3_list_parse(reply->body.data ? reply->body.data : "", reply->body.len, &res) != 0)
        st = UFS_ERROR;
    ufs_reply_free(reply);
    if (st != UFS_OK) {
        worker_api_load_fail(run, "listing the path failed (%s)", ufs_status_name(st));
        run->list_done = true;
    } else {
        s3_list_result_free(&run->page);
        run->page = res;
        run->next_entry = 0;
        run->saw_any |= res.count > 0;
        bool more = res.truncated && res.next_token && res.next_token[0] &&
                    !(run->token && strcmp(run->token, res.next_token) == 0) &&
                    ++run->list_pages < WORKER_API_LOAD_LIST_PAGES_MAX;
        if (res.truncated && !more)
            worker_api_load_fail(run, "%s", "the UFS listing could not be followed to its end");
        if (more) {
            free(run->token);
            run->token = run->page.next_token;
            run->page.next_token = NULL;
        } else {
            run->list_done = true;
        }
    }
    worker_api_load_pump(run);
}

/* Drive the run as far as it can go now; finish it when nothing is left. */
static void worker_api_load_pump(struct worker_api_load_run *run)
{
    struct worker_api *w = run->w;
    bool stop = atomic_load(&run->job->stop);
    unsigned steps = 0;
    while (!stop) {
        if (++steps > WORKER_API_LOAD_STEPS_PER_TURN) {
            /* Everything was cached so far: let the loop serve others before going on (a
             * timer, not loop_defer, whose calls run before the loop looks at I/O again). */
            run->in_flight++;
            loop_timer_arm(run->loop, &run->yield, 0);
            return;
        }
        struct worker_api_load_file *f = run->cur;
        if (f && !f->meta)
            break; /* its metadata is on the way */
        if (f && f->next_page < f->pages) {
            if (run->pages_in_flight >= WORKER_API_LOAD_PAGES_IN_FLIGHT)
                break;
            struct route_object o = {
                .bucket = run->bucket,
                .key = f->key,
                .key_len = f->key_len,
                .path = f->path,
                .path_len = f->path_len,
                .size = f->meta->size,
                .etag = f->meta->etag ? f->meta->etag : "",
                .local_only = true,
            };
            uint64_t index = f->next_page++;
            f->refs++;
            run->in_flight++;
            run->pages_in_flight++;
            struct page *page =
                route_read_page(w->route, run->loop, &o, index, worker_api_load_page_cb, f);
            if (page) {
                run->in_flight--;
                run->pages_in_flight--;
                worker_api_load_page_done(f, UFS_OK, page);
            }
            continue;
        }
        if (f) {
            /* Every page asked for: the file finishes with its last page. */
            run->cur = NULL;
            worker_api_load_file_release(f);
            continue;
        }
        if (run->next_entry < run->page.count) {
            const struct list_xml_entry *e = &run->page.entries[run->next_entry++];
            /* Directory markers ("dir/", empty) and prefixes have no pages of their own. */
            if (e->is_prefix || (e->len && e->name[e->len - 1] == '/' && e->size == 0))
                continue;
            f = worker_api_load_file_new(run, e->name, e->len);
            if (!f) {
                worker_api_load_fail(run, "%s", "out of memory");
                stop = true;
                break;
            }
            worker_api_load_file_start(run, f);
            continue;
        }
        if (!run->list_done && !run->listing)
            worker_api_load_list(run);
        break;
    }
    bool idle = run->in_flight == 0 && !run->listing;
    bool drained = !run->cur && run->next_entry >= run->page.count && run->list_done;
    if (idle && (stop || drained)) {
        if (run->cur) {
            struct worker_api_load_file *f = run->cur;
            run->cur = NULL;
            f->failed = f->failed || f->next_page < f->pages || !f->meta;
            worker_api_load_file_release(f);
        }
        worker_api_load_finish(run);
    }
}

static void worker_api_load_resume(struct loop_timer *t)
{
    struct worker_api_load_run *run =
        (struct worker_api_load_run *)((char *)t - offsetof(struct worker_api_load_run, yield));
    run->in_flight--;
    worker_api_load_pump(run);
}

/* P itself: an object is loaded alone; else what is under P/. */
static void worker_api_load_head_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct worker_api_load_file *f = arg;
    struct worker_api_load_run *run = f->run;
    run->in_flight--;
    if (st == UFS_OK && m) {
        run->saw_any = true;
        run->list_done = true;
        worker_api_load_file_meta(f, st, m);
    } else {
        meta_unref(m);
        /* Not an object: drop f without counting it. */
        run->cur = NULL;
        if (f->prev)
            f->prev->next = f->next;
        else
            run->files = f->next;
        if (f->next)
            f->next->prev = f->prev;
        free(f->path);
        free(f);
        if (st != UFS_NO_SUCH_KEY) {
            worker_api_load_fail(run, "reading the path's metadata failed (%s)",
                                 ufs_status_name(st));
            run->list_done = true;
        }
    }
    worker_api_load_pump(run);
}

/* Start the run: P's metadata first when P may be an object, else the listing. */
static void worker_api_load_start(struct worker_api_load_run *run, const char *key, size_t key_len,
                                  bool head)
{
    if (head) {
        struct worker_api_load_file *f = worker_api_load_file_new(run, key, key_len);
        if (f) {
            run->in_flight++;
            struct meta *m =
                route_read_meta(run->w->route, run->loop, run->bucket, f->key, f->key_len, f->path,
                                f->path_len, worker_api_load_head_cb, f);
            if (m)
                worker_api_load_head_cb(f, UFS_OK, m);
            return;
        }
        worker_api_load_fail(run, "%s", "out of memory");
        run->list_done = true;
    }
    worker_api_load_pump(run);
}

/* --- requests ----------------------------------------------------------------------------- */

/* Add v to o under key; false (v freed) on failure. */
static bool worker_api_json_put(struct json_object *o, const char *key, struct json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

static void worker_api_load_answer(struct worker_api_request *r, struct json_object *o, bool ok)
{
    size_t len = 0;
    const char *s = ok ? json_object_to_json_string_length(
                             o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                       : NULL;
    if (s)
        worker_api_respond(r, 200, WORKER_API_CONTENT_TYPE_JSON, s, len);
    else
        worker_api_respond_message(r, 500, "out of memory");
    json_object_put(o);
}

/* {"success": ..., ["jobId": ...,] "path": P, "message": msg} (submit, stop) */
static void worker_api_load_reply(struct worker_api_request *r, bool success, const char *job_id,
                                  const char *msg)
{
    struct json_object *o = json_object_new_object();
    bool ok = o != NULL;
    ok = ok && worker_api_json_put(o, "success", json_object_new_boolean(success));
    if (job_id)
        ok = ok && worker_api_json_put(o, "jobId", json_object_new_string(job_id));
    ok = ok && worker_api_json_put(
                   o, "path", json_object_new_string_len(r->t.ufs_path, (int)r->t.ufs_path_len));
    ok = ok && worker_api_json_put(o, "message", json_object_new_string(msg));
    worker_api_load_answer(r, o, ok);
}

static void worker_api_load_submit(struct worker_api_request *r)
{
    struct worker_api *w = r->w;
    struct worker_api_loads *l = w->loads;
    const char *key = r->up.key;
    size_t k = r->up.key_len;
    bool root = k == 0, dir = root || key[k - 1] == '/';
    struct worker_api_load_job *j = calloc(1, sizeof(*j));
    struct worker_api_load_run *run = calloc(1, sizeof(*run));
    if (j)
        j->path = strndup(r->t.ufs_path, r->t.ufs_path_len);
    if (run) {
        run->bucket = strndup(r->up.bucket, r->up.bucket_len);
        run->prefix = malloc(k + 2);
    }
    if (!j || !j->path || !run || !run->bucket || !run->prefix) {
        if (j)
            free(j->path);
        free(j);
        if (run) {
            free(run->bucket);
            free(run->prefix);
        }
        free(run);
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    /* The listed prefix: "" for a bucket root, P when it ends in '/', else P + "/" (used when
     * P's metadata says it is not an object). */
    memcpy(run->prefix, key, k);
    run->prefix_len = dir ? k : k + 1;
    run->prefix[k] = '/';
    run->prefix[run->prefix_len] = '\0';
    run->root = root;
    loop_timer_init(&run->yield, worker_api_load_resume);
    run->w = w;
    run->loop = r->loop;
    run->job = j;
    j->path_len = r->t.ufs_path_len;
    j->refs = 2; /* the table's and the run's */
    atomic_init(&j->stop, false);
    worker_api_load_new_id(j->id);

    char msg[WORKER_API_LOAD_MESSAGE_MAX];
    pthread_mutex_lock(&l->lock);
    size_t at = 0;
    struct worker_api_load_job *old = worker_api_load_find_locked(l, j->path, j->path_len, &at);
    bool refused = old && old->state == WORKER_API_LOAD_RUNNING;
    if (refused) {
        snprintf(msg, sizeof(msg), "a load job for this path is already running (job %s)", old->id);
    } else {
        if (old)
            worker_api_load_remove_locked(l, at);
        refused = !worker_api_load_make_room_locked(l);
        if (refused)
            snprintf(msg, sizeof(msg), "too many load jobs are running (%d)",
                     WORKER_API_LOAD_JOBS_MAX);
    }
    if (!refused) {
        j->seq = ++l->seq;
        l->jobs[l->count++] = j;
        run->next = l->runs;
        if (l->runs)
            l->runs->prev = run;
        l->runs = run;
    }
    pthread_mutex_unlock(&l->lock);
    if (refused) {
        free(j->path);
        free(j);
        run->job = NULL;
        worker_api_load_run_free(run);
        worker_api_load_reply(r, false, NULL, msg);
        return;
    }
    char id[sizeof(j->id)];
    memcpy(id, j->id, sizeof(id));
    char shown[96];
    log_info("worker api: load job %s started for %s", id,
             log_escape(j->path, j->path_len, shown, sizeof(shown)));
    /* May finish the job at once (everything cached): j is not touched after this. */
    worker_api_load_start(run, key, k, !dir);
    worker_api_load_reply(r, true, id, "load job submitted");
}

/* The job's report: "Key: Value" lines in message, the same pairs in respProperties. */
static void worker_api_load_progress(struct worker_api_request *r)
{
    struct worker_api_loads *l = r->w->loads;
    struct {
        char id[37];
        enum worker_api_load_state state;
        uint64_t files_done, files_failed, pages_failed, bytes_loaded;
        char message[WORKER_API_LOAD_MESSAGE_MAX];
    } snap;
    bool found = false;
    pthread_mutex_lock(&l->lock);
    struct worker_api_load_job *j =
        worker_api_load_find_locked(l, r->t.ufs_path, r->t.ufs_path_len, NULL);
    if (j) {
        found = true;
        memcpy(snap.id, j->id, sizeof(snap.id));
        snap.state = j->state;
        snap.files_done = j->files_done;
        snap.files_failed = j->files_failed;
        snap.pages_failed = j->pages_failed;
        snap.bytes_loaded = j->bytes_loaded;
        memcpy(snap.message, j->message, sizeof(snap.message));
    }
    pthread_mutex_unlock(&l->lock);

    struct json_object *o = json_object_new_object();
    struct json_object *props = json_object_new_object();
    bool ok = o && props;
    char text[2048];
    if (!found) {
        snprintf(text, sizeof(text), "Load job for path %.1024s cannot be found", r->t.ufs_path);
        ok = ok && worker_api_json_put(o, "jobState", json_object_new_string("FAILED"));
    } else {
        char human[WORKER_API_HUMAN_SIZE_MAX];
        worker_api_human_size(snap.bytes_loaded, human);
        const char *state = worker_api_load_state_names[snap.state];
        char files[24], failed[24], pages[24], bytes[24];
        snprintf(files, sizeof(files), "%llu", (unsigned long long)snap.files_done);
        snprintf(failed, sizeof(failed), "%llu", (unsigned long long)snap.files_failed);
        snprintf(pages, sizeof(pages), "%llu", (unsigned long long)snap.pages_failed);
        snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)snap.bytes_loaded);
        snprintf(text, sizeof(text),
                 "Progress for loading path '%.1024s':\n"
                 "\tJob Id: %s\n"
                 "\tJob State: %s%s%s\n"
                 "\tFiles processed: %s\n"
                 "\tFiles failed: %s\n"
                 "\tPages failed: %s\n"
                 "\tBytes loaded: %s (%s)\n",
                 r->t.ufs_path, snap.id, state, snap.message[0] ? ", " : "", snap.message, files,
                 failed, pages, bytes, human);
        ok = ok && worker_api_json_put(o, "jobState", json_object_new_string(state));
        ok = ok && worker_api_json_put(props, "Job Id", json_object_new_string(snap.id));
        ok = ok && worker_api_json_put(props, "Job State", json_object_new_string(state));
        ok = ok && worker_api_json_put(props, "Files processed", json_object_new_string(files));
        ok = ok && worker_api_json_put(props, "Files failed", json_object_new_string(failed));
        ok = ok && worker_api_json_put(props, "Pages failed", json_object_new_string(pages));
        ok = ok && worker_api_json_put(props, "Bytes loaded", json_object_new_string(bytes));
        if (snap.message[0])
            ok = ok && worker_api_json_put(props, "Error", json_object_new_string(snap.message));
    }
    ok = ok && worker_api_json_put(
                   o, "path", json_object_new_string_len(r->t.ufs_path, (int)r->t.ufs_path_len));
    ok = ok && worker_api_json_put(o, "message", json_object_new_string(text));
    if (ok) {
        ok = worker_api_json_put(o, "respProperties", props);
        props = NULL;
    }
    json_object_put(props);
    worker_api_load_answer(r, o, ok);
}

static void worker_api_load_stop(struct worker_api_request *r)
{
    struct worker_api_loads *l = r->w->loads;
    char msg[WORKER_API_LOAD_MESSAGE_MAX];
    bool success = false;
    pthread_mutex_lock(&l->lock);
    struct worker_api_load_job *j =
        worker_api_load_find_locked(l, r->t.ufs_path, r->t.ufs_path_len, NULL);
    if (!j) {
        snprintf(msg, sizeof(msg), "Load job for this path cannot be found");
    } else if (j->state != WORKER_API_LOAD_RUNNING) {
        snprintf(msg, sizeof(msg), "Load job %s is not running (%s)", j->id,
                 worker_api_load_state_names[j->state]);
    } else {
        /* Shown at once; the run stops asking for pages at its next step. */
        atomic_store(&j->stop, true);
        j->state = WORKER_API_LOAD_STOPPED;
        snprintf(msg, sizeof(msg), "Load job %s stopped", j->id);
        success = true;
    }
    pthread_mutex_unlock(&l->lock);
    worker_api_load_reply(r, success, NULL, msg);
}

void worker_api_load(struct worker_api_request *r)
{
    const char *op = r->t.op_type;
    if (!op || (strcmp(op, "submit") && strcmp(op, "progress") && strcmp(op, "stop"))) {
        worker_api_respond_message(r, 400, "opType must be submit, progress or stop");
        return;
    }
    if (!worker_api_request_ufs_path(r))
        return;
    if (!strcmp(op, "submit"))
        worker_api_load_submit(r);
    else if (!strcmp(op, "progress"))
        worker_api_load_progress(r);
    else
        worker_api_load_stop(r);
}
