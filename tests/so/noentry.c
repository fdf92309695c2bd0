/*
 * noentry.c - a well-formed shared object that is not a driver: it exports
 * functions, but no DriverEntry. `condis run --protocol noentry.so` must
 * refuse it with exit status 3 and say that DriverEntry is missing.
 */
#include <ndis.h>

/* Exported so that the object is not empty; the name is close to the real
 * one on purpose, to show that condis looks for the exact symbol. */
NTSTATUS DriverEntryNot(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

NTSTATUS DriverEntryNot(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    return STATUS_SUCCESS;
}
