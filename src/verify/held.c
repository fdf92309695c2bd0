/*
 * held.c - memory a packet in flight points at (PKT-4).
 *
 * A protocol may hang a media-specific information block on a packet with
 * NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO. The block is the protocol's again
 * only when the packet's send completes, so freeing it earlier is a
 * violation. With the verifier on, the 5.x send path registers each such
 * block here while its packet is in flight; a free of a registered block
 * is reported and deferred until the last packet holding it completes.
 * Verifier-only, so a mutex and a plain array are enough.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../os/cn_os.h"
#include "cn_verify.h"

struct held {
    const char *h_ptr;
    size_t h_len;
    unsigned h_refs;      /* packets in flight pointing at it */
    bool h_free_pending;  /* freed meanwhile: free it at the last release */
    void *h_block;        /* what the driver freed (the block holding h_ptr) */
    char h_object[160];   /* the first packet, for the report */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;    /* held_lock */
static size_t nheld, capheld; /* held_lock */

void cn_verify_hold(const void *ptr, size_t len, const char *object)
{
    if (ptr == NULL || len == 0)
        return;
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < nheld; i++) {
        if (held[i].h_ptr == ptr) {
            held[i].h_refs++;
            if (len > held[i].h_len)
                held[i].h_len = len;
            pthread_mutex_unlock(&held_lock);
            return;
        }
    }
    if (nheld == capheld) {
        size_t cap = capheld ? capheld * 2 : 32;
        struct held *v = realloc(held, cap * sizeof(*v));
        if (v == NULL) {
            pthread_mutex_unlock(&held_lock);
            return; /* this one goes unwatched */
        }
        held = v;
        capheld = cap;
    }
    struct held *h = &held[nheld++];
    h->h_ptr = ptr;
    h->h_len = len;
    h->h_refs = 1;
    h->h_free_pending = false;
    snprintf(h->h_object, sizeof(h->h_object), "%s", object ? object : "a packet");
    pthread_mutex_unlock(&held_lock);
}

bool cn_verify_release(const void *ptr, void **free_block)
{
    bool free_now = false;
    *free_block = NULL;
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < nheld; i++) {
        if (held[i].h_ptr != ptr)
            continue;
        if (--held[i].h_refs == 0) {
            free_now = held[i].h_free_pending;
            *free_block = held[i].h_block;
            held[i] = held[--nheld];
        }
        break;
    }
    pthread_mutex_unlock(&held_lock);
    return free_now;
}

bool cn_verify_free_held(const void *block, size_t len, const char *fn)
{
    const char *lo = block, *hi = (const char *)block + len;
    char object[160] = "";
    bool found = false, already = false;
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < nheld; i++) {
        if (held[i].h_ptr >= lo && held[i].h_ptr < hi) {
            found = true;
            already = held[i].h_free_pending;
            held[i].h_free_pending = true;
            held[i].h_block = (void *)block;
            memcpy(object, held[i].h_object, sizeof(object));
            break;
        }
    }
    pthread_mutex_unlock(&held_lock);
    if (found && !already)
        cn_violation(CN_PKT4, NULL, fn, object, NULL,
                     "freed the media-specific information block of a packet that is still in "
                     "flight; condis frees it when the packet's send completes");
    return found;
}

void cn_verify_held_fini(void)
{
    pthread_mutex_lock(&held_lock);
    free(held);
    held = NULL;
    nheld = capheld = 0;
    pthread_mutex_unlock(&held_lock);
}
