import { closePrefaultHelper } from "@leakscope/core";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/**
 * Between two inputs of one command: stop the page-touching helper thread (its isolate keeps the
 * previous walk's shared column buffers alive until it collects garbage, which an idle thread
 * rarely does) and collect garbage, so memory stays that of one walk whatever the inputs' count.
 */
export async function releaseBetweenInputs(): Promise<void> {
  await closePrefaultHelper();
  collectGarbage();
}

/**
 * A full garbage collection, when Node allows one. Commands that walk several dumps in turn
 * (`trend`, `diff`) call it between inputs: each walk's allocation table is tens of MB of typed
 * arrays outside V8's heap, which V8 frees only at its next major collection, so without it the
 * resident size grows with every input although nothing of the previous walks is kept.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      const g = (globalThis as { gc?: () => void }).gc;
      if (typeof g === "function") gc = g;
      else {
        setFlagsFromString("--expose-gc");
        gc = runInNewContext("gc") as () => void;
      }
    } catch {
      gc = null;
    }
  }
  gc?.();
}
