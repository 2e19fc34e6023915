/*
 * gt_posix.h - TEST ONLY. Lets leakscope's tests run gtalloc natively on Linux, to check the
 * allocation plan and the manifest it writes (JSON syntax, schema, counts) without Windows.
 * Build: clang++ -DGT_POSIX -fshort-wchar gtalloc.cpp (WCHAR must be 16 bits, like on Windows).
 *
 * Heaps are stand-ins over malloc: each "heap handle" points at a small block whose dword at
 * +0x10 (x64) / +0x08 (x86) is the NT-heap signature, so the program's heap classification runs.
 * MiniDumpWriteDump writes a short placeholder, not a dump. GetProcAddress(ntdll,
 * "RtlGetNtGlobalFlags") returns a function that reports $GT_FAKE_GLOBALFLAG (decimal).
 */
#ifndef GT_POSIX_H
#define GT_POSIX_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINAPI
#define __cdecl

typedef int BOOL;
typedef unsigned char BYTE;
typedef unsigned short WCHAR;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef void *HANDLE;
typedef void *HMODULE;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef const WCHAR *LPCWSTR;
typedef WCHAR *LPWSTR;
typedef const char *LPCSTR;
typedef size_t SIZE_T;
typedef uintptr_t ULONG_PTR;
typedef int (*FARPROC)(void);

#define TRUE 1
#define FALSE 0
#define INVALID_HANDLE_VALUE ((HANDLE)(ULONG_PTR)-1)
#define MEM_COMMIT 0x00001000
#define MEM_RESERVE 0x00002000
#define PAGE_READWRITE 0x04
#define GENERIC_WRITE 0x40000000UL
#define CREATE_ALWAYS 2
#define FILE_ATTRIBUTE_NORMAL 0x80
#define STD_OUTPUT_HANDLE ((DWORD)-11)

typedef enum {
  MiniDumpWithFullMemory = 0x2,
  MiniDumpWithHandleData = 0x4,
  MiniDumpWithUnloadedModules = 0x20,
  MiniDumpWithFullMemoryInfo = 0x800,
  MiniDumpWithThreadInfo = 0x1000
} MINIDUMP_TYPE;

static uint32_t gt_posix_heaps[2][16] = {{0}};
static WCHAR gt_posix_cmdline[8192];

static void gt_posix_set_command_line(int argc, char **argv) {
  size_t n = 0;
  const size_t cap = sizeof gt_posix_cmdline / sizeof gt_posix_cmdline[0];
  for (int i = 0; i < argc; i++) {
    if (n + 3 >= cap) break;
    if (i) gt_posix_cmdline[n++] = ' ';
    gt_posix_cmdline[n++] = '"';
    for (const char *p = argv[i]; *p && n + 2 < cap; p++) gt_posix_cmdline[n++] = (WCHAR)(unsigned char)*p;
    gt_posix_cmdline[n++] = '"';
  }
  gt_posix_cmdline[n] = 0;
}

static HANDLE gt_posix_heap(int i) {
  uint32_t *h = gt_posix_heaps[i];
  h[sizeof(void *) == 8 ? 4 : 2] = 0xFFEEFFEEu;
  return h;
}
static HANDLE GetProcessHeap(void) { return gt_posix_heap(0); }
static HANDLE HeapCreate(DWORD, SIZE_T, SIZE_T) { return gt_posix_heap(1); }
static LPVOID HeapAlloc(HANDLE, DWORD, SIZE_T n) { return malloc(n ? n : 1); }
static BOOL HeapFree(HANDLE, DWORD, LPVOID p) {
  free(p);
  return TRUE;
}
static HANDLE _get_heap_handle(void) { return gt_posix_heap(0); }
static LPVOID VirtualAlloc(LPVOID, SIZE_T n, DWORD, DWORD) { return calloc(1, n); }
static HANDLE GetCurrentProcess(void) { return (HANDLE)(intptr_t)-1; }
static DWORD GetCurrentProcessId(void) { return (DWORD)getpid(); }
static BOOL IsWow64Process(HANDLE, BOOL *w) {
  *w = FALSE;
  return TRUE;
}
static int gt_posix_module;
static HMODULE GetModuleHandleW(LPCWSTR name) { return name ? (HMODULE)&gt_posix_heaps[1][8] : (HMODULE)&gt_posix_module; }
static DWORD GetModuleFileNameW(HMODULE, LPWSTR out, DWORD cap) {
  const char *p = "/gt/gtalloc";
  DWORD n = 0;
  while (p[n] && n + 1 < cap) {
    out[n] = (WCHAR)p[n];
    n++;
  }
  out[n] = 0;
  return n;
}
static ULONG gt_posix_global_flag(void) {
  const char *v = getenv("GT_FAKE_GLOBALFLAG");
  return v ? (ULONG)strtoul(v, 0, 10) : 0;
}
static FARPROC GetProcAddress(HMODULE, LPCSTR name) {
  return strcmp(name, "RtlGetNtGlobalFlags") == 0 ? (FARPROC)(void *)gt_posix_global_flag : (FARPROC)0;
}
static LPWSTR GetCommandLineW(void) { return gt_posix_cmdline; }
static HANDLE CreateFileW(LPCWSTR path, DWORD, DWORD, void *, DWORD, DWORD, HANDLE) {
  char buf[4096];
  size_t n = 0;
  for (; path[n] && n + 1 < sizeof buf; n++) buf[n] = path[n] == '\\' ? '/' : (char)path[n];
  buf[n] = 0;
  int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  return fd < 0 ? INVALID_HANDLE_VALUE : (HANDLE)(intptr_t)(fd + 1);
}
static BOOL WriteFile(HANDLE h, LPCVOID data, DWORD n, DWORD *written, void *) {
  ssize_t r = write((int)(intptr_t)h - 1, data, n);
  *written = r > 0 ? (DWORD)r : 0;
  return r >= 0;
}
static BOOL CloseHandle(HANDLE h) { return close((int)(intptr_t)h - 1) == 0; }
static HANDLE GetStdHandle(DWORD) { return (HANDLE)(intptr_t)2; }
static BOOL MiniDumpWriteDump(HANDLE, DWORD, HANDLE file, MINIDUMP_TYPE, void *, void *, void *) {
  DWORD w = 0;
  return WriteFile(file, "GTALLOC-POSIX-PLACEHOLDER", 25, &w, 0);
}

#endif /* GT_POSIX_H */
