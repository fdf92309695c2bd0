/*
 * cn_proto5.h - condis' internal view of an NDIS 5.x CoNDIS client running
 * over the NDIS 6 CoNDIS layer (compat5/protocol5.c, af5.c, send5.c).
 *
 * A 5.x protocol is registered into co as an NDIS 6 protocol whose handlers
 * are the shims of this layer; the contexts co hands those shims are
 * condis' own wrappers (cn_proto5, cn_bind5, cn_af5), which lead back to
 * the 5.x driver's contexts. VC contexts are not wrapped: co passes the
 * 5.x driver's ProtocolVcContext unchanged.
 *
 * Include this before anything else: it defines NDIS_WRAPPER so that both
 * the 5.x and the 6.x surface are visible, as for the rest of condis.
 */
#ifndef CN_PROTO5_H
#define CN_PROTO5_H

#ifndef NDIS_WRAPPER
#define NDIS_WRAPPER 1
#endif

#include "../co/cn_co.h"
#include "cn_compat5.h"

struct cn_proto5 {
    NDIS50_PROTOCOL_CHARACTERISTICS p5_chars;  /* the driver's, copied (4.0: zero-padded) */
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS p5_chars6;
    NDIS_PROTOCOL_CO_CHARACTERISTICS p5_co6;
    NDIS_HANDLE p5_handle;          /* co's NdisProtocolHandle (the 5.x handle too) */
    const char *p5_name;            /* co's interned driver name */
    NDIS_STRING p5_section;         /* ...\\Parameters\\<name>, for BindAdapterHandler */
    wchar_t *p5_section_buf;
    NDIS_HANDLE p5_send_pool;       /* NBL pool of send wrappers */
    NDIS_HANDLE p5_rx_packets;      /* packet pool for receive indications */
    NDIS_HANDLE p5_rx_buffers;      /* buffer pool for receive indications */
    _Atomic unsigned long p5_rx_dropped; /* NBLs returned unindicated: pools dry */
};

/* ProtocolBindingContext condis gives co for a 5.x binding. */
struct cn_bind5 {
    NDIS_HANDLE b5_ctx5;            /* the 5.x driver's ProtocolBindingContext */
    struct cn_proto5 *b5_proto;
    NDIS_HANDLE b5_handle;          /* NdisBindingHandle once known (receive returns) */
    PNDIS_HANDLE b5_handle_out;     /* where the 5.x driver wants it */
    LIST_ENTRY b5_afs;              /* struct cn_af5.a5_link, freed at close */
    pthread_mutex_t b5_lock;
};

/* ClientAfContext condis gives co for a 5.x AF open. */
struct cn_af5 {
    LIST_ENTRY a5_link;
    NDIS_CLIENT_CHARACTERISTICS a5_cl5;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS a5_cl6; /* must live as long as the co AF */
    NDIS_HANDLE a5_ctx5;            /* the 5.x driver's ClientAfContext */
    struct cn_bind5 *a5_bind;
};

/* af5.c: free every cn_af5 of a binding (its co AFs are all closed). */
void cn_af5_free_all(struct cn_bind5 *b5);

/* send5.c: the co6 data-path shims. */
PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE cn_send5_complete;
/* Before p5's send pool is freed: the wrappers its idle packets keep go
 * back to it. */
void cn_send5_drop_wraps(struct cn_proto5 *p5);
PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS cn_recv5_indicate;

#endif /* CN_PROTO5_H */
