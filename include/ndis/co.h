/*
 * ndis/co.h - the connection-oriented (CoNDIS) surface of NDIS 6.x:
 * address families, SAPs, call parameters, the CoNDIS characteristics and
 * optional-handler structures, the role type of every CoNDIS handler, and
 * the NdisCo*, NdisCl*, NdisCm*, NdisMCo* and NdisMCm* functions.
 *
 * Windows names, field orders and values only; included last through
 * <ndis.h>, after the base, status, object, NBL, protocol and miniport
 * headers.
 *
 * NET_BUFFER_LIST, NDIS_OID_REQUEST and NDIS_STATUS_INDICATION are used here
 * only through pointers, spelled with their WDK structure tags, so that this
 * header does not depend on the order in which their owners define the
 * typedefs; a driver may still write PNET_BUFFER_LIST in its handlers, which
 * is the same type.
 *
 * Ownership on the data path (the numbered rules are in docs/lifetime.md and
 * the verifier's RULES.md) is written at each declaration that moves an NBL.
 */
#ifndef CONDIS_NDIS_CO_H
#define CONDIS_NDIS_CO_H

#include "types.h"
#include "status.h"
#include "object.h"

#ifdef __cplusplus
extern "C" {
#endif

struct _NET_BUFFER_LIST;
struct _NDIS_OID_REQUEST;
struct _NDIS_STATUS_INDICATION;

/*
 * The WDK aligns a few members to pointer size on 64-bit Windows; the same
 * rule keeps CO_MEDIA_PARAMETERS laid out as a Windows driver expects.
 */
#ifndef POINTER_ALIGNMENT
#define POINTER_ALIGNMENT DECLSPEC_ALIGN(8)
#endif

/* ---- quality of service (the WDK takes these from qos.h) ---------------- */
#ifndef CONDIS_NDIS_QOS_DEFINED
#define CONDIS_NDIS_QOS_DEFINED

typedef ULONG SERVICETYPE;

#define SERVICETYPE_NOTRAFFIC           0x00000000
#define SERVICETYPE_BESTEFFORT          0x00000001
#define SERVICETYPE_CONTROLLEDLOAD      0x00000002
#define SERVICETYPE_GUARANTEED          0x00000003
#define SERVICETYPE_NETWORK_UNAVAILABLE 0x00000004
#define SERVICETYPE_GENERAL_INFORMATION 0x00000005
#define SERVICETYPE_NOCHANGE            0x00000006
#define SERVICETYPE_NONCONFORMING       0x00000009
#define SERVICETYPE_NETWORK_CONTROL     0x0000000A
#define SERVICETYPE_QUALITATIVE         0x0000000D

/* A FLOWSPEC member left to the other side or to the default. */
#define QOS_NOT_SPECIFIED      0xFFFFFFFF
#define POSITIVE_INFINITY_RATE 0xFFFFFFFE

/*
 * One direction of a call's traffic. MaxSduSize is the largest packet the
 * VC carries in that direction: a call manager fills it in Transmit and
 * Receive of CO_CALL_MANAGER_PARAMETERS.
 */
typedef struct _flowspec {
    ULONG TokenRate;          /* bytes per second */
    ULONG TokenBucketSize;    /* bytes */
    ULONG PeakBandwidth;      /* bytes per second */
    ULONG Latency;            /* microseconds */
    ULONG DelayVariation;     /* microseconds */
    SERVICETYPE ServiceType;
    ULONG MaxSduSize;         /* bytes */
    ULONG MinimumPolicedSize; /* bytes */
} FLOWSPEC, *PFLOWSPEC, *LPFLOWSPEC;

#endif /* CONDIS_NDIS_QOS_DEFINED */

/* ---- address families (ntddndis.h on Windows) --------------------------- */
typedef ULONG NDIS_AF, *PNDIS_AF;

#define CO_ADDRESS_FAMILY_Q2931      ((NDIS_AF)0x1)
#define CO_ADDRESS_FAMILY_PSCHED     ((NDIS_AF)0x2)
#define CO_ADDRESS_FAMILY_L2TP       ((NDIS_AF)0x3)
#define CO_ADDRESS_FAMILY_IRDA       ((NDIS_AF)0x4)
#define CO_ADDRESS_FAMILY_1394       ((NDIS_AF)0x5)
#define CO_ADDRESS_FAMILY_PPP        ((NDIS_AF)0x6)
#define CO_ADDRESS_FAMILY_INFINIBAND ((NDIS_AF)0x7)
#define CO_ADDRESS_FAMILY_TAPI       ((NDIS_AF)0x800)
#define CO_ADDRESS_FAMILY_TAPI_PROXY ((NDIS_AF)0x801)

/* OR-ed into a base family by a call manager that proxies it. */
#define CO_ADDRESS_FAMILY_PROXY 0x80000000

typedef struct {
    NDIS_AF AddressFamily; /* one of CO_ADDRESS_FAMILY_* */
    ULONG MajorVersion;    /* of the call manager */
    ULONG MinorVersion;
} CO_ADDRESS_FAMILY, *PCO_ADDRESS_FAMILY;

/* A service access point; Sap is SapLength bytes long. */
typedef struct {
    ULONG SapType;
    ULONG SapLength;
    UCHAR Sap[1];
} CO_SAP, *PCO_SAP;

/* OID_GEN_CO_LINK_SPEED and OID_GEN_CO_MINIMUM_LINK_SPEED, in 100 bps. */
typedef struct _NDIS_CO_LINK_SPEED {
    ULONG Outbound;
    ULONG Inbound;
} NDIS_CO_LINK_SPEED, *PNDIS_CO_LINK_SPEED;

/* ---- addresses and call parameters -------------------------------------- */

/* Send flag for ATM adapters: set the cell loss priority bit. */
#define CO_SEND_FLAG_SET_DISCARD_ELIBILITY 0x00000001

/* An address added to or deleted from a call manager; Address is
 * AddressSize bytes long. */
typedef struct _CO_ADDRESS {
    ULONG AddressSize;
    UCHAR Address[1];
} CO_ADDRESS, *PCO_ADDRESS;

/* The addresses a call manager returns; AddressList is the first of
 * NumberOfAddresses packed CO_ADDRESS entries. */
typedef struct _CO_ADDRESS_LIST {
    ULONG NumberOfAddressesAvailable;
    ULONG NumberOfAddresses;
    CO_ADDRESS AddressList;
} CO_ADDRESS_LIST, *PCO_ADDRESS_LIST;

/* Call-manager-, media- or PVC-specific data; Parameters is Length bytes. */
typedef struct _CO_SPECIFIC_PARAMETERS {
    ULONG ParamType;
    ULONG Length;
    UCHAR Parameters[1];
} CO_SPECIFIC_PARAMETERS, *PCO_SPECIFIC_PARAMETERS;

/*
 * What a call manager needs to set up a call. CallMgrSpecific is variable
 * length, so this structure is allocated with room for its Parameters.
 */
typedef struct _CO_CALL_MANAGER_PARAMETERS {
    FLOWSPEC Transmit;
    FLOWSPEC Receive;
    CO_SPECIFIC_PARAMETERS CallMgrSpecific;
} CO_CALL_MANAGER_PARAMETERS, *PCO_CALL_MANAGER_PARAMETERS;

/* What a miniport needs to activate a VC; MediaSpecific is variable length. */
typedef struct _CO_MEDIA_PARAMETERS {
    ULONG Flags;
    ULONG ReceivePriority;
    ULONG ReceiveSizeHint;
    CO_SPECIFIC_PARAMETERS POINTER_ALIGNMENT MediaSpecific;
} CO_MEDIA_PARAMETERS, *PCO_MEDIA_PARAMETERS;

/* CO_MEDIA_PARAMETERS.Flags */
#define RECEIVE_TIME_INDICATION 0x00000001
#define USE_TIME_STAMPS         0x00000002
#define TRANSMIT_VC             0x00000004
#define RECEIVE_VC              0x00000008
#define INDICATE_ERRED_PACKETS  0x00000010
#define INDICATE_END_OF_TX      0x00000020
#define RESERVE_RESOURCES_VC    0x00000040
#define ROUND_DOWN_FLOW         0x00000080
#define ROUND_UP_FLOW           0x00000100

/* The parameters of a call, passed to every call setup and QoS change. */
typedef struct _CO_CALL_PARAMETERS {
    ULONG Flags;
    PCO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    PCO_MEDIA_PARAMETERS MediaParameters;
} CO_CALL_PARAMETERS, *PCO_CALL_PARAMETERS;

/* CO_CALL_PARAMETERS.Flags */
#define PERMANENT_VC            0x00000001
#define CALL_PARAMETERS_CHANGED 0x00000002
#define QUERY_CALL_PARAMETERS   0x00000004
#define BROADCAST_VC            0x00000008
#define MULTIPOINT_VC           0x00000010

/* ---- TAPI call identifiers ---------------------------------------------- */
#ifndef __NDISTAPI_VAR_STRING_DECLARED
#define __NDISTAPI_VAR_STRING_DECLARED
typedef struct _VAR_STRING {
    ULONG ulTotalSize;
    ULONG ulNeededSize;
    ULONG ulUsedSize;
    ULONG ulStringFormat;
    ULONG ulStringSize;
    ULONG ulStringOffset;
} VAR_STRING, *PVAR_STRING;
#endif

#ifndef __NDISTAPI_STRINGFORMATS_DEFINED
#define __NDISTAPI_STRINGFORMATS_DEFINED
#define STRINGFORMAT_ASCII   0x00000001
#define STRINGFORMAT_DBCS    0x00000002
#define STRINGFORMAT_UNICODE 0x00000003
#define STRINGFORMAT_BINARY  0x00000004
#endif

/* ===== handlers common to clients and call managers ====================== */

/*
 * Called at <= DISPATCH_LEVEL when a VC is created by the other side of an
 * address family (an incoming call, or a call manager's signalling VC).
 */
typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_CREATE_VC)
NDIS_STATUS (PROTOCOL_CO_CREATE_VC)(
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_ NDIS_HANDLE NdisVcHandle,
    _Out_ PNDIS_HANDLE ProtocolVcContext);
