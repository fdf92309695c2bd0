/*
 * mcmlib.h - what condis' built-in miniport call managers (loop, sim) have
 * in common and none of them makes its own: the call manager operations a
 * simple point-to-point MCM does not offer, the answers to the CoNDIS
 * general OIDs, the adapter attributes of a virtual CoWan adapter, the
 * check of the call parameters such an MCM accepts, and the reading of
 * bounded integer parameters.
 *
 * Like the drivers that use it, it is written only against <ndis.h>. It
 * holds no state of its own beyond the constant list of supported OIDs;
 * what each function owns, and at which IRQL it may be called, is said at
 * its declaration. A driver keeps its own registration, address family,
 * VC, call, send and completion logic: this helper only removes what would
 * be the same in each of them.
 */
#ifndef CONDIS_DRIVERS_MCMLIB_H
#define CONDIS_DRIVERS_MCMLIB_H

#include <ndis.h>

/* ---- values from ntddndis.h that condis' <ndis.h> does not carry ---------- */
#ifndef OID_GEN_CO_SUPPORTED_LIST
#define OID_GEN_CO_SUPPORTED_LIST 0x00010101       /* = OID_GEN_SUPPORTED_LIST */
#endif
#ifndef OID_GEN_CO_MEDIA_SUPPORTED
#define OID_GEN_CO_MEDIA_SUPPORTED 0x00010103      /* = OID_GEN_MEDIA_SUPPORTED */
#endif
#ifndef OID_GEN_CO_MEDIA_IN_USE
#define OID_GEN_CO_MEDIA_IN_USE 0x00010104         /* = OID_GEN_MEDIA_IN_USE */
#endif
#ifndef OID_GEN_CO_LINK_SPEED
#define OID_GEN_CO_LINK_SPEED 0x00010107           /* = OID_GEN_LINK_SPEED */
#endif
#ifndef OID_GEN_CO_MEDIA_CONNECT_STATUS
#define OID_GEN_CO_MEDIA_CONNECT_STATUS 0x00010114 /* = OID_GEN_MEDIA_CONNECT_STATUS */
#endif

/* A pool tag from its four characters, the first in the lowest byte, so
 * that it reads "LpAd" in a memory dump and in condis' leak report. Spelled
 * out rather than as a multi-character constant, whose value C leaves to
 * the compiler. */
#define MCMLIB_TAG(a, b, c, d) \
    ((ULONG)(UCHAR)(a) | ((ULONG)(UCHAR)(b) << 8) | ((ULONG)(UCHAR)(c) << 16) | \
     ((ULONG)(UCHAR)(d) << 24))

/* ---- small helpers ---------------------------------------------------------- */

/*
 * Take a spin lock from PASSIVE_LEVEL (NdisAcquireSpinLock raises to
 * DISPATCH_LEVEL) or from DISPATCH_LEVEL (the Dpr form skips the raise).
 * Returns which form it used; pass that to McmLibUnlock, at the same IRQL,
 * on the same thread. IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN McmLibLock(PNDIS_SPIN_LOCK Lock);
VOID McmLibUnlock(PNDIS_SPIN_LOCK Lock, BOOLEAN Dpr);

/* NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL exactly when the caller runs at
 * DISPATCH_LEVEL: the flag promises the protocol the IRQL of its handler.
 * Any IRQL <= DISPATCH_LEVEL. */
ULONG McmLibSendCompleteFlags(VOID);

/* Bytes of data in an NBL: the sum over its NET_BUFFERs. Reads the NBL
 * only; the caller owns it. Any IRQL <= DISPATCH_LEVEL. */
static FORCEINLINE ULONG64 McmLibNblDataLength(PNET_BUFFER_LIST Nbl)
{
    ULONG64 length = 0;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(Nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb))
        length += NET_BUFFER_DATA_LENGTH(nb);
    return length;
}

/* Zeroed memory of Size bytes with Tag, charged to Handle (the adapter's
 * or the driver's NDIS handle); NULL when there is none, or when Size does
 * not fit the UINT NDIS takes. The caller owns it and frees it with
 * NdisFreeMemory. IRQL <= DISPATCH_LEVEL. */
PVOID McmLibAllocateZeroed(NDIS_HANDLE Handle, SIZE_T Size, ULONG Tag);

