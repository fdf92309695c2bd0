/*
 * minimal.c - the smallest complete CoNDIS 6 client: read this one first.
 *
 * On each connection-oriented adapter it binds to, it opens the first address
 * family the call manager offers, creates one VC, makes one call, sends
 * MinimalCount NBLs (default 100) one at a time from a single preallocated
 * NBL, gives back whatever it receives, then tears it all down and prints
 * "sent N, completed N, received N". examples/coclient.c does the same with a
 * send window, payload checks and every corner handled.
 *
 * Build and run, from the top of the condis tree:
 *   cc -std=c11 -Wall -Wextra -Wno-multichar -I include -shared -fPIC examples/minimal.c -o minimal.so
 *   ./build/condis run --protocol ./minimal.so --miniport loop
 */
#define NDIS60 1 /* the NDIS 6.0 client interface is all this driver needs */
#include <ndis.h>

#define MINIMAL_TAG 'niMm'
#define MINIMAL_SIZE 64 /* bytes per NBL */

/*
 * The binding is also the AF context and the VC context: there is one of
 * each per binding, so every handler gets straight to the state it needs.
 */
typedef struct _MINIMAL_BINDING {
    NDIS_HANDLE BindingHandle, AfHandle, VcHandle;
    NDIS_SPIN_LOCK Lock; /* guards the flags: NDIS's handlers race the worker */
    BOOLEAN WorkerQueued, Stop, AfClosing, NotifyCloseAfPended;
    NDIS_EVENT OpDone;     /* the one adapter or Cl* operation under way finished */
    NDIS_STATUS OpStatus;  /* ... with this status */
    NDIS_EVENT SendDone;   /* our NBL is not in flight */
    NDIS_EVENT WorkerDone; /* no work item queued or running */
    ULONG Count;
    volatile LONG Sent, Completed, Received;
    /* NDIS may read these until a pended open or make-call completes. */
    NDIS_OPEN_PARAMETERS Open;
    NDIS_MEDIUM Medium;
    UINT MediumIndex;
    CO_ADDRESS_FAMILY Family;
    CO_CALL_PARAMETERS Call;
    CO_CALL_MANAGER_PARAMETERS CallMgr;
    CO_MEDIA_PARAMETERS Media;
    /* The one NBL every send reuses, and what it is made of. */
    NDIS_HANDLE NblPool;
    PUCHAR Data;
    PMDL Mdl;
    PNET_BUFFER_LIST Nbl;
} MINIMAL_BINDING, *PMINIMAL_BINDING;

static NDIS_HANDLE g_Protocol;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD MinimalUnload;
static PROTOCOL_SET_OPTIONS MinimalSetOptions;
static PROTOCOL_BIND_ADAPTER_EX MinimalBind;
static PROTOCOL_UNBIND_ADAPTER_EX MinimalUnbind;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX MinimalOpenAdapterComplete;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX MinimalCloseAdapterComplete;
static PROTOCOL_NET_PNP_EVENT MinimalPnPEvent;
static PROTOCOL_OID_REQUEST_COMPLETE MinimalOidRequestComplete;
static PROTOCOL_STATUS_EX MinimalStatus;
static PROTOCOL_RECEIVE_NET_BUFFER_LISTS MinimalReceive;
static PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE MinimalSendComplete;
static PROTOCOL_CO_STATUS_EX MinimalCoStatus;
static PROTOCOL_CO_AF_REGISTER_NOTIFY MinimalAfRegisterNotify;
static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS MinimalCoReceive;
static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE MinimalCoSendComplete;
static PROTOCOL_CO_CREATE_VC MinimalCreateVc;
static PROTOCOL_CO_DELETE_VC MinimalDeleteVc;
static PROTOCOL_CO_OID_REQUEST MinimalCoOidRequest;
static PROTOCOL_CO_OID_REQUEST_COMPLETE MinimalCoOidRequestComplete;
static PROTOCOL_CL_OPEN_AF_COMPLETE_EX MinimalOpenAfComplete;
static PROTOCOL_CL_CLOSE_AF_COMPLETE MinimalCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE MinimalRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE MinimalDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE MinimalMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE MinimalModifyQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE MinimalCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE MinimalAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE MinimalDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL MinimalIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE MinimalIncomingQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL MinimalIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY MinimalIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED MinimalCallConnected;
static PROTOCOL_CL_NOTIFY_CLOSE_AF MinimalNotifyCloseAf;
static NDIS_IO_WORKITEM_FUNCTION MinimalWorker;

