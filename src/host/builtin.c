/*
 * builtin.c - the table of drivers built into libcondis.
 */
#include <string.h>

#include <condis/builtin.h>

/* Each built-in driver's DriverEntry, under a name of its own. */
DRIVER_INITIALIZE LoopDriverEntry;
DRIVER_INITIALIZE Loop5DriverEntry;
DRIVER_INITIALIZE SimDriverEntry;
DRIVER_INITIALIZE Sim5DriverEntry;
DRIVER_INITIALIZE CosendDriverEntry;
DRIVER_INITIALIZE Cosend5DriverEntry;

static const struct condis_builtin builtins[] = {
    { "loop", "miniport",
      "CoWan miniport call manager that loops every sent NBL back as a receive on its VC",
      LoopDriverEntry },
    { "loop5", "miniport",
      "NDIS 5.1 CoWan miniport call manager that loops every sent packet back as a receive on its VC",
      Loop5DriverEntry },
    { "sim", "miniport",
      "simulated CoWan NIC (miniport call manager), a sink that queues, shapes, delays, reorders, batches and fails completions",
      SimDriverEntry },
    { "sim5", "miniport",
      "NDIS 5.1 simulated CoWan NIC (miniport call manager), a sink with sim's queue, DPC, reorder, fail and latency knobs",
      Sim5DriverEntry },
    { "cosend", "protocol",
      "CoNDIS 6 client that sends CosendCount NBLs on each of CosendVcs VCs and checks every completion",
      CosendDriverEntry },
    { "cosend5", "protocol",
      "NDIS 5.1 CoNDIS client: NdisCoSendPackets with the documented packet reuse in ProtocolCoSendComplete",
      Cosend5DriverEntry },
    { NULL, NULL, NULL, NULL },
};

const struct condis_builtin *condis_builtins(void)
{
    return builtins;
}

const struct condis_builtin *condis_builtin_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (const struct condis_builtin *b = builtins; b->name; b++)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}
