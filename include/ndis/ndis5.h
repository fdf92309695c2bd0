/*
 * ndis/ndis5.h - the NDIS 5.x driver surface: protocol registration and
 * binding (NDIS_PROTOCOL_CHARACTERISTICS, NdisRegisterProtocol,
 * NdisOpenAdapter, NDIS_REQUEST), CoNDIS 5 clients and call managers
 * (NDIS_CLIENT_CHARACTERISTICS, NDIS_CALL_MANAGER_CHARACTERISTICS,
 * NdisClOpenAddressFamily, NdisCmRegisterAddressFamily), packet-based
 * CoNDIS send and receive (NdisCoSendPackets, NdisMCoSendComplete,
 * NdisMCoIndicateReceivePacket), miniport registration
 * (NDIS_MINIPORT_CHARACTERISTICS, NdisMRegisterMiniport,
 * NdisMSetAttributesEx) and the NDIS 5.x work item.
 *
 * Windows names, field orders and values only; included last through
 * <ndis.h>. A driver selects this surface the Windows way, by defining
 * NDIS50 or NDIS51 (protocol side) and NDIS50_MINIPORT or NDIS51_MINIPORT
 * (miniport side) before including <ndis.h>; ndis/object.h turns those into
 * NDIS_LEGACY_PROTOCOL, NDIS_LEGACY_MINIPORT and NDIS_LEGACY_DRIVER, and the
 * sections below are guarded by the same conditions as in the WDK. An NDIS
 * 6.x driver sees none of it. condis itself defines NDIS_WRAPPER and sees
 * all of it, with the largest version of every structure, because one
 * process serves 5.x and 6.x drivers side by side.
 *
 * Two deliberate differences from the WDK, both forced by plain C11:
 *  - The WDK nests NDIS40_PROTOCOL_CHARACTERISTICS inside
 *    NDIS50_PROTOCOL_CHARACTERISTICS (and NDIS50_MINIPORT_CHARACTERISTICS
 *    inside NDIS51_MINIPORT_CHARACTERISTICS) as an unnamed member of a
 *    typedef'd struct, a Microsoft extension. Here the older version's
 *    fields are written out in place: same names, same order, same layout,
 *    so C driver source that writes Chars.MajorNdisVersion works unchanged.
 *    (C++ source that writes Chars.Ndis40Chars.X does not.)
 *  - The WDK declares the NDIS 5.x handlers only as pointer types
 *    (CO_SEND_COMPLETE_HANDLER and so on) with no function role type, and
 *    so does this header. Handler pointer names that NDIS 6 kept with the
 *    same signature (CO_CREATE_VC_HANDLER, CL_MAKE_CALL_COMPLETE_HANDLER,
 *    CM_OPEN_AF_HANDLER, W_CO_ACTIVATE_VC_HANDLER ...) come from ndis/co.h,
 *    where they are built on the NDIS 6 role types.
 *
 * NDIS_PACKET is defined by ndis/packet.h; this header only needs pointers
 * to it and declares the tag itself so that it does not depend on include
 * order. NdisOpenProtocolConfiguration, NdisOpenConfiguration and the
 * memory allocators are declared in ndis/os.h. NET_PNP_EVENT comes from
 * ndis/protocol.h and NDIS_DEVICE_PNP_EVENT and NDIS_INTERFACE_TYPE from
 * ndis/miniport.h, which <ndis.h> includes first.
 */
#ifndef CONDIS_NDIS_NDIS5_H
#define CONDIS_NDIS_NDIS5_H

#include "types.h"
#include "status.h"
#include "object.h"
#include "co.h" /* the CoNDIS handler types NDIS 5 and 6 share */

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Types shared by every NDIS 5.x driver
 * ====================================================================== */

#if NDIS_LEGACY_DRIVER

/*
 * Packet descriptors, used here through pointers only. C11 allows the same
 * typedef twice, so ndis/packet.h may repeat these lines whatever the
 * include order; the guard only keeps the preprocessed text short.
 */
#ifndef CONDIS_NDIS_PACKET_DECLARED
#define CONDIS_NDIS_PACKET_DECLARED
typedef struct _NDIS_PACKET NDIS_PACKET, *PNDIS_PACKET, **PPNDIS_PACKET;
#endif
#ifndef CONDIS_NDIS_WAN_PACKET_DECLARED
#define CONDIS_NDIS_WAN_PACKET_DECLARED
typedef struct _NDIS_WAN_PACKET NDIS_WAN_PACKET, *PNDIS_WAN_PACKET;
#endif

/*
 * An NDIS 5.x OID request: NdisRequest, NdisCoRequest and the miniport's
 * W_QUERY/SET_INFORMATION and W_CO_REQUEST handlers. The WDK appends the
 * reserved areas only for 5.x builds, so an NDIS 4.0 protocol's request is
 * shorter: condis (which sees the long form) must not touch the fields
 * after DATA in a request that came from a 4.0 protocol.
 */
typedef struct _NDIS_REQUEST {
    UCHAR MacReserved[4 * sizeof(PVOID)];
    NDIS_REQUEST_TYPE RequestType;
    union _DATA {
        struct _QUERY_INFORMATION {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesWritten;
            UINT BytesNeeded;
        } QUERY_INFORMATION;
        struct _SET_INFORMATION {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesRead;
            UINT BytesNeeded;
        } SET_INFORMATION;
    } DATA;
#if defined(NDIS50) || defined(NDIS51) || defined(NDIS50_MINIPORT) || \
    defined(NDIS51_MINIPORT) || CONDIS_NDIS_ALL_VERSIONS
    UCHAR NdisReserved[9 * sizeof(PVOID)];
    union {
        UCHAR CallMgrReserved[2 * sizeof(PVOID)];
        UCHAR ProtocolReserved[2 * sizeof(PVOID)];
    };
    UCHAR MiniportReserved[2 * sizeof(PVOID)];
#endif
} NDIS_REQUEST, *PNDIS_REQUEST;

/* Flag in an NDIS_PACKET's flags: the miniport indicated a frame with errors. */
#define ERRED_PACKET_INDICATION 0x00000001

/* NdisOpenAdapter OpenOptions; deprecated and ignored, kept for old source. */
#define NDIS_OPEN_RECEIVE_NOT_REENTRANT 0x00000001

#endif /* NDIS_LEGACY_DRIVER */

/* ======================================================================
 * The NDIS 5.x work item
 *
 * The routine runs at PASSIVE_LEVEL on a condis worker thread. The
 * NDIS_WORK_ITEM belongs to the driver; it must stay valid, and must not be
 * scheduled again, until its routine has started.
 * ====================================================================== */