/* Any IRQL <= DISPATCH_LEVEL: asks the run to end; returns whether it had been asked. */
static BOOLEAN MinimalStop(PMINIMAL_BINDING b)
{
    BOOLEAN was;

    NdisAcquireSpinLock(&b->Lock);
    was = b->Stop;
    b->Stop = TRUE;
    NdisReleaseSpinLock(&b->Lock);
    return was;
}

/*
 * Every operation someone waits for ends here, whether NDIS called its
 * completion handler or the caller ran that handler itself because the
 * operation did not pend. One operation at a time per binding.
 */
static VOID MinimalDone(PMINIMAL_BINDING b, NDIS_STATUS Status)
{
    b->OpStatus = Status;
    NdisSetEvent(&b->OpDone);
}

static VOID MinimalOpenAdapterComplete(NDIS_HANDLE BindingContext, NDIS_STATUS Status)
{ MinimalDone(BindingContext, Status); }
static VOID MinimalCloseAdapterComplete(NDIS_HANDLE BindingContext)
{ MinimalDone(BindingContext, NDIS_STATUS_SUCCESS); }
static VOID MinimalCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE AfContext)
{ MinimalDone(AfContext, Status); }

static VOID MinimalOpenAfComplete(NDIS_HANDLE AfContext, NDIS_HANDLE NdisAfHandle,
                                  NDIS_STATUS Status)
{
    ((PMINIMAL_BINDING)AfContext)->AfHandle = (Status == NDIS_STATUS_SUCCESS) ? NdisAfHandle : NULL;
    MinimalDone(AfContext, Status);
}

/* CallParameters is our own b->Call; a call manager may have adjusted it. */
static VOID MinimalMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE VcContext,
                                    NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    MinimalDone(VcContext, Status);
}

static VOID MinimalCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE VcContext,
                                     NDIS_HANDLE PartyContext)
{
    UNREFERENCED_PARAMETER(PartyContext);
    MinimalDone(VcContext, Status);
}

/*
 * IRQL <= DISPATCH_LEVEL, possibly inside NdisCoSendNetBufferLists. The NBL
 * is ours again: clear what the send left in it, so the worker can send it
 * once more as it is. Setting SendDone is the last touch of the binding,
 * because the worker may go on to free it.
 */
static VOID MinimalCoSendComplete(NDIS_HANDLE VcContext, PNET_BUFFER_LIST NetBufferLists,
                                  ULONG SendCompleteFlags)
{
    PMINIMAL_BINDING b = VcContext;

    UNREFERENCED_PARAMETER(SendCompleteFlags);
    NET_BUFFER_LIST_STATUS(NetBufferLists) = NDIS_STATUS_SUCCESS;
    NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
    InterlockedIncrement(&b->Completed);
    NdisSetEvent(&b->SendDone);
}

/*
 * IRQL <= DISPATCH_LEVEL. Received NBLs belong to the miniport: give them
 * back at once, unless it flagged RESOURCES, which means it takes them back
 * itself as soon as this returns.
 */
static VOID MinimalCoReceive(NDIS_HANDLE BindingContext, NDIS_HANDLE VcContext,
                             PNET_BUFFER_LIST NetBufferLists, ULONG NumberOfNetBufferLists,
                             ULONG ReceiveFlags)
{
    PMINIMAL_BINDING b = BindingContext;

    UNREFERENCED_PARAMETER(VcContext);
    InterlockedAdd(&b->Received, (LONG)NumberOfNetBufferLists);
    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

/* A CoWan binding gets no connectionless receives; give any back all the same. */
static VOID MinimalReceive(NDIS_HANDLE BindingContext, PNET_BUFFER_LIST NetBufferLists,
                           NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists,
                           ULONG ReceiveFlags)
{
    UNREFERENCED_PARAMETER(PortNumber);
    MinimalCoReceive(BindingContext, NULL, NetBufferLists, NumberOfNetBufferLists, ReceiveFlags);
}

/* The peer ended the call: stop sending; the worker's NdisClCloseCall acknowledges it. */
static VOID MinimalIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE VcContext,
                                     PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(CloseStatus);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    MinimalStop(VcContext);
}

