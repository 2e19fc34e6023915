import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { bugcheckKind, bugcheckName, openKernelDumpTarget } from "../src/index.js";

describe("bugchecks", () => {
  it("names common codes and their _M variants", () => {
    expect(bugcheckName(0x7e)).toBe("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED");
    expect(bugcheckName(0x1000007e)).toBe("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M");
    expect(bugcheckName(0xd1)).toBe("DRIVER_IRQL_NOT_LESS_OR_EQUAL");
    expect(bugcheckName(0x13a)).toBe("KERNEL_MODE_HEAP_CORRUPTION");
    expect(bugcheckName(0x5454414d)).toBeUndefined();
  });

  it("pool corruption and pool exhaustion lead to the memory analysis", () => {
    expect(bugcheckKind(0x19)).toBe("heap-corruption");
    expect(bugcheckKind(0xc2)).toBe("heap-corruption");
    expect(bugcheckKind(0x41)).toBe("out-of-memory");
    expect(bugcheckKind(0x1000007e)).toBe("bugcheck");
  });

  const triage = sharedFile("dumps/kernel/rizin-triage_x64.dmp");
  it.skipIf(!triage.present)("the triage dump's bugcheck names amdppm.sys and reads the faulting thread's context record", () => {
    const t = openKernelDumpTarget(triage.path);
    try {
      expect(t.crash).toMatchObject({ code: 0x1000007e, module: { name: "amdppm.sys", offset: 0x334c }, contextSource: "bugcheck-context-record" });
      expect(t.crash?.context?.ip).toBe(-0x7fb74a7ccb4);
      expect(t.crash?.text).toBe("exception 0xc0000005 (STATUS_ACCESS_VIOLATION) not handled");
      expect(t.cpu?.count).toBe(16);
      // the ETHREAD copy's Cid (4, 0x108) agrees with the EPROCESS copy (System, pid 4)
      expect(t.crash?.threadId).toBe(0x108);
      expect(t.crash?.notes).toContain("the thread belongs to process System (pid 4)");
      expect(t.threads).toHaveLength(1);
      const th = t.threads[0]!;
      expect(th.id).toBe(0x108);
      expect(th.context?.sp).toBeGreaterThanOrEqual(th.stack.address);
      expect(th.context!.sp).toBeLessThan(th.stack.address + th.stack.size);
    } finally {
      t.close();
    }
  });

  const header = sharedFile("dumps/kernel/imhex-dmp64-full-header16k.dmp");
  it.skipIf(!header.present)("an unnamed test bugcheck ('MATT') keeps its code and parameters without a name", () => {
    const t = openKernelDumpTarget(header.path);
    try {
      expect(t.crash).toMatchObject({ code: 0x5454414d, kind: "bugcheck" });
      expect(t.crash?.name).toBeUndefined();
      expect(t.crash?.parameters).toHaveLength(4);
      expect(t.dumpType).toBe("full (DumpType 1)");
    } finally {
      t.close();
    }
  });
});
