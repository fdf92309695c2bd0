/*
 * ndis/miniport.h - the NDIS 6.x miniport driver surface: registration,
 * adapter initialization and attributes, pause/restart, halt, OID requests,
 * status indications and the connectionless send/receive entry points.
 *
 * Windows names, field orders and values only; included through <ndis.h>
 * after ndis/protocol.h (which supplies the interface types, NDIS_OID_REQUEST,
 * NDIS_STATUS_INDICATION, NDIS_RESTART_ATTRIBUTES, SET_OPTIONS and the
 * send/receive flag values) and before ndis/co.h. As in ndis/protocol.h,
 * structures carry the fields of their newest revision and the
 * NDIS_SIZEOF_*_REVISION_n macros give the size of each older revision.
 */
#ifndef CONDIS_NDIS_MINIPORT_H
#define CONDIS_NDIS_MINIPORT_H

#include "types.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- incomplete types the miniport structures only point to ------------- */

typedef struct _CM_RESOURCE_LIST CM_RESOURCE_LIST, *PCM_RESOURCE_LIST;
typedef struct _CM_PARTIAL_RESOURCE_LIST CM_PARTIAL_RESOURCE_LIST,
    *PCM_PARTIAL_RESOURCE_LIST;
typedef CM_PARTIAL_RESOURCE_LIST NDIS_RESOURCE_LIST, *PNDIS_RESOURCE_LIST;
typedef struct _NDIS_PORT_AUTHENTICATION_PARAMETERS NDIS_PORT_AUTHENTICATION_PARAMETERS,
    *PNDIS_PORT_AUTHENTICATION_PARAMETERS;
typedef struct _NDIS_PCI_DEVICE_CUSTOM_PROPERTIES NDIS_PCI_DEVICE_CUSTOM_PROPERTIES,
    *PNDIS_PCI_DEVICE_CUSTOM_PROPERTIES;
typedef struct _NDIS_HD_SPLIT_ATTRIBUTES NDIS_HD_SPLIT_ATTRIBUTES,
    *PNDIS_HD_SPLIT_ATTRIBUTES;
typedef struct _NDIS_QOS_CAPABILITIES NDIS_QOS_CAPABILITIES, *PNDIS_QOS_CAPABILITIES;
typedef struct _NDIS_GFT_OFFLOAD_CAPABILITIES NDIS_GFT_OFFLOAD_CAPABILITIES,
    *PNDIS_GFT_OFFLOAD_CAPABILITIES;
typedef struct DOT11_PHY_ATTRIBUTES DOT11_PHY_ATTRIBUTES, *PDOT11_PHY_ATTRIBUTES;
typedef struct DOT11_EXTSTA_ATTRIBUTES DOT11_EXTSTA_ATTRIBUTES, *PDOT11_EXTSTA_ATTRIBUTES;
typedef struct DOT11_VWIFI_ATTRIBUTES DOT11_VWIFI_ATTRIBUTES, *PDOT11_VWIFI_ATTRIBUTES;
typedef struct _DOT11_EXTAP_ATTRIBUTES DOT11_EXTAP_ATTRIBUTES, *PDOT11_EXTAP_ATTRIBUTES;
typedef struct _DOT11_WFD_ATTRIBUTES DOT11_WFD_ATTRIBUTES, *PDOT11_WFD_ATTRIBUTES;

/* ---- ntddndis.h values a miniport reports ------------------------------- */

/* OID_GEN_MAC_OPTIONS (NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.MacOptions) */
#ifndef NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA
#define NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA 0x00000001
#endif
#ifndef NDIS_MAC_OPTION_RECEIVE_SERIALIZED
#define NDIS_MAC_OPTION_RECEIVE_SERIALIZED 0x00000002
#endif
#ifndef NDIS_MAC_OPTION_TRANSFERS_NOT_PEND
#define NDIS_MAC_OPTION_TRANSFERS_NOT_PEND 0x00000004
#endif
#ifndef NDIS_MAC_OPTION_NO_LOOPBACK
#define NDIS_MAC_OPTION_NO_LOOPBACK 0x00000008
#endif
#ifndef NDIS_MAC_OPTION_FULL_DUPLEX
#define NDIS_MAC_OPTION_FULL_DUPLEX 0x00000010
#endif
#ifndef NDIS_MAC_OPTION_EOTX_INDICATION
#define NDIS_MAC_OPTION_EOTX_INDICATION 0x00000020
#endif
#ifndef NDIS_MAC_OPTION_8021P_PRIORITY
#define NDIS_MAC_OPTION_8021P_PRIORITY 0x00000040
#endif
#ifndef NDIS_MAC_OPTION_SUPPORTS_MAC_ADDRESS_OVERWRITE
#define NDIS_MAC_OPTION_SUPPORTS_MAC_ADDRESS_OVERWRITE 0x00000080
#endif
#ifndef NDIS_MAC_OPTION_RECEIVE_AT_DPC
#define NDIS_MAC_OPTION_RECEIVE_AT_DPC 0x00000100
#endif
#ifndef NDIS_MAC_OPTION_8021Q_VLAN
#define NDIS_MAC_OPTION_8021Q_VLAN 0x00000200
#endif
#ifndef NDIS_MAC_OPTION_RESERVED
#define NDIS_MAC_OPTION_RESERVED 0x80000000
#endif

