/*
 * ndis/protocol.h - the NDIS 6.x protocol driver surface: registration,
 * binding and unbinding, OID requests, status and PnP indications, and the
 * connectionless send/receive entry points with their flag values.
 *
 * Windows names, field orders and values only; included through <ndis.h>
 * after ndis/nbl.h and before ndis/miniport.h and ndis/co.h. Every structure
 * carries all the fields of its newest revision (the NDIS_SUPPORT_NDISxx
 * conditionals of the WDK are not applied) so that one runtime build can
 * accept every revision; the NDIS_SIZEOF_*_REVISION_n macros give the size a
 * driver of each revision fills in.
 *
 * Types expected from earlier headers: NDIS_STATUS (ndis/status.h);
 * NDIS_HANDLE, NDIS_OBJECT_HEADER, NDIS_MEDIUM, NDIS_PHYSICAL_MEDIUM,
 * NDIS_PORT_NUMBER, NDIS_OID, NDIS_REQUEST_TYPE, NET_LUID, NET_IFINDEX and
 * NET_IFTYPE (ndis/object.h); NET_BUFFER_LIST (ndis/nbl.h).
 */
#ifndef CONDIS_NDIS_PROTOCOL_H
#define CONDIS_NDIS_PROTOCOL_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- interface (ifdef.h) types used by the binding structures ----------- */

/* NET_IFINDEX, NET_IFTYPE and NET_LUID come from ndis/object.h. */
typedef UINT32 NET_IF_COMPARTMENT_ID, *PNET_IF_COMPARTMENT_ID;
typedef ULONG NDIS_NIC_SWITCH_ID, *PNDIS_NIC_SWITCH_ID;
typedef ULONG NDIS_NIC_SWITCH_VPORT_ID, *PNDIS_NIC_SWITCH_VPORT_ID;

#ifndef NET_IF_COMPARTMENT_ID_UNSPECIFIED
#define NET_IF_COMPARTMENT_ID_UNSPECIFIED ((NET_IF_COMPARTMENT_ID)0)
#endif
#ifndef NET_IF_COMPARTMENT_ID_PRIMARY
#define NET_IF_COMPARTMENT_ID_PRIMARY ((NET_IF_COMPARTMENT_ID)1)
#endif
#ifndef NDIS_DEFAULT_SWITCH_ID
#define NDIS_DEFAULT_SWITCH_ID 0
#endif
#ifndef NDIS_DEFAULT_VPORT_ID
#define NDIS_DEFAULT_VPORT_ID 0
#endif

/* IANA interface types (the IfType members); only the common ones. */
#ifndef IF_TYPE_OTHER
#define IF_TYPE_OTHER 1
#endif
#ifndef IF_TYPE_ETHERNET_CSMACD
#define IF_TYPE_ETHERNET_CSMACD 6
#endif
#ifndef IF_TYPE_PPP
#define IF_TYPE_PPP 23
#endif
#ifndef IF_TYPE_SOFTWARE_LOOPBACK
#define IF_TYPE_SOFTWARE_LOOPBACK 24
#endif
#ifndef IF_TYPE_ATM
#define IF_TYPE_ATM 37
#endif
#ifndef IF_TYPE_TUNNEL
#define IF_TYPE_TUNNEL 131
#endif

#ifndef IF_MAX_PHYS_ADDRESS_LENGTH
#define IF_MAX_PHYS_ADDRESS_LENGTH 32
#endif
#ifndef NDIS_MAX_PHYS_ADDRESS_LENGTH
#define NDIS_MAX_PHYS_ADDRESS_LENGTH IF_MAX_PHYS_ADDRESS_LENGTH
#endif

typedef enum _NET_IF_ACCESS_TYPE {
    NET_IF_ACCESS_LOOPBACK = 1,
    NET_IF_ACCESS_BROADCAST = 2,
    NET_IF_ACCESS_POINT_TO_POINT = 3,
    NET_IF_ACCESS_POINT_TO_MULTI_POINT = 4,
    NET_IF_ACCESS_MAXIMUM = 5
} NET_IF_ACCESS_TYPE, *PNET_IF_ACCESS_TYPE;

typedef enum _NET_IF_DIRECTION_TYPE {
    NET_IF_DIRECTION_SENDRECEIVE,
    NET_IF_DIRECTION_SENDONLY,
    NET_IF_DIRECTION_RECEIVEONLY,
    NET_IF_DIRECTION_MAXIMUM
} NET_IF_DIRECTION_TYPE, *PNET_IF_DIRECTION_TYPE;

typedef enum _NET_IF_CONNECTION_TYPE {
    NET_IF_CONNECTION_DEDICATED = 1,
    NET_IF_CONNECTION_PASSIVE = 2,
    NET_IF_CONNECTION_DEMAND = 3,
    NET_IF_CONNECTION_MAXIMUM = 4
} NET_IF_CONNECTION_TYPE, *PNET_IF_CONNECTION_TYPE;

typedef enum _NET_IF_MEDIA_CONNECT_STATE {
    MediaConnectStateUnknown,
    MediaConnectStateConnected,
    MediaConnectStateDisconnected
} NET_IF_MEDIA_CONNECT_STATE, *PNET_IF_MEDIA_CONNECT_STATE;

