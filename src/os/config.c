/*
 * config.c - configuration handles: NdisOpenConfigurationEx,
 * NdisReadConfiguration and friends, over the host's driver parameters
 * (params.c).
 *
 * A configuration handle knows its driver's name and a keyword prefix (a
 * subkey opened by name reads "SubKey\Keyword"). Every parameter it returns
 * is a block the handle owns until NdisCloseConfiguration, as on Windows.
 * All of this is PASSIVE_LEVEL.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "os_priv.h"
#include "../verify/cn_verify.h"

#define NETADDR_MAX_BYTES 32

struct cn_cfg_block {
    struct cn_cfg_block *cb_next;
    NDIS_CONFIGURATION_PARAMETER cb_param;
    _Alignas(16) unsigned char cb_data[]; /* string or bytes the parameter points to */
};

struct cn_config {
    NDIS_HANDLE cf_handle;
    char *cf_driver;
    char *cf_prefix; /* "" or "Name\" */
    pthread_mutex_t cf_lock;
    struct cn_cfg_block *cf_blocks; /* cf_lock */
};

static struct cn_config *config_new(const char *driver, const char *prefix)
{
    struct cn_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cf_driver = strdup(driver);
    c->cf_prefix = strdup(prefix);
    if (c->cf_driver == NULL || c->cf_prefix == NULL)
        goto fail;
    pthread_mutex_init(&c->cf_lock, NULL);
    c->cf_handle = cn_handle_alloc(CN_H_CONFIG, c, c->cf_driver);
    if (c->cf_handle == NULL) {
        pthread_mutex_destroy(&c->cf_lock);
        goto fail;
    }
    return c;
fail:
    free(c->cf_driver);
    free(c->cf_prefix);
    free(c);
    return NULL;
}

static struct cn_config *config_get(NDIS_HANDLE h, const char *fn)
{
    struct cn_config *c = cn_handle_get(h, CN_H_CONFIG);
    if (c == NULL)
        cn_warn("%s: %p is not an open configuration handle", fn, h);
    return c;
}

/* A parameter block with room for extra bytes, owned by c. */
static struct cn_cfg_block *config_block(struct cn_config *c, size_t extra)
{
    struct cn_cfg_block *b = calloc(1, sizeof(*b) + extra);
    if (b == NULL)
        return NULL;
    pthread_mutex_lock(&c->cf_lock);
    b->cb_next = c->cf_blocks;
    c->cf_blocks = b;
    pthread_mutex_unlock(&c->cf_lock);
    return b;
}

/* "prefix" + keyword in UTF-8, malloc'd. */
static char *config_key(struct cn_config *c, PNDIS_STRING Keyword)
{
    if (Keyword == NULL || Keyword->Buffer == NULL)
        return NULL;
    char *k = cn_wide_to_utf8(Keyword->Buffer, Keyword->Length / sizeof(WCHAR));
    if (k == NULL)
        return NULL;
    size_t pl = strlen(c->cf_prefix), kl = strlen(k);
    char *full = malloc(pl + kl + 1);
    if (full != NULL) {
        memcpy(full, c->cf_prefix, pl);
        memcpy(full + pl, k, kl + 1);
    }
    free(k);
    return full;
}

