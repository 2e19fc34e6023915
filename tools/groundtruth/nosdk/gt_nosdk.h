/*
 * gt_nosdk.h - the few Win32 / CRT declarations gtalloc uses, for builds WITHOUT the Windows SDK
 * (clang-cl + lld-link on Linux, used by leakscope's build test). Compile with /DGT_NO_SDK.
 *
 * Only declarations: the functions themselves come from kernel32.dll, dbghelp.dll and
 * ucrtbase.dll through import libraries made with llvm-dlltool from the .def files next to
 * this header. Written from the public Win32 documentation; signatures and constants only.
 */
#ifndef GT_NOSDK_H
#define GT_NOSDK_H

#define WINAPI __stdcall
#define GT_IMPORT __declspec(dllimport)

typedef int BOOL;
typedef unsigned char BYTE;
typedef unsigned short WCHAR;
typedef unsigned long DWORD;
typedef unsigned long ULONG;
typedef void *HANDLE;
typedef void *HMODULE;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef const WCHAR *LPCWSTR;
typedef WCHAR *LPWSTR;
typedef const char *LPCSTR;
#if defined(_WIN64)
typedef unsigned long long SIZE_T;
typedef unsigned long long ULONG_PTR;
#else
typedef unsigned long SIZE_T;
typedef unsigned long ULONG_PTR;
#endif
typedef int (WINAPI *FARPROC)(void);

#define TRUE 1
#define FALSE 0
#define INVALID_HANDLE_VALUE ((HANDLE)(ULONG_PTR)-1)

#define HEAP_ZERO_MEMORY 0x00000008
#define MEM_COMMIT 0x00001000
#define MEM_RESERVE 0x00002000
#define MEM_RELEASE 0x00008000
#define PAGE_READWRITE 0x04
#define GENERIC_WRITE 0x40000000UL
#define CREATE_ALWAYS 2
#define FILE_ATTRIBUTE_NORMAL 0x80
#define STD_OUTPUT_HANDLE ((DWORD)-11)
#define STD_ERROR_HANDLE ((DWORD)-12)

typedef enum _MINIDUMP_TYPE {
  MiniDumpNormal = 0x00000000,
  MiniDumpWithDataSegs = 0x00000001,
  MiniDumpWithFullMemory = 0x00000002,
  MiniDumpWithHandleData = 0x00000004,
  MiniDumpWithUnloadedModules = 0x00000020,
  MiniDumpWithFullMemoryInfo = 0x00000800,
  MiniDumpWithThreadInfo = 0x00001000
} MINIDUMP_TYPE;

#ifdef __cplusplus
extern "C" {
#endif

/* kernel32.dll */
GT_IMPORT HANDLE WINAPI GetProcessHeap(void);
GT_IMPORT HANDLE WINAPI HeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize);
GT_IMPORT LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes);
GT_IMPORT BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem);
GT_IMPORT LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect);
GT_IMPORT BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
GT_IMPORT HANDLE WINAPI GetCurrentProcess(void);
GT_IMPORT DWORD WINAPI GetCurrentProcessId(void);
GT_IMPORT BOOL WINAPI IsWow64Process(HANDLE hProcess, BOOL *Wow64Process);
GT_IMPORT HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName);
GT_IMPORT DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize);
GT_IMPORT FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName);
GT_IMPORT LPWSTR WINAPI GetCommandLineW(void);
GT_IMPORT HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                    void *lpSecurityAttributes, DWORD dwCreationDisposition,
                                    DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
GT_IMPORT BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                DWORD *lpNumberOfBytesWritten, void *lpOverlapped);
GT_IMPORT BOOL WINAPI CloseHandle(HANDLE hObject);
GT_IMPORT HANDLE WINAPI GetStdHandle(DWORD nStdHandle);
GT_IMPORT DWORD WINAPI GetLastError(void);
GT_IMPORT __declspec(noreturn) void WINAPI ExitProcess(unsigned int uExitCode);

/* dbghelp.dll */
GT_IMPORT BOOL WINAPI MiniDumpWriteDump(HANDLE hProcess, DWORD ProcessId, HANDLE hFile, MINIDUMP_TYPE DumpType,
                                        void *ExceptionParam, void *UserStreamParam, void *CallbackParam);

/* ucrtbase.dll (the Universal CRT: malloc and friends use the CRT heap) */
GT_IMPORT void *__cdecl malloc(SIZE_T size);
GT_IMPORT void __cdecl free(void *block);
GT_IMPORT HANDLE __cdecl _get_heap_handle(void);

#ifdef __cplusplus
}
#endif

#endif /* GT_NOSDK_H */