struct _NDIS_WORK_ITEM;
typedef VOID (*NDIS_PROC)(struct _NDIS_WORK_ITEM *, PVOID);

typedef struct _NDIS_WORK_ITEM {
    PVOID Context;
    NDIS_PROC Routine;
    UCHAR WrapperReserved[8 * sizeof(PVOID)]; /* condis' bookkeeping */
} NDIS_WORK_ITEM, *PNDIS_WORK_ITEM;

#if NDIS_LEGACY_DRIVER

/* A statement, like the WDK's; it only stores the two fields. */
#define NdisInitializeWorkItem(_WI_, _R_, _C_) \
    do { \
        (_WI_)->Context = (_C_); \
        (_WI_)->Routine = (_R_); \
    } while (0)

/* Any IRQL <= DISPATCH_LEVEL. Returns NDIS_STATUS_SUCCESS once queued. */
_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisScheduleWorkItem(_In_ PNDIS_WORK_ITEM WorkItem);

#endif /* NDIS_LEGACY_DRIVER */

/* ======================================================================
 * Protocol drivers: handler types and characteristics
 * ====================================================================== */

#if NDIS_LEGACY_PROTOCOL

typedef VOID (*OPEN_ADAPTER_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_STATUS Status,
    _In_ NDIS_STATUS OpenErrorStatus);

typedef VOID (*CLOSE_ADAPTER_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_STATUS Status);

typedef VOID (*RESET_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_STATUS Status);

typedef VOID (*REQUEST_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_REQUEST NdisRequest,
    _In_ NDIS_STATUS Status);

typedef VOID (*STATUS_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_STATUS GeneralStatus,
    _In_ PVOID StatusBuffer,
    _In_ UINT StatusBufferSize);

typedef VOID (*STATUS_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext);

/* Connectionless send completion: the protocol owns Packet again. */
typedef VOID (*SEND_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_PACKET Packet,
    _In_ NDIS_STATUS Status);

typedef VOID (*WAN_SEND_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_WAN_PACKET Packet,
    _In_ NDIS_STATUS Status);

typedef VOID (*TRANSFER_DATA_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_PACKET Packet,
    _In_ NDIS_STATUS Status,
    _In_ UINT BytesTransferred);

typedef VOID (*WAN_TRANSFER_DATA_COMPLETE_HANDLER)(VOID);

typedef NDIS_STATUS (*RECEIVE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_HANDLE MacReceiveContext,
    _In_ PVOID HeaderBuffer,
    _In_ UINT HeaderBufferSize,
    _In_ PVOID LookAheadBuffer,
    _In_ UINT LookaheadBufferSize,
    _In_ UINT PacketSize);

typedef NDIS_STATUS (*WAN_RECEIVE_HANDLER)(
    _In_ NDIS_HANDLE NdisLinkHandle,
    _In_ PUCHAR Packet,
    _In_ ULONG PacketSize);

typedef VOID (*RECEIVE_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext);

/* NDIS 4.0 additions. */

/*
 * Connectionless packet receive. Returns how many times the protocol will
 * call NdisReturnPackets for Packet: 0 when it is done with it on return.
 */
typedef INT (*RECEIVE_PACKET_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_PACKET Packet);

/* PASSIVE_LEVEL. May set *Status to NDIS_STATUS_PENDING and finish with
 * NdisCompleteBindAdapter(BindContext, ...). */
typedef VOID (*BIND_HANDLER)(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE BindContext,
    _In_ PNDIS_STRING DeviceName,
    _In_ PVOID SystemSpecific1,
    _In_ PVOID SystemSpecific2);

/* PASSIVE_LEVEL. May pend and finish with NdisCompleteUnbindAdapter. */
typedef VOID (*UNBIND_HANDLER)(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_HANDLE UnbindContext);

/* PASSIVE_LEVEL. May return NDIS_STATUS_PENDING and finish with
 * NdisCompletePnPEvent. */
typedef NDIS_STATUS (*PNP_EVENT_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNET_PNP_EVENT NetPnPEvent);

typedef VOID (*UNLOAD_PROTOCOL_HANDLER)(VOID);

/* An NDIS 3.0 protocol's entry points (registration refuses version 3). */
typedef struct _NDIS30_PROTOCOL_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    union {
        UINT Reserved;
        UINT Flags;
    };
    OPEN_ADAPTER_COMPLETE_HANDLER OpenAdapterCompleteHandler;
    CLOSE_ADAPTER_COMPLETE_HANDLER CloseAdapterCompleteHandler;
    union {
        SEND_COMPLETE_HANDLER SendCompleteHandler;
        WAN_SEND_COMPLETE_HANDLER WanSendCompleteHandler;
    };
    union {
        TRANSFER_DATA_COMPLETE_HANDLER TransferDataCompleteHandler;
        WAN_TRANSFER_DATA_COMPLETE_HANDLER WanTransferDataCompleteHandler;
    };
    RESET_COMPLETE_HANDLER ResetCompleteHandler;
    REQUEST_COMPLETE_HANDLER RequestCompleteHandler;
    union {
        RECEIVE_HANDLER ReceiveHandler;
        WAN_RECEIVE_HANDLER WanReceiveHandler;
    };
    RECEIVE_COMPLETE_HANDLER ReceiveCompleteHandler;
    STATUS_HANDLER StatusHandler;
    STATUS_COMPLETE_HANDLER StatusCompleteHandler;
    NDIS_STRING Name;
} NDIS30_PROTOCOL_CHARACTERISTICS;

/* NDIS 4.0: the 3.0 fields, then packet receive and PnP entry points. */
typedef struct _NDIS40_PROTOCOL_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    union {
        UINT Reserved;
        UINT Flags;
    };
    OPEN_ADAPTER_COMPLETE_HANDLER OpenAdapterCompleteHandler;
    CLOSE_ADAPTER_COMPLETE_HANDLER CloseAdapterCompleteHandler;
    union {
        SEND_COMPLETE_HANDLER SendCompleteHandler;
        WAN_SEND_COMPLETE_HANDLER WanSendCompleteHandler;
    };
    union {
        TRANSFER_DATA_COMPLETE_HANDLER TransferDataCompleteHandler;
        WAN_TRANSFER_DATA_COMPLETE_HANDLER WanTransferDataCompleteHandler;
    };
    RESET_COMPLETE_HANDLER ResetCompleteHandler;
    REQUEST_COMPLETE_HANDLER RequestCompleteHandler;
    union {
        RECEIVE_HANDLER ReceiveHandler;
        WAN_RECEIVE_HANDLER WanReceiveHandler;
    };
    RECEIVE_COMPLETE_HANDLER ReceiveCompleteHandler;
    STATUS_HANDLER StatusHandler;
    STATUS_COMPLETE_HANDLER StatusCompleteHandler;
    NDIS_STRING Name;
    /* NDIS 4.0 */
    RECEIVE_PACKET_HANDLER ReceivePacketHandler;
    BIND_HANDLER BindAdapterHandler;
    UNBIND_HANDLER UnbindAdapterHandler;
    PNP_EVENT_HANDLER PnPEventHandler;
    UNLOAD_PROTOCOL_HANDLER UnloadHandler;
} NDIS40_PROTOCOL_CHARACTERISTICS;