/*
 * The call manager wants the AF back. Closing it takes waits this handler
 * may not make, so it pends; the worker, which holds the AF as long as it is
 * open, winds down and completes the request after its own close.
 */
static NDIS_STATUS MinimalNotifyCloseAf(NDIS_HANDLE AfContext)
{
    PMINIMAL_BINDING b = AfContext;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS; /* our own close is already on its way */

    NdisAcquireSpinLock(&b->Lock);
    if (!b->AfClosing) {
        b->Stop = TRUE;
        b->NotifyCloseAfPended = TRUE;
        status = NDIS_STATUS_PENDING;
    }
    NdisReleaseSpinLock(&b->Lock);
    return status;
}

/*
 * What this client never uses but must register. It has no SAP, so it
 * declines what only incoming calls bring, and it starts no SAP, QoS, party
 * or OID operation, so those completions have nothing to do. Passing the
 * parameters to MinimalUnused counts as using them, for -Wextra.
 */
static VOID MinimalUnused(int Ignored, ...) { UNREFERENCED_PARAMETER(Ignored); }

static NDIS_STATUS MinimalCreateVc(NDIS_HANDLE AfContext, NDIS_HANDLE NdisVcHandle,
                                   PNDIS_HANDLE VcContext)
{ MinimalUnused(0, AfContext, NdisVcHandle, VcContext); return NDIS_STATUS_NOT_SUPPORTED; }
static NDIS_STATUS MinimalDeleteVc(NDIS_HANDLE VcContext)
{ MinimalUnused(0, VcContext); return NDIS_STATUS_NOT_SUPPORTED; }
static NDIS_STATUS MinimalIncomingCall(NDIS_HANDLE SapContext, NDIS_HANDLE VcContext,
                                       PCO_CALL_PARAMETERS Params)
{ MinimalUnused(0, SapContext, VcContext, Params); return NDIS_STATUS_NOT_SUPPORTED; }
static NDIS_STATUS MinimalCoOidRequest(NDIS_HANDLE AfContext, NDIS_HANDLE VcContext,
                                       NDIS_HANDLE PartyContext, PNDIS_OID_REQUEST Request)
{ MinimalUnused(0, AfContext, VcContext, PartyContext, Request); return NDIS_STATUS_NOT_SUPPORTED; }
static VOID MinimalCoOidRequestComplete(NDIS_HANDLE AfContext, NDIS_HANDLE VcContext,
                                        NDIS_HANDLE PartyContext, PNDIS_OID_REQUEST Request,
                                        NDIS_STATUS Status)
{ MinimalUnused(0, AfContext, VcContext, PartyContext, Request, Status); }
static VOID MinimalRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE SapContext, PCO_SAP Sap,
                                       NDIS_HANDLE NdisSapHandle)
{ MinimalUnused(0, Status, SapContext, Sap, NdisSapHandle); }
static VOID MinimalDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE SapContext)
{ MinimalUnused(0, Status, SapContext); }
static VOID MinimalModifyQoSComplete(NDIS_STATUS Status, NDIS_HANDLE VcContext,
                                     PCO_CALL_PARAMETERS Params)
{ MinimalUnused(0, Status, VcContext, Params); }
static VOID MinimalAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE PartyContext,
                                    NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS Params)
{ MinimalUnused(0, Status, PartyContext, NdisPartyHandle, Params); }
static VOID MinimalDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE PartyContext)
{ MinimalUnused(0, Status, PartyContext); }
static VOID MinimalIncomingQoSChange(NDIS_HANDLE VcContext, PCO_CALL_PARAMETERS Params)
{ MinimalUnused(0, VcContext, Params); }
static VOID MinimalIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE PartyContext,
                                     PVOID CloseData, UINT Size)
{ MinimalUnused(0, DropStatus, PartyContext, CloseData, Size); }
static VOID MinimalCallConnected(NDIS_HANDLE VcContext)
{ MinimalUnused(0, VcContext); }
static VOID MinimalCoStatus(NDIS_HANDLE BindingContext, NDIS_HANDLE VcContext,
                            PNDIS_STATUS_INDICATION Indication)
{ MinimalUnused(0, BindingContext, VcContext, Indication); }
static VOID MinimalStatus(NDIS_HANDLE BindingContext, PNDIS_STATUS_INDICATION Indication)
{ MinimalUnused(0, BindingContext, Indication); }
static VOID MinimalOidRequestComplete(NDIS_HANDLE BindingContext, PNDIS_OID_REQUEST Request,
                                      NDIS_STATUS Status)
{ MinimalUnused(0, BindingContext, Request, Status); }
static VOID MinimalSendComplete(NDIS_HANDLE BindingContext, PNET_BUFFER_LIST NetBufferList,
                                ULONG SendCompleteFlags)
{ MinimalUnused(0, BindingContext, NetBufferList, SendCompleteFlags); }