typedef PROTOCOL_CO_CREATE_VC (*CO_CREATE_VC_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_DELETE_VC)
NDIS_STATUS (PROTOCOL_CO_DELETE_VC)(
    _In_ NDIS_HANDLE ProtocolVcContext);
typedef PROTOCOL_CO_DELETE_VC (*CO_DELETE_VC_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_OID_REQUEST)
NDIS_STATUS (PROTOCOL_CO_OID_REQUEST)(
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ NDIS_HANDLE ProtocolPartyContext,
    _Inout_ struct _NDIS_OID_REQUEST *OidRequest);
typedef PROTOCOL_CO_OID_REQUEST (*CO_OID_REQUEST_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_OID_REQUEST_COMPLETE)
VOID (PROTOCOL_CO_OID_REQUEST_COMPLETE)(
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ NDIS_HANDLE ProtocolPartyContext,
    _Inout_ struct _NDIS_OID_REQUEST *OidRequest,
    _In_ NDIS_STATUS Status);
typedef PROTOCOL_CO_OID_REQUEST_COMPLETE (*CO_OID_REQUEST_COMPLETE_HANDLER);

/* ===== protocol CoNDIS characteristics =================================== */

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_STATUS_EX)
VOID (PROTOCOL_CO_STATUS_EX)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ struct _NDIS_STATUS_INDICATION *StatusIndication);
typedef PROTOCOL_CO_STATUS_EX (*CO_STATUS_HANDLER_EX);