typedef enum _NET_IF_MEDIA_DUPLEX_STATE {
    MediaDuplexStateUnknown,
    MediaDuplexStateHalf,
    MediaDuplexStateFull
} NET_IF_MEDIA_DUPLEX_STATE, *PNET_IF_MEDIA_DUPLEX_STATE;

typedef NET_IF_MEDIA_CONNECT_STATE NDIS_MEDIA_CONNECT_STATE, *PNDIS_MEDIA_CONNECT_STATE;
typedef NET_IF_MEDIA_DUPLEX_STATE NDIS_MEDIA_DUPLEX_STATE, *PNDIS_MEDIA_DUPLEX_STATE;

/* Frame types a protocol accepts (NDIS_OPEN_PARAMETERS.FrameTypeArray). */
typedef USHORT NET_FRAME_TYPE, *PNET_FRAME_TYPE;

/*
 * Structures that the bindings only point to. condis never looks inside
 * them, so they stay incomplete; a header that needs one defines it with the
 * same tag.
 */
typedef struct _NDIS_PORT NDIS_PORT, *PNDIS_PORT;
typedef struct _NDIS_PNP_CAPABILITIES NDIS_PNP_CAPABILITIES, *PNDIS_PNP_CAPABILITIES;
typedef struct _NDIS_PM_CAPABILITIES NDIS_PM_CAPABILITIES, *PNDIS_PM_CAPABILITIES;
typedef struct _NDIS_RECEIVE_SCALE_CAPABILITIES NDIS_RECEIVE_SCALE_CAPABILITIES,
    *PNDIS_RECEIVE_SCALE_CAPABILITIES;
typedef struct _NDIS_OFFLOAD NDIS_OFFLOAD, *PNDIS_OFFLOAD;
typedef struct _NDIS_TCP_CONNECTION_OFFLOAD NDIS_TCP_CONNECTION_OFFLOAD,
    *PNDIS_TCP_CONNECTION_OFFLOAD;
typedef struct _NDIS_HD_SPLIT_CURRENT_CONFIG NDIS_HD_SPLIT_CURRENT_CONFIG,
    *PNDIS_HD_SPLIT_CURRENT_CONFIG;
typedef struct _NDIS_RECEIVE_FILTER_CAPABILITIES NDIS_RECEIVE_FILTER_CAPABILITIES,
    *PNDIS_RECEIVE_FILTER_CAPABILITIES;
typedef struct _NDIS_NIC_SWITCH_CAPABILITIES NDIS_NIC_SWITCH_CAPABILITIES,
    *PNDIS_NIC_SWITCH_CAPABILITIES;
typedef struct _NDIS_NDK_CAPABILITIES NDIS_NDK_CAPABILITIES, *PNDIS_NDK_CAPABILITIES;
typedef struct _NDIS_SRIOV_CAPABILITIES NDIS_SRIOV_CAPABILITIES, *PNDIS_SRIOV_CAPABILITIES;
typedef struct _NDIS_NIC_SWITCH_INFO_ARRAY NDIS_NIC_SWITCH_INFO_ARRAY,
    *PNDIS_NIC_SWITCH_INFO_ARRAY;

/* ---- restart attributes (shared by protocols, filters and miniports) ---- */

#ifndef MEMORY_ALLOCATION_ALIGNMENT
#define MEMORY_ALLOCATION_ALIGNMENT 16
#endif

/*
 * One entry of the list NDIS passes at restart; Data holds DataLength bytes
 * of the information that the OID in Oid would return.
 */
typedef struct _NDIS_RESTART_ATTRIBUTES NDIS_RESTART_ATTRIBUTES, *PNDIS_RESTART_ATTRIBUTES;
struct _NDIS_RESTART_ATTRIBUTES {
    PNDIS_RESTART_ATTRIBUTES Next;
    NDIS_OID Oid;
    ULONG DataLength;
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) UCHAR Data[1];
};

/* Why a stack is being paused (PauseReason of the pause parameters). */
#define NDIS_PAUSE_NDIS_INTERNAL 0x00000001
#define NDIS_PAUSE_LOW_POWER 0x00000002
#define NDIS_PAUSE_BIND_PROTOCOL 0x00000004
#define NDIS_PAUSE_UNBIND_PROTOCOL 0x00000008
#define NDIS_PAUSE_ATTACH_FILTER 0x00000010
#define NDIS_PAUSE_DETACH_FILTER 0x00000020
#define NDIS_PAUSE_FILTER_RESTART_STACK 0x00000040
#define NDIS_PAUSE_MINIPORT_DEVICE_REMOVE 0x00000080

/* ---- binding ------------------------------------------------------------ */