/*
 * The run, on an NDIS I/O work item because every step may wait
 * (PASSIVE_LEVEL). For each Cl* request a return other than PENDING means
 * NDIS will not call the completion handler, so the worker calls it itself;
 * either way it then waits for OpDone.
 */
static VOID MinimalWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PMINIMAL_BINDING b = WorkItemContext;
    NDIS_HANDLE af = NULL;
    NDIS_STATUS status;
    BOOLEAN stop, notify;

    NdisFreeIoWorkItem(NdisIoWorkItemHandle); /* one run per item */

    NdisResetEvent(&b->OpDone);
    status = NdisClOpenAddressFamilyEx(b->BindingHandle, &b->Family, b, &af);
    if (status != NDIS_STATUS_PENDING)
        MinimalOpenAfComplete(b, af, status);
    NdisWaitEvent(&b->OpDone, 0);

    if (b->AfHandle != NULL &&
        NdisCoCreateVc(b->BindingHandle, b->AfHandle, b, &b->VcHandle) == NDIS_STATUS_SUCCESS) {
        /* Only the packet size matters to this client; the call manager picks the rest. */
        FLOWSPEC flow = { .TokenRate = QOS_NOT_SPECIFIED, .TokenBucketSize = QOS_NOT_SPECIFIED,
                          .PeakBandwidth = QOS_NOT_SPECIFIED, .Latency = QOS_NOT_SPECIFIED,
                          .DelayVariation = QOS_NOT_SPECIFIED,
                          .ServiceType = SERVICETYPE_BESTEFFORT, .MaxSduSize = MINIMAL_SIZE,
                          .MinimumPolicedSize = QOS_NOT_SPECIFIED };

        b->CallMgr.Transmit = flow;
        b->CallMgr.Receive = flow;
        b->CallMgr.CallMgrSpecific.Length = 0;
        b->Media.Flags = TRANSMIT_VC | RECEIVE_VC;
        b->Media.MediaSpecific.Length = 0;
        b->Call.CallMgrParameters = &b->CallMgr;
        b->Call.MediaParameters = &b->Media;
        NdisResetEvent(&b->OpDone);
        status = NdisClMakeCall(b->VcHandle, &b->Call, NULL, NULL);
        if (status != NDIS_STATUS_PENDING)
            MinimalMakeCallComplete(status, b, NULL, &b->Call);
        NdisWaitEvent(&b->OpDone, 0);

        if (b->OpStatus == NDIS_STATUS_SUCCESS) {
            /*
             * One NBL in flight at a time. Checking Stop and resetting
             * SendDone under one lock means a pause either stops this
             * loop or sees the send it is about to make.
             */
            while ((ULONG)b->Sent < b->Count) {
                NdisAcquireSpinLock(&b->Lock);
                stop = b->Stop;
                if (!stop)
                    NdisResetEvent(&b->SendDone);
                NdisReleaseSpinLock(&b->Lock);
                if (stop)
                    break;
                b->Nbl->SourceHandle = b->VcHandle; /* routes the completion to this VC */
                InterlockedIncrement(&b->Sent);
                NdisCoSendNetBufferLists(b->VcHandle, b->Nbl, 0);
                NdisWaitEvent(&b->SendDone, 0);
            }
            /* A call may be closed only with nothing in flight, as now. */
            NdisResetEvent(&b->OpDone);
            status = NdisClCloseCall(b->VcHandle, NULL, NULL, 0);
            if (status != NDIS_STATUS_PENDING)
                MinimalCloseCallComplete(status, b, NULL);
            NdisWaitEvent(&b->OpDone, 0);
        }
        if (NdisCoDeleteVc(b->VcHandle) == NDIS_STATUS_SUCCESS) /* never pends */
            b->VcHandle = NULL;
    }

    if (b->AfHandle != NULL) {
        NdisAcquireSpinLock(&b->Lock);
        b->AfClosing = TRUE; /* from here a close request needs no pending */
        notify = b->NotifyCloseAfPended;
        NdisReleaseSpinLock(&b->Lock);
        NdisResetEvent(&b->OpDone);
        status = NdisClCloseAddressFamily(b->AfHandle);
        if (status != NDIS_STATUS_PENDING)
            MinimalCloseAfComplete(status, b);
        NdisWaitEvent(&b->OpDone, 0);
        if (notify)
            NdisClNotifyCloseAddressFamilyComplete(b->AfHandle, b->OpStatus);
        if (b->OpStatus == NDIS_STATUS_SUCCESS)
            b->AfHandle = NULL;
    }
    DbgPrint("sent %ld, completed %ld, received %ld\n", b->Sent, b->Completed, b->Received);
    NdisSetEvent(&b->WorkerDone); /* last touch: unbind may free b now */
}