#endif /* NDIS_LEGACY_PROTOCOL */

#if NDIS_LEGACY_DRIVER

/*
 * CoNDIS 5 handlers of clients and call managers. CO_CREATE_VC_HANDLER,
 * CO_DELETE_VC_HANDLER and CO_AF_REGISTER_NOTIFY_HANDLER did not change in
 * NDIS 6 and come from ndis/co.h.
 */

/*
 * Send completion on a VC, at <= DISPATCH_LEVEL. On entry the protocol owns
 * Packet again, with its buffer descriptors, data and out-of-band block;
 * Status is the final status of that packet. Packets of one
 * NdisCoSendPackets call may come back one by one, in any order, some
 * before that call returns.
 */
typedef VOID (*CO_SEND_COMPLETE_HANDLER)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ PNDIS_PACKET Packet);

/* ProtocolVcContext is NULL for a status about the whole adapter. */
typedef VOID (*CO_STATUS_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_opt_ NDIS_HANDLE ProtocolVcContext,
    _In_ NDIS_STATUS GeneralStatus,
    _In_ PVOID StatusBuffer,
    _In_ UINT StatusBufferSize);

/*
 * Receive on a VC, at <= DISPATCH_LEVEL. Returns how many times the
 * protocol will call NdisReturnPackets for Packet; with 0 it has finished
 * with the packet on return. When the packet's status
 * (NDIS_GET_PACKET_STATUS) is NDIS_STATUS_RESOURCES, the packet is lent
 * only for the duration of the call and the protocol must return 0.
 */
typedef UINT (*CO_RECEIVE_PACKET_HANDLER)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ PNDIS_PACKET Packet);

/* An NdisCoRequest arriving at a client or call manager, <= DISPATCH_LEVEL.
 * Returns NDIS_STATUS_PENDING to finish with NdisCoRequestComplete. */
typedef NDIS_STATUS (*CO_REQUEST_HANDLER)(
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_opt_ NDIS_HANDLE ProtocolVcContext,
    _In_opt_ NDIS_HANDLE ProtocolPartyContext,
    _Inout_ PNDIS_REQUEST NdisRequest);

typedef VOID (*CO_REQUEST_COMPLETE_HANDLER)(
    _In_ NDIS_STATUS Status,
    _In_opt_ NDIS_HANDLE ProtocolAfContext,
    _In_opt_ NDIS_HANDLE ProtocolVcContext,
    _In_opt_ NDIS_HANDLE ProtocolPartyContext,
    _In_ PNDIS_REQUEST NdisRequest);

/*
 * The NDIS 5.x open-AF completion; NDIS 6 reordered the arguments as
 * CL_OPEN_AF_COMPLETE_HANDLER_EX. The other client handler types kept their
 * signatures and come from ndis/co.h.
 */
typedef VOID (*CL_OPEN_AF_COMPLETE_HANDLER)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_ NDIS_HANDLE NdisAfHandle);

#endif /* NDIS_LEGACY_DRIVER */

#if NDIS_LEGACY_PROTOCOL

/* NDIS 5.0 and 5.1: the 4.0 fields, four reserved slots, then CoNDIS. */
typedef struct _NDIS50_PROTOCOL_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    union {
        UINT Reserved;
        UINT Flags;
    };
    OPEN_ADAPTER_COMPLETE_HANDLER OpenAdapterCompleteHandler;
    CLOSE_ADAPTER_COMPLETE_HANDLER CloseAdapterCompleteHandler;
    union {
        SEND_COMPLETE_HANDLER SendCompleteHandler;
        WAN_SEND_COMPLETE_HANDLER WanSendCompleteHandler;
    };
    union {
        TRANSFER_DATA_COMPLETE_HANDLER TransferDataCompleteHandler;
        WAN_TRANSFER_DATA_COMPLETE_HANDLER WanTransferDataCompleteHandler;
    };
    RESET_COMPLETE_HANDLER ResetCompleteHandler;
    REQUEST_COMPLETE_HANDLER RequestCompleteHandler;
    union {
        RECEIVE_HANDLER ReceiveHandler;
        WAN_RECEIVE_HANDLER WanReceiveHandler;
    };
    RECEIVE_COMPLETE_HANDLER ReceiveCompleteHandler;
    STATUS_HANDLER StatusHandler;
    STATUS_COMPLETE_HANDLER StatusCompleteHandler;
    NDIS_STRING Name;
    /* NDIS 4.0 */
    RECEIVE_PACKET_HANDLER ReceivePacketHandler;
    BIND_HANDLER BindAdapterHandler;
    UNBIND_HANDLER UnbindAdapterHandler;
    PNP_EVENT_HANDLER PnPEventHandler;
    UNLOAD_PROTOCOL_HANDLER UnloadHandler;
    /* NDIS 5.0 */
    PVOID ReservedHandlers[4];
    CO_SEND_COMPLETE_HANDLER CoSendCompleteHandler;
    CO_STATUS_HANDLER CoStatusHandler;
    CO_RECEIVE_PACKET_HANDLER CoReceivePacketHandler;
    CO_AF_REGISTER_NOTIFY_HANDLER CoAfRegisterNotifyHandler;
} NDIS50_PROTOCOL_CHARACTERISTICS;

/*
 * As in the WDK, NDIS 5.0 and 5.1 protocols use the 5.0 structure (there is
 * no NDIS51_PROTOCOL_CHARACTERISTICS) and NDIS 4.0 protocols the 4.0 one.
 * condis' own code gets the 5.0 structure and reads only as far as the
 * driver's MajorNdisVersion and CharacteristicsLength allow.
 */