/* What NDIS tells ProtocolBindAdapterEx about the adapter below. */
typedef struct _NDIS_BIND_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    PNDIS_STRING ProtocolSection;
    PNDIS_STRING AdapterName;
    PDEVICE_OBJECT PhysicalDeviceObject;
    NDIS_MEDIUM MediaType;
    ULONG MtuSize;
    ULONG64 MaxXmitLinkSpeed;
    ULONG64 XmitLinkSpeed;
    ULONG64 MaxRcvLinkSpeed;
    ULONG64 RcvLinkSpeed;
    NDIS_MEDIA_CONNECT_STATE MediaConnectState;
    NDIS_MEDIA_DUPLEX_STATE MediaDuplexState;
    ULONG LookaheadSize;
    PNDIS_PNP_CAPABILITIES PowerManagementCapabilities;
    ULONG SupportedPacketFilters;
    ULONG MaxMulticastListSize;
    USHORT MacAddressLength;
    UCHAR CurrentMacAddress[NDIS_MAX_PHYS_ADDRESS_LENGTH];
    NDIS_PHYSICAL_MEDIUM PhysicalMediumType;
    PNDIS_RECEIVE_SCALE_CAPABILITIES RcvScaleCapabilities;
    NET_LUID BoundIfNetluid;
    NET_IFINDEX BoundIfIndex;
    NET_LUID LowestIfNetluid;
    NET_IFINDEX LowestIfIndex;
    NET_IF_ACCESS_TYPE AccessType;
    NET_IF_DIRECTION_TYPE DirectionType;
    NET_IF_CONNECTION_TYPE ConnectionType;
    NET_IFTYPE IfType;
    BOOLEAN IfConnectorPresent;
    PNDIS_PORT ActivePorts;
    ULONG DataBackFillSize;
    ULONG ContextBackFillSize;
    ULONG MacOptions;
    NET_IF_COMPARTMENT_ID CompartmentId;
    PNDIS_OFFLOAD DefaultOffloadConfiguration;
    PNDIS_TCP_CONNECTION_OFFLOAD TcpConnectionOffloadCapabilities;
    PNDIS_STRING BoundAdapterName;
    /* NDIS 6.1 (revision 2) */
    PNDIS_HD_SPLIT_CURRENT_CONFIG HDSplitCurrentConfig;
    /* NDIS 6.20 (revision 3) */
    PNDIS_RECEIVE_FILTER_CAPABILITIES ReceiveFilterCapabilities;
    PNDIS_PM_CAPABILITIES PowerManagementCapabilitiesEx;
    PNDIS_NIC_SWITCH_CAPABILITIES NicSwitchCapabilities;
    /* NDIS 6.30 (revision 4) */
    BOOLEAN NDKEnabled;
    PNDIS_NDK_CAPABILITIES NDKCapabilities;
    PNDIS_SRIOV_CAPABILITIES SriovCapabilities;
    PNDIS_NIC_SWITCH_INFO_ARRAY NicSwitchArray;
} NDIS_BIND_PARAMETERS, *PNDIS_BIND_PARAMETERS;

#define NDIS_BIND_PARAMETERS_REVISION_1 1
#define NDIS_BIND_PARAMETERS_REVISION_2 2
#define NDIS_BIND_PARAMETERS_REVISION_3 3
#define NDIS_BIND_PARAMETERS_REVISION_4 4
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, BoundAdapterName)
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, HDSplitCurrentConfig)
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_3 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, NicSwitchCapabilities)
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_4 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, NicSwitchArray)

/*
 * What a protocol passes to NdisOpenAdapterEx. NDIS writes the index of the
 * medium it chose into *SelectedMediumIndex; the arrays must stay valid until
 * the open completes.
 */
typedef struct _NDIS_OPEN_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    PNDIS_STRING AdapterName;
    PNDIS_MEDIUM MediumArray;
    UINT MediumArraySize;
    PUINT SelectedMediumIndex;
    PNET_FRAME_TYPE FrameTypeArray;
    UINT FrameTypeArraySize;
} NDIS_OPEN_PARAMETERS, *PNDIS_OPEN_PARAMETERS;

#define NDIS_OPEN_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_OPEN_PARAMETERS, FrameTypeArraySize)
/* The WDK spells this one without the second I; both names work. */
#define NDIS_SIZEOF_OPEN_PARAMETERS_REVSION_1 NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1

/* Carried in the NetEventPause notification. */
typedef struct _NDIS_PROTOCOL_PAUSE_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    ULONG PauseReason;
} NDIS_PROTOCOL_PAUSE_PARAMETERS, *PNDIS_PROTOCOL_PAUSE_PARAMETERS;

#define NDIS_PROTOCOL_PAUSE_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_PROTOCOL_PAUSE_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_PAUSE_PARAMETERS, PauseReason)

/* Carried in the NetEventRestart notification. */
typedef struct _NDIS_PROTOCOL_RESTART_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    PUCHAR FilterModuleNameBuffer;
    ULONG FilterModuleNameBufferLength;
    PNDIS_RESTART_ATTRIBUTES RestartAttributes;
    NET_IFINDEX BoundIfIndex;
    NET_LUID BoundIfNetluid;
    ULONG Flags;
} NDIS_PROTOCOL_RESTART_PARAMETERS, *PNDIS_PROTOCOL_RESTART_PARAMETERS;

#define NDIS_PROTOCOL_RESTART_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_PROTOCOL_RESTART_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_RESTART_PARAMETERS, Flags)

/* ---- PnP and power events ----------------------------------------------- */

