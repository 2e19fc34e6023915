/*
 * gtalloc - leakscope's ground-truth generator (MIT licence, part of leakscope).
 *
 * Allocates known patterns (sizes, counts, fill bytes) through HeapAlloc on the process heap and
 * on a private heap, malloc, and C++ new of objects with vtables; adds LFH-triggering bursts,
 * large (VirtualAlloc-backed) heap blocks, a deliberate leak and some freed blocks; writes a JSON
 * manifest of every live allocation; then dumps itself with MiniDumpWriteDump (full memory).
 *
 *   gtalloc [--out DIR] [--label NAME] [--scale N] [--no-dump] [--help]
 *
 * Builds (see README.md):
 *   MSVC:       cl /nologo /O2 /Zi /GS- /MD gtalloc.cpp /link /DEBUG /OPT:REF /OPT:NOICF dbghelp.lib
 *   clang-cl:   clang-cl /O2 /Zi /GS- /MD gtalloc.cpp /link /DEBUG /OPT:NOICF dbghelp.lib   (Windows SDK)
 *   no SDK:     clang-cl /DGT_NO_SDK /O2 /GS- /GR- /c gtalloc.cpp, then lld-link /nodefaultlib
 *               /entry:gt_entry with import libraries made from the nosdk .def files
 *   test only:  clang++ -DGT_POSIX -fshort-wchar gtalloc.cpp   (Linux: runs the plan, no dump)
 *
 * Nothing here uses the CRT's formatting or string functions, so the same code runs with or
 * without a CRT. The records and the manifest text live in VirtualAlloc'd memory, so they add
 * no heap blocks of their own. Heap allocation functions are extern "C", never inlined and never
 * tail-called, so with +ust each block's stack has the named function as the innermost frame in
 * gtalloc (the manifest's "site").
 */
#if defined(GT_NO_SDK)
#include "nosdk/gt_nosdk.h"
#elif defined(GT_POSIX)
#include "nosdk/gt_posix.h" /* test-only: runs the plan natively on Linux, no dump */
#else
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <dbghelp.h>
#include <malloc.h>
#include <stdlib.h>
#pragma comment(lib, "dbghelp.lib")
#endif

#define GT_VERSION "1.0.0"
#if defined(_MSC_VER)
#define GT_NOINLINE __declspec(noinline)
#else
#define GT_NOINLINE __attribute__((noinline))
#endif

typedef unsigned char gt_u8;
typedef ULONG_PTR gt_uptr;

/* ---- no-CRT support (only for the no-SDK build, which links no C runtime) -------------------- */
#ifdef GT_NO_SDK
void *operator new(decltype(sizeof 0) n) { return malloc(n); }
void operator delete(void *p) noexcept { free(p); }
void operator delete(void *p, decltype(sizeof 0)) noexcept { free(p); }
#endif

/* ---- small helpers ---------------------------------------------------------------------------- */
/* Each allocation function adds its own constant: keeps the call from being a tail call and the
   functions from being identical, so the linker cannot fold them (ICF) into one symbol. */
static volatile unsigned g_sideEffect;

static void gt_fill(void *p, gt_uptr n, gt_u8 b) {
  volatile gt_u8 *q = (volatile gt_u8 *)p; /* volatile: no memset call in the CRT-less build */
  for (gt_uptr i = 0; i < n; i++) q[i] = b;
}

static gt_uptr gt_strlen(const char *s) {
  gt_uptr n = 0;
  while (s[n]) n++;
  return n;
}

static int gt_wcseq(const WCHAR *a, const char *b) {
  while (*a && *b) {
    if (*a != (WCHAR)(gt_u8)*b) return 0;
    a++;
    b++;
  }
  return *a == 0 && *b == 0;
}

static void gt_print(const char *s) {
  DWORD written = 0;
  HANDLE h = GetStdHandle(STD_OUTPUT_HANDLE);
  if (h && h != INVALID_HANDLE_VALUE) WriteFile(h, s, (DWORD)gt_strlen(s), &written, 0);
}

