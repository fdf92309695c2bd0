/*
 * client5.c - "client5", an NDIS 5.1 CoNDIS client written against the NDIS
 * 5.x surface of <ndis.h>, for the compat5 tests (see client5.h).
 */
#define NDIS51 1
#include <string.h>

#include "client5.h"

struct c5_state c5;

static NDIS_HANDLE pkt_pool, buf_pool;
static PNDIS_PACKET pkts[C5_PACKETS];
static PNDIS_BUFFER hdr_buf[C5_PACKETS], body_buf[C5_PACKETS];
static ULONG hdr_mem[C5_PACKETS][2];
static UCHAR body_mem[C5_PACKETS][C5_BODY];
static _Atomic int in_flight[C5_PACKETS];
static NDIS_SPIN_LOCK free_lock;
static unsigned free_stack[C5_PACKETS], free_n;

/* ProtocolReserved of client5's send packets. */
struct c5_pr {
    ULONG slot;
    ULONG vc;
};

static CO_CALL_PARAMETERS call_params[C5_VCS];
static CO_CALL_MANAGER_PARAMETERS cm_params[C5_VCS];
static struct {
    CO_MEDIA_PARAMETERS m;
    UCHAR room[16];
} media_params[C5_VCS];

static NDIS_WORK_ITEM work_item;
static NDIS_EVENT work_done;

/* ---- packets -------------------------------------------------------- */

static int slot_get(void)
{
    int s = -1;
    NdisAcquireSpinLock(&free_lock);
    if (free_n > 0)
        s = (int)free_stack[--free_n];
    NdisReleaseSpinLock(&free_lock);
    return s;
}

static void slot_put(unsigned s)
{
    NdisAcquireSpinLock(&free_lock);
    free_stack[free_n++] = s;
    NdisReleaseSpinLock(&free_lock);
}

static void stamp(unsigned s, ULONG stream, ULONG seq)
{
    hdr_mem[s][0] = stream;
    hdr_mem[s][1] = seq;
    for (unsigned i = 0; i < C5_BODY; i++)
        body_mem[s][i] = (UCHAR)((seq + i) & 0xff);
}

/* The reuse sequence of the documentation for ProtocolCoSendComplete. */
static void recycle(PNDIS_PACKET P)
{
    PNDIS_BUFFER saved[4];
    unsigned n = 0;
    for (;;) {
        PNDIS_BUFFER b;
        NdisUnchainBufferAtFront(P, &b);
        if (b == NULL)
            break;
        if (n < 4)
            saved[n++] = b;
    }
    NdisReinitializePacket(P);
    NdisZeroMemory(NDIS_OOB_DATA_FROM_PACKET(P), sizeof(NDIS_PACKET_OOB_DATA));
    for (unsigned i = 0; i < n; i++)
        NdisChainBufferAtBack(P, saved[i]);
}

static void send_slots(struct c5_vc *v, PNDIS_PACKET *arr, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct c5_pr *pr = (struct c5_pr *)arr[i]->ProtocolReserved;
        atomic_store(&in_flight[pr->slot], 1);
    }
    atomic_fetch_add(&v->sent, n);
    NdisCoSendPackets(v->ndis_vc, arr, n);
}