typedef enum _NET_PNP_EVENT_CODE {
    NetEventSetPower,
    NetEventQueryPower,
    NetEventQueryRemoveDevice,
    NetEventCancelRemoveDevice,
    NetEventReconfigure,
    NetEventBindList,
    NetEventBindsComplete,
    NetEventPnPCapabilities,
    NetEventPause,
    NetEventRestart,
    NetEventPortActivation,
    NetEventPortDeactivation,
    NetEventIMReEnableDevice,
    NetEventNDKEnable,
    NetEventNDKDisable,
    NetEventFilterPreDetach,
    NetEventBindFailed,
    NetEventSwitchActivate,
    NetEventAllowBindsAbove,
    NetEventInhibitBindsAbove,
    NetEventAllowStart,
    NetEventRequirePause,
    NetEventUploadGftFlowEntries,
    NetEventMaximum
} NET_PNP_EVENT_CODE, *PNET_PNP_EVENT_CODE;

typedef struct _NET_PNP_EVENT {
    NET_PNP_EVENT_CODE NetEvent;
    PVOID Buffer;          /* event-specific data, for example the pause parameters */
    ULONG BufferLength;
    ULONG_PTR NdisReserved[4];
    ULONG_PTR TransportReserved[4];
    ULONG_PTR TdiReserved[4];
    ULONG_PTR TdiClientReserved[4];
} NET_PNP_EVENT, *PNET_PNP_EVENT;

typedef struct _NET_PNP_EVENT_NOTIFICATION {
    NDIS_OBJECT_HEADER Header;
    NDIS_PORT_NUMBER PortNumber;
    NET_PNP_EVENT NetPnPEvent;
    ULONG Flags;
    NDIS_NIC_SWITCH_ID SwitchId;
    NDIS_NIC_SWITCH_VPORT_ID VPortId;
} NET_PNP_EVENT_NOTIFICATION, *PNET_PNP_EVENT_NOTIFICATION;

#define NET_PNP_EVENT_NOTIFICATION_REVISION_1 1
#define NET_PNP_EVENT_NOTIFICATION_REVISION_2 2
#define NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NET_PNP_EVENT_NOTIFICATION, NetPnPEvent)
#define NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NET_PNP_EVENT_NOTIFICATION, VPortId)

/* NET_PNP_EVENT_NOTIFICATION.Flags */
#define NET_EVENT_HALT_MINIPORT_ON_LOW_POWER 0x00000001
#define NET_EVENT_FLAGS_VPORT_ID_VALID 0x00000002

/* ---- status indications ------------------------------------------------- */

/*
 * A status indication from a miniport (NdisMIndicateStatusEx) as a protocol
 * sees it in ProtocolStatusEx. The buffer belongs to the indicating driver
 * and is valid only during the call.
 */
typedef struct _NDIS_STATUS_INDICATION {
    NDIS_OBJECT_HEADER Header;
    NDIS_HANDLE SourceHandle;
    NDIS_PORT_NUMBER PortNumber;
    NDIS_STATUS StatusCode;
    ULONG Flags;
    NDIS_HANDLE DestinationHandle;
    PVOID RequestId;
    PVOID StatusBuffer;
    ULONG StatusBufferSize;
    GUID Guid;
    PVOID NdisReserved[4];
} NDIS_STATUS_INDICATION, *PNDIS_STATUS_INDICATION;

#define NDIS_STATUS_INDICATION_REVISION_1 1
#define NDIS_SIZEOF_STATUS_INDICATION_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_STATUS_INDICATION, NdisReserved)

#define NDIS_STATUS_INDICATION_FLAGS_NDIS_RESERVED 0x00000FFF
#define NDIS_STATUS_INDICATION_FLAGS_MEDIA_CONNECT_TO_CONNECT 0x00001000

/* ---- OID requests ------------------------------------------------------- */

#define NDIS_OID_REQUEST_NDIS_RESERVED_SIZE 16
#define NDIS_OID_REQUEST_TIMEOUT_INFINITE 0

/*
 * A query, set or method request. The structure and InformationBuffer belong
 * to the issuer until the request completes (inline or through the
 * ...OidRequestComplete handler); NdisReserved, MiniportReserved and
 * SourceReserved are scratch space for NDIS, the miniport and the issuer.
 */
typedef struct _NDIS_OID_REQUEST {
    NDIS_OBJECT_HEADER Header;
    NDIS_REQUEST_TYPE RequestType;
    NDIS_PORT_NUMBER PortNumber;
    UINT Timeout; /* seconds */
    PVOID RequestId;
    NDIS_HANDLE RequestHandle;
    union _REQUEST_DATA {
        struct _QUERY {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesWritten;
            UINT BytesNeeded;
        } QUERY_INFORMATION;
        struct _SET {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesRead;
            UINT BytesNeeded;
        } SET_INFORMATION;
        struct _METHOD {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            ULONG InputBufferLength;
            ULONG OutputBufferLength;
            ULONG MethodId;
            UINT BytesWritten;
            UINT BytesRead;
            UINT BytesNeeded;
        } METHOD_INFORMATION;
    } DATA;
    UCHAR NdisReserved[NDIS_OID_REQUEST_NDIS_RESERVED_SIZE * sizeof(PVOID)];
    UCHAR MiniportReserved[2 * sizeof(PVOID)];
    UCHAR SourceReserved[2 * sizeof(PVOID)];
    UCHAR SupportedRevision;
    UCHAR Reserved1;
    USHORT Reserved2;
    /* NDIS 6.50 (revision 2) */
    NDIS_NIC_SWITCH_ID SwitchId;
    NDIS_NIC_SWITCH_VPORT_ID VPortId;
    ULONG Flags;
} NDIS_OID_REQUEST, *PNDIS_OID_REQUEST;