/* OID_GEN_CURRENT_PACKET_FILTER / SupportedPacketFilters */
#ifndef NDIS_PACKET_TYPE_DIRECTED
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001
#endif
#ifndef NDIS_PACKET_TYPE_MULTICAST
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002
#endif
#ifndef NDIS_PACKET_TYPE_ALL_MULTICAST
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004
#endif
#ifndef NDIS_PACKET_TYPE_BROADCAST
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008
#endif
#ifndef NDIS_PACKET_TYPE_SOURCE_ROUTING
#define NDIS_PACKET_TYPE_SOURCE_ROUTING 0x00000010
#endif
#ifndef NDIS_PACKET_TYPE_PROMISCUOUS
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020
#endif
#ifndef NDIS_PACKET_TYPE_SMT
#define NDIS_PACKET_TYPE_SMT 0x00000040
#endif
#ifndef NDIS_PACKET_TYPE_ALL_LOCAL
#define NDIS_PACKET_TYPE_ALL_LOCAL 0x00000080
#endif
#ifndef NDIS_PACKET_TYPE_GROUP
#define NDIS_PACKET_TYPE_GROUP 0x00001000
#endif
#ifndef NDIS_PACKET_TYPE_ALL_FUNCTIONAL
#define NDIS_PACKET_TYPE_ALL_FUNCTIONAL 0x00002000
#endif
#ifndef NDIS_PACKET_TYPE_FUNCTIONAL
#define NDIS_PACKET_TYPE_FUNCTIONAL 0x00004000
#endif
#ifndef NDIS_PACKET_TYPE_MAC_FRAME
#define NDIS_PACKET_TYPE_MAC_FRAME 0x00008000
#endif
#ifndef NDIS_PACKET_TYPE_NO_LOCAL
#define NDIS_PACKET_TYPE_NO_LOCAL 0x00010000
#endif

/* NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.SupportedStatistics */
#ifndef NDIS_STATISTICS_XMIT_OK_SUPPORTED
#define NDIS_STATISTICS_XMIT_OK_SUPPORTED 0x00000001
#endif
#ifndef NDIS_STATISTICS_RCV_OK_SUPPORTED
#define NDIS_STATISTICS_RCV_OK_SUPPORTED 0x00000002
#endif
#ifndef NDIS_STATISTICS_XMIT_ERROR_SUPPORTED
#define NDIS_STATISTICS_XMIT_ERROR_SUPPORTED 0x00000004
#endif
#ifndef NDIS_STATISTICS_RCV_ERROR_SUPPORTED
#define NDIS_STATISTICS_RCV_ERROR_SUPPORTED 0x00000008
#endif
#ifndef NDIS_STATISTICS_RCV_NO_BUFFER_SUPPORTED
#define NDIS_STATISTICS_RCV_NO_BUFFER_SUPPORTED 0x00000010
#endif
#ifndef NDIS_STATISTICS_DIRECTED_BYTES_XMIT_SUPPORTED
#define NDIS_STATISTICS_DIRECTED_BYTES_XMIT_SUPPORTED 0x00000020
#endif
#ifndef NDIS_STATISTICS_DIRECTED_FRAMES_XMIT_SUPPORTED
#define NDIS_STATISTICS_DIRECTED_FRAMES_XMIT_SUPPORTED 0x00000040
#endif
#ifndef NDIS_STATISTICS_MULTICAST_BYTES_XMIT_SUPPORTED
#define NDIS_STATISTICS_MULTICAST_BYTES_XMIT_SUPPORTED 0x00000080
#endif
#ifndef NDIS_STATISTICS_MULTICAST_FRAMES_XMIT_SUPPORTED
#define NDIS_STATISTICS_MULTICAST_FRAMES_XMIT_SUPPORTED 0x00000100
#endif
#ifndef NDIS_STATISTICS_BROADCAST_BYTES_XMIT_SUPPORTED
#define NDIS_STATISTICS_BROADCAST_BYTES_XMIT_SUPPORTED 0x00000200
#endif
#ifndef NDIS_STATISTICS_BROADCAST_FRAMES_XMIT_SUPPORTED
#define NDIS_STATISTICS_BROADCAST_FRAMES_XMIT_SUPPORTED 0x00000400
#endif
#ifndef NDIS_STATISTICS_DIRECTED_BYTES_RCV_SUPPORTED
#define NDIS_STATISTICS_DIRECTED_BYTES_RCV_SUPPORTED 0x00000800
#endif
#ifndef NDIS_STATISTICS_DIRECTED_FRAMES_RCV_SUPPORTED
#define NDIS_STATISTICS_DIRECTED_FRAMES_RCV_SUPPORTED 0x00001000
#endif
#ifndef NDIS_STATISTICS_MULTICAST_BYTES_RCV_SUPPORTED
#define NDIS_STATISTICS_MULTICAST_BYTES_RCV_SUPPORTED 0x00002000
#endif
#ifndef NDIS_STATISTICS_MULTICAST_FRAMES_RCV_SUPPORTED
#define NDIS_STATISTICS_MULTICAST_FRAMES_RCV_SUPPORTED 0x00004000
#endif
#ifndef NDIS_STATISTICS_BROADCAST_BYTES_RCV_SUPPORTED
#define NDIS_STATISTICS_BROADCAST_BYTES_RCV_SUPPORTED 0x00008000
#endif
#ifndef NDIS_STATISTICS_BROADCAST_FRAMES_RCV_SUPPORTED
#define NDIS_STATISTICS_BROADCAST_FRAMES_RCV_SUPPORTED 0x00010000
#endif
#ifndef NDIS_STATISTICS_RCV_CRC_ERROR_SUPPORTED
#define NDIS_STATISTICS_RCV_CRC_ERROR_SUPPORTED 0x00020000
#endif
#ifndef NDIS_STATISTICS_TRANSMIT_QUEUE_LENGTH_SUPPORTED
#define NDIS_STATISTICS_TRANSMIT_QUEUE_LENGTH_SUPPORTED 0x00040000
#endif
#ifndef NDIS_STATISTICS_BYTES_RCV_SUPPORTED
#define NDIS_STATISTICS_BYTES_RCV_SUPPORTED 0x00080000
#endif
#ifndef NDIS_STATISTICS_BYTES_XMIT_SUPPORTED
#define NDIS_STATISTICS_BYTES_XMIT_SUPPORTED 0x00100000
#endif
#ifndef NDIS_STATISTICS_RCV_DISCARDS_SUPPORTED
#define NDIS_STATISTICS_RCV_DISCARDS_SUPPORTED 0x00200000
#endif
#ifndef NDIS_STATISTICS_GEN_STATISTICS_SUPPORTED
#define NDIS_STATISTICS_GEN_STATISTICS_SUPPORTED 0x00400000
#endif
#ifndef NDIS_STATISTICS_XMIT_DISCARDS_SUPPORTED
#define NDIS_STATISTICS_XMIT_DISCARDS_SUPPORTED 0x08000000
#endif

/* NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.AutoNegotiationFlags */
#ifndef NDIS_LINK_STATE_XMIT_LINK_SPEED_AUTO_NEGOTIATED
#define NDIS_LINK_STATE_XMIT_LINK_SPEED_AUTO_NEGOTIATED 0x00000001
#endif
#ifndef NDIS_LINK_STATE_RCV_LINK_SPEED_AUTO_NEGOTIATED
#define NDIS_LINK_STATE_RCV_LINK_SPEED_AUTO_NEGOTIATED 0x00000002
#endif
#ifndef NDIS_LINK_STATE_DUPLEX_AUTO_NEGOTIATED
#define NDIS_LINK_STATE_DUPLEX_AUTO_NEGOTIATED 0x00000004
#endif
#ifndef NDIS_LINK_STATE_PAUSE_FUNCTIONS_AUTO_NEGOTIATED
#define NDIS_LINK_STATE_PAUSE_FUNCTIONS_AUTO_NEGOTIATED 0x00000008
#endif

/* A link speed (bits per second) the adapter does not know. */
#ifndef NET_IF_LINK_SPEED_UNKNOWN
#define NET_IF_LINK_SPEED_UNKNOWN ((ULONG64)-1)
#endif
#ifndef NDIS_LINK_SPEED_UNKNOWN
#define NDIS_LINK_SPEED_UNKNOWN NET_IF_LINK_SPEED_UNKNOWN
#endif

/* Values for NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES.SupportedPauseFunctions
 * (the member itself is a ULONG, as in the WDK). */
typedef enum _NDIS_SUPPORTED_PAUSE_FUNCTIONS {
    NdisPauseFunctionsUnsupported,
    NdisPauseFunctionsSendOnly,
    NdisPauseFunctionsReceiveOnly,
    NdisPauseFunctionsSendAndReceive,
    NdisPauseFunctionsUnknown
} NDIS_SUPPORTED_PAUSE_FUNCTIONS, *PNDIS_SUPPORTED_PAUSE_FUNCTIONS;

/* ---- initialize, halt, shutdown, PnP ------------------------------------ */

/* What NDIS passes to MiniportInitializeEx. */
typedef struct _NDIS_MINIPORT_INIT_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    PNDIS_RESOURCE_LIST AllocatedResources;
    NDIS_HANDLE IMDeviceInstanceContext;
    NDIS_HANDLE MiniportAddDeviceContext;
    NET_IFINDEX IfIndex;
    NET_LUID NetLuid;
    PNDIS_PORT_AUTHENTICATION_PARAMETERS DefaultPortAuthStates;
    PNDIS_PCI_DEVICE_CUSTOM_PROPERTIES PciDeviceCustomProperties;
} NDIS_MINIPORT_INIT_PARAMETERS, *PNDIS_MINIPORT_INIT_PARAMETERS;

#define NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_INIT_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_INIT_PARAMETERS, PciDeviceCustomProperties)

/* Why MiniportHaltEx is called. */
typedef enum _NDIS_HALT_ACTION {
    NdisHaltDeviceDisabled,
    NdisHaltDeviceInstanceDeInstalled,
    NdisHaltDevicePoweredDown,
    NdisHaltDeviceSurpriseRemoved,
    NdisHaltDeviceFailed,
    NdisHaltDeviceInitializationFailed,
    NdisHaltDeviceStopped
} NDIS_HALT_ACTION, *PNDIS_HALT_ACTION;

