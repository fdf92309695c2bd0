/*
 * paramdump.c - an NDIS 6 protocol driver that only reports the parameters
 * it was given, so a test can see which --param reached which driver.
 *
 * It registers in DriverEntry. DriverEntry has no NDIS handle to open a
 * configuration with, but ProtocolSetOptions, called from inside
 * NdisRegisterProtocolDriver, receives the driver's NdisDriverHandle: the
 * parameters are read there and printed one per line:
 *
 *   paramdump: ParamA=<string>     or  paramdump: ParamA is not set
 *   paramdump: ParamB=<integer>    or  paramdump: ParamB is not set
 *   paramdump: ParamC=<string>     or  paramdump: ParamC is not set
 *
 * It declines every binding (NDIS_STATUS_UNSUPPORTED_MEDIA), so it never
 * creates a VC: a run with it ends by its time limit or by Ctrl-C. Its
 * unload routine deregisters the protocol.
 */
#include <ndis.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ParamdumpUnload;
static PROTOCOL_SET_OPTIONS ParamdumpSetOptions;
static PROTOCOL_BIND_ADAPTER_EX ParamdumpBindAdapterEx;
static PROTOCOL_UNBIND_ADAPTER_EX ParamdumpUnbindAdapterEx;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX ParamdumpOpenAdapterCompleteEx;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX ParamdumpCloseAdapterCompleteEx;

static NDIS_HANDLE g_ProtocolHandle;

/* PASSIVE_LEVEL. Prints one keyword read as a string. */
static VOID ParamdumpString(NDIS_HANDLE Config, PCWSTR Name)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterString);
    if (status == NDIS_STATUS_SUCCESS && value != NULL &&
        value->ParameterType == NdisParameterString)
        DbgPrint("paramdump: %ws=%wZ\n", Name, &value->ParameterData.StringData);
    else
        DbgPrint("paramdump: %ws is not set\n", Name);
}

/* PASSIVE_LEVEL. Prints one keyword read as an integer. */
static VOID ParamdumpInteger(NDIS_HANDLE Config, PCWSTR Name)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterInteger);
    if (status == NDIS_STATUS_SUCCESS && value != NULL &&
        value->ParameterType == NdisParameterInteger)
        DbgPrint("paramdump: %ws=%lu\n", Name, value->ParameterData.IntegerData);
    else
        DbgPrint("paramdump: %ws is not set\n", Name);
}

/*
 * ProtocolSetOptions, PASSIVE_LEVEL, from inside NdisRegisterProtocolDriver:
 * the first moment this driver holds a handle of its own, so the first
 * moment it can open its configuration.
 */
_Use_decl_annotations_
static NDIS_STATUS ParamdumpSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    NDIS_CONFIGURATION_OBJECT configObject;
    NDIS_HANDLE config = NULL;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverContext);

    NdisZeroMemory(&configObject, sizeof(configObject));
    configObject.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    configObject.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    configObject.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    configObject.NdisHandle = NdisDriverHandle;
    configObject.Flags = 0;

    status = NdisOpenConfigurationEx(&configObject, &config);
    if (status != NDIS_STATUS_SUCCESS) {
        /* Not fatal: the driver is still a valid (if idle) protocol. */
        DbgPrint("paramdump: NdisOpenConfigurationEx failed (0x%08lx)\n", (ULONG)status);
        return NDIS_STATUS_SUCCESS;
    }
    ParamdumpString(config, L"ParamA");
    ParamdumpInteger(config, L"ParamB");
    ParamdumpString(config, L"ParamC");
    NdisCloseConfiguration(config);
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL. Declining with UNSUPPORTED_MEDIA is the polite "not for
 * me": the adapter stays available to other protocols and nothing is
 * opened, so there is nothing to close at unbind. */
_Use_decl_annotations_
static NDIS_STATUS ParamdumpBindAdapterEx(NDIS_HANDLE ProtocolDriverContext,
                                          NDIS_HANDLE BindContext,
                                          PNDIS_BIND_PARAMETERS BindParameters)
{
    UNREFERENCED_PARAMETER(ProtocolDriverContext);
    UNREFERENCED_PARAMETER(BindContext);
    UNREFERENCED_PARAMETER(BindParameters);
    return NDIS_STATUS_UNSUPPORTED_MEDIA;
}

/* Never called: no binding is ever opened. Required all the same. */
_Use_decl_annotations_
static NDIS_STATUS ParamdumpUnbindAdapterEx(NDIS_HANDLE UnbindContext,
                                            NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(UnbindContext);
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID ParamdumpOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
}

_Use_decl_annotations_
static VOID ParamdumpCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

/* DriverUnload, PASSIVE_LEVEL: undo the registration. */
_Use_decl_annotations_
static VOID ParamdumpUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocolDriver(g_ProtocolHandle);
        g_ProtocolHandle = NULL;
    }
    DbgPrint("paramdump: unloaded\n");
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("paramdump");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);

    NdisZeroMemory(&pc, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = 6;
    pc.MinorNdisVersion = 0;
    pc.MajorDriverVersion = 1;
    pc.MinorDriverVersion = 0;
    pc.Name = name;
    pc.SetOptionsHandler = ParamdumpSetOptions;
    pc.BindAdapterHandlerEx = ParamdumpBindAdapterEx;
    pc.UnbindAdapterHandlerEx = ParamdumpUnbindAdapterEx;
    pc.OpenAdapterCompleteHandlerEx = ParamdumpOpenAdapterCompleteEx;
    pc.CloseAdapterCompleteHandlerEx = ParamdumpCloseAdapterCompleteEx;

    status = NdisRegisterProtocolDriver(NULL, &pc, &g_ProtocolHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("paramdump: NdisRegisterProtocolDriver failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = ParamdumpUnload;
    return STATUS_SUCCESS;
}