/* Called at PASSIVE_LEVEL when a call manager registers a family on a
 * binding the protocol has open. */
typedef _IRQL_requires_(PASSIVE_LEVEL) _Function_class_(PROTOCOL_CO_AF_REGISTER_NOTIFY)
VOID (PROTOCOL_CO_AF_REGISTER_NOTIFY)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PCO_ADDRESS_FAMILY AddressFamily);
typedef PROTOCOL_CO_AF_REGISTER_NOTIFY (*CO_AF_REGISTER_NOTIFY_HANDLER);

/*
 * Receive on a VC, at <= DISPATCH_LEVEL. On entry the protocol owns the
 * NBLs until it returns them with NdisReturnNetBufferLists; if ReceiveFlags
 * carries NDIS_RECEIVE_FLAGS_RESOURCES it owns them only until this handler
 * returns and must not return them.
 */
typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS)
VOID (PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG NumberOfNetBufferLists,
    _In_ ULONG ReceiveFlags);
typedef PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS (*CO_RECEIVE_NET_BUFFER_LISTS_HANDLER);

/*
 * Send completion, at <= DISPATCH_LEVEL (SendCompleteFlags carries
 * NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL when at DISPATCH_LEVEL). On entry
 * the protocol owns the NBLs again, with their NET_BUFFERs, MDLs and data;
 * each NBL's final status is in NET_BUFFER_LIST_STATUS. The chain may hold
 * NBLs from several sends, in any order. Rules OWN-1..7, NBL-3, IRQL-1.
 */
typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE)
VOID (PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE)(
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG SendCompleteFlags);
typedef PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE (*CO_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER);

/*
 * Passed to NdisSetOptionalHandlers from ProtocolSetOptions. Header.Type is
 * NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS.
 */
typedef struct _NDIS_PROTOCOL_CO_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags; /* reserved */
    CO_STATUS_HANDLER_EX CoStatusHandlerEx;
    CO_AF_REGISTER_NOTIFY_HANDLER CoAfRegisterNotifyHandler;
    CO_RECEIVE_NET_BUFFER_LISTS_HANDLER CoReceiveNetBufferListsHandler;
    CO_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER CoSendNetBufferListsCompleteHandler;
} NDIS_PROTOCOL_CO_CHARACTERISTICS, *PNDIS_PROTOCOL_CO_CHARACTERISTICS;

#define NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1 1
#define NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_CO_CHARACTERISTICS, \
                             CoSendNetBufferListsCompleteHandler)

/* ===== client handlers (NDIS_CO_CLIENT_OPTIONAL_HANDLERS) ================ */

typedef _IRQL_requires_(PASSIVE_LEVEL) _Function_class_(PROTOCOL_CL_OPEN_AF_COMPLETE_EX)
VOID (PROTOCOL_CL_OPEN_AF_COMPLETE_EX)(
    _In_ NDIS_HANDLE ProtocolAfContext,
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_STATUS Status);
typedef PROTOCOL_CL_OPEN_AF_COMPLETE_EX (*CL_OPEN_AF_COMPLETE_HANDLER_EX);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_CLOSE_AF_COMPLETE)
VOID (PROTOCOL_CL_CLOSE_AF_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolAfContext);
typedef PROTOCOL_CL_CLOSE_AF_COMPLETE (*CL_CLOSE_AF_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_REGISTER_SAP_COMPLETE)
VOID (PROTOCOL_CL_REGISTER_SAP_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolSapContext,
    _In_ PCO_SAP Sap,
    _In_ NDIS_HANDLE NdisSapHandle);
