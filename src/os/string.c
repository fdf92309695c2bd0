/*
 * string.c - UNICODE_STRING and ANSI_STRING routines, and the conversions
 * between wide strings and UTF-8 that the rest of condis uses.
 *
 * WCHAR is wchar_t: a UTF-32 code unit on Linux. ANSI strings are UTF-8.
 * Case-insensitive comparison folds with towupper, which in the C locale
 * folds ASCII only - what registry keywords and driver names need.
 */
#include <stdlib.h>
#include <wctype.h>

#include "os_priv.h"

#define USTR_MAX_BYTES 0xfffeu

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        c = 0xfffd;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | c >> 12);
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | c >> 18);
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Decodes one code point from s (n bytes left, n > 0); *used gets the bytes
 * consumed. An invalid sequence yields U+FFFD for its first byte. */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
    uint32_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *used = 1;
        return c;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        *used = 1;
        return 0xfffd;
    }
    if (n < len) {
        *used = 1;
        return 0xfffd;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *used = 1;
            return 0xfffd;
        }
        c = c << 6 | (s[i] & 0x3f);
    }
    *used = len;
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0xfffd;
    return c;
}

char *cn_wide_to_utf8(const WCHAR *s, size_t nchars)
{
    char *out = malloc(nchars * 4 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < nchars; i++)
        o += utf8_encode((uint32_t)s[i], out + o);
    out[o] = '\0';
    return out;
}

/* Decodes n bytes into out (room for n WCHARs at least); returns the count. */
static size_t utf8_to_wide_n(const char *s, size_t n, WCHAR *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        size_t used;
        out[o++] = (WCHAR)utf8_decode(u + i, n - i, &used);
        i += used;
    }
    return o;
}

WCHAR *cn_utf8_to_wide(const char *s, size_t *nchars)
{
    size_t n = strlen(s);
    WCHAR *out = malloc((n + 1) * sizeof(WCHAR));
    if (out == NULL)
        return NULL;
    size_t o = utf8_to_wide_n(s, n, out);
    out[o] = L'\0';
    if (nchars != NULL)
        *nchars = o;
    return out;
}

/* ---- initialization and comparison ------------------------------------- */

void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (SourceString == NULL) {
        DestinationString->Length = DestinationString->MaximumLength = 0;
        DestinationString->Buffer = NULL;
        return;
    }
    size_t bytes = wcslen(SourceString) * sizeof(WCHAR);
    if (bytes > USTR_MAX_BYTES - sizeof(WCHAR))
        bytes = (USTR_MAX_BYTES - sizeof(WCHAR)) / sizeof(WCHAR) * sizeof(WCHAR);
    DestinationString->Length = (USHORT)bytes;
    DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    DestinationString->Buffer = (PWSTR)SourceString;
}

void RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
    RtlInitString(DestinationString, SourceString);
}

void RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    if (SourceString == NULL) {
        DestinationString->Length = DestinationString->MaximumLength = 0;
        DestinationString->Buffer = NULL;
        return;
    }
    size_t n = strlen(SourceString);
    if (n > 0xfffe)
        n = 0xfffe;
    DestinationString->Length = (USHORT)n;
    DestinationString->MaximumLength = (USHORT)(n + 1);
    DestinationString->Buffer = (PCHAR)SourceString;
}

void NdisInitUnicodeString(PNDIS_STRING Destination, PCWSTR Source)
{
    RtlInitUnicodeString(Destination, Source);
}

void NdisInitAnsiString(PNDIS_ANSI_STRING Destination, PCSTR Source)
{
    RtlInitString(Destination, Source);
}

LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                             BOOLEAN CaseInSensitive)
{
    size_t n1 = String1->Length / sizeof(WCHAR), n2 = String2->Length / sizeof(WCHAR);
    size_t n = n1 < n2 ? n1 : n2;
    for (size_t i = 0; i < n; i++) {
        wint_t a = (wint_t)String1->Buffer[i], b = (wint_t)String2->Buffer[i];
        if (CaseInSensitive) {
            a = towupper(a);
            b = towupper(b);
        }
        if (a != b)
            return a < b ? -1 : 1;
    }
    return n1 == n2 ? 0 : (n1 < n2 ? -1 : 1);
}

BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                              BOOLEAN CaseInSensitive)
{
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0;
}

BOOLEAN NdisEqualString(PNDIS_STRING String1, PNDIS_STRING String2, BOOLEAN CaseInsensitive)
{
    return RtlEqualUnicodeString(String1, String2, CaseInsensitive);
}

/* Copies as much as fits; NUL-terminates when there is room. */
void RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (SourceString == NULL || SourceString->Buffer == NULL) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length;
    if (n > DestinationString->MaximumLength)
        n = DestinationString->MaximumLength / sizeof(WCHAR) * sizeof(WCHAR);
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n + sizeof(WCHAR) <= DestinationString->MaximumLength)
        DestinationString->Buffer[n / sizeof(WCHAR)] = L'\0';
}

/* ---- conversions ------------------------------------------------------------ */

static void *str_alloc(size_t bytes)
{
    PVOID p = NULL;
    if (NdisAllocateMemoryWithTag(&p, (UINT)bytes, 'rtSC') != NDIS_STATUS_SUCCESS)
        return NULL;
    return p;
}

NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                      PCANSI_STRING SourceString,
                                      BOOLEAN AllocateDestinationString)
{
    size_t n = SourceString->Length;
    WCHAR *tmp = malloc((n + 1) * sizeof(WCHAR));
    if (tmp == NULL)
        return STATUS_NO_MEMORY;
    size_t chars = utf8_to_wide_n(SourceString->Buffer, n, tmp);
    size_t bytes = chars * sizeof(WCHAR);
    if (bytes > USTR_MAX_BYTES - sizeof(WCHAR)) {
        free(tmp);
        return STATUS_INVALID_PARAMETER;
    }
    if (AllocateDestinationString) {
        DestinationString->Buffer = str_alloc(bytes + sizeof(WCHAR));
        if (DestinationString->Buffer == NULL) {
            free(tmp);
            return STATUS_NO_MEMORY;
        }
        DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    } else if (bytes > DestinationString->MaximumLength) {
        free(tmp);
        return STATUS_BUFFER_OVERFLOW;
    }
    memcpy(DestinationString->Buffer, tmp, bytes);
    DestinationString->Length = (USHORT)bytes;
    if (bytes + sizeof(WCHAR) <= DestinationString->MaximumLength)
        DestinationString->Buffer[chars] = L'\0';
    free(tmp);
    return STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                      PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString)
{
    char *u = cn_wide_to_utf8(SourceString->Buffer, SourceString->Length / sizeof(WCHAR));
    if (u == NULL)
        return STATUS_NO_MEMORY;
    size_t n = strlen(u);
    if (n > 0xfffe) {
        free(u);
        return STATUS_INVALID_PARAMETER;
    }
    if (AllocateDestinationString) {
        DestinationString->Buffer = str_alloc(n + 1);
        if (DestinationString->Buffer == NULL) {
            free(u);
            return STATUS_NO_MEMORY;
        }
        DestinationString->MaximumLength = (USHORT)(n + 1);
    } else if (n > DestinationString->MaximumLength) {
        free(u);
        return STATUS_BUFFER_OVERFLOW;
    }
    memcpy(DestinationString->Buffer, u, n);
    DestinationString->Length = (USHORT)n;
    if (n < DestinationString->MaximumLength)
        DestinationString->Buffer[n] = '\0';
    free(u);
    return STATUS_SUCCESS;
}

void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    if (UnicodeString->Buffer != NULL)
        NdisFreeMemory(UnicodeString->Buffer, UnicodeString->MaximumLength, 0);
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

void RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    if (AnsiString->Buffer != NULL)
        NdisFreeMemory(AnsiString->Buffer, AnsiString->MaximumLength, 0);
    AnsiString->Buffer = NULL;
    AnsiString->Length = AnsiString->MaximumLength = 0;
}

NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                PCUNICODE_STRING SourceString,
                                BOOLEAN AllocateDestinationString)
{
    USHORT bytes = SourceString->Length;
    if (AllocateDestinationString) {
        DestinationString->Buffer = str_alloc((size_t)bytes + sizeof(WCHAR));
        if (DestinationString->Buffer == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    } else if (bytes > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    size_t n = bytes / sizeof(WCHAR);
    for (size_t i = 0; i < n; i++)
        DestinationString->Buffer[i] = (WCHAR)towupper((wint_t)SourceString->Buffer[i]);
    DestinationString->Length = bytes;
    if ((size_t)bytes + sizeof(WCHAR) <= DestinationString->MaximumLength)
        DestinationString->Buffer[n] = L'\0';
    return STATUS_SUCCESS;
}

static NDIS_STATUS ndis_status_of(NTSTATUS s)
{
    if (s == STATUS_SUCCESS)
        return NDIS_STATUS_SUCCESS;
    if (s == STATUS_BUFFER_OVERFLOW)
        return NDIS_STATUS_BUFFER_OVERFLOW;
    if (s == STATUS_NO_MEMORY)
        return NDIS_STATUS_RESOURCES;
    return NDIS_STATUS_FAILURE;
}

NDIS_STATUS NdisAnsiStringToUnicodeString(PNDIS_STRING DestinationString,
                                          PNDIS_ANSI_STRING SourceString)
{
    return ndis_status_of(RtlAnsiStringToUnicodeString(DestinationString, SourceString, FALSE));
}

NDIS_STATUS NdisUnicodeStringToAnsiString(PNDIS_ANSI_STRING DestinationString,
                                          PNDIS_STRING SourceString)
{
    return ndis_status_of(RtlUnicodeStringToAnsiString(DestinationString, SourceString, FALSE));
}

NDIS_STATUS NdisUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                    PUNICODE_STRING SourceString)
{
    return ndis_status_of(RtlUpcaseUnicodeString(DestinationString, SourceString, FALSE));
}

/* ---- numbers ---------------------------------------------------------------- */

static int digit_value(WCHAR c)
{
    if (c >= L'0' && c <= L'9')
        return (int)(c - L'0');
    if (c >= L'a' && c <= L'z')
        return (int)(c - L'a') + 10;
    if (c >= L'A' && c <= L'Z')
        return (int)(c - L'A') + 10;
    return 99;
}

/* Parses leading white space, an optional sign, an optional base prefix
 * (when Base is 0) and digits; stops at the first character that is not a
 * digit of the base, as the kernel's routine does. The value wraps to 32
 * bits. */
NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    const WCHAR *s = String->Buffer;
    size_t n = String->Length / sizeof(WCHAR), i = 0;
    while (i < n && (s[i] == L' ' || s[i] == L'\t'))
        i++;
    bool neg = false;
    if (i < n && (s[i] == L'-' || s[i] == L'+'))
        neg = s[i++] == L'-';
    if (Base == 0) {
        Base = 10;
        if (i + 1 < n && s[i] == L'0') {
            WCHAR p = s[i + 1];
            if (p == L'x' || p == L'X')
                Base = 16, i += 2;
            else if (p == L'o' || p == L'O')
                Base = 8, i += 2;
            else if (p == L'b' || p == L'B')
                Base = 2, i += 2;
        }
    }
    ULONG v = 0;
    for (; i < n; i++) {
        int d = digit_value(s[i]);
        if (d >= (int)Base)
            break;
        v = v * Base + (ULONG)d;
    }
    *Value = neg ? (ULONG)(0u - v) : v;
    return STATUS_SUCCESS;
}

NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    if (Base == 0)
        Base = 10;
    if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    WCHAR tmp[33];
    size_t n = 0;
    do {
        ULONG d = Value % Base;
        tmp[n++] = (WCHAR)(d < 10 ? L'0' + d : L'A' + d - 10);
        Value /= Base;
    } while (Value != 0);
    if (n * sizeof(WCHAR) > String->MaximumLength)
        return STATUS_BUFFER_OVERFLOW;
    for (size_t i = 0; i < n; i++)
        String->Buffer[i] = tmp[n - 1 - i];
    String->Length = (USHORT)(n * sizeof(WCHAR));
    if ((n + 1) * sizeof(WCHAR) <= String->MaximumLength)
        String->Buffer[n] = L'\0';
    return STATUS_SUCCESS;
}