/* ---- the records of live and freed allocations ------------------------------------------------- */
enum { A_HEAPALLOC = 0, A_MALLOC = 1, A_NEW = 2 };
static const char *const kAllocatorNames[] = {"HeapAlloc", "malloc", "new"};
enum { K_PATTERN = 0, K_LFH = 1, K_LARGE = 2, K_LEAK = 3, K_OBJECT = 4 };
static const char *const kKindNames[] = {"pattern", "lfh-burst", "large", "leak", "object"};

struct GtRecord {
  gt_uptr address;
  gt_uptr size;
  gt_uptr heap;
  gt_uptr vtable;
  const char *site;
  const char *typeName;
  unsigned fillOffset;
  int fill;
  int allocator;
  int kind;
};

struct GtFreed {
  gt_uptr address;
  gt_uptr size;
  gt_uptr heap;
  int allocator;
};

static GtRecord *g_records;
static unsigned g_count, g_capacity, g_dropped;
static GtFreed *g_freed;
static unsigned g_freedCount, g_freedCapacity;
static unsigned g_failures;

static HANDLE g_processHeap, g_privateHeap, g_crtHeap;

static GtRecord *gt_record(void *p, gt_uptr size, HANDLE heap, int fill, int allocator, int kind, const char *site) {
  if (!p) {
    g_failures++;
    return 0;
  }
  if (g_count >= g_capacity) {
    g_dropped++;
    return 0;
  }
  GtRecord *r = &g_records[g_count++];
  r->address = (gt_uptr)p;
  r->size = size;
  r->heap = (gt_uptr)heap;
  r->vtable = 0;
  r->site = site;
  r->typeName = 0;
  r->fillOffset = 0;
  r->fill = fill;
  r->allocator = allocator;
  r->kind = kind;
  return r;
}

/* Remove a live record (the block is about to be freed) and remember it as freed. */
static void gt_forget(void *p, int allocator) {
  for (unsigned i = g_count; i-- > 0;) {
    if (g_records[i].address == (gt_uptr)p) {
      if (g_freedCount < g_freedCapacity) {
        GtFreed *f = &g_freed[g_freedCount++];
        f->address = g_records[i].address;
        f->size = g_records[i].size;
        f->heap = g_records[i].heap;
        f->allocator = allocator;
      }
      g_records[i] = g_records[g_count - 1];
      g_count--;
      return;
    }
  }
}

/* ---- allocation sites: one function per site, so +ust stacks name them ------------------------ */
extern "C" {
GT_NOINLINE void *gt_alloc_process_heap(gt_uptr size) {
  void *p = HeapAlloc(GetProcessHeap(), 0, size);
  g_sideEffect += 1;
  return p;
}
GT_NOINLINE void *gt_alloc_private_heap(HANDLE heap, gt_uptr size) {
  void *p = HeapAlloc(heap, 0, size);
  g_sideEffect += 2;
  return p;
}
GT_NOINLINE void *gt_alloc_malloc(gt_uptr size) {
  void *p = malloc(size);
  g_sideEffect += 3;
  return p;
}
GT_NOINLINE void *gt_alloc_lfh_burst(HANDLE heap, gt_uptr size) {
  void *p = HeapAlloc(heap, 0, size);
  g_sideEffect += 4;
  return p;
}
GT_NOINLINE void *gt_alloc_large(HANDLE heap, gt_uptr size) {
  void *p = HeapAlloc(heap, 0, size);
  g_sideEffect += 5;
  return p;
}
GT_NOINLINE void *gt_leaky_function(gt_uptr size) {
  void *p = HeapAlloc(GetProcessHeap(), 0, size);
  g_sideEffect += 6;
  return p;
}
GT_NOINLINE void *gt_alloc_then_free(HANDLE heap, gt_uptr size) {
  void *p = HeapAlloc(heap, 0, size);
  g_sideEffect += 7;
  return p;
}
}