typedef PROTOCOL_CL_REGISTER_SAP_COMPLETE (*CL_REG_SAP_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_DEREGISTER_SAP_COMPLETE)
VOID (PROTOCOL_CL_DEREGISTER_SAP_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolSapContext);
typedef PROTOCOL_CL_DEREGISTER_SAP_COMPLETE (*CL_DEREG_SAP_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_MAKE_CALL_COMPLETE)
VOID (PROTOCOL_CL_MAKE_CALL_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CL_MAKE_CALL_COMPLETE (*CL_MAKE_CALL_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE)
VOID (PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE (*CL_MODIFY_CALL_QOS_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_CLOSE_CALL_COMPLETE)
VOID (PROTOCOL_CL_CLOSE_CALL_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_opt_ NDIS_HANDLE ProtocolPartyContext);
typedef PROTOCOL_CL_CLOSE_CALL_COMPLETE (*CL_CLOSE_CALL_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_ADD_PARTY_COMPLETE)
VOID (PROTOCOL_CL_ADD_PARTY_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolPartyContext,
    _In_ NDIS_HANDLE NdisPartyHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CL_ADD_PARTY_COMPLETE (*CL_ADD_PARTY_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_DROP_PARTY_COMPLETE)
VOID (PROTOCOL_CL_DROP_PARTY_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE ProtocolPartyContext);
typedef PROTOCOL_CL_DROP_PARTY_COMPLETE (*CL_DROP_PARTY_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_INCOMING_CALL)
NDIS_STATUS (PROTOCOL_CL_INCOMING_CALL)(
    _In_ NDIS_HANDLE ProtocolSapContext,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _Inout_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CL_INCOMING_CALL (*CL_INCOMING_CALL_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE)
VOID (PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE)(
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE (*CL_INCOMING_CALL_QOS_CHANGE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_INCOMING_CLOSE_CALL)
VOID (PROTOCOL_CL_INCOMING_CLOSE_CALL)(
    _In_ NDIS_STATUS CloseStatus,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _In_opt_ PVOID CloseData,
    _In_opt_ UINT Size);
typedef PROTOCOL_CL_INCOMING_CLOSE_CALL (*CL_INCOMING_CLOSE_CALL_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_INCOMING_DROP_PARTY)
VOID (PROTOCOL_CL_INCOMING_DROP_PARTY)(
    _In_ NDIS_STATUS DropStatus,
    _In_ NDIS_HANDLE ProtocolPartyContext,
    _In_opt_ PVOID CloseData,
    _In_opt_ UINT Size);
typedef PROTOCOL_CL_INCOMING_DROP_PARTY (*CL_INCOMING_DROP_PARTY_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_CALL_CONNECTED)
VOID (PROTOCOL_CL_CALL_CONNECTED)(
    _In_ NDIS_HANDLE ProtocolVcContext);
typedef PROTOCOL_CL_CALL_CONNECTED (*CL_CALL_CONNECTED_HANDLER);

/* Returns NDIS_STATUS_PENDING to finish with
 * NdisClNotifyCloseAddressFamilyComplete. */
typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CL_NOTIFY_CLOSE_AF)
NDIS_STATUS (PROTOCOL_CL_NOTIFY_CLOSE_AF)(
    _In_ NDIS_HANDLE ClientAfContext);
typedef PROTOCOL_CL_NOTIFY_CLOSE_AF (*CL_NOTIFY_CLOSE_AF_HANDLER);

/*
 * Passed to NdisSetOptionalHandlers from ProtocolSetOptions. Every member
 * must be set; handlers for unsupported operations return
 * NDIS_STATUS_NOT_SUPPORTED. Header.Type is
 * NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS.
 */
typedef struct _NDIS_CO_CLIENT_OPTIONAL_HANDLERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Reserved;
    CO_CREATE_VC_HANDLER ClCreateVcHandler;
    CO_DELETE_VC_HANDLER ClDeleteVcHandler;
    CO_OID_REQUEST_HANDLER ClOidRequestHandler;
    CO_OID_REQUEST_COMPLETE_HANDLER ClOidRequestCompleteHandler;
    CL_OPEN_AF_COMPLETE_HANDLER_EX ClOpenAfCompleteHandlerEx;
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
    CL_NOTIFY_CLOSE_AF_HANDLER ClNotifyCloseAfHandler;
} NDIS_CO_CLIENT_OPTIONAL_HANDLERS, *PNDIS_CO_CLIENT_OPTIONAL_HANDLERS;

#define NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1 1
#define NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_CO_CLIENT_OPTIONAL_HANDLERS, ClNotifyCloseAfHandler)

/* ===== call manager handlers (also used by MCMs) ========================= */

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_OPEN_AF)
NDIS_STATUS (PROTOCOL_CM_OPEN_AF)(
    _In_ NDIS_HANDLE CallMgrBindingContext,
    _In_ PCO_ADDRESS_FAMILY AddressFamily,
    _In_ NDIS_HANDLE NdisAfHandle,
    _Out_ PNDIS_HANDLE CallMgrAfContext);
typedef PROTOCOL_CM_OPEN_AF (*CM_OPEN_AF_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_CLOSE_AF)
NDIS_STATUS (PROTOCOL_CM_CLOSE_AF)(
    _In_ NDIS_HANDLE CallMgrAfContext);
typedef PROTOCOL_CM_CLOSE_AF (*CM_CLOSE_AF_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_REG_SAP)
NDIS_STATUS (PROTOCOL_CM_REG_SAP)(
    _In_ NDIS_HANDLE CallMgrAfContext,
    _In_ PCO_SAP Sap,
    _In_ NDIS_HANDLE NdisSapHandle,
    _Out_ PNDIS_HANDLE CallMgrSapContext);
typedef PROTOCOL_CM_REG_SAP (*CM_REG_SAP_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_DEREGISTER_SAP)
NDIS_STATUS (PROTOCOL_CM_DEREGISTER_SAP)(
    _In_ NDIS_HANDLE CallMgrSapContext);
typedef PROTOCOL_CM_DEREGISTER_SAP (*CM_DEREG_SAP_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_MAKE_CALL)
NDIS_STATUS (PROTOCOL_CM_MAKE_CALL)(
    _In_ NDIS_HANDLE CallMgrVcContext,
    _Inout_ PCO_CALL_PARAMETERS CallParameters,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _Out_opt_ PNDIS_HANDLE CallMgrPartyContext);
typedef PROTOCOL_CM_MAKE_CALL (*CM_MAKE_CALL_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_CLOSE_CALL)
NDIS_STATUS (PROTOCOL_CM_CLOSE_CALL)(
    _In_ NDIS_HANDLE CallMgrVcContext,
    _In_opt_ NDIS_HANDLE CallMgrPartyContext,
    _In_opt_ PVOID CloseData,
    _In_opt_ UINT Size);
typedef PROTOCOL_CM_CLOSE_CALL (*CM_CLOSE_CALL_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_MODIFY_QOS_CALL)
NDIS_STATUS (PROTOCOL_CM_MODIFY_QOS_CALL)(
    _In_ NDIS_HANDLE CallMgrVcContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CM_MODIFY_QOS_CALL (*CM_MODIFY_CALL_QOS_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_INCOMING_CALL_COMPLETE)
VOID (PROTOCOL_CM_INCOMING_CALL_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE CallMgrVcContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CM_INCOMING_CALL_COMPLETE (*CM_INCOMING_CALL_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_ACTIVATE_VC_COMPLETE)
VOID (PROTOCOL_CM_ACTIVATE_VC_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE CallMgrVcContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);
typedef PROTOCOL_CM_ACTIVATE_VC_COMPLETE (*CM_ACTIVATE_VC_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_DEACTIVATE_VC_COMPLETE)
VOID (PROTOCOL_CM_DEACTIVATE_VC_COMPLETE)(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE CallMgrVcContext);
typedef PROTOCOL_CM_DEACTIVATE_VC_COMPLETE (*CM_DEACTIVATE_VC_COMPLETE_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_ADD_PARTY)
NDIS_STATUS (PROTOCOL_CM_ADD_PARTY)(
    _In_ NDIS_HANDLE CallMgrVcContext,
    _Inout_ PCO_CALL_PARAMETERS CallParameters,
    _In_ NDIS_HANDLE NdisPartyHandle,
    _Out_ PNDIS_HANDLE CallMgrPartyContext);
typedef PROTOCOL_CM_ADD_PARTY (*CM_ADD_PARTY_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_DROP_PARTY)
NDIS_STATUS (PROTOCOL_CM_DROP_PARTY)(
    _In_ NDIS_HANDLE CallMgrPartyContext,
    _In_opt_ PVOID CloseData,
    _In_opt_ UINT Size);
typedef PROTOCOL_CM_DROP_PARTY (*CM_DROP_PARTY_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE)
VOID (PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE)(
    _In_ NDIS_HANDLE CallMgrAfContext,
    _In_ NDIS_STATUS Status);
typedef PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE (*CM_NOTIFY_CLOSE_AF_COMPLETE_HANDLER);

/*
 * Passed to NdisSetOptionalHandlers by a call manager (from
 * ProtocolSetOptions) or an MCM (from MiniportSetOptions). Every member must
 * be set. For an MCM, NDIS passes the NdisAfHandle, not the adapter
 * context, to CmCreateVcHandler and CmDeleteVcHandler, and
 * CmOidRequestHandler must not be the MCM's MiniportCoOidRequest. Header.Type
 * is NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS.
 */
typedef struct _NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Reserved;
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
    CO_OID_REQUEST_HANDLER CmOidRequestHandler;
    CO_OID_REQUEST_COMPLETE_HANDLER CmOidRequestCompleteHandler;
    CM_NOTIFY_CLOSE_AF_COMPLETE_HANDLER CmNotifyCloseAfCompleteHandler;
} NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS, *PNDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS;

#define NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1 1
#define NDIS_SIZEOF_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS, \
                             CmNotifyCloseAfCompleteHandler)

/* ===== miniport CoNDIS characteristics =================================== */

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_CREATE_VC)
NDIS_STATUS (MINIPORT_CO_CREATE_VC)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE NdisVcHandle,
    _Out_ PNDIS_HANDLE MiniportVcContext);
