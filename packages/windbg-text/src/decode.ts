import type { TextEncoding } from "./model.js";

/**
 * Guess the encoding of a text log: a BOM wins; otherwise UTF-16 is recognised by NUL bytes in
 * alternate positions (ASCII text saved as UTF-16 by WinDbg's `.logopen /u` or PowerShell).
 */
export function detectEncoding(bytes: Uint8Array): { encoding: TextEncoding; bomLength: number } {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: "utf-8", bomLength: 3 };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf-16le", bomLength: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: "utf-16be", bomLength: 2 };
  const n = Math.min(bytes.length & ~1, 4096);
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (pairs >= 2) {
    if (oddNul > pairs * 0.4 && evenNul < pairs * 0.05) return { encoding: "utf-16le", bomLength: 0 };
    if (evenNul > pairs * 0.4 && oddNul < pairs * 0.05) return { encoding: "utf-16be", bomLength: 0 };
  }
  return { encoding: "utf-8", bomLength: 0 };
}

/** Decode bytes to a string; `replaced` is true when invalid sequences were replaced by U+FFFD. */
export function decodeText(bytes: Uint8Array): { text: string; encoding: TextEncoding; replaced: boolean } {
  const { encoding, bomLength } = detectEncoding(bytes);
  const body = bytes.subarray(bomLength, encoding === "utf-8" ? bytes.length : bomLength + ((bytes.length - bomLength) & ~1));
  let replaced = false;
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    replaced = true;
    text = new TextDecoder(encoding, { fatal: false, ignoreBOM: true }).decode(body);
  }
  if (encoding !== "utf-8" && body.length !== bytes.length - bomLength) replaced = true;
  return { text, encoding, replaced };
}

const SNIFF_RE =
  /(^|\n)\s*((\d+:)*\d+(:[a-z0-9]+)?>|(\d+:\s*)?l?kd>)\s*[!.?a-z]|!heap\b|!poolused\b|!gflag\b|!address\b|\/\/ UMDH:|\*- - - - |BackTrace[0-9A-F]+|_HEAP @|HEAP_ENTRY|NT HEAP STATS|Sorting by +(Tag|NonPaged|Paged)|Tag +Type +Allocs|group-by: TOTSIZE/i;

/**
 * A cheap sniff for readers: true when the first bytes look like WinDbg/kd, UMDH or poolmon text
 * (in UTF-8 or UTF-16). Looks at most at the first 8 KiB; never throws.
 */
export function isWindbgText(head: Uint8Array): boolean {
  try {
    const slice = head.subarray(0, 8192);
    // Binary formats leakscope reads natively are not text.
    if (slice.length >= 4) {
      const magic = String.fromCharCode(slice[0] ?? 0, slice[1] ?? 0, slice[2] ?? 0, slice[3] ?? 0);
      if (magic === "MDMP" || magic === "PAGE") return false;
    }
    const { text } = decodeText(slice);
    let control = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 9 || (c > 13 && c < 32) || c === 0xfffd) control++;
    }
    if (control > text.length * 0.02 + 2) return false;
    return SNIFF_RE.test(text);
  } catch {
    return false;
  }
}