/* ---- C++ objects with vtables ------------------------------------------------------------------ */
class GtWidget {
public:
  explicit GtWidget(gt_u8 fill) { gt_fill(payload, sizeof payload, fill); }
  virtual ~GtWidget() {}
  virtual unsigned kind() const { return 1; }
  gt_u8 payload[40];
};

class GtGadget : public GtWidget {
public:
  explicit GtGadget(gt_u8 fill) : GtWidget(fill) { gt_fill(extra, sizeof extra, fill); }
  unsigned kind() const override { return 2; }
  gt_u8 extra[24];
};

extern "C" {
GT_NOINLINE void *gt_new_widget(gt_u8 fill) {
  GtWidget *w = new GtWidget(fill);
  g_sideEffect += w->kind() + 10;
  return w;
}
GT_NOINLINE void *gt_new_gadget(gt_u8 fill) {
  GtWidget *g = new GtGadget(fill);
  g_sideEffect += g->kind() + 20;
  return g;
}
}

/* ---- the allocation plan ----------------------------------------------------------------------- */
static void gt_filled(void *p, gt_uptr size, HANDLE heap, int fill, int allocator, int kind, const char *site) {
  if (p) gt_fill(p, size, (gt_u8)fill);
  gt_record(p, size, heap, fill, allocator, kind, site);
}

static void gt_object(void *p, gt_uptr size, int fill, const char *site, const char *typeName) {
  GtRecord *r = gt_record(p, size, g_crtHeap, fill, A_NEW, K_OBJECT, site);
  if (!r) return;
  r->fillOffset = (unsigned)sizeof(void *);
  r->vtable = *(gt_uptr *)p;
  r->typeName = typeName;
}