#if defined(NDIS50) || defined(NDIS51) || CONDIS_NDIS_ALL_VERSIONS || \
    NDIS_PROTOCOL_MAJOR_VERSION == 5
typedef NDIS50_PROTOCOL_CHARACTERISTICS NDIS_PROTOCOL_CHARACTERISTICS;
#else
typedef NDIS40_PROTOCOL_CHARACTERISTICS NDIS_PROTOCOL_CHARACTERISTICS;
#endif
typedef NDIS_PROTOCOL_CHARACTERISTICS *PNDIS_PROTOCOL_CHARACTERISTICS;

/* ---- CoNDIS 5 clients ------------------------------------------------- */

/*
 * A client's entry points for one address family, passed to
 * NdisClOpenAddressFamily (NDIS 6 clients use
 * NDIS_CO_CLIENT_OPTIONAL_HANDLERS instead).
 */
typedef struct _NDIS_CLIENT_CHARACTERISTICS {
    UCHAR MajorVersion;
    UCHAR MinorVersion;
    USHORT Filler;
    UINT Reserved;
    CO_CREATE_VC_HANDLER ClCreateVcHandler;
    CO_DELETE_VC_HANDLER ClDeleteVcHandler;
    CO_REQUEST_HANDLER ClRequestHandler;
    CO_REQUEST_COMPLETE_HANDLER ClRequestCompleteHandler;
    CL_OPEN_AF_COMPLETE_HANDLER ClOpenAfCompleteHandler;
    CL_CLOSE_AF_COMPLETE_HANDLER ClCloseAfCompleteHandler;
    CL_REG_SAP_COMPLETE_HANDLER ClRegisterSapCompleteHandler;
    CL_DEREG_SAP_COMPLETE_HANDLER ClDeregisterSapCompleteHandler;
    CL_MAKE_CALL_COMPLETE_HANDLER ClMakeCallCompleteHandler;
    CL_MODIFY_CALL_QOS_COMPLETE_HANDLER ClModifyCallQoSCompleteHandler;
    CL_CLOSE_CALL_COMPLETE_HANDLER ClCloseCallCompleteHandler;
    CL_ADD_PARTY_COMPLETE_HANDLER ClAddPartyCompleteHandler;
    CL_DROP_PARTY_COMPLETE_HANDLER ClDropPartyCompleteHandler;
    CL_INCOMING_CALL_HANDLER ClIncomingCallHandler;
    CL_INCOMING_CALL_QOS_CHANGE_HANDLER ClIncomingCallQoSChangeHandler;
    CL_INCOMING_CLOSE_CALL_HANDLER ClIncomingCloseCallHandler;
    CL_INCOMING_DROP_PARTY_HANDLER ClIncomingDropPartyHandler;
    CL_CALL_CONNECTED_HANDLER ClCallConnectedHandler;
} NDIS_CLIENT_CHARACTERISTICS, *PNDIS_CLIENT_CHARACTERISTICS;

#endif /* NDIS_LEGACY_PROTOCOL */

#if NDIS_LEGACY_DRIVER

/* ---- CoNDIS 5 call managers (stand-alone and miniport) ------------------ */

/*
 * A call manager's entry points for one address family, passed to
 * NdisCmRegisterAddressFamily or NdisMCmRegisterAddressFamily (NDIS 6
 * call managers use NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS instead). The
 * CM_* handler types come from ndis/co.h.
 */
typedef struct _NDIS_CALL_MANAGER_CHARACTERISTICS {
    UCHAR MajorVersion;
    UCHAR MinorVersion;
    USHORT Filler;
    UINT Reserved;
    CO_CREATE_VC_HANDLER CmCreateVcHandler;
    CO_DELETE_VC_HANDLER CmDeleteVcHandler;
    CM_OPEN_AF_HANDLER CmOpenAfHandler;
    CM_CLOSE_AF_HANDLER CmCloseAfHandler;
    CM_REG_SAP_HANDLER CmRegisterSapHandler;
    CM_DEREG_SAP_HANDLER CmDeregisterSapHandler;
    CM_MAKE_CALL_HANDLER CmMakeCallHandler;
    CM_CLOSE_CALL_HANDLER CmCloseCallHandler;
    CM_INCOMING_CALL_COMPLETE_HANDLER CmIncomingCallCompleteHandler;
    CM_ADD_PARTY_HANDLER CmAddPartyHandler;
    CM_DROP_PARTY_HANDLER CmDropPartyHandler;
    CM_ACTIVATE_VC_COMPLETE_HANDLER CmActivateVcCompleteHandler;
    CM_DEACTIVATE_VC_COMPLETE_HANDLER CmDeactivateVcCompleteHandler;
    CM_MODIFY_CALL_QOS_HANDLER CmModifyCallQoSHandler;
    CO_REQUEST_HANDLER CmRequestHandler;
    CO_REQUEST_COMPLETE_HANDLER CmRequestCompleteHandler;
} NDIS_CALL_MANAGER_CHARACTERISTICS, *PNDIS_CALL_MANAGER_CHARACTERISTICS;

#endif /* NDIS_LEGACY_DRIVER */

/* ======================================================================
 * Protocol drivers: functions
 * ====================================================================== */

#if NDIS_LEGACY_PROTOCOL

/*
 * From DriverEntry, at PASSIVE_LEVEL. ProtocolCharacteristics is copied;
 * CharacteristicsLength must cover the structure of the MajorNdisVersion it
 * names (else NDIS_STATUS_BAD_CHARACTERISTICS; version 3 or below 4 is
 * NDIS_STATUS_BAD_VERSION). Name must match the protocol's service name.
 */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisRegisterProtocol(
    _Out_ PNDIS_STATUS Status,
    _Out_ PNDIS_HANDLE NdisProtocolHandle,
    _In_ PNDIS_PROTOCOL_CHARACTERISTICS ProtocolCharacteristics,
    _In_ UINT CharacteristicsLength);

/* PASSIVE_LEVEL, after every binding has been closed. */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisDeregisterProtocol(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisProtocolHandle);

/*
 * From ProtocolBindAdapter, at PASSIVE_LEVEL. On NDIS_STATUS_PENDING the
 * outcome arrives at OpenAdapterCompleteHandler and *NdisBindingHandle is
 * valid only from then; SelectedMediumIndex must stay valid until then.
 * AddressingInformation is ignored.
 */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisOpenAdapter(
    _Out_ PNDIS_STATUS Status,
    _Out_ PNDIS_STATUS OpenErrorStatus,
    _Out_ PNDIS_HANDLE NdisBindingHandle,
    _Out_ PUINT SelectedMediumIndex,
    _In_reads_(MediumArraySize) PNDIS_MEDIUM MediumArray,
    _In_ UINT MediumArraySize,
    _In_ NDIS_HANDLE NdisProtocolHandle,
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNDIS_STRING AdapterName,
    _In_ UINT OpenOptions,
    _In_opt_ PSTRING AddressingInformation);