/* Why MiniportShutdownEx is called. */
typedef enum _NDIS_SHUTDOWN_ACTION {
    NdisShutdownPowerOff,
    NdisShutdownBugCheck
} NDIS_SHUTDOWN_ACTION, *PNDIS_SHUTDOWN_ACTION;

typedef enum _NDIS_DEVICE_PNP_EVENT {
    NdisDevicePnPEventQueryRemoved,
    NdisDevicePnPEventRemoved,
    NdisDevicePnPEventSurpriseRemoved,
    NdisDevicePnPEventQueryStopped,
    NdisDevicePnPEventStopped,
    NdisDevicePnPEventPowerProfileChanged,
    NdisDevicePnPEventFilterListChanged,
    NdisDevicePnPEventMaximum
} NDIS_DEVICE_PNP_EVENT, *PNDIS_DEVICE_PNP_EVENT;

/* What InformationBuffer holds for NdisDevicePnPEventPowerProfileChanged. */
typedef enum _NDIS_POWER_PROFILE {
    NdisPowerProfileBattery,
    NdisPowerProfileAcOnLine
} NDIS_POWER_PROFILE, *PNDIS_POWER_PROFILE;

/* What NDIS passes to MiniportDevicePnPEventNotify. */
typedef struct _NET_DEVICE_PNP_EVENT {
    NDIS_OBJECT_HEADER Header;
    NDIS_PORT_NUMBER PortNumber;
    NDIS_DEVICE_PNP_EVENT DevicePnPEvent;
    PVOID InformationBuffer;
    ULONG InformationBufferLength;
    UCHAR NdisReserved[2 * sizeof(PVOID)];
} NET_DEVICE_PNP_EVENT, *PNET_DEVICE_PNP_EVENT;

#define NET_DEVICE_PNP_EVENT_REVISION_1 1
#define NDIS_SIZEOF_NET_DEVICE_PNP_EVENT_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NET_DEVICE_PNP_EVENT, NdisReserved)

/* ---- pause and restart -------------------------------------------------- */

typedef struct _NDIS_MINIPORT_PAUSE_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    ULONG PauseReason; /* NDIS_PAUSE_* */
} NDIS_MINIPORT_PAUSE_PARAMETERS, *PNDIS_MINIPORT_PAUSE_PARAMETERS;

#define NDIS_MINIPORT_PAUSE_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_PAUSE_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_PAUSE_PARAMETERS, PauseReason)

typedef struct _NDIS_MINIPORT_RESTART_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    PNDIS_RESTART_ATTRIBUTES RestartAttributes;
    ULONG Flags;
} NDIS_MINIPORT_RESTART_PARAMETERS, *PNDIS_MINIPORT_RESTART_PARAMETERS;

#define NDIS_MINIPORT_RESTART_PARAMETERS_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_RESTART_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_RESTART_PARAMETERS, Flags)

/* ---- adapter attributes (NdisMSetMiniportAttributes) -------------------- */

/* Bus of the adapter (RegistrationAttributes.InterfaceType). */
typedef enum _NDIS_INTERFACE_TYPE {
    NdisInterfaceInternal = 0,
    NdisInterfaceIsa = 1,
    NdisInterfaceEisa = 2,
    NdisInterfaceMca = 3,
    NdisInterfaceTurboChannel = 4,
    NdisInterfacePci = 5,
    NdisInterfacePcMcia = 8,
    NdisInterfaceCBus = 9,
    NdisInterfaceMPIBus = 10,
    NdisInterfaceMPSABus = 11,
    NdisInterfaceProcessorInternal = 12,
    NdisInterfaceInternalPowerBus = 13,
    NdisInterfacePNPISABus = 14,
    NdisInterfacePNPBus = 15,
    NdisInterfaceUSB = 16,
    NdisInterfaceIrda = 17,
    NdisInterface1394 = 18,
    NdisMaximumInterfaceType = 19
} NDIS_INTERFACE_TYPE, *PNDIS_INTERFACE_TYPE;

/* Set from MiniportAddDevice. */
typedef struct _NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    NDIS_HANDLE MiniportAddDeviceContext;
    ULONG Flags;
} NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES,
    *PNDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES;

#define NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES, Flags)

/*
 * The first attributes MiniportInitializeEx must set: they register the
 * MiniportAdapterContext that NDIS passes to every later MiniportXxx call.
 */
typedef struct _NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    NDIS_HANDLE MiniportAdapterContext;
    ULONG AttributeFlags; /* NDIS_MINIPORT_ATTRIBUTES_* */
    UINT CheckForHangTimeInSeconds;
    NDIS_INTERFACE_TYPE InterfaceType;
} NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    *PNDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;

/* Revision 2 (NDIS 6.30) has the same layout and admits the 6.30 flags. */
#define NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1 1
#define NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2 2
#define NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, InterfaceType)
#define NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, InterfaceType)

/* NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES.AttributeFlags */
#define NDIS_MINIPORT_ATTRIBUTES_HARDWARE_DEVICE 0x00000001
#define NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM 0x00000002
#define NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK 0x00000004
#define NDIS_MINIPORT_ATTRIBUTES_NOT_CO_NDIS 0x00000008
#define NDIS_MINIPORT_ATTRIBUTES_DO_NOT_BIND_TO_ALL_CO 0x00000010
#define NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND 0x00000020
#define NDIS_MINIPORT_ATTRIBUTES_BUS_MASTER 0x00000040
#define NDIS_MINIPORT_ATTRIBUTES_CONTROLS_DEFAULT_PORT 0x00000080
#define NDIS_MINIPORT_ATTRIBUTES_NO_PAUSE_ON_SUSPEND 0x00000100
#define NDIS_MINIPORT_ATTRIBUTES_NO_OID_INTERCEPT_ON_NONDEFAULT_PORTS 0x00000200
#define NDIS_MINIPORT_ATTRIBUTES_REGISTER_BUGCHECK_CALLBACK 0x00000400