#define NDIS_OID_REQUEST_REVISION_1 1
#define NDIS_OID_REQUEST_REVISION_2 2
#define NDIS_SIZEOF_OID_REQUEST_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_OID_REQUEST, Reserved2)
#define NDIS_SIZEOF_OID_REQUEST_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_OID_REQUEST, Flags)

/* NDIS_OID_REQUEST.Flags */
#define NDIS_OID_REQUEST_FLAGS_VPORT_ID_VALID 0x0001

/* ---- send, send-complete, receive and return flags ---------------------- */

/*
 * The ..._DISPATCH_LEVEL flags are a promise about the caller's IRQL: set
 * only when the caller runs at DISPATCH_LEVEL (verifier rule IRQL-1). The
 * CoNDIS calls use the same flags.
 */

/* NdisSendNetBufferLists, MiniportSendNetBufferLists and the CoNDIS sends */
#ifndef NDIS_SEND_FLAGS_DISPATCH_LEVEL
#define NDIS_SEND_FLAGS_DISPATCH_LEVEL 0x00000001
#endif
#ifndef NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK
#define NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK 0x00000002
#endif
#ifndef NDIS_SEND_FLAGS_SINGLE_QUEUE
#define NDIS_SEND_FLAGS_SINGLE_QUEUE 0x00000004
#endif
#ifndef NDIS_SEND_FLAGS_SWITCH_DESTINATION_GROUP
#define NDIS_SEND_FLAGS_SWITCH_DESTINATION_GROUP 0x00000010
#endif
#ifndef NDIS_SEND_FLAGS_SWITCH_SINGLE_SOURCE
#define NDIS_SEND_FLAGS_SWITCH_SINGLE_SOURCE 0x00000020
#endif

#ifndef NDIS_TEST_SEND_FLAG
#define NDIS_TEST_SEND_FLAG(_Flags, _Fl) (((_Flags) & (_Fl)) == (_Fl))
#endif
#ifndef NDIS_SET_SEND_FLAG
#define NDIS_SET_SEND_FLAG(_Flags, _Fl) ((_Flags) |= (_Fl))
#endif
#ifndef NDIS_CLEAR_SEND_FLAG
#define NDIS_CLEAR_SEND_FLAG(_Flags, _Fl) ((_Flags) &= ~(_Fl))
#endif
#ifndef NDIS_TEST_SEND_AT_DISPATCH_LEVEL
#define NDIS_TEST_SEND_AT_DISPATCH_LEVEL(_Flags) \
    NDIS_TEST_SEND_FLAG((_Flags), NDIS_SEND_FLAGS_DISPATCH_LEVEL)
#endif

/* NdisMSendNetBufferListsComplete, ProtocolSendNetBufferListsComplete and
 * the CoNDIS completions */
#ifndef NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
#define NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL 0x00000001
#endif
#ifndef NDIS_SEND_COMPLETE_FLAGS_SINGLE_QUEUE
#define NDIS_SEND_COMPLETE_FLAGS_SINGLE_QUEUE 0x00000002
#endif
#ifndef NDIS_SEND_COMPLETE_FLAGS_SWITCH_SINGLE_SOURCE
#define NDIS_SEND_COMPLETE_FLAGS_SWITCH_SINGLE_SOURCE 0x00000004
#endif

#ifndef NDIS_TEST_SEND_COMPLETE_FLAG
#define NDIS_TEST_SEND_COMPLETE_FLAG(_Flags, _Fl) (((_Flags) & (_Fl)) == (_Fl))
#endif
#ifndef NDIS_SET_SEND_COMPLETE_FLAG
#define NDIS_SET_SEND_COMPLETE_FLAG(_Flags, _Fl) ((_Flags) |= (_Fl))
#endif
#ifndef NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL
#define NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(_Flags) \
    NDIS_TEST_SEND_COMPLETE_FLAG((_Flags), NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL)
#endif

/* NdisMIndicateReceiveNetBufferLists, ProtocolReceiveNetBufferLists and the
 * CoNDIS receives */