/* PASSIVE_LEVEL, with no sends or requests outstanding on the binding.
 * NDIS_STATUS_PENDING completes through CloseAdapterCompleteHandler. */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisCloseAdapter(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisBindingHandle);

/* Finishes a ProtocolBindAdapter that returned NDIS_STATUS_PENDING. */
VOID NdisCompleteBindAdapter(
    _In_ NDIS_HANDLE BindAdapterContext,
    _In_ NDIS_STATUS Status,
    _In_ NDIS_STATUS OpenStatus);

/* Finishes a ProtocolUnbindAdapter that returned NDIS_STATUS_PENDING. */
VOID NdisCompleteUnbindAdapter(
    _In_ NDIS_HANDLE UnbindAdapterContext,
    _In_ NDIS_STATUS Status);

/* Finishes a ProtocolPnPEvent that returned NDIS_STATUS_PENDING. */
VOID NdisCompletePnPEvent(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PNET_PNP_EVENT NetPnPEvent);

/*
 * A query or set on the binding, <= DISPATCH_LEVEL. The caller owns
 * NdisRequest and its InformationBuffer until *Status is not
 * NDIS_STATUS_PENDING or, if it is, until RequestCompleteHandler.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisRequest(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PNDIS_REQUEST NdisRequest);

/* NDIS_STATUS_PENDING completes through ResetCompleteHandler. */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisReset(
    _Out_ PNDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisBindingHandle);

/*
 * Gives back packets that a receive handler kept (it returned a non-zero
 * count), <= DISPATCH_LEVEL. Each call drops one of the references the
 * handler announced; when the last is gone the packet goes back to the
 * miniport's MiniportReturnPacket. On return the caller must not touch
 * the packets, their buffers or data.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisReturnPackets(
    _In_reads_(NumberOfPackets) PNDIS_PACKET *PacketsToReturn,
    _In_ UINT NumberOfPackets);

/*
 * Sends packets on an active VC, <= DISPATCH_LEVEL. On entry the caller
 * owns the packets; on return it does not, and must not touch them, their
 * buffers, data or out-of-band blocks (nor read their status) until
 * CoSendCompleteHandler gives each back exactly once, with its final
 * status, possibly before this call returns. The array itself stays the
 * caller's. A send on a VC that is not active comes back through the
 * completion handler with a failure status, never dropped.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisCoSendPackets(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_reads_(NumberOfPackets) PPNDIS_PACKET PacketArray,
    _In_ UINT NumberOfPackets);

/*
 * A request to the miniport (NdisAfHandle NULL) or to the other side of an
 * address family, <= DISPATCH_LEVEL. NdisRequest and its buffer belong to
 * NDIS until the call returns something other than NDIS_STATUS_PENDING or,
 * if it pends, until the caller's ProtocolCoRequestComplete is called.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisCoRequest(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_opt_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _Inout_ PNDIS_REQUEST NdisRequest);

/* Finishes a CoRequestHandler that returned NDIS_STATUS_PENDING. */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisCoRequestComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _In_ PNDIS_REQUEST NdisRequest);

/*
 * Opens an address family for a client, at PASSIVE_LEVEL, usually from
 * CoAfRegisterNotifyHandler. ClCharacteristics is copied; its size is
 * SizeOfClCharacteristics. NDIS_STATUS_PENDING completes through
 * ClOpenAfCompleteHandler, and *NdisAfHandle is valid only from then.
 */
_IRQL_requires_(PASSIVE_LEVEL)
NDIS_STATUS NdisClOpenAddressFamily(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily,
    _In_ NDIS_HANDLE ClientAfContext,
    _In_ PNDIS_CLIENT_CHARACTERISTICS ClCharacteristics,
    _In_ UINT SizeOfClCharacteristics,
    _Out_ PNDIS_HANDLE NdisAfHandle);

#endif /* NDIS_LEGACY_PROTOCOL */

#if NDIS_LEGACY_DRIVER

/*
 * Registers an address family on a binding for a stand-alone call manager,
 * at PASSIVE_LEVEL. CmCharacteristics is copied; its size is
 * SizeOfCmCharacteristics.
 */
_IRQL_requires_(PASSIVE_LEVEL)
NDIS_STATUS NdisCmRegisterAddressFamily(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily,
    _In_ PNDIS_CALL_MANAGER_CHARACTERISTICS CmCharacteristics,
    _In_ UINT SizeOfCmCharacteristics);

/* The same for a miniport call manager, from MiniportInitialize. */
_IRQL_requires_(PASSIVE_LEVEL)
NDIS_STATUS NdisMCmRegisterAddressFamily(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily,
    _In_ PNDIS_CALL_MANAGER_CHARACTERISTICS CmCharacteristics,
    _In_ UINT SizeOfCmCharacteristics);

#endif /* NDIS_LEGACY_DRIVER */

/* ======================================================================
 * Miniport drivers: handler types and characteristics
 * ====================================================================== */

#if NDIS_LEGACY_MINIPORT

