/*
 * ndis.h - the Windows NDIS surface condis implements: what a CoNDIS
 * protocol or miniport driver includes. Windows names and values only;
 * condis' own API lives under <condis/...>.
 *
 * Legacy NDIS 5.x drivers define NDIS50 or NDIS51 before including it, as on
 * Windows; NDIS 6.x drivers define NDIS60 (or later) or nothing.
 */
#ifndef CONDIS_NDIS_H
#define CONDIS_NDIS_H

#include "ndis/types.h"    /* base types, SAL, lists, strings, DRIVER_OBJECT */
#include "ndis/status.h"   /* NTSTATUS / NDIS_STATUS values */
#include "ndis/object.h"   /* NDIS_OBJECT_HEADER, object types, media, versions */
#include "ndis/os.h"       /* IRQL, spin locks, events, DPCs, work items, timers,
                              memory, configuration, DbgPrint */
#include "ndis/mdl.h"      /* MDL */
#include "ndis/nbl.h"      /* NET_BUFFER, NET_BUFFER_LIST and their pools */
#include "ndis/packet.h"   /* NDIS 5.x packets, buffer descriptors and their pools */
#include "ndis/protocol.h" /* protocol drivers, binding and unbinding */
#include "ndis/miniport.h" /* miniport drivers and adapters */
#include "ndis/co.h"       /* CoNDIS: address families, VCs, calls, send/receive */
#include "ndis/ndis5.h"    /* NDIS 5.x: legacy registration, CoNDIS 5, packets on VCs */

#endif /* CONDIS_NDIS_H */