#ifndef NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL
#define NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL 0x00000001
#endif
#ifndef NDIS_RECEIVE_FLAGS_RESOURCES
#define NDIS_RECEIVE_FLAGS_RESOURCES 0x00000002
#endif
#ifndef NDIS_RECEIVE_FLAGS_SINGLE_ETHER_TYPE
#define NDIS_RECEIVE_FLAGS_SINGLE_ETHER_TYPE 0x00000100
#endif
#ifndef NDIS_RECEIVE_FLAGS_SINGLE_VLAN
#define NDIS_RECEIVE_FLAGS_SINGLE_VLAN 0x00000200
#endif
#ifndef NDIS_RECEIVE_FLAGS_PERFECT_FILTERED
#define NDIS_RECEIVE_FLAGS_PERFECT_FILTERED 0x00000400
#endif
#ifndef NDIS_RECEIVE_FLAGS_SINGLE_QUEUE
#define NDIS_RECEIVE_FLAGS_SINGLE_QUEUE 0x00000800
#endif
#ifndef NDIS_RECEIVE_FLAGS_SHARED_MEMORY_INFO_VALID
#define NDIS_RECEIVE_FLAGS_SHARED_MEMORY_INFO_VALID 0x00001000
#endif
#ifndef NDIS_RECEIVE_FLAGS_MORE_NBLS
#define NDIS_RECEIVE_FLAGS_MORE_NBLS 0x00002000
#endif
#ifndef NDIS_RECEIVE_FLAGS_SWITCH_DESTINATION_GROUP
#define NDIS_RECEIVE_FLAGS_SWITCH_DESTINATION_GROUP 0x00004000
#endif
#ifndef NDIS_RECEIVE_FLAGS_SWITCH_SINGLE_SOURCE
#define NDIS_RECEIVE_FLAGS_SWITCH_SINGLE_SOURCE 0x00008000
#endif

#ifndef NDIS_TEST_RECEIVE_FLAG
#define NDIS_TEST_RECEIVE_FLAG(_Flags, _Fl) (((_Flags) & (_Fl)) == (_Fl))
#endif
#ifndef NDIS_SET_RECEIVE_FLAG
#define NDIS_SET_RECEIVE_FLAG(_Flags, _Fl) ((_Flags) |= (_Fl))
#endif
#ifndef NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL
#define NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(_Flags) \
    NDIS_TEST_RECEIVE_FLAG((_Flags), NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL)
#endif
/* RESOURCES: the indicator needs the NBLs back when the handler returns. */
#ifndef NDIS_TEST_RECEIVE_CANNOT_PEND
#define NDIS_TEST_RECEIVE_CANNOT_PEND(_Flags) \
    NDIS_TEST_RECEIVE_FLAG((_Flags), NDIS_RECEIVE_FLAGS_RESOURCES)
#endif
#ifndef NDIS_TEST_RECEIVE_CAN_PEND
#define NDIS_TEST_RECEIVE_CAN_PEND(_Flags) \
    (((_Flags) & NDIS_RECEIVE_FLAGS_RESOURCES) == 0)
#endif

/* NdisReturnNetBufferLists, MiniportReturnNetBufferLists and the CoNDIS
 * returns */
#ifndef NDIS_RETURN_FLAGS_DISPATCH_LEVEL
#define NDIS_RETURN_FLAGS_DISPATCH_LEVEL 0x00000001
#endif
#ifndef NDIS_RETURN_FLAGS_SINGLE_QUEUE
#define NDIS_RETURN_FLAGS_SINGLE_QUEUE 0x00000002
#endif
#ifndef NDIS_RETURN_FLAGS_SWITCH_SINGLE_SOURCE
#define NDIS_RETURN_FLAGS_SWITCH_SINGLE_SOURCE 0x00000004
#endif

#ifndef NDIS_TEST_RETURN_FLAG
#define NDIS_TEST_RETURN_FLAG(_Flags, _Fl) (((_Flags) & (_Fl)) == (_Fl))
#endif
#ifndef NDIS_SET_RETURN_FLAG
#define NDIS_SET_RETURN_FLAG(_Flags, _Fl) ((_Flags) |= (_Fl))
#endif
#ifndef NDIS_TEST_RETURN_AT_DISPATCH_LEVEL
#define NDIS_TEST_RETURN_AT_DISPATCH_LEVEL(_Flags) \
    NDIS_TEST_RETURN_FLAG((_Flags), NDIS_RETURN_FLAGS_DISPATCH_LEVEL)
#endif

/* ---- handler role types ------------------------------------------------- */

/*
 * ProtocolSetOptions / MiniportSetOptions / FilterSetOptions: called at
 * PASSIVE_LEVEL during registration, where a driver registers optional
 * handlers (the CoNDIS ones among them) with NdisSetOptionalHandlers.
 */
typedef NDIS_STATUS(SET_OPTIONS)(_In_ NDIS_HANDLE NdisDriverHandle,
                                 _In_ NDIS_HANDLE DriverContext);
typedef SET_OPTIONS(*SET_OPTIONS_HANDLER);
typedef SET_OPTIONS(PROTOCOL_SET_OPTIONS);

/* PASSIVE_LEVEL. Returns SUCCESS, a failure, or PENDING followed by
 * NdisCompleteBindAdapterEx(BindContext, ...). */
typedef NDIS_STATUS(PROTOCOL_BIND_ADAPTER_EX)(_In_ NDIS_HANDLE ProtocolDriverContext,
                                              _In_ NDIS_HANDLE BindContext,
                                              _In_ PNDIS_BIND_PARAMETERS BindParameters);
typedef PROTOCOL_BIND_ADAPTER_EX(*BIND_HANDLER_EX);

/* PASSIVE_LEVEL. Returns SUCCESS or PENDING followed by
 * NdisCompleteUnbindAdapterEx(UnbindContext). */