typedef BOOLEAN (*W_CHECK_FOR_HANG_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef VOID (*W_DISABLE_INTERRUPT_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef VOID (*W_ENABLE_INTERRUPT_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef VOID (*W_HALT_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef VOID (*W_HANDLE_INTERRUPT_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

/*
 * PASSIVE_LEVEL. MiniportAdapterContext is the adapter handle NDIS gives
 * the miniport; the miniport's own context is registered with
 * NdisMSetAttributesEx before returning.
 */
typedef NDIS_STATUS (*W_INITIALIZE_HANDLER)(
    _Out_ PNDIS_STATUS OpenErrorStatus,
    _Out_ PUINT SelectedMediumIndex,
    _In_ PNDIS_MEDIUM MediumArray,
    _In_ UINT MediumArraySize,
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE WrapperConfigurationContext);

typedef VOID (*W_ISR_HANDLER)(
    _Out_ PBOOLEAN InterruptRecognized,
    _Out_ PBOOLEAN QueueMiniportHandleInterrupt,
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef NDIS_STATUS (*W_QUERY_INFORMATION_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_OID Oid,
    _In_ PVOID InformationBuffer,
    _In_ ULONG InformationBufferLength,
    _Out_ PULONG BytesWritten,
    _Out_ PULONG BytesNeeded);

typedef NDIS_STATUS (*W_RECONFIGURE_HANDLER)(
    _Out_ PNDIS_STATUS OpenErrorStatus,
    _In_opt_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE WrapperConfigurationContext);

typedef NDIS_STATUS (*W_RESET_HANDLER)(
    _Out_ PBOOLEAN AddressingReset,
    _In_ NDIS_HANDLE MiniportAdapterContext);

typedef NDIS_STATUS (*W_SEND_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ PNDIS_PACKET Packet,
    _In_ UINT Flags);

typedef NDIS_STATUS (*WM_SEND_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE NdisLinkHandle,
    _In_ PNDIS_WAN_PACKET Packet);

typedef NDIS_STATUS (*W_SET_INFORMATION_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_OID Oid,
    _In_ PVOID InformationBuffer,
    _In_ ULONG InformationBufferLength,
    _Out_ PULONG BytesRead,
    _Out_ PULONG BytesNeeded);

typedef NDIS_STATUS (*W_TRANSFER_DATA_HANDLER)(
    _Out_ PNDIS_PACKET Packet,
    _Out_ PUINT BytesTransferred,
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE MiniportReceiveContext,
    _In_ UINT ByteOffset,
    _In_ UINT BytesToTransfer);

typedef NDIS_STATUS (*WM_TRANSFER_DATA_HANDLER)(VOID);

/* Registered with NdisMRegisterAdapterShutdownHandler. */
typedef VOID (*ADAPTER_SHUTDOWN_HANDLER)(
    _In_ PVOID ShutdownContext);

/* NDIS 4.0 additions. */

/*
 * A packet the miniport indicated comes back, <= DISPATCH_LEVEL: on entry
 * the miniport owns it again, with its buffers and data, and may reuse it.
 */
typedef VOID (*W_RETURN_PACKET_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ PNDIS_PACKET Packet);

typedef VOID (*W_SEND_PACKETS_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ PPNDIS_PACKET PacketArray,
    _In_ UINT NumberOfPackets);

typedef VOID (*W_ALLOCATE_COMPLETE_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ PVOID VirtualAddress,
    _In_ PNDIS_PHYSICAL_ADDRESS PhysicalAddress,
    _In_ ULONG Length,
    _In_ PVOID Context);

/*
 * NDIS 5.0 CoNDIS additions. W_CO_CREATE_VC_HANDLER,
 * W_CO_DELETE_VC_HANDLER, W_CO_ACTIVATE_VC_HANDLER and
 * W_CO_DEACTIVATE_VC_HANDLER did not change in NDIS 6 and come from
 * ndis/co.h.
 */

/*
 * Send on a VC, <= DISPATCH_LEVEL. On entry the miniport owns the packets
 * (not the array, which is only valid during the call) until it passes
 * each one, exactly once, to NdisMCoSendComplete; it may do so before
 * returning. The packets of one call may be completed in any order.
 */
typedef VOID (*W_CO_SEND_PACKETS_HANDLER)(
    _In_ NDIS_HANDLE MiniportVcContext,
    _In_ PPNDIS_PACKET PacketArray,
    _In_ UINT NumberOfPackets);

/* MiniportVcContext is NULL for a request about the whole adapter.
 * Returns NDIS_STATUS_PENDING to finish with NdisMCoRequestComplete. */
typedef NDIS_STATUS (*W_CO_REQUEST_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_opt_ NDIS_HANDLE MiniportVcContext,
    _Inout_ PNDIS_REQUEST NdisRequest);

/* An NDIS 3.0 miniport's entry points. */
typedef struct _NDIS30_MINIPORT_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    UINT Reserved;
    W_CHECK_FOR_HANG_HANDLER CheckForHangHandler;
    W_DISABLE_INTERRUPT_HANDLER DisableInterruptHandler;
    W_ENABLE_INTERRUPT_HANDLER EnableInterruptHandler;
    W_HALT_HANDLER HaltHandler;
    W_HANDLE_INTERRUPT_HANDLER HandleInterruptHandler;
    W_INITIALIZE_HANDLER InitializeHandler;
    W_ISR_HANDLER ISRHandler;
    W_QUERY_INFORMATION_HANDLER QueryInformationHandler;
    W_RECONFIGURE_HANDLER ReconfigureHandler;
    W_RESET_HANDLER ResetHandler;
    union {
        W_SEND_HANDLER SendHandler;
        WM_SEND_HANDLER WanSendHandler;
    };
    W_SET_INFORMATION_HANDLER SetInformationHandler;
    union {
        W_TRANSFER_DATA_HANDLER TransferDataHandler;
        WM_TRANSFER_DATA_HANDLER WanTransferDataHandler;
    };
} NDIS30_MINIPORT_CHARACTERISTICS;

/* NDIS 4.0: the 3.0 fields, then packet return and multi-packet send. */
typedef struct _NDIS40_MINIPORT_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    UINT Reserved;
    W_CHECK_FOR_HANG_HANDLER CheckForHangHandler;
    W_DISABLE_INTERRUPT_HANDLER DisableInterruptHandler;
    W_ENABLE_INTERRUPT_HANDLER EnableInterruptHandler;
    W_HALT_HANDLER HaltHandler;
    W_HANDLE_INTERRUPT_HANDLER HandleInterruptHandler;
    W_INITIALIZE_HANDLER InitializeHandler;
    W_ISR_HANDLER ISRHandler;
    W_QUERY_INFORMATION_HANDLER QueryInformationHandler;
    W_RECONFIGURE_HANDLER ReconfigureHandler;
    W_RESET_HANDLER ResetHandler;
    union {
        W_SEND_HANDLER SendHandler;
        WM_SEND_HANDLER WanSendHandler;
    };
    W_SET_INFORMATION_HANDLER SetInformationHandler;
    union {
        W_TRANSFER_DATA_HANDLER TransferDataHandler;
        WM_TRANSFER_DATA_HANDLER WanTransferDataHandler;
    };
    /* NDIS 4.0 */
    W_RETURN_PACKET_HANDLER ReturnPacketHandler;
    W_SEND_PACKETS_HANDLER SendPacketsHandler;
    W_ALLOCATE_COMPLETE_HANDLER AllocateCompleteHandler;
} NDIS40_MINIPORT_CHARACTERISTICS;

/* NDIS 5.0: the 4.0 fields, then the CoNDIS entry points. */
typedef struct _NDIS50_MINIPORT_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    UINT Reserved;
    W_CHECK_FOR_HANG_HANDLER CheckForHangHandler;
    W_DISABLE_INTERRUPT_HANDLER DisableInterruptHandler;
    W_ENABLE_INTERRUPT_HANDLER EnableInterruptHandler;
    W_HALT_HANDLER HaltHandler;
    W_HANDLE_INTERRUPT_HANDLER HandleInterruptHandler;
    W_INITIALIZE_HANDLER InitializeHandler;
    W_ISR_HANDLER ISRHandler;
    W_QUERY_INFORMATION_HANDLER QueryInformationHandler;
    W_RECONFIGURE_HANDLER ReconfigureHandler;
    W_RESET_HANDLER ResetHandler;
    union {
        W_SEND_HANDLER SendHandler;
        WM_SEND_HANDLER WanSendHandler;
    };
    W_SET_INFORMATION_HANDLER SetInformationHandler;
    union {
        W_TRANSFER_DATA_HANDLER TransferDataHandler;
        WM_TRANSFER_DATA_HANDLER WanTransferDataHandler;
    };
    /* NDIS 4.0 */
    W_RETURN_PACKET_HANDLER ReturnPacketHandler;
    W_SEND_PACKETS_HANDLER SendPacketsHandler;
    W_ALLOCATE_COMPLETE_HANDLER AllocateCompleteHandler;
    /* NDIS 5.0 */
    W_CO_CREATE_VC_HANDLER CoCreateVcHandler;
    W_CO_DELETE_VC_HANDLER CoDeleteVcHandler;
    W_CO_ACTIVATE_VC_HANDLER CoActivateVcHandler;
    W_CO_DEACTIVATE_VC_HANDLER CoDeactivateVcHandler;
    W_CO_SEND_PACKETS_HANDLER CoSendPacketsHandler;
    W_CO_REQUEST_HANDLER CoRequestHandler;
} NDIS50_MINIPORT_CHARACTERISTICS;

#if CONDIS_NDIS_ALL_VERSIONS || \
    (NDIS_MINIPORT_MAJOR_VERSION == 5 && NDIS_MINIPORT_MINOR_VERSION == 1)

/* NDIS 5.1 additions. */

typedef VOID (*W_CANCEL_SEND_PACKETS_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ PVOID CancelId);

typedef VOID (*W_PNP_EVENT_NOTIFY_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_DEVICE_PNP_EVENT DevicePnPEvent,
    _In_ PVOID InformationBuffer,
    _In_ ULONG InformationBufferLength);

typedef VOID (*W_MINIPORT_SHUTDOWN_HANDLER)(
    _In_ NDIS_HANDLE MiniportAdapterContext);

/* NDIS 5.1: the 5.0 fields, then cancel, PnP and shutdown entry points. */
typedef struct _NDIS51_MINIPORT_CHARACTERISTICS {
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    USHORT Filler;
    UINT Reserved;
    W_CHECK_FOR_HANG_HANDLER CheckForHangHandler;
    W_DISABLE_INTERRUPT_HANDLER DisableInterruptHandler;
    W_ENABLE_INTERRUPT_HANDLER EnableInterruptHandler;
    W_HALT_HANDLER HaltHandler;
    W_HANDLE_INTERRUPT_HANDLER HandleInterruptHandler;
    W_INITIALIZE_HANDLER InitializeHandler;
    W_ISR_HANDLER ISRHandler;
    W_QUERY_INFORMATION_HANDLER QueryInformationHandler;
    W_RECONFIGURE_HANDLER ReconfigureHandler;
    W_RESET_HANDLER ResetHandler;
    union {
        W_SEND_HANDLER SendHandler;
        WM_SEND_HANDLER WanSendHandler;
    };
    W_SET_INFORMATION_HANDLER SetInformationHandler;
    union {
        W_TRANSFER_DATA_HANDLER TransferDataHandler;
        WM_TRANSFER_DATA_HANDLER WanTransferDataHandler;
    };
    /* NDIS 4.0 */
    W_RETURN_PACKET_HANDLER ReturnPacketHandler;
    W_SEND_PACKETS_HANDLER SendPacketsHandler;
    W_ALLOCATE_COMPLETE_HANDLER AllocateCompleteHandler;
    /* NDIS 5.0 */
    W_CO_CREATE_VC_HANDLER CoCreateVcHandler;
    W_CO_DELETE_VC_HANDLER CoDeleteVcHandler;
    W_CO_ACTIVATE_VC_HANDLER CoActivateVcHandler;
    W_CO_DEACTIVATE_VC_HANDLER CoDeactivateVcHandler;
    W_CO_SEND_PACKETS_HANDLER CoSendPacketsHandler;
    W_CO_REQUEST_HANDLER CoRequestHandler;
    /* NDIS 5.1 */
    W_CANCEL_SEND_PACKETS_HANDLER CancelSendPacketsHandler;
    W_PNP_EVENT_NOTIFY_HANDLER PnPEventNotifyHandler;
    W_MINIPORT_SHUTDOWN_HANDLER AdapterShutdownHandler;
    PVOID Reserved1;
    PVOID Reserved2;
    PVOID Reserved3;
    PVOID Reserved4;
} NDIS51_MINIPORT_CHARACTERISTICS;

#endif /* 5.1 or NDIS itself */

/*
 * The WDK picks the structure from NDIS51_MINIPORT / NDIS50_MINIPORT;
 * condis uses the miniport version ndis/object.h derived from them, which
 * also gives an NDIS 5.x protocol-only driver a consistent answer, and
 * gives its own code (NDIS_WRAPPER) the largest structure.
 */
#if CONDIS_NDIS_ALL_VERSIONS || \
    (NDIS_MINIPORT_MAJOR_VERSION == 5 && NDIS_MINIPORT_MINOR_VERSION == 1)
typedef struct _NDIS51_MINIPORT_CHARACTERISTICS NDIS_MINIPORT_CHARACTERISTICS;
#elif NDIS_MINIPORT_MAJOR_VERSION == 5
typedef struct _NDIS50_MINIPORT_CHARACTERISTICS NDIS_MINIPORT_CHARACTERISTICS;
#elif defined(NDIS40_MINIPORT)
typedef struct _NDIS40_MINIPORT_CHARACTERISTICS NDIS_MINIPORT_CHARACTERISTICS;
#else
typedef struct _NDIS30_MINIPORT_CHARACTERISTICS NDIS_MINIPORT_CHARACTERISTICS;
#endif
typedef NDIS_MINIPORT_CHARACTERISTICS *PNDIS_MINIPORT_CHARACTERISTICS;
typedef NDIS_MINIPORT_CHARACTERISTICS NDIS_WAN_MINIPORT_CHARACTERISTICS;

/* NdisMSetAttributesEx AttributeFlags. */
#define NDIS_ATTRIBUTE_IGNORE_PACKET_TIMEOUT       0x00000001
#define NDIS_ATTRIBUTE_IGNORE_REQUEST_TIMEOUT      0x00000002
#define NDIS_ATTRIBUTE_IGNORE_TOKEN_RING_ERRORS    0x00000004
#define NDIS_ATTRIBUTE_BUS_MASTER                  0x00000008
#define NDIS_ATTRIBUTE_INTERMEDIATE_DRIVER         0x00000010
#define NDIS_ATTRIBUTE_DESERIALIZE                 0x00000020
#define NDIS_ATTRIBUTE_NO_HALT_ON_SUSPEND          0x00000040
#define NDIS_ATTRIBUTE_SURPRISE_REMOVE_OK          0x00000080
#define NDIS_ATTRIBUTE_NOT_CO_NDIS                 0x00000100
#define NDIS_ATTRIBUTE_USES_SAFE_BUFFER_APIS       0x00000200
#define NDIS_ATTRIBUTE_DO_NOT_BIND_TO_ALL_CO       0x00000400
#define NDIS_ATTRIBUTE_MINIPORT_PADS_SHORT_PACKETS 0x00000800

/* ======================================================================
 * Miniport drivers: functions
 * ====================================================================== */

/*
 * From DriverEntry, at PASSIVE_LEVEL: SystemSpecific1 and 2 are the
 * DriverEntry arguments (driver object, registry path); SystemSpecific3 is
 * NULL. On failure *NdisWrapperHandle is NULL.
 */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisInitializeWrapper(
    _Out_ PNDIS_HANDLE NdisWrapperHandle,
    _In_ PVOID SystemSpecific1,
    _In_ PVOID SystemSpecific2,
    _In_ PVOID SystemSpecific3);

#define NdisMInitializeWrapper(_a, _b, _c, _d) \
    NdisInitializeWrapper((_a), (_b), (_c), (_d))

/* Undoes NdisInitializeWrapper when DriverEntry fails after it;
 * SystemSpecific is NULL. */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisTerminateWrapper(
    _In_ NDIS_HANDLE NdisWrapperHandle,
    _In_opt_ PVOID SystemSpecific);

/*
 * From DriverEntry, at PASSIVE_LEVEL. MiniportCharacteristics is copied;
 * CharacteristicsLength must cover the structure of the MajorNdisVersion
 * and MinorNdisVersion it names, else NDIS_STATUS_BAD_CHARACTERISTICS.
 */
_IRQL_requires_(PASSIVE_LEVEL)
NDIS_STATUS NdisMRegisterMiniport(
    _In_ NDIS_HANDLE NdisWrapperHandle,
    _In_ PNDIS_MINIPORT_CHARACTERISTICS MiniportCharacteristics,
    _In_ UINT CharacteristicsLength);

_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisMRegisterUnloadHandler(
    _In_ NDIS_HANDLE NdisWrapperHandle,
    _In_ PDRIVER_UNLOAD UnloadHandler);

/*
 * From MiniportInitialize, before anything else with the adapter handle:
 * tells NDIS the miniport's adapter context and how it behaves. A CoNDIS
 * miniport sets NDIS_ATTRIBUTE_DESERIALIZE (CoNDIS miniports are always
 * deserialized).
 */
_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisMSetAttributesEx(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_opt_ UINT CheckForHangTimeInSeconds,
    _In_ ULONG AttributeFlags,
    _In_opt_ NDIS_INTERFACE_TYPE AdapterType);

#define NdisMSetAttributes(_H_, _C_, _M_, _T_) \
    NdisMSetAttributesEx((_H_), (_C_), 0, (_M_) ? NDIS_ATTRIBUTE_BUS_MASTER : 0, (_T_))

_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisMRegisterAdapterShutdownHandler(
    _In_ NDIS_HANDLE MiniportHandle,
    _In_ PVOID ShutdownContext,
    _In_ ADAPTER_SHUTDOWN_HANDLER ShutdownHandler);

_IRQL_requires_(PASSIVE_LEVEL)
VOID NdisMDeregisterAdapterShutdownHandler(
    _In_ NDIS_HANDLE MiniportHandle);

/*
 * Completes one packet sent on a VC, <= DISPATCH_LEVEL. On entry the
 * miniport owns Packet; on return it does not and must not touch it again.
 * Status is the packet's final status (never NDIS_STATUS_PENDING); it goes
 * to the protocol's CoSendCompleteHandler. Each packet is completed once,
 * on the VC it was sent on.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoSendComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PNDIS_PACKET Packet);

/*
 * Indicates received packets on a VC, <= DISPATCH_LEVEL. A packet whose
 * status (NDIS_SET_PACKET_STATUS) is NDIS_STATUS_RESOURCES is the
 * miniport's again as soon as this call returns; any other packet is lent
 * until the miniport's ReturnPacketHandler gets it back. The array itself
 * stays the miniport's.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoIndicateReceivePacket(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_reads_(NumberOfPackets) PPNDIS_PACKET PacketArray,
    _In_ UINT NumberOfPackets);

/* Tells the protocols above that a burst of receive indications is over,
 * so that they may process what they queued. */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoReceiveComplete(
    _In_ NDIS_HANDLE MiniportAdapterHandle);

/* NdisVcHandle NULL: a status about the whole adapter. */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoIndicateStatus(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_ NDIS_STATUS GeneralStatus,
    _In_opt_ PVOID StatusBuffer,
    _In_ ULONG StatusBufferSize);

/* Finishes a CoRequestHandler that returned NDIS_STATUS_PENDING. */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoRequestComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ PNDIS_REQUEST Request);

/* A miniport call manager's request to the client on an address family,
 * VC or party. */
_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisMCmRequest(
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _Inout_ PNDIS_REQUEST NdisRequest);

/* As in the WDK, an MCM completes requests through NdisCoRequestComplete. */
#define NdisMCmRequestComplete(_S_, _AH_, _VH_, _PH_, _R_) \
    NdisCoRequestComplete(_S_, _AH_, _VH_, _PH_, _R_)

#endif /* NDIS_LEGACY_MINIPORT */

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_NDIS5_H */