/* PASSIVE_LEVEL. Takes the first AF offered and leaves the work to a work item. */
static VOID MinimalAfRegisterNotify(NDIS_HANDLE BindingContext, PCO_ADDRESS_FAMILY AddressFamily)
{
    PMINIMAL_BINDING b = BindingContext;
    NDIS_HANDLE item = NdisAllocateIoWorkItem(b->BindingHandle);
    BOOLEAN take;

    NdisAcquireSpinLock(&b->Lock);
    take = item != NULL && !b->WorkerQueued && !b->Stop;
    if (take) {
        b->WorkerQueued = TRUE;
        b->Family = *AddressFamily; /* the pointer is good only during this call */
        NdisResetEvent(&b->WorkerDone);
    }
    NdisReleaseSpinLock(&b->Lock);
    if (take)
        NdisQueueIoWorkItem(item, MinimalWorker, b);
    else if (item != NULL)
        NdisFreeIoWorkItem(item);
}

/* PASSIVE_LEVEL. Frees what bind allocated; fine on a half-built binding. */
static VOID MinimalFree(PMINIMAL_BINDING b)
{
    if (b->Nbl != NULL)
        NdisFreeNetBufferList(b->Nbl); /* its NET_BUFFER goes with it */
    if (b->Mdl != NULL)
        NdisFreeMdl(b->Mdl);
    if (b->Data != NULL)
        NdisFreeMemoryWithTagPriority(g_Protocol, b->Data, MINIMAL_TAG);
    if (b->NblPool != NULL)
        NdisFreeNetBufferListPool(b->NblPool);
    NdisFreeSpinLock(&b->Lock);
    NdisFreeMemoryWithTagPriority(g_Protocol, b, MINIMAL_TAG);
}

/* PASSIVE_LEVEL. Closes the adapter, waiting if NDIS pends the close. */
static VOID MinimalCloseAdapter(PMINIMAL_BINDING b)
{
    NdisResetEvent(&b->OpDone);
    if (NdisCloseAdapterEx(b->BindingHandle) == NDIS_STATUS_PENDING)
        NdisWaitEvent(&b->OpDone, 0);
}

/*
 * PASSIVE_LEVEL. Opens the adapter, waiting if the open pends so the bind
 * never has to; reads MinimalCount; allocates the one NBL every send reuses,
 * so nothing is allocated on the send path.
 */