/* What the adapter is: medium, speeds, addresses, supported OIDs. */
typedef struct _NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    NDIS_MEDIUM MediaType;
    NDIS_PHYSICAL_MEDIUM PhysicalMediumType;
    ULONG MtuSize;
    ULONG64 MaxXmitLinkSpeed;
    ULONG64 XmitLinkSpeed;
    ULONG64 MaxRcvLinkSpeed;
    ULONG64 RcvLinkSpeed;
    NDIS_MEDIA_CONNECT_STATE MediaConnectState;
    NDIS_MEDIA_DUPLEX_STATE MediaDuplexState;
    ULONG LookaheadSize;
    PNDIS_PNP_CAPABILITIES PowerManagementCapabilities;
    ULONG MacOptions;
    ULONG SupportedPacketFilters;
    ULONG MaxMulticastListSize;
    USHORT MacAddressLength;
    UCHAR PermanentMacAddress[NDIS_MAX_PHYS_ADDRESS_LENGTH];
    UCHAR CurrentMacAddress[NDIS_MAX_PHYS_ADDRESS_LENGTH];
    PNDIS_RECEIVE_SCALE_CAPABILITIES RecvScaleCapabilities;
    NET_IF_ACCESS_TYPE AccessType;
    NET_IF_DIRECTION_TYPE DirectionType;
    NET_IF_CONNECTION_TYPE ConnectionType;
    NET_IFTYPE IfType;
    BOOLEAN IfConnectorPresent;
    ULONG SupportedStatistics;
    ULONG SupportedPauseFunctions;
    ULONG DataBackFillSize;
    ULONG ContextBackFillSize;
    PNDIS_OID SupportedOidList;
    ULONG SupportedOidListLength; /* bytes */
    ULONG AutoNegotiationFlags;
    /* NDIS 6.20 (revision 2) */
    PNDIS_PM_CAPABILITIES PowerManagementCapabilitiesEx;
} NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, *PNDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1 1
#define NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2 2
#define NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, AutoNegotiationFlags)
#define NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, \
                             PowerManagementCapabilitiesEx)

typedef struct _NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    PNDIS_OFFLOAD DefaultOffloadConfiguration;
    PNDIS_OFFLOAD HardwareOffloadCapabilities;
    PNDIS_TCP_CONNECTION_OFFLOAD DefaultTcpConnectionOffloadConfiguration;
    PNDIS_TCP_CONNECTION_OFFLOAD TcpConnectionOffloadHardwareCapabilities;
} NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES, *PNDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES, \
                             TcpConnectionOffloadHardwareCapabilities)

typedef struct _NDIS_MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    ULONG OpModeCapability;
    ULONG NumOfTXBuffers;
    ULONG NumOfRXBuffers;
    BOOLEAN MultiDomainCapabilityImplemented;
    ULONG NumSupportedPhys;
    PDOT11_PHY_ATTRIBUTES SupportedPhyAttributes;
    PDOT11_EXTSTA_ATTRIBUTES ExtSTAAttributes;
    PDOT11_VWIFI_ATTRIBUTES VWiFiAttributes;
    PDOT11_EXTAP_ATTRIBUTES ExtAPAttributes;
    PDOT11_WFD_ATTRIBUTES WFDAttributes;
} NDIS_MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES,
    *PNDIS_MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_802_11_ATTRIBUTES_REVISION_1 1
#define NDIS_MINIPORT_ADAPTER_802_11_ATTRIBUTES_REVISION_2 2
#define NDIS_MINIPORT_ADAPTER_802_11_ATTRIBUTES_REVISION_3 3

typedef struct _NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    PNDIS_HD_SPLIT_ATTRIBUTES HDSplitAttributes;
    PNDIS_RECEIVE_FILTER_CAPABILITIES HardwareReceiveFilterCapabilities;
    PNDIS_RECEIVE_FILTER_CAPABILITIES CurrentReceiveFilterCapabilities;
    PNDIS_NIC_SWITCH_CAPABILITIES HardwareNicSwitchCapabilities;
    PNDIS_NIC_SWITCH_CAPABILITIES CurrentNicSwitchCapabilities;
    /* NDIS 6.30 (revision 2) */
    PNDIS_SRIOV_CAPABILITIES HardwareSriovCapabilities;
    PNDIS_SRIOV_CAPABILITIES CurrentSriovCapabilities;
    /* revision 3 */
    PNDIS_QOS_CAPABILITIES HardwareQosCapabilities;
    PNDIS_QOS_CAPABILITIES CurrentQosCapabilities;
    /* revision 4 */
    PNDIS_GFT_OFFLOAD_CAPABILITIES HardwareGftOffloadCapabilities;
    PNDIS_GFT_OFFLOAD_CAPABILITIES CurrentGftOffloadCapabilities;
} NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES,
    *PNDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_1 1