static VOID C5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet)
{
    struct c5_pr *pr = (struct c5_pr *)Packet->ProtocolReserved;
    struct c5_vc *v = &c5.vc[pr->vc];
    if (ProtocolVcContext != v)
        atomic_fetch_add(&v->wrong_context, 1);
    if (atomic_exchange(&in_flight[pr->slot], 0) != 1) {
        atomic_fetch_add(&v->dup_completions, 1);
        return;
    }
    if (NDIS_GET_PACKET_STATUS(Packet) != Status)
        atomic_fetch_add(&v->rx_bad, 1); /* OOB status must match the completion */
    NdisAcquireSpinLock(&v->lock);
    for (int i = 0; i < C5_NSTATUS; i++)
        if (atomic_load(&v->status[i].n) == 0 || atomic_load(&v->status[i].st) == Status) {
            atomic_store(&v->status[i].st, Status);
            atomic_fetch_add(&v->status[i].n, 1);
            break;
        }
    NdisReleaseSpinLock(&v->lock);
    recycle(Packet);
    unsigned long left = atomic_load(&v->resend_left);
    while (left > 0 && !atomic_compare_exchange_weak(&v->resend_left, &left, left - 1))
        ;
    if (left > 0 && Status == NDIS_STATUS_SUCCESS) {
        ULONG seq = atomic_fetch_add(&v->next_seq, 1);
        stamp(pr->slot, v->index, seq);
        atomic_fetch_add(&v->resent, 1);
        atomic_fetch_add(&v->completed, 1);
        atomic_fetch_add(&v->completed_ok, 1);
        send_slots(v, &Packet, 1);
        return;
    }
    slot_put(pr->slot);
    if (Status == NDIS_STATUS_SUCCESS)
        atomic_fetch_add(&v->completed_ok, 1);
    atomic_fetch_add(&v->completed, 1);
}

unsigned client5_send(struct c5_vc *v, unsigned count, unsigned per_call)
{
    PNDIS_PACKET arr[64];
    if (per_call == 0 || per_call > 64)
        per_call = 64;
    unsigned done = 0;
    while (done < count) {
        unsigned n = 0;
        while (n < per_call && done + n < count) {
            int s = slot_get();
            if (s < 0)
                break;
            struct c5_pr *pr = (struct c5_pr *)pkts[s]->ProtocolReserved;
            pr->vc = v->index;
            stamp((unsigned)s, v->index, atomic_fetch_add(&v->next_seq, 1));
            arr[n++] = pkts[s];
        }
        if (n == 0)
            break;
        send_slots(v, arr, n);
        done += n;
    }
    return done;
}

unsigned client5_send_on_handle(NDIS_HANDLE h, unsigned count)
{
    PNDIS_PACKET arr[64];
    int slots[64];
    unsigned n = 0, ok = 0;
    for (; n < count && n < 64; n++) {
        slots[n] = slot_get();
        if (slots[n] < 0)
            break;
        arr[n] = pkts[slots[n]];
    }
    NdisCoSendPackets(h, arr, n);
    for (unsigned i = 0; i < n; i++) {
        if (NDIS_GET_PACKET_STATUS(arr[i]) == (NDIS_STATUS)STATUS_INVALID_HANDLE)
            ok++;
        recycle(arr[i]);
        slot_put((unsigned)slots[i]);
    }
    return ok;
}

bool client5_wait_sends(struct c5_vc *v, unsigned ms)
{
    for (unsigned i = 0; i <= ms; i++) {
        if (atomic_load(&v->completed) >= atomic_load(&v->sent))
            return true;
        NdisMSleep(1000);
    }
    return false;
}

unsigned long client5_status_count(struct c5_vc *v, NDIS_STATUS st)
{
    for (int i = 0; i < C5_NSTATUS; i++)
        if (atomic_load(&v->status[i].n) && atomic_load(&v->status[i].st) == st)
            return atomic_load(&v->status[i].n);
    return 0;
}

unsigned client5_packets_out(void)
{
    NdisAcquireSpinLock(&free_lock);
    unsigned out = C5_PACKETS - free_n;
    NdisReleaseSpinLock(&free_lock);
    return out;
}

/* ---- receive ---------------------------------------------------------- */

