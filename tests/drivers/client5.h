/*
 * client5.h - control API of "client5", a small NDIS 5.1 CoNDIS client
 * (tests/drivers/client5.c, compiled with NDIS51) that runs over NDIS 6
 * miniport call managers through condis' compat5 layer.
 *
 * This header uses only types an NDIS 6 test sees, so test files include
 * it with the NDIS 6 surface. Call the functions at PASSIVE_LEVEL from the
 * test's thread unless a comment says otherwise.
 *
 * client5 binds to CoWan adapters (NdisOpenAdapter), opens the PPP address
 * family from its CoAfRegisterNotify handler, creates VCs, makes calls and
 * sends packets from its packet and buffer pools. Every packet has two
 * buffers: an 8-byte header { ULONG stream; ULONG seq; } (stream = VC
 * index) and C5_BODY bytes of (seq + i) & 0xff. Every send completion
 * follows the documented reuse sequence (unchain every buffer, reinitialize
 * the packet, zero its OOB block, rechain) before the packet is resent or
 * put back on the free list.
 */
#ifndef CLIENT5_H
#define CLIENT5_H

#include <stdatomic.h>
#include <stdbool.h>

#include <ndis.h>
#include <condis/host.h>

#define C5_VCS 4
#define C5_PACKETS 256
#define C5_BODY 56
#define C5_MAX_LOG 8192
#define C5_NSTATUS 8
#define C5_HELD_MAX 256

struct c5_vc {
    bool in_use;
    NDIS_HANDLE ndis_vc;
    unsigned index;
    NDIS_EVENT make_done, close_done;
    _Atomic NDIS_STATUS make_status, close_status;

    _Atomic unsigned long sent, completed, completed_ok, dup_completions, wrong_context;
    _Atomic unsigned long resend_left, resent;
    _Atomic ULONG next_seq;
    struct { _Atomic NDIS_STATUS st; _Atomic unsigned long n; } status[C5_NSTATUS];

    _Atomic unsigned long rx, rx_bad, rx_resources, rx_held;
    NDIS_SPIN_LOCK lock;
    ULONG rx_log[C5_MAX_LOG];     /* seq of each receive, in arrival order (lock) */
    unsigned long rx_n;           /* (lock) */
    void *held[C5_HELD_MAX];      /* kept receive packets (lock) */
    unsigned held_n;              /* (lock) */
};

struct c5_state {
    NDIS_HANDLE protocol, binding, af;
    _Atomic int bound, af_open;
    _Atomic NDIS_STATUS af_open_status, af_close_status;
    NDIS_EVENT af_open_done, af_close_done, open_done, close_done;
    NDIS_STATUS open_status;
    UINT medium_index;
    _Atomic bool hold;            /* keep receives (non-RESOURCES) until return_held */
    _Atomic unsigned long pnp_events, status_indications, work_items;
    struct c5_vc vc[C5_VCS];
};
extern struct c5_state c5;

/* Load client5 (NdisRegisterProtocol from its DriverEntry). */
int client5_load(struct condis_driver **out);
/* Wait for the AF opened from the notify handler; its status. */
NDIS_STATUS client5_wait_af(unsigned ms);
/* NdisClCloseAddressFamily, waiting for a pended close. */
NDIS_STATUS client5_close_af(void);
/* NdisCoCreateVc; NULL with *st set on failure. */
struct c5_vc *client5_create_vc(NDIS_STATUS *st);
/* NdisClMakeCall / NdisClCloseCall, waiting when they pend. */
NDIS_STATUS client5_make_call(struct c5_vc *v);
NDIS_STATUS client5_close_call(struct c5_vc *v);
NDIS_STATUS client5_delete_vc(struct c5_vc *v);
/* Send count packets in NdisCoSendPackets calls of per_call packets; any
 * IRQL <= DISPATCH_LEVEL. Returns how many were handed to NDIS. */
unsigned client5_send(struct c5_vc *v, unsigned count, unsigned per_call);
/* Send count packets on an arbitrary handle; returns how many came back
 * from the call still owned by client5 with status STATUS_INVALID_HANDLE
 * (they are put back on the free list). */
unsigned client5_send_on_handle(NDIS_HANDLE h, unsigned count);
/* Wait until completed >= sent. */
bool client5_wait_sends(struct c5_vc *v, unsigned ms);
unsigned long client5_status_count(struct c5_vc *v, NDIS_STATUS st);
/* NdisReturnPackets for the held receives; how many. */
unsigned client5_return_held(struct c5_vc *v);
/* Packets not on client5's free list (sent and not completed). */
unsigned client5_packets_out(void);
/* Schedule an NDIS 5.x work item and wait for it to run. */
bool client5_run_work_item(unsigned ms);

#endif /* CLIENT5_H */
