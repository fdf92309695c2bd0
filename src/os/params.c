/*
 * params.c - the driver parameters the host supplies (condis run --param),
 * read by drivers through NdisReadConfiguration.
 *
 * A small table under one mutex: parameters are set before drivers load
 * and read while they initialize, never on the send path. A value that is
 * replaced is kept until cn_param_clear, because cn_param_get promises its
 * result stays valid until then.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#include "os_priv.h"

struct cn_param {
    struct cn_param *p_next;
    char *p_driver; /* NULL: every driver */
    char *p_keyword;
    char *p_value;
};

static pthread_mutex_t param_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cn_param *params;
static struct cn_param *retired; /* replaced values, freed by cn_param_clear */

static bool same_driver(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcasecmp(a, b) == 0;
}

int cn_param_set(const char *driver, const char *keyword, const char *value)
{
    if (keyword == NULL || keyword[0] == '\0' || value == NULL)
        return -EINVAL;
    if (driver != NULL && driver[0] == '\0')
        driver = NULL;
    char *v = strdup(value);
    if (v == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&param_lock);
    for (struct cn_param *p = params; p != NULL; p = p->p_next) {
        if (same_driver(p->p_driver, driver) && strcasecmp(p->p_keyword, keyword) == 0) {
            struct cn_param *old = calloc(1, sizeof(*old));
            if (old == NULL) {
                pthread_mutex_unlock(&param_lock);
                free(v);
                return -ENOMEM;
            }
            old->p_value = p->p_value;
            old->p_next = retired;
            retired = old;
            p->p_value = v;
            pthread_mutex_unlock(&param_lock);
            return 0;
        }
    }
    struct cn_param *p = calloc(1, sizeof(*p));
    char *k = strdup(keyword);
    char *d = driver != NULL ? strdup(driver) : NULL;
    if (p == NULL || k == NULL || (driver != NULL && d == NULL)) {
        pthread_mutex_unlock(&param_lock);
        free(p);
        free(k);
        free(d);
        free(v);
        return -ENOMEM;
    }
    p->p_driver = d;
    p->p_keyword = k;
    p->p_value = v;
    p->p_next = params;
    params = p;
    pthread_mutex_unlock(&param_lock);
    return 0;
}

const char *cn_param_get(const char *driver, const char *keyword)
{
    const char *global = NULL, *specific = NULL;
    if (keyword == NULL)
        return NULL;
    pthread_mutex_lock(&param_lock);
    for (struct cn_param *p = params; p != NULL; p = p->p_next) {
        if (strcasecmp(p->p_keyword, keyword) != 0)
            continue;
        if (p->p_driver == NULL)
            global = p->p_value;
        else if (driver != NULL && strcasecmp(p->p_driver, driver) == 0)
            specific = p->p_value;
    }
    pthread_mutex_unlock(&param_lock);
    return specific != NULL ? specific : global;
}

static void free_list(struct cn_param *p)
{
    while (p != NULL) {
        struct cn_param *next = p->p_next;
        free(p->p_driver);
        free(p->p_keyword);
        free(p->p_value);
        free(p);
        p = next;
    }
}

void cn_param_clear(void)
{
    pthread_mutex_lock(&param_lock);
    struct cn_param *p = params, *r = retired;
    params = retired = NULL;
    pthread_mutex_unlock(&param_lock);
    free_list(p);
    free_list(r);
}