static void gt_run_plan(unsigned scale) {
  static const gt_uptr processSizes[] = {1, 8, 24, 100, 256, 1000, 4000, 10000, 60000};
  static const gt_uptr privateSizes[] = {16, 48, 333, 4096, 20000};
  static const gt_uptr mallocSizes[] = {32, 200, 777, 5000};
  unsigned i, n;

  /* 1. plain patterns, fill 0xA1.. on the process heap, 0xB1.. on a private heap, 0xC1.. malloc */
  for (i = 0; i < sizeof processSizes / sizeof processSizes[0]; i++)
    for (n = 0; n < 2 * scale; n++)
      gt_filled(gt_alloc_process_heap(processSizes[i]), processSizes[i], g_processHeap, 0xA1 + i, A_HEAPALLOC,
                K_PATTERN, "gt_alloc_process_heap");
  for (i = 0; i < sizeof privateSizes / sizeof privateSizes[0]; i++)
    for (n = 0; n < 3 * scale; n++)
      gt_filled(gt_alloc_private_heap(g_privateHeap, privateSizes[i]), privateSizes[i], g_privateHeap, 0xB1 + i,
                A_HEAPALLOC, K_PATTERN, "gt_alloc_private_heap");
  for (i = 0; i < sizeof mallocSizes / sizeof mallocSizes[0]; i++)
    for (n = 0; n < 3 * scale; n++)
      gt_filled(gt_alloc_malloc(mallocSizes[i]), mallocSizes[i], g_crtHeap, 0xC1 + i, A_MALLOC, K_PATTERN,
                "gt_alloc_malloc");

  /* 2. freed blocks: 20 x 0x70 (every other one freed) and 8 x 0x200 on the private heap (all freed) */
  {
    void *keep[20];
    for (n = 0; n < 20; n++) {
      keep[n] = gt_alloc_then_free(g_processHeap, 0x70);
      gt_filled(keep[n], 0x70, g_processHeap, 0x66, A_HEAPALLOC, K_PATTERN, "gt_alloc_then_free");
    }
    for (n = 1; n < 20; n += 2)
      if (keep[n]) {
        gt_forget(keep[n], A_HEAPALLOC);
        HeapFree(g_processHeap, 0, keep[n]);
      }
    for (n = 0; n < 8; n++) {
      keep[n] = gt_alloc_then_free(g_privateHeap, 0x200);
      gt_filled(keep[n], 0x200, g_privateHeap, 0x67, A_HEAPALLOC, K_PATTERN, "gt_alloc_then_free");
    }
    for (n = 0; n < 8; n++)
      if (keep[n]) {
        gt_forget(keep[n], A_HEAPALLOC);
        HeapFree(g_privateHeap, 0, keep[n]);
      }
  }

  /* 3. C++ objects with vtables (CRT heap through operator new); fill after the vtable pointer */
  for (n = 0; n < 5 * scale; n++) gt_object(gt_new_widget(0xD1), sizeof(GtWidget), 0xD1, "gt_new_widget", "GtWidget");
  for (n = 0; n < 3 * scale; n++) gt_object(gt_new_gadget(0xD2), sizeof(GtGadget), 0xD2, "gt_new_gadget", "GtGadget");

  /* 4. LFH-triggering bursts: many more than 18 same-size blocks in a row */
  for (n = 0; n < 40 * scale; n++)
    gt_filled(gt_alloc_lfh_burst(g_processHeap, 0x40), 0x40, g_processHeap, 0xE1, A_HEAPALLOC, K_LFH,
              "gt_alloc_lfh_burst");
  for (n = 0; n < 24 * scale; n++)
    gt_filled(gt_alloc_lfh_burst(g_processHeap, 0x98), 0x98, g_processHeap, 0xE2, A_HEAPALLOC, K_LFH,
              "gt_alloc_lfh_burst");
  for (n = 0; n < 32 * scale; n++)
    gt_filled(gt_alloc_lfh_burst(g_privateHeap, 0x30), 0x30, g_privateHeap, 0xE3, A_HEAPALLOC, K_LFH,
              "gt_alloc_lfh_burst");

  /* 5. large blocks, above the VirtualAlloc threshold (512 KiB x86, 1 MiB x64) */
  gt_filled(gt_alloc_large(g_processHeap, 0x180000), 0x180000, g_processHeap, 0xF1, A_HEAPALLOC, K_LARGE,
            "gt_alloc_large");
  gt_filled(gt_alloc_large(g_processHeap, 0x210123), 0x210123, g_processHeap, 0xF2, A_HEAPALLOC, K_LARGE,
            "gt_alloc_large");
  gt_filled(gt_alloc_large(g_privateHeap, 0x140000), 0x140000, g_privateHeap, 0xF3, A_HEAPALLOC, K_LARGE,
            "gt_alloc_large");

  /* 6. the deliberate leak: one call site, one size, never freed */
  for (n = 0; n < 200 * scale; n++)
    gt_filled(gt_leaky_function(0x120), 0x120, g_processHeap, 0x4C, A_HEAPALLOC, K_LEAK, "gt_leaky_function");
}

/* ---- JSON manifest ----------------------------------------------------------------------------- */
static char *g_json;
static gt_uptr g_jlen, g_jcap;
static int g_joverflow;