#define NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_2 2
#define NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_3 3
#define NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_4 4
#define NDIS_SIZEOF_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES, \
                             CurrentNicSwitchCapabilities)
#define NDIS_SIZEOF_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES, \
                             CurrentSriovCapabilities)
#define NDIS_SIZEOF_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_3 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES, \
                             CurrentQosCapabilities)
#define NDIS_SIZEOF_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES_REVISION_4 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES, \
                             CurrentGftOffloadCapabilities)

typedef struct _NDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    BOOLEAN Enabled;
    PNDIS_NDK_CAPABILITIES NdkCapabilities;
} NDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES, *PNDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_ADAPTER_NDK_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES, NdkCapabilities)

typedef struct _NDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    UCHAR DmaAddressWidth;
} NDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES,
    *PNDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES;

#define NDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES_REVISION_1 1
#define NDIS_SIZEOF_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES, DmaAddressWidth)

/*
 * What NdisMSetMiniportAttributes takes: Header.Type
 * (NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_*_ATTRIBUTES) says which member is
 * filled in.
 */
typedef union _NDIS_MINIPORT_ADAPTER_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES AddDeviceRegistrationAttributes;
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES RegistrationAttributes;
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES GeneralAttributes;
    NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES OffloadAttributes;
    NDIS_MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES Native_802_11_Attributes;
    NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES HardwareAssistAttributes;
    NDIS_MINIPORT_ADAPTER_NDK_ATTRIBUTES NDKAttributes;
    NDIS_MINIPORT_ADAPTER_PACKET_DIRECT_ATTRIBUTES PacketDirectAttributes;
} NDIS_MINIPORT_ADAPTER_ATTRIBUTES, *PNDIS_MINIPORT_ADAPTER_ATTRIBUTES;

/* ---- handler role types ------------------------------------------------- */

typedef SET_OPTIONS(MINIPORT_SET_OPTIONS);

/*
 * PASSIVE_LEVEL. Must set the registration and general attributes with
 * NdisMSetMiniportAttributes before returning SUCCESS; a failure status
 * means NDIS will not call MiniportHaltEx for this adapter.
 */
typedef NDIS_STATUS(MINIPORT_INITIALIZE)(
    _In_ NDIS_HANDLE NdisMiniportHandle,
    _In_ NDIS_HANDLE MiniportDriverContext,
    _In_ PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters);
typedef MINIPORT_INITIALIZE(*MINIPORT_INITIALIZE_HANDLER);

/* PASSIVE_LEVEL. Every send has been completed and every indicated receive
 * returned before NDIS calls it. */
typedef VOID(MINIPORT_HALT)(_In_ NDIS_HANDLE MiniportAdapterContext,
                            _In_ NDIS_HALT_ACTION HaltAction);
typedef MINIPORT_HALT(*MINIPORT_HALT_HANDLER);

/* PASSIVE_LEVEL; undoes DriverEntry, including NdisMDeregisterMiniportDriver. */
typedef VOID(MINIPORT_UNLOAD)(_In_ PDRIVER_OBJECT DriverObject);
typedef MINIPORT_UNLOAD(*MINIPORT_DRIVER_UNLOAD);

/*
 * PASSIVE_LEVEL. Returns SUCCESS once paused, or PENDING followed by
 * NdisMPauseComplete; either way only after every outstanding send is
 * completed and every indicated receive is back.
 */
typedef NDIS_STATUS(MINIPORT_PAUSE)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                    _In_ PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters);
typedef MINIPORT_PAUSE(*MINIPORT_PAUSE_HANDLER);

/* PASSIVE_LEVEL. Returns SUCCESS, a failure, or PENDING followed by
 * NdisMRestartComplete. */
typedef NDIS_STATUS(MINIPORT_RESTART)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                      _In_ PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters);
typedef MINIPORT_RESTART(*MINIPORT_RESTART_HANDLER);

/* <= DISPATCH_LEVEL. Returns the final status or PENDING followed by
 * NdisMOidRequestComplete. */
typedef NDIS_STATUS(MINIPORT_OID_REQUEST)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                          _In_ PNDIS_OID_REQUEST OidRequest);
typedef MINIPORT_OID_REQUEST(*MINIPORT_OID_REQUEST_HANDLER);

/*
 * <= DISPATCH_LEVEL. Connectionless send: on entry the miniport owns the
 * chain until it hands each NBL back, with NET_BUFFER_LIST_STATUS set, through
 * NdisMSendNetBufferListsComplete (inline or later, in any grouping).
 */
typedef VOID(MINIPORT_SEND_NET_BUFFER_LISTS)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                             _In_ PNET_BUFFER_LIST NetBufferList,
                                             _In_ NDIS_PORT_NUMBER PortNumber,
                                             _In_ ULONG SendFlags);
typedef MINIPORT_SEND_NET_BUFFER_LISTS(*MINIPORT_SEND_NET_BUFFER_LISTS_HANDLER);

/* <= DISPATCH_LEVEL. Gives back NBLs the miniport indicated without
 * NDIS_RECEIVE_FLAGS_RESOURCES; they belong to the miniport again. */