static NDIS_STATUS MinimalBind(NDIS_HANDLE DriverContext, NDIS_HANDLE BindContext,
                               PNDIS_BIND_PARAMETERS BindParameters)
{
    NET_BUFFER_LIST_POOL_PARAMETERS pool = { .Header = { NDIS_OBJECT_TYPE_DEFAULT,
        NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1,
        NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 }, .ProtocolId =
        NDIS_PROTOCOL_ID_DEFAULT, .fAllocateNetBuffer = TRUE, .PoolTag = MINIMAL_TAG };
    NDIS_CONFIGURATION_OBJECT config = { .Header = { NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT,
        NDIS_CONFIGURATION_OBJECT_REVISION_1, NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1 } };
    NDIS_STRING keyword = NDIS_STRING_CONST("MinimalCount");
    PNDIS_CONFIGURATION_PARAMETER value;
    NDIS_HANDLE configHandle;
    NDIS_STATUS status;
    PMINIMAL_BINDING b;

    UNREFERENCED_PARAMETER(DriverContext);
    b = NdisAllocateMemoryWithTagPriority(g_Protocol, sizeof(*b), MINIMAL_TAG, NormalPoolPriority);
    if (b == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b, sizeof(*b));
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpDone);
    NdisInitializeEvent(&b->SendDone);
    NdisSetEvent(&b->SendDone); /* nothing in flight yet */
    NdisInitializeEvent(&b->WorkerDone);
    NdisSetEvent(&b->WorkerDone); /* no worker yet */

    b->Medium = NdisMediumCoWan; /* what CoNDIS call managers' adapters speak */
    b->Open.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    b->Open.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    b->Open.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    b->Open.AdapterName = BindParameters->AdapterName;
    b->Open.MediumArray = &b->Medium;
    b->Open.MediumArraySize = 1;
    b->Open.SelectedMediumIndex = &b->MediumIndex;
    status = NdisOpenAdapterEx(g_Protocol, b, &b->Open, BindContext, &b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpDone, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        MinimalFree(b);
        return status;
    }

    b->Count = 100; /* parameters belong to the binding: read them through its handle */
    config.NdisHandle = b->BindingHandle;
    if (NdisOpenConfigurationEx(&config, &configHandle) == NDIS_STATUS_SUCCESS) {
        NdisReadConfiguration(&status, &value, configHandle, &keyword, NdisParameterInteger);
        if (status == NDIS_STATUS_SUCCESS)
            b->Count = value->ParameterData.IntegerData;
        NdisCloseConfiguration(configHandle); /* frees value too */
    }

    b->NblPool = NdisAllocateNetBufferListPool(g_Protocol, &pool);
    b->Data = NdisAllocateMemoryWithTagPriority(g_Protocol, MINIMAL_SIZE, MINIMAL_TAG,
                                                NormalPoolPriority);
    if (b->Data != NULL) {
        NdisFillMemory(b->Data, MINIMAL_SIZE, 0x5A);
        b->Mdl = NdisAllocateMdl(g_Protocol, b->Data, MINIMAL_SIZE);
    }
    if (b->NblPool != NULL && b->Mdl != NULL)
        b->Nbl = NdisAllocateNetBufferAndNetBufferList(b->NblPool, 0, 0, b->Mdl, 0, MINIMAL_SIZE);
    if (b->Nbl == NULL) {
        MinimalCloseAdapter(b);
        MinimalFree(b);
        return NDIS_STATUS_RESOURCES;
    }
    return NDIS_STATUS_SUCCESS;
}

/*
 * PASSIVE_LEVEL; an unbind cannot fail. A stopped worker still closes the
 * call, deletes the VC and closes the AF on its way out, so once it is done
 * only the adapter is left to close.
 */
static NDIS_STATUS MinimalUnbind(NDIS_HANDLE UnbindContext, NDIS_HANDLE BindingContext)
{
    PMINIMAL_BINDING b = BindingContext;

    UNREFERENCED_PARAMETER(UnbindContext);
    MinimalStop(b);
    NdisWaitEvent(&b->WorkerDone, 0);
    MinimalCloseAdapter(b);
    MinimalFree(b);
    return NDIS_STATUS_SUCCESS;
}