static UINT C5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                              PNDIS_PACKET Packet)
{
    (void)ProtocolBindingContext;
    struct c5_vc *v = ProtocolVcContext;
    UCHAR data[8 + C5_BODY];
    UINT total = 0, got = 0;
    PNDIS_BUFFER b;
    NdisQueryPacket(Packet, NULL, NULL, &b, &total);
    while (b && got < sizeof(data)) {
        PVOID va;
        UINT len;
        NdisQueryBuffer(b, &va, &len);
        UINT take = len < sizeof(data) - got ? len : (UINT)sizeof(data) - got;
        memcpy(data + got, va, take);
        got += take;
        NdisGetNextBuffer(b, &b);
    }
    atomic_fetch_add(&v->rx, 1);
    ULONG seq = 0;
    bool bad = got < 8;
    if (!bad) {
        memcpy(&seq, data + 4, 4);
        for (UINT i = 8; i < got; i++)
            if (data[i] != (UCHAR)((seq + i - 8) & 0xff))
                bad = true;
    }
    if (bad)
        atomic_fetch_add(&v->rx_bad, 1);
    bool resources = NDIS_GET_PACKET_STATUS(Packet) == NDIS_STATUS_RESOURCES;
    if (resources)
        atomic_fetch_add(&v->rx_resources, 1);
    UINT keep = 0;
    NdisAcquireSpinLock(&v->lock);
    if (v->rx_n < C5_MAX_LOG)
        v->rx_log[v->rx_n++] = seq;
    if (atomic_load(&c5.hold) && !resources && v->held_n < C5_HELD_MAX) {
        v->held[v->held_n++] = Packet;
        keep = 1;
    }
    NdisReleaseSpinLock(&v->lock);
    if (keep)
        atomic_fetch_add(&v->rx_held, 1);
    return keep;
}

unsigned client5_return_held(struct c5_vc *v)
{
    PNDIS_PACKET arr[C5_HELD_MAX];
    NdisAcquireSpinLock(&v->lock);
    unsigned n = v->held_n;
    memcpy(arr, v->held, n * sizeof(arr[0]));
    v->held_n = 0;
    NdisReleaseSpinLock(&v->lock);
    if (n)
        NdisReturnPackets(arr, n);
    return n;
}

/* ---- binding ------------------------------------------------------------ */

static VOID C5OpenAdapterComplete(NDIS_HANDLE ctx, NDIS_STATUS Status, NDIS_STATUS OpenErrorStatus)
{
    (void)ctx;
    (void)OpenErrorStatus;
    c5.open_status = Status;
    NdisSetEvent(&c5.open_done);
}

static VOID C5CloseAdapterComplete(NDIS_HANDLE ctx, NDIS_STATUS Status)
{
    (void)ctx;
    (void)Status;
    NdisSetEvent(&c5.close_done);
}

static VOID C5Bind(PNDIS_STATUS Status, NDIS_HANDLE BindContext, PNDIS_STRING DeviceName,
                   PVOID SystemSpecific1, PVOID SystemSpecific2)
{
    (void)BindContext;
    (void)SystemSpecific2;
    NDIS_MEDIUM media[] = { NdisMediumAtm, NdisMediumCoWan };
    NDIS_STATUS st, oe;
    /* The protocol section names this driver: its configuration opens. */
    NDIS_HANDLE cfg = NULL;
    NdisOpenProtocolConfiguration(&st, &cfg, (PNDIS_STRING)SystemSpecific1);
    if (st != NDIS_STATUS_SUCCESS) {
        *Status = st;
        return;
    }
    NdisCloseConfiguration(cfg);
    NdisResetEvent(&c5.open_done);
    NdisOpenAdapter(&st, &oe, &c5.binding, &c5.medium_index, media, 2, c5.protocol, &c5,
                    DeviceName, 0, NULL);
    if (st == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&c5.open_done, 0);
        st = c5.open_status;
    }
    if (st == NDIS_STATUS_SUCCESS)
        atomic_store(&c5.bound, 1);
    *Status = st;
}

static VOID C5Unbind(PNDIS_STATUS Status, NDIS_HANDLE ctx, NDIS_HANDLE UnbindContext)
{
    (void)ctx;
    (void)UnbindContext;
    NDIS_STATUS st;
    NdisResetEvent(&c5.close_done);
    NdisCloseAdapter(&st, c5.binding);
    if (st == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&c5.close_done, 0);
        st = NDIS_STATUS_SUCCESS;
    }
    atomic_store(&c5.bound, 0);
    *Status = st;
}

static NDIS_STATUS C5PnPEvent(NDIS_HANDLE ctx, PNET_PNP_EVENT NetPnPEvent)
{
    (void)ctx;
    (void)NetPnPEvent;
    atomic_fetch_add(&c5.pnp_events, 1);
    return NDIS_STATUS_SUCCESS;
}

