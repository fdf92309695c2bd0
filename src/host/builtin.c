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

/*
 * Each driver's parameters, one per line: what `condis help DRIVER` prints.
 * The full tables are in docs/sim.md; keep both in step with the drivers.
 */
static const char sim_params[] =
    "SimQueue=N         256  TX queue depth, 1..65536\n"
    "SimDpcThreads=N    1    completion contexts (DPCs on their own processors)\n"
    "SimInline=1        0    complete inside the send call when it can\n"
    "SimReorder=N       0    complete each VC's NBLs shuffled in windows of N\n"
    "SimBatch=N         0    at most N NBLs per completion call (splits/merges chains)\n"
    "SimFailEvery=N     0    every Nth NBL completes with SimFailStatus\n"
    "SimFailStatus=S    0xC0000001  that status (NDIS_STATUS_FAILURE)\n"
    "SimLatencyUs=N     0    no completion earlier than N us after acceptance\n"
    "SimEarlyComplete=1 0    complete as NBLs enter the TX queue, not as they leave\n"
    "SimSeed=N          1    seed of the per-VC reorder generators\n"
    "SimBug=N           0    test-only: plant a bug the verifier must catch:\n"
    "                        1 double completion (OWN-5), 2 never completed (OWN-6),\n"
    "                        3 NDIS_STATUS_PENDING (NBL-3 / PKT-3), 4 NET_BUFFER list\n"
    "                        changed (OWN-7, sim only), 5 wrong VC (OWN-5), 6 write\n"
    "                        after completion (OWN-4), 7 DISPATCH flag at PASSIVE\n"
    "                        (IRQL-1, sim only), 8 NDIS_STATUS_RESOURCES (PKT-3, sim5)\n"
    "SimBugEvery=K      100  the bug hits every Kth NBL or packet accepted\n";

static const char loop_params[] =
    "LoopInline=0/1        0  loop back inside the send call instead of from the DPC\n"
    "LoopResources=0/1     0  indicate receives with NDIS_RECEIVE_FLAGS_RESOURCES\n"
    "LoopAddressFamily=N   6  the address family registered (CO_ADDRESS_FAMILY_PPP)\n";

static const char loop5_params[] =
    "LoopInline=0/1        0  loop back inside the send call instead of from the DPC\n"
    "LoopResources=0/1     0  indicate receives with NDIS_STATUS_RESOURCES\n"
    "LoopAddressFamily=N   6  the address family registered (CO_ADDRESS_FAMILY_PPP)\n"
    "LoopPendOpenAf=1      0  pend CmOpenAf and complete it from a work item\n";

static const char cosend_params[] =
    "CosendVcs=N      4       VCs per binding, 1..1024\n"
    "CosendCount=N    250000  NBLs sent on each VC\n"
    "CosendSize=N     256     bytes per NBL, 1..65535\n"
    "CosendWindow=N   256     NBLs in flight per VC, 1..8192\n"
    "CosendChain=N    8       NBLs per NdisCoSendNetBufferLists call\n";

static const char cosend5_params[] =
    "Cosend5Vcs=N           4       VCs per binding\n"
    "Cosend5Count=N         250000  packets sent on each VC\n"
    "Cosend5Size=N          256     bytes per packet\n"
    "Cosend5Window=N        256     packets in flight per VC\n"
    "Cosend5Chain=N         8       packets per NdisCoSendPackets call, at most 64\n"
    "Cosend5KeepReceives=1  0       keep some receives, return them later\n";

static const struct condis_builtin builtins[] = {
    { "loop", "miniport",
      "CoWan miniport call manager that loops every sent NBL back as a receive on its VC",
      LoopDriverEntry, loop_params },
    { "loop5", "miniport",
      "NDIS 5.1 CoWan miniport call manager that loops every sent packet back as a receive on its VC",
      Loop5DriverEntry, loop5_params },
    { "sim", "miniport",
      "simulated CoWan NIC (miniport call manager), a sink that queues, shapes, delays, reorders, batches and fails completions",
      SimDriverEntry, sim_params },
    { "sim5", "miniport",
      "NDIS 5.1 simulated CoWan NIC (miniport call manager), a sink with sim's queue, DPC, reorder, fail and latency knobs",
      Sim5DriverEntry, sim_params },
    { "cosend", "protocol",
      "CoNDIS 6 client that sends CosendCount NBLs on each of CosendVcs VCs and checks every completion",
      CosendDriverEntry, cosend_params },
    { "cosend5", "protocol",
      "NDIS 5.1 CoNDIS client: NdisCoSendPackets with the documented packet reuse in ProtocolCoSendComplete",
      Cosend5DriverEntry, cosend5_params },
    { NULL, NULL, NULL, NULL, NULL },
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