/*
 * Complete a chain the miniport did not accept, linked as the protocol gave
 * it: every NBL gets Status, and the chain goes back in one
 * NdisMCoSendNetBufferListsComplete on NdisVcHandle, at the caller's IRQL
 * (flagged as McmLibSendCompleteFlags says). On entry the miniport owns the
 * chain; on return it owns none of it and must not touch it (OWN-4, OWN-5).
 * Status must be final, never NDIS_STATUS_PENDING (NBL-3).
 */
VOID McmLibRefuseSends(NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST Chain, NDIS_STATUS Status);

/* ---- call parameters ------------------------------------------------------------ */

/* The fields of a call's Transmit flow spec a built-in MCM honours. */
typedef struct _MCMLIB_CALL_LIMITS {
    ULONG MaxSduSize;     /* largest NBL, in bytes; 0: no limit */
    ULONG PeakBandwidth;  /* bytes per second; 0 (also for QOS_NOT_SPECIFIED): no limit */
} MCMLIB_CALL_LIMITS, *PMCMLIB_CALL_LIMITS;

/*
 * Whether a built-in MCM accepts a call: point-to-point (no PERMANENT_VC,
 * BROADCAST_VC or MULTIPOINT_VC), sending and receiving (TRANSMIT_VC and
 * RECEIVE_VC), and with no call-manager- or media-specific data, since it
 * has nothing to negotiate. NDIS_STATUS_NOT_SUPPORTED for a kind of call it
 * does not offer (or missing parameters), NDIS_STATUS_INVALID_DATA for
 * parameters it cannot honour, else NDIS_STATUS_SUCCESS with Limits filled.
 * CallParameters stay the caller's; they are only read. Any IRQL <=
 * DISPATCH_LEVEL.
 */
NDIS_STATUS McmLibCheckCallParameters(PCO_CALL_PARAMETERS CallParameters,
                                      PMCMLIB_CALL_LIMITS Limits);

/* ---- OID requests and adapter attributes ------------------------------------------ */

/*
 * Answer one of the CoNDIS general queries a virtual CoWan adapter knows
 * (OID_GEN_CO_SUPPORTED_LIST, _MEDIA_SUPPORTED, _MEDIA_IN_USE, _LINK_SPEED,
 * _MEDIA_CONNECT_STATUS) at once; every other request, and every set, is
 * NDIS_STATUS_NOT_SUPPORTED, and a buffer too short is
 * NDIS_STATUS_BUFFER_TOO_SHORT with BytesNeeded. The medium is Medium, the
 * media is always connected, and LinkSpeed (bits per second) is reported in
 * units of 100 bit/s each way. The request and its buffer stay the caller's;
 * the answer is written into the buffer. Never pends. IRQL <= DISPATCH_LEVEL.
 */
NDIS_STATUS McmLibQueryOid(PNDIS_OID_REQUEST Request, NDIS_MEDIUM Medium, ULONG64 LinkSpeed);

/*
 * Tell NDIS what a virtual CoWan adapter is: its registration attributes
 * (MiniportAdapterContext, surprise removal OK, no hang check, internal
 * interface, CoNDIS) and its general attributes (point-to-point, full
 * duplex, always connected, no MAC address, MtuSize, LinkSpeed in bits per
 * second each way, IfType, and the OIDs McmLibQueryOid answers).
 * PASSIVE_LEVEL, from MiniportInitializeEx. Returns NdisMSetMiniportAttributes'
 * status; NDIS copies what it keeps.
 */
NDIS_STATUS McmLibSetCoWanAttributes(NDIS_HANDLE MiniportAdapterHandle,
                                     NDIS_HANDLE MiniportAdapterContext, ULONG MtuSize,
                                     ULONG64 LinkSpeed, NET_IFTYPE IfType);

/* ---- parameters ---------------------------------------------------------------------- */

/*
 * Open the adapter's configuration (NdisOpenConfigurationEx), for
 * McmLibReadUlong. On NDIS_STATUS_SUCCESS the caller owns *Configuration
 * and closes it with NdisCloseConfiguration; otherwise there are no
 * parameters and the defaults stand. PASSIVE_LEVEL.
 */