static VOID C5CoStatus(NDIS_HANDLE ctx, NDIS_HANDLE vc, NDIS_STATUS st, PVOID buf, UINT size)
{
    (void)ctx;
    (void)vc;
    (void)st;
    (void)buf;
    (void)size;
    atomic_fetch_add(&c5.status_indications, 1);
}

/* ---- address family, VCs, calls ----------------------------------------- */

static NDIS_STATUS C5CreateVc(NDIS_HANDLE af_ctx, NDIS_HANDLE h, PNDIS_HANDLE vc_ctx)
{
    (void)af_ctx;
    (void)h;
    (void)vc_ctx;
    return NDIS_STATUS_NOT_SUPPORTED; /* client5 makes its own VCs only */
}

static NDIS_STATUS C5DeleteVc(NDIS_HANDLE vc_ctx)
{
    (void)vc_ctx;
    return NDIS_STATUS_SUCCESS;
}

static VOID C5OpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE af_ctx, NDIS_HANDLE NdisAfHandle)
{
    (void)af_ctx;
    if (Status == NDIS_STATUS_SUCCESS) {
        c5.af = NdisAfHandle;
        atomic_store(&c5.af_open, 1);
    }
    atomic_store(&c5.af_open_status, Status);
    NdisSetEvent(&c5.af_open_done);
}

static VOID C5CloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE af_ctx)
{
    (void)af_ctx;
    atomic_store(&c5.af_open, 0);
    atomic_store(&c5.af_close_status, Status);
    NdisSetEvent(&c5.af_close_done);
}

static VOID C5MakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE vc_ctx, NDIS_HANDLE party,
                               PCO_CALL_PARAMETERS params)
{
    (void)party;
    (void)params;
    struct c5_vc *v = vc_ctx;
    atomic_store(&v->make_status, Status);
    NdisSetEvent(&v->make_done);
}

static VOID C5CloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE vc_ctx, NDIS_HANDLE party)
{
    (void)party;
    struct c5_vc *v = vc_ctx;
    atomic_store(&v->close_status, Status);
    NdisSetEvent(&v->close_done);
}

static VOID C5IncomingCloseCall(NDIS_STATUS st, NDIS_HANDLE vc_ctx, PVOID buf, UINT size)
{
    (void)st;
    (void)vc_ctx;
    (void)buf;
    (void)size;
}

static NDIS_CLIENT_CHARACTERISTICS cl_chars;

static VOID C5AfRegisterNotify(NDIS_HANDLE ctx, PCO_ADDRESS_FAMILY AddressFamily)
{
    (void)ctx;
    if (AddressFamily->AddressFamily != CO_ADDRESS_FAMILY_PPP)
        return;
    memset(&cl_chars, 0, sizeof(cl_chars));
    cl_chars.MajorVersion = 5;
    cl_chars.MinorVersion = 1;
    cl_chars.ClCreateVcHandler = C5CreateVc;
    cl_chars.ClDeleteVcHandler = C5DeleteVc;
    cl_chars.ClOpenAfCompleteHandler = C5OpenAfComplete;
    cl_chars.ClCloseAfCompleteHandler = C5CloseAfComplete;
    cl_chars.ClMakeCallCompleteHandler = C5MakeCallComplete;
    cl_chars.ClCloseCallCompleteHandler = C5CloseCallComplete;
    cl_chars.ClIncomingCloseCallHandler = C5IncomingCloseCall;
    NdisResetEvent(&c5.af_open_done);
    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisClOpenAddressFamily(c5.binding, AddressFamily, &c5, &cl_chars,
                                             sizeof(cl_chars), &h);
    if (st != NDIS_STATUS_PENDING)
        C5OpenAfComplete(st, &c5, h); /* a final status: the client completes itself */
}

NDIS_STATUS client5_wait_af(unsigned ms)
{
    if (!NdisWaitEvent(&c5.af_open_done, ms))
        return NDIS_STATUS_PENDING;
    return atomic_load(&c5.af_open_status);
}