typedef MINIPORT_CO_CREATE_VC (*W_CO_CREATE_VC_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_DELETE_VC)
NDIS_STATUS (MINIPORT_CO_DELETE_VC)(
    _In_ NDIS_HANDLE MiniportVcContext);
typedef MINIPORT_CO_DELETE_VC (*W_CO_DELETE_VC_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_ACTIVATE_VC)
NDIS_STATUS (MINIPORT_CO_ACTIVATE_VC)(
    _In_ NDIS_HANDLE MiniportVcContext,
    _Inout_ PCO_CALL_PARAMETERS CallParameters);
typedef MINIPORT_CO_ACTIVATE_VC (*W_CO_ACTIVATE_VC_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_DEACTIVATE_VC)
NDIS_STATUS (MINIPORT_CO_DEACTIVATE_VC)(
    _In_ NDIS_HANDLE MiniportVcContext);
typedef MINIPORT_CO_DEACTIVATE_VC (*W_CO_DEACTIVATE_VC_HANDLER);

/*
 * Send on a VC, at <= DISPATCH_LEVEL (SendFlags carries
 * NDIS_SEND_FLAGS_DISPATCH_LEVEL when at DISPATCH_LEVEL). On entry the
 * miniport owns the NBL chain until it passes each NBL, exactly once and
 * with NET_BUFFER_LIST_STATUS set, to NdisMCoSendNetBufferListsComplete; it
 * may complete inline. Rules OWN-4..7, NBL-3.
 */
typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_SEND_NET_BUFFER_LISTS)
VOID (MINIPORT_CO_SEND_NET_BUFFER_LISTS)(
    _In_ NDIS_HANDLE MiniportVcContext,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG SendFlags);
typedef MINIPORT_CO_SEND_NET_BUFFER_LISTS (*W_CO_SEND_NET_BUFFER_LISTS_HANDLER);

typedef _IRQL_requires_max_(DISPATCH_LEVEL) _Function_class_(MINIPORT_CO_OID_REQUEST)
NDIS_STATUS (MINIPORT_CO_OID_REQUEST)(
    _In_ NDIS_HANDLE MiniportAdapterContext,
    _In_ NDIS_HANDLE MiniportVcContext,
    _Inout_ struct _NDIS_OID_REQUEST *OidRequest);
typedef MINIPORT_CO_OID_REQUEST (*W_CO_OID_REQUEST_HANDLER);

/*
 * Passed to NdisSetOptionalHandlers from MiniportSetOptions. Header.Type is
 * NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS.
 */
typedef struct _NDIS_MINIPORT_CO_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags; /* reserved */
    W_CO_CREATE_VC_HANDLER CoCreateVcHandler;
    W_CO_DELETE_VC_HANDLER CoDeleteVcHandler;
    W_CO_ACTIVATE_VC_HANDLER CoActivateVcHandler;
    W_CO_DEACTIVATE_VC_HANDLER CoDeactivateVcHandler;
    W_CO_SEND_NET_BUFFER_LISTS_HANDLER CoSendNetBufferListsHandler;
    W_CO_OID_REQUEST_HANDLER CoOidRequestHandler;
} NDIS_MINIPORT_CO_CHARACTERISTICS, *PNDIS_MINIPORT_CO_CHARACTERISTICS;

#define NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_CO_CHARACTERISTICS, CoOidRequestHandler)

/* ===== functions for every CoNDIS driver ================================= */

NDIS_STATUS NdisCoAssignInstanceName(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PNDIS_STRING BaseInstanceName,
    _Out_opt_ PNDIS_STRING VcInstanceName);

/* A client passes the NdisAfHandle of the AF the VC belongs to; a call
 * manager creating a VC for itself passes NULL. */
NDIS_STATUS NdisCoCreateVc(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_opt_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_HANDLE ProtocolVcContext,
    _Inout_ PNDIS_HANDLE NdisVcHandle);

/* Only by the VC's creator, on a deactivated VC with nothing outstanding
 * (rule VC-3). */
NDIS_STATUS NdisCoDeleteVc(
    _In_ NDIS_HANDLE NdisVcHandle);

NDIS_STATUS NdisCoGetTapiCallId(
    _In_ NDIS_HANDLE NdisVcHandle,
    _Inout_ PVAR_STRING TapiCallId);

/*
 * Sends a chain of NBLs on an active VC, at <= DISPATCH_LEVEL. On entry the
 * caller owns the chain; on return it does not, and must neither read nor
 * write the NBLs, their NET_BUFFERs, MDLs or data, nor read their status,
 * until ProtocolCoSendNetBufferListsComplete gives each back exactly once,
 * possibly before this call returns. Each NBL's SourceHandle must be
 * NdisVcHandle. A send on a VC that is not active comes back through the
 * completion handler with a failure status, never dropped. Rules OWN-1..3,
 * NBL-1, NBL-2, NBL-4, VC-1, IRQL-1.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisCoSendNetBufferLists(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG SendFlags);

/* Returns NDIS_STATUS_PENDING when the target completes later through its
 * Protocol/MiniportCoOidRequest and the caller's ProtocolCoOidRequestComplete. */
_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisCoOidRequest(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_opt_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _Inout_ struct _NDIS_OID_REQUEST *OidRequest);

