/*
 * failentry.c - a driver whose DriverEntry fails, as a driver does when it
 * cannot allocate what it needs. It registers nothing, so there is nothing
 * to undo; condis must report the status by name
 * (NDIS_STATUS_RESOURCES, the same value as STATUS_INSUFFICIENT_RESOURCES)
 * and exit with status 3.
 */
#include <ndis.h>

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    DbgPrint("failentry: failing DriverEntry on purpose\n");
    return STATUS_INSUFFICIENT_RESOURCES;
}
