/*
 * stuckunbind.c - a protocol that binds to every CoWan adapter and then
 * never finishes unbinding: ProtocolUnbindAdapterEx returns
 * NDIS_STATUS_PENDING and NdisCompleteUnbindAdapterEx never comes. condis
 * must give up after its driver timeout, name the driver and the step it
 * is stuck in, finish the run, and exit with status 3.
 */
#include <ndis.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD StuckUnload;
static PROTOCOL_BIND_ADAPTER_EX StuckBind;
static PROTOCOL_UNBIND_ADAPTER_EX StuckUnbind;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX StuckOpenComplete;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX StuckCloseComplete;

static NDIS_HANDLE StuckProtocol;
static NDIS_HANDLE StuckBinding;

_Use_decl_annotations_
static NDIS_STATUS StuckBind(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                             PNDIS_BIND_PARAMETERS BindParameters)
{
    NDIS_MEDIUM medium = NdisMediumCoWan;
    UINT selected = 0;
    NDIS_OPEN_PARAMETERS op;
    UNREFERENCED_PARAMETER(ProtocolDriverContext);
    NdisZeroMemory(&op, sizeof(op));
    op.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    op.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    op.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    op.AdapterName = BindParameters->AdapterName;
    op.MediumArray = &medium;
    op.MediumArraySize = 1;
    op.SelectedMediumIndex = &selected;
    return NdisOpenAdapterEx(StuckProtocol, NULL, &op, BindContext, &StuckBinding);
}

_Use_decl_annotations_
static NDIS_STATUS StuckUnbind(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(UnbindContext);
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    DbgPrint("stuckunbind: pending the unbind and never completing it, on purpose\n");
    return NDIS_STATUS_PENDING;
}

_Use_decl_annotations_
static VOID StuckOpenComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
}

_Use_decl_annotations_
static VOID StuckCloseComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

_Use_decl_annotations_
static VOID StuckUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisDeregisterProtocolDriver(StuckProtocol);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    UNREFERENCED_PARAMETER(RegistryPath);
    NdisZeroMemory(&pc, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = 6;
    pc.MinorNdisVersion = 0;
    NdisInitUnicodeString(&pc.Name, L"stuckunbind");
    pc.BindAdapterHandlerEx = StuckBind;
    pc.UnbindAdapterHandlerEx = StuckUnbind;
    pc.OpenAdapterCompleteHandlerEx = StuckOpenComplete;
    pc.CloseAdapterCompleteHandlerEx = StuckCloseComplete;
    DriverObject->DriverUnload = StuckUnload;
    return NdisRegisterProtocolDriver(NULL, &pc, &StuckProtocol);
}