typedef NDIS_STATUS(PROTOCOL_UNBIND_ADAPTER_EX)(_In_ NDIS_HANDLE UnbindContext,
                                                _In_ NDIS_HANDLE ProtocolBindingContext);
typedef PROTOCOL_UNBIND_ADAPTER_EX(*UNBIND_HANDLER_EX);

/* PASSIVE_LEVEL. Called only when NdisOpenAdapterEx returned PENDING. */
typedef VOID(PROTOCOL_OPEN_ADAPTER_COMPLETE_EX)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                _In_ NDIS_STATUS Status);
typedef PROTOCOL_OPEN_ADAPTER_COMPLETE_EX(*OPEN_ADAPTER_COMPLETE_HANDLER_EX);

/* PASSIVE_LEVEL. Called only when NdisCloseAdapterEx returned PENDING. */
typedef VOID(PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX)(_In_ NDIS_HANDLE ProtocolBindingContext);
typedef PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX(*CLOSE_ADAPTER_COMPLETE_HANDLER_EX);

/* PASSIVE_LEVEL. ProtocolBindingContext is NULL for events that concern no
 * binding (for example NetEventBindsComplete). */
typedef NDIS_STATUS(PROTOCOL_NET_PNP_EVENT)(
    _In_ NDIS_HANDLE ProtocolBindingContext,
    _In_ PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification);
typedef PROTOCOL_NET_PNP_EVENT(*NET_PNP_EVENT_HANDLER);

/* PASSIVE_LEVEL, before the protocol is uninstalled. */
typedef VOID(PROTOCOL_UNINSTALL)(VOID);
typedef PROTOCOL_UNINSTALL(*UNINSTALL_PROTOCOL_HANDLER);

/* <= DISPATCH_LEVEL. Completes a request for which NdisOidRequest returned
 * PENDING; OidRequest belongs to the protocol again. */
typedef VOID(PROTOCOL_OID_REQUEST_COMPLETE)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                            _In_ PNDIS_OID_REQUEST OidRequest,
                                            _In_ NDIS_STATUS Status);
typedef PROTOCOL_OID_REQUEST_COMPLETE(*OID_REQUEST_COMPLETE_HANDLER);

/* <= DISPATCH_LEVEL. */
typedef VOID(PROTOCOL_STATUS_EX)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                 _In_ PNDIS_STATUS_INDICATION StatusIndication);
typedef PROTOCOL_STATUS_EX(*STATUS_HANDLER_EX);

/*
 * <= DISPATCH_LEVEL. On entry the protocol owns the NetBufferLists chain
 * (NumberOfNetBufferLists NBLs). Unless ReceiveFlags has
 * NDIS_RECEIVE_FLAGS_RESOURCES it may keep them and give them back later
 * with NdisReturnNetBufferLists; with it, they belong to the miniport again
 * as soon as the handler returns.
 */
typedef VOID(PROTOCOL_RECEIVE_NET_BUFFER_LISTS)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                _In_ PNET_BUFFER_LIST NetBufferLists,
                                                _In_ NDIS_PORT_NUMBER PortNumber,
                                                _In_ ULONG NumberOfNetBufferLists,
                                                _In_ ULONG ReceiveFlags);
typedef PROTOCOL_RECEIVE_NET_BUFFER_LISTS(*RECEIVE_NET_BUFFER_LISTS_HANDLER);

/*
 * <= DISPATCH_LEVEL. Returns to the protocol the NBLs it sent with
 * NdisSendNetBufferLists, each with its final NET_BUFFER_LIST_STATUS, in any
 * order and grouping. SendCompleteFlags has
 * NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL when called at DISPATCH_LEVEL.
 */
typedef VOID(PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                      _In_ PNET_BUFFER_LIST NetBufferList,
                                                      _In_ ULONG SendCompleteFlags);
typedef PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE(*SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER);

/* <= DISPATCH_LEVEL. Completes a pended direct OID request. */
typedef VOID(PROTOCOL_DIRECT_OID_REQUEST_COMPLETE)(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                   _In_ PNDIS_OID_REQUEST OidRequest,
                                                   _In_ NDIS_STATUS Status);
typedef PROTOCOL_DIRECT_OID_REQUEST_COMPLETE(*DIRECT_OID_REQUEST_COMPLETE_HANDLER);

/* ---- registration ------------------------------------------------------- */

typedef struct _NDIS_PROTOCOL_DRIVER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    UCHAR MajorDriverVersion;
    UCHAR MinorDriverVersion;
    ULONG Flags;
    NDIS_STRING Name;
    SET_OPTIONS_HANDLER SetOptionsHandler;
    BIND_HANDLER_EX BindAdapterHandlerEx;
    UNBIND_HANDLER_EX UnbindAdapterHandlerEx;
    OPEN_ADAPTER_COMPLETE_HANDLER_EX OpenAdapterCompleteHandlerEx;
    CLOSE_ADAPTER_COMPLETE_HANDLER_EX CloseAdapterCompleteHandlerEx;
    NET_PNP_EVENT_HANDLER NetPnPEventHandler;
    UNINSTALL_PROTOCOL_HANDLER UninstallHandler;
    OID_REQUEST_COMPLETE_HANDLER OidRequestCompleteHandler;
    STATUS_HANDLER_EX StatusHandlerEx;
    RECEIVE_NET_BUFFER_LISTS_HANDLER ReceiveNetBufferListsHandler;
    SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER SendNetBufferListsCompleteHandler;
    /* NDIS 6.1 (revision 2) */
    DIRECT_OID_REQUEST_COMPLETE_HANDLER DirectOidRequestCompleteHandler;
} NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, *PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS;