typedef VOID(MINIPORT_RETURN_NET_BUFFER_LISTS)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                               _In_ PNET_BUFFER_LIST NetBufferLists,
                                               _In_ ULONG ReturnFlags);
typedef MINIPORT_RETURN_NET_BUFFER_LISTS(*MINIPORT_RETURN_NET_BUFFER_LISTS_HANDLER);

/* <= DISPATCH_LEVEL. Cancelled NBLs are still completed, with
 * NDIS_STATUS_SEND_ABORTED. */
typedef VOID(MINIPORT_CANCEL_SEND)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                   _In_ PVOID CancelId);
typedef MINIPORT_CANCEL_SEND(*MINIPORT_CANCEL_SEND_HANDLER);

/* <= DISPATCH_LEVEL. TRUE asks NDIS to reset the adapter. */
typedef BOOLEAN(MINIPORT_CHECK_FOR_HANG)(_In_ NDIS_HANDLE MiniportAdapterContext);
typedef MINIPORT_CHECK_FOR_HANG(*MINIPORT_CHECK_FOR_HANG_HANDLER);

/* <= DISPATCH_LEVEL. Returns SUCCESS or PENDING followed by
 * NdisMResetComplete. */
typedef NDIS_STATUS(MINIPORT_RESET)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                    _Out_ PBOOLEAN AddressingReset);
typedef MINIPORT_RESET(*MINIPORT_RESET_HANDLER);

/* PASSIVE_LEVEL. */
typedef VOID(MINIPORT_DEVICE_PNP_EVENT_NOTIFY)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                               _In_ PNET_DEVICE_PNP_EVENT NetDevicePnPEvent);
typedef MINIPORT_DEVICE_PNP_EVENT_NOTIFY(*MINIPORT_DEVICE_PNP_EVENT_NOTIFY_HANDLER);

/* PASSIVE_LEVEL for NdisShutdownPowerOff, HIGH_LEVEL for NdisShutdownBugCheck. */
typedef VOID(MINIPORT_SHUTDOWN)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                _In_ NDIS_SHUTDOWN_ACTION ShutdownAction);
typedef MINIPORT_SHUTDOWN(*MINIPORT_SHUTDOWN_HANDLER);

/* <= DISPATCH_LEVEL. */
typedef VOID(MINIPORT_CANCEL_OID_REQUEST)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                          _In_ PVOID RequestId);
typedef MINIPORT_CANCEL_OID_REQUEST(*MINIPORT_CANCEL_OID_REQUEST_HANDLER);

/* <= DISPATCH_LEVEL. Returns the final status or PENDING followed by
 * NdisMDirectOidRequestComplete. */
typedef NDIS_STATUS(MINIPORT_DIRECT_OID_REQUEST)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                                 _In_ PNDIS_OID_REQUEST OidRequest);
typedef MINIPORT_DIRECT_OID_REQUEST(*MINIPORT_DIRECT_OID_REQUEST_HANDLER);

/* <= DISPATCH_LEVEL. */
typedef VOID(MINIPORT_CANCEL_DIRECT_OID_REQUEST)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                                 _In_ PVOID RequestId);
typedef MINIPORT_CANCEL_DIRECT_OID_REQUEST(*MINIPORT_CANCEL_DIRECT_OID_REQUEST_HANDLER);

/* <= DISPATCH_LEVEL (NDIS 6.80). Completes inline: PENDING is not allowed. */
typedef NDIS_STATUS(MINIPORT_SYNCHRONOUS_OID_REQUEST)(_In_ NDIS_HANDLE MiniportAdapterContext,
                                                      _In_ PNDIS_OID_REQUEST OidRequest);
typedef MINIPORT_SYNCHRONOUS_OID_REQUEST(*MINIPORT_SYNCHRONOUS_OID_REQUEST_HANDLER);

/* ---- registration ------------------------------------------------------- */

typedef struct _NDIS_MINIPORT_DRIVER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    UCHAR MajorDriverVersion;
    UCHAR MinorDriverVersion;
    ULONG Flags; /* NDIS_INTERMEDIATE_DRIVER, NDIS_WDM_DRIVER */
    SET_OPTIONS_HANDLER SetOptionsHandler;
    MINIPORT_INITIALIZE_HANDLER InitializeHandlerEx;
    MINIPORT_HALT_HANDLER HaltHandlerEx;
    MINIPORT_DRIVER_UNLOAD UnloadHandler;
    MINIPORT_PAUSE_HANDLER PauseHandler;
    MINIPORT_RESTART_HANDLER RestartHandler;
    MINIPORT_OID_REQUEST_HANDLER OidRequestHandler;
    MINIPORT_SEND_NET_BUFFER_LISTS_HANDLER SendNetBufferListsHandler;
    MINIPORT_RETURN_NET_BUFFER_LISTS_HANDLER ReturnNetBufferListsHandler;
    MINIPORT_CANCEL_SEND_HANDLER CancelSendHandler;
    MINIPORT_CHECK_FOR_HANG_HANDLER CheckForHangHandlerEx;
    MINIPORT_RESET_HANDLER ResetHandlerEx;
    MINIPORT_DEVICE_PNP_EVENT_NOTIFY_HANDLER DevicePnPEventNotifyHandler;
    MINIPORT_SHUTDOWN_HANDLER ShutdownHandlerEx;
    MINIPORT_CANCEL_OID_REQUEST_HANDLER CancelOidRequestHandler;
    /* NDIS 6.1 (revision 2) */
    MINIPORT_DIRECT_OID_REQUEST_HANDLER DirectOidRequestHandler;
    MINIPORT_CANCEL_DIRECT_OID_REQUEST_HANDLER CancelDirectOidRequestHandler;
    /* NDIS 6.80 (revision 3) */
    MINIPORT_SYNCHRONOUS_OID_REQUEST_HANDLER SynchronousOidRequestHandler;
} NDIS_MINIPORT_DRIVER_CHARACTERISTICS, *PNDIS_MINIPORT_DRIVER_CHARACTERISTICS;