_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisCoOidRequestComplete(
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _In_ struct _NDIS_OID_REQUEST *OidRequest,
    _In_ NDIS_STATUS Status);

/* ===== functions for CoNDIS miniports ==================================== */

/*
 * Gives sent NBLs back, at <= DISPATCH_LEVEL. On entry the miniport owns the
 * chain, each NBL with its final NET_BUFFER_LIST_STATUS (never
 * NDIS_STATUS_PENDING); on return it owns none of it and must not touch it
 * again. The chain may mix NBLs of several sends on this VC in any order,
 * but each NBL goes back once, on the VC it was sent on. Set
 * NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL only when at DISPATCH_LEVEL.
 * Rules OWN-4..7, NBL-3, VC-4, IRQL-1.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoSendNetBufferListsComplete(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG SendCompleteFlags);

/*
 * Indicates received NBLs on a VC, at <= DISPATCH_LEVEL. Unless
 * CoReceiveFlags carries NDIS_RECEIVE_FLAGS_RESOURCES, the miniport gives
 * up the NBLs until its MiniportReturnNetBufferLists gets them back; with
 * that flag it owns them again as soon as this call returns.
 */
_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoIndicateReceiveNetBufferLists(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ struct _NET_BUFFER_LIST *NetBufferLists,
    _In_ ULONG NumberOfNetBufferLists,
    _In_ ULONG CoReceiveFlags);

_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoIndicateStatusEx(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_ struct _NDIS_STATUS_INDICATION *StatusIndication);

_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoActivateVcComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoDeactivateVcComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle);

_IRQL_requires_max_(DISPATCH_LEVEL)
VOID NdisMCoOidRequestComplete(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ NDIS_HANDLE NdisMiniportVcHandle,
    _In_ struct _NDIS_OID_REQUEST *Request,
    _In_ NDIS_STATUS Status);

/* ===== functions for clients ============================================= */

_IRQL_requires_(PASSIVE_LEVEL)
NDIS_STATUS NdisClOpenAddressFamilyEx(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily,
    _In_ NDIS_HANDLE ClientAfContext,
    _Out_ PNDIS_HANDLE NdisAfHandle);

NDIS_STATUS NdisClCloseAddressFamily(
    _In_ NDIS_HANDLE NdisAfHandle);

VOID NdisClNotifyCloseAddressFamilyComplete(
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_STATUS Status);

NDIS_STATUS NdisClRegisterSap(
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_HANDLE ProtocolSapContext,
    _In_ PCO_SAP Sap,
    _Out_ PNDIS_HANDLE NdisSapHandle);

NDIS_STATUS NdisClDeregisterSap(
    _In_ NDIS_HANDLE NdisSapHandle);

NDIS_STATUS NdisClMakeCall(
    _In_ NDIS_HANDLE NdisVcHandle,
    _Inout_ PCO_CALL_PARAMETERS CallParameters,
    _In_opt_ NDIS_HANDLE ProtocolPartyContext,
    _Out_opt_ PNDIS_HANDLE NdisPartyHandle);

/* Not while sends are outstanding on the VC (rule VC-2). */
NDIS_STATUS NdisClCloseCall(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _In_reads_bytes_opt_(Size) PVOID Buffer,
    _In_ UINT Size);

NDIS_STATUS NdisClModifyCallQoS(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisClIncomingCallComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

NDIS_STATUS NdisClAddParty(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ NDIS_HANDLE ProtocolPartyContext,
    _Inout_ PCO_CALL_PARAMETERS CallParameters,
    _Out_ PNDIS_HANDLE NdisPartyHandle);

NDIS_STATUS NdisClDropParty(
    _In_ NDIS_HANDLE NdisPartyHandle,
    _In_reads_bytes_opt_(Size) PVOID Buffer,
    _In_opt_ UINT Size);

NDIS_STATUS NdisClGetProtocolVcContextFromTapiCallId(
    _In_ UNICODE_STRING TapiCallId,
    _Out_ PNDIS_HANDLE ProtocolVcContext);

/* ===== functions for stand-alone call managers =========================== */

NDIS_STATUS NdisCmRegisterAddressFamilyEx(
    _In_ NDIS_HANDLE NdisBindingHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily);

VOID NdisCmOpenAddressFamilyComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_HANDLE CallMgrAfContext);

VOID NdisCmCloseAddressFamilyComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisAfHandle);

NDIS_STATUS NdisCmNotifyCloseAddressFamily(
    _In_ NDIS_HANDLE NdisAfHandle);

VOID NdisCmRegisterSapComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisSapHandle,
    _In_ NDIS_HANDLE CallMgrSapContext);

VOID NdisCmDeregisterSapComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisSapHandle);

NDIS_STATUS NdisCmActivateVc(
    _In_ NDIS_HANDLE NdisVcHandle,
    _Inout_ PCO_CALL_PARAMETERS CallParameters);

NDIS_STATUS NdisCmDeactivateVc(
    _In_ NDIS_HANDLE NdisVcHandle);

VOID NdisCmMakeCallComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _In_opt_ NDIS_HANDLE CallMgrPartyContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisCmCloseCallComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle);