#define NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 1
#define NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 2
#define NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, \
                             SendNetBufferListsCompleteHandler)
#define NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, \
                             DirectOidRequestCompleteHandler)

/* NDIS_PROTOCOL_DRIVER_CHARACTERISTICS.Flags */
#define NDIS_PROTOCOL_DRIVER_SUPPORTS_CURRENT_MAC_ADDRESS_CHANGE 0x00000002
#define NDIS_PROTOCOL_DRIVER_SUPPORTS_L2_MTU_SIZE_CHANGE 0x00000004

/*
 * The common head of every optional-handler set passed to
 * NdisSetOptionalHandlers; Header.Type says which set follows (for example
 * NDIS_OBJECT_TYPE_PROTOCOL_CO_CHARACTERISTICS).
 */
typedef struct _NDIS_DRIVER_OPTIONAL_HANDLERS {
    NDIS_OBJECT_HEADER Header;
} NDIS_DRIVER_OPTIONAL_HANDLERS, *PNDIS_DRIVER_OPTIONAL_HANDLERS;

/* ---- functions ---------------------------------------------------------- */

/* PASSIVE_LEVEL, from DriverEntry. */
NDIS_STATUS NdisRegisterProtocolDriver(
    _In_opt_ NDIS_HANDLE ProtocolDriverContext,
    _In_ PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS ProtocolCharacteristics,
    _Out_ PNDIS_HANDLE NdisProtocolHandle);

/* PASSIVE_LEVEL; all bindings must be closed first. */
VOID NdisDeregisterProtocolDriver(_In_ NDIS_HANDLE NdisProtocolHandle);

/*
 * PASSIVE_LEVEL, from ProtocolBindAdapterEx. Returns SUCCESS, a failure, or
 * PENDING followed by ProtocolOpenAdapterCompleteEx.
 */
NDIS_STATUS NdisOpenAdapterEx(_In_ NDIS_HANDLE NdisProtocolHandle,
                              _In_ NDIS_HANDLE ProtocolBindingContext,
                              _In_ PNDIS_OPEN_PARAMETERS OpenParameters,
                              _In_ NDIS_HANDLE BindContext,
                              _Out_ PNDIS_HANDLE NdisBindingHandle);

/* PASSIVE_LEVEL; finishes a bind for which ProtocolBindAdapterEx returned
 * PENDING. */
VOID NdisCompleteBindAdapterEx(_In_ NDIS_HANDLE BindAdapterContext,
                               _In_ NDIS_STATUS Status);

/*
 * PASSIVE_LEVEL. Returns SUCCESS or PENDING followed by
 * ProtocolCloseAdapterCompleteEx. Every send must have completed and every
 * received NBL must have been returned before the close finishes.
 */
NDIS_STATUS NdisCloseAdapterEx(_In_ NDIS_HANDLE NdisBindingHandle);

/* PASSIVE_LEVEL; finishes an unbind for which ProtocolUnbindAdapterEx
 * returned PENDING. */
VOID NdisCompleteUnbindAdapterEx(_In_ NDIS_HANDLE UnbindContext);

/*
 * PASSIVE_LEVEL, from a SetOptions handler. NdisHandle is the handle NDIS
 * passed to that handler; OptionalHandlers points to a structure that starts
 * with NDIS_DRIVER_OPTIONAL_HANDLERS. NDIS copies it.
 */
NDIS_STATUS NdisSetOptionalHandlers(_In_ NDIS_HANDLE NdisHandle,
                                    _In_ PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers);

/*
 * <= DISPATCH_LEVEL. Gives received NBLs that the protocol kept back to the
 * miniport that indicated them; the protocol must not touch them afterwards.
 */
VOID NdisReturnNetBufferLists(_In_ NDIS_HANDLE NdisBindingHandle,
                              _In_ PNET_BUFFER_LIST NetBufferLists,
                              _In_ ULONG ReturnFlags);

/*
 * <= DISPATCH_LEVEL. Returns the final status, or PENDING followed by
 * ProtocolOidRequestComplete; OidRequest and its buffer stay the caller's
 * memory, lent to NDIS until then.
 */
NDIS_STATUS NdisOidRequest(_In_ NDIS_HANDLE NdisBindingHandle,
                           _In_ PNDIS_OID_REQUEST OidRequest);

/*
 * <= DISPATCH_LEVEL. Connectionless send. On entry the protocol owns the
 * chain; on return it owns none of it until each NBL comes back through
 * ProtocolSendNetBufferListsComplete (possibly before this call returns).
 */
VOID NdisSendNetBufferLists(_In_ NDIS_HANDLE NdisBindingHandle,
                            _In_ PNET_BUFFER_LIST NetBufferLists,
                            _In_ NDIS_PORT_NUMBER PortNumber,
                            _In_ ULONG SendFlags);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_PROTOCOL_H */