static void jc(char c) {
  if (g_jlen < g_jcap)
    g_json[g_jlen++] = c;
  else
    g_joverflow = 1;
}
static void js(const char *s) {
  while (*s) jc(*s++);
}
static void jdec(gt_uptr v) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = (char)('0' + (v % 10));
    v /= 10;
  } while (v && n < 24);
  while (n) jc(buf[--n]);
}
static void jhex(gt_uptr v) {
  static const char digits[] = "0123456789abcdef";
  char buf[20];
  int n = 0;
  do {
    buf[n++] = digits[v & 15];
    v >>= 4;
  } while (v && n < 20);
  jc('"');
  jc('0');
  jc('x');
  while (n) jc(buf[--n]);
  jc('"');
}
static void jstr(const char *s) {
  jc('"');
  for (; *s; s++) {
    gt_u8 c = (gt_u8)*s;
    if (c == '"' || c == '\\') {
      jc('\\');
      jc((char)c);
    } else if (c < 0x20) {
      js("\\u00");
      jc("0123456789abcdef"[c >> 4]);
      jc("0123456789abcdef"[c & 15]);
    } else
      jc((char)c);
  }
  jc('"');
}
/* UTF-16 to a JSON string in UTF-8 (unpaired surrogates become U+FFFD). */
static void jwstr(const WCHAR *s) {
  jc('"');
  for (; *s; s++) {
    unsigned c = *s;
    if (c >= 0xD800 && c <= 0xDBFF && s[1] >= 0xDC00 && s[1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[1] - 0xDC00);
      s++;
    } else if (c >= 0xD800 && c <= 0xDFFF)
      c = 0xFFFD;
    if (c == '"' || c == '\\') {
      jc('\\');
      jc((char)c);
    } else if (c < 0x20) {
      js("\\u00");
      jc("0123456789abcdef"[c >> 4]);
      jc("0123456789abcdef"[c & 15]);
    } else if (c < 0x80)
      jc((char)c);
    else if (c < 0x800) {
      jc((char)(0xC0 | (c >> 6)));
      jc((char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      jc((char)(0xE0 | (c >> 12)));
      jc((char)(0x80 | ((c >> 6) & 0x3F)));
      jc((char)(0x80 | (c & 0x3F)));
    } else {
      jc((char)(0xF0 | (c >> 18)));
      jc((char)(0x80 | ((c >> 12) & 0x3F)));
      jc((char)(0x80 | ((c >> 6) & 0x3F)));
      jc((char)(0x80 | (c & 0x3F)));
    }
  }
  jc('"');
}
static void jbool(int b) { js(b ? "true" : "false"); }

/* ---- process facts ------------------------------------------------------------------------------ */
struct GtOsVersion {
  DWORD size, major, minor, build, platform;
  WCHAR csd[128];
};
typedef long(WINAPI *GtRtlGetVersion)(GtOsVersion *);
typedef ULONG(WINAPI *GtRtlGetNtGlobalFlags)(void);

static const char *gt_machine(void) {
#if defined(_M_X64) || defined(_M_AMD64)
  return "x64";
#elif defined(_M_ARM64)
  return "arm64";
#elif defined(_M_IX86)
  return "x86";
#else
  return "unknown";
#endif
}

/* Classify a heap by its signature dword: NT heap 0xFFEEFFEE, segment heap 0xDDEEDDEE. */
static const char *gt_heap_kind(HANDLE heap) {
  if (!heap) return "unknown";
  const volatile DWORD *d = (const volatile DWORD *)((const gt_u8 *)heap + (sizeof(void *) == 8 ? 0x10 : 0x08));
  DWORD sig = *d;
  if (sig == 0xFFEEFFEEUL) return "nt";
  if (sig == 0xDDEEDDEEUL) return "segment";
  return "unknown";
}

static WCHAR g_outDir[1024], g_label[128], g_modulePath[1024], g_dumpPath[1300], g_jsonPath[1300];
static WCHAR g_dumpName[200];

static int gt_build_path(WCHAR *dst, unsigned cap, const WCHAR *dir, const WCHAR *label, const char *ext) {
  unsigned n = 0;
  for (const WCHAR *p = dir; *p; p++)
    if (n + 1 < cap) dst[n++] = *p; else return 0;
  if (n > 0 && dst[n - 1] != '\\' && dst[n - 1] != '/') {
    if (n + 1 < cap) dst[n++] = '\\'; else return 0;
  }
  for (const WCHAR *p = label; *p; p++)
    if (n + 1 < cap) dst[n++] = *p; else return 0;
  for (const char *p = ext; *p; p++)
    if (n + 1 < cap) dst[n++] = (WCHAR)*p; else return 0;
  dst[n] = 0;
  return 1;
}

static int gt_write_file(const WCHAR *path, const char *data, gt_uptr length) {
  HANDLE f = CreateFileW(path, GENERIC_WRITE, 0, 0, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, 0);
  if (f == INVALID_HANDLE_VALUE) return 0;
  int ok = 1;
  while (length > 0) {
    DWORD chunk = length > 0x100000 ? 0x100000 : (DWORD)length;
    DWORD written = 0;
    if (!WriteFile(f, data, chunk, &written, 0) || written == 0) {
      ok = 0;
      break;
    }
    data += written;
    length -= written;
  }
  CloseHandle(f);
  return ok;
}

static void gt_manifest(unsigned scale, int dump, ULONG globalFlag, int haveGlobalFlag, const GtOsVersion *os,
                        int haveOs, BOOL wow64) {
  g_jlen = 0;
  js("{\n  \"schemaVersion\": 1,\n  \"tool\": \"gtalloc\",\n  \"toolVersion\": \"" GT_VERSION "\",\n  \"label\": ");
  jwstr(g_label);
  js(",\n  \"machine\": ");
  jstr(gt_machine());
  js(",\n  \"pointerSize\": ");
  jdec(sizeof(void *));
  js(",\n  \"wow64\": ");
  jbool(wow64 != 0);
  js(",\n  \"processId\": ");
  jdec(GetCurrentProcessId());
  js(",\n  \"os\": ");
  if (haveOs) {
    js("{ \"major\": ");
    jdec(os->major);
    js(", \"minor\": ");
    jdec(os->minor);
    js(", \"build\": ");
    jdec(os->build);
    js(" }");
  } else
    js("null");
  js(",\n  \"ntGlobalFlag\": ");
  if (haveGlobalFlag) jdec(globalFlag); else js("null");
  js(",\n  \"stackTraces\": ");
  jbool(haveGlobalFlag && (globalFlag & 0x1000) != 0);
  js(",\n  \"pageHeap\": ");
  jbool(haveGlobalFlag && (globalFlag & 0x02000000) != 0);
  js(",\n  \"scale\": ");
  jdec(scale);
  js(",\n  \"module\": { \"name\": ");
  {
    const WCHAR *base = g_modulePath;
    for (const WCHAR *p = g_modulePath; *p; p++)
      if (*p == '\\' || *p == '/') base = p + 1;
    if (*base) jwstr(base); else jstr("gtalloc.exe");
  }
  js(", \"path\": ");
  jwstr(g_modulePath);
  js(", \"base\": ");
  jhex((gt_uptr)GetModuleHandleW(0));
  js(" },\n  \"heaps\": [\n");
  js("    { \"role\": \"process\", \"address\": ");
  jhex((gt_uptr)g_processHeap);
  js(", \"kind\": ");
  jstr(gt_heap_kind(g_processHeap));
  js(" },\n    { \"role\": \"private\", \"address\": ");
  jhex((gt_uptr)g_privateHeap);
  js(", \"kind\": ");
  jstr(gt_heap_kind(g_privateHeap));
  js(" },\n    { \"role\": \"crt\", \"address\": ");
  jhex((gt_uptr)g_crtHeap);
  js(", \"kind\": ");
  jstr(gt_heap_kind(g_crtHeap));
  js(" }\n  ],\n  \"dumpFile\": ");
  if (dump) jwstr(g_dumpName); else js("null");
  js(",\n  \"complete\": ");
  jbool(g_dropped == 0 && g_failures == 0);
  js(",\n  \"allocations\": [");
  for (unsigned i = 0; i < g_count; i++) {
    const GtRecord *r = &g_records[i];
    js(i ? ",\n    { \"address\": " : "\n    { \"address\": ");
    jhex(r->address);
    js(", \"size\": ");
    jdec(r->size);
    js(", \"fill\": ");
    jdec((gt_uptr)r->fill);
    js(", \"fillOffset\": ");
    jdec(r->fillOffset);
    js(", \"allocator\": ");
    jstr(kAllocatorNames[r->allocator]);
    js(", \"heap\": ");
    jhex(r->heap);
    js(", \"kind\": ");
    jstr(kKindNames[r->kind]);
    js(", \"site\": ");
    jstr(r->site);
    if (r->typeName) {
      js(", \"typeName\": ");
      jstr(r->typeName);
      js(", \"vtable\": ");
      jhex(r->vtable);
    }
    js(" }");
  }
  js("\n  ],\n  \"freed\": [");
  for (unsigned i = 0; i < g_freedCount; i++) {
    const GtFreed *f = &g_freed[i];
    js(i ? ",\n    { \"address\": " : "\n    { \"address\": ");
    jhex(f->address);
    js(", \"size\": ");
    jdec(f->size);
    js(", \"allocator\": ");
    jstr(kAllocatorNames[f->allocator]);
    js(", \"heap\": ");
    jhex(f->heap);
    js(" }");
  }
  js("\n  ]\n}\n");
}

/* ---- command line ------------------------------------------------------------------------------- */
static WCHAR g_argBuf[4096];
static WCHAR *g_argv[64];

static int gt_split(const WCHAR *cmd) {
  unsigned n = 0, argc = 0;
  const unsigned cap = sizeof g_argBuf / sizeof g_argBuf[0];
  while (*cmd && argc < 64) {
    while (*cmd == ' ' || *cmd == '\t') cmd++;
    if (!*cmd) break;
    g_argv[argc++] = &g_argBuf[n];
    int quoted = 0;
    while (*cmd && (quoted || (*cmd != ' ' && *cmd != '\t'))) {
      if (*cmd == '"') {
        quoted = !quoted;
        cmd++;
        continue;
      }
      if (n + 1 >= cap) return -1;
      g_argBuf[n++] = *cmd++;
    }
    if (n + 1 >= cap) return -1;
    g_argBuf[n++] = 0;
  }
  return (int)argc;
}

static int gt_copy(WCHAR *dst, unsigned cap, const WCHAR *src) {
  unsigned n = 0;
  while (src[n]) {
    if (n + 1 >= cap) return 0;
    dst[n] = src[n];
    n++;
  }
  dst[n] = 0;
  return 1;
}

static const char kUsage[] =
    "usage: gtalloc [--out DIR] [--label NAME] [--scale N] [--no-dump]\n"
    "  Allocates known patterns, writes DIR\\NAME.json (manifest of live allocations)\n"
    "  and DIR\\NAME.dmp (full-memory minidump of this process). Scale 1..100 multiplies counts.\n";

static int gt_run(void) {
  unsigned scale = 1;
  int dump = 1;
  int argc = gt_split(GetCommandLineW());
  if (argc < 0) {
    gt_print("gtalloc: command line too long\n");
    return 2;
  }
  gt_copy(g_outDir, 1024, (const WCHAR *)L".");
  gt_copy(g_label, 128, (const WCHAR *)L"gtalloc");
  for (int i = 1; i < argc; i++) {
    const WCHAR *a = g_argv[i];
    const WCHAR *v = i + 1 < argc ? g_argv[i + 1] : 0;
    if (gt_wcseq(a, "--out") && v) {
      if (!gt_copy(g_outDir, 1024, v)) return 2;
      i++;
    } else if (gt_wcseq(a, "--label") && v) {
      for (const WCHAR *p = v; *p; p++)
        if (*p == '\\' || *p == '/' || *p == ':' || *p == '"') {
          gt_print("gtalloc: --label must be a plain file name\n");
          return 2;
        }
      if (!gt_copy(g_label, 128, v)) return 2;
      i++;
    } else if (gt_wcseq(a, "--scale") && v) {
      unsigned s = 0;
      for (const WCHAR *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || s > 1000) {
          s = 0;
          break;
        }
        s = s * 10 + (unsigned)(*p - '0');
      }
      if (s < 1 || s > 100) {
        gt_print("gtalloc: --scale must be 1..100\n");
        return 2;
      }
      scale = s;
      i++;
    } else if (gt_wcseq(a, "--no-dump")) {
      dump = 0;
    } else if (gt_wcseq(a, "--help") || gt_wcseq(a, "-h") || gt_wcseq(a, "/?")) {
      gt_print(kUsage);
      return 0;
    } else {
      gt_print("gtalloc: unknown argument\n");
      gt_print(kUsage);
      return 2;
    }
  }
  if (!gt_build_path(g_jsonPath, 1300, g_outDir, g_label, ".json") ||
      !gt_build_path(g_dumpPath, 1300, g_outDir, g_label, ".dmp") ||
      !gt_build_path(g_dumpName, 200, (const WCHAR *)L"", g_label, ".dmp")) {
    gt_print("gtalloc: path too long\n");
    return 2;
  }

  /* records and manifest text in VirtualAlloc'd memory: no heap blocks of our own */
  g_capacity = 512 * scale + 512;
  g_freedCapacity = 64;
  g_records = (GtRecord *)VirtualAlloc(0, g_capacity * sizeof(GtRecord), MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  g_freed = (GtFreed *)VirtualAlloc(0, g_freedCapacity * sizeof(GtFreed), MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  g_jcap = (gt_uptr)(g_capacity + g_freedCapacity) * 400 + 65536;
  g_json = (char *)VirtualAlloc(0, g_jcap, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (!g_records || !g_freed || !g_json) {
    gt_print("gtalloc: out of memory\n");
    return 3;
  }

  g_processHeap = GetProcessHeap();
  g_privateHeap = HeapCreate(0, 0, 0);
  g_crtHeap = (HANDLE)_get_heap_handle();
  if (!g_privateHeap) {
    gt_print("gtalloc: HeapCreate failed\n");
    return 3;
  }
  if (!GetModuleFileNameW(0, g_modulePath, 1024)) g_modulePath[0] = 0;

  BOOL wow64 = FALSE;
  if (!IsWow64Process(GetCurrentProcess(), &wow64)) wow64 = FALSE;
  HMODULE ntdll = GetModuleHandleW((const WCHAR *)L"ntdll.dll");
  GtOsVersion os;
  gt_fill(&os, sizeof os, 0);
  os.size = sizeof os;
  int haveOs = 0, haveGlobalFlag = 0;
  ULONG globalFlag = 0;
  if (ntdll) {
    GtRtlGetVersion getVersion = (GtRtlGetVersion)(void *)GetProcAddress(ntdll, "RtlGetVersion");
    if (getVersion && getVersion(&os) == 0) haveOs = 1;
    GtRtlGetNtGlobalFlags getFlags = (GtRtlGetNtGlobalFlags)(void *)GetProcAddress(ntdll, "RtlGetNtGlobalFlags");
    if (getFlags) {
      globalFlag = getFlags();
      haveGlobalFlag = 1;
    }
  }

  gt_run_plan(scale);

  gt_manifest(scale, dump, globalFlag, haveGlobalFlag, &os, haveOs, wow64);
  if (g_joverflow) {
    gt_print("gtalloc: manifest buffer overflow\n");
    return 3;
  }
  if (!gt_write_file(g_jsonPath, g_json, g_jlen)) {
    gt_print("gtalloc: cannot write the manifest\n");
    return 4;
  }
  if (dump) {
    HANDLE f = CreateFileW(g_dumpPath, GENERIC_WRITE, 0, 0, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, 0);
    if (f == INVALID_HANDLE_VALUE) {
      gt_print("gtalloc: cannot create the dump file\n");
      return 4;
    }
    BOOL ok = MiniDumpWriteDump(GetCurrentProcess(), GetCurrentProcessId(), f,
                                (MINIDUMP_TYPE)(MiniDumpWithFullMemory | MiniDumpWithHandleData |
                                                MiniDumpWithUnloadedModules | MiniDumpWithFullMemoryInfo |
                                                MiniDumpWithThreadInfo),
                                0, 0, 0);
    CloseHandle(f);
    if (!ok) {
      gt_print("gtalloc: MiniDumpWriteDump failed\n");
      return 5;
    }
  }
  gt_print(g_failures || g_dropped ? "gtalloc: done (some allocations failed; manifest marked incomplete)\n"
                                   : "gtalloc: done\n");
  return 0;
}

#ifdef GT_NO_SDK
extern "C" void gt_entry(void) { ExitProcess((unsigned)gt_run()); }
#elif defined(GT_POSIX)
int main(int argc, char **argv) {
  gt_posix_set_command_line(argc, argv);
  return gt_run();
}
#else
int main(void) { return gt_run(); }
#endif