VOID NdisCmAddPartyComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisPartyHandle,
    _In_opt_ NDIS_HANDLE CallMgrPartyContext,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisCmDropPartyComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisPartyHandle);

NDIS_STATUS NdisCmDispatchIncomingCall(
    _In_ NDIS_HANDLE NdisSapHandle,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisCmDispatchCallConnected(
    _In_ NDIS_HANDLE NdisVcHandle);

VOID NdisCmModifyCallQoSComplete(
    _In_ NDIS_STATUS Status,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisCmDispatchIncomingCallQoSChange(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

VOID NdisCmDispatchIncomingCloseCall(
    _In_ NDIS_STATUS CloseStatus,
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_reads_bytes_opt_(Size) PVOID Buffer,
    _In_ UINT Size);

VOID NdisCmDispatchIncomingDropParty(
    _In_ NDIS_STATUS DropStatus,
    _In_ NDIS_HANDLE NdisPartyHandle,
    _In_reads_bytes_opt_(Size) PVOID Buffer,
    _In_ UINT Size);

/* ===== functions for miniport call managers (MCMs) ======================= */

NDIS_STATUS NdisMCmRegisterAddressFamilyEx(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ PCO_ADDRESS_FAMILY AddressFamily);

_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisMCmCreateVc(
    _In_ NDIS_HANDLE MiniportAdapterHandle,
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_ NDIS_HANDLE MiniportVcContext,
    _Out_ PNDIS_HANDLE NdisVcHandle);

_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisMCmDeleteVc(
    _In_ NDIS_HANDLE NdisVcHandle);

_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisMCmActivateVc(
    _In_ NDIS_HANDLE NdisVcHandle,
    _In_ PCO_CALL_PARAMETERS CallParameters);

_IRQL_requires_max_(DISPATCH_LEVEL)
NDIS_STATUS NdisMCmDeactivateVc(
    _In_ NDIS_HANDLE NdisVcHandle);

NDIS_STATUS NdisMCmOidRequest(
    _In_ NDIS_HANDLE NdisAfHandle,
    _In_opt_ NDIS_HANDLE NdisVcHandle,
    _In_opt_ NDIS_HANDLE NdisPartyHandle,
    _Inout_ struct _NDIS_OID_REQUEST *NdisOidRequest);

/*
 * The rest of the MCM interface is the call manager one under another name:
 * Windows defines these as macros, so an MCM links against the NdisCm* and
 * NdisCo* functions above.
 */
#define NdisMCmOpenAddressFamilyComplete(_S_, _H_, _C_) \
    NdisCmOpenAddressFamilyComplete(_S_, _H_, _C_)
#define NdisMCmCloseAddressFamilyComplete(_S_, _H_) \
    NdisCmCloseAddressFamilyComplete(_S_, _H_)
#define NdisMCmNotifyCloseAddressFamily(_AH_) \
    NdisCmNotifyCloseAddressFamily(_AH_)
#define NdisMCmRegisterSapComplete(_S_, _H_, _C_) \
    NdisCmRegisterSapComplete(_S_, _H_, _C_)
#define NdisMCmDeregisterSapComplete(_S_, _H_) \
    NdisCmDeregisterSapComplete(_S_, _H_)
#define NdisMCmMakeCallComplete(_S_, _VH_, _PH_, _CC_, _CP_) \
    NdisCmMakeCallComplete(_S_, _VH_, _PH_, _CC_, _CP_)
#define NdisMCmCloseCallComplete(_S_, _VH_, _PH_) \
    NdisCmCloseCallComplete(_S_, _VH_, _PH_)
#define NdisMCmAddPartyComplete(_S_, _H_, _C_, _P_) \
    NdisCmAddPartyComplete(_S_, _H_, _C_, _P_)
#define NdisMCmDropPartyComplete(_S_, _H_) \
    NdisCmDropPartyComplete(_S_, _H_)
#define NdisMCmDispatchIncomingCall(_SH_, _VH_, _CP_) \
    NdisCmDispatchIncomingCall(_SH_, _VH_, _CP_)
#define NdisMCmDispatchCallConnected(_H_) \
    NdisCmDispatchCallConnected(_H_)
#define NdisMCmModifyCallQoSComplete(_S_, _H_, _P_) \
    NdisCmModifyCallQoSComplete(_S_, _H_, _P_)
#define NdisMCmDispatchIncomingCallQoSChange(_H_, _P_) \
    NdisCmDispatchIncomingCallQoSChange(_H_, _P_)
#define NdisMCmDispatchIncomingCloseCall(_S_, _H_, _B_, _Z_) \
    NdisCmDispatchIncomingCloseCall(_S_, _H_, _B_, _Z_)
#define NdisMCmDispatchIncomingDropParty(_S_, _H_, _B_, _Z_) \
    NdisCmDispatchIncomingDropParty(_S_, _H_, _B_, _Z_)
#define NdisMCmOidRequestComplete(_AH_, _VH_, _PH_, _R_, _S_) \
    NdisCoOidRequestComplete(_AH_, _VH_, _PH_, _R_, _S_)

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_CO_H */