#define NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 1
#define NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 2
#define NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3 3
#define NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, CancelOidRequestHandler)
#define NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, \
                             CancelDirectOidRequestHandler)
#define NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, \
                             SynchronousOidRequestHandler)

/* NDIS_MINIPORT_DRIVER_CHARACTERISTICS.Flags */
#define NDIS_INTERMEDIATE_DRIVER 0x00000001
#define NDIS_WDM_DRIVER 0x00000002
#define NDIS_DRIVER_FLAGS_RESERVED 0x00000008

/* ---- functions ---------------------------------------------------------- */

/* PASSIVE_LEVEL, from DriverEntry. */
NDIS_STATUS NdisMRegisterMiniportDriver(
    _In_ PDRIVER_OBJECT DriverObject,
    _In_ PUNICODE_STRING RegistryPath,
    _In_opt_ NDIS_HANDLE MiniportDriverContext,
    _In_ PNDIS_MINIPORT_DRIVER_CHARACTERISTICS MiniportDriverCharacteristics,
    _Out_ PNDIS_HANDLE NdisMiniportDriverHandle);

/* PASSIVE_LEVEL, from MiniportDriverUnload or a failed DriverEntry. */
VOID NdisMDeregisterMiniportDriver(_In_ NDIS_HANDLE NdisMiniportDriverHandle);

/*
 * PASSIVE_LEVEL, from MiniportInitializeEx (or MiniportAddDevice for the
 * add-device attributes). NDIS copies what it needs; the structure and
 * anything it points to may be freed on return.
 */
NDIS_STATUS NdisMSetMiniportAttributes(
    _In_ NDIS_HANDLE NdisMiniportHandle,
    _In_ PNDIS_MINIPORT_ADAPTER_ATTRIBUTES MiniportAttributes);

/* <= DISPATCH_LEVEL; finishes a pause for which MiniportPause returned
 * PENDING. */
VOID NdisMPauseComplete(_In_ NDIS_HANDLE MiniportAdapterHandle);

/* <= DISPATCH_LEVEL; finishes a restart for which MiniportRestart returned
 * PENDING. */
VOID NdisMRestartComplete(_In_ NDIS_HANDLE MiniportAdapterHandle,
                          _In_ NDIS_STATUS Status);

/* <= DISPATCH_LEVEL; finishes a request for which MiniportOidRequest returned
 * PENDING. The miniport must not touch OidRequest afterwards. */
VOID NdisMOidRequestComplete(_In_ NDIS_HANDLE MiniportAdapterHandle,
                             _In_ PNDIS_OID_REQUEST OidRequest,
                             _In_ NDIS_STATUS Status);

/* <= DISPATCH_LEVEL. */
VOID NdisMIndicateStatusEx(_In_ NDIS_HANDLE MiniportAdapterHandle,
                           _In_ PNDIS_STATUS_INDICATION StatusIndication);

/*
 * <= DISPATCH_LEVEL. Hands sent NBLs back to their sender; each carries its
 * final NET_BUFFER_LIST_STATUS (never PENDING). The miniport owns none of
 * them once it calls this.
 */
VOID NdisMSendNetBufferListsComplete(_In_ NDIS_HANDLE MiniportAdapterHandle,
                                     _In_ PNET_BUFFER_LIST NetBufferLists,
                                     _In_ ULONG SendCompleteFlags);

/*
 * <= DISPATCH_LEVEL. Lends received NBLs to the bound protocols. Without
 * NDIS_RECEIVE_FLAGS_RESOURCES they come back through
 * MiniportReturnNetBufferLists; with it they are the miniport's again when
 * this call returns.
 */
VOID NdisMIndicateReceiveNetBufferLists(_In_ NDIS_HANDLE MiniportAdapterHandle,
                                        _In_ PNET_BUFFER_LIST NetBufferLists,
                                        _In_ NDIS_PORT_NUMBER PortNumber,
                                        _In_ ULONG NumberOfNetBufferLists,
                                        _In_ ULONG ReceiveFlags);

/* PASSIVE_LEVEL. Any out pointer may be NULL. */
VOID NdisMGetDeviceProperty(_In_ NDIS_HANDLE MiniportAdapterHandle,
                            _Inout_opt_ PDEVICE_OBJECT *PhysicalDeviceObject,
                            _Inout_opt_ PDEVICE_OBJECT *FunctionalDeviceObject,
                            _Inout_opt_ PDEVICE_OBJECT *NextDeviceObject,
                            _Inout_opt_ PCM_RESOURCE_LIST *AllocatedResources,
                            _Inout_opt_ PCM_RESOURCE_LIST *AllocatedResourcesTranslated);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_MINIPORT_H */