static NDIS_STATUS config_open(NDIS_HANDLE owner_handle, PNDIS_HANDLE ConfigurationHandle,
                               const char *fn)
{
    CN_IRQL_CHECK_PASSIVE(fn);
    const char *driver = cn_handle_owner(owner_handle);
    if (driver == NULL) {
        cn_warn("%s: %p is not a live NDIS handle", fn, owner_handle);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_config *c = config_new(driver, "");
    if (c == NULL)
        return NDIS_STATUS_RESOURCES;
    *ConfigurationHandle = c->cf_handle;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS NdisOpenConfigurationEx(PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                    PNDIS_HANDLE ConfigurationHandle)
{
    if (ConfigObject == NULL || ConfigurationHandle == NULL)
        return NDIS_STATUS_FAILURE;
    *ConfigurationHandle = NULL;
    if (ConfigObject->Header.Type != NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT ||
        ConfigObject->Header.Revision < NDIS_CONFIGURATION_OBJECT_REVISION_1 ||
        ConfigObject->Header.Size < NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1) {
        cn_warn("NdisOpenConfigurationEx: the configuration object's header is not "
                "{NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT, REVISION_1, SIZEOF_..._REVISION_1}");
        return NDIS_STATUS_FAILURE;
    }
    return config_open(ConfigObject->NdisHandle, ConfigurationHandle,
                       "NdisOpenConfigurationEx");
}

void NdisOpenConfiguration(PNDIS_STATUS Status, PNDIS_HANDLE ConfigurationHandle,
                           NDIS_HANDLE WrapperConfigurationContext)
{
    *ConfigurationHandle = NULL;
    *Status = config_open(WrapperConfigurationContext, ConfigurationHandle,
                          "NdisOpenConfiguration");
}

void NdisOpenProtocolConfiguration(PNDIS_STATUS Status, PNDIS_HANDLE ConfigurationHandle,
                                   PNDIS_STRING ProtocolSection)
{
    CN_IRQL_CHECK_PASSIVE("NdisOpenProtocolConfiguration");
    *ConfigurationHandle = NULL;
    *Status = NDIS_STATUS_FAILURE;
    if (ProtocolSection == NULL || ProtocolSection->Buffer == NULL)
        return;
    char *path = cn_wide_to_utf8(ProtocolSection->Buffer,
                                 ProtocolSection->Length / sizeof(WCHAR));
    if (path == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    const char *name = strrchr(path, '\\');
    name = name != NULL ? name + 1 : path;
    if (name[0] != '\0') {
        struct cn_config *c = config_new(name, "");
        if (c != NULL) {
            *ConfigurationHandle = c->cf_handle;
            *Status = NDIS_STATUS_SUCCESS;
        } else {
            *Status = NDIS_STATUS_RESOURCES;
        }
    }
    free(path);
}

void NdisCloseConfiguration(NDIS_HANDLE ConfigurationHandle)
{
    CN_PASSIVE("NdisCloseConfiguration");
    struct cn_config *c = config_get(ConfigurationHandle, "NdisCloseConfiguration");
    if (c == NULL)
        return;
    cn_handle_free(ConfigurationHandle);
    struct cn_cfg_block *b = c->cf_blocks;
    while (b != NULL) {
        struct cn_cfg_block *next = b->cb_next;
        free(b);
        b = next;
    }
    pthread_mutex_destroy(&c->cf_lock);
    free(c->cf_driver);
    free(c->cf_prefix);
    free(c);
}

/* ---- parsing ------------------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The whole of s (white space around it allowed) as a 32-bit number: base
 * 16 when hex or when s starts with 0x, else base 10 with an optional sign
 * (a negative value wraps, as a REG_DWORD written from -1 reads back). */
static bool parse_ulong(const char *s, bool hex, ULONG *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = false;
    if (!hex && (*s == '-' || *s == '+'))
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        hex = true;
        s += 2;
    }
    uint64_t v = 0;
    const char *digits = s;
    for (; *s != '\0'; s++) {
        int d = hex ? hex_digit(*s) : (*s >= '0' && *s <= '9' ? *s - '0' : -1);
        if (d < 0)
            break;
        v = v * (hex ? 16 : 10) + (unsigned)d;
        if (v > 0xffffffffu)
            return false;
    }
    if (s == digits)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '\0')
        return false;
    if (neg && v > 0x80000000u)
        return false;
    *out = neg ? (ULONG)(0u - (ULONG)v) : (ULONG)v;
    return true;
}

/* Hex bytes, optionally separated by '-', ':', '.' or spaces; returns the
 * count, or 0 when s is not that (or longer than max). */
static size_t parse_bytes(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    int hi = -1;
    for (; *s != '\0'; s++) {
        if (*s == '-' || *s == ':' || *s == '.' || *s == ' ') {
            if (hi >= 0)
                return 0; /* a separator splits a byte */
            continue;
        }
        int d = hex_digit(*s);
        if (d < 0)
            return 0;
        if (hi < 0) {
            hi = d;
            continue;
        }
        if (n == max)
            return 0;
        out[n++] = (unsigned char)(hi << 4 | d);
        hi = -1;
    }
    return hi >= 0 ? 0 : n;
}

/* ---- reading and writing -------------------------------------------------------- */

void NdisReadConfiguration(PNDIS_STATUS Status, PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                           NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                           NDIS_PARAMETER_TYPE ParameterType)
{
    *Status = NDIS_STATUS_FAILURE;
    *ParameterValue = NULL;
    CN_IRQL_CHECK_PASSIVE("NdisReadConfiguration");
    struct cn_config *c = config_get(ConfigurationHandle, "NdisReadConfiguration");
    if (c == NULL)
        return;
    char *key = config_key(c, Keyword);
    if (key == NULL)
        return;
    const char *value = cn_param_get(c->cf_driver, key);
    free(key);
    if (value == NULL)
        return;

    struct cn_cfg_block *b;
    switch (ParameterType) {
    case NdisParameterInteger:
    case NdisParameterHexInteger: {
        ULONG v;
        if (!parse_ulong(value, ParameterType == NdisParameterHexInteger, &v))
            return;
        b = config_block(c, 0);
        if (b == NULL) {
            *Status = NDIS_STATUS_RESOURCES;
            return;
        }
        b->cb_param.ParameterData.IntegerData = v;
        break;
    }
    case NdisParameterString:
    case NdisParameterMultiString: {
        size_t nchars;
        WCHAR *w = cn_utf8_to_wide(value, &nchars);
        if (w == NULL) {
            *Status = NDIS_STATUS_RESOURCES;
            return;
        }
        if ((nchars + 2) * sizeof(WCHAR) > 0xfffe) {
            free(w);
            return;
        }
        /* Two terminators: a multi-string ends with an empty string. */
        b = config_block(c, (nchars + 2) * sizeof(WCHAR));
        if (b == NULL) {
            free(w);
            *Status = NDIS_STATUS_RESOURCES;
            return;
        }
        WCHAR *buf = (WCHAR *)(void *)b->cb_data;
        memcpy(buf, w, nchars * sizeof(WCHAR));
        buf[nchars] = buf[nchars + 1] = L'\0';
        free(w);
        b->cb_param.ParameterData.StringData.Buffer = buf;
        b->cb_param.ParameterData.StringData.Length = (USHORT)(nchars * sizeof(WCHAR));
        b->cb_param.ParameterData.StringData.MaximumLength =
            (USHORT)((nchars + 2) * sizeof(WCHAR));
        break;
    }
    case NdisParameterBinary: {
        size_t max = strlen(value) / 2;
        if (max > 0xffff)
            return;
        b = config_block(c, max + 1);
        if (b == NULL) {
            *Status = NDIS_STATUS_RESOURCES;
            return;
        }
        size_t n = parse_bytes(value, b->cb_data, max);
        if (n == 0)
            return; /* the block stays with the handle; freed at close */
        b->cb_param.ParameterData.BinaryData.Length = (USHORT)n;
        b->cb_param.ParameterData.BinaryData.Buffer = b->cb_data;
        break;
    }
    default:
        cn_warn("NdisReadConfiguration: unknown parameter type %d", (int)ParameterType);
        return;
    }
    b->cb_param.ParameterType = ParameterType;
    *ParameterValue = &b->cb_param;
    *Status = NDIS_STATUS_SUCCESS;
}

void NdisWriteConfiguration(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                            PNDIS_STRING Keyword, PNDIS_CONFIGURATION_PARAMETER ParameterValue)
{
    *Status = NDIS_STATUS_FAILURE;
    CN_IRQL_CHECK_PASSIVE("NdisWriteConfiguration");
    struct cn_config *c = config_get(ConfigurationHandle, "NdisWriteConfiguration");
    if (c == NULL || ParameterValue == NULL)
        return;
    char *key = config_key(c, Keyword);
    if (key == NULL)
        return;
    char *text = NULL;
    char num[16];
    switch (ParameterValue->ParameterType) {
    case NdisParameterInteger:
        snprintf(num, sizeof(num), "%u", (unsigned)ParameterValue->ParameterData.IntegerData);
        text = strdup(num);
        break;
    case NdisParameterHexInteger:
        snprintf(num, sizeof(num), "%x", (unsigned)ParameterValue->ParameterData.IntegerData);
        text = strdup(num);
        break;
    case NdisParameterString:
    case NdisParameterMultiString: {
        const NDIS_STRING *s = &ParameterValue->ParameterData.StringData;
        text = cn_wide_to_utf8(s->Buffer, s->Buffer ? s->Length / sizeof(WCHAR) : 0);
        break;
    }
    case NdisParameterBinary: {
        const BINARY_DATA *d = &ParameterValue->ParameterData.BinaryData;
        text = malloc((size_t)d->Length * 2 + 1);
        if (text != NULL) {
            const unsigned char *bytes = d->Buffer;
            for (size_t i = 0; i < d->Length; i++)
                snprintf(text + 2 * i, 3, "%02x", bytes[i]);
            text[2 * (size_t)d->Length] = '\0';
        }
        break;
    }
    default:
        free(key);
        return;
    }
    if (text == NULL) {
        free(key);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    int err = cn_param_set(c->cf_driver, key, text);
    *Status = err == 0 ? NDIS_STATUS_SUCCESS : NDIS_STATUS_RESOURCES;
    free(text);
    free(key);
}

void NdisOpenConfigurationKeyByName(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                                    PNDIS_STRING SubKeyName, PNDIS_HANDLE SubKeyHandle)
{
    *Status = NDIS_STATUS_FAILURE;
    *SubKeyHandle = NULL;
    CN_IRQL_CHECK_PASSIVE("NdisOpenConfigurationKeyByName");
    struct cn_config *c = config_get(ConfigurationHandle, "NdisOpenConfigurationKeyByName");
    if (c == NULL)
        return;
    char *key = config_key(c, SubKeyName);
    if (key == NULL)
        return;
    size_t n = strlen(key);
    char *prefix = malloc(n + 2);
    struct cn_config *sub = NULL;
    if (prefix != NULL) {
        memcpy(prefix, key, n);
        prefix[n] = '\\';
        prefix[n + 1] = '\0';
        sub = config_new(c->cf_driver, prefix);
    }
    free(prefix);
    free(key);
    if (sub == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    *SubKeyHandle = sub->cf_handle;
    *Status = NDIS_STATUS_SUCCESS;
}

void NdisOpenConfigurationKeyByIndex(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                                     ULONG Index, PNDIS_STRING KeyName, PNDIS_HANDLE KeyHandle)
{
    CN_PASSIVE("NdisOpenConfigurationKeyByIndex");
    (void)ConfigurationHandle;
    (void)Index;
    (void)KeyName;
    *KeyHandle = NULL;
    *Status = NDIS_STATUS_FAILURE; /* condis' parameters have no enumerable subkeys */
}

void NdisReadNetworkAddress(PNDIS_STATUS Status, PVOID *NetworkAddress,
                            PUINT NetworkAddressLength, NDIS_HANDLE ConfigurationHandle)
{
    *Status = NDIS_STATUS_FAILURE;
    *NetworkAddress = NULL;
    *NetworkAddressLength = 0;
    CN_IRQL_CHECK_PASSIVE("NdisReadNetworkAddress");
    struct cn_config *c = config_get(ConfigurationHandle, "NdisReadNetworkAddress");
    if (c == NULL)
        return;
    size_t pl = strlen(c->cf_prefix);
    char *key = malloc(pl + sizeof("NetworkAddress"));
    if (key == NULL)
        return;
    memcpy(key, c->cf_prefix, pl);
    memcpy(key + pl, "NetworkAddress", sizeof("NetworkAddress"));
    const char *value = cn_param_get(c->cf_driver, key);
    free(key);
    if (value == NULL)
        return;
    unsigned char bytes[NETADDR_MAX_BYTES];
    size_t n = parse_bytes(value, bytes, sizeof(bytes));
    if (n == 0) {
        cn_warn("NdisReadNetworkAddress: NetworkAddress \"%s\" is not hex bytes", value);
        return;
    }
    struct cn_cfg_block *b = config_block(c, n);
    if (b == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    memcpy(b->cb_data, bytes, n);
    b->cb_param.ParameterType = NdisParameterBinary;
    b->cb_param.ParameterData.BinaryData.Length = (USHORT)n;
    b->cb_param.ParameterData.BinaryData.Buffer = b->cb_data;
    *NetworkAddress = b->cb_data;
    *NetworkAddressLength = (UINT)n;
    *Status = NDIS_STATUS_SUCCESS;
}