NDIS_STATUS client5_close_af(void)
{
    NdisResetEvent(&c5.af_close_done);
    NDIS_STATUS st = NdisClCloseAddressFamily(c5.af);
    if (st == NDIS_STATUS_PENDING) {
        if (!NdisWaitEvent(&c5.af_close_done, 10000))
            return NDIS_STATUS_PENDING;
        st = atomic_load(&c5.af_close_status);
    }
    if (st == NDIS_STATUS_SUCCESS) {
        atomic_store(&c5.af_open, 0);
        c5.af = NULL;
    }
    return st;
}

struct c5_vc *client5_create_vc(NDIS_STATUS *st)
{
    struct c5_vc *v = NULL;
    unsigned i;
    for (i = 0; i < C5_VCS && v == NULL; i++)
        if (!c5.vc[i].in_use)
            v = &c5.vc[i];
    if (v == NULL) {
        *st = NDIS_STATUS_RESOURCES;
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->index = i - 1;
    NdisAllocateSpinLock(&v->lock);
    NdisInitializeEvent(&v->make_done);
    NdisInitializeEvent(&v->close_done);
    *st = NdisCoCreateVc(c5.binding, c5.af, v, &v->ndis_vc);
    if (*st != NDIS_STATUS_SUCCESS) {
        NdisFreeSpinLock(&v->lock);
        return NULL;
    }
    v->in_use = true;
    return v;
}

NDIS_STATUS client5_make_call(struct c5_vc *v)
{
    unsigned i = v->index;
    memset(&cm_params[i], 0, sizeof(cm_params[i]));
    memset(&media_params[i], 0, sizeof(media_params[i]));
    cm_params[i].Transmit.ServiceType = cm_params[i].Receive.ServiceType = SERVICETYPE_BESTEFFORT;
    media_params[i].m.Flags = TRANSMIT_VC | RECEIVE_VC;
    memset(&call_params[i], 0, sizeof(call_params[i]));
    call_params[i].CallMgrParameters = &cm_params[i];
    call_params[i].MediaParameters = &media_params[i].m;
    NdisResetEvent(&v->make_done);
    NDIS_STATUS st = NdisClMakeCall(v->ndis_vc, &call_params[i], NULL, NULL);
    if (st == NDIS_STATUS_PENDING) {
        if (!NdisWaitEvent(&v->make_done, 10000))
            return NDIS_STATUS_PENDING;
        st = atomic_load(&v->make_status);
    }
    return st;
}

NDIS_STATUS client5_close_call(struct c5_vc *v)
{
    NdisResetEvent(&v->close_done);
    NDIS_STATUS st = NdisClCloseCall(v->ndis_vc, NULL, NULL, 0);
    if (st == NDIS_STATUS_PENDING) {
        if (!NdisWaitEvent(&v->close_done, 10000))
            return NDIS_STATUS_PENDING;
        st = atomic_load(&v->close_status);
    }
    return st;
}

NDIS_STATUS client5_delete_vc(struct c5_vc *v)
{
    NDIS_STATUS st = NdisCoDeleteVc(v->ndis_vc);
    if (st == NDIS_STATUS_SUCCESS) {
        NdisFreeSpinLock(&v->lock);
        v->in_use = false;
    }
    return st;
}

/* ---- work item ---------------------------------------------------------- */

static VOID C5Work(PNDIS_WORK_ITEM wi, PVOID ctx)
{
    if (wi == &work_item && ctx == &c5 && KeGetCurrentIrql() == PASSIVE_LEVEL)
        atomic_fetch_add(&c5.work_items, 1);
    NdisSetEvent(&work_done);
}

bool client5_run_work_item(unsigned ms)
{
    NdisInitializeEvent(&work_done);
    NdisInitializeWorkItem(&work_item, C5Work, &c5);
    if (NdisScheduleWorkItem(&work_item) != NDIS_STATUS_SUCCESS)
        return false;
    return NdisWaitEvent(&work_done, ms);
}

/* ---- driver ----------------------------------------------------------------- */

static void free_all(void)
{
    for (unsigned i = 0; i < C5_PACKETS; i++) {
        if (pkts[i]) {
            recycle(pkts[i]);
            NdisFreePacket(pkts[i]);
            pkts[i] = NULL;
        }
        if (hdr_buf[i])
            NdisFreeBuffer(hdr_buf[i]);
        if (body_buf[i])
            NdisFreeBuffer(body_buf[i]);
        hdr_buf[i] = body_buf[i] = NULL;
    }
    if (pkt_pool)
        NdisFreePacketPool(pkt_pool);
    if (buf_pool)
        NdisFreeBufferPool(buf_pool);
    pkt_pool = buf_pool = NULL;
    NdisFreeSpinLock(&free_lock);
}

static VOID C5Unload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    NDIS_STATUS st;
    NdisDeregisterProtocol(&st, c5.protocol);
    /* Unchain first: a packet's buffers must not be chained when freed. */
    for (unsigned i = 0; i < C5_PACKETS; i++)
        if (pkts[i]) {
            PNDIS_BUFFER b;
            do
                NdisUnchainBufferAtFront(pkts[i], &b);
            while (b);
        }
    free_all();
}