NDIS_STATUS McmLibOpenConfiguration(NDIS_HANDLE MiniportAdapterHandle,
                                    PNDIS_HANDLE Configuration);

/*
 * An integer parameter within [Min, Max], or Default when it is missing. A
 * value that is not a number, or is out of range, is reported with
 * DbgPrint in the name of Driver ("Name=... is out of range (Min..Max);
 * Driver keeps Default") and Default is kept. Reads Configuration only.
 * PASSIVE_LEVEL.
 */
ULONG McmLibReadUlong(NDIS_HANDLE Configuration, PCWSTR Name, ULONG Default, ULONG Min, ULONG Max,
                      const char *Driver);

/* ---- what a point-to-point MCM does not offer ---------------------------------------
 * NDIS requires every entry of the call manager table. These are the
 * entries of an MCM without incoming calls (so without SAPs), multipoint
 * calls (parties) or QoS changes, and without signalling OIDs: each refuses
 * with NDIS_STATUS_NOT_SUPPORTED, or, for the completion of something such
 * an MCM never starts, does nothing. None keeps or frees anything it is
 * passed. All run at IRQL <= DISPATCH_LEVEL.
 */
PROTOCOL_CM_REG_SAP McmLibCmRegisterSap;
PROTOCOL_CM_DEREGISTER_SAP McmLibCmDeregisterSap;
/* Answers an NdisMCmDispatchIncomingCall, which such an MCM never makes. */
PROTOCOL_CM_INCOMING_CALL_COMPLETE McmLibCmIncomingCallComplete;
PROTOCOL_CM_ADD_PARTY McmLibCmAddParty;
PROTOCOL_CM_DROP_PARTY McmLibCmDropParty;
/* NDIS never calls an MCM's activate/deactivate completions: its
 * NdisMCmActivateVc / NdisMCmDeactivateVc answer at once. */
PROTOCOL_CM_ACTIVATE_VC_COMPLETE McmLibCmActivateVcComplete;
PROTOCOL_CM_DEACTIVATE_VC_COMPLETE McmLibCmDeactivateVcComplete;
PROTOCOL_CM_MODIFY_QOS_CALL McmLibCmModifyCallQoS;
/* Call manager OIDs ask about signalling; the adapter's own OIDs come
 * through MiniportCoOidRequest. */
PROTOCOL_CO_OID_REQUEST McmLibCmOidRequest;
/* Completes an NdisMCmOidRequest, which such an MCM never makes. */
PROTOCOL_CO_OID_REQUEST_COMPLETE McmLibCmOidRequestComplete;

/*
 * Prepare the call manager table of an MCM: the header, and every handler
 * above for what it does not offer. The driver then sets its own handlers
 * (CmCreateVc, CmDeleteVc, CmOpenAf, CmCloseAf, CmMakeCall, CmCloseCall,
 * CmNotifyCloseAfComplete) and passes the table to NdisSetOptionalHandlers,
 * which copies it. Cm is the caller's. PASSIVE_LEVEL, from MiniportSetOptions.
 */
VOID McmLibInitCallManagerHandlers(PNDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS Cm);

/* ---- miniport handlers with nothing to do for a virtual adapter ---------------------- */

/* MiniportCoDeactivateVc: no hardware to release; SUCCESS. NDIS does not
 * call it for an MCM, which deactivates its VCs itself. IRQL <= DISPATCH_LEVEL. */
MINIPORT_CO_DEACTIVATE_VC McmLibCoDeactivateVc;
/* MiniportCancelOidRequest: every request is answered at once, so there is
 * never one to cancel. IRQL <= DISPATCH_LEVEL. */
MINIPORT_CANCEL_OID_REQUEST McmLibCancelOidRequest;
/* MiniportDevicePnPEventNotify: PASSIVE_LEVEL. No device, nothing to do. */
MINIPORT_DEVICE_PNP_EVENT_NOTIFY McmLibDevicePnPEventNotify;
/* MiniportShutdownEx: PASSIVE_LEVEL, or HIGH_LEVEL on a bug check, where
 * nothing may be called. No hardware to quiesce. */
MINIPORT_SHUTDOWN McmLibShutdownEx;

#endif /* CONDIS_DRIVERS_MCMLIB_H */