/*
 * PASSIVE_LEVEL. A paused binding may not send, and the pause lasts until
 * every send is back. This client simply ends its run on a pause instead of
 * resuming it on restart.
 */
static NDIS_STATUS MinimalPnPEvent(NDIS_HANDLE BindingContext,
                                   PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    PMINIMAL_BINDING b = BindingContext;

    if (b != NULL && NetPnPEventNotification->NetPnPEvent.NetEvent == NetEventPause) {
        MinimalStop(b);
        NdisWaitEvent(&b->SendDone, 0);
    }
    return NDIS_STATUS_SUCCESS;
}

/* Inside NdisRegisterProtocolDriver: the one place to add the CoNDIS handler sets. */
static NDIS_STATUS MinimalSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    NDIS_PROTOCOL_CO_CHARACTERISTICS co = { .Header = { NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS,
        NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1 } };
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS cl = { .Header = { NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS,
        NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1,
        NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1 } };
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverContext);
    co.CoStatusHandlerEx = MinimalCoStatus;
    co.CoAfRegisterNotifyHandler = MinimalAfRegisterNotify;
    co.CoReceiveNetBufferListsHandler = MinimalCoReceive;
    co.CoSendNetBufferListsCompleteHandler = MinimalCoSendComplete;
    status = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    /* NDIS wants every client handler, even the ones this client never sees called. */
    cl.ClCreateVcHandler = MinimalCreateVc;
    cl.ClDeleteVcHandler = MinimalDeleteVc;
    cl.ClOidRequestHandler = MinimalCoOidRequest;
    cl.ClOidRequestCompleteHandler = MinimalCoOidRequestComplete;
    cl.ClOpenAfCompleteHandlerEx = MinimalOpenAfComplete;
    cl.ClCloseAfCompleteHandler = MinimalCloseAfComplete;
    cl.ClRegisterSapCompleteHandler = MinimalRegisterSapComplete;
    cl.ClDeregisterSapCompleteHandler = MinimalDeregisterSapComplete;
    cl.ClMakeCallCompleteHandler = MinimalMakeCallComplete;
    cl.ClModifyCallQoSCompleteHandler = MinimalModifyQoSComplete;
    cl.ClCloseCallCompleteHandler = MinimalCloseCallComplete;
    cl.ClAddPartyCompleteHandler = MinimalAddPartyComplete;
    cl.ClDropPartyCompleteHandler = MinimalDropPartyComplete;
    cl.ClIncomingCallHandler = MinimalIncomingCall;
    cl.ClIncomingCallQoSChangeHandler = MinimalIncomingQoSChange;
    cl.ClIncomingCloseCallHandler = MinimalIncomingCloseCall;
    cl.ClIncomingDropPartyHandler = MinimalIncomingDropParty;
    cl.ClCallConnectedHandler = MinimalCallConnected;
    cl.ClNotifyCloseAfHandler = MinimalNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cl);
}

/* Deregistering unbinds whatever is still bound before it returns. */
static VOID MinimalUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisDeregisterProtocolDriver(g_Protocol);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc = { .Header = { NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
        NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 }, .MajorNdisVersion = 6,
        .MinorNdisVersion = 0, .Name = NDIS_STRING_CONST("minimal") };
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    pc.SetOptionsHandler = MinimalSetOptions;
    pc.BindAdapterHandlerEx = MinimalBind;
    pc.UnbindAdapterHandlerEx = MinimalUnbind;
    pc.OpenAdapterCompleteHandlerEx = MinimalOpenAdapterComplete;
    pc.CloseAdapterCompleteHandlerEx = MinimalCloseAdapterComplete;
    pc.NetPnPEventHandler = MinimalPnPEvent;
    pc.OidRequestCompleteHandler = MinimalOidRequestComplete;
    pc.StatusHandlerEx = MinimalStatus;
    pc.ReceiveNetBufferListsHandler = MinimalReceive;
    pc.SendNetBufferListsCompleteHandler = MinimalSendComplete;
    status = NdisRegisterProtocolDriver(NULL, &pc, &g_Protocol);
    if (status == NDIS_STATUS_SUCCESS)
        DriverObject->DriverUnload = MinimalUnload;
    return (NTSTATUS)status;
}