static NTSTATUS C5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    NDIS_STATUS st;
    NdisAllocateSpinLock(&free_lock);
    NdisAllocatePacketPool(&st, &pkt_pool, C5_PACKETS, sizeof(struct c5_pr));
    if (st != NDIS_STATUS_SUCCESS)
        return STATUS_UNSUCCESSFUL;
    NdisAllocateBufferPool(&st, &buf_pool, 2 * C5_PACKETS);
    if (st != NDIS_STATUS_SUCCESS)
        return STATUS_UNSUCCESSFUL;
    for (unsigned i = 0; i < C5_PACKETS; i++) {
        NdisAllocatePacket(&st, &pkts[i], pkt_pool);
        if (st == NDIS_STATUS_SUCCESS)
            NdisAllocateBuffer(&st, &hdr_buf[i], buf_pool, hdr_mem[i], sizeof(hdr_mem[i]));
        if (st == NDIS_STATUS_SUCCESS)
            NdisAllocateBuffer(&st, &body_buf[i], buf_pool, body_mem[i], C5_BODY);
        if (st != NDIS_STATUS_SUCCESS) {
            free_all();
            return STATUS_UNSUCCESSFUL;
        }
        NdisChainBufferAtBack(pkts[i], hdr_buf[i]);
        NdisChainBufferAtBack(pkts[i], body_buf[i]);
        ((struct c5_pr *)pkts[i]->ProtocolReserved)->slot = i;
        free_stack[free_n++] = C5_PACKETS - 1 - i;
    }

    NDIS_PROTOCOL_CHARACTERISTICS pc;
    NdisZeroMemory(&pc, sizeof(pc));
    pc.MajorNdisVersion = 5;
    pc.MinorNdisVersion = 1;
    NdisInitUnicodeString(&pc.Name, L"client5");
    pc.OpenAdapterCompleteHandler = C5OpenAdapterComplete;
    pc.CloseAdapterCompleteHandler = C5CloseAdapterComplete;
    pc.BindAdapterHandler = C5Bind;
    pc.UnbindAdapterHandler = C5Unbind;
    pc.PnPEventHandler = C5PnPEvent;
    pc.CoSendCompleteHandler = C5CoSendComplete;
    pc.CoStatusHandler = C5CoStatus;
    pc.CoReceivePacketHandler = C5CoReceivePacket;
    pc.CoAfRegisterNotifyHandler = C5AfRegisterNotify;
    NdisRegisterProtocol(&st, &c5.protocol, &pc, sizeof(pc));
    if (st != NDIS_STATUS_SUCCESS) {
        free_all();
        return STATUS_UNSUCCESSFUL;
    }
    DriverObject->DriverUnload = C5Unload;
    return STATUS_SUCCESS;
}

int client5_load(struct condis_driver **out)
{
    memset(&c5, 0, sizeof(c5));
    memset((void *)in_flight, 0, sizeof(in_flight));
    free_n = 0;
    NdisInitializeEvent(&c5.af_open_done);
    NdisInitializeEvent(&c5.af_close_done);
    NdisInitializeEvent(&c5.open_done);
    NdisInitializeEvent(&c5.close_done);
    NTSTATUS st;
    return condis_driver_load("client5", C5DriverEntry, out, &st);
}
